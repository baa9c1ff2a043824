#!/usr/bin/python3
"""One TTT step in PyTorch: the peer of tests/bench/bench_ttt_step.c (issue 21).

  ref_ttt_step.py check DIR     parity with `bench_ttt_step ... --dump DIR`: on the C side's
                                sampled tokens, the loss, every LoRA gradient (float64
                                autograd of the reference model, dd_model.GPT, with the
                                adapter as ref_lora.py attaches it) and the Adam step
  ref_ttt_step.py bench --d 128 --L 4 --H 4 --V 1024 --T 128 --N 32 --P 16 --G 32 --rank 8 --threads 2 [--reps 3]
  ref_ttt_step.py bench ... --flops   one step under torch.profiler (with_flops): the flops of
                                the products PyTorch ran (profiler_gflop), which bounds from
                                above what bench_ttt_step counts as the step's necessary work

The step, on both sides: sample N completions of G tokens from N prompts of P tokens with
the adapter on (batched KV cache, temperature 1, under torch.inference_mode()); the batch
of the completions whose advantage is not 0 (inputs prompt + completion, targets the
completion's tokens); the base model's per-token cross-entropy (adapter off, no gradient)
and the adapter's (with gradient); d_t = CE_base - CE (= log pi - log pi_base), per-token
advantage A_t = A + kl_lambda (mean d - d_t) held constant; loss = sum_t A_t CE_t / rows;
backward into the LoRA factors; one Adam step (betas 0.9, 0.95, eps 1e-8, no weight decay).
Fair to PyTorch: float32, torch.set_num_threads equal to ours, inference_mode where no
gradient is needed, a batched KV cache (ref_sample.py's), torch.optim.Adam (foreach).
The verifier is outside the timing on both sides. Prints PASS/FAIL lines (check) or one
JSON line (bench)."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))  # dd_model, safetensors_np
from dd_model import GPT, st_load  # noqa: E402
from ref_sample import kv_alloc, kv_forward  # noqa: E402

SITES = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")


class Adapter:
    """LoRA on every layer's four products: W x + b + (alpha / r) B (A x), switchable."""

    def __init__(self, model, params, scale):
        self.params, self.scale, self.enabled = params, scale, True
        for l, blk in enumerate(model.h):
            for name in SITES:
                mod = blk.attn.c_attn if name == "attn.c_attn" else blk.attn.c_proj if name == "attn.c_proj" else \
                    blk.mlp.c_fc if name == "mlp.c_fc" else blk.mlp.c_proj
                mod.register_forward_hook(self.hook(f"base_model.model.h.{l}.{name}"))

    def hook(self, prefix):
        A, B = self.params[prefix + ".lora_A.weight"], self.params[prefix + ".lora_B.weight"]
        return lambda mod, inp, out: out + self.scale * (inp[0] @ A.t()) @ B.t() if self.enabled else out


def batch_of(prompts, out, adv):
    """The training rows (advantage != 0): inputs (rows, P+G-1), targets (-1 over the prompt)."""
    N, P = prompts.shape
    G = out.shape[1]
    rows = [i for i in range(N) if adv[i] != 0]
    seq = torch.cat([prompts, out], 1)[rows]               # (rows, P+G)
    inp = seq[:, :-1]
    tgt = seq[:, 1:].clone()
    tgt[:, :P - 1] = -1
    return inp, tgt, adv[rows]


def update_loss(model, ad, inp, tgt, adv_rows, kl_lambda):
    """loss = sum_t A_t CE_t / rows with the KL-shaped per-token advantage (held constant)."""
    V = model.V
    with torch.no_grad():
        ad.enabled = False
        ce_base = F.cross_entropy(model(inp)[0].reshape(-1, V), tgt.reshape(-1), ignore_index=-1,
                                  reduction="none").view(tgt.shape)
        ad.enabled = True
    ce = F.cross_entropy(model(inp)[0].reshape(-1, V), tgt.reshape(-1), ignore_index=-1,
                         reduction="none").view(tgt.shape)
    valid = tgt >= 0
    d = (ce_base - ce).detach()
    dmean = d[valid].mean()
    At = adv_rows[:, None] + kl_lambda * (dmean - d)
    rows = inp.shape[0]
    return (At / rows * ce)[valid].sum(), dmean


