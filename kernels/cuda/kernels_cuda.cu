/* kernels_cuda: the CUDA backend of kernels.h (built by `make CUDA=1`).
 *
 * Owns: a GPU implementation of every function in kernels.h, with the same
 * semantics as kernels/cpu/kernels_cpu.c (same outputs written, same "+="
 * rules, same handling of targets < 0, zeros above the attention diagonal,
 * eps values, GELU tanh approximation, AdamW formula, Sinkhorn `saved`
 * layout), plus the memory operations of the KernelOps table, and
 * kernels_cuda_init() which hands that table out. Does not own: any model
 * layout or policy (lib/), nor which backend is chosen (kernels_get).
 *
 * Every pointer passed in is device memory. One stream (g_stream), so calls
 * are ordered exactly as the host issues them; download is synchronous, and
 * so is upload as far as the caller can tell (its source may be reused at once;
 * small uploads are queued, not waited for: cu_upload). The table's graph_* entries record calls on that stream into a
 * CUDA graph and replay it (DD_CUDA_GRAPHS=off: none). Every CUDA / cuBLAS call is checked: on error the
 * process prints "kernels_cuda.cu:LINE: <call>: <error>" and exits 1.
 *
 * Matrix products: matmul_* go to cuBLASLt (row-major llm.c convention, computed
 * as the transposed column-major product), attention's batched products to
 * cublasGemmStridedBatchedEx. Storage is always fp32. Precision "fp32" uses
 * CUBLAS_COMPUTE_32F (true fp32 multiply, for parity with the CPU backend);
 * "bf16" uses CUBLAS_COMPUTE_32F_FAST_16BF (inputs rounded to bf16 inside the
 * tensor cores, fp32 accumulation), and runs causal attention fused on the
 * tensor cores (WMMA bf16 tiles, fp32 softmax: flash_*). The MLP's GELU rides
 * in cuBLASLt epilogues where cuBLASLt offers them (lt_matmul). Everything else
 * is fp32 CUDA C; exp, tanh, sqrt and divisions are the accurate (non
 * fast-math) versions. DD_CUDA_PROFILE times every entry (profile.h).
 *
 * Determinism: the same inputs give bitwise the same outputs, run to run.
 * There is no floating-point atomicAdd anywhere. Reductions over rows (dbias,
 * the norms' dweight/dbias, mHC's dbias/dalpha, sumsq) are split into row
 * chunks whose layout depends only on the shapes, each chunk summed in row
 * order into a scratch buffer, then the chunks summed in order by a second
 * kernel. Row-wise reductions (softmax, norms, dot products) use fixed warp /
 * block trees. encoder_backward sorts the positions by token on the device
 * (stable, by counting, so in (b, t) order) and adds each token's rows in that
 * order, exactly as the CPU does. cuBLAS(Lt) is deterministic for a fixed GPU model,
 * library version, shape and pointer alignment (the algorithm is picked by
 * the heuristic from those alone).
 *
 * Results are not bitwise equal to the CPU backend (different summation
 * orders, FMA contraction, exact expf/tanhf where the CPU uses polynomials);
 * they agree to fp32 rounding in fp32 mode. */
#include "kernels.h"
#include "sinkhorn_impl.h"
#include "cuda/profile.h"

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace wmma = nvcuda::wmma;

/* ------------------------------------------------------------------------ */
/* error checking */

/* While a graph is captured (graph_begin ... graph_end) nothing runs, so a
 * failing call there is not fatal: the first failure is kept, graph_end reports
 * it once and answers NULL, and the caller runs the calls directly (where a
 * real error then stops the program as usual). */
static int g_capturing = 0;
static char g_capture_error[256];
static int capture_failed(const char* call, const char* error, int line) {
    if (!g_capturing) return 0;
    if (!g_capture_error[0])
        snprintf(g_capture_error, sizeof g_capture_error, "kernels_cuda.cu:%d: %s: %s", line, call, error);
    return 1;
}
static void cuda_check(cudaError_t e, const char* call, int line) {
    if (e != cudaSuccess) {
        if (capture_failed(call, cudaGetErrorString(e), line)) return;
        fprintf(stderr, "kernels_cuda.cu:%d: %s: %s\n", line, call, cudaGetErrorString(e));
        exit(1);
    }
}
static void cublas_check(cublasStatus_t s, const char* call, int line) {
    if (s != CUBLAS_STATUS_SUCCESS) {
        if (capture_failed(call, cublasGetStatusString(s), line)) return;
        fprintf(stderr, "kernels_cuda.cu:%d: %s: %s\n", line, call, cublasGetStatusString(s));
        exit(1);
    }
}
static void fail(int line, const char* what) {
    fprintf(stderr, "kernels_cuda.cu:%d: %s\n", line, what);
    exit(1);
}
#define CUDA_CHECK(call) cuda_check((call), #call, __LINE__)
#define CUBLAS_CHECK(call) cublas_check((call), #call, __LINE__)
/* After every kernel launch: catches bad launch configurations at once. */
#define LAUNCH_CHECK() cuda_check(cudaGetLastError(), "kernel launch", __LINE__)

/* ------------------------------------------------------------------------ */
/* backend state */

static int g_bf16 = 0;                        /* 1: CUBLAS_COMPUTE_32F_FAST_16BF */
static cublasLtHandle_t g_lt = NULL;
static cublasHandle_t g_cublas = NULL;
static void* g_lt_ws = NULL;                  /* cuBLASLt workspace (cuBLAS's too) */
static const size_t LT_WS_BYTES = 32u << 20;  /* 32 MiB */
/* The backend's one stream: every kernel, product and device-side copy goes
 * here, in the order the host issues them (a stream of its own, so that it can
 * be captured into a CUDA graph; the legacy default stream cannot be). */
static cudaStream_t g_stream = NULL;

static cublasComputeType_t compute_type(void) {
    return g_bf16 ? CUBLAS_COMPUTE_32F_FAST_16BF : CUBLAS_COMPUTE_32F;
}

/* Backend-internal scratch, grown on demand and kept. Growing waits for the
 * device first so no queued kernel still reads the old buffer, and counts a new
 * generation: a CUDA graph captured before holds the old address and must not
 * be replayed (cu_graph_launch refuses it). */
typedef struct { void* p; size_t bytes; } Scratch;
static Scratch g_att_scratch;   /* attention: permuted q, k, v, ... */
static Scratch g_red_scratch;   /* partial sums of the row reductions */
static Scratch g_int_scratch;   /* encoder_backward's positions sorted by token */
static unsigned long g_scratch_gen = 0;

static void* scratch_get(Scratch* s, size_t bytes) {
    /* not while capturing: the capture fails instead (nothing recorded runs) */
    if (bytes > s->bytes && capture_failed("scratch_get", "a scratch buffer would grow during the capture", __LINE__))
        return s->p;
    if (bytes > s->bytes) {
        CUDA_CHECK(cudaDeviceSynchronize());
        CUDA_CHECK(cudaFree(s->p));
        s->p = NULL;
        CUDA_CHECK(cudaMalloc(&s->p, bytes));
        s->bytes = bytes;
        g_scratch_gen++;
    }
    return s->p;
}

/* ------------------------------------------------------------------------ */
/* launch helpers */

#define BLOCK 256
/* Elementwise kernels use grid-stride loops; the grid is capped so that the
 * index arithmetic stays in range for any N (results do not depend on it). */
static unsigned blocks_for(long n, int block) {
    long b = (n + block - 1) / block;
    if (b < 1) b = 1;
    if (b > (1L << 20)) b = 1L << 20;
    return (unsigned)b;
}
/* One warp per row: blocks of BLOCK threads for `rows` rows (long: no int overflow). */
static unsigned warp_row_blocks(long rows) { return (unsigned)((rows * 32 + BLOCK - 1) / BLOCK); }
#define GRID_STRIDE(i, n) \
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (long)(n); i += (long)gridDim.x * blockDim.x)

/* Row chunks for the deterministic column reductions: at most 128 chunks of
 * at least 32 rows; the layout depends only on `rows`. */
#define MAX_CHUNKS 128
static int row_chunks(int rows, int* rows_per_chunk) {
    if (rows <= 0) { *rows_per_chunk = 1; return 0; }
    int nchunks = (rows + 31) / 32;
    if (nchunks > MAX_CHUNKS) nchunks = MAX_CHUNKS;
    int rpc = (rows + nchunks - 1) / nchunks;
    *rows_per_chunk = rpc;
    return (rows + rpc - 1) / rpc;
}

/* ------------------------------------------------------------------------ */
/* warp / block reductions (fixed trees: deterministic) */

template <typename T> __device__ __forceinline__ T warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
/* Whole-block sum / max, returned to every thread. blockDim.x must be a
 * multiple of 32. Safe to call repeatedly (the leading barrier protects the
 * shared slots from the previous call's readers). */
template <typename T> __device__ T block_sum(T v) {
    __shared__ T sh[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : (T)0;
    return warp_sum(v);
}
__device__ float block_max(float v) {
    __shared__ float sh[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : -INFINITY;
    return warp_max(v);
}

/* ------------------------------------------------------------------------ */
/* deterministic column sums: out[c] += sum_r src[r, c] */

/* partial[chunk, c] = sum over the chunk's rows (in order) of src[r, c] */
__global__ void colsum_partial_kernel(float* partial, const float* src, int rows, int cols, int rpc) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    int r0 = blockIdx.y * rpc, r1 = min(r0 + rpc, rows);
    float acc = 0.0f;
    for (int r = r0; r < r1; r++) acc += src[(size_t)r * cols + c];
    partial[(size_t)blockIdx.y * cols + c] = acc;
}

/* out[c] += sum over chunks (in order) of partial[chunk, c] */
__global__ void colsum_finalize_kernel(float* out, const float* partial, int nchunks, int cols) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float acc = 0.0f;
    for (int k = 0; k < nchunks; k++) acc += partial[(size_t)k * cols + c];
    out[c] += acc;
}

/* Up to COLSUM_ONE_PASS rows, one launch: a block per 32 columns, warp w adds
 * rows w, w + 8, ... in order (a lane per column), then the 8 warps' sums are
 * added in warp order. Cheaper than two launches where the rows are few (the
 * paper's micro-batch); more rows want the chunked kernels' parallelism. */
#define COLSUM_ONE_PASS 4096
__global__ void colsum_one_pass_kernel(float* out, const float* src, int rows, int cols) {
    __shared__ float sh[8][32];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, c = blockIdx.x * 32 + lane;
    float acc = 0.0f;
    if (c < cols)
        for (int r = warp; r < rows; r += 8) acc += src[(size_t)r * cols + c];
    sh[warp][lane] = acc;
    __syncthreads();
    if (warp == 0 && c < cols) {
        float s = 0.0f;
        for (int w = 0; w < 8; w++) s += sh[w][lane];
        out[c] += s;
    }
}

static void column_sum_accumulate(float* out, const float* src, int rows, int cols) {
    if (rows <= 0 || cols <= 0) return;
    if (rows <= COLSUM_ONE_PASS) {
        colsum_one_pass_kernel<<<(cols + 31) / 32, 256, 0, g_stream>>>(out, src, rows, cols);
        LAUNCH_CHECK();
        return;
    }
    int rpc, nchunks = row_chunks(rows, &rpc);
    float* partial = (float*)scratch_get(&g_red_scratch, (size_t)nchunks * cols * sizeof(float));
    dim3 grid((cols + BLOCK - 1) / BLOCK, nchunks);
    colsum_partial_kernel<<<grid, BLOCK, 0, g_stream>>>(partial, src, rows, cols, rpc);
    LAUNCH_CHECK();
    colsum_finalize_kernel<<<(cols + BLOCK - 1) / BLOCK, BLOCK, 0, g_stream>>>(out, partial, nchunks, cols);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* memory */

static void* cu_alloc(size_t bytes) {
    void* p = NULL;
    if (bytes == 0) bytes = 1;   /* a valid, distinct pointer even for 0 bytes */
    CUDA_CHECK(cudaMalloc(&p, bytes));
    CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, g_stream));
    return p;
}
static void cu_release(void* p) {
    if (p) CUDA_CHECK(cudaFree(p));
}
/* Host transfers queued behind the stream's work and done when they return
 * (downloads always; uploads above STAGE_BYTES, below). */
static void host_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
    if (!bytes) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, g_stream));
    CUDA_CHECK(cudaStreamSynchronize(g_stream));
}
/* Small uploads (tokens, positions, targets, per-row weights and uniforms:
 * what every step sends) do not wait for the stream: the bytes are copied into
 * one of a few pinned staging buffers and the copy is queued behind the
 * stream's work, so the kernels after it see them and the host goes on at once.
 * A staging buffer is reused only after its last copy has finished (its event).
 * Larger uploads (weights, states) go the synchronous way. */
#define STAGE_SLOTS 4
#define STAGE_BYTES ((size_t)1 << 20)
typedef struct {
    void* host;          /* pinned, STAGE_BYTES */
    cudaEvent_t done;    /* recorded after the copy out of it */
    int pending;
} Stage;
static Stage g_stage[STAGE_SLOTS];
static int g_stage_next = 0;
static void cu_upload(void* dst, const void* host_src, size_t bytes) {
    if (!bytes) return;
    if (bytes > STAGE_BYTES) { host_copy(dst, host_src, bytes, cudaMemcpyHostToDevice); return; }
    Stage* st = &g_stage[g_stage_next];
    g_stage_next = (g_stage_next + 1) % STAGE_SLOTS;
    if (!st->host) {
        CUDA_CHECK(cudaMallocHost(&st->host, STAGE_BYTES));
        CUDA_CHECK(cudaEventCreateWithFlags(&st->done, cudaEventDisableTiming));
    }
    if (st->pending) CUDA_CHECK(cudaEventSynchronize(st->done));
    memcpy(st->host, host_src, bytes);
    CUDA_CHECK(cudaMemcpyAsync(dst, st->host, bytes, cudaMemcpyHostToDevice, g_stream));
    CUDA_CHECK(cudaEventRecord(st->done, g_stream));
    st->pending = 1;
}
static void cu_download(void* host_dst, const void* src, size_t bytes) {
    host_copy(host_dst, src, bytes, cudaMemcpyDeviceToHost);
}
/* As the CPU's memmove: dst == src is a no-op, overlapping ranges are allowed
 * (cudaMemcpy's result is undefined for them, so they go through a scratch). */
