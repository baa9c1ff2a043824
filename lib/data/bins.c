/* bins: see bins.h. */
#include "bins.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Index of the first token id >= vocab, or n when there is none. Blocks of
 * 4096 are reduced to their maximum (a loop the compiler vectorises) and only a
 * block over the limit is searched. */
static size_t first_bad_id(const void* tokens, size_t n, int bpt, uint32_t vocab) {
    enum { BLK = 4096 };
    for (size_t i0 = 0; i0 < n; i0 += BLK) {
        size_t m = n - i0 < BLK ? n - i0 : BLK;
        uint32_t mx = 0;
        if (bpt == 2) {
            const uint16_t* t = (const uint16_t*)tokens + i0;
            for (size_t i = 0; i < m; i++) mx = t[i] > mx ? t[i] : mx;
        } else {
            const uint32_t* t = (const uint32_t*)tokens + i0;
            for (size_t i = 0; i < m; i++) mx = t[i] > mx ? t[i] : mx;
        }
        if (mx < vocab) continue;
        for (size_t i = 0; i < m; i++) {
            uint32_t id = bpt == 2 ? ((const uint16_t*)tokens)[i0 + i] : ((const uint32_t*)tokens)[i0 + i];
            if (id >= vocab) return i0 + i;
        }
    }
    return n;
}

int bin_open(Bin* b, const char* path, char err[ERR_LEN]) {
    memset(b, 0, sizeof *b);
    int fd = open(path, O_RDONLY);
    if (fd < 0) { errf(err, "%s: cannot open: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errf(err, "%s: not a regular file", path);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    if (size < BIN_HEADER) {
        close(fd);
        errf(err, "%s: %zu bytes, too short for the %d-byte token-bin header (truncated?)", path, size, BIN_HEADER);
        return -1;
    }
    void* map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) { errf(err, "%s: mmap failed: %s", path, strerror(errno)); return -1; }
    int32_t h[5];
    memcpy(h, map, sizeof h);
    const char* why = NULL;
    char buf[256];
    if ((uint32_t)h[0] != BIN_MAGIC) { snprintf(buf, sizeof buf, "byte 0: magic 0x%08x is not 0x%08x (not a token bin)", (uint32_t)h[0], BIN_MAGIC); why = buf; }
    else if (h[1] != BIN_VERSION) { snprintf(buf, sizeof buf, "byte 4: unsupported version %d (expected %d)", h[1], BIN_VERSION); why = buf; }
    else if (h[2] < 0) { snprintf(buf, sizeof buf, "byte 8: negative token count %d", h[2]); why = buf; }
    else if (h[3] < 2) { snprintf(buf, sizeof buf, "byte 12: vocab size %d is invalid", h[3]); why = buf; }
    else if (h[4] != (h[3] > 65535 ? 4 : 2)) { snprintf(buf, sizeof buf, "byte 16: %d bytes per token does not fit vocab %d", h[4], h[3]); why = buf; }
    else if ((size_t)h[2] * h[4] + BIN_HEADER != size) {
        snprintf(buf, sizeof buf, "header says %d tokens of %d bytes (%zu bytes) but the file has %zu (truncated or padded)",
                 h[2], h[4], (size_t)h[2] * h[4] + BIN_HEADER, size);
        why = buf;
    }
    if (!why) {
        /* Every id indexes an embedding row: one pass, here, before any work. */
        size_t bad = first_bad_id((const char*)map + BIN_HEADER, (size_t)h[2], h[4], (uint32_t)h[3]);
        if (bad < (size_t)h[2]) {
            const char* tk = (const char*)map + BIN_HEADER + bad * (size_t)h[4];
            uint32_t id = h[4] == 2 ? *(const uint16_t*)tk : *(const uint32_t*)tk;
            snprintf(buf, sizeof buf, "byte %zu (token %zu): id %u is not below the header's vocab %d (corrupt, or another tokenizer's bin)",
                     (size_t)BIN_HEADER + bad * h[4], bad, id, h[3]);
            why = buf;
        }
    }
    if (why) { munmap(map, size); errf(err, "%s: %s", path, why); return -1; }
    b->map = map;
    b->map_len = size;
    b->tokens = (const char*)map + BIN_HEADER;
    b->ntok = (size_t)h[2];
    b->vocab = h[3];
    b->bpt = h[4];
    const unsigned char* tk = (const unsigned char*)map + BIN_TOK_OFF;
    int known = 0;
    for (int i = 0; i < 32; i++) known |= tk[i];
    b->tok_sha256[0] = 0;
    if (known)
        for (int i = 0; i < 32; i++) snprintf(b->tok_sha256 + 2 * i, 3, "%02x", tk[i]);
    return 0;
}

