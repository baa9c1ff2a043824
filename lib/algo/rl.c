/* rl: advantages, KL shaping and the PUCT archive of TTT-Discover. See rl.h. */
#include "rl.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- group advantages --------------------------------------------------- */

int rl_group_constant(const float* r, int n) {
    for (int i = 1; i < n; i++)
        if (r[i] != r[0]) return 0;
    return 1;
}

static float max_f(const float* r, int n) {
    float m = r[0];
    for (int i = 1; i < n; i++)
        if (r[i] > m) m = r[i];
    return m;
}

void rl_adv_entropic(const float* r, int n, double beta, float* A) {
    if (n < 2) {
        for (int i = 0; i < n; i++) A[i] = 0.0f;
        return;
    }
    double mx = max_f(r, n);
    double* e = malloc_check(sizeof(double) * 2 * (size_t)n);   // e (n,), suffix sums (n,)
    double* suf = e + n;
    for (int i = 0; i < n; i++) e[i] = exp(beta * ((double)r[i] - mx));
    /* suf[i] = Σ_{m>i} e_m; the prefix is accumulated on the way, so each
     * leave-one-out sum is pre + suf, never S − e_i */
    double acc = 0.0;
    for (int i = n - 1; i >= 0; i--) { suf[i] = acc; acc += e[i]; }
    double pre = 0.0;
    for (int i = 0; i < n; i++) {
        double loo = (pre + suf[i]) / (double)(n - 1);
        A[i] = (float)(e[i] / (loo + RL_ENTROPIC_EPS) - 1.0);
        pre += e[i];
    }
    free(e);
}

double rl_kl_uniform(const float* r, int n, double beta) {
    if (n < 2) return 0.0;
    double mx = max_f(r, n);
    double z = 0.0;
    for (int i = 0; i < n; i++) z += exp(beta * ((double)r[i] - mx));
    double logz = log(z), kl = 0.0;
    for (int i = 0; i < n; i++) {
        double lq = beta * ((double)r[i] - mx) - logz;   // log q_i
        kl += exp(lq) * lq;
    }
    return kl + log((double)n);
}

double rl_beta_adaptive(const float* r, int n) {
    if (n < 2) return RL_BETA_MAX;
    float mx = max_f(r, n);
    int top = 0;
    for (int i = 0; i < n; i++) top += (r[i] == mx);
    if (top == n) return RL_BETA_MAX;                  /* constant: no advantage to weigh */
    /* As β → ∞, q → uniform over the top ties and KL → ln(n/top). When that limit is
     * ≤ ln 2 (a pair with different rewards; half the group or more tied at the top)
     * ln 2 is never reached: the target is then half the limit, so β stays finite
     * (a lone top sample of a pair would otherwise get A = e^{βΔ} − 1 ≈ 1e12). */
    const double limit = log((double)n / top);
    const double target = limit > log(2.0) ? log(2.0) : 0.5 * limit;
    double lo = 0.0, hi = 1.0;
    while (rl_kl_uniform(r, n, hi) < target) {
        if (hi >= RL_BETA_MAX) return RL_BETA_MAX;
        lo = hi;
        hi = fmin(2.0 * hi, RL_BETA_MAX);
    }
    for (int it = 0; it < 60; it++) {
        double mid = 0.5 * (lo + hi);
        if (rl_kl_uniform(r, n, mid) < target) lo = mid; else hi = mid;
    }
    return hi;
}

void rl_adv_expected(const float* r, int n, float* A) {
    if (n < 1) return;
    double s = 0.0;
    for (int i = 0; i < n; i++) s += r[i];
    double mean = s / n;
    for (int i = 0; i < n; i++) A[i] = (float)((double)r[i] - mean);
}

int rl_group_advantages(const float* r, int n, RlObjective obj, double beta, int adaptive,
                        float* A, double* beta_used) {
    if (beta_used) *beta_used = 0.0;
    if (rl_group_constant(r, n)) {
        for (int i = 0; i < n; i++) A[i] = 0.0f;
        return 0;
    }
    if (obj == RL_OBJ_EXPECTED) {
        rl_adv_expected(r, n, A);
        return 1;
    }
    double b = adaptive ? rl_beta_adaptive(r, n) : beta;
    if (beta_used) *beta_used = b;
    rl_adv_entropic(r, n, b, A);
    return 1;
}

double rl_kl_shape(const float* A_seq, const int* seq_of, const float* nll, const float* nll_base, long ntok,
                   double lambda, double* A_tok) {
    double s = 0.0;
    long n = 0;
    for (long t = 0; t < ntok; t++)
        if (seq_of[t] >= 0) { s += nll_base[t] - nll[t]; n++; }   /* d_t in float, summed in double */
    double mean_d = n > 0 ? s / n : 0.0;
    for (long t = 0; t < ntok; t++) {
        if (seq_of[t] < 0) { A_tok[t] = 0; continue; }
        double d = nll_base[t] - nll[t];
        A_tok[t] = A_seq[seq_of[t]] + lambda * (mean_d - d);
    }
    return mean_d;
}

