/* sweep: see sweep.h. */
#include "sweep.h"
#include "atomic.h"
#include "config.h"
#include "json.h"
#include "runstat.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

const char* trial_state_name(int s) {
    static const char* n[] = {"RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"};
    return s >= 0 && s <= 4 ? n[s] : "?";
}

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

/* ---- JSON as Python writes it ------------------------------------------ */

static void sb_add(char** b, size_t* n, size_t* cap, const char* s) {
    size_t l = strlen(s);
    if (*n + l + 1 > *cap) *b = realloc_check(*b, *cap = (*n + l) * 2 + 64);
    memcpy(*b + *n, s, l + 1);
    *n += l;
}

/* Shortest text that reads back as the same double, like Python's repr. */
static void fmt_real(char* out, size_t cap, double v) {
    if (isnan(v)) { snprintf(out, cap, "NaN"); return; }
    if (isinf(v)) { snprintf(out, cap, v > 0 ? "Infinity" : "-Infinity"); return; }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v) break;
    }
    if (!strpbrk(out, ".eEn")) strncat(out, ".0", cap - strlen(out) - 1);
    /* Python writes 1e-05, C writes 1e-05 too; 1e+20 -> Python 1e+20 */
}

static void dumps_rec(const json_t* v, char** b, size_t* n, size_t* cap) {
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        sb_add(b, n, cap, "{");
        const char* k;
        json_t* x;
        int first = 1;
        json_object_foreach((json_t*)v, k, x) {
            if (!first) sb_add(b, n, cap, ", ");
            first = 0;
            json_t* ks = json_string(k);
            char* kt = json_dumps(ks, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
            sb_add(b, n, cap, kt);
            free(kt);
            json_decref(ks);
            sb_add(b, n, cap, ": ");
            dumps_rec(x, b, n, cap);
        }
        sb_add(b, n, cap, "}");
        break;
    }
    case JSON_ARRAY: {
        sb_add(b, n, cap, "[");
        size_t i;
        json_t* x;
        json_array_foreach((json_t*)v, i, x) {
            if (i) sb_add(b, n, cap, ", ");
            dumps_rec(x, b, n, cap);
        }
        sb_add(b, n, cap, "]");
        break;
    }
    case JSON_REAL: fmt_real(tmp, sizeof tmp, json_real_value(v)); sb_add(b, n, cap, tmp); break;
    case JSON_INTEGER: snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v)); sb_add(b, n, cap, tmp); break;
    default: {
        char* t = json_dumps(v, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
        sb_add(b, n, cap, t);
        free(t);
    }
    }
}

char* journal_dumps(const json_t* v) {
    size_t n = 0, cap = 256;
    char* b = malloc_check(cap);
    b[0] = 0;
    dumps_rec(v, &b, &n, &cap);
    return b;
}

char* param_distribution_json(const Param* p) {
    json_t* d;
    if (p->type == PARAM_CAT)
        d = json_pack("{s:s, s:{s:O}}", "name", "CategoricalDistribution", "attributes", "choices", p->choices);
    else if (p->type == PARAM_FLOAT)
        d = json_pack("{s:s, s:{s:n, s:f, s:f, s:b}}", "name", "FloatDistribution", "attributes", "step", "low", p->low,
                      "high", p->high, "log", p->log);
    else
        d = json_pack("{s:s, s:{s:b, s:i, s:I, s:I}}", "name", "IntDistribution", "attributes", "log", p->log, "step", 1,
                      "low", (json_int_t)p->low, "high", (json_int_t)p->high);
    char* s = journal_dumps(d);
    json_decref(d);
    return s;
}

json_t* param_external(const Param* p, double internal) {
    if (p->type == PARAM_FLOAT) return json_real(internal);
    if (p->type == PARAM_INT) return json_integer((json_int_t)llround(internal));
    size_t i = (size_t)internal;
    json_t* c = json_array_get(p->choices, i < json_array_size(p->choices) ? i : 0);
    return json_incref(c);
}

/* ---- journal ----------------------------------------------------------- */

static void now_iso_local(char out[40]) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06ld", b, (long)tv.tv_usec);
}

int journal_open(Journal* j, const char* root, char err[ERR_LEN]) {
    memset(j, 0, sizeof *j);
    j->lock_fd = -1;
    if (mkdir_p(root, err) || path_join(j->path, sizeof j->path, root, "journal.log", err) ||
        path_join(j->lock_path, sizeof j->lock_path, root, "journal.lock", err))
        return -1;
    unsigned char u[16];
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, u, 16) != 16) {
        for (int i = 0; i < 16; i++) u[i] = (unsigned char)(rand() ^ getpid() ^ (int)(now_wall() * 1e6) >> i);
    }
    if (fd >= 0) close(fd);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    snprintf(j->worker_id, sizeof j->worker_id,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x-%d", u[0], u[1], u[2], u[3], u[4], u[5],
             u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15], (int)getpid());
    j->lock_fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (j->lock_fd < 0) { errf(err, "%s: %s", j->lock_path, strerror(errno)); return -1; }
    return 0;
}

void journal_close(Journal* j) { if (j->lock_fd >= 0) close(j->lock_fd); j->lock_fd = -1; }

int journal_lock(Journal* j, char err[ERR_LEN]) {
    while (flock(j->lock_fd, LOCK_EX)) {
        if (errno == EINTR) continue;
        errf(err, "%s: flock: %s", j->lock_path, strerror(errno));
        return -1;
    }
    return 0;
}

void journal_unlock(Journal* j) { flock(j->lock_fd, LOCK_UN); }

static int append_op(Journal* j, json_t* op, char err[ERR_LEN]) {
    char* line = journal_dumps(op);
    json_decref(op);
    int rc = append_record(j->path, line, err);
    free(line);
    return rc;
}

int journal_create_study(Journal* j, const SweepConfig* sc, char err[ERR_LEN]) {
    json_t* op = json_pack("{s:i, s:s, s:s, s:[i]}", "op_code", 0, "worker_id", j->worker_id, "study_name", sc->name,
                           "directions", sc->maximize ? 2 : 1);
    return append_op(j, op, err);
}

