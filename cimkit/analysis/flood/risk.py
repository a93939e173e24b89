"""Risk: damage per building and scenario, expected annual damage and its aggregation."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from cimkit.analysis.flood.exposure import (
    DEFAULT_FIRST_FLOOR_HEIGHT_M,
    _geometry_array,
    compute_building_depths,
    compute_first_floor_height,
)
from cimkit.analysis.flood.hydrology import _check_depth_grid
from cimkit.analysis.flood.vulnerability import (
    USE_TO_JRC_CLASS,
    compute_damage_fraction,
    compute_max_damage_per_m2,
)
from cimkit.data.flood import DamageCurves, load_damage_curves
from cimkit.errors import CountryError, GeographicCRSError, InputError, ValidationError
from cimkit.raster import Raster

__all__ = [
    "aggregate_damage",
    "compute_building_damage",
    "compute_ead",
    "compute_ead_weights",
    "format_return_period",
]

logger = logging.getLogger(__name__)

#: The warning :func:`compute_building_damage` gives when the buildings have no ``use`` column.
NO_USE_WARNING = "the buildings have no 'use' column: every building is costed as residential"


def format_return_period(return_period: float) -> str:
    """Format a return period (years) as a column suffix.

    Parameters
    ----------
    return_period
        Return period in years.

    Returns
    -------
    str
        ``"rp"`` followed by the shortest decimal form of the number.

    Examples
    --------
    >>> from cimkit.analysis.flood import format_return_period
    >>> format_return_period(100), format_return_period(2.5), format_return_period(10.0)
    ('rp100', 'rp2.5', 'rp10')
    """
    return f"rp{float(return_period):g}"


def _as_scenarios(depths: Raster | Mapping[Any, Raster]) -> dict[float, Raster]:
    if isinstance(depths, Raster):
        _check_depth_grid(depths, "the depth grid")
        rp = depths.attrs.get("return_period")
        return {float(rp) if rp is not None else np.nan: depths}
    if isinstance(depths, Mapping):
        out = {}
        for rp, raster in depths.items():
            if not isinstance(raster, Raster):
                raise InputError(
                    f"scenario {rp!r}: expected a depth Raster; got {type(raster).__name__}",
                    hint="compute the depths first with compute_flood_depths(dem, {...}).",
                )
            _check_depth_grid(raster, f"the depth grid of scenario {rp!r}")
            out[float(rp)] = raster
        if not out:
            raise InputError("no scenario given", hint="pass {return_period: depth Raster}.")
        return dict(sorted(out.items()))
    raise InputError(
        f"expected a depth Raster or a {{return_period: Raster}} mapping; got {type(depths).__name__}"
    )


def _jrc_classes(buildings: Any, index: pd.Index, curve_set: DamageCurves) -> tuple[pd.Series, pd.Series]:
    """Each building's ``use`` (missing: ``other``) and its JRC class, validated."""
    if "use" in getattr(buildings, "columns", []):
        use = buildings["use"].astype(object).where(buildings["use"].notna(), "other")
    else:
        warnings.warn(NO_USE_WARNING, stacklevel=3)
        use = pd.Series("residential", index=index, dtype=object)
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
    return use, jrc_class


def _scenario_columns(
    buildings: Any,
    depth: Raster,
    table: pd.DataFrame,
    curve_set: DamageCurves,
    depth_statistic: str,
) -> dict[str, Any]:
    """Depth statistics and damage (EUR) of every building for one depth grid."""
    stats = compute_building_depths(buildings, depth)
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
    above = d - table["first_floor_height_m"].to_numpy()
    fraction = np.full(len(table), np.nan)
    for cls in table["jrc_class"].unique():
        sel = (table["jrc_class"] == cls).to_numpy()
        fraction[sel] = compute_damage_fraction(above[sel], cls, curves=curve_set)
    fraction = np.where(d > 0, fraction, np.where(np.isnan(d), np.nan, 0.0))
    value = table["max_damage_eur_m2"].to_numpy() * table["footprint_m2"].to_numpy()
    return {
        "depth_m": stats["max_depth_m"],
        "mean_depth_m": stats["mean_depth_m"],
        "flooded_share": stats["flooded_share"],
        "damage_eur": fraction * scale * value,
    }


