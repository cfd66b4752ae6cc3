/*
 * stats.h - summary statistics of a tensor's values, accumulated in one streaming pass.
 *
 * What `ckptfs stats` and a mount's `NAME.stats` report (the rules per dtype are stated once,
 * in docs/format.md "Statistics of a tensor"): element count; NaN, infinity and zero counts;
 * min, max, mean and population standard deviation (numpy's ddof=0) over the finite values.
 * Elements are decoded exactly (elem.h) and summed in float64: the mean from a compensated
 * (Neumaier) sum, the spread by exact two-pass blocks of the values shifted by the first one,
 * merged with Chan's formula, so both agree
 * with numpy's float64 results far below 1e-9 relative. Memory does not grow with the tensor.
 */
#ifndef CKPT_STATS_H
#define CKPT_STATS_H

#include "checkpoint.h"

#include <stdint.h>

/* What a dtype's statistics hold. */
enum {
    CKPT_STATS_COUNT,   /* strings, variants, resources: count only */
    CKPT_STATS_FLOAT,   /* every column; min/max/mean/std over the finite values */
    CKPT_STATS_INT,     /* signed integers: min/max exact (imin/imax) */
    CKPT_STATS_UINT,    /* unsigned integers and bool: min/max exact (umin/umax) */
    CKPT_STATS_COMPLEX, /* count, nan, inf (in either part), zeros (both parts 0) */
};

typedef struct ckpt_stats {
    int dtype, kind;          /* kind: CKPT_STATS_* */
    uint64_t count;           /* elements seen */
    uint64_t nan, inf, zeros; /* inf: +inf and -inf */
    uint64_t n;               /* finite values summarized (all of them for integers) */
    double min, max;          /* over the finite values, when n > 0 */
    int64_t imin, imax;       /* CKPT_STATS_INT, exact */
    uint64_t umin, umax;      /* CKPT_STATS_UINT, exact */
    double sum, comp;         /* Neumaier sum of the values and its compensation */
    double shift;             /* the first finite value: the spread is of values minus it */
    double wmean, m2;         /* Chan's running mean (shifted) and sum of squared deviations */
} ckpt_stats;

/* Start s empty for a tensor of this dtype. */
void ckpt_stats_init(ckpt_stats *s, int dtype);

/* Take in n elements stored at data (little-endian, as in a data file). Only for dtypes of
 * fixed element size; a COUNT kind only counts. */
void ckpt_stats_add(ckpt_stats *s, const uint8_t *data, uint64_t n);

/* Count n elements without values (strings, variants). */
void ckpt_stats_add_count(ckpt_stats *s, uint64_t n);

/* The mean and the population standard deviation of the finite values (NaN when n is 0). */
double ckpt_stats_mean(const ckpt_stats *s);
double ckpt_stats_std(const ckpt_stats *s);

/* Called with the bytes just consumed, for a progress display. */
typedef void (*ckpt_stats_progress_fn)(void *ctx, uint64_t nbytes);

/*
 * The statistics of variable i of c, reading its bytes once, in pieces, with its stored
 * checksum verified (a partitioned variable assembled from its slices, each checked). A string
 * tensor's elements are counted from its shape without decoding it; variants and resources
 * too. progress (may be NULL) hears of every piece read. 0, or CKPT_E_MISSING (its data shard
 * is absent), CKPT_E_CORRUPT, CKPT_E_IO, CKPT_E_NOMEM with err naming the variable.
 */
int ckpt_stats_var(ckpt_checkpoint *c, size_t i, ckpt_stats *s, ckpt_stats_progress_fn progress,
                   void *ctx, ckpt_err *err);

#endif
