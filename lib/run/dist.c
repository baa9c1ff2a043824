/* dist: see dist.h. */
#include "dist.h"
#include <stdlib.h>
#ifdef DD_MPI
#include <mpi.h>

static int g_rank, g_size = 1;
static void finalize(void) {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
}
void dist_init(int* argc, char*** argv) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    atexit(finalize);
}
int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }
void dist_allreduce_sum(float* x, size_t n) {
    /* In chunks: MPI counts are int. */
    for (size_t off = 0; off < n && g_size > 1; off += (size_t)1 << 30) {
        size_t m = n - off < ((size_t)1 << 30) ? n - off : ((size_t)1 << 30);
        MPI_Allreduce(MPI_IN_PLACE, x + off, (int)m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
}
void dist_allreduce_sum_double(double* x, size_t n) {
    if (g_size > 1) MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
int dist_any(int flag) {
    int v = flag != 0;
    if (g_size > 1) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v;
}
#else
void dist_init(int* argc, char*** argv) { (void)argc; (void)argv; }
int  dist_rank(void) { return 0; }
int  dist_size(void) { return 1; }
void dist_allreduce_sum(float* x, size_t n) { (void)x; (void)n; }
void dist_allreduce_sum_double(double* x, size_t n) { (void)x; (void)n; }
int  dist_any(int flag) { return flag != 0; }
#endif
