"""Scenarios: compare variants of a building or district side by side, and swap materials.

Typical uses: a concrete structure against a timber one (build the timber variant with
:func:`substitute_materials`, compute both with
:func:`~cimkit.analysis.carbon.compute_embodied_carbon`, compare with
:func:`compare_scenarios`), or renovating against rebuilding (pass the per-building Series of
each variant).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from cimkit.analysis.carbon.mapping import map_materials, normalise_material_name
from cimkit.analysis.carbon.rollup import EmbodiedResult
from cimkit.data.carbon import load_factors, validate_factors
from cimkit.errors import InputError, ValidationError

__all__ = ["compare_scenarios", "substitute_materials"]


def _series(name: str, value: object, by: str, column: str) -> pd.Series:
    if isinstance(value, EmbodiedResult):
        if by == "module":
            return value.city[[*value.module_columns, "total_kgco2e"]].rename(name)
        if by == "total":
            return pd.Series({column: value.city[column]}, name=name)
        frame = {"building": value.buildings, "material": value.materials, "storey": value.storeys}[by]
        return frame[column].rename(name)
    if isinstance(value, pd.DataFrame):
        if column not in value.columns:
            raise InputError(
                f"scenario {name!r} has no column {column!r}",
                hint="pass value= naming the column to compare, e.g. 'b6_kgco2e'",
            )
        value = value[column]
    if isinstance(value, pd.Series):
        if by == "total":
            return pd.Series({column: value.sum(min_count=1)}, name=name)
        return value.rename(name)
    raise InputError(
        f"scenario {name!r} is a {type(value).__name__}; expected an EmbodiedResult, a Series or a DataFrame",
        hint="pass the results of compute_embodied_carbon(), compute_operational_carbon() or "
        "estimate_embodied_carbon()",
    )


def compare_scenarios(
    scenarios: Mapping[str, object],
    *,
    by: Literal["building", "material", "storey", "module", "total"] = "building",
    value: str = "total_kgco2e",
    baseline: str | None = None,
) -> pd.DataFrame:
    """Put scenario results side by side, with differences and ratios to a baseline.

    Parameters
    ----------
    scenarios
        ``{name: result}``; results are EmbodiedResult objects, Series (e.g. per-building
        totals in kgCO2e) or DataFrames (the ``value`` column is taken).
    by
        Compare per ``"building"``, ``"material"`` or ``"storey"`` (for an EmbodiedResult;
        a Series is compared on its own index), per ``"module"`` (an EmbodiedResult's totals
        per EN 15978 module) or the ``"total"`` (the sum of each scenario).
    value
        Column compared (kgCO2e), default ``"total_kgco2e"``.
    baseline
        Scenario the others are compared with; default the first one.

    Returns
    -------
    pandas.DataFrame
        One row per compared item (building, material, storey, module, or the one ``value``
        row for ``by="total"``): one column per scenario (kgCO2e), then
        ``<name> - <baseline>`` differences and ``<name> / <baseline>`` ratios for every other
        scenario.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.carbon import compare_scenarios
    >>> a = pd.Series({"b1": 100.0, "b2": 50.0})
    >>> b = pd.Series({"b1": 60.0, "b2": 50.0})
    >>> compare_scenarios({"concrete": a, "timber": b})["timber - concrete"].to_dict()
    {'b1': -40.0, 'b2': 0.0}
    >>> float(compare_scenarios({"concrete": a, "timber": b}, by="total").loc["total_kgco2e", "timber / concrete"])
    0.7333333333333333
    """
    if len(scenarios) < 2:
        raise ValidationError("compare_scenarios() needs at least two scenarios")
    if by not in ("building", "material", "storey", "module", "total"):
        raise ValidationError(
            f"'by' must be one of building, material, storey, module, total; {by!r} was given"
        )
    names = list(scenarios)
    base = names[0] if baseline is None else baseline
    if base not in scenarios:
        raise ValidationError(f"baseline {base!r} is not a scenario; the scenarios are {', '.join(names)}")
    table = pd.concat([_series(str(n), scenarios[n], by, value) for n in names], axis=1)
    for n in names:
        if n == base:
            continue
        table[f"{n} - {base}"] = table[n] - table[base]
        table[f"{n} / {base}"] = table[n] / table[base].where(table[base] != 0)
    return table


def substitute_materials(
    materials: pd.DataFrame,
    substitutions: Mapping[str, str],
    *,
    volume_ratio: float | Mapping[str, float] = 1.0,
    factors: pd.DataFrame | None = None,
    rules: pd.DataFrame | None = None,
    overrides: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Substitute materials in a copy of a material table (e.g. concrete by glulam).

    Each row is mapped to its emission factor row first (as
    :func:`~cimkit.analysis.carbon.compute_embodied_carbon` would);
    a substitution key matches the row's table key (``"concrete_c25_30"``), its category
    (``"concrete"``) or its material name (folded). Replaced rows get the target key as
    ``material`` (which :func:`map_materials` recognises directly), the original name in
    ``substituted_from`` and their volume multiplied by ``volume_ratio``.

    Parameters
    ----------
    materials
        The IFC material table (``material``, ``volume_m3``, ...); not modified.
    substitutions
        ``{table key, category or material name: target table key}``, e.g.
        ``{"concrete": "glulam"}``.
    volume_ratio
        Volume of the substitute per m³ replaced (a timber member is usually larger than the
        concrete one it replaces); a number, or ``{target key: ratio}``.
    factors, rules, overrides
        As for :func:`~cimkit.analysis.carbon.compute_embodied_carbon`.

    Returns
    -------
    pandas.DataFrame
        The new table, same index and columns plus ``substituted_from``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.carbon import substitute_materials
    >>> m = pd.DataFrame({"material": ["Béton C25/30", "Brique"], "volume_m3": [2.0, 1.0]})
    >>> substitute_materials(m, {"concrete": "glulam"})["material"].tolist()
    ['glulam', 'Brique']
    """
    if "material" not in materials.columns or "volume_m3" not in materials.columns:
        raise InputError(
            "the material table needs 'material' and 'volume_m3' columns",
            layer="materials",
            hint="pass read_ifc_model(path).materials",
        )
    table = load_factors() if factors is None else validate_factors(factors)
    bad = sorted({t for t in substitutions.values() if t not in table.index})
    if bad:
        raise InputError(
            f"substitution target(s) {', '.join(map(repr, bad))} are not rows of the emission factor table",
            hint=f"use one of: {', '.join(sorted(table.index))}",
        )
    names = materials["material"].astype(object).where(materials["material"].notna(), "")
    mapping = map_materials(names.unique(), rules=rules, overrides=overrides, factors=table)
    keys = mapping["material_key"].reindex(names.to_numpy()).to_numpy()
    categories = table["category"].reindex(pd.Index(keys, dtype=object)).to_numpy()
    folded = np.array([normalise_material_name(n) for n in names], dtype=object)

    target = np.full(len(materials), None, dtype=object)
    subs_folded = {normalise_material_name(k): v for k, v in substitutions.items()}
    for i in range(len(materials)):
        for candidate in (keys[i], categories[i]):
            if isinstance(candidate, str) and candidate in substitutions:
                target[i] = substitutions[candidate]
                break
        else:
            target[i] = subs_folded.get(folded[i])
    out = materials.copy()
    hit = pd.Series([t is not None for t in target], index=out.index)
    out["substituted_from"] = pd.Series(np.where(hit, names, None), index=out.index, dtype=object)
    if isinstance(volume_ratio, Mapping):
        ratios = np.array([float(volume_ratio.get(t, 1.0)) if t is not None else 1.0 for t in target])
    else:
        ratios = np.where(hit, float(volume_ratio), 1.0)
    if (ratios <= 0).any():
        raise ValidationError("'volume_ratio' must be positive")
    out.loc[hit, "material"] = [t for t in target if t is not None]
    out["volume_m3"] = pd.to_numeric(out["volume_m3"], errors="coerce") * ratios
    return out
