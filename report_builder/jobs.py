"""Train the runs a build needs: missing ones in worker processes, cached ones loaded.

Small convolutional nets use two CPU cores poorly from one process (batch 64, tiny
feature maps), so independent runs train side by side with the threads split between
them. Workers write into the run store; the parent loads what they wrote. Runs that
share a key (say `vae_beta10` and the grid's beta = 10) train once.

A worker trains a run for a slice of whole epochs (about SLICE_STEPS steps), then gives
the worker back: the run goes back into the queue and continues from its epoch checkpoint,
which gives exactly the model of an uninterrupted run. So a run the build is waiting for
never queues for long behind a long run that nothing waits for.
"""

import heapq
import itertools
import logging
import math
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import torch

from . import families
from .data import Dataset
from .runs import Progress, Run, RunConfig, RunStore, run_key

log = logging.getLogger(__name__)
PROGRESS_EVERY = 5  # batches between progress messages from a worker
# A slice is the fewest whole epochs of at least this many steps: one epoch (~40 s of a
# worker on a 2-core CPU) of the 60k set, five epochs (~15 s) of the 5k offline default.
SLICE_STEPS = 300


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


def steps_per_epoch(config: RunConfig, n_images: int) -> int:
    """Steps of one epoch: the family's iterations if it counts them, else batches."""
    if (iterations := families.epoch_iterations(config.family)) is not None:
        return iterations
    full, rest = divmod(n_images, config.batch_size)
    return full + (1 if rest > 1 else 0)


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class TrainingPool:
    """Queue runs with `submit`, collect them (trained or cached) with `wait`.

    With several jobs on a CPU, a dispatcher thread starts queued runs in worker
    processes, lowest `priority` first, as workers come free: a build puts its critical
    path (judge, beta grid, tuned run) ahead of runs nothing waits for. With one job, or
    on a GPU, runs train in this process when they are waited for.
    """

    def __init__(self, store: RunStore, data: Dataset, device: str, jobs: int,
                 reporter: Reporter):
        self.store, self.data, self.device, self.reporter = store, data, device, reporter
        self.parallel = jobs > 1 and device == "cpu"
        self.jobs = jobs
        self.requests: dict[str, tuple[Request, str]] = {}  # name -> (request, key)
        # key -> a future that resolves to True if this build trained the run, False if
        # another process finished it first (we waited on its lock, then loaded it).
        self.training: dict[str, Future | None] = {}
        self.first_name: dict[str, str] = {}  # key -> the first run name that asked for it
        self._loaded: dict[str, Run] = {}  # name -> run, once waited for
        self._queue: list[tuple[int, int, Request, str]] = []  # heap of waiting runs
        # key -> (the worker's future, priority, request): what re-queues an unfinished run
        self._running: dict[str, tuple[Future, int, Request]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._executor = self._manager = self._pump = self._dispatcher = None

    def __enter__(self) -> "TrainingPool":
        return self

    def __exit__(self, *exc) -> None:
        if self._executor is None:
            return
        self._closing.set()
        self._dispatcher.join()
        self._executor.shutdown(wait=exc[0] is None, cancel_futures=True)
        self._messages.put(None)
        self._pump.join()
        self._manager.shutdown()

    def submit(self, requests: list[Request], priority: int = 0) -> None:
        for request in requests:
            key = run_key(request.config, self.data)
            self.requests[request.name] = (request, key)
            self.first_name.setdefault(key, request.name)
            if key in self.training or not (request.retrain or not self.store.is_complete(key)):
                continue
            total = request.config.epochs * steps_per_epoch(request.config,
                                                            len(self.data.train_labels))
            self.reporter.start(request.name, total, "queued")
            if not self.parallel:
                self.training[key] = None  # trained in `wait`
                continue
            self._ensure_workers()
            self.training[key] = Future()
            with self._lock:
                heapq.heappush(self._queue, (priority, next(_order), request, key))

    def wait(self, names: list[str] | None = None) -> dict[str, Run]:
        """The named runs (default: all submitted), loaded on the build's device."""
        names = list(self.requests) if names is None else names
        for name in names:
            if name not in self._loaded:
                self._loaded[name] = self._collect(name)
        return {name: self._loaded[name] for name in names}

    def _collect(self, name: str) -> Run:
        """Wait for one run's training (or train it here, sequentially), then load it."""
        request, key = self.requests[name]
        done = self.training.get(key)
        if done is None and key in self.training:  # sequential: train now, here
            status = self.store.advance(
                request.name, request.config, self.data, self.device,
                retrain=request.retrain, key=key,
                on_batch=_progress(request, self.data, self.reporter.advance))
            done = self.training[key] = _done(status == "finished")
        trained_here = done is not None and done.result()  # re-raises a worker's error
        # Complete by now: verified by `submit`, or just committed by its trainer.
        run = self.store.load(name, key, request.config, self.device)
        if self.first_name[key] != name:  # the same model under a second name
            run.same_as = self.first_name[key]
        run.reused = not trained_here or run.same_as is not None
        self.reporter.finish(name, "cached" if run.reused else "trained")
        return run

    def _ensure_workers(self) -> None:
        if self._executor is not None:
            return
        context = multiprocessing.get_context("spawn")  # fork after torch threads can hang
        self._manager = context.Manager()
        self._messages = self._manager.Queue()
        self._pump = threading.Thread(target=_pump, args=(self._messages, self.reporter),
                                      daemon=True)
        self._pump.start()
        self._executor = ProcessPoolExecutor(self.jobs, mp_context=context)
        self._dispatcher = threading.Thread(target=self._dispatch, daemon=True)
        self._dispatcher.start()

    def _dispatch(self) -> None:
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        while not self._closing.is_set():
            with self._lock:
                for key, (future, priority, request) in list(self._running.items()):
                    if not future.done():
                        continue
                    del self._running[key]
                    if (error := future.exception()) is not None:
                        self.training[key].set_exception(error)
                    elif future.result() == "unfinished":  # its slice is done: back in line
                        heapq.heappush(self._queue, (priority, next(_order),
                                                     replace(request, retrain=False), key))
                    else:
                        self.training[key].set_result(future.result() == "finished")
                while self._queue and len(self._running) < self.jobs:
                    priority, _, request, key = heapq.heappop(self._queue)
                    max_epochs = math.ceil(SLICE_STEPS / steps_per_epoch(
                        request.config, len(self.data.train_labels)))
                    future = self._executor.submit(_train_one, self.store.root, request, key,
                                                   self.data, threads, max_epochs,
                                                   self._messages)
                    self._running[key] = (future, priority, request)
            time.sleep(DISPATCH_POLL_S)


_order = itertools.count()  # ties in priority keep submission order
DISPATCH_POLL_S = 0.1


def _done(value) -> Future:
    future = Future()
    future.set_result(value)
    return future


def _progress(request: Request, data: Dataset,
              advance: Callable[[str, int, dict], None]) -> Callable:
    per_epoch = steps_per_epoch(request.config, len(data.train_labels))

    def on_batch(epoch: int, step: int, losses: dict[str, float]) -> None:
        if step % PROGRESS_EVERY == 0 or step == per_epoch - 1:
            advance(request.name, epoch * per_epoch + step + 1, losses)

    return on_batch


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


def _train_one(root: Path, request: Request, key: str, data: Dataset, threads: int,
               max_epochs: int, messages) -> Progress:
    """Train at most `max_epochs` more epochs of one run, in a worker."""
    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)

    def advance(name, completed, losses):
        messages.put((name, completed, losses))

    return RunStore(root).advance(request.name, request.config, data, "cpu",
                                  retrain=request.retrain, key=key, max_epochs=max_epochs,
                                  on_batch=_progress(request, data, advance))
