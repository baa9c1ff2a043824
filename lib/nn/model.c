/* model: see model.h and docs/model.md. Layout and naming follow llm.c: one
 * parameter buffer with pointers into it, <layer>_forward/_backward kernels. */
#include "model.h"
#include "kernels.h"
#include "json.h"
#include "rng.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const Opt MODEL_OPTS[] = {
    {"d_model", OPT_INT, offsetof(ModelConfig, d_model), "128", 8, 65536, "channels C"},
    {"n_layers", OPT_INT, offsetof(ModelConfig, n_layers), "4", 1, 1024, "decoder layers L"},
    {"n_heads", OPT_INT, offsetof(ModelConfig, n_heads), "4", 1, 1024, "attention heads (must divide d_model)"},
    {"seq_len", OPT_INT, offsetof(ModelConfig, seq_len), "128", 1, 65536, "maximum positions (wpe rows)"},
    {"vocab_size", OPT_INT, offsetof(ModelConfig, vocab_size), "1024", 259, 4194304, "tokens (>= 256 bytes + specials + 1)"},
    {"mhc", OPT_JSON, offsetof(ModelConfig, mhc), "{\"n\": 0}", OPT_RANGE_NONE, "mHC residual streams: {n: 4}; {n: 0} = plain residual"},
    {"sinkhorn_iters", OPT_INT, offsetof(ModelConfig, sinkhorn_iters), "20", 1, 1000, "Sinkhorn-Knopp iterations for H_res"},
    {"init_std", OPT_FLOAT, offsetof(ModelConfig, init_std), "0.02", 0, 10, "std of the normal init of weights and embeddings"},
    {0},
};

int model_config_validate(ModelConfig* c, const char* where, char err[ERR_LEN]) {
    json_t* n = json_is_object(c->mhc) ? json_object_get(c->mhc, "n") : NULL;
    if (!json_is_integer(n) || json_object_size(c->mhc) != 1) {
        snprintf(err, ERR_LEN, "%s: mhc: expected a mapping {n: N}", where);
        return -1;
    }
    c->mhc_n = (int)json_integer_value(n);
    if (c->mhc_n < 0 || c->mhc_n == 1 || c->mhc_n > 16) {
        snprintf(err, ERR_LEN, "%s: mhc.n: %d makes no sense (0 = off, or 2..16 streams)", where, c->mhc_n);
        return -1;
    }
    if (c->d_model % c->n_heads) {
        snprintf(err, ERR_LEN, "%s: n_heads: %ld does not divide d_model %ld", where, c->n_heads, c->d_model);
        return -1;
    }
    return 0;
}

int model_config_load(ModelConfig* c, const char* path, char err[ERR_LEN]) {
    if (cfg_defaults(MODEL_OPTS, c, err) || cfg_load(path, NULL, MODEL_OPTS, c, NULL, err)) return -1;
    return model_config_validate(c, path, err);
}

json_t* model_config_to_json(const ModelConfig* c) { return cfg_to_json(MODEL_OPTS, c); }

int model_config_from_json(ModelConfig* c, const json_t* j, const char* where, char err[ERR_LEN]) {
    if (cfg_defaults(MODEL_OPTS, c, err)) return -1;
    if (!json_is_object(j)) { snprintf(err, ERR_LEN, "%s: model config is not an object", where); return -1; }
    const char* k;
    json_t* v;
    json_object_foreach((json_t*)j, k, v) {
        const Opt* o = cfg_find(MODEL_OPTS, k);
        if (!o) { snprintf(err, ERR_LEN, "%s: model config: unknown key '%s'", where, k); return -1; }
        char* f = (char*)c + o->off;
        if (o->type == OPT_INT && json_is_integer(v)) *(long*)f = (long)json_integer_value(v);
        else if (o->type == OPT_FLOAT && json_is_number(v)) *(double*)f = json_number_value(v);
        else if (o->type == OPT_JSON) *(json_t**)f = json_deep_copy(v);
        else { snprintf(err, ERR_LEN, "%s: model config: %s has the wrong type", where, k); return -1; }
    }
    return model_config_validate(c, where, err);
}

/* ---- parameters ------------------------------------------------------------ */

