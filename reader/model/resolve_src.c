/*
 * resolve_src.c - see resolve_src.h: the resolver's rules asked of any byte source (a remote
 * one, an archive), and of the local one through resolve_local.c.
 *
 * Resolution follows ckpt_resolve_prefix's rules for paths, asking the source whether names
 * are files; for the remote source each answer is that file's first range request, kept, so
 * resolving model.ckpt and then opening it reads the index once. Where the source cannot list
 * (a web server) a folder is known by its state file's names. A server that fails (not a 404)
 * stops the resolution at once with its error, rather than trying more names into more
 * timeouts.
 */
#include "resolve_src.h"

#include "resolve_local.h"
#include "scheme.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *join(const char *a, const char *b)
{
    return ckpt_path_join(a, b);
}

/* Resolution state: the source, and the first "access denied" seen (reported if all fails). */
typedef struct rctx {
    const ckpt_bytesrc *src;
    int folders;   /* a training folder resolves to itself (CKPT_RESOLVE_FOLDER) */
    int is_folder; /* ... and this one did */
    ckpt_err denied;
    int failed; /* a non-404 failure: stop */
    ckpt_err fail;
} rctx;

/* Whether name is a file; remembers failures in x, and denials of index files (a web
 * server's 403 for a directory probed as a V1 file says nothing about credentials). */
static int is_file(rctx *x, const char *name)
{
    int index = ckpt_index_prefix_len(name) > 0;
    if (x->failed)
        return 0;
    ckpt_err e;
    ckpt_err_clear(&e);
    int rc = ckpt_bytesrc_stat(x->src, name, &e);
    if (rc == CKPT_E_NOTFOUND && index && strstr(e.msg, "access denied") && !x->denied.code)
        x->denied = e;
    else if (rc && rc != CKPT_E_NOTFOUND) {
        x->failed = 1;
        x->fail = e;
    }
    return rc == 0;
}

/* p (first n bytes of s) when file(p) is a file: a new string, else NULL. */
static char *try_file(rctx *x, const char *s, size_t n, char *(*file)(const char *p))
{
    char *p = strndup(s, n);
    char *probe = p ? file(p) : NULL;
    int ok = probe && is_file(x, probe);
    free(probe);
    if (ok)
        return p;
    free(p);
    return NULL;
}

/* A V2 prefix: p.index is a file. */
static char *try_prefix(rctx *x, const char *s, size_t n)
{
    return try_file(x, s, n, ckpt_index_path);
}

/* A V1 candidate: the file itself, shard 0 for a "-?????-of-" pattern. */
static char *try_v1(rctx *x, const char *s, size_t n)
{
    return try_file(x, s, n, ckpt_v1_first_file);
}

/* Length of the prefix when s ends in ".data-DDDDD-of-DDDDD", else 0. */
static size_t data_prefix_len(const char *s)
{
    const char *d = strstr(s, ".data-");
    const char *last = NULL;
    while (d) {
        last = d;
        d = strstr(d + 1, ".data-");
    }
    unsigned a, b;
    int used = 0;
    if (last && sscanf(last, ".data-%5u-of-%5u%n", &a, &b, &used) == 2 && last[used] == '\0')
        return (size_t)(last - s);
    return 0;
}

/* The checkpoint a folder's state file names as the latest, or NULL. */
static char *from_state_file(rctx *x, const char *dir)
{
    char *latest = NULL, *p = NULL;
    ckpt_err e;
    ckpt_err_clear(&e);
    int rc = ckpt_read_state_src(x->src, dir, &latest, NULL, NULL, &e);
    if (rc == CKPT_E_CORRUPT) /* there, but naming nothing we can use */
        rc = 0;
    if (rc && rc != CKPT_E_NOTFOUND) {
        x->failed = 1;
        x->fail = e;
    } else if (rc == 0 && x->folders) {
        x->is_folder = 1; /* a state file makes a training folder */
        p = strdup(dir);
    } else if (rc == 0 && latest && *latest) {
        /* A URL as written on the machine that saved it, else relative to the folder; an
         * absolute path from another machine means the file of that name here. */
        if (!ckpt_name_is_local(latest) && !(p = try_prefix(x, latest, strlen(latest))))
            p = try_v1(x, latest, strlen(latest));
        if (!p) {
            const char *base = strrchr(latest, '/');
            char *j =
                join(dir, latest[0] == '/' || !ckpt_name_is_local(latest) ? base + 1 : latest);
            if (j && !(p = try_prefix(x, j, strlen(j))))
                p = try_v1(x, j, strlen(j));
            free(j);
        }
    }
    free(latest);
    return p;
}

