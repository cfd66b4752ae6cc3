/* pbtext.c - see pbtext.h. */
#include "pbtext.h"
#include "pbmsg.h"
#include "util.h"
#include "coding.h"
#include "utf8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- escaping */

/* Escape the text starting at s: writes at most 4 bytes to out, sets *used to the input bytes
 * consumed, returns the bytes written. */
static size_t esc_step(const uint8_t *s, size_t n, int utf8, size_t *used, char *out)
{
    uint8_t c = s[0];
    *used = 1;
    /* the C escapes text_format writes, each byte beside the letter that follows '\\' */
    static const char named[] = "\nn\rr\tt\"\"''\\\\";
    for (size_t k = 0; k + 1 < sizeof named; k += 2) {
        if (c == (uint8_t)named[k]) {
            out[0] = '\\';
            out[1] = named[k + 1];
            return 2;
        }
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    if (utf8 && c >= 0x80) {
        size_t l = ckpt_utf8_seq(s, n);
        if (l) {
            memcpy(out, s, l);
            *used = l;
            return l;
        }
    }
    out[0] = '\\';
    out[1] = (char)('0' + (c >> 6));
    out[2] = (char)('0' + ((c >> 3) & 7));
    out[3] = (char)('0' + (c & 7));
    return 4;
}

static size_t escape_all(const uint8_t *s, size_t len, int utf8, char *dst)
{
    size_t total = 0, i = 0;
    char tmp[4];
    while (i < len) {
        size_t used;
        size_t k = esc_step(s + i, len - i, utf8, &used, dst ? dst + total : tmp);
        total += k;
        i += used;
    }
    return total;
}

size_t ckpt_pbtext_escape_bytes(const uint8_t *s, size_t len, char *dst)
{
    return escape_all(s, len, 0, dst);
}

size_t ckpt_pbtext_escape_string(const uint8_t *s, size_t len, char *dst)
{
    return escape_all(s, len, 1, dst);
}

/* ---------------------------------------------------------------- sinks */

int ckpt_pbtext_count_sink(void *ctx, const char *p, size_t n)
{
    (void)p;
    *(uint64_t *)ctx += n;
    return 0;
}

int ckpt_pbtext_fd_sink(void *ctx, const char *p, size_t n)
{
    int fd = *(int *)ctx;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return CKPT_E_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int ckpt_pbtext_range_sink(void *ctx, const char *p, size_t n)
{
    ckpt_pbtext_range *r = ctx;
    uint64_t start = r->pos, end = r->pos + n;
    r->pos = end;
    uint64_t want = r->off + r->got;
    if (r->got < r->len && end > want && start <= want) {
        size_t from = (size_t)(want - start);
        size_t k = n - from;
        if (k > r->len - r->got)
            k = r->len - r->got;
        memcpy(r->buf + r->got, p + from, k);
        r->got += k;
    }
    return r->got == r->len ? 1 : 0;
}

/* ---------------------------------------------------------------- field typing */

static int natural_wt(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 1;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT: return 5;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE: return 2;
    default: return 0;
    }
}

/* Whether an occurrence with wire type wt is this field (else protobuf keeps it as unknown). */
static int wt_ok(const ProtobufCFieldDescriptor *f, int wt)
{
    int nat = natural_wt(f->type);
    if (wt == nat)
        return 1;
    return wt == 2 && nat != 2 && f->label == PROTOBUF_C_LABEL_REPEATED;
}

static int is_map(const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_REPEATED)
        return 0;
    const ProtobufCMessageDescriptor *m = f->descriptor;
    size_t nl = strlen(m->short_name);
    return m->n_fields == 2 && nl > 5 && strcmp(m->short_name + nl - 5, "Entry") == 0 &&
           m->fields[0].id == 1 && strcmp(m->fields[0].name, "key") == 0 && m->fields[1].id == 2 &&
           strcmp(m->fields[1].name, "value") == 0;
}

