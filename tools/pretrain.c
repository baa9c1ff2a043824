/* pretrain (B1): train the GPT (+mHC) on packed token bins. Resumable bit for
 * bit: everything the next step depends on (weights, AdamW state, step, data
 * cursor) is in each checkpoint, and every kernel is deterministic. */
#include "bins.h"
#include "specs.h"
#include "ckpt.h"
#include "hash.h"
#include "config.h"
#include "control.h"
#include "dist.h"
#include "gate.h"
#include "json.h"
#include "model.h"
#include "optim.h"
#include "track.h"
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double evaluate(Model* m, const Bin* val, int B, int T, long batches, int* in, int* tg) {
    size_t cursor = 0;
    double sum = 0;
    for (long i = 0; i < batches; i++) {
        bin_next_batch(val, &cursor, in, tg, B, T);
        sum += model_forward(m, in, tg, B, T);
    }
    return sum / batches;
}

static void open_bin(Bin* b, const char* path, const Model* m, long need) {
    char err[ERR_LEN];
    if (bin_open(b, path, err)) die(EXIT_BADINPUT, "%s", err);
    if (b->vocab > m->V) die(EXIT_BADINPUT, "%s: vocab %d exceeds the model's vocab_size %d", path, b->vocab, m->V);
    if ((long)b->ntok < need) die(EXIT_BADINPUT, "%s: %zu tokens, fewer than one batch needs (%ld)", path, b->ntok, need);
}

/* The unigram baseline: cross-entropy (nats/token) of the val tokens under
 * the train tokens' add-one-smoothed frequencies. A model that learned
 * anything beyond token frequencies has a val loss clearly below it. */
