/* report: the results tables, citable macros and number registry of phase F (SPEC §2, plot row).
 *
 * Owns: reading the finished run outputs under runs_dir (= out/<config>/runs) and writing,
 * atomically (lib/base/atomic.h), under paper_dir:
 *   tables/table_main_results.tex    base best-of-N, search, TTT main, SDFT best-of-N (plain tabular, \hline)
 *   tables/table_main_results.tex has the paired delta vs base best-of-N and its interval per row
 *   tables/table_ablation_summary.tex TTT main vs reuse off, adaptive beta off, KL off, expected (ablation seeds),
 *                                    deltas vs base and vs TTT main with intervals
 *   tables/table_comparisons.tex     paired comparisons: delta, bootstrap interval, wins/ties/losses
 *   tables/table_families.tex        the primary comparison within each task family (secondary)
 *   tables/table_mhc.tex             mHC on vs off: params, final val loss, tokens/s
 *   results_macros.tex               one \newcommand{\LettersOnly}{value} per reported number
 *   results_registry.md              every number with source file, run dir, seed, command, and
 *                                    the runbook's claim-safety guardrails
 * Inputs and macro names: docs/tables.md. A missing run leaves "--" (cells and macros) and is
 * noted in the registry; a malformed file is an error naming it, and nothing is written.
 * Does not own: reading the run files (lib/paper/runs.c, shared with the figures), figures
 * (lib/paper/figures.c), running anything. */
#ifndef DD_REPORT_H
#define DD_REPORT_H
#include "pipeline.h"
#include "util.h"

/* The files report_write writes, relative to paper_dir. */
#define REPORT_NFILES 7
extern const char* const REPORT_FILES[REPORT_NFILES];

/* The runs of pc's names at plan's seeds (the config's pipeline section, lib/run/pipeline),
 * compared as plan declares. 0 on success (missing runs included), -1 with err naming
 * the file otherwise. */
int report_write(const char* runs_dir, const char* paper_dir, const PipelineCfg* pc, const PipelinePlan* plan, char err[ERR_LEN]);

/* A paired comparison as fig_differences draws it (the numbers of table_comparisons.tex). */
typedef struct {
    char   label[160];
    int    primary, present;
    double mean, lo, hi;
} ReportDiff;

/* The paired comparisons of runs_dir, the primary one first; returns how many (<= max),
 * or -1 with err naming a malformed file. */
int report_differences(const char* runs_dir, const PipelineCfg* pc, const PipelinePlan* plan, ReportDiff* out, int max,
                       char err[ERR_LEN]);

/* The registry's claim lines, plain UTF-8: the paired comparisons (the primary one first),
 * then the learning check. Returns how many (<= max), or -1 with err naming a malformed file. */
#define REPORT_CLAIM_LEN 1024
int report_claims(const char* runs_dir, const PipelineCfg* pc, const PipelinePlan* plan, char (*out)[REPORT_CLAIM_LEN], int max,
                  char err[ERR_LEN]);

/* LaTeX-escape text (\ _ & % $ # { } ~ ^) into out (always NUL-terminated). */
void report_tex_escape(const char* in, char* out, size_t cap);

#endif
