/* pipeline: the `pipeline:` section of a project config — the names Make and
 * check-artifacts use for runs and files under out/CONFIG (the paper config
 * uses the runbook's names), the suite's seeds, and the primary comparison,
 * declared before any run.
 * Owns: the option table, their checks (PipelinePlan),
 * the suite's method names and `{key}` substitution in path templates.
 * Does not own: the Make rules (the pipelines folder), the statistics (lib/paper/report). */
#ifndef DD_PIPELINE_H
#define DD_PIPELINE_H
#include "config.h"

typedef struct {
    const char* tokenizer_name;   /* data/tokenizer/<name>.model */
    const char* model;            /* model config of the base run (configs/model/...) */
    const char* model_nomhc;      /* the same shape with mhc: {n: 0}, for the ablation */
    const char* pretrain_run;     /* runs/<name>: the base model */
    const char* pretrain_nomhc_run; /* runs/<name>: the mHC-off ablation */
    const char* sdft_run;         /* runs/<name>: the SDFT consolidation (D3) */
    const char* sdft_bestofn_run; /* runs/suite/<name>_seed<s>: best-of-N with the consolidated model (E1) */
    json_t* seeds;                /* [0, 1]: seeds of base best-of-N, search, TTT main and SDFT best-of-N */
    json_t* ablation_seeds;       /* [0]: seeds of the ablations, a subset of seeds */
    json_t* primary;              /* {x, y, metric, split}: the comparison the suite exists for */
} PipelineCfg;

extern const Opt PIPELINE_OPTS[];

/* The suite's methods, as run-name prefixes (runs/suite/<prefix>_seed<s>); the SDFT
 * best-of-N runs use the config's sdft_bestofn_run, named here "sdft_bestofn".
 * PIPELINE_NMAIN main methods (run at `seeds`), then the ablations (at `ablation_seeds`). */
#define PIPELINE_NMETHODS 8
#define PIPELINE_NMAIN 4
extern const char* const PIPELINE_METHODS[PIPELINE_NMETHODS];

#define PIPE_MAX_SEEDS 16
/* seeds, ablation_seeds and primary, checked. */
typedef struct {
    long seeds[PIPE_MAX_SEEDS], abl[PIPE_MAX_SEEDS];
    int  nseeds, nabl;
    int  x, y;              /* primary comparison: indices into PIPELINE_METHODS */
    int  mean_reward;       /* its metric: 0 = best reward per task, 1 = mean reward per task */
} PipelinePlan;

/* Checks seeds (1..16 distinct integers in [0, 1000000]), ablation_seeds (the same, each
 * in seeds) and primary ({x: METHOD, y: METHOD, metric: best_reward|mean_reward,
 * split: heldout}, x != y); -1 with err "pipeline.KEY: why" otherwise. */
int  pipeline_plan(const PipelineCfg* p, PipelinePlan* plan, char err[ERR_LEN]);
/* The pipeline section of config (defaults when NULL), checked; -1 with err naming the file. */
int  pipeline_load(const char* config, PipelineCfg* p, PipelinePlan* plan, char err[ERR_LEN]);
/* Replace {key} by its value; returns -1 (err) on an unknown key. */
int pipeline_subst(const PipelineCfg* p, const char* in, char* out, size_t cap, char err[ERR_LEN]);

#endif
