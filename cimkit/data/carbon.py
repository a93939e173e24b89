"""The carbon reference tables: loaders of the bundled CSV files and their validation.

Five tables back :mod:`cimkit.analysis.carbon`, each citing its sources row by row (see
``cimkit/data/README.md``):

- ``emission_factors.csv`` (:func:`load_factors`): density, cradle-to-gate factor (EN 15978
  modules A1-A3) and, where a source gives them, A4, A5, C1-C4 factors and a service life per
  material. The ``checked`` column says whether a value was read in a public copy of its source
  (``yes``), derived from other rows (``derived``), cited but not re-checked (``no``), or
  whether no value is bundled (``no-value``).
- ``material_keywords.csv`` (:func:`load_rules`): ordered regular-expression rules mapping
  free-text IFC material names to rows of the factor table.
- ``carbon_intensity_by_use.csv`` (:func:`load_intensities`): embodied carbon per m² by use and
  permit period (the RE2020 *Ic construction* maxima) for buildings without an IFC model.
- ``energy_use_intensity.csv`` (:func:`load_energy_use_intensity`): kWh/m²/yr by use, period
  and energy carrier (CIBSE TM46, LETI) for operational carbon (B6).
- ``re2020_thresholds.csv`` (:func:`load_re2020_thresholds`): the RE2020 *Ic construction* and
  *Ic énergie* maxima by building type and permit period.

Every loader takes an optional ``path`` to a user table with the same columns; the
``validate_*`` functions check a table given as a DataFrame and name the faulty line.
"""

from __future__ import annotations

import functools
import logging
import os
import re

import pandas as pd

from cimkit.data import get_table_path
from cimkit.data._carbon_checks import (
    _TEXT_DEFAULTS,
    DECLARED_UNITS,
    FACTOR_COLUMNS,
    NUMERIC_COLUMNS,
    REQUIRED_COLUMNS,
    _check_factor_rows,
    _factor_keys,
    _fail,
    _first,
    _parse_numeric,
    _read_csv,
    _require,
)
from cimkit.errors import DataTableError

__all__ = [
    "DECLARED_UNITS",
    "FACTOR_COLUMNS",
    "NUMERIC_COLUMNS",
    "REQUIRED_COLUMNS",
    "load_energy_use_intensity",
    "load_factors",
    "load_intensities",
    "load_re2020_thresholds",
    "load_rules",
    "validate_energy_use_intensity",
    "validate_factors",
    "validate_intensities",
    "validate_rules",
]

logger = logging.getLogger(__name__)


_FACTORS_NAME = "emission_factors.csv"
_RULES_NAME = "material_keywords.csv"
_INTENSITIES_NAME = "carbon_intensity_by_use.csv"
_EUI_NAME = "energy_use_intensity.csv"
_RE2020_NAME = "re2020_thresholds.csv"


# ----------------------------------------------------------------------------- reading
def _load(name: str, path: str | os.PathLike[str] | None) -> pd.DataFrame:
    """Read and validate the table at ``path``, or a copy of the bundled table ``name``."""
    if path is None:
        return _bundled(name).copy()
    return _READERS[name](os.fspath(path))


@functools.lru_cache(maxsize=8)
def _bundled(name: str) -> pd.DataFrame:
    """Read and validate a bundled table once per process (callers copy it)."""
    return _READERS[name](os.fspath(get_table_path(name)))


