/*
 * pbtext.h - protobuf text format, byte-identical to Python protobuf's
 * google.protobuf.text_format.MessageToString(msg) with default arguments (protobuf 6.x/upb, the
 * one TensorFlow 2.21 installs), printed straight from the wire bytes.
 *
 * The printer never unpacks a message: it walks the serialized bytes (typically an mmap'd file)
 * guided by protobuf-c descriptors, rescanning a message once per field it holds so that fields
 * come out in field-number order without any per-field lists. Memory is O(nesting depth x fields
 * per message) plus one small array per map being printed; a 1 GB tensor_content is escaped
 * directly from the input buffer to the sink.
 *
 * What MessageToString does, and so what this does:
 *   - fields in field-number order; singular fields: last occurrence wins, except messages,
 *     whose occurrences merge (concatenated payloads); repeated scalars accept packed and
 *     unpacked encodings; unknown fields and wrong-wire-type occurrences are not printed;
 *   - proto3 scalars without presence print only when non-zero (a float -0.0 counts as set);
 *     oneof members, proto2 fields and messages print when present;
 *   - 2-space indentation, "name: value" and "name {" ... "}";
 *   - string fields: valid UTF-8 printed raw (as_utf8=True is the default), ASCII controls as
 *     \n \r \t or \ooo, and " ' \ backslash-escaped; bytes fields: every byte outside 0x20..0x7e
 *     as \ooo (or \n \r \t); a string field holding invalid UTF-8 (Python refuses to parse it)
 *     has each offending byte octal-escaped;
 *   - float fields as Python str(ToShortestFloat(v)), double fields as Python repr;
 *   - enums by name, unknown values as the number;
 *   - maps as repeated "name { key: .. value { .. } }" sorted by key (bytewise for strings,
 *     numeric for integers), duplicate keys keep the last entry;
 *   - google.protobuf.Any whose type URL contains '/' and names a message reachable from
 *     opts->any_roots prints as "[type_url] { ... }"; otherwise as its two plain fields.
 *
 * Hostile input: every length is bounds-checked against its segment, nesting deeper than
 * CKPT_PB_MAX_DEPTH (100, as upb) is CKPT_E_CORRUPT, and malformed wire data is
 * CKPT_E_CORRUPT. Output already handed to the sink before an error is not taken back, so a
 * caller that must not serve partial text runs a counting pass first (which validates all).
 */
#ifndef CKPT_PBTEXT_H
#define CKPT_PBTEXT_H

#include "err.h"
#include "textbuf.h"
#include "pbwire.h"

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ckpt_pbtext_opts {
    /* Messages (and everything they reach) that a google.protobuf.Any may be expanded to. */
    const ProtobufCMessageDescriptor *const *any_roots;
    size_t n_any_roots;
} ckpt_pbtext_opts;

/*
 * Print the message of type desc serialized in segs[0..nseg) as text through write(ctx, ...).
 * opts may be NULL (no Any expansion). Returns 0, a negative CKPT_E_* code (message in err), or
 * the positive value a sink returned to stop.
 */
int ckpt_pbtext_print(const ProtobufCMessageDescriptor *desc, const ckpt_pb_seg *segs, size_t nseg,
                      const ckpt_pbtext_opts *opts, ckpt_write_fn write, void *ctx, ckpt_err *err);

/* Escape a bytes-field value the way MessageToString does (no quotes). Returns the length;
 * dst may be NULL to measure, else it needs the returned size (at most 4 * len). */
size_t ckpt_pbtext_escape_bytes(const uint8_t *s, size_t len, char *dst);

/* Same for a string field: valid UTF-8 kept, the rest like bytes. */
size_t ckpt_pbtext_escape_string(const uint8_t *s, size_t len, char *dst);

/* Python's repr(float(d)) ("0.1", "1e-05", "1e+16", "-0.0", "inf", "nan"; pbnum.c); buf >= 32.
 * Returns the length. */
size_t ckpt_pbtext_format_double(double d, char *buf);

/* How MessageToString prints a float field holding f (str of ToShortestFloat); buf >= 32. */
size_t ckpt_pbtext_format_float(float f, char *buf);

/* Ready-made sinks (ckpt_write_fn, textbuf.h). */
/* ctx: uint64_t *, incremented by n (measure the text without keeping it). */
int ckpt_pbtext_count_sink(void *ctx, const char *p, size_t n);
/* ctx: int * holding a file descriptor; writes everything (retrying short writes). */
int ckpt_pbtext_fd_sink(void *ctx, const char *p, size_t n);

/* Copy the bytes [off, off + len) of the text into buf, stopping the print once full. */
typedef struct ckpt_pbtext_range {
    uint64_t off; /* first byte wanted */
    char *buf;
    size_t len;   /* bytes wanted */
    size_t got;   /* filled so far (start at 0) */
    uint64_t pos; /* text bytes seen so far (start at 0) */
} ckpt_pbtext_range;
/* ctx: ckpt_pbtext_range *; returns 1 (stop) once got == len. */
int ckpt_pbtext_range_sink(void *ctx, const char *p, size_t n);

#endif
