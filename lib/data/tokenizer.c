/* tokenizer: see tokenizer.h and docs/tokenizer-format.md.
 *
 * Layout of this file:
 *   1. pre-tokenization (the ASCII regex, hand-compiled to a byte scanner)
 *   2. hashing and a byte-string hash map (word counts, token strings, cache)
 *   3. the Tokenizer object: merges, token bytes, pair -> rank lookup
 *   4. training (unique words + incremental pair counts + lazy max-heap)
 *   5. .model serialisation and strict parsing
 *   6. encoding (per-word BPE by rank, with a per-thread cache) and decoding
 *   7. Hugging Face export (jansson) */
#include "tokenizer.h"
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------------------- */
/* 1. Pre-tokenization.
 *
 * The regex (leftmost-first alternation, greedy, as Oniguruma and JS run it):
 *    " *[A-Za-z_][A-Za-z0-9_]*[.,;:!?(]? | *[^ WS A-Za-z_]+ | WS+(?!\S) | WS+"
 * with WS = [ \t\n\r\f\v]. So a word is the spaces before it, an identifier
 * (letters, digits, underscores; not starting with a digit) and at most one
 * trailing mark (" house.", " self.", "        return", " print("); digits
 * and all other symbols form their own runs, with the spaces before them
 * (" 66,", " (42", " 0.05", "    #"). Whitespace that is not followed by a
 * word or a symbol run (a tab, the end of the line) stands alone.
 * Why: keeping "house." and "66," whole (GPT-2 splits letters | digits |
 * other) moved the synthetic corpus from 3.75 to 4.65 bytes/token at 8k (spm:
 * 4.34). Giving a word all the spaces before it (so BPE can learn indentation
 * together with the keyword after it) and keeping identifiers like
 * "max_len2" in one pre-token moved the real-text mix of `make bench` (licence
 * texts and Python sources) from 3.94 to 4.30 at 8k (spm: 4.20); the synthetic
 * corpus has no space runs, underscores, letter-digit or letter-"(" contacts,
 * so its tokenization is the same as before.
 * Every class is ASCII-defined and the only bounded quantifier (the mark's ?)
 * applies to an ASCII set; non-ASCII code points fall in "other", whose runs
 * are unbounded, so scanning UTF-8 bytes gives the same boundaries as HF
 * scanning code points. */

const char TOK_PRETOKENIZE_REGEX[] =
    " *[A-Za-z_][A-Za-z0-9_]*[.,;:!?(]?| *[^ \\t\\n\\r\\f\\vA-Za-z_]+"
    "|[ \\t\\n\\r\\f\\v]+(?![^ \\t\\n\\r\\f\\v])|[ \\t\\n\\r\\f\\v]+";

/* Byte classes: a word starts with C_WORD; everything not listed (digits,
 * symbols, bytes >= 0x80) is "other". Range designators are a GNU C extension
 * that gcc and clang accept. */
enum { C_OTHER = 0, C_WORD = 1, C_WS = 2 };
static const uint8_t g_cls[256] = {
    [' '] = C_WS, ['\t'] = C_WS, ['\n'] = C_WS, ['\r'] = C_WS, ['\f'] = C_WS, ['\v'] = C_WS,
    ['a' ... 'z'] = C_WORD, ['A' ... 'Z'] = C_WORD, ['_'] = C_WORD,
};
/* What a word continues with: its start characters and digits. */
static const uint8_t g_word[256] = { ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['_'] = 1, ['0' ... '9'] = 1 };
/* The marks a word may end with. */
static const uint8_t g_mark[256] = {
    ['.'] = 1, [','] = 1, [';'] = 1, [':'] = 1, ['!'] = 1, ['?'] = 1, ['('] = 1,
};

/* End of the pre-token that starts at i (i < n). */
static inline size_t pretok_end(const uint8_t* s, size_t n, size_t i) {
    size_t j = i;
    /* " *X": spaces join the word or symbol run that follows them */
    while (j < n && s[j] == ' ') j++;
    if (j < n && g_cls[s[j]] != C_WS) {
        if (g_cls[s[j]] == C_WORD) {
            j++;
            while (j < n && g_word[s[j]]) j++;
            if (j < n && g_mark[s[j]]) j++;
        } else {
            j++;
            while (j < n && g_cls[s[j]] == C_OTHER) j++;
        }
        return j;
    }
    j = i + 1;
    while (j < n && g_cls[s[j]] == C_WS) j++;
    /* WS+(?!\S): a run followed by a non-space gives its last char to the next
     * token (a space there starts it), unless the run is one char long (WS+) */
    if (j == n || j - i == 1) return j;
    return j - 1;
}

size_t tok_pretoken_end(const char* s, size_t len, size_t i) {
    return pretok_end((const uint8_t*)s, len, i);
}

/* ------------------------------------------------------------------------- */
/* 2. Hashing and a byte-string -> u64 map with keys in an arena. */

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}
/* Only ever used for in-memory tables (never written out), so its value may
 * depend on endianness without affecting any output. Never returns 0. */
static inline uint64_t hash_bytes(const uint8_t* p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL * (n + 1);
    while (n >= 8) {
        uint64_t v; memcpy(&v, p, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdULL;
        h ^= h >> 31;
        p += 8; n -= 8;
    }
    if (n) {
        uint64_t v = 0; memcpy(&v, p, n);
        h = (h ^ v) * 0xc4ceb9fe1a85ec53ULL;
    }
    h = mix64(h);
    return h ? h : 1;
}
static inline uint64_t hash_pair(uint32_t a, uint32_t b) { return mix64(((uint64_t)a << 32) | b); }

typedef struct {
    uint64_t hash;      /* 0 = empty slot */
    uint64_t off;       /* key offset in arena */
    uint32_t len;
    uint32_t unused;        /* keeps entries 32 bytes */
    uint64_t val;
} SMEntry;
typedef struct {
    SMEntry* e;         /* (cap) */
    size_t cap, n;
    uint8_t* arena;
    size_t alen, acap;
} StrMap;

/* Memory for the big tables (word and pair maps, pairs, heap, symbols).
 * Page faults are most of the cost of fresh memory on a VM, so blocks of
 * 2 MB and more ask for transparent huge pages (one fault per 2 MB instead of
 * per 4 KB: training on the real-text mix of `make bench` went from 0.82 to
 * 0.65 CPU seconds); where the kernel says no, they are ordinary pages. */
enum { HUGE_PAGE = 2 << 20 };
static void* big_alloc(size_t n) {
#ifdef MADV_HUGEPAGE
    if (n >= HUGE_PAGE) {
        size_t r = (n + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        void* p = aligned_alloc(HUGE_PAGE, r);
        if (p) { madvise(p, r, MADV_HUGEPAGE); return p; }
    }
#endif
    return malloc_check(n);
}
/* realloc for big_alloc's blocks; the first keep bytes move. */
static void* big_grow(void* p, size_t keep, size_t n) {
    void* q = big_alloc(n);
    if (keep) memcpy(q, p, keep);
    free(p);
    return q;
}
/* Zeroed memory. Not calloc: its fresh pages read as the shared zero page
 * until first written, and on a probe-then-insert table every such write is
 * a copy-on-write fault with a TLB flush; that made up a third of training
 * time on a VM. memset touches each page once, up front. */
static void* zeroed(size_t n, size_t size) {
    void* p = big_alloc(n * size);
    memset(p, 0, n * size);
    return p;
}
static SMEntry* sm_entries(size_t n) { return zeroed(n, sizeof(SMEntry)); }
static void sm_init(StrMap* m, size_t cap) {
    size_t c = 64;
    while (c < cap) c <<= 1;
    m->e = sm_entries(c);
    m->cap = c; m->n = 0;
    m->acap = 1 << 12; m->alen = 0;
    m->arena = malloc_check(m->acap);
}
static void sm_free(StrMap* m) { free(m->e); free(m->arena); memset(m, 0, sizeof *m); }

static void sm_grow(StrMap* m) {
    size_t nc = m->cap * 2;
    SMEntry* ne = sm_entries(nc);
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->e[i].hash) continue;
        size_t k = m->e[i].hash & (nc - 1);
        while (ne[k].hash) k = (k + 1) & (nc - 1);
        ne[k] = m->e[i];
    }
    free(m->e);
    m->e = ne; m->cap = nc;
}
/* Find key; if absent and insert, add it with val 0. Returns NULL if absent
 * and !insert. The pointer is valid until the next insert. */
