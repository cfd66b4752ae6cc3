/*
 * outbuf.h - a buffered text sink: renderers append small pieces, the caller's sink sees 64 KiB
 * writes. Shared by the protobuf text printer and the DOT renderer.
 */
#ifndef CKPT_OUTBUF_H
#define CKPT_OUTBUF_H

#include "err.h"

#include <stddef.h>

/* The sink: consume n bytes at p; 0 to go on, < 0 (a CKPT_E_* code) to fail, > 0 to stop. */
typedef int (*ckpt_write_fn)(void *ctx, const char *p, size_t n);

typedef struct ckpt_outbuf {
    ckpt_write_fn write;
    void *ctx;
    ckpt_err *err;
    size_t n;
    char buf[1 << 16];
} ckpt_outbuf;

/* Start an empty buffer in front of write(ctx, ...); failures are described in err. */
void ckpt_outbuf_init(ckpt_outbuf *b, ckpt_write_fn write, void *ctx, ckpt_err *err);

/* Hand what is buffered to the sink; returns the sink's answer. */
int ckpt_outbuf_flush(ckpt_outbuf *b);

/* Append n bytes, flushing as the buffer fills; returns 0 or the sink's non-zero answer. */
int ckpt_outbuf_put(ckpt_outbuf *b, const char *s, size_t n);

/* Make room for at least want (<= 64 KiB) contiguous bytes at b->buf + b->n. */
static inline int ckpt_outbuf_reserve(ckpt_outbuf *b, size_t want)
{
    return sizeof b->buf - b->n < want ? ckpt_outbuf_flush(b) : 0;
}

#endif
