/* ttt: see ttt.h. Names follow SPEC §12: a group is the rollouts that share a
 * start state; r rewards, A advantages, d_t = log pi_theta - log pi_base. */
#include "ttt.h"
#include "json.h"
#include "kernels.h"
#include "lora.h"
#include "rl.h"
#include "sample.h"
#include "safetensors.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const Tokenizer* tok;
    TokCache* cache;
    uint8_t*  stop;      /* (V) */
    int       V, Tmax;
} Ctx;

static void decode_text(Ctx* x, const int* ids, int n, char* out, size_t cap) {
    uint32_t* u = malloc_check((n + 1) * sizeof(uint32_t));
    for (int i = 0; i < n; i++) u[i] = (uint32_t)ids[i];
    size_t k = tok_decode(x->tok, u, n, out, cap - 1);
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
static int state_save(const char* task_dir, long step, long updates, const TaskResult* res, double reward_sum, Lora* lo,
                      const float* mo, const float* vo, const RlArchive* ar, const Model* m, char err[ERR_LEN]) {
    char tmp[4300], fin[4300], p[4400];
    snprintf(fin, sizeof fin, "%s/state", task_dir);
    snprintf(tmp, sizeof tmp, "%s/state.tmp.%d", task_dir, (int)getpid());
    if (mkdir_p(tmp, err)) return -1;
    json_t* st = json_pack("{s:I, s:I, s:f, s:f, s:s, s:I, s:I, s:O, s:O}", "step", (json_int_t)step, "updates", (json_int_t)updates,
                           "best_reward", res->best_reward,
                           "reward_sum", reward_sum, "best_solution", res->best_solution, "samples", (json_int_t)res->samples,
                           "tokens", (json_int_t)res->tokens, "curve", res->curve, "rewards", res->rewards);
    if (ar) {
        char* a = rl_archive_dumps(ar);
        json_object_set_new(st, "archive", json_string(a));
        free(a);
    }
    path_join(p, sizeof p, tmp, "state.json");
    int rc = json_write_atomic(p, st, err);
    json_decref(st);
    if (rc) return -1;
    if (lo) {
        path_join(p, sizeof p, tmp, "lora.safetensors");
        if (lora_save(p, lo, m, step, err)) return -1;
        StTensor t[2];
        memset(t, 0, sizeof t);
        size_t bytes = lo->num_params * sizeof(float);
        float* host = malloc_check(2 * bytes);   /* the Adam state may live on the GPU */
        lo->k->download(host, mo, bytes);
        lo->k->download(host + lo->num_params, vo, bytes);
        for (int i = 0; i < 2; i++) {
            snprintf(t[i].name, sizeof t[i].name, "%s", i ? "adam.v" : "adam.m");
            t[i].dtype = ST_F32; t[i].ndim = 1; t[i].shape[0] = (int64_t)lo->num_params;
            t[i].data = host + i * lo->num_params; t[i].nbytes = bytes;
        }
        path_join(p, sizeof p, tmp, "adam.safetensors");
        int wrc = st_write(p, t, 2, NULL, err);
        free(host);
        if (wrc) return -1;
    }
    if (rm_tree(fin)) { snprintf(err, ERR_LEN, "%s: cannot replace", fin); return -1; }
    if (rename(tmp, fin) != 0) { snprintf(err, ERR_LEN, "%s: cannot publish task state", fin); return -1; }
    return 0;
}

/* 0 (no state), the step it was saved at, or -1 (err). */
static long state_load(const char* task_dir, TaskResult* res, double* reward_sum, long* updates, Lora* lo, float* mo,
                       float* vo, RlArchive** ar, const Model* m, char err[ERR_LEN]) {
    char p[4400];
    snprintf(p, sizeof p, "%s/state/state.json", task_dir);
    if (!path_exists(p)) return 0;
    json_t* st = json_load_path(p, err);
    if (!st) return -1;
    long step = jget_int(st, "step", 0);
    *updates = jget_int(st, "updates", 0);
    res->best_reward = jget_num(st, "best_reward", -1);
    *reward_sum = jget_num(st, "reward_sum", 0);
    snprintf(res->best_solution, sizeof res->best_solution, "%s", jget_str(st, "best_solution", ""));
    res->samples = jget_int(st, "samples", 0);
    res->tokens = jget_int(st, "tokens", 0);
    json_decref(res->curve);
    res->curve = json_deep_copy(json_object_get(st, "curve"));
    if (!json_is_array(res->curve)) { json_decref(res->curve); res->curve = json_array(); }
    json_decref(res->rewards);
    res->rewards = json_deep_copy(json_object_get(st, "rewards"));
    if (!json_is_array(res->rewards)) { json_decref(res->rewards); res->rewards = json_array(); }
    if (*ar) {
        const char* a = jget_str(st, "archive", NULL);
        RlArchive* loaded = a ? rl_archive_loads(a, err) : NULL;
        if (!loaded) { json_decref(st); if (!a) snprintf(err, ERR_LEN, "%s: no archive", p); return -1; }
        rl_archive_free(*ar);
        *ar = loaded;
    }
    json_decref(st);
    if (lo) {
        snprintf(p, sizeof p, "%s/state/lora.safetensors", task_dir);
        if (lora_load(p, lo, m, err)) return -1;
        snprintf(p, sizeof p, "%s/state/adam.safetensors", task_dir);
        SafeTensors* s = st_open(p, 1, err);
        if (!s) return -1;
        const StTensor* tm = st_find(s, "adam.m");
        const StTensor* tv = st_find(s, "adam.v");
        if (!tm || !tv || tm->nbytes != lo->num_params * sizeof(float) || tv->nbytes != tm->nbytes) {
            snprintf(err, ERR_LEN, "%s: Adam state does not match the adapter", p);
            st_close(s);
            return -1;
        }
        lo->k->upload(mo, tm->data, tm->nbytes);
        lo->k->upload(vo, tv->data, tv->nbytes);
        st_close(s);
    }
    return step;
}

double ttt_lr_auto(long d_model) { return 5e-4 * pow(2000.0 / (double)d_model, 0.781); }

int ttt_update(Model* m, Lora* lo, float* mo, float* vo, long* updates, const int* const* prompts, const int* plens, const int* out,
                const int* lens, int N, int maxnew, const float* A, const TttCfg* c, double* loss_out, double* kl_out,
                TaskResult* res) {
    /* The training batch: every completion with an advantage and tokens. */
    int rows = 0, T = 1;
    for (int i = 0; i < N; i++)
        if (A[i] != 0 && lens[i] > 0) { rows++; if (plens[i] + lens[i] - 1 > T) T = plens[i] + lens[i] - 1; }
    double loss = 0;
    *loss_out = *kl_out = 0;
    if (rows == 0) return 0;
    int* in = malloc_check((size_t)rows * T * sizeof(int));
    int* tg = malloc_check((size_t)rows * T * sizeof(int));
    float* Aseq = malloc_check(rows * sizeof(float));
    int* seq_of = malloc_check((size_t)rows * T * sizeof(int));
    int row = 0;
    for (int i = 0; i < N; i++) {
        if (!(A[i] != 0 && lens[i] > 0)) continue;
        int L = plens[i] + lens[i];
        for (int p = 0; p < T; p++) {
            int cur = p < plens[i] ? prompts[i][p] : p < L ? out[(size_t)i * maxnew + p - plens[i]] : TOK_PAD;
            int nxt = p + 1 < plens[i] ? -1 : p + 1 < L ? out[(size_t)i * maxnew + p + 1 - plens[i]] : -1;
            in[(size_t)row * T + p] = cur;
            tg[(size_t)row * T + p] = nxt;
            seq_of[(size_t)row * T + p] = nxt >= 0 ? row : -1;   /* -1: not a sampled token */
        }
        Aseq[row++] = A[i];
    }
    int BT = rows * T;
    float* lp_base = malloc_check(BT * sizeof(float));
    float* lp = malloc_check(BT * sizeof(float));
    float* dl = calloc_check(BT, sizeof(float));
    double tm = now_mono();
    lo->enabled = 0;                               /* pi_base: the adapter off */
    model_forward(m, in, tg, rows, T);
    memcpy(lp_base, model_losses(m), BT * sizeof(float));
    lo->enabled = 1;
    model_forward(m, in, tg, rows, T);             /* activations for backward */
    memcpy(lp, model_losses(m), BT * sizeof(float));
    double* At = malloc_check(BT * sizeof(double));
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
    ++*updates;
    lo->k->adamw_update(lo->params, lo->grads, mo, vo, (long)lo->num_params, (float)c->lr, (float)c->adam_beta1,
                        (float)c->adam_beta2, (float)c->adam_eps, (float)c->weight_decay, (int)*updates);
    res->t_optim += now_mono() - tm;
    *loss_out = loss;
    *kl_out = dmean;
    free(in); free(tg); free(Aseq); free(seq_of); free(lp_base); free(lp); free(dl); free(At);
    return 1;
}

int ttt_run_task(Model* m, const Tokenizer* tok, const Task* t, const TttCfg* c, uint64_t seed, const char* task_dir,
                 TttStepFn fn, void* ctx, TaskResult* res, char err[ERR_LEN]) {
    double t0 = now_mono();
    memset(res, 0, sizeof *res);
    res->best_reward = -1;
    res->curve = json_array();
    res->rewards = json_array();
    Ctx x = {tok, tok_cache_new(tok), sample_stop_flags(tok, m->V), m->V, m->Tmax};
    int N = (int)c->rollouts, G = c->reuse ? (int)c->groups_per_step : 1, per = N / G;
    int maxnew = (int)c->max_new_tokens, keep = m->Tmax - maxnew;
    Rng trng;
    rng_seed(&trng, task_seed(seed, t->id));
    Lora* lo = NULL;
    float *mo = NULL, *vo = NULL;
    if (c->ttt) {
        Rng init = rng_split(&trng, 0);    /* steps draw from splits 1, 2, ...: the same in every mode */
        lo = lora_new(m, (int)c->lora_rank, (float)c->lora_alpha, rng_u64(&init));
        mo = lo->k->alloc(lo->num_params * sizeof(float));
        vo = lo->k->alloc(lo->num_params * sizeof(float));
        m->lora = lo;
        m->train_base = 0;
    }
    RlArchive* ar = (c->ttt || c->search) && c->reuse ? rl_archive_new((int)c->archive_cap, "", 0.0) : NULL;
    int** prompts = calloc_check(N, sizeof(int*));
    int* plens = calloc_check(N, sizeof(int));
    for (int i = 0; i < N; i++) prompts[i] = malloc_check((size_t)m->Tmax * sizeof(int));
    int* out = malloc_check((size_t)N * maxnew * sizeof(int));
    int* lens = malloc_check(N * sizeof(int));
    float* r = malloc_check(N * sizeof(float));
    float* A = malloc_check(N * sizeof(float));
    int* start = malloc_check(G * sizeof(int));
    char* text = malloc_check(4096);
    char metrics_path[4200];
    path_join(metrics_path, sizeof metrics_path, task_dir, "metrics.jsonl");
    SampleCfg sc = {c->temperature, (int)c->top_k, c->top_p};
    double reward_sum = 0;
    long updates = 0;    /* Adam updates taken: Adam's t (a step with no update does not count) */
    int rc = 0;
    long step0 = state_load(task_dir, res, &reward_sum, &updates, lo, mo, vo, &ar, m, err);
    if (step0 < 0) rc = -1;
    else if (jsonl_truncate_steps(metrics_path, step0, err)) rc = -1;
    for (long step = step0 + 1; rc == 0 && step <= c->ttt_steps; step++) {
        /* Start states: the bare prompt, or PUCT's picks from the archive. */
        for (int g = 0; g < G; g++) start[g] = 0;
        if (ar) rl_archive_select(ar, G, c->puct_c, start);
        for (int g = 0; g < G; g++) {
            const char* prev = ar ? rl_archive_text(ar, start[g]) : NULL;
            if (start[g] == 0 || !prev) snprintf(text, 4096, "%s", t->prompt);
            else if (task_refine_prompt(t, prev, rl_archive_reward(ar, start[g]), text, 4096) < 0) snprintf(text, 4096, "%s", t->prompt);
            int n = sample_encode_prompt(x.tok, x.cache, text, prompts[g * per], keep);
            for (int i = g * per; i < (g + 1) * per; i++) {
                if (i != g * per) memcpy(prompts[i], prompts[g * per], n * sizeof(int));
                plens[i] = n;
            }
        }
        Rng srng = rng_split(&trng, (uint64_t)step);
        if (lo) lo->enabled = 1;
        double tm = now_mono();
        sample_batch(m, (const int* const*)prompts, plens, N, maxnew, &sc, &srng, x.stop, out, lens);
        res->t_sample += now_mono() - tm;
        tm = now_mono();
        double step_max = -1, step_sum = 0;
        for (int i = 0; i < N; i++) {
            const int* ids = out + (size_t)i * maxnew;   /* scored and archived without its stop token */
            decode_text(&x, ids, sample_text_len(ids, lens[i], x.stop), text, 4096);
            r[i] = (float)task_score(t, text, strlen(text));
            step_sum += r[i];
            if (r[i] > step_max) step_max = r[i];
            if (r[i] > res->best_reward) {
                res->best_reward = r[i];
                /* Reported as JSON: bytes a verifier never accepts (non-ASCII,
                 * control) show as '?'; a rewarded solution is plain ASCII. */
                snprintf(res->best_solution, sizeof res->best_solution, "%s", text);
                for (char* q = res->best_solution; *q; q++)
                    if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e) *q = '?';
            }
            res->tokens += lens[i];
            json_array_append_new(res->rewards, json_real(r[i]));
            if (ar) rl_archive_expand(ar, start[i / per], text, r[i]);
        }
        res->t_score += now_mono() - tm;
        res->samples += N;
        reward_sum += step_sum;
        json_array_append_new(res->curve, json_pack("[I, f]", (json_int_t)res->samples, res->best_reward));
        json_t* row = json_pack("{s:I, s:I, s:f, s:f, s:f}", "step", (json_int_t)step, "samples", (json_int_t)res->samples,
                                "mean_reward", step_sum / N, "max_reward", step_max, "best_reward", res->best_reward);
        if (c->ttt) {
            /* Advantages per group; constant groups are dropped. */
            int used = 0;
            double beta_sum = 0;
            for (int g = 0; g < G; g++) {
                double b = 0;
                if (rl_group_advantages(r + g * per, per, c->entropic ? RL_OBJ_ENTROPIC : RL_OBJ_EXPECTED, c->beta,
                                        c->adaptive_beta, A + g * per, &b)) { used++; beta_sum += b; }
                else for (int i = g * per; i < (g + 1) * per; i++) A[i] = 0;
            }
            double loss = 0, kl = 0;
            if (c->lr > 0)    /* lr 0: sampling and scoring only, no update */
                ttt_update(m, lo, mo, vo, &updates, (const int* const*)prompts, plens, out, lens, N, maxnew, A, c, &loss, &kl, res);
            json_object_set_new(row, "groups_used", json_integer(used));
            json_object_set_new(row, "updates", json_integer(updates));
            json_object_set_new(row, "beta", json_real(used ? beta_sum / used : 0));
            json_object_set_new(row, "loss", json_real(loss));
            json_object_set_new(row, "kl", json_real(kl));
            if (step % c->adapter_every == 0 || step == c->ttt_steps) {
                double ti = now_mono();
                char d[4200], f[4300];
                snprintf(d, sizeof d, "%s/adapter_step_%ld", task_dir, step);
                if (mkdir_p(d, err)) { rc = -1; json_decref(row); break; }
                path_join(f, sizeof f, d, "lora.safetensors");
                if (lora_save(f, lo, m, step, err)) { rc = -1; json_decref(row); break; }
                res->t_io += now_mono() - ti;
            }
        }
        json_object_set_new(row, "tokens", json_integer(res->tokens));
        double ti = now_mono();
        if (json_append_line(metrics_path, row, err)) { rc = -1; json_decref(row); break; }
        int stop = fn && fn(ctx, step, row);
        if ((stop || step % c->adapter_every == 0) && step < c->ttt_steps &&
            state_save(task_dir, step, updates, res, reward_sum, lo, mo, vo, ar, m, err)) { rc = -1; break; }
        res->t_io += now_mono() - ti;
        if (stop) { rc = 1; break; }
    }
    res->mean_reward = res->samples ? reward_sum / res->samples : 0;
    res->seconds = now_mono() - t0;
    if (res->best_reward < 0) res->best_reward = 0;
    for (int i = 0; i < N; i++) free(prompts[i]);
    free(prompts); free(plens); free(out); free(lens); free(r); free(A); free(start); free(text);
    free(x.stop);
    tok_cache_free(x.cache);
    rl_archive_free(ar);
    if (lo) { m->lora = NULL; m->train_base = 1; lo->k->release(mo); lo->k->release(vo); lora_free(lo); }
    return rc;
}
