"""Measuring trained runs: what every run is measured against, and the cache of what was
measured. The measurements themselves are the family's (`family.measure`) or an
analysis's; each is computed once per run and kept in the run's cache entry, keyed by
everything it depends on besides the run (judge, sample seed and count, code version)."""

from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import evaluate as ev
from . import families
from .answers import words_for
from .data import Dataset
from .runs import Run, RunStore


@dataclass(frozen=True)
class Evaluation:
    """The test set, the judge classifier (None for a problem that judges no samples), and
    how many prior samples are scored with which seed."""

    store: RunStore
    judge: ev.Judge | None
    judge_key: str
    data: Dataset
    test_images: torch.Tensor
    test_labels: torch.Tensor
    n_samples: int
    seed: int

    @property
    def words(self) -> dict[str, str]:
        """What captions call one image of this data set and its judge (answers.WORDS)."""
        return words_for(self.data.name)

    def metrics(self, run: Run) -> dict:
        return self.cached(run, "judge", run.family.measure)

    def cached(self, run: Run, kind: str, measure: Callable[[Run, "Evaluation"], dict]) -> dict:
        version = families.measure_version(run.config.family, measure.__module__)
        name = f"{kind}-{self.judge_key}-seed{self.seed}-n{self.n_samples}-{version}"
        measured = self.store.cached_metrics(run.key, name, lambda: measure(run, self))
        return {**describe(run), **measured}


def describe(run: Run) -> dict:
    """What a run is: its family's parameters (defaults included) and how it was trained."""
    return {
        "family": run.config.family,
        **run.config.params.model_dump(mode="json"),
        "epochs": run.config.epochs,
        "lr": run.config.lr,
        "batch_size": run.config.batch_size,
        "key": run.key,
        "reused": run.reused,
        "train_seconds": run.info["train_seconds"],
    }
