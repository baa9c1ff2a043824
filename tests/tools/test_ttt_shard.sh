# The discovery suite split with --shard i/n: two shards run side by side on one
# out_root give the summary and adapters of one unsharded run; --merge 1 rebuilds
# the summary without sampling and names a missing task; bad --shard values exit 2.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-B >"$T/b" 2>&1 || { fail phase_b_for_ttt_shard "$(tail -3 "$T/b")"; exit 1; }
O=$T/out/ci
$BIN/gen-tasks --seed 0 --n_train 3 --n_heldout 4 --max_difficulty 2 --out_train "$T/tr.jsonl" --out_heldout "$T/he.jsonl" >/dev/null
S() { $BIN/ttt --tasks "$T/he.jsonl" --ckpt "$O/runs/pretrain_base/ckpt_latest" --tokenizer "$O/data/tokenizer/bpe300.model" \
        --mode ttt --ttt_steps 3 --rollouts 4 --max_new_tokens 8 --lora_rank 4 --lr 1e-3 --adapter_every 2 --threads 2 "$@"; }
strip() { python3 -c "import json,sys; [print(json.dumps({k:v for k,v in json.loads(l).items() if k!='seconds'}, sort_keys=True)) for l in open(sys.argv[1])]" "$1"; }
ids=$(python3 -c "import json,sys; [print(json.loads(l)['id']) for l in open(sys.argv[1])]" "$T/he.jsonl")

S --out_root "$T/one" >"$T/l1" 2>&1 || { fail ttt_unsharded_runs "$(tail -3 "$T/l1")"; exit 1; }

# Two shards at once on one out_root: each its own run dir and lock, every task once.
S --out_root "$T/sh" --shard 0/2 >"$T/s0" 2>&1 & p0=$!
S --out_root "$T/sh" --shard 1/2 >"$T/s1" 2>&1 & p1=$!
wait $p0; r0=$?; wait $p1; r1=$?
[ $r0 -eq 0 ] && [ $r1 -eq 0 ] && [ -f "$T/sh/_shards/0_of_2/run_record.json" ] && [ -f "$T/sh/_shards/1_of_2/run_record.json" ] \
  && [ ! -e "$T/sh/run_record.json" ] && pass ttt_shards_run_side_by_side || fail ttt_shards_run_side_by_side "rc=$r0,$r1 $(tail -2 "$T/s0") $(tail -2 "$T/s1")"
python3 - "$T/sh" "$T/he.jsonl" <<'PY' && pass ttt_shard_takes_every_nth_task || fail ttt_shard_takes_every_nth_task "see above"
import json, sys, os
root, tasks = sys.argv[1], [json.loads(l)["id"] for l in open(sys.argv[2])]
for i in range(2):
    arts = json.load(open(os.path.join(root, "_shards", "%d_of_2" % i, "_run_tracker", "artifacts.json")))
    mine = sorted(os.path.normpath(a["path"]).split("/")[-2] for a in arts["required"])
    assert mine == sorted(tasks[i::2]) and arts["missing"] == 0, (i, mine, arts)
PY
[ -f "$T/sh/summary.jsonl" ] && diff <(strip "$T/one/summary.jsonl") <(strip "$T/sh/summary.jsonl") >/dev/null \
  && pass ttt_sharded_summary_matches_unsharded || fail ttt_sharded_summary_matches_unsharded "$(ls "$T/sh")"
ok=1
for id in $ids; do for f in adapter_step_2/lora.safetensors adapter_step_3/lora.safetensors metrics.jsonl; do
    cmp -s "$T/one/$id/$f" "$T/sh/$id/$f" || { ok=0; echo "differs: $id/$f"; }
done; done
[ $ok -eq 1 ] && pass ttt_sharded_adapters_identical || fail ttt_sharded_adapters_identical "see above"
S --out_root "$T/sh" --shard 1/2 >"$T/s2" 2>&1 && grep -q "nothing to do" "$T/s2" && pass ttt_completed_shard_is_noop || fail ttt_completed_shard_is_noop "$(cat "$T/s2")"

# One shard alone: its tasks only, no summary, says what remains.
S --out_root "$T/half" --shard 0/2 >"$T/h0" 2>&1; rc=$?
[ $rc -eq 0 ] && [ ! -e "$T/half/summary.jsonl" ] && grep -q "2 of 4 suite tasks remain" "$T/h0" \
  && [ "$(ls "$T"/half/*/result.json | wc -l)" -eq 2 ] && pass ttt_lone_shard_leaves_summary || fail ttt_lone_shard_leaves_summary "rc=$rc $(tail -2 "$T/h0")"

# --merge 1: rebuilds the summary from result.json alone; names the first missing task.
rm "$T/sh/summary.jsonl"
S --out_root "$T/sh" --merge 1 >"$T/m1" 2>&1 && diff <(strip "$T/one/summary.jsonl") <(strip "$T/sh/summary.jsonl") >/dev/null \
  && pass ttt_merge_rebuilds_summary || fail ttt_merge_rebuilds_summary "$(tail -2 "$T/m1")"
second=$(echo "$ids" | sed -n 2p)
expect_err ttt_merge_names_missing_task 2 "$second/result.json: missing \(2 of 4" S --out_root "$T/half" --merge 1

# Bad --shard: one line, exit 2.
for bad in 2/2 -1/2 0/0 1 a/b 1/2x; do
    expect_err "ttt_bad_shard_${bad//\//_of_}" 2 "shard: '$bad': expected i/n" S --out_root "$T/x" --shard "$bad"
done
expect_err ttt_shard_no_resume_refused 2 "shard: --no-resume" S --out_root "$T/x" --shard 0/2 --no-resume
