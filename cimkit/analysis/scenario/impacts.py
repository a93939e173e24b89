"""What new homes do: the shared result shape of a scenario's consequences, flood and access.

Every consequence function of a PLU what-if (``compute_flood_impact``, ``compute_access_impact``,
``compute_water_impact``, ``compute_traffic_impact``) takes the ``new_homes`` table of a
scenario (a GeoDataFrame indexed by ``parcel_id``, parcel polygons in the model CRS, with
``added_gfa_m2``, ``added_dwellings``, ``added_residents``, ``added_jobs`` and ``zone``) and
returns one :class:`ScenarioImpact`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from cimkit import provenance as prov
from cimkit.errors import CoverageWarning, InputError, LayerNotFoundError
from cimkit.raster import Raster

if TYPE_CHECKING:
    from cimkit.model import CityModel
    from cimkit.network.graph import Network

__all__ = ["ScenarioImpact", "compute_access_impact", "compute_flood_impact"]

#: The columns every ``new_homes`` table carries.
NEW_HOMES_COLUMNS = ("added_gfa_m2", "added_dwellings", "added_residents", "added_jobs", "zone")


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(index=pd.Index([], name="parcel_id"))


@dataclass(frozen=True, kw_only=True)
class ScenarioImpact:
    """One consequence (flood, access, water, traffic) of the new homes of a scenario.

    Attributes
    ----------
    name
        What the impact measures: ``"flood"``, ``"access"``, ``"water"`` or ``"traffic"``.
    parcels
        Per-parcel values, indexed by ``parcel_id``; columns carry their unit. Its provenance
        record (``cimkit.provenance.get(impact.parcels)``) holds the assumptions used.
    summary
        City-level indicators, the unit in each key (``dwellings_flooded_rp100``,
        ``added_ead_eur``, ``min_pressure_after_m``).
    caveats
        Plain sentences: the assumptions and their sources, and what is missing.
    available
        False when the model lacks the data the impact needs (``caveats`` then says what is
        missing and how to add it); ``parcels`` and ``summary`` are then empty or partial.
    tables
        Further tables by name: ``"junctions"`` (water: pressures per junction), ``"edges"``
        (traffic: added trips per street segment).

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.scenario.impacts import ScenarioImpact
    >>> impact = ScenarioImpact(
    ...     name="flood",
    ...     parcels=pd.DataFrame({"depth_rp100_m": [0.4]}, index=pd.Index(["p1"], name="parcel_id")),
    ...     summary={"dwellings_flooded_rp100": 12.0},
    ...     caveats=["depths are bathtub estimates"],
    ... )
    >>> impact.available, impact.summary["dwellings_flooded_rp100"]
    (True, 12.0)
    """

    name: str
    parcels: pd.DataFrame = field(default_factory=_empty_frame)
    summary: dict[str, float] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=list)
    available: bool = True
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def _check_new_homes(model: Any, new_homes: Any) -> gpd.GeoDataFrame:
    """Validate the ``new_homes`` table of the contract and return it (not copied)."""
    if not isinstance(new_homes, gpd.GeoDataFrame):
        raise InputError(
            f"'new_homes' must be a GeoDataFrame of parcels; {type(new_homes).__name__} was given",
            layer="new_homes",
            code="SCN201",
            hint="pass the parcels table of a scenario evaluation (indexed by parcel_id).",
        )
    missing = [c for c in NEW_HOMES_COLUMNS if c not in new_homes.columns]
    if missing:
        raise InputError(
            f"'new_homes' lacks the column(s) {', '.join(missing)}",
            layer="new_homes",
            code="SCN201",
            hint=f"the table needs {', '.join(NEW_HOMES_COLUMNS)} (0 where nothing is added).",
        )
    crs = getattr(model, "crs", None)
    if crs is not None and (new_homes.crs is None or not new_homes.crs.equals(crs)):
        raise InputError(
            f"'new_homes' is in {new_homes.crs.to_string() if new_homes.crs else 'no CRS'}, "
            f"the model in {crs.to_string()}",
            layer="new_homes",
            code="SCN202",
            hint="reproject it first: new_homes.to_crs(model.crs).",
        )
    return new_homes


def _record(frame: pd.DataFrame, name: str, detail: str, **params: Any) -> pd.DataFrame:
    """Attach a provenance record (the impact, its assumptions and counts) to ``frame``."""
    record = prov.Provenance(
        layer=f"scenario_{name}", reader=f"cimkit.analysis.scenario.compute_{name}_impact"
    )
    prov.attach(frame, record.add_step(f"{name}_impact", detail, **params))
    return frame


def _unavailable(name: str, reason: str) -> ScenarioImpact:
    return ScenarioImpact(name=name, available=False, caveats=[reason])


def _flood_depths(flood: Any) -> dict[float, Raster]:
    """``{return_period: depth Raster}`` from a FloodResult, a mapping or one Raster."""
    depths = getattr(flood, "depths", flood)
    if isinstance(depths, Raster):
        rp = depths.attrs.get("return_period")
        if rp is None:
            raise InputError(
                "one depth grid was given without a return period",
                code="SCN203",
                hint="pass {return_period: depth Raster}, or a FloodResult (its .depths).",
            )
        depths = {rp: depths}
    if not isinstance(depths, Mapping) or not all(isinstance(r, Raster) for r in depths.values()):
        raise InputError(
            f"'flood' must be a FloodResult or {{return_period: depth Raster}}; {type(flood).__name__} was given",
            code="SCN203",
            hint="run cimkit.analysis.flood.assess(model, scenarios) and pass its result.",
        )
    return {float(rp): r for rp, r in sorted(depths.items(), key=lambda item: float(item[0]))}


def _damage_basis_m2(homes: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Floor area the JRC damage per m² applies to: the new ground floor, else all new floor area."""
    gfa = homes["added_gfa_m2"].to_numpy(dtype="float64")
    if "storeys" in homes.columns:
        storeys = homes["storeys"].to_numpy(dtype="float64")
        ok = np.isfinite(storeys) & (storeys >= 1)
        return np.where(
            ok, gfa / np.where(ok, storeys, 1.0), gfa
        ), "the new ground floor (added_gfa_m2 / storeys)"
    return gfa, "all the new floor area (no storeys column: an upper bound, upper floors stay dry)"


