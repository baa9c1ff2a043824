/* plot (F1; runbook: plot_pipeline_diagram.py + plot_results.py): the paper's figures
 * from the finished run outputs under --runs_dir (out/<config>/runs), then the
 * results tables (lib/report). Every input is read and checked before anything is
 * drawn: a malformed file is bad input (exit 2, naming it); a missing one skips
 * only the figures that need it, with a warning. Figures and inputs: docs/figures.md. */
#include "config.h"
#include "json.h"
#include "plot.h"
#include "report.h"
#include "track.h"
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *runs_dir, *fig_dir, *paper_dir, *pretrain_run, *pretrain_nomhc_run, *sdft_run, *font;
} Args;

static const Opt OPTS[] = {
    {"runs_dir", OPT_STR, offsetof(Args, runs_dir), NULL, OPT_RANGE_NONE, "run outputs to read (out/<config>/runs)"},
    {"fig_dir", OPT_STR, offsetof(Args, fig_dir), NULL, OPT_RANGE_NONE, "where the PNG figures go (paper/figs)"},
    {"paper_dir", OPT_STR, offsetof(Args, paper_dir), "", OPT_RANGE_NONE, "where tables/ and the registry go (default: fig_dir's parent)"},
    {"pretrain_run", OPT_STR, offsetof(Args, pretrain_run), "", OPT_RANGE_NONE, "base pretrain run under runs_dir (default: the one with mHC n > 0)"},
    {"pretrain_nomhc_run", OPT_STR, offsetof(Args, pretrain_nomhc_run), "", OPT_RANGE_NONE, "mHC-off pretrain run (default: the one with mHC off)"},
    {"sdft_run", OPT_STR, offsetof(Args, sdft_run), "", OPT_RANGE_NONE, "SDFT run under runs_dir (default: the one with sdft_eval_report.json)"},
    {"font", OPT_STR, offsetof(Args, font), "", OPT_RANGE_NONE, "TrueType font (default: DejaVu Sans)"},
    {0},
};

static const ToolSpec SPEC = {"plot", "plot",
    "Draws the paper's figures as PNGs into --fig_dir: fig_pipeline, fig_reward_vs_samples, fig_ablations,\n"
    "fig_pretrain_loss, fig_sdft, fig_retention (docs/figures.md), from the run outputs under --runs_dir\n"
    "(suite/<run>/summary.jsonl and <task>/result.json, pretrain and SDFT run dirs found by their files,\n"
    "suite/retention_ppl.json), then the LaTeX tables and results registry under --paper_dir. A figure whose\n"
    "inputs are missing is skipped with a warning; a malformed input is an error (exit 2).", OPTS};

#define MAXSEED 16
#define W 1200
#define H 750

static json_t* warnings;   /* strings, said once the run is open */
static json_t* inputs;     /* paths to record with track_input */

static void warn(const char* fmt, const char* a, const char* b) {
    char m[8400];
    snprintf(m, sizeof m, fmt, a, b);
    json_array_append_new(warnings, json_string(m));
}

/* ---- strict readers: anything malformed dies naming the file ---- */

static json_t* load_json(const char* path) {
    char err[ERR_LEN];
    json_t* j = json_load_path(path, err);
    if (!j) die(EXIT_BADINPUT, "%s", err);
    if (!json_is_object(j)) die(EXIT_BADINPUT, "%s: expected a JSON object", path);
    json_array_append_new(inputs, json_string(path));
    return j;
}

/* Every non-blank line must be a JSON object (unlike jsonl_foreach, which forgives). */
static json_t* load_jsonl(const char* path) {
    char err[ERR_LEN];
    size_t len;
    char* buf = read_file(path, &len, err);
    if (!buf) die(EXIT_BADINPUT, "%s", err);
    json_t* rows = json_array();
    long ln = 0;
    for (char *p = buf, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
        nl = strchr(p, '\n');
        if (nl) *nl = 0;
        ln++;
        if (strspn(p, " \t\r") == strlen(p)) { if (!nl) break; continue; }
        json_error_t e;
        json_t* o = json_loads(p, 0, &e);
        if (!json_is_object(o)) die(EXIT_BADINPUT, "%s:%ld: not a JSON object (%s)", path, ln, o ? "wrong type" : e.text);
        json_array_append_new(rows, o);
        if (!nl) break;
    }
    free(buf);
    json_array_append_new(inputs, json_string(path));
    return rows;
}

static double need_num(const json_t* o, const char* key, const char* path, long line) {
    json_t* v = json_object_get(o, key);
    if (!json_is_number(v)) die(EXIT_BADINPUT, "%s:%ld: '%s' missing or not a number", path, line, key);
    return json_number_value(v);
}

/* Value at q of a step function given at increasing x (NAN before the first point). */
static double step_at(const double* x, const double* y, int n, double q) {
    double v = NAN;
    for (int i = 0; i < n && x[i] <= q; i++) v = y[i];
    return v;
}

/* ---- suite runs ---- */

typedef struct {
    int    ok;
    double mean_best;         /* mean over tasks of best_reward */
    int    ntasks, n;         /* n: points of the task-averaged curve */
    double *x, *y;            /* (n,) samples, mean best reward so far */
} Suite;

typedef struct { Suite s[MAXSEED]; int nseeds; } Group;

