"""Where an IFC model lies on the map: the one place where georeferencing is resolved.

:class:`Georeference` holds what the file says (or what the caller supplied) and maps local
project coordinates to map coordinates with :meth:`Georeference.to_map`. Every other part of
cimkit that needs map coordinates from an IFC file goes through that method.

Rules (see ``docs/ifc.md``):

``IfcMapConversion`` (IFC4, IFC4X3)
    ``E = Eastings + s (a x - b y)``, ``N = Northings + s (b x + a y)``, ``H = OrthogonalHeight + s z``
    with ``a, b`` the normalised XAxisAbscissa / XAxisOrdinate and ``s`` the effective scale
    (:func:`effective_scale`). Source: IFC4 ADD2 TC1 IfcMapConversion; buildingSMART validation
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
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from cimkit.errors import CRSError, GeoreferenceError

logger = logging.getLogger(__name__)

__all__ = ["Georeference", "effective_scale", "read_georeference", "utm_crs_for"]

Method = Literal[
    "IfcMapConversion", "IfcRigidOperation", "ePSet_MapConversion", "IfcSite-latlon", "user-origin", "none"
]
_REL_TOL = 1e-9


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
        Map units per local number actually applied (see :func:`effective_scale`).
    map_unit_m
        Metres per map unit (1.0 unless the CRS MapUnit says otherwise).
    vertical_scale
        Map units per local number for heights, when it differs from ``effective_scale``
        (lat/lon placement: the projection's point scale applies to x, y only). None: same.
    warnings
        Everything that was assumed or repaired while reading, in words.
    confidence
        ``"high"``, ``"medium"`` or ``"low"``.
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
        """True when :meth:`to_map` can be used."""
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
        """Absolute elevation (metres) of local heights ``z``, in the conversion's vertical frame."""
        s = self._vertical(local_unit)
        return (self.orthogonal_height + s * np.asarray(z, dtype=float)) * self.map_unit_m

    def _vertical(self, local_unit: str) -> float:
        s = self.effective_scale if self.vertical_scale is None else self.vertical_scale
        return s / self.unit_scale if local_unit == "metre" else s


def effective_scale(
    scale: float | None, unit_scale: float, map_unit_m: float = 1.0
) -> tuple[float, str | None]:
    """The factor from local numbers to map units, and a warning when Scale was read as a unit conversion.

    Two readings of ``IfcMapConversion.Scale`` exist for models whose length unit is not the
    map unit: (a) Scale converts the local numbers directly (a millimetre model with a metre
    CRS carries Scale = 0.001, as ``ifcopenshell.util.geolocation`` and many exporters do);
    (b) the project length unit is applied first and Scale covers any remaining difference
    (IFC4.3 documentation, buildingSMART GRF005). cimkit resolves:

    - Scale absent or 1.0: ``unit_scale / map_unit_m`` (reading b);
    - Scale equal (relative 1e-9) to ``unit_scale / map_unit_m`` while that is not 1: Scale is
      the unit conversion itself (reading a), with a warning;
    - otherwise: ``unit_scale / map_unit_m * Scale`` (a genuine scale factor, e.g. 0.9996).
    """
    conversion = unit_scale / map_unit_m
    if scale is None or math.isclose(scale, 1.0, rel_tol=_REL_TOL):
        return conversion, None
    if not math.isclose(conversion, 1.0, rel_tol=_REL_TOL) and math.isclose(
        scale, conversion, rel_tol=_REL_TOL
    ):
        return float(scale), (
            f"Scale taken as the length-unit conversion: Scale = {scale:g} equals the project unit "
            f"to map unit factor, so it is applied once (not on top of the unit conversion)"
        )
    return conversion * float(scale), None


