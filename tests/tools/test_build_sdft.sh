# build-sdft (D2) on a real ci suite run: every task with --min_reward 0 and the
# line fields, the empty-but-successful result when no task passes, the demo
# file read back by lib/data/sdftdata's strict loader, and bad input (one line, exit 2,
# the existing output untouched).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-C >"$T/c" 2>&1 || { fail phase_c_for_build_sdft "$(tail -3 "$T/c")"; exit 1; }
O=$T/out/ci
SUITE=$O/runs/suite/ttt_train_seed0
TASKS=$O/data/discovery/train.jsonl
B() { $BIN/build-sdft --suite_root "$SUITE" --tasks_jsonl "$TASKS" "$@"; }

B --out_jsonl "$T/all/demos.jsonl" --min_reward 0 >"$T/l1" 2>&1 && pass build_sdft_runs || { fail build_sdft_runs "$(tail -3 "$T/l1")"; exit 1; }
n=$(wc -l <"$TASKS")
grep -q "$n of $n tasks reach min_reward 0" "$T/l1" && pass build_sdft_reports_count || fail build_sdft_reports_count "$(cat "$T/l1")"
python3 - "$T/all/demos.jsonl" "$TASKS" "$SUITE" <<'PY' && pass build_sdft_line_fields || fail build_sdft_line_fields "see above"
import json, os, sys
demos = [json.loads(l) for l in open(sys.argv[1])]
tasks = [json.loads(l) for l in open(sys.argv[2])]
assert [d["task_id"] for d in demos] == [t["id"] for t in tasks], demos
for d, t in zip(demos, tasks):
    assert list(d) == ["task_id", "family", "prompt", "demonstration", "reward", "source_run"], list(d)
    res = json.load(open(os.path.join(sys.argv[3], t["id"], "result.json")))
    assert d["family"] == t["family"] and d["prompt"] == t["prompt"], (d, t)
    assert d["demonstration"] == res["best_solution"] and d["reward"] == res["best_reward"], (d, res)
    assert d["source_run"] == sys.argv[3]
PY
[ -f "$T/all/_runs/demos.jsonl/run_record.json" ] && grep -q '"completed"' "$T/all/_runs/demos.jsonl/run_record.json" \
  && pass build_sdft_run_dir || fail build_sdft_run_dir "no completed run record"

# No task passing: an empty file, a warning, exit 0.
B --out_jsonl "$T/none/demos.jsonl" --min_reward 1.0 >"$T/l2" 2>"$T/e2"; rc=$?
[ $rc -eq 0 ] && [ -f "$T/none/demos.jsonl" ] && [ ! -s "$T/none/demos.jsonl" ] && grep -q "warning: no task" "$T/e2" \
  && grep -q "0 of $n tasks reach min_reward 1" "$T/l2" && pass build_sdft_none_passing_empty_file_warns \
  || fail build_sdft_none_passing_empty_file_warns "rc=$rc $(cat "$T/e2")"

# The strict loader (lib/data/sdftdata) reads the file back; malformed demo files are refused with path:line.
cat >"$T/rd.c" <<'C'
#include "sdftdata.h"
#include <stdio.h>
int main(int argc, char** argv) {
    char err[ERR_LEN]; Demo* d;
    long n = sdft_demos_load(argv[1], &d, err);
    if (n < 0) { printf("ERR %s\n", err); return 2; }
    printf("OK %ld\n", n);
    if (n > 0 && sdft_demos_write(argv[2], d, n, err)) { printf("ERR %s\n", err); return 1; }
    sdft_demos_free(d, n);
    return 0;
}
C
if gcc -std=c11 -D_GNU_SOURCE $(for d in lib/*/; do printf -- "-I%s " "$d"; done) "$T/rd.c" build/libdd.a -fopenmp -ljansson -lyaml -lpng -lcrypto -lxsmm -ldl \
       -L/usr/lib/x86_64-linux-gnu/openblas-openmp -l:libopenblas.so.0 -lm -o "$T/rd" 2>"$T/cc"; then
    [ "$("$T/rd" "$T/all/demos.jsonl" "$T/rt.jsonl")" = "OK $n" ] && cmp -s "$T/all/demos.jsonl" "$T/rt.jsonl" \
      && pass sdft_demos_load_roundtrip || fail sdft_demos_load_roundtrip "$("$T/rd" "$T/all/demos.jsonl" "$T/rt.jsonl")"
    [ "$("$T/rd" "$T/none/demos.jsonl" /dev/null)" = "OK 0" ] && pass sdft_demos_load_empty_is_zero || fail sdft_demos_load_empty_is_zero "not OK 0"
    line1=$(head -1 "$T/all/demos.jsonl")
    bad() { local name=$1 pat=$2; printf '%s\n%s\n' "$line1" "$3" >"$T/bad.jsonl"
        out=$("$T/rd" "$T/bad.jsonl" /dev/null); echo "$out" | grep -qE -- "^ERR .*bad.jsonl:2: $pat" && pass "$name" || fail "$name" "$out"; }
    bad sdft_demos_invalid_json "invalid JSON" '{"task_id": '
    bad sdft_demos_missing_key "missing key 'reward'" '{"task_id":"x","family":"reach","prompt":"p :","demonstration":"d","source_run":"r"}'
    bad sdft_demos_wrong_type "'reward' must be a number" '{"task_id":"x","family":"reach","prompt":"p :","demonstration":"d","reward":"1","source_run":"r"}'
    bad sdft_demos_unknown_key "unknown key 'extra'" '{"task_id":"x","family":"reach","prompt":"p :","demonstration":"d","reward":1,"source_run":"r","extra":0}'
    bad sdft_demos_duplicate_id "duplicate task_id" "$line1"
else fail sdft_demos_reader_builds "$(head -5 "$T/cc")"; fi

# Bad input: one line naming the file, exit 2, the existing output untouched.
cp "$T/all/demos.jsonl" "$T/keep.jsonl"
X() { B --out_jsonl "$T/all/demos.jsonl" --min_reward 0 "$@"; }
expect_err build_sdft_missing_suite_root 2 "nosuite: suite root not found" X --suite_root "$T/nosuite"
cp -r "$SUITE" "$T/s1"
first=$(head -1 "$TASKS" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
rm "$T/s1/$first/result.json"
expect_err build_sdft_task_without_result 2 "task $first has no result.json" X --suite_root "$T/s1"
cp -r "$SUITE" "$T/s2"; echo '{"task_id": ' >"$T/s2/$first/result.json"
expect_err build_sdft_malformed_result 2 "s2/$first/result.json:" X --suite_root "$T/s2"
cp -r "$SUITE" "$T/s3"; echo "{\"task_id\": \"$first\", \"best_reward\": \"1\", \"best_solution\": \"x\"}" >"$T/s3/$first/result.json"
expect_err build_sdft_result_wrong_type 2 "s3/$first/result.json: expected an object" X --suite_root "$T/s3"
printf '{"id": "x", "family": "reach"}\n' >"$T/badtasks.jsonl"
expect_err build_sdft_malformed_tasks 2 "badtasks.jsonl:1:" X --tasks_jsonl "$T/badtasks.jsonl"
expect_err build_sdft_min_reward_range 2 "min_reward" X --min_reward 1.5
cmp -s "$T/all/demos.jsonl" "$T/keep.jsonl" && pass build_sdft_bad_input_leaves_output || fail build_sdft_bad_input_leaves_output "demos.jsonl changed"
