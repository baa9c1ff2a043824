/* model: the GPT-2-style decoder with optional mHC residual streams, exactly
 * as docs/model.md defines it (and tests/torch/ref_model.py re-implements).
 *
 * Owns: the model config (the YAML files in configs/model), the parameter table (names,
 * shapes, weight-decay flags, offsets into ONE contiguous buffer; gradients and
 * the optimizer's m, v use the same layout), initialisation, activations, and
 * forward/backward built from kernels/kernels.h.
 * Does not own: optimisation policy (pretrain), checkpoint files (ckpt), data. */
#ifndef DD_MODEL_H
#define DD_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "config.h"

typedef struct {
    long   d_model, n_layers, n_heads, seq_len, vocab_size, sinkhorn_iters;
    json_t* mhc;          /* {n: N} as written in the YAML */
    double init_std;
    int    mhc_n;         /* resolved from mhc; 0 = plain residual */
} ModelConfig;

extern const Opt MODEL_OPTS[];
/* Load a model YAML (flat keys), then validate; -1 and err on any problem. */
int     model_config_load(ModelConfig* c, const char* path, char err[ERR_LEN]);
int     model_config_validate(ModelConfig* c, const char* where, char err[ERR_LEN]);
json_t* model_config_to_json(const ModelConfig* c);
int     model_config_from_json(ModelConfig* c, const json_t* j, const char* where, char err[ERR_LEN]);

typedef struct {
    char   name[64];
    int    ndim;
    int    shape[2];
    size_t offset, numel;   /* into the parameter buffer */
    int    decay;           /* AdamW weight decay applies */
} ParamInfo;

typedef struct {
    float *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb;   /* (C) (C) (3C,C) (3C) (C,C) (C) */
    float *ln2w, *ln2b, *fcw, *fcb, *fcprojw, *fcprojb; /* (C) (C) (4C,C) (4C) (C,4C) (C) */
    float *phi[2], *alpha[2], *mbias[2];                /* mHC per sublayer: (M,nC) (3) (M); NULL if n = 0 */
} LayerW;

typedef struct SubActs SubActs;   /* per-sublayer saved activations (model.c) */

typedef struct {
    ModelConfig cfg;
    int        C, L, NH, V, Tmax, n, M, S;   /* S = streams held (n, or 1 when plain) */
    ParamInfo* info;
    int        ntensors;
    size_t     num_params;
    float*     params;                  /* (num_params) */
    float*     grads;                   /* (num_params), same layout */
    float     *wte, *wpe, *lnfw, *lnfb; /* (V,C) (Tmax,C) (C) (C) */
    LayerW*    layers;                  /* (L) */
    /* activations, sized for B x T by model_alloc */
    int        B, T;
    float*     act_mem;
    size_t     act_floats;
    float**    xs;                      /* (2L+1) stream states, each (B*T, S, C) */
    SubActs*   sub;                     /* (2L) */
    float     *hsum, *lnf, *lnf_mean, *lnf_rstd, *logits, *probs, *losses;
    int       *inputs, *targets;        /* (B*T) copies */
    /* backward scratch */
    float     *dx_a, *dx_b, *du, *dy, *dln, *dbig, *dbig2, *datty, *dqkv, *dpreatt, *datt, *dH, *dp, *dr, *dlnf, *dh;
    float     *sk_g, *sk_d;               /* (B*T, n*n) Sinkhorn gradient in/out */
} Model;

/* Builds the parameter table and buffer from a validated config; init from seed. */
void   model_build(Model* m, const ModelConfig* cfg, uint64_t seed);
void   model_alloc(Model* m, int B, int T);   /* activations for up to B x T */
void   model_free(Model* m);
const ParamInfo* model_param(const Model* m, const char* name);

/* Forward over inputs (B,T). With targets, returns the mean cross-entropy and
 * keeps what backward needs; without, fills m->logits (B*T, V) and returns 0. */
float  model_forward(Model* m, const int* inputs, const int* targets, int B, int T);
void   model_zero_grad(Model* m);
/* Accumulates into m->grads the gradient of scale * (mean loss of the last forward). */
void   model_backward(Model* m, float scale);

#endif
