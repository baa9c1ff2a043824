/* test_tokenizer: behaviour of lib/data/tokenizer (byte-level BPE).
 *
 * Protects: lossless round trips on any bytes; the pre-tokenizer and the
 * encoder against a literal, slow transcription of their definitions; the
 * incremental trainer against a naive trainer that recounts every pair after
 * every merge; determinism (also across thread counts); the strict .model
 * parser's refusals (each naming path and line); hand-checked encodings; and
 * the shape of the Hugging Face export.
 *
 * Build: gcc -std=c11 -O2 -D_GNU_SOURCE -Ilib tests/test_tokenizer.c lib/data/tokenizer.c lib/base/util.c \
 *            -ljansson -lm -fopenmp -o /tmp/test_tokenizer
 * Prints "PASS <name>" or "FAIL <name>: why" per check; exits 1 if any failed. */
#include "tokenizer.h"
#include "util.h"
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int g_failed = 0, g_passed = 0;
static char g_why[1024];

/* Each check returns 0 (pass) or fills g_why and returns 1. */
__attribute__((format(printf, 1, 2))) static int why(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_why, sizeof g_why, fmt, ap);
    va_end(ap);
    return 1;
}
static void run(const char* name, int (*fn)(void)) {
    g_why[0] = 0;
    if (fn()) { printf("FAIL %s: %s\n", name, g_why); g_failed++; }
    else { printf("PASS %s\n", name); g_passed++; }
    fflush(stdout);
}

/* ------------------------------------------------------------------------- */
/* A small deterministic English-like corpus: sentences, made-up names,
 * numbers and arithmetic, like the project's generator. */

static uint64_t g_rng = 88172645463325252ULL;
static uint32_t rnd(void) { g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17; return (uint32_t)(g_rng >> 11); }
static uint32_t rndn(uint32_t n) { return rnd() % n; }

static char* make_corpus(size_t target, size_t* len) {
    static const char* nouns[] = { "cat", "dog", "house", "river", "stone", "tree", "garden", "city", "road", "ship", "book", "lamp" };
    static const char* verbs[] = { "sees", "finds", "builds", "carries", "opens", "follows", "helps", "counts" };
    static const char* syl[] = { "ka", "lo", "ri", "ta", "mi", "sen", "dor", "vel", "an", "is", "ur", "zen", "bri", "tho" };
    size_t cap = target + 512, n = 0;
    char* s = malloc_check(cap);
    while (n < target) {
        char line[256];
        int k = 0, kind = (int)rndn(4);
        if (kind == 0) {
            int a = (int)rndn(1000), b = (int)rndn(1000);
            k = snprintf(line, sizeof line, "%d + %d = %d", a, b, a + b);
        } else if (kind == 1) {
            char name[32] = { 0 };
            int ns = 2 + (int)rndn(3);
            for (int i = 0; i < ns; i++) strcat(name, syl[rndn(14)]);
            name[0] = (char)(name[0] - 32);
            k = snprintf(line, sizeof line, "%s has %u %ss, and gives %u to the %s.", name, rndn(90), nouns[rndn(12)],
                         rndn(9), nouns[rndn(12)]);
        } else {
            k = snprintf(line, sizeof line, "The %s %s the %s%s", nouns[rndn(12)], verbs[rndn(8)], nouns[rndn(12)],
                         rndn(3) ? "." : "!  ");
        }
        if (n + (size_t)k + 1 > cap) break;
        memcpy(s + n, line, (size_t)k);
        n += (size_t)k;
        s[n++] = '\n';
    }
    *len = n;
    return s;
}

static Tokenizer* g_tok;        /* trained once on the corpus, V = 600 */
static char* g_corpus;
static size_t g_corpus_len;

/* ------------------------------------------------------------------------- */
/* Reference implementations, written from the definitions, not for speed. */

