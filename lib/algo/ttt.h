/* ttt: one discovery task, either compute-matched best-of-N or test-time LoRA
 * training (TTT-Discover), exactly as SPEC §6 and §12 define them.
 * Owns: the per-task loop (start states, batched sampling, verification,
 * advantages, KL shaping, the LoRA update, the reward-vs-samples curve, adapter
 * files and per-step metrics), each step a function, and the ttt section's settings as
 * a TttCfg. Does not own: task files, the suite's results and summary (lib/algo/suite), its
 * run dir and resume across tasks (tools/ttt.c). */
#ifndef DD_TTT_H
#define DD_TTT_H
#include <jansson.h>
#include "lora.h"
#include "model.h"
#include "rl.h"
#include "rng.h"
#include "sample.h"
#include "settings.h"
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
    json_t* rewards;            /* every sample's reward, in draw order (expected best-of-k: lib/paper/stats) */
    /* Where this process's time on the task went, seconds (not resumed across a pause):
     * sampling (prefill + decode + draws), scoring (detokenize, verify, archive), the two
     * training forwards, the backward, the optimizer, and files (metrics, adapters, state). */
    double t_sample, t_score, t_forward, t_backward, t_optim, t_io;
} TaskResult;

/* The TttCfg of the ttt section's settings. lr auto is -1 here: the caller sets
 * ttt_lr_auto(d_model) once the model is loaded. Returns 0, or -1 with the key at fault
 * in *key and why in err (what the options' ranges let through but the suite refuses: an
 * unknown mode or objective, search without reuse, groups that do not divide rollouts). */
int ttt_cfg_from_args(const TttArgs* a, TttCfg* c, const char** key, char err[ERR_LEN]);

/* The ttt section's keys that c's mode does not read, with the run's paths: they do not
 * count when a finished run is compared with new settings (life_begin). Best-of-N
 * learns nothing and keeps no archive; search keeps the archive but learns nothing. */
const char* const* ttt_unread_keys(const TttCfg* c);

/* Called after every step with that step's metrics (a new reference the callee
 * owns); return nonzero to stop the task early (a pause). */
typedef int (*TttStepFn)(void* ctx, long step, json_t* metrics);

/* ttt.lr: auto. The LoRA rule of the TTT-Discover reference (tinker_cookbook
 * hyperparam_utils.get_lr: 5e-5 x 10 x (2000 / hidden)^0.781, fit on Llama at hidden
 * >= 2048 with LoRA alpha 32), extrapolated to our widths and alpha = 2 rank. */
double ttt_lr_auto(long d_model);

/* The adapter under training and its Adam state. */
typedef struct {
    Lora*  lo;
    float* mo;          /* (num_params) Adam's first moment, in the kernels' memory */
    float* vo;          /* (num_params) second moment */
    long   updates;     /* Adam's t: updates taken (a step with no update does not count) */
} TttAdapter;

/* One step's N completions: completion i follows prompts[i] (plens[i] tokens) and is
 * out[i * maxnew ..] (lens[i] tokens, its stop token last when it has one). */
typedef struct {
    int   N, maxnew;
    int** prompts;      /* (N, Tmax) */
    int*  plens;        /* (N) */
    int*  out;          /* (N, maxnew) */
    int*  lens;         /* (N) */
} TttBatch;

#define TTT_TEXT 4096   /* bytes of a prompt or a decoded completion */

/* One task in progress: what stays across its steps (random stream, adapter, archive,
 * reward sum) and the step's buffers, which each step function fills for the next. */
typedef struct {
    const Task*      task;
    const TttCfg*    c;
    const Tokenizer* tok;
    TokCache*  cache;
    uint8_t*   stop;        /* (V) stop-token flags */
    Rng        rng;         /* the task's stream: step s samples from rng_split(rng, s) */
    int        G, per;      /* groups (start states) per step, rollouts per group */
    int        keep;        /* prompt tokens at most: the context less max_new_tokens */
    TttAdapter ad;          /* ad.lo NULL unless c->ttt */
    RlArchive* ar;          /* PUCT archive; NULL without reuse or learning-free best-of-N */
    TttBatch   b;
    int*       start;       /* (G) the archive state each group starts from (0: the bare prompt) */
    float*     r;           /* (N) rewards */
    float*     A;           /* (N) advantages (0: not trained on) */
    char*      text;        /* (TTT_TEXT) */
    double     reward_sum;  /* over every sample so far */
    /* this step, for its metrics row */
    double     step_sum, step_max;   /* rewards */
    int        groups_used;          /* groups with an advantage */
    double     beta_sum;             /* their β */
    double     loss, kl;             /* the update's loss and mean d (0 without one) */
} TttTask;

