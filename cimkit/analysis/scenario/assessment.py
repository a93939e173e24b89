"""Evaluate a PLU what-if scenario on a city model: capacity before and after, new homes, impacts.

For each parcel, the capacity (:func:`~cimkit.analysis.zoning.compute_buildable_capacity`) under
the baseline rules and under the scenario's rules; the scenario's **new homes** are its
additional floor area (capacity - existing floor area) times ``uptake_rate``::

    added_gfa_m2      = additional_gfa_m2 (scenario rules) x uptake_rate
    residential_gfa   = added_gfa_m2 x residential_share   (0 where a constraint forbids dwellings)
    added_dwellings   = residential_gfa / dwelling_size_m2
    added_residents   = added_dwellings x persons_per_dwelling
    added_jobs        = (added_gfa_m2 - residential_gfa) x jobs_per_m2

The geometry work that the rules do not change (parcel limits, exclusions, existing floor area,
flood depths at the parcels) is computed once per model and reused by every later evaluation.

Examples
--------
>>> from cimkit.analysis.scenario import Scenario, assess_scenario
>>> from cimkit.datasets import load_sample_city
>>> model = load_sample_city(with_ifc=False)
>>> result = assess_scenario(model, Scenario(name="UB at 15 m", rules={"UB": {"max_height_m": 15}}))
>>> result.city["added_dwellings"] > result.city["added_dwellings_baseline"]
np.True_
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit import provenance as prov
from cimkit.analysis.result import AnalysisResult
from cimkit.analysis.scenario.carbon import compute_carbon_impact
from cimkit.analysis.scenario.impacts import ScenarioImpact
from cimkit.analysis.scenario.scenario import Scenario, _scenario_json, _to_geometry
from cimkit.analysis.zoning.capacity import (
    _capacity_from,
    _CapacityGeometry,
    _parcel_rules,
    _prepare_geometry,
)
from cimkit.errors import InputError

__all__ = ["ScenarioResult", "assess_scenario"]

#: What each consequence needs, computed by assess_scenario when asked in ``impacts``
IMPACTS = ("carbon", "flood", "access", "water", "traffic")

_CACHE: weakref.WeakKeyDictionary[Any, _Context] = weakref.WeakKeyDictionary()


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True, kw_only=True)
class ScenarioResult(AnalysisResult):
    """The result of :func:`assess_scenario`.

    Attributes
    ----------
    parcels
        One row per parcel (``parcel_id``): ``zone``, the capacity columns before (suffix
        ``_baseline``) and after (``capacity_gfa_m2``, ``additional_gfa_m2``, ``best_storeys``,
        ``binding_rule``, ``allowed_footprint_m2`` ...), ``gained_gfa_m2`` (capacity after -
        before), ``constraint`` (the constraint forbidding dwellings, "" when none),
        ``added_gfa_m2``, ``residential_gfa_m2``, ``added_dwellings``, ``added_residents``,
        ``added_jobs``.
    new_homes
        The parcels with added floor area, as the consequence functions take them: parcel
        polygons in the model CRS, ``added_gfa_m2``, ``added_dwellings``, ``added_residents``,
        ``added_jobs``, ``zone``, ``residential_gfa_m2``, ``storeys``.
    scenario
        The scenario evaluated.
    impacts
        ``{name: ScenarioImpact}`` for carbon, flood, access, water, traffic (``available``
        False, with a caveat, when the data is missing).

    Examples
    --------
    >>> ScenarioResult(scenario=Scenario(name="A")).impacts
    {}
    """

    parcels: pd.DataFrame = field(default_factory=_empty_frame)
    new_homes: pd.DataFrame = field(default_factory=_empty_frame)
    scenario: Scenario | None = None
    impacts: dict[str, ScenarioImpact] = field(default_factory=dict)


@dataclass
class _Context:
    """Rule-independent inputs of a model, cached between evaluations."""

    key: tuple[int, ...]
    geometry: _CapacityGeometry
    rules: pd.DataFrame
    storey_height_m: float
    depths: dict[tuple[int, float], np.ndarray] = field(default_factory=dict)
    buffers: dict[tuple[str, float], np.ndarray] = field(default_factory=dict)


def _layer(model: Any, name: str) -> Any:
    return model[name] if name in model else None


def _context(model: Any, storey_height_m: float) -> _Context:
    """Return the cached rule-independent inputs of ``model`` (recomputed when a layer was replaced)."""
    names = ("buildings", "parcels", "zones", "prescriptions")
    key = (
        *(id(_layer(model, n)) for n in names),
        id(model.network("road")) if "road" in model.networks else 0,
    )
    try:
        cached = _CACHE.get(model)
    except TypeError:
        cached = None
    if cached is not None and cached.key == key and cached.storey_height_m == storey_height_m:
        return cached
    buildings = _layer(model, "buildings")
    parcels, zones = model["parcels"], model["zones"]
    roads = model.network("road").edges if "road" in model.networks else None
    geometry = _prepare_geometry(
        buildings if buildings is not None else parcels.iloc[:0],
        parcels,
        roads=roads,
        prescriptions=_layer(model, "prescriptions"),
        mask=None,
        storey_height_m=storey_height_m,
        limit_tolerance_m=0.5,
        road_max_distance_m=20.0,
    )
    context = _Context(key, geometry, _parcel_rules(parcels, zones), storey_height_m)
    try:
        _CACHE[model] = context
    except TypeError:  # pragma: no cover - a model that cannot be weakly referenced
        pass
    return context


def _rezone(model: Any, scenario: Scenario) -> pd.DataFrame:
    """Parcel rules after cutting the scenario's polygons out of the zones and giving them their label."""
    zones = model["zones"].copy()
    for item in scenario.rezoning:
        polygon = _to_geometry(item["geometry"], 0)
        label = item["zone"]
        same = zones.index[zones["libelle"].astype(str) == label] if "libelle" in zones.columns else []
        if not len(same):
            raise InputError(
                f"rezoning to zone {label!r}: the model has no zone of that label to take its rules from",
                hint=f"re-zone to one of {', '.join(map(str, zones['libelle'].unique()))}.",
                code="SCN003",
            )
        zones = zones.set_geometry(shapely.difference(zones.geometry.to_numpy(), polygon))
        row = zones.loc[[same[0]]].copy()
        row = row.set_geometry(gpd.GeoSeries([polygon], index=row.index, crs=zones.crs))
        row.index = pd.Index([f"rezoning_{len(zones)}"], name=zones.index.name)
        zones = pd.concat([zones, row])
    return _parcel_rules(model["parcels"], gpd.GeoDataFrame(zones, crs=model["zones"].crs))


