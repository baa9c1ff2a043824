/* specs: see specs.h. */
#include "specs.h"
#include "model.h"
#include "gate.h"
#include "pipeline.h"
#include "tasks.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const Opt BUILD_SDFT_OPTS[] = {
    {"suite_root", OPT_STR, offsetof(BuildSdftArgs, suite_root), NULL, OPT_RANGE_NONE, "a suite run dir (ttt --out_root): <task_id>/result.json"},
    {"tasks_jsonl", OPT_STR, offsetof(BuildSdftArgs, tasks_jsonl), NULL, OPT_RANGE_NONE, "the tasks that suite ran (gen-tasks)"},
    {"out_jsonl", OPT_STR, offsetof(BuildSdftArgs, out_jsonl), NULL, OPT_RANGE_NONE, "demonstration file to write"},
    {"min_reward", OPT_FLOAT, offsetof(BuildSdftArgs, min_reward), "0.99", 0, 1, "keep tasks whose best_reward is at least this"},
    {0},
};

const ToolSpec BUILD_SDFT_SPEC = {"build-sdft", "build_sdft",
    "Build the SDFT demonstration file: for every task of --tasks_jsonl, read <suite_root>/<task_id>/result.json\n"
    "and keep the task if its best_reward >= --min_reward, as one JSONL line {task_id, family, prompt,\n"
    "demonstration (the best solution), reward, source_run}. No task passing is a result: an empty file\n"
    "and a warning.", BUILD_SDFT_OPTS, specs_check_config};

const Opt CHECK_ARTIFACTS_OPTS[] = {
    {"root", OPT_STR, offsetof(CheckArtifactsArgs, root), NULL, OPT_RANGE_NONE, "output root of the config, e.g. out/tiny"},
    {"manifest", OPT_STR, offsetof(CheckArtifactsArgs, manifest), "pipelines/artifacts.txt", OPT_RANGE_NONE, "lines: PHASE RUN_DIR ARTIFACT... (globs and {pipeline keys} allowed; {seeds} or {ablation_seeds} in RUN_DIR: one row per seed)"},
    {"phases", OPT_STR, offsetof(CheckArtifactsArgs, phases), "ABCDEF", OPT_RANGE_NONE, "which phases to check"},
    {"report", OPT_STR, offsetof(CheckArtifactsArgs, report), "", OPT_RANGE_NONE, "also write the report as JSON here"},
    {0},
};

const ToolSpec CHECK_ARTIFACTS_SPEC = {"check-artifacts", "check_artifacts",
    "For every run dir listed in the manifest under --root, list the required artifacts and whether\n"
    "each is present, then a summary table. Exit 0 when all are present, 1 when any is missing,\n"
    "2 on a bad manifest. `make check` runs it for CONFIG.", CHECK_ARTIFACTS_OPTS, specs_check_config};

const Opt GATE_OPTS[] = {
    {"metrics", OPT_STR, offsetof(GateArgs, metrics), NULL, OPT_RANGE_NONE, "a JSON object file, or JSONL (one object per line, e.g. metrics.jsonl)"},
    {"spec", OPT_JSON, offsetof(GateArgs, spec), NULL, OPT_RANGE_NONE,
     "the gates, as JSON: [{\"at\": 100, \"metric\": \"val_loss\", \"green\": \"<=3.1\", \"amber\": \"<=3.4\"}]"},
    {0},
};

const ToolSpec GATE_SPEC = {"gate", "gate",
    "Evaluate gates on a metrics file. For a JSONL file a gate with `at` reads the line whose step\n"
    "equals it, one without `at` the last line that has the metric. Prints one verdict line per gate.\n"
    "Exit 0: all GREEN or AMBER; 3: any RED; 2: bad input or a metric not found.", GATE_OPTS, specs_check_config};

const Opt IMPORT_CORPUS_OPTS[] = {
    {"train", OPT_STR, offsetof(ImportCorpusArgs, train), "", OPT_RANGE_NONE,
     "your own training text (one document or line after another); with val, replaces the synthetic corpus"},
    {"val", OPT_STR, offsetof(ImportCorpusArgs, val), "", OPT_RANGE_NONE, "your own validation text"},
    {"train_out", OPT_STR, offsetof(ImportCorpusArgs, train_out), NULL, OPT_RANGE_NONE, "where the training text goes (data/raw/train.txt)"},
    {"val_out", OPT_STR, offsetof(ImportCorpusArgs, val_out), NULL, OPT_RANGE_NONE, "where the validation text goes (data/raw/val.txt)"},
    {0},
};

const ToolSpec IMPORT_CORPUS_SPEC = {"import-corpus", "corpus",
    "Your own text in place of the synthetic corpus: copy the config's corpus.train and corpus.val (flags\n"
    "--train, --val) to --train_out and --val_out, their hashes in provenance.json. A file already at an\n"
    "output that no run of this tool wrote (placed by hand) is never overwritten: exit 2.", IMPORT_CORPUS_OPTS, specs_check_config};

const Opt GEN_CORPUS_OPTS[] = {
    {"seed", OPT_INT, offsetof(GenCorpusArgs, seed), "0", 0, 4294967295.0, "corpus seed; same seed, byte-identical output"},
    {"train_lines", OPT_INT, offsetof(GenCorpusArgs, train_lines), "200000", 1, 1e9, "lines of training text"},
    {"val_lines", OPT_INT, offsetof(GenCorpusArgs, val_lines), "10000", 1, 1e9, "lines of validation text"},
    {"train_out", OPT_STR, offsetof(GenCorpusArgs, train_out), NULL, OPT_RANGE_NONE, "training text file"},
    {"val_out", OPT_STR, offsetof(GenCorpusArgs, val_out), NULL, OPT_RANGE_NONE, "validation text file"},
    {"weights", OPT_JSON, offsetof(GenCorpusArgs, weights), "null", OPT_RANGE_NONE, "mapping line kind -> weight, overriding the defaults (see docs/corpus.md)"},
    {0},
};

