/* ttt: each step of a discovery task (lib/algo/ttt.c) on a real small model and tokenizer:
 * start states from the archive, sampling from the task stream, scoring against the
 * verifier, group advantages, the policy-gradient step (its loss and mean d against an
 * unpadded recomputation, its AdamW step with the config's constants), the step record
 * (metrics, adapters, resume state), and a stopped-then-resumed task equal to one run
 * straight through. */
#include "check.h"
#include "lifecycle.h"
#include "optim.h"
#include "specs.h"
#include "ttt.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static Tokenizer* tok;
static Model m;
static Task task;
static char dir[] = "/tmp/ddttt.XXXXXX";


/* A byte-level BPE trained on task prompts and attempts, a random-init model of its
 * vocabulary, and one task with an attempt the verifier rewards. */
static void setup(char* rewarded, size_t cap) {
    char err[ERR_LEN], text[4096];
    size_t n = 0, tcap = 1 << 18;
    char* corpus = malloc_check(tcap);
    Rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < 60; i++) {
        Task t;
        task_generate(&r, i % TASK_N_FAMILIES, 1 + i % 3, &t);
        task_attempt(&t, &r, text, sizeof text);
        n += snprintf(corpus + n, tcap - n, "%s\n%s\n", t.prompt, text);
    }
    tok = tok_train(corpus, n, 320, NULL, NULL, err);
    free(corpus);
    if (!tok) { fprintf(stderr, "tok_train: %s\n", err); exit(1); }
    ModelConfig c;
    cfg_defaults(MODEL_OPTS, &c, err);
    c.d_model = 32; c.n_layers = 2; c.n_heads = 2; c.seq_len = 96; c.vocab_size = tok_vocab_size(tok);
    c.mhc = json_pack("{s:i}", "n", 0);
    if (model_config_validate(&c, "test", err)) { fprintf(stderr, "%s\n", err); exit(1); }
    model_build(&m, &c, 3);
    for (int k = 0; k < 10000; k++) {   /* a task and an attempt with a reward in (0, 1] */
        task_generate(&r, TASK_REACH, 1, &task);
        task_attempt(&task, &r, rewarded, cap);
        if (task_score(&task, rewarded, strlen(rewarded)) > 0) return;
    }
    fprintf(stderr, "no rewarded attempt\n");
    exit(1);
}

static TttCfg cfg(void) {
    TttCfg c = {0};
    c.ttt = 1; c.reuse = 1; c.entropic = 1; c.adaptive_beta = 1;
    c.ttt_steps = 3; c.rollouts = 4; c.groups_per_step = 2; c.max_new_tokens = 8;
    c.beta = 2; c.kl_lambda = 0.3; c.lr = 1e-2; c.lora_rank = 2; c.lora_alpha = 4;
    c.adam_beta1 = 0.9; c.adam_beta2 = 0.95; c.adam_eps = 1e-8; c.weight_decay = 0;
    c.temperature = 1; c.top_p = 1; c.archive_cap = 16; c.adapter_every = 2; c.puct_c = 1;
    return c;
}

static int encoded_is(const TttTask* s, int i, const char* text) {
    int ids[256];
    int n = sample_encode_prompt(tok, NULL, text, ids, s->keep);
    return s->b.plens[i] == n && !memcmp(s->b.prompts[i], ids, n * sizeof(int));
}

static void test_choose_starts(void) {
    TttCfg c = cfg();
    TttTask s;
    TaskResult res;
    ttt_task_open(&s, &m, tok, &task, &c, 1, &res);
    ttt_choose_starts(&s);
    int ok = s.start[0] == 0 && s.start[1] == 0;
    for (int i = 0; i < 4; i++) ok &= encoded_is(&s, i, task.prompt);
    CHECK("choose_starts: a seed-only archive gives every group the bare prompt", ok, "starts %d %d", s.start[0], s.start[1]);
    int child = rl_archive_expand(s.ar, 0, "an earlier attempt", 0.5);
    ttt_choose_starts(&s);
    char refine[TTT_TEXT];
    task_refine_prompt(&task, "an earlier attempt", 0.5, refine, sizeof refine);
    ok = (s.start[0] == child) + (s.start[1] == child) >= 1;
    for (int i = 0; i < 4; i++) ok &= encoded_is(&s, i, s.start[i / 2] == child ? refine : task.prompt);
    CHECK("choose_starts: PUCT's pick starts from its refinement prompt, one prompt per group", ok,
          "starts %d %d (child %d)", s.start[0], s.start[1], child);
    ttt_task_close(&s, &m);
    json_decref(res.curve); json_decref(res.rewards);
}

