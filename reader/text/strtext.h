/*
 * strtext.h - string elements as lines of text (DT_STRING tensors, names in listings).
 *
 * Text form served by the mount and by `ckptfs cat`: one element per line, each followed by
 * '\n'. Inside a line, backslash is "\\", newline "\n", carriage return "\r", tab "\t", any
 * other byte below 0x20, 0x7f, and any byte that is not part of a valid UTF-8 sequence is
 * "\xHH" (two lowercase hex digits). Everything else, valid multi-byte UTF-8 included, is
 * itself. The form is lossless: unescaping each line gives back the element's bytes.
 */
#ifndef CKPT_STRTEXT_H
#define CKPT_STRTEXT_H

#include "textbuf.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Escape one element into dst (the text form above, without the trailing newline). Returns the
 * escaped length; writes nothing when dst is NULL (so a first call can size the buffer).
 */
size_t ckpt_tstring_escape(const uint8_t *s, size_t len, char *dst);

/* Append the escaped element to b (ckpt_strbuf rules: a failure sets b->failed). */
void ckpt_tstring_put_escaped(ckpt_strbuf *b, const uint8_t *s, size_t len);

/* Reverse of ckpt_tstring_escape, in place; returns the decoded length or -1 if malformed. */
long ckpt_tstring_unescape(char *s, size_t len);

/* Append a JSON string (quotes included) of raw bytes: bytes that are not UTF-8 as lone
 * surrogates \udc80..\udcff, which Python's json with errors='surrogateescape' turns back. */
void ckpt_json_put_string(ckpt_strbuf *b, const uint8_t *s, size_t len);

#endif
