"""Shortest-path kernels over a network's CSR arrays.

Bounded Dijkstra searches compiled with numba: travel costs from origins to destinations within a
budget, the ``k`` nearest destinations of every origin by one multi-source search on the reversed
graph, and sums of opportunities reachable within budgets from every node (the query a
contraction-hierarchy engine such as pandana answers with ``aggregate``). :class:`TravelTimeCache`
keeps every origin's settled nodes (sorted by cost, up to the largest budget) so that further
aggregations only walk those lists.

Why a kernel of our own rather than :func:`scipy.sparse.csgraph.dijkstra`: scipy has one global
``limit`` but allocates and returns a dense ``n_origins x n_nodes`` result and resets a full
``n_nodes`` distance array per origin; the bounded search here only touches the nodes it settles
and resets only those, which is what makes "everything within 2 km of every node" affordable.
The distances are computed with the same floating-point operations (``d[u] + w``, minimum over
arcs), so they are bit-for-bit equal to scipy's and networkx's (tested).

Parallelism: the kernels release the GIL (``nogil=True``); origins are split into blocks run on a
thread pool (``n_jobs``, default: numba's thread count).

Costs are in the unit of the chosen weight column: minutes for a time column such as
``walk_time_min`` (budget ``max_time_min``), metres for ``length_m`` (budget ``max_distance_m``).
Unreachable pairs and pairs beyond the budget are NaN in the returned tables.

Examples
--------
A street of two 100 m blocks walked at 4.8 km/h (80 m/min):

>>> import geopandas as gpd, pandas as pd, shapely
>>> from cimkit.network import Network
>>> from cimkit.network.paths import compute_nearest, compute_travel_times
>>> nodes = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (100, 0), (200, 0)]), crs=2154)
>>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
...     geometry=shapely.linestrings([[(0, 0), (100, 0)], [(100, 0), (200, 0)]]))
>>> edges["walk_time_min"] = edges.length / 80.0
>>> net = Network(nodes, edges, kind="road")
>>> compute_travel_times(net, [0], [1, 2]).loc[0].tolist()
[1.25, 2.5]
>>> compute_nearest(net, None, [2])["cost"].tolist()
[2.5, 1.25, 0.0]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cimkit.errors import NetworkError, ValidationError
from cimkit.network._paths_support import (
    Directed,
    _aggregate_frame,
    _arrays,
    _as_csr,
    _blocks,
    _budget,
    _budget_list,
    _kernels,
    _n_jobs,
    _node_labels,
    _reverse_csr,
    _run_blocks,
    _start_costs,
    _unit_checked,
    _values_2d,
)
from cimkit.network.graph import CSRGraph, Network

logger = logging.getLogger(__name__)

__all__ = [
    "TravelTimeCache",
    "aggregate_within",
    "compute_nearest",
    "compute_travel_times",
]


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------
def compute_travel_times(
    network: Network | CSRGraph,
    origins: Any = None,
    destinations: Any = None,
    *,
    weight: str = "walk_time_min",
    max_time_min: float | None = None,
    max_distance_m: float | None = None,
    directed: Directed = "auto",
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Shortest travel costs from every origin to every destination (one-to-many, many-to-many).

    Parameters
    ----------
    network
        A :class:`~cimkit.network.graph.Network` or its :class:`CSRGraph` arrays.
    origins, destinations
        Node ids (array-like), or a Series whose values are node ids and whose index labels the
        result (e.g. ``network.nearest_node(buildings)["node_id"]``). None means every node.
    weight
        Edge cost column (``walk_time_min`` minutes by default; ``length_m`` metres ...).
        Ignored when a CSRGraph is given.
    max_time_min
        Largest cost searched, in minutes, for a time weight; costs above it are NaN.
        None: unbounded.
    max_distance_m
        Largest cost searched, in metres, for a distance weight (``length_m``); instead of
        ``max_time_min``.
    directed
        How edges become arcs (see :meth:`Network.csr`); ``"auto"`` honours ``oneway``.
    n_jobs
        Worker threads (default: numba's thread count).

    Returns
    -------
    pandas.DataFrame
        ``len(origins) x len(destinations)`` costs (float64, the weight's unit); NaN where
        unreachable or beyond the budget. Rows follow ``origins``, columns ``destinations``.

    Examples
    --------
    Two 100 m blocks walked at 80 m/min; a budget of 2 minutes leaves the far node out:

    >>> import geopandas as gpd, shapely
    >>> from cimkit.network import Network
    >>> from cimkit.network.paths import compute_travel_times
    >>> nodes = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (100, 0), (200, 0)]), crs=2154)
    >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
    ...     geometry=shapely.linestrings([[(0, 0), (100, 0)], [(100, 0), (200, 0)]]))
    >>> edges["walk_time_min"] = edges.length / 80.0
    >>> net = Network(nodes, edges, kind="road")
    >>> compute_travel_times(net, [0, 2], [0, 1, 2], max_time_min=2.0).to_numpy().tolist()
    [[0.0, 1.25, nan], [nan, 1.25, 0.0]]
    >>> compute_travel_times(net, [0], [2], weight="length_m").loc[0].tolist()
    [200.0]
    """
    limit_value, limit_name = _unit_checked(network, weight, max_time_min, max_distance_m)
    csr = _as_csr(network, weight, directed)
    src, row_labels = _node_labels(csr, origins, "origins")
    tgt, col_labels = _node_labels(csr, destinations, "destinations")
    limit = _budget(limit_value, limit_name)
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


