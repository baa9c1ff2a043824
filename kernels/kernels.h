/* kernels: the compute the model needs, behind one interface.
 *
 * Owns: the forward/backward math of every layer (matmul, layernorm, rmsnorm,
 * GELU, causal attention, residual, token+position encoder, fused softmax +
 * cross-entropy), the AdamW update, and the Sinkhorn-Knopp projection of mHC
 * (SPEC §12). Does not own: memory layout of the model, I/O, schedules, or any
 * policy (learning rates, clipping, which layers exist) — those live in lib/.
 *
 * Conventions (llm.c):
 *  - fp32, row-major, contiguous. B batch, T time, C channels, NH heads,
 *    hs = C / NH, OC output channels, V vocab, BT = B * T.
 *  - Every *_backward ACCUMULATES (+=) into its parameter gradients (dweight,
 *    dbias, ...), so the caller zeroes them once per step and gradient
 *    accumulation over micro-batches and shared (tied) weights come for free.
 *    Activation gradients (dinp, ...) accumulate too, except where marked
 *    OVERWRITTEN below: where a kernel is the only producer of one, writing it
 *    outright spares the caller a zeroing pass (and the GPU a read) per layer.
 *    Scratch buffers are named as such.
 *  - Deterministic: no result depends on the OpenMP thread count. Every
 *    reduction over rows runs in a fixed order (threads split the *output*
 *    columns or heads, never the sum), so runs are bitwise reproducible.
 *  - Pointer arguments that may alias are said to; otherwise they must not.
 *
 * Implementations: kernels/cpu/ (OpenBLAS sgemm + OpenMP) defines the
 * functions below under these names, for the CPU; kernels/cuda/ (cuBLASLt +
 * CUDA C, built by `make CUDA=1`) implements the same set on the GPU. The
 * model reaches either through a KernelOps table (end of this file), so one
 * binary runs on both; with the CUDA table every pointer is device memory. */
#ifndef DD_KERNELS_H
#define DD_KERNELS_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

/* ---- encoder: out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:] ---------------- */
void encoder_forward(float* out,        // (B, T, C)
                     const int* tokens, // (B, T)
                     const float* wte,  // (V, C)
                     const float* wpe,  // (T_max >= T, C)
                     int B, int T, int C);
void encoder_backward(float* dwte,       // (V, C)  +=
                      float* dwpe,       // (T_max, C) +=; may be NULL (no positions)
                      const float* dout, // (B, T, C)
                      const int* tokens, // (B, T)
                      int B, int T, int C);

/* ---- matmul: out = inp @ weight^T + bias (nn.Linear) --------------------- */
void matmul_forward(float* out,          // (BT, OC)
                    const float* inp,    // (BT, C)
                    const float* weight, // (OC, C)
                    const float* bias,   // (OC) or NULL
                    int BT, int C, int OC);
/* The same product with the weight given transposed: out = inp @ weight_t + bias.
 * Decoding transposes each weight once per sampling call (transpose below) and runs
 * its products this way: on the CPU, OpenBLAS would pack the weight again on every
 * call, and libxsmm's kernels read the transposed weight as it lies. */
void matmul_forward_t(float* out,            // (BT, OC)
                      const float* inp,      // (BT, C)
                      const float* weight_t, // (C, OC)
                      const float* bias,     // (OC) or NULL
                      int BT, int C, int OC);
/* dst (cols, rows) = src (rows, cols) transposed; exact. */
void transpose(float* dst, const float* src, int rows, int cols);
/* Any of dinp, dweight, dbias may be NULL to skip that gradient. dinp is
 * accumulated (+=) when dinp_acc is 1 and OVERWRITTEN when it is 0. */
void matmul_backward(float* dinp,         // (BT, C)  += or = (dinp_acc)
                     float* dweight,      // (OC, C)  +=
                     float* dbias,        // (OC)     +=
                     const float* dout,   // (BT, OC)
                     const float* inp,    // (BT, C)
                     const float* weight, // (OC, C)
                     int BT, int C, int OC, int dinp_acc);

