/* build-sdft (D2; runbook: build_sdft_from_suite.py): the SDFT demonstration
 * file from a discovery suite's results. A task whose best reward reaches
 * --min_reward contributes its prompt and best solution (lib/data/sdftdata.h). */
#include "config.h"
#include "lifecycle.h"
#include "specs.h"
#include "control.h"
#include "json.h"
#include "sdftdata.h"
#include "tasks.h"
#include "track.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
    BuildSdftArgs a;
    Common c;
    char err[ERR_LEN], run[4096];
    int cli = cfg_cli(&BUILD_SDFT_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */

    /* Everything is read and checked before the run dir or the output is touched. */
    Task* tasks = NULL;
    long nt = tasks_load_jsonl(a.tasks_jsonl, &tasks, err);
    if (nt < 0) die(EXIT_BADINPUT, "%s", err);
    if (nt == 0) die(EXIT_BADINPUT, "%s: no tasks", a.tasks_jsonl);
    if (!is_dir(a.suite_root)) die(EXIT_BADINPUT, "%s: suite root not found (or not a directory)", a.suite_root);
    Demo* demos = calloc_check((size_t)nt, sizeof(Demo));
    char (*res_paths)[4300] = malloc_check(sizeof *res_paths * (size_t)nt);
    long nd = 0;
    for (long i = 0; i < nt; i++) {
        const Task* task = &tasks[i];
        char dir[4200];
        if (path_join(dir, sizeof dir, a.suite_root, task->id, err) || path_join(res_paths[i], sizeof res_paths[i], dir, "result.json", err))
            die(EXIT_BADINPUT, "%s", err);
        if (!path_exists(res_paths[i]))
            die(EXIT_BADINPUT, "%s: task %s has no result.json (%s); did the suite run finish on these tasks?", a.suite_root,
                task->id, res_paths[i]);
        json_t* r = json_load_path(res_paths[i], err);
        if (!r) die(EXIT_BADINPUT, "%s", err);
        json_t *id = json_object_get(r, "task_id"), *br = json_object_get(r, "best_reward"), *bs = json_object_get(r, "best_solution");
        if (!json_is_object(r) || !json_is_string(id) || !json_is_number(br) || !json_is_string(bs))
            die(EXIT_BADINPUT, "%s: expected an object with task_id (string), best_reward (number), best_solution (string)",
                res_paths[i]);
        if (strcmp(json_string_value(id), task->id))
            die(EXIT_BADINPUT, "%s: task_id '%s', expected '%s'", res_paths[i], json_string_value(id), task->id);
        double reward = json_number_value(br);
        if (!(reward >= 0 && reward <= 1)) die(EXIT_BADINPUT, "%s: best_reward %g is outside [0, 1]", res_paths[i], reward);
        if (reward >= a.min_reward) {
            Demo* dm = &demos[nd++];
            dm->task_id = strdup_check(task->id);
            dm->family = strdup_check(task_family_name(task->family));
            dm->prompt = strdup_check(task->prompt);
            dm->demonstration = strdup_check(json_string_value(bs));
            dm->reward = reward;
            dm->source_run = strdup_check(a.suite_root);
        }
        json_decref(r);
    }

    const char* outs[] = {a.out_jsonl};
    if (life_plain_outputs(run, &c, outs, 1, 0, err)) die(EXIT_BADINPUT, "%s", err);
    Tracker t;
    if (track_open(&t, run, &BUILD_SDFT_SPEC, &a, &c, "build-sdft")) die(t.err_exit, "%s", t.err);
    control_install(&t);
    life_clear_output_temps(a.out_jsonl);
    if (track_input(&t, a.tasks_jsonl)) die(t.err_exit, "%s", t.err);
    char summary[4200];
    if (path_join(summary, sizeof summary, a.suite_root, "summary.jsonl", err)) die(EXIT_BADINPUT, "%s", err);
    if (path_exists(summary) && track_input(&t, summary)) die(t.err_exit, "%s", t.err);   /* refuses a suite run that is not completed */
    for (long i = 0; i < nt; i++) if (track_input(&t, res_paths[i])) die(t.err_exit, "%s", t.err);
    track_total(&t, nt);
    if (sdft_demos_write(a.out_jsonl, demos, nd, err)) die(EXIT_FAIL, "%s", err);
    if (track_output(&t, a.out_jsonl)) die(t.err_exit, "%s", t.err);
    if (track_progress(&t, nt, "done")) die(t.err_exit, "%s", t.err);
    track_summary(&t, "tasks", json_integer(nt));
    track_summary(&t, "demos", json_integer(nd));
    track_summary(&t, "min_reward", json_real(a.min_reward));
    track_say(&t, "build-sdft: %ld of %ld tasks reach min_reward %g -> %s", nd, nt, a.min_reward, a.out_jsonl);
    if (nd == 0)
        fprintf(stderr, "build-sdft: warning: no task of %s reaches min_reward %g in %s; %s is empty (sdft will refuse it)\n",
                a.tasks_jsonl, a.min_reward, a.suite_root, a.out_jsonl);
    if (track_finish(&t, "completed", "")) die(t.err_exit, "%s", t.err);
    sdft_demos_free(demos, nd);
    free(res_paths);
    free(tasks);
    return 0;
}
