/* lifecycle: a run dir's life across processes (SPEC §4, docs/operations.md).
 *
 * Owns: whether a tool's run begins fresh, resumes, is already done or is refused (the
 * one rerun rule, life_begin: settings and inputs against the earlier run's; a RED
 * gate's stop stands until FORCE=1); moving an earlier run to <parent>/.trash/<time>/
 * (never deleting it); the guard on plain-file outputs placed or edited by hand; the
 * step directories of a run (<prefix>_step_NNNNNNN: naming, listing, pruning the resume
 * state of all but the newest); publishing a finished directory crash-safely; removing
 * a tree without a shell (nftw); clearing the temporaries killed writers left.
 * Every tool with a run dir goes through it; none re-implements any of it.
 * Does not own: the run's records while it runs (track), what is inside a checkpoint
 * (lib/nn/ckpt), writing single files atomically (lib/base/atomic), pause (control). */
#ifndef DD_LIFECYCLE_H
#define DD_LIFECYCLE_H
#include "config.h"

/* ---- a run dir that already holds a run ---- */

/* Why a run dir's earlier run was moved aside, where to, or why it could not be. */
typedef struct {
    char moved[4096];        /* "" when nothing moved */
    char why[3300];
    char err[4096];          /* on -1: the message (a settings difference can be long) */
    int  err_exit;           /* and the exit code it calls for */
} LifeRedo;

/* The one rule for a run dir that already holds a run (docs/operations.md): its settings
 * (the tool's options as track_open recorded them in _run_tracker/settings.json, less the
 * `ignore` keys: output paths, inputs compared by content; a key the earlier run lacks
 * counts as its default there) and, for a completed run, its inputs (paths, by content
 * against provenance.json). Returns 1 when it completed with the same settings and inputs
 * (nothing to do), 0 to run: fresh, resume, or redo. A difference is refused, -1 with
 * r->err naming it ("<dir>: completed with lr 0.001; now 0.002 — FORCE=1 to redo it",
 * EXIT_BADINPUT), unless c->force: then the old run goes to .trash/ (r->moved, r->why).
 * A run stopped by a RED gate (status gated) stays stopped: -1, EXIT_GATED, unless
 * c->force, which moves it to .trash/ and starts over. own_was / own_is (NULL: none): a
 * difference the tool derives itself, e.g. "global batch 8" / "16". --no-resume starts
 * over (a completed run only with --force), as life_trash. */
DD_MUST int life_begin(const char* run_dir, const ToolSpec* spec, const void* st, const Common* c, const char* const* ignore,
                       const char* own_was, const char* own_is, const char* const* inputs, int nin, LifeRedo* r);
/* Moves run_dir's earlier run to <parent>/.trash/<time>/ (never deletes; r->moved, "" if
 * there was none). A completed run only with c->force: else -1, EXIT_BADINPUT. */
DD_MUST int life_trash(const char* run_dir, const Common* c, LifeRedo* r);
/* Status recorded in <run_dir>/run_record.json, or "" when there is none. */
void life_prev_status(const char* run_dir, char out[16]);
/* For a finished run: which of `paths` differ in content from what its provenance.json
 * recorded (comma-separated names into out); returns the count. */
int  life_changed_inputs(const char* run_dir, const char* const* paths, int n, char* out, size_t cap);

/* ---- tools whose outputs are plain files ---- */

/* Default run dir for a tool whose outputs are plain files: <dir>/_runs/<name>;
 * -1 (err) when it does not fit in cap. */
DD_MUST int life_default_dir(char* out, size_t cap, const char* primary_output, char err[ERR_LEN]);
/* Before a plain-file tool (its run dir run_dir) writes output: an output already there
 * that no run wrote (no run record: placed by hand) or that changed after the completed
 * run wrote it is never overwritten: -1, err naming it (bad input). An unfinished run's is redone. */
DD_MUST int life_guard_output(const char* run_dir, const char* output, char err[ERR_LEN]);
/* A tool writing plain files outputs[0..n): their dirs made, its run dir (--run_dir, else
 * <dir>/_runs/<first output>) into run, and with guard each output guarded (above);
 * -1 (err; bad input) when a dir cannot be made, a path does not fit, or an output is guarded. */
DD_MUST int life_plain_outputs(char run[4096], const Common* c, const char* const* outputs, int n, int guard, char err[ERR_LEN]);

/* ---- temporaries, trees, publishing ---- */

/* Removes the temporaries killed writers left under a run dir (see is_stale_temp), skipping
 * nested run dirs (their own lock guards them) and .trash. Call with the run's lock held
 * (track_open does). */
void life_clear_temps(const char* run_dir);
/* Removes <output>.tmp.<pid> files a killed run left beside an output outside its run dir;
 * with the run's lock held. */
void life_clear_output_temps(const char* output);
/* Removes the "<name>.tmp.<pid>" files directly in dir whose writer is no longer running
 * (a process killed mid-write); a live writer's temporary is left alone. For directories
 * outside any run dir that several processes write (Make's settings stamps). */
void life_clear_dead_temps(const char* dir);
/* Removes a file, or a directory and everything under it (nftw; symlinks not followed,
 * no shell). 0, or -1 when something could not be removed. */
int  life_rm_tree(const char* path);
/* Publishes a finished directory tmp (beside final) as final, crash-safe: tmp fsync'd;
 * an existing final renamed aside to "<final>.old.<pid>" (a stale temp the next start
 * clears) rather than deleted first; tmp renamed to final; the parent fsync'd; the old
 * one removed. A crash at any point leaves final whole (old or new) or absent, never
 * half-written. Checkpoints (lib/nn/ckpt) and TTT's resume state (lib/algo/ttt) use it. */
DD_MUST int life_publish_dir(const char* tmp, const char* final, char err[ERR_LEN]);

/* ---- step directories: <run_dir>/<prefix>_step_NNNNNNN ---- */

/* <run_dir>/<prefix>_step_NNNNNNN into out; -1 (err) when it does not fit. */
DD_MUST int life_step_dir(char* out, size_t cap, const char* run_dir, const char* prefix, long step, char err[ERR_LEN]);
/* Steps of the complete <prefix>_step_* dirs in run_dir (not temporaries), newest first;
 * returns the count. The first cap found are sorted, so cap must exceed the count for
 * steps[0] to be the newest. */
int  life_steps(const char* run_dir, const char* prefix, long* steps, int cap);
/* Removes `file` (e.g. the optimizer state) from every step dir but the newest `keep`:
 * older checkpoints keep their weights, only the newest stay resumable. -1 (err) when a
 * file could not be removed. */
DD_MUST int life_prune_state(const char* run_dir, const char* prefix, long keep, const char* file, char err[ERR_LEN]);

#endif
