"""The :class:`Network` container: nodes and edges as GeoDataFrames plus compact CSR arrays.

This module is a container only (no file reading, no topology repair): the readers build a
``Network`` and the analyses consume its CSR arrays. It imports nothing from cimkit above
``errors`` and ``provenance`` so that :mod:`cimkit.model` can hold networks.

Conventions
-----------
- ``nodes``: index ``node_id`` (int64, stable identity), Point geometry.
- ``edges``: index ``edge_id`` (int64), columns ``u`` and ``v`` (node ids), ``length_m``
  (float64), ``oneway`` (bool; False when absent), LineString geometry from u to v, plus any
  attributes (``road_class``, ``speed_kmh``, ``walk_time_min``, ``diameter_mm`` ...).
- Positions in the CSR arrays are the positions of nodes in ``nodes.index`` order.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from cimkit.errors import GeometryError, NetworkError, ValidationError

__all__ = ["NETWORK_KINDS", "CSRGraph", "Network", "summarise_topology"]

NETWORK_KINDS = ("road", "water", "sewer", "power")

#: Report lists (dangle ids, component sizes) are cut to this many entries.
MAX_LISTED = 10_000


@dataclass(frozen=True, eq=False)
class CSRGraph:
    """A directed graph in compressed sparse row form.

    ``indptr[i]:indptr[i+1]`` slices the out-edges of node position ``i``; ``indices`` holds
    the target positions, ``weights`` the edge costs, ``edge_ids`` the ``edge_id`` of each arc
    (an undirected edge appears twice, once per direction).

    Examples
    --------
    >>> from shapely.geometry import LineString, Point
    >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0)], crs=2154)
    >>> edges = gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[LineString([(0, 0), (100, 0)])], crs=2154)
    >>> graph = Network(nodes, edges, kind="road").csr("length_m")
    >>> graph.n_nodes, graph.n_arcs, graph.indptr.tolist(), graph.weights.tolist()
    (2, 2, [0, 1, 2], [100.0, 100.0])
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    edge_ids: np.ndarray
    node_ids: np.ndarray

    @property
    def n_nodes(self) -> int:
        """The number of nodes."""
        return len(self.indptr) - 1

    @property
    def n_arcs(self) -> int:
        """The number of directed arcs (an undirected edge counts twice)."""
        return len(self.indices)

    def to_scipy(self) -> Any:
        """Return the same graph as a ``scipy.sparse.csr_matrix`` (parallel arcs keep the minimum).

        Examples
        --------
        >>> graph = CSRGraph(np.array([0, 1, 1]), np.array([1]), np.array([2.5]), np.array([0]), np.array([10, 11]))
        >>> graph.to_scipy().toarray().tolist()
        [[0.0, 2.5], [0.0, 0.0]]
        """
        from scipy.sparse import csr_matrix

        n = self.n_nodes
        rows = np.repeat(np.arange(n), np.diff(self.indptr))
        # scipy sums duplicates; keep the cheapest of parallel arcs instead
        order = np.lexsort((self.weights, self.indices, rows))
        r, c, w = rows[order], self.indices[order], self.weights[order]
        keep = np.ones(len(r), dtype=bool)
        keep[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
        # scipy treats explicit zeros as missing arcs: nudge true zero costs to a tiny value
        w = np.where(w[keep] == 0, np.finfo("float64").tiny, w[keep])
        return csr_matrix((w, (r[keep], c[keep])), shape=(n, n))

    def position(self, node_ids: Any) -> np.ndarray:
        """Return the CSR positions of ``node_ids`` (raises NetworkError for unknown ids).

        Examples
        --------
        >>> graph = CSRGraph(np.array([0, 1, 1]), np.array([1]), np.array([2.5]), np.array([0]), np.array([10, 11]))
        >>> graph.position([11, 10]).tolist()
        [1, 0]
        """
        ids = np.atleast_1d(np.asarray(node_ids))
        pos = np.searchsorted(self.node_ids, ids) if _is_sorted(self.node_ids) else None
        if pos is None:
            lookup = pd.Index(self.node_ids)
            pos = lookup.get_indexer(ids)
            bad = pos < 0
        else:
            pos = np.clip(pos, 0, len(self.node_ids) - 1)
            bad = self.node_ids[pos] != ids
        if bad.any():
            raise NetworkError(
                f"unknown node id(s): {ids[bad][:5].tolist()}",
                hint="use ids from network.nodes.index.",
            )
        return pos.astype("int64")


def _check_node_positions(nodes: gpd.GeoDataFrame, kind: str) -> None:
    """Refuse nodes whose position holds NaN or infinity (nearest-node and distances would be wrong)."""
    if "geometry" not in nodes or not isinstance(nodes, gpd.GeoDataFrame) or len(nodes) == 0:
        return
    coords, row = shapely.get_coordinates(nodes.geometry.to_numpy(), return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        rows = np.unique(row[bad])
        raise GeometryError(
            f"{len(rows)} node(s) have NaN or infinite coordinates",
            layer=f"{kind} nodes",
            entity=nodes.index[rows][:5].tolist(),
            code="NET006",
            hint="repair the node positions (or the lines they come from) before building the network.",
        )


def _is_sorted(a: np.ndarray) -> bool:
    return bool(len(a) < 2 or np.all(a[1:] > a[:-1]))


class Network:
    """An infrastructure network of one kind (road, water, sewer, power).

    Parameters
    ----------
    nodes, edges
        GeoDataFrames following the module conventions, in the same CRS.
    kind
        One of ``road``, ``water``, ``sewer``, ``power``.
    report
        Topology report from the builder (components, dangles, snapped endpoints ...).

    Examples
    --------
    >>> from shapely.geometry import LineString, Point
    >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0), Point(100, 50)], crs=2154)
    >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
    ...                          geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])])
    >>> net = Network(nodes, edges, kind="road")
    >>> net
    <Network road: 3 nodes, 2 edges, 0.15 km (EPSG:2154)>
    >>> net.edges["length_m"].tolist(), len(net)
    ([100.0, 50.0], 2)
    """

    def __init__(
        self,
        nodes: gpd.GeoDataFrame,
        edges: gpd.GeoDataFrame,
        *,
        kind: str,
        report: dict[str, Any] | None = None,
    ) -> None:
        if kind not in NETWORK_KINDS:
            raise ValidationError(f"'kind' must be one of {', '.join(NETWORK_KINDS)}; {kind!r} was given.")
        for col in ("u", "v"):
            if col not in edges.columns:
                raise NetworkError(f"the edges table has no {col!r} column", layer=f"{kind} edges")
        if nodes.crs is not None and edges.crs is not None and CRS(nodes.crs) != CRS(edges.crs):
            raise NetworkError(
                "nodes and edges are in different CRSs",
                layer=kind,
                hint="reproject both to one CRS.",
            )
        edges = edges.copy()
        if "length_m" not in edges.columns:
            edges["length_m"] = edges.geometry.length.astype("float64")
        if "oneway" not in edges.columns:
            edges["oneway"] = False
        edges["oneway"] = edges["oneway"].fillna(False).astype(bool)
        _check_node_positions(nodes, kind)
        known = nodes.index
        missing = ~(edges["u"].isin(known) & edges["v"].isin(known))
        if missing.any():
            raise NetworkError(
                f"{int(missing.sum())} edge(s) reference nodes that are not in the nodes table",
                layer=kind,
                entity=edges.index[missing][:5].tolist(),
            )
        self.nodes = nodes
        self.edges = edges
        self.kind = kind
        self.report: dict[str, Any] = dict(report or {})
        self.attrs: dict[str, Any] = {}
        self._csr_cache: dict[tuple, CSRGraph] = {}

    # -- basic facts ------------------------------------------------------------------
    @property
    def crs(self) -> CRS | None:
        """The CRS of the edges (else of the nodes), or None."""
        crs = self.edges.crs if self.edges.crs is not None else self.nodes.crs
        return CRS.from_user_input(crs) if crs is not None else None

    def __len__(self) -> int:
        return len(self.edges)

    def __repr__(self) -> str:
        crs = self.crs.to_string() if self.crs is not None else "no CRS"
        return (
            f"<Network {self.kind}: {len(self.nodes)} nodes, {len(self.edges)} edges, "
            f"{self.edges['length_m'].sum() / 1000:.2f} km ({crs})>"
        )

    # -- graph arrays -------------------------------------------------------------------
    def csr(
        self,
        weight: str = "length_m",
        *,
        directed: Literal["auto", "both", "forward"] = "auto",
        edge_mask: Any = None,
    ) -> CSRGraph:
        """Compact graph arrays weighted by an edge column.

        Parameters
        ----------
        weight
            Edge column holding the cost (metres, minutes ...). NaN or infinite costs drop the arc
            (a closed road); negative costs are refused.
        directed
            ``"auto"``: ``oneway`` edges give one arc u→v, others two; ``"both"``: every edge two
            arcs; ``"forward"``: every edge u→v only.
        edge_mask
            Optional boolean array / Series over edges: False drops the edge (e.g. flooded roads).

        Returns
        -------
        CSRGraph

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0), Point(100, 50)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
        ...                          geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])])
        >>> net = Network(nodes, edges, kind="road")
        >>> net.csr("length_m").n_arcs, net.csr("length_m", directed="forward").n_arcs
        (4, 2)
        >>> net.csr("length_m", edge_mask=[True, False]).indptr.tolist()
        [0, 1, 2, 2]
        """
        key = (weight, directed)
        if edge_mask is None and key in self._csr_cache:
            return self._csr_cache[key]
        if weight not in self.edges.columns:
            raise ValidationError(
                f"'weight' must be an edge column; {weight!r} is not one of {list(self.edges.columns)}"
            )
        edges = self.edges
        w = edges[weight].to_numpy(dtype="float64")
        keep = np.isfinite(w)
        if edge_mask is not None:
            keep &= np.asarray(edge_mask, dtype=bool)
        if (w[keep] < 0).any():
            raise NetworkError(f"edge column {weight!r} holds negative costs", layer=self.kind)
        node_ids = self.nodes.index.to_numpy()
        lookup = pd.Index(node_ids)
        u = lookup.get_indexer(edges["u"].to_numpy())
        v = lookup.get_indexer(edges["v"].to_numpy())
        eid = edges.index.to_numpy()
        if directed == "forward":
            back = np.zeros(len(edges), dtype=bool)
        elif directed == "both":
            back = np.ones(len(edges), dtype=bool)
        elif directed == "auto":
            back = ~edges["oneway"].to_numpy(dtype=bool)
        else:
            raise ValidationError(f"'directed' must be one of auto, both, forward; {directed!r} was given.")
        src = np.concatenate([u[keep], v[keep & back]])
        dst = np.concatenate([v[keep], u[keep & back]])
        cost = np.concatenate([w[keep], w[keep & back]])
        ids = np.concatenate([eid[keep], eid[keep & back]])
        order = np.argsort(src, kind="stable")
        indptr = np.zeros(len(node_ids) + 1, dtype="int64")
        np.cumsum(np.bincount(src, minlength=len(node_ids)), out=indptr[1:])
        graph = CSRGraph(
            indptr=indptr,
            indices=dst[order].astype("int64"),
            weights=cost[order].astype("float64"),
            edge_ids=ids[order],
            node_ids=node_ids,
        )
        if edge_mask is None:
            self._csr_cache[key] = graph
        return graph

    # -- derived networks -----------------------------------------------------------------
    def copy(self) -> Network:
        """Return a deep copy: new node and edge tables, report and ``attrs``.

        Returns
        -------
        Network

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0], "v": [1]}, geometry=[LineString([(0, 0), (100, 0)])], crs=2154)
        >>> net = Network(nodes, edges, kind="road")
        >>> twin = net.copy()
        >>> twin.edges.loc[0, "length_m"] = 1.0
        >>> float(net.edges.loc[0, "length_m"]), twin.kind
        (100.0, 'road')
        """
        out = Network(self.nodes.copy(), self.edges.copy(), kind=self.kind, report=copy.deepcopy(self.report))
        out.attrs = copy.deepcopy(self.attrs)
        return out

    def to_crs(self, crs: Any) -> Network:
        """Return the same network in another CRS (lengths are kept as measured at build time).

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0), Point(100, 50)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
        ...                          geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])])
        >>> net = Network(nodes, edges, kind="road")
        >>> moved = net.to_crs("EPSG:32631")
        >>> moved.crs.to_epsg(), moved.edges["length_m"].tolist()
        (32631, [100.0, 50.0])
        """
        out = Network(self.nodes.to_crs(crs), self.edges.to_crs(crs), kind=self.kind, report=self.report)
        out.attrs = dict(self.attrs)
        return out

    def without_edges(self, edge_mask: Any) -> Network:
        """Return a copy without the edges where ``edge_mask`` is True (e.g. flooded roads).

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0), Point(100, 50)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
        ...                          geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])])
        >>> net = Network(nodes, edges, kind="road")
        >>> net.without_edges([False, True])
        <Network road: 3 nodes, 1 edges, 0.10 km (EPSG:2154)>
        """
        mask = np.asarray(edge_mask, dtype=bool)
        out = Network(self.nodes, self.edges.loc[~mask], kind=self.kind, report=self.report)
        out.attrs = dict(self.attrs)
        return out

    def nearest_node(self, geometries: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.DataFrame:
        """Return the nearest node of each geometry: ``node_id`` and ``distance_m``, on the input's index.

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0), Point(100, 50)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
        ...                          geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])])
        >>> net = Network(nodes, edges, kind="road")
        >>> net.nearest_node(gpd.GeoSeries([Point(90, 10), Point(100, 45)], crs=2154)).round(2)
           node_id  distance_m
        0        1       14.14
        1        2        5.00
        """
        geoms = geometries.geometry if isinstance(geometries, gpd.GeoDataFrame) else geometries
        if len(self.nodes) == 0:
            raise NetworkError("the network has no nodes", layer=self.kind)
        tree_idx = self.nodes.sindex.nearest(geoms.values, return_all=False, return_distance=True)
        (src, dst), dist = tree_idx
        out = pd.DataFrame(index=geoms.index, columns=["node_id", "distance_m"], dtype="float64")
        out.iloc[src, 0] = self.nodes.index.to_numpy()[dst]
        out.iloc[src, 1] = dist
        out["node_id"] = out["node_id"].astype(self.nodes.index.dtype)
        return out

    # -- topology summaries and conversion ---------------------------------------------------
    def components(self) -> pd.Series:
        """Return the connected component of each node (undirected; 0 = the largest), on ``nodes.index``.

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0), Point(100, 50)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
        ...                          geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])])
        >>> net = Network(nodes, edges, kind="road")
        >>> net.without_edges([False, True]).components().tolist()
        [0, 0, 1]
        """
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        n = len(self.nodes)
        lookup = pd.Index(self.nodes.index)
        u = lookup.get_indexer(self.edges["u"].to_numpy())
        v = lookup.get_indexer(self.edges["v"].to_numpy())
        _, labels = connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)), directed=False)
        # renumber by decreasing size so that 0 is the largest component
        sizes = np.bincount(labels)
        rank = np.empty(len(sizes), dtype="int64")
        rank[np.argsort(-sizes, kind="stable")] = np.arange(len(sizes))
        return pd.Series(rank[labels], index=self.nodes.index, name="component")

    def dangles(self) -> pd.Index:
        """Return the ids of the nodes with exactly one incident edge (dead ends, loose line ends).

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0), Point(100, 50)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
        ...                          geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])])
        >>> net = Network(nodes, edges, kind="road")
        >>> net.dangles().tolist()
        [0, 2]
        """
        degree = pd.concat([self.edges["u"], self.edges["v"]]).value_counts()
        return pd.Index(degree.index[degree == 1].sort_values(), name="node_id")

    def to_networkx(self, *, directed: Literal["auto", "both"] = "both") -> Any:
        """Return the network as a networkx ``MultiGraph`` or ``MultiDiGraph``.

        ``directed="both"`` gives an undirected ``MultiGraph``; ``"auto"`` a ``MultiDiGraph`` with
        one arc for ``oneway`` edges and two for the others. Node and edge attributes are copied;
        edge keys are the ``edge_id``; geometries are kept in the ``geometry`` attribute.

        Examples
        --------
        >>> from shapely.geometry import LineString, Point
        >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(100, 0), Point(100, 50)], crs=2154)
        >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
        ...                          geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])])
        >>> net = Network(nodes, edges, kind="road")
        >>> graph = net.to_networkx()
        >>> graph.number_of_nodes(), graph.number_of_edges(), graph.edges[1, 2, 1]["length_m"]
        (3, 2, 50.0)
        """
        import networkx as nx

        if directed not in ("auto", "both"):
            raise ValidationError(f"'directed' must be one of auto, both; {directed!r} was given.")
        graph = nx.MultiGraph() if directed == "both" else nx.MultiDiGraph()
        graph.graph.update({"crs": self.crs, "kind": self.kind})
        graph.add_nodes_from(zip(self.nodes.index, self.nodes.to_dict("records")))
        records = self.edges.drop(columns=["u", "v"]).to_dict("records")
        for (eid, u, v), data in zip(self.edges[["u", "v"]].itertuples(), records):
            graph.add_edge(u, v, key=eid, **data)
            if directed == "auto" and not data["oneway"]:
                graph.add_edge(v, u, key=eid, **data)
        return graph


