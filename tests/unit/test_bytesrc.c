/*
 * test_bytesrc.c - the byte-source seam: the local source opens only regular files and never
 * blocks on a FIFO, reads exactly or fails clearly, reports an identity that changes with the
 * file; and a checkpoint opened through another source reads every byte through it.
 */
#include "bytesrc.h"
#include "checkpoint.h"
#include "bytesrc_local.h"
#include "mapfile.h"

#include "check_run.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];

static void make_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "%s/ckpt-bytesrc-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void remove_dir(void)
{
    static const char *names[] = {"data", "empty", "fifo", "sub"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
        if (unlink(p) != 0)
            rmdir(p);
    }
    rmdir(g_dir);
}

static const char *path_of(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return p;
}

static void write_file(const char *name, size_t n)
{
    FILE *f = fopen(path_of(name), "wb");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++)
        fputc((int)(i & 0xff), f);
    fclose(f);
}

/* A test that blocks in open(2) on the FIFO is killed by this instead of hanging ctest. */
static void on_alarm(int sig)
{
    (void)sig;
    _exit(99);
}

START_TEST(opens_a_regular_file)
{
    write_file("data", 100);
    ckpt_file *f;
    ckpt_err err = {0};
    ck_assert_int_eq(ckpt_file_open(ckpt_bytesrc_local(), path_of("data"), &f, &err), 0);
    struct stat st;
    ck_assert_int_eq(stat(path_of("data"), &st), 0);
    ck_assert_uint_eq(f->size, 100);
    ck_assert_str_eq(f->name, path_of("data"));
    ck_assert(S_ISREG(f->attr.st_mode));
    ck_assert_int_ge(f->fd, 0);
    ck_assert_uint_eq(f->id.dev, (uint64_t)st.st_dev);
    ck_assert_uint_eq(f->id.ino, (uint64_t)st.st_ino);
    ck_assert_uint_eq(f->id.size, 100);
    ck_assert_int_eq(f->id.mtime_sec, st.st_mtim.tv_sec);
    ck_assert_int_eq(f->id.mtime_nsec, st.st_mtim.tv_nsec);
    ck_assert_str_eq(f->id.tag, "");

    uint8_t buf[16];
    ck_assert_int_eq(ckpt_file_pread(f, buf, 10, 5, &err), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(buf[i], 5 + i);
    ck_assert_int_eq(ckpt_file_pread(f, buf, 10, 90, &err), 0); /* up to the last byte */
    ck_assert_int_eq(ckpt_file_pread(f, buf, 0, 100, &err), 0); /* nothing, at the end */

    ckpt_bytes b;
    ck_assert_int_eq(ckpt_file_read_all(f, &b, &err), 0);
    ck_assert_uint_eq(b.len, 100);
    ck_assert_uint_eq(b.data[99], 99);
    ckpt_file_close(f); /* the bytes outlive the handle */
    ck_assert_uint_eq(b.data[42], 42);
    ckpt_bytes_release(&b);
    ck_assert_ptr_null(b.data);
    remove_dir();
}
END_TEST

START_TEST(pread_past_the_end)
{
    write_file("data", 100);
    ckpt_file *f;
    ckpt_err err = {0};
    ck_assert_int_eq(ckpt_file_open(ckpt_bytesrc_local(), path_of("data"), &f, &err), 0);
    uint8_t buf[16];
    ck_assert_int_eq(ckpt_file_pread(f, buf, 10, 95, &err), CKPT_E_CORRUPT);
    ck_assert_msg(strstr(err.msg, path_of("data")) != NULL, "message names no file: %s", err.msg);
    ck_assert_int_eq(ckpt_file_pread(f, buf, 1, 100, &err), CKPT_E_CORRUPT);
    ck_assert_int_eq(ckpt_file_pread(f, buf, 2, UINT64_MAX, &err), CKPT_E_CORRUPT); /* no wrap */
    /* Shrunk after open: the size said yes, the file says no; still an error, not a short read. */
    ck_assert_int_eq(truncate(path_of("data"), 50), 0);
    ck_assert_int_eq(ckpt_file_pread(f, buf, 10, 60, &err), CKPT_E_CORRUPT);
    ck_assert_msg(strstr(err.msg, path_of("data")) != NULL, "message names no file: %s", err.msg);
    ckpt_file_close(f);
    remove_dir();
}
END_TEST

START_TEST(refuses_fifo_directory_and_absent)
{
    ck_assert_int_eq(mkfifo(path_of("fifo"), 0600), 0);
    ck_assert_int_eq(mkdir(path_of("sub"), 0700), 0);
    signal(SIGALRM, on_alarm);
    alarm(10);
    ckpt_file *f = (ckpt_file *)1;
    ckpt_err err = {0};
    ck_assert_int_eq(ckpt_file_open(ckpt_bytesrc_local(), path_of("fifo"), &f, &err), CKPT_E_IO);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(err.msg, "not a regular file") && strstr(err.msg, path_of("fifo")), "%s",
                  err.msg);
    ck_assert_int_eq(ckpt_file_open(ckpt_bytesrc_local(), path_of("sub"), &f, &err), CKPT_E_IO);
    ck_assert_msg(strstr(err.msg, path_of("sub")) != NULL, "%s", err.msg);
    ck_assert_int_eq(ckpt_file_open(ckpt_bytesrc_local(), path_of("absent"), &f, &err),
                     CKPT_E_NOTFOUND);
    /* The mapping helper goes through the same open. */
    void *map;
    size_t len;
    ck_assert_int_eq(ckpt_map_file(path_of("fifo"), &map, &len, &err), CKPT_E_IO);
    alarm(0);
    remove_dir();
}
END_TEST