static SMEntry* sm_get(StrMap* m, const uint8_t* k, size_t n, uint64_t h, int insert) {
    size_t i = h & (m->cap - 1);
    for (;;) {
        SMEntry* e = &m->e[i];
        if (!e->hash) break;
        if (e->hash == h && e->len == n && memcmp(m->arena + e->off, k, n) == 0) return e;
        i = (i + 1) & (m->cap - 1);
    }
    if (!insert) return NULL;
    if ((m->n + 1) * 2 > m->cap) { sm_grow(m); return sm_get(m, k, n, h, 1); }
    if (m->alen + n > m->acap) {
        while (m->alen + n > m->acap) m->acap *= 2;
        m->arena = realloc_check(m->arena, m->acap);
    }
    memcpy(m->arena + m->alen, k, n);
    SMEntry* e = &m->e[i];
    e->hash = h; e->off = m->alen; e->len = (uint32_t)n; e->unused = 0; e->val = 0;
    m->alen += n;
    m->n++;
    return e;
}

/* ------------------------------------------------------------------------- */
/* 3. The Tokenizer. */

struct Tokenizer {
    int V;                  /* vocab size = 258 + n_merges */
    int n_merges;
    uint32_t* merges;       /* (n_merges, 2): left, right ids of merge r (makes id 258 + r) */
    uint32_t* tok_off;      /* (V + 1) offsets into tok_bytes */
    uint8_t* tok_bytes;     /* every token's bytes, concatenated */
    /* pair -> rank, open addressing; key (left << 32 | right), empty = UINT64_MAX */
    uint64_t* mkey;         /* (mcap) */
    uint32_t* mrank;        /* (mcap) */
    size_t mcap;
};

static const char* special_name(uint32_t id) { return id == TOK_EOS ? "<eos>" : "<pad>"; }

/* A tokenizer holding the byte ids and the specials, with room for
 * max_merges merges that the caller appends (and tok_bytes it grows). */
static Tokenizer* tok_new(int max_merges) {
    Tokenizer* t = calloc_check(1, sizeof *t);
    t->merges = malloc_check(sizeof(uint32_t) * 2 * (size_t)(max_merges > 0 ? max_merges : 1));
    t->tok_off = malloc_check(sizeof(uint32_t) * ((size_t)TOK_FIRST_MERGE + max_merges + 1));
    t->tok_bytes = malloc_check(256 + 10 + 8 * (size_t)max_merges);   /* grown by the caller */
    for (int b = 0; b < 256; b++) { t->tok_off[b] = b; t->tok_bytes[b] = (uint8_t)b; }
    memcpy(t->tok_bytes + 256, "<eos><pad>", 10);
    t->tok_off[256] = 256; t->tok_off[257] = 261; t->tok_off[258] = 266;
    t->V = TOK_FIRST_MERGE;
    return t;
}

static void build_merge_map(Tokenizer* t) {
    size_t cap = 16;
    while (cap < (size_t)t->n_merges * 2 + 1) cap <<= 1;
    t->mcap = cap;
    t->mkey = malloc_check(cap * sizeof(uint64_t));
    t->mrank = malloc_check(cap * sizeof(uint32_t));
    memset(t->mkey, 0xff, cap * sizeof(uint64_t));
    for (int r = 0; r < t->n_merges; r++) {
        uint32_t a = t->merges[2 * r], b = t->merges[2 * r + 1];
        uint64_t key = ((uint64_t)a << 32) | b;
        size_t i = hash_pair(a, b) & (cap - 1);
        while (t->mkey[i] != UINT64_MAX && t->mkey[i] != key) i = (i + 1) & (cap - 1);
        t->mkey[i] = key; t->mrank[i] = (uint32_t)r;
    }
}

/* Rank of merging ids (a, b), or UINT32_MAX if they do not merge. */
static inline uint32_t merge_rank(const Tokenizer* t, uint32_t a, uint32_t b) {
    uint64_t key = ((uint64_t)a << 32) | b;
    size_t m = t->mcap - 1, i = hash_pair(a, b) & m;
    for (;;) {
        uint64_t k = t->mkey[i];
        if (k == key) return t->mrank[i];
        if (k == UINT64_MAX) return UINT32_MAX;
        i = (i + 1) & m;
    }
}

void tok_free(Tokenizer* t) {
    if (!t) return;
    free(t->merges); free(t->tok_off); free(t->tok_bytes);
    free(t->mkey); free(t->mrank);
    free(t);
}

int tok_vocab_size(const Tokenizer* t) { return t->V; }

const char* tok_token_bytes(const Tokenizer* t, uint32_t id, size_t* len) {
    if (id >= (uint32_t)t->V) { if (len) *len = 0; return NULL; }
    if (len) *len = t->tok_off[id + 1] - t->tok_off[id];
    return (const char*)t->tok_bytes + t->tok_off[id];
}

