/*
 * test_corrupt.c - damaged copies of real checkpoints (CKPT_REALCKPT) in a temp dir.
 *
 * Truncated and bit-flipped .index files must make ckpt_open fail cleanly or, when only bytes
 * that no checksum covers were touched (footer padding, handles, the never-read metaindex),
 * give exactly the same variables. Damaged data files must be caught by the tensor checksums
 * (naming the variable), truncated ones at open (naming a variable that no longer fits).
 * Everything runs under ASan+UBSan in the sanitizer build; a crash or hang fails the test.
 */
#include "checkpoint.h"
#include "dtype.h"

#include "check_run.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_tmp[4096]; /* temp root, made and removed by the fixture */

static void tmp_setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/ckpt_test_corrupt_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(g_tmp))
        g_tmp[0] = 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void tmp_teardown(void)
{
    if (g_tmp[0])
        nftw(g_tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- files ---- */

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(n ? fwrite(b, 1, n, f) : 0, n);
    ck_assert_int_eq(fclose(f), 0);
}

/* A copied checkpoint: its prefix in the temp dir and the original bytes of its files. */
typedef struct copy {
    char prefix[4300];
    char index[4400];
    char data[4400];
    uint8_t *ib, *db;
    size_t in, dn;
} copy;

/* Copy REALCKPT/dir/name.{index,data-00000-of-00001} to TMP/name. main checked the folders
 * first (skipping, or failing in CI, when absent), so a missing source or temp dir fails. */
static void make_copy(copy *c, const char *dir, const char *name)
{
    const char *root = getenv("CKPT_REALCKPT");
    ck_assert_msg(root && *root, "CKPT_REALCKPT is not set");
    ck_assert_msg(g_tmp[0], "no temp dir: mkdtemp failed");
    char src[4400];
    snprintf(src, sizeof src, "%s/%s/%s.index", root, dir, name);
    ck_assert_msg(access(src, R_OK) == 0, "%s absent", src);
    snprintf(c->prefix, sizeof c->prefix, "%s/%s", g_tmp, name);
    snprintf(c->index, sizeof c->index, "%s.index", c->prefix);
    snprintf(c->data, sizeof c->data, "%s.data-00000-of-00001", c->prefix);
    c->ib = slurp(src, &c->in);
    snprintf(src, sizeof src, "%s/%s/%s.data-00000-of-00001", root, dir, name);
    c->db = slurp(src, &c->dn);
    spit(c->index, c->ib, c->in);
    spit(c->data, c->db, c->dn);
}

static void free_copy(copy *c)
{
    free(c->ib);
    free(c->db);
}

/* Overwrite one byte of a file in place. */
static void poke(const char *path, size_t off, uint8_t v)
{
    int fd = open(path, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, &v, 1, (off_t)off), 1);
    close(fd);
}

/* ---- comparing variable lists ---- */

typedef struct snap {
    size_t n;
    ckpt_var *v;
    char **names;
    int64_t **dims;
} snap;

static void take_snap(ckpt_checkpoint *c, snap *s)
{
    s->n = ckpt_count(c);
    s->v = calloc(s->n + 1, sizeof *s->v);
    s->names = calloc(s->n + 1, sizeof *s->names);
    s->dims = calloc(s->n + 1, sizeof *s->dims);
    for (size_t i = 0; i < s->n; i++) {
        ckpt_get(c, i, &s->v[i]);
        s->names[i] = malloc(s->v[i].name_len + 1);
        memcpy(s->names[i], s->v[i].name, s->v[i].name_len + 1);
        s->dims[i] = malloc(sizeof(int64_t) * ((size_t)s->v[i].rank + 1));
        if (s->v[i].rank)
            memcpy(s->dims[i], s->v[i].dims, sizeof(int64_t) * (size_t)s->v[i].rank);
    }
}

static void free_snap(snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->names[i]);
        free(s->dims[i]);
    }
    free(s->v);
    free(s->names);
    free(s->dims);
}

static void expect_same_vars(ckpt_checkpoint *c, const snap *s, const char *what)
{
    ck_assert_msg(ckpt_count(c) == s->n, "%s: %zu variables, want %zu", what, ckpt_count(c), s->n);
    for (size_t i = 0; i < s->n; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        const ckpt_var *w = &s->v[i];
        ck_assert_msg(v.name_len == w->name_len && !memcmp(v.name, s->names[i], v.name_len) &&
                          v.dtype == w->dtype && v.rank == w->rank && v.nbytes == w->nbytes &&
                          v.shard == w->shard && v.offset == w->offset && v.crc32c == w->crc32c &&
                          v.flags == w->flags,
                      "%s: variable %zu differs", what, i);
        for (int d = 0; d < v.rank; d++)
            ck_assert_int_eq(v.dims[d], s->dims[i][d]);
    }
}

