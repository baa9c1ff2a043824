/* tasks: the discovery tasks -- verifiable problems with graded rewards.
 *
 * Owns: the task families (reach, constrain, order), their generators (one
 * difficulty knob, integer rng draws only, so a seed gives the same tasks
 * everywhere), their deterministic verifiers (task_score, always in [0, 1], 1.0
 * only for a fully correct answer), the three prompt formats the model sees
 * (task prompt, refinement prompt, demonstration prompt), train/held-out splits
 * from one seed, and the tasks JSONL format with a strict loader.
 * Does not own: sampling or training (ttt, sdft), files other than the tasks
 * JSONL, flags. lib/data/corpus calls the generators and prompt builders here to write
 * its task lines, so the corpus teaches exactly the language the suite speaks.
 * Library code: never prints, never exits; errors return -1 and fill err.
 *
 * Formats (docs/tasks.md has examples). BODY is the task text, e.g.
 * "reach 24 with 3 5 8 2"; S is a score written by task_format_score ("0.46").
 *   task prompt           BODY :
 *   worked example        BODY : ATTEMPT ; score S
 *   refinement prompt     BODY ; previous ATTEMPT ; score S :
 *   demonstration prompt  BODY : DEMO ; score S . BODY :
 * A completion ends at "<eos>" or a newline; the verifier reads it up to the
 * first ';' (the " ; score S" the corpus shows after an answer is commentary). */
#ifndef DD_TASKS_H
#define DD_TASKS_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "rng.h"
#include "util.h"

#define TASK_DELIM " :"          /* every prompt ends with this */
#define TASK_MAX_ITEMS 8         /* numbers of a reach task, items of an order task */
#define TASK_WORD_MAX 16
#define TASK_PROMPT_MAX 256
#define TASK_ANSWER_MAX 160      /* an answer longer than this scores 0 */
#define TASK_ID_MAX 64
#define TASK_DIFF_MIN 1
#define TASK_DIFF_MAX 5

enum { TASK_REACH, TASK_CONSTRAIN, TASK_ORDER, TASK_N_FAMILIES };
enum { ORDER_UP, ORDER_DOWN, ORDER_ALPHA };

typedef struct {
    char    id[TASK_ID_MAX];
    char    split[16];                        /* "train" or "heldout" ("" when generated for the corpus) */
    int     family, difficulty;
    char    prompt[TASK_PROMPT_MAX];          /* BODY TASK_DELIM, derived from the params below */
    /* params */
    int64_t target;                           /* reach */
    int     n;                                /* reach: numbers; order: items */
    int64_t num[TASK_MAX_ITEMS];              /* reach numbers; order numbers (ORDER_UP/DOWN) */
    char    word[TASK_MAX_ITEMS][TASK_WORD_MAX]; /* order words (ORDER_ALPHA) */
    int     key;                              /* order: ORDER_UP, ORDER_DOWN, ORDER_ALPHA */
    int     length;                           /* constrain: letters, 0 = no constraint */
    char    starts[4], ends[4], contains[4];  /* constrain: "" = no constraint */
    char    answer[TASK_ANSWER_MAX];          /* one reference solution (reward 1.0) */
} Task;

const char* task_family_name(int family);     /* NULL when out of range */
int         task_family_find(const char* name); /* family, or -1 */
/* A family and the difficulty range its tasks are drawn from. */
typedef struct { int family, dmin, dmax; } TaskFamily;
/* "reach,constrain:4-5,order:2" -> fams[]: each family with its own range (":D" or
 * ":LO-HI"), or [dmin, dmax] when none is given. Returns the count (>= 1), or -1 with
 * err (unknown or repeated family, a range outside TASK_DIFF_MIN..TASK_DIFF_MAX). */
int         task_parse_families(const char* list, int dmin, int dmax, TaskFamily fams[TASK_N_FAMILIES], char err[ERR_LEN]);

/* A fresh task of `family` at `difficulty` (clamped to [TASK_DIFF_MIN, TASK_DIFF_MAX]):
 * params, prompt and answer; id and split are left empty. Never fails. */
void   task_generate(Rng* r, int family, int difficulty, Task* t);
/* 1 for the quarter of prompts (by a hash of the prompt text) kept for the discovery
 * suites: gen-tasks draws only these, the corpus (worked examples, refinements,
 * demonstrations) never shows them, so no suite task is in the pretraining data. */
int  task_reserved(const Task* t);
/* An attempt of random quality (exact, close, poor), as the corpus shows them. */
void   task_attempt(const Task* t, Rng* r, char* out, size_t cap);

/* The verifier. Reads the completion up to "<eos>", '\n' or ';'; surrounding
 * spaces are ignored. Empty, unparseable, overlong or non-ASCII answers score 0. */
double task_score(const Task* t, const char* completion, size_t len);
/* "0.46": two decimals, rounded down, so "1.00" appears only for a score of 1. */
void   task_format_score(double score, char out[8]);

/* Prompt builders: the length written, or -1 when cap is too small. The attempt
 * is cleaned the way task_score reads it (cut at ';' / newline, spaces collapsed). */
int    task_refine_prompt(const Task* t, const char* previous_attempt, double previous_score, char* out, size_t cap);
int    task_demo_prompt(const Task* t, const char* demo_solution, double demo_score, char* out, size_t cap);

/* The inverse of the prompt: fills family and params from a prompt (with or without
 * TASK_DELIM); answer and difficulty are left unset. 0, or -1 if it is no task. */
int    task_parse_prompt(const char* prompt, Task* t);

/* n_train + n_heldout tasks from one seed: families round-robin, difficulty
 * uniform in each family's [dmin, dmax], no prompt repeated within or across the splits (train
 * from stream 0, held-out from stream 1). *train and *heldout are malloc'd.
 * -1 with err when the range is too small for that many distinct prompts. */
int    tasks_make_splits(uint64_t seed, const TaskFamily* fams, int nfam, long n_train, long n_heldout,
                         Task** train, Task** heldout, char err[ERR_LEN]);

/* JSONL, one {id, family, prompt, params, split} per line; written atomically. */
json_t* task_to_json(const Task* t);
int     task_from_json(const json_t* o, Task* t, char why[ERR_LEN]);   /* 0 or -1 */
int     tasks_write_jsonl(const char* path, const Task* tasks, long n, char err[ERR_LEN]);
/* Strict: any malformed line, missing or unknown key, wrong type, unknown family,
 * params that do not give the prompt, or duplicate id -> -1 and "path:line: why".
 * Returns the count; *out is malloc'd (NULL when the file is empty). */
long    tasks_load_jsonl(const char* path, Task** out, char err[ERR_LEN]);

#endif
