"""One-call carbon assessment of a city model: embodied, operational and RE2020, per building.

:func:`assess` runs the whole carbon chain on a :class:`~cimkit.model.CityModel`:

- **embodied carbon from IFC quantities** (:func:`~cimkit.analysis.carbon.compute_embodied_carbon`)
  for every building that has rows in the model's ``materials`` table (the IFC buildings);
- **an upper-bound estimate** (:func:`~cimkit.analysis.carbon.estimate_embodied_carbon`: floor
  area x the RE2020 *Ic construction* cap for the use) for every other building, kept apart
  (``embodied_source = "estimate"``, ``embodied_estimated = True``, separate zone and city
  totals): it is a regulatory maximum, not comparable with a quantity take-off;
- **operational carbon B6** (:func:`~cimkit.analysis.carbon.compute_operational_carbon`) for
  every building with a floor area and a use;
- **the RE2020 check** (:func:`~cimkit.analysis.carbon.check_re2020`) of every IFC building
  with a permit year and an RE2020 building type;

and sums the results per PLU zone and for the city.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from cimkit.analysis.carbon._assess_re2020 import NOT_ASSESSABLE, re2020_caveats, re2020_columns
from cimkit.analysis.carbon.completeness import (
    COMPLETENESS_CLASSES,
    COMPLETENESS_COLUMNS,
    ELEMENT_CLASSES,
    MIN_MATCHED_VOLUME_SHARE,
    check_options,
)
from cimkit.analysis.carbon.embodied import compute_embodied_carbon
from cimkit.analysis.carbon.estimate import estimate_embodied_carbon
from cimkit.analysis.carbon.operational import compute_operational_carbon
from cimkit.analysis.carbon.rollup import MODULES, EmbodiedResult
from cimkit.analysis.result import AnalysisResult
from cimkit.errors import LayerNotFoundError, ValidationError

if TYPE_CHECKING:
    from cimkit.model import CityModel

__all__ = ["CarbonResult", "assess"]

T = TypeVar("T")

_GRADE_COLUMNS = (*COMPLETENESS_COLUMNS, "estimate_kgco2e_m2", "ifc_to_estimate_ratio")
_ZONE_SUMS = ("gfa_m2", "embodied_ifc_kgco2e", "embodied_estimate_kgco2e", "operational_b6_kgco2e")


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True, kw_only=True)
class CarbonResult(AnalysisResult):
    """The result of :func:`assess`: embodied and operational carbon, and the RE2020 check.

    Attributes
    ----------
    buildings
        One row per building of the model: ``embodied_source`` (``"ifc"``: IFC quantities x
        emission factors; ``"estimate"``: floor area x RE2020 cap), ``embodied_estimated``
        (True for estimates, which are upper bounds), ``gfa_m2`` (m²), one kgCO2e column per
        EN 15978 module (IFC buildings), ``embodied_kgco2e``, ``embodied_kgco2e_per_m2``,
        ``intensity_kgco2e_m2`` (estimates), the completeness of IFC buildings
        (``element_classes_present``, ``element_classes_missing``, ``element_class_share``,
        ``matched_volume_m3``, ``unmatched_volume_m3``, ``matched_volume_share``,
        ``matched_mass_share``, ``completeness`` — ``"complete"``, ``"partial"`` or
        ``"shell"`` — and ``completeness_reason``; see
        :mod:`cimkit.analysis.carbon.completeness`), ``estimate_kgco2e_m2`` (the footprint
        estimate per m² of the same building) and ``ifc_to_estimate_ratio``,
        ``operational_kgco2e_year``,
        ``operational_b6_kgco2e`` (over the study period), ``operational_b6_kgco2e_per_m2``,
        the RE2020 columns ``re2020_building_type``, ``re2020_permit_year``,
        ``construction_kgco2e_m2`` (*Ic construction*), ``construction_max_kgco2e_m2``,
        ``energy_kgco2e_m2`` (*Ic énergie*), ``energy_max_kgco2e_m2``,
        ``construction_passes``, ``energy_passes``, ``re2020_passes`` (nullable booleans) and
        ``re2020_verdict`` (``"passes"``, ``"fails"``, ``"not assessed"``, ``"not
        assessable"`` — the IFC model is not ``complete``, ``re2020_passes`` is then NA —
        or ``"not applicable"``), ``re2020_reason`` (why a building is not assessable, not
        assessed or not applicable), and ``zone_id`` when the model has zones.
    zones
        One row per PLU zone (every zone of the model): ``buildings``, ``ifc_buildings``,
        ``estimated_buildings``, ``gfa_m2``, ``embodied_ifc_kgco2e``,
        ``embodied_estimate_kgco2e`` (upper bounds, kept apart) and ``operational_b6_kgco2e``;
        each building counts in the zone holding most of its footprint. Empty without zones.
    city
        The city totals, the sums of the building rows: counts, ``gfa_m2``,
        ``embodied_ifc_kgco2e`` and its modules, ``embodied_estimate_kgco2e``,
        ``operational_kgco2e_year``, ``operational_b6_kgco2e``, ``re2020_passes``,
        ``re2020_fails``, ``re2020_not_assessed``, ``re2020_not_assessable``, the counts of
        ``complete_buildings``, ``partial_buildings`` and ``shell_buildings``,
        ``unmatched_volume_m3`` (unmatched materials) and ``matched_volume_share`` (matched
        over all modelled volume of the IFC buildings, elements without material included).
    caveats
        What the numbers cannot know (scope of the IFC quantities, estimates as upper bounds,
        benchmark energy intensities, static LCA against RE2020 dynamic thresholds ...).
    materials
        Sums per emission factor row over the IFC buildings (``material_key``, NaN for
        unmatched materials), with the factor's ``label`` and ``category``.
    unmatched
        IFC material names without an emission factor, with their volume (m³): reported, not
        counted.
    coverage
        Per EN 15978 module: ``volume_share`` (the share of the modelled IFC volume that has a
        value), ``mass_share`` (the same for the mass, NaN when some volume has no known
        density) and ``rows_missing``.
    embodied
        The detailed IFC computation (rows per element x material, sums per element and
        storey), or None when no building has material rows.
    study_period_years
        The study period (years) of embodied B4 and operational B6.
    modules
        The EN 15978 modules computed for the IFC buildings.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.carbon import CarbonResult
    >>> result = CarbonResult(
    ...     buildings=pd.DataFrame({"embodied_kgco2e": [1944.0, 128000.0]}, index=["ifc1", "fp1"]),
    ...     city=pd.Series({"embodied_ifc_kgco2e": 1944.0, "embodied_estimate_kgco2e": 128000.0}),
    ... )
    >>> float(result.city["embodied_ifc_kgco2e"]), result.embodied, result.unmatched.empty
    (1944.0, None, True)
    """

    materials: pd.DataFrame = field(default_factory=_empty_frame)
    unmatched: pd.DataFrame = field(default_factory=_empty_frame)
    coverage: pd.DataFrame = field(default_factory=_empty_frame)
    embodied: EmbodiedResult | None = None
    study_period_years: float = 50.0
    modules: tuple[str, ...] = tuple(MODULES)


def assess(
    model: CityModel,
    *,
    study_period_years: float = 50,
    modules: Sequence[str] = tuple(MODULES),
    factors: pd.DataFrame | None = None,
    overrides: Mapping[str, str] | None = None,
    service_lives: Mapping[str, float] | None = None,
    reference_year: int = 2022,
    intensities: pd.DataFrame | None = None,
    period: str = "existing",
    eui: pd.DataFrame | Mapping[str, Mapping[str, float]] | None = None,
    carriers: Mapping[str, str] | None = None,
    permit_year: int | Mapping[Any, int] | pd.Series | None = None,
    building_type: str | Mapping[Any, str] | pd.Series | None = None,
    heat_network: bool = False,
    expected_classes: Sequence[str] = ELEMENT_CLASSES,
    min_matched_volume_share: float = MIN_MATCHED_VOLUME_SHARE,
) -> CarbonResult:
    """Assess the carbon footprint of every building of a city model.

    Parameters
    ----------
    model
        A model with a ``buildings`` layer (``use``; ``gfa_m2`` or footprints with ``storeys`` /
        ``height_m``), optionally a ``materials`` table (from IFC files) and a ``zones`` layer.
    study_period_years
        Study period (years) of embodied B4 replacements and operational B6 (RE2020: 50).
    modules
        EN 15978 modules computed from the IFC quantities (see :data:`MODULES`).
    factors, overrides, service_lives
        As for :func:`~cimkit.analysis.carbon.compute_embodied_carbon`.
    reference_year, intensities
        As for :func:`~cimkit.analysis.carbon.estimate_embodied_carbon` (buildings without IFC).
    period, eui, carriers
        As for :func:`~cimkit.analysis.carbon.compute_operational_carbon` (``"existing"`` or
        ``"new_low_energy"`` intensities; a ``period`` column of the buildings wins).
    permit_year
        Permit year of the IFC buildings for the RE2020 check: one for all, or per building id
        (mapping or Series); None reads a ``permit_year`` column if any. Without a year, no check.
    building_type
        RE2020 type (``"maison_individuelle"``, ``"logement_collectif"``, ``"bureaux"`` or the
        English aliases), one for all or per building id; None reads a ``building_type`` column,
        else classes ``residential`` buildings of at most 2 storeys as individual houses, higher
        ones as collective housing, ``office`` as offices (other uses have no thresholds).
    heat_network
        The buildings are connected to a heat network (RE2020 *Ic énergie* maxima).
    expected_classes, min_matched_volume_share
        Completeness thresholds, as for :func:`~cimkit.analysis.carbon.compute_embodied_carbon`;
        a building that is not ``complete`` gets the RE2020 verdict ``"not assessable"``.

    Returns
    -------
    CarbonResult
        Per building, per zone and city totals, material sums, unmatched materials, caveats.

    Raises
    ------
    cimkit.errors.LayerNotFoundError
        When the model has no ``buildings`` layer.
    cimkit.errors.InputError, cimkit.errors.ValidationError
        As the functions called (a missing ``use`` column, an unknown module ...).

    Examples
    --------
    >>> import geopandas as gpd
    >>> import pandas as pd
    >>> from shapely.geometry import box
    >>> from cimkit.analysis import carbon
    >>> from cimkit.model import CityModel
    >>> model = CityModel("EPSG:2154")
    >>> _ = model.add_layer("buildings", gpd.GeoDataFrame(
    ...     {"use": ["residential", "residential"], "storeys": [2, 2], "gfa_m2": [200.0, None]},
    ...     geometry=[box(652000, 6862000, 652010, 6862010), box(652020, 6862000, 652030, 6862010)],
    ...     crs="EPSG:2154",
    ...     index=pd.Index(["ifc1", "fp1"], name="building_id")))
    >>> _ = model.add_layer("materials", pd.DataFrame(
    ...     {"global_id": ["w1"], "building_id": ["ifc1"], "material": ["Béton C25/30"], "volume_m3": [10.0]}))
    >>> result = carbon.assess(model, modules=("A1-A3",), period="new_low_energy", permit_year=2023)
    >>> result.buildings[["embodied_source", "embodied_kgco2e", "re2020_verdict"]]  # doctest: +NORMALIZE_WHITESPACE
                embodied_source  embodied_kgco2e  re2020_verdict
    building_id
    ifc1                    ifc           1944.0  not assessable
    fp1                estimate         128000.0  not applicable
    >>> result.buildings.loc["ifc1", "re2020_reason"]  # no ifc_class: no class can be shown
    'IFC model shell: no walls; no slabs; no roof; no structure; no foundations'
    >>> float(result.city["operational_b6_kgco2e"])  # 400 m2 x 35 kWh/m2/yr x 0.079 x 50 years
    55300.0
    """
    buildings, expected = _check_inputs(model, modules, expected_classes, min_matched_volume_share)
    caveats: list[str] = []
    materials = _ifc_materials(model, buildings, caveats)
    ifc_ids = _ifc_building_ids(buildings, materials)
    options: dict[str, Any] = {"factors": factors, "overrides": overrides, "service_lives": service_lives}
    options.update(
        elements=_ifc_elements(model, ifc_ids), expected_classes=expected, reference_year=reference_year
    )
    options.update(min_matched_volume_share=min_matched_volume_share, intensities=intensities)
    embodied = _quietly(
        caveats,
        lambda: _ifc_embodied(materials, buildings.loc[ifc_ids], study_period_years, modules, options),
    )
    table = _embodied_columns(buildings, ifc_ids, embodied, (reference_year, intensities), caveats)
    table = table.join(
        _operational_columns(buildings, table["gfa_m2"], study_period_years, period, eui, carriers, caveats)
    )
    table = table.join(re2020_columns(buildings, table, ifc_ids, permit_year, building_type, heat_network))
    zone_frame = _empty_frame()
    if model.zones is not None and len(model.zones):
        table["zone_id"] = _zone_ids(buildings, model.zones)
        zone_frame = _zone_sums(model.zones, table["zone_id"], table, caveats)
    caveats[:0] = _general_caveats(table, embodied, float(study_period_years), period)
    caveats.extend(re2020_caveats(table, expected, float(min_matched_volume_share)))
    return _result(table, zone_frame, caveats, embodied, float(study_period_years), modules)


def _check_inputs(
    model: CityModel, modules: Sequence[str], expected_classes: Sequence[str], min_share: float
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Return the buildings layer and the expected classes, or raise on a missing layer or a bad option."""
    buildings = model.buildings
    if buildings is None:
        raise LayerNotFoundError(
            "the model has no 'buildings' layer", layer="buildings", hint="add one with model.add_layer()"
        )
    if not modules or any(m not in MODULES for m in modules):
        raise ValidationError(
            f"'modules' must be drawn from {', '.join(MODULES)}; {list(modules)!r} was given"
        )
    return buildings, check_options(expected_classes, min_share)


