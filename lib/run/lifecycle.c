/* lifecycle: see lifecycle.h. */
#include "lifecycle.h"
#include "atomic.h"
#include "hash.h"
#include "json.h"
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

/* ---- a run dir that already holds a run ---- */

int life_default_dir(char* out, size_t cap, const char* primary, char err[ERR_LEN]) {
    char d[4096];
    if (path_dirname(d, sizeof d, primary, err)) return -1;
    return path_fmt(out, cap, err, "%s/_runs/%s", d, path_basename(primary));
}

void life_prev_status(const char* run_dir, char out[16]) {
    char p[4200], err[ERR_LEN];
    out[0] = 0;
    /* a run dir too long for p holds no record (the system refuses paths that long) */
    if (path_join(p, sizeof p, run_dir, "run_record.json", err) || !path_exists(p)) return;
    json_t* r = json_load_path(p, err);
    if (r) snprintf(out, 16, "%s", jget_str(r, "status", ""));
    json_decref(r);
}

int life_changed_inputs(const char* run_dir, const char* const* paths, int n, char* out, size_t cap) {
    char p[4200], err[ERR_LEN], hex[HASH_HEX];
    json_t* prov = path_join(p, sizeof p, run_dir, "provenance.json", err) ? NULL : json_load_path(p, err);   /* none: all changed */
    int changed = 0;
    size_t used = 0;
    out[0] = 0;
    for (int k = 0; k < n; k++) {
        const char* rec = NULL;
        size_t i;
        json_t* o;
        json_array_foreach(json_object_get(prov, "inputs"), i, o)
            if (!strcmp(path_basename(jget_str(o, "path", "")), path_basename(paths[k]))) rec = jget_str(o, "sha256", "");
        if (hash_file(paths[k], hex, err) == 0 && rec && !strcmp(rec, hex)) continue;
        changed++;
        used += snprintf(out + used, used < cap ? cap - used : 0, "%s%s", changed > 1 ? ", " : "", paths[k]);
    }
    json_decref(prov);
    return changed;
}

/* A JSON value as text for a message: strings bare, others compact. */
static void value_text(const json_t* v, char* out, size_t cap) {
    if (!v) { snprintf(out, cap, "(unset)"); return; }
    if (json_is_string(v)) { snprintf(out, cap, "%s", json_string_value(v)); return; }
    char* s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(out, cap, "%s", s ? s : "?");
    free(s);
}

/* "lr 0.001, steps 8" (then) and "0.002, 16" (now): the result-affecting settings that differ. */
/* The JSON of key's default, as cfg_to_json writes a value (NULL: no default or no such key). */
static json_t* default_json(const Opt* opts, const char* key) {
    const Opt* o = cfg_find(opts, key);
    if (!o || !o->def) return NULL;
    Opt one[2] = {*o, {0}};
    one[0].off = 0;
    union { long l; double d; int i; const char* s; json_t* j; } v;   /* every option field type */
    memset(&v, 0, sizeof v);
    char err[ERR_LEN];
    if (cfg_set(&one[0], &v, o->def, "default", err)) return NULL;
    json_t* obj = cfg_to_json(one, &v);
    json_t* d = json_incref(json_object_get(obj, key));
    json_decref(obj);
    if (o->type == OPT_JSON) json_decref(v.j);
    return d;
}

/* A key the earlier run's settings do not have (an option added since) counts as its
 * default there: adding an option with the old behaviour as its default redoes nothing. */
static int settings_diff(const Opt* opts, const json_t* then, const json_t* now, const char* const* ignore, char* was, char* is,
                         size_t cap) {
    int n = 0;
    size_t uw = 0, ui = 0;
    was[0] = is[0] = 0;
    const char* key;
    json_t* v;
    json_object_foreach((json_t*)now, key, v) {
        int skip = 0;
        for (int k = 0; ignore && ignore[k]; k++) skip |= !strcmp(ignore[k], key);
        json_t* old = json_object_get(then, key);
        if (!skip && !old) {
            json_t* d = default_json(opts, key);
            int same = d && json_equal(d, v);
            json_decref(d);
            if (same) continue;
        }
        if (skip || (old && json_equal(old, v)) || (!old && json_is_null(v))) continue;
        char a[256], b[256];
        value_text(old, a, sizeof a);
        value_text(v, b, sizeof b);
        if (json_is_number(old) && json_is_number(v)) {   /* 0.003, not 0.0030000000000000001, unless that is the difference */
            snprintf(a, sizeof a, "%g", json_number_value(old));
            snprintf(b, sizeof b, "%g", json_number_value(v));
            if (!strcmp(a, b)) { snprintf(a, sizeof a, "%.17g", json_number_value(old)); snprintf(b, sizeof b, "%.17g", json_number_value(v)); }
        }
        uw += snprintf(was + uw, uw < cap ? cap - uw : 0, "%s%s %s", n ? ", " : "", key, a);
        ui += snprintf(is + ui, ui < cap ? cap - ui : 0, "%s%s", n ? ", " : "", b);
        n++;
    }
    return n;
}

