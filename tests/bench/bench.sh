#!/usr/bin/env bash
# make bench: our tools against the named peers, in the same run, on the same
# files, printed side by side as ratios (never asserted: machines are noisy).
#   corpus:    gen-corpus, 200000 lines (the paper size)
#   tokenizer: train-tokenizer vs spm_train --model_type=bpe at 8000 and 32000,
#              bytes/token on the val text; the same on a real-text mix (licence
#              texts and Python sources, tests/bench/real_text.py); pack-bins vs spm_encode
#   pretrain:  tokens/s of our trainer (mHC off) vs the pinned PyTorch peer
#              (../shared/bench/torch_gpt_peer.py) and the project's own peer
#              (python/dd_model.py bench, which must agree with it), at the
#              tiny shape and at the 120M shape; and the cost of mHC on.
#   sample:    sampling tokens/s (sample_batch vs tests/torch/ref_sample.py's KV-cache
#              loop) at the tiny and a 4x wider shape, N=8 and N=32, all threads and 1,
#              and with a busy neighbour (ours at threads 0: my share), with achieved
#              GFLOP/s beside the sgemm peak; one TTT step (bench_ttt_step) vs its PyTorch
#              peer (tests/torch/ref_ttt_step.py) at both shapes; on each row the share of
#              the sgemm peak that 3x the peer would take (tests/bench/bench_flops.h);
#              TTT and best-of-N seconds per step of bin/ttt on the ci model (ours only)
#   gpu:       (a `make CUDA=1` build on a machine with an NVIDIA GPU) tokens/s and MFU of
#              the 120M shape, ours (bf16) vs PyTorch 2.x eager and torch.compile
#              (tests/cuda/torch_gpu_peer.py, the pinned peer's model on the GPU), at the
#              paper batch 4 x 256 and a filling batch 64 x 256 (docs/performance.md)
# BENCH_LINES overrides the corpus size; BENCH_SKIP=tok|pretrain|120m|sample|gpu skips parts.
# Results also go to out/bench/bench.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=out/bench; mkdir -p $B
LINES=${BENCH_LINES:-200000}
NT=$(nproc)
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
# need3 OURS_JSON PEER_MS: the share of the sgemm peak that 3x the peer would take, from the
# products the step cannot do without (tests/bench/bench_flops.h; over 100%: out of reach here)
need3() {
    local gflop peak
    gflop=$(echo "$1" | field gflop); peak=$(echo "$1" | field sgemm_peak_gflops)
    python3 -c "print(f'3x PyTorch needs {100 * 3 * $gflop / ($2 / 1000) / $peak:.0f}% of the peak')"
}
row() { printf '%-34s %12s %12s %8s  %s\n' "$@"; }

