/*
 * safetensors.c - see safetensors.h; the layout's rules are in docs/format.md.
 */
#include "safetensors.h"

#include "dtype.h"
#include "objnames.h"
#include "render.h"
#include "utf8.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernel's copy unit and the least data worth aligning to it (st_data_at). */
#define ST_ALIGN (64u << 10)
#define ST_ALIGN_MIN (1u << 20)

/* The safetensors dtype ("F32", "BF16", "F8_E4M3", ...) of TF dtype, or NULL when the format has
 * none (strings, variants, quantized and 4-bit types, complex128, the fnuz float8s). */
static const char *ckpt_st_dtype(int tf_dtype)
{
    switch (tf_dtype) {
    case CKPT_DT_FLOAT: return "F32";
    case CKPT_DT_DOUBLE: return "F64";
    case CKPT_DT_HALF: return "F16";
    case CKPT_DT_BFLOAT16: return "BF16";
    case CKPT_DT_INT8: return "I8";
    case CKPT_DT_INT16: return "I16";
    case CKPT_DT_INT32: return "I32";
    case CKPT_DT_INT64: return "I64";
    case CKPT_DT_UINT8: return "U8";
    case CKPT_DT_UINT16: return "U16";
    case CKPT_DT_UINT32: return "U32";
    case CKPT_DT_UINT64: return "U64";
    case CKPT_DT_BOOL: return "BOOL";
    case CKPT_DT_COMPLEX64: return "C64";
    case 24: return "F8_E5M2"; /* DT_FLOAT8_E5M2 */
    case 25: return "F8_E4M3"; /* DT_FLOAT8_E4M3FN: safetensors' F8_E4M3 is the fn variant */
    default: return NULL;
    }
}

/* The name variable i has in the file: its visible path in a mount (ckpt_path, not
 * NUL-terminated at *len). The one place that decides it. */
static const char *ckpt_st_name(const ckpt_checkpoint *c, size_t i, size_t *len)
{
    return ckpt_path(c, i, len);
}