static Scratch g_copy_scratch;
static void cu_copy(void* dst, const void* src, size_t bytes) {
    if (!bytes || dst == src) return;
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    if (d < s + bytes && s < d + bytes) {
        void* tmp = scratch_get(&g_copy_scratch, bytes);
        CUDA_CHECK(cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, g_stream));
        CUDA_CHECK(cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, g_stream));
        return;
    }
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, g_stream));
}
static void cu_zero(void* dst, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, g_stream));
}
static void cu_synchronize(void) { CUDA_CHECK(cudaDeviceSynchronize()); }

/* ------------------------------------------------------------------------ */
/* encoder */

__global__ void encoder_forward_kernel(float* out, const int* tokens, const float* wte, const float* wpe,
                                       int BT, int T, int C) {
    GRID_STRIDE(idx, (long)BT * C) {
        long bt = idx / C;
        int c = (int)(idx % C), t = (int)(bt % T);
        out[idx] = wte[(size_t)tokens[bt] * C + c] + wpe[(size_t)t * C + c];
    }
}

static void cu_encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe,
                               int B, int T, int C) {
    long n = (long)B * T * C;
    if (n <= 0) return;
    encoder_forward_kernel<<<blocks_for(n, BLOCK), BLOCK, 0, g_stream>>>(out, tokens, wte, wpe, B * T, T, C);
    LAUNCH_CHECK();
}

/* dwpe[t, c] += dout[b, t, c] for b = 0, 1, ... in order (as the CPU). */
__global__ void encoder_backward_wpe_kernel(float* dwpe, const float* dout, int B, int T, int C) {
    GRID_STRIDE(idx, (long)T * C) {
        float acc = dwpe[idx];
        for (int b = 0; b < B; b++) acc += dout[(size_t)b * T * C + idx];
        dwpe[idx] = acc;
    }
}

/* Positions grouped by token on the device, stable: position i goes to
 * #{j : tok[j] < tok[i]} + #{j < i : tok[j] == tok[i]}, so each token's positions
 * stay in (b, t) order. O(BT^2) comparisons from shared-memory tiles, no
 * atomics, no vocabulary size needed (BT = 16384 is 2.7e8 comparisons). */
#define SORT_BLOCK 128
__global__ void __launch_bounds__(SORT_BLOCK) token_sort_kernel(int* pos_sorted, const int* tok, int BT) {
    __shared__ int tile[SORT_BLOCK];
    int i = blockIdx.x * SORT_BLOCK + threadIdx.x;
    int ti = i < BT ? tok[i] : 0;
    int dest = 0;
    for (int j0 = 0; j0 < BT; j0 += SORT_BLOCK) {
        int j = j0 + threadIdx.x;
        tile[threadIdx.x] = j < BT ? tok[j] : 0;
        __syncthreads();
        int n = min(SORT_BLOCK, BT - j0);
        for (int q = 0; q < n; q++) {
            int tj = tile[q];
            dest += tj < ti || (tj == ti && j0 + q < i);
        }
        __syncthreads();
    }
    if (i < BT) pos_sorted[dest] = i;
}

/* A block row per sorted slot j; the slot that starts a token's run adds the
 * run's rows into dwte[tok, c] in order (the CPU's exact sequence of
 * additions); the other slots' blocks return at once. */
__global__ void encoder_backward_wte_kernel(float* dwte, const float* dout, const int* pos_sorted, const int* tok,
                                            int BT, int C) {
    int j = blockIdx.x;
    int c = blockIdx.y * blockDim.x + threadIdx.x;
    int t = tok[pos_sorted[j]];
    if (c >= C || t < 0 || (j > 0 && tok[pos_sorted[j - 1]] == t)) return;
    float* dw = dwte + (size_t)t * C + c;
    float acc = *dw;
    for (int k = j; k < BT && tok[pos_sorted[k]] == t; k++) acc += dout[(size_t)pos_sorted[k] * C + c];
    *dw = acc;
}

static void cu_encoder_backward(float* dwte, float* dwpe, const float* dout, const int* tokens,
                                int B, int T, int C) {
    int BT = B * T;
    if (BT <= 0 || C <= 0) return;
    if (dwpe) {
        encoder_backward_wpe_kernel<<<blocks_for((long)T * C, BLOCK), BLOCK, 0, g_stream>>>(dwpe, dout, B, T, C);
        LAUNCH_CHECK();
    }
    int* pos_sorted = (int*)scratch_get(&g_int_scratch, (size_t)BT * sizeof(int));
    token_sort_kernel<<<(BT + SORT_BLOCK - 1) / SORT_BLOCK, SORT_BLOCK, 0, g_stream>>>(pos_sorted, tokens, BT);
    LAUNCH_CHECK();
    dim3 grid(BT, (C + BLOCK - 1) / BLOCK);
    encoder_backward_wte_kernel<<<grid, BLOCK, 0, g_stream>>>(dwte, dout, pos_sorted, tokens, BT, C);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* matmul (cuBLASLt) */

/* A cuBLASLt product in column-major terms:
 *   D (m x n, ld m) = op(A) op(B) + beta D  [+ bias (m) broadcast over columns]
 *   [then, LT_GELU: aux = D, D = GELU(D); LT_DGELU: D = D * GELU'(aux); aux (m x n, ld m)]
 * with A stored (ta ? k x m : m x k) and B stored (tb ? n x k : k x n),
 * column-major with the leading dimension = stored rows. The descriptors and
 * the heuristic's first algorithm are cached per (shape, transposes,
 * epilogue, pointer alignments, precision). */
enum { LT_PLAIN = 0, LT_GELU = 1, LT_DGELU = 2 };   /* the GELU epilogues */
static int g_gelu_epilogue = 1;   /* DD_CUDA_GELU_EPILOGUE=off: always the separate GELU kernels */
typedef struct {
    int m, n, k, ta, tb, epi, gelu, bf16;
    uint32_t al_a, al_b, al_d;
    int ok;   /* 0: no algorithm for this bias / GELU epilogue (cached refusal) */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatmulAlgo_t algo;
} LtPlan;
#define LT_PLANS 128
static LtPlan g_plans[LT_PLANS];
static int g_nplans = 0, g_plan_next = 0;

/* Largest power of two (<= 256) dividing the address: what the heuristic may assume. */
static uint32_t ptr_alignment(const void* p) {
    uintptr_t a = (uintptr_t)p;
    uint32_t al = 256;
    while (al > 4 && (a % al) != 0) al >>= 1;
    return al;
}

static void plan_destroy(LtPlan* p) {
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(p->la));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(p->lb));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(p->ld));
    CUBLAS_CHECK(cublasLtMatmulDescDestroy(p->desc));
}

static LtPlan* plan_get(int m, int n, int k, int ta, int tb, int epi, int gelu, uint32_t al_a, uint32_t al_b,
                        uint32_t al_d) {
    for (int i = 0; i < g_nplans; i++) {
        LtPlan* p = &g_plans[i];
        if (p->m == m && p->n == n && p->k == k && p->ta == ta && p->tb == tb && p->epi == epi && p->gelu == gelu &&
            p->bf16 == g_bf16 && p->al_a == al_a && p->al_b == al_b && p->al_d == al_d)
            return p;
    }
    LtPlan* p;
    if (g_nplans < LT_PLANS) p = &g_plans[g_nplans++];
    else { p = &g_plans[g_plan_next]; g_plan_next = (g_plan_next + 1) % LT_PLANS; plan_destroy(p); }
    memset(p, 0, sizeof *p);
    p->m = m; p->n = n; p->k = k; p->ta = ta; p->tb = tb; p->epi = epi; p->gelu = gelu; p->bf16 = g_bf16;
    p->al_a = al_a; p->al_b = al_b; p->al_d = al_d;

    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->la, CUDA_R_32F, ta ? k : m, ta ? m : k, ta ? k : m));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->lb, CUDA_R_32F, tb ? n : k, tb ? k : n, tb ? n : k));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->ld, CUDA_R_32F, m, n, m));

    cublasLtMatmulPreference_t pref;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    size_t ws = LT_WS_BYTES;
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof al_a));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof al_b));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_d, sizeof al_d));
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_d, sizeof al_d));

    /* The precision's compute type first; in bf16 mode, should no bf16 algorithm
     * take these alignments, true fp32 (slower, never wrong) before giving up.
     * The choice depends only on the key, so it is as deterministic as the rest. */
    cublasComputeType_t cts[2] = {compute_type(), CUBLAS_COMPUTE_32F};
    int ncts = g_bf16 ? 2 : 1;
    cublasLtMatmulHeuristicResult_t result;
    int returned = 0;
    cublasStatus_t st = CUBLAS_STATUS_NOT_SUPPORTED;
    for (int c = 0; c < ncts; c++) {
        if (c > 0) CUBLAS_CHECK(cublasLtMatmulDescDestroy(p->desc));
        CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->desc, cts[c], CUDA_R_32F));
        cublasOperation_t opa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, opb = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb));
        cublasLtEpilogue_t epilogue = gelu == LT_GELU    ? (epi ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX)
                                      : gelu == LT_DGELU ? CUBLASLT_EPILOGUE_DGELU
                                      : epi              ? CUBLASLT_EPILOGUE_BIAS
                                                         : CUBLASLT_EPILOGUE_DEFAULT;
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue));
        if (gelu) {   /* aux has D's shape and leading dimension */
            int64_t aux_ld = m;
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &aux_ld,
                                                        sizeof aux_ld));
        }
        if (epi) {
            int32_t bias_type = CUDA_R_32F;
            CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type,
                                                        sizeof bias_type));
        }
        returned = 0;
        st = cublasLtMatmulAlgoGetHeuristic(g_lt, p->desc, p->la, p->lb, p->ld, p->ld, pref, 1, &result, &returned);
        if (st == CUBLAS_STATUS_SUCCESS && returned > 0) break;
    }
    CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
    if (st != CUBLAS_STATUS_SUCCESS || returned == 0) {
        if (epi || gelu) return p;   /* p->ok = 0 (desc and layouts exist): the caller does the epilogue itself */
        char msg[200];
        snprintf(msg, sizeof msg, "cublasLtMatmulAlgoGetHeuristic: no algorithm for m=%d n=%d k=%d ta=%d tb=%d (%s)", m,
                 n, k, ta, tb, cublasGetStatusString(st));
        fail(__LINE__, msg);
    }
    p->algo = result.algo;
    p->ok = 1;
    return p;
}

__global__ void add_bias_kernel(float* out, const float* bias, int rows, int cols) {
    GRID_STRIDE(idx, (long)rows * cols) out[idx] += bias[idx % cols];
}

__global__ void gelu_forward_kernel(float* out, const float* inp, int N);
__global__ void gelu_backward_kernel(float* dinp, const float* inp, const float* dout, int N);

/* The product above; `gelu` (LT_GELU, LT_DGELU) adds that epilogue with aux.
 * Where cuBLASLt has no algorithm for an epilogue (or the vector is not
 * 16-byte aligned) the plain product runs and a kernel does the rest, with
 * the same result: the bias added, or for LT_GELU the product written to aux
 * and D = GELU(aux), for LT_DGELU D *= GELU'(aux). */
static void lt_matmul(float* D, const float* A, const float* Bm, const float* bias, const float* aux, int gelu, int m,
                      int n, int k, int ta, int tb, float beta) {
    if (m <= 0 || n <= 0) return;
    int epi = bias != NULL && ptr_alignment(bias) >= 16;
    int want = gelu;
    /* the bias must go in before the GELU: both in the epilogue, or neither */
    if (gelu && (!g_gelu_epilogue || ptr_alignment(aux) < 16 || (bias && !epi))) gelu = LT_PLAIN;
    /* LT_GELU without its epilogue: the product goes to aux, GELU(aux) to D below */
    float* out = want == LT_GELU ? (float*)aux : D;
    if (k <= 0) {   /* empty product: D = beta D (+ bias) */
        gelu = LT_PLAIN;
        if (beta == 0.0f) CUDA_CHECK(cudaMemsetAsync(out, 0, (size_t)m * n * sizeof(float), g_stream));
    } else {
        /* The epilogues asked for; where cuBLASLt refuses them (no algorithm from the
         * heuristic, or the call itself says not supported), without the GELU, then
         * without the bias. A refusal is remembered in the plan. */
        uint32_t al_a = ptr_alignment(A), al_b = ptr_alignment(Bm);
        const float alpha = 1.0f;
        for (;;) {
            float* dst = gelu ? D : out;
            LtPlan* p = plan_get(m, n, k, ta, tb, epi, gelu, al_a, al_b, ptr_alignment(dst));
            if (p->ok) {
                if (epi)
                    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                                sizeof bias));
                if (gelu)
                    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux,
                                                                sizeof aux));
                cublasStatus_t st = cublasLtMatmul(g_lt, p->desc, &alpha, A, p->la, Bm, p->lb, &beta, dst, p->ld, dst,
                                                   p->ld, &p->algo, g_lt_ws, LT_WS_BYTES, g_stream);
                if (st == CUBLAS_STATUS_SUCCESS) { out = dst; break; }
                /* in a capture: the capture is lost, not the plan (the pass runs again directly) */
                if (capture_failed("cublasLtMatmul", cublasGetStatusString(st), __LINE__)) { out = dst; break; }
                if (!epi && !gelu) cublas_check(st, "cublasLtMatmul", __LINE__);   /* the plain product: fatal */
                p->ok = 0;
            }
            if (gelu) gelu = LT_PLAIN;
            else epi = 0;
        }
    }
    long N = (long)m * n;
    if (bias && !epi) {
        /* out is (n rows of m) in row-major terms: the bias runs along m. */
        add_bias_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(out, bias, n, m);
        LAUNCH_CHECK();
    }
    if (want == LT_GELU && !gelu) {
        gelu_forward_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(D, aux, (int)N);
        LAUNCH_CHECK();
    } else if (want == LT_DGELU && !gelu) {
        gelu_backward_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(D, aux, D, (int)N);
        LAUNCH_CHECK();
    }
}

static void cu_matmul_forward(float* out, const float* inp, const float* weight, const float* bias,
                              int BT, int C, int OC) {
    /* out^T (OC x BT) = weight (C x OC stored)^T @ inp^T (C x BT stored) */
    lt_matmul(out, weight, inp, bias, NULL, LT_PLAIN, OC, BT, C, 1, 0, 0.0f);
}

/* out (BT, OC) = inp @ weight_t, weight_t (C, OC): out^T (OC x BT) = weight_t (OC x C column-major) @ inp^T */
static void cu_matmul_forward_t(float* out, const float* inp, const float* weight_t, const float* bias,
                                int BT, int C, int OC) {
    lt_matmul(out, weight_t, inp, bias, NULL, LT_PLAIN, OC, BT, C, 0, 0, 0.0f);
}

