/*
 * test_checkpoint.c - ckpt_open / ckpt_read on real third-party checkpoints (CKPT_REALCKPT).
 *
 * Expected values come from the checkpoints' README facts and from TensorFlow 2.21's own
 * tf.train.load_checkpoint on the same files (variable counts, names, dtypes, shapes); checksums
 * are the ones TF stored in the index. Each test skips (passes) when its folder is absent.
 */
#include "checkpoint.h"
#include "crc32c.h"
#include "dtype.h"

#include "check_run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_path[4096];

/* Path of CKPT_REALCKPT/rel. main checked every top folder first (skipping, or failing in
 * CI, when one is absent), so an absent one here fails the test. rel itself may be a prefix,
 * which is no file. */
static const char *real(const char *rel)
{
    const char *root = getenv("CKPT_REALCKPT");
    ck_assert_msg(root && *root, "CKPT_REALCKPT is not set");
    size_t top = strcspn(rel, "/");
    snprintf(g_path, sizeof g_path, "%s/%.*s", root, (int)top, rel);
    ck_assert_msg(access(g_path, R_OK) == 0, "%s absent", g_path);
    snprintf(g_path, sizeof g_path, "%s/%s", root, rel);
    return g_path;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static ckpt_checkpoint *open_ok(const char *src, unsigned flags)
{
    ckpt_checkpoint *c = NULL;
    ckpt_err err = {0};
    int rc = ckpt_open(src, flags, &c, &err);
    ck_assert_msg(rc == 0, "ckpt_open(%s): %d %s", src, rc, err.msg);
    ck_assert_ptr_nonnull(c);
    return c;
}

static size_t find_ok(ckpt_checkpoint *c, const char *name)
{
    size_t idx = (size_t)-1;
    ck_assert_msg(ckpt_find(c, name, strlen(name), &idx) == 0, "not found: %s", name);
    ck_assert_uint_lt(idx, ckpt_count(c));
    ckpt_var v;
    ckpt_get(c, idx, &v);
    ck_assert_str_eq(v.name, name);
    ck_assert_uint_eq(v.name_len, strlen(name));
    return idx;
}

/* Read a whole variable and compare with the expected bytes. */
static void expect_bytes(ckpt_checkpoint *c, const char *name, const void *want, size_t n)
{
    size_t i = find_ok(c, name);
    uint8_t *buf = NULL;
    size_t len = 0;
    ckpt_err err = {0};
    int rc = ckpt_read_all(c, i, &buf, &len, &err);
    ck_assert_msg(rc == 0, "read_all(%s): %d %s", name, rc, err.msg);
    ck_assert_uint_eq(len, n);
    ck_assert_mem_eq(buf, want, n);
    free(buf);
}

/* ---- serving_sm_half_plus_two_tf214: SavedModel, snappy index data block ---- */

#define SM "serving_sm_half_plus_two_tf214"
#define VV "/.ATTRIBUTES/VARIABLE_VALUE"

static void check_half_plus_two(ckpt_checkpoint *c)
{
    ck_assert(ends_with(ckpt_prefix(c), SM "/variables/variables"));
    ck_assert_ptr_null(ckpt_meta_path(c));
    ck_assert_int_eq(ckpt_num_shards(c), 1);
    ck_assert(ckpt_shard_present(c, 0));
    ck_assert_int_ge(ckpt_shard_fd(c, 0), 0);
    ck_assert(ends_with(ckpt_shard_path(c, 0), "variables.data-00000-of-00001"));
    /* TF: 4 variables, in bytewise order ('_' 0x5f sorts before 'a') */
    ck_assert_uint_eq(ckpt_count(c), 4);
    static const char *names[] = {"_CHECKPOINTABLE_OBJECT_GRAPH", "a" VV, "b" VV, "c" VV};
    for (size_t i = 0; i < 4; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        ck_assert_str_eq(v.name, names[i]);
        ck_assert_int_eq(v.rank, 0);
        ck_assert_int_eq(v.shard, 0);
        ck_assert_int_eq(v.flags & CKPT_VAR_SHARD_MISSING, 0);
        if (i == 0) {
            ck_assert_int_eq(v.dtype, CKPT_DT_STRING);
            ck_assert_uint_eq(v.nbytes, 619); /* README: 619 bytes at offset 12 */
            ck_assert_uint_eq(v.offset, 12);
        } else {
            ck_assert_int_eq(v.dtype, CKPT_DT_FLOAT);
            ck_assert_uint_eq(v.nbytes, 4);
            ck_assert(v.flags & CKPT_VAR_HAS_CRC);
        }
    }
    /* float32 little-endian: 0.5 = 0x3f000000, 2.0 = 0x40000000, 3.0 = 0x40400000 */
    static const uint8_t half[] = {0, 0, 0, 0x3f}, two[] = {0, 0, 0, 0x40},
                         three[] = {0, 0, 0x40, 0x40};
    expect_bytes(c, "a" VV, half, 4);
    expect_bytes(c, "b" VV, two, 4);
    expect_bytes(c, "c" VV, three, 4);
}

START_TEST(sm_open_by_any_name)
{
    static const char *rels[] = {
        SM,
        SM "/",
        SM "/variables/variables",
        SM "/variables/variables.index",
        SM "/variables/variables.data-00000-of-00001",
    };
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
        const char *p = real(rels[i]);
        ckpt_checkpoint *c = open_ok(p, 0);
        check_half_plus_two(c);
        ckpt_close(c);
    }
}
END_TEST

