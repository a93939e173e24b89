"""What new homes put on the streets: a simple, documented trip generation and assignment.

**Generation.** Peak-hour car trips of a parcel = ``added_residents x trips_per_resident_day x
car_share x peak_hour_share``:

- :data:`TRIPS_PER_RESIDENT_DAY` = 3.15 local trips per person on a weekday (French national
  travel survey ENTD 2008, INSEE / SOeS: 3.15 local trips per person and day);
- :data:`CAR_SHARE` = 0.65, the share of local trips made by car, driver or passenger
  (ENTD 2008: about 65 %);
- :data:`PEAK_HOUR_SHARE` = 0.10, the share of a day's trips made in the peak hour (a
  conventional value of French traffic studies: the evening peak hour carries about a tenth
  of the daily traffic).

One car trip is one vehicle trip (no car occupancy applied: an upper bound for the vehicles).

**Distribution and assignment.** Each parcel's trips are shared equally among the
destinations (default: the model's POIs, where everyday trips go; pass e.g. the network's
exits instead) and follow the shortest path on ``model.network("road")`` (by ``weight``,
one-way streets honoured) from the street node nearest to the parcel to the node nearest to
each destination. Every street segment on a path carries the trips. No congestion, no mode or
destination choice: an order of magnitude of the added load, segment by segment.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimkit.analysis.scenario.impacts import ScenarioImpact, _check_new_homes, _record, _unavailable
from cimkit.errors import CoverageWarning, LayerNotFoundError

if TYPE_CHECKING:
    from cimkit.model import CityModel

__all__ = ["CAR_SHARE", "PEAK_HOUR_SHARE", "TRIPS_PER_RESIDENT_DAY", "compute_traffic_impact"]

#: Local trips per person on a weekday (ENTD 2008).
TRIPS_PER_RESIDENT_DAY = 3.15
#: Share of local trips by car, driver or passenger (ENTD 2008).
CAR_SHARE = 0.65
#: Share of the daily trips made in the peak hour.
PEAK_HOUR_SHARE = 0.10
#: How many of the most loaded segments the summary names.
TOP_SEGMENTS = 3


def _points(frame: Any) -> gpd.GeoSeries:
    geoms = frame.geometry
    return geoms.where(geoms.geom_type == "Point", geoms.representative_point())


def _assign(csr: Any, origin_trips: pd.Series, destination_share: pd.Series) -> tuple[np.ndarray, float]:
    """Trips per arc of ``csr`` along the shortest paths; also the trips that found no path.

    ``origin_trips``: trips by origin node position; ``destination_share``: share of every
    origin's trips going to each destination node position (sums to 1). One shortest-path tree
    per origin, or per destination on the reversed graph when destinations are fewer; the trips
    are pushed along each tree from its farthest nodes inwards.
    """
    from scipy.sparse.csgraph import dijkstra

    n = csr.n_nodes
    # the arc of each (tail, head) pair: the cheapest one, as scipy keeps the minimum
    tails = np.repeat(np.arange(n), np.diff(csr.indptr))
    order = np.lexsort((csr.weights, csr.indices, tails))
    pair = tails[order] * n + csr.indices[order]
    first = np.r_[True, pair[1:] != pair[:-1]]
    arc_of_pair = pd.Series(order[first], index=pair[first])
    reverse = len(destination_share) < len(origin_trips)
    roots, leaves = (destination_share, origin_trips) if reverse else (origin_trips, destination_share)
    graph = csr.to_scipy()
    dist, pred = dijkstra(
        graph.T if reverse else graph, directed=True, indices=roots.index, return_predecessors=True
    )
    load = np.zeros(csr.n_arcs)
    lost = 0.0
    for row, root in enumerate(roots.index):
        demand = np.zeros(n)
        np.add.at(demand, leaves.index.to_numpy(), leaves.to_numpy() * roots.iloc[row])
        reached = np.isfinite(dist[row])
        lost += float(demand[~reached].sum())
        demand[~reached] = 0.0
        for node in np.argsort(-np.where(reached, dist[row], -1.0)):
            if node == root or demand[node] == 0.0:
                continue
            parent = pred[row, node]
            # forward trees hold the arc parent -> node; reversed trees the arc node -> parent
            load[arc_of_pair[node * n + parent if reverse else parent * n + node]] += demand[node]
            demand[parent] += demand[node]
    return load, lost


def compute_traffic_impact(
    model: CityModel,
    new_homes: gpd.GeoDataFrame,
    *,
    destinations: gpd.GeoDataFrame | None = None,
    trips_per_resident_day: float = TRIPS_PER_RESIDENT_DAY,
    car_share: float = CAR_SHARE,
    peak_hour_share: float = PEAK_HOUR_SHARE,
    weight: str = "length_m",
) -> ScenarioImpact:
    """Compute the peak-hour car trips the new homes add to each street segment.

    Trip generation, distribution and assignment as in the module docstring: peak-hour car trips
    = residents x trips per day x car share x peak-hour share, shared equally among the
    destinations, along the shortest path on the road network.

    Parameters
    ----------
    model
        A city model with a ``road`` network (and ``pois`` when ``destinations`` is None).
    new_homes
        The scenario's new homes (see
        :func:`~cimkit.analysis.scenario.impacts.compute_flood_impact`).
    destinations
        Where the trips go (points or polygons; each receives an equal share); None: the
        model's POIs.
    trips_per_resident_day
        Trips per resident per day (default :data:`TRIPS_PER_RESIDENT_DAY`, ENTD 2008).
    car_share
        Share of the trips made by car (default :data:`CAR_SHARE`, ENTD 2008).
    peak_hour_share
        Share of the daily trips in the peak hour (default :data:`PEAK_HOUR_SHARE`).
    weight
        Edge column the paths minimise (``length_m``, or a car time column).

    Returns
    -------
    ScenarioImpact
        ``name="traffic"``; ``parcels``: ``added_peak_trips`` generated by each parcel and its
        street ``node_id``; ``tables["edges"]``: ``added_peak_trips`` per street segment (edge
        id; both directions added) with ``length_m`` and ``name`` when the network has them,
        most loaded first; ``summary``: ``added_peak_trips`` (generated), ``unrouted_peak_trips``,
        ``added_peak_vehicle_km``, ``max_segment_added_peak_trips``, ``segments_loaded`` and
        ``added_peak_trips_edge_<id>`` for the :data:`TOP_SEGMENTS` most loaded segments.

    Examples
    --------
    Three streets in a row (A - B - C - D, 100 m each), 100 new residents at A, one shop at D:
    100 x 3.15 x 0.65 x 0.10 = 20.475 peak-hour trips on each of the three streets:

    >>> import geopandas as gpd
    >>> import shapely
    >>> from shapely.geometry import LineString, Point
    >>> import cimkit
    >>> from cimkit.analysis.scenario.traffic import compute_traffic_impact
    >>> from cimkit.network.graph import Network
    >>> xy = [(651000, 6847000), (651100, 6847000), (651200, 6847000), (651300, 6847000)]
    >>> nodes = gpd.GeoDataFrame(geometry=[Point(p) for p in xy], crs=2154)
    >>> edges = gpd.GeoDataFrame({"u": [0, 1, 2], "v": [1, 2, 3]}, crs=2154,
    ...     geometry=[LineString(xy[i:i + 2]) for i in range(3)])
    >>> model = cimkit.CityModel(2154)
    >>> _ = model.add_network(Network(nodes, edges, kind="road"))
    >>> homes = gpd.GeoDataFrame(
    ...     {"added_gfa_m2": [3000.0], "added_dwellings": [45.0], "added_residents": [100.0],
    ...      "added_jobs": [0.0], "zone": ["UB"]},
    ...     geometry=[shapely.box(650980, 6846980, 651000, 6847000)], crs=2154,
    ...     index=gpd.pd.Index(["P1"], name="parcel_id"))
    >>> shop = gpd.GeoDataFrame(geometry=[Point(651300, 6847010)], crs=2154)
    >>> impact = compute_traffic_impact(model, homes, destinations=shop)
    >>> impact.tables["edges"]["added_peak_trips"].round(3).tolist()
    [20.475, 20.475, 20.475]
    >>> round(impact.summary["added_peak_vehicle_km"], 4)
    6.1425
    """
    homes = _check_new_homes(model, new_homes)
    try:
        network = model.network("road")
    except LayerNotFoundError:
        return _unavailable(
            "traffic",
            "The model has no road network: add one with model.add_network(cimkit.read_network(...)).",
        )
    if destinations is None:
        destinations = model.pois
        if destinations is None or len(destinations) == 0:
            return _unavailable("traffic", "No destinations: add a 'pois' layer or pass destinations=.")
    if weight not in network.edges.columns:
        return _unavailable("traffic", f"The road network has no {weight!r} column to route on.")
    rate = float(trips_per_resident_day) * float(car_share) * float(peak_hour_share)
    trips = homes["added_residents"].astype("float64") * rate
    origin_node = network.nearest_node(_points(homes))["node_id"]
    out = pd.DataFrame({"added_peak_trips": trips, "node_id": origin_node}, index=homes.index)
    csr = network.csr(weight, directed="auto")
    position = pd.Series(np.arange(csr.n_nodes), index=csr.node_ids)
    loaded = out[out["added_peak_trips"] > 0]
    origin_trips = loaded.groupby(position[loaded["node_id"]].to_numpy())["added_peak_trips"].sum()
    d_nodes = position[network.nearest_node(_points(destinations))["node_id"]].to_numpy()
    share = pd.Series(1.0 / len(d_nodes), index=d_nodes).groupby(level=0).sum()
    if len(origin_trips):
        arc_load, lost = _assign(csr, origin_trips, share)
    else:
        arc_load, lost = np.zeros(csr.n_arcs), 0.0
    per_edge = pd.Series(arc_load, index=csr.edge_ids).groupby(level=0).sum()
    edges = pd.DataFrame({"added_peak_trips": per_edge.reindex(network.edges.index, fill_value=0.0)})
    for column in ("length_m", "name"):
        if column in network.edges.columns:
            edges[column] = network.edges[column]
    edges = edges[edges["added_peak_trips"] > 0].sort_values(
        "added_peak_trips", ascending=False, kind="stable"
    )
    length = edges["length_m"] if "length_m" in edges else network.edges.geometry.length.reindex(edges.index)
    summary: dict[str, float] = {
        "added_peak_trips": float(trips.sum()),
        "unrouted_peak_trips": float(lost),
        "added_peak_vehicle_km": float((edges["added_peak_trips"] * length).sum() / 1000.0),
        "max_segment_added_peak_trips": float(edges["added_peak_trips"].max()) if len(edges) else 0.0,
        "segments_loaded": float(len(edges)),
    }
    for edge_id, value in edges["added_peak_trips"].head(TOP_SEGMENTS).items():
        summary[f"added_peak_trips_edge_{edge_id}"] = float(value)
    caveats = [
        f"Peak-hour car trips = residents x {trips_per_resident_day:g} trips/day (ENTD 2008) x car share "
        f"{car_share:g} (ENTD 2008) x peak-hour share {peak_hour_share:g}; one trip per car (no occupancy).",
        f"Trips shared equally among {len(d_nodes)} destination(s) and put on the shortest path by "
        f"{weight} (one-way streets honoured); no congestion, no choice of mode or destination.",
    ]
    if lost:
        message = f"{lost:.1f} peak-hour trip(s) found no path (one-way streets or a disconnected network)"
        warnings.warn(CoverageWarning(message, code="SCN303"), stacklevel=2)
        caveats.append(message + ".")
    _record(
        out,
        "traffic",
        "peak-hour car trips shared equally among the destinations, on shortest paths",
        trips_per_resident_day=trips_per_resident_day,
        car_share=car_share,
        peak_hour_share=peak_hour_share,
        weight=weight,
        destinations=len(d_nodes),
        unrouted_peak_trips=lost,
    )
    return ScenarioImpact(
        name="traffic", parcels=out, summary=summary, caveats=caveats, tables={"edges": edges}
    )