static int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static int is_alpha(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_word_start(uint8_t c) { return is_alpha(c) || c == '_'; }
static int is_word(uint8_t c) { return is_word_start(c) || (c >= '0' && c <= '9'); }
static int is_mark(uint8_t c) { return c != 0 && strchr(".,;:!?(", c) != NULL; }

/* Length of the regex match at i, trying the alternatives in order:
 *  " *[A-Za-z_][A-Za-z0-9_]*[.,;:!?(]? | *[^ WS A-Za-z_]+ | WS+(?!\S) | WS+"
 * Each " *" backtracks from the longest run of spaces down to none. */
static size_t ref_match(const uint8_t* s, size_t n, size_t i) {
    size_t spaces = 0;
    while (i + spaces < n && s[i + spaces] == ' ') spaces++;
    /* alternative 1 */
    for (size_t sp = spaces + 1; sp-- > 0;) {
        size_t k = i + sp;
        if (k >= n || !is_word_start(s[k])) continue;
        k++;
        while (k < n && is_word(s[k])) k++;
        if (k < n && is_mark(s[k])) k++;
        return k - i;
    }
    /* alternative 2 */
    for (size_t sp = spaces + 1; sp-- > 0;) {
        size_t j = i + sp, k = j;
        while (k < n && !is_ws(s[k]) && !is_word_start(s[k])) k++;
        if (k > j) return k - i;
    }
    /* alternative 3: greedy run, backtracking until the lookahead holds */
    size_t run = 0;
    while (i + run < n && is_ws(s[i + run])) run++;
    for (size_t k = run; k >= 1; k--)
        if (i + k == n || is_ws(s[i + k])) return k;
    /* alternative 4 */
    return run;
}

/* The encoder's cut (tok_pretoken_end) equals the reference on the examples
 * of docs/tokenizer-format.md and on random text; tests/hf/hf_check.mjs holds
 * both to Hugging Face's regex engine. */
static int cuts_differ(const char* in, const char* want) {
    const uint8_t* s = (const uint8_t*)in;
    size_t n = strlen(in), i = 0, k = 0;
    char got[1400];
    while (i < n) {
        size_t l = ref_match(s, n, i), e = tok_pretoken_end(in, n, i);
        if (e != i + l) return why("'%s': at byte %zu the encoder cuts at %zu, the reference at %zu", in, i, e, i + l);
        if (k) got[k++] = '|';
        memcpy(got + k, s + i, l);
        k += l; i += l;
    }
    got[k] = 0;
    if (want && strcmp(got, want) != 0) return why("'%s' cut as '%s', want '%s'", in, got, want);
    return 0;
}

static int test_pretokenize_cuts(void) {
    struct { const char* in; const char* cuts; } cases[] = {   /* cuts joined by '|' */
        { "The house. 66, (42 0.05", "The| house.| 66,| (42| 0.05" },
        { "Answer: yes", "Answer:| yes" },
        { "a   b", "a|   b" },
        { "        return self._cache[key2](x)", "        return| self.|_cache|[|key2|](|x|)" },
        { "    def f(a, b):", "    def| f(|a,| b|):" },
        { "x = 1      # note", "x| =| 1|      #| note" },
        { "max_len2 3abc", "max_len2| 3|abc" },
        { "\tx", "\t|x" },
        { "\t  x", "\t | x" },
        { "  \tx", "  |\t|x" },
        { "end   ", "end|   " },
        { "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac", "caf|\xc3\xa9| \xe6\x9d\xb1\xe4\xba\xac" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        if (cuts_differ(cases[c].in, cases[c].cuts)) return 1;
    for (int rep = 0; rep < 5000; rep++) {
        char buf[600];
        size_t n = 1 + rndn(sizeof buf - 1);
        for (size_t i = 0; i < n; i++)
            buf[i] = rndn(8) ? "    \t\nab_Z09.,;:!?()[]#=\"'-"[rndn(27)] : (char)(1 + rndn(255));
        buf[n] = 0;
        if (cuts_differ(buf, NULL)) return 1;
    }
    return 0;
}

typedef struct { uint32_t a, b; } Merge;

/* Merges of a tokenizer, read back from its serialization. */
static Merge* merges_of(const Tokenizer* t, int* nm) {
    size_t len;
    char* s = tok_serialize(t, &len);
    int V, M;
    char* p = s;
    sscanf(p, "ddbpe 1\nvocab_size %d\nmerges %d\n", &V, &M);
    for (int i = 0; i < 3; i++) p = strchr(p, '\n') + 1;
    Merge* m = malloc_check(sizeof(Merge) * (M + 1));
    for (int r = 0; r < M; r++) {
        sscanf(p, "%u %u", &m[r].a, &m[r].b);
        p = strchr(p, '\n') + 1;
    }
    free(s);
    *nm = M;
    return m;
}

/* Naive BPE of one pre-token: merge the lowest-rank adjacent pair (leftmost
 * on ties), one occurrence at a time, until none applies. */
static size_t ref_bpe(const Merge* m, int nm, const uint8_t* s, size_t n, uint32_t* out) {
    for (size_t i = 0; i < n; i++) out[i] = s[i];
    for (;;) {
        int best = -1;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < n; i++)
            for (int r = 0; r < nm && (best < 0 || r < best); r++)
                if (m[r].a == out[i] && m[r].b == out[i + 1]) { best = r; bi = i; break; }
        if (best < 0) return n;
        out[bi] = TOK_FIRST_MERGE + (uint32_t)best;
        memmove(out + bi + 1, out + bi + 2, (n - bi - 2) * sizeof(uint32_t));
        n--;
    }
}

static size_t ref_encode(const Merge* m, int nm, const uint8_t* s, size_t n, uint32_t* out) {
    size_t i = 0, k = 0;
    while (i < n) {
        size_t l = ref_match(s, n, i);
        k += ref_bpe(m, nm, s + i, l, out + k);
        i += l;
    }
    return k;
}

/* ------------------------------------------------------------------------- */

static int check_roundtrip(const Tokenizer* t, TokCache* c, const char* s, size_t n, const char* what) {
    uint32_t* ids = malloc_check(sizeof(uint32_t) * (n + 1));
    char* back = malloc_check(n + 1);
    size_t k = tok_encode(t, c, s, n, ids);
    size_t d = tok_decode(t, ids, k, back, n);
    int bad = d != n || memcmp(back, s, n) != 0;
    for (size_t i = 0; i < k && !bad; i++) if (ids[i] >= (uint32_t)tok_vocab_size(t) || ids[i] == TOK_EOS || ids[i] == TOK_PAD) bad = 1;
    free(ids); free(back);
    return bad ? why("round trip failed for %s (%zu bytes)", what, n) : 0;
}

static int test_roundtrip_tricky(void) {
    TokCache* c = tok_cache_new(g_tok);
    char all[256];
    for (int i = 0; i < 256; i++) all[i] = (char)i;
    char spaces[3000];
    memset(spaces, ' ', sizeof spaces);
    const char* cases[] = { "", " ", "  ", "\t", "a", " a", "a ", "   x   ", "Hello, world! How are you?",
        "The house. The house.. The house...", "don't stop; it's 3:45 p.m.", "(66 + 45) * 72; score 0.05",
        "Caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x80", "\xff\xfe\x80\xc0",
        "0123456789 00000000000000000000 3.14159", "line\nwith\nnewlines\n\n", "\r\n\t\f\v mixed \t\r",
        "<eos> <pad> literal specials" };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (check_roundtrip(g_tok, c, cases[i], strlen(cases[i]), cases[i])) goto fail;
    if (check_roundtrip(g_tok, c, all, 256, "all 256 byte values")) goto fail;
    if (check_roundtrip(g_tok, c, spaces, sizeof spaces, "3000 spaces")) goto fail;
    for (int rep = 0; rep < 2000; rep++) {
        char buf[400];
        size_t n = rndn(sizeof buf);
        for (size_t i = 0; i < n; i++) buf[i] = rndn(4) ? " ab.\t1\xc3\xa9"[rndn(8)] : (char)rndn(256);
        if (check_roundtrip(g_tok, rep & 1 ? c : NULL, buf, n, "random bytes")) goto fail;
    }
    if (check_roundtrip(g_tok, c, g_corpus, g_corpus_len, "the whole training corpus as one string")) goto fail;
    tok_cache_free(c);
    return 0;
fail:
    tok_cache_free(c);
    return 1;
}

static int encode_vs_reference(const Tokenizer* t, const char* corpus, size_t clen) {
    int nm;
    Merge* m = merges_of(t, &nm);
    TokCache* c = tok_cache_new(t);
    uint32_t a[1200], b[1200], d[1200];
    int bad = 0;
    for (int rep = 0; rep < 3000 && !bad; rep++) {
        char buf[1200];
        /* mostly short strings; 1 in 5 long (> 64 bytes: single pre-tokens of
         * that size take the heap path) */
        size_t n = rep % 5 == 0 ? 65 + rndn(1000) : rndn(60);
        int mode = (int)rndn(5);
        for (size_t i = 0; i < n; i++) {
            if (mode == 0) buf[i] = " abcdehnorst.,;:!?(_0123\t"[rndn(25)];
            else if (mode == 1) buf[i] = "    \tab_1("[rndn(11)];
            else if (mode == 2) buf[i] = "aaaab"[rndn(5)];
            else if (mode == 3) buf[i] = rndn(50) ? ' ' : '\t';
            else buf[i] = corpus[rndn((uint32_t)clen)];
        }
        size_t ka = tok_encode(t, NULL, buf, n, a);
        size_t kc = tok_encode(t, c, buf, n, d);
        size_t kb = ref_encode(m, nm, (const uint8_t*)buf, n, b);
        if (ka != kb || memcmp(a, b, ka * sizeof(uint32_t)) != 0) bad = why("encode differs from the reference on a %zu-byte string (mode %d)", n, mode);
        else if (kc != ka || memcmp(a, d, ka * sizeof(uint32_t)) != 0) bad = why("cached encode differs from uncached");
    }
    tok_cache_free(c);
    free(m);
    return bad;
}

static int test_encode_matches_reference(void) {
    if (encode_vs_reference(g_tok, g_corpus, g_corpus_len)) return 1;
    /* a tokenizer rich in same-symbol merges ("aa", "    "), where the
     * leftmost-first rule decides the result */
    char text[20000];
    size_t n = 0;
    while (n < sizeof text - 200) {
        size_t k = 1 + rndn(150);
        char ch = " a\t"[rndn(3)];
        for (size_t i = 0; i < k; i++) text[n++] = rndn(20) ? ch : 'b';
        text[n++] = rndn(4) ? ' ' : '\n';
    }
    char err[ERR_LEN];
    Tokenizer* t = tok_train(text, n, 400, NULL, NULL, err);
    if (!t) return why("tok_train: %s", err);
    int bad = encode_vs_reference(t, text, n);
    tok_free(t);
    return bad;
}

/* More distinct words than the cache holds: it must start over, not grow
 * without bound or return stale ids. */
static int test_cache_overflow(void) {
    TokCache* c = tok_cache_new(g_tok);
    int bad = 0;
    for (int i = 0; i < 400000 && !bad; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, " %ld%s", (long)i * 7919, i & 1 ? "ab" : "");
        uint32_t a[64], b[64];
        size_t ka = tok_encode(g_tok, c, buf, (size_t)n, a);
        size_t kb = tok_encode(g_tok, NULL, buf, (size_t)n, b);
        if (ka != kb || memcmp(a, b, ka * sizeof(uint32_t)) != 0) bad = why("cached ids differ for '%s'", buf);
    }
    tok_cache_free(c);
    return bad;
}

static int cmp_u64(const void* x, const void* y) {
    uint64_t a = *(const uint64_t*)x, b = *(const uint64_t*)y;
    return a < b ? -1 : a > b;
}

/* Naive trainer: recount all pairs after every merge. Same rules: highest
 * count, ties to the smaller (left, right); skip pairs whose bytes already
 * exist, are a special's name, or are longer than TOK_MAX_TOKEN_LEN. */
static int test_trainer_matches_naive(void) {
    size_t len;
    char* text = make_corpus(30000, &len);
    int V = 700;
    char err[ERR_LEN];
    Tokenizer* t = tok_train(text, len, V, NULL, NULL, err);
    if (!t) { free(text); return why("tok_train: %s", err); }
    int nm;
    Merge* got = merges_of(t, &nm);

    /* words: every pre-token occurrence, as symbol arrays (duplicates kept) */
    size_t cap = len + 1, nsym = 0, nw = 0;
    uint32_t* sym = malloc_check(sizeof(uint32_t) * cap);
    size_t* wo = malloc_check(sizeof(size_t) * cap);
    size_t* wl = malloc_check(sizeof(size_t) * cap);
    const uint8_t* s = (const uint8_t*)text;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && s[e] != '\n') e++;
        size_t p = i;
        while (p < e) {
            size_t l = ref_match(s, e, p);
            wo[nw] = nsym; wl[nw] = l; nw++;
            for (size_t k = 0; k < l; k++) sym[nsym++] = s[p + k];
            p += l;
        }
        i = e + 1;
    }
    /* token strings */
    char** str = malloc_check(sizeof(char*) * V);
    size_t* slen = malloc_check(sizeof(size_t) * V);
    for (int id = 0; id < 256; id++) { str[id] = malloc_check(1); str[id][0] = (char)id; slen[id] = 1; }
    str[256] = strdup_check("<eos>"); slen[256] = 5;
    str[257] = strdup_check("<pad>"); slen[257] = 5;
    int M = 0, bad = 0;
    size_t nskip = 0;               /* pairs refused for good (duplicate or too long) */
    uint32_t* ska = NULL; uint32_t* skb = NULL;
    while (M < V - TOK_FIRST_MERGE) {
        /* every adjacent pair occurrence as a packed key; sorted, equal keys are runs */
        size_t np = 0;
        uint64_t* keys = malloc_check(sizeof(uint64_t) * (nsym + 1));
        for (size_t w = 0; w < nw; w++)
            for (size_t k = 0; k + 1 < wl[w]; k++) keys[np++] = ((uint64_t)sym[wo[w] + k] << 32) | sym[wo[w] + k + 1];
        qsort(keys, np, sizeof(uint64_t), cmp_u64);
        uint64_t bestk = 0;
        long bestc = 0;
        for (size_t k = 0; k < np;) {
            size_t j = k;
            while (j < np && keys[j] == keys[k]) j++;
            long cnt = (long)(j - k);
            uint32_t a = (uint32_t)(keys[k] >> 32), b = (uint32_t)keys[k];
            int skipped = 0;
            for (size_t q = 0; q < nskip; q++) if (ska[q] == a && skb[q] == b) skipped = 1;
            if (!skipped && cnt > bestc) { bestc = cnt; bestk = keys[k]; }   /* keys ascend: first max wins ties */
            k = j;
        }
        free(keys);
        if (bestc == 0) break;
        uint32_t a = (uint32_t)(bestk >> 32), b = (uint32_t)bestk;
        size_t nl = slen[a] + slen[b];
        char* ns = malloc_check(nl);
        memcpy(ns, str[a], slen[a]);
        memcpy(ns + slen[a], str[b], slen[b]);
        int dup = nl > TOK_MAX_TOKEN_LEN;
        for (int id = 0; id < TOK_FIRST_MERGE + M && !dup; id++) if (slen[id] == nl && memcmp(str[id], ns, nl) == 0) dup = 1;
        if (dup) {
            free(ns);
            ska = realloc_check(ska, sizeof(uint32_t) * (nskip + 1));
            skb = realloc_check(skb, sizeof(uint32_t) * (nskip + 1));
            ska[nskip] = a; skb[nskip] = b; nskip++;
            continue;
        }
        uint32_t nid = TOK_FIRST_MERGE + (uint32_t)M;
        str[nid] = ns; slen[nid] = nl;
        if (M >= nm || got[M].a != a || got[M].b != b) {
            bad = why("merge %d: naive trainer picks (%u, %u) count %ld, tok_train picked (%u, %u)", M, a, b, bestc,
                      M < nm ? got[M].a : 0, M < nm ? got[M].b : 0);
            M++;
            break;
        }
        M++;
        for (size_t w = 0; w < nw; w++) {
            uint32_t* x = sym + wo[w];
            size_t r = 0, o = 0;
            while (r < wl[w]) {
                if (r + 1 < wl[w] && x[r] == a && x[r + 1] == b) { x[o++] = nid; r += 2; }
                else x[o++] = x[r++];
            }
            wl[w] = o;
        }
    }
    if (!bad && M != nm) bad = why("naive trainer made %d merges, tok_train %d", M, nm);
    for (int id = 0; id < TOK_FIRST_MERGE + M; id++) free(str[id]);
    free(str); free(slen); free(sym); free(wo); free(wl); free(ska); free(skb);
    free(got); free(text); tok_free(t);
    return bad;
}
static int test_determinism(void) {
    size_t len;
    char* text = make_corpus(400000, &len);    /* big enough for several threads */
    char err[ERR_LEN];
    char* first = NULL;
    size_t first_len = 0;
    int bad = 0;
    int threads[] = { 1, 2, 3, 1 };
    for (int k = 0; k < 4 && !bad; k++) {
#ifdef _OPENMP
        omp_set_num_threads(threads[k]);
#endif
        Tokenizer* t = tok_train(text, len, 1500, NULL, NULL, err);
        if (!t) { bad = why("tok_train: %s", err); break; }
        size_t n;
        char* s = tok_serialize(t, &n);
        tok_free(t);
        if (!first) { first = s; first_len = n; continue; }
        if (n != first_len || memcmp(s, first, n) != 0) bad = why("serialization differs with %d threads", threads[k]);
        free(s);
    }
#ifdef _OPENMP
    omp_set_num_threads(omp_get_num_procs());
#endif
    free(first); free(text);
    return bad;
}

