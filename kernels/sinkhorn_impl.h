/* sinkhorn_impl: Sinkhorn-Knopp on ONE n x n matrix, forward and backward, as
 * code shared by the CPU backend and the CUDA kernels (host and device), so both
 * run the same arithmetic and the CPU's tests against PyTorch cover the GPU's
 * math too. Semantics in kernels.h (sinkhorn_forward / sinkhorn_backward).
 *
 * saved layout S (SINKHORN_SAVED_FLOATS(n, iters) floats): S[0] = exp(H - max);
 * S[2k+1] after the k-th column normalisation, S[2k+2] after the k-th row one. */
#ifndef DD_SINKHORN_IMPL_H
#define DD_SINKHORN_IMPL_H
#include <math.h>

#ifdef __CUDACC__
#define DD_HOST_DEVICE static inline __host__ __device__
#else
#define DD_HOST_DEVICE static inline
#endif

/* out (n*n) = the projected matrix; S filled as above; H the logits (n*n). */
DD_HOST_DEVICE void sinkhorn_one_forward(float* out, float* S, const float* H, int n, int iters) {
    long nn = (long)n * n;
    float maxval = -INFINITY;
    for (long e = 0; e < nn; e++) if (H[e] > maxval) maxval = H[e];
    for (long e = 0; e < nn; e++) S[e] = expf(H[e] - maxval);
    for (int it = 0; it < iters; it++) {
        const float* X = S + (2 * it) * nn;
        float* Y = S + (2 * it + 1) * nn;
        for (int j = 0; j < n; j++) {          /* columns */
            float s = 0.0f;
            for (int i = 0; i < n; i++) s += X[i * n + j];
            float inv = 1.0f / s;
            for (int i = 0; i < n; i++) Y[i * n + j] = X[i * n + j] * inv;
        }
        X = Y;
        Y = S + (2 * it + 2) * nn;
        for (int i = 0; i < n; i++) {          /* rows */
            float s = 0.0f;
            for (int j = 0; j < n; j++) s += X[i * n + j];
            float inv = 1.0f / s;
            for (int j = 0; j < n; j++) Y[i * n + j] = X[i * n + j] * inv;
        }
    }
    for (long e = 0; e < nn; e++) out[e] = S[2 * iters * nn + e];
}

/* dH (n*n) += the gradient with respect to the logits; g (n*n) holds
 * d(loss)/d(out) on entry and is used as scratch. */
DD_HOST_DEVICE void sinkhorn_one_backward(float* dH, float* g, const float* S, int n, int iters) {
    long nn = (long)n * n;
    /* Y = X / s, s the row (or column) sum of X:
     * dX = (dY - <dY, Y>_row) / s  (the same along columns). */
    for (int it = iters - 1; it >= 0; it--) {
        const float* X = S + (2 * it + 1) * nn;
        const float* Y = S + (2 * it + 2) * nn;
        for (int i = 0; i < n; i++) {          /* undo rows */
            float s = 0.0f, dot = 0.0f;
            for (int j = 0; j < n; j++) { s += X[i * n + j]; dot += g[i * n + j] * Y[i * n + j]; }
            float inv = 1.0f / s;
            for (int j = 0; j < n; j++) g[i * n + j] = (g[i * n + j] - dot) * inv;
        }
        Y = X;
        X = S + (2 * it) * nn;
        for (int j = 0; j < n; j++) {          /* undo columns */
            float s = 0.0f, dot = 0.0f;
            for (int i = 0; i < n; i++) { s += X[i * n + j]; dot += g[i * n + j] * Y[i * n + j]; }
            float inv = 1.0f / s;
            for (int i = 0; i < n; i++) g[i * n + j] = (g[i * n + j] - dot) * inv;
        }
    }
    /* M0 = exp(H - max): the max shift is a constant factor that the first
     * normalisation removes, so it carries no gradient. */
    for (long e = 0; e < nn; e++) dH[e] += g[e] * S[e];
}

#endif
