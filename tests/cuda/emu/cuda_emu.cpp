/* cuda_emu: the CUDA emulator behind the headers of tests/cuda/emu (see cuda_runtime.h).
 *
 * Kernels: the blocks of a grid run one after another; inside a block every
 * thread is a fiber with its own stack (a 64-byte register switch, x86-64).
 * A fiber runs until it exits, reaches __syncthreads, or a warp shuffle; the
 * scheduler releases a barrier when every live thread of the block (or lane of
 * the warp) has reached it, and stops the program with a message when that can
 * never happen (a barrier under divergent control flow, a full-mask shuffle
 * after some lanes returned, lanes at different shuffles). Threads run in
 * index order between barriers, so a missing barrier reads data not yet
 * written (CUDA_EMU_ORDER=reverse: in reverse order, below). `__shared__` variables are function statics: one copy, which is
 * right because blocks never overlap.
 *
 * Memory: cudaMalloc blocks are mmaps that end at a PROT_NONE page and start
 * filled with 0xff bytes (NaN as float, -1 as int); every pointer a kernel or
 * cuBLAS call receives, and every range a memcpy / memset / GEMM touches, must
 * lie inside one block, otherwise the program stops with the call named.
 *
 * Errors in the emulated program (the code under test) print "cuda-emu: ..."
 * and abort, so the parity harness or the tool reports a crash. */
#include "cublasLt.h"
#include "mma.h"

#include <cblas.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <vector>

#if !defined(__x86_64__)
#error "the CUDA emulator's fiber switch is written for x86-64"
#endif

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

[[noreturn]] static void die(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cuda-emu: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    abort();
}

/* CUDA_EMU_STATS=1: at exit, how many kernels were launched and products run
 * (what a GPU would pay launch overhead for), and how many of them ran inside
 * graph launches (the host paid one launch for each graph instead). */
static long g_launches = 0, g_products = 0;
static long g_graph_launches = 0, g_graph_kernels = 0, g_graph_products = 0;
static bool g_replaying = false;   /* inside cudaGraphLaunch */
static void print_stats(void) {
    fprintf(stderr, "cuda-emu: %ld kernel launches, %ld cuBLAS products\n", g_launches, g_products);
    fprintf(stderr, "cuda-emu: %ld graph launches, replaying %ld kernel launches and %ld cuBLAS products of those\n",
            g_graph_launches, g_graph_kernels, g_graph_products);
}
static void stats_register(void) {
    static bool registered = false;
    if (!registered && getenv("CUDA_EMU_STATS")) atexit(print_stats);
    registered = true;
}
static void count_product(void) {
    stats_register();
    g_products++;
    if (g_replaying) g_graph_products++;
}

static cudaError_t g_last_error = cudaSuccess;
static cudaError_t set_error(cudaError_t e) {
    if (e != cudaSuccess && g_last_error == cudaSuccess) g_last_error = e;
    return e;
}

/* ------------------------------------------------------------------------ */
/* streams and graph capture */

struct EmuStream {
    int created;
};
struct EmuGraph {
    std::vector<std::function<void()>> work;
};
static cudaStream_t g_capture_stream = NULL;   /* the stream being captured, or NULL */
static EmuGraph* g_capture = NULL;
static bool g_capture_invalid = false;          /* a call failed inside it: cudaStreamEndCapture fails */
/* CUDA_EMU_CAPTURE_FAIL=1: every cuBLASLt product issued while capturing fails
 * (as a library that cannot be captured would), and so does the capture. */
static bool lt_capture_fails(void) {
    static const char* f = getenv("CUDA_EMU_CAPTURE_FAIL");
    if (!g_capture_stream || !f || strcmp(f, "1")) return false;
    g_capture_invalid = true;
    return true;
}

/* Calls a capture forbids (they would synchronise or allocate) stop the program. */
static void not_while_capturing(const char* call) {
    if (g_capture_stream) die("%s while a stream is being captured into a CUDA graph", call);
}

/* Work issued on a stream is queued and runs at the next point where the host
 * waits for the device (a synchronize, an event wait, a synchronous copy or
 * set, a copy to the host, cudaFree), in issue order: as on a GPU, the host
 * runs ahead. A host buffer handed to an async copy from pinned memory is read
 * when the copy runs, so reusing it too early gives wrong data here as there.
 * CUDA_EMU_ASYNC=0: everything runs when issued. */
