"""Run test files in several pytest processes at once, each with its own JUnit report.

On a GPU the suite's small ops cost their launch and their Python, not arithmetic, so one
process keeps one core busy and the card idle; and the first use of every CuPy kernel compiles
it on one core. Split over K processes (a GPU machine has the cores), the same tests take about
1/K of the time. The files are dealt out in the order given (file i to shard i mod K), so that
each shard starts with the most telling ones; a file's tests stay together and in order.

    python scripts/pytest_shards.py K DIR [PYTEST ARGS...] -- FILES...

Shard i writes DIR/tests-i.xml and DIR/tests-i.log. A SIGINT (Ctrl-C, or ``timeout -s INT``, which
signals the whole process group) reaches every shard: each stops, writes its report, and this
process waits for them. Exit status: 0 when every shard passed (a shard whose tests were all
deselected counts as passed), else the first other status of a shard (1: tests failed, 2:
interrupted). Each shard gets ``TINYGAN_NUM_THREADS`` = cores / K unless it is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NO_TESTS_COLLECTED = 5


def deal(files, shards):
    """``files`` dealt out to at most ``shards`` non-empty lists, in order."""
    return [part for part in (files[i::shards] for i in range(shards)) if part]


def main(argv):
    usage = "usage: python scripts/pytest_shards.py K DIR [PYTEST ARGS...] -- FILES..."
    if len(argv) < 4 or "--" not in argv[2:]:
        sys.exit(usage)
    try:
        shards = int(argv[0])
    except ValueError:
        shards = 0
    out, cut = Path(argv[1]), argv.index("--", 2)
    pytest_args, files = argv[2:cut], argv[cut + 1:]
    if shards < 1 or not files or not out.is_dir():
        sys.exit(f"{usage}\nK: expected a positive integer, got {argv[0]!r}; DIR: an existing directory, got {out}; "
                 f"FILES: at least one, got {len(files)}")
    parts = deal(files, shards)
    env = dict(os.environ)
    env.setdefault("TINYGAN_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // len(parts))))
    procs = []
    for i, part in enumerate(parts):
        log = open(out / f"tests-{i}.log", "w")
        cmd = [sys.executable, "-m", "pytest", *pytest_args, f"--junitxml={out / f'tests-{i}.xml'}", *part]
        print(f"shard {i}: {' '.join(part)}", flush=True)
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log))
    statuses = []
    for proc, log in procs:
        while True:
            try:
                statuses.append(proc.wait())
                break
            except KeyboardInterrupt:  # the shards got it too: let them write their reports
                continue
        log.close()
    for i, status in enumerate(statuses):
        lines = (out / f"tests-{i}.log").read_text(errors="replace").strip().splitlines()
        print(f"shard {i}: exit status {status}: {lines[-1] if lines else '(no output)'}", flush=True)
    failed = [s for s in statuses if s not in (0, NO_TESTS_COLLECTED)]
    return failed[0] if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