def utm_crs_for(lon: float, lat: float):
    """The WGS 84 / UTM zone CRS (EPSG 326xx north, 327xx south) that contains ``lon, lat``."""
    import pyproj

    zone = min(60, math.floor((lon + 180.0) / 6.0) + 1)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def parse_crs(name: Any):
    """A ``pyproj.CRS`` from an IfcProjectedCRS / ePSet name such as ``"EPSG:2154"`` or ``"2154"``."""
    import pyproj

    if name is None:
        return None
    text = str(name).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        return None


def as_crs(value: Any, *, what: str = "crs"):
    """Validate a user CRS argument into a ``pyproj.CRS`` (None stays None)."""
    import pyproj

    if value is None:
        return None
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as err:
        raise CRSError(
            f"{what}={value!r} is not a CRS pyproj understands", hint='give e.g. "EPSG:2154"'
        ) from err


def latlon_georeference(
    *,
    lat: float,
    lon: float,
    elevation: float,
    site_origin: Sequence[float],
    true_north_deg: float,
    unit_scale: float,
    crs: Any,
    source: str | None,
) -> Georeference:
    """Place a model from its IfcSite latitude / longitude (WGS 84 degrees).

    ``site_origin`` is the IfcSite placement origin in project units, ``elevation`` the
    RefElevation in project units, ``true_north_deg`` the angle of true north from the local
    x axis (90 when true north is +y). Without ``crs`` the UTM zone of the site is used.
    """
    import pyproj

    warnings = [
        "placed from IfcSite RefLatitude/RefLongitude only: approximate (IfcSite lat/lon is a point, "
        "not a map conversion; buildingSMART GRF003)"
    ]
    target = crs
    if target is None or not target.is_projected:
        target = utm_crs_for(lon, lat)
        warnings.append(f"no projected CRS given: using the site's UTM zone {target.to_string()}")
    to_map = pyproj.Transformer.from_crs("EPSG:4326", target, always_xy=True)
    e_site, n_site = to_map.transform(lon, lat)
    e_north, n_north = to_map.transform(lon, min(lat + 1e-4, 89.9999))
    # direction of true north on the map (includes the meridian convergence)
    north_map_deg = math.degrees(math.atan2(n_north - n_site, e_north - e_site))
    rotation = north_map_deg - true_north_deg
    factors = pyproj.Proj(target).get_factors(lon, lat)
    map_unit_m = float(target.axis_info[0].unit_conversion_factor) if target.axis_info else 1.0
    s = unit_scale * float(factors.meridional_scale) / map_unit_m
    r = math.radians(rotation)
    a, b = math.cos(r), math.sin(r)
    x0, y0, z0 = [*site_origin, 0.0, 0.0, 0.0][:3]
    return Georeference(
        method="IfcSite-latlon",
        crs=target,
        eastings=e_site - s * (a * x0 - b * y0),
        northings=n_site - s * (b * x0 + a * y0),
        orthogonal_height=(elevation - z0) * unit_scale / map_unit_m,
        rotation_deg=((rotation + 180.0) % 360.0) - 180.0,
        scale=None,
        unit_scale=unit_scale,
        effective_scale=s,
        map_unit_m=map_unit_m,
        vertical_scale=unit_scale / map_unit_m,
        warnings=warnings,
        confidence="low",
        source=source,
    )


def user_origin_georeference(origin: Sequence[float], *, crs: Any, unit_scale: float, source: str | None):
    """Place a model by a caller-given origin ``(x, y[, z, rotation_deg])`` in ``crs`` map units."""
    if crs is None:
        raise GeoreferenceError(
            "origin= was given without crs=",
            path=source,
            hint="pass crs=... (the CRS of the origin coordinates)",
        )
    values = [float(v) for v in origin]
    if len(values) not in (2, 3, 4) or not all(math.isfinite(v) for v in values):
        raise GeoreferenceError(
            f"origin must be (x, y[, z, rotation_deg]) with finite numbers; got {tuple(origin)!r}",
            path=source,
        )
    x, y, z, rot = [*values, 0.0, 0.0][:4] if len(values) < 4 else values
    map_unit_m = float(crs.axis_info[0].unit_conversion_factor) if crs.axis_info else 1.0
    return Georeference(
        method="user-origin",
        crs=crs,
        eastings=x,
        northings=y,
        orthogonal_height=z,
        rotation_deg=rot,
        scale=None,
        unit_scale=unit_scale,
        effective_scale=unit_scale / map_unit_m,
        map_unit_m=map_unit_m,
        warnings=["placed by the origin given by the caller"],
        confidence="medium",
        source=source,
    )


