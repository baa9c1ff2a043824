/* test_kernels: every kernel of kernels.h against a naive reference or
 * central finite differences, plus thread-count determinism.
 *
 * Gradients: with loss = sum(out * w) for random w, the analytic backward
 * (given dout = w) must match (loss(x+h) - loss(x-h)) / 2h, the loss summed
 * in double over fp32 forwards; the check is max|analytic - numeric| relative
 * to max|numeric| (< 1e-2).
 *
 * `test_kernels --dump DIR` also writes the inputs, outputs and gradients of
 * larger cases to DIR as raw float32 files listed in DIR/manifest.txt, for
 * tests/torch/ref_kernels.py to recompute with PyTorch
 * (tests/tools/test_kernels_torch.sh). */
#include "check.h"
#include "kernels.h"
#include "util.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(void) {   /* uniform in [-1, 1) */
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (float)((rng >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}
static float* randv(long n, float scale) {
    float* x = malloc_check(n * sizeof(float));
    for (long i = 0; i < n; i++) x[i] = frand() * scale;
    return x;
}
static float* zerov(long n) { return calloc_check(n, sizeof(float)); }
static float* copyv(const float* x, long n) {
    float* y = malloc_check(n * sizeof(float));
    memcpy(y, x, n * sizeof(float));
    return y;
}
static double dotd(const float* a, const float* b, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}
static double max_abs_diff(const float* a, const float* b, long n) {
    double m = 0.0;
    for (long i = 0; i < n; i++) { double d = fabs((double)a[i] - b[i]); if (d > m) m = d; }
    return m;
}

/* Relative error of `analytic` against central differences of loss() in x. */
static double fd_check(float* x, long n, const float* analytic, double (*loss)(void), float h) {
    double maxerr = 0.0, maxnum = 1e-6;
    for (long i = 0; i < n; i++) {
        float x0 = x[i];
        x[i] = x0 + h; double lp = loss();
        x[i] = x0 - h; double lm = loss();
        x[i] = x0;
        double num = (lp - lm) / (2.0 * h);
        double err = fabs(num - analytic[i]);
        if (err > maxerr) maxerr = err;
        if (fabs(num) > maxnum) maxnum = fabs(num);
    }
    return maxerr / maxnum;
}

#define FD_TOL 1e-2
#define CHECK_FD(name, rel) do { double r_ = (rel); \
    printf("  %s: relative error vs finite differences %.3g\n", name, r_); \
    CHECK(name, r_ < FD_TOL, "relative error %.3g", r_); } while (0)

/* ---- matmul ------------------------------------------------------------- */

static struct { int BT, C, OC; float *out, *inp, *w, *b, *dout; } MM;
static double loss_matmul(void) {
    matmul_forward(MM.out, MM.inp, MM.w, MM.b, MM.BT, MM.C, MM.OC);
    return dotd(MM.out, MM.dout, (long)MM.BT * MM.OC);
}
static void test_matmul(void) {
    int BT = 6, C = 5, OC = 7;
    MM.BT = BT; MM.C = C; MM.OC = OC;
    MM.out = zerov(BT * OC); MM.inp = randv(BT * C, 1); MM.w = randv(OC * C, 1);
    MM.b = randv(OC, 1); MM.dout = randv(BT * OC, 1);
    matmul_forward(MM.out, MM.inp, MM.w, MM.b, BT, C, OC);
    double err = 0.0;
    for (int i = 0; i < BT; i++)
        for (int o = 0; o < OC; o++) {
            double s = MM.b[o];
            for (int c = 0; c < C; c++) s += (double)MM.inp[i * C + c] * MM.w[o * C + c];
            err = fmax(err, fabs(s - MM.out[i * OC + o]));
        }
    CHECK("matmul_forward matches naive", err < 1e-5, "max err %.3g", err);
    float *dinp = randv(BT * C, 1), *dw = zerov(OC * C), *db = zerov(OC);   /* dinp overwritten */
    matmul_backward(dinp, dw, db, MM.dout, MM.inp, MM.w, BT, C, OC, 0);
    CHECK_FD("matmul_backward dinp", fd_check(MM.inp, BT * C, dinp, loss_matmul, 1e-2f));
    CHECK_FD("matmul_backward dweight", fd_check(MM.w, OC * C, dw, loss_matmul, 1e-2f));
    CHECK_FD("matmul_backward dbias", fd_check(MM.b, OC, db, loss_matmul, 1e-2f));
    /* accumulation (dinp_acc 1): a second call doubles the gradients */
    float* dinp1 = copyv(dinp, BT * C);
    matmul_backward(dinp, NULL, NULL, MM.dout, MM.inp, MM.w, BT, C, OC, 1);
    double acc = 0.0;
    for (int i = 0; i < BT * C; i++) acc = fmax(acc, fabs(dinp[i] - 2.0 * dinp1[i]));
    CHECK("matmul_backward accumulates", acc < 1e-5, "max err %.3g", acc);
    free(dinp1); free(dinp); free(dw); free(db);
    free(MM.out); free(MM.inp); free(MM.w); free(MM.b); free(MM.dout);
}

