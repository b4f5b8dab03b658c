"""The benchmarks' own decisions (their timings are not tests)."""

import importlib.util
import json
from pathlib import Path

import pytest


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