static void add_param(Model* m, size_t* off, const char* name, int d0, int d1, int decay) {
    ParamInfo* p = &m->info[m->ntensors++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = d1 ? 2 : 1;
    p->shape[0] = d0;
    p->shape[1] = d1;
    p->numel = (size_t)d0 * (d1 ? d1 : 1);
    p->offset = *off;
    p->decay = decay;
    *off += p->numel;
}

/* Walks the table in docs/model.md order; with m->params set, also points LayerW at it. */
static void layout(Model* m) {
    size_t off = 0;
    int C = m->C, n = m->n, M = m->M;
    char nm[64];
    m->ntensors = 0;
    add_param(m, &off, "wte", m->V, C, 1);
    add_param(m, &off, "wpe", m->Tmax, C, 1);
    for (int l = 0; l < m->L; l++) {
#define P(suffix, d0, d1, decay) (snprintf(nm, sizeof nm, "h.%d.%s", l, suffix), add_param(m, &off, nm, d0, d1, decay))
        P("ln_1.weight", C, 0, 0); P("ln_1.bias", C, 0, 0);
        P("attn.c_attn.weight", 3 * C, C, 1); P("attn.c_attn.bias", 3 * C, 0, 0);
        P("attn.c_proj.weight", C, C, 1); P("attn.c_proj.bias", C, 0, 0);
        P("ln_2.weight", C, 0, 0); P("ln_2.bias", C, 0, 0);
        P("mlp.c_fc.weight", 4 * C, C, 1); P("mlp.c_fc.bias", 4 * C, 0, 0);
        P("mlp.c_proj.weight", C, 4 * C, 1); P("mlp.c_proj.bias", C, 0, 0);
        if (n) {
            P("mhc_attn.phi", M, n * C, 0); P("mhc_attn.alpha", 3, 0, 0); P("mhc_attn.bias", M, 0, 0);
            P("mhc_mlp.phi", M, n * C, 0); P("mhc_mlp.alpha", 3, 0, 0); P("mhc_mlp.bias", M, 0, 0);
        }
#undef P
    }
    add_param(m, &off, "ln_f.weight", C, 0, 0);
    add_param(m, &off, "ln_f.bias", C, 0, 0);
    m->num_params = off;
}

const ParamInfo* model_param(const Model* m, const char* name) {
    for (int i = 0; i < m->ntensors; i++)
        if (!strcmp(m->info[i].name, name)) return &m->info[i];
    return NULL;
}

static float* at(Model* m, int* k) { return m->params + m->info[(*k)++].offset; }

/* LayerW and the named pointers into m->params (wherever it lives). */
static void point_params(Model* m) {
    int k = 0;
    m->wte = at(m, &k);
    m->wpe = at(m, &k);
    for (int l = 0; l < m->L; l++) {
        LayerW* w = &m->layers[l];
        w->ln1w = at(m, &k); w->ln1b = at(m, &k); w->qkvw = at(m, &k); w->qkvb = at(m, &k);
        w->projw = at(m, &k); w->projb = at(m, &k); w->ln2w = at(m, &k); w->ln2b = at(m, &k);
        w->fcw = at(m, &k); w->fcb = at(m, &k); w->fcprojw = at(m, &k); w->fcprojb = at(m, &k);
        for (int s = 0; s < 2 && m->n; s++) { w->phi[s] = at(m, &k); w->alpha[s] = at(m, &k); w->mbias[s] = at(m, &k); }
    }
    m->lnfw = at(m, &k);
    m->lnfb = at(m, &k);
}

void model_build(Model* m, const ModelConfig* cfg, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->k = &kernels_cpu;
    m->C = (int)cfg->d_model; m->L = (int)cfg->n_layers; m->NH = (int)cfg->n_heads;
    m->V = (int)cfg->vocab_size; m->Tmax = (int)cfg->seq_len; m->n = cfg->mhc_n;
    m->M = m->n ? 2 * m->n + m->n * m->n : 0;
    m->S = m->n ? m->n : 1;
    m->train_base = 1;
    m->info = calloc_check(4 + 18 * (size_t)m->L, sizeof *m->info);
    layout(m);
    m->params = calloc_check(m->num_params, sizeof(float));
    m->grads = calloc_check(m->num_params, sizeof(float));
    m->hparams = m->params;
    m->layers = calloc_check(m->L, sizeof *m->layers);
    point_params(m);
    /* Init (docs/model.md): one rng stream, tensors in table order. */
    Rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < m->ntensors; i++) {
        ParamInfo* p = &m->info[i];
        float* x = m->params + p->offset;
        const char* nm = p->name;
        size_t len = strlen(nm);
        int is = 0;
#define ENDS(s) (len >= strlen(s) && !strcmp(nm + len - strlen(s), s))
        if (ENDS("phi")) is = 0;
        else if (ENDS("alpha")) { for (size_t j = 0; j < p->numel; j++) x[j] = 0.01f; continue; }
        else if (ENDS("mhc_attn.bias") || ENDS("mhc_mlp.bias")) {
            int n = m->n;
            for (int j = 0; j < n; j++) x[j] = -logf((float)(n - 1));
            for (int j = 0; j < n; j++) x[n + j] = 0.0f;
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++) x[2 * n + a * n + b] = a == b ? 0.0f : -8.0f;
            continue;
        } else if (ENDS("ln_1.weight") || ENDS("ln_2.weight") || ENDS("ln_f.weight")) {
            for (size_t j = 0; j < p->numel; j++) x[j] = 1.0f;
            continue;
        } else if (p->ndim == 2) is = 1;
#undef ENDS
        if (is) for (size_t j = 0; j < p->numel; j++) x[j] = (float)(cfg->init_std * rng_normal(&r));
    }
}

/* ---- activations ------------------------------------------------------------ */

struct SubActs {
    /* mHC (n > 0) */
    float *r, *rms_inv, *p, *H, *sk, *u;  /* (BT,nC) (BT) (BT,M) (BT,M) (BT,SAVED) (BT,C) */
    /* the sublayer F */
    float *ln, *mean, *rstd;              /* (BT,C) (BT) (BT) */
    union {                               /* the two sublayer kinds share the slots (llm.c's names) */
        struct { float *qkv, *atty, *preatt, *att; };  /* attention: (BT,3C) (BT,C) (B,NH,T,T)|0 (B,NH,T,T)|(B,NH,T) */
        struct { float *fch, *fch_gelu; };             /* MLP: c_fc's output and its GELU, (BT,4C) each */
    };
    float *y;                             /* (BT,C) */
};

/* LoRA's saved activations follow the model's batch size. */
static void lora_reserve(Model* m, size_t rows) {
    Lora* lo = m->lora;
    if (!lo || rows <= lo->cap_rows) return;
    const KernelOps* k = m->k;
    k->release(lo->tmp); k->release(lo->scr); k->release(lo->dt);
    lo->cap_rows = rows;
    lo->tmp = k->alloc((size_t)lo->L * LORA_PROJ * rows * lo->rank * sizeof(float));
    lo->scr = k->alloc(rows * 4 * (size_t)m->C * sizeof(float));
    lo->dt = k->alloc(rows * (size_t)lo->rank * sizeof(float));
}

static int on_host(const Model* m) { return m->k == &kernels_cpu; }

static void graphs_free(Model* m);

static void free_acts(Model* m) {
    const KernelOps* k = m->k;
    graphs_free(m);   /* they hold the buffers' addresses */
    k->release(m->act_mem); k->release(m->inputs); k->release(m->targets); k->release(m->pos);
    if (!on_host(m)) { free(m->hlogits); free(m->hlosses); }
    free(m->sub); free(m->xs);
    m->act_mem = NULL; m->inputs = m->targets = m->pos = NULL; m->hlogits = m->hlosses = NULL;
    m->sub = NULL; m->xs = NULL;
    m->cap_B = m->cap_T = 0;
    m->cap_att = m->cap_att_full = 0;
}

/* Floats of each attention buffer for B x T: att, and preatt / dpreatt / datt
 * (none where the backend fuses attention: att then keeps a float per row). */
