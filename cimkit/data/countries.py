"""Country of a location, and the national defaults that depend on it (road speeds).

Some defaults are national: road speed limits, and the GDP per capita behind the JRC maximum
flood damages. cimkit picks them from where the data lie, never from one country silently.

How precise the country is
--------------------------
:func:`find_country` tests a longitude/latitude against hand-written rectangles
(``country_extents.csv``: a few per country, from the Natural Earth 1:10m admin-0 outlines,
public domain, rounded outwards). Rectangles are not borders:

- within some tens of kilometres of a border a point often lies in the rectangles of two
  countries; the country of the **smallest** rectangle is returned with a
  :class:`~cimkit.errors.CimkitWarning` naming both (pass ``country=`` to the analysis to be
  sure); the parts are cut so that the large cities near borders come out right (Strasbourg
  FR, Basel CH, Aachen DE, Toronto CA), but smaller towns on the wrong side of a rectangle
  edge do not (Kehl DE is returned as FR, Varese IT as CH);
- a point in a country that is not in the table (Mexico, Ireland, Monaco, Poland ...) can fall
  inside a neighbour's rectangle and be returned as that neighbour, **without** warning;
- a point in no rectangle gives None (the callers then warn and use their stated fallback).

Only these countries are known: FR, DE, CH, AT, LU, BE, NL, CZ, IT, ES, GB, FI, US, CA, AU.

Examples
--------
>>> from cimkit.data.countries import find_country
>>> find_country(2.35, 48.86), find_country(-122.27, 37.80), find_country(24.94, 60.17)
('FR', 'US', 'FI')
>>> find_country(0.0, 0.0) is None  # Gulf of Guinea
True
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from cimkit.data import get_table_path
from cimkit.errors import CimkitWarning, CountryError, DataTableError, ValidationError

__all__ = [
    "find_country",
    "find_country_of_bbox",
    "get_road_speeds",
    "load_country_extents",
    "load_road_speeds",
]

_EXTENT_COLUMNS = ["country", "part", "min_lon", "min_lat", "max_lon", "max_lat"]
_SPEED_COLUMNS = ["country", "road_class", "speed_kmh", "source"]


@lru_cache(maxsize=1)
def _extents() -> pd.DataFrame:
    path = get_table_path("country_extents.csv")
    table = pd.read_csv(path, comment="#")
    if list(table.columns) != _EXTENT_COLUMNS:
        raise DataTableError(f"the country extents need the columns {_EXTENT_COLUMNS}", path=path)
    box = table[["min_lon", "min_lat", "max_lon", "max_lat"]].to_numpy(dtype="float64")
    if np.any(box[:, 0] >= box[:, 2]) or np.any(box[:, 1] >= box[:, 3]):
        raise DataTableError("a country rectangle has min >= max", path=path)
    table["area_deg2"] = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    return table


def load_country_extents() -> pd.DataFrame:
    """Load the rectangles (WGS 84 degrees) that approximate each country.

    Returns
    -------
    DataFrame
        ``country`` (ISO 3166 alpha-2), ``part``, ``min_lon``, ``min_lat``, ``max_lon``,
        ``max_lat`` and ``area_deg2`` (the rectangle's area in square degrees, which breaks ties).

    Examples
    --------
    >>> from cimkit.data.countries import load_country_extents
    >>> extents = load_country_extents()
    >>> sorted(extents["country"].unique())[:5], len(extents) > 15
    (['AT', 'AU', 'BE', 'CA', 'CH'], True)
    """
    return _extents().copy()


def find_country(lon: float, lat: float, *, warn: bool = True) -> str | None:
    """Find the country (ISO 3166 alpha-2) of a WGS 84 longitude/latitude, approximately.

    The point is tested against the rectangles of :func:`load_country_extents`. When it lies
    in the rectangles of several countries (near a border) the country of the smallest one is
    returned and, with ``warn``, a :class:`~cimkit.errors.CimkitWarning` names the others. See
    the module docstring for what rectangles cannot tell.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (WGS 84).
    warn
        Warn when the point is in the rectangles of more than one country.

    Returns
    -------
    str or None
        The ISO 3166 alpha-2 code, or None when the point is in no rectangle (or is NaN).

    Examples
    --------
    >>> import warnings
    >>> from cimkit.data.countries import find_country
    >>> find_country(8.54, 47.37)  # Zurich
    'CH'
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     country = find_country(7.75, 48.58)  # Strasbourg: in the DE and FR rectangles
    >>> country, "DE, FR" in str(caught[0].message)
    ('FR', True)
    """
    if lon is None or lat is None or math.isnan(float(lon)) or math.isnan(float(lat)):
        return None
    table = _extents()
    inside = (
        (table["min_lon"] <= lon)
        & (lon <= table["max_lon"])
        & (table["min_lat"] <= lat)
        & (lat <= table["max_lat"])
    )
    hits = table[inside].sort_values("area_deg2")
    if hits.empty:
        return None
    chosen = str(hits["country"].iloc[0])
    countries = sorted(set(hits["country"]))
    if len(countries) > 1 and warn:
        warnings.warn(
            f"the point ({lon:.4f}, {lat:.4f}) lies in the approximate extents of {', '.join(countries)}; "
            f"{chosen} (the smallest extent) was taken. Country rectangles are not borders: pass "
            "country= to choose the national defaults yourself.",
            CimkitWarning,
            stacklevel=2,
        )
    return chosen


def find_country_of_bbox(bbox: Any, *, crs: Any, warn: bool = True) -> str | None:
    """Find the country (ISO 3166 alpha-2) at the centre of a bounding box given in any CRS.

    The centre of ``bbox`` is transformed to WGS 84 longitude/latitude with pyproj and passed
    to :func:`find_country`. A city model is small next to a country, so its centre stands for
    it; a model across a border gets the country of its centre.

    Parameters
    ----------
    bbox
        ``(minx, miny, maxx, maxy)`` in ``crs``.
    crs
        The CRS of ``bbox`` (anything pyproj accepts); None gives None.
    warn
        Passed to :func:`find_country`.

    Returns
    -------
    str or None
        The ISO code, or None when the CRS is missing, the box is empty or no country matches.

    Examples
    --------
    >>> from cimkit.data.countries import find_country_of_bbox
    >>> find_country_of_bbox((651000, 6847000, 653000, 6849000), crs="EPSG:2154")  # near Paris
    'FR'
    >>> find_country_of_bbox((563000, 4183000, 566000, 4186000), crs="EPSG:26910")  # Oakland, CA
    'US'
    """
    if crs is None:
        return None
    values = np.asarray(bbox, dtype="float64").ravel()
    if values.shape != (4,):
        raise ValidationError(f"'bbox' must be (minx, miny, maxx, maxy); {bbox!r} was given.")
    if not np.all(np.isfinite(values)):
        return None
    from pyproj import CRS, Transformer

    source = CRS.from_user_input(crs)
    x, y = (values[0] + values[2]) / 2.0, (values[1] + values[3]) / 2.0
    if source.is_geographic and source.to_epsg() == 4326:
        lon, lat = x, y
    else:
        transformer = Transformer.from_crs(source, "EPSG:4326", always_xy=True)
        lon, lat = transformer.transform(x, y)
    if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90:
        return None
    return find_country(float(lon), float(lat), warn=warn)


@lru_cache(maxsize=1)
def _road_speeds() -> pd.DataFrame:
    path = get_table_path("road_speeds.csv")
    table = pd.read_csv(path, comment="#")
    if list(table.columns) != _SPEED_COLUMNS:
        raise DataTableError(f"the road speed table needs the columns {_SPEED_COLUMNS}", path=path)
    if table["speed_kmh"].isna().any() or (table["speed_kmh"] <= 0).any():
        raise DataTableError("every road speed must be > 0 km/h", path=path)
    if not (table["road_class"] == "default").groupby(table["country"]).any().all():
        raise DataTableError("every country needs a 'default' road class row", path=path)
    return table


def load_road_speeds() -> pd.DataFrame:
    """Load the default car speeds by country and OSM road class, with their legal sources.

    Returns
    -------
    DataFrame
        ``country``, ``road_class`` (an OSM ``highway`` value, or ``default`` for every other
        car road), ``speed_kmh`` and ``source``.

    Examples
    --------
    >>> from cimkit.data.countries import load_road_speeds
    >>> speeds = load_road_speeds().set_index(["country", "road_class"])["speed_kmh"]
    >>> float(speeds["FR", "default"]), float(speeds["FI", "motorway"]), round(float(speeds["GB", "default"]), 2)
    (50.0, 120.0, 48.28)
    """
    return _road_speeds().copy()


def get_road_speeds(country: str) -> tuple[dict[str, float], str]:
    """Get the default car speed of each road class in a country, and the sources used.

    Parameters
    ----------
    country
        ISO 3166 alpha-2 code of a country in ``road_speeds.csv``.

    Returns
    -------
    (dict, str)
        ``{road_class: km/h}`` (``default`` covers every class not listed) and the sources of
        the rows, joined by ``"; "``.

    Raises
    ------
    CountryError
        When the country has no rows (pass ``car_kmh=`` to the road functions instead).

    Examples
    --------
    >>> from cimkit.data.countries import get_road_speeds
    >>> speeds, source = get_road_speeds("CH")
    >>> speeds["default"], speeds["motorway"], "VRV" in source
    (50.0, 120.0, True)
    """
    table = _road_speeds()
    code = str(country).upper()
    rows = table[table["country"] == code]
    if rows.empty:
        raise CountryError(
            f"no default road speeds for country {country!r}; the table has {', '.join(sorted(table['country'].unique()))}.",
            hint="pass car_kmh= (one speed, or a mapping road class -> km/h).",
        )
    speeds = {str(k): float(v) for k, v in zip(rows["road_class"], rows["speed_kmh"])}
    sources = "; ".join(dict.fromkeys(f"{c}: {s}" for c, s in zip(rows["road_class"], rows["source"])))
    return speeds, sources
