# The whole pipeline through Make on configs/ci.yaml: phase-F from clean with a
# kill -9 of a running tool in the middle, then rerun: finishes without redoing
# finished runs; `make -q phase-F` is up to date afterwards; make check passes,
# and fails on a removed artifact; the paper outputs exist, report.pdf among them (compiled,
# every figure and table in it). Seeds come from the config:
# pipeline.seeds [0, 2] and ablation_seeds [2] run, check and report exactly those runs.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
# ci as it is: control/hold stops the base pretrain at a known step.
mkdir -p "$T/cfg"; cp configs/ci.yaml "$T/cfg/ci.yaml"
M="make --no-print-directory CONFIG=$T/cfg/ci.yaml OUT_ROOT=$T/out"
R=$T/out/ci/runs
# The base pretrain waits after step 10 (its first checkpoint) (control/hold); kill -9 it there (not make).
hold_at "$R/pretrain_base" 10
$M phase-F >"$T/f1" 2>&1 &
mk=$!
victim=""
wait_held "$R/pretrain_base" $mk && victim=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pid'])" "$R/pretrain_base/control/hold_ack.json")
[ -n "$victim" ] && kill -9 "$victim"
release "$R/pretrain_base"
wait $mk; rc1=$?
$M phase-F >"$T/f2" 2>&1; rc2=$?
[ -n "$victim" ] && [ $rc1 -ne 0 ] && [ $rc2 -eq 0 ] && grep -q "resuming from" "$R/pretrain_base/logs/stdout.log" && pass phase_f_after_kill9_finishes || fail phase_f_after_kill9_finishes "victim=$victim rc1=$rc1 rc2=$rc2 $(tail -5 "$T/f2")"
# Finished work is kept: gen-corpus etc. did not rerun, the killed pretrain resumed from its checkpoint.
! grep -q "bin/gen-corpus\|bin/train-tokenizer" "$T/f2" && ! grep -q "\-\-no-resume" "$T/f2" \
  && pass finished_runs_not_redone || fail finished_runs_not_redone "$(grep bin/ "$T/f2" | head -3)"
$M -q phase-F 2>/dev/null && pass make_q_up_to_date || fail make_q_up_to_date "make -q says work remains"
$M check >"$T/c1" 2>&1 && grep -q " 0 missing" "$T/c1" && pass make_check_all_phases || fail make_check_all_phases "$(tail -3 "$T/c1")"
ok=1; for f in figs/fig_pipeline.png figs/fig_reward_vs_samples.png figs/fig_pretrain_loss.png tables/table_main_results.tex \
    tables/table_ablation_summary.tex results_macros.tex results_registry.md; do
    [ -s "$T/out/ci/paper/$f" ] || { ok=0; echo "missing paper/$f"; }; done