# ----------------------------------------------------------------------------- emission factors
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
    >>> from cimkit.data.carbon import load_factors
    >>> table = load_factors()
    >>> float(table.loc["concrete_c30_37", "a1a3_kgco2e_per_kg"]), float(table.loc["glulam", "density_kg_m3"])
    (0.09, 420.0)
    """
    return _load(_FACTORS_NAME, path)


def _read_factors(source: str) -> pd.DataFrame:
    raw = _read_csv(source, "emission factor table", dtype=str)
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

    Returns
    -------
    pandas.DataFrame
        Indexed by ``material`` with the columns of :data:`FACTOR_COLUMNS` (then any extra
        column of the input).

    Raises
    ------
    cimkit.errors.DataTableError
        Missing columns, duplicate or empty material keys, non-numeric or negative values,
        unknown declared units, a row with a factor but no density or source. Line numbers in
        messages count the header as line 1.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.data.carbon import validate_factors
    >>> raw = pd.DataFrame({"material": ["my_brick"], "density_kg_m3": ["1800"],
    ...                     "a1a3_kgco2e_per_kg": ["0.24"], "source": ["EPD 123"]})
    >>> table = validate_factors(raw)
    >>> float(table.loc["my_brick", "a1a3_kgco2e_per_kg"]), table.loc["my_brick", "declared_unit"]
    (0.24, 'kg')
    """
    df = _factor_keys(table, path)
    for col, default in _TEXT_DEFAULTS.items():
        if col not in df.columns:
            df[col] = default
        df[col] = df[col].fillna(default).astype(str).str.strip()
    df.loc[df["declared_unit"] == "", "declared_unit"] = "kg"
    df["source"] = df["source"].fillna("").astype(str).str.strip()
    for col in NUMERIC_COLUMNS:
        df[col] = _parse_numeric(df, col, path) if col in df.columns else float("nan")
    _check_factor_rows(df, path)
    out = df.set_index("material")
    extra = [c for c in out.columns if c not in FACTOR_COLUMNS]
    out = out[[*FACTOR_COLUMNS, *extra]]
    logger.debug("emission factor table with %d rows validated", len(out))
    return out


