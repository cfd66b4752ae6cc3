/*
 * test_bundle_entry.c - the in-place BundleEntryProto decoder against hand-encoded bytes.
 *
 * Every vector is written out by hand from the protobuf wire format (tag = field << 3 | wire
 * type; varints 7 bits a byte, low group first) and the field numbers of BundleEntryProto in
 * docs/format.md: dtype 1, shape 2 (dim 2 {size 1, name 2}, unknown_rank 3), shard_id 3,
 * offset 4, size 5, crc32c 6 (fixed32), slices 7. None is produced by code under test.
 */
#include "bundle_entry.h"

#include "check_run.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Decode b and require success; dims gets up to 8 values (the rest stay -7). */
static ckpt_bundle_entry ok(const uint8_t *b, size_t n, int64_t dims[8])
{
    for (int i = 0; i < 8; i++)
        dims[i] = -7;
    ckpt_bundle_entry e;
    ck_assert_int_eq(ckpt_bundle_entry_decode(b, n, dims, 8, &e), 0);
    return e;
}

static void bad(const uint8_t *b, size_t n, const char *why)
{
    int64_t dims[8];
    ckpt_bundle_entry e;
    ck_assert_msg(ckpt_bundle_entry_decode(b, n, dims, 8, &e) == -1, "accepted: %s", why);
}

/* float32 [784, 10] at offset 1234, 31360 bytes, crc32c field 0x12345678. */
START_TEST(a_typical_entry)
{
    static const uint8_t b[] = {
        0x08, 0x01,                   /* dtype 1 (float) */
        0x12, 0x09,                   /* shape, 9 bytes: */
        0x12, 0x03, 0x08, 0x90, 0x06, /*   dim {size 784 = 0x10 | 6 << 7} */
        0x12, 0x02, 0x08, 0x0a,       /*   dim {size 10} */
        0x20, 0xd2, 0x09,             /* offset 1234 = 0x52 | 9 << 7 */
        0x28, 0x80, 0xf5, 0x01,       /* size 31360 = 0 | 0x75 << 7 | 1 << 14 */
        0x35, 0x78, 0x56, 0x34, 0x12, /* crc32c, little-endian */
    };
    int64_t dims[8];
    ckpt_bundle_entry e = ok(b, sizeof b, dims);
    ck_assert_int_eq(e.dtype, 1);
    ck_assert_int_eq(e.shard_id, 0); /* absent: proto3's zero */
    ck_assert_int_eq(e.offset, 1234);
    ck_assert_int_eq(e.size, 31360);
    ck_assert_uint_eq(e.crc32c, 0x12345678u);
    ck_assert_int_eq(e.has_shape, 1);
    ck_assert_int_eq(e.unknown_rank, 0);
    ck_assert_int_eq(e.has_slices, 0);
    ck_assert_uint_eq(e.rank, 2);
    ck_assert_int_eq(dims[0], 784);
    ck_assert_int_eq(dims[1], 10);
    ck_assert_int_eq(dims[2], -7);
}
END_TEST

START_TEST(scalars_and_absent_shapes)
{
    int64_t dims[8];
    /* An empty shape message is a scalar: present, rank 0. */
    static const uint8_t scalar[] = {0x08, 0x01, 0x12, 0x00, 0x28, 0x04};
    ckpt_bundle_entry e = ok(scalar, sizeof scalar, dims);
    ck_assert_int_eq(e.has_shape, 1);
    ck_assert_uint_eq(e.rank, 0);
    ck_assert_int_eq(e.size, 4);
    /* No shape field at all: the caller refuses it, the decoder says so. */
    static const uint8_t none[] = {0x08, 0x01, 0x28, 0x04};
    e = ok(none, sizeof none, dims);
    ck_assert_int_eq(e.has_shape, 0);
    /* The empty message (and no bytes at all) is all defaults. */
    e = ok(NULL, 0, dims);
    ck_assert_int_eq(e.has_shape, 0);
    ck_assert_int_eq(e.dtype, 0);
}
END_TEST

