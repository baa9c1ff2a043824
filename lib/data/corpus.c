/* corpus: the synthetic language. See corpus.h for what this module owns.
 *
 * Layout: word tables, a tiny line writer (Out), made-up names, the world, then one
 * generator per kind and the KINDS[] registry at the bottom. Every choice is an
 * integer rng draw (rng_below / rng_range / rng_chance), never a float, so the
 * text is identical everywhere. Generators never fail: a draw that would break an
 * invariant (a negative intermediate value, two equal ages) is redrawn or replaced
 * by a safe fallback, so the rng stream advances the same way on every platform.
 * One rule keeps that true across compilers: never two draws in the arguments of
 * one call (C leaves their order unspecified; gcc and clang differ). Draw into a
 * local first. */
#include "corpus.h"
#include "tasks.h"
#include <stdlib.h>
#include <string.h>

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------------------- */
/* Line writer: words joined by single spaces, never past cap - 1.            */

typedef struct {
    char*  s;
    size_t n, cap;   /* cap counts the NUL */
    int    full;     /* once a word did not fit, nothing more is written */
} Out;

static void out_raw(Out* o, const char* w, size_t k) {
    if (o->full || o->n + k + 1 > o->cap) { o->full = 1; return; }
    memcpy(o->s + o->n, w, k);
    o->n += k;
    o->s[o->n] = '\0';
}

/* One word, preceded by a space unless it starts the line. The space and the word
 * go in together so a truncated line never ends in a dangling space. */
static void w1(Out* o, const char* word, size_t k) {
    if (o->n == 0) { out_raw(o, word, k); return; }
    if (o->full || o->n + k + 2 > o->cap) { o->full = 1; return; }
    o->s[o->n++] = ' ';
    out_raw(o, word, k);
}

/* Words: "which river flows through" may be passed whole; it is still written
 * word by word, so a short cap keeps exactly the words that fit. */
static void w(Out* o, const char* words) {
    for (const char* p = words;;) {
        const char* e = strchr(p, ' ');
        w1(o, p, e ? (size_t)(e - p) : strlen(p));
        if (!e) return;
        p = e + 1;
    }
}

static void wnum(Out* o, int64_t v) {
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    *--p = '\0';
    do { *--p = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) *--p = '-';
    w(o, p);
}

#define PICK(r, arr) ((arr)[rng_below((r), (uint32_t)NELEM(arr))])

/* ------------------------------------------------------------------------- */
/* Word tables. Semantic classes restrict which subjects and objects a verb   */
/* takes, so there is structure to learn beyond word order.                   */

enum { C_ANIM = 1, C_HUM = 2, C_OBJ = 4, C_FOOD = 8, C_PLACE = 16, C_ANY = 31 };

typedef struct { const char *sg, *pl; uint8_t cls; char gender; } Noun;  /* gender: m f or n */
static const Noun NOUNS[] = {
    {"fox", "foxes", C_ANIM, 'n'}, {"dog", "dogs", C_ANIM, 'n'}, {"cat", "cats", C_ANIM, 'n'},
    {"horse", "horses", C_ANIM, 'n'}, {"bird", "birds", C_ANIM, 'n'}, {"wolf", "wolves", C_ANIM, 'n'},
    {"mouse", "mice", C_ANIM, 'n'}, {"goose", "geese", C_ANIM, 'n'}, {"sheep", "sheep", C_ANIM, 'n'},
    {"bear", "bears", C_ANIM, 'n'}, {"owl", "owls", C_ANIM, 'n'}, {"goat", "goats", C_ANIM, 'n'},
    {"rabbit", "rabbits", C_ANIM, 'n'}, {"crow", "crows", C_ANIM, 'n'}, {"deer", "deer", C_ANIM, 'n'},
    {"ox", "oxen", C_ANIM, 'n'}, {"frog", "frogs", C_ANIM, 'n'}, {"bee", "bees", C_ANIM, 'n'},
    {"man", "men", C_HUM, 'm'}, {"woman", "women", C_HUM, 'f'}, {"child", "children", C_HUM, 'n'},
    {"king", "kings", C_HUM, 'm'}, {"queen", "queens", C_HUM, 'f'}, {"girl", "girls", C_HUM, 'f'},
    {"boy", "boys", C_HUM, 'm'}, {"farmer", "farmers", C_HUM, 'n'}, {"teacher", "teachers", C_HUM, 'n'},
    {"sailor", "sailors", C_HUM, 'n'}, {"baker", "bakers", C_HUM, 'n'}, {"doctor", "doctors", C_HUM, 'n'},
    {"soldier", "soldiers", C_HUM, 'n'}, {"merchant", "merchants", C_HUM, 'n'},
    {"stranger", "strangers", C_HUM, 'n'}, {"thief", "thieves", C_HUM, 'n'},
    {"hunter", "hunters", C_HUM, 'n'}, {"guard", "guards", C_HUM, 'n'}, {"painter", "painters", C_HUM, 'n'},
    {"ship", "ships", C_OBJ, 'n'}, {"box", "boxes", C_OBJ, 'n'}, {"key", "keys", C_OBJ, 'n'},
    {"book", "books", C_OBJ, 'n'}, {"knife", "knives", C_OBJ, 'n'}, {"stone", "stones", C_OBJ, 'n'},
    {"lamp", "lamps", C_OBJ, 'n'}, {"cup", "cups", C_OBJ, 'n'}, {"coin", "coins", C_OBJ, 'n'},
    {"rope", "ropes", C_OBJ, 'n'}, {"wheel", "wheels", C_OBJ, 'n'}, {"sword", "swords", C_OBJ, 'n'},
    {"basket", "baskets", C_OBJ, 'n'}, {"letter", "letters", C_OBJ, 'n'}, {"map", "maps", C_OBJ, 'n'},
    {"bell", "bells", C_OBJ, 'n'}, {"hat", "hats", C_OBJ, 'n'}, {"ring", "rings", C_OBJ, 'n'},
    {"bottle", "bottles", C_OBJ, 'n'}, {"cart", "carts", C_OBJ, 'n'}, {"drum", "drums", C_OBJ, 'n'},
    {"mirror", "mirrors", C_OBJ, 'n'}, {"blanket", "blankets", C_OBJ, 'n'}, {"chair", "chairs", C_OBJ, 'n'},
    {"apple", "apples", C_FOOD, 'n'}, {"pear", "pears", C_FOOD, 'n'}, {"egg", "eggs", C_FOOD, 'n'},
    {"cake", "cakes", C_FOOD, 'n'}, {"potato", "potatoes", C_FOOD, 'n'}, {"tomato", "tomatoes", C_FOOD, 'n'},
    {"cherry", "cherries", C_FOOD, 'n'}, {"berry", "berries", C_FOOD, 'n'}, {"nut", "nuts", C_FOOD, 'n'},
    {"loaf", "loaves", C_FOOD, 'n'}, {"pie", "pies", C_FOOD, 'n'}, {"plum", "plums", C_FOOD, 'n'},
    {"onion", "onions", C_FOOD, 'n'}, {"carrot", "carrots", C_FOOD, 'n'}, {"melon", "melons", C_FOOD, 'n'},
    {"house", "houses", C_PLACE, 'n'}, {"bridge", "bridges", C_PLACE, 'n'}, {"market", "markets", C_PLACE, 'n'},
    {"forest", "forests", C_PLACE, 'n'}, {"tower", "towers", C_PLACE, 'n'}, {"garden", "gardens", C_PLACE, 'n'},
    {"hill", "hills", C_PLACE, 'n'}, {"inn", "inns", C_PLACE, 'n'}, {"field", "fields", C_PLACE, 'n'},
    {"road", "roads", C_PLACE, 'n'}, {"cave", "caves", C_PLACE, 'n'}, {"harbor", "harbors", C_PLACE, 'n'},
    {"castle", "castles", C_PLACE, 'n'}, {"mill", "mills", C_PLACE, 'n'}, {"farm", "farms", C_PLACE, 'n'},
    {"well", "wells", C_PLACE, 'n'}, {"gate", "gates", C_PLACE, 'n'}, {"lake", "lakes", C_PLACE, 'n'},
    {"island", "islands", C_PLACE, 'n'}, {"wall", "walls", C_PLACE, 'n'},
};

