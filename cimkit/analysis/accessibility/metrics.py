"""Accessibility metrics: nearest destinations, cumulative opportunities, gravity, 2SFCA.

Every metric takes ``travel`` — a :class:`~cimkit.network.graph.Network` (door-to-door minutes
computed on its ``weight`` column, with a straight-line walk at ``walk_kmh`` at both ends) or a
precomputed travel-time matrix (DataFrame of minutes, origins x destinations, NaN unreachable).
Results are on the origins' index (buildings through their access node, or the matrix rows).
Formulas: see ``docs/accessibility.md`` and :mod:`.decay`. The 15-minute score, zone summaries
and the loss between two scenarios are in :mod:`.scores`.

Examples
--------
With a travel-time matrix (minutes; homes x services):

>>> import pandas as pd
>>> from cimkit.analysis.accessibility import (DecayFunction, compute_cumulative_access,
...     compute_gravity_access, compute_nearest_times, compute_two_step_fca)
>>> t = pd.DataFrame([[2.0, 8.0, 16.0], [12.0, 4.0, None]], index=["h1", "h2"],
...                  columns=["s1", "s2", "s3"])
>>> jobs = pd.Series([10.0, 20.0, 30.0], index=t.columns)
>>> compute_cumulative_access(t, opportunities=jobs, max_time_min=(5, 15))["within_15_min"].tolist()
[30.0, 30.0]
>>> linear = DecayFunction.linear(max_time_min=20)
>>> compute_gravity_access(t, opportunities=jobs, decay=linear).round(6).tolist()  # 10*0.9 + 20*0.6 + 30*0.2
[27.0, 20.0]
>>> kinds = pd.DataFrame({"category": ["school", "bakery", "doctor"]}, index=t.columns)
>>> compute_nearest_times(t, destinations=kinds)["school_min"].tolist()
[2.0, 12.0]
>>> places = pd.Series([10.0, 30.0, 0.0], index=t.columns)
>>> children = pd.Series([100.0, 200.0], index=t.index)
>>> a = compute_two_step_fca(t, children, places, decay=DecayFunction.binary(max_time_min=10))
>>> float((a * children).sum())  # all supply reachable: sum of A_i P_i = sum of S_j
40.0
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cimkit.analysis.accessibility._travel import (
    DEFAULT_WALK_KMH,
    access_nodes,
    check_time_budget,
    check_time_weight,
    destination_values,
    directed_for,
    given_matrix,
    resolve_matrix,
)
from cimkit.analysis.accessibility.decay import DecayFunction
from cimkit.errors import InputError, ValidationError
from cimkit.network.graph import Network

logger = logging.getLogger(__name__)

__all__ = [
    "compute_cumulative_access",
    "compute_gravity_access",
    "compute_nearest_times",
    "compute_two_step_fca",
]


def _categories_of(destinations: Any, category_column: str, columns: pd.Index | None) -> pd.Series:
    """Category of every destination (matrix columns when ``columns`` is given)."""
    if destinations is None:
        idx = columns if columns is not None else pd.Index([])
        return pd.Series("destination", index=idx)
    if isinstance(destinations, pd.DataFrame):
        if category_column not in destinations.columns:
            raise ValidationError(
                f"the destinations have no {category_column!r} column; columns are {list(destinations.columns)}",
                hint="set category_column=... or add a category column.",
            )
        cats = destinations[category_column]
    elif isinstance(destinations, pd.Series):
        cats = destinations
    else:
        raise ValidationError("'destinations' must be a (Geo)DataFrame with a category column or a Series.")
    if columns is not None:
        missing = columns.difference(cats.index)
        if len(missing):
            raise InputError(
                f"{len(missing)} matrix columns have no destination category",
                entity=list(missing[:5]),
                hint="index the destinations like the travel-time matrix columns.",
            )
        cats = cats.reindex(columns)
    return cats.astype(str)


def _time_columns(cat: str, k: int) -> list[str]:
    return [f"{cat}_min"] if k == 1 else [f"{cat}_{i + 1}_min" for i in range(k)]


def compute_nearest_times(
    travel: Network | pd.DataFrame,
    origins: Any = None,
    destinations: Any = None,
    *,
    categories: Sequence[str] | None = None,
    category_column: str = "category",
    k: int = 1,
    max_time_min: float | None = None,
    weight: str = "walk_time_min",
    walk_kmh: float | None = DEFAULT_WALK_KMH,
) -> pd.DataFrame:
    """Travel time to the ``k`` nearest destinations of each category, per origin.

    Parameters
    ----------
    travel
        Network, or travel-time matrix (minutes; rows origins, columns destinations).
    origins
        Buildings (GeoDataFrame, snapped through their centroid) or node ids; with a matrix,
        optional row selection.
    destinations
        POIs with a category column (GeoDataFrame), or a Series of categories indexed like the
        matrix columns. None with a matrix: every column is one category ``"destination"``.
    categories
        Categories to report (default: all present).
    category_column
        Column holding the category.
    k
        Number of nearest destinations per category.
    max_time_min
        Longest time searched (minutes); farther destinations are NaN.
    weight
        Network time column in minutes (``walk_time_min``, ``bike_time_min``, ``car_time_min``).
    walk_kmh
        Speed of the straight-line access and egress walks between a point and its nearest node
        (km/h); None for none.

    Returns
    -------
    pandas.DataFrame
        One row per origin; columns ``<category>_min`` (k=1) or ``<category>_<i>_min``; NaN when
        no destination is reachable (within ``max_time_min``).

    Examples
    --------
    Three homes and three services 2 to 25 minutes away (NaN: unreachable):

    >>> import pandas as pd
    >>> from cimkit.analysis.accessibility import compute_nearest_times
    >>> t = pd.DataFrame([[2.0, 8.0, 16.0], [12.0, 4.0, None], [25.0, 9.0, 5.0]],
    ...                  index=["h1", "h2", "h3"], columns=["s1", "s2", "s3"])
    >>> kinds = pd.Series(["school", "shop", "school"], index=t.columns)
    >>> compute_nearest_times(t, destinations=kinds)["school_min"].tolist()
    [2.0, 12.0, 5.0]
    >>> compute_nearest_times(t, destinations=kinds, k=2, categories=["school"]).loc["h1"].tolist()
    [2.0, 16.0]
    """
    if int(k) != k or k < 1:
        raise ValidationError(f"'k' must be an integer >= 1; {k!r} was given.")
    k = int(k)
    if max_time_min is not None:
        max_time_min = check_time_budget(max_time_min)
    if isinstance(travel, Network):
        return _nearest_on_network(
            travel, origins, destinations, categories, category_column, k, max_time_min, weight, walk_kmh
        )
    matrix = given_matrix(travel, origins, None)
    cats = _categories_of(destinations, category_column, matrix.columns)
    wanted = list(categories) if categories is not None else sorted(cats.unique())
    out: dict[str, np.ndarray] = {}
    values = matrix.to_numpy()
    for cat in wanted:
        sub = values[:, (cats == cat).to_numpy()]
        sub = np.where(np.isnan(sub), np.inf, sub)
        if max_time_min is not None:
            sub = np.where(sub <= max_time_min, sub, np.inf)
        best = np.sort(sub, axis=1)[:, :k] if sub.shape[1] else np.full((len(values), 0), np.inf)
        if best.shape[1] < k:
            best = np.hstack([best, np.full((len(values), k - best.shape[1]), np.inf)])
        best = np.where(np.isinf(best), np.nan, best)
        for i, name in enumerate(_time_columns(cat, k)):
            out[name] = best[:, i]
    return pd.DataFrame(out, index=matrix.index)


def _nearest_on_network(
    network: Network,
    origins: Any,
    destinations: Any,
    categories: Sequence[str] | None,
    category_column: str,
    k: int,
    max_time_min: float | None,
    weight: str,
    walk_kmh: float | None,
) -> pd.DataFrame:
    from cimkit.network.paths import compute_nearest

    check_time_weight(weight)
    if origins is None or destinations is None:
        raise ValidationError("with a Network, both origins and destinations must be given.")
    o = access_nodes(network, origins, walk_kmh=walk_kmh)
    d = access_nodes(network, destinations, walk_kmh=walk_kmh)
    cats = _categories_of(destinations, category_column, None).reindex(d.index)
    wanted = list(categories) if categories is not None else sorted(cats.unique())
    csr = network.csr(weight, directed=directed_for(weight))
    uo = pd.unique(o["node_id"].to_numpy())
    rows = pd.Index(uo).get_indexer(o["node_id"].to_numpy())
    out: dict[str, np.ndarray] = {}
    for cat in wanted:
        sel = (cats == cat).to_numpy()
        if sel.any():
            res = compute_nearest(
                csr,
                uo,
                d.loc[sel, "node_id"],
                k=k,
                max_time_min=max_time_min,
                destination_cost=d.loc[sel, "access_min"].to_numpy(),
            )
            cost = res[["cost"] if k == 1 else [f"cost_{i + 1}" for i in range(k)]].to_numpy()
            cost = cost[rows] + o["access_min"].to_numpy()[:, None]
            if max_time_min is not None:
                cost[cost > max_time_min] = np.nan
        else:
            cost = np.full((len(o), k), np.nan)
        for i, name in enumerate(_time_columns(cat, k)):
            out[name] = cost[:, i]
    return pd.DataFrame(out, index=o.index)


def _bands(max_time_min: float | Sequence[float]) -> list[float]:
    th = [float(t) for t in (max_time_min if isinstance(max_time_min, Sequence) else [max_time_min])]
    if not th or any(not (t >= 0 and math.isfinite(t)) for t in th):
        raise ValidationError(f"'max_time_min' must be finite minutes >= 0; {max_time_min!r} was given.")
    return th


def _label(t: float) -> str:
    return f"{int(t)}" if float(t).is_integer() else f"{t:g}"


def compute_cumulative_access(
    travel: Network | pd.DataFrame,
    origins: Any = None,
    destinations: Any = None,
    *,
    opportunities: Any = None,
    max_time_min: float | Sequence[float] = (5, 10, 15, 20),
    weight: str = "walk_time_min",
    walk_kmh: float | None = DEFAULT_WALK_KMH,
) -> pd.DataFrame:
    """Opportunities reachable within each time band: ``A_i = sum_j O_j * 1[t_ij <= T]``.

    Parameters
    ----------
    travel
        Network or travel-time matrix (minutes, origins x destinations).
    origins, destinations
        Buildings / POIs (GeoDataFrames) or node ids; with a matrix, optional selections.
    opportunities
        Per-destination amounts: None (count destinations), a column name of ``destinations``
        (e.g. ``"jobs"``), or a Series indexed like the destinations.
    max_time_min
        One or more time budgets in minutes; inclusive.
    weight, walk_kmh
        See :func:`compute_nearest_times`.

    Returns
    -------
    pandas.DataFrame
        One row per origin, columns ``within_<T>_min``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.accessibility import compute_cumulative_access
    >>> t = pd.DataFrame([[2.0, 8.0, 16.0], [12.0, 4.0, None]], index=["h1", "h2"],
    ...                  columns=["s1", "s2", "s3"])
    >>> jobs = pd.Series([10.0, 20.0, 30.0], index=t.columns)
    >>> compute_cumulative_access(t, opportunities=jobs, max_time_min=(5, 10, 20)).loc["h1"].tolist()
    [10.0, 30.0, 60.0]
    """
    th = _bands(max_time_min)
    m = resolve_matrix(travel, origins, destinations, weight=weight, max_time_min=max(th), walk_kmh=walk_kmh)
    o = destination_values(opportunities, destinations, m.columns)
    t = m.to_numpy()
    out = {f"within_{_label(T)}_min": np.where(t <= T, 1.0, 0.0) @ o for T in th}
    return pd.DataFrame(out, index=m.index)


def compute_gravity_access(
    travel: Network | pd.DataFrame,
    origins: Any = None,
    destinations: Any = None,
    *,
    opportunities: Any = None,
    decay: DecayFunction | None = None,
    max_time_min: float | None = None,
    weight: str = "walk_time_min",
    walk_kmh: float | None = DEFAULT_WALK_KMH,
) -> pd.Series:
    """Gravity (Hansen 1959) accessibility ``A_i = sum_j O_j * f(t_ij)``.

    Parameters
    ----------
    travel, origins, destinations, opportunities
        As for :func:`compute_cumulative_access`.
    decay
        Decay function of minutes (default ``DecayFunction.negative_exponential(beta=0.1)``).
    max_time_min
        Destinations beyond it are ignored (minutes). Default: the decay's support (finite for
        binary and linear), otherwise no limit.
    weight, walk_kmh
        See :func:`compute_nearest_times`.

    Returns
    -------
    pandas.Series
        ``gravity`` on the origins' index (opportunity units).

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.accessibility import DecayFunction, compute_gravity_access
    >>> t = pd.DataFrame([[2.0, 8.0, 16.0]], index=["h1"], columns=["s1", "s2", "s3"])
    >>> jobs = pd.Series([10.0, 20.0, 30.0], index=t.columns)
    >>> linear = DecayFunction.linear(max_time_min=20)  # 10*0.9 + 20*0.6 + 30*0.2
    >>> compute_gravity_access(t, opportunities=jobs, decay=linear).round(6).tolist()
    [27.0]
    """
    f = decay if decay is not None else DecayFunction.negative_exponential(0.1)
    if not isinstance(f, DecayFunction):
        raise ValidationError("'decay' must be a DecayFunction (e.g. DecayFunction.linear(max_time_min=30)).")
    cut = max_time_min if max_time_min is not None else (f.support if math.isfinite(f.support) else None)
    m = resolve_matrix(travel, origins, destinations, weight=weight, max_time_min=cut, walk_kmh=walk_kmh)
    o = destination_values(opportunities, destinations, m.columns)
    return pd.Series(f(m.to_numpy()) @ o, index=m.index, name="gravity")


def compute_two_step_fca(
    travel: Network | pd.DataFrame,
    origins: Any,
    destinations: Any,
    *,
    demand_column: str = "residents",
    supply_column: str = "capacity",
    decay: DecayFunction | None = None,
    weight: str = "walk_time_min",
    walk_kmh: float | None = DEFAULT_WALK_KMH,
) -> pd.Series:
    """Two-step floating catchment area (2SFCA; Luo & Wang 2003; with decay: Luo & Qi 2009).

    Step 1, for each destination (supply site) j: ``R_j = S_j / sum_k P_k f(t_kj)``.
    Step 2, for each origin (demand location) i: ``A_i = sum_j R_j f(t_ij)``.

    With a binary decay and every supply site reachable by some demand,
    ``sum_i A_i P_i = sum_j S_j``. A site nobody reaches gets no ratio (its supply is lost).

    Luo, W. & Wang, F. (2003). Measures of spatial accessibility to health care in a GIS
    environment. Environment and Planning B 30(6), 865-884. Luo, W. & Qi, Y. (2009). An enhanced
    two-step floating catchment area (E2SFCA) method. Health & Place 15(4), 1100-1107.

    Parameters
    ----------
    travel
        Network, or matrix of minutes with the origins (demand) as rows and the destinations
        (supply) as columns.
    origins
        Demand locations: a (Geo)DataFrame with ``demand_column`` (e.g. residents, pupils), or a
        Series of amounts indexed like the matrix rows.
    destinations
        Supply sites: a (Geo)DataFrame with ``supply_column`` (e.g. school places), or a Series
        of amounts indexed like the matrix columns.
    demand_column, supply_column
        Column names used when DataFrames are given.
    decay
        Catchment decay (default ``DecayFunction.binary(max_time_min=15)``).
    weight, walk_kmh
        See :func:`compute_nearest_times`.

    Returns
    -------
    pandas.Series
        ``supply_ratio`` (supply per unit of demand) on the origins' index.

    Examples
    --------
    Two neighbourhoods (100 and 200 children) and two schools (10 and 30 places), 10-minute
    catchments: school j1 serves both (10 / 300), j2 only the second (30 / 200):

    >>> import pandas as pd
    >>> from cimkit.analysis.accessibility import DecayFunction, compute_two_step_fca
    >>> t = pd.DataFrame([[5.0, 20.0], [8.0, 9.0]], index=["d1", "d2"], columns=["j1", "j2"])
    >>> children = pd.Series([100.0, 200.0], index=t.index)
    >>> places = pd.Series([10.0, 30.0], index=t.columns)
    >>> ratio = compute_two_step_fca(t, children, places, decay=DecayFunction.binary(max_time_min=10))
    >>> ratio.round(4).tolist()  # places per child: 1/30 ; 1/30 + 0.15
    [0.0333, 0.1833]
    """
    f = decay if decay is not None else DecayFunction.binary(15.0)
    if not isinstance(f, DecayFunction):
        raise ValidationError("'decay' must be a DecayFunction (e.g. DecayFunction.binary(max_time_min=15)).")
    cut = f.support if math.isfinite(f.support) else None
    if isinstance(travel, Network):
        m = resolve_matrix(travel, origins, destinations, weight=weight, max_time_min=cut, walk_kmh=walk_kmh)
    else:
        rows = origins.index if isinstance(origins, pd.Series | pd.DataFrame) else None
        cols = destinations.index if isinstance(destinations, pd.Series | pd.DataFrame) else None
        m = given_matrix(travel, rows, cols)
    s = _amounts(destinations, supply_column, m.columns, "destinations")
    p = _amounts(origins, demand_column, m.index, "origins")
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
            raise ValidationError(f"the {what} have no {column!r} column; columns are {list(obj.columns)}")
        obj = obj[column]
    if not isinstance(obj, pd.Series):
        raise ValidationError(f"'{what}' must be a DataFrame with {column!r} or a Series of amounts.")
    arr = obj.reindex(labels).to_numpy(dtype="float64")
    if np.isnan(arr).any() or (arr < 0).any():
        raise InputError(f"the amounts of the {what} must be >= 0 and present for every one of them")
    return arr