static int test_vocab_errors(void) {
    char err[ERR_LEN] = "";
    if (tok_train("ab ab", 5, 258, NULL, NULL, err) || !strstr(err, "vocab too small")) return why("V=258 not refused: '%s'", err);
    err[0] = 0;
    if (tok_train("ab ab", 5, -3, NULL, NULL, err) || !strstr(err, "vocab too small")) return why("V=-3 not refused: '%s'", err);
    err[0] = 0;
    if (tok_train("", 0, 1000, NULL, NULL, err) || !strstr(err, "no training text")) return why("empty text not refused: '%s'", err);
    err[0] = 0;
    if (tok_train("\n\n\n", 3, 1000, NULL, NULL, err) || !strstr(err, "no training text")) return why("newlines-only text not refused: '%s'", err);
    err[0] = 0;
    if (tok_train("a\nb\n\t\n", 6, 1000, NULL, NULL, err) || !strstr(err, "no training text")) return why("single-byte words not refused: '%s'", err);
    /* too little text: stops early, still a usable tokenizer */
    Tokenizer* t = tok_train("ab ab ab\n", 9, 5000, NULL, NULL, err);
    if (!t) return why("tiny text: %s", err);
    int V = tok_vocab_size(t);
    tok_free(t);
    if (V < TOK_FIRST_MERGE + 1 || V >= 5000) return why("tiny text gave V=%d", V);
    return 0;
}

