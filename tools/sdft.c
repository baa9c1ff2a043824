/* sdft (D3): consolidate discovered solutions into the base weights by on-policy
 * self-distillation (SDFT_SPEC §6, §12): the student samples a completion for a
 * task prompt; an EMA teacher sees the same completion after a demonstration;
 * the loss is the per-token reverse KL(student || teacher) over the vocabulary.
 * A val-perplexity gate (lib/run/gate, on_red: keep_best) guards forgetting: only
 * checkpoints that passed are published as sdft_step_N / sdft_latest. */
#include "bins.h"
#include "specs.h"
#include "ckpt.h"
#include "config.h"
#include "control.h"
#include "gate.h"
#include "json.h"
#include "model.h"
#include "optim.h"
#include "sample.h"
#include "sdft.h"
#include "sdftdata.h"
#include "tasks.h"
#include "tokenizer.h"
#include "track.h"
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct { Model s, t; const Tokenizer* tok; TokCache* cache; uint8_t* stop; } Ctx;

/* The gate's val perplexity and the best-of-k on the demo tasks, with this run's settings. */
static double val_ppl(Model* m, const Bin* val, const SdftArgs* a) {
    return sdft_val_ppl(m, val, (int)a->gate_val_bs, (int)a->gate_val_seq_len, a->gate_val_batches);
}
static double best_of_k(Ctx* x, Model* m, const Task* tasks, long n, const SdftArgs* a, uint64_t seed) {
    return sdft_best_of_k(m, x->tok, x->cache, x->stop, tasks, n, (int)a->best_of_k, (int)a->max_new_tokens, seed);
}

/* The threshold build-sdft used, for the empty-demo message (from its run's resolved config). */
static void demo_threshold(const char* data, char* out, size_t cap) {
    char run[4096], p[4200], err[ERR_LEN];
    snprintf(out, cap, "its min_reward");
    track_default_dir(run, sizeof run, data);
    path_join(p, sizeof p, run, "config_resolved.yaml");
    size_t len;
    char* s = path_exists(p) ? read_file(p, &len, err) : NULL;
    char* k = s ? strstr(s, "min_reward:") : NULL;
    if (k) snprintf(out, cap, "min_reward %.*s", (int)strcspn(k + 12, "\n"), k + 12);
    free(s);
}