/* ---- the index ---- */

static uint64_t uvarint(const uint8_t **p)
{
    uint64_t x = 0;
    int sh = 0;
    while (**p & 0x80)
        x |= (uint64_t)(*(*p)++ & 0x7f) << sh, sh += 7;
    x |= (uint64_t) * (*p)++ << sh;
    return x;
}

/* Regions of an index file: [0, meta_off) data blocks; index block + trailer at
 * [index_off, index_end); the rest (metaindex, footer handles/padding) is not
 * checksummed, except the 8 magic bytes. */
typedef struct regions {
    size_t meta_off, meta_end, index_off, index_end;
} regions;

static regions regions_of(const uint8_t *b, size_t n)
{
    const uint8_t *p = b + n - 48;
    regions r;
    r.meta_off = (size_t)uvarint(&p);
    r.meta_end = r.meta_off + (size_t)uvarint(&p) + 5;
    r.index_off = (size_t)uvarint(&p);
    r.index_end = r.index_off + (size_t)uvarint(&p) + 5;
    ck_assert_uint_le(r.index_end, n - 48);
    return r;
}

static int covered(const regions *r, size_t n, size_t i)
{
    return i < r->meta_off || (i >= r->index_off && i < r->index_end) || i >= n - 8;
}

static int try_open(const char *prefix, ckpt_checkpoint **c, ckpt_err *err)
{
    *c = NULL;
    memset(err, 0, sizeof *err);
    int rc = ckpt_open(prefix, 0, c, err);
    if (rc != 0) {
        ck_assert_ptr_null(*c);
        ck_assert_msg(err->msg[0] != 0, "error %d without a message", rc);
        ck_assert_msg(rc == CKPT_E_CORRUPT || rc == CKPT_E_UNSUPPORTED || rc == CKPT_E_MISSING ||
                          rc == CKPT_E_NOTFOUND,
                      "unexpected code %d: %s", rc, err->msg);
    }
    return rc;
}

static void index_truncations(const char *dir, const char *name)
{
    copy cp;
    make_copy(&cp, dir, name);
    for (size_t n = 0; n < cp.in; n++) {
        spit(cp.index, cp.ib, n);
        ckpt_checkpoint *c;
        ckpt_err err;
        int rc = try_open(cp.prefix, &c, &err);
        ck_assert_msg(rc == CKPT_E_CORRUPT, "truncated to %zu: rc %d %s", n, rc, err.msg);
        ck_assert_msg(strstr(err.msg, ".index") != NULL, "message does not name the index: %s",
                      err.msg);
    }
    free_copy(&cp);
}

START_TEST(truncate_index_sm)
{
    index_truncations("serving_sm_half_plus_two_tf214/variables", "variables");
}
END_TEST

START_TEST(truncate_index_est)
{
    index_truncations("estimator_dnn_iris_train_2017", "model.ckpt-1");
}
END_TEST

static void index_flips(const char *dir, const char *name)
{
    copy cp;
    make_copy(&cp, dir, name);
    ckpt_checkpoint *c;
    ckpt_err err;
    ck_assert_int_eq(try_open(cp.prefix, &c, &err), 0);
    snap orig;
    take_snap(c, &orig);
    ckpt_close(c);
    regions r = regions_of(cp.ib, cp.in);
    static const uint8_t xors[] = {0x01, 0x80, 0xff};
    size_t ok_after_flip = 0;
    for (size_t i = 0; i < cp.in; i++) {
        for (size_t x = 0; x < sizeof xors; x++) {
            poke(cp.index, i, cp.ib[i] ^ xors[x]);
            int rc = try_open(cp.prefix, &c, &err);
            if (covered(&r, cp.in, i)) {
                ck_assert_msg(rc == CKPT_E_CORRUPT, "flip 0x%02x at %zu of %zu: rc %d (%s)",
                              xors[x], i, cp.in, rc, err.msg);
                ck_assert_msg(strstr(err.msg, ".index") != NULL, "message: %s", err.msg);
            } else if (rc == 0) {
                char what[64];
                snprintf(what, sizeof what, "flip 0x%02x at %zu", xors[x], i);
                expect_same_vars(c, &orig, what);
                ok_after_flip++;
            }
            ckpt_close(c);
            poke(cp.index, i, cp.ib[i]);
        }
    }
    /* the footer padding is never read: flipping it must not matter */
    ck_assert_uint_gt(ok_after_flip, 0);
    free_snap(&orig);
    free_copy(&cp);
}

