/* track: the run-directory contract of SPEC §4.
 *
 * Owns: <run>/_run_tracker/{heartbeat.json, events.jsonl, artifacts.json},
 * <run>/run_record.json, config_resolved.yaml, env.json, git.json,
 * provenance.json (content hashes of inputs and outputs), logs/stdout.log, and
 * the terminal progress bar. A tool opens a Tracker once, reports progress as it
 * goes, and finishes with a status; die() after track_open marks the run failed.
 * Errors are returned, never acted on: a function that can fail returns -1 with
 * the message in t->err and the exit code it calls for in t->err_exit (SPEC §4:
 * EXIT_BADINPUT when the run dir or an input is refused, EXIT_FAIL when a write
 * failed), and the tool dies with them: `if (track_input(&t, p)) die(t.err_exit, "%s", t.err);`
 * Does not own: pause signals and files (control), checkpoints (ckpt). */
#ifndef DD_TRACK_H
#define DD_TRACK_H
/* A failure a caller must act on (it is in t->err / err): ignoring the result is a warning. */
#define DD_MUST __attribute__((warn_unused_result))
#include <jansson.h>
#include "config.h"

typedef struct {
    char   dir[4096];
    char   tool[64];
    char   phase[64];
    char   status[16];
    char   unit[256];        /* current_unit: what is being worked on */
    char   host[256];
    const Common* common;
    double t0_wall, t0_mono, prior_sec;   /* prior_sec: time spent before a resume */
    long   step, total, resumed_from;
    double rate;             /* smoothed steps per second */
    double hb_mono;          /* last heartbeat */
    long   hb_step;
    double bar_mono;
    int    tty;
    int    quiet;            /* 1: track_say logs only (e.g. MPI ranks other than 0) */
    json_t* inputs;          /* [{path, sha256, upstream_run}] */
    json_t* outputs;         /* [{path, sha256, bytes}] */
    json_t* required;        /* artifact paths, relative to dir */
    json_t* summary;         /* merged into run_record.json at finish */
    json_t* live;            /* the latest numbers (loss, val_loss, rewards...): heartbeat's "live" */
    char   err[ERR_LEN];     /* the last failure's message */
    int    err_exit;         /* and the exit code it calls for */
} Tracker;

/* Creates the run dir and its contract files, records start (or resume). */
DD_MUST int  track_open(Tracker* t, const char* run_dir, const ToolSpec* spec, const void* st,
                const Common* c, const char* phase);
/* Default run dir for a tool whose outputs are plain files: <dir>/_runs/<name>;
 * -1 (err) when it does not fit in cap. */
DD_MUST int  track_default_dir(char* out, size_t cap, const char* primary_output, char err[ERR_LEN]);

void track_total(Tracker* t, long total);
DD_MUST int  track_resumed(Tracker* t, long from_step);
void track_phase(Tracker* t, const char* phase);
/* Progress: heartbeat at most once a second (or when step == total). */
DD_MUST int  track_progress(Tracker* t, long step, const char* unit);
DD_MUST int  track_heartbeat_now(Tracker* t);
DD_MUST int  track_event(Tracker* t, const char* type, json_t* fields);   /* steals fields (may be NULL) */
/* Prints (unless quiet) and appends to logs/stdout.log; a failed append is not an error. */
__attribute__((format(printf, 2, 3))) void track_say(Tracker* t, const char* fmt, ...);

/* Provenance. track_input refuses (EXIT_BADINPUT) an input whose producing run is
 * incomplete or whose content changed since that run wrote it. */
DD_MUST int  track_input(Tracker* t, const char* path);
DD_MUST int  track_output(Tracker* t, const char* path);
/* Removes <output>.tmp.<pid> files a killed run of this tool left beside an output
 * outside the run dir (track_open clears those inside it). */
void track_clear_temps(Tracker* t, const char* output);
void track_require(Tracker* t, const char* rel_path);
DD_MUST int  track_artifacts(Tracker* t);
void track_summary(Tracker* t, const char* key, json_t* value);      /* steals value */
/* The run's latest numbers, shown live by watch and make status: the heartbeat's
 * "live" object gets key = value (steals value) from the next heartbeat on. */
void track_live(Tracker* t, const char* key, json_t* value);

/* Final status: completed, failed, paused or gated. Writes heartbeat, record,
 * artifacts, provenance and an event. */
DD_MUST int  track_finish(Tracker* t, const char* status, const char* reason);

/* For a finished run: which of `paths` differ in content from what its
 * provenance.json recorded (comma-separated names into out); returns the count. */
int  track_changed_inputs(const char* run_dir, const char* const* paths, int n, char* out, size_t cap);

/* Why a run dir's earlier run was moved aside, where to, or why it could not be. */
typedef struct {
    char moved[4096];        /* "" when nothing moved */
    char why[3300];
    char err[4096];          /* on -1: the message (a settings difference can be long) */
    int  err_exit;           /* and the exit code it calls for */
} TrackRedo;

/* --no-resume over a run dir with earlier outputs: refuse a completed run
 * without c->force (-1, EXIT_BADINPUT); otherwise move the dir to <parent>/.trash/<time>/
 * (never delete) and put the new place in r->moved ("" if there was nothing). */
DD_MUST int  track_move_aside(const char* run_dir, const Common* c, TrackRedo* r);

/* The one rule for a run dir that already holds a run (docs/operations.md): its settings
 * (the tool's options as track_open recorded them in _run_tracker/settings.json, less the
 * `ignore` keys: output paths, inputs compared by content) and, for a completed run, its
 * inputs (paths, by content against provenance.json). Returns 1 when it completed with
 * the same settings and inputs (nothing to do), 0 to run: fresh, resume, or redo. A
 * difference is refused, -1 with r->err naming it ("<dir>: completed with lr 0.001; now 0.002 —
 * FORCE=1 to redo it", EXIT_BADINPUT), unless c->force: then the old run goes to .trash/
 * (r->moved, r->why). A run stopped by a RED gate (status gated) stays stopped: -1, EXIT_GATED,
 * unless c->force, which moves it to .trash/ and starts over.
 * own_was / own_is (NULL: none): a difference the tool derives itself, e.g. "global batch 8" / "16".
 * --no-resume starts over (a completed run only with --force), as track_move_aside. */
DD_MUST int  track_rerun_rule(const char* run_dir, const ToolSpec* spec, const void* st, const Common* c, const char* const* ignore,
                      const char* own_was, const char* own_is, const char* const* inputs, int nin, TrackRedo* r);
/* Before a plain-file tool (its run dir run_dir) writes output: an output already there
 * that no run wrote (no run record: placed by hand) or that changed after the completed
 * run wrote it is never overwritten: -1, err naming it (bad input). An unfinished run's is redone. */
DD_MUST int  track_guard_output(const char* run_dir, const char* output, char err[ERR_LEN]);
/* A tool writing plain files outputs[0..n): their dirs made, its run dir (--run_dir, else
 * <dir>/_runs/<first output>) into run, and with guard each output guarded (above);
 * -1 (err; bad input) when a dir cannot be made, a path does not fit, or an output is guarded. */
DD_MUST int  track_plain_outputs(char run[4096], const Common* c, const char* const* outputs, int n, int guard, char err[ERR_LEN]);
/* The "discard" event of a run redone by track_rerun_rule (nothing when nothing moved). */
DD_MUST int  track_redo_event(Tracker* t, const TrackRedo* r);

/* Status recorded in <run_dir>/run_record.json, or "" when there is none. */
void track_prev_status(const char* run_dir, char out[16]);

#endif
