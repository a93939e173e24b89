"""The cimkit exception tree.

Every error cimkit raises on purpose derives from :class:`CimkitError`. Where an error
specialises a builtin (a bad value, a failed file operation, a missing key) it also derives
from that builtin, so ``except ValueError`` and ``except OSError`` keep working for callers
that do not know cimkit.

Messages follow one shape: *where* (file, layer, entity id, line), *what* went wrong, and
*how to fix it*::

    city.gpkg: layer 'parcels': the layer has no CRS. Fix: set one with gdf.set_crs(...)

This module imports the standard library only.
"""

from __future__ import annotations

import os
from typing import Any

from cimkit._codes import ERROR_CODES

__all__ = [
    "CimkitError",
    "InputError",
    "ValidationError",
    "CRSError",
    "MissingCRSError",
    "GeographicCRSError",
    "FileFormatError",
    "UnsupportedSchemaError",
    "GeoreferenceError",
    "GeometryError",
    "LayerNotFoundError",
    "ReaderCrashError",
    "CimkitIOError",
    "DataTableError",
    "NetworkError",
    "CimkitWarning",
    "CoverageWarning",
    "PlacementError",
    "PlacementWarning",
    "QuantityWarning",
    "CountryError",
    "ResourceLimitError",
    "PublicationError",
    "RepairWarning",
    "ERROR_CODES",
]


class CimkitError(Exception):
    """Root of every error cimkit raises on purpose.

    Parameters
    ----------
    message
        What went wrong, in one sentence.
    path
        The file concerned, as the caller gave it.
    layer
        The layer (GeoPackage table, model layer name) concerned.
    entity
        The entity concerned: an IFC GlobalId or #id, a parcel id, a feature id.
    line
        The line number in a text file, 1-based.
    hint
        How to fix it, in one sentence.
    code
        The stable code of this problem (``"DEM002"``), listed in ``docs/errors.md``; defaults
        to the class's own code. The message text may improve between versions, the code keeps
        its meaning: match on it in scripts.

    Examples
    --------
    >>> err = CimkitError("the layer has no CRS", path="a.gpkg", layer="parcels", hint="set one")
    >>> str(err)
    "a.gpkg: layer 'parcels': the layer has no CRS. Fix: set one"
    >>> err.path, err.layer, err.hint, err.code
    ('a.gpkg', 'parcels', 'set one', 'GEN000')
    >>> MissingCRSError("the layer has no CRS").code
    'CRS002'
    """

    code: str = "GEN000"

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        layer: str | None = None,
        entity: Any = None,
        line: int | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.message = message
        self.path = os.fspath(path) if path is not None else None
        self.layer = layer
        self.entity = entity
        self.line = line
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path is not None:
            where.append(str(self.path) + (f":{self.line}" if self.line is not None else ""))
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.layer is not None:
            where.append(f"layer {self.layer!r}")
        if self.entity is not None:
            where.append(f"entity {self.entity}")
        text = ": ".join([*where, self.message]) if where else self.message
        if self.hint:
            text = f"{text.rstrip('.')}. Fix: {self.hint}"
        return text

    def __reduce__(self):  # keep errors picklable across child processes
        return (
            _rebuild,
            (
                type(self),
                self.message,
                {
                    "path": self.path,
                    "layer": self.layer,
                    "entity": self.entity,
                    "line": self.line,
                    "hint": self.hint,
                    "code": self.code,
                },
            ),
        )


def _rebuild(cls: type[CimkitError], message: str, kwargs: dict[str, Any]) -> CimkitError:
    return cls(message, **kwargs)


class InputError(CimkitError, ValueError):
    """The input data is wrong in a way the caller can fix (bad values, missing columns).

    Examples
    --------
    >>> raise InputError("2 row(s) of the table are not in the layer", layer="buildings")
    Traceback (most recent call last):
    ...
    cimkit.errors.InputError: layer 'buildings': 2 row(s) of the table are not in the layer
    """

    code = "GEN001"


class ValidationError(CimkitError, ValueError):
    """An argument is outside its allowed set or range.

    Examples
    --------
    >>> err = ValidationError("'kind' must be one of road, water, sewer, power; 'gas' was given.")
    >>> isinstance(err, ValueError), str(err)
    (True, "'kind' must be one of road, water, sewer, power; 'gas' was given.")
    """

    code = "ARG001"


class DataTableError(InputError):
    """A reference table (damage curves, emission factors, zoning rules) is malformed.

    Examples
    --------
    >>> str(DataTableError("unknown material 'Béton'", path="factors.csv", line=12))
    "factors.csv:12: unknown material 'Béton'"
    """

    code = "TAB001"


