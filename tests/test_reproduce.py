"""scripts/reproduce_results.py, the one command that remakes the results tables: its budgets
file, its timing (``time``'s user + sys of the child), and a dry run of two rows through its own
entry point: train, evaluate with and without the running average of G, skip when done, retrain
with --force, and write the tables and the figure."""

import json
import sys

import pytest

from helpers import SCRIPTS, load_script


@pytest.fixture(scope="module")
def reproduce():
    return load_script("reproduce_results")


def test_budgets_name_every_recipe_and_every_two_domain_pair(reproduce):
    from tinygan.gan.registry import RECIPES
    from tinygan.cli import build_parser
    spec, rows = reproduce.load_budgets()
    assert {r["recipe"] for r in rows} == set(RECIPES)          # all fifteen recipes
    pairs = {(r["recipe"], r["args"][r["args"].index("--domain-b") + 1]) for r in rows if r["table"] != "images"}
    assert {(m, d) for m in ("cogan", "discogan", "cyclegan") for d in ("negative", "edges", "rot90")} <= pairs
    assert any("--info-weight" in r["args"] for r in rows)         # InfoGAN's ablation is a row
    assert any("--adapt" in r["args"] for r in rows)               # so is CoGAN's domain adaptation
    assert {r["recipe"] for r in rows if r["name"] in spec["figure"]} == set(RECIPES)  # the figure shows each
    for r in rows:                                                 # every row's options are real flags
        build_parser(r["recipe"]).parse_args(["train", r["recipe"], *r["args"]])
        assert r["steps"] > 0 and r["batch_size"] > 0 and 0 <= r["ema"] < 1
    with pytest.raises(ValueError, match="--only: unknown row nope"):
        reproduce.select(rows, ["vanilla,nope"])


def test_training_is_timed_as_time_times_it(reproduce):
    """user + sys CPU seconds of the child (wait4) and the wall time, for a child that burns ~0.3 s."""
    code, timing, interrupted = reproduce.run_timed(
        [sys.executable, "-c", "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"],
        log=lambda line: None)
    assert code == 0 and not interrupted
    assert 0.28 <= timing["user_s"] + timing["sys_s"] < 2.0 and timing["wall_s"] >= 0.28
    code, _, _ = reproduce.run_timed([sys.executable, "-c", "raise SystemExit(3)"], log=lambda line: None)
    assert code == 3


def test_dry_run_of_two_rows_skips_when_done_and_retrains_with_force(reproduce, mnist_root, tmp_path, capfd):
    runs, docs, readme = tmp_path / "runs", tmp_path / "docs", tmp_path / "README.md"
    readme.write_text("# a README\n<!-- results table: begin. remade -->\nold table\n<!-- results table: end -->\nmore\n")
    argv = ["--dry-run", "--only", "vanilla,infogan_noinfo", "--runs", str(runs), "--docs", str(docs),
            "--data", str(mnist_root), "--readme", str(readme)]
    assert reproduce.main(argv) == 0
    text = readme.read_text()                      # every row of budgets.json, the two trained ones with figures
    assert text.startswith("# a README\n<!-- results table: begin. remade -->\n| variant |") and text.endswith("more\n")
    assert "old table" not in text and "| vanilla (non-saturating) | 3 × 64 (" in text
    assert "| wgan (clip 0.01, 5 critic steps) | not remade yet: [earlier runs](docs/variants.md#wgan)" in text
    assert "| cyclegan_rot90 | rot90 | not remade yet" in text and "| real MNIST" in text
    for name in ("vanilla", "infogan_noinfo"):
        r = json.loads((runs / name / "results.json").read_text())
        assert r["steps"] == 3 and r["train"]["complete"] and r["train"]["user_s"] > 0 and r["train"]["wall_s"] > 0
        assert r["eval"]["weights"].startswith("running average") and r["eval_raw"]["weights"] == "last"
        assert r["eval"]["n"] == 200 and "fid" in r["eval_raw"]
        assert ("--info-weight 0" in r["command"]) == (name == "infogan_noinfo")
    table = (runs / "results.md").read_text()
    assert "| vanilla |" in table and "| infogan_noinfo |" in table and "| real MNIST |" in table
    assert (docs / "variants.png").stat().st_size > 0 and (docs / "samples_infogan_noinfo.png").stat().st_size > 0
    capfd.readouterr()
    reproduce.main(argv)                                              # done: nothing trained again
    assert "done" in capfd.readouterr().err
    before = json.loads((runs / "vanilla" / "timing.json").read_text())
    reproduce.main(argv[:2] + ["vanilla"] + argv[3:] + ["--force"])  # only vanilla, from scratch
    err = capfd.readouterr().err
    assert "--force: removing" in err and "train vanilla" in err and "train infogan" not in err
    after = json.loads((runs / "vanilla" / "timing.json").read_text())
    assert len(after) == len(before) == 1


