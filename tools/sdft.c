/* sdft (D3): consolidate discovered solutions into the base weights by on-policy
 * self-distillation (SDFT_SPEC §6, §12): the student samples a completion for a
 * task prompt; an EMA teacher sees the same completion after a demonstration;
 * the loss is the per-token reverse KL(student || teacher) over the vocabulary.
 * A val-perplexity gate (lib/run/gate, on_red: keep_best) guards forgetting: only
 * checkpoints that passed are published as sdft_step_N / sdft_latest. The loop is
 * lib/algo/sdft.c (sdft_train); this file loads and checks the inputs and reports. */
#include "bins.h"
#include "lifecycle.h"
#include "specs.h"
#include "ckpt.h"
#include "config.h"
#include "control.h"
#include "gate.h"
#include "json.h"
#include "model.h"
#include "sdft.h"
#include "sdftdata.h"
#include "tasks.h"
#include "tokenizer.h"
#include "track.h"
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Each step on the tracker: gate verdicts, the gate's line, live values, progress. */
static int on_step(void* ctx, const SdftRun* r, const json_t* row, const json_t* records) {
    Tracker* t = ctx;
    if (track_gates(t, records, 0)) die(t->err_exit, "%s", t->err);
    if (json_object_get(row, "val_ppl")) {
        const char* v = jget_str(row, "gate", "");
        double ppl = jget_num(row, "val_ppl", 0), rel = jget_num(row, "val_ppl_rel_delta", 0);
        track_say(t, "step %ld/%ld kl %.4f val ppl %.4f (%+.2f%%) gate %s", r->step, r->a->steps, jget_num(row, "kl", 0), ppl,
                  100 * rel, v);
        if (!strcmp(v, "AMBER")) track_say(t, "sdft: AMBER at step %ld: val ppl %+.2f%% of the base", r->step, 100 * rel);
        if (!strcmp(v, "RED")) track_say(t, "sdft: RED at step %ld; sdft_latest stays at step %ld", r->step, r->last_pass);
        else {
            char d[4096], err[ERR_LEN];
            if (life_step_dir(d, sizeof d, r->a->out, "sdft", r->step, err)) die(EXIT_BADINPUT, "%s", err);
            if (track_event(t, "checkpoint", json_pack("{s:s, s:I}", "dir", d, "step", (json_int_t)r->step))) die(t->err_exit, "%s", t->err);
        }
        track_live(t, "val_ppl", json_copy(json_object_get(row, "val_ppl")));
        track_live(t, "gate", json_copy(json_object_get(row, "gate")));
    }
    track_live(t, "kl", json_copy(json_object_get(row, "kl")));
    if (track_progress(t, r->step, NULL)) die(t->err_exit, "%s", t->err);
    int asked = control_pause_requested();
    if (asked < 0) die(t->err_exit, "%s", t->err);
    return asked;
}

/* The threshold build-sdft used, for the empty-demo message (from its run's resolved config). */
static void demo_threshold(const char* data, char* out, size_t cap) {
    char run[4096], p[4200], err[ERR_LEN];
    snprintf(out, cap, "its min_reward");
    if (life_default_dir(run, sizeof run, data, err)) die(EXIT_BADINPUT, "%s", err);
    if (path_join(p, sizeof p, run, "config_resolved.yaml", err)) return;
    size_t len;
    char* s = path_exists(p) ? read_file(p, &len, err) : NULL;
    char* k = s ? strstr(s, "min_reward:") : NULL;
    if (k) snprintf(out, cap, "min_reward %.*s", (int)strcspn(k + 12, "\n"), k + 12);
    free(s);
}

__attribute__((noreturn)) static void pause_exit(Tracker* t, const char* resume_state) {
    if (control_pause(t, resume_state)) die(t->err_exit, "%s", t->err);
    exit(EXIT_PAUSED);
}

