/* specs: every tool's flags and config section in one place -- its settings struct, option
 * table and --help text (a ToolSpec) -- so any tool can check a whole project config before
 * it does any work (cfg_check_config), and pipeline-vars can stamp each section's settings.
 * Owns: the tables. Does not own: parsing and checking them (lib/base/config), what the values
 * mean (the tools). */
#ifndef DD_SPECS_H
#define DD_SPECS_H
#include "config.h"
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


extern const ToolSpec BUILD_SDFT_SPEC;
extern const ToolSpec CHECK_ARTIFACTS_SPEC;
extern const ToolSpec GATE_SPEC;
extern const ToolSpec GEN_CORPUS_SPEC;
extern const ToolSpec IMPORT_CORPUS_SPEC;
extern const ToolSpec GEN_TASKS_SPEC;
extern const ToolSpec GENERATE_SPEC;
extern const ToolSpec PACK_BINS_SPEC;
extern const ToolSpec PLOT_SPEC;
extern const ToolSpec PRETRAIN_SPEC;
extern const ToolSpec RETENTION_SPEC;
extern const ToolSpec SDFT_SPEC;
extern const ToolSpec SWEEP_SPEC;
extern const ToolSpec TRAIN_TOKENIZER_SPEC;
extern const ToolSpec TTT_SPEC;
extern const ToolSpec WATCH_SPEC;

extern const Opt BUILD_SDFT_OPTS[];
extern const Opt CHECK_ARTIFACTS_OPTS[];
extern const Opt GATE_OPTS[];
extern const Opt GENERATE_OPTS[];
extern const Opt GEN_CORPUS_OPTS[];
extern const Opt IMPORT_CORPUS_OPTS[];
extern const Opt GEN_TASKS_OPTS[];
extern const Opt PACK_BINS_OPTS[];
extern const Opt PLOT_OPTS[];
extern const Opt PRETRAIN_OPTS[];
extern const Opt RETENTION_OPTS[];
extern const Opt SDFT_OPTS[];
extern const Opt SWEEP_OPTS[];
extern const Opt TRAIN_TOKENIZER_OPTS[];
extern const Opt TTT_OPTS[];
extern const Opt WATCH_OPTS[];

/* Every tool's spec, NULL-terminated (the sections a project config may hold, with pipeline). */
extern const ToolSpec* const ALL_SPECS[];

/* The whole project config at path: every section's keys, types and ranges (errors name
 * file:line:column and section.key), the pipeline section's plan, and cross-section
 * sense (the tokenizer's vocabulary and the tools' lengths against the models the file
 * names in pipeline.model / model_nomhc). 0, or -1 with err. cfg_cli calls it for every tool. */
int specs_check_config(const char* path, char err[ERR_LEN]);

#endif
