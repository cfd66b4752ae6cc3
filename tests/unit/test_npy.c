/*
 * test_npy.c - NPY headers (npy.h) and the sidecar texts (render.h).
 *
 * Truth for NPY: numpy's format (numpy.lib.format, version 1.0): magic "\x93NUMPY", bytes 1
 * and 0, the little-endian uint16 length of what follows, then the dict, spaces, and a final
 * '\n' so that the whole header is a multiple of 64 bytes. The dicts and total lengths below
 * were written by hand and checked once with
 *     numpy.lib.format.write_array_header_1_0(f, {'descr': D, 'fortran_order': False,
 *                                                 'shape': S})
 * (numpy 2.x), which gave the same bytes; expect_npy assembles the header from them.
 * Sidecar texts are written by hand from render.h.
 */
#include "dtype.h"
#include "npy.h"
#include "render.h"

#include "check_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

enum { NPY_PREFIX = 10 }; /* magic (6) + version (2) + header length (2) */

/* The header numpy writes: prefix, dict, spaces up to total - 1, '\n'. */
static void expect_npy(int dtype, int rank, const int64_t *dims, const char *dict, size_t total)
{
    char *want = malloc(total), *got = malloc(total);
    ck_assert_ptr_nonnull(want);
    ck_assert_ptr_nonnull(got);
    size_t hl = total - NPY_PREFIX, dl = strlen(dict);
    ck_assert_uint_lt(NPY_PREFIX + dl, total);
    memcpy(want, "\x93NUMPY\x01\x00", 8);
    want[8] = (char)(hl & 0xff);
    want[9] = (char)(hl >> 8);
    memcpy(want + NPY_PREFIX, dict, dl);
    memset(want + NPY_PREFIX + dl, ' ', total - NPY_PREFIX - dl - 1);
    want[total - 1] = '\n';

    ck_assert_uint_eq(ckpt_npy_header(dtype, rank, dims, got, total), total);
    ck_assert_int_eq(memcmp(got, want, total), 0);
    /* Too small a buffer: the length still comes back, so the caller can retry. */
    ck_assert_uint_eq(ckpt_npy_header(dtype, rank, dims, got, 16), total);
    free(want);
    free(got);
}

START_TEST(npy_float_matrix)
{
    static const int64_t d[] = {3, 4};
    expect_npy(CKPT_DT_FLOAT, 2, d, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
               128);
}
END_TEST

START_TEST(npy_scalar_and_vector)
{
    /* A scalar's shape is "()"; a one-element tuple keeps Python's trailing comma. */
    expect_npy(CKPT_DT_DOUBLE, 0, NULL, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
               128);
    static const int64_t d[] = {5};
    expect_npy(CKPT_DT_INT64, 1, d, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }",
               128);
}
END_TEST

START_TEST(npy_other_dtypes)
{
    static const int64_t d[] = {784, 10};
    expect_npy(CKPT_DT_BOOL, 2, d, "{'descr': '|b1', 'fortran_order': False, 'shape': (784, 10), }",
               128);
    static const int64_t big[] = {100000000000, 7};
    expect_npy(CKPT_DT_UINT8, 2, big,
               "{'descr': '|u1', 'fortran_order': False, 'shape': (100000000000, 7), }", 128);
    static const int64_t d8[] = {1, 2, 3, 4, 5, 6, 7, 8};
    expect_npy(CKPT_DT_COMPLEX64, 8, d8,
               "{'descr': '<c8', 'fortran_order': False, 'shape': (1, 2, 3, 4, 5, 6, 7, 8), }",
               128);
    /* bfloat16 has no numpy type: raw 2-byte void, as numpy.save writes an ml_dtypes array. */
    static const int64_t d23[] = {2, 3};
    expect_npy(CKPT_DT_BFLOAT16, 2, d23,
               "{'descr': '<V2', 'fortran_order': False, 'shape': (2, 3), }", 128);
    /* Quantized types are the integers they are stored as. */
    expect_npy(CKPT_DT_QINT8, 2, d23, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }",
               128);
}
END_TEST

START_TEST(npy_long_dict_takes_next_block)
{
    /* dict + the 21 spare spaces numpy keeps for the first axis no longer fit in 128. */
    static const int64_t d[] = {123456789, 123456789, 123456789, 123456789,
                                123456789, 123456789, 123456789};
    expect_npy(CKPT_DT_HALF, 7, d,
               "{'descr': '<f2', 'fortran_order': False, 'shape': (123456789, 123456789, "
               "123456789, 123456789, 123456789, 123456789, 123456789), }",
               192);
}
END_TEST

