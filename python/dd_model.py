#!/usr/bin/python3
"""dd_model: an independent PyTorch re-implementation of docs/model.md.

A GPT-2-style pre-norm decoder (tied embeddings, learned positions, tanh-GELU
MLP, causal softmax attention, biases, LayerNorm eps 1e-5) with optional mHC
residual streams (n > 0). Parameter names are exactly docs/model.md's
safetensors names, so `model.named_tensors()` / `model.load_named(...)` talk to
the C side's files directly.

CLI (Debian's python3-torch, numpy; nothing else):
  /usr/bin/python3 python/dd_model.py compare DIR
      DIR = `build/tests/test_model --dump DIR`: config.json, weights.safetensors,
      batch.safetensors, grads.safetensors, outputs.safetensors, trajectory.json.
      Prints one `PASS name` / `FAIL name: details` line per check; exit 1 on failure.
  /usr/bin/python3 python/dd_model.py bench --d 128 --L 4 --H 4 --V 1024 \
      --T 128 --B 8 --threads 2 --steps 10 --warmup 2 [--mhc 0]
      The project's own PyTorch peer (same model and protocol as
      ../shared/bench/torch_gpt_peer.py); prints one JSON line with its keys.
"""
import argparse
import collections
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# --------------------------------------------------------------------------
# safetensors: prefer the shared helper (python/safetensors_np.py); fall
# back to a minimal private reader/writer with the same interface.

_DT = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I32": np.int32,
       "I64": np.int64, "I16": np.int16, "I8": np.int8, "U8": np.uint8}
_DT_INV = {np.dtype(v).str: k for k, v in _DT.items()}


def _st_load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    data = raw[8 + hlen:]
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        dt = np.dtype(_DT[info["dtype"]]).newbyteorder("<")
        arr = np.frombuffer(data[a:b], dtype=dt).reshape(info["shape"])
        out[name] = arr.astype(arr.dtype.newbyteorder("="), copy=True)
    return out, meta


def _st_save(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        le = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        b = le.tobytes()
        header[name] = {"dtype": _DT_INV[np.dtype(arr.dtype).newbyteorder("<").str],
                        "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


try:
    import safetensors_np as _shared_st  # written concurrently by someone else

    def st_load(path):
        return _shared_st.load(path)

    def st_save(path, tensors, metadata=None):
        return _shared_st.save(path, tensors, metadata or {})
except Exception:  # not there (yet): the private fallback above
    st_load, st_save = _st_load, _st_save


# --------------------------------------------------------------------------
# The model

def mhc_n(cfg):
    m = cfg.get("mhc", 0)
    if isinstance(m, dict):
        return int(m.get("n", 0))
    return int(m or 0)


def sinkhorn(h, iters):
    """h (..., n, n) logits -> (close to) doubly stochastic. A = exp(h - max)
    with the max detached; then `iters` x (normalise columns, then rows)."""
    mx = h.detach().amax(dim=(-2, -1), keepdim=True)
    A = torch.exp(h - mx)
    for _ in range(iters):
        A = A / A.sum(dim=-2, keepdim=True)   # columns: sum over rows i
        A = A / A.sum(dim=-1, keepdim=True)   # rows: sum over columns j
    return A


def mhc_coeffs(x, phi, alpha, bias, n, iters):
    """x (..., n, C) -> H_pre (..., n), H_post (..., n), H_res (..., n, n)."""
    v = x.flatten(-2)                                          # (..., nC)
    r = v / torch.sqrt(v.pow(2).mean(dim=-1, keepdim=True) + 1e-6)
    p = r @ phi.t()                                            # (..., M)
    ht = torch.cat([alpha[0] * p[..., :n], alpha[1] * p[..., n:2 * n],
                    alpha[2] * p[..., 2 * n:]], dim=-1) + bias
    H_pre = torch.sigmoid(ht[..., :n])
    H_post = 2.0 * torch.sigmoid(ht[..., n:2 * n])
    H_res = sinkhorn(ht[..., 2 * n:].reshape(*ht.shape[:-1], n, n), iters)
    return H_pre, H_post, H_res


def mhc_sublayer(x, fn, phi, alpha, bias, n, iters):
    """One mHC sublayer: x (..., n, C) streams, fn a (..., C) -> (..., C) map."""
    H_pre, H_post, H_res = mhc_coeffs(x, phi, alpha, bias, n, iters)
    u = (H_pre.unsqueeze(-1) * x).sum(dim=-2)                  # (..., C)
    y = fn(u)
    return H_res @ x + H_post.unsqueeze(-1) * y.unsqueeze(-2)


class MHC(nn.Module):
    def __init__(self, n, C):
        super().__init__()
        M = 2 * n + n * n
        self.n = n
        self.phi = nn.Parameter(torch.zeros(M, n * C))
        self.alpha = nn.Parameter(torch.full((3,), 0.01))
        b_res = torch.full((n, n), -8.0)
        b_res.fill_diagonal_(0.0)
        self.bias = nn.Parameter(torch.cat([torch.full((n,), -math.log(n - 1)),
                                            torch.zeros(n), b_res.flatten()]))


class Attn(nn.Module):
    def __init__(self, C, NH, T):
        super().__init__()
        self.NH = NH
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1), persistent=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, 2)
        q, k, v = [t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.NH)
        att = att.masked_fill(self.mask[:T, :T], float("-inf")).softmax(-1)
        return self.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.c_fc = nn.Linear(C, 4 * C)
        self.c_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, C, NH, T, n, iters):
        super().__init__()
        self.n, self.iters = n, iters
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = Attn(C, NH, T)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.mlp = MLP(C)
        if n > 0:
            self.mhc_attn = MHC(n, C)
            self.mhc_mlp = MHC(n, C)

    def f_attn(self, u):
        return self.attn(self.ln_1(u))

    def f_mlp(self, u):
        return self.mlp(self.ln_2(u))

    def forward(self, x):
        if self.n == 0:
            x = x + self.f_attn(x)
            return x + self.f_mlp(x)
        # streams (B, T, n, C); F sees (B, T, C)
        for fn, m in ((self.f_attn, self.mhc_attn), (self.f_mlp, self.mhc_mlp)):
            x = mhc_sublayer(x, fn, m.phi, m.alpha, m.bias, self.n, self.iters)
        return x


