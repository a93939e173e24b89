"""Placement checks: a layer must lie where its CRS, and the model, say it should be.

A CRS is a promise about *where* coordinates lie. Data in the wrong CRS, in local (schematic)
coordinates, or from another city still reprojects without error, and every analysis then
returns confident numbers about the wrong place. Every reader and ``CityModel.add_layer`` /
``add_network`` / ``set_dem`` therefore run :func:`check_placement` once the CRS is known:

1. **Area of use** (``check="area_of_use"``): the extent, transformed to longitude /
   latitude with pyproj, must lie inside the area of use of its CRS (``pyproj.CRS.area_of_use``)
   widened by :data:`AREA_OF_USE_MARGIN_DEG` on each side. A geographic extent must also be a
   valid longitude / latitude range (``check="lonlat_range"``).
2. **Local coordinates** (``check="local_coordinates"``): an extent that fails (1) in a
   projected CRS while every coordinate is within :data:`LOCAL_LIMIT_M` of the CRS's (0, 0)
   holds local coordinates (EPANET schematics, an unplaced IFC): it is refused with the hint
   to place it with ``origin=``. It is never silently assigned a place.
3. **Distance to the model** (``check="distance_to_model"``): when the model already holds
   layers, the new layer's extent must lie within ``max_distance_m`` (option
   ``placement_max_distance_m``, 50 km by default) of the model's extent.

A failed check raises :class:`~cimkit.errors.PlacementError` naming the file, the layer, the
extent found (in its CRS and as longitude / latitude), the expected area and the likely cause.
With ``placement="accept"`` (a keyword of ``CityModel.add_*``, or the option
``cimkit.set_options(placement="accept")``) it warns (:class:`~cimkit.errors.PlacementWarning`)
instead and appends an ``accept_placement`` step with the reason to the layer's provenance.

What it cannot know: a layer misplaced *inside* the area of use (a few km off, or in the
neighbouring town), and local coordinates in a CRS whose area of use contains its own origin
(EPSG:3857, a local engineering CRS).

This module is private and sits in the core tier: it imports only :mod:`cimkit.errors`,
:mod:`cimkit.options`, :mod:`cimkit.provenance`, :mod:`cimkit._crs`, numpy, pyproj and shapely.

Examples
--------
>>> check_placement((652000, 6861000, 653000, 6862000), "EPSG:2154")
[]
>>> check_placement((11, 4, 80, 30), "EPSG:32610", path="Net3.inp")
Traceback (most recent call last):
...
cimkit.errors.PlacementError: Net3.inp: the extent (11, 4, 80, 30) in EPSG:32610 ...
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from cimkit import provenance
from cimkit import provenance as prov
from cimkit._crs import crs_label, reproject_with_provenance, resolve_crs
from cimkit.errors import PlacementError, PlacementWarning, ValidationError
from cimkit.options import get_options

__all__ = [
    "AREA_OF_USE_MARGIN_DEG",
    "LOCAL_LIMIT_M",
    "check_object_placement",
    "check_placement",
    "compute_extent",
    "compute_model_extent",
    "place_in_model",
]

#: Degrees added on each side of a CRS's area of use before an extent is called outside it
#: (about 55 km of latitude): data at a border, or a UTM zone used slightly past its edge, pass.
AREA_OF_USE_MARGIN_DEG = 0.5
#: An extent failing the area-of-use check whose coordinates all lie within this many metres
#: (map units) of the CRS's (0, 0) is taken for local coordinates.
LOCAL_LIMIT_M = 100_000.0

Bounds = tuple[float, float, float, float]
Placement = Literal["check", "accept"]
_ORIGIN_HINT = "local coordinates: pass origin=(x, y[, z, rotation_deg]) in the target CRS to place them"
_ACCEPT_HINT = (
    'to keep the data where it is, pass placement="accept" (or cimkit.set_options(placement="accept"))'
)


def _fmt(values: Sequence[float], digits: int = 0) -> str:
    return "(" + ", ".join(f"{v:.{digits}f}" for v in values) + ")"


def compute_extent(obj: Any) -> Bounds | None:
    """Return the ``(minx, miny, maxx, maxy)`` of a layer, network or raster; None when it has none.

    Parameters
    ----------
    obj
        A GeoDataFrame, a :class:`~cimkit.network.graph.Network` (its nodes and edges), a
        :class:`~cimkit.raster.Raster`, a 4-sequence of bounds, or anything else (None).

    Returns
    -------
    tuple of float or None
        None for an attribute table, an empty layer or non-finite bounds.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> compute_extent(gpd.GeoDataFrame(geometry=[box(0, 0, 2, 1), None], crs=2154))
    (0.0, 0.0, 2.0, 1.0)
    >>> compute_extent(gpd.GeoDataFrame(geometry=[], crs=2154)) is None
    True
    """
    if isinstance(obj, (tuple, list, np.ndarray)) and len(obj) == 4:
        boxes = [np.asarray(obj, dtype=float)]
    elif hasattr(obj, "nodes") and hasattr(obj, "edges"):  # a Network
        boxes = [np.asarray(t.total_bounds, dtype=float) for t in (obj.nodes, obj.edges) if len(t)]
    elif hasattr(obj, "total_bounds"):  # a GeoDataFrame / GeoSeries
        if hasattr(obj, "columns") and getattr(obj, "_geometry_column_name", None) not in obj.columns:
            return None
        boxes = [np.asarray(obj.total_bounds, dtype=float)] if len(obj) else []
    elif hasattr(obj, "bounds") and hasattr(obj, "transform"):  # a Raster
        boxes = [np.asarray(obj.bounds, dtype=float)]
    else:
        return None
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if not boxes:
        return None
    arr = np.vstack(boxes)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))


def _horizontal(crs: CRS) -> CRS:
    if crs.is_compound and crs.sub_crs_list:
        return crs.sub_crs_list[0]
    return crs


@functools.lru_cache(maxsize=64)
def _to_lonlat(crs: CRS) -> Transformer:
    return Transformer.from_crs(_horizontal(crs), "EPSG:4326", always_xy=True)


def _lonlat_bounds(bounds: Bounds, crs: CRS) -> Bounds | None:
    """Return the extent as longitude / latitude (densified edges), or None when none is reliable."""
    if crs.is_geographic:
        return bounds
    transformer = _to_lonlat(crs)
    try:
        out = transformer.transform_bounds(*bounds, densify_pts=21)
        corners = np.array([bounds[:2], bounds[2:]], dtype=float)
        lon, lat = transformer.transform(corners[:, 0], corners[:, 1])
        back = np.column_stack(transformer.transform(lon, lat, direction="INVERSE"))
    except (ProjError, ValueError):
        return None
    if not np.all(
        np.abs(back - corners) <= 1.0
    ):  # far outside the projection's domain: no trustworthy lon/lat
        return None
    return tuple(float(v) for v in out) if all(math.isfinite(v) for v in out) else None  # type: ignore[return-value]


def _inside(lonlat: Bounds, area: Bounds, margin: float) -> bool:
    west, south, east, north = area
    minx, miny, maxx, maxy = lonlat
    if south - margin > miny or maxy > north + margin:
        return False
    if west > east:  # the area crosses the antimeridian
        east += 360.0
        minx, maxx = (minx + 360.0, maxx + 360.0) if minx < west - margin else (minx, maxx)
    return west - margin <= minx and maxx <= east + margin


def _area_text(crs: CRS) -> tuple[str, Bounds | None]:
    area = _horizontal(crs).area_of_use or crs.area_of_use
    if area is None:
        return f"{crs_label(crs)} (no area of use known)", None
    name = area.name.split(" - ")[0].split(".")[0]
    text = (
        f"the area of use of {crs_label(crs)} ({name}: lon {area.west:g} to {area.east:g}, "
        f"lat {area.south:g} to {area.north:g})"
    )
    return text, (area.west, area.south, area.east, area.north)


def _causes(bounds: Bounds, crs: CRS, area: Bounds | None) -> tuple[str, list[str]]:
    """Return the failed check's name and the likely causes, most likely first."""
    minx, miny, maxx, maxy = bounds
    causes: list[str] = []
    check = "area_of_use"
    if crs.is_projected and max(abs(minx), abs(miny), abs(maxx), abs(maxy)) <= LOCAL_LIMIT_M:
        check = "local_coordinates"
        causes.append(_ORIGIN_HINT)
    swapped = (miny, minx, maxy, maxx)
    if area is not None:
        lonlat = _lonlat_bounds(swapped, crs)
        if lonlat is not None and _inside(lonlat, area, AREA_OF_USE_MARGIN_DEG):
            causes.append(
                "lat/lon order swapped?" if crs.is_geographic else "x/y (easting/northing) order swapped?"
            )
    if crs.is_projected and -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
        causes.append("wrong CRS? the values look like degrees (EPSG:4326 longitude / latitude)")
    if crs.is_geographic and not (-180 <= minx <= maxx <= 360 and -90 <= miny <= maxy <= 90):
        check = "lonlat_range"
        causes.append("wrong CRS? the values are not degrees: state the projected CRS they are in")
    if not causes or check == "area_of_use":
        causes.append("wrong CRS? the coordinates belong to another CRS (check source_crs= / crs=)")
    return check, causes