START_TEST(identity_follows_the_file)
{
    write_file("data", 100);
    ckpt_file *a, *b;
    ckpt_err err = {0};
    ck_assert_int_eq(ckpt_file_open(ckpt_bytesrc_local(), path_of("data"), &a, &err), 0);
    ck_assert_int_eq(ckpt_file_open(ckpt_bytesrc_local(), path_of("data"), &b, &err), 0);
    ck_assert(ckpt_file_id_equal(&a->id, &b->id));
    ckpt_file_close(b);
    write_file("data", 120); /* same inode, new size and mtime */
    ck_assert_int_eq(ckpt_file_open(ckpt_bytesrc_local(), path_of("data"), &b, &err), 0);
    ck_assert(!ckpt_file_id_equal(&a->id, &b->id));
    ckpt_file_close(b);
    ckpt_file_close(a);
    remove_dir();
}
END_TEST

START_TEST(empty_file_and_borrowed_descriptor)
{
    write_file("empty", 0);
    ckpt_file *f;
    ckpt_err err = {0};
    ck_assert_int_eq(ckpt_file_open(ckpt_bytesrc_local(), path_of("empty"), &f, &err), 0);
    ckpt_bytes b;
    ck_assert_int_eq(ckpt_file_read_all(f, &b, &err), 0);
    ck_assert_uint_eq(b.len, 0);
    ckpt_bytes_release(&b);
    ckpt_file_close(f);

    int fd = open(path_of("empty"), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ckpt_file_wrap_fd(fd, "borrowed", &f, &err), 0);
    ck_assert_int_eq(f->fd, fd);
    ckpt_file_close(f);
    ck_assert_int_ne(fcntl(fd, F_GETFD), -1); /* still ours */
    close(fd);
    remove_dir();
}
END_TEST

/* --- a source stacked over the local one, as a cache or a remote source would be ---------- */

typedef struct counting {
    ckpt_bytesrc self;
    int opens, preads;
    int advises;
    uint64_t advised_off, advised_len; /* the last hint */
} counting;

static counting g_count;

static int counted_pread(ckpt_file *f, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    ckpt_file *inner = f->state;
    __atomic_add_fetch(&g_count.preads, 1, __ATOMIC_RELAXED);
    return ckpt_file_pread(inner, buf, n, off, err);
}

static int counted_read_all(ckpt_file *f, ckpt_bytes *out, ckpt_err *err)
{
    return ckpt_file_read_all(f->state, out, err);
}

static void counted_close(ckpt_file *f)
{
    ckpt_file_close(f->state);
    free(f->name);
    free(f);
}

static void counted_advise(ckpt_file *f, uint64_t off, uint64_t len)
{
    (void)f;
    g_count.advises++;
    g_count.advised_off = off;
    g_count.advised_len = len;
}

static const ckpt_file_ops counted_file_ops = {
    counted_pread, counted_read_all, counted_close, counted_advise, NULL, NULL};

