/* suite: see suite.h. */
#include "suite.h"
#include "atomic.h"
#include "json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t* suite_result_json(const Task* t, const TttCfg* c, uint64_t seed, TaskResult* res) {
    json_t* r = json_pack("{s:s, s:s, s:s, s:I, s:f, s:s, s:f, s:I, s:I, s:f, s:o, s:o, s:s, s:b, s:b, s:f, s:I, s:I, s:I}",
                          "task_id", t->id, "family", task_family_name(t->family),
                          "mode", c->ttt ? "ttt" : c->search ? "search" : "bestofn", "seed", (json_int_t)seed,
                          "best_reward", res->best_reward, "best_solution", res->best_solution, "mean_reward", res->mean_reward,
                          "samples", (json_int_t)res->samples, "tokens", (json_int_t)res->tokens, "seconds", res->seconds,
                          "curve", res->curve, "rewards", res->rewards, "objective", c->entropic ? "entropic" : "expected",
                          "reuse", c->reuse, "adaptive_beta", c->adaptive_beta, "kl_lambda", c->kl_lambda,
                          "ttt_steps", (json_int_t)c->ttt_steps, "rollouts", (json_int_t)c->rollouts,
                          "max_new_tokens", (json_int_t)c->max_new_tokens);
    res->curve = res->rewards = NULL;
    return r;
}

long suite_load_results(const char* out_root, const Task* tasks, long nt, json_t** results, double* best_sum,
                        double* mean_sum, const char** first_missing) {
    char p[4300], err[ERR_LEN];
    long missing = 0;
    *results = json_array();
    *best_sum = *mean_sum = 0;
    *first_missing = NULL;
    for (long i = 0; i < nt; i++) {
        snprintf(p, sizeof p, "%s/%s/result.json", out_root, tasks[i].id);
        json_t* r = path_exists(p) ? json_load_path(p, err) : NULL;
        if (!r) { if (!missing++) *first_missing = tasks[i].id; continue; }
        *best_sum += jget_num(r, "best_reward", 0);
        *mean_sum += jget_num(r, "mean_reward", 0);
        json_object_del(r, "curve");
        json_object_del(r, "rewards");
        json_array_append_new(*results, r);
    }
    return missing;
}

int suite_write_summary(const char* path, const json_t* results, char err[ERR_LEN]) {
    AtomicFile af;
    if (atomic_open(&af, path, err)) return -1;
    size_t k;
    json_t* r;
    json_array_foreach(results, k, r) {
        char* line = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(10));
        fprintf(af.f, "%s\n", line);
        free(line);
    }
    return atomic_commit(&af, err);
}

int suite_shard_parse(const char* s, long* i, long* n) {
    int used = 0;
    return sscanf(s, "%ld/%ld%n", i, n, &used) != 2 || s[used] || *n < 1 || *i < 0 || *i >= *n ? -1 : 0;
}

GateVerdict suite_gates(const Gate* gates, int n, long ttt_steps, double mean_best, double mean, json_t* records) {
    json_t* values = json_pack("{s:f, s:f}", "mean_best_reward", mean_best, "mean_reward", mean);
    GateVerdict worst = gates_check(gates, n, values, ttt_steps, records, NULL);
    json_decref(values);
    return worst;
}
