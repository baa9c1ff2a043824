/* test_corpus: the synthetic language generator (lib/data/corpus).
 *
 * Protects: byte-identical output for a seed, kinds drawn at their weights,
 * lines that are printable one-liners within the cap, arithmetic and list answers
 * that are actually right, facts that agree with the world, a/an and pronoun-verb
 * agreement in the grammar kinds, a pinned fingerprint of seed 0 (same bytes on
 * every compiler), enough distinct words for a 32k BPE vocabulary, and a mean
 * line length of 50-70 bytes. Prints the speed (not asserted).
 *
 * Build: gcc -std=c11 -O2 -D_GNU_SOURCE -Ilib tests/test_corpus.c lib/data/corpus.c \
 *            lib/base/rng.c lib/base/util.c -lm -o /tmp/test_corpus && /tmp/test_corpus */
#include "corpus.h"
#include "tasks.h"
#include "util.h"
#include "check.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static CorpusGen G;       /* ~24 KB: kept off the stack */
static int n_verified;   /* fact/question lines whose template a checker recognised */

static Rng stream(uint64_t seed, uint64_t s) {
    Rng r;
    rng_seed(&r, seed);
    return rng_split(&r, s);
}

/* ------------------------------------------------------------------------- */
/* Tokens and a tiny integer-expression evaluator for checking answers.       */

#define MAXTOK 256
typedef struct { char* t[MAXTOK]; int n; char buf[CORPUS_LINE_MAX]; } Toks;

static void tokenize(Toks* k, const char* s) {
    snprintf(k->buf, sizeof k->buf, "%s", s);
    k->n = 0;
    for (char* p = strtok(k->buf, " "); p && k->n < MAXTOK; p = strtok(NULL, " ")) k->t[k->n++] = p;
}

static int is_int(const char* s, int64_t* v) {
    const char* p = s;
    if (*p == '-') p++;
    if (!*p) return 0;
    for (const char* q = p; *q; q++) if (!isdigit((unsigned char)*q)) return 0;
    if (p[0] == '0' && p[1]) return 0;   /* no leading zeros */
    *v = strtoll(s, NULL, 10);
    return 1;
}

/* Recursive descent over tokens [*i, end). Returns 0 on a parse error. */
typedef struct { char** t; int end; int i; int ok; } Parser;
static int64_t p_expr(Parser* p);
static int64_t p_factor(Parser* p) {
    if (p->i >= p->end) { p->ok = 0; return 0; }
    if (strcmp(p->t[p->i], "(") == 0) {
        p->i++;
        int64_t v = p_expr(p);
        if (p->i >= p->end || strcmp(p->t[p->i], ")") != 0) { p->ok = 0; return 0; }
        p->i++;
        return v;
    }
    int64_t v;
    if (!is_int(p->t[p->i], &v)) { p->ok = 0; return 0; }
    p->i++;
    return v;
}
static int64_t p_term(Parser* p) {
    int64_t v = p_factor(p);
    while (p->ok && p->i < p->end && (strcmp(p->t[p->i], "*") == 0 || strcmp(p->t[p->i], "/") == 0)) {
        char op = p->t[p->i++][0];
        int64_t b = p_factor(p);
        if (op == '*') v *= b;
        else if (b == 0 || v % b != 0) { p->ok = 0; return 0; }   /* only exact division is written */
        else v /= b;
    }
    return v;
}
static int64_t p_expr(Parser* p) {
    int64_t v = p_term(p);
    while (p->ok && p->i < p->end && (strcmp(p->t[p->i], "+") == 0 || strcmp(p->t[p->i], "-") == 0)) {
        char op = p->t[p->i++][0];
        int64_t b = p_term(p);
        v = op == '+' ? v + b : v - b;
    }
    return v;
}
/* Evaluate tokens [a, b) as one whole expression. */
static int eval_range(char** t, int a, int b, int64_t* v) {
    Parser p = {t, b, a, 1};
    *v = p_expr(&p);
    return p.ok && p.i == b;
}