def check(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    meta = json.load(open(os.path.join(d, "meta.json")))
    model = GPT(cfg).double()
    weights, _ = st_load(os.path.join(d, "weights.safetensors"))
    model.load_named(weights)
    for p in model.parameters():
        p.requires_grad_(False)
    lora, lmeta = st_load(os.path.join(d, "lora.safetensors"))
    grads_c, _ = st_load(os.path.join(d, "lora_grads.safetensors"))
    after_c, _ = st_load(os.path.join(d, "lora_after.safetensors"))
    batch, _ = st_load(os.path.join(d, "batch.safetensors"))
    out_c, _ = st_load(os.path.join(d, "outputs.safetensors"))
    params = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in lora.items()}
    ad = Adapter(model, params, float(lmeta["lora_alpha"]) / int(lmeta["r"]))
    prompts = torch.from_numpy(batch["prompts"].astype(np.int64))
    out = torch.from_numpy(batch["out"].astype(np.int64))
    adv = torch.from_numpy(batch["advantages"].astype(np.float64))
    inp, tgt, adv_rows = batch_of(prompts, out, adv)
    loss, dmean = update_loss(model, ad, inp, tgt, adv_rows, meta["kl_lambda"])
    loss.backward()
    fails = 0
    loss_c, kl_c = (float(x) for x in out_c["loss_kl"])
    ok = abs(loss.item() - loss_c) <= 1e-5 * max(1.0, abs(loss.item()))
    print(("PASS" if ok else "FAIL") + f" ttt_step.loss (C {loss_c:.7g} torch {loss.item():.7g})")
    fails += not ok
    ok = abs(dmean.item() - kl_c) <= 1e-5 * max(1e-2, abs(dmean.item())) + 1e-7
    print(("PASS" if ok else "FAIL") + f" ttt_step.mean_d (C {kl_c:.7g} torch {dmean.item():.7g})")
    fails += not ok
    top = max(p.grad.abs().max().item() for p in params.values())
    worst = 0.0
    for k in sorted(params):
        g = params[k].grad.numpy()
        worst = max(worst, np.abs(g - grads_c[k].astype(np.float64)).max() / max(np.abs(g).max(), 1e-3 * top))
    ok = worst <= 1e-4
    print(("PASS" if ok else "FAIL") + f" ttt_step.lora_grads ({len(params)} tensors, worst rel err {worst:.2e})")
    fails += not ok
    # The Adam step from the C side's gradients: t = 1, m = (1-b1) g, v = (1-b2) g^2, bias-corrected.
    lr, b1, b2, eps = meta["lr"], meta["beta1"], meta["beta2"], meta["eps"]
    worst = 0.0
    for k in sorted(params):
        g = grads_c[k].astype(np.float64)
        mhat = (1 - b1) * g / (1 - b1)
        vhat = (1 - b2) * g * g / (1 - b2)
        want = lora[k].astype(np.float64) - lr * mhat / (np.sqrt(vhat) + eps)
        worst = max(worst, np.abs(want - after_c[k].astype(np.float64)).max() / lr)
    ok = worst <= 1e-3
    print(("PASS" if ok else "FAIL") + f" ttt_step.adam (worst |diff| {worst:.2e} x lr)")
    fails += not ok
    sys.exit(1 if fails else 0)


def bench(argv):
    p = argparse.ArgumentParser(prog="ref_ttt_step.py bench")
    for k, v in dict(d=128, L=4, H=4, V=1024, T=128, N=32, P=16, G=32, rank=8, threads=2, reps=3).items():
        p.add_argument("--" + k, type=int, default=v)
    p.add_argument("--flops", action="store_true", help="one step under torch.profiler: print its products' flops")
    a = p.parse_args(argv)
    if a.P + a.G > a.T:
        sys.exit("ref_ttt_step.py: need P + G <= T")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = dict(d_model=a.d, n_layers=a.L, n_heads=a.H, seq_len=a.T, vocab_size=a.V, mhc={"n": 0}, init_std=0.02)
    model = GPT(cfg)
    for q in model.parameters():
        q.requires_grad_(False)
    params = {}
    for l, blk in enumerate(model.h):
        for name, (fin, fout) in zip(SITES, ((a.d, 3 * a.d), (a.d, a.d), (a.d, 4 * a.d), (4 * a.d, a.d))):
            pre = f"base_model.model.h.{l}.{name}"
            params[pre + ".lora_A.weight"] = (0.02 * torch.randn(a.rank, fin)).requires_grad_()
            params[pre + ".lora_B.weight"] = (0.02 * torch.randn(fout, a.rank)).requires_grad_()
    ad = Adapter(model, params, 2.0)
    opt = torch.optim.Adam(params.values(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    prompts = torch.randint(0, a.V, (a.N, a.P))
    adv = torch.rand(a.N) - 0.5
    adv[3::4] = 0
    gen = torch.Generator().manual_seed(2)
    best = float("inf")
    prof = None
    if a.flops:   # one step under the profiler: the products' flops as PyTorch counts them
        a.reps = 1
        prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], with_flops=True)
        prof.__enter__()
    for _ in range(a.reps):
        t0 = time.perf_counter()
        with torch.inference_mode():
            cache = kv_alloc(model, a.N, a.P + a.G)
            logits = kv_forward(model, prompts, 0, cache)[:, -1]
            out = torch.empty(a.N, a.G, dtype=torch.long)
            for s in range(a.G):
                nxt = torch.multinomial(logits.softmax(-1), 1, generator=gen)
                out[:, s] = nxt[:, 0]
                if s + 1 < a.G:
                    logits = kv_forward(model, nxt, a.P + s, cache)[:, -1]
        inp, tgt, adv_rows = batch_of(prompts, out, adv)
        opt.zero_grad(set_to_none=True)
        loss, _ = update_loss(model, ad, inp, tgt, adv_rows, 0.1)
        loss.backward()
        opt.step()
        best = min(best, time.perf_counter() - t0)
    res = {"peer": "pytorch", "torch": torch.__version__, "threads": a.threads, "step_ms": round(1000 * best, 2),
           "N": a.N, "P": a.P, "G": a.G, "rank": a.rank, "rows": int((adv != 0).sum())}
    if prof:
        prof.__exit__(None, None, None)
        res["profiler_gflop"] = round(sum(e.flops for e in prof.key_averages()) / 1e9, 4)
        res.pop("step_ms")   # the profiler's overhead is in it
    print(json.dumps(res))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    elif len(sys.argv) >= 2 and sys.argv[1] == "bench":
        bench(sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
