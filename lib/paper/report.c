/* report: results tables, macros and registry (lib/paper/report.h, docs/tables.md). */
#include "report.h"
#include "stats.h"
#include "atomic.h"
#include "json.h"
#include "runs.h"
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CMD_LEN 2048

/* ---------- text helpers ---------- */

void report_tex_escape(const char* in, char* out, size_t cap) {
    size_t o = 0;
    if (cap == 0) return;
    for (const char* p = in ? in : ""; *p; p++) {
        const char* rep = NULL;
        char one[3] = {0};
        switch (*p) {
        case '\\': rep = "\\textbackslash{}"; break;
        case '~':  rep = "\\textasciitilde{}"; break;
        case '^':  rep = "\\textasciicircum{}"; break;
        case '_': case '&': case '%': case '$': case '#': case '{': case '}':
            one[0] = '\\'; one[1] = *p; rep = one; break;
        case '\n': case '\r': rep = " "; break;
        default: one[0] = *p; rep = one;
        }
        size_t n = strlen(rep);
        if (o + n >= cap) break;
        memcpy(out + o, rep, n);
        o += n;
    }
    out[o] = 0;
}

/* 4 significant digits, fixed notation; |v| >= 1000 or integral counts as a grouped integer
 * ("{,}" separators in LaTeX, none in markdown). */
/* Display text for a table cell or registry column: cut with "..." when it does not fit
 * (the full paths and commands are in the run dirs; a cell is never a path that is opened). */
__attribute__((format(printf, 3, 4))) static void text_fmt(char* out, size_t cap, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= cap && cap > 4) memcpy(out + cap - 4, "...", 4);
}

static void fmt_num(double v, int integral, int tex, int sign, char* out, size_t cap) {
    char body[64];
    double a = fabs(v);
    if (integral || a >= 1000) {
        char digits[40];
        snprintf(digits, sizeof digits, "%.0f", a);
        size_t n = strlen(digits), o = 0;
        for (size_t i = 0; i < n && o + 4 < sizeof body; i++) {
            if (tex && i > 0 && (n - i) % 3 == 0) { memcpy(body + o, "{,}", 3); o += 3; }
            body[o++] = digits[i];
        }
        body[o] = 0;
    } else {
        int dec = a > 0 ? 3 - (int)floor(log10(a)) : 3;
        if (dec < 0) dec = 0;
        if (dec > 8) dec = 8;
        snprintf(body, sizeof body, "%.*f", dec, a);
    }
    int neg = v < 0 && strspn(body, "0.{,}") != strlen(body);
    snprintf(out, cap, "%s%s", neg ? "-" : (sign && v != 0 ? "+" : ""), body);
}

/* ---------- the registry of numbers ---------- */

typedef struct {
    char name[64];        /* macro name, letters only */
    char what[160];       /* human description */
    int  present, integral, sign;
    double v;
    char source[1024];    /* file(s) the number came from */
    char run[512];        /* run dir(s) */
    char seed[32];
    char cmd[CMD_LEN * 2];
    char note[256];
} Entry;

/* A paired comparison X - Y over the held-out tasks (lib/paper/stats) of a per-task metric:
 * best reward, or mean reward. */
typedef struct {
    char   name[48];      /* macro stem, letters only */
    char   label[160];    /* "TTT main vs base best-of-N" */
    int    x, y;          /* PIPELINE_METHODS indices */
    int    mean_reward;   /* the metric: 0 best reward per task, 1 mean reward per task */
    int    primary;       /* the one comparison the suite exists for (the config's); the rest are secondary */
    int    present, seeds;
    double samples_x, samples_y, tokens_x, tokens_y;   /* per task, mean over the seeds compared */
    PairedCI ci;
} Comparison;

#define MAX_CMP 16
#define MAX_FAM 16
typedef struct {
    Entry* e;
    int n, cap;
    Runs* runs;           /* the inputs; its notes are the registry's (missing runs, choices made) */
    Comparison cmp[MAX_CMP];
    int ncmp;
    Comparison fam[MAX_FAM];   /* the primary comparison within each task family (secondary) */
    char family[MAX_FAM][64];
    int nfam;
    /* the learning check, on the train split: (TTT climb - search climb) per task, where a
     * climb is the mean reward over the last third of steps minus the first third */
    int learn_present;
    double climb_ttt, climb_search;
    PairedCI learn;
    /* floor and ceiling: markdown rows "| split | run | family | tasks | mean best | at 0 | at 1 |" */
    char* calib;
    size_t calib_len;
    FILE* calib_f;
} Report;

static Entry* add(Report* r, const char* name, const char* what) {
    if (r->n == r->cap) { r->cap = r->cap ? 2 * r->cap : 64; r->e = realloc_check(r->e, (size_t)r->cap * sizeof(Entry)); }
    Entry* e = &r->e[r->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->what, sizeof e->what, "%s", what);
    snprintf(e->seed, sizeof e->seed, "-");
    return e;
}

__attribute__((format(printf, 2, 3)))
static void note(Report* r, const char* fmt, ...) {
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    runs_note(r->runs, "%s", m);
}

static const Entry* find(const Report* r, const char* name) {
    for (int i = 0; i < r->n; i++) if (!strcmp(r->e[i].name, name)) return &r->e[i];
    return NULL;
}

/* The cell / macro text of an entry: "--" when missing. */
static const char* cell(const Report* r, const char* name, char* buf, size_t cap) {
    const Entry* e = find(r, name);
    if (!e || !e->present) { snprintf(buf, cap, "--"); return buf; }
    fmt_num(e->v, e->integral, 1, e->sign, buf, cap);
    return buf;
}

/* ---------- reading inputs (lib/paper/runs) ---------- */

typedef struct {
    RunsSuite s;
    char cmd[CMD_LEN];   /* the command that made it ("" when missing) */
} Suite;

static int load_suite(Report* r, const char* name, Suite* s, char err[ERR_LEN]) {
    s->cmd[0] = 0;
    if (runs_suite(r->runs, name, 0, &s->s, err)) return -1;
    if (!s->s.present) { note(r, "%s", s->s.missing); return 0; }
    return runs_command(r->runs, s->s.dir, s->cmd, sizeof s->cmd, err);
}

static void set_from(Entry* e, const Suite* s, double v, const char* seed) {
    e->present = s->s.present;
    e->v = v;
    snprintf(e->source, sizeof e->source, "%s", s->s.summary);
    snprintf(e->run, sizeof e->run, "%s", s->s.dir);
    snprintf(e->seed, sizeof e->seed, "%s", seed);
    snprintf(e->cmd, sizeof e->cmd, "%s", s->cmd);
    if (!s->s.present) snprintf(e->note, sizeof e->note, "run missing");
}

/* ---------- the suite's methods ---------- */

/* PIPELINE_METHODS' names: macro stem, comparison stem, words, LaTeX label. */
static const struct { const char *stem, *cmp, *what, *tex; } MD[PIPELINE_NMETHODS] = {
    {"BaseBestofN", "Base", "base best-of-N", "Base best-of-$N$"},
    {"Search", "Search", "search (no learning)", "Search, no learning"},
    {"TTTMain", "TTTMain", "TTT main", "TTT main"},
    {"SDFTBestofN", "SDFT", "SDFT best-of-N", "SDFT best-of-$N$"},
    {"TTTReuseOff", "TTTReuseOff", "TTT reuse off", "Reuse off"},
    {"TTTAdaptOff", "TTTAdaptOff", "TTT adaptive beta off", "Adaptive $\\beta$ off"},
    {"TTTKLOff", "TTTKLOff", "TTT KL off", "KL shaping off"},
    {"TTTExpected", "TTTExpected", "TTT expected objective", "Expected objective"},
};
enum { M_BASE, M_SEARCH, M_TTT, M_SDFT };

/* One method's runs: <run>_seed<seed[i]> for the config's seeds (ablations: ablation_seeds). */
typedef struct {
    char  run[256];
    int   ns;
    long  seed[PIPE_MAX_SEEDS];
    Suite s[PIPE_MAX_SEEDS];
} Method;

