# SDFT's per-token reverse KL and its gradient against PyTorch autograd.
. "$(dirname "$0")/lib.sh"
"$ROOT/build/tests/test_sdft" --dump "$T" || { fail sdft_dump "test_sdft --dump failed"; exit 1; }
/usr/bin/python3 "$ROOT/tests/torch/ref_sdft.py" "$T" || fail sdft_torch_reference "ref_sdft.py exited $?"