START_TEST(unknown_fields_are_skipped)
{
    static const uint8_t b[] = {
        0x48, 0x05,                                        /* field 9, varint */
        0x51, 1,    2,    3,    4,    5,    6,    7,    8, /* field 10, fixed64 */
        0x5a, 0x02, 0xaa, 0xbb,                            /* field 11, 2 bytes */
        0x65, 1,    2,    3,    4,                         /* field 12, fixed32 */
        0x12, 0x0c,                                        /* shape, 12 bytes: */
        0x12, 0x06, 0x08, 0x03, 0x12, 0x02, 'a',  'b',     /*   dim {size 3, name "ab"} */
        0x20, 0x01,                                        /*   field 4 of the shape */
        0x28, 0x07,                                        /*   field 5 of the shape */
        0x08, 0x13,                                        /* dtype 19 (half) */
        0x88, 0x80, 0x80, 0x80, 0x00, 0x05,                /* field 1 in a 5-byte tag: dtype 5 */
        0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* field 0 in 2 bytes */
    };
    int64_t dims[8];
    ckpt_bundle_entry e = ok(b, sizeof b, dims);
    ck_assert_int_eq(e.dtype, 5); /* a repeated scalar field: the last one wins */
    ck_assert_uint_eq(e.rank, 1);
    ck_assert_int_eq(dims[0], 3);
}
END_TEST