int main(int argc, char** argv) {
    SdftArgs a;
    Common c;
    cfg_cli(&SDFT_SPEC, argc, argv, &a, &c);
    char err[ERR_LEN], p[4200], d[4096];
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
    Ctx x = {0};
    x.tok = tok_load(a.tokenizer, err);
    if (!x.tok) die(EXIT_BADINPUT, "%s", err);
    ModelConfig mc;
    if (ckpt_read_config(a.ckpt, &mc, err)) die(EXIT_BADINPUT, "%s", err);
    model_build(&x.s, &mc, 0);
    model_build(&x.t, &mc, 0);
    if (ckpt_load_weights(a.ckpt, &x.s, err)) die(EXIT_BADINPUT, "%s", err);
    if (*a.init_from && ckpt_load_weights(a.init_from, &x.t, err)) die(EXIT_BADINPUT, "%s", err);
    if (!*a.init_from) memcpy(x.t.params, x.s.params, x.s.num_params * sizeof(float));
    model_use_device(&x.s, a.device, a.precision);
    model_use_device(&x.t, a.device, a.precision);
    if (tok_vocab_size(x.tok) != x.s.V)
        die(EXIT_BADINPUT, "%s: vocab %d differs from the model's %d (%s): mismatched tokenizer and checkpoint", a.tokenizer,
            tok_vocab_size(x.tok), x.s.V, a.ckpt);
    if (ckpt_check_tokenizer(a.ckpt, x.s.tokenizer_sha256, a.tokenizer, NULL, err)) die(EXIT_BADINPUT, "%s", err);
    char tok_dir[4096], tok_json[4200];   /* beside the weights of every checkpoint, when train-tokenizer wrote one */
    path_dirname(tok_dir, sizeof tok_dir, a.tokenizer);
    path_join(tok_json, sizeof tok_json, tok_dir, "tokenizer.json");
    if (path_exists(tok_json)) x.s.tokenizer_json = tok_json;
    if (a.gate_val_seq_len > x.s.Tmax) cfg_refuse(&c, "gate_val_seq_len", "%ld exceeds the model's seq_len %d", a.gate_val_seq_len, x.s.Tmax);
    if (a.max_new_tokens >= x.s.Tmax) cfg_refuse(&c, "max_new_tokens", "%ld leaves no room for a prompt", a.max_new_tokens);
    Bin val;
    if (bin_open(&val, a.gate_val_bin, err)) die(EXIT_BADINPUT, "%s", err);
    if (val.vocab > x.s.V) die(EXIT_BADINPUT, "%s: vocab %d exceeds the model's %d", a.gate_val_bin, val.vocab, x.s.V);
    if (ckpt_check_tokenizer(a.ckpt, x.s.tokenizer_sha256, a.gate_val_bin, val.tok_sha256, err)) die(EXIT_BADINPUT, "%s", err);
    if ((long)val.ntok < a.gate_val_seq_len + 1) die(EXIT_BADINPUT, "%s: too few tokens for one gate sequence", a.gate_val_bin);
    char wpath[4200];
    path_join(wpath, sizeof wpath, a.ckpt, "model.safetensors");
    /* A run with other settings or inputs is refused, or redone with --force (FORCE=1). */
    static const char* const ignore[] = {"ckpt", "tokenizer", "data", "out", "gate_val_bin", "device", NULL};
    const char* ins[] = {a.data, wpath, a.gate_val_bin};
    TrackRedo redo;
    if (track_rerun_rule(a.out, &SDFT_SPEC, &a, &c, ignore, NULL, NULL, ins, 3, &redo)) {
        printf("sdft: %s is complete with these settings and inputs; nothing to do\n", a.out);
        return 0;
    }
    Tracker t;
    track_open(&t, a.out, &SDFT_SPEC, &a, &c, "sdft");
    track_summary(&t, "device", kernels_json(x.s.k));
    control_install(&t);
    track_redo_event(&t, &redo);
    track_input(&t, a.data);
    track_input(&t, wpath);
    track_input(&t, a.gate_val_bin);
    if (*a.init_from) {
        char ip[4200];
        path_join(ip, sizeof ip, a.init_from, "model.safetensors");
        track_input(&t, is_dir(a.init_from) ? ip : a.init_from);
    }
    track_total(&t, a.steps);
    json_t* mcj = model_config_to_json(&mc);
    path_join(p, sizeof p, a.out, "model_config.json");
    if (json_write_atomic(p, mcj, err)) die(EXIT_FAIL, "%s", err);
    x.cache = tok_cache_new(x.tok);
    x.stop = sample_stop_flags(x.tok, x.s.V);
    Model* S = &x.s;
    float* mo = S->k->alloc(S->num_params * sizeof(float));   /* AdamW state, on the device */
    float* vo = S->k->alloc(S->num_params * sizeof(float));
    char resume_dir[4200];
    path_join(resume_dir, sizeof resume_dir, a.out, "_resume");
    long step = 0, updates = 0, last_pass = 0, red_step = -1;
    double base_ppl, bok_before;
    json_t* verdicts = json_array();
    long rs[8];
    if (ckpt_list(resume_dir, "state", rs, 8) > 0) {
        json_t* st = NULL;
        char sd[4096], td[4096];
        ckpt_dir_name(sd, sizeof sd, resume_dir, "state", rs[0]);
        ckpt_dir_name(td, sizeof td, resume_dir, "teacher", rs[0]);
        if (ckpt_load_state(sd, S, mo, vo, &st, err) || ckpt_load_weights(td, &x.t, err)) die(EXIT_BADINPUT, "%s", err);
        step = jget_int(st, "step", 0);
        updates = jget_int(st, "updates", step);
        last_pass = jget_int(st, "last_pass", 0);
        base_ppl = jget_num(st, "base_ppl", 0);
        bok_before = jget_num(st, "best_of_k_before", 0);
        json_decref(verdicts);
        verdicts = json_deep_copy(json_object_get(st, "verdicts"));
        json_decref(st);
        track_say(&t, "sdft: resuming from %s (step %ld)", sd, step);
        track_resumed(&t, step);
    } else {
        base_ppl = val_ppl(S, &val, &a);                 /* the base model: --ckpt */
        S->k->copy(S->params, x.t.params, S->num_params * sizeof(float));   /* start: --init_from or the base */
        bok_before = best_of_k(&x, S, tasks, nd, &a, (uint64_t)a.seed * 7919 + 1);
        /* Step 0 is the base model: what sdft_latest means if the first gate fails. */
        if (ckpt_save(a.out, "sdft", 0, S, NULL, NULL, NULL, d, err)) die(EXIT_FAIL, "%s", err);
    }
    path_join(p, sizeof p, a.out, "metrics.jsonl");
    if (jsonl_truncate_steps(p, step, err)) die(EXIT_FAIL, "%s", err);
    track_say(&t, "sdft: %ld demos from %s, base val ppl %.4f, best-of-%ld on the demo tasks %.4f", nd, a.data, base_ppl,
              a.best_of_k, bok_before);
    /* The reference trainer's schedule: warmup over ceil(warmup_frac x steps), then cosine to 0. */
    OptimCfg oc = {a.lr, 0.0, 0.9, a.beta2, 1e-8, a.weight_decay, a.grad_clip, (long)ceil(a.warmup_frac * a.steps), a.steps};
    int N = (int)(a.demos_per_step < nd ? a.demos_per_step : nd), maxnew = (int)a.max_new_tokens;
    int** sp = malloc_check(N * sizeof(int*));
    int** tp = malloc_check(N * sizeof(int*));
    int *spl = malloc_check(N * sizeof(int)), *tpl = malloc_check(N * sizeof(int));
    for (int j = 0; j < N; j++) { sp[j] = malloc_check((size_t)S->Tmax * sizeof(int)); tp[j] = malloc_check((size_t)S->Tmax * sizeof(int)); }
    int* out = malloc_check((size_t)N * maxnew * sizeof(int));
    int* lens = malloc_check(N * sizeof(int));
    char text[4096];
    SampleCfg sc = {a.temperature, 0, 1.0};
    int stopped = 0;
    while (step < a.steps && !stopped) {
        /* Prompts: the student sees the task; the teacher the demonstration, then the task. */
        for (int j = 0; j < N; j++) {
            long k = (step * N + j) % nd;
            int room = S->Tmax - maxnew;
            spl[j] = sample_encode_prompt(x.tok, x.cache, demos[k].prompt, sp[j], room);
            if (task_demo_prompt(&tasks[k], demos[k].demonstration, demos[k].reward, text, sizeof text) < 0)
                snprintf(text, sizeof text, "%s", demos[k].prompt);
            tpl[j] = sample_encode_prompt(x.tok, x.cache, text, tp[j], room);
        }
        Rng r;
        rng_seed(&r, (uint64_t)a.seed * 1000003 + (uint64_t)step);
        sample_batch(S, (const int* const*)sp, spl, N, maxnew, &sc, &r, x.stop, out, lens);
        int ntok = 0;
        for (int j = 0; j < N; j++) ntok += lens[j];
        double kl = sdft_distill(S, &x.t, N, sp, spl, tp, tpl, out, lens, maxnew);
        double lr = lr_at(&oc, step);
        if (ntok > 0) {    /* a step without tokens takes no update and leaves Adam's t */
            optim_step(&oc, S, mo, vo, ++updates, lr);
            S->k->ema_update(x.t.params, S->params, (long)S->num_params, (float)a.ema);
        }
        step++;
        json_t* row = json_pack("{s:I, s:f, s:i, s:f, s:I}", "step", (json_int_t)step, "kl", kl, "tokens", ntok, "lr", lr,
                                "updates", (json_int_t)updates);
        int pause = control_pause_requested();
        if (step % a.gate_every == 0 || step == a.steps) {
            double ppl = val_ppl(S, &val, &a), rel = ppl / base_ppl - 1;
            json_object_set_new(row, "val_ppl", json_real(ppl));
            json_object_set_new(row, "val_ppl_rel_delta", json_real(rel));
            GateVerdict worst = GATE_GREEN;
            OnRed on_red = ON_RED_KEEP_BEST;
            for (int g = 0; g < ngates; g++) {
                if (!gate_applies(&gates[g], "val_ppl_rel_delta", step)) continue;
                GateVerdict v = gate_eval(&gates[g], rel);
                json_t* rec = gate_record(&gates[g], step, rel, v);
                json_array_append(verdicts, rec);
                track_event(&t, "gate", rec);
                if (v > worst) { worst = v; on_red = gates[g].on_red; }
            }
            json_object_set_new(row, "gate", json_string(gate_verdict_name(worst)));
            track_say(&t, "step %ld/%ld kl %.4f val ppl %.4f (%+.2f%%) gate %s", step, a.steps, kl, ppl, 100 * rel, gate_verdict_name(worst));
            if (worst == GATE_AMBER) track_say(&t, "sdft: AMBER at step %ld: val ppl %+.2f%% of the base", step, 100 * rel);
            if (worst == GATE_RED) {
                red_step = step;
                stopped = 1;
                track_say(&t, "sdft: RED at step %ld; sdft_latest stays at step %ld", step, last_pass);
                if (on_red == ON_RED_STOP) {
                    if (json_append_line(p, row, err)) die(EXIT_FAIL, "%s", err);
                    json_decref(row);
                    track_finish(&t, "gated", "gate RED");
                    return EXIT_GATED;
                }
            } else {
                if (ckpt_save(a.out, "sdft", step, S, NULL, NULL, NULL, d, err)) die(EXIT_FAIL, "%s", err);
                track_event(&t, "checkpoint", json_pack("{s:s, s:I}", "dir", d, "step", (json_int_t)step));
                last_pass = step;
            }
        }
        track_live(&t, "kl", json_real(kl));
        if (json_is_number(json_object_get(row, "val_ppl"))) {
            track_live(&t, "val_ppl", json_copy(json_object_get(row, "val_ppl")));
            track_live(&t, "gate", json_copy(json_object_get(row, "gate")));
        }
        if (json_append_line(p, row, err)) die(EXIT_FAIL, "%s", err);
        json_decref(row);
        track_progress(&t, step, NULL);
        if ((pause || step % a.gate_every == 0) && !stopped && step < a.steps) {
            /* Resume state: never a published checkpoint (those are gated). */
            json_t* st = json_pack("{s:I, s:I, s:I, s:f, s:f, s:O}", "step", (json_int_t)step, "updates", (json_int_t)updates,
                                   "last_pass", (json_int_t)last_pass,
                                   "base_ppl", base_ppl, "best_of_k_before", bok_before, "verdicts", verdicts);
            if (ckpt_save(resume_dir, "state", step, S, mo, vo, st, d, err) ||
                ckpt_save(resume_dir, "teacher", step, &x.t, NULL, NULL, NULL, d, err)) die(EXIT_FAIL, "%s", err);
            json_decref(st);
        }
        if (pause) control_pause_exit(&t, "_resume/state_latest");
    }
    /* The published model is the last one that passed. */
    char pub[4096];
    ckpt_dir_name(pub, sizeof pub, a.out, "sdft", last_pass);
    if (ckpt_load_weights(pub, S, err)) die(EXIT_FAIL, "%s", err);
    double final_ppl = val_ppl(S, &val, &a);
    double bok_after = best_of_k(&x, S, tasks, nd, &a, (uint64_t)a.seed * 7919 + 1);
    json_t* rep = json_pack("{s:f, s:f, s:f, s:o, s:I, s:I, s:s, s:I, s:I, s:f, s:f, s:f}", "base_val_ppl", base_ppl,
                            "final_val_ppl", final_ppl, "val_ppl_rel_delta", final_ppl / base_ppl - 1, "gate_verdicts", verdicts,
                            "red_step", (json_int_t)red_step, "published_step", (json_int_t)last_pass, "published", pub,
                            "demos_used", (json_int_t)nd, "best_of_k", (json_int_t)a.best_of_k,
                            "best_of_k_before", bok_before, "best_of_k_after", bok_after, "steps_done", (double)step);
    path_join(p, sizeof p, a.out, "sdft_eval_report.json");
    if (json_write_atomic(p, rep, err)) die(EXIT_FAIL, "%s", err);
    json_decref(rep);
    track_output(&t, p);
    const char* req[] = {"sdft_latest", "model_config.json", "metrics.jsonl", "sdft_eval_report.json"};
    for (int i = 0; i < 4; i++) track_require(&t, req[i]);
    track_say(&t, "sdft: done at step %ld%s; published step %ld: val ppl %.4f (base %.4f), best-of-%ld %.4f -> %.4f", step,
              red_step >= 0 ? " (stopped by a RED gate)" : "", last_pass, final_ppl, base_ppl, a.best_of_k, bok_before, bok_after);
    track_finish(&t, "completed", red_step >= 0 ? "gate RED: kept the last passing checkpoint" : "");
    if (rm_tree(resume_dir)) fprintf(stderr, "sdft: could not remove %s\n", resume_dir);   /* resume state of a finished run */
    return 0;
}
