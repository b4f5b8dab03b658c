"""How long the runs a build will train should take on this machine, said before training.

A run's time is its steps (epochs of batches, or a family's iterations) times the seconds a
step of its family takes here. Those come from the run store's record of earlier runs of
the family on this device and precision (each run.json has its training time), else from a
few steps timed now, kept in `<cache>/timings.json` so the next dry run is instant. A family
that measures something after every epoch (SimSiam's kNN over the training set's features)
has that timed once too, spread over the epoch's steps: on 60,000 images it is a quarter of
an epoch. Runs train `jobs` at a time, each on its share of the cores, as the build's
workers do.
"""

import contextlib
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import families
from .data import Dataset
from .files import atomic_write_json
from .runs import RunConfig, RunStore
from .slices import steps_per_epoch
from .train import Fit, TrainConfig, train

TIMED_STEPS = 8  # after two steps of warm-up (first-call allocations, oneDNN's kernels)
WARM_UP = 2


@dataclass(frozen=True)
class RunEstimate:
    name: str
    images: str  # what the run sees: "60,000 × 10 epochs", "2,000 iterations × 64"
    seconds: float
    source: str  # "3 earlier runs here", "6 steps timed"
    epochs: int | None  # of its training set; None for a family counting iterations
    iterations: int | None


def steps(config: RunConfig, n_train: int) -> int:
    return config.epochs * steps_per_epoch(config, n_train)


def images_seen(config: RunConfig, n_train: int) -> str:
    if families.epoch_iterations(config.family) is not None:
        return f"{steps(config, n_train):,} iterations × {config.batch_size}"
    return f"{n_train:,} × {config.epochs} epoch{'s' * (config.epochs > 1)}"


