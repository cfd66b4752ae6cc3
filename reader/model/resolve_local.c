/* resolve_local.c - see resolve_local.h: the resolver's rules for local paths, and checkpoint file
 * names. */
#include "resolve_local.h"

#include "bytesrc.h"

#include "bytesrc_local.h"
#include "table.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* A state file lists paths; 1 MiB is far beyond any real one and bounds the read. */
#define STATE_FILE_MAX (1u << 20)

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

#define INDEX_SUFFIX ".index"
#define INDEX_SUFFIX_LEN (sizeof INDEX_SUFFIX - 1)

char *ckpt_index_path(const char *prefix)
{
    return concat(prefix, INDEX_SUFFIX);
}

char *ckpt_v1_first_file(const char *name)
{
    char *p = strdup(name);
    char *q = p ? strstr(p, CKPT_V1_SHARD_PATTERN) : NULL;
    if (q)
        memcpy(q + 1, "00000", 5);
    return p;
}

size_t ckpt_index_prefix_len(const char *name)
{
    size_t n = strlen(name);
    return n > INDEX_SUFFIX_LEN && !strcmp(name + n - INDEX_SUFFIX_LEN, INDEX_SUFFIX)
               ? n - INDEX_SUFFIX_LEN
               : 0;
}

#define MAX_V1_FILES 4096
/* Where the parts of a V1 file's suffix (CKPT_V1_SUFFIX_LEN) sit. */
#define V1_OF_AT 9 /* "-of-" starts this many bytes before the end */
#define V1_COUNT_DIGITS 5

int ckpt_v1_file_count(const char *path, size_t *base_len)
{
    size_t n = strlen(path);
    *base_len = n;
    if (n <= CKPT_V1_SUFFIX_LEN || path[n - CKPT_V1_SUFFIX_LEN] != '-' ||
        memcmp(path + n - V1_OF_AT, "-of-", 4) != 0)
        return 1;
    for (size_t i = n - CKPT_V1_SUFFIX_LEN + 1; i < n; i++) {
        int in_of = i >= n - V1_OF_AT && i < n - V1_OF_AT + 4;
        if (!in_of && (path[i] < '0' || path[i] > '9'))
            return 1;
    }
    int count = atoi(path + n - V1_COUNT_DIGITS);
    if (count < 1 || count > MAX_V1_FILES)
        return 1;
    *base_len = n - CKPT_V1_SUFFIX_LEN;
    return count;
}

char *ckpt_path_join(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    char *s = malloc(ld + 1 + ln + 1);
    if (s) {
        memcpy(s, dir, ld);
        s[ld] = '/';
        memcpy(s + ld + 1, name, ln + 1);
    }
    return s;
}

/* Length of the prefix if s ends in ".data-DDDDD-of-DDDDD" (digits of any count >= 1). */
static size_t strip_data_suffix(const char *s, size_t len)
{
    size_t i = len, d = 0;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
        i--, d++;
    if (!d || i < 4 || memcmp(s + i - 4, "-of-", 4) != 0)
        return 0;
    i -= 4;
    d = 0;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
        i--, d++;
    if (!d || i < 6 || memcmp(s + i - 6, ".data-", 6) != 0)
        return 0;
    return i - 6;
}

/* s[0..n) as a new string when the file name(p) names is a regular file, else NULL. */
static char *try_named(const char *s, size_t n, char *(*name)(const char *p))
{
    char *p = strndup(s, n);
    if (!p)
        return NULL;
    char *probe = name(p);
    int ok = probe && ckpt_is_regular_file(probe);
    free(probe);
    if (ok)
        return p;
    free(p);
    return NULL;
}

/*
 * A sharded V1 save named by its base (what `export.meta` sits beside): "BASE-?????-of-NNNNN"
 * when BASE-00000-of-NNNNN is a regular file in BASE's directory, else NULL.
 */
