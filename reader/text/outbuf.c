/* outbuf.c - see outbuf.h. */
#include "outbuf.h"

#include <string.h>

void ckpt_outbuf_init(ckpt_outbuf *b, ckpt_write_fn write, void *ctx, ckpt_err *err)
{
    b->write = write;
    b->ctx = ctx;
    b->err = err;
    b->n = 0;
}

int ckpt_outbuf_flush(ckpt_outbuf *b)
{
    if (!b->n)
        return 0;
    int r = b->write(b->ctx, b->buf, b->n);
    b->n = 0;
    if (r < 0)
        ckpt_err_set(b->err, r, "writing the text failed: %s", ckpt_strerror(r));
    return r;
}

int ckpt_outbuf_put(ckpt_outbuf *b, const char *s, size_t n)
{
    while (n) {
        if (b->n == sizeof b->buf) {
            int r = ckpt_outbuf_flush(b);
            if (r)
                return r;
        }
        size_t k = sizeof b->buf - b->n;
        if (k > n)
            k = n;
        memcpy(b->buf + b->n, s, k);
        b->n += k;
        s += k;
        n -= k;
    }
    return 0;
}
