"""Helpers of :mod:`cimkit.network.paths`: argument checks, kernel arrays, thread blocks.

Private: the public searches are in :mod:`cimkit.network.paths`.
"""

from __future__ import annotations

import itertools
import math
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import pandas as pd

from cimkit._progress import track
from cimkit.errors import NetworkError, ValidationError
from cimkit.network.graph import CSRGraph, Network

Directed = Literal["auto", "both", "forward"]

_KERNELS: dict[str, Any] = {}


def _kernels() -> dict[str, Any]:
    """Return the numba kernels (imported on first use: numba loads only when a search runs)."""
    if not _KERNELS:
        from cimkit.network import _path_kernels as k

        _KERNELS.update(
            block_to_targets=k.block_to_targets,
            block_aggregate=k.block_aggregate,
            block_settled=k.block_settled,
            cache_aggregate=k.cache_aggregate,
            nearest_one=k.nearest_one,
            nearest_k=k.nearest_k,
        )
    return _KERNELS


def _as_csr(network: Network | CSRGraph, weight: str, directed: Directed) -> CSRGraph:
    if isinstance(network, CSRGraph):
        return network
    if isinstance(network, Network):
        return network.csr(weight, directed=directed)
    raise ValidationError(
        f"expected a cimkit Network or CSRGraph; {type(network).__name__} was given.",
        hint="build one with cimkit.read_network(...) or Network(nodes, edges, kind='road').",
    )


def _node_labels(csr: CSRGraph, ids: Any, what: str) -> tuple[np.ndarray, pd.Index]:
    """CSR positions of node ids, and the labels of the result rows/columns.

    ``ids`` may be None (every node), an array of node ids, or a Series whose values are node
    ids and whose index labels the result (e.g. building ids mapped to their access nodes).
    """
    if ids is None:
        return np.arange(csr.n_nodes, dtype="int64"), pd.Index(csr.node_ids, name="node_id")
    if isinstance(ids, pd.DataFrame):
        if "node_id" not in ids.columns:
            raise ValidationError(
                f"{what}: a DataFrame must have a 'node_id' column; columns are {list(ids.columns)}"
            )
        ids = ids["node_id"]
    if isinstance(ids, pd.Series):
        if ids.isna().any():
            raise NetworkError(
                f"{what}: {int(ids.isna().sum())} entries have no node id",
                entity=ids.index[ids.isna()][:5].tolist(),
                hint="drop them or snap them to the network with network.nearest_node().",
            )
        return csr.position(ids.to_numpy()), ids.index
    arr = np.atleast_1d(np.asarray(list(ids) if not hasattr(ids, "__len__") else ids))
    return csr.position(arr), pd.Index(arr, name="node_id")


def _unit_checked(network: Any, weight: str, max_time_min: Any, max_distance_m: Any) -> tuple[Any, str]:
    """Return the budget given (time or distance) and its name, checked against the weight's unit.

    A time budget goes with a weight in minutes (``*_min``), a distance budget with one in metres
    (``*_m``); with a CSRGraph (no weight column) either is accepted.
    """
    if max_time_min is not None and max_distance_m is not None:
        raise ValidationError("give either 'max_time_min' or 'max_distance_m', not both.")
    name = "max_distance_m" if max_distance_m is not None else "max_time_min"
    value = max_distance_m if max_distance_m is not None else max_time_min
    if value is not None and isinstance(network, Network):
        if name == "max_distance_m" and weight.endswith("_min"):
            raise ValidationError(
                f"'max_distance_m' bounds a distance, but weight={weight!r} is in minutes.",
                hint="use max_time_min=..., or weight='length_m' for distances.",
            )
        if name == "max_time_min" and weight.endswith("_m"):
            raise ValidationError(
                f"'max_time_min' bounds a time, but weight={weight!r} is in metres.",
                hint="use max_distance_m=..., or a time weight such as 'walk_time_min'.",
            )
    return value, name


def _budget(value: float | None, name: str) -> float:
    if value is None:
        return math.inf
    c = float(value)
    if not c >= 0:
        raise ValidationError(f"{name!r} must be a number >= 0; {value!r} was given.")
    return c


def _n_jobs(n_jobs: int | None) -> int:
    if n_jobs is None:
        try:
            import numba

            return max(1, int(numba.get_num_threads()))
        except Exception:  # pragma: no cover - numba always present
            import os

            return os.cpu_count() or 1
    if n_jobs < 1:
        raise ValidationError(f"'n_jobs' must be >= 1; {n_jobs!r} was given.")
    return int(n_jobs)


