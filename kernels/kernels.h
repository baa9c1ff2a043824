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
 *  - Every *_backward ACCUMULATES (+=) into its gradient outputs (dinp,
 *    dweight, dbias, ...), so the caller zeroes gradients once per step and
 *    gradient accumulation over micro-batches and shared (tied) weights come
 *    for free. The only exceptions are scratch buffers, named as such below.
 *  - Deterministic: no result depends on the OpenMP thread count. Every
 *    reduction over rows runs in a fixed order (threads split the *output*
 *    columns or heads, never the sum), so runs are bitwise reproducible.
 *  - Pointer arguments that may alias are said to; otherwise they must not.
 *
 * Implementations: kernels/cpu/ (OpenBLAS sgemm + OpenMP). A CUDA backend
 * implements the same functions. */
#ifndef DD_KERNELS_H
#define DD_KERNELS_H

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
/* Any of dinp, dweight, dbias may be NULL to skip that gradient. */
void matmul_backward(float* dinp,         // (BT, C)  +=
                     float* dweight,      // (OC, C)  +=
                     float* dbias,        // (OC)     +=
                     const float* dout,   // (BT, OC)
                     const float* inp,    // (BT, C)
                     const float* weight, // (OC, C)
                     int BT, int C, int OC);

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
void gelu_backward(float* dinp,        // (N) +=
                   const float* inp,   // (N)
                   const float* dout,  // (N)
                   int N);

/* ---- causal self-attention ----------------------------------------------
 * qkv holds q, k, v concatenated in the last dim: q = qkv[..., 0:C],
 * k = qkv[..., C:2C], v = qkv[..., 2C:3C]; head h uses columns h*hs..h*hs+hs-1
 * of each. Scale 1/sqrt(hs). preatt/att keep the (pre-)softmax scores for
 * backward; entries above the diagonal (t2 > t) are written as 0. */
void attention_forward(float* out,       // (B, T, C)
                       float* preatt,    // (B, NH, T, T)
                       float* att,       // (B, NH, T, T)
                       const float* qkv, // (B, T, 3C)
                       int B, int T, int C, int NH);
/* dqkv accumulates (+=). dpreatt and datt are SCRATCH: overwritten, any
 * previous content ignored. */
void attention_backward(float* dqkv,       // (B, T, 3C) +=
                        float* dpreatt,    // (B, NH, T, T) scratch
                        float* datt,       // (B, NH, T, T) scratch
                        const float* dout, // (B, T, C)
                        const float* qkv,  // (B, T, 3C)
                        const float* att,  // (B, NH, T, T)
                        int B, int T, int C, int NH);

/* ---- residual: out = a + b ----------------------------------------------- */
void residual_forward(float* out, const float* a, const float* b, int N); // out may alias a or b
void residual_backward(float* da, float* db, const float* dout, int N);   // both +=

/* ---- fused softmax + cross-entropy ---------------------------------------
 * losses[i] = -log softmax(logits[i])[targets[i]]. A target < 0 means
 * "ignore this position": loss 0, probs still written, no gradient. */
void crossentropy_softmax_forward(float* losses,       // (BT)
                                  float* probs,        // (BT, V)
                                  const float* logits, // (BT, V)
                                  const int* targets,  // (BT)
                                  int BT, int V);
/* dlogits[i,v] += dlosses[i] * (probs[i,v] - [v == targets[i]]) */
void crossentropy_softmax_backward(float* dlogits,       // (BT, V) +=
                                   const float* dlosses, // (BT)
                                   const float* probs,   // (BT, V)
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

#endif