/* A scalar's value as the field's C type, widened: signed types in *s, others in *u. */
static void scalar_value(const ProtobufCFieldDescriptor *f, uint64_t raw, int64_t *s, uint64_t *u)
{
    *s = 0;
    *u = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM: *s = (int32_t)(uint32_t)raw; break;
    case PROTOBUF_C_TYPE_SINT32: {
        uint32_t x = (uint32_t)raw;
        *s = (int32_t)((x >> 1) ^ (uint32_t) - (int32_t)(x & 1));
        break;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SFIXED64: *s = (int64_t)raw; break;
    case PROTOBUF_C_TYPE_SINT64:
        *s = (int64_t)((raw >> 1) ^ (uint64_t) - (int64_t)(raw & 1));
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT: *u = (uint32_t)raw; break;
    case PROTOBUF_C_TYPE_BOOL: *u = raw != 0; break;
    default: *u = raw; break;
    }
}

static int is_signed_type(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SFIXED32 ||
           t == PROTOBUF_C_TYPE_ENUM || t == PROTOBUF_C_TYPE_SINT32 || t == PROTOBUF_C_TYPE_INT64 ||
           t == PROTOBUF_C_TYPE_SFIXED64 || t == PROTOBUF_C_TYPE_SINT64;
}

/* ---------------------------------------------------------------- the printer */

typedef struct fst {
    uint64_t count, last_seq, last_v;
    const uint8_t *last_p;
    size_t last_n;
} fst;

typedef struct ment {
    const uint8_t *p; /* entry payload */
    size_t n;
    uint64_t seq;
    int kind; /* 0 bytes key, 1 signed, 2 unsigned */
    int64_t ks;
    uint64_t ku;
    const uint8_t *kp;
    size_t kn;
} ment;

typedef struct level {
    fst *st;
    size_t st_cap;
    ckpt_pb_seg *segs;
    size_t seg_cap;
    ment *ents;
    size_t ent_cap;
} level;

typedef struct printer {
    ckpt_err *err;
    const ckpt_pbtext_opts *opts;
    ckpt_outbuf out;
    level lv[CKPT_PB_MAX_DEPTH + 3];
} printer;

static int emit(printer *P, const char *s, size_t n)
{
    return ckpt_outbuf_put(&P->out, s, n);
}

static int emit_str(printer *P, const char *s)
{
    return emit(P, s, strlen(s));
}

static int emit_indent(printer *P, int indent)
{
    static const char sp[] = "                                                                ";
    while (indent > 0) {
        int k = indent > 64 ? 64 : indent;
        int r = emit(P, sp, (size_t)k);
        if (r)
            return r;
        indent -= k;
    }
    return 0;
}

static int emit_escaped(printer *P, const uint8_t *s, size_t n, int utf8)
{
    size_t i = 0;
    while (i < n) {
        int r = ckpt_outbuf_reserve(&P->out, 4);
        if (r)
            return r;
        size_t used;
        P->out.n += esc_step(s + i, n - i, utf8, &used, P->out.buf + P->out.n);
        i += used;
    }
    return 0;
}

/* ckpt_grow with the error described. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem, ckpt_err *err)
{
    if (ckpt_grow(arr, cap, need, elem))
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    return 0;
}

/* Text of a scalar occurrence (wire type wt, raw value v or payload p/n) into buf or, for
 * strings and bytes, straight to the output with quotes. */
