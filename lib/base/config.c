/* config: see config.h. libyaml's document API gives every node its
 * line/column, which is what makes the errors point at the right place. */
#include "config.h"
#include "atomic.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static const char* type_name(OptType t) {
    switch (t) {
    case OPT_INT: return "an integer";
    case OPT_FLOAT: return "a number";
    case OPT_STR: return "a string";
    case OPT_BOOL: return "a boolean";
    default: return "a value";
    }
}

/* Edit distance (insert, delete, substitute, swap adjacent) between short keys. */
static int edit_distance(const char* a, const char* b) {
    int n = (int)strlen(a), m = (int)strlen(b);
    if (n > 63 || m > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= n; i++) d[i][0] = i;
    for (int j = 0; j <= m; j++) d[0][j] = j;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v) v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

/* "; did you mean --steps?" (prefix "--") for the key of opts (and of more, may be NULL) nearest to key,
 * when it is near (at most 2 edits, and fewer than half the key's length); "" otherwise. */
static void suggest(const char* key, const char* prefix, const Opt* opts, const Opt* more, char* out, size_t cap) {
    const char* best = NULL;
    int bd = 99;
    for (int k = 0; k < 2; k++)
        for (const Opt* o = k ? more : opts; o && o->key; o++) {
            int dd = edit_distance(key, o->key);
            if (dd < bd) { bd = dd; best = o->key; }
        }
    if (best && bd <= 2 && 2 * bd < (int)strlen(key)) snprintf(out, cap, "; did you mean %s%s?", prefix, best);
    else if (cap) out[0] = 0;
}

const Opt* cfg_find(const Opt* opts, const char* key) {
    for (const Opt* o = opts; o->key; o++)
        if (strcmp(o->key, key) == 0) return o;
    return NULL;
}

static int parse_bool(const char* s, int* out) {
    static const char* T[] = {"true", "yes", "on", "1", NULL};
    static const char* F[] = {"false", "no", "off", "0", NULL};
    for (int i = 0; T[i]; i++) if (strcasecmp(s, T[i]) == 0) { *out = 1; return 0; }
    for (int i = 0; F[i]; i++) if (strcasecmp(s, F[i]) == 0) { *out = 0; return 0; }
    return -1;
}

static int range_ok(const Opt* o, double v, const char* where, char err[ERR_LEN]) {
    if (o->lo <= o->hi && (v < o->lo || v > o->hi)) {
        errf(err, "%s: %s: %g is out of range [%g, %g]", where, o->key, v, o->lo, o->hi);
        return -1;
    }
    return 0;
}

int cfg_set(const Opt* o, void* st, const char* text, const char* where, char err[ERR_LEN]) {
    char* field = (char*)st + o->off;
    char* end;
    switch (o->type) {
    case OPT_INT: {
        errno = 0;
        long v = strtol(text, &end, 10);
        if (!*text || *end || errno) {
            errf(err, "%s: %s: expected an integer, got '%s'", where, o->key, text);
            return -1;
        }
        if (range_ok(o, (double)v, where, err)) return -1;
        *(long*)field = v;
        return 0;
    }
    case OPT_FLOAT: {
        errno = 0;
        double v = strtod(text, &end);
        if (!*text || *end || errno || !isfinite(v)) {
            errf(err, "%s: %s: expected a number, got '%s'", where, o->key, text);
            return -1;
        }
        if (range_ok(o, v, where, err)) return -1;
        *(double*)field = v;
        return 0;
    }
    case OPT_BOOL: {
        int v;
        if (parse_bool(text, &v)) {
            errf(err, "%s: %s: expected a boolean (true/false/1/0), got '%s'", where, o->key, text);
            return -1;
        }
        *(int*)field = v;
        return 0;
    }
    case OPT_STR:
        *(const char**)field = strdup_check(text);
        return 0;
    case OPT_JSON: {
        json_error_t e;
        json_t* v = json_loads(text, JSON_DECODE_ANY, &e);
        if (!v) v = json_string(text);
        if (json_is_null(v)) { json_decref(v); v = NULL; }
        *(json_t**)field = v;
        return 0;
    }
    }
    return 0;
}

int cfg_defaults(const Opt* opts, void* st, char err[ERR_LEN]) {
    for (const Opt* o = opts; o->key; o++) {
        char* field = (char*)st + o->off;
        if (!o->def) {                        /* required: empty until set */
            if (o->type == OPT_STR) *(const char**)field = NULL;
            if (o->type == OPT_JSON) *(json_t**)field = NULL;
            continue;
        }
        if (cfg_set(o, st, o->def, "default", err)) return -1;
    }
    return 0;
}

