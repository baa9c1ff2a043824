/* pipeline-vars: the `pipeline:` section of a config as Make variables, so the
 * phase makefiles use the config's run and file names (pipelines/phases.mk
 * includes the output; Make rebuilds it when the config changes). */
#include "config.h"
#include "pipeline.h"
#include <ctype.h>
#include <string.h>

static const ToolSpec SPEC = {"pipeline-vars", "pipeline",
    "Print the config's `pipeline:` keys as 'PIPE_<KEY> := value' lines for Make.", PIPELINE_OPTS};

int main(int argc, char** argv) {
    PipelineCfg pc;
    Common c;
    cfg_cli(&SPEC, argc, argv, &pc, &c);
    for (const Opt* o = PIPELINE_OPTS; o->key; o++) {
        const char* v = *(const char**)((char*)&pc + o->off);
        for (const char* s = v; *s; s++)
            if (!isalnum((unsigned char)*s) && !strchr("_-./", *s))
                cfg_refuse(&c, o->key, "'%s' may only hold letters, digits, '_', '-', '.' and '/'", v);
        printf("PIPE_");
        for (const char* k = o->key; *k; k++) putchar(toupper((unsigned char)*k));
        printf(" := %s\n", v);
    }
    return 0;
}
