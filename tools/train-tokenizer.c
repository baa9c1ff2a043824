/* train-tokenizer (A3): byte-level BPE with <eos>; writes P.model plus Hugging
 * Face's tokenizer.json and tokenizer_config.json beside it. */
#include "atomic.h"
#include "lifecycle.h"
#include "specs.h"
#include "config.h"
#include "control.h"
#include "tokenizer.h"
#include "track.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static void on_progress(void* ctx, long done, long total) {
    Tracker* t = ctx;
    track_total(t, total);
    if (track_progress(t, done, "merges")) die(t->err_exit, "%s", t->err);
}

int main(int argc, char** argv) {
    TrainTokenizerArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&TRAIN_TOKENIZER_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    if (strcmp(a.model_type, "bpe")) die(EXIT_BADINPUT, "%s: model_type: '%s' is not supported (only bpe)", cfg_where(&c), a.model_type);
    char dir[4096], run[4096], model[4200], hf[4200], hfc[4200];
    size_t len;
    char* text = read_file(a.input, &len, err);
    if (!text) die(EXIT_BADINPUT, "%s", err);
    if (len == 0) die(EXIT_BADINPUT, "%s: empty corpus: nothing to train on", a.input);
    if (path_dirname(dir, sizeof dir, a.model_prefix, err) || path_fmt(model, sizeof model, err, "%s.model", a.model_prefix) ||
        path_join(hf, sizeof hf, dir, "tokenizer.json", err) || path_join(hfc, sizeof hfc, dir, "tokenizer_config.json", err))
        die(EXIT_BADINPUT, "%s", err);
    const char* outs[] = {model, hf, hfc};
    if (life_plain_outputs(run, &c, outs, 3, 0, err)) die(EXIT_BADINPUT, "%s", err);
    Tracker t;
    if (track_open(&t, run, &TRAIN_TOKENIZER_SPEC, &a, &c, "train-tokenizer")) die(t.err_exit, "%s", t.err);
    control_install(&t);
    life_clear_output_temps(model);
    life_clear_output_temps(hf);
    life_clear_output_temps(hfc);
    if (track_input(&t, a.input)) die(t.err_exit, "%s", t.err);
    int pause = control_pause_requested();
    if (pause < 0 || (pause && control_pause(&t, "none: training restarts (seconds)"))) die(t.err_exit, "%s", t.err);
    if (pause) return EXIT_PAUSED;
    double t0 = now_mono();
    Tokenizer* tok = tok_train(text, len, (int)a.vocab_size, on_progress, &t, err);
    if (!tok) die(EXIT_BADINPUT, "%s: %s", a.input, err);
    if (tok_vocab_size(tok) < a.vocab_size)
        die(EXIT_BADINPUT, "%s: the text supplies only %d tokens; vocab_size %ld is unreachable (use at most %d)",
            a.input, tok_vocab_size(tok), a.vocab_size, tok_vocab_size(tok));
    double train_sec = now_mono() - t0;
    size_t mlen;
    char* ser = tok_serialize(tok, &mlen);
    char* cfg_json = NULL;
    char* hf_json = tok_export_hf_json(tok, (int)a.model_max_length, &cfg_json);
    if (atomic_write(model, ser, mlen, err) || atomic_write(hf, hf_json, strlen(hf_json), err) ||
        atomic_write(hfc, cfg_json, strlen(cfg_json), err))
        die(EXIT_BADINPUT, "%s", err);
    if (track_output(&t, model)) die(t.err_exit, "%s", t.err);
    if (track_output(&t, hf)) die(t.err_exit, "%s", t.err);
    if (track_output(&t, hfc)) die(t.err_exit, "%s", t.err);
    track_summary(&t, "train_sec", json_real(train_sec));
    track_summary(&t, "vocab_size", json_integer(tok_vocab_size(tok)));
    track_say(&t, "train-tokenizer: %d tokens from %.1f MB in %.2fs -> %s (+ tokenizer.json, tokenizer_config.json)",
              tok_vocab_size(tok), len / 1e6, train_sec, model);
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    free(ser); free(hf_json); free(cfg_json); free(text);
    tok_free(tok);
    return 0;
}
