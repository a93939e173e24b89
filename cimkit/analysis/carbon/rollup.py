"""The result of an embodied carbon computation, and its roll-up to parcels, zones and the city.

:func:`~cimkit.analysis.carbon.compute_embodied_carbon` returns an :class:`EmbodiedResult`:
one row per (element x material) with its EN 15978 module values, and the sums per element,
storey, building and emission factor row as attributes. :func:`aggregate_embodied_carbon`
sums the building totals up to parcels, zones and the city through id mappings.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from cimkit.analysis.carbon.completeness import COMPLETENESS_COLUMNS, LOW_RATIO
from cimkit.analysis.carbon.mapping import find_unmatched_materials
from cimkit.analysis.result import AnalysisResult

__all__ = ["MODULES", "EmbodiedResult", "aggregate_embodied_carbon"]

#: EN 15978 modules computed by cimkit, and the result column of each
MODULES: dict[str, str] = {
    "A1-A3": "a1a3_kgco2e",
    "A4": "a4_kgco2e",
    "A5": "a5_kgco2e",
    "B4": "b4_kgco2e",
    "C": "c_kgco2e",
}


#: per-building columns that are grades or ratios, not sums
_NOT_SUMMED = frozenset({*COMPLETENESS_COLUMNS, "estimate_kgco2e_m2", "ifc_to_estimate_ratio"})


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True, kw_only=True)
class EmbodiedResult(AnalysisResult):
    """Embodied carbon per (element x material) row, with its sums as attributes.

    Every frame holds kgCO2e per EN 15978 module (one column per computed module, see
    :data:`MODULES`) plus ``total_kgco2e``, ``volume_m3`` (m³) and ``mass_kg`` (kg); sums add
    the known values (a group whose values are all unknown stays NaN).

    Attributes
    ----------
    rows
        One row per input row: the context (``global_id``, ``ifc_class``, ``building_id``,
        ``storey``, ``material``), the mapping (``material_key``, ``rule``, ``how``,
        ``has_factor``, ``reason``), quantities (``volume_m3``, ``mass_kg``, ``quantity``,
        ``declared_unit``), ``service_life_years``, ``replacements`` and the module columns.
    buildings
        Sums per building (index ``building_id``); when floor areas were given, ``gfa_m2``
        (m²) and ``<column>_per_m2`` values (kgCO2e/m² of gross floor area). Buildings of the
        floor-area table without any element get NaN. How complete each sum is (see
        :mod:`cimkit.analysis.carbon.completeness`): ``element_classes_present`` (e.g.
        ``"walls, slabs, roof"``), ``element_classes_missing``, ``element_class_share``
        (0-1), ``matched_volume_m3``, ``unmatched_volume_m3`` (m³; elements without any
        material count as unmatched), ``matched_volume_share`` (0-1), ``matched_mass_share``
        (0-1, NaN unless the mass of every modelled volume is known), ``completeness``
        (``"complete"``, ``"partial"`` or ``"shell"``) and ``completeness_reason``; with a
        ``use`` in the floor-area table, ``estimate_kgco2e_m2`` (the footprint estimate of
        :func:`~cimkit.analysis.carbon.estimate_embodied_carbon` for the same building) and
        ``ifc_to_estimate_ratio`` (``total_kgco2e_per_m2`` / ``estimate_kgco2e_m2``).
    zones
        Empty: an embodied result knows no zones (see :func:`aggregate_embodied_carbon` and
        :func:`~cimkit.analysis.carbon.assess`).
    city
        Totals of the whole table (kgCO2e per module, ``volume_m3``, ``mass_kg``), with
        ``matched_volume_m3``, ``unmatched_volume_m3`` and ``matched_volume_share``.
    caveats
        What the numbers leave out (unmatched materials, biogenic carbon, module D).
    elements
        Sums per element (``global_id``), with its ``ifc_class``, ``building_id`` and ``storey``.
    storeys
        Sums per (``building_id``, ``storey``).
    materials
        Sums per emission factor row (``material_key``; NaN for unmatched materials).
    coverage
        Per module: ``volume_share`` (0-1, the modelled volume whose rows have a value, over
        all the modelled volume, elements without material included), ``mass_share`` (0-1,
        the same for the mass; NaN when some volume has no known density, since the share of
        an unknown mass cannot be stated) and ``rows_missing``.
    unmatched
        Materials without an emission factor, with their volume (see
        :func:`~cimkit.analysis.carbon.find_unmatched_materials`).
    missing_quantities
        Materials that have a factor but no quantity in its declared unit (e.g. a per-m²
        factor on a row without ``thickness_m`` or ``area_m2``), indexed by material name with
        ``material_key``, ``declared_unit`` and the number of ``rows`` and distinct
        ``elements``.
    modules
        The modules computed, in EN 15978 order.
    study_period_years
        Reference study period (years).
    factors
        The emission factor table used.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.carbon import compute_embodied_carbon
    >>> table = pd.DataFrame({"global_id": ["w1", "s1"], "building_id": ["b1", "b1"],
    ...                       "storey": ["RDC", "R+1"], "material": ["Béton C25/30", "Béton C30/37"],
    ...                       "volume_m3": [10.0, 5.0]})
    >>> floors = pd.DataFrame({"gfa_m2": [200.0]}, index=pd.Index(["b1"], name="building_id"))
    >>> result = compute_embodied_carbon(table, buildings=floors, modules=("A1-A3",))
    >>> result.elements["a1a3_kgco2e"].round(1).to_dict()  # 10 x 2400 x 0.081, 5 x 2400 x 0.09
    {'s1': 1080.0, 'w1': 1944.0}
    >>> float(result.buildings.loc["b1", "a1a3_kgco2e_per_m2"]), float(result.city["total_kgco2e"])
    (15.12, 3024.0)
    """

    rows: pd.DataFrame = field(default_factory=_empty_frame)
    elements: pd.DataFrame = field(default_factory=_empty_frame)
    storeys: pd.DataFrame = field(default_factory=_empty_frame)
    materials: pd.DataFrame = field(default_factory=_empty_frame)
    coverage: pd.DataFrame = field(default_factory=_empty_frame)
    unmatched: pd.DataFrame = field(default_factory=_empty_frame)
    missing_quantities: pd.DataFrame = field(default_factory=_empty_frame)
    modules: tuple[str, ...] = tuple(MODULES)
    study_period_years: float = 50.0
    factors: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def module_columns(self) -> list[str]:
        """Result columns of the computed modules, in EN 15978 order."""
        return [MODULES[m] for m in MODULES if m in self.modules]

    @property
    def value_columns(self) -> list[str]:
        """Columns summed in every frame: volume, mass, the modules and the total."""
        return ["volume_m3", "mass_kg", *self.module_columns, "total_kgco2e"]


def _build_result(
    rows: pd.DataFrame,
    *,
    modules: tuple[str, ...],
    study_period_years: float,
    gfa: pd.Series | None,
    factors: pd.DataFrame,
    completeness: pd.DataFrame,
    ratios: Callable[[pd.Series], pd.DataFrame],
) -> EmbodiedResult:
    """Compute every frame of an :class:`EmbodiedResult` from its (element x material) rows.

    ``completeness`` holds the grades per building; ``ratios`` turns the IFC sums per m² into
    the footprint estimate per m² and their ratio.
    """
    module_cols = [MODULES[m] for m in MODULES if m in modules]
    values = ["volume_m3", "mass_kg", *module_cols, "total_kgco2e"]

    def group(keys: list[str]) -> pd.DataFrame:
        return rows.groupby(keys, sort=True, dropna=False)[values].sum(min_count=1)

    context = rows.groupby("global_id", sort=True, dropna=False)[
        ["ifc_class", "building_id", "storey"]
    ].first()
    unmatched = find_unmatched_materials(rows)
    caveats = ["Biogenic carbon storage and module D are not computed."]
    if len(unmatched):
        volume = float(unmatched["volume_m3"].sum(min_count=1) or 0.0)
        caveats.append(
            f"{len(unmatched)} material name(s) have no emission factor ({volume:,.1f} m³); "
            "they are reported in 'unmatched', not counted."
        )
    building = _by_building(group(["building_id"]), gfa, [*module_cols, "total_kgco2e"])
    building = building.join(completeness.reindex(building.index))
    if "total_kgco2e_per_m2" in building.columns:
        building = building.join(ratios(building["total_kgco2e_per_m2"]))
    caveats.extend(_completeness_caveats(building))
    city = rows[values].sum(min_count=1)
    city["matched_volume_m3"] = float(completeness["matched_volume_m3"].sum())
    city["unmatched_volume_m3"] = float(completeness["unmatched_volume_m3"].sum())
    modelled = city["matched_volume_m3"] + city["unmatched_volume_m3"]
    city["matched_volume_share"] = city["matched_volume_m3"] / modelled if modelled > 0 else float("nan")
    return EmbodiedResult(
        rows=rows,
        buildings=building,
        city=city,
        caveats=tuple(caveats),
        elements=context.join(group(["global_id"])),
        storeys=group(["building_id", "storey"]),
        materials=group(["material_key"]),
        coverage=_coverage(rows, modules, float(completeness["unmatched_volume_m3"].sum())),
        unmatched=unmatched,
        missing_quantities=_missing_quantities(rows),
        modules=modules,
        study_period_years=float(study_period_years),
        factors=factors,
    )


def _by_building(out: pd.DataFrame, gfa: pd.Series | None, columns: Sequence[str]) -> pd.DataFrame:
    """Reindex the sums per building on the floor-area table and add per-m² values."""
    out = out.copy()
    out.index.name = "building_id"
    if gfa is None:
        return out
    index = gfa.index.rename("building_id")
    out = out.reindex(index.append(out.index.difference(index)))
    out.index.name = "building_id"
    out.insert(0, "gfa_m2", gfa.reindex(out.index).to_numpy())
    return _per_m2(out, columns)


def _per_m2(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Add ``<column>_per_m2`` = column / ``gfa_m2`` (NaN where the area is not positive)."""
    out = frame.copy()
    if "gfa_m2" not in out.columns:
        return out
    gfa = pd.to_numeric(out["gfa_m2"], errors="coerce")
    gfa = gfa.where(gfa > 0)
    for col in columns:
        if col in out.columns:
            out[f"{col}_per_m2"] = out[col] / gfa
    return out


