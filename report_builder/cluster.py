"""Ray, for work that outgrows this machine: the optional extra `report-builder[ray]`.

Only this module imports ray. It gives the rest of the tool what it already uses for its
own process pools: a `concurrent.futures.Executor` (each `submit` is one Ray task with its
CPUs, and a GPU where asked), a picklable `put` for progress messages from the tasks, and
a way to hand big read-only values (the data set) to every task once.
"""

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ReportBuilderError

INSTALL = "pip install 'report-builder[ray]'"
CONNECT_TIMEOUT_S = 5  # an unreachable address fails this fast (Ray itself retries for minutes)


@dataclass(frozen=True)
class Cluster:
    """What the driver is connected to, and what one task can ask of it."""

    address: str  # as given; "local": a Ray started for this command; "running": one found
    cpus: int  # all nodes together
    node_cpus: int  # the most of one node: a task asking for more would never start
    gpus: int
    nodes: int
    owned: bool  # this command connected (and so disconnects); False when ray was running

    def describe(self) -> str:
        where = {"local": "a Ray started here", "running": "the Ray already running"}.get(
            self.address, f"Ray at {self.address}")
        return f"{where}: {self.nodes} node(s), {self.cpus} CPUs, {self.gpus} GPUs"


def import_ray():
    try:
        import ray
    except ImportError:
        raise ReportBuilderError(f"--executor ray needs Ray, which is not installed: {INSTALL}"
                                 ) from None
    return ray


def connect(address: str | None = None) -> Cluster:
    """Join the Ray cluster at `address` (default: $RAY_ADDRESS), or start one on this
    machine for this command. A Ray the caller already started is used as it is."""
    ray = import_ray()
    owned = not ray.is_initialized()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address not in (None, "local"):
        check_reachable(address)
    if owned:
        options = dict(logging_level=logging.ERROR, log_to_driver=False,
                       include_dashboard=False)
        if address in (None, "local"):
            ray.init(num_cpus=os.cpu_count(), **options)
        else:
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError) as err:
                hint = _AUTH if "AuthToken" in f"{err} {err.__cause__}" else _START_ONE
                raise ReportBuilderError(f"cannot join the Ray cluster at {address} "
                                         f"({first_line(err)}); {hint}") from None
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    return Cluster(
        address=(address or "local") if owned else "running",
        cpus=int(sum(node.get("CPU", 0) for node in nodes)),
        node_cpus=int(max((node.get("CPU", 0) for node in nodes), default=0)),
        gpus=int(sum(node.get("GPU", 0) for node in nodes)),
        nodes=len(nodes),
        owned=owned,
    )


def disconnect(cluster: Cluster) -> None:
    if cluster.owned:
        import_ray().shutdown()


@contextlib.contextmanager
def cluster_for(executor: str, address: str | None):
    """The Ray cluster for `--executor ray` (joined, or started for this command), else
    None: this machine's worker processes."""
    if executor != "ray":
        yield None
        return
    cluster = connect(address)
    try:
        yield cluster
    finally:
        disconnect(cluster)


_START_ONE = ("start one there with `ray start --head`, or leave out --ray-address (and "
              "RAY_ADDRESS) for a Ray on this machine")


_AUTH = ("it asks for its token: export RAY_AUTH_MODE=token, with the head's "
         "~/.ray/auth_token here (or RAY_AUTH_TOKEN)")


def check_reachable(address: str) -> None:
    """Fail within seconds, naming the address, where nothing listens: Ray would retry
    for minutes before it gives up."""
    if address == "auto":  # Ray looks for a cluster started on this machine, quickly
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = parts.hostname, parts.port or (10001 if "://" in address else 6379)
    except ValueError:
        host = None
    if not host:
        raise ReportBuilderError(f"--ray-address {address}: give HOST:PORT (the head's GCS, "
                                 "port 6379 by default) or ray://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ReportBuilderError(f"cannot reach Ray at {address} ({reason}); {_START_ONE}"
                                 ) from None


def first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


class RayExecutor(Executor):
    """`concurrent.futures` over Ray: each `submit` is one task asking for `num_cpus` CPUs
    (and `num_gpus` GPUs). A task's error comes back as the error it raised."""

    def __init__(self, num_cpus: float = 1, num_gpus: float = 0):
        self.ray = import_ray()
        self.resources = {"num_cpus": num_cpus, "num_gpus": num_gpus}
        self._remote: dict[Callable, object] = {}
        self._pending: dict[object, Future] = {}  # task -> its future, until it ends
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if fn not in self._remote:
            self._remote[fn] = self.ray.remote(fn)
        task = self._remote[fn].options(**self.resources).remote(*args, **kwargs)
        future: Future = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            self._pending[task] = future
        task.future().add_done_callback(lambda done: self._settle(task, done))
        return future

    def _settle(self, task, done: Future) -> None:
        with self._lock:
            future = self._pending.pop(task, None)
        if future is None:  # cancelled by `shutdown`, which settled it
            return
        try:
            future.set_result(done.result())
        except self.ray.exceptions.RayTaskError as err:  # the task's own error, as raised
            future.set_exception(err.cause if isinstance(err.cause, Exception) else err)
        except BaseException as err:  # cancelled, a lost node, ...
            future.set_exception(err)

    def share(self, value):
        """`value` in Ray's object store: tasks given the reference get the value, and it
        travels to each node once instead of with every task."""
        return self.ray.put(value)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            pending = dict(self._pending)
            if cancel_futures:
                self._pending.clear()  # settled here, not by `_settle`
        if cancel_futures:
            for task, future in pending.items():
                self.ray.cancel(task, force=True)  # a killed task leaves its last checkpoint
                future.set_exception(KeyboardInterrupt("cancelled"))
        elif wait and pending:
            self.ray.wait(list(pending), num_returns=len(pending))


class _Inbox:
    """An actor holding the tasks' progress messages until the driver takes them."""

    def __init__(self):
        self.messages = []

    def put(self, message) -> None:
        self.messages.append(message)

    def take(self) -> list:
        messages, self.messages = self.messages, []
        return messages


@dataclass(frozen=True)
class Outbox:
    """What a task holds to send progress to the driver (the Ray side of a queue's put)."""

    inbox: object  # the actor's handle

    def put(self, message) -> None:
        self.inbox.put.remote(message)  # not waited for: progress never slows training


class Inbox:
    """Progress messages from Ray tasks, for the driver: give tasks `outbox`, call `take`."""

    def __init__(self):
        ray = import_ray()
        self.ray = ray
        self.actor = ray.remote(_Inbox).options(num_cpus=0).remote()
        self.outbox = Outbox(self.actor)

    def take(self) -> list:
        return self.ray.get(self.actor.take.remote())

    def close(self) -> None:
        self.ray.kill(self.actor)