/* ---- layernorm (eps 1e-5, biased variance, as torch.nn.LayerNorm) -------- */
void layernorm_forward(float* out,          // (BT, C)
                       float* mean,         // (BT)   saved for backward
                       float* rstd,         // (BT)   saved for backward
                       const float* inp,    // (BT, C)
                       const float* weight, // (C)
                       const float* bias,   // (C)
                       int BT, int C);
void layernorm_backward(float* dinp,         // (BT, C) +=
                        float* dweight,      // (C)     +=
                        float* dbias,        // (C)     +=
                        const float* dout,   // (BT, C)
                        const float* inp,    // (BT, C)
                        const float* weight, // (C)
                        const float* mean,   // (BT)
                        const float* rstd,   // (BT)
                        int BT, int C);

/* ---- rmsnorm without gain: out = x / sqrt(mean(x^2) + eps) ---------------
 * mHC uses it on the flattened streams (C = n * model C) with eps 1e-6. */
void rmsnorm_forward(float* out,       // (BT, C)
                     float* rms_inv,   // (BT)  1/sqrt(mean(x^2)+eps), saved
                     const float* inp, // (BT, C)
                     int BT, int C, float eps);
void rmsnorm_backward(float* dinp,         // (BT, C) +=
                      const float* dout,   // (BT, C)
                      const float* inp,    // (BT, C)
                      const float* rms_inv,// (BT)
                      int BT, int C);

/* ---- GELU, tanh approximation (torch approximate="tanh") ----------------- */
void gelu_forward(float* out, const float* inp, int N); // (N), may alias
void gelu_backward(float* dinp,        // (N) OVERWRITTEN; may alias dout
                   const float* inp,   // (N)
                   const float* dout,  // (N)
                   int N);

/* ---- matmul + GELU, fused: the MLP's first projection with its GELU, and the
 * gradient through the second projection and the GELU (the CUDA backend runs
 * each as one cuBLASLt product with a GELU epilogue where it has one).
 * Each equals the calls it names, in order. */
/* matmul_forward(pre, inp, weight, bias, BT, C, OC), then gelu_forward(out, pre, BT*OC) */
void matmul_gelu_forward(float* out,          // (BT, OC) GELU(pre)
                         float* pre,          // (BT, OC) kept for the backward
                         const float* inp,    // (BT, C)
                         const float* weight, // (OC, C)
                         const float* bias,   // (OC) or NULL
                         int BT, int C, int OC);
/* matmul_backward(dpre, dweight, dbias, dout, inp, weight, BT, C, OC, 0), then
 * gelu_backward(dpre, pre, dpre, BT*C): dpre = (dout @ weight) * GELU'(pre). */
void matmul_backward_gelu(float* dpre,         // (BT, C) OVERWRITTEN
                          float* dweight,      // (OC, C) += (or NULL)
                          float* dbias,        // (OC)    += (or NULL)
                          const float* dout,   // (BT, OC)
                          const float* inp,    // (BT, C) = GELU(pre), the forward's input
                          const float* weight, // (OC, C)
                          const float* pre,    // (BT, C)
                          int BT, int C, int OC);

/* ---- causal self-attention ----------------------------------------------
 * qkv holds q, k, v concatenated in the last dim: q = qkv[..., 0:C],
 * k = qkv[..., C:2C], v = qkv[..., 2C:3C]; head h uses columns h*hs..h*hs+hs-1
 * of each. Scale 1/sqrt(hs). preatt/att keep the (pre-)softmax scores for
 * backward; entries above the diagonal (t2 > t) are written as 0. That is
 * what the CPU (and CUDA fp32) write; the CUDA backend's fused bf16 path keeps
 * each row's log-sum-exp in att's first B*NH*T floats instead and leaves
 * preatt alone, so callers treat both as state passed from forward to
 * backward, not as results. */
void attention_forward(float* out,       // (B, T, C)
                       float* preatt,    // (B, NH, T, T)
                       float* att,       // (B, NH, T, T)
                       const float* qkv, // (B, T, 3C)
                       int B, int T, int C, int NH);
/* dqkv is OVERWRITTEN. dpreatt and datt are SCRATCH: overwritten, any
 * previous content ignored. */