int journal_create_trial(Journal* j, int state, int attempt, int retry_of, char err[ERR_LEN]) {
    char now[40];
    now_iso_local(now);
    json_t* op = json_pack("{s:i, s:s, s:i}", "op_code", 4, "worker_id", j->worker_id, "study_id", 0);
    json_object_set_new(op, "datetime_start", state == TRIAL_WAITING ? json_null() : json_string(now));
    if (state != TRIAL_RUNNING) json_object_set_new(op, "state", json_integer(state));
    if (attempt) json_object_set_new(op, "system_attrs", json_pack("{s:i, s:i}", "sweep_attempt", attempt, "sweep_retry_of", retry_of));
    return append_op(j, op, err);
}

int journal_set_param(Journal* j, const SweepConfig* sc, int trial, int p, double internal, char err[ERR_LEN]) {
    char* dist = param_distribution_json(&sc->params[p]);
    json_t* op = json_pack("{s:i, s:s, s:i, s:s, s:o, s:s}", "op_code", 5, "worker_id", j->worker_id, "trial_id", trial,
                           "param_name", sc->params[p].name, "param_value_internal",
                           sc->params[p].type == PARAM_CAT ? json_integer((json_int_t)internal) : json_real(internal),
                           "distribution", dist);
    free(dist);
    return append_op(j, op, err);
}

int journal_set_state(Journal* j, int trial, int state, const double* value, char err[ERR_LEN]) {
    char now[40];
    now_iso_local(now);
    json_t* op = json_pack("{s:i, s:s, s:i, s:i}", "op_code", 6, "worker_id", j->worker_id, "trial_id", trial, "state", state);
    json_object_set_new(op, "values", value ? json_pack("[f]", *value) : json_null());
    json_object_set_new(op, state == TRIAL_RUNNING ? "datetime_start" : "datetime_complete", json_string(now));
    return append_op(j, op, err);
}

int journal_set_user_attr(Journal* j, int trial, const char* key, json_t* value, char err[ERR_LEN]) {
    json_t* op = json_pack("{s:i, s:s, s:i, s:{s:o}}", "op_code", 8, "worker_id", j->worker_id, "trial_id", trial,
                           "user_attr", key, value);
    return append_op(j, op, err);
}

int journal_set_intermediate(Journal* j, int trial, long step, double v, char err[ERR_LEN]) {
    json_t* op = json_pack("{s:i, s:s, s:i, s:I, s:f}", "op_code", 7, "worker_id", j->worker_id, "trial_id", trial,
                           "step", (json_int_t)step, "intermediate_value", v);
    return append_op(j, op, err);
}

typedef struct { const SweepConfig* sc; Study* s; } ReplayCtx;

static int finished(int st) { return st == TRIAL_COMPLETE || st == TRIAL_PRUNED || st == TRIAL_FAIL; }

static void replay_one(json_t* o, void* vctx) {
    ReplayCtx* c = vctx;
    Study* s = c->s;
    s->lines++;
    int op = (int)jget_int(o, "op_code", -1);
    if (op == 0) {
        if (s->created) return;
        s->created = 1;
        snprintf(s->name, sizeof s->name, "%s", jget_str(o, "study_name", ""));
        s->direction = (int)json_integer_value(json_array_get(json_object_get(o, "directions"), 0));
        return;
    }
    if (op == 4) {
        if (s->n == s->cap) s->trials = realloc_check(s->trials, (s->cap = s->cap * 2 + 16) * sizeof(Trial));
        Trial* t = &s->trials[s->n];
        memset(t, 0, sizeof *t);
        t->number = s->n++;
        t->state = (int)jget_int(o, "state", TRIAL_RUNNING);
        t->retry_of = -1;
        snprintf(t->start, sizeof t->start, "%s", jget_str(o, "datetime_start", ""));
        json_t* sa = json_object_get(o, "system_attrs");
        if (sa) { t->attempt = (int)jget_int(sa, "sweep_attempt", 0); t->retry_of = (int)jget_int(sa, "sweep_retry_of", -1); }
        json_t* params = json_object_get(o, "params");
        const char* k;
        json_t* v;
        json_object_foreach(params, k, v)
            for (int p = 0; p < c->sc->np; p++)
                if (!strcmp(c->sc->params[p].name, k)) { t->internal[p] = json_number_value(v); t->has[p] = 1; }
        return;
    }
    long id = jget_int(o, "trial_id", -1);
    if (id < 0 || id >= s->n) return;
    Trial* t = &s->trials[id];
    if (finished(t->state)) return;                /* Optuna ignores updates of a finished trial */
    if (op == 5) {
        const char* name = jget_str(o, "param_name", "");
        for (int p = 0; p < c->sc->np; p++)
            if (!strcmp(c->sc->params[p].name, name)) { t->internal[p] = jget_num(o, "param_value_internal", 0); t->has[p] = 1; }
    } else if (op == 6) {
        int st = (int)jget_int(o, "state", 0);
        if (st == TRIAL_RUNNING) {
            if (t->state == TRIAL_RUNNING) return;
            snprintf(t->start, sizeof t->start, "%s", jget_str(o, "datetime_start", ""));
        }
        if (finished(st)) snprintf(t->complete, sizeof t->complete, "%s", jget_str(o, "datetime_complete", ""));
        t->state = st;
        json_t* vals = json_object_get(o, "values");
        if (json_is_array(vals) && json_array_size(vals)) { t->has_value = 1; t->value = json_number_value(json_array_get(vals, 0)); }
    }
}

int journal_replay(const char* path, const SweepConfig* sc, Study* s, char err[ERR_LEN]) {
    memset(s, 0, sizeof *s);
    if (!path_exists(path)) return 0;
    ReplayCtx c = {sc, s};
    return jsonl_foreach(path, replay_one, &c, err) < 0 ? -1 : 0;
}

