/* bench_flops.h: the arithmetic bench_sample and bench_ttt_step count, and the sgemm peak
 * they divide it by (issue 21: how far a ratio to PyTorch can go on this machine).
 *
 * Only the products a step cannot do without are counted, 2 flops a multiply-add: the
 * layers' four products (24 L d^2 a position), LoRA's (rank r on the same four: 32 r L d a
 * position), the head where a token is drawn or scored (2 d V), attention (4 L d per
 * position attended, 8 L d in the backward). Norms, GELU, softmax, the sampler and the
 * optimizer are not counted. So flops / peak is a lower bound on a step's time, and
 * peer time / (flops / peak) the highest ratio to that peer any code can reach here. */
#ifndef BENCH_FLOPS_H
#define BENCH_FLOPS_H
#include "util.h"
#include <cblas.h>
#include <stdlib.h>

/* Sampling N sequences: P prompt tokens (the prefill's P - 1 positions, no head), then G
 * decoding positions with the head; position t attends t + 1 positions. */
static inline double flops_sample(double L, double d, double V, double rank, double N, double P, double G) {
    double pos = P + G - 1;
    return N * (pos * (24 * L * d * d + 32 * rank * L * d) + G * 2 * d * V + 4 * L * d * pos * (pos + 1) / 2);
}

/* A LoRA update on `rows` sequences of T positions, G of them scored: the base model's
 * forward (adapter off), the adapter's, and the backward into the adapter, which needs
 * every input gradient but the first layer's (the embeddings are frozen). */
static inline double flops_lora_update(double L, double d, double V, double rank, double rows, double T, double G) {
    double att = 4 * L * d * T * (T + 1) / 2;
    double base = T * 24 * L * d * d + G * 2 * d * V + att;
    double lora = T * 32 * rank * L * d;
    double bwd = T * (24 * L * d * d - 6 * d * d) + G * 2 * d * V + 2 * att + 2 * lora - T * 2 * rank * d;
    return rows * (base + (base + lora) + bwd);
}

/* This machine's sgemm peak at the current thread count: a 512^3 cblas_sgemm, best of 5. */
static inline double sgemm_peak_gflops(void) {
    int S = 512;
    float *A = calloc_check((size_t)S * S, 4), *B = calloc_check((size_t)S * S, 4), *C = calloc_check((size_t)S * S, 4);
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now_mono();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1.0f, A, S, B, S, 0.0f, C, S);
        double dt = now_mono() - t0;
        if (dt < best) best = dt;
    }
    free(A); free(B); free(C);
    return 2.0 * S * S * S / best / 1e9;
}
#endif
