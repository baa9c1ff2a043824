/* sweep: the journal round-trips (write ops, replay state), the grid sampler
 * covers exactly its grid once, random draws stay in bounds (log scale
 * included), TPE (after its 10 random startup trials) concentrates near the
 * optimum of a synthetic objective far more than random, stays in range for
 * log and int params, favours the best category, counts only COMPLETE trials
 * and is deterministic, and a malformed sweep config is refused naming file:line. */
#include "check.h"
#include "sweep.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char* CFG =
    "name: t\ntool: pretrain\nbase_config: configs/ci.yaml\nsampler: grid\nn_trials: 100\nobjective: final_val_loss\n"
    "space:\n  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true, grid: [1.0e-3, 1.0e-2]}\n"
    "  warmup: {type: int, low: 0, high: 2}\n  model: {type: categorical, choices: [a, b]}\n";

static void write_text(const char* path, const char* text) { FILE* f = fopen(path, "w"); fputs(text, f); fclose(f); }

/* Appends a trial with params x (np of them) in the given state and value. */
static void add_trial(Study* s, int np, const double* x, int state, double value) {
    s->trials = realloc(s->trials, (s->n + 1) * sizeof(Trial));
    Trial* t = &s->trials[s->n];
    memset(t, 0, sizeof *t);
    t->number = s->n++;
    t->retry_of = -1;
    t->state = state;
    t->has_value = state == TRIAL_COMPLETE;
    t->value = value;
    for (int p = 0; p < np; p++) { t->internal[p] = x[p]; t->has[p] = 1; }
}

static int cmp_d(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return x < y ? -1 : x > y; }
static double median(double* v, int n) { qsort(v, n, sizeof *v, cmp_d); return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]); }

static double obj3(const double* x) { /* lr near 10^-2.5, warmup near 50, model choice 1 */
    return pow(log10(x[0]) + 2.5, 2) + pow((x[1] - 50) / 200, 2) + (x[2] == 1 ? 0 : 1);
}

/* TPE tests: a 1-D objective (x - 0.3)^2 on [0, 1] and a 3-param space, fed as
 * COMPLETE trials through sweep_propose (no tool runs). */
