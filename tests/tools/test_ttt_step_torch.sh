# One TTT step (sample, base and adapter forwards, KL shaping, LoRA backward, Adam) against
# the PyTorch peer (tests/torch/ref_ttt_step.py, the peer `make bench` times): on the C
# side's sampled tokens, the loss, the mean d, every LoRA gradient and the Adam step.
. "$(dirname "$0")/lib.sh"
k=0
for shape in "--d 64 --L 2 --H 2 --V 300 --T 64 --N 8 --P 6 --G 10 --rank 4" "--d 96 --L 3 --H 4 --V 512 --T 96 --N 12 --P 9 --G 16 --rank 8"; do
    dir=$T/step$((++k))
    "$ROOT/build/bench/bench_ttt_step" $shape --threads 2 --dump "$dir" >"$T/b$k" 2>&1 || { fail "dump_$k" "$(cat "$T/b$k")"; continue; }
    /usr/bin/python3 "$ROOT/tests/torch/ref_ttt_step.py" check "$dir" >"$T/c$k" 2>&1
    rc=$?
    sed "s/^\(PASS\|FAIL\) ttt_step\./\1 ttt_step$k./" "$T/c$k"
    [ $rc -eq 0 ] || fail "torch_ttt_step_$k" "ref_ttt_step.py exited $rc: $(tail -2 "$T/c$k")"
done
