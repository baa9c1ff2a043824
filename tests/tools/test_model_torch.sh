# The C model against the independent PyTorch reference (python/dd_model.py,
# Debian's python3-torch): logits, loss, every gradient and a 10-step AdamW loss
# trajectory, with mHC on (n=4) and off.
. "$(dirname "$0")/lib.sh"
for n in 4 0; do
    "$ROOT/build/tests/test_model" --dump "$T/mhc$n" --mhc $n || { fail "dump_mhc$n" "test_model --dump failed"; continue; }
    /usr/bin/python3 "$ROOT/python/dd_model.py" compare "$T/mhc$n" >"$T/out$n" 2>&1
    rc=$?
    sed "s/^\(PASS\|FAIL\) ref_model\./\1 mhc${n}./" "$T/out$n"
    [ $rc -eq 0 ] || fail "torch_reference_mhc$n" "dd_model.py exited $rc"
done
# LoRA: the adapter's gradients of a per-token weighted loss against PyTorch autograd.
"$ROOT/build/tests/test_model" --dump-lora "$T/lora" || fail dump_lora "test_model --dump-lora failed"
/usr/bin/python3 "$ROOT/tests/torch/ref_lora.py" "$T/lora" >"$T/lora.out" 2>&1
rc=$?
cat "$T/lora.out"
[ $rc -eq 0 ] || fail torch_reference_lora "ref_lora.py exited $rc"
