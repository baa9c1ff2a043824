/* model: every parameter's gradient against central finite differences, mHC on
 * and off, on a tiny model whose mHC parameters are moved off their init (so
 * the alpha and phi paths carry signal); gradients independent of the thread
 * count; the parameter table matches docs/model.md.
 * With --dump DIR (mhc n from --mhc N), writes the files tests/torch/ref_model.py
 * compares against PyTorch. */
#include "check.h"
#include "model.h"
#include "json.h"
#include "optim.h"
#include "lora.h"
#include "safetensors.h"
#include "rng.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static ModelConfig tiny_cfg(int n) {
    ModelConfig c;
    char err[ERR_LEN];
    cfg_defaults(MODEL_OPTS, &c, err);
    c.d_model = 16; c.n_layers = 2; c.n_heads = 2; c.seq_len = 8; c.vocab_size = 300;
    c.mhc = json_pack("{s:i}", "n", n);
    if (model_config_validate(&c, "test", err)) { printf("FAIL config: %s\n", err); exit(1); }
    return c;
}

/* Move every parameter off its init so each path of the graph matters. */
static void perturb(Model* m, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->ntensors; i++) {
        ParamInfo* p = &m->info[i];
        float* x = m->params + p->offset;
        int mhc = strstr(p->name, "mhc_") != NULL;
        for (size_t j = 0; j < p->numel; j++) x[j] += (float)((mhc ? 0.3 : 0.05) * rng_normal(&r));
    }
}

static void batch(int* in, int* tg, int BT, int V, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < BT; i++) { in[i] = (int)rng_below(&r, V); tg[i] = (int)rng_below(&r, V); }
}

static void fd_check(int n) {
    ModelConfig cfg = tiny_cfg(n);
    Model m;
    model_build(&m, &cfg, 1);
    perturb(&m, 2);
    int B = 2, T = 8, BT = B * T;
    int in[16], tg[16];
    batch(in, tg, BT, m.V, 3);
    model_forward(&m, in, tg, B, T);
    model_zero_grad(&m);
    model_backward(&m, 1.0f);
    float* g = malloc(m.num_params * sizeof(float));
    memcpy(g, m.grads, m.num_params * sizeof(float));
    int bad = 0, checked = 0;
    double worst = 0;
    char worst_name[96] = "";
    for (int i = 0; i < m.ntensors; i++) {
        ParamInfo* p = &m.info[i];
        /* The 3 entries of largest |grad| in each tensor, plus one fixed one. */
        size_t pick[4] = {0, 0, 0, p->numel / 2};
        for (int q = 0; q < 3; q++) {
            double best = -1;
            for (size_t j = 0; j < p->numel; j++) {
                int used = 0;
                for (int z = 0; z < q; z++) used |= pick[z] == j;
                if (!used && fabs(g[p->offset + j]) > best) { best = fabs(g[p->offset + j]); pick[q] = j; }
            }
        }
        for (int q = 0; q < 4; q++) {
            size_t j = p->offset + pick[q];
            float save = m.params[j];
            float h = 1e-2f * fmaxf(1.0f, fabsf(save));
            m.params[j] = save + h;
            double lp = model_forward(&m, in, tg, B, T);
            m.params[j] = save - h;
            double lm = model_forward(&m, in, tg, B, T);
            m.params[j] = save;
            double num = (lp - lm) / (2 * h), ana = g[j];
            double err = fabs(num - ana) / fmax(fabs(num) + fabs(ana), 1e-3);
            checked++;
            if (fabs(num) + fabs(ana) > 1e-4 && err > 0.05) {
                bad++;
                printf("  %s[%zu]: analytic %.6g numeric %.6g\n", p->name, pick[q], ana, num);
            }
            if (fabs(num) + fabs(ana) > 1e-4 && err > worst) { worst = err; snprintf(worst_name, sizeof worst_name, "%s", p->name); }
        }
    }
    char name[64];
    snprintf(name, sizeof name, "model_grad_finite_differences_mhc%d", n);
    CHECK(name, bad == 0, "%d of %d entries off (worst rel err %.3g in %s)", bad, checked, worst, worst_name);
    printf("  mhc n=%d: %d entries in %d tensors, worst relative error %.2e (%s)\n", n, checked, m.ntensors, worst, worst_name);

    /* Thread count must not change a single bit of the gradients. */
    omp_set_num_threads(1);
    model_forward(&m, in, tg, B, T);
    model_zero_grad(&m);
    model_backward(&m, 1.0f);
    float* g1 = malloc(m.num_params * sizeof(float));
    memcpy(g1, m.grads, m.num_params * sizeof(float));
    omp_set_num_threads(2);
    model_forward(&m, in, tg, B, T);
    model_zero_grad(&m);
    model_backward(&m, 1.0f);
    snprintf(name, sizeof name, "model_grads_thread_independent_mhc%d", n);
    CHECK(name, !memcmp(g1, m.grads, m.num_params * sizeof(float)), "1 vs 2 threads differ");
    free(g); free(g1);
    model_free(&m);
}

