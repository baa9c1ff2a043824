#!/usr/bin/python3
"""dd_load: this project's files from Python (Debian's python3-numpy and python3-torch).

    import sys; sys.path.insert(0, "python")
    import dd_load
    model, cfg = dd_load.load_checkpoint("out/small/runs/pretrain_base/ckpt_latest")
    toks = dd_load.read_bin("out/small/data/packed/val.bin")
    print(dd_load.val_loss(model, toks, T=128, B=4, K=20))   # what bin/retention computes

  /usr/bin/python3 python/dd_load.py CKPT_DIR VAL_BIN T B K
      prints one JSON line {"ppl", "loss", "batches", "tokens"}: the checkpoint's val loss
      exactly as bin/retention cuts its batches (tests/tools/test_retention.sh compares).

load_checkpoint rebuilds the model in PyTorch (dd_model.GPT: docs/model.md, mHC
included) from the checkpoint's model.safetensors; its config is the file's own
`model_config` metadata and the payload checksum is verified. read_bin reads a packed
token bin (docs/formats.md: a 1024-byte header of 256 int32, then uint16 or uint32 ids),
checking magic, version, length and that every id is below the header's vocab.
Validation batches (docs/formats.md): batch k holds B windows of T + 1 contiguous tokens,
window b starting at token (k*B + b)*T (windows every T tokens, so consecutive windows
share one token); inputs are the first T, targets the last T; at most K batches, fewer
when the bin runs out. The loss is the mean over batches of each batch's mean token
cross-entropy; ppl = exp(loss). The forward runs in float64.
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
from dd_model import GPT  # noqa: E402

BIN_MAGIC, BIN_VERSION, BIN_HEADER = 0x4444544B, 1, 1024


def load_checkpoint(ckpt_dir, dtype=torch.float64):
    """(GPT model in eval mode, its config dict) from CKPT_DIR/model.safetensors."""
    tensors, meta = safetensors_np.load(os.path.join(ckpt_dir, "model.safetensors"))
    if "model_config" not in meta:
        raise ValueError(f"{ckpt_dir}/model.safetensors: no model_config metadata")
    cfg = json.loads(meta["model_config"])
    model = GPT(cfg).to(dtype)
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    model.load_named({k: v.astype(np_dtype) for k, v in tensors.items()})
    model.eval()
    return model, cfg


def read_bin(path):
    """The token ids of a packed bin, as int64."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < BIN_HEADER:
        raise ValueError(f"{path}: shorter than the {BIN_HEADER}-byte header")
    h = struct.unpack("<256i", raw[:BIN_HEADER])
    if h[0] != BIN_MAGIC or h[1] != BIN_VERSION:
        raise ValueError(f"{path}: not a token bin (magic {h[0]:#x}, version {h[1]})")
    ntok, vocab, bpt = h[2], h[3], h[4]
    if bpt not in (2, 4) or len(raw) != BIN_HEADER + ntok * bpt:
        raise ValueError(f"{path}: {len(raw)} bytes, the header says {BIN_HEADER} + {ntok} x {bpt}")
    toks = np.frombuffer(raw[BIN_HEADER:], dtype={2: "<u2", 4: "<u4"}[bpt]).astype(np.int64)
    if ntok and toks.max() >= vocab:
        raise ValueError(f"{path}: token id {int(toks.max())} >= vocab {vocab}")
    return toks


def val_batches(toks, T, B, K):
    """The (inputs, targets) batches bin/retention evaluates, each (B, T) int64."""
    n = min(K, (len(toks) - 1) // (B * T)) if len(toks) > B * T else 0
    for k in range(n):
        starts = [(k * B + b) * T for b in range(B)]
        yield (np.stack([toks[s:s + T] for s in starts]), np.stack([toks[s + 1:s + T + 1] for s in starts]))


def val_loss(model, toks, T, B, K):
    """{"ppl", "loss", "batches", "tokens"} of model over val_batches(toks, T, B, K)."""
    total, n = 0.0, 0
    with torch.no_grad():
        for x, y in val_batches(toks, T, B, K):
            _, loss = model(torch.from_numpy(x), torch.from_numpy(y))
            total += loss.item()
            n += 1
    if n == 0:
        raise ValueError("bin too small for one batch")
    return {"ppl": math.exp(total / n), "loss": total / n, "batches": n, "tokens": n * B * T}


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    model, _ = load_checkpoint(sys.argv[1])
    T, B, K = (int(x) for x in sys.argv[3:6])
    print(json.dumps(val_loss(model, read_bin(sys.argv[2]), T, B, K)))


if __name__ == "__main__":
    main()
