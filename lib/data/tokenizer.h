/* tokenizer: the project's byte-level BPE tokenizer.
 *
 * Owns: training a merge list from text, the `.model` file format (write and
 * strictly validating parse), encoding text to ids, decoding ids to bytes, and
 * the Hugging Face `tokenizer.json` / `tokenizer_config.json` export that gives
 * exactly our ids. The format and the pre-tokenization are specified in
 * docs/tokenizer-format.md.
 *
 * Does not own: reading the corpus, writing files atomically, token bins, or
 * threading policy (callers encode in parallel with one TokCache per thread;
 * a Tokenizer is read-only after it is built, so it can be shared).
 *
 * Token ids (a fixed contract with the rest of the project):
 *   0..255  the single bytes (id = byte value)
 *   256     <eos>      257  <pad>
 *   258..   merged tokens, in merge order (id = 258 + merge rank)
 * Every id's byte string is unique, so decode(encode(s)) == s for any bytes.
 *
 * Library rules: nothing here prints or exits; errors return NULL / -1 and
 * write one line into err[ERR_LEN] naming the file and line where there is one. */
#ifndef DD_TOKENIZER_H
#define DD_TOKENIZER_H
#include <stddef.h>
#include <stdint.h>
#include "util.h"

enum {
    TOK_NBYTES      = 256,        /* ids 0..255 are bytes */
    TOK_EOS         = 256,
    TOK_PAD         = 257,
    TOK_FIRST_MERGE = 258,        /* id of the first merged token */
    TOK_MIN_VOCAB   = 259,        /* bytes + specials + at least one merge */
    TOK_MAX_VOCAB   = 1 << 24,
    TOK_MAX_TOKEN_LEN = 256,      /* longest token in bytes; training never makes longer */
};

typedef struct Tokenizer Tokenizer;

/* Training progress: done merges out of total (= vocab_size - 258). Called at
 * most ~100 times a second, and once at the end. */
typedef void (*TokProgress)(void* ctx, long done, long total);

/* Train on a text buffer (split into lines at '\n'; newlines are never part of
 * a token) until the vocabulary has vocab_size ids. If the text runs out of
 * pairs first, training stops early: check tok_vocab_size(). The result is a
 * pure function of (text, vocab_size): same bytes at any thread count.
 * Errors: empty text ("no training text"), vocab_size out of range.
 * cb may be NULL. */
Tokenizer* tok_train(const char* text, size_t len, int vocab_size, TokProgress cb, void* ctx,
                     char err[ERR_LEN]);

/* The .model file bytes (text, see docs/tokenizer-format.md); malloc'd,
 * NUL-terminated, *len excludes the NUL. */
char* tok_serialize(const Tokenizer* t, size_t* len);

/* Parse .model bytes. Strict: header, counts, every merge refers to existing
 * non-special ids, no duplicate merges or token strings, no trailing bytes.
 * Never crashes or over-allocates on any input (it is fuzzed).
 * path_for_errors only names the source in err ("data/tok.model: line 17: ..."). */
Tokenizer* tok_parse(const char* buf, size_t len, const char* path_for_errors, char err[ERR_LEN]);

/* read_file + tok_parse. */
Tokenizer* tok_load(const char* path, char err[ERR_LEN]);

void tok_free(Tokenizer* t);

/* V: every id is < V (bytes + specials + merges). */
int tok_vocab_size(const Tokenizer* t);

/* Hugging Face export. Returns tokenizer.json; *tokenizer_config_json gets
 * tokenizer_config.json (eos/pad tokens, model_max_length, tokenizer class).
 * Both malloc'd, NUL-terminated. model_max_length <= 0 means "unknown" and is
 * written as 1e30, as transformers itself does. */
char* tok_export_hf_json(const Tokenizer* t, int model_max_length, char** tokenizer_config_json);

/* Encode cache: pre-token bytes -> ids, so a repeated word costs one hash
 * lookup. Not thread-safe: one per thread. Belongs to the tokenizer it was
 * made for (tok_encode ignores it for any other). Bounded in size: it starts
 * over when full. */
typedef struct TokCache TokCache;
TokCache* tok_cache_new(const Tokenizer* t);
void      tok_cache_free(TokCache* c);

/* Encode s[0..len) (one line; a '\n' inside is encoded as ordinary
 * whitespace) into out, which must have room for len ids (a token is never
 * shorter than one byte). Returns the number of ids. c may be NULL (slower).
 * Specials are never produced: the text "<eos>" encodes as its bytes. */
size_t tok_encode(const Tokenizer* t, TokCache* c, const char* s, size_t len, uint32_t* out);

/* Concatenate the bytes of ids into out (not NUL-terminated). Specials and
 * ids >= V decode to nothing. Writes whole tokens only: stops before the
 * first token that would not fit in cap. Returns bytes written. */
size_t tok_decode(const Tokenizer* t, const uint32_t* ids, size_t n, char* out, size_t cap);

/* Bytes of one token (not NUL-terminated), *len its length. For the
 * specials this is their name ("<eos>", "<pad>"), for display; tok_decode
 * drops them. NULL for id >= V. */
const char* tok_token_bytes(const Tokenizer* t, uint32_t id, size_t* len);

/* The pre-tokenization regex (ASCII-only, Oniguruma and JavaScript syntax),
 * as written into tokenizer.json. */
extern const char TOK_PRETOKENIZE_REGEX[];

/* End of the pre-token of s[0..len) that starts at i (i < len): the end of
 * the regex's match there. Encoding and training cut text with it. */
size_t tok_pretoken_end(const char* s, size_t len, size_t i);

#endif