static int emit_scalar(printer *P, const ProtobufCFieldDescriptor *f, uint64_t v, const uint8_t *p,
                       size_t n)
{
    char buf[64];
    int64_t s;
    uint64_t u;
    scalar_value(f, v, &s, &u);
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES: {
        int r = emit(P, "\"", 1);
        if (!r)
            r = emit_escaped(P, p, n, f->type == PROTOBUF_C_TYPE_STRING);
        if (!r)
            r = emit(P, "\"", 1);
        return r;
    }
    case PROTOBUF_C_TYPE_BOOL: return emit_str(P, u ? "true" : "false");
    case PROTOBUF_C_TYPE_FLOAT: {
        uint32_t bits = (uint32_t)v;
        float x;
        memcpy(&x, &bits, 4);
        return emit(P, buf, ckpt_pbtext_format_float(x, buf));
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double x;
        memcpy(&x, &v, 8);
        return emit(P, buf, ckpt_pbtext_format_double(x, buf));
    }
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, (int)s);
        if (ev)
            return emit_str(P, ev->name);
        break;
    }
    default: break;
    }
    int len = is_signed_type(f->type) ? snprintf(buf, sizeof buf, "%lld", (long long)s)
                                      : snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
    return emit(P, buf, (size_t)len);
}

/* Whether a proto3 field without presence holds a non-default value. */
static int nonzero(const ProtobufCFieldDescriptor *f, uint64_t v, size_t n)
{
    int64_t s;
    uint64_t u;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES)
        return n != 0;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return 1;
    scalar_value(f, v, &s, &u);
    return s != 0 || u != 0;
}

static int has_explicit_presence(const ProtobufCFieldDescriptor *f)
{
    return f->label != PROTOBUF_C_LABEL_NONE || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
           f->type == PROTOBUF_C_TYPE_MESSAGE;
}

static int scalar_line(printer *P, int indent, const ProtobufCFieldDescriptor *f, uint64_t v,
                       const uint8_t *p, size_t n)
{
    int r = emit_indent(P, indent);
    if (!r)
        r = emit_str(P, f->name);
    if (!r)
        r = emit(P, ": ", 2);
    if (!r)
        r = emit_scalar(P, f, v, p, n);
    if (!r)
        r = emit(P, "\n", 1);
    return r;
}

/* Every element of one occurrence of a repeated scalar, packed or not. */
static int repeated_scalar(printer *P, int indent, const ProtobufCFieldDescriptor *f,
                           const ckpt_pb_field *w)
{
    int nat = natural_wt(f->type);
    if (w->wt != 2 || nat == 2)
        return scalar_line(P, indent, f, w->v, w->p, w->n);
    const uint8_t *p = w->p, *end = w->p + w->n;
    while (p < end) {
        uint64_t v = 0;
        if (nat == 0) {
            if (ckpt_take_varint64(&p, end, &v))
                return ckpt_pb_corrupt(P->err, "truncated packed varint");
        } else {
            size_t k = nat == 1 ? 8 : 4;
            if ((size_t)(end - p) < k)
                return ckpt_pb_corrupt(P->err, "truncated packed fixed value");
            for (size_t i = k; i-- > 0;)
                v = (v << 8) | p[i];
            p += k;
        }
        int r = scalar_line(P, indent, f, v, NULL, 0);
        if (r)
            return r;
    }
    return 0;
}

static int print_message(printer *P, const ProtobufCMessageDescriptor *desc,
                         const ckpt_pb_seg *segs, size_t nseg, int depth);

static int open_block(printer *P, int indent, const char *name)
{
    int r = emit_indent(P, indent);
    if (!r)
        r = emit_str(P, name);
    if (!r)
        r = emit(P, " {\n", 3);
    return r;
}

static int close_block(printer *P, int indent)
{
    int r = emit_indent(P, indent);
    if (!r)
        r = emit(P, "}\n", 2);
    return r;
}

static int sub_message(printer *P, int depth, const char *name, const ProtobufCMessageDescriptor *d,
                       const ckpt_pb_seg *segs, size_t nseg)
{
    int r = open_block(P, 2 * depth, name);
    if (!r)
        r = print_message(P, d, segs, nseg, depth + 1);
    if (!r)
        r = close_block(P, 2 * depth);
    return r;
}

