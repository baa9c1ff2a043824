# The CUDA backend's own code, run on the CPU by the CUDA emulator (make CUDA=emu;
# tests/cuda/emu, docs/performance.md): the emulator's self-checks, then the GPU
# parity program and the tools check against the CPU backend, and bitwise
# determinism when blocks and threads run in the opposite order.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
EB=build/emu
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
ulimit -c 0   # the emulator's stops abort(): no core files
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
wmma_misaligned load_matrix_sync: .* breaks the warp matrix rules
wmma_divergent after 16 lane
capture_sync cudaMemcpy while a stream is being captured
capture_other_stream work on another stream while a stream is being captured
M

# The CUDA backend against the CPU backend: every kernel, the model, decoding, a loss curve.
$EB/cuda-tests/parity --device cuda --curve_steps 10 >"$T/parity.log" 2>&1; rc=$?
n=$(grep -c '^PASS' "$T/parity.log")
[ $rc -eq 0 ] && [ "$n" -ge 85 ] && ! grep -q '^FAIL' "$T/parity.log" && pass "emu_parity_${n}_comparisons" \
  || fail emu_parity "rc=$rc, $n passed: $(grep -m5 -v '^PASS' "$T/parity.log")"

# A cuBLASLt without the GELU epilogues (no algorithm, or refused at the call): the
# backend's fallback (separate kernels) gives the same answers.
for how in bias late; do
    CUDA_EMU_LT_EPILOGUES=$how $EB/cuda-tests/parity --device cuda --precision fp32 --curve_steps 10 >"$T/parity_$how.log" 2>&1; rc=$?
    n=$(grep -c '^PASS' "$T/parity_$how.log")
    [ $rc -eq 0 ] && [ "$n" -ge 85 ] && ! grep -q '^FAIL' "$T/parity_$how.log" && pass "emu_parity_gelu_epilogues_refused_${how}_${n}_comparisons" \
      || fail "emu_parity_gelu_epilogues_refused_$how" "rc=$rc, $n passed: $(grep -m5 -v '^PASS' "$T/parity_$how.log")"
done

# The switches: off turns the GELU epilogue off (launches show it); a bad value stops at start.
gl() { DD_CUDA_GELU_EPILOGUE=$1 CUDA_EMU_STATS=1 $EB/bench/bench_train --d 64 --L 2 --H 4 --V 320 --T 32 --B 2 --steps 1 \
         --warmup 0 --device cuda --precision bf16 2>&1 >/dev/null | sed -n 's/^cuda-emu: \([0-9]*\) kernel launches.*/\1/p'; }
on=$(gl on); off=$(gl off)
[ -n "$on" ] && [ -n "$off" ] && [ "$off" -eq $((on + 4)) ] && pass emu_gelu_epilogue_switch_saves_two_launches_a_layer \
  || fail emu_gelu_epilogue_switch_saves_two_launches_a_layer "on: $on, off: $off"
DD_CUDA_GELU_EPILOGUE=maybe $EB/bench/bench_train --device cuda >/dev/null 2>"$T/o"; rc=$?
DD_CUDA_ATTENTION=fast $EB/bench/bench_train --device cuda >/dev/null 2>"$T/o2"; rc2=$?
DD_CUDA_GRAPHS=1 $EB/bench/bench_train --device cuda >/dev/null 2>"$T/o3"; rc3=$?
[ $rc -eq 2 ] && grep -q 'DD_CUDA_GELU_EPILOGUE=maybe: expected on or off' "$T/o" && [ $rc2 -eq 2 ] \
  && grep -q 'DD_CUDA_ATTENTION=fast: expected flash or materialised' "$T/o2" && [ $rc3 -eq 2 ] \
  && grep -q 'DD_CUDA_GRAPHS=1: expected on or off' "$T/o3" && pass emu_bad_switch_values_refused \
  || fail emu_bad_switch_values_refused "rc=$rc $(cat "$T/o") / rc=$rc2 $(cat "$T/o2") / rc=$rc3 $(cat "$T/o3")"

# The tools with --device cuda (pretrain fp32 and bf16 curves, ttt, best-of-N, sdft, retention).
STEPS=10 bash tests/cuda/tools_check.sh $EB/bin "$T/tools" >"$T/tools.log" 2>&1
grep '^PASS\|^FAIL' "$T/tools.log" | sed 's/^PASS /PASS emu_tools_/; s/^FAIL /FAIL emu_tools_/'
[ "$(grep -c '^PASS' "$T/tools.log")" -ge 9 ] || fail emu_tools_all_ran "$(tail -5 "$T/tools.log")"

# Determinism does not depend on scheduling: blocks and threads in reverse order, same bits.
P() { $EB/bin/pretrain --config configs/ci.yaml --train_bin "$T/tools/train.bin" --val_bin "$T/tools/val.bin" \
        --model configs/model/ci.yaml --steps 4 --eval_interval 2 --ckpt_interval 2 --out "$@" >>"$T/det.log" 2>&1; }
