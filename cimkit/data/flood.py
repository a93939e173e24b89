"""Flood reference tables: depth-damage curves, JRC maximum-damage coefficients, GDP per capita.

Sources
-------
Huizinga, J., de Moel, H., Szewczyk, W. (2017). *Global flood depth-damage functions:
methodology and the database with guidelines*. EUR 28552 EN, Publications Office of the
European Union. doi:10.2760/16510. The bundled tables are ``damage_curves_jrc_europe.csv``,
``max_damage_jrc.csv`` and ``gdp_per_capita_jrc.csv`` (see ``cimkit/data/README.md``).

User curves: a CSV with a ``depth_m`` column (or ``depth_ft``, converted at 0.3048 m/ft, for
Hazus/USACE-style curves whose depths are in feet above the first floor) and one column per
class with damage fractions (0-1) or percentages (0-100, detected and divided by 100).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from cimkit.data import get_table_path
from cimkit.errors import DataTableError, ValidationError

__all__ = ["DamageCurves", "load_damage_curves", "load_gdp_per_capita", "load_max_damage_coefficients"]

logger = logging.getLogger(__name__)

FOOT_M = 0.3048


@dataclass(frozen=True)
class DamageCurves:
    """Depth-damage curves: increasing depths and one damage-fraction column per class.

    Attributes
    ----------
    depth_m
        Water depths (m), strictly increasing.
    fractions
        Damage fractions (0-1), one row per depth and one column per class
        (``residential``, ``commercial`` ...).
    source
        Where the curves come from (a bundled table name or a file path).

    Examples
    --------
    >>> from cimkit.data.flood import load_damage_curves
    >>> curves = load_damage_curves()
    >>> curves.classes[:3]
    ['residential', 'commercial', 'industrial']
    >>> depths, fractions = curves.curve("residential")
    >>> depths[:3].tolist(), fractions[:3].tolist()
    ([0.0, 0.5, 1.0], [0.0, 0.25, 0.4])
    """

    depth_m: np.ndarray
    fractions: pd.DataFrame
    source: str

    @property
    def classes(self) -> list[str]:
        """The class names, in the order of the columns of :attr:`fractions`."""
        return list(self.fractions.columns)

    def curve(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Depths (m) and damage fractions (0-1) of the class ``name``.

        Parameters
        ----------
        name
            A class of :attr:`classes`.

        Returns
        -------
        tuple of ndarray
            ``(depth_m, fractions)``, both float64 and of equal length.

        Examples
        --------
        >>> from cimkit.data.flood import load_damage_curves
        >>> load_damage_curves().curve("commercial")[1][:3].tolist()
        [0.0, 0.15, 0.3]
        """
        if name not in self.fractions.columns:
            raise ValidationError(f"'curve' must be one of {', '.join(self.classes)}; {name!r} was given.")
        return self.depth_m, self.fractions[name].to_numpy(dtype="float64")


def _read_table(path: Any, label: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, comment="#")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataTableError(
            f"the {label} table cannot be read ({err})",
            path=os.fspath(path) if isinstance(path, (str, os.PathLike)) else None,
            hint="give a comma-separated file with a header row.",
        ) from err


def _curve_depths(table: pd.DataFrame, where: str | None) -> np.ndarray:
    if "depth_m" in table.columns:
        depth = table.pop("depth_m").to_numpy(dtype="float64")
    elif "depth_ft" in table.columns:
        depth = table.pop("depth_ft").to_numpy(dtype="float64") * FOOT_M
    else:
        raise DataTableError(
            "the damage-curve table has no 'depth_m' or 'depth_ft' column",
            path=where,
            hint="name the depth column depth_m (metres) or depth_ft (feet).",
        )
    if len(depth) < 2 or np.any(np.diff(depth) <= 0) or np.isnan(depth).any():
        raise DataTableError(
            "the depths of the damage curves must be at least two strictly increasing numbers",
            path=where,
            hint="sort the rows by depth and remove duplicates.",
        )
    return depth


