/*
 * prefix.h - variables grouped by the first components of their names (`du`, `diff
 * --summary`): "a/b/c" at depth 2 is in the group "a/b". A name with fewer components is its
 * own group. Groups are found by hash, since a depth's groups are not contiguous in bytewise
 * name order ("a/b", "a/b-x", "a/b/c").
 */
#ifndef CKPTFS_PREFIX_H
#define CKPTFS_PREFIX_H

#include <stddef.h>
#include <stdint.h>

/* One group and what its users count in it. */
typedef struct cli_prefix {
    const char *name; /* not owned: points into a variable's name, valid while it is open */
    size_t len;
    uint64_t bytes, vars;                   /* du */
    uint64_t same, changed, added, removed; /* diff --summary */
    double max_abs;                         /* diff --summary: largest max_abs_diff */
    int has_max;                            /* max_abs holds a value */
} cli_prefix;

typedef struct cli_prefixes {
    cli_prefix *items;
    size_t n, cap;
    size_t *slots; /* open addressing: index + 1, 0 empty */
    size_t nslots;
} cli_prefixes;

/* The length of the first depth components of name[0..len) (depth 0: 0). */
size_t cli_prefix_len(const char *name, size_t len, int depth);

/* The group named p[0..len), added zeroed if new; NULL when out of memory. The pointer is
 * valid until the next call. */
cli_prefix *cli_prefixes_get(cli_prefixes *t, const char *p, size_t len);

/* Order the groups by name, bytewise (the lookup is unusable afterwards). */
void cli_prefixes_sort_by_name(cli_prefixes *t);

/* Release t's memory. */
void cli_prefixes_free(cli_prefixes *t);

#endif
