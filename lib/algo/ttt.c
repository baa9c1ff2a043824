/* ttt: see ttt.h. Names follow SPEC §12: a group is the rollouts that share a
 * start state; r rewards, A advantages, d_t = log pi_theta - log pi_base. */
#include "ttt.h"
#include "lifecycle.h"
#include "atomic.h"
#include "json.h"
#include "kernels.h"
#include "safetensors.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void decode_text(const Tokenizer* tok, const int* ids, int n, char* out, size_t cap) {
    uint32_t* u = malloc_check((n + 1) * sizeof(uint32_t));
    for (int i = 0; i < n; i++) u[i] = (uint32_t)ids[i];
    size_t k = tok_decode(tok, u, n, out, cap - 1);
    out[k] = 0;
    free(u);
}

static uint64_t task_seed(uint64_t seed, const char* id) {
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (const char* p = id; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

/* Resume state of an unfinished task, <task_dir>/state/: state.json (step and
 * the result so far), lora.safetensors, adam.safetensors, archive.json. Written
 * under state.tmp.<pid>/ and renamed over, so it is always whole. With it a
 * resumed task continues bit-identically (sampling at step s draws from
 * rng_split(task rng, s), which depends on nothing else). */
static int state_save(const char* task_dir, long step, const TttTask* s, const TaskResult* res, const Model* m,
                      char err[ERR_LEN]) {
    Lora* lo = s->ad.lo;
    char tmp[4300], fin[4300], p[4400];
    if (path_fmt(fin, sizeof fin, err, "%s/state", task_dir) || path_fmt(tmp, sizeof tmp, err, "%s/state.tmp.%d", task_dir, (int)getpid()))
        return -1;
    if (mkdir_p(tmp, err)) return -1;
    json_t* st = json_pack("{s:I, s:I, s:f, s:f, s:s, s:I, s:I, s:O, s:O}", "step", (json_int_t)step, "updates", (json_int_t)s->ad.updates,
                           "best_reward", res->best_reward,
                           "reward_sum", s->reward_sum, "best_solution", res->best_solution, "samples", (json_int_t)res->samples,
                           "tokens", (json_int_t)res->tokens, "curve", res->curve, "rewards", res->rewards);
    if (s->ar) {
        char* a = rl_archive_dumps(s->ar);
        json_object_set_new(st, "archive", json_string(a));
        free(a);
    }
    if (path_join(p, sizeof p, tmp, "state.json", err)) return -1;
    int rc = json_write_atomic(p, st, err);
    json_decref(st);
    if (rc) return -1;
    if (lo) {
        if (path_join(p, sizeof p, tmp, "lora.safetensors", err)) return -1;
        if (lora_save(p, lo, m, step, err)) return -1;
        StTensor t[2];
        memset(t, 0, sizeof t);
        size_t bytes = lo->num_params * sizeof(float);
        float* host = malloc_check(2 * bytes);   /* the Adam state may live on the GPU */
        lo->k->download(host, s->ad.mo, bytes);
        lo->k->download(host + lo->num_params, s->ad.vo, bytes);
        for (int i = 0; i < 2; i++) {
            snprintf(t[i].name, sizeof t[i].name, "%s", i ? "adam.v" : "adam.m");
            t[i].dtype = ST_F32; t[i].ndim = 1; t[i].shape[0] = (int64_t)lo->num_params;
            t[i].data = host + i * lo->num_params; t[i].nbytes = bytes;
        }
        if (path_join(p, sizeof p, tmp, "adam.safetensors", err)) return -1;
        int wrc = st_write(p, t, 2, NULL, err);
        free(host);
        if (wrc) return -1;
    }
    return life_publish_dir(tmp, fin, err);   /* the old state aside, not deleted first */
    return 0;
}

/* 0 (no state), the step it was saved at, or -1 (err). */
static long state_load(const char* task_dir, TttTask* s, TaskResult* res, const Model* m, char err[ERR_LEN]) {
    Lora* lo = s->ad.lo;
    char p[4400];
    if (path_fmt(p, sizeof p, err, "%s/state/state.json", task_dir)) return -1;
    if (!path_exists(p)) return 0;
    json_t* st = json_load_path(p, err);
    if (!st) return -1;
    long step = jget_int(st, "step", 0);
    s->ad.updates = jget_int(st, "updates", 0);
    res->best_reward = jget_num(st, "best_reward", -1);
    s->reward_sum = jget_num(st, "reward_sum", 0);
    snprintf(res->best_solution, sizeof res->best_solution, "%s", jget_str(st, "best_solution", ""));
    res->samples = jget_int(st, "samples", 0);
    res->tokens = jget_int(st, "tokens", 0);
    json_decref(res->curve);
    res->curve = json_deep_copy(json_object_get(st, "curve"));
    if (!json_is_array(res->curve)) { json_decref(res->curve); res->curve = json_array(); }
    json_decref(res->rewards);
    res->rewards = json_deep_copy(json_object_get(st, "rewards"));
    if (!json_is_array(res->rewards)) { json_decref(res->rewards); res->rewards = json_array(); }
    if (s->ar) {
        const char* a = jget_str(st, "archive", NULL);
        RlArchive* loaded = a ? rl_archive_loads(a, err) : NULL;
        if (!loaded) { json_decref(st); if (!a) errf(err, "%s: no archive", p); return -1; }
        rl_archive_free(s->ar);
        s->ar = loaded;
    }
    json_decref(st);
    if (lo) {
        if (path_fmt(p, sizeof p, err, "%s/state/lora.safetensors", task_dir)) return -1;
        if (lora_load(p, lo, m, err)) return -1;
        if (path_fmt(p, sizeof p, err, "%s/state/adam.safetensors", task_dir)) return -1;
        SafeTensors* f = st_open(p, 1, err);
        if (!f) return -1;
        const StTensor* tm = st_find(f, "adam.m");
        const StTensor* tv = st_find(f, "adam.v");
        if (!tm || !tv || tm->nbytes != lo->num_params * sizeof(float) || tv->nbytes != tm->nbytes) {
            errf(err, "%s: Adam state does not match the adapter", p);
            st_close(f);
            return -1;
        }
        lo->k->upload(s->ad.mo, tm->data, tm->nbytes);
        lo->k->upload(s->ad.vo, tv->data, tv->nbytes);
        st_close(f);
    }
    return step;
}

/* -1, with the key at fault and why. */
static int refuse(const char** key, const char* k, char err[ERR_LEN], const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ERR_LEN, fmt, ap);
    va_end(ap);
    *key = k;
    return -1;
}

int ttt_cfg_from_args(const TttArgs* a, TttCfg* c, const char** key, char err[ERR_LEN]) {
    memset(c, 0, sizeof *c);
    c->ttt = !strcmp(a->mode, "ttt");
    c->search = !strcmp(a->mode, "search");
    c->entropic = !strcmp(a->objective, "entropic");
    if (!c->ttt && !c->search && strcmp(a->mode, "bestofn"))
        return refuse(key, "mode", err, "'%s': expected bestofn, search or ttt", a->mode);
    if (c->search && !a->reuse) return refuse(key, "reuse", err, "0: search is PUCT reuse without learning (reuse 0 is best-of-N)");
    if (!c->entropic && strcmp(a->objective, "expected"))
        return refuse(key, "objective", err, "'%s': expected entropic or expected", a->objective);
    if (a->rollouts % a->groups_per_step)
        return refuse(key, "groups_per_step", err, "%ld does not divide rollouts %ld", a->groups_per_step, a->rollouts);
    if (a->rollouts / a->groups_per_step < 2) return refuse(key, "groups_per_step", err, "each group needs at least 2 rollouts");
    c->lr = -1;   /* auto */
    if (strcmp(a->lr, "auto")) {
        char* end = NULL;
        c->lr = strtod(a->lr, &end);
        if (end == a->lr || *end || !(c->lr >= 0 && c->lr <= 10))
            return refuse(key, "lr", err, "'%s': expected auto or a number in [0, 10]", a->lr);
    }
    c->ttt_steps = a->ttt_steps; c->rollouts = a->rollouts; c->max_new_tokens = a->max_new_tokens;
    c->groups_per_step = a->reuse ? a->groups_per_step : 1; c->reuse = a->reuse; c->adaptive_beta = a->adaptive_beta;
    c->beta = a->beta; c->kl_lambda = a->kl_lambda; c->lora_rank = a->lora_rank;
    c->lora_alpha = a->lora_alpha > 0 ? a->lora_alpha : 2.0 * a->lora_rank;
    c->adam_beta1 = a->adam_beta1; c->adam_beta2 = a->adam_beta2; c->adam_eps = a->adam_eps; c->weight_decay = a->weight_decay;
    c->temperature = a->temperature; c->top_k = a->top_k; c->top_p = a->top_p;
    c->archive_cap = a->archive_cap; c->puct_c = a->puct_c; c->adapter_every = a->adapter_every;
    return 0;
}

const char* const* ttt_unread_keys(const TttCfg* c) {
#define TTT_PATHS "tasks", "ckpt", "tokenizer", "out_root", "shard", "merge", "device"
#define TTT_LEARNING "lr", "lora_rank", "lora_alpha", "adam_beta1", "adam_beta2", "adam_eps", "weight_decay", "objective", \
                     "adaptive_beta", "kl_lambda", "beta", "adapter_every"
    static const char* const ttt[] = {TTT_PATHS, NULL};
    static const char* const search[] = {TTT_PATHS, TTT_LEARNING, NULL};
    static const char* const bestofn[] = {TTT_PATHS, TTT_LEARNING, "reuse", "groups_per_step", "archive_cap", "puct_c", NULL};
#undef TTT_PATHS
#undef TTT_LEARNING
    return c->ttt ? ttt : c->search ? search : bestofn;
}

double ttt_lr_auto(long d_model) { return 5e-4 * pow(2000.0 / (double)d_model, 0.781); }

void ttt_task_open(TttTask* s, Model* m, const Tokenizer* tok, const Task* t, const TttCfg* c, uint64_t seed, TaskResult* res) {
    memset(s, 0, sizeof *s);
    memset(res, 0, sizeof *res);
    res->best_reward = -1;
    res->curve = json_array();
    res->rewards = json_array();
    s->task = t;
    s->c = c;
    s->tok = tok;
    s->cache = tok_cache_new(tok);
    s->stop = sample_stop_flags(tok, m->V);
    int N = (int)c->rollouts;
    s->G = c->reuse ? (int)c->groups_per_step : 1;
    s->per = N / s->G;
    s->keep = m->Tmax - (int)c->max_new_tokens;
    rng_seed(&s->rng, task_seed(seed, t->id));
    if (c->ttt) {
        Rng init = rng_split(&s->rng, 0);    /* steps draw from splits 1, 2, ...: the same in every mode */
        Lora* lo = lora_new(m, (int)c->lora_rank, (float)c->lora_alpha, rng_u64(&init));
        s->ad.lo = lo;
        s->ad.mo = lo->k->alloc(lo->num_params * sizeof(float));
        s->ad.vo = lo->k->alloc(lo->num_params * sizeof(float));
        m->lora = lo;
        m->train_base = 0;
    }
    s->ar = (c->ttt || c->search) && c->reuse ? rl_archive_new((int)c->archive_cap, "", 0.0) : NULL;
    TttBatch* b = &s->b;
    b->N = N;
    b->maxnew = (int)c->max_new_tokens;
    b->prompts = calloc_check(N, sizeof(int*));
    for (int i = 0; i < N; i++) b->prompts[i] = malloc_check((size_t)m->Tmax * sizeof(int));
    b->plens = calloc_check(N, sizeof(int));
    b->out = malloc_check((size_t)N * b->maxnew * sizeof(int));
    b->lens = malloc_check(N * sizeof(int));
    s->start = calloc_check(s->G, sizeof(int));
    s->r = malloc_check(N * sizeof(float));
    s->A = calloc_check(N, sizeof(float));
    s->text = malloc_check(TTT_TEXT);
}

void ttt_task_close(TttTask* s, Model* m) {
    TttBatch* b = &s->b;
    for (int i = 0; i < b->N; i++) free(b->prompts[i]);
    free(b->prompts); free(b->plens); free(b->out); free(b->lens);
    free(s->start); free(s->r); free(s->A); free(s->text); free(s->stop);
    tok_cache_free(s->cache);
    rl_archive_free(s->ar);
    Lora* lo = s->ad.lo;
    if (lo) { m->lora = NULL; m->train_base = 1; lo->k->release(s->ad.mo); lo->k->release(s->ad.vo); lora_free(lo); }
    memset(s, 0, sizeof *s);
}

long ttt_resume(TttTask* s, Model* m, const char* task_dir, TaskResult* res, char err[ERR_LEN]) {
    char metrics_path[4200];
    if (path_join(metrics_path, sizeof metrics_path, task_dir, "metrics.jsonl", err)) return -1;
    long step0 = state_load(task_dir, s, res, m, err);
    if (step0 < 0 || jsonl_truncate_steps(metrics_path, step0, err)) return -1;
    return step0;
}

void ttt_choose_starts(TttTask* s) {
    const Task* t = s->task;
    for (int g = 0; g < s->G; g++) s->start[g] = 0;
    if (s->ar) rl_archive_select(s->ar, s->G, s->c->puct_c, s->start);
    for (int g = 0; g < s->G; g++) {
        const char* prev = s->ar ? rl_archive_text(s->ar, s->start[g]) : NULL;
        if (s->start[g] == 0 || !prev) snprintf(s->text, TTT_TEXT, "%s", t->prompt);
        else if (task_refine_prompt(t, prev, rl_archive_reward(s->ar, s->start[g]), s->text, TTT_TEXT) < 0)
            snprintf(s->text, TTT_TEXT, "%s", t->prompt);
        int first = g * s->per;
        int n = sample_encode_prompt(s->tok, s->cache, s->text, s->b.prompts[first], s->keep);
        for (int i = first; i < first + s->per; i++) {
            if (i != first) memcpy(s->b.prompts[i], s->b.prompts[first], n * sizeof(int));
            s->b.plens[i] = n;
        }
    }
}

void ttt_sample(TttTask* s, Model* m, long step, TaskResult* res) {
    const TttCfg* c = s->c;
    TttBatch* b = &s->b;
    SampleCfg sc = {c->temperature, (int)c->top_k, c->top_p};
    Rng srng = rng_split(&s->rng, (uint64_t)step);
    if (s->ad.lo) s->ad.lo->enabled = 1;
    double tm = now_mono();
    sample_batch(m, (const int* const*)b->prompts, b->plens, b->N, b->maxnew, &sc, &srng, s->stop, b->out, b->lens);
    res->t_sample += now_mono() - tm;
}

void ttt_score(TttTask* s, TaskResult* res) {
    const TttBatch* b = &s->b;
    double tm = now_mono();
    s->step_max = -1;
    s->step_sum = 0;
    for (int i = 0; i < b->N; i++) {
        const int* ids = b->out + (size_t)i * b->maxnew;   /* scored and archived without its stop token */
        decode_text(s->tok, ids, sample_text_len(ids, b->lens[i], s->stop), s->text, TTT_TEXT);
        float r = s->r[i] = (float)task_score(s->task, s->text, strlen(s->text));
        s->step_sum += r;
        if (r > s->step_max) s->step_max = r;
        if (r > res->best_reward) {
            res->best_reward = r;
            /* Reported as JSON: bytes a verifier never accepts (non-ASCII,
             * control) show as '?'; a rewarded solution is plain ASCII. */
            snprintf(res->best_solution, sizeof res->best_solution, "%s", s->text);
            for (char* q = res->best_solution; *q; q++)
                if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e) *q = '?';
        }
        res->tokens += b->lens[i];
        json_array_append_new(res->rewards, json_real(r));
        if (s->ar) rl_archive_expand(s->ar, s->start[i / s->per], s->text, r);
    }
    res->t_score += now_mono() - tm;
    res->samples += b->N;
    s->reward_sum += s->step_sum;
    json_array_append_new(res->curve, json_pack("[I, f]", (json_int_t)res->samples, res->best_reward));
}

