/* sweep: see sweep.h. */
#include "sweep.h"
#include "json.h"
#include "runstat.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- claims and next work ---------------------------------------------- */

int sweep_trial_dir(char* out, size_t cap, const char* root, int trial, char err[ERR_LEN]) {
    char rel[64];
    snprintf(rel, sizeof rel, "trials/trial_%04d", trial);
    return path_join(out, cap, root, rel, err);
}

int sweep_claim_write(const char* root, int trial, const char* worker_id, const char* status, char err[ERR_LEN]) {
    char d[4200], p[4300], host[256] = "";
    if (sweep_trial_dir(d, sizeof d, root, trial, err) || path_join(p, sizeof p, d, "sweep_claim.json", err) || mkdir_p(d, err))
        return -1;
    gethostname(host, sizeof host - 1);
    json_t* c = json_pack("{s:s, s:i, s:s, s:s, s:f}", "worker_id", worker_id, "pid", (int)getpid(), "host", host, "status",
                          status, "updated", now_wall());
    int rc = json_write_atomic(p, c, err);
    json_decref(c);
    return rc;
}

/* NULL when there is none (a path too long for p is too long to exist). */
static json_t* read_claim(const char* root, int trial) {
    char d[4200], p[4300], err[ERR_LEN];
    if (sweep_trial_dir(d, sizeof d, root, trial, err) || path_join(p, sizeof p, d, "sweep_claim.json", err)) return NULL;
    return path_exists(p) ? json_load_path(p, err) : NULL;
}

/* Is the worker that claimed this trial gone? Same host: its pid is dead.
 * Another host: its claim has not been refreshed for stale_sec. */
static int claim_dead(const SweepConfig* sc, const json_t* c) {
    if (!c) return 1;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    int pid = (int)jget_int(c, "pid", 0);
    if (!strcmp(host, jget_str(c, "host", "")))
        return !pid_alive(pid);
    return now_wall() - jget_num(c, "updated", 0) > sc->stale_sec;
}

static int get_path_num(json_t* o, const char* key, double* v) {
    char k[256];
    snprintf(k, sizeof k, "%s", key);
    char* save = NULL;
    for (char* part = strtok_r(k, ".", &save); part; part = strtok_r(NULL, ".", &save)) o = json_object_get(o, part);
    if (!json_is_number(o)) return -1;
    *v = json_number_value(o);
    return isfinite(*v) ? 0 : -1;
}

int sweep_read_objective(const SweepConfig* sc, const char* trial_dir, double* v, char err[ERR_LEN]) {
    char p[4400];
    if (path_join(p, sizeof p, trial_dir, sc->objective_file, err)) return -1;
    json_t* o = json_load_path(p, err);
    if (!o) return -1;
    int rc = get_path_num(o, sc->objective, v);
    if (rc) errf(err, "%s: no finite number at '%s'", p, sc->objective);
    json_decref(o);
    return rc;
}

/* A trial whose worker died: keep a result that made it to disk, otherwise
 * FAIL it and enqueue a retry with the same params. */
static int recover(Journal* j, const SweepConfig* sc, const char* root, const Study* s, const Trial* t, char err[ERR_LEN]) {
    char d[4200], rerr[ERR_LEN];
    if (sweep_trial_dir(d, sizeof d, root, t->number, err)) return -1;
    RunStat rs;
    runstat_load(&rs, d, sc->stale_sec);
    int tool_live = !strcmp(rs.status, "running");   /* fresh heartbeat, or a live pid */
    char status[16];
    snprintf(status, sizeof status, "%s", rs.status);
    runstat_free(&rs);
    if (tool_live) return 0;                          /* not yet provably dead: later */
    double v;
    if (!strcmp(status, "completed") && sweep_read_objective(sc, d, &v, rerr) == 0) {
        fprintf(stderr, "sweep: trial %d: its worker died after the run completed; recording %s = %g\n", t->number, sc->objective, v);
        return journal_set_state(j, t->number, TRIAL_COMPLETE, &v, err) ? -1 : 1;
    }
    fprintf(stderr, "sweep: trial %d: worker dead, run %s: FAIL%s\n", t->number, status,
            t->attempt < sc->max_retries ? "; enqueueing a retry" : "; no retries left");
    if (journal_set_user_attr(j, t->number, "fail_reason", json_sprintf("worker died (run %s)", status), err)) return -1;
    if (journal_set_state(j, t->number, TRIAL_FAIL, NULL, err)) return -1;
    if (t->attempt >= sc->max_retries) return 1;
    int nt = s->n;
    if (journal_create_trial(j, TRIAL_WAITING, t->attempt + 1, t->retry_of >= 0 ? t->retry_of : t->number, err)) return -1;
    for (int p = 0; p < sc->np; p++)
        if (t->has[p] && journal_set_param(j, sc, nt, p, t->internal[p], err)) return -1;
    return 1;
}

static int start_trial(Journal* j, const char* root, int trial, char err[ERR_LEN]) {
    char d[4200];
    if (sweep_trial_dir(d, sizeof d, root, trial, err) || sweep_claim_write(root, trial, j->worker_id, "running", err)) return -1;
    return journal_set_user_attr(j, trial, "run_dir", json_string(d), err);
}

