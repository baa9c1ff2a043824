/* rng: a seeded pseudo-random generator whose stream depends only on the seed.
 *
 * Owns: xoshiro256** state, seeding through splitmix64, and the derived draws
 * (uniform ints, floats, doubles, normals). Integer arithmetic only on the hot
 * path, so the stream is identical on every platform and thread count; a caller
 * that wants per-thread streams derives them with rng_split, never by sharing.
 * Does not own: any global state (there is none). */
#ifndef DD_RNG_H
#define DD_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; } Rng;

void     rng_seed(Rng* r, uint64_t seed);
Rng      rng_split(const Rng* r, uint64_t stream);   /* independent child stream */
uint64_t rng_u64(Rng* r);
uint32_t rng_u32(Rng* r);
uint32_t rng_below(Rng* r, uint32_t n);             /* uniform in [0, n), unbiased; n > 0 */
int64_t  rng_range(Rng* r, int64_t lo, int64_t hi);  /* uniform in [lo, hi] inclusive */
double   rng_double(Rng* r);                        /* [0, 1), 53 bits */
float    rng_float(Rng* r);                         /* [0, 1), 24 bits */
double   rng_normal(Rng* r);                        /* N(0, 1), Box-Muller, one draw per call */
int      rng_chance(Rng* r, uint32_t num, uint32_t den); /* 1 with probability num/den, exact */

#endif
