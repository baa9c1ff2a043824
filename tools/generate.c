/* generate: what a model writes (nanoGPT's sample.py, for this project's checkpoints).
 * num_samples completions of one prompt in one batch through the suite's sampler
 * (lib/nn/sample: KV cache, temperature, top-k, top-p, the suite's stop tokens), from a
 * checkpoint and optionally a LoRA adapter written by ttt. With --tasks/--task_id the
 * prompt is the task's and each completion is printed with its verifier's score, as
 * the suite scores it. Completion i draws from stream i of --seed: the output depends
 * on nothing else (not the thread count). Reads only; writes only stdout. */
#include "ckpt.h"
#include "config.h"
#include "json.h"
#include "lora.h"
#include "model.h"
#include "safetensors.h"
#include "sample.h"
#include "specs.h"
#include "tasks.h"
#include "tokenizer.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* in[0..n) as valid UTF-8 (RFC 3629: no overlongs, surrogates or code points past
 * U+10FFFF): each byte that does not start a valid sequence becomes U+FFFD, as
 * Python's decode(errors="replace") does per byte. A small model's byte-level tokens
 * can end mid-character. out needs 3n + 1 bytes. */
static size_t utf8_clean(const unsigned char* in, size_t n, char* out) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = in[i];
        int len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        int ok = len > 0 && i + (size_t)len <= n;
        for (int k = 1; ok && k < len; k++) ok = (in[i + k] & 0xC0) == 0x80;
        if (ok && len > 2) {
            unsigned d = in[i + 1];
            ok = !(c == 0xE0 && d < 0xA0) && !(c == 0xED && d >= 0xA0) && !(c == 0xF0 && d < 0x90) && !(c == 0xF4 && d >= 0x90);
        }
        if (!ok) { memcpy(out + o, "\xEF\xBF\xBD", 3); o += 3; i++; continue; }
        memcpy(out + o, in + i, (size_t)len);
        o += (size_t)len;
        i += (size_t)len;
    }
    out[o] = 0;
    return o;
}

/* The adapter's rank and alpha from its metadata (lora_save), then its weights;
 * shapes are checked against the model by lora_load. */
static Lora* load_adapter(const char* path, const Model* m) {
    char err[ERR_LEN];
    SafeTensors* s = st_open(path, 1, err);
    if (!s) die(EXIT_BADINPUT, "%s", err);
    const char *r = st_meta(s, "r"), *a = st_meta(s, "lora_alpha");
    char* end;
    long rank = r ? strtol(r, &end, 10) : 0;
    if (!r || *end || rank < 1 || rank > 4096) die(EXIT_BADINPUT, "%s: metadata 'r' missing or not a rank in 1..4096", path);
    double alpha = a ? strtod(a, &end) : 0;
    if (!a || *end || !(alpha > 0)) die(EXIT_BADINPUT, "%s: metadata 'lora_alpha' missing or not a positive number", path);
    st_close(s);
    Lora* lo = lora_new(m, (int)rank, (float)alpha, 0);
    if (lora_load(path, lo, m, err)) die(EXIT_BADINPUT, "%s (an adapter for another model?)", err);
    return lo;
}