static std::vector<std::function<void()>> g_queue;
static bool g_draining = false;
static void drain(void) {
    if (g_draining) return;
    g_draining = true;
    for (size_t i = 0; i < g_queue.size(); i++) {
        std::function<void()> w = std::move(g_queue[i]);
        w();
    }
    g_queue.clear();
    g_draining = false;
}
static bool async_mode(void) {
    static const char* a = getenv("CUDA_EMU_ASYNC");
    return !(a && !strcmp(a, "0"));
}
void emu::submit(cudaStream_t s, std::function<void()> work) {
    if (g_capture_stream) {
        if (s != g_capture_stream) die("work on another stream while a stream is being captured into a CUDA graph");
        g_capture->work.push_back(std::move(work));
        return;
    }
    g_queue.push_back(std::move(work));
    if (!async_mode()) drain();
}
cudaError_t cudaStreamCreate(cudaStream_t* s) {
    *s = new EmuStream{1};
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    not_while_capturing("cudaStreamDestroy");
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
    not_while_capturing("cudaStreamSynchronize");
    drain();
    return cudaSuccess;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode) {
    if (!s) die("cudaStreamBeginCapture: the legacy default stream cannot be captured");
    if (g_capture_stream) die("cudaStreamBeginCapture: a capture is already under way");
    g_capture_stream = s;
    g_capture = new EmuGraph;
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* graph) {
    if (!g_capture_stream || s != g_capture_stream) die("cudaStreamEndCapture: this stream is not being captured");
    bool invalid = g_capture_invalid;
    *graph = invalid ? NULL : g_capture;
    if (invalid) delete g_capture;
    g_capture = NULL;
    g_capture_stream = NULL;
    g_capture_invalid = false;
    return invalid ? set_error(cudaErrorStreamCaptureInvalidated) : cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
    if (!graph) return set_error(cudaErrorInvalidValue);
    *exec = new EmuGraph(*graph);
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s) {
    not_while_capturing("cudaGraphLaunch");
    if (!exec) return set_error(cudaErrorInvalidResourceHandle);
    stats_register();
    g_graph_launches++;
    std::vector<std::function<void()>>* work = &exec->work;   /* the exec outlives its launches (destroy waits) */
    emu::submit(s, [work]() {
        g_replaying = true;
        for (auto& w : *work) w();
        g_replaying = false;
    });
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    drain();   /* queued launches of it run first */
    delete exec;
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    delete graph;
    return cudaSuccess;
}


/* ------------------------------------------------------------------------ */
/* device memory */

struct Block {
    char* map;
    size_t map_bytes, bytes;
};
static std::map<uintptr_t, Block> g_blocks;   /* keyed by the user pointer */
static const size_t PAGE = 4096;

static const Block* block_of(const void* p, uintptr_t* start) {
    uintptr_t a = (uintptr_t)p;
    auto it = g_blocks.upper_bound(a);
    if (it == g_blocks.begin()) return NULL;
    --it;
    /* an empty block still owns its start address */
    if (a < it->first || a >= it->first + (it->second.bytes ? it->second.bytes : 1)) return NULL;
    *start = it->first;
    return &it->second;
}

void emu::check_device_pointer(const void* p, const char* what) {
    uintptr_t s;
    if (p && !block_of(p, &s)) die("%s %p is not device memory (not inside any cudaMalloc block)", what, p);
}

/* [p, p + bytes) inside one block. */
static void check_range(const void* p, size_t bytes, const char* what) {
    if (bytes == 0) return;
    uintptr_t s;
    const Block* b = block_of(p, &s);
    if (!b) die("%s: %p is not device memory", what, p);
    if ((uintptr_t)p + bytes > s + b->bytes)
        die("%s: %zu bytes at offset %zu overrun the %zu-byte block", what, bytes, (size_t)((uintptr_t)p - s),
            b->bytes);
}
static bool is_device(const void* p) {
    uintptr_t s;
    return p && block_of(p, &s);
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
    not_while_capturing("cudaMalloc");
    size_t span = (bytes + 255) / 256 * 256;
    size_t body = (span + PAGE - 1) / PAGE * PAGE;
    if (body == 0) body = PAGE;
    size_t map_bytes = body + PAGE;
    char* m = (char*)mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { *p = NULL; return set_error(cudaErrorMemoryAllocation); }
    mprotect(m + body, PAGE, PROT_NONE);
    char* user = m + body - span;   /* 256-aligned; ends within 255 bytes of the guard */
    if (span == 0) user = m + body - 256;
    memset(user, 0xff, span);
    g_blocks[(uintptr_t)user] = Block{m, map_bytes, bytes};
    *p = user;
    return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
    not_while_capturing("cudaFree");
    drain();   /* cudaFree waits for the device */
    if (!p) return cudaSuccess;
    auto it = g_blocks.find((uintptr_t)p);
    if (it == g_blocks.end()) die("cudaFree(%p): not the start of a cudaMalloc block", p);
    munmap(it->second.map, it->second.map_bytes);
    g_blocks.erase(it);
    return cudaSuccess;
}

static void memcpy_checks(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
    switch (kind) {
    case cudaMemcpyHostToDevice:
        check_range(dst, bytes, "cudaMemcpy HostToDevice destination");
        if (is_device(src)) die("cudaMemcpy HostToDevice: the source %p is device memory", src);
        break;
    case cudaMemcpyDeviceToHost:
        check_range(src, bytes, "cudaMemcpy DeviceToHost source");
        if (is_device(dst)) die("cudaMemcpy DeviceToHost: the destination %p is device memory", dst);
        break;
    case cudaMemcpyDeviceToDevice:
        check_range(src, bytes, "cudaMemcpy DeviceToDevice source");
        check_range(dst, bytes, "cudaMemcpy DeviceToDevice destination");
        break;
    default: break;
    }
}
/* cudaMallocHost's blocks: a copy from or to them is asynchronous. */
static std::map<uintptr_t, size_t> g_pinned;
static bool is_pinned(const void* p, size_t bytes) {
    auto it = g_pinned.upper_bound((uintptr_t)p);
    if (it == g_pinned.begin()) return false;
    --it;
    return (uintptr_t)p + bytes <= it->first + it->second;
}
cudaError_t cudaMallocHost(void** p, size_t bytes) {
    not_while_capturing("cudaMallocHost");
    *p = malloc(bytes ? bytes : 1);
    if (!*p) return set_error(cudaErrorMemoryAllocation);
    g_pinned[(uintptr_t)*p] = bytes;
    return cudaSuccess;
}
cudaError_t cudaFreeHost(void* p) {
    not_while_capturing("cudaFreeHost");
    drain();
    g_pinned.erase((uintptr_t)p);
    free(p);
    return cudaSuccess;
}

