# The shipped configs: each loads (pipeline-vars runs the whole-file check), `make -n
# phase-F` plans every run the runbook has for it, `make check` knows its artifacts,
# and small.yaml's tuning sweeps are valid and planned by `make tune`. The full small
# run is by hand (an hour: docs/results.md).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
for c in tiny small paper ci; do
    $BIN/pipeline-vars --config configs/$c.yaml >"$T/vars_$c" 2>&1 && pass "config_loads_$c" \
      || fail "config_loads_$c" "$(tail -2 "$T/vars_$c")"
done
grep -q '^PIPE_SEEDS *:\?= *0 1 2$' "$T/vars_small" && grep -q '^PIPE_ABLATION_SEEDS *:\?= *0$' "$T/vars_small" \
  && pass small_seeds || fail small_seeds "$(grep SEEDS "$T/vars_small")"
M="make --no-print-directory CONFIG=configs/small.yaml OUT_ROOT=$T/out"
$M -n phase-F >"$T/plan" 2>&1; rc=$?
# 3 seeds x (base, search, TTT main, SDFT best-of-N) + 4 ablations at seed 0 + TTT and search on train
n_ttt=$(grep -c '^bin/ttt ' "$T/plan")
runs_ok=1
for r in base_bestofn search ttt_main sdft_bestofn; do for s in 0 1 2; do
    grep -q -- "--out_root $T/out/small/runs/suite/${r}_seed$s " "$T/plan" || { runs_ok=0; echo "no ${r}_seed$s"; }
done; done
for r in ttt_reuse0 ttt_adapt0 ttt_kl0 ttt_expected ttt_train search_train; do
    grep -q -- "--out_root $T/out/small/runs/suite/${r}_seed0 " "$T/plan" || { runs_ok=0; echo "no ${r}_seed0"; }
done
[ $rc -eq 0 ] && [ "$n_ttt" -eq 18 ] && [ $runs_ok -eq 1 ] && pass small_plans_every_suite_run \
  || fail small_plans_every_suite_run "rc=$rc, $n_ttt bin/ttt lines"
for tool in gen-corpus train-tokenizer pack-bins pretrain gen-tasks build-sdft sdft retention plot; do
    grep -q "^bin/$tool " "$T/plan" || { echo "no bin/$tool"; runs_ok=0; }
done
[ $runs_ok -eq 1 ] && [ "$(grep -c '^bin/pretrain ' "$T/plan")" -eq 2 ] && pass small_plans_every_phase \
  || fail small_plans_every_phase "$(grep -c '^bin/' "$T/plan") tool lines"
grep -q '^  families: [a-z]*:[1-5]' configs/small.yaml && pass small_family_ranges_set \
  || fail small_family_ranges_set "no gen_tasks.families in configs/small.yaml"
# make check knows every artifact of the plan: all missing before a run, each suite run named
$M check >"$T/check" 2>&1; rc=$?
missing_ok=1
for r in ttt_main_seed2 search_seed1 sdft_bestofn_seed2 ttt_expected_seed0 search_train_seed0; do
    grep -q "runs/suite/$r " "$T/check" || { missing_ok=0; echo "check lacks $r"; }
done
[ $rc -ne 0 ] && grep -q " 0 present, " "$T/check" && [ $missing_ok -eq 1 ] && pass small_check_knows_artifacts \
  || fail small_check_knows_artifacts "rc=$rc $(tail -1 "$T/check")"
# tuning: both sweeps valid, planned in name order on the train split only
for s in configs/sweeps/small_tune_*.yaml; do
    $BIN/sweep --validate --sweep_config "$s" >/dev/null 2>&1 && pass "sweep_valid_$(basename "$s" .yaml)" \
      || fail "sweep_valid_$(basename "$s" .yaml)" "$($BIN/sweep --validate --sweep_config "$s" 2>&1)"
done
! grep -q heldout configs/sweeps/small_tune_*.yaml && grep -q 'discovery/train.jsonl' configs/sweeps/small_tune_1_temperature.yaml \
  && pass sweeps_train_split_only || fail sweeps_train_split_only "a tuning sweep names the held-out split"
$M -n tune >"$T/tune" 2>&1; rc=$?
t1=$(grep -n 'small_tune_1_temperature' "$T/tune" | head -1 | cut -d: -f1)
[ $rc -eq 0 ] && grep -q 'bin/sweep --sweep_config $s' "$T/tune" && [ -n "$t1" ] && ! grep 'sweep' "$T/tune" | grep -q heldout \
  && pass small_tune_planned || fail small_tune_planned "rc=$rc $(tail -3 "$T/tune")"
out=$(make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT=$T/out tune 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "ci: no tuning sweeps" && pass tune_without_sweeps_says_so || fail tune_without_sweeps_says_so "rc=$rc $out"
# pipelines/power.py: the pilot's paired differences -> expected half-widths (d = 0.1, 0.3, 0.2, 0.0:
# sd 0.12910; n = 64: 1.96 * 0.12910 / 8 = 0.03163)
printf '{"task_id":"a","best_reward":0.5}\n{"task_id":"b","best_reward":0.7}\n{"task_id":"c","best_reward":0.4}\n{"task_id":"d","best_reward":0.2}\n{"task_id":"only_x","best_reward":1}\n' >"$T/px.jsonl"
printf '{"task_id":"a","best_reward":0.4}\n{"task_id":"b","best_reward":0.4}\n{"task_id":"c","best_reward":0.2}\n{"task_id":"d","best_reward":0.2}\n' >"$T/py.jsonl"
out=$(/usr/bin/python3 pipelines/power.py "$T/px.jsonl" "$T/py.jsonl" 64 2>&1)
echo "$out" | grep -q "pilot: 4 tasks, mean difference +0.1500, sd 0.1291" && echo "$out" | grep -q "n =   64 tasks: expected half-width 0.0316" \
  && pass power_half_width || fail power_half_width "$out"