P "$T/fwd" --device cuda && CUDA_EMU_ORDER=reverse P "$T/rev" --device cuda \
  && cmp -s "$T/fwd/ckpt_latest/model.safetensors" "$T/rev/ckpt_latest/model.safetensors" \
  && cmp -s "$T/fwd/ckpt_latest/optim.safetensors" "$T/rev/ckpt_latest/optim.safetensors" \
  && pass emu_bitwise_same_in_reverse_order || fail emu_bitwise_same_in_reverse_order "$(tail -3 "$T/det.log"; ls "$T/fwd/ckpt_latest" 2>&1)"
# CUDA graphs (on by default): the passes replayed from recordings give the bits of the direct calls.
DD_CUDA_GRAPHS=off P "$T/nog" --device cuda \
  && cmp -s "$T/fwd/ckpt_latest/model.safetensors" "$T/nog/ckpt_latest/model.safetensors" \
  && cmp -s "$T/fwd/ckpt_latest/optim.safetensors" "$T/nog/ckpt_latest/optim.safetensors" \
  && pass emu_graphs_bitwise_same_as_direct_calls || fail emu_graphs_bitwise_same_as_direct_calls "$(tail -3 "$T/det.log")"
# A capture that fails (here: every cuBLASLt product refused while capturing) costs one
# line on stderr; the passes then run directly, with the same results.
CUDA_EMU_CAPTURE_FAIL=1 P "$T/capfail" --device cuda
[ "$(grep -c 'a CUDA graph could not be captured (kernels_cuda.cu:[0-9]*: cublasLtMatmul: CUBLAS_STATUS_EXECUTION_FAILED.*); running without graphs' "$T/det.log")" = 1 ] \
  && cmp -s "$T/nog/ckpt_latest/model.safetensors" "$T/capfail/ckpt_latest/model.safetensors" \
  && cmp -s "$T/nog/ckpt_latest/optim.safetensors" "$T/capfail/ckpt_latest/optim.safetensors" \
  && pass emu_failed_capture_runs_without_graphs || fail emu_failed_capture_runs_without_graphs "$(grep -i graph "$T/det.log" | head -3)"

# Bit-exact pause and resume on the CUDA backend; checkpoints move between cpu and cuda.
mkdir -p "$T/pause/control" && touch "$T/pause/control/pause.request"
P "$T/pause" --device cuda; rc=$?
P "$T/pause" --device cuda
[ $rc -eq 75 ] && cmp -s "$T/fwd/ckpt_latest/model.safetensors" "$T/pause/ckpt_latest/model.safetensors" \
  && cmp -s "$T/fwd/ckpt_latest/optim.safetensors" "$T/pause/ckpt_latest/optim.safetensors" \
  && pass emu_pretrain_pause_resume_bitwise || fail emu_pretrain_pause_resume_bitwise "rc=$rc $(tail -3 "$T/det.log")"
P "$T/cpu" --device cpu
for way in "cpu cuda" "cuda cpu"; do
    set -- $way
    d="$T/move_$1_$2"
    mkdir -p "$d/control" && touch "$d/control/pause.request"
    P "$d" --device "$1"; rc=$?
    P "$d" --device "$2" && [ $rc -eq 75 ] && python3 - "$T/cpu/metrics.jsonl" "$d/metrics.jsonl" <<'PY' \
      && pass "emu_checkpoint_moves_$1_to_$2" || fail "emu_checkpoint_moves_$1_to_$2" "rc=$rc $(tail -3 "$T/det.log")"
import json, sys
a, b = ([json.loads(l) for l in open(f)] for f in sys.argv[1:])
assert len(a) == len(b) == 4, (len(a), len(b))
d = max(abs(x["loss"] - y["loss"]) / x["loss"] for x, y in zip(a, b))
assert d < 1e-4, d
PY
done

# ttt on the CUDA backend: LoRA adapters and their Adam state across a pause, bitwise.
S() { $EB/bin/ttt --config configs/ci.yaml --tasks "$T/tools/he.jsonl" --ckpt "$T/tools/pre_cuda_fp32/ckpt_latest" \
        --tokenizer "$T/tools/tok.model" --ttt_steps 3 --rollouts 4 --max_new_tokens 8 --lora_rank 4 --adapter_every 1 \
        --seed 0 --mode ttt --device cuda "$@" >>"$T/ttt.log" 2>&1; }