void attention_backward(float* dqkv,       // (B, T, 3C) overwritten
                        float* dpreatt,    // (B, NH, T, T) scratch
                        float* datt,       // (B, NH, T, T) scratch
                        const float* dout, // (B, T, C)
                        const float* qkv,  // (B, T, 3C)
                        const float* out,  // (B, T, C) the forward's output
                        const float* att,  // (B, NH, T, T)
                        int B, int T, int C, int NH);

/* ---- residual: out = a + b ----------------------------------------------- */
void residual_forward(float* out, const float* a, const float* b, int N); // out may alias a or b
void residual_backward(float* da, float* db, const float* dout, int N);   // both +=

/* ---- residual + norm, fused: a sublayer's update of the residual stream and
 * the next sublayer's norm of it in one pass, so the stream is read once.
 * Each equals the two calls it names, in order (same outputs, same rounding). */
/* residual_forward(out, a, b, BT*C), then layernorm_forward(ln, mean, rstd, out, weight, bias, BT, C) */
void residual_layernorm_forward(float* out,          // (BT, C) = a + b
                                float* ln,           // (BT, C)
                                float* mean,         // (BT)
                                float* rstd,         // (BT)
                                const float* a,      // (BT, C)
                                const float* b,      // (BT, C)
                                const float* weight, // (C)
                                const float* bias,   // (C)
                                int BT, int C);
/* mhc_post_forward(xout, H, x, y, BT, n, C), then rmsnorm_forward(r, rms_inv, xout, BT, n*C, eps) */
void mhc_post_rmsnorm_forward(float* xout,     // (BT, n, C)
                              float* r,        // (BT, n*C)
                              float* rms_inv,  // (BT)
                              const float* H,  // (BT, M)
                              const float* x,  // (BT, n, C)
                              const float* y,  // (BT, C)
                              int BT, int n, int C, float eps);

/* ---- fused softmax + cross-entropy ---------------------------------------
 * The (BT, V) softmax is never stored: the forward keeps two numbers a row,
 * stats[i] = (max_v logits[i,v], 1 / sum_v exp(logits[i,v] - max)), and the
 * backward recomputes p = exp(logits - max) * inv from them.
 * losses[i] = -log softmax(logits[i])[targets[i]]. A target < 0 means
 * "ignore this position": loss 0 (stats still written), zero gradient. */
void crossentropy_softmax_forward(float* losses,       // (BT)
                                  float* stats,        // (BT, 2)
                                  const float* logits, // (BT, V)
                                  const int* targets,  // (BT)
                                  int BT, int V);
/* dlogits[i,v] = dlosses[i] * (p[i,v] - [v == targets[i]]), OVERWRITTEN (0 on
 * ignored rows). dlogits may be logits itself: the model turns its logits
 * into their gradient in place, each entry read before it is written. */
void crossentropy_softmax_backward(float* dlogits,       // (BT, V) overwritten, may alias logits
                                   const float* dlosses, // (BT)
                                   const float* logits,  // (BT, V)
                                   const float* stats,   // (BT, 2)
                                   const int* targets,   // (BT)
                                   int BT, int V);

/* ---- AdamW (torch.optim.AdamW semantics) ----------------------------------
 * t is the 1-based step count (bias correction 1 - beta^t). Decoupled weight
 * decay: p -= lr * weight_decay * p, then the Adam step
 * p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
 * Updates params, m and v in place. */
void adamw_update(float* params,      // (N)
                  const float* grads, // (N)
                  float* m,           // (N)
                  float* v,           // (N)
                  long N, float lr, float beta1, float beta2, float eps,
                  float weight_decay, int t);

/* AdamW over nseg consecutive tensors of one buffer in one call (one launch on
 * the GPU instead of one per tensor): segment s is [seg_start[s], seg_start[s+1])
 * with weight decay `weight_decay` where seg_decay[s] is 1, none where it is 0.
 * seg_start (nseg + 1 entries, seg_start[0] = 0, ascending) and seg_decay are
 * host memory. Element by element the same arithmetic as adamw_update on each
 * segment, so the results are bitwise those of the per-tensor calls. */