/* ---- layernorm ---------------------------------------------------------- */

static struct { int BT, C; float *out, *mean, *rstd, *inp, *w, *b, *dout; } LN;
static double loss_layernorm(void) {
    layernorm_forward(LN.out, LN.mean, LN.rstd, LN.inp, LN.w, LN.b, LN.BT, LN.C);
    return dotd(LN.out, LN.dout, (long)LN.BT * LN.C);
}
static void test_layernorm(void) {
    int BT = 4, C = 8;
    LN.BT = BT; LN.C = C;
    LN.out = zerov(BT * C); LN.mean = zerov(BT); LN.rstd = zerov(BT);
    LN.inp = randv(BT * C, 2); LN.w = randv(C, 1); LN.b = randv(C, 1); LN.dout = randv(BT * C, 1);
    loss_layernorm();
    float *dinp = zerov(BT * C), *dw = zerov(C), *db = zerov(C);
    layernorm_backward(dinp, dw, db, LN.dout, LN.inp, LN.w, LN.mean, LN.rstd, BT, C);
    CHECK_FD("layernorm_backward dinp", fd_check(LN.inp, BT * C, dinp, loss_layernorm, 1e-2f));
    CHECK_FD("layernorm_backward dweight", fd_check(LN.w, C, dw, loss_layernorm, 1e-2f));
    CHECK_FD("layernorm_backward dbias", fd_check(LN.b, C, db, loss_layernorm, 1e-2f));
    free(dinp); free(dw); free(db);
    free(LN.out); free(LN.mean); free(LN.rstd); free(LN.inp); free(LN.w); free(LN.b); free(LN.dout);
}

/* ---- rmsnorm ------------------------------------------------------------ */

static struct { int BT, C; float *out, *rinv, *inp, *dout; } RN;
static double loss_rmsnorm(void) {
    rmsnorm_forward(RN.out, RN.rinv, RN.inp, RN.BT, RN.C, 1e-6f);
    return dotd(RN.out, RN.dout, (long)RN.BT * RN.C);
}
static void test_rmsnorm(void) {
    int BT = 4, C = 8;
    RN.BT = BT; RN.C = C;
    RN.out = zerov(BT * C); RN.rinv = zerov(BT); RN.inp = randv(BT * C, 2); RN.dout = randv(BT * C, 1);
    loss_rmsnorm();
    double ms = 0.0;
    for (int c = 0; c < C; c++) ms += (double)RN.out[c] * RN.out[c];
    CHECK("rmsnorm_forward unit mean square", fabs(ms / C - 1.0) < 1e-4, "mean square %.6f", ms / C);
    float* dinp = zerov(BT * C);
    rmsnorm_backward(dinp, RN.dout, RN.inp, RN.rinv, BT, C);
    CHECK_FD("rmsnorm_backward dinp", fd_check(RN.inp, BT * C, dinp, loss_rmsnorm, 1e-2f));
    free(dinp); free(RN.out); free(RN.rinv); free(RN.inp); free(RN.dout);
}

/* ---- gelu --------------------------------------------------------------- */

static struct { int N; float *out, *inp, *dout; } GE;
static double loss_gelu(void) {
    gelu_forward(GE.out, GE.inp, GE.N);
    return dotd(GE.out, GE.dout, GE.N);
}
static void test_gelu(void) {
    int N = 40;
    GE.N = N; GE.out = zerov(N); GE.inp = randv(N, 4); GE.dout = randv(N, 1);
    loss_gelu();
    double err = 0.0;
    for (int i = 0; i < N; i++) {
        double x = GE.inp[i];
        double ref = 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
        err = fmax(err, fabs(ref - GE.out[i]));
    }
    CHECK("gelu_forward matches tanh formula", err < 1e-5, "max err %.3g", err);
    float* dinp = randv(N, 1);   /* overwritten */
    gelu_backward(dinp, GE.inp, GE.dout, N);
    CHECK_FD("gelu_backward dinp", fd_check(GE.inp, N, dinp, loss_gelu, 1e-3f));
    free(dinp); free(GE.out); free(GE.inp); free(GE.dout);
}

/* ---- attention ---------------------------------------------------------- */

