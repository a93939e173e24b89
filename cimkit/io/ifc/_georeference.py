"""How cimkit resolves the georeferencing of an IFC file (the rules of :mod:`.georeference`).

The scale, CRS and placement arithmetic, and the functions that read an opened
``ifcopenshell.file`` (they run inside the sandbox workers). Everything returns a
:class:`~cimkit.io.ifc.georeference.Georeference`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Literal

from cimkit._crs import resolve_crs
from cimkit.errors import CRSError, GeoreferenceError
from cimkit.io.ifc.georeference import Georeference, Method

logger = logging.getLogger(__name__)

_REL_TOL = 1e-9


def effective_scale(
    scale: float | None, unit_scale: float, map_unit_m: float = 1.0
) -> tuple[float, str | None]:
    """Return the factor from local numbers to map units, and a warning when Scale is a unit conversion.

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


#: A genuine map-conversion scale factor (projection / ground-to-grid) stays this close to 1.
MAX_SCALE_DEVIATION = 0.1


def check_scale(
    scale: float | None,
    s_eff: float,
    unit_scale: float,
    map_unit_m: float = 1.0,
    *,
    method: str = "IfcMapConversion",
    source: str | None = None,
) -> None:
    """Refuse a Scale that is neither 1, the unit conversion, nor a scale factor near 1 (``IFC012``).

    The length unit (``unit_scale``: metres per project unit, from the IfcSIUnit prefix) already
    converts the model to metres; what ``Scale`` adds on top (``s_eff / conversion``) is a
    projection scale factor, within :data:`MAX_SCALE_DEVIATION` of 1 (UTM's 0.9996). A Scale of
    1000 on a metre model (or 1 / 0.001 inverted) would multiply lengths by 1000 and areas by 10^6.

    Examples
    --------
    >>> check_scale(0.9996, 0.9996, 1.0)
    >>> check_scale(1000.0, 1000.0, 1.0)
    Traceback (most recent call last):
    ...
    cimkit.errors.GeoreferenceError: IfcMapConversion: Scale = 1000 ...
    """
    conversion = unit_scale / map_unit_m
    extra = s_eff / conversion
    if scale is None or abs(extra - 1.0) <= MAX_SCALE_DEVIATION:
        return
    unit = {1.0: "metre", 0.001: "millimetre", 0.01: "centimetre", 0.3048: "foot"}.get(
        round(unit_scale, 6), f"{unit_scale:g} m"
    )
    raise GeoreferenceError(
        f"{method}: Scale = {scale:g} with a project length unit of {unit} would multiply every length by "
        f"{extra:g} (areas by {extra * extra:.3g}); a projection scale factor stays within "
        f"{MAX_SCALE_DEVIATION:.0%} of 1",
        path=source,
        code="IFC012",
        hint=f"set Scale to 1 or {conversion:g} (the {unit}-to-map-unit conversion) in the file, or pass "
        "origin=(x, y, z, rotation_deg) and crs= to place the model yourself (the file's conversion is then ignored)",
    )


