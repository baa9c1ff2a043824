/* test_report: report_write on a hand-written fake runs dir: numbers in the tables and macros,
 * "--" for missing runs, LaTeX escaping, malformed files refused.
 *   build/tests/test_report              run the checks (in a fresh /tmp dir)
 *   build/tests/test_report --write DIR  write the fake runs to DIR/runs and the report to DIR/paper
 *                                        (tests/tools/test_report_latex.sh compiles it with pdflatex) */
#include "check.h"
#include "pipeline.h"
#include "report.h"
#include "util.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* A summary.jsonl of two tasks with the given best and mean rewards, 64 samples each. */
static void suite(const char* runs, const char* run, double b1, double b2, double m1, double m2) {
    char rel[512], text[2048];
    snprintf(text, sizeof text,
             "{\"task_id\":\"t0\",\"family\":\"reach\",\"mode\":\"x\",\"seed\":0,\"best_reward\":%.17g,\"mean_reward\":%.17g,\"samples\":64}\n"
             "{\"task_id\":\"t1\",\"family\":\"order\",\"mode\":\"x\",\"seed\":0,\"best_reward\":%.17g,\"mean_reward\":%.17g,\"samples\":64}\n",
             b1, m1, b2, m2);
    snprintf(rel, sizeof rel, "suite/%s/summary.jsonl", run);
    check_put(runs, rel, text);
    snprintf(rel, sizeof rel, "suite/%s/run_record.json", run);
    snprintf(text, sizeof text, "{\"tool\":\"ttt\",\"argv\":[\"bin/ttt\",\"--out_root\",\"runs/suite/%s\",\"--note\",\"a b|c\"]}\n", run);
    check_put(runs, rel, text);
}

/* The fake runs: everything except ttt_kl0_seed0 and the SDFT best-of-N seed 1. */
static void fake_runs(const char* runs) {
    suite(runs, "base_bestofn_seed0", 0.5, 0.25, 0.1, 0.05);      /* best 0.375, mean 0.075 */
    suite(runs, "base_bestofn_seed1", 0.75, 0.25, 0.2, 0.0);      /* best 0.5,   mean 0.1   */
    suite(runs, "ttt_main_seed0", 1.0, 0.5, 0.3, 0.1);            /* best 0.75,  mean 0.2   */
    suite(runs, "ttt_main_seed1", 0.5, 0.5, 0.1, 0.1);            /* best 0.5,   mean 0.1   */
    suite(runs, "ttt_reuse0_seed0", 0.5, 0.5, 0.1, 0.1);          /* best 0.5: delta -0.25 */
    suite(runs, "ttt_adapt0_seed0", 1.0, 1.0, 0.2, 0.2);          /* best 1.0: delta +0.25 */
    suite(runs, "ttt_expected_seed0", 0.75, 0.75, 0.2, 0.2);      /* delta 0 */
    suite(runs, "sdft_x_bestofn_seed0", 0.25, 0.125, 0.05, 0.05); /* best 0.1875 */
    /* train: TTT climbs 1 on t0 (rewards 0, 0.5, 1 over 3 steps of 1 rollout) and 0 on t1;
     * search 0.5 and 0: the learning check is +0.25 [0, +0.5] over 2 tasks */
    suite(runs, "ttt_train_seed0", 1.0, 0.5, 0.5, 0.5);
    suite(runs, "search_train_seed0", 0.5, 0.5, 0.17, 0.5);
    check_put(runs, "suite/ttt_train_seed0/t0/result.json", "{\"rollouts\":1,\"rewards\":[0,0.5,1]}");
    check_put(runs, "suite/ttt_train_seed0/t1/result.json", "{\"rollouts\":1,\"rewards\":[0.5,0.5,0.5]}");
    check_put(runs, "suite/search_train_seed0/t0/result.json", "{\"rollouts\":1,\"rewards\":[0,0,0.5]}");
    check_put(runs, "suite/search_train_seed0/t1/result.json", "{\"rollouts\":1,\"rewards\":[0.5,0.5,0.5]}");
    check_put(runs, "suite/retention_ppl.json",
        "{\"base_ppl\":24.0,\"updated_ppl\":24.5,\"abs_delta\":0.5,\"rel_delta\":0.0208333333,\"tokens_evaluated\":10240}\n");
    check_put(runs, "pretrain_base/pretrain_config.json", "{}\n");
    check_put(runs, "pretrain_base/model_config.json", "{\"d_model\":128,\"mhc\":{\"n\":4}}\n");
    check_put(runs, "pretrain_base/run_record.json",
        "{\"argv\":[\"bin/pretrain\",\"--out\",\"runs/pretrain_base\"],\"params\":1039320,\"tokens_per_s\":2418.2}\n");
    check_put(runs, "pretrain_base/metrics.jsonl",
        "{\"step\":1,\"loss\":5.0,\"val_loss\":5.5}\n{\"step\":2,\"loss\":3.2,\"val_loss\":3.1478}\n{\"step\":3,\"loss\":3.1}\n{\"step\":4,\"lo");
    check_put(runs, "pretrain_nomhc/pretrain_config.json", "{}\n");
    check_put(runs, "pretrain_nomhc/model_config.json", "{\"d_model\":128,\"mhc\":{\"n\":0}}\n");
    check_put(runs, "pretrain_nomhc/run_record.json", "{\"argv\":[\"bin/pretrain\"],\"params\":940800,\"tokens_per_s\":1211.0}\n");
    check_put(runs, "pretrain_nomhc/metrics.jsonl", "{\"step\":2,\"loss\":3.2,\"val_loss\":3.157}\n");
    check_put(runs, "sdft_from_ttt/sdft_eval_report.json",
        "{\"base_val_ppl\":23.93,\"final_val_ppl\":24.28,\"val_ppl_rel_delta\":0.0147,\"published_step\":40,"
        "\"demos_used\":3,\"best_of_k_before\":0.5,\"best_of_k_after\":0.625}\n");
}

