"""Ray's half of training (`--executor ray`): each slice of a run is a Ray task, beside
the local workers of jobs.py, which schedules slices for both. cluster.py connects to the
cluster and submits the tasks."""

import math
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import torch

from . import families
from .data import Dataset
from .errors import ReportBuilderError
from .files import atomic_write_bytes
from .runs import Progress, RunStore
from .slices import Reporter, Request, advance_slice, pump

PROGRESS_EVERY_S = 0.25  # progress messages from a Ray task, seconds apart at least


class RayWorkers:
    """Ray tasks, one a slice of a run, each asking for `threads` CPUs (and a GPU when the
    build trains on CUDA). A task that can read this store (the same cache folder on a
    shared file system) trains in place under the store's lock; any other trains in a
    scratch store from the checkpoint sent with it, and its entry comes back to be filed
    here. Either way the run's key and model are those of a local run."""

    def __init__(self, cluster, store: RunStore, data: Dataset, device: str, jobs: int,
                 reporter: Reporter):
        from .cluster import Inbox, RayExecutor

        self.store, self.data, self.device = store, data, device
        self.threads = max(1, min(cluster.node_cpus or 1, cluster.cpus // jobs))
        self._executor = RayExecutor(num_cpus=self.threads,
                                     num_gpus=1 if device == "cuda" else 0)
        self.root, self.store_id = store.root.resolve(), store.identity()
        self._data = self._executor.share(data)  # sent to each node once
        self._inbox = Inbox()
        self.nodes: dict[str, list[str]] = {}  # run name -> the node of each slice
        self._closing = threading.Event()
        self._pump = threading.Thread(target=pump, args=(self._take, reporter), daemon=True)
        self._pump.start()

    def train(self, request: Request, key: str, max_epochs: int) -> Future:
        resume = self.store.resume_bytes(key, request.config, self.data, request.retrain)
        # In a list, the task gets the reference, not the bytes: only a task on a node
        # without this store fetches them.
        resume_ref = [self._executor.share(resume)] if resume is not None else []
        remote = self._executor.submit(
            _train_remote, self.root, self.store_id, request, key,
            families.code_version(request.config.family), self._data, self.threads,
            max_epochs, self.device, self._inbox.outbox, resume_ref)
        filed: Future = Future()
        remote.add_done_callback(lambda done: self._file(request, key, done, filed))
        return filed

    def _file(self, request: Request, key: str, done: Future, filed: Future) -> None:
        """File what the task sent back (nothing, if it wrote into this store itself)."""
        try:
            progress, files, node = done.result()
            self.nodes.setdefault(request.name, []).append(node)
            if files is not None:
                progress = self.store.receive(key, progress, files)
            filed.set_result(progress)
        except BaseException as err:
            filed.set_exception(err)

    def _take(self) -> list | None:
        if self._closing.is_set():
            return None
        time.sleep(0.2)
        return self._inbox.take()

    def close(self, cancel: bool) -> None:
        self._executor.shutdown(wait=not cancel, cancel_futures=cancel)
        self._closing.set()
        self._pump.join()
        self._inbox.close()


def _train_remote(root: Path, store_id: str, request: Request, key: str, code: str,
                  data: Dataset, threads: int, max_epochs: int, device: str, messages,
                  resume: list) -> tuple[Progress, dict[str, bytes] | None, str]:
    """One slice of a run as a Ray task: (progress, the entry's files if they must travel
    back, the node it ran on). `resume` holds the reference to the checkpoint's bytes, if
    the run has one."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    if families.code_version(request.config.family) != code:
        raise ReportBuilderError(
            f"the Ray node {node[:12]} has other training code for {request.config.family} "
            "than this machine: install the same report-builder on every node")
    torch.set_num_threads(threads)
    messages = _Throttled(messages)
    store = RunStore(root)
    if store.shares(store_id):  # the same cache folder: write in place, under its lock
        return advance_slice(store, request, key, data, device, max_epochs, messages), None, node
    with tempfile.TemporaryDirectory(prefix="report-builder-") as scratch:
        store = RunStore(Path(scratch))
        if resume:
            atomic_write_bytes(store.entry(key) / "checkpoint.pt", ray.get(resume[0]))
        progress = advance_slice(store, request, key, data, device, max_epochs, messages)
        return progress, store.files(key), node


class _Throttled:
    """A task's progress messages, at most one every PROGRESS_EVERY_S: each is a call to
    another process, and on a small machine their CPU is the training's."""

    def __init__(self, messages):
        self.messages, self.last = messages, -math.inf

    def put(self, message) -> None:
        if (now := time.monotonic()) - self.last >= PROGRESS_EVERY_S:
            self.messages.put(message)
            self.last = now
