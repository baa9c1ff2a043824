# The whole pipeline through Make on configs/ci.yaml: phase-F from clean with a
# kill -9 of a running tool in the middle, then rerun: finishes without redoing
# finished runs; `make -q phase-F` is up to date afterwards; make check passes,
# and fails on a removed artifact; the paper outputs exist.
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
rm "$R/suite/retention_ppl.json"
if $M check >"$T/c2" 2>&1; then fail make_check_detects_missing "exit 0"; else grep -q "\[ \] retention_ppl.json" "$T/c2" && pass make_check_detects_missing || fail make_check_detects_missing "$(tail -3 "$T/c2")"; fi