START_TEST(flip_index_sm)
{
    index_flips("serving_sm_half_plus_two_tf214/variables", "variables");
}
END_TEST

START_TEST(flip_index_est)
{
    index_flips("estimator_dnn_iris_train_2017", "model.ckpt-1");
}
END_TEST

/* ---- data files ---- */

static void data_flips(const char *dir, const char *name)
{
    copy cp;
    make_copy(&cp, dir, name);
    ckpt_checkpoint *c;
    ckpt_err err;
    ck_assert_int_eq(try_open(cp.prefix, &c, &err), 0);
    snap s;
    take_snap(c, &s);
    ckpt_close(c);
    for (size_t i = 0; i < s.n; i++) {
        const ckpt_var *v = &s.v[i];
        if (v->nbytes == 0 || !(v->flags & CKPT_VAR_HAS_CRC))
            continue;
        /* first, middle and last byte of the variable */
        const uint64_t at[] = {0, v->nbytes / 2, v->nbytes - 1};
        for (int k = 0; k < 3; k++) {
            size_t off = (size_t)(v->offset + at[k]);
            poke(cp.data, off, cp.db[off] ^ 0x20);
            c = NULL;
            ck_assert_int_eq(ckpt_open(cp.prefix, 0, &c, &err), 0);
            uint8_t *buf = NULL;
            size_t len;
            int rc = ckpt_read_all(c, i, &buf, &len, &err);
            ck_assert_msg(rc == CKPT_E_CORRUPT, "%s byte %llu: rc %d", s.names[i],
                          (unsigned long long)at[k], rc);
            ck_assert_msg(strstr(err.msg, s.names[i]) != NULL, "message lacks name: %s", err.msg);
            free(buf);
            if (v->dtype != CKPT_DT_STRING && v->dtype != CKPT_DT_VARIANT) {
                /* a sequential reader is told on its last read */
                ckpt_crc_state st = {0};
                uint8_t chunk[256];
                size_t got;
                uint64_t pos = 0;
                for (;;) {
                    rc = ckpt_read(c, i, chunk, sizeof chunk, pos, &got, &st, &err);
                    if (rc != 0 || got == 0)
                        break;
                    pos += got;
                }
                ck_assert_msg(rc == CKPT_E_CORRUPT, "%s: sequential read rc %d", s.names[i], rc);
                /* so is a whole check (the mount's verify=open), naming variable and shard */
                ckpt_err_clear(&err);
                rc = ckpt_verify(c, i, &err);
                ck_assert_msg(rc == CKPT_E_CORRUPT, "%s: ckpt_verify rc %d", s.names[i], rc);
                ck_assert_msg(strstr(err.msg, s.names[i]) && strstr(err.msg, ".data-00000-of-"),
                              "ckpt_verify message lacks name or shard: %s", err.msg);
            }
            /* other variables (disjoint ranges) still read */
            for (size_t j = 0; j < s.n; j++) {
                if (j == i || (s.v[j].offset <= off && off < s.v[j].offset + s.v[j].nbytes))
                    continue;
                ck_assert_msg(ckpt_read_all(c, j, &buf, &len, &err) == 0, "%s: %s", s.names[j],
                              err.msg);
                free(buf);
                if (s.v[j].dtype != CKPT_DT_STRING && s.v[j].dtype != CKPT_DT_VARIANT)
                    ck_assert_msg(ckpt_verify(c, j, &err) == 0, "%s: %s", s.names[j], err.msg);
            }
            ckpt_close(c);
            poke(cp.data, off, cp.db[off]);
        }
    }
    free_snap(&s);
    free_copy(&cp);
}

START_TEST(flip_data_sm)
{
    data_flips("serving_sm_half_plus_two_tf214/variables", "variables");
}
END_TEST

START_TEST(flip_data_est)
{
    data_flips("estimator_dnn_iris_train_2017", "model.ckpt-1");
}
END_TEST

START_TEST(flip_string_length_checksum)
{
    /* README: the object-graph string sits at offset 12: 2 varint bytes, then the 4-byte
     * masked length checksum at 14..17 */
    copy cp;
    make_copy(&cp, "serving_sm_half_plus_two_tf214/variables", "variables");
    for (size_t off = 12; off < 18; off++) {
        poke(cp.data, off, cp.db[off] ^ 0x01);
        ckpt_checkpoint *c;
        ckpt_err err;
        ck_assert_int_eq(try_open(cp.prefix, &c, &err), 0);
        size_t i;
        ck_assert_int_eq(ckpt_find(c, "_CHECKPOINTABLE_OBJECT_GRAPH",
                                   strlen("_CHECKPOINTABLE_OBJECT_GRAPH"), &i),
                         0);
        uint8_t *buf = NULL;
        ckpt_str *el = NULL;
        uint64_t n;
        ck_assert_int_eq(ckpt_read_strings(c, i, &buf, &el, &n, &err), CKPT_E_CORRUPT);
        ck_assert_msg(strstr(err.msg, "_CHECKPOINTABLE_OBJECT_GRAPH") != NULL, "%s", err.msg);
        free(buf);
        free(el);
        size_t len;
        ck_assert_int_eq(ckpt_read_all(c, i, &buf, &len, &err), CKPT_E_CORRUPT);
        free(buf);
        ckpt_close(c);
        poke(cp.data, off, cp.db[off]);
    }
    free_copy(&cp);
}
END_TEST

