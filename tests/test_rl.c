/* test_rl: the TTT-Discover math of lib/algo/rl (SPEC §12): advantages against
 * hand-computed values and identities, adaptive β hitting KL = ln 2, KL shaping,
 * and the PUCT archive (scores, lineage blocking, top-2 children, duplicates,
 * cap eviction, JSON round trip). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "rl.h"
#include "rng.h"

static double maxabs_diff(const float* a, const double* b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* naive KL(softmax(βr) ‖ uniform) without the max shift, for moderate β */
static double kl_naive(const float* r, int n, double beta) {
    double z = 0, kl = 0;
    for (int i = 0; i < n; i++) z += exp(beta * r[i]);
    for (int i = 0; i < n; i++) {
        double q = exp(beta * r[i]) / z;
        if (q > 0) kl += q * log(q * n);
    }
    return kl;
}

static void test_advantages(void) {
    float c3[3] = { 0.5f, 0.5f, 0.5f }, nc[3] = { 0.5f, 0.5f, 0.25f };
    CHECK("constant group detected", rl_group_constant(c3, 3) == 1, "got 0");
    CHECK("non-constant group kept", rl_group_constant(nc, 3) == 0, "got 1");

    /* β = ln 2, r = (0, 0, 1): e = (1/2, 1/2, 1); A = (1/2)/(3/4) − 1, ..., 1/(1/2) − 1 */
    float r1[3] = { 0, 0, 1 }, A[8];
    rl_adv_entropic(r1, 3, log(2.0), A);
    double want1[3] = { -1.0 / 3, -1.0 / 3, 1.0 };
    CHECK("entropic hand values (0,0,1) at beta=ln2", maxabs_diff(A, want1, 3) < 1e-6,
          "A = %g %g %g", A[0], A[1], A[2]);
    /* β = 1, r = (0, 1): A_0 = e^-1/(1 + 1e-12) − 1, A_1 = 1/(e^-1 + 1e-12) − 1 */
    float r2[2] = { 0, 1 };
    rl_adv_entropic(r2, 2, 1.0, A);
    double want2[2] = { exp(-1.0) / (1 + 1e-12) - 1, 1 / (exp(-1.0) + 1e-12) - 1 };
    CHECK("entropic hand values (0,1) at beta=1", maxabs_diff(A, want2, 2) < 1e-6,
          "A = %g %g", A[0], A[1]);

    /* leave-one-out identity: (A_n + 1)(mean_{m≠n} e_m + 1e-12) = e_n, naive O(n²) sums */
    float r3[6] = { 0.1f, 0.7f, 0.3f, 0.7f, 0.0f, 0.95f };
    double beta = 3.0, worst = 0;
    rl_adv_entropic(r3, 6, beta, A);
    for (int i = 0; i < 6; i++) {
        double loo = 0;
        for (int m = 0; m < 6; m++)
            if (m != i) loo += exp(beta * (r3[m] - 0.95f));
        loo /= 5;
        double e = exp(beta * (r3[i] - 0.95f));
        worst = fmax(worst, fabs(((double)A[i] + 1) * (loo + 1e-12) - e) / e);
    }
    CHECK("entropic leave-one-out identity", worst < 1e-6, "rel err %g", worst);
    CHECK("entropic ties give equal advantages", A[1] == A[3], "%g vs %g", A[1], A[3]);
    CHECK("entropic best is positive, worst negative", A[5] > 0 && A[4] < 0, "%g %g", A[5], A[4]);

    /* shift invariance and (β, r) ↔ (β/2, 2r) */
    float r3s[6], r3d[6], B[6], C[6];
    for (int i = 0; i < 6; i++) { r3s[i] = r3[i] + 0.25f; r3d[i] = 2 * r3[i]; }
    rl_adv_entropic(r3s, 6, beta, B);
    rl_adv_entropic(r3d, 6, beta / 2, C);
    double dB = 0, dC = 0;
    for (int i = 0; i < 6; i++) { dB = fmax(dB, fabs(A[i] - B[i])); dC = fmax(dC, fabs(A[i] - C[i])); }
    CHECK("entropic invariant to a reward shift", dB < 1e-5, "max diff %g", dB);
    CHECK("entropic depends on beta*r only", dC < 1e-5, "max diff %g", dC);

    /* huge β: the others underflow, the 1e-12 floor bounds the best's advantage */
    rl_adv_entropic(r2, 2, 1e6, A);
    CHECK("entropic huge beta stays finite", isfinite(A[0]) && isfinite(A[1]) &&
          fabs(A[0] + 1) < 1e-6 && fabs(A[1] - 1e12) < 1e6, "A = %g %g", A[0], A[1]);

    /* expected */
    rl_adv_expected(r3, 6, A);
    double s = 0;
    for (int i = 0; i < 6; i++) s += A[i];
    CHECK("expected advantages sum to zero", fabs(s) < 1e-6, "sum %g", s);
    CHECK("expected hand value", fabs(A[5] - (0.95 - 2.75 / 6)) < 1e-6, "A5 = %g", A[5]);

    /* group helper drops constant groups */
    double bu = -1;
    int kept = rl_group_advantages(c3, 3, RL_OBJ_ENTROPIC, 2.0, 1, A, &bu);
    CHECK("group helper drops constant group", kept == 0 && A[0] == 0 && A[2] == 0 && bu == 0,
          "kept %d A0 %g", kept, A[0]);
    kept = rl_group_advantages(r3, 6, RL_OBJ_ENTROPIC, 2.0, 1, A, &bu);
    CHECK("group helper uses adaptive beta", kept == 1 && bu == rl_beta_adaptive(r3, 6), "beta %g", bu);
}