static int cmp_dbl(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

/* Sorted distinct values of v (n,), in place; returns the count. */
static int uniq(double* v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    int k = 0;
    for (int i = 0; i < n; i++) if (!k || v[i] != v[k - 1]) v[k++] = v[i];
    return k;
}

static void load_suite(const char* runs_dir, const char* name, Suite* s) {
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/suite/%s", runs_dir, name);
    path_join(path, sizeof path, dir, "summary.jsonl");
    memset(s, 0, sizeof *s);
    if (!path_exists(path)) return;
    json_t* rows = load_jsonl(path);
    int nt = (int)json_array_size(rows);
    if (!nt) { warn("%s: no tasks%s", path, ""); json_decref(rows); return; }
    double** cx = calloc_check((size_t)nt, sizeof(double*));   /* per task curve */
    double** cy = calloc_check((size_t)nt, sizeof(double*));
    int* cn = calloc_check((size_t)nt, sizeof(int));
    int total = 0, have_curves = 1;
    for (int t = 0; t < nt; t++) {
        json_t* r = json_array_get(rows, (size_t)t);
        s->mean_best += need_num(r, "best_reward", path, t + 1) / nt;
        const char* id = jget_str(r, "task_id", NULL);
        if (!id || !*id || strchr(id, '/')) die(EXIT_BADINPUT, "%s:%d: 'task_id' missing or not a plain name", path, t + 1);
        char rp[4400];
        snprintf(rp, sizeof rp, "%s/%s/result.json", dir, id);
        if (!path_exists(rp)) { warn("%s: missing; no reward curve for this run%s", rp, ""); have_curves = 0; continue; }
        json_t* res = load_json(rp);
        json_t* curve = json_object_get(res, "curve");
        if (!json_is_array(curve)) die(EXIT_BADINPUT, "%s: 'curve' missing or not an array", rp);
        int m = (int)json_array_size(curve);
        cx[t] = malloc_check(sizeof(double) * (m + 1));
        cy[t] = malloc_check(sizeof(double) * (m + 1));
        for (int i = 0; i < m; i++) {
            json_t* pt = json_array_get(curve, (size_t)i);
            if (!json_is_array(pt) || json_array_size(pt) != 2 || !json_is_number(json_array_get(pt, 0)) ||
                !json_is_number(json_array_get(pt, 1)))
                die(EXIT_BADINPUT, "%s: curve[%d] is not [samples, best reward]", rp, i);
            cx[t][i] = json_number_value(json_array_get(pt, 0));
            cy[t][i] = json_number_value(json_array_get(pt, 1));
            if (i && cx[t][i] < cx[t][i - 1]) die(EXIT_BADINPUT, "%s: curve samples decrease at point %d", rp, i);
        }
        cn[t] = m;
        total += m;
        json_decref(res);
    }
    s->ok = 1;
    s->ntasks = nt;
    if (have_curves && total) {
        /* Mean over tasks on the union of their sample counts, where every task has a point. */
        double* g = malloc_check(sizeof(double) * total);
        int k = 0;
        for (int t = 0; t < nt; t++) for (int i = 0; i < cn[t]; i++) g[k++] = cx[t][i];
        k = uniq(g, k);
        s->x = malloc_check(sizeof(double) * k);
        s->y = malloc_check(sizeof(double) * k);
        for (int i = 0; i < k; i++) {
            double sum = 0;
            for (int t = 0; t < nt; t++) sum += step_at(cx[t], cy[t], cn[t], g[i]);
            if (isfinite(sum)) { s->x[s->n] = g[i]; s->y[s->n++] = sum / nt; }
        }
        free(g);
    }
    for (int t = 0; t < nt; t++) { free(cx[t]); free(cy[t]); }
    free(cx); free(cy); free(cn);
    json_decref(rows);
}

static void load_group(const char* runs_dir, const char* prefix, Group* g) {
    char name[256];
    g->nseeds = 0;
    for (int k = 0; k < MAXSEED; k++) {
        snprintf(name, sizeof name, "%s_seed%d", prefix, k);
        load_suite(runs_dir, name, &g->s[k]);
        g->nseeds += g->s[k].ok;
    }
}

/* Mean, min and max over seeds of mean_best. */
static int group_stat(const Group* g, double* mean, double* lo, double* hi) {
    int n = 0;
    *mean = 0; *lo = INFINITY; *hi = -INFINITY;
    for (int k = 0; k < MAXSEED; k++)
        if (g->s[k].ok) { n++; *mean += g->s[k].mean_best; *lo = fmin(*lo, g->s[k].mean_best); *hi = fmax(*hi, g->s[k].mean_best); }
    if (n) *mean /= n;
    else *mean = *lo = *hi = NAN;
    return n;
}

/* Mean, min, max over seeds of the curves, on the union grid where every seed has a value. */
static int group_curve(const Group* g, double** x, double** mean, double** lo, double** hi) {
    int total = 0;
    for (int k = 0; k < MAXSEED; k++) if (g->s[k].ok) { if (!g->s[k].n) return 0; total += g->s[k].n; }
    if (!total) return 0;
    double* u = malloc_check(sizeof(double) * total);
    int n = 0;
    for (int k = 0; k < MAXSEED; k++) for (int i = 0; g->s[k].ok && i < g->s[k].n; i++) u[n++] = g->s[k].x[i];
    n = uniq(u, n);
    *x = malloc_check(sizeof(double) * n); *mean = malloc_check(sizeof(double) * n);
    *lo = malloc_check(sizeof(double) * n); *hi = malloc_check(sizeof(double) * n);
    int m = 0;
    for (int i = 0; i < n; i++) {
        double s = 0, a = INFINITY, b = -INFINITY;
        int c = 0;
        for (int k = 0; k < MAXSEED; k++) {
            if (!g->s[k].ok) continue;
            double v = step_at(g->s[k].x, g->s[k].y, g->s[k].n, u[i]);
            s += v; a = fmin(a, v); b = fmax(b, v); c++;
        }
        if (!isfinite(s)) continue;
        (*x)[m] = u[i]; (*mean)[m] = s / c; (*lo)[m] = a; (*hi)[m] = b; m++;
    }
    free(u);
    return m;
}

/* ---- pretrain and SDFT runs ---- */

typedef struct { int ok; char name[256]; int n, nv; double *step, *loss, *vstep, *vloss; } Pretrain;

static void load_pretrain(const char* runs_dir, const char* name, Pretrain* p) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s/metrics.jsonl", runs_dir, name);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    if (!path_exists(path)) { warn("%s: missing%s", path, ""); return; }
    json_t* rows = load_jsonl(path);
    size_t n = json_array_size(rows);
    p->step = malloc_check(sizeof(double) * (n + 1)); p->loss = malloc_check(sizeof(double) * (n + 1));
    p->vstep = malloc_check(sizeof(double) * (n + 1)); p->vloss = malloc_check(sizeof(double) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        json_t* r = json_array_get(rows, i);
        p->step[p->n] = need_num(r, "step", path, (long)i + 1);
        p->loss[p->n++] = need_num(r, "loss", path, (long)i + 1);
        if (json_object_get(r, "val_loss")) {
            p->vstep[p->nv] = p->step[p->n - 1];
            p->vloss[p->nv++] = need_num(r, "val_loss", path, (long)i + 1);
        }
    }
    p->ok = p->n > 0;
    if (!p->ok) warn("%s: no steps%s", path, "");
    json_decref(rows);
}

