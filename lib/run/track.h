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
 * Does not own: whether a run begins, resumes or is refused, .trash/, temporaries,
 * publishing and pruning (lifecycle); pause signals and files (control); checkpoints (ckpt). */
#ifndef DD_TRACK_H
#define DD_TRACK_H
#include <jansson.h>
#include "config.h"
#include "lifecycle.h"

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
void track_require(Tracker* t, const char* rel_path);
DD_MUST int  track_artifacts(Tracker* t);
void track_summary(Tracker* t, const char* key, json_t* value);      /* steals value */
/* The run's latest numbers, shown live by watch and make status: the heartbeat's
 * "live" object gets key = value (steals value) from the next heartbeat on. */
void track_live(Tracker* t, const char* key, json_t* value);

/* Final status: completed, failed, paused or gated. Writes heartbeat, record,
 * artifacts, provenance and an event. */
DD_MUST int  track_finish(Tracker* t, const char* status, const char* reason);

/* Gate records (gate_record's objects): a "gate" event each and, with say, the line
 * "gate <verdict>: <metric> = <value> at step <step>". */
DD_MUST int  track_gates(Tracker* t, const json_t* records, int say);
/* The "discard" event of a run life_begin or life_trash moved aside (nothing when nothing moved). */
DD_MUST int  track_redo_event(Tracker* t, const LifeRedo* r);

#endif