void adamw_update_segments(float* params, const float* grads, float* m, float* v, const long* seg_start,
                           const unsigned char* seg_decay, int nseg, float lr, float beta1, float beta2,
                           float eps, float weight_decay, int t);

/* ---- Sinkhorn-Knopp (mHC's H_res, SPEC §12) ------------------------------
 * Batched over N independent n x n matrices (N = B*T tokens; parallel over N):
 *   M = exp(H - max(H)); repeat iters times: normalise columns, then rows.
 * The result is (close to) doubly stochastic. `saved` keeps every
 * intermediate matrix so backward differentiates through all iterations
 * exactly; it needs SINKHORN_SAVED_FLOATS(n, iters) floats per matrix. */
#define SINKHORN_SAVED_FLOATS(n, iters) ((long)(2 * (iters) + 1) * (n) * (n))
void sinkhorn_forward(float* out,          // (N, n, n)
                      float* saved,        // (N, SINKHORN_SAVED_FLOATS(n, iters))
                      const float* logits, // (N, n, n)
                      int N, int n, int iters);
void sinkhorn_backward(float* dlogits,      // (N, n, n) +=
                       const float* dout,   // (N, n, n)
                       const float* saved,  // (N, SINKHORN_SAVED_FLOATS(n, iters))
                       int N, int n, int iters);

/* ---- decoding with a KV cache (one new position per sequence) ------------
 * out[i,:] = wte[tok[i],:] + wpe[pos[i],:] */
void encoder_decode_forward(float* out,        // (N, C)
                            const int* tok,    // (N)
                            const int* pos,    // (N)
                            const float* wte,  // (V, C)
                            const float* wpe,  // (T_max, C)
                            int N, int C);
/* Stores k, v of qkv row i at position pos[i] of sequence i's cache, then
 * attends (causally, scale 1/sqrt(hs)) over that sequence's positions
 * 0..pos[i]. kc/vc are one layer's cache: (N, Tc, C), sequence-major. */
void attention_decode_forward(float* out,       // (N, C)
                              float* kc,        // (N, Tc, C) written at pos
                              float* vc,        // (N, Tc, C) written at pos
                              const float* qkv, // (N, 3C)
                              const int* pos,   // (N), each < Tc
                              int N, int Tc, int C, int NH);
/* A prompt's keys and values into the cache in one go (a batched forward's
 * qkv, the prefill): kc[b, t, :] = k of qkv row b*P + t, vc likewise, for
 * t < P. kc/vc are one layer's cache: (N, Tc, C), sequence-major, P <= Tc. */
void kv_fill(float* kc,        // (N, Tc, C) written at 0..P-1
             float* vc,        // (N, Tc, C) written at 0..P-1
             const float* qkv, // (N, P, 3C)
             int N, int P, int Tc, int C);

/* ---- sampling: one token per row from softmax(logits * inv_temperature) ----
 * By inverse CDF with the caller's uniform draw u[i] in [0, 1): the first v
 * whose running sum of p passes u[i] * sum(p) (V - 1 if none). Rows with
 * u[i] < 0 are skipped (tok[i] = -1). p = exp((logit - max) * inv_temperature)
 * in float, sums in double. Only tok (N ints) need go back to the host. */
void sample_rows(int* tok,             // (N)
                 const float* logits,  // (N, V)
                 const double* u,      // (N)
                 int N, int V, float inv_temperature);

/* ---- mHC streams (SPEC §12, docs/model.md) --------------------------------
 * Streams x are (BT, n, C); per token the coefficient row H (M = 2n + n*n) is
 * [H_pre (n) | H_post (n) | H_res (n*n, row-major)]. These OVERWRITE their
 * outputs unless marked += (they are splits of one step, not layers). */
void stream_broadcast(float* out,       // (BT, n, C): out[bt,i,:] = inp[bt,:]
                      const float* inp, // (BT, C)
                      int BT, int n, int C);
void stream_sum(float* out,             // (BT, C): out[bt,:] = sum_i inp[bt,i,:]
                const float* inp,       // (BT, n, C)
                int BT, int n, int C);
/* H_pre = sigmoid(a0 p + b), H_post = 2 sigmoid(a1 p + b) into H; the
 * Sinkhorn logits a2 p + b of the res block into hres. */