static int counted_open(void *state, const char *name, ckpt_file **out, ckpt_err *err)
{
    counting *cs = state;
    ckpt_file *inner;
    int rc = ckpt_file_open(ckpt_bytesrc_local(), name, &inner, err);
    if (rc)
        return rc;
    cs->opens++;
    ckpt_file *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    *f = *inner;
    f->ops = &counted_file_ops;
    f->state = inner;
    f->name = strdup(inner->name);
    f->fd = -1; /* as a remote source: no descriptor to splice from */
    *out = f;
    return 0;
}

static const ckpt_bytesrc_ops counted_ops = {.open = counted_open};

START_TEST(checkpoint_reads_through_the_source)
{
    const char *root = getenv("CKPT_FIXTURES");
    ck_assert_ptr_nonnull(root);
    char src[512];
    snprintf(src, sizeof src, "%s/partitioned/model.ckpt", root);
    g_count = (counting){{&counted_ops, &g_count}, 0, 0, 0, 0, 0};
    ckpt_checkpoint *c;
    ckpt_err err = {0};
    int rc = ckpt_open_src(&g_count.self, src, 0, &c, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_int_ge(g_count.opens, 2); /* the index and the data shard */
    ck_assert_int_eq(ckpt_shard_fd(c, 0), -1);
    ck_assert(ckpt_shard_present(c, 0));
    int before = g_count.preads;
    for (size_t i = 0; i < ckpt_count(c); i++) {
        uint8_t *bytes;
        size_t len;
        rc = ckpt_read_all(c, i, &bytes, &len, &err);
        ck_assert_msg(rc == 0, "%s", err.msg);
        free(bytes);
    }
    ck_assert_int_gt(g_count.preads, before);
    ckpt_close(c);
    remove_dir();
}
END_TEST

/* ckpt_prefetch hints the data file about a variable's bytes: where they lie in the shard,
 * cut at the variable's end; nothing past it, nothing for a partitioned variable. */
START_TEST(prefetch_hints_the_variables_range)
{
    const char *root = getenv("CKPT_FIXTURES");
    ck_assert_ptr_nonnull(root);
    char src[512];
    snprintf(src, sizeof src, "%s/partitioned/model.ckpt", root);
    g_count = (counting){{&counted_ops, &g_count}, 0, 0, 0, 0, 0};
    ckpt_checkpoint *c;
    ckpt_err err = {0};
    ck_assert_msg(ckpt_open_src(&g_count.self, src, 0, &c, &err) == 0, "%s", err.msg);
    int plain = 0, parted = 0;
    for (size_t i = 0; i < ckpt_count(c); i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        int before = g_count.advises;
        if (v.flags & CKPT_VAR_PARTITIONED) {
            ckpt_prefetch(c, i, 0, 1 << 20);
            ck_assert_int_eq(g_count.advises, before);
            parted++;
        } else if (v.nbytes > 4) {
            ckpt_prefetch(c, i, 4, UINT64_MAX / 2);
            ck_assert_int_eq(g_count.advises, before + 1);
            ck_assert_uint_eq(g_count.advised_off, v.offset + 4);
            ck_assert_uint_eq(g_count.advised_len, v.nbytes - 4);
            ckpt_prefetch(c, i, 0, 2);
            ck_assert_uint_eq(g_count.advised_off, v.offset);
            ck_assert_uint_eq(g_count.advised_len, 2);
            ckpt_prefetch(c, i, v.nbytes, 10);
            ck_assert_int_eq(g_count.advises, before + 2);
            plain++;
        }
    }
    ck_assert_int_gt(plain, 0);
    ck_assert_int_gt(parted, 0);
    ckpt_close(c);
    remove_dir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bytesrc");
    TCase *tc = tcase_create("all");
    tcase_add_checked_fixture(tc, make_dir, NULL);
    tcase_add_test(tc, opens_a_regular_file);
    tcase_add_test(tc, pread_past_the_end);
    tcase_add_test(tc, refuses_fifo_directory_and_absent);
    tcase_add_test(tc, identity_follows_the_file);
    tcase_add_test(tc, empty_file_and_borrowed_descriptor);
    tcase_add_test(tc, checkpoint_reads_through_the_source);
    tcase_add_test(tc, prefetch_hints_the_variables_range);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
