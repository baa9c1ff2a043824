/* pretrain: the pieces of B1's training loop (SPEC §10), for tools/pretrain.c.
 * Owns: checking a token bin against the model; the unigram baseline; the val loss;
 * one optimizer step over the global batch (micro-batches, data-parallel gradient
 * averaging across ranks, AdamW); finding the checkpoint a run resumes from (the newest
 * whose state loads; the unusable ones are reported, not deleted); pretrain's side of the
 * rerun rule (another model shape, the global batch); the tokenizer.json that goes beside
 * the weights.
 * Does not own: flags and the flow (tools/pretrain.c), the tracker (lib/run/track), the
 * rerun rule itself and checkpoint pruning (lib/run/lifecycle), checkpoint files (lib/nn/ckpt), the forward and backward
 * (lib/nn/model), the learning-rate schedule and AdamW (lib/nn/optim). */
#ifndef DD_PRETRAIN_H
#define DD_PRETRAIN_H
#include <jansson.h>
#include "bins.h"
#include "config.h"
#include "lifecycle.h"
#include "settings.h"
#include "track.h"
#include "model.h"
#include "optim.h"

/* Opens a bin for model m: its vocab within the model's and at least `need` tokens;
 * -1 (err naming the file; bad input) otherwise. */
int    pretrain_open_bin(Bin* b, const char* path, const Model* m, long need, char err[ERR_LEN]);
/* The unigram baseline: cross-entropy (nats/token) of the val tokens under the train
 * tokens' add-one-smoothed frequencies. A model that learned anything beyond token
 * frequencies has a val loss clearly below it. */
double pretrain_unigram(const Bin* train, const Bin* val, int V);
/* Mean loss over the first `batches` B x T batches of val (in, tg: B*T ints each). */
double pretrain_eval(Model* m, const Bin* val, int B, int T, long batches, int* in, int* tg);

/* One step: grad_accum micro-batches of the global batch (nrank x B sequences each;
 * this rank takes its B), gradients averaged over ranks, AdamW with the step's lr.
 * cursor advances through train; in, tg hold nrank*B*T ints. Returns the mean loss;
 * *norm gets the gradient norm before clipping. */
double pretrain_step(Model* m, const OptimCfg* oc, float* mopt, float* vopt, const Bin* train, size_t* cursor, int B, int T,
                     long grad_accum, long step, double lr, int* in, int* tg, double* norm);

/* The rerun rule for a pretrain run dir (life_begin, spec the tool's), with pretrain's own
 * differences: checkpoints written for another model shape than mc (refused, or moved to
 * .trash/ with c->force) and the global batch (micro_bs x grad_accum x ranks; how ranks and
 * accumulation split it does not count). Returns life_begin's 1 / 0 / -1 (r->err). */
int    pretrain_begin(const ToolSpec* spec, const PretrainArgs* a, const Common* c, const ModelConfig* mc, LifeRedo* r);
/* The tokenizer.json beside `tokenizer` (train-tokenizer writes it) into out, after
 * checking that `tokenizer` made the bin; -1 (err; bad input) otherwise. */
int    pretrain_tokenizer_json(char out[4200], const char* tokenizer, const Bin* bin, const char* bin_path, char err[ERR_LEN]);
/* Loads the newest usable checkpoint of run_dir into m, mopt, vopt and says so on t:
 * 1 (*state a new reference to its train_state), 0 when none is usable; -1 when the
 * tracker failed (t->err). Each unusable one is counted in *unusable and gets a line and
 * a "checkpoint_invalid" event (it is not deleted); after one, m, mopt and vopt may be
 * half-loaded, so a caller that found none starts over from its initialization. */
int    pretrain_resume(Tracker* t, const char* run_dir, Model* m, float* mopt, float* vopt, json_t** state, int* unusable);

#endif
