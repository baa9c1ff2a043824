/* sdft's loop (lib/algo/sdft.c) step by step on a real small model and tokenizer: the step's
 * prompts, sampling from the step's seed, the distillation loss, the AdamW and EMA update
 * (none without tokens), the gate (GREEN publishes, RED stops), the record and its resume
 * state, a fresh start, a paused-then-resumed run against one straight through, a RED
 * gate with on_red stop, and the report. */
#include "check.h"
#include "lifecycle.h"
#include "ckpt.h"
#include "json.h"
#include "sample.h"
#include "sdft.h"
#include "specs.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/ddsdft.XXXXXX";
static Tokenizer* tok;
static ModelConfig mc;
static float* init;          /* the models' starting weights */
static Demo demos[3];
static Task tasks[3];
static Bin val;

static void setup(void) {
    char err[ERR_LEN], text[4096], p[4200];
    size_t n = 0, cap = 1 << 18;
    char* corpus = malloc_check(cap);
    Rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < 60; i++) {
        Task t;
        task_generate(&r, i % TASK_N_FAMILIES, 1 + i % 3, &t);
        task_attempt(&t, &r, text, sizeof text);
        n += snprintf(corpus + n, cap - n, "%s\n%s\n", t.prompt, text);
        if (i < 3) {
            tasks[i] = t;
            demos[i].prompt = strdup_check(t.prompt);
            demos[i].demonstration = strdup_check(text);
            demos[i].reward = 1.0;
        }
    }
    tok = tok_train(corpus, n, 320, NULL, NULL, err);
    free(corpus);
    if (!tok) { fprintf(stderr, "tok_train: %s\n", err); exit(1); }
    cfg_defaults(MODEL_OPTS, &mc, err);
    mc.d_model = 32; mc.n_layers = 2; mc.n_heads = 2; mc.seq_len = 128; mc.vocab_size = tok_vocab_size(tok);
    mc.mhc = json_pack("{s:i}", "n", 0);
    if (model_config_validate(&mc, "test", err)) { fprintf(stderr, "%s\n", err); exit(1); }
    Model m;
    model_build(&m, &mc, 4);
    init = malloc_check(m.num_params * sizeof(float));
    memcpy(init, m.params, m.num_params * sizeof(float));
    json_incref(mc.mhc);
    model_free(&m);
    BinWriter w;   /* the gate's val tokens */
    snprintf(p, sizeof p, "%s/val.bin", dir);
    uint32_t ids[2000];
    for (int i = 0; i < 2000; i++) ids[i] = rng_below(&r, (uint32_t)mc.vocab_size);
    if (bin_writer_open(&w, p, mc.vocab_size, err) || bin_writer_put(&w, ids, 2000, err) || bin_writer_commit(&w, err) ||
        bin_open(&val, p, err)) { fprintf(stderr, "%s\n", err); exit(1); }
}

static SdftArgs args(const char* out) {
    SdftArgs a;
    char err[ERR_LEN];
    cfg_defaults(SDFT_OPTS, &a, err);
    a.out = strdup_check(out);
    a.steps = 4; a.gate_every = 2; a.gate_val_seq_len = 16; a.gate_val_bs = 2; a.gate_val_batches = 2;
    a.max_new_tokens = 8; a.demos_per_step = 2; a.best_of_k = 2; a.lr = 1e-3; a.seed = 5;
    return a;
}

static void models(Model* S, Model* T) {
    json_incref(mc.mhc);   /* each model_free drops one reference to the config's JSON */
    json_incref(mc.mhc);
    model_build(S, &mc, 0);
    model_build(T, &mc, 0);
    memcpy(S->params, init, S->num_params * sizeof(float));
    memcpy(T->params, init, T->num_params * sizeof(float));
}

static Gate* gates_of(const char* spec, int* n) {
    json_error_t je;
    json_t* j = json_loads(spec, 0, &je);
    Gate* g;
    char err[ERR_LEN];
    if (gates_parse(j, "test", &g, n, err)) { fprintf(stderr, "%s\n", err); exit(1); }
    json_decref(j);
    return g;
}

