/* kernels_cpu: the CPU backend of kernels.h.
 *
 * Matrix products go to OpenBLAS (cblas_sgemm, the OpenMP build, so its
 * threads and ours share one pool), decoding's on pre-transposed weights to
 * libxsmm (matmul_forward_t); everything else is plain loops with
 * OpenMP. Reductions over rows (dbias, dweight of the norms, dwte, the keys
 * and values of attention) are parallel over *output* columns/heads with a
 * fixed serial order inside, so results do not depend on the thread count.
 * Semantics and shapes are documented in kernels.h. */
#include "kernels.h"
#include "sinkhorn_impl.h"
#include "util.h"

#include <cblas.h>
#include <libxsmm.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Column block for the row reductions: wide enough for the vector units,
 * narrow enough to give every thread work at C = 128. */
#define COLBLOCK 32
/* Below this much work an OpenMP region costs more than it saves. */
#define PAR_MIN 4096

static inline int imin(int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------------------------ */
/* deterministic sgemm */

/* OpenBLAS's threaded sgemm does not give bitwise-equal results for different
 * thread counts. So we tile C (row-major, M x N) into blocks whose layout
 * depends only on the shapes, and run one single-threaded sgemm per block
 * from an OpenMP loop (OpenBLAS's OpenMP build stays single-threaded inside a
 * parallel region). Each element then has the same reduction order whatever
 * the thread count. Tiles are big enough that packing costs stay small. */
#define GEMM_MB 64
#define GEMM_NB 256
static void sgemm_det(int transA, int transB, int M, int N, int K, float alpha,
                      const float* A, int lda, const float* Bm, int ldb, float beta,
                      float* Cm, int ldc) {
    int mb = M >= 2 * GEMM_MB ? GEMM_MB : M;
    int nb = M >= 2 * GEMM_MB ? N : (N >= 2 * GEMM_NB ? GEMM_NB : N);
    if (mb <= 0 || nb <= 0) return;
    int mt = (M + mb - 1) / mb, nt = (N + nb - 1) / nb;
    enum CBLAS_TRANSPOSE ta = transA ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = transB ? CblasTrans : CblasNoTrans;
    /* Always a parallel region, even for one tile: inside one, OpenBLAS runs
     * single-threaded, so a small product is as deterministic as a big one. */
    #pragma omp parallel for schedule(dynamic, 1)
    for (int tile = 0; tile < mt * nt; tile++) {
        int i0 = (tile / nt) * mb, j0 = (tile % nt) * nb;
        int m = imin(mb, M - i0), n = imin(nb, N - j0);
        const float* a = transA ? A + i0 : A + (long)i0 * lda;
        const float* b = transB ? Bm + (long)j0 * ldb : Bm + j0;
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, K, alpha, a, lda, b, ldb, beta,
                    Cm + (long)i0 * ldc + j0, ldc);
    }
}

/* ------------------------------------------------------------------------ */
/* products on a transposed weight (decoding): libxsmm */

/* out (BT, OC) = inp (BT, C) @ weight_t (C, OC): in libxsmm's column-major terms
 * out^T (OC x BT) = weight_t^T (OC x C, leading dimension OC) @ inp^T (C x BT), each
 * operand read where it lies, no packing. out is cut into blocks of XS_BT rows by
 * XS_OC columns whose layout depends only on the shapes, one JIT kernel call per
 * block over all of C, so each element's sum runs in the same order whatever the
 * thread count. A block whose kernel libxsmm cannot generate here (no JIT for this
 * CPU) is one cblas_sgemm of the same block. */
#define XS_OC 64
#define XS_BT 64

void matmul_forward_t(float* out, const float* inp, const float* weight_t, const float* bias,
                      int BT, int C, int OC) {
    int nb_oc = (OC + XS_OC - 1) / XS_OC, nb_bt = (BT + XS_BT - 1) / XS_BT;
    #pragma omp parallel for schedule(static) if ((long)BT * C * OC > 65536L)
    for (int blk = 0; blk < nb_oc * nb_bt; blk++) {
        int j0 = (blk % nb_oc) * XS_OC, i0 = (blk / nb_oc) * XS_BT;
        int m = imin(XS_OC, OC - j0), n = imin(XS_BT, BT - i0);
        float* o = out + (long)i0 * OC + j0;
        const float one = 1.0f, zero = 0.0f;
        const int flags = LIBXSMM_GEMM_FLAG_NONE;
        const libxsmm_blasint lda = OC, ldb = C, ldc = OC;
        libxsmm_smmfunction f = C > 0 ? libxsmm_smmdispatch(m, n, C, &lda, &ldb, &ldc, &one, &zero, &flags, NULL) : NULL;
        if (f) f(weight_t + j0, inp + (long)i0 * C, o);
        else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m, C, 1.0f, inp + (long)i0 * C, C, weight_t + j0, OC,
                         0.0f, o, OC);
        if (bias)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < m; j++) o[(long)i * OC + j] += bias[j0 + j];
    }
}

