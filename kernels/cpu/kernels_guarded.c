/* kernels_guarded: the CPU kernels behind a GPU's memory discipline, for
 * testing the device path on machines without a GPU (`--device cpu-guarded`).
 *
 * Every buffer the backend allocates is its own anonymous mapping that is
 * PROT_NONE except while one of its kernels or copies runs. So host code that
 * reads or writes "device" memory directly — a weight, a logit, a gradient —
 * instead of going through upload/download (model_params_host, model_logits,
 * ...) crashes at once, exactly where it would read garbage on a real GPU.
 * The arithmetic is the CPU backend's, so results are bitwise those of
 * `--device cpu`: a run on each must give identical files (tests/tools/test_device_guarded.sh).
 * Every pointer a kernel is given must also be device memory. Not for speed:
 * every call mprotects every live buffer twice. */
#include "kernels.h"
#include "util.h"

#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct { void* p; size_t len; } Region;
static Region* regions;
static int nregions, cap_regions;

static void protect_all(int prot) {
    for (int i = 0; i < nregions; i++)
        if (mprotect(regions[i].p, regions[i].len, prot)) die(EXIT_FAIL, "cpu-guarded: mprotect failed");
}
/* A kernel handed host memory would read garbage on a GPU: every pointer
 * argument must lie in a buffer this backend allocated (NULL = "skip"). */
static void on_device(const char* kernel, const void* ptr) {
    if (!ptr) return;
    const char* c = ptr;
    for (int i = 0; i < nregions; i++)
        if (c >= (const char*)regions[i].p && c < (const char*)regions[i].p + regions[i].len) return;
    die(EXIT_FAIL, "cpu-guarded: %s was given host memory (%p), not a device buffer", kernel, ptr);
}
static void on_device_all(const char* kernel, int n, ...) {
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) on_device(kernel, va_arg(ap, const void*));
    va_end(ap);
}
static void device_on(void) { protect_all(PROT_READ | PROT_WRITE); }
static void device_off(void) { protect_all(PROT_NONE); }

static void* g_alloc(size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), len = ((bytes ? bytes : 1) + page - 1) / page * page;
    void* p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);   /* zero-filled */
    if (p == MAP_FAILED) die(EXIT_FAIL, "cpu-guarded: cannot map %zu bytes", len);
    if (nregions == cap_regions) {
        cap_regions = cap_regions ? 2 * cap_regions : 64;
        regions = realloc_check(regions, cap_regions * sizeof *regions);
    }
    regions[nregions++] = (Region){p, len};
    return p;
}
static void g_release(void* p) {
    if (!p) return;
    for (int i = 0; i < nregions; i++)
        if (regions[i].p == p) {
            munmap(p, regions[i].len);
            regions[i] = regions[--nregions];
            return;
        }
    die(EXIT_FAIL, "cpu-guarded: release of a pointer it did not allocate");
}
static void transfer(void* dst, const void* src, size_t bytes) {
    device_on();
    if (dst != src && bytes) memmove(dst, src, bytes);
    device_off();
}
static void g_upload(void* dst, const void* src, size_t bytes) { on_device("upload", dst); transfer(dst, src, bytes); }
static void g_download(void* dst, const void* src, size_t bytes) {
    on_device("download", src);
    transfer(dst, src, bytes);
}
static void g_copy(void* dst, const void* src, size_t bytes) {
    on_device("copy", dst); on_device("copy", src);
    transfer(dst, src, bytes);
}
static void g_zero(void* dst, size_t bytes) {
    on_device("zero", dst);
    device_on();
    if (bytes) memset(dst, 0, bytes);
    device_off();
}
static void g_synchronize(void) {}

static void g_encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe, int B, int T,
                              int C) {
    on_device_all("encoder_forward", 4, (const void*)out, (const void*)tokens, (const void*)wte, (const void*)wpe);
    device_on();
    encoder_forward(out, tokens, wte, wpe, B, T, C);
    device_off();
}

