/* test_tasks: the discovery tasks (lib/data/tasks).
 *
 * Protects: same seed -> same tasks; train and held-out disjoint; every family's
 * verifier gives 1.0 to the reference answer, graded scores to partial answers,
 * 0 to garbage, empty and overlong input, and stays in [0, 1] on random bytes;
 * scores print rounded down ("1.00" only when exact); prompts parse back; the
 * refinement and demonstration prompts; JSONL round trip; the strict loader
 * names file:line and the problem. */
#include "tasks.h"
#include "check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static Task make(int fam, int d, uint64_t seed) {
    Rng r;
    rng_seed(&r, seed);
    Task t;
    task_generate(&r, fam, d, &t);
    return t;
}

static double sc(const Task* t, const char* s) { return task_score(t, s, strlen(s)); }

static void test_determinism_and_splits(void) {
    TaskFamily fams[3] = {{0, 1, 5}, {1, 1, 5}, {2, 1, 5}};
    Task *a, *b, *c, *d;
    char err[ERR_LEN];
    int ok = tasks_make_splits(7, fams, 3, 300, 100, &a, &b, err) == 0 &&
             tasks_make_splits(7, fams, 3, 300, 100, &c, &d, err) == 0;
    CHECK("splits_made", ok, "%s", err);
    if (!ok) return;
    CHECK("same_seed_same_tasks", !memcmp(a, c, sizeof(Task) * 300) && !memcmp(b, d, sizeof(Task) * 100), "differ");
    int clash = 0;
    for (int i = 0; i < 300; i++)
        for (int j = 0; j < 100; j++) clash += strcmp(a[i].prompt, b[j].prompt) == 0;
    for (int i = 0; i < 300; i++)
        for (int j = 0; j < i; j++) clash += strcmp(a[i].prompt, a[j].prompt) == 0;
    CHECK("splits_disjoint", clash == 0, "%d repeated prompts", clash);
    int fam[3] = {0}, split_ok = 1;
    for (int i = 0; i < 300; i++) { fam[a[i].family]++; split_ok &= !strcmp(a[i].split, "train"); }
    for (int i = 0; i < 100; i++) split_ok &= !strcmp(b[i].split, "heldout");
    CHECK("families_round_robin", fam[0] == 100 && fam[1] == 100 && fam[2] == 100 && split_ok, "%d %d %d", fam[0], fam[1], fam[2]);
    free(c); free(d);
    Task *e, *f;
    tasks_make_splits(8, fams, 3, 300, 100, &e, &f, err);
    CHECK("other_seed_other_tasks", strcmp(a[0].prompt, e[0].prompt) || strcmp(a[1].prompt, e[1].prompt), "same");
    free(a); free(b); free(e); free(f);
    /* a range too small for the count is an error, not a hang */
    TaskFamily one[1] = {{TASK_CONSTRAIN, 1, 1}}, bad[1] = {{TASK_REACH, 3, 2}};
    CHECK("too_many_for_range", tasks_make_splits(1, one, 1, 5000, 5000, &a, &b, err) == -1 && strstr(err, "distinct"),
          "%s", err);
    CHECK("bad_range_refused", tasks_make_splits(1, bad, 1, 1, 1, &a, &b, err) == -1, "accepted 3..2");
    TaskFamily fl[3];
    CHECK("families_list", task_parse_families("order,reach", 2, 4, fl, err) == 2 && fl[0].family == TASK_ORDER &&
          fl[1].dmin == 2 && fl[1].dmax == 4 && task_parse_families("reach,nope", 1, 5, fl, err) == -1 &&
          strstr(err, "nope") && task_parse_families("", 1, 5, fl, err) == -1, "%s", err);
    /* name:D and name:LO-HI give a family its own range; anything else is refused */
    CHECK("families_ranges", task_parse_families("reach:2-4,constrain:5,order", 1, 3, fl, err) == 3 &&
          fl[0].dmin == 2 && fl[0].dmax == 4 && fl[1].dmin == 5 && fl[1].dmax == 5 && fl[2].dmin == 1 && fl[2].dmax == 3,
          "%s", err);
    const char* refused[] = {"reach:0", "reach:4-2", "reach:6", "reach:x", "reach:2-", "reach:", "reach:2-3x", "reach,reach:2"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        CHECK("families_range_refused", task_parse_families(refused[i], 1, 5, fl, err) == -1, "accepted %s", refused[i]);
    /* tasks keep their family's range; a plain list draws exactly as before */
    TaskFamily mix[3] = {{TASK_REACH, 5, 5}, {TASK_CONSTRAIN, 1, 2}, {TASK_ORDER, 3, 4}};
    int in_range = tasks_make_splits(11, mix, 3, 90, 30, &a, &b, err) == 0;
    for (int i = 0; in_range && i < 90; i++)
        in_range &= a[i].difficulty >= mix[i % 3].dmin && a[i].difficulty <= mix[i % 3].dmax && a[i].family == mix[i % 3].family;
    CHECK("families_keep_their_range", in_range, "%s", err);
    if (in_range) { free(a); free(b); }
}

static void test_reference_answers(void) {
    int bad = 0, parse_bad = 0;
    for (int f = 0; f < TASK_N_FAMILIES; f++)
        for (int d = TASK_DIFF_MIN; d <= TASK_DIFF_MAX; d++)
            for (uint64_t s = 0; s < 200; s++) {
                Task t = make(f, d, s * 31 + (uint64_t)d), p;
                if (sc(&t, t.answer) != 1.0) { if (!bad) printf("  not 1: %s -> %s\n", t.prompt, t.answer); bad++; }
                if (task_parse_prompt(t.prompt, &p) || strcmp(p.prompt, t.prompt) || p.family != t.family) parse_bad++;
                int n = (int)strlen(t.prompt);
                if (n < 3 || strcmp(t.prompt + n - 2, TASK_DELIM)) parse_bad++;
            }
    CHECK("reference_answer_scores_1", bad == 0, "%d answers below 1", bad);
    CHECK("prompts_parse_back", parse_bad == 0, "%d prompts", parse_bad);
    Task q;
    CHECK("non_task_prompt_refused", task_parse_prompt("sort 3 1 2 :", &q) == -1 && task_parse_prompt("reach 5 with :", &q) == -1 &&
          task_parse_prompt("word , 5 letters , 6 letters :", &q) == -1, "accepted");
}

static Task reach_task(void) {
    Task t;
    task_parse_prompt("reach 24 with 3 5 8 2 :", &t);
    snprintf(t.answer, sizeof t.answer, "3 * 8");
    return t;
}

static void test_reach(void) {
    Task t = reach_task();
    CHECK("reach_exact", sc(&t, "3 * 8") == 1 && sc(&t, " ( 5 - 2 ) * 8 <eos>junk") == 1 && sc(&t, "3*8 = 24") == 1 &&
          sc(&t, "3 * 8 ; score 0.10") == 1 && sc(&t, "3 * 8\n5") == 1, "exact answers below 1");
    double p = sc(&t, "3 + 8");   /* 11: 1 - 13/24 */
    CHECK("reach_graded", p > 0.45 && p < 0.46 && sc(&t, "5 * 5") == 0 && sc(&t, "5 * 3 + 8") > sc(&t, "5 * 3"),
          "3 + 8 -> %f", p);
    CHECK("reach_near_miss_below_1", sc(&t, "5 * 3 + 8") < 1 && sc(&t, "5 * 3 + 8") > 0.9, "%f", sc(&t, "5 * 3 + 8"));
    CHECK("reach_invalid_zero", sc(&t, "3 * 9") == 0 && sc(&t, "8 * 3 * 3") == 0 && sc(&t, "8 / 3") == 0 &&
          sc(&t, "( 3 + 8") == 0 && sc(&t, "3 +") == 0 && sc(&t, "-3") == 0 && sc(&t, "8 / ( 5 - 5 )") == 0 &&
          sc(&t, "") == 0 && sc(&t, "   ") == 0 && sc(&t, "hello") == 0 && sc(&t, "3 * 8 x") == 0, "accepted bad input");
    char big[4096];
    memset(big, ' ', sizeof big);
    memcpy(big + 4000, "3 * 8", 5);
    big[4005] = 0;
    char lng[400] = "3 * 8";
    for (int i = 0; i < 60; i++) strcat(lng, " + 0");
    CHECK("reach_overlong_zero", sc(&t, lng) == 0 && sc(&t, big) == 1, "overlong answer scored");
    char nb[] = "3 \x80 8";
    CHECK("reach_non_ascii_zero", task_score(&t, nb, 5) == 0 && task_score(&t, "3 * 8", 3) == 0.0 + sc(&t, "3 *"), "scored");
}

static void test_constrain(void) {
    Task t;
    CHECK("constrain_parse", task_parse_prompt("word , 5 letters , starts with b , ends with s , contains o :", &t) == 0, "refused");
    CHECK("constrain_exact", sc(&t, "boxes") == 1 && sc(&t, " boxes ; score 1.00") == 1, "%f", sc(&t, "boxes"));
    double made_up = sc(&t, "boxos"), wrong = sc(&t, "dogs");   /* not a word: 4/5; dogs: word, s, o: 3/5 */
    CHECK("constrain_graded", made_up == 0.8 && wrong == 0.6 && sc(&t, "zzzzz") == 0.2, "%f %f", made_up, wrong);
    CHECK("constrain_garbage_zero", sc(&t, "Boxes") == 0 && sc(&t, "two words") == 0 && sc(&t, "") == 0 &&
          sc(&t, "b0xes") == 0, "scored");
}

static void test_order(void) {
    Task t, w;
    CHECK("order_parse", task_parse_prompt("order ascending 42 7 19 3 :", &t) == 0 &&
          task_parse_prompt("order alphabetical fox cat dog :", &w) == 0, "refused");
    CHECK("order_exact", sc(&t, "3 7 19 42") == 1 && sc(&w, "cat dog fox") == 1, "below 1");
    CHECK("order_graded", sc(&t, "3 19 7 42") == 0.5 && sc(&t, "3 7 19") == 0.75 && sc(&t, "3 7 19 42 42 42 42 42") == 0.5 &&
          sc(&w, "fox dog cat") == 1.0 / 3, "%f", sc(&t, "3 19 7 42"));
    CHECK("order_garbage_zero", sc(&t, "") == 0 && sc(&t, "a b c d") == 0 && sc(&t, "42 19 7 3") == 0, "scored");
    Task d;
    task_parse_prompt("order descending 5 9 1 :", &d);
    CHECK("order_descending", sc(&d, "9 5 1") == 1 && sc(&d, "1 5 9") == 1.0 / 3, "%f", sc(&d, "1 5 9"));
}

static void test_fuzz_and_attempts(void) {
    Rng r;
    rng_seed(&r, 99);
    int out = 0, graded = 0, exact = 0, total = 0;
    char buf[300];
    for (int i = 0; i < 3000; i++) {
        uint32_t fam = rng_below(&r, 3);
        Task t;
        task_generate(&r, (int)fam, 1 + (int)rng_below(&r, 5), &t);
        size_t n = rng_below(&r, sizeof buf);
        for (size_t j = 0; j < n; j++) {   /* mostly answer-like bytes, some anything */
            uint32_t k = rng_below(&r, 4), c = rng_below(&r, 256);
            buf[j] = k ? " 0123456789+-*/()abc;<eos>\n"[c % 27] : (char)c;
        }
        double s = task_score(&t, buf, n);
        out += !(s >= 0 && s <= 1);
        task_attempt(&t, &r, buf, sizeof buf);
        s = sc(&t, buf);
        out += !(s >= 0 && s <= 1);
        total++;
        exact += s == 1;
        graded += s > 0 && s < 1;
    }
    CHECK("random_bytes_in_range", out == 0, "%d scores outside [0,1]", out);
    CHECK("attempts_mixed_quality", exact > total / 20 && exact < total / 2 && graded > total / 4,
          "%d exact, %d partial of %d", exact, graded, total);
    CHECK("null_safe", task_score(NULL, "x", 1) == 0, "scored");
}

static void test_scores_and_prompts(void) {
    char s[8];
    int ok = 1;
    task_format_score(1.0, s); ok &= !strcmp(s, "1.00");
    task_format_score(0.999, s); ok &= !strcmp(s, "0.99");
    task_format_score(0.4583, s); ok &= !strcmp(s, "0.45");
    task_format_score(0.07, s); ok &= !strcmp(s, "0.07");
    task_format_score(-1, s); ok &= !strcmp(s, "0.00");
    CHECK("score_format_rounds_down", ok, "got %s", s);
    Task t = reach_task();
    char p[512];
    int n = task_refine_prompt(&t, " 3  + 8 ; score 0.4\nmore", 0.4583, p, sizeof p);
    CHECK("refine_prompt", n > 0 && !strcmp(p, "reach 24 with 3 5 8 2 ; previous 3 + 8 ; score 0.45 :"), "%s", p);
    n = task_demo_prompt(&t, "3 * 8", 1.0, p, sizeof p);
    CHECK("demo_prompt", n > 0 && !strcmp(p, "reach 24 with 3 5 8 2 : 3 * 8 ; score 1.00 . reach 24 with 3 5 8 2 :"), "%s", p);
    CHECK("prompt_cap", task_demo_prompt(&t, "3 * 8", 1.0, p, 20) == -1 && task_refine_prompt(&t, "", 0, p, 10) == -1, "fit?");
    n = task_refine_prompt(&t, "", 0, p, sizeof p);
    CHECK("refine_empty_attempt", !strcmp(p, "reach 24 with 3 5 8 2 ; previous ; score 0.00 :"), "%s", p);
}

static int write_text(const char* name, const char* text, char* path) {
    snprintf(path, 256, "%s/%s", dir, name);
    FILE* f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    fclose(f);
    return 0;
}

static void bad_file(const char* name, const char* text, const char* want) {
    char path[256], err[ERR_LEN] = "", check[64], where[300];
    Task* t;
    write_text(name, text, path);
    long n = tasks_load_jsonl(path, &t, err);
    snprintf(check, sizeof check, "load_refuses_%s", name);
    snprintf(where, sizeof where, "%s:2: ", path);
    CHECK(check, n == -1 && strstr(err, where) && strstr(err, want), "n=%ld err=%s", n, err);
}

static void test_jsonl(void) {
    TaskFamily fams[3] = {{0, 1, 5}, {1, 1, 5}, {2, 1, 5}};
    Task *a, *b, *back;
    char err[ERR_LEN], path[256];
    tasks_make_splits(3, fams, 3, 60, 20, &a, &b, err);
    snprintf(path, sizeof path, "%s/train.jsonl", dir);
    int w = tasks_write_jsonl(path, a, 60, err);
    long n = tasks_load_jsonl(path, &back, err);
    CHECK("jsonl_round_trip", w == 0 && n == 60 && !memcmp(a, back, sizeof(Task) * 60), "w=%d n=%ld %s", w, n, err);
    free(back);
    char* good = NULL;
    size_t len;
    good = read_file(path, &len, err);
    char* nl = strchr(good, '\n');
    nl[1] = '\0';   /* keep line 1 valid; line 2 is the bad one */
    char text[4096];
#define BAD(name, line2, want) do { snprintf(text, sizeof text, "%s%s\n", good, line2); bad_file(name, text, want); } while (0)
    BAD("malformed", "{\"id\": \"x\", ", "invalid JSON");
    BAD("missing_field", "{\"id\":\"x\",\"family\":\"order\",\"prompt\":\"order ascending 2 1 :\",\"split\":\"train\"}", "missing key 'params'");
    BAD("unknown_family", "{\"id\":\"x\",\"family\":\"chess\",\"prompt\":\"p :\",\"params\":{},\"split\":\"train\"}", "unknown family 'chess'");
    BAD("wrong_type", "{\"id\":\"x\",\"family\":\"order\",\"prompt\":\"order ascending 2 1 :\",\"params\":{\"difficulty\":1,\"key\":\"ascending\",\"items\":[2,\"1\"],\"answer\":\"1 2\"},\"split\":\"train\"}", "'items' must hold integers");
    BAD("wrong_type_id", "{\"id\":5,\"family\":\"order\",\"prompt\":\"p\",\"params\":{},\"split\":\"train\"}", "'id' must be a string");
    BAD("unknown_key", "{\"id\":\"x\",\"family\":\"order\",\"prompt\":\"p\",\"params\":{},\"split\":\"train\",\"extra\":1}", "unknown key 'extra'");
    BAD("prompt_mismatch", "{\"id\":\"x\",\"family\":\"order\",\"prompt\":\"order ascending 1 2 :\",\"params\":{\"difficulty\":1,\"key\":\"ascending\",\"items\":[2,1],\"answer\":\"1 2\"},\"split\":\"train\"}", "does not match params");
    BAD("wrong_answer", "{\"id\":\"x\",\"family\":\"order\",\"prompt\":\"order ascending 2 1 :\",\"params\":{\"difficulty\":1,\"key\":\"ascending\",\"items\":[2,1],\"answer\":\"2 1\"},\"split\":\"train\"}", "does not solve");
    BAD("bad_split", "{\"id\":\"x\",\"family\":\"order\",\"prompt\":\"order ascending 2 1 :\",\"params\":{\"difficulty\":1,\"key\":\"ascending\",\"items\":[2,1],\"answer\":\"1 2\"},\"split\":\"test\"}", "'split'");
    BAD("empty_line", "", "empty line");
    char dup[4096];
    snprintf(dup, sizeof dup, "%s%s", good, good);
    bad_file("duplicate_id", dup, "duplicate id");
    char p2[256];
    Task* t;
    write_text("empty.jsonl", "", p2);
    CHECK("load_empty_file", tasks_load_jsonl(p2, &t, err) == 0 && t == NULL, "%s", err);
    snprintf(p2, sizeof p2, "%s/none.jsonl", dir);
    CHECK("load_missing_file", tasks_load_jsonl(p2, &t, err) == -1 && strstr(err, "none.jsonl"), "%s", err);
    free(good); free(a); free(b);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/test_tasks.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_determinism_and_splits();
    test_reference_answers();
    test_reach();
    test_constrain();
    test_order();
    test_fuzz_and_attempts();
    test_scores_and_prompts();
    test_jsonl();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    return check_status();
}
