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
#endif
