/*
 * archive.c - the archive byte source (see archive.h): its names, its members as files, the
 * pick of the archive kind by its bytes, and the .tar.gz index kept in cache_dir=.
 *
 * The archive file itself is read through the source its name calls for (bytesrc_local.c or
 * the remote one), so a zip at a URL costs range requests of what is read: its end (the
 * central directory), then each member opened. A stored zip member and a tar member are plain
 * byte ranges of that file; a deflated zip member, and the whole stream of a .tar.gz, are
 * decoded on demand with seek points (zseek.h).
 */
#include "archive.h"

#include "archive_internal.h"
#include "net.h"
#include "scheme.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

/* Bytes of a .tar.gz index file we accept (a 1 TB stream at 4 MiB spans needs 8 GB: we keep
 * at most 2,048 points, 64 MiB, and the members). */
#define INDEX_FILE_MAX (256u << 20)

typedef enum ar_kind { AR_ZIP, AR_TAR, AR_TGZ } ar_kind;

/* A member's decoder, made at its first open and kept for the archive's life. */
typedef struct ar_slot {
    pthread_mutex_t mu;
    int ready;
    uint64_t data; /* zip: where its data start */
    ckpt_zseek *z; /* a deflated member's decoder */
} ar_slot;

typedef struct archive {
    ckpt_bytesrc src;
    pthread_mutex_t mu;
    int refs;
    char *path;           /* the archive as named: names inside start with it */
    ckpt_bytesrc *remote; /* the source of a URL archive (owned), else NULL */
    ckpt_file *base;      /* the archive file */
    ar_kind kind;
    ckpt_zseek *gz; /* a .tar.gz: the decompressed stream */
    ckpt_ar_table t;
    ar_slot *slots; /* one per member */
    uint64_t inflated;
} archive;

/* --- names -------------------------------------------------------------------------------- */

static int has_archive_ending(const char *s, size_t n)
{
    static const char *const ends[] = {".zip", ".tar", ".tar.gz", ".tgz"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t el = strlen(ends[i]);
        if (n > el && !strncasecmp(s + n - el, ends[i], el) && s[n - el - 1] != '/')
            return 1;
    }
    return 0;
}

int ckpt_archive_split(const char *source, char **outer, char **inner)
{
    const char *from = source, *scheme = strstr(source, "://");
    if (scheme && !ckpt_name_is_local(source))
        from = scheme + 3;
    size_t alen = 0;
    const char *in = NULL;
    for (const char *p = strstr(from, CKPT_ARCHIVE_SEP); p; p = strstr(p + 1, CKPT_ARCHIVE_SEP))
        if (has_archive_ending(source, (size_t)(p - source))) {
            alen = (size_t)(p - source);
            in = p + 2;
            break;
        }
    if (!in) {
        size_t n = strlen(source);
        while (n > 1 && source[n - 1] == '/')
            n--;
        if (!has_archive_ending(source, n))
            return 0;
        alen = n;
        in = source + n;
    }
    if (!outer)
        return 1;
    while (*in == '/')
        in++;
    *outer = strndup(source, alen);
    *inner = strdup(in);
    if (*outer && *inner) {
        size_t il = strlen(*inner);
        while (il && (*inner)[il - 1] == '/')
            (*inner)[--il] = '\0';
        return 1;
    }
    free(*outer);
    free(*inner);
    *outer = *inner = NULL;
    return -1;
}

/* The path inside a of a name it handed out ("ARCHIVE//x/y" or "ARCHIVE/x/y"), or NULL. */
static const char *inner_of(const archive *a, const char *name)
{
    size_t pl = strlen(a->path);
    if (strncmp(name, a->path, pl) || (name[pl] && name[pl] != '/'))
        return NULL;
    name += pl;
    while (*name == '/')
        name++;
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    return strcmp(name, ".") ? name : name + 1; /* "ARCHIVE//." is the root */
}

/* --- the member table --------------------------------------------------------------------- */