static void test_tpe(const char* dir) {
    char path[256], err[ERR_LEN];
    snprintf(path, sizeof path, "%s/tpe.yaml", dir);
    write_text(path, "name: t\ntool: pretrain\nbase_config: x\nsampler: tpe\nn_trials: 1000\nobjective: o\nseed: 3\n"
                     "space:\n  x: {type: float, low: 0, high: 1}\n");
    SweepConfig sc;
    int rc = sweep_config_load(&sc, path, err);
    CHECK("sweep_tpe_config_loads", rc == 0 && !strcmp(sc.sampler, "tpe"), "%s", err);
    if (rc) return;
    Study s = {0};
    double x[64], y[64], dt[30], dr[30];
    int startup_random = 1;
    for (int i = 0; i < 10; i++) {
        sweep_propose(&sc, &s, x);
        sweep_random_point(&sc, s.n, y);
        startup_random &= x[0] == y[0];
        add_trial(&s, 1, x, TRIAL_COMPLETE, pow(x[0] - 0.3, 2));
    }
    CHECK("sweep_tpe_startup_is_random", startup_random, "the first 10 proposals differ from the random sampler's");
    int inr = 1;
    for (int i = 0; i < 30; i++) {
        sweep_propose(&sc, &s, x);
        inr &= x[0] >= 0 && x[0] <= 1;
        dt[i] = fabs(x[0] - 0.3);
        sweep_random_point(&sc, s.n, y);
        dr[i] = fabs(y[0] - 0.3);
        add_trial(&s, 1, x, TRIAL_COMPLETE, pow(x[0] - 0.3, 2));
    }
    double mt = median(dt, 30), mr = median(dr, 30);
    printf("tpe 1-D: median |x - 0.3| over 30 proposals after startup: tpe %.4f, random %.4f\n", mt, mr);
    CHECK("sweep_tpe_in_range", inr, "a proposal outside [0, 1]");
    /* Uniform's median |U - 0.3| is 0.25; over seeds 0..42 tpe's is 0.08..0.13. */
    CHECK("sweep_tpe_concentrates_near_optimum", mt < 0.15 && mt < 0.75 * mr, "median distance tpe %g, random %g", mt, mr);

    /* Determinism: the same study and trial number give the same point; only
     * COMPLETE trials count (FAIL/RUNNING ones leave the startup random). */
    sweep_tpe_point(&sc, &s, s.n, x);
    sweep_tpe_point(&sc, &s, s.n, y);
    CHECK("sweep_tpe_deterministic", x[0] == y[0], "%g vs %g", x[0], y[0]);
    Study f = {0};
    for (int i = 0; i < 9; i++) { x[0] = 0.1 * i; add_trial(&f, 1, x, TRIAL_COMPLETE, 1.0); }
    for (int i = 0; i < 5; i++) { x[0] = 0.3; add_trial(&f, 1, x, i % 2 ? TRIAL_FAIL : TRIAL_RUNNING, 0); }
    sweep_tpe_point(&sc, &f, f.n, x);
    sweep_random_point(&sc, f.n, y);
    CHECK("sweep_tpe_counts_only_complete", x[0] == y[0], "9 COMPLETE + 5 others should still be random startup");
    study_free(&f);
    study_free(&s);
    sweep_config_free(&sc);

    /* Log float, int, categorical; maximize the negated objective (direction-aware). */
    write_text(path, "name: t\ntool: pretrain\nbase_config: x\nsampler: tpe\nn_trials: 1000\nobjective: o\nseed: 5\n"
                     "direction: maximize\nspace:\n  lr: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}\n"
                     "  warmup: {type: int, low: 0, high: 200}\n  model: {type: categorical, choices: [a, b, c]}\n");
    rc = sweep_config_load(&sc, path, err);
    CHECK("sweep_tpe_config3_loads", rc == 0, "%s", err);
    if (rc) return;
    Study t = {0};
    int ok = 1, best_cat = 0, n = 0;
    double dl[40], drl[40];
    for (int i = 0; i < 50; i++) {
        sweep_propose(&sc, &t, x);
        ok &= x[0] >= 1e-4 && x[0] <= 1e-1 && x[1] >= 0 && x[1] <= 200 && x[1] == floor(x[1]) && x[2] >= 0 && x[2] <= 2 &&
              x[2] == floor(x[2]);
        if (i >= 10) {
            best_cat += x[2] == 1;
            dl[n] = fabs(log10(x[0]) + 2.5);
            sweep_random_point(&sc, t.n, y);
            drl[n++] = fabs(log10(y[0]) + 2.5);
        }
        add_trial(&t, 3, x, TRIAL_COMPLETE, -obj3(x));
    }
    double ml = median(dl, n), mrl = median(drl, n);
    printf("tpe 3 params: %d of %d proposals after startup pick the best category; median |log10 lr + 2.5| tpe %.3f, random %.3f\n",
           best_cat, n, ml, mrl);
    CHECK("sweep_tpe_log_int_cat_in_range", ok, "a proposal out of range or not integral");
    CHECK("sweep_tpe_categorical_favours_best", best_cat > n * 2 / 3, "%d of %d", best_cat, n);
    CHECK("sweep_tpe_log_scale_concentrates", ml < 0.6 * mrl, "tpe %g, random %g", ml, mrl);
    study_free(&t);
    sweep_config_free(&sc);
}