def read_georeference(
    path, *, crs: Any = None, origin: Sequence[float] | None = None, sandbox: bool = True, timeout_s=None
) -> Georeference:
    """What an IFC file says about its place on the map, and how cimkit reads it.

    The file is parsed in a child process (see :mod:`cimkit.io.ifc.sandbox`).

    Parameters
    ----------
    path
        The IFC file.
    crs
        Target CRS, used for lat/lon-only files and as the CRS of ``origin``.
    origin
        ``(x, y[, z, rotation_deg])`` in ``crs`` units: overrides what the file says.
    sandbox
        Parse in a child process (default). ``False`` parses in this process (trusted files only).
    timeout_s
        Time limit in seconds (default: the ``ifc_timeout_s`` option).

    Returns
    -------
    Georeference
        With ``method="none"`` when the file holds no georeferencing and no origin is given.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.ifc import read_georeference
    >>> geo = read_georeference(sample_city_path() / "buildings" / "maison_pasteur_12.ifc")
    >>> geo.method, geo.crs.to_epsg(), round(geo.rotation_deg)
    ('IfcMapConversion', 2154, 30)
    """
    from cimkit.io.ifc import _tasks
    from cimkit.io.ifc.header import check_file
    from cimkit.io.ifc.sandbox import IfcSandbox

    check_file(path)
    target = as_crs(crs)
    if not sandbox:
        try:
            return _tasks.georeference_task(str(path), target, origin, True)
        finally:
            _tasks.release()
    with IfcSandbox(path, processes=1, timeout_s=timeout_s) as box:
        return box.run(_tasks.georeference_task, str(path), target, origin, True)


# --------------------------------------------------------------------------- file side
# The functions below take an opened ``ifcopenshell.file``; they run inside the sandbox.


def _unit_m(unit: Any) -> float:
    """Metres per unit for an IfcNamedUnit (SI or conversion-based); 1.0 when absent."""
    if unit is None:
        return 1.0
    import ifcopenshell.util.unit

    try:
        return float(ifcopenshell.util.unit.get_unit_scale(unit))
    except Exception:  # unknown unit shapes: be explicit in the caller's warnings
        return 1.0


def _model_context(f):
    for ctx in f.by_type("IfcGeometricRepresentationContext", include_subtypes=False):
        if ctx.ContextType == "Model":
            return ctx
    contexts = f.by_type("IfcGeometricRepresentationContext", include_subtypes=False)
    return contexts[0] if contexts else None


def true_north_deg(f) -> tuple[float, bool]:
    """Angle of true north from the local x axis (degrees) and whether the file states it."""
    ctx = _model_context(f)
    north = getattr(ctx, "TrueNorth", None) if ctx is not None else None
    if north is None:
        return 90.0, False
    ratios = list(north.DirectionRatios)
    return math.degrees(math.atan2(float(ratios[1]), float(ratios[0]))), True


def _compound_deg(value: Any) -> float | None:
    if value is None:
        return None
    parts = [*value, 0, 0, 0, 0]
    deg, minutes, seconds, micro = (float(p) for p in parts[:4])
    return deg + minutes / 60.0 + (seconds + micro / 1e6) / 3600.0