def _result(
    table: pd.DataFrame,
    zone_frame: pd.DataFrame,
    caveats: list[str],
    embodied: EmbodiedResult | None,
    study_period_years: float,
    modules: Sequence[str],
) -> CarbonResult:
    """Assemble the result of :func:`assess`."""
    return CarbonResult(
        buildings=table,
        zones=zone_frame,
        city=_city_totals(table, embodied),
        caveats=tuple(dict.fromkeys(caveats)),
        materials=_material_sums(embodied),
        unmatched=embodied.unmatched if embodied is not None else _empty_frame(),
        coverage=embodied.coverage if embodied is not None else _empty_frame(),
        embodied=embodied,
        study_period_years=study_period_years,
        modules=tuple(m for m in MODULES if m in modules),
    )


# ----------------------------------------------------------------------------- helpers
def _quietly(caveats: list[str], compute: Callable[[], T]) -> T:
    """Run ``compute``; its UserWarnings become caveats, other warnings pass through."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = compute()
    for item in caught:
        if issubclass(item.category, UserWarning):
            message = str(item.message)
            caveats.append(message if message.endswith(".") else message + ".")
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    return out


def _ifc_embodied(
    materials: pd.DataFrame | None,
    ifc: pd.DataFrame,
    study_period_years: float,
    modules: Sequence[str],
    options: dict[str, Any],
) -> EmbodiedResult | None:
    """Compute the embodied carbon of the IFC buildings, or None when there is none."""
    if materials is None or not len(ifc):
        return None
    return compute_embodied_carbon(
        materials, buildings=ifc, study_period_years=study_period_years, modules=modules, **options
    )


def _ifc_materials(model: CityModel, buildings: pd.DataFrame, caveats: list[str]) -> pd.DataFrame | None:
    """Keep the rows of the model's ``materials`` table that belong to a building of the layer."""
    if "materials" not in model.layers:
        return None
    materials = model["materials"]
    if "building_id" not in materials.columns:
        caveats.append("The materials table has no building_id column: no building gets IFC quantities.")
        return None
    # as plain objects: an Arrow string column's isin looks its values up one by one in Python
    ids = pd.Series(materials["building_id"].to_numpy(dtype=object), index=materials.index)
    inside = ids.isin(buildings.index.to_numpy(dtype=object))
    if not inside.all():
        caveats.append(
            f"{int((~inside).sum())} material row(s) belong to no building of the buildings layer "
            "and are not counted."
        )
    return materials[inside]