START_TEST(sm_object_graph_string)
{
    const char *p = real(SM);
    ckpt_checkpoint *c = open_ok(p, 0);
    size_t i = find_ok(c, "_CHECKPOINTABLE_OBJECT_GRAPH");
    uint8_t *buf = NULL;
    ckpt_str *el = NULL;
    uint64_t n = 0;
    ckpt_err err = {0};
    int rc = ckpt_read_strings(c, i, &buf, &el, &n, &err);
    ck_assert_msg(rc == 0, "%d %s", rc, err.msg);
    ck_assert_uint_eq(n, 1);
    /* 619 = 2-byte varint length + 4-byte checksum + 613 bytes */
    ck_assert_uint_eq(el[0].len, 613);
    ck_assert_ptr_eq(el[0].ptr, buf + 6);
    /* a TrackableObjectGraph: field 1 (nodes), length-delimited */
    ck_assert_uint_eq(el[0].ptr[0], 0x0a);
    free(el);
    free(buf);
    /* read_all gives the stored encoding, verified */
    size_t len;
    ck_assert_int_eq(ckpt_read_all(c, i, &buf, &len, &err), 0);
    ck_assert_uint_eq(len, 619);
    ck_assert_uint_eq(buf[0], 0xe5); /* 613 = varint e5 04 */
    ck_assert_uint_eq(buf[1], 0x04);
    free(buf);
    ckpt_close(c);
}
END_TEST

START_TEST(data_read_counters)
{
    const char *p = real(SM);
    ckpt_checkpoint *c = open_ok(p, 0);
    /* listing reads no data */
    for (size_t i = 0; i < ckpt_count(c); i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
    }
    size_t idx;
    ck_assert_int_eq(ckpt_find(c, "b" VV, strlen("b" VV), &idx), 0);
    ck_assert_uint_eq(ckpt_data_reads(c), 0);
    ck_assert_uint_eq(ckpt_data_bytes(c), 0);
    uint8_t *buf;
    size_t len;
    ckpt_err err = {0};
    ck_assert_int_eq(ckpt_read_all(c, idx, &buf, &len, &err), 0);
    free(buf);
    ck_assert_uint_ge(ckpt_data_reads(c), 1);
    ck_assert_uint_eq(ckpt_data_bytes(c), 4);
    uint64_t r1 = ckpt_data_reads(c);
    ck_assert_int_eq(ckpt_read_all(c, find_ok(c, "_CHECKPOINTABLE_OBJECT_GRAPH"), &buf, &len, &err),
                     0);
    free(buf);
    ck_assert_uint_gt(ckpt_data_reads(c), r1);
    ck_assert_uint_eq(ckpt_data_bytes(c), 4 + 619);
    ckpt_close(c);
}
END_TEST