const ToolSpec GEN_CORPUS_SPEC = {"gen-corpus", "gen_corpus",
    "Generate the synthetic language corpus: one example per line (grammar sentences, facts,\n"
    "numbers and arithmetic; docs/corpus.md). Train and val come from separate streams of one seed.", GEN_CORPUS_OPTS, specs_check_config};

const Opt GEN_TASKS_OPTS[] = {
    {"seed", OPT_INT, offsetof(GenTasksArgs, seed), "0", 0, 4294967295.0, "task seed; same seed, byte-identical files"},
    {"out_train", OPT_STR, offsetof(GenTasksArgs, out_train), NULL, OPT_RANGE_NONE, "train tasks (JSONL)"},
    {"out_heldout", OPT_STR, offsetof(GenTasksArgs, out_heldout), NULL, OPT_RANGE_NONE, "held-out tasks (JSONL)"},
    {"n_train", OPT_INT, offsetof(GenTasksArgs, n_train), "64", 0, 1e6, "number of train tasks"},
    {"n_heldout", OPT_INT, offsetof(GenTasksArgs, n_heldout), "32", 0, 1e6, "number of held-out tasks"},
    {"min_difficulty", OPT_INT, offsetof(GenTasksArgs, min_difficulty), "1", TASK_DIFF_MIN, TASK_DIFF_MAX, "easiest difficulty"},
    {"max_difficulty", OPT_INT, offsetof(GenTasksArgs, max_difficulty), "5", TASK_DIFF_MIN, TASK_DIFF_MAX, "hardest difficulty"},
    {"families", OPT_STR, offsetof(GenTasksArgs, families), "reach,constrain,order", OPT_RANGE_NONE,
     "comma-separated task families, dealt round-robin; name:D or name:LO-HI gives a family its own difficulty range"},
    {"corpus", OPT_STR, offsetof(GenTasksArgs, corpus), "", OPT_RANGE_NONE,
     "pretraining text to check (train.txt): exit 2, writing nothing, when one of its lines starts with a task's prompt"},
    {0},
};

const ToolSpec GEN_TASKS_SPEC = {"gen-tasks", "gen_tasks",
    "Generate the discovery tasks: verifiable problems with graded rewards in [0, 1] (reach a\n"
    "target with arithmetic, build a word meeting constraints, order items; docs/tasks.md).\n"
    "Train and held-out come from one seed and never share a prompt, and never a prompt the corpus\n"
    "shows (task_reserved); --corpus checks that against the pretraining text itself.", GEN_TASKS_OPTS, specs_check_config};

const Opt PACK_BINS_OPTS[] = {
    {"tokenizer", OPT_STR, offsetof(PackBinsArgs, tokenizer), NULL, OPT_RANGE_NONE, "the .model written by train-tokenizer"},
    {"input", OPT_STR, offsetof(PackBinsArgs, input), NULL, OPT_RANGE_NONE, "text, one example per line"},
    {"output", OPT_STR, offsetof(PackBinsArgs, output), NULL, OPT_RANGE_NONE, "token bin to write"},
    {"append_eos", OPT_BOOL, offsetof(PackBinsArgs, append_eos), "1", OPT_RANGE_NONE, "follow every line with <eos>"},
    {"verify", OPT_BOOL, offsetof(PackBinsArgs, verify), "0", OPT_RANGE_NONE, "check decode(encode(line)) == line for every line"},
    {0},
};

const ToolSpec PACK_BINS_SPEC = {"pack-bins", "pack_bins",
    "Encode a text file with a trained tokenizer into a packed token bin (1024-byte header, then\n"
    "uint16 tokens, or uint32 when the vocab exceeds 65535; docs/formats.md).", PACK_BINS_OPTS, specs_check_config};

const Opt PLOT_OPTS[] = {
    {"runs_dir", OPT_STR, offsetof(PlotArgs, runs_dir), NULL, OPT_RANGE_NONE, "run outputs to read (out/<config>/runs)"},
    {"fig_dir", OPT_STR, offsetof(PlotArgs, fig_dir), NULL, OPT_RANGE_NONE, "where the PNG figures go (paper/figs)"},
    {"paper_dir", OPT_STR, offsetof(PlotArgs, paper_dir), "", OPT_RANGE_NONE, "where tables/ and the registry go (default: fig_dir's parent)"},
    {"pretrain_run", OPT_STR, offsetof(PlotArgs, pretrain_run), "", OPT_RANGE_NONE, "base pretrain run under runs_dir (default: the one with mHC n > 0)"},
    {"pretrain_nomhc_run", OPT_STR, offsetof(PlotArgs, pretrain_nomhc_run), "", OPT_RANGE_NONE, "mHC-off pretrain run (default: the one with mHC off)"},
    {"sdft_run", OPT_STR, offsetof(PlotArgs, sdft_run), "", OPT_RANGE_NONE, "SDFT run under runs_dir (default: the one with sdft_eval_report.json)"},
    {"font", OPT_STR, offsetof(PlotArgs, font), "", OPT_RANGE_NONE, "TrueType font (default: DejaVu Sans)"},
    {"pdflatex", OPT_STR, offsetof(PlotArgs, pdflatex), "pdflatex", OPT_RANGE_NONE,
     "LaTeX compiler for paper_dir/report.pdf (\"\": write report.tex only)"},
    {0},
};

