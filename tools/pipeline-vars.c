/* pipeline-vars: the `pipeline:` section of a config as Make variables, so the
 * phase makefiles use the config's run and file names (pipelines/phases.mk
 * includes the output; Make rebuilds it when the config changes). */
#include "config.h"
#include "pipeline.h"
#include <ctype.h>
#include <string.h>

static const ToolSpec SPEC = {"pipeline-vars", "pipeline",
    "Print the config's `pipeline:` names as 'PIPE_<KEY> := value' lines for Make, and its seed lists\n"
    "as 'PIPE_SEEDS := 0 1' and 'PIPE_ABLATION_SEEDS := 0' (seeds, ablation_seeds and primary checked).", PIPELINE_OPTS};

int main(int argc, char** argv) {
    PipelineCfg pc;
    Common c;
    cfg_cli(&SPEC, argc, argv, &pc, &c);
    PipelinePlan plan;
    char err[ERR_LEN];
    if (pipeline_plan(&pc, &plan, err)) die(EXIT_BADINPUT, "%s: %s", c.config_path ? c.config_path : "flags", err);
    for (const Opt* o = PIPELINE_OPTS; o->key; o++) {
        if (o->type != OPT_STR) continue;
        const char* v = *(const char**)((char*)&pc + o->off);
        for (const char* s = v; *s; s++)
            if (!isalnum((unsigned char)*s) && !strchr("_-./", *s))
                cfg_refuse(&c, o->key, "'%s' may only hold letters, digits, '_', '-', '.' and '/'", v);
        printf("PIPE_");
        for (const char* k = o->key; *k; k++) putchar(toupper((unsigned char)*k));
        printf(" := %s\n", v);
    }
    printf("PIPE_SEEDS :=");
    for (int i = 0; i < plan.nseeds; i++) printf(" %ld", plan.seeds[i]);
    printf("\nPIPE_ABLATION_SEEDS :=");
    for (int i = 0; i < plan.nabl; i++) printf(" %ld", plan.abl[i]);
    printf("\n");
    return 0;
}