static int find_tok(const Toks* k, int from, const char* s) {
    for (int i = from; i < k->n; i++) if (strcmp(k->t[i], s) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------------------- */
/* Per-kind answer checks. Each returns NULL when fine, else a reason.         */

static const char* check_arith(const char* line) {
    Toks k;
    tokenize(&k, line);
    /* word form: "a plus b is c" */
    if (k.n >= 5 && strcmp(k.t[k.n - 2], "is") == 0) {
        int64_t a, b, c;
        int op = 1;
        if (!is_int(k.t[0], &a) || !is_int(k.t[k.n - 3], &b) || !is_int(k.t[k.n - 1], &c)) return "word form: not numbers";
        const char* w = k.t[1];
        if (strcmp(w, "plus") == 0) return a + b == c ? NULL : "plus wrong";
        if (strcmp(w, "minus") == 0) return a - b == c ? NULL : "minus wrong";
        if (strcmp(w, "times") == 0) return a * b == c ? NULL : "times wrong";
        if (strcmp(w, "divided") == 0) return b && a % b == 0 && a / b == c ? NULL : "divided wrong";
        (void)op;
        return "unknown word operator";
    }
    /* one or more "a op b = c" joined by "," */
    int start = 0;
    while (start < k.n) {
        int end = find_tok(&k, start, ",");
        if (end < 0) end = k.n;
        if (end - start != 5 || strcmp(k.t[start + 3], "=") != 0) return "equation is not 'a op b = c'";
        int64_t lhs, rhs;
        if (!eval_range(k.t, start, start + 3, &lhs)) return "cannot parse left side";
        if (!is_int(k.t[start + 4], &rhs)) return "right side is not a number";
        if (lhs != rhs) return "wrong result";
        start = end + 1;
    }
    return NULL;
}

/* Every "="-separated segment has the same value; the last is a bare number. */
static const char* check_multistep(const char* line) {
    Toks k;
    tokenize(&k, line);
    int start = 0, segs = 0;
    int64_t first = 0, last_num;
    while (start <= k.n) {
        int end = find_tok(&k, start, "=");
        if (end < 0) end = k.n;
        int64_t v;
        if (!eval_range(k.t, start, end, &v)) return "segment does not parse";
        if (segs++ == 0) first = v;
        else if (v != first) return "a step changes the value";
        if (end == k.n) {
            if (end - start != 1 || !is_int(k.t[start], &last_num)) return "does not end in a number";
            if (v < 0) return "negative result";
            break;
        }
        start = end + 1;
    }
    return segs >= 2 ? NULL : "no '='";
}

static const char* check_compare(const char* line) {
    Toks k;
    tokenize(&k, line);
    int64_t a, b, c;
    if (strstr(line, "is equal to")) {
        if (!is_int(k.t[0], &a) || !is_int(k.t[4], &b)) return "equal: not numbers";
        return a == b ? NULL : "equal but different";
    }
    if (strstr(line, "is larger than")) {
        if (!is_int(k.t[0], &a) || !is_int(k.t[4], &b)) return "larger: not numbers";
        return a > b ? NULL : "larger is wrong";
    }
    if (strstr(line, "is smaller than")) {
        if (!is_int(k.t[0], &a) || !is_int(k.t[4], &b)) return "smaller: not numbers";
        return a < b ? NULL : "smaller is wrong";
    }
    if (k.n == 3) {
        if (!is_int(k.t[0], &a) || !is_int(k.t[2], &b)) return "symbolic: not numbers";
        if (strcmp(k.t[1], ">") == 0) return a > b ? NULL : "> wrong";
        if (strcmp(k.t[1], "<") == 0) return a < b ? NULL : "< wrong";
        return "unknown comparison";
    }
    /* which is larger , a or b ? c */
    if (k.n == 9 && strcmp(k.t[0], "which") == 0) {
        if (!is_int(k.t[4], &a) || !is_int(k.t[6], &b) || !is_int(k.t[8], &c)) return "which: not numbers";
        int larger = strcmp(k.t[2], "larger") == 0;
        return c == (larger ? (a > b ? a : b) : (a < b ? a : b)) ? NULL : "which: wrong answer";
    }
    return "unknown compare template";
}

/* Numbers after the token at index `from` up to `to`. Returns count or -1. */
static int read_nums(const Toks* k, int from, int to, int64_t* v, int cap) {
    int n = 0;
    for (int i = from; i < to; i++) {
        if (n >= cap || !is_int(k->t[i], &v[n])) return -1;
        n++;
    }
    return n;
}

static const char* check_sequence(const char* line) {
    Toks k;
    tokenize(&k, line);
    int64_t v[64], a, b, step;
    int colon = find_tok(&k, 0, ":");
    if (strcmp(k.t[0], "continue") == 0) {
        int n = read_nums(&k, 1, colon, v, 64);
        int m = read_nums(&k, colon + 1, k.n, v + (n > 0 ? n : 0), 64 - (n > 0 ? n : 0));
        if (n < 3 || m < 1) return "continue: bad lists";
        int total = n + m;
        /* either arithmetic or geometric throughout, the continuation included */
        int arith = 1, geom = v[0] != 0;
        for (int i = 2; i < total; i++) if (v[i] - v[i - 1] != v[1] - v[0]) arith = 0;
        for (int i = 1; i < total && geom; i++) if (v[i - 1] == 0 || v[i] % v[i - 1] || v[i] / v[i - 1] != v[1] / v[0]) geom = 0;
        return arith || geom ? NULL : "continue: wrong continuation";
    }
    if (strncmp(line, "count from ", 11) == 0 || strncmp(line, "count down from ", 16) == 0) {
        int down = strcmp(k.t[1], "down") == 0;
        int ia = down ? 3 : 2;
        if (!is_int(k.t[ia], &a) || !is_int(k.t[ia + 2], &b)) return "count: bounds";
        int n = read_nums(&k, colon + 1, k.n, v, 64);
        if (n < 1 || v[0] != a || v[n - 1] != b) return "count: ends wrong";
        for (int i = 1; i < n; i++) if (v[i] - v[i - 1] != (down ? -1 : 1)) return "count: step wrong";
        return NULL;
    }
    if (strncmp(line, "count by ", 9) == 0) {
        if (!is_int(k.t[2], &step) || !is_int(k.t[4], &a)) return "count by: header";
        int n = read_nums(&k, colon + 1, k.n, v, 64);
        if (n < 1 || v[0] != a) return "count by: start";
        for (int i = 1; i < n; i++) if (v[i] - v[i - 1] != step) return "count by: step";
        return NULL;
    }
    int n = read_nums(&k, 0, k.n, v, 64);
    if (n < 3) return "bare run: not numbers";
    for (int i = 2; i < n; i++) if (v[i] - v[i - 1] != v[1] - v[0]) return "bare run: not arithmetic";
    return NULL;
}

static int cmp64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return x < y ? -1 : x > y;
}
static int cmps(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

static const char* check_sort(const char* line) {
    Toks k;
    tokenize(&k, line);
    int colon = find_tok(&k, 0, ":");
    if (colon < 0) return "no ':'";
    int words = strcmp(k.t[1], "words") == 0, desc = strcmp(k.t[1], "descending") == 0;
    int from = words || desc ? 2 : 1;
    int n = colon - from, m = k.n - colon - 1;
    if (n != m || n < 1) return "answer has a different length";
    if (words) {
        char* in[64], *out[64];
        for (int i = 0; i < n; i++) { in[i] = k.t[from + i]; out[i] = k.t[colon + 1 + i]; }
        for (int i = 1; i < n; i++) if (strcmp(out[i - 1], out[i]) > 0) return "words not sorted";
        qsort(in, (size_t)n, sizeof in[0], cmps);
        for (int i = 0; i < n; i++) if (strcmp(in[i], out[i]) != 0) return "words: not a permutation";
        return NULL;
    }
    int64_t in[64], out[64];
    if (read_nums(&k, from, colon, in, 64) != n || read_nums(&k, colon + 1, k.n, out, 64) != n) return "not numbers";
    for (int i = 1; i < n; i++) if (desc ? out[i - 1] < out[i] : out[i - 1] > out[i]) return "not sorted";
    qsort(in, (size_t)n, sizeof in[0], cmp64);
    int64_t o2[64];
    memcpy(o2, out, sizeof(int64_t) * (size_t)n);
    qsort(o2, (size_t)n, sizeof o2[0], cmp64);
    for (int i = 0; i < n; i++) if (in[i] != o2[i]) return "not a permutation";
    return NULL;
}

static const char* check_listop(const char* line) {
    Toks k;
    tokenize(&k, line);
    int colon = find_tok(&k, 0, ":");
    if (colon < 0) return "no ':'";
    int from = strcmp(k.t[0], "reverse") == 0 ? 1 : strcmp(k.t[0], "even") == 0 ? 3 : 2;
    int64_t v[64], ans[64];
    int n = read_nums(&k, from, colon, v, 64);
    if (n < 1) return "list is not numbers";
    if (strcmp(k.t[0], "even") == 0 && colon + 2 == k.n && strcmp(k.t[colon + 1], "none") == 0) {
        for (int i = 0; i < n; i++) if (v[i] % 2 == 0) return "'none' but there is an even number";
        return NULL;
    }
    int m = read_nums(&k, colon + 1, k.n, ans, 64);
    if (m < 1) return "answer is not numbers";
    int64_t acc = v[0];
    if (strcmp(k.t[0], "max") == 0) { for (int i = 1; i < n; i++) if (v[i] > acc) acc = v[i]; return m == 1 && ans[0] == acc ? NULL : "max wrong"; }
    if (strcmp(k.t[0], "min") == 0) { for (int i = 1; i < n; i++) if (v[i] < acc) acc = v[i]; return m == 1 && ans[0] == acc ? NULL : "min wrong"; }
    if (strcmp(k.t[0], "sum") == 0) { for (int i = 1; i < n; i++) acc += v[i]; return m == 1 && ans[0] == acc ? NULL : "sum wrong"; }
    if (strcmp(k.t[0], "count") == 0) return m == 1 && ans[0] == n ? NULL : "count wrong";
    if (strcmp(k.t[0], "reverse") == 0) {
        if (m != n) return "reverse: length";
        for (int i = 0; i < n; i++) if (ans[i] != v[n - 1 - i]) return "reverse wrong";
        return NULL;
    }
    if (strcmp(k.t[0], "even") == 0) {
        int j = 0;
        for (int i = 0; i < n; i++) if (v[i] % 2 == 0) { if (j >= m || ans[j] != v[i]) return "evens wrong"; j++; }
        return j == m ? NULL : "evens: extra numbers";
    }
    return "unknown list op";
}

/* Word problems: recompute the answer from the numbers in the story. */
static const char* check_problem(const char* line) {
    Toks k;
    tokenize(&k, line);
    int64_t num[8];
    int nn = 0;
    for (int i = 0; i < k.n - 1 && nn < 8; i++) { int64_t v; if (is_int(k.t[i], &v)) num[nn++] = v; }
    int64_t ans;
    const char* last = k.t[k.n - 1];
    if (strstr(line, "who has more ?")) {
        /* NAME has a X and NAME2 has b X . who has more ? NAME */
        if (nn != 2) return "who-has-more: numbers";
        const char* want = num[0] > num[1] ? k.t[0] : k.t[find_tok(&k, 0, "and") + 1];
        return strcmp(want, last) == 0 ? NULL : "who-has-more wrong";
    }
    if (!is_int(last, &ans) || nn != 2) return "answer or numbers missing";
    if (strstr(line, " buys ") || strstr(line, "together")) return num[0] + num[1] == ans ? NULL : "sum wrong";
    if (strstr(line, " gives ")) return num[0] - num[1] == ans ? NULL : "difference wrong";
    if (strstr(line, "in each")) return num[0] * num[1] == ans ? NULL : "product wrong";
    return "unknown problem template";
}

/* A recognised template: count it, then judge it. */
static const char* verdict(int ok, const char* why) {
    n_verified++;
    return ok ? NULL : why;
}

static int city_index(const char* s) {
    for (int c = 0; c < CORPUS_N_CITIES; c++) if (strcmp(G.city[c], s) == 0) return c;
    return -1;
}
static int person_index(const char* s) {
    for (int p = 0; p < CORPUS_N_PEOPLE; p++) if (strcmp(G.person[p], s) == 0) return p;
    return -1;
}
static int country_index(const char* s) {
    for (int c = 0; c < CORPUS_N_COUNTRIES; c++) if (strcmp(G.country[c], s) == 0) return c;
    return -1;
}

/* World facts must agree with the world; a sample of templates is enough. */
static const char* check_fact(const char* line) {
    Toks k;
    tokenize(&k, line);
    int p, c, q;
    if (k.n == 5 && strcmp(k.t[1], "lives") == 0 && (p = person_index(k.t[0])) >= 0)
        return verdict(strcmp(G.city[G.person_city[p]], k.t[3]) == 0, "lives in the wrong city");
    if (k.n == 7 && strcmp(k.t[1], "is") == 0 && strcmp(k.t[3], "city") == 0) {
        if ((c = city_index(k.t[0])) < 0) return "unknown city";
        return verdict(strcmp(G.country[c / CORPUS_CITIES_PER_COUNTRY], k.t[5]) == 0, "city in the wrong country");
    }
    if (strncmp(line, "the capital of ", 15) == 0) {
        if ((q = country_index(k.t[3])) < 0) return "unknown country";
        return verdict(strcmp(G.city[q * CORPUS_CITIES_PER_COUNTRY], k.t[5]) == 0, "wrong capital");
    }
    if (k.n == 6 && strcmp(k.t[3], "years") == 0 && (p = person_index(k.t[0])) >= 0) {
        int64_t age;
        return verdict(is_int(k.t[2], &age) && age == G.person_age[p], "wrong age");
    }
    if (k.n == 6 && strcmp(k.t[1], "lies") == 0 && (q = country_index(k.t[0])) >= 0) {
        int j = country_index(k.t[4]);
        if (j < 0) return "unknown country";
        int dy = G.country_y[q] - G.country_y[j], dx = G.country_x[q] - G.country_x[j];
        const char* d = k.t[2];
        int ok = d[0] == 'n' ? dy < 0 : d[0] == 's' ? dy > 0 : d[0] == 'e' ? dx > 0 : dx < 0;
        return verdict(ok, "wrong direction");
    }
    return NULL;
}

static const char* check_question(const char* line) {
    Toks k;
    tokenize(&k, line);
    int p, q;
    if (strncmp(line, "where does ", 11) == 0 && (p = person_index(k.t[2])) >= 0)
        return verdict(strcmp(G.city[G.person_city[p]], k.t[k.n - 1]) == 0, "where: wrong city");
    if (strncmp(line, "what is the capital of ", 23) == 0) {
        if ((q = country_index(k.t[5])) < 0) return "unknown country";
        return verdict(strcmp(G.city[q * CORPUS_CITIES_PER_COUNTRY], k.t[k.n - 1]) == 0, "wrong capital");
    }
    if (strncmp(line, "who is older , ", 15) == 0) {
        int a = person_index(k.t[4]), b = person_index(k.t[6]);
        if (a < 0 || b < 0) return "unknown person";
        return verdict(strcmp(G.person[G.person_age[a] > G.person_age[b] ? a : b], k.t[k.n - 1]) == 0, "older: wrong");
    }
    /* in context: the answer to "where does X live ?" is stated in the line */
    int qm = find_tok(&k, 0, "?");
    if (qm > 0 && strcmp(k.t[0], "where") != 0 && strcmp(k.t[0], "how") != 0 && strcmp(k.t[0], "what") != 0 &&
        strcmp(k.t[0], "which") != 0 && strcmp(k.t[0], "is") != 0 && strcmp(k.t[0], "who") != 0) {
        const char* ans = k.t[k.n - 1];
        int seen = 0;
        for (int i = 0; i < qm - 1; i++) if (strcmp(k.t[i], ans) == 0) seen = 1;
        return verdict(seen, "in-context answer is not in the context");
    }
    return NULL;
}

static int in_list(const char* w, const char* const* list) {
    for (; *list; list++) if (strcmp(w, *list) == 0) return 1;
    return 0;
}

/* Local agreement that holds in every grammar line: a/an before the next word,
 * and a subject pronoun's verb (no "he see", "they sees", "I is", "he are"). */
static const char* check_grammar(const char* line) {
    static const char* const BASE[] = {"see", "find", "eat", "carry", "break", "chase", "sleep", "run", "swim", "wait", NULL};
    static const char* const S3[]   = {"sees", "finds", "eats", "carries", "breaks", "chases", "sleeps", "runs", "swims", "waits", NULL};
    static const char* const NOT_3SG[] = {"are", "were", "have", "do", "am", NULL};
    static const char* const NOT_1SG[] = {"is", "are", "were", "has", "does", NULL};
    static const char* const NOT_PL[]  = {"is", "was", "am", "has", "does", NULL};
    Toks k;
    tokenize(&k, line);
    for (int i = 0; i + 1 < k.n; i++) {
        const char* t = k.t[i];
        const char* nx = k.t[i + 1];
        int vowel = strchr("aeiou", nx[0]) != NULL;
        if (strcmp(t, "a") == 0 && vowel) return "'a' before a vowel";
        if (strcmp(t, "an") == 0 && !vowel) return "'an' before a consonant";
        /* a pronoun right after "," "." "and" ... or at the start is a subject */
        int subj_pos = i == 0 || strcmp(k.t[i - 1], ".") == 0 || strcmp(k.t[i - 1], ",") == 0 ||
                       strcmp(k.t[i - 1], "and") == 0 || strcmp(k.t[i - 1], "but") == 0 ||
                       strcmp(k.t[i - 1], "so") == 0 || strcmp(k.t[i - 1], "because") == 0 ||
                       strcmp(k.t[i - 1], "then") == 0 || strcmp(k.t[i - 1], "if") == 0 ||
                       strcmp(k.t[i - 1], "when") == 0;
        if (!subj_pos) continue;
        if (!strcmp(t, "he") || !strcmp(t, "she") || !strcmp(t, "it")) {
            if (in_list(nx, BASE) || in_list(nx, NOT_3SG)) return "3sg pronoun without agreement";
        } else if (!strcmp(t, "I")) {
            if (in_list(nx, S3) || in_list(nx, NOT_1SG)) return "'I' without agreement";
        } else if (!strcmp(t, "we") || !strcmp(t, "they") || !strcmp(t, "you")) {
            if (in_list(nx, S3) || in_list(nx, NOT_PL)) return "plural pronoun without agreement";
        }
    }
    return k.n && strcmp(k.t[k.n - 1], ".") == 0 ? NULL : "sentence does not end in '.'";
}

/* Task lines (lib/data/tasks): every printed score is what the verifier gives the
 * attempt beside it, read back through the prompt parser, so the corpus and the
 * suite cannot disagree on a format. */
static char* cut(char* s, const char* sep) {   /* split s at the first sep; returns the rest */
    char* p = strstr(s, sep);
    if (!p) return NULL;
    *p = '\0';
    return p + strlen(sep);
}

/* "ATTEMPT ; score S" -> 1 when S is the score of ATTEMPT for t */
static int score_matches(const Task* t, char* s, double* got) {
    char* sc = cut(s, " ; score ");
    if (!sc) return 0;
    char want[8];
    *got = task_score(t, s, strlen(s));
    task_format_score(*got, want);
    return strcmp(sc, want) == 0;
}

static const char* check_task_example(const char* line) {
    char b[CORPUS_LINE_MAX], prompt[CORPUS_LINE_MAX + sizeof TASK_DELIM];   /* a line and the delimiter */
    snprintf(b, sizeof b, "%s", line);
    char* a = cut(b, " : ");
    if (!a) return "no ' : '";
    snprintf(prompt, sizeof prompt, "%s%s", b, TASK_DELIM);
    Task t;
    double s;
    if (task_parse_prompt(prompt, &t)) return "prompt does not parse as a task";
    if (!score_matches(&t, a, &s)) return "printed score is not the verifier's";
    return NULL;
}

static const char* check_task_refine(const char* line) {
    char b[CORPUS_LINE_MAX], p[CORPUS_LINE_MAX + sizeof TASK_DELIM];   /* a line and the delimiter */
    snprintf(b, sizeof b, "%s", line);
    char* prev = cut(b, " ; previous");
    if (!prev) return "no ' ; previous'";
    char* better = cut(prev, " : ");
    if (!better) return "no ' : '";
    Task t;
    double s0, s1;
    snprintf(p, sizeof p, "%s%s", b, TASK_DELIM);
    if (task_parse_prompt(p, &t)) return "prompt does not parse as a task";
    if (!score_matches(&t, prev, &s0) || !score_matches(&t, better, &s1)) return "printed score is not the verifier's";
    if (!(s1 > s0)) return "the refinement is not better";
    /* the prompt part is exactly what task_refine_prompt writes */
    char q[CORPUS_LINE_MAX], want[CORPUS_LINE_MAX], sc[8];
    task_format_score(s0, sc);
    snprintf(q, sizeof q, "%s", line);
    *strstr(q + strlen(b), " : ") = '\0';
    task_refine_prompt(&t, prev + (*prev == ' '), s0, want, sizeof want);
    strcat(q, TASK_DELIM);
    return strcmp(q, want) ? "prompt differs from task_refine_prompt" : NULL;
}

static const char* check_task_demo(const char* line) {
    char b[CORPUS_LINE_MAX], p[CORPUS_LINE_MAX + sizeof TASK_DELIM];   /* a line and the delimiter */
    snprintf(b, sizeof b, "%s", line);
    char* second = cut(b, " . ");
    if (!second) return "no ' . '";
    char* demo = cut(b, " : ");
    char* best = second ? cut(second, " : ") : NULL;
    if (!demo || !best || strcmp(b, second)) return "demo and task differ";
    Task t;
    double s0, s1;
    snprintf(p, sizeof p, "%s%s", b, TASK_DELIM);
    if (task_parse_prompt(p, &t)) return "prompt does not parse as a task";
    if (!score_matches(&t, demo, &s0) || !score_matches(&t, best, &s1)) return "printed score is not the verifier's";
    return s1 == 1.0 ? NULL : "the final solution is not exact";
}

typedef const char* (*Checker)(const char*);
static const struct { const char* kind; Checker fn; } CHECKS[] = {
    {"arith", check_arith},   {"multistep", check_multistep}, {"compare", check_compare},
    {"sequence", check_sequence}, {"sort", check_sort},     {"listop", check_listop},
    {"problem", check_problem}, {"fact", check_fact},       {"question", check_question},
    {"sentence", check_grammar}, {"relative", check_grammar}, {"compound", check_grammar},
    {"story", check_grammar}, {"task_example", check_task_example}, {"task_refine", check_task_refine},
    {"task_demo", check_task_demo},
};

/* ------------------------------------------------------------------------- */

static void test_world(void) {
    CorpusGen* h = malloc_check(sizeof *h);
    corpus_init(h);
    CHECK("world_deterministic", memcmp(h, &G, sizeof G) == 0, "two corpus_init calls differ");
    free(h);
    /* every world name is distinct, so a fact about a name is a fact about one entity */
    const char* names[CORPUS_N_NAMES];
    int n = 0;
    for (int i = 0; i < CORPUS_N_COUNTRIES; i++) names[n++] = G.country[i];
    for (int i = 0; i < CORPUS_N_CITIES; i++) names[n++] = G.city[i];
    for (int i = 0; i < CORPUS_N_RIVERS; i++) names[n++] = G.river[i];
    for (int i = 0; i < CORPUS_N_PEOPLE; i++) names[n++] = G.person[i];
    qsort(names, (size_t)n, sizeof names[0], cmps);
    int dup = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        if (i && strcmp(names[i - 1], names[i]) == 0) dup++;
        if (!names[i][0] || !isupper((unsigned char)names[i][0])) bad++;
    }
    CHECK("world_names_unique", !dup && !bad, "%d duplicates, %d malformed", dup, bad);
    int cells[32] = {0}, clash = 0;
    for (int i = 0; i < CORPUS_N_COUNTRIES; i++) if (cells[G.country_y[i] * 8 + G.country_x[i]]++) clash++;
    CHECK("world_grid", clash == 0, "%d countries share a cell", clash);
}

static void test_determinism(void) {
    char a[CORPUS_LINE_MAX], b[CORPUS_LINE_MAX];
    Rng r1 = stream(1234, 0), r2 = stream(1234, 0);
    int same = 1;
    for (int i = 0; i < 5000 && same; i++) {
        size_t la = corpus_line(&G, &r1, a, sizeof a), lb = corpus_line(&G, &r2, b, sizeof b);
        if (la != lb || strcmp(a, b) != 0) same = 0;
    }
    CHECK("same_seed_same_lines", same, "two streams from one seed diverged");

    int differ = 0;
    Rng s0 = stream(1234, 0), s1 = stream(1234, 1), t0 = stream(99, 0);
    char c[CORPUS_LINE_MAX];
    for (int i = 0; i < 1000; i++) {
        corpus_line(&G, &s0, a, sizeof a);
        corpus_line(&G, &s1, b, sizeof b);
        corpus_line(&G, &t0, c, sizeof c);
        differ += strcmp(a, b) != 0 && strcmp(a, c) != 0;
    }
    CHECK("other_seed_other_lines", differ >= 900, "only %d of 1000 lines differ", differ);

    /* corpus_line is exactly pick + kind_line */
    Rng p1 = stream(7, 0), p2 = stream(7, 0);
    same = 1;
    for (int i = 0; i < 2000 && same; i++) {
        corpus_line(&G, &p1, a, sizeof a);
        int k = corpus_pick_kind(&G, &p2);
        corpus_kind_line(&G, k, &p2, b, sizeof b);
        same = strcmp(a, b) == 0;
    }
    CHECK("line_is_pick_plus_kind_line", same, "the two paths disagree");
}

/* The language itself is pinned: the same seed must give these exact bytes on
 * every machine (integer-only generation). When the language changes on purpose
 * (a new kind, a new word), update GOLDEN to the value this test prints. */
#define GOLDEN 0x4ca220011b72b484ULL
static void test_golden(void) {
    char buf[CORPUS_LINE_MAX];
    Rng r = stream(0, 0);
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 1000; i++) {
        corpus_line(&G, &r, buf, sizeof buf);
        for (const char* p = buf; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ULL;
        h = (h ^ (uint8_t)'\n') * 1099511628211ULL;
    }
    CHECK("golden_fingerprint", h == GOLDEN, "first 1000 lines of seed 0 hash to 0x%016llx, expected 0x%016llx",
          (unsigned long long)h, (unsigned long long)GOLDEN);
}

/* No discovery task is in the corpus, by construction: gen-tasks draws only reserved
 * prompts (task_reserved) and the corpus never shows one. 1200 tasks of every family and
 * difficulty (seed 0, the pipeline's) against 100,000 corpus lines: no line starts with
 * a task's prompt, and every task-language line's prompt is unreserved. */
static int by_str(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }
static void test_no_suite_task_in_corpus(void) {
    TaskFamily fams[3] = {{0, TASK_DIFF_MIN, TASK_DIFF_MAX}, {1, TASK_DIFF_MIN, TASK_DIFF_MAX}, {2, TASK_DIFF_MIN, TASK_DIFF_MAX}};
    Task *tr, *ho;
    char err[ERR_LEN];
    if (tasks_make_splits(0, fams, 3, 600, 600, &tr, &ho, err)) { printf("FAIL splits: %s\n", err); return; }
    char* keys[1200];
    int reserved = 1;
    for (int i = 0; i < 1200; i++) {
        const Task* t = i < 600 ? &tr[i] : &ho[i - 600];
        keys[i] = (char*)t->prompt;
        reserved &= task_reserved(t);
    }
    qsort(keys, 1200, sizeof *keys, by_str);
    Rng r = stream(0, 0);
    char buf[CORPUS_LINE_MAX];
    int hits = 0, unreserved = 1, parsed = 0;
    for (int k = 0; k < 100000; k++) {
        corpus_line(&G, &r, buf, sizeof buf);
        const char* colon = strstr(buf, " :");
        if (!colon) continue;
        char head[CORPUS_LINE_MAX];
        snprintf(head, sizeof head, "%.*s", (int)(colon - buf + 2), buf);
        char* key = head;
        if (bsearch(&key, keys, 1200, sizeof *keys, by_str)) hits++;
        Task t;
        if (task_parse_prompt(head, &t) == 0) { parsed++; unreserved &= !task_reserved(&t); }
    }
    CHECK("suite_tasks_are_reserved", reserved, "a generated task is not reserved");
    CHECK("no_suite_task_prompt_in_corpus", hits == 0 && parsed > 1000 && unreserved, "%d corpus lines start with a task prompt; %d parsed, unreserved %d",
          hits, parsed, unreserved);
    free(tr); free(ho);
}

static void test_kind_weights(void) {
    int K = corpus_kind_count();
    int count[CORPUS_MAX_KINDS] = {0};
    uint64_t total = 0;
    for (int k = 0; k < K; k++) total += G.weight[k];
    Rng r = stream(42, 0);
    const int N = 10000;
    for (int i = 0; i < N; i++) {
        int k = corpus_pick_kind(&G, &r);
        if (k >= 0 && k < K) count[k]++;
    }
    /* the kind furthest from its expected count, in standard deviations */
    int worst = 0;
    double worst_z = -1, worst_e = 0;
    for (int k = 0; k < K; k++) {
        double p = (double)G.weight[k] / (double)total, e = N * p, sd = sqrt(N * p * (1 - p));
        double z = count[k] == 0 ? 1e9 : fabs(count[k] - e) / (sd + 1e-9);
        if (z > worst_z) { worst_z = z; worst = k; worst_e = e; }
    }
    CHECK("kinds_at_their_weights", worst_z <= 5, "%s: %d lines, expected %.0f",
          corpus_kind_name(worst), count[worst], worst_e);

    /* names, lookup, and weight overrides */
    int ok = corpus_kind_find("arith") >= 0 && corpus_kind_find("nope") == -1 && corpus_kind_name(K) == NULL;
    CorpusGen* h = malloc_check(sizeof *h);
    memcpy(h, &G, sizeof G);
    ok = ok && corpus_set_weight(h, "nope", 3) == -1;
    for (int k = 0; k < K; k++) corpus_set_weight(h, corpus_kind_name(k), 0);
    char buf[CORPUS_LINE_MAX];
    buf[0] = 'x';
    ok = ok && corpus_line(h, &r, buf, sizeof buf) == 0 && buf[0] == '\0';
    corpus_set_weight(h, "sort", 1);
    for (int i = 0; i < 200 && ok; i++) {
        corpus_line(h, &r, buf, sizeof buf);
        ok = strncmp(buf, "sort ", 5) == 0;
    }
    free(h);
    CHECK("kind_registry", ok, "lookup or weight override misbehaves");
}

static void test_answers(void) {
    char buf[CORPUS_LINE_MAX];
    for (int c = 0; c < (int)(sizeof CHECKS / sizeof CHECKS[0]); c++) {
        int k = corpus_kind_find(CHECKS[c].kind);
        char name[64];
        snprintf(name, sizeof name, "answers_%s", CHECKS[c].kind);
        if (k < 0) { CHECK(name, 0, "kind missing"); continue; }
        Rng r = stream(500 + (uint64_t)c, 0);
        const char* why = NULL;
        n_verified = 0;
        for (int i = 0; i < 20000 && !why; i++) {
            corpus_kind_line(&G, k, &r, buf, sizeof buf);
            why = CHECKS[c].fn(buf);
        }
        /* fact and question checkers know only some templates: make sure they bite */
        int partial = strcmp(CHECKS[c].kind, "fact") == 0 || strcmp(CHECKS[c].kind, "question") == 0;
        if (why) CHECK(name, 0, "%s: \"%s\"", why, buf);
        else CHECK(name, !partial || n_verified >= 20000 * 3 / 10, "only %d of 20000 lines were checked", n_verified);
    }
    /* every kind produces non-empty lines on its own */
    int empty = 0;
    Rng r = stream(3, 0);
    for (int k = 0; k < corpus_kind_count(); k++)
        for (int i = 0; i < 200; i++) if (corpus_kind_line(&G, k, &r, buf, sizeof buf) == 0) empty++;
    CHECK("every_kind_writes", empty == 0, "%d empty lines", empty);
}

static void test_truncation(void) {
    char big[CORPUS_LINE_MAX], small[24];
    int ok = 1;
    for (int i = 0; i < 2000 && ok; i++) {
        Rng r1 = stream((uint64_t)i, 0), r2 = stream((uint64_t)i, 0);
        corpus_line(&G, &r1, big, sizeof big);
        size_t n = corpus_line(&G, &r2, small, sizeof small);
        /* a short cap keeps a prefix of whole words */
        ok = n < sizeof small && strlen(small) == n && strncmp(big, small, n) == 0 &&
             (big[n] == '\0' || big[n] == ' ') && (n == 0 || small[n - 1] != ' ');
    }
    char one[1] = {'x'};
    Rng r = stream(1, 0);
    ok = ok && corpus_line(&G, &r, one, 1) == 0 && one[0] == '\0';
    ok = ok && corpus_line(&G, &r, NULL, 0) == 0;
    CHECK("short_cap_truncates_cleanly", ok, "bad prefix or terminator");
}

/* Distinct words via a set of 64-bit hashes (collisions are negligible here). */
typedef struct { uint64_t* slot; size_t cap, n; } HSet;
static void hs_add(HSet* s, const char* w, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)w[i]) * 1099511628211ULL;
    if (h == 0) h = 1;
    size_t i = (size_t)(h ^ (h >> 29)) & (s->cap - 1);
    while (s->slot[i] && s->slot[i] != h) i = (i + 1) & (s->cap - 1);
    if (!s->slot[i]) { s->slot[i] = h; s->n++; }
}

