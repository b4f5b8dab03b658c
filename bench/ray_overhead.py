"""Ray's overhead on a whole build: the same cold build with `--executor local` and with
`--executor ray` (a Ray started on this machine), side by side in one run.

    .venv/bin/pip install -e '.[ray]'
    .venv/bin/python bench/ray_overhead.py                  # problem1, full, offline default
    .venv/bin/python bench/ray_overhead.py --repeats 2      # alternate, to even out a busy spell

Prints the machine, each build's wall time, the ratio ray / local, and whether both builds
trained the same run keys and measured the same numbers. A benchmark, not a test: it
asserts nothing.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from build_time import cpu_description


def build(executor: str, args, scratch: Path) -> tuple[float, dict]:
    tool = str(Path(sys.executable).parent / "build-report")
    out = scratch / executor
    command = [tool, args.problem, "--dataset", args.dataset, "--profile", args.profile,
               "--executor", executor, "--out", str(out / "out"),
               "--cache-dir", str(out / "runs")]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    manifest = json.loads((out / "out" / "manifest.json").read_text())
    return seconds, manifest


def measured(manifest: dict) -> dict:
    return {name: ({k: v for k, v in (run["metrics"] or {}).items() if k != "train_seconds"},
                   run["key"]) for name, run in manifest["runs"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="problem1")
    parser.add_argument("--dataset", default="auto")
    parser.add_argument("--profile", default="full")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {cpu_description()}")
    print(f"{args.problem}, {args.profile} profile, data {args.dataset}; cold caches\n")
    times: dict[str, list[float]] = {"local": [], "ray": []}
    same = True
    print("| repeat | executor | cold build |")
    print("|---|---|---|")
    for repeat in range(args.repeats):
        order = ("local", "ray") if repeat % 2 == 0 else ("ray", "local")
        manifests = {}
        for executor in order:
            with tempfile.TemporaryDirectory() as scratch:
                seconds, manifests[executor] = build(executor, args, Path(scratch))
            times[executor].append(seconds)
            print(f"| {repeat + 1} | {executor} | {seconds:.1f} s |", flush=True)
        same &= measured(manifests["local"]) == measured(manifests["ray"])
    local, ray = sum(times["local"]), sum(times["ray"])
    print(f"\nray / local: {ray / local:.3f} (overhead {100 * (ray / local - 1):+.1f} %)")
    print(f"same run keys and numbers: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