/* Find a message type by full name among the types reachable from the Any roots. */
static const ProtobufCMessageDescriptor *find_type(const ckpt_pbtext_opts *o, const char *name,
                                                   size_t len)
{
    if (!o)
        return NULL;
    const ProtobufCMessageDescriptor *seen[512];
    size_t nseen = 0, next = 0;
    for (size_t i = 0; i < o->n_any_roots && nseen < 512; i++)
        seen[nseen++] = o->any_roots[i];
    while (next < nseen) {
        const ProtobufCMessageDescriptor *d = seen[next++];
        if (strlen(d->name) == len && memcmp(d->name, name, len) == 0)
            return d;
        for (unsigned i = 0; i < d->n_fields; i++) {
            if (d->fields[i].type != PROTOBUF_C_TYPE_MESSAGE)
                continue;
            const ProtobufCMessageDescriptor *c = d->fields[i].descriptor;
            size_t j;
            for (j = 0; j < nseen && seen[j] != c; j++)
                ;
            if (j == nseen && nseen < 512)
                seen[nseen++] = c;
        }
    }
    return NULL;
}

/* google.protobuf.Any expanded as "[type_url] { ... }"; *done says whether it was. */
static int try_any(printer *P, const ckpt_pb_seg *segs, size_t nseg, int depth, int *done)
{
    ckpt_pb_iter it;
    ckpt_pb_field w;
    int r;
    const uint8_t *url = NULL, *val = NULL;
    size_t url_n = 0, val_n = 0;
    *done = 0;
    ckpt_pb_iter_init(&it, segs, nseg, P->err);
    while ((r = ckpt_pb_iter_next(&it, &w)) > 0) {
        if (w.wt != 2)
            continue;
        if (w.field == 1) {
            url = w.p;
            url_n = w.n;
        } else if (w.field == 2) {
            val = w.p;
            val_n = w.n;
        }
    }
    if (r < 0)
        return r;
    const uint8_t *slash = url ? memrchr(url, '/', url_n) : NULL;
    if (!slash)
        return 0;
    const ProtobufCMessageDescriptor *d =
        find_type(P->opts, (const char *)slash + 1, url_n - (size_t)(slash + 1 - url));
    if (!d)
        return 0;
    ckpt_pb_seg inner = {val, val_n};
    if ((r = emit_indent(P, 2 * depth)) || (r = emit(P, "[", 1)) ||
        (r = emit(P, (const char *)url, url_n)) || (r = emit(P, "] {\n", 4)) ||
        (r = print_message(P, d, &inner, val ? 1 : 0, depth + 1)) ||
        (r = close_block(P, 2 * depth)))
        return r;
    *done = 1;
    return 0;
}

static int ment_cmp(const void *a, const void *b)
{
    const ment *x = a, *y = b;
    int c = 0;
    if (x->kind == 0) {
        size_t m = x->kn < y->kn ? x->kn : y->kn;
        c = m ? memcmp(x->kp, y->kp, m) : 0;
        if (!c)
            c = (x->kn > y->kn) - (x->kn < y->kn);
    } else if (x->kind == 1) {
        c = (x->ks > y->ks) - (x->ks < y->ks);
    } else {
        c = (x->ku > y->ku) - (x->ku < y->ku);
    }
    if (!c)
        c = (x->seq > y->seq) - (x->seq < y->seq);
    return c;
}

/* The last occurrence of entry field `id` (wire type checked) in an entry payload. */
static int entry_field(printer *P, const ProtobufCFieldDescriptor *f, const uint8_t *p, size_t n,
                       int *has, uint64_t *v, const uint8_t **vp, size_t *vn)
{
    ckpt_pb_msg it;
    ckpt_pb_field w;
    int r;
    *has = 0;
    *v = 0;
    *vp = NULL;
    *vn = 0;
    ckpt_pb_msg_init(&it, p, n, P->err);
    while ((r = ckpt_pb_msg_next(&it, &w)) > 0) {
        if (w.field != f->id || !wt_ok(f, w.wt) || w.wt != natural_wt(f->type))
            continue;
        *has = 1;
        *v = w.v;
        *vp = w.p;
        *vn = w.n;
    }
    return r < 0 ? r : 0;
}

