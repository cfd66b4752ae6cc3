/*
 * test_mntopts.c - the -o options of a training folder's live mount (poll=, idle=,
 * noinotify), against the ranges and defaults docs/mount.md states.
 */
#include "mntopts.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Parse arg into a fresh ckfs_opts; the parser's return code. */
static int parse(const char *arg, ckfs_opts *o, char *msg, size_t msgsize)
{
    char warn[256] = "";
    ckfs_opts_init(o);
    msg[0] = '\0';
    return ckfs_opts_parse(o, arg, msg, msgsize, warn, sizeof warn);
}

START_TEST(poll_defaults_to_one_second)
{
    ckfs_opts o;
    char msg[256];
    ck_assert_int_eq(parse("ro", &o, msg, sizeof msg), 0);
    ck_assert(o.poll == 1.0);
    ck_assert(o.idle == 30.0);
    ck_assert_int_eq(o.noinotify, 0);
}
END_TEST

START_TEST(poll_takes_seconds_with_decimals)
{
    ckfs_opts o;
    char msg[256];
    ck_assert_int_eq(parse("poll=5", &o, msg, sizeof msg), 0);
    ck_assert(o.poll == 5.0);
    ck_assert_int_eq(parse("poll=0.25,idle=0,noinotify", &o, msg, sizeof msg), 0);
    ck_assert(o.poll == 0.25);
    ck_assert(o.idle == 0.0);
    ck_assert_int_eq(o.noinotify, 1);
    ck_assert_int_eq(parse("idle=600", &o, msg, sizeof msg), 0);
    ck_assert(o.idle == 600.0);
}
END_TEST

START_TEST(bad_seconds_are_refused_by_name)
{
    static const char *const bad[] = {
        "poll", "poll=", "poll=0", "poll=-1", "poll=abc", "poll=1s", "poll=86401",
        "idle=-0.5", "idle=", "idle=x",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ckfs_opts o;
        char msg[256];
        ck_assert_int_eq(parse(bad[k], &o, msg, sizeof msg), -1);
        /* the message names the option the user wrote */
        ck_assert_ptr_nonnull(strstr(msg, bad[k][0] == 'p' ? "poll" : "idle"));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mntopts");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, poll_defaults_to_one_second);
    tcase_add_test(tc, poll_takes_seconds_with_decimals);
    tcase_add_test(tc, bad_seconds_are_refused_by_name);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
