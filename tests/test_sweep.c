/* sweep: the journal round-trips (write ops, replay state), the grid sampler
 * covers exactly its grid once, random draws stay in bounds (log scale
 * included), and a malformed sweep config is refused naming file:line. */
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
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {}
    return check_status();
}
