#!/usr/bin/env bash
# Every kernel of kernels/kernels.h against PyTorch: the unit program
# build/tests/test_kernels dumps inputs, outputs and gradients of mid-sized
# cases as raw float32, and tests/torch/ref_kernels.py recomputes them with
# torch (autograd for the gradients) and prints PASS/FAIL per tensor.
source "$(dirname "$0")/lib.sh"
prog=$ROOT/build/tests/test_kernels
if [ ! -x "$prog" ]; then
    fail kernels_torch "missing $prog (run make unit first)"
    exit 0
fi
if ! "$prog" --dump "$T" >"$T/unit.log" 2>&1; then
    fail kernels_torch_dump "test_kernels --dump failed: $(grep '^FAIL' "$T/unit.log" | head -3)"
    exit 0
fi
/usr/bin/python3 "$ROOT/tests/torch/ref_kernels.py" "$T" 2>"$T/py.err" \
    || { grep -q . "$T/py.err" && fail kernels_torch_python "$(tail -3 "$T/py.err")"; }
# matmul_forward_t where libxsmm generates no kernel (LIBXSMM_TARGET=generic: no JIT, so
# each block falls back to one cblas_sgemm): the same checks, named no_jit.*
LIBXSMM_TARGET=generic "$prog" >"$T/nojit.log" 2>&1
n=$(grep -c '^PASS matmul_forward_t' "$T/nojit.log")
grep '^\(PASS\|FAIL\) matmul_forward_t' "$T/nojit.log" | sed 's/^\(PASS\|FAIL\) /\1 no_jit./'
[ "$n" -eq 3 ] || fail no_jit_matmul_forward_t "$n of 3 matmul_forward_t checks passed: $(grep '^FAIL' "$T/nojit.log" | head -3)"
