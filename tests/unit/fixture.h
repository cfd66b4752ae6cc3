/*
 * fixture.h - opening a TensorFlow-written fixture of tests/fixtures (CKPT_FIXTURES) in a unit
 * test, failing the test with the reader's message when it does not open.
 */
#ifndef CKPT_TEST_FIXTURE_H
#define CKPT_TEST_FIXTURE_H

#include "checkpoint.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static inline ckpt_checkpoint *open_fixture(const char *rel)
{
    const char *root = getenv("CKPT_FIXTURES");
    ck_assert_msg(root && *root, "CKPT_FIXTURES is not set");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    ckpt_checkpoint *c = NULL;
    ckpt_err err;
    ckpt_err_clear(&err);
    ck_assert_msg(ckpt_open(path, 0, &c, &err) == 0, "%s: %s", path, err.msg);
    return c;
}

#endif