def _problem_area_of_use(
    bounds: Bounds, crs: CRS, *, what: str
) -> tuple[str, str, str, Bounds | None] | None:
    """Return (check, message, hint, lonlat) when ``bounds`` lie outside the area of use of ``crs``."""
    text, area = _area_text(crs)
    lonlat = _lonlat_bounds(bounds, crs)
    if lonlat is not None and crs.is_geographic and not (-90 <= lonlat[1] <= lonlat[3] <= 90):
        lonlat = None
    if area is None and lonlat is not None:
        return None  # nothing to compare with: what cimkit cannot know
    if lonlat is not None and area is not None and _inside(lonlat, area, AREA_OF_USE_MARGIN_DEG):
        return None
    check, causes = _causes(bounds, crs, area)
    where = f" (lon/lat {_fmt(lonlat, 4)})" if lonlat is not None else " (no reliable longitude / latitude)"
    message = (
        f"{what} {_fmt(bounds, 0 if crs.is_projected else 5)} in {crs_label(crs)}{where} is outside {text}"
    )
    return check, message, "likely cause: " + "; or ".join(causes), lonlat


def _distance_m(bounds: Bounds, model_bounds: Bounds) -> float:
    return float(shapely.box(*bounds).distance(shapely.box(*model_bounds)))


