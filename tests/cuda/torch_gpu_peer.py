#!/usr/bin/env python3
"""The GPU peer of docs/performance.md: the pinned CPU peer's model (../shared/bench/torch_gpt_peer.py:
pre-LayerNorm GPT-2, tied embeddings, learned positions, tanh-GELU, causal attention written out,
biases; AdamW lr 1e-3, no weight decay; a fixed random batch) on a CUDA GPU with PyTorch 2.x.
  --mode eager|compile     torch.compile(model) for compile
  --precision fp32|bf16    bf16 = torch.autocast(bfloat16) with fp32 weights (our bf16 mode's
                           contract); fp32 = true fp32 matrix products (TF32 off), for parity runs
Prints one JSON line with tok_per_s and MFU (llm.c's 6N + 6LCT FLOPs per token over --peak_tflops).
Run with the GPU machine's python3 (PyTorch 2.x), never Debian's CPU build."""
import argparse, json, math, time
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
for k, v in dict(d=768, L=12, H=12, V=32000, T=256, B=4, steps=20, warmup=5, grad_accum=1).items():
    p.add_argument("--" + k, type=int, default=v)
p.add_argument("--mode", default="eager", choices=["eager", "compile"])
p.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
p.add_argument("--peak_tflops", type=float, default=989.0)
p.add_argument("--device", default="cuda", help="cuda; cpu only to check this script without a GPU")
a = p.parse_args()
torch.manual_seed(0)
dev = a.device
sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln1, s.ln2 = nn.LayerNorm(a.d), nn.LayerNorm(a.d)
        s.qkv, s.proj = nn.Linear(a.d, 3 * a.d), nn.Linear(a.d, a.d)
        s.fc, s.out = nn.Linear(a.d, 4 * a.d), nn.Linear(4 * a.d, a.d)
        s.register_buffer("mask", torch.ones(a.T, a.T, dtype=torch.bool).triu(1))
    def forward(s, x):
        B, T, C = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(C, 2)
        q, k, v = [t.view(B, T, a.H, C // a.H).transpose(1, 2) for t in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // a.H)
        att = att.masked_fill(s.mask[:T, :T], float("-inf")).softmax(-1)
        x = x + s.proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + s.out(F.gelu(s.fc(s.ln2(x)), approximate="tanh"))

class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.wte, s.wpe = nn.Embedding(a.V, a.d), nn.Embedding(a.T, a.d)
        s.blocks = nn.ModuleList(Block() for _ in range(a.L))
        s.lnf = nn.LayerNorm(a.d)
        for m in s.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
    def forward(s, idx, tgt):
        x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1], device=idx.device))
        for b in s.blocks:
            x = b(x)
        return F.cross_entropy((s.lnf(x) @ s.wte.weight.t()).view(-1, a.V).float(), tgt.view(-1))

m = GPT().to(dev)
n_params = sum(p.numel() for p in m.parameters())
opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.0)
fwd = torch.compile(m) if a.mode == "compile" else m
x = torch.randint(0, a.V, (a.B, a.T), device=dev)
y = torch.randint(0, a.V, (a.B, a.T), device=dev)
for i in range(a.warmup + a.steps):
    if i == a.warmup:
        sync()
        t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    for _ in range(a.grad_accum):
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            loss = fwd(x, y) / a.grad_accum
        loss.backward()
    opt.step()
sync()
dt = (time.perf_counter() - t0) / a.steps
tok_s = a.B * a.T * a.grad_accum / dt
print(json.dumps({"peer": "pytorch-" + a.mode, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if dev == "cuda" else "none",
                  "precision": a.precision, "params": n_params, "B": a.B, "T": a.T,
                  "tok_per_s": round(tok_s, 1), "ms_per_step": round(1000 * dt, 2),
                  "mfu": round(tok_s * (6 * n_params + 6 * a.L * a.d * a.T) / (a.peak_tflops * 1e12), 4),
                  "loss": round(loss.item() * a.grad_accum, 4)}))