static long g_prog_calls, g_prog_done, g_prog_total;
static void on_progress(void* ctx, long done, long total) { (void)ctx; g_prog_calls++; g_prog_done = done; g_prog_total = total; }

static int test_hand_checked(void) {
    /* "ab ab ab abc" -> words "ab" x1, " ab" x2, " abc" x1.
     * pairs: (a,b)=4 (' ',a)=3 (b,c)=1 -> merge 258 = "ab";
     * then (' ',258)=3 -> 259 = " ab"; then (259,c)=1 -> 260 = " abc". */
    const char* text = "ab ab ab abc\n";
    char err[ERR_LEN];
    g_prog_calls = 0;
    Tokenizer* t = tok_train(text, strlen(text), 261, on_progress, NULL, err);
    if (!t) return why("tok_train: %s", err);
    int bad = 0;
    size_t n;
    char* s = tok_serialize(t, &n);
    const char* want = "ddbpe 1\nvocab_size 261\nmerges 3\n97 98\n32 258\n259 99\n";
    if (n != strlen(want) || memcmp(s, want, n) != 0) bad = why("model is '%s', want '%s'", s, want);
    free(s);
    struct { const char* in; uint32_t ids[8]; size_t n; } cases[] = {
        { "ab abc abd", { 258, 260, 259, 'd' }, 4 },
        { "abab", { 258, 258 }, 2 },
        { "ab.", { 258, '.' }, 2 },              /* one pre-token "ab.", no merge with '.' */
        { "  ab", { ' ', 259 }, 2 },             /* one pre-token "  ab": spaces join the word */
        { "\tab", { '\t', 258 }, 2 },            /* a tab does not join the word */
        { "", { 0 }, 0 },
    };
    uint32_t out[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !bad; i++) {
        size_t k = tok_encode(t, NULL, cases[i].in, strlen(cases[i].in), out);
        if (k != cases[i].n || memcmp(out, cases[i].ids, k * sizeof(uint32_t)) != 0)
            bad = why("encode('%s') gave %zu ids (first %u)", cases[i].in, k, k ? out[0] : 0);
    }
    if (!bad && (g_prog_calls < 1 || g_prog_done != 3 || g_prog_total != 3))
        bad = why("progress: %ld calls, last %ld/%ld", g_prog_calls, g_prog_done, g_prog_total);
    size_t l;
    const char* b = tok_token_bytes(t, 260, &l);
    if (!bad && (!b || l != 4 || memcmp(b, " abc", 4) != 0)) bad = why("token 260 is not ' abc'");
    b = tok_token_bytes(t, TOK_EOS, &l);
    if (!bad && (!b || l != 5 || memcmp(b, "<eos>", 5) != 0)) bad = why("token 256 is not '<eos>'");
    if (!bad && tok_token_bytes(t, 261, &l)) bad = why("token 261 should not exist");
    /* decode: specials and unknown ids drop out; only whole tokens fit */
    uint32_t ids[] = { 258, TOK_EOS, 260, TOK_PAD, 99999, 'x' };
    char buf[16];
    size_t d = tok_decode(t, ids, 6, buf, sizeof buf);
    if (!bad && (d != 7 || memcmp(buf, "ab abcx", 7) != 0)) bad = why("decode gave '%.*s'", (int)d, buf);
    d = tok_decode(t, ids, 6, buf, 4);
    if (!bad && (d != 2 || memcmp(buf, "ab", 2) != 0)) bad = why("decode with cap 4 gave %zu bytes", d);
    tok_free(t);
    return bad;
}

