/* journal: a sweep's trial store (SPEC §8; docs/sweeps.md).
 *
 * Owns: the append-only journal in Optuna's JournalStorage op-code format
 * (R/journal.log, appended under flock(2) on R/journal.lock, which the kernel drops when
 * a holder dies; one write(2) per op), its replay into a Study, the JSON exactly as
 * Python writes it, and a parameter's Optuna distribution and external value.
 * Does not own: the config (sweep_config), choosing points (samplers), claims and what a
 * worker does next (sweep), the report (sweep_report). */
#ifndef DD_JOURNAL_H
#define DD_JOURNAL_H
#include <jansson.h>
#include "sweep_config.h"

/* Optuna's TrialState values, as written in the journal. */
enum { TRIAL_RUNNING = 0, TRIAL_COMPLETE = 1, TRIAL_PRUNED = 2, TRIAL_FAIL = 3, TRIAL_WAITING = 4 };
const char* trial_state_name(int state);
/* COMPLETE, PRUNED or FAIL: Optuna ignores later updates of such a trial. */
int trial_finished(int state);

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
/* A real as Python's repr writes it (shortest round trip; 2.0 for integral values). */
void journal_fmt_real(char* out, size_t cap, double v);
/* Optuna's distribution JSON for a param (the string op 5 carries). Caller frees. */
char* param_distribution_json(const Param* p);
/* Internal repr -> the value passed to the tool (a JSON scalar, new reference). */
json_t* param_external(const Param* p, double internal);

#endif
