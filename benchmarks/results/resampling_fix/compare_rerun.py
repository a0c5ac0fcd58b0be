"""Per cell (set, budget, arm): the published mean (benchmarks/results/few_shot) against a re-run (runs.jsonl files
given as arguments), for cells whose 5 seeds were all re-run. Run from the repository root:

    python benchmarks/results/resampling_fix/compare_rerun.py benchmarks/results/resampling_fix/*/runs.jsonl
"""

import json
import sys
from collections import defaultdict

import numpy as np


def load(paths):
    runs = {}
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            if r["arm"].startswith("citrus"):
                runs[(r["dataset"], r["budget"], r["arm"], r["seed"])] = r.get("macro_f1", r.get("mae"))
    return runs


old = load(["benchmarks/results/few_shot/runs.jsonl"])
new = load(sys.argv[1:])
cells = defaultdict(list)
for k, v in new.items():
    cells[k[:3]].append((old[k], v))
changed = 0
for cell in sorted(cells):
    pairs = cells[cell]
    if len(pairs) < 5:
        continue
    o, n = np.mean([p[0] for p in pairs]), np.mean([p[1] for p in pairs])
    same = sum(abs(a - b) < 1e-9 for a, b in pairs)
    scale = 100 if cell[0] not in ("hr_ecg", "hr_ppg") else 1
    print(
        f"{cell[0]:22s} {cell[1]:9s} {cell[2]:15s} published {o * scale:7.2f} re-run {n * scale:7.2f}  identical seeds {same}/5"
    )