/* Pretrain runs under runs_dir (dirs with pretrain_config.json), split by mHC on/off. */
static void find_pretrain(const char* runs_dir, char* base, char* nomhc, size_t cap) {
    struct dirent** ents;
    int n = scandir(runs_dir, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char p[4400];
        const char* d = ents[i]->d_name;
        snprintf(p, sizeof p, "%s/%s/pretrain_config.json", runs_dir, d);
        if (d[0] != '.' && path_exists(p)) {
            snprintf(p, sizeof p, "%s/%s/model_config.json", runs_dir, d);
            if (!path_exists(p)) warn("%s: missing; run %s not classified as mHC on or off", p, d);
            else {
                json_t* mc = load_json(p);
                json_t* mhc = json_object_get(mc, "mhc");
                long mn = json_is_object(mhc) ? jget_int(mhc, "n", 0) : 0;
                char* slot = mn > 0 ? base : nomhc;
                if (!*slot) snprintf(slot, cap, "%s", d);
                json_decref(mc);
            }
        }
        free(ents[i]);
    }
    if (n >= 0) free(ents);
}

static void find_sdft(const char* runs_dir, char* out, size_t cap) {
    struct dirent** ents;
    int n = scandir(runs_dir, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char p[4400];
        snprintf(p, sizeof p, "%s/%s/sdft_eval_report.json", runs_dir, ents[i]->d_name);
        if (ents[i]->d_name[0] != '.' && !*out && path_exists(p)) snprintf(out, cap, "%s", ents[i]->d_name);
        free(ents[i]);
    }
    if (n >= 0) free(ents);
}

/* ---- figures ---- */

static void axes_for(Axes* ax, Canvas* cv, double top, double bottom, double xmin, double xmax, double ymin, double ymax) {
    axes_init(ax, cv, 120, top, W - 40, bottom, xmin, xmax, ymin, ymax);
}

