/*
 * test_escape.c - ckfs_escape_component against the rules of docs/mount.md ("Escaped name
 * components"). Expected names are written out by hand from those rules; the FNV-1a 64-bit
 * hashes were computed with a separate implementation of the published algorithm, checked
 * against its published vectors ("" -> cbf29ce484222325, "a" -> af63dc4c8601ec8c).
 */
#include "escape.h"

#include "check_run.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

/* Escape s[0..len) and return the display name ("" when shown as itself). */
static const char *esc(const char *s, size_t len)
{
    static char out[CKFS_DISPLAY_MAX + 1];
    size_t n = ckfs_escape_component(s, len, out);
    if (n == 0)
        return "";
    ck_assert_uint_eq(n, strlen(out));
    ck_assert_uint_le(n, CKFS_DISPLAY_MAX);
    return out;
}

/* Component (with its length, as it may hold a NUL) and its display name, "" = itself. */
static const struct {
    const char *in;
    size_t len;
    const char *want;
} cases[] = {
#define CASE(in, want)                                                                             \
    {                                                                                              \
        in, sizeof(in) - 1, want                                                                   \
    }
    /* Shown as themselves: only the exact "", ".", ".." and a leading '%' are special. */
    CASE("kernel", ""),
    CASE("...", ""),
    CASE(".hidden", ""),
    CASE("a%b", ""),
    CASE("with space", ""),
    CASE("back\\slash", ""),
    CASE("ctrl\x01"
         "char",
         ""),
    CASE("caf\xc3\xa9", ""),
    /* '%' + the component. */
    CASE("", "%"),
    CASE(".", "%."),
    CASE("..", "%.."),
    CASE("%foo", "%%foo"),
    CASE("%2F", "%%2F"),
    /* The component + '%': it ends like a generated name, or in the mark itself. */
    CASE("a.raw", "a.raw%"),
    CASE("x.shape", "x.shape%"),
    CASE("x.dtype", "x.dtype%"),
    CASE("x.npy", "x.npy%"),
    CASE("x.stats", "x.stats%"),
    CASE("x.raw.shape", "x.raw.shape%"),
    CASE("end%", "end%%"),
    CASE(".raw", ".raw%"),
    CASE("raw", ""),
    CASE("x.shapes", ""),
    CASE("x.RAW", ""),
    /* Both marks. */
    CASE("%", "%%%"),
    CASE("%.raw", "%%.raw%"),
    CASE("%x%", "%%x%%"),
    /* Root file names are plain below the top (see top_level_root_names). */
    CASE("variables.tsv", ""),
    CASE("graph.pbtxt", ""),
#undef CASE
};

START_TEST(short_components)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(esc(cases[i].in, cases[i].len), cases[i].want);
}
END_TEST

/* The documented reverse (docs/format.md): "%" is the empty component; otherwise drop a last
 * '%', then a first one. */
static const char *unescape(const char *d, char *buf)
{
    size_t n = strlen(d);
    if (n == 1 && d[0] == '%')
        return "";
    if (n > 0 && d[n - 1] == '%')
        n--;
    size_t from = d[0] == '%' ? 1 : 0;
    memcpy(buf, d + from, n - from);
    buf[n - from] = '\0';
    return buf;
}

START_TEST(dropping_the_marks_gives_the_component_back)
{
    static const char *const comps[] = {"",    ".",        "..",    "%",    "%foo",
                                        "%%x", "%~0123",   "a.raw", "end%", "%.npy",
                                        "%%",  "x.dtype%", "plain", "a%b"};
    char buf[64];
    for (size_t i = 0; i < sizeof(comps) / sizeof(comps[0]); i++) {
        const char *d = esc(comps[i], strlen(comps[i]));
        ck_assert_str_eq(unescape(d[0] ? d : comps[i], buf), comps[i]);
    }
}
END_TEST

START_TEST(top_level_root_names)
{
    static const char *const roots[] = {"variables.tsv", "graph.pbtxt",        "meta_graph.pbtxt",
                                        "graph.dot",     "object_graph.pbtxt", "saved_model.pbtxt",
                                        "signatures.txt"};
    char out[CKFS_DISPLAY_MAX + 1], want[64];
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        snprintf(want, sizeof want, "%s%%", roots[i]);
        ck_assert_uint_eq(ckfs_escape_component_at(roots[i], strlen(roots[i]), 1, out),
                          strlen(want));
        ck_assert_str_eq(out, want);
    }
    ck_assert_uint_eq(ckfs_escape_component_at("graph.pbtxt2", 12, 1, out), 0);
}
END_TEST

START_TEST(components_up_to_240_bytes_are_kept)
{
    char s[CKFS_NAME_KEEP];
    memset(s, 'c', sizeof s);
    ck_assert_uint_eq(CKFS_NAME_KEEP, 240);
    ck_assert_str_eq(esc(s, sizeof s), "");
}
END_TEST

/* "%~" + 16 hex digits + "~" is 19 bytes; 200 bytes of the component follow. */
START_TEST(long_components_are_hashed)
{
    char s[300], want[300];
    memset(s, 'c', sizeof s);

    memcpy(want, "%~296641bc53903982~", 19);
    memset(want + 19, 'c', 200);
    want[219] = '\0';
    ck_assert_str_eq(esc(s, 241), want);

    memcpy(want, "%~12796811dfcd1581~", 19);
    ck_assert_str_eq(esc(s, 300), want);
    /* The suffixes still fit under NAME_MAX. */
    ck_assert_uint_le(strlen(want) + strlen(".shape"), 255);
}
END_TEST

START_TEST(nul_bytes_force_the_hash_and_show_as_question_marks)
{
    ck_assert_str_eq(esc("a\0b", 3), "%~e5d29919042666b2~a?b");
}
END_TEST

/* 199 'x', then the two bytes of U+00E9, then 50 'y': byte 200 is inside the character, so
 * the readable part stops before it. */
START_TEST(the_readable_part_is_cut_at_a_character_boundary)
{
    char s[251], want[300];
    memset(s, 'x', 199);
    s[199] = '\xc3';
    s[200] = '\xa9';
    memset(s + 201, 'y', 50);
    memcpy(want, "%~4c1546d671c8ed69~", 19);
    memset(want + 19, 'x', 199);
    want[19 + 199] = '\0';
    ck_assert_str_eq(esc(s, sizeof s), want);
}
END_TEST

START_TEST(hashed_and_escaped_names_never_look_plain)
{
    /* A plain name never starts with '%', so it cannot equal an escaped one. */
    char s[241];
    memset(s, '%', sizeof s);
    ck_assert_int_eq(esc(s, sizeof s)[0], '%');
    ck_assert_int_eq(esc(s, 10)[0], '%');
    ck_assert_str_eq(esc(s, 2), "%%%%");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("escape");
    TCase *tc = tcase_create("escape");
    tcase_add_test(tc, short_components);
    tcase_add_test(tc, dropping_the_marks_gives_the_component_back);
    tcase_add_test(tc, top_level_root_names);
    tcase_add_test(tc, components_up_to_240_bytes_are_kept);
    tcase_add_test(tc, long_components_are_hashed);
    tcase_add_test(tc, nul_bytes_force_the_hash_and_show_as_question_marks);
    tcase_add_test(tc, the_readable_part_is_cut_at_a_character_boundary);
    tcase_add_test(tc, hashed_and_escaped_names_never_look_plain);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
