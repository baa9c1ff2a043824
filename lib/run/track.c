/* track: see track.h. All files go through json_write_atomic / append_record,
 * so a crash leaves the previous heartbeat, never a torn one. */
#include "track.h"
#include "lifecycle.h"
#include <omp.h>
#include "atomic.h"
#include "hash.h"
#include "json.h"
#include <dirent.h>
#include <glob.h>
#include <math.h>
#include <png.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

extern char* openblas_get_config(void);

static Tracker* g_active;          /* for the die() hook */

/* t->dir fits its buffer (track_open checks) and rel is a short name of this module's,
 * so the join always fits the callers' 4200 bytes: a failure is a bug. */
static void tpath(const Tracker* t, char* out, size_t cap, const char* rel) {
    char err[ERR_LEN];
    internal_check(path_join(out, cap, t->dir, rel, err) == 0, "%s", err);
}

/* A failure whose message is in t->err: records the exit code it calls for; -1. */
static int fail(Tracker* t, int code) {
    t->err_exit = code;
    return -1;
}

static void die_hook(const char* line) {
    Tracker* t = g_active;
    if (!t) return;
    char p[4200], err[ERR_LEN];
    tpath(t, p, sizeof p, "logs/stdout.log");
    append_record(p, line, err);
    if (track_finish(t, "failed", line)) return;   /* best effort: the tool is exiting with its own code */
}

static void cpu_model(char* out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE* f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10)) {
            char* c = strchr(line, ':');
            if (c) { c += 2; c[strcspn(c, "\n")] = 0; snprintf(out, cap, "%s", c); }
            break;
        }
    }
    fclose(f);
}

static json_t* hardware(const Tracker* t) {
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return json_pack("{s:s, s:s, s:i, s:i, s:n}", "host", t->host, "cpu", cpu, "cores", (int)cores,
                     "threads", omp_get_max_threads(), "gpu");   /* what the tool set: its share (threads_share) or --threads */
}

static int write_env(Tracker* t) {
    struct utsname u;
    uname(&u);
    char os[600], p[4200];
    snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    json_t* libs = json_pack("{s:s, s:s, s:s, s:s, s:s}", "jansson", jansson_version_str(),
                             "libyaml", yaml_get_version_string(), "libpng", PNG_LIBPNG_VER_STRING,
                             "openblas", openblas_get_config(), "compiler", __VERSION__);
    json_t* env = json_pack("{s:s, s:o, s:s, s:o}", "tool", t->tool, "hardware", hardware(t), "os", os, "libraries", libs);
    tpath(t, p, sizeof p, "env.json");
    int rc = json_write_atomic(p, env, t->err);
    json_decref(env);
    return rc ? fail(t, EXIT_FAIL) : 0;
}

static void run_capture(const char* cmd, char* out, size_t cap) {
    out[0] = 0;
    FILE* f = popen(cmd, "r");
    if (!f) return;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    pclose(f);
}

static int write_git(Tracker* t) {
    char commit[128], branch[256], dirty[4096], p[4200];
    run_capture("git rev-parse HEAD 2>/dev/null", commit, sizeof commit);
    commit[strcspn(commit, "\n")] = 0;
    run_capture("git rev-parse --abbrev-ref HEAD 2>/dev/null", branch, sizeof branch);
    branch[strcspn(branch, "\n")] = 0;
    /* no index.lock: a kill -9 of the run (or of its make) must never leave the repository locked */
    run_capture("GIT_OPTIONAL_LOCKS=0 git status --porcelain --untracked-files=no 2>/dev/null | head -50", dirty, sizeof dirty);
    json_t* g = *commit ? json_pack("{s:b, s:s, s:s, s:b}", "available", 1, "commit", commit, "branch", branch, "dirty", *dirty != 0)
                        : json_pack("{s:b}", "available", 0);
    tpath(t, p, sizeof p, "git.json");
    int rc = json_write_atomic(p, g, t->err);
    json_decref(g);
    return rc ? fail(t, EXIT_FAIL) : 0;
}

static double elapsed(const Tracker* t) { return t->prior_sec + (now_mono() - t->t0_mono); }

