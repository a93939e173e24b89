"""Accessibility of a whole city model in one call: :func:`assess`.

From a :class:`~cimkit.model.CityModel` with ``buildings``, ``pois`` and a ``road`` network (and,
optionally, ``zones``), :func:`assess` computes for every building the door-to-door time to the
nearest POI of each category and the 15-minute score; summarises them over the homes (buildings
of residential use) per PLU zone and for the whole city; and, given a network with flooded
streets closed, the same on that network and the loss.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cimkit.analysis.accessibility._travel import DEFAULT_WALK_KMH, check_speed, check_time_budget
from cimkit.analysis.accessibility.metrics import compute_nearest_times
from cimkit.analysis.accessibility.population import _use_class
from cimkit.analysis.accessibility.scores import (
    _groups_and_weights,
    _score_from_nearest,
    compute_access_loss,
    summarise_by_zone,
)
from cimkit.analysis.result import AnalysisResult
from cimkit.errors import CoverageWarning, InputError, ValidationError
from cimkit.network.graph import Network
from cimkit.options import get_options

if TYPE_CHECKING:
    from cimkit.model import CityModel

__all__ = ["AccessibilityResult", "assess"]


@dataclass(frozen=True, kw_only=True)
class AccessibilityResult(AnalysisResult):
    """Accessibility of a city model (see :func:`assess`).

    Parameters
    ----------
    buildings
        One row per building (indexed by building id): ``<category>_min`` (time to the nearest POI
        of each category, NaN when none is reachable), ``<group>_min`` (nearest of the service
        group), ``groups_reached``, ``score`` (15-minute score, 0-1), ``access_distance_m``
        (straight line from the building's centroid to its nearest street node), ``home`` (True
        for a residential building) and ``zone_id`` (when the model has zones).
    zones
        One row per zone (indexed by zone id), over its homes: ``homes`` (count),
        ``<category>_min_median``, ``score_mean``, ``score_median``; with a closed network also
        ``flooded_score_mean``, ``flooded_score_median`` and ``homes_cut_off``.
    city
        Totals over the homes: ``homes``, ``homes_all_groups`` (score 1), ``score_mean``,
        ``score_median``, ``<category>_min_median`` (a home that reaches no POI of the category
        counts as infinitely far; NaN when the category has no POI); coverage counts:
        ``pois_<category>`` (POIs of each category), ``homes_unreachable_<category>`` (homes
        reaching none), ``homes_far_from_network`` and ``pois_far_from_network`` (farther than the
        ``access_distance_m`` option from their nearest street node); with a closed network also
        ``flooded_score_mean``, ``homes_cut_off`` and ``homes_losing_score``.
    caveats
        What the numbers cannot know.
    flooded
        The per-building columns of ``buildings`` computed on the closed network (None without
        one).
    loss
        Per building, ``<column>_loss`` (extra minutes for every time column, ``inf`` when a
        destination becomes unreachable), ``cut_off`` and ``score_loss`` (None without a closed
        network).

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.accessibility import AccessibilityResult
    >>> result = AccessibilityResult(city=pd.Series({"homes": 12, "score_mean": 0.75}))
    >>> float(result.city["score_mean"]), result.flooded is None
    (0.75, True)
    """

    flooded: pd.DataFrame | None = None
    loss: pd.DataFrame | None = None


def _building_metrics(
    network: Network,
    buildings: pd.DataFrame,
    pois: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    weights: Mapping[str, float],
    *,
    max_time_min: float,
    weight: str,
    walk_kmh: float | None,
) -> pd.DataFrame:
    """Nearest times per category and group, groups reached and score, per building."""
    cats = sorted({c for cs in groups.values() for c in cs})
    near = compute_nearest_times(network, buildings, pois, categories=cats, weight=weight, walk_kmh=walk_kmh)
    score = _score_from_nearest(near, groups, weights, max_time_min)
    # a group made of the one category of its own name gives the same column twice: keep one
    score = score.drop(columns=[c for c in score.columns if c in near.columns])
    return pd.concat([near, score], axis=1)


def _loss(base: pd.DataFrame, flooded: pd.DataFrame) -> pd.DataFrame:
    """Extra minutes per time column, ``cut_off`` and the score lost, per building."""
    times = [c for c in base.columns if c.endswith("_min")]
    loss = compute_access_loss(base[times], flooded[times], kind="time")
    loss["score_loss"] = base["score"] - flooded["score"]
    return loss


def _check_groups(groups: Mapping[str, Sequence[str]]) -> None:
    cats = {c for cs in groups.values() for c in cs}
    for g, members in groups.items():
        if g in cats and list(members) != [g]:
            raise ValidationError(
                f"the service group {g!r} has the name of a POI category but other members {list(members)}",
                hint="give the group a name that is not a POI category.",
            )


def _times_caveat(weight: str, walk_kmh: float | None) -> str:
    access = (
        f"with straight-line walks at {walk_kmh} km/h between a building's centroid or a POI and its "
        "nearest street node"
        if walk_kmh is not None
        else "from each building's and POI's nearest street node (no access walk)"
    )
    return (
        f"Times are door to door on the street network ({weight}), {access}; slopes, crossings and "
        "waiting are not modelled."
    )


def _homes(buildings: pd.DataFrame, caveats: list[str]) -> pd.Series:
    if "use" not in buildings.columns:
        caveats.append("The buildings have no 'use' column: every building is counted as a home.")
        return pd.Series(True, index=buildings.index, name="home")
    home = buildings["use"].map(_use_class).eq("residential").rename("home")
    caveats.append(
        f"Homes are the buildings of residential use ({int(home.sum())} of {len(home)}); the zone and "
        "city summaries are over homes only, the per-building table covers every building."
    )
    return home


def _zone_ids(model: CityModel, buildings: pd.DataFrame, caveats: list[str]) -> pd.Series | None:
    from cimkit.analysis.linking import link_buildings_to_zones

    zones = model.zones
    if zones is None or len(zones) == 0:
        caveats.append("The model has no zones layer: no per-zone summary.")
        return None
    link = link_buildings_to_zones(buildings, zones)
    name = zones.index.name if zones.index.name in link.columns else "zone_id"
    ids = link[name]
    outside = int(ids.isna().sum())
    if outside:
        caveats.append(f"{outside} building(s) lie in no zone and are left out of the zone summaries.")
    return ids.rename("zone_id")


def _zone_table(
    values: pd.DataFrame,
    cats: Sequence[str],
    zone_ids: pd.Series,
    zones_index: pd.Index,
    flooded: pd.DataFrame | None,
    loss: pd.DataFrame | None,
) -> pd.DataFrame:
    """Per-zone summary of the homes in ``values`` (rows: every zone of the model)."""
    z = zone_ids.reindex(values.index)
    out = pd.DataFrame(index=zones_index.rename("zone_id"))
    out["homes"] = z.value_counts().reindex(out.index, fill_value=0).astype("int64")
    if z.notna().any():
        minutes = values[[f"{c}_min" for c in cats]]
        # as for the city: a home that reaches no POI of a category counts as infinitely far
        minutes = minutes.apply(lambda col: col.fillna(np.inf) if col.notna().any() else col)
        times = summarise_by_zone(minutes, z, stats=("median",))
        score = summarise_by_zone(values["score"], z, stats=("mean", "median")).add_prefix("score_")
        out = out.join(times).join(score)
        if flooded is not None and loss is not None:
            f = summarise_by_zone(flooded["score"], z, stats=("mean", "median")).add_prefix("flooded_score_")
            out = out.join(f)
            cut = loss["cut_off"].groupby(z).sum()
            out["homes_cut_off"] = cut.reindex(out.index, fill_value=0).astype("int64")
    return out


def _city_totals(
    values: pd.DataFrame, cats: Sequence[str], flooded: pd.DataFrame | None, loss: pd.DataFrame | None
) -> pd.Series:
    city: dict[str, Any] = {
        "homes": len(values),
        "homes_all_groups": int((values["score"] >= 1.0).sum()),
        "score_mean": float(values["score"].mean()) if len(values) else np.nan,
        "score_median": float(values["score"].median()) if len(values) else np.nan,
    }
    for c in cats:
        times = values[f"{c}_min"]
        # a home that reaches no POI of the category is infinitely far, not left out of the median
        reached = times.notna().any()
        city[f"{c}_min_median"] = float(times.fillna(np.inf).median()) if reached else np.nan
    if flooded is not None and loss is not None:
        city["flooded_score_mean"] = float(flooded["score"].mean()) if len(flooded) else np.nan
        city["homes_cut_off"] = int(loss["cut_off"].sum())
        city["homes_losing_score"] = int((loss["score_loss"] > 0).sum())
    return pd.Series(city)


def _required(
    model: CityModel, max_time_min: float, closed_network: Any
) -> tuple[pd.DataFrame, pd.DataFrame, Network]:
    """Check the options and return the buildings, the POIs and the road network of the model."""
    check_time_budget(max_time_min)
    if closed_network is not None and not isinstance(closed_network, Network):
        raise ValidationError(
            f"'closed_network' must be a Network; {type(closed_network).__name__} was given.",
            hint="pass e.g. one of the networks of the flood result (flood.networks[100]).",
        )
    buildings, pois = model.buildings, model.pois
    if buildings is None or len(buildings) == 0:
        raise InputError("the model has no buildings", layer="buildings", hint="add a 'buildings' layer.")
    if pois is None or len(pois) == 0:
        raise InputError(
            "the model has no points of interest",
            layer="pois",
            code="ANA032",
            hint="add a 'pois' layer with a 'category' column (school, doctor, supermarket ...).",
        )
    if "category" not in pois.columns:
        raise InputError("the POIs have no 'category' column", layer="pois")
    return buildings, pois, model.network("road")


def _coverage(
    table: pd.DataFrame, pois: pd.DataFrame, network: Network, cats: Sequence[str], caveats: list[str]
) -> dict[str, int]:
    """Count what the analysis cannot answer, warn once per kind and add the caveats."""
    homes = table.loc[table["home"]]
    present = pois["category"].astype(str).value_counts()
    limit = float(get_options()["access_distance_m"])
    counts: dict[str, int] = {f"pois_{c}": int(present.get(c, 0)) for c in cats}
    counts.update({f"homes_unreachable_{c}": int(homes[f"{c}_min"].isna().sum()) for c in cats})
    counts["homes_far_from_network"] = int((homes["access_distance_m"] > limit).sum())
    poi_distance = network.nearest_node(_centroids(pois))["distance_m"]
    counts["pois_far_from_network"] = int((poi_distance > limit).sum())
    messages = []
    missing = [c for c in cats if counts[f"pois_{c}"] == 0]
    if missing:
        messages.append(
            f"No POI of the categories {', '.join(missing)}: every home counts as not reaching them "
            "(times NaN, the groups not reached in the score)."
        )
    cut = {
        c: counts[f"homes_unreachable_{c}"]
        for c in cats
        if c not in missing and counts[f"homes_unreachable_{c}"]
    }
    if cut:
        listed = ", ".join(f"{n} reach no {c}" for c, n in cut.items())
        messages.append(
            f"Of {len(homes)} homes, {listed} on the road network (a part of the network not connected "
            "to one, or the POI is off the network): their times are NaN, they count as not reached in "
            "the score and as infinitely far in the medians."
        )
    for what, n, of in (
        ("homes", counts["homes_far_from_network"], len(homes)),
        ("POIs", counts["pois_far_from_network"], len(pois)),
    ):
        if n:
            messages.append(
                f"{n} of {of} {what} lie more than {limit:g} m (straight line) from their nearest street "
                "node: the network may not cover them, and their times include that straight walk "
                "(set the limit with cimkit.set_options(access_distance_m=...))."
            )
    for message in messages:
        warnings.warn(f"accessibility: {message}", CoverageWarning, stacklevel=3)
    caveats.extend(messages)
    return counts


def _centroids(frame: pd.DataFrame) -> Any:
    geoms = frame.geometry
    return geoms.where(geoms.geom_type == "Point", geoms.centroid)


def assess(
    model: CityModel,
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
    max_time_min: float = 15.0,
    weight: str = "walk_time_min",
    walk_kmh: float | None = DEFAULT_WALK_KMH,
    closed_network: Network | None = None,
) -> AccessibilityResult:
    """Assess walking access to everyday services for every building of a city model.

    For every building of ``model.buildings``: the door-to-door time on ``model.network("road")``
    to the nearest POI (``model.pois``) of each category, and the 15-minute score (see
    :func:`~cimkit.analysis.accessibility.compute_fifteen_minute_score`). Summaries per PLU zone
    (each building in the zone holding most of its footprint,
    :func:`~cimkit.analysis.linking.link_buildings_to_zones`) and for the city are over the homes.
    With ``closed_network`` (the road network with flooded streets closed, e.g. one of
    ``FloodResult.networks``), the same on that network and the loss.

    Parameters
    ----------
    model
        A city model with ``buildings`` (a ``use`` column tells homes apart), ``pois`` (with a
        ``category`` column), a ``road`` network with the ``weight`` column, and optionally
        ``zones``.
    categories
        Service group → POI categories (default
        :data:`~cimkit.analysis.accessibility.DEFAULT_CATEGORIES`); every category gets its
        nearest-time column.
    max_time_min
        Time budget of the 15-minute score, minutes.
    weight
        Edge time column in minutes (``walk_time_min``; ``bike_time_min`` for cycling).
    walk_kmh
        Speed of the straight-line walks between a building or POI and its nearest street node,
        km/h.
    closed_network
        The road network with closed edges (time NaN), for the loss; None for none.

    Returns
    -------
    AccessibilityResult
        ``.buildings``, ``.zones``, ``.city``, ``.caveats``; ``.flooded`` and ``.loss`` with a
        closed network.

    Examples
    --------
    The sample city's footprints, POIs, zoning and streets:

    >>> import warnings
    >>> import geopandas as gpd
    >>> import cimkit
    >>> from cimkit.analysis.accessibility import assess
    >>> from cimkit.datasets import sample_city_path
    >>> folder = sample_city_path()
    >>> model = cimkit.CityModel("EPSG:2154")
    >>> _ = model.add_layer("buildings", gpd.read_file(folder / "footprints.geojson").set_index("id"))
    >>> _ = model.add_layer("pois", gpd.read_file(folder / "pois.geojson"))
    >>> _ = model.add_layer("zones", gpd.read_file(folder / "zone_urba.geojson").set_index("libelle"))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # two street ends snapped
    ...     _ = model.add_network(cimkit.read_network(folder / "streets.geojson", kind="road"))
    >>> result = assess(model)
    >>> int(result.city["homes"]), float(result.city["score_mean"])  # every home has all six groups
    (30, 1.0)
    >>> result.zones.loc["UA", ["homes", "school_min_median"]].round(1).tolist()
    [13.0, 5.2]
    >>> five = assess(model, max_time_min=5)  # a 5-minute town is another matter
    >>> int(five.city["homes_all_groups"]), five.zones["score_mean"].round(2).loc[["UA", "UB"]].tolist()
    (9, [0.92, 0.51])
    """
    buildings, pois, network = _required(model, max_time_min, closed_network)
    check_speed(walk_kmh)
    groups, weights = _groups_and_weights(categories, None)
    _check_groups(groups)
    cats = sorted({c for cs in groups.values() for c in cs})
    caveats = [_times_caveat(weight, walk_kmh)]
    base = _building_metrics(
        network, buildings, pois, groups, weights, max_time_min=max_time_min, weight=weight, walk_kmh=walk_kmh
    )
    home = _homes(buildings, caveats)
    flooded = loss = None
    if closed_network is not None:
        flooded = _building_metrics(
            closed_network,
            buildings,
            pois,
            groups,
            weights,
            max_time_min=max_time_min,
            weight=weight,
            walk_kmh=walk_kmh,
        )
        loss = _loss(base, flooded)
        caveats.append(
            "On the closed network a POI that can no longer be reached gives an infinite time loss "
            "and sets cut_off."
        )
    zone_ids = _zone_ids(model, buildings, caveats)
    access = network.nearest_node(_centroids(buildings))["distance_m"].rename("access_distance_m")
    table = base.join(access).join(home)
    counts = _coverage(table, pois, network, cats, caveats)
    homes = table.loc[home]
    f_homes = flooded.loc[home] if flooded is not None else None
    l_homes = loss.loc[home] if loss is not None else None
    zones = pd.DataFrame()
    if zone_ids is not None and model.zones is not None:
        table = table.join(zone_ids)
        zones = _zone_table(homes, cats, zone_ids, model.zones.index, f_homes, l_homes)
    return AccessibilityResult(
        buildings=table,
        zones=zones,
        city=pd.concat([_city_totals(homes, cats, f_homes, l_homes), pd.Series(counts)]),
        caveats=tuple(caveats),
        flooded=flooded,
        loss=loss,
    )
