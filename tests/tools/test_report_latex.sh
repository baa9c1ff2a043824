#!/usr/bin/env bash
# The results tables and macros of lib/paper/report.c compile with pdflatex (texlive-latex-base,
# no booktabs): build/tests/test_report --write writes fake runs and the report, then a small
# document \input's results_macros.tex and the four tables.
source "$(dirname "$0")/lib.sh"
TR=$ROOT/build/tests/test_report
[ -x "$TR" ] || make -s -C "$ROOT" build/tests/test_report >/dev/null
if ! command -v pdflatex >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends texlive-latex-base) >/dev/null 2>&1
    else
        (sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends texlive-latex-base) >/dev/null 2>&1
    fi
fi
if ! command -v pdflatex >/dev/null; then fail report_latex "pdflatex missing and texlive-latex-base could not be installed"; exit 1; fi

if "$TR" --write "$T/rep" >"$T/write.log" 2>&1; then pass report_write_fake; else fail report_write_fake "$(cat "$T/write.log")"; exit 1; fi
P=$T/rep/paper
for f in results_macros.tex results_registry.md tables/table_main_results.tex tables/table_ablation_summary.tex tables/table_mhc.tex \
    tables/table_comparisons.tex tables/table_families.tex; do
    [ -s "$P/$f" ] || fail report_outputs "$f missing"
done
cat >"$P/doc.tex" <<'TEX'
\documentclass{article}
\input{results_macros.tex}
\begin{document}
Base best-of-$N$ reaches \BaseBestofNSeedZero{} (seed 0) and TTT \TTTMainMean{} (mean of seeds);
retention changes perplexity by \RetentionRelDeltaPct\%; missing KL-off run: \TTTKLOffSeedZero.
TTT minus base: \TTTMainVsBaseDelta{} [\TTTMainVsBaseLo, \TTTMainVsBaseHi].

\input{tables/table_comparisons.tex}

\input{tables/table_main_results.tex}

\input{tables/table_ablation_summary.tex}

\input{tables/table_mhc.tex}

\input{tables/table_families.tex}
\end{document}
TEX
if (cd "$P" && pdflatex -interaction=nonstopmode -halt-on-error doc.tex >"$T/latex.log" 2>&1) && [ -s "$P/doc.pdf" ]; then
    pass report_latex_compiles
else
    fail report_latex_compiles "$(grep -A3 '^!' "$P/doc.log" 2>/dev/null | head -20)"
fi
if grep -q "Undefined control sequence" "$P/doc.log" 2>/dev/null; then
    fail report_latex_macros "undefined control sequence in doc.log"
else
    pass report_latex_macros
fi
