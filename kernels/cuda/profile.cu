/* profile.cu: the counting behind profile.h (DD_CUDA_PROFILE).
 *
 * Each wrapped call takes a slot: an event recorded before and after it on the
 * backend's one stream, and the host time spent inside. Slots are resolved in
 * batches (one cudaEventSynchronize per PROF_SLOTS calls, then the elapsed
 * times), so profiling adds two event records per call and few waits. The
 * report, at exit, lists each entry's calls, GPU time and host time per call,
 * largest GPU time first, and how busy the GPU was over the wall time since
 * the last reset: a busy share well under 100% with host time per call near
 * or above GPU time per call means the step is launch-bound. */
#include "cuda/profile.h"

#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "util.h"   /* now_mono */
}

#define PROF_SLOTS 4096
#define PROF_BUCKETS 256

namespace prof {

typedef struct {
    int op, a, b;
    long calls;
    double gpu_ms, host_ms;
} Bucket;

static const char* const* g_names;
static cudaStream_t g_stream;   /* the backend's: the events go on it */
static const char* g_dest;   /* "1": stderr; else a file */
static Bucket g_buckets[PROF_BUCKETS];
static int g_nbuckets;
static cudaEvent_t g_beg[PROF_SLOTS], g_end[PROF_SLOTS];
static int g_slot_bucket[PROF_SLOTS];
static int g_nslots;   /* slots recorded, not yet resolved */
static double g_wall0;

static double now_ms(void) { return 1e3 * now_mono(); }

static void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) {
        fprintf(stderr, "profile.cu: %s: %s\n", what, cudaGetErrorString(e));
        exit(1);
    }
}

static void resolve(void) {
    if (!g_nslots) return;
    check(cudaEventSynchronize(g_end[g_nslots - 1]), "cudaEventSynchronize");
    for (int i = 0; i < g_nslots; i++) {
        float ms = 0;
        check(cudaEventElapsedTime(&ms, g_beg[i], g_end[i]), "cudaEventElapsedTime");
        g_buckets[g_slot_bucket[i]].gpu_ms += ms;
    }
    g_nslots = 0;
}

static int by_gpu_time(const void* x, const void* y) {
    double a = ((const Bucket*)x)->gpu_ms, b = ((const Bucket*)y)->gpu_ms;
    return a < b ? 1 : a > b ? -1 : 0;
}

static void report(void) {
    resolve();
    double wall = now_ms() - g_wall0, gpu = 0;
    for (int i = 0; i < g_nbuckets; i++) gpu += g_buckets[i].gpu_ms;
    FILE* f = strcmp(g_dest, "1") ? fopen(g_dest, "w") : stderr;
    if (!f) {
        fprintf(stderr, "profile.cu: cannot write the profile to %s\n", g_dest);
        return;
    }
    qsort(g_buckets, g_nbuckets, sizeof(Bucket), by_gpu_time);
    fprintf(f, "cuda profile: %.1f ms wall since the last reset, GPU busy %.1f%% (GPU time of the calls / wall)\n", wall,
            wall > 0 ? 100 * gpu / wall : 0.0);
    fprintf(f, "%-32s %8s %10s %6s %12s %12s\n", "entry", "calls", "GPU ms", "GPU %", "GPU us/call", "host us/call");
    for (int i = 0; i < g_nbuckets; i++) {
        const Bucket* k = &g_buckets[i];
        char name[64];
        if (k->a || k->b) snprintf(name, sizeof name, "%s %dx%d", g_names[k->op], k->a, k->b);
        else snprintf(name, sizeof name, "%s", g_names[k->op]);
        fprintf(f, "%-32s %8ld %10.3f %6.1f %12.2f %12.2f\n", name, k->calls, k->gpu_ms, gpu > 0 ? 100 * k->gpu_ms / gpu : 0.0,
                1e3 * k->gpu_ms / k->calls, 1e3 * k->host_ms / k->calls);
    }
    if (f != stderr) fclose(f);
}

int start(const char* const* names, cudaStream_t stream) {
    g_stream = stream;
    const char* d = getenv("DD_CUDA_PROFILE");
    if (!d || !*d || !strcmp(d, "0")) return 0;
    if (g_dest) return 1;   /* already started (a second init) */
    g_names = names;
    g_dest = d;
    for (int i = 0; i < PROF_SLOTS; i++) {
        check(cudaEventCreate(&g_beg[i]), "cudaEventCreate");
        check(cudaEventCreate(&g_end[i]), "cudaEventCreate");
    }
    g_wall0 = now_ms();
    atexit(report);   /* after the CUDA runtime's own exit handler was registered: runs before it */
    return 1;
}

void reset(void) {
    resolve();
    g_nbuckets = 0;
    g_wall0 = now_ms();
}

static int bucket_of(int op, int a, int b) {
    for (int i = 0; i < g_nbuckets; i++)
        if (g_buckets[i].op == op && g_buckets[i].a == a && g_buckets[i].b == b) return i;
    if (g_nbuckets == PROF_BUCKETS) return PROF_BUCKETS - 1;   /* more shapes than buckets: the last one pools them */
    Bucket* k = &g_buckets[g_nbuckets];
    memset(k, 0, sizeof *k);
    k->op = op, k->a = a, k->b = b;
    return g_nbuckets++;
}

Scope::Scope(int op, int a, int b) {
    if (g_nslots == PROF_SLOTS) resolve();
    bucket = bucket_of(op, a, b);
    check(cudaEventRecord(g_beg[g_nslots], g_stream), "cudaEventRecord");
    t0 = now_ms();
}

Scope::~Scope() {
    Bucket* k = &g_buckets[bucket];
    k->host_ms += now_ms() - t0;
    k->calls++;
    check(cudaEventRecord(g_end[g_nslots], g_stream), "cudaEventRecord");
    g_slot_bucket[g_nslots++] = bucket;
}

}  // namespace prof