void transpose(float* dst, const float* src, int rows, int cols) {
    /* 32 x 32 tiles: both sides read and written a cache line at a time */
    #pragma omp parallel for collapse(2) schedule(static) if ((long)rows * cols > 65536L)
    for (int r0 = 0; r0 < rows; r0 += 32)
        for (int c0 = 0; c0 < cols; c0 += 32)
            for (int c = c0; c < imin(c0 + 32, cols); c++)
                for (int r = r0; r < imin(r0 + 32, rows); r++) dst[(long)c * rows + r] = src[(long)r * cols + c];
}

/* ------------------------------------------------------------------------ */
/* encoder */

void encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe,
                     int B, int T, int C) {
    #pragma omp parallel for collapse(2) if ((long)B * T * C > PAR_MIN)
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            float* o = out + ((long)b * T + t) * C;
            const float* e = wte + (long)tokens[b * T + t] * C;
            const float* p = wpe + (long)t * C;
            for (int i = 0; i < C; i++) o[i] = e[i] + p[i];
        }
    }
}

void encoder_backward(float* dwte, float* dwpe, const float* dout, const int* tokens,
                      int B, int T, int C) {
    /* Threads own column blocks; rows are visited in (b, t) order, so
     * repeated tokens accumulate in a fixed order. */
    #pragma omp parallel for schedule(static) if ((long)B * T * C > PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += COLBLOCK) {
        int c1 = imin(c0 + COLBLOCK, C);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                const float* d = dout + ((long)b * T + t) * C;
                float* dw = dwte + (long)tokens[b * T + t] * C;
                for (int i = c0; i < c1; i++) dw[i] += d[i];
                if (dwpe) {
                    float* dp = dwpe + (long)t * C;
                    for (int i = c0; i < c1; i++) dp[i] += d[i];
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* matmul */

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias,
                    int BT, int C, int OC) {
    /* out (BT,OC) = inp (BT,C) @ weight^T (C,OC) */
    sgemm_det(0, 1, BT, OC, C, 1.0f, inp, C, weight, C, 0.0f, out, OC);
    if (bias) {
        #pragma omp parallel for if ((long)BT * OC > PAR_MIN)
        for (int i = 0; i < BT; i++) {
            float* o = out + (long)i * OC;
            for (int j = 0; j < OC; j++) o[j] += bias[j];
        }
    }
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                     const float* inp, const float* weight, int BT, int C, int OC, int dinp_acc) {
    /* dinp (BT,C) (+)= dout (BT,OC) @ weight (OC,C) */
    if (dinp)
        sgemm_det(0, 0, BT, C, OC, 1.0f, dout, OC, weight, C, dinp_acc ? 1.0f : 0.0f, dinp, C);
    /* dweight (OC,C) += dout^T (OC,BT) @ inp (BT,C) */
    if (dweight)
        sgemm_det(1, 0, OC, C, BT, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    if (dbias) {
        #pragma omp parallel for schedule(static) if ((long)BT * OC > PAR_MIN)
        for (int o0 = 0; o0 < OC; o0 += COLBLOCK) {
            int o1 = imin(o0 + COLBLOCK, OC);
            float acc[COLBLOCK] = {0};
            for (int i = 0; i < BT; i++) {
                const float* d = dout + (long)i * OC;
                for (int o = o0; o < o1; o++) acc[o - o0] += d[o];
            }
            for (int o = o0; o < o1; o++) dbias[o] += acc[o - o0];
        }
    }
}

/* ------------------------------------------------------------------------ */
/* layernorm */

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                       const float* weight, const float* bias, int BT, int C) {
    const float eps = 1e-5f;
    #pragma omp parallel for if ((long)BT * C > PAR_MIN)
    for (int i = 0; i < BT; i++) {
        const float* x = inp + (long)i * C;
        float m = 0.0f;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        float v = 0.0f;
        for (int c = 0; c < C; c++) { float d = x[c] - m; v += d * d; }
        v /= C;
        float s = 1.0f / sqrtf(v + eps);
        float* o = out + (long)i * C;
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * weight[c] + bias[c];
        mean[i] = m;
        rstd[i] = s;
    }
}

void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean,
                        const float* rstd, int BT, int C) {
    /* dinp: rows are independent. */
    #pragma omp parallel for if ((long)BT * C > PAR_MIN)
    for (int i = 0; i < BT; i++) {
        const float* x = inp + (long)i * C;
        const float* d = dout + (long)i * C;
        float m = mean[i], s = rstd[i];
        float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * s;
            float dnorm = weight[c] * d[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * norm;
        }
        dnorm_mean /= C;
        dnorm_norm_mean /= C;
        float* di = dinp + (long)i * C;
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * s;
            float dnorm = weight[c] * d[c];
            di[c] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
        }
    }
    /* dweight, dbias: sums over rows, threads own column blocks. */
    #pragma omp parallel for schedule(static) if ((long)BT * C > PAR_MIN)
    for (int c0 = 0; c0 < C; c0 += COLBLOCK) {
        int c1 = imin(c0 + COLBLOCK, C);
        float aw[COLBLOCK] = {0}, ab[COLBLOCK] = {0};
        for (int i = 0; i < BT; i++) {
            const float* x = inp + (long)i * C;
            const float* d = dout + (long)i * C;
            float m = mean[i], s = rstd[i];
            for (int c = c0; c < c1; c++) {
                aw[c - c0] += (x[c] - m) * s * d[c];
                ab[c - c0] += d[c];
            }
        }
        for (int c = c0; c < c1; c++) { dweight[c] += aw[c - c0]; dbias[c] += ab[c - c0]; }
    }
}