/* Check, without printing, that a message nobody will see parses: upb parses every
 * occurrence of a known message field (also ones a later oneof member or map entry replaces)
 * and refuses the whole input when one is malformed. */
static int validate(printer *P, const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
                    int depth)
{
    if (depth > CKPT_PB_MAX_DEPTH)
        return ckpt_pb_corrupt(P->err, "messages nested too deep");
    ckpt_pb_msg it;
    ckpt_pb_field w;
    int r;
    ckpt_pb_msg_init(&it, p, n, P->err);
    while ((r = ckpt_pb_msg_next(&it, &w)) > 0) {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, w.field);
        if (!f || !wt_ok(f, w.wt))
            continue;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if ((r = validate(P, f->descriptor, w.p, w.n, depth + 1)))
                return r;
        } else if (w.wt == 2 && natural_wt(f->type) != 2) {
            const uint8_t *q = w.p, *end = w.p + w.n;
            uint64_t v;
            if (natural_wt(f->type) == 0) {
                while (q < end)
                    if (ckpt_take_varint64(&q, end, &v))
                        return ckpt_pb_corrupt(P->err, "truncated packed varint");
            } else if (w.n % (natural_wt(f->type) == 1 ? 8 : 4)) {
                return ckpt_pb_corrupt(P->err, "truncated packed fixed value");
            }
        }
    }
    return r;
}

/* Validate every occurrence of message field f (for the ones that are not printed). */
static int validate_field(printer *P, const ProtobufCFieldDescriptor *f, const ckpt_pb_seg *segs,
                          size_t nseg, uint64_t upto_seq, int depth)
{
    ckpt_pb_iter it;
    ckpt_pb_field w;
    int r;
    uint64_t seq = 0;
    ckpt_pb_iter_init(&it, segs, nseg, P->err);
    while ((r = ckpt_pb_iter_next(&it, &w)) > 0) {
        seq++;
        if (upto_seq && seq > upto_seq)
            break;
        if (w.field == f->id && w.wt == 2 && (r = validate(P, f->descriptor, w.p, w.n, depth)))
            return r;
    }
    return r < 0 ? r : 0;
}

/* upb moves a map entry that carries anything besides its key and value (another field, or
 * key/value with the wrong wire type) to the parent's unknown fields: it is not printed. */
static int entry_is_clean(printer *P, const ProtobufCFieldDescriptor *kf,
                          const ProtobufCFieldDescriptor *vf, const uint8_t *p, size_t n)
{
    ckpt_pb_msg it;
    ckpt_pb_field w;
    int r;
    ckpt_pb_msg_init(&it, p, n, P->err);
    int clean = 1;
    while ((r = ckpt_pb_msg_next(&it, &w)) > 0) {
        const ProtobufCFieldDescriptor *f = w.field == 1 ? kf : w.field == 2 ? vf : NULL;
        if (!f || w.wt != natural_wt(f->type))
            clean = 0;
    }
    return r < 0 ? r : clean;
}