const ToolSpec PLOT_SPEC = {"plot", "plot",
    "Draws the paper's figures as PNGs into --fig_dir: fig_pipeline, fig_reward_vs_samples, fig_ablations,\n"
    "fig_paired_differences, fig_pretrain_loss, fig_sdft, fig_retention (docs/figures.md), from the run outputs under --runs_dir\n"
    "(suite/<run>_seed<s>/summary.jsonl and <task>/result.json at the seeds of the config's pipeline: section, pretrain\n"
    "and SDFT run dirs found by their files, suite/retention_ppl.json), then the LaTeX tables and results registry under\n"
    "--paper_dir, with the paired comparisons the config declares (pipeline.primary). A figure whose inputs are missing\n"
    "is skipped with a warning; a malformed input is an error (exit 2).", PLOT_OPTS, specs_check_config};

const Opt PRETRAIN_OPTS[] = {
    {"train_bin", OPT_STR, offsetof(PretrainArgs, train_bin), NULL, OPT_RANGE_NONE, "training token bin"},
    {"val_bin", OPT_STR, offsetof(PretrainArgs, val_bin), NULL, OPT_RANGE_NONE, "validation token bin"},
    {"out", OPT_STR, offsetof(PretrainArgs, out), NULL, OPT_RANGE_NONE, "run directory"},
    {"model", OPT_STR, offsetof(PretrainArgs, model), NULL, OPT_RANGE_NONE, "model config YAML (configs/model/)"},
    {"steps", OPT_INT, offsetof(PretrainArgs, steps), "5000", 1, 1e9, "optimizer steps"},
    {"seq_len", OPT_INT, offsetof(PretrainArgs, seq_len), "256", 1, 65536, "tokens per sequence (<= the model's seq_len)"},
    {"micro_bs", OPT_INT, offsetof(PretrainArgs, micro_bs), "4", 1, 65536, "sequences per micro-batch"},
    {"grad_accum", OPT_INT, offsetof(PretrainArgs, grad_accum), "4", 1, 65536, "micro-batches per optimizer step"},
    {"lr", OPT_FLOAT, offsetof(PretrainArgs, lr), "6e-4", 0, 10, "peak learning rate"},
    {"min_lr_frac", OPT_FLOAT, offsetof(PretrainArgs, min_lr_frac), "0.1", 0, 1, "cosine decay floor, as a fraction of lr"},
    {"warmup", OPT_INT, offsetof(PretrainArgs, warmup), "100", 0, 1e9, "linear warmup steps"},
    {"weight_decay", OPT_FLOAT, offsetof(PretrainArgs, weight_decay), "0.1", 0, 10, "AdamW decoupled weight decay (matrices only)"},
    {"beta1", OPT_FLOAT, offsetof(PretrainArgs, beta1), "0.9", 0, 1, "AdamW beta1"},
    {"beta2", OPT_FLOAT, offsetof(PretrainArgs, beta2), "0.95", 0, 1, "AdamW beta2"},
    {"grad_clip", OPT_FLOAT, offsetof(PretrainArgs, grad_clip), "1.0", 0, 1e9, "clip the global gradient norm (0 = off)"},
    {"eval_interval", OPT_INT, offsetof(PretrainArgs, eval_interval), "250", 1, 1e9, "steps between val-loss evaluations"},
    {"eval_batches", OPT_INT, offsetof(PretrainArgs, eval_batches), "20", 1, 1e6, "micro-batches of the val bin per evaluation"},
    {"ckpt_interval", OPT_INT, offsetof(PretrainArgs, ckpt_interval), "1000", 1, 1e9, "steps between checkpoints (also at the end and on pause)"},
    {"keep_state", OPT_INT, offsetof(PretrainArgs, keep_state), "2", 1, 1e6, "newest checkpoints that keep their resume state (older keep weights only)"},
    {"seed", OPT_INT, offsetof(PretrainArgs, seed), "0", 0, 4294967295.0, "initialisation seed"},
    {"gates", OPT_JSON, offsetof(PretrainArgs, gates), "null", OPT_RANGE_NONE,
     "gates on val_loss or loss (SPEC §8), e.g. [{at: 100, metric: val_loss, green: \"<=3.1\", on_red: stop}]"},
    {"init_from", OPT_STR, offsetof(PretrainArgs, init_from), "", OPT_RANGE_NONE, "warm start: weights of this checkpoint (fresh optimizer)"},
    {"tokenizer", OPT_STR, offsetof(PretrainArgs, tokenizer), "", OPT_RANGE_NONE,
     "the tokenizer .model that made the bins: checked against their header, and its tokenizer.json copied into every checkpoint"},
    MODEL_DEVICE_OPTS(PretrainArgs),
    {0},
};

const ToolSpec PRETRAIN_SPEC = {"pretrain", "pretrain",
    "Pretrain the GPT (+mHC, docs/model.md) with AdamW, warmup + cosine decay, gradient clipping and\n"
    "accumulation. Writes ckpt_step_NNNNNNN/ (safetensors + resume state), ckpt_latest, model_config.json,\n"
    "pretrain_config.json, metrics.jsonl. Resumes from the newest valid checkpoint by default.", PRETRAIN_OPTS, specs_check_config};

