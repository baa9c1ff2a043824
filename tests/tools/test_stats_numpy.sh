# The paired bootstrap (lib/paper/stats.c) against an independent numpy implementation on fixed
# data: the same mean and wins/ties/losses, and interval endpoints within 5% of the
# interval's width (both are Monte Carlo: 10,000 resamples here, 200,000 in numpy, so the
# endpoints agree to about 1% of the width).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
/usr/bin/python3 - "$ROOT/build/tests/test_stats" <<'PY' && pass stats_bootstrap_matches_numpy || fail stats_bootstrap_matches_numpy "see above"
import subprocess, sys
import numpy as np
rng = np.random.default_rng(11)
for n, shift in ((8, 0.0), (24, 0.05), (64, -0.02)):
    d = np.round(shift + 0.2 * rng.standard_normal(n), 3)
    d[:2] = 0.0                                     # ties
    out = subprocess.run([sys.argv[1], "--bootstrap"], input=" ".join(repr(float(v)) for v in d), capture_output=True, text=True, check=True).stdout.split()
    mean, lo, hi = map(float, out[:3]); w, t, l = map(int, out[3:])
    idx = np.random.default_rng(5).integers(0, n, size=(200000, n))
    means = d[idx].mean(axis=1)
    nlo, nhi = np.percentile(means, [2.5, 97.5])    # numpy's default: linear interpolation
    width = nhi - nlo
    assert abs(mean - d.mean()) < 1e-12, (mean, d.mean())
    assert (w, t, l) == (int((d > 0).sum()), int((d == 0).sum()), int((d < 0).sum())), (w, t, l)
    assert abs(lo - nlo) < 0.05 * width and abs(hi - nhi) < 0.05 * width, (n, lo, hi, nlo, nhi)
    print(f"n={n}: C [{lo:.4f}, {hi:.4f}]  numpy [{nlo:.4f}, {nhi:.4f}]")
PY