def _coverage(rows: pd.DataFrame, modules: Sequence[str], unmatched_volume_m3: float) -> pd.DataFrame:
    """Per module: the share of the modelled volume (and mass) with a value, and the rows missing one.

    The modelled volume is every material row's volume plus the volume of elements without any
    material (those are in ``unmatched_volume_m3`` with the unmatched rows). The mass share is
    NaN when some volume has no known mass: a share of an unknown total is not stated.
    """
    volume = pd.to_numeric(rows["volume_m3"], errors="coerce").fillna(0.0)
    unmatched_rows = float(volume[~rows["has_factor"].astype(bool)].sum())
    bare_volume = max(0.0, unmatched_volume_m3 - unmatched_rows)
    total_volume = float(volume.sum()) + bare_volume
    mass = pd.to_numeric(rows["mass_kg"], errors="coerce")
    if "ifc_density_kg_m3" in rows.columns:
        mass = mass.fillna(volume * pd.to_numeric(rows["ifc_density_kg_m3"], errors="coerce"))
    mass_known = bool(not ((volume > 0) & mass.isna()).any()) and bare_volume == 0
    total_mass = float(mass.sum())
    records = {}
    for module in modules:
        has = rows[MODULES[module]].notna()
        vshare = float(volume[has].sum() / total_volume) if total_volume > 0 else float("nan")
        mshare = float(mass[has].sum() / total_mass) if mass_known and total_mass > 0 else float("nan")
        records[module] = {"volume_share": vshare, "mass_share": mshare, "rows_missing": int((~has).sum())}
    return pd.DataFrame.from_dict(records, orient="index").rename_axis("module")


