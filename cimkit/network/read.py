"""``cimkit.read_network``: one entry point for road, water, sewer and power networks.

What is read
------------
- a **GeoDataFrame** of (Multi)LineStrings;
- any **vector file** pyogrio reads (GeoPackage, GeoJSON, Shapefile, GeoParquet via geopandas);
- an **OpenStreetMap** extract (``.osm.pbf``, ``.osm``), filtered by ``kind`` as described in
  :mod:`cimkit.io.osm`;
- an **EPANET** ``.inp`` file (``kind="water"``; :mod:`cimkit.io.epanet`);
- an **IFC** file with pipe or cable segments (``kind`` water / sewer / power;
  :mod:`cimkit.io.ifc_network`).

Lines (the first three) go through :func:`cimkit.network.topology.build_network`: endpoint snapping,
splitting at shared vertices, duplicate removal, components and dangles (see that module for the
exact rules). EPANET and IFC files carry explicit topology and are not snapped.

Coordinates
-----------
Lines in a geographic CRS (degrees, e.g. EPSG:4326 for OSM) are reprojected to ``crs`` or, when
``crs`` is None, to the UTM zone (WGS 84) that contains the centre of their bounding box
(``GeoDataFrame.estimate_utm_crs``). Lines in a projected CRS are reprojected to ``crs`` when one
is given. Lines without a CRS need ``source_crs=``. Lengths are planar lengths in that metric CRS;
within a UTM zone the scale error is below 0.04 % (scale factor 0.9996 on the central meridian,
about 1.0004 at the zone edges), which is well inside the accuracy of mapped street centrelines.
EPANET and IFC coordinates are used as written: ``crs=`` assigns a CRS to them, and
``origin=(x, y[, z, rotation_deg])`` places local coordinates (near (0, 0)) on the map, as in
:func:`cimkit.io.epanet.read_epanet` and :func:`cimkit.io.ifc_network.read_ifc_network`.

Roads
-----
``road_class`` comes from ``highway`` (or an existing ``road_class`` / ``class`` column),
``oneway`` from ``yes/true/1`` (True), ``no/false/0`` (False) and ``-1``/``reverse`` (True, and the
line is reversed before the topology is built so that it runs in the travel direction); a
``junction=roundabout`` is oneway. Speeds and travel times are added by
:func:`cimkit.network.travel.compute_edge_travel_times`; ``walk_kmh`` and ``bike_kmh`` override
the walking and cycling speeds, ``car_kmh`` the car speed of every class (a number) or of some
classes (a mapping road class → km/h). Roads without a ``maxspeed`` tag take the legal
defaults of the country the network lies in (found from the centre of its extent, or
``country=``; see :mod:`cimkit.network.travel`); the country, how it was chosen and the legal
sources are recorded in the provenance step ``car_speed_defaults``.

Examples
--------
>>> import cimkit
>>> from cimkit.datasets import sample_city_path
>>> streets = cimkit.read_network(sample_city_path() / "streets.geojson", kind="road", snap_tolerance_m=0)
>>> len(streets.nodes), len(streets.edges), streets.report["dangles"]  # without snapping
(35, 51, 5)
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from cimkit import provenance
from cimkit.errors import (
    CimkitIOError,
    CRSError,
    FileFormatError,
    InputError,
    LayerNotFoundError,
    MissingCRSError,
    NetworkError,
    RepairWarning,
    ValidationError,
)
from cimkit.network.graph import NETWORK_KINDS, Network

__all__ = ["read_network"]

logger = logging.getLogger(__name__)

_TRUE = {"yes", "true", "1", "y", "t"}
_FALSE = {"no", "false", "0", "n", "f"}
_REVERSE = {"-1", "reverse"}


def read_network(
    source: str | os.PathLike[str] | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    kind: str,
    crs: Any = None,
    source_crs: Any = None,
    layer: str | None = None,
    snap_tolerance_m: float | None = None,
    walk_kmh: float | None = None,
    bike_kmh: float | None = None,
    car_kmh: float | Mapping[str, float] | None = None,
    country: str | None = None,
    origin: Sequence[float] | None = None,
) -> Network:
    r"""Read or build an infrastructure network.

    Parameters
    ----------
    source
        A vector file, an OSM extract (``.osm.pbf`` / ``.osm``), an EPANET ``.inp``, an IFC file,
        or a GeoDataFrame / GeoSeries of lines.
    kind
        ``road``, ``water``, ``sewer`` or ``power``.
    crs
        Target CRS (metric). None: keep a projected input CRS, or take the local UTM zone for
        geographic input. For EPANET / IFC files the CRS is assigned, not reprojected.
    source_crs
        CRS of input lines that have none (e.g. a GeoJSON written without one). Refused when the
        input already has a different CRS.
    layer
        Layer of a multi-layer vector file.
    snap_tolerance_m
        Endpoint snapping distance in metres; None takes ``cimkit.get_options()``.
    walk_kmh, bike_kmh
        Walking and cycling speeds of a road network in km/h (default 4.8 and 15).
    car_kmh
        Car speed of a road network in km/h: one number for every road class, or a mapping
        road class → km/h overriding the national defaults (a posted ``maxspeed`` still wins).
    country
        ISO 3166 alpha-2 country whose default road speeds apply (``cimkit/data/road_speeds.csv``).
        None: the country at the centre of the network; when none is found the French defaults
        are used with a warning. Road networks only.
    origin
        ``(x, y[, z, rotation_deg])``: the map position in ``crs`` of the local (0, 0) of an
        EPANET or IFC file, whose coordinates are turned ``rotation_deg`` counter-clockwise,
        unscaled; see :func:`cimkit.io.epanet.read_epanet` (``z`` must be 0) and
        :func:`cimkit.io.ifc_network.read_ifc_network` (``z`` is added to the heights).
        Refused for other sources, which carry map coordinates.

    Returns
    -------
    Network
        With ``network.report`` (topology counts) and a provenance record in
        ``network.attrs["provenance"]`` (and on ``network.edges.attrs``).

    Examples
    --------
    The sample city's streets; two of them end 0.2 m short of the street they join, and the
    default snapping (0.5 m) connects them:

    >>> import warnings
    >>> import cimkit
    >>> from cimkit.datasets import sample_city_path
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # "topology repaired: 2 line end(s) snapped ..."
    ...     net = cimkit.read_network(sample_city_path() / "streets.geojson", kind="road", walk_kmh=4.0)
    >>> net.report["components"], net.report["endpoints_snapped_to_vertex"], len(net.edges)
    (1, 2, 53)
    >>> round(float(net.edges["walk_time_min"].sum()), 1)  # 8 km of streets at 4 km/h
    120.0

    ``origin=`` places a file in local coordinates:

    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "tiny.inp"
    >>> _ = path.write_text(
    ...     "[JUNCTIONS]\n J1 10 0\n[RESERVOIRS]\n R1 40\n[PIPES]\n P1 R1 J1 100 150 0.1 0\n"
    ...     "[OPTIONS]\n Units LPS\n[COORDINATES]\n J1 100 0\n R1 0 0\n[END]\n"
    ... )
    >>> water = cimkit.read_network(path, kind="water", crs="EPSG:2154", origin=(652000, 6861000))
    >>> water.nodes.total_bounds.tolist()
    [652000.0, 6861000.0, 652100.0, 6861000.0]
    >>> folder.cleanup()
    """
    if kind not in NETWORK_KINDS:
        raise ValidationError(f"'kind' must be one of {', '.join(NETWORK_KINDS)}; {kind!r} was given.")
    speeds = {"walk_kmh": walk_kmh, "bike_kmh": bike_kmh, "car_kmh": car_kmh, "country": country}
    given = [name for name, value in speeds.items() if value is not None]
    if given and kind != "road":
        raise ValidationError(f"{', '.join(given)} apply to road networks only; kind={kind!r} was given.")
    is_file = isinstance(source, (str, os.PathLike))
    if origin is not None and not (is_file and str(source).lower().endswith((".inp", ".ifc", ".ifczip"))):
        what = Path(str(source)).name if is_file else type(source).__name__
        raise ValidationError(
            "origin= applies only to files in local coordinates (EPANET .inp, IFC files); "
            f"{what!r} carries map coordinates: pass crs= / source_crs= instead."
        )
    if isinstance(source, (gpd.GeoDataFrame, gpd.GeoSeries)):
        frame = source if isinstance(source, gpd.GeoDataFrame) else source.to_frame("geometry")
        record = provenance.get(source)
        record = record.copy() if record is not None else provenance.Provenance(reader="in-memory")
        record.versions.update(provenance.get_library_versions("geopandas", "shapely", "scipy"))
        return _from_lines(
            frame,
            kind=kind,
            crs=crs,
            source_crs=source_crs,
            snap_tolerance_m=snap_tolerance_m,
            speeds=speeds,
            record=record,
            where=layer or "lines",
            path=None,
        )
    if not isinstance(source, (str, os.PathLike)):
        raise ValidationError(
            f"'source' must be a file path or a GeoDataFrame; {type(source).__name__} was given."
        )
    path = Path(source)
    if not path.exists():
        raise CimkitIOError("file not found", path=path, hint="check the path.")
    suffix = path.name.lower()
    if suffix.endswith(".inp"):
        return _from_epanet(path, kind=kind, crs=crs, source_crs=source_crs, origin=origin)
    if suffix.endswith(".ifc") or suffix.endswith(".ifczip"):
        return _from_ifc(path, kind=kind, crs=crs, source_crs=source_crs, origin=origin)
    frame, record, where = _read_lines(path, kind=kind, layer=layer)
    return _from_lines(
        frame,
        kind=kind,
        crs=crs,
        source_crs=source_crs,
        snap_tolerance_m=snap_tolerance_m,
        speeds=speeds,
        record=record,
        where=where,
        path=path,
    )


def _read_lines(
    path: Path, *, kind: str, layer: str | None
) -> tuple[gpd.GeoDataFrame, provenance.Provenance, str]:
    """Read the lines of an OSM extract or a vector file, with their provenance record."""
    from cimkit.io.osm import OSM_SUFFIXES, read_osm_lines

    if path.name.lower().endswith(OSM_SUFFIXES):
        frame = read_osm_lines(path, kind=kind)
        record = provenance.record_for_files(
            path,
            reader="cimkit.read_network",
            libraries=("pyogrio", "geopandas", "shapely", "scipy"),
            licence="ODbL-1.0",
        )
        record.add_step("filter", f"OSM ways of kind {kind!r}", ways=len(frame))
        if len(frame) == 0:
            raise NetworkError(
                f"the extract has no ways of kind {kind!r}",
                path=path,
                hint="see cimkit.io.osm for the tags each kind takes.",
            )
        return frame, record, "lines"
    frame = _read_vector(path, layer)
    record = provenance.record_for_files(
        path, reader="cimkit.read_network", libraries=("pyogrio", "geopandas", "shapely", "scipy")
    )
    return frame, record, layer or path.name


# ----------------------------------------------------------------------------------------------
def _read_vector(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    import pyogrio

    name = path.name.lower()
    try:
        if name.endswith(".parquet") or name.endswith(".geoparquet"):
            return gpd.read_parquet(path)
        if layer is None:
            layers = pyogrio.list_layers(path)
            line_layers = [n for n, t in layers if t is not None and "line" in str(t).lower()]
            if len(layers) > 1 and len(line_layers) != 1:
                raise InputError(
                    f"the file has {len(layers)} layers; which one holds the network?",
                    path=path,
                    hint=f"pass layer= one of {[str(n) for n, _ in layers]}.",
                )
            layer = line_layers[0] if len(layers) > 1 else None
        elif layer not in [n for n, _ in pyogrio.list_layers(path)]:
            raise LayerNotFoundError(
                f"layer {layer!r} is not in the file",
                path=path,
                layer=layer,
                hint=f"use one of {[str(n) for n, _ in pyogrio.list_layers(path)]}.",
            )
        return pyogrio.read_dataframe(path, layer=layer, use_arrow=_arrow_ok())
    except (InputError, LayerNotFoundError):
        raise
    except Exception as err:  # pyogrio's DataSourceError and friends
        raise FileFormatError(
            f"the file could not be read as vector data ({err})",
            path=path,
            layer=layer,
            hint="give a vector file GDAL reads (GeoPackage, GeoJSON, Shapefile ...).",
        ) from err


def _arrow_ok() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return False
    return True


def _target_crs(frame: gpd.GeoDataFrame, source_crs: Any, where: str, path: Path | None) -> Any:
    if frame.crs is None:
        if source_crs is None:
            raise MissingCRSError(
                "the lines have no CRS",
                path=path,
                layer=where,
                hint="pass source_crs= (the CRS the coordinates are in), e.g. source_crs='EPSG:2154'.",
            )
        frame = frame.set_crs(source_crs)
    elif source_crs is not None and CRS.from_user_input(source_crs) != CRS.from_user_input(frame.crs):
        raise CRSError(
            f"source_crs={source_crs!r} contradicts the CRS of the data ({frame.crs.to_string()})",
            path=path,
            layer=where,
            hint="drop source_crs=, or pass crs= to reproject.",
        )
    return frame


def _parse_oneway(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(oneway, reverse) booleans from OSM-style oneway values."""
    if values.dtype == bool:
        return values.to_numpy(), np.zeros(len(values), dtype=bool)
    text = values.astype("object").where(values.notna(), "").astype(str).str.strip().str.lower()
    text = text.str.replace(r"\.0$", "", regex=True)  # 1.0 / -1.0 from numeric columns
    reverse = text.isin(_REVERSE).to_numpy()
    oneway = (text.isin(_TRUE) | text.isin(_REVERSE)).to_numpy()
    return oneway, reverse