static void g_encoder_backward(float* dwte, float* dwpe, const float* dout, const int* tokens, int B, int T, int C) {
    on_device_all("encoder_backward", 4, (const void*)dwte, (const void*)dwpe, (const void*)dout,
                                         (const void*)tokens);
    device_on();
    encoder_backward(dwte, dwpe, dout, tokens, B, T, C);
    device_off();
}

static void g_matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int BT, int C,
                             int OC) {
    on_device_all("matmul_forward", 4, (const void*)out, (const void*)inp, (const void*)weight, (const void*)bias);
    device_on();
    matmul_forward(out, inp, weight, bias, BT, C, OC);
    device_off();
}

static void g_matmul_forward_t(float* out, const float* inp, const float* weight_t, const float* bias, int BT, int C,
                               int OC) {
    on_device_all("matmul_forward_t", 4, (const void*)out, (const void*)inp, (const void*)weight_t, (const void*)bias);
    device_on();
    matmul_forward_t(out, inp, weight_t, bias, BT, C, OC);
    device_off();
}

static void g_transpose(float* dst, const float* src, int rows, int cols) {
    on_device_all("transpose", 2, (const void*)dst, (const void*)src);
    device_on();
    transpose(dst, src, rows, cols);
    device_off();
}

static void g_matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                              const float* weight, int BT, int C, int OC, int dinp_acc) {
    on_device_all("matmul_backward", 6, (const void*)dinp, (const void*)dweight, (const void*)dbias,
                                        (const void*)dout, (const void*)inp, (const void*)weight);
    device_on();
    matmul_backward(dinp, dweight, dbias, dout, inp, weight, BT, C, OC, dinp_acc);
    device_off();
}

static void g_layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                const float* bias, int BT, int C) {
    on_device_all("layernorm_forward", 6, (const void*)out, (const void*)mean, (const void*)rstd, (const void*)inp,
                                          (const void*)weight, (const void*)bias);
    device_on();
    layernorm_forward(out, mean, rstd, inp, weight, bias, BT, C);
    device_off();
}

static void g_layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                 const float* weight, const float* mean, const float* rstd, int BT, int C) {
    on_device_all("layernorm_backward", 8, (const void*)dinp, (const void*)dweight, (const void*)dbias,
                                           (const void*)dout, (const void*)inp, (const void*)weight,
                                           (const void*)mean, (const void*)rstd);
    device_on();
    layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, BT, C);
    device_off();
}

static void g_rmsnorm_forward(float* out, float* rms_inv, const float* inp, int BT, int C, float eps) {
    on_device_all("rmsnorm_forward", 3, (const void*)out, (const void*)rms_inv, (const void*)inp);
    device_on();
    rmsnorm_forward(out, rms_inv, inp, BT, C, eps);
    device_off();
}

static void g_rmsnorm_backward(float* dinp, const float* dout, const float* inp, const float* rms_inv, int BT,
                               int C) {
    on_device_all("rmsnorm_backward", 4, (const void*)dinp, (const void*)dout, (const void*)inp,
                                         (const void*)rms_inv);
    device_on();
    rmsnorm_backward(dinp, dout, inp, rms_inv, BT, C);
    device_off();
}

static void g_gelu_forward(float* out, const float* inp, int N) {
    on_device_all("gelu_forward", 2, (const void*)out, (const void*)inp);
    device_on();
    gelu_forward(out, inp, N);
    device_off();
}

static void g_gelu_backward(float* dinp, const float* inp, const float* dout, int N) {
    on_device_all("gelu_backward", 3, (const void*)dinp, (const void*)inp, (const void*)dout);
    device_on();
    gelu_backward(dinp, inp, dout, N);
    device_off();
}