static void fig_pipeline(Canvas* cv) {
    static const char* head[] = {"A  Data", "B  Pretrain", "C  Discover", "D  Distill", "E  Evaluate", "F  Report"};
    static const char* body[] = {"synthetic corpus\nBPE tokenizer\npacked token bins",
                                 "base LM, mHC on\n+ mHC-off control\n(same data, steps)",
                                 "held-out suite:\nbest-of-N vs TTT\n+ 4 ablations, seeds",
                                 "TTT demos (train)\n→ SDFT with\nperplexity gates",
                                 "best-of-N with\nthe SDFT model\n+ retention ppl",
                                 "figures\nLaTeX tables\nresults registry"};
    Rgb col[] = {C_SKY, C_BLUE, C_ORANGE, C_GREEN, C_PURPLE, C_GREY};
    plot_text(cv, "Discover → Distill: the pipeline, phases A–F", cv->w / 2.0, 28, 26, C_BLACK, HA_CENTER, VA_TOP, 0);
    double bw = 220, gap = (cv->w - 60 - 6 * bw) / 5, y0 = 110, y1 = 330;
    for (int i = 0; i < 6; i++) {
        double x0 = 30 + i * (bw + gap);
        plot_fill_rect(cv, x0, y0, x0 + bw, y1, col[i], 0.12f);
        plot_fill_rect(cv, x0, y0, x0 + bw, y0 + 50, col[i], 0.85f);
        plot_rect(cv, x0, y0, x0 + bw, y1, 2.5, col[i]);
        plot_text(cv, head[i], x0 + bw / 2, y0 + 25, 23, C_WHITE, HA_CENTER, VA_MIDDLE, 0);
        plot_text(cv, body[i], x0 + bw / 2, (y0 + 50 + y1) / 2, 19, C_BLACK, HA_CENTER, VA_MIDDLE, 0);
        if (i < 5) plot_arrow(cv, x0 + bw + 6, (y0 + y1) / 2, x0 + bw + gap - 6, (y0 + y1) / 2, 3.5, 16, C_BLACK);
    }
    /* The base checkpoint feeds C, D and E; the train-split TTT run feeds D. */
    double bx = 30 + 1 * (bw + gap) + bw / 2, yl = y1 + 55;
    plot_line(cv, bx, y1 + 2, bx, yl, 2.5, C_BLUE);
    for (int i = 2; i <= 4; i++) {
        double x = 30 + i * (bw + gap) + bw / 2;
        plot_line(cv, bx, yl, x, yl, 2.5, C_BLUE);
        plot_arrow(cv, x, yl, x, y1 + 4, 2.5, 13, C_BLUE);
    }
    plot_text(cv, "base checkpoint", bx + 12, yl + 8, 17, C_BLUE, HA_LEFT, VA_TOP, 0);
    plot_text(cv, "compute-matched: every suite run draws the same number of samples per task", cv->w / 2.0, cv->h - 30, 17,
              C_GREY, HA_CENTER, VA_BOTTOM, 0);
}

static int fig_reward(Canvas* cv, Group* base, Group* ttt, Group* sdft) {
    Group* gs[] = {ttt, base, sdft};
    const char* names[] = {"TTT main", "base best-of-N", "SDFT best-of-N"};
    Rgb col[] = {C_RED, C_BLUE, C_GREEN};
    double *x[3] = {0}, *m[3] = {0}, *lo[3] = {0}, *hi[3] = {0};
    int n[3] = {0}, any = 0;
    double xmax = 0, ymax = 0;
    for (int i = 0; i < 3; i++) {
        n[i] = gs[i]->nseeds ? group_curve(gs[i], &x[i], &m[i], &lo[i], &hi[i]) : 0;
        for (int k = 0; k < n[i]; k++) { xmax = fmax(xmax, x[i][k]); ymax = fmax(ymax, hi[i][k]); }
        any += n[i] > 0;
    }
    if (!n[0] || !n[1]) {
        for (int i = 0; i < 3; i++) { free(x[i]); free(m[i]); free(lo[i]); free(hi[i]); }
        return 0;
    }
    double ymin = 0, xmin = 0;
    ymax = ymax > 0 ? ymax * 1.08 : 1;
    nice_range(&ymin, &ymax, 6);
    Axes ax;
    axes_for(&ax, cv, 95, H - 90, xmin, xmax, ymin, ymax);
    axes_frame(&ax, "Best reward so far vs samples\n(held-out tasks, mean over tasks; line: mean over seeds, band: min–max)",
               "samples per task", "best reward so far", 1);
    LegendItem leg[3];
    int nl = 0;
    char lab[3][128];
    for (int i = 0; i < 3; i++) if (n[i] && gs[i]->nseeds > 1) axes_band(&ax, x[i], lo[i], hi[i], n[i], col[i], 0.18f);
    for (int i = 2; i >= 0; i--) {
        if (!n[i]) continue;
        axes_series(&ax, x[i], m[i], n[i], col[i], 3, i == 2, n[i] <= 40 ? 4.5 : 0);
    }
    for (int i = 0; i < 3; i++) {
        if (!n[i]) continue;
        snprintf(lab[i], sizeof lab[i], "%s (%d seed%s)", names[i], gs[i]->nseeds, gs[i]->nseeds == 1 ? "" : "s");
        leg[nl++] = (LegendItem){lab[i], col[i], i == 2 ? LEG_DASHED : LEG_LINE};
    }
    axes_legend(&ax, leg, nl);
    for (int i = 0; i < 3; i++) { free(x[i]); free(m[i]); free(lo[i]); free(hi[i]); }
    return any;
}

static int fig_ablations(Canvas* cv, Group* gs, int ng) {
    static const char* labels[] = {"base\nbest-of-N", "TTT\nmain", "reuse\noff", "adaptive β\noff", "KL shaping\noff",
                                   "expected\nobjective"};
    double val[8], lo[8], hi[8], top = 0;
    char glab[8][96];
    const char* gl[8];
    int present = 0;
    for (int i = 0; i < ng; i++) {
        int n = group_stat(&gs[i], &val[i], &lo[i], &hi[i]);
        if (n < 2) lo[i] = hi[i] = NAN;
        if (n) { present++; top = fmax(top, isfinite(hi[i]) ? hi[i] : val[i]); }
        snprintf(glab[i], sizeof glab[i], "%s\n%s", labels[i], n == 0 ? "(missing)" : n == 1 ? "seed 0" : "");
        if (n > 1) snprintf(glab[i], sizeof glab[i], "%s\n%d seeds", labels[i], n);
        gl[i] = glab[i];
    }
    if (present < 2 || !isfinite(val[0]) || !isfinite(val[1])) return 0;
    double ymin = 0, ymax = top > 0 ? top * 1.2 : 1;
    nice_range(&ymin, &ymax, 6);
    Axes ax;
    axes_for(&ax, cv, 80, H - 120, 0, ng, ymin, ymax);
    axes_frame(&ax, "Ablations: mean best reward on held-out tasks (error bars: min–max over seeds)", NULL,
               "mean best reward", 0);
    axes_hline(&ax, val[0], C_GREY, "base best-of-N");
    Rgb c = C_BLUE;
    axes_bars(&ax, ng, 1, val, lo, hi, &c, gl, "%.3f");
    return 1;
}