/* ------------------------------------------------------------------------- */
/* 4. Training.
 *
 * Classic BPE over unique words: the text is pre-tokenized once and each
 * distinct pre-token ("word") kept with its count as an array of symbol ids.
 * Pair counts live in a hash map; each pair keeps the list of words it occurs
 * in, so a merge rewrites only those words and adjusts the counts of the
 * neighbouring pairs. The best pair comes from a max-heap with lazy
 * invalidation: every count change pushes a fresh entry, and a popped entry
 * whose count differs from the pair's current count is stale and dropped.
 * Order: higher count first, then smaller (left, right) ids, so the result
 * never depends on hash or thread order.
 *
 * A merge is skipped (never made) when its byte string already exists as a
 * token (e.g. "a"+"bc" after "ab"+"c"), is "<eos>"/"<pad>", or is longer than
 * TOK_MAX_TOKEN_LEN: every id then has a unique string, which the HF vocab
 * (a string -> id map) needs to reproduce our ids. */

typedef struct {
    int64_t count;
    uint32_t left, right;
    int32_t* words;         /* (nw) indices of words that contain / contained the pair */
    uint32_t nw, cw;
    uint32_t epoch;         /* merge number that last touched it (dedups `touched`) */
    uint8_t skip;           /* never merge (duplicate string or too long) */
} Pair;

typedef struct { int64_t count; uint32_t left, right; uint32_t idx; } HeapEnt;

typedef struct {
    /* words */
    size_t nwords;
    uint32_t* sym;          /* all words' symbols, word w at sym[woff[w]], wlen[w] long */
    size_t* woff;
    uint32_t* wlen;
    int64_t* wcount;
    /* pairs */
    Pair* pairs; size_t npairs, cpairs;
    uint64_t* pkey; uint32_t* pidx; size_t pcap;     /* key -> pair index; empty key UINT64_MAX */
    /* heap */
    HeapEnt* heap; size_t nheap, cheap;
    /* pairs touched by the current merge */
    uint32_t* touched; size_t ntouched, ctouched;
    uint32_t epoch;
} Trainer;

static inline int heap_before(const HeapEnt* a, const HeapEnt* b) {
    if (a->count != b->count) return a->count > b->count;
    if (a->left != b->left) return a->left < b->left;
    return a->right < b->right;
}
static void heap_push(Trainer* T, HeapEnt e) {
    if (T->nheap == T->cheap) {
        T->cheap = T->cheap ? T->cheap * 2 : 1024;
        T->heap = big_grow(T->heap, T->nheap * sizeof(HeapEnt), T->cheap * sizeof(HeapEnt));
    }
    size_t i = T->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_before(&e, &T->heap[p])) break;
        T->heap[i] = T->heap[p];
        i = p;
    }
    T->heap[i] = e;
}
static HeapEnt heap_pop(Trainer* T) {
    HeapEnt top = T->heap[0];
    HeapEnt last = T->heap[--T->nheap];
    size_t i = 0, n = T->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_before(&T->heap[c + 1], &T->heap[c])) c++;
        if (!heap_before(&T->heap[c], &last)) break;
        T->heap[i] = T->heap[c];
        i = c;
    }
    if (n) T->heap[i] = last;
    return top;
}

static void pairmap_grow(Trainer* T) {
    size_t nc = T->pcap ? T->pcap * 2 : 1 << 16;
    uint64_t* nk = big_alloc(nc * sizeof(uint64_t));
    uint32_t* ni = big_alloc(nc * sizeof(uint32_t));
    memset(nk, 0xff, nc * sizeof(uint64_t));
    for (size_t i = 0; i < T->pcap; i++) {
        if (T->pkey[i] == UINT64_MAX) continue;
        size_t k = mix64(T->pkey[i]) & (nc - 1);
        while (nk[k] != UINT64_MAX) k = (k + 1) & (nc - 1);
        nk[k] = T->pkey[i]; ni[k] = T->pidx[i];
    }
    free(T->pkey); free(T->pidx);
    T->pkey = nk; T->pidx = ni; T->pcap = nc;
}

/* Index of pair (a, b), created with count 0 if absent. */
static uint32_t pair_get(Trainer* T, uint32_t a, uint32_t b) {
    if ((T->npairs + 1) * 2 > T->pcap) pairmap_grow(T);
    uint64_t key = ((uint64_t)a << 32) | b;
    size_t m = T->pcap - 1, i = mix64(key) & m;
    while (T->pkey[i] != UINT64_MAX) {
        if (T->pkey[i] == key) return T->pidx[i];
        i = (i + 1) & m;
    }
    if (T->npairs == T->cpairs) {
        T->cpairs = T->cpairs ? T->cpairs * 2 : 1 << 15;
        T->pairs = big_grow(T->pairs, T->npairs * sizeof(Pair), T->cpairs * sizeof(Pair));
    }
    uint32_t idx = (uint32_t)T->npairs++;
    Pair* p = &T->pairs[idx];
    memset(p, 0, sizeof *p);
    p->left = a; p->right = b;
    T->pkey[i] = key; T->pidx[i] = idx;
    return idx;
}

static inline void pair_touch(Trainer* T, uint32_t idx) {
    Pair* p = &T->pairs[idx];
    if (p->epoch == T->epoch) return;
    p->epoch = T->epoch;
    if (T->ntouched == T->ctouched) {
        T->ctouched = T->ctouched ? T->ctouched * 2 : 1024;
        T->touched = realloc_check(T->touched, T->ctouched * sizeof(uint32_t));
    }
    T->touched[T->ntouched++] = idx;
}

/* count(a, b) += d; when w >= 0 also note that word w contains the pair. */
static inline void pair_add(Trainer* T, uint32_t a, uint32_t b, int64_t d, int32_t w) {
    uint32_t idx = pair_get(T, a, b);
    Pair* p = &T->pairs[idx];
    p->count += d;
    if (w >= 0 && (p->nw == 0 || p->words[p->nw - 1] != w)) {
        if (p->nw == p->cw) {
            p->cw = p->cw ? p->cw * 2 : 4;
            p->words = realloc_check(p->words, p->cw * sizeof(int32_t));
        }
        p->words[p->nw++] = w;
    }
    pair_touch(T, idx);
}

/* Replace every (non-overlapping, left to right) a b in word w by id nid,
 * updating the counts of the pairs around each occurrence. The count of
 * (a, b) itself is zeroed by the caller. */
static void merge_word(Trainer* T, int32_t w, uint32_t a, uint32_t b, uint32_t nid) {
    uint32_t* s = T->sym + T->woff[w];
    uint32_t n = T->wlen[w];
    int64_t c = T->wcount[w];
    uint32_t i = 0, j = 0;
    while (i < n) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            if (j > 0) {
                uint32_t prev = s[j - 1];
                pair_add(T, prev, a, -c, -1);
                pair_add(T, prev, nid, c, w);
            }
            if (i + 2 < n) {
                uint32_t next = s[i + 2];
                pair_add(T, b, next, -c, -1);
                pair_add(T, nid, next, c, w);
            }
            s[j++] = nid;
            i += 2;
        } else {
            s[j++] = s[i++];
        }
    }
    T->wlen[w] = j;
}

