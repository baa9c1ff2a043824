/* bench_ttt_step: our side of the TTT-step speed comparison (issue 21; the peer is
 * tests/torch/ref_ttt_step.py bench, same protocol). One step: sample N completions of G
 * tokens from N prompts of P random tokens with the adapter on (sample_batch, temperature
 * 1, no stop tokens), then the LoRA update (ttt_pg_step: base and adapter forwards, KL
 * shaping, backward, Adam) with fixed advantages (a quarter of them 0: rows left out). The
 * verifier is outside the timing, as in the suite's "sample" vs "score" split. Random-init
 * model (seed 0), LoRA rank r with alpha 2r, both factors perturbed so both get gradients.
 * Best of `reps` steps (the adapter changes between them; the work does not). Prints the
 * step's necessary products (gflop, tests/bench/bench_flops.h), the GFLOP/s that makes and
 * the sgemm peak at the same threads.
 *   bench_ttt_step --d 128 --L 4 --H 4 --V 1024 --T 128 --N 32 --P 16 --G 32 --rank 8 --threads 2 [--reps 3]
 *   bench_ttt_step ... --dump DIR   one step, and what tests/torch/ref_ttt_step.py check compares:
 *     config.json, weights.safetensors, lora.safetensors (before), batch.safetensors (prompts,
 *     out, advantages), lora_grads.safetensors, lora_after.safetensors, outputs.safetensors
 *     (loss, kl), meta.json (lr, kl_lambda) */
#include "bench_flops.h"
#include "json.h"
#include "lora.h"
#include "model.h"
#include "rng.h"
#include "safetensors.h"
#include "sample.h"
#include "ttt.h"
#include "util.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A path under a dir given on the command line, or exit 2 naming it. */
static void join(char* out, size_t cap, const char* a, const char* b) {
    char err[ERR_LEN];
    if (path_join(out, cap, a, b, err)) die(EXIT_BADINPUT, "%s", err);
}

static void put(StTensor* t, const char* name, StDtype dt, int ndim, int64_t d0, int64_t d1, const void* data, size_t nbytes) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dt; t->ndim = ndim; t->shape[0] = d0; t->shape[1] = d1;
    t->data = data; t->nbytes = nbytes;
}

static void must(int rc, const char* err) {
    if (rc) { fprintf(stderr, "bench_ttt_step: %s\n", err); exit(1); }
}

static void dump_model(const char* dir, const Model* m, const ModelConfig* cfg) {
    char p[4200], err[ERR_LEN];
    json_t* c = model_config_to_json(cfg);
    join(p, sizeof p, dir, "config.json");
    must(json_write_atomic(p, c, err), err);
    json_decref(c);
    StTensor* t = calloc_check(m->ntensors, sizeof *t);
    for (int i = 0; i < m->ntensors; i++) {
        const ParamInfo* q = &m->info[i];
        put(&t[i], q->name, ST_F32, q->ndim, q->shape[0], q->shape[1], m->params + q->offset, q->numel * sizeof(float));
    }
    join(p, sizeof p, dir, "weights.safetensors");
    must(st_write(p, t, m->ntensors, NULL, err), err);
    free(t);
}