static void test_sample(void) {
    TttCfg c = cfg();
    TttTask s;
    TaskResult res;
    ttt_task_open(&s, &m, tok, &task, &c, 1, &res);
    ttt_choose_starts(&s);
    int N = s.b.N, G = s.b.maxnew, out[4 * 8], lens[4], again[4 * 8];
    ttt_sample(&s, &m, 2, &res);
    memcpy(out, s.b.out, sizeof out);
    memcpy(lens, s.b.lens, sizeof lens);
    Rng step2 = rng_split(&s.rng, 2);
    SampleCfg sc = {1.0, 0, 1.0};
    sample_batch(&m, (const int* const*)s.b.prompts, s.b.plens, N, G, &sc, &step2, s.stop, again, s.b.lens);
    int ok = !memcmp(out, again, sizeof out);
    for (int i = 0; i < N; i++) ok &= lens[i] >= 1 && lens[i] <= G;
    CHECK("sample: step s draws from rng_split(task stream, s), adapter on", ok && !memcmp(lens, s.b.lens, sizeof lens), "differs");
    ttt_sample(&s, &m, 3, &res);
    CHECK("sample: another step, other completions", memcmp(out, s.b.out, sizeof out) != 0, "same");
    ttt_task_close(&s, &m);
    json_decref(res.curve); json_decref(res.rewards);
}

static void test_score(const char* rewarded) {
    TttCfg c = cfg();
    TttTask s;
    TaskResult res;
    ttt_task_open(&s, &m, tok, &task, &c, 1, &res);
    ttt_choose_starts(&s);
    ttt_sample(&s, &m, 1, &res);
    /* completion 1 is the rewarded attempt, without a stop token */
    uint32_t ids[64];
    size_t n = tok_encode(tok, NULL, rewarded, strlen(rewarded), ids);
    if (n > (size_t)s.b.maxnew) n = s.b.maxnew;
    for (size_t j = 0; j < n; j++) s.b.out[s.b.maxnew + j] = (int)ids[j];
    s.b.lens[1] = (int)n;
    long total = rl_archive_total(s.ar), tokens = 0;
    ttt_score(&s, &res);
    int ok = 1;
    double best = -1, sum = 0;
    for (int i = 0; i < s.b.N; i++) {
        char text[TTT_TEXT];
        uint32_t u[64];
        int k = sample_text_len(s.b.out + i * s.b.maxnew, s.b.lens[i], s.stop);
        for (int j = 0; j < k; j++) u[j] = (uint32_t)s.b.out[i * s.b.maxnew + j];
        text[tok_decode(tok, u, k, text, sizeof text - 1)] = 0;
        float want = (float)task_score(&task, text, strlen(text));
        ok &= s.r[i] == want && json_real_value(json_array_get(res.rewards, i)) == want;
        best = fmax(best, want);
        sum += want;
        tokens += s.b.lens[i];
    }
    CHECK("score: each completion's verifier reward, without its stop token", ok && s.r[1] > 0, "r %g %g", s.r[0], s.r[1]);
    json_t* pt = json_array_get(res.curve, 0);
    CHECK("score: best, samples, tokens, the curve and the step's sum and max",
          res.best_reward == best && res.samples == 4 && res.tokens == tokens && json_array_size(res.curve) == 1 &&
          json_integer_value(json_array_get(pt, 0)) == 4 && json_real_value(json_array_get(pt, 1)) == best &&
          s.step_sum == sum && s.step_max == best && s.reward_sum == sum && res.best_solution[0],
          "best %g samples %ld tokens %ld", res.best_reward, res.samples, res.tokens);
    CHECK("score: every completion expands its group's start in the archive", rl_archive_total(s.ar) == total + 4 &&
          rl_archive_size(s.ar) >= 2, "T %ld -> %ld", total, rl_archive_total(s.ar));
    ttt_task_close(&s, &m);
    json_decref(res.curve); json_decref(res.rewards);
}