void mhc_coeffs_forward(float* H,           // (BT, M) pre and post blocks
                        float* hres,        // (BT, n*n)
                        const float* p,     // (BT, M) phi-projections
                        const float* alpha, // (3)
                        const float* bias,  // (M)
                        int BT, int n);
/* Copies the projected Hres into H's res block; u = sum_i H_pre[i] x_i. */
void mhc_pre_forward(float* u,          // (BT, C)
                     float* H,          // (BT, M) res block written
                     const float* Hres, // (BT, n*n)
                     const float* x,    // (BT, n, C)
                     int BT, int n, int C);
/* xout_i = sum_j H_res[i,j] x_j + H_post[i] y */
void mhc_post_forward(float* xout,     // (BT, n, C)
                      const float* H,  // (BT, M)
                      const float* x,  // (BT, n, C)
                      const float* y,  // (BT, C)
                      int BT, int n, int C);
/* From dxo = dL/dxout: dy = sum_i H_post[i] dxo_i, dx_j = sum_i H_res[i,j] dxo_i,
 * dHpost[i] = <dxo_i, y>, dHres[i,j] = <dxo_i, x_j>. All overwritten. */
void mhc_post_backward(float* dy,         // (BT, C)
                       float* dx,         // (BT, n, C)
                       float* dHpost,     // (BT, n)
                       float* dHres,      // (BT, n*n)
                       const float* dxo,  // (BT, n, C)
                       const float* H,    // (BT, M)
                       const float* x,    // (BT, n, C)
                       const float* y,    // (BT, C)
                       int BT, int n, int C);
/* From du = dL/du: dx_i += H_pre[i] du; dHpre[i] = <du, x_i> (overwritten). */
void mhc_pre_backward(float* dx,        // (BT, n, C) +=
                      float* dHpre,     // (BT, n)
                      const float* du,  // (BT, C)
                      const float* H,   // (BT, M)
                      const float* x,   // (BT, n, C)
                      int BT, int n, int C);
/* Through the gates to the projections: dq = dL/d(pre-activation) from
 * dHpre, dHpost (sigmoid and 2 sigmoid derivatives) and dres (the Sinkhorn
 * logits' gradient); dbias += sum_bt dq, dalpha[s] += sum_bt sum_{k in s} dq p;
 * dp = alpha[s] * dq (overwritten) feeds the phi matmul's backward. */
void mhc_coeffs_backward(float* dp,           // (BT, M)
                         float* dalpha,       // (3) +=
                         float* dbias,        // (M) +=
                         const float* dHpre,  // (BT, n)
                         const float* dHpost, // (BT, n)
                         const float* dres,   // (BT, n*n)
                         const float* H,      // (BT, M)
                         const float* p,      // (BT, M)
                         const float* alpha,  // (3)
                         int BT, int n);

/* ---- vector helpers ------------------------------------------------------ */
void   axpy(float* y, float a, const float* x, long N);  /* y += a x */
void   scale(float* y, float a, long N);                 /* y *= a */
/* phi = decay * phi + (1 - decay) * theta (the SDFT teacher's EMA) */
void   ema_update(float* phi, const float* theta, long N, float decay);
/* sum x^2 in double, in a fixed order (deterministic); the value is on the host. */
double sumsq(const float* x, long N);

/* ---- the backend table ----------------------------------------------------
 * One entry per function above plus memory management; lib/nn/model.c and the
 * tools call kernels only through a table, so `--device cuda` swaps all of it.
 * With kernels_cpu the "device" is host memory (alloc = calloc, upload =
 * memcpy). alloc returns zeroed memory and never fails (dies with a message). */
/* Every kernel above, once: the table's members and each backend's table are
 * generated from this list, so adding a kernel is one line here. */
