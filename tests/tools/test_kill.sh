# kill -9 at any instant, then the same command, gives the same artifacts: each trial
# kills the whole process group of `make phase-F` (as the OOM killer, a lost node or a
# Slurm time limit would) twice at random instants, runs the same command to the end,
# and compares every deterministic artifact with an uninterrupted run's
# (tests/kill/compare.py names what it leaves out). The config is ci with
# adapter_every 1, so TTT saves its mid-task state and its resume is exercised too.
# KILL_TRIALS trials (5; `make test-kill` runs 20), kill instants drawn from KILL_SEED
# (printed, so a failing trial can be replayed). The instants are the test's input;
# no verdict depends on when a kill landed.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
N=${KILL_TRIALS:-5}
SEED=${KILL_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
echo "kill seed $SEED ($N trials)"
mkdir -p "$T/cfg"; sed 's/^  adapter_every: 2$/  adapter_every: 1/' configs/ci.yaml >"$T/cfg/ci.yaml"
grep -q "^  adapter_every: 1$" "$T/cfg/ci.yaml" || { fail kill_config "ci.yaml has no 'adapter_every: 2' line to change"; exit 1; }
W=$T/work    # every run writes here, so the paths recorded inside artifacts agree
M="make --no-print-directory CONFIG=$T/cfg/ci.yaml OUT_ROOT=$W"

t0=$(date +%s%N)
$M phase-F >"$T/ref.log" 2>&1 || { fail kill_reference_run "$(tail -5 "$T/ref.log")"; exit 1; }
dur_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
mv "$W" "$T/ref"
echo "uninterrupted phase-F: $dur_ms ms"

for trial in $(seq 1 "$N"); do
    at=""
    for k in 1 2; do
        ms=$(( (RANDOM * 32768 + RANDOM) % dur_ms ))
        setsid $M phase-F >>"$T/trial.log" 2>&1 &
        pg=$!
        sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
        kill -9 -- -"$pg" 2>/dev/null
        wait "$pg" 2>/dev/null
        at="$at ${ms}ms"
    done
    $M phase-F >"$T/final.log" 2>&1; rc=$?
    if [ $rc -ne 0 ]; then
        fail "kill_trial_$trial" "kills at$at: the rerun exited $rc: $(tail -3 "$T/final.log")"
    elif ! python3 tests/kill/compare.py "$T/ref/ci" "$W/ci" >"$T/cmp.log" 2>&1; then
        fail "kill_trial_$trial" "kills at$at: $(head -5 "$T/cmp.log" | tr '\n' ';') $(tail -1 "$T/cmp.log")"
    elif ! $M -q phase-F 2>/dev/null; then
        fail "kill_trial_$trial" "kills at$at: make -q says work remains after the rerun"
    else
        pass "kill_trial_$trial (kills at$at; $(tail -1 "$T/cmp.log"))"
    fi
    rm -rf "$W" "$T/trial.log"
done
