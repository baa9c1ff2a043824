/* stats: paired comparisons of two methods over the same tasks.
 *
 * Owns: the paired bootstrap over tasks (docs/tables.md): for runs X and Y, each
 * task's difference X - Y averaged over the seeds both runs have; tasks resampled
 * with replacement (seeded, B resamples); the mean difference, the percentile
 * interval, and wins / ties / losses over tasks; the expected best of k of n samples. Percentiles interpolate linearly
 * between order statistics, as numpy.percentile does by default.
 * Does not own: where the per-task numbers come from (lib/paper/runs), how they are
 * printed (lib/paper/report). */
#ifndef DD_STATS_H
#define DD_STATS_H
#include <stdint.h>

#define STATS_RESAMPLES 10000

typedef struct {
    int    n;              /* tasks */
    double mean;           /* mean over tasks of the per-task difference */
    double lo, hi;         /* percentile interval of the resampled means */
    double level;          /* e.g. 0.95 */
    int    wins, ties, losses;   /* tasks with d > 0, d == 0, d < 0 */
} PairedCI;

/* q-th percentile (q in [0, 100]) of x[0..n-1], sorted in place; linear
 * interpolation between order statistics (numpy's default). n > 0. */
double stats_percentile(double* x, int n, double q);

/* The expected best of k of the n values r[0..n-1], drawn without replacement, all
 * subsets equally likely: sum over the ascending order statistics r(i) of
 * r(i) C(i-1, k-1) / C(n, k) (the unbiased estimator pass@k generalises to rewards).
 * 1 <= k <= n; r is not changed; scratch holds n doubles. */
double stats_expected_max(const double* r, int n, int k, double* scratch);

/* The paired bootstrap of d[0..n-1] (per-task differences): B resamples of n tasks
 * drawn with replacement from a stream seeded by seed. n > 0, B > 0. */
void stats_paired_bootstrap(const double* d, int n, long B, uint64_t seed, double level, PairedCI* out);

#endif
