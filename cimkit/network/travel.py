"""Road speeds and travel times per mode (walk, bike, car).

Car speed of an edge
--------------------
1. The ``maxspeed`` tag when it parses: a number in km/h (``"50"``),
   a number with a unit (``"30 mph"``, ``"10 knots"``, ``"50 km/h"``), or an implicit national
   value (``"FR:urban"``, ``"FI:rural"``, ``"DE:zone30"`` ... see :data:`IMPLICIT_MAXSPEED`).
   With several values (``"50;30"``) the lowest is taken. ``"none"``, ``"signals"``,
   ``"variable"`` and other words fall back to the class default.
2. Otherwise the national default of the road class, from ``cimkit/data/road_speeds.csv``
   (legal limits in built-up areas of FR, DE, CH, AT, LU, BE, NL, CZ, IT, ES, GB, FI, US, CA,
   AU, each row with its legal source; :func:`cimkit.data.countries.get_road_speeds`). The
   country is ``country=`` when given, else the one at the centre of the edges' extent
   (:func:`cimkit.data.countries.find_country_of_bbox`, which needs a GeoDataFrame with a CRS).
   When no country is found the French values below (:data:`DEFAULT_CAR_KMH`) are used with a
   :class:`~cimkit.errors.CimkitWarning` that counts the edges concerned. The choice is
   returned in ``attrs["car_speed_defaults"]`` (country, how it was chosen, sources), which
   :func:`cimkit.read_network` records in the network's provenance. The French defaults:

   - 50 km/h for ordinary roads in built-up areas (Code de la route, art. R413-3);
   - 130 km/h on motorways and 110 km/h on dual carriageways (art. R413-2);
   - 20 km/h in a "zone de rencontre", OSM ``living_street`` (art. R110-2);
   - ``service`` and ``track`` roads have no legal limit of their own; 20 km/h is an assumption
     of this library (parking aisles, driveways), stated here.

   ``*_link`` classes take the value of their parent class.

Walking and cycling
-------------------
Constant speeds: walking 4.8 km/h (a common planning value: 15 min ≈ 1.2 km; r5r uses 3.6 km/h),
cycling 15 km/h. A mode is NaN where it is not allowed: cars on ``footway, path, pedestrian,
cycleway, steps, bridleway, corridor, elevator, trail ...`` (see :data:`NO_CAR`), walking on
``motorway, trunk`` and their links, cycling on ``motorway`` (+ link) and ``steps``. NaN travel
times drop the edge from a routing graph (``Network.csr`` skips non-finite costs).

Examples
--------
>>> import pandas as pd
>>> from cimkit.network.travel import compute_edge_travel_times
>>> edges = pd.DataFrame({"length_m": [1200.0, 300.0], "road_class": ["residential", "footway"]})
>>> times = compute_edge_travel_times(edges, country="FR")
>>> times[["walk_time_min", "car_time_min"]].round(2).to_numpy().tolist()
[[15.0, 1.44], [3.75, nan]]
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cimkit.errors import CimkitWarning, ValidationError

__all__ = [
    "DEFAULT_CAR_KMH",
    "IMPLICIT_MAXSPEED",
    "NO_BIKE",
    "NO_CAR",
    "NO_WALK",
    "compute_edge_travel_times",
]

#: Default car speed (km/h) by OSM ``highway`` class when no country is known (the French
#: values); sources in the module docstring.
DEFAULT_CAR_KMH: dict[str, float] = {
    "motorway": 130.0,  # R413-2
    "trunk": 110.0,  # R413-2 (dual carriageway)
    "primary": 50.0,  # R413-3 (built-up area)
    "secondary": 50.0,
    "tertiary": 50.0,
    "unclassified": 50.0,
    "residential": 50.0,
    "road": 50.0,
    "busway": 50.0,
    "living_street": 20.0,  # R110-2 (zone de rencontre)
    "service": 20.0,  # assumption, no legal limit of its own
    "track": 20.0,  # assumption
}

#: Classes where cars are not allowed (car time NaN).
NO_CAR = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "cycleway",
        "steps",
        "bridleway",
        "corridor",
        "elevator",
        "trail",
        "platform",
        "sidewalk",
        "crossing",
    }
)
#: Classes where walking is not allowed (walk time NaN).
NO_WALK = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
#: Classes where cycling is not allowed (bike time NaN).
NO_BIKE = frozenset({"motorway", "motorway_link", "steps"})

_MPH = 1.609344  # km per statute mile (exact, international yard and pound agreement 1959)
_KNOT = 1.852  # km per nautical mile (exact)

#: Implicit maxspeed values (km/h) used by OSM's ``maxspeed=CC:context`` tags. Values are the
#: national defaults listed on the OSM wiki page "Default speed limits", checked against the
#: national codes for FR (Code de la route R413-2/-3, R110-2) and FI (Tieliikennelaki 729/2018 §
#: 103: 50 km/h in built-up areas, 80 km/h elsewhere). UK values are in mph.
IMPLICIT_MAXSPEED: dict[str, float] = {
    "FR:urban": 50.0,
    "FR:rural": 80.0,
    "FR:motorway": 130.0,
    "FR:zone30": 30.0,
    "FR:living_street": 20.0,
    "FR:walk": 6.0,
    "FI:urban": 50.0,
    "FI:rural": 80.0,
    "FI:motorway": 120.0,
    "DE:urban": 50.0,
    "DE:rural": 100.0,
    "DE:motorway": 130.0,  # recommended speed; no general limit
    "DE:zone30": 30.0,
    "DE:living_street": 7.0,
    "BE:urban": 50.0,
    "BE:zone30": 30.0,
    "CH:urban": 50.0,
    "CH:rural": 80.0,
    "CH:motorway": 120.0,
    "IT:urban": 50.0,
    "IT:rural": 90.0,
    "IT:motorway": 130.0,
    "ES:urban": 50.0,
    "ES:rural": 90.0,
    "ES:motorway": 120.0,
    "NL:urban": 50.0,
    "NL:rural": 80.0,
    "GB:nsl_single": 60 * _MPH,
    "GB:nsl_dual": 70 * _MPH,
    "GB:motorway": 70 * _MPH,
    "GB:zone20": 20 * _MPH,
    "GB:zone30": 30 * _MPH,
}

_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots|kn)?\s*$", re.IGNORECASE)


def _parse_maxspeed(value: Any) -> float:
    """Speed in km/h from an OSM ``maxspeed`` value; NaN when it does not give a number.

    >>> _parse_maxspeed("50"), round(_parse_maxspeed("30 mph"), 2), _parse_maxspeed("FR:urban")
    (50.0, 48.28, 50.0)
    >>> _parse_maxspeed("50;30"), _parse_maxspeed("none")
    (30.0, nan)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) if value > 0 else math.nan
    text = str(value).strip()
    if not text:
        return math.nan
    speeds = []
    for part in re.split(r"[;|]", text):
        part = part.strip()
        implicit = IMPLICIT_MAXSPEED.get(part)
        if implicit is None and ":" in part:
            country, context = part.split(":", 1)
            implicit = IMPLICIT_MAXSPEED.get(f"{country.upper()}:{context.lower()}")
            if implicit is None and context.lower().startswith("zone") and context[4:].isdigit():
                implicit = float(context[4:])  # "XX:zone30" -> 30 km/h (mph for GB is listed)
        if implicit is not None:
            speeds.append(float(implicit))
            continue
        match = _NUMBER_UNIT.match(part)
        if match:
            number = float(match.group(1).replace(",", "."))
            unit = (match.group(2) or "km/h").lower()
            factor = _MPH if unit == "mph" else _KNOT if unit in ("knots", "kn") else 1.0
            if number > 0:
                speeds.append(number * factor)
    return min(speeds) if speeds else math.nan


