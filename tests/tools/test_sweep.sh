#!/usr/bin/env bash
# sweep: two workers finish a 2x2 grid over pretrain (ci data); Optuna 3.1's
# JournalStorage loads the journal (study, trials, params, values); a worker killed
# with -9 mid-trial leaves no RUNNING trial after --resume (FAIL + retry); stop and
# pause requests; --validate refuses a malformed config naming file:line; the
# report and top-k configs.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-A >"$T/phaseA.log" 2>&1 || { fail sweep_data "phase-A failed: $(tail -3 "$T/phaseA.log")"; exit 1; }
export SWEEP_DATA=$T/out/ci/data
S=configs/sweeps/pretrain_ci.yaml
PY=/usr/bin/python3

check sweep_validate_ok "$BIN/sweep" --validate --sweep_config $S
sed 's/type: float, low: 1.0e-4/type: flot, low: 1.0e-4/' $S >"$T/bad.yaml"
expect_err sweep_validate_bad_type 2 "bad.yaml:[0-9]+: space: lr: type" "$BIN/sweep" --validate --sweep_config "$T/bad.yaml"
sed 's/^n_trials: 4/n_trials: 4\nbogus: 1/' $S >"$T/bad2.yaml"
expect_err sweep_validate_unknown_key 2 "bad2.yaml:[0-9]+:[0-9]+: .*bogus" "$BIN/sweep" --validate --sweep_config "$T/bad2.yaml"
sed 's/choices: \[configs[^]]*\]/choices: []/' $S >"$T/bad3.yaml"
expect_err sweep_validate_empty_choices 2 "bad3.yaml:[0-9]+: space: model: .*choices" "$BIN/sweep" --validate --sweep_config "$T/bad3.yaml"
sed 's/^tool: pretrain/tool: no-such-tool/' $S >"$T/bad4.yaml"
expect_err sweep_validate_missing_tool 2 "bad4.yaml:[0-9]+: tool: no-such-tool" "$BIN/sweep" --validate --sweep_config "$T/bad4.yaml"

# Two workers, whole grid.
R=$T/sw
"$BIN/sweep" --sweep_config $S --out_root "$R" --workers 2 >"$T/sweep.log" 2>&1
rc=$?
[ $rc -eq 0 ] && pass sweep_two_workers || fail sweep_two_workers "exit $rc: $(tail -5 "$T/sweep.log")"
n_workers=$(grep -o '"worker_id": "[^"]*"' "$R/journal.log" | sort -u | wc -l)
[ "$n_workers" -ge 2 ] && pass sweep_two_worker_ids || fail sweep_two_worker_ids "$n_workers worker ids in the journal"
$PY - "$R/journal.log" <<'PY' >"$T/py.log" 2>&1 && pass sweep_optuna_loads || fail sweep_optuna_loads "$(tail -5 "$T/py.log")"
import sys, warnings, math
warnings.simplefilter("ignore")
import optuna
st = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(sys.argv[1]))
s = optuna.load_study(study_name="pretrain_ci_grid", storage=st)
ts = s.trials
assert len(ts) == 4, len(ts)
assert all(t.state == optuna.trial.TrialState.COMPLETE for t in ts), [t.state for t in ts]
grid = sorted((t.params["lr"], t.params["model"]) for t in ts)
want = sorted((lr, m) for lr in (1e-3, 3e-3) for m in ("configs/model/ci.yaml", "configs/model/ci_nomhc.yaml"))
assert grid == want, grid
assert all(math.isfinite(t.value) and 0 < t.value < 20 for t in ts), [t.value for t in ts]
assert s.direction == optuna.study.StudyDirection.MINIMIZE
assert s.best_value == min(t.value for t in ts)
print("ok", s.best_params)
PY
for i in 0 1 2 3; do
  v=$($PY -c "import json;print(json.load(open('$R/trials/trial_000$i/run_record.json'))['status'])" 2>/dev/null)
  [ "$v" = completed ] || { fail sweep_trial_run_dirs "trial $i: status '$v'"; break; }
done && pass sweep_trial_run_dirs
expect_err sweep_refuses_existing_without_resume 2 "journal.log exists" "$BIN/sweep" --sweep_config $S --out_root "$R" --workers 1

# Report and top-k.
"$BIN/sweep" --report --out_root "$R" --top_k 2 >"$T/report.txt" 2>&1
if grep -q "COMPLETE 4" "$T/report.txt" && grep -q "^best: trial" "$T/report.txt" && grep -q "one-way ANOVA" "$T/report.txt" \
   && grep -q "failure rate" "$T/report.txt" && [ -f "$R/top/top_1.yaml" ] && [ -f "$R/top/top_2.yaml" ]; then pass sweep_report