class CRSError(CimkitError, ValueError):
    """A coordinate reference system is missing, unknown or unsuitable.

    Examples
    --------
    >>> str(CRSError("EPSG:2249 is in US survey feet, not metres", hint="use a metric CRS"))
    'EPSG:2249 is in US survey feet, not metres. Fix: use a metric CRS'
    """

    code = "CRS001"


class MissingCRSError(CRSError):
    """A layer arrived without a CRS; cimkit never assumes one.

    Examples
    --------
    >>> err = MissingCRSError("the layer has no CRS", layer="parcels")
    >>> isinstance(err, CRSError), err.layer
    (True, 'parcels')
    """

    code = "CRS002"


class GeographicCRSError(CRSError):
    """A geographic (degree) CRS was given where metres are required.

    Examples
    --------
    >>> issubclass(GeographicCRSError, CRSError), issubclass(GeographicCRSError, ValueError)
    (True, True)
    """

    code = "CRS003"


class FileFormatError(CimkitError, ValueError):
    """A file is malformed or not of the format it claims.

    Examples
    --------
    >>> str(FileFormatError("bad number 'x1'", path="net.inp", line=12))
    "net.inp:12: bad number 'x1'"
    """

    code = "GEN002"


class UnsupportedSchemaError(FileFormatError):
    """A file uses a schema or version cimkit does not read (e.g. draft IFC4X3_RC3).

    Examples
    --------
    >>> str(UnsupportedSchemaError("schema IFC4X3_RC3 is a draft", path="bridge.ifc"))
    'bridge.ifc: schema IFC4X3_RC3 is a draft'
    """

    code = "GEN003"


class GeoreferenceError(CimkitError, ValueError):
    """A model cannot be placed on the map without more information.

    Examples
    --------
    >>> str(GeoreferenceError("no map conversion", path="house.ifc", hint="pass crs= and origin="))
    'house.ifc: no map conversion. Fix: pass crs= and origin='
    """

    code = "IFC001"


class GeometryError(CimkitError, ValueError):
    """Geometry is invalid, empty or degenerate and could not (or may not) be repaired.

    Examples
    --------
    >>> str(GeometryError("self-intersecting polygon", layer="parcels", entity="91999000AB0001"))
    "layer 'parcels': entity 91999000AB0001: self-intersecting polygon"
    """

    code = "GMT001"


class NetworkError(CimkitError, ValueError):
    """A network is malformed (no edges, unknown nodes, negative weights).

    Examples
    --------
    >>> str(NetworkError("unknown node id(s): [7]", hint="use ids from network.nodes.index."))
    'unknown node id(s): [7]. Fix: use ids from network.nodes.index.'
    """

    code = "NET001"


class LayerNotFoundError(CimkitError, KeyError):
    """A named layer is not in the model or the file.

    Examples
    --------
    >>> err = LayerNotFoundError("the model has no layer 'zones'", layer="zones")
    >>> isinstance(err, KeyError), str(err)
    (True, "layer 'zones': the model has no layer 'zones'")
    """

    code = "GEN004"

    def __str__(self) -> str:  # KeyError would quote the message
        return self._format()


class ReaderCrashError(CimkitError, OSError):
    """A reader's child process died (crash, time limit, memory limit) on a file.

    Examples
    --------
    >>> err = ReaderCrashError("the IFC reader exceeded its 600 s time limit", path="big.ifc")
    >>> isinstance(err, OSError), str(err)
    (True, 'big.ifc: the IFC reader exceeded its 600 s time limit')
    """

    code = "GEN005"


class CimkitIOError(CimkitError, OSError):
    """A file could not be read or written (missing, permissions, disk full).

    Examples
    --------
    >>> str(CimkitIOError("no such file", path="city.gpkg", hint="check the path"))
    'city.gpkg: no such file. Fix: check the path'
    """

    code = "GEN006"


class CimkitWarning(UserWarning):
    """Root of every warning cimkit emits on purpose: a result computed under an assumption.

    Filter them all with ``warnings.simplefilter("ignore", CimkitWarning)``; the assumption is
    also recorded in the layer's provenance or in the analysis result's ``caveats``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("3 homes reach no school", CoverageWarning, stacklevel=1)
    >>> issubclass(caught[0].category, CimkitWarning), issubclass(CimkitWarning, UserWarning)
    (True, True)
    >>> CoverageWarning("3 homes reach no school").code, CimkitWarning("x", code="DEM101").code
    ('COV001', 'DEM101')
    """

    code: str = "GEN000"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        super().__init__(message)


class CoverageWarning(CimkitWarning):
    """An analysis left part of its input unanswered (unreachable origins, NaN cells, unmatched items).

    The message says how much of the input is affected; the result's ``city`` and ``caveats``
    hold the same counts.

    Examples
    --------
    >>> issubclass(CoverageWarning, CimkitWarning)
    True
    """

    code = "COV001"