const Opt GENERATE_OPTS[] = {
    {"ckpt", OPT_STR, offsetof(GenerateArgs, ckpt), NULL, OPT_RANGE_NONE, "checkpoint dir (e.g. runs/pretrain_base/ckpt_latest)"},
    {"adapter", OPT_STR, offsetof(GenerateArgs, adapter), "", OPT_RANGE_NONE,
     "a LoRA adapter to apply (a ttt task's adapter_step_N/lora.safetensors); \"\" = none"},
    {"tokenizer", OPT_STR, offsetof(GenerateArgs, tokenizer), NULL, OPT_RANGE_NONE, "tokenizer .model"},
    {"prompt", OPT_STR, offsetof(GenerateArgs, prompt), "", OPT_RANGE_NONE, "text to continue (or --tasks and --task_id)"},
    {"tasks", OPT_STR, offsetof(GenerateArgs, tasks), "", OPT_RANGE_NONE, "tasks JSONL (gen-tasks): sample --task_id's prompt and score each completion"},
    {"task_id", OPT_STR, offsetof(GenerateArgs, task_id), "", OPT_RANGE_NONE, "the task in --tasks"},
    {"num_samples", OPT_INT, offsetof(GenerateArgs, num_samples), "4", 1, 4096, "completions, sampled in one batch"},
    {"max_new_tokens", OPT_INT, offsetof(GenerateArgs, max_new_tokens), "64", 1, 1e6, "tokens per completion at most (a stop token ends one sooner)"},
    {"temperature", OPT_FLOAT, offsetof(GenerateArgs, temperature), "1.0", 1e-4, 100, "sampling temperature"},
    {"top_k", OPT_INT, offsetof(GenerateArgs, top_k), "0", 0, 1e7, "sample from the k most likely tokens (0 = all)"},
    {"top_p", OPT_FLOAT, offsetof(GenerateArgs, top_p), "1.0", 1e-6, 1, "nucleus sampling mass (1 = off)"},
    {"seed", OPT_INT, offsetof(GenerateArgs, seed), "0", 0, 4294967295.0, "sampling seed: completion i draws from stream i of it"},
    {"json", OPT_BOOL, offsetof(GenerateArgs, json), "0", OPT_RANGE_NONE, "one JSON object per completion instead of text"},
    MODEL_DEVICE_OPTS(GenerateArgs),
    {0},
};

const ToolSpec GENERATE_SPEC = {"generate", "generate",
    "What a model writes: num_samples completions of --prompt (or of a task's prompt, each with its\n"
    "verifier's score), from a checkpoint and optionally a LoRA adapter, with the suite's sampler (KV cache,\n"
    "temperature, top-k, top-p; a completion ends at <eos>, <pad> or a newline). Deterministic per seed\n"
    "and independent of the thread count. Writes nothing but stdout.", GENERATE_OPTS, specs_check_config};

const Opt RETENTION_OPTS[] = {
    {"base_ckpt", OPT_STR, offsetof(RetentionArgs, base_ckpt), NULL, OPT_RANGE_NONE, "base checkpoint dir (e.g. runs/pretrain_base/ckpt_latest)"},
    {"base_cfg", OPT_STR, offsetof(RetentionArgs, base_cfg), NULL, OPT_RANGE_NONE, "its model_config.json (must match the checkpoint's own)"},
    {"updated_ckpt", OPT_STR, offsetof(RetentionArgs, updated_ckpt), NULL, OPT_RANGE_NONE, "updated checkpoint dir (e.g. runs/sdft_<name>/sdft_latest)"},
    {"updated_cfg", OPT_STR, offsetof(RetentionArgs, updated_cfg), NULL, OPT_RANGE_NONE, "its model_config.json (must match the checkpoint's own)"},
    {"val_bin", OPT_STR, offsetof(RetentionArgs, val_bin), NULL, OPT_RANGE_NONE, "validation token bin"},
    {"seq_len", OPT_INT, offsetof(RetentionArgs, seq_len), "256", 1, 1e6, "tokens per sequence (at most the models' seq_len)"},
    {"batch_size", OPT_INT, offsetof(RetentionArgs, batch_size), "4", 1, 1e6, "sequences per batch"},
    {"max_batches", OPT_INT, offsetof(RetentionArgs, max_batches), "50", 1, 1e9, "batches at most (fewer when the bin runs out)"},
    MODEL_DEVICE_OPTS(RetentionArgs),
    {"out", OPT_STR, offsetof(RetentionArgs, out), NULL, OPT_RANGE_NONE, "retention JSON to write (runs/suite/retention_ppl.json)"},
    {0},
};

const ToolSpec RETENTION_SPEC = {"retention", "retention",
    "Perplexity of a base and an updated checkpoint on the same batches of the val bin: batch k holds\n"
    "batch_size sequences of seq_len + 1 contiguous tokens (inputs and next-token targets), taken from the\n"
    "start of the bin at a stride of seq_len. ppl = exp(mean cross-entropy). Writes --out: base_ppl,\n"
    "updated_ppl, abs_delta (updated - base), rel_delta (updated / base - 1), losses and what was evaluated.", RETENTION_OPTS, specs_check_config};

