"""Scenarios side by side, one rule swept over a range, and the capacity as LoD1 blocks.

Examples
--------
>>> from cimkit.analysis.scenario import compute_sweep
>>> from cimkit.datasets import load_sample_city
>>> curve = compute_sweep(load_sample_city(with_ifc=False), "UB", "max_height_m", [9, 12, 15])
>>> curve.index.tolist()
[9.0, 12.0, 15.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.analysis.scenario.assessment import ScenarioResult, _context, _evaluate, _parcel_depths
from cimkit.analysis.scenario.carbon import compute_carbon_impact
from cimkit.analysis.scenario.scenario import EDITABLE_RULES, Scenario, _scenario_json
from cimkit.errors import InputError

__all__ = ["Comparison", "compare", "compute_capacity_envelopes", "compute_sweep", "summarise_scenarios"]

#: The comparison's fixed rows: (indicator, unit, impact it comes from, summary key or city key)
INDICATORS: tuple[tuple[str, str, str, str], ...] = (
    ("capacity gained", "m² floor area", "", "gained_gfa_m2"),
    ("added floor area", "m²", "", "added_gfa_m2"),
    ("added dwellings", "dwellings", "", "added_dwellings"),
    ("added residents", "persons", "", "added_residents"),
    ("added jobs", "jobs", "", "added_jobs"),
    ("embodied carbon", "tCO2e", "carbon", "embodied_tco2e"),
    ("operational carbon", "tCO2e/yr", "carbon", "operational_tco2e_year"),
    ("added expected annual damage", "EUR/yr", "flood", "added_ead_eur"),
    ("15-minute score of new residents", "score (population-weighted)", "access", "score_mean"),
    ("junctions below the pressure threshold", "junctions", "water", "junctions_below_min_pressure_after"),
    ("largest added trips on a street segment", "peak-hour trips", "traffic", "max_segment_added_peak_trips"),
)


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True)
class Comparison:
    """Baseline and scenarios side by side.

    Attributes
    ----------
    table
        One row per indicator: ``indicator``, ``unit`` then one column per result (by scenario
        name); a value is NaN where its data is missing, and ``note`` says why ("n/a: ...").
    results
        The compared :class:`~cimkit.analysis.scenario.ScenarioResult` objects, baseline first.

    Examples
    --------
    >>> Comparison().table.empty
    True
    """

    table: pd.DataFrame = field(default_factory=_empty_frame)
    results: tuple[ScenarioResult, ...] = ()


def _value(result: ScenarioResult, impact: str, key: str) -> tuple[float, str]:
    """One indicator of one result, and why it is missing ("" when present)."""
    if not impact:
        return float(result.city.get(key, np.nan)), ""
    found = result.impacts.get(impact)
    if found is None:
        return np.nan, f"n/a: the {impact} impact was not computed"
    if not found.available:
        why = found.caveats[0] if found.caveats else "its data is missing"
        return np.nan, f"n/a: {why}"
    if key not in found.summary:
        if impact == "water":
            return (
                np.nan,
                "n/a: no hydraulic run (no EPANET model: pass impact_options={'water': {'inp': ...}})",
            )
        return np.nan, f"n/a: the {impact} impact gave no {key}"
    return float(found.summary[key]), ""


def _rows(results: Sequence[ScenarioResult]) -> list[tuple[str, str, str, str]]:
    """List the fixed indicators plus those found in the impacts (flooded dwellings by return period, times)."""
    rows = list(INDICATORS)
    extra: dict[str, tuple[str, str, str, str]] = {}
    for result in results:
        flood = result.impacts.get("flood")
        if flood is not None:
            for key in flood.summary:
                if key.startswith("dwellings_flooded_"):
                    period = key.removeprefix("dwellings_flooded_")
                    extra[key] = (f"new dwellings with depth > 0 ({period})", "dwellings", "flood", key)
        access = result.impacts.get("access")
        if access is not None:
            for key in access.summary:
                if key.endswith("_min_mean"):
                    group = key.removesuffix("_min_mean")
                    extra[key] = (f"walking time to {group} (new residents)", "min", "access", key)
    if not any(k.startswith("dwellings_flooded_") for k in extra):
        extra["flood"] = ("new dwellings with depth > 0", "dwellings", "flood", "dwellings_flooded_rp100")
    return rows[:7] + sorted(extra.values()) + rows[7:]


def compare(baseline: ScenarioResult, *scenarios: ScenarioResult) -> Comparison:
    """Put the indicators of a baseline and of scenarios side by side in one table.

    Parameters
    ----------
    baseline
        The result of the reference (usually ``Scenario(name="current rules")``).
    *scenarios
        Results of :func:`~cimkit.analysis.scenario.assess_scenario` to compare with it.

    Returns
    -------
    Comparison
        ``.table`` (rows: indicators with their unit; columns: one per result, by scenario
        name, and ``note``) and ``.results``.

    Raises
    ------
    InputError
        Two results share a scenario name.

    Examples
    --------
    >>> from cimkit.analysis.scenario import Scenario, assess_scenario, compare
    >>> from cimkit.datasets import load_sample_city
    >>> model = load_sample_city(with_ifc=False)
    >>> base = assess_scenario(model, Scenario(name="now"), impacts=("carbon",))
    >>> more = assess_scenario(model, Scenario(name="UA 0.8", rules={"UA": {"max_footprint_ratio": 0.8}}),
    ...                        impacts=("carbon",))
    >>> table = compare(base, more).table.set_index("indicator")
    >>> bool(table.loc["added dwellings", "UA 0.8"] > table.loc["added dwellings", "now"])
    True
    >>> table.loc["added expected annual damage", "note"]
    'n/a: the flood impact was not computed'
    """
    results = (baseline, *scenarios)
    names = [r.scenario.name if r.scenario is not None else f"scenario {i}" for i, r in enumerate(results)]
    if len(set(names)) != len(names):
        raise InputError(
            f"the scenarios compared share a name: {names}", hint="give each scenario its own name."
        )
    rows = []
    for label, unit, impact, key in _rows(results):
        row: dict[str, Any] = {"indicator": label, "unit": unit}
        notes = []
        for name, result in zip(names, results):
            value, why = _value(result, impact, key)
            row[name] = value
            if why:
                notes.append(why)
        row["note"] = notes[0] if notes else ""
        rows.append(row)
    return Comparison(table=pd.DataFrame(rows), results=results)


def compute_sweep(
    model: Any,
    zone: str,
    rule: str,
    values: Sequence[float],
    *,
    base: Scenario | None = None,
    flood: Any = None,
) -> pd.DataFrame:
    """Sweep one rule of one zone over a range of values: capacity, dwellings, carbon, flood exposure.

    The geometry that the rules do not change is computed once (and cached on the model), so
    each value costs only the storey loop of the capacity.

    Parameters
    ----------
    model
        The city model (as for :func:`~cimkit.analysis.scenario.assess_scenario`).
    zone
        The zone label whose rule varies (``"UB"``).
    rule
        The rule varied, one of ``max_height_m``, ``max_footprint_ratio``, ``min_setback_road_m``,
        ``min_setback_side_m``, ``side_setback_height_ratio``, ``min_green_ratio``.
    values
        The values tried.
    base
        The scenario the sweep starts from (None: the current rules, default assumptions).
    flood
        Flood depths (``FloodResult`` or ``{return_period: Raster}``): adds one column of new
        dwellings on parcels with water (deepest cell > 0) per return period.

    Returns
    -------
    DataFrame
        Indexed by ``value``: ``capacity_gfa_m2``, ``added_gfa_m2``, ``added_dwellings``,
        ``added_residents``, ``embodied_tco2e``, ``operational_tco2e_year`` and, with
        ``flood``, ``dwellings_flooded_rp<T>`` (all for the whole town).

    Raises
    ------
    InputError
        ``rule`` is not a rule a scenario may edit.

    Examples
    --------
    >>> from cimkit.analysis.scenario import compute_sweep
    >>> from cimkit.datasets import load_sample_city
    >>> curve = compute_sweep(load_sample_city(with_ifc=False), "UB", "max_height_m", [9, 12, 15, 18])
    >>> bool(curve["capacity_gfa_m2"].is_monotonic_increasing)
    True
    """
    if rule not in EDITABLE_RULES:
        raise InputError(
            f"'rule' must be one of {', '.join(EDITABLE_RULES)}; {rule!r} was given", code="SCN003"
        )
    base = base or Scenario(name="current rules")
    context = _context(model, 3.0)
    periods: list[float] = []
    if flood is not None:
        from cimkit.analysis.scenario.impacts import _flood_depths

        periods = list(_flood_depths(flood))
    rows = []
    for value in values:
        rules = {k: dict(v) for k, v in base.rules.items()}
        rules.setdefault(zone, {})[rule] = float(value)
        data = base.to_dict()
        data.update(name=f"{zone} {rule} = {value:g}", rules=rules)
        scenario = Scenario.from_dict(data)
        capacity, homes = _evaluate(model, context, scenario, flood)
        homes = homes.assign(storeys=capacity["best_storeys"].to_numpy())
        carbon = compute_carbon_impact(homes, reference_year=int(scenario.assumptions["reference_year"]))
        row = {
            "value": float(value),
            "capacity_gfa_m2": float(np.nansum(capacity["capacity_gfa_m2"])),
            "added_gfa_m2": float(homes["added_gfa_m2"].sum()),
            "added_dwellings": float(homes["added_dwellings"].sum()),
            "added_residents": float(homes["added_residents"].sum()),
            "embodied_tco2e": carbon.summary["embodied_tco2e"],
            "operational_tco2e_year": carbon.summary["operational_tco2e_year"],
        }
        for period in periods:
            wet = _parcel_depths(context, flood, period) > 0
            row[f"dwellings_flooded_rp{period:g}"] = float(homes["added_dwellings"].to_numpy()[wet].sum())
        rows.append(row)
    return pd.DataFrame(rows).set_index("value")


def compute_capacity_envelopes(result: ScenarioResult, model: Any) -> gpd.GeoDataFrame:
    """Build LoD1 blocks of the capacity: the allowed footprint polygon raised to the best height.

    The footprint is the envelope at the best storey count (parcel minus setbacks and
    exclusions), shrunk by a negative buffer until its area is the allowed footprint when the
    footprint ratio or the green share is what binds (a stand-in for where the building would
    stand: the design is not known).

    Parameters
    ----------
    result
        A :class:`~cimkit.analysis.scenario.ScenarioResult`.
    model
        The model it was computed on.

    Returns
    -------
    GeoDataFrame
        Indexed by ``parcel_id`` (parcels with a capacity): ``zone``, ``storeys``, ``height_m``
        (storeys x storey height), ``footprint_m2``, ``capacity_gfa_m2``; polygons in the model
        CRS, ready for :func:`cimkit.io.cityjson.write_cityjson` (``height_m`` gives the LoD1
        height).

    Examples
    --------
    >>> from cimkit.analysis.scenario import Scenario, assess_scenario, compute_capacity_envelopes
    >>> from cimkit.datasets import load_sample_city
    >>> model = load_sample_city(with_ifc=False)
    >>> result = assess_scenario(model, Scenario(name="now"), impacts=())
    >>> blocks = compute_capacity_envelopes(result, model)
    >>> bool((blocks.area <= blocks["footprint_m2"] * 1.001 + 0.01).all()), bool((blocks["height_m"] > 0).all())
    (True, True)
    """
    from cimkit.analysis.scenario.assessment import _context as get_context

    parcels = result.parcels
    keep = (np.nan_to_num(parcels["capacity_gfa_m2"].to_numpy(dtype="float64")) > 0) & (
        parcels["best_storeys"].fillna(0).to_numpy() > 0
    )
    table = parcels.loc[keep]
    context = get_context(model, 3.0)
    height = table["height_m"].to_numpy(dtype="float64")
    storeys = table["best_storeys"].to_numpy(dtype="float64")
    envelopes = _envelopes(context, table, height)
    target = table["allowed_footprint_m2"].to_numpy(dtype="float64")
    footprints = np.array([_shrink(g, a) for g, a in zip(envelopes, target)], dtype=object)
    return gpd.GeoDataFrame(
        {
            "zone": table["zone"].to_numpy(),
            "storeys": storeys,
            "height_m": height,
            "footprint_m2": target,
            "capacity_gfa_m2": table["capacity_gfa_m2"].to_numpy(),
        },
        geometry=footprints,
        index=table.index,
        crs=model["parcels"].crs,
    )


def _envelopes(context: Any, table: pd.DataFrame, height: np.ndarray) -> np.ndarray:
    """Return the envelope polygon of each parcel of ``table`` at its best height (under its scenario rules)."""
    geometry = context.geometry
    pos = geometry.index.get_indexer(table.index)
    road = np.nan_to_num(table["min_setback_road_m"].to_numpy(dtype="float64"))
    land = geometry.land[pos].copy()
    cut = (road > 0) & geometry.frontage_found[pos]
    land[cut] = shapely.difference(land[cut], shapely.buffer(geometry.frontage[pos][cut], road[cut]))
    side = np.maximum(
        np.nan_to_num(table["min_setback_side_m"].to_numpy(dtype="float64")),
        np.nan_to_num(table["side_setback_height_ratio"].to_numpy(dtype="float64")) * height,
    )
    s = side > 0
    land[s] = shapely.difference(land[s], shapely.buffer(geometry.side[pos][s], side[s]))
    return land


def _shrink(polygon: Any, area: float) -> Any:
    """Shrink ``polygon`` by a negative buffer (bisection) until its area is about ``area``."""
    if shapely.is_empty(polygon) or shapely.area(polygon) <= area * 1.001:
        return polygon
    low, high = 0.0, float(np.sqrt(shapely.area(polygon)))
    for _ in range(30):
        mid = (low + high) / 2
        if shapely.area(shapely.buffer(polygon, -mid)) > area:
            low = mid
        else:
            high = mid
    return shapely.buffer(polygon, -high)


def summarise_scenarios(*results: ScenarioResult) -> pd.DataFrame:
    """Summarise evaluated scenarios as one table, to save with the model.

    Parameters
    ----------
    *results
        Results of :func:`~cimkit.analysis.scenario.assess_scenario`.

    Returns
    -------
    DataFrame
        Indexed by ``scenario`` (the name): ``scenario_json`` (the scenario as canonical JSON, so
        ``Scenario.from_dict(json.loads(...))`` rebuilds it), ``sha256`` of that JSON, and the
        town totals of the result (``added_gfa_m2``, ``added_dwellings``, ... and each impact's
        indicators, NaN where a result lacks one). Store it with
        ``model.add_layer("scenarios", table)``: it is saved with the model as a table.

    Examples
    --------
    >>> import json
    >>> from cimkit.analysis.scenario import Scenario, ScenarioResult, summarise_scenarios
    >>> result = ScenarioResult(scenario=Scenario(name="A"), city=gpd.pd.Series({"added_dwellings": 3.0}))
    >>> table = summarise_scenarios(result)
    >>> json.loads(table.loc["A", "scenario_json"])["name"], float(table.loc["A", "added_dwellings"])
    ('A', 3.0)
    """
    rows = []
    for result in results:
        scenario = result.scenario or Scenario(name="scenario")
        text, digest = _scenario_json(scenario)
        rows.append(
            {"scenario": scenario.name, "scenario_json": text, "sha256": digest, **result.city.to_dict()}
        )
    return pd.DataFrame(rows).set_index("scenario")
