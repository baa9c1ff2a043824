/* tasks: discovery task families, verifiers, prompt formats and JSONL. See tasks.h.
 *
 * Layout: families and vocabulary, answer cleaning, one section per family
 * (generate, attempt, verify), prompts and scores, prompt parsing, splits, JSONL.
 * Like lib/data/corpus, generation uses integer rng draws only and never two draws in
 * the arguments of one call, so a seed gives the same tasks on every compiler. */
#include "tasks.h"
#include "atomic.h"
#include "json.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char* FAMILY[TASK_N_FAMILIES] = {"reach", "constrain", "order"};
static const char* ORDER_KEY[] = {"ascending", "descending", "alphabetical"};

/* Words of the corpus (lib/data/corpus.c's nouns, adjectives and verbs): the vocabulary
 * of constrain answers and order items, so the model has seen every one. */
static const char* VOCAB[] = {
    "fox", "foxes", "dog", "dogs", "cat", "cats", "horse", "horses", "bird", "birds", "wolf", "wolves",
    "mouse", "mice", "goose", "geese", "sheep", "bear", "bears", "owl", "owls", "goat", "goats",
    "rabbit", "rabbits", "crow", "crows", "deer", "frog", "frogs", "bee", "bees", "man", "men",
    "woman", "women", "child", "children", "king", "kings", "queen", "queens", "girl", "girls", "boy",
    "boys", "farmer", "farmers", "teacher", "sailor", "sailors", "baker", "bakers", "doctor", "doctors",
    "soldier", "merchant", "stranger", "thief", "thieves", "hunter", "hunters", "guard", "guards",
    "painter", "ship", "ships", "box", "boxes", "key", "keys", "book", "books", "knife", "knives",
    "stone", "stones", "lamp", "lamps", "cup", "cups", "coin", "coins", "rope", "ropes", "wheel",
    "sword", "swords", "basket", "letter", "letters", "map", "maps", "bell", "bells", "hat", "hats",
    "ring", "rings", "bottle", "cart", "carts", "drum", "drums", "mirror", "blanket", "chair", "chairs",
    "apple", "apples", "pear", "pears", "egg", "eggs", "cake", "cakes", "potato", "tomato", "cherry",
    "berry", "nut", "nuts", "loaf", "loaves", "pie", "pies", "plum", "plums", "onion", "onions",
    "carrot", "melon", "melons", "house", "houses", "bridge", "market", "forest", "tower", "towers",
    "garden", "hill", "hills", "inn", "field", "fields", "road", "roads", "cave", "caves", "harbor",
    "castle", "mill", "farm", "farms", "well", "gate", "gates", "lake", "lakes", "island", "wall",
    "walls", "brave", "clever", "lazy", "angry", "happy", "proud", "hungry", "tired", "gentle", "noisy",
    "strange", "quiet", "lucky", "beautiful", "famous", "broken", "empty", "fresh", "sweet", "rotten",
    "small", "big", "tall", "tiny", "huge", "long", "short", "heavy", "little", "wide", "old", "young",
    "new", "ancient", "red", "blue", "green", "black", "white", "grey", "brown", "golden", "yellow",
    "silver", "see", "find", "eat", "carry", "build", "break", "sell", "buy", "chase", "follow", "help",
    "watch", "hide", "paint", "visit", "leave", "cook", "drop", "love", "fear", "catch", "steal", "wash",
    "sleep", "run", "sing", "swim", "wait", "fall", "laugh", "arrive", "sink", "grow",
};

static int vocab_has(const char* s) {
    for (int i = 0; i < NELEM(VOCAB); i++) if (VOCAB[i][0] == s[0] && strcmp(VOCAB[i], s) == 0) return 1;
    return 0;
}

const char* task_family_name(int f) { return f >= 0 && f < TASK_N_FAMILIES ? FAMILY[f] : NULL; }
int task_family_find(const char* name) {
    for (int f = 0; f < TASK_N_FAMILIES; f++) if (strcmp(FAMILY[f], name) == 0) return f;
    return -1;
}