/* ---- YAML ------------------------------------------------------------- */

typedef struct {
    const char*   path;
    yaml_document_t doc;
} Yaml;

static void where_of(const Yaml* y, const yaml_node_t* n, char* out, size_t cap) {
    snprintf(out, cap, "%s:%zu:%zu", y->path, n->start_mark.line + 1, n->start_mark.column + 1);
}

static int is_quoted(const yaml_node_t* n) {
    return n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
           n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

static json_t* node_to_json(Yaml* y, yaml_node_t* n) {
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char* s = (const char*)n->data.scalar.value;
        if (is_quoted(n)) return json_string(s);
        if (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0) return json_null();
        char* end;
        long iv = strtol(s, &end, 10);
        if (!*end) return json_integer(iv);
        double dv = strtod(s, &end);
        if (!*end && isfinite(dv)) return json_real(dv);
        int b;
        if (strcmp(s, "0") && strcmp(s, "1") && parse_bool(s, &b) == 0) return json_boolean(b);
        return json_string(s);
    }
    case YAML_SEQUENCE_NODE: {
        json_t* a = json_array();
        for (yaml_node_item_t* it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
            json_array_append_new(a, node_to_json(y, yaml_document_get_node(&y->doc, *it)));
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t* o = json_object();
        for (yaml_node_pair_t* p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t* k = yaml_document_get_node(&y->doc, p->key);
            yaml_node_t* v = yaml_document_get_node(&y->doc, p->value);
            const char* ks = k->type == YAML_SCALAR_NODE ? (const char*)k->data.scalar.value : "?";
            json_object_set_new(o, ks, node_to_json(y, v));
        }
        return o;
    }
    default: return json_null();
    }
}

static int key_of(Yaml* y, yaml_node_pair_t* p, yaml_node_t** k, yaml_node_t** v, const char* ctx, char err[ERR_LEN]) {
    *k = yaml_document_get_node(&y->doc, p->key);
    *v = yaml_document_get_node(&y->doc, p->value);
    if ((*k)->type != YAML_SCALAR_NODE) {
        char w[600];
        where_of(y, *k, w, sizeof w);
        errf(err, "%s: %s: keys must be plain names", w, ctx);
        return -1;
    }
    return 0;
}

static int check_dups(Yaml* y, yaml_node_t* map, const char* ctx, char err[ERR_LEN]) {
    for (yaml_node_pair_t* a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top; a++)
        for (yaml_node_pair_t* b = map->data.mapping.pairs.start; b < a; b++) {
            yaml_node_t* ka = yaml_document_get_node(&y->doc, a->key);
            yaml_node_t* kb = yaml_document_get_node(&y->doc, b->key);
            if (ka->type == YAML_SCALAR_NODE && kb->type == YAML_SCALAR_NODE &&
                strcmp((char*)ka->data.scalar.value, (char*)kb->data.scalar.value) == 0) {
                char w[600];
                where_of(y, ka, w, sizeof w);
                errf(err, "%s: %s%s%s: duplicate key", w, ctx, *ctx ? "." : "",
                         (char*)ka->data.scalar.value);
                return -1;
            }
        }
    return 0;
}

static int apply_value(Yaml* y, const Opt* o, void* st, yaml_node_t* v, const char* qual, char err[ERR_LEN]) {
    char w[600];
    where_of(y, v, w, sizeof w);
    if (o->type == OPT_JSON) {
        json_t* j = node_to_json(y, v);
        if (json_is_null(j)) { json_decref(j); j = NULL; }
        *(json_t**)((char*)st + o->off) = j;
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE) {
        errf(err, "%s: %s: expected %s, got a %s", w, qual, type_name(o->type),
                 v->type == YAML_MAPPING_NODE ? "mapping" : "list");
        return -1;
    }
    const char* text = (const char*)v->data.scalar.value;
    if (is_quoted(v) && o->type != OPT_STR) {
        errf(err, "%s: %s: expected %s, got the string \"%s\"", w, qual, type_name(o->type), text);
        return -1;
    }
    Opt named = *o;
    named.key = qual;                 /* errors say section.key */
    return cfg_set(&named, st, text, w, err);
}

