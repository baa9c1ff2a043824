/* runs: reading the finished run outputs under a runs dir (out/<config>/runs), for the
 * figures (tools/plot, lib/paper/figures) and the tables (lib/paper/report), so that both read the
 * same runs the same way.
 *
 * Owns: strict JSONL reading (a torn last line, what a killed writer leaves, is skipped;
 * any other line that is not a JSON object is an error naming path:line), suite runs
 * (suite/<name>/summary.jsonl and, for reward curves, <task>/result.json), the pretraining runs (mHC on and off, told apart by
 * model_config.json) and their metrics, the SDFT run, and a run's command (argv of its
 * run_record.json). Every file read is listed in Runs.read; missing runs and choices made
 * (several candidates, one used) are Runs.notes. A missing file is never an error; a
 * malformed one is (-1, err naming it).
 * Does not own: what is drawn or tabulated from them (lib/paper/figures, lib/paper/report). */
#ifndef DD_RUNS_H
#define DD_RUNS_H
#include "json.h"
#include "util.h"

typedef struct {
    char   dir[4096];   /* the runs dir */
    json_t* read;       /* strings: every file read, in order (for track_input) */
    json_t* notes;      /* strings: missing runs and choices made */
} Runs;

/* -1 when dir does not fit in Runs.dir (then r->dir is "": never a shortened path). */
int  runs_open(Runs* r, const char* dir);
void runs_close(Runs* r);
__attribute__((format(printf, 2, 3))) void runs_note(Runs* r, const char* fmt, ...);

/* fn once per complete object line of path; nlines (may be NULL) gets their count. */
typedef int (*RunsLineFn)(json_t* obj, void* ctx, const char* path, long line, char err[ERR_LEN]);
int runs_jsonl(Runs* r, const char* path, RunsLineFn fn, void* ctx, long* nlines, char err[ERR_LEN]);
/* The object lines of path as an array (new reference), or NULL and err. */
json_t* runs_jsonl_array(Runs* r, const char* path, char err[ERR_LEN]);
/* A JSON object file (new reference), or NULL and err. */
json_t* runs_json(Runs* r, const char* path, char err[ERR_LEN]);

/* ---- suite runs: suite/<name>/ ---- */
typedef struct {
    int    present;                      /* summary.jsonl with at least one complete task line */
    int    ntasks;
    double best, mean_reward, samples;   /* means over tasks */
    double tokens;                       /* mean over tasks of tokens sampled (0 when lines lack it) */
    char   name[256], dir[4200], summary[4300];
    char   missing[4500];                /* why not present ("" when present) */
    int    n;                            /* points of the curve; 0 when not asked for or not complete */
    double *x, *y;                       /* (n,) samples per task, mean over tasks of the best reward at x */
    double* ty;                          /* (ntasks, n): each task's best reward at x, in summary order */
    json_t* ids;                         /* task ids in summary order, when curves are asked for */
    json_t *task_best, *task_mean;       /* {task_id: best_reward}, {task_id: mean_reward} of lines with a task_id */
    json_t* task_family;                 /* {task_id: family} of lines with both */
} RunsSuite;

/* curves: also each task's reward curve from its result.json (a task without one leaves
 * n = 0 and a note): the best reward at k samples, k at the points of its `curve`. A
 * best-of-N run (mode bestofn) draws its samples independently, so its curve is the
 * expected best of k of the n samples drawn (stats_expected_max over `rewards`), not one
 * draw order; a sequential method's (TTT, search) is the best so far, in its order.
 * Lines need numbers best_reward, mean_reward, samples (rewards finite) and, for curves,
 * a plain task_id. */
int  runs_suite(Runs* r, const char* name, int curves, RunsSuite* s, char err[ERR_LEN]);
/* <prefix>_seed<seeds[i]> into s[i]; returns how many are present, -1 on error. */
int  runs_suite_seeds(Runs* r, const char* prefix, const long* seeds, int nseeds, int curves, RunsSuite* s, char err[ERR_LEN]);
void runs_suite_free(RunsSuite* s);
/* The learning check's per-task climb: each task's mean reward over the last third of
 * its steps minus the first third (a third: floor(steps / 3), at least 1 step), from
 * its result.json `rewards` (steps of `rollouts` samples, in order). *climb gets
 * {task_id: climb} (new reference) for the tasks of s's summary; a task whose
 * result.json is missing, or has fewer than 2 steps, is left out with a note. */
int  runs_suite_climb(Runs* r, const RunsSuite* s, json_t** climb, char err[ERR_LEN]);
/* Value at q of a curve given as a step function at increasing x (NAN before the first point). */
double runs_step_at(const double* x, const double* y, int n, double q);

/* ---- pretraining runs: dirs with pretrain_config.json ---- */
typedef struct {
    char   name[256];               /* "" when there is none */
    long   streams;                 /* model_config.json mhc.n (1 when it has none: plain residual) */
    int    n, nv;                   /* metrics.jsonl lines, and those with val_loss */
    double *step, *loss;            /* (n,) */
    double *vstep, *vloss;          /* (nv,) */
} RunsPretrain;

/* [0] the first run with mHC on (mhc.n > 1), [1] the first with it off, in name order
 * (a run without model_config.json counts as off; notes for it and for others). */
int  runs_pretrain_find(Runs* r, RunsPretrain p[2], char err[ERR_LEN]);
/* p->name's metrics.jsonl: step and loss of every line, val_loss where there is one. */
int  runs_pretrain_metrics(Runs* r, RunsPretrain* p, char err[ERR_LEN]);
void runs_pretrain_free(RunsPretrain* p);

/* The first dir with sdft_eval_report.json, in name order ("" and a note when none). */
void runs_sdft(Runs* r, char name[256]);

/* argv of run_dir/run_record.json, shell-quoted, into out ("(no run_record.json)" when
 * it has none). 0, or -1 when the record is malformed. */
int runs_command(Runs* r, const char* run_dir, char* out, size_t cap, char err[ERR_LEN]);

#endif