static void test_advantages(void) {
    TttCfg c = cfg();
    TttTask s;
    TaskResult res;
    ttt_task_open(&s, &m, tok, &task, &c, 1, &res);
    float r[4] = {0.5f, 0.5f, 0.25f, 1.0f}, want[2];
    memcpy(s.r, r, sizeof r);
    s.A[0] = s.A[1] = 7;
    double beta;
    rl_group_advantages(r + 2, 2, RL_OBJ_ENTROPIC, 2, 1, want, &beta);
    ttt_advantages(&s);
    CHECK("advantages: a constant group is dropped (A 0), the other gets rl_group_advantages",
          s.A[0] == 0 && s.A[1] == 0 && s.A[2] == want[0] && s.A[3] == want[1] && s.groups_used == 1 && s.beta_sum == beta,
          "A %g %g %g %g, used %d", s.A[0], s.A[1], s.A[2], s.A[3], s.groups_used);
    ttt_task_close(&s, &m);
    json_decref(res.curve); json_decref(res.rewards);
}

/* Row i's sum over its completion tokens of -log p, adapter on or off, unpadded. */
static void row_losses(const TttBatch* b, int i, Lora* lo, int on, float* nll) {
    int L = b->plens[i] + b->lens[i], in[128], tg[128];
    for (int p = 0; p < L - 1; p++) {
        in[p] = p < b->plens[i] ? b->prompts[i][p] : b->out[i * b->maxnew + p - b->plens[i]];
        tg[p] = p + 1 < b->plens[i] ? -1 : b->out[i * b->maxnew + p + 1 - b->plens[i]];
    }
    lo->enabled = on;
    model_forward(&m, in, tg, 1, L - 1);
    memcpy(nll, model_losses(&m) + b->plens[i] - 1, b->lens[i] * sizeof(float));
}

static void test_pg_step(void) {
    TttCfg c = cfg();
    c.adam_beta1 = 0.8; c.adam_beta2 = 0.9; c.adam_eps = 1e-6; c.weight_decay = 0.1;
    TttTask s;
    TaskResult res;
    ttt_task_open(&s, &m, tok, &task, &c, 1, &res);
    Lora* lo = s.ad.lo;
    Rng r;
    rng_seed(&r, 9);
    for (size_t i = 0; i < lo->num_params; i++) lo->params[i] += (float)(0.05 * rng_normal(&r));   /* B != 0: d != 0 */
    ttt_choose_starts(&s);
    ttt_sample(&s, &m, 1, &res);
    size_t bytes = lo->num_params * sizeof(float);
    float* p0 = malloc_check(bytes);
    memcpy(p0, lo->params, bytes);
    double loss, kl;
    float zero[4] = {0};
    int rc = ttt_pg_step(&m, &s.ad, &s.b, zero, &c, &loss, &kl, &res);
    CHECK("pg_step: no advantage, no update", rc == 0 && s.ad.updates == 0 && loss == 0 && kl == 0 && !memcmp(p0, lo->params, bytes),
          "rc %d updates %ld", rc, s.ad.updates);

    /* The loss from each trained row alone (no padding), shaping by hand in double. */
    float A[4] = {0.7f, 0, -0.4f, 0.2f};   /* row 1 is left out */
    float nll[3][64], base[3][64];
    int rows[3] = {0, 2, 3}, ntok = 0;
    double dsum = 0;
    for (int k = 0; k < 3; k++) {
        row_losses(&s.b, rows[k], lo, 0, base[k]);
        row_losses(&s.b, rows[k], lo, 1, nll[k]);
        for (int t = 0; t < s.b.lens[rows[k]]; t++) { dsum += (double)base[k][t] - nll[k][t]; ntok++; }
    }
    double dmean = dsum / ntok, want = 0;
    for (int k = 0; k < 3; k++)
        for (int t = 0; t < s.b.lens[rows[k]]; t++)
            want += (A[rows[k]] + c.kl_lambda * (dmean - ((double)base[k][t] - nll[k][t]))) * nll[k][t] / 3;
    rc = ttt_pg_step(&m, &s.ad, &s.b, A, &c, &loss, &kl, &res);
    CHECK("pg_step: loss sum_t A_t CE_t / rows and mean d, against each row alone",
          rc == 1 && s.ad.updates == 1 && fabs(loss - want) < 1e-5 * fmax(1, fabs(want)) && fabs(kl - dmean) < 1e-6 && kl != 0,
          "rc %d loss %.9g want %.9g, kl %.9g want %.9g", rc, loss, want, kl, dmean);
    /* AdamW at t = 1 from zero moments, with the config's constants (kernels/cpu: adamw_update). */
    float b1 = (float)c.adam_beta1, b2 = (float)c.adam_beta2, eps = (float)c.adam_eps, lr = (float)c.lr;
    float step_size = (float)(lr / (1.0 - pow(b1, 1))), bc2 = (float)sqrt(1.0 - pow(b2, 1));
    float decay = 1.0f - lr * (float)c.weight_decay;
    int same = 1;
    for (size_t i = 0; i < lo->num_params; i++) {
        float g = lo->grads[i], mi = 0 * b1 + g * (1.0f - b1), vi = 0 * b2 + g * g * (1.0f - b2);
        float p = p0[i] * decay - step_size * mi / (sqrtf(vi) / bc2 + eps);
        same &= p == lo->params[i];
    }
    CHECK("pg_step: one AdamW step with the config's betas, eps and weight decay", same, "params differ");
    TttArgs a;
    char err[ERR_LEN];
    cfg_defaults(TTT_OPTS, &a, err);
    CHECK("pg_step: the config's defaults are the former constants as floats", (float)a.adam_beta1 == 0.9f &&
          (float)a.adam_beta2 == 0.95f && (float)a.adam_eps == 1e-8f && (float)a.weight_decay == 0.0f, "%g %g %g %g",
          a.adam_beta1, a.adam_beta2, a.adam_eps, a.weight_decay);
    free(p0);
    ttt_task_close(&s, &m);
    json_decref(res.curve); json_decref(res.rewards);
}

