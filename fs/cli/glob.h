/*
 * glob.h - shell patterns on variable names, which are bytes (a name may hold NUL or '/').
 */
#ifndef CKPTFS_CLI_GLOB_H
#define CKPTFS_CLI_GLOB_H

#include <stddef.h>

/*
 * Whether name[0..len) matches pat (NUL-terminated): '*' any run of bytes ('/' and NUL
 * included), '?' one byte, "[...]" one byte of a set with ranges ("a-z") and '!' to negate, a ']' first in a set is literal; every other byte stands for itself. An unclosed
 * '[' is a literal '['. The rules of Python's fnmatch.fnmatchcase, applied to bytes.
 */
int cli_glob_match(const char *pat, const char *name, size_t len);

#endif
