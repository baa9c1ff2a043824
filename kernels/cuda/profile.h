/* profile.h: where the CUDA backend's time goes, per table entry
 * (DD_CUDA_PROFILE; kernels/cuda/profile.cu, docs/performance.md).
 *
 * With DD_CUDA_PROFILE set, kernels_cuda_init wraps every kernel and memory
 * entry of the table in Timed<op, f>::call: CUDA events on either side give
 * the GPU time of the kernels the call queued, the host clock the time the
 * host spent inside it (launch cost, host work, waits). The matrix products
 * are counted per shape (C x OC), since the model's four products differ.
 * Unset, the table holds the functions themselves and nothing is measured. */
#ifndef DD_CUDA_PROFILE_H
#define DD_CUDA_PROFILE_H

#include <cuda_runtime.h>

#include <tuple>

namespace prof {
/* From DD_CUDA_PROFILE: 0 unset (no profiling); else the report goes at exit
 * to stderr ("1") or to the file named. names[op] labels the entries. */
int start(const char* const* names, cudaStream_t stream);
/* Forget what was counted (after a warm-up). */
void reset(void);
struct Scope {
    int bucket;
    double t0;
    Scope(int op, int a, int b);
    ~Scope();
};
}  // namespace prof

/* The bucket's shape for op I's arguments: (C, OC) for the matrix products. */
template <int I, int Fwd, int Bwd, typename... A> static void prof_shape(int* a, int* b, A... x) {
    if constexpr (I == Fwd) {   /* matmul_forward(out, inp, weight, bias, BT, C, OC) */
        auto t = std::make_tuple(x...);
        *a = std::get<5>(t), *b = std::get<6>(t);
    } else if constexpr (I == Bwd) {   /* matmul_backward(dinp, dweight, dbias, dout, inp, weight, BT, C, OC, dinp_acc) */
        auto t = std::make_tuple(x...);
        *a = std::get<7>(t), *b = std::get<8>(t);
    } else {
        *a = *b = 0;
    }
}

template <int I, int Fwd, int Bwd, typename F, F f> struct Timed;
template <int I, int Fwd, int Bwd, typename R, typename... A, R (*f)(A...)> struct Timed<I, Fwd, Bwd, R (*)(A...), f> {
    static R call(A... x) {
        int a, b;
        prof_shape<I, Fwd, Bwd>(&a, &b, x...);
        prof::Scope s(I, a, b);
        return f(x...);
    }
};

#endif