/* A seed as macro letters: 0 -> Zero, 12 -> OneTwo. */
static void seed_word(long seed, char* out, size_t cap) {
    static const char* D[10] = {"Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"};
    char digits[24];
    snprintf(digits, sizeof digits, "%ld", seed);
    size_t o = 0;
    out[0] = 0;
    for (const char* d = digits; *d && o < cap; d++) o += snprintf(out + o, cap - o, "%s", D[*d - '0']);
}

/* Mean over the present seeds of a method. */
static void set_mean(Entry* e, const Method* m, int field) {
    double sum = 0; int n = 0;
    char seeds[32] = "", src[1024] = "", run[512] = "", cmd[CMD_LEN * 2] = "";
    for (int i = 0; i < m->ns; i++) {
        const RunsSuite* x = &m->s[i].s;
        if (!x->present) continue;
        double v = field == 0 ? x->best : field == 1 ? x->mean_reward : x->samples;
        sum += v; n++;
        size_t l = strlen(seeds);
        snprintf(seeds + l, sizeof seeds - l, "%s%ld", n > 1 ? "," : "", m->seed[i]);
        l = strlen(src);
        snprintf(src + l, sizeof src - l, "%s%s", n > 1 ? "; " : "", x->summary);
        l = strlen(run);
        snprintf(run + l, sizeof run - l, "%s%s", n > 1 ? "; " : "", x->dir);
        l = strlen(cmd);
        snprintf(cmd + l, sizeof cmd - l, "%s%s", n > 1 ? " ; " : "", m->s[i].cmd);
    }
    e->present = n > 0;
    e->v = n ? sum / n : 0;
    snprintf(e->seed, sizeof e->seed, "%s", n ? seeds : "-");
    snprintf(e->source, sizeof e->source, "%s", src);
    snprintf(e->run, sizeof e->run, "%s", run);
    snprintf(e->cmd, sizeof e->cmd, "%s", cmd);
    if (n == 0) snprintf(e->note, sizeof e->note, "every seed missing");
    else if (n < m->ns) snprintf(e->note, sizeof e->note, "mean over %d of %d seeds (others missing)", n, m->ns);
    else snprintf(e->note, sizeof e->note, "mean over seeds");
}

/* Number `key` of object j into entry e; absent/non-number leaves it missing with a note. */
static void num_from(Entry* e, const json_t* j, const char* key, const char* path, const char* run,
                     const char* cmd, int integral) {
    json_t* v = j ? json_object_get(j, key) : NULL;
    snprintf(e->source, sizeof e->source, "%s%s%s", path, j ? " key " : "", j ? key : "");
    snprintf(e->run, sizeof e->run, "%s", run);
    snprintf(e->cmd, sizeof e->cmd, "%s", cmd);
    e->integral = integral;
    if (json_is_number(v) && isfinite(json_number_value(v))) { e->present = 1; e->v = json_number_value(v); }
    else snprintf(e->note, sizeof e->note, j ? "key missing" : "file missing");
}

/* ---------- paired comparisons ---------- */

/* X - Y: each task's difference of the metric averaged over the seeds both methods have
 * (a task missing from any of those seeds' summaries is left out and counted in
 * *dropped), only tasks of `family` when it is given; then the paired bootstrap over tasks. */
static void paired(const Method* X, const Method* Y, int mean_reward, const char* family, Comparison* c, int* dropped) {
    const RunsSuite *xs[PIPE_MAX_SEEDS], *ys[PIPE_MAX_SEEDS];
    int ns = 0;
    for (int i = 0; i < X->ns; i++)
        for (int j = 0; j < Y->ns; j++)
            if (X->seed[i] == Y->seed[j] && X->s[i].s.present && Y->s[j].s.present && X->s[i].s.task_best && Y->s[j].s.task_best) {
                xs[ns] = &X->s[i].s;
                ys[ns++] = &Y->s[j].s;
            }
    int n = 0;
    *dropped = 0;
    double* d = NULL;
    if (ns > 0) {
        d = malloc_check((json_object_size(xs[0]->task_best) + 1) * sizeof *d);
        const char* id;
        json_t* v;
        json_object_foreach(xs[0]->task_best, id, v) {
            if (family && strcmp(family, json_string_value(json_object_get(xs[0]->task_family, id)) ?: "")) continue;
            double acc = 0;
            int ok = 1;
            for (int k = 0; k < ns && ok; k++) {
                json_t* xv = json_object_get(mean_reward ? xs[k]->task_mean : xs[k]->task_best, id);
                json_t* yv = json_object_get(mean_reward ? ys[k]->task_mean : ys[k]->task_best, id);
                if (!xv || !yv) ok = 0;
                else acc += json_number_value(xv) - json_number_value(yv);
            }
            if (ok) d[n++] = acc / ns;
            else (*dropped)++;
        }
        double sx = 0, sy = 0, tx = 0, ty = 0;
        for (int k = 0; k < ns; k++) { sx += xs[k]->samples; sy += ys[k]->samples; tx += xs[k]->tokens; ty += ys[k]->tokens; }
        c->samples_x = sx / ns; c->samples_y = sy / ns;
        c->tokens_x = tx / ns; c->tokens_y = ty / ns;
    }
    c->seeds = ns;
    c->present = n > 0;
    if (c->present) stats_paired_bootstrap(d, n, STATS_RESAMPLES, 0, 0.95, &c->ci);
    free(d);
}

/* Adds the comparison X - Y (methods x, y) and its macros <Name>Delta, Lo, Hi, Wins, Ties,
 * Losses, Tasks, Seeds; a repeat of one already added is skipped. */
static void compare(Report* r, const Method* M, int x, int y, int mean_reward, int primary) {
    for (int i = 0; i < r->ncmp; i++)
        if (r->cmp[i].x == x && r->cmp[i].y == y && r->cmp[i].mean_reward == mean_reward) return;
    if (r->ncmp == MAX_CMP) return;
    Comparison* c = &r->cmp[r->ncmp++];
    memset(c, 0, sizeof *c);
    c->x = x; c->y = y; c->mean_reward = mean_reward; c->primary = primary;
    snprintf(c->name, sizeof c->name, "%sVs%s%s", MD[x].cmp, MD[y].cmp, mean_reward ? "MeanReward" : "");
    snprintf(c->label, sizeof c->label, "%s vs %s%s", MD[x].what, MD[y].what, mean_reward ? ", mean reward" : "");
    int dropped;
    paired(&M[x], &M[y], mean_reward, NULL, c, &dropped);
    if (dropped) note(r, "%s: %d task(s) not in every compared summary, left out", c->label, dropped);
    if (!c->present) note(r, "%s: no seed with both runs present; no comparison", c->label);
    static const char* part[8] = {"Delta", "Lo", "Hi", "Wins", "Ties", "Losses", "Tasks", "Seeds"};
    static const char* says[8] = {"mean paired difference of %s", "%s, 95%% bootstrap interval, lower end",
                                  "%s, 95%% bootstrap interval, upper end", "tasks where the first is better (%s)",
                                  "tasks tied (%s)", "tasks where the second is better (%s)", "tasks compared (%s)",
                                  "seeds averaged per task (%s)"};
    double val[8] = {c->ci.mean, c->ci.lo, c->ci.hi, c->ci.wins, c->ci.ties, c->ci.losses, c->ci.n, c->seeds};
    const Method *X = &M[x], *Y = &M[y];
    for (int k = 0; k < 8; k++) {
        char nm[64], what[160], says_k[96];
        snprintf(nm, sizeof nm, "%s%s", c->name, part[k]);
        snprintf(says_k, sizeof says_k, says[k], mean_reward ? "mean reward" : "best reward");
        snprintf(what, sizeof what, "%s: %s%s", c->label, says_k, primary ? " (primary)" : " (secondary)");
        Entry* e = add(r, nm, what);
        e->present = c->present;
        e->v = val[k];
        e->integral = k >= 3;
        e->sign = k < 3;
        snprintf(e->seed, sizeof e->seed, "%d seed%s", c->seeds, c->seeds == 1 ? "" : "s");
        text_fmt(e->source, sizeof e->source, "%s; %s", X->s[0].s.summary, Y->s[0].s.summary);
        text_fmt(e->run, sizeof e->run, "%s; %s", X->s[0].s.dir, Y->s[0].s.dir);
        text_fmt(e->cmd, sizeof e->cmd, "%s ; %s", X->s[0].cmd, Y->s[0].cmd);
        if (!e->present) snprintf(e->note, sizeof e->note, "a run is missing");
    }
}