/* Adjectives come out in a fixed order (quality, size, age, colour): a learnable rule. */
typedef struct { const char* word; uint8_t order; uint8_t cls; } Adj;
#define C_LIVE (C_ANIM | C_HUM)
#define C_THING (C_OBJ | C_FOOD | C_PLACE)
#define C_NOHUM (C_ANY & ~C_HUM)   /* colours: "a red fox", not "a red farmer" */
static const Adj ADJS[] = {
    {"brave", 0, C_LIVE}, {"clever", 0, C_LIVE}, {"lazy", 0, C_LIVE}, {"angry", 0, C_LIVE},
    {"happy", 0, C_LIVE}, {"proud", 0, C_LIVE}, {"hungry", 0, C_LIVE}, {"tired", 0, C_LIVE},
    {"gentle", 0, C_LIVE}, {"noisy", 0, C_LIVE}, {"strange", 0, C_ANY}, {"quiet", 0, C_ANY},
    {"lucky", 0, C_ANY}, {"beautiful", 0, C_ANY}, {"famous", 0, C_ANY}, {"broken", 0, C_OBJ | C_PLACE},
    {"empty", 0, C_OBJ | C_PLACE}, {"fresh", 0, C_FOOD}, {"sweet", 0, C_FOOD}, {"rotten", 0, C_FOOD},
    {"small", 1, C_ANY}, {"big", 1, C_ANY}, {"tall", 1, C_LIVE | C_PLACE}, {"tiny", 1, C_ANY},
    {"huge", 1, C_ANY}, {"long", 1, C_OBJ | C_PLACE}, {"short", 1, C_ANY}, {"heavy", 1, C_OBJ | C_FOOD},
    {"little", 1, C_ANY}, {"wide", 1, C_PLACE},
    {"old", 2, C_ANY}, {"young", 2, C_LIVE}, {"new", 2, C_THING}, {"ancient", 2, C_OBJ | C_PLACE},
    {"red", 3, C_NOHUM}, {"blue", 3, C_OBJ | C_PLACE}, {"green", 3, C_NOHUM}, {"black", 3, C_NOHUM},
    {"white", 3, C_NOHUM}, {"grey", 3, C_ANIM | C_OBJ | C_PLACE}, {"brown", 3, C_NOHUM},
    {"golden", 3, C_NOHUM}, {"yellow", 3, C_OBJ | C_FOOD | C_PLACE}, {"silver", 3, C_OBJ | C_ANIM},
};

typedef struct { const char *base, *s3, *past, *ppart, *ing; uint8_t subj, obj; } Verb; /* obj 0: intransitive */
static const Verb VERBS[] = {
    {"see", "sees", "saw", "seen", "seeing", C_LIVE, C_ANY},
    {"find", "finds", "found", "found", "finding", C_LIVE, C_ANY},
    {"eat", "eats", "ate", "eaten", "eating", C_LIVE, C_FOOD},
    {"carry", "carries", "carried", "carried", "carrying", C_LIVE, C_OBJ | C_FOOD | C_ANIM},
    {"build", "builds", "built", "built", "building", C_HUM, C_OBJ | C_PLACE},
    {"break", "breaks", "broke", "broken", "breaking", C_LIVE, C_OBJ},
    {"sell", "sells", "sold", "sold", "selling", C_HUM, C_OBJ | C_FOOD | C_ANIM},
    {"buy", "buys", "bought", "bought", "buying", C_HUM, C_OBJ | C_FOOD | C_ANIM},
    {"chase", "chases", "chased", "chased", "chasing", C_LIVE, C_LIVE},
    {"follow", "follows", "followed", "followed", "following", C_LIVE, C_LIVE},
    {"help", "helps", "helped", "helped", "helping", C_HUM, C_LIVE},
    {"watch", "watches", "watched", "watched", "watching", C_LIVE, C_ANY},
    {"hide", "hides", "hid", "hidden", "hiding", C_LIVE, C_OBJ | C_FOOD},
    {"paint", "paints", "painted", "painted", "painting", C_HUM, C_OBJ | C_PLACE | C_ANIM},
    {"visit", "visits", "visited", "visited", "visiting", C_HUM, C_PLACE | C_HUM},
    {"leave", "leaves", "left", "left", "leaving", C_LIVE, C_PLACE | C_OBJ},
    {"cook", "cooks", "cooked", "cooked", "cooking", C_HUM, C_FOOD},
    {"drop", "drops", "dropped", "dropped", "dropping", C_LIVE, C_OBJ | C_FOOD},
    {"love", "loves", "loved", "loved", "loving", C_LIVE, C_ANY},
    {"fear", "fears", "feared", "feared", "fearing", C_LIVE, C_LIVE},
    {"catch", "catches", "caught", "caught", "catching", C_LIVE, C_ANIM | C_OBJ | C_FOOD},
    {"steal", "steals", "stole", "stolen", "stealing", C_LIVE, C_OBJ | C_FOOD},
    {"wash", "washes", "washed", "washed", "washing", C_HUM, C_OBJ | C_FOOD | C_ANIM},
    {"sleep", "sleeps", "slept", "slept", "sleeping", C_LIVE, 0},
    {"run", "runs", "ran", "run", "running", C_LIVE, 0},
    {"sing", "sings", "sang", "sung", "singing", C_LIVE, 0},
    {"swim", "swims", "swam", "swum", "swimming", C_LIVE, 0},
    {"wait", "waits", "waited", "waited", "waiting", C_LIVE, 0},
    {"fall", "falls", "fell", "fallen", "falling", C_ANY, 0},
    {"laugh", "laughs", "laughed", "laughed", "laughing", C_HUM, 0},
    {"arrive", "arrives", "arrived", "arrived", "arriving", C_LIVE, 0},
    {"sink", "sinks", "sank", "sunk", "sinking", C_OBJ, 0},
    {"grow", "grows", "grew", "grown", "growing", C_LIVE | C_FOOD, 0},
    {"hide", "hides", "hid", "hidden", "hiding", C_LIVE, 0},
};

/* Ditransitive past forms for stories ("she gave it to the farmer"). */
static const char* GIVE_PAST[] = {"gave", "sold", "showed", "brought", "sent", "lent"};
static const char* GET_PAST[]  = {"found", "bought", "made", "took", "stole", "carried", "won"};

static const char* JOBS[] = {"baker", "farmer", "teacher", "sailor", "smith", "doctor", "painter",
    "miller", "weaver", "hunter", "singer", "guard", "merchant", "builder", "fisher", "potter",
    "cook", "judge", "poet", "scribe", "innkeeper", "archer", "healer", "shepherd"};

static const char* NUM_WORDS[] = {"zero", "one", "two", "three", "four", "five", "six", "seven",
    "eight", "nine", "ten", "eleven", "twelve"};

static const char* MANNER[] = {"slowly", "quickly", "quietly", "loudly", "carefully", "happily", "badly", "gladly"};

static const char* DIRS[] = {"north", "south", "east", "west"};

enum { T_PRES, T_PAST, T_FUT, T_PROG, T_PASTPROG, T_PERF, T_COUNT };
/* Time adverbials agree with the tense: another cue the model can pick up. */
static const char* const TIME_ADV[T_COUNT][6] = {
    {"every day", "every morning", "on sundays", "at night", "in winter", "most days"},
    {"yesterday", "last night", "last year", "long ago", "two days ago", "last week"},
    {"tomorrow", "next week", "soon", "next year", "tonight", "in the spring"},
    {"now", "right now", "at the moment", "today", "this morning", "again"},
    {"all night", "at noon", "when it rained", "all day", "last night", "when the bell rang"},
    {"before", "twice", "many times", "this week", "already", "three times"},
};

/* Agreement classes of a subject. */
enum { A_3SG, A_3PL, A_1SG, A_1PL, A_2 };
static int agr_plural(int a) { return a == A_3PL || a == A_1PL || a == A_2; }

/* ------------------------------------------------------------------------- */
/* Made-up names, built from syllables. Suffixes mark the category (cities end */
/* in -mor/-ton/..., women's names in -a/-ine/...), so names carry a cue and a */
/* BPE tokenizer finds plenty of distinct words to merge.                     */

static const char* ONSETS[] = {"b", "br", "c", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l",
    "m", "n", "p", "r", "s", "sh", "st", "t", "th", "tr", "v", "w", "z", "", "", "", "bl", "fl", "sk"};
