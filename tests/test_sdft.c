/* sdft math: the reverse-KL gradient against finite differences, KL >= 0 and
 * zero for equal distributions, the EMA update; with --dump DIR writes logits,
 * KL and gradient for tests/torch/ref_sdft.py (PyTorch autograd). */
#include "check.h"
#include "kernels.h"
#include "rng.h"
#include "sdft.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
    enum { V = 37 };
    float zs[V], zt[V], dz[V] = {0};
    Rng r;
    rng_seed(&r, 11);
    for (int v = 0; v < V; v++) { zs[v] = (float)(2 * rng_normal(&r)); zt[v] = (float)(2 * rng_normal(&r)); }
    double kl = sdft_kl(zs, zt, V, dz, 1.0f);
    if (argc > 2 && !strcmp(argv[1], "--dump")) {
        char p[4200];
        snprintf(p, sizeof p, "%s/sdft.txt", argv[2]);
        FILE* f = fopen(p, "w");
        if (!f) return 2;
        for (int v = 0; v < V; v++) fprintf(f, "%.9g %.9g %.9g\n", zs[v], zt[v], dz[v]);
        fprintf(f, "%.12g\n", kl);
        fclose(f);
        return 0;
    }
    double worst = 0;
    for (int v = 0; v < V; v++) {
        float save = zs[v], h = 1e-2f;
        zs[v] = save + h;
        double kp = sdft_kl(zs, zt, V, NULL, 1);
        zs[v] = save - h;
        double km = sdft_kl(zs, zt, V, NULL, 1);
        zs[v] = save;
        double num = (kp - km) / (2 * h), e = fabs(num - dz[v]) / fmax(fabs(num) + fabs(dz[v]), 1e-4);
        if (e > worst) worst = e;
    }
    CHECK("sdft_kl_grad_finite_differences", worst < 1e-2, "worst relative error %g", worst);
    float same[V];
    memcpy(same, zs, sizeof same);
    for (int v = 0; v < V; v++) same[v] += 3.0f;   /* softmax is shift-invariant */
    float dz0[V] = {0};
    double k0 = sdft_kl(zs, same, V, dz0, 1.0f);
    double g0 = 0;
    for (int v = 0; v < V; v++) g0 += fabs(dz0[v]);
    CHECK("sdft_kl_zero_when_equal", fabs(k0) < 1e-9 && g0 < 1e-6, "kl %g grad %g", k0, g0);
    CHECK("sdft_kl_positive", kl > 0, "kl %g", kl);
    double gsum = 0;
    for (int v = 0; v < V; v++) gsum += dz[v];
    CHECK("sdft_kl_grad_sums_to_zero", fabs(gsum) < 1e-5, "sum %g", gsum);
    float phi[3] = {1, 2, 3}, th[3] = {11, 12, 13};
    ema_update(phi, th, 3, 0.99f);
    CHECK("ema_update", fabsf(phi[0] - 1.1f) < 1e-6f && fabsf(phi[2] - 3.1f) < 1e-6f, "phi %g %g", phi[0], phi[2]);
    return check_status();
}
