/* unconverted: for the tools not yet moved to the returning forms of the library (issue
 * 23: "library code returns errors; only tools exit"), the old calls that die. GNUmakefile
 * forces this header into those tools only (UNCONVERTED_TOOLS); each form below dies with
 * the message and exit code the library returns, as the library itself used to. Convert a
 * tool's calls (`if (track_input(&t, p)) die(t.err_exit, "%s", t.err);`), drop it from
 * that list, and when the list is empty delete this header. */
#ifndef DD_UNCONVERTED_H
#define DD_UNCONVERTED_H
#include <stdarg.h>
#include <stdlib.h>
#include "legacy_paths.h"
#include "ckpt.h"
#include "control.h"
#include "model.h"
#include "pipeline.h"
#include "track.h"

static inline void unconverted_cfg_cli(const ToolSpec* spec, int argc, char** argv, void* st, Common* c) {
    char err[ERR_LEN];
    int rc = cfg_cli(spec, argc, argv, st, c, err);
    if (rc < 0) die(EXIT_BADINPUT, "%s", err);
    if (rc > 0) exit(0);   /* --help */
}
__attribute__((noreturn, format(printf, 3, 4))) static inline void cfg_refuse(const Common* c, const char* key, const char* fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die(EXIT_BADINPUT, "%s: %s: %s", cfg_where(c), key, msg);
}
static inline void unconverted_track_open(Tracker* t, const char* run_dir, const ToolSpec* spec, const void* st,
                                          const Common* c, const char* phase) {
    if (track_open(t, run_dir, spec, st, c, phase)) die(t->err_exit, "%s", t->err);
}
static inline void unconverted_track_input(Tracker* t, const char* path) {
    if (track_input(t, path)) die(t->err_exit, "%s", t->err);
}
static inline void unconverted_track_output(Tracker* t, const char* path) {
    if (track_output(t, path)) die(t->err_exit, "%s", t->err);
}
static inline void unconverted_track_event(Tracker* t, const char* type, json_t* fields) {
    if (track_event(t, type, fields)) die(t->err_exit, "%s", t->err);
}
static inline void unconverted_track_progress(Tracker* t, long step, const char* unit) {
    if (track_progress(t, step, unit)) die(t->err_exit, "%s", t->err);
}
static inline void unconverted_track_resumed(Tracker* t, long from_step) {
    if (track_resumed(t, from_step)) die(t->err_exit, "%s", t->err);
}
static inline void unconverted_track_finish(Tracker* t, const char* status, const char* reason) {
    if (track_finish(t, status, reason)) die(t->err_exit, "%s", t->err);
}
static inline void unconverted_track_redo_event(Tracker* t, const TrackRedo* r) {
    if (track_redo_event(t, r)) die(t->err_exit, "%s", t->err);
}
static inline int unconverted_track_rerun_rule(const char* run_dir, const ToolSpec* spec, const void* st, const Common* c,
                                               const char* const* ignore, const char* own_was, const char* own_is,
                                               const char* const* inputs, int nin, TrackRedo* r) {
    int rc = track_rerun_rule(run_dir, spec, st, c, ignore, own_was, own_is, inputs, nin, r);
    if (rc < 0) die(r->err_exit, "%s", r->err);
    return rc;
}
static inline void unconverted_track_default_dir(char* out, size_t cap, const char* primary_output) {
    char err[ERR_LEN];
    if (track_default_dir(out, cap, primary_output, err)) die(EXIT_BADINPUT, "%s", err);
}
static Tracker* unconverted_control_t;   /* the tracker control_install was given */
static inline void unconverted_control_install(Tracker* t) {
    unconverted_control_t = t;
    control_install(t);
}
static inline int unconverted_control_pause_requested(void) {
    int rc = control_pause_requested();
    if (rc < 0) die(unconverted_control_t->err_exit, "%s", unconverted_control_t->err);
    return rc;
}
__attribute__((noreturn)) static inline void control_pause_exit(Tracker* t, const char* resume_state) {
    if (control_pause(t, resume_state)) die(t->err_exit, "%s", t->err);
    exit(EXIT_PAUSED);
}
static inline void unconverted_ckpt_dir_name(char* out, size_t cap, const char* run_dir, const char* prefix, long step) {
    char err[ERR_LEN];
    if (ckpt_dir_name(out, cap, run_dir, prefix, step, err)) die(EXIT_BADINPUT, "%s", err);
}
static inline void unconverted_model_use_device(Model* m, const char* device, const char* precision) {
    char err[ERR_LEN];
    if (model_use_device(m, device, precision, err)) die(EXIT_BADINPUT, "%s", err);
}
static inline void unconverted_pipeline_load(const char* config, PipelineCfg* p, PipelinePlan* plan) {
    char err[ERR_LEN];
    if (pipeline_load(config, p, plan, err)) die(EXIT_BADINPUT, "%s", err);
}

#define cfg_cli           unconverted_cfg_cli
#define track_open        unconverted_track_open
#define track_input       unconverted_track_input
#define track_output      unconverted_track_output
#define track_event       unconverted_track_event
#define track_progress    unconverted_track_progress
#define track_resumed     unconverted_track_resumed
#define track_finish      unconverted_track_finish
#define track_redo_event  unconverted_track_redo_event
#define track_rerun_rule  unconverted_track_rerun_rule
#define track_default_dir unconverted_track_default_dir
#define control_install   unconverted_control_install
#define control_pause_requested unconverted_control_pause_requested
#define ckpt_dir_name     unconverted_ckpt_dir_name
#define model_use_device  unconverted_model_use_device
#define pipeline_load     unconverted_pipeline_load

#endif