static long rows_step;   /* the step of the last row stop_at got */
static int stop_at(void* ctx, long step, json_t* row) {
    rows_step = json_integer_value(json_object_get(row, "step"));
    json_decref(row);
    return step == *(const long*)ctx;
}

static int lines(const char* path) {
    char err[ERR_LEN];
    size_t len;
    char* s = path_exists(path) ? read_file(path, &len, err) : NULL;
    int n = 0;
    for (size_t i = 0; s && i < len; i++) n += s[i] == '\n';
    free(s);
    return n;
}

static void test_record(void) {
    TttCfg c = cfg();
    TttTask s;
    TaskResult res;
    char d[4200], p[4400], err[ERR_LEN];
    snprintf(d, sizeof d, "%s/record", dir);
    mkdir_p(d, err);
    ttt_task_open(&s, &m, tok, &task, &c, 1, &res);
    int rc[3];
    for (long step = 1; step <= 3; step++) {
        ttt_choose_starts(&s);
        ttt_sample(&s, &m, step, &res);
        ttt_score(&s, &res);
        long two = 2;
        rc[step - 1] = ttt_record(&s, &m, step, d, step == 3 ? NULL : stop_at, &two, &res, err);
        if (step == 1) {
            snprintf(p, sizeof p, "%s/state", d);
            CHECK("record: step 1 writes a metrics row, no adapter, no state", rc[0] == 0 && rows_step == 1 && !path_exists(p) &&
                  lines(strcat(strcpy(p, d), "/metrics.jsonl")) == 1, "rc %d", rc[0]);
        }
    }
    snprintf(p, sizeof p, "%s/metrics.jsonl", d);
    char a2[4400], a3[4400], st[4400];
    snprintf(a2, sizeof a2, "%s/adapter_step_2/lora.safetensors", d);
    snprintf(a3, sizeof a3, "%s/adapter_step_3/lora.safetensors", d);
    snprintf(st, sizeof st, "%s/state/state.json", d);
    CHECK("record: adapters every adapter_every steps and at the last, state at step 2, fn's stop returned",
          rc[1] == 1 && rc[2] == 0 && rows_step == 2 && lines(p) == 3 && path_exists(a2) && path_exists(a3) && path_exists(st),
          "rc %d %d, %d lines", rc[1], rc[2], lines(p));
    json_t* row = NULL;
    char* text = read_file(p, &(size_t){0}, err);
    row = json_loads(strrchr(text, '{'), 0, NULL);
    free(text);
    const char* keys[] = {"step", "samples", "mean_reward", "max_reward", "best_reward", "groups_used", "updates", "beta",
                          "loss", "kl", "tokens"};
    int ok = json_object_size(row) == 11;
    for (int k = 0; k < 11; k++) ok &= json_object_get(row, keys[k]) != NULL;
    CHECK("record: the ttt row's keys", ok && json_integer_value(json_object_get(row, "tokens")) == res.tokens, "%zu keys",
          json_object_size(row));
    json_decref(row);
    ttt_task_close(&s, &m);
    json_decref(res.curve); json_decref(res.rewards);
    /* state/ holds step 2: a fresh task resumes there and cuts the metrics back to it */
    ttt_task_open(&s, &m, tok, &task, &c, 1, &res);
    long step0 = ttt_resume(&s, &m, d, &res, err);
    CHECK("record: ttt_resume continues after the saved step", step0 == 2 && res.samples == 8 && lines(p) == 2 &&
          json_array_size(res.rewards) == 8, "step0 %ld samples %ld lines %d (%s)", step0, res.samples, lines(p), err);
    ttt_task_close(&s, &m);
    json_decref(res.curve); json_decref(res.rewards);
}

