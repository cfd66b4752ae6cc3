/* Unit tests for fs/cli/glob.c: shell patterns on byte names. Expected results worked out by
 * hand from Python's fnmatch.fnmatchcase rules (the CLI documents those). */
#include "glob.h"

#include "check_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define M(pat, name) cli_glob_match(pat, name, sizeof(name) - 1)

START_TEST(star_crosses_slashes_and_nul)
{
    ck_assert(M("*", ""));
    ck_assert(M("*/*", "a/b"));
    ck_assert(M("*/*", "\0/x"));
    ck_assert(M("dense*/kernel", "dense_1/sub/kernel"));
    ck_assert(!M("dense*/kernel", "dense/kernel/Adam"));
    ck_assert(M("*a*b*", "xxaxxbxx"));
    ck_assert(!M("*a*b", "xxaxxbxxc"));
}
END_TEST

START_TEST(question_and_literals)
{
    ck_assert(M("?", "\0"));
    ck_assert(!M("?", ""));
    ck_assert(!M("?", "ab"));
    ck_assert(M("a.b", "a.b"));
    ck_assert(!M("a.b", "a.c"));
    ck_assert(M("--index-only", "--index-only"));
}
END_TEST

START_TEST(sets)
{
    ck_assert(M("[a-c]x", "bx"));
    ck_assert(!M("[a-c]x", "dx"));
    ck_assert(M("[!a-c]x", "dx"));
    ck_assert(!M("[!a-c]x", "ax"));
    ck_assert(M("[]]", "]"));
    ck_assert(M("[^a]", "^")); /* '^' is literal */
    ck_assert(!M("[^a]", "b"));
    ck_assert(M("[a", "[a")); /* unclosed: literal '[' */
    ck_assert(M("[a-]", "-"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("glob");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, star_crosses_slashes_and_nul);
    tcase_add_test(tc, question_and_literals);
    tcase_add_test(tc, sets);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
