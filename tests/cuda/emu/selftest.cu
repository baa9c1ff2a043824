/* selftest: the CUDA emulator's own checks (tests/tools/test_cuda_emu.sh).
 *   selftest MODE
 * ok        block reductions with shuffles, static and dynamic shared memory,
 *           a 2-D grid, cuBLAS and cuBLASLt products (every transpose, beta,
 *           bias epilogue, batches) against plain loops; prints "ok"
 * race      a kernel that reads shared memory before the barrier that
 *           publishes it: prints "stale" (threads in index order) or, with
 *           CUDA_EMU_ORDER=reverse, "fresh": the race shows as a difference
 * config    a launch of 2048 threads a block: cudaGetLastError must report it
 * Modes the emulator must stop (abort, "cuda-emu: ..." on stderr):
 * divergent (a barrier and a shuffle in different branches), partial (a
 * full-mask shuffle after lanes returned), host_pointer (a host pointer as a
 * kernel argument), overrun (a read past the end of a cudaMalloc block),
 * gemm_range (a GEMM operand larger than its block), wmma_misaligned (a warp
 * matrix load from a pointer that is not 32-byte aligned), wmma_divergent (a
 * warp matrix operation on half the lanes). "ok" also checks the bf16
 * conversions and every WMMA load/store layout against plain loops. */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                          \
    do {                                                                  \
        if (!(x)) {                                                       \
            fprintf(stderr, "selftest.cu:%d: check failed: %s\n", __LINE__, #x); \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

__device__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ float block_sum(float v) {
    __shared__ float sh[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.0f;
    return warp_sum(v);
}

/* out[blockIdx.y * gridDim.x + blockIdx.x] = sum of the block's row of x;
 * each thread's value goes through dynamic shared memory first (reversed). */
__global__ void rowsum_kernel(float* out, const float* x, int n) {
    extern __shared__ float tmp[];
    int row = blockIdx.y * gridDim.x + blockIdx.x;
    float v = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) v += x[(size_t)row * n + i];
    tmp[blockDim.x - 1 - threadIdx.x] = v;
    __syncthreads();
    v = block_sum(tmp[threadIdx.x]);
    if (threadIdx.x == 0) out[row] = v;
}

/* Thread 0 reads what thread 1 writes, with no barrier in between. */
__global__ void race_kernel(float* out) {
    __shared__ float s;
    if (threadIdx.x == 0) s = -7.0f;
    __syncthreads();
    if (threadIdx.x == 1) s = 2.0f;
    if (threadIdx.x == 0) out[0] = s;
}

__global__ void divergent_kernel(float* out) {
    float v = 1.0f;
    if ((threadIdx.x & 31) < 16) __syncthreads();   /* half a warp at the barrier, half at a shuffle */
    else v = warp_sum(v);
    out[threadIdx.x] = v;
}

__global__ void partial_kernel(float* out) {
    if ((threadIdx.x & 31) < 16) return;
    out[threadIdx.x] = warp_sum(1.0f);
}

__global__ void copy_kernel(float* dst, const float* src, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = src[i];
}
__global__ void overrun_kernel(float* dst, const float* src, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = src[i + 4096];
}

/* One warp: D (stored column-major) = C + A B on 16x16x16 bf16 tiles; B is read
 * column-major (bcol) or row-major; `misalign` elements shift A's tile. */
__global__ void wmma_kernel(float* D, const float* A, const float* B, const float* Cm, int bcol, int misalign) {
    __shared__ __align__(32) __nv_bfloat16 a[256 + 16];
    __shared__ __align__(32) __nv_bfloat16 b[256];
    __shared__ __align__(32) float c[256];
    for (int i = threadIdx.x; i < 256; i += 32) {
        a[i + misalign] = __float2bfloat16(A[i]);
        b[i] = __float2bfloat16(B[i]);
        c[i] = Cm[i];
    }
    __syncwarp();
    nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __nv_bfloat16, nvcuda::wmma::row_major> fa;
    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> fc;
    nvcuda::wmma::load_matrix_sync(fa, a + misalign, 16);
    nvcuda::wmma::load_matrix_sync(fc, c, 16, nvcuda::wmma::mem_row_major);
    if (bcol) {
        nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, __nv_bfloat16, nvcuda::wmma::col_major> fb;
        nvcuda::wmma::load_matrix_sync(fb, b, 16);
        nvcuda::wmma::mma_sync(fc, fa, fb, fc);
    } else {
        nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, __nv_bfloat16, nvcuda::wmma::row_major> fb;
        nvcuda::wmma::load_matrix_sync(fb, b, 16);
        nvcuda::wmma::mma_sync(fc, fa, fb, fc);
    }
    nvcuda::wmma::store_matrix_sync(D, fc, 16, nvcuda::wmma::mem_col_major);
}
__global__ void wmma_divergent_kernel(float* D) {
    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> fc;
    if (threadIdx.x < 16) {
        nvcuda::wmma::fill_fragment(fc, 1.0f);
        nvcuda::wmma::store_matrix_sync(D, fc, 16, nvcuda::wmma::mem_row_major);
    }
}

static float frand(unsigned* s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f - 0.5f;
}

static float* dev_upload(const float* h, size_t n) {
    float* d;
    CHECK(cudaMalloc(&d, n * sizeof(float)) == cudaSuccess);
    CHECK(cudaMemcpy(d, h, n * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
    return d;
}

/* Column-major reference: C = alpha op(A) op(B) + beta C (+ bias[i]). */
static void ref_gemm(int ta, int tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B,
                     int ldb, float beta, float* C, int ldc, const float* bias) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double acc = 0;
            for (int p = 0; p < k; p++) {
                float a = ta ? A[i * lda + p] : A[p * lda + i];
                float b = tb ? B[p * ldb + j] : B[j * ldb + p];
                acc += (double)a * b;
            }
            C[j * ldc + i] = (float)(alpha * acc + beta * C[j * ldc + i] + (bias ? bias[i] : 0.0f));
        }
}

static double max_diff(const float* a, const float* b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* FAST_16BF rounds the operands to bf16: 1 + 2^-10 becomes 1. */
static void check_bf16(void) {
    float a[1] = {1.0f + 1.0f / 1024}, b[1] = {3.0f}, c[1] = {0};
    float *da = dev_upload(a, 1), *db = dev_upload(b, 1), *dc = dev_upload(c, 1), alpha = 1, beta = 0;
    cublasHandle_t h;
    CHECK(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
    CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &alpha, da, CUDA_R_32F, 1, 0, db,
                                     CUDA_R_32F, 1, 0, &beta, dc, CUDA_R_32F, 1, 0, 1, CUBLAS_COMPUTE_32F_FAST_16BF,
                                     CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
    CHECK(cudaMemcpy(c, dc, 4, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(c[0] == 3.0f);
    CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &alpha, da, CUDA_R_32F, 1, 0, db,
                                     CUDA_R_32F, 1, 0, &beta, dc, CUDA_R_32F, 1, 0, 1, CUBLAS_COMPUTE_32F,
                                     CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
    CHECK(cudaMemcpy(c, dc, 4, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(c[0] == 3.0f * (1.0f + 1.0f / 1024));
}

static float bf(float x) { return __bfloat162float(__float2bfloat16(x)); }

static void check_wmma(void) {
    /* round to nearest even at the 8th mantissa bit; NaN stays NaN */
    CHECK(bf(1.0f + 1.0f / 256) == 1.0f);                     /* a tie, down to even */
    CHECK(bf(1.0f + 3.0f / 256) == 1.0f + 4.0f / 256);        /* a tie, up to even */
    CHECK(bf(1.0f + 1.0f / 256 + 1.0f / 4096) == 1.0f + 2.0f / 256);
    CHECK(bf(-3.0f) == -3.0f && isnan(bf(NAN)) && isinf(bf(INFINITY)));
    unsigned s = 11;
    float A[256], B[256], C[256], D[256];
    for (int i = 0; i < 256; i++) { A[i] = frand(&s); B[i] = frand(&s); C[i] = frand(&s); }
    float *dA = dev_upload(A, 256), *dB = dev_upload(B, 256), *dC = dev_upload(C, 256), *dD = dev_upload(C, 256);
    for (int bcol = 0; bcol < 2; bcol++) {
        wmma_kernel<<<1, 32>>>(dD, dA, dB, dC, bcol, 0);
        CHECK(cudaMemcpy(D, dD, sizeof D, cudaMemcpyDeviceToHost) == cudaSuccess);
        double err = 0;
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 16; j++) {
                double r = C[i * 16 + j];
                for (int k = 0; k < 16; k++) r += (double)bf(A[i * 16 + k]) * bf(bcol ? B[j * 16 + k] : B[k * 16 + j]);
                err = fmax(err, fabs(r - D[j * 16 + i]));   /* D column-major */
            }
        CHECK(err < 1e-5);
    }
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);
    cudaFree(dD);
}

static void check_gemms(void) {
    unsigned s = 7;
    int m = 5, n = 7, k = 3, batch = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? k : m) + 1, ldb = (tb ? n : k) + 2, ldc = m + 3;
            size_t sa = (size_t)lda * (ta ? m : k), sb = (size_t)ldb * (tb ? k : n), sc = (size_t)ldc * n;
            float *A = (float*)malloc(sa * batch * 4), *B = (float*)malloc(sb * batch * 4);
            float *C = (float*)malloc(sc * batch * 4), *R = (float*)malloc(sc * batch * 4);
            float bias[5];
            for (size_t i = 0; i < sa * batch; i++) A[i] = frand(&s);
            for (size_t i = 0; i < sb * batch; i++) B[i] = frand(&s);
            for (size_t i = 0; i < sc * batch; i++) C[i] = R[i] = frand(&s);
            for (int i = 0; i < m; i++) bias[i] = frand(&s);
            float *dA = dev_upload(A, sa * batch), *dB = dev_upload(B, sb * batch), *dC = dev_upload(C, sc * batch);
            float *dbias = dev_upload(bias, m), alpha = 1.5f, beta = 0.5f;

            cublasHandle_t h;
            CHECK(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
            CHECK(cublasGemmStridedBatchedEx(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k,
                                             &alpha, dA, CUDA_R_32F, lda, (long long)sa, dB, CUDA_R_32F, ldb,
                                             (long long)sb, &beta, dC, CUDA_R_32F, ldc, (long long)sc, batch,
                                             CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
            for (int b = 0; b < batch; b++)
                ref_gemm(ta, tb, m, n, k, alpha, A + b * sa, lda, B + b * sb, ldb, beta, R + b * sc, ldc, NULL);
            CHECK(cudaMemcpy(C, dC, sc * batch * 4, cudaMemcpyDeviceToHost) == cudaSuccess);
            CHECK(max_diff(C, R, sc * batch) < 1e-5);

            /* cuBLASLt, batch 0 only, with the bias epilogue */
            cublasLtHandle_t lt;
            cublasLtMatmulDesc_t desc;
            cublasLtMatrixLayout_t la, lb, lc;
            CHECK(cublasLtCreate(&lt) == CUBLAS_STATUS_SUCCESS);
            CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F) == CUBLAS_STATUS_SUCCESS);
            cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
            cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
            CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &oa, sizeof oa) == 0);
            CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &ob, sizeof ob) == 0);
            CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi) == 0);
            CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &dbias, sizeof dbias) == 0);
            CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, 2) ==
                  CUBLAS_STATUS_INVALID_VALUE);   /* attribute sizes are checked */
            CHECK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, ta ? k : m, ta ? m : k, lda) == 0);
            CHECK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, tb ? n : k, tb ? k : n, ldb) == 0);
            CHECK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, m, n, ldc) == 0);
            cublasLtMatmulPreference_t pref;
            cublasLtMatmulHeuristicResult_t res;
            int got = 0;
            CHECK(cublasLtMatmulPreferenceCreate(&pref) == 0);
            CHECK(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 1, &res, &got) == 0 && got == 1);
            CHECK(cublasLtMatmul(lt, desc, &alpha, dA, la, dB, lb, &beta, dC, lc, dC, lc, &res.algo, NULL, 0, 0) == 0);
            ref_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, R, ldc, bias);
            CHECK(cudaMemcpy(C, dC, sc * 4, cudaMemcpyDeviceToHost) == cudaSuccess);
            CHECK(max_diff(C, R, sc) < 1e-5);
            /* a layout that does not match the product is refused */
            CHECK(cublasLtMatmul(lt, desc, &alpha, dA, lb, dB, la, &beta, dC, lc, dC, lc, &res.algo, NULL, 0, 0) ==
                  CUBLAS_STATUS_INVALID_VALUE || (ta ? k : m) == (tb ? n : k));
            cublasLtMatrixLayoutDestroy(la);
            cublasLtMatrixLayoutDestroy(lb);
            cublasLtMatrixLayoutDestroy(lc);
            cublasLtMatmulDescDestroy(desc);
            cublasLtMatmulPreferenceDestroy(pref);
            cudaFree(dA);
            cudaFree(dB);
            cudaFree(dC);
            cudaFree(dbias);
            free(A);
            free(B);
            free(C);
            free(R);
        }
}

