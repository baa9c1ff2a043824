/* pipeline: the `pipeline:` section of a project config — the names Make and
 * check-artifacts use for runs and files under out/CONFIG (the paper config
 * uses the runbook's names). Owns the option table and `{key}` substitution in
 * path templates. Does not own: the Make rules (the pipelines folder). */
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
    const char* sdft_bestofn_run; /* runs/suite/<name>_seed{0,1}: best-of-N with the consolidated model (E1) */
} PipelineCfg;

extern const Opt PIPELINE_OPTS[];
/* Replace {key} by its value; returns -1 (err) on an unknown key. */
int pipeline_subst(const PipelineCfg* p, const char* in, char* out, size_t cap, char err[ERR_LEN]);

#endif
