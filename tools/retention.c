/* retention (E2; runbook: compute_retention_ppl.py): how much of the base
 * model's language modelling an updated checkpoint kept. Perplexity of both
 * checkpoints on the same val-bin batches, and the delta. */
#include "bins.h"
#include "lifecycle.h"
#include "specs.h"
#include "ckpt.h"
#include "stats.h"
#include "config.h"
#include "control.h"
#include "json.h"
#include "model.h"
#include "track.h"
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A checkpoint's recorded config, checked against the model_config.json given beside it. */
static void read_config(const char* ckpt, const char* cfg_path, ModelConfig* mc) {
    char err[ERR_LEN];
    if (ckpt_read_config(ckpt, mc, err)) die(EXIT_BADINPUT, "%s", err);
    json_t* j = json_load_path(cfg_path, err);
    if (!j) die(EXIT_BADINPUT, "%s", err);
    ModelConfig given;
    if (model_config_from_json(&given, j, cfg_path, err)) die(EXIT_BADINPUT, "%s", err);
    json_t *x = model_config_to_json(&given), *y = model_config_to_json(mc);
    const char* k;
    json_t* v;
    json_object_foreach(x, k, v)
        if (!json_equal(v, json_object_get(y, k)))
            die(EXIT_BADINPUT, "%s: %s differs from the config recorded in %s; wrong model_config.json for this checkpoint",
                cfg_path, k, ckpt);
    json_decref(x); json_decref(y); json_decref(j); json_decref(given.mhc);
}

/* Mean cross-entropy of one checkpoint over `batches` batches; progress from step0. */
static double eval_ckpt(Tracker* t, const KernelOps* k, const char* ckpt, const ModelConfig* mc, const Bin* val, int B, int T,
                        long batches, long step0, double* per /* (batches) each batch's mean loss */) {
    char err[ERR_LEN];
    Model m;
    model_build(&m, mc, 0);
    if (ckpt_load_weights(ckpt, &m, err)) die(EXIT_BADINPUT, "%s", err);
    model_to_device(&m, k);
    int* in = malloc_check(sizeof(int) * (size_t)B * T);   /* (B,T) */
    int* tg = malloc_check(sizeof(int) * (size_t)B * T);   /* (B,T) */
    double sum = 0;
    size_t cursor = 0;   /* batches fit in val (main), so reading never wraps */
    for (long k = 0; k < batches; k++) {
        bin_next_batch(val, &cursor, in, tg, B, T);
        per[k] = model_forward(&m, in, tg, B, T);
        sum += per[k];
        if (track_progress(t, step0 + k + 1, ckpt)) die(t->err_exit, "%s", t->err);
        int pause = control_pause_requested();
        if (pause < 0 || (pause && control_pause(t, "none: retention recomputes from the start"))) die(t->err_exit, "%s", t->err);
        if (pause) exit(EXIT_PAUSED);
    }
    free(in); free(tg);
    model_free(&m);
    return sum / batches;
}

