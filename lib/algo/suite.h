/* suite: the discovery suite's files across its tasks (SPEC §6; tools/ttt.c runs it).
 * Owns: a task's result row (result.json), reading every task's result of a suite,
 * summary.jsonl (built from the result files in task order, so a resumed or sharded run
 * writes the same file), sharding (which tasks a shard runs, and its run dir), and the
 * gates on the suite's means. Does not own: running a task (lib/algo/ttt), the tracker and
 * the run's directory contract (lib/track). */
#ifndef DD_SUITE_H
#define DD_SUITE_H
#include <jansson.h>
#include "gate.h"
#include "tasks.h"
#include "ttt.h"

/* A task's result.json: ids, the settings that shaped it, the result (curve and
 * rewards are taken from res: res->curve and res->rewards become NULL). */
json_t* suite_result_json(const Task* t, const TttCfg* c, uint64_t seed, TaskResult* res);

/* Every task's <out_root>/<id>/result.json, in task order, into a new array without
 * their curves and rewards; the best and mean rewards summed. Returns the number
 * missing; *first_missing names the first (NULL when none). */
long suite_load_results(const char* out_root, const Task* tasks, long nt, json_t** results, double* best_sum,
                        double* mean_sum, const char** first_missing);

/* summary.jsonl: one compact line per result row (10 significant digits), atomically. */
int suite_write_summary(const char* path, const json_t* results, char err[ERR_LEN]);

/* "i/n" -> shard i of n (n >= 1, 0 <= i < n): it runs the tasks whose index is i mod n.
 * Returns 0, or -1 for anything else. */
int suite_shard_parse(const char* s, long* i, long* n);

/* The gates on the suite's mean_best_reward and mean_reward (once every task is done, at
 * step ttt_steps): records appended (gate_record), the worst verdict returned. */
GateVerdict suite_gates(const Gate* gates, int n, long ttt_steps, double mean_best, double mean, json_t* records);

#endif
