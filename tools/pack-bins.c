/* pack-bins (A3): text -> token bin (PACK_BINS_SPEC §5), one line after another, each
 * followed by <eos> with --append_eos 1. Lines are encoded in parallel and
 * written in order, so the bin does not depend on the thread count. */
#include "bins.h"
#include "lifecycle.h"
#include "specs.h"
#include "config.h"
#include "control.h"
#include "hash.h"
#include "tokenizer.h"
#include "track.h"
#include <omp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uint32_t* ids; size_t n; } Chunk;

int main(int argc, char** argv) {
    PackBinsArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&PACK_BINS_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    char run[4096];
    Tokenizer* tok = tok_load(a.tokenizer, err);
    if (!tok) die(EXIT_BADINPUT, "%s", err);
    size_t len;
    char* text = read_file(a.input, &len, err);
    if (!text) die(EXIT_BADINPUT, "%s", err);
    const char* outs[] = {a.output};
    if (life_plain_outputs(run, &c, outs, 1, 0, err)) die(EXIT_BADINPUT, "%s", err);
    Tracker t;
    if (track_open(&t, run, &PACK_BINS_SPEC, &a, &c, "pack-bins")) die(t.err_exit, "%s", t.err);
    control_install(&t);
    life_clear_output_temps(a.output);
    if (track_input(&t, a.tokenizer)) die(t.err_exit, "%s", t.err);
    if (track_input(&t, a.input)) die(t.err_exit, "%s", t.err);
    int pause = control_pause_requested();
    if (pause < 0 || (pause && control_pause(&t, "none: packing restarts (seconds)"))) die(t.err_exit, "%s", t.err);
    if (pause) return EXIT_PAUSED;
    omp_set_num_threads(c.threads > 0 ? (int)c.threads : threads_share());   /* threads: 0 = my share of the machine */
    double t0 = now_mono();

    /* Line starts; a final line without '\n' still counts. */
    size_t nlines = 0, cap = 1024;
    size_t* start = malloc_check(cap * sizeof *start);
    for (size_t i = 0; i < len;) {
        if (nlines + 1 >= cap) { cap *= 2; start = realloc_check(start, cap * sizeof *start); }
        start[nlines++] = i;
        char* nl = memchr(text + i, '\n', len - i);
        i = nl ? (size_t)(nl - text) + 1 : len;
    }
    start[nlines] = len;
    int nchunks = 64;
    Chunk* chunks = calloc_check(nchunks, sizeof *chunks);
    uint32_t eos = 256;
    long bad_line = -1;
    #pragma omp parallel
    {
        TokCache* cache = tok_cache_new(tok);
        char* dec = NULL;
        size_t dec_cap = 0;
        #pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < nchunks; k++) {
            size_t lo = nlines * k / nchunks, hi = nlines * (k + 1) / nchunks;
            size_t bytes = start[hi] - start[lo];
            Chunk* ch = &chunks[k];
            ch->ids = malloc_check((bytes + (hi - lo) + 1) * sizeof(uint32_t));
            for (size_t l = lo; l < hi; l++) {
                size_t s = start[l], e = start[l + 1];
                if (e > s && text[e - 1] == '\n') e--;
                size_t n = tok_encode(tok, cache, text + s, e - s, ch->ids + ch->n);
                if (a.verify) {
                    if (dec_cap < e - s + 16) { dec_cap = 2 * (e - s) + 16; dec = realloc_check(dec, dec_cap); }
                    size_t m = tok_decode(tok, ch->ids + ch->n, n, dec, dec_cap);
                    if (m != e - s || memcmp(dec, text + s, m)) {
                        #pragma omp critical
                        if (bad_line < 0 || (long)l < bad_line) bad_line = (long)l;
                    }
                }
                ch->n += n;
                if (a.append_eos) ch->ids[ch->n++] = eos;
            }
        }
        free(dec);
        tok_cache_free(cache);
    }
    if (bad_line >= 0) die(EXIT_FAIL, "%s:%ld: decode(encode(line)) differs from the line", a.input, bad_line + 1);
    BinWriter w;
    if (bin_writer_open(&w, a.output, tok_vocab_size(tok), err)) die(EXIT_BADINPUT, "%s", err);
    char tok_sha[HASH_HEX];   /* the header records which tokenizer made the ids (docs/formats.md) */
    if (hash_file(a.tokenizer, tok_sha, err) || bin_writer_tokenizer(&w, tok_sha, err)) { bin_writer_abort(&w); die(EXIT_BADINPUT, "%s", err); }
    size_t ntok = 0;
    for (int k = 0; k < nchunks; k++) {
        if (bin_writer_put(&w, chunks[k].ids, chunks[k].n, err)) die(EXIT_FAIL, "%s", err);
        ntok += chunks[k].n;
        free(chunks[k].ids);
    }
    if (bin_writer_commit(&w, err)) die(EXIT_FAIL, "%s", err);
    double sec = now_mono() - t0;
    track_total(&t, (long)nlines);
    if (track_progress(&t, (long)nlines, "done")) die(t.err_exit, "%s", t.err);
    if (track_output(&t, a.output)) die(t.err_exit, "%s", t.err);
    track_summary(&t, "tokens", json_integer((json_int_t)ntok));
    track_summary(&t, "bytes_per_token", json_real(ntok ? (double)len / ntok : 0));
    track_say(&t, "pack-bins: %zu lines, %zu tokens (%.3f bytes/token) in %.2fs (%.1f MB/s) -> %s", nlines, ntok,
              ntok ? (double)len / ntok : 0.0, sec, len / 1e6 / (sec > 0 ? sec : 1e-9), a.output);
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    free(chunks); free(start); free(text);
    tok_free(tok);
    return 0;
}
