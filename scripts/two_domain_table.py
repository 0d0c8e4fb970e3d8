"""Print the two-domain tables of docs/variants.md (markdown) from `tinygan eval` outputs and the baselines.

    PYTHONPATH=. python scripts/two_domain_table.py runs/baselines.json runs/cogan_negative runs/discogan_negative ...

Each run directory holds eval.json (`tinygan eval RUN/checkpoint.npz --n 2000 --out RUN/eval.json`);
baselines.json comes from scripts/two_domain_baselines.py (the same measures on the untrained networks).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TRANSLATION = [("preservation_ab", "A->B preserved"), ("preservation_ab_kappa", "kappa"),
               ("preservation_ba", "B->A preserved"), ("preservation_ba_kappa", "kappa"),
               ("cycle_l1_a", "cycle L1 A"), ("cycle_l1_b", "cycle L1 B"),
               ("transform_l1_ab", "L1 to T(x)"), ("transform_l1_ba", "L1 to T^-1"),
               ("fid_ab", "FID A->B"), ("fid_ba", "FID B->A")]
PAIRS = [("pair_consistency", "pair consistency"), ("pair_consistency_kappa", "kappa"), ("fid_a", "FID A"),
         ("fid_b", "FID B"), ("classes_covered_a", "classes A"), ("classes_covered_b", "classes B")]


def fmt(v):
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.0f}"
    return str(v)


def table(columns, rows):
    lines = ["| run | domain B | steps | " + " | ".join(c for _, c in columns) + " |",
             "|---|---|---|" + "---|" * len(columns)]
    for name, s in rows:
        lines.append(f"| {name} | {s['domain_b']} | {s['step']} | " + " | ".join(fmt(s[k]) for k, _ in columns) + " |")
    return "\n".join(lines)


def main(argv):
    baselines = json.loads(Path(argv[0]).read_text())
    translation, pairs = [], []
    for run in argv[1:]:
        s = json.loads((Path(run) / "eval.json").read_text())
        key = f"{s['recipe']}:{s['domain_b']}"
        target = pairs if s["recipe"] == "cogan" else translation
        if key in baselines:
            target.append((f"{s['recipe']} untrained", baselines[key]))
        target.append((f"{s['recipe']} trained", s))
    if pairs:
        print(table(PAIRS, pairs), end="\n\n")
    if translation:
        print(table(TRANSLATION, translation))


if __name__ == "__main__":
    main(sys.argv[1:])
