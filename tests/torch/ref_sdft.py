#!/usr/bin/python3
"""The SDFT reverse-KL and its gradient with PyTorch autograd, against the C
values dumped by `build/tests/test_sdft --dump DIR`. Prints PASS/FAIL lines."""
import sys
import torch
rows = [l.split() for l in open(sys.argv[1] + "/sdft.txt")]
kl_c = float(rows[-1][0])
zs = torch.tensor([float(r[0]) for r in rows[:-1]], dtype=torch.float64, requires_grad=True)
zt = torch.tensor([float(r[1]) for r in rows[:-1]], dtype=torch.float64)
dz_c = torch.tensor([float(r[2]) for r in rows[:-1]], dtype=torch.float64)
lp, lq = torch.log_softmax(zs, 0), torch.log_softmax(zt, 0)
kl = (lp.exp() * (lp - lq)).sum()
kl.backward()
ok1 = abs(kl.item() - kl_c) <= 1e-6 * max(1.0, abs(kl.item()))
err = (zs.grad - dz_c).abs().max().item()
ok2 = err <= 1e-6
print(("PASS" if ok1 else "FAIL") + f" sdft_kl_vs_torch (C {kl_c:.9g} torch {kl.item():.9g})")
print(("PASS" if ok2 else "FAIL") + f" sdft_kl_grad_vs_torch (max abs err {err:.2e})")
sys.exit(0 if ok1 and ok2 else 1)