/* A folder of an object store holding exactly one *.index: that prefix. */
static char *only_index(rctx *x, const char *dir)
{
    ckpt_listing l;
    ckpt_err e;
    if (ckpt_bytesrc_list(x->src, dir, &l, &e) != 0)
        return NULL;
    char *found = NULL;
    int count = 0;
    for (size_t i = 0; i < l.n; i++) {
        size_t pl = ckpt_index_prefix_len(l.e[i].name);
        if (pl && count++ == 0) {
            char *base = strndup(l.e[i].name, pl);
            found = base ? join(dir, base) : NULL;
            free(base);
        }
    }
    ckpt_listing_free(&l);
    if (count > 1 && x->folders) {
        x->is_folder = 1;
        free(found);
        return strdup(dir);
    }
    if (count != 1) {
        free(found);
        return NULL;
    }
    return found;
}

/* vv, DIR/variables/variables, when it is a checkpoint, or when DIR/saved_model.pb is a file:
 * a SavedModel of constants only has no variables/ and opens as no variables. */
static char *savedmodel_prefix(rctx *x, const char *vv)
{
    char *p = try_prefix(x, vv, strlen(vv));
    if (p || x->failed)
        return p;
    size_t n = strlen(vv) - strlen("variables/variables");
    char *pb = malloc(n + sizeof "saved_model.pb");
    if (pb)
        snprintf(pb, n + sizeof "saved_model.pb", "%.*ssaved_model.pb", (int)n, vv);
    int yes = pb && is_file(x, pb);
    free(pb);
    return yes ? strdup(vv) : NULL;
}

static char *resolve_dir(rctx *x, const char *dir)
{
    char *p = from_state_file(x, dir);
    if (!p && !x->failed) {
        char *vv = join(dir, "variables/variables");
        p = vv ? savedmodel_prefix(x, vv) : NULL;
        free(vv);
    }
    if (!p && !x->failed && (ckpt_bytesrc_caps(x->src, dir) & CKPT_CAN_LIST))
        p = only_index(x, dir);
    return p;
}

int ckpt_resolve_in(const ckpt_bytesrc *src, const char *source, int folders, char **prefix,
                    int *is_folder, ckpt_err *err)
{
    rctx x = {.src = src, .folders = folders};
    *prefix = NULL;
    char *s = strdup(source);
    if (!s)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    size_t len = strlen(s);
    int slash = len && s[len - 1] == '/';
    while (len && s[len - 1] == '/')
        s[--len] = '\0';
    if (ckpt_name_is_site_root(s)) {
        /* Nothing after the host (or bucket) to name a file by: treat it as a folder. */
        slash = 1;
    }
    char *p = NULL;
    size_t n;
    if (!slash) {
        if (!(p = try_prefix(&x, s, len))) {
            if (ckpt_ends_with(s, ".index"))
                p = try_prefix(&x, s, len - 6);
            else if (ckpt_ends_with(s, ".meta"))
                p = try_prefix(&x, s, len - 5);
            else if ((n = data_prefix_len(s)) > 0)
                p = try_prefix(&x, s, n);
        }
        if (!p && ckpt_ends_with(s, "/variables/variables"))
            p = savedmodel_prefix(&x, s);
        if (!p && ckpt_ends_with(s, ".meta"))
            p = try_v1(&x, s, len - 5);
        if (!p && !ckpt_ends_with(s, ".index") && !ckpt_ends_with(s, ".meta") &&
            !data_prefix_len(s))
            p = try_v1(&x, s, len);
    }
    if (!p && !x.failed)
        p = resolve_dir(&x, s);
    int rc = 0;
    *is_folder = x.is_folder;
    if (p)
        *prefix = p;
    else if (x.failed)
        rc = ckpt_err_set(err, x.fail.code, "%s", x.fail.msg);
    else if (x.denied.code)
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND, "%s", x.denied.msg);
    else
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                          "%s: no such checkpoint (no %s.index, and no `checkpoint` state file "
                          "or variables/variables.index under it%s)",
                          s, s,
                          ckpt_bytesrc_caps(src, s) & CKPT_CAN_LIST
                              ? ""
                              : "; a web server cannot be listed, so name the checkpoint's "
                                "prefix");
    free(s);
    return rc;
}

int ckpt_resolve_src(const ckpt_bytesrc *src, const char *source, char **prefix, ckpt_err *err)
{
    int is_folder;
    if (ckpt_bytesrc_caps(src, source) & CKPT_LOCAL_NAMES)
        return ckpt_resolve_prefix(source, prefix, err);
    return ckpt_resolve_in(src, source, 0, prefix, &is_folder, err);
}