def _completeness_caveats(building: pd.DataFrame) -> list[str]:
    """Caveats naming the buildings that are not complete, and IFC sums far below the estimate."""
    out: list[str] = []
    if "completeness" not in building.columns:
        return out
    grades = building["completeness"].where(building.index.notna())  # rows without a building apart
    for grade in ("shell", "partial"):
        sel = building[grades == grade]
        if len(sel):
            named = "; ".join(
                f"{bid}: {reason}" for bid, reason in sel["completeness_reason"].iloc[:5].items()
            )
            named += "; ..." if len(sel) > 5 else ""
            out.append(
                f"{len(sel)} IFC building(s) are graded '{grade}' and their embodied carbon is a lower "
                f"bound ({named})."
            )
    if "ifc_to_estimate_ratio" in building.columns:
        low = building[building["ifc_to_estimate_ratio"] < LOW_RATIO]
        if len(low):
            shown = ", ".join(f"{bid} ({r:.2f})" for bid, r in low["ifc_to_estimate_ratio"].iloc[:5].items())
            shown += ", ..." if len(low) > 5 else ""
            out.append(
                f"{len(low)} IFC building(s) sum to less than {LOW_RATIO:.0%} of the footprint estimate "
                f"per m² ({shown}): the model probably misses parts of the building."
            )
    return out


