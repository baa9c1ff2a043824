/* figures: the paper's figures (lib/paper/figures.h, docs/figures.md). */
#include "figures.h"
#include "stats.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Task i of s[0] (first present seed) as the index of the same task in seed k, or -1. */
static int task_in(const RunsSuite* s0, const RunsSuite* sk, int i) {
    const char* id = json_string_value(json_array_get(s0->ids, (size_t)i));
    if (s0 == sk) return i;
    for (size_t j = 0; id && j < json_array_size(sk->ids); j++)
        if (!strcmp(id, json_string_value(json_array_get(sk->ids, j)))) return (int)j;
    return -1;
}

/* Mean over tasks of v (per task, averaged over seeds) and its 95% bootstrap interval. */
static void over_tasks(const double* v, int n, double* mean, double* lo, double* hi) {
    PairedCI ci;
    stats_paired_bootstrap(v, n, STATS_RESAMPLES, 0, 0.95, &ci);
    *mean = ci.mean; *lo = ci.lo; *hi = ci.hi;
}

/* Mean best reward over tasks (each task's best averaged over the present seeds) and its
 * 95% bootstrap interval over tasks; returns the seeds present. */
static int group_stat(const SeedGroup* g, double* mean, double* lo, double* hi) {
    const RunsSuite* first = NULL;
    int ns = 0;
    for (int k = 0; k < FIG_SEEDS; k++) if (g->s[k].present) { ns++; if (!first) first = &g->s[k]; }
    *mean = *lo = *hi = NAN;
    if (!ns) return 0;
    double* v = malloc_check(sizeof(double) * (json_object_size(first->task_best) + 1));
    int n = 0;
    const char* id;
    json_t* x;
    json_object_foreach(first->task_best, id, x) {
        double sum = 0;
        int c = 0;
        for (int k = 0; k < FIG_SEEDS; k++) {
            json_t* y = g->s[k].present ? json_object_get(g->s[k].task_best, id) : NULL;
            if (y) { sum += json_number_value(y); c++; }
        }
        if (c == ns) v[n++] = sum / c;
    }
    if (n) over_tasks(v, n, mean, lo, hi);
    free(v);
    return ns;
}

/* The curve over tasks: at each sample count of the union grid where every present seed
 * has a point, each task's value averaged over seeds; mean and 95% interval over tasks. */
static int group_curve(const SeedGroup* g, double** x, double** mean, double** lo, double** hi) {
    int total = 0;
    const RunsSuite* first = NULL;
    for (int k = 0; k < FIG_SEEDS; k++)
        if (g->s[k].present) {
            if (!g->s[k].n || !g->s[k].ty) return 0;
            total += g->s[k].n;
            if (!first) first = &g->s[k];
        }
    if (!total) return 0;
    double* u = malloc_check(sizeof(double) * total);
    int n = 0;
    for (int k = 0; k < FIG_SEEDS; k++) for (int i = 0; g->s[k].present && i < g->s[k].n; i++) u[n++] = g->s[k].x[i];
    n = uniq(u, n);
    int nt = first->ntasks;
    double* v = malloc_check(sizeof(double) * (nt + 1));
    int* at = malloc_check(sizeof(int) * (size_t)(nt * FIG_SEEDS + 1));   /* task t's index in seed k, or -1 */
    for (int t = 0; t < nt; t++)
        for (int k = 0; k < FIG_SEEDS; k++) at[t * FIG_SEEDS + k] = g->s[k].present ? task_in(first, &g->s[k], t) : -1;
    *x = malloc_check(sizeof(double) * n); *mean = malloc_check(sizeof(double) * n);
    *lo = malloc_check(sizeof(double) * n); *hi = malloc_check(sizeof(double) * n);
    int m = 0;
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (int t = 0; t < nt; t++) {
            double sum = 0;
            int seeds = 0, whole = 1;
            for (int k = 0; k < FIG_SEEDS; k++) {
                const RunsSuite* s = &g->s[k];
                if (!s->present) continue;
                int j = at[t * FIG_SEEDS + k];
                if (j < 0) { whole = 0; break; }
                sum += runs_step_at(s->x, s->ty + (size_t)j * s->n, s->n, u[i]);
                seeds++;
            }
            if (whole && isfinite(sum)) v[c++] = sum / seeds;
        }
        if (c < nt || c == 0) continue;   /* a task without a value here: no point */
        (*x)[m] = u[i];
        over_tasks(v, c, &(*mean)[m], &(*lo)[m], &(*hi)[m]);
        m++;
    }
    free(u); free(v); free(at);
    return m;
}

static void axes_for(Axes* ax, Canvas* cv, double top, double bottom, double xmin, double xmax, double ymin, double ymax) {
    axes_init(ax, cv, 120, top, cv->w - 40, bottom, xmin, xmax, ymin, ymax);
}