/* Centred moving average over 2k+1 points (fewer at the ends). */
static void smooth(const double* y, int n, int k, double* out) {
    for (int i = 0; i < n; i++) {
        double s = 0;
        int c = 0;
        for (int j = i - k; j <= i + k; j++) if (j >= 0 && j < n) { s += y[j]; c++; }
        out[i] = s / c;
    }
}

/* Top: train loss (raw, faint; smoothed, solid) and val loss (dashed, dots) of both runs.
 * Bottom, when both exist: mHC on minus mHC off, val at shared eval steps and smoothed train. */
static int fig_pretrain(Canvas* cv, Pretrain* p) {
    double xmax = 0, ymin = INFINITY, ymax = -INFINITY;
    double* sm[2] = {0};
    int any = 0, both = p[0].ok && p[1].ok;
    for (int i = 0; i < 2; i++) {
        if (!p[i].ok) continue;
        any = 1;
        sm[i] = malloc_check(sizeof(double) * p[i].n);
        smooth(p[i].loss, p[i].n, p[i].n / 60, sm[i]);
        for (int k = 0; k < p[i].n; k++) { xmax = fmax(xmax, p[i].step[k]); ymin = fmin(ymin, p[i].loss[k]); ymax = fmax(ymax, p[i].loss[k]); }
        for (int k = 0; k < p[i].nv; k++) { ymin = fmin(ymin, p[i].vloss[k]); ymax = fmax(ymax, p[i].vloss[k]); }
    }
    if (!any) return 0;
    nice_range(&ymin, &ymax, 6);
    double xmin = 0;
    nice_range(&xmin, &xmax, 7);
    Axes ax;
    axes_for(&ax, cv, 70, both ? cv->h * 0.6 : cv->h - 90, xmin, xmax, ymin, ymax);
    axes_frame(&ax, "Pretraining loss: mHC on vs off", both ? NULL : "step", "loss (nats/token)", 1);
    Rgb col[] = {C_BLUE, C_ORANGE};
    const char* who[] = {"mHC on", "mHC off"};
    LegendItem leg[4];
    char lab[4][320];
    int nl = 0;
    for (int i = 0; i < 2; i++) {
        if (!p[i].ok) continue;
        Rgb light = RGB((col[i].r + 3 * 255) / 4, (col[i].g + 3 * 255) / 4, (col[i].b + 3 * 255) / 4);
        axes_series(&ax, p[i].step, p[i].loss, p[i].n, light, 1, 0, 0);
    }
    for (int i = 0; i < 2; i++) {
        if (!p[i].ok) continue;
        axes_series(&ax, p[i].step, sm[i], p[i].n, col[i], 2.5, 0, 0);
        axes_series(&ax, p[i].vstep, p[i].vloss, p[i].nv, col[i], 2.5, 1, 5);
        snprintf(lab[nl], sizeof lab[nl], "%s: train, smoothed (%s)", who[i], p[i].name);
        leg[nl] = (LegendItem){lab[nl], col[i], LEG_LINE}; nl++;
        snprintf(lab[nl], sizeof lab[nl], "%s: val", who[i]);
        leg[nl] = (LegendItem){lab[nl], col[i], LEG_DASHED}; nl++;
    }
    axes_legend(&ax, leg, nl);
    if (both) {
        int n = p[0].n < p[1].n ? p[0].n : p[1].n, nv = 0;
        double *d = malloc_check(sizeof(double) * (n + 1)), *vs = malloc_check(sizeof(double) * (p[0].nv + 1));
        double* vd = malloc_check(sizeof(double) * (p[0].nv + 1));
        double lo = 0, hi = 0;
        for (int k = 0; k < n; k++) { d[k] = sm[0][k] - sm[1][k]; lo = fmin(lo, d[k]); hi = fmax(hi, d[k]); }
        for (int k = 0; k < p[0].nv; k++) {
            double o = step_at(p[1].vstep, p[1].vloss, p[1].nv, p[0].vstep[k]);
            if (p[1].nv && isfinite(o) && step_at(p[1].vstep, p[1].vstep, p[1].nv, p[0].vstep[k]) == p[0].vstep[k]) {
                vs[nv] = p[0].vstep[k]; vd[nv] = p[0].vloss[k] - o; lo = fmin(lo, vd[nv]); hi = fmax(hi, vd[nv]); nv++;
            }
        }
        /* Skip the first 5% of steps: the early losses swing by whole nats and would flatten the rest. */
        int k0 = n / 20;
        lo = 0; hi = 0;
        for (int k = k0; k < n; k++) { lo = fmin(lo, d[k]); hi = fmax(hi, d[k]); }
        for (int k = 0; k < nv; k++) { lo = fmin(lo, vd[k]); hi = fmax(hi, vd[k]); }
        double m = fmax(fabs(lo), fabs(hi)) * 1.1;
        lo = -m; hi = m;
        nice_range(&lo, &hi, 4);
        Axes a2;
        axes_for(&a2, cv, cv->h * 0.6 + 90, cv->h - 85, xmin, xmax, lo, hi);
        axes_frame(&a2, "mHC on minus mHC off (below 0: mHC on is lower)", "step", "loss difference", 1);
        axes_hline(&a2, 0, C_GREY, NULL);
        for (int k = 0; k < k0; k++) d[k] = NAN;
        axes_series(&a2, p[0].step, d, n, C_PURPLE, 2, 0, 0);
        axes_series(&a2, vs, vd, nv, C_BLACK, 2.5, 1, 5);
        LegendItem l2[] = {{"train, smoothed", C_PURPLE, LEG_LINE}, {"val", C_BLACK, LEG_DASHED}};
        axes_legend(&a2, l2, nv ? 2 : 1);
        free(d); free(vs); free(vd);
    }
    free(sm[0]); free(sm[1]);
    return 1;
}

