/*
 * test_tstring.c - DT_STRING decoding and the escaped text form.
 *
 * Truth for decoding: the format doc's worked example and string tensors written by
 * TensorFlow 2.21 (tf.train.Checkpoint.write of tf.Variable string tensors); the byte
 * strings and entry crc32c values below were read out of those files with a separate Python
 * parser. Escapes are written by hand from the rules in tstring.h.
 */
#include "crc32c.h"
#include "tstring.h"
#include "strtext.h"

#include "check_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Decode and check elements and the entry crc (stored masked, as in the index). */
static void decode_ok(const uint8_t *buf, size_t len, uint64_t n, const char *const *want,
                      const size_t *wlen, uint32_t masked_crc)
{
    /* exact-size heap copy: ASan catches any read past len */
    uint8_t *b = malloc(len ? len : 1);
    memcpy(b, buf, len);
    ckpt_str *el = NULL;
    uint32_t crc = 0;
    ckpt_err err = {0};
    int rc = ckpt_tstring_decode(b, len, n, &el, &crc, &err);
    ck_assert_msg(rc == 0, "decode: %d %s", rc, err.msg);
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_uint_eq(el[i].len, wlen[i]);
        if (wlen[i])
            ck_assert_mem_eq(el[i].ptr, want[i], wlen[i]);
        ck_assert(el[i].ptr >= b && el[i].ptr + el[i].len <= b + len);
    }
    ck_assert_uint_eq(ckpt_crc32c_mask(crc), masked_crc);
    free(el);
    /* crc is optional */
    el = NULL;
    ck_assert_int_eq(ckpt_tstring_decode(b, len, n, &el, NULL, &err), 0);
    free(el);
    free(b);
}

static int decode_rc(const uint8_t *buf, size_t len, uint64_t n)
{
    uint8_t *b = malloc(len ? len : 1);
    memcpy(b, buf, len);
    ckpt_str *el = NULL;
    uint32_t crc;
    ckpt_err err = {0};
    int rc = ckpt_tstring_decode(b, len, n, &el, &crc, &err);
    if (rc != 0)
        ck_assert_msg(err.msg[0] != 0, "error without a message");
    free(el);
    free(b);
    return rc;
}

static const uint8_t ABC[] = {0x03, 0x63, 0x3f, 0x7f, 0x28, 0x61, 0x62, 0x63};

START_TEST(doc_example_abc)
{
    const char *w[] = {"abc"};
    size_t wl[] = {3};
    /* format doc 4.3 worked example; TF 2.21 wrote the same bytes and crc for Variable("abc") */
    decode_ok(ABC, sizeof ABC, 1, w, wl, 0x199ad1c3u);
}
END_TEST

START_TEST(zero_elements)
{
    static const uint8_t z[] = {0xd8, 0xea, 0x82, 0xa2};
    decode_ok(z, 4, 0, NULL, NULL, 0x640cc1f6u); /* TF: tf.constant([], tf.string) */
}
END_TEST

START_TEST(empty_strings)
{
    static const uint8_t e[] = {0x00, 0x00, 0x29, 0x03, 0x98, 0x07}; /* TF: ['', ''] */
    const char *w[] = {"", ""};
    size_t wl[] = {0, 0};
    decode_ok(e, sizeof e, 2, w, wl, 0xac244c3cu);
}
END_TEST

START_TEST(mixed_with_two_byte_length)
{
    /* TF: ['hello', '', 'x' * 200]; 200 is the two-byte varint c8 01 */
    uint8_t b[8 + 5 + 200];
    static const uint8_t head[] = {0x05, 0x00, 0xc8, 0x01, 0x01, 0x8c, 0xaa, 0x2b};
    memcpy(b, head, 8);
    memcpy(b + 8, "hello", 5);
    memset(b + 13, 'x', 200);
    char xs[200];
    memset(xs, 'x', 200);
    const char *w[] = {"hello", "", xs};
    size_t wl[] = {5, 0, 200};
    decode_ok(b, sizeof b, 3, w, wl, 0x331b01f1u);
}
END_TEST

START_TEST(length_checksum_mismatch)
{
    uint8_t b[sizeof ABC];
    for (int i = 1; i <= 4; i++) {
        memcpy(b, ABC, sizeof b);
        b[i] ^= 0x01;
        ck_assert_int_eq(decode_rc(b, sizeof b, 1), CKPT_E_CORRUPT);
    }
    /* length changed, checksum not: 04 ... with 4 data bytes */
    static const uint8_t l4[] = {0x04, 0x63, 0x3f, 0x7f, 0x28, 0x61, 0x62, 0x63, 0x64};
    ck_assert_int_eq(decode_rc(l4, sizeof l4, 1), CKPT_E_CORRUPT);
    /* wrong element count: with n = 0 the checksum would be read from the length byte */
    ck_assert_int_eq(decode_rc(ABC, sizeof ABC, 0), CKPT_E_CORRUPT);
}
END_TEST