def _blocks(n: int, n_jobs: int) -> list[tuple[int, int]]:
    # a few blocks per worker evens out uneven search sizes
    if n == 0:
        return []
    nb = min(n, n_jobs * 8 if n_jobs > 1 else 1)
    edges = np.linspace(0, n, nb + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def _run_blocks(fn: Any, blocks: list[tuple[int, int]], n_jobs: int) -> list[Any]:
    if n_jobs == 1 or len(blocks) <= 1:
        return [fn(lo, hi) for lo, hi in blocks]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        done = pool.map(lambda b: fn(*b), blocks)
        return list(track(done, description="shortest paths", total=len(blocks), unit="block"))


_ARRAYS: weakref.WeakKeyDictionary[CSRGraph, tuple[np.ndarray, np.ndarray, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _arrays(csr: CSRGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kernel-ready arrays (int32 targets), remembered for as long as ``csr`` lives."""
    got = _ARRAYS.get(csr)
    if got is None:
        if csr.n_nodes >= 2**31:
            raise NetworkError("graphs of 2**31 nodes or more are not supported by the kernels")
        got = (
            np.ascontiguousarray(csr.indptr, dtype=np.int64),
            np.ascontiguousarray(csr.indices, dtype=np.int32),
            np.ascontiguousarray(csr.weights, dtype=np.float64),
        )
        _ARRAYS[csr] = got
    return got


_REVERSED: weakref.WeakKeyDictionary[CSRGraph, CSRGraph] = weakref.WeakKeyDictionary()


def _reverse_csr(csr: CSRGraph) -> CSRGraph:
    """Return the transposed graph: every arc u→v becomes v→u (for searches towards destinations).

    The result is remembered for as long as ``csr`` lives (CSRGraph arrays are not modified).
    """
    cached = _REVERSED.get(csr)
    if cached is not None:
        return cached
    n = csr.n_nodes
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr))
    order = np.argsort(csr.indices, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(csr.indices, minlength=n), out=indptr[1:])
    out = CSRGraph(
        indptr=indptr,
        indices=rows[order],
        weights=csr.weights[order],
        edge_ids=csr.edge_ids[order],
        node_ids=csr.node_ids,
    )
    _REVERSED[csr] = out
    return out


def _start_costs(destination_cost: Any, n: int) -> np.ndarray:
    if destination_cost is None:
        return np.zeros(n)
    start_cost = np.asarray(destination_cost, dtype="float64").reshape(-1)
    if start_cost.shape != (n,) or not np.all(start_cost >= 0):
        raise ValidationError(
            "'destination_cost' must hold one non-negative cost per destination; "
            f"got shape {start_cost.shape} for {n} destinations."
        )
    return start_cost


def _values_2d(csr: CSRGraph, values: Any) -> tuple[np.ndarray, list[Any]]:
    """Per-node opportunity values as an ``(n_nodes, m)`` float array aligned on CSR positions."""
    if isinstance(values, pd.Series):
        frame = values.to_frame(values.name if values.name is not None else "value")
    elif isinstance(values, pd.DataFrame):
        frame = values
    else:
        arr = np.asarray(values, dtype="float64")
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape[0] != csr.n_nodes:
            raise ValidationError(
                f"'values' must hold one row per node ({csr.n_nodes}); {arr.shape[0]} rows were given.",
                hint="pass a Series indexed by node_id instead.",
            )
        return np.ascontiguousarray(arr), list(range(arr.shape[1]))
    if frame.index.has_duplicates:
        frame = frame.groupby(level=0).sum()
    pos = csr.position(frame.index.to_numpy())
    arr = np.zeros((csr.n_nodes, frame.shape[1]))
    arr[pos] = frame.to_numpy(dtype="float64")
    if not np.isfinite(arr).all():
        raise ValidationError("'values' holds NaN or infinite opportunities", hint="fill them with 0.")
    return arr, list(frame.columns)


def _budget_list(budgets: Any, name: str) -> np.ndarray:
    if budgets is None:
        raise ValidationError("give the budgets: max_time_min=... (minutes) or max_distance_m=... (metres).")
    values = [budgets] if isinstance(budgets, int | float | np.number) else list(budgets)
    arr = np.asarray(values, dtype="float64").reshape(-1)
    if arr.size == 0 or not np.all(arr >= 0) or not np.all(np.isfinite(arr)):
        raise ValidationError(f"{name!r} must be finite numbers >= 0; {budgets!r} was given.")
    return arr


def _aggregate_frame(
    out: np.ndarray, budgets: np.ndarray, names: list[Any], index: pd.Index, level: str
) -> pd.DataFrame:
    n, nc, nm = out.shape
    cols = pd.MultiIndex.from_product([list(budgets), names], names=[level, "value"])
    df = pd.DataFrame(out.reshape(n, nc * nm), index=index, columns=cols)
    if nm == 1:
        df.columns = pd.Index(list(budgets), name=level)
    return df
