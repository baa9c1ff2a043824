# The CUDA backend's own code, run on the CPU by the CUDA emulator (make CUDA=emu;
# tests/cuda/emu, docs/performance.md): the emulator's self-checks, then the GPU
# parity program and the tools check against the CPU backend, and bitwise
# determinism when blocks and threads run in the opposite order.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
EB=build/emu
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
make --no-print-directory -s CUDA=emu BUILD=$EB BINDIR=$EB/bin cuda-tests >"$T/build.log" 2>&1 \
  && pass make_cuda_emu_builds || { fail make_cuda_emu_builds "$(tail -5 "$T/build.log")"; exit 1; }
S=$EB/cuda-tests/emu-selftest

# The emulator itself: right answers, and it stops on what a GPU would get wrong.
[ "$($S ok 2>&1)" = ok ] && pass emu_kernels_and_gemms || fail emu_kernels_and_gemms "$($S ok 2>&1 | tail -2)"
[ "$($S race)" = stale ] && [ "$(CUDA_EMU_ORDER=reverse $S race)" = fresh ] && pass emu_race_shows_in_reverse_order \
  || fail emu_race_shows_in_reverse_order "$($S race) / $(CUDA_EMU_ORDER=reverse $S race)"
$S config >"$T/o" 2>&1 && grep -q 'invalid configuration' "$T/o" && pass emu_bad_launch_config_reported || fail emu_bad_launch_config_reported "$(cat "$T/o")"
while read -r mode pat; do
    ( $S "$mode" ) >"$T/o" 2>&1; rc=$?
    [ $rc -ne 0 ] && grep -q "cuda-emu: .*$pat" "$T/o" && pass "emu_stops_on_$mode" || fail "emu_stops_on_$mode" "rc=$rc: $(tail -2 "$T/o")"
done <<'M'
divergent deadlock
partial after 16 lane
host_pointer is not device memory
overrun illegal memory access .* overrun_kernel
gemm_range overrun the 16384-byte block
M

# The CUDA backend against the CPU backend: every kernel, the model, decoding, a loss curve.
$EB/cuda-tests/parity --device cuda --curve_steps 10 >"$T/parity.log" 2>&1; rc=$?
n=$(grep -c '^PASS' "$T/parity.log")
[ $rc -eq 0 ] && [ "$n" -ge 85 ] && ! grep -q '^FAIL' "$T/parity.log" && pass "emu_parity_${n}_comparisons" \
  || fail emu_parity "rc=$rc, $n passed: $(grep -m5 -v '^PASS' "$T/parity.log")"

# The tools with --device cuda (pretrain fp32 and bf16 curves, ttt, best-of-N, sdft, retention).
STEPS=10 bash tests/cuda/tools_check.sh $EB/bin "$T/tools" >"$T/tools.log" 2>&1
grep '^PASS\|^FAIL' "$T/tools.log" | sed 's/^PASS /PASS emu_tools_/; s/^FAIL /FAIL emu_tools_/'
[ "$(grep -c '^PASS' "$T/tools.log")" -ge 9 ] || fail emu_tools_all_ran "$(tail -5 "$T/tools.log")"

# Determinism does not depend on scheduling: blocks and threads in reverse order, same bits.
P() { $EB/bin/pretrain --config configs/ci.yaml --train_bin "$T/tools/train.bin" --val_bin "$T/tools/val.bin" \
        --model configs/model/ci.yaml --steps 3 --eval_interval 3 --out "$1" --device cuda >>"$T/det.log" 2>&1; }
P "$T/fwd" && CUDA_EMU_ORDER=reverse P "$T/rev" \
  && cmp -s "$T/fwd/ckpt_latest/model.safetensors" "$T/rev/ckpt_latest/model.safetensors" \
  && cmp -s "$T/fwd/ckpt_latest/optim.safetensors" "$T/rev/ckpt_latest/optim.safetensors" \
  && pass emu_bitwise_same_in_reverse_order || fail emu_bitwise_same_in_reverse_order "$(tail -3 "$T/det.log"; ls "$T/fwd/ckpt_latest" 2>&1)"