const Opt SDFT_OPTS[] = {
    {"ckpt", OPT_STR, offsetof(SdftArgs, ckpt), NULL, OPT_RANGE_NONE, "base checkpoint (e.g. runs/pretrain_base/ckpt_latest)"},
    {"tokenizer", OPT_STR, offsetof(SdftArgs, tokenizer), NULL, OPT_RANGE_NONE, "tokenizer .model"},
    {"data", OPT_STR, offsetof(SdftArgs, data), NULL, OPT_RANGE_NONE, "demonstrations JSONL (build-sdft)"},
    {"out", OPT_STR, offsetof(SdftArgs, out), NULL, OPT_RANGE_NONE, "run directory"},
    {"steps", OPT_INT, offsetof(SdftArgs, steps), "500", 1, 1e9, "optimizer steps"},
    {"gate_val_bin", OPT_STR, offsetof(SdftArgs, gate_val_bin), NULL, OPT_RANGE_NONE, "val token bin for the perplexity gate"},
    {"gate_val_seq_len", OPT_INT, offsetof(SdftArgs, gate_val_seq_len), "256", 2, 65536, "tokens per gate sequence"},
    {"gate_val_bs", OPT_INT, offsetof(SdftArgs, gate_val_bs), "4", 1, 65536, "sequences per gate batch"},
    {"gate_val_batches", OPT_INT, offsetof(SdftArgs, gate_val_batches), "10", 1, 1e6, "batches per gate evaluation"},
    {"gate_every", OPT_INT, offsetof(SdftArgs, gate_every), "50", 1, 1e9, "steps between gate evaluations (and at the end)"},
    {"gates", OPT_JSON, offsetof(SdftArgs, gates),
     "[{\"metric\": \"val_ppl_rel_delta\", \"green\": \"<=0.05\", \"amber\": \"<=0.10\", \"on_red\": \"keep_best\"}]",
     OPT_RANGE_NONE, "gates on val_ppl_rel_delta (SPEC §8)"},
    {"lr", OPT_FLOAT, offsetof(SdftArgs, lr), "2e-5", 0, 10, "AdamW peak learning rate: linear warmup, then cosine to 0 (the reference's)"},
    {"warmup_frac", OPT_FLOAT, offsetof(SdftArgs, warmup_frac), "0.1", 0, 1, "fraction of steps in the linear warmup (ceil)"},
    {"beta2", OPT_FLOAT, offsetof(SdftArgs, beta2), "0.999", 0, 0.999999, "AdamW beta2 (beta1 0.9; Hugging Face's defaults)"},
    {"weight_decay", OPT_FLOAT, offsetof(SdftArgs, weight_decay), "0", 0, 10, "AdamW weight decay"},
    {"grad_clip", OPT_FLOAT, offsetof(SdftArgs, grad_clip), "1.0", 0, 1e9, "global gradient-norm clip (0 = off)"},
    {"ema", OPT_FLOAT, offsetof(SdftArgs, ema), "0.99", 0, 1, "teacher EMA decay: phi <- ema phi + (1 - ema) theta"},
    {"max_new_tokens", OPT_INT, offsetof(SdftArgs, max_new_tokens), "32", 1, 4096, "tokens per sampled completion at most"},
    {"demos_per_step", OPT_INT, offsetof(SdftArgs, demos_per_step), "8", 1, 4096, "demonstrations per step (cycled in order)"},
    {"temperature", OPT_FLOAT, offsetof(SdftArgs, temperature), "1.0", 1e-4, 100, "student sampling temperature"},
    {"best_of_k", OPT_INT, offsetof(SdftArgs, best_of_k), "8", 1, 4096, "K of the best-of-K reward on the demo tasks, before and after"},
    {"seed", OPT_INT, offsetof(SdftArgs, seed), "0", 0, 4294967295.0, "sampling seed"},
    {"init_from", OPT_STR, offsetof(SdftArgs, init_from), "", OPT_RANGE_NONE,
     "warm start: student and teacher start from this checkpoint (same shape); --ckpt stays the gate's base"},
    MODEL_DEVICE_OPTS(SdftArgs),
    {0},
};

const ToolSpec SDFT_SPEC = {"sdft", "sdft",
    "Self-distillation of discovered solutions (SPEC §12) with a val-perplexity gate. Writes\n"
    "sdft_step_NNNNNNN/ (published only when the gate passed; step 0 is the base), sdft_latest,\n"
    "model_config.json, metrics.jsonl, sdft_eval_report.json. Resume state lives in _resume/.", SDFT_OPTS, specs_check_config};

const Opt SWEEP_OPTS[] = {
    {"sweep_config", OPT_STR, offsetof(SweepArgs, sweep_config), "", OPT_RANGE_NONE, "sweep config YAML (configs/sweeps/)"},
    {"out_root", OPT_STR, offsetof(SweepArgs, out_root), "", OPT_RANGE_NONE, "sweep directory: journal.log, trials/, control/, top/"},
    {"workers", OPT_INT, offsetof(SweepArgs, workers), "1", 1, 256, "worker processes on this host"},
    {"top_k", OPT_INT, offsetof(SweepArgs, top_k), "0", 0, 10000, "with --report: write the best K as ready-to-run configs in top/"},
    {0},
};

const ToolSpec SWEEP_SPEC = {"sweep", "sweep",
    "Run a hyper-parameter sweep; each trial is a normal run dir of the swept tool.\n"
    "  sweep --sweep_config S.yaml --out_root R --workers N [--resume]\n"
    "  sweep --validate --sweep_config S.yaml\n"
    "  sweep --report --out_root R [--top_k K] [--sweep_config S.yaml]\n"
    "The store R/journal.log is Optuna's JournalStorage format. Touch R/control/stop.request to let running\n"
    "trials finish and stop, R/control/pause.request to pause them (continue with --resume).\n"
    "Exit codes: 0 done or stopped, 1 failure, 2 bad input, 75 paused.", SWEEP_OPTS, specs_check_config};

const Opt TRAIN_TOKENIZER_OPTS[] = {
    {"input", OPT_STR, offsetof(TrainTokenizerArgs, input), NULL, OPT_RANGE_NONE, "training text, one example per line"},
    {"model_prefix", OPT_STR, offsetof(TrainTokenizerArgs, model_prefix), NULL, OPT_RANGE_NONE, "writes PREFIX.model (and tokenizer.json, tokenizer_config.json in its folder)"},
    {"vocab_size", OPT_INT, offsetof(TrainTokenizerArgs, vocab_size), "32000", 259, 4194304, "tokens in all: 256 bytes + <eos> + <pad> + merges"},
    {"model_type", OPT_STR, offsetof(TrainTokenizerArgs, model_type), "bpe", OPT_RANGE_NONE, "only bpe (byte-level)"},
    {"model_max_length", OPT_INT, offsetof(TrainTokenizerArgs, model_max_length), "1024", 1, 1e9, "recorded in tokenizer_config.json"},
    {0},
};

