/* pipeline: see pipeline.h. */
#include "pipeline.h"
#include <stddef.h>
#include <string.h>

const Opt PIPELINE_OPTS[] = {
    {"tokenizer_name", OPT_STR, offsetof(PipelineCfg, tokenizer_name), "bpe", OPT_RANGE_NONE, "tokenizer file prefix under data/tokenizer/"},
    {"model", OPT_STR, offsetof(PipelineCfg, model), "configs/model/tiny.yaml", OPT_RANGE_NONE, "model config of the base pretrain run"},
    {"model_nomhc", OPT_STR, offsetof(PipelineCfg, model_nomhc), "configs/model/tiny_nomhc.yaml", OPT_RANGE_NONE, "model config of the mHC-off ablation"},
    {"pretrain_run", OPT_STR, offsetof(PipelineCfg, pretrain_run), "pretrain_base", OPT_RANGE_NONE, "run name of the base pretrain"},
    {"pretrain_nomhc_run", OPT_STR, offsetof(PipelineCfg, pretrain_nomhc_run), "pretrain_nomhc", OPT_RANGE_NONE, "run name of the mHC-off pretrain"},
    {"sdft_run", OPT_STR, offsetof(PipelineCfg, sdft_run), "sdft_from_ttt", OPT_RANGE_NONE, "run name of the SDFT consolidation"},
    {"sdft_bestofn_run", OPT_STR, offsetof(PipelineCfg, sdft_bestofn_run), "sdft_bestofn", OPT_RANGE_NONE, "prefix of the E1 best-of-N runs"},
    {"seeds", OPT_JSON, offsetof(PipelineCfg, seeds), "[0, 1]", OPT_RANGE_NONE,
     "seeds of base best-of-N, search, TTT main and SDFT best-of-N, e.g. [0, 1, 2]"},
    {"ablation_seeds", OPT_JSON, offsetof(PipelineCfg, ablation_seeds), "[0]", OPT_RANGE_NONE, "seeds of the ablations (a subset of seeds)"},
    {"primary", OPT_JSON, offsetof(PipelineCfg, primary),
     "{\"x\": \"ttt_main\", \"y\": \"base_bestofn\", \"metric\": \"best_reward\", \"split\": \"heldout\"}", OPT_RANGE_NONE,
     "the primary comparison {x, y, metric: best_reward|mean_reward, split: heldout}; the rest are secondary"},
    {0},
};

const char* const PIPELINE_METHODS[PIPELINE_NMETHODS] = {"base_bestofn", "search", "ttt_main", "sdft_bestofn",
                                                         "ttt_reuse0", "ttt_adapt0", "ttt_kl0", "ttt_expected"};

static int seed_list(const json_t* v, const char* key, long* out, int* n, char err[ERR_LEN]) {
    *n = 0;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > PIPE_MAX_SEEDS) {
        snprintf(err, ERR_LEN, "pipeline.%s: expected a list of 1 to %d seeds, e.g. [0, 1]", key, PIPE_MAX_SEEDS);
        return -1;
    }
    size_t i;
    json_t* s;
    json_array_foreach(v, i, s) {
        if (!json_is_integer(s) || json_integer_value(s) < 0 || json_integer_value(s) > 1000000) {
            snprintf(err, ERR_LEN, "pipeline.%s[%zu]: expected an integer seed in [0, 1000000]", key, i);
            return -1;
        }
        for (int k = 0; k < *n; k++)
            if (out[k] == json_integer_value(s)) {
                snprintf(err, ERR_LEN, "pipeline.%s: seed %ld listed twice", key, out[k]);
                return -1;
            }
        out[(*n)++] = (long)json_integer_value(s);
    }
    return 0;
}

