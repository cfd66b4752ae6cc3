/*
 * test_table.c - the table reader against tables built by tests/unit/tablebuilder.h (an
 * independent writer following the format doc), valid and deliberately corrupt.
 *
 * Every corrupt case must end in CKPT_E_CORRUPT with the table's name in the message, at open
 * or when the entries are visited, and never crash (the sanitizer build runs this too).
 */
#include "table.h"
#include "tablebuilder.h"

#include "check_run.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME "hand-made.index"

/* Where each part of a tb_table file lies, re-derived from the footer. */
typedef struct layout {
    size_t data_end;           /* data blocks+trailers are [0, data_end) */
    size_t meta_off, meta_end; /* metaindex block + trailer */
    size_t index_off, index_end;
} layout;

static layout layout_of(const tb_buf *f)
{
    layout l;
    const uint8_t *p = f->p + f->n - 48;
    uint64_t v[4];
    size_t k = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x = 0;
        int sh = 0;
        while (p[k] & 0x80)
            x |= (uint64_t)(p[k++] & 0x7f) << sh, sh += 7;
        x |= (uint64_t)p[k++] << sh;
        v[i] = x;
    }
    l.meta_off = v[0];
    l.meta_end = v[0] + v[1] + 5;
    l.index_off = v[2];
    l.index_end = v[2] + v[3] + 5;
    l.data_end = l.meta_off;
    return l;
}

static uint32_t ckpt_load_le32_test(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- expected entries ---- */

typedef struct kv {
    uint8_t *k, *v;
    size_t kl, vl;
} kv;

typedef struct kvs {
    kv *e;
    size_t n, cap;
} kvs;

static void kvs_add(kvs *s, const void *k, size_t kl, const void *v, size_t vl)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->e = realloc(s->e, s->cap * sizeof *s->e);
        ck_assert_ptr_nonnull(s->e);
    }
    kv *x = &s->e[s->n++];
    x->k = malloc(kl + 1);
    x->v = malloc(vl + 1);
    if (kl)
        memcpy(x->k, k, kl);
    if (vl)
        memcpy(x->v, v, vl);
    x->kl = kl;
    x->vl = vl;
}

static void kvs_free(kvs *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i].k);
        free(s->e[i].v);
    }
    free(s->e);
    memset(s, 0, sizeof *s);
}

/* Build a table of all of s (already in order). */
static void build(tb_table *t, const kvs *s, size_t block_size, int interval, int compress)
{
    tb_table_init(t, block_size, interval, compress);
    for (size_t i = 0; i < s->n; i++)
        tb_table_add(t, s->e[i].k, s->e[i].kl, s->e[i].v, s->e[i].vl);
    tb_table_finish(t);
}

/* Deterministic entries with long shared prefixes and varied value sizes. */
static void gen_entries(kvs *s, size_t n, int with_empty_key)
{
    char k[64], v[300];
    if (with_empty_key)
        kvs_add(s, "", 0, "\x08\x01\x1a\x02\x08\x01", 6);
    for (size_t i = 0; i < n; i++) {
        int kl = snprintf(k, sizeof k, "model/layer_%05zu/%s", i / 3,
                          (const char *[]){"bias", "kernel", "kernel/Adam"}[i % 3]);
        size_t vl = (i * 7919) % 97;
        for (size_t j = 0; j < vl; j++)
            v[j] = (char)((i + j * 31) & 0xff);
        kvs_add(s, k, (size_t)kl, v, vl);
    }
}

/* ---- reading back ---- */

typedef struct visit {
    const kvs *want;
    size_t i;
    size_t stop_after; /* 0 = never */
} visit;

static int check_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                       ckpt_err *err)
{
    (void)err;
    visit *v = ctx;
    ck_assert_uint_lt(v->i, v->want->n);
    const kv *e = &v->want->e[v->i];
    ck_assert_uint_eq(klen, e->kl);
    ck_assert_uint_eq(vlen, e->vl);
    if (klen)
        ck_assert_mem_eq(key, e->k, klen);
    if (vlen)
        ck_assert_mem_eq(val, e->v, vlen);
    v->i++;
    if (v->stop_after && v->i == v->stop_after)
        return 1;
    return 0;
}

/* Exact heap copy so that ASan sees any read past the end of the "file". */
static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

static int get_str(ckpt_table *t, const void *k, size_t kl, const kv *want)
{
    uint8_t *val = NULL;
    size_t vlen = 12345;
    ckpt_err err = {0};
    int rc = ckpt_table_get(t, k, kl, &val, &vlen, &err);
    if (rc == 0) {
        ck_assert_ptr_nonnull(want);
        ck_assert_uint_eq(vlen, want->vl);
        if (vlen)
            ck_assert_mem_eq(val, want->v, vlen);
        free(val);
    } else {
        ck_assert_int_eq(rc, CKPT_E_NOTFOUND);
    }
    return rc;
}

/* Is k one of the expected keys? (binary search: s is sorted bytewise) */
static int find_key(const kvs *s, const uint8_t *k, size_t kl)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const kv *e = &s->e[mid];
        size_t m = e->kl < kl ? e->kl : kl;
        int c = m ? memcmp(e->k, k, m) : 0;
        if (c == 0)
            c = e->kl < kl ? -1 : e->kl > kl;
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Full check of an open table: order, contents, lookups of every (or every step-th) key,
 * misses next to real keys. */
