/* ttt (C2; runbook: run_discovery_suite): the discovery suite. For every task,
 * compute-matched best-of-N or test-time LoRA training (lib/ttt.c); results per
 * task, summary.jsonl per run. Resumes by skipping tasks whose result.json exists. */
#include "atomic.h"
#include "ckpt.h"
#include "config.h"
#include "control.h"
#include "gate.h"
#include "json.h"
#include "tasks.h"
#include "tokenizer.h"
#include "track.h"
#include "ttt.h"
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *tasks, *ckpt, *tokenizer, *out_root, *mode, *objective;
    long seed, ttt_steps, rollouts, max_new_tokens, groups_per_step, lora_rank, top_k, archive_cap, adapter_every;
    int reuse, adaptive_beta;
    double kl_lambda, beta, lr, lora_alpha, temperature, top_p, puct_c;
    json_t* gates;
} Args;

static const Opt OPTS[] = {
    {"tasks", OPT_STR, offsetof(Args, tasks), NULL, OPT_RANGE_NONE, "tasks JSONL (gen-tasks)"},
    {"ckpt", OPT_STR, offsetof(Args, ckpt), NULL, OPT_RANGE_NONE, "checkpoint dir (e.g. runs/pretrain_base/ckpt_latest)"},
    {"tokenizer", OPT_STR, offsetof(Args, tokenizer), NULL, OPT_RANGE_NONE, "tokenizer .model"},
    {"out_root", OPT_STR, offsetof(Args, out_root), NULL, OPT_RANGE_NONE, "run directory of this suite run"},
    {"seed", OPT_INT, offsetof(Args, seed), "0", 0, 4294967295.0, "sampling and adapter seed"},
    {"mode", OPT_STR, offsetof(Args, mode), "ttt", OPT_RANGE_NONE, "bestofn | ttt"},
    {"ttt_steps", OPT_INT, offsetof(Args, ttt_steps), "30", 1, 1e6, "steps per task (best-of-N samples ttt_steps x rollouts)"},
    {"rollouts", OPT_INT, offsetof(Args, rollouts), "32", 2, 4096, "completions per step"},
    {"max_new_tokens", OPT_INT, offsetof(Args, max_new_tokens), "32", 1, 4096, "tokens per completion at most"},
    {"objective", OPT_STR, offsetof(Args, objective), "entropic", OPT_RANGE_NONE, "entropic | expected"},
    {"reuse", OPT_BOOL, offsetof(Args, reuse), "1", OPT_RANGE_NONE, "PUCT state reuse from an archive of earlier attempts"},
    {"adaptive_beta", OPT_BOOL, offsetof(Args, adaptive_beta), "1", OPT_RANGE_NONE, "choose beta per group so KL(softmax(beta r)||uniform) = ln 2"},
    {"kl_lambda", OPT_FLOAT, offsetof(Args, kl_lambda), "0.1", 0, 1e3, "per-token KL shaping against the adapter-off model"},
    {"beta", OPT_FLOAT, offsetof(Args, beta), "2.0", 0, 1e6, "fixed beta when adaptive_beta is 0"},
    {"lr", OPT_FLOAT, offsetof(Args, lr), "4e-5", 0, 10, "Adam learning rate of the LoRA weights"},
    {"lora_rank", OPT_INT, offsetof(Args, lora_rank), "32", 1, 4096, "LoRA rank"},
    {"lora_alpha", OPT_FLOAT, offsetof(Args, lora_alpha), "0", 0, 1e6, "LoRA alpha (0 = 2 x rank)"},
    {"groups_per_step", OPT_INT, offsetof(Args, groups_per_step), "1", 1, 4096, "start states per step with reuse (divides rollouts)"},
    {"temperature", OPT_FLOAT, offsetof(Args, temperature), "1.0", 1e-4, 100, "sampling temperature"},
    {"top_k", OPT_INT, offsetof(Args, top_k), "0", 0, 1e7, "sample from the k most likely tokens (0 = all)"},
    {"top_p", OPT_FLOAT, offsetof(Args, top_p), "1.0", 1e-6, 1, "nucleus sampling mass (1 = off)"},
    {"archive_cap", OPT_INT, offsetof(Args, archive_cap), "1000", 2, 1e7, "PUCT archive size per task"},
    {"puct_c", OPT_FLOAT, offsetof(Args, puct_c), "1.0", 0, 1e6, "PUCT exploration constant"},
    {"gates", OPT_JSON, offsetof(Args, gates), "null", OPT_RANGE_NONE,
     "gates on the run's mean_best_reward or mean_reward, checked at the end (SPEC §8)"},
    {"adapter_every", OPT_INT, offsetof(Args, adapter_every), "10", 1, 1e9, "save adapter_step_N/lora.safetensors every N steps (and the last)"},
    {0},
};

static const ToolSpec SPEC = {"ttt", "ttt",
    "The discovery suite: per task, best-of-N from the frozen model (--mode bestofn, ttt_steps x rollouts\n"
    "samples) or test-time LoRA training (--mode ttt: entropic or expected objective, adaptive beta,\n"
    "KL shaping, PUCT reuse). Writes <out_root>/summary.jsonl and <task_id>/result.json (+ metrics.jsonl,\n"
    "adapter_step_N/lora.safetensors in ttt mode). Rerunning skips finished tasks.", OPTS};

