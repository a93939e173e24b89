"""Isochrone polygons: the area reachable from points within travel-time thresholds.

Method (network-buffer isochrone): one bounded search per point on the network's time column;
every arc whose start node is reached in ``t0 <= T`` minutes contributes the part of its edge
travelled in the remaining ``T - t0`` minutes — the whole edge when ``t0 + t_edge <= T``,
otherwise the piece from that end of length ``(T - t0) / t_edge`` of the edge (speed assumed
uniform along an edge, the line cut with :func:`shapely.ops.substring`). One-way edges are only
entered from their start, except on foot (``walk_*`` weights: pedestrians use both directions). The reached lines are buffered by ``buffer_m`` metres (the walkable
band either side of the street) and dissolved into one (multi)polygon per point and threshold.
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
    DEFAULT_ACCESS_SPEED_KMH,
    access_nodes,
    check_time_weight,
    directed_for,
)
from cimkit.errors import ValidationError
from cimkit.network.graph import Network

__all__ = ["isochrones"]


def isochrones(
    network: Network,
    points: Any,
    thresholds: float | Sequence[float] = (5, 10, 15),
    *,
    weight: str = "walk_time_min",
    buffer_m: float = 25.0,
    access_speed_kmh: float | None = DEFAULT_ACCESS_SPEED_KMH,
) -> gpd.GeoDataFrame:
    """Areas reachable from each point within each threshold, as polygons.

    Parameters
    ----------
    network
        Road network in a projected CRS, with the ``weight`` column in minutes.
    points
        GeoDataFrame / GeoSeries of origins (snapped to their nearest node; the straight-line
        access walk is deducted from the budget) or a Series / array of node ids.
    thresholds
        Travel-time budgets, minutes.
    weight
        Edge time column (``walk_time_min``, ``bike_time_min`` ...).
    buffer_m
        Half-width of the band around reached streets, metres.
    access_speed_kmh
        Speed of the access walk to the first node (km/h); None for none.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per (point, threshold): columns ``origin`` (the point's index label),
        ``threshold_min``, ``reached_length_m`` (street length reached) and the polygon, in the
        network's CRS. Empty geometry when the budget is spent on the access walk.
    """
    from cimkit.network.paths import travel_times

    check_time_weight(weight)
    th = sorted(float(t) for t in (thresholds if isinstance(thresholds, Sequence) else [thresholds]))
    if not th or th[0] < 0 or not np.isfinite(th[-1]):
        raise ValidationError(f"'thresholds' must be finite minutes >= 0; {thresholds!r} was given.")
    if not buffer_m > 0:
        raise ValidationError(f"'buffer_m' must be > 0 metres; {buffer_m!r} was given.")
    acc = access_nodes(network, points, access_speed_kmh=access_speed_kmh)
    csr = network.csr(weight, directed=directed_for(weight))
    n = csr.n_nodes
    arc_src = np.repeat(np.arange(n), np.diff(csr.indptr))
    edges = network.edges
    epos = edges.index.get_indexer(csr.edge_ids)
    geoms = edges.geometry.to_numpy()[epos]
    lengths = shapely.length(geoms)
    from_u = edges["u"].to_numpy()[epos] == csr.node_ids[arc_src]
    uniq = pd.unique(acc["node_id"].to_numpy())
    times = travel_times(csr, uniq, None, cutoff=th[-1]).to_numpy()
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
                {"origin": label, "threshold_min": T, "reached_length_m": reached_len, "geometry": poly}
            )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=network.crs)