/* The default pipeline section (seeds [0, 1], ablation seeds [0], TTT main vs base best-of-N
 * primary), with the fake runs' SDFT best-of-N name. */
static int write_report(const char* runs, const char* paper, char err[ERR_LEN]) {
    PipelineCfg pc;
    PipelinePlan plan;
    if (cfg_defaults(PIPELINE_OPTS, &pc, err)) return -1;
    pc.sdft_bestofn_run = "sdft_x_bestofn";
    if (pipeline_plan(&pc, &plan, err)) return -1;
    return report_write(runs, paper, &pc, &plan, err);
}

static char* slurp(const char* dir, const char* rel) {
    char p[4096], err[ERR_LEN];
    size_t n;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char* s = read_file(p, &n, err);
    return s ? s : strdup_check("");
}

static int has(const char* hay, const char* needle) { return strstr(hay, needle) != NULL; }

/* Every '_' outside comments is escaped. */
static int underscores_escaped(const char* s) {
    int comment = 0;
    for (const char* p = s; *p; p++) {
        if (*p == '\n') comment = 0;
        else if (*p == '%' && (p == s || p[-1] != '\\')) comment = 1;
        else if (*p == '_' && !comment && (p == s || p[-1] != '\\')) return 0;
    }
    return 1;
}

static int macro_names_letters(const char* s, int* count) {
    *count = 0;
    for (const char* p = strstr(s, "\\newcommand{\\"); p; p = strstr(p + 1, "\\newcommand{\\")) {
        const char* q = p + strlen("\\newcommand{\\");
        const char* e = strchr(q, '}');
        if (!e || e == q) return 0;
        for (; q < e; q++) if (!isalpha((unsigned char)*q)) return 0;
        (*count)++;
    }
    return *count > 0;
}

