/* rl: the reinforcement-learning math of test-time training (TTT-Discover,
 * SPEC §6 "Discovery suite" and §12 "TTT step").
 *
 * Owns: group advantages (entropic leave-one-out with fixed or adaptive β,
 * expected reward), the per-token KL shaping of advantages, and the PUCT
 * archive of earlier solutions used by `--reuse 1` (selection, expansion,
 * capping, JSON serialisation for bit-exact resume).
 * Does not own: sampling, verifiers, the loss or the optimizer step, prompts
 * (the caller turns an archive state's text into a refinement prompt).
 * Pure computation: never prints, never exits. Arithmetic is in double; results
 * that feed the model are stored as float. */
#ifndef DD_RL_H
#define DD_RL_H
#include <jansson.h>
#include "util.h"

#define RL_ENTROPIC_EPS 1e-12   /* added to the leave-one-out mean (SPEC §12) */
#define RL_BETA_MAX     1e6     /* adaptive β cap (also a constant group's β) */
#define RL_BETA_DEFAULT 2.0     /* fixed β default */
#define RL_PUCT_C       1.0     /* PUCT exploration constant default */

/* ---- group advantages --------------------------------------------------- */

/* 1 when all n rewards are equal (bitwise float equality) or n < 2: such a group
 * is dropped entirely, no policy or KL term (SPEC §12). */
int rl_group_constant(const float* r, int n);

/* Leave-one-out entropic advantages, r (n,) -> A (n,):
 *   e_n = exp(β (r_n − max r)),  A_n = e_n / (mean_{m≠n} e_m + 1e-12) − 1.
 * The max shift keeps every e_n in (0, 1]; the leave-one-out sums come from
 * prefix and suffix sums (no S − e_n cancellation when one e dominates). n < 2
 * gives A = 0. A may alias nothing. */
void rl_adv_entropic(const float* r, int n, double beta, float* A);

/* KL(softmax(β r) ‖ uniform) = Σ q log q + ln n, computed with the max shift. */
double rl_kl_uniform(const float* r, int n, double beta);

/* Adaptive β: the β with KL(softmax(β r) ‖ uniform) = ln 2. Doubling from 1
 * (capped at 1e6) while KL < ln 2, then 60 bisection steps on [lo, hi] (lo = the
 * last β below the target, 0 if β = 1 already reaches it); returns hi. When at
 * least half the group ties at the top (this includes constant groups and every
 * group of 2), KL stays below ln 2 for all β and 1e6 is returned; when the target
 * is reachable but needs β > 1e6 (tiny reward gaps), 1e6 is returned too. */
double rl_beta_adaptive(const float* r, int n);

/* Expected-reward advantages: A_n = r_n − mean r (mean in double). */
void rl_adv_expected(const float* r, int n, float* A);

typedef enum { RL_OBJ_ENTROPIC = 0, RL_OBJ_EXPECTED = 1 } RlObjective;

/* One group's advantages as a TTT step uses them. Returns 0 when the group is
 * dropped (rl_group_constant; A is zeroed), else 1. For entropic, β = beta, or
 * rl_beta_adaptive(r) when adaptive; *beta_used (may be NULL) gets the β used
 * (0 for expected or dropped groups). */
int rl_group_advantages(const float* r, int n, RlObjective obj, double beta, int adaptive,
                        float* A, double* beta_used);

/* Per-token KL shaping of a step's training batch, in the layout the model's losses come
 * in: ntok positions, of which those with seq_of[t] >= 0 are sampled tokens of completion
 * seq_of[t] (the others, prompt and padding, are not trained on):
 *   d_t = log π_θ(x_t) − log π_base(x_t) = nll_base_t − nll_t,
 *   A_t = A_seq[seq_of[t]] + λ (mean_t d − d_t),   the mean over the sampled tokens.
 * nll, nll_base (ntok,): −log π_θ and −log π_base (the adapter off), as model_losses
 * gives them; A_seq (nseq,) per-completion advantages; A_tok (ntok,) out, 0 where
 * seq_of[t] < 0. d_t is the float difference of the two losses; the mean and A_t are
 * double and stay double (the TTT loss is Σ A_t nll_t / completions, its gradient weight
 * A_t / completions, rounded to float once). Returns mean d (0 without sampled tokens).
 * The shaping term has mean zero over the tokens, so the token mean of A_t equals the
 * token mean of A_seq[seq(t)]. */
