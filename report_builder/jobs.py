"""Train the runs a build needs: missing ones in worker processes, cached ones loaded.

Small convolutional nets use two CPU cores poorly from one process (batch 64, tiny
feature maps), so independent runs train side by side with the threads split between
them. Workers write into the run store; the parent loads what they wrote.
"""

import logging
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from .data import Dataset
from .runs import Run, RunConfig, RunStore, run_key

log = logging.getLogger(__name__)
PROGRESS_EVERY = 5  # batches between progress messages from a worker


class Reporter(Protocol):
    def start(self, name: str, total: int, note: str) -> None: ...
    def advance(self, name: str, completed: int, losses: dict[str, float]) -> None: ...
    def finish(self, name: str, note: str) -> None: ...


class SilentReporter:
    def start(self, name, total, note): pass
    def advance(self, name, completed, losses): pass
    def finish(self, name, note): pass


@dataclass(frozen=True)
class Request:
    name: str
    config: RunConfig
    retrain: bool = False


def steps_per_epoch(n_images: int, batch_size: int) -> int:
    full, rest = divmod(n_images, batch_size)
    return full + (1 if rest > 1 else 0)


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def ensure_runs(store: RunStore, requests: list[Request], data: Dataset, device: str,
                jobs: int, reporter: Reporter) -> dict[str, Run]:
    """Return every requested run, training the missing ones (`jobs` at a time)."""
    unique = {request.name: request for request in requests}
    missing = [r for r in unique.values() if r.retrain or not store.is_complete(_key(r, data))]
    for request in missing:
        total = request.config.epochs * steps_per_epoch(len(data.train_labels),
                                                         request.config.batch_size)
        reporter.start(request.name, total, "training")
    workers = min(jobs, len(missing))
    if workers > 1 and device == "cpu":
        _train_in_workers(store, missing, data, workers, reporter)
    else:
        for request in missing:
            store.get(request.name, request.config, data, device, retrain=request.retrain,
                      on_batch=_progress_callback(request, data, reporter.advance))
    runs = {}
    for request in unique.values():
        runs[request.name] = store.get(request.name, request.config, data, device)
        runs[request.name].reused = request not in missing
        reporter.finish(request.name, "cached" if runs[request.name].reused else "trained")
    return runs


def _key(request: Request, data: Dataset) -> str:
    return run_key(request.config, data)


def _progress_callback(request: Request, data: Dataset,
                       advance: Callable[[str, int, dict], None]) -> Callable:
    per_epoch = steps_per_epoch(len(data.train_labels), request.config.batch_size)

    def on_batch(epoch: int, step: int, losses: dict[str, float]) -> None:
        if step % PROGRESS_EVERY == 0 or step == per_epoch - 1:
            advance(request.name, epoch * per_epoch + step + 1, losses)

    return on_batch


def _train_in_workers(store: RunStore, requests: list[Request], data: Dataset, workers: int,
                      reporter: Reporter) -> None:
    context = multiprocessing.get_context("spawn")  # fork after torch threads start can hang
    threads = max(1, (os.cpu_count() or 1) // workers)
    with context.Manager() as manager:
        messages = manager.Queue()
        pump = threading.Thread(target=_pump, args=(messages, reporter), daemon=True)
        pump.start()
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(_train_one, store.root, request, data, threads, messages)
                       for request in requests]
            for future in futures:
                future.result()  # re-raise a worker's error here
        messages.put(None)
        pump.join()


def _pump(messages, reporter: Reporter) -> None:
    while True:
        try:
            message = messages.get(timeout=0.5)
        except queue.Empty:
            continue
        except (EOFError, OSError):
            return
        if message is None:
            return
        reporter.advance(*message)


def _train_one(root: Path, request: Request, data: Dataset, threads: int, messages) -> None:
    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)
    store = RunStore(root)

    def advance(name, completed, losses):
        messages.put((name, completed, losses))

    store.get(request.name, request.config, data, "cpu", retrain=request.retrain,
              on_batch=_progress_callback(request, data, advance))
