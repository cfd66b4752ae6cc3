/* Unit tests for fs/cli/pipewrite.c: the bytes that reach the file are the bytes handed over,
 * in order, whatever the mix of reserved space and copies; a failed write is reported, never
 * a hang. The truth is the pattern written, read back with read(2). */
#include "pipewrite.h"

#include "check_run.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Byte i of the stream: a pattern no two nearby pieces share. */
static uint8_t pat(uint64_t i)
{
    return (uint8_t)(i * 2654435761u >> 13);
}

static int tmpfile_fd(char *path)
{
    strcpy(path, "/tmp/ckpt-pipewrite-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    return fd;
}

START_TEST(bytes_in_order)
{
    char path[64];
    int fd = tmpfile_fd(path);
    cli_pw *w;
    ck_assert_int_eq(cli_pw_start(fd, 1000, &w), 0);
    /* Pieces of every size around the buffer's: smaller, equal, several buffers long, and
     * direct fills through cli_pw_space, sometimes partial. */
    static const size_t sizes[] = {1, 999, 1000, 1001, 3, 2500, 7, 1000, 4096, 0, 13};
    uint64_t at = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        if (k % 2) {
            uint8_t *p = malloc(n + 1);
            for (size_t i = 0; i < n; i++)
                p[i] = pat(at + i);
            ck_assert_int_eq(cli_pw_write(w, p, n), 0);
            free(p);
            at += n;
        } else {
            for (size_t left = n; left;) {
                size_t room;
                uint8_t *d = cli_pw_space(w, &room);
                ck_assert_ptr_nonnull(d);
                ck_assert_uint_gt(room, 0);
                size_t put = left < room ? left : (room > 1 ? room / 2 + 1 : room);
                for (size_t i = 0; i < put; i++)
                    d[i] = pat(at + i);
                ck_assert_int_eq(cli_pw_commit(w, put), 0);
                at += put;
                left -= put;
            }
        }
    }
    ck_assert_int_eq(cli_pw_finish(w), 0);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    uint8_t *back = malloc(at + 1);
    ck_assert_int_eq(read(fd, back, at + 1), (ssize_t)at);
    for (uint64_t i = 0; i < at; i++)
        ck_assert_msg(back[i] == pat(i), "byte %llu", (unsigned long long)i);
    free(back);
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(nothing_written)
{
    char path[64];
    int fd = tmpfile_fd(path);
    cli_pw *w;
    ck_assert_int_eq(cli_pw_start(fd, 64, &w), 0);
    ck_assert_int_eq(cli_pw_finish(w), 0);
    ck_assert_int_eq(lseek(fd, 0, SEEK_END), 0);
    close(fd);
    unlink(path);
}
END_TEST

START_TEST(full_device_fails_without_hanging)
{
    int fd = open("/dev/full", O_WRONLY);
    ck_assert_int_ge(fd, 0);
    cli_pw *w;
    ck_assert_int_eq(cli_pw_start(fd, 4096, &w), 0);
    uint8_t block[4096] = {1};
    int failed = 0;
    /* The failure surfaces at a later call (the writer runs behind): keep writing until it
     * does, within a bound. */
    for (int i = 0; i < 1000 && !failed; i++)
        failed = cli_pw_write(w, block, sizeof block) != 0;
    ck_assert_msg(failed, "a write to /dev/full was never reported");
    ck_assert_int_eq(errno, ENOSPC);
    ck_assert_int_eq(cli_pw_finish(w), -1);
    ck_assert_int_eq(errno, ENOSPC);
    close(fd);
}
END_TEST

START_TEST(failure_reported_at_finish)
{
    int fd = open("/dev/full", O_WRONLY);
    ck_assert_int_ge(fd, 0);
    cli_pw *w;
    ck_assert_int_eq(cli_pw_start(fd, 4096, &w), 0);
    ck_assert_int_eq(cli_pw_write(w, "x", 1), 0); /* a partial buffer: written at finish */
    ck_assert_int_eq(cli_pw_finish(w), -1);
    ck_assert_int_eq(errno, ENOSPC);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipewrite");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bytes_in_order);
    tcase_add_test(tc, nothing_written);
    tcase_add_test(tc, full_device_fails_without_hanging);
    tcase_add_test(tc, failure_reported_at_finish);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