static int write_record(Tracker* t, int final) {
    char p[4200], start[32], end[32];
    tpath(t, p, sizeof p, "run_record.json");
    json_t* argv = json_array();
    for (int i = 0; i < t->common->argc; i++) json_array_append_new(argv, json_string(t->common->argv[i]));
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "?");
    iso_time(start, t->t0_wall);
    double dur = elapsed(t);
    json_t* r = json_pack("{s:s, s:o, s:s, s:s, s:s, s:f, s:o, s:{s:f, s:f}, s:I}", "tool", t->tool, "argv", argv,
                          "cwd", cwd, "status", t->status, "start", start, "duration_sec", dur,
                          "hardware", hardware(t), "cost", "cost_per_hour", t->common->cost_per_hour,
                          "estimate_usd", t->common->cost_per_hour * dur / 3600.0, "resumed_from", (json_int_t)t->resumed_from);
    if (final) {
        iso_time(end, now_wall());
        json_object_set_new(r, "end", json_string(end));
    }
    if (t->summary) json_object_update(r, t->summary);
    int rc = json_write_atomic(p, r, t->err);
    json_decref(r);
    return rc ? fail(t, EXIT_FAIL) : 0;
}

int track_heartbeat_now(Tracker* t) {
    char p[4200], now[32];
    iso_time(now, now_wall());
    double progress = t->total > 0 ? (double)t->step / t->total : 0.0;
    json_t* eta = json_null();
    if (!strcmp(t->status, "completed")) eta = json_real(0);
    else if (t->total > 0 && t->rate > 0) eta = json_real((t->total - t->step) / t->rate);
    json_t* hb = json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:o, s:f, s:s, s:I, s:s, s:i, s:s, s:s, s:f}",
                           "tool", t->tool, "phase", t->phase, "status", t->status,
                           "step", (json_int_t)t->step, "total_steps", (json_int_t)t->total, "progress", progress,
                           "eta_sec", eta, "rate", t->rate, "reason", "", "resumed_from", (json_int_t)t->resumed_from,
                           "current_unit", t->unit, "pid", (int)getpid(), "host", t->host, "updated_at", now,
                           "elapsed_sec", elapsed(t));
    if (t->live) json_object_set(hb, "live", t->live);
    tpath(t, p, sizeof p, "_run_tracker/heartbeat.json");
    int rc = json_write_atomic(p, hb, t->err);
    json_decref(hb);
    if (rc) return fail(t, EXIT_FAIL);
    t->hb_mono = now_mono();
    t->hb_step = t->step;
    return 0;
}

static int heartbeat_reason(Tracker* t, const char* reason) {
    char p[4200], err[ERR_LEN];
    if (track_heartbeat_now(t)) return -1;
    tpath(t, p, sizeof p, "_run_tracker/heartbeat.json");
    json_t* hb = json_load_path(p, err);
    if (!hb) return 0;
    json_object_set_new(hb, "reason", json_string(reason ? reason : ""));
    json_write_atomic(p, hb, err);
    json_decref(hb);
    return 0;
}

int track_event(Tracker* t, const char* type, json_t* fields) {
    char p[4200], now[32];
    iso_time(now, now_wall());
    json_t* e = json_pack("{s:s, s:s, s:I}", "time", now, "event", type, "step", (json_int_t)t->step);
    if (fields) { json_object_update(e, fields); json_decref(fields); }
    tpath(t, p, sizeof p, "_run_tracker/events.jsonl");
    int rc = json_append_line(p, e, t->err);
    json_decref(e);
    return rc ? fail(t, EXIT_FAIL) : 0;
}

int track_gates(Tracker* t, const json_t* records, int say) {
    size_t i;
    json_t* r;
    json_array_foreach(records, i, r) {
        if (say)
            track_say(t, "gate %s: %s = %.4f at step %ld", jget_str(r, "verdict", ""), jget_str(r, "metric", ""),
                      jget_num(r, "value", 0), (long)jget_int(r, "step", 0));
        if (track_event(t, "gate", json_incref(r))) return -1;
    }
    return 0;
}

int track_redo_event(Tracker* t, const LifeRedo* r) {
    if (!*r->moved) return 0;
    return track_event(t, "discard", json_pack("{s:s, s:s}", "moved_to", r->moved, "reason", r->why));
}