def _ifc_elements(model: CityModel, ifc_ids: pd.Index) -> pd.DataFrame | None:
    """Return the model's IFC element table restricted to the IFC buildings (None when absent)."""
    if "elements" not in model.layers:
        return None
    elements = model["elements"]
    if "building_id" not in elements.columns:
        return None
    return elements[elements["building_id"].isin(ifc_ids)]


def _ifc_building_ids(buildings: pd.DataFrame, materials: pd.DataFrame | None) -> pd.Index:
    """Ids of the buildings that have rows in the materials table, in the layer's order."""
    if materials is None or "building_id" not in materials.columns:
        return buildings.index[:0]
    return buildings.index[buildings.index.isin(materials["building_id"].dropna().unique())]


def _embodied_columns(
    buildings: pd.DataFrame,
    ifc_ids: pd.Index,
    embodied: EmbodiedResult | None,
    estimate: tuple[int, pd.DataFrame | None],
    caveats: list[str],
) -> pd.DataFrame:
    """Embodied carbon per building: IFC sums, or the upper-bound estimate for the others."""
    out = pd.DataFrame(index=buildings.index.copy())
    is_ifc = buildings.index.isin(ifc_ids)
    out["embodied_source"] = np.where(is_ifc, "ifc", "estimate")
    out["embodied_estimated"] = ~is_ifc
    gfa = pd.to_numeric(buildings["gfa_m2"], errors="coerce") if "gfa_m2" in buildings.columns else None
    out["gfa_m2"] = gfa if gfa is not None else np.nan
    module_cols = embodied.module_columns if embodied is not None else []
    out["embodied_kgco2e"] = np.nan
    for col in module_cols:
        out[col] = np.nan
    if embodied is not None:
        sums = embodied.buildings.reindex(ifc_ids)
        out.loc[ifc_ids, [*module_cols, "embodied_kgco2e"]] = sums[[*module_cols, "total_kgco2e"]].to_numpy()
    grades = (
        embodied.buildings.reindex(columns=list(_GRADE_COLUMNS)).reindex(out.index)
        if embodied is not None
        else pd.DataFrame(np.nan, index=out.index, columns=list(_GRADE_COLUMNS))
    )
    out["intensity_kgco2e_m2"] = np.nan
    others = buildings.index[~is_ifc]
    if len(others):
        estimates = _quietly(
            caveats,
            lambda: estimate_embodied_carbon(
                buildings.loc[others], reference_year=estimate[0], intensities=estimate[1]
            ),
        )
        out.loc[others, "gfa_m2"] = out.loc[others, "gfa_m2"].fillna(estimates["gfa_m2"])
        out.loc[others, "embodied_kgco2e"] = estimates["embodied_kgco2e"]
        out.loc[others, "intensity_kgco2e_m2"] = estimates["intensity_kgco2e_m2"]
    area = out["gfa_m2"].where(out["gfa_m2"] > 0)
    out["embodied_kgco2e_per_m2"] = out["embodied_kgco2e"] / area
    order = ["embodied_source", "embodied_estimated", "gfa_m2", *module_cols, "embodied_kgco2e"]
    out = out[[*order, "embodied_kgco2e_per_m2", "intensity_kgco2e_m2"]]
    # the IFC sum per m² over the estimate of the same building, on the floor area used here
    ratio = out["embodied_kgco2e_per_m2"] / grades["estimate_kgco2e_m2"].where(
        grades["estimate_kgco2e_m2"] > 0
    )
    grades["ifc_to_estimate_ratio"] = ratio.where(out["embodied_source"] == "ifc")
    return out.join(grades)


