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
#include "kernels.h"

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
typedef struct PassGraph PassGraph;   /* a pass recorded as a CUDA graph (model.c) */

/* LoRA adapters (lib/nn/lora.c creates, saves and loads them): on every layer's
 * four projections — j = 0 attn.c_attn, 1 attn.c_proj, 2 mlp.c_fc, 3 mlp.c_proj —
 * W x + scale * B (A x), A (rank, in), B (out, rank), scale = alpha / rank. */
#define LORA_PROJ 4
typedef struct {
    const KernelOps* k;             /* where params, grads and the buffers below live (the model's) */
    int     rank;
    float   alpha, scale;
    int     L;
    size_t  num_params;
    float*  params;                 /* (num_params): per layer, per projection: A then B (on k) */
    float*  hparams;                /* host copy (params itself on the CPU) */
    float*  grads;                  /* same layout */
    float** A;                      /* (L*4) pointers into params */
    float** B;
    int*    in_dim;                 /* (L*4) */
    int*    out_dim;                /* (L*4) */
    int     enabled;                /* 0: the base model (adapter off) */
    /* saved for backward, sized for cap_rows positions */
    size_t  cap_rows;
    float*  tmp;                    /* (L*4, cap_rows, rank): A x */
    float*  scr;                    /* (cap_rows, 4C) scratch */
    float*  dt;                     /* (cap_rows, rank) */
} Lora;

/* Per-sequence key/value cache for decoding, (L, N, T, C) each. */
typedef struct {
    int    N, T, C, L;
    float *k, *v;                   /* on ops's device */
    const KernelOps* ops;
} KVCache;

typedef struct {
    ModelConfig cfg;
    const KernelOps* k;                 /* the backend; every buffer below lives in its memory */
    int        C, L, NH, V, Tmax, n, M, S;   /* S = streams held (n, or 1 when plain) */
    ParamInfo* info;
    int        ntensors;
    size_t     num_params;
    float*     params;                  /* (num_params) */
    float*     grads;                   /* (num_params), same layout */
    float*     hparams;                 /* host copy of params (params itself on the CPU) */
    float*     hgrads;                  /* host copy of grads (model_grads_host), or NULL */
    float     *wte, *wpe, *lnfw, *lnfb; /* (V,C) (Tmax,C) (C) (C) */
    LayerW*    layers;                  /* (L) */
    Lora*      lora;                    /* NULL, or adapters applied in forward/backward */
    int        train_base;              /* 0: backward skips the base weights' matmul gradients */
    /* activations, sized for B x T by model_alloc */
    int        B, T, cap_B, cap_T;
    size_t     cap_att, cap_att_full;   /* floats in each att buffer; in preatt, dpreatt, datt (0: fused attention) */
    float*     act_mem;
    size_t     act_floats;
    float**    xs;                      /* (2L+1) stream states, each (B*T, S, C) */
    SubActs*   sub;                     /* (2L) */
    float     *hsum, *lnf, *lnf_mean, *lnf_rstd, *logits, *ce_stats, *losses;
    int       *inputs, *targets, *pos;  /* (B*T) copies on the device; pos for decoding */
    float     *hlogits, *hlosses;       /* host copies (model_logits, model_losses) */
    /* backward scratch, BT = B*T rows (reused layer by layer; the forward pass borrows dp and dH) */
    float     *dx_a, *dx_b;             /* (BT, S, C) each: the stream gradient, ping-ponged across sublayers */
    float     *du, *dy;                 /* (BT, C) each: the sublayer's input and output gradients */
    float     *dln;                     /* (BT, C): gradient at the layernorm's output */
    float     *dfch, *dfch_gelu;        /* (BT, 4C) each: MLP, at c_fc's output and at the GELU's output */
    float     *datty, *dqkv;            /* (BT, C), (BT, 3C): attention, at its output and at c_attn's output */
    float     *dpreatt, *datt;          /* (B, NH, T, T) each, or none with fused attention (cap_att_full 0) */
    float     *dH, *dp;                 /* (BT, M) each: mHC, the mixing coefficients' and their pre-activations' gradients */
    float     *dr;                      /* (BT, n*C): mHC, at the RMS-normed streams */
    float     *dlnf, *dh;               /* (BT, C) each: at the final layernorm's output and input */
    float     *sk_g, *sk_d;             /* (B*T, n*n) Sinkhorn gradient in/out */
    PassGraph* graphs;                  /* (MODEL_GRAPHS) the passes' CUDA graphs (model.c), or NULL */
    KVCache    kv;                      /* the cache model_kv_reserve hands out (kv.ops NULL: none yet) */
    float*     wt;                      /* (num_params) products' weights transposed for decoding, at their own offsets, or NULL */
    int        wt_on, decoding;         /* model_decode_weights is on; a decoding pass is running */
    char       tokenizer_sha256[65];    /* the tokenizer its data was made with (ckpt metadata; "" unknown) */
    const char* tokenizer_json;         /* copied into every checkpoint ckpt_save writes (NULL: none) */
} Model;

