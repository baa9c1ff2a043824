/* sdft: the self-distillation math and loop of SPEC §12 (Shenfeld et al. 2026).
 * Owns: the per-token reverse KL(student || teacher) over the full vocabulary and its
 * analytic gradient with respect to the student's logits (teacher stop-gradient); one
 * step's distillation gradient on the models; the training loop, step by step (prompts,
 * sampling, distillation, the AdamW and EMA update, the val-perplexity gate that
 * publishes checkpoints, the metrics row and the resume state); the two measurements
 * the SDFT report gives (val perplexity for the gate, best-of-k on the demo tasks) and
 * the report. Does not own: loading the inputs, the tracker (tools/sdft.c reports each
 * step through an SdftStepFn), the teacher's EMA arithmetic (ema_update in
 * kernels/kernels.h, so it runs on the device). */
#ifndef DD_SDFT_H
#define DD_SDFT_H
#include "bins.h"
#include "gate.h"
#include "model.h"
#include "optim.h"
#include "sdftdata.h"
#include "settings.h"
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

/* A distillation run in progress: its inputs, the AdamW state, the step's batch and
 * what the resume state keeps. */
typedef struct {
    const SdftArgs*  a;
    Model *S, *T;               /* student θ, teacher φ (an EMA of θ) */
    const Tokenizer* tok;
    TokCache*   cache;
    uint8_t*    stop;           /* (V) stop-token flags */
    const Demo* demos;          /* (nd) */
    const Task* tasks;          /* (nd) each demonstration's task */
    long        nd;
    const Bin*  val;            /* the gate's val tokens */
    OptimCfg    oc;             /* the reference trainer's schedule: warmup, then cosine to 0 */
    float *mo, *vo;             /* (num_params) AdamW state, on the device */
    /* the step's batch: N demonstrations, one completion each */
    int   N, maxnew;
    int **sp, **tp;             /* (N, Tmax) student prompt (the task), teacher prompt (demo, then task) */
    int  *spl, *tpl;            /* (N) their lengths */
    int  *out, *lens;           /* (N, maxnew) completions, (N) their lengths */
    /* progress (the resume state) */
    long    step, updates;      /* steps done; AdamW updates taken (Adam's t) */
    long    last_pass, red_step;/* the last published step; the RED step (-1: none) */
    double  base_ppl, bok_before;
    json_t* verdicts;           /* every gate record so far */
    int     stopped;            /* a RED gate ended training */
    char    resumed_from[4096]; /* the state dir it resumed from ("" when fresh) */
    /* the report's (sdft_finish) */
    double  final_ppl, bok_after;
    char    published[4096];
} SdftRun;

/* Called after each step's row is complete (gate included: records holds this step's
 * gate records); return nonzero to pause. Neither reference is the callee's. */
typedef int (*SdftStepFn)(void* ctx, const SdftRun* r, const json_t* row, const json_t* records);

/* A run over S (the weights to train, from --ckpt) and T (the teacher, --init_from or
 * the same weights) with a's settings; nothing computed yet. */
void sdft_run_open(SdftRun* r, const SdftArgs* a, Model* S, Model* T, const Tokenizer* tok, const Demo* demos,
                   const Task* tasks, long nd, const Bin* val);
void sdft_run_close(SdftRun* r);

/* The state before the first step: from <out>/_resume/ when there is one (returns 1),
 * else fresh (returns 0): the base's val perplexity, the student set to the teacher's
 * weights, best-of-k before, and the base published as sdft_step_0000000. metrics.jsonl
 * is cut back to the step. -1: error (err). */
int sdft_begin(SdftRun* r, char err[ERR_LEN]);

/* The step functions, in sdft_train's order. */
/* The step's demonstrations (step·N + j mod nd, cycling) as student prompts (the task)
 * and teacher prompts (task_demo_prompt: the demonstration, then the task). */
void sdft_prompts(SdftRun* r);
/* One completion per prompt from the student at the run's temperature, from seed·1000003
 * + step. */
void sdft_sample(SdftRun* r);
/* After sdft_distill: one AdamW step at the schedule's lr (t = ++updates) and the
 * teacher's EMA, unless the completions have no tokens; step + 1. Returns the tokens;
 * *lr the schedule's value. */
int sdft_update(SdftRun* r, double* lr);
/* The gate (every gate_every steps and at the last): val perplexity into row (val_ppl,
 * val_ppl_rel_delta, gate), each gate's record into records and the run's verdicts. RED:
 * training stops (red_step); else the student is published as sdft_step_N (last_pass).
 * Returns 0 or -1 (err); *worst and *on_red the worst verdict and its on_red. */
int sdft_gate(SdftRun* r, const Gate* gates, int ngates, json_t* row, json_t* records, GateVerdict* worst,
              OnRed* on_red, char err[ERR_LEN]);
/* The row into metrics.jsonl; the resume state (student with AdamW, teacher) every
 * gate_every steps and on a pause, unless training stopped or ended. 0 or -1 (err). */
int sdft_record(SdftRun* r, const json_t* row, int pause, char err[ERR_LEN]);

/* The steps until a->steps or a RED gate: prompts, sample, sdft_distill, update, the
 * gate when due, fn, record. 0: done (or stopped by RED with on_red keep_best); 1:
 * paused by fn (resume state saved); 2: RED with on_red stop (the row written); -1 (err). */
int sdft_train(SdftRun* r, const Gate* gates, int ngates, SdftStepFn fn, void* ctx, char err[ERR_LEN]);

/* The published model (the last that passed) back into S, its val perplexity and
 * best-of-k, and <out>/sdft_eval_report.json. 0 or -1 (err). */
int sdft_finish(SdftRun* r, char err[ERR_LEN]);

#endif