static const char* NUCLEI[] = {"a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "ou", "y", "ie", "au"};
static const char* CODAS[]  = {"n", "r", "l", "s", "m", "th", "nd", "rn", "ld", "st", "k", "x", "ck", "rd"};
static const char* CODAS_MID[] = {"n", "r", "l", "s", "m", "k"};   /* inside a name: no long clusters */

static const char* COUNTRY_SUF[] = {"ia", "ara", "ovia", "esh", "land", "mark", "stan", "ica"};
static const char* CITY_SUF[]    = {"mor", "ton", "ford", "heim", "grad", "burg", "port", "wick", "dale", "holm"};
static const char* VILLAGE_SUF[] = {"vik", "by", "thorpe", "stead", "ham", "moor", "well", "bury", "field", "combe"};
static const char* FEMALE_SUF[]  = {"a", "ia", "ine", "elle", "wen", "ra", "ena", "is"};
static const char* MALE_SUF[]    = {"o", "an", "or", "en", "ric", "us", "im", "on", "ald"};

static void cat_s(char* dst, size_t cap, const char* s) {
    size_t n = strlen(dst), k = strlen(s);
    if (n + k + 1 > cap) k = cap - n - 1;
    memcpy(dst + n, s, k);
    dst[n + k] = '\0';
}

/* nsyl syllables; the last one closed (ends in a consonant) when `closed`, else
 * open, so a suffix starting with a vowel or a consonant joins smoothly. */
static void make_stem(Rng* r, char* dst, size_t cap, int nsyl, int closed) {
    dst[0] = '\0';
    int prev_open = 0;
    for (int s = 0; s < nsyl; s++) {
        const char* on = PICK(r, ONSETS);
        while (s > 0 && prev_open && on[0] == '\0') on = PICK(r, ONSETS);  /* no vowel clash */
        cat_s(dst, cap, on);
        cat_s(dst, cap, PICK(r, NUCLEI));
        int last = s == nsyl - 1;
        int want_coda = last ? closed : rng_chance(r, 1, 3);
        if (want_coda) cat_s(dst, cap, last ? PICK(r, CODAS) : PICK(r, CODAS_MID));
        prev_open = !want_coda;
    }
}

/* A bare stem (empty suffix) ends closed too: "Esk" reads better than "Bea".
 * Redrawn until it fits, so no name is ever cut short. */
static void make_name(Rng* r, char* dst, size_t cap, int nsyl, const char* suffix) {
    int closed = suffix[0] == '\0' || strchr("aeiouy", suffix[0]) != NULL;
    do make_stem(r, dst, cap, nsyl, closed);
    while (strlen(dst) + strlen(suffix) + 1 > cap);
    cat_s(dst, cap, suffix);
    if (dst[0] >= 'a' && dst[0] <= 'z') dst[0] = (char)(dst[0] - 'a' + 'A');
}

static uint64_t name_hash(const char* s) {
    uint64_t h = 1469598103934665603ULL;                /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static int cmp_u64(const void* a, const void* b) {
    uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

static int world_has(const CorpusGen* g, const char* s) {
    uint64_t h = name_hash(s);
    return bsearch(&h, g->name_hash, CORPUS_N_NAMES, sizeof(uint64_t), cmp_u64) != NULL;
}

/* A person who is not in the world: 1-2 syllables plus a gendered ending. Redrawn
 * until it differs from every world name, so facts about world people stay true. */
static void fresh_person(const CorpusGen* g, Rng* r, char* dst, int* female) {
    do {
        *female = rng_chance(r, 1, 2);
        int nsyl = 1 + (int)rng_below(r, 2);
        const char* suf = *female ? PICK(r, FEMALE_SUF) : PICK(r, MALE_SUF);
        make_name(r, dst, CORPUS_NAME_LEN, nsyl, suf);
    } while (world_has(g, dst));
}

/* Villages use their own suffixes, so they never collide with world cities. */
static void fresh_village(Rng* r, char* dst) {
    int nsyl = 1 + (int)rng_below(r, 2);
    make_name(r, dst, CORPUS_NAME_LEN, nsyl, PICK(r, VILLAGE_SUF));
}

/* ------------------------------------------------------------------------- */
/* The world.                                                                 */

#define WORLD_SEED 0x5eed0c0a7b5ULL   /* fixed: the world is part of the language */

/* Draw names into `names` (stride CORPUS_NAME_LEN) until each is unused so far. */
static void world_names(Rng* r, char* names, int n, const char** sufs, int nsuf, int syl_lo, int syl_hi,
                        uint64_t* seen, int* nseen, uint8_t* female) {
    for (int i = 0; i < n; i++) {
        char* dst = names + (size_t)i * CORPUS_NAME_LEN;
        for (;;) {
            int f = rng_chance(r, 1, 2);
            const char* suf = sufs ? sufs[rng_below(r, (uint32_t)nsuf)]
                                   : f ? PICK(r, FEMALE_SUF) : PICK(r, MALE_SUF);
            make_name(r, dst, CORPUS_NAME_LEN, (int)rng_range(r, syl_lo, syl_hi), suf);
            uint64_t h = name_hash(dst);
            int dup = 0;
            for (int j = 0; j < *nseen && !dup; j++) dup = seen[j] == h;
            if (dup) continue;
            seen[(*nseen)++] = h;
            if (female) female[i] = (uint8_t)f;
            break;
        }
    }
}

static void default_weights(CorpusGen* g);

void corpus_init(CorpusGen* g) {
    memset(g, 0, sizeof *g);
    default_weights(g);
    Rng r;
    rng_seed(&r, WORLD_SEED);
    int nseen = 0;
    world_names(&r, &g->country[0][0], CORPUS_N_COUNTRIES, COUNTRY_SUF, NELEM(COUNTRY_SUF), 1, 2,
                g->name_hash, &nseen, NULL);
    world_names(&r, &g->city[0][0], CORPUS_N_CITIES, CITY_SUF, NELEM(CITY_SUF), 1, 2,
                g->name_hash, &nseen, NULL);
    /* Rivers are short bare stems ("the river Esk"). */
    static const char* RIVER_SUF[] = {""};
    world_names(&r, &g->river[0][0], CORPUS_N_RIVERS, RIVER_SUF, 1, 1, 2, g->name_hash, &nseen, NULL);
    world_names(&r, &g->person[0][0], CORPUS_N_PEOPLE, NULL, 0, 1, 2, g->name_hash, &nseen,
                g->person_female);
    qsort(g->name_hash, CORPUS_N_NAMES, sizeof(uint64_t), cmp_u64);

    /* Countries on distinct cells of an 8 x 4 grid (a shuffle of the cells). */
    uint8_t cell[CORPUS_N_COUNTRIES];
    for (int i = 0; i < CORPUS_N_COUNTRIES; i++) cell[i] = (uint8_t)i;
    for (int i = CORPUS_N_COUNTRIES - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint32_t)i + 1);
        uint8_t t = cell[i]; cell[i] = cell[j]; cell[j] = t;
    }
    for (int i = 0; i < CORPUS_N_COUNTRIES; i++) {
        g->country_x[i] = cell[i] % 8;
        g->country_y[i] = cell[i] / 8;
    }
    for (int c = 0; c < CORPUS_N_CITIES; c++) {
        g->city_river[c] = (uint8_t)rng_below(&r, CORPUS_N_RIVERS);
        /* capitals are big, other towns spread over three orders of magnitude */
        g->city_pop[c] = c % CORPUS_CITIES_PER_COUNTRY == 0 ? (int32_t)rng_range(&r, 200000, 3000000)
                                                            : (int32_t)rng_range(&r, 800, 400000);
    }
    for (int p = 0; p < CORPUS_N_PEOPLE; p++) {
        g->person_city[p] = (uint16_t)rng_below(&r, CORPUS_N_CITIES);
        g->person_job[p]  = (uint8_t)rng_below(&r, NELEM(JOBS));
        g->person_age[p]  = (uint8_t)rng_range(&r, 18, 90);
    }
}

static int city_country(int c) { return c / CORPUS_CITIES_PER_COUNTRY; }
static int capital_of(int k) { return k * CORPUS_CITIES_PER_COUNTRY; }

/* ------------------------------------------------------------------------- */
/* Grammar pieces.                                                            */

static int starts_vowel(const char* s) { return s[0] && strchr("aeiou", s[0]) != NULL; }

static int pick_noun(Rng* r, int mask) {
    for (;;) {
        int i = (int)rng_below(r, NELEM(NOUNS));
        if (NOUNS[i].cls & mask) return i;
    }
}

/* want_obj: 1 transitive, 0 intransitive, -1 either. subj_cls / obj_cls: a class
 * bit the verb must accept, or 0 for no constraint. */
static int pick_verb(Rng* r, int want_obj, int subj_cls, int obj_cls) {
    for (;;) {
        int i = (int)rng_below(r, NELEM(VERBS));
        const Verb* v = &VERBS[i];
        if (want_obj == 1 && !v->obj) continue;
        if (want_obj == 0 && v->obj) continue;
        if (subj_cls && !(v->subj & subj_cls)) continue;
        if (obj_cls && !(v->obj & obj_cls)) continue;
        return i;
    }
}

static int pick_tense(Rng* r) {
    static const uint8_t wt[T_COUNT] = {26, 30, 15, 12, 6, 11};
    uint32_t x = rng_below(r, 100);
    for (int t = 0; t < T_COUNT; t++) { if (x < wt[t]) return t; x -= wt[t]; }
    return T_PAST;
}

/* What a noun phrase turned out to be: needed for agreement and pronouns. */
typedef struct { int agr; int cls; char gender; } NP;

/* det (adj (adj)) noun, with a/an chosen by the next word. */
static NP np_common(Rng* r, Out* o, int mask, int allow_plural) {
    int ni = pick_noun(r, mask);
    const Noun* n = &NOUNS[ni];
    int pl = allow_plural && rng_chance(r, 1, 3);
    int nadj = (int)rng_below(r, 10);
    nadj = nadj < 4 ? 0 : nadj < 8 ? 1 : 2;
    int a[2], got = 0;
    for (int tries = 0; got < nadj && tries < 20; tries++) {
        int j = (int)rng_below(r, NELEM(ADJS));
        if (!(ADJS[j].cls & n->cls)) continue;
        if (got == 1 && ADJS[a[0]].order == ADJS[j].order) continue;
        a[got++] = j;
    }
    if (got == 2 && ADJS[a[0]].order > ADJS[a[1]].order) { int t = a[0]; a[0] = a[1]; a[1] = t; }
    const char* first = got ? ADJS[a[0]].word : n->sg;
    uint32_t d = rng_below(r, 100);
    if (!pl) {
        if (d < 45) w(o, "the");
        else if (d < 72) w(o, starts_vowel(first) ? "an" : "a");
        else {
            static const char* D[] = {"this", "that", "every", "my", "your", "his", "her", "our", "their", "no"};
            w(o, PICK(r, D));
        }
    } else {
        if (d < 40) w(o, "the");
        else if (d < 65) w(o, NUM_WORDS[rng_range(r, 2, 12)]);
        else {
            static const char* D[] = {"these", "those", "some", "many", "few", "several", "my", "our", "their", "all the"};
            w(o, PICK(r, D));
        }
    }
    for (int i = 0; i < got; i++) w(o, ADJS[a[i]].word);
    w(o, pl ? n->pl : n->sg);
    NP np = {pl ? A_3PL : A_3SG, n->cls, n->gender};
    return np;
}

/* A subject or object. `mask` limits the classes; `subject` picks the case of
 * pronouns (he / him). */
static NP np_any(const CorpusGen* g, Rng* r, Out* o, int mask, int subject, int allow_pron) {
    uint32_t d = rng_below(r, 100);
    if (mask & C_HUM) {
        if (d < 14) {
            int p = (int)rng_below(r, CORPUS_N_PEOPLE);
            w(o, g->person[p]);
            NP np = {A_3SG, C_HUM, g->person_female[p] ? 'f' : 'm'};
            return np;
        }
        if (d < 26) {
            char name[CORPUS_NAME_LEN];
            int f;
            fresh_person(g, r, name, &f);
            w(o, name);
            NP np = {A_3SG, C_HUM, f ? 'f' : 'm'};
            return np;
        }
        if (allow_pron && d < 38) {
            static const char* SUBJ[] = {"I", "you", "we", "they", "he", "she"};
            static const char* OBJ[]  = {"me", "you", "us", "them", "him", "her"};
            static const int AGR[]    = {A_1SG, A_2, A_1PL, A_3PL, A_3SG, A_3SG};
            int k = (int)rng_below(r, 6);
            w(o, subject ? SUBJ[k] : OBJ[k]);
            NP np = {AGR[k], C_HUM, k == 5 ? 'f' : k == 4 ? 'm' : 'n'};
            return np;
        }
    } else if (allow_pron && d < 8 && (mask & (C_ANIM | C_OBJ))) {
        int pl = rng_chance(r, 1, 3);
        w(o, pl ? (subject ? "they" : "them") : "it");
        NP np = {pl ? A_3PL : A_3SG, mask & C_ANIM ? C_ANIM : C_OBJ, 'n'};
        return np;
    }
    NP np = np_common(r, o, mask, 1);
    /* Now and then a subject carries where it is from ("the farmer from Kalimor"). */
    if (subject && (np.cls & C_LIVE) && rng_chance(r, 1, 8)) {
        w(o, "from");
        if (rng_chance(r, 2, 3)) w(o, g->city[rng_below(r, CORPUS_N_CITIES)]);
        else { char v[CORPUS_NAME_LEN]; fresh_village(r, v); w(o, v); }
    }
    return np;
}

static void place_pp(const CorpusGen* g, Rng* r, Out* o) {
    uint32_t d = rng_below(r, 100);
    if (d < 30) {
        static const char* P[] = {"in", "near", "outside", "north of", "south of", "east of", "west of"};
        w(o, PICK(r, P));
        w(o, g->city[rng_below(r, CORPUS_N_CITIES)]);
    } else if (d < 45) {
        static const char* P[] = {"in", "near", "outside", "behind"};
        char v[CORPUS_NAME_LEN];
        fresh_village(r, v);
        w(o, PICK(r, P));
        w(o, v);
    } else if (d < 53) {
        w(o, "by the river");
        w(o, g->river[rng_below(r, CORPUS_N_RIVERS)]);
    } else {
        static const char* P[] = {"near", "in", "behind", "beside", "under", "across", "inside", "at", "past", "above"};
        w(o, PICK(r, P));
        np_common(r, o, C_PLACE, 1);
    }
}

/* The verb group for a subject with agreement `agr`. */
static void verb_group(Out* o, const Verb* v, int agr, int tense, int neg) {
    int pl = agr_plural(agr);
    switch (tense) {
    case T_PRES:
        if (neg) { w(o, agr == A_3SG ? "does not" : "do not"); w(o, v->base); }
        else w(o, agr == A_3SG ? v->s3 : v->base);
        break;
    case T_PAST:
        if (neg) { w(o, "did not"); w(o, v->base); }
        else w(o, v->past);
        break;
    case T_FUT:
        w(o, neg ? "will not" : "will");
        w(o, v->base);
        break;
    case T_PROG:
        w(o, agr == A_1SG ? "am" : pl ? "are" : "is");
        if (neg) w(o, "not");
        w(o, v->ing);
        break;
    case T_PASTPROG:
        w(o, pl ? "were" : "was");
        if (neg) w(o, "not");
        w(o, v->ing);
        break;
    default:
        w(o, agr == A_3SG ? "has" : "have");
        if (neg) w(o, "not");
        w(o, v->ppart);
        break;
    }
}

/* verb group + object (if transitive) + maybe a place. Returns the object's NP. */
static NP predicate(const CorpusGen* g, Rng* r, Out* o, int vi, int agr, int tense, int neg, int pp_num, int pp_den) {
    const Verb* v = &VERBS[vi];
    verb_group(o, v, agr, tense, neg);
    NP obj = {A_3SG, 0, 'n'};
    if (v->obj) obj = np_any(g, r, o, v->obj, 0, 1);
    if (rng_chance(r, 1, 4)) w(o, PICK(r, MANNER));
    if (rng_chance(r, (uint32_t)pp_num, (uint32_t)pp_den)) place_pp(g, r, o);
    return obj;
}

static void time_adv(Rng* r, Out* o, int tense, int num, int den) {
    if (rng_chance(r, (uint32_t)num, (uint32_t)den)) w(o, TIME_ADV[tense][rng_below(r, 6)]);
}

/* Subject pronoun referring back to an NP. */
static const char* pronoun_for(Rng* r, NP np) {
    switch (np.agr) {
    case A_1SG: return "I";
    case A_1PL: return "we";
    case A_2:   return "you";
    case A_3PL: return "they";
    default: break;
    }
    if (np.cls == C_HUM) {
        if (np.gender == 'f') return "she";
        if (np.gender == 'm') return "he";
        return rng_chance(r, 1, 2) ? "she" : "he";
    }
    return "it";
}

/* ------------------------------------------------------------------------- */
/* Grammar kinds.                                                             */

/* "the small red fox sees two old ships near Kalimor ." */
static void gen_sentence(const CorpusGen* g, Rng* r, Out* o) {
    int vi = pick_verb(r, -1, 0, 0);
    int tense = pick_tense(r);
    NP s = np_any(g, r, o, VERBS[vi].subj, 1, 1);
    predicate(g, r, o, vi, s.agr, tense, rng_chance(r, 1, 8), 3, 4);
    time_adv(r, o, tense, 1, 2);
    w(o, ".");
}

/* Relative clauses put words between a subject and its verb, so agreement has to
 * reach across them: "the dogs that chase the cat sleep near the inn ." */
static void gen_relative(const CorpusGen* g, Rng* r, Out* o) {
    int head_vi = pick_verb(r, -1, 0, 0);              /* main verb */
    int tense = pick_tense(r);
    /* head noun must be a legal subject of the main verb */
    NP head = np_common(r, o, VERBS[head_vi].subj, 1);
    /* only living things do things to others; a stone can only be done to */
    int subj_rel = (head.cls & C_LIVE) && rng_chance(r, 1, 2);
    int rel_tense = pick_tense(r);
    if (subj_rel) {
        /* the head does the relative verb */
        int rv = pick_verb(r, 1, head.cls, 0);
        w(o, head.cls == C_HUM ? "who" : rng_chance(r, 1, 2) ? "that" : "which");
        verb_group(o, &VERBS[rv], head.agr, rel_tense, 0);
        np_any(g, r, o, VERBS[rv].obj, 0, 0);
    } else {
        /* the head is the object of the relative verb */
        int rv = pick_verb(r, 1, 0, head.cls);
        w(o, head.cls == C_HUM ? "whom" : "that");
        NP rs = np_any(g, r, o, VERBS[rv].subj, 1, 1);
        verb_group(o, &VERBS[rv], rs.agr, rel_tense, 0);
    }
    predicate(g, r, o, head_vi, head.agr, tense, rng_chance(r, 1, 10), 1, 2);
    time_adv(r, o, tense, 1, 3);
    w(o, ".");
}

/* Two clauses; the second refers back to the first subject with a pronoun. */
static void gen_compound(const CorpusGen* g, Rng* r, Out* o) {
    int cond = rng_chance(r, 1, 4);
    int v1 = pick_verb(r, -1, 0, 0);
    int tense = cond ? T_PRES : pick_tense(r);
    if (cond) w(o, rng_chance(r, 1, 2) ? "if" : "when");
    NP s = np_any(g, r, o, VERBS[v1].subj, 1, 1);
    predicate(g, r, o, v1, s.agr, tense, 0, 1, 3);
    static const char* CONJ[] = {"and", "but", "so", "because", "and then"};
    if (cond) { w(o, ","); tense = T_FUT; }
    else w(o, PICK(r, CONJ));
    int v2 = pick_verb(r, -1, s.cls, 0);
    if (v2 == v1) v2 = pick_verb(r, -1, s.cls, 0);   /* "they slept but they slept" reads badly */
    w(o, pronoun_for(r, s));
    predicate(g, r, o, v2, s.agr, tense, rng_chance(r, 1, 6), 1, 3);
    time_adv(r, o, tense, 1, 4);
    w(o, ".");
}

/* A two- or three-sentence story about a person and a thing: pronouns for both. */
static void gen_story(const CorpusGen* g, Rng* r, Out* o) {
    char name[CORPUS_NAME_LEN];
    int female;
    if (rng_chance(r, 1, 2)) {
        int p = (int)rng_below(r, CORPUS_N_PEOPLE);
        memcpy(name, g->person[p], CORPUS_NAME_LEN);
        female = g->person_female[p];
    } else fresh_person(g, r, name, &female);
    w(o, name);
    w(o, PICK(r, GET_PAST));
    NP thing = np_common(r, o, C_OBJ | C_FOOD, 1);
    place_pp(g, r, o);
    w(o, ".");
    w(o, female ? "she" : "he");
    w(o, PICK(r, GIVE_PAST));
    w(o, thing.agr == A_3PL ? "them" : "it");
    w(o, "to");
    NP to = np_any(g, r, o, C_HUM, 0, 0);
    time_adv(r, o, T_PAST, 1, 3);
    w(o, ".");
    if (rng_chance(r, 1, 3)) {
        w(o, pronoun_for(r, to));
        int vi = pick_verb(r, -1, C_HUM, 0);
        predicate(g, r, o, vi, to.agr, T_PAST, rng_chance(r, 1, 6), 1, 3);
        w(o, ".");
    }
}

/* ------------------------------------------------------------------------- */
/* Numbers.                                                                   */

static const int64_t POW10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};