static int encoded_is(const int* ids, int n, const char* text, int keep) {
    int want[256];
    int k = sample_encode_prompt(tok, NULL, text, want, keep);
    return n == k && !memcmp(ids, want, k * sizeof(int));
}

static void test_steps(void) {
    char out[4200], err[ERR_LEN], p[4400];
    snprintf(out, sizeof out, "%s/steps", dir);
    SdftArgs a = args(out);
    Model S, T;
    models(&S, &T);
    SdftRun r;
    sdft_run_open(&r, &a, &S, &T, tok, demos, tasks, 3, &val);
    int rc = sdft_begin(&r, err);
    snprintf(p, sizeof p, "%s/sdft_step_0000000/model.safetensors", out);
    CHECK("begin: fresh, base ppl measured, the base published as step 0", rc == 0 && r.step == 0 && r.base_ppl > 1 &&
          path_exists(p) && !memcmp(S.params, T.params, S.num_params * sizeof(float)), "rc %d ppl %g (%s)", rc, r.base_ppl, err);

    r.step = 1;   /* demonstrations 2, 0 */
    sdft_prompts(&r);
    char teach[4096];
    task_demo_prompt(&tasks[2], demos[2].demonstration, demos[2].reward, teach, sizeof teach);
    int keep = S.Tmax - r.maxnew;
    CHECK("prompts: step s takes demonstrations s*N + j mod nd; student the task, teacher the demonstration first",
          encoded_is(r.sp[0], r.spl[0], demos[2].prompt, keep) && encoded_is(r.sp[1], r.spl[1], demos[0].prompt, keep) &&
          encoded_is(r.tp[0], r.tpl[0], teach, keep) && r.tpl[0] > r.spl[0], "prompts differ");
    r.step = 0;

    sdft_prompts(&r);
    sdft_sample(&r);
    int again[2 * 8], lens[2];
    SampleCfg sc = {a.temperature, 0, 1.0};
    Rng rng;
    rng_seed(&rng, (uint64_t)a.seed * 1000003 + 0);
    sample_batch(&S, (const int* const*)r.sp, r.spl, 2, 8, &sc, &rng, r.stop, again, lens);
    CHECK("sample: one completion per demonstration from seed x 1000003 + step", !memcmp(again, r.out, sizeof again) &&
          !memcmp(lens, r.lens, sizeof lens), "differs");

    /* sdft_distill: the mean over completion tokens of KL(S || T), each row alone here */
    double sum = 0;
    int ntoks = 0;
    for (int j = 0; j < r.N; j++) {
        int si[128], ti[128], ls = r.spl[j] + r.lens[j], lt = r.tpl[j] + r.lens[j];
        memcpy(si, r.sp[j], r.spl[j] * sizeof(int));
        memcpy(ti, r.tp[j], r.tpl[j] * sizeof(int));
        memcpy(si + r.spl[j], r.out + j * r.maxnew, r.lens[j] * sizeof(int));
        memcpy(ti + r.tpl[j], r.out + j * r.maxnew, r.lens[j] * sizeof(int));
        model_forward(&S, si, NULL, 1, ls);
        float* zs = malloc_check((size_t)ls * S.V * sizeof(float));
        memcpy(zs, model_logits(&S), (size_t)ls * S.V * sizeof(float));
        model_forward(&T, ti, NULL, 1, lt);
        const float* zt = model_logits(&T);
        for (int i = 0; i < r.lens[j]; i++, ntoks++)
            sum += sdft_kl(zs + (size_t)(r.spl[j] - 1 + i) * S.V, zt + (size_t)(r.tpl[j] - 1 + i) * S.V, S.V, NULL, 0);
        free(zs);
    }
    double kl = sdft_distill(&S, &T, r.N, r.sp, r.spl, r.tp, r.tpl, r.out, r.lens, r.maxnew);
    CHECK("distill: the mean over completion tokens of KL(student || teacher), the teacher on the demonstration prompt",
          ntoks > 0 && fabs(kl - sum / ntoks) < 1e-5 * fmax(1, kl) && kl > 0, "kl %.9g want %.9g", kl, sum / ntoks);

    size_t bytes = S.num_params * sizeof(float);
    float *s0 = malloc_check(bytes), *t0 = malloc_check(bytes);
    memcpy(s0, S.params, bytes);
    memcpy(t0, T.params, bytes);
    int saved[2] = {r.lens[0], r.lens[1]};
    r.lens[0] = r.lens[1] = 0;
    double lr;
    int ntok = sdft_update(&r, &lr);
    CHECK("update: no tokens, no update (Adam's t unchanged), the step counted", ntok == 0 && r.updates == 0 && r.step == 1 &&
          !memcmp(s0, S.params, bytes) && !memcmp(t0, T.params, bytes), "ntok %d updates %ld", ntok, r.updates);
    r.step = 0;
    r.lens[0] = saved[0]; r.lens[1] = saved[1];
    sdft_distill(&S, &T, r.N, r.sp, r.spl, r.tp, r.tpl, r.out, r.lens, r.maxnew);
    ntok = sdft_update(&r, &lr);
    double worst = 0;
    for (size_t i = 0; i < S.num_params; i++)
        worst = fmax(worst, fabs(T.params[i] - (a.ema * t0[i] + (1 - a.ema) * S.params[i])));
    CHECK("update: one AdamW step at the schedule's lr, then the teacher's EMA", ntok == saved[0] + saved[1] && r.updates == 1 &&
          r.step == 1 && lr == lr_at(&r.oc, 0) && memcmp(s0, S.params, bytes) != 0 && worst < 1e-6, "updates %ld, ema off by %g",
          r.updates, worst);

    int ng;
    Gate* g = gates_of("[{\"metric\": \"val_ppl_rel_delta\", \"green\": \"<=100\"}]", &ng);
    r.step = 2;
    json_t* row = json_pack("{s:I}", "step", (json_int_t)2), *recs = json_array();
    GateVerdict v;
    OnRed on_red;
    rc = sdft_gate(&r, g, ng, row, recs, &v, &on_red, err);
    double ppl = sdft_val_ppl(&S, &val, 2, 16, 2);
    snprintf(p, sizeof p, "%s/sdft_step_0000002/model.safetensors", out);
    CHECK("gate: GREEN publishes sdft_step_N; val ppl and its change from the base in the row", rc == 0 && v == GATE_GREEN &&
          r.last_pass == 2 && path_exists(p) && jget_num(row, "val_ppl", 0) == ppl &&
          jget_num(row, "val_ppl_rel_delta", 0) == ppl / r.base_ppl - 1 && !strcmp(jget_str(row, "gate", ""), "GREEN") &&
          json_array_size(recs) == 1 && json_array_size(r.verdicts) == 1, "rc %d v %d (%s)", rc, (int)v, err);
    rc = sdft_record(&r, row, 0, err);
    snprintf(p, sizeof p, "%s/_resume", out);
    long st[4];
    CHECK("record: the row, and the resume state at a gate step", rc == 0 && life_steps(p, "state", st, 4) == 1 && st[0] == 2 &&
          life_steps(p, "teacher", st, 4) == 1, "rc %d (%s)", rc, err);
    free(g);
    g = gates_of("[{\"metric\": \"val_ppl_rel_delta\", \"green\": \"<=-1\", \"on_red\": \"stop\"}]", &ng);
    r.step = 3;
    json_object_set_new(row, "step", json_integer(3));
    rc = sdft_gate(&r, g, ng, row, recs, &v, &on_red, err);
    snprintf(p, sizeof p, "%s/sdft_step_0000003", out);
    CHECK("gate: RED stops training and publishes nothing", rc == 0 && v == GATE_RED && on_red == ON_RED_STOP && r.stopped &&
          r.red_step == 3 && r.last_pass == 2 && !path_exists(p) && json_array_size(r.verdicts) == 2, "v %d", (int)v);
    snprintf(p, sizeof p, "%s/_resume", out);
    rc = sdft_record(&r, row, 1, err);
    CHECK("record: no resume state once stopped", rc == 0 && life_steps(p, "state", st, 4) == 1, "states %d", life_steps(p, "state", st, 4));
    json_decref(row);
    json_decref(recs);
    free(g);
    free(s0); free(t0);
    sdft_run_close(&r);
    model_free(&S); model_free(&T);
}

