/* suite: a task's result row, reading a suite's results in task order with the missing
 * ones counted, summary.jsonl, --shard parsing, and the gates on the suite's means. */
#include "check.h"
#include "lifecycle.h"
#include "json.h"
#include "suite.h"
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/ddsuite.XXXXXX";

static void test_result_and_summary(void) {
    Task tasks[3];
    Rng r;
    rng_seed(&r, 1);
    for (int i = 0; i < 3; i++) {
        task_generate(&r, i, 1, &tasks[i]);
        snprintf(tasks[i].id, sizeof tasks[i].id, "t%d", i);
    }
    TttCfg c = {0};
    c.ttt = 1; c.entropic = 0; c.reuse = 1; c.adaptive_beta = 0; c.kl_lambda = 0.25; c.ttt_steps = 3; c.rollouts = 4;
    c.max_new_tokens = 8;
    char p[4300], err[ERR_LEN];
    for (int i = 0; i < 3; i += 2) {   /* t1 has no result yet */
        TaskResult res = {0};
        res.best_reward = 0.5 * (i + 1);
        res.mean_reward = 0.25;
        res.samples = 12;
        res.curve = json_pack("[[I, f]]", (json_int_t)12, res.best_reward);
        res.rewards = json_array();
        json_t* row = suite_result_json(&tasks[i], &c, 7, &res);
        CHECK("result_json: ids, settings and result; curve and rewards taken", res.curve == NULL && res.rewards == NULL &&
              !strcmp(jget_str(row, "mode", ""), "ttt") && !strcmp(jget_str(row, "objective", ""), "expected") &&
              jget_int(row, "seed", 0) == 7 && jget_num(row, "kl_lambda", 0) == 0.25 &&
              json_is_true(json_object_get(row, "reuse")) && json_is_false(json_object_get(row, "adaptive_beta")) &&
              json_array_size(json_object_get(row, "curve")) == 1 && json_object_size(row) == 19,
              "%zu keys", json_object_size(row));
        snprintf(p, sizeof p, "%s/t%d/result.json", dir, i);
        check_put(dir, i ? "t2/result.json" : "t0/result.json", "");
        json_write_atomic(p, row, err);
        json_decref(row);
    }
    json_t* results;
    double best, mean;
    const char* first;
    long missing = suite_load_results(dir, tasks, 3, &results, &best, &mean, &first);
    CHECK("load_results: task order, missing ones counted, curves dropped", missing == 1 && first && !strcmp(first, "t1") &&
          json_array_size(results) == 2 && best == 2.0 && mean == 0.5 &&
          !strcmp(jget_str(json_array_get(results, 1), "task_id", ""), "t2") &&
          !json_object_get(json_array_get(results, 0), "curve"), "missing %ld best %g", missing, best);
    snprintf(p, sizeof p, "%s/summary.jsonl", dir);
    size_t len;
    char* text = suite_write_summary(p, results, err) ? NULL : read_file(p, &len, err);
    int lines = 0;
    for (size_t i = 0; text && i < len; i++) lines += text[i] == '\n';
    CHECK("write_summary: one compact line per result", lines == 2 && strstr(text, "\"task_id\":\"t0\"") < strstr(text, "\"t2\""),
          "%s", text ? text : err);
    free(text);
    json_decref(results);
}

static void test_shard_and_gates(void) {
    long i, n;
    CHECK("shard_parse: i/n", suite_shard_parse("1/4", &i, &n) == 0 && i == 1 && n == 4, "%ld %ld", i, n);
    const char* bad[] = {"4/4", "-1/2", "1/0", "1/2x", "x", ""};
    int refused = 0;
    for (int k = 0; k < 6; k++) refused += suite_shard_parse(bad[k], &i, &n) == -1;
    CHECK("shard_parse: anything else refused", refused == 6, "%d of 6", refused);
    json_error_t je;
    json_t* spec = json_loads("[{\"metric\": \"mean_best_reward\", \"green\": \">=0.5\", \"amber\": \">=0.2\"},"
                              " {\"metric\": \"mean_reward\", \"green\": \">=0.1\", \"at\": 30}]", 0, &je);
    Gate* g;
    int ng;
    char err[ERR_LEN];
    gates_parse(spec, "cfg", &g, &ng, err);
    json_t* recs = json_array();
    GateVerdict w = suite_gates(g, ng, 30, 0.3, 0.05, recs);
    CHECK("gates: both means at step ttt_steps, worst verdict", w == GATE_RED && json_array_size(recs) == 2 &&
          !strcmp(jget_str(json_array_get(recs, 0), "verdict", ""), "AMBER"), "%d, %zu records", (int)w, json_array_size(recs));
    json_array_clear(recs);
    w = suite_gates(g, ng, 10, 0.6, 0.05, recs);
    CHECK("gates: a gate for another step does not apply", w == GATE_GREEN && json_array_size(recs) == 1, "%d", (int)w);
    json_decref(recs);
    json_decref(spec);
    free(g);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    test_result_and_summary();
    test_shard_and_gates();
    life_rm_tree(dir);
    return check_status();
}
