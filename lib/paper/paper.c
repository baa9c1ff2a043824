/* paper: report.tex from the phase-F outputs, and report.pdf through pdflatex (see paper.h). */
#include "paper.h"
#include "lifecycle.h"
#include "atomic.h"
#include "hash.h"
#include "json.h"
#include "report.h"
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char* const PAPER_FIGS[] = {"fig_paired_differences", "fig_pipeline", "fig_reward_vs_samples", "fig_ablations",
                                  "fig_pretrain_loss", "fig_sdft", "fig_retention", NULL};

static const char* fig_caption(const char* stem) {
    static const char* const cap[][2] = {
        {"fig_paired_differences", "Paired differences on the held-out tasks: for each comparison, the mean over tasks of the "
                                   "per-task difference and its 95\\% bootstrap interval; the primary comparison first."},
        {"fig_pipeline", "The pipeline, phases A--F."},
        {"fig_reward_vs_samples", "Best reward against samples drawn per task, mean over held-out tasks; the band is its 95\\% "
                                  "bootstrap interval over tasks."},
        {"fig_ablations", "Mean best reward per run with its 95\\% bootstrap interval over tasks; dashed: base best-of-N."},
        {"fig_pretrain_loss", "Pretraining loss, mHC on and off (one seed each: not a claim)."},
        {"fig_sdft", "SDFT: the distillation KL per step and the perplexity gate at each gate step."},
        {"fig_retention", "Retention: validation perplexity of the base and the SDFT-updated model."},
    };
    for (size_t i = 0; i < sizeof cap / sizeof cap[0]; i++)
        if (!strcmp(cap[i][0], stem)) return cap[i][1];
    return "";
}

/* Text for LaTeX: its special characters escaped, the non-ASCII characters the claims
 * use mapped to LaTeX, any other non-ASCII character shown as '?' (pdflatex stops on a
 * character it has no definition for). */
static void tex(FILE* f, const char* s) {
    static const char* const map[][2] = {{"Δ", "$\\Delta$"}, {"×", "$\\times$"}, {"β", "$\\beta$"}, {"→", "$\\to$"},
                                         {"−", "$-$"},        {"≤", "$\\le$"},   {"≥", "$\\ge$"},   {"±", "$\\pm$"},
                                         {"–", "--"},         {"—", "---"}};
    for (const unsigned char* p = (const unsigned char*)s; *p;) {
        if (*p >= 0x80) {
            size_t k = 0, nmap = sizeof map / sizeof map[0];
            while (k < nmap && strncmp((const char*)p, map[k][0], strlen(map[k][0]))) k++;
            if (k < nmap) { fputs(map[k][1], f); p += strlen(map[k][0]); continue; }
            fputc('?', f);
            for (p++; (*p & 0xC0) == 0x80; p++) {}
            continue;
        }
        switch (*p) {
        case '\\': fputs("\\textbackslash{}", f); break;
        case '~': fputs("\\textasciitilde{}", f); break;
        case '^': fputs("\\textasciicircum{}", f); break;
        case '<': fputs("$<$", f); break;
        case '>': fputs("$>$", f); break;
        case '|': fputs("$|$", f); break;
        case '_': case '&': case '%': case '$': case '#': case '{': case '}': fputc('\\', f); fputc(*p, f); break;
        case '\n': case '\r': fputc(' ', f); break;
        default: fputc(*p, f);
        }
        p++;
    }
}

/* ---- run facts ---- */

typedef struct {
    json_t* records;   /* paths of run_record.json, sorted */
} Scan;

static Scan* g_scan;   /* nftw has no context argument */

static int scan_one(const char* path, const struct stat* st, int type, struct FTW* ftw) {
    (void)st;
    const char* base = path + ftw->base;
    if (type == FTW_D && (!strcmp(base, ".trash") || ftw->level > 6)) return FTW_SKIP_SUBTREE;
    if (type == FTW_F && !strcmp(base, "run_record.json")) json_array_append_new(g_scan->records, json_string(path));
    return FTW_CONTINUE;
}

static int by_string(const void* a, const void* b) {
    return strcmp(json_string_value(*(json_t* const*)a), json_string_value(*(json_t* const*)b));
}

