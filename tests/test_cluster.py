"""Ray (`--executor ray`): the same runs as the local pool, a store that travels, clear
errors without the extra or without a cluster. The Ray tests skip where Ray is missing."""

import json
import socket
import sys
import time

import pytest
import torch
from typer.testing import CliRunner

from report_builder import jobs
from report_builder.cli import app
from report_builder.cluster import CONNECT_TIMEOUT_S, INSTALL, check_reachable
from report_builder.errors import ReportBuilderError
from report_builder.jobs import TrainingPool
from report_builder.runs import RunConfig, RunStore
from report_builder.seeds import parse_seeds
from report_builder.slices import Request, SilentReporter, steps_per_epoch


def one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert text in lines[0]


def closed_port() -> int:
    """A port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_args(tmp_path, *more):
    return ["problem1", "--profile", "quick", "--dataset", "mnist-5k",
            "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "runs"), *more]


def test_without_the_extra_ray_fails_naming_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` does without Ray
    result = CliRunner().invoke(app, build_args(tmp_path, "--executor", "ray"))
    one_line_error(result, INSTALL)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("*/run.json"))
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / "a.pdf").write_bytes(b"%PDF-1.4")
    result = CliRunner().invoke(app, ["verify", "--batch", str(tmp_path / "class"),
                                      "--executor", "ray"])
    one_line_error(result, INSTALL)


def test_an_unreachable_address_fails_within_seconds_naming_it():
    address = f"127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(ReportBuilderError, match=f"cannot reach Ray at {address}"):
        check_reachable(address)
    assert time.monotonic() - started < CONNECT_TIMEOUT_S + 1
    with pytest.raises(ReportBuilderError, match="HOST:PORT"):
        check_reachable("ray://")


def test_the_cli_names_an_unreachable_address(tmp_path):
    pytest.importorskip("ray", reason="Ray is the optional extra")
    address = f"127.0.0.1:{closed_port()}"
    started = time.monotonic()
    result = CliRunner().invoke(app, build_args(tmp_path, "--executor", "ray",
                                                "--ray-address", address))
    one_line_error(result, f"cannot reach Ray at {address}")
    assert time.monotonic() - started < 30  # data loading included; Ray alone takes minutes


def test_a_ray_address_without_the_ray_executor_is_refused(tmp_path):
    one_line_error(CliRunner().invoke(app, build_args(tmp_path, "--ray-address", "h:6379")),
                   "add --executor ray")


def train_here(config: RunConfig, data, tmp_path):
    """The reference: the same run trained in this process, in one go, on one thread."""
    return RunStore(tmp_path / "here").get("reference", config, data, "cpu")


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values(), strict=True))


def test_a_worker_without_the_store_trains_from_the_checkpoint_sent_and_sends_the_run_back(
        ray_cluster, tiny, tmp_path, monkeypatch):
    config = RunConfig.make("conv_ae", 3, nz=8, seed=4)
    monkeypatch.setattr(jobs, "SLICE_STEPS", 1)  # one epoch a task: the checkpoint travels
    store = RunStore(tmp_path / "runs")
    with TrainingPool(store, tiny, "cpu", 2, SilentReporter(), ray_cluster) as pool:
        pool._ensure_workers()
        pool.workers.store_id = "another machine's store"  # as a node without the folder
        pool.submit([Request("ae", config)])
        run = pool.wait()["ae"]
    assert len(pool.workers.nodes["ae"]) == 3  # three tasks
    assert store.is_complete(run.key) and not (store.entry(run.key) / "checkpoint.pt").exists()
    reference = train_here(config, tiny, tmp_path)
    assert run.key == reference.key and run.history == reference.history
    assert same_weights(run.model, reference.model)


class Progress:
    def __init__(self):
        self.completed = 0

    def start(self, name, total, note): pass
    def advance(self, name, completed, losses): self.completed = completed
    def finish(self, name, note): pass


def test_ctrl_c_cancels_the_tasks_and_the_run_resumes_from_its_last_epoch(
        ray_cluster, tiny, tmp_path, monkeypatch):
    config = RunConfig.make("conv_ae", 40, nz=8, seed=5)
    per_epoch = steps_per_epoch(config, len(tiny.train_labels))
    monkeypatch.setattr(jobs, "SLICE_STEPS", 10**6)  # the whole run is one task
    store, progress = RunStore(tmp_path / "runs"), Progress()
    with pytest.raises(KeyboardInterrupt), TrainingPool(store, tiny, "cpu", 2, progress,
                                                         ray_cluster) as pool:
        pool.submit([Request("ae", config)])
        deadline = time.monotonic() + 120
        while progress.completed < 2 * per_epoch and time.monotonic() < deadline:
            time.sleep(0.05)
        raise KeyboardInterrupt  # what Ctrl-C raises in the build's thread
    key = pool.requests["ae"][1]
    checkpoint = store.entry(key) / "checkpoint.pt"
    assert checkpoint.is_file() and not store.is_complete(key)
    stopped = checkpoint.stat().st_mtime_ns
    time.sleep(1.0)
    assert checkpoint.stat().st_mtime_ns == stopped  # the task is gone, not training on
    epoch = torch.load(checkpoint, weights_only=False)["epoch"]
    assert 1 <= epoch < config.epochs

    with TrainingPool(store, tiny, "cpu", 2, SilentReporter(), ray_cluster) as pool:
        pool.submit([Request("ae", config)])
        run = pool.wait()["ae"]
    reference = train_here(config, tiny, tmp_path)
    assert run.history == reference.history and same_weights(run.model, reference.model)


@pytest.mark.slow
def test_a_ray_build_has_the_local_pools_run_keys_numbers_and_figures(
        ray_cluster, tmp_path, monkeypatch):
    # Two workers of one thread each on both sides (thread counts change float sums).
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    built = {}
    for executor in ("local", "ray"):
        result = CliRunner().invoke(app, build_args(tmp_path / executor, "--jobs", "2",
                                                    "--executor", executor))
        assert result.exit_code == 0, result.output
        built[executor] = json.loads((tmp_path / executor / "out" / "manifest.json").read_text())
    local, ray = built["local"], built["ray"]
    assert "trained on the Ray already running" in result.output
    assert {n: r["key"] for n, r in ray["runs"].items()} == \
        {n: r["key"] for n, r in local["runs"].items()}
    assert measured(ray) == measured(local)
    assert ray["answers"] == local["answers"]
    assert {n: f["pixels_sha256"] for n, f in ray["figures"].items()} == \
        {n: f["pixels_sha256"] for n, f in local["figures"].items()}


def measured(manifest: dict) -> dict:
    """Every run's metrics but its training time."""
    return {name: {k: v for k, v in (run["metrics"] or {}).items() if k != "train_seconds"}
            for name, run in manifest["runs"].items()}


def test_a_ray_task_error_comes_back_as_raised(ray_cluster):
    from report_builder.cluster import RayExecutor

    with RayExecutor() as executor:
        future = executor.submit(parse_seeds, "4-0")  # raises on the worker
        with pytest.raises(ReportBuilderError, match="--seeds 4-0"):
            future.result(timeout=60)
        assert executor.submit(parse_seeds, "0-2").result(timeout=60) == (0, 1, 2)