START_TEST(find_hits_and_misses)
{
    const char *p = real(SM);
    ckpt_checkpoint *c = open_ok(p, 0);
    for (size_t i = 0; i < ckpt_count(c); i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        size_t idx = 99;
        ck_assert_int_eq(ckpt_find(c, v.name, v.name_len, &idx), 0);
        ck_assert_uint_eq(idx, i);
    }
    static const char *miss[] = {
        "", /* the header key is not a variable */
        "a",
        "a/.ATTRIBUTES",
        "a/.ATTRIBUTES/VARIABLE_VALUE/",
        "a/.ATTRIBUTES/VARIABLE_VALUEx",
        "A/.ATTRIBUTES/VARIABLE_VALUE",
        "d/.ATTRIBUTES/VARIABLE_VALUE",
        "_CHECKPOINTABLE_OBJECT_GRAP",
        "zzz",
    };
    for (size_t i = 0; i < sizeof miss / sizeof miss[0]; i++) {
        size_t idx;
        ck_assert_msg(ckpt_find(c, miss[i], strlen(miss[i]), &idx) == CKPT_E_NOTFOUND, "found '%s'",
                      miss[i]);
    }
    /* the length counts, not a terminating NUL */
    size_t idx;
    ck_assert_int_eq(ckpt_find(c, "a/.ATTRIBUTES/VARIABLE_VALUE", 5, &idx), CKPT_E_NOTFOUND);
    ck_assert_int_eq(ckpt_find(c, "b/.ATTRIBUTES/VARIABLE_VALUE!!", strlen("b" VV), &idx), 0);
    ck_assert_uint_eq(idx, 2);
    ckpt_close(c);
}
END_TEST

START_TEST(missing_source)
{
    const char *p = real(SM);
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/no_such_checkpoint", p);
    ckpt_checkpoint *c = NULL;
    ckpt_err err = {0};
    int rc = ckpt_open(bad, 0, &c, &err);
    ck_assert_int_eq(rc, CKPT_E_NOTFOUND);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err.msg, "no_such_checkpoint") != NULL, "message: %s", err.msg);
}
END_TEST

/* ---- little_ruan_tf2_2shard: two shards, Keras object-based names ---- */

#define LR "little_ruan_tf2_2shard"

START_TEST(two_shards)
{
    static const char *rels[] = {LR, LR "/model.ckpt", LR "/model.ckpt.index",
                                 LR "/model.ckpt.data-00001-of-00002"};
    for (size_t k = 0; k < 4; k++) {
        const char *p = real(rels[k]);
        ckpt_checkpoint *c = open_ok(p, 0);
        ck_assert(ends_with(ckpt_prefix(c), LR "/model.ckpt"));
        ck_assert_int_eq(ckpt_num_shards(c), 2);
        ck_assert(ckpt_shard_present(c, 0) && ckpt_shard_present(c, 1));
        /* TF lists 18 variables (the index has 19 keys counting the "" header) */
        ck_assert_uint_eq(ckpt_count(c), 18);
        /* optimizer/iter: int64 3840 = 0x0f00, little-endian */
        static const uint8_t iter[8] = {0x00, 0x0f, 0, 0, 0, 0, 0, 0};
        expect_bytes(c, "optimizer/iter" VV, iter, 8);
        ckpt_var v;
        ckpt_get(c, find_ok(c, "optimizer/iter" VV), &v);
        ck_assert_int_eq(v.dtype, CKPT_DT_INT64);
        ck_assert_int_eq(v.shard, 1);
        ckpt_get(c, find_ok(c, "_CHECKPOINTABLE_OBJECT_GRAPH"), &v);
        ck_assert_int_eq(v.dtype, CKPT_DT_STRING);
        ck_assert_int_eq(v.shard, 0);
        ck_assert_uint_eq(v.nbytes, 2091); /* all of shard 0 */
        ckpt_get(c, find_ok(c, "layer-1/kernel" VV), &v);
        ck_assert_int_eq(v.dtype, CKPT_DT_FLOAT);
        ck_assert_int_eq(v.rank, 2);
        ck_assert_int_eq(v.dims[0], 4);
        ck_assert_int_eq(v.dims[1], 128);
        ck_assert_uint_eq(v.nbytes, 4 * 128 * 4);
        ck_assert(v.flags & CKPT_VAR_HAS_CRC);
        /* every variable reads and verifies, and names are strictly increasing */
        for (size_t i = 0; i < ckpt_count(c); i++) {
            uint8_t *buf;
            size_t len;
            ckpt_err err = {0};
            ckpt_get(c, i, &v);
            ck_assert_msg(ckpt_read_all(c, i, &buf, &len, &err) == 0, "%s: %s", v.name, err.msg);
            ck_assert_uint_eq(len, v.nbytes);
            /* a string's stored crc covers its lengths in another form (tstring.h) */
            if ((v.flags & CKPT_VAR_HAS_CRC) && v.dtype != CKPT_DT_STRING)
                ck_assert_uint_eq(ckpt_crc32c(buf, len), v.crc32c);
            free(buf);
            if (i) {
                ckpt_var u;
                ckpt_get(c, i - 1, &u);
                size_t m = u.name_len < v.name_len ? u.name_len : v.name_len;
                int cmp = memcmp(u.name, v.name, m);
                ck_assert(cmp < 0 || (cmp == 0 && u.name_len < v.name_len));
            }
        }
        ckpt_close(c);
    }
}
END_TEST

