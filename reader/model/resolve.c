/*
 * resolve.c - the resolver every command calls (see resolve.h): a SOURCE to the byte source
 * its name calls for (scheme.h) and the prefix to open in it; archives and the places they
 * hold, a state file standing for its folder, SavedModels, training folders. The rules that
 * turn a name into a prefix are resolve_src.c's, asked of that source (resolve_local.c's for
 * local paths).
 */
#include "resolve.h"

#include "archive.h"
#include "archive_places.h"
#include "bytesrc_local.h"
#include "folder.h"
#include "resolve_local.h"
#include "resolve_src.h"
#include "scheme.h"
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
        rc = ckpt_resolve_in(as, name, (flags & CKPT_RESOLVE_FOLDER) != 0, &out->prefix,
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

/* ckpt_source_resolve of source, a path of the local file system. */
static int resolve_path(const char *source, const ckpt_net_opts *opts, unsigned flags,
                        ckpt_source *out, ckpt_err *err)
{
    char *state_dir = state_file_dir(source);
    if (state_dir) {
        int rc = ckpt_source_resolve(state_dir, opts, flags, out, err);
        free(state_dir);
        return rc;
    }
    if ((flags & CKPT_RESOLVE_FOLDER) && ckpt_is_directory(source) &&
        ckpt_is_training_folder(source) && !is_saved_model_dir(source)) {
        out->src = ckpt_bytesrc_local();
        out->folder = 1;
        if (!(out->prefix = strdup(source)))
            return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        return 0;
    }
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
    ckpt_bytesrc *src;
    char *name;
    int rc = ckpt_bytesrc_for(source, opts, &src, &name, err);
    if (rc)
        return rc;
    if (ckpt_bytesrc_caps(src, name) & CKPT_LOCAL_NAMES) {
        ckpt_bytesrc_release(src);
        rc = resolve_path(name, opts, flags, out, err);
        free(name);
        return rc;
    }
    out->src = src;
    out->remote = 1;
    rc = ckpt_resolve_in(src, name, (flags & CKPT_RESOLVE_FOLDER) != 0, &out->prefix, &out->folder,
                         err);
    free(name);
    if (!rc && !out->folder) /* a SavedModel: its graph file sits two levels up */
        out->saved_model = saved_model_of(src, out->prefix);
    if (rc)
        ckpt_source_free(out);
    return rc;
}

void ckpt_source_free(ckpt_source *s)
{
    if (s->remote)
        ckpt_bytesrc_release((ckpt_bytesrc *)s->src);
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

int ckpt_open_net(const char *source, const ckpt_net_opts *opts, unsigned flags,
                  ckpt_checkpoint **out, ckpt_err *err)
{
    if (!ckpt_name_is_local(source) || ckpt_archive_split(source, NULL, NULL))
        return ckpt_open_any(source, opts, flags, out, err);
    return ckpt_open_src(ckpt_bytesrc_local(), source, flags, out, err);
}

int ckpt_open(const char *source, unsigned flags, ckpt_checkpoint **out, ckpt_err *err)
{
    return ckpt_open_net(source, NULL, flags, out, err);
}