int ckpt__ar_add(ckpt_ar_table *t, const char *name, size_t n, const ckpt_ar_member *m,
                 ckpt_err *err)
{
    /* "./a", "/a", "a/" and "a" are one member: tar -C dir . writes the first. */
    for (;;) {
        if (n && name[0] == '/')
            name++, n--;
        else if (n >= 2 && name[0] == '.' && name[1] == '/')
            name += 2, n -= 2;
        else
            break;
    }
    while (n && name[n - 1] == '/')
        n--;
    if (!n || (n == 1 && name[0] == '.'))
        return 0;
    if (memchr(name, '\0', n))
        return ckpt_err_set(err, CKPT_E_CORRUPT, "a member's name holds a NUL byte");
    if (t->n >= CKPT_AR_MEMBERS_MAX)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "more than %u members", CKPT_AR_MEMBERS_MAX);
    char *nm = strndup(name, n);
    if (!nm || ckpt_grow((void **)&t->m, &t->cap, t->n + 1, sizeof *t->m)) {
        free(nm);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    t->m[t->n] = *m;
    t->m[t->n++].name = nm;
    return 0;
}

static int member_cmp(const void *a, const void *b)
{
    const ckpt_ar_member *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    /* Equal names keep their archive order, so the last one can win. */
    return c ? c : (x->off > y->off) - (x->off < y->off);
}

void ckpt__ar_sort(ckpt_ar_table *t)
{
    if (t->n < 2)
        return;
    qsort(t->m, t->n, sizeof *t->m, member_cmp);
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (i + 1 < t->n && !strcmp(t->m[i].name, t->m[i + 1].name)) {
            free(t->m[i].name);
            continue;
        }
        t->m[w++] = t->m[i];
    }
    t->n = w;
}

const ckpt_ar_member *ckpt__ar_find(const ckpt_ar_table *t, const char *name)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->m[mid].name, name);
        if (!c)
            return &t->m[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void ckpt__ar_free(ckpt_ar_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->m[i].name);
    free(t->m);
    memset(t, 0, sizeof *t);
}

/* --- lifetime ----------------------------------------------------------------------------- */

static void ar_unref(archive *a)
{
    pthread_mutex_lock(&a->mu);
    int last = --a->refs == 0;
    pthread_mutex_unlock(&a->mu);
    if (!last)
        return;
    for (size_t i = 0; a->slots && i < a->t.n; i++) {
        ckpt_zseek_free(a->slots[i].z);
        pthread_mutex_destroy(&a->slots[i].mu);
    }
    free(a->slots);
    ckpt_zseek_free(a->gz);
    ckpt__ar_free(&a->t);
    ckpt_file_close(a->base);
    ckpt_bytesrc_release(a->remote);
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}

void ckpt_archive_release(ckpt_bytesrc *src)
{
    if (src)
        ar_unref(src->state);
}

uint64_t ckpt_archive_inflated(const ckpt_bytesrc *src)
{
    const archive *a = src->state;
    return __atomic_load_n(&a->inflated, __ATOMIC_RELAXED);
}

/* --- members as files --------------------------------------------------------------------- */

typedef struct mfile {
    ckpt_file f;
    archive *a;
    size_t idx;
} mfile;

static int mf_pread(ckpt_file *f, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    mfile *h = (mfile *)f;
    archive *a = h->a;
    const ckpt_ar_member *m = &a->t.m[h->idx];
    ar_slot *s = &a->slots[h->idx];
    if (a->kind == AR_TGZ)
        return ckpt_zseek_read(a->gz, buf, n, m->off + off, err);
    if (s->z)
        return ckpt_zseek_read(s->z, buf, n, off, err);
    return ckpt_file_pread(a->base, buf, n, s->data + off, err);
}

static void mf_free_bytes(ckpt_bytes *b)
{
    if (b->data)
        munmap((void *)b->data, b->len);
}

