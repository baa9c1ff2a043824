/* pipeline-vars: the `pipeline:` section of a config as Make variables, so the
 * phase makefiles use the config's run and file names (pipelines/phases.mk
 * includes the output; Make rebuilds it when the config changes); with
 * --settings_dir DIR, also each section's settings as DIR/<section>.json, rewritten
 * only when they change, the stamps each run's rule depends on. */
#include "atomic.h"
#include "lifecycle.h"
#include "config.h"
#include "json.h"
#include "pipeline.h"
#include "specs.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* DIR/<section>.json = the section's resolved settings, unless it already holds them. */
static void stamp(const char* dir, const char* section, json_t* settings) {
    char p[4200], err[ERR_LEN];
    if (path_fmt(p, sizeof p, err, "%s/%s.json", dir, section)) die(EXIT_BADINPUT, "--settings_dir: %s", err);
    json_t* old = path_exists(p) ? json_load_path(p, err) : NULL;
    if (!old || !json_equal(old, settings))
        if (json_write_atomic(p, settings, err)) die(EXIT_FAIL, "%s", err);
    json_decref(old);
    json_decref(settings);
}

static const ToolSpec SPEC = {"pipeline-vars", "pipeline",
    "Print the config's `pipeline:` names as 'PIPE_<KEY> := value' lines for Make, and its seed lists\n"
    "as 'PIPE_SEEDS := 0 1' and 'PIPE_ABLATION_SEEDS := 0' (seeds, ablation_seeds and primary checked).\n"
    "--settings_dir DIR (first): also write DIR/<section>.json, each section's resolved settings (defaults,\n"
    "then the config), only where they changed: the per-run settings stamps of the phase makefiles.", PIPELINE_OPTS,
    specs_check_config};

int main(int argc, char** argv) {
    const char* settings_dir = NULL;
    if (argc >= 3 && !strcmp(argv[1], "--settings_dir")) {
        settings_dir = argv[2];
        argv[2] = argv[0];
        argv += 2;
        argc -= 2;
    }
    PipelineCfg pc;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&SPEC, argc, argv, &pc, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    PipelinePlan plan;
    if (pipeline_plan(&pc, &plan, err)) die(EXIT_BADINPUT, "%s: %s", c.config_path ? c.config_path : "flags", err);
    for (const Opt* o = PIPELINE_OPTS; o->key; o++) {
        if (o->type != OPT_STR) continue;
        const char* v = *(const char**)((char*)&pc + o->off);
        for (const char* s = v; *s; s++)
            if (!isalnum((unsigned char)*s) && !strchr("_-./", *s))
                die(EXIT_BADINPUT, "%s: %s: '%s' may only hold letters, digits, '_', '-', '.' and '/'", cfg_where(&c), o->key, v);
        printf("PIPE_");
        for (const char* k = o->key; *k; k++) putchar(toupper((unsigned char)*k));
        printf(" := %s\n", v);
    }
    /* corpus: {train, val}: your own text (import-corpus) in place of the synthetic corpus */
    ImportCorpusArgs ca;
    if (cfg_defaults(IMPORT_CORPUS_OPTS, &ca, err) || (c.config_path && cfg_load(c.config_path, "corpus", IMPORT_CORPUS_OPTS, &ca, NULL, err)))
        die(EXIT_BADINPUT, "%s", err);
    for (int k = 0; k < 2; k++)
        for (const char* q = k ? ca.val : ca.train; *q; q++)
            if (!isalnum((unsigned char)*q) && !strchr("_-./", *q))
                die(EXIT_BADINPUT, "%s: corpus.%s: '%s' may only hold letters, digits, '_', '-', '.' and '/' (Make reads it)",
                    c.config_path, k ? "val" : "train", k ? ca.val : ca.train);
    printf("PIPE_OWN_CORPUS := %s\nPIPE_CORPUS_TRAIN := %s\nPIPE_CORPUS_VAL := %s\n", *ca.train ? "1" : "", ca.train, ca.val);
    printf("PIPE_SEEDS :=");
    for (int i = 0; i < plan.nseeds; i++) printf(" %ld", plan.seeds[i]);
    printf("\nPIPE_ABLATION_SEEDS :=");
    for (int i = 0; i < plan.nabl; i++) printf(" %ld", plan.abl[i]);
    printf("\n");
    if (settings_dir) {
        if (mkdir_p(settings_dir, err)) die(EXIT_FAIL, "%s", err);
        life_clear_dead_temps(settings_dir);   /* a stamp a killed make was writing */
        static _Alignas(16) char scratch[8192];
        for (int i = 0; ALL_SPECS[i]; i++) {
            memset(scratch, 0, sizeof scratch);
            if (cfg_defaults(ALL_SPECS[i]->opts, scratch, err) ||
                (c.config_path && cfg_load(c.config_path, ALL_SPECS[i]->section, ALL_SPECS[i]->opts, scratch, NULL, err)))
                die(EXIT_BADINPUT, "%s", err);
            stamp(settings_dir, ALL_SPECS[i]->section, cfg_to_json(ALL_SPECS[i]->opts, scratch));
        }
        stamp(settings_dir, "pipeline", cfg_to_json(PIPELINE_OPTS, &pc));
    }
    return 0;
}