int main(void) {
    char dir[] = "/tmp/test_sweep.XXXXXX", path[256], err[ERR_LEN];
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/s.yaml", dir);
    write_text(path, CFG);
    SweepConfig sc;
    int rc = sweep_config_load(&sc, path, err);
    CHECK("sweep_config_loads", rc == 0, "%s", err);
    if (rc) return check_status();

    long g = sweep_grid_size(&sc);
    CHECK("sweep_grid_size", g == 12, "got %ld", g);
    /* Propose against a growing study: every grid point exactly once, then nothing. */
    Study s = {0};
    int seen[2][3][2] = {{{0}}}, ok = 1;
    double x[64];
    while (sweep_propose(&sc, &s, x) == 0 && s.n < 100) {
        s.trials = realloc(s.trials, (s.n + 1) * sizeof(Trial));
        Trial* t = &s.trials[s.n];
        memset(t, 0, sizeof *t);
        t->number = s.n++;
        t->retry_of = -1;
        for (int p = 0; p < 3; p++) { t->internal[p] = x[p]; t->has[p] = 1; }
        int li = x[0] == 1e-3 ? 0 : x[0] == 1e-2 ? 1 : -1;
        if (li < 0 || x[1] < 0 || x[1] > 2 || (x[2] != 0 && x[2] != 1)) { ok = 0; break; }
        seen[li][(int)x[1]][(int)x[2]]++;
    }
    for (int a = 0; a < 2; a++) for (int b = 0; b < 3; b++) for (int c = 0; c < 2; c++) ok &= seen[a][b][c] == 1;
    CHECK("sweep_grid_covers_exactly_its_grid", ok && s.n == 12, "%d proposals", s.n);

    /* Random: in bounds; log scale puts about half the draws below the geometric mean. */
    strcpy(sc.sampler, "random");
    int inb = 1, below = 0;
    for (long n = 0; n < 2000; n++) {
        sweep_random_point(&sc, n, x);
        inb &= x[0] >= 1e-4 && x[0] <= 1e-1 && x[1] >= 0 && x[1] <= 2 && x[1] == floor(x[1]) && (x[2] == 0 || x[2] == 1);
        below += x[0] < sqrt(1e-4 * 1e-1);
    }
    CHECK("sweep_random_within_bounds", inb, "a draw out of bounds");
    CHECK("sweep_random_log_scale", below > 850 && below < 1150, "%d of 2000 below the geometric mean", below);
    double y[64];
    sweep_random_point(&sc, 7, x);
    sweep_random_point(&sc, 7, y);
    CHECK("sweep_random_deterministic", !memcmp(x, y, sizeof(double) * 3), "same trial, different draw");

    /* Journal round trip. */
    Journal j;
    CHECK("sweep_journal_open", journal_open(&j, dir, err) == 0, "%s", err);
    journal_lock(&j, err);
    double v = 0.25;
    journal_create_study(&j, &sc, err);
    journal_create_trial(&j, TRIAL_RUNNING, 0, -1, err);
    journal_set_param(&j, &sc, 0, 0, 3e-3, err);
    journal_set_param(&j, &sc, 0, 2, 1, err);
    journal_set_state(&j, 0, TRIAL_COMPLETE, &v, err);
    journal_create_trial(&j, TRIAL_RUNNING, 0, -1, err);
    journal_set_state(&j, 1, TRIAL_FAIL, NULL, err);
    journal_set_state(&j, 1, TRIAL_COMPLETE, &v, err);   /* ignored: already finished */
    journal_create_trial(&j, TRIAL_WAITING, 1, 1, err);
    journal_unlock(&j);
    Study r;
    rc = journal_replay(j.path, &sc, &r, err);
    CHECK("sweep_journal_replay", rc == 0 && r.created && r.n == 3 && !strcmp(r.name, "t") && r.direction == 1, "%s n=%d", err, r.n);
    CHECK("sweep_journal_trial_values", r.n == 3 && r.trials[0].state == TRIAL_COMPLETE && r.trials[0].value == 0.25 &&
          r.trials[0].internal[0] == 3e-3 && r.trials[0].internal[2] == 1 && r.trials[1].state == TRIAL_FAIL &&
          r.trials[2].state == TRIAL_WAITING && r.trials[2].attempt == 1 && r.trials[2].retry_of == 1, "state mismatch");
    char* line = journal_dumps(json_pack("{s:f, s:f, s:i, s:n}", "a", 2.0, "b", 0.001, "c", 3, "d"));
    CHECK("sweep_journal_python_json", !strcmp(line, "{\"a\": 2.0, \"b\": 0.001, \"c\": 3, \"d\": null}"), "%s", line);
    free(line);
    study_free(&r);
    journal_close(&j);
    sweep_config_free(&sc);

    /* Malformed configs: one line naming file:line. */
    char bad[2048];
    snprintf(bad, sizeof bad, "%s", CFG);
    char* at = strstr(bad, "low: 0, high: 2");
    memcpy(at, "low: 5, high: 2", 15);
    write_text(path, bad);
    rc = sweep_config_load(&sc, path, err);
    char want[300];
    snprintf(want, sizeof want, "%s:9: space: warmup: low", path);
    CHECK("sweep_config_bad_range_names_line", rc == -1 && strstr(err, want) && !strchr(err, '\n'), "%s", err);
    write_text(path, "name: t\ntool: pretrain\nbase_config: x\nn_trials: 2\nobjective: o\nsampler: annealing\nspace: {a: {type: int, low: 0, high: 1}}\n");
    rc = sweep_config_load(&sc, path, err);
    snprintf(want, sizeof want, "%s:6: sampler", path);
    CHECK("sweep_config_bad_sampler_names_line", rc == -1 && strstr(err, want), "%s", err);
    test_tpe(dir);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    return check_status();
}