void bin_close(Bin* b) {
    if (b->map) munmap(b->map, b->map_len);
    memset(b, 0, sizeof *b);
}

int bin_writer_open(BinWriter* w, const char* path, int vocab, char err[ERR_LEN]) {
    memset(w, 0, sizeof *w);
    w->vocab = vocab;
    w->bpt = vocab > 65535 ? 4 : 2;
    if (atomic_open(&w->a, path, err)) return -1;
    static const char zero[BIN_HEADER];
    if (fwrite(zero, 1, BIN_HEADER, w->a.f) != BIN_HEADER) {
        atomic_abort(&w->a);
        errf(err, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int bin_writer_put(BinWriter* w, const uint32_t* ids, size_t n, char err[ERR_LEN]) {
    size_t ok;
    if (w->bpt == 4) ok = fwrite(ids, 4, n, w->a.f);
    else {
        uint16_t buf[4096];
        ok = 0;
        for (size_t i = 0; i < n; i += 4096) {
            size_t m = n - i < 4096 ? n - i : 4096;
            for (size_t j = 0; j < m; j++) buf[j] = (uint16_t)ids[i + j];
            ok += fwrite(buf, 2, m, w->a.f);
        }
    }
    if (ok != n) { errf(err, "%s: write failed: %s", w->a.path, strerror(errno)); return -1; }
    w->ntok += n;
    return 0;
}

int bin_writer_tokenizer(BinWriter* w, const char* hex, char err[ERR_LEN]) {
    if (strlen(hex) != 64 || strspn(hex, "0123456789abcdefABCDEF") != 64) {
        errf(err, "tokenizer hash '%.80s' is not 64 hex digits", hex);
        return -1;
    }
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) { errf(err, "tokenizer hash '%s' is not 64 hex digits", hex); return -1; }
        w->tok[i] = (unsigned char)v;
    }
    return 0;
}

int bin_writer_commit(BinWriter* w, char err[ERR_LEN]) {
    if (w->ntok > 0x7fffffff) {
        atomic_abort(&w->a);
        errf(err, "%s: %zu tokens exceed the format's int32 count", w->a.path, w->ntok);
        return -1;
    }
    int32_t h[5] = {(int32_t)BIN_MAGIC, BIN_VERSION, (int32_t)w->ntok, w->vocab, w->bpt};
    if (fseek(w->a.f, 0, SEEK_SET) != 0 || fwrite(h, sizeof h, 1, w->a.f) != 1 || fwrite(w->tok, 32, 1, w->a.f) != 1) {
        atomic_abort(&w->a);
        errf(err, "%s: write failed: %s", w->a.path, strerror(errno));
        return -1;
    }
    return atomic_commit(&w->a, err);
}

void bin_writer_abort(BinWriter* w) { atomic_abort(&w->a); }

void bin_next_batch(const Bin* b, size_t* cursor, int* in, int* tg, int B, int T) {
    for (int r = 0; r < B; r++) {
        if (*cursor + T + 1 > b->ntok) *cursor = 0;
        for (int t = 0; t < T; t++) {
            in[r * T + t] = (int)bin_get(b, *cursor + t);
            tg[r * T + t] = (int)bin_get(b, *cursor + t + 1);
        }
        *cursor += T;
    }
}
