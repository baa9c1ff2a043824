/* sdft: see sdft.h. log-softmax in double for the per-token sums. */
#include "sdft.h"
#include "lifecycle.h"
#include "ckpt.h"
#include "json.h"
#include "rng.h"
#include "sample.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double logsumexp(const float* z, int V) {
    double mx = z[0];
    for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
    double s = 0;
    for (int v = 0; v < V; v++) s += exp(z[v] - mx);
    return mx + log(s);
}

double sdft_kl(const float* zs, const float* zt, int V, float* dz, float scale) {
    double ls = logsumexp(zs, V), lt = logsumexp(zt, V), kl = 0;
    for (int v = 0; v < V; v++) {
        double lp = zs[v] - ls, lq = zt[v] - lt;
        kl += exp(lp) * (lp - lq);
    }
    if (dz)
        for (int v = 0; v < V; v++) {
            double lp = zs[v] - ls, lq = zt[v] - lt;
            dz[v] += (float)(scale * exp(lp) * (lp - lq - kl));
        }
    return kl;
}

double sdft_distill(Model* S, Model* T, int N, int* const* sp, const int* spl, int* const* tp, const int* tpl,
                    const int* out, const int* lens, int maxnew) {
    int Ts = 1, Tt = 1, ntok = 0;
    for (int j = 0; j < N; j++) {
        if (spl[j] + lens[j] > Ts) Ts = spl[j] + lens[j];
        if (tpl[j] + lens[j] > Tt) Tt = tpl[j] + lens[j];
        ntok += lens[j];
    }
    if (ntok == 0) return 0;
    int* si = malloc_check((size_t)N * Ts * sizeof(int));   /* (N, Ts) prompt, completion, padding */
    int* ti = malloc_check((size_t)N * Tt * sizeof(int));   /* (N, Tt) */
    for (int j = 0; j < N; j++) {
        for (int q = 0; q < Ts; q++) si[j * Ts + q] = q < spl[j] ? sp[j][q] : q - spl[j] < lens[j] ? out[j * maxnew + q - spl[j]] : TOK_PAD;
        for (int q = 0; q < Tt; q++) ti[j * Tt + q] = q < tpl[j] ? tp[j][q] : q - tpl[j] < lens[j] ? out[j * maxnew + q - tpl[j]] : TOK_PAD;
    }
    model_forward(T, ti, NULL, N, Tt);             /* teacher, stop-gradient */
    model_forward(S, si, NULL, N, Ts);
    float* dl = calloc_check((size_t)N * Ts * S->V, sizeof(float));   /* (N, Ts, V) d loss / d student logits */
    const float* zs_all = model_logits(S);
    const float* zt_all = model_logits(T);
    double kl = 0;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < lens[j]; i++) {
            /* the logits that predict completion token i */
            const float* zs = zs_all + ((size_t)j * Ts + spl[j] - 1 + i) * S->V;
            const float* zt = zt_all + ((size_t)j * Tt + tpl[j] - 1 + i) * S->V;
            kl += sdft_kl(zs, zt, S->V, dl + ((size_t)j * Ts + spl[j] - 1 + i) * S->V, 1.0f / ntok);
        }
    model_zero_grad(S);
    model_backward_logits(S, dl);
    free(dl); free(si); free(ti);
    return kl / ntok;
}

double sdft_val_ppl(Model* m, const Bin* val, int B, int T, long batches) {
    int* in = malloc_check((size_t)B * T * sizeof(int));
    int* tg = malloc_check((size_t)B * T * sizeof(int));
    size_t cursor = 0;
    double sum = 0;
    for (long k = 0; k < batches; k++) {
        bin_next_batch(val, &cursor, in, tg, B, T);
        sum += model_forward(m, in, tg, B, T);
    }
    free(in); free(tg);
    return exp(sum / batches);
}