def utm_crs_for(lon: float, lat: float):
    """Return the WGS 84 / UTM zone CRS (EPSG 326xx north, 327xx south) that contains ``lon, lat``."""
    import pyproj

    zone = min(60, math.floor((lon + 180.0) / 6.0) + 1)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def parse_crs(name: Any):
    """Read a ``pyproj.CRS`` from an IfcProjectedCRS / ePSet name such as ``"EPSG:2154"`` or ``"2154"``."""
    if name is None:
        return None
    text = str(name).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return resolve_crs(text)
    except CRSError:  # an unknown name: the caller decides (crs= given, or an error)
        return None


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
        f"placed from IfcSite RefLatitude/RefLongitude only (lat {lat:.5f}, lon {lon:.5f}): approximate "
        "(IfcSite lat/lon is a point, not a map conversion; buildingSMART GRF003)"
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
    check_scale(scale, s_eff, unit_scale, map_unit_m, method=method, source=source)
    if note:
        warnings.append(note)
    crs = file_crs
    if crs is None:
        if target is None:
            raise GeoreferenceError(
                f"{method} names the CRS {crs_name!r}, which pyproj does not know",
                path=source,
                code="IFC014",
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


def _map_conversion_values(op: Any) -> dict[str, Any]:
    return {
        "eastings": op.Eastings,
        "northings": op.Northings,
        "orthogonalheight": op.OrthogonalHeight,
        "xaxisabscissa": op.XAxisAbscissa,
        "xaxisordinate": op.XAxisOrdinate,
        "scale": op.Scale,
    }


def _rigid_operation_values(op: Any, source: str | None) -> dict[str, Any]:
    first, second = op.FirstCoordinate, op.SecondCoordinate
    if first is not None and first.is_a("IfcPlaneAngleMeasure"):
        raise GeoreferenceError(
            "IfcRigidOperation in a geographic CRS (angles) is not supported",
            path=source,
            entity=f"#{op.id()}",
            hint="pass origin= and crs= to place the model yourself",
        )
    return {
        "eastings": first.wrappedValue if first is not None else 0.0,
        "northings": second.wrappedValue if second is not None else 0.0,
        "orthogonalheight": op.Height,
    }


def _check_scaled(op: Any, source: str | None) -> None:
    fx, fy, fz = op.FactorX, op.FactorY, op.FactorZ
    if not (math.isclose(fx, 1.0) and math.isclose(fy, 1.0) and math.isclose(fz, 1.0)):
        raise GeoreferenceError(
            f"IfcMapConversionScaled with axis factors ({fx}, {fy}, {fz}) is not supported",
            path=source,
            entity=f"#{op.id()}",
            hint="pass origin= and crs= to place the model yourself",
        )


def _from_coordinate_operation(
    f: Any, *, crs: Any, unit_scale: float, source: str | None
) -> Georeference | None:
    """IfcMapConversion (and its Scaled subtype) or IfcRigidOperation (IFC4, IFC4X3)."""
    if f.schema == "IFC2X3":
        return None
    for op in f.by_type("IfcCoordinateOperation"):
        if op.is_a("IfcMapConversion"):
            method: Method = "IfcMapConversion"
            values = _map_conversion_values(op)
            if op.is_a("IfcMapConversionScaled"):
                _check_scaled(op, source)
        elif op.is_a("IfcRigidOperation"):
            method = "IfcRigidOperation"
            values = _rigid_operation_values(op, source)
        else:
            continue
        target_crs = op.TargetCRS
        name = getattr(target_crs, "Name", None)
        return _from_values(
            method,
            values=values,
            file_crs=parse_crs(name),
            crs_name=name,
            map_unit_m=_unit_m(getattr(target_crs, "MapUnit", None)),
            unit_scale=unit_scale,
            target=crs,
            source=source,
        )
    return None


def _from_property_sets(f: Any, *, crs: Any, unit_scale: float, source: str | None) -> Georeference | None:
    """Read the IFC2X3 convention: ePSet_MapConversion and ePSet_ProjectedCRS on IfcSite / IfcProject."""
    conv = _pset_values(f, ["ePSet_MapConversion"])
    if conv is None or ("eastings" not in conv and "northings" not in conv):
        return None
    name = (_pset_values(f, ["ePSet_ProjectedCRS"]) or {}).get("name")
    geo = _from_values(
        "ePSet_MapConversion",
        values=conv,
        file_crs=parse_crs(name),
        crs_name=name,
        map_unit_m=1.0,
        unit_scale=unit_scale,
        target=crs,
        source=source,
    )
    geo.warnings.append("IFC2X3 property-set convention (ePSet_MapConversion) read")
    return geo


def _from_site_latlon(f: Any, *, crs: Any, unit_scale: float, source: str | None) -> Georeference | None:
    """IfcSite RefLatitude / RefLongitude: approximate placement (confidence low)."""
    import ifcopenshell.util.placement

    site = next(
        (s for s in f.by_type("IfcSite") if s.RefLatitude is not None and s.RefLongitude is not None), None
    )
    if site is None:
        return None
    lat, lon = _compound_deg(site.RefLatitude), _compound_deg(site.RefLongitude)
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
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


def georeference_from_model(
    f: Any, *, crs: Any = None, origin: Sequence[float] | None = None, source: str | None = None
) -> Georeference:
    """Resolve the georeferencing of an opened ``ifcopenshell.file`` (see the rules of :mod:`.georeference`).

    In order: a coordinate operation (IFC4+), the IFC2X3 property sets, then ``origin`` (which
    overrides both), then the site latitude / longitude. Returns a :class:`Georeference` with
    ``method="none"`` when nothing is found and no ``origin`` is given. ``crs`` must already be
    a ``pyproj.CRS`` or None.
    """
    import ifcopenshell.util.unit

    unit_scale = float(ifcopenshell.util.unit.calculate_unit_scale(f))
    options = {"crs": crs, "unit_scale": unit_scale, "source": source}
    if origin is not None:
        geo = user_origin_georeference(origin, crs=crs, unit_scale=unit_scale, source=source)
        try:
            in_file = _from_coordinate_operation(f, **options) or _from_property_sets(f, **options)
        except GeoreferenceError as err:  # the override is how a broken conversion is bypassed
            geo.warnings.append(
                f"the file's own georeferencing was refused ({err.message}) and overridden by origin="
            )
            return geo
        if in_file is not None:
            geo.warnings.append(f"the file's own {in_file.method} was overridden by origin=")
        return geo
    in_file = _from_coordinate_operation(f, **options) or _from_property_sets(f, **options)
    if in_file is not None:
        return in_file
    geo = _from_site_latlon(f, **options)
    if geo is not None:
        return geo
    return Georeference(method="none", crs=None, unit_scale=unit_scale, confidence="low", source=source)