static void att_sizes(const Model* m, int B, int T, size_t* att, size_t* full) {
    const KernelOps* k = m->k;
    size_t rows = (size_t)B * m->NH * T;
    int fused = k->attention_fused && k->attention_fused(T, m->C, m->NH);
    *att = fused ? rows : rows * T;
    *full = fused ? 0 : rows * T;
}

#define ACT_ALIGN 16

void model_alloc(Model* m, int B, int T) {
    lora_reserve(m, (size_t)B * T);
    /* Buffers sized for cap_B x cap_T hold any B x T with as many positions and
     * attention buffers no larger. */
    size_t cap_bt = (size_t)m->cap_B * m->cap_T, att, full;
    att_sizes(m, B, T, &att, &full);
    if (m->act_mem && (size_t)B * T <= cap_bt && att <= m->cap_att && full <= m->cap_att_full) {
        m->B = B; m->T = T;
        return;
    }
    free_acts(m);
    m->B = m->cap_B = B;
    m->T = m->cap_T = T;
    m->cap_att = att, m->cap_att_full = full;
    size_t BT = (size_t)B * T, C = m->C, S = m->S, n = m->n, M = m->M, V = m->V;
    size_t sk = n ? (size_t)SINKHORN_SAVED_FLOATS(n, m->cfg.sinkhorn_iters) : 0;
    size_t per_sub_mhc = n ? BT * (n * C + 1 + 2 * M + sk + C) : 0;
    size_t per_attn = BT * (C + 2 + 3 * C + C + C) + full + att;
    size_t per_mlp = BT * (C + 2 + 8 * C + C);
    size_t total = (2 * m->L + 1) * BT * S * C + m->L * (2 * per_sub_mhc + per_attn + per_mlp) +
                   BT * (3 * C + 2 + 2 * V + 1) +
                   /* backward scratch */
                   2 * BT * S * C + 4 * BT * C + 2 * BT * 4 * C + BT * C + BT * 3 * C + 2 * full + 2 * BT * M + BT * n * C + 2 * BT * C + 2 * BT * n * n;
    /* Every buffer starts on a 64-byte boundary (ACT_ALIGN floats): cuBLASLt's
     * vectorised kernels and its epilogues want aligned operands whatever B*T is. */
    size_t nbufs = (2 * m->L + 1) + 2 * m->L * 14 + 7 + 20;
    total += nbufs * ACT_ALIGN;
    m->act_floats = total;
    m->act_mem = m->k->alloc(total * sizeof(float));
    float* p = m->act_mem;
#define TAKE(ptr, count) (ptr = p, p += ((count) + ACT_ALIGN - 1) / ACT_ALIGN * ACT_ALIGN)
    m->xs = calloc_check(2 * m->L + 1, sizeof *m->xs);
    for (int k = 0; k < 2 * m->L + 1; k++) TAKE(m->xs[k], BT * S * C);
    m->sub = calloc_check(2 * m->L, sizeof *m->sub);
    for (int k = 0; k < 2 * m->L; k++) {
        SubActs* a = &m->sub[k];
        if (n) { TAKE(a->r, BT * n * C); TAKE(a->rms_inv, BT); TAKE(a->p, BT * M); TAKE(a->H, BT * M); TAKE(a->sk, BT * sk); TAKE(a->u, BT * C); }
        TAKE(a->ln, BT * C); TAKE(a->mean, BT); TAKE(a->rstd, BT);
        if (k % 2 == 0) { TAKE(a->qkv, BT * 3 * C); TAKE(a->atty, BT * C); TAKE(a->preatt, full); TAKE(a->att, att); }
        else { TAKE(a->fch, BT * 4 * C); TAKE(a->fch_gelu, BT * 4 * C); }
        TAKE(a->y, BT * C);
    }
    TAKE(m->hsum, BT * C); TAKE(m->lnf, BT * C); TAKE(m->lnf_mean, BT); TAKE(m->lnf_rstd, BT);
    TAKE(m->logits, BT * V); TAKE(m->ce_stats, BT * 2); TAKE(m->losses, BT);
    TAKE(m->dx_a, BT * S * C); TAKE(m->dx_b, BT * S * C); TAKE(m->du, BT * C); TAKE(m->dy, BT * C);
    TAKE(m->dln, BT * C); TAKE(m->dlnf, BT * C); TAKE(m->dfch, BT * 4 * C); TAKE(m->dfch_gelu, BT * 4 * C);
    TAKE(m->datty, BT * C); TAKE(m->dqkv, BT * 3 * C); TAKE(m->dpreatt, full); TAKE(m->datt, full);
    TAKE(m->dH, BT * M); TAKE(m->dp, BT * M); TAKE(m->dr, BT * n * C); TAKE(m->dh, BT * C);
    TAKE(m->sk_g, BT * n * n); TAKE(m->sk_d, BT * n * n);
#undef TAKE
    internal_check((size_t)(p - m->act_mem) <= total, "activation layout overflow");
    m->inputs = m->k->alloc(BT * sizeof(int));
    m->targets = m->k->alloc(BT * sizeof(int));
    m->pos = m->k->alloc(BT * sizeof(int));
    /* Host views of the logits and losses: the buffers themselves on the CPU. */
    m->hlogits = on_host(m) ? m->logits : malloc_check(BT * V * sizeof(float));
    m->hlosses = on_host(m) ? m->losses : malloc_check(BT * sizeof(float));
}

void model_free(Model* m) {
    free_acts(m);
    kv_free(&m->kv);
    m->k->release(m->wt);
    m->k->release(m->params); m->k->release(m->grads);
    if (!on_host(m)) free(m->hparams);
    free(m->hgrads); free(m->layers); free(m->info);
    json_decref(m->cfg.mhc);
    memset(m, 0, sizeof *m);
}

/* ---- device placement ------------------------------------------------------------ */

void model_to_device(Model* m, const KernelOps* k) {
    if (k == m->k) return;
    internal_check(on_host(m), "a model moves from the CPU only");
    internal_check(!m->lora, "move the model before attaching LoRA");
    free_acts(m);
    kv_free(&m->kv);
    m->k->release(m->wt);   /* on the old backend; made again by model_decode_weights */
    m->wt = NULL;
    m->wt_on = 0;
    size_t bytes = m->num_params * sizeof(float);
    float* d = k->alloc(bytes);
    k->upload(d, m->params, bytes);
    m->hparams = m->params;   /* the host buffer stays, as the host copy */
    free(m->grads);
    m->params = d;
    m->grads = k->alloc(bytes);
    m->k = k;
    point_params(m);
}

