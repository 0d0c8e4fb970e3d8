"""The results tables (markdown) from the runs that ``scripts/reproduce_results.py`` made.

    python scripts/results_table.py [RUNS_DIR] [--out RUNS_DIR/results.md] [--readme README.md]

Reads each row's ``results.json`` (the rows and their order come from ``scripts/budgets.json``;
rows not trained yet are left out) and prints four tables: the image GANs, CoGAN's pairs, the
translation models, and CoGAN's domain adaptation. Every trained row gives its budget (batch,
generator steps, epochs of the data it drew from), its training time as ``time`` measures it
(user + sys CPU: core-minutes; wall minutes; the load average when it started) and its scores
with the running average of G's weights and with the last weights. docs/results.md says how
each number is made.

``--readme`` also rewrites the README's results section (between its ``results table: begin``
and ``end`` markers) as two short tables with every row of budgets.json, trained or not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fmt(v, digits=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _epochs(run):
    """The epochs of the data the run's last logged step had reached (from its metrics.jsonl)."""
    from tinygan.viz import read_metrics
    records = [r for r in read_metrics(run / "metrics.jsonl") if "epoch" in r]
    return records[-1]["epoch"] if records else None


def _time(r):
    t = r["train"]
    mark = "" if t["complete"] else " (incomplete)"
    load = t.get("max_load_average")
    return f"{t['core_minutes']:.1f}{mark}", f"{t['wall_s'] / 60:.1f}", "?" if load is None else f"{load:.1f}"


def _budget(r, run):
    epochs = _epochs(run)
    return f"{r['batch_size']}", f"{r['steps']:,}" + (f" ({epochs:.2f})" if epochs is not None else "")


def images_table(results, runs):
    head = ("| run | variant | batch | steps (epochs) | core-min | wall min | load | FID ↓ (avg G) | FID ↓ (last G) "
            "| classifier score ↑ | classes covered | label accuracy ↑ | samples |")
    lines = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for run, r in results:
        ev, raw = r["eval"], r.get("eval_raw")
        avg_fid, last_fid = (ev["fid"], raw["fid"]) if raw else (None, ev["fid"])
        lines.append("| " + " | ".join([r["name"], r["label"], *_budget(r, run), *_time(r), fmt(avg_fid),
                                        fmt(last_fid), fmt(ev["classifier_score"]), fmt(ev["classes_covered"]),
                                        fmt(ev.get("label_accuracy"), 3), f"[grid](docs/samples_{r['name']}.png)"]) + " |")
    lines.append(real_mnist_row(runs))
    return "\n".join(lines)


def real_mnist(runs, data=None):
    """Real images through the same measures (FID: 10k training images against the 10k test set),
    computed once per runs directory (``real_mnist.json``)."""
    path = Path(runs) / "real_mnist.json"
    if path.exists():
        real = json.loads(path.read_text())
    else:
        import numpy as np
        from tinygan.data import load_mnist
        from tinygan.data.atomic import atomic_write
        from tinygan.metrics.classifier import features_and_probs, record
        from tinygan.metrics.scores import classifier_score, mode_coverage
        images, _ = load_mnist("test", root=data)
        _, probs = features_and_probs((images[:, None] / 127.5 - 1).astype(np.float32))
        real = {"fid": record()["fid_real_vs_real"], "classifier_score": classifier_score(probs),
                "classes_covered": mode_coverage(probs)["classes_covered"]}
        with atomic_write(path) as f:
            f.write(json.dumps(real).encode())
    return real


def real_mnist_row(runs):
    real = real_mnist(runs)
    return (f"| real MNIST | (10k train vs 10k test) | - | - | - | - | - | - | {real['fid']:.2f} | "
            f"{real['classifier_score']:.2f} | {real['classes_covered']} | | |")


PAIRS = [("pair_consistency", 3), ("pair_consistency_kappa", 3), ("pair_consistency_ceiling", 3),
         ("pair_consistency_t", 3), ("fid_a", 1), ("fid_b", 1), ("classes_covered_a", 0), ("classes_covered_b", 0)]
TRANSLATION = [("preservation_ab", 3), ("preservation_ab_kappa", 3), ("preservation_ba", 3),
               ("preservation_ba_kappa", 3), ("cycle_l1_a", 3), ("cycle_l1_b", 3), ("transform_l1_ab", 3),
               ("transform_l1_ba", 3), ("fid_ab", 1), ("fid_ba", 1)]
