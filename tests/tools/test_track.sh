# The run-directory contract (SPEC §4) on a real tool: tracker files, pause by
# file and by signal (ack, request consumed, status paused, exit 75, rerun
# completes), stdout.log, and watch (progress line, table, crashed detection).
. "$(dirname "$0")/lib.sh"
G=$BIN/gen-corpus
R=$T/d/_runs/train.txt
$G --train_lines 200 --val_lines 20 --train_out "$T/d/train.txt" --val_out "$T/d/val.txt" --cost_per_hour 3.6 >/dev/null
for f in _run_tracker/heartbeat.json _run_tracker/events.jsonl _run_tracker/artifacts.json run_record.json config_resolved.yaml env.json git.json provenance.json logs/stdout.log; do
    [ -s "$R/$f" ] || fail "contract_$f" "missing"
done
pass run_dir_contract_files
python3 - "$R" <<'P' && pass heartbeat_and_record_fields || fail heartbeat_and_record_fields "see above"
import json, sys
r = sys.argv[1]
hb = json.load(open(r + "/_run_tracker/heartbeat.json"))
need = "phase status step total_steps progress eta_sec reason resumed_from current_unit pid host updated_at".split()
missing = [k for k in need if k not in hb]
assert not missing, missing
assert hb["status"] == "completed" and hb["step"] == hb["total_steps"] == 220, hb
rec = json.load(open(r + "/run_record.json"))
for k in "argv status start end duration_sec hardware cost".split():
    assert k in rec, k
assert rec["cost"]["cost_per_hour"] == 3.6 and rec["cost"]["estimate_usd"] >= 0
ev = [json.loads(l)["event"] for l in open(r + "/_run_tracker/events.jsonl")]
assert ev[0] == "start" and ev[-1] == "complete", ev
env = json.load(open(r + "/env.json"))
assert "libyaml" in env["libraries"] and env["hardware"]["cores"] >= 1
P
# config_resolved.yaml is itself a config: rerunning from it resolves the same values.
$G --config "$R/config_resolved.yaml" --train_out "$T/e/train.txt" --val_out "$T/e/val.txt" >/dev/null
diff <(grep -v train_out "$R/config_resolved.yaml" | grep -v val_out | grep -v '^#') \
     <(grep -v train_out "$T/e/_runs/train.txt/config_resolved.yaml" | grep -v val_out | grep -v '^#') >/dev/null \
  && cmp -s "$T/d/train.txt" "$T/e/train.txt" && pass resolved_config_reproduces || fail resolved_config_reproduces "differs"

# Pause by file: ack written, request consumed, status paused, exit 75; rerun completes.
P=$T/p/_runs/train.txt
mkdir -p "$P/control" && touch "$P/control/pause.request"
$G --train_lines 100000 --val_lines 10 --train_out "$T/p/train.txt" --val_out "$T/p/val.txt" >"$T/pause.out" 2>&1
rc=$?
[ $rc -eq 75 ] && [ -f "$P/control/pause_ack.json" ] && [ ! -e "$P/control/pause.request" ] \
  && grep -q '"status": "paused"' "$P/_run_tracker/heartbeat.json" && [ ! -e "$T/p/train.txt" ] \
  && pass pause_request_file || fail pause_request_file "rc=$rc $(cat "$T/pause.out")"
grep -q '"event":"pause"' "$P/_run_tracker/events.jsonl" && pass pause_event || fail pause_event "$(cat "$P/_run_tracker/events.jsonl")"
grep -q "paused at step" "$P/logs/stdout.log" && pass stdout_log_copy || fail stdout_log_copy "no pause line in logs/stdout.log"
$G --train_lines 100000 --val_lines 10 --train_out "$T/p/train.txt" --val_out "$T/p/val.txt" >/dev/null 2>&1
[ $? -eq 0 ] && [ "$(wc -l <"$T/p/train.txt")" -eq 100000 ] && grep -q '"status": "completed"' "$P/_run_tracker/heartbeat.json" \
  && pass resume_after_pause_completes || fail resume_after_pause_completes "did not complete"