static double wloss(Model* m, const int* in, const int* tg, int B, int T, const float* w) {
    model_forward(m, in, tg, B, T);
    const float* ls = model_losses(m);
    double acc = 0;
    for (int i = 0; i < B * T; i++) acc += (double)w[i] * (tg[i] < 0 ? 0 : ls[i]);
    return acc;
}

/* LoRA: adapter gradients against finite differences of a per-token weighted
 * loss (the TTT objective's shape), base weights frozen, adapter off = base. */
static void lora_check(void) {
    ModelConfig cfg = tiny_cfg(4);
    Model m;
    model_build(&m, &cfg, 1);
    perturb(&m, 2);
    int B = 2, T = 8, BT = B * T;
    int in[16], tg[16];
    batch(in, tg, BT, m.V, 3);
    tg[0] = -1; tg[9] = -1;                  /* ignored positions (prompt tokens) */
    float base = model_forward(&m, in, tg, B, T);
    Lora* lo = lora_new(&m, 2, 4.0f, 5);
    m.lora = lo;
    m.train_base = 0;
    float fresh = model_forward(&m, in, tg, B, T);
    CHECK("lora_fresh_adapter_is_identity", fresh == base, "loss %g vs %g", fresh, base);
    Rng r;
    rng_seed(&r, 6);
    for (size_t i = 0; i < lo->num_params; i++) lo->params[i] += (float)(0.05 * rng_normal(&r));
    float w[16];
    for (int i = 0; i < BT; i++) w[i] = (float)(rng_double(&r) - 0.3);
    wloss(&m, in, tg, B, T, w);
    model_zero_grad(&m);
    lora_zero_grad(lo);
    model_backward_weighted(&m, w);
    float* g = malloc(lo->num_params * sizeof(float));
    memcpy(g, lo->grads, lo->num_params * sizeof(float));
    int bad = 0, checked = 0;
    for (int q = 0; q < 40; q++) {
        size_t j = (size_t)rng_below(&r, (uint32_t)lo->num_params);
        if (q < 20) {   /* also the largest gradients */
            double best = -1;
            for (size_t z = 0; z < lo->num_params; z++)
                if (fabs(g[z]) > best && (z * 7 + q) % 20 == 0) { best = fabs(g[z]); j = z; }
        }
        float save = lo->params[j];
        float h = 1e-2f;
        lo->params[j] = save + h;
        double lp = wloss(&m, in, tg, B, T, w);
        lo->params[j] = save - h;
        double lm = wloss(&m, in, tg, B, T, w);
        lo->params[j] = save;
        double num = (lp - lm) / (2 * h), ana = g[j];
        checked++;
        if (fabs(num) + fabs(ana) > 1e-4 && fabs(num - ana) / (fabs(num) + fabs(ana)) > 0.05) {
            bad++;
            printf("  lora[%zu]: analytic %.6g numeric %.6g\n", j, ana, num);
        }
    }
    CHECK("lora_grad_finite_differences", bad == 0, "%d of %d off", bad, checked);
    const ParamInfo* qkv = model_param(&m, "h.0.attn.c_attn.weight");
    double gsum = 0;
    for (size_t i = 0; i < qkv->numel; i++) gsum += fabs(m.grads[qkv->offset + i]);
    CHECK("lora_base_weights_frozen", gsum == 0, "base c_attn grad sum %g", gsum);
    lo->enabled = 0;
    float off = model_forward(&m, in, tg, B, T);
    CHECK("lora_disabled_is_base", off == base, "loss %g vs %g", off, base);
    lo->enabled = 1;

    /* Decoding with the KV cache gives the full forward's logits, position by position. */
    model_forward(&m, in, NULL, B, T);
    float* full = malloc((size_t)BT * m.V * sizeof(float));
    memcpy(full, m.logits, (size_t)BT * m.V * sizeof(float));
    KVCache kv;
    kv_init(&kv, &m, B, T);
    double worst = 0;
    for (int t = 0; t < T; t++) {
        int tok[2] = {in[t], in[T + t]}, pos[2] = {t, t};
        model_decode(&m, &kv, tok, pos, B);
        for (int b = 0; b < B; b++)
            for (int v = 0; v < m.V; v++) {
                double d = fabs(m.logits[(size_t)b * m.V + v] - full[((size_t)b * T + t) * m.V + v]);
                if (d > worst) worst = d;
            }
    }
    CHECK("kv_decode_matches_forward", worst < 1e-4, "max logit difference %g", worst);
    printf("  kv decode vs full forward: max |logit diff| %.2e\n", worst);
    kv_free(&kv);
    /* A prefill of the first P positions in one batched forward, then decoding
     * from each sequence's own position (sequence 1 restarts inside the
     * prefilled span): the full forward's logits again. */
    int P = T / 2;
    kv_init(&kv, &m, B, T);
    model_prefill(&m, &kv, in, 1, P);   /* sequence 0: its first P tokens */
    int* pre = malloc((size_t)B * P * sizeof(int));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < P; t++) pre[b * P + t] = in[b * T + t];
    model_prefill(&m, &kv, pre, B, P);
    free(pre);
    worst = 0;
    for (int s = 0; s < T - P; s++) {
        int p1 = P - 2 + s;   /* sequence 1 from position P - 2 on */
        int tok[2] = {in[P + s], in[T + p1]}, pos[2] = {P + s, p1};
        model_decode(&m, &kv, tok, pos, B);
        for (int b = 0; b < B; b++) {
            int t = b ? p1 : P + s;
            for (int v = 0; v < m.V; v++) {
                double d = fabs(m.logits[(size_t)b * m.V + v] - full[((size_t)b * T + t) * m.V + v]);
                if (d > worst) worst = d;
            }
        }
    }
    CHECK("kv_prefill_then_decode_matches_forward", worst < 1e-4, "max logit difference %g", worst);
    printf("  kv prefill + decode vs full forward: max |logit diff| %.2e\n", worst);
    kv_free(&kv);
    /* Decoding on the weights transposed once (model_decode_weights, as sample_batch
     * runs it on the CPU): the full forward's logits again; off again, the plain
     * products' bits exactly. */
    kv_init(&kv, &m, B, T);
    KVCache kv2;
    kv_init(&kv2, &m, B, T);
    worst = 0;
    int plain_same = 1;
    float* plain = malloc((size_t)B * m.V * sizeof(float));
    for (int t = 0; t < T; t++) {
        int tok[2] = {in[t], in[T + t]}, pos[2] = {t, t};
        model_decode(&m, &kv2, tok, pos, B);
        memcpy(plain, m.logits, (size_t)B * m.V * sizeof(float));
        model_decode_weights(&m, 1);
        model_decode(&m, &kv, tok, pos, B);
        model_decode_weights(&m, 0);
        for (int b = 0; b < B; b++)
            for (int v = 0; v < m.V; v++) {
                double d = fabs(m.logits[(size_t)b * m.V + v] - full[((size_t)b * T + t) * m.V + v]);
                if (d > worst) worst = d;
            }
        model_decode(&m, &kv2, tok, pos, B);   /* the same position again, plain */
        plain_same &= memcmp(plain, m.logits, (size_t)B * m.V * sizeof(float)) == 0;
    }
    CHECK("kv_decode_transposed_weights_matches_forward", m.wt != NULL && worst < 1e-4, "max logit difference %g (copies %s)", worst,
          m.wt ? "made" : "never made");
    CHECK("kv_decode_transposed_weights_off_is_plain", plain_same, "plain decoding changed after the transposed one");
    printf("  kv decode on transposed weights vs full forward: max |logit diff| %.2e\n", worst);
    free(plain);
    kv_free(&kv); kv_free(&kv2);
    free(full);
    free(g);
    m.lora = NULL;
    lora_free(lo);
    model_free(&m);
}

