"""The 15-minute score, per-zone summaries and the loss between two scenarios.

For a flood scenario, compute the same metric on the network with its flooded edges closed (time
columns NaN on closed edges, see :func:`cimkit.analysis.flood.close_flooded_edges`) and compare the
two with :func:`compute_access_loss`.

Examples
--------
>>> import pandas as pd
>>> from cimkit.analysis.accessibility import compute_fifteen_minute_score
>>> t = pd.DataFrame([[2.0, 8.0, 16.0], [12.0, 4.0, None]], index=["h1", "h2"],
...                  columns=["s1", "s2", "s3"])
>>> kinds = pd.DataFrame({"category": ["school", "bakery", "doctor"]}, index=t.columns)
>>> groups = {"education": ["school"], "food": ["bakery"], "health": ["doctor"]}
>>> score = compute_fifteen_minute_score(t, destinations=kinds, categories=groups, max_time_min=10)
>>> score["score"].round(3).tolist()
[0.667, 0.333]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from cimkit.analysis.accessibility._travel import (
    DEFAULT_WALK_KMH,
    check_destinations,
    check_speed,
    check_time_budget,
)
from cimkit.analysis.accessibility.metrics import _categories_of, compute_nearest_times
from cimkit.errors import CoverageWarning, InputError, ValidationError
from cimkit.network.graph import Network

__all__ = [
    "DEFAULT_CATEGORIES",
    "compute_access_loss",
    "compute_fifteen_minute_score",
    "summarise_by_zone",
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


def _groups_and_weights(
    categories: Mapping[str, Sequence[str]] | None, weights: Mapping[str, float] | None
) -> tuple[dict[str, list[str]], dict[str, float]]:
    groups = {g: list(c) for g, c in (categories if categories is not None else DEFAULT_CATEGORIES).items()}
    if not groups:
        raise ValidationError("'categories' must name at least one service group.")
    w = {g: 1.0 for g in groups} if weights is None else {g: float(weights.get(g, 0.0)) for g in groups}
    if sum(w.values()) <= 0 or any(v < 0 for v in w.values()):
        raise ValidationError(f"'weights' must be >= 0 with a positive sum; {weights!r} was given.")
    return groups, w


def _score_from_nearest(
    near: pd.DataFrame, groups: Mapping[str, Sequence[str]], w: Mapping[str, float], max_time_min: float
) -> pd.DataFrame:
    """``<group>_min``, ``groups_reached`` and ``score`` from per-category ``<category>_min`` times."""
    out = pd.DataFrame(index=near.index)
    score = np.zeros(len(near))
    reached = np.zeros(len(near), dtype="int64")
    for g, cats in groups.items():
        t = near[[f"{c}_min" for c in cats]].min(axis=1, skipna=True).to_numpy()
        out[f"{g}_min"] = t
        ok = t <= max_time_min
        reached += ok
        score += w[g] * ok
    out["groups_reached"] = reached
    out["score"] = score / sum(w.values())
    return out


def compute_fifteen_minute_score(
    travel: Network | pd.DataFrame,
    origins: Any = None,
    destinations: Any = None,
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
    weights: Mapping[str, float] | None = None,
    max_time_min: float = 15.0,
    category_column: str = "category",
    weight: str = "walk_time_min",
    walk_kmh: float | None = DEFAULT_WALK_KMH,
) -> pd.DataFrame:
    """15-minute-city score: weighted share of service groups whose nearest instance is in reach.

    ``score_i = sum_g w_g * 1[min_{c in g} t_i,c <= T] / sum_g w_g`` with the groups ``g`` of
    ``categories`` (default :data:`DEFAULT_CATEGORIES`: education, health, food, shopping, leisure,
    transport), equal weights unless ``weights`` is given, and ``T = max_time_min`` (15 min; at
    the default walking speed of 4.8 km/h about 1.2 km). A group with no destination at all in
    the data counts as not reached, with a :class:`~cimkit.errors.CoverageWarning` when no
    origin reaches any of its destinations.

    Parameters
    ----------
    travel, origins, destinations
        As for :func:`~cimkit.analysis.accessibility.compute_nearest_times`.
    categories
        Group name → POI categories satisfying it.
    weights
        Group name → weight (default 1 each); groups missing from ``weights`` weigh 0.
    max_time_min
        Time budget in minutes (inclusive, > 0; 0 or less, NaN or infinity raise
        :class:`~cimkit.errors.ValidationError` ``ANA030``: such a budget would score everyone 0).
    category_column, weight, walk_kmh
        See :func:`~cimkit.analysis.accessibility.compute_nearest_times`. ``walk_kmh`` must be
        a finite speed > 0 or None (``ANA031``).

    Returns
    -------
    pandas.DataFrame
        On the origins' index: ``<group>_min`` (time to the nearest destination of the group),
        ``groups_reached`` (count) and ``score`` (0-1). ``attrs["unmatched_destinations"]``:
        how many destinations have a category of no group (left out, with a
        :class:`~cimkit.errors.CoverageWarning` ``ANA130``).

    Raises
    ------
    ValidationError
        ``max_time_min`` not finite and > 0 (``ANA030``); ``walk_kmh`` not finite and > 0
        (``ANA031``).
    InputError
        No destinations at all (``ANA032``); no destination of any group's category
        (``ANA033``: a wrong ``category_column`` or categories in another vocabulary).

    Examples
    --------
    Three homes; a school 2-25 min away, a doctor and a bakery:

    >>> import pandas as pd
    >>> from cimkit.analysis.accessibility import compute_fifteen_minute_score
    >>> t = pd.DataFrame([[2.0, 8.0, 16.0], [12.0, 4.0, None], [25.0, 9.0, 5.0]],
    ...                  index=["h1", "h2", "h3"], columns=["s1", "s2", "s3"])
    >>> kinds = pd.Series(["school", "doctor", "bakery"], index=t.columns)
    >>> groups = {"education": ["school"], "health": ["doctor"], "food": ["bakery"]}
    >>> res = compute_fifteen_minute_score(t, destinations=kinds, categories=groups, max_time_min=10,
    ...                                    weights={"education": 2, "health": 1, "food": 1})
    >>> res["groups_reached"].tolist(), res["score"].tolist()
    ([2, 1, 2], [0.75, 0.25, 0.5])
    """
    budget = check_time_budget(max_time_min)
    check_speed(walk_kmh)
    check_destinations(destinations, travel)
    groups, w = _groups_and_weights(categories, weights)
    unmatched = _check_categories(travel, destinations, groups, category_column)
    near = compute_nearest_times(
        travel,
        origins,
        destinations,
        categories=sorted({c for cs in groups.values() for c in cs}),
        category_column=category_column,
        k=1,
        weight=weight,
        walk_kmh=walk_kmh,
    )
    empty = [g for g, cats in groups.items() if near[[f"{c}_min" for c in cats]].isna().all(axis=None)]
    if empty and len(near):
        warnings.warn(
            f"fifteen-minute score: no origin reaches any destination of the group(s) {', '.join(empty)} "
            f"({len(near)} origins); they count as not reached, so no score exceeds "
            f"{sum(w[g] for g in groups if g not in empty) / sum(w.values()):.2f}. Check the destinations' "
            "categories, or pass categories= without these groups.",
            CoverageWarning,
            stacklevel=2,
        )
    out = _score_from_nearest(near, groups, w, budget)
    out.attrs["unmatched_destinations"] = unmatched
    return out


def _check_categories(
    travel: Any, destinations: Any, groups: Mapping[str, Sequence[str]], category_column: str
) -> int:
    """Refuse destinations none of which has a category of a group; warn about those left out."""
    columns = travel.columns if isinstance(travel, pd.DataFrame) else None
    cats = _categories_of(destinations, category_column, columns)
    wanted = {c for cs in groups.values() for c in cs}
    outside = ~cats.isin(wanted)
    found = sorted(cats.unique())[:10]
    if len(cats) and outside.all():
        raise InputError(
            f"none of the {len(cats)} destinations has a category of the score's groups "
            f"(categories found: {found}; expected: {sorted(wanted)})",
            code="ANA033",
            hint="check category_column, or map your categories to groups with categories={...}.",
        )
    if outside.any():
        warnings.warn(
            CoverageWarning(
                f"fifteen-minute score: {int(outside.sum())} of {len(cats)} destinations have a category "
                f"of no group ({sorted(cats[outside].unique())[:10]}) and were left out; add them to "
                "categories= to count them (the count is in result.attrs['unmatched_destinations'])",
                code="ANA130",
            ),
            stacklevel=3,
        )
    return int(outside.sum())


def summarise_by_zone(
    values: pd.Series | pd.DataFrame,
    zone_ids: pd.Series,
    *,
    stats: Sequence[Literal["mean", "median", "min", "max", "count"]] = ("mean", "median"),
) -> pd.DataFrame:
    """Per-zone statistics of per-building results.

    Parameters
    ----------
    values
        Per-building results (Series or DataFrame) on the buildings' index.
    zone_ids
        Zone id of each building (Series on the buildings' index; e.g. the ``zone_id`` column
        of :func:`cimkit.analysis.linking.link_buildings_to_zones`). Buildings without a zone
        (NaN) are left out.
    stats
        Statistics to compute (NaN values, e.g. unreachable, are skipped).

    Returns
    -------
    pandas.DataFrame
        Indexed by zone id; columns ``<column>_<stat>`` (or ``<stat>`` for a Series).

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.accessibility import summarise_by_zone
    >>> score = pd.DataFrame({"score": [1.0, 0.5, 0.0]}, index=["a", "b", "c"])
    >>> summary = summarise_by_zone(score, pd.Series(["UA", "UA", "UB"], index=["a", "b", "c"]))
    >>> summary.to_dict("index")
    {'UA': {'score_mean': 0.75, 'score_median': 0.75}, 'UB': {'score_mean': 0.0, 'score_median': 0.0}}
    """
    frame = values.to_frame() if isinstance(values, pd.Series) else values
    z = zone_ids.reindex(frame.index)
    if z.isna().all():
        raise InputError("no building has a zone", hint="zone_ids must be indexed like the results.")
    grouped = frame.groupby(z.rename("zone_id"))
    res = grouped.agg(list(stats))
    if isinstance(values, pd.Series):
        res.columns = [s for _, s in res.columns]
    else:
        res.columns = [f"{c}_{s}" for c, s in res.columns]
    return res


def compute_access_loss(
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
        (same index and columns), e.g. :func:`~cimkit.analysis.accessibility.compute_nearest_times`
        or :func:`compute_fifteen_minute_score`.
    kind
        ``"time"``: loss = flooded - base minutes; a destination that becomes unreachable gives
        ``inf``; ``"opportunities"`` (counts, gravity, scores): loss = base - flooded.

    Returns
    -------
    pandas.DataFrame
        ``<column>_loss`` per column, plus ``cut_off`` (True where something reachable in the
        base is unreachable in the flooded scenario) for ``kind="time"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.accessibility import compute_access_loss
    >>> base = pd.DataFrame({"school_min": [4.0, 6.0]}, index=["a", "b"])
    >>> flooded = pd.DataFrame({"school_min": [7.5, None]}, index=["a", "b"])
    >>> loss = compute_access_loss(base, flooded)
    >>> loss["school_min_loss"].tolist(), loss["cut_off"].tolist()
    ([3.5, inf], [False, True])
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
