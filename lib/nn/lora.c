/* lora: see lora.h. */
#include "lora.h"
#include "rng.h"
#include "safetensors.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char* PROJ_NAME[LORA_PROJ] = {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};

void lora_name(char* out, size_t cap, int l, int j, int is_b) {
    snprintf(out, cap, "base_model.model.h.%d.%s.lora_%s.weight", l, PROJ_NAME[j], is_b ? "B" : "A");
}

Lora* lora_new(const Model* m, int rank, float alpha, uint64_t seed) {
    Lora* lo = calloc_check(1, sizeof *lo);
    int C = m->C, L = m->L;
    int in[LORA_PROJ] = {C, C, C, 4 * C}, out[LORA_PROJ] = {3 * C, C, 4 * C, C};
    lo->rank = rank;
    lo->alpha = alpha;
    lo->scale = alpha / rank;
    lo->L = L;
    lo->enabled = 1;
    lo->A = calloc_check((size_t)L * LORA_PROJ, sizeof(float*));
    lo->B = calloc_check((size_t)L * LORA_PROJ, sizeof(float*));
    lo->in_dim = calloc_check((size_t)L * LORA_PROJ, sizeof(int));
    lo->out_dim = calloc_check((size_t)L * LORA_PROJ, sizeof(int));
    size_t n = 0;
    for (int k = 0; k < L * LORA_PROJ; k++) n += (size_t)rank * (in[k % LORA_PROJ] + out[k % LORA_PROJ]);
    lo->num_params = n;
    lo->k = m->k;
    lo->hparams = calloc_check(n, sizeof(float));
    lo->params = lo->k == &kernels_cpu ? lo->hparams : lo->k->alloc(n * sizeof(float));
    lo->grads = lo->k->alloc(n * sizeof(float));
    Rng r;
    rng_seed(&r, seed);
    float* p = lo->hparams;
    for (int k = 0; k < L * LORA_PROJ; k++) {
        int j = k % LORA_PROJ;
        lo->in_dim[k] = in[j];
        lo->out_dim[k] = out[j];
        lo->A[k] = lo->params + (p - lo->hparams);
        float bound = 1.0f / sqrtf((float)in[j]);
        for (size_t i = 0; i < (size_t)rank * in[j]; i++) p[i] = (2.0f * rng_float(&r) - 1.0f) * bound;
        p += (size_t)rank * in[j];
        lo->B[k] = lo->params + (p - lo->hparams);   /* zero: the adapter starts as the identity */
        p += (size_t)rank * out[j];
    }
    lora_params_changed(lo);
    return lo;
}

void lora_free(Lora* lo) {
    if (!lo) return;
    const KernelOps* k = lo->k;
    if (lo->params != lo->hparams) k->release(lo->params);
    k->release(lo->grads); k->release(lo->tmp); k->release(lo->scr); k->release(lo->dt);
    free(lo->hparams); free(lo->A); free(lo->B); free(lo->in_dim); free(lo->out_dim);
    free(lo);
}

void lora_zero_grad(Lora* lo) { lo->k->zero(lo->grads, lo->num_params * sizeof(float)); }

float* lora_params_host(Lora* lo) {
    lo->k->download(lo->hparams, lo->params, lo->num_params * sizeof(float));
    return lo->hparams;
}

void lora_params_changed(Lora* lo) { lo->k->upload(lo->params, lo->hparams, lo->num_params * sizeof(float)); }

int lora_save(const char* path, Lora* lo, const Model* m, long step, char err[ERR_LEN]) {
    const float* h = lora_params_host(lo);
    int nt = 2 * lo->L * LORA_PROJ;
    StTensor* t = calloc_check(nt, sizeof *t);
    for (int k = 0; k < lo->L * LORA_PROJ; k++)
        for (int b = 0; b < 2; b++) {
            StTensor* x = &t[2 * k + b];
            lora_name(x->name, sizeof x->name, k / LORA_PROJ, k % LORA_PROJ, b);
            x->dtype = ST_F32;
            x->ndim = 2;
            x->shape[0] = b ? lo->out_dim[k] : lo->rank;
            x->shape[1] = b ? lo->rank : lo->in_dim[k];
            x->data = h + ((b ? lo->B[k] : lo->A[k]) - lo->params);
            x->nbytes = (size_t)lo->rank * (b ? lo->out_dim[k] : lo->in_dim[k]) * sizeof(float);
        }
    char r[32], a[32], st[32];
    snprintf(r, sizeof r, "%d", lo->rank);
    snprintf(a, sizeof a, "%g", lo->alpha);
    snprintf(st, sizeof st, "%ld", step);
    json_t* cfg = model_config_to_json(&m->cfg);
    char* cs = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
    json_t* meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "format", "dd-lora-1", "r", r, "lora_alpha", a, "step", st,
                             "target_modules", "c_attn,c_proj,c_fc", "model_config", cs);
    int rc = st_write(path, t, nt, meta, err);
    json_decref(meta);
    json_decref(cfg);
    free(cs);
    free(t);
    return rc;
}

int lora_load(const char* path, Lora* lo, const Model* m, char err[ERR_LEN]) {
    (void)m;
    SafeTensors* s = st_open(path, 1, err);
    if (!s) return -1;
    int rc = -1;
    for (int k = 0; k < lo->L * LORA_PROJ; k++)
        for (int b = 0; b < 2; b++) {
            char name[256];
            lora_name(name, sizeof name, k / LORA_PROJ, k % LORA_PROJ, b);
            const StTensor* x = st_find(s, name);
            size_t want = (size_t)lo->rank * (b ? lo->out_dim[k] : lo->in_dim[k]) * sizeof(float);
            if (!x || x->dtype != ST_F32 || x->nbytes != want) {
                snprintf(err, ERR_LEN, "%s: tensor %s %s", path, name, x ? "has the wrong shape or dtype" : "is missing");
                goto done;
            }
            memcpy(lo->hparams + ((b ? lo->B[k] : lo->A[k]) - lo->params), x->data, want);
        }
    lora_params_changed(lo);
    rc = 0;
done:
    st_close(s);
    return rc;
}
