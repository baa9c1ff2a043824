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

double optim_step(const OptimCfg* o, Model* m, float* mopt, float* vopt, long t, double lr) {
    const KernelOps* k = m->k;
    double norm = sqrt(k->sumsq(m->grads, (long)m->num_params));
    if (o->grad_clip > 0 && norm > o->grad_clip) k->scale(m->grads, (float)(o->grad_clip / (norm + 1e-6)), (long)m->num_params);
    for (int i = 0; i < m->ntensors; i++) {
        const ParamInfo* p = &m->info[i];
        size_t off = p->offset;
        k->adamw_update(m->params + off, m->grads + off, mopt + off, vopt + off, (long)p->numel, (float)lr,
                     (float)o->beta1, (float)o->beta2, (float)o->eps, p->decay ? (float)o->weight_decay : 0.0f, (int)t);
    }
    return norm;
}