static int method_of(const json_t* primary, const char* key, int* out, char err[ERR_LEN]) {
    const char* m = json_string_value(json_object_get(primary, key));
    for (int i = 0; m && i < PIPELINE_NMETHODS; i++) if (!strcmp(m, PIPELINE_METHODS[i])) { *out = i; return 0; }
    char names[256] = "";
    for (int i = 0; i < PIPELINE_NMETHODS; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", PIPELINE_METHODS[i]);
    snprintf(err, ERR_LEN, "pipeline.primary.%s: expected one of %s, got %s", key, names, m ? m : "nothing");
    return -1;
}

int pipeline_plan(const PipelineCfg* p, PipelinePlan* plan, char err[ERR_LEN]) {
    memset(plan, 0, sizeof *plan);
    if (seed_list(p->seeds, "seeds", plan->seeds, &plan->nseeds, err) ||
        seed_list(p->ablation_seeds, "ablation_seeds", plan->abl, &plan->nabl, err))
        return -1;
    for (int i = 0; i < plan->nabl; i++) {
        int in = 0;
        for (int k = 0; k < plan->nseeds; k++) in |= plan->seeds[k] == plan->abl[i];
        if (!in) {
            snprintf(err, ERR_LEN, "pipeline.ablation_seeds: seed %ld is not in seeds (ablations are compared with the main runs "
                     "of the same seed)", plan->abl[i]);
            return -1;
        }
    }
    const json_t* pr = p->primary;
    if (!json_is_object(pr)) { snprintf(err, ERR_LEN, "pipeline.primary: expected a mapping {x, y, metric, split}"); return -1; }
    const char* key;
    json_t* v;
    json_object_foreach((json_t*)pr, key, v)
        if (strcmp(key, "x") && strcmp(key, "y") && strcmp(key, "metric") && strcmp(key, "split")) {
            snprintf(err, ERR_LEN, "pipeline.primary: unknown key '%s' (expected x, y, metric, split)", key);
            return -1;
        }
    if (method_of(pr, "x", &plan->x, err) || method_of(pr, "y", &plan->y, err)) return -1;
    if (plan->x == plan->y) { snprintf(err, ERR_LEN, "pipeline.primary: x and y are both %s", PIPELINE_METHODS[plan->x]); return -1; }
    const char* metric = json_string_value(json_object_get(pr, "metric"));
    if (!metric) metric = "best_reward";
    if (strcmp(metric, "best_reward") && strcmp(metric, "mean_reward")) {
        snprintf(err, ERR_LEN, "pipeline.primary.metric: expected best_reward or mean_reward, got %s", metric);
        return -1;
    }
    plan->mean_reward = !strcmp(metric, "mean_reward");
    const char* split = json_string_value(json_object_get(pr, "split"));
    if (split && strcmp(split, "heldout")) {
        snprintf(err, ERR_LEN, "pipeline.primary.split: the comparison is on the held-out split (heldout), got %s", split);
        return -1;
    }
    return 0;
}

int pipeline_load(const char* config, PipelineCfg* p, PipelinePlan* plan, char err[ERR_LEN]) {
    char why[ERR_LEN];
    internal_check(cfg_defaults(PIPELINE_OPTS, p, why) == 0, "%s", why);
    if (config && cfg_load(config, "pipeline", PIPELINE_OPTS, p, NULL, err)) return -1;
    if (pipeline_plan(p, plan, why)) return errf(err, "%s: %s", config ? config : "defaults", why);
    return 0;
}

int pipeline_subst(const PipelineCfg* p, const char* in, char* out, size_t cap, char err[ERR_LEN]) {
    size_t n = 0;
    for (const char* s = in; *s;) {
        if (*s == '{') {
            const char* e = strchr(s, '}');
            if (!e) { snprintf(err, ERR_LEN, "'%s': unclosed {", in); return -1; }
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(e - s - 1), s + 1);
            const Opt* o = cfg_find(PIPELINE_OPTS, key);
            if (!o || o->type != OPT_STR) { snprintf(err, ERR_LEN, "'%s': unknown pipeline key {%s}", in, key); return -1; }
            const char* v = *(const char* const*)((const char*)p + o->off);
            n += snprintf(out + n, n < cap ? cap - n : 0, "%s", v ? v : "");
            s = e + 1;
        } else {
            if (n + 1 < cap) out[n] = *s;
            n++;
            s++;
        }
    }
    if (n >= cap) { snprintf(err, ERR_LEN, "'%s': expanded path too long", in); return -1; }
    out[n] = 0;
    return 0;
}