int task_parse_families(const char* list, int dmin, int dmax, TaskFamily fams[TASK_N_FAMILIES], char err[ERR_LEN]) {
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", list ? list : "");
    int n = 0;
    for (char* p = strtok_r(buf, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
        char* range = strchr(p, ':');
        if (range) *range++ = '\0';
        int f = task_family_find(p);
        if (f < 0) { snprintf(err, ERR_LEN, "unknown task family '%s' (reach, constrain, order)", p); return -1; }
        for (int i = 0; i < n; i++)
            if (fams[i].family == f) { snprintf(err, ERR_LEN, "task family '%s' given twice", p); return -1; }
        int lo = dmin, hi = dmax;
        if (range) {   /* name:D or name:LO-HI */
            char* end;
            long a = strtol(range, &end, 10), b = a;
            if (end != range && *end == '-') { char* s2 = end + 1; b = strtol(s2, &end, 10); if (end == s2) end = s2 - 1; }
            if (end == range || *end || a < TASK_DIFF_MIN || b > TASK_DIFF_MAX || a > b) {
                snprintf(err, ERR_LEN, "task family '%s': difficulty '%s' is not D or LO-HI within %d..%d", p, range,
                         TASK_DIFF_MIN, TASK_DIFF_MAX);
                return -1;
            }
            lo = (int)a, hi = (int)b;
        }
        if (lo < TASK_DIFF_MIN || hi > TASK_DIFF_MAX || lo > hi) {
            snprintf(err, ERR_LEN, "task family '%s': difficulty %d..%d is not within %d..%d", p, lo, hi, TASK_DIFF_MIN,
                     TASK_DIFF_MAX);
            return -1;
        }
        fams[n++] = (TaskFamily){f, lo, hi};
    }
    if (n == 0) { snprintf(err, ERR_LEN, "no task family given (reach, constrain, order)"); return -1; }
    return n;
}

/* ------------------------------------------------------------------------- */
/* Answers: what a verifier reads of a completion. Cut at "<eos>", newline or ';',
 * whitespace collapsed to single spaces, trimmed. *bad is set for a byte outside
 * printable ASCII (replaced by '?') or an answer that does not fit.           */

static size_t clean_answer(const char* s, size_t len, char* out, size_t cap, int* bad) {
    size_t n = 0;
    int space = 0;
    *bad = 0;
    if (cap == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == ';' || c == '\0') break;
        if (c == '<' && len - i >= 5 && memcmp(s + i, "<eos>", 5) == 0) break;
        if (c == ' ' || c == '\t' || c == '\r') { space = n > 0; continue; }
        if (c < 0x20 || c > 0x7e) { *bad = 1; c = '?'; }
        if (n + (size_t)space + 1 >= cap) { *bad = 1; break; }
        if (space) out[n++] = ' ';
        space = 0;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return n;
}

static int split_words(char* s, char** tok, int max) {
    int n = 0;
    for (char* p = strtok(s, " "); p; p = strtok(NULL, " ")) {
        if (n == max) return max + 1;
        tok[n++] = p;
    }
    return n;
}

/* Body = prompt without TASK_DELIM. */
static int body_len(const Task* t) {
    size_t n = strlen(t->prompt), d = strlen(TASK_DELIM);
    return (int)(n >= d && strcmp(t->prompt + n - d, TASK_DELIM) == 0 ? n - d : n);
}

static void format_prompt(Task* t) {
    char* p = t->prompt;
    size_t cap = sizeof t->prompt, n = 0;
#define ADD(...) do { int k_ = snprintf(p + n, cap - n, __VA_ARGS__); if (k_ > 0) n = n + (size_t)k_ < cap ? n + (size_t)k_ : cap - 1; } while (0)
    if (t->family == TASK_REACH) {
        ADD("reach %lld with", (long long)t->target);
        for (int i = 0; i < t->n; i++) ADD(" %lld", (long long)t->num[i]);
    } else if (t->family == TASK_CONSTRAIN) {
        ADD("word");
        if (t->length) ADD(" , %d letters", t->length);
        if (t->starts[0]) ADD(" , starts with %s", t->starts);
        if (t->ends[0]) ADD(" , ends with %s", t->ends);
        if (t->contains[0]) ADD(" , contains %s", t->contains);
    } else {
        ADD("order %s", ORDER_KEY[t->key]);
        for (int i = 0; i < t->n; i++) {
            if (t->key == ORDER_ALPHA) ADD(" %s", t->word[i]);
            else ADD(" %lld", (long long)t->num[i]);
        }
    }
    ADD("%s", TASK_DELIM);
#undef ADD
}

/* ------------------------------------------------------------------------- */
/* reach: an arithmetic expression over the given numbers (each at most once)  */
/* that hits the target. Reward 1 when exact, else max(0, 1 - |v-t| / t).      */

#define REACH_LIMIT 1000000000000LL   /* |values| beyond this: unparseable */

typedef struct { int64_t v; int prec; char s[TASK_ANSWER_MAX]; } Node;

static int op_prec(char op) { return op == '*' || op == '/' ? 2 : 1; }

/* a op b with positive results only (the corpus's arithmetic never goes below 0). */
static int combine(Node* out, const Node* a, char op, const Node* b) {
    int64_t v;
    if (op == '+') v = a->v + b->v;
    else if (op == '-') { if (a->v <= b->v) return -1; v = a->v - b->v; }
    else if (op == '*') { if (a->v > 9999 || b->v > 9999 || a->v * b->v > 9999) return -1; v = a->v * b->v; }
    else { if (b->v < 2 || a->v % b->v) return -1; v = a->v / b->v; }
    int p = op_prec(op);
    int lp = a->prec < p, rp = b->prec < p || (b->prec == p && (op == '-' || op == '/'));
    Node r;
    r.v = v;
    r.prec = p;
    int k = snprintf(r.s, sizeof r.s, "%s%s%s %c %s%s%s", lp ? "( " : "", a->s, lp ? " )" : "", op,
                     rp ? "( " : "", b->s, rp ? " )" : "");
    if (k < 0 || (size_t)k >= sizeof r.s) return -1;
    *out = r;
    return 0;
}

/* A random expression over k of the numbers: combine two random pool entries
 * with a random operator until one is left ('+' when the drawn op is invalid). */
static void random_expr(Rng* r, const int64_t* num, int n, int k, Node* out) {
    int idx[TASK_MAX_ITEMS];
    Node pool[TASK_MAX_ITEMS];
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)i + 1);
        int t = idx[i]; idx[i] = idx[j]; idx[j] = t;
    }
    for (int i = 0; i < k; i++) {
        pool[i].v = num[idx[i]];
        pool[i].prec = 3;
        snprintf(pool[i].s, sizeof pool[i].s, "%lld", (long long)num[idx[i]]);
    }
    while (k > 1) {
        int i = (int)rng_below(r, (uint32_t)k);
        int j = (int)rng_below(r, (uint32_t)k - 1);
        if (j >= i) j++;
        char op = "+-*/"[rng_below(r, 4)];
        Node c;
        if (combine(&c, &pool[i], op, &pool[j]) && combine(&c, &pool[i], '+', &pool[j])) {
            c = pool[i];   /* cannot happen for values this small; keep the pool shrinking */
        }
        pool[i < j ? i : j] = c;
        pool[i < j ? j : i] = pool[k - 1];
        k--;
    }
    *out = pool[0];
}