const ToolSpec TRAIN_TOKENIZER_SPEC = {"train-tokenizer", "train_tokenizer",
    "Train a byte-level BPE tokenizer (every byte has a token; <eos> = 256, <pad> = 257) on a text\n"
    "file. Formats: docs/formats.md. Deterministic: the same input gives byte-identical files.", TRAIN_TOKENIZER_OPTS, specs_check_config};

const Opt TTT_OPTS[] = {
    {"tasks", OPT_STR, offsetof(TttArgs, tasks), NULL, OPT_RANGE_NONE, "tasks JSONL (gen-tasks)"},
    {"ckpt", OPT_STR, offsetof(TttArgs, ckpt), NULL, OPT_RANGE_NONE, "checkpoint dir (e.g. runs/pretrain_base/ckpt_latest)"},
    {"tokenizer", OPT_STR, offsetof(TttArgs, tokenizer), NULL, OPT_RANGE_NONE, "tokenizer .model"},
    {"out_root", OPT_STR, offsetof(TttArgs, out_root), NULL, OPT_RANGE_NONE, "run directory of this suite run"},
    {"seed", OPT_INT, offsetof(TttArgs, seed), "0", 0, 4294967295.0, "sampling and adapter seed"},
    {"mode", OPT_STR, offsetof(TttArgs, mode), "ttt", OPT_RANGE_NONE,
     "bestofn | search (PUCT reuse and refinement prompts, no learning) | ttt"},
    {"ttt_steps", OPT_INT, offsetof(TttArgs, ttt_steps), "30", 1, 1e6, "steps per task (best-of-N samples ttt_steps x rollouts)"},
    {"rollouts", OPT_INT, offsetof(TttArgs, rollouts), "32", 2, 4096, "completions per step"},
    {"max_new_tokens", OPT_INT, offsetof(TttArgs, max_new_tokens), "32", 1, 4096, "tokens per completion at most"},
    {"objective", OPT_STR, offsetof(TttArgs, objective), "entropic", OPT_RANGE_NONE, "entropic | expected"},
    {"reuse", OPT_BOOL, offsetof(TttArgs, reuse), "1", OPT_RANGE_NONE, "PUCT state reuse from an archive of earlier attempts"},
    {"adaptive_beta", OPT_BOOL, offsetof(TttArgs, adaptive_beta), "1", OPT_RANGE_NONE, "choose beta per group so KL(softmax(beta r)||uniform) = ln 2"},
    {"kl_lambda", OPT_FLOAT, offsetof(TttArgs, kl_lambda), "0.1", 0, 1e3, "per-token KL shaping against the adapter-off model"},
    {"beta", OPT_FLOAT, offsetof(TttArgs, beta), "2.0", 0, 1e6, "fixed beta when adaptive_beta is 0"},
    {"lr", OPT_STR, offsetof(TttArgs, lr), "auto", OPT_RANGE_NONE,
     "Adam learning rate of the LoRA weights: a number in [0, 10] (0: no update), or auto = 5e-4 x (2000/d_model)^0.781"},
    {"adam_beta1", OPT_FLOAT, offsetof(TttArgs, adam_beta1), "0.9", 0, 0.999999, "Adam beta1 of the LoRA update"},
    {"adam_beta2", OPT_FLOAT, offsetof(TttArgs, adam_beta2), "0.95", 0, 0.999999, "Adam beta2 of the LoRA update"},
    {"adam_eps", OPT_FLOAT, offsetof(TttArgs, adam_eps), "1e-8", 1e-30, 1, "Adam epsilon of the LoRA update"},
    {"weight_decay", OPT_FLOAT, offsetof(TttArgs, weight_decay), "0", 0, 10, "AdamW decoupled weight decay of the LoRA weights"},
    {"lora_rank", OPT_INT, offsetof(TttArgs, lora_rank), "32", 1, 4096, "LoRA rank"},
    {"lora_alpha", OPT_FLOAT, offsetof(TttArgs, lora_alpha), "0", 0, 1e6, "LoRA alpha (0 = 2 x rank)"},
    {"groups_per_step", OPT_INT, offsetof(TttArgs, groups_per_step), "1", 1, 4096, "start states per step with reuse (divides rollouts)"},
    {"temperature", OPT_FLOAT, offsetof(TttArgs, temperature), "1.0", 1e-4, 100, "sampling temperature"},
    {"top_k", OPT_INT, offsetof(TttArgs, top_k), "0", 0, 1e7, "sample from the k most likely tokens (0 = all)"},
    {"top_p", OPT_FLOAT, offsetof(TttArgs, top_p), "1.0", 1e-6, 1, "nucleus sampling mass (1 = off)"},
    {"archive_cap", OPT_INT, offsetof(TttArgs, archive_cap), "1000", 2, 1e7, "PUCT archive size per task"},
    {"puct_c", OPT_FLOAT, offsetof(TttArgs, puct_c), "1.0", 0, 1e6, "PUCT exploration constant"},
    {"gates", OPT_JSON, offsetof(TttArgs, gates), "null", OPT_RANGE_NONE,
     "gates on the run's mean_best_reward or mean_reward, checked at the end (SPEC §8)"},
    {"adapter_every", OPT_INT, offsetof(TttArgs, adapter_every), "10", 1, 1e9, "save adapter_step_N/lora.safetensors every N steps (and the last)"},
    {"shard", OPT_STR, offsetof(TttArgs, shard), "", OPT_RANGE_NONE,
     "i/n: only tasks whose index in --tasks is i mod n; run dir <out_root>/_shards/<i>_of_<n> (\"\" = all tasks)"},
    {"merge", OPT_BOOL, offsetof(TttArgs, merge), "0", OPT_RANGE_NONE, "1: sample nothing, rebuild summary.jsonl from every task's result.json"},
    MODEL_DEVICE_OPTS(TttArgs),
    {0},
};