t0=$(now); bin/gen-corpus --seed 0 --train_lines $LINES --val_lines 10000 --train_out $B/train.txt --val_out $B/val.txt >/dev/null; t1=$(now)
MB=$(python3 -c "import os; print(f'{os.path.getsize(\"$B/train.txt\")/1e6:.1f}')")
echo "corpus: $LINES lines, $MB MB of text in $(secs $t0 $t1)s (gen-corpus)"
echo
row "benchmark" "ours" "peer" "ratio" "(ratio > 1: we are better)"
skip() { [[ ",${BENCH_SKIP:-}," == *",$1,"* ]]; }
# A busy neighbour: one shell loop pinned to core 0 (what another job on the node does).
busy_start() {
    taskset -c 0 sh -c 'while :; do :; done' & BUSY=$!
    while [ "$(awk '{print $14}' /proc/$BUSY/stat 2>/dev/null || echo 0)" -lt 20 ]; do :; done   # 0.2 s of its CPU time
}
busy_stop() { [ -n "${BUSY:-}" ] || return 0; kill $BUSY 2>/dev/null; wait $BUSY 2>/dev/null || true; BUSY=; }
trap 'busy_stop' EXIT
json="{\"lines\": $LINES, \"train_mb\": $MB"
# Tokenizer rows: train ours and spm on $2 at 8000 and 32000, bytes/token on $3.
# Bytes are the text's bytes without its newlines (both sides encode line by
# line and neither spends a token on a newline), the same count for both.
# spm runs with its defaults, as its users run it: its normalizer (nmt_nfkc,
# remove_extra_whitespaces) drops leading and trailing spaces and collapses
# every run of spaces to one before encoding, and characters outside its
# 0.9995 coverage become <unk>. So on indented code spm spends no token on
# indentation and its ids do not give the text back, while ours are lossless:
# the comparison favours spm (on the real-text held-out part 22% of the bytes
# are spaces that spm's normalizer drops before counting tokens). (With --normalization_rule_name=identity
# --remove_extra_whitespaces=false spm keeps the spaces, but then every space
# of an indent is its own token: 2.18 bytes/token on the real-text held-out
# part at 8000, no peer worth the name.)
tok_rows() {   # json key prefix, train text, held-out text, train row label, bytes row label
    local key=$1 train=$2 val=$3 label=$4 blabel=$5 vb ours peer tt ob pb ours_tok peer_tok
    vb=$(tr -d '\n' <$val | wc -c)
    for V in 8000 32000; do
        t0=$(now); bin/train-tokenizer --input $train --model_prefix $B/${key}tok$V/ours --vocab_size $V >/dev/null; t1=$(now)
        ours=$(secs $t0 $t1)
        t0=$(now); spm_train --input=$train --model_prefix=$B/${key}spm$V --vocab_size=$V --model_type=bpe \
            --num_threads=$NT --minloglevel=2 >/dev/null 2>&1; t1=$(now)
        peer=$(secs $t0 $t1)
        row "$label ${V} (s)" "$ours" "$peer" "$(ratio $peer $ours)x" "spm_train --model_type=bpe"
        tt=$(python3 -c "import json; print(f\"{json.load(open('$B/${key}tok$V/_runs/ours.model/run_record.json'))['train_sec']:.3f}\")")
        row "  of which tok_train (s)" "$tt" "" "$(ratio $peer $tt)x" "the rest: start, input hash, run records, 3 files"
        bin/pack-bins --tokenizer $B/${key}tok$V/ours.model --input $val --output $B/${key}val$V.bin --append_eos 0 >/dev/null
        ours_tok=$(python3 -c "import os; print((os.path.getsize('$B/${key}val$V.bin') - 1024) // 2)")
        peer_tok=$(spm_encode --model=$B/${key}spm$V.model --output_format=id <$val | wc -w)
        ob=$(python3 -c "print(f'{$vb / $ours_tok:.3f}')"); pb=$(python3 -c "print(f'{$vb / $peer_tok:.3f}')")
        row "  $blabel, vocab $V" "$ob" "$pb" "$(ratio $ob $pb)x" "compression (higher is better)"
        json="$json, \"${key}train_${V}_s\": {\"ours\": $ours, \"ours_tok_train\": $tt, \"spm\": $peer}, \"${key}bytes_per_token_${V}\": {\"ours\": $ob, \"spm\": $pb}"
    done
}
if ! skip tok; then
tok_rows "" $B/train.txt $B/val.txt "tokenizer train" "bytes/token on val"
V=32000
t0=$(now); bin/pack-bins --tokenizer $B/tok$V/ours.model --input $B/train.txt --output $B/train$V.bin >/dev/null; t1=$(now)
ours=$(secs $t0 $t1)
t0=$(now); spm_encode --model=$B/spm$V.model --output_format=id <$B/train.txt >$B/spm_ids.txt; t1=$(now)
peer=$(secs $t0 $t1)
row "encode $MB MB, vocab $V (s)" "$ours" "$peer" "$(ratio $peer $ours)x" "pack-bins vs spm_encode"
row "  MB/s" "$(python3 -c "print(f'{$MB/$ours:.1f}')")" "$(python3 -c "print(f'{$MB/$peer:.1f}')")" "" ""
json="$json, \"encode_s\": {\"ours\": $ours, \"spm\": $peer}"
/usr/bin/python3 tests/bench/real_text.py $B
RMB=$(python3 -c "import os; print(f'{os.path.getsize(\"$B/real_train.txt\")/1e6:.1f}')")
RHB=$(python3 -c "import os; print(f'{os.path.getsize(\"$B/real_heldout.txt\")/1e6:.2f}')")
echo "  real text (tests/bench/real_text.py): $RMB MB to train on, $RHB MB held out"
tok_rows "real_text_" $B/real_train.txt $B/real_heldout.txt "real text: train" "held-out bytes/token"
fi
PEER=${PEER:-../shared/bench/torch_gpt_peer.py}
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
pretrain_row() {   # label, shape flags...
    local label=$1; shift
    local ours oursm torch_own torch_pin
    ours=$(build/bench/bench_train "$@" --threads $NT | field tok_per_s)
    oursm=$(build/bench/bench_train "$@" --threads $NT --mhc 4 | field tok_per_s)
    torch_own=$(/usr/bin/python3 python/dd_model.py bench "$@" --threads $NT | field tok_per_s)
    if [ -f "$PEER" ]; then torch_pin=$(/usr/bin/python3 "$PEER" "$@" --threads $NT | field tok_per_s); else torch_pin=$torch_own; fi
    row "pretrain $label (tok/s)" "$ours" "$torch_pin" "$(ratio $ours $torch_pin)x" "vs pinned PyTorch peer, mHC off"
    row "  project's PyTorch peer (tok/s)" "" "$torch_own" "$(ratio $torch_own $torch_pin)x" "own peer / pinned peer (should be ~1)"
    row "  mHC n=4 on (tok/s)" "$oursm" "" "$(ratio $oursm $ours)x" "cost of mHC: on / off"
    local ours1 oursb torchb
    ours1=$(build/bench/bench_train "$@" --threads 1 | field tok_per_s)
    busy_start
    oursb=$(build/bench/bench_train "$@" --threads 0 | field tok_per_s)
    torchb=$(/usr/bin/python3 python/dd_model.py bench "$@" --threads $NT | field tok_per_s)
    busy_stop
    row "  1 thread (tok/s)" "$ours1" "" "" "ours, --threads 1, quiet"
    row "  busy neighbour (tok/s)" "$oursb" "$torchb" "$(ratio $oursb $torchb)x" "ours threads 0 (my share) vs PyTorch $NT thr; 1-thread quiet: $ours1"
    json="$json, \"pretrain_$label\": {\"ours\": $ours, \"ours_mhc4\": $oursm, \"torch_pinned\": $torch_pin, \"torch_own\": $torch_own}"
}
if ! skip pretrain; then
    pretrain_row tiny --d 128 --L 4 --H 4 --V 1024 --T 128 --B 8 --steps 10 --warmup 2
    skip 120m || pretrain_row 120m --d 768 --L 12 --H 12 --V 32000 --T 256 --B 4 --steps 3 --warmup 1