# Pause by SIGINT (Ctrl+C): graceful, exit 75.
# Held (control/hold) past line 8192, so the signal comes mid-run, never before the handler.
hold_at "$T/s/_runs/train.txt" 8192
$G --train_lines 50000 --val_lines 10 --train_out "$T/s/train.txt" --val_out "$T/s/val.txt" >"$T/sig.out" 2>&1 &
pid=$!
wait_held "$T/s/_runs/train.txt" $pid
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 75 ] && grep -q '"status": "paused"' "$T/s/_runs/train.txt/_run_tracker/heartbeat.json" \
  && grep -q '"reason": "signal"' "$T/s/_runs/train.txt/control/pause_ack.json" && pass pause_on_sigint || fail pause_on_sigint "rc=$rc"

# Temporaries of a killed writer beside a plain output (outside the run dir) go when the run starts.
touch "$T/d/train.txt.tmp.4242" "$T/d/val.txt.tmp.4243" "$T/d/other.txt.tmp.4244"
$G --train_lines 200 --val_lines 20 --train_out "$T/d/train.txt" --val_out "$T/d/val.txt" --cost_per_hour 3.6 >/dev/null
[ ! -e "$T/d/train.txt.tmp.4242" ] && [ ! -e "$T/d/val.txt.tmp.4243" ] && [ -e "$T/d/other.txt.tmp.4244" ] \
  && pass output_temps_cleared_at_start || fail output_temps_cleared_at_start "$(ls "$T/d")"

# control/hold: the run waits once its progress reaches the step named, says so
# (hold_ack.json, a hold event, fresh heartbeats), and goes on when the file goes.
H=$T/h/_runs/train.txt
hold_at "$H" 8192
$G --train_lines 20000 --val_lines 10 --train_out "$T/h/train.txt" --val_out "$T/h/val.txt" >"$T/hold.out" 2>&1 &
pid=$!
wait_held "$H" $pid; held=$?
step=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step'])" "$H/control/hold_ack.json" 2>/dev/null)
[ $held -eq 0 ] && [ "$step" -ge 8192 ] && [ "$step" -lt 20010 ] && kill -0 $pid && [ ! -e "$T/h/train.txt" ] \
  && pass hold_waits_at_step || fail hold_waits_at_step "held=$held step=$step"
release "$H"
wait $pid; rc=$?
[ $rc -eq 0 ] && [ "$(wc -l <"$T/h/train.txt")" -eq 20000 ] && [ ! -e "$H/control/hold_ack.json" ] \
  && grep -q '"event":"hold"' "$H/_run_tracker/events.jsonl" && grep -q '"event":"release"' "$H/_run_tracker/events.jsonl" \
  && pass hold_release_completes || fail hold_release_completes "rc=$rc $(cat "$T/hold.out")"
# A pause request ends a hold with a pause; a stale hold_ack.json of a killed run is cleared at start.
H2=$T/h2/_runs/train.txt
hold_at "$H2" 0
echo '{"stale": 1}' >"$H2/control/hold_ack.json"
$G --train_lines 20000 --val_lines 10 --train_out "$T/h2/train.txt" --val_out "$T/h2/val.txt" >"$T/hold2.out" 2>&1 &
pid=$!
for i in $(seq 1 12000); do grep -qs '"held_at"' "$H2/control/hold_ack.json" && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
touch "$H2/control/pause.request"
wait $pid; rc=$?
[ $rc -eq 75 ] && [ -e "$H2/control/hold" ] && [ ! -e "$H2/control/hold_ack.json" ] \
  && pass hold_ended_by_pause || fail hold_ended_by_pause "rc=$rc $(cat "$T/hold2.out")"

# watch: a progress line for one run, a table for a root, and crashed detection.
$BIN/watch --run_dir "$R" >"$T/w1" && grep -q "completed" "$T/w1" && grep -q "100.0%" "$T/w1" && pass watch_run_dir || fail watch_run_dir "$(cat "$T/w1")"
$BIN/watch --run_dir "$P" --follow --stop_on_terminal --interval 0.1 --wait 0 >"$T/w2" && grep -q completed "$T/w2" \
  && pass watch_follow_stops_on_terminal || fail watch_follow_stops_on_terminal "$(cat "$T/w2")"