static void g_attention_forward(float* out, float* preatt, float* att, const float* qkv, int B, int T, int C,
                                int NH) {
    on_device_all("attention_forward", 4, (const void*)out, (const void*)preatt, (const void*)att, (const void*)qkv);
    device_on();
    attention_forward(out, preatt, att, qkv, B, T, C, NH);
    device_off();
}

static void g_attention_backward(float* dqkv, float* dpreatt, float* datt, const float* dout, const float* qkv,
                                 const float* out, const float* att, int B, int T, int C, int NH) {
    on_device_all("attention_backward", 7, (const void*)dqkv, (const void*)dpreatt, (const void*)datt,
                                           (const void*)dout, (const void*)qkv, (const void*)out, (const void*)att);
    device_on();
    attention_backward(dqkv, dpreatt, datt, dout, qkv, out, att, B, T, C, NH);
    device_off();
}

static void g_matmul_gelu_forward(float* out, float* pre, const float* inp, const float* weight, const float* bias,
                                  int BT, int C, int OC) {
    on_device_all("matmul_gelu_forward", 5, (const void*)out, (const void*)pre, (const void*)inp,
                  (const void*)weight, (const void*)bias);
    device_on();
    matmul_gelu_forward(out, pre, inp, weight, bias, BT, C, OC);
    device_off();
}

static void g_matmul_backward_gelu(float* dpre, float* dweight, float* dbias, const float* dout, const float* inp,
                                   const float* weight, const float* pre, int BT, int C, int OC) {
    on_device_all("matmul_backward_gelu", 7, (const void*)dpre, (const void*)dweight, (const void*)dbias,
                  (const void*)dout, (const void*)inp, (const void*)weight, (const void*)pre);
    device_on();
    matmul_backward_gelu(dpre, dweight, dbias, dout, inp, weight, pre, BT, C, OC);
    device_off();
}

static void g_residual_layernorm_forward(float* out, float* ln, float* mean, float* rstd, const float* a,
                                         const float* b, const float* weight, const float* bias, int BT, int C) {
    on_device_all("residual_layernorm_forward", 8, (const void*)out, (const void*)ln, (const void*)mean,
                  (const void*)rstd, (const void*)a, (const void*)b, (const void*)weight, (const void*)bias);
    device_on();
    residual_layernorm_forward(out, ln, mean, rstd, a, b, weight, bias, BT, C);
    device_off();
}

static void g_mhc_post_rmsnorm_forward(float* xout, float* r, float* rms_inv, const float* H, const float* x,
                                       const float* y, int BT, int n, int C, float eps) {
    on_device_all("mhc_post_rmsnorm_forward", 6, (const void*)xout, (const void*)r, (const void*)rms_inv,
                  (const void*)H, (const void*)x, (const void*)y);
    device_on();
    mhc_post_rmsnorm_forward(xout, r, rms_inv, H, x, y, BT, n, C, eps);
    device_off();
}

static void g_residual_forward(float* out, const float* a, const float* b, int N) {
    on_device_all("residual_forward", 3, (const void*)out, (const void*)a, (const void*)b);
    device_on();
    residual_forward(out, a, b, N);
    device_off();
}

static void g_residual_backward(float* da, float* db, const float* dout, int N) {
    on_device_all("residual_backward", 3, (const void*)da, (const void*)db, (const void*)dout);
    device_on();
    residual_backward(da, db, dout, N);
    device_off();
}

static void g_crossentropy_softmax_forward(float* losses, float* stats, const float* logits, const int* targets,
                                           int BT, int V) {
    on_device_all("crossentropy_softmax_forward", 4, (const void*)losses, (const void*)stats, (const void*)logits,
                                                     (const void*)targets);
    device_on();
    crossentropy_softmax_forward(losses, stats, logits, targets, BT, V);
    device_off();
}

