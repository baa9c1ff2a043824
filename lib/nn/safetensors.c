/* safetensors: see safetensors.h. */
#include "safetensors.h"
#include "atomic.h"
#include "hash.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c writes and maps tensor data as-is: a little-endian host is required"
#endif

/* The reference implementation refuses headers over 100 MB; so do we, which
 * also bounds what a hostile length can make jansson allocate. */
#define ST_MAX_HEADER (100u * 1000u * 1000u)

struct SafeTensors {
    StTensor* t;       /* (n) in data-offset order */
    int       n;
    json_t*   meta;    /* the "__metadata__" object, or NULL */
    void*     map;     /* st_open's mapping, NULL for st_parse */
    size_t    map_len;
};

static const struct { const char* name; size_t size; } DTYPES[] = {
    [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2}, [ST_I32] = {"I32", 4},
    [ST_I64] = {"I64", 8}, [ST_U8] = {"U8", 1},   [ST_U16] = {"U16", 2},   [ST_U32] = {"U32", 4},
};
#define N_DTYPES ((int)(sizeof DTYPES / sizeof DTYPES[0]))

size_t st_dtype_size(StDtype d) { return (int)d >= 0 && (int)d < N_DTYPES ? DTYPES[d].size : 0; }
const char* st_dtype_name(StDtype d) { return (int)d >= 0 && (int)d < N_DTYPES ? DTYPES[d].name : "?"; }
int st_dtype_parse(const char* s, StDtype* out) {
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(s, DTYPES[i].name) == 0) { *out = (StDtype)i; return 0; }
    return -1;
}

/* prod(shape) * elem, or -1 on overflow. */
static int shape_bytes(const int64_t* shape, int ndim, size_t elem, uint64_t* out) {
    uint64_t b = elem;
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || __builtin_mul_overflow(b, (uint64_t)shape[d], &b)) return -1;
    *out = b;
    return 0;
}

/* ---------------------------------------------------------------- writing */

static int check_tensor(const StTensor* t, char why[256]) {
    if (strnlen(t->name, ST_NAME_LEN) == ST_NAME_LEN) { snprintf(why, 256, "name is 256 bytes or longer"); return -1; }
    if (strcmp(t->name, "__metadata__") == 0) { snprintf(why, 256, "'__metadata__' is reserved"); return -1; }
    if ((int)t->dtype < 0 || (int)t->dtype >= N_DTYPES) { snprintf(why, 256, "invalid dtype %d", (int)t->dtype); return -1; }
    if (t->ndim < 0 || t->ndim > ST_MAX_NDIM) { snprintf(why, 256, "ndim %d is outside 0..%d", t->ndim, ST_MAX_NDIM); return -1; }
    uint64_t want;
    if (shape_bytes(t->shape, t->ndim, st_dtype_size(t->dtype), &want) != 0) {
        snprintf(why, 256, "negative or overflowing shape");
        return -1;
    }
    if (want != t->nbytes) {
        snprintf(why, 256, "shape x %s needs %llu bytes but nbytes is %zu", st_dtype_name(t->dtype),
                 (unsigned long long)want, t->nbytes);
        return -1;
    }
    if (t->nbytes && !t->data) { snprintf(why, 256, "data is NULL"); return -1; }
    return 0;
}

int st_write(const char* path, const StTensor* tensors, int n, const json_t* metadata, char err[ERR_LEN]) {
    if (n < 0 || (n > 0 && !tensors)) { errf(err, "%s: invalid tensor list (n=%d)", path, n); return -1; }
    if (metadata && !json_is_object(metadata)) { errf(err, "%s: metadata is not a JSON object", path); return -1; }
    json_t* root = json_object();
    json_t* meta = json_object();
    json_object_set(root, "__metadata__", meta);   /* first, as Python's writer does */
    const char* key;
    json_t* val;
    json_object_foreach((json_t*)metadata, key, val) {
        if (!json_is_string(val)) {
            errf(err, "%s: metadata value of '%s' is not a string", path, key);
            goto fail;
        }
        json_object_set(meta, key, val);
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const StTensor* t = &tensors[i];
        char why[256];
        if (check_tensor(t, why) != 0) { errf(err, "%s: tensor %d '%.255s': %s", path, i, t->name, why); goto fail; }
        if (json_object_get(root, t->name)) { errf(err, "%s: duplicate tensor name '%s'", path, t->name); goto fail; }
        json_t* shape = json_array();
        for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
        json_t* o = json_pack("{s:s, s:o, s:[I,I]}", "dtype", st_dtype_name(t->dtype), "shape", shape, "data_offsets",
                              (json_int_t)off, (json_int_t)(off + t->nbytes));
        if (!o || json_object_set_new(root, t->name, o) != 0) {
            errf(err, "%s: tensor '%s': name is not valid UTF-8", path, t->name);
            goto fail;
        }
        off += t->nbytes;
    }
    HashCtx* h = hash_begin();
    for (int i = 0; i < n; i++) hash_update(h, tensors[i].data, tensors[i].nbytes);
    char hex[HASH_HEX];
    hash_end(h, hex);
    json_object_set_new(meta, "payload_sha256", json_string(hex));

    char* js = json_dumps(root, JSON_COMPACT);
    if (!js) { errf(err, "%s: cannot encode the header (invalid UTF-8 in metadata?)", path); goto fail; }
    size_t hl = strlen(js), padded = (hl + 7) / 8 * 8;
    unsigned char len8[8];
    for (int b = 0; b < 8; b++) len8[b] = (unsigned char)((uint64_t)padded >> (8 * b));
    AtomicFile a;
    if (atomic_open(&a, path, err) != 0) { free(js); goto fail; }
    int bad = fwrite(len8, 1, 8, a.f) != 8 || fwrite(js, 1, hl, a.f) != hl;
    for (size_t p = hl; p < padded && !bad; p++) bad = fputc(' ', a.f) == EOF;
    for (int i = 0; i < n && !bad; i++)
        if (tensors[i].nbytes) bad = fwrite(tensors[i].data, 1, tensors[i].nbytes, a.f) != tensors[i].nbytes;
    free(js);
    if (bad) {
        errf(err, "%s: write failed: %s", path, strerror(errno ? errno : EIO));
        atomic_abort(&a);
        goto fail;
    }
    json_decref(meta);
    json_decref(root);
    return atomic_commit(&a, err);
fail:
    json_decref(meta);
    json_decref(root);
    return -1;
}