/* ---- PUCT archive ------------------------------------------------------- */

typedef struct {
    char*  text;      // NULL once dead
    double reward;    // R(s)
    double q;         // best child reward, meaningful when expanded
    long   n;         // expansions of s and its descendants
    int    parent;    // −1 for the seed; a live id for live states
    int    expanded;
    int    alive;
} RlState;

struct RlArchive {
    int      cap;     // most live states
    long     T;       // all expansions
    RlState* s;       // (len,) indexed by id
    int      len, s_cap;
    int*     live;    // (nlive,) live ids, ascending
    int      nlive;
};

static int add_state(RlArchive* a, const char* text, double reward, int parent) {
    if (a->len == a->s_cap) {
        a->s_cap = a->s_cap ? 2 * a->s_cap : 16;
        a->s = realloc_check(a->s, sizeof(RlState) * (size_t)a->s_cap);
    }
    int id = a->len++;
    a->s[id] = (RlState){ strdup_check(text), reward, 0.0, 0, parent, 0, 1 };
    a->live[a->nlive++] = id;   // ids grow, so the live list stays sorted
    return id;
}

static RlArchive* archive_alloc(int cap) {
    RlArchive* a = calloc_check(1, sizeof(RlArchive));
    a->cap = cap;
    a->live = malloc_check(sizeof(int) * (size_t)(cap + 2));
    return a;
}

RlArchive* rl_archive_new(int cap, const char* seed_text, double seed_reward) {
    if (cap < 2 || !isfinite(seed_reward)) return NULL;
    RlArchive* a = archive_alloc(cap);
    add_state(a, seed_text ? seed_text : "", seed_reward, -1);
    return a;
}

void rl_archive_free(RlArchive* a) {
    if (!a) return;
    for (int i = 0; i < a->len; i++) free(a->s[i].text);
    free(a->s);
    free(a->live);
    free(a);
}

int rl_archive_len(const RlArchive* a) { return a->len; }
int rl_archive_size(const RlArchive* a) { return a->nlive; }
int rl_archive_cap(const RlArchive* a) { return a->cap; }
long rl_archive_total(const RlArchive* a) { return a->T; }
static int valid(const RlArchive* a, int id) { return id >= 0 && id < a->len; }
int rl_archive_alive(const RlArchive* a, int id) { return valid(a, id) && a->s[id].alive; }
const char* rl_archive_text(const RlArchive* a, int id) { return valid(a, id) ? a->s[id].text : NULL; }
double rl_archive_reward(const RlArchive* a, int id) { return valid(a, id) ? a->s[id].reward : NAN; }
int rl_archive_parent(const RlArchive* a, int id) { return valid(a, id) ? a->s[id].parent : -1; }
long rl_archive_count(const RlArchive* a, int id) { return valid(a, id) ? a->s[id].n : 0; }
double rl_archive_q(const RlArchive* a, int id) {
    if (!valid(a, id)) return NAN;
    return a->s[id].expanded ? a->s[id].q : a->s[id].reward;
}

int rl_archive_best(const RlArchive* a) {
    int best = a->live[0];
    for (int i = 1; i < a->nlive; i++)
        if (a->s[a->live[i]].reward > a->s[best].reward) best = a->live[i];
    return best;
}

/* rank 0 = highest reward, ties by lower id: the number of live states that
 * come before id in that order */
static int rank_of(const RlArchive* a, int id) {
    int rank = 0;
    double r = a->s[id].reward;
    for (int i = 0; i < a->nlive; i++) {
        int j = a->live[i];
        if (a->s[j].reward > r || (a->s[j].reward == r && j < id)) rank++;
    }
    return rank;
}

static double archive_scale(const RlArchive* a) {
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < a->nlive; i++) {
        double r = a->s[a->live[i]].reward;
        lo = fmin(lo, r);
        hi = fmax(hi, r);
    }
    return fmax(hi - lo, 1e-6);
}

static double score_with(const RlArchive* a, int id, double c, double scale) {
    double N = a->nlive;
    double P = (N - rank_of(a, id)) / (N * (N + 1.0) / 2.0);
    return rl_archive_q(a, id) + c * scale * P * sqrt(1.0 + (double)a->T) / (1.0 + (double)a->s[id].n);
}

double rl_archive_score(const RlArchive* a, int id, double c) {
    if (!rl_archive_alive(a, id)) return NAN;
    return score_with(a, id, c, archive_scale(a));
}

