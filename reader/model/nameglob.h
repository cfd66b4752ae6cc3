/*
 * nameglob.h - which variables a user's shell patterns select: `ckptfs ls PATTERN`, the
 * --include/--exclude of `ckptfs export` and a mount's -o include=/exclude= (docs/mount.md).
 * Names are bytes (a name may hold NUL or '/').
 */
#ifndef CKPT_NAMEGLOB_H
#define CKPT_NAMEGLOB_H

#include "checkpoint.h"
#include "objnames.h"

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
    char *include;           /* NULL or "": every variable is a candidate */
    char *exclude;           /* NULL or "": none is dropped */
    const ckpt_names *names; /* the checkpoint's full names, or NULL (not owned) */
} ckpt_namefilter;

/* Append the ':'-separated globs of list to the include (include != 0) or exclude list. 0, or
 * CKPT_E_NOMEM. */
int ckpt_namefilter_add(ckpt_namefilter *f, int include, const char *list);

/* Whether f selects anything less than every variable. */
int ckpt_namefilter_active(const ckpt_namefilter *f);

/* ckpt_hide of c by f, its full names read from c's object graph for the time of the call
 * (a damaged graph: the globs see keys and paths only). 0, or CKPT_E_NOMEM. */
int ckpt_namefilter_apply(ckpt_namefilter *f, ckpt_checkpoint *c, ckpt_err *err);

/* Release the lists. */
void ckpt_namefilter_free(ckpt_namefilter *f);

#endif
