/* json: see json.h. */
#include "json.h"
#include "atomic.h"
#include <stdlib.h>
#include <string.h>

json_t* json_load_path(const char* path, char err[ERR_LEN]) {
    json_error_t e;
    json_t* j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        if (!path_exists(path)) errf(err, "%s: no such file", path);
        else errf(err, "%s:%d:%d: %s", path, e.line, e.column, e.text);
    }
    return j;
}

int json_write_atomic(const char* path, const json_t* j, char err[ERR_LEN]) {
    /* 17 significant digits: whole files include resume state, which a rerun
     * must read back to the same bits (10 digits lost the last ones). */
    char* s = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    if (!s) { errf(err, "%s: cannot serialise JSON", path); return -1; }
    size_t n = strlen(s);
    s = realloc_check(s, n + 2);
    s[n] = '\n'; s[n + 1] = 0;
    int rc = atomic_write(path, s, n + 1, err);
    free(s);
    return rc;
}

int json_append_line(const char* path, const json_t* j, char err[ERR_LEN]) {
    char* s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!s) { errf(err, "%s: cannot serialise JSON", path); return -1; }
    int rc = append_record(path, s, err);
    free(s);
    return rc;
}

long jsonl_foreach(const char* path, void (*fn)(json_t*, void*), void* ctx, char err[ERR_LEN]) {
    size_t len;
    char* buf = read_file(path, &len, err);
    if (!buf) return -1;
    long n = 0;
    char* p = buf;
    while (*p) {
        char* nl = strchr(p, '\n');
        if (!nl) break;                     /* torn last line: written by a crash */
        *nl = 0;
        json_error_t e;
        json_t* o = json_loads(p, 0, &e);
        if (o && json_is_object(o)) { fn(o, ctx); n++; }
        json_decref(o);
        p = nl + 1;
    }
    free(buf);
    return n;
}

long jget_int(const json_t* o, const char* key, long def) {
    json_t* v = json_object_get(o, key);
    if (json_is_integer(v)) return (long)json_integer_value(v);
    if (json_is_real(v)) return (long)json_real_value(v);
    return def;
}
double jget_num(const json_t* o, const char* key, double def) {
    json_t* v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : def;
}
const char* jget_str(const json_t* o, const char* key, const char* def) {
    json_t* v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

int jsonl_truncate_steps(const char* path, long step, char err[ERR_LEN]) {
    size_t len;
    if (!path_exists(path)) return 0;
    char* buf = read_file(path, &len, err);
    if (!buf) return -1;
    size_t keep = 0;
    for (char *p = buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = 0;
        json_error_t je;
        json_t* o = json_loads(p, 0, &je);
        long s = o ? jget_int(o, "step", -1) : -1;
        json_decref(o);
        *nl = '\n';
        if (s < 0 || s > step) break;
        keep = (size_t)(nl + 1 - buf);
    }
    int rc = keep != len ? atomic_write(path, buf, keep, err) : 0;
    free(buf);
    return rc;
}

long jsonl_strict_each(const char* path, int (*fn)(json_t*, long, void*, char[ERR_LEN]), void* ctx, char err[ERR_LEN]) {
    size_t len;
    char* buf = read_file(path, &len, err);
    if (!buf) return -1;
    long line = 0;
    char why[ERR_LEN];
    for (size_t pos = 0; pos < len;) {
        char* e = memchr(buf + pos, '\n', len - pos);
        size_t k = e ? (size_t)(e - (buf + pos)) : len - pos;
        line++;
        if (k == 0) { errf(err, "%s:%ld: empty line", path, line); free(buf); return -1; }
        json_error_t je;
        json_t* o = json_loadb(buf + pos, k, JSON_REJECT_DUPLICATES, &je);
        if (!o) { errf(err, "%s:%ld: invalid JSON: %s", path, line, je.text); free(buf); return -1; }
        int rc = fn(o, line, ctx, why);
        json_decref(o);
        if (rc) { errf(err, "%s:%ld: %s", path, line, why); free(buf); return -1; }
        pos += k + 1;
    }
    free(buf);
    return line;
}