START_TEST(truncated)
{
    for (size_t n = 0; n < sizeof ABC; n++)
        ck_assert_int_eq(decode_rc(ABC, n, 1), CKPT_E_CORRUPT);
    static const uint8_t z[] = {0xd8, 0xea, 0x82, 0xa2};
    for (size_t n = 0; n < 4; n++)
        ck_assert_int_eq(decode_rc(z, n, 0), CKPT_E_CORRUPT);
    /* a length varint cut in the middle */
    static const uint8_t cut[] = {0xc8};
    ck_assert_int_eq(decode_rc(cut, 1, 1), CKPT_E_CORRUPT);
}
END_TEST

START_TEST(n_larger_than_buffer)
{
    ck_assert_int_eq(decode_rc(ABC, sizeof ABC, 2), CKPT_E_CORRUPT);
    ck_assert_int_eq(decode_rc(ABC, sizeof ABC, 1000), CKPT_E_CORRUPT);
    /* must fail before allocating n elements */
    ck_assert_int_eq(decode_rc(ABC, sizeof ABC, UINT64_MAX), CKPT_E_CORRUPT);
    ck_assert_int_eq(decode_rc(ABC, sizeof ABC, UINT64_MAX / 16 + 1), CKPT_E_CORRUPT);
    ck_assert_int_eq(decode_rc(ABC, 0, 1ull << 40), CKPT_E_CORRUPT);
}
END_TEST

START_TEST(huge_element_length)
{
    /* a length far beyond the buffer; the length checksum is made right so that only the
     * size check can catch it. len = 2^40 (varint 80 80 80 80 80 20), crc over 8-byte form */
    uint8_t b[6 + 4 + 3];
    static const uint8_t v[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x20};
    memcpy(b, v, 6);
    uint8_t le[8] = {0, 0, 0, 0, 0, 1, 0, 0};
    uint32_t L = ckpt_crc32c_mask(ckpt_crc32c_extend_portable(0, le, 8));
    b[6] = (uint8_t)L, b[7] = (uint8_t)(L >> 8), b[8] = (uint8_t)(L >> 16),
    b[9] = (uint8_t)(L >> 24);
    memcpy(b + 10, "abc", 3);
    ck_assert_int_eq(decode_rc(b, sizeof b, 1), CKPT_E_CORRUPT);
    /* two elements whose lengths sum past 2^64 */
    uint8_t c[10 + 10 + 4];
    memset(c, 0xff, 9);
    c[9] = 0x01;
    memset(c + 10, 0xff, 9);
    c[19] = 0x01;
    uint8_t m8[8];
    memset(m8, 0xff, 8);
    uint32_t L2 = ckpt_crc32c_extend_portable(0, m8, 8);
    L2 = ckpt_crc32c_mask(ckpt_crc32c_extend_portable(L2, m8, 8));
    c[20] = (uint8_t)L2, c[21] = (uint8_t)(L2 >> 8), c[22] = (uint8_t)(L2 >> 16),
    c[23] = (uint8_t)(L2 >> 24);
    ck_assert_int_eq(decode_rc(c, sizeof c, 2), CKPT_E_CORRUPT);
}
END_TEST

/* ---- escaping ---- */

static void esc(const void *in, size_t n, const char *want)
{
    size_t need = ckpt_tstring_escape(in, n, NULL);
    ck_assert_uint_eq(need, strlen(want));
    char *out = malloc(need + 1);
    memset(out, '#', need + 1);
    ck_assert_uint_eq(ckpt_tstring_escape(in, n, out), need);
    ck_assert_msg(memcmp(out, want, need) == 0, "escape gave '%.*s', want '%s'", (int)need, out,
                  want);
    ck_assert_int_eq(out[need], '#'); /* wrote exactly need bytes */
    /* and back */
    long back = ckpt_tstring_unescape(out, need);
    ck_assert_int_eq(back, (long)n);
    if (n)
        ck_assert_mem_eq(out, in, n);
    free(out);
}

#define ESC(lit, want) esc(lit, sizeof(lit) - 1, want)

START_TEST(escape_specials)
{
    ESC("", "");
    ESC("plain text 123 ~!\"'", "plain text 123 ~!\"'");
    ESC("a\\b", "a\\\\b");
    ESC("\\", "\\\\");
    ESC("line1\nline2", "line1\\nline2");
    ESC("\r\n", "\\r\\n");
    ESC("\t", "\\t");
    ESC("\x00", "\\x00");
    ESC("a\x00z", "a\\x00z");
    ESC("\x01\x1f", "\\x01\\x1f");
    ESC("\x1b[0m", "\\x1b[0m");
    ESC("\x7f", "\\x7f");
    ESC("\xff", "\\xff");
    ESC("\xfe\xff", "\\xfe\\xff");
    ESC(" ", " ");
    ESC("x", "x");
}
END_TEST