static long pause_at;
static int on_step(void* ctx, const SdftRun* r, const json_t* row, const json_t* records) {
    (void)ctx; (void)row; (void)records;
    return r->step == pause_at;
}

static int same_file(const char* a, const char* b) {
    char err[ERR_LEN];
    size_t la, lb;
    char *x = read_file(a, &la, err), *y = read_file(b, &lb, err);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x); free(y);
    return same;
}

/* A whole run into dir/name, paused at step `pause` (0: never) and continued. */
static int run(const char* name, const char* gates, long pause, SdftRun* keep, char err[ERR_LEN]) {
    char out[4200];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    SdftArgs a = args(out);
    int ng, rc = -1;
    Gate* g = gates_of(gates, &ng);
    for (int pass = 0; pass < 2; pass++) {
        Model S, T;
        models(&S, &T);
        SdftRun r;
        sdft_run_open(&r, &a, &S, &T, tok, demos, tasks, 3, &val);
        pause_at = pass ? 0 : pause;
        rc = sdft_begin(&r, err);
        if (rc == (pass ? 1 : 0)) rc = sdft_train(&r, g, ng, on_step, NULL, err);
        else rc = -1;
        if (rc == 0) rc = sdft_finish(&r, err);
        if (keep) { *keep = r; keep->verdicts = json_incref(r.verdicts); }
        sdft_run_close(&r);
        model_free(&S); model_free(&T);
        if (rc != 1) break;
    }
    free(g);
    return rc;
}