START_TEST(read_ranges_and_crc_state)
{
    const char *p = real(LR);
    ckpt_checkpoint *c = open_ok(p, 0);
    size_t i = find_ok(c, "layer-2/kernel/.OPTIMIZER_SLOT/optimizer/m" VV);
    ckpt_var v;
    ckpt_get(c, i, &v);
    ck_assert_uint_eq(v.nbytes, 128 * 3 * 4);
    ck_assert(v.flags & CKPT_VAR_HAS_CRC);
    uint8_t *full;
    size_t flen;
    ckpt_err err = {0};
    ck_assert_int_eq(ckpt_read_all(c, i, &full, &flen, &err), 0);
    /* the stored checksum (TF's) matches the bytes */
    ck_assert_uint_eq(ckpt_crc32c(full, flen), v.crc32c);

    uint8_t buf[2000];
    size_t got;
    static const size_t chunks[] = {1, 7, 100, 333, 512, 1536, 4096};
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        /* sequential reads: the checksum is verified on the read that reaches the end */
        ckpt_crc_state st = {0};
        uint64_t off = 0;
        for (;;) {
            size_t want = chunks[k] < sizeof buf ? chunks[k] : sizeof buf;
            int rc = ckpt_read(c, i, buf, want, off, &got, &st, &err);
            ck_assert_msg(rc == 0, "%d %s", rc, err.msg);
            if (got == 0)
                break;
            ck_assert_uint_le(off + got, flen);
            ck_assert_mem_eq(buf, full + off, got);
            off += got;
            ck_assert_uint_eq(st.pos, off);
        }
        ck_assert_uint_eq(off, flen);
        ck_assert_uint_eq(st.crc, v.crc32c);
    }

    /* a sequential reader whose running crc is wrong (as if it had received damaged bytes)
     * must be told at the end */
    ckpt_crc_state bad = {0, 0x12345678u};
    ck_assert_int_eq(ckpt_read(c, i, buf, 1000, 0, &got, &bad, &err), 0);
    ck_assert_int_eq(ckpt_read(c, i, buf, 1000, 1000, &got, &bad, &err), CKPT_E_CORRUPT);

    /* out of order: the state gives up, the bytes are still right, nothing is claimed */
    ckpt_crc_state st = {0};
    ck_assert_int_eq(ckpt_read(c, i, buf, 100, 700, &got, &st, &err), 0);
    ck_assert_uint_eq(got, 100);
    ck_assert_mem_eq(buf, full + 700, 100);
    ck_assert_uint_eq(st.pos, UINT64_MAX);
    ck_assert_int_eq(ckpt_read(c, i, buf, 700, 0, &got, &st, &err), 0);
    ck_assert_uint_eq(st.pos, UINT64_MAX);
    ck_assert_int_eq(ckpt_read(c, i, buf, sizeof buf, 800, &got, &st, &err), 0);
    ck_assert_uint_eq(got, flen - 800);
    ck_assert_uint_eq(st.pos, UINT64_MAX);
    /* a skip forward is out of order too */
    ckpt_crc_state st2 = {0};
    ck_assert_int_eq(ckpt_read(c, i, buf, 10, 0, &got, &st2, &err), 0);
    ck_assert_int_eq(ckpt_read(c, i, buf, 10, 20, &got, &st2, &err), 0);
    ck_assert_uint_eq(st2.pos, UINT64_MAX);

    /* ranges at and past the end, without a state */
    ck_assert_int_eq(ckpt_read(c, i, buf, 10, flen - 4, &got, NULL, &err), 0);
    ck_assert_uint_eq(got, 4);
    ck_assert_mem_eq(buf, full + flen - 4, 4);
    ck_assert_int_eq(ckpt_read(c, i, buf, 10, flen, &got, NULL, &err), 0);
    ck_assert_uint_eq(got, 0);
    ck_assert_int_eq(ckpt_read(c, i, buf, 10, flen + 12345, &got, NULL, &err), 0);
    ck_assert_uint_eq(got, 0);
    ck_assert_int_eq(ckpt_read(c, i, buf, 10, UINT64_MAX, &got, NULL, &err), 0);
    ck_assert_uint_eq(got, 0);
    free(full);
    ckpt_close(c);
}
END_TEST

