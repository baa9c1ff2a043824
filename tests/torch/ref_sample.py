#!/usr/bin/python3
"""ref_sample: the PyTorch peer for sampling speed (SPEC §9 "sampling tokens/s").

The project's plain GPT (dd_model.GPT, mHC off, same init) decoded with a
hand-written KV cache: the N prompts are prefilled in one batched forward that
fills per-layer K/V buffers, then every step feeds one token for all N sequences,
attending to the cached K/V; the next token is a multinomial draw from the
softmax of the last logits (temperature 1, no top-k/top-p, no stop tokens).

  /usr/bin/python3 tests/torch/ref_sample.py bench --d 128 --L 4 --H 4 --V 1024 \
      --T 128 --N 8 --P 16 --G 32 --threads 2 --reps 3 [--check]
      Prints one JSON line: {"peer": "pytorch", "tok_per_s": N*G/sec, "ms", "N", "P", "G"}
      (best of reps; the timing includes the prefill; only generated tokens count).
      --check first verifies that the KV-cache logits equal a full forward's on the
      same tokens (max abs diff <= 1e-4); exit 1 if not.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))  # dd_model, safetensors_np
from dd_model import GPT  # noqa: E402


def kv_alloc(m, N, T):
    hd = m.C // m.NH
    return [(torch.zeros(N, m.NH, T, hd), torch.zeros(N, m.NH, T, hd)) for _ in range(m.L)]


def kv_forward(m, idx, pos0, cache):
    """idx (N, t) tokens at positions pos0..pos0+t-1; writes their K/V into cache,
    attends to cache[:pos0+t]; returns logits (N, t, V)."""
    assert m.n == 0, "the sampling peer is the plain model (mHC off)"
    N, t = idx.shape
    C, NH = m.C, m.NH
    hd = C // NH
    end = pos0 + t
    x = F.embedding(idx.long(), m.wte) + m.wpe[pos0:end]
    mask = None
    if t > 1:   # causal within the new block; all earlier positions visible
        mask = torch.ones(t, end, dtype=torch.bool).triu(pos0 + 1)
    for blk, (K, Vc) in zip(m.h, cache):
        a = blk.attn
        q, k, v = a.c_attn(blk.ln_1(x)).split(C, 2)
        q = q.view(N, t, NH, hd).transpose(1, 2)
        K[:, :, pos0:end] = k.view(N, t, NH, hd).transpose(1, 2)
        Vc[:, :, pos0:end] = v.view(N, t, NH, hd).transpose(1, 2)
        att = (q @ K[:, :, :end].transpose(-2, -1)) / math.sqrt(hd)
        if mask is not None:
            att = att.masked_fill(mask, float("-inf"))
        y = (att.softmax(-1) @ Vc[:, :, :end]).transpose(1, 2).reshape(N, t, C)
        x = x + a.c_proj(y)
        x = x + blk.mlp(blk.ln_2(x))
    return m.ln_f(x) @ m.wte.t()


def generate(m, prompts, G, gen=None, keep_logits=False):
    """prompts (N, P) -> (N, G) sampled tokens [, list of per-step logits (N, V)]."""
    N, P = prompts.shape
    cache = kv_alloc(m, N, P + G)
    logits = kv_forward(m, prompts, 0, cache)[:, -1]
    out = torch.empty(N, G, dtype=torch.long)
    seen = []
    for s in range(G):
        if keep_logits:
            seen.append(logits)
        nxt = torch.multinomial(logits.softmax(-1), 1, generator=gen)   # (N, 1)
        out[:, s] = nxt[:, 0]
        if s + 1 < G:
            logits = kv_forward(m, nxt, P + s, cache)[:, -1]
    return (out, seen) if keep_logits else out


def check(m, prompts, G):
    """KV-cache logits (prefill and every decode step) == full forward's logits."""
    N, P = prompts.shape
    cache = kv_alloc(m, N, P + G)
    pre = kv_forward(m, prompts, 0, cache)              # (N, P, V)
    out, seen = generate(m, prompts, G, torch.Generator().manual_seed(3), keep_logits=True)
    full = m(torch.cat([prompts, out], 1))[0]            # (N, P+G, V)
    err = (pre - full[:, :P]).abs().max().item()
    for s, lg in enumerate(seen):                        # seen[s] predicts position P+s
        err = max(err, (lg - full[:, P - 1 + s]).abs().max().item())
    ok = err <= 1e-4
    print(f"{'PASS' if ok else 'FAIL'} kv-cache logits vs full forward: max abs diff {err:.2e} (limit 1e-4)",
          file=sys.stderr)
    return ok


def bench(argv):
    p = argparse.ArgumentParser(prog="ref_sample.py bench")
    for k, v in dict(d=128, L=4, H=4, V=1024, T=128, N=8, P=16, G=32, threads=2, reps=3, mhc=0).items():
        p.add_argument("--" + k, type=int, default=v)
    p.add_argument("--check", action="store_true")
    a = p.parse_args(argv)
    if a.mhc:
        sys.exit("ref_sample.py: the sampling peer has no mHC (use --mhc 0)")
    if a.P + a.G > a.T:
        sys.exit("ref_sample.py: need P + G <= T")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = dict(d_model=a.d, n_layers=a.L, n_heads=a.H, seq_len=a.T, vocab_size=a.V,
               mhc={"n": 0}, init_std=0.02)
    m = GPT(cfg).eval()
    prompts = torch.randint(0, a.V, (a.N, a.P))
    with torch.no_grad():
        if a.check and not check(m, prompts, a.G):
            sys.exit(1)
        gen = torch.Generator().manual_seed(2)
        best = float("inf")
        for _ in range(a.reps):
            t0 = time.perf_counter()
            out = generate(m, prompts, a.G, gen)
            best = min(best, time.perf_counter() - t0)
    assert out.shape == (a.N, a.G)
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": a.threads,
                      "tok_per_s": round(a.N * a.G / best, 1), "ms": round(1000 * best, 2),
                      "N": a.N, "P": a.P, "G": a.G}))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "bench":
        bench(sys.argv[2:])
        return
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