/* ---------------------------------------------------------------- reading */

typedef struct { StTensor t; uint64_t begin, end; } Entry;

static int entry_cmp(const void* a, const void* b) {
    const Entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->t.name, y->t.name);   /* zero-size tensors share an offset: stay deterministic */
}

/* Fill e from one header entry; returns NULL or why it is invalid. */
static const char* parse_entry(const char* key, json_t* v, Entry* e, char why[300]) {
    if (strlen(key) >= ST_NAME_LEN) return "name is 256 bytes or longer";
    snprintf(e->t.name, ST_NAME_LEN, "%s", key);
    if (!json_is_object(v)) return "entry is not an object";
    json_t* dt = json_object_get(v, "dtype");
    json_t* shape = json_object_get(v, "shape");
    json_t* offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt)) return "missing or non-string \"dtype\"";
    if (st_dtype_parse(json_string_value(dt), &e->t.dtype) != 0) {
        snprintf(why, 300, "unknown dtype '%.40s' (supported: F32 F16 BF16 I32 I64 U8 U16 U32)", json_string_value(dt));
        return why;
    }
    if (!json_is_array(shape)) return "missing or non-array \"shape\"";
    if (json_array_size(shape) > ST_MAX_NDIM) return "more than 8 dimensions";
    e->t.ndim = (int)json_array_size(shape);
    for (int d = 0; d < e->t.ndim; d++) {
        json_t* x = json_array_get(shape, d);
        if (!json_is_integer(x) || json_integer_value(x) < 0) return "shape entries must be non-negative integers";
        e->t.shape[d] = json_integer_value(x);
    }
    if (!json_is_array(offs) || json_array_size(offs) != 2 || !json_is_integer(json_array_get(offs, 0)) ||
        !json_is_integer(json_array_get(offs, 1)))
        return "\"data_offsets\" must be [begin, end] integers";
    json_int_t b = json_integer_value(json_array_get(offs, 0)), en = json_integer_value(json_array_get(offs, 1));
    if (b < 0 || en < b) return "\"data_offsets\" must satisfy 0 <= begin <= end";
    e->begin = (uint64_t)b;
    e->end = (uint64_t)en;
    uint64_t want;
    if (shape_bytes(e->t.shape, e->t.ndim, st_dtype_size(e->t.dtype), &want) != 0) return "shape overflows";
    if (want != e->end - e->begin) {
        snprintf(why, 300, "shape x %s is %llu bytes but data_offsets span %llu (shape/size mismatch)",
                 st_dtype_name(e->t.dtype), (unsigned long long)want, (unsigned long long)(e->end - e->begin));
        return why;
    }
    e->t.nbytes = (size_t)want;
    return NULL;
}