/* ------------------------------------------------------------------------ */
/* rmsnorm (no gain) */

void rmsnorm_forward(float* out, float* rms_inv, const float* inp, int BT, int C, float eps) {
    #pragma omp parallel for if ((long)BT * C > PAR_MIN)
    for (int i = 0; i < BT; i++) {
        const float* x = inp + (long)i * C;
        float ss = 0.0f;
        for (int c = 0; c < C; c++) ss += x[c] * x[c];
        float r = 1.0f / sqrtf(ss / C + eps);
        float* o = out + (long)i * C;
        for (int c = 0; c < C; c++) o[c] = x[c] * r;
        rms_inv[i] = r;
    }
}

void rmsnorm_backward(float* dinp, const float* dout, const float* inp, const float* rms_inv,
                      int BT, int C) {
    /* y = x r, r = (mean(x^2)+eps)^-1/2  =>  dx = r dy - x r^3 <dy,x> / C */
    #pragma omp parallel for if ((long)BT * C > PAR_MIN)
    for (int i = 0; i < BT; i++) {
        const float* x = inp + (long)i * C;
        const float* d = dout + (long)i * C;
        float r = rms_inv[i];
        float dot = 0.0f;
        for (int c = 0; c < C; c++) dot += d[c] * x[c];
        float k = r * r * r * dot / C;
        float* di = dinp + (long)i * C;
        for (int c = 0; c < C; c++) di[c] += r * d[c] - k * x[c];
    }
}

/* ------------------------------------------------------------------------ */
/* GELU (tanh approximation) */

#define GELU_SCALING_FACTOR 0.7978845608028654f /* sqrt(2/pi) */

/* exp for float, vectorisable (no libm call): Cephes' expf polynomial after
 * range reduction by ln 2 (Cody-Waite split), 2^n through the exponent bits.
 * Within ~2 ulp of expf over the clamped range [-87.3, 88.3]. */
static inline float exp_vec(float x) {
    x = x > 88.3f ? 88.3f : x;
    x = x < -87.3f ? -87.3f : x;
    float fn = x * 1.44269504088896341f;
    fn = copysignf(floorf(fabsf(fn) + 0.5f), fn);   /* = (int)(fn +- 0.5f): half away from zero, branch-free (loops vectorize) */
    float r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)fn + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh(z) = 1 - 2 / (exp(2z) + 1), vectorisable, where tanhf stays scalar. */
static inline float tanh_fast(float z) {
    z = z > 15.0f ? 15.0f : z;   /* tanh(15) == 1 in fp32; two selects, not nested: the loops vectorize */
    z = z < -15.0f ? -15.0f : z;
    return 1.0f - 2.0f / (exp_vec(2.0f * z) + 1.0f);
}

/* The elementwise loops are plain loops over restrict pointers, which GCC vectorizes;
 * OpenMP splits the range into one contiguous chunk per thread around them (an
 * `omp parallel for simd` of the same loop ran scalar). Each element's result is the same
 * whatever the split. */
/* Compiled for AVX-512, AVX2, SSE4.1 and baseline x86-64, chosen at load time: the same
 * operations lane by lane (no FMA contraction in ISO C mode), so the same bits on each. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ELEMENTWISE __attribute__((target_clones("avx512f", "avx2", "sse4.1", "default")))
#else
#define ELEMENTWISE
#endif

ELEMENTWISE static void gelu_range(float* restrict out, const float* restrict inp, long n) {
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float cube = 0.044715f * x * x * x;
        out[i] = 0.5f * x * (1.0f + tanh_fast(GELU_SCALING_FACTOR * (x + cube)));
    }
}

ELEMENTWISE static void gelu_backward_range(float* restrict dinp, const float* restrict inp, const float* restrict dout, long n) {
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float cube = 0.044715f * x * x * x;
        float th = tanh_fast(GELU_SCALING_FACTOR * (x + cube));
        float sech2 = 1.0f - th * th;
        float local = 0.5f * (1.0f + th)
                    + 0.5f * x * sech2 * GELU_SCALING_FACTOR * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = local * dout[i];
    }
}

/* [lo, hi) of chunk c of n elements in nc chunks, on 16-element boundaries. */
static void chunk(long n, int c, int nc, long* lo, long* hi) {
    long per = (n + nc - 1) / nc;
    per = (per + 15) / 16 * 16;
    *lo = (long)c * per < n ? (long)c * per : n;
    *hi = *lo + per < n ? *lo + per : n;
}

