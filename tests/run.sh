#!/usr/bin/env bash
# The test runner behind `make test`: every unit program (build/tests/test_*),
# every tool test (tests/tools/test_*.sh), the Hugging Face cross-check and short
# fuzz runs. Each prints "PASS name" / "FAIL name: why" lines; a program that
# exits non-zero without a FAIL line counts as one failure. Ends with
# "N passed, N failed". TEST_FILTER=substring runs a subset.
set -u
cd "$(dirname "$0")/.."
pass=0; fail=0; failed=()
log=$(mktemp -d)
run_one() {
    local name=$1; shift
    local out="$log/$(echo "$name" | tr '/ ' '__').log"
    local t0=$SECONDS
    "$@" >"$out" 2>&1
    local rc=$?
    local p f
    p=$(grep -c '^PASS ' "$out"); f=$(grep -c '^FAIL ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL $name: exited $rc" >>"$out"; fi
    pass=$((pass + p)); fail=$((fail + f))
    printf '%-44s %3d passed %3d failed  %3ds\n' "$name" "$p" "$f" $((SECONDS - t0))
    if [ "$f" -gt 0 ]; then failed+=("$name"); grep '^FAIL ' "$out" | sed 's/^/    /'; tail -n 15 "$out" | sed 's/^/    | /'; fi
}
filter=${TEST_FILTER:-}
for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    [[ -z "$filter" || "$t" == *"$filter"* ]] || continue
    run_one "$t" "$t"
done
for t in tests/tools/test_*.sh; do
    [[ -z "$filter" || "$t" == *"$filter"* ]] || continue
    run_one "$t" bash "$t"
done
echo
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
rm -rf "$log"
[ "$fail" -eq 0 ]