void study_free(Study* s) { free(s->trials); memset(s, 0, sizeof *s); }

/* ---- samplers ---------------------------------------------------------- */

static long axis_size(const Param* p) {
    if (p->type == PARAM_CAT) return (long)json_array_size(p->choices);
    if (p->grid) return (long)json_array_size(p->grid);
    if (p->type == PARAM_INT) return (long)(p->high - p->low) + 1;
    return -1;
}

long sweep_grid_size(const SweepConfig* sc) {
    long n = 1;
    for (int i = 0; i < sc->np; i++) {
        long a = axis_size(&sc->params[i]);
        if (a < 0) return -1;
        n *= a;
    }
    return n;
}

void sweep_grid_point(const SweepConfig* sc, long idx, double* internal) {
    for (int i = sc->np - 1; i >= 0; i--) {   /* last param varies fastest */
        const Param* p = &sc->params[i];
        long a = axis_size(p), k = idx % a;
        idx /= a;
        if (p->type == PARAM_CAT) internal[i] = (double)k;
        else if (p->grid) internal[i] = json_number_value(json_array_get(p->grid, k));
        else internal[i] = p->low + (double)k;
    }
}

void sweep_random_point(const SweepConfig* sc, long number, double* internal) {
    Rng r0, r;
    rng_seed(&r0, (uint64_t)sc->seed);
    r = rng_split(&r0, (uint64_t)number);
    for (int i = 0; i < sc->np; i++) {
        const Param* p = &sc->params[i];
        double u = rng_double(&r);
        if (p->type == PARAM_CAT) internal[i] = (double)rng_below(&r, (uint32_t)json_array_size(p->choices));
        else if (p->type == PARAM_FLOAT)
            internal[i] = p->log ? exp(log(p->low) + u * (log(p->high) - log(p->low))) : p->low + u * (p->high - p->low);
        else {
            double x = p->log ? exp(log(p->low - 0.5) + u * (log(p->high + 0.5) - log(p->low - 0.5)))
                              : p->low - 0.5 + u * (p->high - p->low + 1);
            x = round(x);
            internal[i] = x < p->low ? p->low : x > p->high ? p->high : x;
        }
        if (p->type == PARAM_FLOAT && internal[i] > p->high) internal[i] = p->high;
        if (p->type == PARAM_FLOAT && internal[i] < p->low) internal[i] = p->low;
    }
}

/* ---- TPE (Optuna 3.1 TPESampler defaults, independent per param) -------- */

#define TPE_N_STARTUP 10
#define TPE_N_EI 24
#define TPE_PRIOR_WEIGHT 1.0

/* Optuna's default_weights(n): flat 1 for the 25 most recent, a ramp
 * linspace(1/n, 1, n - 25) before them. Observations in trial-number order. */
static void tpe_weights(int n, double* w) {
    if (n < 25) { for (int i = 0; i < n; i++) w[i] = 1.0; return; }
    int r = n - 25;
    for (int i = 0; i < r; i++) w[i] = r == 1 ? 1.0 / n : 1.0 / n + (1.0 - 1.0 / n) * i / (r - 1);
    for (int i = r; i < n; i++) w[i] = 1.0;
}

/* A mixture of truncated normals on [lo, hi] (transformed space). */
typedef struct { int k; double *mu, *sg, *w, lo, hi; } Parzen;