/* "<=0.05" -> 0.05 */
static double threshold(const char* s) {
    while (s && *s && strchr("<>= ", *s)) s++;
    char* e;
    double v = s && *s ? strtod(s, &e) : NAN;
    return s && *s && !*e ? v : NAN;
}

static int fig_sdft(Canvas* cv, const char* run, json_t* metrics, json_t* report) {
    size_t n = json_array_size(metrics);
    if (!n) return 0;
    double *st = malloc_check(sizeof(double) * n), *kl = malloc_check(sizeof(double) * n);
    double *gs = malloc_check(sizeof(double) * n), *gv = malloc_check(sizeof(double) * n);
    const char** verdict = malloc_check(sizeof(char*) * n);
    int ng = 0;
    double xmax = 0, klmax = 0, gmin = 0, gmax = 0;
    for (size_t i = 0; i < n; i++) {
        json_t* r = json_array_get(metrics, i);
        st[i] = jget_num(r, "step", 0); kl[i] = jget_num(r, "kl", NAN);
        xmax = fmax(xmax, st[i]);
        if (isfinite(kl[i])) klmax = fmax(klmax, kl[i]);
        if (json_object_get(r, "val_ppl_rel_delta")) {
            gs[ng] = st[i]; gv[ng] = jget_num(r, "val_ppl_rel_delta", NAN); verdict[ng] = jget_str(r, "gate", "");
            gmin = fmin(gmin, gv[ng]); gmax = fmax(gmax, gv[ng]); ng++;
        }
    }
    double green = NAN, amber = NAN;
    json_t* gvs = json_object_get(report, "gate_verdicts");
    if (json_array_size(gvs)) {
        green = threshold(jget_str(json_array_get(gvs, 0), "green", ""));
        amber = threshold(jget_str(json_array_get(gvs, 0), "amber", ""));
    }
    if (isfinite(green)) gmax = fmax(gmax, green);
    if (isfinite(amber)) gmax = fmax(gmax, amber);
    double xmin = 0;
    nice_range(&xmin, &xmax, 7);
    char title[512];
    snprintf(title, sizeof title, "SDFT (%s): distillation KL per step", run);
    double y0 = 0, y1 = klmax * 1.1;
    nice_range(&y0, &y1, 5);
    Axes a1, a2;
    axes_for(&a1, cv, 70, cv->h * 0.47, xmin, xmax, y0, y1);
    axes_frame(&a1, title, NULL, "KL (nats/token)", 1);
    axes_series(&a1, st, kl, (int)n, C_BLUE, 2, 0, n <= 60 ? 3.5 : 0);
    double b0 = gmin, b1 = gmax * 1.15;
    nice_range(&b0, &b1, 5);
    axes_for(&a2, cv, cv->h * 0.47 + 95, cv->h - 85, xmin, xmax, b0, b1);
    char t2[512];
    double base = jget_num(report, "base_val_ppl", NAN), fin = jget_num(report, "final_val_ppl", NAN);
    if (isfinite(base) && isfinite(fin))
        snprintf(t2, sizeof t2, "Gate: relative change of val perplexity (base %.2f → final %.2f)", base, fin);
    else snprintf(t2, sizeof t2, "Gate: relative change of val perplexity");
    axes_frame(&a2, t2, "SDFT step", "val ppl rel. delta", 1);
    char lab[64];
    if (isfinite(amber)) { snprintf(lab, sizeof lab, "amber ≤ %g", amber); axes_hline(&a2, amber, C_ORANGE, lab); }
    if (isfinite(green)) { snprintf(lab, sizeof lab, "green ≤ %g", green); axes_hline(&a2, green, C_GREEN, lab); }
    axes_series(&a2, gs, gv, ng, C_GREY, 2, 0, 0);
    for (int i = 0; i < ng; i++) {
        Rgb c = !strcmp(verdict[i], "GREEN") ? C_GREEN : !strcmp(verdict[i], "AMBER") ? C_ORANGE : !strcmp(verdict[i], "RED") ? C_RED : C_GREY;
        plot_circle(cv, ax_x(&a2, gs[i]), ax_y(&a2, gv[i]), 7, c);
    }
    static const char* vn[] = {"GREEN", "AMBER", "RED"};
    Rgb vc[] = {C_GREEN, C_ORANGE, C_RED};
    LegendItem leg[3];
    char vl[3][32];
    int nl = 0;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < ng; i++)
            if (!strcmp(verdict[i], vn[k])) {
                snprintf(vl[nl], sizeof vl[nl], "gate %s", vn[k]);
                leg[nl] = (LegendItem){vl[nl], vc[k], LEG_MARKER}; nl++;
                break;
            }
    if (nl) axes_legend(&a2, leg, nl);
    free(st); free(kl); free(gs); free(gv); free(verdict);
    return ng > 0 || n > 0;
}