static int test_forbids_duplicate_strings(void) {
    /* every token's bytes are unique, even when two merge paths reach the same
     * string; check over the whole corpus-trained vocabulary */
    int V = tok_vocab_size(g_tok);
    for (int i = TOK_FIRST_MERGE; i < V; i++) {
        size_t li;
        const char* si = tok_token_bytes(g_tok, (uint32_t)i, &li);
        if (li > TOK_MAX_TOKEN_LEN) return why("token %d has %zu bytes", i, li);
        for (int j = TOK_FIRST_MERGE; j < i; j++) {
            size_t lj;
            const char* sj = tok_token_bytes(g_tok, (uint32_t)j, &lj);
            if (li == lj && memcmp(si, sj, li) == 0) return why("tokens %d and %d have the same bytes", j, i);
        }
    }
    /* a text that tempts a duplicate: "aaa" can be "aa"+"a" or "a"+"aa" */
    char err[ERR_LEN];
    const char* text = "aaa aaa aaa aaaa aaaaaaa aaaaa\n";
    Tokenizer* t = tok_train(text, strlen(text), 400, NULL, NULL, err);
    if (!t) return why("tok_train: %s", err);
    int bad = 0;
    for (int i = TOK_FIRST_MERGE; i < tok_vocab_size(t) && !bad; i++)
        for (int j = TOK_FIRST_MERGE; j < i && !bad; j++) {
            size_t li, lj;
            const char* si = tok_token_bytes(t, (uint32_t)i, &li);
            const char* sj = tok_token_bytes(t, (uint32_t)j, &lj);
            if (li == lj && memcmp(si, sj, li) == 0) bad = why("'aaa' text: tokens %d and %d equal", j, i);
        }
    if (!bad && check_roundtrip(t, NULL, text, strlen(text), "aaa text")) bad = 1;
    tok_free(t);
    return bad;
}

