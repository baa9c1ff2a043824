#!/usr/bin/env bash
# make bench: our tools against the named peers, in the same run, on the same
# files, printed side by side as ratios (never asserted: machines are noisy).
#   corpus:    gen-corpus, 200000 lines (the paper size)
#   tokenizer: train-tokenizer vs spm_train --model_type=bpe at 8000 and 32000,
#              bytes/token on the val text; pack-bins vs spm_encode
# BENCH_LINES overrides the corpus size. Results also go to out/bench/bench.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=out/bench; mkdir -p $B
LINES=${BENCH_LINES:-200000}
NT=$(nproc)
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
row() { printf '%-34s %12s %12s %8s  %s\n' "$@"; }

t0=$(now); bin/gen-corpus --seed 0 --train_lines $LINES --val_lines 10000 --train_out $B/train.txt --val_out $B/val.txt >/dev/null; t1=$(now)
MB=$(python3 -c "import os; print(f'{os.path.getsize(\"$B/train.txt\")/1e6:.1f}')")
echo "corpus: $LINES lines, $MB MB of text in $(secs $t0 $t1)s (gen-corpus)"
echo
row "benchmark" "ours" "peer" "ratio" "(ratio > 1: we are better)"
val_bytes=$(tr -d '\n' <$B/val.txt | wc -c)
json="{\"lines\": $LINES, \"train_mb\": $MB"
for V in 8000 32000; do
    t0=$(now); bin/train-tokenizer --input $B/train.txt --model_prefix $B/tok$V/ours --vocab_size $V >/dev/null; t1=$(now)
    ours=$(secs $t0 $t1)
    t0=$(now); spm_train --input=$B/train.txt --model_prefix=$B/spm$V --vocab_size=$V --model_type=bpe \
        --num_threads=$NT --minloglevel=2 >/dev/null 2>&1; t1=$(now)
    peer=$(secs $t0 $t1)
    row "tokenizer train ${V} (s)" "$ours" "$peer" "$(ratio $peer $ours)x" "spm_train --model_type=bpe"
    bin/pack-bins --tokenizer $B/tok$V/ours.model --input $B/val.txt --output $B/val$V.bin --append_eos 0 >/dev/null
    ours_tok=$(python3 -c "import os; print((os.path.getsize('$B/val$V.bin') - 1024) // 2)")
    peer_tok=$(spm_encode --model=$B/spm$V.model --output_format=id <$B/val.txt | wc -w)
    ob=$(python3 -c "print(f'{$val_bytes / $ours_tok:.3f}')"); pb=$(python3 -c "print(f'{$val_bytes / $peer_tok:.3f}')")
    row "  bytes/token on val, vocab $V" "$ob" "$pb" "$(ratio $ob $pb)x" "compression (higher is better)"
    json="$json, \"train_${V}_s\": {\"ours\": $ours, \"spm\": $peer}, \"bytes_per_token_${V}\": {\"ours\": $ob, \"spm\": $pb}"
done
V=32000
t0=$(now); bin/pack-bins --tokenizer $B/tok$V/ours.model --input $B/train.txt --output $B/train$V.bin >/dev/null; t1=$(now)
ours=$(secs $t0 $t1)
t0=$(now); spm_encode --model=$B/spm$V.model --output_format=id <$B/train.txt >$B/spm_ids.txt; t1=$(now)
peer=$(secs $t0 $t1)
row "encode $MB MB, vocab $V (s)" "$ours" "$peer" "$(ratio $peer $ours)x" "pack-bins vs spm_encode"
row "  MB/s" "$(python3 -c "print(f'{$MB/$ours:.1f}')")" "$(python3 -c "print(f'{$MB/$peer:.1f}')")" "" ""
json="$json, \"encode_s\": {\"ours\": $ours, \"spm\": $peer}}"
echo "$json" | python3 -m json.tool >$B/bench.json
echo; echo "written: $B/bench.json"
