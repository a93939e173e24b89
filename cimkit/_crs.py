"""CRS checks and reprojection with provenance: the one place cimkit handles coordinate systems.

Every reader, the :class:`~cimkit.model.CityModel` and the network builders go through these
functions, so that a CRS is understood, refused and recorded the same way everywhere:

- :func:`resolve_crs` turns what a caller gives (``"EPSG:2154"``, ``2154``, WKT, a
  :class:`pyproj.CRS`) into a :class:`pyproj.CRS`, or refuses it with a typed
  :class:`~cimkit.errors.CRSError` naming the file and layer;
- :func:`check_projected_metric` refuses a missing, geographic or non-metre CRS where
  analyses need metres (:class:`~cimkit.errors.MissingCRSError`,
  :class:`~cimkit.errors.GeographicCRSError`, :class:`~cimkit.errors.CRSError`), each with a
  hint on how to fix it;
- :func:`resolve_source_crs` / :func:`assign_or_check_source_crs` apply the rule "cimkit never
  guesses a CRS": a source without one needs ``source_crs=``, and ``source_crs=`` may not
  contradict the CRS a source declares;
- :func:`reproject_with_provenance` reprojects a GeoDataFrame, a
  :class:`~cimkit.raster.Raster` or a :class:`~cimkit.network.graph.Network` when its CRS
  differs from the target and appends a ``reproject`` step (``source_crs``, ``target_crs``,
  ``library``) to its :class:`~cimkit.provenance.Provenance` record.

This module is private (its names may change without notice) and sits in the core tier: it
imports only :mod:`cimkit.errors`, :mod:`cimkit.provenance` and pyproj.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> from cimkit import provenance
>>> check_projected_metric("EPSG:2154").name
'RGF93 v1 / Lambert-93'
>>> points = gpd.GeoDataFrame(geometry=[Point(2.35, 48.85)], crs="EPSG:4326")
>>> moved = reproject_with_provenance(points, "EPSG:2154")
>>> [round(v) for v in moved.geometry.iloc[0].coords[0]]
[652302, 6861303]
>>> step = provenance.get(moved).steps[-1]
>>> step.action, step.params["source_crs"], step.params["target_crs"]
('reproject', 'EPSG:4326', 'EPSG:2154')
"""

from __future__ import annotations

import logging
import os
from typing import Any, TypeVar

from pyproj import CRS
from pyproj.exceptions import CRSError as _PyprojCRSError

from cimkit import provenance
from cimkit.errors import CRSError, GeographicCRSError, MissingCRSError

__all__ = [
    "assign_or_check_source_crs",
    "check_projected_metric",
    "crs_label",
    "reproject_with_provenance",
    "resolve_crs",
    "resolve_source_crs",
]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
T = TypeVar("T")

_METRE_NAMES = frozenset({"metre", "meter", "m"})
_PROJECTED_HINT = (
    "use a projected, metric CRS such as EPSG:2154 (Lambert-93) in France or the local UTM zone "
    "(geopandas: gdf.estimate_utm_crs())"
)


def _where(path: PathLike | None) -> str | None:
    return None if path is None else os.fspath(path)


def resolve_crs(
    crs: Any,
    *,
    path: PathLike | None = None,
    layer: str | None = None,
    what: str = "crs",
) -> CRS | None:
    """Turn a user CRS argument into a :class:`pyproj.CRS`; None stays None.

    Parameters
    ----------
    crs
        Anything :meth:`pyproj.CRS.from_user_input` accepts (``"EPSG:2154"``, ``2154``, WKT,
        PROJ string, a ``pyproj.CRS``), or None.
    path, layer
        The file and layer the CRS belongs to, named in the error.
    what
        The argument's name in the error message (``"crs"``, ``"source_crs"``).

    Returns
    -------
    pyproj.CRS or None

    Raises
    ------
    CRSError
        When pyproj does not understand ``crs``.

    Examples
    --------
    >>> resolve_crs(2056).name
    'CH1903+ / LV95'
    >>> resolve_crs(None) is None
    True
    """
    if crs is None:
        return None
    if isinstance(crs, CRS):
        return crs
    try:
        return CRS.from_user_input(crs)
    except (_PyprojCRSError, TypeError, ValueError) as err:
        raise CRSError(
            f"{what}={crs!r} is not a CRS pyproj understands ({err})",
            path=_where(path),
            layer=layer,
            hint='give an EPSG code such as "EPSG:2154", or a WKT or PROJ string',
        ) from err


def crs_label(crs: Any) -> str:
    """Label a CRS briefly: ``"EPSG:2154"`` when it has an EPSG code, else its name.

    Parameters
    ----------
    crs
        A CRS (anything :func:`resolve_crs` accepts) or None.

    Returns
    -------
    str
        ``"EPSG:nnnn"``, the CRS name, or ``"no CRS"`` for None.

    Examples
    --------
    >>> crs_label("EPSG:2227"), crs_label(None)
    ('EPSG:2227', 'no CRS')
    """
    resolved = resolve_crs(crs)
    if resolved is None:
        return "no CRS"
    epsg = resolved.to_epsg()
    return f"EPSG:{epsg}" if epsg else resolved.name