static int fig_retention(Canvas* cv, json_t* r, const char* path) {
    double b = need_num(r, "base_ppl", path, 1), u = need_num(r, "updated_ppl", path, 1);
    double rel = need_num(r, "rel_delta", path, 1), ab = need_num(r, "abs_delta", path, 1);
    double ymin = 0, ymax = fmax(b, u) * 1.25;
    nice_range(&ymin, &ymax, 6);
    Axes ax;
    axes_init(&ax, cv, 140, 80, cv->w - 60, cv->h - 100, 0, 2, ymin, ymax);
    axes_frame(&ax, "Retention: validation perplexity, base vs SDFT-updated", NULL, "perplexity", 0);
    const char* gl[] = {"base", "SDFT-updated"};
    Rgb col[] = {C_BLUE};
    /* Two categories in different colours: one call per colour on the same axes. */
    double v0[2] = {b, NAN}, v1[2] = {NAN, u};
    axes_bars(&ax, 2, 1, v0, NULL, NULL, col, gl, "%.3f");
    Rgb col2[] = {C_GREEN};
    axes_bars(&ax, 2, 1, v1, NULL, NULL, col2, NULL, "%.3f");
    char lab[128];
    snprintf(lab, sizeof lab, "Δ = %+.3f (%+.2f%%)", ab, 100 * rel);
    plot_text(cv, lab, ax_x(&ax, 1), ax_y(&ax, fmax(b, u)) - 45, 22, rel > 0 ? C_RED : C_GREEN, HA_CENTER, VA_BOTTOM, 0);
    return 1;
}

/* ---- main ---- */

static void save(Tracker* t, Canvas* cv, const char* dir, const char* name, json_t* made) {
    char p[4400], err[ERR_LEN];
    path_join(p, sizeof p, dir, name);
    if (canvas_save_png(cv, p, err)) die(EXIT_FAIL, "%s", err);
    track_output(t, p);
    json_array_append_new(made, json_string(name));
}

static void new_canvas(Canvas* cv, int w, int h, const char* font) {
    char err[ERR_LEN];
    if (canvas_init(cv, w, h, C_WHITE, font, err)) die(EXIT_BADINPUT, "%s", err);
}

