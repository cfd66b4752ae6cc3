/* folder.c - see folder.h. */
#include "folder.h"

#include "fileio.h"
#include "source.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int item_cmp(const void *a, const void *b)
{
    return strcmp(((const ckpt_folder_item *)a)->name, ((const ckpt_folder_item *)b)->name);
}

static int has_item(const ckpt_folder *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->items[i].name, name))
            return 1;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int is_regular(const char *dir, const char *name)
{
    char *p = ckpt_path_join(dir, name);
    if (!p)
        return 0;
    int ok = ckpt_is_regular_file(p);
    free(p);
    return ok;
}

/*
 * Add a checkpoint shown as name (nlen bytes) whose files are dir/file (file = name when NULL).
 */
static int add_item_as(ckpt_folder *f, size_t *cap, const char *dir, const char *name,
                       size_t nlen, const char *file)
{
    if (ckpt_grow((void **)&f->items, cap, f->n + 1, sizeof *f->items))
        return -1;
    ckpt_folder_item *it = &f->items[f->n];
    it->name = strndup(name, nlen);
    if (!file)
        file = it->name;
    it->prefix = it->name ? ckpt_path_join(dir, file) : NULL;
    if (!it->prefix) {
        free(it->name);
        return -1;
    }
    f->n++;
    return 0;
}

static int add_item(ckpt_folder *f, size_t *cap, const char *dir, const char *name, size_t nlen)
{
    return add_item_as(f, cap, dir, name, nlen, NULL);
}

/*
 * A V1 save named in the state file: a file in dir, or a sharded set recorded as the pattern
 * "BASE-?????-of-NNNNN" (shown as BASE, opened through the pattern). 0 if absent or added.
 */
static int add_v1(ckpt_folder *f, size_t *cap, const char *dir, const char *b)
{
    size_t n = strlen(b);
    const char *q = strstr(b, CKPT_V1_SHARD_PATTERN);
    if (!q) {
        if (has_item(f, b) || !is_regular(dir, b))
            return 0;
        return add_item(f, cap, dir, b, n);
    }
    char *probe = ckpt_v1_first_file(b);
    if (!probe)
        return -1;
    int present = is_regular(dir, probe);
    free(probe);
    char *shown = strndup(b, (size_t)(q - b));
    if (!shown)
        return -1;
    int rc = present && !has_item(f, shown) ? add_item_as(f, cap, dir, shown, strlen(shown), b) : 0;
    free(shown);
    return rc;
}

int ckpt_folder_scan(const char *dir, ckpt_folder *out, ckpt_err *err)
{
    memset(out, 0, sizeof *out);
    out->latest = -1;
    size_t cap = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ckpt_err_set(err, errno == ENOENT ? CKPT_E_NOTFOUND : CKPT_E_IO, "%s: %s", dir,
                            strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d)) != NULL) {
        size_t n = ckpt_index_prefix_len(de->d_name);
        if (n && add_item(out, &cap, dir, de->d_name, n))
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    closedir(d);
    char *latest = NULL, **all = NULL;
    size_t nall = 0;
    if (!rc && ckpt_read_state_file(dir, &latest, &all, &nall, NULL) == 0) {
        /* V1 saves have no .index: take the files the state file names when they exist. */
        for (size_t i = 0; i < nall && !rc; i++)
            if (add_v1(out, &cap, dir, base_name(all[i])))
                rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        if (!rc && latest && add_v1(out, &cap, dir, base_name(latest)))
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    if (!rc) {
        if (out->n) /* qsort must not see NULL, even for no items */
            qsort(out->items, out->n, sizeof *out->items, item_cmp);
        for (size_t i = 0; latest && i < out->n; i++) {
            const char *pb = base_name(out->items[i].prefix);
            if (!strcmp(out->items[i].name, base_name(latest)) || !strcmp(pb, base_name(latest)))
                out->latest = (long)i;
        }
        if (out->n == 0)
            rc = ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: holds no checkpoint", dir);
    }
    free(latest);
    ckpt_free_paths(all, nall);
    if (rc)
        ckpt_folder_free(out);
    return rc;
}

void ckpt_folder_free(ckpt_folder *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i].name);
        free(f->items[i].prefix);
    }
    free(f->items);
    memset(f, 0, sizeof *f);
    f->latest = -1;
}

int ckpt_is_training_folder(const char *dir)
{
    char *state = ckpt_path_join(dir, CKPT_STATE_FILE);
    if (!state)
        return 0;
    int yes = access(state, F_OK) == 0;
    free(state);
    if (yes)
        return 1;
    ckpt_folder f;
    if (ckpt_folder_scan(dir, &f, NULL) != 0)
        return 0;
    yes = f.n > 1;
    ckpt_folder_free(&f);
    return yes;
}
