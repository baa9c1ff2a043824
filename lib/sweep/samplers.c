/* samplers: see samplers.h. */
#include "samplers.h"
#include "rng.h"
#include <math.h>
#include <string.h>
#include <stdlib.h>

/* ---- samplers ---------------------------------------------------------- */

static long axis_size(const Param* p) {
    if (p->type == PARAM_CAT) return (long)json_array_size(p->choices);
    if (p->grid) return (long)json_array_size(p->grid);
    if (p->type == PARAM_INT) return (long)(p->high - p->low) + 1;
    return -1;
}

long sweep_grid_size(const SweepConfig* sc) {
    long n = 1;
    for (int i = 0; i < sc->np; i++) {
        long a = axis_size(&sc->params[i]);
        if (a < 0) return -1;
        n *= a;
    }
    return n;
}

void sweep_grid_point(const SweepConfig* sc, long idx, double* internal) {
    for (int i = sc->np - 1; i >= 0; i--) {   /* last param varies fastest */
        const Param* p = &sc->params[i];
        long a = axis_size(p), k = idx % a;
        idx /= a;
        if (p->type == PARAM_CAT) internal[i] = (double)k;
        else if (p->grid) internal[i] = json_number_value(json_array_get(p->grid, k));
        else internal[i] = p->low + (double)k;
    }
}

void sweep_random_point(const SweepConfig* sc, long number, double* internal) {
    Rng r0, r;
    rng_seed(&r0, (uint64_t)sc->seed);
    r = rng_split(&r0, (uint64_t)number);
    for (int i = 0; i < sc->np; i++) {
        const Param* p = &sc->params[i];
        double u = rng_double(&r);
        if (p->type == PARAM_CAT) internal[i] = (double)rng_below(&r, (uint32_t)json_array_size(p->choices));
        else if (p->type == PARAM_FLOAT)
            internal[i] = p->log ? exp(log(p->low) + u * (log(p->high) - log(p->low))) : p->low + u * (p->high - p->low);
        else {
            double x = p->log ? exp(log(p->low - 0.5) + u * (log(p->high + 0.5) - log(p->low - 0.5)))
                              : p->low - 0.5 + u * (p->high - p->low + 1);
            x = round(x);
            internal[i] = x < p->low ? p->low : x > p->high ? p->high : x;
        }
        if (p->type == PARAM_FLOAT && internal[i] > p->high) internal[i] = p->high;
        if (p->type == PARAM_FLOAT && internal[i] < p->low) internal[i] = p->low;
    }
}

/* ---- TPE (Optuna 3.1 TPESampler defaults, independent per param) -------- */

#define TPE_N_STARTUP 10
#define TPE_N_EI 24
#define TPE_PRIOR_WEIGHT 1.0

/* Optuna's default_weights(n): flat 1 for the 25 most recent, a ramp
 * linspace(1/n, 1, n - 25) before them. Observations in trial-number order. */
static void tpe_weights(int n, double* w) {
    if (n < 25) { for (int i = 0; i < n; i++) w[i] = 1.0; return; }
    int r = n - 25;
    for (int i = 0; i < r; i++) w[i] = r == 1 ? 1.0 / n : 1.0 / n + (1.0 - 1.0 / n) * i / (r - 1);
    for (int i = r; i < n; i++) w[i] = 1.0;
}

/* A mixture of truncated normals on [lo, hi] (transformed space). */
typedef struct { int k; double *mu, *sg, *w, lo, hi; } Parzen;

