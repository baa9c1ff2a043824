# make -k phase-F keeps going past a failed branch (here one suite run whose run
# dir is blocked by a file), reports it, and a rerun after the fix finishes.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
M="make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT=$T/out"
R=$T/out/ci/runs
mkdir -p "$R/suite" && echo "not a directory" >"$R/suite/ttt_kl0_seed0"
$M -k phase-F >"$T/k1" 2>&1; rc=$?
[ $rc -ne 0 ] && grep -q "ttt_kl0_seed0/.complete\] Error" "$T/k1" && [ -s "$R/suite/ttt_expected_seed0/summary.jsonl" ] \
  && [ -s "$R/suite/retention_ppl.json" ] && [ ! -e "$T/out/ci/paper/.complete" ] \
  && pass make_k_continues_past_failed_branch || fail make_k_continues_past_failed_branch "rc=$rc $(grep -i error "$T/k1" | head -3)"
rm "$R/suite/ttt_kl0_seed0"
$M phase-F >"$T/k2" 2>&1 && [ -s "$R/suite/ttt_kl0_seed0/summary.jsonl" ] && ! grep -q "bin/pretrain" "$T/k2" \
  && pass rerun_after_fix_finishes || fail rerun_after_fix_finishes "$(tail -3 "$T/k2")"
