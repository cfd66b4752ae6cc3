/*
 * util.h - small helpers every layer shares: array growth, a string hash, decimal numbers.
 * One copy each, here, so no module grows its own.
 */
#ifndef CKPT_UTIL_H
#define CKPT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Grow the array *p of elem-sized items (capacity *cap) so it holds at least need items,
 * doubling from 16. Returns 0, or -1 when out of memory or when the size would overflow
 * (*p and *cap unchanged then).
 */
int ckpt_grow(void **p, size_t *cap, size_t need, size_t elem);

/* FNV-1a 64-bit hash of s[0..len): stable across runs and machines (inode ranges use it). */
uint64_t ckpt_hash64(const void *s, size_t len);

/* Largest item ckpt_insertion_sort moves. */
#define CKPT_ISORT_ITEM_MAX 64

/*
 * Sort base[0..n) of size-byte items (size <= CKPT_ISORT_ITEM_MAX) by cmp, stably, by
 * insertion: about one comparison per item when the input is nearly sorted. After budget
 * moves (0: no limit) it gives up, leaving the items permuted but whole, and returns -1 for
 * the caller to sort another way (a hostile order would cost n^2/2); 0 when sorted.
 */
int ckpt_insertion_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
                        size_t budget);

/* s without its leading and trailing spaces, tabs and CRs: the trailing ones cut off in place,
 * the result points into s. */
char *ckpt_trim(char *s);

/* Whether s[0..len) ends with the NUL-terminated suffix. */
int ckpt_ends_with_n(const char *s, size_t len, const char *suffix);

/* Whether the NUL-terminated s ends with suffix. */
int ckpt_ends_with(const char *s, const char *suffix);

/* Room for any int64 or uint64 in decimal, sign included, and a NUL. */
#define CKPT_DEC_MAX 21

/*
 * x in decimal at buf (CKPT_DEC_MAX bytes of room), NUL-terminated: its length. As "%" PRId64
 * prints it, without printf's cost (listings of a million variables format every number).
 */
size_t ckpt_fmt_i64(char *buf, int64_t x);

/* The same for an unsigned x. */
size_t ckpt_fmt_u64(char *buf, uint64_t x);

#endif