/* Count the pre-tokens of text[0..n) (whole lines) into m. */
static void count_words(const uint8_t* s, size_t n, StrMap* m) {
    size_t i = 0;
    while (i < n) {
        const uint8_t* nl = memchr(s + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - s) : n;
        size_t p = i;
        while (p < e) {
            size_t q = pretok_end(s, e, p);
            SMEntry* en = sm_get(m, s + p, q - p, hash_bytes(s + p, q - p), 1);
            en->val++;
            p = q;
        }
        i = e + 1;
    }
}

static void trainer_free(Trainer* T) {
    free(T->sym); free(T->woff); free(T->wlen); free(T->wcount);
    for (size_t i = 0; i < T->npairs; i++) free(T->pairs[i].words);
    free(T->pairs); free(T->pkey); free(T->pidx); free(T->heap); free(T->touched);
}

Tokenizer* tok_train(const char* text, size_t len, int vocab_size, TokProgress cb, void* ctx,
                     char err[ERR_LEN]) {
    if (vocab_size < TOK_MIN_VOCAB) {
        snprintf(err, ERR_LEN, "vocab too small: vocab_size %d, need at least %d "
                 "(256 bytes + <eos> + <pad> + 1 merge)", vocab_size, TOK_MIN_VOCAB);
        return NULL;
    }
    if (vocab_size > TOK_MAX_VOCAB) {
        snprintf(err, ERR_LEN, "vocab too large: vocab_size %d, at most %d", vocab_size, TOK_MAX_VOCAB);
        return NULL;
    }
    const uint8_t* s = (const uint8_t*)text;

    /* --- unique words, counted in parallel over line-aligned chunks */
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
    if ((size_t)nt > len / (1 << 16) + 1) nt = (int)(len / (1 << 16) + 1);   /* >= 64 KB a thread */
#endif
    size_t* cut = malloc_check(sizeof(size_t) * (nt + 1));
    cut[0] = 0; cut[nt] = len;
    for (int k = 1; k < nt; k++) {
        size_t c = len / nt * k;
        if (c < cut[k - 1]) c = cut[k - 1];
        const uint8_t* nl = c < len ? memchr(s + c, '\n', len - c) : NULL;
        cut[k] = nl ? (size_t)(nl - s) + 1 : len;
    }
    StrMap* maps = malloc_check(sizeof(StrMap) * nt);
    #pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int k = 0; k < nt; k++) {
        sm_init(&maps[k], 1 << 16);
        count_words(s + cut[k], cut[k + 1] - cut[k], &maps[k]);
    }
    StrMap* wm = &maps[0];
    for (int k = 1; k < nt; k++) {
        for (size_t i = 0; i < maps[k].cap; i++) {
            SMEntry* e = &maps[k].e[i];
            if (!e->hash) continue;
            SMEntry* g = sm_get(wm, maps[k].arena + e->off, e->len, e->hash, 1);
            g->val += e->val;
        }
        sm_free(&maps[k]);
    }
    free(cut);
    if (wm->n == 0) {
        sm_free(wm); free(maps);
        snprintf(err, ERR_LEN, "no training text");
        return NULL;
    }

    /* --- words of 2+ bytes become symbol arrays (1-byte words hold no pairs) */
    Trainer T;
    memset(&T, 0, sizeof T);
    size_t total_sym = 0, nw = 0;
    for (size_t i = 0; i < wm->cap; i++)
        if (wm->e[i].hash && wm->e[i].len >= 2) { nw++; total_sym += wm->e[i].len; }
    T.nwords = nw;
    T.sym = big_alloc(sizeof(uint32_t) * (total_sym ? total_sym : 1));
    T.woff = malloc_check(sizeof(size_t) * (nw ? nw : 1));
    T.wlen = malloc_check(sizeof(uint32_t) * (nw ? nw : 1));
    T.wcount = malloc_check(sizeof(int64_t) * (nw ? nw : 1));
    size_t w = 0, off = 0;
    for (size_t i = 0; i < wm->cap; i++) {
        SMEntry* e = &wm->e[i];
        if (!e->hash || e->len < 2) continue;
        T.woff[w] = off; T.wlen[w] = e->len; T.wcount[w] = (int64_t)e->val;
        const uint8_t* k = wm->arena + e->off;
        for (uint32_t j = 0; j < e->len; j++) T.sym[off + j] = k[j];
        off += e->len;
        w++;
    }
    sm_free(wm); free(maps);

    /* --- initial pair counts and word lists */
    T.epoch = 1;
    for (size_t wi = 0; wi < nw; wi++) {
        const uint32_t* sy = T.sym + T.woff[wi];
        for (uint32_t j = 0; j + 1 < T.wlen[wi]; j++) pair_add(&T, sy[j], sy[j + 1], T.wcount[wi], (int32_t)wi);
    }
    T.ntouched = 0;
    for (size_t i = 0; i < T.npairs; i++) {
        Pair* p = &T.pairs[i];
        heap_push(&T, (HeapEnt){ p->count, p->left, p->right, (uint32_t)i });
    }

    /* --- token strings, to refuse merges that would duplicate one. Each merge
     * removes at least one symbol from the words, so a small text cannot make
     * more than total_sym merges: size for that, not for a huge vocab_size. */
    int target = vocab_size - TOK_FIRST_MERGE;
    int room = (size_t)target < total_sym ? target : (int)total_sym;
    Tokenizer* t = tok_new(room);
    size_t tb_cap = 256 + 10 + 8 * (size_t)room, tb_len = 266;
    StrMap strs;
    sm_init(&strs, (size_t)room * 2 + 16);
    sm_get(&strs, (const uint8_t*)"<eos>", 5, hash_bytes((const uint8_t*)"<eos>", 5), 1);
    sm_get(&strs, (const uint8_t*)"<pad>", 5, hash_bytes((const uint8_t*)"<pad>", 5), 1);

    double last_cb = now_mono();
    if (cb) cb(ctx, 0, target);
    int m = 0;
    while (m < target && T.nheap > 0) {
        HeapEnt top = heap_pop(&T);
        Pair* p = &T.pairs[top.idx];
        if (p->count != top.count || p->skip || p->count <= 0) continue;   /* stale */
        uint32_t a = p->left, b = p->right;
        uint32_t la = t->tok_off[a + 1] - t->tok_off[a], lb = t->tok_off[b + 1] - t->tok_off[b];
        if (la + lb > TOK_MAX_TOKEN_LEN) { p->skip = 1; continue; }
        if (tb_len + la + lb > UINT32_MAX) break;      /* token offsets are 32-bit */
        if (tb_len + la + lb > tb_cap) {
            while (tb_len + la + lb > tb_cap) tb_cap *= 2;
            t->tok_bytes = realloc_check(t->tok_bytes, tb_cap);
        }
        uint8_t* nb = t->tok_bytes + tb_len;
        memcpy(nb, t->tok_bytes + t->tok_off[a], la);
        memcpy(nb + la, t->tok_bytes + t->tok_off[b], lb);
        uint64_t h = hash_bytes(nb, la + lb);
        if (sm_get(&strs, nb, la + lb, h, 0)) { p->skip = 1; continue; }
        sm_get(&strs, nb, la + lb, h, 1);

        uint32_t nid = (uint32_t)(TOK_FIRST_MERGE + m);
        tb_len += la + lb;
        t->tok_off[nid + 1] = (uint32_t)tb_len;
        t->merges[2 * m] = a; t->merges[2 * m + 1] = b;
        m++;

        /* rewrite the words that contain (a, b); the list may hold words that
         * no longer do, for which merge_word is a no-op */
        T.epoch++;
        T.ntouched = 0;
        uint32_t pi = top.idx;
        int32_t* wl = p->words;
        uint32_t nwl = p->nw;
        p->words = NULL; p->nw = p->cw = 0;    /* merge_word never adds to (a, b) */
        for (uint32_t k = 0; k < nwl; k++) merge_word(&T, wl[k], a, b, nid);
        free(wl);
        T.pairs[pi].count = 0;
        for (size_t k = 0; k < T.ntouched; k++) {
            Pair* q = &T.pairs[T.touched[k]];
            if (q->count > 0 && !q->skip) heap_push(&T, (HeapEnt){ q->count, q->left, q->right, T.touched[k] });
        }

        if (cb && (m & 15) == 0) {
            double now = now_mono();
            if (now - last_cb >= 0.01) { cb(ctx, m, target); last_cb = now; }
        }
    }
    if (cb) cb(ctx, m, target);
    sm_free(&strs);
    trainer_free(&T);
    if (m == 0) {
        tok_free(t);
        snprintf(err, ERR_LEN, "no training text to merge: every pre-token is a single byte");
        return NULL;
    }

    t->n_merges = m;
    t->V = TOK_FIRST_MERGE + m;
    build_merge_map(t);
    return t;
}

