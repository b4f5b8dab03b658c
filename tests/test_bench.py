"""The benchmarks' own decisions (their timings are not tests)."""

import importlib.util
from pathlib import Path


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
