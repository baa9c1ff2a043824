# One TTT step (sample, base and adapter forwards, KL shaping, LoRA backward, Adam) against
# the PyTorch peer (tests/torch/ref_ttt_step.py, the peer `make bench` times): on the C
# side's sampled tokens, the loss, the mean d, every LoRA gradient and the Adam step. And the
# step's arithmetic that `make bench` divides by the sgemm peak (tests/bench/bench_flops.h, a
# lower bound: only the products the step cannot do without) against the flops of the
# products PyTorch runs for the same step (torch.profiler): never above them, and close.
. "$(dirname "$0")/lib.sh"
k=0
for shape in "--d 64 --L 2 --H 2 --V 300 --T 64 --N 8 --P 6 --G 10 --rank 4" "--d 96 --L 3 --H 4 --V 512 --T 96 --N 12 --P 9 --G 16 --rank 8"; do
    dir=$T/step$((++k))
    "$ROOT/build/bench/bench_ttt_step" $shape --threads 2 --dump "$dir" >"$T/b$k" 2>&1 || { fail "dump_$k" "$(cat "$T/b$k")"; continue; }
    /usr/bin/python3 "$ROOT/tests/torch/ref_ttt_step.py" check "$dir" >"$T/c$k" 2>&1
    rc=$?
    sed "s/^\(PASS\|FAIL\) ttt_step\./\1 ttt_step$k./" "$T/c$k"
    [ $rc -eq 0 ] || fail "torch_ttt_step_$k" "ref_ttt_step.py exited $rc: $(tail -2 "$T/c$k")"
    ours=$(grep '^{' "$T/b$k" | python3 -c "import json,sys; print(json.load(sys.stdin)['gflop'])")
    torch=$(/usr/bin/python3 "$ROOT/tests/torch/ref_ttt_step.py" bench $shape --threads 1 --flops |
            python3 -c "import json,sys; print(json.load(sys.stdin)['profiler_gflop'])")
    if python3 -c "import sys; o, t = $ours, $torch; sys.exit(not (0 < o <= t <= 1.15 * o))"; then
        pass "ttt_step_flops_lower_bound_$k"
    else
        fail "ttt_step_flops_lower_bound_$k" "counted $ours GFLOP, PyTorch's products $torch GFLOP (want counted <= PyTorch <= 1.15 x counted)"
    fi
done
