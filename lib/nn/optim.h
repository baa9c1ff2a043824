/* optim: the optimisation policy shared by pretrain and sdft.
 * Owns: the learning-rate schedule (linear warmup, cosine decay to a floor),
 * the global gradient norm and clipping (fixed summation order: the same bits
 * for any thread count), and AdamW over a model's parameter table (decay only
 * where docs/model.md says). Does not own: the training loop. */
#ifndef DD_OPTIM_H
#define DD_OPTIM_H
#include "model.h"

typedef struct {
    double lr, min_lr_frac, beta1, beta2, eps, weight_decay, grad_clip;
    long   warmup, total;
} OptimCfg;

double lr_at(const OptimCfg* o, long step);              /* step counts from 0 */
/* Clip to grad_clip (if > 0), then one AdamW step t (from 1) at learning rate lr. */
double optim_step(const OptimCfg* o, Model* m, float* mopt, float* vopt, long t, double lr);

#endif
