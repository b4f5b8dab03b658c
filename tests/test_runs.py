import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from report_builder.data import subset
from report_builder.runs import RunConfig, RunStore, code_version, run_key

AE = RunConfig.make("conv_ae", 1, nz=8, seed=1)


def test_key_follows_config_data_and_nothing_else(tiny):
    assert run_key(AE, tiny) == run_key(RunConfig.make("conv_ae", 1, nz=8, seed=1), tiny)
    assert run_key(AE, tiny) != run_key(RunConfig.make("conv_ae", 2, nz=8, seed=1), tiny)
    assert run_key(AE, tiny) != run_key(AE, subset(tiny, 200, 100))
    vae = RunConfig.make("conv_vae", 1, nz=8, seed=1)
    assert code_version(AE) != code_version(vae) != code_version(RunConfig.make("classifier", 1))


def test_a_cached_run_is_loaded_not_retrained(tmp_path, tiny):
    store = RunStore(tmp_path)
    first = store.get("ae", AE, tiny, "cpu")
    again = store.get("ae", AE, tiny, "cpu")
    assert not first.reused and again.reused
    assert again.history == first.history
    assert not (store.entry(first.key) / "checkpoint.pt").exists()
    assert (store.entry(first.key) / "final.pt").exists()
    retrained = store.get("ae", AE, tiny, "cpu", retrain=True)
    assert not retrained.reused


def test_a_corrupt_entry_is_retrained_with_a_warning(tmp_path, tiny, caplog):
    store = RunStore(tmp_path)
    run = store.get("ae", AE, tiny, "cpu")
    model_file = store.entry(run.key) / "model.pt"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    with caplog.at_level(logging.WARNING):
        again = store.get("ae", AE, tiny, "cpu")
    assert not again.reused
    assert "corrupt" in caplog.text


def test_a_truncated_checkpoint_is_ignored_and_the_run_trains(tmp_path, tiny, caplog):
    store = RunStore(tmp_path)
    entry = store.entry(run_key(AE, tiny))
    entry.mkdir(parents=True)
    (entry / "checkpoint.pt").write_bytes(b"PK\x03\x04 not a whole checkpoint")
    with caplog.at_level(logging.WARNING):
        run = store.get("ae", AE, tiny, "cpu")
    assert "unreadable" in caplog.text
    assert len(run.history["recon"]) == 4


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path, tiny):
    store = RunStore(tmp_path)
    two_epochs = RunConfig.make("conv_ae", 2, nz=8, seed=1)

    def interrupt_after_first_epoch(epoch, step, losses):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.get("ae", two_epochs, tiny, "cpu", on_batch=interrupt_after_first_epoch)
    assert (store.entry(run_key(two_epochs, tiny)) / "checkpoint.pt").exists()
    seen = []
    resumed = store.get("ae", two_epochs, tiny, "cpu", on_batch=lambda e, s, v: seen.append(e))
    assert set(seen) == {1}  # only the second epoch ran again
    fresh = RunStore(tmp_path / "other").get("ae", two_epochs, tiny, "cpu")
    assert resumed.history == fresh.history


def test_a_longer_run_continues_from_a_shorter_one_and_matches_training_from_scratch(
        tmp_path, tiny):
    store = RunStore(tmp_path)
    store.get("short", AE, tiny, "cpu")
    two_epochs = RunConfig.make("conv_ae", 2, nz=8, seed=1)
    seen = []
    longer = store.get("long", two_epochs, tiny, "cpu", on_batch=lambda e, s, v: seen.append(e))
    assert set(seen) == {1}  # epoch 0 came from the 1-epoch run
    scratch = RunStore(tmp_path / "other").get("long", two_epochs, tiny, "cpu")
    assert longer.history == scratch.history
    for a, b in zip(longer.model.state_dict().values(), scratch.model.state_dict().values(),
                    strict=True):
        assert a.equal(b)


def test_a_run_trained_in_slices_equals_one_trained_in_one_go(tmp_path, tiny):
    store = RunStore(tmp_path)
    three_epochs = RunConfig.make("conv_vae", 3, nz=8, beta=1e-3, seed=1)
    statuses = [store.advance("vae", three_epochs, tiny, "cpu", max_epochs=2)]
    assert not store.is_complete(run_key(three_epochs, tiny))  # 2 of 3 epochs
    statuses += [store.advance("vae", three_epochs, tiny, "cpu", max_epochs=2)]
    statuses += [store.advance("vae", three_epochs, tiny, "cpu", max_epochs=2)]
    assert statuses == ["unfinished", "finished", "cached"]

    sliced = store.get("vae", three_epochs, tiny, "cpu")
    whole = RunStore(tmp_path / "other").get("vae", three_epochs, tiny, "cpu")
    assert sliced.history == whole.history
    for a, b in zip(sliced.model.state_dict().values(), whole.model.state_dict().values(),
                    strict=True):
        assert a.equal(b)


TRAIN_IN_CHILD = """
import sys, torch
from pathlib import Path
from report_builder.data import load_mnist_5k, subset
from report_builder.runs import RunConfig, RunStore
torch.set_num_threads(1)
config = RunConfig.make("conv_ae", 2, nz=8, seed=1)
RunStore(Path(sys.argv[1])).get("ae", config, subset(load_mnist_5k(), 2048, 128), "cpu")
"""


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_gives_the_uninterrupted_model(tmp_path, mnist_5k):
    data = subset(mnist_5k, 2048, 128)  # 32 batches an epoch: the kill lands mid-run
    config = RunConfig.make("conv_ae", 2, nz=8, seed=1)
    checkpoint = RunStore(tmp_path).entry(run_key(config, data)) / "checkpoint.pt"
    child = subprocess.Popen([sys.executable, "-c", TRAIN_IN_CHILD, str(tmp_path)])
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert checkpoint.exists(), "the child never finished an epoch"

    seen = []
    resumed = RunStore(tmp_path).get("ae", config, data, "cpu",
                                     on_batch=lambda e, s, v: seen.append(e))
    assert set(seen) == {1}  # the finished epoch was not trained again
    fresh = RunStore(tmp_path / "fresh").get("ae", config, data, "cpu")
    assert resumed.history == fresh.history
    for a, b in zip(resumed.model.state_dict().values(), fresh.model.state_dict().values(),
                    strict=True):
        assert a.equal(b)


def test_a_half_written_file_of_a_stopped_worker_is_dropped_when_the_run_goes_on(tmp_path,
                                                                                  tiny):
    store = RunStore(tmp_path)
    config = RunConfig.make("conv_ae", 1, nz=4)
    key = run_key(config, tiny)
    store.entry(key).mkdir(parents=True)
    (store.entry(key) / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half")
    assert store.advance("ae", config, tiny, "cpu") == "finished"
    assert not list(store.entry(key).glob(".*.tmp")) and store.is_complete(key)