def _missing_quantities(rows: pd.DataFrame) -> pd.DataFrame:
    """Materials with a factor but no quantity in its declared unit."""
    sel = rows[rows["has_factor"].astype(bool) & rows["quantity"].isna()]
    if sel.empty:
        columns = ["material_key", "declared_unit", "rows", "elements"]
        return pd.DataFrame(columns=columns).rename_axis("material")
    return sel.groupby("material", sort=True).agg(
        material_key=("material_key", "first"),
        declared_unit=("declared_unit", "first"),
        rows=("global_id", "size"),
        elements=("global_id", "nunique"),
    )


def aggregate_embodied_carbon(
    result: EmbodiedResult,
    parcel_ids: Mapping[object, object] | pd.Series | None = None,
    zone_ids: Mapping[object, object] | pd.Series | None = None,
) -> dict[str, pd.DataFrame | pd.Series]:
    """Aggregate the building sums of an embodied result per parcel, per zone and for the city.

    Parameters
    ----------
    result
        The result of :func:`~cimkit.analysis.carbon.compute_embodied_carbon`.
    parcel_ids
        The parcel of each building: ``{building_id: parcel_id}`` or a Series indexed by
        building id (e.g. the ``parcel_id`` column of
        :func:`~cimkit.analysis.linking.link_buildings_to_parcels`); None skips the parcels.
    zone_ids
        The zone of each building, likewise (e.g. from
        :func:`~cimkit.analysis.linking.link_buildings_to_zones`); None skips the zones.

    Returns
    -------
    dict
        ``"buildings"`` and, when asked, ``"parcels"`` and ``"zones"``: DataFrames with the
        module sums in kgCO2e, ``volume_m3``, ``mass_kg``, ``gfa_m2`` and per-m² values where
        floor areas are known; ``"city"``: a Series of the totals. Buildings missing from a
        mapping stay in an unassigned group (index NA) with a warning, so every level sums to
        the city total.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.carbon import aggregate_embodied_carbon, compute_embodied_carbon
    >>> table = pd.DataFrame({"building_id": ["b1", "b2"], "material": ["Béton C25/30", "Brique"],
    ...                       "volume_m3": [10.0, 2.0]})
    >>> result = compute_embodied_carbon(table, modules=("A1-A3",))
    >>> levels = aggregate_embodied_carbon(result, {"b1": "P1", "b2": "P2"}, {"b1": "UA", "b2": "UA"})
    >>> levels["parcels"]["a1a3_kgco2e"].round(1).to_dict()  # 10 x 2400 x 0.081, 2 x 1800 x 0.241
    {'P1': 1944.0, 'P2': 867.6}
    >>> float(levels["zones"].loc["UA", "a1a3_kgco2e"]), float(levels["city"]["a1a3_kgco2e"])
    (2811.6, 2811.6)
    """
    building = result.buildings
    columns = [*result.module_columns, "total_kgco2e"]
    summed = {"matched_volume_m3", "unmatched_volume_m3"}
    sums = [
        c for c in building.columns if not c.endswith("_per_m2") and (c not in _NOT_SUMMED or c in summed)
    ]
    levels: dict[str, pd.DataFrame | pd.Series] = {"buildings": building}
    for level, ids, name in (("parcels", parcel_ids, "parcel_id"), ("zones", zone_ids, "zone_id")):
        if ids is None:
            continue
        group = pd.Series(ids, dtype=object).reindex(building.index)
        lost = group.isna() & building["total_kgco2e"].notna()
        if lost.any():
            warnings.warn(
                f"{int(lost.sum())} building(s) have no {name.removesuffix('_id')} "
                f"(e.g. {building.index[lost][0]!r}); they are kept in an unassigned group",
                stacklevel=2,
            )
        frame = building[sums].groupby(group.rename(name), dropna=False).sum(min_count=1)
        levels[level] = _per_m2(frame, columns)
    city = building[sums].sum(min_count=1)
    if result.rows["building_id"].isna().any():
        # rows without a building id belong to the city but to no building
        city[result.value_columns] = result.city[result.value_columns]
    levels["city"] = _per_m2(city.to_frame("city").T, columns).loc["city"]
    return levels