void ttt_advantages(TttTask* s) {
    const TttCfg* c = s->c;
    s->groups_used = 0;
    s->beta_sum = 0;
    for (int g = 0; g < s->G; g++) {
        double beta = 0;
        float *r = s->r + g * s->per, *A = s->A + g * s->per;
        if (rl_group_advantages(r, s->per, c->entropic ? RL_OBJ_ENTROPIC : RL_OBJ_EXPECTED, c->beta, c->adaptive_beta, A, &beta)) {
            s->groups_used++;
            s->beta_sum += beta;
        } else
            for (int i = 0; i < s->per; i++) A[i] = 0;
    }
}

int ttt_pg_step(Model* m, TttAdapter* ad, const TttBatch* b, const float* A, const TttCfg* c, double* loss_out, double* kl_out,
                TaskResult* res) {
    /* The training batch: every completion with an advantage and tokens, as rows of T
     * positions (prompt, completion, padding); targets -1 where no sampled token is next. */
    const int N = b->N, maxnew = b->maxnew, *plens = b->plens, *lens = b->lens, *out = b->out;
    Lora* lo = ad->lo;
    int rows = 0, T = 1;
    for (int i = 0; i < N; i++)
        if (A[i] != 0 && lens[i] > 0) { rows++; if (plens[i] + lens[i] - 1 > T) T = plens[i] + lens[i] - 1; }
    double loss = 0;
    *loss_out = *kl_out = 0;
    if (rows == 0) return 0;
    int BT = rows * T;
    int* in = malloc_check((size_t)BT * sizeof(int));        /* (rows, T) */
    int* tg = malloc_check((size_t)BT * sizeof(int));        /* (rows, T) */
    int* seq_of = malloc_check((size_t)BT * sizeof(int));    /* (rows, T) the row of a sampled token, else -1 */
    float* Aseq = malloc_check(rows * sizeof(float));        /* (rows) */
    int row = 0;
    for (int i = 0; i < N; i++) {
        if (!(A[i] != 0 && lens[i] > 0)) continue;
        int L = plens[i] + lens[i];
        for (int p = 0; p < T; p++) {
            int cur = p < plens[i] ? b->prompts[i][p] : p < L ? out[(size_t)i * maxnew + p - plens[i]] : TOK_PAD;
            int nxt = p + 1 < plens[i] ? -1 : p + 1 < L ? out[(size_t)i * maxnew + p + 1 - plens[i]] : -1;
            in[(size_t)row * T + p] = cur;
            tg[(size_t)row * T + p] = nxt;
            seq_of[(size_t)row * T + p] = nxt >= 0 ? row : -1;
        }
        Aseq[row++] = A[i];
    }
    float* lp_base = malloc_check(BT * sizeof(float));   /* (rows, T) -log pi_base */
    float* lp = malloc_check(BT * sizeof(float));        /* (rows, T) -log pi_theta */
    double* At = malloc_check(BT * sizeof(double));      /* (rows, T) shaped advantages */
    float* dl = calloc_check(BT, sizeof(float));         /* (rows, T) weight of each CE_t in the loss */
    double tm = now_mono();
    lo->enabled = 0;                               /* pi_base: the adapter off */
    model_forward(m, in, tg, rows, T);
    memcpy(lp_base, model_losses(m), BT * sizeof(float));
    lo->enabled = 1;
    model_forward(m, in, tg, rows, T);             /* activations for backward */
    memcpy(lp, model_losses(m), BT * sizeof(float));
    double dmean = rl_kl_shape(Aseq, seq_of, lp, lp_base, BT, c->kl_lambda, At);
    for (int p = 0; p < BT; p++) {
        if (seq_of[p] < 0) continue;
        dl[p] = (float)(At[p] / rows);            /* loss = -sum_t A_t log pi / completions */
        loss += At[p] * lp[p] / rows;
    }
    res->t_forward += now_mono() - tm;
    tm = now_mono();
    lora_zero_grad(lo);
    model_backward_weighted(m, dl);
    res->t_backward += now_mono() - tm;
    tm = now_mono();
    ad->updates++;
    lo->k->adamw_update(lo->params, lo->grads, ad->mo, ad->vo, (long)lo->num_params, (float)c->lr, (float)c->adam_beta1,
                        (float)c->adam_beta2, (float)c->adam_eps, (float)c->weight_decay, (int)ad->updates);
    res->t_optim += now_mono() - tm;
    *loss_out = loss;
    *kl_out = dmean;
    free(in); free(tg); free(seq_of); free(Aseq); free(lp_base); free(lp); free(At); free(dl);
    return 1;
}