START_TEST(escape_utf8)
{
    ESC("caf\xc3\xa9", "caf\xc3\xa9");           /* é */
    ESC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* 😀 U+1F600 */
    ESC("\xc2\x80", "\xc2\x80");                 /* U+0080, smallest 2-byte */
    ESC("\xe0\xa0\x80", "\xe0\xa0\x80");         /* U+0800, smallest 3-byte */
    ESC("\xef\xbf\xbf", "\xef\xbf\xbf");         /* U+FFFF */
    ESC("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF, the largest */
    ESC("\xe2\x82\xac", "\xe2\x82\xac");         /* € */
    ESC("\xed\x9f\xbf", "\xed\x9f\xbf");         /* U+D7FF, just below surrogates */
}
END_TEST

START_TEST(escape_invalid_utf8)
{
    ESC("\x80", "\\x80"); /* lone continuation */
    ESC("a\xbf"
        "b",
        "a\\xbfb");
    ESC("\xc0\x80", "\\xc0\\x80");                   /* overlong NUL */
    ESC("\xc1\xbf", "\\xc1\\xbf");                   /* overlong 2-byte */
    ESC("\xe0\x80\x80", "\\xe0\\x80\\x80");          /* overlong 3-byte */
    ESC("\xf0\x80\x80\x80", "\\xf0\\x80\\x80\\x80"); /* overlong 4-byte */
    ESC("\xed\xa0\x80", "\\xed\\xa0\\x80");          /* surrogate U+D800 */
    ESC("\xed\xbf\xbf", "\\xed\\xbf\\xbf");          /* surrogate U+DFFF */
    ESC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* U+110000, too large */
    ESC("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
    ESC("\xc3", "\\xc3"); /* truncated at end */
    ESC("\xc3"
        "a",
        "\\xc3a");                          /* truncated by ASCII */
    ESC("\xf0\x9f\x98", "\\xf0\\x9f\\x98"); /* 3 of 4 bytes */
    ESC("\xe2\x82"
        "\n",
        "\\xe2\\x82\\n");
    ESC("\xc3\xa9\xa9", "\xc3\xa9\\xa9"); /* valid then stray continuation */
}
END_TEST

static long unesc(const char *s)
{
    size_t n = strlen(s);
    char *b = malloc(n + 1);
    memcpy(b, s, n + 1);
    long r = ckpt_tstring_unescape(b, n);
    free(b);
    return r;
}

START_TEST(unescape_malformed)
{
    ck_assert_int_eq(unesc("\\"), -1);
    ck_assert_int_eq(unesc("abc\\"), -1);
    ck_assert_int_eq(unesc("\\q"), -1);
    ck_assert_int_eq(unesc("\\x"), -1);
    ck_assert_int_eq(unesc("\\x4"), -1);
    ck_assert_int_eq(unesc("\\xzz"), -1);
    ck_assert_int_eq(unesc("\\xg0"), -1);
    ck_assert_int_eq(unesc("ok\\n"), 3);
    ck_assert_int_eq(unesc("\\x41\\x42"), 2);
}
END_TEST

START_TEST(unescape_exact)
{
    char b[] = "a\\x00b\\\\\\n\\t\\r\\xff";
    long n = ckpt_tstring_unescape(b, strlen(b));
    static const char want[] = {'a', 0, 'b', '\\', '\n', '\t', '\r', (char)0xff};
    ck_assert_int_eq(n, (long)sizeof want);
    ck_assert_mem_eq(b, want, sizeof want);
}
END_TEST

START_TEST(round_trip_random)
{
    srand(4242);
    uint8_t in[300];
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = (size_t)rand() % sizeof in;
        int mode = iter % 3;
        for (size_t i = 0; i < n; i++) {
            int r = rand();
            /* mode 0: any byte; 1: mostly ASCII; 2: bytes that form/break UTF-8 sequences */
            in[i] = mode == 0   ? (uint8_t)r
                    : mode == 1 ? (uint8_t)(r % 5 ? 0x20 + r % 95 : r)
                                : (uint8_t)(0x80 + r % 0x78);
        }
        size_t need = ckpt_tstring_escape(in, n, NULL);
        char *out = malloc(need + 1);
        ck_assert_uint_eq(ckpt_tstring_escape(in, n, out), need);
        /* the text form is line-safe: no raw newline, CR or NUL ever appears */
        ck_assert_ptr_null(memchr(out, '\n', need));
        ck_assert_ptr_null(memchr(out, '\r', need));
        ck_assert_ptr_null(memchr(out, '\0', need));
        ck_assert_int_eq(ckpt_tstring_unescape(out, need), (long)n);
        if (n)
            ck_assert_mem_eq(out, in, n);
        free(out);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tstring");
    TCase *dec = tcase_create("decode");
    tcase_add_test(dec, doc_example_abc);
    tcase_add_test(dec, zero_elements);
    tcase_add_test(dec, empty_strings);
    tcase_add_test(dec, mixed_with_two_byte_length);
    tcase_add_test(dec, length_checksum_mismatch);
    tcase_add_test(dec, truncated);
    tcase_add_test(dec, n_larger_than_buffer);
    tcase_add_test(dec, huge_element_length);
    suite_add_tcase(s, dec);
    TCase *e = tcase_create("escape");
    tcase_add_test(e, escape_specials);
    tcase_add_test(e, escape_utf8);
    tcase_add_test(e, escape_invalid_utf8);
    tcase_add_test(e, unescape_malformed);
    tcase_add_test(e, unescape_exact);
    tcase_add_test(e, round_trip_random);
    suite_add_tcase(s, e);
    return ckpt_check_run(s);
}
