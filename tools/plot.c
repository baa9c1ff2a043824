/* plot (F1; runbook: plot_pipeline_diagram.py + plot_results.py): the paper's figures
 * (lib/paper/figures) from the finished run outputs under --runs_dir (out/<config>/runs, read
 * by lib/paper/runs), then the results tables (lib/paper/report). Every input is read and checked
 * before anything is drawn: a malformed file is bad input (exit 2, naming it); a missing
 * one skips only the figures that need it, with a warning. Figures and inputs:
 * docs/figures.md. */
#include "config.h"
#include "lifecycle.h"
#include "specs.h"
#include "pipeline.h"
#include "figures.h"
#include "report.h"
#include "paper.h"
#include "track.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Canvas sizes of the figures (docs/figures.md); each figure lays itself out on the canvas it gets. */
#define W 1200
#define H 750

/* A figure on a canvas of its own: drawn and saved, or skipped with a warning. */
typedef struct {
    Tracker* t;
    const char *dir, *font;
    json_t* made;
    int done;
} Figs;

/* stem.png and stem.pdf: one drawing, rasterised and as vectors (lib/paper/plot). */
static void figure(Figs* f, const char* stem, int w, int h, int (*draw)(Canvas*, void*), void* data, const char* why) {
    char p[4400], name[256], err[ERR_LEN];
    static const char* const ext[] = {".png", ".pdf"};
    for (int k = 0; k < 2; k++) {
        snprintf(name, sizeof name, "%s%s", stem, ext[k]);
        if (path_join(p, sizeof p, f->dir, name, err)) die(EXIT_BADINPUT, "%s", err);
        life_clear_output_temps(p);   /* a killed plot's half-written file (outside the run dir) */
    }
    Canvas cv;
    if (canvas_init(&cv, w, h, C_WHITE, f->font, err)) die(EXIT_BADINPUT, "%s", err);
    if (draw(&cv, data)) {
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "%s%s", stem, ext[k]);
            if (path_join(p, sizeof p, f->dir, name, err)) die(EXIT_BADINPUT, "%s", err);
            if ((k == 0 ? canvas_save_png : canvas_save_pdf)(&cv, p, err)) die(EXIT_FAIL, "%s", err);
            if (track_output(f->t, p)) die(f->t->err_exit, "%s", f->t->err);
            json_array_append_new(f->made, json_string(name));
        }
    } else track_say(f->t, "plot: warning: skipping %s: %s", stem, why);
    canvas_free(&cv);
    if (track_progress(f->t, ++f->done, name)) die(f->t->err_exit, "%s", f->t->err);
}

/* What the figures are drawn from, all read before any is drawn. */
typedef struct {
    SeedGroup abl[6];   /* base best-of-N, TTT main, then the ablations */
    SeedGroup search;   /* search: TTT without learning */
    SeedGroup sdft;     /* SDFT best-of-N */
    RunsPretrain pre[2];
    char sdft_run[256];
    json_t *sdft_metrics, *sdft_report, *retention;
    ReportDiff diff[16];   /* the paired comparisons (lib/paper/report) */
    int ndiff;
} Inputs;

static int draw_pipeline(Canvas* cv, void* d) { (void)d; fig_pipeline(cv); return 1; }
static int draw_reward(Canvas* cv, void* d) { Inputs* in = d; return fig_reward(cv, &in->abl[0], &in->search, &in->abl[1], &in->sdft); }
static int draw_ablations(Canvas* cv, void* d) { return fig_ablations(cv, ((Inputs*)d)->abl, 6); }
static int draw_differences(Canvas* cv, void* d) { Inputs* in = d; return fig_differences(cv, in->diff, in->ndiff); }
static int draw_pretrain(Canvas* cv, void* d) { return fig_pretrain(cv, ((Inputs*)d)->pre); }
static int draw_sdft(Canvas* cv, void* d) {
    Inputs* in = d;
    return in->sdft_metrics && fig_sdft(cv, in->sdft_run, in->sdft_metrics, in->sdft_report);
}
static int draw_retention(Canvas* cv, void* d) { Inputs* in = d; return in->retention && fig_retention(cv, in->retention); }

static void need(int rc, const char* err) {
    if (rc) die(EXIT_BADINPUT, "%s", err);
}