/* The legacy stream's copy: after all queued work, done on return. */
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
    not_while_capturing("cudaMemcpy");
    memcpy_checks(dst, src, bytes, kind);
    drain();
    if (bytes) memmove(dst, src, bytes);
    return cudaSuccess;
}
/* A device-to-device copy can be captured; a copy from or to (pageable) host memory cannot.
 * As CUDA: from pageable memory the source is taken at the call, to pageable memory the
 * call returns when the copy is done; to and from pinned memory the copy runs in its turn. */
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
    if (kind != cudaMemcpyDeviceToDevice) not_while_capturing("cudaMemcpyAsync to or from the host");
    memcpy_checks(dst, src, bytes, kind);
    if (!bytes) return cudaSuccess;
    if (kind == cudaMemcpyHostToDevice && !is_pinned(src, bytes)) {
        std::vector<char> copy((const char*)src, (const char*)src + bytes);
        emu::submit(s, [=]() { memcpy(dst, copy.data(), bytes); });
    } else if (kind == cudaMemcpyDeviceToHost && !is_pinned(dst, bytes)) {
        drain();
        memmove(dst, src, bytes);
    } else {
        emu::submit(s, [=]() { memmove(dst, src, bytes); });
    }
    return cudaSuccess;
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) {
    not_while_capturing("cudaMemset");
    check_range(p, bytes, "cudaMemset");
    drain();
    if (bytes) memset(p, value, bytes);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s) {
    check_range(p, bytes, "cudaMemsetAsync");
    emu::submit(s, [=]() {
        if (bytes) memset(p, value, bytes);
    });
    return cudaSuccess;
}

/* ------------------------------------------------------------------------ */
/* device and errors */

cudaError_t cudaGetDeviceCount(int* count) {
    *count = 1;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int dev) { return dev == 0 ? cudaSuccess : set_error(cudaErrorInvalidValue); }
cudaError_t cudaGetDevice(int* dev) {
    *dev = 0;
    return cudaSuccess;
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int dev) {
    if (dev != 0) return set_error(cudaErrorInvalidValue);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "CUDA emulator (CPU)");
    prop->totalGlobalMem = (size_t)16 << 30;
    prop->sharedMemPerBlock = 48 * 1024;
    prop->major = 9;
    prop->minor = 0;
    prop->multiProcessorCount = 132;
    prop->maxThreadsPerBlock = 1024;
    prop->warpSize = 32;
    return cudaSuccess;
}
static const int SMEM_OPTIN = 227 * 1024;
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int) {
    if (attr != cudaDevAttrMaxSharedMemoryPerBlockOptin) return set_error(cudaErrorInvalidValue);
    *value = SMEM_OPTIN;
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void) {
    not_while_capturing("cudaDeviceSynchronize");
    drain();
    return cudaSuccess;
}

struct EmuEvent {
    double ms;
    bool recorded;
};
cudaError_t cudaEventCreate(cudaEvent_t* e) {
    *e = new EmuEvent{0, false};
    return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { return cudaEventCreate(e); }
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    drain();   /* a queued record of it runs first */
    delete e;
    return cudaSuccess;
}
/* The host clock when the record runs in its turn (the work before it is done by then). */
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
    not_while_capturing("cudaEventRecord");
    if (!e) return set_error(cudaErrorInvalidResourceHandle);
    e->recorded = false;
    emu::submit(s, [e]() {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        e->ms = ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
        e->recorded = true;
    });
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    not_while_capturing("cudaEventSynchronize");
    if (!e) return set_error(cudaErrorInvalidResourceHandle);
    drain();
    return cudaSuccess;
}
/* As CUDA: both events must have been recorded. */
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
    if (!start || !end) return set_error(cudaErrorInvalidResourceHandle);
    if (!start->recorded || !end->recorded) return set_error(cudaErrorInvalidResourceHandle);
    *ms = (float)(end->ms - start->ms);
    return cudaSuccess;
}
cudaError_t cudaGetLastError(void) {
    cudaError_t e = g_last_error;
    g_last_error = cudaSuccess;
    return e;
}
const char* cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    }
    return "unknown error";
}