def compute_flood_impact(
    model: CityModel,
    new_homes: gpd.GeoDataFrame,
    *,
    flood: Any = None,
    country: str | None = None,
    ead_method: Literal["trapezoid", "loglinear"] = "trapezoid",
    protection_return_period: float | None = None,
    rare_tail: bool | None = None,
) -> ScenarioImpact:
    """Compute the flood exposure of a scenario's new homes: flooded dwellings and added EAD.

    The water depth is taken over each **parcel** polygon (the building's place on the parcel
    is not known before it is designed): a parcel is exposed at a return period when any part
    of it is under water (deepest cell > 0), and all its new dwellings then count as flooded
    (the parcel-wide logic of a French PPRI). The added damage uses the JRC residential
    depth-damage curve and maximum damage per m² (Huizinga et al. 2017, doi:10.2760/16510,
    through :func:`~cimkit.analysis.flood.compute_building_damage`: the curve at the mean depth
    of the wet part of the parcel above the default first-floor height, scaled by the wet share)
    applied to the new ground floor (``added_gfa_m2 / storeys`` when a ``storeys`` column is
    given, else the whole new floor area, an upper bound); the added EAD integrates those damages
    over the annual exceedance probability with :func:`~cimkit.analysis.flood.compute_ead`.

    Parameters
    ----------
    model
        The city model (its CRS is the one of ``new_homes``).
    new_homes
        The scenario's new homes: GeoDataFrame indexed by ``parcel_id`` (parcel polygons) with
        ``added_gfa_m2``, ``added_dwellings``, ``added_residents``, ``added_jobs`` and ``zone``
        (optional ``storeys``).
    flood
        A :class:`~cimkit.analysis.flood.FloodResult` or ``{return_period: depth Raster}``; None:
        the impact is not available (a caveat says how to add it).
    country
        ISO country of the maximum damages (None: found at the parcels' location).
    ead_method, protection_return_period, rare_tail
        As for :func:`~cimkit.analysis.flood.compute_ead`.

    Returns
    -------
    ScenarioImpact
        ``name="flood"``; ``parcels``: per return period T ``depth_m_rpT`` (deepest, m),
        ``flooded_share_rpT``, ``dwellings_flooded_rpT``, ``added_damage_eur_rpT``, then
        ``added_ead_eur``; ``summary``: ``dwellings_flooded_rpT``, ``residents_flooded_rpT``,
        ``parcels_flooded_rpT``, ``added_damage_eur_rpT`` and ``added_ead_eur`` (EUR 2010/year).

    Raises
    ------
    InputError
        ``new_homes`` lacks a column (``SCN201``) or is in another CRS (``SCN202``); ``flood``
        is neither a FloodResult nor depth grids by return period (``SCN203``).

    Examples
    --------
    One 20 m x 20 m parcel with 4 new dwellings (400 m² on 2 storeys) under 1 m of water at the
    100-year flood; dry at the 10-year flood:

    >>> import geopandas as gpd
    >>> import numpy as np
    >>> import shapely
    >>> from affine import Affine
    >>> import cimkit
    >>> from cimkit.analysis.scenario.impacts import compute_flood_impact
    >>> from cimkit.raster import Raster
    >>> homes = gpd.GeoDataFrame(
    ...     {"added_gfa_m2": [400.0], "added_dwellings": [4.0], "added_residents": [9.0],
    ...      "added_jobs": [0.0], "zone": ["UB"], "storeys": [2]},
    ...     geometry=[shapely.box(651000, 6847000, 651020, 6847020)], crs="EPSG:2154",
    ...     index=gpd.pd.Index(["P1"], name="parcel_id"))
    >>> grid = Affine(10, 0, 651000, 0, -10, 6847020)
    >>> depths = {10: Raster(np.zeros((2, 2)), grid, "EPSG:2154"),
    ...           100: Raster(np.ones((2, 2)), grid, "EPSG:2154")}
    >>> impact = compute_flood_impact(cimkit.CityModel("EPSG:2154"), homes, flood=depths, country="FR")
    >>> impact.summary["dwellings_flooded_rp100"], impact.summary["dwellings_flooded_rp10"]
    (4.0, 0.0)
    >>> round(impact.summary["added_damage_eur_rp100"])  # 200 m² ground floor x 775.63 EUR/m² x 0.40 (1 m)
    62050
    """
    from cimkit.analysis.flood import compute_building_damage, compute_ead, format_return_period

    homes = _check_new_homes(model, new_homes)
    if flood is None:
        return _unavailable(
            "flood",
            "No flood depths were given: run the flood analysis (cimkit.analysis.flood.assess(model, "
            "{return_period: water level}, inflow=river), or `cimkit flood`) and pass its result as flood=.",
        )
    depths = _flood_depths(flood)
    rps = list(depths)
    labels = [format_return_period(rp) for rp in rps]
    out = pd.DataFrame(index=homes.index)
    summary: dict[str, float] = {"dwellings_added": float(homes["added_dwellings"].sum())}
    if len(homes) == 0:
        return ScenarioImpact(name="flood", parcels=out, summary=summary, caveats=["No new homes."])
    frame = gpd.GeoDataFrame({"use": "residential"}, geometry=homes.geometry.values, index=homes.index)
    damage = compute_building_damage(frame, depths, country=country)
    basis, basis_text = _damage_basis_m2(homes)
    scale = basis / damage["footprint_m2"].to_numpy()
    dwellings = homes["added_dwellings"].to_numpy(dtype="float64")
    residents = homes["added_residents"].to_numpy(dtype="float64")
    for label in labels:
        depth = damage[f"depth_m_{label}"].to_numpy(dtype="float64")
        wet = np.nan_to_num(depth, nan=0.0) > 0
        out[f"depth_m_{label}"] = depth
        out[f"flooded_share_{label}"] = damage[f"flooded_share_{label}"].to_numpy()
        out[f"dwellings_flooded_{label}"] = np.where(wet, dwellings, 0.0)
        out[f"added_damage_eur_{label}"] = np.nan_to_num(damage[f"damage_eur_{label}"].to_numpy() * scale)
        summary[f"dwellings_flooded_{label}"] = float(out[f"dwellings_flooded_{label}"].sum())
        summary[f"residents_flooded_{label}"] = float(np.where(wet, residents, 0.0).sum())
        summary[f"parcels_flooded_{label}"] = float((wet & (dwellings > 0)).sum())
        summary[f"added_damage_eur_{label}"] = float(out[f"added_damage_eur_{label}"].sum())
    out["added_ead_eur"] = compute_ead(
        rps,
        out[[f"added_damage_eur_{label}" for label in labels]],
        method=ead_method,
        protection_return_period=protection_return_period,
        rare_tail=rare_tail,
    )
    summary["added_ead_eur"] = float(out["added_ead_eur"].sum())
    caveats = [
        "Depths are taken over the whole parcel: a parcel is exposed when any part of it is under water, "
        "and all its new dwellings count as flooded (an upper bound where the homes could be built on "
        "the dry part).",
        f"Added damage: JRC residential curve and maximum damage per m² (Huizinga et al. 2017, "
        f"doi:10.2760/16510), EUR 2010, on {basis_text}, at the default first-floor height.",
        f"Added EAD: {ead_method} integration over the return periods {', '.join(f'{rp:g}' for rp in rps)} "
        "years; floods more frequent or rarer than these are not counted unless the tails are set.",
    ]
    unknown = int(np.isnan(damage[f"depth_m_{labels[0]}"].to_numpy(dtype="float64")).sum())
    if unknown:
        message = f"{unknown} of {len(homes)} parcel(s) lie outside the depth grids: counted as dry"
        warnings.warn(CoverageWarning(message, code="SCN302"), stacklevel=2)
        caveats.append(message + ".")
    _record(
        out,
        "flood",
        "new dwellings on wet parcels, JRC residential damage, EAD",
        return_periods=rps,
        ead_method=ead_method,
        damage_basis=basis_text,
        parcels=len(homes),
        parcels_outside_depths=unknown,
    )
    return ScenarioImpact(name="flood", parcels=out, summary=summary, caveats=caveats)