/* A number with `d` digits (1-digit numbers include 0). */
static int64_t num_digits(Rng* r, int d) {
    return d == 1 ? rng_range(r, 0, 9) : rng_range(r, POW10[d - 1], POW10[d] - 1);
}

/* Operand sizes: mostly small, so the model can learn them; some long ones. */
static int64_t operand(Rng* r) {
    uint32_t x = rng_below(r, 100);
    return num_digits(r, x < 35 ? 1 : x < 75 ? 2 : x < 93 ? 3 : 4);
}

static void equation(Out* o, int64_t a, char op, int64_t b) {
    char os[2] = {op, 0};
    int64_t c = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
    wnum(o, a); w(o, os); wnum(o, b); w(o, "="); wnum(o, c);
}

/* "17 + 25 = 42"; sometimes with its inverse ("42 - 25 = 17") or as a run of a
 * table ("7 * 3 = 21 , 7 * 4 = 28 , 7 * 5 = 35"), joined by " , ". */
static void gen_arith(const CorpusGen* g, Rng* r, Out* o) {
    (void)g;
    uint32_t x = rng_below(r, 100);
    int64_t a, b;
    char op;
    if (x < 35) { op = '+'; a = operand(r); b = operand(r); }
    else if (x < 65) {
        op = '-'; a = operand(r); b = operand(r);
        if (a < b && !rng_chance(r, 1, 5)) { int64_t t = a; a = b; b = t; }  /* mostly non-negative */
    } else if (x < 90) {
        op = '*';
        a = num_digits(r, rng_chance(r, 1, 2) ? 1 : rng_chance(r, 4, 5) ? 2 : 3);
        b = num_digits(r, rng_chance(r, 3, 5) ? 1 : 2);
    } else {
        op = '/';
        b = rng_chance(r, 4, 5) ? rng_range(r, 2, 12) : rng_range(r, 13, 99);
        a = b * num_digits(r, 1 + (int)rng_below(r, 3));   /* exact division only */
    }
    int64_t c = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
    uint32_t form = rng_below(r, 12);
    if (form < 2) {
        /* the same fact in words, so "plus" and "+" are tied together */
        static const char* WORDS_OP[] = {"plus", "minus", "times", "divided by"};
        wnum(o, a);
        w(o, WORDS_OP[op == '+' ? 0 : op == '-' ? 1 : op == '*' ? 2 : 3]);
        wnum(o, b);
        w(o, "is");
        wnum(o, c);
    } else if (form < 7 || (op == '*' && b == 0)) {
        equation(o, a, op, b);
    } else if (form < 9) {
        equation(o, a, op, b);
        w(o, ",");
        if (op == '+') equation(o, c, '-', b);
        else if (op == '-') equation(o, c, '+', b);
        else if (op == '*') equation(o, c, '/', b);
        else equation(o, c, '*', b);
    } else {
        int n = (int)rng_range(r, 3, 5);
        int64_t s0 = rng_range(r, 1, 10);
        if (op == '*') a = rng_range(r, 2, 12);
        if (op == '-') a = rng_range(r, 20, 999);
        if (op == '/') b = rng_range(r, 2, 12);
        for (int i = 0; i < n; i++) {
            if (i) w(o, ",");
            if (op == '/') equation(o, b * (s0 + i), op, b);
            else equation(o, a, op, s0 + i);
        }
    }
}