static std::map<const void*, int> g_dyn_smem_max;   /* cudaFuncAttributeMaxDynamicSharedMemorySize */
cudaError_t emu::func_attributes(cudaFuncAttributes* a, const void* func) {
    memset(a, 0, sizeof *a);
    a->maxThreadsPerBlock = 1024;
    auto it = g_dyn_smem_max.find(func);
    a->maxDynamicSharedSizeBytes = it == g_dyn_smem_max.end() ? 48 * 1024 : it->second;
    /* sharedSizeBytes: the emulator cannot size a kernel's static shared
     * memory; it reports the 32-float slots of block_sum/block_max. */
    a->sharedSizeBytes = 2 * 32 * sizeof(float);
    return cudaSuccess;
}
cudaError_t emu::func_set_max_dynamic_smem(const void* func, int bytes) {
    if (bytes < 0 || bytes > SMEM_OPTIN) return set_error(cudaErrorInvalidValue);
    g_dyn_smem_max[func] = bytes;
    return cudaSuccess;
}

/* ------------------------------------------------------------------------ */
/* fibers */

/* emu_switch(save, to): push the callee-saved registers, store the stack
 * pointer in *save, continue on the stack `to` (popping its registers). */
extern "C" void emu_switch(void** save, void* to);
asm(".text\n"
    ".globl emu_switch\n"
    ".type emu_switch,@function\n"
    "emu_switch:\n"
    "    pushq %rbp\n    pushq %rbx\n    pushq %r12\n    pushq %r13\n    pushq %r14\n    pushq %r15\n"
    "    movq %rsp, (%rdi)\n"
    "    movq %rsi, %rsp\n"
    "    popq %r15\n    popq %r14\n    popq %r13\n    popq %r12\n    popq %rbx\n    popq %rbp\n"
    "    ret\n"
    ".size emu_switch, .-emu_switch\n");

enum { READY, AT_BLOCK, AT_WARP, DONE };
struct Fiber {
    void* sp;
    int state;
    unsigned shuffles;   /* warp rendezvous passed: the lanes of a warp must agree */
    uint3 tid;
};

static const size_t STACK_BYTES = 128 * 1024;
static const int MAX_THREADS = 1024;
static char* g_stacks;          /* MAX_THREADS stacks, each above a guard page */
static Fiber g_fibers[MAX_THREADS];
static int g_nthreads;
static Fiber* g_cur;
static void* g_sched_sp;
static void (*g_body)(void*);
static void* g_body_ctx;
static const char* g_name;   /* the running kernel's */
static unsigned char g_slots[MAX_THREADS / 32][32][16];
static std::vector<char> g_dyn;

static void fiber_entry(void) {
    g_body(g_body_ctx);
    g_cur->state = DONE;
    emu_switch(&g_cur->sp, g_sched_sp);
    die("a finished fiber was resumed");
}

