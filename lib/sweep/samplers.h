/* samplers: where a sweep's next trial goes (SPEC §8; docs/sweeps.md).
 *
 * Owns: the grid, random and TPE samplers (Optuna 3.1 TPESampler defaults, independent
 * per parameter), each a pure function of the config, the seed, the trial number and the
 * trials so far; the next proposal.
 * Does not own: the trials themselves (journal), claims (sweep). */
#ifndef DD_SAMPLERS_H
#define DD_SAMPLERS_H
#include "journal.h"
#include "sweep_config.h"

long sweep_grid_size(const SweepConfig* sc);        /* product of the grid axes; -1 if not a grid */
void sweep_grid_point(const SweepConfig* sc, long idx, double* internal);
/* Random: a trial's draw depends only on (seed, number). */
void sweep_random_point(const SweepConfig* sc, long number, double* internal);
/* TPE, Optuna 3.1 TPESampler defaults, independent per param (docs/sweeps.md):
 * random (sweep_random_point) until 10 COMPLETE trials, then per param 24
 * candidates from the "below" Parzen estimator, keeping the best
 * log l(x) - log g(x). Depends only on (seed, number, the study's trials). */
void sweep_tpe_point(const SweepConfig* sc, const Study* s, long number, double* internal);
/* The next proposal given the trials so far: 0 and internal filled, or -1 when
 * the sampler has nothing left (grid exhausted). */
int  sweep_propose(const SweepConfig* sc, const Study* s, double* internal);

#endif
