/* bins: round trip, and the reader's refusal of truncated, padded, foreign and
 * inconsistent files with an error naming the file and the place. */
#include "bins.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/ddbins.XXXXXX";

static void write_raw(const char* path, const void* buf, size_t n) {
    FILE* f = fopen(path, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
}

static int refuses(const char* path, const char* needle, char* got) {
    Bin b;
    char err[ERR_LEN] = "";
    int rc = bin_open(&b, path, err);
    snprintf(got, ERR_LEN, "%s", err);
    if (rc == 0) bin_close(&b);
    return rc != 0 && strstr(err, path) && strstr(err, needle);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    char p[256], err[ERR_LEN], got[ERR_LEN];
    snprintf(p, sizeof p, "%s/ok.bin", dir);
    BinWriter w;
    uint32_t ids[5] = {1, 256, 1023, 0, 7};
    int ok = bin_writer_open(&w, p, 1024, err) == 0 && bin_writer_put(&w, ids, 5, err) == 0 && bin_writer_commit(&w, err) == 0;
    Bin b;
    ok = ok && bin_open(&b, p, err) == 0;
    CHECK("bins_roundtrip_u16", ok && b.ntok == 5 && b.vocab == 1024 && b.bpt == 2 && bin_get(&b, 1) == 256 && bin_get(&b, 2) == 1023,
          "%s", err);
    size_t len = 0;
    char* raw = read_file(p, &len, err);
    bin_close(&b);
    CHECK("bins_file_size", len == 1024 + 10, "size %zu", len);

    snprintf(p, sizeof p, "%s/big.bin", dir);
    uint32_t big[2] = {70000, 5};
    ok = bin_writer_open(&w, p, 80000, err) == 0 && bin_writer_put(&w, big, 2, err) == 0 && bin_writer_commit(&w, err) == 0 &&
         bin_open(&b, p, err) == 0;
    CHECK("bins_roundtrip_u32_for_large_vocab", ok && b.bpt == 4 && bin_get(&b, 0) == 70000, "%s", err);
    if (ok) bin_close(&b);

    /* The tokenizer's SHA-256 in header bytes 20..51: written by bin_writer_tokenizer, read
     * back as hex; a bin without it (all zero) reads as unknown (""). */
    const char* sha = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";
    snprintf(p, sizeof p, "%s/tok.bin", dir);
    ok = bin_writer_open(&w, p, 1024, err) == 0 && bin_writer_tokenizer(&w, sha, err) == 0 && bin_writer_put(&w, ids, 5, err) == 0 &&
         bin_writer_commit(&w, err) == 0 && bin_open(&b, p, err) == 0;
    CHECK("bins_tokenizer_hash_roundtrip", ok && !strcmp(b.tok_sha256, sha) && bin_get(&b, 2) == 1023, "%s %s", err, ok ? b.tok_sha256 : "");
    if (ok) bin_close(&b);
    snprintf(p, sizeof p, "%s/ok.bin", dir);
    ok = bin_open(&b, p, err) == 0;
    CHECK("bins_without_tokenizer_hash_unknown", ok && b.tok_sha256[0] == 0, "%s", ok ? b.tok_sha256 : err);
    if (ok) bin_close(&b);
    BinWriter w2;
    snprintf(p, sizeof p, "%s/badhash.bin", dir);
    ok = bin_writer_open(&w2, p, 1024, err) == 0;
    CHECK("bins_tokenizer_hash_refuses_non_hex", ok && bin_writer_tokenizer(&w2, "xyz", err) == -1 &&
          bin_writer_tokenizer(&w2, "zz112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210", err) == -1, "accepted");
    if (ok) bin_writer_abort(&w2);

    snprintf(p, sizeof p, "%s/trunc.bin", dir);
    write_raw(p, raw, len - 1);
    CHECK("bins_refuse_truncated", refuses(p, "truncated", got), "%s", got);
    snprintf(p, sizeof p, "%s/short.bin", dir);
    write_raw(p, raw, 100);
    CHECK("bins_refuse_short_header", refuses(p, "too short", got), "%s", got);
    snprintf(p, sizeof p, "%s/foreign.bin", dir);
    char* foreign = malloc(2048);
    memset(foreign, 'x', 2048);
    write_raw(p, foreign, 2048);
    CHECK("bins_refuse_foreign", refuses(p, "byte 0: magic", got), "%s", got);
    snprintf(p, sizeof p, "%s/version.bin", dir);
    int32_t* h = (int32_t*)raw;
    h[1] = 9;
    write_raw(p, raw, len);
    CHECK("bins_refuse_version", refuses(p, "byte 4: unsupported version 9", got), "%s", got);
    h[1] = 1;
    h[4] = 4;
    snprintf(p, sizeof p, "%s/bpt.bin", dir);
    write_raw(p, raw, len);
    CHECK("bins_refuse_width_mismatch", refuses(p, "byte 16", got), "%s", got);
    snprintf(p, sizeof p, "%s/missing.bin", dir);
    CHECK("bins_refuse_missing", refuses(p, "cannot open", got), "%s", got);
    free(raw);
    free(foreign);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return check_status();
}
