/* test_runs: lib/paper/runs on a hand-written runs dir: suite means and the task-averaged
 * reward curve, a torn last JSONL line skipped and any other bad line refused (naming
 * path:line), best-of-N curves as the expected best of k, pretrain runs told apart by
 * mhc.n, notes, files read. */
#include "check.h"
#include "runs.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[64];

static void put(const char* rel, const char* text) { check_put(root, rel, text); }

static int has_note(const Runs* r, const char* s) {
    for (size_t i = 0; i < json_array_size(r->notes); i++)
        if (strstr(json_string_value(json_array_get(r->notes, i)), s)) return 1;
    return 0;
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/test_runs.XXXXXX");
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    char err[ERR_LEN] = "";
    /* Two tasks; the second line is torn (no newline): it is what a killed writer leaves. */
    put("suite/ttt_main_seed0/summary.jsonl",
        "{\"task_id\":\"a\",\"best_reward\":0.5,\"mean_reward\":0.25,\"samples\":3}\n"
        "\n"
        "{\"task_id\":\"b\",\"best_reward\":0.4,\"mean_reward\":0.15,\"samples\":2}\n"
        "{\"task_id\":\"c\",\"best_re");
    put("suite/ttt_main_seed0/a/result.json", "{\"curve\":[[1,0.2],[3,0.5]]}");
    put("suite/ttt_main_seed0/b/result.json", "{\"curve\":[[2,0.4]]}");
    put("suite/ttt_main_seed1/summary.jsonl", "{\"task_id\":\"a\",\"best_reward\":1,\"mean_reward\":1,\"samples\":1}\n");
    /* best-of-N: the curve is the expected best of k of the 4 rewards, not this draw order */
    put("suite/base_bestofn_seed0/summary.jsonl", "{\"task_id\":\"a\",\"family\":\"reach\",\"best_reward\":1,\"mean_reward\":0.25,\"samples\":4}\n");
    put("suite/base_bestofn_seed0/a/result.json", "{\"mode\":\"bestofn\",\"rewards\":[1,0,0,0],\"curve\":[[2,1],[4,1]]}");
    put("suite/sdft_a_bestofn_seed0/summary.jsonl", "");
    put("suite/bad_seed0/summary.jsonl", "{\"task_id\":\"a\",\"best_reward\":0.5,\"mean_reward\":0.25,\"samples\":3}\n[1]\n");
    put("suite/nan_seed0/summary.jsonl", "{\"task_id\":\"a\",\"best_reward\":\"x\",\"mean_reward\":0.25,\"samples\":3}\n");
    put("pre_on/pretrain_config.json", "{}");
    put("pre_on/model_config.json", "{\"mhc\":{\"n\":4}}");
    put("pre_on/metrics.jsonl", "{\"step\":1,\"loss\":5}\n{\"step\":2,\"loss\":4,\"val_loss\":4.5}\n");
    put("pre_off/pretrain_config.json", "{}");
    put("pre_off/model_config.json", "{\"mhc\":{\"n\":0}}");
    put("pre_plain/pretrain_config.json", "{}");
    put("sdft_run/sdft_eval_report.json", "{}");
    put("sdft_run/run_record.json", "{\"argv\":[\"bin/sdft\",\"--note\",\"a b\"]}");

    Runs r;
    runs_open(&r, root);
    RunsSuite s[3];
    static const long seeds[3] = {0, 1, 2};
    int n = runs_suite_seeds(&r, "ttt_main", seeds, 3, 1, s, err);
    CHECK("seeds present", n == 2 && s[0].present && s[1].present && !s[2].present, "n %d err %s", n, err);
    CHECK("torn last line skipped", s[0].ntasks == 2, "ntasks %d", s[0].ntasks);
    CHECK("means over tasks", fabs(s[0].best - 0.45) < 1e-12 && fabs(s[0].mean_reward - 0.2) < 1e-12 &&
          fabs(s[0].samples - 2.5) < 1e-12, "best %g mean %g samples %g", s[0].best, s[0].mean_reward, s[0].samples);
    /* Union grid {1, 2, 3}; at 1 task b has no point yet, so 1 is left out. */
    CHECK("curve: mean over tasks where every task has a point",
          s[0].n == 2 && s[0].x[0] == 2 && fabs(s[0].y[0] - 0.3) < 1e-12 && s[0].x[1] == 3 && fabs(s[0].y[1] - 0.45) < 1e-12,
          "n %d", s[0].n);
    CHECK("per-task curves kept", s[0].ty && s[0].ty[0] == 0.2 && s[0].ty[1] == 0.5 && s[0].ty[2] == 0.4 && s[0].ty[3] == 0.4 &&
          json_array_size(s[0].ids) == 2, "ty %p", (void*)s[0].ty);
    CHECK("missing seed says why", strstr(s[2].missing, "ttt_main_seed2") != NULL, "%s", s[2].missing);
    CHECK("missing result.json: no curve, a note", s[1].n == 0 && has_note(&r, "ttt_main_seed1/a/result.json: missing"), "n %d", s[1].n);
    for (int k = 0; k < 3; k++) runs_suite_free(&s[k]);

    RunsSuite b;
    CHECK("malformed line refused with path:line", runs_suite(&r, "bad_seed0", 0, &b, err) == -1 &&
          strstr(err, "bad_seed0/summary.jsonl:2") != NULL, "err %s", err);
    CHECK("non-numeric reward refused", runs_suite(&r, "nan_seed0", 0, &b, err) == -1 &&
          strstr(err, "nan_seed0/summary.jsonl:1: 'best_reward'") != NULL, "err %s", err);
    CHECK("empty summary: not present", runs_suite(&r, "sdft_a_bestofn_seed0", 0, &b, err) == 0 && !b.present &&
          strstr(b.missing, "no complete task line") != NULL, "%s", b.missing);

    RunsSuite bo;
    CHECK("best-of-N curve: expected best of k (k=2: 1 - C(3,2)/C(4,2) = 0.5; k=4: 1)",
          runs_suite(&r, "base_bestofn_seed0", 1, &bo, err) == 0 && bo.n == 2 && bo.y[0] == 0.5 && bo.y[1] == 1.0 &&
          !strcmp(json_string_value(json_object_get(bo.task_family, "a")), "reach") &&
          json_number_value(json_object_get(bo.task_mean, "a")) == 0.25, "n %d y %g err %s", bo.n, bo.n ? bo.y[0] : -1, err);
    runs_suite_free(&bo);

    /* The learning check's climb: 6 steps of 2 rollouts, thirds of 2 steps: last third
     * (0.6, 0.8, 1.0, 0.6) minus first (0, 0.2, 0.2, 0.2) = 0.75 - 0.15 = 0.6; task q has
     * 1 step (left out, a note); task z's result.json is missing (left out, a note). */
    put("suite/ttt_train_seed0/summary.jsonl",
        "{\"task_id\":\"p\",\"best_reward\":1,\"mean_reward\":0.5,\"samples\":12}\n"
        "{\"task_id\":\"q\",\"best_reward\":1,\"mean_reward\":0.5,\"samples\":2}\n"
        "{\"task_id\":\"z\",\"best_reward\":1,\"mean_reward\":0.5,\"samples\":2}\n");
    put("suite/ttt_train_seed0/p/result.json",
        "{\"rollouts\":2,\"rewards\":[0,0.2,0.2,0.2,0.5,0.5,0.5,0.5,0.6,0.8,1.0,0.6]}");
    put("suite/ttt_train_seed0/q/result.json", "{\"rollouts\":2,\"rewards\":[0,1]}");
    put("suite/bad_train_seed0/summary.jsonl", "{\"task_id\":\"p\",\"best_reward\":1,\"mean_reward\":0.5,\"samples\":4}\n");
    put("suite/bad_train_seed0/p/result.json", "{\"rollouts\":2,\"rewards\":[0,\"x\",0,1]}");
    RunsSuite tr;
    json_t* climb = NULL;
    int rc = runs_suite(&r, "ttt_train_seed0", 0, &tr, err);
    rc = rc ? rc : runs_suite_climb(&r, &tr, &climb, err);
    CHECK("climb: last third minus first third of the steps", rc == 0 && json_object_size(climb) == 1 &&
          fabs(json_number_value(json_object_get(climb, "p")) - 0.6) < 1e-12, "rc %d err %s", rc, err);
    CHECK("climb: short and missing tasks left out with notes",
          has_note(&r, "1 task(s) without 2 steps") && has_note(&r, "ttt_train_seed0/z/result.json: missing"), "notes");
    json_decref(climb);
    runs_suite_free(&tr);
    rc = runs_suite(&r, "bad_train_seed0", 0, &tr, err);
    CHECK("climb: a non-number reward is refused, naming the file",
          rc == 0 && runs_suite_climb(&r, &tr, &climb, err) == -1 && climb == NULL && strstr(err, "bad_train_seed0/p/result.json"),
          "err %s", err);
    runs_suite_free(&tr);

    RunsPretrain p[2];
    CHECK("pretrain find", runs_pretrain_find(&r, p, err) == 0 && !strcmp(p[0].name, "pre_on") && p[0].streams == 4 &&
          !strcmp(p[1].name, "pre_off") && p[1].streams == 0, "on %s off %s err %s", p[0].name, p[1].name, err);
    CHECK("pretrain: without model_config counted off, extra noted",
          has_note(&r, "pre_plain has no model_config.json") && has_note(&r, "using pre_off, ignoring pre_plain"), "notes");
    CHECK("pretrain metrics", runs_pretrain_metrics(&r, &p[0], err) == 0 && p[0].n == 2 && p[0].nv == 1 &&
          p[0].vstep[0] == 2 && p[0].vloss[0] == 4.5, "n %d nv %d err %s", p[0].n, p[0].nv, err);
    runs_pretrain_free(&p[0]);
    CHECK("pretrain metrics missing: a note, no error", runs_pretrain_metrics(&r, &p[1], err) == 0 && p[1].n == 0 &&
          has_note(&r, "pre_off/metrics.jsonl: missing"), "err %s", err);

    char name[256], cmd[512], d[4200];
    runs_sdft(&r, name);
    snprintf(d, sizeof d, "%s/%s", root, name);
    CHECK("sdft run and its command", !strcmp(name, "sdft_run") && runs_command(&r, d, cmd, sizeof cmd, err) == 0 &&
          !strcmp(cmd, "bin/sdft --note 'a b'"), "%s: %s", name, cmd);

    int found = 0;
    for (size_t i = 0; i < json_array_size(r.read); i++)
        found += strstr(json_string_value(json_array_get(r.read, i)), "ttt_main_seed0/b/result.json") != NULL;
    CHECK("files read are listed", found == 1, "found %d", found);
    runs_close(&r);

    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", root);
    if (system(rm)) fprintf(stderr, "could not remove %s\n", root);
    return check_status();
}
