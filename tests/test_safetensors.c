/* Unit tests of lib/nn/safetensors: round trip, the payload checksum, and the
 * rejection of every kind of malformed file with a message naming the file.
 *   test_safetensors               run the checks
 *   test_safetensors --write PATH  write the known file (tests/tools/test_safetensors_py.sh
 *                                  loads it with tests/torch/safetensors_np.py)
 *   test_safetensors --read PATH   open PATH with checksum verification and print
 *                                  every tensor and metadata entry; exit 2 on bad input */
#include "check.h"
#include "safetensors.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The known file: one tensor per dtype plus a scalar and an empty tensor. */
static float    KA[6] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f};
static int64_t  KB[4] = {-1, 0, 1LL << 40, 7};
static uint8_t  KC[3] = {1, 2, 255};
static uint16_t KD[2] = {0x3c00, 0xc000};   /* F16 1.0, -2.0 */
static uint16_t KE[2] = {0x3f80, 0x4040};   /* BF16 1.0, 3.0 */
static float    KS[1] = {3.25f};
static int32_t  KI[3] = {-5, 0, 2147483647};
static uint16_t KU16[2] = {1, 65535};
static uint32_t KU32[2] = {0, 4000000000u};

static int known_tensors(StTensor* t) {
    int n = 0;
    t[n++] = (StTensor){"a.weight", ST_F32, 2, {2, 3}, KA, sizeof KA};
    t[n++] = (StTensor){"b", ST_I64, 1, {4}, KB, sizeof KB};
    t[n++] = (StTensor){"c", ST_U8, 1, {3}, KC, sizeof KC};
    t[n++] = (StTensor){"d", ST_F16, 1, {2}, KD, sizeof KD};
    t[n++] = (StTensor){"e", ST_BF16, 2, {1, 2}, KE, sizeof KE};
    t[n++] = (StTensor){"scalar", ST_F32, 0, {0}, KS, sizeof KS};
    t[n++] = (StTensor){"empty", ST_I32, 2, {0, 4}, NULL, 0};
    t[n++] = (StTensor){"i", ST_I32, 1, {3}, KI, sizeof KI};
    t[n++] = (StTensor){"u16", ST_U16, 1, {2}, KU16, sizeof KU16};
    t[n++] = (StTensor){"u32", ST_U32, 1, {2}, KU32, sizeof KU32};
    return n;
}

static int write_known(const char* path, char err[ERR_LEN]) {
    StTensor t[16];
    int n = known_tensors(t);
    json_t* meta = json_pack("{s:s, s:s}", "step", "7", "config", "{\"d_model\": 128}");
    int rc = st_write(path, t, n, meta, err);
    json_decref(meta);
    return rc;
}

