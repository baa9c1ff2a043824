/* pretrain: see pretrain.h. */
#include "pretrain.h"
#include "ckpt.h"
#include "dist.h"
#include "hash.h"
#include "json.h"
#include <string.h>
#include <math.h>
#include <stdlib.h>

int pretrain_open_bin(Bin* b, const char* path, const Model* m, long need, char err[ERR_LEN]) {
    if (bin_open(b, path, err)) return -1;
    if (b->vocab > m->V) return errf(err, "%s: vocab %d exceeds the model's vocab_size %d", path, b->vocab, m->V);
    if ((long)b->ntok < need) return errf(err, "%s: %zu tokens, fewer than one batch needs (%ld)", path, b->ntok, need);
    return 0;
}

double pretrain_unigram(const Bin* train, const Bin* val, int V) {
    double* cnt = calloc_check(V, sizeof(double));
    for (size_t i = 0; i < train->ntok; i++) cnt[bin_get(train, i)] += 1;
    double total = (double)train->ntok + V, ce = 0;
    for (size_t i = 0; i < val->ntok; i++) ce -= log((cnt[bin_get(val, i)] + 1) / total);
    free(cnt);
    return ce / (double)val->ntok;
}

double pretrain_eval(Model* m, const Bin* val, int B, int T, long batches, int* in, int* tg) {
    size_t cursor = 0;
    double sum = 0;
    for (long i = 0; i < batches; i++) {
        bin_next_batch(val, &cursor, in, tg, B, T);
        sum += model_forward(m, in, tg, B, T);
    }
    return sum / batches;
}

double pretrain_step(Model* m, const OptimCfg* oc, float* mopt, float* vopt, const Bin* train, size_t* cursor, int B, int T,
                     long grad_accum, long step, double lr, int* in, int* tg, double* norm) {
    int rank = dist_rank(), nrank = dist_size();
    double loss = 0;
    model_zero_grad(m);
    for (long k = 0; k < grad_accum; k++) {
        bin_next_batch(train, cursor, in, tg, nrank * B, T);   /* the global micro-batch; this rank's slice: */
        loss += model_forward(m, in + (size_t)rank * B * T, tg + (size_t)rank * B * T, B, T);
        model_backward(m, 1.0f / (float)grad_accum);
    }
    if (nrank > 1) {
        float* g = model_grads_host(m);
        dist_allreduce_sum(g, m->num_params);
        float inv = 1.0f / (float)nrank;
        #pragma omp parallel for
        for (size_t i = 0; i < m->num_params; i++) g[i] *= inv;
        model_grads_changed(m);
        dist_allreduce_sum_double(&loss, 1);
        loss /= nrank;
    }
    *norm = optim_step(oc, m, mopt, vopt, step + 1, lr);
    m->k->synchronize();
    return loss / grad_accum;
}

/* Whether the newest checkpoint in run_dir was written for another model than mc
 * (its dir into dir); 0 when they match or there is none to read. */
static int other_model(const char* run_dir, const ModelConfig* mc, char dir[4096]) {
    long* last = malloc_check(4096 * sizeof *last);   /* newest first */
    ModelConfig old;
    char err[ERR_LEN];
    int none = life_steps(run_dir, "ckpt", last, 4096) < 1 || life_step_dir(dir, 4096, run_dir, "ckpt", last[0], err) ||
               ckpt_read_config(dir, &old, err);
    free(last);
    if (none) return 0;
    json_t *x = model_config_to_json(&old), *y = model_config_to_json(mc);
    int other = !json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return other;
}

/* The global batch (micro_bs x grad_accum x ranks) an earlier run in out recorded; 0: none. */
static long global_batch(const char* out) {
    char sp[4200], rp[4200], err[ERR_LEN];
    if (path_join(sp, sizeof sp, out, "_run_tracker/settings.json", err) || path_join(rp, sizeof rp, out, "run_record.json", err) ||
        !path_exists(sp))
        return 0;
    json_t *then = json_load_path(sp, err), *rec = then ? json_load_path(rp, err) : NULL;
    long g = then ? jget_int(then, "micro_bs", 0) * jget_int(then, "grad_accum", 1) * jget_int(rec, "ranks", 1) : 0;
    json_decref(then);
    json_decref(rec);
    return g;
}

int pretrain_begin(const ToolSpec* spec, const PretrainArgs* a, const Common* c, const ModelConfig* mc, LifeRedo* r) {
    /* inputs are compared by content, and how the batch is split does not count */
    static const char* const ignore[] = {"train_bin", "val_bin", "out", "model", "tokenizer", "keep_state", "device", "micro_bs", "grad_accum", NULL};
    const char* ins[] = {a->train_bin, a->val_bin};
    char prev[16], d[4096];
    life_prev_status(a->out, prev);
    if (c->resume && *prev && strcmp(prev, "gated") && other_model(a->out, mc, d)) {
        r->err_exit = EXIT_BADINPUT;
        if (!c->force) return errf(r->err, "%s: written for a different model than %s — FORCE=1 to redo it", d, a->model);
        snprintf(r->why, sizeof r->why, "the model changed");
        return life_trash(a->out, c, r) ? -1 : 0;
    }
    char was[96] = "", is[96] = "";
    long before = global_batch(a->out), now = a->micro_bs * a->grad_accum * dist_size();
    if (before && before != now) { snprintf(was, sizeof was, "global batch %ld", before); snprintf(is, sizeof is, "%ld", now); }
    return life_begin(a->out, spec, a, c, ignore, was, is, ins, 2, r);
}

int pretrain_tokenizer_json(char out[4200], const char* tokenizer, const Bin* bin, const char* bin_path, char err[ERR_LEN]) {
    char h[HASH_HEX], dir[4096];
    if (hash_file(tokenizer, h, err)) return -1;
    if (bin->tok_sha256[0] && strcmp(h, bin->tok_sha256))
        return errf(err, "%s: not the tokenizer that made %s (sha256 %.12s... vs %.12s...)", tokenizer, bin_path, h, bin->tok_sha256);
    if (path_dirname(dir, sizeof dir, tokenizer, err) || path_join(out, 4200, dir, "tokenizer.json", err)) return -1;
    if (!path_exists(out)) return errf(err, "%s: missing (train-tokenizer writes it beside %s)", out, tokenizer);
    return 0;
}

int pretrain_resume(Tracker* t, const char* run_dir, Model* m, float* mopt, float* vopt, json_t** state, int* unusable) {
    long* ck = malloc_check(4096 * sizeof *ck);   /* newest first */
    int n = life_steps(run_dir, "ckpt", ck, 4096), found = 0, rc = 0;
    *unusable = 0;
    char d[4096], err[ERR_LEN];
    for (int i = 0; i < n && !found && !rc; i++) {
        /* a listed dir's name fits: the system made it */
        internal_check(life_step_dir(d, sizeof d, run_dir, "ckpt", ck[i], err) == 0, "%s", err);
        if (ckpt_load_state(d, m, mopt, vopt, state, err) == 0) {
            long step = jget_int(*state, "step", 0);
            found = 1;
            track_say(t, "pretrain: resuming from %s (step %ld)", d, step);
            rc = track_resumed(t, step);
            continue;
        }
        ++*unusable;
        track_say(t, "pretrain: checkpoint %s is unusable (%s); trying the previous one", d, err);
        rc = track_event(t, "checkpoint_invalid", json_pack("{s:s, s:s}", "dir", d, "error", err));
    }
    free(ck);
    return rc ? -1 : found;
}