task=$(head -1 "$T/tools/he.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
S --out_root "$T/t_full"
mkdir -p "$T/t_pause/control" && touch "$T/t_pause/control/pause.request"
S --out_root "$T/t_pause"; rc=$?
S --out_root "$T/t_pause"
[ $rc -eq 75 ] && cmp -s "$T/t_full/$task/adapter_step_3/lora.safetensors" "$T/t_pause/$task/adapter_step_3/lora.safetensors" \
  && cmp -s "$T/t_full/$task/metrics.jsonl" "$T/t_pause/$task/metrics.jsonl" \
  && pass emu_ttt_pause_resume_bitwise || fail emu_ttt_pause_resume_bitwise "rc=$rc $(tail -3 "$T/ttt.log")"
# Sampling (decoding graphs), LoRA training: with and without CUDA graphs, the same bits.
CUDA_EMU_STATS=1 S --out_root "$T/t_graphs"
DD_CUDA_GRAPHS=off S --out_root "$T/t_nog"
replays=$(sed -n 's/^cuda-emu: \([0-9]*\) graph launches.*/\1/p' "$T/ttt.log" | tail -1)
cmp -s "$T/t_graphs/$task/adapter_step_3/lora.safetensors" "$T/t_nog/$task/adapter_step_3/lora.safetensors" \
  && cmp -s "$T/t_graphs/$task/metrics.jsonl" "$T/t_nog/$task/metrics.jsonl" && [ "${replays:-0}" -gt 20 ] \
  && pass emu_ttt_graphs_bitwise_same_as_direct_calls || fail emu_ttt_graphs_bitwise_same_as_direct_calls "replays=$replays $(tail -3 "$T/ttt.log")"

# DD_CUDA_PROFILE: every table entry timed, the products per shape, counts from the
# reset after the warm-up; the results are those of the unwrapped table.
BT() { $EB/bench/bench_train --d 64 --L 2 --H 4 --V 320 --T 32 --B 4 --steps 3 --warmup 1 --precision fp32 "$@"; }
plain=$(BT --device cuda | sed 's/"tok_per_s.*"mfu": [0-9.]*, //')
profiled=$(DD_CUDA_PROFILE="$T/profile.txt" BT --device cuda | sed 's/"tok_per_s.*"mfu": [0-9.]*, //')
cnt() { awk -v e="$1" '$0 ~ "^"e" " { print $(NF-4) }' "$T/profile.txt"; }
[ -n "$plain" ] && [ "$plain" = "$profiled" ] && grep -q '^cuda profile: .* GPU busy' "$T/profile.txt" \
  && [ "$(cnt adamw_update_segments)" = 3 ] && [ "$(cnt 'matmul_forward 64x192')" = 6 ] \
  && [ "$(cnt 'matmul_backward 64x256')" = 6 ] && [ "$(cnt 'matmul_backward 64x320')" = 3 ] \
  && [ "$(cnt attention_backward)" = 6 ] \
  && pass emu_profile_counts_each_entry || fail emu_profile_counts_each_entry "$plain / $profiled: $(head -8 "$T/profile.txt")"
DD_CUDA_PROFILE=1 BT --device cpu >/dev/null 2>"$T/o" && [ ! -s "$T/o" ] && pass profile_is_cuda_only \
  || fail profile_is_cuda_only "$(head -3 "$T/o")"
# A report that cannot be written costs one line on stderr, not the run (its results are already out).
DD_CUDA_PROFILE="$T/no/such/dir/p.txt" BT --device cuda >"$T/o1" 2>"$T/o"; rc=$?
[ $rc -eq 0 ] && grep -q '"loss"' "$T/o1" && [ "$(wc -l <"$T/o")" -eq 1 ] && grep -q "cannot write the profile to $T/no/such/dir/p.txt" "$T/o" \
  && pass profile_unwritable_path_one_line || fail profile_unwritable_path_one_line "rc=$rc: $(cat "$T/o")"

# CUDA_EMU_STATS: the launches a GPU would pay for; a training step costs the same each time.
st() { CUDA_EMU_STATS=1 $EB/bench/bench_train --d 64 --L 2 --H 4 --V 320 --T 32 --B 2 --steps "$1" --warmup 0 \
         --device cuda --precision bf16 --mhc 4 2>&1 >/dev/null | sed -n 's/^cuda-emu: \([0-9]*\) kernel launches, \([0-9]*\) cuBLAS products$/\1 \2/p'; }
one=$(st 1); two=$(st 2)
set -- $one $two
[ $# -eq 4 ] && [ "$1" -gt 0 ] && [ "$3" -eq $((2 * $1)) ] && [ "$4" -eq $((2 * $2)) ] \
  && pass emu_stats_launches_per_step_constant || fail emu_stats_launches_per_step_constant "1 step: $one, 2 steps: $two"
# With graphs, step 1 runs directly, step 2 records forward and backward, and from then on
# each is one graph launch running the same kernels and products as before.
gs() { CUDA_EMU_STATS=1 DD_CUDA_GRAPHS=$1 $EB/bench/bench_train --d 64 --L 2 --H 4 --V 320 --T 32 --B 2 --steps 4 --warmup 0 \
         --device cuda --precision bf16 --mhc 4 2>&1 >/dev/null \
       | awk '/^cuda-emu: [0-9]+ kernel launches/ { k = $2; p = $5 } /^cuda-emu: [0-9]+ graph launches/ { print k, p, $2, $6 }'; }
on=$(gs on); off=$(gs off)
set -- $on $off
[ $# -eq 8 ] && [ "$1 $2" = "$5 $6" ] && [ "$3" -eq 6 ] && [ "$4" -gt $(($1 * 2 / 3)) ] && [ "$7" -eq 0 ] \
  && pass emu_graphs_replay_each_pass_after_two_steps || fail emu_graphs_replay_each_pass_after_two_steps "on: $on / off: $off"
