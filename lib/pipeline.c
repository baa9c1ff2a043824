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
    {0},
};

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