double rl_kl_shape(const float* A_seq, const int* seq_of, const float* nll, const float* nll_base, long ntok,
                   double lambda, double* A_tok);

/* ---- PUCT archive (SPEC §12 "PUCT reuse") ------------------------------- */
/* States are identified by ids that are never reused: 0 is the seed (the bare
 * prompt), each admitted child gets the next id. Evicted states stay as dead
 * ids (text freed, parent kept), so an id handed out by rl_archive_select is
 * always a valid argument to rl_archive_expand even if the state was evicted
 * in between: the expansion is then recorded on its nearest live ancestor.
 *
 * One rl_archive_expand call = one expansion = one sampled child of a state.
 * n(s) counts expansions of s and its descendants (updated along the ancestor
 * chain at expansion time; evictions do not undo it), T counts all expansions, Q(s) = the best reward among all
 * children sampled from s (admitted or not) once s was expanded, else R(s).
 *
 * score(s) = Q(s) + c · scale · P(s) · √(1 + T) / (1 + n(s)),
 *   scale = max R − min R over live states (at least 1e-6),
 *   P(s)  = (N − rank(s)) / (N (N + 1) / 2), N live states, rank 0 = highest
 *           reward, ties ranked by lower id first (distinct ranks). */
typedef struct RlArchive RlArchive;

/* A new archive holding only the seed (id 0, text seed_text, reward
 * seed_reward, e.g. 0). cap counts live states including the seed; cap < 2 or a
 * non-finite seed_reward gives NULL. */
RlArchive* rl_archive_new(int cap, const char* seed_text, double seed_reward);
void       rl_archive_free(RlArchive* a);

/* Pick k start states into out (k,): the best score (ties: lower id), block its
 * lineage (itself, its ancestors and its descendants), repeat. When every live
 * state is blocked before k are chosen, the blocks are cleared and picking goes
 * on (so a seed-only archive gives k copies of 0). Returns k. */
int rl_archive_select(const RlArchive* a, int k, double c, int* out);

/* Record one expansion of `parent` that produced `text` with `reward`, then
 * maybe admit it as a child. Admission: reward > 0, text differs from every
 * live state's text, and the parent has fewer than 2 live children, or the new
 * reward is strictly above its worst child's (lowest reward, ties: newest),
 * which is then removed (its children move up to the parent). Then, while
 * more than cap states are live, evict the lowest-reward state that is neither
 * the seed nor the best (ties: newest first); its children move up to its
 * parent. The top-2 rule is checked at admission: moved-up children can leave a
 * parent with more than 2 for a while.
 * Returns the child's id when it is live after the call, -1 when not admitted
 * (or evicted at once), -2 for a bad parent id or a non-finite reward. */
int rl_archive_expand(RlArchive* a, int parent, const char* text, double reward);

int         rl_archive_len(const RlArchive* a);      /* ids handed out (live and dead) */
int         rl_archive_size(const RlArchive* a);     /* live states N */
int         rl_archive_cap(const RlArchive* a);
long        rl_archive_total(const RlArchive* a);    /* T */
int         rl_archive_alive(const RlArchive* a, int id);
const char* rl_archive_text(const RlArchive* a, int id);    /* NULL when dead */
double      rl_archive_reward(const RlArchive* a, int id);
int         rl_archive_parent(const RlArchive* a, int id);  /* −1 for the seed */
long        rl_archive_count(const RlArchive* a, int id);   /* n(s) */
double      rl_archive_q(const RlArchive* a, int id);       /* Q(s) */
double      rl_archive_score(const RlArchive* a, int id, double c); /* live ids */
int         rl_archive_best(const RlArchive* a);     /* highest reward, ties: lower id */

/* JSON: {"version":1,"cap":..,"T":..,"states":[{"text","reward","parent","n",
 * "q","expanded","alive"}, ...]} indexed by id (dead states: text null; text
 * that is not UTF-8 goes to "text_hex" instead); doubles are written with 17
 * significant digits, so a loaded archive behaves bit-identically. */
json_t*    rl_archive_to_json(const RlArchive* a);
RlArchive* rl_archive_from_json(const json_t* j, char err[ERR_LEN]);
char*      rl_archive_dumps(const RlArchive* a);     /* malloc'd, caller frees */
RlArchive* rl_archive_loads(const char* s, char err[ERR_LEN]);

#endif
