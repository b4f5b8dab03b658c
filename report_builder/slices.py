"""What a worker does with a slice of a run, wherever it runs (jobs.py's local processes or
ray_workers.py's Ray tasks): the request, the progress it reports, and the slice itself."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from . import families
from .data import Dataset
from .runs import Progress, RunConfig, RunStore

PROGRESS_EVERY = 5  # batches between progress messages from a worker


class Reporter(Protocol):
    def note(self, text: str) -> None: ...  # a line for the user, before the bars
    def start(self, name: str, total: int, note: str) -> None: ...
    def advance(self, name: str, completed: int, losses: dict[str, float]) -> None: ...
    def finish(self, name: str, note: str) -> None: ...


class SilentReporter:
    def note(self, text): pass
    def start(self, name, total, note): pass
    def advance(self, name, completed, losses): pass
    def finish(self, name, note): pass


@dataclass(frozen=True)
class Request:
    name: str
    config: RunConfig
    retrain: bool = False


def steps_per_epoch(config: RunConfig, n_images: int) -> int:
    """Steps of one epoch: the family's iterations if it counts them, else batches."""
    if (iterations := families.epoch_iterations(config.family)) is not None:
        return iterations
    full, rest = divmod(n_images, config.batch_size)
    return full + (1 if rest > 1 else 0)


def progress(request: Request, data: Dataset,
              advance: Callable[[str, int, dict], None]) -> Callable:
    per_epoch = steps_per_epoch(request.config, len(data.train_labels))

    def on_batch(epoch: int, step: int, losses: dict[str, float]) -> None:
        if step % PROGRESS_EVERY == 0 or step == per_epoch - 1:
            advance(request.name, epoch * per_epoch + step + 1, losses)

    return on_batch


def pump(take: Callable[[], list | None], reporter: Reporter) -> None:
    """Hand the workers' progress messages to the reporter until `take` says it is over."""
    while (messages := take()) is not None:
        for message in messages:
            reporter.advance(*message)


def advance_slice(store: RunStore, request: Request, key: str, data: Dataset, device: str,
             max_epochs: int, messages) -> Progress:
    def advance(name, completed, losses):
        messages.put((name, completed, losses))

    return store.advance(request.name, request.config, data, device, retrain=request.retrain,
                         key=key, max_epochs=max_epochs,
                         on_batch=progress(request, data, advance))
