/* paper: the one document a researcher reads after `make phase-F` (F3): report.tex, and
 * report.pdf compiled from it by pdflatex.
 *
 * Owns: report.tex's layout (the primary comparison first, every claim line of the
 * registry with its interval, the pipeline diagram, every table, every figure present as
 * a vector PDF, and the run facts: compute and wall time, cost, hardware, device,
 * library versions, git revisions and the config's SHA-256, read from the run records
 * under runs_dir and its sibling data/); running pdflatex without a shell, with no clock
 * in its output (SOURCE_DATE_EPOCH, no trailer id), and publishing report.pdf atomically.
 * The lines of report.tex that hold clocks (times, cost) end in "% clock" so tools that
 * compare two runs' outputs can leave them out (tests/kill/compare.py).
 * Does not own: the numbers, tables and claims (lib/paper/report), the figures (lib/paper/figures,
 * lib/paper/plot), the tables' files (report_write writes them first; report.tex \inputs them).
 * Library rules: returns -1 with one line in err naming the file; never exits. */
#ifndef DD_PAPER_H
#define DD_PAPER_H
#include "pipeline.h"
#include "util.h"

typedef struct {
    const char* runs_dir;      /* out/<config>/runs */
    const char* paper_dir;     /* report.tex goes here, beside results_macros.tex and tables/ */
    const char* fig_dir;       /* the figures' .pdf files */
    const char* config_path;   /* named, with its SHA-256, in the run facts */
    const PipelineCfg* pc;
    const PipelinePlan* plan;
} PaperIn;

/* Writes paper_dir/report.tex (atomically). */
int paper_write_tex(const PaperIn* in, char err[ERR_LEN]);

/* pdflatex (a command on PATH, or a path) on paper_dir/report.tex, its output in
 * scratch_dir (made and emptied first; report.log stays there); then report.pdf is
 * copied atomically into paper_dir. Errors: -2 when pdflatex is not found (a bad
 * setting), -1 for its exit status with the first "!" line of its log, or no PDF. */
int paper_compile(const char* paper_dir, const char* scratch_dir, const char* pdflatex, char err[ERR_LEN]);

/* The figures report.tex includes when their PDF exists, in order (stems, no extension). */
extern const char* const PAPER_FIGS[];

#endif
