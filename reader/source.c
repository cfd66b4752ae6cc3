/* source.c - see source.h. */
#include "source.h"

#include "fileio.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
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

/*
 * A V1 checkpoint is named by its file, or for sharded saves by the pattern
 * "-?????-of-NNNNN" that the state file records: accept s when that file (shard 0 for a
 * pattern) is a regular file. The caller checks the contents.
 */
static char *try_v1(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        return NULL;
    char *probe = ckpt_v1_first_file(p);
    int ok = probe && ckpt_is_regular_file(probe);
    free(probe);
    if (ok)
        return p;
    free(p);
    return NULL;
}

/* Candidate prefix p (length n of s): accept it when p.index is a file. */
static char *try_prefix(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        return NULL;
    char *idx = ckpt_index_path(p);
    int ok = idx && ckpt_is_regular_file(idx);
    free(idx);
    if (ok)
        return p;
    free(p);
    return NULL;
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

int ckpt_read_state_file(const char *dir, char **latest, char ***all, size_t *nall, ckpt_err *err)
{
    *latest = NULL;
    if (all)
        *all = NULL, *nall = 0;
    char *state = ckpt_path_join(dir, CKPT_STATE_FILE);
    if (!state)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    int fd = open(state, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = ckpt_err_set(err, errno == ENOENT ? CKPT_E_NOTFOUND : CKPT_E_IO, "%s: %s", state,
                              strerror(errno));
        free(state);
        return rc;
    }
    size_t cap = STATE_FILE_MAX;
    char *buf = malloc(cap);
    ssize_t n = buf ? read(fd, buf, cap) : -1;
    close(fd);
    int rc = 0;
    if (n < 0)
        rc = ckpt_err_set(err, CKPT_E_IO, "%s: cannot read", state);
    else
        rc = ckpt_parse_state_file(buf, (size_t)n, latest, all, nall, err);
    if (rc && rc != CKPT_E_IO)
        ckpt_err_prefix(err, "%s", state);
    free(buf);
    free(state);
    return rc;
}

/* Resolve a directory: training folder state file, then SavedModel layout. */
static int resolve_dir(const char *dir, char **prefix, ckpt_err *err)
{
    char *latest = NULL;
    if (ckpt_read_state_file(dir, &latest, NULL, NULL, NULL) == 0) {
        if (latest && *latest) {
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
                free(latest);
                *prefix = p;
                return 0;
            }
            ckpt_err_set(err, CKPT_E_NOTFOUND,
                         "%s/checkpoint: names checkpoint \"%s\", but neither its .index file nor "
                         "a V1 checkpoint file of that name exists",
                         dir, latest);
            free(latest);
            return CKPT_E_NOTFOUND;
        }
        free(latest);
    }
    char *sm = ckpt_path_join(dir, "variables/variables");
    if (!sm)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    char *p = try_prefix(sm, strlen(sm));
    free(sm);
    if (p) {
        *prefix = p;
        return 0;
    }
    /* No state file: a folder holding exactly one prefix is unambiguous. */
    DIR *d = opendir(dir);
    if (!d)
        return ckpt_err_set(err, CKPT_E_IO, "%s: %s", dir, strerror(errno));
    char *only = NULL;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = ckpt_index_prefix_len(de->d_name);
        if (n && count++ == 0)
            only = strndup(de->d_name, n);
    }
    closedir(d);
    if (count == 1 && only) {
        char *joined = ckpt_path_join(dir, only);
        free(only);
        if (!joined)
            return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        *prefix = joined;
        return 0;
    }
    int rc;
    if (count)
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                          "%s: holds %d checkpoints (*.index) and no `checkpoint` state file "
                          "naming the latest; name one of them (e.g. %s/%s)",
                          dir, count, dir, only ? only : "");
    else
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                          "%s: no checkpoint here (no `checkpoint` state file, no *.index, no "
                          "variables/variables.index)",
                          dir);
    free(only);
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
    if (ckpt_is_directory(src)) {
        rc = resolve_dir(src, &p, err);
    } else {
        size_t n;
        if (!(p = try_prefix(src, len))) {
            if (ends_with(src, len, ".index"))
                p = try_prefix(src, len - 6);
            else if (ends_with(src, len, ".meta"))
                p = try_prefix(src, len - 5);
            else if ((n = strip_data_suffix(src, len)) > 0)
                p = try_prefix(src, n);
        }
        /* Last, V1: the file itself, or the file a V1 save's .meta sits beside. */
        if (!p && ends_with(src, len, ".meta"))
            p = try_v1(src, len - 5);
        if (!p && !ends_with(src, len, ".index") && !ends_with(src, len, ".meta"))
            p = try_v1(src, len);
        if (!p) {
            if (access(src, F_OK) != 0 && errno == ENOENT)
                rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                                  "%s: no such checkpoint (neither that file nor %s.index exists)",
                                  src, src);
            else
                rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                                  "%s: not a V2 checkpoint (no matching .index file found beside it)",
                                  src);
        }
    }
    free(src);
    if (rc)
        return rc;
    *prefix = p;
    return 0;
}
