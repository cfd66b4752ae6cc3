/*
 * test_pbtext.c - the text-format printer and the DOT writer on hand-encoded wire bytes.
 *
 * Expected texts are what Python protobuf 6 / upb's text_format.MessageToString prints for the
 * same bytes (checked by hand with TensorFlow 2.21's python3, see docs/graph.md), and the
 * number vectors are Python's own str()/repr() results. Whole-graph comparisons against TF live
 * in tests/graph/test_graph_text.py.
 */
#include "graphdot.h"
#include "pbtext.h"

#include "attr_value.pb-c.h"
#include "graph.pb-c.h"
#include "graph_debug_info.pb-c.h"
#include "meta_graph.pb-c.h"
#include "node_def.pb-c.h"
#include "saver.pb-c.h"
#include "tensor.pb-c.h"
#include "wkt_any.pb-c.h"

#include "check_run.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable output sink ---- */

typedef struct obuf {
    char *p;
    size_t n;
} obuf;

static int obuf_sink(void *ctx, const char *p, size_t n)
{
    obuf *o = ctx;
    o->p = realloc(o->p, o->n + n + 1);
    memcpy(o->p + o->n, p, n);
    o->n += n;
    o->p[o->n] = '\0';
    return 0;
}

static const ProtobufCMessageDescriptor *const roots[] = {&tensorflow__meta_graph_def__descriptor};
static const ckpt_pbtext_opts opts = {roots, 1};

/* Print bytes as desc; returns the printer's code and leaves the text in *out. */
static int print_as(const ProtobufCMessageDescriptor *d, const char *bytes, size_t n, obuf *out,
                    ckpt_err *err)
{
    ckpt_pb_seg seg = {(const uint8_t *)bytes, n};
    out->p = calloc(1, 1);
    out->n = 0;
    return ckpt_pbtext_print(d, &seg, 1, &opts, obuf_sink, out, err);
}

static void expect_text(const ProtobufCMessageDescriptor *d, const char *bytes, size_t n,
                        const char *want)
{
    obuf o;
    ckpt_err err = {0};
    int r = print_as(d, bytes, n, &o, &err);
    ck_assert_msg(r == 0, "print failed: %s", err.msg);
    ck_assert_str_eq(o.p, want);
    ck_assert_uint_eq(o.n, strlen(want));
    free(o.p);
}

static void expect_corrupt(const ProtobufCMessageDescriptor *d, const char *bytes, size_t n)
{
    obuf o;
    ckpt_err err = {0};
    int r = print_as(d, bytes, n, &o, &err);
    ck_assert_int_eq(r, CKPT_E_CORRUPT);
    ck_assert(err.msg[0] != '\0');
    free(o.p);
}

#define B(s) s, sizeof(s) - 1

/* ---- numbers: Python's repr / text_format's float printing ---- */

