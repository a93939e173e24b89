"""The result of an embodied carbon computation, and its roll-up to parcels, zones and the city.

:func:`~cimkit.analysis.carbon.compute_embodied_carbon` returns an :class:`EmbodiedResult`:
one row per (element x material) with its EN 15978 module values, and the sums per element,
storey, building and emission factor row as attributes. :func:`aggregate_embodied_carbon`
sums the building totals up to parcels, zones and the city through id mappings.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

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
        floor-area table without any element get NaN.
    zones
        Empty: an embodied result knows no zones (see :func:`aggregate_embodied_carbon` and
        :func:`~cimkit.analysis.carbon.assess`).
    city
        Totals of the whole table (kgCO2e per module, ``volume_m3``, ``mass_kg``).
    caveats
        What the numbers leave out (unmatched materials, biogenic carbon, module D).
    elements
        Sums per element (``global_id``), with its ``ifc_class``, ``building_id`` and ``storey``.
    storeys
        Sums per (``building_id``, ``storey``).
    materials
        Sums per emission factor row (``material_key``; NaN for unmatched materials).
    coverage
        Per module: ``mass_share`` (0-1, share of the known mass with a value) and
        ``rows_missing``.
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
) -> EmbodiedResult:
    """Compute every frame of an :class:`EmbodiedResult` from its (element x material) rows."""
    module_cols = [MODULES[m] for m in MODULES if m in modules]
    values = ["volume_m3", "mass_kg", *module_cols, "total_kgco2e"]

    def group(keys: list[str]) -> pd.DataFrame:
        return rows.groupby(keys, sort=True, dropna=False)[values].sum(min_count=1)

    context = rows.groupby("global_id", sort=True, dropna=False)[["ifc_class", "building_id", "storey"]].first()
    unmatched = find_unmatched_materials(rows)
    caveats = ["Biogenic carbon storage and module D are not computed."]
    if len(unmatched):
        volume = float(unmatched["volume_m3"].sum(min_count=1) or 0.0)
        caveats.append(
            f"{len(unmatched)} material name(s) have no emission factor ({volume:,.1f} m³); "
            "they are reported in 'unmatched', not counted."
        )
    return EmbodiedResult(
        rows=rows,
        buildings=_by_building(group(["building_id"]), gfa, [*module_cols, "total_kgco2e"]),
        city=rows[values].sum(min_count=1),
        caveats=tuple(caveats),
        elements=context.join(group(["global_id"])),
        storeys=group(["building_id", "storey"]),
        materials=group(["material_key"]),
        coverage=_coverage(rows, modules),
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


def _coverage(rows: pd.DataFrame, modules: Sequence[str]) -> pd.DataFrame:
    """Per module: share of the known mass with a value, and the rows missing one."""
    mass = rows["mass_kg"]
    known = mass.notna() & (mass > 0)
    total_mass = mass[known].sum()
    records = {}
    for module in modules:
        has = rows[MODULES[module]].notna()
        share = float(mass[known & has].sum() / total_mass) if total_mass > 0 else float("nan")
        records[module] = {"mass_share": share, "rows_missing": int((~has).sum())}
    return pd.DataFrame.from_dict(records, orient="index").rename_axis("module")


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
    sums = [c for c in building.columns if not c.endswith("_per_m2")]
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