static void test_train(void) {
    char err[ERR_LEN], a[4400], b[4400];
    const char* green = "[{\"metric\": \"val_ppl_rel_delta\", \"green\": \"<=100\"}]";
    SdftRun r;
    int rc1 = run("straight", green, 0, &r, err);
    snprintf(a, sizeof a, "%s/straight/sdft_eval_report.json", dir);
    json_t* rep = json_load_path(a, err);
    CHECK("finish: the report (base and final ppl, verdicts, the published step)", rc1 == 0 && rep && r.step == 4 &&
          jget_int(rep, "published_step", -1) == 4 && jget_num(rep, "final_val_ppl", 0) == r.final_ppl &&
          json_array_size(json_object_get(rep, "gate_verdicts")) == 2 && jget_int(rep, "red_step", 0) == -1 &&
          jget_num(rep, "steps_done", 0) == 4, "rc %d (%s)", rc1, err);
    json_decref(rep);
    json_decref(r.verdicts);
    int rc2 = run("paused", green, 1, NULL, err);   /* paused at step 1: no gate yet, the state of step 1 */
    int same = 1;
    const char* files[] = {"metrics.jsonl", "sdft_step_0000004/model.safetensors", "sdft_step_0000002/model.safetensors"};
    for (int k = 0; k < 3; k++) {
        snprintf(a, sizeof a, "%s/straight/%s", dir, files[k]);
        snprintf(b, sizeof b, "%s/paused/%s", dir, files[k]);
        same &= same_file(a, b);
    }
    CHECK("train: paused at step 1 and resumed equals straight through (metrics, published weights)", rc2 == 0 && same,
          "rc %d same %d (%s)", rc2, same, err);
    int rc3 = run("gated", "[{\"metric\": \"val_ppl_rel_delta\", \"green\": \"<=-1\", \"on_red\": \"stop\"}]", 0, &r, err);
    snprintf(a, sizeof a, "%s/gated/metrics.jsonl", dir);
    char* text = read_file(a, &(size_t){0}, err);
    CHECK("train: RED with on_red stop returns 2 after writing the gate's row", rc3 == 2 && r.step == 2 && r.red_step == 2 &&
          text && strstr(text, "\"gate\":\"RED\""), "rc %d step %ld", rc3, r.step);
    free(text);
    json_decref(r.verdicts);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    setup();
    test_steps();
    test_train();
    if (!getenv("KEEP")) life_rm_tree(dir);
    bin_close(&val);
    tok_free(tok);
    free(init);
    return check_status();
}
