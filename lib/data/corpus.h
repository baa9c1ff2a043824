/* corpus: the synthetic language the base model is pretrained on.
 *
 * Owns: a deterministic generator of one-line examples (ASCII, no '\n', at most
 * CORPUS_LINE_MAX - 1 bytes), the registry of line kinds ("families") with their
 * integer weights, and the fixed "world" of named entities (countries, cities,
 * rivers, people) whose facts stay consistent across every line and every seed.
 * Generation uses only integer rng draws, so a (seed, stream) gives byte-identical
 * text on every platform. Library code: never prints, never exits.
 * Does not own: files, flags, seeds or line counts (tools/gen-corpus), the
 * tokenizer, or the discovery tasks' verifiers (lib/data/tasks) -- though the
 * arithmetic and list notation below is meant to be shared with those tasks.
 *
 * Kinds (docs/corpus.md has examples and default weights):
 *   sentence relative compound story   grammar with agreement, tense, pronouns
 *   arith multistep compare sequence sort listop   numbers
 *   fact question record               facts about the world's entities
 *   task_example task_refine task_demo the discovery tasks' language (lib/data/tasks.h)
 *
 * Notation shared with tasks: tokens are separated by single spaces; integers are
 * decimal with a leading '-' only when negative ("5 - 9 = -4"); operators + - * /
 * and parentheses are tokens of their own ("( 3 + 4 ) * 2 = 14"); usual precedence,
 * left-associative; "=" introduces a value (a chain "3 + 4 * 2 = 3 + 8 = 11" shows
 * one reduction per step); " : " separates a request from its answer
 * ("sort 7 3 9 1 : 1 3 7 9"); lists are space-separated.
 *
 * Usage: CorpusGen g; corpus_init(&g); Rng r; rng_seed(&r, seed);
 *        Rng tr = rng_split(&r, 0); ... corpus_line(&g, &tr, buf, sizeof buf);
 * Adding a family: write one generator function in corpus.c and add a row {name, weight, fn} to KINDS[]. */
#ifndef DD_CORPUS_H
#define DD_CORPUS_H
#include <stddef.h>
#include <stdint.h>
#include "rng.h"

#define CORPUS_LINE_MAX 1024   /* buffer size callers must provide (line + NUL) */
#define CORPUS_MAX_KINDS 32    /* room for the task families still to come */

/* World sizes: small enough that a ~1M-parameter model can learn part of the
 * facts, large enough that it cannot just memorise every line. */
#define CORPUS_NAME_LEN 16                 /* longest name + NUL */
#define CORPUS_N_COUNTRIES 32              /* on an 8 x 4 grid: "north of" is derivable */
#define CORPUS_CITIES_PER_COUNTRY 8        /* city c lies in country c / 8; c % 8 == 0 is the capital */
#define CORPUS_N_CITIES (CORPUS_N_COUNTRIES * CORPUS_CITIES_PER_COUNTRY)
#define CORPUS_N_RIVERS 48
#define CORPUS_N_PEOPLE 512
#define CORPUS_N_NAMES (CORPUS_N_COUNTRIES + CORPUS_N_CITIES + CORPUS_N_RIVERS + CORPUS_N_PEOPLE)

typedef struct {
    uint32_t weight[CORPUS_MAX_KINDS];   /* relative frequency of each kind; 0 turns it off */
    /* The world. Built by corpus_init from a fixed internal seed, so train, val and
     * every corpus seed talk about the same entities. */
    char     country[CORPUS_N_COUNTRIES][CORPUS_NAME_LEN];
    uint8_t  country_x[CORPUS_N_COUNTRIES], country_y[CORPUS_N_COUNTRIES]; /* y grows southwards */
    char     city[CORPUS_N_CITIES][CORPUS_NAME_LEN];
    uint8_t  city_river[CORPUS_N_CITIES];
    int32_t  city_pop[CORPUS_N_CITIES];
    char     river[CORPUS_N_RIVERS][CORPUS_NAME_LEN];
    char     person[CORPUS_N_PEOPLE][CORPUS_NAME_LEN];
    uint16_t person_city[CORPUS_N_PEOPLE];
    uint8_t  person_job[CORPUS_N_PEOPLE], person_age[CORPUS_N_PEOPLE], person_female[CORPUS_N_PEOPLE];
    uint64_t name_hash[CORPUS_N_NAMES];  /* sorted; keeps made-up names from shadowing world names */
} CorpusGen;

/* Build the world and set the default weights. Deterministic, ~1 ms. */
void corpus_init(CorpusGen* g);

/* One line of a kind drawn by weight. Writes at most cap - 1 bytes plus a NUL and
 * returns the length; cap >= CORPUS_LINE_MAX guarantees a whole line (smaller caps
 * truncate at a word boundary). Returns 0 when every weight is 0. */
size_t corpus_line(const CorpusGen* g, Rng* r, char* buf, size_t cap);

/* The two halves of corpus_line, for tests and for callers that need the kind:
 * corpus_line(g, r, ...) == corpus_kind_line(g, corpus_pick_kind(g, r), r, ...). */
int    corpus_pick_kind(const CorpusGen* g, Rng* r);   /* -1 when every weight is 0 */
size_t corpus_kind_line(const CorpusGen* g, int kind, Rng* r, char* buf, size_t cap);

int         corpus_kind_count(void);
const char* corpus_kind_name(int k);           /* NULL when out of range */
uint32_t    corpus_kind_default_weight(int k);
int         corpus_kind_find(const char* name); /* index, or -1 */
int         corpus_set_weight(CorpusGen* g, const char* name, uint32_t w); /* 0, or -1: unknown kind */

#endif