int sweep_next(Journal* j, const SweepConfig* sc, const char* root, int resume, Next* out, char err[ERR_LEN]) {
    memset(out, 0, sizeof *out);
    out->trial = -1;
    Study s;
    if (journal_replay(j->path, sc, &s, err)) return -1;
    if (!s.created) {
        if (journal_create_study(j, sc, err)) goto fail;
        s.created = 1;
    } else if (strcmp(s.name, sc->name)) {
        errf(err, "%s: holds study '%s', not '%s'", j->path, s.name, sc->name);
        goto fail;
    }
    int running = 0;
    for (int i = 0; i < s.n; i++) {
        Trial* t = &s.trials[i];
        if (t->state != TRIAL_RUNNING) continue;
        json_t* c = read_claim(root, i);
        int paused = c && !strcmp(jget_str(c, "status", ""), "paused");
        int mine = c && !strcmp(jget_str(c, "worker_id", ""), j->worker_id);
        int dead = !mine && !paused && claim_dead(sc, c);
        json_decref(c);
        if (paused) {
            if (resume && out->kind != NEXT_RUN) {
                if (sweep_claim_write(root, i, j->worker_id, "running", err)) goto fail;
                out->kind = NEXT_RUN;
                out->trial = i;
                out->resumed = 1;
            }
            continue;
        }
        if (dead) {
            int r = recover(j, sc, root, &s, t, err);
            if (r < 0) goto fail;
            if (r > 0) { out->recovered++; continue; }
        }
        running++;
    }
    if (out->kind == NEXT_RUN) { study_free(&s); return 0; }
    if (out->recovered) {                        /* the journal changed: decide on the new state */
        study_free(&s);
        int rec = out->recovered;
        int rc = sweep_next(j, sc, root, resume, out, err);
        out->recovered += rec;
        return rc;
    }
    for (int i = 0; i < s.n; i++)
        if (s.trials[i].state == TRIAL_WAITING) {
            if (journal_set_state(j, i, TRIAL_RUNNING, NULL, err) || start_trial(j, root, i, err)) goto fail;
            out->kind = NEXT_RUN;
            out->trial = i;
            study_free(&s);
            return 0;
        }
    double x[64];
    if (sweep_propose(sc, &s, x) == 0) {
        int nt = s.n;
        if (journal_create_trial(j, TRIAL_RUNNING, 0, -1, err)) goto fail;
        for (int p = 0; p < sc->np; p++)
            if (journal_set_param(j, sc, nt, p, x[p], err)) goto fail;
        if (start_trial(j, root, nt, err)) goto fail;
        out->kind = NEXT_RUN;
        out->trial = nt;
    } else out->kind = running ? NEXT_WAIT : NEXT_DONE;
    study_free(&s);
    return 0;
fail:
    study_free(&s);
    return -1;
}

int sweep_finish(Journal* j, const SweepConfig* sc, int trial, int state, const double* value, char err[ERR_LEN]) {
    if (journal_lock(j, err)) return -1;
    Study s;
    int rc = journal_replay(j->path, sc, &s, err);
    if (rc == 0) {
        if (trial < s.n && s.trials[trial].state == TRIAL_RUNNING) rc = journal_set_state(j, trial, state, value, err);
        else fprintf(stderr, "sweep: trial %d was already finished by another worker; keeping that\n", trial);
    }
    study_free(&s);
    journal_unlock(j);
    return rc;
}


static void arg_text(char* out, size_t cap, const json_t* v) {
    if (json_is_string(v)) snprintf(out, cap, "%s", json_string_value(v));
    else { char* s = journal_dumps(v); snprintf(out, cap, "%s", s); free(s); }
}

void sweep_trial_args(TrialArgs* ta, const SweepConfig* sc, const Study* s, int trial, const char* tool, const char* dir) {
    int n = 0, nv = 0;
    size_t shown = 0;
    ta->shown[0] = 0;
    ta->argv[n++] = (char*)tool;
    ta->argv[n++] = "--config";
    ta->argv[n++] = (char*)sc->base_config;
    const char* k;
    json_t* v;
    json_object_foreach(sc->fixed_args, k, v) {
        if (nv >= 256) break;
        snprintf(ta->flags[nv], sizeof ta->flags[nv], "--%s", k);
        arg_text(ta->vals[nv], sizeof ta->vals[nv], v);
        ta->argv[n++] = ta->flags[nv];
        ta->argv[n++] = ta->vals[nv++];
    }
    for (int p = 0; p < sc->np; p++) {
        json_t* x = param_external(&sc->params[p], s->trials[trial].internal[p]);
        snprintf(ta->flags[nv], sizeof ta->flags[nv], "--%s", sc->params[p].name);
        arg_text(ta->vals[nv], sizeof ta->vals[nv], x);
        json_decref(x);
        if (shown < sizeof ta->shown)
            shown += snprintf(ta->shown + shown, sizeof ta->shown - shown, " %s=%s", sc->params[p].name, ta->vals[nv]);
        ta->argv[n++] = ta->flags[nv];
        ta->argv[n++] = ta->vals[nv++];
    }
    ta->argv[n++] = (char*)sc->run_dir_flag;
    ta->argv[n++] = (char*)dir;
    ta->argv[n] = NULL;
}