static void reach_generate(Rng* r, int d, Task* t) {
    static const int64_t MAXV[] = {0, 9, 12, 20, 30, 50};
    t->n = d + 1;
    Node e = {0};
    for (int tries = 0; tries < 50; tries++) {
        for (int i = 0; i < t->n; i++) t->num[i] = rng_range(r, 1, MAXV[d]);
        int k = (int)rng_range(r, 2, t->n);
        random_expr(r, t->num, t->n, k, &e);
        int given = 0;
        for (int i = 0; i < t->n; i++) given |= t->num[i] == e.v;
        if (e.v >= 2 && e.v <= 999 && !given) break;
    }
    t->target = e.v;
    snprintf(t->answer, sizeof t->answer, "%s", e.s);
}

static void reach_attempt(const Task* t, Rng* r, char* out, size_t cap) {
    uint32_t x = rng_below(r, 100);
    if (x < 15) { snprintf(out, cap, "%s", t->answer); return; }
    int k = (int)rng_range(r, 1, t->n);
    Node e;
    random_expr(r, t->num, t->n, k, &e);
    snprintf(out, cap, "%s", e.s);
}

typedef struct { const char* s; int used[TASK_MAX_ITEMS]; const Task* t; int depth, bad; } Parser;

static void skip_sp(Parser* p) { while (*p->s == ' ') p->s++; }
static int64_t parse_expr(Parser* p);

static int64_t parse_factor(Parser* p) {
    skip_sp(p);
    if (*p->s == '(') {
        if (++p->depth > 32) { p->bad = 1; return 0; }
        p->s++;
        int64_t v = parse_expr(p);
        skip_sp(p);
        if (*p->s != ')') { p->bad = 1; return 0; }
        p->s++;
        p->depth--;
        return v;
    }
    if (!isdigit((unsigned char)*p->s)) { p->bad = 1; return 0; }
    int64_t v = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p->s)) {
        if (++digits > 9) { p->bad = 1; return 0; }
        v = v * 10 + (*p->s++ - '0');
    }
    for (int i = 0; i < p->t->n; i++)   /* each given number at most once */
        if (!p->used[i] && p->t->num[i] == v) { p->used[i] = 1; return v; }
    p->bad = 1;
    return 0;
}

static int64_t parse_term(Parser* p) {
    int64_t v = parse_factor(p);
    for (;;) {
        skip_sp(p);
        char op = *p->s;
        if (p->bad || (op != '*' && op != '/')) return v;
        p->s++;
        int64_t b = parse_factor(p);
        if (p->bad) return 0;
        if (op == '*') {
            if (__builtin_mul_overflow(v, b, &v) || v > REACH_LIMIT || v < -REACH_LIMIT) { p->bad = 1; return 0; }
        } else {
            if (b == 0 || v % b) { p->bad = 1; return 0; }   /* division only when exact */
            v /= b;
        }
    }
}

static int64_t parse_expr(Parser* p) {
    int64_t v = parse_term(p);
    for (;;) {
        skip_sp(p);
        char op = *p->s;
        if (p->bad || (op != '+' && op != '-')) return v;
        p->s++;
        int64_t b = parse_term(p);
        if (p->bad) return 0;
        v = op == '+' ? v + b : v - b;
        if (v > REACH_LIMIT || v < -REACH_LIMIT) { p->bad = 1; return 0; }
    }
}

static double reach_score(const Task* t, char* a) {
    char* eq = strchr(a, '=');   /* "3 * 8 = 24": the value after '=' is commentary */
    if (eq) *eq = '\0';
    Parser p = {a, {0}, t, 0, 0};
    skip_sp(&p);
    if (!*p.s) return 0;
    int64_t v = parse_expr(&p);
    skip_sp(&p);
    if (p.bad || *p.s) return 0;
    if (v == t->target) return 1;
    double tg = (double)(t->target > 1 ? t->target : 1);
    double s = 1.0 - (double)(v > t->target ? v - t->target : t->target - v) / tg;
    return s > 0 ? s : 0;
}

/* ------------------------------------------------------------------------- */
/* constrain: one vocabulary word meeting the constraints. Reward = constraints */
/* met / (constraints + 1); the +1 is "is a word of the vocabulary".            */

static void constrain_generate(Rng* r, int d, Task* t) {
    const char* w;
    do w = VOCAB[rng_below(r, NELEM(VOCAB))]; while (strlen(w) < 4);
    snprintf(t->answer, sizeof t->answer, "%s", w);
    int len = (int)strlen(w), order[4] = {0, 1, 2, 3}, c = d < 4 ? d : 4;
    for (int i = 3; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)i + 1);
        int x = order[i]; order[i] = order[j]; order[j] = x;
    }
    for (int i = 0; i < c; i++) {
        if (order[i] == 0) t->length = len;
        else if (order[i] == 1) snprintf(t->starts, sizeof t->starts, "%.*s", d >= 5 ? 2 : 1, w);
        else if (order[i] == 2) snprintf(t->ends, sizeof t->ends, "%c", w[len - 1]);
        else {
            int at = (int)rng_range(r, 1, len - 2);
            snprintf(t->contains, sizeof t->contains, "%c", w[at]);
        }
    }
}

