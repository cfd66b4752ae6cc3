/*
 * archive_internal.h - what the archive source (archive.c) and its format parsers
 * (archive_zip.c, archive_tar.c, archive_gz.c) share. Not an API: archive.h is.
 */
#ifndef CKPT_ARCHIVE_INTERNAL_H
#define CKPT_ARCHIVE_INTERNAL_H

#include "bytesrc.h"
#include "err.h"
#include "zseek.h"

#include <stdint.h>

/* Bounds on what an archive may make us hold: members, a name, a pax or long-name record. */
#define CKPT_AR_MEMBERS_MAX 1000000u
#define CKPT_AR_NAME_MAX 4096u
#define CKPT_AR_EXT_MAX (1u << 20)

typedef enum ckpt_ar_method {
    CKPT_AR_STORED,   /* bytes as they are: a tar member, a zip member of method 0 */
    CKPT_AR_DEFLATED, /* a zip member of method 8 */
    CKPT_AR_OTHER,    /* a zip method we do not decode (refused when opened) */
} ckpt_ar_method;

typedef struct ckpt_ar_member {
    char *name; /* normalised: no leading "/" or "./", no trailing "/" */
    int dir;    /* a directory entry */
    ckpt_ar_method method;
    int encrypted;  /* zip: refused when opened */
    uint64_t off;   /* zip: its local header's offset; tar: its data's offset */
    uint64_t csize; /* bytes in the archive (zip) */
    uint64_t usize; /* bytes of the member */
    uint32_t crc;   /* zip: CRC-32 of the member */
    uint16_t method_id;
} ckpt_ar_member;

typedef struct ckpt_ar_table {
    ckpt_ar_member *m;
    size_t n, cap;
} ckpt_ar_table;

/* A copy of the n bytes of name, normalised, added to t. 0, or an error (too many members,
 * out of memory). Empty names (the root) are skipped. */
int ckpt__ar_add(ckpt_ar_table *t, const char *name, size_t n, const ckpt_ar_member *m,
                 ckpt_err *err);

/* Sort t by name; a name twice keeps the last (tar's rule for an appended member). */
void ckpt__ar_sort(ckpt_ar_table *t);

/* The member named name (normalised), or NULL. */
const ckpt_ar_member *ckpt__ar_find(const ckpt_ar_table *t, const char *name);

void ckpt__ar_free(ckpt_ar_table *t);

/* Reads of an archive's bytes: a plain file (tar, zip) or a decompressed stream (tar.gz). */
typedef int (*ckpt_ar_read_fn)(void *ctx, void *buf, size_t n, uint64_t off, ckpt_err *err);

/*
 * Zip: whether the last bytes of f hold an end-of-central-directory record (the zip magic);
 * if so, the directory into t. What the directory says is checked against the file: entries
 * inside it, members' bytes before it. CKPT_E_NOTFOUND when f is no zip.
 */
int ckpt__zip_read(ckpt_file *f, ckpt_ar_table *t, ckpt_err *err);

/* Zip: the offset of m's data, from its local header (read now); checks it lies in f. */
int ckpt__zip_data_offset(ckpt_file *f, const ckpt_ar_member *m, uint64_t *off, ckpt_err *err);

/* Whether the 512 bytes at h are a tar header (its checksum adds up). */
int ckpt__tar_is_header(const uint8_t *h);

/*
 * Tar: the members of the stream read by rd (size bytes; CKPT_ZSEEK_UNKNOWN for a stream
 * whose size is learnt at its end: rd then answers CKPT_E_NOTFOUND for a read that starts at
 * or past that end), each a plain byte range of it. name is for messages.
 */
int ckpt__tar_read(ckpt_ar_read_fn rd, void *ctx, uint64_t size, const char *name, ckpt_ar_table *t,
                   ckpt_err *err);

/*
 * .tar.gz index kept in cache_dir=: the seek points of z and the members of t, for the
 * archive whose identity is key (name, size, mtime or ETag). ckpt__tgz_index_encode gives the
 * bytes (malloc'd); ckpt__tgz_index_decode checks and loads them into an empty z and t:
 * CKPT_E_NOTFOUND when they are for another key, CKPT_E_CORRUPT when damaged.
 */
int ckpt__tgz_index_encode(ckpt_zseek *z, const ckpt_ar_table *t, const char *key, uint8_t **out,
                           size_t *len, ckpt_err *err);
int ckpt__tgz_index_decode(const uint8_t *buf, size_t len, const char *key, ckpt_zseek *z,
                           ckpt_ar_table *t, ckpt_err *err);

#endif
