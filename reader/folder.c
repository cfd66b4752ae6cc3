/* folder.c - see folder.h. */
#include "folder.h"

#include "fileio.h"
#include "source.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A scan in progress: where the files are and what was found. */
typedef struct scan {
    const ckpt_bytesrc *src;
    const char *dir;
    ckpt_listing l; /* the folder's files, when src can list */
    int listed;
    ckpt_folder *out;
    size_t cap;
} scan;

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

/* Whether dir/name is a file, and its identity: from the listing, or by opening it where
 * the source cannot list. */
static int present(scan *s, const char *name, ckpt_file_id *id)
{
    if (s->listed) {
        const ckpt_dirent *e = ckpt_listing_find(&s->l, name);
        if (e)
            *id = e->id;
        return e != NULL;
    }
    char *p = ckpt_path_join(s->dir, name);
    ckpt_file *f = NULL;
    int ok = p && ckpt_file_open(s->src, p, &f, NULL) == 0;
    if (ok)
        *id = f->id;
    ckpt_file_close(f);
    free(p);
    return ok;
}

/* Shard k of m when name is exactly PREFIX.data-KKKKK-of-MMMMM. */
static int shard_of(const char *name, const char *prefix, unsigned *k, unsigned *m)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) || strncmp(name + pl, ".data-", 6))
        return 0;
    const char *s = name + pl + 6;
    int used = 0;
    if (strlen(s) != 14 || sscanf(s, "%5u-of-%5u%n", k, m, &used) != 2 || used != 14)
        return 0;
    return *k < *m;
}

/*
 * Whether its data shards are all listed, adding their sizes to it->bytes. Sharded saves
 * name every shard's count: the set of the first count seen is the one that must be whole. A
 * checkpoint with no shard at all (index only, or V1) is complete.
 */
static int shards_complete(const scan *s, ckpt_folder_item *it)
{
    const ckpt_listing *l = &s->l;
    size_t pl = strlen(it->name);
    size_t lo = 0, hi = l->n;
    while (lo < hi) { /* the first name >= it->name */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(l->e[mid].name, it->name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    unsigned want = 0, have = 0;
    for (size_t i = lo; i < l->n && !strncmp(l->e[i].name, it->name, pl); i++) {
        unsigned k, m;
        if (!shard_of(l->e[i].name, it->name, &k, &m))
            continue;
        if (!want)
            want = m;
        if (m != want)
            continue;
        have++;
        it->bytes += l->e[i].id.size;
    }
    return have == want;
}

/* Add a checkpoint shown as name (nlen bytes) whose files are dir/file (file = name when
 * NULL), known by id when id is not NULL. */
static int add_item_as(scan *s, const char *name, size_t nlen, const char *file,
                       const ckpt_file_id *id)
{
    ckpt_folder *f = s->out;
    if (ckpt_grow((void **)&f->items, &s->cap, f->n + 1, sizeof *f->items))
        return -1;
    ckpt_folder_item *it = &f->items[f->n];
    memset(it, 0, sizeof *it);
    it->name = strndup(name, nlen);
    if (!file)
        file = it->name;
    it->prefix = it->name ? ckpt_path_join(s->dir, file) : NULL;
    if (!it->prefix) {
        free(it->name);
        return -1;
    }
    if (id) {
        it->known = 1;
        it->id = *id;
        it->bytes = id->size;
    }
    it->complete = s->listed ? shards_complete(s, it) : 1;
    f->n++;
    return 0;
}

/*
 * A save named in the state file, where the folder cannot be listed: a V2 prefix when its
 * .index is there. 0 if absent or added, -1 when out of memory.
 */
static int add_v2(scan *s, const char *b)
{
    ckpt_file_id id;
    char *ix = ckpt_index_path(b);
    if (!ix)
        return -1;
    int rc = !has_item(s->out, b) && present(s, ix, &id) ? add_item_as(s, b, strlen(b), NULL, &id)
                                                          : 0;
    free(ix);
    return rc;
}

/*
 * A V1 save named in the state file: a file in dir, or a sharded set recorded as the pattern
 * "BASE-?????-of-NNNNN" (shown as BASE, opened through the pattern). 0 if absent or added.
 */
static int add_v1(scan *s, const char *b)
{
    ckpt_file_id id;
    size_t n = strlen(b);
    const char *q = strstr(b, CKPT_V1_SHARD_PATTERN);
    if (!q) {
        if (has_item(s->out, b) || !present(s, b, &id))
            return 0;
        if (add_item_as(s, b, n, NULL, &id))
            return -1;
        s->out->items[s->out->n - 1].v1 = 1;
        return 0;
    }
    char *probe = ckpt_v1_first_file(b);
    if (!probe)
        return -1;
    int there = present(s, probe, &id);
    free(probe);
    char *shown = strndup(b, (size_t)(q - b));
    if (!shown)
        return -1;
    int add = there && !has_item(s->out, shown);
    int rc = add ? add_item_as(s, shown, strlen(shown), b, NULL) : 0;
    if (add && rc == 0)
        s->out->items[s->out->n - 1].v1 = 1;
    free(shown);
    return rc;
}

/* The checkpoints the state file names (latest, all): V1 saves have no .index, and a folder
 * that cannot be listed is known only by these names. */
static int add_named(scan *s, const char *latest, char **all, size_t nall)
{
    for (size_t i = 0; i <= nall; i++) {
        const char *p = i < nall ? all[i] : latest;
        if (!p)
            continue;
        if ((!s->listed && add_v2(s, base_name(p))) || add_v1(s, base_name(p)))
            return -1;
    }
    return 0;
}

int ckpt_folder_scan_src(const ckpt_bytesrc *src, const char *dir, ckpt_folder *out,
                         ckpt_err *err)
{
    memset(out, 0, sizeof *out);
    out->latest = -1;
    scan s = {.src = src, .dir = dir, .out = out};
    int rc = ckpt_bytesrc_list(src, dir, &s.l, err);
    s.listed = rc == 0;
    if (rc && rc != CKPT_E_UNSUPPORTED)
        return rc;
    rc = 0;
    for (size_t i = 0; s.listed && !rc && i < s.l.n; i++) {
        size_t n = ckpt_index_prefix_len(s.l.e[i].name);
        if (n && add_item_as(&s, s.l.e[i].name, n, NULL, &s.l.e[i].id))
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    char *latest = NULL, **all = NULL;
    size_t nall = 0;
    if (!rc && ckpt_read_state_src(src, dir, &latest, &all, &nall, NULL) == 0 &&
        add_named(&s, latest, all, nall))
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
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
    ckpt_listing_free(&s.l);
    if (rc)
        ckpt_folder_free(out);
    return rc;
}

int ckpt_folder_scan(const char *dir, ckpt_folder *out, ckpt_err *err)
{
    return ckpt_folder_scan_src(ckpt_bytesrc_local(), dir, out, err);
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
    int yes = ckpt_is_regular_file(state);
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