static int apply_mapping(Yaml* y, yaml_node_t* map, const char* section, const Opt* opts, void* st, char err[ERR_LEN]) {
    char w[600];
    if (map->type != YAML_MAPPING_NODE) {
        where_of(y, map, w, sizeof w);
        errf(err, "%s: %s: expected a mapping of keys", w, section ? section : "top level");
        return -1;
    }
    if (check_dups(y, map, section ? section : "", err)) return -1;
    for (yaml_node_pair_t* p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k, *v;
        if (key_of(y, p, &k, &v, section ? section : "top level", err)) return -1;
        const char* key = (const char*)k->data.scalar.value;
        char qual[256];
        snprintf(qual, sizeof qual, "%s%s%s", section ? section : "", section ? "." : "", key);
        const Opt* o = cfg_find(opts, key);
        if (!o) {
            char hint[128];
            suggest(key, "", opts, NULL, hint, sizeof hint);
            where_of(y, k, w, sizeof w);
            errf(err, "%s: unknown key '%s'%s", w, qual, hint);
            return -1;
        }
        if (apply_value(y, o, st, v, qual, err)) return -1;
    }
    return 0;
}

static const Opt COMMON_OPTS[] = {
    {"cost_per_hour", OPT_FLOAT, offsetof(Common, cost_per_hour), "0", 0, 1e6, "machine cost in $/hour, for the run record's cost estimate"},
    {"threads", OPT_INT, offsetof(Common, threads), "0", 0, 4096, "worker threads (0 = my share: the cores, divided by make -jN, no more than those idle)"},
    {0},
};

int cfg_load(const char* path, const char* section, const Opt* opts, void* st, Common* c, char err[ERR_LEN]) {
    size_t len;
    char* buf = read_file(path, &len, err);
    if (!buf) return -1;
    int rc = cfg_load_mem(path, buf, len, section, opts, st, c, err);
    free(buf);
    return rc;
}

int cfg_load_mem(const char* path, const char* buf, size_t len, const char* section, const Opt* opts, void* st,
                 Common* c, char err[ERR_LEN]) {
    Yaml y = {.path = path};
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char*)buf, len);
    int rc = -1;
    if (!yaml_parser_load(&parser, &y.doc)) {
        errf(err, "%s:%zu:%zu: YAML error: %s%s%s", path, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "malformed",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_node_t* root = yaml_document_get_root_node(&y.doc);
    if (!root) { rc = 0; goto done; }              /* empty file: all defaults */
    if (!section) { rc = apply_mapping(&y, root, NULL, opts, st, err); goto done; }
    if (root->type != YAML_MAPPING_NODE) {
        char w[600];
        where_of(&y, root, w, sizeof w);
        errf(err, "%s: expected a mapping of sections at the top level", w);
        goto done;
    }
    if (check_dups(&y, root, "", err)) goto done;
    for (yaml_node_pair_t* p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k, *v;
        if (key_of(&y, p, &k, &v, "top level", err)) goto done;
        const char* key = (const char*)k->data.scalar.value;
        const Opt* co = cfg_find(COMMON_OPTS, key);
        if (co) {
            if (c && apply_value(&y, co, c, v, key, err)) goto done;
            continue;
        }
        if (strcmp(key, section) == 0) {
            if (v->type == YAML_SCALAR_NODE && !*v->data.scalar.value) continue;   /* "section:" empty */
            if (apply_mapping(&y, v, section, opts, st, err)) goto done;
            continue;
        }
    }
    rc = 0;
done:
    yaml_document_delete(&y.doc);
    yaml_parser_delete(&parser);
    return rc;
}

int cfg_check_top_keys(const char* path, const char* buf, size_t len, CfgKnownSection known, char err[ERR_LEN]) {
    Yaml y = {.path = path};
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char*)buf, len);
    if (!yaml_parser_load(&parser, &y.doc)) {   /* cfg_load_mem names the YAML error */
        yaml_parser_delete(&parser);
        return 0;
    }
    int rc = 0;
    yaml_node_t* root = yaml_document_get_root_node(&y.doc);
    for (yaml_node_pair_t* p = root && root->type == YAML_MAPPING_NODE ? root->data.mapping.pairs.start : NULL;
         p && p < root->data.mapping.pairs.top; p++) {
        yaml_node_t* k = yaml_document_get_node(&y.doc, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) continue;   /* cfg_load_mem refuses it */
        const char* key = (const char*)k->data.scalar.value;
        if (cfg_find(COMMON_OPTS, key) || known(key)) continue;
        char w[600];
        where_of(&y, k, w, sizeof w);
        rc = errf(err, "%s: unknown top-level key '%s'", w, key);
        break;
    }
    yaml_document_delete(&y.doc);
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- command line --------------------------------------------------------- */

static void fmt_default(const Opt* o, char* out, size_t cap) {
    if (!o->def) snprintf(out, cap, "required");
    else if (!*o->def) snprintf(out, cap, "none");
    else snprintf(out, cap, "default %s", o->def);
}

