/* optim: see optim.h. */
#include "optim.h"
#include "kernels.h"
#include "util.h"
#include <math.h>
#include <stdlib.h>

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
    /* The tensors lie back to back in one buffer: one call (one GPU launch) for all of them. */
    long* start = malloc_check((size_t)(m->ntensors + 1) * sizeof *start);
    unsigned char* decay = malloc_check((size_t)m->ntensors + 1);
    for (int i = 0; i < m->ntensors; i++) {
        start[i] = (long)m->info[i].offset;
        decay[i] = m->info[i].decay ? 1 : 0;
        internal_check(i == 0 || start[i] == start[i - 1] + (long)m->info[i - 1].numel, "optim_step: parameter tensors not contiguous");
    }
    start[m->ntensors] = (long)m->num_params;
    k->adamw_update_segments(m->params, m->grads, mopt, vopt, start, decay, m->ntensors, (float)lr, (float)o->beta1,
                             (float)o->beta2, (float)o->eps, (float)o->weight_decay, (int)t);
    free(start);
    free(decay);
    return norm;
}
