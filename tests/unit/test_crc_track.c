/*
 * test_crc_track.c - the checksum of a file read in pieces in any order (crc_track.h).
 * Truth: the table-driven CRC-32C of the whole buffer (ckpt_crc32c_extend_portable), and the
 * rules of crc_track.h (re-reads change nothing, overlaps and overflows end the tracking).
 */
#include "crc_track.h"

#include "crc32c.h"

#include "check_run.h"

#include <check.h>
#include <stdlib.h>

enum { N = 1 << 20, PIECE = 128 << 10 };

static uint8_t *data(void)
{
    uint8_t *d = malloc(N);
    ck_assert_ptr_nonnull(d);
    srand(5);
    for (int i = 0; i < N; i++)
        d[i] = (uint8_t)rand();
    return d;
}

static enum ckpt_crc_track_result add(ckpt_crc_track *t, const uint8_t *d, uint64_t off,
                                      uint64_t len)
{
    return ckpt_crc_track_add(t, off, len, ckpt_crc32c(d + off, len));
}

/* Eight 128 KiB pieces in every one of several shuffled orders: only the piece that closes
 * the last gap reports, and it reports a match. */
START_TEST(any_order_matches)
{
    uint8_t *d = data();
    uint32_t want = ckpt_crc32c_extend_portable(0, d, N);
    static const int orders[][8] = {{0, 1, 2, 3, 4, 5, 6, 7},
                                    {7, 6, 5, 4, 3, 2, 1, 0},
                                    {1, 0, 3, 2, 5, 4, 7, 6},
                                    {2, 5, 7, 1, 6, 3, 4, 0},
                                    {0, 7, 1, 6, 2, 5, 3, 4}};
    for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
        ckpt_crc_track t;
        ckpt_crc_track_init(&t, N, want);
        for (int k = 0; k < 8; k++) {
            enum ckpt_crc_track_result r = add(&t, d, (uint64_t)orders[o][k] * PIECE, PIECE);
            ck_assert_int_eq(r, k == 7 ? CKPT_TRACK_MATCH : CKPT_TRACK_PENDING);
        }
        ck_assert(ckpt_crc_track_ended(&t));
    }
    free(d);
}
END_TEST

/* One flipped byte anywhere: the closing piece reports the mismatch. Unequal piece sizes. */
START_TEST(damage_is_found)
{
    uint8_t *d = data();
    uint32_t want = ckpt_crc32c_extend_portable(0, d, N);
    d[N / 3] ^= 0x10;
    ckpt_crc_track t;
    ckpt_crc_track_init(&t, N, want);
    ck_assert_int_eq(add(&t, d, 700000, N - 700000), CKPT_TRACK_PENDING);
    ck_assert_int_eq(add(&t, d, 4096, 700000 - 4096), CKPT_TRACK_PENDING);
    ck_assert_int_eq(add(&t, d, 0, 4096), CKPT_TRACK_MISMATCH);
    free(d);
}
END_TEST

/* A re-read of covered bytes, and the same waiting piece twice, change nothing. */
START_TEST(rereads_are_harmless)
{
    uint8_t *d = data();
    uint32_t want = ckpt_crc32c_extend_portable(0, d, N);
    ckpt_crc_track t;
    ckpt_crc_track_init(&t, N, want);
    ck_assert_int_eq(add(&t, d, 0, N / 2), CKPT_TRACK_PENDING);
    ck_assert_int_eq(add(&t, d, 0, PIECE), CKPT_TRACK_PENDING);
    ck_assert_int_eq(add(&t, d, 3 * N / 4, N / 4), CKPT_TRACK_PENDING);
    ck_assert_int_eq(add(&t, d, 3 * N / 4, N / 4), CKPT_TRACK_PENDING);
    ck_assert(!ckpt_crc_track_ended(&t));
    ck_assert_int_eq(add(&t, d, N / 2, N / 4), CKPT_TRACK_MATCH);
    free(d);
}
END_TEST

/* Overlaps (with the prefix or a waiting piece), pieces past the end and more waiting pieces
 * than there is room for end the tracking: nothing is reported after. */
START_TEST(what_ends_tracking)
{
    uint8_t *d = data();
    uint32_t want = ckpt_crc32c_extend_portable(0, d, N);
    ckpt_crc_track t;

    ckpt_crc_track_init(&t, N, want);
    add(&t, d, 0, 1000);
    add(&t, d, 500, 1000); /* straddles the covered prefix */
    ck_assert(ckpt_crc_track_ended(&t));
    ck_assert_int_eq(add(&t, d, 1000, N - 1000), CKPT_TRACK_PENDING);

    ckpt_crc_track_init(&t, N, want);
    add(&t, d, 8192, 4096);
    add(&t, d, 10000, 4096); /* overlaps a waiting piece */
    ck_assert(ckpt_crc_track_ended(&t));

    ckpt_crc_track_init(&t, N, want);
    add(&t, d, N - 10, 10);
    ck_assert(!ckpt_crc_track_ended(&t));
    ckpt_crc_track_add(&t, N - 4, 10, 0); /* past the end */
    ck_assert(ckpt_crc_track_ended(&t));

    ckpt_crc_track_init(&t, N, want);
    for (int k = 1; k <= CKPT_CRC_TRACK_PIECES; k++)
        add(&t, d, (uint64_t)k * 1000, 10);
    ck_assert(!ckpt_crc_track_ended(&t));
    add(&t, d, (uint64_t)(CKPT_CRC_TRACK_PIECES + 1) * 1000, 10);
    ck_assert(ckpt_crc_track_ended(&t));

    ckpt_crc_track_init(&t, N, want);
    ckpt_crc_track_stop(&t);
    ck_assert_int_eq(add(&t, d, 0, N), CKPT_TRACK_PENDING);
    free(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crc_track");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, any_order_matches);
    tcase_add_test(tc, damage_is_found);
    tcase_add_test(tc, rereads_are_harmless);
    tcase_add_test(tc, what_ends_tracking);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