static int cmp_double(const void* a, const void* b) {   /* first double of a (mu, w) pair */
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

/* Optuna's _ParzenEstimator for one numerical param: the observations plus
 * the prior N((lo+hi)/2, hi-lo) inserted at its sorted position; sigma_i =
 * max gap to the neighbours (endpoints lo/hi as outer neighbours), the two
 * outermost kernels use their inner gap only (consider_endpoints = False);
 * magic clip to [(hi-lo)/min(100, 1+k), hi-lo]; the prior keeps sigma hi-lo.
 * Weights: default_weights of the observations (trial order) and prior_weight,
 * normalised. */
static void parzen_build(Parzen* pz, const double* obs, const double* ow, int n, double lo, double hi) {
    int k = n + 1;
    pz->k = k; pz->lo = lo; pz->hi = hi;
    pz->mu = malloc_check(sizeof(double) * k);
    pz->sg = malloc_check(sizeof(double) * k);
    pz->w = malloc_check(sizeof(double) * k);
    /* sort (mu, w) pairs by mu: pack as pairs */
    double* pr = malloc_check(sizeof(double) * 2 * k);
    for (int i = 0; i < n; i++) { pr[2 * i] = obs[i]; pr[2 * i + 1] = ow[i]; }
    qsort(pr, n, 2 * sizeof(double), cmp_double);
    double pmu = 0.5 * (lo + hi), psg = hi - lo;
    int pos = 0;
    while (pos < n && pr[2 * pos] < pmu) pos++;              /* np.searchsorted (left) */
    double wsum = 0;
    for (int i = 0, j = 0; i < k; i++) {
        if (i == pos) { pz->mu[i] = pmu; pz->w[i] = TPE_PRIOR_WEIGHT; }
        else { pz->mu[i] = pr[2 * j]; pz->w[i] = pr[2 * j + 1]; j++; }
        wsum += pz->w[i];
    }
    free(pr);
    for (int i = 0; i < k; i++) {
        double left = pz->mu[i] - (i ? pz->mu[i - 1] : lo), right = (i + 1 < k ? pz->mu[i + 1] : hi) - pz->mu[i];
        pz->sg[i] = fmax(left, right);
    }
    if (k >= 2) { pz->sg[0] = pz->mu[1] - pz->mu[0]; pz->sg[k - 1] = pz->mu[k - 1] - pz->mu[k - 2]; }
    double minsg = (hi - lo) / fmin(100.0, 1.0 + k), maxsg = hi - lo;
    for (int i = 0; i < k; i++) {
        pz->sg[i] = fmin(fmax(pz->sg[i], minsg), maxsg);
        pz->w[i] /= wsum;
    }
    pz->sg[pos] = psg;
}

static void parzen_free(Parzen* pz) { free(pz->mu); free(pz->sg); free(pz->w); }

/* P(a < Z < b) for a standard normal, accurate in both tails. */
static double norm_mass(double a, double b) {
    const double r = 0.70710678118654752440;
    if (a >= 0) return 0.5 * (erfc(a * r) - erfc(b * r));
    if (b <= 0) return 0.5 * (erfc(-b * r) - erfc(-a * r));
    return 1.0 - 0.5 * erfc(b * r) - 0.5 * erfc(-a * r);
}

static double parzen_sample(const Parzen* pz, Rng* r) {
    double u = rng_double(r), c = 0;
    int i = 0;
    for (; i < pz->k - 1; i++) { c += pz->w[i]; if (u < c) break; }
    for (int t = 0; t < 1000; t++) {                        /* rejection: acceptance >= ~0.34 here */
        double x = pz->mu[i] + pz->sg[i] * rng_normal(r);
        if (x >= pz->lo && x <= pz->hi) return x;
    }
    return fmin(fmax(pz->mu[i], pz->lo), pz->hi);
}

/* log density at x (a <= 0: continuous), or log mass of [a, b] (discrete). */
static double parzen_logp(const Parzen* pz, double x, int discrete, double a, double b) {
    double s = 0;
    for (int i = 0; i < pz->k; i++) {
        double m = pz->mu[i], g = pz->sg[i];
        double z = norm_mass((pz->lo - m) / g, (pz->hi - m) / g);
        if (z <= 0) continue;
        double p = discrete ? norm_mass((a - m) / g, (b - m) / g)
                            : exp(-0.5 * ((x - m) / g) * ((x - m) / g)) / (g * 2.50662827463100050242);
        s += pz->w[i] * p / z;
    }
    return log(fmax(s, 1e-300));
}

/* Ranks COMPLETE trials holding param p by loss (value, negated when maximizing;
 * ties by trial number) and splits the best gamma(n) = min(ceil(0.1 n), 25) off
 * as "below". Returns n; below/above hold trial indices in trial-number order. */
static const double* g_loss;
static int cmp_loss(const void* a, const void* b) {
    int x = *(const int*)a, y = *(const int*)b;
    if (g_loss[x] != g_loss[y]) return g_loss[x] < g_loss[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}
static int cmp_int(const void* a, const void* b) { int x = *(const int*)a, y = *(const int*)b; return x < y ? -1 : x > y; }

static int tpe_split(const SweepConfig* sc, const Study* s, int p, int* below, int* nb, int* above, int* na) {
    double* loss = malloc_check(sizeof(double) * (s->n + 1));
    int* idx = malloc_check(sizeof(int) * (s->n + 1));
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        const Trial* t = &s->trials[i];
        if (t->state != TRIAL_COMPLETE || !t->has_value || !t->has[p] || isnan(t->value)) continue;
        loss[i] = sc->maximize ? -t->value : t->value;
        idx[n++] = i;
    }
    g_loss = loss;
    qsort(idx, n, sizeof(int), cmp_loss);
    int g = (int)ceil(0.1 * n);
    if (g > 25) g = 25;
    *nb = g; *na = n - g;
    memcpy(below, idx, sizeof(int) * g);
    memcpy(above, idx + g, sizeof(int) * (n - g));
    qsort(below, *nb, sizeof(int), cmp_int);
    qsort(above, *na, sizeof(int), cmp_int);
    free(loss); free(idx);
    return n;
}

static int tpe_n_complete(const Study* s) {
    int n = 0;
    for (int i = 0; i < s->n; i++) n += s->trials[i].state == TRIAL_COMPLETE && s->trials[i].has_value;
    return n;
}

/* Transformed space of a numerical param: log if log; an int's value v stands
 * for the bin [v - 0.5, v + 0.5] (q = 1), so the bounds widen by 0.5. */
static double tpe_fwd(const Param* pr, double v) { return pr->log ? log(v) : v; }

static void tpe_param(const SweepConfig* sc, const Study* s, int p, Rng* r, double* out) {
    const Param* pr = &sc->params[p];
    int *below = malloc_check(sizeof(int) * (s->n + 1)), *above = malloc_check(sizeof(int) * (s->n + 1)), nb, na;
    tpe_split(sc, s, p, below, &nb, above, &na);
    double *wb = malloc_check(sizeof(double) * (nb + 1)), *wa = malloc_check(sizeof(double) * (na + 1));
    tpe_weights(nb, wb);
    tpe_weights(na, wa);
    if (pr->type == PARAM_CAT) {
        int K = (int)json_array_size(pr->choices);
        double* pb = calloc_check(K, sizeof(double));
        double* pa = calloc_check(K, sizeof(double));
        double sb = 0, sa = 0;
        for (int c = 0; c < K; c++) { pb[c] = pa[c] = TPE_PRIOR_WEIGHT; }
        for (int i = 0; i < nb; i++) { int c = (int)s->trials[below[i]].internal[p]; if (c >= 0 && c < K) pb[c] += wb[i]; }
        for (int i = 0; i < na; i++) { int c = (int)s->trials[above[i]].internal[p]; if (c >= 0 && c < K) pa[c] += wa[i]; }
        for (int c = 0; c < K; c++) { sb += pb[c]; sa += pa[c]; }
        double best = -INFINITY;
        *out = 0;
        for (int e = 0; e < TPE_N_EI; e++) {
            double u = rng_double(r) * sb, acc = 0;
            int c = 0;
            for (; c < K - 1; c++) { acc += pb[c]; if (u < acc) break; }
            double sc_ = log(pb[c] / sb) - log(pa[c] / sa);
            if (sc_ > best) { best = sc_; *out = c; }
        }
        free(pb); free(pa);
    } else {
        int isint = pr->type == PARAM_INT;
        double lo = tpe_fwd(pr, isint ? pr->low - 0.5 : pr->low), hi = tpe_fwd(pr, isint ? pr->high + 0.5 : pr->high);
        double *ob = malloc_check(sizeof(double) * (nb + 1)), *oa = malloc_check(sizeof(double) * (na + 1));
        for (int i = 0; i < nb; i++) ob[i] = tpe_fwd(pr, s->trials[below[i]].internal[p]);
        for (int i = 0; i < na; i++) oa[i] = tpe_fwd(pr, s->trials[above[i]].internal[p]);
        Parzen l, g;
        parzen_build(&l, ob, wb, nb, lo, hi);
        parzen_build(&g, oa, wa, na, lo, hi);
        double best = -INFINITY;
        *out = pr->low;
        for (int e = 0; e < TPE_N_EI; e++) {
            double x = parzen_sample(&l, r), v = pr->log ? exp(x) : x, score;
            if (isint) {
                v = fmin(fmax(round(v), pr->low), pr->high);
                double a = tpe_fwd(pr, v - 0.5), b = tpe_fwd(pr, v + 0.5);
                score = parzen_logp(&l, 0, 1, a, b) - parzen_logp(&g, 0, 1, a, b);
            } else {
                v = fmin(fmax(v, pr->low), pr->high);
                score = parzen_logp(&l, x, 0, 0, 0) - parzen_logp(&g, x, 0, 0, 0);
            }
            if (score > best) { best = score; *out = v; }
        }
        parzen_free(&l); parzen_free(&g);
        free(ob); free(oa);
    }
    free(wb); free(wa); free(below); free(above);
}

void sweep_tpe_point(const SweepConfig* sc, const Study* s, long number, double* internal) {
    if (tpe_n_complete(s) < TPE_N_STARTUP) { sweep_random_point(sc, number, internal); return; }
    Rng r0, r;
    rng_seed(&r0, (uint64_t)sc->seed ^ 0x7470655f73656564ULL);   /* "tpe_seed": apart from the random sampler's stream */
    r = rng_split(&r0, (uint64_t)number);
    for (int p = 0; p < sc->np; p++) {
        Rng rp = rng_split(&r, (uint64_t)p);
        tpe_param(sc, s, p, &rp, &internal[p]);
    }
}

static int same_point(const SweepConfig* sc, const Trial* t, const double* x) {
    for (int i = 0; i < sc->np; i++) if (!t->has[i] || t->internal[i] != x[i]) return 0;
    return 1;
}

static int proposals(const Study* s) {
    int n = 0;
    for (int i = 0; i < s->n; i++) n += s->trials[i].attempt == 0;
    return n;
}

int sweep_propose(const SweepConfig* sc, const Study* s, double* internal) {
    if (proposals(s) >= sc->n_trials) return -1;
    if (!strcmp(sc->sampler, "grid")) {
        long g = sweep_grid_size(sc);
        for (long idx = 0; idx < g; idx++) {
            sweep_grid_point(sc, idx, internal);
            int used = 0;
            for (int i = 0; i < s->n && !used; i++) used = s->trials[i].attempt == 0 && same_point(sc, &s->trials[i], internal);
            if (!used) return 0;
        }
        return -1;
    }
    if (!strcmp(sc->sampler, "tpe")) sweep_tpe_point(sc, s, s->n, internal);
    else sweep_random_point(sc, s->n, internal);
    return 0;
}

