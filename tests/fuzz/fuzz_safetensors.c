/* libFuzzer harness: the safetensors reader must turn any bytes into either a
 * validated handle whose every tensor lies inside the buffer, or a one-line
 * error, never a crash, an out-of-bounds read or a leak. */
#include "safetensors.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    char err[ERR_LEN];
    for (int verify = 0; verify < 2; verify++) {
        SafeTensors* s = st_parse(data, size, "fuzz.safetensors", verify, err);
        if (!s) {
            if (!memchr(err, '\0', ERR_LEN) || strchr(err, '\n') || strncmp(err, "fuzz.safetensors", 16) != 0) abort();
            continue;
        }
        size_t sum = 0;
        for (int i = 0; i < st_count(s); i++) {
            const StTensor* t = st_tensor(s, i);
            const uint8_t* p = t->data;
            if (p < data || p + t->nbytes > data + size) abort();
            if (t->nbytes) sum += p[0] + p[t->nbytes - 1];   /* touch both ends under ASan */
            if (st_find(s, t->name) == NULL) abort();
        }
        (void)st_meta(s, "payload_sha256");
        st_close(s);
        (void)sum;
    }
    return 0;
}
