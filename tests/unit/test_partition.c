/*
 * test_partition.c - partitioned tensors the reader assembles, and names TF lists that start
 * with a NUL byte, on the TensorFlow-written fixtures (CKPT_FIXTURES).
 *
 * Truth: sliced_variants/ holds each sliced tensor twice, saved whole by TF under a second name
 * (lists_whole, words/whole): assembling the pieces must give exactly the stored bytes TF wrote
 * for the whole tensor. hostile_names/ is listed by TF with "\x00", "\x00lead", "\x00/x" and the
 * partitioned "\x00part" (whose slice keys start with two 0 bytes).
 */
#include "checkpoint.h"
#include "fixture.h"

#include "check_run.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t find(ckpt_checkpoint *c, const char *name, size_t len)
{
    size_t i;
    ck_assert_msg(ckpt_find(c, name, len, &i) == 0, "no variable %s", name);
    return i;
}

/* The pieces of `sliced`, assembled, are byte for byte what TF stored for `whole`. */
static void same_as_whole(ckpt_checkpoint *c, const char *sliced, const char *whole)
{
    size_t a = find(c, sliced, strlen(sliced)), b = find(c, whole, strlen(whole));
    ckpt_var va, vb;
    ckpt_get(c, a, &va);
    ckpt_get(c, b, &vb);
    ck_assert(va.flags & CKPT_VAR_PARTITIONED);
    ck_assert(!(vb.flags & CKPT_VAR_PARTITIONED));
    ck_assert_uint_eq(va.nbytes, vb.nbytes);
    uint8_t *x, *y;
    size_t nx, ny;
    ckpt_err err;
    ckpt_err_clear(&err);
    ck_assert_msg(ckpt_read_all(c, a, &x, &nx, &err) == 0, "%s", err.msg);
    ck_assert_msg(ckpt_read_all(c, b, &y, &ny, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(nx, ny);
    ck_assert_uint_eq(nx, va.nbytes);
    ck_assert(memcmp(x, y, nx) == 0);
    free(x);
    free(y);
}

START_TEST(sliced_variant_and_string_assemble_to_the_whole)
{
    ckpt_checkpoint *c = open_fixture("sliced_variants/sv");
    ck_assert_uint_eq(ckpt_count(c), 4);
    same_as_whole(c, "lists", "lists_whole");
    same_as_whole(c, "words/2d", "words/whole");
    ckpt_close(c);
}
END_TEST

START_TEST(partitioned_string_variables_read)
{
    ckpt_checkpoint *c = open_fixture("partitioned_strings/model.ckpt");
    size_t i = find(c, "model/words", 11);
    uint8_t *buf;
    ckpt_str *el;
    uint64_t n;
    ckpt_err err;
    ckpt_err_clear(&err);
    ck_assert_msg(ckpt_read_strings(c, i, &buf, &el, &n, &err) == 0, "%s", err.msg);
    /* scripts/make_fixtures.py case_partitioned_strings: the words, in 3 parts (3, 2, 2). */
    static const char *const want[] = {"alpha", "", "gam\nma", "\0nul", "\xff\xfe", "tab\t", "z"};
    static const size_t wlen[] = {5, 0, 6, 4, 2, 4, 1};
    ck_assert_uint_eq(n, 7);
    for (int k = 0; k < 7; k++) {
        ck_assert_uint_eq(el[k].len, wlen[k]);
        ck_assert(memcmp(el[k].ptr, want[k], wlen[k]) == 0);
    }
    free(buf);
    free(el);
    ckpt_close(c);
}
END_TEST

START_TEST(names_starting_with_nul_are_variables)
{
    ckpt_checkpoint *c = open_fixture("hostile_names/hostile");
    ck_assert_uint_eq(ckpt_count(c), 33);
    ckpt_var v;
    ckpt_get(c, 0, &v);
    ck_assert_uint_eq(v.name_len, 1);
    ck_assert_int_eq(v.name[0], 0);
    size_t p = find(c, "\0part", 5);
    ckpt_get(c, p, &v);
    ck_assert(v.flags & CKPT_VAR_PARTITIONED);
    float f[8];
    size_t got;
    ckpt_crc_state st = {0, 0};
    ckpt_err err;
    ckpt_err_clear(&err);
    ck_assert_msg(ckpt_read(c, p, f, sizeof f, 0, &got, &st, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(got, sizeof f);
    for (int k = 0; k < 8; k++) /* np.arange(8).reshape(4, 2) / 4 */
        ck_assert(f[k] == (float)k / 4);
    find(c, "\0lead", 5);
    find(c, "\0/x", 3);
    ckpt_close(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("partition");
    TCase *tc = tcase_create("partition");
    tcase_add_test(tc, sliced_variant_and_string_assemble_to_the_whole);
    tcase_add_test(tc, partitioned_string_variables_read);
    tcase_add_test(tc, names_starting_with_nul_are_variables);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
