/* folder.c - see folder.h. */
#include "folder.h"

#include "archive_places.h"
#include "bytesrc_local.h"
#include "resolve_src.h"
#include "resolve_local.h"
#include "table.h"
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
 * Whether the data shards of the checkpoint whose files start with base are all in l, adding
 * their sizes to *bytes. Sharded saves name every shard's count: the set of the first count
 * seen is the one that must be whole. A checkpoint with no shard at all (index only, or V1)
 * is complete.
 */
static int shards_complete(const ckpt_listing *l, const char *base, uint64_t *bytes)
{
    size_t pl = strlen(base);
    size_t lo = 0, hi = l->n;
    while (lo < hi) { /* the first name >= base */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(l->e[mid].name, base) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    unsigned want = 0, have = 0;
    for (size_t i = lo; i < l->n && !strncmp(l->e[i].name, base, pl); i++) {
        unsigned k, m;
        if (!shard_of(l->e[i].name, base, &k, &m))
            continue;
        if (!want)
            want = m;
        if (m != want)
            continue;
        have++;
        *bytes += l->e[i].id.size;
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
    it->complete = s->listed ? shards_complete(&s->l, it->name, &it->bytes) : 1;
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
    int rc =
        !has_item(s->out, b) && present(s, ix, &id) ? add_item_as(s, b, strlen(b), NULL, &id) : 0;
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

/* --- an archive's places (docs/archives.md, "Several checkpoints in one archive") --------- */

/* The length of the leading folder every place shares ("a/b" of "a/b/x" and "a/b/y"), plus
 * its '/': what their names leave out. 0 when they share none, or one of them is the root. */
static size_t shared_folder(char *const *places, size_t n)
{
    /* places are sorted: what the first and the last share, all share */
    const char *a = places[0], *b = places[n - 1];
    size_t k = 0, cut = 0;
    while (a[k] && a[k] == b[k]) {
        if (a[k] == '/')
            cut = k + 1;
        k++;
    }
    return cut;
}

/* The name of place p, malloc'd: '%' as %25 and '/' as %2F, so that no name holds a '/' and
 * two places never share one; the root ("") is ".", as ARCHIVE//. names it (a mount shows
 * "." and ".." as every name that is no file name: escape.h). */
static char *place_name(const char *p)
{
    if (!*p)
        return strdup(".");
    size_t n = 1;
    for (const char *q = p; *q; q++)
        n += *q == '%' || *q == '/' ? 3 : 1;
    char *out = malloc(n), *o = out;
    for (const char *q = p; out && *q; q++) {
        if (*q == '%' || *q == '/')
            o += sprintf(o, "%%%02X", (unsigned char)*q);
        else
            *o++ = *q;
    }
    if (out)
        *o = '\0';
    return out;
}

/* "ARCHIVE//PLACE/leaf" (leaf NULL: "ARCHIVE//PLACE"), the root as "ARCHIVE//.": names the
 * archive's source resolves, and every command takes as SOURCE. malloc'd. */
static char *inside(const char *archive, const char *place, const char *leaf)
{
    size_t n = strlen(archive) + strlen(place) + (leaf ? strlen(leaf) : 0) + 6;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s%s%s", archive, CKPT_ARCHIVE_SEP, *place ? place : ".",
                 leaf ? "/" : "", leaf ? leaf : "");
    return s;
}

/*
 * The item of place p, shown as name (taken over): its prefix is what "ARCHIVE//p" resolves
 * to (one that does not resolve keeps that name: opening it says why). 0, or CKPT_E_NOMEM.
 */
static int add_place(scan *s, const char *archive, const char *p, char *name, ckpt_err *err)
{
    ckpt_folder *f = s->out;
    if (!name || ckpt_grow((void **)&f->items, &s->cap, f->n + 1, sizeof *f->items)) {
        free(name);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    ckpt_folder_item *it = &f->items[f->n++]; /* ckpt_folder_free frees what it holds */
    memset(it, 0, sizeof *it);
    it->name = name;
    it->complete = 1;
    char *named = inside(archive, p, NULL), *sm = inside(archive, p, "saved_model.pb");
    char *state = inside(archive, p, CKPT_STATE_FILE);
    int rc =
        named && sm && state ? ckpt_resolve_src(s->src, named, &it->prefix, NULL) : CKPT_E_NOMEM;
    if (rc && rc != CKPT_E_NOMEM)
        it->prefix = named, named = NULL;
    if (sm && ckpt_bytesrc_stat(s->src, sm, NULL) == 0)
        it->saved_model = sm, sm = NULL;
    if (named && state && ckpt_bytesrc_stat(s->src, state, NULL) == 0)
        it->folder = named, named = NULL;
    free(named);
    free(sm);
    free(state);
    return it->prefix ? 0 : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
}

/* The length of the folder part of item it's prefix (every place's has a '/': "//"). */
static size_t dir_len(const ckpt_folder_item *it)
{
    return (size_t)(strrchr(it->prefix, '/') - it->prefix);
}

/* Items in the order of their prefixes' folders, so that each folder is listed once. */
static int by_dir(const void *a, const void *b)
{
    const ckpt_folder_item *x = *(ckpt_folder_item *const *)a, *y = *(ckpt_folder_item *const *)b;
    size_t xl = dir_len(x), yl = dir_len(y);
    int c = memcmp(x->prefix, y->prefix, xl < yl ? xl : yl);
    return c ? c : (xl > yl) - (xl < yl);
}

/* The identity and bytes of it from the listing l of its folder: its .index, or its V1 file,
 * and its data shards; none for a SavedModel of constants (no variables/ at all). */
static void identify(ckpt_folder_item *it, const ckpt_listing *l)
{
    const char *base = it->prefix + dir_len(it) + 1;
    char *ix = ckpt_index_path(base), *v1 = ckpt_v1_first_file(base);
    const ckpt_dirent *e = ix ? ckpt_listing_find(l, ix) : NULL;
    const ckpt_dirent *e1 = e || !v1 ? NULL : ckpt_listing_find(l, v1);
    if (e || e1) {
        /* a sharded V1 save's pattern names no one file (add_v1) */
        it->known = e || !strcmp(v1, base);
        it->id = e ? e->id : e1->id;
        it->bytes = it->id.size;
        it->v1 = !e;
    }
    /* Nothing writes into an archive: a shard missing from it is a missing shard, shown as in
     * any mount (docs/mount.md), not a save in progress to hide (complete stays set). */
    if (e)
        shards_complete(l, base, &it->bytes);
    free(ix);
    free(v1);
}

/* identify every item of f, listing each folder once. 0, or CKPT_E_NOMEM. */
static int identify_all(const ckpt_bytesrc *src, ckpt_folder *f, ckpt_err *err)
{
    ckpt_folder_item **order = malloc(f->n * sizeof *order);
    if (!order)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < f->n; i++)
        order[i] = &f->items[i];
    qsort(order, f->n, sizeof *order, by_dir);
    ckpt_listing l = {0};
    int listed = 0, rc = 0;
    for (size_t i = 0; i < f->n && !rc; i++) {
        if (!i || by_dir(&order[i - 1], &order[i])) {
            ckpt_listing_free(&l);
            char *dir = strndup(order[i]->prefix, dir_len(order[i]));
            if (!dir)
                rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
            listed = dir && ckpt_bytesrc_list(src, dir, &l, NULL) == 0;
            free(dir);
        }
        if (listed)
            identify(order[i], &l);
    }
    ckpt_listing_free(&l);
    free(order);
    return rc;
}

/* ckpt_folder_scan_src of an archive alone: 1 when dir is no archive alone holding several
 * places (a folder like any other), else 0 or an error, with out filled in. */
static int scan_places(const ckpt_bytesrc *src, const char *dir, ckpt_folder *out, ckpt_err *err)
{
    char *archive = NULL, *inner = NULL, **places = NULL;
    size_t n = 0;
    int rc = ckpt_archive_split(dir, &archive, &inner) == 1 ? 0 : 1;
    if (rc == 0 && *inner)
        rc = 1;
    if (rc == 0)
        rc = ckpt_archive_places(src, &places, &n, err);
    if (rc == 0 && n < 2)
        rc = 1;
    if (rc == 0) {
        scan s = {.src = src, .dir = dir, .out = out};
        size_t skip = shared_folder(places, n);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = add_place(&s, archive, places[i], place_name(places[i] + skip), err);
        if (rc == 0)
            rc = identify_all(src, out, err);
        if (rc == 0)
            qsort(out->items, out->n, sizeof *out->items, item_cmp);
        out->places = 1;
        if (rc)
            ckpt_folder_free(out);
    }
    ckpt_free_paths(places, n);
    free(archive);
    free(inner);
    return rc;
}

int ckpt_folder_scan_src(const ckpt_bytesrc *src, const char *dir, ckpt_folder *out, ckpt_err *err)
{
    memset(out, 0, sizeof *out);
    out->latest = -1;
    if (ckpt_archive_is(src)) {
        int rc = scan_places(src, dir, out, err);
        if (rc != 1)
            return rc;
    }
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
        free(f->items[i].saved_model);
        free(f->items[i].folder);
    }
    free(f->items);
    memset(f, 0, sizeof *f);
    f->latest = -1;
}

int ckpt_folder_index_complete(const ckpt_bytesrc *src, const char *index_path)
{
    return ckpt_table_file_is(src, index_path);
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