/* Expression trees for multi-step arithmetic. Node 0 is the root. */
typedef struct { char op; int64_t v; int l, rr; } ENode;   /* op 0: a number */
typedef struct { ENode n[16]; int count; } Expr;

static int prec(char op) { return op == '*' || op == '/' ? 2 : op ? 1 : 3; }

static int expr_build(Rng* r, Expr* e, int leaves) {
    int id = e->count++;
    if (leaves == 1) {
        e->n[id].op = 0;
        e->n[id].v = rng_chance(r, 3, 5) ? rng_range(r, 1, 9) : rng_range(r, 10, 99);
        return id;
    }
    int left = 1 + (int)rng_below(r, (uint32_t)leaves - 1);
    uint32_t x = rng_below(r, 10);
    e->n[id].op = x < 4 ? '+' : x < 7 ? '-' : '*';
    e->n[id].l = expr_build(r, e, left);
    e->n[id].rr = expr_build(r, e, leaves - left);
    return id;
}

/* Value of the subtree; sets *bad when an intermediate goes negative or too big
 * (keeps lines short and uses only the non-negative numbers tasks will use). */
static int64_t expr_eval(const Expr* e, int id, int* bad) {
    const ENode* n = &e->n[id];
    if (!n->op) return n->v;
    int64_t a = expr_eval(e, n->l, bad), b = expr_eval(e, n->rr, bad);
    int64_t v = n->op == '+' ? a + b : n->op == '-' ? a - b : a * b;
    if (v < 0 || v > 999999) *bad = 1;
    return v;
}

/* Print with the fewest parentheses that keep the tree's meaning. */
static void expr_print(const Expr* e, int id, Out* o) {
    const ENode* n = &e->n[id];
    if (!n->op) { wnum(o, n->v); return; }
    const ENode* L = &e->n[n->l];
    const ENode* R = &e->n[n->rr];
    int pl = prec(L->op) < prec(n->op);
    int pr = prec(R->op) < prec(n->op) || (prec(R->op) == prec(n->op) && (n->op == '-' || n->op == '/'));
    if (pl) w(o, "(");
    expr_print(e, n->l, o);
    if (pl) w(o, ")");
    char os[2] = {n->op, 0};
    w(o, os);
    if (pr) w(o, "(");
    expr_print(e, n->rr, o);
    if (pr) w(o, ")");
}

/* Reduce the leftmost operation whose operands are both numbers: the order a
 * person works it out (inside brackets, * before +, left to right). */
static int expr_reduce(Expr* e, int id) {
    ENode* n = &e->n[id];
    if (!n->op) return 0;
    if (!e->n[n->l].op && !e->n[n->rr].op) {
        int64_t a = e->n[n->l].v, b = e->n[n->rr].v;
        n->v = n->op == '+' ? a + b : n->op == '-' ? a - b : a * b;
        n->op = 0;
        return 1;
    }
    return expr_reduce(e, n->l) || expr_reduce(e, n->rr);
}

/* "3 + 4 * 2 = 11", or with the working shown: "3 + 4 * 2 = 3 + 8 = 11". */
static void gen_multistep(const CorpusGen* g, Rng* r, Out* o) {
    (void)g;
    Expr e;
    int bad;
    int64_t v;
    int tries = 0;
    do {
        e.count = 0;
        expr_build(r, &e, rng_chance(r, 3, 5) ? 3 : 4);
        bad = 0;
        v = expr_eval(&e, 0, &bad);
    } while (bad && ++tries < 16);
    if (bad) {   /* fallback that is always fine: a sum of three small numbers */
        e.count = 0;
        e.n[0] = (ENode){'+', 0, 1, 2};
        e.n[1] = (ENode){'+', 0, 3, 4};
        e.n[2] = (ENode){0, 5, 0, 0};
        e.n[3] = (ENode){0, 3, 0, 0};
        e.n[4] = (ENode){0, 4, 0, 0};
        e.count = 5;
        v = 12;
    }
    expr_print(&e, 0, o);
    if (rng_chance(r, 1, 2)) {
        while (e.n[0].op) {
            expr_reduce(&e, 0);
            w(o, "=");
            expr_print(&e, 0, o);
        }
    } else {
        w(o, "=");
        wnum(o, v);
    }
}