static void print_opts(const Opt* opts) {
    for (const Opt* o = opts; o->key; o++) {
        char d[160], flag[80], range[96] = "";
        fmt_default(o, d, sizeof d);
        snprintf(flag, sizeof flag, "--%s %s", o->key,
                 o->type == OPT_INT ? "N" : o->type == OPT_FLOAT ? "X" : o->type == OPT_BOOL ? "0|1" : "S");
        if (o->lo <= o->hi) snprintf(range, sizeof range, ", range [%g, %g]", o->lo, o->hi);
        printf("  %-28s %s (%s%s)\n", flag, o->help, d, range);
    }
}

static void print_help(const ToolSpec* spec) {
    printf("usage: %s [--config FILE.yaml] [flags]\n\n%s\n\nflags (also keys of the `%s:` section of a config):\n",
           spec->tool, spec->usage, spec->section);
    print_opts(spec->opts);
    printf("\ncommon flags:\n"
           "  %-28s %s\n  %-28s %s\n  %-28s %s\n  %-28s %s\n  %-28s %s\n",
           "--config FILE.yaml", "project config; flags override its keys",
           "--run_dir DIR", "where the run tracker, logs and config_resolved.yaml go",
           "--resume [auto] | --no-resume", "continue from saved progress (default) or start over",
           "--force", "with --no-resume: start over even a completed run (old outputs go to .trash/)",
           "--help", "this text");
    print_opts(COMMON_OPTS);
    printf("\nexit codes: 0 done, 1 failure, 2 bad usage or input, 3 gate RED, 75 paused (rerun to resume)\n");
}

int cfg_cli(const ToolSpec* spec, int argc, char** argv, void* st, Common* c, char err[ERR_LEN]) {
    set_progname(argv[0]);
    memset(c, 0, sizeof *c);
    c->resume = 1;
    c->argc = argc;
    c->argv = argv;
    internal_check(cfg_defaults(spec->opts, st, err) == 0 && cfg_defaults(COMMON_OPTS, c, err) == 0, "bad default: %s", err);
    /* --help and --config first: the config sits below every flag. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { print_help(spec); return 1; }
        if (!strcmp(argv[i], "--config")) {
            if (i + 1 >= argc) return errf(err, "--config: missing file name");
            c->config_path = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9)) c->config_path = argv[i] + 9;
    }
    if (c->config_path && cfg_load(c->config_path, spec->section, spec->opts, st, c, err)) return -1;
    /* The whole file, every tool's section, before any work: a typo anywhere surfaces now. */
    if (c->config_path && spec->check_config && spec->check_config(c->config_path, err)) return -1;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        if (!strcmp(a, "--config")) { i++; continue; }
        if (!strncmp(a, "--config=", 9)) continue;
        if (!strcmp(a, "--no-resume")) { c->resume = 0; continue; }
        if (!strcmp(a, "--force")) { c->force = 1; continue; }
        if (!strcmp(a, "--resume") || !strcmp(a, "--resume=auto")) {
            c->resume = 1;
            if (i + 1 < argc && !strcmp(argv[i + 1], "auto")) i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) return errf(err, "unexpected argument '%s' (see --help)", a);
        char key[256];
        const char* val = NULL;
        const char* eq = strchr(a + 2, '=');
        if (eq) { snprintf(key, sizeof key, "%.*s", (int)(eq - a - 2), a + 2); val = eq + 1; }
        else snprintf(key, sizeof key, "%s", a + 2);
        if (!strcmp(key, "run_dir")) {
            if (!val) { if (i + 1 >= argc) return errf(err, "--run_dir: missing value"); val = argv[++i]; }
            c->run_dir = val;
            continue;
        }
        const Opt* o = cfg_find(spec->opts, key);
        void* target = st;
        if (!o) { o = cfg_find(COMMON_OPTS, key); target = c; }
        if (!o) {
            char hint[128];
            suggest(key, "--", spec->opts, COMMON_OPTS, hint, sizeof hint);
            return errf(err, "unknown flag '--%s'%s (see --help)", key, hint);
        }
        if (!val) {
            if (i + 1 >= argc) return errf(err, "--%s: missing value", key);
            val = argv[++i];
        }
        if (cfg_set(o, target, val, "command line", err)) return -1;
    }
    /* Required keys are strings or values with no sensible default (paths). */
    for (const Opt* o = spec->opts; o->key; o++) {
        if (o->def) continue;
        void* f = (char*)st + o->off;
        if ((o->type == OPT_STR && !*(const char**)f) || (o->type == OPT_JSON && !*(json_t**)f))
            return errf(err, "missing required --%s (or %s.%s in the config)", o->key, spec->section, o->key);
    }
    return 0;
}

