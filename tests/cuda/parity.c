/* parity: the CUDA backend against the CPU backend, on a machine with an
 * NVIDIA GPU (tests/cuda/run.sh; docs/performance.md). Three levels:
 *  1. every kernel of kernels.h on the same random inputs (fp32 precision:
 *     tight tolerance; every buffer a kernel writes is compared, "+=" outputs
 *     start non-zero so accumulation is checked too);
 *  2. the model (mHC on and off, LoRA on): loss, logits, every parameter
 *     gradient, decoding with the KV cache; bitwise run-to-run determinism;
 *  3. a 100-step AdamW loss curve that must track the CPU's.
 * Then the bf16 precision against the CPU within looser, stated tolerances.
 *   parity [--precision fp32|bf16|both] [--device cuda|cpu-guarded] [--curve_steps 100]
 * prints PASS/FAIL lines, exit 1 on any FAIL. --device cpu-guarded runs the
 * program against the CPU kernels behind the guarded device, on any machine:
 * a self-check of the harness (tests/tools/test_parity_harness.sh). */
#include "../check.h"
#include "kernels.h"
#include "lora.h"
#include "model.h"
#include "optim.h"
#include "rng.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const KernelOps* G;   /* the GPU table under test */
static const KernelOps* K = &kernels_cpu;
static Rng R;

/* A float buffer in both worlds: c is the CPU's copy, d the GPU's. */
typedef struct { float *c, *d; size_t n; } Buf;
typedef struct { int *c, *d; size_t n; } IBuf;

static Buf buf_rand(size_t n, float lo, float hi) {
    Buf b = {malloc_check(n * sizeof(float) + 4), G->alloc(n * sizeof(float) + 4), n};
    for (size_t i = 0; i < n; i++) b.c[i] = lo + (hi - lo) * rng_float(&R);
    G->upload(b.d, b.c, n * sizeof(float));
    return b;
}
static Buf buf_zero(size_t n) { return buf_rand(n, 0, 0); }
static IBuf ibuf(size_t n, int lo, int hi) {   /* uniform in [lo, hi) */
    IBuf b = {malloc_check(n * sizeof(int) + 4), G->alloc(n * sizeof(int) + 4), n};
    for (size_t i = 0; i < n; i++) b.c[i] = lo + (int)rng_below(&R, (uint32_t)(hi - lo));
    G->upload(b.d, b.c, n * sizeof(int));
    return b;
}
static void buf_free(Buf* b) { free(b->c); G->release(b->d); }

/* max |gpu - cpu| / max(max |cpu|, 1e-12) */
static double rel_err(const float* cpu, const float* gpu, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)gpu[i] - cpu[i]);
        if (!(d <= md)) md = d;   /* NaN counts as infinite */
        if (fabs(cpu[i]) > mr) mr = fabs(cpu[i]);
    }
    return md / (mr > 1e-12 ? mr : 1e-12);
}

static double TOL = 2e-5;
static long CURVE_STEPS = 100;   /* fp32 kernels: a few ulps of accumulated rounding */

static void same(const char* name, const Buf* b) {
    float* g = malloc_check(b->n * sizeof(float) + 4);
    G->download(g, b->d, b->n * sizeof(float));
    double e = rel_err(b->c, g, b->n);
    char nm[160];
    snprintf(nm, sizeof nm, "kernel.%s", name);
    CHECK(nm, e <= TOL, "rel err %.3g > %.3g", e, TOL);
    free(g);
}