static void table_check(void) {
    ModelConfig cfg = tiny_cfg(4);
    Model m;
    model_build(&m, &cfg, 1);
    size_t expect = 300 * 16 + 8 * 16 + 2 * 16 +
                    2 * (4 * 16 + 3 * 16 * 16 + 3 * 16 + 16 * 16 + 16 + 4 * 16 * 16 + 4 * 16 + 16 * 64 + 16 + 2 * (24 * 64 + 3 + 24));
    const ParamInfo* phi = model_param(&m, "h.1.mhc_mlp.phi");
    const ParamInfo* b = model_param(&m, "h.0.mhc_attn.bias");
    CHECK("model_param_count", m.num_params == expect, "%zu params, expected %zu", m.num_params, expect);
    CHECK("model_param_names_shapes", phi && phi->shape[0] == 24 && phi->shape[1] == 64 && b && b->numel == 24 &&
          model_param(&m, "wte") && model_param(&m, "ln_f.bias"), "table differs from docs/model.md");
    /* Init: H_res ~ I, H_pre = 1/n, H_post = 1. */
    const float* bias = m.params + b->offset;
    CHECK("model_mhc_init_biases", fabsf(1.0f / (1.0f + expf(-bias[0])) - 0.25f) < 1e-6f && bias[4] == 0 &&
          bias[8] == 0 && bias[9] == -8.0f, "b_pre %g b_post %g b_res %g %g", bias[0], bias[4], bias[8], bias[9]);
    model_free(&m);
}

