"""Shortest-path kernels over a network's CSR arrays.

Bounded Dijkstra searches compiled with numba: one-to-many and many-to-many travel times within a
cut-off, nearest-k facilities by one multi-source search on the reversed graph, and sums of
opportunities reachable within cut-offs from every node (the query a contraction-hierarchy engine
such as pandana answers with ``aggregate``). :class:`TravelTimeCache` keeps every source's
settled nodes (sorted by time, up to the largest cut-off) so that further aggregations only walk
those lists.

Why a kernel of our own rather than :func:`scipy.sparse.csgraph.dijkstra`: scipy has one global
``limit`` but allocates and returns a dense ``n_sources x n_nodes`` result and resets a full
``n_nodes`` distance array per source; the bounded search here only touches the nodes it settles
and resets only those, which is what makes "everything within 2 km of every node" affordable.
The distances are computed with the same floating-point operations (``d[u] + w``, minimum over
arcs), so they are bit-for-bit equal to scipy's and networkx's (tested).

Parallelism: the kernels release the GIL (``nogil=True``); sources are split into blocks run on a
thread pool (``n_jobs``, default: numba's thread count).

Costs are in the unit of the chosen weight column (minutes for ``walk_time_min``, metres for
``length_m``). Unreachable pairs and pairs beyond the cut-off are NaN in the returned tables.

Examples
--------
A street of two 100 m blocks walked at 4.8 km/h (80 m/min):

>>> import geopandas as gpd, pandas as pd, shapely
>>> from cimkit.network import Network
>>> from cimkit.network.paths import TravelTimeCache, aggregate_within, nearest, travel_times
>>> nodes = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (100, 0), (200, 0)]), crs=2154)
>>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
...     geometry=shapely.linestrings([[(0, 0), (100, 0)], [(100, 0), (200, 0)]]))
>>> edges["walk_time_min"] = edges.length / 80.0
>>> net = Network(nodes, edges, kind="road")
>>> travel_times(net, [0], [1, 2]).loc[0].tolist()
[1.25, 2.5]
>>> nearest(net, [2])["cost"].tolist()
[2.5, 1.25, 0.0]
>>> jobs = pd.Series([5.0, 7.0, 1.0])  # by node id
>>> aggregate_within(net, jobs, [100, 200], weight="length_m").loc[0].tolist()
[12.0, 13.0]
>>> TravelTimeCache(net, 200, weight="length_m").aggregate(jobs, 150).loc[2].tolist()
[8.0]
"""

from __future__ import annotations

import itertools
import logging
import math
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import pandas as pd

from cimkit.errors import NetworkError, ValidationError
from cimkit.network.graph import CSRGraph, Network

logger = logging.getLogger(__name__)

__all__ = [
    "TravelTimeCache",
    "aggregate_within",
    "nearest",
    "reverse_csr",
    "travel_times",
]

Directed = Literal["auto", "both", "forward"]

_KERNELS: dict[str, Any] = {}


