/* config: YAML configs (libyaml) and command-line flags into typed structs.
 *
 * Owns: the option tables tools declare, their defaults, one section of a
 * project config (configs/tiny.yaml has a section per tool, e.g. `gen_corpus:`)
 * or a whole flat file (the model configs under configs/model/), flag parsing (`--key value`,
 * `--key=value`), validation (unknown keys, wrong types, out-of-range values:
 * errors name file:line:column and the key), --help text, and
 * config_resolved.yaml. Precedence: default < config file < flag.
 * Does not own: what the values mean; a tool checks cross-field sense itself
 * (cfg_where names where a value came from, for such errors in the same one-line form). */
#ifndef DD_CONFIG_H
#define DD_CONFIG_H
#include <stddef.h>
#include <jansson.h>
#include "util.h"

typedef enum { OPT_INT, OPT_FLOAT, OPT_STR, OPT_BOOL, OPT_JSON } OptType;

/* One key. Field types: OPT_INT long, OPT_FLOAT double, OPT_STR const char*,
 * OPT_BOOL int, OPT_JSON json_t* (any YAML value, converted). def == NULL
 * means required (for OPT_STR/OPT_JSON: "" / "null" mean optional-and-empty).
 * lo > hi means no range check. */
typedef struct {
    const char* key;
    OptType     type;
    size_t      off;
    const char* def;
    double      lo, hi;
    const char* help;
} Opt;
#define OPT_RANGE_NONE 1, 0

typedef struct {
    const char* tool;      /* binary name, e.g. "gen-corpus" */
    const char* section;   /* its section in a project config, e.g. "gen_corpus" */
    const char* usage;     /* one paragraph for --help */
    const Opt*  opts;      /* terminated by {0} */
    /* The whole project config, every section (lib/cli/specs: specs_check_config); cfg_cli
     * runs it before any work. NULL: the tool's own section only. */
    int (*check_config)(const char* path, char err[ERR_LEN]);
} ToolSpec;

/* Settings every tool has. Top-level config keys `cost_per_hour` and
 * `threads`, plus the flags --config, --run_dir, --resume [auto],
 * --no-resume, --force, --threads, --cost_per_hour, --help. */
typedef struct {
    const char* config_path;   /* NULL without --config */
    const char* run_dir;       /* --run_dir, NULL if not given */
    int    resume;             /* 1 = auto (default), 0 = --no-resume */
    int    force;
    long   threads;            /* 0 = all cores */
    double cost_per_hour;
    int    argc;
    char** argv;
} Common;

/* Defaults, then config section, then flags: 0, or -1 with a one-line message in err
 * (bad usage: the tool exits 2), or 1 after printing the help for --help (exit 0). */
int  cfg_cli(const ToolSpec* spec, int argc, char** argv, void* st, Common* c, char err[ERR_LEN]);

/* Library forms (return -1 and fill err). section == NULL: the whole file is
 * the option mapping (model configs). */
int  cfg_defaults(const Opt* opts, void* st, char err[ERR_LEN]);
int  cfg_load(const char* path, const char* section, const Opt* opts, void* st, Common* c, char err[ERR_LEN]);
/* Whether a top-level key of a project config is a section some tool reads. */
typedef int (*CfgKnownSection)(const char* key);
/* Every top-level key of the file is a common key (threads, cost_per_hour) or known:
 * else -1, "file:line:col: unknown top-level key 'k'" (cfg_load_mem reads one section
 * and skips the rest; this is the check that the rest exist). */
int  cfg_check_top_keys(const char* path_for_errors, const char* buf, size_t len, CfgKnownSection known, char err[ERR_LEN]);
int  cfg_load_mem(const char* path_for_errors, const char* buf, size_t len, const char* section, const Opt* opts,
                  void* st, Common* c, char err[ERR_LEN]);
int  cfg_set(const Opt* o, void* st, const char* text, const char* where, char err[ERR_LEN]);
const Opt* cfg_find(const Opt* opts, const char* key);

/* Writes the resolved values (and where the config came from) as YAML. */
int  cfg_write_resolved(const ToolSpec* spec, const void* st, const Common* c, const char* path, char err[ERR_LEN]);
/* The resolved values as a JSON object (for provenance and run records). */
json_t* cfg_to_json(const Opt* opts, const void* st);

/* Where the settings came from, for a value that parsed but makes no sense: the tool
 * refuses it with die(EXIT_BADINPUT, "%s: key: why", cfg_where(c)): the config file's
 * path, or "flags". */
const char* cfg_where(const Common* c);

#endif