int life_begin(const char* run_dir, const ToolSpec* spec, const void* st, const Common* c, const char* const* ignore,
                     const char* own_was, const char* own_is, const char* const* inputs, int nin, LifeRedo* r) {
    r->moved[0] = r->why[0] = r->err[0] = 0;
    if (!c->resume) {   /* --no-resume: start over (a completed run only with --force) */
        if (life_trash(run_dir, c, r)) return -1;
        snprintf(r->why, sizeof r->why, "--no-resume");
        return 0;
    }
    char prev[16], p[4200], err[ERR_LEN], was[1024], is[1024], ins[2048] = "";
    life_prev_status(run_dir, prev);
    if (!*prev) return 0;
    if (!strcmp(prev, "gated")) {   /* a RED gate's stop stands until FORCE=1, in every tool */
        if (!c->force) {
            snprintf(r->err, sizeof r->err, "%s: stopped by a RED gate (see _run_tracker/events.jsonl) — FORCE=1 to redo it", run_dir);
            r->err_exit = EXIT_GATED;
            return -1;
        }
        snprintf(r->why, sizeof r->why, "stopped by a RED gate");
        return life_trash(run_dir, c, r) ? -1 : 0;
    }
    int done = !strcmp(prev, "completed");
    internal_check(path_join(p, sizeof p, run_dir, "_run_tracker/settings.json", err) == 0, "%s", err);   /* its record fit */
    json_t* then = path_exists(p) ? json_load_path(p, err) : NULL;
    json_t* now = cfg_to_json(spec->opts, st);
    int nset = then ? settings_diff(spec->opts, then, now, ignore, was, is, sizeof was) : 0;
    if (own_was && *own_was) {   /* a difference the tool derives itself */
        size_t lw = strlen(was), li = strlen(is);
        snprintf(was + lw, sizeof was - lw, "%s%s", nset ? ", " : "", own_was);
        snprintf(is + li, sizeof is - li, "%s%s", nset ? ", " : "", own_is);
        nset++;
    }
    json_decref(then);
    json_decref(now);
    int nin_changed = done ? life_changed_inputs(run_dir, inputs, nin, ins, sizeof ins) : 0;
    if (!nset && !nin_changed) return done;
    char what[3200];
    snprintf(what, sizeof what, "%s%s%s%s%s%s%s%s", done ? "completed" : "started", nset ? " with " : "", nset ? was : "",
             nset ? "; now " : "", nset ? is : "", nin_changed ? (nset ? ", and " : ", but ") : "", nin_changed ? ins : "",
             nin_changed ? " changed since" : "");
    if (!c->force) {
        snprintf(r->err, sizeof r->err, "%s: %s — FORCE=1 to %s", run_dir, what, done ? "redo it" : "start it over");
        r->err_exit = EXIT_BADINPUT;
        return -1;
    }
    snprintf(r->why, sizeof r->why, "%s", what);
    Common forced = *c;
    forced.force = 1;
    return life_trash(run_dir, &forced, r);
}

