"""Emission factor tables: loading and validation.

The bundled table ``cimkit/data/emission_factors.csv`` holds one row per material with its
density, its cradle-to-gate factor (EN 15978 modules A1-A3) and, where a source gives them,
factors for A4 (transport), A5 (construction) and C1-C4 (end of life), a service life, and the
citation of every value (``source``, ``source_version``, ``source_table``, ``licence``). The
``checked`` column says whether the value was read in a public copy of the source when the table
was compiled (``yes``), derived from other rows (``derived``), cited from the named source but
not re-checked (``no``), or whether no value is bundled at all (``no-value``). Read
``cimkit/data/README.md`` before relying on a row.

Users pass their own table (a DataFrame or a CSV path given to :func:`load_factors`) with the
same columns; :func:`validate_factors` checks it.
"""

from __future__ import annotations

import functools
import logging
import os
from importlib import resources
from typing import Literal, cast

import numpy as np
import pandas as pd

from cimkit.errors import DataTableError

__all__ = [
    "DECLARED_UNITS",
    "FACTOR_COLUMNS",
    "REQUIRED_COLUMNS",
    "load_factors",
    "validate_factors",
]

logger = logging.getLogger(__name__)

DeclaredUnit = Literal["kg", "m3", "m2", "unit"]
DECLARED_UNITS: tuple[str, ...] = ("kg", "m3", "m2", "unit")

#: columns every table must have
REQUIRED_COLUMNS: tuple[str, ...] = ("material", "density_kg_m3", "a1a3_kgco2e_per_kg", "source")

#: numeric columns (all optional except those in REQUIRED_COLUMNS)
NUMERIC_COLUMNS: tuple[str, ...] = (
    "density_kg_m3",
    "a1a3_kgco2e_per_kg",
    "a1a3_kgco2e_per_m3",
    "a1a3_kgco2e_per_m2",
    "a1a3_kgco2e_per_unit",
    "a4_kgco2e_per_kg",
    "a5_kgco2e_per_kg",
    "c1c4_kgco2e_per_kg",
    "service_life_years",
)

#: all columns of a validated table, in order
FACTOR_COLUMNS: tuple[str, ...] = (
    "label",
    "category",
    "declared_unit",
    *NUMERIC_COLUMNS,
    "source",
    "source_version",
    "source_table",
    "licence",
    "checked",
    "notes",
)

_TEXT_DEFAULTS = {
    "label": "",
    "category": "",
    "declared_unit": "kg",
    "source_version": "",
    "source_table": "",
    "licence": "",
    "checked": "",
    "notes": "",
}

BUNDLED_NAME = "emission_factors.csv"


def _bundled_path() -> str:
    return os.fspath(cast("os.PathLike[str]", resources.files("cimkit") / "data" / BUNDLED_NAME))


