/* sample: batched autoregressive decoding with a KV cache (SPEC §6).
 * Owns: feeding N prompts (of different lengths) and sampling up to max_new
 * tokens each, all in one batch, with temperature, top-k and top-p; stopping a
 * sequence at a stop token (<eos>, <pad>, or any token holding a newline), which
 * the completion keeps as its last token.
 * Reproducible: sequence i draws from rng_split(seed stream, i), so a result
 * does not depend on the batch it ran in or the thread count.
 * Does not own: the forward pass and KV cache layout (model), scoring completions
 * (lib/data/tasks), what is done with them (lib/algo/ttt, tools/generate). */
#ifndef DD_SAMPLE_H
#define DD_SAMPLE_H
#include <stdint.h>
#include "model.h"
#include "rng.h"
#include "tokenizer.h"

typedef struct {
    double temperature;   /* > 0 */
    int    top_k;         /* 0 = off */
    double top_p;         /* 1 = off */
} SampleCfg;

/* out: (N, max_new) tokens, lens: (N) counts. A completion that ended on a stop token
 * holds it as its last token (counted in lens and within max_new): the policy learns
 * when to stop from it. One cut off at max_new has none. stop: (V) flags. Returns the
 * number of model positions evaluated. */
long sample_batch(Model* m, const int* const* prompts, const int* plens, int N, int max_new, const SampleCfg* sc,
                  const Rng* base, const uint8_t* stop, int* out, int* lens);

/* A prompt's ids (int, as the model takes them), keeping the last `keep` when the
 * text encodes to more. Returns the count. */
int sample_encode_prompt(const Tokenizer* tok, TokCache* cache, const char* text, int* ids, int keep);

/* The length of a completion's text: n without its final stop token, if it has one
 * (what is decoded, scored and kept in the PUCT archive). */
int sample_text_len(const int* ids, int n, const uint8_t* stop);

/* (V) flags, malloc'd: <eos>, <pad> and every token whose bytes hold a newline. */
uint8_t* sample_stop_flags(const Tokenizer* tok, int V);

/* Index drawn from logits (V) under the config, using r. */
int  sample_token(const float* logits, int V, const SampleCfg* sc, Rng* r, float* scratch /* (V) */, int* idx /* (V) */);

#endif