void gelu_forward(float* out, const float* inp, int N) {
    int nc = N > PAR_MIN ? omp_get_max_threads() : 1;
    #pragma omp parallel for schedule(static) if (nc > 1)
    for (int c = 0; c < nc; c++) {
        long lo, hi;
        chunk(N, c, nc, &lo, &hi);
        gelu_range(out + lo, inp + lo, hi - lo);
    }
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int N) {
    int nc = N > PAR_MIN ? omp_get_max_threads() : 1;
    #pragma omp parallel for schedule(static) if (nc > 1)
    for (int c = 0; c < nc; c++) {
        long lo, hi;
        chunk(N, c, nc, &lo, &hi);
        gelu_backward_range(dinp + lo, inp + lo, dout + lo, hi - lo);
    }
}

void matmul_gelu_forward(float* out, float* pre, const float* inp, const float* weight, const float* bias, int BT,
                         int C, int OC) {
    matmul_forward(pre, inp, weight, bias, BT, C, OC);
    gelu_forward(out, pre, BT * OC);
}

void matmul_backward_gelu(float* dpre, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, const float* pre, int BT, int C, int OC) {
    matmul_backward(dpre, dweight, dbias, dout, inp, weight, BT, C, OC, 0);
    gelu_backward(dpre, pre, dpre, BT * C);
}

/* ------------------------------------------------------------------------ */
/* causal self-attention */

/* One (batch, head) pair at a time, each a handful of single-threaded sgemm
 * calls from one OpenMP loop: the pairs touch disjoint memory, so results do
 * not depend on the thread count. The causal mask is applied after the full
 * T x T product (the wasted upper half is cheaper than scalar loops). */
static void softmax_causal_rows(float* pre, float* a, int T) {
    for (int t = 0; t < T; t++) {
        float* p = pre + (long)t * T;
        float* r = a + (long)t * T;
        float maxval = -INFINITY;
        for (int t2 = 0; t2 <= t; t2++) maxval = p[t2] > maxval ? p[t2] : maxval;
        float sum = 0.0f;
        #pragma omp simd reduction(+ : sum)
        for (int t2 = 0; t2 <= t; t2++) {
            float e = exp_vec(p[t2] - maxval);
            r[t2] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        for (int t2 = 0; t2 <= t; t2++) r[t2] *= inv;
        for (int t2 = t + 1; t2 < T; t2++) { r[t2] = 0.0f; p[t2] = 0.0f; }
    }
}

void attention_forward(float* out, float* preatt, float* att, const float* qkv,
                       int B, int T, int C, int NH) {
    int C3 = 3 * C, hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    #pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const float* q = qkv + (long)b * T * C3 + h * hs;
        const float* k = q + C;
        const float* v = q + 2 * C;
        float* pre = preatt + (long)bh * T * T;
        float* a = att + (long)bh * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q, C3, k, C3, 0.0f, pre, T);
        softmax_causal_rows(pre, a, T);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, a, T, v, C3, 0.0f,
                    out + (long)b * T * C + h * hs, C);
    }
}

void attention_backward(float* dqkv, float* dpreatt, float* datt, const float* dout,
                        const float* qkv, const float* out, const float* att, int B, int T, int C, int NH) {
    (void)out;   /* the probabilities are stored: out is not needed here */
    int C3 = 3 * C, hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
    #pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const float* q = qkv + (long)b * T * C3 + h * hs;
        const float* k = q + C;
        const float* v = q + 2 * C;
        float* dq = dqkv + (long)b * T * C3 + h * hs;
        float* dk = dq + C;
        float* dv = dq + 2 * C;
        const float* d = dout + (long)b * T * C + h * hs;
        const float* a = att + (long)bh * T * T;
        float* da = datt + (long)bh * T * T;
        float* dp = dpreatt + (long)bh * T * T;
        /* datt = dout V^T; softmax backward row by row (masked entries are 0). */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, d, C, v, C3, 0.0f, da, T);
        for (int t = 0; t < T; t++) {
            const float* ar = a + (long)t * T;
            float* dar = da + (long)t * T;
            float* dpr = dp + (long)t * T;
            float s = 0.0f;
            for (int t2 = 0; t2 <= t; t2++) s += ar[t2] * dar[t2];
            for (int t2 = 0; t2 <= t; t2++) dpr[t2] = ar[t2] * (dar[t2] - s);
            for (int t2 = t + 1; t2 < T; t2++) { dar[t2] = 0.0f; dpr[t2] = 0.0f; }
        }
        /* dq, dk, dv: each this head's slice of dqkv, written whole (beta 0) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, scale, dp, T, k, C3, 0.0f, dq, C3);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, scale, dp, T, q, C3, 0.0f, dk, C3);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, a, T, d, C, 0.0f, dv, C3);
    }
}

/* ------------------------------------------------------------------------ */
/* residual */

void residual_forward(float* out, const float* a, const float* b, int N) {
    #pragma omp parallel for if (N > PAR_MIN)
    for (int i = 0; i < N; i++) out[i] = a[i] + b[i];
}