int model_use_device(Model* m, const char* device, const char* precision, char err[ERR_LEN]) {
    const KernelOps* k = kernels_get(device, precision, err, ERR_LEN);
    if (!k) return -1;
    model_to_device(m, k);
    return 0;
}

json_t* kernels_json(const KernelOps* k) {
    return json_pack("{s:s, s:s, s:s}", "backend", k->name, "precision", k->precision, "gpu",
                     k->device_name ? k->device_name : "");
}

void model_reinit(Model* m, uint64_t seed) {
    Model fresh;
    ModelConfig c = m->cfg;
    c.mhc = json_deep_copy(m->cfg.mhc);   /* model_free releases its own copy */
    model_build(&fresh, &c, seed);
    memcpy(m->hparams, fresh.params, m->num_params * sizeof(float));
    model_free(&fresh);
    model_params_changed(m);
}

float* model_params_host(Model* m) {
    if (!on_host(m)) m->k->download(m->hparams, m->params, m->num_params * sizeof(float));
    return m->hparams;
}

void model_params_changed(Model* m) {
    if (!on_host(m)) m->k->upload(m->params, m->hparams, m->num_params * sizeof(float));
}

float* model_grads_host(Model* m) {
    if (on_host(m)) return m->grads;
    if (!m->hgrads) m->hgrads = malloc_check(m->num_params * sizeof(float));
    m->k->download(m->hgrads, m->grads, m->num_params * sizeof(float));
    return m->hgrads;
}

void model_grads_changed(Model* m) {
    if (!on_host(m)) m->k->upload(m->grads, m->hgrads, m->num_params * sizeof(float));
}

const float* model_logits(Model* m) {
    m->k->download(m->hlogits, m->logits, (size_t)m->B * m->T * m->V * sizeof(float));
    return m->hlogits;
}

const float* model_losses(Model* m) {
    m->k->download(m->hlosses, m->losses, (size_t)m->B * m->T * sizeof(float));
    return m->hlosses;
}

/* ---- forward ------------------------------------------------------------------ */

#define MHC_RMS_EPS 1e-6f

/* mHC coefficients and the sublayer input u from streams x (BT, n, C).
 * normed: a->r and a->rms_inv were already written (by the previous
 * sublayer's fused mhc_post_rmsnorm_forward). */
static void mhc_pre(Model* m, SubActs* a, const float* x, const float* phi, const float* alpha,
                    const float* bias, int BT, int normed) {
    const KernelOps* k = m->k;
    int n = m->n, C = m->C, M = m->M;
    if (!normed) k->rmsnorm_forward(a->r, a->rms_inv, x, BT, n * C, MHC_RMS_EPS);
    k->matmul_forward(a->p, a->r, phi, NULL, BT, n * C, M);
    float* hres = m->dp;   /* scratch (BT, n*n) until backward */
    float* Hres = m->dH;   /* scratch (BT, n*n) */
    k->mhc_coeffs_forward(a->H, hres, a->p, alpha, bias, BT, n);
    k->sinkhorn_forward(Hres, a->sk, hres, BT, n, (int)m->cfg.sinkhorn_iters);
    k->mhc_pre_forward(a->u, a->H, Hres, x, BT, n, C);
}

static int lora_on(const Model* m) { return m->lora && m->lora->enabled; }

/* ---- CUDA graphs of the passes --------------------------------------------------
 * The forward, the backward and a decoding step issue hundreds of kernels each;
 * on a backend with graphs (CUDA) a pass is recorded once and replayed as one
 * launch. Everything the pass's host code decides from (shapes, buffers and
 * their layout, the adapter's state, the cache) is its key: the first run of a
 * key runs directly (the backend's scratch and plans come into being), the
 * second is captured and replayed, later ones replay. Inputs reach the pass
 * through fixed device buffers (m->inputs, m->pos, ...) uploaded before it;
 * results are read after it. A stale graph (the backend replaced a scratch
 * buffer) runs directly once and is captured again. */
#define MODEL_GRAPHS 8
/* _LOSS: with the cross-entropy (forward) or its gradient (backward) inside */
enum { PASS_FORWARD, PASS_FORWARD_LOSS, PASS_BACKWARD, PASS_BACKWARD_LOSS, PASS_DECODE, PASS_PREFILL };
typedef struct {
    int pass, B, T, cap_B, cap_T, train_base, lora_enabled, lora_rank, kv_N, kv_T;
    float lora_scale;
    size_t lora_rows;   /* the adapter's buffers' layout (cap_rows) */
    const void *acts, *lora, *lora_params, *lora_grads, *lora_tmp, *lora_scr, *lora_dt, *kv_k, *kv_v;
} PassKey;
struct PassGraph {
    PassKey key;
    int used;          /* 0: a free slot */
    int failed;        /* capture failed once: this key runs directly */
    void* graph;       /* NULL until captured */
    unsigned long last;
};

/* Keys compare with memcmp and are copied with memcpy, padding included (zeroed here). */
static void pass_key(PassKey* key, const Model* m, int pass, const KVCache* kv) {
    memset(key, 0, sizeof *key);
    key->pass = pass, key->B = m->B, key->T = m->T, key->cap_B = m->cap_B, key->cap_T = m->cap_T;
    key->train_base = m->train_base;
    key->acts = m->act_mem;
    if (m->lora) {
        const Lora* lo = m->lora;
        key->lora = lo, key->lora_params = lo->params, key->lora_grads = lo->grads;
        key->lora_tmp = lo->tmp, key->lora_scr = lo->scr, key->lora_dt = lo->dt, key->lora_rows = lo->cap_rows;
        key->lora_enabled = lo->enabled, key->lora_rank = lo->rank, key->lora_scale = lo->scale;
    }
    if (kv) key->kv_k = kv->k, key->kv_v = kv->v, key->kv_N = kv->N, key->kv_T = kv->T;
}