def _validate_curves(table: pd.DataFrame, path: Any) -> DamageCurves:
    where = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    depth = _curve_depths(table, where)
    fractions = table.apply(pd.to_numeric, errors="coerce").astype("float64")
    if fractions.empty or fractions.isna().any().any():
        bad = fractions.columns[fractions.isna().any()].tolist() if not fractions.empty else []
        raise DataTableError(
            f"the damage-curve table holds missing or non-numeric fractions (columns {bad})",
            path=where,
            hint="fill every class column with numbers between 0 and 1.",
        )
    if fractions.to_numpy().max() > 1.0:
        if fractions.to_numpy().max() <= 100.0:
            logger.info("damage curves given in percent: divided by 100")
            fractions = fractions / 100.0
        else:
            raise DataTableError("damage fractions above 100 found", path=where, hint="use fractions 0-1.")
    if fractions.to_numpy().min() < 0:
        raise DataTableError("negative damage fractions found", path=where, hint="use fractions 0-1.")
    return DamageCurves(depth, fractions.reset_index(drop=True), str(where or path))


@lru_cache(maxsize=4)
def _builtin(name: str) -> DamageCurves:
    return _validate_curves(_read_table(get_table_path(name), "damage-curve"), name)


def load_damage_curves(source: str | os.PathLike[str] = "jrc_europe") -> DamageCurves:
    """Load depth-damage curves, bundled or from a CSV file.

    Parameters
    ----------
    source
        ``"jrc_europe"`` (Huizinga et al. 2017, European curves for residential, commercial,
        industrial, transport, infrastructure and agriculture) or the path of a CSV with a
        ``depth_m`` (or ``depth_ft``) column and one fraction column per class.

    Returns
    -------
    DamageCurves
        The validated curves (depths in metres, fractions 0-1).

    Examples
    --------
    >>> from cimkit.data.flood import load_damage_curves
    >>> curves = load_damage_curves("jrc_europe")
    >>> curves.depth_m.tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0]
    >>> curves.classes
    ['residential', 'commercial', 'industrial', 'transport', 'infrastructure', 'agriculture']
    """
    if isinstance(source, str) and source == "jrc_europe":
        return _builtin("damage_curves_jrc_europe.csv")
    if isinstance(source, str) and not os.path.exists(source) and os.sep not in source and "." not in source:
        raise ValidationError(f"'source' must be 'jrc_europe' or a CSV path; {source!r} was given.")
    return _validate_curves(_read_table(source, "damage-curve"), source)


@lru_cache(maxsize=1)
def _max_damage_coefficients() -> pd.DataFrame:
    path = get_table_path("max_damage_jrc.csv")
    table = _read_table(path, "maximum-damage")
    needed = {"jrc_class", "a", "b", "depreciation", "undamageable_share", "contents_ratio"}
    if not needed <= set(table.columns):
        raise DataTableError(
            f"the maximum-damage table lacks column(s) {sorted(needed - set(table.columns))}",
            path=path,
            hint="reinstall cimkit.",
        )
    return table.set_index("jrc_class")


def load_max_damage_coefficients() -> pd.DataFrame:
    """Load the coefficients of the JRC maximum-damage formula per building class.

    construction cost (EUR 2010 per m² of footprint) = ``a`` x GDPpc^``b``; structure = cost x
    ``depreciation`` x (1 - ``undamageable_share``); contents = ``contents_ratio`` x structure
    (Huizinga et al. 2017, doi:10.2760/16510).

    Returns
    -------
    DataFrame
        Indexed by ``jrc_class`` (``residential``, ``commercial``, ``industrial``), with columns
        ``a``, ``b``, ``depreciation``, ``undamageable_share`` and ``contents_ratio``.

    Examples
    --------
    >>> from cimkit.data.flood import load_max_damage_coefficients
    >>> table = load_max_damage_coefficients()
    >>> table.loc["residential", ["a", "b", "contents_ratio"]].tolist()
    [24.078, 0.3852, 0.5]
    """
    return _max_damage_coefficients().copy()


@lru_cache(maxsize=1)
def _gdp_per_capita() -> pd.Series:
    path = get_table_path("gdp_per_capita_jrc.csv")
    table = _read_table(path, "GDP")
    if not {"country", "gdp_per_capita_usd2010"} <= set(table.columns):
        raise DataTableError(
            "the GDP table needs the columns country and gdp_per_capita_usd2010",
            path=path,
            hint="reinstall cimkit.",
        )
    return table.set_index("country")["gdp_per_capita_usd2010"].astype("float64")


def load_gdp_per_capita() -> pd.Series:
    """Load the GDP per capita (US$ 2010) by ISO 3166 alpha-2 country, as used by the JRC.

    Returns
    -------
    Series
        ``gdp_per_capita_usd2010`` indexed by ``country``.

    Examples
    --------
    >>> from cimkit.data.flood import load_gdp_per_capita
    >>> load_gdp_per_capita().to_dict()
    {'FR': 40706.0}
    """
    return _gdp_per_capita().copy()