static void gen_compare(const CorpusGen* g, Rng* r, Out* o) {
    (void)g;
    int d = 1 + (int)rng_below(r, 4);
    int64_t a = num_digits(r, d);
    /* same length half the time, so the comparison needs more than counting digits */
    int64_t b = rng_chance(r, 1, 2) ? num_digits(r, d) : operand(r);
    if (a == b) {
        wnum(o, a); w(o, "is equal to"); wnum(o, b); w(o, ".");
        return;
    }
    int64_t hi = a > b ? a : b, lo = a > b ? b : a;
    switch (rng_below(r, 5)) {
    case 0: wnum(o, hi); w(o, "is larger than"); wnum(o, lo); w(o, "."); break;
    case 1: wnum(o, lo); w(o, "is smaller than"); wnum(o, hi); w(o, "."); break;
    case 2: wnum(o, a); w(o, a > b ? ">" : "<"); wnum(o, b); break;
    case 3: w(o, "which is larger ,"); wnum(o, a); w(o, "or"); wnum(o, b); w(o, "?"); wnum(o, hi); break;
    default: w(o, "which is smaller ,"); wnum(o, a); w(o, "or"); wnum(o, b); w(o, "?"); wnum(o, lo); break;
    }
}

static void gen_sequence(const CorpusGen* g, Rng* r, Out* o) {
    (void)g;
    uint32_t x = rng_below(r, 6);
    if (x == 0 || x == 1) {
        /* an arithmetic run, bare or continued: "3 6 9 12 : 15 18" */
        int64_t a = rng_range(r, 0, x ? 50 : 20), step = rng_range(r, 1, x ? 12 : 5);
        int n = (int)rng_range(r, 4, 8);
        if (x) w(o, "continue");
        for (int i = 0; i < n; i++) wnum(o, a + step * i);
        if (x) {
            w(o, ":");
            int k = (int)rng_range(r, 1, 3);
            for (int i = 0; i < k; i++) wnum(o, a + step * (n + i));
        }
    } else if (x == 2) {
        int64_t a = rng_range(r, 0, 60), n = rng_range(r, 3, 9);
        w(o, "count from"); wnum(o, a); w(o, "to"); wnum(o, a + n - 1); w(o, ":");
        for (int64_t i = 0; i < n; i++) wnum(o, a + i);
    } else if (x == 3) {
        int64_t a = rng_range(r, 8, 80), n = rng_range(r, 3, 9);
        w(o, "count down from"); wnum(o, a); w(o, "to"); wnum(o, a - n + 1); w(o, ":");
        for (int64_t i = 0; i < n; i++) wnum(o, a - i);
    } else if (x == 4) {
        /* doubling / tripling */
        int64_t a = rng_range(r, 1, 9), k = rng_range(r, 2, 3);
        int n = (int)rng_range(r, 4, 7);
        w(o, "continue");
        for (int i = 0; i < n; i++) { wnum(o, a); a *= k; }
        w(o, ":"); wnum(o, a);
    } else {
        int64_t a = rng_range(r, 0, 40), step = rng_range(r, 2, 5), n = rng_range(r, 3, 6);
        w(o, "count by"); wnum(o, step); w(o, "from"); wnum(o, a); w(o, ":");
        for (int64_t i = 0; i < n; i++) wnum(o, a + step * i);
    }
}

static int cmp_i64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return x < y ? -1 : x > y;
}
static int cmp_str(const void* a, const void* b) {
    return strcmp(*(const char* const*)a, *(const char* const*)b);
}

/* A list of n numbers whose sizes share one digit-length distribution. */
static void draw_list(Rng* r, int64_t* v, int n) {
    int dmax = 1 + (int)rng_below(r, 3);
    for (int i = 0; i < n; i++) v[i] = num_digits(r, 1 + (int)rng_below(r, (uint32_t)dmax));
}

/* "sort 7 3 9 1 : 1 3 7 9", descending, or words in alphabetical order. */
static void gen_sort(const CorpusGen* g, Rng* r, Out* o) {
    (void)g;
    uint32_t x = rng_below(r, 100);
    int n = (int)rng_range(r, 3, 8);
    if (x < 75) {
        int64_t v[8], s[8];
        draw_list(r, v, n);
        memcpy(s, v, sizeof(int64_t) * (size_t)n);
        qsort(s, (size_t)n, sizeof(int64_t), cmp_i64);
        int desc = x >= 50;
        w(o, desc ? "sort descending" : "sort");
        for (int i = 0; i < n; i++) wnum(o, v[i]);
        w(o, ":");
        for (int i = 0; i < n; i++) wnum(o, s[desc ? n - 1 - i : i]);
    } else {
        const char* v[8], *s[8];
        for (int i = 0; i < n; i++) {
            uint32_t k = rng_below(r, 3);
            v[i] = k == 0 ? NOUNS[rng_below(r, NELEM(NOUNS))].sg
                 : k == 1 ? ADJS[rng_below(r, NELEM(ADJS))].word : VERBS[rng_below(r, NELEM(VERBS))].base;
        }
        memcpy(s, v, sizeof(v[0]) * (size_t)n);
        qsort(s, (size_t)n, sizeof(s[0]), cmp_str);
        w(o, "sort words");
        for (int i = 0; i < n; i++) w(o, v[i]);
        w(o, ":");
        for (int i = 0; i < n; i++) w(o, s[i]);
    }
}

/* One question about a list: max, min, sum, count, reverse, evens, first/last. */
static void gen_listop(const CorpusGen* g, Rng* r, Out* o) {
    (void)g;
    int n = (int)rng_range(r, 3, 8);
    int64_t v[8] = {0};
    draw_list(r, v, n);
    uint32_t op = rng_below(r, 6);
    static const char* NAME[] = {"max of", "min of", "sum of", "count of", "reverse", "even numbers in"};
    w(o, NAME[op]);
    for (int i = 0; i < n; i++) wnum(o, v[i]);
    w(o, ":");
    int64_t acc = v[0];
    switch (op) {
    case 0: for (int i = 1; i < n; i++) if (v[i] > acc) acc = v[i]; wnum(o, acc); break;
    case 1: for (int i = 1; i < n; i++) if (v[i] < acc) acc = v[i]; wnum(o, acc); break;
    case 2: for (int i = 1; i < n; i++) acc += v[i]; wnum(o, acc); break;
    case 3: wnum(o, n); break;
    case 4: for (int i = n - 1; i >= 0; i--) wnum(o, v[i]); break;
    default: {
        int any = 0;
        for (int i = 0; i < n; i++) if (v[i] % 2 == 0) { wnum(o, v[i]); any = 1; }
        if (!any) w(o, "none");
    }
    }
}

/* ------------------------------------------------------------------------- */
/* Facts about the world. World facts are always true; made-up villages and   */
/* people add the long tail of words without contradicting them.              */

static const char* article(const char* next) { return starts_vowel(next) ? "an" : "a"; }

/* A direction from country a to country b that holds on the grid, if any. */
static const char* direction(const CorpusGen* g, Rng* r, int a, int b) {
    int dy = (int)g->country_y[a] - (int)g->country_y[b];
    int dx = (int)g->country_x[a] - (int)g->country_x[b];
    int ns = dy != 0, ew = dx != 0;
    if (ns && ew) { if (rng_chance(r, 1, 2)) ew = 0; else ns = 0; }
    if (ns) return dy < 0 ? DIRS[0] : DIRS[1];
    return dx > 0 ? DIRS[2] : DIRS[3];
}

static int other_country(Rng* r, int k) {
    int j = (int)rng_below(r, CORPUS_N_COUNTRIES - 1);
    return j >= k ? j + 1 : j;
}