class GPT(nn.Module):
    def __init__(self, cfg, seed=0):
        super().__init__()
        self.cfg = dict(cfg)
        C, L, NH = int(cfg["d_model"]), int(cfg["n_layers"]), int(cfg["n_heads"])
        T, V = int(cfg["seq_len"]), int(cfg["vocab_size"])
        self.n = mhc_n(cfg)
        self.iters = int(cfg.get("sinkhorn_iters", 20))
        assert C % NH == 0 and (self.n == 0 or self.n >= 2)
        self.C, self.L, self.NH, self.T, self.V = C, L, NH, T, V
        std = float(cfg.get("init_std", 0.02))
        g = torch.Generator().manual_seed(seed)
        self.wte = nn.Parameter(torch.randn(V, C, generator=g) * std)
        self.wpe = nn.Parameter(torch.randn(T, C, generator=g) * std)
        self.h = nn.ModuleList(Block(C, NH, T, self.n, self.iters) for _ in range(L))
        self.ln_f = nn.LayerNorm(C, eps=1e-5)
        with torch.no_grad():
            for mod in self.modules():
                if isinstance(mod, nn.Linear):
                    mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) * std)
                    mod.bias.zero_()

    # ---- names -----------------------------------------------------------
    def param_names(self):
        """docs/model.md's names in the order of its table (= the C buffer)."""
        names = ["wte", "wpe"]
        for l in range(self.L):
            p = f"h.{l}."
            names += [p + s for s in (
                "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")]
            if self.n > 0:
                names += [p + s for s in ("mhc_attn.phi", "mhc_mlp.phi", "mhc_attn.alpha",
                                          "mhc_mlp.alpha", "mhc_attn.bias", "mhc_mlp.bias")]
        return names + ["ln_f.weight", "ln_f.bias"]

    def named_tensors(self):
        """OrderedDict docs-name -> Parameter (torch's own names are the docs names)."""
        params = dict(self.named_parameters())
        names = self.param_names()
        assert set(names) == set(params), set(names) ^ set(params)
        return collections.OrderedDict((k, params[k]) for k in names)

    @staticmethod
    def decays(name):
        """docs/model.md's decay column: embeddings and linear weights."""
        return name in ("wte", "wpe") or (name.endswith(".weight") and (
            ".attn." in name or ".mlp." in name))

    def load_named(self, arrays):
        """Copy a name -> array mapping (numpy or torch) into the parameters (exact set)."""
        nt = self.named_tensors()
        if set(arrays) != set(nt):
            raise KeyError(f"name mismatch: missing {sorted(set(nt) - set(arrays))}, "
                           f"extra {sorted(set(arrays) - set(nt))}")
        with torch.no_grad():
            for k, p in nt.items():
                a = torch.as_tensor(np.asarray(arrays[k]))
                if tuple(a.shape) != tuple(p.shape):
                    raise ValueError(f"{k}: shape {tuple(a.shape)} != {tuple(p.shape)}")
                p.copy_(a.to(p.dtype))
        return self

    def to_numpy(self, dtype=np.float32):
        return collections.OrderedDict((k, v.detach().cpu().numpy().astype(dtype))
                                       for k, v in self.named_tensors().items())

    def save(self, path, step=0):
        payload = self.to_numpy()
        meta = {"format": "dd-ckpt-1", "model_config": json.dumps(self.cfg), "step": str(step)}
        st_save(path, payload, meta)

    def load(self, path):
        arrays, _ = st_load(path)
        return self.load_named(arrays)

    def optimizer(self, lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0):
        nt = self.named_tensors()
        dec = [p for k, p in nt.items() if self.decays(k)]
        nodec = [p for k, p in nt.items() if not self.decays(k)]
        return torch.optim.AdamW([{"params": dec, "weight_decay": weight_decay},
                                  {"params": nodec, "weight_decay": 0.0}],
                                 lr=lr, betas=betas, eps=eps)

    # ---- forward -----------------------------------------------------------
    def forward(self, idx, targets=None):
        B, T = idx.shape
        idx = idx.long()
        x = F.embedding(idx, self.wte) + self.wpe[:T]
        if self.n > 0:
            x = x.unsqueeze(2).expand(B, T, self.n, self.C)
        for blk in self.h:
            x = blk(x)
        if self.n > 0:
            x = x.sum(dim=2)
        logits = self.ln_f(x) @ self.wte.t()
        loss = None
        if targets is not None:
            # mean over all B*T positions (a negative target contributes 0)
            loss = F.cross_entropy(logits.view(-1, self.V), targets.long().view(-1),
                                   ignore_index=-1, reduction="sum") / (B * T)
        return logits, loss