static int by_name(const void* a, const void* b) { return strcmp((const char*)a, (const char*)b); }

/* A family name as macro letters: "reach" -> "Reach" (letters only, at most 40). */
static void family_stem(const char* family, char F[64]) {
    size_t l = 0;
    for (const char* p = family; *p && l < 40; p++)
        if (isalpha((unsigned char)*p)) { F[l] = (char)(l ? *p : toupper((unsigned char)*p)); l++; }
    F[l] = 0;
}

/* The primary comparison within each task family (a secondary breakdown), with macros
 * Family<F>Tasks, Delta, Lo, Hi and the two methods' means over the family's tasks. */
static void families(Report* r, const Method* M, const PipelinePlan* plan) {
    const Method *X = &M[plan->x], *Y = &M[plan->y];
    const RunsSuite* first = NULL;
    for (int i = 0; i < X->ns && !first; i++) if (X->s[i].s.present && X->s[i].s.task_family) first = &X->s[i].s;
    if (!first) return;
    const char* id;
    json_t* v;
    json_object_foreach(first->task_family, id, v) {
        const char* f = json_string_value(v);
        int seen = 0;
        for (int i = 0; i < r->nfam; i++) seen |= !strcmp(r->family[i], f);
        if (!seen && r->nfam < MAX_FAM) snprintf(r->family[r->nfam++], 64, "%s", f);
    }
    qsort(r->family, (size_t)r->nfam, sizeof r->family[0], by_name);
    for (int i = 0; i < r->nfam; i++) {
        Comparison* c = &r->fam[i];
        memset(c, 0, sizeof *c);
        c->x = plan->x; c->y = plan->y; c->mean_reward = plan->mean_reward;
        int dropped;
        paired(X, Y, plan->mean_reward, r->family[i], c, &dropped);
        char F[64], nm[96], what[200];
        family_stem(r->family[i], F);
        static const char* part[4] = {"Tasks", "Delta", "Lo", "Hi"};
        double val[4] = {c->ci.n, c->ci.mean, c->ci.lo, c->ci.hi};
        for (int k = 0; k < 4; k++) {
            snprintf(nm, sizeof nm, "Family%s%s", F, part[k]);
            snprintf(what, sizeof what, "family %s: %s vs %s, %s (secondary)", r->family[i], MD[plan->x].what, MD[plan->y].what,
                     k == 0 ? "tasks compared" : k == 1 ? "mean paired difference" : k == 2 ? "95% interval, lower end" : "95% interval, upper end");
            Entry* e = add(r, nm, what);
            e->present = c->present; e->v = val[k]; e->integral = k == 0; e->sign = k > 0;
            snprintf(e->seed, sizeof e->seed, "%d seed%s", c->seeds, c->seeds == 1 ? "" : "s");
            text_fmt(e->source, sizeof e->source, "%s; %s", X->s[0].s.summary, Y->s[0].s.summary);
            text_fmt(e->run, sizeof e->run, "%s; %s", X->s[0].s.dir, Y->s[0].s.dir);
            if (!e->present) snprintf(e->note, sizeof e->note, "a run is missing");
        }
    }
}

/* The claim the interval allows, scoped: "X beats Y", "X is worse than Y" or no difference. */
static void claim(const Comparison* c, char* out, size_t cap) {
    if (!c->present) { snprintf(out, cap, "%s: not measured (a run is missing).", c->label); return; }
    char d[32], lo[32], hi[32], budget[96];
    fmt_num(c->ci.mean, 0, 0, 1, d, sizeof d);
    fmt_num(c->ci.lo, 0, 0, 1, lo, sizeof lo);
    fmt_num(c->ci.hi, 0, 0, 1, hi, sizeof hi);
    if (fabs(c->samples_x - c->samples_y) < 1e-9) snprintf(budget, sizeof budget, "equal samples (%.0f per task)", c->samples_x);
    else snprintf(budget, sizeof budget, "UNEQUAL samples: %.0f vs %.0f per task", c->samples_x, c->samples_y);
    char stat[320];
    snprintf(stat, sizeof stat, "(%s, Δ = %s, 95%% CI [%s, %s], %d tasks × %d seed%s, %s; wins/ties/losses %d/%d/%d)",
             c->mean_reward ? "mean reward" : "best reward", d, lo, hi, c->ci.n, c->seeds, c->seeds == 1 ? "" : "s", budget,
             c->ci.wins, c->ci.ties, c->ci.losses);
    char cost[200];   /* wall time is in each run's run_record.json; it varies from run to run, so it is not here */
    snprintf(cost, sizeof cost, " Cost per task: %.0f samples and %.0f sampled tokens (%s) vs %.0f and %.0f (%s).", c->samples_x,
             c->tokens_x, MD[c->x].what, c->samples_y, c->tokens_y, MD[c->y].what);
    const char *x = MD[c->x].what, *y = MD[c->y].what;
    if (c->ci.lo > 0) snprintf(out, cap, "%s beats %s on this suite %s.%s", x, y, stat, cost);
    else if (c->ci.hi < 0) snprintf(out, cap, "%s is worse than %s on this suite %s.%s", x, y, stat, cost);
    else snprintf(out, cap, "No significant difference between %s and %s at this scale %s.%s", x, y, stat, cost);
}

/* ---------- floor and ceiling ---------- */

/* Rows of the registry's calibration table for one method (its present seeds pooled):
 * per family and over all, the tasks x seeds, the mean best reward, and the shares of
 * tasks whose best reward is exactly 0 (no signal) or 1 (solved: no room to improve). */
static void calib_rows(Report* r, const char* split, const char* what, const RunsSuite* const* s, int ns) {
    if (!r->calib_f) r->calib_f = open_memstream(&r->calib, &r->calib_len);
    char fams[MAX_FAM + 1][64];
    int nf = 0;
    snprintf(fams[nf++], 64, "all");
    for (int k = 0; k < ns; k++) {
        const char* id;
        json_t* v;
        json_object_foreach(s[k]->task_family, id, v) {
            int seen = 0;
            for (int i = 1; i < nf; i++) seen |= !strcmp(fams[i], json_string_value(v));
            if (!seen && nf <= MAX_FAM) snprintf(fams[nf++], 64, "%s", json_string_value(v));
        }
    }
    qsort(fams + 1, (size_t)(nf - 1), sizeof fams[0], by_name);
    for (int i = 0; i < nf; i++) {
        int n = 0, lo = 0, hi = 0;
        double sum = 0;
        for (int k = 0; k < ns; k++) {
            const char* id;
            json_t* v;
            json_object_foreach(s[k]->task_best, id, v) {
                const char* f = json_string_value(json_object_get(s[k]->task_family, id));
                if (i && (!f || strcmp(f, fams[i]))) continue;
                double b = json_number_value(v);
                n++; sum += b; lo += b <= 0; hi += b >= 1;
            }
        }
        if (n == 0) continue;
        fprintf(r->calib_f, "| %s | %s | %s | %d | %.3f | %.0f%% | %.0f%% |\n", split, what, fams[i], n, sum / n,
                100.0 * lo / n, 100.0 * hi / n);
    }
}

/* ---------- the learning check ---------- */

/* On the train split: each task's climb in TTT main (ttt_train_seed0) minus its climb in
 * search (search_train_seed0), paired over the tasks both have, with the bootstrap
 * interval. Search climbs too (its prompts carry its best attempts), so only TTT's excess
 * climb is learning. Macros LearnClimbTTT, LearnClimbSearch, LearnDelta, Lo, Hi, Tasks. */