class PlacementError(CimkitError, ValueError):
    """A layer's coordinates do not fall where its CRS (or the model) says they should.

    Raised by the placement checks every reader and ``CityModel.add_*`` run: an extent outside
    the area of use of its CRS or of the model's CRS, local coordinates in a projected CRS, or
    a layer far from the model's other layers. ``check`` names the failed check
    (``"area_of_use"``, ``"local_coordinates"``, ``"distance_to_model"``, ``"lonlat_range"``),
    ``extent`` is the extent found in its CRS, ``extent_lonlat`` the same as longitude /
    latitude when it can be computed, ``expected`` the area it should fall in.

    Examples
    --------
    >>> err = PlacementError("the extent is 6,000 km from the area of use of EPSG:2154",
    ...                      path="net.inp", check="local_coordinates", hint="local coordinates: pass origin=")
    >>> isinstance(err, ValueError), err.check, str(err)
    (True, 'local_coordinates', 'net.inp: the extent is 6,000 km from the area of use of EPSG:2154. Fix: local coordinates: pass origin=')
    """

    code = "PLC001"

    def __init__(
        self,
        message: str,
        *,
        check: str = "area_of_use",
        extent: tuple[float, ...] | None = None,
        extent_lonlat: tuple[float, ...] | None = None,
        expected: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.check = check
        self.extent = extent
        self.extent_lonlat = extent_lonlat
        self.expected = expected
        super().__init__(message, **kwargs)

    def __reduce__(self):  # keep the placement fields across child processes
        fields = {"path": self.path, "layer": self.layer, "entity": self.entity, "line": self.line}
        fields.update(hint=self.hint, check=self.check, extent=self.extent, code=self.code)
        fields.update(extent_lonlat=self.extent_lonlat, expected=self.expected)
        return (_rebuild, (type(self), self.message, fields))


class PlacementWarning(CimkitWarning):
    """A failed placement check was accepted explicitly (``placement="accept"``); the data may be misplaced.

    The acceptance is recorded as an ``accept_placement`` step in the layer's provenance.

    Examples
    --------
    >>> issubclass(PlacementWarning, CimkitWarning)
    True
    """

    code = "PLC101"


class QuantityWarning(CimkitWarning):
    """A building quantity was computed by a stated fallback rule, not read from the data.

    For instance ``gfa_m2`` from footprint x storeys above ground when a model has no gross
    floor area quantity and no floor slabs, or the ground level taken from the lowest element
    when a model has no storeys. The column ``gfa_source`` / ``ground_source`` and the layer's
    provenance say the same.

    Examples
    --------
    >>> issubclass(QuantityWarning, CimkitWarning)
    True
    """

    code = "QTY001"


class CountryError(ValidationError):
    """A national default is needed but the data's country is unknown or has no bundled value.

    Raised when a country cannot be found from the data's location, or is not in the table
    of the default asked for (road speeds, GDP per capita for flood damages). The hint says
    which value to pass instead (``country=``, ``gdp_per_capita_usd2010=``, ``car_kmh=``).

    Examples
    --------
    >>> err = CountryError("no GDP per capita for 'US'", hint="pass gdp_per_capita_usd2010=")
    >>> isinstance(err, ValueError), str(err)
    (True, "no GDP per capita for 'US'. Fix: pass gdp_per_capita_usd2010=")
    """

    code = "ANA001"


class ResourceLimitError(CimkitError, ValueError):
    """An input exceeds a resource limit of ``cimkit.options`` (bytes, entities, pixels ...).

    Raised *before* the memory or time is spent: the message gives the size found, the limit
    and the option that raises it.

    Examples
    --------
    >>> err = ResourceLimitError("the header declares 1e10 cells, over the limit of 4e8",
    ...                          path="dem.asc", hint="raise it with cimkit.set_options(max_pixels=...)")
    >>> isinstance(err, ValueError), err.code
    (True, 'LIM001')
    """

    code = "LIM001"


class PublicationError(CimkitError, PermissionError):
    """A public output was asked to include a layer whose sensitivity is above ``public``.

    Pass an explicit allowance with a reason to publish it anyway; the allowance is written
    to the audit log.

    Examples
    --------
    >>> err = PublicationError("layer 'water' is sensitive", layer="water", hint="pass allow=")
    >>> isinstance(err, PermissionError), err.code
    (True, 'PUB001')
    """

    code = "PUB001"


class RepairWarning(CimkitWarning):
    """Input data was repaired (geometry made valid, a sentinel read as nodata, text decoded).

    The message says what was repaired and how many items; the same lands as a step in the
    layer's provenance.

    Examples
    --------
    >>> issubclass(RepairWarning, CimkitWarning), RepairWarning("2 rings closed").code
    (True, 'REP001')
    """

    code = "REP001"
