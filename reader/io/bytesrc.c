/*
 * bytesrc.c - see bytesrc.h: the checks every source shares, so an implementation only moves
 * bytes.
 */
#include "bytesrc.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ckpt_file_open(const ckpt_bytesrc *src, const char *name, ckpt_file **out, ckpt_err *err)
{
    *out = NULL;
    return src->ops->open(src->state, name, out, err);
}

int ckpt_bytesrc_stat(const ckpt_bytesrc *src, const char *name, ckpt_err *err)
{
    if (src->ops->stat)
        return src->ops->stat(src->state, name, err);
    struct stat st;
    if (stat(name, &st) != 0)
        return ckpt_err_set(err, errno == ENOENT ? CKPT_E_NOTFOUND : CKPT_E_IO, "%s: %s", name,
                            strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: not a regular file", name);
    /* A file that is there but that this user may not read is not "absent": saying so lets
     * the caller name the file and the refusal instead of looking for another format. The
     * effective ids are the ones open(2) will be checked with. */
    if (faccessat(AT_FDCWD, name, R_OK, AT_EACCESS) != 0)
        return ckpt_err_set(err, CKPT_E_IO, "%s: %s", name, strerror(errno));
    return 0;
}

unsigned ckpt_bytesrc_caps(const ckpt_bytesrc *src, const char *name)
{
    if (src->ops->caps)
        return src->ops->caps(src->state, name);
    return src->ops->list ? CKPT_CAN_LIST : 0;
}

void ckpt_bytesrc_release(ckpt_bytesrc *src)
{
    if (src && src->ops->release)
        src->ops->release(src);
}

int ckpt_bytesrc_list(const ckpt_bytesrc *src, const char *dir, ckpt_listing *out, ckpt_err *err)
{
    memset(out, 0, sizeof *out);
    if (!src->ops->list)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED, "%s: this source cannot be listed", dir);
    return src->ops->list(src->state, dir, out, err);
}

static int dirent_cmp(const void *a, const void *b)
{
    return strcmp(((const ckpt_dirent *)a)->name, ((const ckpt_dirent *)b)->name);
}

const ckpt_dirent *ckpt_listing_find(const ckpt_listing *l, const char *name)
{
    if (!l->n)
        return NULL;
    ckpt_dirent key = {(char *)name, {0}};
    return bsearch(&key, l->e, l->n, sizeof *l->e, dirent_cmp);
}

int ckpt_listing_add(ckpt_listing *l, size_t *cap, const char *name, const ckpt_file_id *id)
{
    char *nm = strdup(name);
    if (!nm || ckpt_grow((void **)&l->e, cap, l->n + 1, sizeof *l->e)) {
        free(nm);
        return -1;
    }
    l->e[l->n++] = (ckpt_dirent){nm, *id};
    return 0;
}

void ckpt_listing_sort(ckpt_listing *l)
{
    if (l->n)
        qsort(l->e, l->n, sizeof *l->e, dirent_cmp);
}

void ckpt_listing_free(ckpt_listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->e[i].name);
    free(l->e);
    memset(l, 0, sizeof *l);
}

int ckpt_file_pread(ckpt_file *f, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    if (n == 0)
        return 0;
    /* Checked here once, so that no source has to trust the offsets the format hands it. */
    if (off > f->size || n > f->size - off)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: %zu bytes at offset %llu lie beyond its end (%llu bytes)", f->name,
                            n, (unsigned long long)off, (unsigned long long)f->size);
    return f->ops->pread(f, buf, n, off, err);
}

int ckpt_file_borrow(ckpt_file *f, uint64_t off, size_t n, struct iovec *iov, int maxiov, int *niov,
                     ckpt_err *err)
{
    *niov = 0;
    if (!f->ops->borrow)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED, "%s: cannot lend its bytes", f->name);
    if (off > f->size || n > f->size - off)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: %zu bytes at offset %llu lie beyond its end (%llu bytes)", f->name,
                            n, (unsigned long long)off, (unsigned long long)f->size);
    return n ? f->ops->borrow(f, off, n, iov, maxiov, niov, err) : 0;
}

void ckpt_file_release(ckpt_file *f, uint64_t off, size_t n)
{
    if (n && f->ops->release)
        f->ops->release(f, off, n);
}

void ckpt_file_advise(ckpt_file *f, uint64_t off, uint64_t len)
{
    if (f->ops->advise && off < f->size)
        f->ops->advise(f, off, len < f->size - off ? len : f->size - off);
}

int ckpt_file_read_all(ckpt_file *f, ckpt_bytes *out, ckpt_err *err)
{
    memset(out, 0, sizeof *out);
    return f->ops->read_all(f, out, err);
}

void ckpt_bytes_release(ckpt_bytes *b)
{
    if (b->release)
        b->release(b);
    memset(b, 0, sizeof *b);
}

void ckpt_file_close(ckpt_file *f)
{
    if (f)
        f->ops->close(f);
}

int ckpt_file_id_equal(const ckpt_file_id *a, const ckpt_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
           strcmp(a->tag, b->tag) == 0;
}
