/* check.h: the tiny test harness of the C unit programs. Each CHECK prints
 * "PASS name" or "FAIL name: why"; main returns check_status(). */
#ifndef DD_CHECK_H
#define DD_CHECK_H
#include <stdio.h>
static int check_failures;
#define CHECK(name, cond, ...) do { \
    if (cond) printf("PASS %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf(" (%s:%d)\n", __FILE__, __LINE__); check_failures++; } \
} while (0)
static inline int check_status(void) { return check_failures ? 1 : 0; }

/* Writes text to root/rel, making the directories on the way (fake run dirs). */
#include "util.h"
#include <stdlib.h>
static inline void check_put(const char* root, const char* rel, const char* text) {
    char p[4096], d[4096], err[ERR_LEN];
    if (path_fmt(p, sizeof p, err, "%s/%s", root, rel) || path_dirname(d, sizeof d, p, err) || mkdir_p(d, err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    FILE* f = fopen(p, "w");
    if (!f) { perror(p); exit(1); }
    fputs(text, f);
    fclose(f);
}

/* Whether the file at path holds exactly text. */
#include <string.h>
static inline int check_holds(const char* path, const char* text) {
    char err[ERR_LEN];
    size_t n = 0;
    char* b = read_file(path, &n, err);
    int ok = b && n == strlen(text) && !memcmp(b, text, n);
    free(b);
    return ok;
}
#endif