static int cmp_double(const void* a, const void* b) {   /* first double of a (mu, w) pair */
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

/* Optuna's _ParzenEstimator for one numerical param: the observations plus
 * the prior N((lo+hi)/2, hi-lo) inserted at its sorted position; sigma_i =
 * max gap to the neighbours (endpoints lo/hi as outer neighbours), the two
 * outermost kernels use their inner gap only (consider_endpoints = False);
 * magic clip to [(hi-lo)/min(100, 1+k), hi-lo]; the prior keeps sigma hi-lo.
 * Weights: default_weights of the observations (trial order) and prior_weight,
 * normalised. */
static void parzen_build(Parzen* pz, const double* obs, const double* ow, int n, double lo, double hi) {
    int k = n + 1;
    pz->k = k; pz->lo = lo; pz->hi = hi;
    pz->mu = malloc_check(sizeof(double) * k);
    pz->sg = malloc_check(sizeof(double) * k);
    pz->w = malloc_check(sizeof(double) * k);
    /* sort (mu, w) pairs by mu: pack as pairs */
    double* pr = malloc_check(sizeof(double) * 2 * k);
    for (int i = 0; i < n; i++) { pr[2 * i] = obs[i]; pr[2 * i + 1] = ow[i]; }
    qsort(pr, n, 2 * sizeof(double), cmp_double);
    double pmu = 0.5 * (lo + hi), psg = hi - lo;
    int pos = 0;
    while (pos < n && pr[2 * pos] < pmu) pos++;              /* np.searchsorted (left) */
    double wsum = 0;
    for (int i = 0, j = 0; i < k; i++) {
        if (i == pos) { pz->mu[i] = pmu; pz->w[i] = TPE_PRIOR_WEIGHT; }
        else { pz->mu[i] = pr[2 * j]; pz->w[i] = pr[2 * j + 1]; j++; }
        wsum += pz->w[i];
    }
    free(pr);
    for (int i = 0; i < k; i++) {
        double left = pz->mu[i] - (i ? pz->mu[i - 1] : lo), right = (i + 1 < k ? pz->mu[i + 1] : hi) - pz->mu[i];
        pz->sg[i] = fmax(left, right);
    }
    if (k >= 2) { pz->sg[0] = pz->mu[1] - pz->mu[0]; pz->sg[k - 1] = pz->mu[k - 1] - pz->mu[k - 2]; }
    double minsg = (hi - lo) / fmin(100.0, 1.0 + k), maxsg = hi - lo;
    for (int i = 0; i < k; i++) {
        pz->sg[i] = fmin(fmax(pz->sg[i], minsg), maxsg);
        pz->w[i] /= wsum;
    }
    pz->sg[pos] = psg;
}

static void parzen_free(Parzen* pz) { free(pz->mu); free(pz->sg); free(pz->w); }

/* P(a < Z < b) for a standard normal, accurate in both tails. */
static double norm_mass(double a, double b) {
    const double r = 0.70710678118654752440;
    if (a >= 0) return 0.5 * (erfc(a * r) - erfc(b * r));
    if (b <= 0) return 0.5 * (erfc(-b * r) - erfc(-a * r));
    return 1.0 - 0.5 * erfc(b * r) - 0.5 * erfc(-a * r);
}

static double parzen_sample(const Parzen* pz, Rng* r) {
    double u = rng_double(r), c = 0;
    int i = 0;
    for (; i < pz->k - 1; i++) { c += pz->w[i]; if (u < c) break; }
    for (int t = 0; t < 1000; t++) {                        /* rejection: acceptance >= ~0.34 here */
        double x = pz->mu[i] + pz->sg[i] * rng_normal(r);
        if (x >= pz->lo && x <= pz->hi) return x;
    }
    return fmin(fmax(pz->mu[i], pz->lo), pz->hi);
}

/* log density at x (a <= 0: continuous), or log mass of [a, b] (discrete). */
static double parzen_logp(const Parzen* pz, double x, int discrete, double a, double b) {
    double s = 0;
    for (int i = 0; i < pz->k; i++) {
        double m = pz->mu[i], g = pz->sg[i];
        double z = norm_mass((pz->lo - m) / g, (pz->hi - m) / g);
        if (z <= 0) continue;
        double p = discrete ? norm_mass((a - m) / g, (b - m) / g)
                            : exp(-0.5 * ((x - m) / g) * ((x - m) / g)) / (g * 2.50662827463100050242);
        s += pz->w[i] * p / z;
    }
    return log(fmax(s, 1e-300));
}

/* Ranks COMPLETE trials holding param p by loss (value, negated when maximizing;
 * ties by trial number) and splits the best gamma(n) = min(ceil(0.1 n), 25) off
 * as "below". Returns n; below/above hold trial indices in trial-number order. */
static const double* g_loss;
static int cmp_loss(const void* a, const void* b) {
    int x = *(const int*)a, y = *(const int*)b;
    if (g_loss[x] != g_loss[y]) return g_loss[x] < g_loss[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}
static int cmp_int(const void* a, const void* b) { int x = *(const int*)a, y = *(const int*)b; return x < y ? -1 : x > y; }

static int tpe_split(const SweepConfig* sc, const Study* s, int p, int* below, int* nb, int* above, int* na) {
    double* loss = malloc_check(sizeof(double) * (s->n + 1));
    int* idx = malloc_check(sizeof(int) * (s->n + 1));
    int n = 0;
    for (int i = 0; i < s->n; i++) {
        const Trial* t = &s->trials[i];
        if (t->state != TRIAL_COMPLETE || !t->has_value || !t->has[p] || isnan(t->value)) continue;
        loss[i] = sc->maximize ? -t->value : t->value;
        idx[n++] = i;
    }
    g_loss = loss;
    qsort(idx, n, sizeof(int), cmp_loss);
    int g = (int)ceil(0.1 * n);
    if (g > 25) g = 25;
    *nb = g; *na = n - g;
    memcpy(below, idx, sizeof(int) * g);
    memcpy(above, idx + g, sizeof(int) * (n - g));
    qsort(below, *nb, sizeof(int), cmp_int);
    qsort(above, *na, sizeof(int), cmp_int);
    free(loss); free(idx);
    return n;
}

static int tpe_n_complete(const Study* s) {
    int n = 0;
    for (int i = 0; i < s->n; i++) n += s->trials[i].state == TRIAL_COMPLETE && s->trials[i].has_value;
    return n;
}

/* Transformed space of a numerical param: log if log; an int's value v stands
 * for the bin [v - 0.5, v + 0.5] (q = 1), so the bounds widen by 0.5. */
static double tpe_fwd(const Param* pr, double v) { return pr->log ? log(v) : v; }

static void tpe_param(const SweepConfig* sc, const Study* s, int p, Rng* r, double* out) {
    const Param* pr = &sc->params[p];
    int *below = malloc_check(sizeof(int) * (s->n + 1)), *above = malloc_check(sizeof(int) * (s->n + 1)), nb, na;
    tpe_split(sc, s, p, below, &nb, above, &na);
    double *wb = malloc_check(sizeof(double) * (nb + 1)), *wa = malloc_check(sizeof(double) * (na + 1));
    tpe_weights(nb, wb);
    tpe_weights(na, wa);
    if (pr->type == PARAM_CAT) {
        int K = (int)json_array_size(pr->choices);
        double* pb = calloc_check(K, sizeof(double));
        double* pa = calloc_check(K, sizeof(double));
        double sb = 0, sa = 0;
        for (int c = 0; c < K; c++) { pb[c] = pa[c] = TPE_PRIOR_WEIGHT; }
        for (int i = 0; i < nb; i++) { int c = (int)s->trials[below[i]].internal[p]; if (c >= 0 && c < K) pb[c] += wb[i]; }
        for (int i = 0; i < na; i++) { int c = (int)s->trials[above[i]].internal[p]; if (c >= 0 && c < K) pa[c] += wa[i]; }
        for (int c = 0; c < K; c++) { sb += pb[c]; sa += pa[c]; }
        double best = -INFINITY;
        *out = 0;
        for (int e = 0; e < TPE_N_EI; e++) {
            double u = rng_double(r) * sb, acc = 0;
            int c = 0;
            for (; c < K - 1; c++) { acc += pb[c]; if (u < acc) break; }
            double sc_ = log(pb[c] / sb) - log(pa[c] / sa);
            if (sc_ > best) { best = sc_; *out = c; }
        }
        free(pb); free(pa);
    } else {
        int isint = pr->type == PARAM_INT;
        double lo = tpe_fwd(pr, isint ? pr->low - 0.5 : pr->low), hi = tpe_fwd(pr, isint ? pr->high + 0.5 : pr->high);
        double *ob = malloc_check(sizeof(double) * (nb + 1)), *oa = malloc_check(sizeof(double) * (na + 1));
        for (int i = 0; i < nb; i++) ob[i] = tpe_fwd(pr, s->trials[below[i]].internal[p]);
        for (int i = 0; i < na; i++) oa[i] = tpe_fwd(pr, s->trials[above[i]].internal[p]);
        Parzen l, g;
        parzen_build(&l, ob, wb, nb, lo, hi);
        parzen_build(&g, oa, wa, na, lo, hi);
        double best = -INFINITY;
        *out = pr->low;
        for (int e = 0; e < TPE_N_EI; e++) {
            double x = parzen_sample(&l, r), v = pr->log ? exp(x) : x, score;
            if (isint) {
                v = fmin(fmax(round(v), pr->low), pr->high);
                double a = tpe_fwd(pr, v - 0.5), b = tpe_fwd(pr, v + 0.5);
                score = parzen_logp(&l, 0, 1, a, b) - parzen_logp(&g, 0, 1, a, b);
            } else {
                v = fmin(fmax(v, pr->low), pr->high);
                score = parzen_logp(&l, x, 0, 0, 0) - parzen_logp(&g, x, 0, 0, 0);
            }
            if (score > best) { best = score; *out = v; }
        }
        parzen_free(&l); parzen_free(&g);
        free(ob); free(oa);
    }
    free(wb); free(wa); free(below); free(above);
}

void sweep_tpe_point(const SweepConfig* sc, const Study* s, long number, double* internal) {
    if (tpe_n_complete(s) < TPE_N_STARTUP) { sweep_random_point(sc, number, internal); return; }
    Rng r0, r;
    rng_seed(&r0, (uint64_t)sc->seed ^ 0x7470655f73656564ULL);   /* "tpe_seed": apart from the random sampler's stream */
    r = rng_split(&r0, (uint64_t)number);
    for (int p = 0; p < sc->np; p++) {
        Rng rp = rng_split(&r, (uint64_t)p);
        tpe_param(sc, s, p, &rp, &internal[p]);
    }
}

static int same_point(const SweepConfig* sc, const Trial* t, const double* x) {
    for (int i = 0; i < sc->np; i++) if (!t->has[i] || t->internal[i] != x[i]) return 0;
    return 1;
}

static int proposals(const Study* s) {
    int n = 0;
    for (int i = 0; i < s->n; i++) n += s->trials[i].attempt == 0;
    return n;
}

int sweep_propose(const SweepConfig* sc, const Study* s, double* internal) {
    if (proposals(s) >= sc->n_trials) return -1;
    if (!strcmp(sc->sampler, "grid")) {
        long g = sweep_grid_size(sc);
        for (long idx = 0; idx < g; idx++) {
            sweep_grid_point(sc, idx, internal);
            int used = 0;
            for (int i = 0; i < s->n && !used; i++) used = s->trials[i].attempt == 0 && same_point(sc, &s->trials[i], internal);
            if (!used) return 0;
        }
        return -1;
    }
    if (!strcmp(sc->sampler, "tpe")) sweep_tpe_point(sc, s, s->n, internal);
    else sweep_random_point(sc, s->n, internal);
    return 0;
}

/* ---- claims and next work ---------------------------------------------- */

int sweep_trial_dir(char* out, size_t cap, const char* root, int trial, char err[ERR_LEN]) {
    char rel[64];
    snprintf(rel, sizeof rel, "trials/trial_%04d", trial);
    return path_join(out, cap, root, rel, err);
}

int sweep_claim_write(const char* root, int trial, const char* worker_id, const char* status, char err[ERR_LEN]) {
    char d[4200], p[4300], host[256] = "";
    if (sweep_trial_dir(d, sizeof d, root, trial, err) || path_join(p, sizeof p, d, "sweep_claim.json", err) || mkdir_p(d, err))
        return -1;
    gethostname(host, sizeof host - 1);
    json_t* c = json_pack("{s:s, s:i, s:s, s:s, s:f}", "worker_id", worker_id, "pid", (int)getpid(), "host", host, "status",
                          status, "updated", now_wall());
    int rc = json_write_atomic(p, c, err);
    json_decref(c);
    return rc;
}

/* NULL when there is none (a path too long for p is too long to exist). */
static json_t* read_claim(const char* root, int trial) {
    char d[4200], p[4300], err[ERR_LEN];
    if (sweep_trial_dir(d, sizeof d, root, trial, err) || path_join(p, sizeof p, d, "sweep_claim.json", err)) return NULL;
    return path_exists(p) ? json_load_path(p, err) : NULL;
}

/* Is the worker that claimed this trial gone? Same host: its pid is dead.
 * Another host: its claim has not been refreshed for stale_sec. */
static int claim_dead(const SweepConfig* sc, const json_t* c) {
    if (!c) return 1;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    int pid = (int)jget_int(c, "pid", 0);
    if (!strcmp(host, jget_str(c, "host", "")))
        return !(pid > 0 && (kill(pid, 0) == 0 || errno == EPERM));
    return now_wall() - jget_num(c, "updated", 0) > sc->stale_sec;
}

static int get_path_num(json_t* o, const char* key, double* v) {
    char k[256];
    snprintf(k, sizeof k, "%s", key);
    char* save = NULL;
    for (char* part = strtok_r(k, ".", &save); part; part = strtok_r(NULL, ".", &save)) o = json_object_get(o, part);
    if (!json_is_number(o)) return -1;
    *v = json_number_value(o);
    return isfinite(*v) ? 0 : -1;
}

int sweep_read_objective(const SweepConfig* sc, const char* trial_dir, double* v, char err[ERR_LEN]) {
    char p[4400];
    if (path_join(p, sizeof p, trial_dir, sc->objective_file, err)) return -1;
    json_t* o = json_load_path(p, err);
    if (!o) return -1;
    int rc = get_path_num(o, sc->objective, v);
    if (rc) errf(err, "%s: no finite number at '%s'", p, sc->objective);
    json_decref(o);
    return rc;
}

/* A trial whose worker died: keep a result that made it to disk, otherwise
 * FAIL it and enqueue a retry with the same params. */
static int recover(Journal* j, const SweepConfig* sc, const char* root, const Study* s, const Trial* t, char err[ERR_LEN]) {
    char d[4200], rerr[ERR_LEN];
    if (sweep_trial_dir(d, sizeof d, root, t->number, err)) return -1;
    RunStat rs;
    runstat_load(&rs, d, sc->stale_sec);
    int tool_live = !strcmp(rs.status, "running");   /* fresh heartbeat, or a live pid */
    char status[16];
    snprintf(status, sizeof status, "%s", rs.status);
    runstat_free(&rs);
    if (tool_live) return 0;                          /* not yet provably dead: later */
    double v;
    if (!strcmp(status, "completed") && sweep_read_objective(sc, d, &v, rerr) == 0) {
        fprintf(stderr, "sweep: trial %d: its worker died after the run completed; recording %s = %g\n", t->number, sc->objective, v);
        return journal_set_state(j, t->number, TRIAL_COMPLETE, &v, err) ? -1 : 1;
    }
    fprintf(stderr, "sweep: trial %d: worker dead, run %s: FAIL%s\n", t->number, status,
            t->attempt < sc->max_retries ? "; enqueueing a retry" : "; no retries left");
    if (journal_set_user_attr(j, t->number, "fail_reason", json_sprintf("worker died (run %s)", status), err)) return -1;
    if (journal_set_state(j, t->number, TRIAL_FAIL, NULL, err)) return -1;
    if (t->attempt >= sc->max_retries) return 1;
    int nt = s->n;
    if (journal_create_trial(j, TRIAL_WAITING, t->attempt + 1, t->retry_of >= 0 ? t->retry_of : t->number, err)) return -1;
    for (int p = 0; p < sc->np; p++)
        if (t->has[p] && journal_set_param(j, sc, nt, p, t->internal[p], err)) return -1;
    return 1;
}

static int start_trial(Journal* j, const char* root, int trial, char err[ERR_LEN]) {
    char d[4200];
    if (sweep_trial_dir(d, sizeof d, root, trial, err) || sweep_claim_write(root, trial, j->worker_id, "running", err)) return -1;
    return journal_set_user_attr(j, trial, "run_dir", json_string(d), err);
}

int sweep_next(Journal* j, const SweepConfig* sc, const char* root, int resume, Next* out, char err[ERR_LEN]) {
    memset(out, 0, sizeof *out);
    out->trial = -1;
    Study s;
    if (journal_replay(j->path, sc, &s, err)) return -1;
    if (!s.created) {
        if (journal_create_study(j, sc, err)) goto fail;
        s.created = 1;
    } else if (strcmp(s.name, sc->name)) {
        errf(err, "%s: holds study '%s', not '%s'", j->path, s.name, sc->name);
        goto fail;
    }
    int running = 0;
    for (int i = 0; i < s.n; i++) {
        Trial* t = &s.trials[i];
        if (t->state != TRIAL_RUNNING) continue;
        json_t* c = read_claim(root, i);
        int paused = c && !strcmp(jget_str(c, "status", ""), "paused");
        int mine = c && !strcmp(jget_str(c, "worker_id", ""), j->worker_id);
        int dead = !mine && !paused && claim_dead(sc, c);
        json_decref(c);
        if (paused) {
            if (resume && out->kind != NEXT_RUN) {
                if (sweep_claim_write(root, i, j->worker_id, "running", err)) goto fail;
                out->kind = NEXT_RUN;
                out->trial = i;
                out->resumed = 1;
            }
            continue;
        }
        if (dead) {
            int r = recover(j, sc, root, &s, t, err);
            if (r < 0) goto fail;
            if (r > 0) { out->recovered++; continue; }
        }
        running++;
    }
    if (out->kind == NEXT_RUN) { study_free(&s); return 0; }
    if (out->recovered) {                        /* the journal changed: decide on the new state */
        study_free(&s);
        int rec = out->recovered;
        int rc = sweep_next(j, sc, root, resume, out, err);
        out->recovered += rec;
        return rc;
    }
    for (int i = 0; i < s.n; i++)
        if (s.trials[i].state == TRIAL_WAITING) {
            if (journal_set_state(j, i, TRIAL_RUNNING, NULL, err) || start_trial(j, root, i, err)) goto fail;
            out->kind = NEXT_RUN;
            out->trial = i;
            study_free(&s);
            return 0;
        }
    double x[64];
    if (sweep_propose(sc, &s, x) == 0) {
        int nt = s.n;
        if (journal_create_trial(j, TRIAL_RUNNING, 0, -1, err)) goto fail;
        for (int p = 0; p < sc->np; p++)
            if (journal_set_param(j, sc, nt, p, x[p], err)) goto fail;
        if (start_trial(j, root, nt, err)) goto fail;
        out->kind = NEXT_RUN;
        out->trial = nt;
    } else out->kind = running ? NEXT_WAIT : NEXT_DONE;
    study_free(&s);
    return 0;
fail:
    study_free(&s);
    return -1;
}

int sweep_finish(Journal* j, const SweepConfig* sc, int trial, int state, const double* value, char err[ERR_LEN]) {
    if (journal_lock(j, err)) return -1;
    Study s;
    int rc = journal_replay(j->path, sc, &s, err);
    if (rc == 0) {
        if (trial < s.n && s.trials[trial].state == TRIAL_RUNNING) rc = journal_set_state(j, trial, state, value, err);
        else fprintf(stderr, "sweep: trial %d was already finished by another worker; keeping that\n", trial);
    }
    study_free(&s);
    journal_unlock(j);
    return rc;
}

/* ---- report ------------------------------------------------------------ */

static double parse_local(const char* s) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char* rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return NAN;
    tm.tm_isdst = -1;
    return (double)mktime(&tm) + (*rest == '.' ? atof(rest) : 0);
}

static const SweepConfig* g_sc;
static const Study* g_s;
static int cmp_value(const void* a, const void* b) {
    double x = g_s->trials[*(const int*)a].value, y = g_s->trials[*(const int*)b].value;
    if (g_sc->maximize) { double t = x; x = y; y = t; }
    return x < y ? -1 : x > y;
}
static const double* g_keys;
static int cmp_key(const void* a, const void* b) {
    double x = g_keys[*(const int*)a], y = g_keys[*(const int*)b];
    return x < y ? -1 : x > y;
}

void sweep_importance(const SweepConfig* sc, const Study* s, double* eta) {
    int n = 0;
    int* idx = malloc_check(sizeof(int) * (s->n + 1));
    for (int i = 0; i < s->n; i++) if (s->trials[i].state == TRIAL_COMPLETE && s->trials[i].has_value) idx[n++] = i;
    double mean = 0, sst = 0;
    for (int k = 0; k < n; k++) mean += s->trials[idx[k]].value;
    mean = n ? mean / n : 0;
    for (int k = 0; k < n; k++) sst += pow(s->trials[idx[k]].value - mean, 2);
    double* keys = malloc_check(sizeof(double) * (s->n + 1));
    int* ord = malloc_check(sizeof(int) * (n + 1));
    int* bin = malloc_check(sizeof(int) * (s->n + 1));
    for (int p = 0; p < sc->np; p++) {
        eta[p] = -1;
        if (n < 2 || sst <= 0) continue;
        for (int k = 0; k < n; k++) { keys[idx[k]] = s->trials[idx[k]].internal[p]; ord[k] = idx[k]; }
        int nb;
        if (sc->params[p].type == PARAM_CAT) {
            nb = (int)json_array_size(sc->params[p].choices);
            for (int k = 0; k < n; k++) bin[idx[k]] = (int)keys[idx[k]];
        } else {
            /* rank bins: equal counts, ties share a bin */
            g_keys = keys;
            qsort(ord, n, sizeof(int), cmp_key);
            nb = n < 4 ? n : 4;
            int b = 0;
            for (int k = 0; k < n; k++) {
                int want = k * nb / n;
                if (want > b && keys[ord[k]] != keys[ord[k - 1]]) b = want;
                bin[ord[k]] = b;
            }
            nb = b + 1;
        }
        double ssb = 0;
        for (int b = 0; b < nb; b++) {
            double sum = 0;
            int c = 0;
            for (int k = 0; k < n; k++) if (bin[idx[k]] == b) { sum += s->trials[idx[k]].value; c++; }
            if (c) ssb += c * pow(sum / c - mean, 2);
        }
        eta[p] = ssb / sst;
    }
    free(keys); free(ord); free(bin); free(idx);
}

static void yaml_scalar(char* out, size_t cap, const json_t* v) {
    /* Flag values are text: plain when YAML reads them back as the same scalar
     * text (numbers stay numbers for the config loader), quoted otherwise. */
    const char* t = json_is_string(v) ? json_string_value(v) : NULL;
    if (t && *t && !strpbrk(t, ":#{}[],&*!|>'\"%@`\n") && !strchr("-? ", t[0]) && t[strlen(t) - 1] != ' ' &&
        strcmp(t, "true") && strcmp(t, "false") && strcmp(t, "null") && strcmp(t, "~")) {
        snprintf(out, cap, "%s", t);
    } else if (json_is_string(v)) {
        char* q = json_dumps(v, JSON_ENCODE_ANY);
        snprintf(out, cap, "%s", q);
        free(q);
    } else if (json_is_real(v)) fmt_real(out, cap, json_real_value(v));
    else if (json_is_integer(v)) snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
}

/* The base config with the tool's section overridden by over: lines of the
 * section whose key is overridden are dropped, the new values go at its end. */
static int write_top(const SweepConfig* sc, const char* path, json_t* over, const char* header, char err[ERR_LEN]) {
    size_t len;
    char* base = read_file(sc->base_config, &len, err);
    if (!base) return -1;
    AtomicFile a;
    if (atomic_open(&a, path, err)) { free(base); return -1; }
    fprintf(a.f, "%s", header);
    int in_sec = 0, seen = 0;
    size_t sl = strlen(sc->section);
    char* save = NULL;
    for (char* line = strtok_r(base, "\n", &save); ; line = strtok_r(NULL, "\n", &save)) {
        int top = line && line[0] && line[0] != ' ' && line[0] != '\t' && line[0] != '#';
        if (in_sec && (!line || top)) {
            const char* k;
            json_t* v;
            char val[1200];
            json_object_foreach(over, k, v) { yaml_scalar(val, sizeof val, v); fprintf(a.f, "  %s: %s\n", k, val); }
            in_sec = 0;
        }
        if (!line) break;
        if (top && !strncmp(line, sc->section, sl) && line[sl] == ':') { in_sec = seen = 1; fprintf(a.f, "%s\n", line); continue; }
        if (in_sec) {
            const char* p = line + strspn(line, " \t");
            size_t kl = strcspn(p, ":");
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(kl < 127 ? kl : 127), p);
            if (p[kl] == ':' && json_object_get(over, key)) continue;
        }
        fprintf(a.f, "%s\n", line);
    }
    if (!seen) {
        fprintf(a.f, "\n%s:\n", sc->section);
        const char* k;
        json_t* v;
        char val[1200];
        json_object_foreach(over, k, v) { yaml_scalar(val, sizeof val, v); fprintf(a.f, "  %s: %s\n", k, val); }
    }
    free(base);
    return atomic_commit(&a, err);
}