def _prepare_roads(frame: gpd.GeoDataFrame, record: provenance.Provenance) -> gpd.GeoDataFrame:
    frame = frame.copy()
    if "road_class" not in frame.columns:
        for candidate in ("highway", "class", "fclass", "type"):
            if candidate in frame.columns:
                frame["road_class"] = frame[candidate]
                break
        else:
            frame["road_class"] = None
            logger.warning("no highway / class column: every road takes the default speed")
    oneway = np.zeros(len(frame), dtype=bool)
    reverse = np.zeros(len(frame), dtype=bool)
    if "oneway" in frame.columns:
        oneway, reverse = _parse_oneway(frame["oneway"])
    if "junction" in frame.columns:
        oneway = oneway | frame["junction"].isin(["roundabout", "circular"]).to_numpy()
    if reverse.any():
        geoms = frame.geometry.to_numpy().copy()
        geoms[reverse] = shapely.reverse(geoms[reverse])
        frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
        record.add_step(
            "reverse", "oneway=-1 lines reversed to the travel direction", lines=int(reverse.sum())
        )
    frame["oneway"] = oneway
    return frame


def _from_lines(
    frame: gpd.GeoDataFrame,
    *,
    kind: str,
    crs: Any,
    source_crs: Any,
    snap_tolerance_m: float | None,
    speeds: Mapping[str, Any],
    record: provenance.Provenance,
    where: str,
    path: Path | None,
) -> Network:
    from cimkit.network.topology import build_network, check_finite_lines

    if len(frame) == 0:
        raise NetworkError("there are no lines to build a network from", path=path, layer=where)
    check_finite_lines(frame, where, path)  # before any reprojection: pyproj turns NaN into inf
    frame = _target_crs(frame, source_crs, where, path)
    if crs is not None:
        target = CRS.from_user_input(crs)
        if target.is_geographic:
            raise CRSError(
                f"crs={crs!r} is geographic; a network needs metres",
                path=path,
                layer=where,
                hint="give a projected CRS, or crs=None for the local UTM zone.",
            )
        if CRS.from_user_input(frame.crs) != target:
            record.add_step("reproject", f"{frame.crs.to_string()} -> {target.to_string()}")
            frame = frame.to_crs(target)
    elif CRS.from_user_input(frame.crs).is_geographic:
        utm = frame.estimate_utm_crs()
        record.add_step("reproject", f"{frame.crs.to_string()} -> local UTM {utm.to_string()}")
        frame = frame.to_crs(utm)
    if kind == "road":
        frame = _prepare_roads(frame, record)
    net = build_network(frame, kind=kind, snap_tolerance_m=snap_tolerance_m, layer=where)
    report = net.report
    if report["null_geometries_dropped"]:
        record.add_step(
            "drop_null_geometries",
            "lines without geometry (null or empty) left out of the network",
            count=report["null_geometries_dropped"],
            of=report["input_lines"],
        )
    record.add_step(
        "snap",
        "line endpoints snapped to endpoints, vertices and segments within the tolerance",
        tolerance_m=report["snap_tolerance_m"],
        to_endpoint=report["endpoints_snapped"],
        to_vertex=report["endpoints_snapped_to_vertex"],
        to_line=report["endpoints_snapped_to_line"],
    )
    record.add_step(
        "topology",
        "lines split at shared vertices; zero-length pieces and duplicate edges dropped",
        lines_split=report["lines_split"],
        zero_length_dropped=report["zero_length_dropped"],
        duplicates_dropped=report["duplicates_dropped"],
        nodes=len(net.nodes),
        edges=len(net.edges),
    )
    record.add_step(
        "report",
        "connected components and dangles",
        components=report["components"],
        component_sizes=report["component_sizes"][:20],
        dangles=report["dangles"],
    )
    snapped = (
        report["endpoints_snapped"]
        + report["endpoints_snapped_to_vertex"]
        + report["endpoints_snapped_to_line"]
    )
    if snapped or report["duplicates_dropped"]:
        warnings.warn(
            RepairWarning(
                f"{where}: topology repaired: {snapped} line end(s) snapped within "
                f"{report['snap_tolerance_m']} m, {report['duplicates_dropped']} duplicate edge(s) dropped "
                "(see network.report and the provenance steps)",
                code="NET103",
            ),
            stacklevel=3,
        )
    if kind == "road":
        from cimkit.network.travel import compute_edge_travel_times

        walk = 4.8 if speeds["walk_kmh"] is None else speeds["walk_kmh"]
        bike = 15.0 if speeds["bike_kmh"] is None else speeds["bike_kmh"]
        edges = compute_edge_travel_times(
            net.edges, walk_kmh=walk, bike_kmh=bike, car_kmh=speeds["car_kmh"], country=speeds["country"]
        )
        chosen = dict(edges.attrs.pop("car_speed_defaults", {}))
        record.add_step(
            "travel_times", "speeds and walk/bike/car times per edge", walk_kmh=walk, bike_kmh=bike
        )
        record.add_step(
            "car_speed_defaults",
            "default car speed of edges without a usable maxspeed tag, by country and road class",
            **chosen,
        )
        net = Network(net.nodes, edges, kind=kind, report=report)
    return _finish(net, record)