def _operational_columns(
    buildings: pd.DataFrame,
    gfa: pd.Series,
    study_period_years: float,
    period: str,
    eui: pd.DataFrame | Mapping[str, Mapping[str, float]] | None,
    carriers: Mapping[str, str] | None,
    caveats: list[str],
) -> pd.DataFrame:
    """Operational carbon (B6) per building, on the floor areas used for embodied carbon."""
    columns = ["use", "period"] if "period" in buildings.columns else ["use"]
    frame = pd.DataFrame(buildings[[c for c in columns if c in buildings.columns]]).assign(gfa_m2=gfa)
    operational = _quietly(
        caveats,
        lambda: compute_operational_carbon(
            frame, study_period_years=study_period_years, eui=eui, carriers=carriers, period=period
        ),
    )
    return pd.DataFrame(
        {
            "operational_kgco2e_year": operational["annual_kgco2e"],
            "operational_b6_kgco2e": operational["b6_kgco2e"],
            "operational_b6_kgco2e_per_m2": operational["b6_kgco2e_per_m2"],
        },
        index=buildings.index,
    )


def _zone_ids(buildings: pd.DataFrame, zones: pd.DataFrame) -> pd.Series:
    """Find the zone holding the largest part of each building's footprint (NA outside every zone)."""
    from cimkit.analysis.linking import link_buildings_to_zones

    name = str(zones.index.name or "zone_id")
    return link_buildings_to_zones(buildings, zones)[name].rename("zone_id")