void residual_layernorm_forward(float* out, float* ln, float* mean, float* rstd, const float* a, const float* b,
                                const float* weight, const float* bias, int BT, int C) {
    residual_forward(out, a, b, BT * C);
    layernorm_forward(ln, mean, rstd, out, weight, bias, BT, C);
}

void mhc_post_rmsnorm_forward(float* xout, float* r, float* rms_inv, const float* H, const float* x, const float* y,
                              int BT, int n, int C, float eps) {
    mhc_post_forward(xout, H, x, y, BT, n, C);
    rmsnorm_forward(r, rms_inv, xout, BT, n * C, eps);
}

void residual_backward(float* da, float* db, const float* dout, int N) {
    #pragma omp parallel for if (N > PAR_MIN)
    for (int i = 0; i < N; i++) { da[i] += dout[i]; db[i] += dout[i]; }
}

/* ------------------------------------------------------------------------ */
/* fused softmax + cross-entropy */

void crossentropy_softmax_forward(float* losses, float* stats, const float* logits,
                                  const int* targets, int BT, int V) {
    #pragma omp parallel for if ((long)BT * V > PAR_MIN)
    for (int i = 0; i < BT; i++) {
        const float* x = logits + (long)i * V;
        float maxval = -INFINITY;
        for (int v = 0; v < V; v++) if (x[v] > maxval) maxval = x[v];
        float sum = 0.0f;
        for (int v = 0; v < V; v++) sum += expf(x[v] - maxval);
        stats[2 * i] = maxval;
        stats[2 * i + 1] = 1.0f / sum;
        int tg = targets[i];
        /* log-sum-exp form: exact even where p[target] underflows */
        losses[i] = tg >= 0 ? logf(sum) - (x[tg] - maxval) : 0.0f;
    }
}

void crossentropy_softmax_backward(float* dlogits, const float* dlosses, const float* logits,
                                   const float* stats, const int* targets, int BT, int V) {
    #pragma omp parallel for if ((long)BT * V > PAR_MIN)
    for (int i = 0; i < BT; i++) {
        int tg = targets[i];
        const float* x = logits + (long)i * V;
        float* dl = dlogits + (long)i * V;
        if (tg < 0) { memset(dl, 0, (size_t)V * sizeof(float)); continue; }
        float maxval = stats[2 * i], inv = stats[2 * i + 1], d = dlosses[i];
        for (int v = 0; v < V; v++) dl[v] = (expf(x[v] - maxval) * inv - (v == tg ? 1.0f : 0.0f)) * d;
    }
}

/* ------------------------------------------------------------------------ */
/* AdamW */