/* dst (cols, rows) = src (rows, cols)^T: 32 x 32 tiles through shared memory, both sides coalesced */
__global__ void transpose_kernel(float* dst, const float* src, int rows, int cols) {
    __shared__ float tile[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    for (int i = threadIdx.y; i < 32; i += blockDim.y) {
        int r = blockIdx.y * 32 + i;
        if (r < rows && c < cols) tile[i][threadIdx.x] = src[(size_t)r * cols + c];
    }
    __syncthreads();
    int r = blockIdx.y * 32 + threadIdx.x;
    for (int i = threadIdx.y; i < 32; i += blockDim.y) {
        int cc = blockIdx.x * 32 + i;
        if (cc < cols && r < rows) dst[(size_t)cc * rows + r] = tile[threadIdx.x][i];
    }
}

static void cu_transpose(float* dst, const float* src, int rows, int cols) {
    if (rows <= 0 || cols <= 0) return;
    dim3 grid((cols + 31) / 32, (rows + 31) / 32), block(32, 8);
    transpose_kernel<<<grid, block, 0, g_stream>>>(dst, src, rows, cols);
    LAUNCH_CHECK();
}

static void cu_matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                               const float* weight, int BT, int C, int OC, int dinp_acc) {
    /* dinp (BT,C) (+)= dout @ weight:  dinp^T (C x BT) = weight^T-stored (C x OC) @ dout^T (OC x BT);
     * overwriting (beta 0), the product never reads dinp */
    if (dinp) lt_matmul(dinp, weight, dout, NULL, NULL, LT_PLAIN, C, BT, OC, 0, 0, dinp_acc ? 1.0f : 0.0f);
    /* dweight (OC,C) += dout^T @ inp:  dweight^T (C x OC) = inp^T (C x BT) @ (dout^T (OC x BT))^T */
    if (dweight) lt_matmul(dweight, inp, dout, NULL, NULL, LT_PLAIN, C, OC, BT, 0, 1, 1.0f);
    if (dbias) column_sum_accumulate(dbias, dout, BT, OC);
}

/* pre = the product (+ bias), out = GELU(pre): one product with the GELU_AUX(_BIAS) epilogue. */
static void cu_matmul_gelu_forward(float* out, float* pre, const float* inp, const float* weight, const float* bias,
                                   int BT, int C, int OC) {
    lt_matmul(out, weight, inp, bias, pre, LT_GELU, OC, BT, C, 1, 0, 0.0f);
}

/* dpre = (dout @ weight) * GELU'(pre): one product with the DGELU epilogue; then the weight and bias gradients. */
static void cu_matmul_backward_gelu(float* dpre, float* dweight, float* dbias, const float* dout, const float* inp,
                                    const float* weight, const float* pre, int BT, int C, int OC) {
    lt_matmul(dpre, weight, dout, NULL, pre, LT_DGELU, C, BT, OC, 0, 0, 0.0f);
    if (dweight) lt_matmul(dweight, inp, dout, NULL, NULL, LT_PLAIN, C, OC, BT, 0, 1, 1.0f);
    if (dbias) column_sum_accumulate(dbias, dout, BT, OC);
}

/* ------------------------------------------------------------------------ */
/* layernorm (one warp per row) */

__global__ void layernorm_forward_kernel(float* out, float* mean, float* rstd, const float* inp,
                                         const float* weight, const float* bias, int BT, int C) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (row >= BT) return;
    const float* x = inp + (size_t)row * C;
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += x[c];
    float m = warp_sum(s) / C;
    float v = 0.0f;
    for (int c = lane; c < C; c += 32) { float d = x[c] - m; v += d * d; }
    v = warp_sum(v) / C;
    float r = 1.0f / sqrtf(v + 1e-5f);
    float* o = out + (size_t)row * C;
    for (int c = lane; c < C; c += 32) o[c] = (x[c] - m) * r * weight[c] + bias[c];
    if (lane == 0) { mean[row] = m; rstd[row] = r; }
}

static void cu_layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                 const float* bias, int BT, int C) {
    if (BT <= 0) return;
    layernorm_forward_kernel<<<warp_row_blocks(BT), BLOCK, 0, g_stream>>>(out, mean, rstd, inp, weight, bias, BT, C);
    LAUNCH_CHECK();
}

/* The whole backward in one pass over dout and inp: a block of LN_WARPS warps
 * takes LN_ROWS consecutive rows, a warp per row at a time (dinp exactly as a
 * lone row kernel computes it), and each lane keeps the dweight / dbias
 * contributions of its columns c = lane + 32 k in registers, its rows in order.
 * The warps' sums are then added in warp order into the block's partial row
 * (pw, pb), which a second kernel sums over blocks in order: deterministic. */
#define LN_WARPS 8
#define LN_ROWS 32
template <int K>   /* columns per lane: C <= 32 K */
__global__ void __launch_bounds__(32 * LN_WARPS)
    layernorm_backward_kernel(float* dinp, float* pw, float* pb, const float* dout, const float* inp,
                              const float* weight, const float* mean, const float* rstd, int BT, int C) {
    __shared__ float sw[32 * K], sb[32 * K];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int r0 = blockIdx.x * LN_ROWS, r1 = min(r0 + LN_ROWS, BT);
    float aw[K], ab[K];
    for (int k = 0; k < K; k++) aw[k] = ab[k] = 0.0f;
    for (int row = r0 + warp; row < r1; row += LN_WARPS) {
        const float* x = inp + (size_t)row * C;
        const float* d = dout + (size_t)row * C;
        float m = mean[row], s = rstd[row];
        float dm = 0.0f, dnm = 0.0f;
        for (int k = 0; k < K; k++) {
            int c = lane + 32 * k;
            if (c >= C) break;
            float norm = (x[c] - m) * s;
            float dnorm = weight[c] * d[c];
            dm += dnorm;
            dnm += dnorm * norm;
            aw[k] += norm * d[c];
            ab[k] += d[c];
        }
        dm = warp_sum(dm) / C;
        dnm = warp_sum(dnm) / C;
        float* di = dinp + (size_t)row * C;
        for (int k = 0; k < K; k++) {
            int c = lane + 32 * k;
            if (c >= C) break;
            float norm = (x[c] - m) * s;
            float dnorm = weight[c] * d[c];
            di[c] += (dnorm - dm - norm * dnm) * s;
        }
    }
    for (int w = 0; w < LN_WARPS; w++) {   /* the warps' sums, in warp order */
        if (warp == w)
            for (int k = 0; k < K; k++) {
                int c = lane + 32 * k;
                sw[c] = w ? sw[c] + aw[k] : aw[k];
                sb[c] = w ? sb[c] + ab[k] : ab[k];
            }
        __syncthreads();
    }
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        pw[(size_t)blockIdx.x * C + c] = sw[c];
        pb[(size_t)blockIdx.x * C + c] = sb[c];
    }
}

/* dweight[c] += sum over blocks (in order) of pw[block, c]; dbias likewise from pb. */
__global__ void layernorm_param_finalize_kernel(float* dweight, float* dbias, const float* pw, const float* pb,
                                                int nblocks, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float aw = 0.0f, ab = 0.0f;
    for (int k = 0; k < nblocks; k++) {
        aw += pw[(size_t)k * C + c];
        ab += pb[(size_t)k * C + c];
    }
    dweight[c] += aw;
    dbias[c] += ab;
}

static void cu_layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                  const float* weight, const float* mean, const float* rstd, int BT, int C) {
    if (BT <= 0 || C <= 0) return;
    if (C > 32 * 32) fail(__LINE__, "layernorm_backward: C > 1024 is not supported");
    int nblocks = (BT + LN_ROWS - 1) / LN_ROWS;
    float* pw = (float*)scratch_get(&g_red_scratch, 2 * (size_t)nblocks * C * sizeof(float));
    float* pb = pw + (size_t)nblocks * C;
    void (*k)(float*, float*, float*, const float*, const float*, const float*, const float*, const float*, int, int) =
        C <= 128 ? layernorm_backward_kernel<4> : C <= 256 ? layernorm_backward_kernel<8>
        : C <= 512 ? layernorm_backward_kernel<16> : layernorm_backward_kernel<32>;
    k<<<nblocks, 32 * LN_WARPS, 0, g_stream>>>(dinp, pw, pb, dout, inp, weight, mean, rstd, BT, C);
    LAUNCH_CHECK();
    layernorm_param_finalize_kernel<<<(C + BLOCK - 1) / BLOCK, BLOCK, 0, g_stream>>>(
        dweight, dbias, pw, pb, nblocks, C);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* rmsnorm without gain (one warp per row) */

__global__ void rmsnorm_forward_kernel(float* out, float* rms_inv, const float* inp, int BT, int C, float eps) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (row >= BT) return;
    const float* x = inp + (size_t)row * C;
    float ss = 0.0f;
    for (int c = lane; c < C; c += 32) ss += x[c] * x[c];
    ss = warp_sum(ss);
    float r = 1.0f / sqrtf(ss / C + eps);
    float* o = out + (size_t)row * C;
    for (int c = lane; c < C; c += 32) o[c] = x[c] * r;
    if (lane == 0) rms_inv[row] = r;
}

static void cu_rmsnorm_forward(float* out, float* rms_inv, const float* inp, int BT, int C, float eps) {
    if (BT <= 0) return;
    rmsnorm_forward_kernel<<<warp_row_blocks(BT), BLOCK, 0, g_stream>>>(out, rms_inv, inp, BT, C, eps);
    LAUNCH_CHECK();
}

/* y = x r, r = (mean(x^2)+eps)^-1/2  =>  dx = r dy - x r^3 <dy,x> / C */
__global__ void rmsnorm_backward_kernel(float* dinp, const float* dout, const float* inp, const float* rms_inv,
                                        int BT, int C) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (row >= BT) return;
    const float* x = inp + (size_t)row * C;
    const float* d = dout + (size_t)row * C;
    float r = rms_inv[row];
    float dot = 0.0f;
    for (int c = lane; c < C; c += 32) dot += d[c] * x[c];
    dot = warp_sum(dot);
    float k = r * r * r * dot / C;
    float* di = dinp + (size_t)row * C;
    for (int c = lane; c < C; c += 32) di[c] += r * d[c] - k * x[c];
}

static void cu_rmsnorm_backward(float* dinp, const float* dout, const float* inp, const float* rms_inv, int BT,
                                int C) {
    if (BT <= 0) return;
    rmsnorm_backward_kernel<<<warp_row_blocks(BT), BLOCK, 0, g_stream>>>(dinp, dout, inp, rms_inv, BT, C);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* GELU (tanh approximation) */

#define GELU_SCALING_FACTOR 0.7978845608028654f /* sqrt(2/pi) */

__global__ void gelu_forward_kernel(float* out, const float* inp, int N) {
    GRID_STRIDE(i, N) {
        float x = inp[i];
        float cube = 0.044715f * x * x * x;
        out[i] = 0.5f * x * (1.0f + tanhf(GELU_SCALING_FACTOR * (x + cube)));
    }
}

__global__ void gelu_backward_kernel(float* dinp, const float* inp, const float* dout, int N) {
    GRID_STRIDE(i, N) {
        float x = inp[i];
        float cube = 0.044715f * x * x * x;
        float th = tanhf(GELU_SCALING_FACTOR * (x + cube));
        float sech2 = 1.0f - th * th;
        float local = 0.5f * (1.0f + th) +
                      0.5f * x * sech2 * GELU_SCALING_FACTOR * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = local * dout[i];
    }
}

static void cu_gelu_forward(float* out, const float* inp, int N) {
    if (N <= 0) return;
    gelu_forward_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(out, inp, N);
    LAUNCH_CHECK();
}

static void cu_gelu_backward(float* dinp, const float* inp, const float* dout, int N) {
    if (N <= 0) return;
    gelu_backward_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(dinp, inp, dout, N);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* causal self-attention */

/* Element idx of a head-major (B, NH, T, hs) tensor sits at this offset of the
 * token-major (B*T, stride) one: (b*T + t) * stride + offset + h*hs + e. */
__device__ __forceinline__ long packed_offset(long idx, int T, int NH, int hs, int stride, int offset) {
    int e = (int)(idx % hs);
    long r = idx / hs;
    int t = (int)(r % T);
    r /= T;
    int h = (int)(r % NH);
    long b = r / NH;
    return (b * T + t) * stride + offset + h * hs + e;
}

/* dst[b, h, t, e] = src[packed] */
__global__ void permute_kernel(float* dst, const float* src, int B, int T, int NH, int hs, int stride, int offset) {
    GRID_STRIDE(idx, (long)B * NH * T * hs) dst[idx] = src[packed_offset(idx, T, NH, hs, stride, offset)];
}

/* dst[packed] = src[b, h, t, e] */
__global__ void unpermute_kernel(float* dst, const float* src, int B, int T, int NH, int hs, int stride, int offset) {
    GRID_STRIDE(idx, (long)B * NH * T * hs) dst[packed_offset(idx, T, NH, hs, stride, offset)] = src[idx];
}

/* One warp per row (b, h, t) of the scores: causal softmax over t2 <= t;
 * above the diagonal att and preatt are written as 0 (as the CPU does). */
__global__ void attention_softmax_kernel(float* att, float* preatt, int rows, int T) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (row >= rows) return;
    int t = row % T;
    float* p = preatt + (size_t)row * T;
    float* a = att + (size_t)row * T;
    float mx = -INFINITY;
    for (int t2 = lane; t2 <= t; t2 += 32) mx = fmaxf(mx, p[t2]);
    mx = warp_max(mx);
    float sum = 0.0f;
    for (int t2 = lane; t2 <= t; t2 += 32) {
        float e = expf(p[t2] - mx);
        a[t2] = e;
        sum += e;
    }
    sum = warp_sum(sum);
    float inv = 1.0f / sum;
    for (int t2 = lane; t2 < T; t2 += 32) {
        if (t2 <= t) a[t2] *= inv;
        else { a[t2] = 0.0f; p[t2] = 0.0f; }
    }
}

/* dpreatt = att * (datt - <att, datt>_row) on t2 <= t; 0 above (datt too). */
__global__ void attention_softmax_backward_kernel(float* dpreatt, float* datt, const float* att, int rows, int T) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (row >= rows) return;
    int t = row % T;
    const float* a = att + (size_t)row * T;
    float* da = datt + (size_t)row * T;
    float* dp = dpreatt + (size_t)row * T;
    float s = 0.0f;
    for (int t2 = lane; t2 <= t; t2 += 32) s += a[t2] * da[t2];
    s = warp_sum(s);
    for (int t2 = lane; t2 < T; t2 += 32) {
        if (t2 <= t) dp[t2] = a[t2] * (da[t2] - s);
        else { da[t2] = 0.0f; dp[t2] = 0.0f; }
    }
}

