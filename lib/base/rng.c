/* rng: xoshiro256** (Blackman & Vigna) seeded by splitmix64. See rng.h. */
#include "rng.h"
#include <math.h>

static uint64_t splitmix64(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(Rng* r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

Rng rng_split(const Rng* r, uint64_t stream) {
    Rng c;
    uint64_t x = r->s[0] ^ (r->s[3] * 0x9e3779b97f4a7c15ULL) ^ (stream * 0xd1342543de82ef95ULL + 1);
    for (int i = 0; i < 4; i++) c.s[i] = splitmix64(&x);
    return c;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(Rng* r) {
    uint64_t* s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t rng_u32(Rng* r) { return (uint32_t)(rng_u64(r) >> 32); }

uint32_t rng_below(Rng* r, uint32_t n) {
    /* Lemire's multiply-shift with rejection: unbiased, integer only. */
    uint64_t m = (uint64_t)rng_u32(r) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) { m = (uint64_t)rng_u32(r) * n; lo = (uint32_t)m; }
    }
    return (uint32_t)(m >> 32);
}

int64_t rng_range(Rng* r, int64_t lo, int64_t hi) {
    uint64_t span = (uint64_t)(hi - lo) + 1;
    if (span == 0) return (int64_t)rng_u64(r);          /* full 64-bit range */
    if (span <= 0xffffffffULL) return lo + (int64_t)rng_below(r, (uint32_t)span);
    uint64_t lim = UINT64_MAX - UINT64_MAX % span, x;
    do x = rng_u64(r); while (x >= lim);
    return lo + (int64_t)(x % span);
}

double rng_double(Rng* r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }
float  rng_float(Rng* r)  { return (float)(rng_u32(r) >> 8) * 0x1.0p-24f; }

double rng_normal(Rng* r) {
    double u1 = rng_double(r), u2 = rng_double(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int rng_chance(Rng* r, uint32_t num, uint32_t den) { return rng_below(r, den) < num; }
