/* stats: see stats.h. */
#include "stats.h"
#include "rng.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>

static int by_value(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

double stats_percentile(double* x, int n, double q) {
    qsort(x, (size_t)n, sizeof *x, by_value);
    double h = (n - 1) * q / 100.0;
    int i = (int)floor(h);
    if (i >= n - 1) return x[n - 1];
    return x[i] + (h - i) * (x[i + 1] - x[i]);
}

double stats_expected_max(const double* r, int n, int k, double* scratch) {
    for (int i = 0; i < n; i++) scratch[i] = r[i];
    qsort(scratch, (size_t)n, sizeof *scratch, by_value);
    /* w(i) = C(i-1, k-1) / C(n, k) for the 1-based order statistic i: w(n) = k / n and
     * w(i-1) = w(i) (i-k) / (i-1), down to w(k) (smaller ones are 0). */
    double w = (double)k / n, e = 0;
    for (int i = n; i >= k; i--) {
        e += w * scratch[i - 1];
        if (i > 1) w *= (double)(i - k) / (i - 1);
    }
    return e;
}

void stats_paired_bootstrap(const double* d, int n, long B, uint64_t seed, double level, PairedCI* out) {
    out->n = n;
    out->level = level;
    out->wins = out->ties = out->losses = 0;
    double s = 0;
    for (int i = 0; i < n; i++) {
        s += d[i];
        if (d[i] > 0) out->wins++;
        else if (d[i] < 0) out->losses++;
        else out->ties++;
    }
    out->mean = s / n;
    double* means = malloc_check((size_t)B * sizeof *means);
    Rng r;
    rng_seed(&r, seed);
    for (long b = 0; b < B; b++) {
        double t = 0;
        for (int i = 0; i < n; i++) t += d[rng_below(&r, (uint32_t)n)];
        means[b] = t / n;
    }
    double tail = 50.0 * (1.0 - level);
    out->lo = stats_percentile(means, (int)B, tail);    /* sorts means */
    out->hi = stats_percentile(means, (int)B, 100.0 - tail);
    free(means);
}