static int mf_read_all(ckpt_file *f, ckpt_bytes *out, ckpt_err *err)
{
    if (f->size == 0)
        return 0;
    if (f->size > SIZE_MAX / 2)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: too large to hold", f->name);
    /* A shared mapping of a memory file, as the remote source gives: ckpt_map_file's callers
     * munmap it and may madvise it. */
    int fd = memfd_create("ckptfs-archive", MFD_CLOEXEC);
    void *m = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, (off_t)f->size) == 0)
        m = mmap(NULL, (size_t)f->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd >= 0)
        close(fd);
    if (m == MAP_FAILED)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", f->name);
    int rc = mf_pread(f, m, (size_t)f->size, 0, err);
    if (rc) {
        munmap(m, (size_t)f->size);
        return rc;
    }
    out->data = m;
    out->len = (size_t)f->size;
    out->release = mf_free_bytes;
    return 0;
}

static void mf_close(ckpt_file *f)
{
    mfile *h = (mfile *)f;
    archive *a = h->a;
    free(f->name);
    free(h);
    ar_unref(a);
}

static void mf_advise(ckpt_file *f, uint64_t off, uint64_t len)
{
    mfile *h = (mfile *)f;
    /* Only a plain range maps onto the archive file's own read-ahead. */
    if (h->a->kind != AR_TGZ && !h->a->slots[h->idx].z)
        ckpt_file_advise(h->a->base, h->a->slots[h->idx].data + off, len);
}

static const ckpt_file_ops mfile_ops = {mf_pread, mf_read_all, mf_close, mf_advise, NULL, NULL};

/* What a member needs before its first read: a zip's data offset, a decoder. */
static int prepare(archive *a, size_t i, ckpt_err *err)
{
    ar_slot *s = &a->slots[i];
    const ckpt_ar_member *m = &a->t.m[i];
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->ready)
        goto out;
    if (a->kind != AR_ZIP) {
        s->data = m->off;
    } else if (m->encrypted) {
        rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED, "%s//%s: the zip member is encrypted", a->path,
                          m->name);
    } else if (m->method == CKPT_AR_OTHER) {
        rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                          "%s//%s: zip compression method %u is not supported (stored and "
                          "deflated are)",
                          a->path, m->name, m->method_id);
    } else if (!(rc = ckpt__zip_data_offset(a->base, m, &s->data, err)) &&
               m->method == CKPT_AR_DEFLATED) {
        char nm[CKPT_AR_NAME_MAX + 64];
        snprintf(nm, sizeof nm, "%s//%s", a->path, m->name);
        rc = ckpt_zseek_new(a->base, s->data, m->csize, CKPT_ZSEEK_RAW, m->usize, 1, m->crc,
                            CKPT_ZSEEK_SPAN, nm, &a->inflated, &s->z, err);
    }
    s->ready = rc == 0;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int ar_open(void *state, const char *name, ckpt_file **out, ckpt_err *err)
{
    archive *a = state;
    *out = NULL;
    const char *in = inner_of(a, name);
    const ckpt_ar_member *m = in ? ckpt__ar_find(&a->t, in) : NULL;
    if (!m || m->dir)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: no such file in the archive", name);
    size_t i = (size_t)(m - a->t.m);
    int rc = prepare(a, i, err);
    if (rc)
        return rc;
    mfile *h = calloc(1, sizeof *h);
    if (!h || !(h->f.name = strdup(name))) {
        free(h);
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", name);
    }
    h->a = a;
    h->idx = i;
    ckpt_file *f = &h->f;
    f->ops = &mfile_ops;
    f->state = h;
    f->fd = -1;
    f->size = m->usize;
    /* The archive's identity and the member's place in it: a changed archive, or another
     * member, never matches. */
    f->id = a->base->id;
    f->id.size = m->usize;
    snprintf(f->id.tag, sizeof f->id.tag, "%zu#%.100s", i, a->base->id.tag);
    f->attr = a->base->attr;
    f->attr.st_mode = S_IFREG | (a->base->attr.st_mode & 0444);
    f->attr.st_size = (off_t)m->usize;
    f->attr.st_nlink = 1;
    pthread_mutex_lock(&a->mu);
    a->refs++;
    pthread_mutex_unlock(&a->mu);
    *out = f;
    return 0;
}

