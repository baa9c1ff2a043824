/* check-artifacts: required vs present artifacts of every run dir of a config
 * (the runbook's lists, in pipelines/artifacts.txt); exits 1 if any is missing. */
#include "config.h"
#include "specs.h"
#include "json.h"
#include "pipeline.h"
#include "runstat.h"
#include <glob.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static int present(const char* pattern) {
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    int n = rc == 0 ? (int)g.gl_pathc : 0;
    globfree(&g);
    return n;
}

int main(int argc, char** argv) {
    CheckArtifactsArgs a;
    Common c;
    char err[ERR_LEN];
    int cli = cfg_cli(&CHECK_ARTIFACTS_SPEC, argc, argv, &a, &c, err);
    if (cli < 0) die(EXIT_BADINPUT, "%s", err);
    if (cli) return 0;   /* --help */
    PipelineCfg pc;
    PipelinePlan plan;
    if (pipeline_load(c.config_path, &pc, &plan, err)) die(EXIT_BADINPUT, "%s", err);
    size_t len;
    char* text = read_file(a.manifest, &len, err);
    if (!text) die(EXIT_BADINPUT, "%s", err);
    json_t* report = json_array();
    long total = 0, missing = 0;
    int lineno = 0;
    printf("%-5s %-40s %-10s %s\n", "phase", "run dir", "status", "artifact");
    for (char* line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        lineno++;
        char* hash = strchr(line, '#');
        if (hash) *hash = 0;
        char* save;
        char* phase = strtok_r(line, " \t", &save);
        if (!phase) continue;
        char* run = strtok_r(NULL, " \t", &save);
        if (!run || strlen(phase) != 1) die(EXIT_BADINPUT, "%s:%d: expected 'PHASE RUN_DIR ARTIFACT...'", a.manifest, lineno);
        const char* arts[64];
        int narts = 0;
        for (char* art = strtok_r(NULL, " \t", &save); art && narts < 64; art = strtok_r(NULL, " \t", &save)) arts[narts++] = art;
        if (!narts) die(EXIT_BADINPUT, "%s:%d: no artifacts listed for %s", a.manifest, lineno, run);
        if (!strchr(a.phases, phase[0])) continue;
        /* {seeds} / {ablation_seeds} in the run dir: one row per seed of the config's list */
        const char* list = strstr(run, "{seeds}") ? "{seeds}" : strstr(run, "{ablation_seeds}") ? "{ablation_seeds}" : NULL;
        const long* seeds = list && list[1] == 'a' ? plan.abl : plan.seeds;
        int nrows = !list ? 1 : list[1] == 'a' ? plan.nabl : plan.nseeds;
        for (int row = 0; row < nrows; row++) {
            char rundir[4096], tmp[4096], pat[8400], one[4096];
            if (list) {   /* the line's run dir with {seeds} replaced by this row's seed */
                const char* at = strstr(run, list);
                if (path_fmt(one, sizeof one, err, "%.*s%ld%s", (int)(at - run), run, seeds[row], at + strlen(list)))
                    die(EXIT_BADINPUT, "%s:%d: %s", a.manifest, lineno, err);
            } else if (path_fmt(one, sizeof one, err, "%s", run))
                die(EXIT_BADINPUT, "%s:%d: %s", a.manifest, lineno, err);
            if (pipeline_subst(&pc, one, tmp, sizeof tmp, err) || path_join(rundir, sizeof rundir, a.root, tmp, err))
                die(EXIT_BADINPUT, "%s:%d: %s", a.manifest, lineno, err);
            RunStat rs;
            runstat_load(&rs, rundir, 60);
            json_t* ja = json_array();
            for (int k = 0; k < narts; k++) {
                if (pipeline_subst(&pc, arts[k], tmp, sizeof tmp, err) || path_join(pat, sizeof pat, rundir, tmp, err))
                    die(EXIT_BADINPUT, "%s:%d: %s", a.manifest, lineno, err);
                int ok = present(pat) > 0;
                total++;
                missing += !ok;
                /* Files of cheap tools carry their own run dir: <dir>/_runs/<file>. */
                RunStat fs;
                char frun[8400];   /* rundir and tmp are under 4096 bytes each: it fits */
                internal_check(path_fmt(frun, sizeof frun, err, "%s/_runs/%s", rundir, tmp) == 0, "%s", err);
                int own = !rs.hb && runstat_load(&fs, frun, 60) == 0;
                printf("%-5s %-40s %-10s %s %s\n", phase, rundir, own ? fs.status : rs.status, ok ? "[x]" : "[ ]", tmp);
                if (own) runstat_free(&fs);
                json_array_append_new(ja, json_pack("{s:s, s:b}", "artifact", tmp, "present", ok));
            }
            json_array_append_new(report, json_pack("{s:s, s:s, s:s, s:o}", "phase", phase, "run_dir", rundir, "status", rs.status, "artifacts", ja));
            runstat_free(&rs);
        }
    }
    printf("\n%ld required, %ld present, %ld missing\n", total, total - missing, missing);
    if (*a.report) {
        json_t* r = json_pack("{s:s, s:I, s:I, s:o}", "root", a.root, "required", (json_int_t)total, "missing", (json_int_t)missing, "runs", report);
        if (json_write_atomic(a.report, r, err)) die(EXIT_FAIL, "%s", err);
        json_decref(r);
    } else json_decref(report);
    free(text);
    return missing ? 1 : 0;
}