fi
if ! skip sample; then
    # sampling: sample_batch vs ref_sample.py's KV-cache loop (same model, mHC off,
    # N prompts of 16 random tokens, 32 new tokens each, temperature 1; prefill timed,
    # only generated tokens counted; each side reports its best of 5)
    # Two shapes: tiny (d128 L4 H4 V1024) and 4x wider (d256 L6 H8 V2048, T 256). Rows at
    # all threads and at 1 thread, then with a busy neighbour (a busy loop pinned to core 0,
    # started and stopped here): ours at threads 0 ("my share": lib/base/util threads_share)
    # against PyTorch at all threads, what each does by default.
    /usr/bin/python3 tests/torch/ref_sample.py bench --d 128 --L 4 --H 4 --V 1024 --T 128 --P 16 --G 8 --N 2 --reps 1 --threads $NT --check >/dev/null
    for shape in tiny wide; do
        if [ $shape = tiny ]; then SH="--d 128 --L 4 --H 4 --V 1024 --T 128"; else SH="--d 256 --L 6 --H 8 --V 2048 --T 256"; fi
        SHAPE="$SH --P 16 --G 32 --reps 5"
        for N in 8 32; do
            for th in $NT 1; do
                o=$(build/bench/bench_sample $SHAPE --N $N --threads $th | tail -1)
                ours=$(echo "$o" | field tok_per_s)
                p=$(/usr/bin/python3 tests/torch/ref_sample.py bench $SHAPE --N $N --threads $th)
                peer=$(echo "$p" | field tok_per_s)
                row "sampling $shape N=$N, $th thr (tok/s)" "$ours" "$peer" "$(ratio $ours $peer)x" \
                    "vs PyTorch KV-cache loop; $(echo "$o" | field gflops) GFLOP/s of $(echo "$o" | field sgemm_peak_gflops) sgemm peak; $(need3 "$o" "$(echo "$p" | field ms)")"
                json="$json, \"sample_${shape}_N${N}_t$th\": {\"ours\": $ours, \"torch\": $peer}"
            done
            busy_start
            ours=$(build/bench/bench_sample $SHAPE --N $N --threads 0 | field tok_per_s)
            peer=$(/usr/bin/python3 tests/torch/ref_sample.py bench $SHAPE --N $N --threads $NT | field tok_per_s)
            busy_stop
            row "  busy neighbour (tok/s)" "$ours" "$peer" "$(ratio $ours $peer)x" "ours threads 0 (my share) vs PyTorch $NT thr, one busy core"
            json="$json, \"sample_${shape}_N${N}_busy\": {\"ours\": $ours, \"torch\": $peer}"
        done
    done
    # One TTT step (sample N=32 completions of 32 tokens, base and adapter forwards, LoRA
    # backward, Adam; rank 8) against the PyTorch peer of the same step
    # (tests/torch/ref_ttt_step.py; parity checked by tests/tools/test_ttt_step_torch.sh).
    for shape in tiny wide; do
        if [ $shape = tiny ]; then SH="--d 128 --L 4 --H 4 --V 1024 --T 128"; else SH="--d 256 --L 6 --H 8 --V 2048 --T 256"; fi
        STEP="$SH --N 32 --P 16 --G 32 --rank 8 --reps 3"
        for th in $NT 1; do
            o=$(build/bench/bench_ttt_step $STEP --threads $th 2>/dev/null)
            ours=$(echo "$o" | field step_ms)
            peer=$(/usr/bin/python3 tests/torch/ref_ttt_step.py bench $STEP --threads $th | field step_ms)
            row "TTT step $shape, $th thr (ms)" "$ours" "$peer" "$(ratio $peer $ours)x" \
                "vs PyTorch TTT step (tests/torch/ref_ttt_step.py); $(echo "$o" | field gflops) GFLOP/s of $(echo "$o" | field sgemm_peak_gflops) sgemm peak; $(need3 "$o" $peer)"
            json="$json, \"ttt_step_${shape}_t$th\": {\"ours_ms\": $ours, \"torch_ms\": $peer}"
        done
        busy_start
        ours=$(build/bench/bench_ttt_step $STEP --threads 0 2>/dev/null | field step_ms)
        peer=$(/usr/bin/python3 tests/torch/ref_ttt_step.py bench $STEP --threads $NT | field step_ms)
        busy_stop
        row "  busy neighbour (ms)" "$ours" "$peer" "$(ratio $peer $ours)x" "ours threads 0 (my share) vs PyTorch $NT thr, one busy core"
        json="$json, \"ttt_step_${shape}_busy\": {\"ours_ms\": $ours, \"torch_ms\": $peer}"
    done
    # TTT / best-of-N step on the ci model (ours only: no peer). Wall seconds of
    # bin/ttt over 4 held-out tasks (best of 3, startup included) / (tasks x ttt_steps).
    # The pipeline is the bench's own scratch, built fresh each run: a tree an older checkout
    # left would be refused by the rerun rule (its inputs changed), not measured.
    PIPE=out/bench/pipe; P=$PIPE/ci
    rm -rf $PIPE
    make --no-print-directory CONFIG=configs/ci.yaml OUT_ROOT=$PIPE phase-B >$B/pipe_ci.log 2>&1 ||
        { echo "bench: the ci pipeline for the bin/ttt rows failed; see $B/pipe_ci.log" >&2; exit 1; }
    rm -f $P/bench_train.jsonl $P/bench_heldout.jsonl
    bin/gen-tasks --config configs/ci.yaml --seed 0 --n_train 1 --n_heldout 4 --out_train $P/bench_train.jsonl \
        --out_heldout $P/bench_heldout.jsonl >/dev/null
    ntask=$(wc -l <$P/bench_heldout.jsonl)
    steps=$(python3 -c "import re; print(re.search(r'ttt_steps:\s*(\d+)', open('configs/ci.yaml').read()).group(1))")
    for mode in ttt bestofn; do
        best=
        for rep in 1 2 3; do
            rm -rf $P/bench_$mode   # a fresh run each time (--force would keep old ones in .trash/)
            t0=$(now)
            bin/ttt --config configs/ci.yaml --tasks $P/bench_heldout.jsonl --ckpt $P/runs/pretrain_base/ckpt_latest \
                --tokenizer $P/data/tokenizer/bpe300.model --out_root $P/bench_$mode --seed 0 --mode $mode \
                >$B/ttt_$mode.log 2>&1
            t1=$(now); s=$(secs $t0 $t1)
            best=$(python3 -c "print(min(x for x in ($s, ${best:-float('inf')})))")
        done
        per=$(python3 -c "print(f'{$best / ($ntask * $steps):.4f}')")
        label="TTT step"; [ $mode = bestofn ] && label="best-of-N step"
        row "$label, ci model (s)" "$per" "" "" "ours only, no peer: $best s / ($ntask tasks x $steps steps)"
        json="$json, \"${mode}_step_ci_s\": {\"ours\": $per, \"total_s\": $best, \"tasks\": $ntask, \"steps\": $steps}"
    done