static struct { int B, T, C, NH; float *out, *preatt, *att, *qkv, *dout; } AT;
static double loss_attention(void) {
    attention_forward(AT.out, AT.preatt, AT.att, AT.qkv, AT.B, AT.T, AT.C, AT.NH);
    return dotd(AT.out, AT.dout, (long)AT.B * AT.T * AT.C);
}
static void test_attention(void) {
    int B = 2, T = 5, C = 8, NH = 2;
    AT.B = B; AT.T = T; AT.C = C; AT.NH = NH;
    AT.out = zerov(B * T * C); AT.preatt = zerov(B * NH * T * T); AT.att = zerov(B * NH * T * T);
    AT.qkv = randv(B * T * 3 * C, 1.5f); AT.dout = randv(B * T * C, 1);
    loss_attention();
    /* causality: the first position attends only to itself, so out = v */
    double err = 0.0;
    for (int i = 0; i < C; i++) err = fmax(err, fabs(AT.out[i] - AT.qkv[2 * C + i]));
    CHECK("attention_forward causal first token", err < 1e-6, "max err %.3g", err);
    float *dqkv = randv(B * T * 3 * C, 1), *dpre = zerov(B * NH * T * T), *datt = zerov(B * NH * T * T);   /* dqkv overwritten */
    attention_backward(dqkv, dpre, datt, AT.dout, AT.qkv, AT.out, AT.att, B, T, C, NH);
    CHECK_FD("attention_backward dqkv", fd_check(AT.qkv, B * T * 3 * C, dqkv, loss_attention, 1e-2f));
    free(dqkv); free(dpre); free(datt);
    free(AT.out); free(AT.preatt); free(AT.att); free(AT.qkv); free(AT.dout);
}

/* ---- residual, encoder -------------------------------------------------- */

static void test_residual_encoder(void) {
    int N = 10;
    float *a = randv(N, 1), *b = randv(N, 1), *out = zerov(N), *d = randv(N, 1);
    float *da = zerov(N), *db = zerov(N);
    residual_forward(out, a, b, N);
    residual_backward(da, db, d, N);
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= out[i] == a[i] + b[i] && da[i] == d[i] && db[i] == d[i];
    CHECK("residual forward/backward", ok, "mismatch");
    free(a); free(b); free(out); free(d); free(da); free(db);

    int B = 2, T = 3, C = 4, V = 5;
    int tokens[6] = {1, 3, 1, 0, 1, 4};
    float *wte = randv(V * C, 1), *wpe = randv(T * C, 1), *eo = zerov(B * T * C), *dout = randv(B * T * C, 1);
    float *dwte = zerov(V * C), *dwpe = zerov(T * C);
    encoder_forward(eo, tokens, wte, wpe, B, T, C);
    encoder_backward(dwte, dwpe, dout, tokens, B, T, C);
    double err = 0.0;
    for (int c = 0; c < C; c++) {
        err = fmax(err, fabs(eo[4 * C + c] - (wte[1 * C + c] + wpe[1 * C + c])));
        /* token 1 appears at (0,0), (0,2), (1,1) */
        err = fmax(err, fabs(dwte[1 * C + c] - (dout[0 * C + c] + dout[2 * C + c] + dout[4 * C + c])));
        err = fmax(err, fabs(dwpe[2 * C + c] - (dout[2 * C + c] + dout[5 * C + c])));
    }
    CHECK("encoder forward/backward", err < 1e-6, "max err %.3g", err);
    free(wte); free(wpe); free(eo); free(dout); free(dwte); free(dwpe);
}

/* ---- cross-entropy -------------------------------------------------------- */

static struct { int BT, V; float *losses, *stats, *logits, *dl; int* targets; } CE;
static double loss_ce(void) {
    crossentropy_softmax_forward(CE.losses, CE.stats, CE.logits, CE.targets, CE.BT, CE.V);
    return dotd(CE.losses, CE.dl, CE.BT);
}
static void test_crossentropy(void) {
    int BT = 4, V = 7;
    int targets[4] = {3, 0, -1, 6};
    CE.BT = BT; CE.V = V; CE.targets = targets;
    CE.losses = zerov(BT); CE.stats = zerov(BT * 2); CE.logits = randv(BT * V, 3); CE.dl = randv(BT, 1);
    loss_ce();
    double m = -1e30, s = 0.0;
    for (int v = 0; v < V; v++) m = fmax(m, CE.logits[v]);
    for (int v = 0; v < V; v++) s += exp(CE.logits[v] - m);
    double ref = log(s) + m - CE.logits[3];
    CHECK("crossentropy_forward matches log-softmax", fabs(ref - CE.losses[0]) < 1e-5,
          "got %g want %g", CE.losses[0], ref);
    CHECK("crossentropy_forward ignores target -1", CE.losses[2] == 0.0f, "loss %g", CE.losses[2]);
    float* dlogits = randv(BT * V, 5);   /* overwritten, ignored row included */
    crossentropy_softmax_backward(dlogits, CE.dl, CE.logits, CE.stats, CE.targets, BT, V);
    CHECK_FD("crossentropy_softmax_backward dlogits", fd_check(CE.logits, BT * V, dlogits, loss_ce, 1e-2f));
    /* In place (the model's way): the logits become their gradient, the same bits. */
    loss_ce();
    float* inplace = copyv(CE.logits, BT * V);
    crossentropy_softmax_backward(inplace, CE.dl, inplace, CE.stats, CE.targets, BT, V);
    CHECK("crossentropy_softmax_backward in place", !memcmp(inplace, dlogits, BT * V * sizeof(float)),
          "max diff %.3g", max_abs_diff(inplace, dlogits, BT * V));
    free(inplace); free(dlogits); free(CE.losses); free(CE.stats); free(CE.logits); free(CE.dl);
}

