/* report: results tables, macros and registry (lib/report.h, docs/tables.md). */
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

/* A paired comparison X - Y of mean best reward over the held-out tasks (lib/stats). */
typedef struct {
    char   name[48];      /* macro stem, letters only */
    char   label[160];    /* "TTT main vs base best-of-N" */
    char   tag[64];       /* short, for the figure: "TTT main\nvs base" */
    char   x[64], y[64];  /* method names for claims */
    int    primary;       /* the one comparison the suite exists for; the rest are secondary */
    int    present, seeds;
    double samples_x, samples_y, tokens_x, tokens_y;   /* per task, mean over the seeds compared */
    PairedCI ci;
} Comparison;

#define MAX_CMP 16
typedef struct {
    Entry* e;
    int n, cap;
    Runs* runs;           /* the inputs; its notes are the registry's (missing runs, choices made) */
    Comparison cmp[MAX_CMP];
    int ncmp;
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

/* ---------- reading inputs (lib/runs) ---------- */

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

/* Mean over the present seeds of a method. */
static void set_mean(Entry* e, const Suite* s, int ns, int field) {
    double sum = 0; int n = 0;
    char seeds[32] = "", src[1024] = "", run[512] = "", cmd[CMD_LEN * 2] = "";
    for (int i = 0; i < ns; i++) {
        const RunsSuite* x = &s[i].s;
        if (!x->present) continue;
        double v = field == 0 ? x->best : field == 1 ? x->mean_reward : x->samples;
        sum += v; n++;
        size_t l = strlen(seeds);
        snprintf(seeds + l, sizeof seeds - l, "%s%d", n > 1 ? "," : "", i);
        l = strlen(src);
        snprintf(src + l, sizeof src - l, "%s%s", n > 1 ? "; " : "", x->summary);
        l = strlen(run);
        snprintf(run + l, sizeof run - l, "%s%s", n > 1 ? "; " : "", x->dir);
        l = strlen(cmd);
        snprintf(cmd + l, sizeof cmd - l, "%s%s", n > 1 ? " ; " : "", s[i].cmd);
    }
    e->present = n > 0;
    e->v = n ? sum / n : 0;
    snprintf(e->seed, sizeof e->seed, "%s", n ? seeds : "-");
    snprintf(e->source, sizeof e->source, "%s", src);
    snprintf(e->run, sizeof e->run, "%s", run);
    snprintf(e->cmd, sizeof e->cmd, "%s", cmd);
    if (n == 0) snprintf(e->note, sizeof e->note, "every seed missing");
    else if (n < ns) snprintf(e->note, sizeof e->note, "mean over %d of %d seeds (others missing)", n, ns);
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

/* X - Y over seeds 0..nseeds-1 (X[s], Y[s]): each task's difference of best reward,
 * averaged over the seeds both runs have, then the paired bootstrap over tasks (a task
 * missing from any of those seeds' summaries is left out, with a note). Adds the
 * comparison and its macros. */
static void compare(Report* r, const char* name, const char* label, const char* tag, const char* xname, const char* yname,
                    int primary, const Suite* X, const Suite* Y, int nseeds) {
    if (r->ncmp == MAX_CMP) return;
    Comparison* c = &r->cmp[r->ncmp++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->label, sizeof c->label, "%s", label);
    snprintf(c->tag, sizeof c->tag, "%s", tag);
    snprintf(c->x, sizeof c->x, "%s", xname);
    snprintf(c->y, sizeof c->y, "%s", yname);
    c->primary = primary;
    int seeds[8], ns = 0;
    for (int s = 0; s < nseeds && ns < 8; s++)
        if (X[s].s.present && Y[s].s.present && X[s].s.task_best && Y[s].s.task_best) seeds[ns++] = s;
    double* d = NULL;
    int n = 0, dropped = 0;
    if (ns > 0) {
        d = malloc_check((json_object_size(X[seeds[0]].s.task_best) + 1) * sizeof *d);
        const char* id;
        json_t* v;
        json_object_foreach(X[seeds[0]].s.task_best, id, v) {
            double acc = 0;
            int ok = 1;
            for (int k = 0; k < ns && ok; k++) {
                json_t* xv = json_object_get(X[seeds[k]].s.task_best, id);
                json_t* yv = json_object_get(Y[seeds[k]].s.task_best, id);
                if (!xv || !yv) ok = 0;
                else acc += json_number_value(xv) - json_number_value(yv);
            }
            if (ok) d[n++] = acc / ns;
            else dropped++;
        }
        double sx = 0, sy = 0, tx = 0, ty = 0;
        for (int k = 0; k < ns; k++) {
            sx += X[seeds[k]].s.samples; sy += Y[seeds[k]].s.samples;
            tx += X[seeds[k]].s.tokens; ty += Y[seeds[k]].s.tokens;
        }
        c->samples_x = sx / ns;
        c->samples_y = sy / ns;
        c->tokens_x = tx / ns;
        c->tokens_y = ty / ns;
    }
    if (dropped) note(r, "%s: %d task(s) not in every compared summary, left out", label, dropped);
    c->seeds = ns;
    c->present = n > 0;
    if (c->present) stats_paired_bootstrap(d, n, STATS_RESAMPLES, 0, 0.95, &c->ci);
    else note(r, "%s: no seed with both runs present; no comparison", label);
    free(d);
    static const char* part[8] = {"Delta", "Lo", "Hi", "Wins", "Ties", "Losses", "Tasks", "Seeds"};
    static const char* says[8] = {"mean paired difference of best reward", "95% bootstrap interval, lower end",
                                  "95% bootstrap interval, upper end", "tasks where the first is better",
                                  "tasks tied", "tasks where the second is better", "tasks compared", "seeds averaged per task"};
    double val[8] = {c->ci.mean, c->ci.lo, c->ci.hi, c->ci.wins, c->ci.ties, c->ci.losses, c->ci.n, ns};
    for (int k = 0; k < 8; k++) {
        char nm[64], what[160];
        snprintf(nm, sizeof nm, "%s%s", name, part[k]);
        snprintf(what, sizeof what, "%s: %s%s", label, says[k], primary ? " (primary)" : " (secondary)");
        Entry* e = add(r, nm, what);
        e->present = c->present;
        e->v = val[k];
        e->integral = k >= 3;
        e->sign = k < 3;
        snprintf(e->seed, sizeof e->seed, "%d seed%s", ns, ns == 1 ? "" : "s");
        snprintf(e->source, sizeof e->source, "%s; %s", X[0].s.summary, Y[0].s.summary);
        snprintf(e->run, sizeof e->run, "%s; %s", X[0].s.dir, Y[0].s.dir);
        snprintf(e->cmd, sizeof e->cmd, "%s ; %s", X[0].cmd, Y[0].cmd);
        if (!e->present) snprintf(e->note, sizeof e->note, "a run is missing");
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
    char stat[256];
    snprintf(stat, sizeof stat, "(Δ = %s, 95%% CI [%s, %s], %d tasks × %d seed%s, %s; wins/ties/losses %d/%d/%d)", d, lo, hi,
             c->ci.n, c->seeds, c->seeds == 1 ? "" : "s", budget, c->ci.wins, c->ci.ties, c->ci.losses);
    char cost[160];   /* wall time is in each run's run_record.json; it varies from run to run, so it is not here */
    snprintf(cost, sizeof cost, " Cost per task: %.0f samples and %.0f sampled tokens (%s) vs %.0f and %.0f (%s).", c->samples_x,
             c->tokens_x, c->x, c->samples_y, c->tokens_y, c->y);
    if (c->ci.lo > 0) snprintf(out, cap, "%s beats %s on this suite %s.%s", c->x, c->y, stat, cost);
    else if (c->ci.hi < 0) snprintf(out, cap, "%s is worse than %s on this suite %s.%s", c->x, c->y, stat, cost);
    else snprintf(out, cap, "No significant difference between %s and %s at this scale %s.%s", c->x, c->y, stat, cost);
}

/* ---------- gathering ---------- */

static const char* SEEDWORD[2] = {"Zero", "One"};

/* The main methods, in table order: search is TTT without learning (same sampler,
 * start states and budget, no update), the baseline that separates what the search
 * gives from what the learning gives. */
#define NMAIN 4
static const char* MM[NMAIN] = {"BaseBestofN", "Search", "TTTMain", "SDFTBestofN"};

static int gather(Report* r, Suite main_s[NMAIN][2], Suite abl[5], char sdft_prefix[256], char mhc_run[2][256],
                  char err[ERR_LEN]) {
    const char* runs_dir = r->runs->dir;
    char suite_dir[4200];
    path_join(suite_dir, sizeof suite_dir, runs_dir, "suite");

    runs_sdft_prefix(r->runs, sdft_prefix);

    /* main methods */
    static const char* MW[NMAIN] = {"base best-of-N", "search (PUCT reuse, no learning)", "TTT main", "SDFT best-of-N"};
    for (int k = 0; k < NMAIN; k++) {
        for (int sd = 0; sd < 2; sd++) {
            char name[256];
            if (k == 0) snprintf(name, sizeof name, "base_bestofn_seed%d", sd);
            else if (k == 1) snprintf(name, sizeof name, "search_seed%d", sd);
            else if (k == 2) snprintf(name, sizeof name, "ttt_main_seed%d", sd);
            else snprintf(name, sizeof name, "%.200s_bestofn_seed%d", sdft_prefix, sd);
            if (load_suite(r, name, &main_s[k][sd], err)) return -1;
        }
        char nm[64], what[160], seed[8];
        for (int sd = 0; sd < 2; sd++) {
            snprintf(seed, sizeof seed, "%d", sd);
            snprintf(nm, sizeof nm, "%sSeed%s", MM[k], SEEDWORD[sd]);
            snprintf(what, sizeof what, "%s: mean over tasks of best reward, seed %d", MW[k], sd);
            set_from(add(r, nm, what), &main_s[k][sd], main_s[k][sd].s.best, seed);
            snprintf(nm, sizeof nm, "%sMeanRewardSeed%s", MM[k], SEEDWORD[sd]);
            snprintf(what, sizeof what, "%s: mean over tasks of mean reward, seed %d", MW[k], sd);
            set_from(add(r, nm, what), &main_s[k][sd], main_s[k][sd].s.mean_reward, seed);
            snprintf(nm, sizeof nm, "%sTasksSeed%s", MM[k], SEEDWORD[sd]);
            snprintf(what, sizeof what, "%s: tasks in summary.jsonl, seed %d", MW[k], sd);
            Entry* e = add(r, nm, what);
            set_from(e, &main_s[k][sd], main_s[k][sd].s.ntasks, seed);
            e->integral = 1;
        }
        snprintf(nm, sizeof nm, "%sMean", MM[k]);
        snprintf(what, sizeof what, "%s: mean best reward, mean over seeds", MW[k]);
        set_mean(add(r, nm, what), main_s[k], 2, 0);
        snprintf(nm, sizeof nm, "%sMeanReward", MM[k]);
        snprintf(what, sizeof what, "%s: mean reward, mean over seeds", MW[k]);
        set_mean(add(r, nm, what), main_s[k], 2, 1);
        snprintf(nm, sizeof nm, "%sSamples", MM[k]);
        snprintf(what, sizeof what, "%s: samples per task (compute budget), mean over seeds", MW[k]);
        Entry* e = add(r, nm, what);
        set_mean(e, main_s[k], 2, 2);
        e->integral = e->present && fabs(e->v - round(e->v)) < 1e-9;
    }

    /* ablations, seed 0 */
    static const char* AD[5] = {"ttt_main_seed0", "ttt_reuse0_seed0", "ttt_adapt0_seed0", "ttt_kl0_seed0", "ttt_expected_seed0"};
    static const char* AM[5] = {"TTTMain", "TTTReuseOff", "TTTAdaptOff", "TTTKLOff", "TTTExpected"};
    static const char* AW[5] = {"TTT main", "TTT reuse off", "TTT adaptive beta off", "TTT KL off", "TTT expected objective"};
    abl[0] = main_s[2][0];
    for (int k = 1; k < 5; k++) {
        if (load_suite(r, AD[k], &abl[k], err)) return -1;
        char nm[64], what[160];
        snprintf(nm, sizeof nm, "%sSeedZero", AM[k]);
        snprintf(what, sizeof what, "%s: mean best reward, seed 0", AW[k]);
        set_from(add(r, nm, what), &abl[k], abl[k].s.best, "0");
        snprintf(nm, sizeof nm, "%sMeanRewardSeedZero", AM[k]);
        snprintf(what, sizeof what, "%s: mean reward, seed 0", AW[k]);
        set_from(add(r, nm, what), &abl[k], abl[k].s.mean_reward, "0");
        for (int f = 0; f < 2; f++) {
            snprintf(nm, sizeof nm, "%sDelta%s", AM[k], f ? "MeanReward" : "Best");
            snprintf(what, sizeof what, "%s minus TTT main: %s, seed 0", AW[k], f ? "mean reward" : "mean best reward");
            Entry* e = add(r, nm, what);
            set_from(e, &abl[k], f ? abl[k].s.mean_reward - abl[0].s.mean_reward : abl[k].s.best - abl[0].s.best, "0");
            e->present = abl[k].s.present && abl[0].s.present;
            e->sign = 1;
            snprintf(e->source, sizeof e->source, "%s; %s", abl[k].s.summary, abl[0].s.summary);
            snprintf(e->run, sizeof e->run, "%s; %s", abl[k].s.dir, abl[0].s.dir);
            snprintf(e->cmd, sizeof e->cmd, "%s ; %s", abl[k].cmd, abl[0].cmd);
            if (!e->present) snprintf(e->note, sizeof e->note, "%s missing", abl[k].s.present ? "ttt_main_seed0" : AD[k]);
        }
    }

    /* paired comparisons: the primary one first (held-out split, mean best reward at the
     * full sample budget), then the secondary ones */
    compare(r, "TTTMainVsBase", "TTT main vs base best-of-N", "TTT main\nvs base", "TTT main", "base best-of-N", 1, main_s[2],
            main_s[0], 2);
    compare(r, "TTTMainVsSearch", "TTT main vs search", "TTT main\nvs search", "TTT main", "search (no learning)", 0, main_s[2],
            main_s[1], 2);
    compare(r, "SearchVsBase", "search vs base best-of-N", "search\nvs base", "search (no learning)", "base best-of-N", 0,
            main_s[1], main_s[0], 2);
    compare(r, "SDFTVsBase", "SDFT best-of-N vs base best-of-N", "SDFT\nvs base", "SDFT best-of-N", "base best-of-N", 0,
            main_s[3], main_s[0], 2);
    static const char* AC[5] = {"", "TTTReuseOffVsBase", "TTTAdaptOffVsBase", "TTTKLOffVsBase", "TTTExpectedVsBase"};
    static const char* AT[5] = {"", "reuse off\nvs base", "adaptive β\noff vs base", "KL off\nvs base", "expected\nvs base"};
    for (int k = 1; k < 5; k++) {
        char label[160];
        snprintf(label, sizeof label, "%s vs base best-of-N (seed 0)", AW[k]);
        compare(r, AC[k], label, AT[k], AW[k], "base best-of-N", 0, &abl[k], main_s[0], 1);
    }

    /* retention */
    {
        char p[4400], rr[4400], cmd[CMD_LEN] = "(no run_record.json)";
        path_join(p, sizeof p, suite_dir, "retention_ppl.json");
        path_join(rr, sizeof rr, suite_dir, "_runs/retention_ppl.json");
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
            snprintf(e->source, sizeof e->source, "%s key rel_delta_ci95", p);
            snprintf(e->run, sizeof e->run, "%s", is_dir(rr) ? rr : suite_dir);
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
                path_join(d, sizeof d, runs_dir, mhc_run[k]);
                path_join(rec, sizeof rec, d, "run_record.json");
                path_join(met, sizeof met, d, "metrics.jsonl");
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
        snprintf(e->source, sizeof e->source, "%s; %s", on->source, off->source);
        snprintf(e->run, sizeof e->run, "%s; %s", on->run, off->run);
        snprintf(e->cmd, sizeof e->cmd, "%s ; %s", on->cmd, off->cmd);
    }

    /* SDFT run: sdft_eval_report.json */
    {
        char name[256], d[4200] = "", p[4500] = "(run missing)", cmd[CMD_LEN] = "";
        runs_sdft(r->runs, name);
        json_t* j = NULL;
        if (name[0]) {
            path_join(d, sizeof d, runs_dir, name);
            path_join(p, sizeof p, d, "sdft_eval_report.json");
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

static void table_main(FILE* f, const Report* r, const char* runs_dir, const char* sdft_prefix) {
    char lab[NMAIN][512], esc[512], b[6][64];
    snprintf(lab[0], sizeof lab[0], "Base best-of-$N$ (\\texttt{base\\_bestofn})");
    snprintf(lab[1], sizeof lab[1], "Search, no learning (\\texttt{search})");
    snprintf(lab[2], sizeof lab[2], "TTT main (\\texttt{ttt\\_main})");
    char pre[300];
    snprintf(pre, sizeof pre, "%s_bestofn", sdft_prefix);
    report_tex_escape(pre, esc, sizeof esc);
    snprintf(lab[3], sizeof lab[3], "SDFT best-of-$N$ (\\texttt{%.400s})", esc);
    fprintf(f, "%% table_main_results.tex: generated by report_write (lib/report.c) from ");
    esc_line(f, runs_dir);
    fprintf(f, "\n%% Held-out suite: mean over tasks of the best reward per seed, mean over seeds,\n"
               "%% samples per task (compute-matched budget) and mean reward (mean over seeds). \"--\" = run missing.\n");
    fprintf(f, "\\begin{tabular}{lrrrrr}\n\\hline\n"
               "Method & \\multicolumn{3}{c}{Mean best reward} & Samples & Mean \\\\\n"
               " & seed 0 & seed 1 & mean & per task & reward \\\\\n\\hline\n");
    for (int k = 0; k < NMAIN; k++) {
        char nm[6][64];
        snprintf(nm[0], 64, "%sSeedZero", MM[k]);
        snprintf(nm[1], 64, "%sSeedOne", MM[k]);
        snprintf(nm[2], 64, "%sMean", MM[k]);
        snprintf(nm[3], 64, "%sSamples", MM[k]);
        snprintf(nm[4], 64, "%sMeanReward", MM[k]);
        fprintf(f, "%s", lab[k]);
        for (int c = 0; c < 5; c++) fprintf(f, " & %s", cell(r, nm[c], b[c], 64));
        fprintf(f, " \\\\\n");
    }
    fprintf(f, "\\hline\n\\end{tabular}\n");
}

static void table_comparisons(FILE* f, const Report* r, const char* runs_dir) {
    fprintf(f, "%% table_comparisons.tex: generated by report_write (lib/report.c) from ");
    esc_line(f, runs_dir);
    fprintf(f, "\n%% Paired comparisons of mean best reward on the held-out tasks: each task's difference averaged\n"
               "%% over the seeds both runs have; mean, 95%% percentile bootstrap interval (10,000 resamples of tasks),\n"
               "%% wins/ties/losses over tasks. The first row is the primary comparison; the others are secondary.\n");
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
    fprintf(f, "\\hline\n\\end{tabular}\n");
}

static void table_ablation(FILE* f, const Report* r, const char* runs_dir) {
    static const char* AM[5] = {"TTTMain", "TTTReuseOff", "TTTAdaptOff", "TTTKLOff", "TTTExpected"};
    static const char* AL[5] = {"TTT main (\\texttt{ttt\\_main\\_seed0})", "Reuse off (\\texttt{ttt\\_reuse0\\_seed0})",
                                "Adaptive $\\beta$ off (\\texttt{ttt\\_adapt0\\_seed0})", "KL shaping off (\\texttt{ttt\\_kl0\\_seed0})",
                                "Expected objective (\\texttt{ttt\\_expected\\_seed0})"};
    char b[4][64], nm[4][64];
    fprintf(f, "%% table_ablation_summary.tex: generated by report_write (lib/report.c) from ");
    esc_line(f, runs_dir);
    fprintf(f, "\n%% Seed 0 only: one seed per ablation, so deltas are not significance tests. \"--\" = run missing.\n");
    fprintf(f, "\\begin{tabular}{lrrrr}\n\\hline\n"
               "Variant & Mean best & $\\Delta$ vs & Mean & $\\Delta$ vs \\\\\n"
               " & reward & main & reward & main \\\\\n\\hline\n");
    for (int k = 0; k < 5; k++) {
        snprintf(nm[0], 64, "%sSeedZero", AM[k]);
        snprintf(nm[1], 64, "%sDeltaBest", AM[k]);
        snprintf(nm[2], 64, "%sMeanRewardSeedZero", AM[k]);
        snprintf(nm[3], 64, "%sDeltaMeanReward", AM[k]);
        fprintf(f, "%s & %s & %s & %s & %s \\\\\n", AL[k], cell(r, nm[0], b[0], 64),
                k ? cell(r, nm[1], b[1], 64) : "", cell(r, nm[2], b[2], 64), k ? cell(r, nm[3], b[3], 64) : "");
        if (k == 0) fprintf(f, "\\hline\n");
    }
    fprintf(f, "\\hline\n\\end{tabular}\n");
}

static void table_mhc(FILE* f, const Report* r, const char* runs_dir, char mhc_run[2][256]) {
    static const char* S[2] = {"MhcOn", "MhcOff"};
    char b[4][64], nm[4][64], esc[600];
    fprintf(f, "%% table_mhc.tex: generated by report_write (lib/report.c) from ");
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

static void registry(FILE* f, const Report* r, const char* runs_dir, const char* paper_dir) {
    char now[32];
    iso_time(now, now_wall());
    fprintf(f, "# Results registry\n\nGenerated by `report_write` (lib/report.c) at %s from `", now);
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
    fprintf(f, "\n## Claims\n\nGenerated from the paired intervals (`tables/table_comparisons.tex`): a claim is made "
               "only where the 95%% interval excludes 0. All are scoped to this synthetic suite and these budgets.\n\n");
    for (int i = 0; i < r->ncmp; i++) {
        char c[1024];
        claim(&r->cmp[i], c, sizeof c);
        fprintf(f, "- %s ", r->cmp[i].primary ? "**Primary.**" : "Secondary.");
        md_cell(f, c);
        fputc('\n', f);
    }
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
               "- Compare methods by the paired intervals above, not by the seed means: two seeds per main "
               "method and one per ablation are few, and only an interval that excludes 0 supports a claim.\n"
               "- The mHC table is one on/off pair of pretraining runs at one scale and one seed; it is evidence "
               "about that pair only.\n"
               "- The mHC on/off comparison is one seed per arm: no interval, not a claim.\n"
               "- Retention is a perplexity delta on one validation bin, with a 95%% interval over its batches "
               "(`\\RetentionRelDeltaPctLo`, `\\RetentionRelDeltaPctHi`); a small delta is not a zero-forgetting "
               "guarantee.\n");
}

static void macros(FILE* f, const Report* r, const char* runs_dir) {
    fprintf(f, "%% results_macros.tex: generated by report_write (lib/report.c) from ");
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
    Suite  main_s[NMAIN][2], abl[5];   /* abl[0] is main_s[2][0] */
    char   sdft_prefix[256], mhc_run[2][256];
} Gathered;

static int gather_all(Gathered* g, const char* runs_dir, char err[ERR_LEN]) {
    memset(g, 0, sizeof *g);
    runs_open(&g->runs, runs_dir);
    g->r.runs = &g->runs;
    if (!is_dir(runs_dir)) { snprintf(err, ERR_LEN, "%s: runs dir not found", runs_dir); return -1; }
    return gather(&g->r, g->main_s, g->abl, g->sdft_prefix, g->mhc_run, err);
}

static void release(Gathered* g) {
    free(g->r.e);
    for (int k = 0; k < NMAIN; k++) for (int sd = 0; sd < 2; sd++) runs_suite_free(&g->main_s[k][sd].s);
    for (int k = 1; k < 5; k++) runs_suite_free(&g->abl[k].s);
    runs_close(&g->runs);
}

int report_differences(const char* runs_dir, ReportDiff* out, int max, char err[ERR_LEN]) {
    Gathered* g = calloc_check(1, sizeof *g);
    int rc = gather_all(g, runs_dir, err), n = 0;
    for (int i = 0; rc == 0 && i < g->r.ncmp && n < max; i++, n++) {
        const Comparison* c = &g->r.cmp[i];
        snprintf(out[n].label, sizeof out[n].label, "%s", c->label);
        snprintf(out[n].tag, sizeof out[n].tag, "%s", c->tag);
        out[n].primary = c->primary;
        out[n].present = c->present;
        out[n].mean = c->ci.mean; out[n].lo = c->ci.lo; out[n].hi = c->ci.hi;
    }
    release(g);
    free(g);
    return rc ? -1 : n;
}

int report_write(const char* runs_dir, const char* paper_dir, char err[ERR_LEN]) {
    if (!is_dir(runs_dir)) { snprintf(err, ERR_LEN, "%s: runs dir not found", runs_dir); return -1; }
    Gathered* g = calloc_check(1, sizeof *g);
    int rc = gather_all(g, runs_dir, err);
    Report r = g->r;   /* a view: entries and comparisons are released with g */
    const char* sdft_prefix = g->sdft_prefix;
    char (*mhc_run)[256] = g->mhc_run;
    for (int i = 0; rc == 0 && i < r.n; i++)
        for (const char* p = r.e[i].name; *p; p++)
            if (!isalpha((unsigned char)*p)) { snprintf(err, ERR_LEN, "internal: macro name %s", r.e[i].name); rc = -1; break; }
    char tdir[4200], p[4400];
    path_join(tdir, sizeof tdir, paper_dir, "tables");
    if (rc == 0) rc = mkdir_p(tdir, err);
    Mem m;
    if (rc == 0) {
        mem_open(&m); table_main(m.f, &r, runs_dir, sdft_prefix);
        path_join(p, sizeof p, tdir, "table_main_results.tex");
        rc = mem_commit(&m, p, err);
    }
    if (rc == 0) {
        mem_open(&m); table_ablation(m.f, &r, runs_dir);
        path_join(p, sizeof p, tdir, "table_ablation_summary.tex");
        rc = mem_commit(&m, p, err);
    }
    if (rc == 0) {
        mem_open(&m); table_comparisons(m.f, &r, runs_dir);
        path_join(p, sizeof p, tdir, "table_comparisons.tex");
        rc = mem_commit(&m, p, err);
    }
    if (rc == 0) {
        mem_open(&m); table_mhc(m.f, &r, runs_dir, mhc_run);
        path_join(p, sizeof p, tdir, "table_mhc.tex");
        rc = mem_commit(&m, p, err);
    }
    if (rc == 0) {
        mem_open(&m); macros(m.f, &r, runs_dir);
        path_join(p, sizeof p, paper_dir, "results_macros.tex");
        rc = mem_commit(&m, p, err);
    }
    if (rc == 0) {
        mem_open(&m); registry(m.f, &r, runs_dir, paper_dir);
        path_join(p, sizeof p, paper_dir, "results_registry.md");
        rc = mem_commit(&m, p, err);
    }
    release(g);
    free(g);
    return rc;
}