typedef struct { Tracker* t; long base; } StepCtx;

static int on_step(void* ctx, long step, json_t* row) {
    StepCtx* s = ctx;
    track_progress(s->t, s->base + step, NULL);
    json_decref(row);
    return control_pause_requested();
}

int main(int argc, char** argv) {
    Args a;
    Common c;
    cfg_cli(&SPEC, argc, argv, &a, &c);
    char err[ERR_LEN], p[4200];
    if (c.threads > 0) omp_set_num_threads((int)c.threads);
    Gate* gates;
    int ngates;
    if (gates_parse(a.gates, c.config_path ? c.config_path : "flags", &gates, &ngates, err)) die(EXIT_BADINPUT, "%s", err);
    TttCfg tc = {0};
    if (!strcmp(a.mode, "ttt")) tc.ttt = 1;
    else if (strcmp(a.mode, "bestofn")) cfg_refuse(&c, "mode", "'%s': expected bestofn or ttt", a.mode);
    if (!strcmp(a.objective, "entropic")) tc.entropic = 1;
    else if (strcmp(a.objective, "expected")) cfg_refuse(&c, "objective", "'%s': expected entropic or expected", a.objective);
    if (a.rollouts % a.groups_per_step) cfg_refuse(&c, "groups_per_step", "%ld does not divide rollouts %ld", a.groups_per_step, a.rollouts);
    if (a.rollouts / a.groups_per_step < 2) cfg_refuse(&c, "groups_per_step", "each group needs at least 2 rollouts");
    tc.ttt_steps = a.ttt_steps; tc.rollouts = a.rollouts; tc.max_new_tokens = a.max_new_tokens;
    tc.groups_per_step = a.reuse ? a.groups_per_step : 1; tc.reuse = a.reuse; tc.adaptive_beta = a.adaptive_beta;
    tc.beta = a.beta; tc.kl_lambda = a.kl_lambda; tc.lr = a.lr; tc.lora_rank = a.lora_rank;
    tc.lora_alpha = a.lora_alpha > 0 ? a.lora_alpha : 2.0 * a.lora_rank; tc.temperature = a.temperature;
    tc.top_k = a.top_k; tc.top_p = a.top_p; tc.archive_cap = a.archive_cap; tc.puct_c = a.puct_c;
    tc.adapter_every = a.adapter_every;

    Task* tasks = NULL;
    long nt = tasks_load_jsonl(a.tasks, &tasks, err);
    if (nt < 0) die(EXIT_BADINPUT, "%s", err);
    if (nt == 0) die(EXIT_BADINPUT, "%s: no tasks", a.tasks);
    Tokenizer* tok = tok_load(a.tokenizer, err);
    if (!tok) die(EXIT_BADINPUT, "%s", err);
    ModelConfig mc;
    if (ckpt_read_config(a.ckpt, &mc, err)) die(EXIT_BADINPUT, "%s", err);
    Model m;
    model_build(&m, &mc, 0);
    if (ckpt_load_weights(a.ckpt, &m, err)) die(EXIT_BADINPUT, "%s", err);
    if (tok_vocab_size(tok) > m.V)
        die(EXIT_BADINPUT, "%s: vocab %d exceeds the model's %d (%s): mismatched tokenizer and checkpoint", a.tokenizer,
            tok_vocab_size(tok), m.V, a.ckpt);
    if (a.max_new_tokens >= m.Tmax) cfg_refuse(&c, "max_new_tokens", "%ld leaves no room for a prompt in %d positions", a.max_new_tokens, m.Tmax);

    char wpath[4200], moved[4096] = "", prev[16];
    path_join(wpath, sizeof wpath, a.ckpt, "model.safetensors");
    if (!c.resume) track_move_aside(a.out_root, &c, moved);
    track_prev_status(a.out_root, prev);
    if (!strcmp(prev, "completed")) {
        /* A completed suite run is redone only on request: report what changed. */
        const char* ins[] = {a.tasks, a.tokenizer, wpath};
        char changed[2048];
        if (track_changed_inputs(a.out_root, ins, 3, changed, sizeof changed))
            die(EXIT_BADINPUT, "%s: completed, but %s changed since; redo it with FORCE=1 (--no-resume --force)", a.out_root, changed);
        printf("ttt: %s is complete; nothing to do (--no-resume --force to redo)\n", a.out_root);
        return 0;
    }
    Tracker t;
    track_open(&t, a.out_root, &SPEC, &a, &c, tc.ttt ? "ttt" : "bestofn");
    if (*moved) track_event(&t, "discard", json_pack("{s:s, s:s}", "moved_to", moved, "reason", "--no-resume"));
    control_install(a.out_root);
    track_input(&t, a.tasks);
    track_input(&t, a.tokenizer);
    track_input(&t, wpath);
    track_total(&t, nt * a.ttt_steps);
    track_require(&t, "summary.jsonl");
    json_t* results = json_array();
    double best_sum = 0, mean_sum = 0;
    for (long i = 0; i < nt; i++) {
        const Task* task = &tasks[i];
        char dir[4200], res_path[4300];
        path_join(dir, sizeof dir, a.out_root, task->id);
        path_join(res_path, sizeof res_path, dir, "result.json");
        snprintf(p, sizeof p, "%s/result.json", task->id);
        track_require(&t, p);
        json_t* r = path_exists(res_path) ? json_load_path(res_path, err) : NULL;
        if (!r) {
            /* Unfinished: continues from its state/ (or starts over), bit-identically. */
            if (mkdir_p(dir, err)) die(EXIT_FAIL, "%s", err);
            StepCtx sc = {&t, i * a.ttt_steps};
            TaskResult tr;
            int rc = ttt_run_task(&m, tok, task, &tc, (uint64_t)a.seed, dir, on_step, &sc, &tr, err);
            if (rc < 0) die(EXIT_FAIL, "%s: %s", task->id, err);
            if (rc == 1) { json_decref(tr.curve); control_pause_exit(&t, "finished tasks' result.json and the current task's state/"); }
            r = json_pack("{s:s, s:s, s:s, s:I, s:f, s:s, s:f, s:I, s:I, s:f, s:o, s:s, s:b, s:b, s:f, s:I, s:I, s:I}",
                          "task_id", task->id, "family", task_family_name(task->family), "mode", a.mode,
                          "seed", (json_int_t)a.seed, "best_reward", tr.best_reward, "best_solution", tr.best_solution,
                          "mean_reward", tr.mean_reward, "samples", (json_int_t)tr.samples, "tokens", (json_int_t)tr.tokens,
                          "seconds", tr.seconds, "curve", tr.curve, "objective", a.objective, "reuse", a.reuse,
                          "adaptive_beta", a.adaptive_beta, "kl_lambda", a.kl_lambda, "ttt_steps", (json_int_t)a.ttt_steps,
                          "rollouts", (json_int_t)a.rollouts, "max_new_tokens", (json_int_t)a.max_new_tokens);
            if (json_write_atomic(res_path, r, err)) die(EXIT_FAIL, "%s", err);
            char cmd[8700];
            snprintf(cmd, sizeof cmd, "rm -rf '%s/state'", dir);   /* resume state of a finished task */
            if (system(cmd)) die(EXIT_FAIL, "%s/state: cannot remove", dir);
            track_say(&t, "%s [%s] best %.3f mean %.3f (%ld samples, %.1fs)", task->id, task_family_name(task->family),
                      tr.best_reward, tr.mean_reward, tr.samples, tr.seconds);
        }
        best_sum += jget_num(r, "best_reward", 0);
        mean_sum += jget_num(r, "mean_reward", 0);
        json_object_del(r, "curve");
        json_array_append_new(results, r);
        track_progress(&t, (i + 1) * a.ttt_steps, task->id);
    }
    /* summary.jsonl is rebuilt from every result.json, so a resumed run gives the same file. */
    AtomicFile af;
    path_join(p, sizeof p, a.out_root, "summary.jsonl");
    if (atomic_open(&af, p, err)) die(EXIT_FAIL, "%s", err);
    size_t k;
    json_t* r;
    json_array_foreach(results, k, r) {
        char* line = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(10));
        fprintf(af.f, "%s\n", line);
        free(line);
    }
    if (atomic_commit(&af, err)) die(EXIT_FAIL, "%s", err);
    track_output(&t, p);
    track_summary(&t, "tasks", json_integer(nt));
    track_summary(&t, "mean_best_reward", json_real(best_sum / nt));
    track_summary(&t, "mean_reward", json_real(mean_sum / nt));
    track_say(&t, "ttt: %ld tasks, mode %s: mean best reward %.4f, mean reward %.4f -> %s", nt, a.mode, best_sum / nt,
              mean_sum / nt, p);
    /* Gates on the run's summary (the metrics exist once every task is done). */
    json_t* final = json_pack("{s:f, s:f}", "mean_best_reward", best_sum / nt, "mean_reward", mean_sum / nt);
    GateVerdict worst = GATE_GREEN;
    for (int g = 0; g < ngates; g++) {
        json_t* v = json_object_get(final, gates[g].metric);
        if (!json_is_number(v) || !gate_applies(&gates[g], gates[g].metric, a.ttt_steps)) continue;
        GateVerdict r = gate_eval(&gates[g], json_number_value(v));
        track_say(&t, "gate %s: %s = %.4f", gate_verdict_name(r), gates[g].metric, json_number_value(v));
        track_event(&t, "gate", gate_record(&gates[g], a.ttt_steps, json_number_value(v), r));
        if (r > worst) worst = r;
    }
    json_decref(final);
    if (worst == GATE_RED) { track_finish(&t, "gated", "gate RED"); return EXIT_GATED; }
    track_finish(&t, "completed", "");
    json_decref(results);
    free(tasks);
    tok_free(tok);
    model_free(&m);
    return 0;
}
