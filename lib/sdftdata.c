/* sdftdata: the SDFT demonstration file; see sdftdata.h for the format. */
#include "sdftdata.h"
#include "atomic.h"
#include "tasks.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char* const KEYS[] = {"task_id", "family", "prompt", "demonstration", "reward", "source_run"};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static void demo_clear(Demo* d) {
    free(d->task_id); free(d->family); free(d->prompt); free(d->demonstration); free(d->source_run);
    memset(d, 0, sizeof *d);
}

void sdft_demos_free(Demo* demos, long n) {
    for (long i = 0; i < n; i++) demo_clear(&demos[i]);
    free(demos);
}

/* One line's object into d (strings copied); 0, or -1 with why. */
static int demo_from_json(const json_t* o, Demo* d, char why[ERR_LEN]) {
    memset(d, 0, sizeof *d);
    if (!json_is_object(o)) { snprintf(why, ERR_LEN, "expected a JSON object"); return -1; }
    const char* k;
    json_t* v;
    json_object_foreach((json_t*)o, k, v) {
        size_t i = 0;
        while (i < NKEYS && strcmp(KEYS[i], k)) i++;
        if (i == NKEYS) { snprintf(why, ERR_LEN, "unknown key '%s'", k); return -1; }
    }
    for (size_t i = 0; i < NKEYS; i++)
        if (!json_object_get(o, KEYS[i])) { snprintf(why, ERR_LEN, "missing key '%s'", KEYS[i]); return -1; }
    char** dst[] = {&d->task_id, &d->family, &d->prompt, &d->demonstration, NULL, &d->source_run};
    for (size_t i = 0; i < NKEYS; i++) {
        if (!dst[i]) continue;
        json_t* s = json_object_get(o, KEYS[i]);
        if (!json_is_string(s)) { snprintf(why, ERR_LEN, "'%s' must be a string", KEYS[i]); goto fail; }
        *dst[i] = strdup_check(json_string_value(s));
    }
    json_t* r = json_object_get(o, "reward");
    if (!json_is_number(r)) { snprintf(why, ERR_LEN, "'reward' must be a number"); goto fail; }
    d->reward = json_number_value(r);
    if (!(d->reward >= 0 && d->reward <= 1)) { snprintf(why, ERR_LEN, "'reward' %g is outside [0, 1]", d->reward); goto fail; }
    if (!*d->task_id) { snprintf(why, ERR_LEN, "'task_id' is empty"); goto fail; }
    if (!*d->prompt) { snprintf(why, ERR_LEN, "'prompt' is empty"); goto fail; }
    if (task_family_find(d->family) < 0) { snprintf(why, ERR_LEN, "unknown family '%s'", d->family); goto fail; }
    return 0;
fail:
    demo_clear(d);
    return -1;
}

long sdft_demos_load(const char* path, Demo** out, char err[ERR_LEN]) {
    size_t len;
    *out = NULL;
    char* buf = read_file(path, &len, err);
    if (!buf) return -1;
    long n = 0, cap = 0, line = 0;
    Demo* d = NULL;
    long* lines = NULL;   /* line of each demo, for duplicate reports */
    char why[ERR_LEN];
    for (size_t pos = 0; pos < len;) {
        char* e = memchr(buf + pos, '\n', len - pos);
        size_t k = e ? (size_t)(e - (buf + pos)) : len - pos;
        line++;
        if (k == 0) { snprintf(err, ERR_LEN, "%s:%ld: empty line", path, line); goto fail; }
        json_error_t je;
        json_t* o = json_loadb(buf + pos, k, JSON_REJECT_DUPLICATES, &je);
        if (!o) { snprintf(err, ERR_LEN, "%s:%ld: invalid JSON: %s", path, line, je.text); goto fail; }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            d = realloc_check(d, sizeof(Demo) * (size_t)cap);
            lines = realloc_check(lines, sizeof(long) * (size_t)cap);
        }
        int rc = demo_from_json(o, &d[n], why);
        json_decref(o);
        if (rc) { snprintf(err, ERR_LEN, "%s:%ld: %s", path, line, why); goto fail; }
        /* Demo files are small (one line per task): a quadratic duplicate check is fine. */
        for (long i = 0; i < n; i++)
            if (!strcmp(d[i].task_id, d[n].task_id)) {
                snprintf(err, ERR_LEN, "%s:%ld: duplicate task_id '%s' (first on line %ld)", path, line, d[n].task_id, lines[i]);
                n++;
                goto fail;
            }
        lines[n++] = line;
        pos += k + 1;
    }
    free(lines);
    free(buf);
    *out = d;
    return n;
fail:
    sdft_demos_free(d, n);
    free(lines);
    free(buf);
    return -1;
}

int sdft_demos_write(const char* path, const Demo* demos, long n, char err[ERR_LEN]) {
    AtomicFile a;
    if (atomic_open(&a, path, err)) return -1;
    for (long i = 0; i < n; i++) {
        const Demo* d = &demos[i];
        json_t* o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:s}", "task_id", d->task_id, "family", d->family, "prompt",
                              d->prompt, "demonstration", d->demonstration, "reward", d->reward, "source_run", d->source_run);
        char* s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(o);
        if (!s) { atomic_abort(&a); snprintf(err, ERR_LEN, "%s: demo %ld (%s) cannot be encoded", path, i, d->task_id); return -1; }
        fprintf(a.f, "%s\n", s);
        free(s);
    }
    return atomic_commit(&a, err);
}