static void test_corpus_stats(void) {
    const int N = 200000;
    char buf[CORPUS_LINE_MAX];
    HSet all = {calloc_check(1 << 20, sizeof(uint64_t)), 1 << 20, 0};
    HSet alpha = {calloc_check(1 << 20, sizeof(uint64_t)), 1 << 20, 0};
    Rng r = stream(0, 0);
    uint64_t bytes = 0;
    size_t longest = 0;
    const char* bad = NULL;   /* the first broken line, kept for the message */
    char bad_line[CORPUS_LINE_MAX] = "";
    int bad_at = -1;
    for (int i = 0; i < N; i++) {
        size_t n = corpus_line(&G, &r, buf, sizeof buf);
        bytes += n;
        if (n > longest) longest = n;
        const char* why = NULL;
        if (n == 0) why = "empty line";
        else if (n >= CORPUS_LINE_MAX || strlen(buf) != n) why = "length";
        else if (buf[0] == ' ' || buf[n - 1] == ' ' || strstr(buf, "  ")) why = "stray space";
        for (size_t j = 0; j < n && !why; j++)
            if ((unsigned char)buf[j] < 0x20 || (unsigned char)buf[j] > 0x7e) why = "non-printable byte";
        if (why && !bad) { bad = why; bad_at = i; snprintf(bad_line, sizeof bad_line, "%s", buf); }
        for (char* p = buf; *p;) {
            char* e = strchr(p, ' ');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            hs_add(&all, p, len);
            int digit = 0;
            for (size_t j = 0; j < len; j++) digit |= isdigit((unsigned char)p[j]) != 0;
            if (!digit) hs_add(&alpha, p, len);
            p += len + (e != NULL);
        }
    }
    CHECK("lines_printable_one_line", !bad, "%s at line %d: \"%s\"", bad ? bad : "", bad_at, bad_line);
    double mean = (double)bytes / N;
    printf("  200000 lines: mean %.1f bytes, longest %zu, %zu distinct words (%zu without digits)\n",
           mean, longest, all.n, alpha.n);
    CHECK("distinct_words", all.n >= 40000 && alpha.n >= 40000,
          "%zu distinct (%zu without digits), want >= 40000 each", all.n, alpha.n);
    CHECK("mean_line_length", mean >= 50 && mean <= 70, "%.1f bytes, want 50..70", mean);
    free(all.slot);
    free(alpha.slot);
}

static void bench(void) {
    char buf[CORPUS_LINE_MAX];
    Rng r = stream(0, 0);
    uint64_t bytes = 0;
    double t0 = now_mono();
    for (int i = 0; i < 200000; i++) bytes += corpus_line(&G, &r, buf, sizeof buf);
    double dt = now_mono() - t0;
    printf("  speed: 200000 lines (%.1f MB) in %.3f s = %.0f lines/s, %.1f MB/s\n",
           bytes / 1e6, dt, 200000 / dt, bytes / 1e6 / dt);
}

int main(void) {
    corpus_init(&G);
    test_world();
    test_determinism();
    test_golden();
    test_no_suite_task_in_corpus();
    test_kind_weights();
    test_answers();
    test_truncation();
    test_corpus_stats();
    bench();
    return check_status();
}
