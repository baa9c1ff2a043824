#!/usr/bin/env bash
# The GPU checks of docs/performance.md, in one command on a machine with an
# NVIDIA GPU, from .gpu/ (tests/cuda/pack.sh). Stages (default: all):
#   parity   tests/cuda/parity.c: every kernel, the model, decoding, determinism,
#            a 100-step loss curve, CUDA fp32 and bf16 against the CPU backend
#   tools    the compute tools on the GPU vs the CPU (tests/cuda/tools_check.sh): a
#            100-step pretrain loss curve (fp32 and bf16), ttt, sdft, retention
#   speed    tokens/s and MFU of the 120M model, ours against PyTorch eager and
#            torch.compile on the same GPU, at the paper batch (4 x 256) and a
#            batch that fills the GPU (FILL_B x 256); then DD_CUDA_PROFILE's
#            per-entry GPU and host times of three of those runs (profile.txt)
#   phases   throughput of each paper-scale phase with the real tools
#            (phase A whole; B, C, D, E for a few steps each, for extrapolation;
#            PHASE_STEPS pretrain steps, TTT_STEPS suite steps; RUN_DEVICE=cpu
#            runs the same stage on the CPU to check the script)
# Results go to $OUT (the device tool's) or /tmp/gpu-out.
set -u
cd "$(dirname "$0")/../.."
G=$PWD/.gpu
O=${OUT:-/tmp/gpu-out}
mkdir -p "$O"
stages=${*:-parity tools speed phases}
[ -d "$G/bin" ] || { echo "run.sh: no $G/bin: run tests/cuda/pack.sh first (and carry .gpu)"; exit 2; }
L=/tmp/gpu-libs
mkdir -p "$L"
for f in "$G"/debs/*.deb; do dpkg -x "$f" "$L"; done
# Our libraries first for our tools; PyTorch keeps the machine's own (python3 below).
ORIG_LD=${LD_LIBRARY_PATH:-}
export LD_LIBRARY_PATH="$L/usr/lib/x86_64-linux-gnu/openblas-openmp:$L/usr/lib/x86_64-linux-gnu:$L/lib/x86_64-linux-gnu${ORIG_LD:+:$ORIG_LD}"
python3() { LD_LIBRARY_PATH="$ORIG_LD" command python3 "$@"; }
export PYTHONUNBUFFERED=1
B=$G/bin
{ nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; } | tee "$O/gpu.txt"
# cuBLAS(Lt) and the CUDA runtime: /usr/local/cuda/lib64 (the binaries' rpath), else wherever they are.
if ldd "$B/pretrain" | grep -q 'libcu.*not found'; then
    for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13; do
        d=$(find / -name "$lib*" -not -path '/proc/*' 2>/dev/null | head -1)
        [ -n "$d" ] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$d")"
    done
fi
missing=$(ldd "$B/pretrain" | grep 'not found' || true)
[ -z "$missing" ] || { echo "run.sh: missing libraries: $missing"; exit 2; }
M120="--d 768 --L 12 --H 12 --V 32000 --T 256"
FILL_B=${FILL_B:-64}

for s in $stages; do case $s in
parity)
    echo "== parity"; "$B/parity" 2>&1 | tee "$O/parity.txt"
    echo "parity: $(grep -c '^PASS' "$O/parity.txt") passed, $(grep -c '^FAIL' "$O/parity.txt") failed" | tee -a "$O/parity.txt" ;;
tools)
    echo "== tools"; PY_LD="$ORIG_LD" bash tests/cuda/tools_check.sh "$B" /tmp/gpu-tools 2>&1 | tee "$O/tools.txt" ;;
speed)
    echo "== speed (120M, same GPU, one run)"
    {
    for b in 4 $FILL_B; do
        "$B/bench_train" $M120 --B $b --steps 20 --warmup 5 --threads 1 --device cuda --precision bf16
        python3 tests/cuda/torch_gpu_peer.py $M120 --B $b --mode eager --precision bf16
        python3 tests/cuda/torch_gpu_peer.py $M120 --B $b --mode compile --precision bf16
    done
    "$B/bench_train" $M120 --B 4 --steps 20 --warmup 5 --threads 1 --device cuda --precision fp32
    python3 tests/cuda/torch_gpu_peer.py $M120 --B 4 --mode eager --precision fp32
    "$B/bench_train" $M120 --B 4 --steps 20 --warmup 5 --threads 1 --device cuda --precision bf16 --mhc 4
    echo '{"note": "next line: DD_CUDA_ATTENTION=materialised (no fused attention)"}'
    DD_CUDA_ATTENTION=materialised "$B/bench_train" $M120 --B $FILL_B --steps 20 --warmup 5 --threads 1 --device cuda --precision bf16
    echo '{"note": "next line: DD_CUDA_GELU_EPILOGUE=off (GELU in its own kernels)"}'
    DD_CUDA_GELU_EPILOGUE=off "$B/bench_train" $M120 --B $FILL_B --steps 20 --warmup 5 --threads 1 --device cuda --precision bf16
    echo '{"note": "next two lines: DD_CUDA_GRAPHS=off (every kernel launched by the host), paper batch, mHC off and on"}'
    DD_CUDA_GRAPHS=off "$B/bench_train" $M120 --B 4 --steps 20 --warmup 5 --threads 1 --device cuda --precision bf16
    DD_CUDA_GRAPHS=off "$B/bench_train" $M120 --B 4 --steps 20 --warmup 5 --threads 1 --device cuda --precision bf16 --mhc 4
    "$B/bench_train" $M120 --B 4 --steps 5 --warmup 1 --threads 16
    } 2>&1 | tee "$O/speed.jsonl"
    # Where the time goes (DD_CUDA_PROFILE): GPU and host time per backend entry
    # (profiled runs launch every kernel from the host: no CUDA graphs).
    : >"$O/profile.txt"
    for run in "--B 4" "--B $FILL_B" "--B 4 --mhc 4"; do
        DD_CUDA_PROFILE=/tmp/gpu-profile.txt "$B/bench_train" $M120 $run --steps 10 --warmup 3 --threads 1 \
            --device cuda --precision bf16 >>"$O/profile.txt" && cat /tmp/gpu-profile.txt >>"$O/profile.txt"
        echo >>"$O/profile.txt"
    done
    head -12 "$O/profile.txt" ;;
phases)
    echo "== phases (paper config, real tools)"
    W=/tmp/gpu-phases; rm -rf "$W"; mkdir -p "$W"
    P=configs/paper.yaml
    DEV="--device ${RUN_DEVICE:-cuda}"; NS=${PHASE_STEPS:-50}; TS=${TTT_STEPS:-5}
    t() { local name=$1; shift; local t0=$EPOCHREALTIME; "$@" >"$W/$name.log" 2>&1; local rc=$?
          awk -v n="$name" -v rc=$rc -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "{\"stage\": \"%s\", \"rc\": %d, \"seconds\": %.2f}\n", n, rc, b - a }'
          tail -3 "$W/$name.log" >&2; }
    {
    t gen_corpus "$B/gen-corpus" --config $P --train_out $W/train.txt --val_out $W/val.txt
    t train_tokenizer "$B/train-tokenizer" --config $P --input $W/train.txt --model_prefix $W/spm32k
    t pack_train "$B/pack-bins" --config $P --tokenizer $W/spm32k.model --input $W/train.txt --output $W/train.bin
    t pack_val "$B/pack-bins" --config $P --tokenizer $W/spm32k.model --input $W/val.txt --output $W/val.bin
    t pretrain_steps "$B/pretrain" --config $P --train_bin $W/train.bin --val_bin $W/val.bin --model configs/model/mhc_120m.yaml \
        --out $W/pre --steps $NS --eval_interval $NS --ckpt_interval $NS --warmup 10 $DEV
    grep -h tokens_per_s "$W/pre/metrics.jsonl" | tail -1
    t pretrain_nomhc_steps "$B/pretrain" --config $P --train_bin $W/train.bin --val_bin $W/val.bin --model configs/model/nomhc_120m.yaml \
        --out $W/pre0 --steps $NS --eval_interval $NS --ckpt_interval $NS --warmup 10 $DEV
    grep -h tokens_per_s "$W/pre0/metrics.jsonl" | tail -1
    t gen_tasks "$B/gen-tasks" --config $P --seed 0 --n_train 4 --n_heldout 4 --out_train $W/tr.jsonl --out_heldout $W/ho.jsonl
    t ttt_4_tasks "$B/ttt" --config $P --tasks $W/ho.jsonl --ckpt $W/pre/ckpt_latest --tokenizer $W/spm32k.model \
        --out_root $W/ttt --seed 0 --ttt_steps $TS $DEV
    t bestofn_4_tasks "$B/ttt" --config $P --tasks $W/ho.jsonl --ckpt $W/pre/ckpt_latest --tokenizer $W/spm32k.model \
        --out_root $W/bon --seed 0 --ttt_steps $TS --mode bestofn $DEV
    # SDFT throughput: demonstrations from the tasks' own answers (an untrained model finds none)
    python3 -c 'import json, sys
with open(sys.argv[2], "w") as o:
    for l in open(sys.argv[1]):
        t = json.loads(l)
        o.write(json.dumps({"task_id": t["id"], "family": t["family"], "prompt": t["prompt"], "reward": 1.0,
                            "demonstration": " %s ; score 1.00" % t["params"]["answer"], "source_run": "run.sh"}) + "\n")' \
        $W/tr.jsonl $W/demos.jsonl
    t sdft_steps "$B/sdft" --config $P --ckpt $W/pre/ckpt_latest --tokenizer $W/spm32k.model --data $W/demos.jsonl \
        --out $W/sdft --gate_val_bin $W/val.bin --steps $TS --gate_every $TS --best_of_k 2 $DEV
    t retention "$B/retention" --config $P --base_ckpt $W/pre/ckpt_latest --base_cfg $W/pre/model_config.json \
        --updated_ckpt $W/pre0/ckpt_latest --updated_cfg $W/pre0/model_config.json --val_bin $W/val.bin --out $W/ret.json $DEV
    } 2>"$O/phases.err" | tee "$O/phases.jsonl" ;;
*) echo "run.sh: unknown stage $s (parity, tools, speed, phases)"; exit 2 ;;
esac; done