int main(int argc, char** argv) {
    RetentionArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&RETENTION_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    char run[4096], p[4200];
    const KernelOps* kops = kernels_get(a.device, a.precision, err, sizeof err);
    if (!kops) die(EXIT_BADINPUT, "%s", err);
    omp_set_num_threads(c.threads > 0 ? (int)c.threads : threads_share());   /* threads: 0 = my share of the machine */

    /* All checks before any work or any file. */
    ModelConfig bc, uc;
    read_config(a.base_ckpt, a.base_cfg, &bc);
    read_config(a.updated_ckpt, a.updated_cfg, &uc);
    if (bc.vocab_size != uc.vocab_size)
        die(EXIT_BADINPUT, "mismatched checkpoints: %s has vocab_size %ld, %s has %ld", a.base_ckpt, bc.vocab_size, a.updated_ckpt,
            uc.vocab_size);
    long tmax = bc.seq_len < uc.seq_len ? bc.seq_len : uc.seq_len;
    if (a.seq_len > tmax) die(EXIT_BADINPUT, "%s: seq_len: %ld exceeds the models' seq_len %ld", cfg_where(&c), a.seq_len, tmax);
    Bin val;
    if (bin_open(&val, a.val_bin, err)) die(EXIT_BADINPUT, "%s", err);
    if (val.vocab > bc.vocab_size)
        die(EXIT_BADINPUT, "%s: vocab %d exceeds the models' vocab_size %ld", a.val_bin, val.vocab, bc.vocab_size);
    int B = (int)a.batch_size, T = (int)a.seq_len;
    size_t per_batch = (size_t)B * T;
    long batches = val.ntok < per_batch + 1 ? 0 : (long)((val.ntok - 1) / per_batch);
    if (batches > a.max_batches) batches = a.max_batches;
    if (batches == 0)
        die(EXIT_BADINPUT, "%s: %zu tokens, fewer than one batch needs (%zu)", a.val_bin, val.ntok, per_batch + 1);
    /* Both models must have been trained on ids from the val bin's tokenizer. */
    for (int i = 0; i < 2; i++) {
        const char* ck = i ? a.updated_ckpt : a.base_ckpt;
        char tk[65];
        if (ckpt_read_tokenizer(ck, tk, err) || ckpt_check_tokenizer(ck, tk, a.val_bin, val.tok_sha256, err))
            die(EXIT_BADINPUT, "%s", err);
    }

    const char* outs[] = {a.out};
    if (life_plain_outputs(run, &c, outs, 1, 0, err)) die(EXIT_BADINPUT, "%s", err);
    Tracker t;
    if (track_open(&t, run, &RETENTION_SPEC, &a, &c, "retention")) die(t.err_exit, "%s", t.err);
    track_summary(&t, "device", kernels_json(kops));
    control_install(&t);
    life_clear_output_temps(a.out);
    const char* ins[] = {a.base_cfg, a.updated_cfg, a.val_bin};
    for (int i = 0; i < 3; i++) if (track_input(&t, ins[i])) die(t.err_exit, "%s", t.err);
    if (path_join(p, sizeof p, a.base_ckpt, "model.safetensors", err)) die(EXIT_BADINPUT, "%s", err);
    if (track_input(&t, p)) die(t.err_exit, "%s", t.err);
    if (path_join(p, sizeof p, a.updated_ckpt, "model.safetensors", err)) die(EXIT_BADINPUT, "%s", err);
    if (track_input(&t, p)) die(t.err_exit, "%s", t.err);
    track_total(&t, 2 * batches);
    if (batches < a.max_batches) track_say(&t, "retention: %s holds %ld batches of %d x %d, fewer than max_batches %ld", a.val_bin,
                                           batches, B, T, a.max_batches);

    double* base_per = malloc_check((size_t)batches * sizeof(double));
    double* upd_per = malloc_check((size_t)batches * sizeof(double));
    double base_loss = eval_ckpt(&t, kops, a.base_ckpt, &bc, &val, B, T, batches, 0, base_per);
    double upd_loss = eval_ckpt(&t, kops, a.updated_ckpt, &uc, &val, B, T, batches, batches, upd_per);
    double base_ppl = exp(base_loss), upd_ppl = exp(upd_loss);
    /* The interval of rel_delta: the paired bootstrap over val batches of the loss
     * difference (both models saw the same batches); rel_delta = exp(mean difference) - 1. */
    for (long k = 0; k < batches; k++) upd_per[k] -= base_per[k];
    PairedCI ci;
    stats_paired_bootstrap(upd_per, (int)batches, STATS_RESAMPLES, 0, 0.95, &ci);
    free(base_per); free(upd_per);
    json_t* r = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:s, s:s, s:s}", "base_ppl", base_ppl, "updated_ppl",
                          upd_ppl, "abs_delta", upd_ppl - base_ppl, "rel_delta", upd_ppl / base_ppl - 1, "base_loss", base_loss,
                          "updated_loss", upd_loss, "tokens_evaluated", (json_int_t)(batches * (long)per_batch), "batches",
                          (json_int_t)batches, "seq_len", (json_int_t)T, "batch_size", (json_int_t)B, "base_ckpt", a.base_ckpt,
                          "updated_ckpt", a.updated_ckpt, "val_bin", a.val_bin);
    if (!r) die(EXIT_FAIL, "%s: cannot encode the result (a path is not UTF-8?)", a.out);
    json_object_set_new(r, "rel_delta_ci95", json_pack("[f, f]", expm1(ci.lo), expm1(ci.hi)));
    json_object_set_new(r, "ci", json_string("paired bootstrap over val batches, 10000 resamples"));
    if (json_write_atomic(a.out, r, err)) die(EXIT_FAIL, "%s", err);
    if (track_output(&t, a.out)) die(t.err_exit, "%s", t.err);
    track_summary(&t, "base_ppl", json_real(base_ppl));
    track_summary(&t, "updated_ppl", json_real(upd_ppl));
    track_summary(&t, "rel_delta", json_real(upd_ppl / base_ppl - 1));
    track_say(&t, "retention: base ppl %.4f, updated ppl %.4f (%+.4f, %+.2f%%) over %ld batches of %d x %d -> %s", base_ppl,
              upd_ppl, upd_ppl - base_ppl, 100 * (upd_ppl / base_ppl - 1), batches, B, T, a.out);
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    json_decref(r);
    json_decref(bc.mhc); json_decref(uc.mhc);
    bin_close(&val);
    return 0;
}
