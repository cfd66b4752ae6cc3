/*
 * check_run.h - how every unit test program ends: run its suite, exit non-zero on a failure.
 */
#ifndef CKPT_TEST_CHECK_RUN_H
#define CKPT_TEST_CHECK_RUN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ctest's SKIP_RETURN_CODE for the unit tests (CMakeLists.txt). */
#define CKPT_CHECK_SKIP 77

/* A required input (what, e.g. "../shared/realckpt") is absent: the exit status for main,
 * after saying so. In CI (CI=true) that is a failure naming it; elsewhere a skip ("SKIP: ..."
 * on stdout, read by scripts/skip_report.py). The rule: tests/README.md "Skips". */
static inline int ckpt_check_missing(const char *what, const char *why)
{
    const char *ci = getenv("CI");
    if (ci && (!strcmp(ci, "true") || !strcmp(ci, "1") || !strcmp(ci, "yes"))) {
        printf("FAIL: %s is required in CI (CI=%s) and is missing: %s\n", what, ci, why);
        return EXIT_FAILURE;
    }
    printf("SKIP: %s missing: %s\n", what, why);
    return CKPT_CHECK_SKIP;
}

/* 1 when every $CKPT_REALCKPT/subs[i] is a directory; else 0 with the first absent one in
 * why (main then returns ckpt_check_missing's status). */
static inline int ckpt_check_realckpt(const char *const *subs, size_t n, char *why, size_t whysz)
{
    const char *root = getenv("CKPT_REALCKPT");
    if (!root || !*root) {
        snprintf(why, whysz, "CKPT_REALCKPT is not set");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", root, subs[i]);
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(why, whysz, "%s is no directory", p);
            return 0;
        }
    }
    return 1;
}

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