static void put(StTensor* t, const char* name, StDtype dt, int ndim, int64_t d0, int64_t d1, int64_t d2, const void* data, size_t nbytes) {
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dt; t->ndim = ndim; t->shape[0] = d0; t->shape[1] = d1; t->shape[2] = d2;
    t->data = data; t->nbytes = nbytes;
}

static int write_params(const char* path, const Model* m, const float* buf) {
    char err[ERR_LEN];
    StTensor* t = calloc(m->ntensors, sizeof *t);
    for (int i = 0; i < m->ntensors; i++) {
        const ParamInfo* p = &m->info[i];
        put(&t[i], p->name, ST_F32, p->ndim, p->shape[0], p->shape[1], 0, buf + p->offset, p->numel * sizeof(float));
    }
    int rc = st_write(path, t, m->ntensors, NULL, err);
    if (rc) fprintf(stderr, "%s\n", err);
    free(t);
    return rc;
}

/* The files tests/torch/ref_model.py compare reads: a perturbed tiny model, one
 * batch, our logits, loss, gradients, and a 10-step AdamW loss trajectory. */
static int dump(const char* dir, int n) {
    char err[ERR_LEN], p[4200];
    if (mkdir_p(dir, err)) { fprintf(stderr, "%s\n", err); return 2; }
    ModelConfig cfg = tiny_cfg(n);
    Model m;
    model_build(&m, &cfg, 7);
    perturb(&m, 8);
    int B = 2, T = 8, BT = B * T, steps = 10;
    double lr = 1e-2, wd = 0.1;
    int in[16], tg[16];
    batch(in, tg, BT, m.V, 9);
    json_t* c = model_config_to_json(&cfg);
    json_object_set_new(c, "B", json_integer(B)); json_object_set_new(c, "T", json_integer(T));
    json_object_set_new(c, "lr", json_real(lr)); json_object_set_new(c, "beta1", json_real(0.9));
    json_object_set_new(c, "beta2", json_real(0.95)); json_object_set_new(c, "eps", json_real(1e-8));
    json_object_set_new(c, "weight_decay", json_real(wd)); json_object_set_new(c, "steps", json_integer(steps));
    if (path_join(p, sizeof p, dir, "config.json", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (json_write_atomic(p, c, err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (path_join(p, sizeof p, dir, "weights.safetensors", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (write_params(p, &m, m.params)) return 1;
    StTensor bt[2];
    put(&bt[0], "inputs", ST_I32, 2, B, T, 0, in, sizeof in);
    put(&bt[1], "targets", ST_I32, 2, B, T, 0, tg, sizeof tg);
    if (path_join(p, sizeof p, dir, "batch.safetensors", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (st_write(p, bt, 2, NULL, err)) { fprintf(stderr, "%s\n", err); return 1; }
    float loss = model_forward(&m, in, tg, B, T);
    StTensor ot[2];
    put(&ot[0], "logits", ST_F32, 3, B, T, m.V, m.logits, (size_t)BT * m.V * sizeof(float));
    put(&ot[1], "loss", ST_F32, 1, 1, 0, 0, &loss, sizeof loss);
    if (path_join(p, sizeof p, dir, "outputs.safetensors", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (st_write(p, ot, 2, NULL, err)) { fprintf(stderr, "%s\n", err); return 1; }
    model_zero_grad(&m);
    model_backward(&m, 1.0f);
    if (path_join(p, sizeof p, dir, "grads.safetensors", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (write_params(p, &m, m.grads)) return 1;
    OptimCfg oc = {lr, 0, 0.9, 0.95, 1e-8, wd, 0, 0, steps};
    float* mo = calloc(m.num_params, sizeof(float));
    float* vo = calloc(m.num_params, sizeof(float));
    json_t* losses = json_array();
    for (int s = 0; s < steps; s++) {
        double l = model_forward(&m, in, tg, B, T);
        json_array_append_new(losses, json_real(l));
        model_zero_grad(&m);
        model_backward(&m, 1.0f);
        optim_step(&oc, &m, mo, vo, s + 1, lr);
    }
    json_t* tr = json_pack("{s:o}", "losses", losses);
    if (path_join(p, sizeof p, dir, "trajectory.json", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (json_write_atomic(p, tr, err)) { fprintf(stderr, "%s\n", err); return 1; }
    json_decref(tr); json_decref(c);
    free(mo); free(vo);
    model_free(&m);
    return 0;
}

/* --dump-lora DIR: a perturbed mHC model with a LoRA adapter (B nonzero), one
 * batch with ignored positions and per-token weights, and the adapter's gradients
 * of sum_i w_i * CE_i, for tests/torch/ref_lora.py. */
static int dump_lora(const char* dir) {
    char err[ERR_LEN], p[4200];
    if (mkdir_p(dir, err)) { fprintf(stderr, "%s\n", err); return 2; }
    ModelConfig cfg = tiny_cfg(4);
    Model m;
    model_build(&m, &cfg, 7);
    perturb(&m, 8);
    int B = 2, T = 8, BT = B * T;
    int in[16], tg[16];
    batch(in, tg, BT, m.V, 9);
    tg[0] = -1; tg[1] = -1; tg[8] = -1;
    Lora* lo = lora_new(&m, 4, 8.0f, 3);
    Rng r;
    rng_seed(&r, 4);
    for (size_t i = 0; i < lo->num_params; i++) lo->params[i] += (float)(0.05 * rng_normal(&r));
    float w[16];
    for (int i = 0; i < BT; i++) w[i] = (float)(rng_double(&r) - 0.4);
    m.lora = lo;
    m.train_base = 0;
    json_t* c = model_config_to_json(&cfg);
    if (path_join(p, sizeof p, dir, "config.json", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (json_write_atomic(p, c, err)) { fprintf(stderr, "%s\n", err); return 1; }
    json_decref(c);
    if (path_join(p, sizeof p, dir, "weights.safetensors", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (write_params(p, &m, m.params)) return 1;
    if (path_join(p, sizeof p, dir, "lora.safetensors", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (lora_save(p, lo, &m, 0, err)) { fprintf(stderr, "%s\n", err); return 1; }
    StTensor bt[3];
    put(&bt[0], "inputs", ST_I32, 2, B, T, 0, in, sizeof in);
    put(&bt[1], "targets", ST_I32, 2, B, T, 0, tg, sizeof tg);
    put(&bt[2], "weights", ST_F32, 2, B, T, 0, w, sizeof w);
    if (path_join(p, sizeof p, dir, "batch.safetensors", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (st_write(p, bt, 3, NULL, err)) { fprintf(stderr, "%s\n", err); return 1; }
    float loss = (float)wloss(&m, in, tg, B, T, w);
    lora_zero_grad(lo);
    model_backward_weighted(&m, w);
    /* The gradients, under the adapter's own names. */
    memcpy(lo->params, lo->grads, lo->num_params * sizeof(float));
    if (path_join(p, sizeof p, dir, "lora_grads.safetensors", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (lora_save(p, lo, &m, 0, err)) { fprintf(stderr, "%s\n", err); return 1; }
    StTensor ot[1];
    put(&ot[0], "loss", ST_F32, 1, 1, 0, 0, &loss, sizeof loss);
    if (path_join(p, sizeof p, dir, "outputs.safetensors", err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (st_write(p, ot, 1, NULL, err)) { fprintf(stderr, "%s\n", err); return 1; }
    m.lora = NULL;
    lora_free(lo);
    model_free(&m);
    return 0;
}

int main(int argc, char** argv) {
    if (argc > 2 && !strcmp(argv[1], "--dump-lora")) return dump_lora(argv[2]);
    if (argc > 1 && !strcmp(argv[1], "--dump")) {
        if (argc < 3) { fprintf(stderr, "usage: test_model --dump DIR [--mhc N]\n"); return 2; }
        int n = argc > 4 && !strcmp(argv[3], "--mhc") ? atoi(argv[4]) : 4;
        return dump(argv[2], n);
    }
    table_check();
    lora_check();
    fd_check(0);
    fd_check(4);
    return check_status();
}