/* ------------------------------------------------------------------------- */
/* 5. The .model file:
 *     ddbpe 1\n
 *     vocab_size V\n
 *     merges M\n          (V = 258 + M)
 *     L R\n  x M          (merge r makes id 258 + r from ids L and R)
 * Decimal numbers without sign or leading zeros, single spaces, '\n' line ends. */

char* tok_serialize(const Tokenizer* t, size_t* len) {
    size_t cap = 64 + (size_t)t->n_merges * 24, n = 0;
    char* buf = malloc_check(cap);
    n += snprintf(buf + n, cap - n, "ddbpe 1\nvocab_size %d\nmerges %d\n", t->V, t->n_merges);
    for (int r = 0; r < t->n_merges; r++)
        n += snprintf(buf + n, cap - n, "%u %u\n", t->merges[2 * r], t->merges[2 * r + 1]);
    if (len) *len = n;
    return buf;
}

typedef struct {
    const char* buf;
    size_t len, pos;
    long line;
    const char* path;
    char* err;
} Parser;

__attribute__((format(printf, 2, 3)))
static void perr(Parser* P, const char* fmt, ...) {
    int k = snprintf(P->err, ERR_LEN, "%s: line %ld: ", P->path, P->line);
    if (k < 0 || k >= ERR_LEN) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->err + k, ERR_LEN - k, fmt, ap);
    va_end(ap);
}

/* The decimal number at the cursor, in [0, max] (the caller checks what
 * follows it); -1 and err on failure. */
static long parse_num(Parser* P, long max, const char* what) {
    size_t i = P->pos, n = 0;
    int64_t v = 0;      /* 10 digits fit, also where long is 32-bit */
    while (i + n < P->len && P->buf[i + n] >= '0' && P->buf[i + n] <= '9') {
        if (n >= 10) { perr(P, "%s: number too long", what); return -1; }
        v = v * 10 + (P->buf[i + n] - '0');
        n++;
    }
    if (n == 0) {
        if (i >= P->len) perr(P, "%s: unexpected end of file", what);
        else perr(P, "%s: expected a number at byte offset %zu", what, i);
        return -1;
    }
    if (n > 1 && P->buf[i] == '0') { perr(P, "%s: leading zero in number", what); return -1; }
    if (v > max) { perr(P, "%s: %lld is out of range (max %ld)", what, (long long)v, max); return -1; }
    P->pos = i + n;
    return (long)v;
}
static int expect_char(Parser* P, char c, const char* what) {
    if (P->pos >= P->len) {
        perr(P, "%s: unexpected end of file (missing %s)", what, c == '\n' ? "newline" : "field");
        return -1;
    }
    if (P->buf[P->pos] != c) {
        unsigned char g = (unsigned char)P->buf[P->pos];
        if (c == '\n') perr(P, "%s: unexpected byte 0x%02x at byte offset %zu (expected end of line)", what, g, P->pos);
        else perr(P, "%s: unexpected byte 0x%02x at byte offset %zu (expected a single space)", what, g, P->pos);
        return -1;
    }
    P->pos++;
    return 0;
}
static int expect_word(Parser* P, const char* w, const char* what) {
    size_t n = strlen(w);
    if (P->len - P->pos < n || memcmp(P->buf + P->pos, w, n) != 0) {
        perr(P, "expected '%s'%s", w, what);
        return -1;
    }
    P->pos += n;
    return 0;
}