static int learning_check(Report* r, char err[ERR_LEN]) {
    static const char* RUN[2] = {"ttt_train_seed0", "search_train_seed0"};
    Suite s[2];
    memset(s, 0, sizeof s);
    json_t* climb[2] = {NULL, NULL};
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        if (load_suite(r, RUN[k], &s[k], err)) { rc = -1; s[k].s.present = 0; break; }
        rc = runs_suite_climb(r->runs, &s[k].s, &climb[k], err);
    }
    int n = 0;
    double *d = NULL, sx = 0, sy = 0;
    if (rc == 0) {
        d = malloc_check((json_object_size(climb[0]) + 1) * sizeof *d);
        const char* id;
        json_t* v;
        json_object_foreach(climb[0], id, v) {
            json_t* w = json_object_get(climb[1], id);
            if (!w) continue;
            sx += json_number_value(v); sy += json_number_value(w);
            d[n++] = json_number_value(v) - json_number_value(w);
        }
        r->learn_present = n > 0;
        if (n) {
            stats_paired_bootstrap(d, n, STATS_RESAMPLES, 0, 0.95, &r->learn);
            r->climb_ttt = sx / n; r->climb_search = sy / n;
        } else note(r, "learning check: no train task with both %s and %s; not measured", RUN[0], RUN[1]);
        static const char* N[6] = {"LearnClimbTTT", "LearnClimbSearch", "LearnDelta", "LearnLo", "LearnHi", "LearnTasks"};
        static const char* W[6] = {
            "learning check (train): TTT main's climb, mean reward over the last third of steps minus the first third, mean over tasks",
            "learning check (train): search's climb, the same quantity, mean over tasks",
            "learning check (train): TTT main's climb minus search's, mean paired difference over tasks",
            "learning check (train): 95% bootstrap interval, lower end", "learning check (train): 95% bootstrap interval, upper end",
            "learning check (train): tasks paired"};
        double val[6] = {r->climb_ttt, r->climb_search, r->learn.mean, r->learn.lo, r->learn.hi, r->learn.n};
        for (int k = 0; k < 6; k++) {
            Entry* e = add(r, N[k], W[k]);
            e->present = r->learn_present;
            e->v = val[k];
            e->integral = k == 5;
            e->sign = k < 5;
            snprintf(e->seed, sizeof e->seed, "0");
            text_fmt(e->source, sizeof e->source, "%s/*/result.json key rewards; %s/*/result.json key rewards", s[0].s.dir, s[1].s.dir);
            text_fmt(e->run, sizeof e->run, "%s; %s", s[0].s.dir, s[1].s.dir);
            text_fmt(e->cmd, sizeof e->cmd, "%s ; %s", s[0].cmd, s[1].cmd);
            if (!e->present) snprintf(e->note, sizeof e->note, "a train run is missing");
        }
    }
    free(d);
    for (int k = 0; k < 2 && rc == 0; k++)
        if (s[k].s.present) {
            const RunsSuite* one[1] = {&s[k].s};
            calib_rows(r, "train", k ? "search" : "TTT main", one, 1);
        }
    for (int k = 0; k < 2; k++) { json_decref(climb[k]); runs_suite_free(&s[k].s); }
    return rc;
}

/* The learning check's claim line. */
static void learn_claim(const Report* r, char* out, size_t cap) {
    if (!r->learn_present) { snprintf(out, cap, "Learning check (train): not measured (a train run is missing)."); return; }
    char d[32], lo[32], hi[32], ct[32], cs[32];
    fmt_num(r->learn.mean, 0, 0, 1, d, sizeof d);
    fmt_num(r->learn.lo, 0, 0, 1, lo, sizeof lo);
    fmt_num(r->learn.hi, 0, 0, 1, hi, sizeof hi);
    fmt_num(r->climb_ttt, 0, 0, 1, ct, sizeof ct);
    fmt_num(r->climb_search, 0, 0, 1, cs, sizeof cs);
    const char* says = r->learn.lo > 0 ? "TTT main's reward climbs more than search's on the train tasks: it learns"
                       : r->learn.hi < 0 ? "TTT main's reward climbs LESS than search's on the train tasks: a bug or a bad learning rate, not a result"
                                         : "TTT main's reward climbs no more than search's on the train tasks (no significant difference): "
                                           "no evidence that it learns at this scale";
    snprintf(out, cap, "Learning check (train). %s (climb = mean reward over the last third of steps minus the first third; "
             "TTT %s, search %s; difference %s, 95%% CI [%s, %s], %d tasks, seed 0).", says, ct, cs, d, lo, hi, r->learn.n);
}

/* ---------- gathering ---------- */

