# The GPU parity program (tests/cuda/parity.c) checked on any machine: against the
# guarded CPU device its two sides run the same kernels, so every comparison must
# pass. A harness bug (a bad buffer size, a double free, a wrong comparison) shows
# here, before a GPU session spends its device time on it.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory -s build/cuda-tests/parity >"$T/build.log" 2>&1 || { fail parity_builds "$(tail -3 "$T/build.log")"; exit 1; }
build/cuda-tests/parity --device cpu-guarded --curve_steps 10 >"$T/parity.log" 2>&1; rc=$?
n=$(grep -c '^PASS' "$T/parity.log")
[ $rc -eq 0 ] && [ "$n" -ge 70 ] && ! grep -q '^FAIL' "$T/parity.log" \
  && pass "parity_self_check_${n}_comparisons" || fail parity_self_check "rc=$rc, $n passed: $(grep -m3 -v '^PASS' "$T/parity.log")"
grep -q 'curve worst rel diff 0,' "$T/parity.log" && pass parity_curve_identical_on_same_kernels || fail parity_curve_identical_on_same_kernels "$(grep INFO "$T/parity.log")"
