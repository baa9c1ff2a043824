/* sdftdata: the SDFT demonstration file; see sdftdata.h for the format. */
#include "sdftdata.h"
#include "atomic.h"
#include "json.h"
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

typedef struct { Demo* d; long* lines; long n, cap; } DemoLoad;

static int demo_line(json_t* o, long line, void* ctx, char why[ERR_LEN]) {
    DemoLoad* L = ctx;
    if (L->n == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 64;
        L->d = realloc_check(L->d, sizeof(Demo) * (size_t)L->cap);
        L->lines = realloc_check(L->lines, sizeof(long) * (size_t)L->cap);   /* line of each demo */
    }
    if (demo_from_json(o, &L->d[L->n], why)) return -1;
    /* Demo files are small (one line per task): a quadratic duplicate check is fine. */
    for (long i = 0; i < L->n; i++)
        if (!strcmp(L->d[i].task_id, L->d[L->n].task_id)) {
            snprintf(why, ERR_LEN, "duplicate task_id '%s' (first on line %ld)", L->d[L->n].task_id, L->lines[i]);
            L->n++;
            return -1;
        }
    L->lines[L->n++] = line;
    return 0;
}

long sdft_demos_load(const char* path, Demo** out, char err[ERR_LEN]) {
    *out = NULL;
    DemoLoad L = {0};
    if (jsonl_strict_each(path, demo_line, &L, err) < 0) {
        sdft_demos_free(L.d, L.n);
        free(L.lines);
        return -1;
    }
    free(L.lines);
    *out = L.d;
    return L.n;
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