const ToolSpec TTT_SPEC = {"ttt", "ttt",
    "The discovery suite: per task, best-of-N from the frozen model (--mode bestofn, ttt_steps x rollouts\n"
    "samples), search (--mode search: ttt's start states and refinement prompts, no update) or test-time\n"
    "LoRA training (--mode ttt: entropic or expected objective, adaptive beta, KL shaping, PUCT reuse).\n"
    "All three draw the same random numbers in the same state (common random numbers). Writes\n"
    "<out_root>/summary.jsonl and <task_id>/result.json (+ metrics.jsonl, adapter_step_N/lora.safetensors\n"
    "in ttt mode). Rerunning skips finished tasks. --shard i/n splits the\n"
    "tasks across processes that share <out_root>; the shard that finds every result.json present writes\n"
    "summary.jsonl (--merge 1 rebuilds it without sampling). See docs/scale.md.", TTT_OPTS, specs_check_config};

const Opt WATCH_OPTS[] = {
    {"root", OPT_STR, offsetof(WatchArgs, root), "", OPT_RANGE_NONE, "show a table of every run dir under this root"},
    {"follow", OPT_BOOL, offsetof(WatchArgs, follow), "0", OPT_RANGE_NONE, "keep printing until stopped"},
    {"stop_on_terminal", OPT_BOOL, offsetof(WatchArgs, stop_on_terminal), "0", OPT_RANGE_NONE, "with --follow: stop once the run is completed, failed, paused, gated or crashed"},
    {"interval", OPT_FLOAT, offsetof(WatchArgs, interval), "2", 0.05, 3600, "seconds between updates with --follow"},
    {"watch", OPT_FLOAT, offsetof(WatchArgs, watch), "0", 0, 3600, "with --root: redraw the table every N seconds (0 = once)"},
    {"costs", OPT_BOOL, offsetof(WatchArgs, costs), "0", OPT_RANGE_NONE, "with --root: also sum time and cost estimate per tool (run_record.json)"},
    {"stale_sec", OPT_FLOAT, offsetof(WatchArgs, stale_sec), "60", 1, 1e6, "a running heartbeat older than this whose pid is gone is 'crashed'"},
    {"wait", OPT_FLOAT, offsetof(WatchArgs, wait), "600", 0, 1e7,
     "with --follow: wait this long for a run dir that does not exist yet, and with --stop_on_terminal, ignore this long "
     "a terminal heartbeat older than the watch (a run being restarted)"},
    {0},
};

const ToolSpec WATCH_SPEC = {"watch", "watch",
    "Print a run's heartbeat as a progress line (phase, status, step/total, rate, ETA, heartbeat age):\n"
    "  watch --run_dir out/tiny/runs/pretrain_base --follow --stop_on_terminal\n"
    "or a table of every run under a root:  watch --root out/tiny [--watch 15] [--costs 1]\n"
    "Flags --follow and --stop_on_terminal may be given bare (meaning 1).", WATCH_OPTS, specs_check_config};

const ToolSpec* const ALL_SPECS[] = {&IMPORT_CORPUS_SPEC, &BUILD_SDFT_SPEC, &CHECK_ARTIFACTS_SPEC, &GATE_SPEC, &GEN_CORPUS_SPEC, &GEN_TASKS_SPEC, &GENERATE_SPEC, &PACK_BINS_SPEC, &PLOT_SPEC, &PRETRAIN_SPEC, &RETENTION_SPEC, &SDFT_SPEC, &SWEEP_SPEC, &TRAIN_TOKENIZER_SPEC, &TTT_SPEC, &WATCH_SPEC, NULL};

/* Every section of the file against its tool's table (keys, types, ranges), into scratch. */
static int check_sections(const char* path, const char* buf, size_t len, char err[ERR_LEN]) {
    static _Alignas(16) char scratch[8192];
    for (int i = 0; ALL_SPECS[i]; i++) {
        memset(scratch, 0, sizeof scratch);
        if (cfg_defaults(ALL_SPECS[i]->opts, scratch, err) ||
            cfg_load_mem(path, buf, len, ALL_SPECS[i]->section, ALL_SPECS[i]->opts, scratch, NULL, err))
            return -1;
    }
    return 0;
}

/* A model config of the pipeline, or -1 naming the key. */
static int pipeline_model(const char* path, const char* key, const char* file, ModelConfig* mc, char err[ERR_LEN]) {
    char e[ERR_LEN];
    if (model_config_load(mc, file, e)) { errf(err, "%s: pipeline.%s: %s", path, key, e); return -1; }
    return 0;
}

/* Top-level sections that belong to some tool of the project, and the pipeline's. A tool
 * reads its own and skips these; any other top-level key is a typo and an error. */
static int known_section(const char* key) {
    if (!strcmp(key, "pipeline")) return 1;
    for (int i = 0; ALL_SPECS[i]; i++) if (!strcmp(ALL_SPECS[i]->section, key)) return 1;
    return 0;
}