else fail sweep_report "$(cat "$T/report.txt")"; fi
best_lr=$($PY -c "
import warnings;warnings.simplefilter('ignore');import optuna
s=optuna.load_study(study_name='pretrain_ci_grid',storage=optuna.storages.JournalStorage(optuna.storages.JournalFileStorage('$R/journal.log')))
print(repr(s.best_params['lr']))")
# The top config is a ready-to-run project config: pretrain takes it as is.
"$BIN/pretrain" --config "$R/top/top_1.yaml" --out "$T/top1_run" >"$T/top1.log" 2>&1
if [ $? -eq 0 ] && grep -Eq "^  lr: $best_lr\$" "$R/top/top_1.yaml"; then pass sweep_top_k_runs
else fail sweep_top_k_runs "$(tail -3 "$T/top1.log"; grep lr "$R/top/top_1.yaml")"; fi

# A worker killed with -9 mid-trial: --resume fails that trial and retries it.
R2=$T/sw_kill
export SWEEP_STEPS=60   # the resume keeps it (same config)
# The first trial waits after its step 2 (control/hold) until the test has killed its worker.
hold_at "$R2/trials/trial_0000" 2
"$BIN/sweep" --sweep_config $S --out_root "$R2" --workers 1 >"$T/kill.log" 2>&1 &
wpid=$!
wait_held "$R2/trials/trial_0000" $wpid
kill -9 $wpid; wait $wpid 2>/dev/null
release "$R2/trials/trial_0000"
grep -q '"state": 1' "$R2/journal.log" && fail sweep_kill_mid_trial "trial finished before the kill" || pass sweep_kill_mid_trial
"$BIN/sweep" --sweep_config $S --out_root "$R2" --workers 2 --resume >"$T/resume.log" 2>&1
rc=$?
$PY - "$R2/journal.log" <<'PY' >"$T/py2.log" 2>&1 && [ $rc -eq 0 ] && pass sweep_kill_resume_no_zombie || fail sweep_kill_resume_no_zombie "exit $rc: $(tail -5 "$T/py2.log" "$T/resume.log")"
import sys, warnings
warnings.simplefilter("ignore")
import optuna
S = optuna.trial.TrialState
s = optuna.load_study(study_name="pretrain_ci_grid", storage=optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(sys.argv[1])))
ts = s.trials
assert not [t for t in ts if t.state in (S.RUNNING, S.WAITING)], [t.state for t in ts]
assert ts[0].state == S.FAIL, ts[0].state
retry = [t for t in ts if t.system_attrs.get("sweep_retry_of") == 0]
assert len(retry) == 1 and retry[0].state == S.COMPLETE and retry[0].params == ts[0].params, retry
assert sum(t.state == S.COMPLETE for t in ts) == 4, [t.state for t in ts]
print("ok")
PY
pgrep -f "$R2/trials" >/dev/null && fail sweep_kill_no_orphan_tool "a tool process of the killed worker lives on" || pass sweep_kill_no_orphan_tool

# stop.request: the running trial finishes, no new one starts. The trial is held
# until the request is in place, so it cannot finish first.
R3=$T/sw_stop
hold_at "$R3/trials/trial_0000" 2
"$BIN/sweep" --sweep_config $S --out_root "$R3" --workers 1 >"$T/stop.log" 2>&1 &
wpid=$!
wait_held "$R3/trials/trial_0000" $wpid
touch "$R3/control/stop.request"
release "$R3/trials/trial_0000"
wait $wpid; rc=$?
n=$(grep -c '"op_code": 4' "$R3/journal.log"); c=$(grep -c '"state": 1,' "$R3/journal.log")
[ $rc -eq 0 ] && [ "$n" -eq 1 ] && [ "$c" -eq 1 ] && pass sweep_stop_request || fail sweep_stop_request "exit $rc, $n trials, $c complete: $(tail -3 "$T/stop.log")"

# pause.request: the running trial pauses (exit 75), --resume finishes it from its checkpoint.
# The trial is held until the sweep has passed the request on to it (its own
# control/pause.request), which ends the hold with a pause.
R4=$T/sw_pause
hold_at "$R4/trials/trial_0000" 2
"$BIN/sweep" --sweep_config $S --out_root "$R4" --workers 1 >"$T/pause.log" 2>&1 &
wpid=$!
wait_held "$R4/trials/trial_0000" $wpid
touch "$R4/control/pause.request"
wait $wpid; rc=$?
release "$R4/trials/trial_0000"
st=$($PY -c "import json;print(json.load(open('$R4/trials/trial_0000/_run_tracker/heartbeat.json'))['status'])")
[ $rc -eq 75 ] && [ "$st" = paused ] && pass sweep_pause_request || fail sweep_pause_request "exit $rc, trial status $st: $(tail -3 "$T/pause.log")"
"$BIN/sweep" --sweep_config $S --out_root "$R4" --workers 2 --resume >"$T/pause_resume.log" 2>&1
rc=$?
c=$(grep -c '"state": 1,' "$R4/journal.log")
if [ $rc -eq 0 ] && [ "$c" -eq 4 ] && grep -q "resuming from" "$R4/trials/trial_0000/sweep_tool.log"; then pass sweep_pause_resume
else fail sweep_pause_resume "exit $rc, $c complete: $(tail -3 "$T/pause_resume.log")"; fi
