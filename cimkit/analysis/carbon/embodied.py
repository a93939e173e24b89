"""Embodied carbon of buildings from BIM quantities (EN 15978 modules A1-A3, A4, A5, B4, C).

For every (element x material) row of the IFC material table::

    mass_kg      = volume_m3 x density_kg_m3
    a1a3_kgco2e  = quantity x A1-A3 factor     (quantity in the row's declared unit:
                                                 kg -> mass, m3 -> volume, m2 -> area, unit -> count)
    a4_kgco2e    = mass x A4 factor            (where the table has one)
    a5_kgco2e    = mass x A5 factor
    c_kgco2e     = mass x C1-C4 factor
    b4_kgco2e    = (ceil(study period / service life) - 1) x (A1-A3 + A4)

B4 follows EN 15978: each replacement repeats the production and transport of the component; a
component whose service life is at least the study period is not replaced. Where a factor or a
service life is missing the module value is NaN for that row; the totals add what is available
and :attr:`EmbodiedResult.coverage` says how much of the mass each module covers. Materials
without a factor are kept in the rows and listed in :attr:`EmbodiedResult.unmatched` with
their volume, never dropped.

Biogenic carbon storage and module D are not computed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd

from cimkit.analysis.carbon.completeness import (
    ELEMENT_CLASSES,
    MIN_MATCHED_VOLUME_SHARE,
    check_options,
    compute_completeness,
    compute_estimate_ratio,
    warn_incomplete,
)
from cimkit.analysis.carbon.mapping import map_materials
from cimkit.analysis.carbon.rollup import MODULES, EmbodiedResult, _build_result
from cimkit.data.carbon import load_factors, validate_factors
from cimkit.errors import InputError, ValidationError

__all__ = ["compute_embodied_carbon", "compute_replacements"]

logger = logging.getLogger(__name__)

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
_ORDERED_COLUMNS = (
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
)


def compute_embodied_carbon(
    materials: pd.DataFrame,
    *,
    factors: pd.DataFrame | None = None,
    overrides: Mapping[str, str] | None = None,
    rules: pd.DataFrame | None = None,
    buildings: pd.DataFrame | None = None,
    service_lives: Mapping[str, float] | None = None,
    study_period_years: float = 50,
    modules: Sequence[str] = ("A1-A3", "A4", "A5", "B4", "C"),
    elements: pd.DataFrame | None = None,
    expected_classes: Sequence[str] = ELEMENT_CLASSES,
    min_matched_volume_share: float = MIN_MATCHED_VOLUME_SHARE,
    reference_year: int = 2022,
    intensities: pd.DataFrame | None = None,
) -> EmbodiedResult:
    """Compute the embodied carbon of every (element x material) row of an IFC material table.

    Parameters
    ----------
    materials
        The long material table of ``read_ifc_model(...).materials``: one row per element and
        material with ``material`` (free-text name) and ``volume_m3`` (m³, the element volume x
        the material's share), and optionally ``global_id``, ``ifc_class``, ``building_id``,
        ``storey``, ``thickness_m`` (m, for per-m² factors), ``area_m2`` (m²) and ``count``.
    factors
        Emission factor table (see :func:`~cimkit.data.carbon.load_factors`); None uses the
        bundled one.
    overrides
        ``{material name: table key}`` winning over the keyword rules.
    rules
        Keyword rules replacing the bundled ones (see :func:`~cimkit.data.carbon.load_rules`).
    buildings
        A building table indexed by building id with ``gfa_m2`` (m²), e.g.
        ``read_ifc_model(path).buildings``: the per-building sums are reindexed on it and get
        per-m² values.
    service_lives
        ``{table key or category: years}`` overriding the table's service lives for B4, e.g.
        ``{"insulation": 30, "glass_float": 30}``.
    study_period_years
        Reference study period in years (RE2020 and most European schemes use 50).
    modules
        EN 15978 modules to compute, among ``"A1-A3", "A4", "A5", "B4", "C"``.
    elements
        ``read_ifc_model(...).elements``: classes are counted from it too, and elements
        without any material count as unmatched volume.
    expected_classes, min_matched_volume_share
        The completeness thresholds (see :mod:`cimkit.analysis.carbon.completeness`): the
        element classes a complete model holds (all five by default) and the share (0-1) of
        the volume that must have a factor (0.9).
    reference_year, intensities
        As for :func:`~cimkit.analysis.carbon.estimate_embodied_carbon`: the estimate each IFC
        building is compared with (``ifc_to_estimate_ratio``; needs ``use`` in ``buildings``).

    Returns
    -------
    EmbodiedResult
        The rows in kgCO2e per module, and their sums per element, storey, building and
        material, ``coverage``, ``unmatched`` and ``missing_quantities`` as attributes; each
        building sum carries its ``completeness`` and the columns it is judged on.

    Raises
    ------
    cimkit.errors.InputError
        When ``material`` or ``volume_m3`` is missing, a volume is negative, or ``buildings``
        has no ``gfa_m2``.

    Warns
    -----
    cimkit.errors.CoverageWarning
        When some modelled volume has no factor or a building is not ``complete``.
    cimkit.errors.ValidationError
        When a module name is unknown, the study period or a service life is not positive.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.carbon import compute_embodied_carbon
    >>> table = pd.DataFrame({"global_id": ["w1"], "building_id": ["b1"], "storey": ["RDC"],
    ...                       "material": ["Béton C25/30"], "volume_m3": [10.0]})
    >>> result = compute_embodied_carbon(table, modules=("A1-A3",))
    >>> float(result.city["a1a3_kgco2e"])  # 10 m3 x 2400 kg/m3 x 0.081 kgCO2e/kg
    1944.0
    >>> result.rows.loc[0, "material_key"], float(result.rows.loc[0, "mass_kg"])
    ('concrete_c25_30', 24000.0)
    """
    modules = _check_modules(modules)
    expected = check_options(expected_classes, min_matched_volume_share)
    _check_positive("study_period_years", study_period_years)
    _check_materials(materials)
    gfa = _floor_areas(buildings)
    table = load_factors() if factors is None else validate_factors(factors)
    rows = _prepare_rows(materials)
    keyed = _attach_factors(rows, table, rules=rules, overrides=overrides)
    factor = _a1a3_factor(rows, keyed)
    life = _service_lives(rows, keyed, table, service_lives)
    rows["service_life_years"] = life
    rows["replacements"] = _replacements(float(study_period_years), life)
    module_cols = _module_values(rows, keyed, factor, modules)
    rows["total_kgco2e"] = rows[module_cols].sum(axis=1, min_count=1)
    n_missing = int((~rows["has_factor"]).sum())
    if n_missing:
        logger.info(
            "%d of %d material rows have no emission factor; see result.unmatched", n_missing, len(rows)
        )
    ordered = [*_ORDERED_COLUMNS, *module_cols, "total_kgco2e"]
    rest = [c for c in rows.columns if c not in ordered]
    rows = rows[ordered + rest]
    grades = compute_completeness(
        rows, elements, expected_classes=expected, min_share=float(min_matched_volume_share)
    )
    warn_incomplete(grades)
    ratios = partial(
        compute_estimate_ratio, buildings=buildings, reference_year=reference_year, intensities=intensities
    )
    return _build_result(
        rows,
        modules=modules,
        study_period_years=float(study_period_years),
        gfa=gfa,
        factors=table,
        completeness=grades,
        ratios=ratios,
    )


def compute_replacements(study_period_years: float, service_life_years: float) -> int:
    """Compute the replacements of a component over a study period (EN 15978 B4).

    The count is ⌈study period / service life⌉ − 1, at least 0: a component that lasts the
    study period is never replaced.

    Parameters
    ----------
    study_period_years
        Reference study period (years, > 0).
    service_life_years
        Service life of the component (years, > 0).

    Returns
    -------
    int
        The number of replacements.

    Raises
    ------
    cimkit.errors.ValidationError
        When either duration is not positive.

    Examples
    --------
    >>> from cimkit.analysis.carbon import compute_replacements
    >>> compute_replacements(50, 25), compute_replacements(50, 30), compute_replacements(50, 60)
    (1, 1, 0)
    """
    if service_life_years <= 0 or study_period_years <= 0:
        raise ValidationError("study period and service life must be positive (years)")
    return max(0, math.ceil(study_period_years / service_life_years - 1e-9) - 1)


# ----------------------------------------------------------------------------- checks
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


def _check_positive(name: str, value: object) -> None:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0):
        raise ValidationError(f"{name!r} must be a positive number; {value!r} was given")


def _check_materials(materials: object) -> None:
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


def _floor_areas(buildings: pd.DataFrame | None) -> pd.Series | None:
    if buildings is None:
        return None
    if "gfa_m2" not in buildings.columns:
        raise InputError(
            "the building table has no 'gfa_m2' column",
            layer="buildings",
            hint="pass read_ifc_model(path).buildings, or a table indexed by building id with gfa_m2",
        )
    return pd.Series(pd.to_numeric(buildings["gfa_m2"], errors="coerce").to_numpy(), index=buildings.index)


# ----------------------------------------------------------------------------- rows
def _prepare_rows(materials: pd.DataFrame) -> pd.DataFrame:
    """Copy the input with context columns, clashing names renamed and volumes checked."""
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
        raise InputError(
            f"{int(negative.sum())} row(s) have a negative volume_m3 ({volume[negative].iloc[0]})",
            layer="materials",
            entity=rows.loc[negative, "global_id"].iloc[0],
            hint="volumes must be >= 0 m³; check the element's geometry or quantity set",
        )
    if volume.isna().any():
        logger.info("%d material rows have no volume; their carbon is NaN", int(volume.isna().sum()))
    rows["volume_m3"] = volume.astype(float)
    rows["material"] = rows["material"].astype(object).where(rows["material"].notna(), "")
    return rows


def _attach_factors(
    rows: pd.DataFrame,
    table: pd.DataFrame,
    *,
    rules: pd.DataFrame | None,
    overrides: Mapping[str, str] | None,
) -> pd.DataFrame:
    """Map every row's material to a factor row; add mapping, density, mass and quantity columns.

    Returns the factor table rows aligned on ``rows`` (NaN rows for unmatched materials).
    """
    names = rows["material"]
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
    rows["quantity"] = _quantities(rows)
    return keyed


def _quantities(rows: pd.DataFrame) -> pd.Series:
    """Compute the quantity of every row in its declared unit (kg, m³, m², count)."""
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
    return quantity


def _a1a3_factor(rows: pd.DataFrame, keyed: pd.DataFrame) -> pd.Series:
    """Look up the A1-A3 factor per declared unit of every row; set ``has_factor`` and ``reason``."""
    factor = pd.Series(np.nan, index=rows.index)
    unit = rows["declared_unit"]
    for declared in ("kg", "m3", "m2", "unit"):
        sel = unit == declared
        factor[sel] = keyed[f"a1a3_kgco2e_per_{declared}"][sel].astype(float)
    rows["has_factor"] = factor.notna().to_numpy()
    rows["reason"] = np.select(
        [rows["has_factor"], rows["material_key"].notna(), rows["how"] == "rule"],
        ["", "no factor in table", "recognised, no table row"],
        default="no rule matched",
    )
    return factor


def _service_lives(
    rows: pd.DataFrame,
    keyed: pd.DataFrame,
    table: pd.DataFrame,
    service_lives: Mapping[str, float] | None,
) -> pd.Series:
    """Service life of every row: the table's, overridden by category, then by table key."""
    life = keyed["service_life_years"].astype(float).copy()
    if not service_lives:
        return life
    for target, years in service_lives.items():
        if not (isinstance(years, (int, float)) and years > 0):
            raise ValidationError(
                f"service life for {target!r} must be a positive number of years; {years!r} was given"
            )
    for category, years in service_lives.items():
        if category not in table.index:
            life[rows["category"] == category] = float(years)
    for key, years in service_lives.items():
        if key in table.index:
            life[rows["material_key"] == key] = float(years)
    return life


def _replacements(study_period_years: float, service_life: pd.Series) -> pd.Series:
    """Count the replacements over the study period: ceil(study / life) - 1, at least 0."""
    life = pd.to_numeric(service_life, errors="coerce")
    ratio = study_period_years / life
    # a tolerance so that 50 / 25 counts 2 lives (1 replacement), not 3, under float rounding
    n = np.ceil(ratio.to_numpy(dtype=float) - 1e-9) - 1
    return pd.Series(np.clip(n, 0, None), index=service_life.index).where(life.notna())


def _module_values(
    rows: pd.DataFrame, keyed: pd.DataFrame, factor: pd.Series, modules: tuple[str, ...]
) -> list[str]:
    """Add one kgCO2e column per requested module; return their names in EN 15978 order."""
    a1a3 = rows["quantity"] * factor
    a4 = rows["mass_kg"] * keyed["a4_kgco2e_per_kg"].astype(float)
    values = {
        "A1-A3": a1a3,
        "A4": a4,
        "A5": rows["mass_kg"] * keyed["a5_kgco2e_per_kg"].astype(float),
        # (A1-A3 + A4) per replacement; a missing A4 factor counts as 0 here and shows in coverage
        "B4": rows["replacements"] * (a1a3 + a4.fillna(0.0)),
        "C": rows["mass_kg"] * keyed["c1c4_kgco2e_per_kg"].astype(float),
    }
    for module in modules:
        rows[MODULES[module]] = values[module]
    return [MODULES[m] for m in modules]
