"""Embodied carbon of buildings from BIM quantities (EN 15978 modules A1-A3, A4, A5, B4, C).

For every (element x material) row of the IFC material table::

    mass_kg      = volume_m3 x density_kg_m3
    a1a3_kgco2e  = quantity x A1-A3 factor     (quantity in the row's declared unit:
                                                 kg -> mass, m3 -> volume, m2 -> area, unit -> count)
    a4_kgco2e    = mass x A4 factor            (where the table has one)
    a5_kgco2e    = mass x A5 factor
    c_kgco2e     = mass x C1-C4 factor
    b4_kgco2e    = (ceil(study period / service life) - 1) x (A1-A3 + A4)

B4 follows EN 15978 as summarised in DOMAIN notes: each replacement repeats the production and
transport of the component; a component whose service life is at least the study period is not
replaced. Where a factor or a service life is missing the module value is NaN for that row; the
totals add what is available and :meth:`EmbodiedResult.coverage` says how much of the mass each
module covers. Materials without a factor are kept in the rows and listed by
:meth:`EmbodiedResult.unmatched` with their volume, never dropped.

Biogenic carbon storage and module D are not computed.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cimkit.errors import InputError, ValidationError

__all__ = ["MODULES", "EmbodiedResult", "embodied_carbon", "replacements"]

logger = logging.getLogger(__name__)

#: EN 15978 modules computed by cimkit, and the result column of each
MODULES: dict[str, str] = {
    "A1-A3": "a1a3_kgco2e",
    "A4": "a4_kgco2e",
    "A5": "a5_kgco2e",
    "B4": "b4_kgco2e",
    "C": "c_kgco2e",
}

_UNIT_FACTOR = {
    "kg": "a1a3_kgco2e_per_kg",
    "m3": "a1a3_kgco2e_per_m3",
    "m2": "a1a3_kgco2e_per_m2",
    "unit": "a1a3_kgco2e_per_unit",
}

_CONTEXT_COLUMNS = ("global_id", "ifc_class", "building_id", "storey")
_RESULT_COLUMNS = frozenset(
    {
        "material_key",
        "category",
        "how",
        "rule",
        "has_factor",
        "reason",
        "density_kg_m3",
        "mass_kg",
        "declared_unit",
        "quantity",
        "service_life_years",
        "replacements",
        *MODULES.values(),
        "total_kgco2e",
    }
)


@dataclass
class EmbodiedResult:
    """Embodied carbon per (element x material) row, with roll-ups.

    Attributes
    ----------
    rows
        One row per input row: the input context (``global_id``, ``ifc_class``,
        ``building_id``, ``storey``, ``material``), the mapping (``material_key``, ``rule``,
        ``how``, ``has_factor``, ``reason``), quantities (``volume_m3``, ``mass_kg``,
        ``quantity``, ``declared_unit``), ``replacements`` and one column per module in kgCO2e
        (see :data:`MODULES`) plus ``total_kgco2e``.
    modules
        The modules requested.
    study_period_years
        Reference study period (years).
    buildings
        Building table with ``gfa_m2`` (m²) used for per-m² results, or None.
    factors
        The emission factor table used.
    """

    rows: pd.DataFrame
    modules: tuple[str, ...]
    study_period_years: float
    buildings: pd.DataFrame | None = None
    factors: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def module_columns(self) -> list[str]:
        """Result columns of the requested modules, in EN 15978 order."""
        return [MODULES[m] for m in MODULES if m in self.modules]

    @property
    def value_columns(self) -> list[str]:
        return ["volume_m3", "mass_kg", *self.module_columns, "total_kgco2e"]

    def _group(self, keys: Sequence[str]) -> pd.DataFrame:
        cols = self.value_columns
        grouped = self.rows.groupby(list(keys), sort=True, dropna=False)[cols]
        return grouped.sum(min_count=1)

    def total(self) -> pd.Series:
        """Totals of the whole model (kgCO2e per module, volume m³, mass kg)."""
        return self.rows[self.value_columns].sum(min_count=1)

    def by_element(self) -> pd.DataFrame:
        """Sum per element (``global_id``), with its class, building and storey."""
        out = self._group(["global_id"])
        context = self.rows.groupby("global_id", sort=True, dropna=False)[
            ["ifc_class", "building_id", "storey"]
        ].first()
        return context.join(out)

    def by_storey(self) -> pd.DataFrame:
        """Sum per (``building_id``, ``storey``)."""
        return self._group(["building_id", "storey"])

    def by_material(self) -> pd.DataFrame:
        """Sum per emission factor row (``material_key``; missing for unmatched materials)."""
        return self._group(["material_key"])

    def by_building(self) -> pd.DataFrame:
        """Sum per building, with per-m² values when the building table gives ``gfa_m2``.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``building_id``; module columns in kgCO2e; when floor areas are known,
            ``gfa_m2`` and ``<module>_per_m2`` columns (kgCO2e/m² of gross floor area).
            Buildings of the building table without any element get NaN.
        """
        out = self._group(["building_id"])
        if self.buildings is not None:
            index = self.buildings.index.rename("building_id")
            extra = out.index.difference(index)
            out = out.reindex(index.append(extra))
            out.index.name = "building_id"
            if "gfa_m2" in self.buildings.columns:
                gfa = pd.to_numeric(self.buildings["gfa_m2"], errors="coerce")
                out.insert(0, "gfa_m2", gfa.reindex(out.index).to_numpy())
                out = _per_m2(out, [*self.module_columns, "total_kgco2e"])
        return out

    def rollup(
        self,
        buildings_to_parcel: Mapping[object, object] | pd.Series,
        parcel_to_zone: Mapping[object, object] | pd.Series | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Roll building totals up to parcels, zones and the city.

        Parameters
        ----------
        buildings_to_parcel
            ``{building_id: parcel_id}`` (or a Series indexed by building id).
        parcel_to_zone
            ``{parcel_id: zone_id}``; None skips the zone level.

        Returns
        -------
        dict
            ``"building"``, ``"parcel"``, (``"zone"``), ``"city"`` DataFrames with the module
            sums in kgCO2e, ``gfa_m2`` and per-m² values where floor areas are known. Buildings
            missing from the mapping stay in an unassigned group (index NA) with a warning, so
            every level sums to the city total.
        """
        building = self.by_building()
        levels: dict[str, pd.DataFrame] = {"building": building}
        parcel_of = pd.Series(buildings_to_parcel, dtype=object)
        parcel_ids = parcel_of.reindex(building.index)
        lost = parcel_ids.isna() & building["total_kgco2e"].notna()
        if lost.any():
            warnings.warn(
                f"{int(lost.sum())} building(s) have no parcel (e.g. {building.index[lost][0]!r}); "
                "they are kept in an unassigned group",
                stacklevel=2,
            )
        sum_cols = [c for c in building.columns if not c.endswith("_per_m2")]
        parcel = building[sum_cols].groupby(parcel_ids.rename("parcel_id"), dropna=False).sum(min_count=1)
        levels["parcel"] = _per_m2(parcel, [*self.module_columns, "total_kgco2e"])
        top = parcel
        if parcel_to_zone is not None:
            zone_of = pd.Series(parcel_to_zone, dtype=object)
            zone_ids = zone_of.reindex(parcel.index)
            lost_p = zone_ids.isna() & parcel["total_kgco2e"].notna() & parcel.index.notna()
            if lost_p.any():
                warnings.warn(
                    f"{int(lost_p.sum())} parcel(s) have no zone; they are kept in an unassigned group",
                    stacklevel=2,
                )
            zone = parcel[sum_cols].groupby(zone_ids.rename("zone_id"), dropna=False).sum(min_count=1)
            levels["zone"] = _per_m2(zone, [*self.module_columns, "total_kgco2e"])
            top = zone
        city = top[sum_cols].sum(min_count=1).to_frame("city").T
        # rows without a building id belong to the city but to no building
        orphan = self.rows[self.rows["building_id"].isna()]
        if not orphan.empty:
            city_rows = self.total()
            for col in self.value_columns:
                city.loc["city", col] = city_rows[col]
        levels["city"] = _per_m2(city, [*self.module_columns, "total_kgco2e"])
        return levels

    def coverage(self) -> pd.DataFrame:
        """Per module: share of the mass with a value, and the rows missing one.

        Returns
        -------
        pandas.DataFrame
            Indexed by module: ``mass_share`` (0-1, of rows with a known mass), ``rows_missing``.
        """
        mass = self.rows["mass_kg"]
        known = mass.notna() & (mass > 0)
        total_mass = mass[known].sum()
        records = {}
        for module in self.modules:
            col = MODULES[module]
            has = self.rows[col].notna()
            share = float(mass[known & has].sum() / total_mass) if total_mass > 0 else float("nan")
            records[module] = {"mass_share": share, "rows_missing": int((~has).sum())}
        return pd.DataFrame.from_dict(records, orient="index").rename_axis("module")

    def missing_quantities(self) -> pd.DataFrame:
        """Materials that have a factor but no quantity in its declared unit.

        E.g. a per-m² factor on a row without ``thickness_m`` or ``area_m2``, or a row without
        ``volume_m3``. Indexed by material name with ``material_key``, ``declared_unit`` and the
        number of ``rows`` and distinct ``elements``.
        """
        sel = self.rows[self.rows["has_factor"] & self.rows["quantity"].isna()]
        columns = ["material_key", "declared_unit", "rows", "elements"]
        if sel.empty:
            return pd.DataFrame(columns=columns).rename_axis("material")
        return sel.groupby("material", sort=True).agg(
            material_key=("material_key", "first"),
            declared_unit=("declared_unit", "first"),
            rows=("global_id", "size"),
            elements=("global_id", "nunique"),
        )

    def unmatched(self) -> pd.DataFrame:
        """Materials without an emission factor, with their volume (see :func:`unmatched_materials`)."""
        from cimkit.analysis.carbon.mapping import unmatched_materials

        return unmatched_materials(self)