START_TEST(values_as_protobuf_reads_them)
{
    int64_t dims[8];
    /* offset -1: ten bytes, all 64 bits set. */
    static const uint8_t neg[] = {0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(ok(neg, sizeof neg, dims).offset, -1);
    /* An int32 keeps the low 32 bits of a longer varint: 0x1_0000_0005 is shard 5. */
    static const uint8_t wide[] = {0x18, 0x85, 0x80, 0x80, 0x80, 0x10};
    ck_assert_int_eq(ok(wide, sizeof wide, dims).shard_id, 5);
    /* Two shape fields merge: dims append in order. */
    static const uint8_t two[] = {0x12, 0x04, 0x12, 0x02, 0x08, 0x03,
                                  0x12, 0x04, 0x12, 0x02, 0x08, 0x05};
    ckpt_bundle_entry e = ok(two, sizeof two, dims);
    ck_assert_uint_eq(e.rank, 2);
    ck_assert_int_eq(dims[0], 3);
    ck_assert_int_eq(dims[1], 5);
    /* A dim with two sizes keeps the last; a negative size comes back as such. */
    static const uint8_t dim2[] = {0x12, 0x06, 0x12, 0x04, 0x08, 0x03, 0x08, 0x04};
    e = ok(dim2, sizeof dim2, dims);
    ck_assert_uint_eq(e.rank, 1);
    ck_assert_int_eq(dims[0], 4);
    static const uint8_t negdim[] = {0x12, 0x0d, 0x12, 0x0b, 0x08, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    e = ok(negdim, sizeof negdim, dims);
    ck_assert_int_eq(dims[0], -1);
}
END_TEST

START_TEST(unknown_rank_reads_as_protobuf_c_does)
{
    int64_t dims[8];
    static const uint8_t set[] = {0x12, 0x02, 0x18, 0x01};
    ck_assert_int_eq(ok(set, sizeof set, dims).unknown_rank, 1);
    static const uint8_t two[] = {0x12, 0x02, 0x18, 0x02};
    ck_assert_int_eq(ok(two, sizeof two, dims).unknown_rank, 1);
    /* Set in a first shape field, absent from a second: the last occurrence's (false). */
    static const uint8_t reset[] = {0x12, 0x02, 0x18, 0x01, 0x12, 0x00};
    ck_assert_int_eq(ok(reset, sizeof reset, dims).unknown_rank, 0);
    /* protobuf-c takes a bool in any wire type, true when a byte of it is non-zero. */
    static const uint8_t len1[] = {0x12, 0x03, 0x1a, 0x01, 0x00};
    ck_assert_int_eq(ok(len1, sizeof len1, dims).unknown_rank, 1);
    static const uint8_t len0[] = {0x12, 0x02, 0x1a, 0x00};
    ck_assert_int_eq(ok(len0, sizeof len0, dims).unknown_rank, 0);
    static const uint8_t fixed[] = {0x12, 0x05, 0x1d, 0x00, 0x00, 0x01, 0x00};
    ck_assert_int_eq(ok(fixed, sizeof fixed, dims).unknown_rank, 1);
}
END_TEST

START_TEST(slices_are_flagged_and_ranks_beyond_the_room_counted)
{
    int64_t dims[8];
    /* shape [4], one slice {extent {}}: the decoder only flags it. */
    static const uint8_t sliced[] = {0x08, 0x01, 0x12, 0x04, 0x12, 0x02,
                                     0x08, 0x04, 0x3a, 0x02, 0x0a, 0x00};
    ckpt_bundle_entry e = ok(sliced, sizeof sliced, dims);
    ck_assert_int_eq(e.has_slices, 1);
    ck_assert_uint_eq(e.rank, 1);
    ck_assert_int_eq(dims[0], 4);
    /* Three dims with room for two: all counted, two written. */
    static const uint8_t three[] = {0x12, 0x0c, 0x12, 0x02, 0x08, 0x01, 0x12,
                                    0x02, 0x08, 0x02, 0x12, 0x02, 0x08, 0x03};
    int64_t small[3] = {-7, -7, -7};
    ck_assert_int_eq(ckpt_bundle_entry_decode(three, sizeof three, small, 2, &e), 0);
    ck_assert_uint_eq(e.rank, 3);
    ck_assert_int_eq(small[0], 1);
    ck_assert_int_eq(small[1], 2);
    ck_assert_int_eq(small[2], -7);
}
END_TEST

START_TEST(malformed_entries_are_refused)
{
    static const struct {
        uint8_t b[16];
        size_t n;
        const char *why;
    } cases[] = {
        {{0x08}, 1, "tag without its value"},
        {{0x08, 0x80}, 2, "truncated varint"},
        {{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         12,
         "varint of 11 bytes"},
        {{0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x05}, 7, "tag of 6 bytes"},
        {{0x00}, 1, "field number 0"},
        {{0x02, 0x00}, 2, "field number 0, length-delimited"},
        {{0x12, 0x05, 0x00}, 3, "length past the end"},
        {{0x12, 0x02, 0x12, 0x05, 0x08, 0x01, 0x02}, 7, "a dim longer than its shape"},
        {{0x12, 0x03, 0x12, 0x01, 0x08}, 5, "a dim's size cut off"},
        {{0x35, 0x01, 0x02, 0x03}, 4, "truncated fixed32"},
        {{0x51, 1, 2, 3, 4, 5, 6, 7}, 8, "truncated fixed64 (unknown field)"},
        {{0x0d, 0x01, 0x00, 0x00, 0x00}, 5, "dtype as fixed32"},
        {{0x0a, 0x01, 0x05}, 3, "dtype length-delimited"},
        {{0x21, 1, 0, 0, 0, 0, 0, 0, 0}, 9, "offset as fixed64"},
        {{0x30, 0x05}, 2, "crc32c as varint"},
        {{0x10, 0x05}, 2, "shape as varint"},
        {{0x38, 0x01}, 2, "slices as varint"},
        {{0x12, 0x02, 0x10, 0x01}, 4, "dim as varint"},
        {{0x12, 0x04, 0x12, 0x02, 0x0a, 0x00}, 6, "dim size length-delimited"},
        {{0x12, 0x04, 0x12, 0x02, 0x10, 0x01}, 6, "dim name as varint"},
        {{0x4b, 0x08, 0x01, 0x4c}, 4, "a group (unknown field 9)"},
        {{0x4c}, 1, "an end-group"},
        {{0x4e, 0x00}, 2, "wire type 6"},
        {{0x4f}, 1, "wire type 7"},
    };
    for (size_t i = 0; i < LEN(cases); i++)
        bad(cases[i].b, cases[i].n, cases[i].why);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bundle_entry");
    TCase *tc = tcase_create("bundle_entry");
    tcase_add_test(tc, a_typical_entry);
    tcase_add_test(tc, scalars_and_absent_shapes);
    tcase_add_test(tc, unknown_fields_are_skipped);
    tcase_add_test(tc, values_as_protobuf_reads_them);
    tcase_add_test(tc, unknown_rank_reads_as_protobuf_c_does);
    tcase_add_test(tc, slices_are_flagged_and_ranks_beyond_the_room_counted);
    tcase_add_test(tc, malformed_entries_are_refused);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