#define KERNEL_LIST(X)                                                                                      \
    X(encoder_forward) X(encoder_backward) X(matmul_forward) X(matmul_backward) X(matmul_forward_t)       \
    X(transpose)                                                                                          \
    X(layernorm_forward) X(layernorm_backward) X(rmsnorm_forward) X(rmsnorm_backward)                     \
    X(gelu_forward) X(gelu_backward) X(matmul_gelu_forward) X(matmul_backward_gelu) X(attention_forward)  \
    X(attention_backward)                                                                                 \
    X(residual_forward) X(residual_backward) X(residual_layernorm_forward) X(mhc_post_rmsnorm_forward)    \
    X(crossentropy_softmax_forward)                                                                       \
    X(crossentropy_softmax_backward) X(adamw_update) X(adamw_update_segments) X(sinkhorn_forward)         \
    X(sinkhorn_backward)                                                                                  \
    X(encoder_decode_forward) X(attention_decode_forward) X(kv_fill) X(sample_rows) X(stream_broadcast)   \
    X(stream_sum) X(mhc_coeffs_forward) X(mhc_pre_forward) X(mhc_post_forward) X(mhc_post_backward)       \
    X(mhc_pre_backward) X(mhc_coeffs_backward) X(axpy) X(scale) X(ema_update) X(sumsq)

typedef struct KernelOps {
    const char* name;        /* "cpu" or "cuda" */
    const char* precision;   /* "fp32", or "bf16" (CUDA matrix products in bf16, fp32 accumulate) */
    const char* device_name; /* the GPU's name (cudaDeviceProp.name); NULL on the CPU */
    void* (*alloc)(size_t bytes);
    void  (*release)(void* p);
    void  (*upload)(void* dst, const void* host_src, size_t bytes);
    void  (*download)(void* host_dst, const void* src, size_t bytes);
    void  (*copy)(void* dst, const void* src, size_t bytes);
    void  (*zero)(void* dst, size_t bytes);
    void  (*synchronize)(void);   /* wait for queued work (timing) */
    void  (*profile_reset)(void); /* CUDA under DD_CUDA_PROFILE: count afresh (after a warm-up); else NULL */
    /* CUDA graphs (NULL on the CPU backends, under DD_CUDA_GRAPHS=off and under
     * DD_CUDA_PROFILE). Between graph_begin and graph_end the table's kernel
     * calls, copy and zero are recorded instead of run; graph_launch runs the
     * recording again, same calls, same arguments, same buffers. Inside a
     * recording: no upload, download, alloc, release, sumsq or synchronize, and
     * every call must already have run once outside one with these shapes (its
     * scratch exists). graph_end: NULL when the capture failed (nothing recorded
     * ran; run the calls directly). graph_launch: 0, launching nothing, when the
     * graph is stale (a backend scratch buffer it used was replaced since). */
    /* 1 when attention_forward / attention_backward at these shapes are fused:
     * att then holds only (B, NH, T) floats, and preatt, dpreatt, datt are not
     * touched (the model need not allocate them). NULL: never (the CPU backends). */
    int   (*attention_fused)(int T, int C, int NH);
    /* 1 when decoding should run its products on weights transposed once per sampling
     * call (matmul_forward_t): the CPU backends. 0: the plain products (CUDA, where the
     * library reads either layout and the copy would only cost memory). */
    int   decode_transposed;
    int   (*graph_begin)(void);
    void* (*graph_end)(void);
    int   (*graph_launch)(void* graph);
    void  (*graph_free)(void* graph);
#define KOP(name) __typeof__(name)* name;
    KERNEL_LIST(KOP)
#undef KOP
} KernelOps;

extern const KernelOps kernels_cpu;
/* The CPU kernels with a GPU's memory discipline enforced (kernels/cpu/kernels_guarded.c):
 * "device" buffers are inaccessible to host code outside the backend's calls. */
extern const KernelOps kernels_guarded;
/* The table for a --device/--precision pair: "cpu" (precision "auto" or
 * "fp32"), "cuda" ("auto" = "bf16", or "fp32" for parity). NULL and a one-line
 * reason in err when it cannot be had (no CUDA build, no GPU, bad name).
 * "cpu-guarded" (fp32) is kernels_guarded, for testing the device path. */
const KernelOps* kernels_get(const char* device, const char* precision, char* err, size_t errlen);
/* kernels/cuda (only in a `make CUDA=1` build): picks GPU 0, creates the
 * cuBLASLt handle; NULL and err when there is no usable GPU. */
const KernelOps* kernels_cuda_init(int bf16, char* err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