/* A task's state before its first step: the task stream from (seed, task id); in ttt
 * mode a LoRA adapter (init from split 0 of that stream) attached to m with the base
 * frozen; an archive with reuse. res starts empty (best reward -1 until a sample). */
void ttt_task_open(TttTask* s, Model* m, const Tokenizer* tok, const Task* t, const TttCfg* c, uint64_t seed, TaskResult* res);
void ttt_task_close(TttTask* s, Model* m);   /* detaches the adapter; frees all */

/* Continues from <task_dir>/state/ when there is one (result so far, adapter, Adam,
 * archive) and cuts metrics.jsonl back to that step. Returns the step to continue after
 * (0: from the start), or -1 (err). */
long ttt_resume(TttTask* s, Model* m, const char* task_dir, TaskResult* res, char err[ERR_LEN]);

/* The step functions, in the order ttt_run_task calls them. */

/* Start states: the bare prompt, or PUCT's picks from the archive (a pick's prompt is
 * the task's refinement prompt with its text and reward); each group's rollouts get the
 * same encoded prompt, left-truncated to leave max_new_tokens of the context. */
void ttt_choose_starts(TttTask* s);

/* N completions of at most max_new_tokens, adapter on, from rng_split(task stream, step):
 * the same uniforms in every mode. Time into res->t_sample. */
void ttt_sample(TttTask* s, Model* m, long step, TaskResult* res);

/* Each completion decoded without its stop token and scored by the task's verifier (r);
 * the result's best (its solution with non-printable bytes as '?'), tokens, every reward,
 * the samples count and the curve; the archive gets each completion as a child of its
 * group's start. The step's reward sum and max for its row. Time into res->t_score. */
void ttt_score(TttTask* s, TaskResult* res);

/* Advantages per group (lib/algo/rl: rl_group_advantages with the objective and β settings);
 * constant groups get A = 0. groups_used and beta_sum for the row. */
void ttt_advantages(TttTask* s);

/* One policy-gradient update of the adapter from b with advantages A (0: not trained
 * on): the batch of the rows with an advantage and tokens, the base (adapter off) and
 * adapter forwards, per-token KL shaping (rl_kl_shape, λ = c->kl_lambda), the backward
 * of sum_t A_t CE_t / rows into the LoRA weights only, and one AdamW step at c->lr with
 * c->adam_beta1, adam_beta2, adam_eps, weight_decay (t = ++ad->updates). Returns 1
 * when it updated, 0 when no row had an advantage (nothing touched); loss and mean d
 * out, time into res (t_forward, t_backward, t_optim). The suite's step and the TTT-step
 * bench (tests/bench/bench_ttt_step.c) both call it. */
int ttt_pg_step(Model* m, TttAdapter* ad, const TttBatch* b, const float* A, const TttCfg* c, double* loss, double* kl,
                TaskResult* res);

/* The step's record: a metrics.jsonl row (ttt mode: also groups_used, updates, beta,
 * loss, kl), adapter_step_N/lora.safetensors every adapter_every steps and at the last,
 * fn (may be NULL; it owns the row it gets), and the resume state every adapter_every
 * steps and when fn asks to stop (not after the last step). Time into res->t_io.
 * Returns 0, 1 when fn asked to stop, or -1 (err). */
int ttt_record(TttTask* s, Model* m, long step, const char* task_dir, TttStepFn fn, void* ctx, TaskResult* res,
               char err[ERR_LEN]);

/* The task: ttt_task_open, ttt_resume, then per step choose starts, sample, score and
 * (ttt mode) advantages and, with lr > 0, the update; record. 0: done; 1: stopped by fn
 * (state saved); -1: error (err). task_dir receives metrics.jsonl and
 * adapter_step_N/lora.safetensors in ttt mode, and state/ (the resume state); a task_dir
 * holding a state/ continues from it. The caller removes state/ once the result is saved.
 * Common random numbers: step s samples from rng_split(task stream, s) in every mode
 * (the LoRA init draws from split 0), so best-of-N, search and TTT in the same state
 * draw the same uniforms: ttt with lr 0 gives best-of-N's samples (reuse 0) or
 * search's (reuse 1). */
int ttt_run_task(Model* m, const Tokenizer* tok, const Task* t, const TttCfg* c, uint64_t seed, const char* task_dir,
                 TttStepFn fn, void* ctx, TaskResult* res, char err[ERR_LEN]);

#endif