double sdft_best_of_k(Model* m, const Tokenizer* tok, TokCache* cache, const uint8_t* stop, const Task* tasks, long n,
                      int K, int maxnew, uint64_t seed) {
    int** pr = malloc_check(K * sizeof(int*));
    int* pl = malloc_check(K * sizeof(int));
    int* out = malloc_check((size_t)K * maxnew * sizeof(int));
    int* lens = malloc_check(K * sizeof(int));
    char text[4096];
    double sum = 0;
    SampleCfg sc = {1.0, 0, 1.0};
    for (long i = 0; i < n; i++) {
        pr[0] = malloc_check((size_t)m->Tmax * sizeof(int));
        pl[0] = sample_encode_prompt(tok, cache, tasks[i].prompt, pr[0], m->Tmax - maxnew);
        for (int k = 1; k < K; k++) { pr[k] = pr[0]; pl[k] = pl[0]; }
        Rng r;
        rng_seed(&r, seed + (uint64_t)i);
        sample_batch(m, (const int* const*)pr, pl, K, maxnew, &sc, &r, stop, out, lens);
        double best = 0;
        for (int k = 0; k < K; k++) {
            uint32_t u[4096];
            int n = sample_text_len(out + (size_t)k * maxnew, lens[k], stop);   /* scored without its stop token */
            for (int j = 0; j < n; j++) u[j] = (uint32_t)out[(size_t)k * maxnew + j];
            size_t len = tok_decode(tok, u, n, text, sizeof text - 1);
            text[len] = 0;
            double s = task_score(&tasks[i], text, len);
            if (s > best) best = s;
        }
        sum += best;
        free(pr[0]);
    }
    free(pr); free(pl); free(out); free(lens);
    return n ? sum / n : 0;
}

/* ---- the training loop -------------------------------------------------- */

static double val_ppl(const SdftRun* r, Model* m) {
    return sdft_val_ppl(m, r->val, (int)r->a->gate_val_bs, (int)r->a->gate_val_seq_len, r->a->gate_val_batches);
}

static double best_of_k(const SdftRun* r) {
    return sdft_best_of_k(r->S, r->tok, r->cache, r->stop, r->tasks, r->nd, (int)r->a->best_of_k, (int)r->a->max_new_tokens,
                          (uint64_t)r->a->seed * 7919 + 1);
}

void sdft_run_open(SdftRun* r, const SdftArgs* a, Model* S, Model* T, const Tokenizer* tok, const Demo* demos,
                   const Task* tasks, long nd, const Bin* val) {
    memset(r, 0, sizeof *r);
    r->a = a;
    r->S = S;
    r->T = T;
    r->tok = tok;
    r->cache = tok_cache_new(tok);
    r->stop = sample_stop_flags(tok, S->V);
    r->demos = demos;
    r->tasks = tasks;
    r->nd = nd;
    r->val = val;
    OptimCfg oc = {a->lr, 0.0, 0.9, a->beta2, 1e-8, a->weight_decay, a->grad_clip, (long)ceil(a->warmup_frac * a->steps), a->steps};
    r->oc = oc;
    r->mo = S->k->alloc(S->num_params * sizeof(float));
    r->vo = S->k->alloc(S->num_params * sizeof(float));
    r->N = (int)(a->demos_per_step < nd ? a->demos_per_step : nd);
    r->maxnew = (int)a->max_new_tokens;
    r->sp = malloc_check(r->N * sizeof(int*));
    r->tp = malloc_check(r->N * sizeof(int*));
    for (int j = 0; j < r->N; j++) {
        r->sp[j] = malloc_check((size_t)S->Tmax * sizeof(int));
        r->tp[j] = malloc_check((size_t)S->Tmax * sizeof(int));
    }
    r->spl = malloc_check(r->N * sizeof(int));
    r->tpl = malloc_check(r->N * sizeof(int));
    r->out = malloc_check((size_t)r->N * r->maxnew * sizeof(int));
    r->lens = malloc_check(r->N * sizeof(int));
    r->red_step = -1;
    r->verdicts = json_array();
}

void sdft_run_close(SdftRun* r) {
    for (int j = 0; j < r->N; j++) { free(r->sp[j]); free(r->tp[j]); }
    free(r->sp); free(r->tp); free(r->spl); free(r->tpl); free(r->out); free(r->lens); free(r->stop);
    tok_cache_free(r->cache);
    r->S->k->release(r->mo);
    r->S->k->release(r->vo);
    json_decref(r->verdicts);
    memset(r, 0, sizeof *r);
}

