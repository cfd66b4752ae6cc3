/*
 * test_blockcache.c - the block cache of URL sources and shards on shares (blockcache.h):
 * bytes, eviction, concurrent readers of one block, a failing fetch, a file's end, runs of
 * whole blocks for a sequential reader, lent blocks kept until given back, more ranges in
 * flight when the server is slow to answer.
 * Truth: a synthetic file whose byte i is a function of i, and the fetch function's own count
 * of the requests it served, block by block.
 */
#include "blockcache.h"

#include "check_run.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BS = 4096, NBLOCKS = 64, FILE_SIZE = BS * NBLOCKS - 100 };

static uint8_t byte_at(uint64_t i)
{
    return (uint8_t)(i * 131 + (i >> 8) * 7 + 1);
}

/* The fetch side: a file of FILE_SIZE bytes, with requests counted per block. */
typedef struct src {
    atomic_int fetched[NBLOCKS];
    atomic_int requests;
    atomic_int fail_block; /* fetches covering this block fail; -1: none */
    int delay_ms;
    atomic_int running, most; /* fetches under way now, and the most at once */
} src;

static void src_init(src *s)
{
    for (int i = 0; i < NBLOCKS; i++)
        atomic_init(&s->fetched[i], 0);
    atomic_init(&s->requests, 0);
    atomic_init(&s->fail_block, -1);
    s->delay_ms = 0;
    atomic_init(&s->running, 0);
    atomic_init(&s->most, 0);
}

