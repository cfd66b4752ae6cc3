/*
 * check_run.h - how every unit test program ends: run its suite, exit non-zero on a failure.
 */
#ifndef CKPT_TEST_CHECK_RUN_H
#define CKPT_TEST_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* Run every test of s (then freed); EXIT_SUCCESS when none failed, for main to return. */
static inline int ckpt_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