int main(int argc, char** argv) {
    long d = 128, L = 4, H = 4, V = 1024, T = 128, N = 32, P = 16, G = 32, rank = 8, threads = 2, reps = 3;
    const char* dump = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char* k = argv[i] + 2;
        if (!strcmp(k, "dump")) { dump = argv[i + 1]; continue; }
        long v = atol(argv[i + 1]);
        if (!strcmp(k, "d")) d = v; else if (!strcmp(k, "L")) L = v; else if (!strcmp(k, "H")) H = v;
        else if (!strcmp(k, "V")) V = v; else if (!strcmp(k, "T")) T = v; else if (!strcmp(k, "N")) N = v;
        else if (!strcmp(k, "P")) P = v; else if (!strcmp(k, "G")) G = v; else if (!strcmp(k, "rank")) rank = v;
        else if (!strcmp(k, "threads")) threads = v; else if (!strcmp(k, "reps")) reps = v;
        else { fprintf(stderr, "bench_ttt_step: unknown flag %s\n", argv[i]); return 2; }
    }
    if (N < 2 || P < 2 || G < 1 || reps < 1 || P + G > T) {
        fprintf(stderr, "bench_ttt_step: need N, P >= 2, G, reps >= 1 and P + G <= T\n");
        return 2;
    }
    if (dump) reps = 1;
    omp_set_num_threads(threads > 0 ? (int)threads : threads_share());
    ModelConfig c;
    char err[ERR_LEN], p[4200];
    cfg_defaults(MODEL_OPTS, &c, err);
    c.d_model = d; c.n_layers = L; c.n_heads = H; c.vocab_size = V; c.seq_len = T;
    c.mhc = json_pack("{s:i}", "n", 0);
    if (model_config_validate(&c, "bench", err)) { fprintf(stderr, "%s\n", err); return 2; }
    Model m;
    model_build(&m, &c, 0);
    Lora* lo = lora_new(&m, (int)rank, 2.0f * (float)rank, 3);
    Rng r;
    rng_seed(&r, 4);
    for (size_t i = 0; i < lo->num_params; i++) lo->params[i] += (float)(0.02 * rng_normal(&r));
    m.lora = lo;
    m.train_base = 0;
    lo->enabled = 1;
    float* mo = calloc_check(lo->num_params, sizeof(float));
    float* vo = calloc_check(lo->num_params, sizeof(float));
    int* pbuf = malloc_check((size_t)N * P * sizeof(int));
    int** prompts = malloc_check(N * sizeof(int*));
    int* plens = malloc_check(N * sizeof(int));
    for (long i = 0; i < N * P; i++) pbuf[i] = (int)rng_below(&r, (uint32_t)V);
    for (long i = 0; i < N; i++) { prompts[i] = pbuf + i * P; plens[i] = (int)P; }
    float* A = malloc_check(N * sizeof(float));
    for (long i = 0; i < N; i++) A[i] = i % 4 == 3 ? 0.0f : (float)(rng_double(&r) - 0.5);
    int* out = malloc_check((size_t)N * G * sizeof(int));
    int* lens = malloc_check(N * sizeof(int));
    uint8_t* stop = calloc_check(V, 1);
    SampleCfg sc = {1.0, 0, 1.0};
    Rng base;
    rng_seed(&base, 2);
    double lr = 1e-3, kl_lambda = 0.1, best = 1e30, loss = 0, kl = 0;
    if (dump) {
        must(mkdir_p(dump, err), err);
        dump_model(dump, &m, &c);
        join(p, sizeof p, dump, "lora.safetensors");
        must(lora_save(p, lo, &m, 0, err), err);
    }
    TaskResult tr;
    memset(&tr, 0, sizeof tr);
    /* the suite's defaults (lib/specs.c: TTT_OPTS) but lr and kl_lambda */
    TttCfg tc = {.lr = lr, .kl_lambda = kl_lambda, .adam_beta1 = 0.9, .adam_beta2 = 0.95, .adam_eps = 1e-8, .weight_decay = 0};
    TttAdapter ad = {lo, mo, vo, 0};
    TttBatch b = {(int)N, (int)G, prompts, plens, out, lens};
    for (long rep = 0; rep < reps; rep++) {
        double t0 = now_mono();
        sample_batch(&m, (const int* const*)prompts, plens, (int)N, (int)G, &sc, &base, stop, out, lens);
        ttt_pg_step(&m, &ad, &b, A, &tc, &loss, &kl, &tr);
        double dt = now_mono() - t0;
        if (dt < best) best = dt;
    }
    if (dump) {
        StTensor bt[3];
        put(&bt[0], "prompts", ST_I32, 2, N, P, pbuf, (size_t)N * P * sizeof(int));
        put(&bt[1], "out", ST_I32, 2, N, G, out, (size_t)N * G * sizeof(int));
        put(&bt[2], "advantages", ST_F32, 1, N, 0, A, N * sizeof(float));
        join(p, sizeof p, dump, "batch.safetensors");
        must(st_write(p, bt, 3, NULL, err), err);
        join(p, sizeof p, dump, "lora_after.safetensors");
        must(lora_save(p, lo, &m, 0, err), err);
        memcpy(lo->params, lo->grads, lo->num_params * sizeof(float));   /* the gradients, under the adapter's names */
        join(p, sizeof p, dump, "lora_grads.safetensors");
        must(lora_save(p, lo, &m, 0, err), err);
        float o[2] = {(float)loss, (float)kl};
        StTensor ot[1];
        put(&ot[0], "loss_kl", ST_F32, 1, 2, 0, o, sizeof o);
        join(p, sizeof p, dump, "outputs.safetensors");
        must(st_write(p, ot, 1, NULL, err), err);
        json_t* meta = json_pack("{s:f, s:f, s:f, s:f, s:f, s:i}", "lr", lr, "kl_lambda", kl_lambda, "beta1", tc.adam_beta1,
                                 "beta2", tc.adam_beta2, "eps", tc.adam_eps, "rank", (int)rank);
        join(p, sizeof p, dump, "meta.json");
        must(json_write_atomic(p, meta, err), err);
        json_decref(meta);
    }
    fprintf(stderr, "bench_ttt_step: over %ld steps: forward %.3f s, backward %.3f s, optimizer %.3f s\n", reps, tr.t_forward, tr.t_backward, tr.t_optim);
    /* the step's products (bench_flops.h): sampling with the adapter on, then the update on
     * the rows with an advantage, P + G - 1 positions each (no stop tokens), G scored */
    long rows = N - N / 4;
    double flops = flops_sample(L, d, V, rank, N, P, G) + flops_lora_update(L, d, V, rank, rows, P + G - 1, G);
    printf("{\"peer\": \"ours\", \"threads\": %d, \"step_ms\": %.2f, \"N\": %ld, \"P\": %ld, \"G\": %ld, \"rank\": %ld, \"rows\": %ld, "
           "\"loss\": %.6g, \"gflop\": %.6f, \"gflops\": %.1f, \"sgemm_peak_gflops\": %.1f}\n", omp_get_max_threads(), 1000 * best, N, P,
           G, rank, rows, loss, flops / 1e9, flops / best / 1e9, sgemm_peak_gflops());
    m.lora = NULL;
    lora_free(lo);
    free(mo); free(vo); free(pbuf); free(prompts); free(plens); free(A); free(out); free(lens); free(stop);
    model_free(&m);
    return 0;
}
