# Short libFuzzer runs (ASan + UBSan) of the parsers: the YAML config loader, the
# safetensors reader, the token-bin reader (ids below the vocab) and
# the tokenizer-model reader. A longer run by hand: make fuzz FUZZ_SECONDS=600
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
if ! command -v clang >/dev/null; then fail fuzz_toolchain "clang missing: run make deps"; exit 1; fi
make --no-print-directory fuzz FUZZ_SECONDS=${FUZZ_SECONDS:-15} >"$T/fuzz.log" 2>&1
rc=$?
grep -E '^(PASS|FAIL)|ERROR|error' "$T/fuzz.log"
[ $rc -eq 0 ] || fail fuzz_build_or_run "make fuzz exited $rc: $(tail -3 "$T/fuzz.log")"