def estimate(configs: dict[str, RunConfig], store: RunStore, data: Dataset, device: str,
             jobs: int) -> list[RunEstimate]:
    """Each run's expected training time here (the runs that will train, not cached ones)."""
    threads = max(1, torch.get_num_threads() // jobs) if device == "cpu" else None
    rates: dict[tuple, tuple[float, str]] = {}
    records = _records(store)  # read once for every kind of run
    estimates = []
    for name, config in configs.items():
        kind = (config.family, config.params.model_dump_json(), config.batch_size,
                config.precision, device)
        if kind not in rates:
            rates[kind] = _recorded(records, config, device) or _timed(store, config, data,
                                                                     device, threads)
        per_step, source = rates[kind]
        n_steps = steps(config, len(data.train_labels))
        counts_iterations = families.epoch_iterations(config.family) is not None
        estimates.append(RunEstimate(
            name, images_seen(config, len(data.train_labels)), per_step * n_steps, source,
            None if counts_iterations else config.epochs,
            n_steps if counts_iterations else None))
    return estimates


def wall_seconds(estimates: list[RunEstimate], jobs: int) -> float:
    """The runs spread over `jobs` workers; never less than the longest run."""
    if not estimates:
        return 0.0
    return max(sum(e.seconds for e in estimates) / jobs, max(e.seconds for e in estimates))


def summary(estimates: list[RunEstimate], jobs: int, n_train: int, hint: str = "") -> str:
    """One line: what will train, how much data it sees, and for about how long."""
    if not estimates:
        return "every run is cached: nothing to train"
    seen = []
    if epochs := [e.epochs for e in estimates if e.epochs is not None]:
        seen.append(f"{n_train:,} training images × {_span(epochs)} "
                    f"epoch{'s' * (max(epochs) > 1)}")
    if iterations := [e.iterations for e in estimates if e.iterations is not None]:
        seen.append(f"{_span(iterations)} iterations")
    sources = " and ".join(sorted({"earlier runs here" if "earlier" in e.source else
                                   "steps timed now" for e in estimates}))
    return (f"will train {len(estimates)} run{'s' * (len(estimates) > 1)} "
            f"({'; '.join(seen)}): about {duration(wall_seconds(estimates, jobs))} on this "
            f"machine, {jobs} at a time (from {sources}){hint}")


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _records(store: RunStore) -> list[tuple[RunConfig, int, float, str | None]]:
    """(config, training images, training seconds, device) of every run trained here."""
    records = []
    for path in store.root.glob("*/run.json"):
        try:
            info = json.loads(path.read_text())
            records.append((RunConfig.from_dict(info["config"]), info["data"]["train_images"],
                            float(info["train_seconds"]), info.get("device")))
        except Exception:
            continue  # a record of another version, or damaged: not evidence
    return records


def _recorded(records: list, config: RunConfig, device: str) -> tuple[float, str] | None:
    """Seconds per step of earlier runs of the family here (the median; runs of the very
    same parameters when there are any)."""
    same, family = [], []
    for earlier, n_train, seconds, trained_on in records:
        if (earlier.family, earlier.precision, trained_on) != (
                config.family, config.precision, device):
            continue
        per_step = seconds / steps(earlier, n_train) * config.batch_size / earlier.batch_size
        (same if earlier.params == config.params else family).append(per_step)
    rates = same or family
    if not rates:
        return None
    return statistics.median(rates), f"{len(rates)} earlier run{'s' * (len(rates) > 1)} here"


class _Enough(Exception):
    pass


def _timed(store: RunStore, config: RunConfig, data: Dataset, device: str,
           threads: int | None) -> tuple[float, str]:
    """Time a few steps of the family's real loop (kept in timings.json)."""
    path = store.root / "timings.json"
    kind = f"{config.family}/{config.params.model_dump_json()}/{config.batch_size}/" \
           f"{config.precision}/{device}/{threads}"
    if families.get(config.family).epoch_end is not None:
        # Its share of a step depends on the data (a kNN over the training set's features);
        # timings kept before it was timed at all lack this part of the key.
        kind += f"/with epoch_end on {data.fingerprint}"
    timings = _read(path)
    if kind not in timings:
        timings[kind] = _time_steps(config, data, device, threads)
        if store.root.is_dir():  # a dry run on a new cache folder creates nothing
            atomic_write_json(path, _read(path) | {kind: timings[kind]})
    return timings[kind], f"{TIMED_STEPS} steps timed"


def _time_steps(config: RunConfig, data: Dataset, device: str, threads: int | None) -> float:
    """Seconds a step takes here: the median of a few steps, plus the family's per-epoch
    measurement spread over an epoch's steps."""
    family = families.get(config.family)
    marks: list[float] = []
    epoch_end = 0.0

    def on_batch(epoch: int, step: int, losses: dict) -> None:
        marks.append(time.perf_counter())
        if len(marks) > WARM_UP + TIMED_STEPS:
            raise _Enough

    before = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):  # the build's own random numbers stay as they were
        try:
            if threads:
                torch.set_num_threads(threads)
            models = family.build(config.params)
            tensors = family.tensors(data, config.params)
            with contextlib.suppress(_Enough):  # every epoch has a step at least: enough
                train(family, config.params, models, tensors,
                      TrainConfig(epochs=WARM_UP + TIMED_STEPS + 1, lr=config.lr,
                                  batch_size=config.batch_size, seed=0, device=device,
                                  precision=config.precision),
                      data=data, on_batch=on_batch)
            if family.epoch_end is not None:
                epoch_end = _time_epoch_end(family, config, models, data, device)
        finally:
            torch.set_num_threads(before)
    # The median step: a step that another process slowed down says nothing of the rest.
    step = statistics.median(after - before for before, after in zip(
        marks[WARM_UP:], marks[WARM_UP + 1:], strict=False))
    return step + epoch_end / steps_per_epoch(config, len(data.train_labels))


def _time_epoch_end(family, config: RunConfig, models, data: Dataset, device: str) -> float:
    autocast = torch.autocast(torch.device(device).type, dtype=torch.bfloat16,
                              enabled=config.precision == "bf16")
    started = time.perf_counter()
    family.epoch_end(models, config.params, data, Fit(autocast, 1.0, config.epochs))
    return time.perf_counter() - started


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