/* ---- adamw -------------------------------------------------------------- */

static void test_adamw(void) {
    int N = 16, steps = 3;
    float *p = randv(N, 1), *m = zerov(N), *v = zerov(N);
    double *pd = malloc_check(N * sizeof(double)), *md = calloc_check(N, sizeof(double)),
           *vd = calloc_check(N, sizeof(double));
    for (int i = 0; i < N; i++) pd[i] = p[i];
    float lr = 1e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
    for (int t = 1; t <= steps; t++) {
        float* g = randv(N, 1);
        adamw_update(p, g, m, v, N, lr, b1, b2, eps, wd, t);
        for (int i = 0; i < N; i++) {
            pd[i] *= 1.0 - (double)lr * wd;
            md[i] = b1 * md[i] + (1.0 - b1) * g[i];
            vd[i] = b2 * vd[i] + (1.0 - b2) * (double)g[i] * g[i];
            double mh = md[i] / (1.0 - pow(b1, t)), vh = vd[i] / (1.0 - pow(b2, t));
            pd[i] -= lr * mh / (sqrt(vh) + eps);
        }
        free(g);
    }
    double err = 0.0;
    for (int i = 0; i < N; i++) err = fmax(err, fabs(pd[i] - p[i]));
    CHECK("adamw_update matches double reference", err < 1e-5, "max err %.3g", err);
    free(p); free(m); free(v); free(pd); free(md); free(vd);

    /* adamw_update_segments: bitwise the per-segment calls (an empty segment, equal neighbours) */
    long start[6] = {0, 5, 5, 9, 12, 20};
    unsigned char decay[5] = {1, 0, 0, 1, 0};
    float *p1 = randv(20, 1), *g1 = randv(20, 1), *m1 = randv(20, 1), *v1 = randv(20, 1);
    float *p2 = malloc_check(80), *m2 = malloc_check(80), *v2 = malloc_check(80);
    for (int i = 0; i < 20; i++) { p2[i] = p1[i]; m2[i] = m1[i]; v2[i] = v1[i] * v1[i]; v1[i] = v2[i]; }
    for (int t = 1; t <= 2; t++) {
        adamw_update_segments(p1, g1, m1, v1, start, decay, 5, lr, b1, b2, eps, wd, t);
        for (int s = 0; s < 5; s++)
            adamw_update(p2 + start[s], g1 + start[s], m2 + start[s], v2 + start[s], start[s + 1] - start[s], lr, b1,
                         b2, eps, decay[s] ? wd : 0.0f, t);
    }
    CHECK("adamw_update_segments bitwise per-segment adamw_update",
          !memcmp(p1, p2, 80) && !memcmp(m1, m2, 80) && !memcmp(v1, v2, 80), "differs");
    free(p1); free(g1); free(m1); free(v1); free(p2); free(m2); free(v2);
}

/* ---- sinkhorn ----------------------------------------------------------- */

static struct { int N, n, iters; float *out, *saved, *logits, *dout; } SK;
static double loss_sinkhorn(void) {
    sinkhorn_forward(SK.out, SK.saved, SK.logits, SK.N, SK.n, SK.iters);
    return dotd(SK.out, SK.dout, (long)SK.N * SK.n * SK.n);
}
static void test_sinkhorn(void) {
    int N = 3, n = 4, iters = 20;
    long nn = n * n;
    SK.N = N; SK.n = n; SK.iters = iters;
    SK.out = zerov(N * nn); SK.saved = zerov(N * SINKHORN_SAVED_FLOATS(n, iters));
    SK.logits = randv(N * nn, 2); SK.dout = randv(N * nn, 1);
    loss_sinkhorn();
    double err = 0.0;   /* rows exact after the last step, columns close */
    for (int k = 0; k < N; k++)
        for (int i = 0; i < n; i++) {
            double r = 0.0, c = 0.0;
            for (int j = 0; j < n; j++) { r += SK.out[k * nn + i * n + j]; c += SK.out[k * nn + j * n + i]; }
            err = fmax(err, fmax(fabs(r - 1.0), fabs(c - 1.0)));
        }
    CHECK("sinkhorn_forward doubly stochastic", err < 1e-3, "max |sum - 1| %.3g", err);
    float* dl = zerov(N * nn);
    sinkhorn_backward(dl, SK.dout, SK.saved, N, n, iters);
    CHECK_FD("sinkhorn_backward dlogits", fd_check(SK.logits, N * nn, dl, loss_sinkhorn, 1e-2f));
    /* the mHC init: 0 on the diagonal, -8 off it gives H_res close to I */
    float H[16];
    for (int e = 0; e < 16; e++) H[e] = (e % 5 == 0) ? 0.0f : -8.0f;
    float out[16], saved[SINKHORN_SAVED_FLOATS(4, 20)];
    sinkhorn_forward(out, saved, H, 1, 4, 20);
    CHECK("sinkhorn_forward mHC init near identity", out[0] > 0.99f && out[1] < 0.01f, "diag %g off %g", out[0], out[1]);
    free(dl); free(SK.out); free(SK.saved); free(SK.logits); free(SK.dout);
}