static void gen_fact(const CorpusGen* g, Rng* r, Out* o) {
    int c = (int)rng_below(r, CORPUS_N_CITIES), k = city_country(c);
    int p = (int)rng_below(r, CORPUS_N_PEOPLE), pc = g->person_city[p];
    char v[CORPUS_NAME_LEN];
    switch (rng_below(r, 12)) {
    case 0: w(o, g->city[c]); w(o, c == capital_of(k) ? "is the capital of" : "is a city in"); w(o, g->country[k]); break;
    case 1: w(o, "the capital of"); w(o, g->country[k]); w(o, "is"); w(o, g->city[capital_of(k)]); break;
    case 2: w(o, g->person[p]); w(o, "lives in"); w(o, g->city[pc]); break;
    case 3: {
        const char* job = JOBS[g->person_job[p]];
        w(o, g->person[p]); w(o, "is"); w(o, article(job)); w(o, job); w(o, "from"); w(o, g->city[pc]);
        break;
    }
    case 4: w(o, g->person[p]); w(o, "is"); wnum(o, g->person_age[p]); w(o, "years old"); break;
    case 5: w(o, g->city[c]); w(o, "lies on the river"); w(o, g->river[g->city_river[c]]); break;
    case 6: w(o, g->city[c]); w(o, "has"); wnum(o, g->city_pop[c]); w(o, "people"); break;
    case 7: {
        int j = other_country(r, k);
        w(o, g->country[k]); w(o, "lies"); w(o, direction(g, r, k, j)); w(o, "of"); w(o, g->country[j]);
        break;
    }
    case 8: {
        /* two hops: person -> city -> country */
        const char* job = JOBS[g->person_job[p]];
        w(o, g->person[p]); w(o, "works as"); w(o, article(job)); w(o, job); w(o, "in");
        w(o, g->country[city_country(pc)]);
        break;
    }
    case 9:
        fresh_village(r, v);
        w(o, v); w(o, "is a small village near"); w(o, g->city[c]); w(o, "in"); w(o, g->country[k]);
        break;
    case 10: {
        char name[CORPUS_NAME_LEN];
        int f;
        fresh_person(g, r, name, &f);
        fresh_village(r, v);
        w(o, name); w(o, "was born in"); w(o, v); w(o, "in"); wnum(o, rng_range(r, 1700, 2020));
        w(o, "and"); w(o, f ? "she" : "he"); w(o, "moved to"); w(o, g->city[c]);
        break;
    }
    default:
        w(o, "the river"); w(o, g->river[g->city_river[c]]); w(o, "flows through"); w(o, g->city[c]);
        w(o, "in"); w(o, g->country[k]);
        break;
    }
    w(o, ".");
}

/* Facts about someone the model has never seen, then a question on one of them:
 * the answer can only be copied from the line itself. This is the in-context
 * reading that worked examples and demonstrations rely on later. */
static void question_in_context(const CorpusGen* g, Rng* r, Out* o) {
    char name[CORPUS_NAME_LEN], village[CORPUS_NAME_LEN];
    int f;
    fresh_person(g, r, name, &f);
    fresh_village(r, village);
    int64_t age = rng_range(r, 18, 90);
    const char* job = PICK(r, JOBS);
    int order[3] = {0, 1, 2};
    for (int i = 2; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)i + 1);
        int t = order[i]; order[i] = order[j]; order[j] = t;
    }
    int nf = 2 + (int)rng_below(r, 2);
    for (int i = 0; i < nf; i++) {
        w(o, i == 0 ? name : f ? "she" : "he");
        switch (order[i]) {
        case 0: w(o, "lives in"); w(o, village); break;
        case 1: w(o, "is"); wnum(o, age); w(o, "years old"); break;
        default: w(o, "is"); w(o, article(job)); w(o, job); break;
        }
        w(o, ".");
    }
    switch (order[rng_below(r, (uint32_t)nf)]) {
    case 0: w(o, "where does"); w(o, name); w(o, "live ?"); w(o, village); break;
    case 1: w(o, "how old is"); w(o, name); w(o, "?"); wnum(o, age); break;
    default: w(o, "what does"); w(o, name); w(o, "do ?"); w(o, f ? "she is" : "he is"); w(o, article(job)); w(o, job); break;
    }
}

static void gen_question(const CorpusGen* g, Rng* r, Out* o) {
    if (rng_chance(r, 2, 5)) { question_in_context(g, r, o); return; }
    int c = (int)rng_below(r, CORPUS_N_CITIES), k = city_country(c);
    int p = (int)rng_below(r, CORPUS_N_PEOPLE), pc = g->person_city[p];
    switch (rng_below(r, 9)) {
    case 0: w(o, "where does"); w(o, g->person[p]); w(o, "live ?"); w(o, g->city[pc]); break;
    case 1: w(o, "what is the capital of"); w(o, g->country[k]); w(o, "?"); w(o, g->city[capital_of(k)]); break;
    case 2: w(o, "which country is"); w(o, g->city[c]); w(o, "in ?"); w(o, g->country[k]); break;
    case 3: w(o, "how old is"); w(o, g->person[p]); w(o, "?"); wnum(o, g->person_age[p]); break;
    case 4: {
        const char* job = JOBS[g->person_job[p]];
        w(o, "what does"); w(o, g->person[p]); w(o, "do ?");
        w(o, g->person_female[p] ? "she is" : "he is"); w(o, article(job)); w(o, job);
        break;
    }
    case 5: {
        int yes = rng_chance(r, 1, 2);
        int kk = yes ? k : other_country(r, k);
        w(o, "is"); w(o, g->city[c]); w(o, "in"); w(o, g->country[kk]); w(o, "?"); w(o, yes ? "yes" : "no");
        break;
    }
    case 6: w(o, "which river flows through"); w(o, g->city[c]); w(o, "?"); w(o, "the"); w(o, g->river[g->city_river[c]]); break;
    case 7: {
        int j = other_country(r, k);
        const char* d = DIRS[rng_below(r, 4)];
        int dy = (int)g->country_y[k] - (int)g->country_y[j], dx = (int)g->country_x[k] - (int)g->country_x[j];
        int yes = d[0] == 'n' ? dy < 0 : d[0] == 's' ? dy > 0 : d[0] == 'e' ? dx > 0 : dx < 0;
        w(o, "is"); w(o, g->country[k]); w(o, d); w(o, "of"); w(o, g->country[j]); w(o, "?"); w(o, yes ? "yes" : "no");
        break;
    }
    default: {
        int q = (int)rng_below(r, CORPUS_N_PEOPLE);
        while (g->person_age[q] == g->person_age[p]) q = (q + 1) % CORPUS_N_PEOPLE;
        w(o, "who is older ,"); w(o, g->person[p]); w(o, "or"); w(o, g->person[q]); w(o, "?");
        w(o, g->person[g->person_age[p] > g->person_age[q] ? p : q]);
        break;
    }
    }
}

/* Arithmetic told as a story: "Kelda has 7 apples . she buys 5 more . how many
 * apples does Kelda have now ? 12". Ties numbers to words and to people. */
static void gen_problem(const CorpusGen* g, Rng* r, Out* o) {
    char name[CORPUS_NAME_LEN], name2[CORPUS_NAME_LEN];
    int f, f2;
    fresh_person(g, r, name, &f);
    fresh_person(g, r, name2, &f2);
    const char* thing = NOUNS[pick_noun(r, C_FOOD | C_OBJ)].pl;
    int64_t a = rng_range(r, 2, 20), b = rng_range(r, 1, 15);
    const char* she = f ? "she" : "he";
    switch (rng_below(r, 4)) {
    case 0:
        w(o, name); w(o, "has"); wnum(o, a); w(o, thing); w(o, "."); w(o, she); w(o, "buys"); wnum(o, b);
        w(o, "more . how many"); w(o, thing); w(o, "does"); w(o, name); w(o, "have now ?"); wnum(o, a + b);
        break;
    case 1:
        if (b > a) { int64_t t = a; a = b; b = t; }
        w(o, name); w(o, "has"); wnum(o, a); w(o, thing); w(o, "."); w(o, she); w(o, "gives"); wnum(o, b);
        w(o, "to"); w(o, name2); w(o, ". how many"); w(o, thing); w(o, "does"); w(o, name); w(o, "have now ?");
        wnum(o, a - b);
        break;
    case 2:
        a = rng_range(r, 2, 9); b = rng_range(r, 2, 9);
        w(o, name); w(o, "has"); wnum(o, a); w(o, "baskets with"); wnum(o, b); w(o, thing); w(o, "in each .");
        w(o, "how many"); w(o, thing); w(o, "does"); w(o, name); w(o, "have ?"); wnum(o, a * b);
        break;
    default:
        if (a == b) b = a + 1;
        w(o, name); w(o, "has"); wnum(o, a); w(o, thing); w(o, "and"); w(o, name2); w(o, "has"); wnum(o, b);
        w(o, thing); w(o, ".");
        if (rng_chance(r, 1, 2)) { w(o, "who has more ?"); w(o, a > b ? name : name2); }
        else { w(o, "how many do they have together ?"); wnum(o, a + b); }
        break;
    }
}