# --------------------------------------------------------------------------
# compare

MODEL_KEYS = ("d_model", "n_layers", "n_heads", "seq_len", "vocab_size", "mhc",
              "sinkhorn_iters", "init_std")

# Tolerances. The reference runs in float64 from the same fp32 inputs, so the
# error measured is the C side's own fp32 rounding. fp32 has eps 6e-8; sums over
# K <= 4C terms in blocked sgemm order grow that to ~1e-7..1e-6 relative.
# Measured with this file's own fp32 model (d64 L2 H4 V256 T32 B4, mHC n=4,
# random phi) as the "C side": logits 2.7e-7, loss 5e-8, every gradient
# <= 8e-7 (relative to the tensor's largest entry), trajectory 9e-8. The limits
# below leave ~30-100x headroom for a different summation order while still
# catching any wrong term (a missing bias, a wrong scale, a transposed index
# give errors of order 1e-2..1).
TOL_LOGITS = 2e-5   # max|diff| / max|ref logits|
TOL_LOSS = 1e-5     # |diff| / |ref loss|
TOL_GRAD = 1e-4     # max|diff| / max(max|ref grad|, 1e-3 * largest grad overall)
TOL_TRAJ = 1e-4     # |diff| / |ref loss| per step


class Checker:
    def __init__(self):
        self.failures = 0

    def check(self, name, ok, details):
        print(f"PASS {name} ({details})" if ok else f"FAIL {name}: {details}")
        self.failures += not ok


