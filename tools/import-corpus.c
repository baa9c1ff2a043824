/* import-corpus (A2 with `corpus:` in the config): your own text in place of the synthetic
 * corpus. Copies corpus.train and corpus.val to --train_out and --val_out (atomically; their
 * hashes in provenance.json), for the tokenizer, the bins and pretraining to run on. Never
 * overwrites a file it did not write (one placed by hand). docs/operations.md, "Your own text". */
#include "atomic.h"
#include "lifecycle.h"
#include "specs.h"
#include "config.h"
#include "control.h"
#include "track.h"
#include <stdlib.h>
#include <string.h>

/* The text of path, checked (not empty, no NUL byte), ending in '\n' (the corpus format);
 * its length in *n. Both files are read and checked before either is written. */
static char* load_text(const char* path, size_t* n) {
    char err[ERR_LEN];
    char* text = read_file(path, n, err);
    if (!text) die(EXIT_BADINPUT, "%s", err);
    if (*n == 0) die(EXIT_BADINPUT, "%s: empty: nothing to train on", path);
    const char* nul = memchr(text, 0, *n);
    if (nul) die(EXIT_BADINPUT, "%s:%zu: a NUL byte: not text", path, (size_t)(nul - text) + 1);
    if (text[*n - 1] != '\n') {
        text = realloc_check(text, *n + 1);
        text[(*n)++] = '\n';
    }
    return text;
}

static void write_text(Tracker* t, char* text, size_t n, const char* to) {
    char err[ERR_LEN];
    if (atomic_write(to, text, n, err)) die(EXIT_FAIL, "%s", err);
    free(text);
    if (track_output(t, to)) die(t->err_exit, "%s", t->err);
}

int main(int argc, char** argv) {
    ImportCorpusArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&IMPORT_CORPUS_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    if (!*a.train || !*a.val)
        die(EXIT_BADINPUT, "%s: %s: not set: give both train and val", cfg_where(&c), !*a.train ? "corpus.train" : "corpus.val");
    if (!strcmp(a.train_out, a.val_out)) die(EXIT_BADINPUT, "%s: val_out: must differ from train_out", cfg_where(&c));
    /* your own text is never overwritten (nor mixed with ours): outputs are guarded */
    const char* outs[2] = {a.train_out, a.val_out};
    char run[4096];
    if (life_plain_outputs(run, &c, outs, 2, 1, err)) die(EXIT_BADINPUT, "%s", err);
    Tracker t;
    if (track_open(&t, run, &IMPORT_CORPUS_SPEC, &a, &c, "import-corpus")) die(t.err_exit, "%s", t.err);
    control_install(&t);
    life_clear_output_temps(a.train_out);
    life_clear_output_temps(a.val_out);
    if (track_input(&t, a.train)) die(t.err_exit, "%s", t.err);
    if (track_input(&t, a.val)) die(t.err_exit, "%s", t.err);
    track_total(&t, 2);
    size_t ntrain, nval;
    char* train = load_text(a.train, &ntrain);
    char* val = load_text(a.val, &nval);
    write_text(&t, train, ntrain, a.train_out);
    if (track_progress(&t, 1, a.train_out)) die(t.err_exit, "%s", t.err);
    write_text(&t, val, nval, a.val_out);
    if (track_progress(&t, 2, a.val_out)) die(t.err_exit, "%s", t.err);
    track_say(&t, "import-corpus: your own text: %s -> %s, %s -> %s", a.train, a.train_out, a.val, a.val_out);
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    return 0;
}
