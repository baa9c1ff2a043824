# retention (E2) on real ci checkpoints: base vs itself (delta exactly 0), base
# vs the mHC-off pretrain (different parameters, same vocab), base_ppl against
# the independent PyTorch reference (python/dd_load.py), early stop when the
# bin runs out, and bad input (one line, exit 2).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT="$T/out" phase-B >"$T/b" 2>&1 || { fail phase_b_for_retention "$(tail -3 "$T/b")"; exit 1; }
O=$T/out/ci
BASE=$O/runs/pretrain_base
NOMHC=$O/runs/pretrain_nomhc
VAL=$O/data/packed/val.bin
SEQ=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['seq_len'])" "$BASE/model_config.json")
R() { $BIN/retention --base_ckpt "$BASE/ckpt_latest" --base_cfg "$BASE/model_config.json" --val_bin "$VAL" \
        --seq_len "$SEQ" --batch_size 4 --max_batches 5 --threads 2 "$@"; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

R --updated_ckpt "$BASE/ckpt_latest" --updated_cfg "$BASE/model_config.json" --out "$T/self/retention_ppl.json" >"$T/l1" 2>&1 \
  && pass retention_runs || { fail retention_runs "$(tail -3 "$T/l1")"; exit 1; }
python3 - "$T/self/retention_ppl.json" "$SEQ" <<'PY' && pass retention_self_delta_zero || fail retention_self_delta_zero "see above"
import json, math, sys
r = json.load(open(sys.argv[1])); T = int(sys.argv[2])
keys = {"base_ppl", "updated_ppl", "abs_delta", "rel_delta", "base_loss", "updated_loss", "tokens_evaluated",
        "batches", "seq_len", "batch_size", "base_ckpt", "updated_ckpt", "val_bin", "rel_delta_ci95", "ci"}
assert set(r) == keys, set(r) ^ keys
assert r["rel_delta"] == 0 and r["abs_delta"] == 0 and r["base_ppl"] == r["updated_ppl"], r
assert r["rel_delta_ci95"] == [0, 0], r["rel_delta_ci95"]
assert r["batches"] == 5 and r["seq_len"] == T and r["batch_size"] == 4 and r["tokens_evaluated"] == 5 * 4 * T, r
assert abs(math.exp(r["base_loss"]) - r["base_ppl"]) <= 1e-6 * r["base_ppl"] and 1 < r["base_ppl"] < 1e6, r
PY
[ -f "$T/self/_runs/retention_ppl.json/run_record.json" ] && grep -q '"completed"' "$T/self/_runs/retention_ppl.json/run_record.json" \
  && pass retention_run_dir || fail retention_run_dir "no completed run record"

R --updated_ckpt "$NOMHC/ckpt_latest" --updated_cfg "$NOMHC/model_config.json" --out "$T/nomhc/retention_ppl.json" >"$T/l2" 2>&1 \
  && python3 - "$T/nomhc/retention_ppl.json" "$T/self/retention_ppl.json" <<'PY' && pass retention_mhc_off_checkpoint || fail retention_mhc_off_checkpoint "$(tail -3 "$T/l2")"
import json, sys
r, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert r["base_ppl"] == s["base_ppl"], (r, s)
assert r["updated_ppl"] != r["base_ppl"], r
assert abs(r["abs_delta"] - (r["updated_ppl"] - r["base_ppl"])) < 1e-6 * r["base_ppl"]
assert abs(r["rel_delta"] - (r["updated_ppl"] / r["base_ppl"] - 1)) < 1e-8, r
lo, hi = r["rel_delta_ci95"]      # the paired bootstrap over the 5 val batches brackets the delta
assert lo < r["rel_delta"] < hi, (lo, r["rel_delta"], hi)
PY

# The independent check: the PyTorch reference model on the same batches.
/usr/bin/python3 python/dd_load.py "$BASE/ckpt_latest" "$VAL" "$SEQ" 4 5 >"$T/ref.json" 2>"$T/ref.err" \
  && python3 - "$T/ref.json" "$T/self/retention_ppl.json" <<'PY' && pass retention_matches_torch_reference || fail retention_matches_torch_reference "$(tail -3 "$T/ref.err")"
import json, sys
ref, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rel = abs(r["base_ppl"] - ref["ppl"]) / ref["ppl"]
print(f"base_ppl C {r['base_ppl']:.8f} torch {ref['ppl']:.8f} rel {rel:.2e}")
assert ref["batches"] == r["batches"] and ref["tokens"] == r["tokens_evaluated"], (ref, r)
assert rel <= 1e-4, rel
PY

# python/dd_load.py as a library (python/README.md): the windows bin/retention cuts, and
# a torn or foreign bin refused naming it.
head -c 1500 "$VAL" >"$T/torn.bin"
/usr/bin/python3 - "$VAL" "$T/torn.bin" "$BASE/ckpt_latest" "$SEQ" <<'PY' >"$T/py.out" 2>&1 && pass python_loader_library || fail python_loader_library "$(tail -3 "$T/py.out")"
import sys
sys.path.insert(0, "python")
import dd_load
toks = dd_load.read_bin(sys.argv[1])
T = int(sys.argv[4])
b = list(dd_load.val_batches(toks, T, 4, 2))
assert len(b) == 2 and b[0][0].shape == (4, T) and (b[0][0][1] == toks[T:2 * T]).all() and (b[0][1][0] == toks[1:T + 1]).all()
assert (b[1][0][0] == toks[4 * T:5 * T]).all()         # window k*B + b starts at token (k*B + b)*T
for bad in (sys.argv[2], sys.argv[3] + "/model.safetensors"):
    try:
        dd_load.read_bin(bad)
        raise SystemExit(f"{bad} accepted")
    except ValueError as e:
        assert bad in str(e), e
model, cfg = dd_load.load_checkpoint(sys.argv[3])
assert cfg["d_model"] > 0 and sum(p.numel() for p in model.parameters()) > 0
PY

# A bin smaller than max_batches: stops early, and says so.
R --updated_ckpt "$BASE/ckpt_latest" --updated_cfg "$BASE/model_config.json" --max_batches 100000000 --out "$T/all/r.json" >"$T/l3" 2>&1
nb=$(python3 -c "
import struct,sys; h=struct.unpack('<256i', open(sys.argv[1],'rb').read(1024)); print((h[2]-1)//(4*int(sys.argv[2])))" "$VAL" "$SEQ")
[ "$(field "$T/all/r.json" batches)" = "$nb" ] && grep -q "fewer than max_batches" "$T/l3" \
  && pass retention_stops_when_bin_runs_out || fail retention_stops_when_bin_runs_out "batches $(field "$T/all/r.json" batches), expected $nb"

# Bad input: one line, exit 2.
U() { R --updated_ckpt "$BASE/ckpt_latest" --updated_cfg "$BASE/model_config.json" --out "$T/x/r.json" "$@"; }
expect_err retention_mismatched_cfg 2 "pretrain_nomhc/model_config.json: mhc differs from the config recorded in" \
    U --base_cfg "$NOMHC/model_config.json"
expect_err retention_missing_val_bin 2 "noval.bin" U --val_bin "$T/noval.bin"
poison_bin "$VAL" "$T/badid.bin" 5
expect_err retention_val_bin_id_beyond_vocab 2 "badid.bin: byte 1034 \(token 5\): id 300 is not below the header's vocab 300" U --val_bin "$T/badid.bin"
[ ! -e "$T/x" ] && pass retention_bad_id_writes_nothing || fail retention_bad_id_writes_nothing "$(ls -R "$T/x" | head -5)"
echo '{"d_model": 32' >"$T/broken.json"
expect_err retention_malformed_cfg 2 "broken.json" U --updated_cfg "$T/broken.json"
expect_err retention_missing_ckpt 2 "nockpt" U --base_ckpt "$T/nockpt"
expect_err retention_seq_len_beyond_model 2 "seq_len: $((SEQ + 1)) exceeds the models' seq_len $SEQ" U --seq_len $((SEQ + 1))
expect_err retention_cuda_unavailable 2 "no CUDA backend|GPU" U --device cuda
expect_err retention_bf16_on_cpu 2 "bf16 needs --device cuda" U --precision bf16
expect_err retention_bad_precision 2 "precision: .fp8. is not one of" U --precision fp8
expect_err retention_bad_device 2 "device: 'tpu'" U --device tpu
# A different vocab: a 1-step pretrain of the same shape at vocab 512 on the same bins.
sed 's/^vocab_size:.*/vocab_size: 512/' configs/model/tiny.yaml >"$T/v512.yaml"
grep -q '^vocab_size: 512' "$T/v512.yaml" && $BIN/pretrain --train_bin "$O/data/packed/train.bin" --val_bin "$VAL" --model "$T/v512.yaml" \
    --seq_len 16 --micro_bs 1 --grad_accum 1 --steps 1 --eval_batches 1 --out "$T/v512" --threads 2 >"$T/l4" 2>&1
if [ -L "$T/v512/ckpt_latest" ]; then
    expect_err retention_mismatched_vocab 2 "mismatched checkpoints" U --updated_ckpt "$T/v512/ckpt_latest" --updated_cfg "$T/v512/model_config.json" --seq_len 16
else fail retention_mismatched_vocab "could not build a vocab-512 checkpoint: $(tail -2 "$T/l4")"; fi
# A bin whose vocab exceeds the model's: the val text packed with a 600-token tokenizer.
$BIN/train-tokenizer --input "$O/data/raw/train.txt" --model_prefix "$T/big/t" --vocab_size 600 >/dev/null 2>&1 \
  && $BIN/pack-bins --tokenizer "$T/big/t.model" --input "$O/data/raw/val.txt" --output "$T/big/val.bin" >/dev/null 2>&1
expect_err retention_bin_vocab_exceeds_model 2 "big/val.bin: vocab 600 exceeds the models' vocab_size" U --val_bin "$T/big/val.bin"
[ ! -e "$T/x/r.json" ] && pass retention_bad_input_writes_nothing || fail retention_bad_input_writes_nothing "$T/x/r.json exists"
