/*
 * archive_zip.c - a zip's central directory, read from the file's end (docs/archives.md).
 *
 * The end-of-central-directory record sits in the last 22 + 65,535 bytes (its comment may
 * be that long); for zip64 a locator just before it points at a zip64 record with 64-bit
 * counts and offsets. The directory then gives every member's method, sizes, CRC-32 and the
 * offset of its local header, which is read only when the member is opened (its name and
 * extra field lengths may differ from the directory's). Every number is checked against the
 * file before it is used: a directory that lies fails here, naming the archive.
 */
#include "archive_internal.h"

#include <stdlib.h>
#include <string.h>

#define EOCD_SIG 0x06054b50u
#define EOCD_LEN 22u
#define LOC64_SIG 0x07064b50u
#define LOC64_LEN 20u
#define EOCD64_SIG 0x06064b50u
#define EOCD64_LEN 56u
#define CEN_SIG 0x02014b50u
#define CEN_LEN 46u
#define LOC_SIG 0x04034b50u
#define LOC_LEN 30u
#define COMMENT_MAX 65535u
/* The directory is read whole: bound it (1M members of 200-byte names fit). */
#define CD_MAX (256u << 20)

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Where the end record is in tail (the last tn bytes of a file of size fsize): the last
 * signature whose comment ends exactly at the file's end. -1 when none. */
static long find_eocd(const uint8_t *tail, size_t tn)
{
    if (tn < EOCD_LEN)
        return -1;
    for (size_t i = tn - EOCD_LEN + 1; i-- > 0;)
        if (le32(tail + i) == EOCD_SIG && i + EOCD_LEN + le16(tail + i + 20) == tn)
            return (long)i;
    return -1;
}

/* The zip64 fields of a directory entry's extra data (id 1), in their fixed order, for each
 * 32-bit field that holds its escape value. */
static int zip64_extra(const uint8_t *x, size_t xn, uint64_t *usize, uint64_t *csize, uint64_t *off,
                       int need_u, int need_c, int need_o)
{
    while (xn >= 4) {
        uint16_t id = le16(x), len = le16(x + 2);
        if ((size_t)len > xn - 4)
            return -1;
        if (id == 1) {
            const uint8_t *p = x + 4;
            size_t left = len;
            if (need_u) {
                if (left < 8)
                    return -1;
                *usize = le64(p), p += 8, left -= 8;
            }
            if (need_c) {
                if (left < 8)
                    return -1;
                *csize = le64(p), p += 8, left -= 8;
            }
            if (need_o) {
                if (left < 8)
                    return -1;
                *off = le64(p);
            }
            return 0;
        }
        x += 4 + len;
        xn -= 4 + (size_t)len;
    }
    return need_u || need_c || need_o ? -1 : 0;
}

/* Parse the directory cd (len bytes, n entries) of a file whose members end by cd_off. */
static int parse_dir(const uint8_t *cd, size_t len, uint64_t n, uint64_t cd_off, const char *name,
                     ckpt_ar_table *t, ckpt_err *err)
{
    size_t p = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (len - p < CEN_LEN || le32(cd + p) != CEN_SIG)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: zip directory entry %llu is damaged (no header at "
                                "directory offset %zu)",
                                name, (unsigned long long)i, p);
        const uint8_t *e = cd + p;
        size_t nl = le16(e + 28), xl = le16(e + 30), cl = le16(e + 32);
        if (len - p - CEN_LEN < nl + xl + cl)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: zip directory entry %llu runs past the directory", name,
                                (unsigned long long)i);
        ckpt_ar_member m = {0};
        uint16_t flags = le16(e + 8);
        m.method_id = le16(e + 10);
        m.method = m.method_id == 0   ? CKPT_AR_STORED
                   : m.method_id == 8 ? CKPT_AR_DEFLATED
                                      : CKPT_AR_OTHER;
        m.encrypted = flags & 1;
        m.crc = le32(e + 16);
        m.csize = le32(e + 20);
        m.usize = le32(e + 24);
        m.off = le32(e + 42);
        int nu = m.usize == 0xffffffffu, nc = m.csize == 0xffffffffu, no = m.off == 0xffffffffu;
        if (zip64_extra(e + CEN_LEN + nl, xl, &m.usize, &m.csize, &m.off, nu, nc, no))
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: zip directory entry %llu lacks the zip64 sizes it "
                                "announces",
                                name, (unsigned long long)i);
        const char *nm = (const char *)e + CEN_LEN;
        m.dir = nl && nm[nl - 1] == '/';
        /* The member's local header and data lie before the directory. */
        if (m.off >= cd_off || m.csize > cd_off - m.off)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: zip member %.*s: its directory entry places %llu bytes at "
                                "offset %llu, past the start of the directory (%llu)",
                                name, (int)(nl > 200 ? 200 : nl), nm, (unsigned long long)m.csize,
                                (unsigned long long)m.off, (unsigned long long)cd_off);
        if (m.method == CKPT_AR_STORED && m.csize != m.usize)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: zip member %.*s is stored but its sizes differ (%llu "
                                "in the archive, %llu unpacked)",
                                name, (int)(nl > 200 ? 200 : nl), nm, (unsigned long long)m.csize,
                                (unsigned long long)m.usize);
        if (nl > CKPT_AR_NAME_MAX)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: a zip member's name is %zu bytes long",
                                name, nl);
        int rc = ckpt__ar_add(t, nm, nl, &m, err);
        if (rc)
            return rc;
        p += CEN_LEN + nl + xl + cl;
    }
    return 0;
}