TITLES = {"pair_consistency": "pair consistency", "pair_consistency_kappa": "kappa",
          "pair_consistency_ceiling": "ceiling: (G_A, T(G_A))", "pair_consistency_t": "G_B vs T(G_A)", "fid_a": "FID A",
          "fid_b": "FID B", "classes_covered_a": "classes A", "classes_covered_b": "classes B",
          "preservation_ab": "A->B preserved", "preservation_ab_kappa": "kappa", "preservation_ba": "B->A preserved",
          "preservation_ba_kappa": "kappa", "cycle_l1_a": "cycle L1 A", "cycle_l1_b": "cycle L1 B",
          "transform_l1_ab": "L1 to T(x)", "transform_l1_ba": "L1 to T^-1", "fid_ab": "FID A->B",
          "fid_ba": "FID B->A"}


def two_domain_table(results, columns):
    """Per run three lines: the untrained networks it started from, G's running average, G's last weights."""
    names = [k for k, _ in columns]
    lines = ["| run | weights | domain B | batch | steps (epochs) | core-min | wall min | load | "
             + " | ".join(TITLES[k] for k in names) + " |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |" + " ---: |" * len(names)]
    for run, r in results:
        domain, trained = r["eval"]["domain_b"], [*_budget(r, run), *_time(r)]
        evals = [("untrained", r["untrained"], ["-", "0", "-", "-", "-"])] if r.get("untrained") else []
        evals.append(("average of G" if "eval_raw" in r else "last", r["eval"], trained))
        if "eval_raw" in r:
            evals.append(("last", r["eval_raw"], trained))
        for which, ev, budget in evals:
            cells = [fmt(ev.get(k), digits) for k, digits in columns]
            lines.append("| " + " | ".join([r["name"], which, domain, *budget, *cells]) + " |")
    return "\n".join(lines)


