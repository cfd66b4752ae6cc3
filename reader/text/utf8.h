/*
 * utf8.h - strict UTF-8 validation, shared by every text renderer (string tensors, protobuf
 * text, DOT) so that all of them agree on what is printed raw and what is escaped.
 */
#ifndef CKPT_UTF8_H
#define CKPT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Length (2 to 4) of the valid UTF-8 sequence starting at s[0] (a byte >= 0x80; n bytes
 * readable), or 0 when there is none. Valid means what Python's strict decoder accepts: no
 * overlong forms, no surrogates, nothing above U+10FFFF.
 */
size_t ckpt_utf8_seq(const uint8_t *s, size_t n);

#endif
