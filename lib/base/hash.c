/* hash: see hash.h. */
#include "hash.h"
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct HashCtx { EVP_MD_CTX* md; };

HashCtx* hash_begin(void) {
    HashCtx* h = malloc_check(sizeof *h);
    h->md = EVP_MD_CTX_new();
    internal_check(h->md && EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) == 1, "OpenSSL SHA-256 unavailable");
    return h;
}
void hash_update(HashCtx* h, const void* buf, size_t len) { EVP_DigestUpdate(h->md, buf, len); }
void hash_end(HashCtx* h, char hex[HASH_HEX]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->md, d, &n);
    for (unsigned i = 0; i < n; i++) sprintf(hex + 2 * i, "%02x", d[i]);
    hex[2 * n] = 0;
    EVP_MD_CTX_free(h->md);
    free(h);
}

void hash_buf(const void* buf, size_t len, char hex[HASH_HEX]) {
    HashCtx* h = hash_begin();
    hash_update(h, buf, len);
    hash_end(h, hex);
}

int hash_file(const char* path, char hex[HASH_HEX], char err[ERR_LEN]) {
    FILE* f = fopen(path, "rb");
    if (!f) { snprintf(err, ERR_LEN, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    HashCtx* h = hash_begin();
    static __thread unsigned char buf[1 << 20];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) hash_update(h, buf, n);
    int bad = ferror(f);
    fclose(f);
    hash_end(h, hex);
    if (bad) { snprintf(err, ERR_LEN, "%s: read error", path); return -1; }
    return 0;
}
