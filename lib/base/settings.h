/* settings: every tool's settings struct, the plain data its flags and its config section
 * fill (one field per option, named as the option).
 * Owns: the structs only, so that library code taking a tool's settings (lib/algo/ttt's
 * ttt_cfg_from_args, lib/algo/sdft's SdftRun) need not include the option tables.
 * Does not own: the option tables, defaults, ranges and --help text (lib/cli/specs), parsing
 * and checking (lib/base/config). A field added here needs its option in lib/cli/specs.c. */
#ifndef DD_SETTINGS_H
#define DD_SETTINGS_H
#include <jansson.h>

/* build-sdft */
typedef struct {
    const char *suite_root, *tasks_jsonl, *out_jsonl;
    double min_reward;
} BuildSdftArgs;

/* check-artifacts */
typedef struct {
    const char* root;
    const char* manifest;
    const char* phases;
    const char* report;
} CheckArtifactsArgs;

/* gate */
typedef struct {
    const char* metrics;
    json_t* spec;
} GateArgs;

/* import-corpus (section corpus) */
typedef struct {
    const char *train, *val, *train_out, *val_out;
} ImportCorpusArgs;
/* gen-corpus */
typedef struct {
    long seed, train_lines, val_lines;
    const char *train_out, *val_out;
    json_t* weights;
} GenCorpusArgs;

/* gen-tasks */
typedef struct {
    long seed, n_train, n_heldout, min_difficulty, max_difficulty;
    const char *out_train, *out_heldout, *families, *corpus;
} GenTasksArgs;

/* pack-bins */
typedef struct {
    const char *tokenizer, *input, *output;
    int append_eos, verify;
} PackBinsArgs;

/* plot */
typedef struct {
    const char *runs_dir, *fig_dir, *paper_dir, *pretrain_run, *pretrain_nomhc_run, *sdft_run, *font, *pdflatex;
} PlotArgs;

/* pretrain */
typedef struct {
    const char *train_bin, *val_bin, *out, *model, *init_from, *tokenizer, *device, *precision;
    long steps, seq_len, micro_bs, grad_accum, warmup, eval_interval, eval_batches, ckpt_interval, keep_state, seed;
    double lr, min_lr_frac, weight_decay, beta1, beta2, grad_clip;
    json_t* gates;
} PretrainArgs;

/* generate */
typedef struct {
    const char *ckpt, *adapter, *tokenizer, *prompt, *tasks, *task_id, *device, *precision;
    long num_samples, max_new_tokens, top_k, seed, json;
    double temperature, top_p;
} GenerateArgs;

/* retention */
typedef struct {
    const char *base_ckpt, *base_cfg, *updated_ckpt, *updated_cfg, *val_bin, *device, *precision, *out;
    long seq_len, batch_size, max_batches;
} RetentionArgs;

/* sdft */
typedef struct {
    const char *ckpt, *tokenizer, *data, *out, *gate_val_bin, *init_from, *device, *precision;
    long steps, gate_val_seq_len, gate_val_bs, gate_val_batches, gate_every, max_new_tokens, demos_per_step, best_of_k, seed;
    double lr, warmup_frac, beta2, weight_decay, grad_clip, ema, temperature;
    json_t* gates;
} SdftArgs;

/* sweep */
typedef struct {
    const char *sweep_config, *out_root;
    long workers, top_k;
} SweepArgs;

/* train-tokenizer */
typedef struct {
    const char *input, *model_prefix, *model_type;
    long vocab_size, model_max_length;
} TrainTokenizerArgs;

/* ttt */
typedef struct {
    const char *tasks, *ckpt, *tokenizer, *out_root, *mode, *objective, *shard, *device, *precision, *lr;
    long seed, ttt_steps, rollouts, max_new_tokens, groups_per_step, lora_rank, top_k, archive_cap, adapter_every;
    int reuse, adaptive_beta, merge;
    double kl_lambda, beta, lora_alpha, temperature, top_p, puct_c, adam_beta1, adam_beta2, adam_eps, weight_decay;
    json_t* gates;
} TttArgs;

/* watch */
typedef struct {
    const char* root;
    int    follow, stop_on_terminal;
    double interval, watch, stale_sec, wait;
    int costs;
} WatchArgs;

#endif