static char *try_v1_set(const char *s, size_t n)
{
    char *base = strndup(s, n);
    if (!base)
        return NULL;
    const char *slash = strrchr(base, '/');
    char *dir = slash ? strndup(base, (size_t)(slash - base) + 1) : strdup("./");
    const char *stem = slash ? slash + 1 : base;
    size_t stem_len = strlen(stem);
    char *found = NULL;
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && !found && (de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        /* BASE + "-00000-of-" + digits */
        if (len <= stem_len + 10 || memcmp(nm, stem, stem_len) != 0 ||
            memcmp(nm + stem_len, "-00000-of-", 10) != 0 ||
            strspn(nm + stem_len + 10, "0123456789") != len - stem_len - 10)
            continue;
        char *probe = malloc(n + len - stem_len + 1);
        if (!probe)
            break;
        sprintf(probe, "%s%s", base, nm + stem_len);
        if (ckpt_is_regular_file(probe)) {
            memcpy(probe + n + 1, "\?\?\?\?\?", 5);
            found = probe;
        } else {
            free(probe);
        }
    }
    if (d)
        closedir(d);
    free(dir);
    free(base);
    return found;
}

/*
 * A V1 checkpoint is named by its file, or for sharded saves by the pattern
 * "-?????-of-NNNNN" that the state file records: accept s when that file (shard 0 for a
 * pattern) is a regular file. The caller checks the contents.
 */
static char *try_v1(const char *s, size_t n)
{
    return try_named(s, n, ckpt_v1_first_file);
}

/* Candidate prefix p (length n of s): accept it when p.index is a file. */
static char *try_prefix(const char *s, size_t n)
{
    return try_named(s, n, ckpt_index_path);
}

/* Parse a text-format string value starting at the opening quote; NULL if malformed. */
static char *parse_quoted(const char *q, const char *eol)
{
    if (q >= eol || *q != '"')
        return NULL;
    q++;
    char *out = malloc((size_t)(eol - q) + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    /* Paths only ever need the simple escapes (\" \\ \'). */
    while (q < eol && *q != '"') {
        if (*q == '\\' && q + 1 < eol)
            q++;
        out[o++] = *q++;
    }
    if (q >= eol) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    return out;
}

void ckpt_free_paths(char **all, size_t nall)
{
    for (size_t i = 0; all && i < nall; i++)
        free(all[i]);
    free(all);
}

int ckpt_parse_state_file(const char *text, size_t len, char **latest, char ***all, size_t *nall,
                          ckpt_err *err)
{
    static const char k_latest[] = "model_checkpoint_path";
    static const char k_all[] = "all_model_checkpoint_paths";
    *latest = NULL;
    if (all) {
        *all = NULL;
        *nall = 0;
    }
    size_t cap = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *q = p;
        while (q < eol && (*q == ' ' || *q == '\t'))
            q++;
        int which = 0;
        if ((size_t)(eol - q) > sizeof k_latest - 1 && !memcmp(q, k_latest, sizeof k_latest - 1))
            which = 1, q += sizeof k_latest - 1;
        else if ((size_t)(eol - q) > sizeof k_all - 1 && !memcmp(q, k_all, sizeof k_all - 1))
            which = 2, q += sizeof k_all - 1;
        if (which) {
            while (q < eol && (*q == ' ' || *q == ':'))
                q++;
            char *v = parse_quoted(q, eol);
            if (!v) {
                if (all)
                    ckpt_free_paths(*all, *nall), *all = NULL, *nall = 0;
                free(*latest);
                *latest = NULL;
                return ckpt_err_set(err, CKPT_E_CORRUPT, "malformed checkpoint state line");
            }
            if (which == 1) {
                free(*latest);
                *latest = v;
            } else if (all && !ckpt_grow((void **)all, &cap, *nall + 1, sizeof **all)) {
                (*all)[(*nall)++] = v;
            } else {
                free(v);
            }
        }
        p = eol + 1;
    }
    return 0;
}

