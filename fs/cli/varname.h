/*
 * varname.h - what a command accepts as a variable's name, and what it says when none fits.
 *
 * A name is, in this order (the first that matches wins): the TF key exactly; "KEY:0" as
 * tf.train.load_variable takes it; a TF 2 variable's visible path (the key without
 * "/.ATTRIBUTES/VARIABLE_VALUE", objnames.h); its full_name when no other variable shares it;
 * its by_name link name ("w~2" for the second of two variables named "w"). A pattern matches a
 * variable when it matches its key, its visible path or its full_name. docs/format.md ("Names
 * in a mount") is the one statement of the naming rule; README and ckptfs(1) show it in use.
 */
#ifndef CKPTFS_VARNAME_H
#define CKPTFS_VARNAME_H

#include "checkpoint.h"
#include "objnames.h"

#include <stddef.h>

/* Find name[0..len) in c (names: its object graph's names, or NULL). exact: no ":0" form.
 * 0 and *idx; CKPT_E_NOTFOUND; CKPT_E_INVALID for a full_name several variables share. */
int cli_find_var(const ckpt_checkpoint *c, const ckpt_names *names, const char *name, size_t len,
                 int exact, size_t *idx);

/* Report on stderr (naming source) that name matched nothing, with the closest names (by edit
 * distance over keys, visible paths and full names), or which variables share the full_name. */
void cli_no_such_var(const char *source, const ckpt_checkpoint *c, const ckpt_names *names,
                     const char *name, size_t len);

/* Whether glob pattern pat matches variable i by key, visible path or full_name. */
int cli_var_matches(const char *pat, const ckpt_checkpoint *c, const ckpt_names *names, size_t i);

/* Load c's names for a command; NULL (with a warning on stderr) when the graph is damaged. */
ckpt_names *cli_load_names(const char *source, ckpt_checkpoint *c);

#endif