static void test_beta(void) {
    const double ln2 = log(2.0);
    float r[5] = { 0.0f, 0.5f, 1.0f, 0.2f, 0.9f };
    double b = rl_beta_adaptive(r, 5);
    CHECK("adaptive beta hits KL = ln 2 (shifted KL)", fabs(rl_kl_uniform(r, 5, b) - ln2) < 1e-9,
          "beta %.17g KL %.17g", b, rl_kl_uniform(r, 5, b));
    CHECK("adaptive beta hits KL = ln 2 (naive KL)", fabs(kl_naive(r, 5, b) - ln2) < 1e-9,
          "KL %.17g", kl_naive(r, 5, b));
    CHECK("adaptive beta is the upper end", kl_naive(r, 5, b) >= ln2 - 1e-15 &&
          kl_naive(r, 5, b * (1 - 1e-9)) < ln2, "KL(b) %.17g", kl_naive(r, 5, b));

    /* KL increases with β */
    int mono = 1;
    for (double x = 0.0; x < 50; x += 0.5)
        if (rl_kl_uniform(r, 5, x + 0.5) <= rl_kl_uniform(r, 5, x)) mono = 0;
    CHECK("KL to uniform increases with beta", mono, "not monotonic");

    /* doubling rewards halves β; squeezing them raises it */
    float r2[5], rh[5];
    for (int i = 0; i < 5; i++) { r2[i] = 2 * r[i]; rh[i] = 0.5f * r[i]; }
    double b2 = rl_beta_adaptive(r2, 5), bh = rl_beta_adaptive(rh, 5);
    CHECK("adaptive beta scales as 1/reward scale", fabs(b2 - b / 2) < 1e-6 * b && fabs(bh - 2 * b) < 1e-6 * b,
          "b %g b2 %g bh %g", b, b2, bh);

    /* large β target inside the doubling range (needs several doublings) */
    float rs[4] = { 0.0f, 0.01f, 0.02f, 0.03f };
    double bs = rl_beta_adaptive(rs, 4);
    CHECK("adaptive beta after doublings hits ln 2", bs > 64 && fabs(rl_kl_uniform(rs, 4, bs) - ln2) < 1e-9,
          "beta %g KL %.17g", bs, rl_kl_uniform(rs, 4, bs));

    float t1[4] = { 1, 1, 0, 0 }, t2[4] = { 1, 1, 1, 0 }, t3[5] = { 1, 1, 0, 0, 0 }, p2[2] = { 0, 1 };
    float cst[3] = { 0.3f, 0.3f, 0.3f }, tiny[4] = { 0, 0, 0, 1e-7f };
    /* ln 2 unreachable (the limit ln(n/top) ≤ ln 2): the target is half the limit, β finite */
    CHECK("half the group tied at the top: KL = ln(2)/2", fabs(rl_kl_uniform(t1, 4, rl_beta_adaptive(t1, 4)) - 0.5 * ln2) < 1e-9,
          "beta %g", rl_beta_adaptive(t1, 4));
    CHECK("most of the group tied at the top: KL = ln(4/3)/2",
          fabs(rl_kl_uniform(t2, 4, rl_beta_adaptive(t2, 4)) - 0.5 * log(4.0 / 3)) < 1e-9, "beta %g", rl_beta_adaptive(t2, 4));
    CHECK("group of two: KL = ln(2)/2, beta finite", rl_beta_adaptive(p2, 2) < 1e6 &&
          fabs(rl_kl_uniform(p2, 2, rl_beta_adaptive(p2, 2)) - 0.5 * ln2) < 1e-9, "beta %g", rl_beta_adaptive(p2, 2));
    CHECK("constant group -> 1e6", rl_beta_adaptive(cst, 3) == 1e6, "%g", rl_beta_adaptive(cst, 3));
    double bt3 = rl_beta_adaptive(t3, 5);
    CHECK("two of five tied at the top is reachable", bt3 < 1e6 && fabs(rl_kl_uniform(t3, 5, bt3) - ln2) < 1e-9,
          "beta %g", bt3);
    CHECK("reachable only beyond the cap -> 1e6", rl_beta_adaptive(tiny, 4) == 1e6, "%g", rl_beta_adaptive(tiny, 4));
}

