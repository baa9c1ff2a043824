/* ttt (C2; runbook: run_discovery_suite): the discovery suite. For every task,
 * compute-matched best-of-N or test-time LoRA training (lib/algo/ttt.c); results per
 * task, summary.jsonl per run. Resumes by skipping tasks whose result.json exists.
 * --shard i/n runs every n-th task (a Slurm array, make -j); whichever shard finds
 * every result.json present writes the summary, and --merge 1 rebuilds it alone.
 * The task loop is lib/algo/ttt.c (ttt_run_task), the suite's files lib/algo/suite.c. */
#include "specs.h"
#include "lifecycle.h"
#include "ckpt.h"
#include "config.h"
#include "control.h"
#include "gate.h"
#include "suite.h"
#include "json.h"
#include "tasks.h"
#include "tokenizer.h"
#include "track.h"
#include "ttt.h"
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct { Tracker* t; long base; } StepCtx;

static int on_step(void* ctx, long step, json_t* row) {
    StepCtx* s = ctx;
    static const char* const LIVE[] = {"mean_reward", "best_reward", "kl", NULL};   /* this task's step */
    track_live(s->t, "task_step", json_integer(step));
    for (int k = 0; LIVE[k]; k++)
        if (json_is_number(json_object_get(row, LIVE[k]))) track_live(s->t, LIVE[k], json_copy(json_object_get(row, LIVE[k])));
    if (track_progress(s->t, s->base + step, NULL)) die(s->t->err_exit, "%s", s->t->err);
    json_decref(row);
    int asked = control_pause_requested();
    if (asked < 0) die(s->t->err_exit, "%s", s->t->err);
    return asked;
}

/* The gates on the suite's means; t NULL (--merge): printed. Returns the worst verdict. */
static GateVerdict check_gates(Tracker* t, const Gate* gates, int ngates, long at_step, double best, double mean) {
    json_t* recs = json_array();
    GateVerdict worst = suite_gates(gates, ngates, at_step, best, mean, recs);
    size_t k;
    json_t* r;
    if (t && track_gates(t, recs, 1)) die(t->err_exit, "%s", t->err);
    json_array_foreach(recs, k, r)
        if (!t) printf("gate %s: %s = %.4f\n", jget_str(r, "verdict", ""), jget_str(r, "metric", ""), jget_num(r, "value", 0));
    json_decref(recs);
    return worst;
}

__attribute__((noreturn)) static void pause_exit(Tracker* t, const char* resume_state) {
    if (control_pause(t, resume_state)) die(t->err_exit, "%s", t->err);
    exit(EXIT_PAUSED);
}