__global__ void add_one_kernel(float* d, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) d[i] += 1.0f;
}

/* Stream capture: nothing recorded runs until the graph is launched; each launch
 * runs it all again, in order (a set, then two increments). */
static void check_graphs(float* d) {
    cudaStream_t s;
    CHECK(cudaStreamCreate(&s) == cudaSuccess);
    float h[64];
    for (int i = 0; i < 64; i++) h[i] = 5.0f;
    CHECK(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice) == cudaSuccess);
    CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
    CHECK(cudaMemsetAsync(d, 0, sizeof h, s) == cudaSuccess);
    add_one_kernel<<<2, 32, 0, s>>>(d, 64);
    add_one_kernel<<<2, 32, 0, s>>>(d, 64);
    cudaGraph_t g;
    cudaGraphExec_t x;
    CHECK(cudaStreamEndCapture(s, &g) == cudaSuccess);
    CHECK(cudaGraphInstantiate(&x, g, 0) == cudaSuccess);
    CHECK(cudaGraphDestroy(g) == cudaSuccess);
    CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(h[0] == 5.0f && h[63] == 5.0f);   /* recorded, not run */
    for (int rep = 0; rep < 2; rep++) {
        CHECK(cudaGraphLaunch(x, s) == cudaSuccess);
        CHECK(cudaStreamSynchronize(s) == cudaSuccess);
        CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost) == cudaSuccess);
        CHECK(h[0] == 2.0f && h[63] == 2.0f);
    }
    CHECK(cudaGraphExecDestroy(x) == cudaSuccess);
    CHECK(cudaStreamDestroy(s) == cudaSuccess);
}