def _apply_rules(rules: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Return a copy of the parcel rules with the scenario's edits per zone label."""
    out = rules.copy()
    labels = out["libelle"].astype(str)
    for label, edits in scenario.rules.items():
        hit = (labels == label).to_numpy()
        if not hit.any() and label not in set(labels):
            raise InputError(
                f"scenario {scenario.name!r} edits zone {label!r}, which holds no parcel",
                hint=f"the zone labels are {', '.join(sorted(set(labels) - {'None'}))}.",
                code="SCN003",
            )
        for rule, value in edits.items():
            out.loc[hit, rule] = value
    return out


def _parcel_depths(context: _Context, flood: Any, return_period: float) -> np.ndarray:
    """Deepest water (m) on each parcel at ``return_period`` (cached per flood object)."""
    from cimkit.analysis.flood.exposure import compute_footprint_stats
    from cimkit.analysis.scenario.impacts import _flood_depths

    key = (id(flood), float(return_period))
    if key not in context.depths:
        depths = _flood_depths(flood)
        if float(return_period) not in depths:
            raise InputError(
                f"the flood constraint names the {return_period:g}-year flood; the depths given are for "
                f"{', '.join(f'{rp:g}' for rp in depths)} years",
                hint="run the flood analysis for that return period.",
                code="SCN004",
            )
        polygons = gpd.GeoSeries(context.geometry.land, index=context.geometry.index)
        stats = compute_footprint_stats(polygons, depths[float(return_period)])
        context.depths[key] = np.nan_to_num(stats["max"].to_numpy(dtype="float64"), nan=0.0)
    return context.depths[key]


def _forbidden(model: Any, context: _Context, scenario: Scenario, flood: Any) -> np.ndarray:
    """Name of the constraint forbidding new dwellings on each parcel ("" when none)."""
    n = len(context.geometry.index)
    out = np.full(n, "", dtype=object)
    flood_rule = scenario.constraints.get("max_flood_depth_m")
    if flood_rule is not None:
        if flood is None:
            raise InputError(
                f"scenario {scenario.name!r} has a flood-depth constraint but no flood depths were given",
                hint="pass flood= (the result of cimkit.analysis.flood.assess).",
                code="SCN004",
            )
        depth = _parcel_depths(context, flood, float(flood_rule["return_period"]))
        out[depth > float(flood_rule["depth_m"])] = (
            f"depth > {float(flood_rule['depth_m']):g} m at {float(flood_rule['return_period']):g} years"
        )
    hazard = scenario.constraints.get("hazard_buffer")
    if hazard is not None:
        name, distance = str(hazard["layer"]), float(hazard["distance_m"])
        if name not in model:
            raise InputError(
                f"the hazard buffer names layer {name!r}, which the model does not have",
                hint="add the layer to the model or fix the name.",
                code="SCN004",
            )
        key = (name, distance)
        if key not in context.buffers:
            zone = shapely.buffer(shapely.union_all(model[name].geometry.to_numpy()), distance)
            context.buffers[key] = shapely.intersects(context.geometry.land, zone)
        out[context.buffers[key] & (out == "")] = f"within {distance:g} m of {name}"
    return out


def _homes(capacity: pd.DataFrame, scenario: Scenario, forbidden: np.ndarray) -> pd.DataFrame:
    """Compute the added floor area, dwellings, residents and jobs per parcel."""
    a = scenario.assumptions
    added = np.nan_to_num(capacity["additional_gfa_m2"].to_numpy(dtype="float64")) * a["uptake_rate"]
    residential = np.where(forbidden == "", added * a["residential_share"], 0.0)
    out = pd.DataFrame(index=capacity.index)
    out["constraint"] = forbidden
    out["added_gfa_m2"] = added
    out["residential_gfa_m2"] = residential
    out["added_dwellings"] = residential / a["dwelling_size_m2"]
    out["added_residents"] = out["added_dwellings"] * a["persons_per_dwelling"]
    out["added_jobs"] = (added - residential) * a["jobs_per_m2"]
    return out


def _evaluate(
    model: Any, context: _Context, scenario: Scenario, flood: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Capacity and homes of one scenario on the cached context."""
    rules = _rezone(model, scenario) if scenario.rezoning else context.rules
    rules = _apply_rules(rules, scenario)
    capacity = _capacity_from(context.geometry, rules, context.storey_height_m)
    homes = _homes(capacity, scenario, _forbidden(model, context, scenario, flood))
    return capacity, homes


def assess_scenario(
    model: Any,
    scenario: Scenario,
    *,
    flood: Any = None,
    baseline: Scenario | None = None,
    impacts: tuple[str, ...] = IMPACTS,
    impact_options: Mapping[str, Mapping[str, Any]] | None = None,
    storey_height_m: float = 3.0,
) -> ScenarioResult:
    """Assess what a PLU what-if scenario would allow and cost, parcel by parcel, zone and town.

    Parameters
    ----------
    model
        A :class:`~cimkit.model.CityModel` with ``parcels`` and ``zones`` (with rules), and
        when present ``buildings``, ``prescriptions`` and the road network (its edges tell road
        frontages from side limits).
    scenario
        The :class:`~cimkit.analysis.scenario.Scenario` to evaluate.
    flood
        A :class:`~cimkit.analysis.flood.FloodResult` or ``{return_period: depth Raster}``, for
        the flood constraint and the flood impact (None: both unavailable).
    baseline
        The scenario compared against (None: the model's current rules, with the scenario's
        assumptions).
    impacts
        Consequences to compute among ``carbon``, ``flood``, ``access``, ``water``, ``traffic``.
    impact_options
        Keyword arguments per consequence function, e.g. ``{"water": {"inp": "network.inp"}}``
        (``compute_water_impact``), ``{"access": {"max_time_min": 10}}``.
    storey_height_m
        Height of one storey (m).

    Returns
    -------
    ScenarioResult
        ``.parcels``, ``.new_homes``, ``.zones`` (sums per zone label), ``.city`` (town totals,
        ``_baseline`` suffixes for the baseline, ``<impact>_<indicator>`` for the impacts),
        ``.impacts`` and ``.caveats``; a provenance step ``assess_scenario`` (the scenario as JSON
        and its sha256) is attached to ``.parcels``.

    Raises
    ------
    InputError
        The scenario names a zone, a layer or a return period the model or ``flood`` lacks.

    Examples
    --------
    >>> from cimkit.analysis.scenario import Scenario, assess_scenario
    >>> from cimkit.datasets import load_sample_city
    >>> model = load_sample_city(with_ifc=False)
    >>> result = assess_scenario(model, Scenario(name="UA CES 0.8", rules={"UA": {"max_footprint_ratio": 0.8}}),
    ...                          impacts=("carbon",))
    >>> int(result.parcels["gained_gfa_m2"].gt(0).sum()) > 0, sorted(result.impacts)
    (True, ['carbon'])
    """
    unknown = sorted(set(impacts) - set(IMPACTS))
    if unknown:
        raise InputError(
            f"unknown impact(s) {', '.join(unknown)}", hint=f"choose among {', '.join(IMPACTS)}."
        )
    context = _context(model, storey_height_m)
    base = baseline or Scenario(name="current rules", assumptions=scenario.assumptions)
    before, before_homes = _evaluate(model, context, base, flood)
    after, homes = _evaluate(model, context, scenario, flood)
    parcels = _parcel_table(before, before_homes, after, homes, storey_height_m)
    new_homes = _new_homes(model, parcels)
    options = impact_options or {}
    found = {
        name: _impact(name, model, new_homes, flood, scenario, options.get(name, {})) for name in impacts
    }
    text, digest = _scenario_json(scenario)
    record = prov.Provenance(layer="scenario", reader="cimkit.analysis.scenario.assess_scenario")
    record.add_step("assess_scenario", scenario.name, scenario=text, sha256=digest, parcels=len(parcels))
    prov.attach(parcels, record)
    return ScenarioResult(
        buildings=pd.DataFrame(),
        parcels=parcels,
        new_homes=new_homes,
        zones=_zone_table(parcels),
        city=_city(parcels, found),
        caveats=_caveats(scenario, parcels, found, context),
        scenario=scenario,
        impacts=found,
    )


def _parcel_table(
    before: pd.DataFrame, before_homes: pd.DataFrame, after: pd.DataFrame, homes: pd.DataFrame, storey: float
) -> pd.DataFrame:
    out = after.rename(columns={"libelle": "zone"}).copy()
    for col in (
        "max_height_m",
        "max_footprint_ratio",
        "best_storeys",
        "capacity_gfa_m2",
        "additional_gfa_m2",
    ):
        out[f"{col}_baseline"] = before[col].to_numpy()
    for col in ("added_gfa_m2", "added_dwellings", "added_residents", "added_jobs"):
        out[f"{col}_baseline"] = before_homes[col].to_numpy()
    out["gained_gfa_m2"] = np.nan_to_num(after["capacity_gfa_m2"].to_numpy()) - np.nan_to_num(
        before["capacity_gfa_m2"].to_numpy()
    )
    out = out.join(homes)
    out.index.name = "parcel_id"
    return out


def _new_homes(model: Any, parcels: pd.DataFrame) -> gpd.GeoDataFrame:
    """Return the parcels with added floor area, in the shape the consequence functions take."""
    keep = parcels["added_gfa_m2"].to_numpy() > 0
    columns = [
        "added_gfa_m2",
        "added_dwellings",
        "added_residents",
        "added_jobs",
        "zone",
        "residential_gfa_m2",
    ]
    frame = parcels.loc[keep, columns].copy()
    frame["storeys"] = parcels.loc[keep, "best_storeys"].to_numpy()
    geometry = model["parcels"].geometry.reindex(frame.index)
    return gpd.GeoDataFrame(frame, geometry=geometry.to_numpy(), crs=model["parcels"].crs)


def _impact(
    name: str,
    model: Any,
    new_homes: gpd.GeoDataFrame,
    flood: Any,
    scenario: Scenario,
    options: Mapping[str, Any],
) -> ScenarioImpact:
    """One consequence of the new homes (unavailable, with a caveat, when its function is absent)."""
    if name == "carbon":
        year = int(scenario.assumptions["reference_year"])
        return compute_carbon_impact(new_homes, **{"reference_year": year, **options})
    from cimkit.analysis.scenario import impacts as module

    if name in ("water", "traffic"):
        import importlib

        try:
            module = importlib.import_module(f"cimkit.analysis.scenario.{name}")
        except ImportError:
            return ScenarioImpact(
                name=name, available=False, caveats=[f"The {name} impact is not installed."]
            )
    function = getattr(module, f"compute_{name}_impact", None)
    if function is None:
        return ScenarioImpact(name=name, available=False, caveats=[f"The {name} impact is not available."])
    if name == "flood":
        return function(model, new_homes, **{"flood": flood, **options})
    return function(model, new_homes, **options)


def _zone_table(parcels: pd.DataFrame) -> pd.DataFrame:
    columns = [
        "capacity_gfa_m2_baseline",
        "capacity_gfa_m2",
        "gained_gfa_m2",
        "added_gfa_m2_baseline",
        "added_gfa_m2",
        "added_dwellings_baseline",
        "added_dwellings",
        "added_residents",
        "added_jobs",
    ]
    table = parcels.groupby(parcels["zone"].astype(str))[columns].sum()
    table.insert(0, "parcels", parcels.groupby(parcels["zone"].astype(str)).size())
    table.index.name = "zone"
    return table


def _city(parcels: pd.DataFrame, found: dict[str, ScenarioImpact]) -> pd.Series:
    names = [
        "capacity_gfa_m2",
        "capacity_gfa_m2_baseline",
        "gained_gfa_m2",
        "added_gfa_m2",
        "added_gfa_m2_baseline",
        "added_dwellings",
        "added_dwellings_baseline",
        "added_residents",
        "added_residents_baseline",
        "added_jobs",
        "added_jobs_baseline",
    ]
    city = {n: float(np.nansum(parcels[n].to_numpy(dtype="float64"))) for n in names}
    city["parcels_constrained"] = float((parcels["constraint"] != "").sum())
    for name, impact in found.items():
        for key, value in impact.summary.items():
            city[f"{name}_{key}"] = float(value)
    return pd.Series(city, name="scenario")


def _caveats(
    scenario: Scenario, parcels: pd.DataFrame, found: dict[str, ScenarioImpact], context: _Context
) -> tuple[str, ...]:
    a = scenario.assumptions
    out = [
        "Capacities follow the conventions of compute_buildable_capacity (docs/scenarios.md): envelope "
        "from the road and side setbacks, footprint ratio, green share, best storey count.",
        f"New homes: {a['uptake_rate']:.0%} of the additional floor area, {a['residential_share']:.0%} of it "
        f"housing at {a['dwelling_size_m2']:g} m² per dwelling (INSEE average apartment) and "
        f"{a['persons_per_dwelling']:g} persons per dwelling (INSEE RP2021); other floor area at "
        f"{a['jobs_per_m2']:g} jobs per m² (an assumption).",
    ]
    no_front = int((~context.geometry.frontage_found).sum())
    if no_front:
        out.append(
            f"{no_front} parcel(s) have no road frontage found: all their limits count as side limits."
        )
    constrained = int((parcels["constraint"] != "").sum())
    if constrained:
        out.append(f"{constrained} parcel(s) may take no new dwellings under the scenario's constraints.")
    for impact in found.values():
        out.extend(f"{impact.name}: {c}" for c in impact.caveats)
    return tuple(out)