int ckpt_read_state_src(const ckpt_bytesrc *src, const char *dir, char **latest, char ***all,
                        size_t *nall, ckpt_err *err)
{
    *latest = NULL;
    if (all)
        *all = NULL, *nall = 0;
    char *state = ckpt_path_join(dir, CKPT_STATE_FILE);
    if (!state)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    ckpt_file *f = NULL;
    char *buf = NULL;
    int rc = ckpt_file_open(src, state, &f, err);
    /* A state file is a few lines; past STATE_FILE_MAX only the start is read, and a path cut
     * there is a name that is not found, not a parse of bytes beyond the buffer. */
    size_t n = f ? (f->size < STATE_FILE_MAX ? (size_t)f->size : STATE_FILE_MAX) : 0;
    if (!rc && !(buf = malloc(n ? n : 1)))
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    if (!rc)
        rc = ckpt_file_pread(f, buf, n, 0, err);
    if (!rc) {
        rc = ckpt_parse_state_file(buf, n, latest, all, nall, err);
        if (rc && rc != CKPT_E_NOMEM)
            ckpt_err_prefix(err, "%s", state);
    }
    ckpt_file_close(f);
    free(buf);
    free(state);
    return rc;
}

int ckpt_read_state_file(const char *dir, char **latest, char ***all, size_t *nall, ckpt_err *err)
{
    return ckpt_read_state_src(ckpt_bytesrc_local(), dir, latest, all, nall, err);
}

/* Whether name is absent: locally any existing name counts, even one we may not read (an
 * unreadable index is refused at open, not taken for "no variables"); remotely a 404. */
static int absent(const ckpt_bytesrc *src, const char *name)
{
    if (src == ckpt_bytesrc_local())
        return access(name, F_OK) != 0;
    return ckpt_bytesrc_stat(src, name, NULL) == CKPT_E_NOTFOUND;
}

int ckpt_savedmodel_without_variables_src(const ckpt_bytesrc *src, const char *prefix)
{
    static const char tail[] = "/variables/variables";
    size_t n = strlen(prefix), t = sizeof tail - 1;
    if (n < t || strcmp(prefix + n - t, tail) != 0)
        return 0;
    char *idx = ckpt_index_path(prefix);
    char *dir = strndup(prefix, n - t);
    char *pb = dir ? ckpt_path_join(dir, "saved_model.pb") : NULL;
    int yes = idx && pb && absent(src, idx) && absent(src, prefix) &&
              ckpt_bytesrc_stat(src, pb, NULL) == 0;
    free(idx);
    free(dir);
    free(pb);
    return yes;
}

int ckpt_savedmodel_without_variables(const char *prefix)
{
    return ckpt_savedmodel_without_variables_src(ckpt_bytesrc_local(), prefix);
}

/*
 * The checkpoint DIR/checkpoint names as the latest: 1 with *rc (0 and *prefix, or
 * CKPT_E_NOTFOUND naming what is missing) when the state file names one, 0 when there is no
 * usable state file (the caller looks further).
 */
static int from_state_file(const char *dir, char **prefix, int *rc, ckpt_err *err)
{
    char *latest = NULL;
    if (ckpt_read_state_file(dir, &latest, NULL, NULL, NULL) != 0)
        return 0;
    if (!latest || !*latest) {
        free(latest);
        return 0;
    }
    char *p = NULL;
    if (latest[0] == '/' && !(p = try_prefix(latest, strlen(latest))))
        p = try_v1(latest, strlen(latest));
    if (!p) {
        /* Relative, or absolute from another machine: look beside the state file. */
        const char *base = strrchr(latest, '/');
        base = latest[0] == '/' ? base + 1 : latest;
        char *joined = ckpt_path_join(dir, base);
        if (joined) {
            if (!(p = try_prefix(joined, strlen(joined))))
                p = try_v1(joined, strlen(joined));
            free(joined);
        }
    }
    if (p) {
        *prefix = p;
        *rc = 0;
    } else {
        *rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                           "%s/checkpoint: names checkpoint \"%s\", but neither its .index file "
                           "nor a V1 checkpoint file of that name exists",
                           dir, latest);
    }
    free(latest);
    return 1;
}