int life_guard_output(const char* run_dir, const char* output, char err[ERR_LEN]) {
    if (!path_exists(output)) return 0;
    char p[4200], hex[HASH_HEX], st[16];
    if (path_join(p, sizeof p, run_dir, "run_record.json", err)) return -1;
    if (!path_exists(p))
        return errf(err, "%s: already there, and no run wrote it (placed by hand?): it is never overwritten. To pretrain on "
                    "your own text set corpus: {train: PATH, val: PATH} in the config (docs/operations.md); else move it away", output);
    life_prev_status(run_dir, st);
    if (strcmp(st, "completed")) return 0;   /* our own unfinished run's: it is redone */
    if (path_join(p, sizeof p, run_dir, "provenance.json", err)) return -1;
    json_t* prov = json_load_path(p, err);
    const char* rec = NULL;
    size_t i;
    json_t* o;
    json_array_foreach(json_object_get(prov, "outputs"), i, o)
        if (!strcmp(path_basename(jget_str(o, "path", "")), path_basename(output))) rec = jget_str(o, "sha256", "");
    int edited = rec && hash_file(output, hex, err) == 0 && strcmp(rec, hex);
    json_decref(prov);
    if (edited)
        return errf(err, "%s: changed by hand since the run in %s wrote it: it is never overwritten; move it away to regenerate it",
                    output, run_dir);
    return 0;
}

int life_plain_outputs(char run[4096], const Common* c, const char* const* outputs, int n, int guard, char err[ERR_LEN]) {
    char d[4096];
    if (c->run_dir ? path_fmt(run, 4096, err, "%s", c->run_dir) : life_default_dir(run, 4096, outputs[0], err)) return -1;
    for (int i = 0; i < n; i++)   /* every path fits before anything is made */
        if (path_fmt(d, sizeof d, err, "%s", outputs[i])) return -1;
    for (int i = 0; i < n; i++) {
        internal_check(path_dirname(d, sizeof d, outputs[i], err) == 0, "%s", err);   /* shorter than the output */
        if (mkdir_p(d, err)) return -1;
    }
    for (int i = 0; guard && i < n; i++)
        if (life_guard_output(run, outputs[i], err)) return -1;
    return 0;
}

/* --no-resume over earlier outputs: move them to <parent>/.trash/<time>/, never delete. */
int life_trash(const char* out, const Common* c, LifeRedo* r) {
    char st[16], parent[4096], stamp[32], dir[4096];
    r->moved[0] = 0;
    r->err_exit = EXIT_BADINPUT;
    if (!is_dir(out)) return 0;
    life_prev_status(out, st);
    if (!strcmp(st, "completed") && !c->force)
        return errf(r->err, "%s: a completed run; --no-resume would redo it: add --force (old outputs go to .trash/)", out);
    if (path_dirname(parent, sizeof parent, out, r->err)) return -1;
    iso_time(stamp, now_wall());
    if (path_fmt(r->moved, sizeof r->moved, r->err, "%s/.trash/%s/%s", parent, stamp, path_basename(out))) return -1;
    for (int k = 2; path_exists(r->moved) && k < 1000; k++)   /* two moves in one second */
        if (path_fmt(r->moved, sizeof r->moved, r->err, "%s/.trash/%s-%d/%s", parent, stamp, k, path_basename(out))) return -1;
    if (path_dirname(dir, sizeof dir, r->moved, r->err)) return -1;
    r->err_exit = EXIT_FAIL;
    if (mkdir_p(dir, r->err)) return -1;
    if (rename(out, r->moved) != 0) return errf(r->err, "%s: cannot move aside to %s", out, r->moved);
    return 0;
}


/* ---- temporaries, trees, publishing ---- */

/* Removes the temporaries killed writers left under dir (see is_stale_temp),
 * skipping nested run dirs (their own lock guards them) and .trash. */
static void clear_temps(const char* dir, int depth) {
    DIR* d = opendir(dir);
    if (!d) return;
    struct dirent* e;
    char p[4400], err[ERR_LEN];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".trash"))) continue;
        /* dir opened, so it is under 4096 bytes; with a name (under 256) it fits p */
        internal_check(path_join(p, sizeof p, dir, e->d_name, err) == 0, "%s", err);
        if (is_stale_temp(e->d_name)) { life_rm_tree(p); continue; }
        struct stat st;
        if (depth >= 8 || lstat(p, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        char q[4500];
        internal_check(path_join(q, sizeof q, p, "_run_tracker", err) == 0, "%s", err);
        if (!path_exists(q)) clear_temps(p, depth + 1);
    }
    closedir(d);
}

void life_clear_temps(const char* run_dir) { clear_temps(run_dir, 0); }

