/* journal: see journal.h. */
#include "journal.h"
#include "atomic.h"
#include "json.h"
#include <errno.h>
#include <math.h>
#include <sys/file.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>

const char* trial_state_name(int s) {
    static const char* n[] = {"RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"};
    return s >= 0 && s <= 4 ? n[s] : "?";
}
/* ---- JSON as Python writes it ------------------------------------------ */

static void sb_add(char** b, size_t* n, size_t* cap, const char* s) {
    size_t l = strlen(s);
    if (*n + l + 1 > *cap) *b = realloc_check(*b, *cap = (*n + l) * 2 + 64);
    memcpy(*b + *n, s, l + 1);
    *n += l;
}

/* Shortest text that reads back as the same double, like Python's repr. */
void journal_fmt_real(char* out, size_t cap, double v) {
    if (isnan(v)) { snprintf(out, cap, "NaN"); return; }
    if (isinf(v)) { snprintf(out, cap, v > 0 ? "Infinity" : "-Infinity"); return; }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v) break;
    }
    if (!strpbrk(out, ".eEn")) strncat(out, ".0", cap - strlen(out) - 1);
    /* Python writes 1e-05, C writes 1e-05 too; 1e+20 -> Python 1e+20 */
}

static void dumps_rec(const json_t* v, char** b, size_t* n, size_t* cap) {
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        sb_add(b, n, cap, "{");
        const char* k;
        json_t* x;
        int first = 1;
        json_object_foreach((json_t*)v, k, x) {
            if (!first) sb_add(b, n, cap, ", ");
            first = 0;
            json_t* ks = json_string(k);
            char* kt = json_dumps(ks, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
            sb_add(b, n, cap, kt);
            free(kt);
            json_decref(ks);
            sb_add(b, n, cap, ": ");
            dumps_rec(x, b, n, cap);
        }
        sb_add(b, n, cap, "}");
        break;
    }
    case JSON_ARRAY: {
        sb_add(b, n, cap, "[");
        size_t i;
        json_t* x;
        json_array_foreach((json_t*)v, i, x) {
            if (i) sb_add(b, n, cap, ", ");
            dumps_rec(x, b, n, cap);
        }
        sb_add(b, n, cap, "]");
        break;
    }
    case JSON_REAL: journal_fmt_real(tmp, sizeof tmp, json_real_value(v)); sb_add(b, n, cap, tmp); break;
    case JSON_INTEGER: snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v)); sb_add(b, n, cap, tmp); break;
    default: {
        char* t = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
        sb_add(b, n, cap, t);
        free(t);
    }
    }
}

char* journal_dumps(const json_t* v) {
    size_t n = 0, cap = 256;
    char* b = malloc_check(cap);
    b[0] = 0;
    dumps_rec(v, &b, &n, &cap);
    return b;
}

char* param_distribution_json(const Param* p) {
    json_t* d;
    if (p->type == PARAM_CAT)
        d = json_pack("{s:s, s:{s:O}}", "name", "CategoricalDistribution", "attributes", "choices", p->choices);
    else if (p->type == PARAM_FLOAT)
        d = json_pack("{s:s, s:{s:n, s:f, s:f, s:b}}", "name", "FloatDistribution", "attributes", "step", "low", p->low,
                      "high", p->high, "log", p->log);
    else
        d = json_pack("{s:s, s:{s:b, s:i, s:I, s:I}}", "name", "IntDistribution", "attributes", "log", p->log, "step", 1,
                      "low", (json_int_t)p->low, "high", (json_int_t)p->high);
    char* s = journal_dumps(d);
    json_decref(d);
    return s;
}

json_t* param_external(const Param* p, double internal) {
    if (p->type == PARAM_FLOAT) return json_real(internal);
    if (p->type == PARAM_INT) return json_integer((json_int_t)llround(internal));
    size_t i = (size_t)internal;
    json_t* c = json_array_get(p->choices, i < json_array_size(p->choices) ? i : 0);
    return json_incref(c);
}

/* ---- journal ----------------------------------------------------------- */

