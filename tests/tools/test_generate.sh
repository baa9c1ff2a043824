# generate: what a model writes, from a real ci checkpoint. Completions are deterministic
# per seed, independent of the thread count and of how many are drawn (completion i draws
# from stream i); a task's prompt is scored by its verifier; a zero adapter (ttt at lr 0)
# changes nothing and a trained one is applied; bad input is one line and exit 2.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-B >"$T/b" 2>&1 || { fail phase_b_for_generate "$(tail -3 "$T/b")"; exit 1; }
O=$T/out/ci
CK=$O/runs/pretrain_base/ckpt_latest
TK=$O/data/tokenizer/bpe300.model
G() { $BIN/generate --ckpt "$CK" --tokenizer "$TK" --max_new_tokens 12 "$@"; }
G --prompt "order ascending 5 3 9 :" --num_samples 4 --seed 7 >"$T/g1" 2>"$T/e1"; rc=$?
[ $rc -eq 0 ] && head -1 "$T/g1" | grep -q "^prompt ([0-9]* tokens): order ascending 5 3 9 :$" && [ "$(grep -c '^\[[0-3]\]' "$T/g1")" -eq 4 ] \
  && pass generate_prompt || fail generate_prompt "rc=$rc $(cat "$T/g1" "$T/e1")"
G --prompt "order ascending 5 3 9 :" --num_samples 4 --seed 7 --threads 1 >"$T/g2" 2>&1
cmp -s "$T/g1" "$T/g2" && pass generate_deterministic_any_threads || fail generate_deterministic_any_threads "$(diff "$T/g1" "$T/g2")"
G --prompt "order ascending 5 3 9 :" --num_samples 4 --seed 8 >"$T/g3" 2>&1
! cmp -s "$T/g1" "$T/g3" && pass generate_seed_matters || fail generate_seed_matters "seed 7 and 8 wrote the same"
# completion i is the same whether 2 or 4 are drawn
G --prompt "order ascending 5 3 9 :" --num_samples 2 --seed 7 --json 1 >"$T/j2" 2>&1
G --prompt "order ascending 5 3 9 :" --num_samples 4 --seed 7 --json 1 >"$T/j4" 2>&1
python3 - "$T/j2" "$T/j4" <<'PY' && pass generate_json_streams || fail generate_json_streams "see above"
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == 2 and len(b) == 4, (len(a), len(b))
assert a == b[:2], (a, b[:2])
for r in b:
    assert set(r) == {"sample", "prompt", "completion", "tokens", "stopped"}, r
    assert 1 <= r["tokens"] <= 12 and r["prompt"] == "order ascending 5 3 9 :"
    assert r["stopped"] or r["tokens"] == 12
PY
# a task: its prompt, each completion with the verifier's score
$BIN/gen-tasks --seed 0 --n_train 0 --n_heldout 3 --max_difficulty 2 --out_train "$T/tr.jsonl" --out_heldout "$T/he.jsonl" >/dev/null
task=$(head -1 "$T/he.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
prompt=$(head -1 "$T/he.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['prompt'])")
G --tasks "$T/he.jsonl" --task_id "$task" --num_samples 3 --json 1 >"$T/jt" 2>&1
python3 - "$T/jt" "$prompt" <<'PY' && pass generate_task_scored || fail generate_task_scored "$(cat "$T/jt")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 3 and all(r["prompt"] == sys.argv[2] and 0 <= r["score"] <= 1 for r in rows), rows
PY
G --tasks "$T/he.jsonl" --task_id "$task" --num_samples 2 | grep -q "^\[1\] score [01]\.[0-9][0-9]" && pass generate_task_text || fail generate_task_text "$(G --tasks "$T/he.jsonl" --task_id "$task" --num_samples 2 2>&1)"
# adapters from ttt: at lr 0 the adapter is zero (B = 0) and changes nothing; one with B set
# (every lora_B weight 0.05, payload_sha256 recomputed) is applied; a tampered one is refused
$BIN/ttt --tasks "$T/he.jsonl" --ckpt "$CK" --tokenizer "$TK" --ttt_steps 2 --rollouts 4 --max_new_tokens 8 --lora_rank 4 \
  --adapter_every 2 --mode ttt --lr 0 --out_root "$T/t0" >"$T/tl" 2>&1 || fail generate_adapter_made "$(tail -2 "$T/tl")"
AD=$T/t0/$task/adapter_step_2/lora.safetensors
G --prompt "order ascending 5 3 9 :" --num_samples 4 --seed 7 --adapter "$AD" >"$T/ga0" 2>&1
cmp -s "$T/g1" "$T/ga0" && pass generate_zero_adapter_changes_nothing || fail generate_zero_adapter_changes_nothing "$(diff "$T/g1" "$T/ga0")"
python3 - "$AD" "$T/set.safetensors" "$T/tampered.safetensors" <<'PY'
import hashlib, json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
data = bytearray(raw[8 + n:])
for name, t in head.items():
    if name != "__metadata__" and "lora_B" in name:
        a, b = t["data_offsets"]
        data[a:b] = struct.pack("<%df" % ((b - a) // 4), *([0.05] * ((b - a) // 4)))
open(sys.argv[3], "wb").write(raw[:8 + n] + bytes(data))          # old checksum: refused
head["__metadata__"]["payload_sha256"] = hashlib.sha256(bytes(data)).hexdigest()
h = json.dumps(head).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + bytes(data))
PY
G --prompt "order ascending 5 3 9 :" --num_samples 4 --seed 7 --adapter "$T/set.safetensors" >"$T/ga5" 2>&1; rc=$?
[ $rc -eq 0 ] && ! cmp -s "$T/g1" "$T/ga5" && pass generate_adapter_applied || fail generate_adapter_applied "rc=$rc $(cat "$T/ga5")"
expect_err generate_tampered_adapter 2 "tampered.safetensors: checksum mismatch" G --prompt x --adapter "$T/tampered.safetensors"
# bad input: one line naming the file or flag, exit 2
head -c 200 "$AD" >"$T/torn.safetensors"
expect_err generate_torn_adapter 2 "torn.safetensors" G --prompt x --adapter "$T/torn.safetensors"
expect_err generate_prompt_and_task 2 "give --prompt or --tasks with --task_id, not both" G --prompt x --tasks "$T/he.jsonl" --task_id "$task"
expect_err generate_nothing_to_continue 2 "nothing to continue" G
expect_err generate_unknown_task 2 "he.jsonl: no task with id 'nope'" G --tasks "$T/he.jsonl" --task_id nope
expect_err generate_task_id_alone 2 "go together" G --task_id "$task"
expect_err generate_too_many_tokens 2 "max_new_tokens" $BIN/generate --ckpt "$CK" --tokenizer "$TK" --prompt x --max_new_tokens 100000
expect_err generate_missing_ckpt 2 "nope_ckpt" $BIN/generate --ckpt "$T/nope_ckpt" --tokenizer "$TK" --prompt x
# a tokenizer with another vocab than the checkpoint's: refused, naming both
$BIN/train-tokenizer --input "$O/data/raw/train.txt" --model_prefix "$T/other" --vocab_size 290 --model_type bpe >/dev/null 2>&1
expect_err generate_vocab_mismatch 2 "other.model: vocab 290 differs from the model's [0-9]+ \\(.*ckpt_latest\\): mismatched tokenizer and checkpoint" \
  $BIN/generate --ckpt "$CK" --tokenizer "$T/other.model" --prompt x