static int print_map(printer *P, const ProtobufCFieldDescriptor *f, const ckpt_pb_seg *segs,
                     size_t nseg, int depth)
{
    level *L = &P->lv[depth];
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    ckpt_pb_iter it;
    ckpt_pb_field w;
    int r, has;
    size_t n = 0;
    uint64_t seq = 0;
    ckpt_pb_iter_init(&it, segs, nseg, P->err);
    while ((r = ckpt_pb_iter_next(&it, &w)) > 0) {
        if (w.field != f->id || w.wt != 2)
            continue;
        if ((r = entry_is_clean(P, kf, vf, w.p, w.n)) <= 0) {
            if (r < 0 || (r = validate(P, ed, w.p, w.n, depth + 1)))
                return r;
            continue;
        }
        if ((r = grow((void **)&L->ents, &L->ent_cap, n + 1, sizeof(ment), P->err)))
            return r;
        ment *e = &L->ents[n++];
        uint64_t kv;
        e->p = w.p;
        e->n = w.n;
        e->seq = seq++;
        if ((r = entry_field(P, kf, w.p, w.n, &has, &kv, &e->kp, &e->kn)))
            return r;
        e->kind = (kf->type == PROTOBUF_C_TYPE_STRING || kf->type == PROTOBUF_C_TYPE_BYTES) ? 0
                  : is_signed_type(kf->type)                                                ? 1
                                                                                            : 2;
        scalar_value(kf, kv, &e->ks, &e->ku);
    }
    if (r < 0)
        return r;
    if (n)
        qsort(L->ents, n, sizeof(ment), ment_cmp);
    int indent = 2 * depth;
    for (size_t i = 0; i < n; i++) {
        /* Equal keys: only the last one read survives, as in a parsed map. */
        if (i + 1 < n) {
            ment a = L->ents[i], b = L->ents[i + 1];
            a.seq = b.seq = 0;
            if (ment_cmp(&a, &b) == 0) {
                if ((r = validate(P, ed, a.p, a.n, depth + 1)))
                    return r;
                continue;
            }
        }
        const ment *e = &L->ents[i];
        if ((r = open_block(P, indent, f->name)))
            return r;
        uint64_t kv, vv;
        const uint8_t *kp, *vp;
        size_t kn, vn;
        if ((r = entry_field(P, kf, e->p, e->n, &has, &kv, &kp, &kn)))
            return r;
        if ((kf->label != PROTOBUF_C_LABEL_NONE || nonzero(kf, kv, kn)) &&
            (r = scalar_line(P, indent + 2, kf, kv, kp, kn)))
            return r;
        if (vf->type == PROTOBUF_C_TYPE_MESSAGE) {
            /* The printed entry is rebuilt from the map, so a message value always shows. */
            ckpt_pb_seg *vs;
            size_t nvs;
            ckpt_pb_seg eseg = {e->p, e->n};
            if ((r = ckpt_pb_field_segs(&eseg, 1, 2, -1, &vs, &nvs, P->err)))
                return r;
            r = sub_message(P, depth + 1, "value", vf->descriptor, vs, nvs);
            free(vs);
            if (r)
                return r;
        } else {
            if ((r = entry_field(P, vf, e->p, e->n, &has, &vv, &vp, &vn)))
                return r;
            if ((vf->label != PROTOBUF_C_LABEL_NONE || nonzero(vf, vv, vn)) &&
                (r = scalar_line(P, indent + 2, vf, vv, vp, vn)))
                return r;
        }
        if ((r = close_block(P, indent)))
            return r;
    }
    return 0;
}

/* Is field i the member of its oneof that was set last? Also gives the sequence number of the
 * last occurrence of another member (occurrences before it were cleared). */
