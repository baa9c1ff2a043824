#!/usr/bin/env bash
# ab.sh BASE_DIR [THREADS...]: the TTT-step and sampling rows of bench.sh for two builds
# and the PyTorch peers, alternately in one run, so a kernel change is measured against
# the code before it under the same load (this VM's speed drifts by ±20% within minutes).
# BASE_DIR is a built checkout of the code before (make build/bench/bench_ttt_step
# build/bench/bench_sample there); THREADS defaults to "1 2". Nothing is asserted.
#   git worktree add /tmp/before <commit> && make -C /tmp/before build/bench/bench_ttt_step build/bench/bench_sample
#   tests/bench/ab.sh /tmp/before 1
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=${1:?usage: ab.sh BASE_DIR [THREADS...]}; shift
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
r() { python3 -c "print(f'{$1 / $2:.2f}')"; }
for th in ${@:-1 2}; do
    for shape in tiny wide; do
        if [ $shape = tiny ]; then SH="--d 128 --L 4 --H 4 --V 1024 --T 128"; else SH="--d 256 --L 6 --H 8 --V 2048 --T 256"; fi
        STEP="$SH --N 32 --P 16 --G 32 --rank 8 --reps 3"
        b=$($BASE/build/bench/bench_ttt_step $STEP --threads $th 2>/dev/null | field step_ms)
        o=$(build/bench/bench_ttt_step $STEP --threads $th 2>/dev/null | field step_ms)
        p=$(/usr/bin/python3 tests/torch/ref_ttt_step.py bench $STEP --threads $th | field step_ms)
        echo "TTT step $shape, $th thr (ms): before $b after $o PyTorch $p | PyTorch/before $(r $p $b)x PyTorch/after $(r $p $o)x"
        for N in 8 32; do
            SS="$SH --P 16 --G 32 --reps 5 --N $N --threads $th"
            b=$($BASE/build/bench/bench_sample $SS | tail -1 | field tok_per_s)
            o=$(build/bench/bench_sample $SS | tail -1 | field tok_per_s)
            p=$(/usr/bin/python3 tests/torch/ref_sample.py bench $SS | field tok_per_s)
            echo "sampling $shape N=$N, $th thr (tok/s): before $b after $o PyTorch $p | before/PyTorch $(r $b $p)x after/PyTorch $(r $o $p)x"
        done
    done
done
