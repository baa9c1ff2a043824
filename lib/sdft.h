/* sdft: the self-distillation math of SPEC §12 (Shenfeld et al. 2026).
 * Owns: the per-token reverse KL(student || teacher) over the full vocabulary
 * and its analytic gradient with respect to the student's logits (teacher
 * stop-gradient). Does not own: sampling, the loop, gates (tools/sdft.c), the
 * teacher's EMA update (ema_update in kernels/kernels.h, so it runs on the device). */
#ifndef DD_SDFT_H
#define DD_SDFT_H
#include <stddef.h>

/* KL = sum_v p(v) (log p(v) - log q(v)), p = softmax(zs), q = softmax(zt).
 * With dz: dz[v] += scale * p(v) (log p(v) - log q(v) - KL), the gradient of
 * scale * KL with respect to zs. Returns KL. */
double sdft_kl(const float* zs, const float* zt, int V, float* dz, float scale);

#endif