/* Every input, checked; missing ones leave their figure's data empty (and a note). */
static void read_inputs(Runs* r, const PlotArgs* a, const PipelineCfg* pc, const PipelinePlan* plan, Inputs* in) {
    static const char* prefixes[] = {"base_bestofn", "ttt_main", "ttt_reuse0", "ttt_adapt0", "ttt_kl0", "ttt_expected"};
    char err[ERR_LEN], p[4400];
    for (int i = 0; i < 6; i++) {   /* base and TTT main at the seeds, the ablations at the ablation seeds */
        in->abl[i].nseeds = runs_suite_seeds(r, prefixes[i], i < 2 ? plan->seeds : plan->abl, i < 2 ? plan->nseeds : plan->nabl,
                                             1, in->abl[i].s, err);
        need(in->abl[i].nseeds < 0, err);
    }
    in->search.nseeds = runs_suite_seeds(r, "search", plan->seeds, plan->nseeds, 1, in->search.s, err);
    need(in->search.nseeds < 0, err);
    in->sdft.nseeds = runs_suite_seeds(r, pc->sdft_bestofn_run, plan->seeds, plan->nseeds, 1, in->sdft.s, err);
    need(in->sdft.nseeds < 0, err);

    need(runs_pretrain_find(r, in->pre, err), err);
    if (*a->pretrain_run) snprintf(in->pre[0].name, sizeof in->pre[0].name, "%s", a->pretrain_run);
    if (*a->pretrain_nomhc_run) snprintf(in->pre[1].name, sizeof in->pre[1].name, "%s", a->pretrain_nomhc_run);
    for (int k = 0; k < 2; k++) if (in->pre[k].name[0]) need(runs_pretrain_metrics(r, &in->pre[k], err), err);

    runs_sdft(r, in->sdft_run);
    if (*a->sdft_run) snprintf(in->sdft_run, sizeof in->sdft_run, "%s", a->sdft_run);
    if (in->sdft_run[0]) {
        if (path_fmt(p, sizeof p, err, "%s/%s/metrics.jsonl", r->dir, in->sdft_run)) die(EXIT_BADINPUT, "%s", err);
        if (!path_exists(p)) runs_note(r, "%s: missing; no SDFT figure", p);
        else need(!(in->sdft_metrics = runs_jsonl_array(r, p, err)), err);
        for (size_t i = 0; in->sdft_metrics && i < json_array_size(in->sdft_metrics); i++)
            if (!json_is_number(json_object_get(json_array_get(in->sdft_metrics, i), "step")))
                die(EXIT_BADINPUT, "%s:%zu: 'step' missing or not a number", p, i + 1);
        if (path_fmt(p, sizeof p, err, "%s/%s/sdft_eval_report.json", r->dir, in->sdft_run)) die(EXIT_BADINPUT, "%s", err);
        in->sdft_report = path_exists(p) ? runs_json(r, p, err) : json_object();
        need(!in->sdft_report, err);
    }
    if (path_fmt(p, sizeof p, err, "%s/suite/retention_ppl.json", r->dir)) die(EXIT_BADINPUT, "%s", err);
    if (!path_exists(p)) runs_note(r, "%s: missing; no retention figure", p);
    else need(!(in->retention = runs_json(r, p, err)), err);
    static const char* keys[] = {"base_ppl", "updated_ppl", "abs_delta", "rel_delta"};
    for (int i = 0; in->retention && i < 4; i++)
        if (!json_is_number(json_object_get(in->retention, keys[i])))
            die(EXIT_BADINPUT, "%s: '%s' missing or not a number", p, keys[i]);
}

static void free_inputs(Inputs* in) {
    for (int g = 0; g < 6; g++) for (int k = 0; k < FIG_SEEDS; k++) runs_suite_free(&in->abl[g].s[k]);
    for (int k = 0; k < FIG_SEEDS; k++) runs_suite_free(&in->search.s[k]);
    for (int k = 0; k < FIG_SEEDS; k++) runs_suite_free(&in->sdft.s[k]);
    for (int k = 0; k < 2; k++) runs_pretrain_free(&in->pre[k]);
    json_decref(in->sdft_metrics); json_decref(in->sdft_report); json_decref(in->retention);
}

