/* bench_sample: our side of the sampling speed comparison (SPEC §9 "sampling
 * tokens/s"). The same protocol as tests/torch/ref_sample.py bench: a random-init
 * model (seed 0), N prompts of P random tokens, sample_batch at temperature 1
 * (no top-k/top-p, no stop tokens) generating G new tokens each. The timing
 * includes prompt processing; only generated tokens are counted. Best of `reps`.
 *   bench_sample --d 128 --L 4 --H 4 --V 1024 --T 128 --N 8 --P 16 --G 32 --threads 2 [--mhc 0] [--reps 3] */
#include "model.h"
#include "rng.h"
#include "sample.h"
#include "util.h"
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
    long d = 128, L = 4, H = 4, V = 1024, T = 128, N = 8, P = 16, G = 32, threads = 2, mhc = 0, reps = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = atol(argv[i + 1]);
        const char* k = argv[i] + 2;
        if (!strcmp(k, "d")) d = v; else if (!strcmp(k, "L")) L = v; else if (!strcmp(k, "H")) H = v;
        else if (!strcmp(k, "V")) V = v; else if (!strcmp(k, "T")) T = v; else if (!strcmp(k, "N")) N = v;
        else if (!strcmp(k, "P")) P = v; else if (!strcmp(k, "G")) G = v;
        else if (!strcmp(k, "threads")) threads = v; else if (!strcmp(k, "mhc")) mhc = v;
        else if (!strcmp(k, "reps")) reps = v;
        else { fprintf(stderr, "bench_sample: unknown flag %s\n", argv[i]); return 2; }
    }
    if (N < 1 || P < 1 || G < 1 || reps < 1 || P + G > T) {
        fprintf(stderr, "bench_sample: need N, P, G, reps >= 1 and P + G <= T\n");
        return 2;
    }
    omp_set_num_threads(threads > 0 ? (int)threads : threads_share());   /* 0: my share (lib/base/util) */
    ModelConfig c;
    char err[ERR_LEN];
    cfg_defaults(MODEL_OPTS, &c, err);
    c.d_model = d; c.n_layers = L; c.n_heads = H; c.vocab_size = V; c.seq_len = T;
    c.mhc = json_pack("{s:i}", "n", (int)mhc);
    if (model_config_validate(&c, "bench", err)) { fprintf(stderr, "%s\n", err); return 2; }
    Model m;
    model_build(&m, &c, 0);
    int* pbuf = malloc(N * P * sizeof(int));
    const int** prompts = malloc(N * sizeof(int*));
    int* plens = malloc(N * sizeof(int));
    Rng r;
    rng_seed(&r, 1);
    for (long i = 0; i < N * P; i++) pbuf[i] = (int)rng_below(&r, V);
    for (long i = 0; i < N; i++) { prompts[i] = pbuf + i * P; plens[i] = (int)P; }
    int* out = malloc(N * G * sizeof(int));
    int* lens = malloc(N * sizeof(int));
    uint8_t* stop = calloc(V, 1);
    SampleCfg sc = {1.0, 0, 1.0};
    Rng base;
    rng_seed(&base, 2);
    double best = 1e30;
    long gen = 0;
    for (long rep = 0; rep < reps; rep++) {
        double t0 = now_mono();
        sample_batch(&m, prompts, plens, (int)N, (int)G, &sc, &base, stop, out, lens);
        double dt = now_mono() - t0;
        if (dt < best) best = dt;
        gen = 0;
        for (long i = 0; i < N; i++) gen += lens[i];
    }
    if (gen != N * G) { fprintf(stderr, "bench_sample: generated %ld tokens, expected %ld\n", gen, N * G); return 1; }
    /* Achieved GFLOP/s: the matmuls (2 x 12 L d^2 per position, 2 d V per generated token)
     * and attention (4 L d per position attended) of the prefill and the decode, beside
     * this machine's sgemm peak (a 512^3 cblas_sgemm, best of 5) at the same threads. */
    double flops = (double)N * (P - 1) * 24.0 * L * d * d + (double)N * G * (24.0 * L * d * d + 2.0 * d * V) +
                   (double)N * (P - 1) * P / 2 * 4.0 * L * d + (double)N * G * (P + G / 2.0) * 4.0 * L * d;
    int S = 512;
    float *A = calloc((size_t)S * S, 4), *Bm = calloc((size_t)S * S, 4), *Cm = calloc((size_t)S * S, 4);
    double peak_t = 1e30;
    for (int r2 = 0; r2 < 5; r2++) {
        double t0 = now_mono();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1.0f, A, S, Bm, S, 0.0f, Cm, S);
        double dt = now_mono() - t0;
        if (dt < peak_t) peak_t = dt;
    }
    free(A); free(Bm); free(Cm);
    printf("{\"peer\": \"ours\", \"mhc\": %ld, \"threads\": %d, \"tok_per_s\": %.1f, \"ms\": %.2f, \"N\": %ld, \"P\": %ld, \"G\": %ld, "
           "\"gflops\": %.1f, \"sgemm_peak_gflops\": %.1f}\n",
           mhc, omp_get_max_threads(), N * G / best, 1000 * best, N, P, G, flops / best / 1e9, 2.0 * S * S * S / peak_t / 1e9);
    free(pbuf); free(prompts); free(plens); free(out); free(lens); free(stop);
    model_free(&m);
    return 0;
}