static int gather(Report* r, Method M[PIPELINE_NMETHODS], const PipelineCfg* pc, const PipelinePlan* plan, char mhc_run[2][256],
                  char err[ERR_LEN]) {
    const char* runs_dir = r->runs->dir;
    char suite_dir[4200];
    if (path_join(suite_dir, sizeof suite_dir, runs_dir, "suite", err)) return -1;

    /* every method at its seeds: the main ones at `seeds`, the ablations at `ablation_seeds` */
    for (int k = 0; k < PIPELINE_NMETHODS; k++) {
        Method* m = &M[k];
        snprintf(m->run, sizeof m->run, "%s", k == M_SDFT ? pc->sdft_bestofn_run : PIPELINE_METHODS[k]);
        m->ns = k < PIPELINE_NMAIN ? plan->nseeds : plan->nabl;
        memcpy(m->seed, k < PIPELINE_NMAIN ? plan->seeds : plan->abl, sizeof(long) * (size_t)m->ns);
        char nm[96], what[200], seed[24], word[128], name[300];
        for (int i = 0; i < m->ns; i++) {
            snprintf(name, sizeof name, "%.200s_seed%ld", m->run, m->seed[i]);
            if (load_suite(r, name, &m->s[i], err)) return -1;
            snprintf(seed, sizeof seed, "%ld", m->seed[i]);
            seed_word(m->seed[i], word, sizeof word);
            snprintf(nm, sizeof nm, "%sSeed%s", MD[k].stem, word);
            snprintf(what, sizeof what, "%s: mean over tasks of best reward, seed %ld", MD[k].what, m->seed[i]);
            set_from(add(r, nm, what), &m->s[i], m->s[i].s.best, seed);
            snprintf(nm, sizeof nm, "%sMeanRewardSeed%s", MD[k].stem, word);
            snprintf(what, sizeof what, "%s: mean over tasks of mean reward, seed %ld", MD[k].what, m->seed[i]);
            set_from(add(r, nm, what), &m->s[i], m->s[i].s.mean_reward, seed);
            snprintf(nm, sizeof nm, "%sTasksSeed%s", MD[k].stem, word);
            snprintf(what, sizeof what, "%s: tasks in summary.jsonl, seed %ld", MD[k].what, m->seed[i]);
            Entry* e = add(r, nm, what);
            set_from(e, &m->s[i], m->s[i].s.ntasks, seed);
            e->integral = 1;
        }
        snprintf(nm, sizeof nm, "%sMean", MD[k].stem);
        snprintf(what, sizeof what, "%s: mean best reward, mean over seeds", MD[k].what);
        set_mean(add(r, nm, what), m, 0);
        snprintf(nm, sizeof nm, "%sMeanReward", MD[k].stem);
        snprintf(what, sizeof what, "%s: mean reward, mean over seeds", MD[k].what);
        set_mean(add(r, nm, what), m, 1);
        snprintf(nm, sizeof nm, "%sSamples", MD[k].stem);
        snprintf(what, sizeof what, "%s: samples per task (compute budget), mean over seeds", MD[k].what);
        Entry* e = add(r, nm, what);
        set_mean(e, m, 2);
        e->integral = e->present && fabs(e->v - round(e->v)) < 1e-9;
        snprintf(nm, sizeof nm, "%sSeedsPresent", MD[k].stem);
        snprintf(what, sizeof what, "%s: seeds present, of %d in the config", MD[k].what, m->ns);
        e = add(r, nm, what);
        int present = 0;
        for (int i = 0; i < m->ns; i++) present += m->s[i].s.present;
        e->present = 1; e->v = present; e->integral = 1;
        text_fmt(e->source, sizeof e->source, "%s/%s_seed*/summary.jsonl", suite_dir, m->run);
    }

    /* paired comparisons: the config's primary one first, then the secondary ones */
    compare(r, M, plan->x, plan->y, plan->mean_reward, 1);
    compare(r, M, M_TTT, M_BASE, 0, 0);
    compare(r, M, M_TTT, M_SEARCH, 0, 0);
    compare(r, M, M_SEARCH, M_BASE, 0, 0);
    compare(r, M, M_SDFT, M_BASE, 0, 0);
    compare(r, M, M_TTT, M_BASE, 1, 0);
    for (int k = PIPELINE_NMAIN; k < PIPELINE_NMETHODS; k++) compare(r, M, k, M_BASE, 0, 0);
    for (int k = PIPELINE_NMAIN; k < PIPELINE_NMETHODS; k++) compare(r, M, k, M_TTT, 0, 0);
    families(r, M, plan);
    for (int k = 0; k < PIPELINE_NMAIN; k++) {
        const RunsSuite* present[PIPE_MAX_SEEDS];
        int np = 0;
        for (int i = 0; i < M[k].ns; i++) if (M[k].s[i].s.present) present[np++] = &M[k].s[i].s;
        if (np) calib_rows(r, "held-out", MD[k].what, present, np);
    }
    if (learning_check(r, err)) return -1;

    /* retention */
    {
        char p[4400], rr[4400], cmd[CMD_LEN] = "(no run_record.json)";
        if (path_join(p, sizeof p, suite_dir, "retention_ppl.json", err)) return -1;
        if (path_join(rr, sizeof rr, suite_dir, "_runs/retention_ppl.json", err)) return -1;
        json_t* j = NULL;
        if (path_exists(p)) {
            if (!(j = runs_json(r->runs, p, err))) return -1;
            if (is_dir(rr) && runs_command(r->runs, rr, cmd, sizeof cmd, err)) { json_decref(j); return -1; }
        } else note(r, "missing: %s (retention not run)", p);
        static const char* K[5] = {"base_ppl", "updated_ppl", "abs_delta", "rel_delta", "tokens_evaluated"};
        static const char* N[5] = {"RetentionBasePpl", "RetentionUpdatedPpl", "RetentionAbsDelta", "RetentionRelDelta", "RetentionTokens"};
        static const char* W[5] = {"retention: base model val perplexity", "retention: SDFT model val perplexity",
                                   "retention: perplexity delta (updated - base)", "retention: relative perplexity delta (fraction)",
                                   "retention: tokens evaluated"};
        for (int k = 0; k < 5; k++) {
            Entry* e = add(r, N[k], W[k]);
            num_from(e, j, K[k], p, is_dir(rr) ? rr : suite_dir, cmd, k == 4);
            if (k == 2 || k == 3) e->sign = 1;
        }
        Entry* e = add(r, "RetentionRelDeltaPct", "retention: relative perplexity delta, percent");
        num_from(e, j, "rel_delta", p, is_dir(rr) ? rr : suite_dir, cmd, 0);
        e->v *= 100; e->sign = 1;
        /* its 95% interval (paired bootstrap over val batches), percent */
        json_t* ci = j ? json_object_get(j, "rel_delta_ci95") : NULL;
        for (int k = 0; k < 2; k++) {
            e = add(r, k ? "RetentionRelDeltaPctHi" : "RetentionRelDeltaPctLo",
                    k ? "retention: relative perplexity delta, percent, 95% interval upper end (bootstrap over val batches)"
                      : "retention: relative perplexity delta, percent, 95% interval lower end (bootstrap over val batches)");
            json_t* v = json_array_get(ci, (size_t)k);
            e->present = json_is_number(v);
            e->v = 100 * json_number_value(v);
            e->sign = 1;
            text_fmt(e->source, sizeof e->source, "%s key rel_delta_ci95", p);
            text_fmt(e->run, sizeof e->run, "%s", is_dir(rr) ? rr : suite_dir);
            snprintf(e->cmd, sizeof e->cmd, "%s", cmd);
            if (!e->present) snprintf(e->note, sizeof e->note, j ? "no rel_delta_ci95 (an older retention run)" : "retention not run");
        }
        json_decref(j);
    }

    /* pretrain runs: mHC on (mhc.n > 1) vs off */
    {
        RunsPretrain pre[2];
        if (runs_pretrain_find(r->runs, pre, err)) return -1;
        for (int k = 0; k < 2; k++) snprintf(mhc_run[k], 256, "%s", pre[k].name);   /* [0] = on, [1] = off */
        static const char* S[2] = {"MhcOn", "MhcOff"};
        for (int k = 0; k < 2; k++) {
            char d[4200] = "", rec[4500] = "", met[4500] = "", cmd[CMD_LEN] = "";
            json_t* j = NULL;
            if (mhc_run[k][0]) {
                if (path_join(d, sizeof d, runs_dir, mhc_run[k], err)) return -1;
                if (path_join(rec, sizeof rec, d, "run_record.json", err)) return -1;
                if (path_join(met, sizeof met, d, "metrics.jsonl", err)) return -1;
                if (runs_command(r->runs, d, cmd, sizeof cmd, err)) return -1;
                if (path_exists(rec) && !(j = runs_json(r->runs, rec, err))) return -1;
                if (runs_pretrain_metrics(r->runs, &pre[k], err)) { json_decref(j); runs_pretrain_free(&pre[k]); return -1; }
            }
            int have_val = pre[k].nv > 0;
            double val = have_val ? pre[k].vloss[pre[k].nv - 1] : 0;
            runs_pretrain_free(&pre[k]);
            char nm[64], what[160];
            snprintf(nm, sizeof nm, "%sStreams", S[k]);
            snprintf(what, sizeof what, "mHC %s: residual streams (model_config.json mhc.n)", k ? "off" : "on");
            Entry* e = add(r, nm, what);
            e->present = mhc_run[k][0] != 0; e->v = (double)pre[k].streams; e->integral = 1;
            snprintf(e->source, sizeof e->source, "%s/model_config.json", d);
            snprintf(e->run, sizeof e->run, "%s", d);
            snprintf(e->cmd, sizeof e->cmd, "%s", cmd);
            snprintf(nm, sizeof nm, "%sParams", S[k]);
            snprintf(what, sizeof what, "mHC %s: parameters", k ? "off" : "on");
            num_from(add(r, nm, what), j, "params", mhc_run[k][0] ? rec : "(run missing)", d, cmd, 1);
            snprintf(nm, sizeof nm, "%sTokensPerSec", S[k]);
            snprintf(what, sizeof what, "mHC %s: training tokens/s (run_record.json)", k ? "off" : "on");
            num_from(add(r, nm, what), j, "tokens_per_s", mhc_run[k][0] ? rec : "(run missing)", d, cmd, 0);
            snprintf(nm, sizeof nm, "%sValLoss", S[k]);
            snprintf(what, sizeof what, "mHC %s: final val loss (last val_loss in metrics.jsonl)", k ? "off" : "on");
            e = add(r, nm, what);
            e->present = have_val; e->v = val;
            snprintf(e->source, sizeof e->source, "%s", mhc_run[k][0] ? met : "(run missing)");
            snprintf(e->run, sizeof e->run, "%s", d);
            snprintf(e->cmd, sizeof e->cmd, "%s", cmd);
            if (!have_val) snprintf(e->note, sizeof e->note, "no val_loss");
            json_decref(j);
        }
        const Entry* on = find(r, "MhcOnValLoss");
        const Entry* off = find(r, "MhcOffValLoss");
        Entry* e = add(r, "MhcValLossDelta", "final val loss, mHC on minus off");
        e->present = on->present && off->present; e->v = on->v - off->v; e->sign = 1;
        text_fmt(e->source, sizeof e->source, "%s; %s", on->source, off->source);
        text_fmt(e->run, sizeof e->run, "%s; %s", on->run, off->run);
        text_fmt(e->cmd, sizeof e->cmd, "%s ; %s", on->cmd, off->cmd);
    }

    /* SDFT run: sdft_eval_report.json */
    {
        char name[256], d[4200] = "", p[4500] = "(run missing)", cmd[CMD_LEN] = "";
        runs_sdft(r->runs, name);
        json_t* j = NULL;
        if (name[0]) {
            if (path_join(d, sizeof d, runs_dir, name, err)) return -1;
            if (path_join(p, sizeof p, d, "sdft_eval_report.json", err)) return -1;
            if (!(j = runs_json(r->runs, p, err))) return -1;
            if (runs_command(r->runs, d, cmd, sizeof cmd, err)) { json_decref(j); return -1; }
        }
        static const char* K[7] = {"base_val_ppl", "final_val_ppl", "val_ppl_rel_delta", "published_step", "demos_used",
                                   "best_of_k_before", "best_of_k_after"};
        static const char* N[7] = {"SdftBaseValPpl", "SdftFinalValPpl", "SdftValPplRelDelta", "SdftPublishedStep",
                                   "SdftDemosUsed", "SdftBestOfKBefore", "SdftBestOfKAfter"};
        static const char* W[7] = {"SDFT gate: base val perplexity", "SDFT gate: final val perplexity",
                                   "SDFT gate: relative val perplexity delta (fraction)", "SDFT: published step",
                                   "SDFT: demonstrations used", "SDFT: best-of-k on demo tasks before",
                                   "SDFT: best-of-k on demo tasks after"};
        for (int k = 0; k < 7; k++) {
            Entry* e = add(r, N[k], W[k]);
            num_from(e, j, K[k], p, d, cmd, k == 3 || k == 4);
            if (k == 2) e->sign = 1;
        }
        json_decref(j);
    }
    return 0;
}

