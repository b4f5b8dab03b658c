"""Estimates of a build's training time: from earlier runs here, else from timed steps."""

import json
import time

import pytest

from report_builder import estimate as est
from report_builder.runs import RunConfig, RunStore


def record(store: RunStore, key: str, config: RunConfig, n_train: int, seconds: float,
           device: str = "cpu") -> None:
    entry = store.entry(key)
    entry.mkdir(parents=True)
    (entry / "run.json").write_text(json.dumps({
        "config": config.as_dict(), "data": {"train_images": n_train},
        "train_seconds": seconds, "device": device}))


def test_an_earlier_run_of_the_family_gives_the_rate(tmp_path, tiny):
    store = RunStore(tmp_path)
    # 4,000 images at batch 64: 63 steps an epoch; 2 epochs in 12.6 s is 0.1 s a step.
    record(store, "a" * 16, RunConfig.make("conv_ae", 2, nz=64), 4000, 12.6)
    record(store, "b" * 16, RunConfig.make("conv_ae", 2, nz=64), 4000, 99.0, device="cuda")
    wanted = RunConfig.make("conv_ae", 10, nz=64, batch_size=128)
    [run] = est.estimate({"ae": wanted}, store, tiny, "cpu", jobs=1)
    steps = est.steps(wanted, len(tiny.train_labels))
    assert run.seconds == pytest.approx(0.1 * 2 * steps)  # twice the batch, twice the step
    assert run.source == "1 earlier run here" and run.epochs == 10
    assert run.images == f"{len(tiny.train_labels):,} × 10 epochs"


def test_runs_of_the_same_parameters_are_preferred_to_the_rest_of_the_family(tmp_path, tiny):
    store = RunStore(tmp_path)
    record(store, "a" * 16, RunConfig.make("conv_ae", 1, nz=64), 6400, 10.0)  # 0.1 s/step
    record(store, "b" * 16, RunConfig.make("conv_ae", 1, nz=2), 6400, 50.0)  # 0.5 s/step
    [run] = est.estimate({"ae": RunConfig.make("conv_ae", 1, nz=2)}, store, tiny, "cpu", 1)
    assert run.seconds == pytest.approx(0.5 * est.steps(RunConfig.make("conv_ae", 1, nz=2),
                                                        len(tiny.train_labels)))


def test_without_a_record_a_few_steps_are_timed_once_and_kept(tmp_path, tiny, monkeypatch):
    store = RunStore(tmp_path)
    config = RunConfig.make("conv_ae", 3, nz=4, batch_size=16)
    [run] = est.estimate({"ae": config}, store, tiny, "cpu", jobs=1)
    assert run.seconds > 0 and run.source == f"{est.TIMED_STEPS} steps timed"
    assert (tmp_path / "timings.json").is_file()

    def timed_again(*args):
        raise AssertionError("timed twice")

    monkeypatch.setattr(est, "_time_steps", timed_again)
    [again] = est.estimate({"ae": config}, store, tiny, "cpu", jobs=1)
    assert again.seconds == run.seconds


def test_a_measurement_after_every_epoch_is_part_of_a_timed_step(tmp_path, tiny, monkeypatch):
    """SimSiam measures a kNN over the training set after every epoch: the estimate spreads
    one such measurement, timed, over an epoch's steps."""
    from dataclasses import replace

    from report_builder.families import simsiam

    config = RunConfig.make("simsiam", 1, batch_size=16)
    [plain] = est.estimate({"s": config}, RunStore(tmp_path / "a"), tiny, "cpu", jobs=1)

    def slow_epoch_end(*args):
        time.sleep(0.8)
        return {}

    monkeypatch.setattr(simsiam, "FAMILY", replace(simsiam.FAMILY, epoch_end=slow_epoch_end))
    [measured] = est.estimate({"s": config}, RunStore(tmp_path / "b"), tiny, "cpu", jobs=1)
    # 0.8 s an epoch, in one epoch's steps: 0.8 s more for the run (timing noise aside)
    assert measured.seconds - plain.seconds == pytest.approx(0.8, abs=0.4)


def test_a_family_counting_iterations_says_iterations():
    from report_builder.families.gan import EPOCH_ITERATIONS

    config = RunConfig.make("gan", 2000 // EPOCH_ITERATIONS, loss="wgan-gp", snapshots=(0,))
    assert est.images_seen(config, 60000) == "2,000 iterations × 64"


def test_the_summary_spreads_runs_over_the_jobs():
    runs = [est.RunEstimate("a", "", 600.0, "2 earlier runs here", 10, None),
            est.RunEstimate("b", "", 600.0, "8 steps timed", 5, None),
            est.RunEstimate("c", "", 120.0, "8 steps timed", None, 2000)]
    line = est.summary(runs, jobs=2, n_train=60000)
    assert "will train 3 runs (60,000 training images × 5–10 epochs; 2,000 iterations)" in line
    assert "about 11 min on this machine, 2 at a time" in line
    assert "earlier runs here and steps timed now" in line
    assert est.wall_seconds(runs[:1], jobs=4) == 600.0  # never less than the longest run
    assert est.summary([], 2, 60000) == "every run is cached: nothing to train"