def compute_nearest(
    network: Network | CSRGraph,
    origins: Any,
    destinations: Any,
    *,
    k: int = 1,
    weight: str = "walk_time_min",
    max_time_min: float | None = None,
    max_distance_m: float | None = None,
    destination_cost: Any = None,
    directed: Directed = "auto",
) -> pd.DataFrame:
    """Cost from each origin to its ``k`` nearest destinations (one search for all origins).

    One multi-source Dijkstra starts from every destination at once on the *reversed* graph, so
    the cost reported for an origin is the cost of travelling from the origin *to* the destination
    (one-way streets are honoured in that direction). For ``k > 1`` each node is settled once per
    distinct destination, at most ``k`` times (k-label search).

    Parameters
    ----------
    network
        Network or CSRGraph.
    origins
        Node ids / Series of node ids to report (None: every node).
    destinations
        Node ids of the destinations, or a Series of node ids whose index names the destinations.
        Several destinations may share a node.
    k
        Number of nearest destinations.
    weight
        Edge cost column (minutes for ``walk_time_min``).
    max_time_min
        Largest cost searched in minutes (time weight); farther destinations are NaN.
    max_distance_m
        Largest cost searched in metres (distance weight), instead of ``max_time_min``.
    destination_cost
        Optional cost already spent between the destination's node and the destination itself
        (e.g. the walk from the street to the door), one value per destination, weight unit.
    directed
        How edges become arcs (see :meth:`Network.csr`).

    Returns
    -------
    pandas.DataFrame
        Index: the origins. Columns ``cost_1 .. cost_k`` (float, NaN when fewer than ``i``
        destinations are reachable) and ``destination_1 .. destination_k`` (destination labels,
        ``None`` when missing). With ``k=1`` the columns are ``cost`` and ``destination``.

    Examples
    --------
    Three nodes 100 m apart; two schools, one on node 0 and one on node 2 with a 0.5 min walk
    from the street to its door:

    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from cimkit.network import Network
    >>> from cimkit.network.paths import compute_nearest
    >>> nodes = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (100, 0), (200, 0)]), crs=2154)
    >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
    ...     geometry=shapely.linestrings([[(0, 0), (100, 0)], [(100, 0), (200, 0)]]))
    >>> edges["walk_time_min"] = edges.length / 80.0
    >>> net = Network(nodes, edges, kind="road")
    >>> schools = pd.Series([0, 2], index=["north", "south"])  # node of each school
    >>> nearest = compute_nearest(net, [1, 2], schools, destination_cost=[0.0, 0.5])
    >>> nearest["cost"].tolist(), nearest["destination"].tolist()
    ([1.25, 0.5], ['north', 'south'])
    """
    if int(k) != k or k < 1:
        raise ValidationError(f"'k' must be an integer >= 1; {k!r} was given.")
    k = int(k)
    limit_value, limit_name = _unit_checked(network, weight, max_time_min, max_distance_m)
    csr = _as_csr(network, weight, directed)
    dest_pos, dest_labels = _node_labels(csr, destinations, "destinations")
    src, row_labels = _node_labels(csr, origins, "origins")
    limit = _budget(limit_value, limit_name)
    start_cost = _start_costs(destination_cost, len(dest_pos))
    indptr, indices, weights = _arrays(_reverse_csr(csr))
    labels = np.arange(len(dest_pos), dtype=np.int64)
    kern = _kernels()
    if len(dest_pos) == 0:
        kd = np.full((csr.n_nodes, k), np.inf)
        kl = np.full((csr.n_nodes, k), -1, dtype=np.int64)
    elif k == 1:
        dist, lab = kern["nearest_one"](indptr, indices, weights, dest_pos, start_cost, labels, limit)
        kd, kl = dist[:, None], lab[:, None]
    else:
        kd, kl = kern["nearest_k"](indptr, indices, weights, dest_pos, start_cost, labels, k, limit)
    if origins is not None:
        kd = kd[src]
        kl = kl[src]
    cost = kd  # fresh arrays from the kernel: safe to edit in place
    cost[np.isinf(cost)] = np.nan
    names = ["cost"] if k == 1 else [f"cost_{i + 1}" for i in range(k)]
    dnames = ["destination"] if k == 1 else [f"destination_{i + 1}" for i in range(k)]
    out: dict[str, Any] = {name: cost[:, i] for i, name in enumerate(names)}
    for i, name in enumerate(dnames):
        ok = kl[:, i] >= 0
        col = dest_labels.take(np.where(ok, kl[:, i], 0)) if len(dest_labels) else pd.Index([None] * len(ok))
        if not ok.all():
            col = col.astype(object).where(ok, None)
        out[name] = np.asarray(col)
    return pd.DataFrame(out, index=row_labels)