/* ---------- writing ---------- */

typedef struct { char* buf; size_t len; FILE* f; } Mem;
static void mem_open(Mem* m) { m->buf = NULL; m->len = 0; m->f = open_memstream(&m->buf, &m->len); }
static int mem_commit(Mem* m, const char* path, char err[ERR_LEN]) {
    fclose(m->f);
    int rc = atomic_write(path, m->buf, m->len, err);
    free(m->buf);
    return rc;
}

static void esc_line(FILE* f, const char* s) {   /* LaTeX comment text: no newlines */
    for (; *s; s++) fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
}

/* A comparison's Δ and interval cells (from its macros), or "--". */
static void delta_cells(const Report* r, const char* cmp, char* d, char* ci, size_t cap) {
    char nm[96], lo[64], hi[64];
    snprintf(nm, sizeof nm, "%sDelta", cmp);
    cell(r, nm, d, cap);
    snprintf(nm, sizeof nm, "%sLo", cmp);
    cell(r, nm, lo, sizeof lo);
    snprintf(nm, sizeof nm, "%sHi", cmp);
    cell(r, nm, hi, sizeof hi);
    if (!strcmp(d, "--")) snprintf(ci, cap, "--");
    else text_fmt(ci, cap, "[%s, %s]", lo, hi);
}

static const Comparison* find_cmp(const Report* r, int x, int y) {
    for (int i = 0; i < r->ncmp; i++) if (r->cmp[i].x == x && r->cmp[i].y == y && !r->cmp[i].mean_reward) return &r->cmp[i];
    return NULL;
}

static void method_label(const Method* m, int k, char* out, size_t cap) {
    char esc[600];
    report_tex_escape(m->run, esc, sizeof esc);
    snprintf(out, cap, "%s (\\texttt{%s})", MD[k].tex, esc);
}

static void table_main(FILE* f, const Report* r, const Method* M, const char* runs_dir) {
    fprintf(f, "%% table_main_results.tex: generated by report_write (lib/paper/report.c) from ");
    esc_line(f, runs_dir);
    fprintf(f, "\n%% Held-out suite: mean over tasks of the best reward, mean over seeds; seeds present; samples per task\n"
               "%% (the compute-matched budget); mean reward; Delta = paired difference vs base best-of-N (each task's\n"
               "%% difference averaged over the seeds both have, mean over tasks) and its 95%% bootstrap interval over tasks\n"
               "%% (docs/tables.md). The primary comparison is the config's pipeline.primary; the rest are secondary.\n"
               "%% Per-seed values: results_registry.md. \"--\" = run missing.\n");
    fprintf(f, "\\begin{tabular}{lrrrrrcl}\n\\hline\n"
               "Method & Mean best & Seeds & Samples & Mean & $\\Delta$ vs & 95\\%% CI & \\\\\n"
               " & reward & & per task & reward & base & & \\\\\n\\hline\n");
    char lab[700], b[4][64], nm[96], d[64], ci[160];
    for (int k = 0; k < PIPELINE_NMAIN; k++) {
        method_label(&M[k], k, lab, sizeof lab);
        static const char* col[4] = {"Mean", "SeedsPresent", "Samples", "MeanReward"};
        fprintf(f, "%s", lab);
        for (int c = 0; c < 4; c++) {
            snprintf(nm, sizeof nm, "%s%s", MD[k].stem, col[c]);
            fprintf(f, " & %s", cell(r, nm, b[c], 64));
        }
        const Comparison* c = k == M_BASE ? NULL : find_cmp(r, k, M_BASE);
        if (!c) { fprintf(f, " & ref. & & \\\\\n"); continue; }
        delta_cells(r, c->name, d, ci, sizeof d);
        fprintf(f, " & %s & %s & %s \\\\\n", d, ci, c->primary ? "primary" : "secondary");
    }
    const Comparison* c = find_cmp(r, M_TTT, M_SEARCH);
    if (c) {
        delta_cells(r, c->name, d, ci, sizeof d);
        fprintf(f, "\\hline\nTTT main $-$ search (learning alone) & & & & & %s & %s & %s \\\\\n", d, ci,
                c->primary ? "primary" : "secondary");
    }
    fprintf(f, "\\hline\n\\end{tabular}\n");
}

static void table_comparisons(FILE* f, const Report* r, const char* runs_dir) {
    fprintf(f, "%% table_comparisons.tex: generated by report_write (lib/paper/report.c) from ");
    esc_line(f, runs_dir);
    fprintf(f, "\n%% Paired comparisons on the held-out tasks (best reward unless the row says mean reward): each task's\n"
               "%% difference averaged over the seeds both runs have; mean, 95%% percentile bootstrap interval (10,000 resamples\n"
               "%% of tasks), wins/ties/losses over tasks. The first row is the primary comparison; the others are secondary.\n");
    fprintf(f, "\\begin{tabular}{llrcrr}\n\\hline\n"
               "Comparison & & $\\Delta$ & 95\\%% CI & W/T/L & tasks $\\times$ seeds \\\\\n\\hline\n");
    char d[64], lo[64], hi[64], esc[400];
    for (int i = 0; i < r->ncmp; i++) {
        const Comparison* c = &r->cmp[i];
        report_tex_escape(c->label, esc, sizeof esc);
        fprintf(f, "%s & %s & ", esc, c->primary ? "primary" : "secondary");
        if (!c->present) { fprintf(f, "-- & -- & -- & -- \\\\\n"); continue; }
        fmt_num(c->ci.mean, 0, 1, 1, d, sizeof d);
        fmt_num(c->ci.lo, 0, 1, 1, lo, sizeof lo);
        fmt_num(c->ci.hi, 0, 1, 1, hi, sizeof hi);
        fprintf(f, "%s & [%s, %s] & %d/%d/%d & %d $\\times$ %d \\\\\n", d, lo, hi, c->ci.wins, c->ci.ties, c->ci.losses,
                c->ci.n, c->seeds);
        if (c->primary && i + 1 < r->ncmp) fprintf(f, "\\hline\n");
    }
    /* the learning check (train split): TTT main's climb minus search's */
    fprintf(f, "\\hline\nLearning check (train): TTT climb $-$ search climb & secondary & ");
    if (!r->learn_present) fprintf(f, "-- & -- & -- & -- \\\\\n");
    else {
        fmt_num(r->learn.mean, 0, 1, 1, d, sizeof d);
        fmt_num(r->learn.lo, 0, 1, 1, lo, sizeof lo);
        fmt_num(r->learn.hi, 0, 1, 1, hi, sizeof hi);
        fprintf(f, "%s & [%s, %s] & %d/%d/%d & %d $\\times$ 1 \\\\\n", d, lo, hi, r->learn.wins, r->learn.ties,
                r->learn.losses, r->learn.n);
    }
    fprintf(f, "\\hline\n\\end{tabular}\n");
}