START_TEST(double_repr)
{
    static const struct {
        double v;
        const char *s;
    } t[] = {
        {0.1, "0.1"},
        {1e-5, "1e-05"},
        {1e-4, "0.0001"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {100.0, "100.0"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {0.30000000000000004, "0.30000000000000004"},
        {-2.5, "-2.5"},
        {1e-45, "1e-45"},
        {123.456, "123.456"},
        {1.5e-7, "1.5e-07"},
        {1e100, "1e+100"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = ckpt_pbtext_format_double(t[i].v, buf);
        ck_assert_str_eq(buf, t[i].s);
        ck_assert_uint_eq(n, strlen(t[i].s));
    }
    ckpt_pbtext_format_double(NAN, buf);
    ck_assert_str_eq(buf, "nan");
    ckpt_pbtext_format_double(-NAN, buf);
    ck_assert_str_eq(buf, "nan");
    ckpt_pbtext_format_double(INFINITY, buf);
    ck_assert_str_eq(buf, "inf");
    ckpt_pbtext_format_double(-INFINITY, buf);
    ck_assert_str_eq(buf, "-inf");
}
END_TEST

START_TEST(float_shortest)
{
    static const struct {
        float v;
        const char *s;
    } t[] = {
        {0.1f, "0.1"},
        {1e-45f, "1.4013e-45"},
        {FLT_MAX, "3.4028235e+38"},
        {123456789.0f, "123456790.0"},
        {16777216.0f, "16777216.0"},
        {1e16f, "1e+16"},
        {1e-5f, "1e-05"},
        {-0.0f, "-0.0"},
        {0.3f, "0.3"},
        {2.5e-7f, "2.5e-07"},
        {1.0f, "1.0"},
        {1e15f, "1000000000000000.0"},
        {0.0001f, "0.0001"},
        {1e-38f, "1e-38"},
        {3.0f, "3.0"},
        {0.9f, "0.9"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ckpt_pbtext_format_float(t[i].v, buf);
        ck_assert_str_eq(buf, t[i].s);
    }
    ckpt_pbtext_format_float(NAN, buf);
    ck_assert_str_eq(buf, "nan");
    ckpt_pbtext_format_float(-INFINITY, buf);
    ck_assert_str_eq(buf, "-inf");
}
END_TEST

/* ---- escaping ---- */

START_TEST(escape_bytes_all_kinds)
{
    const char in[] = "\x00\x7f\x80\xff caf\xc3\xa9q\"'\\\t\n\r~";
    const char want[] = "\\000\\177\\200\\377 caf\\303\\251q\\\"\\'\\\\\\t\\n\\r~";
    char out[256];
    size_t n = ckpt_pbtext_escape_bytes((const uint8_t *)in, sizeof in - 1, out);
    out[n] = '\0';
    ck_assert_str_eq(out, want);
    ck_assert_uint_eq(ckpt_pbtext_escape_bytes((const uint8_t *)in, sizeof in - 1, NULL), n);
}
END_TEST

START_TEST(escape_string_utf8)
{
    /* Valid UTF-8 stays; ASCII controls escape; invalid bytes (a lone lead byte, a surrogate,
     * an overlong) escape one byte at a time. */
    const char in[] = "\xc3\xa9\x01\t\"'\\\x7f\xf0\x9f\x98\x80|\xff\xc3|\xed\xa0\x80|\xc0\xaf";
    const char want[] = "\xc3\xa9\\001\\t\\\"\\'\\\\\\177\xf0\x9f\x98\x80|\\377\\303|"
                        "\\355\\240\\200|\\300\\257";
    char out[256];
    size_t n = ckpt_pbtext_escape_string((const uint8_t *)in, sizeof in - 1, out);
    out[n] = '\0';
    ck_assert_str_eq(out, want);
}
END_TEST

/* ---- message printing ---- */

START_TEST(field_order_and_unknown)
{
    /* op "b", name "a", unknown field 15 (varint 5), unknown group 16 */
    expect_text(&tensorflow__node_def__descriptor,
                B("\x12\x01"
                  "b"
                  "\x0a\x01"
                  "a"
                  "\x78\x05"
                  "\x83\x01\x08\x01\x84\x01"),
                "name: \"a\"\nop: \"b\"\n");
}
END_TEST

START_TEST(last_singular_wins_messages_merge)
{
    expect_text(&tensorflow__node_def__descriptor, B("\x0a\x01x\x0a\x01y"), "name: \"y\"\n");
    /* tensor_shape {dim {size 3}} twice-split, dtype 1 then 2 */
    expect_text(&tensorflow__tensor_proto__descriptor,
                B("\x12\x04\x12\x02\x08\x03\x12\x04\x12\x02\x08\x04\x08\x01\x08\x02"),
                "dtype: DT_DOUBLE\ntensor_shape {\n  dim {\n    size: 3\n  }\n  dim {\n"
                "    size: 4\n  }\n}\n");
}
END_TEST

START_TEST(packed_unpacked_negative)
{
    /* int_val packed [1, 2], unpacked 3, unpacked -1 (10-byte varint) */
    expect_text(&tensorflow__tensor_proto__descriptor,
                B("\x3a\x02\x01\x02\x38\x03\x38\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
                "int_val: 1\nint_val: 2\nint_val: 3\nint_val: -1\n");
    /* float_val packed [0.1f, -0.0f] */
    expect_text(&tensorflow__tensor_proto__descriptor,
                B("\x2a\x08\xcd\xcc\xcc\x3d\x00\x00\x00\x80"), "float_val: 0.1\nfloat_val: -0.0\n");
}
END_TEST

START_TEST(implicit_presence_and_enums)
{
    /* dtype 0 and version_number 0 on the wire: not printed; dtype 999: a number */
    expect_text(&tensorflow__tensor_proto__descriptor, B("\x08\x00\x18\x00"), "");
    expect_text(&tensorflow__tensor_proto__descriptor, B("\x08\xe7\x07"), "dtype: 999\n");
    /* SaverDef keep_checkpoint_every_n_hours = -0.0f is "set" (non-zero bits) */
    expect_text(&tensorflow__saver_def__descriptor, B("\x35\x00\x00\x00\x80"),
                "keep_checkpoint_every_n_hours: -0.0\n");
    /* wrong wire type for a singular field: unknown, not printed */
    expect_text(&tensorflow__saver_def__descriptor, B("\x20\x05\x22\x01\x07"), "max_to_keep: 5\n");
}
END_TEST

START_TEST(oneof_presence_and_switch)
{
    /* AttrValue i = 0 is printed (oneof member); s then i: only i */
    expect_text(&tensorflow__attr_value__descriptor, B("\x18\x00"), "i: 0\n");
    expect_text(&tensorflow__attr_value__descriptor, B("\x12\x01z\x18\x07"), "i: 7\n");
    /* b = true, then f = 1.5f wins */
    expect_text(&tensorflow__attr_value__descriptor, B("\x28\x01\x25\x00\x00\xc0\x3f"), "f: 1.5\n");
}
END_TEST

START_TEST(maps_sorted_dedup)
{
    /* attr entries "b"->{i:1}, "a"->{i:2}, "b"->{i:3}, ""->{} */
    expect_text(&tensorflow__node_def__descriptor,
                B("\x2a\x07\x0a\x01"
                  "b"
                  "\x12\x02\x18\x01"
                  "\x2a\x07\x0a\x01"
                  "a"
                  "\x12\x02\x18\x02"
                  "\x2a\x07\x0a\x01"
                  "b"
                  "\x12\x02\x18\x03"
                  "\x2a\x00"),
                "attr {\n  value {\n  }\n}\n"
                "attr {\n  key: \"a\"\n  value {\n    i: 2\n  }\n}\n"
                "attr {\n  key: \"b\"\n  value {\n    i: 3\n  }\n}\n");
    /* proto2 map (GraphDebugInfo.frames_by_id, fixed64 keys): key 0 is printed; keys sort
     * numerically as unsigned */
    expect_text(&tensorflow__graph_debug_info__descriptor,
                B("\x22\x0b\x09\xff\xff\xff\xff\xff\xff\xff\xff\x12\x00"
                  "\x22\x09\x09\x00\x00\x00\x00\x00\x00\x00\x00"),
                "frames_by_id {\n  key: 0\n  value {\n  }\n}\n"
                "frames_by_id {\n  key: 18446744073709551615\n  value {\n  }\n}\n");
}
END_TEST

START_TEST(upb_parse_rules)
{
    /* A map entry with a field besides key/value goes to unknown fields: not printed. */
    expect_text(&tensorflow__node_def__descriptor,
                B("\x2a\x09\x0a\x01"
                  "a"
                  "\x12\x02\x18\x01\x18\x05\x0a\x01"
                  "n"),
                "name: \"n\"\n");
    /* A malformed oneof member that a later member replaces still fails the parse. */
    expect_corrupt(&tensorflow__attr_value__descriptor, B("\x0a\x02\x0a\x05\x18\x01"));
    /* So does a malformed map entry value that a later entry with the same key replaces. */
    expect_corrupt(&tensorflow__node_def__descriptor, B("\x2a\x09\x0a\x01"
                                                        "a"
                                                        "\x12\x02\x0a\x05\x18\x05"
                                                        "\x2a\x07\x0a\x01"
                                                        "a"
                                                        "\x12\x02\x18\x01"));
}
END_TEST

START_TEST(any_expansion)
{
    /* Any{type_url: ".../tensorflow.SaverDef", value: SaverDef{filename_tensor_name: "a"}} */
    static const char known[] = "\x0a\x27type.googleapis.com/tensorflow.SaverDef"
                                "\x12\x03\x0a\x01"
                                "a";
    expect_text(&google__protobuf__any__descriptor, B(known),
                "[type.googleapis.com/tensorflow.SaverDef] {\n  filename_tensor_name: \"a\"\n}\n");
    static const char unknown[] = "\x0a\x0bx/not.Known\x12\x02\x08\x01";
    expect_text(&google__protobuf__any__descriptor, B(unknown),
                "type_url: \"x/not.Known\"\nvalue: \"\\010\\001\"\n");
}
END_TEST

START_TEST(hostile_input)
{
    const ProtobufCMessageDescriptor *nd = &tensorflow__node_def__descriptor;
    expect_corrupt(nd, B("\x0a\x05"
                         "ab"));       /* length past the end */
    expect_corrupt(nd, B("\x0a"));     /* tag without value */
    expect_corrupt(nd, B("\x0f\x00")); /* wire type 7 */
    expect_corrupt(nd, B("\x00\x01")); /* field number 0 */
    expect_corrupt(nd, B("\x78\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")); /* 11-byte varint */
    expect_corrupt(nd, B("\x0a\xff\xff\xff\xff\x0f"));                         /* 4 GiB length */
    expect_corrupt(nd, B("\x7c"));                                             /* stray end-group */
    expect_corrupt(nd, B("\x7b\x08\x01")); /* unterminated group */
    expect_corrupt(&tensorflow__tensor_proto__descriptor, B("\x3a\x02\x01\xff")); /* packed */
    expect_corrupt(&tensorflow__tensor_proto__descriptor, B("\x2a\x03\x00\x00\x00"));

    /* AttrValue.list.tensor... nested 200 deep through AttrValue -> NameAttrList -> attr map:
     * build AttrValue{func{attr{value{func{...}}}}} from the inside out. */
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap), *tmp = malloc(cap);
    for (int d = 0; d < 200; d++) {
        /* entry {value = 2: buf} ; NameAttrList {attr = 2: entry} ; AttrValue {func = 10} */
        size_t m = 0;
        uint8_t hdr[16];
        size_t h = 0;
        size_t len = n;
        hdr[h++] = 0x12;
        do {
            hdr[h++] = (uint8_t)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
            len >>= 7;
        } while (len);
        memcpy(tmp, hdr, h);
        memcpy(tmp + h, buf, n);
        m = h + n; /* entry */
        size_t el = m;
        h = 0;
        hdr[h++] = 0x12;
        do {
            hdr[h++] = (uint8_t)((el & 0x7f) | (el > 0x7f ? 0x80 : 0));
            el >>= 7;
        } while (el);
        memcpy(buf, hdr, h);
        memcpy(buf + h, tmp, m);
        n = h + m; /* NameAttrList */
        size_t fl = n;
        h = 0;
        hdr[h++] = 0x52;
        do {
            hdr[h++] = (uint8_t)((fl & 0x7f) | (fl > 0x7f ? 0x80 : 0));
            fl >>= 7;
        } while (fl);
        memcpy(tmp, hdr, h);
        memcpy(tmp + h, buf, n);
        n += h;
        memcpy(buf, tmp, n); /* AttrValue */
        ck_assert(n < cap / 2);
    }
    expect_corrupt(&tensorflow__attr_value__descriptor, (const char *)buf, n);
    free(buf);
    free(tmp);
}
END_TEST

/* Prepend a length-delimited field header (tag byte, varint length) to buf[0..n). */
static size_t wrap(uint8_t *buf, size_t cap, size_t n, uint8_t tag)
{
    uint8_t h[11];
    size_t k = 0, l = n;
    h[k++] = tag;
    do {
        h[k++] = (uint8_t)((l & 0x7f) | (l >= 0x80 ? 0x80 : 0));
        l >>= 7;
    } while (l);
    ck_assert_uint_le(k + n, cap);
    memmove(buf + k, buf, n);
    memcpy(buf, h, k);
    return k + n;
}

/* TensorProto nests through variant_val (field 15) -> VariantTensorDataProto.tensors (field
 * 3): `levels` such pairs around an empty TensorProto (tags 0x1a and 0x7a, wire type 2). */
static size_t nest(uint8_t *buf, size_t cap, int levels)
{
    size_t n = 0;
    for (int i = 0; i < levels; i++)
        n = wrap(buf, cap, wrap(buf, cap, n, 0x1a), 0x7a);
    return n;
}

START_TEST(validate_depth)
{
    static uint8_t buf[1 << 16];
    ckpt_err err;
    size_t n = nest(buf, sizeof buf, 40); /* 80 message levels: TF's parser accepts these */
    ck_assert_int_eq(
        ckpt_pb_validate(&tensorflow__tensor_proto__descriptor, buf, n, CKPT_PB_MAX_DEPTH, &err),
        0);
    n = nest(buf, sizeof buf, 60); /* 120 levels: beyond 100 */
    ck_assert_int_eq(
        ckpt_pb_validate(&tensorflow__tensor_proto__descriptor, buf, n, CKPT_PB_MAX_DEPTH, &err),
        CKPT_E_CORRUPT);
    /* A length running past the end is malformed at any depth. */
    n = nest(buf, sizeof buf, 3);
    ck_assert_int_eq(ckpt_pb_validate(&tensorflow__tensor_proto__descriptor, buf, n - 1,
                                      CKPT_PB_MAX_DEPTH, &err),
                     CKPT_E_CORRUPT);
}
END_TEST

START_TEST(range_and_count_sinks)
{
    static const char bytes[] = "\x0a\x03"
                                "abc"
                                "\x12\x05"
                                "Const"
                                "\x1a\x02"
                                "x1"
                                "\x1a\x03"
                                "^x2";
    const char *want = "name: \"abc\"\nop: \"Const\"\ninput: \"x1\"\ninput: \"^x2\"\n";
    ckpt_pb_seg seg = {(const uint8_t *)bytes, sizeof bytes - 1};
    uint64_t count = 0;
    ck_assert_int_eq(ckpt_pbtext_print(&tensorflow__node_def__descriptor, &seg, 1, NULL,
                                       ckpt_pbtext_count_sink, &count, NULL),
                     0);
    ck_assert_uint_eq(count, strlen(want));
    for (size_t off = 0; off <= strlen(want); off += 7) {
        char part[9] = {0};
        ckpt_pbtext_range rg = {off, part, 8, 0, 0};
        int r = ckpt_pbtext_print(&tensorflow__node_def__descriptor, &seg, 1, NULL,
                                  ckpt_pbtext_range_sink, &rg, NULL);
        size_t exp = strlen(want) - off < 8 ? strlen(want) - off : 8;
        ck_assert_int_eq(r, exp == 8 ? 1 : 0);
        ck_assert_uint_eq(rg.got, exp);
        ck_assert(memcmp(part, want + off, exp) == 0);
    }
}
END_TEST

START_TEST(segments_concatenate)
{
    /* A message split in two segments reads as their concatenation. */
    ckpt_pb_seg segs[2] = {{(const uint8_t *)"\x0a\x01"
                                             "a",
                            3},
                           {(const uint8_t *)"\x12\x01"
                                             "b",
                            3}};
    obuf o = {calloc(1, 1), 0};
    ck_assert_int_eq(
        ckpt_pbtext_print(&tensorflow__node_def__descriptor, segs, 2, NULL, obuf_sink, &o, NULL),
        0);
    ck_assert_str_eq(o.p, "name: \"a\"\nop: \"b\"\n");
    free(o.p);
}
END_TEST

/* ---- DOT ---- */

START_TEST(dot_nodes_and_edges)
{
    /* node {name "a" op "Const"} node {name "b\"q" op "Add" input "a:1" input "^a" input "a"} */
    static const char g[] = "\x0a\x0a\x0a\x01"
                            "a"
                            "\x12\x05"
                            "Const"
                            "\x0a\x16\x0a\x03"
                            "b\"q"
                            "\x12\x03"
                            "Add"
                            "\x1a\x03"
                            "a:1"
                            "\x1a\x02"
                            "^a"
                            "\x1a\x01"
                            "a";
    ckpt_pb_seg seg = {(const uint8_t *)g, sizeof g - 1};
    obuf o = {calloc(1, 1), 0};
    ckpt_err err = {0};
    ck_assert_int_eq(ckpt_graphdot_render(&seg, 1, obuf_sink, &o, &err), 0);
    ck_assert_str_eq(o.p, "digraph G {\n  node [shape=box];\n"
                          "  \"a\" [label=\"a\\nConst\"];\n"
                          "  \"b\\\"q\" [label=\"b\\\"q\\nAdd\"];\n"
                          "  \"a\" -> \"b\\\"q\";\n"
                          "  \"a\" -> \"b\\\"q\" [style=dashed];\n"
                          "  \"a\" -> \"b\\\"q\";\n"
                          "}\n");
    free(o.p);
    char esc[64];
    size_t n = ckpt_graphdot_escape((const uint8_t *)"x\\\n\xff\xc3\xa9", 6, esc);
    esc[n] = '\0';
    ck_assert_str_eq(esc, "x\\\\\\\\012\\\\377\xc3\xa9");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pbtext");
    TCase *num = tcase_create("numbers");
    tcase_add_test(num, double_repr);
    tcase_add_test(num, float_shortest);
    suite_add_tcase(s, num);
    TCase *esc = tcase_create("escaping");
    tcase_add_test(esc, escape_bytes_all_kinds);
    tcase_add_test(esc, escape_string_utf8);
    suite_add_tcase(s, esc);
    TCase *msg = tcase_create("messages");
    tcase_add_test(msg, field_order_and_unknown);
    tcase_add_test(msg, last_singular_wins_messages_merge);
    tcase_add_test(msg, packed_unpacked_negative);
    tcase_add_test(msg, implicit_presence_and_enums);
    tcase_add_test(msg, validate_depth);
    tcase_add_test(msg, oneof_presence_and_switch);
    tcase_add_test(msg, maps_sorted_dedup);
    tcase_add_test(msg, upb_parse_rules);
    tcase_add_test(msg, any_expansion);
    tcase_add_test(msg, hostile_input);
    tcase_add_test(msg, range_and_count_sinks);
    tcase_add_test(msg, segments_concatenate);
    suite_add_tcase(s, msg);
    TCase *dot = tcase_create("dot");
    tcase_add_test(dot, dot_nodes_and_edges);
    suite_add_tcase(s, dot);
    return ckpt_check_run(s);
}
