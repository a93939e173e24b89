"""``read_ifc`` / ``read_ifc_model``: IFC buildings on the map, with their elements and materials.

The file is checked (header, schema, trailer), then parsed and tessellated in worker
processes (a sandbox of forkserver workers): one task reads the semantics and the
georeferencing, the others compute the geometry of round-robin shares of the products. This
process only assembles the tables and applies :meth:`Georeference.to_map`.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from cimkit import provenance as _prov
from cimkit._crs import crs_label, resolve_crs
from cimkit._placement import check_object_placement
from cimkit.errors import CimkitError, CimkitWarning, GeographicCRSError, ValidationError
from cimkit.io.ifc import _assemble
from cimkit.io.ifc._geometry import DEFAULT_GEOMETRY_LIBRARY
from cimkit.io.ifc._header import check_file
from cimkit.io.ifc._input import check_building_size, plain_ifc
from cimkit.io.ifc._sandbox import (
    MODEL_FAILURES,
    IfcSandbox,
    PoolBroken,
    active_workers,
    interpretation_error,
)
from cimkit.io.ifc.georeference import Georeference
from cimkit.options import get_options

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)

__all__ = ["IfcGeoreferenceWarning", "IfcModel", "read_georeference", "read_ifc", "read_ifc_model"]


class IfcGeoreferenceWarning(CimkitWarning):
    """The placement of an IFC model rests on an assumption (lat/lon only, Scale reading, override).

    A :class:`~cimkit.errors.CimkitWarning` with code ``IFC101``; the same sentences are kept in
    the ``georeference`` step of the model's provenance (``warnings``).

    Parameters
    ----------
    message
        What was assumed, prefixed with the file path.

    Examples
    --------
    The sample city's millimetre house writes its unit conversion as the map conversion's
    Scale; cimkit applies it once and says so:

    >>> import warnings
    >>> from cimkit.datasets import sample_city_path
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     buildings = read_ifc(sample_city_path() / "buildings" / "maison_jaures_21.ifc")
    >>> [str(w.message).split(": ", 1)[1][:50] for w in caught if w.category is IfcGeoreferenceWarning]
    ['Scale taken as the length-unit conversion: Scale =']
    """

    code = "IFC101"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)


@dataclass
class IfcModel:
    """Everything read from one IFC file.

    Attributes
    ----------
    buildings
        GeoDataFrame, one row per IfcBuilding (IfcFacility in IFC4X3), index ``building_id``.
    elements
        DataFrame, one row per built element, index ``global_id``.
    materials
        Long DataFrame, one row per element x material (layer / constituent / single material).
    spaces
        DataFrame of IfcSpace rows.
    georeference
        How the model was placed.
    provenance
        The lineage record (also attached to ``buildings``).
    meshes
        building_id -> ``trimesh.Trimesh`` in map coordinates (with ``meshes=True``).
    element_meshes
        global_id -> ``trimesh.Trimesh`` (with ``per_element_meshes=True``).
    schema
        The file's schema (``"IFC4"``, ``"IFC4X3_ADD2"`` ...).
    extra
        Free room for callers (empty after reading).

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> model = read_ifc_model(sample_city_path() / "buildings" / "maison_lilas_3.ifc")
    >>> model.schema, model.georeference.method, len(model.buildings)
    ('IFC4', 'IfcMapConversion', 1)
    >>> model.spaces["use"].unique().tolist()
    ['residential']
    """

    buildings: Any
    elements: pd.DataFrame
    materials: pd.DataFrame
    spaces: pd.DataFrame
    georeference: Georeference
    provenance: _prov.Provenance
    meshes: dict[str, Any] | None = None
    element_meshes: dict[str, Any] | None = None
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def read_ifc(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    origin: Sequence[float] | None = None,
    lod: Literal["footprint", "lod1"] = "footprint",
    simplify_tolerance_m: float = 0.05,
    processes: int | None = None,
    timeout_s: float | None = None,
    sandbox: bool = True,
) -> gpd.GeoDataFrame:
    """Read the buildings of an IFC file as a GeoDataFrame of footprints on the map.

    Parameters
    ----------
    path
        An IFC-SPF file (IFC2X3, IFC4 or IFC4X3_ADD2), or an ``.ifczip`` holding exactly one.
    crs
        Target CRS, projected (a geographic CRS such as EPSG:4326 raises
        :class:`~cimkit.errors.GeographicCRSError`: building quantities are metric). ``None``: the
        file's CRS (for lat/lon-only files, the site's UTM zone, with a warning). When it differs
        from the file's CRS, footprints are reprojected.
    origin
        ``(x, y[, z, rotation_deg])`` of the local origin in ``crs`` units (metres), rotation
        counter-clockwise in degrees: places a model that has no georeferencing (or overrides it).
    lod
        ``"footprint"``: 2-D footprints. ``"lod1"``: footprints with z = the building's base
        elevation (the LoD1 block is footprint x ``height_m``).
    simplify_tolerance_m
        Douglas-Peucker tolerance applied to footprints, metres (0 disables).
    processes
        Worker processes (default: option ``ifc_processes``).
    timeout_s
        Time limit for the whole read, seconds (default: option ``ifc_timeout_s``).
    sandbox
        ``False`` parses in this process: only for trusted files.

    Returns
    -------
    geopandas.GeoDataFrame
        Index ``building_id`` (GlobalId); columns ``name``, ``geometry``, ``height_m`` (top of
        the physical elements above ``ground_elevation_m``, the ground storey's level; spaces,
        openings, virtual elements and terrain never count), ``ground_source``,
        ``depth_below_ground_m``, ``base_elevation_m`` (= the ground level, base of the LoD1
        block), ``ground_floor_elevation_m``, ``storeys``, ``storeys_above_ground``,
        ``storeys_below_ground``, ``gfa_m2`` (gross only) with ``gfa_source`` (``"qto"``,
        ``"slabs"`` or the fallback ``"footprint x storeys"``, which warns), ``nfa_m2`` (net,
        from spaces), ``volume_m3``, ``volume_source``, ``use``, ``occupancy_type``, ``n_<class>`` counts,
        ``georef_method``, ``georef_confidence``, ``schema``, ``source``.

    Raises
    ------
    GeoreferenceError
        The file holds no georeferencing and no ``origin`` / ``crs`` was given.
    PlacementError
        The buildings fall outside the area of use of their CRS (for instance a model in Boston
        read with ``crs="EPSG:2056"``): accept with ``cimkit.set_options(placement="accept")``.
    FileFormatError, UnsupportedSchemaError, ReaderCrashError
        Malformed or truncated file, unsupported schema, crashed or timed-out parser; the file
        is checked as text before any parser runs (empty, another format, broken STEP syntax,
        ``nan`` numbers, dangling references, placement and aggregation cycles: codes
        ``IFC002``-``IFC011``, naming the entity ``#id`` and the line; ``docs/checks.md``).
    GeoreferenceError
        Also for an implausible ``IfcMapConversion.Scale`` (``IFC012``; ``origin=`` overrides)
        and an unknown ``IfcProjectedCRS`` name without ``crs=`` (``IFC014``).
    InputError
        A building's footprint over 2 km2 or height over 1,500 m (``IFC013``): a unit error.
    ResourceLimitError
        Over ``max_input_mb``, ``max_ifc_entities``, or an ``.ifczip`` that expands past the
        archive limits.

    Examples
    --------
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> buildings = cimkit.read_ifc(sample_city_path() / "buildings" / "maison_pasteur_12.ifc")
    >>> int(buildings["storeys"].iloc[0]), buildings.crs.to_epsg(), buildings["use"].iloc[0]
    (2, 2154, 'residential')
    """
    return read_ifc_model(
        path,
        crs=crs,
        origin=origin,
        lod=lod,
        simplify_tolerance_m=simplify_tolerance_m,
        processes=processes,
        timeout_s=timeout_s,
        sandbox=sandbox,
    ).buildings


def read_ifc_model(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    origin: Sequence[float] | None = None,
    meshes: bool = False,
    per_element_meshes: bool = False,
    lod: Literal["footprint", "lod1"] = "footprint",
    simplify_tolerance_m: float = 0.05,
    processes: int | None = None,
    timeout_s: float | None = None,
    sandbox: bool = True,
    fast_path: bool = True,
    geometry_library: str | None = None,
) -> IfcModel:
    """Read an IFC file into buildings, elements, materials, spaces (and meshes on request).

    Parameters are those of :func:`read_ifc`, plus:

    meshes
        Also build one ``trimesh.Trimesh`` per building in map coordinates (tessellates every
        product; the extrusion fast path is off).
    per_element_meshes
        Also keep one mesh per element (implies ``meshes``).
    fast_path
        Take footprints of plain vertical extrusions from profile + placement (default).
    geometry_library
        ``ifcopenshell.geom`` kernel (default ``"opencascade"``, ifcopenshell's default);
        ``"hybrid-cgal-simple-opencascade"`` is often faster on architectural models.

    Returns
    -------
    IfcModel

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.ifc import read_ifc_model
    >>> model = read_ifc_model(sample_city_path() / "buildings" / "commerce_grande_rue.ifc")
    >>> sorted(model.elements["ifc_class"].unique())[:3]
    ['IfcDoor', 'IfcRoof', 'IfcSlab']
    >>> bool(model.materials.groupby("global_id")["share"].sum().round(9).eq(1.0).all())
    True
    """
    _check_read_options(lod, simplify_tolerance_m, processes)
    with plain_ifc(path) as (member, label):
        return _read_model(
            member,
            label,
            source_file=os.fspath(path),
            crs=crs,
            origin=origin,
            meshes=bool(meshes or per_element_meshes),
            per_element_meshes=per_element_meshes,
            lod=lod,
            simplify_tolerance_m=simplify_tolerance_m,
            processes=processes,
            timeout_s=timeout_s,
            sandbox=sandbox,
            fast_path=fast_path,
            kernel=geometry_library or DEFAULT_GEOMETRY_LIBRARY,
        )


def _read_model(
    member: str, label: str, *, source_file: str, crs: Any, origin: Any, meshes: bool, **kw: Any
) -> IfcModel:
    """Read the plain IFC-SPF file ``member``; ``label`` names it in messages, ``source_file`` in provenance."""
    schema = check_file(member)
    target = resolve_crs(crs, path=label)
    if target is not None and not target.is_projected:
        raise GeographicCRSError(
            f"crs={crs_label(target)} is not a projected CRS; IFC models are read on a metric map",
            path=label,
            hint="pass a projected CRS (the local UTM zone or national grid), or crs=None for the file's own",
        )
    semantics, records = _run_workers(
        member,
        target,
        origin,
        meshes=meshes,
        fast_path=kw["fast_path"],
        kernel=kw["kernel"],
        processes=kw["processes"],
        timeout_s=kw["timeout_s"],
        sandbox=kw["sandbox"],
    )
    geo: Georeference = semantics["georeference"]
    for text in geo.warnings:
        warnings.warn(f"{label}: {text}", IfcGeoreferenceWarning, stacklevel=4)
    record = _read_record(source_file, geo, records, kw["kernel"])
    if label != source_file:  # an .ifczip: say which member was read
        record.add_step(
            "unpack", "read the one .ifc member of the .ifczip archive", member=label.split("!", 1)[1]
        )
    schema = semantics.get("schema") or schema
    tables = _assemble.assemble(
        semantics,
        records,
        geo=geo,
        target=target,
        source=label,
        schema=schema,
        lod=kw["lod"],
        simplify_tolerance_m=float(kw["simplify_tolerance_m"]),
        meshes=meshes,
        per_element_meshes=kw["per_element_meshes"],
        record=record,
    )
    check_building_size(tables["buildings"], path=label, map_unit_m=geo.map_unit_m)
    placed_at = _placed_at(geo)
    check_object_placement(tables["buildings"], path=label, layer="buildings", record=record, note=placed_at)
    return IfcModel(**tables, georeference=geo, provenance=record, schema=schema)


def _placed_at(geo: Georeference) -> str | None:
    """Where the file's own georeferencing puts its origin, as a sentence for placement errors."""
    if geo.crs is None or geo.eastings is None or geo.northings is None:
        return None
    import pyproj

    advice = "read it with crs=None (the file's own CRS) or a CRS whose area of use covers that place"
    if geo.method == "IfcSite-latlon" and geo.warnings:
        return f"the file is {geo.warnings[0].split(':')[0]}: {advice}"
    try:
        to_lonlat = pyproj.Transformer.from_crs(geo.crs, "EPSG:4326", always_xy=True)
        lon, lat = to_lonlat.transform(geo.eastings, geo.northings)
        back = to_lonlat.transform(lon, lat, direction="INVERSE")
    except pyproj.exceptions.ProjError:
        return None
    if not (abs(lon) <= 180 and abs(lat) <= 90) or math.dist(back, (geo.eastings, geo.northings)) > 1.0:
        return None  # outside the domain where the CRS can be inverted: no trustworthy place
    if geo.method == "user-origin":
        return f"origin= puts the model's origin at lon {lon:.4f}, lat {lat:.4f}: check origin= (x, y in crs units)"
    return f"the file places its origin at lon {lon:.4f}, lat {lat:.4f} ({geo.method}): {advice}"


def _check_read_options(lod: Any, simplify_tolerance_m: Any, processes: Any) -> None:
    if lod not in ("footprint", "lod1"):
        raise ValidationError(f"'lod' must be one of footprint, lod1; {lod!r} was given.")
    if not (isinstance(simplify_tolerance_m, (int, float)) and simplify_tolerance_m >= 0):
        raise ValidationError(
            f"simplify_tolerance_m must be a number >= 0; {simplify_tolerance_m!r} was given."
        )
    if processes is not None and not (isinstance(processes, int) and processes >= 1):
        raise ValidationError(f"processes must be an integer >= 1; {processes!r} was given.")


def _run_workers(
    path: str,
    target: Any,
    origin: Sequence[float] | None,
    *,
    meshes: bool,
    fast_path: bool,
    kernel: str,
    processes: int | None,
    timeout_s: float | None,
    sandbox: bool,
) -> tuple[dict[str, Any], dict[int, dict]]:
    """Run the semantics task and the geometry tasks (round-robin chunks of the products)."""
    from cimkit.io.ifc import _tasks  # imports ifcopenshell: only when a file is read

    shared = active_workers() if sandbox else None
    if shared is not None and int(processes or get_options()["ifc_processes"]) == 1:
        args = (path, target, origin, meshes, fast_path, kernel)
        try:
            return shared.run(_tasks.file_task, *args, timeout_s=timeout_s)  # type: ignore[no-any-return]
        except PoolBroken:  # a worker died or timed out: read this file alone, in its own sandbox
            logger.info("%s: the shared IFC workers broke; reading the file alone", path)
        except CimkitError:
            raise
        except MODEL_FAILURES as err:
            raise interpretation_error(err, path) from err
    try:
        with IfcSandbox(path, processes=processes, timeout_s=timeout_s, sandbox=sandbox) as box:
            n_chunks = 1 if box.processes == 1 or not sandbox else 3 * box.processes
            sem_future = box.submit(_tasks.semantics_task, path, target, origin)
            geo_futures = [
                box.submit(_tasks.geometry_task, path, k, n_chunks, meshes, fast_path, kernel)
                for k in range(n_chunks)
            ]
            semantics = box.result(sem_future)
            records: dict[int, dict] = {}
            for fut in geo_futures:
                records.update(box.result(fut))
    finally:
        if not sandbox:
            _tasks.release()  # in-process reads do not keep the parsed file
    return semantics, records


def _read_record(path: Any, geo: Georeference, records: dict[int, dict], kernel: str) -> _prov.Provenance:
    """Start the provenance record of a read: georeference, unit scaling and geometry steps."""
    record = _prov.record_for_files(
        path, reader="cimkit.read_ifc", libraries=["ifcopenshell", "shapely", "pyproj"]
    )
    record.add_step(
        "georeference",
        f"placed by {geo.method} (confidence {geo.confidence})",
        method=geo.method,
        crs=geo.crs.to_string() if geo.crs is not None else None,
        eastings=geo.eastings,
        northings=geo.northings,
        orthogonal_height=geo.orthogonal_height,
        rotation_deg=geo.rotation_deg,
        scale=geo.scale,
        warnings=list(geo.warnings),
    )
    record.add_step(
        "unit-scaling",
        "project length unit converted to map units",
        unit_scale=geo.unit_scale,
        effective_scale=geo.effective_scale,
        map_unit_m=geo.map_unit_m,
    )
    n_fast = sum(1 for r in records.values() if r["path"] == "extrusion")
    record.add_step(
        "geometry",
        "footprints from extrusion profiles and from unions of projected triangles",
        extrusion_fast_path=n_fast,
        tessellated=len(records) - n_fast,
        geometry_library=kernel,
    )
    return record


def read_georeference(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    origin: Sequence[float] | None = None,
    sandbox: bool = True,
    timeout_s: float | None = None,
) -> Georeference:
    """Read what an IFC file says about its place on the map, and how cimkit places it.

    The file is parsed in a child process (``sandbox=True``); the rules are those of
    :mod:`cimkit.io.ifc.georeference`.

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
    from cimkit.io.ifc import _tasks  # imports ifcopenshell: only when a file is read

    with plain_ifc(path) as (member, label):
        check_file(member)
        target = resolve_crs(crs, path=label)
        if not sandbox:
            try:
                return _tasks.georeference_task(member, target, origin, True)
            except CimkitError:
                raise
            except MODEL_FAILURES as err:
                raise interpretation_error(err, member) from err
            finally:
                _tasks.release()
        with IfcSandbox(member, processes=1, timeout_s=timeout_s) as box:
            return box.run(_tasks.georeference_task, member, target, origin, True)