/*
 * When path is in a FUSE mount whose daemon is gone, say so (and what to do) and return the
 * code; else 0. Such a mount can still pass stat and even list a directory from the kernel's
 * caches, so the sign is statfs, which is never cached.
 */
static int dead_mount(const char *path, ckpt_err *err)
{
    struct statvfs sv;
    if (statvfs(path, &sv) == 0 || (errno != ENOTCONN && errno != ECONNABORTED))
        return 0;
    return ckpt_err_set(err, CKPT_E_NOTFOUND,
                        "%s: transport endpoint is not connected (a FUSE mount whose daemon "
                        "is gone): unmount it with fusermount3 -u",
                        path);
}

/* A directory as a source: its state file's latest, a SavedModel's variables, or the one
 * checkpoint it holds. */
static int resolve_dir(const char *dir, char **prefix, ckpt_err *err)
{
    int rc;
    if (from_state_file(dir, prefix, &rc, err))
        return rc;
    char *sm = ckpt_path_join(dir, "variables/variables");
    if (!sm)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    char *p = try_prefix(sm, strlen(sm));
    if (!p && ckpt_savedmodel_without_variables(sm)) {
        *prefix = sm; /* a model of constants: opened as a checkpoint of no variables */
        return 0;
    }
    free(sm);
    if (p) {
        *prefix = p;
        return 0;
    }
    /* No state file: a folder holding exactly one prefix is unambiguous. */
    DIR *d = opendir(dir);
    if (!d)
        return ckpt_err_set(err, CKPT_E_IO, "%s: %s", dir, strerror(errno));
    char *only = NULL, *v1 = NULL;
    int count = 0, nv1 = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = ckpt_index_prefix_len(de->d_name);
        if (n) {
            if (count++ == 0)
                only = strndup(de->d_name, n);
            continue;
        }
        /* V1 saves have no .index: their table files are the checkpoint (shard 0 stands for a
         * sharded set, the others are counted with it). */
        char *path = ckpt_path_join(dir, de->d_name);
        if (!path)
            continue;
        size_t base_len;
        int nfiles = ckpt_v1_file_count(path, &base_len);
        int first = nfiles == 1 || !memcmp(path + base_len, "-00000-", 7);
        if (first && !ckpt_ends_with(path, ".meta") &&
            ckpt_table_file_is(ckpt_bytesrc_local(), path)) {
            if (nv1++ == 0) {
                if (nfiles > 1)
                    memcpy(path + base_len + 1, "?????", 5);
                v1 = path, path = NULL;
            }
        }
        free(path);
    }
    closedir(d);
    if (count == 0 && nv1 == 1) {
        *prefix = v1;
        return 0;
    }
    if (count == 1 && nv1 == 0 && only) {
        char *joined = ckpt_path_join(dir, only);
        free(only);
        if (!joined)
            return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        *prefix = joined;
        return 0;
    }
    if (count + nv1 > 1)
        rc = ckpt_err_set(
            err, CKPT_E_NOTFOUND,
            "%s: holds %d checkpoints (%d V2 *.index, %d V1 files) and no "
            "`checkpoint` state file naming the latest; name one of them (e.g. %s%s%s)",
            dir, count + nv1, count, nv1, only ? dir : "", only ? "/" : "", only ? only : v1);
    else if ((rc = dead_mount(dir, err)) == 0) /* else its listing came from a cache */
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                          "%s: no checkpoint here (no `checkpoint` state file, no *.index, no V1 "
                          "checkpoint file, no saved_model.pb with variables/variables.index)",
                          dir);
    free(only);
    free(v1);
    return rc;
}