int sweep_report(const SweepConfig* sc, const char* root, long top_k, FILE* f, char err[ERR_LEN]) {
    char jp[4200];
    if (path_join(jp, sizeof jp, root, "journal.log", err)) return -1;
    if (!path_exists(jp)) { errf(err, "%s: no journal (is this a sweep's --out_root?)", jp); return -1; }
    Study s;
    if (journal_replay(jp, sc, &s, err)) return -1;
    int cnt[5] = {0};
    for (int i = 0; i < s.n; i++) if (s.trials[i].state >= 0 && s.trials[i].state <= 4) cnt[s.trials[i].state]++;
    fprintf(f, "sweep %s: tool %s, sampler %s, objective %s (%s), journal %s\n", s.name, sc->tool, sc->sampler, sc->objective,
            sc->maximize ? "maximize" : "minimize", jp);
    fprintf(f, "trials: %d  COMPLETE %d  FAIL %d  PRUNED %d  RUNNING %d  WAITING %d\n", s.n, cnt[1], cnt[3], cnt[2], cnt[0], cnt[4]);
    int fin = cnt[1] + cnt[2] + cnt[3];
    fprintf(f, "failure rate: %.1f%% (%d of %d finished trials)\n", fin ? 100.0 * cnt[3] / fin : 0.0, cnt[3], fin);
    /* durations */
    double dsum = 0, dmax = 0, dmin = 1e300;
    int dn = 0;
    for (int i = 0; i < s.n; i++) {
        if (!finished(s.trials[i].state) || !*s.trials[i].start || !*s.trials[i].complete) continue;
        double d = parse_local(s.trials[i].complete) - parse_local(s.trials[i].start);
        if (!isfinite(d)) continue;
        dsum += d; dn++;
        if (d > dmax) dmax = d;
        if (d < dmin) dmin = d;
    }
    if (dn) fprintf(f, "durations: mean %.1fs  min %.1fs  max %.1fs  (%d finished)\n", dsum / dn, dmin, dmax, dn);
    int* ord = malloc_check(sizeof(int) * (s.n + 1));
    int nc = 0;
    for (int i = 0; i < s.n; i++) if (s.trials[i].state == TRIAL_COMPLETE && s.trials[i].has_value) ord[nc++] = i;
    g_sc = sc; g_s = &s;
    qsort(ord, nc, sizeof(int), cmp_value);
    char val[1200];
    if (nc) {
        Trial* b = &s.trials[ord[0]];
        fprintf(f, "best: trial %d  %s = %.6g  params:", b->number, sc->objective, b->value);
        for (int p = 0; p < sc->np; p++) {
            json_t* x = param_external(&sc->params[p], b->internal[p]);
            yaml_scalar(val, sizeof val, x);
            json_decref(x);
            fprintf(f, " %s=%s", sc->params[p].name, val);
        }
        fprintf(f, "\n");
    } else fprintf(f, "best: none (no COMPLETE trial)\n");
    double eta[64];
    sweep_importance(sc, &s, eta);
    fprintf(f, "%-20s %-34s %s\n", "param", "explored (all trials)", "importance (one-way ANOVA eta^2, COMPLETE trials)");
    for (int p = 0; p < sc->np; p++) {
        const Param* pr = &sc->params[p];
        char range[256] = "";
        if (pr->type == PARAM_CAT) {
            size_t nch = json_array_size(pr->choices), o = 0;
            for (size_t c = 0; c < nch; c++) {
                int seen = 0;
                for (int i = 0; i < s.n; i++) seen += s.trials[i].has[p] && (size_t)s.trials[i].internal[p] == c;
                yaml_scalar(val, sizeof val, json_array_get(pr->choices, c));
                o += snprintf(range + o, o < sizeof range ? sizeof range - o : 0, "%s%s x%d", c ? ", " : "", val, seen);
                if (o >= sizeof range) break;
            }
        } else {
            double lo = 1e300, hi = -1e300;
            for (int i = 0; i < s.n; i++)
                if (s.trials[i].has[p]) { lo = fmin(lo, s.trials[i].internal[p]); hi = fmax(hi, s.trials[i].internal[p]); }
            if (lo <= hi) snprintf(range, sizeof range, "[%.4g, %.4g] of [%.4g, %.4g]%s", lo, hi, pr->low, pr->high, pr->log ? " log" : "");
            else snprintf(range, sizeof range, "--");
        }
        char imp[32];
        if (eta[p] >= 0) snprintf(imp, sizeof imp, "%.3f", eta[p]); else snprintf(imp, sizeof imp, "--");
        fprintf(f, "%-20s %-34s %s\n", pr->name, range, imp);
    }
    int rc = 0;
    if (top_k > 0) {
        char dir[4200];
        if (path_join(dir, sizeof dir, root, "top", err) || mkdir_p(dir, err)) { rc = -1; goto out; }
        for (long k = 0; k < top_k && k < nc; k++) {
            Trial* t = &s.trials[ord[k]];
            json_t* over = json_deep_copy(sc->fixed_args);
            for (int p = 0; p < sc->np; p++) json_object_set_new(over, sc->params[p].name, param_external(&sc->params[p], t->internal[p]));
            char path[4300], name[64], *header;
            snprintf(name, sizeof name, "top_%ld.yaml", k + 1);
            if (path_join(path, sizeof path, dir, name, err)) { json_decref(over); rc = -1; goto out; }
            internal_check(asprintf(&header,
                                    "# sweep %s: rank %ld, trial %d, %s = %.6g (%s)\n# base: %s, section %s overridden with the trial's params.\n"
                                    "# Run: bin/%s --config %s %s <run dir>\n",
                                    s.name, k + 1, t->number, sc->objective, t->value, sc->maximize ? "maximize" : "minimize",
                                    sc->base_config, sc->section, sc->tool, path, sc->run_dir_flag) >= 0, "out of memory");
            rc = write_top(sc, path, over, header, err);
            free(header);
            json_decref(over);
            if (rc) goto out;
            fprintf(f, "wrote %s\n", path);
        }
        if (top_k > nc) fprintf(f, "(only %d COMPLETE trials for --top_k %ld)\n", nc, top_k);
    }
out:
    free(ord);
    study_free(&s);
    return rc;
}
