"""Accessibility metrics: nearest facility, cumulative opportunities, gravity, 2SFCA, 15-minute score.

Every metric takes ``travel`` — a :class:`~cimkit.network.graph.Network` (door-to-door minutes
computed on its ``weight`` column, with a straight-line access walk at both ends) or a
precomputed travel-time matrix (DataFrame of minutes, origins x destinations, NaN unreachable).
Results are on the origins' index (buildings through their access node, or the matrix rows).
Formulas: see ``docs/accessibility.md`` and the module docstrings of :mod:`.decay`.

For a flood scenario, call the same metric with the flooded network (time columns NaN on closed
edges) and compare with :func:`accessibility_loss`.

Examples
--------
With a travel-time matrix (minutes; homes x services):

>>> import pandas as pd
>>> from cimkit.analysis.accessibility import (binary, cumulative_opportunities,
...     fifteen_minute_score, gravity_accessibility, linear, nearest_facility_time, two_step_fca)
>>> t = pd.DataFrame([[2.0, 8.0, 16.0], [12.0, 4.0, None]], index=["h1", "h2"],
...                  columns=["s1", "s2", "s3"])
>>> jobs = pd.Series([10.0, 20.0, 30.0], index=t.columns)
>>> cumulative_opportunities(t, opportunities=jobs, thresholds=(5, 15))["within_15_min"].tolist()
[30.0, 30.0]
>>> gravity_accessibility(t, opportunities=jobs, decay=linear(20)).round(6).tolist()  # 10*0.9 + 20*0.6 + 30*0.2
[27.0, 20.0]
>>> kinds = pd.DataFrame({"category": ["school", "bakery", "doctor"]}, index=t.columns)
>>> nearest_facility_time(t, facilities=kinds)["school_min"].tolist()
[2.0, 12.0]
>>> groups = {"education": ["school"], "food": ["bakery"], "health": ["doctor"]}
>>> fifteen_minute_score(t, facilities=kinds, categories=groups, threshold_min=10)["score"].round(3).tolist()
[0.667, 0.333]
>>> places = pd.Series([10.0, 30.0, 0.0], index=t.columns)
>>> children = pd.Series([100.0, 200.0], index=t.index)
>>> a = two_step_fca(t, places, children, decay=binary(10))
>>> float((a * children).sum())  # all supply reachable: sum of A_i P_i = sum of S_j
40.0
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from cimkit.analysis.accessibility._travel import (
    DEFAULT_ACCESS_SPEED_KMH,
    access_nodes,
    check_time_weight,
    destination_values,
    directed_for,
    given_matrix,
    resolve_matrix,
)
from cimkit.analysis.accessibility.decay import DecayFunction, binary, negative_exponential
from cimkit.errors import InputError, ValidationError
from cimkit.network.graph import Network

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CATEGORIES",
    "accessibility_loss",
    "cumulative_opportunities",
    "fifteen_minute_score",
    "gravity_accessibility",
    "nearest_facility_time",
    "summarise_by_zone",
    "two_step_fca",
]

#: Service groups of the 15-minute score and the POI categories that satisfy each.
#: A convention of this library (there is no single standard; Moreno et al. 2021, "Introducing
#: the 15-minute city", Smart Cities 4(1), name living, working, commerce, healthcare,
#: education and entertainment as the social functions).
DEFAULT_CATEGORIES: dict[str, list[str]] = {
    "education": ["school", "childcare"],
    "health": ["doctor", "pharmacy"],
    "food": ["supermarket", "bakery"],
    "shopping": ["shop"],
    "leisure": ["park", "sports", "library"],
    "transport": ["bus_stop"],
}


def _categories_of(facilities: Any, category_column: str, columns: pd.Index | None) -> pd.Series:
    """Category of every facility (matrix columns when ``columns`` is given)."""
    if facilities is None:
        idx = columns if columns is not None else pd.Index([])
        return pd.Series("facility", index=idx)
    if isinstance(facilities, pd.DataFrame):
        if category_column not in facilities.columns:
            raise ValidationError(
                f"the facilities have no {category_column!r} column; columns are {list(facilities.columns)}",
                hint="set category_column=... or add a category column.",
            )
        cats = facilities[category_column]
    elif isinstance(facilities, pd.Series):
        cats = facilities
    else:
        raise ValidationError("'facilities' must be a (Geo)DataFrame with a category column or a Series.")
    if columns is not None:
        missing = columns.difference(cats.index)
        if len(missing):
            raise InputError(
                f"{len(missing)} matrix columns have no facility category",
                entity=list(missing[:5]),
                hint="index the facilities like the travel-time matrix columns.",
            )
        cats = cats.reindex(columns)
    return cats.astype(str)


def nearest_facility_time(
    travel: Network | pd.DataFrame,
    origins: Any = None,
    facilities: Any = None,
    *,
    categories: Sequence[str] | None = None,
    category_column: str = "category",
    k: int = 1,
    cutoff_min: float | None = None,
    weight: str = "walk_time_min",
    access_speed_kmh: float | None = DEFAULT_ACCESS_SPEED_KMH,
) -> pd.DataFrame:
    """Travel time to the ``k`` nearest facilities of each category, per origin.

    Parameters
    ----------
    travel
        Network or travel-time matrix (minutes; rows origins, columns facilities).
    origins
        Buildings (GeoDataFrame, snapped through their centroid) or node ids; with a matrix,
        optional row selection.
    facilities
        POIs with a category column (GeoDataFrame), or a Series of categories indexed like the
        matrix columns. None with a matrix: every column is one category ``"facility"``.
    categories
        Categories to report (default: all present).
    category_column
        Column holding the category.
    k
        Number of nearest facilities per category.
    cutoff_min
        Longest time searched (minutes); farther facilities are NaN.
    weight
        Network time column in minutes (``walk_time_min``, ``bike_time_min``, ``car_time_min``).
    access_speed_kmh
        Speed of the straight-line access/egress legs (km/h); None for none.

    Returns
    -------
    pandas.DataFrame
        One row per origin; columns ``<category>_min`` (k=1) or ``<category>_<i>_min``; NaN when
        no facility is reachable (within the cut-off).
    """
    if int(k) != k or k < 1:
        raise ValidationError(f"'k' must be an integer >= 1; {k!r} was given.")
    k = int(k)
    if isinstance(travel, Network):
        return _nearest_on_network(
            travel, origins, facilities, categories, category_column, k, cutoff_min, weight, access_speed_kmh
        )
    matrix = given_matrix(travel, origins, None)
    cats = _categories_of(facilities, category_column, matrix.columns)
    wanted = list(categories) if categories is not None else sorted(cats.unique())
    out: dict[str, np.ndarray] = {}
    values = matrix.to_numpy()
    for cat in wanted:
        sub = values[:, (cats == cat).to_numpy()]
        sub = np.where(np.isnan(sub), np.inf, sub)
        if cutoff_min is not None:
            sub = np.where(sub <= cutoff_min, sub, np.inf)
        best = np.sort(sub, axis=1)[:, :k] if sub.shape[1] else np.full((len(values), 0), np.inf)
        if best.shape[1] < k:
            best = np.hstack([best, np.full((len(values), k - best.shape[1]), np.inf)])
        best = np.where(np.isinf(best), np.nan, best)
        for i in range(k):
            out[f"{cat}_min" if k == 1 else f"{cat}_{i + 1}_min"] = best[:, i]
    return pd.DataFrame(out, index=matrix.index)


def _nearest_on_network(network, origins, facilities, categories, category_column, k, cutoff, weight, speed):
    from cimkit.network.paths import nearest

    check_time_weight(weight)
    if origins is None or facilities is None:
        raise ValidationError("with a Network, both origins and facilities must be given.")
    o = access_nodes(network, origins, access_speed_kmh=speed)
    f = access_nodes(network, facilities, access_speed_kmh=speed)
    cats = _categories_of(facilities, category_column, None).reindex(f.index)
    wanted = list(categories) if categories is not None else sorted(cats.unique())
    csr = network.csr(weight, directed=directed_for(weight))
    uo = pd.unique(o["node_id"].to_numpy())
    rows = pd.Index(uo).get_indexer(o["node_id"].to_numpy())
    out: dict[str, np.ndarray] = {}
    for cat in wanted:
        sel = (cats == cat).to_numpy()
        if sel.any():
            res = nearest(
                csr,
                f.loc[sel, "node_id"],
                uo,
                k=k,
                cutoff=cutoff,
                facility_cost=f.loc[sel, "access_min"].to_numpy(),
            )
            cost = res[["cost"] if k == 1 else [f"cost_{i + 1}" for i in range(k)]].to_numpy()
            cost = cost[rows] + o["access_min"].to_numpy()[:, None]
            if cutoff is not None:
                cost[cost > cutoff] = np.nan
        else:
            cost = np.full((len(o), k), np.nan)
        for i in range(k):
            out[f"{cat}_min" if k == 1 else f"{cat}_{i + 1}_min"] = cost[:, i]
    return pd.DataFrame(out, index=o.index)


def _thresholds(thresholds: float | Sequence[float]) -> list[float]:
    th = [float(t) for t in (thresholds if isinstance(thresholds, Sequence) else [thresholds])]
    if not th or any(not (t >= 0 and math.isfinite(t)) for t in th):
        raise ValidationError(f"'thresholds' must be finite minutes >= 0; {thresholds!r} was given.")
    return th


def _label(t: float) -> str:
    return f"{int(t)}" if float(t).is_integer() else f"{t:g}"


def cumulative_opportunities(
    travel: Network | pd.DataFrame,
    origins: Any = None,
    destinations: Any = None,
    *,
    opportunities: Any = None,
    thresholds: float | Sequence[float] = (5, 10, 15, 20),
    weight: str = "walk_time_min",
    access_speed_kmh: float | None = DEFAULT_ACCESS_SPEED_KMH,
) -> pd.DataFrame:
    """Opportunities reachable within each threshold: ``A_i = sum_j O_j * 1[t_ij <= T]``.

    Parameters
    ----------
    travel
        Network or travel-time matrix (minutes, origins x destinations).
    origins, destinations
        Buildings / POIs (GeoDataFrames) or node ids; with a matrix, optional selections.
    opportunities
        Per-destination amounts: None (count destinations), a column name of ``destinations``
        (e.g. ``"jobs"``), or a Series indexed like the destinations.
    thresholds
        Minutes; inclusive.
    weight, access_speed_kmh
        See :func:`nearest_facility_time`.

    Returns
    -------
    pandas.DataFrame
        One row per origin, columns ``within_<T>_min``.
    """
    th = _thresholds(thresholds)
    m = resolve_matrix(
        travel, origins, destinations, weight=weight, cutoff=max(th), access_speed_kmh=access_speed_kmh
    )
    o = destination_values(opportunities, destinations, m.columns)
    t = m.to_numpy()
    out = {f"within_{_label(T)}_min": np.where(t <= T, 1.0, 0.0) @ o for T in th}
    return pd.DataFrame(out, index=m.index)


def gravity_accessibility(
    travel: Network | pd.DataFrame,
    origins: Any = None,
    destinations: Any = None,
    *,
    opportunities: Any = None,
    decay: DecayFunction | None = None,
    cutoff_min: float | None = None,
    weight: str = "walk_time_min",
    access_speed_kmh: float | None = DEFAULT_ACCESS_SPEED_KMH,
) -> pd.Series:
    """Gravity (Hansen 1959) accessibility ``A_i = sum_j O_j * f(t_ij)``.

    Parameters
    ----------
    travel, origins, destinations, opportunities
        As for :func:`cumulative_opportunities`.
    decay
        Decay function of minutes (default ``negative_exponential(0.1)``); see :mod:`.decay`.
    cutoff_min
        Destinations beyond it are ignored (minutes). Default: the decay's support (finite for
        binary and linear), otherwise no cut-off.
    weight, access_speed_kmh
        See :func:`nearest_facility_time`.

    Returns
    -------
    pandas.Series
        ``gravity`` on the origins' index (opportunity units).
    """
    f = decay if decay is not None else negative_exponential(0.1)
    if not isinstance(f, DecayFunction):
        raise ValidationError("'decay' must come from cimkit.analysis.accessibility.decay (e.g. linear(30)).")
    cut = cutoff_min if cutoff_min is not None else (f.support if math.isfinite(f.support) else None)
    m = resolve_matrix(
        travel, origins, destinations, weight=weight, cutoff=cut, access_speed_kmh=access_speed_kmh
    )
    o = destination_values(opportunities, destinations, m.columns)
    return pd.Series(f(m.to_numpy()) @ o, index=m.index, name="gravity")


def two_step_fca(
    travel: Network | pd.DataFrame,
    supply: Any,
    demand: Any,
    *,
    supply_column: str = "capacity",
    demand_column: str = "residents",
    decay: DecayFunction | None = None,
    weight: str = "walk_time_min",
    access_speed_kmh: float | None = DEFAULT_ACCESS_SPEED_KMH,
) -> pd.Series:
    """Two-step floating catchment area (Luo & Wang 2003; with decay: Luo & Qi 2009).

    Step 1, for each supply site j: ``R_j = S_j / sum_k P_k f(t_kj)``.
    Step 2, for each demand location i: ``A_i = sum_j R_j f(t_ij)``.

    With a binary decay and every supply site reachable by some demand,
    ``sum_i A_i P_i = sum_j S_j``. A site nobody reaches gets no ratio (its supply is lost).

    Luo, W. & Wang, F. (2003). Measures of spatial accessibility to health care in a GIS
    environment. Environment and Planning B 30(6), 865-884. Luo, W. & Qi, Y. (2009). An enhanced
    two-step floating catchment area (E2SFCA) method. Health & Place 15(4), 1100-1107.

    Parameters
    ----------
    travel
        Network, or matrix of minutes with demand locations as rows and supply sites as columns.
    supply
        Supply sites: a (Geo)DataFrame with ``supply_column`` (e.g. school places), or a Series
        of amounts indexed like the matrix columns.
    demand
        Demand locations: a (Geo)DataFrame with ``demand_column`` (e.g. residents, pupils), or a
        Series of amounts indexed like the matrix rows.
    supply_column, demand_column
        Column names used when DataFrames are given.
    decay
        Catchment decay (default ``binary(15)`` minutes).
    weight, access_speed_kmh
        See :func:`nearest_facility_time`.

    Returns
    -------
    pandas.Series
        ``supply_ratio`` (supply per unit of demand) on the demand index.
    """
    f = decay if decay is not None else binary(15.0)
    if not isinstance(f, DecayFunction):
        raise ValidationError("'decay' must come from cimkit.analysis.accessibility.decay (e.g. binary(15)).")
    cut = f.support if math.isfinite(f.support) else None
    if isinstance(travel, Network):
        m = resolve_matrix(
            travel, demand, supply, weight=weight, cutoff=cut, access_speed_kmh=access_speed_kmh
        )
    else:
        rows = demand.index if isinstance(demand, pd.Series | pd.DataFrame) else None
        cols = supply.index if isinstance(supply, pd.Series | pd.DataFrame) else None
        m = given_matrix(travel, rows, cols)
    s = _amounts(supply, supply_column, m.columns, "supply")
    p = _amounts(demand, demand_column, m.index, "demand")
    w = f(m.to_numpy())
    catch = p @ w  # sum_k P_k f(t_kj), per supply site
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(catch > 0, s / catch, 0.0)
    unreached = (catch <= 0) & (s > 0)
    if unreached.any():
        logger.info(
            "2SFCA: %d supply site(s) reach no demand; their supply is not allocated", unreached.sum()
        )
    return pd.Series(w @ ratio, index=m.index, name="supply_ratio")


def _amounts(obj: Any, column: str, labels: pd.Index, what: str) -> np.ndarray:
    if isinstance(obj, pd.DataFrame):
        if column not in obj.columns:
            raise ValidationError(
                f"the {what} table has no {column!r} column; columns are {list(obj.columns)}"
            )
        obj = obj[column]
    if not isinstance(obj, pd.Series):
        raise ValidationError(f"'{what}' must be a DataFrame with {column!r} or a Series of amounts.")
    arr = obj.reindex(labels).to_numpy(dtype="float64")
    if np.isnan(arr).any() or (arr < 0).any():
        raise InputError(f"{what} amounts must be >= 0 and present for every {what} location")
    return arr


def fifteen_minute_score(
    travel: Network | pd.DataFrame,
    origins: Any = None,
    facilities: Any = None,
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
    weights: Mapping[str, float] | None = None,
    threshold_min: float = 15.0,
    category_column: str = "category",
    weight: str = "walk_time_min",
    access_speed_kmh: float | None = DEFAULT_ACCESS_SPEED_KMH,
) -> pd.DataFrame:
    """15-minute-city score: weighted share of service groups whose nearest instance is in reach.

    ``score_i = sum_g w_g * 1[min_{c in g} t_i,c <= T] / sum_g w_g`` with the groups ``g`` of
    ``categories`` (default :data:`DEFAULT_CATEGORIES`: education, health, food, shopping, leisure,
    transport), equal weights unless ``weights`` is given, and ``T = threshold_min`` (15 min; at
    the default walking speed of 4.8 km/h about 1.2 km). A group with no facility at all in the
    data counts as not reached.

    Parameters
    ----------
    travel, origins, facilities
        As for :func:`nearest_facility_time`.
    categories
        Group name → POI categories satisfying it.
    weights
        Group name → weight (default 1 each); groups missing from ``weights`` weigh 0.
    threshold_min
        Threshold in minutes (inclusive).
    category_column, weight, access_speed_kmh
        See :func:`nearest_facility_time`.

    Returns
    -------
    pandas.DataFrame
        On the origins' index: ``<group>_min`` (time to the nearest facility of the group),
        ``groups_reached`` (count) and ``score`` (0-1).
    """
    groups = dict(categories) if categories is not None else DEFAULT_CATEGORIES
    if not groups:
        raise ValidationError("'categories' must name at least one service group.")
    w = {g: 1.0 for g in groups} if weights is None else {g: float(weights.get(g, 0.0)) for g in groups}
    if sum(w.values()) <= 0 or any(v < 0 for v in w.values()):
        raise ValidationError(f"'weights' must be >= 0 with a positive sum; {weights!r} was given.")
    all_cats = sorted({c for cs in groups.values() for c in cs})
    near = nearest_facility_time(
        travel,
        origins,
        facilities,
        categories=all_cats,
        category_column=category_column,
        k=1,
        weight=weight,
        access_speed_kmh=access_speed_kmh,
    )
    out = pd.DataFrame(index=near.index)
    score = np.zeros(len(near))
    reached = np.zeros(len(near), dtype="int64")
    for g, cats in groups.items():
        t = near[[f"{c}_min" for c in cats]].min(axis=1, skipna=True).to_numpy()
        out[f"{g}_min"] = t
        ok = t <= threshold_min
        reached += ok
        score += w[g] * ok
    out["groups_reached"] = reached
    out["score"] = score / sum(w.values())
    return out


def summarise_by_zone(
    values: pd.Series | pd.DataFrame,
    zones: pd.Series,
    *,
    stats: Sequence[Literal["mean", "median", "min", "max", "count"]] = ("mean", "median"),
) -> pd.DataFrame:
    """Per-zone statistics of per-building results.

    Parameters
    ----------
    values
        Per-building results (Series or DataFrame) on the buildings' index.
    zones
        Zone id of each building (Series on the buildings' index; e.g. a spatial join with the
        PLU zoning). Buildings without a zone (NaN) are left out.
    stats
        Statistics to compute (NaN values, e.g. unreachable, are skipped).

    Returns
    -------
    pandas.DataFrame
        Indexed by zone id; columns ``<column>_<stat>`` (or ``<stat>`` for a Series).
    """
    frame = values.to_frame() if isinstance(values, pd.Series) else values
    z = zones.reindex(frame.index)
    if z.isna().all():
        raise InputError("no building has a zone", hint="zones must be indexed like the results.")
    grouped = frame.groupby(z.rename("zone_id"))
    res = grouped.agg(list(stats))
    if isinstance(values, pd.Series):
        res.columns = [s for _, s in res.columns]
    else:
        res.columns = [f"{c}_{s}" for c, s in res.columns]
    return res


def accessibility_loss(
    base: pd.Series | pd.DataFrame,
    flooded: pd.Series | pd.DataFrame,
    *,
    kind: Literal["time", "opportunities"] = "time",
) -> pd.DataFrame:
    """Loss of accessibility per building between a base and a flooded (or other) scenario.

    Parameters
    ----------
    base, flooded
        The same metric computed on the base network and on the network with closed edges
        (same index and columns), e.g. :func:`nearest_facility_time` or
        :func:`fifteen_minute_score`.
    kind
        ``"time"``: loss = flooded - base minutes; a destination that becomes unreachable gives
        ``inf``; ``"opportunities"`` (counts, gravity, scores): loss = base - flooded.

    Returns
    -------
    pandas.DataFrame
        ``<column>_loss`` per column, plus ``cut_off`` (True where something reachable in the
        base is unreachable in the flooded scenario) for ``kind="time"``.
    """
    b = base.to_frame() if isinstance(base, pd.Series) else base
    f = flooded.to_frame() if isinstance(flooded, pd.Series) else flooded
    if not b.index.equals(f.index) or list(b.columns) != list(f.columns):
        raise InputError(
            "base and flooded results differ in index or columns",
            hint="compute both with the same origins and options.",
        )
    if kind == "time":
        bv = b.to_numpy(dtype="float64")
        fv = f.to_numpy(dtype="float64")
        lost = ~np.isnan(bv) & np.isnan(fv)
        loss = np.where(lost, np.inf, fv - bv)
        out = pd.DataFrame(loss, index=b.index, columns=[f"{c}_loss" for c in b.columns])
        out["cut_off"] = lost.any(axis=1)
        return out
    if kind == "opportunities":
        num = b.select_dtypes("number").columns
        return (b[num] - f[num]).add_suffix("_loss")
    raise ValidationError(f"'kind' must be one of time, opportunities; {kind!r} was given.")