def adaptation_table(entries):
    """Rows (name, domain B, steps, the scores of tinygan.metrics.domain_adaptation) as markdown."""
    lines = ["| run | domain B | steps | B: source-only (before) | B: CoGAN (after) | A: source-only | A: CoGAN |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, domain, steps, s in entries:
        lines.append(f"| {name} | {domain} | {steps:,} | {s['source_only_accuracy_b']:.3f} | {s['adapt_accuracy_b']:.3f} | "
                     f"{s['source_only_accuracy_a']:.3f} | {s['adapt_accuracy_a']:.3f} |")
    return "\n".join(lines)


def readers(results):
    """The reader's accuracy on real domain-B test images, per domain (how far to trust the B figures)."""
    seen = {}
    for _, r in results:
        ev = r["eval"]
        seen.setdefault(ev["domain_b"], ev.get("classifier_accuracy_real_b"))
    return ", ".join(f"{d} {a:.4f}" for d, a in seen.items() if a is not None)


def write_tables(rows, runs, out=None):
    """The markdown of every table with at least one trained row; written to ``out`` too (atomically)."""
    runs = Path(runs)
    done = {t: [] for t in ("images", "pairs", "translation")}
    for row in rows:
        path = runs / row["name"] / "results.json"
        if path.exists():
            done[row["table"]].append((runs / row["name"], json.loads(path.read_text())))
    parts = []
    if done["images"]:
        parts.append("### Image GANs\n\n" + images_table(done["images"], runs))
    if done["pairs"]:
        parts.append("### CoGAN: pairs\n\n" + two_domain_table(done["pairs"], PAIRS))
        adapted = [(r["name"], r["eval"]["domain_b"], r["steps"], r["eval"]) for _, r in done["pairs"]
                   if "adapt_accuracy_b" in r["eval"]]
        if adapted:
            parts.append("### CoGAN: domain adaptation (accuracy on the 10,000 test digits)\n\n"
                         + adaptation_table(adapted))
    if done["translation"]:
        parts.append("### DiscoGAN and CycleGAN: translations\n\n" + two_domain_table(done["translation"], TRANSLATION))
    if done["pairs"] or done["translation"]:
        parts.append("Reader accuracy on real domain-B test images: " + readers(done["pairs"] + done["translation"]))
    text = "\n\n".join(parts) + "\n"
    if out is not None:
        from tinygan.data.atomic import atomic_write
        with atomic_write(out) as f:
            f.write(text.encode())
    return text


def _readme_budget(r, run):
    epochs = _epochs(run)
    return f"{r['steps']:,} × {r['batch_size']}" + (f" ({epochs:.2f})" if epochs is not None else "")


def _pair(ev, a, b, digits):
    return f"{fmt(ev.get(a), digits)} / {fmt(ev.get(b), digits)}"


# Each recipe's section in docs/variants.md (GitHub's anchors of its headings).
ANCHORS = {"vanilla": "vanilla-gan", "dcgan": "dcgan", "cgan": "conditional-gan-cgan", "wgan": "wgan",
           "wgan_gp": "wgan-gp", "lsgan": "lsgan", "infogan": "infogan", "progan": "progan", "cogan": "cogan",
           "discogan": "discogan", "cyclegan": "cyclegan", "began": "began", "hrdcgan": "hr-dcgan",
           "stackgan": "stackgan", "stackganpp": "stackgan-1"}


def readme_tables(rows, runs):
    """The README's two tables: every row of budgets.json in its order, a row not trained yet says so."""
    runs = Path(runs)
    images = ["| variant | steps × batch (epochs) | core-min | FID ↓ avg G / last G | classifier score ↑ "
              "| classes covered | label accuracy ↑ | samples |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    pairs = ["| run | domain B | steps × batch (epochs) | core-min | agreement ↑ avg G (last G) | kappa | "
             "FID ↓ avg G | samples |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for row in rows:
        run = runs / row["name"]
        path = run / "results.json"
        if not path.exists():
            cells = [f"not remade yet: [earlier runs](docs/variants.md#{ANCHORS[row['recipe']]})", "", "", "", "", "", ""]
            if row["table"] == "images":
                images.append("| " + " | ".join([row["label"], *cells]) + " |")
            else:
                domain = row["args"][row["args"].index("--domain-b") + 1] if "--domain-b" in row["args"] else ""
                pairs.append("| " + " | ".join([row["name"], domain, *cells[:6]]) + " |")
            continue
        r = json.loads(path.read_text())
        ev, raw = r["eval"], r.get("eval_raw") or {}
        time = _time(r)[0]
        link = f"[grid](docs/samples_{r['name']}.png)"
        if row["table"] == "images":
            fid = f"{fmt(ev['fid'], 1)} / {fmt(raw.get('fid'), 1)}" if raw else fmt(ev["fid"], 1)
            images.append("| " + " | ".join([r["label"], _readme_budget(r, run), time, fid,
                                             fmt(ev["classifier_score"]), fmt(ev["classes_covered"]),
                                             fmt(ev.get("label_accuracy"), 3) if "label_accuracy" in ev else "",
                                             link]) + " |")
            continue
        if row["table"] == "pairs":
            agree = f"pairs {fmt(ev['pair_consistency'], 3)} ({fmt(raw.get('pair_consistency'), 3)})"
            if ev.get("pair_consistency_ceiling", 1.0) < 1.0:  # the readers disagree (edges): what a perfect pair reads
                agree += f", ceiling {ev['pair_consistency_ceiling']:.3f}"
            kappa, fid = fmt(ev["pair_consistency_kappa"], 2), _pair(ev, "fid_a", "fid_b", 1)
            if "adapt_accuracy_b" in ev:
                agree += (f"; B read {ev['source_only_accuracy_b']:.3f} -> {ev['adapt_accuracy_b']:.3f} "
                          "after adaptation")
        else:
            agree = (f"kept {_pair(ev, 'preservation_ab', 'preservation_ba', 3)} "
                     f"({_pair(raw, 'preservation_ab', 'preservation_ba', 3)})")
            kappa, fid = _pair(ev, "preservation_ab_kappa", "preservation_ba_kappa", 2), _pair(ev, "fid_ab", "fid_ba", 1)
        pairs.append("| " + " | ".join([r["name"], ev["domain_b"], _readme_budget(r, run), time, agree, kappa, fid,
                                        link]) + " |")
    real = real_mnist(runs)
    images.append(f"| real MNIST (10k training images against the 10k test images) | | | {real['fid']:.2f} | "
                  f"{real['classifier_score']:.2f} | {real['classes_covered']} | | |")
    return "\n".join(images) + "\n\n" + "\n".join(pairs) + "\n"


BEGIN, END = "<!-- results table: begin", "<!-- results table: end -->"


def write_readme(rows, runs, readme):
    """Replace the README's results section (its marker lines kept) by ``readme_tables``, atomically."""
    text = Path(readme).read_text()
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < start:
        raise ValueError(f"readme: expected the markers {BEGIN!r}...{END!r} in {readme}, found none")
    head_end = text.index("-->", start) + len("-->") + 1
    from tinygan.data.atomic import atomic_write
    with atomic_write(readme) as f:
        f.write((text[:head_end] + readme_tables(rows, runs) + text[stop:]).encode())


def main(argv=None):
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from reproduce_results import load_budgets
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="?", type=Path, default=Path("runs"))
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    parser.add_argument("--readme", type=Path, default=None, help="also rewrite this README's results section")
    args = parser.parse_args(argv)
    _, rows = load_budgets()
    print(write_tables(rows, args.runs, args.out), end="")
    if args.readme is not None:
        write_readme(rows, args.runs, args.readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