int main(int argc, char** argv) {
    PlotArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&PLOT_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    PipelineCfg pc;
    PipelinePlan plan;
    if (pipeline_load(c.config_path, &pc, &plan, err)) die(EXIT_BADINPUT, "%s", err);
    char p[4400], run[4400], paper[4400];
    if (!is_dir(a.runs_dir)) die(EXIT_BADINPUT, "--runs_dir %s: not a directory", a.runs_dir);
    Runs r;
    runs_open(&r, a.runs_dir);
    Inputs* in = calloc_check(1, sizeof *in);
    read_inputs(&r, &a, &pc, &plan, in);

    Canvas probe;   /* the font, before any file is written */
    if (canvas_init(&probe, 1, 1, C_WHITE, a.font, err)) die(EXIT_BADINPUT, "%s", err);
    canvas_free(&probe);
    if (*a.paper_dir ? path_fmt(paper, sizeof paper, err, "%s", a.paper_dir) : path_dirname(paper, sizeof paper, a.fig_dir, err))
        die(EXIT_BADINPUT, "%s", err);
    if (mkdir_p(a.fig_dir, err)) die(EXIT_BADINPUT, "%s", err);
    if (c.run_dir ? path_fmt(run, sizeof run, err, "%s", c.run_dir) : path_join(run, sizeof run, a.fig_dir, "_runs/plot", err))
        die(EXIT_BADINPUT, "%s", err);
    Tracker t;
    if (track_open(&t, run, &PLOT_SPEC, &a, &c, "plot")) die(t.err_exit, "%s", t.err);
    for (size_t i = 0; i < json_array_size(r.read); i++)
        if (track_input(&t, json_string_value(json_array_get(r.read, i)))) die(t.err_exit, "%s", t.err);
    for (size_t i = 0; i < json_array_size(r.notes); i++)
        track_say(&t, "plot: warning: %s", json_string_value(json_array_get(r.notes, i)));
    in->ndiff = report_differences(a.runs_dir, &pc, &plan, in->diff, 16, err);
    if (in->ndiff < 0) die(EXIT_BADINPUT, "%s", err);
    track_total(&t, 9);   /* 7 figures, report.tex, report.pdf */

    Figs f = {&t, a.fig_dir, a.font, json_array(), 0};
    figure(&f, "fig_pipeline", 1600, 480, draw_pipeline, in, "");
    figure(&f, "fig_reward_vs_samples", W, H, draw_reward, in, "needs the curves of base_bestofn_seed* and ttt_main_seed*");
    figure(&f, "fig_ablations", W, H, draw_ablations, in, "needs base_bestofn_seed* and ttt_main_seed* summaries");
    figure(&f, "fig_paired_differences", 1600, 900, draw_differences, in, "no comparison has both of its runs");
    figure(&f, "fig_pretrain_loss", W, 950, draw_pretrain, in, "no pretrain metrics");
    figure(&f, "fig_sdft", W, 950, draw_sdft, in, "no SDFT metrics");
    figure(&f, "fig_retention", 900, 700, draw_retention, in, "no retention_ppl.json");

    /* F2: the LaTeX tables, macros and results registry (lib/paper/report). */
    for (int i = 0; i < REPORT_NFILES; i++) {
        if (path_join(p, sizeof p, paper, REPORT_FILES[i], err)) die(EXIT_BADINPUT, "%s", err);
        life_clear_output_temps(p);
    }
    if (report_write(a.runs_dir, paper, &pc, &plan, err)) die(EXIT_BADINPUT, "%s", err);
    for (int i = 0; i < REPORT_NFILES; i++) {
        if (path_join(p, sizeof p, paper, REPORT_FILES[i], err)) die(EXIT_BADINPUT, "%s", err);
        if (path_exists(p) && track_output(&t, p)) die(t.err_exit, "%s", t.err);
    }

    /* F3: the one document (lib/paper/paper): report.tex, compiled to report.pdf. */
    PaperIn pin = {a.runs_dir, paper, a.fig_dir, c.config_path ? c.config_path : "(no config)", &pc, &plan};
    if (path_join(p, sizeof p, paper, "report.tex", err)) die(EXIT_BADINPUT, "%s", err);
    life_clear_output_temps(p);
    if (paper_write_tex(&pin, err)) die(EXIT_BADINPUT, "%s", err);
    if (track_output(&t, p)) die(t.err_exit, "%s", t.err);
    if (track_progress(&t, 8, "report.tex")) die(t.err_exit, "%s", t.err);
    if (*a.pdflatex) {
        char scratch[4400];
        if (path_join(scratch, sizeof scratch, run, "logs/latex", err)) die(EXIT_BADINPUT, "%s", err);
        if (path_join(p, sizeof p, paper, "report.pdf", err)) die(EXIT_BADINPUT, "%s", err);
        life_clear_output_temps(p);
        int rc = paper_compile(paper, scratch, a.pdflatex, err);
        if (rc) die(rc == -2 ? EXIT_BADINPUT : EXIT_FAIL, "%s", err);
        if (track_output(&t, p)) die(t.err_exit, "%s", t.err);
    }
    if (track_progress(&t, 9, "report.pdf")) die(t.err_exit, "%s", t.err);

    track_summary(&t, "figures", json_incref(f.made));
    track_say(&t, "plot: %zu figures (PNG and PDF) in %s; tables and report.tex%s in %s", json_array_size(f.made) / 2, a.fig_dir,
              *a.pdflatex ? ", report.pdf" : "", paper);
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    json_decref(f.made);
    free_inputs(in);
    free(in);
    runs_close(&r);
    return 0;
}
