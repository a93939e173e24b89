"""Material names (free text from IFC) → rows of the emission factor table.

IFC material names are whatever the author typed: "Béton C25/30", "Concrete - Cast In Situ",
"Stahlbeton 65690", "BA 25", "Plaque de plâtre". cimkit maps them with a short, ordered list of
regular-expression rules (``cimkit/data/material_keywords.csv``) applied to a *folded* name:
accents removed (NFKD), case folded, runs of white space collapsed. The first rule (lowest
``priority``) whose pattern matches wins, so specific rules ("Stahlbeton", "BA 13", "Dachziegel")
come before generic ones ("Stahl", "beton", "Ziegel"). A rule may name no material: the name is
then recognised but reported as unmatched (e.g. plywood, for which no factor is bundled), so
it is never mistaken for a neighbouring material.

Every result carries the rule that fired; names that match no rule are reported, never dropped.
User overrides (``{"Mon béton spécial": "concrete_c30_37"}``) take precedence over rules, and a
name equal to a table key (``"glulam"``) maps to that row directly.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from cimkit.data.carbon import FACTOR_COLUMNS, load_factors, load_rules, validate_factors, validate_rules
from cimkit.errors import InputError

__all__ = ["find_unmatched_materials", "map_materials", "normalise_material_name"]

logger = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")


def normalise_material_name(name: object) -> str:
    """Fold a material name for matching: strip accents, case-fold, collapse white space.

    Parameters
    ----------
    name
        A material name as written in the model (None and NaN give ``""``).

    Returns
    -------
    str
        The folded name the keyword rules are applied to (``ß`` becomes ``ss``).

    Examples
    --------
    >>> from cimkit.analysis.carbon import normalise_material_name
    >>> normalise_material_name("  Béton   ARMÉ "), normalise_material_name("Straße")
    ('beton arme', 'strasse')
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("ß", "ss").casefold()
    return _SPACES.sub(" ", text).strip()


_MAPPING_COLUMNS = ["name", "folded", "material_key", "matched", "how", "rule", "priority"]


