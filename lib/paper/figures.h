/* figures: the paper's figures of phase F, drawn on a Canvas (lib/paper/plot) from run outputs
 * already read and checked (lib/paper/runs). Which figure shows what: docs/figures.md.
 *
 * Owns: the content and layout of each figure (fig_pipeline 1600 x 480, fig_reward_vs_samples
 * and fig_ablations 1200 x 750, fig_pretrain_loss and fig_sdft 1200 x 950, fig_retention
 * 900 x 700: the canvas sizes they are drawn for) and the statistics over seeds they show.
 * Does not own: reading files (lib/paper/runs), writing PNGs or choosing which figures to make
 * (tools/plot). Each fig_* returns 1 when it drew, 0 when its data are too thin to draw. */
#ifndef DD_FIGURES_H
#define DD_FIGURES_H
#include "plot.h"
#include "runs.h"
#include "report.h"

#define FIG_SEEDS 16   /* seeds a method's figures read (PIPE_MAX_SEEDS) */

/* One method's suite runs over the config's seeds (s[k] = <prefix>_seed<seed k>, with
 * curves); nseeds of them present. */
typedef struct { RunsSuite s[FIG_SEEDS]; int nseeds; } SeedGroup;

void fig_pipeline(Canvas* cv);
/* Best reward vs samples per task (best-of-N: expected best of k; TTT, search: best so
 * far): line = mean over tasks of each task's value averaged over seeds, band = its 95%
 * bootstrap interval over tasks. Needs the curves of base and ttt. */
int  fig_reward(Canvas* cv, const SeedGroup* base, const SeedGroup* search, const SeedGroup* ttt, const SeedGroup* sdft);
/* gs[0..ng): base best-of-N, TTT main, then the ablations; needs the first two. Bars:
 * mean best reward; error bars: 95% bootstrap interval over tasks (seeds averaged per task). */
int  fig_ablations(Canvas* cv, const SeedGroup* gs, int ng);
/* The paired comparisons (lib/paper/report: report_differences), one row each: the mean
 * difference and its 95% interval, zero marked, the primary one first; 0 when none is present. */
int  fig_differences(Canvas* cv, const ReportDiff* d, int n);
/* p[0] mHC on, p[1] off (either may be empty): losses, and their difference when both exist. */
int  fig_pretrain(Canvas* cv, const RunsPretrain* p);
/* An SDFT run's metrics.jsonl lines and its sdft_eval_report.json. */
int  fig_sdft(Canvas* cv, const char* run, const json_t* metrics, const json_t* report);
/* retention_ppl.json (base_ppl, updated_ppl, abs_delta, rel_delta checked by the caller). */
int  fig_retention(Canvas* cv, const json_t* r);

#endif