int main(int argc, char** argv) {
    Args a;
    Common c;
    cfg_cli(&SPEC, argc, argv, &a, &c);
    char err[ERR_LEN], p[4400], run[4400], paper[4400];
    warnings = json_array();
    inputs = json_array();
    if (!is_dir(a.runs_dir)) die(EXIT_BADINPUT, "--runs_dir %s: not a directory", a.runs_dir);

    /* Every input read and checked before any file is written. */
    static const char* prefixes[] = {"base_bestofn", "ttt_main", "ttt_reuse0", "ttt_adapt0", "ttt_kl0", "ttt_expected"};
    Group* abl = calloc_check(6, sizeof(Group));
    for (int i = 0; i < 6; i++) load_group(a.runs_dir, prefixes[i], &abl[i]);
    Group* sd = calloc_check(1, sizeof(Group));
    load_group(a.runs_dir, "sdft_bestofn", sd);

    char base[256] = "", nomhc[256] = "", sdft[256] = "";
    find_pretrain(a.runs_dir, base, nomhc, sizeof base);
    if (*a.pretrain_run) snprintf(base, sizeof base, "%s", a.pretrain_run);
    if (*a.pretrain_nomhc_run) snprintf(nomhc, sizeof nomhc, "%s", a.pretrain_nomhc_run);
    Pretrain pre[2] = {0};
    if (*base) load_pretrain(a.runs_dir, base, &pre[0]);
    else warn("%s: no pretrain run with mHC on (pretrain_config.json, model_config.json mhc n > 0)%s", a.runs_dir, "");
    if (*nomhc) load_pretrain(a.runs_dir, nomhc, &pre[1]);
    else warn("%s: no mHC-off pretrain run%s", a.runs_dir, "");

    find_sdft(a.runs_dir, sdft, sizeof sdft);
    if (*a.sdft_run) snprintf(sdft, sizeof sdft, "%s", a.sdft_run);
    json_t *sm = NULL, *sr = NULL, *ret = NULL;
    if (*sdft) {
        snprintf(p, sizeof p, "%s/%s/metrics.jsonl", a.runs_dir, sdft);
        if (path_exists(p)) sm = load_jsonl(p);
        else warn("%s: missing; no SDFT figure%s", p, "");
        for (size_t i = 0; sm && i < json_array_size(sm); i++) need_num(json_array_get(sm, i), "step", p, (long)i + 1);
        snprintf(p, sizeof p, "%s/%s/sdft_eval_report.json", a.runs_dir, sdft);
        sr = path_exists(p) ? load_json(p) : json_object();
    } else warn("%s: no SDFT run (sdft_eval_report.json); no SDFT figure%s", a.runs_dir, "");
    char rp[4400];
    snprintf(rp, sizeof rp, "%s/suite/retention_ppl.json", a.runs_dir);
    if (path_exists(rp)) ret = load_json(rp);
    else warn("%s: missing; no retention figure%s", rp, "");
    if (ret) for (int i = 0; i < 4; i++) need_num(ret, (const char*[]){"base_ppl", "updated_ppl", "abs_delta", "rel_delta"}[i], rp, 1);

    Canvas probe;   /* the font, before any file is written */
    if (canvas_init(&probe, 1, 1, C_WHITE, a.font, err)) die(EXIT_BADINPUT, "%s", err);
    canvas_free(&probe);
    if (*a.paper_dir) snprintf(paper, sizeof paper, "%s", a.paper_dir);
    else path_dirname(paper, sizeof paper, a.fig_dir);
    if (mkdir_p(a.fig_dir, err)) die(EXIT_BADINPUT, "%s", err);
    if (c.run_dir) snprintf(run, sizeof run, "%s", c.run_dir);
    else path_join(run, sizeof run, a.fig_dir, "_runs/plot");
    Tracker t;
    track_open(&t, run, &SPEC, &a, &c, "plot");
    for (size_t i = 0; i < json_array_size(inputs); i++) track_input(&t, json_string_value(json_array_get(inputs, i)));
    for (size_t i = 0; i < json_array_size(warnings); i++)
        track_say(&t, "plot: warning: %s", json_string_value(json_array_get(warnings, i)));
    track_total(&t, 6);

    json_t* made = json_array();
    Canvas cv;
    new_canvas(&cv, 1600, 480, a.font);
    fig_pipeline(&cv);
    save(&t, &cv, a.fig_dir, "fig_pipeline.png", made);
    canvas_free(&cv);
    track_progress(&t, 1, "fig_pipeline.png");

    new_canvas(&cv, W, H, a.font);
    if (fig_reward(&cv, &abl[0], &abl[1], sd)) save(&t, &cv, a.fig_dir, "fig_reward_vs_samples.png", made);
    else track_say(&t, "plot: warning: skipping fig_reward_vs_samples.png: needs the curves of base_bestofn_seed* and ttt_main_seed*");
    canvas_free(&cv);
    track_progress(&t, 2, "fig_reward_vs_samples.png");

    new_canvas(&cv, W, H, a.font);
    if (fig_ablations(&cv, abl, 6)) save(&t, &cv, a.fig_dir, "fig_ablations.png", made);
    else track_say(&t, "plot: warning: skipping fig_ablations.png: needs base_bestofn_seed* and ttt_main_seed* summaries");
    canvas_free(&cv);
    track_progress(&t, 3, "fig_ablations.png");

    new_canvas(&cv, W, 950, a.font);
    if (fig_pretrain(&cv, pre)) save(&t, &cv, a.fig_dir, "fig_pretrain_loss.png", made);
    else track_say(&t, "plot: warning: skipping fig_pretrain_loss.png: no pretrain metrics");
    canvas_free(&cv);
    track_progress(&t, 4, "fig_pretrain_loss.png");

    new_canvas(&cv, W, 950, a.font);
    if (sm && fig_sdft(&cv, sdft, sm, sr)) save(&t, &cv, a.fig_dir, "fig_sdft.png", made);
    else track_say(&t, "plot: warning: skipping fig_sdft.png: no SDFT metrics");
    canvas_free(&cv);
    track_progress(&t, 5, "fig_sdft.png");

    new_canvas(&cv, 900, 700, a.font);
    if (ret && fig_retention(&cv, ret, rp)) save(&t, &cv, a.fig_dir, "fig_retention.png", made);
    else track_say(&t, "plot: warning: skipping fig_retention.png: no retention_ppl.json");
    canvas_free(&cv);
    track_progress(&t, 6, "fig_retention.png");

    /* F2: the LaTeX tables, macros and results registry (lib/report). */
    if (report_write(a.runs_dir, paper, err)) die(EXIT_BADINPUT, "%s", err);
    static const char* tables[] = {"tables/table_main_results.tex", "tables/table_ablation_summary.tex", "tables/table_mhc.tex",
                                   "results_macros.tex", "results_registry.md"};
    for (int i = 0; i < 5; i++) {
        path_join(p, sizeof p, paper, tables[i]);
        if (path_exists(p)) track_output(&t, p);
    }

    track_summary(&t, "figures", json_incref(made));
    track_say(&t, "plot: %zu figures in %s, tables in %s", json_array_size(made), a.fig_dir, paper);
    track_finish(&t, "completed", "");
    json_decref(made); json_decref(sm); json_decref(sr); json_decref(ret); json_decref(warnings); json_decref(inputs);
    for (int i = 0; i < 2; i++) { free(pre[i].step); free(pre[i].loss); free(pre[i].vstep); free(pre[i].vloss); }
    for (int g = 0; g < 6; g++) for (int k = 0; k < MAXSEED; k++) { free(abl[g].s[k].x); free(abl[g].s[k].y); }
    for (int k = 0; k < MAXSEED; k++) { free(sd->s[k].x); free(sd->s[k].y); }
    free(abl); free(sd);
    return 0;
}
