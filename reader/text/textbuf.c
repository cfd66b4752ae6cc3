/* textbuf.c - see textbuf.h. */
#include "textbuf.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *ckpt_strbuf_extend(ckpt_strbuf *b, size_t n)
{
    if (b->failed)
        return NULL;
    /* At least one byte, so that even an empty append returns a real pointer. */
    size_t need = b->len + (n ? n : 1);
    if (n >= SIZE_MAX - b->len || ckpt_grow((void **)&b->data, &b->cap, need, 1)) {
        b->failed = 1;
        return NULL;
    }
    char *at = b->data + b->len;
    b->len += n;
    return at;
}

void ckpt_strbuf_put(ckpt_strbuf *b, const void *p, size_t n)
{
    if (!n) /* an empty append may come with p == NULL and nothing allocated */
        return;
    char *at = ckpt_strbuf_extend(b, n);
    if (at)
        memcpy(at, p, n);
}

void ckpt_strbuf_puts(ckpt_strbuf *b, const char *s)
{
    ckpt_strbuf_put(b, s, strlen(s));
}

void ckpt_strbuf_free(ckpt_strbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int ckpt_strbuf_sink(void *ctx, const char *p, size_t n)
{
    ckpt_strbuf *b = ctx;
    ckpt_strbuf_put(b, p, n);
    return b->failed ? CKPT_E_NOMEM : 0;
}

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
