/*
 * stats.h - summary statistics of a tensor's values, accumulated in one streaming pass.
 *
 * What `ckptfs stats` and a mount's `NAME.stats` report (the rules per dtype are stated once,
 * in docs/format.md "Statistics of a tensor"): element count; NaN, infinity and zero counts;
 * min, max, mean and population standard deviation (numpy's ddof=0) over the finite values.
 * Elements are decoded exactly (elem.h) and summarized in blocks of CKPT_STATS_BLOCK: one pass
 * per block counts, takes min and max, and sums the float64 deviations d = x - c from a centre
 * c near the running mean, and their squares (non-finite values stand in as c, so d = 0: no
 * branch per element); a block whose mean lies far from c is summed again about its own mean.
 * Blocks merge with Chan's formula (the spread) and a compensated (Neumaier) sum (the mean),
 * so both agree with numpy's float64 results far below 1e-9 relative. Memory does not grow
 * with the tensor.
 */
#ifndef CKPT_STATS_H
#define CKPT_STATS_H

#include "checkpoint.h"

#include <stdint.h>

/* float32 values summarized per block, the unit of the merge (16 KiB: in L1 while it is summed);
 * float64, integers and the values decoded to float32 (float16, bfloat16, float8) go half as
 * many at a time. */
#define CKPT_STATS_BLOCK 4096

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
    double shift;             /* the first block's centre: the spread is of values minus it */
    double wmean, m2;         /* Chan's running mean (shifted) and sum of squared deviations */
    int impl;                 /* CKPT_STATS_IMPL_*: the code that sums the blocks */
} ckpt_stats;

/* The block kernels: the same source compiled twice, portable (SSE2 on x86-64) and for AVX2
 * (chosen by ckpt_stats_init when the CPU has it); both give bit-identical results. */
enum {
    CKPT_STATS_IMPL_PORTABLE,
    CKPT_STATS_IMPL_AVX2,
};

/* Start s empty for a tensor of this dtype, with the fastest kernel this CPU runs. */
void ckpt_stats_init(ckpt_stats *s, int dtype);

/* Use kernel impl for s from now on (tests compare them): 0, or CKPT_E_UNSUPPORTED when this
 * build or CPU cannot run it (s unchanged). */
int ckpt_stats_use(ckpt_stats *s, int impl);

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