static void kernel_parity(void) {
    const int B = 2, T = 33, C = 64, NH = 4, V = 515, BT = B * T, OC = 96, n = 4, M = 2 * n + n * n, it = 20;
    {   /* encoder */
        Buf out = buf_zero(BT * C), wte = buf_rand(V * C, -1, 1), wpe = buf_rand(T * C, -1, 1);
        IBuf tok = ibuf(BT, 0, V);
        K->encoder_forward(out.c, tok.c, wte.c, wpe.c, B, T, C);
        G->encoder_forward(out.d, tok.d, wte.d, wpe.d, B, T, C);
        same("encoder_forward", &out);
        Buf dwte = buf_rand(V * C, -1, 1), dwpe = buf_rand(T * C, -1, 1), dout = buf_rand(BT * C, -1, 1);
        K->encoder_backward(dwte.c, dwpe.c, dout.c, tok.c, B, T, C);
        G->encoder_backward(dwte.d, dwpe.d, dout.d, tok.d, B, T, C);
        same("encoder_backward.dwte", &dwte);
        same("encoder_backward.dwpe", &dwpe);
        /* 7 distinct tokens, so long runs: each token's rows are added in (b, t)
         * order on both sides (the device sorts positions by token), the same bits */
        IBuf few = ibuf(BT, 0, 7);
        K->encoder_backward(dwte.c, NULL, dout.c, few.c, B, T, C);
        G->encoder_backward(dwte.d, NULL, dout.d, few.d, B, T, C);
        float* h = malloc_check((size_t)V * C * sizeof(float));
        G->download(h, dwte.d, (size_t)V * C * sizeof(float));
        CHECK("kernel.encoder_backward.repeated_tokens_same_bits", !memcmp(h, dwte.c, (size_t)V * C * sizeof(float)),
              "the device's dwte differs from the CPU's bits");
        free(h);
        IBuf pos = ibuf(BT, 0, T);
        K->encoder_decode_forward(out.c, tok.c, pos.c, wte.c, wpe.c, BT, C);
        G->encoder_decode_forward(out.d, tok.d, pos.d, wte.d, wpe.d, BT, C);
        same("encoder_decode_forward", &out);
    }
    {   /* matmul, with and without bias; backward into non-zero gradients */
        Buf out = buf_zero(BT * OC), inp = buf_rand(BT * C, -1, 1), w = buf_rand(OC * C, -1, 1), b = buf_rand(OC, -1, 1);
        K->matmul_forward(out.c, inp.c, w.c, b.c, BT, C, OC);
        G->matmul_forward(out.d, inp.d, w.d, b.d, BT, C, OC);
        same("matmul_forward.bias", &out);
        K->matmul_forward(out.c, inp.c, w.c, NULL, BT, C, OC);
        G->matmul_forward(out.d, inp.d, w.d, NULL, BT, C, OC);
        same("matmul_forward.nobias", &out);
        /* a weight at an odd offset inside a bigger buffer, as parameters are */
        Buf big = buf_rand(OC * C + 7, -1, 1);
        K->matmul_forward(out.c, inp.c, big.c + 7, NULL, BT, C, OC);
        G->matmul_forward(out.d, inp.d, big.d + 7, NULL, BT, C, OC);
        same("matmul_forward.unaligned_weight", &out);
        /* the transposed weight (decoding's form), and the product on it */
        Buf wt = buf_zero(OC * C);
        K->transpose(wt.c, w.c, OC, C);
        G->transpose(wt.d, w.d, OC, C);
        float* h = malloc_check((size_t)OC * C * sizeof(float));
        G->download(h, wt.d, (size_t)OC * C * sizeof(float));
        CHECK("kernel.transpose.same_bits", !memcmp(h, wt.c, (size_t)OC * C * sizeof(float)), "the device's transpose differs");
        free(h);
        K->matmul_forward_t(out.c, inp.c, wt.c, b.c, BT, C, OC);
        G->matmul_forward_t(out.d, inp.d, wt.d, b.d, BT, C, OC);
        same("matmul_forward_t.bias", &out);
        K->matmul_forward_t(out.c, inp.c, wt.c, NULL, 3, C, OC);
        G->matmul_forward_t(out.d, inp.d, wt.d, NULL, 3, C, OC);
        same("matmul_forward_t.three_rows", &out);
        Buf dinp = buf_rand(BT * C, -1, 1), dw = buf_rand(OC * C, -1, 1), db = buf_rand(OC, -1, 1), dout = buf_rand(BT * OC, -1, 1);
        K->matmul_backward(dinp.c, dw.c, db.c, dout.c, inp.c, w.c, BT, C, OC, 1);
        G->matmul_backward(dinp.d, dw.d, db.d, dout.d, inp.d, w.d, BT, C, OC, 1);
        same("matmul_backward.dinp_accumulated", &dinp);
        same("matmul_backward.dweight", &dw);
        same("matmul_backward.dbias", &db);
        K->matmul_backward(dinp.c, NULL, NULL, dout.c, inp.c, w.c, BT, C, OC, 0);
        G->matmul_backward(dinp.d, NULL, NULL, dout.d, inp.d, w.d, BT, C, OC, 0);
        same("matmul_backward.dinp_overwritten", &dinp);
        K->matmul_backward(NULL, dw.c, NULL, dout.c, inp.c, w.c, BT, C, OC, 0);
        G->matmul_backward(NULL, dw.d, NULL, dout.d, inp.d, w.d, BT, C, OC, 0);
        same("matmul_backward.dweight_only", &dw);
        {   /* a bias gradient over more rows than the one-pass column sum takes */
            int R = 5000, O = 40;
            Buf dob = buf_rand((size_t)R * O, -1, 1), dbb = buf_rand(O, -1, 1);
            K->matmul_backward(NULL, NULL, dbb.c, dob.c, NULL, NULL, R, 8, O, 0);
            G->matmul_backward(NULL, NULL, dbb.d, dob.d, NULL, NULL, R, 8, O, 0);
            same("matmul_backward.dbias_5000_rows", &dbb);
        }
        /* matmul + GELU: with and without a bias, and with the pre-activation at an
         * odd offset (no epilogue for an unaligned aux: the separate kernels run) */
        Buf gout = buf_zero(BT * OC), gpre = buf_zero(BT * OC + 1);
        for (int v = 0; v < 3; v++) {
            const char* tag[3] = {"bias", "nobias", "unaligned"};
            float* pc = gpre.c + (v == 2);
            float* pd = gpre.d + (v == 2);
            K->matmul_gelu_forward(gout.c, pc, inp.c, w.c, v == 1 ? NULL : b.c, BT, C, OC);
            G->matmul_gelu_forward(gout.d, pd, inp.d, w.d, v == 1 ? NULL : b.d, BT, C, OC);
            char nm[96];
            snprintf(nm, sizeof nm, "matmul_gelu_forward.%s.out", tag[v]);
            same(nm, &gout);
            snprintf(nm, sizeof nm, "matmul_gelu_forward.%s.pre", tag[v]);
            same(nm, &gpre);
        }
        Buf pre = buf_rand(BT * C + 1, -3, 3), dpre = buf_rand(BT * C + 1, -1, 1);
        for (int v = 0; v < 2; v++) {
            K->matmul_backward_gelu(dpre.c + v, dw.c, db.c, dout.c, inp.c, w.c, pre.c + v, BT, C, OC);
            G->matmul_backward_gelu(dpre.d + v, dw.d, db.d, dout.d, inp.d, w.d, pre.d + v, BT, C, OC);
            same(v ? "matmul_backward_gelu.unaligned.dpre" : "matmul_backward_gelu.dpre", &dpre);
            same(v ? "matmul_backward_gelu.unaligned.dweight" : "matmul_backward_gelu.dweight", &dw);
            same(v ? "matmul_backward_gelu.unaligned.dbias" : "matmul_backward_gelu.dbias", &db);
        }
        buf_free(&big);
        buf_free(&wt);
    }
    {   /* layernorm, rmsnorm, gelu, residual */
        Buf out = buf_zero(BT * C), mean = buf_zero(BT), rstd = buf_zero(BT), inp = buf_rand(BT * C, -2, 2);
        Buf w = buf_rand(C, 0.5f, 1.5f), b = buf_rand(C, -1, 1);
        K->layernorm_forward(out.c, mean.c, rstd.c, inp.c, w.c, b.c, BT, C);
        G->layernorm_forward(out.d, mean.d, rstd.d, inp.d, w.d, b.d, BT, C);
        same("layernorm_forward.out", &out); same("layernorm_forward.mean", &mean); same("layernorm_forward.rstd", &rstd);
        Buf dinp = buf_rand(BT * C, -1, 1), dw = buf_rand(C, -1, 1), db = buf_rand(C, -1, 1), dout = buf_rand(BT * C, -1, 1);
        K->layernorm_backward(dinp.c, dw.c, db.c, dout.c, inp.c, w.c, mean.c, rstd.c, BT, C);
        G->layernorm_backward(dinp.d, dw.d, db.d, dout.d, inp.d, w.d, mean.d, rstd.d, BT, C);
        same("layernorm_backward.dinp", &dinp); same("layernorm_backward.dweight", &dw); same("layernorm_backward.dbias", &db);
        {   /* C not a multiple of 32, rows not a multiple of the backward's row blocks */
            int R = 45, C2 = 100;
            Buf o2 = buf_zero(R * C2), m2 = buf_zero(R), s2 = buf_zero(R), x2 = buf_rand(R * C2, -2, 2),
                w2 = buf_rand(C2, 0.5f, 1.5f), b2 = buf_rand(C2, -1, 1), di2 = buf_rand(R * C2, -1, 1),
                dw2 = buf_rand(C2, -1, 1), db2 = buf_rand(C2, -1, 1), do2 = buf_rand(R * C2, -1, 1);
            K->layernorm_forward(o2.c, m2.c, s2.c, x2.c, w2.c, b2.c, R, C2);
            G->layernorm_forward(o2.d, m2.d, s2.d, x2.d, w2.d, b2.d, R, C2);
            K->layernorm_backward(di2.c, dw2.c, db2.c, do2.c, x2.c, w2.c, m2.c, s2.c, R, C2);
            G->layernorm_backward(di2.d, dw2.d, db2.d, do2.d, x2.d, w2.d, m2.d, s2.d, R, C2);
            same("layernorm_backward_C100.dinp", &di2); same("layernorm_backward_C100.dweight", &dw2);
            same("layernorm_backward_C100.dbias", &db2);
        }
        K->rmsnorm_forward(out.c, rstd.c, inp.c, BT, C, 1e-6f);
        G->rmsnorm_forward(out.d, rstd.d, inp.d, BT, C, 1e-6f);
        same("rmsnorm_forward.out", &out); same("rmsnorm_forward.rms_inv", &rstd);
        K->rmsnorm_backward(dinp.c, dout.c, inp.c, rstd.c, BT, C);
        G->rmsnorm_backward(dinp.d, dout.d, inp.d, rstd.d, BT, C);
        same("rmsnorm_backward", &dinp);
        K->gelu_forward(out.c, inp.c, BT * C);
        G->gelu_forward(out.d, inp.d, BT * C);
        same("gelu_forward", &out);
        K->gelu_backward(dinp.c, inp.c, dout.c, BT * C);
        G->gelu_backward(dinp.d, inp.d, dout.d, BT * C);
        same("gelu_backward", &dinp);
        K->residual_forward(out.c, inp.c, dout.c, BT * C);
        G->residual_forward(out.d, inp.d, dout.d, BT * C);
        same("residual_forward", &out);
        K->residual_backward(dinp.c, out.c, dout.c, BT * C);
        G->residual_backward(dinp.d, out.d, dout.d, BT * C);
        same("residual_backward.da", &dinp); same("residual_backward.db", &out);
        /* fused residual + LayerNorm: the sum and the norm of it */
        Buf xo = buf_zero(BT * C), ln = buf_zero(BT * C), mean2 = buf_zero(BT), rstd2 = buf_zero(BT);
        K->residual_layernorm_forward(xo.c, ln.c, mean2.c, rstd2.c, inp.c, dout.c, w.c, b.c, BT, C);
        G->residual_layernorm_forward(xo.d, ln.d, mean2.d, rstd2.d, inp.d, dout.d, w.d, b.d, BT, C);
        same("residual_layernorm_forward.out", &xo); same("residual_layernorm_forward.ln", &ln);
        same("residual_layernorm_forward.mean", &mean2); same("residual_layernorm_forward.rstd", &rstd2);
    }
    {   /* attention (T = 33: not a multiple of any tile) */
        Buf out = buf_zero(BT * C), pre = buf_zero((size_t)B * NH * T * T), att = buf_zero((size_t)B * NH * T * T);
        Buf qkv = buf_rand(BT * 3 * C, -1, 1);
        K->attention_forward(out.c, pre.c, att.c, qkv.c, B, T, C, NH);
        G->attention_forward(out.d, pre.d, att.d, qkv.d, B, T, C, NH);
        same("attention_forward.out", &out); same("attention_forward.preatt", &pre); same("attention_forward.att", &att);
        Buf dqkv = buf_rand(BT * 3 * C, -1, 1), dpre = buf_rand((size_t)B * NH * T * T, -1, 1),
            datt = buf_rand((size_t)B * NH * T * T, -1, 1), dout = buf_rand(BT * C, -1, 1);
        K->attention_backward(dqkv.c, dpre.c, datt.c, dout.c, qkv.c, out.c, att.c, B, T, C, NH);
        G->attention_backward(dqkv.d, dpre.d, datt.d, dout.d, qkv.d, out.d, att.d, B, T, C, NH);
        same("attention_backward.dqkv", &dqkv);
        /* decoding: N sequences, each at its own position of a cache of Tc */
        int N = 5, Tc = 40;
        Buf kc = buf_rand((size_t)N * Tc * C, -1, 1), vc = buf_rand((size_t)N * Tc * C, -1, 1);
        Buf q1 = buf_rand((size_t)N * 3 * C, -1, 1), o1 = buf_zero((size_t)N * C);
        IBuf pos = ibuf(N, 0, Tc);
        K->attention_decode_forward(o1.c, kc.c, vc.c, q1.c, pos.c, N, Tc, C, NH);
        G->attention_decode_forward(o1.d, kc.d, vc.d, q1.d, pos.d, N, Tc, C, NH);
        same("attention_decode_forward.out", &o1); same("attention_decode_forward.kcache", &kc);
        same("attention_decode_forward.vcache", &vc);
        /* the prefill's copy of a batched qkv into the first P positions of each sequence */
        int P = 7;
        Buf qp = buf_rand((size_t)N * P * 3 * C, -1, 1);
        K->kv_fill(kc.c, vc.c, qp.c, N, P, Tc, C);
        G->kv_fill(kc.d, vc.d, qp.d, N, P, Tc, C);
        same("kv_fill.kcache", &kc); same("kv_fill.vcache", &vc);
    }
    {   /* fused softmax + cross-entropy, some positions ignored */
        Buf losses = buf_zero(BT), stats = buf_zero((size_t)BT * 2), logits = buf_rand((size_t)BT * V, -4, 4);
        IBuf tg = ibuf(BT, -1, V);
        K->crossentropy_softmax_forward(losses.c, stats.c, logits.c, tg.c, BT, V);
        G->crossentropy_softmax_forward(losses.d, stats.d, logits.d, tg.d, BT, V);
        same("crossentropy_softmax_forward.losses", &losses); same("crossentropy_softmax_forward.stats", &stats);
        Buf dl = buf_rand((size_t)BT * V, -1, 1), dloss = buf_rand(BT, -1, 1);   /* dl overwritten */
        K->crossentropy_softmax_backward(dl.c, dloss.c, logits.c, stats.c, tg.c, BT, V);
        G->crossentropy_softmax_backward(dl.d, dloss.d, logits.d, stats.d, tg.d, BT, V);
        same("crossentropy_softmax_backward", &dl);
        /* in place, as the model calls it: the logits become their gradient */
        K->crossentropy_softmax_backward(logits.c, dloss.c, logits.c, stats.c, tg.c, BT, V);
        G->crossentropy_softmax_backward(logits.d, dloss.d, logits.d, stats.d, tg.d, BT, V);
        same("crossentropy_softmax_backward.in_place", &logits);
    }
    {   /* sampling: the same draws give the same tokens (a flip needs a draw within
         * rounding of a CDF step: allow one in 64 rows) */
        int N = 64;
        Buf logits = buf_rand((size_t)N * V, -4, 4);
        double* u = malloc_check(N * sizeof(double));
        for (int i = 0; i < N; i++) u[i] = i % 9 == 4 ? -1.0 : rng_double(&R);
        double* du = G->alloc(N * sizeof(double));
        G->upload(du, u, N * sizeof(double));
        int *tc = malloc_check(N * sizeof(int)), *tg = malloc_check(N * sizeof(int)), *dt = G->alloc(N * sizeof(int));
        K->sample_rows(tc, logits.c, u, N, V, 1.0f / 0.7f);
        G->sample_rows(dt, logits.d, du, N, V, 1.0f / 0.7f);
        G->download(tg, dt, N * sizeof(int));
        int diff = 0, skipped_ok = 1;
        for (int i = 0; i < N; i++) {
            diff += tc[i] != tg[i];
            if (u[i] < 0 && (tc[i] != -1 || tg[i] != -1)) skipped_ok = 0;
        }
        CHECK("kernel.sample_rows", diff <= 1 && skipped_ok, "%d of %d rows differ, skipped rows ok %d", diff, N, skipped_ok);
        free(u); free(tc); free(tg); G->release(du); G->release(dt);
    }
    {   /* AdamW, vector helpers */
        long N = 10007;
        Buf p = buf_rand(N, -1, 1), g = buf_rand(N, -1, 1), m = buf_rand(N, -0.1f, 0.1f), v = buf_rand(N, 0, 0.01f);
        for (int t = 1; t <= 3; t++) {
            K->adamw_update(p.c, g.c, m.c, v.c, N, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
            G->adamw_update(p.d, g.d, m.d, v.d, N, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        }
        same("adamw_update.params", &p); same("adamw_update.m", &m); same("adamw_update.v", &v);
        {   /* one call over 1500 segments (more runs than one GPU table: the overflow path too),
             * an empty segment, equal neighbours; bitwise the per-tensor calls on the same device */
            enum { NS = 1500 };
            long* st = malloc_check((NS + 1) * sizeof(long));
            unsigned char* dc = malloc_check(NS);
            st[0] = 0;
            for (int s = 0; s < NS; s++) {
                st[s + 1] = st[s] + (s == 7 ? 0 : 1 + (s * 7) % 13);
                dc[s] = (s % 5 == 3) ? dc[s - 1] : (unsigned char)(s & 1);
            }
            long NT = st[NS];
            Buf p2 = buf_rand(NT, -1, 1), g2 = buf_rand(NT, -1, 1), m2 = buf_rand(NT, -0.1f, 0.1f), v2 = buf_rand(NT, 0, 0.01f);
            float* ref = G->alloc(4 * NT * sizeof(float));
            G->copy(ref, p2.d, NT * sizeof(float));
            G->copy(ref + NT, m2.d, NT * sizeof(float));
            G->copy(ref + 2 * NT, v2.d, NT * sizeof(float));
            for (int t = 1; t <= 2; t++) {
                K->adamw_update_segments(p2.c, g2.c, m2.c, v2.c, st, dc, NS, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
                G->adamw_update_segments(p2.d, g2.d, m2.d, v2.d, st, dc, NS, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
                for (int s = 0; s < NS; s++)
                    G->adamw_update(ref + st[s], g2.d + st[s], ref + NT + st[s], ref + 2 * NT + st[s], st[s + 1] - st[s],
                                    1e-3f, 0.9f, 0.95f, 1e-8f, dc[s] ? 0.1f : 0.0f, t);
            }
            same("adamw_update_segments.params", &p2); same("adamw_update_segments.m", &m2); same("adamw_update_segments.v", &v2);
            float *a = malloc_check(3 * NT * sizeof(float)), *b = malloc_check(3 * NT * sizeof(float));
            G->download(a, ref, 3 * NT * sizeof(float));
            G->download(b, p2.d, NT * sizeof(float));
            G->download(b + NT, m2.d, NT * sizeof(float));
            G->download(b + 2 * NT, v2.d, NT * sizeof(float));
            CHECK("kernel.adamw_update_segments.bitwise_per_tensor", !memcmp(a, b, 3 * NT * sizeof(float)), "differs");
            free(a); free(b); free(st); free(dc); G->release(ref);
            buf_free(&p2); buf_free(&g2); buf_free(&m2); buf_free(&v2);
        }
        K->axpy(p.c, 0.3f, g.c, N); G->axpy(p.d, 0.3f, g.d, N); same("axpy", &p);
        K->scale(p.c, -1.7f, N); G->scale(p.d, -1.7f, N); same("scale", &p);
        K->ema_update(p.c, g.c, N, 0.99f); G->ema_update(p.d, g.d, N, 0.99f); same("ema_update", &p);
        double a = K->sumsq(p.c, N), b = G->sumsq(p.d, N);
        CHECK("kernel.sumsq", fabs(a - b) <= 1e-9 * a, "cpu %.17g gpu %.17g", a, b);
    }
    {   /* mHC: Sinkhorn and the stream kernels */
        Buf H = buf_zero((size_t)BT * M), hres = buf_zero((size_t)BT * n * n), p = buf_rand((size_t)BT * M, -2, 2);
        Buf alpha = buf_rand(3, 0.01f, 1), bias = buf_rand(M, -1, 1);
        K->mhc_coeffs_forward(H.c, hres.c, p.c, alpha.c, bias.c, BT, n);
        G->mhc_coeffs_forward(H.d, hres.d, p.d, alpha.d, bias.d, BT, n);
        same("mhc_coeffs_forward.H", &H); same("mhc_coeffs_forward.hres", &hres);
        size_t sz = (size_t)SINKHORN_SAVED_FLOATS(n, it);
        Buf Hres = buf_zero((size_t)BT * n * n), saved = buf_zero(BT * sz);
        K->sinkhorn_forward(Hres.c, saved.c, hres.c, BT, n, it);
        G->sinkhorn_forward(Hres.d, saved.d, hres.d, BT, n, it);
        same("sinkhorn_forward.out", &Hres); same("sinkhorn_forward.saved", &saved);
        Buf dres = buf_rand((size_t)BT * n * n, -1, 1), gres = buf_rand((size_t)BT * n * n, -1, 1);
        K->sinkhorn_backward(dres.c, gres.c, saved.c, BT, n, it);
        G->sinkhorn_backward(dres.d, gres.d, saved.d, BT, n, it);
        same("sinkhorn_backward", &dres);
        Buf x = buf_rand((size_t)BT * n * C, -1, 1), u = buf_zero((size_t)BT * C), y = buf_rand((size_t)BT * C, -1, 1);
        K->mhc_pre_forward(u.c, H.c, Hres.c, x.c, BT, n, C);
        G->mhc_pre_forward(u.d, H.d, Hres.d, x.d, BT, n, C);
        same("mhc_pre_forward.u", &u); same("mhc_pre_forward.H", &H);
        Buf xo = buf_zero((size_t)BT * n * C);
        K->mhc_post_forward(xo.c, H.c, x.c, y.c, BT, n, C);
        G->mhc_post_forward(xo.d, H.d, x.d, y.d, BT, n, C);
        same("mhc_post_forward", &xo);
        Buf xo2 = buf_zero((size_t)BT * n * C), r2 = buf_zero((size_t)BT * n * C), rinv2 = buf_zero(BT);
        K->mhc_post_rmsnorm_forward(xo2.c, r2.c, rinv2.c, H.c, x.c, y.c, BT, n, C, 1e-6f);
        G->mhc_post_rmsnorm_forward(xo2.d, r2.d, rinv2.d, H.d, x.d, y.d, BT, n, C, 1e-6f);
        same("mhc_post_rmsnorm_forward.xout", &xo2); same("mhc_post_rmsnorm_forward.r", &r2);
        same("mhc_post_rmsnorm_forward.rms_inv", &rinv2);
        Buf dy = buf_zero((size_t)BT * C), dx = buf_zero((size_t)BT * n * C), dHpost = buf_zero((size_t)BT * n),
            dHres = buf_zero((size_t)BT * n * n), dxo = buf_rand((size_t)BT * n * C, -1, 1);
        K->mhc_post_backward(dy.c, dx.c, dHpost.c, dHres.c, dxo.c, H.c, x.c, y.c, BT, n, C);
        G->mhc_post_backward(dy.d, dx.d, dHpost.d, dHres.d, dxo.d, H.d, x.d, y.d, BT, n, C);
        same("mhc_post_backward.dy", &dy); same("mhc_post_backward.dx", &dx);
        same("mhc_post_backward.dHpost", &dHpost); same("mhc_post_backward.dHres", &dHres);
        Buf dHpre = buf_zero((size_t)BT * n), du = buf_rand((size_t)BT * C, -1, 1);
        K->mhc_pre_backward(dx.c, dHpre.c, du.c, H.c, x.c, BT, n, C);
        G->mhc_pre_backward(dx.d, dHpre.d, du.d, H.d, x.d, BT, n, C);
        same("mhc_pre_backward.dx", &dx); same("mhc_pre_backward.dHpre", &dHpre);
        Buf dp = buf_zero((size_t)BT * M), dalpha = buf_rand(3, -1, 1), dbias = buf_rand(M, -1, 1);
        K->mhc_coeffs_backward(dp.c, dalpha.c, dbias.c, dHpre.c, dHpost.c, dres.c, H.c, p.c, alpha.c, BT, n);
        G->mhc_coeffs_backward(dp.d, dalpha.d, dbias.d, dHpre.d, dHpost.d, dres.d, H.d, p.d, alpha.d, BT, n);
        same("mhc_coeffs_backward.dp", &dp); same("mhc_coeffs_backward.dalpha", &dalpha);
        same("mhc_coeffs_backward.dbias", &dbias);
        Buf s = buf_zero((size_t)BT * C);
        K->stream_sum(s.c, x.c, BT, n, C); G->stream_sum(s.d, x.d, BT, n, C); same("stream_sum", &s);
        K->stream_broadcast(x.c, s.c, BT, n, C); G->stream_broadcast(x.d, s.d, BT, n, C); same("stream_broadcast", &x);
        /* the mHC backward kernels at other stream counts (the CUDA backend's one-pass
         * kernels take n <= 4, wider n its two-kernel path); C not a multiple of a block */
        for (int n2 = 2; n2 <= 6; n2 += 4 - (n2 == 2)) {   /* 2, 5 (and 4 above) */
            int M2 = 2 * n2 + n2 * n2, C2 = 70;
            Buf H2 = buf_rand((size_t)BT * M2, 0, 1), x2 = buf_rand((size_t)BT * n2 * C2, -1, 1),
                y2 = buf_rand((size_t)BT * C2, -1, 1), g2 = buf_rand((size_t)BT * n2 * C2, -1, 1),
                dy2 = buf_zero((size_t)BT * C2), dx2 = buf_zero((size_t)BT * n2 * C2), dHp2 = buf_zero((size_t)BT * n2),
                dHr2 = buf_zero((size_t)BT * n2 * n2), du2 = buf_rand((size_t)BT * C2, -1, 1), dHq2 = buf_zero((size_t)BT * n2);
            K->mhc_post_backward(dy2.c, dx2.c, dHp2.c, dHr2.c, g2.c, H2.c, x2.c, y2.c, BT, n2, C2);
            G->mhc_post_backward(dy2.d, dx2.d, dHp2.d, dHr2.d, g2.d, H2.d, x2.d, y2.d, BT, n2, C2);
            K->mhc_pre_backward(dx2.c, dHq2.c, du2.c, H2.c, x2.c, BT, n2, C2);
            G->mhc_pre_backward(dx2.d, dHq2.d, du2.d, H2.d, x2.d, BT, n2, C2);
            char nm[96];
            snprintf(nm, sizeof nm, "mhc_post_backward_n%d.dy", n2); same(nm, &dy2);
            snprintf(nm, sizeof nm, "mhc_post_backward_n%d.dHpost", n2); same(nm, &dHp2);
            snprintf(nm, sizeof nm, "mhc_post_backward_n%d.dHres", n2); same(nm, &dHr2);
            snprintf(nm, sizeof nm, "mhc_pre_backward_n%d.dx", n2); same(nm, &dx2);
            snprintf(nm, sizeof nm, "mhc_pre_backward_n%d.dHpre", n2); same(nm, &dHq2);
        }
    }
}

/* ---- the model ---------------------------------------------------------- */

static void make_cfg(ModelConfig* c, int mhc) {
    char err[ERR_LEN];
    cfg_defaults(MODEL_OPTS, c, err);
    c->d_model = 64; c->n_layers = 2; c->n_heads = 4; c->vocab_size = 515; c->seq_len = 48;
    c->mhc = json_pack("{s:i}", "n", mhc);
    if (model_config_validate(c, "parity", err)) die(EXIT_FAIL, "%s", err);
}

/* ||gpu - cpu||_2 / max(||cpu||_2, floor): the bf16 measure. bf16 rounding gives
 * every tensor an absolute error of about the same size; a tensor whose gradient
 * mostly cancels (norm far below the others', e.g. an mHC bias behind Sinkhorn)
 * would show a large relative error that does not matter for training, so the
 * norm is floored at the RMS tensor norm of the whole gradient (g_floor). */
static double g_floor = 0;
static double norm_err(const float* cpu, const float* gpu, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)gpu[i] - cpu[i];
        d += e * e;
        r += (double)cpu[i] * cpu[i];
    }
    if (!(d == d)) return INFINITY;
    double scale = sqrt(r) > g_floor ? sqrt(r) : g_floor;
    return sqrt(d) / (scale > 1e-12 ? scale : 1e-12);
}
static int g_normwise = 0;   /* 1 in the bf16 checks */

/* Per-tensor gradient comparison; worst relative error returned. */
static double grads_err(Model* cpu, Model* gpu, const char* tag, double tol) {
    const float* gc = model_grads_host(cpu);
    const float* gg = model_grads_host(gpu);
    double worst = 0, all = 0;
    char nm[200];
    for (size_t i = 0; i < cpu->num_params; i++) all += (double)gc[i] * gc[i];
    g_floor = sqrt(all / cpu->ntensors);
    for (int i = 0; i < cpu->ntensors; i++) {
        const ParamInfo* p = &cpu->info[i];
        double e = g_normwise ? norm_err(gc + p->offset, gg + p->offset, p->numel)
                              : rel_err(gc + p->offset, gg + p->offset, p->numel);
        if (getenv("PARITY_VERBOSE")) {
            double nn = 0;
            for (size_t j = 0; j < p->numel; j++) nn += (double)gc[p->offset + j] * gc[p->offset + j];
            printf("INFO %s.grad.%s max-entry %.3g normwise %.3g norm %.3g\n", tag, p->name,
                   rel_err(gc + p->offset, gg + p->offset, p->numel), norm_err(gc + p->offset, gg + p->offset, p->numel),
                   sqrt(nn));
        }
        if (e > worst) worst = e;
        if (e > tol) { snprintf(nm, sizeof nm, "%s.grad.%s", tag, p->name); CHECK(nm, 0, "rel err %.3g > %.3g", e, tol); }
    }
    snprintf(nm, sizeof nm, "%s.grads_all_%d_tensors", tag, cpu->ntensors);
    CHECK(nm, worst <= tol, "worst rel err %.3g > %.3g", worst, tol);
    return worst;
}

/* Attention in bf16 (the CUDA backend's fused path where hs is 16, 32 or 64 and
 * T <= 1024; DD_CUDA_ATTENTION=materialised for the other): out and dqkv
 * normwise against the CPU's fp32, over shapes with partial tiles, several
 * query tiles and each head size; then bitwise determinism of a second run. */
static void attention_bf16_parity(void) {
    static const int shapes[][4] = {{2, 33, 32, 2}, {1, 100, 64, 2}, {1, 130, 128, 2}, {1, 200, 128, 2}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int B = shapes[s][0], T = shapes[s][1], C = shapes[s][2], NH = shapes[s][3], BT = B * T;
        size_t na = (size_t)B * NH * T * T;
        Buf qkv = buf_rand((size_t)BT * 3 * C, -2, 2), out = buf_zero((size_t)BT * C), pre = buf_zero(na),
            att = buf_zero(na), dpre = buf_zero(na), datt = buf_zero(na), dout = buf_rand((size_t)BT * C, -1, 1),
            dqkv = buf_rand((size_t)BT * 3 * C, -1, 1);
        K->attention_forward(out.c, pre.c, att.c, qkv.c, B, T, C, NH);
        G->attention_forward(out.d, pre.d, att.d, qkv.d, B, T, C, NH);
        K->attention_backward(dqkv.c, dpre.c, datt.c, dout.c, qkv.c, out.c, att.c, B, T, C, NH);
        G->attention_backward(dqkv.d, dpre.d, datt.d, dout.d, qkv.d, out.d, att.d, B, T, C, NH);
        float* g1 = malloc_check(((size_t)BT * 4 * C) * sizeof(float));
        G->download(g1, out.d, (size_t)BT * C * sizeof(float));
        G->download(g1 + (size_t)BT * C, dqkv.d, (size_t)BT * 3 * C * sizeof(float));
        char nm[160];
        double eo = norm_err(out.c, g1, (size_t)BT * C), ed = norm_err(dqkv.c, g1 + (size_t)BT * C, (size_t)BT * 3 * C);
        printf("INFO kernel.bf16.attention_B%d_T%d_hs%d: normwise err out %.3g dqkv %.3g\n", B, T, C / NH, eo, ed);
        snprintf(nm, sizeof nm, "kernel.bf16.attention_B%d_T%d_hs%d.out", B, T, C / NH);
        CHECK(nm, eo <= 2e-2, "normwise err %.3g > 2e-2", eo);
        snprintf(nm, sizeof nm, "kernel.bf16.attention_B%d_T%d_hs%d.dqkv", B, T, C / NH);
        CHECK(nm, ed <= 2e-2, "normwise err %.3g > 2e-2", ed);
        G->attention_forward(out.d, pre.d, att.d, qkv.d, B, T, C, NH);
        G->attention_backward(dqkv.d, dpre.d, datt.d, dout.d, qkv.d, out.d, att.d, B, T, C, NH);
        float* g2 = malloc_check(((size_t)BT * 4 * C) * sizeof(float));
        G->download(g2, out.d, (size_t)BT * C * sizeof(float));
        G->download(g2 + (size_t)BT * C, dqkv.d, (size_t)BT * 3 * C * sizeof(float));
        snprintf(nm, sizeof nm, "kernel.bf16.attention_B%d_T%d_hs%d.deterministic", B, T, C / NH);
        CHECK(nm, !memcmp(g1, g2, (size_t)BT * 4 * C * sizeof(float)), "a second run differs");
        free(g1); free(g2);
        Buf* all[] = {&qkv, &out, &pre, &att, &dpre, &datt, &dout, &dqkv};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) buf_free(all[i]);
    }
}

/* 3 sequences of x (rows of T): the first P positions prefilled, then decoded
 * one position at a time up to 12 on both models; the worst logits' error. */
static double decode_err(Model* mc, Model* mg, const int* x, int T, int P) {
    enum { N = 3, END = 12 };
    KVCache kc, kg;
    kv_init(&kc, mc, N, T);
    kv_init(&kg, mg, N, T);
    int pre[N * END];
    for (int i = 0; i < N; i++)
        for (int t = 0; t < P; t++) pre[i * P + t] = x[i * T + t];
    model_prefill(mc, &kc, pre, N, P);
    model_prefill(mg, &kg, pre, N, P);
    double worst = 0;
    for (int s = P; s < END; s++) {
        int tok[N], pos[N];
        for (int i = 0; i < N; i++) { tok[i] = x[i * T + s]; pos[i] = s; }
        model_decode(mc, &kc, tok, pos, N);
        model_decode(mg, &kg, tok, pos, N);
        double d = rel_err(model_logits(mc), model_logits(mg), (size_t)N * mc->V);
        if (d > worst) worst = d;
    }
    kv_free(&kc); kv_free(&kg);
    return worst;
}

static void model_parity(int mhc, double tol, double curve_tol, int bf16) {
    ModelConfig c;
    make_cfg(&c, mhc);
    Model mc, mg;
    ModelConfig c2 = c;
    c2.mhc = json_deep_copy(c.mhc);   /* each model owns (and frees) its config's JSON */
    model_build(&mc, &c, 7);
    model_build(&mg, &c2, 7);
    model_to_device(&mg, G);
    int B = 3, T = 40, BT = B * T;
    int *x = malloc_check(BT * sizeof(int)), *y = malloc_check(BT * sizeof(int));
    for (int i = 0; i < BT; i++) { x[i] = (int)rng_below(&R, 515); y[i] = i % 7 == 0 ? -1 : (int)rng_below(&R, 515); }
    char tag[64], nm[160];
    snprintf(tag, sizeof tag, "model.%s.mhc%d", bf16 ? "bf16" : "fp32", mhc);
    float lc = model_forward(&mc, x, y, B, T), lg = model_forward(&mg, x, y, B, T);
    snprintf(nm, sizeof nm, "%s.loss", tag);
    CHECK(nm, fabs(lc - lg) <= tol * fabs(lc), "cpu %.7f gpu %.7f", lc, lg);
    double e = rel_err(model_logits(&mc), model_logits(&mg), (size_t)BT * mc.V);
    snprintf(nm, sizeof nm, "%s.logits", tag);
    CHECK(nm, e <= tol, "rel err %.3g", e);
    model_zero_grad(&mc); model_zero_grad(&mg);
    model_backward(&mc, 1.0f); model_backward(&mg, 1.0f);
    g_normwise = bf16;
    grads_err(&mc, &mg, tag, bf16 ? 5e-2 : tol * 10);
    /* Determinism: the same step again gives the same bits. */
    float* g1 = malloc_check(mg.num_params * sizeof(float));
    memcpy(g1, model_grads_host(&mg), mg.num_params * sizeof(float));
    model_zero_grad(&mg);
    float lg2 = model_forward(&mg, x, y, B, T);
    model_backward(&mg, 1.0f);
    snprintf(nm, sizeof nm, "%s.deterministic", tag);
    CHECK(nm, lg2 == lg && !memcmp(g1, model_grads_host(&mg), mg.num_params * sizeof(float)), "a second identical step differs");
    /* With CUDA graphs the first step ran directly, the second was recorded, the
     * third replays the recordings: all the same bits. */
    model_zero_grad(&mg);
    float lg3 = model_forward(&mg, x, y, B, T);
    model_backward(&mg, 1.0f);
    snprintf(nm, sizeof nm, "%s.graph_replay_same_bits", tag);
    CHECK(nm, lg3 == lg && !memcmp(g1, model_grads_host(&mg), mg.num_params * sizeof(float)) &&
              (!G->graph_begin || model_graphs_held(&mg) == 2),
          "a replayed step differs, or %d graphs held (2 expected)", model_graphs_held(&mg));
    free(g1);
    /* Decoding with the KV cache: every step's logits, from position 0 and after
     * a prefill of the first 8 positions. */
    snprintf(nm, sizeof nm, "%s.decode_logits", tag);
    double de = decode_err(&mc, &mg, x, T, 0);
    CHECK(nm, de <= tol, "rel err %.3g", de);
    snprintf(nm, sizeof nm, "%s.prefill_decode_logits", tag);
    de = decode_err(&mc, &mg, x, T, 8);
    CHECK(nm, de <= tol, "rel err %.3g", de);
    /* LoRA on: adapter gradients with the base frozen. */
    Lora *lc_ = lora_new(&mc, 4, 8, 3), *lg_ = lora_new(&mg, 4, 8, 3);
    for (size_t i = 0; i < lc_->num_params; i++) lc_->hparams[i] = 0.05f * (float)rng_normal(&R);   /* B != 0 */
    memcpy(lg_->hparams, lc_->hparams, lc_->num_params * sizeof(float));
    lora_params_changed(lc_); lora_params_changed(lg_);
    mc.lora = lc_; mg.lora = lg_; mc.train_base = mg.train_base = 0;
    model_forward(&mc, x, y, B, T); model_forward(&mg, x, y, B, T);
    lora_zero_grad(lc_); lora_zero_grad(lg_);
    model_backward(&mc, 1.0f); model_backward(&mg, 1.0f);
    float* lgg = malloc_check(lg_->num_params * sizeof(float));
    G->download(lgg, lg_->grads, lg_->num_params * sizeof(float));
    e = rel_err(lc_->grads, lgg, lc_->num_params);
    snprintf(nm, sizeof nm, "%s.lora_grads", tag);
    CHECK(nm, e <= tol * 10, "rel err %.3g", e);
    free(lgg);
    mc.lora = mg.lora = NULL; mc.train_base = mg.train_base = 1;
    lora_free(lc_); lora_free(lg_);
    /* CURVE_STEPS (100) AdamW steps over 4 fixed batches: the loss curves must agree. */
    model_reinit(&mc, 11); model_reinit(&mg, 11);
    float *moc = K->alloc(mc.num_params * 4), *voc = K->alloc(mc.num_params * 4);
    float *mog = G->alloc(mg.num_params * 4), *vog = G->alloc(mg.num_params * 4);
    OptimCfg oc = {3e-3, 0.1, 0.9, 0.95, 1e-8, 0.1, 1.0, 10, CURVE_STEPS};
    int* data = malloc_check(4 * BT * 2 * sizeof(int));
    for (int i = 0; i < 4 * BT * 2; i++) data[i] = (int)rng_below(&R, 64);   /* a small alphabet: learnable */
    double worst = 0, first = 0, last = 0;
    for (long step = 0; step < CURVE_STEPS; step++) {
        const int* bx = data + (step % 4) * 2 * BT;
        model_zero_grad(&mc); model_zero_grad(&mg);
        float a = model_forward(&mc, bx, bx + BT, B, T), b = model_forward(&mg, bx, bx + BT, B, T);
        model_backward(&mc, 1.0f); model_backward(&mg, 1.0f);
        double lr = lr_at(&oc, step);
        optim_step(&oc, &mc, moc, voc, step + 1, lr);
        optim_step(&oc, &mg, mog, vog, step + 1, lr);
        double d = fabs(a - b) / fabs(a);
        if (d > worst) worst = d;
        if (step == 0) first = a;
        last = a;
    }
    snprintf(nm, sizeof nm, "%s.loss_curve_%ld_steps", tag, CURVE_STEPS);
    CHECK(nm, worst <= curve_tol && last < first, "worst rel diff %.3g (tol %.3g), loss %.4f -> %.4f", worst, curve_tol, first, last);
    printf("INFO %s: %ld-step curve worst rel diff %.3g, cpu loss %.4f -> %.4f\n", tag, CURVE_STEPS, worst, first, last);
    K->release(moc); K->release(voc); G->release(mog); G->release(vog);
    free(x); free(y); free(data);
    model_free(&mc); model_free(&mg);
}

int main(int argc, char** argv) {
    const char *which = "both", *device = "cuda";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--precision")) which = argv[i + 1];
        else if (!strcmp(argv[i], "--device")) device = argv[i + 1];
        else if (!strcmp(argv[i], "--curve_steps")) CURVE_STEPS = atol(argv[i + 1]);
        else { fprintf(stderr, "parity: unknown flag %s\n", argv[i]); return 2; }
    }
    /* --device cpu-guarded checks this program itself on any machine: the same
     * kernels on both sides, so every comparison must pass (fp32 only). */
    if (strcmp(device, "cuda")) which = "fp32";
    char err[256];
    rng_seed(&R, 2024);
    if (!strcmp(which, "fp32") || !strcmp(which, "both")) {
        G = kernels_get(device, "fp32", err, sizeof err);
        if (!G) { printf("FAIL cuda_available: %s\n", err); return 1; }
        kernel_parity();
        model_parity(0, 1e-4, 1e-3, 0);
        model_parity(4, 1e-4, 1e-3, 0);
    }
    if (!strcmp(which, "bf16") || !strcmp(which, "both")) {
        /* bf16 products: inputs rounded to 8 mantissa bits, so ~0.4% per product. */
        G = kernels_get(device, "bf16", err, sizeof err);
        if (!G) { printf("FAIL cuda_available: %s\n", err); return 1; }
        g_floor = 0;
        attention_bf16_parity();
        model_parity(0, 2e-2, 5e-2, 1);
        model_parity(4, 2e-2, 5e-2, 1);
    }
    return check_status();
}