/* Column-major strided-batched product (cuBLAS convention), fp32 storage. */
static void gemm_batched(int ta, int tb, int m, int n, int k, float alpha, const float* A, int lda, long long sA,
                         const float* Bm, int ldb, long long sB, float beta, float* Cm, int ldc, long long sC,
                         int batch) {
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(g_cublas, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                            m, n, k, &alpha, A, CUDA_R_32F, lda, sA, Bm, CUDA_R_32F, ldb, sB, &beta,
                                            Cm, CUDA_R_32F, ldc, sC, batch, compute_type(), CUBLAS_GEMM_DEFAULT));
}

/* q, k, v (B, NH, T, hs) from the packed qkv (B*T, 3C). */
static void permute_qkv(float* q, float* k, float* v, const float* qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
    unsigned g = blocks_for((long)B * T * C, BLOCK);
    for (int part = 0; part < 3; part++) {
        float* dst = part == 0 ? q : part == 1 ? k : v;
        permute_kernel<<<g, BLOCK, 0, g_stream>>>(dst, qkv, B, T, NH, hs, 3 * C, part * C);
        LAUNCH_CHECK();
    }
}

static void flash_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH);
static void flash_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse, int B,
                           int T, int C, int NH);
static int flash_applies(int T, int hs);

static void cu_attention_forward(float* out, float* preatt, float* att, const float* qkv, int B, int T, int C,
                                 int NH) {
    if (B <= 0 || T <= 0) return;
    if (flash_applies(T, C / NH)) {   /* att keeps the rows' log-sum-exp; preatt unused */
        flash_forward(out, att, qkv, B, T, C, NH);
        return;
    }
    int hs = C / NH, BNH = B * NH;
    size_t n = (size_t)B * T * C;
    float* buf = (float*)scratch_get(&g_att_scratch, 4 * n * sizeof(float));
    float *q = buf, *k = buf + n, *v = buf + 2 * n, *y = buf + 3 * n;
    permute_qkv(q, k, v, qkv, B, T, C, NH);
    float scale = 1.0f / sqrtf((float)hs);
    long long sTh = (long long)T * hs, sTT = (long long)T * T;
    /* preatt[t][t2] = scale q[t].k[t2]  (column-major: preatt^T = k^T-op @ q) */
    gemm_batched(1, 0, T, T, hs, scale, k, hs, sTh, q, hs, sTh, 0.0f, preatt, T, sTT, BNH);
    int rows = BNH * T;
    attention_softmax_kernel<<<warp_row_blocks(rows), BLOCK, 0, g_stream>>>(att, preatt, rows, T);
    LAUNCH_CHECK();
    /* y (T, hs) = att @ v  (column-major: y^T = v^T @ att^T) */
    gemm_batched(0, 0, hs, T, T, 1.0f, v, hs, sTh, att, T, sTT, 0.0f, y, hs, sTh, BNH);
    unpermute_kernel<<<blocks_for((long)n, BLOCK), BLOCK, 0, g_stream>>>(out, y, B, T, NH, hs, C, 0);
    LAUNCH_CHECK();
}

static void cu_attention_backward(float* dqkv, float* dpreatt, float* datt, const float* dout, const float* qkv,
                                  const float* out, const float* att, int B, int T, int C, int NH) {
    if (B <= 0 || T <= 0) return;
    if (flash_applies(T, C / NH)) {
        flash_backward(dqkv, dout, qkv, out, att, B, T, C, NH);
        return;
    }
    int hs = C / NH, C3 = 3 * C, BNH = B * NH;
    size_t n = (size_t)B * T * C;
    float* buf = (float*)scratch_get(&g_att_scratch, 7 * n * sizeof(float));
    float *q = buf, *k = buf + n, *v = buf + 2 * n, *dop = buf + 3 * n;
    float *dq = buf + 4 * n, *dk = buf + 5 * n, *dv = buf + 6 * n;
    unsigned g = blocks_for((long)n, BLOCK);
    permute_qkv(q, k, v, qkv, B, T, C, NH);
    permute_kernel<<<g, BLOCK, 0, g_stream>>>(dop, dout, B, T, NH, hs, C, 0);
    LAUNCH_CHECK();
    float scale = 1.0f / sqrtf((float)hs);
    long long sTh = (long long)T * hs, sTT = (long long)T * T;
    /* datt (T,T) = dout @ v^T */
    gemm_batched(1, 0, T, T, hs, 1.0f, v, hs, sTh, dop, hs, sTh, 0.0f, datt, T, sTT, BNH);
    /* dv (T,hs) = att^T @ dout */
    gemm_batched(0, 1, hs, T, T, 1.0f, dop, hs, sTh, att, T, sTT, 0.0f, dv, hs, sTh, BNH);
    int rows = BNH * T;
    attention_softmax_backward_kernel<<<warp_row_blocks(rows), BLOCK, 0, g_stream>>>(dpreatt, datt, att,
                                                                                              rows, T);
    LAUNCH_CHECK();
    /* dq (T,hs) = scale dpreatt @ k;  dk (T,hs) = scale dpreatt^T @ q */
    gemm_batched(0, 0, hs, T, T, scale, k, hs, sTh, dpreatt, T, sTT, 0.0f, dq, hs, sTh, BNH);
    gemm_batched(0, 1, hs, T, T, scale, q, hs, sTh, dpreatt, T, sTT, 0.0f, dk, hs, sTh, BNH);
    unpermute_kernel<<<g, BLOCK, 0, g_stream>>>(dqkv, dq, B, T, NH, hs, C3, 0);
    LAUNCH_CHECK();
    unpermute_kernel<<<g, BLOCK, 0, g_stream>>>(dqkv, dk, B, T, NH, hs, C3, C);
    LAUNCH_CHECK();
    unpermute_kernel<<<g, BLOCK, 0, g_stream>>>(dqkv, dv, B, T, NH, hs, C3, 2 * C);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* fused (flash) attention: bf16 tensor cores, for the bf16 precision
 *
 * attention_forward / attention_backward take this path when the precision is
 * bf16, T <= FA_MAX_T and hs is 16, 32 or 64 (DD_CUDA_ATTENTION=materialised
 * turns it off); otherwise the materialised path above. No (T, T) matrix is
 * stored: the forward keeps each row's log-sum-exp in `att` (its first
 * B*NH*T floats), the backward recomputes the probabilities tile by tile.
 *
 * A block is 4 warps; a warp owns 16 rows (queries, or keys in dK/dV) and does
 * its products with 16x16x16 bf16 WMMA tiles, fp32 accumulation. Q, K, V, dO
 * and the probabilities are rounded to bf16 on their way into shared memory;
 * row statistics, softmax and the outputs stay fp32. The forward makes two
 * passes over the keys (max and sum, then the normalised probabilities times
 * V), so no accumulator needs rescaling. The backward is two kernels, one
 * over query tiles (dQ) and one over key tiles (dK, dV), each recomputing
 * the scores: every output element has one writer and a fixed summation
 * order, so it is deterministic without atomics. */

#define FA_WARPS 4
#define FA_THREADS (32 * FA_WARPS)
#define FA_BQ 64      /* query rows per block: 16 per warp */
#define FA_BK 32      /* keys per tile */
#define FA_MAX_T 1024
typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> FragA;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> FragBRow;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> FragBCol;
typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> FragC;

/* dst (R x HS, bf16) = rows r0.. of src (row t at src + t * stride), 0 past T. */
template <int HS>
__device__ void fa_load(__nv_bfloat16* dst, const float* src, int stride, int R, int r0, int T) {
    for (int i = threadIdx.x; i < R * HS; i += blockDim.x) {
        int t = r0 + i / HS;
        dst[i] = __float2bfloat16(t < T ? src[(size_t)t * stride + i % HS] : 0.0f);
    }
}

/* One warp: S (16 x 16*NC, fp32, ldm 16*NC) = A (16 x HS) . Bm^T, Bm (16*NC x HS). */
template <int HS, int NC>
__device__ void fa_scores(float* S, const __nv_bfloat16* A, const __nv_bfloat16* Bm) {
    for (int j = 0; j < NC; j++) {
        FragC acc;
        wmma::fill_fragment(acc, 0.0f);
        for (int kk = 0; kk < HS / 16; kk++) {
            FragA a;
            FragBCol b;
            wmma::load_matrix_sync(a, A + kk * 16, HS);
            wmma::load_matrix_sync(b, Bm + (size_t)j * 16 * HS + kk * 16, HS);
            wmma::mma_sync(acc, a, b, acc);
        }
        wmma::store_matrix_sync(S + j * 16, acc, 16 * NC, wmma::mem_row_major);
    }
}

/* One warp: acc (16 x HS) += P (16 x K2, ldm K2) . R (K2 x HS). */
template <int HS, int K2>
__device__ void fa_accumulate(FragC* acc, const __nv_bfloat16* P, const __nv_bfloat16* R) {
    for (int j = 0; j < HS / 16; j++)
        for (int kk = 0; kk < K2 / 16; kk++) {
            FragA a;
            FragBRow b;
            wmma::load_matrix_sync(a, P + kk * 16, K2);
            wmma::load_matrix_sync(b, R + (size_t)kk * 16 * HS + j * 16, HS);
            wmma::mma_sync(acc[j], a, b, acc[j]);
        }
}

/* One warp: rows t0..t0+15 (those < T) of dst (row t at dst + t * stride) = acc,
 * through the warp's 16 x 16 staging tile. */
template <int HS>
__device__ void fa_store(float* dst, int stride, int t0, int T, const FragC* acc, float* stage) {
    int lane = threadIdx.x & 31;
    for (int j = 0; j < HS / 16; j++) {
        __syncwarp();
        wmma::store_matrix_sync(stage, acc[j], 16, wmma::mem_row_major);
        __syncwarp();
        for (int i = lane; i < 256; i += 32) {
            int t = t0 + i / 16;
            if (t < T) dst[(size_t)t * stride + j * 16 + i % 16] = stage[i];
        }
    }
}

/* out (B, T, C) and lse (B*NH, T); grid (ceil(T / FA_BQ), B*NH). Lane pair
 * (2r, 2r+1) of a warp shares the warp's row r, each half of a tile's columns. */
template <int HS>
__global__ void __launch_bounds__(FA_THREADS)
    flash_forward_kernel(float* out, float* lse, const float* qkv, int T, int C, int NH, float scale) {
    __shared__ __align__(32) __nv_bfloat16 Qs[FA_BQ * HS];
    __shared__ __align__(32) __nv_bfloat16 Ks[FA_BK * HS];
    __shared__ __align__(32) __nv_bfloat16 Vs[FA_BK * HS];
    __shared__ __align__(32) __nv_bfloat16 Ps[FA_WARPS][16 * FA_BK];
    __shared__ __align__(32) float Ss[FA_WARPS][16 * FA_BK];
    int bh = blockIdx.y, b = bh / NH, h = bh % NH, q0 = blockIdx.x * FA_BQ, C3 = 3 * C;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r = lane >> 1, c0 = (lane & 1) * (FA_BK / 2);
    int t = q0 + warp * 16 + r, kend = min(T, q0 + FA_BQ);
    const float* base = qkv + (size_t)b * T * C3 + h * HS;
    const __nv_bfloat16* Qw = Qs + warp * 16 * HS;
    float* S = Ss[warp];
    __nv_bfloat16* P = Ps[warp];
    fa_load<HS>(Qs, base, C3, FA_BQ, q0, T);
    /* pass 1: the row's max and sum of exp, in key order per lane, then the pair combined */
    float m = -INFINITY, l = 0.0f;
    for (int k0 = 0; k0 < kend; k0 += FA_BK) {
        __syncthreads();
        fa_load<HS>(Ks, base + C, C3, FA_BK, k0, T);
        __syncthreads();
        fa_scores<HS, FA_BK / 16>(S, Qw, Ks);
        __syncwarp();
        for (int c = c0; c < c0 + FA_BK / 2; c++) {
            if (t >= T || k0 + c > t) continue;
            float s = S[r * FA_BK + c] * scale;
            if (s > m) { l = l * expf(m - s) + 1.0f; m = s; }
            else l += expf(s - m);
        }
    }
    float m2 = __shfl_xor_sync(0xffffffffu, m, 1), l2 = __shfl_xor_sync(0xffffffffu, l, 1);
    float mt = fmaxf(m, m2);
    float L = 0.0f;   /* log-sum-exp of the row's scaled scores (0 for rows past T) */
    if (mt > -INFINITY) {
        float lt = (m > -INFINITY ? l * expf(m - mt) : 0.0f) + (m2 > -INFINITY ? l2 * expf(m2 - mt) : 0.0f);
        L = mt + logf(lt);
    }
    /* pass 2: out = sum over keys of exp(s - L) v */
    FragC acc[HS / 16];
    for (int j = 0; j < HS / 16; j++) wmma::fill_fragment(acc[j], 0.0f);
    for (int k0 = 0; k0 < kend; k0 += FA_BK) {
        __syncthreads();
        fa_load<HS>(Ks, base + C, C3, FA_BK, k0, T);
        fa_load<HS>(Vs, base + 2 * C, C3, FA_BK, k0, T);
        __syncthreads();
        fa_scores<HS, FA_BK / 16>(S, Qw, Ks);
        __syncwarp();
        for (int c = c0; c < c0 + FA_BK / 2; c++) {
            bool on = t < T && k0 + c <= t;
            P[r * FA_BK + c] = __float2bfloat16(on ? expf(S[r * FA_BK + c] * scale - L) : 0.0f);
        }
        __syncwarp();
        fa_accumulate<HS, FA_BK>(acc, P, Vs);
    }
    fa_store<HS>(out + (size_t)b * T * C + h * HS, C, q0 + warp * 16, T, acc, S);
    if ((lane & 1) == 0 && t < T) lse[(size_t)bh * T + t] = L;
}

/* D[bh, t] = <dout, out> over the head's hs columns (one warp per row). */
__global__ void flash_rowdot_kernel(float* D, const float* dout, const float* out, int BNHT, int T, int C, int NH) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (row >= BNHT) return;
    int t = row % T, bh = row / T, b = bh / NH, h = bh % NH, hs = C / NH;
    size_t off = ((size_t)b * T + t) * C + (size_t)h * hs;
    float s = 0.0f;
    for (int e = lane; e < hs; e += 32) s += dout[off + e] * out[off + e];
    s = warp_sum(s);
    if (lane == 0) D[row] = s;
}