static void constrain_attempt(const Task* t, Rng* r, char* out, size_t cap) {
    uint32_t x = rng_below(r, 100);
    if (x < 20) { snprintf(out, cap, "%s", t->answer); return; }
    const char* w = VOCAB[rng_below(r, NELEM(VOCAB))];
    if (x < 55 && t->starts[0])   /* a plausible try: the right first letter */
        for (int i = 0; i < 40 && w[0] != t->starts[0]; i++) w = VOCAB[rng_below(r, NELEM(VOCAB))];
    snprintf(out, cap, "%s", w);
}

static double constrain_score(const Task* t, const char* a) {
    size_t len = strlen(a);
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++) if (a[i] < 'a' || a[i] > 'z') return 0;
    int met = vocab_has(a), total = 1;
    if (t->length) { total++; met += (int)len == t->length; }
    if (t->starts[0]) { total++; met += strncmp(a, t->starts, strlen(t->starts)) == 0; }
    if (t->ends[0]) { size_t k = strlen(t->ends); total++; met += len >= k && strcmp(a + len - k, t->ends) == 0; }
    if (t->contains[0]) { total++; met += strstr(a, t->contains) != NULL; }
    return (double)met / total;
}

/* ------------------------------------------------------------------------- */
/* order: the items sorted by the key. Reward = items in their right position  */
/* / max(items, words written).                                                */

static int cmp_i64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return x < y ? -1 : x > y;
}
static int cmp_word(const void* a, const void* b) { return strcmp((const char*)a, (const char*)b); }

static void order_solution(const Task* t, char sorted[TASK_MAX_ITEMS][TASK_WORD_MAX]) {
    if (t->key == ORDER_ALPHA) {
        memcpy(sorted, t->word, sizeof t->word);
        qsort(sorted, (size_t)t->n, TASK_WORD_MAX, cmp_word);
        return;
    }
    int64_t v[TASK_MAX_ITEMS];
    memcpy(v, t->num, sizeof v);
    qsort(v, (size_t)t->n, sizeof v[0], cmp_i64);
    for (int i = 0; i < t->n; i++)
        snprintf(sorted[i], TASK_WORD_MAX, "%lld", (long long)v[t->key == ORDER_DOWN ? t->n - 1 - i : i]);
}

static void join_words(char w[][TASK_WORD_MAX], int n, char* out, size_t cap) {
    size_t k = 0;
    out[0] = '\0';
    for (int i = 0; i < n && k < cap; i++) k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? " " : "", w[i]);
}

static void order_given(const Task* t, char s[TASK_MAX_ITEMS][TASK_WORD_MAX]) {
    for (int i = 0; i < t->n; i++) {
        if (t->key == ORDER_ALPHA) snprintf(s[i], TASK_WORD_MAX, "%s", t->word[i]);
        else snprintf(s[i], TASK_WORD_MAX, "%lld", (long long)t->num[i]);
    }
}

static void order_generate(Rng* r, int d, Task* t) {
    static const int64_t MAXV[] = {0, 20, 50, 99, 999, 9999};
    t->n = d + 2;
    t->key = (int)rng_below(r, 3);
    for (int i = 0; i < t->n; i++) {
        for (int again = 1; again;) {   /* distinct items, so the order is unique */
            again = 0;
            if (t->key == ORDER_ALPHA) {   /* a redrawn word leaves no bytes of the old one (a Task compares whole) */
                memset(t->word[i], 0, TASK_WORD_MAX);
                snprintf(t->word[i], TASK_WORD_MAX, "%s", VOCAB[rng_below(r, NELEM(VOCAB))]);
            }
            else t->num[i] = rng_range(r, 1, MAXV[d]);
            for (int j = 0; j < i; j++)
                again |= t->key == ORDER_ALPHA ? strcmp(t->word[i], t->word[j]) == 0 : t->num[i] == t->num[j];
        }
    }
    char s[TASK_MAX_ITEMS][TASK_WORD_MAX];
    order_solution(t, s);
    join_words(s, t->n, t->answer, sizeof t->answer);
    char given[TASK_ANSWER_MAX];   /* never hand out items already in order */
    order_given(t, s);
    join_words(s, t->n, given, sizeof given);
    if (strcmp(given, t->answer) == 0) {
        int64_t x = t->num[0]; t->num[0] = t->num[1]; t->num[1] = x;
        char w[TASK_WORD_MAX];
        memcpy(w, t->word[0], TASK_WORD_MAX); memcpy(t->word[0], t->word[1], TASK_WORD_MAX); memcpy(t->word[1], w, TASK_WORD_MAX);
    }
}

static void order_attempt(const Task* t, Rng* r, char* out, size_t cap) {
    char s[TASK_MAX_ITEMS][TASK_WORD_MAX];
    uint32_t x = rng_below(r, 100);
    int n = t->n;
    if (x < 20) { snprintf(out, cap, "%s", t->answer); return; }
    if (x < 40) order_given(t, s);   /* the items as given */
    else {        /* the answer with a few swaps, sometimes one item short */
        order_solution(t, s);
        int swaps = (int)rng_range(r, 1, n - 1);
        for (int k = 0; k < swaps; k++) {
            int i = (int)rng_below(r, (uint32_t)n);
            int j = (int)rng_below(r, (uint32_t)n);
            char tmp[TASK_WORD_MAX];
            memcpy(tmp, s[i], TASK_WORD_MAX); memcpy(s[i], s[j], TASK_WORD_MAX); memcpy(s[j], tmp, TASK_WORD_MAX);
        }
        if (x >= 85) n--;
    }
    join_words(s, n, out, cap);
}