int main(int argc, char** argv) {
    SdftArgs a;
    Common c;
    char err[ERR_LEN], p[4200];
    int cli = cfg_cli(&SDFT_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    omp_set_num_threads(c.threads > 0 ? (int)c.threads : threads_share());   /* threads: 0 = my share of the machine */
    Gate* gates;
    int ngates;
    if (gates_parse(a.gates, c.config_path ? c.config_path : "flags", &gates, &ngates, err)) die(EXIT_BADINPUT, "%s", err);
    Demo* demos = NULL;
    long nd = sdft_demos_load(a.data, &demos, err);
    if (nd < 0) die(EXIT_BADINPUT, "%s", err);
    if (nd == 0) {
        char th[128];
        demo_threshold(a.data, th, sizeof th);
        die(EXIT_BADINPUT, "%s: no demonstrations: no discovered solution reached build-sdft's %s; nothing to distill", a.data, th);
    }
    Task* tasks = calloc_check(nd, sizeof(Task));
    for (long i = 0; i < nd; i++)
        if (task_parse_prompt(demos[i].prompt, &tasks[i]))
            die(EXIT_BADINPUT, "%s:%ld: prompt is not a task: '%s'", a.data, i + 1, demos[i].prompt);
        else snprintf(tasks[i].prompt, sizeof tasks[i].prompt, "%s", demos[i].prompt);
    Tokenizer* tok = tok_load(a.tokenizer, err);
    if (!tok) die(EXIT_BADINPUT, "%s", err);
    ModelConfig mc;
    if (ckpt_read_config(a.ckpt, &mc, err)) die(EXIT_BADINPUT, "%s", err);
    Model S, T;   /* student, teacher */
    model_build(&S, &mc, 0);
    model_build(&T, &mc, 0);
    if (ckpt_load_weights(a.ckpt, &S, err)) die(EXIT_BADINPUT, "%s", err);
    if (*a.init_from && ckpt_load_weights(a.init_from, &T, err)) die(EXIT_BADINPUT, "%s", err);
    if (!*a.init_from) memcpy(T.params, S.params, S.num_params * sizeof(float));
    if (model_use_device(&S, a.device, a.precision, err)) die(EXIT_BADINPUT, "%s", err);
    if (model_use_device(&T, a.device, a.precision, err)) die(EXIT_BADINPUT, "%s", err);
    if (tok_vocab_size(tok) != S.V)
        die(EXIT_BADINPUT, "%s: vocab %d differs from the model's %d (%s): mismatched tokenizer and checkpoint", a.tokenizer,
            tok_vocab_size(tok), S.V, a.ckpt);
    if (ckpt_check_tokenizer(a.ckpt, S.tokenizer_sha256, a.tokenizer, NULL, err)) die(EXIT_BADINPUT, "%s", err);
    char tok_dir[4096], tok_json[4200];   /* beside the weights of every checkpoint, when train-tokenizer wrote one */
    if (path_dirname(tok_dir, sizeof tok_dir, a.tokenizer, err)) die(EXIT_BADINPUT, "%s", err);
    if (path_join(tok_json, sizeof tok_json, tok_dir, "tokenizer.json", err)) die(EXIT_BADINPUT, "%s", err);
    if (path_exists(tok_json)) S.tokenizer_json = tok_json;
    if (a.gate_val_seq_len > S.Tmax) die(EXIT_BADINPUT, "%s: gate_val_seq_len: %ld exceeds the model's seq_len %d", cfg_where(&c), a.gate_val_seq_len, S.Tmax);
    if (a.max_new_tokens >= S.Tmax) die(EXIT_BADINPUT, "%s: max_new_tokens: %ld leaves no room for a prompt", cfg_where(&c), a.max_new_tokens);
    Bin val;
    if (bin_open(&val, a.gate_val_bin, err)) die(EXIT_BADINPUT, "%s", err);
    if (val.vocab > S.V) die(EXIT_BADINPUT, "%s: vocab %d exceeds the model's %d", a.gate_val_bin, val.vocab, S.V);
    if (ckpt_check_tokenizer(a.ckpt, S.tokenizer_sha256, a.gate_val_bin, val.tok_sha256, err)) die(EXIT_BADINPUT, "%s", err);
    if ((long)val.ntok < a.gate_val_seq_len + 1) die(EXIT_BADINPUT, "%s: too few tokens for one gate sequence", a.gate_val_bin);
    char wpath[4200];
    if (path_join(wpath, sizeof wpath, a.ckpt, "model.safetensors", err)) die(EXIT_BADINPUT, "%s", err);
    /* A run with other settings or inputs is refused, or redone with --force (FORCE=1). */
    static const char* const ignore[] = {"ckpt", "tokenizer", "data", "out", "gate_val_bin", "device", NULL};
    const char* ins[] = {a.data, wpath, a.gate_val_bin};
    LifeRedo redo = {0};
    int done = life_begin(a.out, &SDFT_SPEC, &a, &c, ignore, NULL, NULL, ins, 3, &redo);
    if (done < 0) die(redo.err_exit, "%s", redo.err);
    if (done) {
        printf("sdft: %s is complete with these settings and inputs; nothing to do\n", a.out);
        return 0;
    }
    Tracker t;
    if (track_open(&t, a.out, &SDFT_SPEC, &a, &c, "sdft")) die(t.err_exit, "%s", t.err);
    track_summary(&t, "device", kernels_json(S.k));
    control_install(&t);
    if (track_redo_event(&t, &redo)) die(t.err_exit, "%s", t.err);
    if (track_input(&t, a.data)) die(t.err_exit, "%s", t.err);
    if (track_input(&t, wpath)) die(t.err_exit, "%s", t.err);
    if (track_input(&t, a.gate_val_bin)) die(t.err_exit, "%s", t.err);
    if (*a.init_from) {
        char ip[4200];
        if (path_join(ip, sizeof ip, a.init_from, "model.safetensors", err)) die(EXIT_BADINPUT, "%s", err);
        if (track_input(&t, is_dir(a.init_from) ? ip : a.init_from)) die(t.err_exit, "%s", t.err);
    }
    track_total(&t, a.steps);
    json_t* mcj = model_config_to_json(&mc);
    if (path_join(p, sizeof p, a.out, "model_config.json", err)) die(EXIT_BADINPUT, "%s", err);
    if (json_write_atomic(p, mcj, err)) die(EXIT_FAIL, "%s", err);
    SdftRun r;
    sdft_run_open(&r, &a, &S, &T, tok, demos, tasks, nd, &val);
    int resumed = sdft_begin(&r, err);
    if (resumed < 0) die(EXIT_FAIL, "%s", err);
    if (resumed) {
        track_say(&t, "sdft: resuming from %s (step %ld)", r.resumed_from, r.step);
        if (track_resumed(&t, r.step)) die(t.err_exit, "%s", t.err);
    }
    track_say(&t, "sdft: %ld demos from %s, base val ppl %.4f, best-of-%ld on the demo tasks %.4f", nd, a.data, r.base_ppl,
              a.best_of_k, r.bok_before);
    int rc = sdft_train(&r, gates, ngates, on_step, &t, err);
    if (rc < 0) die(EXIT_FAIL, "%s", err);
    if (rc == 2) {
        if (track_finish(&t, "gated", "gate RED")) die(t.err_exit, "%s", t.err);
        return EXIT_GATED;
    }
    if (rc == 1) pause_exit(&t, "_resume/state_latest");
    /* The published model is the last one that passed. */
    if (sdft_finish(&r, err)) die(EXIT_FAIL, "%s", err);
    if (path_join(p, sizeof p, a.out, "sdft_eval_report.json", err)) die(EXIT_BADINPUT, "%s", err);
    if (track_output(&t, p)) die(t.err_exit, "%s", t.err);
    const char* req[] = {"sdft_latest", "model_config.json", "metrics.jsonl", "sdft_eval_report.json"};
    for (int i = 0; i < 4; i++) track_require(&t, req[i]);
    track_say(&t, "sdft: done at step %ld%s; published step %ld: val ppl %.4f (base %.4f), best-of-%ld %.4f -> %.4f", r.step,
              r.red_step >= 0 ? " (stopped by a RED gate)" : "", r.last_pass, r.final_ppl, r.base_ppl, a.best_of_k, r.bok_before,
              r.bok_after);
    if (track_finish(&t, "completed", r.red_step >= 0 ? "gate RED: kept the last passing checkpoint" : "")) die(t.err_exit, "%s", t.err);
    char resume_dir[4200];   /* the resume state of a finished run */
    if (path_join(resume_dir, sizeof resume_dir, a.out, "_resume", err)) die(EXIT_BADINPUT, "%s", err);
    if (life_rm_tree(resume_dir)) fprintf(stderr, "sdft: could not remove %s\n", resume_dir);
    return 0;
}