def _zone_sums(
    zones: pd.DataFrame, zone_ids: pd.Series, table: pd.DataFrame, caveats: list[str]
) -> pd.DataFrame:
    """Count and sum the buildings per zone, on every zone of the model (0 where no building)."""
    estimated = table["embodied_estimated"].astype(bool)
    frame = pd.DataFrame(
        {
            "buildings": 1,
            "ifc_buildings": (~estimated).astype("int64"),
            "estimated_buildings": estimated.astype("int64"),
            "gfa_m2": table["gfa_m2"],
            "embodied_ifc_kgco2e": table["embodied_kgco2e"].where(~estimated),
            "embodied_estimate_kgco2e": table["embodied_kgco2e"].where(estimated),
            "operational_b6_kgco2e": table["operational_b6_kgco2e"],
        },
        index=table.index,
    )
    inside = zone_ids.notna().to_numpy()
    if not inside.all():
        caveats.append(
            f"{int((~inside).sum())} building(s) lie outside every zone: they count in the city "
            "totals but in no zone."
        )
    out = frame[inside].groupby(zone_ids[inside]).sum(min_count=1).reindex(zones.index)
    counts = ["buildings", "ifc_buildings", "estimated_buildings"]
    out[counts] = out[counts].fillna(0).astype("int64")
    empty = out["buildings"] == 0
    out.loc[empty, list(_ZONE_SUMS)] = 0.0
    out.index.name = zones.index.name or "zone_id"
    return out


