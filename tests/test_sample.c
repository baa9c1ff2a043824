/* sample: reproducible for a seed, independent of the batch a sequence ran in,
 * top-k 1 is greedy decoding, stop tokens end a sequence, top-p keeps the
 * nucleus. */
#include "check.h"
#include "model.h"
#include "sample.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    ModelConfig c;
    char err[ERR_LEN];
    cfg_defaults(MODEL_OPTS, &c, err);
    c.d_model = 32; c.n_layers = 2; c.n_heads = 2; c.seq_len = 32; c.vocab_size = 300;
    c.mhc = json_pack("{s:i}", "n", 4);
    model_config_validate(&c, "test", err);
    Model m;
    model_build(&m, &c, 3);
    int pa[5] = {10, 20, 30, 40, 50}, pb[3] = {7, 8, 9};
    const int* prompts[2] = {pa, pb};
    int plens[2] = {5, 3};
    uint8_t stop[300] = {0};
    Rng base;
    rng_seed(&base, 42);
    SampleCfg sc = {1.0, 0, 1.0};
    int out1[2 * 12], len1[2], out2[2 * 12], len2[2], outa[12], lena[1];
    sample_batch(&m, prompts, plens, 2, 12, &sc, &base, stop, out1, len1);
    sample_batch(&m, prompts, plens, 2, 12, &sc, &base, stop, out2, len2);
    CHECK("sample_reproducible", len1[0] == 12 && len1[1] == 12 && !memcmp(out1, out2, sizeof out1), "differs");
    sample_batch(&m, prompts, plens, 1, 12, &sc, &base, stop, outa, lena);
    CHECK("sample_independent_of_batch", lena[0] == len1[0] && !memcmp(outa, out1, 12 * sizeof(int)), "alone != in batch");
    Rng other;
    rng_seed(&other, 43);
    sample_batch(&m, prompts, plens, 2, 12, &sc, &other, stop, out2, len2);
    CHECK("sample_seed_matters", memcmp(out1, out2, sizeof out1) != 0, "seed 42 == seed 43");

    /* top-k 1: the argmax of the full forward's logits at each step. */
    SampleCfg greedy = {1.0, 1, 1.0};
    sample_batch(&m, prompts, plens, 1, 6, &greedy, &base, stop, outa, lena);
    int seq[11];
    memcpy(seq, pa, sizeof pa);
    int ok = lena[0] == 6;
    for (int t = 0; t < 6 && ok; t++) {
        memcpy(seq + 5, outa, t * sizeof(int));
        model_forward(&m, seq, NULL, 1, 5 + t);
        const float* lg = m.logits + (size_t)(4 + t) * m.V;
        int best = 0;
        for (int v = 1; v < m.V; v++) if (lg[v] > lg[best]) best = v;
        ok &= best == outa[t];
    }
    CHECK("sample_topk1_is_greedy", ok, "greedy mismatch");

    /* A stop token ends the sequence and is kept as its last token (a training target);
     * the text is what comes before it. A completion cut off at max_new has none. */
    memset(stop, 1, sizeof stop);
    sample_batch(&m, prompts, plens, 2, 12, &sc, &base, stop, out2, len2);
    CHECK("sample_stop_token_kept", len2[0] == 1 && len2[1] == 1 && out2[0] == out1[0] && out2[12] == out1[12],
          "lens %d %d", len2[0], len2[1]);
    CHECK("sample_text_len_strips_stop", sample_text_len(out2, len2[0], stop) == 0, "text len %d", sample_text_len(out2, len2[0], stop));
    memset(stop, 0, sizeof stop);
    stop[out1[3]] = 1;   /* the 4th token of sequence 0: it ends there, within max_new */
    int first = 0;
    while (out1[first] != out1[3]) first++;
    sample_batch(&m, prompts, plens, 1, 12, &sc, &base, stop, outa, lena);
    CHECK("sample_stop_counts_in_max_new", lena[0] == first + 1 && outa[first] == out1[3] &&
          sample_text_len(outa, lena[0], stop) == first && !memcmp(outa, out1, (first + 1) * sizeof(int)), "len %d", lena[0]);
    sample_batch(&m, prompts, plens, 1, first, &sc, &base, stop, outa, lena);
    CHECK("sample_cut_off_has_no_stop", lena[0] == first && sample_text_len(outa, lena[0], stop) == first, "len %d", lena[0]);
    memset(stop, 1, sizeof stop);

    /* top-p keeps only the nucleus: with p tiny, always the most likely token. */
    float logits[5] = {0.1f, 2.0f, 1.0f, 1.9f, -1.0f}, scratch[5];
    int idx[5], hits = 0;
    SampleCfg nucleus = {1.0, 0, 0.01};
    Rng r;
    rng_seed(&r, 1);
    for (int i = 0; i < 200; i++) hits += sample_token(logits, 5, &nucleus, &r, scratch, idx) == 1;
    CHECK("sample_top_p_nucleus", hits == 200, "%d of 200", hits);
    int counts[5] = {0};
    for (int i = 0; i < 20000; i++) counts[sample_token(logits, 5, &sc, &r, scratch, idx)]++;
    double z = 0;
    for (int v = 0; v < 5; v++) z += expf(logits[v]);
    CHECK("sample_distribution", abs(counts[1] - (int)(20000 * expf(2.0f) / z)) < 400, "count %d expected %.0f", counts[1], 20000 * expf(2.0f) / z);
    model_free(&m);
    return check_status();
}