int sdft_begin(SdftRun* r, char err[ERR_LEN]) {
    const SdftArgs* a = r->a;
    char resume_dir[4200], p[4200], d[4096];
    if (path_join(resume_dir, sizeof resume_dir, a->out, "_resume", err)) return -1;
    /* The newest resume point whose teacher was saved too: sdft_record writes the teacher
     * first, so a state without its teacher is one a kill cut short (older dirs). */
    long rs[8];
    int n = life_steps(resume_dir, "state", rs, 8), at = -1;
    char td[4096];
    for (int i = 0; i < n && at < 0; i++) {
        if (life_step_dir(td, sizeof td, resume_dir, "teacher", rs[i], err)) return -1;
        if (is_dir(td)) at = i;
    }
    int resumed = at >= 0;
    if (resumed) {
        json_t* st = NULL;
        if (life_step_dir(r->resumed_from, sizeof r->resumed_from, resume_dir, "state", rs[at], err)) return -1;
        if (ckpt_load_state(r->resumed_from, r->S, r->mo, r->vo, &st, err) || ckpt_load_weights(td, r->T, err)) return -1;
        r->step = jget_int(st, "step", 0);
        r->updates = jget_int(st, "updates", r->step);
        r->last_pass = jget_int(st, "last_pass", 0);
        r->base_ppl = jget_num(st, "base_ppl", 0);
        r->bok_before = jget_num(st, "best_of_k_before", 0);
        json_decref(r->verdicts);
        r->verdicts = json_deep_copy(json_object_get(st, "verdicts"));
        json_decref(st);
    } else {
        r->base_ppl = val_ppl(r, r->S);                 /* the base model: --ckpt */
        r->S->k->copy(r->S->params, r->T->params, r->S->num_params * sizeof(float));   /* start: --init_from or the base */
        r->bok_before = best_of_k(r);
        /* Step 0 is the base model: what sdft_latest means if the first gate fails. */
        if (ckpt_save(a->out, "sdft", 0, r->S, NULL, NULL, NULL, d, err)) return -1;
    }
    if (path_join(p, sizeof p, a->out, "metrics.jsonl", err)) return -1;
    if (jsonl_truncate_steps(p, r->step, err)) return -1;
    return resumed;
}

void sdft_prompts(SdftRun* r) {
    char text[4096];
    int room = r->S->Tmax - r->maxnew;
    for (int j = 0; j < r->N; j++) {
        long k = (r->step * r->N + j) % r->nd;
        const Demo* dm = &r->demos[k];
        r->spl[j] = sample_encode_prompt(r->tok, r->cache, dm->prompt, r->sp[j], room);
        if (task_demo_prompt(&r->tasks[k], dm->demonstration, dm->reward, text, sizeof text) < 0)
            snprintf(text, sizeof text, "%s", dm->prompt);
        r->tpl[j] = sample_encode_prompt(r->tok, r->cache, text, r->tp[j], room);
    }
}

void sdft_sample(SdftRun* r) {
    SampleCfg sc = {r->a->temperature, 0, 1.0};
    Rng rng;
    rng_seed(&rng, (uint64_t)r->a->seed * 1000003 + (uint64_t)r->step);
    sample_batch(r->S, (const int* const*)r->sp, r->spl, r->N, r->maxnew, &sc, &rng, r->stop, r->out, r->lens);
}

int sdft_update(SdftRun* r, double* lr) {
    int ntok = 0;
    for (int j = 0; j < r->N; j++) ntok += r->lens[j];
    *lr = lr_at(&r->oc, r->step);
    if (ntok > 0) {    /* a step without tokens takes no update and leaves Adam's t */
        optim_step(&r->oc, r->S, r->mo, r->vo, ++r->updates, *lr);
        r->S->k->ema_update(r->T->params, r->S->params, (long)r->S->num_params, (float)r->a->ema);
    }
    r->step++;
    return ntok;
}

int sdft_gate(SdftRun* r, const Gate* gates, int ngates, json_t* row, json_t* records, GateVerdict* worst,
              OnRed* on_red, char err[ERR_LEN]) {
    double ppl = val_ppl(r, r->S), rel = ppl / r->base_ppl - 1;
    json_object_set_new(row, "val_ppl", json_real(ppl));
    json_object_set_new(row, "val_ppl_rel_delta", json_real(rel));
    json_t* values = json_pack("{s:f}", "val_ppl_rel_delta", rel);
    size_t before = json_array_size(records);
    *worst = gates_check(gates, ngates, values, r->step, records, on_red);
    json_decref(values);
    for (size_t i = before; i < json_array_size(records); i++) json_array_append(r->verdicts, json_array_get(records, i));
    json_object_set_new(row, "gate", json_string(gate_verdict_name(*worst)));
    if (*worst == GATE_RED) {
        r->red_step = r->step;
        r->stopped = 1;
        return 0;
    }
    char d[4096];
    if (ckpt_save(r->a->out, "sdft", r->step, r->S, NULL, NULL, NULL, d, err)) return -1;
    r->last_pass = r->step;
    return 0;
}