def _pset_values(f, names: Sequence[str]) -> dict[str, Any] | None:
    """Properties of the first property set on IfcSite / IfcProject whose name matches (any case)."""
    import ifcopenshell.util.element

    wanted = {n.lower() for n in names}
    for cls in ("IfcSite", "IfcProject"):
        for obj in f.by_type(cls):
            for pname, props in ifcopenshell.util.element.get_psets(obj).items():
                if pname.lower() in wanted:
                    return {k.lower(): v for k, v in props.items()}
    return None


def _from_values(
    method: Method,
    *,
    values: dict[str, Any],
    file_crs: Any,
    crs_name: Any,
    map_unit_m: float,
    unit_scale: float,
    target: Any,
    source: str | None,
) -> Georeference:
    warnings: list[str] = []
    confidence: Literal["high", "medium", "low"] = "high"
    a = values.get("xaxisabscissa")
    b = values.get("xaxisordinate")
    if a is None and b is None:
        rotation = 0.0
    else:
        a = 1.0 if a is None else float(a)
        b = 0.0 if b is None else float(b)
        if not (math.isfinite(a) and math.isfinite(b)) or math.hypot(a, b) == 0.0:
            raise GeoreferenceError(
                f"{method}: XAxisAbscissa/XAxisOrdinate = ({a}, {b}) is not a direction",
                path=source,
                hint="fix the map conversion in the authoring tool, or pass origin= and crs=",
            )
        if not math.isclose(math.hypot(a, b), 1.0, rel_tol=1e-6):
            warnings.append(f"X axis ({a:g}, {b:g}) was not unit length; normalised")
        rotation = math.degrees(math.atan2(b, a))
    scale = values.get("scale")
    scale = None if scale is None else float(scale)
    if scale is not None and (not math.isfinite(scale) or scale <= 0):
        raise GeoreferenceError(f"{method}: Scale = {scale} is not a positive number", path=source)
    s_eff, note = effective_scale(scale, unit_scale, map_unit_m)
    if note:
        warnings.append(note)
    crs = file_crs
    if crs is None:
        if target is None:
            raise GeoreferenceError(
                f"{method} names the CRS {crs_name!r}, which pyproj does not know",
                path=source,
                hint='pass crs="EPSG:nnnn" (the CRS the map conversion leads to)',
            )
        crs = target
        warnings.append(f"CRS name {crs_name!r} not understood: assuming the given crs {target.to_string()}")
        confidence = "medium"
    coords = [float(values.get(k) or 0.0) for k in ("eastings", "northings", "orthogonalheight")]
    if not all(math.isfinite(c) for c in coords):
        raise GeoreferenceError(f"{method}: non-finite eastings/northings/height {coords}", path=source)
    return Georeference(
        method=method,
        crs=crs,
        eastings=coords[0],
        northings=coords[1],
        orthogonal_height=coords[2],
        rotation_deg=rotation,
        scale=scale,
        unit_scale=unit_scale,
        effective_scale=s_eff,
        map_unit_m=map_unit_m,
        warnings=warnings,
        confidence=confidence,
        source=source,
    )