static double order_score(const Task* t, char* a) {
    char* tok[TASK_MAX_ITEMS * 4];
    int m = split_words(a, tok, NELEM(tok) - 1);
    if (m == 0) return 0;
    char s[TASK_MAX_ITEMS][TASK_WORD_MAX];
    order_solution(t, s);
    int right = 0;
    for (int i = 0; i < t->n && i < m; i++) right += strcmp(tok[i], s[i]) == 0;
    return (double)right / (m > t->n ? m : t->n);
}

/* ------------------------------------------------------------------------- */
/* Dispatch, scores and prompts.                                              */

void task_generate(Rng* r, int family, int d, Task* t) {
    memset(t, 0, sizeof *t);
    if (d < TASK_DIFF_MIN) d = TASK_DIFF_MIN;
    if (d > TASK_DIFF_MAX) d = TASK_DIFF_MAX;
    t->family = family < 0 || family >= TASK_N_FAMILIES ? TASK_REACH : family;
    t->difficulty = d;
    if (t->family == TASK_REACH) reach_generate(r, d, t);
    else if (t->family == TASK_CONSTRAIN) constrain_generate(r, d, t);
    else order_generate(r, d, t);
    format_prompt(t);
}

void task_attempt(const Task* t, Rng* r, char* out, size_t cap) {
    if (cap == 0) return;
    if (t->family == TASK_REACH) reach_attempt(t, r, out, cap);
    else if (t->family == TASK_CONSTRAIN) constrain_attempt(t, r, out, cap);
    else order_attempt(t, r, out, cap);
}

