/* figures: the paper's figures (lib/figures.h, docs/figures.md). */
#include "figures.h"
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

/* Mean, min and max over seeds of mean_best. */
static int group_stat(const SeedGroup* g, double* mean, double* lo, double* hi) {
    int n = 0;
    *mean = 0; *lo = INFINITY; *hi = -INFINITY;
    for (int k = 0; k < FIG_SEEDS; k++)
        if (g->s[k].present) { n++; *mean += g->s[k].best; *lo = fmin(*lo, g->s[k].best); *hi = fmax(*hi, g->s[k].best); }
    if (n) *mean /= n;
    else *mean = *lo = *hi = NAN;
    return n;
}

/* Mean, min, max over seeds of the curves, on the union grid where every seed has a value. */
static int group_curve(const SeedGroup* g, double** x, double** mean, double** lo, double** hi) {
    int total = 0;
    for (int k = 0; k < FIG_SEEDS; k++) if (g->s[k].present) { if (!g->s[k].n) return 0; total += g->s[k].n; }
    if (!total) return 0;
    double* u = malloc_check(sizeof(double) * total);
    int n = 0;
    for (int k = 0; k < FIG_SEEDS; k++) for (int i = 0; g->s[k].present && i < g->s[k].n; i++) u[n++] = g->s[k].x[i];
    n = uniq(u, n);
    *x = malloc_check(sizeof(double) * n); *mean = malloc_check(sizeof(double) * n);
    *lo = malloc_check(sizeof(double) * n); *hi = malloc_check(sizeof(double) * n);
    int m = 0;
    for (int i = 0; i < n; i++) {
        double s = 0, a = INFINITY, b = -INFINITY;
        int c = 0;
        for (int k = 0; k < FIG_SEEDS; k++) {
            if (!g->s[k].present) continue;
            double v = runs_step_at(g->s[k].x, g->s[k].y, g->s[k].n, u[i]);
            s += v; a = fmin(a, v); b = fmax(b, v); c++;
        }
        if (!isfinite(s)) continue;
        (*x)[m] = u[i]; (*mean)[m] = s / c; (*lo)[m] = a; (*hi)[m] = b; m++;
    }
    free(u);
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
    axes_frame(&ax, "Best reward so far vs samples\n(held-out tasks, mean over tasks; line: mean over seeds, band: min–max)",
               "samples per task", "best reward so far", 1);
    LegendItem leg[NS];
    int nl = 0;
    char lab[NS][128];
    for (int i = 0; i < NS; i++) if (n[i] && gs[i]->nseeds > 1) axes_band(&ax, x[i], lo[i], hi[i], n[i], col[i], 0.18f);
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
    axes_for(&ax, cv, 80, cv->h - 120, 0, ng, ymin, ymax);
    axes_frame(&ax, "Ablations: mean best reward on held-out tasks (error bars: min–max over seeds)", NULL,
               "mean best reward", 0);
    axes_hline(&ax, val[0], C_GREY, "base best-of-N");
    Rgb c = C_BLUE;
    axes_bars(&ax, ng, 1, val, lo, hi, &c, gl, "%.3f");
    return 1;
}

int fig_differences(Canvas* cv, const ReportDiff* d, int n) {
    double val[16], lo[16], hi[16], top = 0, bot = 0;
    char glab[16][200];
    const char* gl[16];
    int present = 0;
    if (n > 16) n = 16;
    for (int i = 0; i < n; i++) {
        val[i] = d[i].present ? d[i].mean : NAN;
        lo[i] = d[i].present ? d[i].lo : NAN;
        hi[i] = d[i].present ? d[i].hi : NAN;
        if (d[i].present) { present++; top = fmax(top, hi[i]); bot = fmin(bot, lo[i]); }
        snprintf(glab[i], sizeof glab[i], "%s\n%s", d[i].tag, !d[i].present ? "(missing)" : d[i].primary ? "PRIMARY" : "secondary");
        gl[i] = glab[i];
    }
    if (!present) return 0;
    double span = fmax(top - bot, 1e-3), ymin = bot - 0.15 * span, ymax = top + 0.15 * span;
    nice_range(&ymin, &ymax, 6);
    Axes ax;
    axes_for(&ax, cv, 80, cv->h - 170, 0, n, ymin, ymax);
    axes_frame(&ax, "Paired differences in mean best reward on held-out tasks (dashed: no difference)\n"
               "(bar: mean over tasks of the per-task difference; error bar: 95% bootstrap interval over tasks)",
               NULL, "difference in mean best reward", 0);
    axes_hline(&ax, 0, C_BLACK, NULL);
    Rgb c = C_SKY;
    axes_bars(&ax, n, 1, val, lo, hi, &c, gl, "%+.3f");
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
