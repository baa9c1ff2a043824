# Phase B through Make on configs/ci.yaml: both pretrain runs (mHC on and off),
# make check, idempotence, touch vs content change of an expensive run's input
# (reported, redone only with FORCE=1, old run moved to .trash/).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p "$T/cfg"; cp configs/ci.yaml "$T/cfg/ci.yaml"
M="make --no-print-directory CONFIG=$T/cfg/ci.yaml OUT_ROOT=$T/out"
R=$T/out/ci/runs
$M phase-B >"$T/b1" 2>&1 && pass make_phase_b || { fail make_phase_b "$(tail -5 "$T/b1")"; exit 1; }
grep -q '"n": 4' "$R/pretrain_base/model_config.json" && grep -q '"n": 0' "$R/pretrain_nomhc/model_config.json" \
  && pass phase_b_runs_mhc_on_and_off || fail phase_b_runs_mhc_on_and_off "model configs"
$M check PHASES=AB >"$T/c" 2>&1 && grep -q " 0 missing" "$T/c" && pass make_check_phase_b || fail make_check_phase_b "$(tail -3 "$T/c")"
$M phase-B >"$T/b2" 2>&1; grep -q "Nothing to be done" "$T/b2" && pass second_make_phase_b_does_nothing || fail second_make_phase_b_does_nothing "$(cat "$T/b2")"
touch -d "@$(( $(stat -c %Y "$T/out/ci/data/packed/train.bin") + 2 ))" "$T/out/ci/data/packed/train.bin"   # a later mtime, no sleep
$M phase-B >"$T/b3" 2>&1; ! grep -q "bin/pretrain" "$T/b3" && pass touch_does_not_retrain || fail touch_does_not_retrain "$(cat "$T/b3")"
sed -i 's/  lr: 3.0e-3/  lr: 2.0e-3/' "$T/cfg/ci.yaml"
if $M phase-B >"$T/b4" 2>&1; then fail changed_settings_reported "make succeeded"; else
    grep -q "pretrain_base: completed with lr 0.003; now 0.002 — FORCE=1 to redo it" "$T/b4" && pass changed_settings_reported || fail changed_settings_reported "$(tail -3 "$T/b4")"; fi
$M phase-B FORCE=1 >"$T/b5" 2>&1 && ls -d "$R"/.trash/*/pretrain_base >/dev/null 2>&1 && grep -q '"lr": 0.002' "$R/pretrain_base/pretrain_config.json" \
  && pass force_redoes_and_keeps_old || fail force_redoes_and_keeps_old "$(tail -3 "$T/b5")"

# make pause asks every live run of the config to pause; the run checkpoints and exits 75.
# The run is held after its first step (control/hold), so it is live when make pause looks.
hold_at "$R/long" 1
$BIN/pretrain --config "$T/cfg/ci.yaml" --train_bin "$T/out/ci/data/packed/train.bin" --val_bin "$T/out/ci/data/packed/val.bin" \
    --model configs/model/tiny.yaml --out "$R/long" --steps 100000 --seq_len 32 >"$T/long.log" 2>&1 &
pid=$!
wait_held "$R/long" $pid
$M pause >"$T/pause" 2>&1
wait $pid; rc=$?
[ $rc -eq 75 ] && grep -q "pause requested: $R/long" "$T/pause" && [ -L "$R/long/ckpt_latest" ] && pass make_pause || fail make_pause "rc=$rc $(cat "$T/pause")"