static void graphs_free(Model* m) {
    if (!m->graphs) return;
    for (int i = 0; i < MODEL_GRAPHS; i++)
        if (m->graphs[i].graph) m->k->graph_free(m->graphs[i].graph);
    free(m->graphs);
    m->graphs = NULL;
}

int model_graphs_held(const Model* m) {
    int n = 0;
    for (int i = 0; m->graphs && i < MODEL_GRAPHS; i++) n += m->graphs[i].graph != NULL;
    return n;
}

/* The slot for key: its own, else a free one, else the least recently used one (emptied). */
static PassGraph* graph_slot(Model* m, const PassKey* key) {
    static unsigned long tick;
    if (!m->graphs) m->graphs = calloc_check(MODEL_GRAPHS, sizeof *m->graphs);
    PassGraph* pick = NULL;
    for (int i = 0; i < MODEL_GRAPHS; i++) {
        PassGraph* g = &m->graphs[i];
        if (g->used && !memcmp(&g->key, key, sizeof *key)) { pick = g; break; }
        if (!pick || (pick->used && (!g->used || g->last < pick->last))) pick = g;
    }
    if (!pick->used || memcmp(&pick->key, key, sizeof *key)) {
        if (pick->graph) m->k->graph_free(pick->graph);
        memset(pick, 0, sizeof *pick);
        memcpy(&pick->key, key, sizeof *key);
    }
    pick->last = ++tick;
    return pick;
}

/* body(m, arg): directly, or through the pass's graph (above). */
static void run_pass(Model* m, int pass, const KVCache* kv, void (*body)(Model*, void*), void* arg) {
    const KernelOps* k = m->k;
    if (!k->graph_begin) { body(m, arg); return; }
    PassKey key;
    pass_key(&key, m, pass, kv);
    PassGraph* g = graph_slot(m, &key);
    if (g->graph && k->graph_launch(g->graph)) return;
    if (g->graph) { k->graph_free(g->graph); g->graph = NULL; g->used = 0; }   /* stale */
    if (!g->used || g->failed) { g->used = 1; body(m, arg); return; }
    if (k->graph_begin()) {
        body(m, arg);
        g->graph = k->graph_end();
        if (g->graph && k->graph_launch(g->graph)) return;
    }
    g->failed = 1;   /* nothing recorded ran: run it directly */
    body(m, arg);
}

/* W's transposed copy while a decoding pass runs on transposed weights, else NULL. */
static const float* decode_wt(const Model* m, const float* W) {
    return m->wt_on && m->decoding ? m->wt + (W - m->params) : NULL;
}

/* A projection of layer l (j = 0..3, LORA_PROJ order): out = inp W^T + b, plus
 * the adapter's scale * (inp A^T) B^T when one is on. */
static void linear_forward(Model* m, int l, int j, float* out, const float* inp, const float* W, const float* b,
                           int BT, int IN, int OUT) {
    const KernelOps* k = m->k;
    const float* wt = decode_wt(m, W);
    if (wt) k->matmul_forward_t(out, inp, wt, b, BT, IN, OUT);
    else k->matmul_forward(out, inp, W, b, BT, IN, OUT);
    Lora* lo = m->lora;
    if (!lora_on(m)) return;
    internal_check((size_t)BT <= lo->cap_rows, "LoRA buffers hold %zu rows, not %d", lo->cap_rows, BT);
    int q = l * LORA_PROJ + j, r = lo->rank;
    float* t = lo->tmp + (size_t)q * lo->cap_rows * r;
    k->matmul_forward(t, inp, lo->A[q], NULL, BT, IN, r);
    k->matmul_forward(lo->scr, t, lo->B[q], NULL, BT, r, OUT);
    k->axpy(out, lo->scale, lo->scr, (long)BT * OUT);
}

/* dinp is overwritten (the LoRA path then adds its share); dW, db accumulate. */
static void linear_backward(Model* m, int l, int j, float* dinp, float* dW, float* db, const float* dout,
                            const float* inp, const float* W, int BT, int IN, int OUT) {
    const KernelOps* k = m->k;
    k->matmul_backward(dinp, m->train_base ? dW : NULL, m->train_base ? db : NULL, dout, inp, W, BT, IN, OUT, 0);
    Lora* lo = m->lora;
    if (!lora_on(m)) return;
    int q = l * LORA_PROJ + j, r = lo->rank;
    const float* t = lo->tmp + (size_t)q * lo->cap_rows * r;
    k->zero(lo->scr, (size_t)BT * OUT * sizeof(float));
    k->axpy(lo->scr, lo->scale, dout, (long)BT * OUT);   /* scr = scale * dout */
    float* dA = lo->grads + (lo->A[q] - lo->params);
    float* dB = lo->grads + (lo->B[q] - lo->params);
    k->matmul_backward(lo->dt, dB, NULL, lo->scr, t, lo->B[q], BT, r, OUT, 0);
    k->matmul_backward(dinp, dA, NULL, lo->dt, inp, lo->A[q], BT, IN, r, 1);   /* onto the base's dinp */
}

/* The sublayers start from a->ln, their input's LayerNorm (written by layers_forward). */
static void attn_forward(Model* m, int l, const LayerW* w, SubActs* a, int B, int T) {
    int BT = B * T, C = m->C;
    linear_forward(m, l, 0, a->qkv, a->ln, w->qkvw, w->qkvb, BT, C, 3 * C);
    m->k->attention_forward(a->atty, a->preatt, a->att, a->qkv, B, T, C, m->NH);
    linear_forward(m, l, 1, a->y, a->atty, w->projw, w->projb, BT, C, C);
}

/* Without an adapter, fc and its GELU are one fused call (a GELU epilogue on the GPU);
 * decoding on transposed weights runs them as two (there is no fused transposed product). */
static void mlp_forward(Model* m, int l, const LayerW* w, SubActs* a, int BT) {
    int C = m->C;
    if (lora_on(m) || decode_wt(m, w->fcw)) {   /* the adapter's share goes in before the GELU */
        linear_forward(m, l, 2, a->fch, a->ln, w->fcw, w->fcb, BT, C, 4 * C);
        m->k->gelu_forward(a->fch_gelu, a->fch, BT * 4 * C);
    } else m->k->matmul_gelu_forward(a->fch_gelu, a->fch, a->ln, w->fcw, w->fcb, BT, C, 4 * C);
    linear_forward(m, l, 3, a->y, a->fch_gelu, w->fcprojw, w->fcprojb, BT, 4 * C, C);
}

