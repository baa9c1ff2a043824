/* mma.h of the CUDA emulator (tests/cuda/emu/cuda_runtime.h): the warp matrix
 * functions (nvcuda::wmma) for 16x16x16 tiles of bf16 with float accumulators.
 *
 * On a GPU a fragment is spread over the warp's 32 lanes in an unspecified
 * layout; here every lane holds the whole tile (row-major, logical
 * coordinates) and does the whole product, which gives the same result as
 * long as the code never indexes a fragment's elements (kernels_cuda.cu does
 * not). Each *_sync call is a rendezvous of the full warp, so a call under
 * divergent lanes stops the emulator as a GPU would hang or misbehave, and
 * the rules a GPU enforces are checked: pointers 32-byte aligned, ldm a
 * multiple of 16 bytes. The product sums in k order in float; the tensor
 * cores' order and rounding inside one 16-deep step are not modelled. */
#ifndef DD_EMU_MMA_H
#define DD_EMU_MMA_H
#include "cuda_bf16.h"

namespace emu {
[[noreturn]] void wmma_fail(const char* what, const void* p, unsigned ldm);
void warp_rendezvous(void);
}

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void> struct fragment {
    static constexpr int rows = std::is_same<Use, matrix_b>::value ? K : M;
    static constexpr int cols = std::is_same<Use, matrix_a>::value ? K : N;
    static constexpr int num_elements = rows * cols;
    T x[rows * cols];   /* the whole tile, row-major */
};

template <typename T> inline void wmma_check(const T* p, unsigned ldm, const char* what) {
    if ((uintptr_t)p % 32) emu::wmma_fail(what, p, ldm);
    if ((ldm * sizeof(T)) % 16) emu::wmma_fail(what, p, ldm);
}

template <typename Use, int M, int N, int K, typename T, typename L>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, T v) {
    emu::warp_rendezvous();
    for (int i = 0; i < f.num_elements; i++) f.x[i] = v;
}
template <typename Use, int M, int N, int K, typename T, typename L, typename V>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, V v) {
    fill_fragment(f, (T)v);
}

/* matrix_a / matrix_b: the layout is the fragment's */
template <typename Use, int M, int N, int K, typename T, typename L>
inline void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const T* p, unsigned ldm) {
    static_assert(!std::is_same<Use, accumulator>::value, "an accumulator load names its layout");
    emu::warp_rendezvous();
    wmma_check(p, ldm, "load_matrix_sync");
    constexpr bool rm = std::is_same<L, row_major>::value;
    for (int r = 0; r < f.rows; r++)
        for (int c = 0; c < f.cols; c++) f.x[r * f.cols + c] = rm ? p[(size_t)r * ldm + c] : p[(size_t)c * ldm + r];
    emu::warp_rendezvous();
}
template <int M, int N, int K, typename T>
inline void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const T* p, unsigned ldm, layout_t layout) {
    emu::warp_rendezvous();
    wmma_check(p, ldm, "load_matrix_sync");
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++)
            f.x[r * N + c] = layout == mem_row_major ? p[(size_t)r * ldm + c] : p[(size_t)c * ldm + r];
    emu::warp_rendezvous();
}
/* Every lane writes the same values: harmless here (lanes run one at a time). */
template <int M, int N, int K, typename T>
inline void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm, layout_t layout) {
    emu::warp_rendezvous();
    wmma_check(p, ldm, "store_matrix_sync");
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) {
            if (layout == mem_row_major) p[(size_t)r * ldm + c] = f.x[r * N + c];
            else p[(size_t)c * ldm + r] = f.x[r * N + c];
        }
    emu::warp_rendezvous();
}

inline float wmma_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <int M, int N, int K, typename TA, typename LA, typename LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, TA, LA>& a,
                     const fragment<matrix_b, M, N, K, TA, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    emu::warp_rendezvous();
    float out[M * N];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = c.x[i * N + j];
            for (int k = 0; k < K; k++) s += wmma_float(a.x[i * K + k]) * wmma_float(b.x[k * N + j]);
            out[i * N + j] = s;
        }
    memcpy(d.x, out, sizeof out);
    emu::warp_rendezvous();
}
}  // namespace wmma
}  // namespace nvcuda
#endif