def _problem_distance(
    box: Bounds, model_bounds: Sequence[float], crs: CRS, max_distance_m: float | None
) -> tuple[str, str, str, Bounds | None] | None:
    """Return (check, message, hint, lonlat) when ``box`` lies too far from the model's extent."""
    limit = float(get_options()["placement_max_distance_m"] if max_distance_m is None else max_distance_m)
    model_box = tuple(float(v) for v in model_bounds)
    distance = _distance_m(box, model_box)  # type: ignore[arg-type]
    if distance <= limit:
        return None
    message = (
        f"the extent {_fmt(box)} lies {distance / 1000:,.0f} km from the model's extent "
        f"{_fmt(model_box)} in {crs_label(crs)} (the limit is {limit / 1000:g} km)"
    )
    hint = (
        "likely cause: a layer of another place, or a wrong CRS?; raise the limit with "
        "cimkit.set_options(placement_max_distance_m=...) for a model this large"
    )
    return "distance_to_model", message, hint, _lonlat_bounds(box, crs)


def _resolve_placement(placement: Placement | None) -> Placement:
    value = get_options()["placement"] if placement is None else placement
    if value not in ("check", "accept"):
        raise ValidationError(f"placement must be 'check' or 'accept'; {value!r} was given.")
    return value  # type: ignore[no-any-return]


