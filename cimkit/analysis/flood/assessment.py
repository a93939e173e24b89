"""One-call flood assessment of a city model: depths, damages, EAD, network closures, totals."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cimkit._progress import track
from cimkit.analysis.flood.exposure import DEFAULT_FIRST_FLOOR_HEIGHT_M
from cimkit.analysis.flood.inundation import compute_flood_depths
from cimkit.analysis.flood.network_impact import DEFAULT_CLOSURE_DEPTH_M, close_flooded_edges
from cimkit.analysis.flood.risk import (
    NO_USE_WARNING,
    compute_building_damage,
    compute_ead,
    format_return_period,
)
from cimkit.analysis.result import AnalysisResult
from cimkit.data.flood import DamageCurves, load_damage_curves
from cimkit.errors import CoverageWarning, InputError, LayerNotFoundError
from cimkit.network.graph import Network
from cimkit.raster import Raster

if TYPE_CHECKING:
    from cimkit.model import CityModel

__all__ = ["FloodResult", "assess"]


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True, kw_only=True)
class FloodResult(AnalysisResult):
    """The result of :func:`assess`: flood depths, damages and expected annual damage.

    Attributes
    ----------
    buildings
        One row per building (the model's building ids): ``footprint_m2``, ``jrc_class``,
        ``max_damage_eur_m2``, ``first_floor_height_m``, ``first_floor_source`` and, per return
        period T (years), ``depth_m_rpT`` (deepest water over the footprint), ``mean_depth_m_rpT``,
        ``flooded_share_rpT`` and ``damage_eur_rpT`` (EUR 2010); then ``ead_eur`` (expected
        annual damage, EUR per year).
    zones
        One row per PLU zone (every zone of the model, indexed by zone id): ``buildings``
        (count), ``flooded_buildings_rpT``, ``damage_eur_rpT`` and ``ead_eur``; each building
        counts in the zone holding most of its footprint. Empty without a ``zones`` layer.
    parcels
        The same per cadastral parcel. Empty without a ``parcels`` layer.
    city
        Town totals: ``buildings``, ``flooded_buildings_rpT``, ``damage_eur_rpT``, ``ead_eur``,
        ``buildings_without_depth`` (no depth in any scenario: outside the DEM or on NaN
        cells), ``hand_undrained_share`` (method ``"hand"``: share of the DEM's cells with data
        left without HAND) and, with a road network, ``flooded_road_km_rpT``, ``closed_<mode>_edges_rpT`` and
        ``closed_<mode>_road_km_rpT``.
    caveats
        What the numbers cannot know (method, damage values, assumed first-floor heights ...).
    depths
        ``{return_period: depth Raster}`` (metres, 0 dry, NaN no data), sorted by return period.
    edges
        One row per road edge: ``flooded_length_m_rpT``, ``max_depth_m_rpT`` and
        ``closed_<mode>_rpT``. Empty without a road network.
    networks
        ``{return_period: road Network}`` with the flooded edges closed (NaN travel times).

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.flood import FloodResult
    >>> result = FloodResult(
    ...     buildings=pd.DataFrame({"ead_eur": [12.5, 0.0]}, index=pd.Index(["a", "b"], name="building_id")),
    ...     city=pd.Series({"ead_eur": 12.5}),
    ... )
    >>> float(result.city["ead_eur"]), result.edges.empty, result.depths
    (12.5, True, {})
    """

    parcels: pd.DataFrame = field(default_factory=_empty_frame)
    depths: dict[float, Raster] = field(default_factory=dict)
    edges: pd.DataFrame = field(default_factory=_empty_frame)
    networks: dict[float, Network] = field(default_factory=dict)


def _group_frame(table: pd.DataFrame, ids: pd.Series, index: pd.Index, labels: list[str]) -> pd.DataFrame:
    """Sum counts, damages and EAD per group, on every id of ``index`` (0 where no building)."""
    columns: dict[str, pd.Series] = {"buildings": pd.Series(1, index=table.index)}
    for label in labels:
        columns[f"flooded_buildings_{label}"] = (table[f"depth_m_{label}"] > 0).astype("int64")
    for label in labels:
        columns[f"damage_eur_{label}"] = table[f"damage_eur_{label}"]
    columns["ead_eur"] = table["ead_eur"]
    frame = pd.DataFrame(columns)
    key = ids.reindex(table.index)
    out = frame[key.notna().to_numpy()].groupby(key.dropna()).sum(min_count=1)
    out = out.reindex(index)
    counts = [c for c in out.columns if c == "buildings" or c.startswith("flooded_buildings_")]
    out[counts] = out[counts].fillna(0).astype("int64")
    out[out.columns.difference(counts)] = out[out.columns.difference(counts)].fillna(0.0)
    return out[list(frame.columns)]


def _group_table(
    table: pd.DataFrame, buildings: pd.DataFrame, layer: pd.DataFrame | None, kind: str, labels: list[str]
) -> pd.DataFrame:
    """Link each building to the parcel / zone holding most of it, and sum per parcel / zone."""
    if layer is None or len(layer) == 0:
        return _empty_frame()
    from cimkit.analysis.linking import link_buildings_to_parcels, link_buildings_to_zones

    if kind == "parcels":
        links = link_buildings_to_parcels(buildings, layer)
        name = str(layer.index.name or "parcel_id")
    else:
        links = link_buildings_to_zones(buildings, layer)
        name = str(layer.index.name or "zone_id")
    return _group_frame(table, links[name], layer.index, labels)


def _network_impact(
    network: Network, depths: Mapping[float, Raster], closure_depths_m: Mapping[str, float] | None
) -> tuple[pd.DataFrame, dict[float, Network], dict[str, float]]:
    """Edge exposure and closures per return period, and their town totals."""
    columns: dict[str, pd.Series] = {}
    networks: dict[float, Network] = {}
    totals: dict[str, float] = {}
    length_km = network.edges.geometry.length.to_numpy() / 1000.0
    for rp, depth in track(
        depths.items(), description="closing flooded streets", total=len(depths), unit="scenario"
    ):
        closed = close_flooded_edges(network, depth, closure_depths_m=closure_depths_m)
        networks[rp] = closed
        label = format_return_period(rp)
        columns[f"flooded_length_m_{label}"] = closed.edges["flooded_length_m"]
        columns[f"max_depth_m_{label}"] = closed.edges["max_depth_m"]
        totals[f"flooded_road_km_{label}"] = float(np.nansum(closed.edges["flooded_length_m"])) / 1000.0
        for column in closed.edges.columns:
            if column.startswith("closed_"):
                flags = closed.edges[column].to_numpy(dtype=bool)
                columns[f"{column}_{label}"] = closed.edges[column]
                totals[f"{column}_edges_{label}"] = float(flags.sum())
                totals[f"{column}_road_km_{label}"] = float(length_km[flags].sum())
    return pd.DataFrame(columns, index=network.edges.index), networks, totals


def _damage_caveats(
    table: pd.DataFrame,
    curve_set: DamageCurves,
    chosen: Mapping[str, Any],
    default_first_floor_m: float,
    no_use: bool,
) -> list[str]:
    source = (
        "the JRC depth-damage curves for Europe"
        if curve_set.source == "damage_curves_jrc_europe.csv"
        else f"the depth-damage curves of {curve_set.source}"
    )
    if chosen.get("gdp_per_capita_usd2010") is not None:
        values = f"the JRC maximum damage formula with a given GDP per capita of {chosen['gdp_per_capita_usd2010']:,.0f} US$ 2010"
    else:
        values = f"the JRC maximum damage values for {chosen['country']} ({chosen['chosen']})"
    out = [
        f"Damages use {source} and {values} (Huizinga et al. 2017, doi:10.2760/16510), in EUR of "
        "2010; only direct damage to buildings (structure and contents) is counted."
    ]
    assumed = int((table["first_floor_source"] == "default").sum())
    if assumed:
        out.append(
            f"First-floor heights are assumed {default_first_floor_m:g} m for {assumed} of "
            f"{len(table)} buildings where neither the IFC nor an attribute gives one."
        )
    if no_use:
        out.append("The buildings have no use: every building is costed as residential.")
    outside = _buildings_without_depth(table)
    if outside:
        out.append(
            f"{outside} of {len(table)} building(s) lie outside the DEM or on no data (or, with "
            "HAND, where no drainage is reached): no depth and no damage is counted for them."
        )
    return out


def _buildings_without_depth(table: pd.DataFrame) -> int:
    """Count the buildings whose depth is NaN in every scenario (outside the grid or on NaN cells)."""
    depth = table.filter(regex=r"^depth_m_rp")
    return int(depth.isna().all(axis=1).sum()) if depth.shape[1] else 0


def _coverage(
    table: pd.DataFrame, depths: Mapping[float, Raster], method: str, city: dict[str, float]
) -> tuple[dict[str, float], list[str]]:
    """Add to ``city`` what the flood grids leave unanswered, with caveats; warns as it goes."""
    city["buildings_without_depth"] = float(_buildings_without_depth(table))
    caveats: list[str] = []
    missing = int(city["buildings_without_depth"])
    if missing:
        warnings.warn(
            f"{missing} of {len(table)} building(s) ({missing / len(table):.1%}) get no flood depth (outside "
            "the DEM, on no-data cells or, with HAND, on cells draining to no stream): their damage "
            "is not counted. See result.city['buildings_without_depth'].",
            CoverageWarning,
            stacklevel=3,
        )
    first = next(iter(depths.values()), None)
    if method == "hand" and first is not None and "undrained_share" in first.attrs:
        share = float(first.attrs["undrained_share"])
        city["hand_undrained_share"] = share
        caveats.append(
            f"HAND is undefined on {share:.1%} of the DEM's cells with data (their flow leaves the "
            "grid before a stream): no depth is computed there; lower accumulation_threshold= or "
            "pass streams= to cover them."
        )
    return city, caveats


def _depth_caveats(method: str, inflow: Any) -> list[str]:
    out = {
        "bathtub": "Depths come from a connected bathtub: a flat water surface at each return "
        "period's level spreads over lower ground connected to the inflow; flow dynamics, "
        "duration, drainage and defences other than the terrain are ignored.",
        "hand": "Depths come from HAND (height above the nearest drainage): the water stands at "
        "the given height above the nearest stream; flow dynamics, backwater and defences are "
        "ignored.",
        "depth": "Depths are the given depth grids, used as they are.",
    }[method]
    caveats = [out]
    if method == "bathtub" and (inflow is None or (isinstance(inflow, str) and inflow == "edge")):
        caveats.append("No inflow was given: the water enters from the edge of the DEM.")
    return caveats


def _risk_caveats(
    rps: list[float], ead: Mapping[str, Any], closures: Mapping[str, float] | None
) -> list[str]:
    caveats = []
    first, last = format_return_period(rps[0])[2:], format_return_period(rps[-1])[2:]
    rule = "trapezoid rule" if ead["method"] == "trapezoid" else "log-linear rule (as Delft-FIAT)"
    frequent = (
        f"no damage is counted for floods more frequent than {ead['protection_return_period']:g} years"
        if ead["protection_return_period"] is not None
        else f"floods more frequent than {first} years add nothing"
    )
    rare_tail = ead["rare_tail"] if ead["rare_tail"] is not None else ead["method"] == "loglinear"
    rare = (
        f"floods rarer than {last} years are counted at the {last}-year damage"
        if rare_tail
        else f"floods rarer than {last} years add nothing"
    )
    caveats.append(
        f"Expected annual damage integrates damage over the annual exceedance probability by "
        f"the {rule} between the {first}- and {last}-year floods; {frequent} and {rare}."
    )
    if closures is None:
        caveats.append("The model has no road network: no street closure was computed.")
    else:
        limits = ", ".join(f"{mode} {depth:g} m" for mode, depth in closures.items())
        caveats.append(
            f"A street closes when the deepest water along it exceeds: {limits}; an edge tagged as a "
            "bridge stays open (its deck is assumed above the water: deck heights are not known)."
        )
    return caveats


def _damage_table(
    buildings: pd.DataFrame,
    depths: dict[float, Raster],
    dem: Raster | None,
    curve_set: DamageCurves,
    depth_statistic: Literal["wet_mean", "mean", "max"],
    **options: Any,
) -> pd.DataFrame:
    """Compute the damage per building and scenario; a missing ``use`` is told in the caveats."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=NO_USE_WARNING)
        return compute_building_damage(
            buildings, depths, curves=curve_set, dem=dem, depth_statistic=depth_statistic, **options
        )


def _city_totals(table: pd.DataFrame, labels: list[str]) -> dict[str, float]:
    """Sum the buildings, flooded buildings, damages and EAD over the town."""
    city: dict[str, float] = {"buildings": float(len(table))}
    for label in labels:
        city[f"flooded_buildings_{label}"] = float((table[f"depth_m_{label}"] > 0).sum())
    for label in labels:
        city[f"damage_eur_{label}"] = float(table[f"damage_eur_{label}"].sum())
    city["ead_eur"] = float(table["ead_eur"].sum())
    return city


def _model_inputs(model: Any, method: str) -> tuple[Any, Raster | None]:
    buildings = model.buildings
    if buildings is None or len(buildings) == 0:
        raise LayerNotFoundError(
            "the model has no buildings to assess",
            layer="buildings",
            hint="add them with model.add_layer('buildings', ...).",
        )
    dem = model.dem
    if dem is None and method != "depth":
        raise InputError(
            f"method {method!r} needs the model's DEM; the model has none",
            layer="dem",
            hint="set it with model.set_dem(cimkit.read_dem(path)), or pass depth grids with method='depth'.",
        )
    return buildings, dem


def assess(
    model: CityModel,
    scenarios: Mapping[Any, float | Raster | np.ndarray] | pd.Series,
    *,
    method: Literal["bathtub", "hand", "depth"] = "bathtub",
    inflow: Any = None,
    streams: Any = None,
    ead_method: Literal["trapezoid", "loglinear"] = "trapezoid",
    protection_return_period: float | None = None,
    rare_tail: bool | None = None,
    closure_depths_m: Mapping[str, float] | None = None,
    country: str | None = None,
    gdp_per_capita_usd2010: float | None = None,
    curves: DamageCurves | str = "jrc_europe",
    default_first_floor_m: float = DEFAULT_FIRST_FLOOR_HEIGHT_M,
    depth_statistic: Literal["wet_mean", "mean", "max"] = "wet_mean",
) -> FloodResult:
    """Assess the flood risk of a city model: depths, damages and EAD by building, zone and town.

    Uses ``model.buildings`` and ``model.dem``; when present, ``model.zones`` and
    ``model.parcels`` (each building counts in the zone / parcel holding most of its footprint,
    :func:`~cimkit.analysis.linking.link_buildings_to_zones`) and the road network
    (``model.network("road")``: flooded edges closed per travel mode).

    Parameters
    ----------
    model
        The city model.
    scenarios
        ``{return_period_years: value}`` or a Series indexed by return period: water levels (m,
        same datum as the DEM) for ``"bathtub"``, water heights above the drainage for
        ``"hand"``, depth Rasters for ``"depth"`` (see
        :func:`~cimkit.analysis.flood.inundation.compute_flood_depths`).
    method
        ``"bathtub"`` (connected), ``"hand"`` or ``"depth"``.
    inflow
        Where the water enters (river lines, a mask; default the edge of the DEM), for the bathtub.
    streams
        The drainage for HAND (lines or a mask; default: cells draining 1 km²).
    ead_method
        ``"trapezoid"`` or ``"loglinear"`` (:func:`~cimkit.analysis.flood.risk.compute_ead`).
    protection_return_period
        Return period (years) up to which floods do no damage.
    rare_tail
        Count floods rarer than the rarest scenario at its damage.
    closure_depths_m
        ``{mode: depth in m}`` above which a street closes (default car 0.3, bike and walk 0.2).
    country
        ISO 3166 alpha-2 country of the maximum damages. None: the country at the centre of the
        model's buildings (:func:`~cimkit.data.countries.find_country_of_bbox`); a
        :class:`~cimkit.errors.CountryError` when it is not found or has no GDP per capita in
        ``gdp_per_capita_jrc.csv`` (then pass ``gdp_per_capita_usd2010=``).
    gdp_per_capita_usd2010
        GDP per capita (US$ 2010) for the JRC maximum damages, instead of the country's.
    curves
        ``"jrc_europe"``, a CSV path or :class:`~cimkit.data.flood.DamageCurves`.
    default_first_floor_m
        First-floor height (m) where neither the IFC nor an attribute gives one.
    depth_statistic
        Depth over each footprint fed to the curves (``"wet_mean"``, ``"mean"``, ``"max"``).

    Returns
    -------
    FloodResult
        ``.buildings``, ``.zones``, ``.parcels``, ``.city``, ``.caveats``, ``.depths``,
        ``.edges`` and ``.networks``.

    Examples
    --------
    The sample city under its 10-, 100- and 1000-year river levels, the river as inflow:

    >>> import pandas as pd
    >>> from cimkit.analysis import flood
    >>> from cimkit.datasets import load_sample_city, sample_city_path
    >>> model = load_sample_city(with_ifc=False)
    >>> levels = pd.read_csv(sample_city_path() / "flood_scenarios.csv")
    >>> scenarios = levels.set_index("return_period")["water_level_m"]
    >>> result = flood.assess(model, scenarios, inflow=model["river"])
    >>> result.city[["flooded_buildings_rp10", "flooded_buildings_rp100", "flooded_buildings_rp1000"]].tolist()
    [0.0, 7.0, 12.0]
    >>> round(result.city["ead_eur"]), round(result.buildings["ead_eur"].sum()), round(result.zones["ead_eur"].sum())
    (6981, 6981, 6981)
    >>> result.zones.loc["91999_PLU_20230615_UA", ["buildings", "flooded_buildings_rp100"]].tolist()
    [18, 3]
    """
    buildings, dem = _model_inputs(model, method)
    depths = compute_flood_depths(dem, scenarios, method=method, inflow=inflow, streams=streams)
    curve_set = curves if isinstance(curves, DamageCurves) else load_damage_curves(curves)
    options = {"country": country, "gdp_per_capita_usd2010": gdp_per_capita_usd2010}
    options["default_first_floor_m"] = default_first_floor_m
    table = _damage_table(buildings, depths, dem, curve_set, depth_statistic, **options)
    rps = list(depths)
    labels = [format_return_period(rp) for rp in rps]
    ead = {"method": ead_method, "protection_return_period": protection_return_period, "rare_tail": rare_tail}
    damages = table[[f"damage_eur_{label}" for label in labels]]
    table["ead_eur"] = compute_ead(
        rps,
        damages,
        method=ead_method,
        protection_return_period=protection_return_period,
        rare_tail=rare_tail,
    )
    city, coverage_caveats = _coverage(table, depths, method, _city_totals(table, labels))
    chosen = dict(table.attrs.get("max_damage", {"country": country, "chosen": "given"}))
    edges, networks, closures = _empty_frame(), dict[float, Network](), None
    if "road" in model.networks:
        edges, networks, road_totals = _network_impact(model.network("road"), depths, closure_depths_m)
        city.update(road_totals)
        closures = dict(DEFAULT_CLOSURE_DEPTH_M if closure_depths_m is None else closure_depths_m)
    caveats = [
        *_depth_caveats(method, inflow),
        *coverage_caveats,
        *_damage_caveats(table, curve_set, chosen, default_first_floor_m, "use" not in buildings),
        *_risk_caveats(rps, ead, closures),
    ]
    zones = _group_table(table, buildings, model.zones, "zones", labels)
    parcels = _group_table(table, buildings, model.parcels, "parcels", labels)
    return FloodResult(
        buildings=table,
        zones=zones,
        parcels=parcels,
        city=pd.Series(city, name="flood"),
        caveats=tuple(caveats),
        depths=depths,
        edges=edges,
        networks=networks,
    )