static void* fiber_stack_top(int i) {
    if (!g_stacks) {
        size_t each = STACK_BYTES + PAGE;
        g_stacks = (char*)mmap(NULL, each * MAX_THREADS, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (g_stacks == MAP_FAILED) die("cannot map fiber stacks");
        for (int t = 0; t < MAX_THREADS; t++) mprotect(g_stacks + t * each, PAGE, PROT_NONE);
    }
    return g_stacks + (size_t)(i + 1) * (STACK_BYTES + PAGE);
}

static void fiber_init(Fiber* f, int i) {
    void** top = (void**)fiber_stack_top(i);   /* 16-aligned */
    *--top = NULL;                            /* fiber_entry's (never used) return address */
    *--top = (void*)fiber_entry;              /* popped by emu_switch's ret */
    for (int r = 0; r < 6; r++) *--top = NULL; /* rbp rbx r12 r13 r14 r15 */
    f->sp = top;
    f->state = READY;
    f->shuffles = 0;
}

static void yield(int state) {
    g_cur->state = state;
    emu_switch(&g_cur->sp, g_sched_sp);
}

void __syncthreads(void) {
    if (!g_cur) die("__syncthreads outside a kernel");
    yield(AT_BLOCK);
}

void emu::warp_rendezvous(void) {
    int x = 0, y;
    warp_exchange(&x, &y, sizeof x, lane_id());
}
void __syncwarp(unsigned mask) {
    if (mask != 0xffffffffu) die("__syncwarp with a partial mask (0x%x) is not emulated", mask);
    emu::warp_rendezvous();
}
void emu::wmma_fail(const char* what, const void* p, unsigned ldm) {
    die("%s: pointer %p with ldm %u breaks the warp matrix rules (32-byte aligned pointer, ldm a multiple of 16 bytes)",
        what, p, ldm);
}

int emu::lane_id(void) { return (int)((g_cur - g_fibers) & 31); }
void* emu::dyn_smem(void) { return g_dyn.data(); }

void emu::warp_exchange(const void* in, void* out, size_t size, int src_lane) {
    if (!g_cur) die("warp shuffle outside a kernel");
    if (size > sizeof g_slots[0][0]) die("warp shuffle of a %zu-byte value", size);
    int lin = (int)(g_cur - g_fibers), w = lin >> 5, lane = lin & 31;
    memcpy(g_slots[w][lane], in, size);
    yield(AT_WARP);
    if (src_lane >= 0 && src_lane < 32 && w * 32 + src_lane < g_nthreads) memcpy(out, g_slots[w][src_lane], size);
    else memcpy(out, in, size);
    yield(AT_WARP);   /* nobody overwrites a slot before every lane has read */
}


/* A fault inside a kernel (the guard page after a block, a wild pointer, a
 * fiber's stack overflow) names the kernel, block and thread. */
static void on_fault(int sig, siginfo_t* si, void*) {
    char msg[512];
    int n;
    if (g_cur)
        n = snprintf(msg, sizeof msg,
                     "cuda-emu: illegal memory access at %p in kernel %s, block (%u,%u,%u), thread (%u,%u,%u)\n",
                     si->si_addr, g_name, blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z);
    else
        n = snprintf(msg, sizeof msg, "cuda-emu: signal %d at %p outside any kernel\n", sig, si->si_addr);
    if (write(2, msg, (size_t)n) < 0) {}
    signal(SIGABRT, SIG_DFL);
    abort();
}
static void install_fault_handler(void) {
    static bool done = false;
    if (done) return;
    done = true;
    static char alt[1 << 16];
    stack_t ss = {};
    ss.ss_sp = alt;
    ss.ss_size = sizeof alt;
    sigaltstack(&ss, NULL);
    struct sigaction sa = {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* Releases whatever barrier can be released; false when nothing can. */
static bool release(void) {
    bool any = false;
    int alive = 0, at_block = 0;
    for (int i = 0; i < g_nthreads; i++) {
        if (g_fibers[i].state != DONE) alive++;
        if (g_fibers[i].state == AT_BLOCK) at_block++;
    }
    for (int w = 0; w * 32 < g_nthreads; w++) {
        int lo = w * 32, hi = lo + 32 < g_nthreads ? lo + 32 : g_nthreads;
        int at_warp = 0, done = 0;
        for (int i = lo; i < hi; i++) {
            at_warp += g_fibers[i].state == AT_WARP;
            done += g_fibers[i].state == DONE;
        }
        if (!at_warp) continue;
        if (hi - lo < 32)
            die("kernel %s block (%u,%u,%u): a full-mask warp shuffle in a partial warp (%d threads)", g_name,
                blockIdx.x, blockIdx.y, blockIdx.z, hi - lo);
        if (done)
            die("kernel %s block (%u,%u,%u) warp %d: a full-mask shuffle after %d lane(s) of the warp returned",
                g_name, blockIdx.x, blockIdx.y, blockIdx.z, w, done);
        if (at_warp < hi - lo) continue;   /* some lanes at __syncthreads: maybe others release them */
        for (int i = lo; i < hi; i++)
            if (g_fibers[i].shuffles != g_fibers[lo].shuffles)
                die("kernel %s block (%u,%u,%u) warp %d: lanes %d and %d are at different shuffles", g_name,
                    blockIdx.x, blockIdx.y, blockIdx.z, w, 0, i - lo);
        for (int i = lo; i < hi; i++) {
            g_fibers[i].state = READY;
            g_fibers[i].shuffles++;
        }
        any = true;
    }
    if (any) return true;
    if (at_block && at_block == alive) {
        for (int i = 0; i < g_nthreads; i++)
            if (g_fibers[i].state == AT_BLOCK) g_fibers[i].state = READY;
        return true;
    }
    return false;
}

/* CUDA_EMU_ORDER=reverse runs the blocks and, between barriers, the threads
 * in reverse order: a kernel whose result depends on the order (a race, an
 * order-dependent reduction) then gives different bits (tests/tools/test_cuda_emu.sh). */
static bool g_reverse = false;

static void run_block(void) {
    for (int i = 0; i < g_nthreads; i++) fiber_init(&g_fibers[i], i);
    for (;;) {
        for (int j = 0; j < g_nthreads; j++) {
            Fiber* f = &g_fibers[g_reverse ? g_nthreads - 1 - j : j];
            if (f->state != READY) continue;
            g_cur = f;
            threadIdx = f->tid;
            emu_switch(&g_sched_sp, f->sp);
        }
        bool alive = false;
        for (int i = 0; i < g_nthreads && !alive; i++) alive = g_fibers[i].state != DONE;
        if (!alive) break;
        if (!release())
            die("kernel %s block (%u,%u,%u): deadlock: threads wait at __syncthreads while others wait at a warp "
                "shuffle (a barrier under divergent control flow)",
                g_name, blockIdx.x, blockIdx.y, blockIdx.z);
    }
    g_cur = NULL;
}

/* Checked when the launch is issued, as CUDA reports a bad configuration at once. */
bool emu::launch_config_ok(dim3 grid, dim3 block, size_t smem, const void* func) {
    long threads = (long)block.x * block.y * block.z;
    auto it = g_dyn_smem_max.find(func);
    size_t smem_max = it == g_dyn_smem_max.end() ? 48 * 1024 : (size_t)it->second;
    if (threads < 1 || threads > MAX_THREADS || block.z > 64 || grid.x < 1 || grid.y < 1 || grid.z < 1 ||
        grid.y > 65535 || grid.z > 65535 || grid.x > 0x7fffffffu || smem > smem_max) {
        set_error(cudaErrorInvalidConfiguration);
        return false;
    }
    return true;
}

void emu::launch(dim3 grid, dim3 block, size_t smem, const char* name, const void* func, void (*body)(void*),
                 void* ctx) {
    install_fault_handler();
    long threads = (long)block.x * block.y * block.z;
    if (!launch_config_ok(grid, block, smem, func)) return;
    if (g_cur) die("a kernel launch inside a kernel");
    stats_register();
    g_launches++;
    if (g_replaying) g_graph_kernels++;
    g_name = name;
    g_body = body;
    g_body_ctx = ctx;
    g_nthreads = (int)threads;
    g_dyn.assign(smem ? smem : 1, (char)0xff);
    gridDim = grid;
    blockDim = block;
    for (int i = 0; i < g_nthreads; i++) {
        g_fibers[i].tid.x = (unsigned)i % block.x;
        g_fibers[i].tid.y = (unsigned)(i / block.x) % block.y;
        g_fibers[i].tid.z = (unsigned)(i / (block.x * block.y));
    }
    const char* order = getenv("CUDA_EMU_ORDER");
    g_reverse = order && !strcmp(order, "reverse");
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                blockIdx.x = g_reverse ? grid.x - 1 - x : x;
                blockIdx.y = g_reverse ? grid.y - 1 - y : y;
                blockIdx.z = g_reverse ? grid.z - 1 - z : z;
                run_block();
            }
}

/* ------------------------------------------------------------------------ */
/* GEMM: column-major, C = alpha op(A) op(B) + beta C, via OpenBLAS */

static float round_bf16(float x) {   /* round to nearest even, as the tensor cores' input conversion */
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

/* An operand's element extent: the last column starts at (cols-1)*ld. */
static size_t extent(long rows, long cols, long ld) { return rows <= 0 || cols <= 0 ? 0 : (size_t)((cols - 1) * ld + rows); }

static const float* maybe_bf16(const float* p, size_t n, bool bf16, std::vector<float>* tmp) {
    if (!bf16) return p;
    tmp->resize(n);
    for (size_t i = 0; i < n; i++) (*tmp)[i] = round_bf16(p[i]);
    return tmp->data();
}

static bool valid_compute(cublasComputeType_t ct) {
    return ct == CUBLAS_COMPUTE_32F || ct == CUBLAS_COMPUTE_32F_FAST_16BF || ct == CUBLAS_COMPUTE_32F_FAST_TF32;
}

/* One product; rows/cols of the stored operands are checked against ld. */
static cublasStatus_t gemm(const char* call, bool ta, bool tb, int m, int n, int k, float alpha, const float* A,
                           int lda, const float* B, int ldb, float beta, const float* C, int ldc, float* D, int ldd,
                           cublasComputeType_t ct) {
    if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
    long ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    if (lda < (ar > 1 ? ar : 1) || ldb < (br > 1 ? br : 1) || ldc < (m > 1 ? m : 1) || ldd < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (!valid_compute(ct)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    char what[96];
    snprintf(what, sizeof what, "%s operand A", call);
    check_range(A, extent(ar, ac, lda) * sizeof(float), what);
    snprintf(what, sizeof what, "%s operand B", call);
    check_range(B, extent(br, bc, ldb) * sizeof(float), what);
    snprintf(what, sizeof what, "%s operand D", call);
    check_range(D, extent(m, n, ldd) * sizeof(float), what);
    if (beta != 0.0f) {
        snprintf(what, sizeof what, "%s operand C", call);
        check_range(C, extent(m, n, ldc) * sizeof(float), what);
    }
    bool bf16 = ct == CUBLAS_COMPUTE_32F_FAST_16BF;
    std::vector<float> ta_, tb_;
    const float* a = maybe_bf16(A, extent(ar, ac, lda), bf16, &ta_);
    const float* b = maybe_bf16(B, extent(br, bc, ldb), bf16, &tb_);
    if (C != D) {   /* D = beta C first, then the product accumulates into D */
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) D[(size_t)j * ldd + i] = beta == 0.0f ? 0.0f : beta * C[(size_t)j * ldc + i];
        beta = beta == 0.0f ? 0.0f : 1.0f;
    } else if (ldc != ldd) return CUBLAS_STATUS_INVALID_VALUE;
    if (k == 0) {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) D[(size_t)j * ldd + i] = beta == 0.0f ? 0.0f : beta * D[(size_t)j * ldd + i];
        return CUBLAS_STATUS_SUCCESS;
    }
    if (beta == 0.0f)   /* cuBLAS does not read C when beta is 0 (NaN there must not leak) */
        for (int j = 0; j < n; j++) memset(D + (size_t)j * ldd, 0, (size_t)m * sizeof(float));
    cblas_sgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                lda, b, ldb, beta, D, ldd);
    return CUBLAS_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* cuBLAS */

struct EmuCublas {
    int created;
    cudaStream_t stream;
    void* workspace;
    size_t workspace_bytes;
};
cublasStatus_t cublasCreate(cublasHandle_t* handle) {
    *handle = new EmuCublas{1, NULL, NULL, 0};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t s) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace, size_t bytes) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (bytes) check_range(workspace, bytes, "cublasSetWorkspace");
    handle->workspace = workspace;
    handle->workspace_bytes = bytes;
    return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype,
                                          int lda, long long strideA, const void* B, cudaDataType Btype, int ldb,
                                          long long strideB, const void* beta, void* C, cudaDataType Ctype, int ldc,
                                          long long strideC, int batchCount, cublasComputeType_t computeType,
                                          cublasGemmAlgo_t) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (Atype != CUDA_R_32F || Btype != CUDA_R_32F || Ctype != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (batchCount < 0 || transa == CUBLAS_OP_C || transb == CUBLAS_OP_C) return CUBLAS_STATUS_INVALID_VALUE;
    if (!valid_compute(computeType)) return CUBLAS_STATUS_INVALID_VALUE;
    float al = *(const float*)alpha, be = *(const float*)beta;   /* host pointer mode: read when called */
    emu::submit(handle->stream, [=]() {
        count_product();
        for (int i = 0; i < batchCount; i++) {
            float* c = (float*)C + i * strideC;
            cublasStatus_t s = gemm("cublasGemmStridedBatchedEx", transa == CUBLAS_OP_T, transb == CUBLAS_OP_T, m, n,
                                    k, al, (const float*)A + i * strideA, lda, (const float*)B + i * strideB, ldb, be,
                                    c, ldc, c, ldc, computeType);
            if (s != CUBLAS_STATUS_SUCCESS) die("cublasGemmStridedBatchedEx: %s", cublasGetStatusString(s));
        }
    });
    return CUBLAS_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* cuBLASLt */

struct EmuLt {
    int created;
};
struct EmuLtDesc {
    cublasComputeType_t compute;
    cudaDataType scale;
    int32_t ta, tb;
    uint32_t epilogue;
    const void* bias;
    int32_t bias_type;
    const void* aux;
    int64_t aux_ld;
};
struct EmuLtLayout {
    cudaDataType type;
    uint64_t rows, cols;
    int64_t ld;
};
struct EmuLtPref {
    uint64_t workspace;
    uint32_t align[4];
};

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
    *handle = new EmuLt{1};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t ct, cudaDataType_t scale) {
    if (!valid_compute(ct) || scale != CUDA_R_32F) return CUBLAS_STATUS_INVALID_VALUE;
    *desc = new EmuLtDesc{ct, scale, CUBLAS_OP_N, CUBLAS_OP_N, CUBLASLT_EPILOGUE_DEFAULT, NULL, -1, NULL, 0};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
    delete desc;
    return CUBLAS_STATUS_SUCCESS;
}

template <typename T> static cublasStatus_t set_attr(T* dst, const void* buf, size_t size) {
    if (size != sizeof(T)) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(dst, buf, sizeof(T));
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr,
                                              const void* buf, size_t size) {
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return set_attr(&d->ta, buf, size);
    case CUBLASLT_MATMUL_DESC_TRANSB: return set_attr(&d->tb, buf, size);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return set_attr(&d->epilogue, buf, size);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return set_attr(&d->bias, buf, size);
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: return set_attr(&d->bias_type, buf, size);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER: return set_attr(&d->aux, buf, size);
    case CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD: return set_attr(&d->aux_ld, buf, size);
    default: return CUBLAS_STATUS_NOT_SUPPORTED;   /* not emulated: the code under test does not use it */
    }
}
cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type, uint64_t rows,
                                          uint64_t cols, int64_t ld) {
    if (type != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (ld < (int64_t)(rows > 1 ? rows : 1)) return CUBLAS_STATUS_INVALID_VALUE;
    *layout = new EmuLtLayout{type, rows, cols, ld};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
    delete layout;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
    *pref = new EmuLtPref{0, {256, 256, 256, 256}};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
    delete pref;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void* buf,
                                                    size_t size) {
    switch (attr) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: return set_attr(&p->workspace, buf, size);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: return set_attr(&p->align[0], buf, size);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: return set_attr(&p->align[1], buf, size);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: return set_attr(&p->align[2], buf, size);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: return set_attr(&p->align[3], buf, size);
    default: return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

/* The shape checks cuBLASLt makes: op(A) is m x k, op(B) k x n, C and D m x n. */
static cublasStatus_t lt_shapes(const EmuLtDesc* d, const EmuLtLayout* A, const EmuLtLayout* B,
                                const EmuLtLayout* C, const EmuLtLayout* D, int* m, int* n, int* k) {
    uint64_t am = d->ta ? A->cols : A->rows, ak = d->ta ? A->rows : A->cols;
    uint64_t bk = d->tb ? B->cols : B->rows, bn = d->tb ? B->rows : B->cols;
    if (am != D->rows || bn != D->cols || ak != bk || C->rows != D->rows || C->cols != D->cols)
        return CUBLAS_STATUS_INVALID_VALUE;
    *m = (int)D->rows;
    *n = (int)D->cols;
    *k = (int)ak;
    return CUBLAS_STATUS_SUCCESS;
}
/* CUDA_EMU_LT_EPILOGUES=bias: only the default and bias epilogues have algorithms,
 * as a cuBLASLt that refuses the GELU ones; =late: the heuristic offers them but
 * cublasLtMatmul answers not supported (the caller's fallbacks are then tested). */
static bool epilogue_supported(uint32_t e, bool at_call) {
    static const char* only = getenv("CUDA_EMU_LT_EPILOGUES");
    bool gelu = e == CUBLASLT_EPILOGUE_GELU_AUX || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS || e == CUBLASLT_EPILOGUE_DGELU;
    if (gelu && only && (!strcmp(only, "bias") || (at_call && !strcmp(only, "late")))) return false;
    return e == CUBLASLT_EPILOGUE_DEFAULT || e == CUBLASLT_EPILOGUE_BIAS || gelu;
}
static bool epilogue_has_bias(uint32_t e) { return e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS; }
static bool epilogue_has_aux(uint32_t e) {
    return e == CUBLASLT_EPILOGUE_GELU_AUX || e == CUBLASLT_EPILOGUE_GELU_AUX_BIAS || e == CUBLASLT_EPILOGUE_DGELU;
}
/* GELU (tanh approximation) and its derivative, as kernels_cuda.cu's kernels compute them */
static float emu_gelu(float x) {
    float cube = 0.044715f * x * x * x;
    return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + cube)));
}
static float emu_dgelu(float x) {
    float cube = 0.044715f * x * x * x;
    float th = tanhf(0.7978845608028654f * (x + cube));
    float sech2 = 1.0f - th * th;
    return 0.5f * (1.0f + th) + 0.5f * x * sech2 * 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t A, cublasLtMatrixLayout_t B,
                                              cublasLtMatrixLayout_t C, cublasLtMatrixLayout_t D,
                                              cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t results[], int* returned) {
    if (!handle || !desc || !pref || requested < 1) return CUBLAS_STATUS_INVALID_VALUE;
    int m, n, k;
    cublasStatus_t s = lt_shapes(desc, A, B, C, D, &m, &n, &k);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    *returned = 0;
    if (!epilogue_supported(desc->epilogue, false)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (epilogue_has_bias(desc->epilogue) && desc->bias_type != -1 && desc->bias_type != CUDA_R_32F)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    /* the aux matrix: its leading dimension set, at least m, a multiple of 8 */
    if (epilogue_has_aux(desc->epilogue) && (desc->aux_ld < m || desc->aux_ld % 8)) return CUBLAS_STATUS_NOT_SUPPORTED;
    memset(&results[0], 0, sizeof results[0]);
    results[0].algo.data[0] = 1;
    results[0].state = CUBLAS_STATUS_SUCCESS;
    results[0].wavesCount = 1.0f;
    *returned = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* alpha, const void* A,
                              cublasLtMatrixLayout_t Adesc, const void* B, cublasLtMatrixLayout_t Bdesc,
                              const void* beta, const void* C, cublasLtMatrixLayout_t Cdesc, void* D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t* algo, void* workspace,
                              size_t ws_bytes, cudaStream_t stream) {
    if (!handle || !desc || !algo || algo->data[0] != 1) return CUBLAS_STATUS_INVALID_VALUE;
    int m, n, k;
    cublasStatus_t s = lt_shapes(desc, Adesc, Bdesc, Cdesc, Ddesc, &m, &n, &k);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (lt_capture_fails()) return CUBLAS_STATUS_EXECUTION_FAILED;
    if (!epilogue_supported(desc->epilogue, true)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (ws_bytes) check_range(workspace, ws_bytes, "cublasLtMatmul workspace");
    if (epilogue_has_bias(desc->epilogue) && !desc->bias) return CUBLAS_STATUS_INVALID_VALUE;
    if (epilogue_has_aux(desc->epilogue) && (!desc->aux || desc->aux_ld < m)) return CUBLAS_STATUS_INVALID_VALUE;
    /* What the call reads now (a graph keeps these): the descriptor, the layouts, alpha and beta. */
    EmuLtDesc d = *desc;
    int lda = (int)Adesc->ld, ldb = (int)Bdesc->ld, ldc = (int)Cdesc->ld, ldd = (int)Ddesc->ld;
    float al = *(const float*)alpha, be = *(const float*)beta;
    emu::submit(stream, [=]() {
        count_product();
        cublasStatus_t st = gemm("cublasLtMatmul", d.ta == CUBLAS_OP_T, d.tb == CUBLAS_OP_T, m, n, k, al,
                                 (const float*)A, lda, (const float*)B, ldb, be, (const float*)C, ldc, (float*)D, ldd,
                                 d.compute);
        if (st != CUBLAS_STATUS_SUCCESS) die("cublasLtMatmul: %s", cublasGetStatusString(st));
        float* out = (float*)D;
        if (epilogue_has_bias(d.epilogue)) {
            check_range(d.bias, (size_t)m * sizeof(float), "cublasLtMatmul bias vector");
            const float* bias = (const float*)d.bias;
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) out[(size_t)j * ldd + i] += bias[i];
        }
        if (epilogue_has_aux(d.epilogue)) {   /* GELU_AUX*: aux = D, D = GELU(D); DGELU: D *= GELU'(aux) */
            check_range(d.aux, ((size_t)(n - 1) * d.aux_ld + m) * sizeof(float), "cublasLtMatmul aux matrix");
            float* aux = (float*)d.aux;
            bool fwd = d.epilogue != CUBLASLT_EPILOGUE_DGELU;
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++) {
                    float* x = &out[(size_t)j * ldd + i];
                    float* a = &aux[(size_t)j * d.aux_ld + i];
                    if (fwd) { *a = *x; *x = emu_gelu(*a); }
                    else *x *= emu_dgelu(*a);
                }
        }
    });
    return CUBLAS_STATUS_SUCCESS;
}