/* Asynchrony: a copy from pinned memory reads it when the copy runs (after
 * the host changed it here), one from pageable memory takes it at the call. */
static void check_async(float* d) {
    cudaStream_t s;
    CHECK(cudaStreamCreate(&s) == cudaSuccess);
    float *pinned, pageable[64], h[64];
    CHECK(cudaMallocHost((void**)&pinned, sizeof h) == cudaSuccess);
    for (int i = 0; i < 64; i++) pinned[i] = 1.0f, pageable[i] = 3.0f;
    CHECK(cudaMemcpyAsync(d, pinned, sizeof h, cudaMemcpyHostToDevice, s) == cudaSuccess);
    for (int i = 0; i < 64; i++) pinned[i] = 2.0f;
    CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(h[0] == 2.0f && h[63] == 2.0f);
    CHECK(cudaMemcpyAsync(d, pageable, sizeof h, cudaMemcpyHostToDevice, s) == cudaSuccess);
    for (int i = 0; i < 64; i++) pageable[i] = 4.0f;
    add_one_kernel<<<2, 32, 0, s>>>(d, 64);
    CHECK(cudaStreamSynchronize(s) == cudaSuccess);
    CHECK(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost) == cudaSuccess);
    CHECK(h[0] == 4.0f && h[63] == 4.0f);   /* 3, then the kernel's +1 */
    CHECK(cudaFreeHost(pinned) == cudaSuccess);
    CHECK(cudaStreamDestroy(s) == cudaSuccess);
}

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "ok";
    float* d;
    CHECK(cudaMalloc(&d, 4096 * sizeof(float)) == cudaSuccess);
    if (!strcmp(mode, "ok")) {
        int gx = 3, gy = 2, rows = gx * gy, n = 1000;
        float* h = (float*)malloc((size_t)rows * n * 4);
        unsigned s = 1;
        for (int i = 0; i < rows * n; i++) h[i] = frand(&s);
        float* dx = dev_upload(h, (size_t)rows * n);
        rowsum_kernel<<<dim3(gx, gy), 256, 256 * sizeof(float)>>>(d, dx, n);
        CHECK(cudaGetLastError() == cudaSuccess);
        float out[6];
        CHECK(cudaMemcpy(out, d, sizeof out, cudaMemcpyDeviceToHost) == cudaSuccess);
        for (int r = 0; r < rows; r++) {
            double ref = 0;
            for (int i = 0; i < n; i++) ref += h[r * n + i];
            CHECK(fabs(out[r] - ref) < 1e-4);
        }
        check_gemms();
        check_bf16();
        check_wmma();
        check_graphs(d);
        check_async(d);
        puts("ok");
    } else if (!strcmp(mode, "race")) {
        race_kernel<<<1, 64>>>(d);
        float out;
        CHECK(cudaMemcpy(&out, d, sizeof out, cudaMemcpyDeviceToHost) == cudaSuccess);
        puts(out == -7.0f ? "stale" : out == 2.0f ? "fresh" : "other");
    } else if (!strcmp(mode, "config")) {
        copy_kernel<<<1, 2048>>>(d, d, 1);
        cudaError_t e = cudaGetLastError();
        printf("%s\n", cudaGetErrorString(e));
        return e == cudaErrorInvalidConfiguration ? 0 : 1;
    } else if (!strcmp(mode, "divergent")) {
        divergent_kernel<<<1, 64>>>(d);
    } else if (!strcmp(mode, "partial")) {
        partial_kernel<<<1, 64>>>(d);
    } else if (!strcmp(mode, "host_pointer")) {
        static float host[64];
        copy_kernel<<<1, 64>>>(d, host, 64);
    } else if (!strcmp(mode, "overrun")) {
        overrun_kernel<<<1, 64>>>(d, d, 64);
    } else if (!strcmp(mode, "gemm_range")) {
        cublasHandle_t h;
        float alpha = 1, beta = 0;
        CHECK(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
        /* 128 x 64 operands need 8192 floats; the block has 4096 */
        cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 128, 64, 64, &alpha, d, CUDA_R_32F, 128, 0, d,
                                   CUDA_R_32F, 64, 0, &beta, d, CUDA_R_32F, 128, 0, 1, CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT);
    } else if (!strcmp(mode, "wmma_misaligned")) {
        wmma_kernel<<<1, 32>>>(d, d, d, d, 0, 4);   /* 4 bf16 = 8 bytes off */
    } else if (!strcmp(mode, "wmma_divergent")) {
        wmma_divergent_kernel<<<1, 32>>>(d);
    } else if (!strcmp(mode, "capture_sync") || !strcmp(mode, "capture_other_stream")) {
        cudaStream_t s;
        CHECK(cudaStreamCreate(&s) == cudaSuccess);
        CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
        add_one_kernel<<<1, 64, 0, s>>>(d, 64);
        float h[4];
        if (!strcmp(mode, "capture_sync")) cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
        else add_one_kernel<<<1, 64>>>(d, 64);   /* the legacy default stream */
    } else {
        fprintf(stderr, "selftest: unknown mode %s\n", mode);
        return 2;
    }
    cudaFree(d);
    return 0;
}