def _horizontal_units(crs: CRS) -> set[str]:
    return {axis.unit_name.lower() for axis in crs.axis_info[:2]}


def check_projected_metric(
    crs: Any,
    *,
    path: PathLike | None = None,
    layer: str | None = None,
    what: str = "the CRS",
) -> CRS:
    """Return ``crs`` as a :class:`pyproj.CRS` if it is projected and in metres; refuse it otherwise.

    Parameters
    ----------
    crs
        The CRS to check (anything :func:`resolve_crs` accepts, or None).
    path, layer
        The file and layer concerned, named in the error.
    what
        How the message names the CRS (``"the model CRS"``, ``"the lines' CRS"``).

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    MissingCRSError
        ``crs`` is None.
    GeographicCRSError
        ``crs`` is geographic (degrees) or otherwise not projected.
    CRSError
        ``crs`` is projected but its horizontal unit is not the metre (feet, US survey feet),
        or pyproj does not understand it.

    Examples
    --------
    >>> check_projected_metric("EPSG:2056").to_epsg()
    2056
    >>> check_projected_metric("EPSG:4326")
    Traceback (most recent call last):
    ...
    cimkit.errors.GeographicCRSError: the CRS EPSG:4326 is geographic (degrees); analyses need metres. Fix: ...
    """
    resolved = resolve_crs(crs, path=path, layer=layer)
    if resolved is None:
        raise MissingCRSError(
            f"{what} is missing; cimkit never assumes one",
            path=_where(path),
            layer=layer,
            hint="state the CRS the coordinates are in (gdf.set_crs('EPSG:....') or source_crs=)",
        )
    name = crs_label(resolved)
    if resolved.is_geographic:
        raise GeographicCRSError(
            f"{what} {name} is geographic (degrees); analyses need metres",
            path=_where(path),
            layer=layer,
            hint=_PROJECTED_HINT,
        )
    if not resolved.is_projected:
        raise GeographicCRSError(
            f"{what} {name} is not a projected CRS",
            path=_where(path),
            layer=layer,
            hint=_PROJECTED_HINT,
        )
    units = _horizontal_units(resolved)
    if not units <= _METRE_NAMES:
        raise CRSError(
            f"{what} {name} is in {', '.join(sorted(units))}, not metres",
            path=_where(path),
            layer=layer,
            hint=_PROJECTED_HINT + "; cimkit reports metres and square metres",
        )
    return resolved


def resolve_source_crs(
    file_crs: Any,
    source_crs: Any,
    *,
    path: PathLike | None = None,
    layer: str | None = None,
    record: provenance.Provenance | None = None,
    accepted: tuple[Any, ...] = (),
    what: str = "the source",
) -> CRS:
    """Decide the CRS of a source's coordinates: the one it declares, else ``source_crs``.

    Parameters
    ----------
    file_crs
        The CRS the source declares, or None.
    source_crs
        The CRS the caller states, or None.
    path, layer
        The file and layer concerned, named in the errors.
    record
        When ``source_crs`` is used, an ``assign_crs`` step is appended to it.
    accepted
        Further CRSs ``source_crs`` may equal without contradicting ``file_crs`` (a compound
        CRS and its horizontal part, for instance).
    what
        How the messages name the source (``"the layer"``, ``"the raster"``).

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    MissingCRSError
        The source declares no CRS and ``source_crs`` is None.
    CRSError
        ``source_crs`` contradicts the declared CRS.

    Examples
    --------
    >>> resolve_source_crs(None, "EPSG:2154").to_epsg()
    2154
    >>> resolve_source_crs("EPSG:2056", "EPSG:2056").to_epsg()
    2056
    """
    declared = resolve_crs(file_crs, path=path, layer=layer)
    stated = resolve_crs(source_crs, path=path, layer=layer, what="source_crs")
    if declared is None:
        if stated is None:
            raise MissingCRSError(
                f"{what} declares no CRS",
                path=_where(path),
                layer=layer,
                hint="pass source_crs='EPSG:nnnn' to state the CRS the coordinates are in",
            )
        if record is not None:
            record.add_step("assign_crs", "CRS given by the caller (source_crs)", crs=stated.to_string())
        return stated
    if stated is not None and stated != declared and not any(stated == other for other in accepted):
        raise CRSError(
            f"source_crs={stated.to_string()} contradicts the declared CRS {declared.to_string()}",
            path=_where(path),
            layer=layer,
            hint="drop source_crs (the declared CRS is used) or fix the source",
        )
    return declared