def georeference_from_model(f, *, crs: Any = None, origin: Sequence[float] | None = None, source=None):
    """Resolve the georeferencing of an opened ``ifcopenshell.file`` (see the module rules).

    Returns a :class:`Georeference` with ``method="none"`` when nothing is found and no
    ``origin`` is given. ``crs`` must already be a ``pyproj.CRS`` or None.
    """
    import ifcopenshell.util.placement
    import ifcopenshell.util.unit

    unit_scale = float(ifcopenshell.util.unit.calculate_unit_scale(f))
    in_file: Georeference | None = None

    if f.schema != "IFC2X3":
        for op in f.by_type("IfcCoordinateOperation"):
            target_crs = op.TargetCRS
            name = getattr(target_crs, "Name", None)
            map_unit_m = _unit_m(getattr(target_crs, "MapUnit", None))
            file_crs = parse_crs(name)
            if op.is_a("IfcMapConversion"):
                values = {
                    "eastings": op.Eastings,
                    "northings": op.Northings,
                    "orthogonalheight": op.OrthogonalHeight,
                    "xaxisabscissa": op.XAxisAbscissa,
                    "xaxisordinate": op.XAxisOrdinate,
                    "scale": op.Scale,
                }
                in_file = _from_values(
                    "IfcMapConversion",
                    values=values,
                    file_crs=file_crs,
                    crs_name=name,
                    map_unit_m=map_unit_m,
                    unit_scale=unit_scale,
                    target=crs,
                    source=source,
                )
                if op.is_a("IfcMapConversionScaled"):
                    fx, fy, fz = op.FactorX, op.FactorY, op.FactorZ
                    if not (math.isclose(fx, 1.0) and math.isclose(fy, 1.0) and math.isclose(fz, 1.0)):
                        raise GeoreferenceError(
                            f"IfcMapConversionScaled with axis factors ({fx}, {fy}, {fz}) is not supported",
                            path=source,
                            entity=f"#{op.id()}",
                            hint="pass origin= and crs= to place the model yourself",
                        )
            elif op.is_a("IfcRigidOperation"):
                first, second = op.FirstCoordinate, op.SecondCoordinate
                if first is not None and first.is_a("IfcPlaneAngleMeasure"):
                    raise GeoreferenceError(
                        "IfcRigidOperation in a geographic CRS (angles) is not supported",
                        path=source,
                        entity=f"#{op.id()}",
                        hint="pass origin= and crs= to place the model yourself",
                    )
                values = {
                    "eastings": first.wrappedValue if first is not None else 0.0,
                    "northings": second.wrappedValue if second is not None else 0.0,
                    "orthogonalheight": op.Height,
                }
                in_file = _from_values(
                    "IfcRigidOperation",
                    values=values,
                    file_crs=file_crs,
                    crs_name=name,
                    map_unit_m=map_unit_m,
                    unit_scale=unit_scale,
                    target=crs,
                    source=source,
                )
            if in_file is not None:
                break
    if in_file is None:
        conv = _pset_values(f, ["ePSet_MapConversion"])
        if conv is not None and ("eastings" in conv or "northings" in conv):
            crs_props = _pset_values(f, ["ePSet_ProjectedCRS"]) or {}
            name = crs_props.get("name")
            in_file = _from_values(
                "ePSet_MapConversion",
                values=conv,
                file_crs=parse_crs(name),
                crs_name=name,
                map_unit_m=1.0,
                unit_scale=unit_scale,
                target=crs,
                source=source,
            )
            in_file.warnings.append("IFC2X3 property-set convention (ePSet_MapConversion) read")

    if origin is not None:
        geo = user_origin_georeference(origin, crs=crs, unit_scale=unit_scale, source=source)
        if in_file is not None:
            geo.warnings.append(f"the file's own {in_file.method} was overridden by origin=")
        return geo
    if in_file is not None:
        return in_file

    sites = f.by_type("IfcSite")
    site = next((s for s in sites if s.RefLatitude is not None and s.RefLongitude is not None), None)
    if site is not None:
        lat, lon = _compound_deg(site.RefLatitude), _compound_deg(site.RefLongitude)
        if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
            origin_xyz = [0.0, 0.0, 0.0]
            if site.ObjectPlacement is not None:
                matrix = ifcopenshell.util.placement.get_local_placement(site.ObjectPlacement)
                origin_xyz = [float(v) for v in matrix[:3, 3]]
            north, stated = true_north_deg(f)
            geo = latlon_georeference(
                lat=lat,
                lon=lon,
                elevation=float(site.RefElevation or 0.0),
                site_origin=origin_xyz,
                true_north_deg=north,
                unit_scale=unit_scale,
                crs=crs,
                source=source,
            )
            if not stated:
                geo.warnings.append("no TrueNorth in the model context: true north taken as +y")
            return geo
    return Georeference(method="none", crs=None, unit_scale=unit_scale, confidence="low", source=source)
