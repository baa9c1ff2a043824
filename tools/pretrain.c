/* pretrain (B1): train the GPT (+mHC) on packed token bins. Resumable bit for
 * bit: everything the next step depends on (weights, AdamW state, step, data
 * cursor) is in each checkpoint, and every kernel is deterministic. */
#include "ckpt.h"
#include "config.h"
#include "control.h"
#include "dist.h"
#include "gate.h"
#include "json.h"
#include "lifecycle.h"
#include "model.h"
#include "optim.h"
#include "pretrain.h"
#include "specs.h"
#include "track.h"
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* A checkpoint of everything the next step depends on, and its event. */
static void save(Tracker* t, const PretrainArgs* a, Model* m, const float* mopt, const float* vopt, long step, size_t cursor) {
    char d[4096], err[ERR_LEN];
    json_t* st = json_pack("{s:I, s:I, s:s}", "step", (json_int_t)step, "cursor", (json_int_t)cursor, "train_bin", a->train_bin);
    if (ckpt_save(a->out, "ckpt", step, m, mopt, vopt, st, d, err)) die(EXIT_FAIL, "%s", err);
    json_decref(st);
    if (track_event(t, "checkpoint", json_pack("{s:s, s:I}", "dir", d, "step", (json_int_t)step))) die(t->err_exit, "%s", t->err);
}