/* The run records of the pipeline: under runs_dir, and under data/ beside it. */
static json_t* run_records(const char* runs_dir) {
    Scan s = {json_array()};
    g_scan = &s;
    char parent[PATH_MAX], data[PATH_MAX + 8], err[ERR_LEN];
    nftw(runs_dir, scan_one, 16, FTW_PHYS | FTW_ACTIONRETVAL);
    if (!path_dirname(parent, sizeof parent, runs_dir, err) && !path_join(data, sizeof data, parent, "data", err) && is_dir(data))
        nftw(data, scan_one, 16, FTW_PHYS | FTW_ACTIONRETVAL);
    g_scan = NULL;
    size_t n = json_array_size(s.records);
    json_t** v = malloc_check((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = json_incref(json_array_get(s.records, i));
    qsort(v, n, sizeof *v, by_string);
    json_t* out = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(out, v[i]);
    free(v);
    json_decref(s.records);
    return out;
}

/* Adds s to the distinct strings of set (kept in first-seen order). */
static void add_distinct(json_t* set, const char* s) {
    for (size_t i = 0; i < json_array_size(set); i++)
        if (!strcmp(json_string_value(json_array_get(set, i)), s)) return;
    json_array_append_new(set, json_string(s));
}

static void join_set(FILE* f, const json_t* set, const char* none) {
    if (!json_array_size(set)) { tex(f, none); return; }
    for (size_t i = 0; i < json_array_size(set); i++) {
        if (i) fputs("; ", f);
        tex(f, json_string_value(json_array_get(set, i)));
    }
}

static void hms(char* out, size_t cap, double s) {
    long t = (long)(s + 0.5);
    snprintf(out, cap, "%ldh %02ldm %02lds", t / 3600, t / 60 % 60, t % 60);
}

static void facts(FILE* f, const PaperIn* in) {
    json_t* recs = run_records(in->runs_dir);
    json_t *hw = json_array(), *dev = json_array(), *git = json_array(), *libs = json_array();
    double compute = 0, cost = 0;
    char first[32] = "", last[32] = "", err[ERR_LEN];
    size_t nrec = json_array_size(recs), nread = 0;
    for (size_t i = 0; i < nrec; i++) {
        const char* p = json_string_value(json_array_get(recs, i));
        json_t* r = json_load_path(p, err);
        if (!json_is_object(r)) { json_decref(r); continue; }   /* a run's own business: the facts count what parses */
        nread++;
        compute += jget_num(r, "duration_sec", 0);
        cost += jget_num(json_object_get(r, "cost"), "estimate_usd", 0);
        const char *s = jget_str(r, "start", ""), *e = jget_str(r, "end", "");
        if (*s && (!*first || strcmp(s, first) < 0)) snprintf(first, sizeof first, "%s", s);
        if (*e && strcmp(e, last) > 0) snprintf(last, sizeof last, "%s", e);
        const json_t* h = json_object_get(r, "hardware");
        char b[512];
        if (h) {
            const char* gpu = jget_str(h, "gpu", "");
            snprintf(b, sizeof b, "%s, %ld cores%s%s", jget_str(h, "cpu", "?"), jget_int(h, "cores", 0), *gpu ? ", GPU " : "", gpu);
            add_distinct(hw, b);
        }
        const json_t* d = json_object_get(r, "device");
        if (d) {
            snprintf(b, sizeof b, "%s %s", jget_str(d, "backend", "cpu"), jget_str(d, "precision", ""));
            add_distinct(dev, b);
        }
        char dir[PATH_MAX], side[PATH_MAX + 16];
        int ok = !path_dirname(dir, sizeof dir, p, err) && !path_join(side, sizeof side, dir, "git.json", err);
        json_t* g = ok && path_exists(side) ? json_load_path(side, err) : NULL;
        if (json_is_object(g) && json_is_true(json_object_get(g, "available"))) {
            snprintf(b, sizeof b, "%.12s%s", jget_str(g, "commit", "?"), json_is_true(json_object_get(g, "dirty")) ? " (dirty)" : "");
            add_distinct(git, b);
        }
        json_decref(g);
        ok = ok && !path_join(side, sizeof side, dir, "env.json", err);
        json_t* env = ok && path_exists(side) ? json_load_path(side, err) : NULL;
        const json_t* l = json_object_get(env, "libraries");
        if (json_is_object(l) && !json_array_size(libs)) {
            const char* k;
            json_t* v;
            json_object_foreach((json_t*)l, k, v) {
                snprintf(b, sizeof b, "%s %s", k, json_is_string(v) ? json_string_value(v) : "?");
                add_distinct(libs, b);
            }
        }
        json_decref(env);
        json_decref(r);
    }
    char cfg_hash[HASH_HEX] = "?";
    if (hash_file(in->config_path, cfg_hash, err)) snprintf(cfg_hash, sizeof cfg_hash, "unreadable");
    fprintf(f, "\\section{Run facts}\n\nRead from the %zu run records (\\texttt{run\\_record.json}, with \\texttt{env.json} and "
               "\\texttt{git.json} beside each) under \\texttt{", nread);
    tex(f, in->runs_dir);
    fputs("} and its sibling \\texttt{data/}. Times and cost differ from run to run; everything else is a property of the "
          "inputs.\n\n\\noindent\\begin{tabular}{@{}lp{0.75\\linewidth}@{}}\n\\hline\n", f);
    fputs("Config & \\texttt{", f);
    tex(f, in->config_path);
    fprintf(f, "}, SHA-256 \\texttt{%.16s}\\ldots\\\\\n", cfg_hash);
    fputs("Git revision & ", f); join_set(f, git, "not recorded"); fputs(" \\\\\n", f);
    fputs("Hardware & ", f); join_set(f, hw, "not recorded"); fputs(" \\\\\n", f);
    fputs("Device & ", f); join_set(f, dev, "cpu"); fputs(" \\\\\n", f);
    fputs("Libraries & ", f); join_set(f, libs, "not recorded"); fputs(" \\\\\n", f);
    char c[64], w[64];
    hms(c, sizeof c, compute);
    fprintf(f, "Compute time & %s, summed over the runs (%.2f hours) \\\\ %% clock\n", c, compute / 3600);
    if (*first && *last) {
        struct tm a = {0}, b = {0};
        double span = strptime(first, "%Y-%m-%dT%H:%M:%S", &a) && strptime(last, "%Y-%m-%dT%H:%M:%S", &b)
                      ? difftime(timegm(&b), timegm(&a)) : 0;
        hms(w, sizeof w, span);
        fprintf(f, "Wall time & %s, from the first run's start (%s) to the last one's end (%s) \\\\ %% clock\n", w, first, last);
    }
    fprintf(f, "Cost & \\$%.2f estimated (each run's \\texttt{cost.estimate\\_usd}, summed) \\\\ %% clock\n", cost);
    fputs("\\hline\n\\end{tabular}\n\n", f);
    json_decref(recs); json_decref(hw); json_decref(dev); json_decref(git); json_decref(libs);
}

/* ---- the document ---- */

static void figure(FILE* f, const PaperIn* in, const char* figrel, const char* stem, int* nfig) {
    char p[PATH_MAX];
    char err[ERR_LEN];
    if (path_fmt(p, sizeof p, err, "%s/%s.pdf", in->fig_dir, stem) || !path_exists(p)) return;   /* too long: not there */
    fprintf(f, "\\begin{figure}[htbp]\n\\centering\n\\includegraphics[width=\\linewidth]{%s/%s.pdf}\n", figrel, stem);
    fprintf(f, "\\caption{%s (\\texttt{\\detokenize{%s.pdf}})}\n\\end{figure}\n\n", fig_caption(stem), stem);
    ++*nfig;
}

static void table(FILE* f, const PaperIn* in, const char* name, const char* caption) {
    char p[PATH_MAX];
    char err[ERR_LEN];
    if (path_fmt(p, sizeof p, err, "%s/tables/%s.tex", in->paper_dir, name) || !path_exists(p)) return;
    fprintf(f, "\\begin{table}[htbp]\n\\centering\n\\caption{%s (\\texttt{\\detokenize{%s.tex}})}\n"
               "\\fittable{\\input{tables/%s.tex}}\n\\end{table}\n\n", caption, name, name);
}

int paper_write_tex(const PaperIn* in, char err[ERR_LEN]) {
    char claims[24][REPORT_CLAIM_LEN];
    int nclaims = report_claims(in->runs_dir, in->pc, in->plan, claims, 24, err);
    if (nclaims < 0) return -1;
    /* The figures' directory as report.tex (compiled in paper_dir) reaches it. */
    char figrel[PATH_MAX], rp[PATH_MAX], rf[PATH_MAX];
    if (!realpath(in->paper_dir, rp) || !realpath(in->fig_dir, rf)) {
        errf(err, "%s: %s", realpath(in->paper_dir, rp) ? in->fig_dir : in->paper_dir, strerror(errno));
        return -1;
    }
    size_t lp = strlen(rp);
    if (!strncmp(rf, rp, lp) && rf[lp] == '/') snprintf(figrel, sizeof figrel, "%s", rf + lp + 1);
    else if (!strcmp(rf, rp)) snprintf(figrel, sizeof figrel, ".");
    else snprintf(figrel, sizeof figrel, "%s", rf);
    for (const char* q = figrel; *q; q++)
        if (strchr(" %#&{}\\$^~", *q)) {
            errf(err, "%s: LaTeX cannot include figures from a path with '%c' in it", in->fig_dir, *q);
            return -1;
        }

    char* buf = NULL;
    size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    fputs("% report.tex: generated by bin/plot (lib/paper/paper.c); compiled to report.pdf with pdflatex.\n"
          "% Numbers: results_macros.tex and tables/ (lib/paper/report.c); every one's source is in results_registry.md.\n"
          "\\documentclass[10pt]{article}\n\\usepackage[margin=2cm]{geometry}\n\\usepackage{graphicx}\n"
          "\\ifdefined\\pdftrailerid \\pdftrailerid{}\\fi\n"   /* no per-compile id: the same inputs give the same PDF */
          "\\ifdefined\\pdfinfoomitdate \\pdfinfoomitdate=1\\fi\n"
          "\\pdfinfo{/Title (Discover to Distill: results) /Creator (bin/plot)}\n"
          "\\newsavebox\\fitbox\n"
          "\\newcommand\\fittable[1]{\\sbox\\fitbox{\\small #1}\\ifdim\\wd\\fitbox>\\linewidth"
          "\\resizebox{\\linewidth}{!}{\\usebox\\fitbox}\\else\\usebox\\fitbox\\fi}\n"
          "\\input{results_macros.tex}\n\\begin{document}\n", f);
    fputs("\\begin{center}{\\LARGE Discover $\\to$ Distill: results}\\\\[1ex]\\texttt{", f);
    tex(f, in->config_path);
    fputs("}\\end{center}\n\n", f);

    /* 1. The primary comparison, as declared in the config before any run. */
    fputs("\\section{Primary comparison}\n\n", f);
    fputs("Declared in the config before any run (\\texttt{pipeline.primary}); every other comparison is secondary. "
          "A claim is made only where the 95\\% paired bootstrap interval excludes 0.\n\n\\noindent\\textbf{", f);
    if (nclaims > 0) tex(f, claims[0]);
    fputs("}\n\n", f);
    table(f, in, "table_comparisons", "Paired comparisons on the held-out tasks, the primary one first");
    int nfig = 0;
    figure(f, in, figrel, "fig_paired_differences", &nfig);

    /* 2. Every claim line of the registry. */
    fputs("\\section{Claims}\n\nFrom the paired intervals, as the results registry states them; scoped to this synthetic "
          "suite and these budgets.\n\n\\begin{itemize}\n", f);
    for (int i = 0; i < nclaims; i++) {
        fputs(i == 0 ? "\\item \\textbf{Primary.} " : "\\item ", f);
        tex(f, claims[i]);
        fputc('\n', f);
    }
    fputs("\\end{itemize}\n\n", f);
    fputs("\\paragraph{Claim-safety guardrails} (the runbook's). Do not claim state of the art on real-world "
          "benchmarks, a causal effect of mHC without dedicated on/off evidence (one pretraining pair at one seed is "
          "not that), or zero forgetting (retention is a perplexity change on one validation set). Methods are "
          "compute-matched by samples per task; compare them by the paired intervals above, not by the seed means. "
          "Every number's source file, run and command: \\texttt{results\\_registry.md}.\n\n", f);

    /* 3. The pipeline, the tables, the figures. */
    fputs("\\section{Pipeline}\n\n", f);
    figure(f, in, figrel, "fig_pipeline", &nfig);
    fputs("\\section{Tables}\n\n", f);
    table(f, in, "table_main_results", "Main results: mean best reward per method, with the paired difference from base best-of-N");
    table(f, in, "table_ablation_summary", "Ablations of TTT main");
    table(f, in, "table_families", "The primary comparison within each task family (secondary)");
    table(f, in, "table_mhc", "mHC on and off (one pretraining run each)");
    fputs("\\clearpage\n\\section{Figures}\n\n", f);
    for (int i = 0; PAPER_FIGS[i]; i++)
        if (strcmp(PAPER_FIGS[i], "fig_paired_differences") && strcmp(PAPER_FIGS[i], "fig_pipeline"))
            figure(f, in, figrel, PAPER_FIGS[i], &nfig);
    if (!nfig) fputs("No figure was drawn (see the plot run's log).\n\n", f);

    /* 4. Run facts. */
    fputs("\\clearpage\n", f);
    facts(f, in);
    fputs("\\end{document}\n", f);
    fclose(f);
    char path[PATH_MAX];
    int rc = path_fmt(path, sizeof path, err, "%s/report.tex", in->paper_dir) || atomic_write(path, buf, len, err) ? -1 : 0;
    free(buf);
    return rc;
}

/* The first line of a TeX log that starts with "!" (the error), or "". */
static void first_error(const char* log, char* out, size_t cap) {
    char e[ERR_LEN];
    size_t n = 0;
    char* b = read_file(log, &n, e);
    *out = 0;
    for (char* p = b; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (*p == '!') {
            size_t k = strcspn(p, "\n");
            snprintf(out, cap, "%.*s", (int)(k < 200 ? k : 200), p);
            break;
        }
    free(b);
}

int paper_compile(const char* paper_dir, const char* scratch_dir, const char* pdflatex, char err[ERR_LEN]) {
    life_rm_tree(scratch_dir);
    if (mkdir_p(scratch_dir, err)) return -1;
    char out[PATH_MAX], log[PATH_MAX + 16], pdf[PATH_MAX + 16], dst[PATH_MAX], arg[PATH_MAX + 32];
    if (!realpath(scratch_dir, out)) { errf(err, "%s: %s", scratch_dir, strerror(errno)); return -1; }
    if (path_fmt(log, sizeof log, err, "%s/report.log", out) || path_fmt(pdf, sizeof pdf, err, "%s/report.pdf", out) ||
        path_fmt(arg, sizeof arg, err, "-output-directory=%s", out) || path_fmt(dst, sizeof dst, err, "%s/report.pdf", paper_dir))
        return -1;
    pid_t pid = fork();
    if (pid < 0) { errf(err, "pdflatex: fork: %s", strerror(errno)); return -1; }
    if (pid == 0) {
        int dn = open("/dev/null", O_RDWR);
        if (dn >= 0) { dup2(dn, 0); dup2(dn, 1); dup2(dn, 2); }   /* everything is in report.log */
        if (chdir(paper_dir)) _exit(126);
        setenv("SOURCE_DATE_EPOCH", "0", 1);   /* no clock in the PDF */
        setenv("FORCE_SOURCE_DATE", "1", 1);
        setenv("max_print_line", "100000", 1);   /* the log's lines unwrapped, for grep */
        execlp(pdflatex, pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", arg, "report.tex", (char*)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        errf(err, "%s: not found: install texlive-latex-base (make deps), or set plot.pdflatex", pdflatex);
        return -2;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char line[256];
        first_error(log, line, sizeof line);
        errf(err, "%s/report.tex: pdflatex failed (%s %d)%s%s; see %s", paper_dir,
                 WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), *line ? ": " : "", line, log);
        return -1;
    }
    size_t n = 0;
    char* b = read_file(pdf, &n, err);
    if (!b) return -1;
    int rc = atomic_write(dst, b, n, err);
    free(b);
    return rc;
}