static int same_file(const char* a, const char* b) {
    char err[ERR_LEN];
    size_t la, lb;
    char *x = read_file(a, &la, err), *y = read_file(b, &lb, err);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x); free(y);
    return same;
}

/* A few AdamW steps of the base model on prompt -> answer, so that its samples earn
 * rewards that differ within a group (and the task takes updates). */
static void teach(const char* answer, int maxnew) {
    int in[128], tg[128], n = sample_encode_prompt(tok, NULL, task.prompt, in, m.Tmax - maxnew);
    uint32_t ids[64];
    size_t k = tok_encode(tok, NULL, answer, strlen(answer), ids);
    for (size_t j = 0; j < k && n < m.Tmax; j++) in[n++] = (int)ids[j];
    if (n < m.Tmax) in[n++] = TOK_EOS;   /* a stop token ends it */
    for (int p = 0; p < n - 1; p++) tg[p] = in[p + 1];
    OptimCfg oc = {1e-2, 1, 0.9, 0.95, 1e-8, 0, 1, 0, 1};
    float* mo = calloc_check(m.num_params, sizeof(float));
    float* vo = calloc_check(m.num_params, sizeof(float));
    for (long t = 1; t <= 20; t++) {
        model_zero_grad(&m);
        model_forward(&m, in, tg, 1, n - 1);
        model_backward(&m, 1.0f);
        optim_step(&oc, &m, mo, vo, t, oc.lr);
    }
    free(mo); free(vo);
}

static void test_run_task_resume(const char* rewarded) {
    TttCfg c = cfg();
    c.rollouts = 8; c.groups_per_step = 2; c.ttt_steps = 4; c.max_new_tokens = 24;
    teach(rewarded, (int)c.max_new_tokens);
    char a[4200], b[4200], err[ERR_LEN], pa[4400], pb[4400];
    snprintf(a, sizeof a, "%s/straight", dir);
    snprintf(b, sizeof b, "%s/stopped", dir);
    mkdir_p(a, err);
    mkdir_p(b, err);
    TaskResult ra, rb;
    int rc1 = ttt_run_task(&m, tok, &task, &c, 4, a, NULL, NULL, &ra, err);
    long three = 3;
    int rc2 = ttt_run_task(&m, tok, &task, &c, 4, b, stop_at, &three, &rb, err);
    json_decref(rb.curve); json_decref(rb.rewards);
    int rc3 = ttt_run_task(&m, tok, &task, &c, 4, b, NULL, NULL, &rb, err);
    snprintf(pa, sizeof pa, "%s/metrics.jsonl", a);
    snprintf(pb, sizeof pb, "%s/metrics.jsonl", b);
    int same = same_file(pa, pb);
    snprintf(pa, sizeof pa, "%s/adapter_step_4/lora.safetensors", a);
    snprintf(pb, sizeof pb, "%s/adapter_step_4/lora.safetensors", b);
    same &= same_file(pa, pb);
    CHECK("run_task: stopped at step 3 and resumed equals straight through (metrics, adapter)",
          rc1 == 0 && rc2 == 1 && rc3 == 0 && same && ra.best_reward == rb.best_reward && ra.mean_reward == rb.mean_reward &&
          json_equal(ra.rewards, rb.rewards) && json_equal(ra.curve, rb.curve) && m.lora == NULL,
          "rc %d %d %d same %d (%s)", rc1, rc2, rc3, same, err);
    /* Only worth as much as the Adam state it carried over: updates before and after step 3. */
    snprintf(pa, sizeof pa, "%s/metrics.jsonl", a);
    char* text = read_file(pa, &(size_t){0}, err);
    long upd[4] = {0};
    char* line = text;
    for (int k = 0; k < 4 && line; k++) {
        json_t* row = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
        upd[k] = json_integer_value(json_object_get(row, "updates"));
        json_decref(row);
        line = strchr(line, '\n');
        if (line) line++;
    }
    free(text);
    CHECK("run_task: the task took updates before and after the stop", upd[2] >= 1 && upd[3] > upd[2],
          "updates %ld %ld %ld %ld", upd[0], upd[1], upd[2], upd[3]);
    json_decref(ra.curve); json_decref(ra.rewards); json_decref(rb.curve); json_decref(rb.rewards);
}