int main(int argc, char** argv) {
    PretrainArgs a;
    Common c;
    dist_init(&argc, &argv);
    /* Data parallel (make MPI=1): rank r takes sequences [r B, (r+1) B) of every
     * global micro-batch of size x B; gradients are summed across ranks and
     * averaged; rank 0 (the lead) writes checkpoints, metrics and the heartbeat. */
    int rank = dist_rank(), nrank = dist_size(), lead = rank == 0;
    char err[ERR_LEN];
    int cli = cfg_cli(&PRETRAIN_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    char p[4200];
    omp_set_num_threads(c.threads > 0 ? (int)c.threads : threads_share());   /* threads: 0 = my share of the machine */
    Gate* gates;
    int ngates;
    if (gates_parse(a.gates, c.config_path ? c.config_path : "flags", &gates, &ngates, err)) die(EXIT_BADINPUT, "%s", err);
    ModelConfig mc;
    if (model_config_load(&mc, a.model, err)) die(EXIT_BADINPUT, "%s", err);
    if (a.seq_len > mc.seq_len) die(EXIT_BADINPUT, "%s: seq_len: %ld exceeds the model's seq_len %ld (%s)", cfg_where(&c), a.seq_len, mc.seq_len, a.model);
    int B = (int)a.micro_bs, T = (int)a.seq_len;
    Model m;
    model_build(&m, &mc, (uint64_t)a.seed);
    Bin train, val;
    if (pretrain_open_bin(&train, a.train_bin, &m, (long)B * T + 1, err) || pretrain_open_bin(&val, a.val_bin, &m, (long)B * T + 1, err))
        die(EXIT_BADINPUT, "%s", err);
    if (train.tok_sha256[0] && val.tok_sha256[0] && strcmp(train.tok_sha256, val.tok_sha256))
        die(EXIT_BADINPUT, "%s: made by another tokenizer than %s (sha256 %.12s... vs %.12s...)", a.val_bin, a.train_bin,
            val.tok_sha256, train.tok_sha256);
    if (*a.init_from && ckpt_load_weights(a.init_from, &m, err)) die(EXIT_BADINPUT, "%s", err);
    if (*a.init_from && ckpt_check_tokenizer(a.init_from, m.tokenizer_sha256, a.train_bin, train.tok_sha256, err)) die(EXIT_BADINPUT, "%s", err);
    char tok_json[4200] = "";   /* the tokenizer given must be the bins', and its tokenizer.json goes beside the weights */
    if (*a.tokenizer && pretrain_tokenizer_json(tok_json, a.tokenizer, &train, a.train_bin, err)) die(EXIT_BADINPUT, "%s", err);
    if (model_use_device(&m, a.device, a.precision, err)) die(EXIT_BADINPUT, "%s", err);

    /* The one rule (life_begin), and the model shape: refused, or redone with FORCE=1. */
    LifeRedo redo = {0};
    int nothing = lead ? pretrain_begin(&PRETRAIN_SPEC, &a, &c, &mc, &redo) : 0;
    if (nothing < 0) die(redo.err_exit, "%s", redo.err);
    /* also a barrier: the lead has moved an old run aside before any rank looks at checkpoints */
    if (dist_any(nothing)) {
        if (lead) printf("pretrain: %s is complete with these settings and inputs; nothing to do\n", a.out);
        return 0;
    }
    Tracker t;
    char own[4200];   /* other ranks: their own logs only */
    if (path_fmt(own, sizeof own, err, "%s/_ranks/rank_%d", a.out, rank)) die(EXIT_BADINPUT, "%s", err);
    if (track_open(&t, lead ? a.out : own, &PRETRAIN_SPEC, &a, &c, "pretrain")) die(t.err_exit, "%s", t.err);
    track_summary(&t, "device", kernels_json(m.k));
    track_summary(&t, "ranks", json_integer(dist_size()));   /* from the start: a resume compares the global batch */
    control_install(&t);
    t.quiet = !lead;
    t.tty = t.tty && lead;
    if (track_redo_event(&t, &redo)) die(t.err_exit, "%s", t.err);
    if (track_input(&t, a.train_bin)) die(t.err_exit, "%s", t.err);
    if (track_input(&t, a.val_bin)) die(t.err_exit, "%s", t.err);
    track_total(&t, a.steps);
    json_t* mcj = model_config_to_json(&mc);
    json_t* pc = cfg_to_json(PRETRAIN_OPTS, &a);
    if (lead) {
        if (path_join(p, sizeof p, a.out, "model_config.json", err)) die(EXIT_BADINPUT, "%s", err);
        if (json_write_atomic(p, mcj, err)) die(EXIT_FAIL, "%s", err);
        if (path_join(p, sizeof p, a.out, "pretrain_config.json", err)) die(EXIT_BADINPUT, "%s", err);
        if (json_write_atomic(p, pc, err)) die(EXIT_FAIL, "%s", err);
    }
    json_decref(pc);

    float* mopt = m.k->alloc(m.num_params * sizeof(float));   /* AdamW state, on the model's device */
    float* vopt = m.k->alloc(m.num_params * sizeof(float));
    size_t cursor = 0;   /* where the next training sequence starts in train */
    long step = 0;
    json_t* st = NULL;
    int unusable = 0, found = c.resume ? pretrain_resume(&t, a.out, &m, mopt, vopt, &st, &unusable) : 0;
    if (found < 0) die(t.err_exit, "%s", t.err);
    if (found) {
        step = jget_int(st, "step", 0);
        cursor = (size_t)jget_int(st, "cursor", 0);
    } else if (unusable) {   /* checkpoints, none usable: from the start */
        model_reinit(&m, (uint64_t)a.seed);
        if (*a.init_from && ckpt_load_weights(a.init_from, &m, err)) die(EXIT_BADINPUT, "%s", err);
        m.k->zero(mopt, m.num_params * sizeof(float));
        m.k->zero(vopt, m.num_params * sizeof(float));
    }
    json_decref(st);
    /* The checkpoints record the tokenizer of the data (ckpt metadata tokenizer_sha256). */
    snprintf(m.tokenizer_sha256, sizeof m.tokenizer_sha256, "%s", train.tok_sha256);
    if (*tok_json) m.tokenizer_json = tok_json;
    char metrics[4200];
    if (path_join(metrics, sizeof metrics, a.out, "metrics.jsonl", err)) die(EXIT_BADINPUT, "%s", err);
    if (lead && jsonl_truncate_steps(metrics, step, err)) die(EXIT_FAIL, "%s", err);
    track_say(&t, "pretrain: %zu parameters (d_model %d, layers %d, heads %d, mhc n=%d), %d x %d tokens x %ld accum per step",
              m.num_params, m.C, m.L, m.NH, m.n, B, T, a.grad_accum);

    double unigram = pretrain_unigram(&train, &val, m.V);
    track_say(&t, "pretrain: unigram baseline (val cross-entropy of train token frequencies): %.4f", unigram);
    track_summary(&t, "unigram_val_loss", json_real(unigram));
    OptimCfg oc = {a.lr, a.min_lr_frac, a.beta1, a.beta2, 1e-8, a.weight_decay, a.grad_clip, a.warmup, a.steps};
    int* in = malloc_check((size_t)nrank * B * T * sizeof(int));
    int* tg = malloc_check((size_t)nrank * B * T * sizeof(int));
    if (nrank > 1) track_say(&t, "pretrain: %d ranks, global micro-batch %d x %d", nrank, nrank * B, T);
    double tok_s = 0, last_loss = 0, last_val = -1, train_sec = 0;
    while (step < a.steps) {
        double t0 = now_mono(), lr = lr_at(&oc, step), norm;
        double loss = pretrain_step(&m, &oc, mopt, vopt, &train, &cursor, B, T, a.grad_accum, step, lr, in, tg, &norm);
        step++;
        double dt = now_mono() - t0;
        train_sec += dt;
        tok_s = (double)nrank * B * T * a.grad_accum / dt;
        last_loss = loss;
        json_t* row = json_pack("{s:I, s:f, s:f, s:f, s:f}", "step", (json_int_t)step, "loss", loss, "lr", lr,
                                "grad_norm", norm, "tokens_per_s", tok_s);
        if (step % a.eval_interval == 0 || step == a.steps) {
            last_val = pretrain_eval(&m, &val, B, T, a.eval_batches, in, tg);
            json_object_set_new(row, "val_loss", json_real(last_val));
            track_say(&t, "step %ld/%ld loss %.4f val_loss %.4f lr %.2e grad_norm %.3f %.0f tok/s", step, a.steps, loss,
                      last_val, lr, norm, tok_s);
        }
        track_live(&t, "loss", json_real(loss));
        track_live(&t, "tokens_per_s", json_real(tok_s));
        if (last_val >= 0) track_live(&t, "val_loss", json_real(last_val));
        /* Gates on this step's metrics: AMBER warns; RED stops (exit 3, status gated). */
        json_t* recs = json_array();
        GateVerdict worst = gates_check(gates, ngates, row, step, recs, NULL);
        if (track_gates(&t, recs, 1)) die(t.err_exit, "%s", t.err);
        json_decref(recs);
        if (worst != GATE_GREEN) json_object_set_new(row, "gate", json_string(gate_verdict_name(worst)));
        if (lead && json_append_line(metrics, row, err)) die(EXIT_FAIL, "%s", err);
        json_decref(row);
        if (worst == GATE_RED) {
            if (lead) save(&t, &a, &m, mopt, vopt, step, cursor);
            if (track_progress(&t, step, "gated")) die(t.err_exit, "%s", t.err);
            if (track_finish(&t, "gated", "gate RED")) die(t.err_exit, "%s", t.err);
            return EXIT_GATED;
        }
        int asked = control_pause_requested();
        if (asked < 0) die(t.err_exit, "%s", t.err);
        int pause = dist_any(asked);   /* every rank stops at the same step */
        if (lead && (step % a.ckpt_interval == 0 || step == a.steps || pause)) {
            save(&t, &a, &m, mopt, vopt, step, cursor);
            /* Older checkpoints keep their weights; only the newest keep resume state. */
            if (life_prune_state(a.out, "ckpt", a.keep_state, "optim.safetensors", err)) die(EXIT_FAIL, "%s", err);
        }
        if (track_progress(&t, step, "step")) die(t.err_exit, "%s", t.err);
        if (pause) {
            if (control_pause(&t, "ckpt_latest")) die(t.err_exit, "%s", t.err);
            exit(EXIT_PAUSED);
        }
    }
    if (last_val < 0) last_val = pretrain_eval(&m, &val, B, T, a.eval_batches, in, tg);
    char req[64];
    snprintf(req, sizeof req, "ckpt_step_%07ld", a.steps);
    const char* required[] = {"ckpt_latest", req, "model_config.json", "pretrain_config.json", "metrics.jsonl"};
    for (int i = 0; i < 5; i++) track_require(&t, required[i]);
    char w[4400];
    if (path_join(p, sizeof p, a.out, req, err) || path_join(w, sizeof w, p, "model.safetensors", err)) die(EXIT_BADINPUT, "%s", err);
    if (lead && track_output(&t, w)) die(t.err_exit, "%s", t.err);
    track_summary(&t, "params", json_integer((json_int_t)m.num_params));
    track_summary(&t, "final_loss", json_real(last_loss));
    track_summary(&t, "final_val_loss", json_real(last_val));
    track_summary(&t, "tokens_per_s", json_real(train_sec > 0 ? (double)nrank * B * T * a.grad_accum * (a.steps - t.resumed_from) / train_sec : 0));
    track_say(&t, "pretrain: done, %ld steps, final loss %.4f, val loss %.4f (unigram baseline %.4f) -> %s/ckpt_latest",
              a.steps, last_loss, last_val, unigram, a.out);
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    json_decref(mcj);
    free(in); free(tg); m.k->release(mopt); m.k->release(vopt);
    bin_close(&train); bin_close(&val);
    model_free(&m);
    return 0;
}