# ----------------------------------------------------------------------------- keyword rules
def load_rules(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load the material keyword rules, sorted by priority.

    Parameters
    ----------
    path
        A CSV file with ``priority, pattern, material`` (and optional ``languages, note``);
        None loads the bundled rules.

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

    Examples
    --------
    >>> from cimkit.data.carbon import load_rules
    >>> rules = load_rules()
    >>> bool(rules["priority"].is_monotonic_increasing), rules.loc[0, "material"]
    (True, 'air_gap')
    """
    return _load(_RULES_NAME, path)


def _read_rules(source: str) -> pd.DataFrame:
    # compiled patterns are immutable: the cached bundled table's copies can share them
    return validate_rules(_read_csv(source, "keyword rule table", dtype=str), path=source)


def validate_rules(table: pd.DataFrame, *, path: str | None = None) -> pd.DataFrame:
    r"""Check a keyword rule table, compile its patterns and sort it by priority.

    Parameters
    ----------
    table
        A DataFrame with ``priority``, ``pattern`` (a Python regular expression applied to
        folded names: accent-free, lower case) and ``material`` (a factor table key, or empty
        for "recognised, no factor"); a ``regex`` column from an earlier validation is rebuilt.
    path
        The file the table came from, for error messages.

    Returns
    -------
    pandas.DataFrame
        As :func:`load_rules` returns it.

    Raises
    ------
    cimkit.errors.DataTableError
        As for :func:`load_rules`.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.data.carbon import validate_rules
    >>> rules = validate_rules(pd.DataFrame({"priority": [2, 1], "pattern": [r"\bbeton\b", "ciment"],
    ...                                      "material": ["concrete_generic", "cement_screed"]}))
    >>> rules["material"].tolist(), bool(rules.loc[1, "regex"].search("beton arme"))
    (['cement_screed', 'concrete_generic'], True)
    """
    df = table.drop(columns="regex", errors="ignore").copy().reset_index(drop=True)
    _require(
        df,
        ("priority", "pattern", "material"),
        "keyword rule table",
        path,
        "the columns are priority, pattern, material (and optional languages, note)",
    )
    for col in ("languages", "note"):
        if col not in df.columns:
            df[col] = ""
    prio = pd.to_numeric(df["priority"], errors="coerce")
    bad = _first(prio.isna())
    if bad is not None:
        raise _fail(
            f"priority {df['priority'].iloc[bad]!r} is not a number",
            path=path,
            row=bad,
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
            raise _fail(
                f"pattern {pattern!r} is not a valid regular expression ({err})",
                path=path,
                row=i,
                hint="patterns are Python regular expressions applied to folded (accent-free, lower-case) names",
            ) from err
    df["material"] = df["material"].astype(str).str.strip()
    df["regex"] = regexes
    return df.sort_values("priority", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- intensities by use
def load_intensities(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load the embodied carbon intensity table (kgCO2e per m² of floor area by use and period).

    Parameters
    ----------
    path
        A CSV file with ``use, building_type, from_year, to_year, intensity_kgco2e_m2, source``
        (and optional ``basis, notes``); None loads the bundled table, whose values are the
        RE2020 *Ic construction* maxima (upper bounds for new buildings).

    Returns
    -------
    pandas.DataFrame
        One row per use, building type and permit period; years as numbers (NaN = open),
        ``intensity_kgco2e_m2`` as floats.

    Raises
    ------
    cimkit.errors.DataTableError
        When a column is missing or an intensity is negative or not a number.

    Examples
    --------
    >>> from cimkit.data.carbon import load_intensities
    >>> table = load_intensities()
    >>> houses = table[(table["building_type"] == "maison_individuelle") & (table["from_year"] == 2022)]
    >>> float(houses["intensity_kgco2e_m2"].iloc[0])
    640.0
    """
    return _load(_INTENSITIES_NAME, path)


def _read_intensities(source: str) -> pd.DataFrame:
    return validate_intensities(_read_csv(source, "intensity table"), path=source)


def validate_intensities(table: pd.DataFrame, *, path: str | None = None) -> pd.DataFrame:
    """Check an embodied carbon intensity table and return a normalised copy.

    Parameters
    ----------
    table
        A DataFrame with ``use``, ``intensity_kgco2e_m2`` (kgCO2e/m², ≥ 0) and ``source``, and
        optionally ``building_type``, ``from_year``, ``to_year`` (permit years, inclusive) and
        ``basis``.
    path
        The file the table came from, for error messages.

    Returns
    -------
    pandas.DataFrame
        The table with the optional columns added (empty), years and intensities as numbers.

    Raises
    ------
    cimkit.errors.DataTableError
        When a column is missing or an intensity is negative or not a number.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.data.carbon import validate_intensities
    >>> table = validate_intensities(pd.DataFrame({"use": ["health"], "intensity_kgco2e_m2": ["1100"],
    ...                                            "source": ["my study"]}))
    >>> float(table.loc[0, "intensity_kgco2e_m2"]), bool(pd.isna(table.loc[0, "from_year"]))
    (1100.0, True)
    """
    _require(
        table,
        ("use", "intensity_kgco2e_m2", "source"),
        "intensity table",
        path,
        "columns: use, building_type, from_year, to_year, intensity_kgco2e_m2, source",
    )
    out = table.copy()
    for col in ("building_type", "from_year", "to_year", "basis"):
        if col not in out.columns:
            out[col] = ""
    out["building_type"] = out["building_type"].astype(str)
    out["from_year"] = pd.to_numeric(out["from_year"], errors="coerce")
    out["to_year"] = pd.to_numeric(out["to_year"], errors="coerce")
    values = pd.to_numeric(out["intensity_kgco2e_m2"], errors="coerce")
    bad = _first(values.isna() | (values < 0))
    if bad is not None:
        raise _fail(
            f"intensity_kgco2e_m2 {out['intensity_kgco2e_m2'].iloc[bad]!r} is not a number >= 0",
            path=path,
            row=bad,
            hint="give intensities in kgCO2e per m² of floor area",
        )
    out["intensity_kgco2e_m2"] = values.astype(float)
    return out


# ----------------------------------------------------------------------------- energy use intensity
def load_energy_use_intensity(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load the energy use intensity table (kWh/m²/yr by use, period and energy carrier).

    Parameters
    ----------
    path
        A CSV file with ``use, period, carrier, kwh_per_m2_year`` (and ``source``); None loads
        the bundled table (CIBSE TM46:2008 benchmarks for existing non-domestic buildings,
        LETI 2020 targets for new low-energy buildings).

    Returns
    -------
    pandas.DataFrame
        One row per use, period and carrier; ``kwh_per_m2_year`` as floats.

    Raises
    ------
    cimkit.errors.DataTableError
        When a column is missing or an intensity is negative or not a number.

    Examples
    --------
    >>> from cimkit.data.carbon import load_energy_use_intensity
    >>> eui = load_energy_use_intensity().set_index(["use", "period", "carrier"])
    >>> float(eui.loc[("office", "existing", "electricity"), "kwh_per_m2_year"])
    95.0
    """
    return _load(_EUI_NAME, path)


def _read_energy_use_intensity(source: str) -> pd.DataFrame:
    return validate_energy_use_intensity(_read_csv(source, "energy use intensity table"), path=source)


def validate_energy_use_intensity(table: pd.DataFrame, *, path: str | None = None) -> pd.DataFrame:
    """Check an energy use intensity table and return a normalised copy.

    Parameters
    ----------
    table
        A DataFrame with ``use``, ``period``, ``carrier`` and ``kwh_per_m2_year``
        (kWh/m²/yr, ≥ 0), and optionally ``source``.
    path
        The file the table came from, for error messages.

    Returns
    -------
    pandas.DataFrame
        The table with ``kwh_per_m2_year`` as floats and a ``source`` column.

    Raises
    ------
    cimkit.errors.DataTableError
        When a column is missing or an intensity is negative or not a number.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.data.carbon import validate_energy_use_intensity
    >>> table = validate_energy_use_intensity(pd.DataFrame({"use": ["residential"], "period": ["existing"],
    ...                                                     "carrier": ["electricity"], "kwh_per_m2_year": ["42"]}))
    >>> float(table.loc[0, "kwh_per_m2_year"]), table.loc[0, "source"]
    (42.0, '')
    """
    need = ("use", "period", "carrier", "kwh_per_m2_year")
    _require(
        table, need, "energy use intensity table", path, f"the columns are {', '.join(need)} (and source)"
    )
    out = table.copy()
    values = pd.to_numeric(out["kwh_per_m2_year"], errors="coerce")
    bad = _first(values.isna() | (values < 0))
    if bad is not None:
        raise _fail(
            f"kwh_per_m2_year {out['kwh_per_m2_year'].iloc[bad]!r} is not a number >= 0",
            path=path,
            row=bad,
            hint="give intensities in kWh per m² per year",
        )
    out["kwh_per_m2_year"] = values.astype(float)
    if "source" not in out.columns:
        out["source"] = ""
    return out


# ----------------------------------------------------------------------------- RE2020 thresholds
def load_re2020_thresholds(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load the RE2020 threshold table (kgCO2e per m² of Sref by building type and permit period).

    The bundled values are the arrêté du 4 août 2021 maxima before modulation:
    *Ic construction* (``indicator = "ic_construction"``) and *Ic énergie*
    (``indicator = "ic_energie"``), for the ``standard`` variant and, where it differs, a
    ``heat_network`` variant.

    Parameters
    ----------
    path
        A CSV file with ``building_type, indicator, variant, from_year, to_year,
        max_kgco2e_m2`` (and ``source``); None loads the bundled table.

    Returns
    -------
    pandas.DataFrame
        One row per building type, indicator, variant and permit period; ``to_year`` NaN for
        the open last period.

    Raises
    ------
    cimkit.errors.DataTableError
        When a column is missing or a year or maximum is not a number.

    Examples
    --------
    >>> from cimkit.data.carbon import load_re2020_thresholds
    >>> table = load_re2020_thresholds()
    >>> row = table[(table["building_type"] == "logement_collectif") & (table["from_year"] == 2025)
    ...             & (table["indicator"] == "ic_construction")]
    >>> float(row["max_kgco2e_m2"].iloc[0])
    650.0
    """
    return _load(_RE2020_NAME, path)


def _read_re2020_thresholds(source: str) -> pd.DataFrame:
    table = _read_csv(source, "RE2020 threshold table")
    need = ("building_type", "indicator", "variant", "from_year", "to_year", "max_kgco2e_m2")
    _require(table, need, "RE2020 threshold table", source, f"the columns are {', '.join(need)} (and source)")
    for col in ("from_year", "max_kgco2e_m2"):
        parsed = pd.to_numeric(table[col], errors="coerce")
        bad = _first(parsed.isna())
        if bad is not None:
            raise _fail(
                f"{col} {table[col].iloc[bad]!r} is not a number",
                path=source,
                row=bad,
                hint="years are integers, maxima in kgCO2e/m²",
            )
        table[col] = parsed
    table["to_year"] = pd.to_numeric(table["to_year"], errors="coerce")
    return table


#: the reader (path -> validated table) of each bundled table
_READERS = {
    _FACTORS_NAME: _read_factors,
    _RULES_NAME: _read_rules,
    _INTENSITIES_NAME: _read_intensities,
    _EUI_NAME: _read_energy_use_intensity,
    _RE2020_NAME: _read_re2020_thresholds,
}