int ttt_record(TttTask* s, Model* m, long step, const char* task_dir, TttStepFn fn, void* ctx, TaskResult* res,
               char err[ERR_LEN]) {
    const TttCfg* c = s->c;
    json_t* row = json_pack("{s:I, s:I, s:f, s:f, s:f}", "step", (json_int_t)step, "samples", (json_int_t)res->samples,
                            "mean_reward", s->step_sum / s->b.N, "max_reward", s->step_max, "best_reward", res->best_reward);
    double ti = now_mono();
    if (c->ttt) {
        json_object_set_new(row, "groups_used", json_integer(s->groups_used));
        json_object_set_new(row, "updates", json_integer(s->ad.updates));
        json_object_set_new(row, "beta", json_real(s->groups_used ? s->beta_sum / s->groups_used : 0));
        json_object_set_new(row, "loss", json_real(s->loss));
        json_object_set_new(row, "kl", json_real(s->kl));
        if (step % c->adapter_every == 0 || step == c->ttt_steps) {
            char d[4200], f[4300];
            if (path_fmt(d, sizeof d, err, "%s/adapter_step_%ld", task_dir, step) || path_join(f, sizeof f, d, "lora.safetensors", err)) {
                json_decref(row);
                return -1;
            }
            if (mkdir_p(d, err) || lora_save(f, s->ad.lo, m, step, err)) { json_decref(row); return -1; }
        }
    }
    json_object_set_new(row, "tokens", json_integer(res->tokens));
    char metrics_path[4200];
    if (path_join(metrics_path, sizeof metrics_path, task_dir, "metrics.jsonl", err) || json_append_line(metrics_path, row, err)) {
        json_decref(row);
        return -1;
    }
    int stop = 0;
    if (fn) stop = fn(ctx, step, row) != 0;
    else json_decref(row);
    if ((stop || step % c->adapter_every == 0) && step < c->ttt_steps && state_save(task_dir, step, s, res, m, err)) return -1;
    res->t_io += now_mono() - ti;
    return stop;
}

