#!/usr/bin/python3
"""Self-checks of python/dd_model.py that need no C side.

  /usr/bin/python3 tests/torch/test_ref_self.py

Prints one PASS/FAIL line per check; exit 1 on any failure.
(a) init invariants of mHC: with phi = 0, H_pre = 1/n, H_post = 1, H_res doubly
    stochastic and ~I; n equal streams stay equal, so the mHC model is exactly the
    plain model with the same shared weights, except that ln_f sees n*x, i.e. the
    plain model with ln_f eps = 1e-5/n^2 (logits, loss and shared gradients match
    to float64 rounding); alpha's gradient is exactly 0 there (p = phi r = 0).
(b) names/shapes against docs/model.md's table, decay groups, and a safetensors
    save -> load round trip (bit exact, order, metadata).
(c) torch.autograd.gradcheck in float64 of Sinkhorn and of a whole mHC sublayer
    (random phi, alpha, bias), and the forward against an independent numpy
    re-implementation written from docs/model.md (n = 0 and n = 3).
"""
import json
import math
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))  # dd_model, safetensors_np
import dd_model as R  # noqa: E402

torch.set_num_threads(2)
failures = 0


def check(name, ok, details=""):
    global failures
    print(f"PASS {name}" + (f" ({details})" if details else "") if ok else f"FAIL {name}: {details}")
    failures += not ok


def cfg(n, L=2, C=16, NH=2, T=8, V=37, iters=20):
    return dict(d_model=C, n_layers=L, n_heads=NH, seq_len=T, vocab_size=V,
                mhc={"n": n}, sinkhorn_iters=iters, init_std=0.02)


