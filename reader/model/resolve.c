/*
 * resolve.c - the resolver every command calls (see resolve.h), and what a remote folder is:
 * its `checkpoint` state file, its SavedModel layout, and for object stores its listing.
 *
 * Resolution follows ckpt_resolve_prefix's rules for paths, asking the remote source whether
 * names are files; each answer is that file's first range request, kept, so resolving
 * model.ckpt and then opening it reads the index once. Over plain HTTP there is no listing:
 * a folder is known by its state file's names. A server that fails (not a 404) stops the
 * resolution at once with its error, rather than trying more names into more timeouts.
 */
#include "resolve.h"

#include "archive.h"
#include "archive_places.h"
#include "bytesrc_local.h"
#include "folder.h"
#include "resolve_local.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/statvfs.h>

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
        if (ckpt_is_url(latest) && !(p = try_prefix(x, latest, strlen(latest))))
            p = try_v1(x, latest, strlen(latest));
        if (!p) {
            const char *base = strrchr(latest, '/');
            char *j = join(dir, latest[0] == '/' || ckpt_is_url(latest) ? base + 1 : latest);
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
    if (!p && !x->failed && (strncmp(dir, "http", 4) != 0 || !ckpt__remote_is(x->src)))
        p = only_index(x, dir);
    return p;
}

/* What the user named (source) to a prefix, asking src whether names are files: the rules of
 * ckpt_resolve_prefix for any source that is not the local one (a remote one, an archive).
 * With folders, a training folder resolves to itself and sets *is_folder. */
static int resolve_in(const ckpt_bytesrc *src, const char *source, int folders, char **prefix,
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
    const char *rest = strstr(s, "://");
    if (ckpt__remote_is(src) && (!rest || !rest[3] || !strchr(rest + 3, '/'))) {
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
                          strncmp(s, "http", 4) || !ckpt__remote_is(src)
                              ? ""
                              : "; a web server cannot be listed, so name the checkpoint's "
                                "prefix");
    free(s);
    return rc;
}

int ckpt_resolve_src(const ckpt_bytesrc *src, const char *source, char **prefix, ckpt_err *err)
{
    int is_folder;
    if (src == ckpt_bytesrc_local())
        return ckpt_resolve_prefix(source, prefix, err);
    return resolve_in(src, source, 0, prefix, &is_folder, err);
}
/* --- the resolver every command calls ----------------------------------------------------- */

/* Whether dir (local) holds a saved_model.pb: a SavedModel, never a training folder. */
static int is_saved_model_dir(const char *dir)
{
    char *sm = join(dir, "saved_model.pb");
    int yes = sm && ckpt_is_regular_file(sm);
    free(sm);
    return yes;
}

/* DIR/saved_model.pb of a SavedModel prefix DIR/variables/variables when src has it (the
 * graph of a remote or archived SavedModel), else NULL. */
static char *saved_model_of(const ckpt_bytesrc *src, const char *prefix)
{
    if (!ckpt_ends_with(prefix, "/variables/variables"))
        return NULL;
    size_t n = strlen(prefix) - strlen("variables/variables");
    char *sm = malloc(n + sizeof "saved_model.pb");
    if (sm) {
        snprintf(sm, n + sizeof "saved_model.pb", "%.*ssaved_model.pb", (int)n, prefix);
        if (ckpt_bytesrc_stat(src, sm, NULL) != 0) {
            free(sm);
            sm = NULL;
        }
    }
    return sm;
}

/* Whether archive source as holds several checkpoints, training folders or SavedModels. */
static int holds_several(const ckpt_bytesrc *as)
{
    char **places;
    size_t n;
    if (ckpt_archive_places(as, &places, &n, NULL))
        return 0;
    ckpt_free_paths(places, n);
    return n > 1;
}

/* ckpt_source_resolve of "ARCHIVE//PATH" (archive.h): the archive's source, and PATH resolved
 * in it by the rules of every source; the archive alone stands for the one checkpoint,
 * training folder or SavedModel it holds, or with CKPT_RESOLVE_FOLDER for the folder of the
 * several it holds (folder.h). */
