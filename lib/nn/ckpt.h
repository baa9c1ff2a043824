/* ckpt: checkpoint directories (SPEC §4-5).
 *
 * A checkpoint is <run>/<prefix>_step_NNNNNNN/ holding
 *   model.safetensors   the published weights (docs/model.md names; metadata:
 *                       format, model_config, step, payload_sha256)
 *   optim.safetensors   AdamW m and v, flat, in the parameter-buffer layout
 *   train_state.json    step, data cursor, rng state, what a bit-exact resume needs
 * It is written under <prefix>_step_NNNNNNN.tmp.<pid>/, fsync'd and renamed
 * when complete; <prefix>_latest is a symlink swapped atomically to it.
 * Downstream tools read model.safetensors only; optim and train_state are
 * resume state, never a published model.
 * Owns: writing, validating and reading those files. Does not own: the loop. */
#ifndef DD_CKPT_H
#define DD_CKPT_H
#include <jansson.h>
#include "model.h"
#include "tokenizer.h"

/* Publish a checkpoint. mopt/vopt (on the model's device, like the weights)
 * may be NULL (weights only). state is copied. */
int ckpt_save(const char* run_dir, const char* prefix, long step, Model* m, const float* mopt,
              const float* vopt, const json_t* state, char out_dir[4096], char err[ERR_LEN]);

/* The model config recorded in a checkpoint (dir or its model.safetensors). */
int ckpt_read_config(const char* ckpt, ModelConfig* c, char err[ERR_LEN]);
/* Weights into a built model: every tensor present with the model's shape, checksum verified. */
int ckpt_load_weights(const char* ckpt, Model* m, char err[ERR_LEN]);
/* A checkpoint's model, ready to sample: its recorded config, built, the weights loaded
 * (checksum verified), on `device` at `precision` (model_use_device); tok (read from
 * tok_path) must have the model's vocab and be the tokenizer it was trained with
 * (ckpt_check_tokenizer), else -1 with err naming both files. */
int ckpt_load_model(const char* ckpt, const char* device, const char* precision, const Tokenizer* tok,
                    const char* tok_path, Model* m, char err[ERR_LEN]);
/* The tokenizer a checkpoint was trained with: its weights' `tokenizer_sha256` metadata
 * ("" for a checkpoint from before it was recorded), without reading the payload. */
int ckpt_read_tokenizer(const char* ckpt, char hex[65], char err[ERR_LEN]);
/* `path` against the tokenizer checkpoint `ckpt` was trained with (ckpt_sha256): path is a
 * tokenizer .model (tok_sha256 NULL: hashed here) or a bin (tok_sha256: its header's).
 * -1 with err naming both when they differ; 0 when they match or either is unknown. */
int ckpt_check_tokenizer(const char* ckpt, const char* ckpt_sha256, const char* path, const char* tok_sha256, char err[ERR_LEN]);
/* Full resume state into the model and mopt/vopt (on its device); *state is a new reference. */
int ckpt_load_state(const char* ckpt_dir, Model* m, float* mopt, float* vopt, json_t** state, char err[ERR_LEN]);

#endif
