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

import functools
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import cast

import numpy as np
import pandas as pd

from cimkit.errors import DataTableError, InputError

__all__ = ["fold_name", "load_rules", "map_materials", "unmatched_materials"]

logger = logging.getLogger(__name__)

RULES_NAME = "material_keywords.csv"
_SPACES = re.compile(r"\s+")


def fold_name(name: object) -> str:
    """Fold a material name for matching: strip accents, case-fold, collapse white space.

    >>> fold_name("  Béton   ARMÉ ")
    'beton arme'
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("ß", "ss").casefold()
    return _SPACES.sub(" ", text).strip()


def load_rules(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load keyword rules (``priority, pattern, material, languages, note``), sorted by priority.

    Parameters
    ----------
    path
        A CSV file; None loads the bundled rules.

    Returns
    -------
    pandas.DataFrame
        Columns ``priority`` (int), ``pattern`` (str), ``material`` (row key, or ``""`` for
        "recognised, no factor"), ``languages``, ``note``, plus ``regex`` (compiled), sorted by
        priority.

    Raises
    ------
    cimkit.errors.DataTableError
        When a column is missing, a priority is not an integer, priorities repeat, or a pattern
        is not a valid regular expression.
    """
    if path is None:
        return _bundled_rules().copy()
    return _read_rules(os.fspath(path))


@functools.lru_cache(maxsize=1)
def _bundled_rules() -> pd.DataFrame:
    # read and compiled once per process; callers get copies (compiled patterns are immutable)
    return _read_rules(os.fspath(cast("os.PathLike[str]", resources.files("cimkit") / "data" / RULES_NAME)))


def _read_rules(source: str) -> pd.DataFrame:
    raw = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8")
    return _validate_rules(raw, path=source)


def _validate_rules(raw: pd.DataFrame, *, path: str | None = None) -> pd.DataFrame:
    df = raw.copy().reset_index(drop=True)
    for col in ("priority", "pattern", "material"):
        if col not in df.columns:
            raise DataTableError(
                f"the keyword rules lack the column {col!r}",
                path=path,
                hint="the columns are priority, pattern, material (and optional languages, note)",
            )
    for col in ("languages", "note"):
        if col not in df.columns:
            df[col] = ""
    prio = pd.to_numeric(df["priority"], errors="coerce")
    for i in np.flatnonzero(prio.isna().to_numpy()).tolist():
        raise DataTableError(
            f"priority {df['priority'].iloc[i]!r} is not a number",
            path=path,
            line=int(i) + 2,
            hint="priorities are integers; lower fires first",
        )
    df["priority"] = prio.astype(int)
    dup = df["priority"][df["priority"].duplicated()].tolist()
    if dup:
        raise DataTableError(
            f"duplicate rule priorities {sorted(set(dup))}",
            path=path,
            hint="give every rule its own priority so the order is unambiguous",
        )
    regexes = []
    for i, pattern in enumerate(df["pattern"].astype(str)):
        try:
            regexes.append(re.compile(pattern))
        except re.error as err:
            raise DataTableError(
                f"pattern {pattern!r} is not a valid regular expression ({err})",
                path=path,
                line=i + 2,
                hint="patterns are Python regular expressions applied to folded (accent-free, lower-case) names",
            ) from err
    df["material"] = df["material"].astype(str).str.strip()
    df["regex"] = regexes
    return df.sort_values("priority", kind="stable").reset_index(drop=True)


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
        Keyword rules as returned by :func:`load_rules` (or a DataFrame with ``priority``,
        ``pattern``, ``material``); None uses the bundled rules.
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
    from cimkit.analysis.carbon.factors import load_factors, validate_factors

    table = load_factors() if factors is None else validate_factors(factors)
    rule_table = (
        load_rules() if rules is None else _validate_rules(rules.drop(columns="regex", errors="ignore"))
    )
    keys = set(table.index)
    overrides = dict(overrides or {})
    bad = sorted({v for v in overrides.values() if v not in keys})
    if bad:
        raise InputError(
            f"override target(s) {', '.join(map(repr, bad))} are not rows of the emission factor table",
            hint=f"use one of: {', '.join(sorted(keys))}",
        )
    folded_overrides = {fold_name(k): v for k, v in overrides.items()}
    folded_keys = {fold_name(k): k for k in keys}

    distinct = list(dict.fromkeys("" if n is None else n for n in names))
    records = []
    for name in distinct:
        folded = fold_name(name)
        key: str | None = None
        how, rule, priority = "none", None, None
        if name in overrides:
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
        records.append(
            {
                "name": name,
                "folded": folded,
                "material_key": key,
                "matched": key is not None,
                "how": how,
                "rule": rule,
                "priority": priority,
            }
        )
    out = pd.DataFrame.from_records(
        records, columns=["name", "folded", "material_key", "matched", "how", "rule", "priority"]
    )
    out["priority"] = out["priority"].astype("Int64")
    out["material_key"] = out["material_key"].astype(object).where(out["matched"], None)
    return out.set_index("name")


def unmatched_materials(result: object) -> pd.DataFrame:
    """The materials that got no emission factor, with the volume they represent.

    Parameters
    ----------
    result
        An :class:`~cimkit.analysis.carbon.embodied.EmbodiedResult` (volumes and element counts
        are reported), or a DataFrame from :func:`map_materials` (names only).

    Returns
    -------
    pandas.DataFrame
        Indexed by material name: ``reason`` (``"no rule matched"``, ``"recognised, no table
        row"``, ``"no factor in table"``), ``material_key``, and for an embodied result
        ``volume_m3`` (summed), ``elements`` (distinct elements) and ``rows``; sorted by volume,
        largest first.
    """
    rows = getattr(result, "rows", None)
    if isinstance(rows, pd.DataFrame):
        missing = rows[~rows["has_factor"]]
        if missing.empty:
            return pd.DataFrame(
                columns=["reason", "material_key", "volume_m3", "elements", "rows"]
            ).rename_axis("material")
        grouped = missing.groupby("material", sort=False, dropna=False).agg(
            reason=("reason", "first"),
            material_key=("material_key", "first"),
            volume_m3=("volume_m3", lambda s: s.sum(min_count=1)),
            elements=("global_id", "nunique"),
            rows=("global_id", "size"),
        )
        return grouped.sort_values("volume_m3", ascending=False, na_position="last")
    if isinstance(result, pd.DataFrame) and "matched" in result.columns:
        out = result.loc[~result["matched"], ["material_key", "how", "rule"]].copy()
        out.insert(0, "reason", np.where(out["how"] == "rule", "recognised, no table row", "no rule matched"))
        return out.drop(columns="how").rename_axis("material")
    raise InputError(
        f"unmatched_materials() takes an EmbodiedResult or a map_materials() table; got {type(result).__name__}",
        hint="pass the result of embodied_carbon() or map_materials()",
    )