/* One new position per sequence: attention reads and extends the sequence's
 * cached keys and values (positions in m->pos); everything else is the
 * training forward on N rows of length 1. */
static void attn_decode(Model* m, int l, const LayerW* w, SubActs* a, KVCache* kv, int N) {
    int C = m->C;
    linear_forward(m, l, 0, a->qkv, a->ln, w->qkvw, w->qkvb, N, C, 3 * C);
    size_t layer = (size_t)l * kv->N * kv->T * C;
    m->k->attention_decode_forward(a->atty, kv->k + layer, kv->v + layer, a->qkv, m->pos, N, kv->T, C, m->NH);
    linear_forward(m, l, 1, a->y, a->atty, w->projw, w->projb, N, C, C);
}

/* Sublayer q's LayerNorm (layer q / 2: ln1 before attention, ln2 before the MLP). */
static void sub_ln(const Model* m, int q, const float** w, const float** b) {
    const LayerW* lw = &m->layers[q / 2];
    *w = q % 2 ? lw->ln2w : lw->ln1w;
    *b = q % 2 ? lw->ln2b : lw->ln1b;
}

/* Every layer, from the embedded streams in m->xs[0]. With kv (decoding, T = 1),
 * attention reads and extends each sequence's cache at m->pos.
 * A sublayer's update of the residual stream and the next sublayer's norm of
 * it are one fused call (residual_layernorm_forward; with mHC
 * mhc_post_rmsnorm_forward); the last plain sublayer's carries the final
 * LayerNorm, so head_forward starts after it. */
static void layers_forward(Model* m, int B, int T, KVCache* kv) {
    const KernelOps* k = m->k;
    int BT = B * T, C = m->C, n = m->n, last = 2 * m->L - 1;
    const float *lw, *lb;
    for (int l = 0; l < m->L; l++) {
        const LayerW* w = &m->layers[l];
        for (int s = 0; s < 2; s++) {
            int q = 2 * l + s;
            SubActs* a = &m->sub[q];
            const float* x = m->xs[q];
            float* xo = m->xs[q + 1];
            const float* u = x;
            if (n) { mhc_pre(m, a, x, w->phi[s], w->alpha[s], w->mbias[s], BT, q > 0); u = a->u; }
            if (n || q == 0) {   /* else the previous sublayer's fused call wrote a->ln */
                sub_ln(m, q, &lw, &lb);
                k->layernorm_forward(a->ln, a->mean, a->rstd, u, lw, lb, BT, C);
            }
            if (s == 1) mlp_forward(m, l, w, a, BT);
            else if (kv) attn_decode(m, l, w, a, kv, BT);
            else attn_forward(m, l, w, a, B, T);
            SubActs* nx = q < last ? &m->sub[q + 1] : NULL;
            if (n && nx) k->mhc_post_rmsnorm_forward(xo, nx->r, nx->rms_inv, a->H, x, a->y, BT, n, C, MHC_RMS_EPS);
            else if (n) k->mhc_post_forward(xo, a->H, x, a->y, BT, n, C);
            else if (nx) {
                sub_ln(m, q + 1, &lw, &lb);
                k->residual_layernorm_forward(xo, nx->ln, nx->mean, nx->rstd, x, a->y, lw, lb, BT, C);
            } else k->residual_layernorm_forward(xo, m->lnf, m->lnf_mean, m->lnf_rstd, x, a->y, m->lnfw, m->lnfb, BT, C);
        }
    }
}

/* After the last layer: streams summed (mHC), final LayerNorm, tied output
 * projection into m->logits (BT, V). */
static void head_forward(Model* m, int BT) {
    int C = m->C, n = m->n;
    if (n) {   /* without mHC the last sublayer's fused call wrote lnf */
        m->k->stream_sum(m->hsum, m->xs[2 * m->L], BT, n, C);
        m->k->layernorm_forward(m->lnf, m->lnf_mean, m->lnf_rstd, m->hsum, m->lnfw, m->lnfb, BT, C);
    }
    const float* wt = decode_wt(m, m->wte);
    if (wt) m->k->matmul_forward_t(m->logits, m->lnf, wt, NULL, BT, C, m->V);
    else m->k->matmul_forward(m->logits, m->lnf, m->wte, NULL, BT, C, m->V);
}

/* m->inputs (B x T) embedded into the first stream state m->xs[0]. */
static void embed(Model* m, int B, int T) {
    const KernelOps* k = m->k;
    int C = m->C, n = m->n;
    if (n) {
        float* e = m->hsum;   /* scratch for the embedding */
        k->encoder_forward(e, m->inputs, m->wte, m->wpe, B, T, C);
        k->stream_broadcast(m->xs[0], e, B * T, n, C);
    } else k->encoder_forward(m->xs[0], m->inputs, m->wte, m->wpe, B, T, C);
}

/* From m->inputs to m->logits; with a non-NULL arg, on to the per-position
 * losses against m->targets (m->losses, and ce_stats for the backward). */
static void forward_pass(Model* m, void* arg) {
    int B = m->B, T = m->T, BT = B * T;
    embed(m, B, T);
    layers_forward(m, B, T, NULL);
    head_forward(m, BT);
    if (arg) m->k->crossentropy_softmax_forward(m->losses, m->ce_stats, m->logits, m->targets, BT, m->V);
}

float model_forward(Model* m, const int* inputs, const int* targets, int B, int T) {
    internal_check(T <= m->Tmax, "sequence of %d exceeds the model's %d positions", T, m->Tmax);
    model_alloc(m, B, T);
    const KernelOps* k = m->k;
    int BT = B * T;
    k->upload(m->inputs, inputs, BT * sizeof(int));
    if (targets) k->upload(m->targets, targets, BT * sizeof(int));
    run_pass(m, targets ? PASS_FORWARD_LOSS : PASS_FORWARD, NULL, forward_pass, (void*)targets);
    if (!targets) return 0.0f;
    const float* losses = model_losses(m);
    double sum = 0;
    for (int i = 0; i < BT; i++) sum += losses[i];
    return (float)(sum / BT);
}

