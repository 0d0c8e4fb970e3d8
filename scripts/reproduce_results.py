"""Train and evaluate every row of the results tables, one at a time, and write the tables and the
figure of samples. ``scripts/reproduce_results.sh`` runs this.

    python scripts/reproduce_results.py [--runs runs] [--only NAME[,NAME]] [--force] [--dry-run]

The rows and their budgets (generator steps at a batch size, seed, running-average decay) are
in ``scripts/budgets.json``, the one place that states them. For each row, in that order:

1. **train**: ``tinygan train RECIPE ARGS --steps S --batch-size B --seed 0 --ema 0.999 --out
   RUNS/NAME`` in a child process, timed as ``time`` times it: user + sys CPU seconds of the
   process (all its threads: core-seconds) from ``os.wait4``, and the wall-clock time. The load
   average when it starts is recorded beside them: a training that shared the CPU with others
   has a wall time that means little (its CPU time still holds).
2. **evaluate**: ``tinygan eval`` on the checkpoint with the running average of G's weights and
   again with ``--raw`` (the last weights), seed 0, ``eval_samples`` samples.
3. ``RUNS/NAME/results.json`` (written last, atomically) holds the command, the timings and both
   evaluations; a row that has it is done and is skipped (``--force`` retrains it from scratch).
   A row with a checkpoint but no results.json was interrupted: it resumes (exactly, as every
   run does), and its timings are the sum of the segments, each recorded in ``timing.json``.

A row with ``"continues": BASE`` is BASE's run trained on to more steps: its run starts as a copy
of BASE's finished run (BASE is made first when it is not done) and resumes from there, exactly as
one longer run, so that WGAN at 2x and 4x its budget costs the extra steps only. Its CPU time is
the whole run's, BASE's segments included.

Each done row's last sample grid is copied to ``docs/samples_NAME.png`` (the tables link it).
Then ``scripts/results_table.py`` writes the tables (``RUNS/results.md``, and the README's results
section) and ``scripts/variants_figure.py`` one row of samples per variant (``docs/variants.png``: the
rows budgets.json names under ``"figure"``, one or two per recipe).

``--dry-run`` runs every selected row for a few steps and evaluates a few hundred samples, in
``runs-dry`` by default, with its pictures in ``runs-dry/docs``: a check of the whole chain.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUDGETS = HERE / "budgets.json"
TABLES = ("images", "pairs", "translation")


def load_budgets(path=BUDGETS):
    """The rows of budgets.json, each with its defaults filled in; a clear error for a bad row."""
    spec = json.loads(Path(path).read_text())
    rows, seen = [], set()
    for i, row in enumerate(spec["rows"]):
        missing = {"name", "recipe", "steps", "batch_size"} - set(row)
        if missing:
            raise ValueError(f"{path}: rows[{i}]: missing {sorted(missing)}")
        if row["name"] in seen:
            raise ValueError(f"{path}: rows[{i}]: the name {row['name']!r} is used twice")
        seen.add(row["name"])
        row = {"args": [], "table": "images", "label": row["recipe"], "ema": spec.get("ema", 0),
               "eval_samples": spec["eval_samples"], **row}
        if row["table"] not in TABLES:
            raise ValueError(f"{path}: rows[{i}] ({row['name']}): table: expected one of {TABLES}, got {row['table']!r}")
        if "continues" in row:
            check_continues(row, {r["name"]: r for r in rows}, f"{path}: rows[{i}] ({row['name']})")
        rows.append(row)
    figure = spec.get("figure", [])
    unknown = [name for name in figure if name not in seen]
    if unknown:
        raise ValueError(f"{path}: figure: expected names of rows, got unknown {unknown}")
    return spec, rows


def check_continues(row, earlier, where):
    """A row that continues another must name an earlier row of the same run settings and fewer steps."""
    base = earlier.get(row["continues"])
    if base is None:
        raise ValueError(f"{where}: continues: expected the name of an earlier row, got {row['continues']!r}")
    same = ("recipe", "args", "batch_size", "ema")
    differ = [k for k in same if row[k] != base[k]]
    if differ:
        raise ValueError(f"{where}: continues {base['name']}, but its {', '.join(differ)} differ from that row's")
    if row["steps"] <= base["steps"]:
        raise ValueError(f"{where}: continues {base['name']}: expected more steps than its {base['steps']}, "
                         f"got {row['steps']}")


def select(rows, only):
    """The rows named in ``only`` (comma-separated names; None: all), in budgets.json's order."""
    if not only:
        return rows
    names = [n.strip() for item in only for n in item.split(",") if n.strip()]
    known = {r["name"] for r in rows}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"--only: unknown row {', '.join(unknown)}; expected names from {BUDGETS.name}: "
                         f"{', '.join(r['name'] for r in rows)}")
    return [r for r in rows if r["name"] in names]


def train_command(row, out, seed, steps, data=None):
    cmd = [sys.executable, "-m", "tinygan", "train", row["recipe"], *row["args"], "--steps", str(steps),
           "--batch-size", str(row["batch_size"]), "--seed", str(seed), "--ema", str(row["ema"]), "--out", str(out)]
    return cmd + (["--data", str(data)] if data else [])


