"""Isochrone polygons: the area reachable from origins within travel-time budgets.

Method (network-buffer isochrone): one bounded search per origin on the network's time column;
every arc whose start node is reached in ``t0 <= T`` minutes contributes the part of its edge
travelled in the remaining ``T - t0`` minutes — the whole edge when ``t0 + t_edge <= T``,
otherwise the piece from that end of length ``(T - t0) / t_edge`` of the edge (speed assumed
uniform along an edge, the line cut with :func:`shapely.ops.substring`). One-way edges are only
entered from their start, except on foot (``walk_*`` weights: pedestrians use both
directions). The reached lines are buffered by ``buffer_m`` metres (the walkable band either side
of the street) and dissolved into one (multi)polygon per origin and time budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from cimkit.analysis.accessibility._travel import (
    DEFAULT_WALK_KMH,
    access_nodes,
    check_time_weight,
    directed_for,
)
from cimkit.errors import ValidationError
from cimkit.network.graph import Network

__all__ = ["compute_isochrones"]


def compute_isochrones(
    network: Network,
    origins: Any,
    max_time_min: float | Sequence[float] = (5, 10, 15),
    *,
    weight: str = "walk_time_min",
    buffer_m: float = 25.0,
    walk_kmh: float | None = DEFAULT_WALK_KMH,
) -> gpd.GeoDataFrame:
    """Areas reachable from each origin within each time budget, as polygons.

    Parameters
    ----------
    network
        Road network in a projected CRS, with the ``weight`` column in minutes.
    origins
        GeoDataFrame / GeoSeries of origins (snapped to their nearest node; the straight-line
        access walk is deducted from the budget) or a Series / array of node ids.
    max_time_min
        One or more travel-time budgets, minutes.
    weight
        Edge time column (``walk_time_min``, ``bike_time_min`` ...).
    buffer_m
        Half-width of the band around reached streets, metres.
    walk_kmh
        Speed of the access walk to the first node (km/h); None for none.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per (origin, budget): columns ``origin`` (the origin's index label),
        ``max_time_min``, ``reached_length_m`` (street length reached) and the polygon, in the
        network's CRS. Empty geometry when the budget is spent on the access walk.

    Examples
    --------
    A 200 m street walked at 80 m/min from its west end: 2 minutes reach 160 m of it:

    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from cimkit.analysis.accessibility import compute_isochrones
    >>> from cimkit.network import Network
    >>> nodes = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (100, 0), (200, 0)]), crs=2154)
    >>> edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2]}, crs=2154,
    ...     geometry=shapely.linestrings([[(0, 0), (100, 0)], [(100, 0), (200, 0)]]))
    >>> edges["walk_time_min"] = edges.length / 80.0
    >>> iso = compute_isochrones(Network(nodes, edges, kind="road"), pd.Series([0], index=["home"]),
    ...                          max_time_min=[2, 5], buffer_m=10)
    >>> iso["max_time_min"].tolist(), iso["reached_length_m"].round(1).tolist()
    ([2.0, 5.0], [160.0, 200.0])
    >>> round(iso.geometry.area.iloc[0])  # 160 m x 20 m band + round ends (polygons of a 10 m circle)
    3512
    """
    from cimkit.network.paths import compute_travel_times

    check_time_weight(weight)
    th = sorted(float(t) for t in (max_time_min if isinstance(max_time_min, Sequence) else [max_time_min]))
    if not th or th[0] < 0 or not np.isfinite(th[-1]):
        raise ValidationError(f"'max_time_min' must be finite minutes >= 0; {max_time_min!r} was given.")
    if not buffer_m > 0:
        raise ValidationError(f"'buffer_m' must be > 0 metres; {buffer_m!r} was given.")
    acc = access_nodes(network, origins, walk_kmh=walk_kmh)
    csr = network.csr(weight, directed=directed_for(weight))
    n = csr.n_nodes
    arc_src = np.repeat(np.arange(n), np.diff(csr.indptr))
    edges = network.edges
    epos = edges.index.get_indexer(csr.edge_ids)
    geoms = edges.geometry.to_numpy()[epos]
    lengths = shapely.length(geoms)
    from_u = edges["u"].to_numpy()[epos] == csr.node_ids[arc_src]
    uniq = pd.unique(acc["node_id"].to_numpy())
    times = compute_travel_times(csr, uniq, None, max_time_min=th[-1]).to_numpy()
    rows: list[dict[str, Any]] = []
    for label, node, start in zip(acc.index, acc["node_id"], acc["access_min"]):
        dist = times[pd.Index(uniq).get_loc(node)] + start
        d0 = dist[arc_src]
        for T in th:
            reach = d0 <= T
            w = csr.weights[reach]
            frac = np.where(w > 0, np.minimum(1.0, (T - d0[reach]) / np.where(w > 0, w, 1.0)), 1.0)
            g = geoms[reach]
            pieces = g.copy()
            partial = np.flatnonzero(frac < 1.0)
            fu = from_u[reach]
            for i in partial:
                L = lengths[reach][i]
                if fu[i]:
                    pieces[i] = substring(g[i], 0.0, frac[i] * L)
                else:
                    pieces[i] = substring(g[i], (1.0 - frac[i]) * L, L)
            if start <= T:
                node_pt = network.nodes.geometry.loc[node]
                parts = np.concatenate(
                    [shapely.buffer(pieces, buffer_m), [shapely.buffer(node_pt, buffer_m)]]
                )
                poly = shapely.union_all(parts)
                # a two-way street may be entered from both ends: pieces add up, capped at its length
                eid = csr.edge_ids[reach]
                piece = pd.Series(shapely.length(pieces), index=eid).groupby(level=0).sum()
                full = pd.Series(lengths[reach], index=eid).groupby(level=0).first()
                reached_len = float(np.minimum(piece, full.reindex(piece.index)).sum())
            else:
                poly = shapely.Polygon()
                reached_len = 0.0
            rows.append(
                {"origin": label, "max_time_min": T, "reached_length_m": reached_len, "geometry": poly}
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=network.crs)
