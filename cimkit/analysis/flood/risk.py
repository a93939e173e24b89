"""Risk: damage per building and scenario, expected annual damage and its aggregation."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from cimkit.analysis.flood.exposure import (
    DEFAULT_FIRST_FLOOR_HEIGHT_M,
    _geometry_array,
    building_depths,
    first_floor_height,
)
from cimkit.analysis.flood.vulnerability import (
    USE_TO_JRC_CLASS,
    DamageCurves,
    damage_fraction,
    load_damage_curves,
    max_damage_per_m2,
)
from cimkit.errors import GeographicCRSError, InputError, ValidationError
from cimkit.raster import Raster

__all__ = [
    "aggregate_damage",
    "building_damage",
    "ead_weights",
    "expected_annual_damage",
    "return_period_label",
]

logger = logging.getLogger(__name__)


def return_period_label(return_period: float) -> str:
    """Column suffix of a return period: ``100 -> "rp100"``, ``2.5 -> "rp2.5"``."""
    return f"rp{float(return_period):g}"


def _as_scenarios(depth_or_scenarios: Any) -> dict[float, Raster]:
    if isinstance(depth_or_scenarios, Raster):
        rp = depth_or_scenarios.attrs.get("return_period")
        return {rp if rp is not None else np.nan: depth_or_scenarios}
    if isinstance(depth_or_scenarios, Mapping):
        out = {}
        for rp, grid in depth_or_scenarios.items():
            if not isinstance(grid, Raster):
                raise InputError(
                    f"scenario {rp!r}: expected a depth Raster; got {type(grid).__name__}",
                    hint="compute the depths first with flood_scenarios(dem, {...}).",
                )
            out[rp] = grid
        if not out:
            raise InputError("no scenario given", hint="pass {return_period: depth Raster}.")
        return dict(sorted(out.items()))
    raise InputError(
        f"expected a depth Raster or a {{return_period: Raster}} mapping; got {type(depth_or_scenarios).__name__}"
    )


def building_damage(
    buildings: Any,
    depth_or_scenarios: Raster | Mapping[Any, Raster],
    *,
    curves: DamageCurves | str = "jrc_europe",
    country: str = "FR",
    dem: Raster | None = None,
    default_first_floor_m: float = DEFAULT_FIRST_FLOOR_HEIGHT_M,
    depth_statistic: Literal["wet_mean", "mean", "max"] = "wet_mean",
) -> pd.DataFrame:
    """Direct damage (EUR 2010) to each building for one or several flood scenarios.

    damage = f(d - first-floor height) x max damage per m² (structure + contents, JRC method)
    x footprint area [x flooded share]. The JRC maximum damages are per m² of building footprint
    (Huizinga et al. 2017 apply them to the built-up ground area), so the footprint area is used,
    not the floor area of every storey; floors above the water are not damaged by the curves.

    Parameters
    ----------
    buildings
        GeoDataFrame of footprints (projected CRS, metres) indexed by ``building_id``; optional
        ``use``, ``ground_floor_elevation_m``, ``first_floor_height_m``.
    depth_or_scenarios
        A depth Raster, or ``{return_period_years: depth Raster}``.
    curves
        ``"jrc_europe"``, a CSV path or :class:`DamageCurves`; the class of each building comes
        from its ``use`` through :data:`~cimkit.analysis.flood.vulnerability.USE_TO_JRC_CLASS`
        (no ``use`` column: every building residential, with a warning).
    country
        Country of the maximum damages (default France).
    dem
        Terrain, needed to turn an IFC ``ground_floor_elevation_m`` into a first-floor height.
    default_first_floor_m
        First-floor height where neither the IFC nor an attribute gives one.
    depth_statistic
        ``"wet_mean"``: the curve is applied to the mean depth over the wet part of the footprint
        and the damage scaled by the flooded share; ``"mean"``: mean depth over the whole
        footprint; ``"max"``: deepest cell (upper bound).

    Returns
    -------
    DataFrame
        On the buildings' index: ``footprint_m2``, ``jrc_class``, ``max_damage_eur_m2``,
        ``first_floor_height_m``, ``first_floor_source`` and, per return period T,
        ``depth_m_rpT`` (deepest water over the footprint, m), ``mean_depth_m_rpT``,
        ``flooded_share_rpT`` and ``damage_eur_rpT``. A single Raster without
        ``attrs["return_period"]`` gives columns without the ``_rpT`` suffix.
    """
    if depth_statistic not in ("wet_mean", "mean", "max"):
        raise ValidationError(
            f"'depth_statistic' must be one of wet_mean, mean, max; {depth_statistic!r} was given."
        )
    geoms = _geometry_array(buildings)
    if geoms.crs is not None and geoms.crs.is_geographic:
        raise GeographicCRSError(
            "footprint areas need a projected CRS; the buildings are in degrees",
            layer="buildings",
            hint="reproject with buildings.to_crs(dem.crs).",
        )
    scenarios = _as_scenarios(depth_or_scenarios)
    curve_set = curves if isinstance(curves, DamageCurves) else load_damage_curves(curves)
    columns = getattr(buildings, "columns", [])
    if "use" in columns:
        use = buildings["use"].astype(object).where(buildings["use"].notna(), "other")
    else:
        warnings.warn(
            "the buildings have no 'use' column: every building is costed as residential",
            stacklevel=2,
        )
        use = pd.Series("residential", index=geoms.index, dtype=object)
    jrc_class = use.map(lambda u: USE_TO_JRC_CLASS.get(str(u).lower(), None))
    unknown = jrc_class.isna()
    if unknown.any():
        raise ValidationError(
            f"unknown building use(s) {sorted(set(use[unknown].astype(str)))[:5]}",
            entity=use.index[unknown][:5].tolist(),
            hint=f"use one of {', '.join(USE_TO_JRC_CLASS)}.",
        )
    missing_curve = set(jrc_class) - set(curve_set.classes)
    if missing_curve:
        raise ValidationError(
            f"the damage curves have no class {sorted(missing_curve)}",
            hint=f"the curves hold {', '.join(curve_set.classes)}.",
        )
    out = pd.DataFrame(index=geoms.index)
    out["footprint_m2"] = geoms.area.astype("float64")
    out["jrc_class"] = jrc_class
    out["max_damage_eur_m2"] = max_damage_per_m2(use, country=country).to_numpy()
    if dem is None:
        dem = next(iter(scenarios.values()))  # grid only; used if an IFC slab elevation is present
        has_ifc = (
            "ground_floor_elevation_m" in columns and buildings["ground_floor_elevation_m"].notna().any()
        )
        if has_ifc:
            raise InputError(
                "buildings carry ground_floor_elevation_m but no DEM was given",
                hint="pass dem= so that the first-floor height can be measured above the terrain.",
            )
    ffh = first_floor_height(buildings, dem, default_m=default_first_floor_m)
    out["first_floor_height_m"] = ffh["first_floor_height_m"]
    out["first_floor_source"] = ffh["first_floor_source"]
    value_m2 = out["max_damage_eur_m2"].to_numpy() * out["footprint_m2"].to_numpy()
    for rp, grid in scenarios.items():
        suffix = "" if isinstance(rp, float) and np.isnan(rp) else "_" + return_period_label(rp)
        stats = building_depths(buildings, grid)
        share = stats["flooded_share"].to_numpy()
        if depth_statistic == "max":
            d = stats["max_depth_m"].to_numpy()
            scale = np.ones_like(d)
        elif depth_statistic == "mean":
            d = stats["mean_depth_m"].to_numpy()
            scale = np.ones_like(d)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                d = np.where(share > 0, stats["mean_depth_m"].to_numpy() / share, 0.0)
            d = np.where(np.isnan(share), np.nan, d)
            scale = share
        above = d - out["first_floor_height_m"].to_numpy()
        frac = np.full(len(out), np.nan)
        for cls in out["jrc_class"].unique():
            sel = (out["jrc_class"] == cls).to_numpy()
            frac[sel] = damage_fraction(above[sel], cls, curves=curve_set)
        frac = np.where(d > 0, frac, np.where(np.isnan(d), np.nan, 0.0))
        out["depth_m" + suffix] = stats["max_depth_m"]
        out["mean_depth_m" + suffix] = stats["mean_depth_m"]
        out["flooded_share" + suffix] = stats["flooded_share"]
        out["damage_eur" + suffix] = frac * scale * value_m2
    return out


def ead_weights(
    return_periods: Sequence[float],
    *,
    method: Literal["trapezoid", "loglinear"] = "trapezoid",
    protection_return_period: float | None = None,
    rare_tail: bool | None = None,
) -> np.ndarray:
    """Weights ``w`` such that EAD = Σ w_i D_i, in the order of ``return_periods``.

    See :func:`expected_annual_damage` for the methods and tails.
    """
    if method not in ("trapezoid", "loglinear"):
        raise ValidationError(f"'method' must be one of trapezoid, loglinear; {method!r} was given.")
    rps = np.asarray(list(return_periods), dtype="float64")
    if rps.ndim != 1 or len(rps) == 0:
        raise InputError("give at least one return period")
    if np.any(~np.isfinite(rps)) or np.any(rps <= 0):
        raise ValidationError(f"return periods must be finite and > 0 years; {rps.tolist()} was given.")
    if len(np.unique(rps)) != len(rps):
        raise ValidationError(f"return periods must be distinct; {rps.tolist()} was given.")
    if rare_tail is None:
        rare_tail = method == "loglinear"
    order = np.argsort(rps)  # frequent (high p) first
    p = 1.0 / rps[order]
    n = len(p)
    w = np.zeros(n + 1)  # last slot: the protection point (damage 0), dropped at the end
    pts = list(range(n))
    if protection_return_period is not None:
        tp = float(protection_return_period)
        if not tp < rps.min():
            raise ValidationError(
                f"'protection_return_period' ({tp:g} years) must be shorter than the most frequent "
                f"scenario ({rps.min():g} years)"
            )
        p = np.concatenate([[1.0 / tp], p])
        pts = [n, *pts]
    for k in range(len(p) - 1):
        p1, p2 = p[k], p[k + 1]  # p1 > p2
        i1, i2 = pts[k], pts[k + 1]
        if method == "trapezoid":
            w[i1] += 0.5 * (p1 - p2)
            w[i2] += 0.5 * (p1 - p2)
        else:
            # D linear in ln p between the two points, integrated exactly over [p2, p1]:
            # ∫ D dp = D1 (p1 - p2) + (D2 - D1) [(p1 - p2) / (ln p1 - ln p2) - p2]
            g = (p1 - p2) / (np.log(p1) - np.log(p2)) - p2
            w[i1] += (p1 - p2) - g
            w[i2] += g
    if rare_tail:
        w[pts[-1]] += p[-1]
    weights = np.empty(n)
    weights[order] = w[:n]
    return weights


def expected_annual_damage(
    return_periods: Sequence[float],
    damages: Any,
    *,
    method: Literal["trapezoid", "loglinear"] = "trapezoid",
    protection_return_period: float | None = None,
    rare_tail: bool | None = None,
) -> Any:
    """Expected annual damage: the integral of damage over annual exceedance probability p = 1/T.

    - ``"trapezoid"``: Σ (p_i - p_i+1)(D_i + D_i+1)/2 between consecutive scenarios.
    - ``"loglinear"``: damage linear in ln p between consecutive scenarios, integrated exactly
      (the integration of Delft-FIAT, Deltares).

    Tails are explicit. Frequent side: with ``protection_return_period`` T_p a point of zero
    damage at p = 1/T_p is added (nothing is assumed otherwise). Rare side: ``rare_tail=True``
    adds the rectangle p_min x D(p_min); the default is True for ``"loglinear"`` (as Delft-FIAT)
    and False for ``"trapezoid"``.

    Parameters
    ----------
    return_periods
        Return periods in years, one per damage value/column.
    damages
        A sequence of damages (EUR) in the order of ``return_periods``, or a DataFrame whose
        columns are, in order, the damages of those return periods (one row per building).
    method, protection_return_period, rare_tail
        See above.

    Returns
    -------
    float or Series
        EUR per year; a Series named ``ead_eur`` on the DataFrame's index.

    Examples
    --------
    >>> round(expected_annual_damage([10, 100], [1000.0, 5000.0]), 6)
    270.0
    """
    w = ead_weights(
        return_periods, method=method, protection_return_period=protection_return_period, rare_tail=rare_tail
    )
    if isinstance(damages, pd.DataFrame):
        if damages.shape[1] != len(w):
            raise InputError(
                f"the damages have {damages.shape[1]} column(s) for {len(w)} return period(s)",
                hint="give one column per return period, in the same order.",
            )
        values = damages.to_numpy(dtype="float64")
        return pd.Series(values @ w, index=damages.index, name="ead_eur")
    values = np.asarray(damages, dtype="float64")
    if values.shape != w.shape:
        raise InputError(f"{values.size} damage value(s) for {len(w)} return period(s)")
    return float(values @ w)


def aggregate_damage(
    values: pd.Series | pd.DataFrame,
    groups: pd.Series | None = None,
) -> pd.Series | pd.DataFrame | float:
    """Sum damages or EAD per parcel, zone or for the whole city.

    Parameters
    ----------
    values
        Per-building values (EUR or EUR/year) on the buildings' index.
    groups
        ``building_id -> parcel_id / zone_id`` mapping; None sums everything (city total).

    Returns
    -------
    Series/DataFrame indexed by group (buildings without a group are left out), or a total.
    """
    if groups is None:
        total = values.sum(min_count=1)
        return float(total) if isinstance(values, pd.Series) else total
    key = groups.reindex(values.index)
    if key.isna().all():
        raise InputError(
            "no building of the damages is in the group mapping",
            hint="pass a Series indexed by building_id whose values are parcel or zone ids.",
        )
    return values.groupby(key).sum(min_count=1)
