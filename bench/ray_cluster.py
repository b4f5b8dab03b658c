"""A Ray cluster of two nodes on this machine, and a build that spreads over both.

    .venv/bin/pip install -e '.[ray]'
    .venv/bin/python bench/ray_cluster.py              # problem1, quick profile, mnist-5k

Starts a head (`ray start --head --num-cpus 1`) and a second node (`ray start --address
HEAD --num-cpus 1`): two raylets, as two machines would run them, each with one CPU. Then
builds the problem with `--executor ray --ray-address HEAD` (one thread a task), prints
which node trained each slice of each run and how many slices each node took, and stops
the cluster. A benchmark, not a test: it asserts nothing.

Ray 2.5x clusters ask for a token: the script sets RAY_AUTH_MODE=token for the nodes and
itself, all of which read ~/.ray/auth_token.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from build_time import cpu_description

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PORT = 6391


def ray(*args: str) -> None:
    tool = str(Path(sys.executable).parent / "ray")
    subprocess.run([tool, *args, "--disable-usage-stats"] if args[0] == "start"
                   else [tool, *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="problem1")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--dataset", default="mnist-5k")
    args = parser.parse_args()
    os.environ["RAY_AUTH_MODE"] = "token"
    head = f"127.0.0.1:{PORT}"
    print(f"machine: {os.cpu_count()} cores, {cpu_description()}")
    ray("start", "--head", "--num-cpus", "1", "--port", str(PORT), "--include-dashboard=false")
    try:
        ray("start", "--address", head, "--num-cpus", "1")
        from report_builder.build import BuildOptions, build
        from report_builder.slices import SilentReporter

        scratch = Path(tempfile.mkdtemp())
        options = BuildOptions(problem=args.problem, out=scratch / "out",
                               cache_dir=scratch / "runs", dataset=args.dataset,
                               profile=args.profile, executor="ray", ray_address=head)
        started = time.perf_counter()
        result = build(options, SilentReporter())
        seconds = time.perf_counter() - started
        import ray as ray_api

        ray_api.init(address=head, logging_level="ERROR")
        head_ids = {node["NodeID"] for node in ray_api.nodes()
                    if "node:__internal_head__" in node["Resources"]}
        ray_api.shutdown()
        role = {node: "head" if node in head_ids else "second"
                for nodes in result.nodes.values() for node in nodes}
        print(f"{result.cluster}; {args.problem} {args.profile} built in {seconds:.1f} s\n")
        print("| run | slices | node of each slice |")
        print("|---|---|---|")
        for name, nodes in result.nodes.items():
            print(f"| {name} | {len(nodes)} | {' '.join(role[n] for n in nodes)} |")
        per_node = Counter(role[n] for nodes in result.nodes.values() for n in nodes)
        print(f"\nslices per node: {dict(per_node)}")
        shutil.rmtree(scratch)
    finally:
        ray("stop", "--force")


if __name__ == "__main__":
    main()