/* Key : value records, fields in random order so keys must be read, not counted. */
static void gen_record(const CorpusGen* g, Rng* r, Out* o) {
    const char* key[6];
    char val[6][CORPUS_NAME_LEN];
    int n = 0;
    uint32_t x = rng_below(r, 3);
    if (x == 0) {
        int p = (int)rng_below(r, CORPUS_N_PEOPLE), pc = g->person_city[p];
        key[n] = "name";    memcpy(val[n++], g->person[p], CORPUS_NAME_LEN);
        key[n] = "job";     memcpy(val[n], JOBS[g->person_job[p]], strlen(JOBS[g->person_job[p]]) + 1); n++;
        key[n] = "age";     { Out t = {val[n], 0, CORPUS_NAME_LEN, 0}; wnum(&t, g->person_age[p]); } n++;
        key[n] = "city";    memcpy(val[n++], g->city[pc], CORPUS_NAME_LEN);
        key[n] = "country"; memcpy(val[n++], g->country[city_country(pc)], CORPUS_NAME_LEN);
    } else if (x == 1) {
        int c = (int)rng_below(r, CORPUS_N_CITIES);
        key[n] = "city";       memcpy(val[n++], g->city[c], CORPUS_NAME_LEN);
        key[n] = "country";    memcpy(val[n++], g->country[city_country(c)], CORPUS_NAME_LEN);
        key[n] = "river";      memcpy(val[n++], g->river[g->city_river[c]], CORPUS_NAME_LEN);
        key[n] = "population"; { Out t = {val[n], 0, CORPUS_NAME_LEN, 0}; wnum(&t, g->city_pop[c]); } n++;
    } else {
        int f;
        key[n] = "id";      { Out t = {val[n], 0, CORPUS_NAME_LEN, 0}; wnum(&t, rng_range(r, 1000, 99999)); } n++;
        key[n] = "name";    fresh_person(g, r, val[n], &f); n++;
        key[n] = "born";    { Out t = {val[n], 0, CORPUS_NAME_LEN, 0}; wnum(&t, rng_range(r, 1700, 2020)); } n++;
        key[n] = "village"; fresh_village(r, val[n]); n++;
        key[n] = "near";    memcpy(val[n++], g->city[rng_below(r, CORPUS_N_CITIES)], CORPUS_NAME_LEN);
    }
    /* shuffle, then drop up to two fields (never the first after shuffling) */
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(r, (uint32_t)i + 1);
        const char* tk = key[i]; key[i] = key[j]; key[j] = tk;
        char tv[CORPUS_NAME_LEN];
        memcpy(tv, val[i], CORPUS_NAME_LEN); memcpy(val[i], val[j], CORPUS_NAME_LEN); memcpy(val[j], tv, CORPUS_NAME_LEN);
    }
    n -= (int)rng_below(r, 2);
    for (int i = 0; i < n; i++) {
        if (i) w(o, ";");
        w(o, key[i]); w(o, ":"); w(o, val[i]);
    }
}

/* ------------------------------------------------------------------------- */
/* Discovery tasks (lib/data/tasks): the corpus shows the task language in exactly  */
/* the formats the suite prompts with, built by the same functions, so the two */
/* cannot drift apart. Attempts are of mixed quality and carry their true      */
/* score, so a model learns what a good answer looks like without always       */
/* producing one.                                                               */

/* Never a prompt reserved for the discovery suites (task_reserved): no held-out or
 * train task appears in the corpus, by construction. */
static void task_draw(Rng* r, Task* t) {
    do {
        int fam = (int)rng_below(r, TASK_N_FAMILIES);
        int d = (int)rng_range(r, TASK_DIFF_MIN, TASK_DIFF_MAX);
        task_generate(r, fam, d, t);
    } while (task_reserved(t));
}

/* "reach 24 with 3 5 8 2 : 3 + 8 ; score 0.45" */
static void gen_task_example(const CorpusGen* g, Rng* r, Out* o) {
    (void)g;
    Task t;
    char a[TASK_ANSWER_MAX], sc[8];
    task_draw(r, &t);
    task_attempt(&t, r, a, sizeof a);
    task_format_score(task_score(&t, a, strlen(a)), sc);
    w(o, t.prompt); w(o, a); w(o, ";"); w(o, "score"); w(o, sc);
}

/* "reach 24 with 3 5 8 2 ; previous 3 + 8 ; score 0.45 : 3 * 8 ; score 1.00":
 * the refinement prompt, then an attempt that scores strictly better. */
static void gen_task_refine(const CorpusGen* g, Rng* r, Out* o) {
    (void)g;
    Task t;
    char prev[TASK_ANSWER_MAX], a[TASK_ANSWER_MAX], sc[8], p[CORPUS_LINE_MAX];
    task_draw(r, &t);
    double s0 = 0, s1 = 0;
    for (int i = 0; i < 8; i++) {   /* a previous attempt that leaves room to improve */
        task_attempt(&t, r, prev, sizeof prev);
        s0 = task_score(&t, prev, strlen(prev));
        if (s0 < 1) break;
    }
    if (s0 >= 1) { snprintf(prev, sizeof prev, "%s", t.answer); prev[strlen(prev) / 2] = '\0'; s0 = task_score(&t, prev, strlen(prev)); }
    for (int i = 0; i < 8 && s1 <= s0; i++) {
        task_attempt(&t, r, a, sizeof a);
        s1 = task_score(&t, a, strlen(a));
    }
    if (s1 <= s0) { snprintf(a, sizeof a, "%s", t.answer); s1 = 1; }
    if (task_refine_prompt(&t, prev, s0, p, sizeof p) < 0) return;
    task_format_score(s1, sc);
    w(o, p); w(o, a); w(o, ";"); w(o, "score"); w(o, sc);
}

/* "reach 24 with 3 5 8 2 : 3 * 8 ; score 1.00 . reach 24 with 3 5 8 2 : 3 * 8 ; score 1.00":
 * the demonstration prompt (SDFT's teacher context), then the best solution. */
static void gen_task_demo(const CorpusGen* g, Rng* r, Out* o) {
    (void)g;
    Task t;
    char demo[TASK_ANSWER_MAX], p[CORPUS_LINE_MAX];
    task_draw(r, &t);
    if (rng_chance(r, 3, 5)) snprintf(demo, sizeof demo, "%s", t.answer);
    else task_attempt(&t, r, demo, sizeof demo);
    double s = task_score(&t, demo, strlen(demo));
    if (task_demo_prompt(&t, demo, s, p, sizeof p) < 0) return;
    w(o, p);
    w(o, s >= 1 ? demo : t.answer); w(o, "; score 1.00");
}

/* ------------------------------------------------------------------------- */
/* The registry. Add a family: write gen_<name>, add a row. Weights are out of */
/* 100 by convention, so they read as percentages.                            */

typedef void (*KindFn)(const CorpusGen* g, Rng* r, Out* o);
static const struct { const char* name; uint32_t weight; KindFn fn; } KINDS[] = {
    {"sentence",  15, gen_sentence},
    {"relative",  10, gen_relative},
    {"compound",   9, gen_compound},
    {"story",      8, gen_story},
    {"arith",      8, gen_arith},
    {"multistep",  8, gen_multistep},
    {"compare",    3, gen_compare},
    {"sequence",   4, gen_sequence},
    {"sort",       6, gen_sort},
    {"listop",     4, gen_listop},
    {"problem",    5, gen_problem},
    {"fact",       8, gen_fact},
    {"question",   7, gen_question},
    {"record",     5, gen_record},
    {"task_example", 18, gen_task_example},
    {"task_refine",  12, gen_task_refine},
    {"task_demo",    10, gen_task_demo},
};
_Static_assert(NELEM(KINDS) <= CORPUS_MAX_KINDS, "raise CORPUS_MAX_KINDS");

static void default_weights(CorpusGen* g) {
    for (int k = 0; k < NELEM(KINDS); k++) g->weight[k] = KINDS[k].weight;
}

int corpus_kind_count(void) { return NELEM(KINDS); }
const char* corpus_kind_name(int k) { return k >= 0 && k < NELEM(KINDS) ? KINDS[k].name : NULL; }
uint32_t corpus_kind_default_weight(int k) { return k >= 0 && k < NELEM(KINDS) ? KINDS[k].weight : 0; }

int corpus_kind_find(const char* name) {
    for (int k = 0; k < NELEM(KINDS); k++) if (strcmp(KINDS[k].name, name) == 0) return k;
    return -1;
}

int corpus_set_weight(CorpusGen* g, const char* name, uint32_t wt) {
    int k = corpus_kind_find(name);
    if (k < 0) return -1;
    g->weight[k] = wt;
    return 0;
}

int corpus_pick_kind(const CorpusGen* g, Rng* r) {
    uint64_t total = 0;
    for (int k = 0; k < NELEM(KINDS); k++) total += g->weight[k];
    if (total == 0) return -1;
    uint64_t x = total <= 0xffffffffULL ? rng_below(r, (uint32_t)total) : (uint64_t)rng_range(r, 0, (int64_t)total - 1);
    for (int k = 0; k < NELEM(KINDS); k++) {
        if (x < g->weight[k]) return k;
        x -= g->weight[k];
    }
    return NELEM(KINDS) - 1;   /* unreachable */
}

size_t corpus_kind_line(const CorpusGen* g, int kind, Rng* r, char* buf, size_t cap) {
    if (cap == 0) return 0;
    buf[0] = '\0';
    if (kind < 0 || kind >= NELEM(KINDS)) return 0;
    Out o = {buf, 0, cap, 0};
    KINDS[kind].fn(g, r, &o);
    return o.n;
}

size_t corpus_line(const CorpusGen* g, Rng* r, char* buf, size_t cap) {
    int k = corpus_pick_kind(g, r);
    if (k < 0) { if (cap) buf[0] = '\0'; return 0; }
    return corpus_kind_line(g, k, r, buf, cap);
}