int sdft_record(SdftRun* r, const json_t* row, int pause, char err[ERR_LEN]) {
    const SdftArgs* a = r->a;
    char p[4200], d[4096], resume_dir[4200];
    if (path_join(p, sizeof p, a->out, "metrics.jsonl", err)) return -1;
    if (json_append_line(p, (json_t*)row, err)) return -1;
    if (!(pause || r->step % a->gate_every == 0) || r->stopped || r->step >= a->steps) return 0;
    /* Resume state: never a published checkpoint (those are gated). */
    if (path_join(resume_dir, sizeof resume_dir, a->out, "_resume", err)) return -1;
    json_t* st = json_pack("{s:I, s:I, s:I, s:f, s:f, s:O}", "step", (json_int_t)r->step, "updates", (json_int_t)r->updates,
                           "last_pass", (json_int_t)r->last_pass, "base_ppl", r->base_ppl, "best_of_k_before", r->bok_before,
                           "verdicts", r->verdicts);
    /* The teacher first: a state dir is the resume point, complete only with its teacher. */
    int rc = ckpt_save(resume_dir, "teacher", r->step, r->T, NULL, NULL, NULL, d, err) ||
             ckpt_save(resume_dir, "state", r->step, r->S, r->mo, r->vo, st, d, err);
    json_decref(st);
    return rc ? -1 : 0;
}

int sdft_train(SdftRun* r, const Gate* gates, int ngates, SdftStepFn fn, void* ctx, char err[ERR_LEN]) {
    const SdftArgs* a = r->a;
    while (r->step < a->steps && !r->stopped) {
        sdft_prompts(r);
        sdft_sample(r);
        double kl = sdft_distill(r->S, r->T, r->N, r->sp, r->spl, r->tp, r->tpl, r->out, r->lens, r->maxnew), lr;
        int ntok = sdft_update(r, &lr);
        json_t* row = json_pack("{s:I, s:f, s:i, s:f, s:I}", "step", (json_int_t)r->step, "kl", kl, "tokens", ntok, "lr", lr,
                                "updates", (json_int_t)r->updates);
        json_t* records = json_array();
        GateVerdict worst = GATE_GREEN;
        OnRed on_red = ON_RED_KEEP_BEST;
        int rc = 0, pause = 0;
        if (r->step % a->gate_every == 0 || r->step == a->steps)
            rc = sdft_gate(r, gates, ngates, row, records, &worst, &on_red, err);
        int gated = worst == GATE_RED && on_red == ON_RED_STOP;
        if (rc == 0) {
            if (fn) pause = fn(ctx, r, row, records) != 0;
            rc = sdft_record(r, row, pause, err);
        }
        json_decref(records);
        json_decref(row);
        if (rc) return -1;
        if (gated) return 2;
        if (pause) return 1;
    }
    return 0;
}

int sdft_finish(SdftRun* r, char err[ERR_LEN]) {
    const SdftArgs* a = r->a;
    char p[4200];
    if (life_step_dir(r->published, sizeof r->published, a->out, "sdft", r->last_pass, err)) return -1;
    if (ckpt_load_weights(r->published, r->S, err)) return -1;
    r->final_ppl = val_ppl(r, r->S);
    r->bok_after = best_of_k(r);
    json_t* rep = json_pack("{s:f, s:f, s:f, s:O, s:I, s:I, s:s, s:I, s:I, s:f, s:f, s:f}", "base_val_ppl", r->base_ppl,
                            "final_val_ppl", r->final_ppl, "val_ppl_rel_delta", r->final_ppl / r->base_ppl - 1,
                            "gate_verdicts", r->verdicts, "red_step", (json_int_t)r->red_step, "published_step",
                            (json_int_t)r->last_pass, "published", r->published, "demos_used", (json_int_t)r->nd, "best_of_k",
                            (json_int_t)a->best_of_k, "best_of_k_before", r->bok_before, "best_of_k_after", r->bok_after,
                            "steps_done", (double)r->step);
    if (path_join(p, sizeof p, a->out, "sdft_eval_report.json", err)) return -1;
    int rc = json_write_atomic(p, rep, err);
    json_decref(rep);
    return rc;
}
