/* stats: percentiles as numpy computes them, the paired bootstrap's counts, mean and
 * determinism, and its coverage: over 1000 simulated studies with a known true
 * difference (heterogeneous task effects, seed noise shared by both methods and
 * seed noise of each), the 95% interval covers the truth 93-97% of the time.
 * With --bootstrap it reads per-task differences from stdin and prints
 * "mean lo hi wins ties losses" (tests/tools/test_stats_numpy.sh compares it with numpy). */
#include "check.h"
#include "rng.h"
#include "stats.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cli(void) {
    double d[100000];
    int n = 0;
    while (n < 100000 && scanf("%lf", &d[n]) == 1) n++;
    if (n == 0) return 2;
    PairedCI ci;
    stats_paired_bootstrap(d, n, STATS_RESAMPLES, 0, 0.95, &ci);
    printf("%.17g %.17g %.17g %d %d %d\n", ci.mean, ci.lo, ci.hi, ci.wins, ci.ties, ci.losses);
    return 0;
}

/* One simulated study: n tasks, S seeds per method. Task i's true difference is
 * delta + N(0, 0.1); seed s adds noise shared by X and Y on that task (common random
 * numbers; cancels in the difference) and noise of each method's own (N(0, 0.15)).
 * The per-task difference is averaged over the seeds. */
static int covers(Rng* r, int n, int S, double delta, long B, uint64_t boot_seed) {
    double d[256];
    for (int i = 0; i < n; i++) {
        double di = delta + 0.1 * rng_normal(r), acc = 0;
        for (int s = 0; s < S; s++) {
            double shared = 0.2 * rng_normal(r);
            double x = 0.5 + di + shared + 0.15 * rng_normal(r), y = 0.5 + shared + 0.15 * rng_normal(r);
            acc += x - y;
        }
        d[i] = acc / S;
    }
    PairedCI ci;
    stats_paired_bootstrap(d, n, B, boot_seed, 0.95, &ci);
    return ci.lo <= delta && delta <= ci.hi;
}

/* The mean over every k-subset of r's maximum, by enumeration (bit masks). */
static double brute_expected_max(const double* r, int n, int k) {
    double sum = 0;
    long cnt = 0;
    for (unsigned m = 0; m < (1u << n); m++) {
        if (__builtin_popcount(m) != k) continue;
        double best = -INFINITY;
        for (int i = 0; i < n; i++) if (m & (1u << i)) best = fmax(best, r[i]);
        sum += best;
        cnt++;
    }
    return sum / cnt;
}

int main(int argc, char** argv) {
    if (argc > 1 && !strcmp(argv[1], "--bootstrap")) return cli();

    double x[8] = {3, 1, 4, 1, 5, 9, 2, 6}, y[8];
    /* numpy.percentile([3,1,4,1,5,9,2,6], q) for q = 0, 25, 50, 90, 100 */
    double q[5] = {0, 25, 50, 90, 100}, want[5] = {1, 1.75, 3.5, 6.9, 9};
    int ok = 1;
    for (int k = 0; k < 5; k++) { memcpy(y, x, sizeof x); ok &= fabs(stats_percentile(y, 8, q[k]) - want[k]) < 1e-12; }
    CHECK("percentile_matches_numpy_linear", ok, "see the values in tests/test_stats.c");
    double one[1] = {0.3};
    CHECK("percentile_of_one_value", stats_percentile(one, 1, 2.5) == 0.3, "%g", one[0]);

    double d[6] = {0.2, -0.1, 0, 0.4, 0.1, 0};
    PairedCI a, b, c;
    double e[40];
    for (int i = 0; i < 40; i++) e[i] = 0.3 * sin(1.7 * i) + 0.01 * i;
    stats_paired_bootstrap(e, 40, STATS_RESAMPLES, 7, 0.95, &b);
    stats_paired_bootstrap(e, 40, STATS_RESAMPLES, 8, 0.95, &c);
    stats_paired_bootstrap(e, 40, STATS_RESAMPLES, 7, 0.95, &a);
    CHECK("bootstrap_seeded", a.lo == b.lo && a.hi == b.hi && (a.lo != c.lo || a.hi != c.hi), "same seed [%g, %g], other [%g, %g]",
          b.lo, b.hi, c.lo, c.hi);
    stats_paired_bootstrap(d, 6, STATS_RESAMPLES, 7, 0.95, &a);
    CHECK("bootstrap_counts_and_mean", a.n == 6 && a.wins == 3 && a.ties == 2 && a.losses == 1 && fabs(a.mean - 0.1) < 1e-15,
          "n %d w %d t %d l %d mean %g", a.n, a.wins, a.ties, a.losses, a.mean);
    CHECK("bootstrap_interval_brackets_mean", a.lo < a.mean && a.mean < a.hi && a.lo >= -0.1 && a.hi <= 0.4, "[%g, %g]", a.lo, a.hi);
    double same[5] = {0.25, 0.25, 0.25, 0.25, 0.25};
    stats_paired_bootstrap(same, 5, 1000, 1, 0.95, &a);
    CHECK("bootstrap_constant_difference", a.lo == 0.25 && a.hi == 0.25 && a.wins == 5, "[%g, %g]", a.lo, a.hi);

    /* Coverage: 1000 studies of 64 tasks x 3 seeds, true difference 0.05. */
    /* expected best-of-k against enumeration of every subset, ties included */
    {
        Rng g;
        rng_seed(&g, 7);
        double worst = 0, v[12], scratch[12];
        for (int trial = 0; trial < 40; trial++) {
            int n = 1 + (int)rng_below(&g, 12);
            for (int i = 0; i < n; i++) v[i] = trial % 2 ? (double)rng_below(&g, 3) / 2 : rng_double(&g);
            double keep0 = v[0];
            for (int k = 1; k <= n; k++) worst = fmax(worst, fabs(stats_expected_max(v, n, k, scratch) - brute_expected_max(v, n, k)));
            if (v[0] != keep0) worst = INFINITY;
        }
        CHECK("expected_max_matches_enumeration", worst < 1e-12, "max abs error %g", worst);
        double w[4] = {0.2, 1.0, 0.0, 0.5};
        CHECK("expected_max_ends", stats_expected_max(w, 4, 1, scratch) == 0.425 && stats_expected_max(w, 4, 4, scratch) == 1.0,
              "k=1 %g (mean 0.425), k=n %g (max 1)", stats_expected_max(w, 4, 1, scratch), stats_expected_max(w, 4, 4, scratch));
    }

    Rng r;
    rng_seed(&r, 2026);
    int hit = 0, studies = 1000;
    for (int k = 0; k < studies; k++) hit += covers(&r, 64, 3, 0.05, STATS_RESAMPLES, (uint64_t)k);
    double cov = (double)hit / studies;
    CHECK("bootstrap_coverage_93_to_97_percent", cov >= 0.93 && cov <= 0.97, "covered %.1f%% of %d studies", 100 * cov, studies);
    printf("coverage %.1f%% over %d studies (64 tasks x 3 seeds, 10000 resamples)\n", 100 * cov, studies);
    return check_status();
}
