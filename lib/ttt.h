/* ttt: one discovery task, either compute-matched best-of-N or test-time LoRA
 * training (TTT-Discover), exactly as SPEC §6 and §12 define them.
 * Owns: the per-task loop (start states, batched sampling, verification,
 * advantages, KL shaping, the LoRA update, the reward-vs-samples curve, adapter
 * files and per-step metrics). Does not own: task files, the suite's run dir,
 * resume across tasks (tools/ttt.c). */
#ifndef DD_TTT_H
#define DD_TTT_H
#include <jansson.h>
#include "model.h"
#include "tasks.h"
#include "tokenizer.h"

typedef struct {
    int    ttt;                 /* 1: test-time training (a LoRA adapter, updated every step) */
    int    search;              /* 1: search, TTT without learning (no adapter) */
    long   ttt_steps, rollouts, max_new_tokens, groups_per_step;
    int    entropic, reuse, adaptive_beta;
    double beta, kl_lambda, lr;
    double adam_beta1, adam_beta2, adam_eps, weight_decay;   /* the LoRA update's AdamW (passed as float) */
    long   lora_rank;
    double lora_alpha;
    double temperature, top_p;
    long   top_k, archive_cap, adapter_every;
    double puct_c;
} TttCfg;

typedef struct {
    double best_reward, mean_reward, seconds;
    char   best_solution[TASK_ANSWER_MAX + 64];
    long   samples, tokens;
    json_t* curve;              /* [[samples, best reward so far], ...] after each step */
    json_t* rewards;            /* every sample's reward, in draw order (expected best-of-k: lib/stats) */
    /* Where this process's time on the task went, seconds (not resumed across a pause):
     * sampling (prefill + decode + draws), scoring (detokenize, verify, archive), the two
     * training forwards, the backward, the optimizer, and files (metrics, adapters, state). */
    double t_sample, t_score, t_forward, t_backward, t_optim, t_io;
} TaskResult;

/* Called after every step with that step's metrics (a new reference the callee
 * owns); return nonzero to stop the task early (a pause). */
typedef int (*TttStepFn)(void* ctx, long step, json_t* metrics);

/* ttt.lr: auto. The LoRA rule of the TTT-Discover reference (tinker_cookbook
 * hyperparam_utils.get_lr: 5e-5 x 10 x (2000 / hidden)^0.781, fit on Llama at hidden
 * >= 2048 with LoRA alpha 32), extrapolated to our widths and alpha = 2 rank. */
double ttt_lr_auto(long d_model);

/* One LoRA update from N sampled completions (prompts[i] of plens[i] tokens, then out[i *
 * maxnew ..] of lens[i]) with advantages A (0: not trained on): the batch of the rows with
 * an advantage and tokens, the base (adapter off) and adapter forwards, per-token KL
 * shaping A_t = A + kl_lambda (mean d - d_t) with d_t = log pi - log pi_base, the backward
 * of sum_t A_t CE_t / rows, and one AdamW step at c->lr (t = ++*updates; c->adam_beta1,
 * adam_beta2, adam_eps, weight_decay; shaping with c->kl_lambda).
 * Returns 1 when it updated, 0 when no row had an advantage; loss and mean d out, time
 * into res (t_forward, t_backward, t_optim). The suite's step (ttt_run_task) and the
 * TTT-step bench (tests/bench/bench_ttt_step.c) both call it. */
int ttt_update(Model* m, Lora* lo, float* mo, float* vo, long* updates, const int* const* prompts, const int* plens, const int* out,
               const int* lens, int N, int maxnew, const float* A, const TttCfg* c, double* loss, double* kl, TaskResult* res);

/* 0: done; 1: stopped by fn (state saved); -1: error (err). task_dir receives
 * metrics.jsonl and adapter_step_N/lora.safetensors in ttt mode, and state/ (the
 * resume state, every adapter_every steps and on a stop); a task_dir holding a
 * state/ continues from it. The caller removes state/ once the result is saved.
 * Common random numbers: step s samples from rng_split(task stream, s) in every mode
 * (the LoRA init draws from split 0), so best-of-N, search and TTT in the same state
 * draw the same uniforms: ttt with lr 0 gives best-of-N's samples (reuse 0) or
 * search's (reuse 1). */
int ttt_run_task(Model* m, const Tokenizer* tok, const Task* t, const TttCfg* c, uint64_t seed, const char* task_dir,
                 TttStepFn fn, void* ctx, TaskResult* res, char err[ERR_LEN]);

#endif
