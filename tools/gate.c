/* gate: the verdict of a list of gates (lib/run/gate, GATE_SPEC §8) on any JSON or
 * JSONL metrics file, as an exit code Make can branch on: 0 GREEN or AMBER,
 * 3 RED, 2 bad input (or a metric that is not there). */
#include "config.h"
#include "specs.h"
#include "gate.h"
#include "json.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const Gate* g; json_t* hit; } Find;

static void find_in_line(json_t* o, void* ctx) {
    Find* f = ctx;
    if (!json_is_number(json_object_get(o, f->g->metric))) return;
    if (f->g->at >= 0 && jget_int(o, "step", -1) != f->g->at) return;
    json_decref(f->hit);
    f->hit = json_incref(o);
}

int main(int argc, char** argv) {
    GateArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&GATE_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    Gate* gates;
    int n;
    if (gates_parse(a.spec, c.config_path ? c.config_path : "--spec", &gates, &n, err)) die(EXIT_BADINPUT, "%s", err);
    if (n == 0) die(EXIT_BADINPUT, "--spec: no gates");
    json_t* whole = json_load_path(a.metrics, err);
    int red = 0;
    for (int i = 0; i < n; i++) {
        Find f = {&gates[i], NULL};
        if (json_is_object(whole)) find_in_line(whole, &f);
        else if (jsonl_foreach(a.metrics, find_in_line, &f, err) < 0) die(EXIT_BADINPUT, "%s", err);
        if (!f.hit) {
            if (gates[i].at >= 0) die(EXIT_BADINPUT, "%s: no '%s' at step %ld", a.metrics, gates[i].metric, gates[i].at);
            die(EXIT_BADINPUT, "%s: no '%s'", a.metrics, gates[i].metric);
        }
        double v = jget_num(f.hit, gates[i].metric, 0);
        GateVerdict verdict = gate_eval(&gates[i], v);
        red |= verdict == GATE_RED;
        printf("%s %s = %g", gate_verdict_name(verdict), gates[i].metric, v);
        if (json_object_get(f.hit, "step")) printf(" at step %ld", jget_int(f.hit, "step", 0));
        printf(" (green %s%g", gates[i].green.op, gates[i].green.x);
        if (gates[i].amber.set) printf(", amber %s%g", gates[i].amber.op, gates[i].amber.x);
        printf(")\n");
        json_decref(f.hit);
    }
    json_decref(whole);
    free(gates);
    return red ? EXIT_GATED : 0;
}
