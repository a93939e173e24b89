"""Validation helpers of :mod:`cimkit.data.carbon`: column sets, CSV reading, line-numbered errors."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from cimkit.errors import CimkitIOError, DataTableError

#: declared units of a factor row: which ``a1a3_kgco2e_per_<unit>`` column applies
DECLARED_UNITS: tuple[str, ...] = ("kg", "m3", "m2", "unit")

#: columns every emission factor table must have
REQUIRED_COLUMNS: tuple[str, ...] = ("material", "density_kg_m3", "a1a3_kgco2e_per_kg", "source")

#: numeric columns of an emission factor table (all optional except those in REQUIRED_COLUMNS)
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

#: all columns of a validated emission factor table, in order
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


# ----------------------------------------------------------------------------- reading
def _read_csv(path: str | os.PathLike[str], what: str, **kwargs: object) -> pd.DataFrame:
    """Read a UTF-8 CSV table, with typed errors naming the file."""
    source = os.fspath(path)
    try:
        return pd.read_csv(source, encoding="utf-8", keep_default_na=False, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as err:
        raise CimkitIOError(
            f"the {what} does not exist",
            path=source,
            hint="pass the path of a CSV file, or None for the bundled table",
        ) from err
    except (UnicodeDecodeError, pd.errors.ParserError) as err:
        raise DataTableError(
            f"the {what} cannot be parsed as UTF-8 CSV ({err})",
            path=source,
            hint="save the table as UTF-8 CSV with one header line",
        ) from err


def _fail(message: str, *, path: str | None, row: int, entity: object = None, hint: str) -> DataTableError:
    """Build a DataTableError for data row ``row`` (0-based; the header is line 1 of the file)."""
    return DataTableError(message, path=path, line=row + 2, entity=entity, hint=hint)


def _first(mask: pd.Series) -> int | None:
    """Position of the first True of ``mask``, or None."""
    hits = np.flatnonzero(mask.to_numpy(dtype=bool))
    return int(hits[0]) if len(hits) else None


def _require(table: pd.DataFrame, columns: tuple[str, ...], what: str, path: str | None, hint: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataTableError(f"the {what} lacks the column(s) {', '.join(missing)}", path=path, hint=hint)


def _factor_keys(table: pd.DataFrame, path: str | None) -> pd.DataFrame:
    """Copy the table with a clean, unique, non-empty ``material`` key column and the required columns."""
    df = table.copy()
    if "material" not in df.columns:
        if df.index.name != "material":
            raise DataTableError(
                "the emission factor table has no 'material' column",
                path=path,
                hint="add a 'material' column holding the row keys (e.g. 'concrete_c25_30')",
            )
        df = df.reset_index()
    _require(
        df,
        REQUIRED_COLUMNS,
        "emission factor table",
        path,
        f"the required columns are {', '.join(REQUIRED_COLUMNS)}",
    )
    df = df.reset_index(drop=True)
    df["material"] = df["material"].astype(str).str.strip()
    empty = _first((df["material"] == "") | (df["material"].str.lower() == "nan"))
    if empty is not None:
        raise _fail("a row has an empty material key", path=path, row=empty, hint="give every row a key")
    dup = df["material"][df["material"].duplicated()].tolist()
    if dup:
        raise DataTableError(
            f"duplicate material key(s): {', '.join(sorted(set(dup)))}",
            path=path,
            hint="each material key must appear once",
        )
    return df


def _parse_numeric(df: pd.DataFrame, col: str, path: str | None) -> pd.Series:
    """Column ``col`` as floats; refuses text and negative values with the line that holds them."""
    values = df[col]
    if not pd.api.types.is_numeric_dtype(values):
        values = values.astype(object).where(values.notna(), "").astype(str).str.strip()
        values = values.mask(values.isin(["", "nan", "NaN"]))
    parsed = pd.to_numeric(values, errors="coerce")
    bad = _first(parsed.isna() & values.notna())
    if bad is not None:
        raise _fail(
            f"column {col!r} holds a non-numeric value {values.iloc[bad]!r}",
            path=path,
            row=bad,
            entity=df["material"].iloc[bad],
            hint="use a plain number with a dot as decimal separator, or leave the cell empty",
        )
    # A1-A3 factors may legitimately be negative only when a source includes biogenic storage;
    # cimkit's tables exclude it (EN 15804+A2 reports it separately), so refuse.
    negative = _first(parsed < 0)
    if negative is not None:
        raise _fail(
            f"column {col!r} holds a negative value {parsed.iloc[negative]}",
            path=path,
            row=negative,
            entity=df["material"].iloc[negative],
            hint="cimkit tables hold fossil A1-A3 factors without biogenic storage; use values >= 0",
        )
    return parsed.astype(float)


def _check_factor_rows(df: pd.DataFrame, path: str | None) -> None:
    """Row-level consistency: service lives, declared units, sources and densities."""
    entity = df["material"]
    zero_life = _first(df["service_life_years"] == 0)
    if zero_life is not None:
        raise _fail(
            "service_life_years is 0",
            path=path,
            row=zero_life,
            entity=entity.iloc[zero_life],
            hint="give a positive service life in years, or leave it empty when the material lasts the study period",
        )
    unknown = _first(~df["declared_unit"].isin(DECLARED_UNITS))
    if unknown is not None:
        raise _fail(
            f"declared_unit must be one of {', '.join(DECLARED_UNITS)}; "
            f"{df['declared_unit'].iloc[unknown]!r} was given",
            path=path,
            row=unknown,
            entity=entity.iloc[unknown],
            hint="use kg, m3, m2 or unit",
        )
    has_factor = df[[c for c in NUMERIC_COLUMNS if c.startswith("a1a3_")]].notna().any(axis=1)
    checks = [
        (
            has_factor & (df["source"] == ""),
            "a row has a factor but no source",
            "every factor must cite its source (document, version, table)",
        ),
        (
            has_factor & df["density_kg_m3"].isna(),
            "a row has a factor but no density",
            "give density_kg_m3 so that volumes can be turned into masses",
        ),
    ]
    for unit in DECLARED_UNITS:
        col = f"a1a3_kgco2e_per_{unit}"
        wrong = (df["declared_unit"] == unit) & has_factor & df[col].isna()
        checks.append(
            (wrong, f"declared_unit is {unit!r} but {col} is empty", f"fill {col} or change declared_unit")
        )
    for mask, message, hint in checks:
        row = _first(mask)
        if row is not None:
            raise _fail(message, path=path, row=row, entity=entity.iloc[row], hint=hint)
