/* sweep_config: a sweep's config (SPEC §8; docs/sweeps.md).
 *
 * Owns: the sweep YAML under configs/sweeps/ (tool, base config, search space, sampler,
 * objective, fixed args with ${VAR} expanded) and its validation, each error one line
 * "path:line: what"; the search space's parameters (Param).
 * Does not own: the trials (journal), how points are drawn (samplers), running the tool
 * (tools/sweep.c). */
#ifndef DD_SWEEP_CONFIG_H
#define DD_SWEEP_CONFIG_H
#include <jansson.h>
#include "util.h"

typedef enum { PARAM_FLOAT, PARAM_INT, PARAM_CAT } ParamType;

typedef struct {
    char      name[64];
    ParamType type;
    double    low, high;     /* float/int bounds */
    int       log;           /* sample log-uniformly */
    json_t*   choices;       /* categorical: array of scalars */
    json_t*   grid;          /* float/int: grid values (grid sampler); NULL: int grids enumerate low..high */
} Param;

typedef struct {
    char    path[1024];
    char    name[128], tool[64], section[64], base_config[1024], run_dir_flag[64];
    char    objective[128], objective_file[256], sampler[16];
    int     maximize;
    long    n_trials, max_retries, seed;
    double  stale_sec;       /* a claim or heartbeat older than this may belong to a dead worker */
    json_t* fixed_args;      /* {flag: value}, values with ${VAR} / ${VAR:-default} expanded */
    Param*  params;          /* (np) */
    int     np;
} SweepConfig;

/* Loads and checks everything that needs no file system beyond the config itself.
 * Errors are one line: "path:line: what". */
int  sweep_config_load(SweepConfig* sc, const char* path, char err[ERR_LEN]);
/* The checks that look outside: bin_dir/<tool> is executable, base_config exists. */
int  sweep_config_check_paths(const SweepConfig* sc, const char* bin_dir, char err[ERR_LEN]);
void sweep_config_free(SweepConfig* sc);

#endif