/* 1 when anc is id or one of its ancestors (live chains end at the seed) */
static int is_ancestor(const RlArchive* a, int anc, int id) {
    for (int p = id; p >= 0; p = a->s[p].parent)
        if (p == anc) return 1;
    return 0;
}

int rl_archive_select(const RlArchive* a, int k, double c, int* out) {
    int N = a->nlive;
    double scale = archive_scale(a);
    double* sc = malloc_check(sizeof(double) * (size_t)N);   // (N,) scores of live[i]
    char* blocked = calloc_check((size_t)N, 1);
    for (int i = 0; i < N; i++) sc[i] = score_with(a, a->live[i], c, scale);
    int nblocked = 0;
    for (int got = 0; got < k; got++) {
        if (nblocked == N) { memset(blocked, 0, (size_t)N); nblocked = 0; }
        int bi = -1;
        for (int i = 0; i < N; i++)   // ascending ids: strict > keeps the lower id on ties
            if (!blocked[i] && (bi < 0 || sc[i] > sc[bi])) bi = i;
        int pick = a->live[bi];
        out[got] = pick;
        for (int i = 0; i < N; i++) {
            int s = a->live[i];
            if (!blocked[i] && (is_ancestor(a, s, pick) || is_ancestor(a, pick, s))) {
                blocked[i] = 1;
                nblocked++;
            }
        }
    }
    free(sc);
    free(blocked);
    return k;
}

/* Remove live state id: free its text, move its children up to its parent. */
static void remove_state(RlArchive* a, int id) {
    RlState* st = &a->s[id];
    for (int i = 0; i < a->nlive; i++)
        if (a->s[a->live[i]].parent == id) a->s[a->live[i]].parent = st->parent;
    free(st->text);
    st->text = NULL;
    st->alive = 0;
    int i = 0;
    while (a->live[i] != id) i++;
    memmove(a->live + i, a->live + i + 1, sizeof(int) * (size_t)(a->nlive - i - 1));
    a->nlive--;
}

int rl_archive_expand(RlArchive* a, int parent, const char* text, double reward) {
    if (!valid(a, parent) || !isfinite(reward) || !text) return -2;
    int p = parent;
    while (!a->s[p].alive) p = a->s[p].parent;   // the seed is never evicted
    RlState* ps = &a->s[p];
    ps->q = ps->expanded ? fmax(ps->q, reward) : reward;
    ps->expanded = 1;
    for (int q = p; q >= 0; q = a->s[q].parent) a->s[q].n++;
    a->T++;

    if (!(reward > 0.0)) return -1;
    for (int i = 0; i < a->nlive; i++)
        if (strcmp(a->s[a->live[i]].text, text) == 0) return -1;
    int nchild = 0, worst = -1;
    for (int i = 0; i < a->nlive; i++) {
        int j = a->live[i];
        if (a->s[j].parent != p) continue;
        nchild++;
        if (worst < 0 || a->s[j].reward <= a->s[worst].reward) worst = j;   // ties: newest
    }
    if (nchild >= 2) {
        if (!(reward > a->s[worst].reward)) return -1;
        remove_state(a, worst);
    }
    int id = add_state(a, text, reward, p);
    while (a->nlive > a->cap) {
        int best = rl_archive_best(a), victim = -1;
        for (int i = 0; i < a->nlive; i++) {
            int j = a->live[i];
            if (j == 0 || j == best) continue;
            if (victim < 0 || a->s[j].reward <= a->s[victim].reward) victim = j;   // ties: newest
        }
        remove_state(a, victim);   // cap ≥ 2, so a victim exists whenever nlive > cap
    }
    return a->s[id].alive ? id : -1;
}

/* ---- JSON --------------------------------------------------------------- */

json_t* rl_archive_to_json(const RlArchive* a) {
    json_t* states = json_array();
    for (int i = 0; i < a->len; i++) {
        const RlState* s = &a->s[i];
        json_t* o = json_pack("{s:f, s:i, s:I, s:f, s:b, s:b}",
            "reward", s->reward, "parent", s->parent, "n", (json_int_t)s->n,
            "q", s->expanded ? s->q : 0.0, "expanded", s->expanded, "alive", s->alive);
        /* model output need not be UTF-8: such text is kept losslessly as hex */
        json_t* t = s->text ? json_string(s->text) : json_null();
        if (t) json_object_set_new(o, "text", t);
        else {
            size_t L = strlen(s->text);
            char* hex = malloc_check(2 * L + 1);
            for (size_t k = 0; k < L; k++) snprintf(hex + 2 * k, 3, "%02x", (unsigned char)s->text[k]);
            json_object_set_new(o, "text", json_null());
            json_object_set_new(o, "text_hex", json_string(hex));
            free(hex);
        }
        json_array_append_new(states, o);
    }
    return json_pack("{s:i, s:i, s:I, s:o}", "version", 1, "cap", a->cap,
                     "T", (json_int_t)a->T, "states", states);
}

