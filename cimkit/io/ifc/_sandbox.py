"""Run IFC parsing and tessellation in child processes with time and memory limits.

ifcopenshell is C++; a malformed file can crash it (segmentation fault) or make it allocate
without bound. Reading in a child process keeps the caller's Python process alive: a dead
child becomes :class:`~cimkit.errors.ReaderCrashError` naming the file.

Children are forked from a ``forkserver`` that has imported ifcopenshell once, so starting a
worker costs milliseconds, not the seconds of a fresh interpreter. Each worker limits its
address space (``RLIMIT_AS``, option ``ifc_memory_mb``); the parent enforces the time limit
(option ``ifc_timeout_s``) and kills the workers when it is exceeded.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from cimkit.errors import CimkitError, FileFormatError, ReaderCrashError
from cimkit.options import get_options

logger = logging.getLogger(__name__)

__all__ = ["IfcSandbox", "SharedWorkers", "active_workers", "interpretation_error", "shared_workers"]

_PRELOAD = ["cimkit.io.ifc._tasks"]


#: What ifcopenshell and the task code raise on a model that parses but cannot be interpreted
#: (an attribute of the wrong type, an enumeration the schema does not know ...).
MODEL_FAILURES = (AttributeError, TypeError, ValueError, IndexError, KeyError, RuntimeError, ArithmeticError)


def interpretation_error(err: BaseException, path: str) -> FileFormatError:
    """Return the typed error for a model that parsed but could not be interpreted (``IFC007``)."""
    return FileFormatError(
        f"the IFC model could not be interpreted ({type(err).__name__}: {err})",
        path=path,
        code="IFC007",
        hint="an entity holds a value its schema does not allow; validate the file "
        "(python -m ifcopenshell.validate) and re-export it",
    )


def _limit_memory(memory_mb: int | None) -> None:
    """Worker initializer: cap the address space so a runaway allocation fails in the child."""
    if not memory_mb:
        return
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = int(memory_mb) * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # not on POSIX, or not allowed: run unlimited
        logger.debug("could not set RLIMIT_AS in the IFC worker")


@contextlib.contextmanager
def _main_module_hidden():
    """Hide ``__main__``'s file while workers start, so they do not re-run the caller's script.

    Workers only need cimkit modules; without this, a script that calls ``read_ifc`` without an
    ``if __name__ == "__main__":`` guard would be re-executed in every worker (the usual
    spawn / forkserver pitfall). Workers start inside :meth:`IfcSandbox.submit`, on this thread.
    """
    main = sys.modules.get("__main__")
    saved = {}
    if main is not None:
        for attr in ("__file__", "__spec__"):
            if getattr(main, attr, None) is not None:
                saved[attr] = getattr(main, attr)
                setattr(main, attr, None)
    try:
        yield
    finally:
        for attr, value in saved.items():
            setattr(main, attr, value)


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


class IfcSandbox:
    """A pool of worker processes dedicated to one IFC file.

    Parameters
    ----------
    path
        The file (used in error messages).
    processes
        Number of worker processes (default: option ``ifc_processes``).
    timeout_s
        Wall-clock limit for all the work, seconds (default: option ``ifc_timeout_s``).
    memory_mb
        Address-space limit per worker, MiB (default: option ``ifc_memory_mb``).
    sandbox
        ``False`` runs every task in this process (trusted files, tests that need speed).

    Use as a context manager; :meth:`submit` tasks and :meth:`result` them, or :meth:`run`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        processes: int | None = None,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
        sandbox: bool = True,
    ) -> None:
        options = get_options()
        self.path = os.fspath(path)
        self.processes = int(processes or options["ifc_processes"])
        self.timeout_s = float(timeout_s or options["ifc_timeout_s"])
        self.memory_mb = int(memory_mb or options["ifc_memory_mb"])
        self.sandbox = sandbox
        self._deadline = time.monotonic() + self.timeout_s
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> IfcSandbox:
        if self.sandbox:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=_context(),
                initializer=_limit_memory,
                initargs=(self.memory_mb,),
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(kill=exc[0] is not None)

    def close(self, *, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            for proc in list(getattr(pool, "_processes", {}).values()):
                if proc.is_alive():
                    proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        """Schedule ``fn(*args)`` in a worker (or run it now when ``sandbox=False``)."""
        if self._pool is None:
            future: cf.Future = cf.Future()
            try:
                future.set_result(fn(*args))
            except BaseException as err:  # delivered by result(), as from a worker
                future.set_exception(err)
            return future
        try:
            with _main_module_hidden():
                return self._pool.submit(fn, *args)
        except BrokenProcessPool as err:
            raise self._crash("the IFC worker process died") from err

    def result(self, future: cf.Future) -> Any:
        """Return the result of a submitted task; child deaths, time-outs and memory exhaustion become typed errors."""
        remaining = self._deadline - time.monotonic()
        try:
            return future.result(timeout=max(remaining, 0.001) if self.sandbox else None)
        except cf.TimeoutError as err:
            self.close(kill=True)
            raise self._crash(
                f"reading took longer than the time limit of {self.timeout_s:g} s",
                hint="raise the limit with cimkit.set_options(ifc_timeout_s=...) if the file is large",
            ) from err
        except BrokenProcessPool as err:
            self.close(kill=True)
            raise self._crash(
                "the IFC reader process crashed (segmentation fault, abort or out of memory)",
                hint="the file is probably malformed; validate it (e.g. with ifcopenshell.validate) and re-export",
            ) from err
        except MemoryError as err:
            self.close(kill=True)
            raise self._crash(
                f"the IFC reader exceeded its memory limit of {self.memory_mb} MiB",
                hint="raise the limit with cimkit.set_options(ifc_memory_mb=...) if the file is large",
            ) from err
        except CimkitError:
            raise
        except MODEL_FAILURES as err:
            raise interpretation_error(err, self.path) from err

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one task and return its result."""
        return self.result(self.submit(fn, *args))

    def _crash(self, message: str, *, hint: str | None = None) -> ReaderCrashError:
        logger.warning("%s: %s", self.path, message)
        return ReaderCrashError(message, path=self.path, hint=hint)


class PoolBroken(Exception):
    """The shared pool broke (a worker died, or a time-out killed the workers): read the file alone."""


class SharedWorkers:
    """Sandboxed worker processes shared by the reads of many files, one task per file.

    Starting a pool of workers for each small file costs about as much as reading it. Inside
    :func:`shared_workers`, every sandboxed read with one worker per file runs as ONE task in
    these long-lived workers (same forkserver, same ``RLIMIT_AS``, same time limit per file).
    When the pool breaks (a worker crashed, ran out of memory, or a time-out killed the
    workers), :meth:`run` raises :class:`PoolBroken` for every file whose task was in it and the
    reader reads each of them again alone in its own :class:`IfcSandbox`: a crashing or hanging
    file still fails alone, with its own code, and the others succeed.
    """

    def __init__(self, processes: int | None = None, memory_mb: int | None = None) -> None:
        import threading

        options = get_options()
        self.processes = int(processes or options["ifc_processes"])
        self.memory_mb = int(memory_mb or options["ifc_memory_mb"])
        self._lock = threading.Lock()
        self._pool: cf.ProcessPoolExecutor | None = None
        self._generation = 0

    def _start(self) -> cf.ProcessPoolExecutor:
        extra: dict[str, Any] = {}
        if sys.version_info >= (3, 11):  # replace long-lived workers now and then (3.11+)
            extra["max_tasks_per_child"] = _TASKS_PER_WORKER
        return cf.ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=_context(),
            initializer=_limit_memory,
            initargs=(self.memory_mb,),
            **extra,
        )

    def run(self, fn: Callable[..., Any], *args: Any, timeout_s: float | None = None) -> Any:
        """Run ``fn(*args)`` in a worker; raise :class:`PoolBroken` when the pool broke meanwhile."""
        timeout = float(timeout_s or get_options()["ifc_timeout_s"])
        with self._lock:  # one submit at a time: __main__ is hidden while workers start
            if self._pool is None:
                self._pool = self._start()
            generation = self._generation
            try:
                with _main_module_hidden():
                    future = self._pool.submit(fn, *args)
            except (BrokenProcessPool, RuntimeError) as err:
                self._renew(generation, locked=True)
                raise PoolBroken(str(err)) from err
        try:
            return future.result(timeout=timeout)
        except (cf.TimeoutError, BrokenProcessPool, MemoryError) as err:
            self._renew(generation)
            raise PoolBroken(type(err).__name__) from err

    def _renew(self, generation: int, *, locked: bool = False) -> None:
        """Kill the pool of ``generation`` (once); the next :meth:`run` starts a new one."""
        if not locked:
            with self._lock:
                self._renew(generation, locked=True)
            return
        if generation != self._generation or self._pool is None:
            return
        pool, self._pool = self._pool, None
        self._generation += 1
        _kill(pool)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


#: Tasks a shared worker runs before it is replaced (bounds what a long-lived worker accumulates).
_TASKS_PER_WORKER = 100
_SHARED: list[SharedWorkers] = []


def _kill(pool: cf.ProcessPoolExecutor) -> None:
    for proc in list(getattr(pool, "_processes", {}).values()):
        if proc.is_alive():
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def active_workers() -> SharedWorkers | None:
    """Return the shared workers of the innermost :func:`shared_workers` block, if any."""
    return _SHARED[-1] if _SHARED else None


@contextlib.contextmanager
def shared_workers(processes: int | None = None, *, memory_mb: int | None = None):
    """Let the IFC reads inside the block share one pool of sandboxed workers (one task per file).

    Used by the callers that read many files (the recipe, the sample city). The pool is shut
    down at the end of the block.
    """
    workers = SharedWorkers(processes, memory_mb)
    _SHARED.append(workers)
    try:
        yield workers
    finally:
        _SHARED.remove(workers)
        workers.close()