static int test_serialize_parse_load(void) {
    size_t n;
    char* s = tok_serialize(g_tok, &n);
    char err[ERR_LEN];
    Tokenizer* t = tok_parse(s, n, "mem.model", err);
    if (!t) { free(s); return why("parse of own output failed: %s", err); }
    size_t n2;
    char* s2 = tok_serialize(t, &n2);
    int bad = n2 != n || memcmp(s, s2, n) != 0 ? why("serialize(parse(x)) != x") : 0;
    free(s2);
    /* the parsed tokenizer encodes the corpus exactly like the trained one */
    uint32_t* a = malloc_check(sizeof(uint32_t) * g_corpus_len);
    uint32_t* b = malloc_check(sizeof(uint32_t) * g_corpus_len);
    size_t ka = tok_encode(g_tok, NULL, g_corpus, g_corpus_len, a);
    size_t kb = tok_encode(t, NULL, g_corpus, g_corpus_len, b);
    if (!bad && (ka != kb || memcmp(a, b, ka * sizeof(uint32_t)))) bad = why("parsed tokenizer encodes differently");
    if (!bad && ka * 3 > g_corpus_len) bad = why("poor compression: %zu bytes -> %zu ids", g_corpus_len, ka);
    free(a); free(b); tok_free(t);
    /* tok_load from a file */
    const char* path = "/tmp/test_tokenizer.model";
    FILE* f = fopen(path, "wb");
    if (!f) { free(s); return why("cannot write %s", path); }
    fwrite(s, 1, n, f);
    fclose(f);
    t = tok_load(path, err);
    if (!bad && (!t || tok_vocab_size(t) != tok_vocab_size(g_tok))) bad = why("tok_load: %s", t ? "wrong vocab" : err);
    tok_free(t);
    remove(path);
    t = tok_load("/nonexistent/dir/x.model", err);
    if (!bad && (t || !strstr(err, "/nonexistent/dir/x.model"))) bad = why("missing file: '%s'", err);
    free(s);
    return bad;
}

