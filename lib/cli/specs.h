/* specs: every tool's flags and config section in one place -- its option
 * table and --help text (a ToolSpec) -- so any tool can check a whole project config before
 * it does any work (cfg_check_config), and pipeline-vars can stamp each section's settings.
 * Owns: the tables. Does not own: the settings structs (lib/base/settings.h), parsing and
 * checking them (lib/base/config), what the values mean (the tools). */
#ifndef DD_SPECS_H
#define DD_SPECS_H
#include "config.h"
#include "settings.h"
#include <jansson.h>

extern const ToolSpec BUILD_SDFT_SPEC;
extern const ToolSpec CHECK_ARTIFACTS_SPEC;
extern const ToolSpec GATE_SPEC;
extern const ToolSpec GEN_CORPUS_SPEC;
extern const ToolSpec IMPORT_CORPUS_SPEC;
extern const ToolSpec GEN_TASKS_SPEC;
extern const ToolSpec GENERATE_SPEC;
extern const ToolSpec PACK_BINS_SPEC;
extern const ToolSpec PLOT_SPEC;
extern const ToolSpec PRETRAIN_SPEC;
extern const ToolSpec RETENTION_SPEC;
extern const ToolSpec SDFT_SPEC;
extern const ToolSpec SWEEP_SPEC;
extern const ToolSpec TRAIN_TOKENIZER_SPEC;
extern const ToolSpec TTT_SPEC;
extern const ToolSpec WATCH_SPEC;

extern const Opt BUILD_SDFT_OPTS[];
extern const Opt CHECK_ARTIFACTS_OPTS[];
extern const Opt GATE_OPTS[];
extern const Opt GENERATE_OPTS[];
extern const Opt GEN_CORPUS_OPTS[];
extern const Opt IMPORT_CORPUS_OPTS[];
extern const Opt GEN_TASKS_OPTS[];
extern const Opt PACK_BINS_OPTS[];
extern const Opt PLOT_OPTS[];
extern const Opt PRETRAIN_OPTS[];
extern const Opt RETENTION_OPTS[];
extern const Opt SDFT_OPTS[];
extern const Opt SWEEP_OPTS[];
extern const Opt TRAIN_TOKENIZER_OPTS[];
extern const Opt TTT_OPTS[];
extern const Opt WATCH_OPTS[];

/* Every tool's spec, NULL-terminated (the sections a project config may hold, with pipeline). */
extern const ToolSpec* const ALL_SPECS[];

/* The whole project config at path: every section's keys, types and ranges (errors name
 * file:line:column and section.key), the pipeline section's plan, and cross-section
 * sense (the tokenizer's vocabulary and the tools' lengths against the models the file
 * names in pipeline.model / model_nomhc). 0, or -1 with err. cfg_cli calls it for every tool. */
int specs_check_config(const char* path, char err[ERR_LEN]);

#endif