/* Groups of 2, 3 and 4 with every pattern of rewards from {0, 0.25, 1} (ties or not):
 * every adaptive entropic advantage is finite and |A| ≤ 100. */
static void test_small_groups_bounded(void) {
    static const float vals[3] = { 0.0f, 0.25f, 1.0f };
    int groups = 0, worst_n = 0;
    double worst = 0;
    for (int n = 2; n <= 4; n++) {
        int total = 1;
        for (int i = 0; i < n; i++) total *= 3;
        for (int code = 0; code < total; code++) {
            float r[4], A[4];
            for (int i = 0, c = code; i < n; i++, c /= 3) r[i] = vals[c % 3];
            double b;
            if (!rl_group_advantages(r, n, RL_OBJ_ENTROPIC, 0, 1, A, &b)) continue;
            groups++;
            for (int i = 0; i < n; i++)
                if (!(fabs(A[i]) <= worst)) { worst = isfinite(A[i]) ? fabs(A[i]) : INFINITY; worst_n = n; }
        }
    }
    CHECK("groups of 2, 3, 4 (ties and not): every |A| <= 100", groups == 6 + 24 + 78 && worst <= 100,
          "%d groups, worst |A| %g at n = %d", groups, worst, worst_n);
}

static void test_kl_shape(void) {
    /* Two completions in a padded (2 x 4) layout: position 3 of row 0 and 0 of row 1 are
     * not sampled tokens (seq_of -1). nll = -log p. */
    float A_seq[2] = { 0.5f, -0.5f };
    int seq[8] = { 0, 0, 0, -1, -1, 1, 1, -1 };
    float lp[8] = { -1.0f, -2.0f, -0.5f, -9.0f, -7.0f, -3.0f, -1.5f, -4.0f };   /* log pi_theta */
    float lb[8] = { -1.2f, -1.0f, -0.5f, -1.0f, -2.0f, -2.0f, -2.5f, -1.0f };   /* log pi_base */
    float nll[8], nll_base[8];
    for (int t = 0; t < 8; t++) { nll[t] = -lp[t]; nll_base[t] = -lb[t]; }
    double At[8];
    double mean_d = rl_kl_shape(A_seq, seq, nll, nll_base, 8, 0.1, At);
    /* sampled tokens' d = (0.2, -1, 0, -1, 1), mean d = -0.16 */
    double d[8] = { 0.2, -1, 0, 0, 0, -1, 1, 0 }, want[8];
    for (int t = 0; t < 8; t++) want[t] = seq[t] < 0 ? 0 : A_seq[seq[t]] + 0.1 * (-0.16 - d[t]);
    double worst = 0;
    for (int t = 0; t < 8; t++) worst = fmax(worst, fabs(At[t] - want[t]));
    CHECK("kl shaping hand values, d = log pi - log pi_base from the losses", worst < 1e-6 && fabs(mean_d + 0.16) < 1e-6,
          "worst %g, mean d %g", worst, mean_d);
    CHECK("kl shaping leaves positions that are not sampled tokens at 0", At[3] == 0 && At[4] == 0 && At[7] == 0,
          "%g %g %g", At[3], At[4], At[7]);
    double m0 = 0, m1 = 0;
    for (int t = 0; t < 8; t++) if (seq[t] >= 0) { m0 += A_seq[seq[t]]; m1 += At[t]; }
    CHECK("kl shaping preserves the token mean", fabs(m0 - m1) < 1e-12, "%g vs %g", m0, m1);
    rl_kl_shape(A_seq, seq, nll, nll_base, 8, 0.0, At);
    CHECK("kl shaping with lambda 0 is the identity", At[0] == 0.5 && At[6] == -0.5, "%g %g", At[0], At[6]);
    int none[2] = { -1, -1 };
    CHECK("kl shaping without sampled tokens: mean d 0", rl_kl_shape(A_seq, none, nll, nll_base, 2, 0.1, At) == 0 &&
          At[0] == 0 && At[1] == 0, "%g", At[0]);

    /* Bit for bit what the TTT step computed inline before it called rl_kl_shape (the
     * float difference of the losses summed in double, A_t in double): random losses
     * over a padded layout. */
    enum { R = 5, T = 23 };
    float Ar[R], l[R * T], lbase[R * T];
    int so[R * T];
    Rng g;
    rng_seed(&g, 7);
    for (int i = 0; i < R; i++) Ar[i] = (float)(rng_double(&g) - 0.5);
    for (int p = 0; p < R * T; p++) {
        l[p] = (float)(3 * rng_double(&g));
        lbase[p] = (float)(3 * rng_double(&g));
        so[p] = rng_double(&g) < 0.3 ? -1 : p / T;
    }
    double kl = 0, got[R * T];
    int ntok = 0, same = 1;
    for (int p = 0; p < R * T; p++)
        if (so[p] >= 0) { kl += lbase[p] - l[p]; ntok++; }
    double dmean = ntok ? kl / ntok : 0;
    double md = rl_kl_shape(Ar, so, l, lbase, R * T, 0.37, got);
    for (int p = 0; p < R * T; p++) {
        if (so[p] < 0) { same &= got[p] == 0; continue; }
        double dd = lbase[p] - l[p];
        double want_t = Ar[so[p]] + 0.37 * (dmean - dd);
        same &= memcmp(&want_t, &got[p], sizeof want_t) == 0;
    }
    CHECK("kl shaping is bit for bit the TTT step's former inline computation", same && md == dmean, "mean %.17g vs %.17g", md, dmean);
}