double task_score(const Task* t, const char* completion, size_t len) {
    char a[TASK_ANSWER_MAX];
    int bad;
    if (!t || !completion) return 0;
    clean_answer(completion, len, a, sizeof a, &bad);
    if (bad || !a[0]) return 0;
    double s = t->family == TASK_REACH ? reach_score(t, a)
             : t->family == TASK_CONSTRAIN ? constrain_score(t, a) : order_score(t, a);
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

void task_format_score(double s, char out[8]) {
    if (!(s > 0)) s = 0;
    if (s >= 1) { snprintf(out, 8, "1.00"); return; }
    int pct = (int)(s * 100.0 + 1e-9);
    if (pct > 99) pct = 99;
    snprintf(out, 8, "0.%02u", (unsigned)pct % 100);   /* pct is in [0, 99]: the modulo tells the compiler */
}

static int finish(int k, size_t cap) { return k < 0 || (size_t)k >= cap ? -1 : k; }

int task_refine_prompt(const Task* t, const char* prev, double prev_score, char* out, size_t cap) {
    char a[TASK_ANSWER_MAX], sc[8];
    int bad;
    clean_answer(prev ? prev : "", prev ? strlen(prev) : 0, a, sizeof a, &bad);
    task_format_score(prev_score, sc);
    return finish(snprintf(out, cap, "%.*s ; previous%s%s ; score %s%s", body_len(t), t->prompt, a[0] ? " " : "", a,
                           sc, TASK_DELIM), cap);
}

int task_demo_prompt(const Task* t, const char* demo, double demo_score, char* out, size_t cap) {
    char a[TASK_ANSWER_MAX], sc[8];
    int bad;
    clean_answer(demo ? demo : "", demo ? strlen(demo) : 0, a, sizeof a, &bad);
    task_format_score(demo_score, sc);
    return finish(snprintf(out, cap, "%.*s%s%s%s ; score %s . %s", body_len(t), t->prompt, TASK_DELIM, a[0] ? " " : "",
                           a, sc, t->prompt), cap);
}

/* ------------------------------------------------------------------------- */
/* Prompt parsing: the inverse of format_prompt, checked by formatting again.  */

static int parse_int(const char* s, int64_t lo, int64_t hi, int64_t* v) {
    if (!*s || strlen(s) > 12) return -1;
    for (const char* p = s; *p; p++) if (!isdigit((unsigned char)*p)) return -1;
    *v = strtoll(s, NULL, 10);
    return *v >= lo && *v <= hi && (s[0] != '0' || !s[1]) ? 0 : -1;
}

static int lower_word(const char* s, size_t maxlen) {
    size_t n = strlen(s);
    if (n == 0 || n > maxlen) return 0;
    for (size_t i = 0; i < n; i++) if (s[i] < 'a' || s[i] > 'z') return 0;
    return 1;
}

int task_parse_prompt(const char* prompt, Task* t) {
    char buf[TASK_PROMPT_MAX], *tok[48];
    size_t n = strlen(prompt), d = strlen(TASK_DELIM);
    if (n >= sizeof buf) return -1;
    memset(t, 0, sizeof *t);
    memcpy(buf, prompt, n + 1);
    if (n >= d && strcmp(buf + n - d, TASK_DELIM) == 0) buf[n - d] = '\0';
    int k = split_words(buf, tok, NELEM(tok) - 1);
    if (k < 2 || k >= NELEM(tok)) return -1;
    int64_t v;
    if (strcmp(tok[0], "reach") == 0) {
        t->family = TASK_REACH;
        if (k < 5 || k - 3 > TASK_MAX_ITEMS || strcmp(tok[2], "with") || parse_int(tok[1], 1, 1000000, &t->target)) return -1;
        t->n = k - 3;
        for (int i = 0; i < t->n; i++) if (parse_int(tok[3 + i], 1, 1000000, &t->num[i])) return -1;
    } else if (strcmp(tok[0], "word") == 0) {
        t->family = TASK_CONSTRAIN;
        for (int i = 1; i < k;) {
            if (strcmp(tok[i], ",") || i + 1 >= k) return -1;
            const char* a = tok[i + 1], *b = i + 2 < k ? tok[i + 2] : "";
            if (strcmp(b, "letters") == 0 && !t->length) {
                if (parse_int(a, 1, 30, &v)) return -1;
                t->length = (int)v; i += 3;
            } else if (i + 3 < k && strcmp(b, "with") == 0 && lower_word(tok[i + 3], 2) &&
                       (strcmp(a, "starts") == 0 || strcmp(a, "ends") == 0)) {
                char* dst = a[0] == 's' ? t->starts : t->ends;
                if (dst[0]) return -1;
                snprintf(dst, 4, "%s", tok[i + 3]); i += 4;
            } else if (strcmp(a, "contains") == 0 && lower_word(b, 2) && !t->contains[0]) {
                snprintf(t->contains, sizeof t->contains, "%s", b); i += 3;
            } else return -1;
        }
        if (!t->length && !t->starts[0] && !t->ends[0] && !t->contains[0]) return -1;
    } else if (strcmp(tok[0], "order") == 0) {
        t->family = TASK_ORDER;
        t->key = -1;
        for (int j = 0; j < 3; j++) if (strcmp(tok[1], ORDER_KEY[j]) == 0) t->key = j;
        if (t->key < 0 || k < 4 || k - 2 > TASK_MAX_ITEMS) return -1;
        t->n = k - 2;
        for (int i = 0; i < t->n; i++) {
            if (t->key == ORDER_ALPHA) {
                if (!lower_word(tok[2 + i], TASK_WORD_MAX - 1)) return -1;
                snprintf(t->word[i], TASK_WORD_MAX, "%s", tok[2 + i]);
            } else if (parse_int(tok[2 + i], 0, 999999999, &t->num[i])) return -1;
        }
    } else return -1;
    char canon[TASK_PROMPT_MAX];
    format_prompt(t);
    snprintf(canon, sizeof canon, "%.*s", body_len(t), t->prompt);
    memcpy(buf, prompt, n + 1);
    if (n >= d && strcmp(buf + n - d, TASK_DELIM) == 0) buf[n - d] = '\0';
    return strcmp(canon, buf) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------- */
/* Splits: a set of prompt hashes keeps every prompt unique across both.      */

typedef struct { uint64_t* slot; size_t cap; } PSet;

static uint64_t fnv(const char* s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h ? h : 1;
}

static int pset_add(PSet* p, const char* s) {   /* 1 if new */
    uint64_t h = fnv(s);
    size_t i = (size_t)(h ^ (h >> 31)) & (p->cap - 1);
    while (p->slot[i]) { if (p->slot[i] == h) return 0; i = (i + 1) & (p->cap - 1); }
    p->slot[i] = h;
    return 1;
}

int task_reserved(const Task* t) {
    uint64_t h = 1469598103934665603ULL;
    for (const char* p = t->prompt; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (h >> 61) == 0 || (h >> 61) == 7;   /* the top 3 bits: 2 of 8 values */
}

static int make_split(PSet* seen, Rng* r, const char* split, const TaskFamily* fams, int nfam, long n, Task* out,
                      char err[ERR_LEN]) {
    for (long i = 0; i < n; i++) {
        int f = fams[i % nfam].family, dmin = fams[i % nfam].dmin, dmax = fams[i % nfam].dmax, tries = 0;
        do {
            if (++tries > 2000) {
                snprintf(err, ERR_LEN, "cannot make %ld distinct %s tasks (%s at difficulty %d..%d, made %ld): "
                         "raise its difficulty range or ask for fewer", n, split, FAMILY[f], dmin, dmax, i);
                return -1;
            }
            int d = (int)rng_range(r, dmin, dmax);
            task_generate(r, f, d, &out[i]);
        } while (!task_reserved(&out[i]) || !pset_add(seen, out[i].prompt));   /* never a corpus prompt */
        snprintf(out[i].split, sizeof out[i].split, "%s", split);
        snprintf(out[i].id, sizeof out[i].id, "%s-%05ld-%s", split, i, FAMILY[f]);
    }
    return 0;
}

int tasks_make_splits(uint64_t seed, const TaskFamily* fams, int nfam, long n_train, long n_heldout, Task** train,
                      Task** heldout, char err[ERR_LEN]) {
    *train = *heldout = NULL;
    int bad = nfam < 1 || n_train < 0 || n_heldout < 0;
    for (int i = 0; i < nfam; i++)
        bad |= fams[i].family < 0 || fams[i].family >= TASK_N_FAMILIES || fams[i].dmin < TASK_DIFF_MIN ||
               fams[i].dmax > TASK_DIFF_MAX || fams[i].dmin > fams[i].dmax;
    if (bad) {
        snprintf(err, ERR_LEN, "bad task split request: %d families, each family's difficulty must lie in %d..%d", nfam,
                 TASK_DIFF_MIN, TASK_DIFF_MAX);
        return -1;
    }
    PSet seen = {NULL, 1024};
    while (seen.cap < (size_t)(n_train + n_heldout) * 2) seen.cap *= 2;
    seen.slot = calloc_check(seen.cap, sizeof(uint64_t));
    Task* tr = malloc_check(sizeof(Task) * (size_t)(n_train ? n_train : 1));
    Task* ho = malloc_check(sizeof(Task) * (size_t)(n_heldout ? n_heldout : 1));
    Rng base;
    rng_seed(&base, seed);
    Rng r0 = rng_split(&base, 0), r1 = rng_split(&base, 1);
    int rc = make_split(&seen, &r0, "train", fams, nfam, n_train, tr, err);
    if (!rc) rc = make_split(&seen, &r1, "heldout", fams, nfam, n_heldout, ho, err);
    free(seen.slot);
    if (rc) { free(tr); free(ho); return -1; }
    *train = tr;
    *heldout = ho;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* JSONL.                                                                     */

json_t* task_to_json(const Task* t) {
    json_t* p = json_object();
    json_object_set_new(p, "difficulty", json_integer(t->difficulty));
    if (t->family == TASK_REACH) {
        json_t* a = json_array();
        for (int i = 0; i < t->n; i++) json_array_append_new(a, json_integer(t->num[i]));
        json_object_set_new(p, "target", json_integer(t->target));
        json_object_set_new(p, "numbers", a);
    } else if (t->family == TASK_CONSTRAIN) {
        if (t->length) json_object_set_new(p, "length", json_integer(t->length));
        if (t->starts[0]) json_object_set_new(p, "starts", json_string(t->starts));
        if (t->ends[0]) json_object_set_new(p, "ends", json_string(t->ends));
        if (t->contains[0]) json_object_set_new(p, "contains", json_string(t->contains));
    } else {
        json_t* a = json_array();
        for (int i = 0; i < t->n; i++)
            json_array_append_new(a, t->key == ORDER_ALPHA ? json_string(t->word[i]) : json_integer(t->num[i]));
        json_object_set_new(p, "key", json_string(ORDER_KEY[t->key]));
        json_object_set_new(p, "items", a);
    }
    json_object_set_new(p, "answer", json_string(t->answer));
    return json_pack("{s:s, s:s, s:s, s:o, s:s}", "id", t->id, "family", FAMILY[t->family], "prompt", t->prompt,
                     "params", p, "split", t->split);
}

#define WHY(...) do { snprintf(why, ERR_LEN, __VA_ARGS__); return -1; } while (0)

static int only_keys(const json_t* o, const char* const* keys, const char* what, char why[ERR_LEN]) {
    const char* k;
    json_t* v;
    json_object_foreach((json_t*)o, k, v) {
        int ok = 0;
        for (const char* const* p = keys; *p; p++) ok |= strcmp(*p, k) == 0;
        if (!ok) WHY("%sunknown key '%s'", what, k);
    }
    return 0;
}

static int get_str(const json_t* o, const char* key, int required, const char* what, char* dst, size_t cap,
                   char why[ERR_LEN]) {
    json_t* v = json_object_get(o, key);
    if (!v) { if (required) WHY("%smissing key '%s'", what, key); dst[0] = '\0'; return 0; }
    if (!json_is_string(v)) WHY("%s'%s' must be a string", what, key);
    if (json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
        WHY("%s'%s' is too long or holds a NUL", what, key);
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_int(const json_t* o, const char* key, int required, long lo, long hi, const char* what, int64_t* dst,
                   char why[ERR_LEN]) {
    json_t* v = json_object_get(o, key);
    if (!v) { if (required) WHY("%smissing key '%s'", what, key); *dst = 0; return 0; }
    if (!json_is_integer(v)) WHY("%s'%s' must be an integer", what, key);
    if (json_integer_value(v) < lo || json_integer_value(v) > hi) WHY("%s'%s' must be in [%ld, %ld]", what, key, lo, hi);
    *dst = json_integer_value(v);
    return 0;
}

int task_from_json(const json_t* o, Task* t, char why[ERR_LEN]) {
    static const char* TOP[] = {"id", "family", "prompt", "params", "split", NULL};
    static const char* PK[TASK_N_FAMILIES][7] = {{"difficulty", "target", "numbers", "answer", NULL},
                                                 {"difficulty", "length", "starts", "ends", "contains", "answer", NULL},
                                                 {"difficulty", "key", "items", "answer", NULL}};
    char fam[32], prompt[TASK_PROMPT_MAX];
    int64_t v;
    memset(t, 0, sizeof *t);
    if (!json_is_object(o)) WHY("expected a JSON object");
    if (only_keys(o, TOP, "", why)) return -1;
    if (get_str(o, "id", 1, "", t->id, sizeof t->id, why) || get_str(o, "family", 1, "", fam, sizeof fam, why) ||
        get_str(o, "prompt", 1, "", prompt, sizeof prompt, why) || get_str(o, "split", 1, "", t->split, sizeof t->split, why))
        return -1;
    if (!t->id[0]) WHY("'id' is empty");
    for (const char* p = t->id; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-_.", *p)) WHY("'id' may hold only letters, digits, '-', '_', '.'");
    if (strcmp(t->split, "train") && strcmp(t->split, "heldout")) WHY("'split' must be \"train\" or \"heldout\"");
    t->family = task_family_find(fam);
    if (t->family < 0) WHY("unknown family '%s' (reach, constrain, order)", fam);
    json_t* p = json_object_get(o, "params");
    if (!p) WHY("missing key 'params'");
    if (!json_is_object(p)) WHY("'params' must be an object");
    if (only_keys(p, PK[t->family], "params: ", why)) return -1;
    if (get_int(p, "difficulty", 1, TASK_DIFF_MIN, TASK_DIFF_MAX, "params: ", &v, why)) return -1;
    t->difficulty = (int)v;
    if (get_str(p, "answer", 1, "params: ", t->answer, sizeof t->answer, why)) return -1;
    if (t->family == TASK_CONSTRAIN) {
        if (get_int(p, "length", 0, 1, 30, "params: ", &v, why)) return -1;
        t->length = (int)v;
        if (get_str(p, "starts", 0, "params: ", t->starts, 3, why) || get_str(p, "ends", 0, "params: ", t->ends, 3, why) ||
            get_str(p, "contains", 0, "params: ", t->contains, 3, why))
            return -1;
        const char* s[3] = {t->starts, t->ends, t->contains};
        for (int i = 0; i < 3; i++) if (s[i][0] && !lower_word(s[i], 2)) WHY("params: letters must be a-z");
        if (!t->length && !t->starts[0] && !t->ends[0] && !t->contains[0]) WHY("params: no constraint");
    } else {
        const char* arr = t->family == TASK_REACH ? "numbers" : "items";
        if (t->family == TASK_REACH && get_int(p, "target", 1, 1, 1000000, "params: ", &t->target, why)) return -1;
        if (t->family == TASK_ORDER) {
            char key[32];
            if (get_str(p, "key", 1, "params: ", key, sizeof key, why)) return -1;
            t->key = -1;
            for (int j = 0; j < 3; j++) if (strcmp(key, ORDER_KEY[j]) == 0) t->key = j;
            if (t->key < 0) WHY("params: unknown key '%s' (ascending, descending, alphabetical)", key);
        }
        json_t* a = json_object_get(p, arr);
        if (!a) WHY("params: missing key '%s'", arr);
        if (!json_is_array(a) || json_array_size(a) < 2 || json_array_size(a) > TASK_MAX_ITEMS)
            WHY("params: '%s' must be an array of 2..%d items", arr, TASK_MAX_ITEMS);
        t->n = (int)json_array_size(a);
        for (int i = 0; i < t->n; i++) {
            json_t* x = json_array_get(a, (size_t)i);
            if (t->family == TASK_ORDER && t->key == ORDER_ALPHA) {
                if (!json_is_string(x) || !lower_word(json_string_value(x), TASK_WORD_MAX - 1))
                    WHY("params: '%s' must hold words of a-z", arr);
                snprintf(t->word[i], TASK_WORD_MAX, "%s", json_string_value(x));
            } else {
                if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 999999)
                    WHY("params: '%s' must hold integers in [1, 999999]", arr);
                t->num[i] = json_integer_value(x);
            }
        }
    }
    format_prompt(t);
    if (strcmp(t->prompt, prompt)) WHY("'prompt' does not match params (expected \"%s\")", t->prompt);
    if (task_score(t, t->answer, strlen(t->answer)) < 1.0) WHY("params: 'answer' does not solve the task");
    return 0;
}

int tasks_write_jsonl(const char* path, const Task* tasks, long n, char err[ERR_LEN]) {
    AtomicFile a;
    if (atomic_open(&a, path, err)) return -1;
    for (long i = 0; i < n; i++) {
        json_t* j = task_to_json(&tasks[i]);
        char* s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!s || fprintf(a.f, "%s\n", s) < 0) {
            free(s);
            atomic_abort(&a);
            snprintf(err, ERR_LEN, "%s: write failed", path);
            return -1;
        }
        free(s);
    }
    return atomic_commit(&a, err);
}

typedef struct { const char* id; long line; } IdAt;
static int cmp_idat(const void* a, const void* b) {
    int c = strcmp(((const IdAt*)a)->id, ((const IdAt*)b)->id);
    return c ? c : (((const IdAt*)a)->line > ((const IdAt*)b)->line) - (((const IdAt*)a)->line < ((const IdAt*)b)->line);
}

typedef struct { Task* t; IdAt* ids; long n, cap; } TaskLoad;

static int task_line(json_t* o, long line, void* ctx, char why[ERR_LEN]) {
    TaskLoad* L = ctx;
    if (L->n == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 64;
        L->t = realloc_check(L->t, sizeof(Task) * (size_t)L->cap);
        L->ids = realloc_check(L->ids, sizeof(IdAt) * (size_t)L->cap);
    }
    if (task_from_json(o, &L->t[L->n], why)) return -1;
    L->ids[L->n++].line = line;
    return 0;
}

long tasks_load_jsonl(const char* path, Task** out, char err[ERR_LEN]) {
    *out = NULL;
    TaskLoad L = {0};
    if (jsonl_strict_each(path, task_line, &L, err) < 0) goto fail;
    for (long i = 0; i < L.n; i++) L.ids[i].id = L.t[i].id;
    if (L.n > 1) qsort(L.ids, (size_t)L.n, sizeof *L.ids, cmp_idat);
    for (long i = 1; i < L.n; i++)
        if (strcmp(L.ids[i].id, L.ids[i - 1].id) == 0) {
            snprintf(err, ERR_LEN, "%s:%ld: duplicate id '%s' (first on line %ld)", path, L.ids[i].line, L.ids[i].id,
                     L.ids[i - 1].line);
            goto fail;
        }
    free(L.ids);
    *out = L.t;
    return L.n;
fail:
    free(L.t);
    free(L.ids);
    return -1;
}
