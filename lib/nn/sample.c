/* sample: see sample.h. */
#include "sample.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const float* g_keys;   /* qsort by descending key (ties: lower index) */
static int by_key_desc(const void* a, const void* b) {
    int i = *(const int*)a, j = *(const int*)b;
    if (g_keys[i] != g_keys[j]) return g_keys[i] < g_keys[j] ? 1 : -1;
    return i - j;
}

int sample_token(const float* logits, int V, const SampleCfg* sc, Rng* r, float* p, int* idx) {
    float mx = -INFINITY;
    for (int v = 0; v < V; v++) mx = logits[v] > mx ? logits[v] : mx;
    double sum = 0;
    float invT = (float)(1.0 / sc->temperature);
    for (int v = 0; v < V; v++) { p[v] = expf((logits[v] - mx) * invT); sum += p[v]; }
    int n = V;
    if ((sc->top_k > 0 && sc->top_k < V) || sc->top_p < 1.0) {
        for (int v = 0; v < V; v++) idx[v] = v;
        g_keys = p;
        qsort(idx, V, sizeof *idx, by_key_desc);
        if (sc->top_k > 0 && sc->top_k < n) n = sc->top_k;
        if (sc->top_p < 1.0) {
            double acc = 0;
            for (int i = 0; i < n; i++) {
                acc += p[idx[i]] / sum;
                if (acc >= sc->top_p) { n = i + 1; break; }
            }
        }
        double kept = 0;
        for (int i = 0; i < n; i++) kept += p[idx[i]];
        double u = rng_double(r) * kept, acc = 0;
        for (int i = 0; i < n; i++) {
            acc += p[idx[i]];
            if (u < acc) return idx[i];
        }
        return idx[n - 1];
    }
    double u = rng_double(r) * sum, acc = 0;
    for (int v = 0; v < V; v++) {
        acc += p[v];
        if (u < acc) return v;
    }
    return V - 1;
}