/* dq slice of dqkv; grid (ceil(T / FA_BQ), B*NH). dS = P (dP - D) scale, dQ = dS K. */
template <int HS>
__global__ void __launch_bounds__(FA_THREADS)
    flash_backward_dq_kernel(float* dqkv, const float* qkv, const float* dout, const float* lse, const float* D, int T,
                             int C, int NH, float scale) {
    __shared__ __align__(32) __nv_bfloat16 Qs[FA_BQ * HS];
    __shared__ __align__(32) __nv_bfloat16 dOs[FA_BQ * HS];
    __shared__ __align__(32) __nv_bfloat16 Ks[FA_BK * HS];
    __shared__ __align__(32) __nv_bfloat16 Vs[FA_BK * HS];
    __shared__ __align__(32) __nv_bfloat16 dSs[FA_WARPS][16 * FA_BK];
    __shared__ __align__(32) float Ss[FA_WARPS][16 * FA_BK];
    int bh = blockIdx.y, b = bh / NH, h = bh % NH, q0 = blockIdx.x * FA_BQ, C3 = 3 * C;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r = lane >> 1, c0 = (lane & 1) * (FA_BK / 2);
    int t = q0 + warp * 16 + r, kend = min(T, q0 + FA_BQ);
    const float* base = qkv + (size_t)b * T * C3 + h * HS;
    float* S = Ss[warp];
    __nv_bfloat16* dS = dSs[warp];
    fa_load<HS>(Qs, base, C3, FA_BQ, q0, T);
    fa_load<HS>(dOs, dout + (size_t)b * T * C + h * HS, C, FA_BQ, q0, T);
    float L = t < T ? lse[(size_t)bh * T + t] : 0.0f, Dt = t < T ? D[(size_t)bh * T + t] : 0.0f;
    FragC acc[HS / 16];
    for (int j = 0; j < HS / 16; j++) wmma::fill_fragment(acc[j], 0.0f);
    for (int k0 = 0; k0 < kend; k0 += FA_BK) {
        __syncthreads();
        fa_load<HS>(Ks, base + C, C3, FA_BK, k0, T);
        fa_load<HS>(Vs, base + 2 * C, C3, FA_BK, k0, T);
        __syncthreads();
        float p[FA_BK / 2];
        fa_scores<HS, FA_BK / 16>(S, Qs + warp * 16 * HS, Ks);
        __syncwarp();
        for (int c = 0; c < FA_BK / 2; c++) {
            bool on = t < T && k0 + c0 + c <= t;
            p[c] = on ? expf(S[r * FA_BK + c0 + c] * scale - L) : 0.0f;
        }
        __syncwarp();
        fa_scores<HS, FA_BK / 16>(S, dOs + warp * 16 * HS, Vs);   /* dP = dO V^T */
        __syncwarp();
        for (int c = 0; c < FA_BK / 2; c++)
            dS[r * FA_BK + c0 + c] = __float2bfloat16(p[c] * (S[r * FA_BK + c0 + c] - Dt) * scale);
        __syncwarp();
        fa_accumulate<HS, FA_BK>(acc, dS, Ks);
    }
    fa_store<HS>(dqkv + (size_t)b * T * C3 + h * HS, C3, q0 + warp * 16, T, acc, S);
}

/* dk, dv slices of dqkv; grid (ceil(T / FA_BQ), B*NH): a block owns FA_BQ keys
 * (16 a warp) and runs over the query tiles that can see them, in order.
 * Transposed tiles (keys x queries): dV += P^T dO, dK += dS^T Q. */
template <int HS>
__global__ void __launch_bounds__(FA_THREADS)
    flash_backward_dkv_kernel(float* dqkv, const float* qkv, const float* dout, const float* lse, const float* D,
                              int T, int C, int NH, float scale) {
    __shared__ __align__(32) __nv_bfloat16 Ks[FA_BQ * HS];
    __shared__ __align__(32) __nv_bfloat16 Vs[FA_BQ * HS];
    __shared__ __align__(32) __nv_bfloat16 Qs[FA_BK * HS];
    __shared__ __align__(32) __nv_bfloat16 dOs[FA_BK * HS];
    __shared__ __align__(32) __nv_bfloat16 Ps[FA_WARPS][16 * FA_BK];
    __shared__ __align__(32) float Ss[FA_WARPS][16 * FA_BK];
    __shared__ float Ls[FA_BK], Ds[FA_BK];
    int bh = blockIdx.y, b = bh / NH, h = bh % NH, k0 = blockIdx.x * FA_BQ, C3 = 3 * C;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r = lane >> 1, c0 = (lane & 1) * (FA_BK / 2);
    int key = k0 + warp * 16 + r;
    const float* base = qkv + (size_t)b * T * C3 + h * HS;
    const float* dob = dout + (size_t)b * T * C + h * HS;
    float* S = Ss[warp];
    __nv_bfloat16* P = Ps[warp];
    fa_load<HS>(Ks, base + C, C3, FA_BQ, k0, T);
    fa_load<HS>(Vs, base + 2 * C, C3, FA_BQ, k0, T);
    FragC dk[HS / 16], dv[HS / 16];
    for (int j = 0; j < HS / 16; j++) {
        wmma::fill_fragment(dk[j], 0.0f);
        wmma::fill_fragment(dv[j], 0.0f);
    }
    for (int q0 = k0; q0 < T; q0 += FA_BK) {   /* queries before k0 see none of these keys */
        __syncthreads();
        fa_load<HS>(Qs, base, C3, FA_BK, q0, T);
        fa_load<HS>(dOs, dob, C, FA_BK, q0, T);
        for (int i = threadIdx.x; i < FA_BK; i += blockDim.x) {
            bool in = q0 + i < T;
            Ls[i] = in ? lse[(size_t)bh * T + q0 + i] : 0.0f;
            Ds[i] = in ? D[(size_t)bh * T + q0 + i] : 0.0f;
        }
        __syncthreads();
        float p[FA_BK / 2];
        fa_scores<HS, FA_BK / 16>(S, Ks + warp * 16 * HS, Qs);   /* S^T = K Q^T */
        __syncwarp();
        for (int c = 0; c < FA_BK / 2; c++) {
            int q = q0 + c0 + c;
            bool on = key < T && q < T && q >= key;
            p[c] = on ? expf(S[r * FA_BK + c0 + c] * scale - Ls[c0 + c]) : 0.0f;
            P[r * FA_BK + c0 + c] = __float2bfloat16(p[c]);
        }
        __syncwarp();
        fa_accumulate<HS, FA_BK>(dv, P, dOs);
        fa_scores<HS, FA_BK / 16>(S, Vs + warp * 16 * HS, dOs);   /* dP^T = V dO^T */
        __syncwarp();
        for (int c = 0; c < FA_BK / 2; c++)
            P[r * FA_BK + c0 + c] = __float2bfloat16(p[c] * (S[r * FA_BK + c0 + c] - Ds[c0 + c]) * scale);
        __syncwarp();
        fa_accumulate<HS, FA_BK>(dk, P, Qs);
    }
    fa_store<HS>(dqkv + (size_t)b * T * C3 + C + h * HS, C3, k0 + warp * 16, T, dk, S);
    fa_store<HS>(dqkv + (size_t)b * T * C3 + 2 * C + h * HS, C3, k0 + warp * 16, T, dv, S);
}

static int g_flash = 1;   /* DD_CUDA_ATTENTION: 1 flash where it applies, 0 always materialised */

static int flash_applies(int T, int hs) {
    return g_flash && g_bf16 && T <= FA_MAX_T && (hs == 16 || hs == 32 || hs == 64);
}

typedef void (*FlashFwd)(float*, float*, const float*, int, int, int, float);
typedef void (*FlashBwd)(float*, const float*, const float*, const float*, const float*, int, int, int, float);

static int cu_attention_fused(int T, int C, int NH) { return NH > 0 && C % NH == 0 && flash_applies(T, C / NH); }

static void flash_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
    FlashFwd fwd = hs == 16 ? flash_forward_kernel<16> : hs == 32 ? flash_forward_kernel<32> : flash_forward_kernel<64>;
    dim3 grid((T + FA_BQ - 1) / FA_BQ, B * NH);
    fwd<<<grid, FA_THREADS, 0, g_stream>>>(out, lse, qkv, T, C, NH, 1.0f / sqrtf((float)hs));
    LAUNCH_CHECK();
}

static void flash_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse, int B,
                           int T, int C, int NH) {
    int hs = C / NH, rows = B * NH * T;
    float* D = (float*)scratch_get(&g_att_scratch, (size_t)rows * sizeof(float));
    flash_rowdot_kernel<<<warp_row_blocks(rows), BLOCK, 0, g_stream>>>(D, dout, out, rows, T, C, NH);
    LAUNCH_CHECK();
    FlashBwd dq = hs == 16 ? flash_backward_dq_kernel<16> : hs == 32 ? flash_backward_dq_kernel<32>
                                                                     : flash_backward_dq_kernel<64>;
    FlashBwd dkv = hs == 16 ? flash_backward_dkv_kernel<16> : hs == 32 ? flash_backward_dkv_kernel<32>
                                                                        : flash_backward_dkv_kernel<64>;
    dim3 grid((T + FA_BQ - 1) / FA_BQ, B * NH);
    float scale = 1.0f / sqrtf((float)hs);
    dq<<<grid, FA_THREADS, 0, g_stream>>>(dqkv, qkv, dout, lse, D, T, C, NH, scale);
    LAUNCH_CHECK();
    dkv<<<grid, FA_THREADS, 0, g_stream>>>(dqkv, qkv, dout, lse, D, T, C, NH, scale);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* residual */

__global__ void residual_forward_kernel(float* out, const float* a, const float* b, int N) {
    GRID_STRIDE(i, N) out[i] = a[i] + b[i];
}
__global__ void residual_backward_kernel(float* da, float* db, const float* dout, int N) {
    GRID_STRIDE(i, N) {
        float d = dout[i];
        da[i] += d;
        db[i] += d;
    }
}

static void cu_residual_forward(float* out, const float* a, const float* b, int N) {
    if (N <= 0) return;
    residual_forward_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(out, a, b, N);
    LAUNCH_CHECK();
}
static void cu_residual_backward(float* da, float* db, const float* dout, int N) {
    if (N <= 0) return;
    residual_backward_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(da, db, dout, N);
    LAUNCH_CHECK();
}

/* One warp per row: out = a + b, then layernorm_forward_kernel's arithmetic on
 * out (the same lanes, order and trees, so the same bits as the two kernels);
 * the second and third passes read back what this lane just wrote. */
__global__ void residual_layernorm_forward_kernel(float* out, float* ln, float* mean, float* rstd, const float* a,
                                                  const float* b, const float* weight, const float* bias, int BT,
                                                  int C) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (row >= BT) return;
    size_t off = (size_t)row * C;
    float* x = out + off;
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float v = a[off + c] + b[off + c];
        x[c] = v;
        s += v;
    }
    float m = warp_sum(s) / C;
    float var = 0.0f;
    for (int c = lane; c < C; c += 32) { float d = x[c] - m; var += d * d; }
    var = warp_sum(var) / C;
    float r = 1.0f / sqrtf(var + 1e-5f);
    float* o = ln + off;
    for (int c = lane; c < C; c += 32) o[c] = (x[c] - m) * r * weight[c] + bias[c];
    if (lane == 0) { mean[row] = m; rstd[row] = r; }
}

static void cu_residual_layernorm_forward(float* out, float* ln, float* mean, float* rstd, const float* a,
                                          const float* b, const float* weight, const float* bias, int BT, int C) {
    if (BT <= 0) return;
    residual_layernorm_forward_kernel<<<warp_row_blocks(BT), BLOCK, 0, g_stream>>>(
        out, ln, mean, rstd, a, b, weight, bias, BT, C);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* fused softmax + cross-entropy (one block per row). The softmax is never
 * stored: the forward keeps (max, 1/sum) a row, the backward recomputes each
 * probability from the logit it overwrites with its gradient (kernels.h). */

#define CE_BLOCK 512

__global__ void crossentropy_softmax_forward_kernel(float* losses, float* stats, const float* logits,
                                                    const int* targets, int V) {
    size_t i = blockIdx.x;
    const float* x = logits + i * V;
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, x[v]);
    mx = block_max(mx);
    float sum = 0.0f;
    for (int v = threadIdx.x; v < V; v += blockDim.x) sum += expf(x[v] - mx);
    sum = block_sum(sum);
    if (threadIdx.x == 0) {
        stats[2 * i] = mx;
        stats[2 * i + 1] = 1.0f / sum;
        int tg = targets[i];
        /* log-sum-exp form: exact even where p[target] underflows */
        losses[i] = tg >= 0 ? logf(sum) - (x[tg] - mx) : 0.0f;
    }
}

/* Each thread reads logits[v] before writing dlogits[v], and no other thread
 * touches v: safe when dlogits == logits. */
__global__ void crossentropy_softmax_backward_kernel(float* dlogits, const float* dlosses, const float* logits,
                                                     const float* stats, const int* targets, int V) {
    size_t i = blockIdx.x;
    int tg = targets[i];
    const float* x = logits + i * V;
    float* dl = dlogits + i * V;
    float mx = stats[2 * i], inv = stats[2 * i + 1], d = tg >= 0 ? dlosses[i] : 0.0f;
    for (int v = threadIdx.x; v < V; v += blockDim.x)
        dl[v] = tg >= 0 ? (expf(x[v] - mx) * inv - (v == tg ? 1.0f : 0.0f)) * d : 0.0f;
}

static void cu_crossentropy_softmax_forward(float* losses, float* stats, const float* logits, const int* targets,
                                            int BT, int V) {
    if (BT <= 0) return;
    crossentropy_softmax_forward_kernel<<<BT, CE_BLOCK, 0, g_stream>>>(losses, stats, logits, targets, V);
    LAUNCH_CHECK();
}