def compare(d):
    ck = Checker()
    cfg_all = json.load(open(os.path.join(d, "config.json")))
    cfg = {k: cfg_all[k] for k in MODEL_KEYS if k in cfg_all}
    if "model" in cfg_all and isinstance(cfg_all["model"], dict):
        cfg.update({k: v for k, v in cfg_all["model"].items() if k in MODEL_KEYS})
    weights, _ = st_load(os.path.join(d, "weights.safetensors"))
    batch, _ = st_load(os.path.join(d, "batch.safetensors"))
    grads_c, _ = st_load(os.path.join(d, "grads.safetensors"))
    outs, _ = st_load(os.path.join(d, "outputs.safetensors"))
    traj = json.load(open(os.path.join(d, "trajectory.json")))["losses"]
    x = torch.from_numpy(batch["inputs"].astype(np.int64))
    y = torch.from_numpy(batch["targets"].astype(np.int64))

    # names
    model = GPT(cfg).double()
    try:
        model.load_named(weights)
        ck.check("ref_model.names", True, f"{len(weights)} tensors")
    except (KeyError, ValueError) as e:
        ck.check("ref_model.names", False, str(e))
        return ck.failures
    # forward + backward in float64
    logits, loss = model(x, y)
    loss.backward()
    nt = model.named_tensors()

    lc = torch.from_numpy(outs["logits"].astype(np.float64)).reshape(logits.shape)
    err = (lc - logits.detach()).abs().max().item()
    rel = err / max(logits.detach().abs().max().item(), 1e-30)
    ck.check("ref_model.logits", rel < TOL_LOGITS, f"max abs err {err:.3g}, rel {rel:.3g}")
    lossc = float(np.asarray(outs["loss"]).reshape(-1)[0])
    rel = abs(lossc - loss.item()) / abs(loss.item())
    ck.check("ref_model.loss", rel < TOL_LOSS, f"C {lossc:.7g} ref {loss.item():.7g} rel {rel:.3g}")

    gmax = max(p.grad.abs().max().item() for p in nt.values())
    for k, p in nt.items():
        if k not in grads_c:
            ck.check(f"ref_model.grad.{k}", False, "missing in grads.safetensors")
            continue
        g = torch.from_numpy(grads_c[k].astype(np.float64)).reshape(p.shape)
        ref = p.grad
        diff = (g - ref).abs()
        err = diff.max().item()
        mag = ref.abs().max().item()
        scale = max(mag, 1e-3 * gmax, 1e-30)
        elem_rel = (diff / ref.abs().clamp_min(1e-3 * max(mag, 1e-30))).max().item()
        ok = err / scale < TOL_GRAD and bool(torch.isfinite(g).all())
        ck.check(f"ref_model.grad.{k}", ok,
                 f"max abs err {err:.3g}, rel to max {err / scale:.3g}, max elem rel {elem_rel:.3g}")

    # AdamW trajectory on the same batch, constant lr, float64
    steps = int(cfg_all.get("steps", len(traj)))
    model = GPT(cfg).double().load_named(weights)
    opt = model.optimizer(float(cfg_all["lr"]),
                          (float(cfg_all.get("beta1", 0.9)), float(cfg_all.get("beta2", 0.95))),
                          float(cfg_all.get("eps", 1e-8)), float(cfg_all.get("weight_decay", 0.0)))
    ours = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        _, l = model(x, y)
        ours.append(l.item())
        l.backward()
        opt.step()
    if len(traj) != steps:
        ck.check("ref_model.trajectory", False, f"{len(traj)} losses for {steps} steps")
    else:
        rels = [abs(a - b) / abs(b) for a, b in zip(traj, ours)]
        worst = max(rels) if rels else 0.0
        ck.check("ref_model.trajectory", worst < TOL_TRAJ,
                 f"{steps} steps, loss {ours[0]:.5f} -> {ours[-1]:.5f}, worst rel {worst:.3g}"
                 + ("" if worst < TOL_TRAJ else f"; C {traj} ref {ours}"))
    return ck.failures


# --------------------------------------------------------------------------
# bench: the same protocol as ../shared/bench/torch_gpt_peer.py

def bench(argv):
    p = argparse.ArgumentParser(prog="ref_model.py bench")
    for k, v in dict(d=128, L=4, H=4, V=1024, T=128, B=8, steps=10, warmup=2, threads=2,
                     grad_accum=1, mhc=0, sinkhorn_iters=20).items():
        p.add_argument("--" + k, type=int, default=v)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight_decay", type=float, default=0.0)   # as the pinned peer
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = dict(d_model=a.d, n_layers=a.L, n_heads=a.H, seq_len=a.T, vocab_size=a.V,
               mhc={"n": a.mhc}, sinkhorn_iters=a.sinkhorn_iters, init_std=0.02)
    m = GPT(cfg)
    opt = m.optimizer(a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=a.weight_decay)
    x = torch.randint(0, a.V, (a.B, a.T))
    y = torch.randint(0, a.V, (a.B, a.T))
    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        for _ in range(a.grad_accum):
            loss = m(x, y)[1] / a.grad_accum
            loss.backward()
        opt.step()
    dt = (time.perf_counter() - t0) / a.steps
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "threads": a.threads,
                      "params": sum(q.numel() for q in m.parameters()),
                      "tok_per_s": round(a.B * a.T * a.grad_accum / dt, 1),
                      "ms_per_step": round(1000 * dt, 2),
                      "loss": round(loss.item() * a.grad_accum, 4)}))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "compare":
        sys.exit(1 if compare(sys.argv[2]) else 0)
    if len(sys.argv) >= 2 and sys.argv[1] == "bench":
        bench(sys.argv[2:])
        return
    print(__doc__, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
