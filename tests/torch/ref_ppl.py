#!/usr/bin/python3
"""ref_ppl: val-bin perplexity of a checkpoint with the PyTorch reference model,
computed independently of the C code, to check bin/retention's numbers.

  /usr/bin/python3 tests/torch/ref_ppl.py CKPT_DIR VAL_BIN T B K

Batches as retention defines them: batch k holds B sequences of T + 1 contiguous
tokens (inputs, next-token targets) starting at (k*B + b)*T; at most K batches,
fewer when the bin runs out. The model config comes from the checkpoint's own
safetensors metadata; the forward runs in float64. Prints one JSON line:
{"ppl", "loss", "batches", "tokens"}.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402
from ref_model import GPT  # noqa: E402

BIN_MAGIC, BIN_HEADER = 0x4444544B, 1024


def read_bin(path):
    with open(path, "rb") as f:
        raw = f.read()
    h = struct.unpack("<256i", raw[:BIN_HEADER])
    assert h[0] == BIN_MAGIC and h[1] == 1, f"{path}: not a token bin"
    ntok, bpt = h[2], h[4]
    dt = {2: "<u2", 4: "<u4"}[bpt]
    toks = np.frombuffer(raw[BIN_HEADER:BIN_HEADER + ntok * bpt], dtype=dt).astype(np.int64)
    assert len(toks) == ntok, f"{path}: truncated"
    return toks


def main():
    ckpt, val_bin = sys.argv[1], sys.argv[2]
    T, B, K = (int(x) for x in sys.argv[3:6])
    tensors, meta = safetensors_np.load(os.path.join(ckpt, "model.safetensors"))
    cfg = json.loads(meta["model_config"])
    model = GPT(cfg).double()
    model.load_named({k: v.astype(np.float64) for k, v in tensors.items()})
    model.eval()
    toks = read_bin(val_bin)
    batches = min(K, (len(toks) - 1) // (B * T)) if len(toks) > B * T else 0
    assert batches > 0, "bin too small for one batch"
    total = 0.0
    with torch.no_grad():
        for k in range(batches):
            x = np.stack([toks[(k * B + b) * T:(k * B + b) * T + T] for b in range(B)])
            y = np.stack([toks[(k * B + b) * T + 1:(k * B + b) * T + T + 1] for b in range(B)])
            _, loss = model(torch.from_numpy(x), torch.from_numpy(y))
            total += loss.item()
    loss = total / batches
    print(json.dumps({"ppl": math.exp(loss), "loss": loss, "batches": batches, "tokens": batches * B * T}))


if __name__ == "__main__":
    main()
