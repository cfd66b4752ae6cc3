/*
 * textbuf.h - where rendered text goes. Every renderer of this library writes through a
 * ckpt_write_fn sink, so its caller chooses the destination:
 *   - ckpt_strbuf: the whole text in memory (sidecars, variables.tsv, a string tensor's text,
 *     signatures.txt), reached through ckpt_strbuf_sink;
 *   - ckpt_outbuf: a fixed 64 KiB buffer in front of any sink, so that a printer appending
 *     many small pieces (pbtext.h, graphdot.h) hands the sink few, large writes.
 */
#ifndef CKPT_TEXTBUF_H
#define CKPT_TEXTBUF_H

#include "err.h"

#include <stddef.h>

/* The sink: consume n bytes at p; 0 to go on, < 0 (a CKPT_E_* code) to fail, > 0 to stop. */
typedef int (*ckpt_write_fn)(void *ctx, const char *p, size_t n);

/* --- a growable in-memory text ---------------------------------------------------------- */

/* Start as {0}. Appends never fail on the spot: an allocation failure sets `failed` and makes
 * later appends no-ops, so a renderer checks once at the end instead of after every piece. */
typedef struct ckpt_strbuf {
    char *data; /* NULL until something is appended; not NUL-terminated */
    size_t len, cap;
    int failed; /* an allocation failed: the content is incomplete */
} ckpt_strbuf;

/* Append n more bytes and return where they go (the caller fills them), or NULL when out of
 * memory (b->failed set). */
char *ckpt_strbuf_extend(ckpt_strbuf *b, size_t n);

/* Append n bytes at p (p may be NULL when n is 0). */
void ckpt_strbuf_put(ckpt_strbuf *b, const void *p, size_t n);

/* Append the NUL-terminated s. */
void ckpt_strbuf_puts(ckpt_strbuf *b, const char *s);

/* Release the memory and reset b to empty. */
void ckpt_strbuf_free(ckpt_strbuf *b);

/* A ckpt_write_fn appending to the ckpt_strbuf ctx; CKPT_E_NOMEM once an append failed. */
int ckpt_strbuf_sink(void *ctx, const char *p, size_t n);

/* --- a buffer in front of a sink -------------------------------------------------------- */

enum { CKPT_OUTBUF_SIZE = 1 << 16 };

typedef struct ckpt_outbuf {
    ckpt_write_fn write;
    void *ctx;
    ckpt_err *err;
    size_t n;
    char buf[CKPT_OUTBUF_SIZE];
} ckpt_outbuf;

/* Start an empty buffer in front of write(ctx, ...); failures are described in err. */
void ckpt_outbuf_init(ckpt_outbuf *b, ckpt_write_fn write, void *ctx, ckpt_err *err);

/* Hand what is buffered to the sink; returns the sink's answer. */
int ckpt_outbuf_flush(ckpt_outbuf *b);

/* Append n bytes, flushing as the buffer fills; returns 0 or the sink's non-zero answer. */
int ckpt_outbuf_put(ckpt_outbuf *b, const char *s, size_t n);

/* Make room for at least want (<= CKPT_OUTBUF_SIZE) contiguous bytes at b->buf + b->n;
 * returns 0 or the sink's non-zero answer. */
static inline int ckpt_outbuf_reserve(ckpt_outbuf *b, size_t want)
{
    return sizeof b->buf - b->n < want ? ckpt_outbuf_flush(b) : 0;
}

#endif