int ckpt_resolve_prefix(const char *source, char **prefix, ckpt_err *err)
{
    *prefix = NULL;
    size_t len = strlen(source);
    while (len > 1 && source[len - 1] == '/')
        len--;
    if (len == 0)
        return ckpt_err_set(err, CKPT_E_INVALID, "empty checkpoint source");
    char *src = strndup(source, len);
    if (!src)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    int rc = 0;
    char *p = NULL;
    const char *base = strrchr(src, '/');
    base = base ? base + 1 : src;
    if (!strcmp(base, CKPT_STATE_FILE) && ckpt_is_regular_file(src)) {
        /* The state file stands for its folder, as tf.train.latest_checkpoint takes it. */
        char *dir = base == src ? strdup(".")
                                : strndup(src, base - 1 == src ? 1 : (size_t)(base - 1 - src));
        rc = dir ? resolve_dir(dir, &p, err) : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        free(dir);
    } else if (ckpt_is_directory(src)) {
        rc = resolve_dir(src, &p, err);
    } else {
        size_t n;
        if (ckpt_ends_with_n(src, len, "/saved_model.pb") || !strcmp(src, "saved_model.pb")) {
            /* A SavedModel named by its graph file: its variables, as for the directory. */
            char *sm = malloc(len + sizeof "/variables/variables");
            if (!sm) {
                free(src);
                return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
            }
            sprintf(sm, "%.*svariables/variables", (int)(len - 14), src);
            p = try_prefix(sm, strlen(sm));
            if (!p)
                rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                                  "%s: a SavedModel without variables (no %s.index)", src, sm);
            free(sm);
            free(src);
            if (rc)
                return rc;
            *prefix = p;
            return 0;
        }
        if (!(p = try_prefix(src, len))) {
            if (ckpt_ends_with_n(src, len, ".index"))
                p = try_prefix(src, len - 6);
            else if (ckpt_ends_with_n(src, len, ".meta"))
                p = try_prefix(src, len - 5);
            else if ((n = strip_data_suffix(src, len)) > 0)
                p = try_prefix(src, n);
        }
        /* Last, V1: the file itself, or the file a V1 save's .meta sits beside. */
        if (!p && ckpt_ends_with_n(src, len, ".meta"))
            p = try_v1(src, len - 5);
        if (!p && !ckpt_ends_with_n(src, len, ".index") && !ckpt_ends_with_n(src, len, ".meta"))
            p = try_v1(src, len);
        /* A sharded V1 save named by its base, or by the .meta beside its files. */
        if (!p && ckpt_ends_with_n(src, len, ".meta"))
            p = try_v1_set(src, len - 5);
        if (!p && !ckpt_ends_with_n(src, len, ".index") && !ckpt_ends_with_n(src, len, ".meta"))
            p = try_v1_set(src, len);
        if (!p && !(rc = dead_mount(src, err))) {
            int gone = access(src, F_OK) != 0 ? errno : 0;
            if (gone == ENOENT)
                rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                                  "%s: no such checkpoint (neither that file nor %s.index exists)",
                                  src, src);
            else if (gone)
                rc = ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: %s", src, strerror(gone));
            else
                rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                                  "%s: not a checkpoint (no matching .index file beside it, and "
                                  "not a V1 checkpoint file); pass the prefix, its .index, a "
                                  "training folder or a SavedModel directory",
                                  src);
        }
    }
    free(src);
    if (rc)
        return rc;
    *prefix = p;
    return 0;
}

int ckpt_resolve_meta(const char *source, char **meta, ckpt_err *err)
{
    char *prefix;
    *meta = NULL;
    int rc = ckpt_resolve_prefix(source, &prefix, err);
    if (rc)
        return rc;
    /* A V1 set's files share the base name its .meta carries. */
    char *q = strstr(prefix, "-\?\?\?\?\?-of-");
    if (q)
        memcpy(q + 1, "00000", 5);
    size_t base_len;
    ckpt_v1_file_count(prefix, &base_len);
    char *m = malloc(base_len + sizeof ".meta");
    if (!m) {
        free(prefix);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    sprintf(m, "%.*s.meta", (int)base_len, prefix);
    if (!ckpt_is_regular_file(m)) {
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: the checkpoint has no graph (%s is absent)",
                          source, m);
        free(m);
    } else {
        *meta = m;
    }
    free(prefix);
    return rc;
}