/* ---- backward ----------------------------------------------------------------- */

#define GRAD(ptr) (m->grads + ((ptr) - m->params))

/* From dy, accumulate du (+=) and the sublayer's parameter gradients. dy may be
 * du itself (the plain residual: the stream's gradient is F's output gradient
 * too): dy is read by the first product only, du written by the last call. */
static void attn_backward(Model* m, int l, const LayerW* w, SubActs* a, const float* u, const float* dy, float* du,
                          int B, int T) {
    const KernelOps* k = m->k;
    int BT = B * T, C = m->C;
    linear_backward(m, l, 1, m->datty, GRAD(w->projw), GRAD(w->projb), dy, a->atty, w->projw, BT, C, C);
    k->attention_backward(m->dqkv, m->dpreatt, m->datt, m->datty, a->qkv, a->atty, a->att, B, T, C, m->NH);
    linear_backward(m, l, 0, m->dln, GRAD(w->qkvw), GRAD(w->qkvb), m->dqkv, a->ln, w->qkvw, BT, C, 3 * C);
    k->layernorm_backward(du, GRAD(w->ln1w), GRAD(w->ln1b), m->dln, u, w->ln1w, a->mean, a->rstd, BT, C);
}

static void mlp_backward(Model* m, int l, const LayerW* w, SubActs* a, const float* u, const float* dy, float* du,
                         int BT) {
    const KernelOps* k = m->k;
    int C = m->C;
    if (lora_on(m)) {
        linear_backward(m, l, 3, m->dfch_gelu, GRAD(w->fcprojw), GRAD(w->fcprojb), dy, a->fch_gelu, w->fcprojw, BT, 4 * C, C);
        k->gelu_backward(m->dfch, a->fch, m->dfch_gelu, BT * 4 * C);
    } else   /* fcproj's input gradient and the GELU's in one product (DGELU epilogue on the GPU) */
        k->matmul_backward_gelu(m->dfch, m->train_base ? GRAD(w->fcprojw) : NULL, m->train_base ? GRAD(w->fcprojb) : NULL,
                                dy, a->fch_gelu, w->fcprojw, a->fch, BT, 4 * C, C);
    linear_backward(m, l, 2, m->dln, GRAD(w->fcw), GRAD(w->fcb), m->dfch, a->ln, w->fcw, BT, C, 4 * C);
    k->layernorm_backward(du, GRAD(w->ln2w), GRAD(w->ln2b), m->dln, u, w->ln2w, a->mean, a->rstd, BT, C);
}

/* mHC: given dxo (BT,n,C), write dx (BT,n,C); F's backward runs in between. */
static void mhc_backward(Model* m, int l, int s, SubActs* a, const float* x, const float* dxo, float* dx, int B, int T) {
    const KernelOps* k = m->k;
    int BT = B * T, n = m->n, C = m->C, nn = n * n;
    const LayerW* w = &m->layers[l];
    float* dHpre = m->dH;                    /* (BT, n) */
    float* dHpost = m->dH + (size_t)BT * n;  /* (BT, n) */
    float* gres = m->sk_g;                   /* (BT, n*n) dL/dH_res */
    float* dres = m->sk_d;                   /* (BT, n*n) dL/d(Sinkhorn logits) */
    k->mhc_post_backward(m->dy, dx, dHpost, gres, dxo, a->H, x, a->y, BT, n, C);
    k->zero(m->du, (size_t)BT * C * sizeof(float));
    if (s == 0) attn_backward(m, l, w, a, a->u, m->dy, m->du, B, T);
    else mlp_backward(m, l, w, a, a->u, m->dy, m->du, BT);
    k->mhc_pre_backward(dx, dHpre, m->du, a->H, x, BT, n, C);
    k->zero(dres, (size_t)BT * nn * sizeof(float));
    k->sinkhorn_backward(dres, gres, a->sk, BT, n, (int)m->cfg.sinkhorn_iters);
    k->mhc_coeffs_backward(m->dp, GRAD(w->alpha[s]), GRAD(w->mbias[s]), dHpre, dHpost, dres, a->H, a->p,
                           w->alpha[s], BT, n);
    k->matmul_backward(m->dr, GRAD(w->phi[s]), NULL, m->dp, a->r, w->phi[s], BT, n * C, m->M, 0);
    k->rmsnorm_backward(dx, m->dr, x, a->rms_inv, BT, n * C);
}

void model_zero_grad(Model* m) { m->k->zero(m->grads, m->num_params * sizeof(float)); }

void model_backward(Model* m, float scale) {
    int BT = m->B * m->T;
    float* dlosses = m->hlosses;   /* the losses are not needed any more */
    for (int i = 0; i < BT; i++) dlosses[i] = scale / BT;
    model_backward_weighted(m, dlosses);
}

static void backward_pass(Model* m, void* arg);

void model_backward_weighted(Model* m, const float* dlosses) {
    int BT = m->B * m->T;
    m->k->upload(m->losses, dlosses, BT * sizeof(float));
    run_pass(m, PASS_BACKWARD_LOSS, NULL, backward_pass, m->losses);
}

void model_backward_logits(Model* m, const float* dlogits) {
    m->k->upload(m->logits, dlogits, (size_t)m->B * m->T * m->V * sizeof(float));
    run_pass(m, PASS_BACKWARD, NULL, backward_pass, NULL);
}

/* Every parameter gradient accumulated, from d(loss)/d(logits) in m->logits, or
 * with a non-NULL arg from the per-position loss weights in m->losses: the
 * logits then become their gradient in place first (the softmax recomputed
 * from ce_stats). */