def run_timed(cmd, log):
    """Run ``cmd``; (exit code, {"user_s", "sys_s", "wall_s", "load_average"}, interrupted) as ``time``
    reports them: the child's own CPU time from wait4, all of its threads included. A Ctrl-C reaches
    the child too; it is waited for (it saves and stops), timed, and reported as interrupted."""
    log("$ " + " ".join(cmd))
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    interrupted = False
    while True:
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            break
        except KeyboardInterrupt:
            interrupted = True
    proc.returncode = os.waitstatus_to_exitcode(status)   # reaped here: Popen must not wait for it again
    timing = {"user_s": round(usage.ru_utime, 2), "sys_s": round(usage.ru_stime, 2),
              "wall_s": round(time.perf_counter() - start, 2), "load_average": round(load, 2)}
    return proc.returncode, timing, interrupted


def evaluate(checkpoint, n, raw, reads_mnist, data=None):
    """``tinygan eval`` on a checkpoint (``--raw``: G's last weights), written beside it as eval.json
    (eval_raw.json); its JSON. ``--data`` goes only to a recipe whose evaluation reads MNIST files."""
    out = Path(checkpoint).parent / ("eval_raw.json" if raw else "eval.json")
    cmd = [sys.executable, "-m", "tinygan", "eval", str(checkpoint), "--n", str(n), "--seed", "0", "--out", str(out)]
    cmd += (["--raw"] if raw else []) + (["--data", str(data)] if data and reads_mnist else [])
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, check=True, text=True)
    return json.loads(done.stdout)


def checkpoint_step(checkpoint):
    from tinygan.checkpoint import load_checkpoint
    meta, _ = load_checkpoint(checkpoint)
    return int(meta["step"]), meta


def write_json(path, obj):
    from tinygan.data.atomic import atomic_write
    with atomic_write(path) as f:
        f.write((json.dumps(obj, indent=2) + "\n").encode())


def copy_file(source, target):
    """Copy ``source`` to ``target`` so that ``target`` is either the whole new file or the old one."""
    from tinygan.data.atomic import atomic_write
    with atomic_write(target) as f:
        f.write(Path(source).read_bytes())


