/* sweep: hyper-parameter sweeps over any tool (SPEC §8).
 *
 * Owns: the sweep config (a YAML under configs/sweeps/: tool, base config, search space,
 * sampler, objective) and its validation; the trial store, an append-only journal
 * in Optuna's JournalStorage op-code format (R/journal.log, appended under
 * flock(2) on R/journal.lock, which the kernel drops when a holder dies), its
 * replay, and the decision of what a worker does next (resume a paused trial,
 * run an enqueued retry, propose a new trial, wait, or stop); the grid, random
 * and TPE samplers; trial claims (R/trials/trial_NNNN/sweep_claim.json) and the recovery
 * of trials whose worker died; the report (counts, best, importances, top-k YAML).
 * Does not own: running the tool or the worker processes (tools/sweep.c), the
 * run-dir contract of a trial (track), heartbeat reading (runstat). */
#ifndef DD_SWEEP_H
#define DD_SWEEP_H
#include <jansson.h>
#include "rng.h"
#include "util.h"

/* Optuna's TrialState values, as written in the journal. */
enum { TRIAL_RUNNING = 0, TRIAL_COMPLETE = 1, TRIAL_PRUNED = 2, TRIAL_FAIL = 3, TRIAL_WAITING = 4 };
const char* trial_state_name(int state);

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

/* ---- the journal ------------------------------------------------------- */

typedef struct {
    int     number;          /* == Optuna trial_id (one study per journal) */
    int     state;
    double  internal[64];    /* per param index of the config, Optuna's internal repr */
    int     has[64];
    int     has_value;
    double  value;
    char    start[40], complete[40];
    int     attempt;         /* 0 for a proposal, k for its k-th retry */
    int     retry_of;        /* -1 or the trial this one retries */
} Trial;

typedef struct {
    int    created;
    char   name[128];
    int    direction;        /* 1 minimize, 2 maximize */
    Trial* trials;           /* (n) */
    int    n, cap;
    long   lines;
} Study;

/* A journal writer: the worker id Optuna records for every op. */
typedef struct {
    char path[4096];
    char lock_path[4096];
    char worker_id[80];
    int  lock_fd;
} Journal;

int  journal_open(Journal* j, const char* root, char err[ERR_LEN]);
void journal_close(Journal* j);
int  journal_lock(Journal* j, char err[ERR_LEN]);     /* flock(LOCK_EX), blocking */
void journal_unlock(Journal* j);
/* Replays the journal against the config's parameter list (params named
 * elsewhere are ignored). */
int  journal_replay(const char* path, const SweepConfig* sc, Study* s, char err[ERR_LEN]);
void study_free(Study* s);

/* Ops (caller holds the lock). Each appends one line with one write(2). */
int  journal_create_study(Journal* j, const SweepConfig* sc, char err[ERR_LEN]);
int  journal_create_trial(Journal* j, int state, int attempt, int retry_of, char err[ERR_LEN]);
int  journal_set_param(Journal* j, const SweepConfig* sc, int trial, int p, double internal, char err[ERR_LEN]);
int  journal_set_state(Journal* j, int trial, int state, const double* value, char err[ERR_LEN]);
int  journal_set_user_attr(Journal* j, int trial, const char* key, json_t* value, char err[ERR_LEN]);  /* steals */
int  journal_set_intermediate(Journal* j, int trial, long step, double v, char err[ERR_LEN]);

/* A JSON line exactly as Python's json.dumps writes it (", " and ": ", shortest
 * round-trip reals, 2.0 for integral reals). Caller frees. */
char* journal_dumps(const json_t* v);
/* Optuna's distribution JSON for a param (the string op 5 carries). Caller frees. */
char* param_distribution_json(const Param* p);
/* Internal repr -> the value passed to the tool (a JSON scalar, new reference). */
json_t* param_external(const Param* p, double internal);

/* ---- samplers ---------------------------------------------------------- */

long sweep_grid_size(const SweepConfig* sc);        /* product of the grid axes; -1 if not a grid */
void sweep_grid_point(const SweepConfig* sc, long idx, double* internal);
/* Random: a trial's draw depends only on (seed, number). */
void sweep_random_point(const SweepConfig* sc, long number, double* internal);
/* TPE, Optuna 3.1 TPESampler defaults, independent per param (docs/sweeps.md):
 * random (sweep_random_point) until 10 COMPLETE trials, then per param 24
 * candidates from the "below" Parzen estimator, keeping the best
 * log l(x) - log g(x). Depends only on (seed, number, the study's trials). */
void sweep_tpe_point(const SweepConfig* sc, const Study* s, long number, double* internal);
/* The next proposal given the trials so far: 0 and internal filled, or -1 when
 * the sampler has nothing left (grid exhausted). */
int  sweep_propose(const SweepConfig* sc, const Study* s, double* internal);

/* ---- what a worker does next ------------------------------------------- */

typedef enum { NEXT_NONE, NEXT_RUN, NEXT_WAIT, NEXT_DONE } NextKind;
typedef struct {
    NextKind kind;
    int      trial;
    int      resumed;        /* a paused trial taken up again */
    int      recovered;      /* trials of dead workers handled in this call */
} Next;

/* Under the lock: replay, recover dead workers' trials (COMPLETE if their run
 * finished and has the objective, else FAIL plus a retry while attempts remain),
 * then claim work. `resume`: take up paused trials too. */
int  sweep_next(Journal* j, const SweepConfig* sc, const char* root, int resume, Next* out, char err[ERR_LEN]);
/* Claim bookkeeping for a running trial: refresh (liveness), mark paused. */
int  sweep_claim_write(const char* root, int trial, const char* worker_id, const char* status, char err[ERR_LEN]);
/* <root>/trials/trial_NNNN; -1 (err) when it does not fit in cap. */
int  sweep_trial_dir(char* out, size_t cap, const char* root, int trial, char err[ERR_LEN]);
/* Reads the objective from a finished trial dir: 0 and *v, or -1 with err. */
int  sweep_read_objective(const SweepConfig* sc, const char* trial_dir, double* v, char err[ERR_LEN]);
/* Records a finished trial under the lock, unless someone already finished it. */
int  sweep_finish(Journal* j, const SweepConfig* sc, int trial, int state, const double* value, char err[ERR_LEN]);

/* ---- report ------------------------------------------------------------ */

/* Prints the report to f; with top_k > 0 writes root/top/top_<i>.yaml. */
int  sweep_report(const SweepConfig* sc, const char* root, long top_k, FILE* f, char err[ERR_LEN]);
/* One-way ANOVA eta^2 of the objective per param (COMPLETE trials; numeric
 * params in up to 4 rank bins). eta[p] = -1 when undefined. */
void sweep_importance(const SweepConfig* sc, const Study* s, double* eta);

#endif
