"""Travel-time tables for the accessibility metrics: from a Network or a given matrix.

Every metric takes ``travel``: either a :class:`~cimkit.network.graph.Network` (times are then
computed on the network, door to door) or a precomputed travel-time matrix — a DataFrame of
minutes, origins as rows and destinations as columns, NaN where unreachable — for instance from
another routing engine (r5py for public transport).

Pedestrians walk both ways along one-way streets: with a ``walk_*`` weight every edge gives two
arcs; other modes follow the ``oneway`` column.

Door-to-door time on a network = access walk (origin → its nearest node, straight line at
``walk_kmh``) + network time (``weight`` column, minutes) + egress walk (destination's
nearest node → destination, same speed).
"""

from __future__ import annotations

from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from cimkit.errors import InputError, ValidationError
from cimkit.network.graph import Network

Directed = Literal["auto", "both", "forward"]

DEFAULT_WALK_KMH = 4.8  # walking speed: 15 min ≈ 1.2 km


def access_nodes(
    network: Network, features: Any, *, walk_kmh: float | None = DEFAULT_WALK_KMH
) -> pd.DataFrame:
    """Access node of each feature and the access time to it.

    Parameters
    ----------
    network
        The network the features connect to (projected CRS, metres).
    features
        GeoDataFrame / GeoSeries (snapped from the geometry's centroid, or the point itself),
        or a Series of node ids (access time 0).
    walk_kmh
        Speed of the straight-line access leg, km/h; None gives zero access time.

    Returns
    -------
    pandas.DataFrame
        On the features' index: ``node_id``, ``distance_m``, ``access_min``.
    """
    if isinstance(features, gpd.GeoDataFrame | gpd.GeoSeries):
        geoms = features.geometry if isinstance(features, gpd.GeoDataFrame) else features
        if network.crs is not None and geoms.crs is not None and network.crs != geoms.crs:
            geoms = geoms.to_crs(network.crs)
        if geoms.crs is not None and geoms.crs.is_geographic:
            raise ValidationError(
                "features are in a geographic CRS; access distances would be in degrees",
                hint="project the network and the features to a metric CRS first.",
            )
        pts = geoms.copy()
        not_point = pts.geom_type != "Point"
        if not_point.any():
            pts[not_point] = pts[not_point].centroid
        out = network.nearest_node(pts)
        if out["node_id"].isna().any():
            raise InputError(
                "some features have empty geometries and no access node",
                entity=out.index[out["node_id"].isna()][:5].tolist(),
                hint="drop features with empty geometries.",
            )
    elif isinstance(features, pd.Series):
        out = pd.DataFrame({"node_id": features.to_numpy(), "distance_m": 0.0}, index=features.index)
    else:
        ids = np.asarray(features)
        out = pd.DataFrame({"node_id": ids, "distance_m": 0.0}, index=pd.Index(ids, name="node_id"))
    speed = check_speed(walk_kmh)
    if speed is None:
        out["access_min"] = 0.0
    else:
        out["access_min"] = out["distance_m"].astype("float64") / (speed * 1000.0 / 60.0)
    return out


