/* bench_train: our side of the pretrain speed comparison. The same protocol as
 * ../shared/bench/torch_gpt_peer.py: a fixed random batch, AdamW (lr 1e-3, no
 * weight decay), `warmup` untimed steps then `steps` timed ones; one JSON line.
 *   bench_train --d 128 --L 4 --H 4 --V 1024 --T 128 --B 8 --threads 2 [--mhc 4]
 * On a GPU (a `make CUDA=1` build): --device cuda [--precision bf16|fp32]; the line
 * then also has MFU: tokens/s x llm.c's FLOPs per token (6 N + 6 L C T) over
 * --peak_tflops (default 989, the H100 SXM's dense bf16 figure). With DD_CUDA_PROFILE=1
 * the CUDA backend also reports where the timed steps' time went (docs/performance.md). */
#include "model.h"
#include "optim.h"
#include "rng.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
    long d = 128, L = 4, H = 4, V = 1024, T = 128, B = 8, steps = 10, warmup = 2, threads = 2, mhc = 0, accum = 1;
    const char *device = "cpu", *precision = "auto";
    double peak = 989;
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = atol(argv[i + 1]);
        const char* k = argv[i] + 2;
        if (!strcmp(k, "device")) { device = argv[i + 1]; continue; }
        if (!strcmp(k, "precision")) { precision = argv[i + 1]; continue; }
        if (!strcmp(k, "peak_tflops")) { peak = atof(argv[i + 1]); continue; }
        if (!strcmp(k, "d")) d = v; else if (!strcmp(k, "L")) L = v; else if (!strcmp(k, "H")) H = v;
        else if (!strcmp(k, "V")) V = v; else if (!strcmp(k, "T")) T = v; else if (!strcmp(k, "B")) B = v;
        else if (!strcmp(k, "steps")) steps = v; else if (!strcmp(k, "warmup")) warmup = v;
        else if (!strcmp(k, "threads")) threads = v; else if (!strcmp(k, "mhc")) mhc = v;
        else if (!strcmp(k, "grad_accum")) accum = v;
        else { fprintf(stderr, "bench_train: unknown flag %s\n", argv[i]); return 2; }
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
    if (model_use_device(&m, device, precision, err)) die(EXIT_BADINPUT, "%s", err);
    int* x = malloc(B * T * sizeof(int));
    int* y = malloc(B * T * sizeof(int));
    Rng r;
    rng_seed(&r, 1);
    for (long i = 0; i < B * T; i++) { x[i] = (int)rng_below(&r, V); y[i] = (int)rng_below(&r, V); }
    float* mo = m.k->alloc(m.num_params * sizeof(float));
    float* vo = m.k->alloc(m.num_params * sizeof(float));
    OptimCfg oc = {1e-3, 1, 0.9, 0.999, 1e-8, 0.0, 0, 0, 1};
    double t0 = 0, loss = 0;
    for (long i = 0; i < warmup + steps; i++) {
        if (i == warmup) {   /* the warm-up's queued work is not timed */
            m.k->synchronize();
            if (m.k->profile_reset) m.k->profile_reset();
            t0 = now_mono();
        }
        model_zero_grad(&m);
        loss = 0;
        for (long k = 0; k < accum; k++) {
            loss += model_forward(&m, x, y, (int)B, (int)T) / accum;
            model_backward(&m, 1.0f / accum);
        }
        optim_step(&oc, &m, mo, vo, i + 1, 1e-3);
    }
    m.k->synchronize();
    double dt = (now_mono() - t0) / steps, tok_s = B * T * accum / dt;
    double mfu = tok_s * (6.0 * m.num_params + 6.0 * L * d * T) / (peak * 1e12);
    printf("{\"peer\": \"ours\", \"device\": \"%s\", \"precision\": \"%s\", \"mhc\": %ld, \"threads\": %ld, \"params\": %zu, "
           "\"B\": %ld, \"T\": %ld, \"tok_per_s\": %.1f, \"ms_per_step\": %.2f, \"graphs\": %d, \"mfu\": %.4f, "
           "\"loss\": %.4f}\n",
           m.k->name, m.k->precision, mhc, threads, m.num_params, B, T, tok_s, 1000 * dt, model_graphs_held(&m), mfu,
           loss);
    return 0;
}
