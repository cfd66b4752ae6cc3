/*
 * zseek.h - random reads of a deflate stream (a zip member, a whole .gz) without starting over.
 *
 * A deflate stream can only be decoded from its start. As a reader goes forward, the decoder
 * keeps a seek point every `span` bytes of output at a deflate block boundary: where the input
 * stands (byte and bit) and the 32 KiB of output before it, which is all the next block can
 * refer back to. A later read restarts at the nearest point before it (zlib's inflatePrime and
 * inflateSetDictionary), or carries on from where the last read stopped, so reading near the
 * end after a forward pass inflates at most one span. The points can be saved and loaded (the
 * index of a .tar.gz kept in cache_dir=, archive_gz.c), so a later process needs no pass.
 */
#ifndef CKPT_ZSEEK_H
#define CKPT_ZSEEK_H

#include "bytesrc.h"
#include "err.h"

#include <stdint.h>

/* What a deflate window holds: the most any block can refer back. */
#define CKPT_ZSEEK_WINDOW 32768u
/* The output between seek points by default: a point costs 32 KiB, a restart one span. A
 * zip member in use keeps its points in memory; a .tar.gz's go to its kept index too. */
#define CKPT_ZSEEK_SPAN (4u << 20)
#define CKPT_ZSEEK_SPAN_GZ (2u << 20)
/* The size of a stream not known until it is read to its end (a .gz). */
#define CKPT_ZSEEK_UNKNOWN UINT64_MAX

typedef enum ckpt_zseek_kind {
    CKPT_ZSEEK_RAW,  /* raw deflate: a zip member */
    CKPT_ZSEEK_GZIP, /* gzip members, one after another */
} ckpt_zseek_kind;

/* A place to restart decoding at. */
typedef struct ckpt_zpoint {
    uint64_t out;    /* output offset */
    uint64_t in;     /* input offset (from the stream's start) of the first whole byte */
    uint8_t bits;    /* 1..7: that many bits of the byte before `in` come first; 0: none */
    uint8_t *window; /* the CKPT_ZSEEK_WINDOW bytes of output before `out` */
} ckpt_zpoint;

typedef struct ckpt_zseek ckpt_zseek;

/*
 * A stream of kind over the clen bytes of base at coff (borrowed: base must outlive it).
 * usize is the output size when known (a zip member's), else CKPT_ZSEEK_UNKNOWN; crc, when
 * has_crc, is the CRC-32 of the whole output, checked whenever a read reaches the end from
 * the start. *inflated (may be NULL) counts every byte decoded, for tests and statistics.
 * name is for messages.
 */
int ckpt_zseek_new(ckpt_file *base, uint64_t coff, uint64_t clen, ckpt_zseek_kind kind,
                   uint64_t usize, int has_crc, uint32_t crc, uint64_t span, const char *name,
                   uint64_t *inflated, ckpt_zseek **out, ckpt_err *err);

/* Exactly n bytes of output at off into buf. CKPT_E_CORRUPT when the stream ends first or
 * its data are damaged; the message names the stream. Thread-safe (reads are serialised). */
int ckpt_zseek_read(ckpt_zseek *z, void *buf, size_t n, uint64_t off, ckpt_err *err);

/* The output size once known (a zip member's, or a stream read to its end), else
 * CKPT_ZSEEK_UNKNOWN. */
uint64_t ckpt_zseek_size(ckpt_zseek *z);

/* The seek points so far (borrowed; valid until the next read) and their number. */
const ckpt_zpoint *ckpt_zseek_points(ckpt_zseek *z, size_t *n);

/* Add a point loaded from a kept index (window copied). Points must come in increasing
 * output order; CKPT_E_CORRUPT otherwise, or when it lies outside the stream. */
int ckpt_zseek_add_point(ckpt_zseek *z, const ckpt_zpoint *p, ckpt_err *err);

/* Free z. NULL is fine. */
void ckpt_zseek_free(ckpt_zseek *z);

#endif