def check_placement(
    bounds: Sequence[float] | None,
    crs: Any,
    *,
    path: str | os.PathLike[str] | None = None,
    layer: str | None = None,
    model_crs: Any = None,
    model_bounds: Sequence[float] | None = None,
    max_distance_m: float | None = None,
    placement: Placement | None = None,
    record: provenance.Provenance | None = None,
    note: str | None = None,
) -> list[str]:
    """Check that an extent lies where its CRS (and the model) say; raise or accept what fails.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in ``crs``; None (an empty layer) passes.
    crs
        The CRS of ``bounds`` (anything :func:`~cimkit._crs.resolve_crs` accepts); None passes
        (a missing CRS is refused elsewhere).
    path, layer
        The file and layer, named in the error.
    model_crs, model_bounds
        The model's CRS and its extent before this layer. ``model_bounds`` must be in
        ``model_crs`` (which defaults to ``crs``); None skips the distance check.
    max_distance_m
        Farthest distance from ``model_bounds``, in metres (default: option
        ``placement_max_distance_m``, 50 km).
    placement
        ``"check"`` raises on the first failed check; ``"accept"`` warns instead and appends an
        ``accept_placement`` step per failed check to ``record``. Default: option ``placement``.
    record
        The layer's provenance record, receiving the acceptance.
    note
        What the caller knows about where the data should be (``"the file places itself at
        lon -87.64, lat 41.87"``), put before the likely cause.

    Returns
    -------
    list of str
        The messages of the failed checks that were accepted (empty when all pass).

    Raises
    ------
    PlacementError
        A check failed and ``placement="check"``; ``err.check`` names it.

    Examples
    --------
    >>> check_placement((2600000, 1200000, 2601000, 1201000), "EPSG:2056")
    []
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     accepted = check_placement((0, 0, 200, 100), "EPSG:2154", placement="accept")
    >>> accepted[0][:46]
    'the extent (0, 0, 200, 100) in EPSG:2154 (lon/'
    >>> check_placement((652000, 6861000, 653000, 6862000), 2154, model_bounds=(700000, 6600000, 701000, 6601000))
    Traceback (most recent call last):
    ...
    cimkit.errors.PlacementError: the extent ... lies 264 km from the model's extent ...
    """
    mode = _resolve_placement(placement)
    resolved = resolve_crs(crs, path=path, layer=layer)
    if bounds is None or resolved is None:
        return []
    box = tuple(float(v) for v in bounds)
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        return []
    problems = []
    found = _problem_area_of_use(box, resolved, what="the extent")  # type: ignore[arg-type]
    if found is not None:
        problems.append(found)
    target = resolve_crs(model_crs, path=path, layer=layer) or resolved
    if model_bounds is not None and not problems:
        far = _problem_distance(box, model_bounds, target, max_distance_m)  # type: ignore[arg-type]
        if far is not None:
            problems.append(far)
    accepted = []
    for check, message, cause, lonlat in problems:
        hint = f"{note}; {cause}" if note else cause
        if mode == "check":
            raise PlacementError(
                message,
                path=path,
                layer=layer,
                hint=f"{hint}; {_ACCEPT_HINT}",
                check=check,
                extent=box,
                extent_lonlat=lonlat,
                expected=_area_text(resolved)[0] if check != "distance_to_model" else "the model's extent",
            )
        where = f"{os.fspath(path)}: " if path is not None else ""
        named = f"layer {layer!r}: " if layer is not None else ""
        warnings.warn(
            f"{where}{named}{message}; accepted as it is (placement='accept'), recorded in provenance. {hint}",
            PlacementWarning,
            stacklevel=3,
        )
        if record is not None:
            record.add_step(
                "accept_placement",
                f"placement check {check} failed and was accepted: {message}",
                check=check,
                extent=list(box),
                reason=hint,
            )
        accepted.append(message)
    return accepted