static void cu_crossentropy_softmax_backward(float* dlogits, const float* dlosses, const float* logits,
                                             const float* stats, const int* targets, int BT, int V) {
    if (BT <= 0) return;
    crossentropy_softmax_backward_kernel<<<BT, CE_BLOCK, 0, g_stream>>>(dlogits, dlosses, logits, stats, targets, V);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* AdamW */

/* One element of AdamW: the arithmetic of both AdamW kernels (so they agree bitwise). */
__device__ __forceinline__ void adamw_element(float* params, const float* grads, float* m, float* v, long i,
                                              float beta1, float beta2, float eps, float step_size, float bc2_sqrt,
                                              float decay) {
    float g = grads[i];
    float mi = m[i] * beta1 + g * (1.0f - beta1);
    float vi = v[i] * beta2 + g * g * (1.0f - beta2);
    m[i] = mi;
    v[i] = vi;
    float denom = sqrtf(vi) / bc2_sqrt + eps;
    params[i] = params[i] * decay - step_size * mi / denom;
}

__global__ void adamw_kernel(float* params, const float* grads, float* m, float* v, long N, float beta1,
                             float beta2, float eps, float step_size, float bc2_sqrt, float decay) {
    GRID_STRIDE(i, N) adamw_element(params, grads, m, v, i, beta1, beta2, eps, step_size, bc2_sqrt, decay);
}

static void cu_adamw_update(float* params, const float* grads, float* m, float* v, long N, float lr, float beta1,
                            float beta2, float eps, float weight_decay, int t) {
    if (N <= 0) return;
    /* Scalars in double, as torch computes them in Python (and as the CPU backend). */
    double bc1 = 1.0 - pow(beta1, t), bc2 = 1.0 - pow(beta2, t);
    float step_size = (float)(lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float decay = 1.0f - lr * weight_decay;
    adamw_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(
        params, grads, m, v, N, beta1, beta2, eps, step_size, bc2_sqrt, decay);
    LAUNCH_CHECK();
}

/* AdamW over runs of segments: run r starts at run_start[r] (ascending, run_start[0] = 0)
 * and has weight decay iff run_decay[r]; each element finds its run by binary search in
 * the block's shared copy of the table. */
#define ADAMW_MAX_RUNS 1024
__global__ void adamw_segments_kernel(float* params, const float* grads, float* m, float* v, long N,
                                      const long* run_start, const unsigned char* run_decay, int nruns, float beta1,
                                      float beta2, float eps, float step_size, float bc2_sqrt, float decay_on) {
    __shared__ long starts[ADAMW_MAX_RUNS];
    __shared__ unsigned char decays[ADAMW_MAX_RUNS];
    for (int r = threadIdx.x; r < nruns; r += blockDim.x) {
        starts[r] = run_start[r];
        decays[r] = run_decay[r];
    }
    __syncthreads();
    GRID_STRIDE(i, N) {
        int lo = 0, hi = nruns - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >> 1;
            if (starts[mid] <= i) lo = mid;
            else hi = mid - 1;
        }
        adamw_element(params, grads, m, v, i, beta1, beta2, eps, step_size, bc2_sqrt, decays[lo] ? decay_on : 1.0f);
    }
}

/* The run table on the device, re-uploaded only when it changes (one model: never). */
static long* g_run_start_dev;
static unsigned char* g_run_decay_dev;
static long g_run_start_host[ADAMW_MAX_RUNS];
static unsigned char g_run_decay_host[ADAMW_MAX_RUNS];
static int g_nruns_dev = -1;

static void cu_adamw_update_segments(float* params, const float* grads, float* m, float* v, const long* seg_start,
                                     const unsigned char* seg_decay, int nseg, float lr, float beta1, float beta2,
                                     float eps, float weight_decay, int t) {
    if (nseg <= 0) return;
    /* Merge neighbouring segments with the same decay into runs. */
    long starts[ADAMW_MAX_RUNS];
    unsigned char decays[ADAMW_MAX_RUNS];
    int nruns = 0;
    for (int s = 0; s < nseg; s++) {
        if (seg_start[s + 1] == seg_start[s]) continue;
        unsigned char d = seg_decay[s] ? 1 : 0;
        if (nruns > 0 && decays[nruns - 1] == d) continue;
        if (nruns == ADAMW_MAX_RUNS) {   /* more runs than the table holds: this part, then one call each */
            cu_adamw_update_segments(params, grads, m, v, seg_start, seg_decay, s, lr, beta1, beta2, eps,
                                     weight_decay, t);
            for (int r = s; r < nseg; r++)
                cu_adamw_update(params + seg_start[r], grads + seg_start[r], m + seg_start[r], v + seg_start[r],
                                seg_start[r + 1] - seg_start[r], lr, beta1, beta2, eps,
                                seg_decay[r] ? weight_decay : 0.0f, t);
            return;
        }
        starts[nruns] = seg_start[s] - seg_start[0];
        decays[nruns++] = d;
    }
    long N = seg_start[nseg] - seg_start[0];
    if (nruns == 0 || N <= 0) return;
    if (!g_run_start_dev) {
        CUDA_CHECK(cudaMalloc(&g_run_start_dev, ADAMW_MAX_RUNS * sizeof(long)));
        CUDA_CHECK(cudaMalloc(&g_run_decay_dev, ADAMW_MAX_RUNS));
    }
    if (nruns != g_nruns_dev || memcmp(starts, g_run_start_host, nruns * sizeof(long)) ||
        memcmp(decays, g_run_decay_host, nruns)) {
        host_copy(g_run_start_dev, starts, nruns * sizeof(long), cudaMemcpyHostToDevice);
        host_copy(g_run_decay_dev, decays, nruns, cudaMemcpyHostToDevice);
        memcpy(g_run_start_host, starts, nruns * sizeof(long));
        memcpy(g_run_decay_host, decays, nruns);
        g_nruns_dev = nruns;
    }
    double bc1 = 1.0 - pow(beta1, t), bc2 = 1.0 - pow(beta2, t);
    float step_size = (float)(lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float decay_on = 1.0f - lr * weight_decay;
    long a = seg_start[0];
    adamw_segments_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(params + a, grads + a, m + a,
                                                          v + a, N, g_run_start_dev, g_run_decay_dev,
                                                          nruns, beta1, beta2, eps, step_size, bc2_sqrt, decay_on);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* sampling (one block per row) */

/* Thread t owns the contiguous chunk [t*per, (t+1)*per) of the vocabulary, so
 * the chunk sums, added in chunk order, are a running sum in v order: thread 0
 * finds the chunk where u * sum is passed and walks it. Deterministic. */
#define SAMPLE_BLOCK 256
__global__ void sample_rows_kernel(int* tok, const float* logits, const double* u, int V, float inv_temperature) {
    __shared__ double csum[SAMPLE_BLOCK];
    int i = blockIdx.x;
    double ui = u[i];
    if (ui < 0.0) {   /* the same for the whole block: all threads leave */
        if (threadIdx.x == 0) tok[i] = -1;
        return;
    }
    const float* x = logits + (size_t)i * V;
    float mx = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x) mx = fmaxf(mx, x[v]);
    mx = block_max(mx);
    int per = (V + blockDim.x - 1) / blockDim.x;
    int lo = threadIdx.x * per, hi = min(lo + per, V);
    double s = 0.0;
    for (int v = lo; v < hi; v++) s += (double)expf((x[v] - mx) * inv_temperature);
    csum[threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.x != 0) return;
    double total = 0.0;
    for (int t = 0; t < (int)blockDim.x; t++) total += csum[t];
    double target = ui * total, acc = 0.0;
    int pick = V - 1;
    for (int t = 0; t < (int)blockDim.x; t++) {
        if (target < acc + csum[t]) {
            int a = t * per, b = min(a + per, V);
            for (int v = a; v < b; v++) {
                acc += (double)expf((x[v] - mx) * inv_temperature);
                if (target < acc) { pick = v; break; }
            }
            break;
        }
        acc += csum[t];
    }
    tok[i] = pick;
}

static void cu_sample_rows(int* tok, const float* logits, const double* u, int N, int V, float inv_temperature) {
    if (N <= 0) return;
    sample_rows_kernel<<<N, SAMPLE_BLOCK, 0, g_stream>>>(tok, logits, u, V, inv_temperature);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* Sinkhorn-Knopp (one thread per matrix; `saved` lives in global memory) */

/* The per-matrix math is kernels/sinkhorn_impl.h, shared with the CPU backend
 * (so its PyTorch-checked arithmetic is this kernel's). */
__global__ void sinkhorn_forward_kernel(float* out, float* saved, const float* logits, int N, int n, int iters) {
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= N) return;
    long nn = (long)n * n, SZ = (long)(2 * iters + 1) * nn;
    sinkhorn_one_forward(out + idx * nn, saved + idx * SZ, logits + idx * nn, n, iters);
}

#define SINKHORN_MAX_NN 256   /* n <= 16 */

__global__ void sinkhorn_backward_kernel(float* dlogits, const float* dout, const float* saved, int N, int n,
                                         int iters) {
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= N) return;
    long nn = (long)n * n, SZ = (long)(2 * iters + 1) * nn;
    float g[SINKHORN_MAX_NN];
    for (long e = 0; e < nn; e++) g[e] = dout[idx * nn + e];
    sinkhorn_one_backward(dlogits + idx * nn, g, saved + idx * SZ, n, iters);
}

static void cu_sinkhorn_forward(float* out, float* saved, const float* logits, int N, int n, int iters) {
    if (N <= 0) return;
    sinkhorn_forward_kernel<<<(N + 127) / 128, 128, 0, g_stream>>>(out, saved, logits, N, n, iters);
    LAUNCH_CHECK();
}

static void cu_sinkhorn_backward(float* dlogits, const float* dout, const float* saved, int N, int n, int iters) {
    if (N <= 0) return;
    if (n * n > SINKHORN_MAX_NN) fail(__LINE__, "sinkhorn_backward: n > 16 is not supported");
    sinkhorn_backward_kernel<<<(N + 127) / 128, 128, 0, g_stream>>>(dlogits, dout, saved, N, n, iters);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* decoding with a KV cache */

__global__ void encoder_decode_forward_kernel(float* out, const int* tok, const int* pos, const float* wte,
                                              const float* wpe, int N, int C) {
    GRID_STRIDE(idx, (long)N * C) {
        long i = idx / C;
        int c = (int)(idx % C);
        out[idx] = wte[(size_t)tok[i] * C + c] + wpe[(size_t)pos[i] * C + c];
    }
}

static void cu_encoder_decode_forward(float* out, const int* tok, const int* pos, const float* wte,
                                      const float* wpe, int N, int C) {
    if (N <= 0) return;
    encoder_decode_forward_kernel<<<blocks_for((long)N * C, BLOCK), BLOCK, 0, g_stream>>>(
        out, tok, pos, wte, wpe, N, C);
    LAUNCH_CHECK();
}

/* kc[i, pos[i], :] = k of qkv row i; vc likewise. */
__global__ void kv_store_kernel(float* kc, float* vc, const float* qkv, const int* pos, int N, int Tc, int C) {
    GRID_STRIDE(idx, (long)N * C) {
        long i = idx / C;
        int c = (int)(idx % C);
        size_t dst = ((size_t)i * Tc + pos[i]) * C + c;
        kc[dst] = qkv[(size_t)i * 3 * C + C + c];
        vc[dst] = qkv[(size_t)i * 3 * C + 2 * C + c];
    }
}

/* One block per (sequence i, head h); the scores over t <= pos[i] live in
 * dynamic shared memory (Tc floats). A warp per key for the dot products. */
#define DECODE_BLOCK 128
__global__ void attention_decode_kernel(float* out, const float* kc, const float* vc, const float* qkv,
                                        const int* pos, int Tc, int C, int NH) {
    extern __shared__ float sc[];
    int i = blockIdx.x / NH, h = blockIdx.x % NH, hs = C / NH;
    int P = pos[i];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    float scale = 1.0f / sqrtf((float)hs);
    const float* q = qkv + (size_t)i * 3 * C + h * hs;
    const float* kb = kc + (size_t)i * Tc * C + h * hs;
    const float* vb = vc + (size_t)i * Tc * C + h * hs;
    for (int t = warp; t <= P; t += nwarps) {
        const float* k = kb + (size_t)t * C;
        float d = 0.0f;
        for (int e = lane; e < hs; e += 32) d += q[e] * k[e];
        d = warp_sum(d);
        if (lane == 0) sc[t] = d * scale;
    }
    __syncthreads();
    float mx = -INFINITY;
    for (int t = threadIdx.x; t <= P; t += blockDim.x) mx = fmaxf(mx, sc[t]);
    mx = block_max(mx);
    float sum = 0.0f;
    for (int t = threadIdx.x; t <= P; t += blockDim.x) {
        float e = expf(sc[t] - mx);
        sc[t] = e;
        sum += e;
    }
    sum = block_sum(sum);   /* its barriers also publish the sc[] writes */
    float* o = out + (size_t)i * C + h * hs;
    for (int e = threadIdx.x; e < hs; e += blockDim.x) {
        float acc = 0.0f;
        for (int t = 0; t <= P; t++) acc += (sc[t] / sum) * vb[(size_t)t * C + e];
        o[e] = acc;
    }
}

__global__ void kv_fill_kernel(float* kc, float* vc, const float* qkv, int N, int P, int Tc, int C) {
    GRID_STRIDE(idx, (long)N * P * C) {
        long row = idx / C, b = row / P, t = row % P;
        int c = (int)(idx % C);
        const float* q = qkv + row * 3 * C;
        kc[(b * Tc + t) * C + c] = q[C + c];
        vc[(b * Tc + t) * C + c] = q[2 * C + c];
    }
}
static void cu_kv_fill(float* kc, float* vc, const float* qkv, int N, int P, int Tc, int C) {
    if (N <= 0 || P <= 0) return;
    kv_fill_kernel<<<blocks_for((long)N * P * C, BLOCK), BLOCK, 0, g_stream>>>(kc, vc, qkv, N, P, Tc, C);
    LAUNCH_CHECK();
}

static void cu_attention_decode_forward(float* out, float* kc, float* vc, const float* qkv, const int* pos, int N,
                                        int Tc, int C, int NH) {
    if (N <= 0) return;
    kv_store_kernel<<<blocks_for((long)N * C, BLOCK), BLOCK, 0, g_stream>>>(kc, vc, qkv, pos, N, Tc, C);
    LAUNCH_CHECK();
    size_t smem = (size_t)Tc * sizeof(float);
    /* Without opting in, static + dynamic shared memory must fit in 48 KiB; the
     * kernel's static part (block_max / block_sum slots) counts too. */
    static size_t smem_set = 0, static_bytes = (size_t)-1;
    if (static_bytes == (size_t)-1) {
        cudaFuncAttributes fa;
        CUDA_CHECK(cudaFuncGetAttributes(&fa, attention_decode_kernel));
        static_bytes = fa.sharedSizeBytes;
    }
    if (smem + static_bytes > 48 * 1024 && smem > smem_set) {
        int dev, optin = 0;
        CUDA_CHECK(cudaGetDevice(&dev));
        CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
        if (smem + static_bytes > (size_t)optin) fail(__LINE__, "attention_decode_forward: cache too long for shared memory");
        CUDA_CHECK(cudaFuncSetAttribute(attention_decode_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        (int)smem));
        smem_set = smem;
    }
    attention_decode_kernel<<<N * NH, DECODE_BLOCK, smem, g_stream>>>(out, kc, vc, qkv, pos, Tc, C, NH);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* mHC streams */

__global__ void stream_broadcast_kernel(float* out, const float* inp, int BT, int n, int C) {
    GRID_STRIDE(idx, (long)BT * n * C) {
        long bt = idx / ((long)n * C);
        int c = (int)(idx % C);
        out[idx] = inp[bt * C + c];
    }
}

__global__ void stream_sum_kernel(float* out, const float* inp, int BT, int n, int C) {
    GRID_STRIDE(idx, (long)BT * C) {
        long bt = idx / C;
        int c = (int)(idx % C);
        const float* x = inp + bt * n * C + c;
        float acc = x[0];
        for (int i = 1; i < n; i++) acc += x[(size_t)i * C];
        out[idx] = acc;
    }
}

static void cu_stream_broadcast(float* out, const float* inp, int BT, int n, int C) {
    long N = (long)BT * n * C;
    if (N <= 0) return;
    stream_broadcast_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(out, inp, BT, n, C);
    LAUNCH_CHECK();
}

static void cu_stream_sum(float* out, const float* inp, int BT, int n, int C) {
    long N = (long)BT * C;
    if (N <= 0 || n <= 0) return;
    stream_sum_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(out, inp, BT, n, C);
    LAUNCH_CHECK();
}

__device__ __forceinline__ float sigmoid_f(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Per (bt, k): H_pre / H_post gates into H, the res block's logits into hres. */
__global__ void mhc_coeffs_forward_kernel(float* H, float* hres, const float* p, const float* alpha,
                                          const float* bias, int BT, int n) {
    int M = 2 * n + n * n, nn = n * n;
    GRID_STRIDE(idx, (long)BT * M) {
        long bt = idx / M;
        int k = (int)(idx % M);
        float pk = p[idx];
        if (k < n) H[idx] = sigmoid_f(alpha[0] * pk + bias[k]);
        else if (k < 2 * n) H[idx] = 2.0f * sigmoid_f(alpha[1] * pk + bias[k]);
        else hres[bt * nn + (k - 2 * n)] = alpha[2] * pk + bias[k];
    }
}

static void cu_mhc_coeffs_forward(float* H, float* hres, const float* p, const float* alpha, const float* bias,
                                  int BT, int n) {
    long N = (long)BT * (2 * n + n * n);
    if (N <= 0) return;
    mhc_coeffs_forward_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(H, hres, p, alpha, bias, BT, n);
    LAUNCH_CHECK();
}

__global__ void mhc_copy_res_kernel(float* H, const float* Hres, int BT, int n) {
    int M = 2 * n + n * n, nn = n * n;
    GRID_STRIDE(idx, (long)BT * nn) {
        long bt = idx / nn;
        int k = (int)(idx % nn);
        H[bt * M + 2 * n + k] = Hres[idx];
    }
}

/* u[bt, c] = sum_i H_pre[i] x[bt, i, c], i in order */
__global__ void mhc_pre_forward_kernel(float* u, const float* H, const float* x, int BT, int n, int C) {
    int M = 2 * n + n * n;
    GRID_STRIDE(idx, (long)BT * C) {
        long bt = idx / C;
        int c = (int)(idx % C);
        const float* h = H + bt * M;
        const float* xb = x + bt * n * C + c;
        float acc = 0.0f;
        for (int i = 0; i < n; i++) acc += h[i] * xb[(size_t)i * C];
        u[idx] = acc;
    }
}

static void cu_mhc_pre_forward(float* u, float* H, const float* Hres, const float* x, int BT, int n, int C) {
    if (BT <= 0) return;
    mhc_copy_res_kernel<<<blocks_for((long)BT * n * n, BLOCK), BLOCK, 0, g_stream>>>(H, Hres, BT, n);
    LAUNCH_CHECK();
    /* after the copy: same stream, so the res block is in place (not read here anyway) */
    mhc_pre_forward_kernel<<<blocks_for((long)BT * C, BLOCK), BLOCK, 0, g_stream>>>(u, H, x, BT, n, C);
    LAUNCH_CHECK();
}

/* xout[bt, i, c] = H_post[i] y[bt, c] + sum_j H_res[i, j] x[bt, j, c], j in order */
__global__ void mhc_post_forward_kernel(float* xout, const float* H, const float* x, const float* y, int BT, int n,
                                        int C) {
    int M = 2 * n + n * n;
    GRID_STRIDE(idx, (long)BT * n * C) {
        int c = (int)(idx % C);
        long r = idx / C;
        int i = (int)(r % n);
        long bt = r / n;
        const float* h = H + bt * M;
        const float* hr = h + 2 * n + i * n;
        const float* xb = x + bt * n * C + c;
        float acc = h[n + i] * y[bt * C + c];
        for (int j = 0; j < n; j++) acc += hr[j] * xb[(size_t)j * C];
        xout[idx] = acc;
    }
}

static void cu_mhc_post_forward(float* xout, const float* H, const float* x, const float* y, int BT, int n, int C) {
    long N = (long)BT * n * C;
    if (N <= 0) return;
    mhc_post_forward_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(xout, H, x, y, BT, n, C);
    LAUNCH_CHECK();
}

/* One warp per token: xout as mhc_post_forward_kernel computes it (the same
 * per-element sums), then rmsnorm_forward_kernel's arithmetic over the n*C
 * row, reading back what this lane just wrote. */
__global__ void mhc_post_rmsnorm_forward_kernel(float* xout, float* r, float* rms_inv, const float* H, const float* x,
                                                const float* y, int BT, int n, int C, float eps) {
    int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, lane = threadIdx.x & 31;
    if (row >= BT) return;
    int M = 2 * n + n * n, nC = n * C;
    const float* h = H + (size_t)row * M;
    const float* xb = x + (size_t)row * nC;
    float* xo = xout + (size_t)row * nC;
    float ss = 0.0f;
    for (int e = lane; e < nC; e += 32) {
        int i = e / C, c = e % C;
        const float* hr = h + 2 * n + i * n;
        float acc = h[n + i] * y[(size_t)row * C + c];
        for (int j = 0; j < n; j++) acc += hr[j] * xb[(size_t)j * C + c];
        xo[e] = acc;
        ss += acc * acc;
    }
    ss = warp_sum(ss);
    float rinv = 1.0f / sqrtf(ss / nC + eps);
    float* o = r + (size_t)row * nC;
    for (int e = lane; e < nC; e += 32) o[e] = xo[e] * rinv;
    if (lane == 0) rms_inv[row] = rinv;
}

static void cu_mhc_post_rmsnorm_forward(float* xout, float* r, float* rms_inv, const float* H, const float* x,
                                        const float* y, int BT, int n, int C, float eps) {
    if (BT <= 0) return;
    mhc_post_rmsnorm_forward_kernel<<<warp_row_blocks(BT), BLOCK, 0, g_stream>>>(
        xout, r, rms_inv, H, x, y, BT, n, C, eps);
    LAUNCH_CHECK();
}

#define MHC_MAX_N 16

/* Per (bt, c): dy = sum_i H_post[i] dxo_i;  dx_j = sum_i H_res[i, j] dxo_i. */
__global__ void mhc_post_backward_elem_kernel(float* dy, float* dx, const float* dxo, const float* H, int BT, int n,
                                              int C) {
    int M = 2 * n + n * n;
    GRID_STRIDE(idx, (long)BT * C) {
        long bt = idx / C;
        int c = (int)(idx % C);
        const float* h = H + bt * M;
        const float* g = dxo + bt * n * C + c;
        float gi[MHC_MAX_N];
        float acc = 0.0f;
        for (int i = 0; i < n; i++) {
            gi[i] = g[(size_t)i * C];
            acc += h[n + i] * gi[i];
        }
        dy[idx] = acc;
        float* d = dx + bt * n * C + c;
        for (int j = 0; j < n; j++) {
            float a = 0.0f;
            for (int i = 0; i < n; i++) a += h[2 * n + i * n + j] * gi[i];
            d[(size_t)j * C] = a;
        }
    }
}

/* One block per bt, a warp per dot product:
 * dHpost[i] = <dxo_i, y>  (i < n),  dHres[i, j] = <dxo_i, x_j>. */
__global__ void mhc_post_backward_dots_kernel(float* dHpost, float* dHres, const float* dxo, const float* x,
                                              const float* y, int n, int C) {
    long bt = blockIdx.x;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    int nn = n * n;
    const float* g = dxo + bt * n * C;
    const float* xb = x + bt * n * C;
    const float* yb = y + bt * C;
    for (int d = warp; d < n + nn; d += nwarps) {
        const float* a;
        const float* b;
        if (d < n) { a = g + (size_t)d * C; b = yb; }
        else { int i = (d - n) / n, j = (d - n) % n; a = g + (size_t)i * C; b = xb + (size_t)j * C; }
        float s = 0.0f;
        for (int c = lane; c < C; c += 32) s += a[c] * b[c];
        s = warp_sum(s);
        if (lane == 0) {
            if (d < n) dHpost[bt * n + d] = s;
            else dHres[bt * nn + (d - n)] = s;
        }
    }
}

/* Sums of NV per-thread values over the block, in a fixed tree (each value
 * warp-reduced, then the warps' results added in warp order); thread t < NV
 * returns value t's total. blockDim.x a multiple of 32, at most 1024. */
template <int NV> __device__ float block_sums(float* v) {
    __shared__ float sh[32][NV];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int k = 0; k < NV; k++) {
        float s = warp_sum(v[k]);
        if (lane == 0) sh[w][k] = s;
    }
    __syncthreads();
    float total = 0.0f;
    if ((int)threadIdx.x < NV)
        for (int i = 0; i < nw; i++) total += sh[i][threadIdx.x];
    __syncthreads();   /* sh is free again for a next call */
    return total;
}

#define MHC_FUSED_N 4   /* the one-pass backward kernels hold n + n*n sums a thread */

/* One block per token, one pass over dxo, x and y: dy, dx (as the elem kernel)
 * and the dots dHpost, dHres (block sums). */
template <int N>
__global__ void mhc_post_backward_kernel(float* dy, float* dx, float* dHpost, float* dHres, const float* dxo,
                                         const float* H, const float* x, const float* y, int C) {
    const int M = 2 * N + N * N;
    long bt = blockIdx.x;
    const float* h = H + bt * M;
    const float* g = dxo + bt * N * C;
    const float* xb = x + bt * N * C;
    float acc[N + N * N];
    for (int k = 0; k < N + N * N; k++) acc[k] = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float gi[N], xj[N], yc = y[bt * C + c], s = 0.0f;
        for (int i = 0; i < N; i++) {
            gi[i] = g[(size_t)i * C + c];
            xj[i] = xb[(size_t)i * C + c];
            s += h[N + i] * gi[i];
        }
        dy[bt * C + c] = s;
        for (int j = 0; j < N; j++) {
            float a = 0.0f;
            for (int i = 0; i < N; i++) a += h[2 * N + i * N + j] * gi[i];
            dx[bt * N * C + (size_t)j * C + c] = a;
        }
        for (int i = 0; i < N; i++) {
            acc[i] += gi[i] * yc;
            for (int j = 0; j < N; j++) acc[N + i * N + j] += gi[i] * xj[j];
        }
    }
    float t = block_sums<N + N * N>(acc);
    if ((int)threadIdx.x < N) dHpost[bt * N + threadIdx.x] = t;
    else if ((int)threadIdx.x < N + N * N) dHres[bt * N * N + threadIdx.x - N] = t;
}

/* One block per token: dx_i += H_pre[i] du and dHpre[i] = <du, x_i> in one pass. */
template <int N>
__global__ void mhc_pre_backward_kernel(float* dx, float* dHpre, const float* du, const float* H, const float* x,
                                        int C) {
    const int M = 2 * N + N * N;
    long bt = blockIdx.x;
    const float* h = H + bt * M;
    float acc[N];
    for (int i = 0; i < N; i++) acc[i] = 0.0f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float u = du[bt * C + c];
        for (int i = 0; i < N; i++) {
            size_t o = (size_t)(bt * N + i) * C + c;
            acc[i] += u * x[o];
            dx[o] += h[i] * u;
        }
    }
    float t = block_sums<N>(acc);
    if ((int)threadIdx.x < N) dHpre[bt * N + threadIdx.x] = t;
}

#define MHC_BLOCK 128

static void cu_mhc_post_backward(float* dy, float* dx, float* dHpost, float* dHres, const float* dxo, const float* H,
                                 const float* x, const float* y, int BT, int n, int C) {
    if (BT <= 0) return;
    if (n > MHC_MAX_N) fail(__LINE__, "mhc_post_backward: n > 16 is not supported");
    if (n >= 2 && n <= MHC_FUSED_N) {
        void (*k)(float*, float*, float*, float*, const float*, const float*, const float*, const float*, int) =
            n == 2 ? mhc_post_backward_kernel<2> : n == 3 ? mhc_post_backward_kernel<3> : mhc_post_backward_kernel<4>;
        k<<<BT, MHC_BLOCK, 0, g_stream>>>(dy, dx, dHpost, dHres, dxo, H, x, y, C);
        LAUNCH_CHECK();
        return;
    }
    mhc_post_backward_elem_kernel<<<blocks_for((long)BT * C, BLOCK), BLOCK, 0, g_stream>>>(dy, dx, dxo, H, BT, n, C);
    LAUNCH_CHECK();
    mhc_post_backward_dots_kernel<<<BT, BLOCK, 0, g_stream>>>(dHpost, dHres, dxo, x, y, n, C);
    LAUNCH_CHECK();
}

/* dx[bt, i, c] += H_pre[i] du[bt, c] */
__global__ void mhc_pre_backward_elem_kernel(float* dx, const float* du, const float* H, int BT, int n, int C) {
    int M = 2 * n + n * n;
    GRID_STRIDE(idx, (long)BT * n * C) {
        int c = (int)(idx % C);
        long r = idx / C;
        int i = (int)(r % n);
        long bt = r / n;
        dx[idx] += H[bt * M + i] * du[bt * C + c];
    }
}

/* One block per bt, a warp per i: dHpre[bt, i] = <du, x_i>. */
__global__ void mhc_pre_backward_dots_kernel(float* dHpre, const float* du, const float* x, int n, int C) {
    long bt = blockIdx.x;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const float* ub = du + bt * C;
    for (int i = warp; i < n; i += nwarps) {
        const float* xb = x + (bt * n + i) * C;
        float s = 0.0f;
        for (int c = lane; c < C; c += 32) s += ub[c] * xb[c];
        s = warp_sum(s);
        if (lane == 0) dHpre[bt * n + i] = s;
    }
}

static void cu_mhc_pre_backward(float* dx, float* dHpre, const float* du, const float* H, const float* x, int BT,
                                int n, int C) {
    if (BT <= 0) return;
    if (n >= 2 && n <= MHC_FUSED_N) {
        void (*k)(float*, float*, const float*, const float*, const float*, int) =
            n == 2 ? mhc_pre_backward_kernel<2> : n == 3 ? mhc_pre_backward_kernel<3> : mhc_pre_backward_kernel<4>;
        k<<<BT, MHC_BLOCK, 0, g_stream>>>(dx, dHpre, du, H, x, C);
        LAUNCH_CHECK();
        return;
    }
    mhc_pre_backward_elem_kernel<<<blocks_for((long)BT * n * C, BLOCK), BLOCK, 0, g_stream>>>(dx, du, H, BT, n, C);
    LAUNCH_CHECK();
    mhc_pre_backward_dots_kernel<<<BT, BLOCK, 0, g_stream>>>(dHpre, du, x, n, C);
    LAUNCH_CHECK();
}

/* dq = dL/d(pre-activation) of coefficient k of token bt:
 * sigma' for the pre block, (2 sigma)' for the post block, dres for the res block. */
__device__ __forceinline__ float mhc_dq(long bt, int k, int n, const float* dHpre, const float* dHpost,
                                        const float* dres, const float* H) {
    int M = 2 * n + n * n;
    if (k < n) { float h = H[bt * M + k]; return dHpre[bt * n + k] * h * (1.0f - h); }
    if (k < 2 * n) { float h = H[bt * M + k]; return dHpost[bt * n + (k - n)] * h * (1.0f - 0.5f * h); }
    return dres[bt * n * n + (k - 2 * n)];
}
__device__ __forceinline__ int mhc_seg(int k, int n) { return k < n ? 0 : k < 2 * n ? 1 : 2; }

__global__ void mhc_coeffs_backward_dp_kernel(float* dp, const float* dHpre, const float* dHpost, const float* dres,
                                              const float* H, const float* alpha, int BT, int n) {
    int M = 2 * n + n * n;
    GRID_STRIDE(idx, (long)BT * M) {
        long bt = idx / M;
        int k = (int)(idx % M);
        dp[idx] = alpha[mhc_seg(k, n)] * mhc_dq(bt, k, n, dHpre, dHpost, dres, H);
    }
}

/* Per row chunk and column k, in double: pb = sum dq, pa = sum dq p. */
__global__ void mhc_coeffs_backward_partial_kernel(double* pb, double* pa, const float* dHpre, const float* dHpost,
                                                   const float* dres, const float* H, const float* p, int BT, int n,
                                                   int rpc) {
    int M = 2 * n + n * n;
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= M) return;
    int r0 = blockIdx.y * rpc, r1 = min(r0 + rpc, BT);
    double sb = 0.0, sa = 0.0;
    for (int bt = r0; bt < r1; bt++) {
        float dq = mhc_dq(bt, k, n, dHpre, dHpost, dres, H);
        sb += (double)dq;
        sa += (double)dq * (double)p[(size_t)bt * M + k];
    }
    pb[(size_t)blockIdx.y * M + k] = sb;
    pa[(size_t)blockIdx.y * M + k] = sa;
}

