"""Where an IFC model lies on the map: the one place where georeferencing is resolved.

:class:`Georeference` holds what the file says (or what the caller supplied) and maps local
project coordinates to map coordinates with :meth:`Georeference.to_map`. Every other part of
cimkit that needs map coordinates from an IFC file goes through that method.

Rules (see ``docs/ifc.md``):

``IfcMapConversion`` (IFC4, IFC4X3)
    ``E = Eastings + s (a x - b y)``, ``N = Northings + s (b x + a y)``, ``H = OrthogonalHeight + s z``
    with ``a, b`` the normalised XAxisAbscissa / XAxisOrdinate and ``s`` the effective scale
    (see ``Georeference.effective_scale``). Source: IFC4 ADD2 TC1 IfcMapConversion; buildingSMART validation
    rules GRF003 / GRF005.
``IfcRigidOperation`` (IFC4X3)
    a translation by (FirstCoordinate, SecondCoordinate, Height) in a projected CRS.
``ePSet_MapConversion`` + ``ePSet_ProjectedCRS`` (IFC2X3)
    the same attributes as IfcMapConversion written as property sets on IfcSite (or IfcProject),
    after the buildingSMART "User Guide for Geo-referencing in IFC" (2020); names matched
    case-insensitively.
``IfcSite`` RefLatitude / RefLongitude
    the site origin is projected into the target CRS (or the UTM zone of the site when no CRS
    is given), rotated by the model's true north and the meridian convergence, scaled by the
    projection's point scale factor. Approximate by nature: confidence ``"low"``, with a warning.
``origin=(x, y[, z, rotation_deg])``
    supplied by the caller together with ``crs``: method ``"user-origin"``.

The effective scale ``s``: two readings of ``IfcMapConversion.Scale`` exist for models whose
length unit is not the map unit: (a) Scale converts the local numbers directly (a millimetre
model with a metre CRS carries Scale = 0.001, as ``ifcopenshell.util.geolocation`` and many
exporters do); (b) the project length unit is applied first and Scale covers any remaining
difference (IFC4.3 documentation, buildingSMART GRF005). cimkit takes ``s`` = unit scale / map
unit when Scale is absent or 1; Scale itself, with a warning, when it equals that conversion
(reading a); unit scale / map unit x Scale otherwise (a genuine factor such as 0.9996).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from cimkit.errors import GeoreferenceError

__all__ = ["Georeference"]

Method = Literal[
    "IfcMapConversion", "IfcRigidOperation", "ePSet_MapConversion", "IfcSite-latlon", "user-origin", "none"
]


@dataclass
class Georeference:
    """How local IFC coordinates map to a projected CRS.

    Attributes
    ----------
    method
        ``"IfcMapConversion"``, ``"IfcRigidOperation"``, ``"ePSet_MapConversion"``,
        ``"IfcSite-latlon"``, ``"user-origin"`` or ``"none"``.
    crs
        The map CRS (``pyproj.CRS``) the conversion leads to, or None when unknown.
    eastings, northings, orthogonal_height
        Map coordinates of the local origin, in map units.
    rotation_deg
        Angle from the map's easting axis to the local x axis, counter-clockwise, degrees.
    scale
        The Scale written in the file (None when absent).
    unit_scale
        Metres per project length unit (0.001 for a millimetre model).
    effective_scale
        Map units per local number actually applied: Scale, read as in the rules above.
    map_unit_m
        Metres per map unit (1.0 unless the CRS MapUnit says otherwise).
    vertical_scale
        Map units per local number for heights, when it differs from ``effective_scale``
        (lat/lon placement: the projection's point scale applies to x, y only). None: same.
    warnings
        Everything that was assumed or repaired while reading, in words.
    confidence
        ``"high"``, ``"medium"`` or ``"low"``.
    source
        The file read, named in errors.

    Examples
    --------
    A model in millimetres, placed 30° counter-clockwise at (651 000, 6 847 000) in Lambert-93:
    its local point (10 m, 0) lands 10 m along the rotated x axis. Files are read with
    :func:`~cimkit.io.ifc.read_georeference`.

    >>> geo = Georeference(method="user-origin", crs="EPSG:2154", eastings=651_000.0,
    ...                    northings=6_847_000.0, rotation_deg=30.0, unit_scale=0.001,
    ...                    effective_scale=0.001, confidence="medium")
    >>> geo.to_map([[10_000.0, 0.0]]).round(3).tolist()
    [[651008.66, 6847005.0]]
    >>> geo.is_placed
    True
    """

    method: Method = "none"
    crs: Any = None
    eastings: float = 0.0
    northings: float = 0.0
    orthogonal_height: float = 0.0
    rotation_deg: float = 0.0
    scale: float | None = None
    unit_scale: float = 1.0
    effective_scale: float = 1.0
    map_unit_m: float = 1.0
    vertical_scale: float | None = None
    warnings: list[str] = field(default_factory=list)
    confidence: Literal["high", "medium", "low"] = "low"
    source: str | None = None

    @property
    def is_placed(self) -> bool:
        """Whether :meth:`to_map` can be used (the model has a placement)."""
        return self.method != "none"

    def to_map(self, xyz: np.ndarray, *, local_unit: Literal["project", "metre"] = "project") -> np.ndarray:
        """Map local coordinates to map coordinates.

        Parameters
        ----------
        xyz
            Array of shape (n, 2) or (n, 3): local x, y (and z) in project length units, or in
            metres with ``local_unit="metre"`` (what ``ifcopenshell.geom`` returns).
        local_unit
            Unit of ``xyz``.

        Returns
        -------
        numpy.ndarray
            Same shape: eastings, northings (and orthogonal heights), in map units.

        Examples
        --------
        Origin at (1000, 2000), height 35, local x axis turned 90° counter-clockwise (pointing
        north): local (1, 0) lands at (E, N + 1) and local (0, 1) at (E - 1, N).

        >>> geo = Georeference(method="user-origin", eastings=1000.0, northings=2000.0,
        ...                    orthogonal_height=35.0, rotation_deg=90.0)
        >>> geo.to_map([[1.0, 0.0], [0.0, 1.0]]).tolist()
        [[1000.0, 2001.0], [999.0, 2000.0]]

        A millimetre model (scale 0.001): (2000 mm, 0, 3000 mm) is 2 m north and 3 m up, the
        same point as (2 m, 0, 3 m) given in metres:

        >>> mm = Georeference(method="user-origin", eastings=1000.0, northings=2000.0,
        ...                   orthogonal_height=35.0, rotation_deg=90.0, unit_scale=0.001,
        ...                   effective_scale=0.001)
        >>> mm.to_map([[2000.0, 0.0, 3000.0]]).tolist()
        [[1000.0, 2002.0, 38.0]]
        >>> mm.to_map([[2.0, 0.0, 3.0]], local_unit="metre").tolist()
        [[1000.0, 2002.0, 38.0]]
        """
        if not self.is_placed:
            raise GeoreferenceError(
                "the model has no georeferencing",
                path=self.source,
                hint="pass origin=(x, y[, z, rotation_deg]) and crs=... to read_ifc",
            )
        pts = np.asarray(xyz, dtype=float)
        if pts.ndim != 2 or pts.shape[1] not in (2, 3):
            raise ValueError(f"xyz must have shape (n, 2) or (n, 3); got {pts.shape}.")
        s = self.effective_scale
        if local_unit == "metre":
            s = s / self.unit_scale
        r = math.radians(self.rotation_deg)
        a, b = math.cos(r), math.sin(r)
        out = np.empty_like(pts)
        out[:, 0] = self.eastings + s * (a * pts[:, 0] - b * pts[:, 1])
        out[:, 1] = self.northings + s * (b * pts[:, 0] + a * pts[:, 1])
        if pts.shape[1] == 3:
            out[:, 2] = self.orthogonal_height + self._vertical(local_unit) * pts[:, 2]
        return out

    def elevation_m(self, z: np.ndarray | float, *, local_unit: Literal["project", "metre"] = "metre"):
        """Return the absolute elevation (metres) of local heights ``z``, in the conversion's vertical frame.

        Parameters
        ----------
        z
            Local heights, in metres (``local_unit="metre"``) or project units.
        local_unit
            Unit of ``z``.

        Returns
        -------
        numpy.ndarray or float
            Elevations in metres.

        Examples
        --------
        A millimetre model whose origin lies 35 m high: a floor 3 m (3000 mm) up is at 38 m.

        >>> geo = Georeference(method="user-origin", orthogonal_height=35.0, unit_scale=0.001,
        ...                    effective_scale=0.001)
        >>> geo.elevation_m([0.0, 3.0]).tolist(), float(geo.elevation_m(3000.0, local_unit="project"))
        ([35.0, 38.0], 38.0)

        A map in feet (origin 100 ft high, 0.3048 m per foot), metre model: 3.048 m up is
        110 ft, 33.528 m.

        >>> feet = Georeference(method="user-origin", orthogonal_height=100.0, map_unit_m=0.3048,
        ...                     effective_scale=1 / 0.3048)
        >>> feet.elevation_m([0.0, 3.048]).round(6).tolist()
        [30.48, 33.528]
        """
        s = self._vertical(local_unit)
        return (self.orthogonal_height + s * np.asarray(z, dtype=float)) * self.map_unit_m

    def _vertical(self, local_unit: str) -> float:
        s = self.effective_scale if self.vertical_scale is None else self.vertical_scale
        return s / self.unit_scale if local_unit == "metre" else s