static int resolve_archive(const char *archive, const char *inner, const ckpt_net_opts *opts,
                           unsigned flags, ckpt_source *out, ckpt_err *err)
{
    ckpt_bytesrc *as;
    int rc = ckpt_archive_open(archive, opts, &as, err);
    if (rc)
        return rc;
    out->src = as;
    out->remote = 1; /* owned, released like a remote source (ckpt_bytesrc_remote_release) */
    if (!*inner && (flags & CKPT_RESOLVE_FOLDER) && holds_several(as)) {
        /* Named by the archive alone, which the folder scan takes for its places. */
        out->folder = 1;
        if ((out->prefix = strdup(archive)) != NULL)
            return 0;
        ckpt_source_free(out);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    char *found = NULL;
    int root = !strcmp(inner, ".");
    if (root) /* "ARCHIVE//." is its root itself, not what it holds */
        inner = "";
    else if (!*inner && (rc = ckpt_archive_find(as, &found, err)) == 0)
        inner = found;
    size_t n = strlen(archive) + strlen(inner) + sizeof CKPT_ARCHIVE_SEP + 1;
    char *name = rc ? NULL : malloc(n);
    if (!rc && !name)
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    if (!rc) {
        /* A folder at the root is named "ARCHIVE//", which the resolver takes as a folder
         * (named "ARCHIVE", as the one place the archive holds); asked for as ARCHIVE//. it
         * keeps that name, so that the folder scan does not take it for the archive's
         * places. */
        snprintf(name, n, "%s%s%s%s", archive, CKPT_ARCHIVE_SEP, inner,
                 *inner ? "" : (root ? "." : "/"));
        rc = resolve_in(as, name, (flags & CKPT_RESOLVE_FOLDER) != 0, &out->prefix,
                              &out->folder, err);
    }
    if (!rc && !out->folder)
        out->saved_model = saved_model_of(as, out->prefix);
    free(name);
    free(found);
    if (rc)
        ckpt_source_free(out);
    return rc;
}

/* DIR when source is DIR/checkpoint, a state file (malloc'd), else NULL: the state file
 * stands for its folder, as tf.train.latest_checkpoint takes the folder. */
static char *state_file_dir(const char *source)
{
    const char *base = strrchr(source, '/');
    base = base ? base + 1 : source;
    if (strcmp(base, CKPT_STATE_FILE) || !ckpt_is_regular_file(source))
        return NULL;
    if (base == source)
        return strdup(".");
    /* "/checkpoint" is in "/"; else DIR without its trailing '/'. */
    return strndup(source, base - 1 == source ? 1 : (size_t)(base - 1 - source));
}

/* Whether local dir can be listed and holds no checkpoint at all (a dead mount, whose
 * listing may come from the kernel's cache, is no folder: statfs tells). */
static int holds_nothing(const char *dir)
{
    struct statvfs sv;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    closedir(d);
    if (statvfs(dir, &sv) != 0)
        return 0;
    ckpt_folder f;
    int rc = ckpt_folder_scan(dir, &f, NULL);
    if (rc == 0)
        ckpt_folder_free(&f);
    return rc == CKPT_E_NOTFOUND;
}

int ckpt_source_resolve(const char *source, const ckpt_net_opts *opts, unsigned flags,
                        ckpt_source *out, ckpt_err *err)
{
    memset(out, 0, sizeof *out);
    char *archive = NULL, *inner = NULL;
    int ar = ckpt_archive_split(source, &archive, &inner);
    if (ar < 0)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    if (ar) {
        int rc = resolve_archive(archive, inner, opts, flags, out, err);
        free(archive);
        free(inner);
        return rc;
    }
    char *state_dir = ckpt_is_url(source) ? NULL : state_file_dir(source);
    if (state_dir) {
        int rc = ckpt_source_resolve(state_dir, opts, flags, out, err);
        free(state_dir);
        return rc;
    }
    if (!ckpt_is_url(source) && (flags & CKPT_RESOLVE_FOLDER) && ckpt_is_directory(source) &&
        ckpt_is_training_folder(source) && !is_saved_model_dir(source)) {
        out->src = ckpt_bytesrc_local();
        out->folder = 1;
        if (!(out->prefix = strdup(source)))
            return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        return 0;
    }
    if (!ckpt_is_url(source)) {
        /* The source as given: ckpt_open_src resolves it (resolving twice is not idempotent
         * for a SavedModel of constants, whose variables prefix names no file). */
        out->src = ckpt_bytesrc_local();
        char *resolved = NULL;
        int rc = ckpt_resolve_prefix(source, &resolved, err);
        free(resolved);
        /* Nothing to resolve to (not even variables/variables): a run before its first save,
         * for the mount. */
        if (rc == CKPT_E_NOTFOUND && (flags & CKPT_RESOLVE_FOLDER) &&
            (flags & CKPT_RESOLVE_EMPTY_FOLDER) && ckpt_is_directory(source) &&
            !is_saved_model_dir(source) && holds_nothing(source)) {
            ckpt_err_clear(err);
            out->folder = out->waiting = 1;
            if (!(out->prefix = strdup(source)))
                return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
            return 0;
        }
        if (!rc && !(out->prefix = strdup(source)))
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        if (!rc && ckpt_is_directory(source)) {
            char *sm = join(source, "saved_model.pb");
            if (sm && ckpt_is_regular_file(sm))
                out->saved_model = sm, sm = NULL;
            free(sm);
        }
        return rc;
    }
    ckpt_bytesrc *rs;
    int rc = ckpt_bytesrc_remote_new(opts, &rs, err);
    if (rc)
        return rc;
    out->src = rs;
    out->remote = 1;
    /* From here on the URL has no password: every name, message and xattr derives from it. */
    char *shown = NULL;
    rc = ckpt__remote_take_auth(rs, source, &shown, err);
    if (!rc)
        rc = resolve_in(rs, shown, (flags & CKPT_RESOLVE_FOLDER) != 0, &out->prefix,
                              &out->folder, err);
    free(shown);
    if (!rc && !out->folder) /* a SavedModel: its graph file sits two levels up */
        out->saved_model = saved_model_of(rs, out->prefix);
    if (rc)
        ckpt_source_free(out);
    return rc;
}

void ckpt_source_free(ckpt_source *s)
{
    if (s->remote)
        ckpt_bytesrc_remote_release((ckpt_bytesrc *)s->src);
    free(s->prefix);
    free(s->saved_model);
    memset(s, 0, sizeof *s);
}

int ckpt_open_any(const char *source, const ckpt_net_opts *opts, unsigned flags,
                  ckpt_checkpoint **out, ckpt_err *err)
{
    *out = NULL;
    ckpt_source s;
    int rc = ckpt_source_resolve(source, opts, 0, &s, err);
    if (rc)
        return rc;
    rc = ckpt_open_src(s.src, s.prefix, flags, out, err);
    ckpt_source_free(&s);
    return rc;
}

int ckpt_open_src(const ckpt_bytesrc *src, const char *source, unsigned flags,
                  ckpt_checkpoint **out, ckpt_err *err)
{
    *out = NULL;
    char *prefix = NULL;
    int rc = ckpt_resolve_src(src, source, &prefix, err);
    if (!rc)
        rc = ckpt_open_prefix(src, prefix, flags, out, err);
    free(prefix);
    return rc;
}

int ckpt_open(const char *source, unsigned flags, ckpt_checkpoint **out, ckpt_err *err)
{
    if (ckpt_is_url(source) || ckpt_archive_split(source, NULL, NULL))
        return ckpt_open_any(source, NULL, flags, out, err);
    return ckpt_open_src(ckpt_bytesrc_local(), source, flags, out, err);
}