static void backward_pass(Model* m, void* arg) {
    const KernelOps* k = m->k;
    int B = m->B, T = m->T, BT = B * T, C = m->C, n = m->n;
    float* dlogits = m->logits;
    if (arg) k->crossentropy_softmax_backward(m->logits, m->losses, m->logits, m->ce_stats, m->targets, BT, m->V);
    k->matmul_backward(m->dlnf, m->train_base ? GRAD(m->wte) : NULL, NULL, dlogits, m->lnf, m->wte, BT, C, m->V, 0);
    float* dx = m->dx_a;
    const float* h = n ? m->hsum : m->xs[2 * m->L];
    if (n) {
        k->zero(m->dh, (size_t)BT * C * sizeof(float));
        k->layernorm_backward(m->dh, GRAD(m->lnfw), GRAD(m->lnfb), m->dlnf, h, m->lnfw, m->lnf_mean, m->lnf_rstd, BT, C);
        k->stream_broadcast(dx, m->dh, BT, n, C);
    } else {
        k->zero(dx, (size_t)BT * C * sizeof(float));
        k->layernorm_backward(dx, GRAD(m->lnfw), GRAD(m->lnfb), m->dlnf, h, m->lnfw, m->lnf_mean, m->lnf_rstd, BT, C);
    }
    for (int l = m->L - 1; l >= 0; l--) {
        const LayerW* w = &m->layers[l];
        for (int s = 1; s >= 0; s--) {
            int q = 2 * l + s;
            SubActs* a = &m->sub[q];
            const float* x = m->xs[q];
            if (n) {
                float* dnext = dx == m->dx_a ? m->dx_b : m->dx_a;
                mhc_backward(m, l, s, a, x, dx, dnext, B, T);
                dx = dnext;
            } else {
                /* x' = x + F(x): dx flows through unchanged, plus F's contribution
                 * (dx is also F's output gradient: no copy needed). */
                if (s == 0) attn_backward(m, l, w, a, x, dx, dx, B, T);
                else mlp_backward(m, l, w, a, x, dx, dx, BT);
            }
        }
    }
    if (n) {
        k->stream_sum(m->dh, dx, BT, n, C);
        dx = m->dh;
    }
    k->encoder_backward(GRAD(m->wte), GRAD(m->wpe), dx, m->inputs, B, T, C);
}


/* ---- decoding with a KV cache --------------------------------------------------- */

void kv_init(KVCache* kv, const Model* m, int N, int T) {
    kv->N = N; kv->T = T; kv->C = m->C; kv->L = m->L;
    kv->ops = m->k;
    size_t n = (size_t)m->L * N * T * m->C;
    kv->k = m->k->alloc(n * sizeof(float));
    kv->v = m->k->alloc(n * sizeof(float));
}

KVCache* model_kv_reserve(Model* m, int N, int T) {
    KVCache* kv = &m->kv;
    if (kv->ops == m->k && kv->N >= N && kv->T >= T) return kv;
    int n = kv->ops == m->k && kv->N > N ? kv->N : N, t = kv->ops == m->k && kv->T > T ? kv->T : T;
    kv_free(kv);
    kv_init(kv, m, n, t);
    return kv;
}

void kv_free(KVCache* kv) {
    if (kv->ops) { kv->ops->release(kv->k); kv->ops->release(kv->v); }
    memset(kv, 0, sizeof *kv);
}

/* From m->inputs at m->pos (m->B rows of one position) to m->logits, through the cache arg. */
static void decode_pass(Model* m, void* arg) {
    KVCache* kv = arg;
    const KernelOps* k = m->k;
    int N = m->B, C = m->C;
    float* e = m->hsum;
    k->encoder_decode_forward(e, m->inputs, m->pos, m->wte, m->wpe, N, C);
    k->stream_broadcast(m->xs[0], e, N, m->S, C);
    m->decoding = 1;
    layers_forward(m, N, 1, kv);
    head_forward(m, N);
    m->decoding = 0;
}

void model_decode_weights(Model* m, int on) {
    const KernelOps* k = m->k;
    m->wt_on = 0;
    if (!on || !k->decode_transposed) return;
    if (!m->wt) m->wt = k->alloc(m->num_params * sizeof(float));
    int C = m->C;
#define WT(W, rows, cols) k->transpose(m->wt + ((W) - m->params), (W), (rows), (cols))
    for (int l = 0; l < m->L; l++) {
        const LayerW* w = &m->layers[l];
        WT(w->qkvw, 3 * C, C); WT(w->projw, C, C); WT(w->fcw, 4 * C, C); WT(w->fcprojw, C, 4 * C);
    }
    WT(m->wte, m->V, C);
#undef WT
    m->wt_on = 1;
}

/* From m->inputs (m->B sequences of m->T positions) to every layer's keys and
 * values in the cache arg, positions 0..T-1. */
static void prefill_pass(Model* m, void* arg) {
    KVCache* kv = arg;
    const KernelOps* k = m->k;
    int N = m->B, P = m->T, C = m->C;
    embed(m, N, P);
    layers_forward(m, N, P, NULL);
    for (int l = 0; l < m->L; l++) {
        size_t layer = (size_t)l * kv->N * kv->T * C;
        k->kv_fill(kv->k + layer, kv->v + layer, m->sub[2 * l].qkv, N, P, kv->T, C);
    }
}

void model_prefill(Model* m, KVCache* kv, const int* tok, int N, int P) {
    internal_check(N <= kv->N && P < kv->T && P <= m->Tmax, "prefill of %d x %d into a cache of %d x %d", N, P, kv->N, kv->T);
    internal_check(kv->ops == m->k, "the KV cache is on another device than the model");
    if (P <= 0) return;
    model_alloc(m, N, P);
    m->k->upload(m->inputs, tok, (size_t)N * P * sizeof(int));
    run_pass(m, PASS_PREFILL, kv, prefill_pass, kv);
}

void model_decode(Model* m, KVCache* kv, const int* tok, const int* pos, int N) {
    internal_check(N <= kv->N, "decode of %d sequences into a cache of %d", N, kv->N);
    internal_check(kv->ops == m->k, "the KV cache is on another device than the model");
    model_alloc(m, N, 1);
    for (int i = 0; i < N; i++)
        internal_check(pos[i] < kv->T && pos[i] < m->Tmax, "position %d beyond the cache", pos[i]);
    const KernelOps* k = m->k;
    k->upload(m->inputs, tok, N * sizeof(int));
    k->upload(m->pos, pos, N * sizeof(int));
    run_pass(m, PASS_DECODE, kv, decode_pass, kv);
}