static void table_ablation(FILE* f, const Report* r, const Method* M, const char* runs_dir) {
    fprintf(f, "%% table_ablation_summary.tex: generated by report_write (lib/paper/report.c) from ");
    esc_line(f, runs_dir);
    fprintf(f, "\n%% TTT main and its ablations (at the config's pipeline.ablation_seeds): mean best reward and mean reward,\n"
               "%% mean over seeds; paired differences vs base best-of-N and vs TTT main with 95%% bootstrap intervals over\n"
               "%% tasks (each task's difference averaged over the seeds both runs have). All secondary. \"--\" = run missing.\n");
    fprintf(f, "\\begin{tabular}{lrrrrcrc}\n\\hline\n"
               "Variant & Mean best & Seeds & Mean & $\\Delta$ vs & 95\\%% CI & $\\Delta$ vs & 95\\%% CI \\\\\n"
               " & reward & & reward & base & & TTT main & \\\\\n\\hline\n");
    char lab[700], b[3][64], nm[96], d[2][64], ci[2][160];
    for (int k = M_TTT; k < PIPELINE_NMETHODS; k = k == M_TTT ? PIPELINE_NMAIN : k + 1) {
        method_label(&M[k], k, lab, sizeof lab);
        static const char* col[3] = {"Mean", "SeedsPresent", "MeanReward"};
        fprintf(f, "%s", lab);
        for (int c = 0; c < 3; c++) {
            snprintf(nm, sizeof nm, "%s%s", MD[k].stem, col[c]);
            fprintf(f, " & %s", cell(r, nm, b[c], 64));
        }
        for (int j = 0; j < 2; j++) {
            const Comparison* c = find_cmp(r, k, j ? M_TTT : M_BASE);
            if (c) delta_cells(r, c->name, d[j], ci[j], 64);
            else d[j][0] = ci[j][0] = 0;
            fprintf(f, " & %s & %s", d[j], ci[j]);
        }
        fprintf(f, " \\\\\n");
        if (k == M_TTT) fprintf(f, "\\hline\n");
    }
    fprintf(f, "\\hline\n\\end{tabular}\n");
}

static void table_families(FILE* f, const Report* r, const PipelinePlan* plan, const char* runs_dir) {
    fprintf(f, "%% table_families.tex: generated by report_write (lib/paper/report.c) from ");
    esc_line(f, runs_dir);
    fprintf(f, "\n%% Secondary: the primary comparison (%s vs %s, %s) within each task family: tasks, paired difference\n"
               "%% and its 95%% bootstrap interval over the family's tasks. Few tasks per family: wide intervals.\n",
            MD[plan->x].what, MD[plan->y].what, plan->mean_reward ? "mean reward" : "best reward");
    fprintf(f, "\\begin{tabular}{lrrc}\n\\hline\n"
               "Family & Tasks & $\\Delta$ & 95\\%% CI \\\\\n\\hline\n");
    char esc[200], b[64], nm[96], d[64], ci[160];
    for (int i = 0; i < r->nfam; i++) {
        report_tex_escape(r->family[i], esc, sizeof esc);
        char F[64];
        family_stem(r->family[i], F);
        snprintf(nm, sizeof nm, "Family%sTasks", F);
        fprintf(f, "%s & %s", esc, cell(r, nm, b, sizeof b));
        snprintf(nm, sizeof nm, "Family%s", F);
        delta_cells(r, nm, d, ci, sizeof d);
        fprintf(f, " & %s & %s \\\\\n", d, ci);
    }
    if (!r->nfam) fprintf(f, "-- & -- & -- & -- \\\\\n");
    fprintf(f, "\\hline\n\\end{tabular}\n");
}

static void table_mhc(FILE* f, const Report* r, const char* runs_dir, char mhc_run[2][256]) {
    static const char* S[2] = {"MhcOn", "MhcOff"};
    char b[4][64], nm[4][64], esc[600];
    fprintf(f, "%% table_mhc.tex: generated by report_write (lib/paper/report.c) from ");
    esc_line(f, runs_dir);
    fprintf(f, "\n%% mHC on vs off, one pretraining run each (same data, steps and shape otherwise). \"--\" = run missing.\n");
    fprintf(f, "\\begin{tabular}{llrrrr}\n\\hline\n"
               "Residual & Run & Streams & Params & Final val loss & Tokens/s \\\\\n\\hline\n");
    for (int k = 0; k < 2; k++) {
        snprintf(nm[0], 64, "%sStreams", S[k]);
        snprintf(nm[1], 64, "%sParams", S[k]);
        snprintf(nm[2], 64, "%sValLoss", S[k]);
        snprintf(nm[3], 64, "%sTokensPerSec", S[k]);
        report_tex_escape(mhc_run[k][0] ? mhc_run[k] : "--", esc, sizeof esc);
        fprintf(f, "%s & %s%s%s & %s & %s & %s & %s \\\\\n", k ? "mHC off" : "mHC on",
                mhc_run[k][0] ? "\\texttt{" : "", esc, mhc_run[k][0] ? "}" : "",
                cell(r, nm[0], b[0], 64), cell(r, nm[1], b[1], 64), cell(r, nm[2], b[2], 64), cell(r, nm[3], b[3], 64));
    }
    fprintf(f, "\\hline\n\\end{tabular}\n");
}

static void md_cell(FILE* f, const char* s) {    /* markdown table cell: escape pipes, no newlines */
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n' || *s == '\r') fputc(' ', f);
        else fputc(*s, f);
    }
}

static void registry(FILE* f, const Report* r, const PipelinePlan* plan, const char* runs_dir, const char* paper_dir) {
    char now[32];
    iso_time(now, now_wall());
    fprintf(f, "# Results registry\n\nGenerated by `report_write` (lib/paper/report.c) at %s from `", now);
    md_cell(f, runs_dir);
    fprintf(f, "`. Every number in `");
    md_cell(f, paper_dir);
    fprintf(f, "/tables/*.tex` and `results_macros.tex` is listed here with the file it was read "
               "from, its run dir, seed and the command that produced the run (`argv` of the run's "
               "`run_record.json`). Rewards are means over the tasks of a run's `summary.jsonl`; "
               "\"--\" marks a number whose run is missing. Cite a number in the paper as `\\Macro`.\n\n");
    fprintf(f, "## Numbers\n\n| macro | value | what | seed | source file | run dir | command | note |\n"
               "| --- | ---: | --- | --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < r->n; i++) {
        const Entry* e = &r->e[i];
        char v[64];
        if (e->present) fmt_num(e->v, e->integral, 0, e->sign, v, sizeof v);
        else snprintf(v, sizeof v, "--");
        fprintf(f, "| `\\%s` | %s | ", e->name, v);
        md_cell(f, e->what); fputs(" | ", f);
        md_cell(f, e->seed); fputs(" | `", f);
        md_cell(f, e->source); fputs("` | `", f);
        md_cell(f, e->run); fputs("` | ", f);
        if (e->cmd[0]) { fputc('`', f); md_cell(f, e->cmd); fputc('`', f); }
        fputs(" | ", f);
        md_cell(f, e->note);
        fputs(" |\n", f);
    }
    fprintf(f, "\n## Claims\n\nThe primary comparison, declared in the config before any run (`pipeline.primary`): %s vs %s "
               "on the held-out split, %s per task at the full sample budget; every other comparison is secondary. "
               "Generated from the paired intervals (`tables/table_comparisons.tex`): a claim is made "
               "only where the 95%% interval excludes 0. All are scoped to this synthetic suite and these budgets.\n\n",
            MD[plan->x].what, MD[plan->y].what, plan->mean_reward ? "mean reward" : "best reward");
    for (int i = 0; i < r->ncmp; i++) {
        char c[1024];
        claim(&r->cmp[i], c, sizeof c);
        fprintf(f, "- %s ", r->cmp[i].primary ? "**Primary.**" : "Secondary.");
        md_cell(f, c);
        fputc('\n', f);
    }
    char lc[1024];
    learn_claim(r, lc, sizeof lc);
    fputs("- ", f);
    md_cell(f, lc);
    fputc('\n', f);
    fprintf(f, "\n## Floor and ceiling\n\nPer method (its seeds pooled) and task family: tasks × seeds, the mean best "
               "reward, and the shares of tasks whose best reward is exactly 0 (the method got no signal) or exactly 1 "
               "(solved: no room left to tell methods apart). A suite that answers its question keeps both small "
               "(configs/small.yaml was calibrated on the train rows: docs/results.md).\n\n");
    if (r->calib_f) fflush(r->calib_f);
    if (!r->calib_len) fprintf(f, "No suite run present.\n");
    else fprintf(f, "| split | method | family | tasks | mean best | at 0 | at 1 |\n| --- | --- | --- | ---: | ---: | ---: | ---: |\n%s",
                 r->calib);
    fprintf(f, "\n## Missing runs and choices\n\n");
    size_t nnotes = json_array_size(r->runs->notes);
    if (nnotes == 0) fprintf(f, "None: every expected run was found.\n");
    for (size_t i = 0; i < nnotes; i++) {
        fputs("- ", f);
        md_cell(f, json_string_value(json_array_get(r->runs->notes, i)));
        fputc('\n', f);
    }
    fprintf(f, "\n## Claim-safety guardrails\n\n"
               "From the runbook (`discover-distill-runbook.md`, \"Claim-Safety Guardrails\"). Do not claim:\n\n"
               "- SOTA on real-world external benchmarks.\n"
               "- mHC causal effect without dedicated on/off architecture evidence.\n"
               "- zero forgetting guarantees.\n\n"
               "Keep claims scoped to this verifiable synthetic suite and reported budgets.\n\n"
               "Reading these numbers:\n\n"
               "- Base, TTT and SDFT best-of-N are compute-matched by samples per task (the `Samples` column); "
               "compare methods only at equal samples.\n"
               "- Compare methods by the paired intervals above, not by the seed means: only an interval that "
               "excludes 0 supports a claim. Seeds: %d per main method, %d per ablation.\n"
               "- The mHC table is one on/off pair of pretraining runs at one scale and one seed; it is evidence "
               "about that pair only.\n"
               "- The mHC on/off comparison is one seed per arm: no interval, not a claim.\n"
               "- Retention is a perplexity delta on one validation bin, with a 95%% interval over its batches "
               "(`\\RetentionRelDeltaPctLo`, `\\RetentionRelDeltaPctHi`); a small delta is not a zero-forgetting "
               "guarantee.\n", plan->nseeds, plan->nabl);
}

