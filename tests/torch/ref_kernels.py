#!/usr/bin/python3
"""ref_kernels: recompute the kernels of kernels/kernels.h with PyTorch.

Reads the raw float32 files that `test_kernels --dump DIR` writes (listed, with
their shapes, in DIR/manifest.txt), recomputes every forward with torch
(float64, from the same fp32 inputs) and every gradient with autograd using
loss = sum(out * dout), and prints one PASS/FAIL line per tensor with the max
absolute and relative error. Exit status 1 if anything failed.

Usage: /usr/bin/python3 tests/torch/ref_kernels.py DIR
"""
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
D = sys.argv[1]
T = {}
for line in open(f"{D}/manifest.txt"):
    name, *dims = line.split()
    a = np.fromfile(f"{D}/{name}.f32", dtype=np.float32).reshape([int(d) for d in dims])
    T[name] = torch.from_numpy(a.astype(np.float64))

failures = 0


def leaf(name):
    return T[name].clone().requires_grad_(True)


def compare(name, ours, ref, tol=1e-4):
    """max |ours - ref| relative to max(|ref|, 1) (tolerance for fp32 kernels)."""
    global failures
    ref = ref.detach()
    err = (ours - ref).abs().max().item()
    scale = max(ref.abs().max().item(), 1.0)
    ok = err / scale < tol
    print(f"{'PASS' if ok else 'FAIL'} torch {name}{'' if ok else ':'} max abs err {err:.3g}, rel {err / scale:.3g}")
    failures += not ok


def backward(out, dout):
    (out * dout).sum().backward()


# matmul
x, w, b = leaf("matmul.inp"), leaf("matmul.weight"), leaf("matmul.bias")
out = F.linear(x, w, b)
backward(out, T["matmul.dout"])
compare("matmul.out", T["matmul.out"], out)
compare("matmul.dinp", T["matmul.dinp"], x.grad)
compare("matmul.dweight", T["matmul.dweight"], w.grad)
compare("matmul.dbias", T["matmul.dbias"], b.grad)
# matmul_forward_t: the same product from the transposed weight; transpose is exact
ok = torch.equal(T["matmul_t.weight_t"], T["matmul.weight"].t())
print(f"{'PASS' if ok else 'FAIL'} torch transpose{'' if ok else ': not the exact transpose'}")
failures += not ok
compare("matmul_t.out", T["matmul_t.out"], T["matmul.inp"] @ T["matmul_t.weight_t"] + T["matmul.bias"])

# layernorm
x, w, b = leaf("layernorm.inp"), leaf("layernorm.weight"), leaf("layernorm.bias")
out = F.layer_norm(x, (x.shape[-1],), w, b, eps=1e-5)
backward(out, T["layernorm.dout"])
compare("layernorm.out", T["layernorm.out"], out)
compare("layernorm.mean", T["layernorm.mean"], x.mean(-1))
compare("layernorm.rstd", T["layernorm.rstd"], 1 / torch.sqrt(x.var(-1, unbiased=False) + 1e-5))
compare("layernorm.dinp", T["layernorm.dinp"], x.grad)
compare("layernorm.dweight", T["layernorm.dweight"], w.grad)
compare("layernorm.dbias", T["layernorm.dbias"], b.grad)

# rmsnorm, no gain, eps 1e-6
x = leaf("rmsnorm.inp")
out = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
backward(out, T["rmsnorm.dout"])
compare("rmsnorm.out", T["rmsnorm.out"], out)
compare("rmsnorm.dinp", T["rmsnorm.dinp"], x.grad)

# gelu, tanh approximation
x = leaf("gelu.inp")
out = F.gelu(x, approximate="tanh")
backward(out, T["gelu.dout"])
compare("gelu.out", T["gelu.out"], out)
compare("gelu.dinp", T["gelu.dinp"], x.grad)

# causal attention, llm.c layout: qkv (B, T, 3C), NH from att (B, NH, T, T)
qkv = leaf("attention.qkv")
B, Tn, C3 = qkv.shape
C = C3 // 3
NH = T["attention.att"].shape[1]
hs = C // NH
q, k, v = qkv.split(C, dim=2)
q, k, v = (z.view(B, Tn, NH, hs).transpose(1, 2) for z in (q, k, v))
att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
mask = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool))
att = att.masked_fill(~mask, float("-inf")).softmax(-1)
out = (att @ v).transpose(1, 2).contiguous().view(B, Tn, C)
backward(out, T["attention.dout"])
compare("attention.out", T["attention.out"], out)
compare("attention.att", T["attention.att"], att)
compare("attention.dqkv", T["attention.dqkv"], qkv.grad)

# fused softmax + cross-entropy
logits = leaf("crossentropy.logits")
targets = T["crossentropy.targets"].long()
losses = F.cross_entropy(logits, targets, reduction="none")
backward(losses, T["crossentropy.dlosses"])
compare("crossentropy.losses", T["crossentropy.losses"], losses)
mx = logits.detach().max(-1).values
compare("crossentropy.stats", T["crossentropy.stats"],
        torch.stack([mx, 1.0 / (logits.detach() - mx[:, None]).exp().sum(-1)], -1))
compare("crossentropy.dlogits", T["crossentropy.dlogits"], logits.grad)

# AdamW, 3 steps: lr 1e-2, betas (0.9, 0.95), eps 1e-8, weight_decay 0.1 (fp32, as ours)
p = torch.nn.Parameter(T["adamw.params0"].float().clone())
opt = torch.optim.AdamW([p], lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
for g in T["adamw.grads"].float():
    p.grad = g.clone()
    opt.step()
st = opt.state[p]
compare("adamw.params", T["adamw.params"], p.double(), tol=1e-5)
compare("adamw.m", T["adamw.m"], st["exp_avg"].double(), tol=1e-5)
compare("adamw.v", T["adamw.v"], st["exp_avg_sq"].double(), tol=1e-5)

# Sinkhorn-Knopp, SPEC §12: M = exp(H - max); 20 x (columns, then rows); autograd through all
H = leaf("sinkhorn.logits")                      # (N, n, n)
M = torch.exp(H - H.amax(dim=(-2, -1), keepdim=True).detach())
for _ in range(20):
    M = M / M.sum(-2, keepdim=True)              # columns
    M = M / M.sum(-1, keepdim=True)              # rows
backward(M, T["sinkhorn.dout"])
compare("sinkhorn.out", T["sinkhorn.out"], M)
compare("sinkhorn.dlogits", T["sinkhorn.dlogits"], H.grad)

# encoder: token + position embedding
wte, wpe = leaf("encoder.wte"), leaf("encoder.wpe")
tok = T["encoder.tokens"].long()
out = wte[tok] + wpe[: tok.shape[1]].unsqueeze(0)
backward(out, T["encoder.dout"])
compare("encoder.out", T["encoder.out"], out)
compare("encoder.dwte", T["encoder.dwte"], wte.grad)
compare("encoder.dwpe", T["encoder.dwpe"], wpe.grad)

sys.exit(1 if failures else 0)
