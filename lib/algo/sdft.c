/* sdft: see sdft.h. log-softmax in double for the per-token sums. */
#include "sdft.h"
#include "rng.h"
#include "sample.h"
#include <math.h>
#include <stdlib.h>

static double logsumexp(const float* z, int V) {
    double mx = z[0];
    for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
    double s = 0;
    for (int v = 0; v < V; v++) s += exp(z[v] - mx);
    return mx + log(s);
}

double sdft_kl(const float* zs, const float* zt, int V, float* dz, float scale) {
    double ls = logsumexp(zs, V), lt = logsumexp(zt, V), kl = 0;
    for (int v = 0; v < V; v++) {
        double lp = zs[v] - ls, lq = zt[v] - lt;
        kl += exp(lp) * (lp - lq);
    }
    if (dz)
        for (int v = 0; v < V; v++) {
            double lp = zs[v] - ls, lq = zt[v] - lt;
            dz[v] += (float)(scale * exp(lp) * (lp - lq - kl));
        }
    return kl;
}

double sdft_distill(Model* S, Model* T, int N, int* const* sp, const int* spl, int* const* tp, const int* tpl,
                    const int* out, const int* lens, int maxnew) {
    int Ts = 1, Tt = 1, ntok = 0;
    for (int j = 0; j < N; j++) {
        if (spl[j] + lens[j] > Ts) Ts = spl[j] + lens[j];
        if (tpl[j] + lens[j] > Tt) Tt = tpl[j] + lens[j];
        ntok += lens[j];
    }
    if (ntok == 0) return 0;
    int* si = malloc_check((size_t)N * Ts * sizeof(int));   /* (N, Ts) prompt, completion, padding */
    int* ti = malloc_check((size_t)N * Tt * sizeof(int));   /* (N, Tt) */
    for (int j = 0; j < N; j++) {
        for (int q = 0; q < Ts; q++) si[j * Ts + q] = q < spl[j] ? sp[j][q] : q - spl[j] < lens[j] ? out[j * maxnew + q - spl[j]] : TOK_PAD;
        for (int q = 0; q < Tt; q++) ti[j * Tt + q] = q < tpl[j] ? tp[j][q] : q - tpl[j] < lens[j] ? out[j * maxnew + q - tpl[j]] : TOK_PAD;
    }
    model_forward(T, ti, NULL, N, Tt);             /* teacher, stop-gradient */
    model_forward(S, si, NULL, N, Ts);
    float* dl = calloc_check((size_t)N * Ts * S->V, sizeof(float));   /* (N, Ts, V) d loss / d student logits */
    const float* zs_all = model_logits(S);
    const float* zt_all = model_logits(T);
    double kl = 0;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < lens[j]; i++) {
            /* the logits that predict completion token i */
            const float* zs = zs_all + ((size_t)j * Ts + spl[j] - 1 + i) * S->V;
            const float* zt = zt_all + ((size_t)j * Tt + tpl[j] - 1 + i) * S->V;
            kl += sdft_kl(zs, zt, S->V, dl + ((size_t)j * Ts + spl[j] - 1 + i) * S->V, 1.0f / ntok);
        }
    model_zero_grad(S);
    model_backward_logits(S, dl);
    free(dl); free(si); free(ti);
    return kl / ntok;
}

double sdft_val_ppl(Model* m, const Bin* val, int B, int T, long batches) {
    int* in = malloc_check((size_t)B * T * sizeof(int));
    int* tg = malloc_check((size_t)B * T * sizeof(int));
    size_t cursor = 0;
    double sum = 0;
    for (long k = 0; k < batches; k++) {
        bin_next_batch(val, &cursor, in, tg, B, T);
        sum += model_forward(m, in, tg, B, T);
    }
    free(in); free(tg);
    return exp(sum / batches);
}

double sdft_best_of_k(Model* m, const Tokenizer* tok, TokCache* cache, const uint8_t* stop, const Task* tasks, long n,
                      int K, int maxnew, uint64_t seed) {
    int** pr = malloc_check(K * sizeof(int*));
    int* pl = malloc_check(K * sizeof(int));
    int* out = malloc_check((size_t)K * maxnew * sizeof(int));
    int* lens = malloc_check(K * sizeof(int));
    char text[4096];
    double sum = 0;
    SampleCfg sc = {1.0, 0, 1.0};
    for (long i = 0; i < n; i++) {
        pr[0] = malloc_check((size_t)m->Tmax * sizeof(int));
        pl[0] = sample_encode_prompt(tok, cache, tasks[i].prompt, pr[0], m->Tmax - maxnew);
        for (int k = 1; k < K; k++) { pr[k] = pr[0]; pl[k] = pl[0]; }
        Rng r;
        rng_seed(&r, seed + (uint64_t)i);
        sample_batch(m, (const int* const*)pr, pl, K, maxnew, &sc, &r, stop, out, lens);
        double best = 0;
        for (int k = 0; k < K; k++) {
            uint32_t u[4096];
            int n = sample_text_len(out + (size_t)k * maxnew, lens[k], stop);   /* scored without its stop token */
            for (int j = 0; j < n; j++) u[j] = (uint32_t)out[(size_t)k * maxnew + j];
            size_t len = tok_decode(tok, u, n, text, sizeof text - 1);
            text[len] = 0;
            double s = task_score(&tasks[i], text, len);
            if (s > best) best = s;
        }
        sum += best;
        free(pr[0]);
    }
    free(pr); free(pl); free(out); free(lens);
    return n ? sum / n : 0;
}
