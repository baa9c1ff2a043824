/* lora: low-rank adapters for test-time training (SPEC §6, §12).
 * Owns: creating adapters for a model (rank r, alpha; A ~ U(-1/sqrt(in), 1/sqrt(in))
 * as PEFT's kaiming-uniform, B = 0, so a fresh adapter leaves the model unchanged),
 * attaching/detaching them, and saving/loading `lora.safetensors` with PEFT's
 * names: base_model.model.h.{l}.attn.c_attn.lora_A.weight (r, in), .lora_B.weight
 * (out, r), and likewise attn.c_proj, mlp.c_fc, mlp.c_proj; metadata holds r,
 * alpha and the target modules.
 * Does not own: the math (model.c's linear_forward and its backward apply W x + scale B (A x)),
 * the optimiser state of a TTT step (lib/algo/ttt), checkpoint files of the base model (ckpt). */
#ifndef DD_LORA_H
#define DD_LORA_H
#include "model.h"

Lora* lora_new(const Model* m, int rank, float alpha, uint64_t seed);
void  lora_free(Lora* lo);
void  lora_zero_grad(Lora* lo);
/* Host copy of the adapter weights (lo->hparams), and its upload after host writes. */
float* lora_params_host(Lora* lo);
void  lora_params_changed(Lora* lo);
int   lora_save(const char* path, Lora* lo, const Model* m, long step, char err[ERR_LEN]);
int   lora_load(const char* path, Lora* lo, const Model* m, char err[ERR_LEN]);
void  lora_name(char* out, size_t cap, int l, int j, int is_b);

#endif