def aggregate_within(
    network: Network | CSRGraph,
    values: Any,
    max_time_min: float | Iterable[float] | None = None,
    *,
    max_distance_m: float | Iterable[float] | None = None,
    origins: Any = None,
    weight: str = "walk_time_min",
    directed: Directed = "auto",
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Sum of node values reachable within each budget, from every origin node.

    One bounded search per origin up to the largest budget; the settled nodes come out sorted by
    cost, so all budgets are answered in one sweep. Inclusive: a node exactly at the budget counts.

    Parameters
    ----------
    network
        Network or CSRGraph.
    values
        Opportunities at nodes: a Series (or DataFrame, one column per quantity) indexed by node
        id — duplicates are summed — or an array with one row per node in CSR order.
    max_time_min
        One or more time budgets in minutes (time weight such as ``walk_time_min``).
    max_distance_m
        One or more distance budgets in metres (with ``weight="length_m"``), instead of
        ``max_time_min``.
    origins
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
        One row per origin, one column per budget, the column level named after the budget
        (``max_time_min`` or ``max_distance_m``; a ``(budget, value)`` MultiIndex when ``values``
        has several columns).

    Examples
    --------
    Jobs on three nodes 100 m apart, summed within 100 m and 200 m of every node:

    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from cimkit.network import Network
    >>> from cimkit.network.paths import aggregate_within
    >>> nodes = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (100, 0), (200, 0)]), crs=2154)
    >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
    ...     geometry=shapely.linestrings([[(0, 0), (100, 0)], [(100, 0), (200, 0)]]))
    >>> net = Network(nodes, edges, kind="road")
    >>> jobs = pd.Series([5.0, 7.0, 1.0])  # by node id
    >>> sums = aggregate_within(net, jobs, max_distance_m=[100, 200], weight="length_m")
    >>> sums.columns.name, sums.to_numpy().tolist()
    ('max_distance_m', [[12.0, 13.0], [13.0, 13.0], [8.0, 13.0]])
    """
    budgets, level = _unit_checked(network, weight, max_time_min, max_distance_m)
    csr = _as_csr(network, weight, directed)
    vals, names = _values_2d(csr, values)
    cut = _budget_list(budgets, level)
    order = np.argsort(cut, kind="stable")
    src, labels = _node_labels(csr, origins, "origins")
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
    return _aggregate_frame(out, cut, names, labels, level)


class TravelTimeCache:
    """Settled nodes of every origin up to a largest budget, kept for repeated aggregations.

    Building the cache runs one bounded search per origin (the cost of one
    :func:`aggregate_within` call) and stores, per origin, the reached nodes sorted by cost
    (a CSR of results: ``int32`` node positions and ``float64`` costs, so memory is 12 bytes per
    reached pair). Each later :meth:`aggregate` only sweeps those lists — no graph search.

    Parameters
    ----------
    network
        Network or CSRGraph.
    max_time_min
        Largest time budget (minutes) any later query may use, for a time weight.
    max_distance_m
        Largest distance budget (metres), for a distance weight, instead of ``max_time_min``.
    origins
        Node ids / Series of node ids (None: every node).
    weight
        Edge cost column (``walk_time_min`` by default).
    directed
        As for :func:`aggregate_within`.
    n_jobs
        Worker threads.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from cimkit.network import Network
    >>> from cimkit.network.paths import TravelTimeCache
    >>> nodes = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (100, 0), (200, 0)]), crs=2154)
    >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
    ...     geometry=shapely.linestrings([[(0, 0), (100, 0)], [(100, 0), (200, 0)]]))
    >>> edges["walk_time_min"] = edges.length / 80.0
    >>> cache = TravelTimeCache(Network(nodes, edges, kind="road"), 2.5)
    >>> cache.n_pairs  # every node reaches all three within 2.5 min
    9
    >>> cache.aggregate(pd.Series([5.0, 7.0, 1.0]), [1.0, 2.0]).loc[2].tolist()
    [1.0, 8.0]
    >>> cache.reached(0).tolist()
    [0.0, 1.25, 2.5]
    """

    def __init__(
        self,
        network: Network | CSRGraph,
        max_time_min: float | None = None,
        *,
        max_distance_m: float | None = None,
        origins: Any = None,
        weight: str = "walk_time_min",
        directed: Directed = "auto",
        n_jobs: int | None = None,
    ) -> None:
        budget, self._limit_name = _unit_checked(network, weight, max_time_min, max_distance_m)
        csr = _as_csr(network, weight, directed)
        if csr.n_nodes >= 2**31:
            raise NetworkError("the cache stores node positions as int32; the graph is too large")
        self.csr = csr
        self.limit = _budget(budget, self._limit_name)
        if not math.isfinite(self.limit):
            raise ValidationError("a cache needs a finite 'max_time_min' (or 'max_distance_m').")
        self.weight = weight
        self._origins, self.index = _node_labels(csr, origins, "origins")
        self.n_jobs = _n_jobs(n_jobs)
        k = _kernels()["block_settled"]
        indptr, indices, weights = _arrays(csr)
        blocks = _blocks(len(self._origins), self.n_jobs)
        parts = _run_blocks(
            lambda lo, hi: k(indptr, indices, weights, self._origins, lo, hi, self.limit),
            blocks,
            self.n_jobs,
        )
        counts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        self.indptr = np.zeros(len(self._origins) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])
        self.nodes = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int32)
        self.costs = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
        logger.debug("travel-time cache: %d origins, %d pairs", len(self._origins), len(self.nodes))

    @property
    def n_pairs(self) -> int:
        """Number of stored (origin, node) pairs."""
        return len(self.nodes)

    @property
    def nbytes(self) -> int:
        """Memory held by the cache arrays, in bytes."""
        return int(self.indptr.nbytes + self.nodes.nbytes + self.costs.nbytes)

    def reached(self, origin: Any) -> pd.Series:
        """Costs from one origin node id to every node within the cache's budget (sorted by cost).

        Parameters
        ----------
        origin
            A node id among the cache's origins.

        Returns
        -------
        pandas.Series
            Cost of each reached node (the weight's unit), indexed by ``node_id``, the origin
            first (cost 0).

        Raises
        ------
        NetworkError
            When ``origin`` is not an origin of the cache.

        Examples
        --------
        Two 100 m blocks walked at 80 m/min, cached up to 2 minutes: from node 0 the far node
        (2.5 min away) is not reached.

        >>> import geopandas as gpd, pandas as pd, shapely
        >>> from cimkit.network import Network
        >>> from cimkit.network.paths import TravelTimeCache
        >>> nodes = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (100, 0), (200, 0)]), crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
        ...     geometry=shapely.linestrings([[(0, 0), (100, 0)], [(100, 0), (200, 0)]]))
        >>> edges["walk_time_min"] = edges.length / 80.0
        >>> cache = TravelTimeCache(Network(nodes, edges, kind="road"), 2.0)
        >>> cache.reached(0)
        node_id
        0    0.00
        1    1.25
        dtype: float64
        """
        (pos,) = self.csr.position([origin])
        hit = np.flatnonzero(self._origins == pos)
        if len(hit) == 0:
            raise NetworkError(f"node {origin!r} is not an origin of this cache")
        i = hit[0]
        sl = slice(self.indptr[i], self.indptr[i + 1])
        return pd.Series(self.costs[sl], index=pd.Index(self.csr.node_ids[self.nodes[sl]], name="node_id"))

    def aggregate(
        self,
        values: Any,
        max_time_min: float | Sequence[float] | None = None,
        *,
        max_distance_m: float | Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Sum of node values within each budget from every cached origin (see :func:`aggregate_within`).

        The budgets are in the cache's unit: ``max_time_min`` for a cache built with a time
        budget, ``max_distance_m`` for one built with a distance budget.

        Parameters
        ----------
        values
            Opportunities at nodes, as for :func:`aggregate_within`.
        max_time_min
            One or more time budgets in minutes, none above the cache's.
        max_distance_m
            One or more distance budgets in metres, for a cache built with ``max_distance_m``.

        Returns
        -------
        pandas.DataFrame
            One row per cached origin, one column per budget, as :func:`aggregate_within`.

        Examples
        --------
        Jobs on three nodes 100 m apart (80 m/min), summed within 1.25 and 2.5 minutes of every
        node from one cache:

        >>> import geopandas as gpd, pandas as pd, shapely
        >>> from cimkit.network import Network
        >>> from cimkit.network.paths import TravelTimeCache
        >>> nodes = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (100, 0), (200, 0)]), crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
        ...     geometry=shapely.linestrings([[(0, 0), (100, 0)], [(100, 0), (200, 0)]]))
        >>> edges["walk_time_min"] = edges.length / 80.0
        >>> cache = TravelTimeCache(Network(nodes, edges, kind="road"), 2.5)
        >>> jobs = pd.Series([5.0, 7.0, 1.0])  # by node id
        >>> sums = cache.aggregate(jobs, [1.25, 2.5])
        >>> sums.columns.tolist(), sums.to_numpy().tolist()
        ([1.25, 2.5], [[12.0, 13.0], [13.0, 13.0], [8.0, 13.0]])
        >>> cache.aggregate(jobs, 1.0)[1.0].tolist()  # each node alone
        [5.0, 7.0, 1.0]
        """
        if max_time_min is not None and max_distance_m is not None:
            raise ValidationError("give either 'max_time_min' or 'max_distance_m', not both.")
        name = "max_distance_m" if max_distance_m is not None else "max_time_min"
        if name != self._limit_name:
            raise ValidationError(
                f"the cache was built with {self._limit_name!r}; {name!r} was given.",
                hint=f"pass the budgets as {self._limit_name}=....",
            )
        vals, names = _values_2d(self.csr, values)
        cut = _budget_list(max_distance_m if max_distance_m is not None else max_time_min, name)
        if cut.max() > self.limit:
            raise ValidationError(
                f"budget {cut.max()} exceeds the cache's {self._limit_name} of {self.limit}",
                hint="build the cache with a larger budget.",
            )
        order = np.argsort(cut, kind="stable")
        tmp = np.zeros((len(self._origins), len(cut), vals.shape[1]))
        k = _kernels()["cache_aggregate"]
        sorted_cut = np.ascontiguousarray(cut[order])
        _run_blocks(
            lambda lo, hi: k(self.indptr, self.nodes, self.costs, lo, hi, sorted_cut, vals, tmp),
            _blocks(len(self._origins), self.n_jobs),
            self.n_jobs,
        )
        out = np.empty_like(tmp)
        out[:, order, :] = tmp
        return _aggregate_frame(out, cut, names, self.index, self._limit_name)