const char* cfg_where(const Common* c) { return c && c->config_path ? c->config_path : "flags"; }

/* ---- resolved output ------------------------------------------------------- */

json_t* cfg_to_json(const Opt* opts, const void* st) {
    json_t* o = json_object();
    for (const Opt* p = opts; p->key; p++) {
        const char* f = (const char*)st + p->off;
        switch (p->type) {
        case OPT_INT: json_object_set_new(o, p->key, json_integer(*(const long*)f)); break;
        case OPT_FLOAT: json_object_set_new(o, p->key, json_real(*(const double*)f)); break;
        case OPT_BOOL: json_object_set_new(o, p->key, json_boolean(*(const int*)f)); break;
        case OPT_STR: {
            const char* s = *(const char* const*)f;
            json_object_set_new(o, p->key, s ? json_string(s) : json_null());
            break;
        }
        case OPT_JSON: {
            json_t* j = *(json_t* const*)f;
            json_object_set_new(o, p->key, j ? json_deep_copy(j) : json_null());
            break;
        }
        }
    }
    return o;
}

static int emit(yaml_emitter_t* e, yaml_event_t* ev) { return yaml_emitter_emit(e, ev) ? 0 : -1; }

static int emit_scalar(yaml_emitter_t* e, const char* s, int force_quote) {
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t*)s, (int)strlen(s), !force_quote, 1,
                                 force_quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
    return emit(e, &ev);
}

static int emit_json(yaml_emitter_t* e, const json_t* j) {
    yaml_event_t ev;
    char buf[64];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (emit(e, &ev)) return -1;
        const char* k;
        json_t* v;
        json_object_foreach((json_t*)j, k, v) {
            if (emit_scalar(e, k, 0) || emit_json(e, v)) return -1;
        }
        yaml_mapping_end_event_initialize(&ev);
        return emit(e, &ev);
    }
    case JSON_ARRAY: {
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE);
        if (emit(e, &ev)) return -1;
        size_t i;
        json_t* v;
        json_array_foreach(j, i, v) if (emit_json(e, v)) return -1;
        yaml_sequence_end_event_initialize(&ev);
        return emit(e, &ev);
    }
    case JSON_STRING: {
        /* Quote strings a reader would take for another type. */
        const char* s = json_string_value(j);
        char* end;
        int b;
        strtod(s, &end);
        int ambiguous = !*s || !*end || parse_bool(s, &b) == 0 || !strcmp(s, "null") || !strcmp(s, "~");
        return emit_scalar(e, s, ambiguous);
    }
    case JSON_INTEGER: snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(j)); return emit_scalar(e, buf, 0);
    case JSON_REAL: snprintf(buf, sizeof buf, "%.17g", json_real_value(j));
        if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
        return emit_scalar(e, buf, 0);
    case JSON_TRUE: return emit_scalar(e, "true", 0);
    case JSON_FALSE: return emit_scalar(e, "false", 0);
    default: return emit_scalar(e, "null", 0);
    }
}

static int yaml_write_handler(void* data, unsigned char* buf, size_t size) {
    return fwrite(buf, 1, size, (FILE*)data) == size;
}

int cfg_write_resolved(const ToolSpec* spec, const void* st, const Common* c, const char* path, char err[ERR_LEN]) {
    json_t* root = json_object();
    json_object_set_new(root, "cost_per_hour", json_real(c->cost_per_hour));
    json_object_set_new(root, "threads", json_integer(c->threads));
    json_object_set_new(root, spec->section, cfg_to_json(spec->opts, st));
    AtomicFile a;
    if (atomic_open(&a, path, err)) { json_decref(root); return -1; }
    /* A valid config itself: `--config config_resolved.yaml` reruns with the same values. */
    fprintf(a.f, "# %s: resolved from defaults < %s < flags\n", spec->tool, c->config_path ? c->config_path : "(no config)");
    yaml_emitter_t e;
    yaml_event_t ev;
    yaml_emitter_initialize(&e);
    yaml_emitter_set_output(&e, yaml_write_handler, a.f);
    yaml_emitter_set_unicode(&e, 1);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    int bad = emit(&e, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    bad = bad || emit(&e, &ev) || emit_json(&e, root);
    yaml_document_end_event_initialize(&ev, 1);
    bad = bad || emit(&e, &ev);
    yaml_stream_end_event_initialize(&ev);
    bad = bad || emit(&e, &ev);
    yaml_emitter_delete(&e);
    json_decref(root);
    if (bad) { atomic_abort(&a); errf(err, "%s: YAML emit failed", path); return -1; }
    return atomic_commit(&a, err);
}