void adamw_update(float* params, const float* grads, float* m, float* v, long N, float lr,
                  float beta1, float beta2, float eps, float weight_decay, int t) {
    /* Scalars in double, as torch computes them in Python. */
    double bc1 = 1.0 - pow(beta1, t), bc2 = 1.0 - pow(beta2, t);
    float step_size = (float)(lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float decay = 1.0f - lr * weight_decay;
    #pragma omp parallel for if (N > PAR_MIN)
    for (long i = 0; i < N; i++) {
        float g = grads[i];
        float mi = m[i] * beta1 + g * (1.0f - beta1);
        float vi = v[i] * beta2 + g * g * (1.0f - beta2);
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        params[i] = params[i] * decay - step_size * mi / denom;
    }
}

void adamw_update_segments(float* params, const float* grads, float* m, float* v, const long* seg_start,
                           const unsigned char* seg_decay, int nseg, float lr, float beta1, float beta2,
                           float eps, float weight_decay, int t) {
    for (int s = 0; s < nseg; s++) {
        long a = seg_start[s], n = seg_start[s + 1] - a;
        adamw_update(params + a, grads + a, m + a, v + a, n, lr, beta1, beta2, eps, seg_decay[s] ? weight_decay : 0.0f, t);
    }
}

/* ------------------------------------------------------------------------ */
/* Sinkhorn-Knopp */

/* The per-matrix math is kernels/sinkhorn_impl.h, shared with the CUDA kernels. */
void sinkhorn_forward(float* out, float* saved, const float* logits, int N, int n, int iters) {
    long nn = (long)n * n, SZ = SINKHORN_SAVED_FLOATS(n, iters);
    #pragma omp parallel for if (N * SZ > PAR_MIN)
    for (int idx = 0; idx < N; idx++) sinkhorn_one_forward(out + idx * nn, saved + idx * SZ, logits + idx * nn, n, iters);
}

void sinkhorn_backward(float* dlogits, const float* dout, const float* saved, int N, int n, int iters) {
    long nn = (long)n * n, SZ = SINKHORN_SAVED_FLOATS(n, iters);
    #pragma omp parallel if (N * SZ > PAR_MIN)
    {
        float* g = malloc_check(nn * sizeof(float));   /* per-thread gradient */
        #pragma omp for
        for (int idx = 0; idx < N; idx++) {
            memcpy(g, dout + idx * nn, nn * sizeof(float));
            sinkhorn_one_backward(dlogits + idx * nn, g, saved + idx * SZ, n, iters);
        }
        free(g);
    }
}

/* ------------------------------------------------------------------------ */
/* decoding with a KV cache */

void encoder_decode_forward(float* out, const int* tok, const int* pos, const float* wte,
                            const float* wpe, int N, int C) {
    #pragma omp parallel for if ((long)N * C > PAR_MIN)
    for (int i = 0; i < N; i++) {
        const float* e = wte + (long)tok[i] * C;
        const float* p = wpe + (long)pos[i] * C;
        float* o = out + (long)i * C;
        for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
    }
}

void kv_fill(float* kc, float* vc, const float* qkv, int N, int P, int Tc, int C) {
    #pragma omp parallel for collapse(2) if ((long)N * P * C > PAR_MIN)
    for (int b = 0; b < N; b++)
        for (int t = 0; t < P; t++) {
            const float* q = qkv + ((long)b * P + t) * 3 * C;
            memcpy(kc + ((long)b * Tc + t) * C, q + C, C * sizeof(float));
            memcpy(vc + ((long)b * Tc + t) * C, q + 2 * C, C * sizeof(float));
        }
}

/* Dot product in 8 interleaved partial sums, added pairwise: a fixed order (the same bits
 * whatever the thread count) that vectorizes, unlike one running sum. */
static inline float dot8(const float* restrict a, const float* restrict b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int e = 0;
    for (; e + 8 <= n; e += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[e + j] * b[e + j];
    float d = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; e < n; e++) d += a[e] * b[e];
    return d;
}

/* Every head of one sequence: scores against positions 0..last, softmax (exp_vec, as the
 * batched attention), weighted sum of the values. Positions are the outer loop, so each
 * cached row of keys and values (C floats, all heads) is read once, front to back; per
 * head the arithmetic and its order are those of one head at a time. sc: (NH, Tc). */
ELEMENTWISE static void attend_seq(float* restrict o, const float* restrict q, const float* ks, const float* vs, int last,
                                   int C, int NH, int Tc, float scale, float* restrict sc) {
    int hs = C / NH;
    for (int t = 0; t <= last; t++)
        for (int h = 0; h < NH; h++) sc[h * Tc + t] = dot8(q + h * hs, ks + (long)t * C + h * hs, hs) * scale;
    for (int h = 0; h < NH; h++) {
        float* s = sc + h * Tc;
        float mx = -INFINITY;
        for (int t = 0; t <= last; t++) mx = s[t] > mx ? s[t] : mx;
        float sum = 0;
        for (int t = 0; t <= last; t++) s[t] = exp_vec(s[t] - mx);
        for (int t = 0; t <= last; t++) sum += s[t];
        float inv = 1.0f / sum;
        for (int t = 0; t <= last; t++) s[t] *= inv;
    }
    for (int e = 0; e < C; e++) o[e] = 0;
    for (int t = 0; t <= last; t++) {
        const float* restrict v = vs + (long)t * C;
        for (int h = 0; h < NH; h++) {
            float p = sc[h * Tc + t];
            float* restrict oh = o + h * hs;
            const float* restrict vh = v + h * hs;
            for (int e = 0; e < hs; e++) oh[e] += p * vh[e];
        }
    }
}

void attention_decode_forward(float* out, float* kc, float* vc, const float* qkv, const int* pos,
                              int N, int Tc, int C, int NH) {
    float scale = 1.0f / sqrtf((float)(C / NH));
    #pragma omp parallel if (N > 1)
    {
        float* sc = malloc_check((size_t)NH * Tc * sizeof(float));
        #pragma omp for
        for (int i = 0; i < N; i++) {
            const float* q = qkv + (long)i * 3 * C;
            float* ks = kc + (long)i * Tc * C;
            float* vs = vc + (long)i * Tc * C;
            memcpy(ks + (long)pos[i] * C, q + C, C * sizeof(float));
            memcpy(vs + (long)pos[i] * C, q + 2 * C, C * sizeof(float));
            attend_seq(out + (long)i * C, q, ks, vs, pos[i], C, NH, Tc, scale, sc);
        }
        free(sc);
    }
}

/* ------------------------------------------------------------------------ */
/* sampling */

void sample_rows(int* tok, const float* logits, const double* u, int N, int V, float inv_temperature) {
    #pragma omp parallel
    {
        float* p = malloc_check((size_t)V * sizeof(float));
        #pragma omp for
        for (int i = 0; i < N; i++) {
            tok[i] = -1;
            if (u[i] < 0) continue;
            const float* x = logits + (long)i * V;
            float mx = -INFINITY;
            for (int v = 0; v < V; v++) mx = x[v] > mx ? x[v] : mx;
            double sum = 0;
            for (int v = 0; v < V; v++) { p[v] = expf((x[v] - mx) * inv_temperature); sum += p[v]; }
            double target = u[i] * sum, acc = 0;
            tok[i] = V - 1;
            for (int v = 0; v < V; v++) {
                acc += p[v];
                if (target < acc) { tok[i] = v; break; }
            }
        }
        free(p);
    }
}

/* ------------------------------------------------------------------------ */
/* mHC streams */

void stream_broadcast(float* out, const float* inp, int BT, int n, int C) {
    #pragma omp parallel for if ((long)BT * n * C > PAR_MIN)
    for (int bt = 0; bt < BT; bt++)
        for (int i = 0; i < n; i++) memcpy(out + ((long)bt * n + i) * C, inp + (long)bt * C, C * sizeof(float));
}

void stream_sum(float* out, const float* inp, int BT, int n, int C) {
    #pragma omp parallel for if ((long)BT * n * C > PAR_MIN)
    for (int bt = 0; bt < BT; bt++) {
        float* o = out + (long)bt * C;
        const float* x = inp + (long)bt * n * C;
        for (int c = 0; c < C; c++) o[c] = x[c];
        for (int i = 1; i < n; i++)
            for (int c = 0; c < C; c++) o[c] += x[i * C + c];
    }
}

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

void mhc_coeffs_forward(float* H, float* hres, const float* p, const float* alpha, const float* bias,
                        int BT, int n) {
    int M = 2 * n + n * n, nn = n * n;
    #pragma omp parallel for if ((long)BT * M > PAR_MIN)
    for (int bt = 0; bt < BT; bt++) {
        const float* pb = p + (long)bt * M;
        float* Hb = H + (long)bt * M;
        for (int i = 0; i < n; i++) Hb[i] = sigmoidf(alpha[0] * pb[i] + bias[i]);
        for (int i = n; i < 2 * n; i++) Hb[i] = 2.0f * sigmoidf(alpha[1] * pb[i] + bias[i]);
        for (int i = 0; i < nn; i++) hres[(long)bt * nn + i] = alpha[2] * pb[2 * n + i] + bias[2 * n + i];
    }
}

void mhc_pre_forward(float* u, float* H, const float* Hres, const float* x, int BT, int n, int C) {
    int M = 2 * n + n * n, nn = n * n;
    #pragma omp parallel for if ((long)BT * n * C > PAR_MIN)
    for (int bt = 0; bt < BT; bt++) {
        float* Hb = H + (long)bt * M;
        memcpy(Hb + 2 * n, Hres + (long)bt * nn, nn * sizeof(float));
        float* ub = u + (long)bt * C;
        const float* xb = x + (long)bt * n * C;
        for (int c = 0; c < C; c++) ub[c] = 0;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < C; c++) ub[c] += Hb[i] * xb[i * C + c];
    }
}