def randomise(model, seed, phi=False):
    """Non-trivial values for everything (LN and biases too); phi only if asked."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, p in model.named_tensors().items():
            if ".mhc_" in k:
                if k.endswith(".phi") and phi:
                    p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
                if k.endswith(".alpha") and phi:
                    p.copy_(torch.rand(p.shape, generator=g, dtype=p.dtype) + 0.2)
                if k.endswith(".bias") and phi:
                    p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
                continue
            if k.endswith("ln_1.weight") or k.endswith("ln_2.weight") or k == "ln_f.weight":
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g, dtype=p.dtype))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model


def exact_pre_bias(model):
    """b_pre = -ln(n-1) in float64 (the init writes it in float32, 1/n to ~1e-8 only)."""
    with torch.no_grad():
        for k, p in model.named_tensors().items():
            if k.endswith(".mhc_attn.bias") or k.endswith(".mhc_mlp.bias"):
                p[:model.n] = -math.log(model.n - 1)
    return model


def maxdiff(a, b):
    return (a - b).abs().max().item()


# ---------------------------------------------------------------- (a) init invariants
def test_init():
    n, C = 4, 16
    m = R.GPT(cfg(n, C=C)).double()
    exact_pre_bias(m)
    blk = m.h[0]
    x = torch.randn(3, 5, n, C, dtype=torch.float64)
    Hpre, Hpost, Hres = R.mhc_coeffs(x, blk.mhc_attn.phi, blk.mhc_attn.alpha, blk.mhc_attn.bias, n, 20)
    check("ref_self.init.H_pre_1_over_n", maxdiff(Hpre, torch.full_like(Hpre, 1 / n)) < 1e-14,
          f"err {maxdiff(Hpre, torch.full_like(Hpre, 1 / n)):.2g}")
    check("ref_self.init.H_post_one", maxdiff(Hpost, torch.ones_like(Hpost)) < 1e-14)
    rs, cs = Hres.sum(-1), Hres.sum(-2)
    eye = torch.eye(n, dtype=torch.float64).expand_as(Hres)
    check("ref_self.init.H_res_doubly_stochastic",
          maxdiff(rs, torch.ones_like(rs)) < 1e-12 and maxdiff(cs, torch.ones_like(cs)) < 1e-12,
          f"row err {maxdiff(rs, torch.ones_like(rs)):.2g}, col err {maxdiff(cs, torch.ones_like(cs)):.2g}")
    e8 = math.exp(-8)
    check("ref_self.init.H_res_near_identity", maxdiff(Hres, eye) < 1.01 * (n - 1) * e8,
          f"max |H_res - I| {maxdiff(Hres, eye):.3g} (bound (n-1)e^-8 = {(n - 1) * e8:.3g})")
    m32 = R.GPT(cfg(n, C=C))   # the float32 init values, as stored
    blk = m32.h[0]
    b = blk.mhc_attn.bias.detach()
    check("ref_self.init.bias_layout",
          np.allclose(b[:n].numpy(), -math.log(n - 1)) and np.all(b[n:2 * n].numpy() == 0)
          and np.all(b[2 * n:].view(n, n).numpy() == np.where(np.eye(n) > 0, 0.0, -8.0))
          and np.all(blk.mhc_attn.alpha.detach().numpy() == 0.01)
          and np.all(blk.mhc_attn.phi.detach().numpy() == 0))

    # the mHC model at phi = 0 == the plain model with ln_f eps 1e-5/n^2
    for nn_ in (2, 4):
        mh = exact_pre_bias(randomise(R.GPT(cfg(nn_, C=C)).double(), 1))
        pl = R.GPT(cfg(0, C=C)).double()
        pl.load_named({k: v.detach() for k, v in mh.named_tensors().items() if ".mhc_" not in k})
        pl.ln_f.eps = 1e-5 / nn_ ** 2
        idx = torch.randint(0, 37, (3, 8), generator=torch.Generator().manual_seed(2))
        tgt = torch.randint(0, 37, (3, 8), generator=torch.Generator().manual_seed(3))
        lm, lossm = mh(idx, tgt)
        lp, lossp = pl(idx, tgt)
        lossm.backward()
        lossp.backward()
        gp = dict(pl.named_tensors())
        gerr = max(maxdiff(p.grad, gp[k].grad) / max(gp[k].grad.abs().max().item(), 1e-30)
                   for k, p in mh.named_tensors().items() if ".mhc_" not in k)
        check(f"ref_self.init.mhc{nn_}_equals_plain",
              maxdiff(lm, lp) < 1e-12 and abs(lossm.item() - lossp.item()) < 1e-13 and gerr < 1e-10,
              f"logits err {maxdiff(lm, lp):.2g}, loss err {abs(lossm.item() - lossp.item()):.2g}, "
              f"grad rel err {gerr:.2g}")
        # and with the real eps the difference is only ln_f's eps (so it is not zero)
        pl.ln_f.eps = 1e-5
        check(f"ref_self.init.mhc{nn_}_lnf_eps_matters", maxdiff(pl(idx)[0], lm) > 1e-6)
        ga = max(p.grad.abs().max().item() for k, p in mh.named_tensors().items() if k.endswith(".alpha"))
        gphi = min(p.grad.abs().max().item() for k, p in mh.named_tensors().items() if k.endswith(".phi"))
        check(f"ref_self.init.mhc{nn_}_alpha_grad_zero_phi_grad_nonzero", ga == 0.0 and gphi > 0,
              f"max |dalpha| {ga:.2g}, min over layers of max |dphi| {gphi:.2g}")


# ---------------------------------------------------------------- (b) names, decay, round trip
def test_names_io():
    C, L, T, V, n = 16, 2, 8, 37, 3
    M = 2 * n + n * n
    m = R.GPT(cfg(n, L=L, C=C, T=T, V=V))
    want = [("wte", (V, C)), ("wpe", (T, C))]
    for l in range(L):
        p = f"h.{l}."
        want += [(p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
                 (p + "attn.c_attn.weight", (3 * C, C)), (p + "attn.c_attn.bias", (3 * C,)),
                 (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
                 (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
                 (p + "mlp.c_fc.weight", (4 * C, C)), (p + "mlp.c_fc.bias", (4 * C,)),
                 (p + "mlp.c_proj.weight", (C, 4 * C)), (p + "mlp.c_proj.bias", (C,)),
                 (p + "mhc_attn.phi", (M, n * C)), (p + "mhc_mlp.phi", (M, n * C)),
                 (p + "mhc_attn.alpha", (3,)), (p + "mhc_mlp.alpha", (3,)),
                 (p + "mhc_attn.bias", (M,)), (p + "mhc_mlp.bias", (M,))]
    want += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    got = [(k, tuple(v.shape)) for k, v in m.named_tensors().items()]
    check("ref_self.names_shapes_order", got == want,
          f"{len(got)} tensors" if got == want else f"got {got[:4]}..., want {want[:4]}...")
    got0 = [k for k in R.GPT(cfg(0, L=L, C=C, T=T, V=V)).named_tensors()]
    check("ref_self.names_plain", got0 == [k for k, _ in want if ".mhc_" not in k])
    dec = sorted(k for k in m.named_tensors() if m.decays(k))
    wdec = sorted(["wte", "wpe"] + [f"h.{l}.{s}.weight" for l in range(L)
                                    for s in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")])
    opt = m.optimizer(1e-3, weight_decay=0.1)
    ids = {id(p): k for k, p in m.named_tensors().items()}
    gdec = sorted(ids[id(p)] for p in opt.param_groups[0]["params"])
    check("ref_self.decay_groups", dec == wdec and gdec == wdec
          and opt.param_groups[0]["weight_decay"] == 0.1 and opt.param_groups[1]["weight_decay"] == 0.0)

    randomise(m, 5, phi=True)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.safetensors")
        m.save(path, step=7)
        m2 = R.GPT(cfg(n, L=L, C=C, T=T, V=V)).load(path)
        same = all(torch.equal(a, b) for a, b in zip(m.named_tensors().values(), m2.named_tensors().values()))
        arrays, meta = R._st_load(path)   # the private reader, independently of the shared one
        ok = (same and list(arrays) == [k for k, _ in want]
              and all(a.dtype == np.float32 for a in arrays.values())
              and meta.get("format") == "dd-ckpt-1" and meta.get("step") == "7"
              and json.loads(meta["model_config"])["mhc"] == {"n": n})
        check("ref_self.safetensors_roundtrip", ok,
              f"via {'shared safetensors_np' if R.st_load is not R._st_load else 'private fallback'}")
        # the private writer read back by the shared reader (if any) and vice versa
        p2 = os.path.join(d, "b.safetensors")
        R._st_save(p2, m.to_numpy(), {"format": "dd-ckpt-1"})
        a2, meta2 = R.st_load(p2)
        check("ref_self.safetensors_cross", all(np.array_equal(a2[k], v) for k, v in m.to_numpy().items())
              and meta2.get("format") == "dd-ckpt-1")
        try:
            bad = dict(arrays)
            bad.pop("wte")
            R.GPT(cfg(n, L=L, C=C, T=T, V=V)).load_named(bad)
            check("ref_self.load_rejects_missing", False, "no error")
        except KeyError:
            check("ref_self.load_rejects_missing", True)


# ---------------------------------------------------------------- (c) gradcheck, numpy reference
def test_gradcheck():
    g = torch.Generator().manual_seed(11)
    for n, iters in ((2, 20), (3, 5), (4, 20)):
        h = (torch.randn(2, n, n, generator=g, dtype=torch.float64) * 2).requires_grad_()
        ok = torch.autograd.gradcheck(lambda t: R.sinkhorn(t, iters), (h,), eps=1e-6, atol=1e-7, rtol=1e-5)
        check(f"ref_self.gradcheck.sinkhorn_n{n}_it{iters}", ok)
    # the shift by the (detached) max is a no-op for the value
    h = torch.randn(3, 3, dtype=torch.float64)
    check("ref_self.sinkhorn_shift_invariant", maxdiff(R.sinkhorn(h, 20), R.sinkhorn(h + 5.0, 20)) < 1e-14)

    n, C = 3, 4
    M = 2 * n + n * n
    W = torch.randn(C, C, generator=g, dtype=torch.float64) * 0.5

    def fn(u):
        return torch.tanh(u @ W.t()) + 0.3 * u

    x = torch.randn(2, n, C, generator=g, dtype=torch.float64).requires_grad_()
    phi = (torch.randn(M, n * C, generator=g, dtype=torch.float64) * 0.5).requires_grad_()
    alpha = (torch.rand(3, generator=g, dtype=torch.float64) + 0.3).requires_grad_()
    bias = (torch.randn(M, generator=g, dtype=torch.float64) * 0.5).requires_grad_()
    ok = torch.autograd.gradcheck(lambda *a: R.mhc_sublayer(*a[:1], fn, *a[1:], n, 20),
                                  (x, phi, alpha, bias), eps=1e-6, atol=1e-6, rtol=1e-5)
    check("ref_self.gradcheck.mhc_sublayer", ok)
    # a whole (tiny) mHC model: all parameter grads against finite differences
    m = randomise(R.GPT(cfg(2, L=1, C=4, NH=2, T=3, V=5, iters=6)).double(), 3, phi=True)
    names = list(m.named_tensors())
    idx = torch.tensor([[1, 4, 2]])
    tgt = torch.tensor([[0, 3, 3]])

    def loss_of(*ps):
        saved = dict(m.named_tensors())
        for mod_name, p in zip(names, ps):   # functional call via swapping tensors
            obj = m
            *path, leaf = mod_name.split(".")
            for part in path:
                obj = getattr(obj, part) if not part.isdigit() else obj[int(part)]
            obj._parameters[leaf] = p
        out = m(idx, tgt)[1]
        for mod_name, p in saved.items():
            obj = m
            *path, leaf = mod_name.split(".")
            for part in path:
                obj = getattr(obj, part) if not part.isdigit() else obj[int(part)]
            obj._parameters[leaf] = p
        return out

    params = tuple(p.detach().clone().requires_grad_() for p in m.named_tensors().values())
    ok = torch.autograd.gradcheck(loss_of, params, eps=1e-6, atol=1e-6, rtol=1e-4)
    check("ref_self.gradcheck.whole_mhc_model", ok)


def np_forward(model, idx):
    """docs/model.md, token by token, in numpy float64 (independent of dd_model's code)."""
    P = {k: v.detach().double().numpy() for k, v in model.named_tensors().items()}
    c = model.cfg
    C, L, NH, V = c["d_model"], c["n_layers"], c["n_heads"], c["vocab_size"]
    n, iters = R.mhc_n(c), c["sinkhorn_iters"]
    hs = C // NH
    B, T = idx.shape

    def ln(x, w, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5) * w + b

    def gelu(x):
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

    def f_attn(u, l):  # u (T, C)
        p = f"h.{l}."
        qkv = ln(u, P[p + "ln_1.weight"], P[p + "ln_1.bias"]) @ P[p + "attn.c_attn.weight"].T + P[p + "attn.c_attn.bias"]
        out = np.zeros((T, C))
        for hd in range(NH):
            sl = slice(hd * hs, (hd + 1) * hs)
            q, k, v = qkv[:, sl], qkv[:, C:][:, sl], qkv[:, 2 * C:][:, sl]
            for t in range(T):
                s = q[t] @ k[:t + 1].T / math.sqrt(hs)
                w = np.exp(s - s.max())
                out[t, sl] = (w / w.sum()) @ v[:t + 1]
        return out @ P[p + "attn.c_proj.weight"].T + P[p + "attn.c_proj.bias"]

    def f_mlp(u, l):
        p = f"h.{l}."
        hdn = gelu(ln(u, P[p + "ln_2.weight"], P[p + "ln_2.bias"]) @ P[p + "mlp.c_fc.weight"].T + P[p + "mlp.c_fc.bias"])
        return hdn @ P[p + "mlp.c_proj.weight"].T + P[p + "mlp.c_proj.bias"]

    logits = np.zeros((B, T, V))
    for b in range(B):
        e = P["wte"][idx[b]] + P["wpe"][:T]
        x = e.copy() if n == 0 else np.stack([e] * n, 1)       # (T, C) or (T, n, C)
        for l in range(L):
            for F_, tag in ((f_attn, "mhc_attn"), (f_mlp, "mhc_mlp")):
                if n == 0:
                    x = x + F_(x, l)
                    continue
                phi, al, bi = (P[f"h.{l}.{tag}.{s}"] for s in ("phi", "alpha", "bias"))
                u = np.zeros((T, C))
                coef = []
                for t in range(T):
                    vec = x[t].reshape(-1)
                    r = vec / math.sqrt((vec ** 2).mean() + 1e-6)
                    p = phi @ r
                    ht = np.concatenate([al[0] * p[:n], al[1] * p[n:2 * n], al[2] * p[2 * n:]]) + bi
                    pre, post = 1 / (1 + np.exp(-ht[:n])), 2 / (1 + np.exp(-ht[n:2 * n]))
                    A = np.exp(ht[2 * n:].reshape(n, n) - ht[2 * n:].max())
                    for _ in range(iters):
                        A = A / A.sum(0, keepdims=True)
                        A = A / A.sum(1, keepdims=True)
                    u[t] = sum(pre[i] * x[t, i] for i in range(n))
                    coef.append((post, A))
                y = F_(u, l)
                x = np.stack([coef[t][1] @ x[t] + coef[t][0][:, None] * y[t][None, :] for t in range(T)])
        h = x if n == 0 else x.sum(1)
        logits[b] = ln(h, P["ln_f.weight"], P["ln_f.bias"]) @ P["wte"].T
    return logits


def test_numpy_reference():
    for n in (0, 3):
        m = randomise(R.GPT(cfg(n, L=2, C=8, NH=2, T=5, V=11, iters=7)).double(), 9, phi=True)
        idx = torch.randint(0, 11, (2, 5), generator=torch.Generator().manual_seed(4))
        tgt = torch.randint(0, 11, (2, 5), generator=torch.Generator().manual_seed(5))
        lg, loss = m(idx, tgt)
        ref = np_forward(m, idx.numpy())
        lp = ref - ref.max(-1, keepdims=True)
        lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
        rloss = -np.take_along_axis(lp, tgt.numpy()[..., None], -1).mean()
        err = np.abs(lg.detach().numpy() - ref).max()
        check(f"ref_self.numpy_forward_n{n}", err < 1e-12 and abs(loss.item() - rloss) < 1e-12,
              f"logits err {err:.2g}, loss err {abs(loss.item() - rloss):.2g}")
    # float32 default and .double() both work
    m = R.GPT(cfg(4))
    check("ref_self.dtypes", m.wte.dtype == torch.float32 and m.double().wte.dtype == torch.float64)


for t in (test_init, test_names_io, test_gradcheck, test_numpy_reference):
    try:
        t()
    except Exception as e:  # a crash is a failure, not a silent pass
        import traceback
        traceback.print_exc()
        check(f"ref_self.{t.__name__}", False, f"{type(e).__name__}: {e}")
sys.exit(1 if failures else 0)
