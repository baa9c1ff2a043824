#!/usr/bin/env bash
# The compute tools on the GPU against the CPU, on the ci config (tests/cuda/run.sh
# stage `tools`): a 100-step pretrain loss curve in CUDA fp32 and bf16 against the
# CPU's; ttt, sdft and retention run on the GPU (their device path is checked
# bitwise on the CPU by tests/tools/test_device_guarded.sh); retention's
# perplexities within fp32 rounding of the CPU's. Prints PASS/FAIL lines.
#   tests/cuda/tools_check.sh BIN_DIR WORK_DIR
# STEPS (default 100) sets the curve's length (the emulator test uses fewer).
set -u
B=$1; W=$2; C=configs/ci.yaml; N=${STEPS:-100}
rm -rf "$W"; mkdir -p "$W"
python3() { LD_LIBRARY_PATH="${PY_LD-${LD_LIBRARY_PATH:-}}" command python3 "$@"; }   # the machine's own libraries
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
q() { "$@" >>"$W/log" 2>&1; }
q "$B/gen-corpus" --config $C --train_out $W/train.txt --val_out $W/val.txt
q "$B/train-tokenizer" --config $C --input $W/train.txt --model_prefix $W/tok
q "$B/pack-bins" --tokenizer $W/tok.model --input $W/train.txt --output $W/train.bin
q "$B/pack-bins" --tokenizer $W/tok.model --input $W/val.txt --output $W/val.bin
for v in "cpu auto" "cuda fp32" "cuda bf16"; do
    set -- $v
    q "$B/pretrain" --config $C --train_bin $W/train.bin --val_bin $W/val.bin --model configs/model/ci.yaml \
        --steps $N --eval_interval $(( N < 20 ? N : 20 )) --out $W/pre_$1_$2 --device $1 --precision $2 \
      && pass "pretrain_${N}_steps_$1_$2" || fail "pretrain_${N}_steps_$1_$2" "$(tail -2 $W/log)"
done
python3 - "$W" "$N" <<'PY'
import json, sys
w, n = sys.argv[1], int(sys.argv[2])
rows = lambda d: [json.loads(l) for l in open(f"{w}/{d}/metrics.jsonl")]
cpu = rows("pre_cpu_auto")
for prec, tol in (("fp32", 2e-3), ("bf16", 5e-2)):
    try:
        gpu = rows(f"pre_cuda_{prec}")
        d = max(abs(a["loss"] - b["loss"]) / a["loss"] for a, b in zip(cpu, gpu))
        v = max(abs(a["val_loss"] - b["val_loss"]) / a["val_loss"] for a, b in zip(cpu, gpu) if "val_loss" in a)
        ok = len(gpu) == len(cpu) == n and d <= tol and v <= tol
        print(("PASS" if ok else "FAIL") + f" loss_curve_tracks_cpu_{prec}" + ("" if ok else f": max rel diff {d:.3g}, val {v:.3g} (tol {tol})"))
        print(f"INFO {prec}: {n}-step loss max rel diff {d:.3g}, val_loss {v:.3g}; final loss cpu {cpu[-1]['loss']:.4f} gpu {gpu[-1]['loss']:.4f}")
    except Exception as e:
        print(f"FAIL loss_curve_tracks_cpu_{prec}: {e}")
PY
CK=$W/pre_cuda_fp32/ckpt_latest
q "$B/gen-tasks" --config $C --seed 0 --n_train 2 --n_heldout 2 --out_train $W/tr.jsonl --out_heldout $W/he.jsonl
for mode in ttt bestofn; do
    q "$B/ttt" --config $C --tasks $W/he.jsonl --ckpt $CK --tokenizer $W/tok.model --out_root $W/$mode --seed 0 --mode $mode --device cuda \
      && [ "$(wc -l <$W/$mode/summary.jsonl)" -eq 2 ] && pass "${mode}_on_gpu" || fail "${mode}_on_gpu" "$(tail -2 $W/log)"
done
q "$B/build-sdft" --suite_root $W/ttt --tasks_jsonl $W/he.jsonl --out_jsonl $W/demos.jsonl --min_reward 0
q "$B/sdft" --config $C --ckpt $CK --tokenizer $W/tok.model --data $W/demos.jsonl --out $W/sdft --gate_val_bin $W/val.bin \
    --device cuda && [ -e $W/sdft/sdft_latest/model.safetensors ] && pass sdft_on_gpu || fail sdft_on_gpu "$(tail -2 $W/log)"
R() { "$B/retention" --config $C --base_ckpt $W/pre_cpu_auto/ckpt_latest --base_cfg $W/pre_cpu_auto/model_config.json \
        --updated_ckpt $CK --updated_cfg $W/pre_cuda_fp32/model_config.json --val_bin $W/val.bin "$@" >>"$W/log" 2>&1; }
R --out $W/ret_cpu.json --device cpu && R --out $W/ret_gpu.json --device cuda --precision fp32 \
  && python3 -c "import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); d=max(abs(a[k]-b[k])/a[k] for k in ('base_ppl','updated_ppl')); print(('PASS' if d<=1e-4 else 'FAIL')+' retention_gpu_matches_cpu'+('' if d<=1e-4 else f': rel diff {d:.3g}'))" $W/ret_cpu.json $W/ret_gpu.json \
  || fail retention_on_gpu "$(tail -2 $W/log)"
