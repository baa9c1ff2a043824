/* sweep_config: see sweep_config.h. */
#include "sweep_config.h"
#include "config.h"
#include "json.h"
#include <math.h>
#include <unistd.h>
#include <yaml.h>
#include <string.h>
#include <stdlib.h>

/* ---- config ------------------------------------------------------------ */

typedef struct {
    const char *name, *tool, *section, *base_config, *run_dir_flag, *objective, *objective_file, *sampler, *direction;
    long n_trials, max_retries, seed;
    double stale_sec;
    json_t *space, *fixed_args;
} Raw;

static const Opt SWEEP_OPTS[] = {
    {"name", OPT_STR, offsetof(Raw, name), NULL, OPT_RANGE_NONE, "study name"},
    {"tool", OPT_STR, offsetof(Raw, tool), NULL, OPT_RANGE_NONE, "tool in bin/ to run per trial"},
    {"section", OPT_STR, offsetof(Raw, section), "", OPT_RANGE_NONE, "the tool's section in base_config (default: tool with - as _)"},
    {"base_config", OPT_STR, offsetof(Raw, base_config), NULL, OPT_RANGE_NONE, "project config passed as --config"},
    {"fixed_args", OPT_JSON, offsetof(Raw, fixed_args), "null", OPT_RANGE_NONE, "flags for every trial {flag: value}"},
    {"space", OPT_JSON, offsetof(Raw, space), NULL, OPT_RANGE_NONE, "param -> {type, low, high, log, choices, grid}"},
    {"sampler", OPT_STR, offsetof(Raw, sampler), "random", OPT_RANGE_NONE, "grid | random | tpe"},
    {"n_trials", OPT_INT, offsetof(Raw, n_trials), NULL, 1, 1e6, "proposals (retries not counted)"},
    {"objective", OPT_STR, offsetof(Raw, objective), NULL, OPT_RANGE_NONE, "key (a.b for nesting) in objective_file"},
    {"objective_file", OPT_STR, offsetof(Raw, objective_file), "run_record.json", OPT_RANGE_NONE, "JSON file in the trial dir"},
    {"direction", OPT_STR, offsetof(Raw, direction), "minimize", OPT_RANGE_NONE, "minimize | maximize"},
    {"max_retries", OPT_INT, offsetof(Raw, max_retries), "2", 0, 100, "retries of a trial whose worker died"},
    {"run_dir_flag", OPT_STR, offsetof(Raw, run_dir_flag), "--out", OPT_RANGE_NONE, "the tool's run-dir flag"},
    {"seed", OPT_INT, offsetof(Raw, seed), "0", 0, 4294967295.0, "random sampler seed"},
    {"stale_sec", OPT_FLOAT, offsetof(Raw, stale_sec), "60", 0.1, 1e7, "heartbeat/claim age after which a dead pid's trial is failed"},
    {0},
};

/* Line (1-based) of the node at space-separated key path, for errors; the
 * deepest key found wins, 0 if none. */
static int yaml_line(const char* path, const char* k1, const char* k2, const char* k3) {
    size_t len;
    char err[ERR_LEN];
    char* buf = read_file(path, &len, err);
    if (!buf) return 0;
    yaml_parser_t ps;
    yaml_document_t doc;
    yaml_parser_initialize(&ps);
    yaml_parser_set_input_string(&ps, (const unsigned char*)buf, len);
    int line = 0;
    if (yaml_parser_load(&ps, &doc)) {
        yaml_node_t* n = yaml_document_get_root_node(&doc);
        const char* keys[3] = {k1, k2, k3};
        for (int d = 0; d < 3 && n && keys[d]; d++) {
            if (n->type != YAML_MAPPING_NODE) break;
            yaml_node_t* next = NULL;
            for (yaml_node_pair_t* p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                yaml_node_t* k = yaml_document_get_node(&doc, p->key);
                if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char*)k->data.scalar.value, keys[d])) {
                    line = (int)k->start_mark.line + 1;
                    next = yaml_document_get_node(&doc, p->value);
                }
            }
            n = next;
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&ps);
    free(buf);
    return line;
}

