/* cuda_runtime.h of the CUDA emulator (tests/cuda/emu; docs/performance.md).
 *
 * `make CUDA=emu` compiles the kernels/cuda sources with the host C++ compiler against
 * these headers instead of the real ones, so the CUDA backend's own kernels and
 * host code run on a CPU: every thread of every block is a fiber, __syncthreads
 * and the warp shuffles are real rendezvous between those fibers, and cuBLAS /
 * cuBLASLt calls are carried out by OpenBLAS with cuBLAS's column-major
 * semantics. What it checks: indexing, launch configurations, barriers, the
 * reductions' arithmetic, the cuBLAS(Lt) argument mapping, device-pointer
 * discipline (every kernel pointer argument and every cuBLAS operand must lie
 * in a cudaMalloc'd block; blocks end at a guard page and start NaN-filled).
 * What it cannot: speed, the GPU's memory model beyond block-level barriers,
 * the real cuBLAS algorithms, bf16 tensor-core rounding (emulated by rounding
 * the operands to bf16).
 *
 * Owns: the runtime API subset kernels_cuda.cu uses and the device-side names
 * (threadIdx, __syncthreads, __shfl_xor_sync, ...). The launch syntax
 * `k<<<g, b, smem>>>(args)` is rewritten by the build (GNUmakefile) into
 * `emu::Launch(g, b, smem).run("k", k, args)`, and `extern __shared__ T x[];` into
 * a pointer to the launch's dynamic shared memory. */
#ifndef DD_EMU_CUDA_RUNTIME_H
#define DD_EMU_CUDA_RUNTIME_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorIllegalAddress = 700,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
};
typedef enum cudaError cudaError_t;
typedef struct EmuStream* cudaStream_t;
typedef struct EmuEvent* cudaEvent_t;
typedef struct EmuGraph* cudaGraph_t;
typedef struct EmuGraph* cudaGraphExec_t;
enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem, sharedMemPerBlock;
    int major, minor, multiProcessorCount, maxThreadsPerBlock, warpSize;
};
struct cudaFuncAttributes {
    size_t sharedSizeBytes, constSizeBytes, localSizeBytes;
    int maxThreadsPerBlock, numRegs, maxDynamicSharedSizeBytes;
};
enum cudaDeviceAttr { cudaDevAttrMaxSharedMemoryPerBlockOptin = 97 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaGetDevice(int* dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int dev);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int dev);
cudaError_t cudaMalloc(void** p, size_t bytes);
template <typename T> cudaError_t cudaMalloc(T** p, size_t bytes) { return cudaMalloc((void**)p, bytes); }
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = 0);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s = 0);
cudaError_t cudaDeviceSynchronize(void);
/* Streams: work is queued and runs, in issue order, when the host next waits
 * for the device (cuda_emu.cpp: drain; CUDA_EMU_ASYNC=0 runs it at once). While
 * a stream is being captured, the work issued on it (kernels, async copies and
 * sets, cuBLAS(Lt) products) is recorded instead, and cudaGraphLaunch runs the
 * recording again. During a capture every call that would synchronise or
 * allocate (cudaMalloc, cudaFree, cudaMemcpy, cudaMemset, a host copy, any
 * synchronize, an event) and any work on another stream stops the program:
 * those are what make a real capture fail. */
cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* graph);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
/* Events: the host clock when recorded (the emulator's work is done by then). */
cudaError_t cudaEventCreate(cudaEvent_t* e);
#define cudaEventDisableTiming 0x02
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
/* Pinned host memory: ordinary host memory here (never device memory). */
cudaError_t cudaMallocHost(void** p, size_t bytes);
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = 0);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaGetLastError(void);
const char* cudaGetErrorString(cudaError_t e);

namespace emu {
cudaError_t func_attributes(cudaFuncAttributes* a, const void* func);
cudaError_t func_set_max_dynamic_smem(const void* func, int bytes);
}
template <typename F> cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, F* func) {
    return emu::func_attributes(a, (const void*)func);
}
template <typename F> cudaError_t cudaFuncSetAttribute(F* func, cudaFuncAttribute attr, int value) {
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaErrorInvalidValue;
    return emu::func_set_max_dynamic_smem((const void*)func, value);
}

/* ------------------------------------------------------------------------ */
/* device side */

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

/* Set by the scheduler for the fiber that runs. */
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

void __syncthreads(void);
/* All lanes of the warp meet here (a rendezvous, as the full-mask shuffles). */
void __syncwarp(unsigned mask = 0xffffffffu);
#define __align__(n) __attribute__((aligned(n)))

namespace emu {
/* Lane-to-lane exchange inside the calling thread's warp: every lane of the
 * warp must call it (full-mask shuffles), else the emulator stops. */
void warp_exchange(const void* in, void* out, size_t size, int src_lane);
int lane_id(void);
void* dyn_smem(void);
}

template <typename T> T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    (void)mask;
    (void)width;
    T out;
    emu::warp_exchange(&v, &out, sizeof v, emu::lane_id() ^ lane_mask);
    return out;
}
template <typename T> T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    (void)mask;
    (void)width;
    T out;
    emu::warp_exchange(&v, &out, sizeof v, emu::lane_id() + (int)delta);
    return out;
}
template <typename T> T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    (void)mask;
    (void)width;
    T out;
    emu::warp_exchange(&v, &out, sizeof v, src & 31);
    return out;
}

/* CUDA's integer min / max overloads. */
template <typename A, typename B> inline auto min(A a, B b) -> decltype(a + b) { return a < b ? a : b; }
template <typename A, typename B> inline auto max(A a, B b) -> decltype(a + b) { return a > b ? a : b; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

/* ------------------------------------------------------------------------ */
/* kernel launch */

namespace emu {
/* Stops the emulator when p (not NULL) is not inside a cudaMalloc'd block. */
void check_device_pointer(const void* p, const char* what);
void launch(dim3 grid, dim3 block, size_t smem, const char* name, const void* func, void (*body)(void*), void* ctx);
/* Work issued on stream s: queued (it runs when the host next waits for the
 * device), or recorded when s is being captured. */
void submit(cudaStream_t s, std::function<void()> work);
bool launch_config_ok(dim3 grid, dim3 block, size_t smem, const void* func);

template <typename T> inline void check_arg(T* p) { check_device_pointer((const void*)p, "kernel argument"); }
template <typename T> inline void check_arg(const T&) {}

struct Launch {
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    Launch(dim3 g, dim3 b, size_t s = 0, cudaStream_t st = 0) : grid(g), block(b), smem(s), stream(st) {}
    template <typename... P, typename... A> void run(const char* name, void (*k)(P...), A&&... a) {
        std::tuple<P...> args(std::forward<A>(a)...);
        std::apply([](auto&... x) { (check_arg(x), ...); }, args);
        if (!launch_config_ok(grid, block, smem, (const void*)k)) return;
        dim3 g = grid, b = block;
        size_t sm = smem;
        submit(stream, [=]() {   /* the arguments are copied, as a launch (or a graph node) copies them */
            struct Ctx {
                void (*k)(P...);
                const std::tuple<P...>* args;
            } c{k, &args};
            launch(g, b, sm, name, (const void*)k,
                   [](void* p) {
                       Ctx* c = (Ctx*)p;
                       std::tuple<P...> copy = *c->args;   /* each thread its own parameters */
                       std::apply(c->k, copy);
                   },
                   &c);
        });
    }
};
}  // namespace emu

#endif