/* Each bad file must be refused with an error naming the path and the line. */
static int test_parse_rejects(void) {
    struct { const char* name; const char* text; const char* want; } cases[] = {
        { "empty file", "", "bad.model: empty file" },
        { "bad magic", "sentencepiece\n", "bad.model: line 1: expected 'ddbpe '" },
        { "bad version", "ddbpe 2\nvocab_size 259\nmerges 1\n97 98\n", "bad.model: line 1: unsupported ddbpe version 2" },
        { "missing vocab_size", "ddbpe 1\nmerges 1\n97 98\n", "bad.model: line 2: expected 'vocab_size '" },
        { "non-numeric count", "ddbpe 1\nvocab_size many\nmerges 1\n97 98\n", "bad.model: line 2: vocab_size: expected a number" },
        { "vocab too small", "ddbpe 1\nvocab_size 258\nmerges 0\n", "bad.model: line 2: vocab too small" },
        { "count mismatch", "ddbpe 1\nvocab_size 300\nmerges 1\n97 98\n", "bad.model: line 3: vocab_size 300 does not match" },
        { "truncated merges", "ddbpe 1\nvocab_size 263\nmerges 5\n97 98\n99 100\n101 102\n103 104\n",
          "bad.model: line 8: file ends after 4 of 5 merges" },
        { "truncated a lot", "ddbpe 1\nvocab_size 1258\nmerges 1000\n97 98\n", "bad.model: line 4: file ends before the 1000 merges" },
        { "unknown id", "ddbpe 1\nvocab_size 260\nmerges 2\n97 98\n258 9000\n", "bad.model: line 5: merge refers to unknown token id 9000" },
        { "self reference", "ddbpe 1\nvocab_size 259\nmerges 1\n258 97\n", "bad.model: line 4: merge refers to unknown token id 258" },
        { "special id", "ddbpe 1\nvocab_size 259\nmerges 1\n256 97\n", "bad.model: line 4: merge refers to special token id 256" },
        { "duplicate merge", "ddbpe 1\nvocab_size 261\nmerges 3\n97 98\n99 100\n97 98\n", "bad.model: line 6: duplicate merge 97 98 (first on line 4)" },
        { "duplicate string", "ddbpe 1\nvocab_size 262\nmerges 4\n97 98\n258 99\n98 99\n97 260\n",
          "bad.model: line 7: merge 97 260 makes the same bytes as token id 259" },
        { "special string", "ddbpe 1\nvocab_size 262\nmerges 4\n60 101\n111 115\n259 62\n258 260\n",
          "bad.model: line 7: merge 258 260 makes the same bytes as token id 256" },
        { "non-numeric merge", "ddbpe 1\nvocab_size 259\nmerges 1\n97 b\n", "bad.model: line 4: merge right id: expected a number" },
        { "negative id", "ddbpe 1\nvocab_size 259\nmerges 1\n-1 98\n", "bad.model: line 4: merge left id: expected a number" },
        { "leading zero", "ddbpe 1\nvocab_size 259\nmerges 1\n097 98\n", "bad.model: line 4: merge left id: leading zero" },
        { "huge number", "ddbpe 1\nvocab_size 259\nmerges 1\n99999999999999 98\n", "bad.model: line 4: merge left id: number too long" },
        { "two spaces", "ddbpe 1\nvocab_size 259\nmerges 1\n97  98\n", "bad.model: line 4: merge right id: expected a number" },
        { "third field", "ddbpe 1\nvocab_size 259\nmerges 1\n97 98 99\n", "bad.model: line 4: merge: unexpected byte 0x20" },
        { "crlf", "ddbpe 1\r\nvocab_size 259\r\nmerges 1\r\n97 98\r\n", "bad.model: line 1: header: unexpected byte 0x0d" },
        { "no final newline", "ddbpe 1\nvocab_size 259\nmerges 1\n97 98", "bad.model: line 4: merge: unexpected end of file" },
        { "trailing garbage", "ddbpe 1\nvocab_size 259\nmerges 1\n97 98\nhello\n", "bad.model: line 5: unexpected data after the last merge" },
        { "trailing blank line", "ddbpe 1\nvocab_size 259\nmerges 1\n97 98\n\n", "bad.model: line 5: unexpected data after the last merge" },
        { "vocab too large", "ddbpe 1\nvocab_size 99999999\nmerges 1\n97 98\n", "bad.model: line 2: vocab_size: 99999999 is out of range" },
    };
    char err[ERR_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = 0;
        Tokenizer* t = tok_parse(cases[i].text, strlen(cases[i].text), "bad.model", err);
        if (t) { tok_free(t); return why("%s: accepted", cases[i].name); }
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            return why("%s: error '%s', want it to start with '%s'", cases[i].name, err, cases[i].want);
    }
    /* a valid minimal file is accepted */
    const char* ok = "ddbpe 1\nvocab_size 259\nmerges 1\n97 98\n";
    Tokenizer* t = tok_parse(ok, strlen(ok), "ok.model", err);
    if (!t) return why("minimal valid file refused: %s", err);
    tok_free(t);
    /* every strict prefix of a valid model is refused (never crashes) */
    size_t n;
    char* s = tok_serialize(g_tok, &n);
    for (size_t k = 0; k < n; k += 1 + k / 64) {
        t = tok_parse(s, k, "prefix.model", err);
        if (t) { tok_free(t); free(s); return why("prefix of %zu bytes accepted", k); }
    }
    free(s);
    return 0;
}