# ----------------------------------------------------------------------------------------------
# numba kernels (in _path_kernels, compiled on first use and cached on disk)
# ----------------------------------------------------------------------------------------------
def _kernels() -> dict[str, Any]:
    """The numba kernels (imported on first use: numba loads only when a search runs)."""
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


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _as_csr(network_or_csr: Network | CSRGraph, weight: str, directed: Directed) -> CSRGraph:
    if isinstance(network_or_csr, CSRGraph):
        return network_or_csr
    if isinstance(network_or_csr, Network):
        return network_or_csr.csr(weight, directed=directed)
    raise ValidationError(
        f"expected a cimkit Network or CSRGraph; {type(network_or_csr).__name__} was given.",
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


def _cutoff(cutoff: float | None) -> float:
    if cutoff is None:
        return math.inf
    c = float(cutoff)
    if not c >= 0:
        raise ValidationError(f"'cutoff' must be a number >= 0; {cutoff!r} was given.")
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
        return list(pool.map(lambda b: fn(*b), blocks))


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


def reverse_csr(csr: CSRGraph) -> CSRGraph:
    """The transposed graph: every arc u→v becomes v→u (for searches towards targets).

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


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------
def travel_times(
    network_or_csr: Network | CSRGraph,
    sources: Any = None,
    targets: Any = None,
    *,
    weight: str = "walk_time_min",
    cutoff: float | None = None,
    directed: Directed = "auto",
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Shortest travel costs from every source to every target (one-to-many, many-to-many).

    Parameters
    ----------
    network_or_csr
        A :class:`~cimkit.network.graph.Network` or its :class:`CSRGraph` arrays.
    sources, targets
        Node ids (array-like), or a Series whose values are node ids and whose index labels the
        result (e.g. ``network.nearest_node(buildings)["node_id"]``). None means every node.
    weight
        Edge cost column (``walk_time_min`` minutes by default; ``length_m`` metres ...).
        Ignored when a CSRGraph is given.
    cutoff
        Largest cost searched, in the weight's unit; costs above it are NaN. None: unbounded.
    directed
        How edges become arcs (see :meth:`Network.csr`); ``"auto"`` honours ``oneway``.
    n_jobs
        Worker threads (default: numba's thread count).

    Returns
    -------
    pandas.DataFrame
        ``len(sources) x len(targets)`` costs (float64); NaN where unreachable or beyond the
        cut-off. Rows follow ``sources``, columns ``targets``.
    """
    csr = _as_csr(network_or_csr, weight, directed)
    src, row_labels = _node_labels(csr, sources, "sources")
    tgt, col_labels = _node_labels(csr, targets, "targets")
    limit = _cutoff(cutoff)
    out = np.full((len(src), len(tgt)), np.nan)
    if len(src) and len(tgt):
        k = _kernels()["block_to_targets"]
        indptr, indices, weights = _arrays(csr)
        jobs = _n_jobs(n_jobs)
        _run_blocks(
            lambda lo, hi: k(indptr, indices, weights, src, lo, hi, limit, tgt, out),
            _blocks(len(src), jobs),
            jobs,
        )
    return pd.DataFrame(out, index=row_labels, columns=col_labels)


def nearest(
    network_or_csr: Network | CSRGraph,
    facilities: Any,
    sources: Any = None,
    *,
    k: int = 1,
    weight: str = "walk_time_min",
    cutoff: float | None = None,
    facility_cost: Any = None,
    directed: Directed = "auto",
) -> pd.DataFrame:
    """Cost from each source to its ``k`` nearest facilities (one search for all sources).

    One multi-source Dijkstra starts from every facility at once on the *reversed* graph, so the
    cost reported for a source is the cost of travelling from the source *to* the facility
    (one-way streets are honoured in that direction). For ``k > 1`` each node is settled once per
    distinct facility, at most ``k`` times (k-label search).

    Parameters
    ----------
    network_or_csr
        Network or CSRGraph.
    facilities
        Node ids of the facilities, or a Series of node ids whose index names the facilities.
        Several facilities may share a node.
    sources
        Node ids / Series of node ids to report (None: every node).
    k
        Number of nearest facilities.
    weight
        Edge cost column (minutes for ``walk_time_min``).
    cutoff
        Largest cost searched (weight unit); farther facilities are NaN.
    facility_cost
        Optional cost already spent between the facility's node and the facility itself
        (e.g. the walk from the street to the door), one value per facility, weight unit.
    directed
        How edges become arcs (see :meth:`Network.csr`).

    Returns
    -------
    pandas.DataFrame
        Index: the sources. Columns ``cost_1 .. cost_k`` (float, NaN when fewer than ``i``
        facilities are reachable) and ``facility_1 .. facility_k`` (facility labels, ``None`` when
        missing). With ``k=1`` the columns are ``cost`` and ``facility``.
    """
    if int(k) != k or k < 1:
        raise ValidationError(f"'k' must be an integer >= 1; {k!r} was given.")
    k = int(k)
    csr = _as_csr(network_or_csr, weight, directed)
    fac_pos, fac_labels = _node_labels(csr, facilities, "facilities")
    src, row_labels = _node_labels(csr, sources, "sources")
    limit = _cutoff(cutoff)
    if facility_cost is None:
        start_cost = np.zeros(len(fac_pos))
    else:
        start_cost = np.asarray(facility_cost, dtype="float64").reshape(-1)
        if start_cost.shape != fac_pos.shape or not np.all(start_cost >= 0):
            raise ValidationError(
                "'facility_cost' must hold one non-negative cost per facility; "
                f"got shape {start_cost.shape} for {len(fac_pos)} facilities."
            )
    rev = reverse_csr(csr)
    indptr, indices, weights = _arrays(rev)
    labels = np.arange(len(fac_pos), dtype=np.int64)
    kern = _kernels()
    if len(fac_pos) == 0:
        kd = np.full((csr.n_nodes, k), np.inf)
        kl = np.full((csr.n_nodes, k), -1, dtype=np.int64)
    elif k == 1:
        dist, lab = kern["nearest_one"](indptr, indices, weights, fac_pos, start_cost, labels, limit)
        kd, kl = dist[:, None], lab[:, None]
    else:
        kd, kl = kern["nearest_k"](indptr, indices, weights, fac_pos, start_cost, labels, k, limit)
    if sources is not None:
        kd = kd[src]
        kl = kl[src]
    cost = kd  # fresh arrays from the kernel: safe to edit in place
    cost[np.isinf(cost)] = np.nan
    names = ["cost"] if k == 1 else [f"cost_{i + 1}" for i in range(k)]
    fnames = ["facility"] if k == 1 else [f"facility_{i + 1}" for i in range(k)]
    out: dict[str, Any] = {name: cost[:, i] for i, name in enumerate(names)}
    for i, name in enumerate(fnames):
        ok = kl[:, i] >= 0
        col = fac_labels.take(np.where(ok, kl[:, i], 0)) if len(fac_labels) else pd.Index([None] * len(ok))
        if not ok.all():
            col = col.astype(object).where(ok, None)
        out[name] = np.asarray(col)
    df = pd.DataFrame(out, index=row_labels)
    return df


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


def _cutoff_list(cutoffs: float | Iterable[float]) -> np.ndarray:
    values = [cutoffs] if isinstance(cutoffs, int | float | np.number) else list(cutoffs)
    arr = np.asarray(values, dtype="float64").reshape(-1)
    if arr.size == 0 or not np.all(arr >= 0) or not np.all(np.isfinite(arr)):
        raise ValidationError(f"'cutoffs' must be finite numbers >= 0; {cutoffs!r} was given.")
    return arr


def _aggregate_frame(out: np.ndarray, cutoffs: np.ndarray, names: list[Any], index: pd.Index) -> pd.DataFrame:
    n, nc, nm = out.shape
    cols = pd.MultiIndex.from_product([list(cutoffs), names], names=["cutoff", "value"])
    df = pd.DataFrame(out.reshape(n, nc * nm), index=index, columns=cols)
    if nm == 1:
        df.columns = pd.Index(list(cutoffs), name="cutoff")
    return df


def aggregate_within(
    network_or_csr: Network | CSRGraph,
    values: Any,
    cutoffs: float | Sequence[float],
    *,
    sources: Any = None,
    weight: str = "length_m",
    directed: Directed = "auto",
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Sum of node values reachable within each cut-off, from every source node.

    One bounded search per source up to the largest cut-off; the settled nodes come out sorted by
    cost, so all cut-offs are answered in one sweep. Inclusive: a node at exactly the cut-off counts.

    Parameters
    ----------
    network_or_csr
        Network or CSRGraph.
    values
        Opportunities at nodes: a Series (or DataFrame, one column per quantity) indexed by node
        id — duplicates are summed — or an array with one row per node in CSR order.
    cutoffs
        One or more cut-offs in the weight's unit (metres for ``length_m``, minutes for
        ``walk_time_min``).
    sources
        Node ids / Series of node ids (None: every node).
    weight
        Edge cost column.
    directed
        How edges become arcs (see :meth:`Network.csr`).
    n_jobs
        Worker threads.

    Returns
    -------
    pandas.DataFrame
        One row per source, one column per cut-off (a ``(cutoff, value)`` MultiIndex when
        ``values`` has several columns).
    """
    csr = _as_csr(network_or_csr, weight, directed)
    vals, names = _values_2d(csr, values)
    cut = _cutoff_list(cutoffs)
    order = np.argsort(cut, kind="stable")
    src, labels = _node_labels(csr, sources, "sources")
    out = np.zeros((len(src), len(cut), vals.shape[1]))
    if len(src):
        k = _kernels()["block_aggregate"]
        indptr, indices, weights = _arrays(csr)
        sorted_cut = np.ascontiguousarray(cut[order])
        tmp = np.zeros_like(out)
        jobs = _n_jobs(n_jobs)
        _run_blocks(
            lambda lo, hi: k(indptr, indices, weights, src, lo, hi, sorted_cut, vals, tmp),
            _blocks(len(src), jobs),
            jobs,
        )
        out[:, order, :] = tmp
    return _aggregate_frame(out, cut, names, labels)


class TravelTimeCache:
    """Settled nodes of every source up to a largest cut-off, kept for repeated aggregations.

    Building the cache runs one bounded search per source (the cost of one
    :func:`aggregate_within` call) and stores, per source, the reached nodes sorted by cost
    (a CSR of results: ``int32`` node positions and ``float64`` costs, so memory is 12 bytes per
    reached pair). Each later :meth:`aggregate` only sweeps those lists — no graph search.

    Parameters
    ----------
    network_or_csr
        Network or CSRGraph.
    max_cutoff
        Largest cut-off any later query may use (weight unit).
    sources
        Node ids / Series of node ids (None: every node).
    weight, directed
        As for :func:`aggregate_within`.
    n_jobs
        Worker threads.
    """

    def __init__(
        self,
        network_or_csr: Network | CSRGraph,
        max_cutoff: float,
        *,
        sources: Any = None,
        weight: str = "length_m",
        directed: Directed = "auto",
        n_jobs: int | None = None,
    ) -> None:
        csr = _as_csr(network_or_csr, weight, directed)
        if csr.n_nodes >= 2**31:
            raise NetworkError("the cache stores node positions as int32; the graph is too large")
        self.csr = csr
        self.max_cutoff = _cutoff(max_cutoff)
        if not math.isfinite(self.max_cutoff):
            raise ValidationError("'max_cutoff' must be finite for a cache.")
        self.weight = weight
        self.sources, self.index = _node_labels(csr, sources, "sources")
        self.n_jobs = _n_jobs(n_jobs)
        k = _kernels()["block_settled"]
        indptr, indices, weights = _arrays(csr)
        blocks = _blocks(len(self.sources), self.n_jobs)
        parts = _run_blocks(
            lambda lo, hi: k(indptr, indices, weights, self.sources, lo, hi, self.max_cutoff),
            blocks,
            self.n_jobs,
        )
        counts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        self.indptr = np.zeros(len(self.sources) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])
        self.nodes = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int32)
        self.costs = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
        logger.debug("travel-time cache: %d sources, %d pairs", len(self.sources), len(self.nodes))

    @property
    def n_pairs(self) -> int:
        """Number of stored (source, node) pairs."""
        return len(self.nodes)

    @property
    def nbytes(self) -> int:
        """Memory held by the cache arrays, in bytes."""
        return int(self.indptr.nbytes + self.nodes.nbytes + self.costs.nbytes)

    def reached(self, source: Any) -> pd.Series:
        """Costs from one source node id to every node within ``max_cutoff`` (sorted by cost)."""
        (pos,) = self.csr.position([source])
        hit = np.flatnonzero(self.sources == pos)
        if len(hit) == 0:
            raise NetworkError(f"node {source!r} is not a source of this cache")
        i = hit[0]
        sl = slice(self.indptr[i], self.indptr[i + 1])
        return pd.Series(self.costs[sl], index=pd.Index(self.csr.node_ids[self.nodes[sl]], name="node_id"))

    def aggregate(self, values: Any, cutoffs: float | Sequence[float]) -> pd.DataFrame:
        """Sum of node values within each cut-off from every cached source (see :func:`aggregate_within`)."""
        vals, names = _values_2d(self.csr, values)
        cut = _cutoff_list(cutoffs)
        if cut.max() > self.max_cutoff:
            raise ValidationError(
                f"cut-off {cut.max()} exceeds the cache's max_cutoff {self.max_cutoff}",
                hint="build the cache with a larger max_cutoff.",
            )
        order = np.argsort(cut, kind="stable")
        tmp = np.zeros((len(self.sources), len(cut), vals.shape[1]))
        k = _kernels()["cache_aggregate"]
        sorted_cut = np.ascontiguousarray(cut[order])
        _run_blocks(
            lambda lo, hi: k(self.indptr, self.nodes, self.costs, lo, hi, sorted_cut, vals, tmp),
            _blocks(len(self.sources), self.n_jobs),
            self.n_jobs,
        )
        out = np.empty_like(tmp)
        out[:, order, :] = tmp
        return _aggregate_frame(out, cut, names, self.index)