def _total(values: pd.Series) -> float:
    """Sum of known values; 0 over no building, NaN when every value is unknown."""
    if values.empty:
        return 0.0
    return float(values.sum(min_count=1))


def _city_totals(table: pd.DataFrame, embodied: EmbodiedResult | None) -> pd.Series:
    estimated = table["embodied_estimated"].astype(bool)
    ifc = table[~estimated]
    totals: dict[str, float] = {
        "buildings": len(table),
        "ifc_buildings": len(ifc),
        "estimated_buildings": int(estimated.sum()),
        "gfa_m2": _total(table["gfa_m2"]),
        "embodied_ifc_kgco2e": _total(ifc["embodied_kgco2e"]),
    }
    for col in embodied.module_columns if embodied is not None else []:
        totals[col] = _total(ifc[col])
    totals["embodied_estimate_kgco2e"] = _total(table.loc[estimated, "embodied_kgco2e"])
    totals["operational_kgco2e_year"] = _total(table["operational_kgco2e_year"])
    totals["operational_b6_kgco2e"] = _total(table["operational_b6_kgco2e"])
    verdicts = table["re2020_verdict"]
    totals["re2020_passes"] = int((verdicts == "passes").sum())
    totals["re2020_fails"] = int((verdicts == "fails").sum())
    totals["re2020_not_assessed"] = int((verdicts == "not assessed").sum())
    totals["re2020_not_assessable"] = int((verdicts == NOT_ASSESSABLE).sum())
    grades = (
        table.loc[~estimated, "completeness"] if "completeness" in table.columns else pd.Series(dtype=object)
    )
    for grade in COMPLETENESS_CLASSES:
        totals[f"{grade}_buildings"] = int((grades == grade).sum())
    unmatched = embodied.unmatched if embodied is not None else _empty_frame()
    totals["unmatched_volume_m3"] = _total(unmatched["volume_m3"]) if len(unmatched) else 0.0
    totals["matched_volume_share"] = (
        float(embodied.city["matched_volume_share"]) if embodied is not None else float("nan")
    )
    return pd.Series(totals, dtype="float64", name="city")


def _material_sums(embodied: EmbodiedResult | None) -> pd.DataFrame:
    if embodied is None:
        return _empty_frame()
    sums = embodied.materials
    if embodied.factors is None:
        return sums
    labels = embodied.factors[["label", "category"]].reindex(sums.index)
    return labels.join(sums)


def _general_caveats(
    table: pd.DataFrame, embodied: EmbodiedResult | None, study_period_years: float, period: str
) -> list[str]:
    """Write the caveats every assessment carries, with the counts of this model."""
    estimated = table["embodied_estimated"].astype(bool)
    out = []
    if embodied is not None:
        out.append(
            f"Embodied carbon of the {int((~estimated).sum())} IFC building(s) is a static EN 15978 sum "
            f"(modules {', '.join(embodied.modules)}) of the materials modelled in the IFC files, "
            "typically structure and envelope; equipment lots are not counted."
        )
        out.extend(embodied.caveats)
    if estimated.any():
        out.append(
            f"The {int(estimated.sum())} building(s) without IFC quantities get an UPPER BOUND: floor "
            "area x the RE2020 Ic construction cap for their use (a 50-year dynamic LCA limit), "
            "kept apart from the IFC values and not comparable with them."
        )
    out.append(
        f"Operational carbon (B6, {study_period_years:g} years) uses benchmark energy use intensities "
        f"('{period}' period) and RE2020 conventional carrier factors, not metered consumption."
    )
    if table["re2020_verdict"].isin(["passes", "fails", "not assessed"]).any():
        out.append(
            "The RE2020 check compares a static sum per m² of gross floor area with unmodulated "
            "thresholds defined for a dynamic LCA per m² of Sref: an indication, not a regulatory verdict."
        )
    return out