int main(int argc, char** argv) {
    char err[ERR_LEN] = "";
    if (argc == 3 && !strcmp(argv[1], "--write")) {
        char runs[4096], paper[4096];
        snprintf(runs, sizeof runs, "%s/runs", argv[2]);
        snprintf(paper, sizeof paper, "%s/paper", argv[2]);
        fake_runs(runs);
        if (write_report(runs, paper, err)) { fprintf(stderr, "report_write: %s\n", err); return 1; }
        printf("wrote %s\n", paper);
        return 0;
    }
    char root[] = "/tmp/test_report.XXXXXX";
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    char runs[4096], paper[4096];
    snprintf(runs, sizeof runs, "%s/runs", root);
    snprintf(paper, sizeof paper, "%s/paper", root);
    fake_runs(runs);

    int rc = write_report(runs, paper, err);
    CHECK("report_write ok", rc == 0, "rc %d: %s", rc, err);
    char* mainT = slurp(paper, "tables/table_main_results.tex");
    char* abl = slurp(paper, "tables/table_ablation_summary.tex");
    char* mhc = slurp(paper, "tables/table_mhc.tex");
    char* mac = slurp(paper, "results_macros.tex");
    char* reg = slurp(paper, "results_registry.md");

    CHECK("main: base row is the reference", has(mainT, "Base best-of-$N$ (\\texttt{base\\_bestofn}) & 0.4375 & 2 & 64 & 0.08750 & ref. & & \\\\"), "%s", mainT);
    CHECK("main: ttt row with the primary delta and interval",
          has(mainT, "TTT main (\\texttt{ttt\\_main}) & 0.6250 & 2 & 64 & 0.1500 & +0.1875 & [+0.1250, +0.2500] & primary \\\\"), "%s", mainT);
    CHECK("main: sdft seed1 missing -> mean over the present seed, delta on it",
          has(mainT, "& 0.1875 & 1 & 64 & 0.05000 & -0.1875 & [-0.2500, -0.1250] & secondary \\\\"), "%s", mainT);
    CHECK("main: sdft run name escaped", has(mainT, "\\texttt{sdft\\_x\\_bestofn}"), "%s", mainT);
    CHECK("main: search missing -> --", has(mainT, "Search, no learning (\\texttt{search}) & -- & 0 & -- & -- & -- & -- & secondary"), "%s", mainT);
    CHECK("main: plain tabular with hline, no booktabs", has(mainT, "\\begin{tabular}") && has(mainT, "\\hline") &&
          !has(mainT, "toprule"), "%s", mainT);
    CHECK("ablation: reuse deltas vs base and vs main with intervals",
          has(abl, "Reuse off (\\texttt{ttt\\_reuse0}) & 0.5000 & 1 & 0.1000 & +0.1250 & [0.000, +0.2500] & -0.2500 & [-0.5000, 0.000] \\\\"),
          "%s", abl);
    CHECK("ablation: kl missing -> --", has(abl, "KL shaping off (\\texttt{ttt\\_kl0}) & -- & 0 & -- & -- & -- & -- & -- \\\\"), "%s", abl);
    CHECK("ablation: expected equal to main", has(abl, "& 0.7500 & 1 & 0.2000 & +0.3750 & [+0.2500, +0.5000] & 0.000 & [-0.2500, +0.2500] \\\\"), "%s", abl);
    char* fam = slurp(paper, "tables/table_families.tex");
    CHECK("families: the primary comparison per family", has(fam, "reach & 1 & +0.1250 & [+0.1250, +0.1250] \\\\") &&
          has(fam, "order & 1 & +0.2500 & [+0.2500, +0.2500] \\\\"), "%s", fam);
    free(fam);
    CHECK("mhc: on row", has(mhc, "mHC on & \\texttt{pretrain\\_base} & 4 & 1{,}039{,}320 & 3.148 & 2{,}418 \\\\"), "%s", mhc);
    CHECK("mhc: off row", has(mhc, "mHC off & \\texttt{pretrain\\_nomhc} & 0 & 940{,}800 & 3.157 & 1{,}211 \\\\"), "%s", mhc);
    CHECK("escaping: no bare underscore in tables",
          underscores_escaped(mainT) && underscores_escaped(abl) && underscores_escaped(mhc) && underscores_escaped(mac), "%s", mainT);
    int nm = 0;
    CHECK("macros: names letters only", macro_names_letters(mac, &nm), "%s", mac);
    CHECK("macros: count", nm >= 50, "%d", nm);
    CHECK("macros: family", has(mac, "\\newcommand{\\FamilyReachDelta}{+0.1250}") && has(mac, "\\newcommand{\\FamilyOrderTasks}{1}"), "%s", mac);
    CHECK("macros: base seed 0", has(mac, "\\newcommand{\\BaseBestofNSeedZero}{0.3750}"), "%s", mac);
    CHECK("macros: retention", has(mac, "\\newcommand{\\RetentionRelDelta}{+0.02083}") &&
          has(mac, "\\newcommand{\\RetentionRelDeltaPct}{+2.083}") && has(mac, "\\newcommand{\\RetentionTokens}{10{,}240}"), "%s", mac);
    CHECK("macros: missing -> --", has(mac, "\\newcommand{\\TTTKLOffSeedZero}{--}") &&
          has(mac, "\\newcommand{\\SDFTBestofNSeedOne}{--}"), "%s", mac);
    CHECK("macros: sdft report", has(mac, "\\newcommand{\\SdftPublishedStep}{40}") &&
          has(mac, "\\newcommand{\\SdftBestOfKAfter}{0.6250}"), "%s", mac);
    CHECK("registry: missing noted", has(reg, "missing run: ttt_kl0_seed0") && has(reg, "missing run: sdft_x_bestofn_seed1"), "%.400s", reg);
    CHECK("registry: command from argv, quoted, pipe escaped",
          has(reg, "`bin/ttt --out_root runs/suite/base_bestofn_seed0 --note 'a b\\|c'`"), "%.2000s", reg);
    CHECK("registry: guardrails", has(reg, "mHC causal effect without dedicated on/off architecture evidence") &&
          has(reg, "zero forgetting guarantees") && has(reg, "Keep claims scoped to this verifiable synthetic suite"), "no guardrails");
    CHECK("registry: source and seed", has(reg, "| `\\BaseBestofNSeedOne` | 0.5000 |") &&
          has(reg, "base_bestofn_seed1/summary.jsonl`"), "%.600s", reg);

    /* Paired comparisons: per task, the difference averaged over the seeds both runs have.
     * TTT main - base: t0 ((1 - .5) + (.5 - .75)) / 2 = .125, t1 ((.5 - .25) + (.5 - .25)) / 2 = .25. */
    char* cmpT = slurp(paper, "tables/table_comparisons.tex");
    CHECK("comparisons: primary row first, with interval and W/T/L",
          has(cmpT, "TTT main vs base best-of-N & primary & +0.1875 & [+0.1250, +0.2500] & 2/0/0 & 2 $\\times$ 2 \\\\"), "%s", cmpT);
    CHECK("comparisons: macros", has(mac, "\\newcommand{\\TTTMainVsBaseDelta}{+0.1875}") &&
          has(mac, "\\newcommand{\\TTTMainVsBaseWins}{2}") && has(mac, "\\newcommand{\\TTTMainVsBaseSeeds}{2}"), "%s", mac);
    CHECK("comparisons: a missing run -> --", has(mac, "\\newcommand{\\SearchVsBaseDelta}{--}") &&
          has(cmpT, "search (no learning) vs base best-of-N & secondary & -- & -- & -- & -- \\\\"), "%s", cmpT);
    CHECK("claims: beats, where the interval excludes 0", has(reg, "**Primary.** TTT main beats base best-of-N on this suite "
          "(best reward, Δ = +0.1875, 95% CI [+0.1250, +0.2500], 2 tasks × 2 seeds, equal samples (64 per task)"), "%.3000s", strstr(reg, "## Claims"));
    CHECK("claims: worse, on the seeds both have", has(reg, "SDFT best-of-N is worse than base best-of-N on this suite "
          "(best reward, Δ = -0.1875, 95% CI [-0.2500, -0.1250], 2 tasks × 1 seed"), "%.3000s", strstr(reg, "## Claims"));
    CHECK("claims: no significant difference", has(reg, "No significant difference between TTT reuse off and base best-of-N at this scale"),
          "%.3000s", strstr(reg, "## Claims"));
    CHECK("learning check: macros", has(mac, "\\newcommand{\\LearnClimbTTT}{+0.5000}") &&
          has(mac, "\\newcommand{\\LearnClimbSearch}{+0.2500}") && has(mac, "\\newcommand{\\LearnDelta}{+0.2500}") &&
          has(mac, "\\newcommand{\\LearnLo}{0.000}") && has(mac, "\\newcommand{\\LearnHi}{+0.5000}") &&
          has(mac, "\\newcommand{\\LearnTasks}{2}"), "%s", strstr(mac, "Learn") ? strstr(mac, "Learn") : mac);
    CHECK("learning check: claim line and table row",
          has(reg, "Learning check (train). TTT main's reward climbs no more than search's") &&
          has(cmpT, "Learning check (train): TTT climb $-$ search climb & secondary & +0.2500 & [0.000, +0.5000] & 1/1/0 & 2 $\\times$ 1"),
          "%s", cmpT);
    CHECK("floor and ceiling: seeds pooled per family, train rows",
          has(reg, "| held-out | TTT main | all | 4 | 0.625 | 0% | 25% |") && has(reg, "| held-out | TTT main | reach | 2 | 0.750 | 0% | 50% |") &&
          has(reg, "| train | search | all | 2 | 0.500 | 0% | 0% |"), "%s", strstr(reg, "## Floor") ? strstr(reg, "## Floor") : reg);
    CHECK("claims: not measured", has(reg, "search (no learning) vs base best-of-N: not measured"), "%.3000s", strstr(reg, "## Claims"));
    free(cmpT);

    char e1[256] = "";
    report_tex_escape("a_b&c%d$e#f{g}h~i^j\\k", e1, sizeof e1);
    CHECK("tex_escape", !strcmp(e1, "a\\_b\\&c\\%d\\$e\\#f\\{g\\}h\\textasciitilde{}i\\textasciicircum{}j\\textbackslash{}k"), "%s", e1);

    /* Malformed files: refused with the file named, nothing rewritten. */
    char p[4096];
    CHECK("fixture path fits", path_fmt(p, sizeof p, err, "%s/suite/ttt_reuse0_seed0/summary.jsonl", runs) == 0, "%s", err);
    check_put(runs, "suite/ttt_reuse0_seed0/summary.jsonl",
        "{\"task_id\":\"t0\",\"best_reward\":0.5,\"mean_reward\":0.1,\"samples\":64}\n{not json\n"
        "{\"task_id\":\"t1\",\"best_reward\":0.5,\"mean_reward\":0.1,\"samples\":64}\n");
    err[0] = 0;
    rc = write_report(runs, paper, err);
    CHECK("malformed summary.jsonl refused", rc == -1 && has(err, "ttt_reuse0_seed0/summary.jsonl:2"), "rc %d err %s", rc, err);
    char* abl2 = slurp(paper, "tables/table_ablation_summary.tex");
    CHECK("malformed: outputs untouched", !strcmp(abl, abl2), "ablation table changed");
    free(abl2);
    check_put(runs, "suite/ttt_reuse0_seed0/summary.jsonl",
        "{\"task_id\":\"t0\",\"best_reward\":\"high\",\"mean_reward\":0.1,\"samples\":64}\n");
    rc = write_report(runs, paper, err);
    CHECK("non-numeric reward refused", rc == -1 && has(err, "summary.jsonl:1"), "rc %d err %s", rc, err);
    suite(runs, "ttt_reuse0_seed0", 0.5, 0.5, 0.1, 0.1);
    check_put(runs, "suite/retention_ppl.json", "{\"base_ppl\": 24.0,\n");
    rc = write_report(runs, paper, err);
    CHECK("malformed retention_ppl.json refused", rc == -1 && has(err, "retention_ppl.json"), "rc %d err %s", rc, err);
    check_put(runs, "suite/retention_ppl.json", "{\"base_ppl\":24.0}\n");
    check_put(runs, "pretrain_nomhc/model_config.json", "[1,2]\n");
    rc = write_report(runs, paper, err);
    CHECK("malformed model_config.json refused", rc == -1 && has(err, "pretrain_nomhc/model_config.json"), "rc %d err %s", rc, err);
    check_put(runs, "pretrain_nomhc/model_config.json", "{\"mhc\":{\"n\":0}}\n");
    rc = write_report(runs, paper, err);
    CHECK("retention key missing -> --, ok", rc == 0, "rc %d err %s", rc, err);
    free(mac);
    mac = slurp(paper, "results_macros.tex");
    CHECK("retention partial", has(mac, "\\newcommand{\\RetentionBasePpl}{24.00}") &&
          has(mac, "\\newcommand{\\RetentionRelDelta}{--}"), "%s", mac);
    rc = write_report("/nonexistent/runs", paper, err);
    CHECK("missing runs dir refused", rc == -1 && has(err, "/nonexistent/runs"), "rc %d err %s", rc, err);

    free(mainT); free(abl); free(mhc); free(mac); free(reg);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (check_status() == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return check_status();
}
