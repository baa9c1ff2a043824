/* libFuzzer harness: the YAML config loader must turn any bytes into either a
 * loaded struct or a one-line error, never a crash or a leak. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct { long n; double x; const char* s; int b; json_t* j; } St;
static const Opt OPTS[] = {
    {"n", OPT_INT, offsetof(St, n), "1", 0, 100, ""},
    {"x", OPT_FLOAT, offsetof(St, x), "0.5", OPT_RANGE_NONE, ""},
    {"s", OPT_STR, offsetof(St, s), "", OPT_RANGE_NONE, ""},
    {"b", OPT_BOOL, offsetof(St, b), "0", OPT_RANGE_NONE, ""},
    {"gates", OPT_JSON, offsetof(St, j), "null", OPT_RANGE_NONE, ""},
    {0},
};

static void release(St* st) {
    free((void*)st->s);
    json_decref(st->j);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    char err[ERR_LEN];
    for (int mode = 0; mode < 2; mode++) {
        St st = {0};
        Common c = {0};
        cfg_defaults(OPTS, &st, err);
        free((void*)st.s);
        st.s = NULL;
        cfg_load_mem("fuzz.yaml", (const char*)data, size, mode ? "gen_corpus" : NULL, OPTS, &st, &c, err);
        release(&st);
    }
    return 0;
}
