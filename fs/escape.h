/*
 * escape.h - turning a variable-name component into a file name, reversibly.
 *
 * A component (the text between two '/' of a variable name) is shown as itself unless it
 * cannot be a file name or could be mistaken for an escaped one:
 *   - "", ".", ".." and any component starting with '%' are shown as '%' + the component
 *     ("%", "%.", "%..", "%%foo"); dropping the first '%' gives the component back;
 *   - a component of more than CKFS_NAME_KEEP bytes, or holding a NUL byte, is shown as
 *     "%~" + 16 hex digits of its FNV-1a 64-bit hash + "~" + its first bytes (cut at a UTF-8
 *     character boundary, NUL bytes as '?'); the full name is in variables.tsv and in the
 *     file's user.ckpt.name xattr.
 * No unescaped name starts with '%', so escaped and plain names never collide.
 */
#ifndef CKPTFS_ESCAPE_H
#define CKPTFS_ESCAPE_H

#include <stddef.h>

/* Longest component shown as itself: 255 (NAME_MAX) minus room for ".shape", ".dtype"... */
#define CKFS_NAME_KEEP 240
/* Longest display name escape_component produces: 255 minus the longest suffix (.shape). */
#define CKFS_DISPLAY_MAX 249

/*
 * If the component s[0..len) must be escaped, write its display name to out (size >=
 * CKFS_DISPLAY_MAX + 1, NUL-terminated) and return its length; return 0 when the component
 * is shown as itself.
 */
size_t ckfs_escape_component(const char *s, size_t len, char *out);

#endif