int track_open(Tracker* t, const char* run_dir, const ToolSpec* spec, const void* st, const Common* c, const char* phase) {
    memset(t, 0, sizeof *t);
    char err[ERR_LEN], p[4200];
    if (path_fmt(t->dir, sizeof t->dir, t->err, "%s", run_dir)) return fail(t, EXIT_BADINPUT);
    snprintf(t->tool, sizeof t->tool, "%s", spec->tool);
    snprintf(t->phase, sizeof t->phase, "%s", phase);
    snprintf(t->status, sizeof t->status, "running");
    t->common = c;
    t->t0_wall = now_wall();
    t->t0_mono = now_mono();
    t->tty = isatty(2);
    t->inputs = json_array();
    t->outputs = json_array();
    t->required = json_array();
    gethostname(t->host, sizeof t->host - 1);
    const char* sub[] = {"", "_run_tracker", "logs", "control"};
    for (int i = 0; i < 4; i++) {
        tpath(t, p, sizeof p, sub[i]);
        if (mkdir_p(p, t->err)) return fail(t, EXIT_BADINPUT);
    }
    /* One live process per run dir: a second would interleave checkpoints.
     * flock is released by the kernel however the holder dies (kill -9 too). */
    tpath(t, p, sizeof p, "_run_tracker/lock");
    int lfd = open(p, O_RDWR | O_CREAT, 0666);
    if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) != 0) {
        char holder[32] = "?";
        if (lfd >= 0) { ssize_t r = pread(lfd, holder, sizeof holder - 1, 0); holder[r > 0 ? r : 0] = 0; holder[strcspn(holder, "\n")] = 0; close(lfd); }
        errf(t->err, "%s: run dir in use by another live process (pid %s)", t->dir, holder);
        return fail(t, EXIT_BADINPUT);
    }
    char pid[32];
    int pl = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(lfd, 0) == 0 && pwrite(lfd, pid, pl, 0) != pl) { /* informative only */ }
    /* This process holds the run: temporaries of killed earlier ones go. */
    life_clear_temps(t->dir);
    /* Carry the time already spent across resumes, for duration and cost. */
    tpath(t, p, sizeof p, "run_record.json");
    if (path_exists(p)) {
        json_t* r = json_load_path(p, err);
        if (r && strcmp(jget_str(r, "status", ""), "completed")) t->prior_sec = jget_num(r, "duration_sec", 0);
        json_decref(r);
    }
    tpath(t, p, sizeof p, "config_resolved.yaml");
    if (cfg_write_resolved(spec, st, c, p, t->err)) return fail(t, EXIT_BADINPUT);
    tpath(t, p, sizeof p, "_run_tracker/settings.json");   /* what life_begin compares with */
    json_t* settings = cfg_to_json(spec->opts, st);
    int rc = json_write_atomic(p, settings, t->err);
    json_decref(settings);
    if (rc) return fail(t, EXIT_FAIL);
    if (write_env(t) || write_git(t)) return -1;
    g_active = t;   /* from here a tool's die() marks the run failed */
    util_set_die_hook(die_hook);
    if (write_record(t, 0) || track_heartbeat_now(t)) return -1;
    return track_event(t, "start", json_pack("{s:s, s:i}", "tool", t->tool, "pid", (int)getpid()));
}

void track_total(Tracker* t, long total) { t->total = total; }
void track_phase(Tracker* t, const char* phase) { snprintf(t->phase, sizeof t->phase, "%s", phase); }

int track_resumed(Tracker* t, long from) {
    t->resumed_from = from;
    t->step = from;
    t->hb_step = from;
    if (track_event(t, "resume", json_pack("{s:I}", "from_step", (json_int_t)from))) return -1;
    return track_heartbeat_now(t);
}

static void draw_bar(Tracker* t) {
    double now = now_mono();
    if (!t->tty || (now - t->bar_mono < 0.2 && t->step < t->total)) return;
    t->bar_mono = now;
    double frac = t->total > 0 ? (double)t->step / t->total : 0;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    char eta[32] = "--";
    if (t->rate > 0 && t->total > 0) {
        long s = (long)((t->total - t->step) / t->rate);
        snprintf(eta, sizeof eta, "%ldm%02lds", s / 60, s % 60);
    }
    fprintf(stderr, "\r%s [%s] %5.1f%% %ld/%ld %.1f/s eta %s ", t->phase, bar, 100 * frac, t->step, t->total, t->rate, eta);
    if (t->step >= t->total) fputc('\n', stderr);
}