/* One block: dbias[k] += sum over chunks; dalpha[s] += sum over k in s (in
 * order) of the per-column sums of dq p. */
#define MHC_MAX_M (2 * MHC_MAX_N + MHC_MAX_N * MHC_MAX_N)
__global__ void mhc_coeffs_backward_finalize_kernel(float* dalpha, float* dbias, const double* pb, const double* pa,
                                                    int nchunks, int n) {
    __shared__ double colsa[MHC_MAX_M];
    int M = 2 * n + n * n;
    for (int k = threadIdx.x; k < M; k += blockDim.x) {
        double sb = 0.0, sa = 0.0;
        for (int ch = 0; ch < nchunks; ch++) {
            sb += pb[(size_t)ch * M + k];
            sa += pa[(size_t)ch * M + k];
        }
        dbias[k] += (float)sb;
        colsa[k] = sa;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int s = 0; s < 3; s++) {
            int lo = s == 0 ? 0 : s == 1 ? n : 2 * n, hi = s == 0 ? n : s == 1 ? 2 * n : M;
            double acc = 0.0;
            for (int k = lo; k < hi; k++) acc += colsa[k];
            dalpha[s] += (float)acc;
        }
    }
}

static void cu_mhc_coeffs_backward(float* dp, float* dalpha, float* dbias, const float* dHpre, const float* dHpost,
                                   const float* dres, const float* H, const float* p, const float* alpha, int BT,
                                   int n) {
    if (BT <= 0) return;
    if (n > MHC_MAX_N) fail(__LINE__, "mhc_coeffs_backward: n > 16 is not supported");
    int M = 2 * n + n * n;
    mhc_coeffs_backward_dp_kernel<<<blocks_for((long)BT * M, BLOCK), BLOCK, 0, g_stream>>>(
        dp, dHpre, dHpost, dres, H, alpha, BT, n);
    LAUNCH_CHECK();
    int rpc, nchunks = row_chunks(BT, &rpc);
    double* pb = (double*)scratch_get(&g_red_scratch, 2 * (size_t)nchunks * M * sizeof(double));
    double* pa = pb + (size_t)nchunks * M;
    dim3 grid((M + 127) / 128, nchunks);
    mhc_coeffs_backward_partial_kernel<<<grid, 128, 0, g_stream>>>(pb, pa, dHpre, dHpost, dres, H, p, BT, n, rpc);
    LAUNCH_CHECK();
    mhc_coeffs_backward_finalize_kernel<<<1, BLOCK, 0, g_stream>>>(dalpha, dbias, pb, pa, nchunks, n);
    LAUNCH_CHECK();
}