def _positive_finite(value: Any, *, name: str, what: str, code: str, hint: str) -> float:
    """Return ``value`` as a float, refusing text, zero, negative, NaN and infinite values (``code``)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name!r} must be {what}; {value!r} was given.", code=code) from None
    if not (np.isfinite(number) and number > 0):
        raise ValidationError(
            f"{name!r} must be finite and > 0 ({what}); {value!r} was given.", code=code, hint=hint
        )
    return number


def check_time_budget(max_time_min: Any, *, name: str = "max_time_min") -> float:
    """Return a time budget as a float, refusing zero, negative, NaN and infinite minutes.

    A budget of 0 or less reaches nothing: a score computed with it would rate every home 0
    without saying why, so it is refused with :class:`~cimkit.errors.ValidationError`.
    """
    hint = "a budget of 0 minutes or less reaches nothing: pass e.g. max_time_min=15."
    return _positive_finite(max_time_min, name=name, what="a number of minutes", code="ANA030", hint=hint)


def check_speed(speed_kmh: Any, *, name: str = "walk_kmh") -> float | None:
    """Return a speed in km/h as a float (None stays None), refusing zero, negative, NaN and infinity.

    A NaN speed would make every access time NaN, so every origin "unreachable" without a word.
    """
    if speed_kmh is None:
        return None
    hint = "pass e.g. walk_kmh=4.8, or walk_kmh=None for no access walk."
    return _positive_finite(speed_kmh, name=name, what="a speed in km/h", code="ANA031", hint=hint)


def check_destinations(destinations: Any, travel: Any) -> None:
    """Refuse an empty set of destinations (every origin would silently reach nothing)."""
    empty = destinations is not None and hasattr(destinations, "__len__") and len(destinations) == 0
    if destinations is None and isinstance(travel, pd.DataFrame):
        empty = travel.shape[1] == 0
    if empty:
        raise InputError(
            "no destinations were given (0 POIs): every origin would score as reaching nothing",
            code="ANA032",
            hint="pass the POIs (destinations=...) or a travel-time matrix with one column per destination.",
        )


def directed_for(weight: str) -> Directed:
    """Choose how edges become arcs for a travel mode.

    Pedestrians walk both ways along one-way streets (``"both"``); other modes follow
    ``oneway`` (``"auto"``).
    """
    return "both" if weight.startswith("walk") else "auto"


def check_time_weight(weight: str) -> None:
    if not weight.endswith("_min"):
        raise ValidationError(
            f"'weight' must be a travel-time column in minutes (ending in '_min'); {weight!r} was given.",
            hint="add travel times with cimkit.network.travel.compute_edge_travel_times(...).",
        )


def network_matrix(
    network: Network,
    origins: Any,
    destinations: Any,
    *,
    weight: str,
    max_time_min: float | None,
    walk_kmh: float | None,
    directed: Directed | None = None,
) -> pd.DataFrame:
    """Door-to-door minutes, origins x destinations, NaN beyond ``max_time_min`` or unreachable."""
    from cimkit.network.paths import compute_travel_times

    check_time_weight(weight)
    o = access_nodes(network, origins, walk_kmh=walk_kmh)
    d = access_nodes(network, destinations, walk_kmh=walk_kmh)
    uo = pd.unique(o["node_id"].to_numpy())
    ud = pd.unique(d["node_id"].to_numpy())
    mode = directed if directed is not None else directed_for(weight)
    tt = compute_travel_times(
        network, uo, ud, weight=weight, max_time_min=max_time_min, directed=mode
    ).to_numpy()
    ri = pd.Index(uo).get_indexer(o["node_id"].to_numpy())
    ci = pd.Index(ud).get_indexer(d["node_id"].to_numpy())
    full = tt[np.ix_(ri, ci)] + o["access_min"].to_numpy()[:, None] + d["access_min"].to_numpy()[None, :]
    if max_time_min is not None:
        full[full > max_time_min] = np.nan
    return pd.DataFrame(full, index=o.index, columns=d.index)


def given_matrix(matrix: pd.DataFrame, origins: Any, destinations: Any) -> pd.DataFrame:
    """Restrict the given matrix to the ``origins`` rows / ``destinations`` columns when given."""
    if not isinstance(matrix, pd.DataFrame):
        raise ValidationError(
            f"'travel' must be a Network or a DataFrame of minutes; {type(matrix).__name__} was given."
        )
    out = matrix
    for axis, sel, what in ((0, origins, "origins"), (1, destinations, "destinations")):
        if sel is None:
            continue
        labels = sel.index if isinstance(sel, pd.Series | pd.DataFrame) else pd.Index(sel)
        have = out.index if axis == 0 else out.columns
        missing = labels.difference(have)
        if len(missing):
            raise InputError(
                f"{len(missing)} {what} are not in the travel-time matrix",
                entity=list(missing[:5]),
                hint=f"the matrix {'rows' if axis == 0 else 'columns'} must be the {what}' index labels.",
            )
        out = out.loc[labels] if axis == 0 else out.loc[:, labels]
    values = out.to_numpy(dtype="float64")
    if (values < 0).any():
        raise InputError("the travel-time matrix holds negative times")
    return pd.DataFrame(values, index=out.index, columns=out.columns)


def resolve_matrix(
    travel: Network | pd.DataFrame,
    origins: Any,
    destinations: Any,
    *,
    weight: str,
    max_time_min: float | None,
    walk_kmh: float | None,
) -> pd.DataFrame:
    """Minutes, origins x destinations: computed on a Network, or taken from a given matrix."""
    if isinstance(travel, Network):
        if origins is None or destinations is None:
            raise ValidationError("with a Network, both origins and destinations must be given.")
        return network_matrix(
            travel, origins, destinations, weight=weight, max_time_min=max_time_min, walk_kmh=walk_kmh
        )
    m = given_matrix(travel, origins, destinations)
    if max_time_min is not None:
        m = m.where(m <= max_time_min)
    return m


def destination_values(
    values: Any, destinations: Any, columns: pd.Index, *, what: str = "opportunities"
) -> np.ndarray:
    """Per-destination values aligned on the matrix columns (None: 1 each; str: a column)."""
    if values is None:
        return np.ones(len(columns))
    if isinstance(values, str):
        if not isinstance(destinations, pd.DataFrame) or values not in destinations.columns:
            raise ValidationError(
                f"{what}={values!r} names a column, but the destinations have no such column",
                hint="pass a Series indexed like the destinations instead.",
            )
        series = destinations[values]
    elif isinstance(values, pd.Series):
        series = values
    else:
        arr = np.asarray(values, dtype="float64").reshape(-1)
        if len(arr) != len(columns):
            raise ValidationError(f"{what}: {len(arr)} values for {len(columns)} destinations.")
        return arr
    missing = columns.difference(series.index)
    if len(missing):
        raise InputError(
            f"{what}: no value for {len(missing)} destination(s)",
            entity=list(missing[:5]),
            hint="index the values like the destinations / matrix columns.",
        )
    arr = series.reindex(columns).to_numpy(dtype="float64")
    if np.isnan(arr).any():
        raise InputError(f"{what} holds NaN values", hint="fill missing values with 0.")
    return arr