static void g_crossentropy_softmax_backward(float* dlogits, const float* dlosses, const float* logits,
                                            const float* stats, const int* targets, int BT, int V) {
    on_device_all("crossentropy_softmax_backward", 5, (const void*)dlogits, (const void*)dlosses, (const void*)logits,
                                                      (const void*)stats, (const void*)targets);
    device_on();
    crossentropy_softmax_backward(dlogits, dlosses, logits, stats, targets, BT, V);
    device_off();
}

static void g_adamw_update(float* params, const float* grads, float* m, float* v, long N, float lr, float beta1,
                           float beta2, float eps, float weight_decay, int t) {
    on_device_all("adamw_update", 4, (const void*)params, (const void*)grads, (const void*)m, (const void*)v);
    device_on();
    adamw_update(params, grads, m, v, N, lr, beta1, beta2, eps, weight_decay, t);
    device_off();
}

static void g_adamw_update_segments(float* params, const float* grads, float* m, float* v, const long* seg_start,
                                    const unsigned char* seg_decay, int nseg, float lr, float beta1, float beta2,
                                    float eps, float weight_decay, int t) {
    on_device_all("adamw_update_segments", 4, (const void*)params, (const void*)grads, (const void*)m, (const void*)v);
    device_on();
    adamw_update_segments(params, grads, m, v, seg_start, seg_decay, nseg, lr, beta1, beta2, eps, weight_decay, t);
    device_off();
}

static void g_sinkhorn_forward(float* out, float* saved, const float* logits, int N, int n, int iters) {
    on_device_all("sinkhorn_forward", 3, (const void*)out, (const void*)saved, (const void*)logits);
    device_on();
    sinkhorn_forward(out, saved, logits, N, n, iters);
    device_off();
}

static void g_sinkhorn_backward(float* dlogits, const float* dout, const float* saved, int N, int n, int iters) {
    on_device_all("sinkhorn_backward", 3, (const void*)dlogits, (const void*)dout, (const void*)saved);
    device_on();
    sinkhorn_backward(dlogits, dout, saved, N, n, iters);
    device_off();
}

static void g_encoder_decode_forward(float* out, const int* tok, const int* pos, const float* wte, const float* wpe,
                                     int N, int C) {
    on_device_all("encoder_decode_forward", 5, (const void*)out, (const void*)tok, (const void*)pos,
                                               (const void*)wte, (const void*)wpe);
    device_on();
    encoder_decode_forward(out, tok, pos, wte, wpe, N, C);
    device_off();
}

static void g_attention_decode_forward(float* out, float* kc, float* vc, const float* qkv, const int* pos, int N,
                                       int Tc, int C, int NH) {
    on_device_all("attention_decode_forward", 5, (const void*)out, (const void*)kc, (const void*)vc,
                                                 (const void*)qkv, (const void*)pos);
    device_on();
    attention_decode_forward(out, kc, vc, qkv, pos, N, Tc, C, NH);
    device_off();
}

static void g_kv_fill(float* kc, float* vc, const float* qkv, int N, int P, int Tc, int C) {
    on_device_all("kv_fill", 3, (const void*)kc, (const void*)vc, (const void*)qkv);
    device_on();
    kv_fill(kc, vc, qkv, N, P, Tc, C);
    device_off();
}

static void g_stream_broadcast(float* out, const float* inp, int BT, int n, int C) {
    on_device_all("stream_broadcast", 2, (const void*)out, (const void*)inp);
    device_on();
    stream_broadcast(out, inp, BT, n, C);
    device_off();
}

static void g_stream_sum(float* out, const float* inp, int BT, int n, int C) {
    on_device_all("stream_sum", 2, (const void*)out, (const void*)inp);
    device_on();
    stream_sum(out, inp, BT, n, C);
    device_off();
}

static void g_mhc_coeffs_forward(float* H, float* hres, const float* p, const float* alpha, const float* bias,
                                 int BT, int n) {
    on_device_all("mhc_coeffs_forward", 5, (const void*)H, (const void*)hres, (const void*)p, (const void*)alpha,
                                           (const void*)bias);
    device_on();
    mhc_coeffs_forward(H, hres, p, alpha, bias, BT, n);
    device_off();
}

