/* sweep: what a sweep's worker does next (SPEC §8; docs/sweeps.md).
 *
 * Owns: the decision of what a worker does next (resume a paused trial, run an enqueued
 * retry, propose a new trial, wait, or stop); trial claims
 * (R/trials/trial_NNNN/sweep_claim.json) and the recovery of trials whose worker died;
 * reading a finished trial's objective and recording it. This header also brings in the
 * sweep's other modules: sweep_config (the YAML), journal (the trial store), samplers
 * (grid, random, TPE) and sweep_report.
 * Does not own: running the tool or the worker processes (tools/sweep.c), the run-dir
 * contract of a trial (track), heartbeat reading (runstat). */
#ifndef DD_SWEEP_H
#define DD_SWEEP_H
#include <jansson.h>
#include "journal.h"
#include "samplers.h"
#include "sweep_config.h"
#include "sweep_report.h"
#include "util.h"

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
/* A trial's command line: tool --config <base_config>, --<key> <value> for each fixed arg,
 * --<param> <value> for each parameter (its external value; strings bare, others as JSON),
 * then <run_dir_flag> dir; argv NULL-terminated. shown: " name=value" per parameter. */
typedef struct {
    char* argv[2 * 256 + 2 * 64 + 8];
    char  flags[320][80];
    char  vals[320][1200];
    char  shown[4096];
} TrialArgs;
void sweep_trial_args(TrialArgs* ta, const SweepConfig* sc, const Study* s, int trial, const char* tool, const char* dir);
/* Reads the objective from a finished trial dir: 0 and *v, or -1 with err. */
int  sweep_read_objective(const SweepConfig* sc, const char* trial_dir, double* v, char err[ERR_LEN]);
/* Records a finished trial under the lock, unless someone already finished it. */
int  sweep_finish(Journal* j, const SweepConfig* sc, int trial, int state, const double* value, char err[ERR_LEN]);

#endif