fi
if ! skip gpu; then
    if nvidia-smi -L >/dev/null 2>&1 && build/bench/bench_train --d 64 --L 1 --H 1 --V 300 --T 8 --B 1 --steps 1 --warmup 0 \
            --device cuda >/dev/null 2>&1; then
        M120="--d 768 --L 12 --H 12 --V 32000 --T 256"
        for b in 4 64; do
            ours=$(build/bench/bench_train $M120 --B $b --steps 20 --warmup 5 --threads 1 --device cuda)
            eager=$(python3 tests/cuda/torch_gpu_peer.py $M120 --B $b --mode eager)
            comp=$(python3 tests/cuda/torch_gpu_peer.py $M120 --B $b --mode compile)
            o=$(echo "$ours" | field tok_per_s); e=$(echo "$eager" | field tok_per_s); c=$(echo "$comp" | field tok_per_s)
            row "GPU 120M B=$b x 256 (tok/s)" "$o" "$e" "$(ratio $o $e)x" "vs PyTorch eager bf16 autocast; MFU $(echo "$ours" | field mfu) vs $(echo "$eager" | field mfu)"
            row "  vs torch.compile (tok/s)" "$o" "$c" "$(ratio $o $c)x" "MFU $(echo "$comp" | field mfu)"
            json="$json, \"gpu_120m_B$b\": {\"ours\": $ours, \"torch_eager\": $eager, \"torch_compile\": $comp}"
        done
    else
        echo "gpu: skipped (no NVIDIA GPU, or not a \`make CUDA=1\` build)"
    fi
fi
json="$json}"
echo "$json" | python3 -m json.tool >$B/bench.json
echo; echo "written: $B/bench.json"