def test_a_continuing_row_trains_its_base_run_on(reproduce, mnist_root, tmp_path, capfd):
    """A row with "continues" starts from a copy of its base row's finished run (made first) and
    resumes it: the base run stays as it was, the longer run keeps the base's segments in its time."""
    spec = json.loads((SCRIPTS / "budgets.json").read_text())
    base = {"name": "short", "recipe": "vanilla", "steps": 9370, "batch_size": 64}
    spec["rows"] = [base, {**base, "name": "longer", "continues": "short", "steps": 18740}]
    spec["figure"] = ["longer"]
    budgets = tmp_path / "budgets.json"
    budgets.write_text(json.dumps(spec))
    runs = tmp_path / "runs"
    argv = ["--dry-run", "--only", "longer", "--runs", str(runs), "--docs", str(tmp_path / "docs"),
            "--data", str(mnist_root), "--budgets", str(budgets)]
    assert reproduce.main(argv) == 0
    assert "longer: starting from short's finished run" in capfd.readouterr().err
    short, longer = (json.loads((runs / n / "results.json").read_text()) for n in ("short", "longer"))
    assert short["steps"] == 3 and longer["steps"] == 4 and longer["continues"] == "short"
    segments = json.loads((runs / "longer" / "timing.json").read_text())
    assert [(s["from_step"], s["to_step"]) for s in segments] == [(0, 3), (3, 4)]
    assert longer["train"]["complete"] and longer["train"]["user_s"] > short["train"]["user_s"]
    assert json.loads((runs / "short" / "timing.json").read_text()) == segments[:1]
    assert not (runs / "longer.partial").exists()

    bad = {**base, "name": "other", "continues": "short", "batch_size": 32}
    for row, message in [({**bad, "continues": "nope"}, "expected the name of an earlier row"),
                         (bad, "batch_size differ"), ({**bad, "batch_size": 64, "steps": 100}, "expected more steps")]:
        spec["rows"] = [base, row]
        budgets.write_text(json.dumps(spec))
        with pytest.raises(ValueError, match=message):
            reproduce.load_budgets(budgets)


def test_the_figure_draws_the_named_rows_that_are_trained_in_their_order(reproduce, tmp_path):
    figure = load_script("variants_figure")
    rows = [{"name": name} for name in ("a", "b", "c")]
    for name in ("a", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "checkpoint.npz").write_bytes(b"")
    drawn = lambda names: [row["name"] for row in figure.figure_rows(rows, tmp_path, names)]  # noqa: E731
    assert drawn(["c", "b", "a"]) == ["c", "a"]
    assert drawn(["b"]) == drawn(None) == ["a", "c"]   # none of the named rows trained, or no names: every trained row
    spec = json.loads((SCRIPTS / "budgets.json").read_text())
    spec["figure"] = ["vanilla", "nope"]
    budgets = tmp_path / "budgets.json"
    budgets.write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=r"figure: expected names of rows, got unknown \['nope'\]"):
        reproduce.load_budgets(budgets)