def assign_or_check_source_crs(
    gdf: T,
    source_crs: Any,
    *,
    path: PathLike | None = None,
    layer: str | None = None,
    record: provenance.Provenance | None = None,
) -> T:
    """Give a GeoDataFrame without a CRS the caller's ``source_crs``; check it against a declared one.

    Parameters
    ----------
    gdf
        A GeoDataFrame (or anything with ``crs`` and ``set_crs``) as read from a source.
    source_crs
        The CRS the caller states, or None.
    path, layer
        The file and layer read, named in the errors.
    record
        Receives an ``assign_crs`` step when ``source_crs`` is assigned.

    Returns
    -------
    GeoDataFrame
        ``gdf`` itself when it already had a CRS, else a copy with ``source_crs`` set.

    Raises
    ------
    MissingCRSError
        ``gdf`` has no CRS and ``source_crs`` is None.
    CRSError
        ``source_crs`` contradicts the CRS ``gdf`` declares.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> raw = gpd.GeoDataFrame(geometry=[Point(600000, 200000)])
    >>> assign_or_check_source_crs(raw, "EPSG:2227").crs.to_epsg()
    2227
    """
    declared = getattr(gdf, "crs", None)
    crs = resolve_source_crs(declared, source_crs, path=path, layer=layer, record=record, what="the layer")
    if declared is None:
        return gdf.set_crs(crs)  # type: ignore[attr-defined]
    return gdf


def reproject_with_provenance(
    obj: T,
    crs: Any,
    *,
    record: provenance.Provenance | None = None,
    layer: str | None = None,
    path: PathLike | None = None,
    resampling: str = "bilinear",
) -> T:
    """Reproject ``obj`` to ``crs`` when its CRS differs, recording a ``reproject`` step.

    Parameters
    ----------
    obj
        A GeoDataFrame, a :class:`~cimkit.raster.Raster` (warped with ``resampling``) or a
        :class:`~cimkit.network.graph.Network`: anything with ``crs``, ``to_crs`` and ``attrs``.
    crs
        The target CRS; None returns ``obj`` unchanged.
    record
        The provenance record that receives the step (it is modified). By default a copy of
        the record attached to ``obj`` (a new in-memory record when there is none), so that
        the input's record is left as it was.
    layer, path
        Named in the error when ``obj`` has no CRS, and in the log.
    resampling
        Resampling of a raster warp (``"bilinear"``, ``"nearest"``, ``"cubic"``).

    Returns
    -------
    The same type as ``obj``
        ``obj`` itself when it is already in ``crs`` (or ``crs`` is None), else the reprojected
        copy with the record attached (``attrs["provenance"]``) holding one more step:
        ``reproject`` with ``source_crs``, ``target_crs`` (labels such as ``"EPSG:2154"``) and
        ``library`` (``pyproj``, or ``rasterio`` with ``resampling`` for a raster).

    Raises
    ------
    MissingCRSError
        ``obj`` has no CRS (a reprojection needs to know where the coordinates are).
    CRSError
        pyproj does not understand ``crs``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> swiss = gpd.GeoDataFrame(geometry=[Point(2600000, 1200000)], crs="EPSG:2056")
    >>> same = reproject_with_provenance(swiss, 2056)
    >>> same is swiss
    True
    >>> wgs84 = reproject_with_provenance(swiss, "EPSG:4326")
    >>> [round(v, 4) for v in wgs84.geometry.iloc[0].coords[0]]
    [7.4386, 46.9511]
    """
    target = resolve_crs(crs, path=path, layer=layer)
    if target is None:
        return obj
    current = getattr(obj, "crs", None)
    if current is None:
        raise MissingCRSError(
            "the data has no CRS, so it cannot be reprojected",
            path=_where(path),
            layer=layer,
            hint="state the CRS the coordinates are in first (source_crs= or .set_crs('EPSG:....'))",
        )
    current = resolve_crs(current, path=path, layer=layer)
    if current == target:
        return obj
    if record is None:
        attached = provenance.get(obj)
        record = attached.copy() if attached is not None else provenance.Provenance()
    source, destination = crs_label(current), crs_label(target)
    from cimkit.raster import Raster

    if isinstance(obj, Raster):
        out: Any = obj.to_crs(target, resampling=resampling)
        record.add_step(
            "reproject",
            f"{source} -> {destination} ({resampling})",
            source_crs=source,
            target_crs=destination,
            library="rasterio",
            resampling=resampling,
            shape=list(out.shape),
        )
    else:
        out = obj.to_crs(target)  # type: ignore[attr-defined]
        record.add_step(
            "reproject",
            f"{source} -> {destination}",
            source_crs=source,
            target_crs=destination,
            library="pyproj",
        )
    provenance.attach(out, record)
    logger.info("%s reprojected from %s to %s", layer or _where(path) or "data", source, destination)
    return out
