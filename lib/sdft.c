/* sdft: see sdft.h. log-softmax in double for the per-token sums. */
#include "sdft.h"
#include <math.h>

static double logsumexp(const float* z, int V) {
    double mx = z[0];
    for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
    double s = 0;
    for (int v = 0; v < V; v++) s += exp(z[v] - mx);
    return mx + log(s);
}

double sdft_kl(const float* zs, const float* zt, int V, float* dz, float scale) {
    double ls = logsumexp(zs, V), lt = logsumexp(zt, V), kl = 0;
    for (int v = 0; v < V; v++) {
        double lp = zs[v] - ls, lq = zt[v] - lt;
        kl += exp(lp) * (lp - lq);
    }
    if (dz)
        for (int v = 0; v < V; v++) {
            double lp = zs[v] - ls, lq = zt[v] - lt;
            dz[v] += (float)(scale * exp(lp) * (lp - lq - kl));
        }
    return kl;
}