int ckpt__zip_read(ckpt_file *f, ckpt_ar_table *t, ckpt_err *err)
{
    uint64_t size = f->size;
    size_t tn = size < EOCD_LEN + COMMENT_MAX + LOC64_LEN ? (size_t)size
                                                          : EOCD_LEN + COMMENT_MAX + LOC64_LEN;
    uint8_t *tail = malloc(tn ? tn : 1);
    if (!tail)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    int rc = ckpt_file_pread(f, tail, tn, size - tn, err);
    long at = rc ? -1 : find_eocd(tail, tn);
    if (rc || at < 0) {
        free(tail);
        return rc ? rc : ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: not a zip archive", f->name);
    }
    const uint8_t *r = tail + at;
    uint64_t eocd = size - tn + (uint64_t)at;
    uint64_t n = le16(r + 10), cd_size = le32(r + 12), cd_off = le32(r + 16);
    uint64_t end = eocd; /* where the directory must end */
    if (le16(r + 4) != 0 || le16(r + 6) != 0) {
        free(tail);
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED, "%s: a multi-volume zip is not supported",
                            f->name);
    }
    if (n == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        /* zip64: the locator right before the record gives the zip64 record's offset. */
        uint8_t rec[EOCD64_LEN];
        if ((uint64_t)at < LOC64_LEN || le32(r - LOC64_LEN) != LOC64_SIG) {
            free(tail);
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: zip64 counts announced but no zip64 locator", f->name);
        }
        uint64_t r64 = le64(r - LOC64_LEN + 8);
        end = eocd - LOC64_LEN;
        free(tail);
        tail = NULL;
        if (r64 > end || end - r64 < EOCD64_LEN)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: the zip64 locator points outside the file", f->name);
        if ((rc = ckpt_file_pread(f, rec, EOCD64_LEN, r64, err)))
            return rc;
        if (le32(rec) != EOCD64_SIG)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: no zip64 end record where its "
                                "locator points (offset %llu)",
                                f->name, (unsigned long long)r64);
        n = le64(rec + 32);
        cd_size = le64(rec + 40);
        cd_off = le64(rec + 48);
        end = r64;
    }
    free(tail);
    if (cd_off > end || cd_size != end - cd_off)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: the zip directory (%llu bytes at offset %llu) does not end "
                            "where its end record is (offset %llu): truncated or not one zip",
                            f->name, (unsigned long long)cd_size, (unsigned long long)cd_off,
                            (unsigned long long)end);
    if (cd_size > CD_MAX || n > cd_size / CEN_LEN || n > CKPT_AR_MEMBERS_MAX)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: the zip directory claims %llu members in %llu bytes", f->name,
                            (unsigned long long)n, (unsigned long long)cd_size);
    uint8_t *cd = malloc(cd_size ? (size_t)cd_size : 1);
    if (!cd)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    rc = ckpt_file_pread(f, cd, (size_t)cd_size, cd_off, err);
    if (!rc)
        rc = parse_dir(cd, (size_t)cd_size, n, cd_off, f->name, t, err);
    free(cd);
    return rc;
}

int ckpt__zip_data_offset(ckpt_file *f, const ckpt_ar_member *m, uint64_t *off, ckpt_err *err)
{
    uint8_t h[LOC_LEN];
    int rc = ckpt_file_pread(f, h, LOC_LEN, m->off, err);
    if (rc)
        return rc;
    if (le32(h) != LOC_SIG)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: zip member %s: no local header at offset %llu (the directory "
                            "lies, or the archive is damaged)",
                            f->name, m->name, (unsigned long long)m->off);
    uint64_t d = m->off + LOC_LEN + le16(h + 26) + le16(h + 28);
    if (d > f->size || m->csize > f->size - d)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: zip member %s: %llu bytes at offset %llu lie beyond the "
                            "archive's end (%llu bytes)",
                            f->name, m->name, (unsigned long long)m->csize, (unsigned long long)d,
                            (unsigned long long)f->size);
    *off = d;
    return 0;
}
