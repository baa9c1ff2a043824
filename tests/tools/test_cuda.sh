# The CUDA backend (make CUDA=1; docs/performance.md). Where nvcc is installed the
# CUDA flavour must build, tools must name --device cuda in --help, and without a
# GPU `--device cuda` must fail with one line and exit 2, touching nothing. Where a
# GPU is present too, the parity program (tests/cuda/parity.c) runs in full.
source "$(dirname "$0")/lib.sh"
NVCC=${NVCC:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}
if [ ! -x "$NVCC" ]; then echo "SKIP cuda: no nvcc at $NVCC (the CUDA backend is optional)"; exit 0; fi
CB="$ROOT/build/cuda"
make --no-print-directory -s -C "$ROOT" CUDA=1 BUILD="$CB" BINDIR="$CB/bin" cuda-tests >"$T/build.log" 2>&1 \
  && pass make_cuda_builds || { fail make_cuda_builds "$(tail -5 "$T/build.log")"; exit 1; }
nm "$CB/libdd.a" 2>/dev/null | grep -q ' T kernels_cuda_init' && pass cuda_backend_linked || fail cuda_backend_linked "kernels_cuda_init not in libdd.a"
for tool in pretrain ttt sdft retention; do
    "$CB/bin/$tool" --help 2>&1 | grep -q -- '--device' && pass "help_device_$tool" || fail "help_device_$tool" "--help does not list --device"
done
if nvidia-smi -L >/dev/null 2>&1; then
    "$CB/cuda-tests/parity" >"$T/parity.log" 2>&1
    cat "$T/parity.log"
else
    mkdir -p "$T/run"
    expect_err cuda_without_gpu 2 "device cuda: no usable GPU" \
        "$CB/bin/retention" --base_ckpt x --base_cfg x --updated_ckpt x --updated_cfg x --val_bin x --out "$T/run/r.json" --device cuda
    [ -z "$(ls -A "$T/run")" ] && pass cuda_without_gpu_writes_nothing || fail cuda_without_gpu_writes_nothing "$(ls "$T/run")"
    "$CB/cuda-tests/parity" >"$T/parity.log" 2>&1
    [ $? -eq 1 ] && grep -q '^FAIL cuda_available' "$T/parity.log" && pass parity_reports_no_gpu \
        || fail parity_reports_no_gpu "$(head -3 "$T/parity.log")"
fi