int ttt_run_task(Model* m, const Tokenizer* tok, const Task* t, const TttCfg* c, uint64_t seed, const char* task_dir,
                 TttStepFn fn, void* ctx, TaskResult* res, char err[ERR_LEN]) {
    double t0 = now_mono();
    TttTask s;
    ttt_task_open(&s, m, tok, t, c, seed, res);
    long step0 = ttt_resume(&s, m, task_dir, res, err);
    int rc = step0 < 0 ? -1 : 0;
    for (long step = step0 + 1; rc == 0 && step <= c->ttt_steps; step++) {
        ttt_choose_starts(&s);
        ttt_sample(&s, m, step, res);
        ttt_score(&s, res);
        s.loss = s.kl = 0;
        if (c->ttt) ttt_advantages(&s);
        if (c->ttt && c->lr > 0)    /* lr 0: sampling and scoring only, no update */
            ttt_pg_step(m, &s.ad, &s.b, s.A, c, &s.loss, &s.kl, res);
        rc = ttt_record(&s, m, step, task_dir, fn, ctx, res, err);
    }
    res->mean_reward = res->samples ? s.reward_sum / res->samples : 0;
    res->seconds = now_mono() - t0;
    if (res->best_reward < 0) res->best_reward = 0;
    ttt_task_close(&s, m);
    return rc;
}
