# Ctrl+C of `make phase-F` (SIGINT to the whole process group, as a terminal
# sends it): the running tool pauses with a checkpoint, make deletes nothing,
# and the same command finishes the job, resuming the paused run.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p "$T/cfg"; cp configs/ci.yaml "$T/cfg/ci.yaml"
M="make --no-print-directory CONFIG=$T/cfg/ci.yaml OUT_ROOT=$T/out"
R=$T/out/ci/runs
# The base pretrain waits after step 10 (its first checkpoint) (control/hold) until the Ctrl+C has come.
hold_at "$R/pretrain_base" 10
setsid $M phase-F >"$T/c1" 2>&1 &
mk=$!
wait_held "$R/pretrain_base" $mk
kill -INT -- -"$mk"
wait $mk; rc1=$?
release "$R/pretrain_base"
ok=1
for f in data/raw/train.txt data/packed/train.bin data/tokenizer/bpe300.model; do [ -s "$T/out/ci/$f" ] || { ok=0; echo "deleted $f"; }; done
[ -L "$R/pretrain_base/ckpt_latest" ] && grep -q '"status": "paused"' "$R/pretrain_base/run_record.json" || ok=0
[ $rc1 -ne 0 ] && [ $ok = 1 ] && pass ctrl_c_pauses_and_deletes_nothing || fail ctrl_c_pauses_and_deletes_nothing "rc=$rc1 $(tail -3 "$T/c1")"
$M phase-F >"$T/c2" 2>&1; rc2=$?
[ $rc2 -eq 0 ] && grep -q "resuming from" "$R/pretrain_base/logs/stdout.log" && ! grep -q "bin/gen-corpus" "$T/c2" \
  && pass rerun_after_ctrl_c_finishes || fail rerun_after_ctrl_c_finishes "rc=$rc2 $(tail -3 "$T/c2")"
