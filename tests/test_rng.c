/* rng: the stream is fixed by the seed alone (golden values guard against any
 * change of algorithm or platform), draws stay in range, streams differ. */
#include "check.h"
#include "rng.h"
#include <math.h>
#include <string.h>

int main(void) {
    Rng r;
    rng_seed(&r, 0);
    uint64_t first[3] = {rng_u64(&r), rng_u64(&r), rng_u64(&r)};
    /* xoshiro256** seeded by splitmix64(0): fixed forever. */
    static const uint64_t golden[3] = {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL};
    CHECK("rng_golden_stream", !memcmp(first, golden, sizeof golden), "got %016llx %016llx %016llx",
          (unsigned long long)first[0], (unsigned long long)first[1], (unsigned long long)first[2]);
    Rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= rng_u64(&a) == rng_u64(&b);
    CHECK("rng_same_seed_same_stream", same, "streams diverged");
    Rng s0 = rng_split(&a, 0), s1 = rng_split(&a, 1);
    CHECK("rng_split_streams_differ", rng_u64(&s0) != rng_u64(&s1), "split streams equal");
    int ok = 1, hits[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t v = rng_below(&r, 7);
        ok &= v < 7;
        hits[v < 7 ? v : 0]++;
        int64_t x = rng_range(&r, -3, 3);
        ok &= x >= -3 && x <= 3;
        double d = rng_double(&r);
        float f = rng_float(&r);
        ok &= d >= 0 && d < 1 && f >= 0 && f < 1;
    }
    int balanced = 1;
    for (int i = 0; i < 7; i++) balanced &= hits[i] > 9000 && hits[i] < 11000;
    CHECK("rng_ranges", ok, "a draw fell out of range");
    CHECK("rng_below_uniform", balanced, "counts %d %d %d %d %d %d %d", hits[0], hits[1], hits[2], hits[3], hits[4], hits[5], hits[6]);
    double sum = 0, sq = 0;
    for (int i = 0; i < 100000; i++) { double z = rng_normal(&r); sum += z; sq += z * z; }
    CHECK("rng_normal_moments", fabs(sum / 1e5) < 0.02 && fabs(sq / 1e5 - 1) < 0.03, "mean %g var %g", sum / 1e5, sq / 1e5);
    return check_status();
}