def map_materials(
    names: Iterable[object],
    *,
    rules: pd.DataFrame | None = None,
    overrides: Mapping[str, str] | None = None,
    factors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Map material names to emission factor rows.

    Order of precedence: ``overrides`` (exact name, then folded name), a name equal to a table
    key, then the first keyword rule that matches the folded name.

    Parameters
    ----------
    names
        Material names as written in the model; duplicates are mapped once.
    rules
        Keyword rules as returned by :func:`~cimkit.data.carbon.load_rules` (or a DataFrame
        with ``priority``, ``pattern``, ``material``); None uses the bundled rules.
    overrides
        ``{material name: table key}``; wins over every rule. Keys are compared exactly and,
        failing that, after folding.
    factors
        The emission factor table, to check that override targets exist and to recognise names
        that are table keys; None uses the bundled table.

    Returns
    -------
    pandas.DataFrame
        Indexed by the distinct input names (``name``), with ``folded``, ``material_key`` (table
        row, or missing), ``matched`` (bool: a table row was found), ``how`` (``"override"``,
        ``"table key"``, ``"rule"`` or ``"none"``), ``rule`` (the pattern that fired) and
        ``priority``.

    Raises
    ------
    cimkit.errors.InputError
        When an override names a key that is not in the table.

    Examples
    --------
    >>> from cimkit.analysis.carbon import map_materials
    >>> m = map_materials(["Béton C25/30", "BA 25", "Plaque de plâtre", "Mystery"])
    >>> m["material_key"].tolist()
    ['concrete_c25_30', 'reinforced_concrete', 'plasterboard', None]
    """
    if factors is None:
        table = load_factors()
    elif factors.index.name == "material" and set(FACTOR_COLUMNS) <= set(factors.columns):
        table = factors  # already validated (only its keys are used here)
    else:
        table = validate_factors(factors)
    rule_table = load_rules() if rules is None else validate_rules(rules)
    keys = set(table.index)
    overrides = dict(overrides or {})
    bad = sorted({v for v in overrides.values() if v not in keys})
    if bad:
        raise InputError(
            f"override target(s) {', '.join(map(repr, bad))} are not rows of the emission factor table",
            hint=f"use one of: {', '.join(sorted(keys))}",
        )
    folded_overrides = {normalise_material_name(k): v for k, v in overrides.items()}
    folded_keys = {normalise_material_name(k): k for k in keys}
    records = [
        _map_one(name, rule_table, keys, overrides, folded_overrides, folded_keys)
        for name in dict.fromkeys("" if n is None else n for n in names)
    ]
    out = pd.DataFrame.from_records(records, columns=_MAPPING_COLUMNS)
    out["priority"] = out["priority"].astype("Int64")
    out["material_key"] = out["material_key"].astype(object).where(out["matched"], None)
    return out.set_index("name")


def _map_one(
    name: object,
    rule_table: pd.DataFrame,
    keys: set[str],
    overrides: Mapping[str, str],
    folded_overrides: Mapping[str, str],
    folded_keys: Mapping[str, str],
) -> dict[str, object]:
    """Map one distinct name (see :func:`map_materials` for the precedence)."""
    folded = normalise_material_name(name)
    key: str | None = None
    how, rule, priority = "none", None, None
    if isinstance(name, str) and name in overrides:
        key, how = overrides[name], "override"
    elif folded in folded_overrides:
        key, how = folded_overrides[folded], "override"
    elif folded in folded_keys:
        key, how = folded_keys[folded], "table key"
    else:
        for row in rule_table.itertuples(index=False):
            if row.regex.search(folded):
                rule, priority = row.pattern, int(row.priority)
                key = row.material or None
                how = "rule"
                break
    if key is not None and key not in keys:
        logger.warning("rule %r maps to %r, which is not in the emission factor table", rule, key)
        key = None
    return {
        "name": name,
        "folded": folded,
        "material_key": key,
        "matched": key is not None,
        "how": how,
        "rule": rule,
        "priority": priority,
    }


_UNMATCHED_COLUMNS = ["reason", "material_key", "volume_m3", "elements", "rows"]


def find_unmatched_materials(result: object) -> pd.DataFrame:
    """Find the materials that got no emission factor, with the volume they represent.

    Parameters
    ----------
    result
        An :class:`~cimkit.analysis.carbon.EmbodiedResult` or its ``rows`` frame (volumes and
        element counts are reported), or a DataFrame from :func:`map_materials` (names only).

    Returns
    -------
    pandas.DataFrame
        Indexed by material name: ``reason`` (``"no rule matched"``, ``"recognised, no table
        row"``, ``"no factor in table"``), ``material_key``, and for an embodied result
        ``volume_m3`` (m³, summed), ``elements`` (distinct elements) and ``rows``; sorted by
        volume, largest first.

    Raises
    ------
    cimkit.errors.InputError
        When ``result`` is neither of the two.

    Examples
    --------
    >>> from cimkit.analysis.carbon import find_unmatched_materials, map_materials
    >>> find_unmatched_materials(map_materials(["Beton", "OSB", "Mystery"]))["reason"].to_dict()
    {'OSB': 'recognised, no table row', 'Mystery': 'no rule matched'}
    """
    rows = getattr(result, "rows", None)
    if isinstance(rows, pd.DataFrame):
        return _unmatched_rows(rows)
    if isinstance(result, pd.DataFrame) and "has_factor" in result.columns:
        return _unmatched_rows(result)
    if isinstance(result, pd.DataFrame) and "matched" in result.columns:
        out = result.loc[~result["matched"], ["material_key", "how", "rule"]].copy()
        out.insert(0, "reason", np.where(out["how"] == "rule", "recognised, no table row", "no rule matched"))
        return out.drop(columns="how").rename_axis("material")
    raise InputError(
        "find_unmatched_materials() takes an EmbodiedResult or a map_materials() table; "
        f"got {type(result).__name__}",
        hint="pass the result of compute_embodied_carbon() or map_materials()",
    )


def _unmatched_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Unmatched materials of the (element x material) rows of an embodied carbon result."""
    missing = rows[~rows["has_factor"].astype(bool)]
    if missing.empty:
        return pd.DataFrame(columns=_UNMATCHED_COLUMNS).rename_axis("material")
    grouped = missing.groupby("material", sort=False, dropna=False).agg(
        reason=("reason", "first"),
        material_key=("material_key", "first"),
        volume_m3=("volume_m3", lambda s: s.sum(min_count=1)),
        elements=("global_id", "nunique"),
        rows=("global_id", "size"),
    )
    return grouped.sort_values("volume_m3", ascending=False, na_position="last")