def check_object_placement(
    obj: Any,
    *,
    path: str | os.PathLike[str] | None = None,
    layer: str | None = None,
    placement: Placement | None = None,
    record: provenance.Provenance | None = None,
    note: str | None = None,
) -> list[str]:
    """Run :func:`check_placement` on a layer, network or raster as a reader returns it.

    Parameters
    ----------
    obj
        A GeoDataFrame, Network or Raster with its CRS (``obj.crs``).
    path, layer, placement, note
        As in :func:`check_placement`.
    record
        Receives the acceptance; by default the record attached to ``obj`` (and to a
        network's node and edge tables, which share it).

    Returns
    -------
    list of str
        The accepted failures (see :func:`check_placement`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> check_object_placement(gpd.GeoDataFrame(geometry=[Point(2.35, 48.85)], crs=4326))
    []
    >>> check_object_placement(gpd.GeoDataFrame(geometry=[Point(48.85, 2.35)], crs=2154), layer="pois")
    Traceback (most recent call last):
    ...
    cimkit.errors.PlacementError: layer 'pois': the extent (49, 2, 49, 2) in EPSG:2154 ...
    """
    crs = getattr(obj, "crs", None)
    if record is None:
        record = provenance.get(obj)
    extent = compute_extent(obj)
    return check_placement(extent, crs, path=path, layer=layer, placement=placement, record=record, note=note)


def compute_model_extent(model: Any, *, without: str | None = None) -> Bounds | None:
    """Return the extent of a model's layers, networks and DEM, leaving out the layer ``without``.

    Parameters
    ----------
    model
        A :class:`~cimkit.model.CityModel` (read through ``layers``, ``networks`` and ``dem``).
    without
        A layer name, ``network_<kind>`` or ``"dem"`` to leave out (the one being replaced).

    Returns
    -------
    tuple of float or None
        None for an empty model.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.raster import read_dem
    >>> from cimkit.model import CityModel
    >>> model = CityModel(2154)
    >>> _ = model.set_dem(read_dem(sample_city_path() / "dem.tif"))
    >>> [round(v) for v in compute_model_extent(model)], compute_model_extent(model, without="dem")
    ([650550, 6846550, 651450, 6847450], None)
    """
    boxes = [compute_extent(frame) for name, frame in model.layers.items() if name != without]
    boxes += [compute_extent(net) for kind, net in model.networks.items() if f"network_{kind}" != without]
    if model.dem is not None and without != "dem":
        boxes.append(compute_extent(model.dem))
    found = [b for b in boxes if b is not None]
    if not found:
        return None
    arr = np.asarray(found)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))