/* The checks of specs_check_config on the file's text, read once. */
static int check_config(const char* path, const char* buf, size_t len, char err[ERR_LEN]) {
    if (cfg_check_top_keys(path, buf, len, known_section, err) || check_sections(path, buf, len, err)) return -1;
    PipelineCfg pc;
    PipelinePlan plan;
    if (cfg_defaults(PIPELINE_OPTS, &pc, err) || cfg_load_mem(path, buf, len, "pipeline", PIPELINE_OPTS, &pc, NULL, err)) return -1;
    char e[ERR_LEN];
    if (pipeline_plan(&pc, &plan, e)) { errf(err, "%s: %s", path, e); return -1; }
    /* corpus: both files or neither, and they exist */
    static ImportCorpusArgs own;
    if (cfg_defaults(IMPORT_CORPUS_OPTS, &own, err) || cfg_load_mem(path, buf, len, "corpus", IMPORT_CORPUS_OPTS, &own, NULL, err)) return -1;
    if (!*own.train != !*own.val) {
        errf(err, "%s: corpus.%s: not set: your own text needs both train and val", path, *own.train ? "val" : "train");
        return -1;
    }
    for (int k = 0; k < 2 && *own.train; k++)
        if (!path_exists(k ? own.val : own.train)) {
            errf(err, "%s: corpus.%s: %s: not found", path, k ? "val" : "train", k ? own.val : own.train);
            return -1;
        }
    /* Cross-section sense: the lengths and vocabularies the tools' sections ask of the models
     * the file names in its pipeline section. */
    static TrainTokenizerArgs tok;
    static PretrainArgs pre;
    static TttArgs ttt;
    static SdftArgs sdft;
    static RetentionArgs ret;
    struct { const ToolSpec* s; void* st; } load[] = {{&TRAIN_TOKENIZER_SPEC, &tok}, {&PRETRAIN_SPEC, &pre}, {&TTT_SPEC, &ttt},
                                                     {&SDFT_SPEC, &sdft}, {&RETENTION_SPEC, &ret}};
    for (size_t i = 0; i < sizeof load / sizeof load[0]; i++)
        if (cfg_defaults(load[i].s->opts, load[i].st, err) || cfg_load_mem(path, buf, len, load[i].s->section, load[i].s->opts, load[i].st, NULL, err))
            return -1;
    /* Values the tools check past their type: gates, and ttt's mode, objective, lr and groups. */
    struct { const json_t* g; const char* key; } gs[3] = {{pre.gates, "pretrain.gates"}, {ttt.gates, "ttt.gates"}, {sdft.gates, "sdft.gates"}};
    for (int i = 0; i < 3; i++) {
        char where[4400];
        snprintf(where, sizeof where, "%s: %s", path, gs[i].key);
        Gate* g = NULL;
        int ng = 0;
        if (gates_parse(gs[i].g, where, &g, &ng, err)) return -1;
        free(g);
    }
    const char* bad = NULL;
    char why[160] = "";
    char* end = NULL;
    double lr = strtod(ttt.lr, &end);
    if (strcmp(ttt.mode, "ttt") && strcmp(ttt.mode, "search") && strcmp(ttt.mode, "bestofn")) bad = "ttt.mode", snprintf(why, sizeof why, "'%s': expected bestofn, search or ttt", ttt.mode);
    else if (strcmp(ttt.objective, "entropic") && strcmp(ttt.objective, "expected")) bad = "ttt.objective", snprintf(why, sizeof why, "'%s': expected entropic or expected", ttt.objective);
    else if (strcmp(ttt.lr, "auto") && (end == ttt.lr || *end || !(lr >= 0 && lr <= 10))) bad = "ttt.lr", snprintf(why, sizeof why, "'%s': expected auto or a number in [0, 10]", ttt.lr);
    else if (ttt.rollouts % ttt.groups_per_step) bad = "ttt.groups_per_step", snprintf(why, sizeof why, "%ld does not divide rollouts %ld", ttt.groups_per_step, ttt.rollouts);
    if (bad) { errf(err, "%s: %s: %s", path, bad, why); return -1; }
    /* Only the models the file names (a tool's own small config names none). */
    PipelineCfg named;
    memset(&named, 0, sizeof named);
    if (cfg_load_mem(path, buf, len, "pipeline", PIPELINE_OPTS, &named, NULL, err)) return -1;
    const char* keys[2] = {"model", "model_nomhc"};
    const char* files[2] = {named.model, named.model_nomhc};
    for (int k = 0; k < 2; k++) {
        if (!files[k] || !*files[k]) continue;
        ModelConfig mc;
        if (pipeline_model(path, keys[k], files[k], &mc, err)) return -1;
        const char* why = NULL;
        char what[160];
        if (tok.vocab_size > mc.vocab_size) why = "train_tokenizer.vocab_size", snprintf(what, sizeof what, "%ld exceeds", tok.vocab_size);
        else if (pre.seq_len > mc.seq_len) why = "pretrain.seq_len", snprintf(what, sizeof what, "%ld exceeds", pre.seq_len);
        else if (ttt.max_new_tokens >= mc.seq_len) why = "ttt.max_new_tokens", snprintf(what, sizeof what, "%ld leaves no room for a prompt in", ttt.max_new_tokens);
        else if (sdft.max_new_tokens >= mc.seq_len) why = "sdft.max_new_tokens", snprintf(what, sizeof what, "%ld leaves no room for a prompt in", sdft.max_new_tokens);
        else if (sdft.gate_val_seq_len > mc.seq_len) why = "sdft.gate_val_seq_len", snprintf(what, sizeof what, "%ld exceeds", sdft.gate_val_seq_len);
        else if (ret.seq_len > mc.seq_len) why = "retention.seq_len", snprintf(what, sizeof what, "%ld exceeds", ret.seq_len);
        if (why) {
            errf(err, "%s: %s: %s the model's %s %ld (pipeline.%s: %s)", path, why, what,
                     !strcmp(why, "train_tokenizer.vocab_size") ? "vocab_size" : "seq_len",
                     !strcmp(why, "train_tokenizer.vocab_size") ? mc.vocab_size : mc.seq_len, keys[k], files[k]);
            return -1;
        }
    }
    return 0;
}

int specs_check_config(const char* path, char err[ERR_LEN]) {
    size_t len;
    char* buf = read_file(path, &len, err);
    if (!buf) return -1;
    int rc = check_config(path, buf, len, err);
    free(buf);
    return rc;
}