/* Builds the parameter table and buffer from a validated config; init from
 * seed. The model starts on the CPU (m->k = &kernels_cpu). */
void   model_build(Model* m, const ModelConfig* cfg, uint64_t seed);
/* Moves weights and gradients to backend k's memory (before any forward and
 * before LoRA is attached); activations follow. From then on host code reads
 * and writes the weights through the host copy below, never m->params. */
void   model_to_device(Model* m, const KernelOps* k);
/* The --device / --precision options every compute tool takes (kernels_get),
 * and applying them: model_to_device, or -1 with a one-line reason in err. */
#define MODEL_DEVICE_OPTS(Args)                                                                         \
    {"device", OPT_STR, offsetof(Args, device), "cpu", OPT_RANGE_NONE,                                  \
     "compute backend: cpu, cuda (a `make CUDA=1` build on a machine with an NVIDIA GPU), or cpu-guarded "  \
     "(CPU kernels with a GPU's memory discipline, for testing)"},           \
    {"precision", OPT_STR, offsetof(Args, precision), "auto", OPT_RANGE_NONE,                           \
     "auto (cpu: fp32; cuda: bf16 tensor-core matrix products, fp32 weights and AdamW state), fp32, bf16"}
int    model_use_device(Model* m, const char* device, const char* precision, char err[ERR_LEN]);
/* {"backend": "cuda", "precision": "bf16", "gpu": "..."} for run records. */
json_t* kernels_json(const KernelOps* k);
/* Fresh weights from seed (model_build's init) into a model wherever it lives. */
void   model_reinit(Model* m, uint64_t seed);
/* The weights on the host: downloaded into m->hparams (no copy on the CPU). */
float* model_params_host(Model* m);
/* After writing m->hparams on the host: upload them (no-op on the CPU). */
void   model_params_changed(Model* m);
/* The same for the gradients (data-parallel all-reduce). */
float* model_grads_host(Model* m);
void   model_grads_changed(Model* m);
/* Host copy of the last forward's logits (B*T, V) — N rows after model_decode. */
const float* model_logits(Model* m);
void   model_alloc(Model* m, int B, int T);   /* activations for up to B x T */
void   model_free(Model* m);
const ParamInfo* model_param(const Model* m, const char* name);

/* Forward over inputs (B,T). With targets, returns the mean cross-entropy and
 * keeps what backward needs; without, fills m->logits (B*T, V) and returns 0. */
float  model_forward(Model* m, const int* inputs, const int* targets, int B, int T);
void   model_zero_grad(Model* m);
/* Accumulates into m->grads the gradient of scale * (mean loss of the last forward).
 * One backward per forward: the backward turns m->logits into their gradient. */
void   model_backward(Model* m, float scale);
/* The same for sum_i dlosses[i] * loss_i over the B*T positions (per-token weights,
 * e.g. policy-gradient advantages); positions with target < 0 contribute nothing. */
void   model_backward_weighted(Model* m, const float* dlosses);
/* The same from a given gradient of the logits (B*T, V) of the last forward
 * (which may be without targets). dlogits and dlosses are host memory
 * (dlogits may be the buffer model_logits returned). */
void   model_backward_logits(Model* m, const float* dlogits);
/* Per-position losses of the last forward with targets: -log p(target), (B*T). */
const float* model_losses(Model* m);

/* Decoding with a KV cache: feed token tok[i] at position pos[i] of sequence i
 * (positions fed in order, from 0); leaves the next-token logits in m->logits (N, V). */
void   kv_init(KVCache* kv, const Model* m, int N, int T);
void   kv_free(KVCache* kv);
void   model_decode(Model* m, KVCache* kv, const int* tok, const int* pos, int N);
/* The first P positions of every sequence at once: tok (N, P) row-major through
 * one batched forward (no output head), its keys and values into the cache at
 * positions 0..P-1. model_decode then goes on from any position <= P (a
 * position it feeds overwrites the cache there first). P < kv->T. */
void   model_prefill(Model* m, KVCache* kv, const int* tok, int N, int P);
/* A cache for N sequences of T positions, kept by the model and reused from
 * call to call (grown when too small; freed by model_free), so its buffers,
 * and with them the decoding pass's CUDA graph, stay the same. Only what a
 * caller writes is read: a decode step writes its position before attending
 * up to it, a prefill writes 0..P-1. */
KVCache* model_kv_reserve(Model* m, int N, int T);
/* Decoding on weights transposed once, where the backend asks for it (its
 * decode_transposed; the CPU, where OpenBLAS would pack every weight again on every
 * decoding step): from model_decode_weights(m, 1), which copies the layers' four
 * products' weights and the head's transposed, until model_decode_weights(m, 0),
 * model_decode's products read the copies (matmul_forward_t). The weights must not
 * change in between; sample_batch brackets its decoding steps with it. */
void   model_decode_weights(Model* m, int on);

/* On a backend with CUDA graphs, model_forward, the backward and model_decode
 * replay a recording of their kernels from the second call with the same shapes,
 * buffers and adapter state (model.c: run_pass). How many recordings m holds now. */
int    model_graphs_held(const Model* m);

#endif