long sample_batch(Model* m, const int* const* prompts, const int* plens, int N, int max_new, const SampleCfg* sc,
                  const Rng* base, const uint8_t* stop, int* out, int* lens) {
    int maxp = 0;
    for (int i = 0; i < N; i++) maxp = plens[i] > maxp ? plens[i] : maxp;
    int T = maxp + max_new;
    if (T > m->Tmax) T = m->Tmax;
    KVCache* kv = model_kv_reserve(m, N, T);
    Rng* rs = malloc_check(N * sizeof(Rng));
    for (int i = 0; i < N; i++) rs[i] = rng_split(base, (uint64_t)i);
    int *tok = malloc_check(N * sizeof(int)), *pos = malloc_check(N * sizeof(int)), *done = calloc_check(N, sizeof(int));
    int* last = calloc_check(N, sizeof(int));
    float* p = malloc_check((size_t)m->V * sizeof(float));
    int* idx = malloc_check((size_t)m->V * sizeof(int));
    for (int i = 0; i < N; i++) lens[i] = 0;
    /* Plain temperature sampling runs where the logits are (sample_rows): only the
     * N tokens come back. Top-k / top-p sort on the host from downloaded logits. */
    int on_device = !(sc->top_k > 0 && sc->top_k < m->V) && !(sc->top_p < 1.0);
    const KernelOps* k = m->k;
    double* u = malloc_check(N * sizeof(double));
    int* drawn = malloc_check(N * sizeof(int));
    double* du = on_device ? k->alloc(N * sizeof(double)) : NULL;
    int* dtok = on_device ? k->alloc(N * sizeof(int)) : NULL;
    float invT = (float)(1.0 / sc->temperature);
    long evaluated = 0;
    /* Every prompt but its last token goes through one batched forward (the
     * prefill, P positions, shorter prompts padded: causal attention keeps a
     * sequence's positions from seeing what follows them). Then each sequence
     * advances one position per step from its own last prompt token, each draw
     * feeding the next. A sequence whose prompt fills the cache gets nothing. */
    int* at = malloc_check(N * sizeof(int));   /* the position sequence i feeds next */
    int P = 0;
    for (int i = 0; i < N; i++) {
        if (plens[i] >= T) done[i] = 1;
        at[i] = plens[i] > 0 ? plens[i] - 1 : 0;
        if (!done[i] && at[i] > P) P = at[i];
    }
    if (P > 0) {
        int* pre = malloc_check((size_t)N * P * sizeof(int));
        for (int i = 0; i < N; i++)
            for (int t = 0; t < P; t++) pre[(size_t)i * P + t] = t < plens[i] ? prompts[i][t] : 0;
        model_prefill(m, kv, pre, N, P);
        evaluated += (long)N * P;
        free(pre);
    }
    model_decode_weights(m, 1);   /* the weights stay as they are until the last step */
    for (;;) {
        int live = 0;
        for (int i = 0; i < N; i++) {
            int s = at[i] < T ? at[i] : T - 1;   /* a finished sequence idles at its position */
            tok[i] = s < plens[i] ? prompts[i][s] : last[i];
            pos[i] = s;
            live |= !done[i];
        }
        if (!live) break;
        model_decode(m, kv, tok, pos, N);
        evaluated += N;
        int any = 0;
        for (int i = 0; i < N; i++) {
            u[i] = -1;   /* no draw: sample_rows skips the row */
            if (done[i]) continue;
            if (lens[i] >= max_new || at[i] + 1 >= T) { done[i] = 1; continue; }
            any = 1;
            if (on_device) u[i] = rng_double(&rs[i]);
        }
        if (any && on_device) {
            k->upload(du, u, N * sizeof(double));
            k->sample_rows(dtok, m->logits, du, N, m->V, invT);
            k->download(drawn, dtok, N * sizeof(int));
        } else if (any) {
            const float* logits = model_logits(m);   /* (N, V) on the host */
            for (int i = 0; i < N; i++)
                if (!done[i]) drawn[i] = sample_token(logits + (size_t)i * m->V, m->V, sc, &rs[i], p, idx);
        }
        for (int i = 0; i < N; i++) {
            if (done[i]) continue;
            at[i]++;
            int t = drawn[i];
            out[(size_t)i * max_new + lens[i]++] = t;   /* a stop token too: a training target */
            last[i] = t;
            /* done now, not after one more decoding step whose logits nobody draws from:
             * the same test as before the draw, on the same lens and position */
            if (stop[t] || lens[i] >= max_new || at[i] + 1 >= T) done[i] = 1;
        }
    }
    model_decode_weights(m, 0);
    if (on_device) { k->release(du); k->release(dtok); }
    free(u); free(drawn); free(at);
    free(rs); free(tok); free(pos); free(done); free(last); free(p); free(idx);
    return evaluated;
}

int sample_text_len(const int* ids, int n, const uint8_t* stop) { return n > 0 && stop[ids[n - 1]] ? n - 1 : n; }

uint8_t* sample_stop_flags(const Tokenizer* tok, int V) {
    uint8_t* stop = calloc_check(V, 1);
    for (int v = 0; v < V && v < tok_vocab_size(tok); v++) {
        size_t n;
        const char* b = tok_token_bytes(tok, (uint32_t)v, &n);
        stop[v] = v == TOK_EOS || v == TOK_PAD || (b && memchr(b, '\n', n));
    }
    return stop;
}

int sample_encode_prompt(const Tokenizer* tok, TokCache* cache, const char* text, int* ids, int keep) {
    size_t len = strlen(text);
    uint32_t* u = malloc_check((len + 1) * sizeof(uint32_t));
    int n = (int)tok_encode(tok, cache, text, len, u), off = n > keep ? n - keep : 0;
    for (int i = off; i < n; i++) ids[i - off] = (int)u[i];
    free(u);
    return n - off;
}