def _damage_country(geoms: Any, country: str | None, gdp_per_capita_usd2010: float | None) -> dict[str, Any]:
    """Choose the country of the maximum damages: given, or found at the centre of the buildings."""
    if gdp_per_capita_usd2010 is not None:
        return {
            "country": country,
            "chosen": "gdp_per_capita_usd2010 given",
            "gdp_per_capita_usd2010": float(gdp_per_capita_usd2010),
        }
    if country is not None:
        return {"country": str(country).upper(), "chosen": "given"}
    from cimkit.data.countries import find_country_of_bbox

    found = find_country_of_bbox(geoms.total_bounds, crs=geoms.crs) if len(geoms) else None
    if found is None:
        raise CountryError(
            "the maximum flood damages depend on the country and none was found at the buildings' "
            "location (no CRS, or outside the bundled country extents)",
            layer="buildings",
            hint="pass country= (ISO code in gdp_per_capita_jrc.csv) or gdp_per_capita_usd2010=.",
        )
    return {"country": found, "chosen": "found at the centre of the buildings"}


def compute_building_damage(
    buildings: Any,
    depths: Raster | Mapping[Any, Raster],
    *,
    curves: DamageCurves | str = "jrc_europe",
    country: str | None = None,
    gdp_per_capita_usd2010: float | None = None,
    dem: Raster | None = None,
    default_first_floor_m: float = DEFAULT_FIRST_FLOOR_HEIGHT_M,
    depth_statistic: Literal["wet_mean", "mean", "max"] = "wet_mean",
) -> pd.DataFrame:
    """Compute the direct damage (EUR 2010) to each building for one or several floods.

    damage = f(d - first-floor height) x max damage per m² (structure + contents, JRC method)
    x footprint area [x flooded share]. The JRC maximum damages are per m² of building footprint
    (Huizinga et al. 2017 apply them to the built-up ground area), so the footprint area is used,
    not the floor area of every storey; floors above the water are not damaged by the curves.

    Parameters
    ----------
    buildings
        GeoDataFrame of footprints (projected CRS, metres) indexed by building id; optional
        ``use``, ``ground_floor_elevation_m``, ``first_floor_height_m``.
    depths
        ``{return_period_years: depth Raster}`` (depths in m); a single depth Raster is one
        scenario (its ``attrs["return_period"]``, if any, names it).
    curves
        ``"jrc_europe"``, a CSV path or :class:`~cimkit.data.flood.DamageCurves`; the class of
        each building comes from its ``use`` through
        :data:`~cimkit.analysis.flood.vulnerability.USE_TO_JRC_CLASS` (no ``use`` column: every
        building residential, with a warning).
    country
        ISO 3166 alpha-2 country of the maximum damages (its GDP per capita in
        ``gdp_per_capita_jrc.csv``). None: the country at the centre of the buildings
        (:func:`~cimkit.data.countries.find_country_of_bbox`); a
        :class:`~cimkit.errors.CountryError` when none is found or it is not in the table.
    gdp_per_capita_usd2010
        GDP per capita (US$ 2010) to use instead of the country's (no country needed then).
    dem
        Terrain, needed to turn an IFC ``ground_floor_elevation_m`` into a first-floor height.
    default_first_floor_m
        First-floor height (m) where neither the IFC nor an attribute gives one.
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
        ``attrs["max_damage"]`` records the country (and how it was chosen) or the GDP per
        capita given.

    Examples
    --------
    A 10 m x 10 m house under 1 m of water at the 100-year flood (JRC residential: 40 %):

    >>> import geopandas as gpd
    >>> import numpy as np
    >>> import shapely
    >>> from affine import Affine
    >>> from cimkit.analysis.flood import compute_building_damage
    >>> from cimkit.raster import Raster
    >>> buildings = gpd.GeoDataFrame(
    ...     {"use": ["residential"]}, geometry=[shapely.box(0, 0, 10, 10)], crs="EPSG:2154"
    ... )
    >>> depth = Raster(np.ones((2, 2)), Affine(5, 0, 0, 0, -5, 10), "EPSG:2154")
    >>> out = compute_building_damage(buildings, {100: depth}, country="FR")
    >>> out.loc[0, ["footprint_m2", "depth_m_rp100", "damage_eur_rp100"]].astype(float).round().tolist()
    [100.0, 1.0, 31025.0]
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
    scenarios = _as_scenarios(depths)
    curve_set = curves if isinstance(curves, DamageCurves) else load_damage_curves(curves)
    use, jrc_class = _jrc_classes(buildings, geoms.index, curve_set)
    out = pd.DataFrame(index=geoms.index)
    out["footprint_m2"] = geoms.area.astype("float64")
    out["jrc_class"] = jrc_class
    chosen = _damage_country(geoms, country, gdp_per_capita_usd2010)
    out["max_damage_eur_m2"] = compute_max_damage_per_m2(
        use, country=chosen["country"], gdp_per_capita_usd2010=gdp_per_capita_usd2010
    ).to_numpy()
    out.attrs["max_damage"] = chosen
    if dem is None:
        has_ifc = "ground_floor_elevation_m" in getattr(buildings, "columns", []) and bool(
            buildings["ground_floor_elevation_m"].notna().any()
        )
        if has_ifc:
            raise InputError(
                "buildings carry ground_floor_elevation_m but no DEM was given",
                hint="pass dem= so that the first-floor height can be measured above the terrain.",
            )
        dem = next(iter(scenarios.values()))  # the grid only: no slab elevation is read from it
    floor = compute_first_floor_height(buildings, dem, default_first_floor_m=default_first_floor_m)
    out["first_floor_height_m"] = floor["first_floor_height_m"]
    out["first_floor_source"] = floor["first_floor_source"]
    for rp, depth in scenarios.items():
        suffix = "" if np.isnan(rp) else "_" + format_return_period(rp)
        columns = _scenario_columns(buildings, depth, out, curve_set, depth_statistic)
        for name, values in columns.items():
            out[name + suffix] = values
    return out


def compute_ead_weights(
    return_periods: Sequence[float],
    *,
    method: Literal["trapezoid", "loglinear"] = "trapezoid",
    protection_return_period: float | None = None,
    rare_tail: bool | None = None,
) -> np.ndarray:
    """Compute the weights ``w`` such that the expected annual damage is ``Σ w_i D_i``.

    Parameters
    ----------
    return_periods
        Return periods in years (distinct, > 0), in any order.
    method
        ``"trapezoid"`` or ``"loglinear"`` (see :func:`compute_ead`).
    protection_return_period
        Return period (years) below which floods do no damage: a zero-damage point is added at
        p = 1/T_p (shorter than every scenario).
    rare_tail
        Add the rectangle p_min x D(p_min) on the rare side (default True for ``"loglinear"``,
        False for ``"trapezoid"``).

    Returns
    -------
    ndarray
        One weight (1/year) per return period, in the order of ``return_periods``.

    Examples
    --------
    >>> from cimkit.analysis.flood import compute_ead_weights
    >>> compute_ead_weights([10, 100]).round(3).tolist()
    [0.045, 0.045]
    >>> compute_ead_weights([10, 100], protection_return_period=2).round(3).tolist()
    [0.245, 0.045]
    """
    if method not in ("trapezoid", "loglinear"):
        raise ValidationError(f"'method' must be one of trapezoid, loglinear; {method!r} was given.")
    rps = np.asarray(list(return_periods), dtype="float64")
    if rps.ndim != 1 or len(rps) == 0:
        raise InputError("give at least one return period")
    if np.any(~np.isfinite(rps)) or np.any(rps <= 0):
        raise ValidationError(
            f"return periods must be finite and > 0 years; {rps.tolist()} was given.", code="ANA013"
        )
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


@overload
def compute_ead(
    return_periods: Sequence[float],
    damages: Sequence[float] | np.ndarray,
    *,
    method: Literal["trapezoid", "loglinear"] = ...,
    protection_return_period: float | None = ...,
    rare_tail: bool | None = ...,
) -> float: ...
@overload
def compute_ead(
    return_periods: Sequence[float],
    damages: pd.DataFrame,
    *,
    method: Literal["trapezoid", "loglinear"] = ...,
    protection_return_period: float | None = ...,
    rare_tail: bool | None = ...,
) -> pd.Series: ...
def compute_ead(
    return_periods: Sequence[float],
    damages: pd.DataFrame | Sequence[float] | np.ndarray,
    *,
    method: Literal["trapezoid", "loglinear"] = "trapezoid",
    protection_return_period: float | None = None,
    rare_tail: bool | None = None,
) -> pd.Series | float:
    """Compute the expected annual damage: damage integrated over the exceedance probability 1/T.

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
    method
        ``"trapezoid"`` or ``"loglinear"``.
    protection_return_period
        Return period (years) of the flood protection: zero damage at and below it.
    rare_tail
        Add p_min x D(p_min) for the floods rarer than the rarest scenario.

    Returns
    -------
    float or Series
        EUR per year: a float for a sequence of damages, a Series named ``ead_eur`` on the
        DataFrame's index for a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.flood import compute_ead
    >>> round(compute_ead([10, 100], [1000.0, 5000.0]), 6)
    270.0
    >>> round(compute_ead([10, 100], [1000.0, 5000.0], method="loglinear"), 2)
    256.35
    >>> frame = pd.DataFrame({"damage_eur_rp10": [1000.0, 0.0], "damage_eur_rp100": [5000.0, 100.0]})
    >>> compute_ead([10, 100], frame).round(2).tolist()
    [270.0, 4.5]
    """
    w = compute_ead_weights(
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
    array = np.asarray(damages, dtype="float64")
    if array.shape != w.shape:
        raise InputError(f"{array.size} damage value(s) for {len(w)} return period(s)")
    return float(array @ w)


def aggregate_damage(damages: pd.Series | pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Sum per-building damages or EAD per parcel or zone.

    Parameters
    ----------
    damages
        Per-building values (EUR or EUR/year) on the buildings' index: one column per quantity
        (a Series is one column, named after the Series or ``damage_eur``).
    groups
        ``building id -> parcel id / zone id`` (a Series on the buildings' index; NA: no group).

    Returns
    -------
    DataFrame
        Indexed by group id (named after ``groups``), one column per column of ``damages``;
        buildings without a group are left out. For a city total, sum ``damages`` itself.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.flood import aggregate_damage
    >>> ead = pd.Series({"a": 270.0, "b": 4.5, "c": 0.9}, name="ead_eur")
    >>> zone_ids = pd.Series({"a": "Ua", "b": "Ua", "c": "N"}, name="zone_id")
    >>> per_zone = aggregate_damage(ead, zone_ids)
    >>> per_zone.index.name, per_zone["ead_eur"].to_dict()
    ('zone_id', {'N': 0.9, 'Ua': 274.5})
    """
    if not isinstance(groups, pd.Series):
        raise InputError(
            f"'groups' must be a Series building id -> group id; got {type(groups).__name__}",
            hint="e.g. link_buildings_to_zones(buildings, zones)['zone_id'].",
        )
    frame = damages.to_frame(name=damages.name or "damage_eur") if isinstance(damages, pd.Series) else damages
    key = groups.reindex(frame.index)
    if key.isna().all():
        raise InputError(
            "no building of the damages is in the group mapping",
            hint="pass a Series indexed by building id whose values are parcel or zone ids.",
        )
    out = frame.groupby(key).sum(min_count=1)
    out.index.name = groups.name
    return out