static int has(const char* const* keys, const char* k) {
    for (; *keys; keys++) if (!strcmp(*keys, k)) return 1;
    return 0;
}

static void test_cfg_from_args(void) {
    TttArgs a;
    TttCfg c;
    const char* key = NULL;
    char err[ERR_LEN];
    cfg_defaults(TTT_OPTS, &a, err);
    int rc = ttt_cfg_from_args(&a, &c, &key, err);
    CHECK("cfg_from_args: the defaults (ttt, entropic, lr auto as -1, alpha 2 x rank, Adam's constants)",
          rc == 0 && c.ttt && !c.search && c.entropic && c.lr == -1 && c.lora_alpha == 2.0 * a.lora_rank &&
          c.adam_beta1 == a.adam_beta1 && c.adam_eps == a.adam_eps && c.groups_per_step == a.groups_per_step, "%s", err);
    a.reuse = 0; a.groups_per_step = 4;
    ttt_cfg_from_args(&a, &c, &key, err);
    CHECK("cfg_from_args: reuse 0 is one group", c.groups_per_step == 1, "%ld", c.groups_per_step);
    struct { const char *mode, *objective, *lr; int reuse; long groups; const char* key; } bad[] = {
        {"sample", "entropic", "auto", 1, 1, "mode"}, {"search", "entropic", "auto", 0, 1, "reuse"},
        {"ttt", "greedy", "auto", 1, 1, "objective"}, {"ttt", "entropic", "auto", 1, 5, "groups_per_step"},
        {"ttt", "entropic", "auto", 1, 32, "groups_per_step"}, {"ttt", "entropic", "fast", 1, 1, "lr"},
        {"ttt", "entropic", "11", 1, 1, "lr"},
    };
    int refused = 0;
    for (int k = 0; k < 7; k++) {
        cfg_defaults(TTT_OPTS, &a, err);
        a.mode = bad[k].mode; a.objective = bad[k].objective; a.lr = bad[k].lr; a.reuse = bad[k].reuse;
        a.groups_per_step = bad[k].groups;
        key = NULL;
        refused += ttt_cfg_from_args(&a, &c, &key, err) == -1 && key && !strcmp(key, bad[k].key);
    }
    CHECK("cfg_from_args: what the suite refuses, naming the key", refused == 7, "%d of 7", refused);
    cfg_defaults(TTT_OPTS, &a, err);
    a.lr = "0.002"; a.mode = "bestofn";
    ttt_cfg_from_args(&a, &c, &key, err);
    const char* const* best = ttt_unread_keys(&c);
    a.mode = "search";
    ttt_cfg_from_args(&a, &c, &key, err);
    const char* const* search = ttt_unread_keys(&c);
    a.mode = "ttt";
    ttt_cfg_from_args(&a, &c, &key, err);
    const char* const* ttt = ttt_unread_keys(&c);
    CHECK("unread_keys: best-of-N reads no learning or archive key, search no learning key, ttt all",
          c.lr == 0.002 && has(best, "adam_beta1") && has(best, "puct_c") && has(search, "lr") && !has(search, "puct_c") &&
          !has(ttt, "lr") && !has(ttt, "adam_eps") && has(ttt, "tasks"), "lists");
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    char rewarded[TTT_TEXT];
    setup(rewarded, sizeof rewarded);
    test_cfg_from_args();
    test_choose_starts();
    test_sample();
    test_score(rewarded);
    test_advantages();
    test_pg_step();
    test_record();
    test_run_task_resume(rewarded);
    if (!getenv("KEEP")) life_rm_tree(dir);
    tok_free(tok);
    model_free(&m);
    return check_status();
}
