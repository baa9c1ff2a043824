/* runs: reading finished run outputs (lib/paper/runs.h, docs/figures.md, docs/tables.md). */
#include "runs.h"
#include "stats.h"
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int runs_open(Runs* r, const char* dir) {
    char err[ERR_LEN];
    int rc = path_fmt(r->dir, sizeof r->dir, err, "%s", dir);
    r->read = json_array();
    r->notes = json_array();
    return rc;
}

void runs_close(Runs* r) {
    json_decref(r->read);
    json_decref(r->notes);
    r->read = r->notes = NULL;
}

void runs_note(Runs* r, const char* fmt, ...) {
    char m[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    json_array_append_new(r->notes, json_string(m));
}

/* ---- files ---- */

int runs_jsonl(Runs* r, const char* path, RunsLineFn fn, void* ctx, long* nlines, char err[ERR_LEN]) {
    size_t len;
    char* buf = read_file(path, &len, err);
    if (!buf) return -1;
    json_array_append_new(r->read, json_string(path));
    long line = 0, n = 0;
    int rc = 0;
    for (char* p = buf; *p;) {
        char* nl = strchr(p, '\n');
        if (!nl) break;   /* torn last line */
        *nl = 0;
        line++;
        char* s = p + strspn(p, " \t\r");
        p = nl + 1;
        if (!*s) continue;
        json_error_t je;
        json_t* o = json_loads(s, 0, &je);
        if (!json_is_object(o)) {
            errf(err, "%s:%ld: malformed line: %s", path, line, o ? "not a JSON object" : je.text);
            json_decref(o);
            rc = -1;
            break;
        }
        int bad = fn(o, ctx, path, line, err);
        json_decref(o);
        if (bad) { rc = -1; break; }
        n++;
    }
    free(buf);
    if (nlines) *nlines = n;
    return rc;
}

static int append_line(json_t* o, void* ctx, const char* path, long line, char err[ERR_LEN]) {
    (void)path; (void)line; (void)err;
    json_array_append(ctx, o);
    return 0;
}

json_t* runs_jsonl_array(Runs* r, const char* path, char err[ERR_LEN]) {
    json_t* a = json_array();
    if (runs_jsonl(r, path, append_line, a, NULL, err)) { json_decref(a); return NULL; }
    return a;
}

json_t* runs_json(Runs* r, const char* path, char err[ERR_LEN]) {
    json_t* j = json_load_path(path, err);
    if (j && !json_is_object(j)) { errf(err, "%s: not a JSON object", path); json_decref(j); return NULL; }
    if (j) json_array_append_new(r->read, json_string(path));
    return j;
}

/* Number `key` of line object o, or -1 with err naming path:line. */
static int need_num(const json_t* o, const char* key, const char* path, long line, double* v, char err[ERR_LEN]) {
    json_t* x = json_object_get(o, key);
    if (!json_is_number(x)) { errf(err, "%s:%ld: '%s' missing or not a number", path, line, key); return -1; }
    *v = json_number_value(x);
    return 0;
}

/* ---- suite runs ---- */

typedef struct {
    RunsSuite* s;
    json_t* ids;   /* task ids, when curves are asked for; else NULL */
} SuiteRead;

static int suite_line(json_t* o, void* ctx, const char* path, long line, char err[ERR_LEN]) {
    SuiteRead* sr = ctx;
    double b, m, k;
    if (need_num(o, "best_reward", path, line, &b, err) || need_num(o, "mean_reward", path, line, &m, err) ||
        need_num(o, "samples", path, line, &k, err))
        return -1;
    if (!isfinite(b) || !isfinite(m)) { errf(err, "%s:%ld: non-finite reward", path, line); return -1; }
    if (sr->ids) {
        const char* id = jget_str(o, "task_id", NULL);
        if (!id || !*id || strchr(id, '/')) {
            errf(err, "%s:%ld: 'task_id' missing or not a plain name", path, line);
            return -1;
        }
        json_array_append_new(sr->ids, json_string(id));
    }
    const char* tid = jget_str(o, "task_id", NULL);
    if (tid && *tid) {
        json_object_set_new(sr->s->task_best, tid, json_real(b));
        json_object_set_new(sr->s->task_mean, tid, json_real(m));
        const char* fam = jget_str(o, "family", NULL);
        if (fam && *fam) json_object_set_new(sr->s->task_family, tid, json_string(fam));
    }
    sr->s->best += b; sr->s->mean_reward += m; sr->s->samples += k;
    sr->s->tokens += jget_num(o, "tokens", 0);
    sr->s->ntasks++;
    return 0;
}

double runs_step_at(const double* x, const double* y, int n, double q) {
    double v = NAN;
    for (int i = 0; i < n && x[i] <= q; i++) v = y[i];
    return v;
}

static int cmp_dbl(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

/* Task t's result.json curve [[samples, best reward so far], ...] into (*x, *y); for a
 * best-of-N run with every sample's reward, y at k samples is the expected best of k. */
static int task_curve(Runs* r, const char* rp, double** x, double** y, int* n, char err[ERR_LEN]) {
    json_t* res = runs_json(r, rp, err);
    if (!res) return -1;
    json_t* curve = json_object_get(res, "curve");
    json_t* rw = json_object_get(res, "rewards");
    const char* mode = jget_str(res, "mode", "");
    int nr = json_is_array(rw) ? (int)json_array_size(rw) : 0;
    double *rv = NULL, *scratch = NULL;
    if (!strcmp(mode, "bestofn") && nr > 0) {
        rv = malloc_check(sizeof(double) * nr);
        scratch = malloc_check(sizeof(double) * nr);
        for (int i = 0; i < nr; i++) {
            json_t* v = json_array_get(rw, (size_t)i);
            if (!json_is_number(v) || !isfinite(json_number_value(v))) {
                errf(err, "%s: rewards[%d] is not a finite number", rp, i);
                free(rv); free(scratch); json_decref(res);
                return -1;
            }
            rv[i] = json_number_value(v);
        }
    }
    if (!json_is_array(curve)) { errf(err, "%s: 'curve' missing or not an array", rp); json_decref(res); return -1; }
    int m = (int)json_array_size(curve);
    *x = malloc_check(sizeof(double) * (m + 1));
    *y = malloc_check(sizeof(double) * (m + 1));
    *n = m;
    for (int i = 0; i < m; i++) {
        json_t* pt = json_array_get(curve, (size_t)i);
        if (!json_is_array(pt) || json_array_size(pt) != 2 || !json_is_number(json_array_get(pt, 0)) ||
            !json_is_number(json_array_get(pt, 1))) {
            errf(err, "%s: curve[%d] is not [samples, best reward]", rp, i);
            json_decref(res);
            return -1;
        }
        (*x)[i] = json_number_value(json_array_get(pt, 0));
        (*y)[i] = json_number_value(json_array_get(pt, 1));
        if (i && (*x)[i] < (*x)[i - 1]) {
            errf(err, "%s: curve samples decrease at point %d", rp, i);
            free(rv); free(scratch); json_decref(res);
            return -1;
        }
        int k = (int)(*x)[i];
        if (rv && k >= 1 && k <= nr && (double)k == (*x)[i]) (*y)[i] = stats_expected_max(rv, nr, k, scratch);
    }
    free(rv); free(scratch);
    json_decref(res);
    return 0;
}

/* Each task's curve and their mean over tasks, on the union of their sample counts,
 * where every task has a point. */
static int suite_curve(Runs* r, RunsSuite* s, json_t* ids, char err[ERR_LEN]) {
    int nt = (int)json_array_size(ids), total = 0, rc = 0;
    double** cx = calloc_check((size_t)nt, sizeof(double*));
    double** cy = calloc_check((size_t)nt, sizeof(double*));
    int* cn = calloc_check((size_t)nt, sizeof(int));
    for (int t = 0; t < nt && rc == 0; t++) {
        char rp[4600];
        if (path_fmt(rp, sizeof rp, err, "%s/%s/result.json", s->dir, json_string_value(json_array_get(ids, (size_t)t)))) { rc = -1; break; }
        if (!path_exists(rp)) { runs_note(r, "%s: missing; no reward curve for %s", rp, s->name); total = 0; break; }
        rc = task_curve(r, rp, &cx[t], &cy[t], &cn[t], err);
        total += cn[t];
    }
    if (rc == 0 && total) {
        double* g = malloc_check(sizeof(double) * total);
        int k = 0;
        for (int t = 0; t < nt; t++) for (int i = 0; i < cn[t]; i++) g[k++] = cx[t][i];
        qsort(g, (size_t)k, sizeof *g, cmp_dbl);
        int u = 0;
        for (int i = 0; i < k; i++) if (!u || g[i] != g[u - 1]) g[u++] = g[i];
        s->x = malloc_check(sizeof(double) * u);
        s->y = malloc_check(sizeof(double) * u);
        double* ty = malloc_check(sizeof(double) * (size_t)u * nt);   /* (nt, u) */
        for (int i = 0; i < u; i++) {
            double sum = 0;
            for (int t = 0; t < nt; t++) sum += ty[(size_t)t * u + s->n] = runs_step_at(cx[t], cy[t], cn[t], g[i]);
            if (isfinite(sum)) { s->x[s->n] = g[i]; s->y[s->n++] = sum / nt; }
        }
        s->ty = malloc_check(sizeof(double) * ((size_t)s->n * nt + 1));
        for (int t = 0; t < nt; t++) memcpy(s->ty + (size_t)t * s->n, ty + (size_t)t * u, sizeof(double) * s->n);
        free(ty);
        free(g);
    }
    for (int t = 0; t < nt; t++) { free(cx[t]); free(cy[t]); }
    free(cx); free(cy); free(cn);
    return rc;
}

int runs_suite(Runs* r, const char* name, int curves, RunsSuite* s, char err[ERR_LEN]) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    if (path_fmt(s->dir, sizeof s->dir, err, "%s/suite/%s", r->dir, name) ||
        path_join(s->summary, sizeof s->summary, s->dir, "summary.jsonl", err))
        return -1;
    if (!path_exists(s->summary)) { snprintf(s->missing, sizeof s->missing, "missing run: %s (no %s)", name, s->summary); return 0; }
    s->task_best = json_object();
    s->task_mean = json_object();
    s->task_family = json_object();
    SuiteRead sr = {s, curves ? json_array() : NULL};
    int rc = runs_jsonl(r, s->summary, suite_line, &sr, NULL, err);
    if (rc == 0 && s->ntasks == 0)
        snprintf(s->missing, sizeof s->missing, "missing run: %s (%s has no complete task line)", name, s->summary);
    else if (rc == 0) {
        s->best /= s->ntasks; s->mean_reward /= s->ntasks; s->samples /= s->ntasks; s->tokens /= s->ntasks;
        s->present = 1;
        if (curves) rc = suite_curve(r, s, sr.ids, err);
    }
    s->ids = sr.ids;
    return rc;
}

int runs_suite_climb(Runs* r, const RunsSuite* s, json_t** climb, char err[ERR_LEN]) {
    *climb = json_object();
    if (!s->present) return 0;
    const char* id;
    json_t* v;
    int short_runs = 0;
    json_object_foreach(s->task_best, id, v) {
        char rp[4600];
        if (path_fmt(rp, sizeof rp, err, "%s/%s/result.json", s->dir, id)) { json_decref(*climb); *climb = NULL; return -1; }
        if (strchr(id, '/') || !path_exists(rp)) { runs_note(r, "%s: missing; task left out of %s's learning check", rp, s->name); continue; }
        json_t* res = runs_json(r, rp, err);
        if (!res) { json_decref(*climb); *climb = NULL; return -1; }
        json_t* rw = json_object_get(res, "rewards");
        long k = (long)jget_num(res, "rollouts", 0), n = json_is_array(rw) ? (long)json_array_size(rw) : 0;
        long steps = k > 0 ? n / k : 0, third = steps / 3 > 0 ? steps / 3 : 1;
        if (k <= 0 || n % k || steps < 2) { short_runs++; json_decref(res); continue; }
        double first = 0, last = 0;
        for (long i = 0; i < third * k; i++) {
            json_t* a = json_array_get(rw, (size_t)i);
            json_t* b = json_array_get(rw, (size_t)(n - third * k + i));
            if (!json_is_number(a) || !json_is_number(b) || !isfinite(json_number_value(a)) || !isfinite(json_number_value(b))) {
                errf(err, "%s: rewards hold a value that is not a finite number", rp);
                json_decref(res); json_decref(*climb); *climb = NULL;
                return -1;
            }
            first += json_number_value(a);
            last += json_number_value(b);
        }
        json_object_set_new(*climb, id, json_real((last - first) / (double)(third * k)));
        json_decref(res);
    }
    if (short_runs)
        runs_note(r, "%s: %d task(s) without 2 steps of `rollouts` rewards in result.json, left out of the learning check",
                  s->name, short_runs);
    return 0;
}

int runs_suite_seeds(Runs* r, const char* prefix, const long* seeds, int nseeds, int curves, RunsSuite* s, char err[ERR_LEN]) {
    int present = 0;
    for (int k = 0; k < nseeds; k++) {
        char name[256];
        snprintf(name, sizeof name, "%.230s_seed%ld", prefix, seeds[k]);
        if (runs_suite(r, name, curves, &s[k], err)) return -1;
        present += s[k].present;
    }
    return present;
}

void runs_suite_free(RunsSuite* s) {
    free(s->x); free(s->y); free(s->ty);
    json_decref(s->task_best); json_decref(s->task_mean); json_decref(s->task_family); json_decref(s->ids);
    s->task_best = s->task_mean = s->task_family = s->ids = NULL;
    s->x = s->y = s->ty = NULL;
    s->n = 0;
}

/* ---- run dirs ---- */

/* Name-ordered subdirectories of the runs dir holding file `marker`; returns the count (<= max). */
static int dirs_with(const Runs* r, const char* marker, char names[][256], int max) {
    struct dirent** ents = NULL;
    int m = scandir(r->dir, &ents, NULL, alphasort), n = 0;
    for (int i = 0; i < m; i++) {
        const char* d = ents[i]->d_name;
        char p[4400], q[4700], err[ERR_LEN];
        if (d[0] != '.' && n < max) {   /* r->dir (under 4096 bytes) and a name (under 256) fit */
            internal_check(path_join(p, sizeof p, r->dir, d, err) == 0 && path_join(q, sizeof q, p, marker, err) == 0, "%s", err);
            if (is_dir(p) && path_exists(q)) snprintf(names[n++], 256, "%s", d);
        }
        free(ents[i]);
    }
    free(ents);
    return n;
}

int runs_pretrain_find(Runs* r, RunsPretrain p[2], char err[ERR_LEN]) {
    char names[64][256];
    int n = dirs_with(r, "pretrain_config.json", names, 64);
    memset(p, 0, 2 * sizeof *p);
    for (int i = 0; i < n; i++) {
        char mc[4700];   /* r->dir (under 4096 bytes) and a name (under 256) fit */
        internal_check(path_fmt(mc, sizeof mc, err, "%s/%s/model_config.json", r->dir, names[i]) == 0, "%s", err);
        long mn = 1;
        if (path_exists(mc)) {
            json_t* j = runs_json(r, mc, err);
            if (!j) return -1;
            mn = jget_int(json_object_get(j, "mhc"), "n", 1);
            json_decref(j);
        } else runs_note(r, "%s/%s has no model_config.json; counted as mHC off", r->dir, names[i]);
        RunsPretrain* slot = &p[mn > 1 ? 0 : 1];
        if (!slot->name[0]) { memcpy(slot->name, names[i], sizeof slot->name); slot->streams = mn; }   /* same size */
        else runs_note(r, "several mHC-%s pretrain runs; using %s, ignoring %s", mn > 1 ? "on" : "off", slot->name, names[i]);
    }
    for (int k = 0; k < 2; k++)
        if (!p[k].name[0]) runs_note(r, "missing run: no pretrain run with mHC %s under %s", k ? "off" : "on", r->dir);
    return 0;
}

static int metrics_line(json_t* o, void* ctx, const char* path, long line, char err[ERR_LEN]) {
    RunsPretrain* p = ctx;
    double s, l;
    if (need_num(o, "step", path, line, &s, err) || need_num(o, "loss", path, line, &l, err)) return -1;
    p->step = realloc_check(p->step, sizeof(double) * (p->n + 1));
    p->loss = realloc_check(p->loss, sizeof(double) * (p->n + 1));
    p->step[p->n] = s; p->loss[p->n++] = l;
    if (json_object_get(o, "val_loss")) {
        double v;
        if (need_num(o, "val_loss", path, line, &v, err)) return -1;
        p->vstep = realloc_check(p->vstep, sizeof(double) * (p->nv + 1));
        p->vloss = realloc_check(p->vloss, sizeof(double) * (p->nv + 1));
        p->vstep[p->nv] = s; p->vloss[p->nv++] = v;
    }
    return 0;
}

int runs_pretrain_metrics(Runs* r, RunsPretrain* p, char err[ERR_LEN]) {
    char path[4700];   /* r->dir (under 4096 bytes) and a name (under 256) fit */
    internal_check(path_fmt(path, sizeof path, err, "%s/%s/metrics.jsonl", r->dir, p->name) == 0, "%s", err);
    if (!path_exists(path)) { runs_note(r, "%s: missing", path); return 0; }
    if (runs_jsonl(r, path, metrics_line, p, NULL, err)) return -1;
    if (!p->n) runs_note(r, "%s: no steps", path);
    return 0;
}

void runs_pretrain_free(RunsPretrain* p) {
    free(p->step); free(p->loss); free(p->vstep); free(p->vloss);
    p->step = p->loss = p->vstep = p->vloss = NULL;
    p->n = p->nv = 0;
}

void runs_sdft(Runs* r, char name[256]) {
    char names[16][256];
    int n = dirs_with(r, "sdft_eval_report.json", names, 16);
    snprintf(name, 256, "%s", n ? names[0] : "");
    for (int i = 1; i < n; i++) runs_note(r, "several SDFT runs; using %s, ignoring %s", names[0], names[i]);
    if (!n) runs_note(r, "missing run: no SDFT run dir (sdft_eval_report.json) under %s", r->dir);
}

/* argv as one shell line: plain words as they are, others single-quoted. */
static void shell_join(const json_t* argv, char* out, size_t cap) {
    size_t o = 0, i;
    json_t* a;
    out[0] = 0;
    json_array_foreach(argv, i, a) {
        const char* s = json_is_string(a) ? json_string_value(a) : "?";
        int plain = *s != 0;
        for (const char* p = s; *p; p++)
            if (!(isalnum((unsigned char)*p) || strchr("_./=:,+-@%", *p))) { plain = 0; break; }
        char piece[1024];
        if (plain) snprintf(piece, sizeof piece, "%s%s", i ? " " : "", s);
        else {
            size_t q = 0;
            if (i) piece[q++] = ' ';
            piece[q++] = '\'';
            for (const char* p = s; *p && q + 6 < sizeof piece; p++) {
                if (*p == '\'') { memcpy(piece + q, "'\\''", 4); q += 4; }
                else piece[q++] = *p;
            }
            piece[q++] = '\'';
            piece[q] = 0;
        }
        size_t n = strlen(piece);
        if (o + n + 1 >= cap) break;
        memcpy(out + o, piece, n + 1);
        o += n;
    }
}

int runs_command(Runs* r, const char* run_dir, char* out, size_t cap, char err[ERR_LEN]) {
    char p[4400];
    if (path_join(p, sizeof p, run_dir, "run_record.json", err)) return -1;
    if (!path_exists(p)) { snprintf(out, cap, "(no run_record.json)"); return 0; }
    json_t* j = runs_json(r, p, err);
    if (!j) return -1;
    json_t* a = json_object_get(j, "argv");
    if (json_is_array(a)) shell_join(a, out, cap);
    else snprintf(out, cap, "(run_record.json has no argv)");
    json_decref(j);
    return 0;
}