def load_factors(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load and validate an emission factor table.

    Parameters
    ----------
    path
        A CSV file with the columns described in ``cimkit/data/README.md``; None loads the
        bundled table (ÖKOBAUDAT 2020 and ICE values with their citations).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``material`` (the row key, e.g. ``"concrete_c25_30"``), with the columns of
        :data:`FACTOR_COLUMNS`; factors in kgCO2e per declared unit, densities in kg/m³, service
        lives in years.

    Raises
    ------
    cimkit.errors.CimkitIOError
        When the file cannot be read.
    cimkit.errors.DataTableError
        When a column is missing or a value is invalid; the message names the line.

    Examples
    --------
    >>> from cimkit.analysis.carbon import load_factors
    >>> table = load_factors()
    >>> float(table.loc["concrete_c30_37", "a1a3_kgco2e_per_kg"])
    0.09
    """
    if path is None:
        return _bundled_factors().copy()
    return _read_factors(os.fspath(path))


@functools.lru_cache(maxsize=1)
def _bundled_factors() -> pd.DataFrame:
    # the bundled table is read and validated once per process; callers get copies
    return _read_factors(_bundled_path())


def _read_factors(source: str) -> pd.DataFrame:
    from cimkit.errors import CimkitIOError

    try:
        raw = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError as err:
        raise CimkitIOError(
            "the emission factor table does not exist",
            path=source,
            hint="pass the path of a CSV file, or None for the bundled table",
        ) from err
    except (UnicodeDecodeError, pd.errors.ParserError) as err:
        raise DataTableError(
            f"the emission factor table cannot be parsed as UTF-8 CSV ({err})",
            path=source,
            hint="save the table as UTF-8 CSV with one header line",
        ) from err
    return validate_factors(raw, path=source)


def validate_factors(table: pd.DataFrame, *, path: str | None = None) -> pd.DataFrame:
    """Check an emission factor table and return a normalised copy.

    Numbers are parsed (empty cells become NaN), text columns that are absent get defaults
    (``declared_unit`` defaults to ``"kg"``), and the result is indexed by ``material``.

    Parameters
    ----------
    table
        A DataFrame with at least :data:`REQUIRED_COLUMNS`, either with a ``material`` column or
        indexed by material.
    path
        The file the table came from, for error messages.

    Raises
    ------
    cimkit.errors.DataTableError
        Missing columns, duplicate or empty material keys, non-numeric or negative values,
        unknown declared units, a row with a factor but no density or source. Line numbers in
        messages count the header as line 1.
    """
    df = table.copy()
    if "material" not in df.columns:
        if df.index.name == "material":
            df = df.reset_index()
        else:
            raise DataTableError(
                "the emission factor table has no 'material' column",
                path=path,
                hint="add a 'material' column holding the row keys (e.g. 'concrete_c25_30')",
            )
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataTableError(
            f"the emission factor table lacks the column(s) {', '.join(missing)}",
            path=path,
            hint=f"the required columns are {', '.join(REQUIRED_COLUMNS)}",
        )
    df = df.reset_index(drop=True)
    df["material"] = df["material"].astype(str).str.strip()
    for i, key in enumerate(df["material"]):
        if not key or key.lower() == "nan":
            raise DataTableError(
                "a row has an empty material key", path=path, line=i + 2, hint="give every row a key"
            )
    dup = df["material"][df["material"].duplicated()].tolist()
    if dup:
        raise DataTableError(
            f"duplicate material key(s): {', '.join(sorted(set(dup)))}",
            path=path,
            hint="each material key must appear once",
        )
    for col, default in _TEXT_DEFAULTS.items():
        if col not in df.columns:
            df[col] = default
        df[col] = df[col].fillna(default).astype(str).str.strip()
    df.loc[df["declared_unit"] == "", "declared_unit"] = "kg"
    df["source"] = df["source"].fillna("").astype(str).str.strip()

    for col in NUMERIC_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
            continue
        values = df[col]
        if not pd.api.types.is_numeric_dtype(values):
            values = values.astype(object).where(values.notna(), "").astype(str).str.strip()
            values = values.mask(values.isin(["", "nan", "NaN"]))
        parsed = pd.to_numeric(values, errors="coerce")
        bad = parsed.isna() & values.notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataTableError(
                f"column {col!r} holds a non-numeric value {_raw(values, i)!r}",
                path=path,
                line=i + 2,
                entity=df["material"].iloc[i],
                hint="use a plain number with a dot as decimal separator, or leave the cell empty",
            )
        negative = parsed < 0
        # A1-A3 factors may legitimately be negative only when a source includes biogenic
        # storage; cimkit's tables exclude it (EN 15804+A2 reports it separately), so refuse.
        if negative.any():
            i = int(np.flatnonzero(negative.to_numpy())[0])
            raise DataTableError(
                f"column {col!r} holds a negative value {parsed.iloc[i]}",
                path=path,
                line=i + 2,
                entity=df["material"].iloc[i],
                hint="cimkit tables hold fossil A1-A3 factors without biogenic storage; use values >= 0",
            )
        df[col] = parsed.astype(float)

    zero_life = df["service_life_years"] == 0
    if zero_life.any():
        i = int(np.flatnonzero(zero_life.to_numpy())[0])
        raise DataTableError(
            "service_life_years is 0",
            path=path,
            line=i + 2,
            entity=df["material"].iloc[i],
            hint="give a positive service life in years, or leave it empty when the material lasts the study period",
        )
    unknown_unit = ~df["declared_unit"].isin(DECLARED_UNITS)
    if unknown_unit.any():
        i = int(np.flatnonzero(unknown_unit.to_numpy())[0])
        raise DataTableError(
            f"declared_unit must be one of {', '.join(DECLARED_UNITS)}; "
            f"{df['declared_unit'].iloc[i]!r} was given",
            path=path,
            line=i + 2,
            entity=df["material"].iloc[i],
            hint="use kg, m3, m2 or unit",
        )
    factor_cols = [c for c in NUMERIC_COLUMNS if c.startswith("a1a3_")]
    has_factor = df[factor_cols].notna().any(axis=1)
    for i in np.flatnonzero((has_factor & (df["source"] == "")).to_numpy()).tolist():
        raise DataTableError(
            "a row has a factor but no source",
            path=path,
            line=int(i) + 2,
            entity=df["material"].iloc[i],
            hint="every factor must cite its source (document, version, table)",
        )
    needs_density = has_factor & df["density_kg_m3"].isna()
    for i in np.flatnonzero(needs_density.to_numpy()).tolist():
        raise DataTableError(
            "a row has a factor but no density",
            path=path,
            line=int(i) + 2,
            entity=df["material"].iloc[i],
            hint="give density_kg_m3 so that volumes can be turned into masses",
        )
    for unit, col in (
        ("kg", "a1a3_kgco2e_per_kg"),
        ("m3", "a1a3_kgco2e_per_m3"),
        ("m2", "a1a3_kgco2e_per_m2"),
        ("unit", "a1a3_kgco2e_per_unit"),
    ):
        wrong = (df["declared_unit"] == unit) & has_factor & df[col].isna()
        for i in np.flatnonzero(wrong.to_numpy()).tolist():
            raise DataTableError(
                f"declared_unit is {unit!r} but {col} is empty",
                path=path,
                line=int(i) + 2,
                entity=df["material"].iloc[i],
                hint=f"fill {col} or change declared_unit",
            )
    out = df.set_index("material")
    extra = [c for c in out.columns if c not in FACTOR_COLUMNS]
    out = out[[*FACTOR_COLUMNS, *extra]]
    logger.debug("emission factor table with %d rows validated", len(out))
    return out


def _raw(values: pd.Series, i: int) -> object:
    """The raw value at position ``i`` (for messages)."""
    return values.iloc[i]