Tokenizer* tok_parse(const char* buf, size_t len, const char* path, char err[ERR_LEN]) {
    Parser P = { buf, len, 0, 1, path ? path : "<model>", err };
    if (len == 0) { snprintf(err, ERR_LEN, "%s: empty file (not a ddbpe tokenizer model)", P.path); return NULL; }
    if (expect_word(&P, "ddbpe ", " (not a ddbpe tokenizer model)") < 0) return NULL;
    long ver = parse_num(&P, 1000000, "version");
    if (ver < 0) return NULL;
    if (ver != 1) { perr(&P, "unsupported ddbpe version %ld (this build reads version 1)", ver); return NULL; }
    if (expect_char(&P, '\n', "header") < 0) return NULL;
    P.line++;
    if (expect_word(&P, "vocab_size ", "") < 0) return NULL;
    long V = parse_num(&P, TOK_MAX_VOCAB, "vocab_size");
    if (V < 0) return NULL;
    if (V < TOK_MIN_VOCAB) { perr(&P, "vocab too small: vocab_size %ld, need at least %d", V, TOK_MIN_VOCAB); return NULL; }
    if (expect_char(&P, '\n', "vocab_size") < 0) return NULL;
    P.line++;
    if (expect_word(&P, "merges ", "") < 0) return NULL;
    long M = parse_num(&P, TOK_MAX_VOCAB, "merges");
    if (M < 0) return NULL;
    if (V != TOK_FIRST_MERGE + M) {
        perr(&P, "vocab_size %ld does not match 258 + merges %ld", V, M); return NULL;
    }
    if (expect_char(&P, '\n', "merges") < 0) return NULL;
    /* each merge line is at least 4 bytes ("a b\n"): refuse counts the file
     * cannot hold before allocating for them */
    if ((size_t)M > (len - P.pos) / 4) {
        P.line++;
        perr(&P, "file ends before the %ld merges announced (truncated?)", M);
        return NULL;
    }

    Tokenizer* t = tok_new((int)M);
    size_t tb_cap = 256 + 10 + 8 * (size_t)M, tb_len = 266;
    StrMap strs;
    sm_init(&strs, (size_t)M * 2 + 16);
    sm_get(&strs, (const uint8_t*)"<eos>", 5, hash_bytes((const uint8_t*)"<eos>", 5), 1)->val = TOK_EOS;
    sm_get(&strs, (const uint8_t*)"<pad>", 5, hash_bytes((const uint8_t*)"<pad>", 5), 1)->val = TOK_PAD;
    /* pair -> merge line, for duplicate detection (uses the merge map's storage) */
    t->n_merges = 0;
    size_t pcap = 16;
    while (pcap < (size_t)M * 2 + 1) pcap <<= 1;
    uint64_t* pk = malloc_check(pcap * sizeof(uint64_t));
    uint32_t* pl = malloc_check(pcap * sizeof(uint32_t));
    memset(pk, 0xff, pcap * sizeof(uint64_t));

    for (long r = 0; r < M; r++) {
        P.line++;
        long nid = TOK_FIRST_MERGE + r;
        if (P.pos >= len) { perr(&P, "file ends after %ld of %ld merges (truncated)", r, M); goto fail; }
        long a = parse_num(&P, TOK_MAX_VOCAB, "merge left id");
        if (a < 0) goto fail;
        if (expect_char(&P, ' ', "merge") < 0) goto fail;
        long b = parse_num(&P, TOK_MAX_VOCAB, "merge right id");
        if (b < 0) goto fail;
        if (expect_char(&P, '\n', "merge") < 0) goto fail;
        if (a >= nid || b >= nid) {
            perr(&P, "merge refers to unknown token id %ld (only ids < %ld exist here)", a >= nid ? a : b, nid);
            goto fail;
        }
        if (a == TOK_EOS || a == TOK_PAD || b == TOK_EOS || b == TOK_PAD) {
            perr(&P, "merge refers to special token id %ld", (a == TOK_EOS || a == TOK_PAD) ? a : b);
            goto fail;
        }
        uint64_t key = ((uint64_t)a << 32) | (uint64_t)b;
        size_t i = hash_pair((uint32_t)a, (uint32_t)b) & (pcap - 1);
        while (pk[i] != UINT64_MAX && pk[i] != key) i = (i + 1) & (pcap - 1);
        if (pk[i] == key) {
            perr(&P, "duplicate merge %ld %ld (first on line %u)", a, b, pl[i]);
            goto fail;
        }
        pk[i] = key; pl[i] = (uint32_t)P.line;
        uint32_t la = t->tok_off[a + 1] - t->tok_off[a], lb = t->tok_off[b + 1] - t->tok_off[b];
        if (la + lb > TOK_MAX_TOKEN_LEN) {
            perr(&P, "merge %ld %ld makes a token of %u bytes (max %d)", a, b, la + lb, TOK_MAX_TOKEN_LEN);
            goto fail;
        }
        if (tb_len + la + lb > UINT32_MAX) { perr(&P, "token bytes exceed 4 GiB"); goto fail; }
        if (tb_len + la + lb > tb_cap) {
            while (tb_len + la + lb > tb_cap) tb_cap *= 2;
            t->tok_bytes = realloc_check(t->tok_bytes, tb_cap);
        }
        uint8_t* nb = t->tok_bytes + tb_len;
        memcpy(nb, t->tok_bytes + t->tok_off[a], la);
        memcpy(nb + la, t->tok_bytes + t->tok_off[b], lb);
        SMEntry* e = sm_get(&strs, nb, la + lb, hash_bytes(nb, la + lb), 1);
        if (e->val) {
            perr(&P, "merge %ld %ld makes the same bytes as token id %llu", a, b, (unsigned long long)e->val);
            goto fail;
        }
        e->val = (uint64_t)nid;
        tb_len += la + lb;
        t->tok_off[nid + 1] = (uint32_t)tb_len;
        t->merges[2 * r] = (uint32_t)a; t->merges[2 * r + 1] = (uint32_t)b;
        t->n_merges = (int)r + 1;
    }
    if (P.pos != len) {
        P.line++;
        perr(&P, "unexpected data after the last merge (byte offset %zu)", P.pos);
        goto fail;
    }
    free(pk); free(pl); sm_free(&strs);
    t->V = (int)V;
    build_merge_map(t);
    return t;
fail:
    free(pk); free(pl); sm_free(&strs);
    tok_free(t);
    return NULL;
}

Tokenizer* tok_load(const char* path, char err[ERR_LEN]) {
    size_t n;
    char* buf = read_file(path, &n, err);
    if (!buf) return NULL;
    Tokenizer* t = tok_parse(buf, n, path, err);
    free(buf);
    return t;
}

/* ------------------------------------------------------------------------- */
/* 6. Encoding and decoding.
 *
 * Inside one pre-token: start from bytes and repeatedly merge the adjacent
 * pair of lowest rank, the leftmost one on ties (what HF's Rust and JS BPE
 * do). Short words use a flat scan; long ones (whitespace runs, junk) a heap
 * keyed (rank, position) over a linked list, so they stay O(n log n). */

enum { SHORT_WORD = 64 };

static size_t bpe_short(const Tokenizer* t, const uint8_t* s, size_t n, uint32_t* out) {
    uint32_t sym[SHORT_WORD], rk[SHORT_WORD];
    for (size_t i = 0; i < n; i++) sym[i] = s[i];
    for (size_t i = 0; i + 1 < n; i++) rk[i] = merge_rank(t, sym[i], sym[i + 1]);
    while (n > 1) {
        uint32_t best = UINT32_MAX;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < n; i++) if (rk[i] < best) { best = rk[i]; bi = i; }
        if (best == UINT32_MAX) break;
        sym[bi] = TOK_FIRST_MERGE + best;
        for (size_t i = bi + 1; i + 1 < n; i++) sym[i] = sym[i + 1];
        for (size_t i = bi + 1; i + 2 < n; i++) rk[i] = rk[i + 1];
        n--;
        if (bi > 0) rk[bi - 1] = merge_rank(t, sym[bi - 1], sym[bi]);
        if (bi + 1 < n) rk[bi] = merge_rank(t, sym[bi], sym[bi + 1]);
    }
    memcpy(out, sym, n * sizeof(uint32_t));
    return n;
}

typedef struct { uint32_t rank, pos; } BpeEnt;
static inline int bpe_less(BpeEnt a, BpeEnt b) { return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos); }