START_TEST(npy_refused)
{
    char buf[256];
    static const int64_t d[] = {2};
    ck_assert_uint_eq(ckpt_npy_header(CKPT_DT_STRING, 1, d, buf, sizeof buf), 0);
    ck_assert_uint_eq(ckpt_npy_header(CKPT_DT_VARIANT, 1, d, buf, sizeof buf), 0);
    ck_assert_uint_eq(ckpt_npy_header(CKPT_DT_FLOAT, -1, d, buf, sizeof buf), 0);
    ck_assert_ptr_null(ckpt_npy_descr(CKPT_DT_RESOURCE));
    ck_assert_str_eq(ckpt_npy_descr(CKPT_DT_COMPLEX128), "<c16");
    ck_assert_str_eq(ckpt_npy_descr(CKPT_DT_QUINT16), "<u2");
}
END_TEST

/* A variable with only the fields the sidecars read. */
static ckpt_var var(int dtype, int rank, const int64_t *dims)
{
    ckpt_var v;
    memset(&v, 0, sizeof v);
    v.name = "w";
    v.name_len = 1;
    v.dtype = dtype;
    v.rank = rank;
    v.dims = dims;
    return v;
}

START_TEST(sidecar_shape)
{
    char buf[64];
    static const int64_t d[] = {784, 10};
    ckpt_var v = var(CKPT_DT_FLOAT, 2, d);
    ck_assert_uint_eq(ckpt_render_shape(&v, buf, sizeof buf), 10);
    ck_assert_str_eq(buf, "[784, 10]\n");
    v = var(CKPT_DT_FLOAT, 0, NULL);
    ck_assert_uint_eq(ckpt_render_shape(&v, buf, sizeof buf), 3);
    ck_assert_str_eq(buf, "[]\n");
    static const int64_t one[] = {7};
    v = var(CKPT_DT_INT32, 1, one);
    ck_assert_uint_eq(ckpt_render_shape(&v, buf, sizeof buf), 4);
    ck_assert_str_eq(buf, "[7]\n");
    /* snprintf-like: a short buffer still gets the full length back. */
    v = var(CKPT_DT_FLOAT, 2, d);
    ck_assert_uint_eq(ckpt_render_shape(&v, buf, 4), 10);
}
END_TEST

START_TEST(sidecar_dtype)
{
    static const struct {
        int dtype;
        const char *text;
    } cases[] = {
        {CKPT_DT_FLOAT, "float32\n"}, {CKPT_DT_DOUBLE, "float64\n"},
        {CKPT_DT_INT64, "int64\n"},   {CKPT_DT_BOOL, "bool\n"},
        {CKPT_DT_STRING, "string\n"}, {CKPT_DT_BFLOAT16, "bfloat16\n"},
        {CKPT_DT_HALF, "float16\n"},  {CKPT_DT_VARIANT, "variant\n"},
        {CKPT_DT_QINT8, "qint8\n"},   {CKPT_DT_COMPLEX128, "complex128\n"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ckpt_var v = var(cases[i].dtype, 0, NULL);
        ck_assert_uint_eq(ckpt_render_dtype(&v, buf, sizeof buf), strlen(cases[i].text));
        ck_assert_str_eq(buf, cases[i].text);
    }
}
END_TEST

START_TEST(text_vars)
{
    ckpt_var v = var(CKPT_DT_STRING, 0, NULL);
    ck_assert_int_ne(ckpt_is_text_var(&v), 0);
    v.dtype = CKPT_DT_VARIANT;
    ck_assert_int_ne(ckpt_is_text_var(&v), 0);
    v.dtype = CKPT_DT_FLOAT;
    ck_assert_int_eq(ckpt_is_text_var(&v), 0);
}
END_TEST

START_TEST(strbuf_appends)
{
    ckpt_strbuf b = {0};
    ckpt_strbuf_put(&b, NULL, 0);
    ck_assert_uint_eq(b.len, 0);
    ckpt_strbuf_puts(&b, "ab");
    ck_assert_int_eq(ckpt_strbuf_sink(&b, "cd", 2), 0);
    char *at = ckpt_strbuf_extend(&b, 1);
    ck_assert_ptr_nonnull(at);
    *at = 'e';
    ck_assert_uint_eq(b.len, 5);
    ck_assert_int_eq(memcmp(b.data, "abcde", 5), 0);
    ck_assert_int_eq(b.failed, 0);
    ckpt_strbuf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("npy");
    TCase *n = tcase_create("npy");
    tcase_add_test(n, npy_float_matrix);
    tcase_add_test(n, npy_scalar_and_vector);
    tcase_add_test(n, npy_other_dtypes);
    tcase_add_test(n, npy_long_dict_takes_next_block);
    tcase_add_test(n, npy_refused);
    suite_add_tcase(s, n);
    TCase *t = tcase_create("sidecar");
    tcase_add_test(t, sidecar_shape);
    tcase_add_test(t, sidecar_dtype);
    tcase_add_test(t, text_vars);
    tcase_add_test(t, strbuf_appends);
    suite_add_tcase(s, t);
    return ckpt_check_run(s);
}
