/* gate: the three verdicts on a synthetic metric stream, `at` and metric
 * matching, and refusal of malformed gate specs with the config named. */
#include "check.h"
#include "gate.h"
#include <stdlib.h>
#include <string.h>

int main(void) {
    char err[ERR_LEN];
    json_error_t je;
    json_t* spec = json_loads("[{\"at\": 100, \"metric\": \"val_loss\", \"green\": \"<=3.1\", \"amber\": \"<=3.4\", \"on_red\": \"stop\"},"
                              " {\"metric\": \"val_ppl_rel_delta\", \"green\": \"<= 0.05\", \"amber\": \"<0.1\", \"on_red\": \"keep_best\"}]", 0, &je);
    Gate* g;
    int n;
    CHECK("gate_parse", gates_parse(spec, "cfg.yaml", &g, &n, err) == 0 && n == 2 && g[0].at == 100 && g[1].at == -1 &&
          g[1].on_red == ON_RED_KEEP_BEST, "%s", err);
    double stream[] = {2.9, 3.1, 3.2, 3.4, 3.5, 9.0};
    GateVerdict want[] = {GATE_GREEN, GATE_GREEN, GATE_AMBER, GATE_AMBER, GATE_RED, GATE_RED};
    int ok = 1;
    for (int i = 0; i < 6; i++) ok &= gate_eval(&g[0], stream[i]) == want[i];
    CHECK("gate_three_verdicts", ok, "verdicts differ on the stream");
    CHECK("gate_applies_at_step", gate_applies(&g[0], "val_loss", 100) && !gate_applies(&g[0], "val_loss", 99) &&
          !gate_applies(&g[0], "loss", 100) && gate_applies(&g[1], "val_ppl_rel_delta", 7), "matching");
    CHECK("gate_strict_amber", gate_eval(&g[1], 0.05) == GATE_GREEN && gate_eval(&g[1], 0.099) == GATE_AMBER &&
          gate_eval(&g[1], 0.1) == GATE_RED, "boundaries");
    json_t* rec = gate_record(&g[1], 7, 0.2, GATE_RED);
    CHECK("gate_record", !strcmp(json_string_value(json_object_get(rec, "verdict")), "RED") &&
          !strcmp(json_string_value(json_object_get(rec, "on_red")), "keep_best"), "record");
    json_decref(rec);
    /* gates_check: the gates that apply to the values given, worst verdict and its on_red */
    json_t* vals = json_pack("{s:f, s:f}", "val_loss", 3.5, "val_ppl_rel_delta", 0.07);
    json_t* recs = json_array();
    OnRed on_red;
    GateVerdict w = gates_check(g, 2, vals, 100, recs, &on_red);
    CHECK("gates_check_worst_and_records", w == GATE_RED && on_red == ON_RED_STOP && json_array_size(recs) == 2 &&
          !strcmp(json_string_value(json_object_get(json_array_get(recs, 1), "verdict")), "AMBER"), "verdict %d, %zu records",
          (int)w, json_array_size(recs));
    json_array_clear(recs);
    w = gates_check(g, 2, vals, 99, recs, &on_red);   /* gate 0 is for step 100 only */
    CHECK("gates_check_skips_other_steps", w == GATE_AMBER && on_red == ON_RED_KEEP_BEST && json_array_size(recs) == 1, "%d", (int)w);
    json_array_clear(recs);
    json_object_del(vals, "val_ppl_rel_delta");
    w = gates_check(g, 2, vals, 7, recs, NULL);         /* no value for gate 1's metric; gate 0 not at 7 */
    CHECK("gates_check_skips_missing_metrics", w == GATE_GREEN && json_array_size(recs) == 0, "%d", (int)w);
    json_decref(recs);
    json_decref(vals);
    free(g);
    json_decref(spec);
    const char* bad[] = {
        "{\"metric\": \"x\"}", "[{\"green\": \"<=1\"}]", "[{\"metric\": \"x\", \"green\": \"about 3\"}]",
        "[{\"metric\": \"x\", \"green\": \"<=1\", \"on_red\": \"panic\"}]", "[{\"metric\": \"x\", \"green\": \"<=1\", \"color\": 1}]",
        "[{\"metric\": \"x\", \"green\": \"<=1\", \"at\": \"soon\"}]", "[3]",
    };
    int refused = 0;
    for (int i = 0; i < 7; i++) {
        json_t* s = json_loads(bad[i], 0, &je);
        err[0] = 0;
        refused += gates_parse(s, "cfg.yaml", &g, &n, err) == -1 && strstr(err, "cfg.yaml") != NULL;
        json_decref(s);
    }
    CHECK("gate_malformed_specs_refused", refused == 7, "%d of 7 refused (%s)", refused, err);
    CHECK("gate_none", gates_parse(NULL, "cfg.yaml", &g, &n, err) == 0 && n == 0, "NULL spec");
    return check_status();
}