static void macros(FILE* f, const Report* r, const char* runs_dir) {
    fprintf(f, "%% results_macros.tex: generated by report_write (lib/paper/report.c) from ");
    esc_line(f, runs_dir);
    fprintf(f, "\n%% One macro per reported number; sources in results_registry.md. \"--\" = run missing.\n");
    char b[64];
    for (int i = 0; i < r->n; i++)
        fprintf(f, "\\newcommand{\\%s}{%s}\n", r->e[i].name, cell(r, r->e[i].name, b, sizeof b));
}

/* Everything the outputs are made from, read once (gather), and released (release). */
typedef struct {
    Runs   runs;
    Report r;
    Method m[PIPELINE_NMETHODS];
    char   mhc_run[2][256];
} Gathered;

static int gather_all(Gathered* g, const char* runs_dir, const PipelineCfg* pc, const PipelinePlan* plan, char err[ERR_LEN]) {
    memset(g, 0, sizeof *g);
    runs_open(&g->runs, runs_dir);
    g->r.runs = &g->runs;
    if (!is_dir(runs_dir)) return errf(err, "%s: runs dir not found", runs_dir);
    return gather(&g->r, g->m, pc, plan, g->mhc_run, err);
}

static void release(Gathered* g) {
    free(g->r.e);
    if (g->r.calib_f) fclose(g->r.calib_f);
    free(g->r.calib);
    for (int k = 0; k < PIPELINE_NMETHODS; k++) for (int i = 0; i < g->m[k].ns; i++) runs_suite_free(&g->m[k].s[i].s);
    runs_close(&g->runs);
}

int report_differences(const char* runs_dir, const PipelineCfg* pc, const PipelinePlan* plan, ReportDiff* out, int max,
                       char err[ERR_LEN]) {
    Gathered* g = calloc_check(1, sizeof *g);
    int rc = gather_all(g, runs_dir, pc, plan, err), n = 0;
    for (int i = 0; rc == 0 && i < g->r.ncmp && n < max; i++, n++) {
        const Comparison* c = &g->r.cmp[i];
        snprintf(out[n].label, sizeof out[n].label, "%s", c->label);
        out[n].primary = c->primary;
        out[n].present = c->present;
        out[n].mean = c->ci.mean; out[n].lo = c->ci.lo; out[n].hi = c->ci.hi;
    }
    release(g);
    free(g);
    return rc ? -1 : n;
}

int report_claims(const char* runs_dir, const PipelineCfg* pc, const PipelinePlan* plan, char (*out)[REPORT_CLAIM_LEN], int max,
                  char err[ERR_LEN]) {
    Gathered* g = calloc_check(1, sizeof *g);
    int rc = gather_all(g, runs_dir, pc, plan, err), n = 0;
    for (int i = 0; rc == 0 && i < g->r.ncmp && n < max; i++) claim(&g->r.cmp[i], out[n++], REPORT_CLAIM_LEN);
    if (rc == 0 && n < max) learn_claim(&g->r, out[n++], REPORT_CLAIM_LEN);
    release(g);
    free(g);
    return rc ? -1 : n;
}

typedef void (*TableFn)(FILE* f, const Gathered* g, const PipelinePlan* plan, const char* runs_dir);
static void w_main(FILE* f, const Gathered* g, const PipelinePlan* p, const char* d) { (void)p; table_main(f, &g->r, g->m, d); }
static void w_ablation(FILE* f, const Gathered* g, const PipelinePlan* p, const char* d) { (void)p; table_ablation(f, &g->r, g->m, d); }
static void w_comparisons(FILE* f, const Gathered* g, const PipelinePlan* p, const char* d) { (void)p; table_comparisons(f, &g->r, d); }
static void w_families(FILE* f, const Gathered* g, const PipelinePlan* p, const char* d) { table_families(f, &g->r, p, d); }
static void w_mhc(FILE* f, const Gathered* g, const PipelinePlan* p, const char* d) { (void)p; table_mhc(f, &g->r, d, (char(*)[256])g->mhc_run); }
static void w_macros(FILE* f, const Gathered* g, const PipelinePlan* p, const char* d) { (void)p; macros(f, &g->r, d); }

const char* const REPORT_FILES[REPORT_NFILES] = {"tables/table_main_results.tex", "tables/table_ablation_summary.tex",
    "tables/table_comparisons.tex", "tables/table_families.tex", "tables/table_mhc.tex", "results_macros.tex",
    "results_registry.md"};

int report_write(const char* runs_dir, const char* paper_dir, const PipelineCfg* pc, const PipelinePlan* plan, char err[ERR_LEN]) {
    if (!is_dir(runs_dir)) return errf(err, "%s: runs dir not found", runs_dir);
    Gathered* g = calloc_check(1, sizeof *g);
    int rc = gather_all(g, runs_dir, pc, plan, err);
    for (int i = 0; rc == 0 && i < g->r.n; i++)
        for (const char* p = g->r.e[i].name; *p; p++)
            if (!isalpha((unsigned char)*p)) { rc = errf(err, "internal: macro name %s", g->r.e[i].name); break; }
    char tdir[4200], p[4400];
    if (rc == 0) rc = path_join(tdir, sizeof tdir, paper_dir, "tables", err) || mkdir_p(tdir, err) ? -1 : 0;
    static const TableFn fn[REPORT_NFILES - 1] = {w_main, w_ablation, w_comparisons, w_families, w_mhc, w_macros};
    for (int i = 0; rc == 0 && i < REPORT_NFILES; i++) {
        Mem m;
        mem_open(&m);
        if (i < REPORT_NFILES - 1) fn[i](m.f, g, plan, runs_dir);
        else registry(m.f, &g->r, plan, runs_dir, paper_dir);
        if (path_join(p, sizeof p, paper_dir, REPORT_FILES[i], err)) { fclose(m.f); free(m.buf); rc = -1; break; }
        rc = mem_commit(&m, p, err);
    }
    release(g);
    free(g);
    return rc;
}
