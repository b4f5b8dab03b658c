"""Train the runs a build needs: missing ones on workers, cached ones loaded.

Small convolutional nets use two CPU cores poorly from one process (batch 64, tiny
feature maps), so independent runs train side by side with the threads split between
them: in worker processes on this machine (`LocalWorkers`, the default), or as Ray tasks
on a cluster (`ray_workers.RayWorkers`, `--executor ray`). Workers file their runs in the run store;
the parent loads what they filed. Runs that share a key (say `vae_beta10` and the grid's
beta = 10) train once.

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
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import torch

from .data import Dataset
from .processes import block_sigint_in_this_thread, sigint_blocked, sigint_held, stop_now
from .runs import Progress, Run, RunStore, run_key
from .slices import Reporter, Request, advance_slice, progress, pump, steps_per_epoch

log = logging.getLogger(__name__)
# A slice is the fewest whole epochs of at least this many steps: one epoch (~40 s of a
# worker on a 2-core CPU) of the 60k set, five epochs (~15 s) of the 5k offline default.
SLICE_STEPS = 300


def default_jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class TrainingPool:
    """Queue runs with `submit`, collect them (trained or cached) with `wait`.

    With several jobs on a CPU, or on a Ray cluster, a dispatcher thread starts queued
    runs on workers, lowest `priority` first, as workers come free: a build puts its
    critical path (judge, beta grid, tuned run) ahead of runs nothing waits for. With one
    local job, or on a local GPU, runs train in this process when they are waited for.
    """

    def __init__(self, store: RunStore, data: Dataset, device: str, jobs: int,
                 reporter: Reporter, cluster=None):
        self.store, self.data, self.device, self.reporter = store, data, device, reporter
        self.cluster = cluster  # a cluster.Cluster: train on Ray
        self.parallel = cluster is not None or (jobs > 1 and device == "cpu")
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
        self.workers = None  # LocalWorkers or ray_workers.RayWorkers, made on first submit
        self._dispatcher = None

    def __enter__(self) -> "TrainingPool":
        return self

    def __exit__(self, *exc) -> None:
        if self.workers is None:
            return
        self._closing.set()
        self._dispatcher.join()
        # Ctrl-C or an error: stop the workers; each run keeps its last epoch checkpoint.
        self.workers.close(cancel=exc[0] is not None)

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

    @property
    def nodes(self) -> dict[str, list[str]]:
        """On Ray: the node of each slice of each run this pool trained (by run name)."""
        return getattr(self.workers, "nodes", {})

    def view(self, tag: str) -> "PoolView":
        """This pool under names of their own (`ae` is `ae · tag` here): another seed's
        runs queue beside this seed's."""
        return PoolView(self, tag)

    def _collect(self, name: str) -> Run:
        """Wait for one run's training (or train it here, sequentially), then load it."""
        request, key = self.requests[name]
        done = self.training.get(key)
        if done is None and key in self.training:  # sequential: train now, here
            status = self.store.advance(
                request.name, request.config, self.data, self.device,
                retrain=request.retrain, key=key,
                on_batch=progress(request, self.data, self.reporter.advance))
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
        if self.workers is not None:
            return
        with sigint_held():  # a Ctrl-C now is raised once `__exit__` can stop the workers
            if self.cluster is not None:
                from .ray_workers import RayWorkers  # imports Ray's client only when asked

                self.workers = RayWorkers(self.cluster, self.store, self.data, self.device,
                                          self.jobs, self.reporter)
            else:
                self.workers = LocalWorkers(self.store, self.data, self.jobs, self.reporter)
            self._dispatcher = threading.Thread(target=self._dispatch, daemon=True)
            self._dispatcher.start()

    def _dispatch(self) -> None:
        block_sigint_in_this_thread()  # the workers it starts inherit that (processes.py)
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
                    future = self.workers.train(request, key, max_epochs)
                    self._running[key] = (future, priority, request)
            time.sleep(DISPATCH_POLL_S)


class PoolView:
    """A pool's `submit` and `wait` under names suffixed with a tag, so that several
    seeds' runs (same names, other keys) share one pool and its workers."""

    def __init__(self, pool: TrainingPool, tag: str):
        self.pool, self.tag = pool, tag
        self.names: list[str] = []

    def _inside(self, name: str) -> str:
        return f"{name} · {self.tag}"

    def submit(self, requests: list[Request], priority: int = 0) -> None:
        self.names += [request.name for request in requests if request.name not in self.names]
        self.pool.submit([replace(request, name=self._inside(request.name))
                          for request in requests], priority)

    def wait(self, names: list[str] | None = None) -> dict[str, Run]:
        names = list(self.names) if names is None else names
        runs = self.pool.wait([self._inside(name) for name in names])
        outside = {self._inside(name): name for name in self.names}
        for run in runs.values():
            run.name = outside[run.name]
            run.same_as = outside.get(run.same_as, run.same_as)
        return {outside[name]: run for name, run in runs.items()}


class LocalWorkers:
    """Worker processes on this machine; they write into the run store themselves."""

    def __init__(self, store: RunStore, data: Dataset, jobs: int, reporter: Reporter):
        self.store, self.data = store, data
        self.threads = max(1, (os.cpu_count() or 1) // jobs)
        context = multiprocessing.get_context("spawn")  # fork after torch threads can hang
        with sigint_blocked():  # Ctrl-C is the build's to handle (processes.py)
            self._manager = context.Manager()
            self._executor = ProcessPoolExecutor(jobs, mp_context=context)
        self._messages = self._manager.Queue()
        self._pump = threading.Thread(target=pump, args=(self._take, reporter), daemon=True)
        self._pump.start()

    def train(self, request: Request, key: str, max_epochs: int) -> Future:
        return self._executor.submit(_train_one, self.store.root, request, key, self.data,
                                     self.threads, max_epochs, self._messages)

    def _take(self) -> list | None:
        try:
            message = self._messages.get(timeout=0.5)
        except queue.Empty:
            return []
        except (EOFError, OSError):
            return None
        return None if message is None else [message]

    def close(self, cancel: bool) -> None:
        if cancel:
            stop_now(self._executor)
        else:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._messages.put(None)
        self._pump.join()
        self._manager.shutdown()


_order = itertools.count()  # ties in priority keep submission order
DISPATCH_POLL_S = 0.1


def _done(value) -> Future:
    future = Future()
    future.set_result(value)
    return future


def _train_one(root: Path, request: Request, key: str, data: Dataset, threads: int,
               max_epochs: int, messages) -> Progress:
    """Train at most `max_epochs` more epochs of one run, in a local worker process."""
    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)
    return advance_slice(RunStore(root), request, key, data, "cpu", max_epochs, messages)