static int ar_stat(void *state, const char *name, ckpt_err *err)
{
    archive *a = state;
    const char *in = inner_of(a, name);
    const ckpt_ar_member *m = in ? ckpt__ar_find(&a->t, in) : NULL;
    if (!m || m->dir)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: no such file in the archive", name);
    return 0;
}

/* The first member at or after from whose name is >= key (the table is sorted by name). */
static size_t lower_bound(const ckpt_ar_table *t, size_t from, const char *key)
{
    size_t lo = from, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t->m[mid].name, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * The files directly in a folder: the members named "DIR/..." are one run of the sorted
 * table, and a subfolder's are a run within it, skipped whole by a search for the first name
 * past "DIR/SUB/" ("DIR/SUB0": '0' follows '/'), so a listing costs its entries and folders,
 * not the archive's members.
 */
static int ar_list(void *state, const char *dir, ckpt_listing *out, ckpt_err *err)
{
    archive *a = state;
    memset(out, 0, sizeof *out);
    const char *in = inner_of(a, dir);
    if (!in)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: not in the archive %s", dir, a->path);
    size_t dl = strlen(in), cap = 0;
    char key[CKPT_AR_NAME_MAX + 2];
    if (dl + 1 >= sizeof key) /* longer than any member's name */
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: no such folder in the archive", dir);
    snprintf(key, sizeof key, "%s%s", in, dl ? "/" : "");
    size_t kl = strlen(key);
    int found = dl == 0;
    for (size_t i = lower_bound(&a->t, 0, key); i < a->t.n;) {
        const ckpt_ar_member *m = &a->t.m[i];
        if (strncmp(m->name, key, kl))
            break;
        found = 1;
        const char *rest = m->name + kl, *sl = strchr(rest, '/');
        if (sl && kl + (size_t)(sl - rest) + 2 > sizeof key) { /* never: names are shorter */
            i++;
            continue;
        }
        if (sl) { /* a subfolder: past its run */
            memcpy(key + kl, rest, (size_t)(sl - rest));
            key[kl + (size_t)(sl - rest)] = '0';
            key[kl + (size_t)(sl - rest) + 1] = '\0';
            i = lower_bound(&a->t, i + 1, key);
            key[kl] = '\0';
            continue;
        }
        if (!m->dir) {
            ckpt_file_id id = a->base->id;
            id.size = m->usize;
            snprintf(id.tag, sizeof id.tag, "%zu#%.100s", i, a->base->id.tag);
            if (ckpt_listing_add(out, &cap, rest, &id)) {
                ckpt_listing_free(out);
                return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
            }
        }
        i++;
    }
    if (!found && !(in[0] && ckpt__ar_find(&a->t, in)))
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: no such folder in the archive", dir);
    ckpt_listing_sort(out);
    return 0;
}

/* --- its members, for the model's places (model/archive_places.c) ----------------------- */

size_t ckpt_archive_count(const ckpt_bytesrc *src)
{
    const archive *a = src->state;
    return a->t.n;
}

const char *ckpt_archive_member(const ckpt_bytesrc *src, size_t i, int *is_dir)
{
    const archive *a = src->state;
    *is_dir = a->t.m[i].dir;
    return a->t.m[i].name;
}

int ckpt_archive_has(const ckpt_bytesrc *src, const char *inner)
{
    const archive *a = src->state;
    return ckpt__ar_find(&a->t, inner) != NULL;
}

const char *ckpt_archive_name(const ckpt_bytesrc *src)
{
    const archive *a = src->state;
    return a->path;
}

/* --- opening ------------------------------------------------------------------------------ */

static const ckpt_bytesrc_ops archive_ops = {
    .open = ar_open,
    .stat = ar_stat,
    .list = ar_list,
    .release = ckpt_archive_release,
};

int ckpt_archive_is(const ckpt_bytesrc *src)
{
    return src && src->ops == &archive_ops;
}

/* The tar reader's view of a .tar.gz stream: the end of the stream is "nothing there". */
static int gz_read(void *ctx, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    archive *a = ctx;
    uint64_t size = ckpt_zseek_size(a->gz);
    if (size != CKPT_ZSEEK_UNKNOWN && off >= size)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: ends at %" PRIu64, a->path, size);
    int rc = ckpt_zseek_read(a->gz, buf, n, off, err);
    size = ckpt_zseek_size(a->gz);
    if (rc == CKPT_E_CORRUPT && size != CKPT_ZSEEK_UNKNOWN && off >= size)
        return CKPT_E_NOTFOUND;
    return rc;
}

static int file_read(void *ctx, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    return ckpt_file_pread(ctx, buf, n, off, err);
}

/* The kept index's identity of the archive: its name and version. */
static char *index_key(const archive *a)
{
    const ckpt_file_id *id = &a->base->id;
    size_t n = strlen(a->path) + sizeof id->tag + 128;
    char *k = malloc(n);
    if (k)
        snprintf(k, n, "%s\n%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 ".%ld\n%s", a->path,
                 id->size, id->dev, id->ino, id->mtime_sec, id->mtime_nsec, id->tag);
    return k;
}

static char *index_file(const char *dir, const char *key)
{
    size_t n = strlen(dir) + 64;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/tgz-%016" PRIx64 ".idx", dir, ckpt_hash64(key, strlen(key)));
    return p;
}

/* Load a kept index; 0 when a->gz and a->t now hold it. Any failure means "index again". */
static int load_index(archive *a, const char *dir, const char *key)
{
    char *path = index_file(dir, key);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    free(path);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= INDEX_FILE_MAX) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            ckpt_err e;
            rc = ckpt__tgz_index_decode(m, (size_t)st.st_size, key, a->gz, &a->t, &e);
            munmap(m, (size_t)st.st_size);
        }
    }
    close(fd);
    return rc;
}