void life_clear_output_temps(const char* output) {
    char d[4096], p[4400], err[ERR_LEN];
    if (path_dirname(d, sizeof d, output, err)) return;   /* no file that long was ever written */
    const char* base = path_basename(output);
    size_t n = strlen(base);
    DIR* dir = opendir(d);
    if (!dir) return;
    struct dirent* e;
    while ((e = readdir(dir)))
        if (!strncmp(e->d_name, base, n) && !strncmp(e->d_name + n, ".tmp.", 5) && is_stale_temp(e->d_name)) {
            internal_check(path_join(p, sizeof p, d, e->d_name, err) == 0, "%s", err);
            life_rm_tree(p);
        }
    closedir(dir);
}

static int rm_one(const char* p, const struct stat* st, int flag, struct FTW* ftw) {
    (void)st; (void)ftw;
    return (flag == FTW_DP ? rmdir(p) : unlink(p)) != 0 && errno != ENOENT;
}

int life_rm_tree(const char* path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) ? -1 : 0;
}

int life_publish_dir(const char* tmp, const char* final, char err[ERR_LEN]) {
    if (!is_dir(tmp)) {
        errf(err, "%s: cannot publish %s: not a directory", final, tmp);
        return -1;
    }
    fsync_dir(tmp);
    char old[4300] = "", parent[4096];
    if (path_exists(final)) {
        snprintf(old, sizeof old, "%s.old.%d", final, (int)getpid());
        life_rm_tree(old);
        if (rename(final, old) != 0) {
            errf(err, "%s: cannot move aside to replace it: %s", final, strerror(errno));
            return -1;
        }
    }
    if (rename(tmp, final) != 0) {
        errf(err, "%s: cannot publish %s: %s", final, tmp, strerror(errno));
        if (*old) rename(old, final);   /* the previous one back in place */
        return -1;
    }
    if (path_dirname(parent, sizeof parent, final, err) == 0) fsync_dir(parent);
    if (*old) life_rm_tree(old);
    return 0;
}

void life_clear_dead_temps(const char* dir) {
    DIR* d = opendir(dir);
    if (!d) return;
    for (struct dirent* e; (e = readdir(d));) {
        const char* t = strstr(e->d_name, ".tmp.");
        if (!t || !is_stale_temp(e->d_name)) continue;
        long pid = strtol(t + 5, NULL, 10);
        if (pid <= 0 || pid_alive(pid)) continue;   /* alive (or someone else's): not ours to judge */
        char p[4400], err[ERR_LEN];
        if (path_join(p, sizeof p, dir, e->d_name, err) == 0) unlink(p);
    }
    closedir(d);
}


/* ---- step directories: <prefix>_step_NNNNNNN ---- */

int life_step_dir(char* out, size_t cap, const char* run_dir, const char* prefix, long step, char err[ERR_LEN]) {
    return path_fmt(out, cap, err, "%s/%s_step_%07ld", run_dir, prefix, step);
}

static int cmp_desc(const void* a, const void* b) {
    long x = *(const long*)a, y = *(const long*)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int life_steps(const char* run_dir, const char* prefix, long* steps, int cap) {
    DIR* d = opendir(run_dir);
    if (!d) return 0;
    int n = 0;
    size_t pl = strlen(prefix);
    struct dirent* e;
    while ((e = readdir(d)) && n < cap) {
        const char* nm = e->d_name;
        if (strncmp(nm, prefix, pl) || strncmp(nm + pl, "_step_", 6)) continue;
        const char* digits = nm + pl + 6;
        char* end;
        long s = strtol(digits, &end, 10);
        if (end - digits != 7 || *end) continue;     /* skips .tmp.<pid> and .old dirs */
        steps[n++] = s;
    }
    closedir(d);
    qsort(steps, n, sizeof *steps, cmp_desc);
    return n;
}

int life_prune_state(const char* run_dir, const char* prefix, long keep, const char* file, char err[ERR_LEN]) {
    long all[4096];
    int n = life_steps(run_dir, prefix, all, 4096);
    for (int i = (int)(keep < 0 ? 0 : keep); i < n; i++) {
        char d[4096], f[4200];
        if (life_step_dir(d, sizeof d, run_dir, prefix, all[i], err) || path_join(f, sizeof f, d, file, err)) return -1;
        if (unlink(f) != 0 && errno != ENOENT) return errf(err, "%s: cannot remove: %s", f, strerror(errno));
    }
    return 0;
}