/* ---- t5x_mtf_tiny_bf16_partial: shard 1 of 2 missing ---- */

#define T5 "t5x_mtf_tiny_bf16_partial"
#define MISSING_SHARD "model.ckpt-0.data-00001-of-00002"

START_TEST(missing_shard_fails_open)
{
    static const char *rels[] = {T5, T5 "/model.ckpt-0", T5 "/model.ckpt-0.index",
                                 T5 "/model.ckpt-0.meta"};
    for (size_t k = 0; k < 4; k++) {
        const char *p = real(rels[k]);
        ckpt_checkpoint *c = NULL;
        ckpt_err err = {0};
        int rc = ckpt_open(p, 0, &c, &err);
        ck_assert_int_eq(rc, CKPT_E_MISSING);
        ck_assert_ptr_null(c);
        ck_assert_msg(strstr(err.msg, MISSING_SHARD) != NULL, "message: %s", err.msg);
    }
}
END_TEST

START_TEST(missing_shard_ok_flag)
{
    const char *p = real(T5);
    ckpt_checkpoint *c = open_ok(p, CKPT_OPEN_MISSING_SHARDS_OK);
    ck_assert(ends_with(ckpt_prefix(c), T5 "/model.ckpt-0"));
    ck_assert_ptr_nonnull(ckpt_meta_path(c));
    ck_assert(ends_with(ckpt_meta_path(c), "model.ckpt-0.meta"));
    /* TF lists 105 variables: 52 bfloat16, 52 float32 slots, global_step (the index has 106
     * keys counting the "" header) */
    ck_assert_uint_eq(ckpt_count(c), 105);
    ck_assert_int_eq(ckpt_num_shards(c), 2);
    ck_assert(ckpt_shard_present(c, 0));
    ck_assert(!ckpt_shard_present(c, 1));
    ck_assert_int_eq(ckpt_shard_fd(c, 1), -1);
    ck_assert(ends_with(ckpt_shard_path(c, 1), MISSING_SHARD));
    size_t nbf16 = 0, nf32 = 0, ni64 = 0;
    for (size_t i = 0; i < ckpt_count(c); i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        nbf16 += v.dtype == CKPT_DT_BFLOAT16;
        nf32 += v.dtype == CKPT_DT_FLOAT;
        ni64 += v.dtype == CKPT_DT_INT64;
        ck_assert_int_eq(!!(v.flags & CKPT_VAR_SHARD_MISSING), v.shard == 1);
    }
    ck_assert_uint_eq(nbf16, 52);
    ck_assert_uint_eq(nf32, 52);
    ck_assert_uint_eq(ni64, 1);

    size_t k = find_ok(c, "decoder/block_000/layer_000/SelfAttention/k");
    ckpt_var v;
    ckpt_get(c, k, &v);
    ck_assert_int_eq(v.dtype, CKPT_DT_BFLOAT16);
    ck_assert_int_eq(v.rank, 2);
    ck_assert_int_eq(v.dims[0], 32);
    ck_assert_int_eq(v.dims[1], 128);
    ck_assert_uint_eq(v.nbytes, 32 * 128 * 2);
    ck_assert_int_eq(v.shard, 1);
    ck_assert(v.flags & CKPT_VAR_SHARD_MISSING);
    uint8_t *buf = NULL;
    size_t len;
    ckpt_err err = {0};
    ck_assert_int_eq(ckpt_read_all(c, k, &buf, &len, &err), CKPT_E_MISSING);
    ck_assert_msg(strstr(err.msg, MISSING_SHARD) || strstr(err.msg, v.name), "message: %s",
                  err.msg);
    uint8_t small[16];
    size_t got;
    ck_assert_int_eq(ckpt_read(c, k, small, sizeof small, 0, &got, NULL, &err), CKPT_E_MISSING);

    size_t g = find_ok(c, "global_step");
    ckpt_get(c, g, &v);
    ck_assert_int_eq(v.dtype, CKPT_DT_INT64);
    ck_assert_int_eq(v.rank, 0);
    ck_assert_int_eq(v.shard, 0);
    ck_assert_uint_eq(v.offset, 0);
    static const uint8_t zero[8] = {0};
    expect_bytes(c, "global_step", zero, 8);
    ck_assert_uint_eq(ckpt_data_bytes(c), 8);
    ckpt_close(c);
}
END_TEST