def place_in_model(
    obj: Any,
    model: Any,
    *,
    record: prov.Provenance,
    layer: str,
    placement: Placement | None = None,
    resampling: str = "bilinear",
    copy: bool = False,
) -> Any:
    """Check a layer's placement, reproject it to the model CRS, check it against the model, attach ``record``.

    The checks run on the layer in its own CRS (area of use), then in the model CRS (area of
    use of the model's CRS, distance to the extent of the model's other layers). Used by
    ``CityModel.add_layer``, ``add_network`` and ``set_dem``.

    Parameters
    ----------
    obj
        A GeoDataFrame, Network or Raster with a CRS, or an attribute table (a DataFrame
        without geometry, which has no place to check).
    model
        The :class:`~cimkit.model.CityModel` it is added to (``model.crs``, its layers).
    record
        The layer's provenance record: receives the ``reproject`` and ``accept_placement``
        steps and is attached to the result.
    layer
        The layer's name in the model (``network_<kind>``, ``"dem"``); a layer of that name
        already in the model is left out of the model's extent (it is being replaced).
    placement
        ``"check"`` or ``"accept"`` (default: option ``placement``).
    resampling
        Resampling of a raster warp.
    copy
        Return a copy even when ``obj`` is already in the model CRS.

    Returns
    -------
    The same type as ``obj``
        The layer in the model CRS (``obj`` itself when it was already in it and not ``copy``,
        else a copy) with ``record`` attached.

    Raises
    ------
    PlacementError
        A check failed and ``placement`` is ``"check"``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> from cimkit.model import CityModel
    >>> pois = gpd.GeoDataFrame(geometry=[Point(2.35, 48.85)], crs=4326)
    >>> moved = place_in_model(pois, CityModel(2154), record=prov.Provenance(), layer="pois")
    >>> [round(v) for v in moved.geometry.iloc[0].coords[0]], prov.get(moved).steps[-1].action
    ([652302, 6861303], 'reproject')
    """
    moved = _place(obj, model, record=record, layer=layer, placement=placement, resampling=resampling)
    if copy and moved is obj:
        moved = obj.copy()
    return prov.attach(moved, record)


def _place(obj: Any, model: Any, *, record: Any, layer: str, placement: Any, resampling: str) -> Any:
    if hasattr(obj, "columns") and getattr(obj, "_geometry_column_name", None) not in obj.columns:
        return obj  # an attribute table
    crs = getattr(obj, "crs", None)
    if hasattr(obj, "columns"):
        check_finite_coordinates(obj, layer=layer)
    source_failed = check_placement(compute_extent(obj), crs, layer=layer, placement=placement, record=record)
    moved = reproject_with_provenance(obj, model.crs, record=record, layer=layer, resampling=resampling)
    if not source_failed:  # an accepted failure is not reported twice
        check_placement(
            compute_extent(moved),
            model.crs,
            layer=layer,
            model_bounds=compute_model_extent(model, without=layer),
            placement=placement,
            record=record,
        )
    return moved


def check_finite_coordinates(
    frame: Any, *, layer: str | None = None, path: Any = None, name_ids: Any = None
) -> np.ndarray:
    """Raise ``GMT010`` when a feature has a NaN or infinite coordinate (x, y, or z where present).

    The one coordinate check of every reader's door and of ``CityModel.add_layer``: such a
    feature cannot be placed and is never turned into an empty or moved geometry.
    ``name_ids(frame, mask)`` names the features (default: their index labels). Returns
    ``shapely.has_z`` of the geometries.
    """
    geoms = frame.geometry.to_numpy()
    coords, index = shapely.get_coordinates(geoms, include_z=True, return_index=True)
    has_z = shapely.has_z(geoms)
    bad_point = ~np.isfinite(coords[:, :2]).all(axis=1) | (has_z[index] & ~np.isfinite(coords[:, 2]))
    if bad_point.any():
        bad = np.zeros(len(geoms), dtype=bool)
        bad[np.unique(index[bad_point])] = True
        raise_nonfinite(frame, bad, layer=layer, path=path, name_ids=name_ids)
    return has_z


def raise_nonfinite(
    frame: Any, bad: np.ndarray, *, layer: str | None, path: Any = None, name_ids: Any = None
) -> None:
    """Raise ``GMT010`` naming the features of ``frame`` flagged in ``bad``."""
    from cimkit.errors import GeometryError

    if name_ids is not None:
        ids = list(name_ids(frame, bad))
    else:
        ids = [str(v) for v in frame.index[np.flatnonzero(bad)[:10]]]
    raise GeometryError(
        f"{int(bad.sum())} feature(s) have NaN or infinite coordinates: {ids}",
        path=path,
        layer=layer,
        entity=ids[0],
        code="GMT010",
        hint="fix or delete these features (in a GIS, or drop them); cimkit does not guess where they should be.",
    )
