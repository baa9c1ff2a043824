#!/usr/bin/python3
"""LoRA against PyTorch: the reference model (dd_model.GPT, float64) with the
C side's adapter attached to every layer's attn.c_attn, attn.c_proj, mlp.c_fc and
mlp.c_proj (W x + b + (alpha / r) B (A x)), the loss sum_i w_i CE_i over the
batch (ignored targets < 0), and autograd's gradients of the adapter compared
with `build/tests/test_model --dump-lora DIR`. Prints PASS/FAIL lines."""
import json, os, sys
import numpy as np
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))  # dd_model, safetensors_np
from dd_model import GPT, st_load

d = sys.argv[1]
cfg = json.load(open(os.path.join(d, "config.json")))
model = GPT(cfg).double()
weights, _ = st_load(os.path.join(d, "weights.safetensors"))
model.load_named(weights)
for p in model.parameters():
    p.requires_grad_(False)
lora, meta = st_load(os.path.join(d, "lora.safetensors"))
grads_c, _ = st_load(os.path.join(d, "lora_grads.safetensors"))
batch, _ = st_load(os.path.join(d, "batch.safetensors"))
scale = float(meta["lora_alpha"]) / int(meta["r"])
params = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in lora.items()}

def hook(prefix):
    A, B = params[prefix + ".lora_A.weight"], params[prefix + ".lora_B.weight"]
    return lambda mod, inp, out: out + scale * (inp[0] @ A.t()) @ B.t()

for l, blk in enumerate(model.h):
    for name, mod in (("attn.c_attn", blk.attn.c_attn), ("attn.c_proj", blk.attn.c_proj),
                      ("mlp.c_fc", blk.mlp.c_fc), ("mlp.c_proj", blk.mlp.c_proj)):
        mod.register_forward_hook(hook(f"base_model.model.h.{l}.{name}"))

x = torch.from_numpy(batch["inputs"].astype(np.int64))
y = torch.from_numpy(batch["targets"].astype(np.int64))
w = torch.from_numpy(batch["weights"].astype(np.float64)).view(-1)
logits, _ = model(x)
ce = F.cross_entropy(logits.view(-1, model.V), y.view(-1), ignore_index=-1, reduction="none")
loss = (w * ce).sum()
loss.backward()
fails = 0
loss_c = float(st_load(os.path.join(d, "outputs.safetensors"))[0]["loss"][0])
ok = abs(loss.item() - loss_c) <= 1e-5 * max(1.0, abs(loss.item()))
print(("PASS" if ok else "FAIL") + f" lora.weighted_loss (C {loss_c:.7g} torch {loss.item():.7g})")
fails += not ok
top = max(p.grad.abs().max().item() for p in params.values())
for k in sorted(params):
    g = params[k].grad.numpy()
    err = np.abs(g - grads_c[k].astype(np.float64)).max() / max(np.abs(g).max(), 1e-3 * top)
    ok = err <= 1e-4
    fails += not ok
    print(("PASS" if ok else "FAIL") + f" lora.grad.{k[len('base_model.model.'):]} (rel err {err:.2e})")
sys.exit(1 if fails else 0)
