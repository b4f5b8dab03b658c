"""Worker processes that Ctrl-C does not reach.

A terminal's Ctrl-C sends SIGINT to every process of the foreground group: the build and
each worker it started. A worker interrupted on its own prints its own traceback (or a
manager's proxy fails with FileNotFoundError) under the build's one line. So workers are
started with SIGINT blocked, which they inherit from the thread that starts them, and
the build, which alone sees the Ctrl-C, stops them.
"""

import contextlib
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import resource_tracker

_CAN_BLOCK = hasattr(signal, "pthread_sigmask")


@contextlib.contextmanager
def sigint_blocked():
    """Processes started inside inherit a blocked SIGINT. A Ctrl-C that arrives meanwhile
    is held and raised on leaving, so that whatever was started inside has been recorded
    and can be stopped: raised midway through starting a multiprocessing manager, it left
    the manager's server running with nothing to stop it, and the build waited on it for
    good as it exited."""
    if not _CAN_BLOCK:
        yield
        return
    # multiprocessing starts its resource tracker on the first spawn and unblocks SIGINT
    # in the calling thread when it has: started first, it leaves our mask alone.
    resource_tracker.ensure_running()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        # The mask alone does not hold a Ctrl-C: the kernel hands it to another thread
        # (torch's, the progress pump's) and Python raises it here all the same.
        with sigint_held():
            yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextlib.contextmanager
def sigint_held():
    """In the main thread, a SIGINT that arrives inside is acted on when leaving (inside
    another such block, when leaving that one)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived = []
    handler = signal.signal(signal.SIGINT, lambda number, frame: arrived.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        if arrived:  # to whatever handled it before: Python's, an outer block's, the default
            signal.raise_signal(signal.SIGINT)


def block_sigint_in_this_thread() -> None:
    """For a helper thread that may start workers: SIGINT goes to the main thread."""
    if _CAN_BLOCK:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def stop_now(executor: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the workers at once, instead of letting each finish
    its task first (a slice of training is up to a minute). What they write is atomic, so
    an ended worker leaves its last complete file, never half of one."""
    # concurrent.futures keeps its processes private until Python 3.14's terminate_workers.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def worker_pool(workers: int, **options) -> ProcessPoolExecutor:
    """A process pool whose workers are all started now, with SIGINT blocked."""
    executor = ProcessPoolExecutor(workers, **options)
    with sigint_blocked():
        executor.submit(int).result()  # a fork pool starts every worker on its first task
    return executor


@contextlib.contextmanager
def stopped_on_error(executor):
    """Use `executor`; on an error or Ctrl-C, drop its queue and end its workers instead
    of waiting for every queued task, as leaving a `with executor:` block would."""
    try:
        yield executor
    except BaseException:
        if isinstance(executor, ProcessPoolExecutor):
            stop_now(executor)
        else:
            executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