static void verify_open(ckpt_table *t, const kvs *s, size_t step)
{
    ckpt_err err = {0};
    visit v = {s, 0, 0};
    ck_assert_int_eq(ckpt_table_foreach(t, check_visit, &v, &err), 0);
    ck_assert_uint_eq(v.i, s->n);
    /* a second pass gives the same (nothing consumed) */
    v.i = 0;
    ck_assert_int_eq(ckpt_table_foreach(t, check_visit, &v, &err), 0);
    ck_assert_uint_eq(v.i, s->n);

    uint8_t key[512];
    for (size_t i = 0; i < s->n; i += step) {
        const kv *e = &s->e[i];
        ck_assert_int_eq(get_str(t, e->k, e->kl, e), 0);
        ck_assert_uint_lt(e->kl + 1, sizeof key);
        /* key + "\0" sorts right after key and before the next one: a miss */
        memcpy(key, e->k, e->kl);
        key[e->kl] = 0;
        if (!find_key(s, key, e->kl + 1))
            ck_assert_int_eq(get_str(t, key, e->kl + 1, NULL), CKPT_E_NOTFOUND);
        /* a proper prefix of a key is a miss unless it is itself a key */
        if (e->kl > 1 && !find_key(s, e->k, e->kl - 1))
            ck_assert_int_eq(get_str(t, e->k, e->kl - 1, NULL), CKPT_E_NOTFOUND);
    }
    /* after the last key, in the gap a short successor separator covers, and far beyond */
    ck_assert_int_eq(get_str(t, "zzzz", 4, NULL), CKPT_E_NOTFOUND);
    ck_assert_int_eq(get_str(t, "\xff\xff\xff", 3, NULL), CKPT_E_NOTFOUND);
    if (s->n) {
        const kv *last = &s->e[s->n - 1];
        memcpy(key, last->k, last->kl);
        key[last->kl] = 0xff;
        ck_assert_int_eq(get_str(t, key, last->kl + 1, NULL), CKPT_E_NOTFOUND);
        if (s->e[0].kl > 0)
            ck_assert_int_eq(get_str(t, "", 0, NULL), CKPT_E_NOTFOUND);
    }
}

/* Open from memory (exact copy) and from a temp file, verify both. */
static void verify_table(const uint8_t *file, size_t n, const kvs *s, size_t step,
                         size_t want_blocks)
{
    ckpt_err err = {0};
    ckpt_table *t = NULL;
    uint8_t *c = exact_copy(file, n);
    int rc = ckpt_table_open_mem(c, n, NAME, &t, &err);
    ck_assert_msg(rc == 0, "open_mem: %d %s", rc, err.msg);
    ck_assert_uint_eq(ckpt_table_num_blocks(t), want_blocks);
    verify_open(t, s, step);
    ckpt_table_close(t);
    free(c);

    char path[] = "/tmp/ckpt_test_table_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_write_file(path, file, n), 0);
    unlink(path);
    t = NULL;
    rc = ckpt_table_open_fd(fd, n, NAME, &t, &err);
    ck_assert_msg(rc == 0, "open_fd: %d %s", rc, err.msg);
    ck_assert_uint_eq(ckpt_table_num_blocks(t), want_blocks);
    verify_open(t, s, step);
    ckpt_table_close(t);
    close(fd);
}

/* ---- valid tables ---- */

START_TEST(one_block)
{
    kvs s = {0};
    kvs_add(&s, "", 0, "hdr", 3);
    kvs_add(&s, "a", 1, "", 0); /* empty value */
    kvs_add(&s, "ab", 2, "x", 1);
    kvs_add(&s, "abc", 3, "yy", 2);
    kvs_add(&s, "b", 1, "zzz", 3);
    tb_table t;
    build(&t, &s, 1 << 20, 16, 0);
    ck_assert_uint_eq(t.nblocks, 1);
    verify_table(t.out.p, t.out.n, &s, 1, 1);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

START_TEST(bytewise_unsigned_order)
{
    /* keys that sort differently with signed chars or with strcmp-style NUL handling */
    kvs s = {0};
    kvs_add(&s, "\x00", 1, "0", 1);
    kvs_add(&s, "\x00\x00", 2, "00", 2);
    kvs_add(&s, "\x00\x01", 2, "01", 2);
    kvs_add(&s, "\x01", 1, "1", 1);
    kvs_add(&s, "\x7f", 1, "7f", 2);
    kvs_add(&s, "\x80", 1, "80", 2);
    kvs_add(&s, "\x80\x00", 2, "8000", 4);
    kvs_add(&s, "\xfe\xff", 2, "feff", 4);
    kvs_add(&s, "\xff", 1, "ff", 2);
    kvs_add(&s, "\xff\xff", 2, "ffff", 4);
    for (int interval = 1; interval <= 3; interval++) {
        tb_table t;
        build(&t, &s, 1 << 20, interval, 0);
        verify_table(t.out.p, t.out.n, &s, 1, 1);
        tb_table_free(&t);
        /* one entry per block: separators between binary keys */
        build(&t, &s, 1, interval, 0);
        ck_assert_uint_eq(t.nblocks, s.n);
        verify_table(t.out.p, t.out.n, &s, 1, s.n);
        tb_table_free(&t);
    }
    kvs_free(&s);
}
END_TEST

START_TEST(shared_prefixes_interval_16_and_1)
{
    kvs s = {0};
    gen_entries(&s, 600, 1);
    static const int intervals[] = {16, 1, 2, 5, 1000};
    for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++) {
        tb_table t;
        build(&t, &s, 1 << 22, intervals[i], 0);
        ck_assert_uint_eq(t.nblocks, 1);
        /* the builder really did share prefixes: the file is smaller than keys + values */
        if (intervals[i] == 16) {
            size_t raw = 0;
            for (size_t j = 0; j < s.n; j++)
                raw += s.e[j].kl + s.e[j].vl;
            ck_assert_uint_lt(t.out.n, raw);
        }
        verify_table(t.out.p, t.out.n, &s, 1, 1);
        tb_table_free(&t);
    }
    kvs_free(&s);
}
END_TEST

