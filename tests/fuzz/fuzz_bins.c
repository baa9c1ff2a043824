/* libFuzzer harness: the token-bin reader must turn any bytes into either an
 * open bin whose every id lies below its vocab (so indexing an embedding of
 * that many rows is safe) and whose batches stay inside the file, or a
 * one-line error naming the file, never a crash, an out-of-bounds read or a
 * leak. The bytes go through a memfd, the reader's real path (open + mmap). */
#include "bins.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    int fd = memfd_create("fuzz.bin", 0);
    if (fd < 0) abort();
    if (size && write(fd, data, size) != (ssize_t)size) abort();
    char path[64], err[ERR_LEN];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    Bin b;
    if (bin_open(&b, path, err)) {
        if (!memchr(err, '\0', ERR_LEN) || strchr(err, '\n') || strncmp(err, path, strlen(path)) != 0) abort();
    } else {
        for (size_t i = 0; i < b.ntok; i++)
            if (bin_get(&b, i) >= (uint32_t)b.vocab) abort();
        enum { B = 2, T = 3 };
        if (b.ntok >= T + 1) {
            int in[B * T], tg[B * T];
            size_t cursor = 0;
            for (int k = 0; k < 3; k++) {
                bin_next_batch(&b, &cursor, in, tg, B, T);
                for (int j = 0; j < B * T; j++)
                    if (in[j] < 0 || in[j] >= b.vocab || tg[j] < 0 || tg[j] >= b.vocab) abort();
            }
        }
        bin_close(&b);
    }
    close(fd);
    return 0;
}