void fig_pipeline(Canvas* cv) {
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

int fig_reward(Canvas* cv, const SeedGroup* base, const SeedGroup* search, const SeedGroup* ttt, const SeedGroup* sdft) {
    enum { NS = 4 };   /* TTT and base first (both required), then search and SDFT; SDFT dashed */
    const SeedGroup* gs[NS] = {ttt, base, search, sdft};
    const char* names[NS] = {"TTT main", "base best-of-N", "search (no learning)", "SDFT best-of-N"};
    Rgb col[NS] = {C_RED, C_BLUE, C_ORANGE, C_GREEN};
    double *x[NS] = {0}, *m[NS] = {0}, *lo[NS] = {0}, *hi[NS] = {0};
    int n[NS] = {0}, any = 0;
    double xmax = 0, ymax = 0;
    for (int i = 0; i < NS; i++) {
        n[i] = gs[i]->nseeds ? group_curve(gs[i], &x[i], &m[i], &lo[i], &hi[i]) : 0;
        for (int k = 0; k < n[i]; k++) { xmax = fmax(xmax, x[i][k]); ymax = fmax(ymax, hi[i][k]); }
        any += n[i] > 0;
    }
    if (!n[0] || !n[1]) {
        for (int i = 0; i < NS; i++) { free(x[i]); free(m[i]); free(lo[i]); free(hi[i]); }
        return 0;
    }
    double ymin = 0, xmin = 0;
    ymax = ymax > 0 ? ymax * 1.08 : 1;
    nice_range(&ymin, &ymax, 6);
    Axes ax;
    axes_for(&ax, cv, 95, cv->h - 90, xmin, xmax, ymin, ymax);
    axes_frame(&ax, "Best reward vs samples per task (held-out tasks; best-of-N: expected best of k)\n"
               "(line: mean over tasks, seeds averaged per task; band: 95% bootstrap interval over tasks)",
               "samples per task", "best reward", 1);
    LegendItem leg[NS];
    int nl = 0;
    char lab[NS][128];
    for (int i = 0; i < NS; i++) if (n[i]) axes_band(&ax, x[i], lo[i], hi[i], n[i], col[i], 0.18f);
    for (int i = NS - 1; i >= 0; i--) {
        if (!n[i]) continue;
        axes_series(&ax, x[i], m[i], n[i], col[i], 3, i == NS - 1, n[i] <= 40 ? 4.5 : 0);
    }
    for (int i = 0; i < NS; i++) {
        if (!n[i]) continue;
        snprintf(lab[i], sizeof lab[i], "%s (%d seed%s)", names[i], gs[i]->nseeds, gs[i]->nseeds == 1 ? "" : "s");
        leg[nl++] = (LegendItem){lab[i], col[i], i == NS - 1 ? LEG_DASHED : LEG_LINE};
    }
    axes_legend(&ax, leg, nl);
    for (int i = 0; i < NS; i++) { free(x[i]); free(m[i]); free(lo[i]); free(hi[i]); }
    return any;
}

int fig_ablations(Canvas* cv, const SeedGroup* gs, int ng) {
    static const char* labels[] = {"base\nbest-of-N", "TTT\nmain", "reuse\noff", "adaptive β\noff", "KL shaping\noff",
                                   "expected\nobjective"};
    double val[8], lo[8], hi[8], top = 0;
    char glab[8][96];
    const char* gl[8];
    int present = 0;
    for (int i = 0; i < ng; i++) {
        int n = group_stat(&gs[i], &val[i], &lo[i], &hi[i]);
        if (n) { present++; top = fmax(top, isfinite(hi[i]) ? hi[i] : val[i]); }
        snprintf(glab[i], sizeof glab[i], "%s\n%s", labels[i], n == 0 ? "(missing)" : n == 1 ? "1 seed" : "");
        if (n > 1) snprintf(glab[i], sizeof glab[i], "%s\n%d seeds", labels[i], n);
        gl[i] = glab[i];
    }
    if (present < 2 || !isfinite(val[0]) || !isfinite(val[1])) return 0;
    double ymin = 0, ymax = top > 0 ? top * 1.2 : 1;
    nice_range(&ymin, &ymax, 6);
    Axes ax;
    axes_for(&ax, cv, 80, cv->h - 120, 0, ng, ymin, ymax);
    axes_frame(&ax, "Ablations: mean best reward on held-out tasks\n(error bars: 95% bootstrap interval over tasks, seeds averaged per task)", NULL,
               "mean best reward", 0);
    axes_hline(&ax, val[0], C_GREY, "base best-of-N");
    Rgb c = C_BLUE;
    axes_bars(&ax, ng, 1, val, lo, hi, &c, gl, "%.3f");
    return 1;
}

int fig_differences(Canvas* cv, const ReportDiff* d, int n) {
    double top = 0, bot = 0, lw = 0;
    int present = 0;
    for (int i = 0; i < n; i++) {
        if (d[i].present) { present++; top = fmax(top, d[i].hi); bot = fmin(bot, d[i].lo); }
        double w, h;
        plot_text_size(cv, d[i].label, 17, &w, &h);
        lw = fmax(lw, w);
    }
    if (!present) return 0;
    double span = fmax(top - bot, 0.05), xmin = bot - 0.1 * span, xmax = top + 0.1 * span;
    nice_range(&xmin, &xmax, 7);
    double px0 = fmin(30 + lw + 20, cv->w * 0.5), py0 = 110, py1 = cv->h - 90;
    Axes ax;
    axes_init(&ax, cv, px0, py0, cv->w - 200, py1, xmin, xmax, 0, n);
    double first, step;
    char buf[64];
    int nt = nice_ticks(xmin, xmax, 7, &first, &step);
    for (int i = 0; i < nt; i++) {
        double v = first + i * step, x = ax_x(&ax, v);
        plot_line(cv, x, py0, x, py1, 1, C_LIGHT);
        plot_line(cv, x, py1, x, py1 + 6, 1.5, C_BLACK);
        tick_label(buf, sizeof buf, v, step);
        plot_text(cv, buf, x, py1 + 9, 16, C_BLACK, HA_CENTER, VA_TOP, 0);
    }
    plot_rect(cv, px0, py0, ax.px1, py1, 1.5, C_BLACK);
    plot_dashed(cv, ax_x(&ax, 0), py0, ax_x(&ax, 0), py1, 2, 8, 6, C_BLACK);
    plot_text(cv, "Paired differences on the held-out tasks, one row per comparison (dashed: no difference)\n"
              "(dot: mean over tasks of the per-task difference, seeds averaged per task; bar: 95% bootstrap interval over tasks)",
              cv->w / 2.0, 20, 19, C_BLACK, HA_CENTER, VA_TOP, 0);
    plot_text(cv, "difference (first minus second)", (px0 + ax.px1) / 2, py1 + 40, 18, C_BLACK, HA_CENTER, VA_TOP, 0);
    for (int i = 0; i < n; i++) {
        double y = ax_y(&ax, n - i - 0.5);
        Rgb c = d[i].primary ? C_RED : C_BLUE;
        plot_text(cv, d[i].label, px0 - 12, y, 17, C_BLACK, HA_RIGHT, VA_MIDDLE, 0);
        if (!d[i].present) { plot_text(cv, "(missing)", ax.px1 + 12, y, 16, C_GREY, HA_LEFT, VA_MIDDLE, 0); continue; }
        plot_line(cv, ax_x(&ax, d[i].lo), y, ax_x(&ax, d[i].hi), y, 3, c);
        plot_line(cv, ax_x(&ax, d[i].lo), y - 7, ax_x(&ax, d[i].lo), y + 7, 2, c);
        plot_line(cv, ax_x(&ax, d[i].hi), y - 7, ax_x(&ax, d[i].hi), y + 7, 2, c);
        plot_circle(cv, ax_x(&ax, d[i].mean), y, 6, c);
        snprintf(buf, sizeof buf, "%+.3f%s", d[i].mean, d[i].primary ? "  PRIMARY" : "");
        plot_text(cv, buf, ax.px1 + 12, y, 16, c, HA_LEFT, VA_MIDDLE, 0);
    }
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
int fig_pretrain(Canvas* cv, const RunsPretrain* p) {
    double xmax = 0, ymin = INFINITY, ymax = -INFINITY;
    double* sm[2] = {0};
    int any = 0, both = p[0].n && p[1].n;
    for (int i = 0; i < 2; i++) {
        if (!p[i].n) continue;
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
        if (!p[i].n) continue;
        Rgb light = RGB((col[i].r + 3 * 255) / 4, (col[i].g + 3 * 255) / 4, (col[i].b + 3 * 255) / 4);
        axes_series(&ax, p[i].step, p[i].loss, p[i].n, light, 1, 0, 0);
    }
    for (int i = 0; i < 2; i++) {
        if (!p[i].n) continue;
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
            double o = runs_step_at(p[1].vstep, p[1].vloss, p[1].nv, p[0].vstep[k]);
            if (p[1].nv && isfinite(o) && runs_step_at(p[1].vstep, p[1].vstep, p[1].nv, p[0].vstep[k]) == p[0].vstep[k]) {
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

int fig_sdft(Canvas* cv, const char* run, const json_t* metrics, const json_t* report) {
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

int fig_retention(Canvas* cv, const json_t* r) {
    double b = jget_num(r, "base_ppl", NAN), u = jget_num(r, "updated_ppl", NAN);
    double rel = jget_num(r, "rel_delta", NAN), ab = jget_num(r, "abs_delta", NAN);
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