void mhc_post_forward(float* xout, const float* H, const float* x, const float* y, int BT, int n, int C) {
    int M = 2 * n + n * n;
    #pragma omp parallel for if ((long)BT * n * n * C > PAR_MIN)
    for (int bt = 0; bt < BT; bt++) {
        const float* Hb = H + (long)bt * M;
        const float* Hres = Hb + 2 * n;
        const float* xb = x + (long)bt * n * C;
        const float* yb = y + (long)bt * C;
        float* o = xout + (long)bt * n * C;
        for (int i = 0; i < n; i++) {
            float hp = Hb[n + i];
            for (int c = 0; c < C; c++) o[i * C + c] = hp * yb[c];
            for (int j = 0; j < n; j++) {
                float h = Hres[i * n + j];
                for (int c = 0; c < C; c++) o[i * C + c] += h * xb[j * C + c];
            }
        }
    }
}

void mhc_post_backward(float* dy, float* dx, float* dHpost, float* dHres, const float* dxo, const float* H,
                       const float* x, const float* y, int BT, int n, int C) {
    int M = 2 * n + n * n, nn = n * n;
    #pragma omp parallel for if ((long)BT * n * n * C > PAR_MIN)
    for (int bt = 0; bt < BT; bt++) {
        const float* Hb = H + (long)bt * M;
        const float* xb = x + (long)bt * n * C;
        const float* g = dxo + (long)bt * n * C;
        const float* yb = y + (long)bt * C;
        float* dyb = dy + (long)bt * C;
        float* dxb = dx + (long)bt * n * C;
        for (int c = 0; c < C; c++) dyb[c] = 0;
        for (int i = 0; i < n; i++) {
            float hp = Hb[n + i], dot = 0;
            for (int c = 0; c < C; c++) { dyb[c] += hp * g[i * C + c]; dot += g[i * C + c] * yb[c]; }
            dHpost[(long)bt * n + i] = dot;
            for (int j = 0; j < n; j++) {
                float d = 0;
                for (int c = 0; c < C; c++) d += g[i * C + c] * xb[j * C + c];
                dHres[(long)bt * nn + i * n + j] = d;
            }
        }
        for (int j = 0; j < n; j++)
            for (int c = 0; c < C; c++) {
                float acc = 0;
                for (int i = 0; i < n; i++) acc += Hb[2 * n + i * n + j] * g[i * C + c];
                dxb[j * C + c] = acc;
            }
    }
}