/* hex text back to bytes; NULL when malformed or when it holds a NUL byte */
static char* unhex(const char* h) {
    size_t L = strlen(h);
    if (L % 2) return NULL;
    char* out = malloc_check(L / 2 + 1);
    for (size_t k = 0; k < L / 2; k++) {
        unsigned v;
        if (sscanf(h + 2 * k, "%2x", &v) != 1 || v == 0 || !isxdigit((unsigned char)h[2 * k]) ||
            !isxdigit((unsigned char)h[2 * k + 1])) { free(out); return NULL; }
        out[k] = (char)v;
    }
    out[L / 2] = 0;
    return out;
}

#define FAIL(...) do { errf(err, __VA_ARGS__); rl_archive_free(a); return NULL; } while (0)

RlArchive* rl_archive_from_json(const json_t* j, char err[ERR_LEN]) {
    RlArchive* a = NULL;
    const json_t* cap = json_object_get(j, "cap");
    const json_t* T = json_object_get(j, "T");
    const json_t* states = json_object_get(j, "states");
    if (!json_is_integer(cap) || !json_is_integer(T) || !json_is_array(states))
        FAIL("rl archive: expected integer \"cap\", \"T\" and array \"states\"");
    if (json_integer_value(cap) < 2 || json_integer_value(cap) > 100000000)
        FAIL("rl archive: cap %lld out of range", (long long)json_integer_value(cap));
    size_t ns = json_array_size(states);
    if (ns < 1) FAIL("rl archive: no seed state");
    a = archive_alloc((int)json_integer_value(cap));
    a->T = (long)json_integer_value(T);
    for (size_t i = 0; i < ns; i++) {
        const json_t* o = json_array_get(states, i);
        const json_t *tx = json_object_get(o, "text"), *rw = json_object_get(o, "reward"),
                     *pa = json_object_get(o, "parent"), *n = json_object_get(o, "n"),
                     *q = json_object_get(o, "q"), *ex = json_object_get(o, "expanded"),
                     *al = json_object_get(o, "alive");
        if (!json_is_number(rw) || !json_is_integer(pa) || !json_is_integer(n) ||
            !json_is_number(q) || !json_is_boolean(ex) || !json_is_boolean(al))
            FAIL("rl archive: state %zu: missing or mistyped field", i);
        int alive = json_is_true(al);
        long long par = json_integer_value(pa);
        if (i == 0 ? (par != -1 || !alive) : (par < 0 || par >= (long long)i))
            FAIL("rl archive: state %zu: bad parent %lld", i, par);
        if (alive && i > 0 && !a->s[par].alive)
            FAIL("rl archive: state %zu: live state with dead parent %lld", i, par);
        if (alive && a->nlive >= a->cap)
            FAIL("rl archive: more live states than cap %d", a->cap);
        double reward = json_number_value(rw), qv = json_number_value(q);
        if (!isfinite(reward) || !isfinite(qv) || json_integer_value(n) < 0)
            FAIL("rl archive: state %zu: bad reward, q or n", i);
        const json_t* hx = json_object_get(o, "text_hex");
        char* text = NULL;
        if (alive && json_is_string(tx)) text = strdup_check(json_string_value(tx));
        else if (alive && json_is_string(hx)) text = unhex(json_string_value(hx));
        if (alive ? !text : !json_is_null(tx))
            FAIL("rl archive: state %zu: text must be a string (or \"text_hex\") when alive, null when dead", i);
        add_state(a, alive ? text : "", reward, (int)par);
        free(text);
        RlState* s = &a->s[i];
        s->n = (long)json_integer_value(n);
        s->expanded = json_is_true(ex);
        s->q = qv;
        if (!alive) {
            free(s->text);
            s->text = NULL;
            s->alive = 0;
            a->nlive--;   // add_state appended it last
        }
    }
    return a;
}

char* rl_archive_dumps(const RlArchive* a) {
    json_t* j = rl_archive_to_json(a);
    char* s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(j);
    return s;
}

RlArchive* rl_archive_loads(const char* s, char err[ERR_LEN]) {
    json_error_t je;
    json_t* j = json_loads(s, 0, &je);
    if (!j) {
        errf(err, "rl archive: %d:%d: %s", je.line, je.column, je.text);
        return NULL;
    }
    RlArchive* a = rl_archive_from_json(j, err);
    json_decref(j);
    return a;
}
