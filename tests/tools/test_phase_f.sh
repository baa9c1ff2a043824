# The whole pipeline through Make on configs/ci.yaml: phase-F from clean with a
# kill -9 of a running tool in the middle, then rerun: finishes without redoing
# finished runs; `make -q phase-F` is up to date afterwards; make check passes,
# and fails on a removed artifact; the paper outputs exist.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
M="make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT=$T/out"
R=$T/out/ci/runs
$M phase-F >"$T/f1" 2>&1 &
mk=$!
# Wait until the suite is running, then kill -9 the live tool (not make).
victim=""
for i in $(seq 1 1200); do
    for hb in "$R"/suite/*/_run_tracker/heartbeat.json; do
        [ -f "$hb" ] && grep -q '"status": "running"' "$hb" && victim=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pid'])" "$hb") && break 2
    done
    sleep 0.05
done
[ -n "$victim" ] && kill -9 "$victim"
wait $mk; rc1=$?
base_start=$(python3 -c "import json; print(json.load(open('$R/pretrain_base/run_record.json'))['start'])")
$M phase-F >"$T/f2" 2>&1; rc2=$?
[ -n "$victim" ] && [ $rc1 -ne 0 ] && [ $rc2 -eq 0 ] && pass phase_f_after_kill9_finishes || fail phase_f_after_kill9_finishes "victim=$victim rc1=$rc1 rc2=$rc2 $(tail -5 "$T/f2")"
[ "$(python3 -c "import json; print(json.load(open('$R/pretrain_base/run_record.json'))['start'])")" = "$base_start" ] \
  && ! grep -q "bin/pretrain .*--no-resume" "$T/f2" && pass finished_runs_not_redone || fail finished_runs_not_redone "pretrain_base was redone"
$M -q phase-F && pass make_q_up_to_date || fail make_q_up_to_date "make -q says work remains"
$M check >"$T/c1" 2>&1 && grep -q " 0 missing" "$T/c1" && pass make_check_all_phases || fail make_check_all_phases "$(tail -3 "$T/c1")"
ok=1; for f in figs/fig_pipeline.png figs/fig_reward_vs_samples.png figs/fig_pretrain_loss.png tables/table_main_results.tex \
    tables/table_ablation_summary.tex results_macros.tex results_registry.md; do
    [ -s "$T/out/ci/paper/$f" ] || { ok=0; echo "missing paper/$f"; }; done
[ $ok = 1 ] && pass paper_outputs || fail paper_outputs "see above"
rm "$R/suite/retention_ppl.json"
if $M check >"$T/c2" 2>&1; then fail make_check_detects_missing "exit 0"; else grep -q "\[ \] retention_ppl.json" "$T/c2" && pass make_check_detects_missing || fail make_check_detects_missing "$(tail -3 "$T/c2")"; fi