static double unigram_entropy(const Bin* train, const Bin* val, int V) {
    double* cnt = calloc_check(V, sizeof(double));
    for (size_t i = 0; i < train->ntok; i++) cnt[bin_get(train, i)] += 1;
    double total = (double)train->ntok + V, ce = 0;
    for (size_t i = 0; i < val->ntok; i++) ce -= log((cnt[bin_get(val, i)] + 1) / total);
    free(cnt);
    return ce / (double)val->ntok;
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
    open_bin(&train, a.train_bin, &m, (long)B * T + 1);
    open_bin(&val, a.val_bin, &m, (long)B * T + 1);
    if (train.tok_sha256[0] && val.tok_sha256[0] && strcmp(train.tok_sha256, val.tok_sha256))
        die(EXIT_BADINPUT, "%s: made by another tokenizer than %s (sha256 %.12s... vs %.12s...)", a.val_bin, a.train_bin,
            val.tok_sha256, train.tok_sha256);
    if (*a.init_from && ckpt_load_weights(a.init_from, &m, err)) die(EXIT_BADINPUT, "%s", err);
    if (*a.init_from && ckpt_check_tokenizer(a.init_from, m.tokenizer_sha256, a.train_bin, train.tok_sha256, err)) die(EXIT_BADINPUT, "%s", err);
    char tok_json[4200] = "";
    if (*a.tokenizer) {   /* the tokenizer given must be the bins', and its tokenizer.json goes beside the weights */
        char h[HASH_HEX];
        if (hash_file(a.tokenizer, h, err)) die(EXIT_BADINPUT, "%s", err);
        if (train.tok_sha256[0] && strcmp(h, train.tok_sha256))
            die(EXIT_BADINPUT, "%s: not the tokenizer that made %s (sha256 %.12s... vs %.12s...)", a.tokenizer, a.train_bin, h,
                train.tok_sha256);
        char dir[4096];
        if (path_dirname(dir, sizeof dir, a.tokenizer, err) || path_join(tok_json, sizeof tok_json, dir, "tokenizer.json", err))
            die(EXIT_BADINPUT, "%s", err);
        if (!path_exists(tok_json)) die(EXIT_BADINPUT, "%s: missing (train-tokenizer writes it beside %s)", tok_json, a.tokenizer);
    }
    if (model_use_device(&m, a.device, a.precision, err)) die(EXIT_BADINPUT, "%s", err);

    /* The one rule (track_rerun_rule): a run with other settings, inputs or model shape is
     * refused, or redone with --force (FORCE=1); a RED gate's stop stands until then. The
     * model shape is pretrain's own check (its checkpoints' config). */
    static const char* const ignore[] = {"train_bin", "val_bin", "out", "model", "tokenizer", "keep_state", "device", "micro_bs", "grad_accum", NULL};
    const char* ins[] = {a.train_bin, a.val_bin};
    TrackRedo redo = {0};
    int nothing = 0;
    if (lead) {
        char prev[16], d[4096];
        track_prev_status(a.out, prev);
        static long last[4096];   /* newest first */
        int other_model = 0;
        if (c.resume && *prev && strcmp(prev, "gated") && ckpt_list(a.out, "ckpt", last, 4096) > 0) {
            ModelConfig old;
            if (ckpt_dir_name(d, sizeof d, a.out, "ckpt", last[0], err)) die(EXIT_BADINPUT, "%s", err);
            if (ckpt_read_config(d, &old, err) == 0) {
                json_t *x = model_config_to_json(&old), *y = model_config_to_json(&mc);
                other_model = !json_equal(x, y);
                json_decref(x); json_decref(y);
            }
        }
        if (other_model) {
            if (!c.force) die(EXIT_BADINPUT, "%s: written for a different model than %s — FORCE=1 to redo it", d, a.model);
            snprintf(redo.why, sizeof redo.why, "the model changed");
            if (track_move_aside(a.out, &c, &redo)) die(redo.err_exit, "%s", redo.err);
        } else {
            /* The global batch counts, not how ranks and accumulation split it (a run may
             * resume with another rank count). */
            char was[96] = "", is[96] = "", sp[4200];
            if (path_join(sp, sizeof sp, a.out, "_run_tracker/settings.json", err) || path_join(d, sizeof d, a.out, "run_record.json", err))
                die(EXIT_BADINPUT, "%s", err);
            json_t *then = path_exists(sp) ? json_load_path(sp, err) : NULL, *rec = then ? json_load_path(d, err) : NULL;
            long before = then ? jget_int(then, "micro_bs", 0) * jget_int(then, "grad_accum", 1) * jget_int(rec, "ranks", 1) : 0,
                 now = a.micro_bs * a.grad_accum * dist_size();
            if (then && before != now) { snprintf(was, sizeof was, "global batch %ld", before); snprintf(is, sizeof is, "%ld", now); }
            json_decref(then);
            json_decref(rec);
            nothing = track_rerun_rule(a.out, &PRETRAIN_SPEC, &a, &c, ignore, was, is, ins, 2, &redo);
            if (nothing < 0) die(redo.err_exit, "%s", redo.err);
        }
    }
    /* also a barrier: the lead has moved an old run aside before any rank looks at checkpoints */
    if (dist_any(nothing)) {
        if (lead) printf("pretrain: %s is complete with these settings and inputs; nothing to do\n", a.out);
        return 0;
    }
    long ck[4096];
    int nck = c.resume ? ckpt_list(a.out, "ckpt", ck, 4096) : 0;
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
    for (int i = 0; i < nck; i++) {
        char d[4096];
        json_t* st = NULL;
        if (ckpt_dir_name(d, sizeof d, a.out, "ckpt", ck[i], err)) die(EXIT_BADINPUT, "%s", err);
        if (ckpt_load_state(d, &m, mopt, vopt, &st, err) == 0) {
            step = jget_int(st, "step", 0);
            cursor = (size_t)jget_int(st, "cursor", 0);
            json_decref(st);
            track_say(&t, "pretrain: resuming from %s (step %ld)", d, step);
            if (track_resumed(&t, step)) die(t.err_exit, "%s", t.err);
            break;
        }
        track_say(&t, "pretrain: checkpoint %s is unusable (%s); trying the previous one", d, err);
        if (track_event(&t, "checkpoint_invalid", json_pack("{s:s, s:s}", "dir", d, "error", err))) die(t.err_exit, "%s", t.err);
        if (i == nck - 1) {
            model_reinit(&m, (uint64_t)a.seed);   /* nothing valid: from the start */
            if (*a.init_from && ckpt_load_weights(a.init_from, &m, err)) die(EXIT_BADINPUT, "%s", err);
            m.k->zero(mopt, m.num_params * sizeof(float));
            m.k->zero(vopt, m.num_params * sizeof(float));
        }
    }
    /* The checkpoints record the tokenizer of the data (ckpt metadata tokenizer_sha256). */
    snprintf(m.tokenizer_sha256, sizeof m.tokenizer_sha256, "%s", train.tok_sha256);
    if (*tok_json) m.tokenizer_json = tok_json;
    char metrics[4200];
    if (path_join(metrics, sizeof metrics, a.out, "metrics.jsonl", err)) die(EXIT_BADINPUT, "%s", err);
    if (lead && jsonl_truncate_steps(metrics, step, err)) die(EXIT_FAIL, "%s", err);
    track_say(&t, "pretrain: %zu parameters (d_model %d, layers %d, heads %d, mhc n=%d), %d x %d tokens x %ld accum per step",
              m.num_params, m.C, m.L, m.NH, m.n, B, T, a.grad_accum);

    double unigram = unigram_entropy(&train, &val, m.V);
    track_say(&t, "pretrain: unigram baseline (val cross-entropy of train token frequencies): %.4f", unigram);
    track_summary(&t, "unigram_val_loss", json_real(unigram));
    OptimCfg oc = {a.lr, a.min_lr_frac, a.beta1, a.beta2, 1e-8, a.weight_decay, a.grad_clip, a.warmup, a.steps};
    int* in = malloc_check((size_t)nrank * B * T * sizeof(int));
    int* tg = malloc_check((size_t)nrank * B * T * sizeof(int));
    if (nrank > 1) track_say(&t, "pretrain: %d ranks, global micro-batch %d x %d", nrank, nrank * B, T);
    long last_ckpt = step;
    double tok_s = 0, last_loss = 0, last_val = -1, train_sec = 0;
    while (step < a.steps) {
        double t0 = now_mono(), lr = lr_at(&oc, step), loss = 0;
        model_zero_grad(&m);
        for (long k = 0; k < a.grad_accum; k++) {
            bin_next_batch(&train, &cursor, in, tg, nrank * B, T);      /* the global micro-batch; this rank's slice: */
            loss += model_forward(&m, in + (size_t)rank * B * T, tg + (size_t)rank * B * T, B, T);
            model_backward(&m, 1.0f / (float)a.grad_accum);
        }
        if (nrank > 1) {
            float* g = model_grads_host(&m);
            dist_allreduce_sum(g, m.num_params);
            float inv = 1.0f / (float)nrank;
            #pragma omp parallel for
            for (size_t i = 0; i < m.num_params; i++) g[i] *= inv;
            model_grads_changed(&m);
            dist_allreduce_sum_double(&loss, 1);
            loss /= nrank;
        }
        loss /= a.grad_accum;
        double norm = optim_step(&oc, &m, mopt, vopt, step + 1, lr);
        m.k->synchronize();
        step++;
        double dt = now_mono() - t0;
        train_sec += dt;
        tok_s = (double)nrank * B * T * a.grad_accum / dt;
        last_loss = loss;
        json_t* row = json_pack("{s:I, s:f, s:f, s:f, s:f}", "step", (json_int_t)step, "loss", loss, "lr", lr,
                                "grad_norm", norm, "tokens_per_s", tok_s);
        if (step % a.eval_interval == 0 || step == a.steps) {
            last_val = evaluate(&m, &val, B, T, a.eval_batches, in, tg);
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
        size_t gi;
        json_t* rec;
        json_array_foreach(recs, gi, rec) {
            track_say(&t, "gate %s: %s = %.4f at step %ld", jget_str(rec, "verdict", ""), jget_str(rec, "metric", ""),
                      jget_num(rec, "value", 0), step);
            if (track_event(&t, "gate", json_incref(rec))) die(t.err_exit, "%s", t.err);
        }
        json_decref(recs);
        if (worst != GATE_GREEN) json_object_set_new(row, "gate", json_string(gate_verdict_name(worst)));
        if (lead && json_append_line(metrics, row, err)) die(EXIT_FAIL, "%s", err);
        json_decref(row);
        if (worst == GATE_RED) {
            char d[4096];
            json_t* st = json_pack("{s:I, s:I, s:s}", "step", (json_int_t)step, "cursor", (json_int_t)cursor, "train_bin", a.train_bin);
            if (lead && ckpt_save(a.out, "ckpt", step, &m, mopt, vopt, st, d, err)) die(EXIT_FAIL, "%s", err);
            json_decref(st);
            if (track_progress(&t, step, "gated")) die(t.err_exit, "%s", t.err);
            if (track_finish(&t, "gated", "gate RED")) die(t.err_exit, "%s", t.err);
            return EXIT_GATED;
        }
        int asked = control_pause_requested();
        if (asked < 0) die(t.err_exit, "%s", t.err);
        int pause = dist_any(asked);   /* every rank stops at the same step */
        if (lead && (step % a.ckpt_interval == 0 || step == a.steps || pause)) {
            char d[4096];
            json_t* st = json_pack("{s:I, s:I, s:s}", "step", (json_int_t)step, "cursor", (json_int_t)cursor,
                                   "train_bin", a.train_bin);
            if (ckpt_save(a.out, "ckpt", step, &m, mopt, vopt, st, d, err)) die(EXIT_FAIL, "%s", err);
            json_decref(st);
            if (track_event(&t, "checkpoint", json_pack("{s:s, s:I}", "dir", d, "step", (json_int_t)step))) die(t.err_exit, "%s", t.err);
            last_ckpt = step;
            /* Older checkpoints keep their weights; only the newest keep resume state. */
            long all[4096];
            int n = ckpt_list(a.out, "ckpt", all, 4096);
            for (int i = (int)a.keep_state; i < n; i++) {
                char od[4096], f[4200];
                if (ckpt_dir_name(od, sizeof od, a.out, "ckpt", all[i], err) || path_join(f, sizeof f, od, "optim.safetensors", err))
                    die(EXIT_BADINPUT, "%s", err);
                unlink(f);
            }
        }
        if (track_progress(&t, step, "step")) die(t.err_exit, "%s", t.err);
        if (pause) {
            if (control_pause(&t, "ckpt_latest")) die(t.err_exit, "%s", t.err);
            exit(EXIT_PAUSED);
        }
    }
    (void)last_ckpt;
    if (last_val < 0) last_val = evaluate(&m, &val, B, T, a.eval_batches, in, tg);
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
