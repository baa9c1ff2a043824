/* cuda_bf16.h of the CUDA emulator (tests/cuda/emu/cuda_runtime.h): the bf16
 * storage type and its conversions, as the GPU does them (float to bf16 rounds
 * to nearest even; NaN stays NaN). */
#ifndef DD_EMU_CUDA_BF16_H
#define DD_EMU_CUDA_BF16_H
#include "cuda_runtime.h"

struct __nv_bfloat16 {
    uint16_t bits;
};

inline __nv_bfloat16 __float2bfloat16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    __nv_bfloat16 b;
    if ((u & 0x7fffffffu) > 0x7f800000u) b.bits = (uint16_t)((u >> 16) | 0x40);   /* quiet NaN */
    else b.bits = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    return b;
}
inline float __bfloat162float(__nv_bfloat16 b) {
    uint32_t u = (uint32_t)b.bits << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
#endif