def _access_inputs(model: Any, weight: str) -> tuple[Network | None, Any, str | None]:
    """Return the road network and the POIs, or the reason why the access impact is not available."""
    try:
        network = model.network("road")
    except LayerNotFoundError:
        return (
            None,
            None,
            (
                "The model has no road network: add one with model.add_network(cimkit.read_network(path, "
                "kind='road')) to measure the access of the new homes."
            ),
        )
    pois = model.pois
    if pois is None or len(pois) == 0:
        return (
            None,
            None,
            "The model has no 'pois' layer: add the points of interest (with a category column).",
        )
    if weight not in network.edges.columns:
        return None, None, f"The road network has no {weight!r} column: build it with walking times."
    return network, pois, None


def compute_access_impact(
    model: CityModel,
    new_homes: gpd.GeoDataFrame,
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
    max_time_min: float = 15.0,
    weight: str = "walk_time_min",
    walk_kmh: float | None = None,
) -> ScenarioImpact:
    """Compute the walking access of a scenario's new homes to everyday services.

    For every parcel with new residents, the time on ``model.network("road")`` from the
    parcel's representative point (a point inside the polygon, snapped to the nearest street
    node) to the nearest POI of each service group, and the 15-minute score of
    :func:`~cimkit.analysis.accessibility.compute_fifteen_minute_score` (share of the groups
    reached within ``max_time_min``). City figures are weighted by the new residents.

    Parameters
    ----------
    model
        A city model with a ``road`` network (with the ``weight`` column) and ``pois``.
    new_homes
        The scenario's new homes (see :func:`compute_flood_impact`).
    categories
        Service group → POI categories (default
        :data:`~cimkit.analysis.accessibility.DEFAULT_CATEGORIES`: ``education`` is the school,
        ``food`` and ``shopping`` the shops, ``health`` the doctor and pharmacy).
    max_time_min
        Time budget of the score, minutes.
    weight
        Edge time column in minutes.
    walk_kmh
        Speed of the straight-line walk between a point and its street node, km/h; None (the
        default) counts the street times only.

    Returns
    -------
    ScenarioImpact
        ``name="access"``; ``parcels`` (parcels with new residents): ``added_residents``,
        ``<group>_min``, ``groups_reached``, ``score``; ``summary``: ``residents_added``,
        ``score_mean`` (weighted by new residents, 0-1), per group ``<group>_min_mean``
        (weighted mean time, min, over the residents who reach one) and
        ``<group>_within_<T>min_share`` (share of new residents within the budget).
        Not available without a road network or POIs.

    Examples
    --------
    The sample city's streets and POIs, one new block of 30 residents on a central parcel:

    >>> import warnings
    >>> import geopandas as gpd
    >>> import shapely
    >>> import cimkit
    >>> from cimkit.analysis.scenario.impacts import compute_access_impact
    >>> from cimkit.datasets import sample_city_path
    >>> folder = sample_city_path()
    >>> model = cimkit.CityModel("EPSG:2154")
    >>> _ = model.add_layer("pois", gpd.read_file(folder / "pois.geojson"))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # two street ends snapped
    ...     _ = model.add_network(cimkit.read_network(folder / "streets.geojson", kind="road"))
    >>> homes = gpd.GeoDataFrame(
    ...     {"added_gfa_m2": [900.0], "added_dwellings": [14.0], "added_residents": [30.0],
    ...      "added_jobs": [0.0], "zone": ["UA"]},
    ...     geometry=[shapely.box(650990, 6846990, 651030, 6847030)], crs="EPSG:2154",
    ...     index=gpd.pd.Index(["P1"], name="parcel_id"))
    >>> impact = compute_access_impact(model, homes)
    >>> impact.summary["residents_added"], impact.summary["score_mean"]
    (30.0, 1.0)
    """
    from cimkit.analysis.accessibility import DEFAULT_CATEGORIES, compute_fifteen_minute_score

    homes = _check_new_homes(model, new_homes)
    network, pois, reason = _access_inputs(model, weight)
    if reason is not None:
        return _unavailable("access", reason)
    groups = {g: list(c) for g, c in (categories if categories is not None else DEFAULT_CATEGORIES).items()}
    homes = homes[homes["added_residents"].to_numpy(dtype="float64") > 0]
    residents = homes["added_residents"].astype("float64")
    summary: dict[str, float] = {"residents_added": float(residents.sum())}
    if len(homes) == 0:
        return ScenarioImpact(name="access", parcels=pd.DataFrame(index=homes.index), summary=summary)
    origins = gpd.GeoDataFrame(geometry=homes.geometry.representative_point(), index=homes.index)
    score = compute_fifteen_minute_score(
        network,
        origins,
        pois,
        categories=groups,
        max_time_min=max_time_min,
        weight=weight,
        walk_kmh=walk_kmh,
    )
    out = pd.concat([residents, score], axis=1)
    total = float(residents.sum())
    summary["score_mean"] = float((score["score"] * residents).sum() / total)
    for group in groups:
        t = score[f"{group}_min"]
        reached = t.notna()
        within = reached & (t <= max_time_min)
        weight_in = residents[reached]
        mean = (
            float((t[reached] * weight_in).sum() / weight_in.sum()) if weight_in.sum() > 0 else float("nan")
        )
        summary[f"{group}_min_mean"] = mean
        summary[f"{group}_within_{max_time_min:g}min_share"] = float(residents[within].sum() / total)
    caveats = [
        f"Walking times on the street network ({weight}) from a point inside each parcel, snapped to "
        f"its nearest street node{' (the walk to it not counted)' if walk_kmh is None else ''}; "
        "the new building's entrance is not known.",
        "Service groups and the 15-minute score follow cimkit's convention (docs/accessibility.md).",
    ]
    _record(
        out,
        "access",
        "walking times from parcel points to the nearest POI of each group",
        weight=weight,
        max_time_min=max_time_min,
        walk_kmh=walk_kmh,
        parcels=len(homes),
    )
    return ScenarioImpact(name="access", parcels=out, summary=summary, caveats=caveats)
