/* graphdot.c - see graphdot.h. */
#include "graphdot.h"
#include "pbmsg.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* GraphDef.node = 1; NodeDef.name = 1, op = 2, input = 3 (field numbers of graph.proto and
 * node_def.proto). */
enum { GRAPH_NODE = 1, NODE_NAME = 1, NODE_OP = 2, NODE_INPUT = 3 };

typedef ckpt_outbuf dotw;

static int put(dotw *w, const char *s, size_t n)
{
    return ckpt_outbuf_put(w, s, n);
}

size_t ckpt_graphdot_escape(const uint8_t *s, size_t len, char *dst)
{
    size_t o = 0, i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t u;
        if (c == '"' || c == '\\') {
            if (dst) {
                dst[o] = '\\';
                dst[o + 1] = (char)c;
            }
            o += 2;
            i++;
        } else if (c >= 0x20 && c < 0x7f) {
            if (dst)
                dst[o] = (char)c;
            o++;
            i++;
        } else if (c >= 0x80 && (u = ckpt_utf8_seq(s + i, len - i)) != 0) {
            if (dst)
                memcpy(dst + o, s + i, u);
            o += u;
            i += u;
        } else {
            /* A doubled backslash keeps DOT from reading an escape; labels show "\ooo". */
            if (dst) {
                dst[o] = '\\';
                dst[o + 1] = '\\';
                dst[o + 2] = (char)('0' + (c >> 6));
                dst[o + 3] = (char)('0' + ((c >> 3) & 7));
                dst[o + 4] = (char)('0' + (c & 7));
            }
            o += 5;
            i++;
        }
    }
    return o;
}

static int put_quoted(dotw *w, const uint8_t *s, size_t n)
{
    int r = put(w, "\"", 1);
    size_t i = 0;
    char tmp[5 * 64];
    while (!r && i < n) {
        size_t k = n - i > 64 ? 64 : n - i;
        /* Never split a UTF-8 sequence across chunks. */
        while (k < n - i && k > 1 && (s[i + k] & 0xc0) == 0x80)
            k--;
        r = put(w, tmp, ckpt_graphdot_escape(s + i, k, tmp));
        i += k;
    }
    if (!r)
        r = put(w, "\"", 1);
    return r;
}

/* One NodeDef: its declaration, then its input edges. */
static int node(dotw *w, const uint8_t *p, size_t n)
{
    ckpt_pb_msg it;
    ckpt_pb_field f;
    const uint8_t *name = (const uint8_t *)"", *op = (const uint8_t *)"";
    size_t name_n = 0, op_n = 0;
    int r;
    ckpt_pb_msg_init(&it, p, n, w->err);
    while ((r = ckpt_pb_msg_next(&it, &f)) > 0) {
        if (f.wt != 2)
            continue;
        if (f.field == NODE_NAME)
            name = f.p, name_n = f.n;
        else if (f.field == NODE_OP)
            op = f.p, op_n = f.n;
    }
    if (r < 0)
        return r;
    if ((r = put(w, "  ", 2)) || (r = put_quoted(w, name, name_n)) || (r = put(w, " [label=", 8)) ||
        (r = put(w, "\"", 1)))
        return r;
    /* The label is "name\nop": reuse put_quoted's escaping without its quotes. */
    char tmp[5 * 64];
    for (int part = 0; part < 2; part++) {
        const uint8_t *s = part ? op : name;
        size_t len = part ? op_n : name_n, i = 0;
        if (part && (r = put(w, "\\n", 2)))
            return r;
        while (i < len) {
            size_t k = len - i > 64 ? 64 : len - i;
            while (k < len - i && k > 1 && (s[i + k] & 0xc0) == 0x80)
                k--;
            if ((r = put(w, tmp, ckpt_graphdot_escape(s + i, k, tmp))))
                return r;
            i += k;
        }
    }
    if ((r = put(w, "\"];\n", 4)))
        return r;

    ckpt_pb_msg_init(&it, p, n, w->err);
    while ((r = ckpt_pb_msg_next(&it, &f)) > 0) {
        if (f.field != NODE_INPUT || f.wt != 2 || f.n == 0)
            continue;
        const uint8_t *src = f.p;
        size_t src_n = f.n;
        int control = src[0] == '^';
        if (control) {
            src++;
            src_n--;
        }
        /* "name:k" is output k of node "name". */
        size_t j = src_n;
        while (j > 0 && src[j - 1] >= '0' && src[j - 1] <= '9')
            j--;
        if (j > 1 && j < src_n && src[j - 1] == ':')
            src_n = j - 1;
        int e;
        if ((e = put(w, "  ", 2)) || (e = put_quoted(w, src, src_n)) || (e = put(w, " -> ", 4)) ||
            (e = put_quoted(w, name, name_n)) ||
            (e = put(w, control ? " [style=dashed];\n" : ";\n", control ? 17 : 2)))
            return e;
    }
    return r < 0 ? r : 0;
}

int ckpt_graphdot_render(const ckpt_pb_seg *segs, size_t nseg, ckpt_write_fn write, void *ctx,
                         ckpt_err *err)
{
    dotw *w = malloc(sizeof *w);
    if (!w)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    ckpt_outbuf_init(w, write, ctx, err);
    ckpt_pb_iter it;
    ckpt_pb_field f;
    int r = put(w, "digraph G {\n  node [shape=box];\n", 32);
    ckpt_pb_iter_init(&it, segs, nseg, err);
    while (!r && (r = ckpt_pb_iter_next(&it, &f)) > 0) {
        r = 0;
        if (f.field == GRAPH_NODE && f.wt == 2)
            r = node(w, f.p, f.n);
    }
    if (!r)
        r = put(w, "}\n", 2);
    if (!r)
        r = ckpt_outbuf_flush(w);
    free(w);
    return r;
}
