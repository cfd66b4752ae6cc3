/*
 * nameglob.h - which variables a user's shell patterns select: `ckptfs ls PATTERN`, the
 * --include/--exclude of `ckptfs export` and a mount's -o include=/exclude= (docs/mount.md).
 * Names are bytes (a name may hold NUL or '/').
 */
#ifndef CKPT_NAMEGLOB_H
#define CKPT_NAMEGLOB_H

#include "checkpoint.h"

#include <stddef.h>

/*
 * Whether name[0..len) matches pat (NUL-terminated): '*' any run of bytes ('/' and NUL
 * included), '?' one byte, "[...]" one byte of a set with ranges ("a-z") and '!' to negate, a
 * ']' first in a set is literal; every other byte stands for itself. An unclosed '[' is a
 * literal '['. The rules of Python's fnmatch.fnmatchcase, applied to bytes.
 */
int ckpt_glob_match(const char *pat, const char *name, size_t len);

/* Include and exclude globs, each kept as one ':'-separated list. Start zeroed. */
typedef struct ckpt_namefilter {
    char *include; /* NULL or "": every variable is a candidate */
    char *exclude; /* NULL or "": none is dropped */
} ckpt_namefilter;

/* Append the ':'-separated globs of list to the include (include != 0) or exclude list. 0, or
 * CKPT_E_NOMEM. */
int ckpt_namefilter_add(ckpt_namefilter *f, int include, const char *list);

/* Whether f selects anything less than every variable. */
int ckpt_namefilter_active(const ckpt_namefilter *f);

/* Whether a variable named name is kept: it matches an include glob (or there is none) and no
 * exclude glob. */
int ckpt_namefilter_keep(const ckpt_namefilter *f, const char *name, size_t len);

/* ckpt_namefilter_keep for variable i of c, f a ckpt_namefilter (the ckpt_hide and
 * safetensors keep callback). */
int ckpt_namefilter_keep_var(void *f, const ckpt_checkpoint *c, size_t i);

/* Release the lists. */
void ckpt_namefilter_free(ckpt_namefilter *f);

#endif