/* ------------------------------------------------------------------------ */
/* vector helpers */

__global__ void axpy_kernel(float* y, float a, const float* x, long N) { GRID_STRIDE(i, N) y[i] += a * x[i]; }
__global__ void scale_kernel(float* y, float a, long N) { GRID_STRIDE(i, N) y[i] *= a; }
__global__ void ema_kernel(float* phi, const float* theta, long N, float decay) {
    GRID_STRIDE(i, N) phi[i] = decay * phi[i] + (1.0f - decay) * theta[i];
}

static void cu_axpy(float* y, float a, const float* x, long N) {
    if (N <= 0) return;
    axpy_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(y, a, x, N);
    LAUNCH_CHECK();
}
static void cu_scale(float* y, float a, long N) {
    if (N <= 0) return;
    scale_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(y, a, N);
    LAUNCH_CHECK();
}
static void cu_ema_update(float* phi, const float* theta, long N, float decay) {
    if (N <= 0) return;
    ema_kernel<<<blocks_for(N, BLOCK), BLOCK, 0, g_stream>>>(phi, theta, N, decay);
    LAUNCH_CHECK();
}

/* A fixed grid of SUMSQ_BLOCKS partial sums in double (each thread its own
 * grid-stride slice, then a fixed block tree); the host adds them in order. */
#define SUMSQ_BLOCKS 256
__global__ void sumsq_kernel(double* partial, const float* x, long N) {
    double acc = 0.0;
    GRID_STRIDE(i, N) { double v = x[i]; acc += v * v; }
    acc = block_sum(acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

static double cu_sumsq(const float* x, long N) {
    if (N <= 0) return 0.0;
    double* partial = (double*)scratch_get(&g_red_scratch, SUMSQ_BLOCKS * sizeof(double));
    sumsq_kernel<<<SUMSQ_BLOCKS, BLOCK, 0, g_stream>>>(partial, x, N);
    LAUNCH_CHECK();
    double host[SUMSQ_BLOCKS];
    host_copy(host, partial, sizeof host, cudaMemcpyDeviceToHost);
    double s = 0.0;
    for (int i = 0; i < SUMSQ_BLOCKS; i++) s += host[i];
    return s;
}

/* ------------------------------------------------------------------------ */
/* CUDA graphs (kernels.h): stream capture of g_stream */

typedef struct {
    cudaGraphExec_t exec;
    unsigned long gen;   /* g_scratch_gen when captured */
} Graph;

static int g_graphs_broken = 0;   /* a capture failed: no more graphs this process */

static int cu_graph_begin(void) {
    if (g_capturing) fail(__LINE__, "graph_begin: already capturing");
    if (g_graphs_broken) return 0;
    g_capture_error[0] = 0;
    /* thread-local: a call on this thread that would synchronise fails at once */
    CUDA_CHECK(cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeThreadLocal));
    g_capturing = 1;
    return 1;
}
/* Says once why graphs are off from now on; the run goes on without them. */
static void* graphs_off(const char* why, cudaError_t e) {
    (void)cudaGetLastError();
    g_graphs_broken = 1;
    fprintf(stderr, "kernels_cuda: a CUDA graph could not be captured (%s%s%s); running without graphs\n",
            why[0] ? why : "", why[0] && e != cudaSuccess ? "; " : "", e != cudaSuccess ? cudaGetErrorString(e) : "");
    return NULL;
}
static void* cu_graph_end(void) {
    if (!g_capturing) fail(__LINE__, "graph_end: not capturing");
    cudaGraph_t graph = NULL;
    cudaError_t e = cudaStreamEndCapture(g_stream, &graph);
    g_capturing = 0;
    if (e != cudaSuccess || !graph || g_capture_error[0]) {
        if (graph) (void)cudaGraphDestroy(graph);
        return graphs_off(g_capture_error, e);
    }
    Graph* g = (Graph*)malloc(sizeof *g);
    if (!g) fail(__LINE__, "graph_end: out of host memory");
    e = cudaGraphInstantiate(&g->exec, graph, 0);
    CUDA_CHECK(cudaGraphDestroy(graph));
    if (e != cudaSuccess) {
        free(g);
        return graphs_off("cudaGraphInstantiate", e);
    }
    g->gen = g_scratch_gen;
    return g;
}
static int cu_graph_launch(void* graph) {
    Graph* g = (Graph*)graph;
    if (g->gen != g_scratch_gen) return 0;
    CUDA_CHECK(cudaGraphLaunch(g->exec, g_stream));
    return 1;
}
static void cu_graph_free(void* graph) {
    if (!graph) return;
    CUDA_CHECK(cudaStreamSynchronize(g_stream));   /* not while a launch of it may still run */
    CUDA_CHECK(cudaGraphExecDestroy(((Graph*)graph)->exec));
    free(graph);
}

/* ------------------------------------------------------------------------ */
/* the table */

static KernelOps g_ops;

/* The profiled entries (profile.h): the memory operations, then every kernel. */
#define P(f) P_##f,
enum { P(upload) P(download) P(copy) P(zero) KERNEL_LIST(P) P_COUNT };
#undef P
#define P(f) #f,
static const char* const g_prof_names[P_COUNT] = {P(upload) P(download) P(copy) P(zero) KERNEL_LIST(P)};
#undef P

extern "C" const KernelOps* kernels_cuda_init(int bf16, char* err, size_t errlen) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        if (err && errlen)
            snprintf(err, errlen, "--device cuda: no usable GPU (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device found");
        (void)cudaGetLastError();   /* clear the error so later runtime calls do not report it */
        return NULL;
    }
    if (!g_lt) {
        CUDA_CHECK(cudaSetDevice(0));
        CUBLAS_CHECK(cublasLtCreate(&g_lt));
        CUBLAS_CHECK(cublasCreate(&g_cublas));
        CUDA_CHECK(cudaStreamCreate(&g_stream));
        CUDA_CHECK(cudaMalloc(&g_lt_ws, LT_WS_BYTES));
        CUBLAS_CHECK(cublasSetStream(g_cublas, g_stream));
        /* its own workspace, so it allocates nothing while a graph is captured */
        CUBLAS_CHECK(cublasSetWorkspace(g_cublas, g_lt_ws, LT_WS_BYTES));
    }
    g_bf16 = bf16 ? 1 : 0;
    const char* att = getenv("DD_CUDA_ATTENTION");   /* the fused attention on (default) or off */
    int materialised = att && (!strcmp(att, "materialised") || !strcmp(att, "materialized"));
    if (att && *att && !materialised && strcmp(att, "flash")) {
        if (err && errlen) snprintf(err, errlen, "DD_CUDA_ATTENTION=%s: expected flash or materialised", att);
        return NULL;
    }
    g_flash = !materialised;
    const char* ge = getenv("DD_CUDA_GELU_EPILOGUE");   /* cuBLASLt's GELU epilogues on (default) or off */
    if (ge && *ge && strcmp(ge, "on") && strcmp(ge, "off")) {
        if (err && errlen) snprintf(err, errlen, "DD_CUDA_GELU_EPILOGUE=%s: expected on or off", ge);
        return NULL;
    }
    g_gelu_epilogue = !(ge && !strcmp(ge, "off"));
    const char* gr = getenv("DD_CUDA_GRAPHS");   /* CUDA graphs of the model's passes on (default) or off */
    if (gr && *gr && strcmp(gr, "on") && strcmp(gr, "off")) {
        if (err && errlen) snprintf(err, errlen, "DD_CUDA_GRAPHS=%s: expected on or off", gr);
        return NULL;
    }
    int graphs = !(gr && !strcmp(gr, "off"));

    static char device_name[256];
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    snprintf(device_name, sizeof device_name, "%s", prop.name);

    KernelOps* o = &g_ops;
    o->name = "cuda";
    o->device_name = device_name;
    o->precision = g_bf16 ? "bf16" : "fp32";
    o->alloc = cu_alloc;
    o->release = cu_release;
    o->synchronize = cu_synchronize;
    o->attention_fused = cu_attention_fused;
    o->graph_begin = NULL, o->graph_end = NULL, o->graph_launch = NULL, o->graph_free = NULL;
    if (prof::start(g_prof_names, g_stream)) {   /* DD_CUDA_PROFILE: every entry timed (profile.h), no graphs */
        o->profile_reset = prof::reset;
#define T(f) o->f = Timed<P_##f, P_matmul_forward, P_matmul_backward, decltype(&cu_##f), &cu_##f>::call;
        T(upload) T(download) T(copy) T(zero)
        KERNEL_LIST(T)
#undef T
    } else {
        o->profile_reset = NULL;
        o->upload = cu_upload;
        o->download = cu_download;
        o->copy = cu_copy;
        o->zero = cu_zero;
        if (graphs) o->graph_begin = cu_graph_begin, o->graph_end = cu_graph_end, o->graph_launch = cu_graph_launch,
                    o->graph_free = cu_graph_free;
#define K(f) o->f = cu_##f;
        KERNEL_LIST(K)
#undef K
    }
    return o;
}