static int test_hf_export(void) {
    char* cfg = NULL;
    char* js = tok_export_hf_json(g_tok, 256, &cfg);
    json_error_t je;
    json_t* root = json_loads(js, 0, &je);
    json_t* c = json_loads(cfg, 0, &je);
    int bad = 0;
    if (!root || !c) { bad = why("export is not valid JSON: %s", je.text); goto done; }
    json_t* model = json_object_get(root, "model");
    json_t* vocab = json_object_get(model, "vocab");
    json_t* merges = json_object_get(model, "merges");
    int V = tok_vocab_size(g_tok);
    if (strcmp(json_string_value(json_object_get(model, "type")), "BPE") != 0) { bad = why("model.type"); goto done; }
    if ((int)json_object_size(vocab) != V) { bad = why("vocab has %zu entries, want %d", json_object_size(vocab), V); goto done; }
    if ((int)json_array_size(merges) != V - TOK_FIRST_MERGE) { bad = why("merges has %zu entries", json_array_size(merges)); goto done; }
    if (json_integer_value(json_object_get(vocab, "<eos>")) != TOK_EOS || json_integer_value(json_object_get(vocab, "<pad>")) != TOK_PAD) {
        bad = why("specials not at 256/257"); goto done;
    }
    /* GPT-2 byte mapping: space -> U+0120 'Ġ', 'a' -> 'a', 0x00 -> U+0100 */
    if (json_integer_value(json_object_get(vocab, "\xc4\xa0")) != ' ' || json_integer_value(json_object_get(vocab, "a")) != 'a' ||
        json_integer_value(json_object_get(vocab, "\xc4\x80")) != 0) { bad = why("byte mapping"); goto done; }
    /* every merge "A B" names two vocab strings whose concatenation is token 258 + r */
    const char* key;
    json_t* val;
    const char** names = calloc_check((size_t)V, sizeof(char*));
    json_object_foreach(vocab, key, val) {
        json_int_t id = json_integer_value(val);
        if (id >= 0 && id < V) names[id] = key;
    }
    for (int r = 0; r < V - TOK_FIRST_MERGE && !bad; r++) {
        const char* m = json_string_value(json_array_get(merges, (size_t)r));
        const char* sp = m ? strchr(m, ' ') : NULL;
        const char* target = names[TOK_FIRST_MERGE + r];
        if (!sp || strchr(sp + 1, ' ') || !target || strlen(target) != strlen(m) - 1 ||
            strncmp(target, m, (size_t)(sp - m)) != 0 || strcmp(target + (sp - m), sp + 1) != 0)
            bad = why("merge %d '%s' does not make token '%s'", r, m ? m : "?", target ? target : "?");
    }
    free(names);
    if (bad) goto done;
    json_t* pre = json_array_get(json_object_get(json_object_get(root, "pre_tokenizer"), "pretokenizers"), 0);
    const char* rx = json_string_value(json_object_get(json_object_get(pre, "pattern"), "Regex"));
    if (!rx || strcmp(rx, TOK_PRETOKENIZE_REGEX) != 0) { bad = why("Split regex missing"); goto done; }
    json_t* added = json_object_get(root, "added_tokens");
    if (json_array_size(added) != 2 || !json_is_true(json_object_get(json_array_get(added, 0), "special"))) { bad = why("added_tokens"); goto done; }
    if (strcmp(json_string_value(json_object_get(c, "eos_token")), "<eos>") != 0 ||
        strcmp(json_string_value(json_object_get(c, "pad_token")), "<pad>") != 0 ||
        json_integer_value(json_object_get(c, "model_max_length")) != 256 ||
        strcmp(json_string_value(json_object_get(c, "tokenizer_class")), "PreTrainedTokenizerFast") != 0) {
        bad = why("tokenizer_config fields"); goto done;
    }
done:
    json_decref(root); json_decref(c);
    free(js); free(cfg);
    return bad;
}

int main(void) {
    char err[ERR_LEN];
    g_corpus = make_corpus(60000, &g_corpus_len);
    g_tok = tok_train(g_corpus, g_corpus_len, 600, NULL, NULL, err);
    if (!g_tok || tok_vocab_size(g_tok) != 600) {
        printf("FAIL train_corpus: %s\n", g_tok ? "vocab not reached" : err);
        return 1;
    }
    printf("PASS train_corpus\n");
    g_passed++;
    run("pretokenize_cuts", test_pretokenize_cuts);
    run("roundtrip_tricky", test_roundtrip_tricky);
    run("encode_matches_reference", test_encode_matches_reference);
    run("cache_overflow", test_cache_overflow);
    run("trainer_matches_naive", test_trainer_matches_naive);
    run("determinism", test_determinism);
    run("vocab_errors", test_vocab_errors);
    run("hand_checked", test_hand_checked);
    run("unique_token_strings", test_forbids_duplicate_strings);
    run("serialize_parse_load", test_serialize_parse_load);
    run("parse_rejects", test_parse_rejects);
    run("hf_export", test_hf_export);
    tok_free(g_tok);
    free(g_corpus);
    printf("test_tokenizer: %d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
