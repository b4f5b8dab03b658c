import time

import pytest

from report_builder import jobs
from report_builder.jobs import TrainingPool
from report_builder.runs import RunConfig, RunStore
from report_builder.slices import Request, steps_per_epoch


class RecordingReporter:
    """Remembers when each run reported its last step."""

    def __init__(self):
        self.totals, self.progress, self.done_at = {}, {}, {}

    def start(self, name, total, note):
        self.totals[name] = total

    def advance(self, name, completed, losses):
        self.progress[name] = completed
        if completed == self.totals[name]:
            self.done_at.setdefault(name, time.monotonic())

    def finish(self, name, note):
        pass


@pytest.mark.slow
def test_a_run_the_build_waits_for_overtakes_long_runs_at_their_next_slice(
        tmp_path, tiny, monkeypatch):
    one_epoch = steps_per_epoch(RunConfig.make("conv_ae", 1, batch_size=64),
                                len(tiny.train_labels))
    monkeypatch.setattr(jobs, "SLICE_STEPS", one_epoch)
    long = RunConfig.make("conv_ae", 12, nz=8, seed=1)
    urgent = RunConfig.make("conv_ae", 1, nz=8, seed=2)
    reporter = RecordingReporter()
    with TrainingPool(RunStore(tmp_path), tiny, "cpu", 2, reporter) as pool:
        pool.submit([Request("long_a", long),
                     Request("long_b", RunConfig.make("conv_ae", 12, nz=8, seed=3))], priority=1)
        deadline = time.monotonic() + 120
        while len(reporter.progress) < 2 and time.monotonic() < deadline:  # both workers busy
            time.sleep(0.05)
        pool.submit([Request("urgent", urgent)], priority=0)
        runs = pool.wait()
    assert not any(run.reused for run in runs.values())
    assert reporter.done_at["urgent"] < min(reporter.done_at["long_a"], reporter.done_at["long_b"])
