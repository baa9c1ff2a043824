/* gen-tasks (C1, runbook: gen_discovery_tasks): the discovery tasks, train and held-out. */
#include "config.h"
#include "lifecycle.h"
#include "specs.h"
#include "control.h"
#include "json.h"
#include "tasks.h"
#include "track.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static int by_prompt(const void* a, const void* b) { return strcmp((*(const Task* const*)a)->prompt, (*(const Task* const*)b)->prompt); }

/* Refuses (exit 2) a corpus one of whose lines starts with a task's prompt ("BODY :"). */
static void check_corpus(const char* path, const Task* train, long ntr, const Task* held, long nho) {
    char err[ERR_LEN];
    size_t len;
    char* text = read_file(path, &len, err);
    if (!text) die(EXIT_BADINPUT, "%s", err);
    long n = ntr + nho;
    const Task** byp = malloc_check((size_t)(n ? n : 1) * sizeof *byp);
    for (long i = 0; i < n; i++) byp[i] = i < ntr ? &train[i] : &held[i - ntr];
    qsort(byp, (size_t)n, sizeof *byp, by_prompt);
    Task key;
    const Task* kp = &key;
    long line = 1;
    for (char* p = text; p < text + len; line++) {
        char* end = memchr(p, '\n', (size_t)(text + len - p));
        if (!end) end = text + len;
        char* colon = NULL;
        for (char* q = p; q + 1 < end; q++) if (q[0] == ' ' && q[1] == ':') { colon = q; break; }
        if (colon && colon + 2 - p < (long)sizeof key.prompt) {
            snprintf(key.prompt, sizeof key.prompt, "%.*s", (int)(colon + 2 - p), p);
            const Task** hit = bsearch(&kp, byp, (size_t)n, sizeof *byp, by_prompt);
            if (hit)
                die(EXIT_BADINPUT, "%s:%ld: the pretraining corpus holds the prompt of %s task %s ('%s'): contaminated",
                    path, line, (*hit)->split, (*hit)->id, (*hit)->prompt);
        }
        p = end + 1;
    }
    free(byp);
    free(text);
}

static void count_families(const Task* t, long n, json_t* into) {
    for (long i = 0; i < n; i++) {
        const char* f = task_family_name(t[i].family);
        json_object_set_new(into, f, json_integer(jget_int(into, f, 0) + 1));
    }
}

int main(int argc, char** argv) {
    GenTasksArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&GEN_TASKS_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    char run[4096];
    TaskFamily fams[TASK_N_FAMILIES];
    if (a.min_difficulty > a.max_difficulty) die(EXIT_BADINPUT, "%s: min_difficulty: must not exceed max_difficulty", cfg_where(&c));
    int nfam = task_parse_families(a.families, (int)a.min_difficulty, (int)a.max_difficulty, fams, err);
    if (nfam < 0) die(EXIT_BADINPUT, "%s: families: %s", cfg_where(&c), err);
    if (!strcmp(a.out_train, a.out_heldout)) die(EXIT_BADINPUT, "%s: out_heldout: must differ from out_train", cfg_where(&c));
    if (a.n_train + a.n_heldout == 0) die(EXIT_BADINPUT, "%s: n_train: n_train and n_heldout are both 0", cfg_where(&c));
    const char* outs[] = {a.out_train, a.out_heldout};
    if (life_plain_outputs(run, &c, outs, 2, 0, err)) die(EXIT_BADINPUT, "%s", err);
    Tracker t;
    if (track_open(&t, run, &GEN_TASKS_SPEC, &a, &c, "gen-tasks")) die(t.err_exit, "%s", t.err);
    control_install(&t);
    life_clear_output_temps(a.out_train);
    life_clear_output_temps(a.out_heldout);
    track_total(&t, 2);
    double t0 = now_mono();
    Task *train, *held;
    if (tasks_make_splits((uint64_t)a.seed, fams, nfam, a.n_train, a.n_heldout, &train, &held, err))
        die(EXIT_BADINPUT, "%s", err);
    if (*a.corpus) {
        if (track_input(&t, a.corpus)) die(t.err_exit, "%s", t.err);
        check_corpus(a.corpus, train, a.n_train, held, a.n_heldout);
        track_say(&t, "gen-tasks: no task prompt in %s", a.corpus);
    }
    if (tasks_write_jsonl(a.out_train, train, a.n_train, err)) die(EXIT_FAIL, "%s", err);
    if (track_output(&t, a.out_train)) die(t.err_exit, "%s", t.err);
    if (track_progress(&t, 1, a.out_train)) die(t.err_exit, "%s", t.err);
    if (tasks_write_jsonl(a.out_heldout, held, a.n_heldout, err)) die(EXIT_FAIL, "%s", err);
    if (track_output(&t, a.out_heldout)) die(t.err_exit, "%s", t.err);
    if (track_progress(&t, 2, "done")) die(t.err_exit, "%s", t.err);
    json_t* per = json_object();
    count_families(train, a.n_train, per);
    count_families(held, a.n_heldout, per);
    track_summary(&t, "tasks_per_family", per);
    track_summary(&t, "n_train", json_integer(a.n_train));
    track_summary(&t, "n_heldout", json_integer(a.n_heldout));
    track_say(&t, "gen-tasks: %ld train + %ld held-out tasks (%s, difficulty %ld..%ld, seed %ld) in %.2fs -> %s, %s",
              a.n_train, a.n_heldout, a.families, a.min_difficulty, a.max_difficulty, a.seed, now_mono() - t0,
              a.out_train, a.out_heldout);
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    free(train);
    free(held);
    return 0;
}