/* Whether s[0..n) is UTF-8 a JSON parser takes as a string (what serde_json accepts). */
static int is_utf8(const char *s, size_t n)
{
    const uint8_t *u = (const uint8_t *)s;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = ckpt_utf8_seq(u + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/*
 * s[0..n) as a JSON string. Valid UTF-8 is kept, with the escapes JSON requires. A name that is
 * not UTF-8 (only ever written as a skipped one) shows each invalid byte as the text \xHH and a
 * backslash as \\, so that the header stays valid UTF-8 and the name stays recognisable.
 */
static void put_json_str(ckpt_strbuf *b, const char *pre, const char *s, size_t n)
{
    const uint8_t *u = (const uint8_t *)s;
    int lossy = !is_utf8(s, n);
    char esc[16];
    ckpt_strbuf_puts(b, "\"");
    ckpt_strbuf_puts(b, pre);
    for (size_t i = 0; i < n;) {
        /* A run of printable ASCII needing no escape goes in at once: names are mostly that,
         * and a call per character made the header of 100k variables cost 4x the mount. */
        size_t j = i;
        while (j < n && u[j] >= 0x20 && u[j] < 0x80 && u[j] != '"' && u[j] != '\\')
            j++;
        if (j > i) {
            ckpt_strbuf_put(b, u + i, j - i);
            i = j;
            continue;
        }
        uint8_t ch = u[i];
        size_t k = ch >= 0x80 ? ckpt_utf8_seq(u + i, n - i) : 1;
        if (ch >= 0x80 && k) {
            ckpt_strbuf_put(b, u + i, k);
            i += k;
            continue;
        }
        if (ch >= 0x80)
            snprintf(esc, sizeof esc, "\\\\x%02x", ch);
        else if (ch == '"')
            strcpy(esc, "\\\"");
        else if (ch == '\\')
            strcpy(esc, lossy ? "\\\\\\\\" : "\\\\");
        else if (ch < 0x20)
            snprintf(esc, sizeof esc, "\\u%04x", ch);
        else
            esc[0] = (char)ch, esc[1] = 0;
        ckpt_strbuf_puts(b, esc);
        i++;
    }
    ckpt_strbuf_puts(b, "\"");
}

/* Why variable v (named name) cannot be in the file, or NULL when it can. */
static const char *why_left_out(const ckpt_var *v, const char *name, size_t len, char *buf,
                                size_t size)
{
    if (!ckpt_st_dtype(v->dtype)) {
        char dn[CKPT_DTYPE_NAME_BUF];
        snprintf(buf, size, "dtype %s has no safetensors type",
                 ckpt_dtype_name(v->dtype, dn, sizeof dn));
        return buf;
    }
    if (!is_utf8(name, len))
        return "name is not UTF-8";
    if (len == 12 && !memcmp(name, "__metadata__", 12))
        return "name __metadata__ is reserved by the format";
    return NULL;
}

void ckpt_st_free(ckpt_st_layout *l)
{
    free(l->var);
    free(l->start);
    free(l->header);
    memset(l, 0, sizeof *l);
}

/*
 * Where the tensors start (docs/format.md, "Where the tensors start"): the first 8-aligned
 * offset from min on; or, when the tensors that can be put in step with their shard hold at
 * least ST_ALIGN_MIN bytes, the first from min on that puts the most of those bytes at their
 * shard offset modulo ST_ALIGN (of equal counts, the first in file order). The
 * kernel copies a file through a pipe ST_ALIGN bytes at a time into folios of that size at
 * aligned places; a destination out of step with its source takes a page per folio and costs
 * half as much again (docs/PERFORMANCE.md, export). l->start holds the offsets in the data.
 * UINT64_MAX when out of memory.
 */
static uint64_t st_data_at(const ckpt_checkpoint *c, const ckpt_st_layout *l, uint64_t min)
{
    uint64_t *bytes = calloc(ST_ALIGN / 8, sizeof *bytes), all = 0, best = 0;
    if (!bytes)
        return UINT64_MAX;
    for (size_t t = 0; t < l->n; t++) {
        ckpt_var v;
        ckpt_get(c, l->var[t], &v);
        if (v.flags & (CKPT_VAR_PARTITIONED | CKPT_VAR_SHARD_MISSING))
            continue;
        uint64_t delta = (v.offset - l->start[t]) % ST_ALIGN;
        if (delta % 8)
            continue; /* the format's 8-alignment first */
        bytes[delta / 8] += v.nbytes;
        all += v.nbytes;
        if (bytes[delta / 8] > bytes[best])
            best = delta / 8;
    }
    free(bytes);
    uint64_t at = (min + 7) / 8 * 8;
    if (all >= ST_ALIGN_MIN)
        at = min + (best * 8 + ST_ALIGN - min % ST_ALIGN) % ST_ALIGN;
    return at;
}

int ckpt_st_build(const ckpt_checkpoint *c, const ckpt_names *names, ckpt_st_layout *out,
                  ckpt_err *err)
{
    memset(out, 0, sizeof *out);
    size_t count = ckpt_count(c);
    ckpt_strbuf b = {0};
    ckpt_strbuf_puts(&b, "{\"__metadata__\":{\"format\":\"tf\"");
    /* First pass: which variables go in, and the metadata (tensors' keys, what was left out). */
    out->var = malloc((count ? count : 1) * sizeof *out->var);
    if (!out->var)
        goto nomem;
    char why[96];
    for (size_t i = 0; i < count; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        size_t nlen;
        const char *name = ckpt_st_name(c, i, &nlen);
        const char *w = why_left_out(&v, name, nlen, why, sizeof why);
        if (w) {
            ckpt_strbuf_puts(&b, ",");
            put_json_str(&b, "skipped:", v.name, v.name_len);
            ckpt_strbuf_puts(&b, ":");
            put_json_str(&b, "", w, strlen(w));
            out->skipped++;
            continue;
        }
        ckpt_strbuf_puts(&b, ",");
        put_json_str(&b, "tf_key:", name, nlen);
        ckpt_strbuf_puts(&b, ":");
        put_json_str(&b, "", v.name, v.name_len);
        size_t flen;
        const char *full = ckpt_names_full(names, i, &flen);
        if (full && is_utf8(full, flen)) {
            ckpt_strbuf_puts(&b, ",");
            put_json_str(&b, "full_name:", name, nlen);
            ckpt_strbuf_puts(&b, ":");
            put_json_str(&b, "", full, flen);
        }
        out->var[out->n++] = i;
    }
    ckpt_strbuf_puts(&b, "}");
    /* Second pass: each tensor's entry, its bytes placed right after the previous one's. */
    out->start = malloc((out->n + 1) * sizeof *out->start);
    if (!out->start)
        goto nomem;
    uint64_t at = 0;
    char num[48];
    for (size_t t = 0; t < out->n; t++) {
        ckpt_var v;
        ckpt_get(c, out->var[t], &v);
        size_t nlen;
        const char *name = ckpt_st_name(c, out->var[t], &nlen);
        ckpt_strbuf_puts(&b, ",");
        put_json_str(&b, "", name, nlen);
        ckpt_strbuf_puts(&b, ":{\"dtype\":\"");
        ckpt_strbuf_puts(&b, ckpt_st_dtype(v.dtype));
        ckpt_strbuf_puts(&b, "\",\"shape\":[");
        for (int d = 0; d < v.rank; d++) {
            snprintf(num, sizeof num, "%s%" PRId64, d ? "," : "", v.dims[d]);
            ckpt_strbuf_puts(&b, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", at,
                 at + v.nbytes);
        ckpt_strbuf_puts(&b, num);
        out->start[t] = at;
        at += v.nbytes;
    }
    ckpt_strbuf_puts(&b, "}");
    /* Spaces after the JSON: the tensors start 8-aligned, as the format asks, and where their
     * shard places them modulo ST_ALIGN (st_data_at). */
    if (b.failed)
        goto nomem;
    uint64_t data_at = st_data_at(c, out, 8 + b.len);
    if (data_at == UINT64_MAX)
        goto nomem;
    if (data_at - 8 > CKPT_ST_HEADER_MAX)
        data_at = (8 + b.len + 7) / 8 * 8; /* the step is worth less than the file */
    size_t pad = (size_t)(data_at - 8 - b.len);
    char *spaces = ckpt_strbuf_extend(&b, pad);
    if (!spaces)
        goto nomem;
    memset(spaces, ' ', pad);
    if (b.len > CKPT_ST_HEADER_MAX) {
        int rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                              "%s: a safetensors header of its %zu tensors would be %zu bytes, "
                              "over the %u that safetensors readers accept: exclude variables",
                              ckpt_prefix(c), out->n, b.len, CKPT_ST_HEADER_MAX);
        ckpt_strbuf_free(&b);
        ckpt_st_free(out);
        return rc;
    }
    out->header_len = 8 + b.len;
    out->header = malloc(out->header_len);
    if (!out->header)
        goto nomem;
    uint64_t n = b.len;
    for (int k = 0; k < 8; k++)
        out->header[k] = (char)(uint8_t)(n >> (8 * k));
    memcpy(out->header + 8, b.data, b.len);
    ckpt_strbuf_free(&b);
    for (size_t t = 0; t < out->n; t++)
        out->start[t] += out->header_len;
    out->start[out->n] = out->header_len + at;
    out->total = out->header_len + at;
    return 0;
nomem:
    ckpt_strbuf_free(&b);
    ckpt_st_free(out);
    return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory laying out safetensors",
                        ckpt_prefix(c));
}

/* The tensor whose bytes hold file offset pos (header_len <= pos < total): the last one
 * starting at or before pos, which skips empty tensors starting there too. */
static size_t tensor_at(const ckpt_st_layout *l, uint64_t pos)
{
    size_t lo = 0, hi = l->n; /* first start > pos is in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->start[mid] <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

int ckpt_st_read(ckpt_checkpoint *c, const ckpt_st_layout *l, ckpt_st_cursor *cur, void *buf,
                 size_t len, uint64_t off, size_t *got, ckpt_err *err)
{
    uint8_t *p = buf;
    *got = 0;
    if (off >= l->total)
        return 0;
    if (len > l->total - off)
        len = (size_t)(l->total - off);
    if (off < l->header_len) {
        size_t k = l->header_len - off < len ? (size_t)(l->header_len - off) : len;
        memcpy(p, l->header + off, k);
        *got += k;
    }
    while (*got < len) {
        uint64_t pos = off + *got;
        size_t t = tensor_at(l, pos);
        uint64_t rel = pos - l->start[t];
        size_t want = len - *got;
        if (l->start[t + 1] - pos < want)
            want = (size_t)(l->start[t + 1] - pos);
        ckpt_crc_state *st = NULL;
        if (cur) {
            if (cur->t != t + 1 || rel == 0)
                cur->t = t + 1, cur->crc = (ckpt_crc_state){0, 0};
            st = &cur->crc;
        }
        size_t n;
        int rc = ckpt_read(c, l->var[t], p + *got, want, rel, &n, st, err);
        if (rc)
            return rc;
        if (n == 0)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: variable \"%s\" ends short of its size at byte %" PRIu64,
                                ckpt_var_path(c, l->var[t]), ckpt_name(c, l->var[t], &n), rel);
        *got += n;
    }
    return 0;
}
