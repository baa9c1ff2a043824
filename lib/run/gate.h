/* gate: RED/AMBER/GREEN metric gates (SPEC §8, smoke-test-gates.md), one
 * mechanism for every tool.
 * A config lists gates: [{at: STEP, metric: NAME, green: "<=3.1", amber: "<=3.4",
 * on_red: stop|keep_best}]. `at` absent (or -1) = every time the metric is
 * evaluated. GREEN when the green condition holds, else AMBER when the amber one
 * holds (amber may be omitted), else RED. Conditions: <=, <, >=, >, == and a number.
 * Owns: parsing and validating gate lists, verdicts. Does not own: what a tool
 * does on RED (it reads on_red: stop = status gated, exit 3; keep_best = stop and
 * publish the last passing checkpoint, status completed). */
#ifndef DD_GATE_H
#define DD_GATE_H
#include <jansson.h>
#include "util.h"

typedef enum { GATE_GREEN = 0, GATE_AMBER = 1, GATE_RED = 2 } GateVerdict;
typedef enum { ON_RED_STOP, ON_RED_KEEP_BEST } OnRed;

typedef struct { char op[3]; double x; int set; } GateCond;
typedef struct {
    long     at;            /* -1: every evaluation */
    char     metric[64];
    GateCond green, amber;
    OnRed    on_red;
} Gate;

/* spec: the config's JSON list (NULL = no gates). where names the config for errors. */
int  gates_parse(const json_t* spec, const char* where, Gate** out, int* n, char err[ERR_LEN]);
int  gate_applies(const Gate* g, const char* metric, long step);
GateVerdict gate_eval(const Gate* g, double value);
const char* gate_verdict_name(GateVerdict v);
/* The verdict as JSON for events, metrics and reports. */
json_t* gate_record(const Gate* g, long step, double value, GateVerdict v);
/* Every gate that applies at step to a metric of `values` ({metric: number}), in list
 * order: its gate_record appended to records. Returns the worst verdict (GREEN when none
 * applies); *on_red (may be NULL) gets the on_red of the first gate with that verdict. */
GateVerdict gates_check(const Gate* gates, int n, const json_t* values, long step, json_t* records, OnRed* on_red);

#endif
