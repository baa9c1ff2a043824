/* fuzz_tokmodel: libFuzzer harness for the .model parser (tok_parse).
 *
 * Any bytes must give either a tokenizer or a one-line error naming the file
 * and line, never a crash, leak or undefined behaviour. When the input parses,
 * the result must also be usable: it re-serializes to exactly the input (the
 * format has one spelling per model), and encoding then decoding a line gives
 * the line back.
 *
 * Build and run (from the repository root):
 *   clang -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Ilib \
 *         tests/fuzz/fuzz_tokmodel.c lib/data/tokenizer.c lib/base/util.c -ljansson -lm -o /tmp/fuzz_tokmodel
 *   /tmp/fuzz_tokmodel -max_total_time=60 /tmp/fuzz_tokmodel_corpus */
#include "tokenizer.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    char err[ERR_LEN];
    err[0] = 0;
    Tokenizer* t = tok_parse((const char*)data, size, "fuzz.model", err);
    if (!t) {
        /* errors are one line and name the file */
        if (strncmp(err, "fuzz.model: ", 12) != 0 || strchr(err, '\n')) abort();
        return 0;
    }
    size_t n;
    char* s = tok_serialize(t, &n);
    if (n != size || memcmp(s, data, n) != 0) abort();
    free(s);
    static const char line[] = "The house. 66, (42 + 7) = 49;  caf\xc3\xa9\t\xff end"
                               "        return self._x1(y)  \t ";
    uint32_t ids[sizeof line];
    char back[sizeof line];
    size_t k = tok_encode(t, NULL, line, sizeof line - 1, ids);
    size_t d = tok_decode(t, ids, k, back, sizeof back);
    if (d != sizeof line - 1 || memcmp(back, line, d) != 0) abort();
    tok_free(t);
    return 0;
}