/* invariants every archive must keep */
static int archive_ok(const RlArchive* a, double max_admitted) {
    if (!rl_archive_alive(a, 0) || rl_archive_parent(a, 0) != -1) return 0;
    if (rl_archive_size(a) > rl_archive_cap(a)) return 0;
    int live = 0;
    for (int i = 0; i < rl_archive_len(a); i++) {
        if (!rl_archive_alive(a, i)) continue;
        live++;
        if (i > 0) {
            int p = rl_archive_parent(a, i);
            if (p < 0 || p >= i || !rl_archive_alive(a, p)) return 0;
        }
    }
    if (live != rl_archive_size(a)) return 0;
    return max_admitted < 0 || rl_archive_reward(a, rl_archive_best(a)) == max_admitted;
}

static void test_puct(void) {
    RlArchive* a = rl_archive_new(8, "", 0.0);
    int out[4];
    rl_archive_select(a, 2, 1.0, out);
    CHECK("seed-only archive selects the seed k times", out[0] == 0 && out[1] == 0, "%d %d", out[0], out[1]);

    int ia = rl_archive_expand(a, 0, "a", 0.5);
    int ib = rl_archive_expand(a, 0, "b", 0.2);
    CHECK("children admitted with new ids", ia == 1 && ib == 2, "%d %d", ia, ib);
    /* N = 3, ranks a 0, b 1, seed 2 -> P = 3/6, 2/6, 1/6; scale 0.5; T = 2; n(seed) = 2 */
    double s3 = sqrt(3.0);
    double wa = 0.5 + 0.5 * 0.5 * s3, wb = 0.2 + 0.5 * (2.0 / 6) * s3, w0 = 0.5 + 0.5 * (1.0 / 6) * s3 / 3;
    double ga = rl_archive_score(a, ia, 1.0), gb = rl_archive_score(a, ib, 1.0), g0 = rl_archive_score(a, 0, 1.0);
    CHECK("puct scores match hand values", fabs(ga - wa) < 1e-12 && fabs(gb - wb) < 1e-12 && fabs(g0 - w0) < 1e-12,
          "a %g/%g b %g/%g seed %g/%g", ga, wa, gb, wb, g0, w0);
    CHECK("seed Q is its best child, n counts expansions", rl_archive_q(a, 0) == 0.5 &&
          rl_archive_count(a, 0) == 2 && rl_archive_total(a) == 2, "Q %g n %ld", rl_archive_q(a, 0), rl_archive_count(a, 0));
    rl_archive_select(a, 1, 1.0, out);
    CHECK("puct picks the best score", out[0] == ia, "got %d", out[0]);
    /* k = 2: a blocks its lineage (seed, a), so the next is b even though seed scores higher */
    rl_archive_select(a, 2, 1.0, out);
    CHECK("k=2 blocks the lineage of the first pick", out[0] == ia && out[1] == ib && g0 > gb,
          "got %d %d", out[0], out[1]);
    rl_archive_select(a, 3, 1.0, out);
    CHECK("k beyond the unblocked states starts over", out[2] == ia, "got %d", out[2]);

    /* grandchild: n propagates up the chain; lineage of a now includes aa */
    int iaa = rl_archive_expand(a, ia, "aa", 0.6);
    CHECK("expansion counts propagate to ancestors", rl_archive_count(a, ia) == 1 &&
          rl_archive_count(a, 0) == 3 && rl_archive_total(a) == 3 && rl_archive_q(a, ia) == 0.6,
          "n(a) %ld n(seed) %ld", rl_archive_count(a, ia), rl_archive_count(a, 0));
    /* hand scores: N = 4 (aa .6, a .5, b .2, seed 0) P = 4,3,2,1 /10; scale .6; √4 = 2 */
    double waa = 0.6 + 0.6 * 0.4 * 2, wa2 = 0.6 + 0.6 * 0.3 * 2 / 2, wb2 = 0.2 + 0.6 * 0.2 * 2, w02 = 0.5 + 0.6 * 0.1 * 2 / 4;
    CHECK("puct scores after a grandchild", fabs(rl_archive_score(a, iaa, 1) - waa) < 1e-12 &&
          fabs(rl_archive_score(a, ia, 1) - wa2) < 1e-12 && fabs(rl_archive_score(a, ib, 1) - wb2) < 1e-12 &&
          fabs(rl_archive_score(a, 0, 1) - w02) < 1e-12, "aa %g", rl_archive_score(a, iaa, 1));
    rl_archive_select(a, 2, 1.0, out);
    CHECK("descendant pick blocks its ancestors", out[0] == iaa && out[1] == ib, "got %d %d", out[0], out[1]);

    /* top-2 children of the seed: a (0.5), b (0.2) */
    CHECK("worse than both children is rejected", rl_archive_expand(a, 0, "c", 0.1) == -1 &&
          rl_archive_size(a) == 4, "size %d", rl_archive_size(a));
    int id_d = rl_archive_expand(a, 0, "d", 0.3);
    CHECK("better child replaces the worst child", id_d > 0 && !rl_archive_alive(a, ib) &&
          rl_archive_alive(a, ia) && rl_archive_parent(a, id_d) == 0 && rl_archive_size(a) == 4,
          "d %d b alive %d", id_d, rl_archive_alive(a, ib));
    CHECK("dead state has no text", rl_archive_text(a, ib) == NULL, "text present");
    CHECK("duplicate text rejected", rl_archive_expand(a, ia, "aa", 0.9) == -1, "admitted");
    CHECK("zero reward rejected", rl_archive_expand(a, ia, "zz", 0.0) == -1, "admitted");
    CHECK("duplicate still counts as an expansion", rl_archive_q(a, ia) == 0.9 && rl_archive_total(a) == 7,
          "Q %g T %ld", rl_archive_q(a, ia), rl_archive_total(a));
    CHECK("bad parent id", rl_archive_expand(a, 99, "x", 0.5) == -2, "not -2");
    /* expanding the evicted b lands on its nearest live ancestor (the seed) */
    long n0 = rl_archive_count(a, 0);
    int ie = rl_archive_expand(a, ib, "e", 0.4);
    CHECK("expansion of an evicted state goes to its live ancestor", ie > 0 && rl_archive_parent(a, ie) == 0 &&
          rl_archive_count(a, 0) == n0 + 1 && !rl_archive_alive(a, id_d), "e %d parent %d", ie, rl_archive_parent(a, ie));
    rl_archive_free(a);

    /* cap eviction: a chain so no leaf-only rule could work; cap 4 */
    a = rl_archive_new(4, "seed", 0.0);
    int x1 = rl_archive_expand(a, 0, "x1", 0.3);
    int x2 = rl_archive_expand(a, x1, "x2", 0.2);
    int x3 = rl_archive_expand(a, x2, "x3", 0.9);
    int x4 = rl_archive_expand(a, x3, "x4", 0.4);
    CHECK("cap evicts the lowest non-seed non-best", rl_archive_size(a) == 4 && !rl_archive_alive(a, x2) &&
          rl_archive_parent(a, x3) == x1 && rl_archive_alive(a, x4) && rl_archive_best(a) == x3,
          "size %d", rl_archive_size(a));
    int x5 = rl_archive_expand(a, x4, "x5", 0.05);
    CHECK("a new child can be evicted at once", x5 == -1 && rl_archive_size(a) == 4, "x5 %d", x5);
    CHECK("archive invariants after eviction", archive_ok(a, 0.9), "broken");
    rl_archive_free(a);

    /* random stress, then JSON round trip: identical behaviour afterwards */
    Rng g;
    rng_seed(&g, 1234);
    a = rl_archive_new(16, "bare prompt", 0.0);
    double maxr = 0;
    int ok = 1;
    char buf[64];
    for (int step = 0; step < 300; step++) {
        int picks[2];
        rl_archive_select(a, 2, 1.0, picks);
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 4; j++) {
                double r = rng_below(&g, 5) == 0 ? 0.0 : rng_double(&g);
                snprintf(buf, sizeof buf, "t%u", rng_below(&g, 400));
                if (rl_archive_expand(a, picks[k], buf, r) >= 0) maxr = fmax(maxr, r);
            }
        if (!archive_ok(a, maxr)) ok = 0;
    }
    CHECK("stress: seed kept, best kept, cap respected, tree consistent", ok && rl_archive_size(a) == 16,
          "size %d", rl_archive_size(a));
    /* a non-UTF-8 text survives too */
    rl_archive_expand(a, rl_archive_best(a), "\xff\xfe bytes", 2.0);
    char* js = rl_archive_dumps(a);
    char err[ERR_LEN];
    RlArchive* b = rl_archive_loads(js, err);
    CHECK("json loads what it dumps", b != NULL, "%s", err);
    if (b) {
        char* js2 = rl_archive_dumps(b);
        CHECK("json dump is stable", strcmp(js, js2) == 0, "differs");
        free(js2);
        CHECK("non-utf8 text round-trips", strcmp(rl_archive_text(b, rl_archive_best(b)), "\xff\xfe bytes") == 0, "differs");
        Rng g1 = g, g2 = g;
        int same = 1;
        for (int step = 0; step < 100 && same; step++) {
            int p1[3], p2[3];
            rl_archive_select(a, 3, 1.0, p1);
            rl_archive_select(b, 3, 1.0, p2);
            same = memcmp(p1, p2, sizeof p1) == 0;
            for (int k = 0; k < 3; k++) {
                double r1 = rng_double(&g1), r2 = rng_double(&g2);
                snprintf(buf, sizeof buf, "u%u", rng_below(&g1, 300));
                rng_below(&g2, 300);
                same = same && rl_archive_expand(a, p1[k], buf, r1) == rl_archive_expand(b, p2[k], buf, r2);
            }
        }
        char *ja = rl_archive_dumps(a), *jb = rl_archive_dumps(b);
        CHECK("json round trip gives identical later selections", same && strcmp(ja, jb) == 0, "diverged");
        free(ja);
        free(jb);
        rl_archive_free(b);
    }
    free(js);
    CHECK("json rejects a broken archive", rl_archive_loads("{\"cap\":1,\"T\":0,\"states\":[]}", err) == NULL &&
          strstr(err, "cap") != NULL, "%s", err);
    CHECK("json rejects malformed text", rl_archive_loads("{\"cap\":", err) == NULL, "loaded");
    rl_archive_free(a);
    CHECK("cap below 2 refused", rl_archive_new(1, "", 0) == NULL, "created");
}

int main(void) {
    test_advantages();
    test_beta();
    test_small_groups_bounded();
    test_kl_shape();
    test_puct();
    return check_status();
}