/* Truncating the data file to n bytes: open fails naming a variable that ends past n;
 * must_name (if set) has to be the one named. */
static void data_truncation(const copy *cp, const snap *s, size_t n, const char *must_name)
{
    spit(cp->data, cp->db, n);
    ckpt_checkpoint *c;
    ckpt_err err;
    int rc = try_open(cp->prefix, &c, &err);
    ck_assert_msg(rc == CKPT_E_CORRUPT, "data truncated to %zu: rc %d (%s)", n, rc, err.msg);
    int named = 0;
    for (size_t i = 0; i < s->n && !named; i++)
        named = s->v[i].offset + s->v[i].nbytes > n && strstr(err.msg, s->names[i]);
    ck_assert_msg(named, "truncated to %zu: message names no variable past the end: %s", n,
                  err.msg);
    if (must_name)
        ck_assert_msg(strstr(err.msg, must_name) != NULL, "message: %s", err.msg);
}

START_TEST(truncate_data_est)
{
    copy cp;
    make_copy(&cp, "estimator_dnn_iris_train_2017", "model.ckpt-1");
    ckpt_checkpoint *c;
    ckpt_err err;
    ck_assert_int_eq(try_open(cp.prefix, &c, &err), 0);
    snap s;
    take_snap(c, &s);
    ckpt_close(c);
    /* README: global_step is the last 8 bytes of the data file */
    for (size_t cut = 1; cut <= 8; cut++)
        data_truncation(&cp, &s, cp.dn - cut, "global_step");
    const size_t others[] = {0, 1, cp.dn / 3, cp.dn / 2, cp.dn - 9};
    for (size_t k = 0; k < sizeof others / sizeof others[0]; k++)
        data_truncation(&cp, &s, others[k], NULL);
    /* longer than needed is fine */
    uint8_t *longer = malloc(cp.dn + 100);
    memcpy(longer, cp.db, cp.dn);
    memset(longer + cp.dn, 0, 100);
    spit(cp.data, longer, cp.dn + 100);
    free(longer);
    ck_assert_int_eq(try_open(cp.prefix, &c, &err), 0);
    ckpt_close(c);
    free_snap(&s);
    free_copy(&cp);
}
END_TEST

START_TEST(truncate_data_sm)
{
    copy cp;
    make_copy(&cp, "serving_sm_half_plus_two_tf214/variables", "variables");
    ckpt_checkpoint *c;
    ckpt_err err;
    ck_assert_int_eq(try_open(cp.prefix, &c, &err), 0);
    snap s;
    take_snap(c, &s);
    ckpt_close(c);
    /* README: the 619-byte string ends the 631-byte file */
    data_truncation(&cp, &s, 630, "_CHECKPOINTABLE_OBJECT_GRAPH");
    data_truncation(&cp, &s, 13, "_CHECKPOINTABLE_OBJECT_GRAPH");
    data_truncation(&cp, &s, 0, NULL);
    free_snap(&s);
    free_copy(&cp);
}
END_TEST

int main(void)
{
    static const char *const need[] = {"serving_sm_half_plus_two_tf214/variables",
                                       "estimator_dnn_iris_train_2017"};
    char why[4200];
    if (!ckpt_check_realckpt(need, sizeof need / sizeof need[0], why, sizeof why))
        return ckpt_check_missing("../shared/realckpt", why);
    Suite *s = suite_create("corrupt");
    TCase *tc = tcase_create("real");
    /* unchecked: made and removed in the parent process, so a failing test leaves nothing */
    tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, truncate_index_sm);
    tcase_add_test(tc, truncate_index_est);
    tcase_add_test(tc, flip_index_sm);
    tcase_add_test(tc, flip_index_est);
    tcase_add_test(tc, flip_data_sm);
    tcase_add_test(tc, flip_data_est);
    tcase_add_test(tc, flip_string_length_checksum);
    tcase_add_test(tc, truncate_data_est);
    tcase_add_test(tc, truncate_data_sm);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