START_TEST(many_restarts)
{
    kvs s = {0};
    gen_entries(&s, 5000, 0);
    tb_table t;
    build(&t, &s, 1 << 24, 1, 0);
    ck_assert_uint_eq(t.nblocks, 1);
    /* the one data block ends just before the metaindex; its last 4 bytes count restarts */
    layout l = layout_of(&t.out);
    ck_assert_uint_eq(ckpt_load_le32_test(t.out.p + l.data_end - 5 - 4), 5000);
    verify_table(t.out.p, t.out.n, &s, 13, 1);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

START_TEST(multiple_blocks)
{
    kvs s = {0};
    gen_entries(&s, 10000, 1);
    tb_table t;
    build(&t, &s, 4096, 16, 0);
    ck_assert_uint_gt(t.nblocks, 50);
    verify_table(t.out.p, t.out.n, &s, 7, t.nblocks);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

START_TEST(huge_entry_block)
{
    /* an entry much larger than the block size sits in a block of its own */
    kvs s = {0};
    size_t big = 300000;
    uint8_t *v = malloc(big);
    for (size_t i = 0; i < big; i++)
        v[i] = (uint8_t)(i * 13);
    kvs_add(&s, "a", 1, "small", 5);
    kvs_add(&s, "b", 1, v, big);
    kvs_add(&s, "c", 1, "tail", 4);
    tb_table t;
    build(&t, &s, 4096, 16, 0);
    ck_assert_uint_eq(t.nblocks, 2);
    verify_table(t.out.p, t.out.n, &s, 1, 2);
    tb_table_free(&t);
    build(&t, &s, 4096, 16, 1);
    verify_table(t.out.p, t.out.n, &s, 1, 2);
    tb_table_free(&t);
    free(v);
    kvs_free(&s);
}
END_TEST

START_TEST(snappy_blocks)
{
    kvs s = {0};
    gen_entries(&s, 3000, 1);
    tb_table t;
    build(&t, &s, 4096, 16, 1);
    ck_assert_uint_gt(t.nblocks, 10);
    verify_table(t.out.p, t.out.n, &s, 5, t.nblocks);
    tb_table_free(&t);
    /* one big compressed block too */
    build(&t, &s, 1 << 24, 16, 1);
    ck_assert_uint_eq(t.nblocks, 1);
    verify_table(t.out.p, t.out.n, &s, 5, 1);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

START_TEST(empty_table)
{
    kvs s = {0};
    tb_table t;
    build(&t, &s, 4096, 16, 0);
    ck_assert_uint_eq(t.nblocks, 0);
    verify_table(t.out.p, t.out.n, &s, 1, 0);
    tb_table_free(&t);
}
END_TEST

START_TEST(foreach_stop_and_abort)
{
    kvs s = {0};
    gen_entries(&s, 2000, 0);
    tb_table t;
    build(&t, &s, 4096, 16, 0);
    ckpt_err err = {0};
    ckpt_table *tab = NULL;
    ck_assert_int_eq(ckpt_table_open_mem(t.out.p, t.out.n, NAME, &tab, &err), 0);
    /* returning 1 stops early and foreach reports success */
    visit v = {&s, 0, 777};
    ck_assert_int_eq(ckpt_table_foreach(tab, check_visit, &v, &err), 0);
    ck_assert_uint_eq(v.i, 777);
    ckpt_table_close(tab);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

static int abort_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                       ckpt_err *err)
{
    (void)key, (void)klen, (void)val, (void)vlen;
    int *n = ctx;
    if (++*n == 5)
        return ckpt_err_set(err, CKPT_E_INVALID, "visitor says no");
    return 0;
}

START_TEST(foreach_abort_code)
{
    kvs s = {0};
    gen_entries(&s, 20, 0);
    tb_table t;
    build(&t, &s, 4096, 16, 0);
    ckpt_err err = {0};
    ckpt_table *tab = NULL;
    ck_assert_int_eq(ckpt_table_open_mem(t.out.p, t.out.n, NAME, &tab, &err), 0);
    int n = 0;
    ck_assert_int_eq(ckpt_table_foreach(tab, abort_visit, &n, &err), CKPT_E_INVALID);
    ck_assert_int_eq(n, 5);
    ckpt_table_close(tab);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

/* ---- corruption ---- */

static int count_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                       ckpt_err *err)
{
    (void)key, (void)klen, (void)val, (void)vlen, (void)err;
    ++*(size_t *)ctx;
    return 0;
}

/*
 * Open the file (from memory and from a descriptor) and visit everything, also trying a
 * lookup. Returns the first non-zero code seen (or 0), after checking that every failure is
 * CKPT_E_CORRUPT naming the table. The two paths must agree.
 */
static int try_table(const uint8_t *file, size_t n, const char *lookup)
{
    int results[2];
    char path[] = "/tmp/ckpt_test_table_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(tb_write_file(path, file, n), 0);
    unlink(path);
    uint8_t *c = exact_copy(file, n);
    for (int mode = 0; mode < 2; mode++) {
        ckpt_err err = {0};
        ckpt_table *t = NULL;
        int rc = mode == 0 ? ckpt_table_open_mem(c, n, NAME, &t, &err)
                           : ckpt_table_open_fd(fd, n, NAME, &t, &err);
        if (rc == 0) {
            size_t cnt = 0;
            rc = ckpt_table_foreach(t, count_visit, &cnt, &err);
            if (rc == 0 && lookup) {
                ckpt_err e2 = {0};
                uint8_t *val = NULL;
                size_t vlen;
                int g =
                    ckpt_table_get(t, (const uint8_t *)lookup, strlen(lookup), &val, &vlen, &e2);
                free(val);
                ck_assert_msg(g == 0 || g == CKPT_E_NOTFOUND || g == CKPT_E_CORRUPT, "get gave %d",
                              g);
                if (g == CKPT_E_CORRUPT)
                    ck_assert_msg(strstr(e2.msg, NAME), "message lacks name: %s", e2.msg);
            }
        }
        if (rc != 0) {
            ck_assert_msg(rc == CKPT_E_CORRUPT, "mode %d: code %d (%s)", mode, rc, err.msg);
            ck_assert_msg(strstr(err.msg, NAME) != NULL, "message lacks table name: %s", err.msg);
        }
        ckpt_table_close(t);
        results[mode] = rc;
    }
    free(c);
    close(fd);
    ck_assert_int_eq(results[0], results[1]);
    return results[0];
}

static void expect_corrupt(const uint8_t *file, size_t n, const char *lookup)
{
    ck_assert_int_eq(try_table(file, n, lookup), CKPT_E_CORRUPT);
}

/* A small valid table used as the base of the damage tests. */
static void small_table(tb_table *t, kvs *s)
{
    gen_entries(s, 200, 1);
    build(t, s, 1024, 4, 0);
    ck_assert_uint_gt(t->nblocks, 3);
}

START_TEST(too_short)
{
    tb_table t;
    kvs s = {0};
    small_table(&t, &s);
    for (size_t n = 0; n < 48; n++) {
        /* the last n bytes of a valid table: magic present but no room for a footer */
        expect_corrupt(t.out.p + t.out.n - n, n, NULL);
    }
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

START_TEST(bad_magic)
{
    tb_table t;
    kvs s = {0};
    small_table(&t, &s);
    uint8_t *f = exact_copy(t.out.p, t.out.n);
    for (size_t i = t.out.n - 8; i < t.out.n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            f[i] ^= (uint8_t)(1 << bit);
            expect_corrupt(f, t.out.n, NULL);
            f[i] ^= (uint8_t)(1 << bit);
        }
    }
    ck_assert_int_eq(try_table(f, t.out.n, NULL), 0);
    free(f);
    /* 48 zero bytes */
    uint8_t z[48] = {0};
    expect_corrupt(z, 48, NULL);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

/* A file = prefix bytes + footer built from raw handle bytes (padded to 40) + magic. */
static void footer_file(tb_buf *out, const uint8_t *prefix, size_t np, const uint8_t *handles,
                        size_t nh)
{
    out->n = 0;
    tb_put(out, prefix, np);
    tb_put(out, handles, nh);
    for (size_t i = nh; i < 40; i++)
        tb_put_u8(out, 0);
    tb_put_fixed32(out, 0x8b80fb57u);
    tb_put_fixed32(out, 0xdb477524u);
}

START_TEST(bad_handles)
{
    tb_table t;
    kvs s = {0};
    small_table(&t, &s);
    /* everything but the footer of a valid table, as the prefix */
    const uint8_t *pre = t.out.p;
    size_t np = t.out.n - 48;
    tb_buf f = {0};
    uint8_t h[40];

    /* 40 bytes of 0xff: the first varint never ends */
    memset(h, 0xff, 40);
    footer_file(&f, pre, np, h, 40);
    expect_corrupt(f.p, f.n, NULL);

    /* overflowing 10-byte varint */
    memset(h, 0, 40);
    memset(h, 0xff, 9);
    h[9] = 0x7f;
    footer_file(&f, pre, np, h, 40);
    expect_corrupt(f.p, f.n, NULL);

    /* valid metaindex handle, then an index handle whose size varint runs into the magic */
    tb_buf hb = {0};
    tb_encode_handle(&hb, (tb_handle){0, 8});
    tb_put_u8(&hb, 0x00); /* index offset 0 */
    while (hb.n < 40)
        tb_put_u8(&hb, 0x80);
    footer_file(&f, pre, np, hb.p, 40);
    expect_corrupt(f.p, f.n, NULL);

    /* index handles pointing outside the file, or overflowing offset+size */
    const tb_handle bad[] = {
        {np, 8},              /* starts at the footer: trailer would overlap it */
        {np + 48, 0},         /* at EOF */
        {0, np + 1},          /* runs past the blocks into the footer */
        {0, UINT64_MAX},      /* size overflow */
        {UINT64_MAX - 2, 10}, /* offset + size wraps */
        {UINT64_MAX, 0},
        {1ull << 62, 1ull << 62},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hb.n = 0;
        tb_encode_handle(&hb, (tb_handle){0, 8});
        tb_encode_handle(&hb, bad[i]);
        footer_file(&f, pre, np, hb.p, hb.n);
        expect_corrupt(f.p, f.n, NULL);
    }
    tb_buf_free(&hb);
    tb_buf_free(&f);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

/* Index block entries whose values are not usable data block handles. */
START_TEST(bad_data_handles)
{
    tb_buf out = {0};
    /* one real data block at offset 0 */
    tb_block d;
    tb_block_init(&d, 16);
    tb_block_add(&d, "a", 1, "1", 1);
    tb_block_add(&d, "b", 1, "2", 1);
    tb_block_finish(&d);

    struct {
        const uint8_t *v;
        size_t n;
    } vals[8];
    uint8_t bufs[8][24];
    size_t nv = 0;
    tb_buf tmp = {0};
    /* truncated varint */
    memcpy(bufs[nv], "\x80", 1);
    vals[nv].v = bufs[nv], vals[nv].n = 1, nv++;
    /* only an offset */
    memcpy(bufs[nv], "\x00", 1);
    vals[nv].v = bufs[nv], vals[nv].n = 1, nv++;
    /* 11-byte varint */
    memset(bufs[nv], 0x80, 11);
    bufs[nv][11] = 0;
    vals[nv].v = bufs[nv], vals[nv].n = 12, nv++;
    /* past the end, overlapping the index/footer, overflowing */
    const tb_handle hs[] = {{0, 100000}, {100000, 4}, {UINT64_MAX - 1, 8}, {0, UINT64_MAX}};
    for (size_t i = 0; i < 4; i++) {
        tmp.n = 0;
        tb_encode_handle(&tmp, hs[i]);
        memcpy(bufs[nv], tmp.p, tmp.n);
        vals[nv].v = bufs[nv], vals[nv].n = tmp.n, nv++;
    }
    for (size_t i = 0; i < nv; i++) {
        out.n = 0;
        tb_write_block(&out, d.buf.p, d.buf.n, 0);
        tb_block index;
        tb_block_init(&index, 1);
        tb_block_add(&index, "c", 1, vals[i].v, vals[i].n);
        tb_finish_file(&out, &index, 0);
        tb_block_free(&index);
        expect_corrupt(out.p, out.n, "a");
    }
    tb_buf_free(&tmp);
    tb_block_free(&d);
    tb_buf_free(&out);
}
END_TEST

/* Visit everything and compare with s; returns 0 if identical. */
static void expect_same_entries(const uint8_t *file, size_t n, const kvs *s)
{
    ckpt_err err = {0};
    ckpt_table *t = NULL;
    ck_assert_int_eq(ckpt_table_open_mem(file, n, NAME, &t, &err), 0);
    visit v = {s, 0, 0};
    ck_assert_int_eq(ckpt_table_foreach(t, check_visit, &v, &err), 0);
    ck_assert_uint_eq(v.i, s->n);
    ckpt_table_close(t);
}

START_TEST(flip_every_byte)
{
    tb_table t;
    kvs s = {0};
    gen_entries(&s, 60, 1);
    build(&t, &s, 512, 4, 0);
    ck_assert_uint_gt(t.nblocks, 2);
    layout l = layout_of(&t.out);
    ck_assert_uint_eq(l.index_end, t.out.n - 48);
    uint8_t *f = exact_copy(t.out.p, t.out.n);
    static const uint8_t xors[] = {0x01, 0x80, 0xff, 0x10};
    for (size_t i = 0; i < t.out.n; i++) {
        for (size_t x = 0; x < sizeof xors; x++) {
            f[i] ^= xors[x];
            int covered =
                i < l.data_end || (i >= l.index_off && i < l.index_end) || i >= t.out.n - 8;
            if (covered) {
                /* data blocks, the index block, their trailers and the magic are all
                 * protected: any change must be detected */
                ck_assert_msg(try_table(f, t.out.n, "model/layer_00001/bias") == CKPT_E_CORRUPT,
                              "flip 0x%02x at %zu (of %zu) not detected", xors[x], i, t.out.n);
            } else {
                /* metaindex (never read), footer handles and padding: either a clean error
                 * or a table that still reads exactly the same entries */
                if (try_table(f, t.out.n, "model/layer_00001/bias") == 0)
                    expect_same_entries(f, t.out.n, &s);
            }
            f[i] ^= xors[x];
        }
    }
    free(f);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

START_TEST(flip_snappy_table)
{
    tb_table t;
    kvs s = {0};
    gen_entries(&s, 60, 1);
    build(&t, &s, 512, 4, 1);
    layout l = layout_of(&t.out);
    uint8_t *f = exact_copy(t.out.p, t.out.n);
    for (size_t i = 0; i < t.out.n; i++) {
        f[i] ^= 0x04;
        int covered = i < l.data_end || (i >= l.index_off && i < l.index_end) || i >= t.out.n - 8;
        int rc = try_table(f, t.out.n, "model/layer_00002/kernel");
        if (covered)
            ck_assert_msg(rc == CKPT_E_CORRUPT, "flip at %zu not detected", i);
        else if (rc == 0)
            expect_same_entries(f, t.out.n, &s);
        f[i] ^= 0x04;
    }
    free(f);
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

START_TEST(truncate_everywhere)
{
    tb_table t;
    kvs s = {0};
    gen_entries(&s, 60, 1);
    build(&t, &s, 512, 4, 0);
    for (size_t n = 0; n < t.out.n; n++) {
        /* a truncated file keeps no footer at its end: always corrupt */
        expect_corrupt(t.out.p, n, "model/layer_00001/bias");
    }
    tb_table_free(&t);
    kvs_free(&s);
}
END_TEST

/* ---- malformed blocks with valid checksums ---- */

static void corrupt_block(const uint8_t *contents, size_t n, uint8_t type)
{
    tb_buf f = {0};
    tb_single_block_file(&f, contents, n, type, "\xff\xff\xff\xff");
    expect_corrupt(f.p, f.n, "a");
    tb_buf_free(&f);
}

/* A well-formed block of a few entries. */
static void good_block(tb_block *b)
{
    tb_block_init(b, 2);
    tb_block_add(b, "a", 1, "1", 1);
    tb_block_add(b, "ab", 2, "22", 2);
    tb_block_add(b, "abc", 3, "333", 3);
    tb_block_add(b, "b", 1, "4444", 4);
    tb_block_finish(b);
}

START_TEST(single_block_sanity)
{
    /* the harness itself: a good block through tb_single_block_file reads fine */
    tb_block b;
    good_block(&b);
    tb_buf f = {0};
    tb_single_block_file(&f, b.buf.p, b.buf.n, 0, "\xff\xff\xff\xff");
    kvs s = {0};
    kvs_add(&s, "a", 1, "1", 1);
    kvs_add(&s, "ab", 2, "22", 2);
    kvs_add(&s, "abc", 3, "333", 3);
    kvs_add(&s, "b", 1, "4444", 4);
    ck_assert_int_eq(try_table(f.p, f.n, "abc"), 0);
    expect_same_entries(f.p, f.n, &s);
    /* and compressed */
    size_t clen = snappy_max_compressed_length(b.buf.n);
    char *c = malloc(clen);
    ck_assert_int_eq(snappy_compress((const char *)b.buf.p, b.buf.n, c, &clen), SNAPPY_OK);
    tb_single_block_file(&f, (const uint8_t *)c, clen, 1, "\xff\xff\xff\xff");
    expect_same_entries(f.p, f.n, &s);
    free(c);
    kvs_free(&s);
    tb_buf_free(&f);
    tb_block_free(&b);
}
END_TEST

START_TEST(bad_block_type)
{
    tb_block b;
    good_block(&b);
    static const uint8_t types[] = {2, 3, 0x80, 0xff};
    for (size_t i = 0; i < sizeof types; i++)
        corrupt_block(b.buf.p, b.buf.n, types[i]);
    tb_block_free(&b);
}
END_TEST

START_TEST(bad_snappy)
{
    tb_block b;
    good_block(&b);
    size_t clen = snappy_max_compressed_length(b.buf.n);
    uint8_t *c = malloc(clen);
    ck_assert_int_eq(snappy_compress((const char *)b.buf.p, b.buf.n, (char *)c, &clen), SNAPPY_OK);
    /* raw, uncompressed contents labelled as snappy */
    corrupt_block(b.buf.p, b.buf.n, 1);
    /* compressed data cut short */
    for (size_t n = 0; n < clen; n++)
        corrupt_block(c, n, 1);
    /* garbage after a plausible length */
    static const uint8_t g[] = {0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    corrupt_block(g, sizeof g, 1);
    /* a copy reaching before the start of the output */
    static const uint8_t back[] = {0x10, 0x01 | (4 << 2), 0x40};
    corrupt_block(back, sizeof back, 1);
    free(c);
    tb_block_free(&b);
}
END_TEST

START_TEST(snappy_huge_length)
{
    /* claims 4 GiB - 1 of output from a handful of bytes */
    static const uint8_t h1[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 'a'};
    corrupt_block(h1, sizeof h1, 1);
    /* claims 256 MiB with a literal of 4 bytes */
    static const uint8_t h2[] = {0x80, 0x80, 0x80, 0x80, 0x01, 0x0c, 'a', 'b', 'c', 'd'};
    corrupt_block(h2, sizeof h2, 1);
    /* an overlong length varint */
    static const uint8_t h3[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    corrupt_block(h3, sizeof h3, 1);
}
END_TEST

/* One entry "a" whose value is vlen zero bytes, its block snappy-compressed. */
static void zeros_block_file(tb_buf *f, size_t vlen)
{
    uint8_t *v = calloc(vlen, 1);
    tb_block b;
    tb_block_init(&b, 16);
    tb_block_add(&b, "a", 1, (const char *)v, vlen);
    tb_block_finish(&b);
    size_t clen = snappy_max_compressed_length(b.buf.n);
    char *c = malloc(clen);
    ck_assert_int_eq(snappy_compress((const char *)b.buf.p, b.buf.n, c, &clen), SNAPPY_OK);
    /* zeros compress about 21 to 1: within the ratio Snappy allows */
    ck_assert_uint_lt(b.buf.n / 32, clen);
    tb_single_block_file(f, (const uint8_t *)c, clen, 1, "\xff\xff\xff\xff");
    free(c);
    free(v);
    tb_block_free(&b);
}

START_TEST(snappy_block_over_cap)
{
    /* A block that honestly decompresses to 65 MiB: more than any table block may hold
     * (docs/format.md, "Tables"), refused before the allocation; 1 MiB still reads. */
    tb_buf f = {0};
    zeros_block_file(&f, 65u << 20);
    expect_corrupt(f.p, f.n, "a");
    tb_buf_free(&f);
    tb_buf g = {0};
    zeros_block_file(&g, 1u << 20);
    ck_assert_int_eq(try_table(g.p, g.n, "a"), 0);
    tb_buf_free(&g);
}
END_TEST

START_TEST(snappy_decodes_to_bad_block)
{
    /* valid snappy whose output is a 2-byte block */
    static const uint8_t s2[] = {0x02, 0x04, 0x00, 0x00};
    corrupt_block(s2, sizeof s2, 1);
}
END_TEST

START_TEST(block_too_small)
{
    static const uint8_t z[4] = {0};
    for (size_t n = 0; n < 4; n++)
        corrupt_block(z, n, 0);
}
END_TEST

START_TEST(restart_count_too_large)
{
    tb_block b;
    good_block(&b);
    uint32_t counts[] = {1000, 0x40000000u, 0xffffffffu, 0};
    size_t body = b.buf.n - 4;
    counts[3] = (uint32_t)(b.buf.n / 4); /* needs 4*(n+1) > size */
    for (size_t i = 0; i < 4; i++) {
        tb_buf f = {0};
        tb_put(&f, b.buf.p, body);
        tb_put_fixed32(&f, counts[i]);
        corrupt_block(f.p, f.n, 0);
        tb_buf_free(&f);
    }
    tb_block_free(&b);
}
END_TEST

/* A block from raw entry records, with one restart at 0. */
static void raw_block(tb_buf *blk, const uint8_t *entries, size_t n)
{
    blk->n = 0;
    tb_put(blk, entries, n);
    tb_put_fixed32(blk, 0);
    tb_put_fixed32(blk, 1);
}

START_TEST(shared_longer_than_previous_key)
{
    tb_buf blk = {0};
    /* first entry claims 3 shared bytes of a non-existent previous key */
    static const uint8_t e1[] = {3, 1, 1, 'a', 'x'};
    raw_block(&blk, e1, sizeof e1);
    corrupt_block(blk.p, blk.n, 0);
    /* second entry shares 5 bytes of the 2-byte key "ab" */
    static const uint8_t e2[] = {0, 2, 1, 'a', 'b', 'x', 5, 1, 1, 'c', 'y'};
    raw_block(&blk, e2, sizeof e2);
    corrupt_block(blk.p, blk.n, 0);
    /* huge shared count */
    static const uint8_t e3[] = {0, 1, 0, 'a', 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0, 'b'};
    raw_block(&blk, e3, sizeof e3);
    corrupt_block(blk.p, blk.n, 0);
    tb_buf_free(&blk);
}
END_TEST

START_TEST(lengths_past_block_end)
{
    tb_buf blk = {0};
    /* key length past the end of the entries area */
    static const uint8_t k1[] = {0, 40, 0, 'a', 'b'};
    raw_block(&blk, k1, sizeof k1);
    corrupt_block(blk.p, blk.n, 0);
    /* value length past the end (it would reach into the restart array and beyond) */
    static const uint8_t v1[] = {0, 1, 200, 'a', 'v'};
    raw_block(&blk, v1, sizeof v1);
    corrupt_block(blk.p, blk.n, 0);
    /* value length that exactly covers the restart array: still outside the entries area */
    static const uint8_t v2[] = {0, 1, 9, 'a', 'v'};
    raw_block(&blk, v2, sizeof v2);
    corrupt_block(blk.p, blk.n, 0);
    /* huge lengths (overflow bait) */
    static const uint8_t v3[] = {0,    0xff, 0xff, 0xff, 0xff, 0x0f,
                                 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'};
    raw_block(&blk, v3, sizeof v3);
    corrupt_block(blk.p, blk.n, 0);
    /* entry header cut by the end of the entries area */
    static const uint8_t h1[] = {0, 1, 1, 'a', 'v', 0, 0x81};
    raw_block(&blk, h1, sizeof h1);
    corrupt_block(blk.p, blk.n, 0);
    static const uint8_t h2[] = {0, 1, 1, 'a', 'v', 0};
    raw_block(&blk, h2, sizeof h2);
    corrupt_block(blk.p, blk.n, 0);
    /* overlong varint in the header */
    static const uint8_t h3[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 1, 'a', 'v'};
    raw_block(&blk, h3, sizeof h3);
    corrupt_block(blk.p, blk.n, 0);
    tb_buf_free(&blk);
}
END_TEST

START_TEST(keys_out_of_order)
{
    tb_buf blk = {0};
    static const uint8_t d1[] = {0, 1, 1, 'b', '1', 0, 1, 1, 'a', '2'};
    raw_block(&blk, d1, sizeof d1);
    corrupt_block(blk.p, blk.n, 0);
    /* duplicate key */
    static const uint8_t d2[] = {0, 1, 1, 'a', '1', 0, 1, 1, 'a', '2'};
    raw_block(&blk, d2, sizeof d2);
    corrupt_block(blk.p, blk.n, 0);
    /* duplicate via prefix sharing: "ab" then shared 2 + "" = "ab" */
    static const uint8_t d3[] = {0, 2, 1, 'a', 'b', '1', 2, 0, 1, '2'};
    raw_block(&blk, d3, sizeof d3);
    corrupt_block(blk.p, blk.n, 0);
    /* shorter key after its extension: "ab" then "a" */
    static const uint8_t d4[] = {0, 2, 1, 'a', 'b', '1', 1, 0, 1, '2'};
    raw_block(&blk, d4, sizeof d4);
    corrupt_block(blk.p, blk.n, 0);
    /* signed-char trap: 0x80 then 0x7f is descending */
    static const uint8_t d5[] = {0, 1, 1, 0x80, '1', 0, 1, 1, 0x7f, '2'};
    raw_block(&blk, d5, sizeof d5);
    corrupt_block(blk.p, blk.n, 0);
    tb_buf_free(&blk);
}
END_TEST

START_TEST(keys_out_of_order_across_blocks)
{
    tb_buf out = {0};
    tb_block b0, b1;
    tb_block_init(&b0, 16);
    tb_block_init(&b1, 16);
    tb_block_add(&b0, "m", 1, "1", 1);
    tb_block_add(&b0, "n", 1, "2", 1);
    tb_block_add(&b1, "c", 1, "3", 1); /* smaller than the previous block's keys */
    tb_block_finish(&b0);
    tb_block_finish(&b1);
    tb_handle h0 = tb_write_block(&out, b0.buf.p, b0.buf.n, 0);
    tb_handle h1 = tb_write_block(&out, b1.buf.p, b1.buf.n, 0);
    tb_block index;
    tb_block_init(&index, 1);
    tb_buf v = {0};
    tb_encode_handle(&v, h0);
    tb_block_add(&index, "n", 1, v.p, v.n);
    v.n = 0;
    tb_encode_handle(&v, h1);
    tb_block_add(&index, "o", 1, v.p, v.n);
    tb_finish_file(&out, &index, 0);
    expect_corrupt(out.p, out.n, NULL);
    tb_buf_free(&v);
    tb_block_free(&index);
    tb_block_free(&b0);
    tb_block_free(&b1);
    tb_buf_free(&out);
}
END_TEST

START_TEST(bad_index_block)
{
    /* a structurally broken index block (valid crc) fails the open */
    tb_buf out = {0};
    tb_block d;
    good_block(&d);
    tb_handle h = tb_write_block(&out, d.buf.p, d.buf.n, 0);
    tb_handle mh;
    {
        tb_block meta;
        tb_block_init(&meta, 1);
        tb_block_finish(&meta);
        mh = tb_write_block(&out, meta.buf.p, meta.buf.n, 0);
        tb_block_free(&meta);
    }
    tb_buf idx = {0};
    tb_buf hv = {0};
    tb_encode_handle(&hv, h);
    /* entry "z" -> handle, but the key length overruns */
    tb_put_u8(&idx, 0);
    tb_put_u8(&idx, 50);
    tb_put_u8(&idx, (uint8_t)hv.n);
    tb_put_u8(&idx, 'z');
    tb_put(&idx, hv.p, hv.n);
    tb_put_fixed32(&idx, 0);
    tb_put_fixed32(&idx, 1);
    tb_handle ih = tb_write_block(&out, idx.p, idx.n, 0);
    tb_write_footer(&out, mh, ih);
    expect_corrupt(out.p, out.n, "a");
    tb_buf_free(&hv);
    tb_buf_free(&idx);
    tb_block_free(&d);
    tb_buf_free(&out);
}
END_TEST

START_TEST(restart_offset_outside)
{
    /* restart points beyond the entries area must not be followed blindly: any outcome but a
     * crash is acceptable for a lookup, and visiting is either exact or a clean error */
    tb_buf blk = {0};
    static const uint8_t e[] = {0, 1, 1, 'a', '1', 0, 1, 1, 'b', '2'};
    const uint32_t offs[] = {5, 10, 11, 1000, 0xffffffffu};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        blk.n = 0;
        tb_put(&blk, e, sizeof e);
        tb_put_fixed32(&blk, 0);
        tb_put_fixed32(&blk, offs[i]);
        tb_put_fixed32(&blk, 2);
        tb_buf f = {0};
        tb_single_block_file(&f, blk.p, blk.n, 0, "\xff\xff\xff\xff");
        /* try_table's verdict is the open and the walk's; the same for every lookup */
        int rc = try_table(f.p, f.n, "b");
        ck_assert(rc == 0 || rc == CKPT_E_CORRUPT);
        ck_assert_int_eq(try_table(f.p, f.n, "a"), rc);
        ck_assert_int_eq(try_table(f.p, f.n, "c"), rc);
        /* 5 is where "b" starts: a valid second restart, so the table is exact */
        if (offs[i] == 5)
            ck_assert_int_eq(rc, 0);
        /* whatever the restart, a lookup answers the stored value or an error, never other
         * bytes, and never finds the absent "c" */
        uint8_t *c = exact_copy(f.p, f.n);
        ckpt_err err = {0};
        ckpt_table *t = NULL;
        if (ckpt_table_open_mem(c, f.n, NAME, &t, &err) == 0) {
            static const char *const keys[] = {"a", "b", "c"};
            static const char *const vals[] = {"1", "2", NULL};
            for (size_t k = 0; k < 3; k++) {
                uint8_t *val = NULL;
                size_t vlen = 0;
                ckpt_err e2 = {0};
                int g = ckpt_table_get(t, (const uint8_t *)keys[k], 1, &val, &vlen, &e2);
                if (g == 0) {
                    ck_assert_msg(vals[k] != NULL, "restart %u: absent key %s found", offs[i],
                                  keys[k]);
                    ck_assert_uint_eq(vlen, 1);
                    ck_assert_mem_eq(val, vals[k], 1);
                } else {
                    ck_assert_msg(g == CKPT_E_NOTFOUND || g == CKPT_E_CORRUPT,
                                  "restart %u: get %s gave %d", offs[i], keys[k], g);
                    /* a valid table answers every present key */
                    ck_assert_msg(offs[i] != 5 || vals[k] == NULL,
                                  "restart 5: %s not found (%d: %s)", keys[k], g, e2.msg);
                }
                free(val);
            }
            ckpt_table_close(t);
        }
        free(c);
        tb_buf_free(&f);
    }
    tb_buf_free(&blk);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("table");
    TCase *ok = tcase_create("valid");
    tcase_set_timeout(ok, 120);
    tcase_add_test(ok, one_block);
    tcase_add_test(ok, bytewise_unsigned_order);
    tcase_add_test(ok, shared_prefixes_interval_16_and_1);
    tcase_add_test(ok, many_restarts);
    tcase_add_test(ok, multiple_blocks);
    tcase_add_test(ok, huge_entry_block);
    tcase_add_test(ok, snappy_blocks);
    tcase_add_test(ok, empty_table);
    tcase_add_test(ok, foreach_stop_and_abort);
    tcase_add_test(ok, foreach_abort_code);
    tcase_add_test(ok, single_block_sanity);
    suite_add_tcase(s, ok);

    TCase *bad = tcase_create("corrupt");
    tcase_set_timeout(bad, 300);
    tcase_add_test(bad, too_short);
    tcase_add_test(bad, bad_magic);
    tcase_add_test(bad, bad_handles);
    tcase_add_test(bad, bad_data_handles);
    tcase_add_test(bad, flip_every_byte);
    tcase_add_test(bad, flip_snappy_table);
    tcase_add_test(bad, truncate_everywhere);
    tcase_add_test(bad, bad_block_type);
    tcase_add_test(bad, bad_snappy);
    tcase_add_test(bad, snappy_huge_length);
    tcase_add_test(bad, snappy_block_over_cap);
    tcase_add_test(bad, snappy_decodes_to_bad_block);
    tcase_add_test(bad, block_too_small);
    tcase_add_test(bad, restart_count_too_large);
    tcase_add_test(bad, shared_longer_than_previous_key);
    tcase_add_test(bad, lengths_past_block_end);
    tcase_add_test(bad, keys_out_of_order);
    tcase_add_test(bad, keys_out_of_order_across_blocks);
    tcase_add_test(bad, bad_index_block);
    tcase_add_test(bad, restart_offset_outside);
    suite_add_tcase(s, bad);

    return ckpt_check_run(s);
}
