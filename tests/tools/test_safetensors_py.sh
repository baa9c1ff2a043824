# safetensors between C and Python: a file written by lib/nn/safetensors.c loads in
# Python (python/safetensors_np.py, json + numpy only) with the right values,
# and a file written by Python opens in C with its checksum verified.
. "$(dirname "$0")/lib.sh"
TS=$ROOT/build/tests/test_safetensors
PY=/usr/bin/python3
if [ ! -x "$TS" ]; then fail st_py_helper "$TS missing: run make unit"; exit 1; fi

if "$TS" --write "$T/c.safetensors" 2>"$T/err"; then pass st_c_write; else fail st_c_write "$(cat "$T/err")"; fi
if PYTHONPATH=$ROOT/python $PY - "$T/c.safetensors" >"$T/py.out" 2>&1 <<'PYEOF'
import sys
import numpy as np
from safetensors_np import load
t, m = load(sys.argv[1])
def eq(name, want, dtype, shape):
    a = t[name]
    assert a.dtype == np.dtype(dtype), (name, a.dtype)
    assert a.shape == shape, (name, a.shape)
    assert np.array_equal(a, np.array(want, dtype=dtype).reshape(shape)), (name, a)
eq("a.weight", [0, .5, 1, 1.5, 2, 2.5], np.float32, (2, 3))
eq("b", [-1, 0, 1 << 40, 7], np.int64, (4,))
eq("c", [1, 2, 255], np.uint8, (3,))
eq("d", [1.0, -2.0], np.float16, (2,))
eq("e", [1.0, 3.0], np.float32, (1, 2))       # BF16 widened
eq("scalar", 3.25, np.float32, ())
eq("empty", [], np.int32, (0, 4))
eq("i", [-5, 0, 2147483647], np.int32, (3,))
eq("u16", [1, 65535], np.uint16, (2,))
eq("u32", [0, 4000000000], np.uint32, (2,))
assert list(t) == ["a.weight", "b", "c", "d", "e", "scalar", "empty", "i", "u16", "u32"], list(t)
assert m["step"] == "7" and m["config"] == '{"d_model": 128}' and len(m["payload_sha256"]) == 64, m
print("ok")
PYEOF
then pass st_python_loads_c_file; else fail st_python_loads_c_file "$(tail -5 "$T/py.out")"; fi

PYTHONPATH=$ROOT/python $PY - "$T/py.safetensors" <<'PYEOF' >"$T/py.out" 2>&1
import sys
import numpy as np
from safetensors_np import save
save(sys.argv[1], {"w": np.array([[1, 2], [3, 4]], dtype=np.float32),
                   "idx": np.array([5, 6, 7], dtype=np.int32),
                   "h": ("BF16", np.array([0x3f80, 0xc000], dtype=np.uint16)),
                   "n": np.array([-9], dtype=np.int64)},
     {"from": "python"})
PYEOF
if "$TS" --read "$T/py.safetensors" >"$T/read.out" 2>"$T/err"; then pass st_c_reads_python_file
else fail st_c_reads_python_file "$(cat "$T/err") $(tail -3 "$T/py.out")"; fi
want='tensor w F32 [2,2] 1 2 3 4
tensor idx I32 [3] 5 6 7
tensor h BF16 [2] 0x3f80 0xc000
tensor n I64 [1] -9
meta from python'
got=$(grep -v '^meta payload_sha256' "$T/read.out")
[ "$got" = "$want" ] && pass st_python_file_values || fail st_python_file_values "got: $got"

# A payload byte flipped after Python wrote it: the C reader reports a checksum mismatch.
$PY -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[-1]^=1; open(sys.argv[1],'wb').write(b)" "$T/py.safetensors"
expect_err st_c_checksum_mismatch 2 "py.safetensors: checksum mismatch" "$TS" --read "$T/py.safetensors"
