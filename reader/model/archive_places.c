/*
 * archive_places.c - see archive_places.h: the checkpoints, training folders and SavedModels
 * an archive holds, known by their files' names among its members (docs/archives.md).
 */
#include "archive_places.h"

#include "resolve_local.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The folder part of a member name ("" at the root), malloc'd. */
static char *dir_of(const char *name)
{
    const char *sl = strrchr(name, '/');
    return strndup(name, sl ? (size_t)(sl - name) : 0);
}

/* Whether dir/leaf is a member. */
static int has(const ckpt_bytesrc *a, const char *dir, const char *leaf)
{
    char *p = *dir ? ckpt_path_join(dir, leaf) : strdup(leaf);
    int yes = p && ckpt_archive_has(a, p);
    free(p);
    return yes;
}

/* Whether a checkpoint at prefix p belongs to a place already named: a training folder (its
 * folder has a state file) or a SavedModel (p is DIR/variables/variables of one). */
static int covered(const ckpt_bytesrc *a, const char *p)
{
    char *d = dir_of(p);
    int yes = d && has(a, d, CKPT_STATE_FILE);
    free(d);
    if (!yes && (ckpt_ends_with(p, "/variables/variables") || !strcmp(p, "variables/variables"))) {
        size_t n = strlen(p) - strlen("variables/variables");
        char *sm = malloc(n + sizeof "saved_model.pb");
        if (sm) {
            snprintf(sm, n + sizeof "saved_model.pb", "%.*ssaved_model.pb", (int)n, p);
            yes = ckpt_archive_has(a, sm);
        }
        free(sm);
    }
    return yes;
}

/* Add candidate s (taken over); the same place twice is dropped once all are sorted. */
static int add_cand(char ***c, size_t *n, size_t *cap, char *s)
{
    if (!s)
        return -1;
    if (ckpt_grow((void **)c, cap, *n + 1, sizeof **c)) {
        free(s);
        return -1;
    }
    (*c)[(*n)++] = s;
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ckpt_archive_places(const ckpt_bytesrc *src, char ***places, size_t *count, ckpt_err *err)
{
    char **c = NULL;
    size_t n = 0, cap = 0;
    int oom = 0;
    for (size_t i = 0; i < ckpt_archive_count(src) && !oom; i++) {
        int is_dir;
        const char *nm = ckpt_archive_member(src, i, &is_dir);
        const char *base = strrchr(nm, '/');
        base = base ? base + 1 : nm;
        if (is_dir)
            continue;
        if (!strcmp(base, CKPT_STATE_FILE) || !strcmp(base, "saved_model.pb")) {
            oom = add_cand(&c, &n, &cap, dir_of(nm));
        } else {
            size_t pl = ckpt_index_prefix_len(nm);
            char *p = pl ? strndup(nm, pl) : NULL;
            /* A V1 save keeps no .index: its file is the checkpoint (TF-Slim's model.ckpt). */
            if (!p && ckpt_ends_with(nm, ".ckpt"))
                p = strdup(nm);
            if (p && covered(src, p))
                free(p);
            else if (p)
                oom = add_cand(&c, &n, &cap, p);
        }
    }
    if (oom) {
        for (size_t i = 0; i < n; i++)
            free(c[i]);
        free(c);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    if (n)
        qsort(c, n, sizeof *c, str_cmp);
    size_t w = 0; /* a folder with a state file and saved_model.pb is one place */
    for (size_t i = 0; i < n; i++) {
        if (w && !strcmp(c[w - 1], c[i]))
            free(c[i]);
        else
            c[w++] = c[i];
    }
    n = w;
    *places = c;
    *count = n;
    return 0;
}

int ckpt_archive_find(const ckpt_bytesrc *src, char **inner, ckpt_err *err)
{
    const char *path = ckpt_archive_name(src);
    *inner = NULL;
    char **c;
    size_t n;
    int rc = ckpt_archive_places(src, &c, &n, err);
    if (rc)
        return rc;
    if (n == 0) {
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                          "%s: no checkpoint in the archive (no *.index, *.ckpt, `checkpoint` "
                          "state file or saved_model.pb among its %zu members)",
                          path, ckpt_archive_count(src));
    } else if (n == 1) {
        *inner = c[0];
        c[0] = NULL;
    } else {
        char list[CKPT_ERR_MSG_MAX];
        size_t w = 0;
        for (size_t i = 0; i < n && w < sizeof list; i++)
            w += (size_t)snprintf(list + w, sizeof list - w, "%s%s//%s", i ? ", " : "", path, c[i]);
        rc = ckpt_err_set(err, CKPT_E_INVALID,
                          "%s holds %zu checkpoints; name one as ARCHIVE//PATH: %s", path, n, list);
    }
    ckpt_free_paths(c, n);
    return rc;
}