$BIN/watch --root "$T" >"$T/w3" && [ "$(grep -c '_runs/train.txt' "$T/w3")" -ge 3 ] && pass watch_root_table || fail watch_root_table "$(cat "$T/w3")"
# --follow on a run dir that does not exist yet waits for it; a terminal heartbeat older
# than the watch (an earlier run's) does not stop it: the restarted run's end does.
W=$T/w/_runs/train.txt
$BIN/watch --run_dir "$W" --follow --stop_on_terminal --interval 0.05 >"$T/w5" 2>&1 &
wpid=$!
hold_at "$W" 0
$G --train_lines 20000 --val_lines 10 --train_out "$T/w/train.txt" --val_out "$T/w/val.txt" >/dev/null 2>&1 &
gpid=$!
wait_held "$W" $gpid
for i in $(seq 1 12000); do grep -q running "$T/w5" && break; kill -0 $wpid 2>/dev/null || break; sleep 0.05; done
release "$W"
wait $gpid; wait $wpid; rc=$?
[ $rc -eq 0 ] && grep -q running "$T/w5" && tail -c 300 "$T/w5" | grep -q completed && pass watch_follow_waits_for_new_run \
  || fail watch_follow_waits_for_new_run "rc=$rc $(tail -c 300 "$T/w5")"
python3 - "$W/_run_tracker/heartbeat.json" <<'PY'
import json, sys
hb = json.load(open(sys.argv[1]))
hb["updated_at"] = "2020-01-01T00:00:00Z"     # an earlier run's, long finished
json.dump(hb, open(sys.argv[1], "w"))
PY
: >"$T/w6"
$BIN/watch --run_dir "$W" --follow --stop_on_terminal --interval 0.05 >"$T/w6" 2>&1 &
wpid=$!
for i in $(seq 1 12000); do grep -q completed "$T/w6" && break; sleep 0.05; done   # it has seen the old heartbeat
hold_at "$W" 0
$G --train_lines 20000 --val_lines 10 --train_out "$T/w/train.txt" --val_out "$T/w/val.txt" --force >/dev/null 2>&1 &
gpid=$!
wait_held "$W" $gpid
for i in $(seq 1 12000); do grep -q running "$T/w6" && break; kill -0 $wpid 2>/dev/null || break; sleep 0.05; done
kill -0 $wpid 2>/dev/null && pass watch_ignores_old_terminal_heartbeat || fail watch_ignores_old_terminal_heartbeat "it stopped on the old heartbeat"
release "$W"
wait $gpid; wait $wpid; rc=$?
[ $rc -eq 0 ] && grep -q running "$T/w6" && pass watch_stops_on_restarted_run || fail watch_stops_on_restarted_run "rc=$rc $(tail -c 300 "$T/w6")"
$BIN/watch --run_dir "$T/p/_runs/train.txt" >/dev/null && expect_err watch_missing_dir_follow 2 "nowhere2: no such run directory \(waited" \
  $BIN/watch --run_dir "$T/nowhere2" --follow --wait 0

C=$T/crash
mkdir -p "$C/_run_tracker"
cat >"$C/_run_tracker/heartbeat.json" <<J
{"tool": "x", "phase": "x", "status": "running", "step": 5, "total_steps": 10, "progress": 0.5, "eta_sec": 10,
 "pid": 999999, "host": "$(hostname)", "updated_at": "2020-01-01T00:00:00Z"}
J
$BIN/watch --run_dir "$C" >"$T/w4" && grep -q crashed "$T/w4" && pass watch_detects_crashed || fail watch_detects_crashed "$(cat "$T/w4")"
expect_err watch_missing_dir 2 "nowhere: no such run directory" $BIN/watch --run_dir "$T/nowhere"