int main(int argc, char** argv) {
    GenerateArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&GENERATE_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    if (*a.prompt && (*a.tasks || *a.task_id)) die(EXIT_BADINPUT, "%s: prompt: give --prompt or --tasks with --task_id, not both", cfg_where(&c));
    if (!*a.tasks != !*a.task_id)
        die(EXIT_BADINPUT, "%s: %s: --tasks and --task_id go together", cfg_where(&c), *a.tasks ? "task_id" : "tasks");
    if (!*a.prompt && !*a.tasks) die(EXIT_BADINPUT, "%s: prompt: nothing to continue: give --prompt, or --tasks and --task_id", cfg_where(&c));
    Task* tasks = NULL;
    const Task* task = NULL;
    if (*a.tasks) {
        long nt = tasks_load_jsonl(a.tasks, &tasks, err);
        if (nt < 0) die(EXIT_BADINPUT, "%s", err);
        for (long i = 0; i < nt && !task; i++) if (!strcmp(tasks[i].id, a.task_id)) task = &tasks[i];
        if (!task) die(EXIT_BADINPUT, "%s: no task with id '%s'", a.tasks, a.task_id);
    }
    const char* prompt = task ? task->prompt : a.prompt;

    Tokenizer* tok = tok_load(a.tokenizer, err);
    if (!tok) die(EXIT_BADINPUT, "%s", err);
    Model m;
    if (ckpt_load_model(a.ckpt, a.device, a.precision, tok, a.tokenizer, &m, err)) die(EXIT_BADINPUT, "%s", err);
    if (a.max_new_tokens >= m.Tmax)
        die(EXIT_BADINPUT, "%s: max_new_tokens: %ld leaves no room for a prompt in the model's %d positions", cfg_where(&c), a.max_new_tokens, m.Tmax);
    Lora* lo = NULL;
    if (*a.adapter) {
        lo = load_adapter(a.adapter, &m);
        m.lora = lo;
        m.train_base = 0;
        lo->enabled = 1;
    }

    int N = (int)a.num_samples, G = (int)a.max_new_tokens, keep = m.Tmax - G;
    TokCache* cache = tok_cache_new(tok);
    int* ids = malloc_check((size_t)m.Tmax * sizeof(int));
    int n = sample_encode_prompt(tok, cache, prompt, ids, keep);
    if (n < 1) die(EXIT_BADINPUT, "%s: the prompt encodes to no tokens", task ? a.tasks : "--prompt");
    const int** prompts = malloc_check(N * sizeof(int*));
    int* plens = malloc_check(N * sizeof(int));
    for (int i = 0; i < N; i++) { prompts[i] = ids; plens[i] = n; }
    int* out = malloc_check((size_t)N * G * sizeof(int));
    int* lens = malloc_check(N * sizeof(int));
    uint8_t* stop = sample_stop_flags(tok, m.V);
    SampleCfg sc = {a.temperature, (int)a.top_k, a.top_p};
    Rng base;
    rng_seed(&base, (uint64_t)a.seed);
    sample_batch(&m, prompts, plens, N, G, &sc, &base, stop, out, lens);

    size_t cap = (size_t)G * 64 + 1;
    char* text = malloc_check(cap);
    char* shown = malloc_check(3 * cap + 1);
    uint32_t* u = malloc_check(((size_t)G + 1) * sizeof(uint32_t));
    if (!a.json) printf("prompt (%d tokens): %s\n", n, prompt);
    for (int i = 0; i < N; i++) {
        const int* o = out + (size_t)i * G;
        int tl = sample_text_len(o, lens[i], stop);
        for (int k = 0; k < tl; k++) u[k] = (uint32_t)o[k];
        size_t len = tok_decode(tok, u, tl, text, cap - 1);
        text[len] = 0;
        int stopped = tl < lens[i];
        double score = task ? task_score(task, text, len) : 0;   /* the verifier reads the bytes as sampled */
        utf8_clean((const unsigned char*)text, len, shown);
        if (a.json) {
            json_t* j = json_pack("{s:i, s:s, s:s, s:i, s:b}", "sample", i, "prompt", prompt, "completion", shown, "tokens",
                                  lens[i], "stopped", stopped);
            if (task) json_object_set_new(j, "score", json_real(score));
            char* line = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
            printf("%s\n", line);
            free(line);
            json_decref(j);
        } else if (task) printf("[%d] score %.2f%s: %s\n", i, score, stopped ? "" : " (cut at max_new_tokens)", shown);
        else printf("[%d]%s %s\n", i, stopped ? "" : " (cut at max_new_tokens)", shown);
    }
    fflush(stdout);
    free(text); free(shown); free(u); free(out); free(lens); free(plens); free(prompts); free(ids); free(stop); free(tasks);
    tok_cache_free(cache);
    if (lo) { m.lora = NULL; lora_free(lo); }
    tok_free(tok);
    model_free(&m);
    return 0;
}