/* Print a file in a stable text form for the shell test. */
static int dump(const char* path) {
    char err[ERR_LEN];
    SafeTensors* s = st_open(path, 1, err);
    if (!s) { fprintf(stderr, "test_safetensors: %s\n", err); return EXIT_BADINPUT; }
    for (int i = 0; i < st_count(s); i++) {
        const StTensor* t = st_tensor(s, i);
        printf("tensor %s %s [", t->name, st_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) printf(d ? ",%lld" : "%lld", (long long)t->shape[d]);
        printf("]");
        size_t es = st_dtype_size(t->dtype), ne = t->nbytes / es;
        for (size_t k = 0; k < ne; k++) {
            const unsigned char* p = (const unsigned char*)t->data + k * es;
            switch (t->dtype) {
            case ST_F32: { float x; memcpy(&x, p, 4); printf(" %g", x); break; }
            case ST_I32: { int32_t x; memcpy(&x, p, 4); printf(" %d", x); break; }
            case ST_I64: { int64_t x; memcpy(&x, p, 8); printf(" %lld", (long long)x); break; }
            case ST_U32: { uint32_t x; memcpy(&x, p, 4); printf(" %u", x); break; }
            case ST_U8: printf(" %u", p[0]); break;
            default: { uint16_t x; memcpy(&x, p, 2); printf(" 0x%04x", x); break; }   /* F16, BF16, U16 as bits */
            }
        }
        printf("\n");
    }
    const char* keys[] = {"step", "config", "from", "payload_sha256"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (st_meta(s, keys[k])) printf("meta %s %s\n", keys[k], st_meta(s, keys[k]));
    st_close(s);
    return 0;
}

/* Write a raw file: header text (unpadded, as given) then payload. */
static void write_raw(const char* path, const char* header, const void* payload, size_t plen) {
    FILE* f = fopen(path, "wb");
    uint64_t n = strlen(header);
    unsigned char l8[8];
    for (int b = 0; b < 8; b++) l8[b] = (unsigned char)(n >> (8 * b));
    fwrite(l8, 1, 8, f);
    fwrite(header, 1, n, f);
    if (plen) fwrite(payload, 1, plen, f);
    fclose(f);
}

static char* slurp(const char* path, size_t* len) {
    char err[ERR_LEN];
    return read_file(path, len, err);
}

static void spit(const char* path, const void* buf, size_t len) {
    FILE* f = fopen(path, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
}

/* st_open must fail, naming the file, with `want` in the message. */
static void expect_reject(const char* name, const char* path, const char* want) {
    char err[ERR_LEN] = "";
    SafeTensors* s = st_open(path, 1, err);
    CHECK(name, !s && strstr(err, path) && strstr(err, want), "accepted=%d err='%s' (want '%s')", s != NULL, err, want);
    st_close(s);
}

static void test_round_trip(const char* dir) {
    char path[512], err[ERR_LEN] = "";
    snprintf(path, sizeof path, "%s/known.safetensors", dir);
    CHECK("write_known", write_known(path, err) == 0, "%s", err);
    SafeTensors* s = st_open(path, 1, err);
    CHECK("open_known", s != NULL, "%s", err);
    if (!s) return;
    StTensor t[16];
    int n = known_tensors(t);
    CHECK("round_trip_count", st_count(s) == n, "%d tensors, want %d", st_count(s), n);
    int order_ok = 1, names_ok = 1, shapes_ok = 1, data_ok = 1, aligned = 1;
    for (int i = 0; i < n && i < st_count(s); i++) {
        const StTensor* r = st_tensor(s, i);
        /* written in the order given, so file order (by offset) is the same except
         * that zero-size tensors share an offset with their successor */
        if (t[i].nbytes && strcmp(r->name, t[i].name) != 0 && strcmp(t[i].name, "empty") != 0) order_ok = 0;
        const StTensor* f = st_find(s, t[i].name);
        if (!f) { names_ok = 0; continue; }
        if (f->dtype != t[i].dtype || f->ndim != t[i].ndim) shapes_ok = 0;
        for (int d = 0; d < t[i].ndim; d++)
            if (f->shape[d] != t[i].shape[d]) shapes_ok = 0;
        if (f->nbytes != t[i].nbytes || (f->nbytes && memcmp(f->data, t[i].data, f->nbytes) != 0)) data_ok = 0;
    }
    /* the header is padded to 8, so the data section starts 8-aligned in the mapping */
    if (((uintptr_t)st_find(s, "a.weight")->data & 7) != 0) aligned = 0;
    CHECK("round_trip_order", order_ok, "file order differs from write order");
    CHECK("round_trip_names", names_ok, "a tensor was not found by name");
    CHECK("round_trip_dtypes_shapes", shapes_ok, "dtype/shape differs");
    CHECK("round_trip_data", data_ok, "data differs");
    CHECK("data_section_aligned", aligned, "first tensor not 8-byte aligned");
    CHECK("round_trip_metadata", st_meta(s, "step") && strcmp(st_meta(s, "step"), "7") == 0 && st_meta(s, "config") &&
              strcmp(st_meta(s, "config"), "{\"d_model\": 128}") == 0,
          "step=%s config=%s", st_meta(s, "step"), st_meta(s, "config"));
    const char* sha = st_meta(s, "payload_sha256");
    CHECK("payload_sha256_recorded", sha && strlen(sha) == 64, "payload_sha256=%s", sha);
    CHECK("find_absent", st_find(s, "nope") == NULL && st_meta(s, "nope") == NULL, "found something absent");
    st_close(s);

    /* the header length is a multiple of 8 and the header JSON ends in spaces */
    size_t len;
    char* buf = slurp(path, &len);
    uint64_t hl = 0;
    for (int b = 0; b < 8; b++) hl |= (uint64_t)(unsigned char)buf[b] << (8 * b);
    CHECK("header_padded_to_8", hl % 8 == 0 && hl + 8 <= len, "header length %llu", (unsigned long long)hl);

    /* st_parse on memory agrees with st_open */
    s = st_parse(buf, len, "mem.safetensors", 1, err);
    CHECK("parse_memory", s && st_count(s) == n && st_find(s, "b") && ((const int64_t*)st_find(s, "b")->data)[2] == (1LL << 40),
          "%s", s ? "wrong contents" : err);
    st_close(s);

    /* checksum: flip one payload byte */
    buf[len - 1] ^= 0x40;
    char bad[512];
    snprintf(bad, sizeof bad, "%s/flipped.safetensors", dir);
    spit(bad, buf, len);
    expect_reject("checksum_mismatch_detected", bad, "checksum mismatch");
    s = st_open(bad, 0, err);
    CHECK("checksum_skipped_when_not_verifying", s != NULL, "%s", err);
    st_close(s);
    buf[len - 1] ^= 0x40;

    /* truncation: drop the last bytes, or keep only 5 bytes */
    snprintf(bad, sizeof bad, "%s/truncated.safetensors", dir);
    spit(bad, buf, len - 3);
    expect_reject("truncated_payload", bad, "truncated");
    spit(bad, buf, 5);
    expect_reject("truncated_to_5_bytes", bad, "too short");
    spit(bad, buf, 0);
    expect_reject("empty_file", bad, "too short");
    spit(bad, buf, 8 + hl - 10);
    expect_reject("truncated_header", bad, "exceeds");
    free(buf);

    /* metadata NULL and no tensors: still a valid file with a checksum */
    snprintf(path, sizeof path, "%s/empty.safetensors", dir);
    CHECK("write_no_tensors", st_write(path, NULL, 0, NULL, err) == 0, "%s", err);
    s = st_open(path, 1, err);
    CHECK("open_no_tensors", s && st_count(s) == 0 && st_meta(s, "payload_sha256"), "%s", s ? "wrong" : err);
    st_close(s);
}

static void test_rejections(const char* dir) {
    char p[512];
    unsigned char z[64] = {0};
    snprintf(p, sizeof p, "%s/bad.safetensors", dir);

    /* a sane baseline built by hand, so the failures below are the ones meant */
    write_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", z, 8);
    char err[ERR_LEN] = "";
    SafeTensors* s = st_open(p, 1, err);
    CHECK("hand_written_unpadded_header_accepted", s && st_count(s) == 1, "%s", err);
    st_close(s);

    FILE* f = fopen(p, "wb");
    unsigned char big[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    fwrite(big, 1, 16, f);
    fclose(f);
    expect_reject("header_length_past_end", p, "header length 65535 exceeds");

    write_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],", z, 8);
    expect_reject("malformed_json", p, "header JSON");
    write_raw(p, "[1,2]", z, 0);
    expect_reject("header_not_object", p, "not a JSON object");
    write_raw(p,
              "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
              z, 8);
    expect_reject("duplicate_tensor_names", p, "duplicate");
    write_raw(p,
              "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
              z, 12);
    expect_reject("offsets_gap", p, "gap");
    write_raw(p,
              "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
              z, 12);
    expect_reject("offsets_overlap", p, "overlap");
    write_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", z, 8);
    expect_reject("trailing_bytes", p, "trailing");
    write_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", z, 8);
    expect_reject("offsets_not_starting_at_zero", p, "gap");
    write_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", z, 8);
    expect_reject("shape_size_mismatch", p, "shape/size mismatch");
    write_raw(p, "{\"x\":{\"dtype\":\"F99\",\"shape\":[2],\"data_offsets\":[0,8]}}", z, 8);
    expect_reject("unknown_dtype", p, "unknown dtype 'F99'");
    write_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", z, 8);
    expect_reject("negative_dim", p, "non-negative");
    write_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", z, 8);
    expect_reject("offsets_reversed", p, "begin <= end");
    write_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", z, 8);
    expect_reject("shape_overflow", p, "overflow");
    write_raw(p,
              "{\"__metadata__\":{\"step\":7},"
              "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
              z, 8);
    expect_reject("metadata_value_not_string", p, "'step' is not a string");
    write_raw(p, "{\"__metadata__\":[],\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", z, 8);
    expect_reject("metadata_not_object", p, "not an object");
    write_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", z, 4);
    expect_reject("offsets_past_data", p, "past the");
    expect_reject("missing_file", "/nonexistent/dir/x.safetensors", "cannot open");

    /* st_parse names the buffer as told */
    s = st_parse("abc", 3, "buf.safetensors", 1, err);
    CHECK("parse_error_names_buffer", !s && strstr(err, "buf.safetensors"), "%s", err);
}

static void test_write_rejections(const char* dir) {
    char p[512], err[ERR_LEN];
    snprintf(p, sizeof p, "%s/w.safetensors", dir);
    float x[4] = {0};
    StTensor t[2] = {{"x", ST_F32, 1, {4}, x, sizeof x}, {"x", ST_F32, 1, {4}, x, sizeof x}};
    CHECK("write_rejects_duplicate_names", st_write(p, t, 2, NULL, err) != 0 && strstr(err, "duplicate") && !path_exists(p), "%s", err);
    t[0].shape[0] = 3;
    CHECK("write_rejects_size_mismatch", st_write(p, t, 1, NULL, err) != 0 && strstr(err, "nbytes"), "%s", err);
    t[0].shape[0] = 4;
    json_t* m = json_pack("{s:i}", "step", 3);
    CHECK("write_rejects_non_string_metadata", st_write(p, t, 1, m, err) != 0 && strstr(err, "not a string"), "%s", err);
    json_decref(m);
    snprintf(t[0].name, sizeof t[0].name, "__metadata__");
    CHECK("write_rejects_reserved_name", st_write(p, t, 1, NULL, err) != 0 && strstr(err, "reserved"), "%s", err);
    CHECK("write_nothing_left_behind", !path_exists(p), "%s exists after failed writes", p);
    CHECK("write_bad_dir_fails", st_write("/nonexistent/dir/x.safetensors", t + 1, 1, NULL, err) != 0 && strstr(err, "/nonexistent/dir"),
          "%s", err);

    /* user metadata's own payload_sha256 is replaced, the input object untouched */
    m = json_pack("{s:s}", "payload_sha256", "bogus");
    CHECK("write_ok", st_write(p, t + 1, 1, m, err) == 0, "%s", err);
    SafeTensors* s = st_open(p, 1, err);
    CHECK("write_replaces_payload_sha256", s && strcmp(st_meta(s, "payload_sha256"), "bogus") != 0, "%s", s ? "kept bogus" : err);
    CHECK("write_leaves_metadata_arg", strcmp(json_string_value(json_object_get(m, "payload_sha256")), "bogus") == 0, "modified");
    st_close(s);
    json_decref(m);
}

int main(int argc, char** argv) {
    char err[ERR_LEN];
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        if (write_known(argv[2], err) != 0) { fprintf(stderr, "test_safetensors: %s\n", err); return EXIT_FAIL; }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--read") == 0) return dump(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: test_safetensors [--write PATH | --read PATH]\n");
        return EXIT_BADINPUT;
    }
    char dir[] = "/tmp/test_safetensors.XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    test_round_trip(dir);
    test_rejections(dir);
    test_write_rejections(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_status();
}