int main(int argc, char** argv) {
    TttArgs a;
    Common c;
    char err[ERR_LEN], p[4200];
    int cli = cfg_cli(&TTT_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    omp_set_num_threads(c.threads > 0 ? (int)c.threads : threads_share());   /* threads: 0 = my share of the machine */
    Gate* gates;
    int ngates;
    if (gates_parse(a.gates, c.config_path ? c.config_path : "flags", &gates, &ngates, err)) die(EXIT_BADINPUT, "%s", err);
    TttCfg tc;
    const char* bad;
    if (ttt_cfg_from_args(&a, &tc, &bad, err)) die(EXIT_BADINPUT, "%s: %s: %s", cfg_where(&c), bad, err);
    long shard_i = 0, shard_n = 1;   /* 0/1 = every task, in out_root itself */
    if (*a.shard) {
        if (suite_shard_parse(a.shard, &shard_i, &shard_n))
            die(EXIT_BADINPUT, "%s: shard: '%s': expected i/n with n >= 1 and 0 <= i < n (e.g. 0/4)", cfg_where(&c), a.shard);
        if (a.merge) die(EXIT_BADINPUT, "%s: merge: --merge 1 reads every shard's results; drop --shard", cfg_where(&c));
        if (!c.resume) die(EXIT_BADINPUT, "%s: shard: --no-resume would discard only this shard's run dir: move %s aside once, then start the shards", cfg_where(&c), a.out_root);
    }

    Task* tasks = NULL;
    long nt = tasks_load_jsonl(a.tasks, &tasks, err);
    if (nt < 0) die(EXIT_BADINPUT, "%s", err);
    if (nt == 0) die(EXIT_BADINPUT, "%s: no tasks", a.tasks);
    if (a.merge) {
        /* No model, no sampling, no tracker: only result.json -> summary.jsonl. */
        json_t* results;
        double best_sum, mean_sum;
        const char* first;
        long missing = suite_load_results(a.out_root, tasks, nt, &results, &best_sum, &mean_sum, &first);
        if (missing)
            die(EXIT_BADINPUT, "%s/%s/result.json: missing (%ld of %ld tasks unfinished); run the shards that hold them",
                a.out_root, first, missing, nt);
        if (path_join(p, sizeof p, a.out_root, "summary.jsonl", err)) die(EXIT_BADINPUT, "%s", err);
        if (suite_write_summary(p, results, err)) die(EXIT_FAIL, "%s", err);
        printf("ttt: merged %ld tasks: mean best reward %.4f, mean reward %.4f -> %s\n", nt, best_sum / nt, mean_sum / nt, p);
        GateVerdict worst = check_gates(NULL, gates, ngates, a.ttt_steps, best_sum / nt, mean_sum / nt);
        json_decref(results);
        return worst == GATE_RED ? EXIT_GATED : 0;
    }
    Tokenizer* tok = tok_load(a.tokenizer, err);
    if (!tok) die(EXIT_BADINPUT, "%s", err);
    Model m;
    if (ckpt_load_model(a.ckpt, a.device, a.precision, tok, a.tokenizer, &m, err)) die(EXIT_BADINPUT, "%s", err);
    if (tc.lr < 0) tc.lr = ttt_lr_auto(m.cfg.d_model);   /* lr: auto */
    if (a.max_new_tokens >= m.Tmax) die(EXIT_BADINPUT, "%s: max_new_tokens: %ld leaves no room for a prompt in %d positions", cfg_where(&c), a.max_new_tokens, m.Tmax);

    /* A shard's run dir (tracker, lock, logs, pause files) is its own, so shards run
     * side by side; task dirs stay <out_root>/<task_id> whoever runs them. */
    char run_dir[4200], wpath[4200];
    if (*a.shard ? path_fmt(run_dir, sizeof run_dir, err, "%s/_shards/%ld_of_%ld", a.out_root, shard_i, shard_n)
                 : path_fmt(run_dir, sizeof run_dir, err, "%s", a.out_root))
        die(EXIT_BADINPUT, "%s", err);
    const char* req_prefix = *a.shard ? "../../" : "";   /* track_require paths are relative to run_dir */
    long nmine = (nt - shard_i + shard_n - 1) / shard_n;
    if (path_join(wpath, sizeof wpath, a.ckpt, "model.safetensors", err)) die(EXIT_BADINPUT, "%s", err);
    /* A run with other settings or inputs is refused, or redone with --force (FORCE=1). */
    const char* ins[] = {a.tasks, a.tokenizer, wpath};
    LifeRedo redo = {0};
    int complete = life_begin(run_dir, &TTT_SPEC, &a, &c, ttt_unread_keys(&tc), NULL, NULL, ins, 3, &redo);
    if (complete < 0) die(redo.err_exit, "%s", redo.err);
    if (complete) {
        printf("ttt: %s is complete with these settings and inputs; nothing to do\n", run_dir);
        return 0;
    }
    Tracker t;
    if (track_open(&t, run_dir, &TTT_SPEC, &a, &c, a.mode)) die(t.err_exit, "%s", t.err);
    track_summary(&t, "device", kernels_json(m.k));
    if (tc.ttt) track_summary(&t, "lr", json_real(tc.lr));   /* the value used, also for lr: auto */
    if (track_redo_event(&t, &redo)) die(t.err_exit, "%s", t.err);
    control_install(&t);
    if (track_input(&t, a.tasks)) die(t.err_exit, "%s", t.err);
    if (track_input(&t, a.tokenizer)) die(t.err_exit, "%s", t.err);
    if (track_input(&t, wpath)) die(t.err_exit, "%s", t.err);
    track_total(&t, nmine * a.ttt_steps);
    if (!*a.shard) track_require(&t, "summary.jsonl");
    json_t* results = json_array();
    double best_sum = 0, mean_sum = 0;
    double split[6] = {0};   /* where this process's time went, over the tasks it ran (TaskResult) */
    long done = 0;
    for (long i = 0; i < nt; i++) {
        if (i % shard_n != shard_i) continue;
        const Task* task = &tasks[i];
        char dir[4200], res_path[4300];
        if (path_join(dir, sizeof dir, a.out_root, task->id, err)) die(EXIT_BADINPUT, "%s", err);
        if (path_join(res_path, sizeof res_path, dir, "result.json", err)) die(EXIT_BADINPUT, "%s", err);
        if (path_fmt(p, sizeof p, err, "%s%s/result.json", req_prefix, task->id)) die(EXIT_BADINPUT, "%s", err);
        track_require(&t, p);
        json_t* r = path_exists(res_path) ? json_load_path(res_path, err) : NULL;
        char state[4300];
        if (path_join(state, sizeof state, dir, "state", err)) die(EXIT_BADINPUT, "%s", err);
        if (!r) {
            /* Unfinished: continues from its state/ (or starts over), bit-identically. */
            if (mkdir_p(dir, err)) die(EXIT_FAIL, "%s", err);
            StepCtx sc = {&t, done * a.ttt_steps};
            TaskResult tr;
            int rc = ttt_run_task(&m, tok, task, &tc, (uint64_t)a.seed, dir, on_step, &sc, &tr, err);
            if (rc < 0) die(EXIT_FAIL, "%s: %s", task->id, err);
            if (rc == 1) { json_decref(tr.curve); json_decref(tr.rewards); pause_exit(&t, "finished tasks' result.json and the current task's state/"); }
            r = suite_result_json(task, &tc, (uint64_t)a.seed, &tr);
            if (json_write_atomic(res_path, r, err)) die(EXIT_FAIL, "%s", err);
            double part[6] = {tr.t_sample, tr.t_score, tr.t_forward, tr.t_backward, tr.t_optim, tr.t_io};
            for (int k = 0; k < 6; k++) split[k] += part[k];
            track_say(&t, "%s [%s] best %.3f mean %.3f (%ld samples, %.1fs)", task->id, task_family_name(task->family),
                      tr.best_reward, tr.mean_reward, tr.samples, tr.seconds);
        }
        /* A finished task keeps no resume state (also one a kill left after result.json). */
        if (life_rm_tree(state)) die(EXIT_FAIL, "%s: cannot remove", state);
        best_sum += jget_num(r, "best_reward", 0);
        mean_sum += jget_num(r, "mean_reward", 0);
        json_object_del(r, "curve");
        json_object_del(r, "rewards");
        json_array_append_new(results, r);
        if (track_progress(&t, ++done * a.ttt_steps, task->id)) die(t.err_exit, "%s", t.err);
    }
    track_summary(&t, "time_s", json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "sample", split[0], "score", split[1], "forward",
                                          split[2], "backward", split[3], "optimizer", split[4], "files", split[5]));
    if (*a.shard) {
        /* This shard's tasks are done; the summary needs every shard's. The last shard
         * to finish sees them all (each writes its results before looking). */
        track_summary(&t, "shard", json_string(a.shard));
        track_summary(&t, "shard_tasks", json_integer(nmine));
        track_summary(&t, "shard_mean_best_reward", json_real(nmine ? best_sum / nmine : 0));
        json_decref(results);
        const char* first;
        long missing = suite_load_results(a.out_root, tasks, nt, &results, &best_sum, &mean_sum, &first);
        if (missing) {
            track_summary(&t, "tasks_remaining", json_integer(missing));
            track_say(&t, "ttt: shard %s done (%ld tasks); %ld of %ld suite tasks remain (first: %s) for other shards, "
                      "then summary.jsonl (or --merge 1)", a.shard, nmine, missing, nt, first);
            if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
            return 0;
        }
    }
    /* summary.jsonl is rebuilt from every result.json, so a resumed run gives the same file. */
    if (path_join(p, sizeof p, a.out_root, "summary.jsonl", err)) die(EXIT_BADINPUT, "%s", err);
    if (suite_write_summary(p, results, err)) die(EXIT_FAIL, "%s", err);
    if (track_output(&t, p)) die(t.err_exit, "%s", t.err);
    track_summary(&t, "tasks", json_integer(nt));
    track_summary(&t, "mean_best_reward", json_real(best_sum / nt));
    track_summary(&t, "mean_reward", json_real(mean_sum / nt));
    track_say(&t, "ttt: %ld tasks, mode %s: mean best reward %.4f, mean reward %.4f -> %s", nt, a.mode, best_sum / nt,
              mean_sum / nt, p);
    GateVerdict worst = check_gates(&t, gates, ngates, a.ttt_steps, best_sum / nt, mean_sum / nt);
    if (worst == GATE_RED) {
        if (track_finish(&t, "gated", "gate RED")) die(t.err_exit, "%s", t.err);
        return EXIT_GATED;
    }
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    json_decref(results);
    free(tasks);
    tok_free(tok);
    model_free(&m);
    return 0;
}
