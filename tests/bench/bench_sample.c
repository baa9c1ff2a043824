/* bench_sample: our side of the sampling speed comparison (SPEC §9 "sampling
 * tokens/s"). The same protocol as tests/torch/ref_sample.py bench: a random-init
 * model (seed 0), N prompts of P random tokens, sample_batch at temperature 1
 * (no top-k/top-p, no stop tokens) generating G new tokens each. The timing
 * includes prompt processing; only generated tokens are counted. Best of `reps`.
 *   bench_sample --d 128 --L 4 --H 4 --V 1024 --T 128 --N 8 --P 16 --G 32 --threads 2 [--mhc 0] [--reps 3] */
#include "bench_flops.h"
#include "model.h"
#include "rng.h"
#include "sample.h"
#include "util.h"
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
    /* Achieved GFLOP/s (bench_flops.h: the products a step cannot do without) beside this
     * machine's sgemm peak at the same threads. */
    double flops = flops_sample(L, d, V, 0, N, P, G), peak = sgemm_peak_gflops();
    printf("{\"peer\": \"ours\", \"mhc\": %ld, \"threads\": %d, \"tok_per_s\": %.1f, \"ms\": %.2f, \"N\": %ld, \"P\": %ld, \"G\": %ld, "
           "\"gflop\": %.6f, \"gflops\": %.1f, \"sgemm_peak_gflops\": %.1f}\n",
           mhc, omp_get_max_threads(), N * G / best, 1000 * best, N, P, G, flops / 1e9, flops / best / 1e9, peak);
    free(pbuf); free(prompts); free(plens); free(out); free(lens); free(stop);
    model_free(&m);
    return 0;
}