/* Keep the index for the next process: written whole, then renamed into place. */
static void save_index(archive *a, const char *dir, const char *key)
{
    uint8_t *buf;
    size_t len;
    ckpt_err e;
    if (ckpt__tgz_index_encode(a->gz, &a->t, key, &buf, &len, &e))
        return;
    char *path = index_file(dir, key);
    size_t tn = path ? strlen(path) + 32 : 0;
    char *tmp = path ? malloc(tn) : NULL;
    if (tmp) {
        snprintf(tmp, tn, "%s.%ld.tmp", path, (long)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t w = 0;
        while (fd >= 0 && w < len) {
            ssize_t k = write(fd, buf + w, len - w);
            if (k <= 0)
                break;
            w += (size_t)k;
        }
        if (fd >= 0 && close(fd) == 0 && w == len)
            rename(tmp, path);
        else
            unlink(tmp);
    }
    free(tmp);
    free(path);
    free(buf);
}

/* The archive's size, for a remote one opened without a request: a range past any end is
 * answered 416 with the size, and no bytes. */
static int learn_size(archive *a, ckpt_err *err)
{
    if (a->base->size != UINT64_MAX)
        return 0;
    uint8_t b;
    ckpt_err e;
    ckpt_err_clear(&e);
    /* "Past its end" is the answer wanted; a 404 or 403 is the archive's own error. */
    int rc = a->base->ops->pread(a->base, &b, 1, 1ull << 50, &e);
    if (rc != CKPT_E_CORRUPT)
        return ckpt_err_set(err, rc ? rc : CKPT_E_IO, "%s", rc ? e.msg : "no end to it");
    ckpt_file *f;
    if ((rc = ckpt_file_open(a->remote, a->path, &f, err)))
        return rc;
    if (f->size == UINT64_MAX) { /* a server without ranges: its first block tells */
        rc = f->ops->pread(f, &b, 1, 0, &e);
        ckpt_file_close(f);
        if (rc && rc != CKPT_E_CORRUPT)
            return ckpt_err_set(err, rc, "%s", e.msg);
        if ((rc = ckpt_file_open(a->remote, a->path, &f, err)))
            return rc;
    }
    ckpt_file_close(a->base);
    a->base = f;
    if (f->size == UINT64_MAX)
        return ckpt_err_set(err, CKPT_E_IO, "%s: the server does not say its size", a->path);
    return 0;
}

static int load(archive *a, const ckpt_net_opts *opts, ckpt_err *err)
{
    int rc = ckpt__zip_read(a->base, &a->t, err);
    if (rc == 0) {
        a->kind = AR_ZIP;
        return 0;
    }
    if (rc != CKPT_E_NOTFOUND)
        return rc;
    ckpt__ar_free(&a->t);
    uint8_t h[512];
    size_t hn = a->base->size < sizeof h ? (size_t)a->base->size : sizeof h;
    if ((rc = ckpt_file_pread(a->base, h, hn, 0, err)))
        return rc;
    if (hn >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
        a->kind = AR_TGZ;
        if ((rc = ckpt_zseek_new(a->base, 0, a->base->size, CKPT_ZSEEK_GZIP, CKPT_ZSEEK_UNKNOWN, 0,
                                 0, CKPT_ZSEEK_SPAN_GZ, a->path, &a->inflated, &a->gz, err)))
            return rc;
        const char *dir = opts ? opts->cache_dir : NULL;
        char *key = dir ? index_key(a) : NULL;
        if (key && load_index(a, dir, key) == 0) {
            free(key);
            return 0;
        }
        if (key) { /* a half-loaded index is dropped whole */
            ckpt_zseek_free(a->gz);
            a->gz = NULL;
            ckpt__ar_free(&a->t);
            rc = ckpt_zseek_new(a->base, 0, a->base->size, CKPT_ZSEEK_GZIP, CKPT_ZSEEK_UNKNOWN, 0,
                                0, CKPT_ZSEEK_SPAN_GZ, a->path, &a->inflated, &a->gz, err);
        }
        if (!rc)
            rc = ckpt__tar_read(gz_read, a, CKPT_ZSEEK_UNKNOWN, a->path, &a->t, err);
        if (!rc && key) {
            ckpt__ar_sort(&a->t);
            save_index(a, dir, key);
        }
        free(key);
        return rc;
    }
    if (hn == 512 && ckpt__tar_is_header(h)) {
        a->kind = AR_TAR;
        return ckpt__tar_read(file_read, a->base, a->base->size, a->path, &a->t, err);
    }
    return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: not a zip, tar or gzip archive", a->path);
}

int ckpt_archive_open(const char *path, const ckpt_net_opts *opts, ckpt_bytesrc **out,
                      ckpt_err *err)
{
    *out = NULL;
    archive *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&a->mu, NULL);
    a->refs = 1;
    a->src.ops = &archive_ops;
    a->src.state = a;
    /* The archive file is read through the source its name calls for (scheme.h); one made
     * for it (a remote one) is the archive's, released with it. */
    ckpt_bytesrc *outer;
    char *name;
    int rc = ckpt_bytesrc_for(path, opts, &outer, &name, err);
    if (!rc) {
        if (outer->ops->release)
            a->remote = outer;
        rc = ckpt_file_open(outer, name, &a->base, err);
        if (!rc && a->remote)
            rc = learn_size(a, err);
        free(name);
    }
    if (!rc)
        rc = load(a, opts, err);
    if (!rc) {
        ckpt__ar_sort(&a->t);
        a->slots = calloc(a->t.n ? a->t.n : 1, sizeof *a->slots);
        if (!a->slots)
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        for (size_t i = 0; !rc && i < a->t.n; i++)
            pthread_mutex_init(&a->slots[i].mu, NULL);
    }
    if (rc) {
        ar_unref(a);
        return rc;
    }
    *out = &a->src;
    return 0;
}
