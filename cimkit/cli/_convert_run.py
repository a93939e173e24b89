"""Where the files of a ``cimkit convert`` batch are converted, and how a batch is stopped.

Three runners give the same records: in this process (``-j 1``), a pool of worker processes
(``-j N``) and a Dask cluster (``--scheduler``). Each worker process leads its own process group
(the IFC reader's sandbox starts grandchildren in it), so stopping the batch stops the whole
tree: SIGTERM to every group, SIGKILL after a short grace, then the workers are reaped.

:class:`StopSignals` turns SIGINT / SIGTERM into :class:`Interrupted` in the main thread, except
inside :meth:`StopSignals.critical` (a journal line being written), where it is held until the
line is complete.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

__all__ = ["Interrupted", "StopSignals", "make_runner", "remove_temporaries"]

GRACE_S = 2.0  # from SIGTERM to SIGKILL for the worker groups

Task = Any  # a picklable task for the convert function
Records = list[dict[str, Any]]


class Interrupted(BaseException):
    """The batch was stopped by a signal (a BaseException, so ``except Exception`` lets it pass)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopSignals:
    """Install SIGINT / SIGTERM handlers for the duration of a batch (main thread only)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._interruptible = True
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # already stopping: the cleanup goes on
            return
        self.signum = signum
        if self._interruptible:
            self._interruptible = False
            raise Interrupted(signum)

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        """Hold a signal until the block is done, then raise :class:`Interrupted`."""
        self._interruptible = False
        try:
            yield
        finally:
            if self.signum is None:
                self._interruptible = True
        if self.signum is not None:
            raise Interrupted(self.signum)


class _Stopped(BaseException):
    """Raised in a worker by SIGTERM while it converts: unwinds the writers, which remove their temporaries."""


_BUSY = False


def _worker_signal(signum: int, frame: Any) -> None:
    if _BUSY:
        raise _Stopped(signum)
    os._exit(128 + signum)


def _fresh_forkserver() -> None:
    """Forget a forkserver inherited from the batch's process (forked workers share its state).

    The IFC sandbox forks its children from a forkserver. A worker forked from a process that
    already started one would ask that server, whose children are not the worker's (``waitpid``
    fails with ECHILD) and not in the worker's process group; the worker starts its own instead.
    """
    from multiprocessing import forkserver

    server = forkserver.ForkServer()
    forkserver._forkserver = server  # type: ignore[attr-defined]
    for name in ("ensure_running", "get_inherited_fds", "connect_to_new_process", "set_forkserver_preload"):
        setattr(forkserver, name, getattr(server, name))


def _worker_start() -> None:
    """Start a worker process: lead a process group; a signal ends it cleanly."""
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    with contextlib.suppress(ImportError, AttributeError):
        _fresh_forkserver()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _worker_signal)


def _in_worker(fn: Callable[[Task], Records], task: Task) -> Records:
    """Run ``fn(task)`` in a worker; on a stop signal, unwind (temporaries removed, IFC sandbox killed) and exit."""
    global _BUSY
    _BUSY = True
    try:
        return fn(task)
    except _Stopped as stop:
        os._exit(128 + int(stop.args[0]))
    finally:
        _BUSY = False


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the worker leads its group: its children and theirs
    except (ProcessLookupError, PermissionError, AttributeError):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)  # not yet in its own group (still starting)


class _InProcess:
    """``-j 1``: convert in this process; a signal interrupts the file being converted."""

    def __init__(self, fn: Callable[[Task], Records]) -> None:
        self.fn = fn

    def results(self, tasks: Sequence[Task]) -> Iterator[Records]:
        for task in tasks:
            yield self.fn(task)

    def kill(self) -> None:
        """Nothing to do: the IFC sandbox kills its workers when the exception unwinds it."""

    def close(self) -> None:
        """Nothing to close."""

    def pids(self) -> list[int]:
        return []


class _Pool:
    """``-j N``: a pool of worker processes, each the leader of its own process group."""

    def __init__(self, fn: Callable[[Task], Records], jobs: int, crashed: Callable[[Task], Records]) -> None:
        self.fn, self.jobs, self.crashed = fn, jobs, crashed
        self.pool: ProcessPoolExecutor | None = None
        self._seen: dict[int, Any] = {}

    def _start(self) -> ProcessPoolExecutor:
        self.pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=_worker_start)
        return self.pool

    def pids(self) -> list[int]:
        if self.pool is not None:
            for pid, proc in dict(getattr(self.pool, "_processes", None) or {}).items():
                self._seen[pid] = proc
        return sorted(self._seen)

    def results(self, tasks: Sequence[Task]) -> Iterator[Records]:
        pending, retried = list(tasks), False
        while pending:
            pool = self._start()
            futures: dict[Future[Records], Task] = {pool.submit(_in_worker, self.fn, t): t for t in pending}
            self.pids()
            pending = []
            waiting = set(futures)
            while waiting:
                done, waiting = wait(waiting, timeout=0.5, return_when=FIRST_COMPLETED)
                self.pids()
                for fut in done:
                    try:
                        yield fut.result()
                    except BrokenProcessPool:
                        # a worker died hard: which file killed it is unknown, so every file
                        # in flight is tried once more in a fresh pool, then recorded as failed
                        if retried:
                            yield self.crashed(futures[fut])
                        else:
                            pending.append(futures[fut])
            self.close()
            retried = True

    def kill(self) -> None:
        """SIGTERM every worker group, SIGKILL after :data:`GRACE_S`, reap the workers."""
        procs = [self._seen[pid] for pid in self.pids()]
        for proc in procs:
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in procs:
            _signal_group(proc.pid, signal.SIGKILL)  # stragglers of the group, even if the leader is gone
            proc.join(5)
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _in_dask_worker(fn: Callable[[Task], Records], task: Task) -> Records:
    """Run ``fn(task)`` on a Dask worker, which may start the IFC sandbox's child processes.

    Dask starts its workers as daemonic processes (``distributed.worker.daemon``), and a daemonic
    process may not have children; the sandbox kills and reaps its own children before it
    returns, so the flag is lifted for the task.
    """
    import multiprocessing

    config = getattr(multiprocessing.current_process(), "_config", {})
    daemon = config.get("daemon", False)
    config["daemon"] = False
    try:
        return fn(task)
    finally:
        config["daemon"] = daemon


class _Dask:
    """``--scheduler``: futures on a Dask cluster; an interruption cancels them."""

    def __init__(self, fn: Callable[[Task], Records], scheduler: str) -> None:
        try:
            from dask.distributed import Client
        except ImportError as err:
            from cimkit.errors import ValidationError

            raise ValidationError(
                "--scheduler needs the dask extra", hint="pip install 'cimkit[dask]'", code="BAT003"
            ) from err
        self.fn = fn
        self.client = Client(scheduler)
        self.futures: list[Any] = []

    def pids(self) -> list[int]:
        return []

    def results(self, tasks: Sequence[Task]) -> Iterator[Records]:
        from dask.distributed import as_completed

        self.futures = [self.client.submit(_in_dask_worker, self.fn, t, pure=False) for t in tasks]
        for fut in as_completed(self.futures):
            yield fut.result()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.client.cancel(self.futures, force=True)
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


def make_runner(
    fn: Callable[[Task], Records],
    *,
    jobs: int,
    scheduler: str | None,
    crashed: Callable[[Task], Records],
) -> _InProcess | _Pool | _Dask:
    """Return the runner for ``--jobs`` / ``--scheduler``; ``crashed(task)`` records a task whose worker died."""
    if scheduler:
        return _Dask(fn, scheduler)
    if jobs <= 1:
        return _InProcess(fn)
    return _Pool(fn, jobs, crashed)


def remove_temporaries(folder: Path, pids: Sequence[int]) -> int:
    """Remove the temporary files and folders that killed workers ``pids`` left in ``folder``.

    The atomic writers name them ``.<name>.<pid>.<random>.tmp<suffix>`` (files) and
    ``.<name>.<pid>.tmpdir`` / ``.old`` (folders); returns how many were removed.
    """
    import shutil

    removed = 0
    for pid in pids:
        for leftover in sorted(folder.rglob(f".*.{pid}.*"), reverse=True):
            if not leftover.exists():
                continue
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            removed += 1
    return removed