def machine():
    import numpy
    return {"python": platform.python_version(), "numpy": numpy.__version__, "platform": platform.platform(),
            "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count()}


def run_row(row, runs, seed, steps, eval_n, force, data, log):
    """Train (or resume) and evaluate one row; returns its results (or the stored ones when done)."""
    out = runs / row["name"]
    results_path, timing_path, checkpoint = out / "results.json", out / "timing.json", out / "checkpoint.npz"
    if force and out.exists():
        log(f"== {row['name']}: --force: removing {out}")
        shutil.rmtree(out)
    if results_path.exists():
        log(f"== {row['name']}: done ({results_path}), skipping")
        return json.loads(results_path.read_text())
    if row.get("continues") and not out.exists():
        start_from(runs / row["continues"], out, log)
    segments = json.loads(timing_path.read_text()) if timing_path.exists() else []
    resume = checkpoint.exists()
    complete = True
    if resume:
        step, _ = checkpoint_step(checkpoint)
        complete = bool(segments) and segments[-1]["to_step"] == step
        log(f"== {row['name']}: resuming from step {step}" + ("" if complete else
            " (the time before it was not recorded: this row's CPU time will be marked incomplete)"))
    else:
        step = 0
        log(f"== {row['name']}: training {row['recipe']} for {steps} steps at batch {row['batch_size']}")
    cmd = train_command(row, out, seed, steps, data)
    code, timing, interrupted = run_timed(cmd + (["--resume"] if resume else []), log)
    if checkpoint.exists() and not (code == 0 and segments and checkpoint_step(checkpoint)[0] == step):
        # (a resume of a finished run that trained nothing adds no segment)
        segments.append({**timing, "from_step": step, "to_step": checkpoint_step(checkpoint)[0], "exit_code": code})
        write_json(timing_path, segments)
    if interrupted:
        raise KeyboardInterrupt
    if code != 0:
        raise RuntimeError(f"{row['name']}: tinygan train exited with {code}")
    step, meta = checkpoint_step(checkpoint)
    user, system = sum(s["user_s"] for s in segments), sum(s["sys_s"] for s in segments)
    results = {
        "name": row["name"], "recipe": row["recipe"], "label": row["label"], "table": row["table"],
        "command": " ".join(["tinygan", *cmd[3:]]), "steps": step, "batch_size": row["batch_size"],
        "continues": row.get("continues"),
        "train": {"user_s": round(user, 2), "sys_s": round(system, 2), "core_minutes": round((user + system) / 60, 2),
                  "wall_s": round(sum(s["wall_s"] for s in segments), 2), "segments": len(segments),
                  "complete": complete and all(s["exit_code"] == 0 for s in segments),
                  "max_load_average": max((s["load_average"] for s in segments if s.get("load_average") is not None),
                                          default=None)},
        "machine": machine(),
    }
    ema = "ema" in meta
    from tinygan.gan.registry import get_recipe
    reads_mnist = get_recipe(row["recipe"]).reads_mnist_in_eval
    log(f"== {row['name']}: evaluating {eval_n} samples" + (" (running average, then raw)" if ema else ""))
    results["eval"] = evaluate(checkpoint, eval_n, raw=False, reads_mnist=reads_mnist, data=data)
    if ema:
        results["eval_raw"] = evaluate(checkpoint, eval_n, raw=True, reads_mnist=reads_mnist, data=data)
    if row["table"] != "images":
        results["untrained"] = untrained(row, seed, eval_n, data)
    write_json(results_path, results)
    return results


def start_from(base, out, log):
    """Begin the run in ``out`` as a copy of the finished run in ``base`` (its checkpoint, timings,
    metrics and grids; not its evaluations), copied aside first and renamed, so that an
    interrupted copy leaves no half run behind."""
    if not (base / "results.json").exists():
        raise RuntimeError(f"{out.name} continues {base.name}, which is not done: no {base / 'results.json'}")
    log(f"== {out.name}: starting from {base.name}'s finished run")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(base, partial, ignore=shutil.ignore_patterns("results.json", "eval.json", "eval_raw.json"))
    partial.rename(out)


def untrained(row, seed, n, data=None):
    """The two-domain measures of the very networks the row's run started from (its seed)."""
    from two_domain_baselines import baseline
    from tinygan.cli import build_parser
    args = build_parser(row["recipe"]).parse_args(["train", row["recipe"], *row["args"]])
    options = {k[len("recipe_"):]: v for k, v in vars(args).items() if k.startswith("recipe_")}
    return baseline(row["recipe"], options, n, seed=seed, data=data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=Path, default=None, help="where the runs go (default runs; runs-dry with --dry-run)")
    parser.add_argument("--only", action="append", default=None, metavar="NAME[,NAME]",
                        help="only these rows of budgets.json (repeatable)")
    parser.add_argument("--force", action="store_true", help="retrain the selected rows from scratch")
    parser.add_argument("--dry-run", action="store_true",
                        help="a few steps and a few hundred evaluation samples per row (a check of the chain)")
    parser.add_argument("--docs", type=Path, default=None,
                        help="where variants.png and the rows' samples_NAME.png go (default docs; RUNS/docs with --dry-run)")
    parser.add_argument("--readme", type=Path, default=None,
                        help="the README whose results section is rewritten (default README.md; none with --dry-run)")
    parser.add_argument("--budgets", type=Path, default=BUDGETS, help=f"(default {BUDGETS.relative_to(ROOT)})")
    parser.add_argument("--data", type=Path, default=None, help="the MNIST directory (default: as tinygan finds it)")
    parser.add_argument("--list", action="store_true", help="print the rows and their budgets, and stop")
    args = parser.parse_args(argv)
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))   # the sibling scripts: results_table, variants_figure, two_domain_baselines

    spec, all_rows = load_budgets(args.budgets)
    rows = select(all_rows, args.only)
    if args.list:
        for r in rows:
            words = ["tinygan", "train", r["recipe"], *r["args"], "--steps", str(r["steps"]),
                     "--batch-size", str(r["batch_size"]), "--ema", str(r["ema"])]
            after = f"   (trains {r['continues']}'s run on)" if r.get("continues") else ""
            print(f"{r['name']:<22} {' '.join(words)}{after}")
        return 0
    dry = spec["dry_run"] if args.dry_run else None
    runs = (args.runs or Path("runs-dry" if dry else "runs")).resolve()
    docs = (args.docs or (runs / "docs" if dry else ROOT / "docs")).resolve()
    figure = docs / "variants.png"
    runs.mkdir(parents=True, exist_ok=True)
    docs.mkdir(parents=True, exist_ok=True)
    by_name = {r["name"]: r for r in all_rows}
    made = set()
    for row in rows:
        chain = [row]
        while chain[0].get("continues"):                   # the rows it continues, made first
            chain.insert(0, by_name[chain[0]["continues"]])
        for depth, r in enumerate(chain):
            if r["name"] in made:
                continue
            # a dry run's continuing row goes a step further for each row it continues
            steps = min(r["steps"], dry["steps"] + depth) if dry else r["steps"]
            eval_n = dry["eval_samples"] if dry else r["eval_samples"]
            run_row(r, runs, spec["seed"], steps, eval_n, args.force and r is row, args.data, log)
            copy_file(runs / r["name"] / "samples.png", docs / f"samples_{r['name']}.png")
            made.add(r["name"])

    from results_table import write_readme, write_tables
    from variants_figure import variants_figure
    table = write_tables(all_rows, runs, runs / "results.md")
    print(table)
    variants_figure(all_rows, runs, figure, data=args.data, names=spec.get("figure"))
    readme = args.readme or (None if dry else ROOT / "README.md")
    if readme is not None:
        write_readme(all_rows, runs, readme)
    log(f"wrote {runs / 'results.md'}, {figure}" + (f" and the results section of {readme}" if readme else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