#define BAD(k1, k2, k3, ...) do { \
    int ln_ = yaml_line(path, k1, k2, k3); \
    int o_ = snprintf(err, ERR_LEN, "%s:%d: ", path, ln_ ? ln_ : 1); \
    snprintf(err + o_, ERR_LEN - o_, __VA_ARGS__); \
    goto fail; } while (0)

/* ${VAR} and ${VAR:-default} from the environment. */
static char* expand_env(const char* s) {
    size_t cap = strlen(s) + 256, n = 0;
    char* out = malloc_check(cap);
    for (const char* p = s; *p;) {
        const char* e;
        if (p[0] == '$' && p[1] == '{' && (e = strchr(p, '}'))) {
            char var[256] = "", def[1024] = "";
            const char* colon = strstr(p, ":-");
            size_t vl = (colon && colon < e ? colon : e) - (p + 2);
            if (vl >= sizeof var) vl = sizeof var - 1;
            memcpy(var, p + 2, vl);
            if (colon && colon < e) snprintf(def, sizeof def, "%.*s", (int)(e - colon - 2), colon + 2);
            const char* v = getenv(var);
            if (!v || !*v) v = def;
            size_t l = strlen(v);
            if (n + l + 1 >= cap) out = realloc_check(out, cap = (n + l) * 2 + 64);
            memcpy(out + n, v, l);
            n += l;
            p = e + 1;
        } else {
            if (n + 2 >= cap) out = realloc_check(out, cap *= 2);
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    return out;
}

static int is_scalar(const json_t* v) { return json_is_string(v) || json_is_number(v) || json_is_boolean(v); }

int sweep_config_load(SweepConfig* sc, const char* path, char err[ERR_LEN]) {
    memset(sc, 0, sizeof *sc);
    snprintf(sc->path, sizeof sc->path, "%s", path);
    Raw r;
    if (cfg_defaults(SWEEP_OPTS, &r, err)) return -1;
    if (cfg_load(path, NULL, SWEEP_OPTS, &r, NULL, err)) return -1;
    for (const Opt* o = SWEEP_OPTS; o->key; o++)
        if (!o->def && ((o->type == OPT_STR && !*(const char**)((char*)&r + o->off)) ||
                        (o->type == OPT_JSON && !*(json_t**)((char*)&r + o->off)) ||
                        (o->type == OPT_INT && !strcmp(o->key, "n_trials") && r.n_trials == 0)))
            BAD(NULL, NULL, NULL, "missing required key '%s'", o->key);
    snprintf(sc->name, sizeof sc->name, "%s", r.name);
    snprintf(sc->tool, sizeof sc->tool, "%s", r.tool);
    snprintf(sc->section, sizeof sc->section, "%s", *r.section ? r.section : r.tool);
    if (!*r.section)
        for (char* c = sc->section; *c; c++) if (*c == '-') *c = '_';
    snprintf(sc->base_config, sizeof sc->base_config, "%s", r.base_config);
    snprintf(sc->run_dir_flag, sizeof sc->run_dir_flag, "%s", r.run_dir_flag);
    snprintf(sc->objective, sizeof sc->objective, "%s", r.objective);
    snprintf(sc->objective_file, sizeof sc->objective_file, "%s", r.objective_file);
    snprintf(sc->sampler, sizeof sc->sampler, "%s", r.sampler);
    sc->n_trials = r.n_trials;
    sc->max_retries = r.max_retries;
    sc->seed = r.seed;
    sc->stale_sec = r.stale_sec;
    if (!*sc->name || strpbrk(sc->name, "\"\\\n")) BAD("name", NULL, NULL, "name: must be non-empty plain text");
    if (!*sc->tool || strchr(sc->tool, '/')) BAD("tool", NULL, NULL, "tool: expected a binary name in bin/, got '%s'", sc->tool);
    if (strncmp(sc->run_dir_flag, "--", 2) || !sc->run_dir_flag[2]) BAD("run_dir_flag", NULL, NULL, "run_dir_flag: expected a flag like --out, got '%s'", sc->run_dir_flag);
    if (!strcmp(r.direction, "minimize")) sc->maximize = 0;
    else if (!strcmp(r.direction, "maximize")) sc->maximize = 1;
    else BAD("direction", NULL, NULL, "direction: expected minimize or maximize, got '%s'", r.direction);
    if (strcmp(sc->sampler, "grid") && strcmp(sc->sampler, "random") && strcmp(sc->sampler, "tpe"))
        BAD("sampler", NULL, NULL, "sampler: expected grid, random or tpe, got '%s'", sc->sampler);
    /* fixed_args: {flag: scalar} */
    sc->fixed_args = json_object();
    if (r.fixed_args) {
        if (!json_is_object(r.fixed_args)) BAD("fixed_args", NULL, NULL, "fixed_args: expected a mapping of flag: value");
        const char* k;
        json_t* v;
        json_object_foreach(r.fixed_args, k, v) {
            if (!is_scalar(v)) BAD("fixed_args", k, NULL, "fixed_args: %s: expected a scalar value", k);
            if (!strcmp(k, sc->run_dir_flag + 2)) BAD("fixed_args", k, NULL, "fixed_args: %s: the sweep sets the run dir itself", k);
            if (json_is_string(v)) {
                char* e = expand_env(json_string_value(v));
                json_object_set_new(sc->fixed_args, k, json_string(e));
                free(e);
            } else json_object_set(sc->fixed_args, k, v);
        }
    }
    /* space */
    if (!json_is_object(r.space) || json_object_size(r.space) == 0)
        BAD("space", NULL, NULL, "space: expected a non-empty mapping of param: {type, ...}");
    if (json_object_size(r.space) > 64) BAD("space", NULL, NULL, "space: at most 64 params");
    sc->params = calloc_check(json_object_size(r.space), sizeof(Param));
    const char* pname;
    json_t* pv;
    json_object_foreach(r.space, pname, pv) {
        Param* p = &sc->params[sc->np++];
        snprintf(p->name, sizeof p->name, "%s", pname);
        if (strlen(pname) >= sizeof p->name || strpbrk(pname, " \"\\=")) BAD("space", pname, NULL, "space: %s: not a flag name", pname);
        if (json_object_get(sc->fixed_args, pname)) BAD("space", pname, NULL, "space: %s: also in fixed_args", pname);
        if (!json_is_object(pv)) BAD("space", pname, NULL, "space: %s: expected a mapping {type, ...}", pname);
        const char* k;
        json_t* v;
        json_object_foreach(pv, k, v)
            if (strcmp(k, "type") && strcmp(k, "low") && strcmp(k, "high") && strcmp(k, "log") && strcmp(k, "choices") &&
                strcmp(k, "grid"))
                BAD("space", pname, k, "space: %s: unknown key '%s' (type, low, high, log, choices, grid)", pname, k);
        const char* type = jget_str(pv, "type", "");
        json_t *lo = json_object_get(pv, "low"), *hi = json_object_get(pv, "high"), *lg = json_object_get(pv, "log");
        if (lg && !json_is_boolean(lg) && !json_is_integer(lg)) BAD("space", pname, "log", "space: %s: log: expected true or false", pname);
        p->log = lg && (json_is_true(lg) || (json_is_integer(lg) && json_integer_value(lg)));
        if (!strcmp(type, "categorical")) {
            p->type = PARAM_CAT;
            json_t* ch = json_object_get(pv, "choices");
            if (!json_is_array(ch) || json_array_size(ch) == 0)
                BAD("space", pname, "choices", "space: %s: categorical needs a non-empty choices list", pname);
            size_t i;
            json_array_foreach(ch, i, v) if (!is_scalar(v)) BAD("space", pname, "choices", "space: %s: choices must be scalars", pname);
            if (lo || hi || lg || json_object_get(pv, "grid")) BAD("space", pname, NULL, "space: %s: categorical takes only choices", pname);
            p->choices = json_incref(ch);
            continue;
        }
        if (!strcmp(type, "float")) p->type = PARAM_FLOAT;
        else if (!strcmp(type, "int")) p->type = PARAM_INT;
        else BAD("space", pname, "type", "space: %s: type: expected float, int or categorical, got '%s'", pname, type);
        if (json_object_get(pv, "choices")) BAD("space", pname, "choices", "space: %s: choices are for categorical params (use grid)", pname);
        if (!json_is_number(lo) || !json_is_number(hi)) BAD("space", pname, NULL, "space: %s: needs numeric low and high", pname);
        p->low = json_number_value(lo);
        p->high = json_number_value(hi);
        if (p->type == PARAM_INT && (p->low != floor(p->low) || p->high != floor(p->high)))
            BAD("space", pname, "low", "space: %s: int bounds must be integers", pname);
        if (!(p->low < p->high) && !(p->type == PARAM_INT && p->low == p->high))
            BAD("space", pname, "low", "space: %s: low (%g) must be below high (%g)", pname, p->low, p->high);
        if (p->log && p->low <= 0) BAD("space", pname, "low", "space: %s: log scale needs low > 0", pname);
        json_t* g = json_object_get(pv, "grid");
        if (g) {
            if (!json_is_array(g) || json_array_size(g) == 0) BAD("space", pname, "grid", "space: %s: grid: expected a non-empty list", pname);
            size_t i;
            json_array_foreach(g, i, v) {
                if (!json_is_number(v)) BAD("space", pname, "grid", "space: %s: grid values must be numbers", pname);
                double x = json_number_value(v);
                if (x < p->low || x > p->high) BAD("space", pname, "grid", "space: %s: grid value %g outside [%g, %g]", pname, x, p->low, p->high);
                if (p->type == PARAM_INT && x != floor(x)) BAD("space", pname, "grid", "space: %s: grid value %g is not an integer", pname, x);
            }
            p->grid = json_incref(g);
        }
        if (!strcmp(sc->sampler, "grid") && !g && p->type == PARAM_FLOAT)
            BAD("space", pname, NULL, "space: %s: the grid sampler needs a grid list for a float param", pname);
        if (!strcmp(sc->sampler, "grid") && !g && p->type == PARAM_INT && p->high - p->low > 1000)
            BAD("space", pname, NULL, "space: %s: more than 1000 grid values; give a grid list", pname);
    }
    json_decref(r.space);
    json_decref(r.fixed_args);
    return 0;
fail:
    json_decref(r.space);
    json_decref(r.fixed_args);
    sweep_config_free(sc);
    return -1;
}

int sweep_config_check_paths(const SweepConfig* sc, const char* bin_dir, char err[ERR_LEN]) {
    char p[4200];
    if (path_join(p, sizeof p, bin_dir, sc->tool, err)) return -1;
    if (access(p, X_OK)) {
        errf(err, "%s:%d: tool: %s is not an executable in %s (run make)", sc->path, yaml_line(sc->path, "tool", 0, 0), sc->tool, bin_dir);
        return -1;
    }
    if (!path_exists(sc->base_config)) {
        errf(err, "%s:%d: base_config: %s does not exist", sc->path, yaml_line(sc->path, "base_config", 0, 0), sc->base_config);
        return -1;
    }
    return 0;
}

void sweep_config_free(SweepConfig* sc) {
    for (int i = 0; i < sc->np; i++) { json_decref(sc->params[i].choices); json_decref(sc->params[i].grid); }
    free(sc->params);
    json_decref(sc->fixed_args);
    sc->params = NULL;
    sc->fixed_args = NULL;
    sc->np = 0;
}

