/* gate: see gate.h. */
#include "gate.h"
#include <stdlib.h>
#include <string.h>

static int cond_parse(const char* s, GateCond* c) {
    while (*s == ' ') s++;
    const char* ops[] = {"<=", ">=", "==", "<", ">"};
    for (int i = 0; i < 5; i++) {
        size_t n = strlen(ops[i]);
        if (!strncmp(s, ops[i], n)) {
            char* end;
            double x = strtod(s + n, &end);
            while (*end == ' ') end++;
            if (end == s + n || *end) return -1;
            snprintf(c->op, sizeof c->op, "%s", ops[i]);
            c->x = x;
            c->set = 1;
            return 0;
        }
    }
    return -1;
}

static int cond_holds(const GateCond* c, double v) {
    if (!strcmp(c->op, "<=")) return v <= c->x;
    if (!strcmp(c->op, ">=")) return v >= c->x;
    if (!strcmp(c->op, "==")) return v == c->x;
    if (!strcmp(c->op, "<")) return v < c->x;
    return v > c->x;
}

int gates_parse(const json_t* spec, const char* where, Gate** out, int* n, char err[ERR_LEN]) {
    *out = NULL;
    *n = 0;
    if (!spec || json_is_null(spec)) return 0;
    if (!json_is_array(spec)) { snprintf(err, ERR_LEN, "%s: gates: expected a list of gates", where); return -1; }
    size_t cnt = json_array_size(spec), i;
    Gate* g = calloc_check(cnt ? cnt : 1, sizeof *g);
    json_t* o;
    json_array_foreach(spec, i, o) {
        Gate* x = &g[i];
        x->at = -1;
        if (!json_is_object(o)) { snprintf(err, ERR_LEN, "%s: gates[%zu]: expected a mapping", where, i); goto bad; }
        const char* k;
        json_t* v;
        json_object_foreach(o, k, v) {
            if (!strcmp(k, "at")) {
                if (!json_is_integer(v) || json_integer_value(v) < -1) { snprintf(err, ERR_LEN, "%s: gates[%zu].at: expected a step", where, i); goto bad; }
                x->at = (long)json_integer_value(v);
            } else if (!strcmp(k, "metric")) {
                if (!json_is_string(v) || !*json_string_value(v)) { snprintf(err, ERR_LEN, "%s: gates[%zu].metric: expected a name", where, i); goto bad; }
                snprintf(x->metric, sizeof x->metric, "%s", json_string_value(v));
            } else if (!strcmp(k, "green") || !strcmp(k, "amber")) {
                GateCond* c = k[0] == 'g' ? &x->green : &x->amber;
                if (!json_is_string(v) || cond_parse(json_string_value(v), c)) {
                    snprintf(err, ERR_LEN, "%s: gates[%zu].%s: expected a condition like \"<=3.1\"", where, i, k);
                    goto bad;
                }
            } else if (!strcmp(k, "on_red")) {
                const char* s = json_is_string(v) ? json_string_value(v) : "";
                if (!strcmp(s, "stop")) x->on_red = ON_RED_STOP;
                else if (!strcmp(s, "keep_best")) x->on_red = ON_RED_KEEP_BEST;
                else { snprintf(err, ERR_LEN, "%s: gates[%zu].on_red: expected stop or keep_best", where, i); goto bad; }
            } else { snprintf(err, ERR_LEN, "%s: gates[%zu]: unknown key '%s'", where, i, k); goto bad; }
        }
        if (!x->metric[0] || !x->green.set) { snprintf(err, ERR_LEN, "%s: gates[%zu]: needs metric and green", where, i); goto bad; }
    }
    *out = g;
    *n = (int)cnt;
    return 0;
bad:
    free(g);
    return -1;
}

int gate_applies(const Gate* g, const char* metric, long step) {
    return !strcmp(g->metric, metric) && (g->at < 0 || g->at == step);
}

GateVerdict gate_eval(const Gate* g, double v) {
    if (cond_holds(&g->green, v)) return GATE_GREEN;
    if (g->amber.set && cond_holds(&g->amber, v)) return GATE_AMBER;
    return GATE_RED;
}

const char* gate_verdict_name(GateVerdict v) { return v == GATE_GREEN ? "GREEN" : v == GATE_AMBER ? "AMBER" : "RED"; }

json_t* gate_record(const Gate* g, long step, double value, GateVerdict v) {
    char green[48], amber[48];
    snprintf(green, sizeof green, "%s%g", g->green.op, g->green.x);
    snprintf(amber, sizeof amber, "%s%g", g->amber.set ? g->amber.op : "", g->amber.set ? g->amber.x : 0.0);
    return json_pack("{s:s, s:I, s:f, s:s, s:s, s:s, s:s}", "metric", g->metric, "step", (json_int_t)step, "value", value,
                     "verdict", gate_verdict_name(v), "green", green, "amber", g->amber.set ? amber : "",
                     "on_red", g->on_red == ON_RED_STOP ? "stop" : "keep_best");
}

GateVerdict gates_check(const Gate* gates, int n, const json_t* values, long step, json_t* records, OnRed* on_red) {
    GateVerdict worst = GATE_GREEN;
    if (on_red) *on_red = ON_RED_KEEP_BEST;
    for (int g = 0; g < n; g++) {
        json_t* v = json_object_get(values, gates[g].metric);
        if (!json_is_number(v) || !gate_applies(&gates[g], gates[g].metric, step)) continue;
        GateVerdict r = gate_eval(&gates[g], json_number_value(v));
        json_array_append_new(records, gate_record(&gates[g], step, json_number_value(v), r));
        if (r > worst) { worst = r; if (on_red) *on_red = gates[g].on_red; }
    }
    return worst;
}