[ $ok = 1 ] && pass paper_outputs || fail paper_outputs "see above"
# The one document: report.pdf compiled without errors (pdflatex's own log), with every figure
# (as its vector PDF) and every table in it, the primary comparison first, and the run facts.
P=$T/out/ci/paper
LOG=$P/figs/_runs/plot/logs/latex/report.log
ok=1; [ -s "$P/report.pdf" ] && [ -s "$LOG" ] || { ok=0; echo "no report.pdf or report.log"; }
grep -q '^!' "$LOG" 2>/dev/null && { ok=0; grep -A2 '^!' "$LOG" | head -6; }
grep -q 'Output written on .*report.pdf' "$LOG" 2>/dev/null || { ok=0; echo "no 'Output written' in the log"; }
grep -qi 'undefined' "$LOG" 2>/dev/null && { ok=0; grep -i undefined "$LOG" | head -3; }
[ $ok = 1 ] && pass report_pdf_compiles || fail report_pdf_compiles "see above"
pdftotext -layout "$P/report.pdf" "$T/report.txt" 2>/dev/null
pages=$(pdfinfo "$P/report.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')
ok=1; n=0
for fig in "$P"/figs/*.pdf; do
    b=$(basename "$fig"); n=$((n + 1))
    grep -q "^File: figs/$b Graphic file (type pdf)" "$LOG" || { ok=0; echo "$b not included"; }
    grep -q "($b)" "$T/report.txt" || { ok=0; echo "$b's caption not in the PDF"; }
done
for tab in "$P"/tables/*.tex; do
    b=$(basename "$tab")
    grep -q "(./tables/$b" "$LOG" || { ok=0; echo "$b not input"; }
    grep -q "($b)" "$T/report.txt" || { ok=0; echo "$b's caption not in the PDF"; }
done
[ $ok = 1 ] && [ "$n" -eq 7 ] && [ "${pages:-0}" -ge 4 ] && pass report_pdf_has_every_figure_and_table \
  || fail report_pdf_has_every_figure_and_table "$n figures, ${pages:-?} pages"
# Figures are vectors: their text is text in the PDF (the differences figure's labels).
grep -q "PRIMARY" "$T/report.txt" && grep -q "difference (first minus second)" "$T/report.txt" \
  && pass report_figures_are_vector || fail report_figures_are_vector "no figure text in the PDF"
first=$(grep -n -m1 "Primary comparison" "$T/report.txt" | cut -d: -f1)
claim=$(grep -n -m1 "TTT main and base best-of-N\|TTT main beats base\|TTT main is worse than base" "$T/report.txt" | cut -d: -f1)
facts=$(grep -n -m1 "Run facts" "$T/report.txt" | cut -d: -f1)
[ -n "$first" ] && [ -n "$claim" ] && [ -n "$facts" ] && [ "$first" -lt "$claim" ] && [ "$claim" -lt "$facts" ] \
  && grep -q "Git revision" "$T/report.txt" && grep -q "Compute time" "$T/report.txt" && grep -q "ci.yaml" "$T/report.txt" \
  && grep -q "Learning check" "$T/report.txt" && pass report_pdf_primary_first_and_facts \
  || fail report_pdf_primary_first_and_facts "primary at ${first:-?}, claim at ${claim:-?}, facts at ${facts:-?}"
rm "$R/suite/retention_ppl.json"
if $M check >"$T/c2" 2>&1; then fail make_check_detects_missing "exit 0"; else grep -q "\[ \] retention_ppl.json" "$T/c2" && pass make_check_detects_missing || fail make_check_detects_missing "$(tail -3 "$T/c2")"; fi

# The suite's seeds are the config's: seeds [0, 2], ablation seeds [2] (another output root).
sed -e 's/^  seeds: .*/  seeds: [0, 2]/' -e 's/^  ablation_seeds: .*/  ablation_seeds: [2]/' configs/ci.yaml >"$T/cfg/ci.yaml"
M2="make --no-print-directory CONFIG=$T/cfg/ci.yaml OUT_ROOT=$T/out2"
S2=$T/out2/ci/runs/suite
$M2 phase-F >"$T/g1" 2>&1 && [ -f "$S2/ttt_main_seed2/summary.jsonl" ] && [ -f "$S2/ttt_kl0_seed2/summary.jsonl" ] \
  && [ -f "$S2/sdft_bestofn_seed2/summary.jsonl" ] && [ ! -e "$S2/ttt_main_seed1" ] && [ ! -e "$S2/ttt_kl0_seed0" ] \
  && pass config_seeds_run || fail config_seeds_run "$(tail -3 "$T/g1"; ls "$S2")"
$M2 check >"$T/g2" 2>&1 && grep -q "ttt_kl0_seed2" "$T/g2" && ! grep -q "_seed1 " "$T/g2" && grep -q " 0 missing" "$T/g2" \
  && pass config_seeds_checked || fail config_seeds_checked "$(tail -3 "$T/g2")"
grep -q '\\newcommand{\\TTTMainSeedTwo}' "$T/out2/ci/paper/results_macros.tex" && ! grep -q 'SeedOne}' "$T/out2/ci/paper/results_macros.tex" \
  && grep -q "2 seeds" "$T/out2/ci/paper/results_registry.md" && pass config_seeds_reported \
  || fail config_seeds_reported "$(grep -c newcommand "$T/out2/ci/paper/results_macros.tex")"
# A seed list that makes no sense is refused before anything runs, naming the file and key.
sed -e 's/^  ablation_seeds: .*/  ablation_seeds: [5]/' configs/ci.yaml >"$T/cfg/bad.yaml"
out=$(make --no-print-directory CONFIG=$T/cfg/bad.yaml OUT_ROOT=$T/out3 phase-A 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "bad.yaml: pipeline.ablation_seeds: seed 5 is not in seeds" && [ ! -e "$T/out3/bad/data" ] \
  && pass config_bad_seeds_refused || fail config_bad_seeds_refused "rc=$rc $(echo "$out" | tail -2)"
# make status / report before any run: says there is nothing yet, exit 0.
out=$(make --no-print-directory CONFIG=$T/cfg/ci.yaml OUT_ROOT=$T/empty status 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "ci: nothing yet: no runs under $T/empty/ci" && pass status_before_any_run \
  || fail status_before_any_run "rc=$rc $out"
