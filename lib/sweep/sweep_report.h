/* sweep_report: a sweep's report (SPEC §8; docs/sweeps.md).
 *
 * Owns: the report of a sweep root (trial counts by state, the best trial, parameter
 * importances as one-way ANOVA eta^2, the top-k configs as YAML under root/top/).
 * Does not own: the journal it replays (journal), the objective's meaning (the sweep
 * config). */
#ifndef DD_SWEEP_REPORT_H
#define DD_SWEEP_REPORT_H
#include <stdio.h>
#include "journal.h"
#include "sweep_config.h"

/* Prints the report to f; with top_k > 0 writes root/top/top_<i>.yaml. */
int  sweep_report(const SweepConfig* sc, const char* root, long top_k, FILE* f, char err[ERR_LEN]);
/* One-way ANOVA eta^2 of the objective per param (COMPLETE trials; numeric
 * params in up to 4 rank bins). eta[p] = -1 when undefined. */
void sweep_importance(const SweepConfig* sc, const Study* s, double* eta);

#endif