int track_progress(Tracker* t, long step, const char* unit) {
    t->step = step;
    if (unit) snprintf(t->unit, sizeof t->unit, "%s", unit);
    double now = now_mono(), dt = now - t->hb_mono;
    if (dt >= 1.0 || step >= t->total) {
        double inst = dt > 0 ? (step - t->hb_step) / dt : 0;
        /* Time-aware exponential smoothing: tau = 10 s, first sample taken as is. */
        double a = t->rate > 0 ? 1.0 - exp(-dt / 10.0) : 1.0;
        if (inst > 0 || t->rate > 0) t->rate = t->rate + a * (inst - t->rate);
        if (track_heartbeat_now(t)) return -1;
    }
    draw_bar(t);
    return 0;
}

void track_say(Tracker* t, const char* fmt, ...) {
    char msg[4096], p[4200], err[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    if (!t || !t->quiet) {
        printf("%s\n", msg);
        fflush(stdout);
    }
    if (t) {
        tpath(t, p, sizeof p, "logs/stdout.log");
        append_record(p, msg, err);
    }
}

static int lists_output(const char* prov_path, const char* base) {
    char err[ERR_LEN];
    json_t* prov = json_load_path(prov_path, err);
    size_t i;
    json_t* o;
    int found = 0;
    json_array_foreach(json_object_get(prov, "outputs"), i, o)
        found |= !strcmp(path_basename(jget_str(o, "path", "")), base);
    json_decref(prov);
    return found;
}

/* The run that produced `path`, by the layout convention: a file's run is
 * <dir>/_runs/<name>, or the <dir>/_runs/ run whose provenance lists it (one
 * run may write several files); a checkpoint file's run is the dir holding the
 * checkpoint dir (or the file's own dir). */
static int upstream_run(const char* path, char out[4096]) {
    char d[4096], rec[4200], pat[4200], err[ERR_LEN];
    /* A run dir that does not fit 4096 bytes cannot exist (the system's limit): not it. */
    if (life_default_dir(out, 4096, path, err) == 0 && path_join(rec, sizeof rec, out, "run_record.json", err) == 0 &&
        path_exists(rec))
        return 1;
    /* path exists, so it is under 4096 bytes: what follows fits */
    internal_check(path_dirname(d, sizeof d, path, err) == 0, "%s", err);
    internal_check(path_fmt(pat, sizeof pat, err, "%s/_runs/*/provenance.json", d) == 0, "%s", err);
    glob_t g;
    int found = 0;
    if (glob(pat, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc && !found; i++)
            if (lists_output(g.gl_pathv[i], path_basename(path))) {
                internal_check(path_dirname(out, 4096, g.gl_pathv[i], err) == 0, "%s", err);
                found = 1;
            }
    globfree(&g);
    if (found) return 1;
    /* A checkpoint's files: <run>/<ckpt>/model.safetensors, the run two levels up. */
    for (int up = 0; up < 2; up++) {
        memcpy(out, d, sizeof d);
        internal_check(path_join(rec, sizeof rec, out, "run_record.json", err) == 0, "%s", err);
        if (path_exists(rec)) return 1;
        char parent[4096];
        internal_check(path_dirname(parent, sizeof parent, d, err) == 0, "%s", err);
        memcpy(d, parent, sizeof d);
    }
    return 0;
}

int track_input(Tracker* t, const char* path) {
    char hex[HASH_HEX], run[4096], p[4200];
    if (hash_file(path, hex, t->err)) return fail(t, EXIT_BADINPUT);
    json_t* in = json_pack("{s:s, s:s}", "path", path, "sha256", hex);
    if (upstream_run(path, run)) {
        char st[16];
        life_prev_status(run, st);
        if (strcmp(st, "completed")) {
            errf(t->err, "%s: produced by run %s, which is '%s', not completed", path, run, st);
            json_decref(in);
            return fail(t, EXIT_BADINPUT);
        }
        internal_check(path_join(p, sizeof p, run, "provenance.json", t->err) == 0, "%s", t->err);   /* its record fit */
        json_t* prov = path_exists(p) ? json_load_path(p, t->err) : NULL;
        size_t i;
        json_t* o;
        int changed = 0;
        json_array_foreach(json_object_get(prov, "outputs"), i, o) {
            if (!changed && !strcmp(path_basename(jget_str(o, "path", "")), path_basename(path)) &&
                strcmp(jget_str(o, "sha256", ""), hex)) {
                errf(t->err, "%s: content changed since run %s wrote it (sha256 %.12s, recorded %.12s); rerun that step",
                     path, run, hex, jget_str(o, "sha256", ""));
                changed = 1;
            }
        }
        json_decref(prov);
        if (changed) { json_decref(in); return fail(t, EXIT_BADINPUT); }
        json_object_set_new(in, "upstream_run", json_string(run));
    }
    json_array_append_new(t->inputs, in);
    return 0;
}

int track_output(Tracker* t, const char* path) {
    char hex[HASH_HEX];
    if (hash_file(path, hex, t->err)) return fail(t, EXIT_FAIL);
    FILE* f = fopen(path, "rb");
    long size = 0;
    if (f) { fseek(f, 0, SEEK_END); size = ftell(f); fclose(f); }
    json_array_append_new(t->outputs, json_pack("{s:s, s:s, s:I}", "path", path, "sha256", hex, "bytes", (json_int_t)size));
    return 0;
}

void track_require(Tracker* t, const char* rel) { json_array_append_new(t->required, json_string(rel)); }

int track_artifacts(Tracker* t) {
    char p[4200];
    json_t* req = json_array();
    size_t i, missing = 0;
    json_t* r;
    json_array_foreach(t->required, i, r) {
        const char* rel = json_string_value(r);
        if (rel[0] == '/' ? path_fmt(p, sizeof p, t->err, "%s", rel) : path_join(p, sizeof p, t->dir, rel, t->err)) {
            json_decref(req);
            return fail(t, EXIT_FAIL);
        }
        int present = path_exists(p);
        missing += !present;
        json_array_append_new(req, json_pack("{s:s, s:b}", "path", rel, "present", present));
    }
    json_t* a = json_pack("{s:o, s:I, s:I}", "required", req, "present", (json_int_t)(json_array_size(t->required) - missing),
                          "missing", (json_int_t)missing);
    tpath(t, p, sizeof p, "_run_tracker/artifacts.json");
    int rc = json_write_atomic(p, a, t->err);
    json_decref(a);
    return rc ? fail(t, EXIT_FAIL) : 0;
}

void track_summary(Tracker* t, const char* key, json_t* value) {
    if (!t->summary) t->summary = json_object();
    json_object_set_new(t->summary, key, value);
}

void track_live(Tracker* t, const char* key, json_t* value) {
    if (!t->live) t->live = json_object();
    json_object_set_new(t->live, key, value);
}

int track_finish(Tracker* t, const char* status, const char* reason) {
    char p[4200];
    snprintf(t->status, sizeof t->status, "%s", status);
    if (!strcmp(status, "completed") && t->total > 0) t->step = t->total;
    if (heartbeat_reason(t, reason)) return -1;
    if (!strcmp(status, "completed")) {
        json_t* prov = json_pack("{s:s, s:O, s:O}", "tool", t->tool, "inputs", t->inputs, "outputs", t->outputs);
        tpath(t, p, sizeof p, "provenance.json");
        int rc = json_write_atomic(p, prov, t->err);
        json_decref(prov);
        if (rc) return fail(t, EXIT_FAIL);
    }
    if (track_artifacts(t) || write_record(t, 1)) return -1;
    const char* ev = !strcmp(status, "completed") ? "complete" : !strcmp(status, "failed") ? "fail"
                   : !strcmp(status, "paused") ? "pause" : status;
    if (track_event(t, ev, json_pack("{s:s, s:s, s:f}", "status", status, "reason", reason ? reason : "", "elapsed_sec", elapsed(t))))
        return -1;
    g_active = NULL;
    return 0;
}