static size_t bpe_long(const Tokenizer* t, const uint8_t* s, size_t n, uint32_t* out) {
    /* symbols sit at their starting byte position; next/prev link live ones */
    uint32_t* sym = malloc_check(n * sizeof(uint32_t));
    uint32_t* nxt = malloc_check(n * sizeof(uint32_t));
    uint32_t* prv = malloc_check(n * sizeof(uint32_t));
    BpeEnt* h = malloc_check(n * 2 * sizeof(BpeEnt) + sizeof(BpeEnt));
    size_t nh = 0, ch = n * 2 + 1;
    const uint32_t NONE = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        sym[i] = s[i];
        nxt[i] = i + 1 < n ? (uint32_t)(i + 1) : NONE;
        prv[i] = i > 0 ? (uint32_t)(i - 1) : NONE;
    }
#define HPUSH(e_) do {                                                          \
        BpeEnt e__ = (e_);                                                      \
        if (nh == ch) { ch *= 2; h = realloc_check(h, ch * sizeof(BpeEnt)); }   \
        size_t i__ = nh++;                                                      \
        while (i__ > 0 && bpe_less(e__, h[(i__ - 1) / 2])) { h[i__] = h[(i__ - 1) / 2]; i__ = (i__ - 1) / 2; } \
        h[i__] = e__;                                                           \
    } while (0)
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t r = merge_rank(t, sym[i], sym[i + 1]);
        if (r != UINT32_MAX) HPUSH(((BpeEnt){ r, (uint32_t)i }));
    }
    while (nh > 0) {
        BpeEnt top = h[0], last = h[--nh];
        size_t i = 0;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= nh) break;
            if (c + 1 < nh && bpe_less(h[c + 1], h[c])) c++;
            if (!bpe_less(h[c], last)) break;
            h[i] = h[c]; i = c;
        }
        if (nh) h[i] = last;
        uint32_t p = top.pos, q = nxt[p];
        /* stale if p was absorbed (sym set to NONE), is last, or now heads another pair */
        if (sym[p] == NONE || q == NONE || merge_rank(t, sym[p], sym[q]) != top.rank) continue;
        sym[p] = TOK_FIRST_MERGE + top.rank;
        sym[q] = NONE;
        nxt[p] = nxt[q];
        if (nxt[q] != NONE) prv[nxt[q]] = p;
        if (prv[p] != NONE) {
            uint32_t r = merge_rank(t, sym[prv[p]], sym[p]);
            if (r != UINT32_MAX) HPUSH(((BpeEnt){ r, prv[p] }));
        }
        if (nxt[p] != NONE) {
            uint32_t r = merge_rank(t, sym[p], sym[nxt[p]]);
            if (r != UINT32_MAX) HPUSH(((BpeEnt){ r, p }));
        }
    }
#undef HPUSH
    size_t k = 0;
    for (uint32_t i = 0; i != NONE; i = nxt[i]) out[k++] = sym[i];
    free(sym); free(nxt); free(prv); free(h);
    return k;
}

/* The encode cache: open addressing over 64-byte entries (one cache line)
 * that hold the key and its ids inline, so a hit touches one line. Words
 * longer than CK bytes or of more than CI tokens are not cached (rare). */
enum { CK = 32, CI = 5, CACHE_MAX_ENTRIES = 1 << 17 };   /* at most 16 MB; then it starts over */
typedef struct {
    uint64_t hash;          /* 0 = empty */
    uint8_t len, nids;
    uint16_t unused;
    uint32_t ids[CI];
    uint64_t key[CK / 8];   /* zero-padded */
} CacheEnt;

struct TokCache {
    const Tokenizer* owner; /* ids are only valid for this tokenizer */
    CacheEnt* e;            /* (cap) */
    size_t cap, n;
};

TokCache* tok_cache_new(const Tokenizer* t) {
    TokCache* c = calloc_check(1, sizeof *c);
    c->owner = t;
    c->cap = 1 << 12;
    c->e = zeroed(c->cap, sizeof(CacheEnt));
    return c;
}
void tok_cache_free(TokCache* c) {
    if (!c) return;
    free(c->e); free(c);
}

static void cache_put(TokCache* c, uint64_t h, const uint64_t key[CK / 8], size_t n, const uint32_t* ids, size_t k) {
    if (c->n >= CACHE_MAX_ENTRIES) { memset(c->e, 0, c->cap * sizeof(CacheEnt)); c->n = 0; }
    if ((c->n + 1) * 2 > c->cap) {
        size_t nc = c->cap * 2;
        CacheEnt* ne = zeroed(nc, sizeof(CacheEnt));
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->e[i].hash) continue;
            size_t j = c->e[i].hash & (nc - 1);
            while (ne[j].hash) j = (j + 1) & (nc - 1);
            ne[j] = c->e[i];
        }
        free(c->e);
        c->e = ne; c->cap = nc;
    }
    size_t i = h & (c->cap - 1);
    while (c->e[i].hash) i = (i + 1) & (c->cap - 1);
    CacheEnt* e = &c->e[i];
    e->hash = h; e->len = (uint8_t)n; e->nids = (uint8_t)k;
    memcpy(e->ids, ids, k * sizeof(uint32_t));
    memcpy(e->key, key, CK);
    c->n++;
}

static inline size_t encode_word(const Tokenizer* t, TokCache* c, const uint8_t* s, size_t n, uint32_t* out) {
    if (n == 1) { out[0] = s[0]; return 1; }
    if (c && n <= CK && c->owner == t) {
        uint64_t key[CK / 8] = { 0 };
        memcpy(key, s, n);
        /* the padded key is the hash input: no byte loop */
        uint64_t h = mix64(key[0] * 0x9E3779B97F4A7C15ULL ^ key[1] * 0xC2B2AE3D27D4EB4FULL ^
                           key[2] * 0x165667B19E3779F9ULL ^ key[3] * 0xD6E8FEB86659FD93ULL ^ n);
        h = h ? h : 1;
        for (size_t i = h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
            const CacheEnt* e = &c->e[i];
            if (!e->hash) break;
            if (e->hash == h && e->len == n && e->key[0] == key[0] && e->key[1] == key[1] &&
                e->key[2] == key[2] && e->key[3] == key[3]) {
                memcpy(out, e->ids, e->nids * sizeof(uint32_t));
                return e->nids;
            }
        }
        size_t k = bpe_short(t, s, n, out);
        if (k <= CI) cache_put(c, h, key, n, out, k);
        return k;
    }
    return n <= SHORT_WORD ? bpe_short(t, s, n, out) : bpe_long(t, s, n, out);
}

size_t tok_encode(const Tokenizer* t, TokCache* c, const char* str, size_t len, uint32_t* out) {
    const uint8_t* s = (const uint8_t*)str;
    size_t i = 0, k = 0;
    while (i < len) {
        size_t e = pretok_end(s, len, i);
        k += encode_word(t, c, s + i, e - i, out + k);
        i = e;
    }
    return k;
}