static int oneof_live(const ProtobufCMessageDescriptor *d, const fst *st, unsigned i,
                      uint64_t *reset)
{
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    *reset = 0;
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return 1;
    for (unsigned j = 0; j < d->n_fields; j++) {
        const ProtobufCFieldDescriptor *g = &d->fields[j];
        if (j == i || !(g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
            g->quantifier_offset != f->quantifier_offset || !st[j].count)
            continue;
        if (st[j].last_seq > st[i].last_seq)
            return 0;
        if (st[j].last_seq > *reset)
            *reset = st[j].last_seq;
    }
    return 1;
}

static int print_message(printer *P, const ProtobufCMessageDescriptor *desc,
                         const ckpt_pb_seg *segs, size_t nseg, int depth)
{
    if (depth > CKPT_PB_MAX_DEPTH)
        return ckpt_pb_corrupt(P->err, "messages nested too deep");
    int r;
    if (strcmp(desc->name, "google.protobuf.Any") == 0) {
        int done = 0;
        r = try_any(P, segs, nseg, depth, &done);
        if (r || done)
            return r;
    }
    level *L = &P->lv[depth];
    if ((r = grow((void **)&L->st, &L->st_cap, desc->n_fields + 1, sizeof(fst), P->err)))
        return r;
    fst *st = L->st;
    memset(st, 0, desc->n_fields * sizeof(fst));

    /* Pass 1: which fields occur, and their last values. */
    ckpt_pb_iter it;
    ckpt_pb_field w;
    uint64_t seq = 0;
    ckpt_pb_iter_init(&it, segs, nseg, P->err);
    while ((r = ckpt_pb_iter_next(&it, &w)) > 0) {
        seq++;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, w.field);
        if (!f || !wt_ok(f, w.wt))
            continue;
        fst *s = &st[f - desc->fields];
        s->count++;
        s->last_seq = seq;
        s->last_v = w.v;
        s->last_p = w.p;
        s->last_n = w.n;
    }
    if (r < 0) {
        ckpt_err_prefix(P->err, "in %s", desc->name); /* keeps r even when P->err is NULL */
        return r;
    }

    /* Pass 2: one rescan per present field, in field-number order. */
    int indent = 2 * depth;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        uint64_t reset;
        if (!st[i].count)
            continue;
        if (!oneof_live(desc, st, i, &reset)) {
            if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
                (r = validate_field(P, f, segs, nseg, 0, depth + 1)))
                return r;
            continue;
        }
        if (reset && f->type == PROTOBUF_C_TYPE_MESSAGE &&
            (r = validate_field(P, f, segs, nseg, reset, depth + 1)))
            return r;
        if (is_map(f)) {
            r = print_map(P, f, segs, nseg, depth);
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            ckpt_pb_iter_init(&it, segs, nseg, P->err);
            while ((r = ckpt_pb_iter_next(&it, &w)) > 0) {
                if (w.field != f->id || !wt_ok(f, w.wt))
                    continue;
                if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                    ckpt_pb_seg one = {w.p, w.n};
                    r = sub_message(P, depth, f->name, f->descriptor, &one, 1);
                } else {
                    r = repeated_scalar(P, indent, f, &w);
                }
                if (r)
                    break;
            }
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            /* Occurrences merge (after the last time another oneof member was set). */
            size_t n = 0;
            seq = 0;
            ckpt_pb_iter_init(&it, segs, nseg, P->err);
            while ((r = ckpt_pb_iter_next(&it, &w)) > 0) {
                seq++;
                if (w.field != f->id || w.wt != 2 || seq <= reset)
                    continue;
                if ((r = grow((void **)&L->segs, &L->seg_cap, n + 1, sizeof(ckpt_pb_seg), P->err)))
                    break;
                L->segs[n].p = w.p;
                L->segs[n].n = w.n;
                n++;
            }
            if (r >= 0)
                r = sub_message(P, depth, f->name, f->descriptor, L->segs, n);
        } else if (has_explicit_presence(f) || nonzero(f, st[i].last_v, st[i].last_n)) {
            r = scalar_line(P, indent, f, st[i].last_v, st[i].last_p, st[i].last_n);
        } else {
            r = 0;
        }
        if (r)
            return r;
    }
    return 0;
}

int ckpt_pbtext_print(const ProtobufCMessageDescriptor *desc, const ckpt_pb_seg *segs, size_t nseg,
                      const ckpt_pbtext_opts *opts, ckpt_write_fn write, void *ctx, ckpt_err *err)
{
    printer *P = calloc(1, sizeof *P);
    if (!P)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    ckpt_outbuf_init(&P->out, write, ctx, err);
    P->err = err;
    P->opts = opts;
    int r = print_message(P, desc, segs, nseg, 0);
    if (r == 0)
        r = ckpt_outbuf_flush(&P->out);
    for (size_t i = 0; i < sizeof P->lv / sizeof P->lv[0]; i++) {
        free(P->lv[i].st);
        free(P->lv[i].segs);
        free(P->lv[i].ents);
    }
    free(P);
    return r;
}
