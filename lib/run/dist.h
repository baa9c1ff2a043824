/* dist: data parallelism across processes (MPI; `make MPI=1`), and the
 * trivial single-process version otherwise, so callers have no #ifdefs.
 * Owns: init/finalize, rank and size, the gradient all-reduce (sum), a
 * max-reduce of flags (a pause seen by any rank stops every rank at the same
 * step). Does not own: what is reduced (pretrain). */
#ifndef DD_DIST_H
#define DD_DIST_H
#include <stddef.h>

void dist_init(int* argc, char*** argv);   /* registers its own finalize at exit */
int  dist_rank(void);
int  dist_size(void);
void dist_allreduce_sum(float* x, size_t n);
void dist_allreduce_sum_double(double* x, size_t n);
int  dist_any(int flag);                    /* 1 if any rank passes nonzero */

#endif