def _base_class(road_class: Any) -> str:
    text = str(road_class) if road_class is not None and road_class == road_class else ""
    return text[: -len("_link")] if text.endswith("_link") else text


def _country_of(edges: pd.DataFrame) -> str | None:
    """Find the country at the centre of a GeoDataFrame's extent; None without geometry or CRS."""
    crs = getattr(edges, "crs", None)
    if crs is None or "geometry" not in edges.columns or len(edges) == 0:
        return None
    from cimkit.data.countries import find_country_of_bbox

    return find_country_of_bbox(edges.total_bounds, crs=crs)


def _national_defaults(edges: pd.DataFrame, country: str | None) -> tuple[dict[str, float], dict[str, Any]]:
    """Class -> km/h of the country given or found, and a record of the choice."""
    from cimkit.data.countries import get_road_speeds

    how = "given"
    if country is None:
        country = _country_of(edges)
        how = "found at the centre of the edges' extent"
    if country is None:
        info = {
            "country": None,
            "chosen": "no country found: French built-up-area defaults",
            "table": None,
            "source": "Code de la route art. R413-2, R413-3, R110-2 (DEFAULT_CAR_KMH)",
        }
        return dict(DEFAULT_CAR_KMH), info
    table, source = get_road_speeds(country)
    fallback = table["default"]
    speeds = {name: table.get(name, fallback) for name in DEFAULT_CAR_KMH}
    speeds.update({name: value for name, value in table.items() if name != "default"})
    speeds["unclassified"] = table.get("unclassified", fallback)
    info = {"country": country.upper(), "chosen": how, "table": "road_speeds.csv", "source": source}
    return speeds, info