/* ---- estimator_dnn_iris_train_2017: state file with 4 checkpoints ---- */

#define EST "estimator_dnn_iris_train_2017"

START_TEST(estimator_steps)
{
    const char *p = real(EST);
    /* the directory resolves to model_checkpoint_path = model.ckpt-2000 */
    ckpt_checkpoint *c = open_ok(p, 0);
    ck_assert(ends_with(ckpt_prefix(c), EST "/model.ckpt-2000"));
    ck_assert_ptr_nonnull(ckpt_meta_path(c));
    ck_assert(ends_with(ckpt_meta_path(c), "model.ckpt-2000.meta"));
    ckpt_close(c);
    static const int steps[] = {1, 1000, 1001, 2000};
    for (size_t k = 0; k < 4; k++) {
        char rel[256];
        snprintf(rel, sizeof rel, EST "/model.ckpt-%d", steps[k]);
        p = real(rel);
        c = open_ok(p, 0);
        ck_assert_uint_eq(ckpt_count(c), 17);
        uint8_t want[8] = {0};
        for (int b = 0; b < 8; b++)
            want[b] = (uint8_t)((uint64_t)steps[k] >> (8 * b));
        expect_bytes(c, "global_step", want, 8);
        ckpt_var v;
        ckpt_get(c, find_ok(c, "dnn/hiddenlayer_1/kernel"), &v);
        ck_assert_int_eq(v.rank, 2);
        ck_assert_int_eq(v.dims[0], 10);
        ck_assert_int_eq(v.dims[1], 20);
        ck_assert_uint_eq(v.nbytes, 800);
        ckpt_close(c);
    }
}
END_TEST

int main(void)
{
    static const char *const need[] = {SM, LR, T5, EST};
    char why[4200];
    if (!ckpt_check_realckpt(need, sizeof need / sizeof need[0], why, sizeof why))
        return ckpt_check_missing("../shared/realckpt", why);
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("real");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, sm_open_by_any_name);
    tcase_add_test(tc, sm_object_graph_string);
    tcase_add_test(tc, data_read_counters);
    tcase_add_test(tc, find_hits_and_misses);
    tcase_add_test(tc, missing_source);
    tcase_add_test(tc, two_shards);
    tcase_add_test(tc, read_ranges_and_crc_state);
    tcase_add_test(tc, missing_shard_fails_open);
    tcase_add_test(tc, missing_shard_ok_flag);
    tcase_add_test(tc, estimator_steps);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