/* ---- determinism across thread counts ------------------------------------ */

static int same_bits(const float* a, const float* b, long n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void test_determinism(void) {
    int B = 4, T = 32, C = 96, NH = 4, OC = 200, V = 300, n = 4, iters = 20;
    int BT = B * T;
    float *inp = randv(BT * C, 1), *w = randv(OC * C, 1), *dout = randv(BT * OC, 1);
    float *lw = randv(C, 1), *lb = randv(C, 1), *dln = randv(BT * C, 1);
    float *qkv = randv(BT * 3 * C, 1), *datt_out = randv(BT * C, 1);
    float *logits = randv(BT * V, 2), *dlosses = randv(BT, 1);
    float *hl = randv(BT * n * n, 2), *dh = randv(BT * n * n, 1);
    int* tokens = malloc_check(BT * sizeof(int));
    for (int i = 0; i < BT; i++) tokens[i] = (int)((frand() + 1.0f) * 0.5f * 7);   /* many repeats */
    for (int i = 0; i < BT; i++) tokens[i] = tokens[i] < 0 ? 0 : tokens[i] > 6 ? 6 : tokens[i];
    long nbuf = (long)BT * OC + OC * C + OC + BT * C   /* matmul */
              + 2 * C + BT * C + BT * 2                /* layernorm */
              + BT * C + (long)BT * 3 * C              /* attention */
              + (long)BT * V                           /* crossentropy */
              + (long)BT * n * n                       /* sinkhorn */
              + 7 * C + (long)T * C;                   /* encoder */
    float* res[3];
    int threads[3] = {1, 2, 3};
    for (int r = 0; r < 3; r++) {
        omp_set_num_threads(threads[r]);
        float* o = res[r] = zerov(nbuf);
        float *mm_out = o, *dw = mm_out + BT * OC, *db = dw + OC * C, *dinp = db + OC;
        matmul_forward(mm_out, inp, w, db /* zeros: a bias */, BT, C, OC);
        matmul_backward(dinp, dw, db, dout, inp, w, BT, C, OC, 0);
        float *ldw = dinp + BT * C, *ldb = ldw + C, *ldi = ldb + C, *mean = ldi + BT * C, *rstd = mean + BT;
        float* lout = malloc_check(BT * C * sizeof(float));
        layernorm_forward(lout, mean, rstd, inp, lw, lb, BT, C);
        layernorm_backward(ldi, ldw, ldb, dln, inp, lw, mean, rstd, BT, C);
        float *aout = rstd + BT, *dqkv = aout + BT * C;
        float *pre = zerov((long)B * NH * T * T), *att = zerov((long)B * NH * T * T);
        float *dpre = zerov((long)B * NH * T * T), *datt = zerov((long)B * NH * T * T);
        attention_forward(aout, pre, att, qkv, B, T, C, NH);
        attention_backward(dqkv, dpre, datt, datt_out, qkv, aout, att, B, T, C, NH);
        float *dlog = dqkv + BT * 3 * C, *stats = malloc_check(BT * 2 * sizeof(float)), *losses = zerov(BT);
        crossentropy_softmax_forward(losses, stats, logits, tokens, BT, V);
        crossentropy_softmax_backward(dlog, dlosses, logits, stats, tokens, BT, V);
        float *dhl = dlog + BT * V, *sout = zerov(BT * n * n), *saved = zerov(BT * SINKHORN_SAVED_FLOATS(n, iters));
        sinkhorn_forward(sout, saved, hl, BT, n, iters);
        sinkhorn_backward(dhl, dh, saved, BT, n, iters);
        float *dwte = dhl + BT * n * n, *dwpe = dwte + 7 * C;
        encoder_backward(dwte, dwpe, dln, tokens, B, T, C);
        free(lout); free(pre); free(att); free(dpre); free(datt); free(stats); free(losses);
        free(sout); free(saved);
    }
    omp_set_num_threads(omp_get_num_procs());
    CHECK("backward bitwise equal with 1 and 2 threads", same_bits(res[0], res[1], nbuf),
          "max diff %.3g", max_abs_diff(res[0], res[1], nbuf));
    CHECK("backward bitwise equal with 1 and 3 threads", same_bits(res[0], res[2], nbuf),
          "max diff %.3g", max_abs_diff(res[0], res[2], nbuf));
    for (int r = 0; r < 3; r++) free(res[r]);
    free(inp); free(w); free(dout); free(lw); free(lb); free(dln); free(qkv); free(datt_out);
    free(logits); free(dlosses); free(hl); free(dh); free(tokens);
}

/* The deterministic sgemm tiles by rows, or by columns when there are few
 * rows; check every tiling path against a naive double product, and that a
 * one-tile product is also thread-count independent. */
static void test_matmul_tiling(void) {
    int shapes[4][3] = {{8, 40, 600}, {130, 33, 70}, {200, 64, 520}, {3, 16, 24}};
    double worst = 0.0;
    int same = 1;
    for (int s = 0; s < 4; s++) {
        int BT = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        float *inp = randv(BT * C, 1), *w = randv(OC * C, 1), *dout = randv(BT * OC, 1);
        float *out[2], *dinp[2], *dw[2];
        for (int r = 0; r < 2; r++) {
            omp_set_num_threads(r + 1);
            out[r] = zerov(BT * OC); dinp[r] = zerov(BT * C); dw[r] = zerov(OC * C);
            matmul_forward(out[r], inp, w, NULL, BT, C, OC);
            matmul_backward(dinp[r], dw[r], NULL, dout, inp, w, BT, C, OC, 0);
            if (r) same &= same_bits(out[0], out[1], BT * OC) && same_bits(dinp[0], dinp[1], BT * C)
                         && same_bits(dw[0], dw[1], OC * C);
        }
        double err = 0.0;
        for (int i = 0; i < BT; i++)
            for (int o = 0; o < OC; o++) {
                double f = 0.0;
                for (int c = 0; c < C; c++) f += (double)inp[i * C + c] * w[o * C + c];
                err = fmax(err, fabs(f - out[0][i * OC + o]));
            }
        for (int i = 0; i < BT; i++)
            for (int c = 0; c < C; c++) {
                double f = 0.0;
                for (int o = 0; o < OC; o++) f += (double)dout[i * OC + o] * w[o * C + c];
                err = fmax(err, fabs(f - dinp[0][i * C + c]));
            }
        for (int o = 0; o < OC; o++)
            for (int c = 0; c < C; c++) {
                double f = 0.0;
                for (int i = 0; i < BT; i++) f += (double)dout[i * OC + o] * inp[i * C + c];
                err = fmax(err, fabs(f - dw[0][o * C + c]));
            }
        worst = fmax(worst, err);
        for (int r = 0; r < 2; r++) { free(out[r]); free(dinp[r]); free(dw[r]); }
        free(inp); free(w); free(dout);
    }
    omp_set_num_threads(omp_get_num_procs());
    CHECK("matmul tiled shapes match naive", worst < 1e-3, "max abs err %.3g", worst);
    CHECK("matmul tiled shapes bitwise equal with 1 and 2 threads", same, "differ");
}

/* matmul_forward_t (decoding's product on a transposed weight, libxsmm) and transpose:
 * shapes that leave partial blocks on both sides, against a naive double product and
 * matmul_forward, bitwise the same at 1, 2 and 3 threads. */
static void test_matmul_t(void) {
    int shapes[6][3] = {{1, 5, 7}, {8, 128, 384}, {32, 33, 65}, {70, 64, 600}, {130, 40, 24}, {3, 512, 128}};
    double worst = 0.0, vs_plain = 0.0;
    int same = 1, exact = 1;
    for (int s = 0; s < 6; s++) {
        int BT = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        float *inp = randv(BT * C, 1), *w = randv(OC * C, 1), *b = randv(OC, 1), *wt = zerov(OC * C), *back = zerov(OC * C);
        transpose(wt, w, OC, C);
        transpose(back, wt, C, OC);
        for (int o = 0; o < OC; o++)
            for (int c = 0; c < C; c++) exact &= wt[(long)c * OC + o] == w[(long)o * C + c];
        exact &= same_bits(back, w, OC * C);
        float *out[3], *plain = zerov(BT * OC);
        for (int r = 0; r < 3; r++) {
            omp_set_num_threads(r + 1);
            out[r] = zerov(BT * OC);
            matmul_forward_t(out[r], inp, wt, s % 2 ? b : NULL, BT, C, OC);
            if (r) same &= same_bits(out[0], out[r], BT * OC);
        }
        omp_set_num_threads(omp_get_num_procs());
        matmul_forward(plain, inp, w, s % 2 ? b : NULL, BT, C, OC);
        for (int i = 0; i < BT; i++)
            for (int o = 0; o < OC; o++) {
                double f = s % 2 ? b[o] : 0.0;
                for (int c = 0; c < C; c++) f += (double)inp[i * C + c] * w[o * C + c];
                worst = fmax(worst, fabs(f - out[0][i * OC + o]) / sqrt((double)C));
                vs_plain = fmax(vs_plain, fabs(plain[i * OC + o] - out[0][i * OC + o]) / sqrt((double)C));
            }
        for (int r = 0; r < 3; r++) free(out[r]);
        free(plain); free(inp); free(w); free(b); free(wt); free(back);
    }
    CHECK("transpose exact, and its own inverse", exact, "differ");
    CHECK("matmul_forward_t matches naive", worst < 1e-5, "max err / sqrt(C) %.3g", worst);
    CHECK("matmul_forward_t matches matmul_forward", vs_plain < 1e-5, "max diff / sqrt(C) %.3g", vs_plain);
    CHECK("matmul_forward_t bitwise equal with 1, 2 and 3 threads", same, "differ");
}

/* ---- dump for the PyTorch cross-check ------------------------------------ */

static FILE* manifest;
static const char* dump_dir;
static void dump(const char* name, const float* x, int ndim, const int* dims) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.f32", dump_dir, name);
    long n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    FILE* f = fopen(path, "wb");
    if (!f || fwrite(x, sizeof(float), n, f) != (size_t)n) die(EXIT_FAIL, "cannot write %s", path);
    fclose(f);
    fprintf(manifest, "%s", name);
    for (int i = 0; i < ndim; i++) fprintf(manifest, " %d", dims[i]);
    fprintf(manifest, "\n");
}
#define DUMP(name, x, ...) do { int d_[] = {__VA_ARGS__}; dump(name, x, sizeof d_ / sizeof d_[0], d_); } while (0)
static float* ints_as_floats(const int* x, long n) {
    float* y = malloc_check(n * sizeof(float));
    for (long i = 0; i < n; i++) y[i] = (float)x[i];
    return y;
}

