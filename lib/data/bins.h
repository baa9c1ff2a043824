/* bins: packed token files (SPEC §5).
 *
 * A 1024-byte header of 256 little-endian int32 — [0] magic 0x4444544B,
 * [1] version 1, [2] token count, [3] vocab size, [4] bytes per token (2 for
 * uint16; 4 for uint32 when vocab > 65535), [5..12] the SHA-256 of the tokenizer
 * .model that made the ids (its 32 bytes; all zero = unknown, as in bins written
 * before it was recorded), the rest 0 — then the tokens.
 * Owns: reading (mmap, with the file size checked against the header, every
 * header field validated and every token id checked below the header's vocab,
 * so a caller that checks that vocab against its model may index with any id), language-model batches read from it, and writing
 * (atomic, the header filled in at commit).
 * Does not own: tokenization. */
#ifndef DD_BINS_H
#define DD_BINS_H
#include <stddef.h>
#include <stdint.h>
#include "atomic.h"

#define BIN_MAGIC   0x4444544B
#define BIN_VERSION 1
#define BIN_HEADER  1024
#define BIN_TOK_OFF 20      /* byte offset of the tokenizer's SHA-256 in the header */

typedef struct {
    void*       map;      /* whole file */
    size_t      map_len;
    const void* tokens;   /* (ntok,) uint16 or uint32 */
    size_t      ntok;
    int         vocab;
    int         bpt;      /* bytes per token */
    char        tok_sha256[65];   /* hex SHA-256 of the tokenizer that made it; "" when unknown */
} Bin;

int  bin_open(Bin* b, const char* path, char err[ERR_LEN]);
void bin_close(Bin* b);
static inline uint32_t bin_get(const Bin* b, size_t i) {
    return b->bpt == 2 ? ((const uint16_t*)b->tokens)[i] : ((const uint32_t*)b->tokens)[i];
}

/* The next B sequences of T inputs and their next-token targets, read back to back from
 * token *cursor on (which moves on by T a sequence); a sequence that would run past the
 * end (it needs T + 1 tokens) starts again at token 0. Pretraining's stream and every
 * evaluation read batches this way. */
void bin_next_batch(const Bin* b, size_t* cursor, int* in /* (B, T) */, int* tg /* (B, T) */, int B, int T);

typedef struct {
    AtomicFile a;
    int    vocab, bpt;
    size_t ntok;
    unsigned char tok[32];   /* the tokenizer's SHA-256 (bin_writer_tokenizer); zero = unknown */
} BinWriter;

int  bin_writer_open(BinWriter* w, const char* path, int vocab, char err[ERR_LEN]);
int  bin_writer_put(BinWriter* w, const uint32_t* ids, size_t n, char err[ERR_LEN]);
/* Records the tokenizer's SHA-256 (64 hex digits, lib/base/hash) in the header at commit. */
int  bin_writer_tokenizer(BinWriter* w, const char* sha256_hex, char err[ERR_LEN]);
int  bin_writer_commit(BinWriter* w, char err[ERR_LEN]);
void bin_writer_abort(BinWriter* w);

#endif
