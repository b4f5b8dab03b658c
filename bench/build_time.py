"""Wall time of a cold `build-report` (empty run cache), as a Markdown table row.

    .venv/bin/python bench/build_time.py                          # problem1, offline default
    .venv/bin/python bench/build_time.py --dataset fashion-mnist  # the 60k set (Debian's package)

Prints the machine (cores, CPU model, bf16/AMX flags), then one row: problem, data set,
cold wall time, warm wall time. A benchmark, not a test: it asserts nothing.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cpu_description() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                  if line.startswith("model name")), platform.machine())
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines()
                  if line.startswith("flags")), [])
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return f"{model}; flags: {' '.join(wanted) or 'none of avx2/avx512/amx'}"


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="problem1")
    parser.add_argument("--dataset", default="auto")
    parser.add_argument("--profile", default="full")
    args = parser.parse_args()
    tool = str(Path(sys.executable).parent / "build-report")
    print(f"machine: {os.cpu_count()} cores, {cpu_description()}")
    with tempfile.TemporaryDirectory() as scratch:
        command = [tool, args.problem, "--dataset", args.dataset, "--profile", args.profile,
                   "--out", f"{scratch}/out", "--cache-dir", f"{scratch}/runs"]
        cold, warm = timed(command), timed(command)
    print("| problem | data | profile | cold build | warm build |")
    print("|---|---|---|---|---|")
    print(f"| {args.problem} | {args.dataset} | {args.profile} | {cold:.0f} s | {warm:.1f} s |")


if __name__ == "__main__":
    main()
