# Checkpoints know their tokenizer: pack-bins records the tokenizer's SHA-256 in the bin
# header, pretrain copies it into every checkpoint's metadata, and every consumer refuses,
# in one line naming both files, a tokenizer or bin other than the one the checkpoint was
# trained with, even with the same vocab size (docs/formats.md).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-B >"$T/b" 2>&1 || { fail phase_b_for_identity "$(tail -3 "$T/b")"; exit 1; }
O=$T/out/ci
CK=$O/runs/pretrain_base/ckpt_latest
TK=$O/data/tokenizer/bpe300.model
sha=$(sha256sum "$TK" | cut -c1-64)
python3 - "$O/data/packed/train.bin" "$CK/model.safetensors" "$sha" <<'PY' && pass tokenizer_hash_in_bin_and_checkpoint || fail tokenizer_hash_in_bin_and_checkpoint "see above"
import json, struct, sys
h = open(sys.argv[1], "rb").read(1024)
assert h[20:52].hex() == sys.argv[3], (h[20:52].hex(), sys.argv[3])
n = struct.unpack("<Q", open(sys.argv[2], "rb").read(8))[0]
meta = json.loads(open(sys.argv[2], "rb").read(8 + n)[8:])["__metadata__"]
assert meta["tokenizer_sha256"] == sys.argv[3], meta
PY
# make's pretrain gets --tokenizer: every checkpoint dir holds its tokenizer.json (self-contained for Python)
n=0; for d in "$O"/runs/pretrain_base/ckpt_step_* "$O"/runs/pretrain_nomhc/ckpt_latest; do cmp -s "$d/tokenizer.json" "$O/data/tokenizer/tokenizer.json" || n=$((n+1)); done
[ $n -eq 0 ] && pass checkpoint_holds_tokenizer_json || fail checkpoint_holds_tokenizer_json "$n checkpoint dirs without it"
# Another tokenizer with the same vocab size (trained on other text), and a bin it made.
head -300 "$O/data/raw/val.txt" >"$T/other.txt"
cat README.md >>"$T/other.txt"
$BIN/train-tokenizer --input "$T/other.txt" --model_prefix "$T/other" --vocab_size 300 --model_type bpe >/dev/null 2>&1
$BIN/pack-bins --tokenizer "$T/other.model" --input "$O/data/raw/val.txt" --output "$T/other_val.bin" >/dev/null 2>&1
cmp -s "$T/other.model" "$TK" && fail other_tokenizer_differs "the same file" || pass other_tokenizer_differs
PAT="another tokenizer than the one checkpoint .*ckpt_latest was trained with \\(sha256"
$BIN/gen-tasks --seed 0 --n_train 0 --n_heldout 2 --max_difficulty 1 --out_train "$T/tr.jsonl" --out_heldout "$T/he.jsonl" >/dev/null
expect_err generate_refuses_other_tokenizer 2 "other.model: $PAT" $BIN/generate --ckpt "$CK" --tokenizer "$T/other.model" --prompt x
expect_err ttt_refuses_other_tokenizer 2 "other.model: $PAT" $BIN/ttt --tasks "$T/he.jsonl" --ckpt "$CK" --tokenizer "$T/other.model" \
  --out_root "$T/ttt" --ttt_steps 1 --rollouts 2 --max_new_tokens 4
[ ! -e "$T/ttt" ] && pass ttt_refusal_writes_nothing || fail ttt_refusal_writes_nothing "$(ls "$T/ttt")"
expect_err retention_refuses_other_bin 2 "other_val.bin: $PAT" $BIN/retention --base_ckpt "$CK" --base_cfg "$O/runs/pretrain_base/model_config.json" \
  --updated_ckpt "$CK" --updated_cfg "$O/runs/pretrain_base/model_config.json" --val_bin "$T/other_val.bin" --seq_len 16 --out "$T/ret.json"
expect_err pretrain_refuses_mixed_bins 2 "other_val.bin: made by another tokenizer than .*train.bin" $BIN/pretrain --config configs/ci.yaml \
  --train_bin "$O/data/packed/train.bin" --val_bin "$T/other_val.bin" --out "$T/pre_mixed" --model configs/model/ci.yaml
$BIN/pack-bins --tokenizer "$T/other.model" --input "$O/data/raw/train.txt" --output "$T/other_train.bin" >/dev/null 2>&1
expect_err pretrain_init_from_refuses_other_data 2 "other_train.bin: $PAT" $BIN/pretrain --config configs/ci.yaml \
  --train_bin "$T/other_train.bin" --val_bin "$T/other_val.bin" --out "$T/pre_init" --model configs/model/ci.yaml --init_from "$CK"
expect_err pretrain_refuses_other_tokenizer_flag 2 "other.model: not the tokenizer that made .*train.bin" $BIN/pretrain --config configs/ci.yaml \
  --train_bin "$O/data/packed/train.bin" --val_bin "$O/data/packed/val.bin" --out "$T/pre_tok" --model configs/model/ci.yaml --tokenizer "$T/other.model"
mkdir -p "$T/lone" && cp "$TK" "$T/lone/"
expect_err pretrain_tokenizer_json_missing 2 "lone/tokenizer.json: missing" $BIN/pretrain --config configs/ci.yaml \
  --train_bin "$O/data/packed/train.bin" --val_bin "$O/data/packed/val.bin" --out "$T/pre_lone" --model configs/model/ci.yaml --tokenizer "$T/lone/bpe300.model"
# the right tokenizer is accepted, and a checkpoint from before the hash (no metadata) still loads
$BIN/generate --ckpt "$CK" --tokenizer "$TK" --prompt x --num_samples 1 --max_new_tokens 2 >/dev/null 2>&1 && pass same_tokenizer_accepted \
  || fail same_tokenizer_accepted "$($BIN/generate --ckpt "$CK" --tokenizer "$TK" --prompt x 2>&1)"
# sdft: the tokenizer and the gate's val bin
prompt=$(head -1 "$T/he.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['prompt'])")
python3 -c "import json,sys; print(json.dumps({'task_id': 'a', 'family': 'reach', 'prompt': sys.argv[1], 'demonstration': ' 1 + 2', 'reward': 1.0, 'source_run': 'x'}))" "$prompt" >"$T/demos.jsonl"
S() { $BIN/sdft --ckpt "$CK" --data "$T/demos.jsonl" --out "$T/sdft" --steps 2 --gate_val_seq_len 16 --gate_val_bs 2 --gate_val_batches 1 --max_new_tokens 4 "$@"; }
expect_err sdft_refuses_other_tokenizer 2 "other.model: $PAT" S --tokenizer "$T/other.model" --gate_val_bin "$O/data/packed/val.bin"
expect_err sdft_refuses_other_gate_bin 2 "other_val.bin: $PAT" S --tokenizer "$TK" --gate_val_bin "$T/other_val.bin"