static void now_iso_local(char out[40]) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06ld", b, (long)tv.tv_usec);
}

int journal_open(Journal* j, const char* root, char err[ERR_LEN]) {
    memset(j, 0, sizeof *j);
    j->lock_fd = -1;
    if (mkdir_p(root, err) || path_join(j->path, sizeof j->path, root, "journal.log", err) ||
        path_join(j->lock_path, sizeof j->lock_path, root, "journal.lock", err))
        return -1;
    unsigned char u[16];
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, u, 16) != 16) {
        for (int i = 0; i < 16; i++) u[i] = (unsigned char)(rand() ^ getpid() ^ (int)(now_wall() * 1e6) >> i);
    }
    if (fd >= 0) close(fd);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    snprintf(j->worker_id, sizeof j->worker_id,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x-%d", u[0], u[1], u[2], u[3], u[4], u[5],
             u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15], (int)getpid());
    j->lock_fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->lock_fd < 0) { errf(err, "%s: %s", j->lock_path, strerror(errno)); return -1; }
    return 0;
}

void journal_close(Journal* j) { if (j->lock_fd >= 0) close(j->lock_fd); j->lock_fd = -1; }

int journal_lock(Journal* j, char err[ERR_LEN]) {
    while (flock(j->lock_fd, LOCK_EX)) {
        if (errno == EINTR) continue;
        errf(err, "%s: flock: %s", j->lock_path, strerror(errno));
        return -1;
    }
    return 0;
}

void journal_unlock(Journal* j) { flock(j->lock_fd, LOCK_UN); }

static int append_op(Journal* j, json_t* op, char err[ERR_LEN]) {
    char* line = journal_dumps(op);
    json_decref(op);
    int rc = append_record(j->path, line, err);
    free(line);
    return rc;
}

int journal_create_study(Journal* j, const SweepConfig* sc, char err[ERR_LEN]) {
    json_t* op = json_pack("{s:i, s:s, s:s, s:[i]}", "op_code", 0, "worker_id", j->worker_id, "study_name", sc->name,
                           "directions", sc->maximize ? 2 : 1);
    return append_op(j, op, err);
}

int journal_create_trial(Journal* j, int state, int attempt, int retry_of, char err[ERR_LEN]) {
    char now[40];
    now_iso_local(now);
    json_t* op = json_pack("{s:i, s:s, s:i}", "op_code", 4, "worker_id", j->worker_id, "study_id", 0);
    json_object_set_new(op, "datetime_start", state == TRIAL_WAITING ? json_null() : json_string(now));
    if (state != TRIAL_RUNNING) json_object_set_new(op, "state", json_integer(state));
    if (attempt) json_object_set_new(op, "system_attrs", json_pack("{s:i, s:i}", "sweep_attempt", attempt, "sweep_retry_of", retry_of));
    return append_op(j, op, err);
}

int journal_set_param(Journal* j, const SweepConfig* sc, int trial, int p, double internal, char err[ERR_LEN]) {
    char* dist = param_distribution_json(&sc->params[p]);
    json_t* op = json_pack("{s:i, s:s, s:i, s:s, s:o, s:s}", "op_code", 5, "worker_id", j->worker_id, "trial_id", trial,
                           "param_name", sc->params[p].name, "param_value_internal",
                           sc->params[p].type == PARAM_CAT ? json_integer((json_int_t)internal) : json_real(internal),
                           "distribution", dist);
    free(dist);
    return append_op(j, op, err);
}

int journal_set_state(Journal* j, int trial, int state, const double* value, char err[ERR_LEN]) {
    char now[40];
    now_iso_local(now);
    json_t* op = json_pack("{s:i, s:s, s:i, s:i}", "op_code", 6, "worker_id", j->worker_id, "trial_id", trial, "state", state);
    json_object_set_new(op, "values", value ? json_pack("[f]", *value) : json_null());
    json_object_set_new(op, state == TRIAL_RUNNING ? "datetime_start" : "datetime_complete", json_string(now));
    return append_op(j, op, err);
}