size_t tok_decode(const Tokenizer* t, const uint32_t* ids, size_t n, char* out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ids[i];
        if (id >= (uint32_t)t->V || id == TOK_EOS || id == TOK_PAD) continue;
        size_t l = t->tok_off[id + 1] - t->tok_off[id];
        if (k + l > cap) break;
        memcpy(out + k, t->tok_bytes + t->tok_off[id], l);
        k += l;
    }
    return k;
}

/* ------------------------------------------------------------------------- */
/* 7. Hugging Face export.
 *
 * model: BPE over GPT-2's bytes_to_unicode alphabet (each byte one printable
 * code point), merges as "left right" strings (no mapped token contains a
 * space, and every tokenizers version reads this form). pre_tokenizer:
 * Split(our regex, Isolated) then ByteLevel without its own regex. */

static void byte_unicode_table(uint32_t cp[256]) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        cp[b] = keep ? (uint32_t)b : (uint32_t)(256 + n++);
    }
}

/* Token id as a byte-level string (UTF-8), into buf (>= 2 * TOK_MAX_TOKEN_LEN + 1). */
static size_t hf_token_string(const Tokenizer* t, const uint32_t cp[256], uint32_t id, char* buf) {
    size_t len, k = 0;
    const uint8_t* s = (const uint8_t*)tok_token_bytes(t, id, &len);
    if (id == TOK_EOS || id == TOK_PAD) { memcpy(buf, s, len); return len; }
    for (size_t i = 0; i < len; i++) {
        uint32_t c = cp[s[i]];
        if (c < 0x80) buf[k++] = (char)c;
        else { buf[k++] = (char)(0xC0 | (c >> 6)); buf[k++] = (char)(0x80 | (c & 0x3F)); }
    }
    return k;
}

static json_t* hf_added_token(uint32_t id) {
    json_t* o = json_object();
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "content", json_string(special_name(id)));
    json_object_set_new(o, "single_word", json_false());
    json_object_set_new(o, "lstrip", json_false());
    json_object_set_new(o, "rstrip", json_false());
    json_object_set_new(o, "normalized", json_false());
    json_object_set_new(o, "special", json_true());
    return o;
}

char* tok_export_hf_json(const Tokenizer* t, int model_max_length, char** config_json) {
    uint32_t cp[256];
    byte_unicode_table(cp);
    char a[2 * TOK_MAX_TOKEN_LEN + 8], b[2 * TOK_MAX_TOKEN_LEN + 8];

    json_t* root = json_object();
    json_object_set_new(root, "version", json_string("1.0"));
    json_object_set_new(root, "truncation", json_null());
    json_object_set_new(root, "padding", json_null());
    json_t* added = json_array();
    json_array_append_new(added, hf_added_token(TOK_EOS));
    json_array_append_new(added, hf_added_token(TOK_PAD));
    json_object_set_new(root, "added_tokens", added);
    json_object_set_new(root, "normalizer", json_null());

    json_t* split = json_object();
    json_object_set_new(split, "type", json_string("Split"));
    json_t* pat = json_object();
    json_object_set_new(pat, "Regex", json_string(TOK_PRETOKENIZE_REGEX));
    json_object_set_new(split, "pattern", pat);
    json_object_set_new(split, "behavior", json_string("Isolated"));
    json_object_set_new(split, "invert", json_false());
    json_t* bl = json_object();
    json_object_set_new(bl, "type", json_string("ByteLevel"));
    json_object_set_new(bl, "add_prefix_space", json_false());
    json_object_set_new(bl, "trim_offsets", json_true());
    json_object_set_new(bl, "use_regex", json_false());
    json_t* pres = json_array();
    json_array_append_new(pres, split);
    json_array_append_new(pres, bl);
    json_t* pre = json_object();
    json_object_set_new(pre, "type", json_string("Sequence"));
    json_object_set_new(pre, "pretokenizers", pres);
    json_object_set_new(root, "pre_tokenizer", pre);
    json_object_set_new(root, "post_processor", json_null());

    json_t* dec = json_object();
    json_object_set_new(dec, "type", json_string("ByteLevel"));
    json_object_set_new(dec, "add_prefix_space", json_false());
    json_object_set_new(dec, "trim_offsets", json_true());
    json_object_set_new(dec, "use_regex", json_false());
    json_object_set_new(root, "decoder", dec);

    json_t* model = json_object();
    json_object_set_new(model, "type", json_string("BPE"));
    json_object_set_new(model, "dropout", json_null());
    json_object_set_new(model, "unk_token", json_null());
    json_object_set_new(model, "continuing_subword_prefix", json_null());
    json_object_set_new(model, "end_of_word_suffix", json_null());
    json_object_set_new(model, "fuse_unk", json_false());
    json_object_set_new(model, "byte_fallback", json_false());
    json_object_set_new(model, "ignore_merges", json_false());
    json_t* vocab = json_object();
    for (uint32_t id = 0; id < (uint32_t)t->V; id++) {
        size_t n = hf_token_string(t, cp, id, a);
        json_object_setn_new_nocheck(vocab, a, n, json_integer(id));
    }
    json_object_set_new(model, "vocab", vocab);
    json_t* merges = json_array();
    for (int r = 0; r < t->n_merges; r++) {
        size_t na = hf_token_string(t, cp, t->merges[2 * r], a);
        size_t nb = hf_token_string(t, cp, t->merges[2 * r + 1], b);
        a[na] = ' ';
        memcpy(a + na + 1, b, nb);
        json_array_append_new(merges, json_stringn_nocheck(a, na + 1 + nb));
    }
    json_object_set_new(model, "merges", merges);
    json_object_set_new(root, "model", model);
    char* out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(root);

    if (config_json) {
        json_t* c = json_object();
        json_t* dec_map = json_object();
        char key[16];
        for (uint32_t id = TOK_EOS; id <= TOK_PAD; id++) {
            json_t* o = hf_added_token(id);
            json_object_del(o, "id");
            snprintf(key, sizeof key, "%u", id);
            json_object_set_new(dec_map, key, o);
        }
        json_object_set_new(c, "added_tokens_decoder", dec_map);
        json_object_set_new(c, "bos_token", json_null());
        json_object_set_new(c, "eos_token", json_string("<eos>"));
        json_object_set_new(c, "pad_token", json_string("<pad>"));
        json_object_set_new(c, "unk_token", json_null());
        json_object_set_new(c, "clean_up_tokenization_spaces", json_false());
        json_object_set_new(c, "model_max_length",
                            model_max_length > 0 ? json_integer(model_max_length) : json_real(1e30));
        json_object_set_new(c, "tokenizer_class", json_string("PreTrainedTokenizerFast"));
        *config_json = json_dumps(c, JSON_PRESERVE_ORDER | JSON_INDENT(2));
        json_decref(c);
    }
    return out;
}
