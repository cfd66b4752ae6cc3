/*
 * escape.h - turning a variable-name component into a file name, reversibly, and the name
 * length limits every part of the mount shares (one place, so the clamps cannot drift apart).
 *
 * A component (the text between two '/' of a variable name) is shown as itself unless it
 * cannot be a file name or could be mistaken for an escaped or a generated one (the one
 * statement of the rule, with the reasoning why no two names meet, is docs/format.md, "Names
 * in a mount"):
 *   - "", ".", ".." and any component starting with '%' get a '%' in front;
 *   - a component ending in '%', ".raw", ".shape", ".dtype" or ".npy", or at the top of the
 *     tree equal to a generated root file's name (ckfs_gen_names), gets a '%' at the end;
 *     both marks may apply ("%a.raw" -> "%%a.raw%"); dropping them gives the component back;
 *   - a component of more than CKFS_NAME_KEEP bytes, or holding a NUL byte, is shown as
 *     "%~" + 16 hex digits of its FNV-1a 64-bit hash + "~" + its first bytes (at most
 *     CKFS_HASHED_KEEP, cut at a UTF-8 character boundary, NUL bytes as '?'); the full name
 *     is in variables.tsv and in the file's user.ckpt.name xattr. This form is one-way.
 * So no plain name starts or ends with '%' or ends like a generated name: variables,
 * directories, sidecars, NAME.raw and root files never compete for one name.
 */
#ifndef CKPTFS_ESCAPE_H
#define CKPTFS_ESCAPE_H

#include <stddef.h>

/* Longest display name of an entry (a component plus a suffix), without the NUL: NAME_MAX. */
#define CKFS_ENTRY_NAME_MAX 255
/* Longest suffix a generated entry adds to a component (".shape", ".dtype"). */
#define CKFS_SUFFIX_MAX 6
/* Longest display name ckfs_escape_component produces: room is left for any suffix. */
#define CKFS_DISPLAY_MAX (CKFS_ENTRY_NAME_MAX - CKFS_SUFFIX_MAX)
/* Longest component shown as itself; longer ones are hashed. Below CKFS_DISPLAY_MAX so a
 * plain name never needs the whole budget. */
#define CKFS_NAME_KEEP 240
/* How much of a hashed component stays readable after the hash. */
#define CKFS_HASHED_KEEP 200
/* Longest variable path quoted in a warning: enough to recognise it, short enough for a line. */
#define CKFS_MSG_PATH_MAX 200

/* Flags of ckfs_escape_component_at. */
enum {
    CKFS_ESC_TOP = 1,  /* the component sits at the top of a checkpoint's tree, beside the
                          generated root files and by_name */
    CKFS_ESC_DOTS = 2, /* an object-based (TF 2) checkpoint: every component starting with '.'
                          (".ATTRIBUTES", ".OPTIMIZER_SLOT") gets the leading '%' too, so no
                          tensor hides behind a dot file */
};

/*
 * If the component s[0..len) must be escaped, write its display name to out (size >=
 * CKFS_DISPLAY_MAX + 1, NUL-terminated) and return its length; return 0 when the component
 * is shown as itself. flags: CKFS_ESC_*.
 */
size_t ckfs_escape_component_at(const char *s, size_t len, unsigned flags, char *out);

/* ckfs_escape_component_at below the top (names of directories beside no root file). */
size_t ckfs_escape_component(const char *s, size_t len, char *out);

#endif