static SafeTensors* parse(const unsigned char* buf, size_t len, const char* nm, int verify, char err[ERR_LEN]) {
    if (len < 8) {
        errf(err, "%s: %zu bytes, too short for the 8-byte header length (truncated?)", nm, len);
        return NULL;
    }
    uint64_t hl = 0;
    for (int b = 0; b < 8; b++) hl |= (uint64_t)buf[b] << (8 * b);
    if (hl > len - 8) {
        errf(err, "%s: byte 0: header length %llu exceeds the %zu bytes after it (truncated?)", nm,
                 (unsigned long long)hl, len - 8);
        return NULL;
    }
    if (hl > ST_MAX_HEADER) {
        errf(err, "%s: byte 0: header length %llu is over the 100 MB limit", nm, (unsigned long long)hl);
        return NULL;
    }
    const unsigned char* data = buf + 8 + hl;   /* data section */
    size_t data_len = len - 8 - (size_t)hl;

    json_error_t je;
    json_t* root = json_loadb((const char*)buf + 8, (size_t)hl, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        errf(err, "%s: byte %llu: header JSON: %s", nm, (unsigned long long)(8 + je.position), je.text);
        return NULL;
    }
    SafeTensors* s = calloc_check(1, sizeof *s);
    Entry* es = NULL;
    if (!json_is_object(root)) { errf(err, "%s: byte 8: header is not a JSON object", nm); goto fail; }
    size_t cap = json_object_size(root);
    es = calloc_check(cap ? cap : 1, sizeof *es);
    const char* key;
    json_t* v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(v)) { errf(err, "%s: \"__metadata__\" is not an object", nm); goto fail; }
            const char* mk;
            json_t* mv;
            json_object_foreach(v, mk, mv) if (!json_is_string(mv)) {
                errf(err, "%s: \"__metadata__\": value of '%.200s' is not a string", nm, mk);
                goto fail;
            }
            s->meta = json_incref(v);
            continue;
        }
        char why[300];
        const char* bad = parse_entry(key, v, &es[s->n], why);
        if (bad) { errf(err, "%s: tensor '%.255s': %s", nm, key, bad); goto fail; }
        s->n++;
    }
    qsort(es, s->n, sizeof *es, entry_cmp);
    uint64_t at = 0;   /* where the next tensor must start */
    for (int i = 0; i < s->n; i++) {
        Entry* e = &es[i];
        if (e->begin != at) {
            errf(err, "%s: tensor '%s': data_offsets [%llu, %llu] %s at data byte %llu (tensors must tile the data section)",
                     nm, e->t.name, (unsigned long long)e->begin, (unsigned long long)e->end,
                     e->begin > at ? "leave a gap: the previous tensor ends" : "overlap the previous tensor, which ends",
                     (unsigned long long)at);
            goto fail;
        }
        if (e->end > data_len) {
            errf(err, "%s: tensor '%s': data_offsets end %llu is past the %zu-byte data section (truncated?)", nm,
                     e->t.name, (unsigned long long)e->end, data_len);
            goto fail;
        }
        e->t.data = data + e->begin;
        at = e->end;
    }
    if (at != data_len) {
        errf(err, "%s: byte %llu: tensors cover %llu bytes but the data section has %zu (trailing bytes)", nm,
                 (unsigned long long)(8 + hl + at), (unsigned long long)at, data_len);
        goto fail;
    }
    const char* want = s->meta ? json_string_value(json_object_get(s->meta, "payload_sha256")) : NULL;
    if (verify && want) {
        char hex[HASH_HEX];
        hash_buf(data, data_len, hex);
        if (strcasecmp(hex, want) != 0) {
            errf(err, "%s: checksum mismatch: the %zu-byte payload hashes to %.16s..., metadata says %.16s...", nm,
                     data_len, hex, want);
            goto fail;
        }
    }
    s->t = malloc_check((s->n ? s->n : 1) * sizeof *s->t);
    for (int i = 0; i < s->n; i++) s->t[i] = es[i].t;
    free(es);
    json_decref(root);   /* s->meta holds its own reference */
    return s;
fail:
    free(es);
    json_decref(root);
    st_close(s);
    return NULL;
}

/* Errors quote names from the file: keep the message on one line. */
static void one_line(char* err) {
    for (char* c = err; *c; c++)
        if ((unsigned char)*c < 0x20) *c = '?';
}

SafeTensors* st_parse(const void* buf, size_t len, const char* name_for_errors, int verify_checksum, char err[ERR_LEN]) {
    SafeTensors* s = parse(buf, len, name_for_errors ? name_for_errors : "<memory>", verify_checksum, err);
    if (!s) one_line(err);
    return s;
}

SafeTensors* st_open(const char* path, int verify_checksum, char err[ERR_LEN]) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { errf(err, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errf(err, "%s: not a regular file", path);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    void* map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            errf(err, "%s: mmap failed: %s", path, strerror(errno));
            return NULL;
        }
    }
    close(fd);
    SafeTensors* s = parse(map, size, path, verify_checksum, err);
    if (!s) one_line(err);
    if (!s) {
        if (map) munmap(map, size);
        return NULL;
    }
    s->map = map;
    s->map_len = size;
    return s;
}

int st_count(const SafeTensors* s) { return s->n; }
const StTensor* st_tensor(const SafeTensors* s, int i) { return i >= 0 && i < s->n ? &s->t[i] : NULL; }

/* Linear: checkpoints hold a few hundred tensors and are looked up once. */
const StTensor* st_find(const SafeTensors* s, const char* name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, name) == 0) return &s->t[i];
    return NULL;
}

const char* st_meta(const SafeTensors* s, const char* key) {
    return s->meta ? json_string_value(json_object_get(s->meta, key)) : NULL;
}

void st_close(SafeTensors* s) {
    if (!s) return;
    if (s->map) munmap(s->map, s->map_len);
    json_decref(s->meta);
    free(s->t);
    free(s);
}
