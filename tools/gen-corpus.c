/* gen-corpus (A2): the synthetic training and validation text. */
#include "atomic.h"
#include "lifecycle.h"
#include "specs.h"
#include "config.h"
#include "control.h"
#include "corpus.h"
#include "rng.h"
#include "track.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static void write_split(Tracker* t, const CorpusGen* g, uint64_t seed, uint64_t stream, long n, const char* path, long* done) {
    char err[ERR_LEN], line[CORPUS_LINE_MAX + 1];
    AtomicFile a;
    if (atomic_open(&a, path, err)) die(EXIT_BADINPUT, "%s", err);
    Rng base, r;
    rng_seed(&base, seed);
    r = rng_split(&base, stream);
    setvbuf(a.f, NULL, _IOFBF, 1 << 20);
    for (long i = 0; i < n; i++) {
        size_t len = corpus_line(g, &r, line, sizeof line - 1);
        line[len] = '\n';
        fwrite(line, 1, len + 1, a.f);
        if ((++*done & 4095) == 0) {
            if (track_progress(t, *done, path)) die(t->err_exit, "%s", t->err);
            int pause = control_pause_requested();
            if (pause < 0) die(t->err_exit, "%s", t->err);
            if (pause) {
                atomic_abort(&a);
                if (control_pause(t, "none: the corpus regenerates from the seed")) die(t->err_exit, "%s", t->err);
                exit(EXIT_PAUSED);
            }
        }
    }
    if (atomic_commit(&a, err)) die(EXIT_FAIL, "%s", err);
    if (track_output(t, path)) die(t->err_exit, "%s", t->err);
}

int main(int argc, char** argv) {
    GenCorpusArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&GEN_CORPUS_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    CorpusGen* g = malloc_check(sizeof *g);
    corpus_init(g);
    if (a.weights) {
        if (!json_is_object(a.weights)) die(EXIT_BADINPUT, "%s: gen_corpus.weights: expected a mapping of line kind to weight", cfg_where(&c));
        const char* k;
        json_t* v;
        json_object_foreach(a.weights, k, v) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
                die(EXIT_BADINPUT, "%s: gen_corpus.weights: %s: expected an integer weight in [0, 1000000]", cfg_where(&c), k);
            if (corpus_set_weight(g, k, (uint32_t)json_integer_value(v)))
                die(EXIT_BADINPUT, "%s: gen_corpus.weights: unknown line kind '%s' (see docs/corpus.md)", cfg_where(&c), k);
        }
    }
    if (!strcmp(a.train_out, a.val_out)) die(EXIT_BADINPUT, "%s: val_out: must differ from train_out", cfg_where(&c));
    /* your own text is never overwritten (nor mixed with ours): outputs are guarded */
    const char* outs[2] = {a.train_out, a.val_out};
    char run[4096];
    if (life_plain_outputs(run, &c, outs, 2, 1, err)) die(EXIT_BADINPUT, "%s", err);
    Tracker t;
    if (track_open(&t, run, &GEN_CORPUS_SPEC, &a, &c, "gen-corpus")) die(t.err_exit, "%s", t.err);
    control_install(&t);
    life_clear_output_temps(a.train_out);
    life_clear_output_temps(a.val_out);
    track_total(&t, a.train_lines + a.val_lines);
    double t0 = now_mono();
    long done = 0;
    write_split(&t, g, (uint64_t)a.seed, 0, a.train_lines, a.train_out, &done);
    write_split(&t, g, (uint64_t)a.seed, 1, a.val_lines, a.val_out, &done);
    if (track_progress(&t, done, "done")) die(t.err_exit, "%s", t.err);
    track_say(&t, "gen-corpus: %ld train + %ld val lines (seed %ld) in %.2fs -> %s, %s", a.train_lines, a.val_lines,
              a.seed, now_mono() - t0, a.train_out, a.val_out);
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    free(g);
    return 0;
}
