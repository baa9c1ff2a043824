#!/usr/bin/python3
"""Power from a pilot: the expected half-width of a paired comparison's 95% interval.

    /usr/bin/python3 pipelines/power.py X/summary.jsonl Y/summary.jsonl [n ...]

X and Y are two runs of the suite on the same tasks (a pilot on the TRAIN split: never
held-out). Each task's difference d = X's best_reward - Y's is what the report's paired
bootstrap resamples (docs/tables.md). For each candidate task count n the expected
half-width is 1.96 * sd(d) / sqrt(n) (the bootstrap interval of a mean is close to this
normal one at n >= 30), from one seed: averaging s seeds per task can only shrink the
seed part of sd(d), so this is an upper bound for s > 1. Also prints the pilot's own
percentile bootstrap interval (10,000 resamples, like lib/paper/stats) as a check.
Needs python3-numpy (Debian)."""
import json
import sys

import numpy as np


def best(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                out[r["task_id"]] = r["best_reward"]
    return out


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    x, y = best(argv[1]), best(argv[2])
    ids = sorted(set(x) & set(y))
    if len(ids) < 2:
        sys.exit("power.py: fewer than 2 tasks in both %s and %s" % (argv[1], argv[2]))
    d = np.array([x[i] - y[i] for i in ids])
    sd = d.std(ddof=1)
    rng = np.random.default_rng(0)
    means = d[rng.integers(0, len(d), size=(10000, len(d)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    print("pilot: %d tasks, mean difference %+.4f, sd %.4f, 95%% bootstrap CI [%+.4f, %+.4f] (half-width %.4f)"
          % (len(d), d.mean(), sd, lo, hi, (hi - lo) / 2))
    for n in [int(a) for a in argv[3:]] or [32, 64, 96, 128, 192]:
        print("n = %4d tasks: expected half-width %.4f" % (n, 1.96 * sd / np.sqrt(n)))


if __name__ == "__main__":
    main(sys.argv)