def _per_m2(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    out = frame.copy()
    if "gfa_m2" not in out.columns:
        return out
    gfa = pd.to_numeric(out["gfa_m2"], errors="coerce")
    gfa = gfa.where(gfa > 0)
    for col in columns:
        if col in out.columns:
            out[f"{col}_per_m2"] = out[col] / gfa
    return out


def _check_modules(modules: Sequence[str]) -> tuple[str, ...]:
    if isinstance(modules, str):
        modules = (modules,)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        raise ValidationError(
            f"'modules' must be drawn from {', '.join(MODULES)}; {', '.join(map(repr, unknown))} was given"
        )
    if not modules:
        raise ValidationError("'modules' is empty; give at least 'A1-A3'")
    return tuple(m for m in MODULES if m in modules)


def _replacements(study_period_years: float, service_life: pd.Series) -> pd.Series:
    """Number of replacements over the study period: ceil(study / life) - 1, at least 0."""
    life = pd.to_numeric(service_life, errors="coerce")
    ratio = study_period_years / life
    # a tolerance so that 50 / 25 counts 2 lives (1 replacement), not 3, under float rounding
    n = np.ceil(ratio.to_numpy(dtype=float) - 1e-9) - 1
    return pd.Series(np.clip(n, 0, None), index=service_life.index).where(life.notna())


def embodied_carbon(
    materials: pd.DataFrame,
    *,
    factors: pd.DataFrame | None = None,
    overrides: Mapping[str, str] | None = None,
    rules: pd.DataFrame | None = None,
    buildings: pd.DataFrame | None = None,
    service_lives: Mapping[str, float] | None = None,
    study_period_years: float = 50,
    modules: Sequence[str] = ("A1-A3", "A4", "A5", "B4", "C"),
) -> EmbodiedResult:
    """Embodied carbon of every (element x material) row of an IFC material table.

    Parameters
    ----------
    materials
        The long material table of ``read_ifc_model(...).materials``: one row per element and
        material with ``material`` (free-text name) and ``volume_m3`` (m³, the element volume x
        the material's share), and optionally ``global_id``, ``ifc_class``, ``building_id``,
        ``storey``, ``thickness_m`` (m, for per-m² factors), ``area_m2`` (m²) and ``count``.
    factors
        Emission factor table (see :func:`~cimkit.analysis.carbon.factors.load_factors`); None
        uses the bundled one.
    overrides
        ``{material name: table key}`` forced mappings (see :func:`map_materials`).
    rules
        Keyword rules replacing the bundled ones.
    buildings
        Building table indexed by building id with ``gfa_m2`` (m²) for per-m² results.
    service_lives
        ``{table key or category: years}`` overriding the table's ``service_life_years``
        (a key wins over a category).
    study_period_years
        Reference study period in years (RE2020 and most European schemes use 50).
    modules
        EN 15978 modules to compute, among ``"A1-A3", "A4", "A5", "B4", "C"``.

    Returns
    -------
    EmbodiedResult
        Rows in kgCO2e per module with roll-ups (``by_element``, ``by_storey``,
        ``by_building``, ``by_material``, ``rollup``), ``coverage()`` and ``unmatched()``.

    Raises
    ------
    cimkit.errors.InputError
        When ``material`` or ``volume_m3`` is missing or a volume is negative.
    cimkit.errors.ValidationError
        When a module name is unknown or the study period is not positive.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.carbon import embodied_carbon
    >>> table = pd.DataFrame({"global_id": ["w1"], "building_id": ["b1"], "storey": ["RDC"],
    ...                       "material": ["Béton C25/30"], "volume_m3": [10.0]})
    >>> result = embodied_carbon(table, modules=("A1-A3",))
    >>> float(result.total()["a1a3_kgco2e"])  # 10 m3 x 2400 kg/m3 x 0.081 kgCO2e/kg
    1944.0
    """
    from cimkit.analysis.carbon.factors import load_factors, validate_factors
    from cimkit.analysis.carbon.mapping import map_materials

    modules = _check_modules(modules)
    if not (isinstance(study_period_years, (int, float)) and study_period_years > 0):
        raise ValidationError(
            f"'study_period_years' must be a positive number; {study_period_years!r} was given"
        )
    if not isinstance(materials, pd.DataFrame):
        raise InputError(
            f"'materials' must be a DataFrame; {type(materials).__name__} was given",
            hint="pass read_ifc_model(path).materials",
        )
    missing = [c for c in ("material", "volume_m3") if c not in materials.columns]
    if missing:
        raise InputError(
            f"the material table lacks the column(s) {', '.join(missing)}",
            layer="materials",
            hint="pass read_ifc_model(path).materials, or a table with 'material' and 'volume_m3'",
        )
    table = load_factors() if factors is None else validate_factors(factors)

    rows = materials.copy()
    # Input columns that share a name with a result column (the reader's IfcMaterial
    # ``category``, a ``density_kg_m3`` or ``mass_kg`` from the model) are kept as
    # ``ifc_<name>``; the table's density is used so that mass and factor refer to one product.
    clashing = [c for c in rows.columns if c in _RESULT_COLUMNS]
    rows = rows.rename(columns={c: f"ifc_{c}" for c in clashing})
    if "global_id" not in rows.columns:
        rows["global_id"] = rows.index.to_numpy()
    for col in _CONTEXT_COLUMNS:
        if col not in rows.columns:
            rows[col] = pd.NA
    volume = pd.to_numeric(rows["volume_m3"], errors="coerce")
    negative = volume < 0
    if negative.any():
        first = rows.loc[negative, "global_id"].iloc[0]
        raise InputError(
            f"{int(negative.sum())} row(s) have a negative volume_m3 ({volume[negative].iloc[0]})",
            layer="materials",
            entity=first,
            hint="volumes must be >= 0 m³; check the element's geometry or quantity set",
        )
    if volume.isna().any():
        logger.info("%d material rows have no volume; their carbon is NaN", int(volume.isna().sum()))
    rows["volume_m3"] = volume.astype(float)

    names = rows["material"].astype(object).where(rows["material"].notna(), "")
    rows["material"] = names
    mapping = map_materials(names.unique(), rules=rules, overrides=overrides, factors=table)
    m = mapping.reindex(names.to_numpy())
    rows["material_key"] = m["material_key"].to_numpy()
    rows["how"] = m["how"].to_numpy()
    rows["rule"] = m["rule"].to_numpy()

    keyed = table.reindex(rows["material_key"].astype(object).where(rows["material_key"].notna()))
    keyed.index = rows.index
    rows["category"] = keyed["category"].to_numpy()
    rows["declared_unit"] = keyed["declared_unit"].to_numpy()
    density = keyed["density_kg_m3"].astype(float)
    rows["density_kg_m3"] = density.to_numpy()
    rows["mass_kg"] = rows["volume_m3"] * density

    # quantity in the declared unit of each row
    quantity = pd.Series(np.nan, index=rows.index)
    unit = rows["declared_unit"]
    quantity[unit == "kg"] = rows["mass_kg"][unit == "kg"]
    quantity[unit == "m3"] = rows["volume_m3"][unit == "m3"]
    is_m2 = unit == "m2"
    if is_m2.any():
        area = pd.Series(np.nan, index=rows.index)
        if "area_m2" in rows.columns:
            area = pd.to_numeric(rows["area_m2"], errors="coerce")
        if "thickness_m" in rows.columns:
            thick = pd.to_numeric(rows["thickness_m"], errors="coerce")
            from_thickness = rows["volume_m3"] / thick.where(thick > 0)
            area = from_thickness.where(from_thickness.notna(), area)
        quantity[is_m2] = area[is_m2]
    is_unit = unit == "unit"
    if is_unit.any() and "count" in rows.columns:
        quantity[is_unit] = pd.to_numeric(rows["count"], errors="coerce")[is_unit]
    rows["quantity"] = quantity

    factor = pd.Series(np.nan, index=rows.index)
    for u, col in _UNIT_FACTOR.items():
        sel = unit == u
        factor[sel] = keyed[col][sel].astype(float)
    rows["has_factor"] = factor.notna().to_numpy()
    rows["reason"] = np.select(
        [rows["has_factor"], rows["material_key"].notna(), rows["how"] == "rule"],
        ["", "no factor in table", "recognised, no table row"],
        default="no rule matched",
    )

    a1a3 = rows["quantity"] * factor
    a4 = rows["mass_kg"] * keyed["a4_kgco2e_per_kg"].astype(float)
    if "A1-A3" in modules:
        rows["a1a3_kgco2e"] = a1a3
    if "A4" in modules:
        rows["a4_kgco2e"] = a4
    if "A5" in modules:
        rows["a5_kgco2e"] = rows["mass_kg"] * keyed["a5_kgco2e_per_kg"].astype(float)
    life = keyed["service_life_years"].astype(float).copy()
    if service_lives:
        for target, years in service_lives.items():
            if not (isinstance(years, (int, float)) and years > 0):
                raise ValidationError(
                    f"service life for {target!r} must be a positive number of years; {years!r} was given"
                )
        by_cat = {k: v for k, v in service_lives.items() if k not in table.index}
        for cat, years in by_cat.items():
            life[rows["category"] == cat] = float(years)
        for key, years in service_lives.items():
            if key in table.index:
                life[rows["material_key"] == key] = float(years)
    rows["service_life_years"] = life
    rows["replacements"] = _replacements(float(study_period_years), life)
    if "B4" in modules:
        # (A1-A3 + A4) per replacement; a missing A4 factor counts as 0 here and shows in coverage()
        rows["b4_kgco2e"] = rows["replacements"] * (a1a3 + a4.fillna(0.0))
    if "C" in modules:
        rows["c_kgco2e"] = rows["mass_kg"] * keyed["c1c4_kgco2e_per_kg"].astype(float)
    module_cols = [MODULES[m] for m in modules]
    rows["total_kgco2e"] = rows[module_cols].sum(axis=1, min_count=1)

    n_missing = int((~rows["has_factor"]).sum())
    if n_missing:
        logger.info(
            "%d of %d material rows have no emission factor; see result.unmatched()", n_missing, len(rows)
        )
    ordered = [
        *_CONTEXT_COLUMNS,
        "material",
        "material_key",
        "category",
        "how",
        "rule",
        "has_factor",
        "reason",
        "volume_m3",
        "density_kg_m3",
        "mass_kg",
        "declared_unit",
        "quantity",
        "service_life_years",
        "replacements",
        *module_cols,
        "total_kgco2e",
    ]
    rest = [c for c in rows.columns if c not in ordered]
    gfa_table = None
    if buildings is not None:
        if "gfa_m2" not in buildings.columns:
            raise InputError(
                "the building table has no 'gfa_m2' column",
                layer="buildings",
                hint="pass read_ifc_model(path).buildings, or a table indexed by building id with gfa_m2",
            )
        gfa_table = pd.DataFrame({"gfa_m2": pd.to_numeric(buildings["gfa_m2"], errors="coerce")})
        gfa_table.index = buildings.index
    return EmbodiedResult(
        rows=rows[ordered + rest],
        modules=modules,
        study_period_years=float(study_period_years),
        buildings=gfa_table,
        factors=table,
    )


def replacements(study_period_years: float, service_life_years: float) -> int:
    """Replacements of a component over a study period: ⌈study / life⌉ − 1 (EN 15978 B4).

    >>> replacements(50, 25), replacements(50, 30), replacements(50, 60)
    (1, 1, 0)
    """
    if service_life_years <= 0 or study_period_years <= 0:
        raise ValidationError("study period and service life must be positive (years)")
    return max(0, math.ceil(study_period_years / service_life_years - 1e-9) - 1)
