"""Do two versions of the code build the same reports? (a check for refactors, not a test)

Builds every problem's quick profile on mnist-5k with the code of git revision A and of the
working tree (or revision B), each with its own cache, and prints per problem what differs:
measured numbers (training seconds and timings left out), answer texts, figure pixels and
captions. Moving code may change run keys (a one-time retrain); it must not change these.

    .venv/bin/python bench/same_results.py HEAD~1            # that commit against the tree
    .venv/bin/python bench/same_results.py HEAD~2 HEAD
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Timings, and what is computed from them; answers and figures that quote a time (gan's
# training seconds, ddpm's seconds per 1,000 samples) differ between any two builds.
TIMINGS = {"train_seconds", "key", "code_version", "reused", "seconds_per_1000", "speedup"}


def checkout(revision: str | None, into: Path) -> Path:
    """The tree of `revision` (None: the working tree itself)."""
    if revision is None:
        return ROOT
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(into),
                    revision], check=True)
    return into


def build_all(source: Path, out: Path, problems: list[str]) -> dict[str, float]:
    seconds = {}
    for problem in problems:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "report_builder", "build", problem, "--profile",
                        "quick", "--dataset", "mnist-5k", "--out", str(out / problem),
                        "--cache-dir", str(out / "runs")], check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(source)})
        seconds[problem] = time.perf_counter() - started
    return seconds


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def differences(a: dict, b: dict) -> list[str]:
    found = []
    for name in sorted(set(a["runs"]) | set(b["runs"])):
        ma = without_timings(a["runs"].get(name, {}).get("metrics"))
        mb = without_timings(b["runs"].get(name, {}).get("metrics"))
        if ma != mb:
            keys = sorted(k for k in set(ma or {}) | set(mb or {})
                          if (ma or {}).get(k) != (mb or {}).get(k))
            found.append(f"run {name}: {', '.join(keys[:6])}")
    found += [f"answer {q}" for q in sorted(a["answers"])
              if a["answers"][q]["sha256"] != b["answers"].get(q, {}).get("sha256")]
    figures_a, figures_b = a["figures"], b["figures"]
    found += [f"figure {f} only in one" for f in sorted(set(figures_a) ^ set(figures_b))]
    for f in sorted(set(figures_a) & set(figures_b)):
        if figures_a[f]["pixels_sha256"] != figures_b[f]["pixels_sha256"]:
            found.append(f"figure {f}: pixels")
        if figures_a[f]["caption"] != figures_b[f]["caption"]:
            found.append(f"figure {f}: caption")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="git revision to compare from")
    parser.add_argument("b", nargs="?", help="git revision to compare with (default: the tree)")
    parser.add_argument("--problems", nargs="*", default=[
        "problem1", "hw4", "vae-likelihood", "beta-vae", "gan", "simsiam"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same-results-") as scratch:
        scratch = Path(scratch)
        trees = [checkout(args.a, scratch / "a"), checkout(args.b, scratch / "b")]
        try:
            times = [build_all(tree, scratch / f"out{i}", args.problems)
                     for i, tree in enumerate(trees)]
        finally:
            for tree in trees:
                if tree != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                    str(tree)], check=False)
        for problem in args.problems:
            a, b = (json.loads((scratch / f"out{i}" / problem / "manifest.json").read_text())
                    for i in (0, 1))
            found = differences(a, b)
            print(f"{problem:15s} {times[0][problem]:5.0f} s / {times[1][problem]:5.0f} s  "
                  + ("same numbers, answers and figures" if not found else "; ".join(found)))


if __name__ == "__main__":
    main()