def _report_step(record: provenance.Provenance, report: dict[str, Any]) -> None:
    """Record the topology report (components and dangles) as a provenance step."""
    record.add_step(
        "report",
        "connected components and dangles",
        components=report["components"],
        dangles=report["dangles"],
    )


def _finish(net: Network, record: provenance.Provenance) -> Network:
    provenance.attach(net.edges, record)
    provenance.attach(net.nodes, record)
    provenance.attach(net, record)
    return net


def _place_step(record: provenance.Provenance, origin: Sequence[float] | None) -> None:
    if origin is not None:
        record.add_step("place", "local coordinates placed by origin=", origin=[float(v) for v in origin])


def _from_epanet(
    path: Path, *, kind: str, crs: Any, source_crs: Any, origin: Sequence[float] | None
) -> Network:
    from cimkit.io.epanet import read_epanet

    if kind != "water":
        raise ValidationError(f"an EPANET .inp file holds a water network; kind={kind!r} was given.")
    assign = crs if crs is not None else source_crs
    net = read_epanet(path, crs=assign, origin=origin)
    record = provenance.record_for_files(path, reader="cimkit.read_network")
    record.add_step(
        "epanet",
        "nodes and links from the .inp sections; lengths, elevations and diameters in metres / mm",
        flow_units=net.report["flow_units"],
        crs_assigned=None if assign is None else CRS.from_user_input(assign).to_string(),
    )
    _place_step(record, origin)
    _report_step(record, net.report)
    return _finish(net, record)


def _from_ifc(path: Path, *, kind: str, crs: Any, source_crs: Any, origin: Sequence[float] | None) -> Network:
    from cimkit.io.ifc_network import read_ifc_network

    if kind == "road":
        raise ValidationError("IFC files are read as water, sewer or power networks; kind='road' was given.")
    assign = crs if crs is not None else source_crs
    net = read_ifc_network(path, kind=kind, crs=assign, origin=origin)
    record = provenance.record_for_files(path, reader="cimkit.read_network", libraries=("ifcopenshell",))
    record.add_step(
        "ifc_network",
        "segments as edges between distribution elements, by port connections then geometry",
        segments=len(net.edges),
        connected_by=net.report["connected_by"],
        crs_assigned=None if assign is None else CRS.from_user_input(assign).to_string(),
    )
    _place_step(record, origin)
    _report_step(record, net.report)
    return _finish(net, record)