static void g_mhc_pre_forward(float* u, float* H, const float* Hres, const float* x, int BT, int n, int C) {
    on_device_all("mhc_pre_forward", 4, (const void*)u, (const void*)H, (const void*)Hres, (const void*)x);
    device_on();
    mhc_pre_forward(u, H, Hres, x, BT, n, C);
    device_off();
}

static void g_mhc_post_forward(float* xout, const float* H, const float* x, const float* y, int BT, int n, int C) {
    on_device_all("mhc_post_forward", 4, (const void*)xout, (const void*)H, (const void*)x, (const void*)y);
    device_on();
    mhc_post_forward(xout, H, x, y, BT, n, C);
    device_off();
}

static void g_mhc_post_backward(float* dy, float* dx, float* dHpost, float* dHres, const float* dxo, const float* H,
                                const float* x, const float* y, int BT, int n, int C) {
    on_device_all("mhc_post_backward", 8, (const void*)dy, (const void*)dx, (const void*)dHpost, (const void*)dHres,
                                          (const void*)dxo, (const void*)H, (const void*)x, (const void*)y);
    device_on();
    mhc_post_backward(dy, dx, dHpost, dHres, dxo, H, x, y, BT, n, C);
    device_off();
}

static void g_mhc_pre_backward(float* dx, float* dHpre, const float* du, const float* H, const float* x, int BT,
                               int n, int C) {
    on_device_all("mhc_pre_backward", 5, (const void*)dx, (const void*)dHpre, (const void*)du, (const void*)H,
                                         (const void*)x);
    device_on();
    mhc_pre_backward(dx, dHpre, du, H, x, BT, n, C);
    device_off();
}

static void g_mhc_coeffs_backward(float* dp, float* dalpha, float* dbias, const float* dHpre, const float* dHpost,
                                  const float* dres, const float* H, const float* p, const float* alpha, int BT,
                                  int n) {
    on_device_all("mhc_coeffs_backward", 9, (const void*)dp, (const void*)dalpha, (const void*)dbias,
                                            (const void*)dHpre, (const void*)dHpost, (const void*)dres,
                                            (const void*)H, (const void*)p, (const void*)alpha);
    device_on();
    mhc_coeffs_backward(dp, dalpha, dbias, dHpre, dHpost, dres, H, p, alpha, BT, n);
    device_off();
}

static void g_axpy(float* y, float a, const float* x, long N) {
    on_device_all("axpy", 2, (const void*)y, (const void*)x);
    device_on();
    axpy(y, a, x, N);
    device_off();
}

static void g_scale(float* y, float a, long N) {
    on_device_all("scale", 1, (const void*)y);
    device_on();
    scale(y, a, N);
    device_off();
}

static void g_ema_update(float* phi, const float* theta, long N, float decay) {
    on_device_all("ema_update", 2, (const void*)phi, (const void*)theta);
    device_on();
    ema_update(phi, theta, N, decay);
    device_off();
}

static double g_sumsq(const float* x, long N) {
    on_device_all("sumsq", 1, (const void*)x);
    device_on();
    double r = sumsq(x, N);
    device_off();
    return r;
}

static void g_sample_rows(int* tok, const float* logits, const double* u, int N, int V, float inv_temperature) {
    on_device_all("sample_rows", 3, (const void*)tok, (const void*)logits, (const void*)u);
    device_on();
    sample_rows(tok, logits, u, N, V, inv_temperature);
    device_off();
}

const KernelOps kernels_guarded = {
    .name = "cpu-guarded", .precision = "fp32", .decode_transposed = 1,
    .alloc = g_alloc, .release = g_release, .upload = g_upload, .download = g_download,
    .copy = g_copy, .zero = g_zero, .synchronize = g_synchronize,
#define K(f) .f = g_##f,
    KERNEL_LIST(K)
#undef K
};