static void dump_cases(void) {
    int B = 2, T = 16, C = 32, NH = 4, OC = 48, V = 50, n = 4, iters = 20, BT = B * T;
    /* matmul */
    float *inp = randv(BT * C, 1), *w = randv(OC * C, 0.3f), *b = randv(OC, 1), *dout = randv(BT * OC, 1);
    float *out = zerov(BT * OC), *dinp = zerov(BT * C), *dw = zerov(OC * C), *db = zerov(OC);
    matmul_forward(out, inp, w, b, BT, C, OC);
    matmul_backward(dinp, dw, db, dout, inp, w, BT, C, OC, 0);
    DUMP("matmul.inp", inp, BT, C); DUMP("matmul.weight", w, OC, C); DUMP("matmul.bias", b, OC);
    DUMP("matmul.dout", dout, BT, OC); DUMP("matmul.out", out, BT, OC); DUMP("matmul.dinp", dinp, BT, C);
    DUMP("matmul.dweight", dw, OC, C); DUMP("matmul.dbias", db, OC);
    /* the same product on the transposed weight (decoding's) */
    float *wt = zerov(OC * C), *outt = zerov(BT * OC);
    transpose(wt, w, OC, C);
    matmul_forward_t(outt, inp, wt, b, BT, C, OC);
    DUMP("matmul_t.weight_t", wt, C, OC); DUMP("matmul_t.out", outt, BT, OC);
    free(wt); free(outt);
    free(w); free(b); free(dout); free(out); free(dinp); free(dw); free(db);
    /* layernorm (reuses inp) */
    float *lw = randv(C, 1), *lb = randv(C, 1), *ld = randv(BT * C, 1), *lo = zerov(BT * C);
    float *mean = zerov(BT), *rstd = zerov(BT), *ldi = zerov(BT * C), *ldw = zerov(C), *ldb = zerov(C);
    layernorm_forward(lo, mean, rstd, inp, lw, lb, BT, C);
    layernorm_backward(ldi, ldw, ldb, ld, inp, lw, mean, rstd, BT, C);
    DUMP("layernorm.inp", inp, BT, C); DUMP("layernorm.weight", lw, C); DUMP("layernorm.bias", lb, C);
    DUMP("layernorm.dout", ld, BT, C); DUMP("layernorm.out", lo, BT, C); DUMP("layernorm.mean", mean, BT);
    DUMP("layernorm.rstd", rstd, BT); DUMP("layernorm.dinp", ldi, BT, C);
    DUMP("layernorm.dweight", ldw, C); DUMP("layernorm.dbias", ldb, C);
    /* rmsnorm */
    float *ro = zerov(BT * C), *rinv = zerov(BT), *rdi = zerov(BT * C);
    rmsnorm_forward(ro, rinv, inp, BT, C, 1e-6f);
    rmsnorm_backward(rdi, ld, inp, rinv, BT, C);
    DUMP("rmsnorm.inp", inp, BT, C); DUMP("rmsnorm.dout", ld, BT, C); DUMP("rmsnorm.out", ro, BT, C);
    DUMP("rmsnorm.dinp", rdi, BT, C);
    /* gelu */
    float *gi = randv(BT * C, 4), *go = zerov(BT * C), *gdi = zerov(BT * C);
    gelu_forward(go, gi, BT * C);
    gelu_backward(gdi, gi, ld, BT * C);
    DUMP("gelu.inp", gi, BT * C); DUMP("gelu.dout", ld, BT * C); DUMP("gelu.out", go, BT * C);
    DUMP("gelu.dinp", gdi, BT * C);
    free(lw); free(lb); free(lo); free(mean); free(rstd); free(ldi); free(ldw); free(ldb);
    free(ro); free(rinv); free(rdi); free(gi); free(go); free(gdi);
    /* attention */
    float *qkv = randv(BT * 3 * C, 1.5f), *ao = zerov(BT * C), *dqkv = zerov(BT * 3 * C);
    long att_n = (long)B * NH * T * T;
    float *pre = zerov(att_n), *att = zerov(att_n), *dpre = zerov(att_n), *datt = zerov(att_n);
    attention_forward(ao, pre, att, qkv, B, T, C, NH);
    attention_backward(dqkv, dpre, datt, ld, qkv, ao, att, B, T, C, NH);
    DUMP("attention.qkv", qkv, B, T, 3 * C); DUMP("attention.dout", ld, B, T, C);
    DUMP("attention.out", ao, B, T, C); DUMP("attention.att", att, B, NH, T, T);
    DUMP("attention.dqkv", dqkv, B, T, 3 * C);
    free(qkv); free(ao); free(dqkv); free(pre); free(att); free(dpre); free(datt); free(ld);
    /* crossentropy */
    float *logits = randv(BT * V, 3), *dl = randv(BT, 1), *losses = zerov(BT), *stats = zerov(BT * 2);
    float* dlogits = zerov(BT * V);
    int* targets = malloc_check(BT * sizeof(int));
    for (int i = 0; i < BT; i++) targets[i] = (i * 7 + 3) % V;
    crossentropy_softmax_forward(losses, stats, logits, targets, BT, V);
    crossentropy_softmax_backward(dlogits, dl, logits, stats, targets, BT, V);
    float* tf = ints_as_floats(targets, BT);
    DUMP("crossentropy.logits", logits, BT, V); DUMP("crossentropy.targets", tf, BT);
    DUMP("crossentropy.dlosses", dl, BT); DUMP("crossentropy.losses", losses, BT);
    DUMP("crossentropy.stats", stats, BT, 2); DUMP("crossentropy.dlogits", dlogits, BT, V);
    free(logits); free(dl); free(losses); free(stats); free(dlogits); free(targets); free(tf);
    /* adamw: 3 steps, lr 1e-2, betas 0.9/0.95, eps 1e-8, wd 0.1 */
    int N = 64, steps = 3;
    float *p0 = randv(N, 1), *p = copyv(p0, N), *m = zerov(N), *v = zerov(N), *gs = randv(steps * N, 1);
    for (int t = 1; t <= steps; t++) adamw_update(p, gs + (t - 1) * N, m, v, N, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
    DUMP("adamw.params0", p0, N); DUMP("adamw.grads", gs, steps, N); DUMP("adamw.params", p, N);
    DUMP("adamw.m", m, N); DUMP("adamw.v", v, N);
    free(p0); free(p); free(m); free(v); free(gs);
    /* sinkhorn */
    float *hl = randv(BT * n * n, 2), *so = zerov(BT * n * n), *sd = randv(BT * n * n, 1), *sdl = zerov(BT * n * n);
    float* saved = zerov(BT * SINKHORN_SAVED_FLOATS(n, iters));
    sinkhorn_forward(so, saved, hl, BT, n, iters);
    sinkhorn_backward(sdl, sd, saved, BT, n, iters);
    DUMP("sinkhorn.logits", hl, BT, n, n); DUMP("sinkhorn.dout", sd, BT, n, n);
    DUMP("sinkhorn.out", so, BT, n, n); DUMP("sinkhorn.dlogits", sdl, BT, n, n);
    free(hl); free(so); free(sd); free(sdl); free(saved);
    /* encoder (tokens with repeats) */
    int Ve = 10;
    int* tok = malloc_check(BT * sizeof(int));
    for (int i = 0; i < BT; i++) tok[i] = (i * 3) % Ve;
    float *wte = randv(Ve * C, 1), *wpe = randv(T * C, 1), *eo = zerov(BT * C), *ed = randv(BT * C, 1);
    float *dwte = zerov(Ve * C), *dwpe = zerov(T * C);
    encoder_forward(eo, tok, wte, wpe, B, T, C);
    encoder_backward(dwte, dwpe, ed, tok, B, T, C);
    float* tokf = ints_as_floats(tok, BT);
    DUMP("encoder.tokens", tokf, B, T); DUMP("encoder.wte", wte, Ve, C); DUMP("encoder.wpe", wpe, T, C);
    DUMP("encoder.dout", ed, B, T, C); DUMP("encoder.out", eo, B, T, C);
    DUMP("encoder.dwte", dwte, Ve, C); DUMP("encoder.dwpe", dwpe, T, C);
    free(tok); free(wte); free(wpe); free(eo); free(ed); free(dwte); free(dwpe); free(tokf);
    free(inp);
}

int main(int argc, char** argv) {
    set_progname(argv[0]);
    test_matmul();
    test_layernorm();
    test_rmsnorm();
    test_gelu();
    test_attention();
    test_residual_encoder();
    test_crossentropy();
    test_adamw();
    test_sinkhorn();
    test_determinism();
    test_matmul_tiling();
    test_matmul_t();
    if (argc == 3 && strcmp(argv[1], "--dump") == 0) {
        dump_dir = argv[2];
        char path[4096];
        snprintf(path, sizeof path, "%s/manifest.txt", dump_dir);
        manifest = fopen(path, "w");
        if (!manifest) die(EXIT_FAIL, "cannot write %s", path);
        dump_cases();
        fclose(manifest);
        CHECK("dump for torch written", 1, " ");
    }
    return check_status();
}
