/* optim: see optim.h. */
#include "optim.h"
#include "kernels.h"
#include <math.h>

double lr_at(const OptimCfg* o, long step) {
    if (o->warmup > 0 && step < o->warmup) return o->lr * (double)(step + 1) / o->warmup;
    double span = (double)(o->total - o->warmup);
    double frac = span > 0 ? (double)(step - o->warmup) / span : 1.0;
    if (frac > 1) frac = 1;
    double floor = o->lr * o->min_lr_frac;
    return floor + 0.5 * (o->lr - floor) * (1.0 + cos(M_PI * frac));
}

double grad_norm(const float* g, size_t n) {
    /* Fixed 64 chunks summed in order: deterministic whatever the threads. */
    enum { K = 64 };
    double part[K] = {0};
    #pragma omp parallel for
    for (int k = 0; k < K; k++) {
        size_t lo = n * k / K, hi = n * (k + 1) / K;
        double s = 0;
        for (size_t i = lo; i < hi; i++) s += (double)g[i] * g[i];
        part[k] = s;
    }
    double s = 0;
    for (int k = 0; k < K; k++) s += part[k];
    return sqrt(s);
}

double optim_step(const OptimCfg* o, Model* m, float* mopt, float* vopt, long t, double lr) {
    double norm = grad_norm(m->grads, m->num_params);
    if (o->grad_clip > 0 && norm > o->grad_clip) {
        float sc = (float)(o->grad_clip / (norm + 1e-6));
        #pragma omp parallel for
        for (size_t i = 0; i < m->num_params; i++) m->grads[i] *= sc;
    }
    for (int i = 0; i < m->ntensors; i++) {
        const ParamInfo* p = &m->info[i];
        size_t off = p->offset;
        adamw_update(m->params + off, m->grads + off, mopt + off, vopt + off, (long)p->numel, (float)lr,
                     (float)o->beta1, (float)o->beta2, (float)o->eps, p->decay ? (float)o->weight_decay : 0.0f, (int)t);
    }
    return norm;
}