def _car_defaults(
    edges: pd.DataFrame, car_kmh: float | Mapping[str, float] | None, country: str | None
) -> tuple[dict[str, float], dict[str, Any]]:
    """Car speed by road class: the national defaults overridden by ``car_kmh``."""
    if car_kmh is not None and not isinstance(car_kmh, Mapping):
        defaults: dict[str, float] = dict(DEFAULT_CAR_KMH)
        info: dict[str, Any] = {
            "country": None,
            "chosen": "car_kmh= for every class",
            "table": None,
            "source": None,
        }
        given: Mapping[Any, Any] = dict.fromkeys(DEFAULT_CAR_KMH, car_kmh)
    else:
        defaults, info = _national_defaults(edges, country)
        given = car_kmh or {}
    for key, speed in given.items():
        if isinstance(speed, bool) or not (isinstance(speed, (int, float, np.number)) and speed > 0):
            raise ValidationError(f"car speed for class {key!r} must be > 0 km/h; {speed!r} was given.")
        defaults[str(key)] = float(speed)
    if given:
        info["overridden_by_car_kmh"] = (
            sorted(str(k) for k in given) if isinstance(car_kmh, Mapping) else "all"
        )
    return defaults, info


def compute_edge_travel_times(
    edges: pd.DataFrame,
    *,
    walk_kmh: float = 4.8,
    bike_kmh: float = 15.0,
    car_kmh: float | Mapping[str, float] | None = None,
    class_column: str = "road_class",
    maxspeed_column: str = "maxspeed",
    country: str | None = None,
) -> pd.DataFrame:
    """Compute car speeds and walk, bike and car times of every edge, on a copy of ``edges``.

    Parameters
    ----------
    edges
        Edge table with ``length_m`` (metres), a road class column and optionally ``maxspeed``
        (OSM-style text or km/h numbers).
    walk_kmh, bike_kmh
        Walking and cycling speeds in km/h.
    car_kmh
        Default car speeds in km/h: one number for every road class, or a mapping road class →
        km/h overriding the national defaults for the classes given. A ``maxspeed`` value
        still wins over a class default.
    class_column, maxspeed_column
        Column names of the road class and of the posted speed.
    country
        ISO 3166 alpha-2 country whose default speeds apply (``road_speeds.csv``). None: the
        country at the centre of the edges (a GeoDataFrame with a CRS); when none is found, the
        French defaults with a :class:`~cimkit.errors.CimkitWarning`.

    Returns
    -------
    DataFrame
        Same index; ``speed_kmh`` (car speed, km/h; NaN where cars are not allowed),
        ``walk_time_min``, ``bike_time_min``, ``car_time_min`` (minutes).
        ``attrs["car_speed_defaults"]`` records the country, how it was chosen, the table and
        the legal sources, and ``edges_with_default_speed`` (car edges without a usable
        ``maxspeed``).

    Examples
    --------
    A 1 km residential street, a 500 m one posted at 30 km/h and a 300 m footway:

    >>> import pandas as pd
    >>> from cimkit.network.travel import compute_edge_travel_times
    >>> edges = pd.DataFrame({"length_m": [1000.0, 500.0, 300.0],
    ...                       "road_class": ["residential", "residential", "footway"],
    ...                       "maxspeed": [None, "30", None]})
    >>> times = compute_edge_travel_times(edges, car_kmh={"residential": 40}, country="FR")
    >>> times["speed_kmh"].tolist()  # class override, posted speed, no cars
    [40.0, 30.0, nan]
    >>> times["car_time_min"].round(2).tolist(), times["walk_time_min"].round(2).tolist()
    ([1.5, 1.0, nan], [12.5, 6.25, 3.75])

    The same streets in Great Britain (30 mph in built-up areas, Road Traffic Regulation Act
    1984 s. 81):

    >>> gb = compute_edge_travel_times(edges, country="GB")
    >>> round(float(gb.loc[0, "speed_kmh"]), 2), gb.attrs["car_speed_defaults"]["country"]
    (48.28, 'GB')
    """
    for name, speed in (("walk_kmh", walk_kmh), ("bike_kmh", bike_kmh)):
        if not (isinstance(speed, (int, float)) and speed > 0):
            raise ValidationError(f"'{name}' must be a speed > 0 in km/h; {speed!r} was given.")
    if "length_m" not in edges.columns:
        raise ValidationError("'edges' must have a 'length_m' column (metres).")
    defaults, info = _car_defaults(edges, car_kmh, country)
    out = edges.copy()
    classes = (
        out[class_column].astype("object")
        if class_column in out.columns
        else pd.Series(None, index=out.index, dtype="object")
    )
    raw_class = classes.where(classes.notna(), "").astype(str)
    base = raw_class.map(_base_class)
    default_speed = raw_class.map(defaults).fillna(base.map(defaults))
    # unknown classes: the ordinary built-up-area value
    default_speed = default_speed.fillna(defaults.get("unclassified", 50.0)).astype("float64")
    if maxspeed_column in out.columns:
        posted = out[maxspeed_column].map(_parse_maxspeed).astype("float64")
    else:
        posted = pd.Series(np.nan, index=out.index)
    speed = posted.fillna(default_speed)
    no_car = raw_class.isin(NO_CAR) | base.isin(NO_CAR)
    speed = speed.mask(no_car)
    defaulted = int((posted.isna() & ~no_car).sum())
    info["edges_with_default_speed"] = defaulted
    if info["country"] is None and info["table"] is None and car_kmh is None and defaulted:
        warnings.warn(
            CimkitWarning(
                f"no national road speeds for the location of these edges (or no location): the French "
                f"built-up-area defaults (50 km/h, motorway 130) were used for {defaulted} of {len(out)} "
                "edges without a maxspeed tag; pass country= (ISO code) or car_kmh= to choose.",
                code="NET102",
            ),
            stacklevel=2,
        )
    length_km = out["length_m"].astype("float64") / 1000.0
    out["speed_kmh"] = speed
    out["walk_time_min"] = (length_km / walk_kmh * 60.0).mask(raw_class.isin(NO_WALK))
    out["bike_time_min"] = (length_km / bike_kmh * 60.0).mask(raw_class.isin(NO_BIKE))
    out["car_time_min"] = length_km / speed * 60.0
    out.attrs["car_speed_defaults"] = info
    return out