def summarise_topology(nodes: gpd.GeoDataFrame, edges: pd.DataFrame) -> dict[str, Any]:
    """Summarise the connected components and dangles of a node/edge table pair.

    Parameters
    ----------
    nodes
        The node table, indexed by node id.
    edges
        The edge table with ``u`` and ``v`` columns holding node ids.

    Returns
    -------
    dict
        ``components`` (count), ``component_sizes`` (node counts, largest first),
        ``largest_component_share`` (share of nodes, 0-1), ``dangles`` (count of degree-1
        nodes), ``dangle_ids`` (their node ids), ``isolated_nodes`` (degree 0), and two arrays
        aligned with ``nodes``: ``degree`` (incident edges) and ``component`` (0 = the largest).
        Lists are cut to :data:`MAX_LISTED` entries. Readers pop the two arrays into node
        columns and keep the rest as ``Network.report``.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> nodes = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(10, 0), Point(20, 0), Point(50, 50)])
    >>> edges = pd.DataFrame({"u": [0, 1], "v": [1, 2]})
    >>> report = summarise_topology(nodes, edges)
    >>> report["components"], report["dangles"], report["isolated_nodes"], report["dangle_ids"]
    (2, 2, 1, [0, 2])
    >>> report["degree"].tolist(), report["component"].tolist()
    ([1, 2, 1, 0], [0, 0, 0, 1])
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(nodes)
    lookup = pd.Index(nodes.index)
    u = lookup.get_indexer(edges["u"].to_numpy())
    v = lookup.get_indexer(edges["v"].to_numpy())
    degree = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
    if n == 0:
        labels = np.zeros(0, dtype="int64")
        n_comp = 0
    else:
        adj = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
        n_comp, labels = connected_components(adj, directed=False)
    sizes = np.bincount(labels, minlength=n_comp) if n else np.zeros(0, dtype="int64")
    # renumber components by decreasing size so that component 0 is the largest
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels = rank[labels] if n else labels
    sizes = sizes[order]
    dangle_ids = nodes.index.to_numpy()[degree == 1]
    return {
        "components": int(n_comp),
        "component_sizes": sizes[:MAX_LISTED].astype(int).tolist(),
        "largest_component_share": float(sizes[0] / n) if n else 0.0,
        "dangles": len(dangle_ids),
        "dangle_ids": dangle_ids[:MAX_LISTED].astype(int).tolist(),
        "isolated_nodes": int((degree == 0).sum()),
        "degree": degree.astype("int64"),
        "component": labels.astype("int64"),
    }
