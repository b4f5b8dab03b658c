"""The benchmarks' own decisions (their timings are not tests)."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch


def load(name: str):
    path = Path(__file__).resolve().parent.parent / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_speed_skips_bf16_rows_where_the_cpu_would_emulate_them():
    train_speed = load("train_speed")
    assert train_speed.precisions_to_time(True, False) == (["fp32", "bf16"], "")
    kept, note = train_speed.precisions_to_time(False, False)
    assert kept == ["fp32"] and "no AMX/AVX512-BF16" in note
    assert train_speed.precisions_to_time(False, True)[0] == ["fp32", "bf16"]


BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("name", sorted(path.stem for path in BENCH.glob("*.py")))
def test_every_benchmark_still_imports_what_it_uses(name, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # run as scripts, they import their neighbours
    load(name)  # a refactor that moves what a benchmark imports breaks it here, not later


def test_same_results_names_what_differs_and_ignores_timings():
    same_results = load("same_results")
    manifest = {"runs": {"vae": {"metrics": {"test_mse": 0.01, "train_seconds": 3.0}}},
                "answers": {"q1": {"sha256": "a"}},
                "figures": {"samples": {"pixels_sha256": "p", "caption": "c"}}}
    slower = json.loads(json.dumps(manifest))
    slower["runs"]["vae"]["metrics"]["train_seconds"] = 9.0
    assert same_results.differences(manifest, slower) == []
    changed = json.loads(json.dumps(slower))
    changed["runs"]["vae"]["metrics"]["test_mse"] = 0.02
    changed["answers"]["q1"]["sha256"] = "b"
    changed["figures"]["samples"]["pixels_sha256"] = "q"
    assert same_results.differences(manifest, changed) == [
        "run vae: test_mse", "answer q1", "figure samples: pixels"]


def test_family_speed_puts_each_op_in_the_phase_it_ran_in():
    from torch.profiler import ProfilerActivity, profile, record_function

    family_speed = load("family_speed")
    layer = torch.nn.Linear(32, 32)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9, foreach=True)
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        index = torch.randperm(64)[:16]  # the loop's batch gathering: outside the step
        with record_function("step"):
            with record_function("augment"):
                x = torch.rand(64, 32)[index].flip(0)
            loss = layer(x).square().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with record_function("epoch end"):  # left out
            layer(torch.rand(4096, 32)).cumsum(0)
    phase = {event.name: family_speed.phase_of(family_speed._ranges(event))
             for event in profiled.events()}
    assert phase["aten::randperm"] == "data" and phase["aten::flip"] == "augment"
    assert phase["aten::square"] == "forward" and phase["aten::mm"] == "backward"
    assert phase["aten::_foreach_add_"] == "optimizer" and phase["aten::cumsum"] is None
    seconds, kernels = family_speed.split(profiled.events())
    assert set(seconds) == set(family_speed.PHASES)
    assert all(value > 0 for value in seconds.values()) and 0 < kernels < sum(seconds.values())