int journal_set_user_attr(Journal* j, int trial, const char* key, json_t* value, char err[ERR_LEN]) {
    json_t* op = json_pack("{s:i, s:s, s:i, s:{s:o}}", "op_code", 8, "worker_id", j->worker_id, "trial_id", trial,
                           "user_attr", key, value);
    return append_op(j, op, err);
}

int journal_set_intermediate(Journal* j, int trial, long step, double v, char err[ERR_LEN]) {
    json_t* op = json_pack("{s:i, s:s, s:i, s:I, s:f}", "op_code", 7, "worker_id", j->worker_id, "trial_id", trial,
                           "step", (json_int_t)step, "intermediate_value", v);
    return append_op(j, op, err);
}

typedef struct { const SweepConfig* sc; Study* s; } ReplayCtx;

int trial_finished(int st) { return st == TRIAL_COMPLETE || st == TRIAL_PRUNED || st == TRIAL_FAIL; }

static void replay_one(json_t* o, void* vctx) {
    ReplayCtx* c = vctx;
    Study* s = c->s;
    s->lines++;
    int op = (int)jget_int(o, "op_code", -1);
    if (op == 0) {
        if (s->created) return;
        s->created = 1;
        snprintf(s->name, sizeof s->name, "%s", jget_str(o, "study_name", ""));
        s->direction = (int)json_integer_value(json_array_get(json_object_get(o, "directions"), 0));
        return;
    }
    if (op == 4) {
        if (s->n == s->cap) s->trials = realloc_check(s->trials, (s->cap = s->cap * 2 + 16) * sizeof(Trial));
        Trial* t = &s->trials[s->n];
        memset(t, 0, sizeof *t);
        t->number = s->n++;
        t->state = (int)jget_int(o, "state", TRIAL_RUNNING);
        t->retry_of = -1;
        snprintf(t->start, sizeof t->start, "%s", jget_str(o, "datetime_start", ""));
        json_t* sa = json_object_get(o, "system_attrs");
        if (sa) { t->attempt = (int)jget_int(sa, "sweep_attempt", 0); t->retry_of = (int)jget_int(sa, "sweep_retry_of", -1); }
        json_t* params = json_object_get(o, "params");
        const char* k;
        json_t* v;
        json_object_foreach(params, k, v)
            for (int p = 0; p < c->sc->np; p++)
                if (!strcmp(c->sc->params[p].name, k)) { t->internal[p] = json_number_value(v); t->has[p] = 1; }
        return;
    }
    long id = jget_int(o, "trial_id", -1);
    if (id < 0 || id >= s->n) return;
    Trial* t = &s->trials[id];
    if (trial_finished(t->state)) return;                /* Optuna ignores updates of a finished trial */
    if (op == 5) {
        const char* name = jget_str(o, "param_name", "");
        for (int p = 0; p < c->sc->np; p++)
            if (!strcmp(c->sc->params[p].name, name)) { t->internal[p] = jget_num(o, "param_value_internal", 0); t->has[p] = 1; }
    } else if (op == 6) {
        int st = (int)jget_int(o, "state", 0);
        if (st == TRIAL_RUNNING) {
            if (t->state == TRIAL_RUNNING) return;
            snprintf(t->start, sizeof t->start, "%s", jget_str(o, "datetime_start", ""));
        }
        if (trial_finished(st)) snprintf(t->complete, sizeof t->complete, "%s", jget_str(o, "datetime_complete", ""));
        t->state = st;
        json_t* vals = json_object_get(o, "values");
        if (json_is_array(vals) && json_array_size(vals)) { t->has_value = 1; t->value = json_number_value(json_array_get(vals, 0)); }
    }
}

int journal_replay(const char* path, const SweepConfig* sc, Study* s, char err[ERR_LEN]) {
    memset(s, 0, sizeof *s);
    if (!path_exists(path)) return 0;
    ReplayCtx c = {sc, s};
    return jsonl_foreach(path, replay_one, &c, err) < 0 ? -1 : 0;
}

void study_free(Study* s) { free(s->trials); memset(s, 0, sizeof *s); }

