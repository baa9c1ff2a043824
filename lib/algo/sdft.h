/* sdft: the self-distillation math of SPEC §12 (Shenfeld et al. 2026).
 * Owns: the per-token reverse KL(student || teacher) over the full vocabulary
 * and its analytic gradient with respect to the student's logits (teacher
 * stop-gradient); one step's distillation gradient on the models; the two
 * measurements the SDFT report gives (val perplexity for the gate, best-of-k on
 * the demo tasks). Does not own: sampling the completions, the loop, the
 * optimizer step, gates, checkpoints (tools/sdft.c), the teacher's EMA update
 * (ema_update in kernels/kernels.h, so it runs on the device). */
#ifndef DD_SDFT_H
#define DD_SDFT_H
#include "bins.h"
#include "model.h"
#include "tasks.h"
#include "tokenizer.h"
#include <stddef.h>
#include <stdint.h>

/* KL = sum_v p(v) (log p(v) - log q(v)), p = softmax(zs), q = softmax(zt).
 * With dz: dz[v] += scale * p(v) (log p(v) - log q(v) - KL), the gradient of
 * scale * KL with respect to zs. Returns KL. */
double sdft_kl(const float* zs, const float* zt, int V, float* dz, float scale);

/* One step's distillation over N sampled completions: row j's completion out[j*maxnew ..]
 * (lens[j] tokens) follows the student prompt sp[j] (spl[j] tokens: the task) in the
 * student S and the teacher prompt tp[j] (tpl[j] tokens: the demonstration, then the task)
 * in the teacher T. Both run forward (T stop-gradient); S's gradients are zeroed and set to
 * those of the mean over completion tokens of KL(S || T). Returns that mean; 0, touching
 * nothing, when no row has a token. */
double sdft_distill(Model* S, Model* T, int N, int* const* sp, const int* spl, int* const* tp, const int* tpl,
                    const int* out, const int* lens, int maxnew);

/* exp(mean cross-entropy) of m over `batches` batches of B rows of T tokens read
 * consecutively from the start of val (wrapping), targets the next token. */
double sdft_val_ppl(Model* m, const Bin* val, int B, int T, long batches);

/* Mean over the n tasks of the best score among K completions (maxnew tokens at most,
 * temperature 1) sampled from m for the task's prompt; task i draws from seed + i. */
double sdft_best_of_k(Model* m, const Tokenizer* tok, TokCache* cache, const uint8_t* stop, const Task* tasks, long n,
                      int K, int maxnew, uint64_t seed);

#endif
