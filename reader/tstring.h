/*
 * tstring.h - DT_STRING tensors: decoding the stored encoding and the line-escaped text form.
 *
 * Stored encoding (V2): N varint64 lengths, a 4-byte masked CRC-32C of the lengths (each as a
 * uint32 LE, or uint64 LE when >= 2^32), then the N byte strings back to back.
 *
 * Text form served by the mount and by `ckptfs cat`: one element per line, each followed by
 * '\n'. Inside a line, backslash is "\\", newline "\n", carriage return "\r", tab "\t", any
 * other byte below 0x20, 0x7f, and any byte that is not part of a valid UTF-8 sequence is
 * "\xHH" (two lowercase hex digits). Everything else, valid multi-byte UTF-8 included, is
 * itself. The form is lossless: unescaping each line gives back the element's bytes.
 */
#ifndef CKPT_TSTRING_H
#define CKPT_TSTRING_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* One element: a pointer into the buffer given to ckpt_tstring_decode. */
typedef struct ckpt_str {
    const uint8_t *ptr;
    uint64_t len;
} ckpt_str;

/*
 * Decode n elements from the stored encoding buf[0..len). Verifies the length checksum. When
 * crc is non-NULL it receives the tensor's CRC-32C computed the way TensorFlow defines it for
 * strings (lengths as uint32/uint64 LE, the stored length checksum, then the element bytes),
 * to compare with the entry's stored crc32c. On success *out is a malloc'd array of n ckpt_str
 * pointing into buf. Elements beyond len are an error, never an over-read.
 */
int ckpt_tstring_decode(const uint8_t *buf, size_t len, uint64_t n, ckpt_str **out,
                        uint32_t *crc, ckpt_err *err);

/*
 * Escape one element into dst (the text form above, without the trailing newline). Returns the
 * escaped length; writes nothing when dst is NULL (so a first call can size the buffer).
 */
size_t ckpt_tstring_escape(const uint8_t *s, size_t len, char *dst);

/* Reverse of ckpt_tstring_escape, in place; returns the decoded length or -1 if malformed. */
long ckpt_tstring_unescape(char *s, size_t len);

#endif