void mhc_pre_backward(float* dx, float* dHpre, const float* du, const float* H, const float* x,
                      int BT, int n, int C) {
    int M = 2 * n + n * n;
    #pragma omp parallel for if ((long)BT * n * C > PAR_MIN)
    for (int bt = 0; bt < BT; bt++) {
        const float* Hb = H + (long)bt * M;
        const float* xb = x + (long)bt * n * C;
        const float* dub = du + (long)bt * C;
        float* dxb = dx + (long)bt * n * C;
        for (int i = 0; i < n; i++) {
            float d = 0;
            for (int c = 0; c < C; c++) { d += dub[c] * xb[i * C + c]; dxb[i * C + c] += Hb[i] * dub[c]; }
            dHpre[(long)bt * n + i] = d;
        }
    }
}

void mhc_coeffs_backward(float* dp, float* dalpha, float* dbias, const float* dHpre, const float* dHpost,
                         const float* dres, const float* H, const float* p, const float* alpha, int BT, int n) {
    int M = 2 * n + n * n, nn = n * n;
    #pragma omp parallel for if ((long)BT * M > PAR_MIN)
    for (int bt = 0; bt < BT; bt++) {
        const float* Hb = H + (long)bt * M;
        float* dq = dp + (long)bt * M;
        for (int i = 0; i < n; i++) {
            dq[i] = dHpre[(long)bt * n + i] * Hb[i] * (1.0f - Hb[i]);                  /* sigma' */
            dq[n + i] = dHpost[(long)bt * n + i] * Hb[n + i] * (1.0f - 0.5f * Hb[n + i]); /* (2 sigma)' */
        }
        for (int k = 0; k < nn; k++) dq[2 * n + k] = dres[(long)bt * nn + k];
    }
    /* Fixed-order sums over positions (deterministic), then scale by alpha. */
    #pragma omp parallel for if ((long)BT * M > PAR_MIN)
    for (int k = 0; k < M; k++) {
        double sb = 0;
        for (int bt = 0; bt < BT; bt++) sb += dp[(long)bt * M + k];
        dbias[k] += (float)sb;
    }
    for (int seg = 0; seg < 3; seg++) {
        int lo = seg == 0 ? 0 : seg == 1 ? n : 2 * n, hi = seg == 0 ? n : seg == 1 ? 2 * n : M;
        double sa = 0;
        for (int bt = 0; bt < BT; bt++)
            for (int k = lo; k < hi; k++) sa += (double)dp[(long)bt * M + k] * p[(long)bt * M + k];
        dalpha[seg] += (float)sa;
    }
    #pragma omp parallel for if ((long)BT * M > PAR_MIN)
    for (int bt = 0; bt < BT; bt++)
        for (int k = 0; k < M; k++) dp[(long)bt * M + k] *= alpha[k < n ? 0 : k < 2 * n ? 1 : 2];
}

/* ------------------------------------------------------------------------ */
/* vector helpers */

void axpy(float* y, float a, const float* x, long N) {
    #pragma omp parallel for if (N > PAR_MIN)
    for (long i = 0; i < N; i++) y[i] += a * x[i];
}

void scale(float* y, float a, long N) {
    #pragma omp parallel for if (N > PAR_MIN)
    for (long i = 0; i < N; i++) y[i] *= a;
}

void ema_update(float* phi, const float* theta, long N, float decay) {
    #pragma omp parallel for if (N > PAR_MIN)
    for (long i = 0; i < N; i++) phi[i] = decay * phi[i] + (1.0f - decay) * theta[i];
}

double sumsq(const float* x, long N) {
    /* Fixed 64 chunks summed in order: deterministic whatever the threads. */
    enum { K = 64 };
    double part[K] = {0};
    #pragma omp parallel for
    for (int k = 0; k < K; k++) {
        long lo = N * k / K, hi = N * (k + 1) / K;
        double s = 0;
        for (long i = lo; i < hi; i++) s += (double)x[i] * x[i];
        part[k] = s;
    }
    double s = 0;
    for (int k = 0; k < K; k++) s += part[k];
    return s;
}

/* ------------------------------------------------------------------------ */
/* the backend table: host memory is the device */

static void* cpu_alloc(size_t bytes) { return calloc_check(bytes ? bytes : 1, 1); }
static void cpu_release(void* p) { free(p); }
static void cpu_copy(void* dst, const void* src, size_t bytes) { if (dst != src && bytes) memmove(dst, src, bytes); }
static void cpu_zero(void* dst, size_t bytes) { if (bytes) memset(dst, 0, bytes); }
static void cpu_synchronize(void) {}

const KernelOps kernels_cpu = {
    .name = "cpu", .precision = "fp32", .decode_transposed = 1,
    .alloc = cpu_alloc, .release = cpu_release, .upload = cpu_copy, .download = cpu_copy,
    .copy = cpu_copy, .zero = cpu_zero, .synchronize = cpu_synchronize,
#define K(f) .f = f,
    KERNEL_LIST(K)
#undef K
};