static int fetch(void *ctx, uint64_t off, uint8_t *const *bufs, size_t bs, size_t n, size_t *got,
                 uint64_t *total, ckpt_err *err)
{
    src *s = ctx;
    atomic_fetch_add(&s->requests, 1);
    int now = atomic_fetch_add(&s->running, 1) + 1, most = atomic_load(&s->most);
    while (now > most && !atomic_compare_exchange_weak(&s->most, &most, now))
        ;
    if (s->delay_ms) {
        struct timespec ts = {0, s->delay_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_sub(&s->running, 1);
    int fb = atomic_load(&s->fail_block);
    if (fb >= 0 && off <= (uint64_t)fb * BS && (uint64_t)fb * BS < off + n)
        return ckpt_err_set(err, CKPT_E_IO, "block %d: the server went away", fb);
    size_t have = off >= FILE_SIZE ? 0 : FILE_SIZE - off < n ? (size_t)(FILE_SIZE - off) : n;
    for (size_t i = 0; i < have; i++)
        bufs[i / bs][i % bs] = byte_at(off + i);
    for (uint64_t b = off / BS; b * BS < off + have; b++)
        atomic_fetch_add(&s->fetched[b], 1);
    *got = have;
    *total = FILE_SIZE;
    return 0;
}

static void expect_bytes(ckpt_bcfile *f, uint64_t off, size_t n)
{
    uint8_t *buf = malloc(n ? n : 1);
    ckpt_err err;
    ckpt_err_clear(&err);
    ck_assert_int_eq(ckpt_bcfile_read(f, buf, n, off, &err), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(buf[i], byte_at(off + i));
    free(buf);
}

static ckpt_bcfile *open_file(uint64_t capacity, src *s, ckpt_blockcache **bc)
{
    ckpt_err err;
    ckpt_err_clear(&err);
    ck_assert_int_eq(ckpt_blockcache_new(capacity, BS, NULL, bc, &err), 0);
    ckpt_bcfile *f;
    ck_assert_int_eq(ckpt_bcfile_new(*bc, "synthetic", CKPT_SIZE_UNKNOWN, fetch, s, NULL, &f, &err),
                     0);
    return f;
}

START_TEST(bytes_at_any_offset)
{
    src s;
    src_init(&s);
    ckpt_blockcache *bc;
    ckpt_bcfile *f = open_file(1u << 20, &s, &bc);
    srand(7);
    for (int k = 0; k < 300; k++) {
        uint64_t off = (uint64_t)rand() % FILE_SIZE;
        size_t n = (size_t)rand() % (3 * BS);
        if (off + n > FILE_SIZE)
            n = FILE_SIZE - off;
        expect_bytes(f, off, n);
    }
    ck_assert_uint_eq(ckpt_bcfile_size(f), FILE_SIZE);
    /* Everything fitted: each block was fetched at most once, however often it was read. */
    for (int b = 0; b < NBLOCKS; b++)
        ck_assert_int_le(atomic_load(&s.fetched[b]), 1);
    ckpt_bcfile_close(f);
    ckpt_blockcache_unref(bc);
}
END_TEST

START_TEST(eviction_least_recent_first)
{
    src s;
    src_init(&s);
    ckpt_blockcache *bc;
    /* Room for 16 blocks (the cache's floor: 4 runs of 4). Reads that skip around (never
     * starting where the last ended), so no read-ahead muddies the counts. */
    ckpt_bcfile *f = open_file(4 * BS, &s, &bc);
    for (int k = 0; k < 20; k++)
        expect_bytes(f, (uint64_t)(2 * k) * BS + 10, 100);
    ck_assert_int_eq(atomic_load(&s.fetched[0]), 1);
    /* The latest block is still held; the first, read 19 blocks ago, is gone. */
    expect_bytes(f, 38 * BS + 500, 100);
    ck_assert_int_eq(atomic_load(&s.fetched[38]), 1);
    expect_bytes(f, 0 * BS + 900, 100);
    ck_assert_int_eq(atomic_load(&s.fetched[0]), 2);
    ckpt_bcfile_close(f);
    ckpt_blockcache_unref(bc);
}
END_TEST

typedef struct reader_arg {
    ckpt_bcfile *f;
    uint64_t off;
    int rc;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    uint8_t buf[200];
    ckpt_err err;
    ckpt_err_clear(&err);
    a->rc = ckpt_bcfile_read(a->f, buf, sizeof buf, a->off, &err);
    for (size_t i = 0; !a->rc && i < sizeof buf; i++)
        if (buf[i] != byte_at(a->off + i))
            a->rc = -100;
    return NULL;
}

START_TEST(concurrent_readers_one_fetch)
{
    src s;
    src_init(&s);
    s.delay_ms = 100; /* every reader arrives while the block is being fetched */
    ckpt_blockcache *bc;
    ckpt_bcfile *f = open_file(1u << 20, &s, &bc);
    enum { T = 8 };
    pthread_t th[T];
    reader_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (reader_arg){f, 20 * BS + 37 * (uint64_t)i, 1};
        ck_assert_int_eq(pthread_create(&th[i], NULL, reader, &args[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].rc, 0);
    }
    ck_assert_int_eq(atomic_load(&s.fetched[20]), 1);
    ckpt_bcfile_close(f);
    ckpt_blockcache_unref(bc);
}
END_TEST

START_TEST(failing_fetch)
{
    src s;
    src_init(&s);
    ckpt_blockcache *bc;
    ckpt_bcfile *f = open_file(1u << 20, &s, &bc);
    atomic_store(&s.fail_block, 30);
    uint8_t buf[100];
    ckpt_err err;
    ckpt_err_clear(&err);
    ck_assert_int_eq(ckpt_bcfile_read(f, buf, sizeof buf, 30 * BS + 5, &err), CKPT_E_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "the server went away"));
    /* The failure stays with that block: others read, and bytes are never made up. */
    expect_bytes(f, 40 * BS, 100);
    /* Not remembered: once the server answers again, so does the block. */
    atomic_store(&s.fail_block, -1);
    expect_bytes(f, 30 * BS + 5, 100);
    ckpt_bcfile_close(f);
    ckpt_blockcache_unref(bc);
}
END_TEST

START_TEST(end_of_file)
{
    src s;
    src_init(&s);
    ckpt_blockcache *bc;
    ckpt_bcfile *f = open_file(1u << 20, &s, &bc);
    expect_bytes(f, FILE_SIZE - 50, 50);
    uint8_t buf[100];
    ckpt_err err;
    ckpt_err_clear(&err);
    ck_assert_int_eq(ckpt_bcfile_read(f, buf, sizeof buf, FILE_SIZE - 50, &err), CKPT_E_CORRUPT);
    ck_assert_int_eq(ckpt_bcfile_read(f, buf, 1, FILE_SIZE + 5000, &err), CKPT_E_CORRUPT);
    ckpt_bcfile_close(f);
    ckpt_blockcache_unref(bc);
}
END_TEST

START_TEST(sequential_reads_fetch_whole_runs)
{
    src s;
    src_init(&s);
    ckpt_blockcache *bc;
    ckpt_bcfile *f = open_file(1u << 20, &s, &bc);
    /* A reader going forward an eighth of a block at a time, as the kernel's 128 KiB reads
     * go through 1 MiB blocks: the read-ahead window slides a little each read, yet asks for
     * runs of 4 blocks (issue 28: it used to ask for one block per request). */
    for (uint64_t off = 0; off < FILE_SIZE; off += BS / 8)
        expect_bytes(f, off, off + BS / 8 <= FILE_SIZE ? BS / 8 : FILE_SIZE - off);
    ckpt_bcfile_close(f); /* waits for read-ahead still running */
    ck_assert_int_le(atomic_load(&s.requests), NBLOCKS / 4 + 2);
    for (int b = 0; b < NBLOCKS; b++)
        ck_assert_int_eq(atomic_load(&s.fetched[b]), 1);
    ckpt_blockcache_unref(bc);
}
END_TEST

/* The most fetches at once while a reader goes through the file; a server that waits wait_s
 * before each answer (as the HTTP source reports it) when wait_s > 0. */
static int most_in_flight(double wait_s)
{
    src s;
    src_init(&s);
    s.delay_ms = 40;
    ckpt_blockcache *bc;
    ckpt_bcfile *f = open_file(1u << 20, &s, &bc);
    if (wait_s > 0)
        ckpt_bcfile_note_timing(f, wait_s, wait_s + 0.01, 4 * BS);
    for (uint64_t off = 0; off < FILE_SIZE; off += BS / 2)
        expect_bytes(f, off, off + BS / 2 <= FILE_SIZE ? BS / 2 : FILE_SIZE - off);
    ckpt_bcfile_close(f);
    ckpt_blockcache_unref(bc);
    return atomic_load(&s.most);
}

START_TEST(long_waits_get_more_ranges_in_flight)
{
    /* Four read-ahead runs, plus the reader's own fetch when it outruns them. */
    ck_assert_int_le(most_in_flight(0), 5);
    /* A server that takes 20 transfers' time to start answering: up to 8 runs at once. */
    ck_assert_int_ge(most_in_flight(0.2), 6);
}
END_TEST

/* The bytes iov[0..niov) lends are those of the file at off, n in all. */
static void expect_lent(const struct iovec *iov, int niov, uint64_t off, size_t n)
{
    size_t at = 0;
    for (int k = 0; k < niov; k++)
        for (size_t i = 0; i < iov[k].iov_len; i++, at++)
            ck_assert_uint_eq(((const uint8_t *)iov[k].iov_base)[i], byte_at(off + at));
    ck_assert_uint_eq(at, n);
}

START_TEST(borrowed_blocks_stay_until_released)
{
    src s;
    src_init(&s);
    ckpt_blockcache *bc;
    ckpt_bcfile *f = open_file(4 * BS, &s, &bc); /* the floor: 16 blocks */
    ckpt_err err;
    ckpt_err_clear(&err);
    struct iovec iov[2];
    int niov;
    ck_assert_int_eq(ckpt_bcfile_borrow(f, 3 * BS - 100, 3 * BS, iov, 2, &niov, &err),
                     CKPT_E_UNSUPPORTED); /* 4 blocks: more pieces than room */
    ck_assert_int_eq(ckpt_bcfile_borrow(f, BS - 100, 1000, iov, 2, &niov, &err), 0);
    ck_assert_int_eq(niov, 2);
    expect_lent(iov, niov, BS - 100, 1000);
    expect_bytes(f, BS - 50, 100); /* copied out while lent: still lent after */
    /* Reads of 40 other blocks would evict blocks 0 and 1 many times over: lent, they stay,
     * their bytes untouched (no other block reuses their memory). */
    for (int k = 0; k < 40; k++)
        expect_bytes(f, (uint64_t)(k + 4) * BS + 10, 100);
    expect_lent(iov, niov, BS - 100, 1000);
    ckpt_bcfile_release(f, BS - 100, 1000);
    expect_bytes(f, BS - 100, 1000);
    ck_assert_int_eq(atomic_load(&s.fetched[0]), 1);
    ck_assert_int_eq(atomic_load(&s.fetched[1]), 1);
    /* Given back, they are evicted like any other. */
    for (int k = 0; k < 40; k++)
        expect_bytes(f, (uint64_t)(k + 4) * BS + 10, 100);
    expect_bytes(f, 10, 100);
    ck_assert_int_eq(atomic_load(&s.fetched[0]), 2);
    ckpt_bcfile_close(f);
    ckpt_blockcache_unref(bc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("blockcache");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, bytes_at_any_offset);
    tcase_add_test(tc, eviction_least_recent_first);
    tcase_add_test(tc, concurrent_readers_one_fetch);
    tcase_add_test(tc, failing_fetch);
    tcase_add_test(tc, end_of_file);
    tcase_add_test(tc, sequential_reads_fetch_whole_runs);
    tcase_add_test(tc, borrowed_blocks_stay_until_released);
    tcase_add_test(tc, long_waits_get_more_ranges_in_flight);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
