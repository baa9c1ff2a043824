/* hash: content hashes for provenance and checksums (SHA-256 via OpenSSL).
 * Owns: hex digests of buffers and files. Does not own: where they are recorded. */
#ifndef DD_HASH_H
#define DD_HASH_H
#include <stddef.h>
#include "util.h"

#define HASH_HEX 65   /* 64 hex digits + NUL */
void hash_buf(const void* buf, size_t len, char hex[HASH_HEX]);
int  hash_file(const char* path, char hex[HASH_HEX], char err[ERR_LEN]);

typedef struct HashCtx HashCtx;            /* incremental, for large payloads */
HashCtx* hash_begin(void);
void     hash_update(HashCtx* h, const void* buf, size_t len);
void     hash_end(HashCtx* h, char hex[HASH_HEX]);   /* frees h */

#endif
