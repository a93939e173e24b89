"""IFC 4.3 distribution systems (sewers, water mains, cables) as a network.

Nodes are the distribution elements that are not flow segments: ``IfcDistributionChamberElement``
(manholes, gullies, valve chambers), fittings, terminals, tanks, valves. Edges are the flow segments
of the requested kind: ``IfcPipeSegment`` for ``water`` and ``sewer``, ``IfcCableSegment`` and
``IfcCableCarrierSegment`` for ``power``.

How a segment finds its end nodes
---------------------------------
1. **Ports.** The segment's ports (``IfcDistributionPort`` nested with ``IfcRelNests`` in IFC4+, or
   ``IfcRelConnectsPortToElement`` in IFC2X3) and the ports they connect to through
   ``IfcRelConnectsPorts`` name the element at each end. When that element is another segment (a
   direct pipe-to-pipe joint) a junction node is created at the port position.
2. **Geometry**, for an end whose port is missing or unconnected: the end point of the segment
   (its port position, else the end of its ``Axis`` polyline) is matched to the nearest node
   element within ``match_distance_m`` (2-D distance); failing that, a free end node is created
   there.

Direction: the end with the segment's ``SINK`` port (where flow enters the segment) becomes ``u``
and the ``SOURCE`` end ``v``; ``flow_direction_known`` says whether the ports said so. Edges are
not ``oneway`` (routing on a sewer normally ignores the flow direction).

Lengths and positions: ``length_m`` is the 3-D distance between the segment's two end points, in
metres (the file's length unit is applied). Node and edge geometries are 2-D; heights are kept in
``z_m`` (nodes, placement origin) and ``z_start_m``/``z_end_m`` (edges).

Georeferencing: coordinates are used as written (after the unit scale). ``IfcMapConversion``
is not applied here; a file without one (like most infrastructure test files) gets no CRS
unless ``crs=`` is given, which *assigns* that CRS. Local coordinates given a projected CRS
(values near its (0, 0), outside its area of use) raise :class:`~cimkit.errors.PlacementError`:
place them with ``origin=(x, y[, z, rotation_deg])``, the map position of the file's (0, 0)
(turned ``rotation_deg`` counter-clockwise, unscaled; ``z`` is added to the heights).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit import provenance
from cimkit._crs import crs_label, resolve_crs
from cimkit._placement import check_object_placement
from cimkit.errors import (
    CimkitIOError,
    FileFormatError,
    NetworkError,
    RepairWarning,
    UnsupportedSchemaError,
    ValidationError,
)
from cimkit.io._origin import Origin, parse_origin
from cimkit.network.graph import Network, summarise_topology

__all__ = ["read_ifc_network"]

logger = logging.getLogger(__name__)

_SEGMENTS = {
    "water": ("IfcPipeSegment",),
    "sewer": ("IfcPipeSegment",),
    "power": ("IfcCableSegment", "IfcCableCarrierSegment"),
}


def _open(path: Path) -> Any:
    import ifcopenshell

    if not path.is_file():
        raise CimkitIOError("file not found", path=path, hint="check the path.")
    try:
        return ifcopenshell.open(str(path))
    except ifcopenshell.SchemaError as err:
        raise UnsupportedSchemaError(
            f"the IFC schema is not supported ({err})",
            path=path,
            hint="IFC4X3 drafts (RC3, RC4) are not read; export as IFC4X3_ADD2, IFC4 or IFC2X3.",
        ) from err
    except Exception as err:  # ifcopenshell raises plain errors on broken files
        raise FileFormatError(f"not a readable IFC file ({err})", path=path) from err


def _position(matrix: np.ndarray, scale: float) -> np.ndarray:
    return np.asarray(matrix)[:3, 3] * scale


def _axis_ends(segment: Any, scale: float) -> tuple[np.ndarray, np.ndarray] | None:
    """World end points of the segment's Axis polyline, or None."""
    import ifcopenshell.util.placement as placement

    rep = segment.Representation
    if rep is None or segment.ObjectPlacement is None:
        return None
    matrix = placement.get_local_placement(segment.ObjectPlacement)
    for shape in rep.Representations:
        if (shape.RepresentationIdentifier or "").lower() != "axis":
            continue
        for item in shape.Items:
            if item.is_a("IfcPolyline") and len(item.Points) >= 2:
                pts = [list(p.Coordinates) + [0.0] * (3 - len(p.Coordinates)) for p in item.Points]
                local = np.array([pts[0] + [1.0], pts[-1] + [1.0]]).T
                world = (matrix @ local)[:3].T * scale
                return world[0], world[1]
    return None


def _profile_diameter_mm(segment: Any, scale: float) -> tuple[float, str | None]:
    """Outer diameter (mm) of a circular profile in the segment's material profile set, and the material."""
    import ifcopenshell.util.element as element

    material = element.get_material(segment, should_inherit=True)
    if material is None:
        return np.nan, None
    if material.is_a("IfcMaterialProfileSetUsage"):
        material = material.ForProfileSet
    name = getattr(material, "Name", None)
    profiles = getattr(material, "MaterialProfiles", None) or []
    for prof in profiles:
        profile = prof.Profile
        if profile is not None and profile.is_a("IfcCircleProfileDef"):
            mat = prof.Material.Name if prof.Material is not None else name
            return float(profile.Radius) * 2 * scale * 1000.0, mat
    return np.nan, name


class _Nodes:
    """The node table being built: distribution elements first, then junctions created on the way."""

    def __init__(self, model: Any, scale: float, match_distance_m: float) -> None:
        import ifcopenshell.util.placement as placement

        self.rows: list[dict[str, Any]] = []
        self.xyz: list[np.ndarray] = []
        self.of_element: dict[int, int] = {}
        self.joints: dict[frozenset, int] = {}
        self.match_distance_m = match_distance_m
        for e in model.by_type("IfcDistributionElement"):
            if e.is_a("IfcFlowSegment") or e.is_a("IfcDistributionPort") or e.ObjectPlacement is None:
                continue
            self.of_element[e.id()] = len(self.rows)
            self.xyz.append(_position(placement.get_local_placement(e.ObjectPlacement), scale))
            self.rows.append(
                {
                    "global_id": e.GlobalId,
                    "ifc_class": e.is_a(),
                    "name": e.Name,
                    "tag": getattr(e, "Tag", None),
                    "predefined_type": getattr(e, "PredefinedType", None),
                }
            )
        self.element_xy = np.array([p[:2] for p in self.xyz]).reshape(-1, 2)

    def new(self, xyz: np.ndarray, label: str) -> int:
        self.xyz.append(xyz)
        self.rows.append(
            {"global_id": None, "ifc_class": label, "name": None, "tag": None, "predefined_type": None}
        )
        return len(self.rows) - 1

    def nearest(self, xyz: np.ndarray) -> int:
        """Return the element node within ``match_distance_m`` (2-D) of ``xyz``, else a new free end node."""
        if len(self.element_xy):
            d = np.hypot(*(self.element_xy - xyz[:2]).T)
            best = int(np.argmin(d))
            if d[best] <= self.match_distance_m:
                return best
        return self.new(xyz, "junction")

    def end(self, xyz: np.ndarray, port: Any) -> tuple[int, str]:
        """Return the node at one end of a segment and how it was found (``ports`` / ``geometry``)."""
        import ifcopenshell.util.system as system

        other = system.get_connected_port(port) if port is not None else None
        owner = system.get_port_element(other) if other is not None else None
        if owner is not None and owner.id() in self.of_element:
            return self.of_element[owner.id()], "ports"
        if owner is not None and other is not None and owner.is_a("IfcFlowSegment"):
            key = frozenset((port.id(), other.id()))
            if key not in self.joints:
                self.joints[key] = self.new(xyz, "joint")
            return self.joints[key], "ports"
        return self.nearest(xyz), "geometry"


def _segment_ends(segment: Any, scale: float) -> tuple[list[tuple[np.ndarray, Any]], bool] | None:
    """Return the two ends (position, port or None), SINK end first, and whether the ports said so."""
    import ifcopenshell.util.placement as placement
    import ifcopenshell.util.system as system

    ends: list[tuple[np.ndarray, Any]] = [
        (_position(placement.get_local_placement(port.ObjectPlacement), scale), port)
        for port in system.get_ports(segment)
        if port.ObjectPlacement is not None
    ]
    if len(ends) != 2:
        axis = _axis_ends(segment, scale)
        if axis is None:
            logger.warning(
                "%s %s has neither two ports nor an axis; skipped", segment.is_a(), segment.GlobalId
            )
            return None
        ends = [(axis[0], None), (axis[1], None)]
    known = all(p is not None for _, p in ends) and {p.FlowDirection for _, p in ends} == {"SINK", "SOURCE"}
    if known and ends[0][1].FlowDirection == "SOURCE":
        ends = [ends[1], ends[0]]
    return ends, bool(known)


def _edge_row(segment: Any, nodes: _Nodes, scale: float) -> dict[str, Any] | None:
    found = _segment_ends(segment, scale)
    if found is None:
        return None
    ends, direction_known = found
    (u, how_u), (v, how_v) = (nodes.end(xyz, port) for xyz, port in ends)
    diameter, material = _profile_diameter_mm(segment, scale)
    (a, _), (b, _) = ends
    return {
        "u": u,
        "v": v,
        "global_id": segment.GlobalId,
        "ifc_class": segment.is_a(),
        "name": segment.Name,
        "tag": getattr(segment, "Tag", None),
        "length_m": float(np.linalg.norm(b - a)),
        "diameter_mm": diameter,
        "material": material,
        "z_start_m": float(a[2]),
        "z_end_m": float(b[2]),
        "connected_by": how_u if how_u == how_v else "mixed",
        "flow_direction_known": direction_known,
        "_a": a[:2],
        "_b": b[:2],
    }


def _tables(
    nodes: _Nodes, edge_rows: list[dict[str, Any]], crs: Any
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    xyz = np.array(nodes.xyz).reshape(-1, 3)
    node_table = gpd.GeoDataFrame(
        pd.DataFrame(nodes.rows, index=pd.Index(np.arange(len(nodes.rows), dtype="int64"), name="node_id")),
        geometry=shapely.points(xyz[:, :2]),
        crs=crs,
    )
    node_table["z_m"] = xyz[:, 2]
    frame = pd.DataFrame(edge_rows)
    # the edge runs chamber -> segment end -> segment end -> chamber, so that it meets its nodes
    geoms = [
        shapely.linestrings(_dedupe([xyz[u, :2], a, b, xyz[v, :2]]))
        for u, v, a, b in zip(frame["u"], frame["v"], frame["_a"], frame["_b"])
    ]
    frame = frame.drop(columns=["_a", "_b"])
    frame.index = pd.Index(np.arange(len(frame), dtype="int64"), name="edge_id")
    frame["oneway"] = False
    edges = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=crs)
    # drop node elements no segment reaches (e.g. elements of another system)
    used = np.unique(np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()]))
    return node_table.loc[used], edges


def _place(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, placed: Origin) -> None:
    """Move the tables' local coordinates and heights to the map, in place."""
    for table in (nodes, edges):
        moved = shapely.transform(table.geometry.to_numpy(), placed.move)
        table[table.geometry.name] = gpd.GeoSeries(moved, index=table.index, crs=table.crs)
    for table, column in ((nodes, "z_m"), (edges, "z_start_m"), (edges, "z_end_m")):
        table[column] = table[column] + placed.z


def _dedupe(points: list[np.ndarray]) -> np.ndarray:
    out = [points[0]]
    for p in points[1:]:
        if not np.allclose(p, out[-1], rtol=0, atol=1e-9):
            out.append(p)
    if len(out) == 1:
        out.append(out[0])
    return np.array(out)


def read_ifc_network(
    path: str | os.PathLike[str],
    *,
    kind: str = "sewer",
    crs: Any = None,
    match_distance_m: float = 2.0,
    origin: Sequence[float] | None = None,
) -> Network:
    """Read the distribution system of ``kind`` in an IFC file as a :class:`~cimkit.network.graph.Network`.

    Parameters
    ----------
    path
        An IFC file (IFC4X3_ADD2, IFC4 or IFC2X3).
    kind
        ``water``, ``sewer`` (pipe segments) or ``power`` (cable segments).
    crs
        CRS assigned to the coordinates (no reprojection); None leaves the network local. The
        coordinates must lie inside the CRS's area of use, else
        :class:`~cimkit.errors.PlacementError` (accept with ``cimkit.set_options(placement="accept")``).
    match_distance_m
        Largest 2-D distance in metres between a segment end without a connected port and the
        node element it is attached to.
    origin
        ``(x, y[, z, rotation_deg])``: places local coordinates on the map. The file's (0, 0)
        goes to ``(x, y)`` in ``crs``, the coordinates are turned ``rotation_deg``
        counter-clockwise, unscaled (taken as ``crs`` units), and ``z`` (default 0) is added
        to ``z_m``, ``z_start_m`` and ``z_end_m``. Needs ``crs``; recorded in the provenance
        step ``place``.

    Returns
    -------
    Network
        ``network.nodes`` indexed by ``node_id`` with ``global_id`` (None for created
        junctions), ``ifc_class``, ``name``, ``tag``, ``predefined_type``, ``z_m``, ``degree``,
        ``component``; ``network.edges`` indexed by ``edge_id`` with ``u``, ``v``,
        ``global_id``, ``ifc_class``, ``name``, ``tag``, ``length_m``, ``diameter_mm`` (outer,
        from a circular profile), ``material``, ``z_start_m``, ``z_end_m``, ``connected_by``
        (ports / geometry / mixed), ``flow_direction_known``. ``network.report`` holds the
        component and dangle counts, ``segments`` and ``connected_by`` (segment counts by how
        their ends were found).

    Raises
    ------
    ValidationError
        ``kind`` is not water, sewer or power.
    NetworkError
        The file holds no segment of that kind.
    FileFormatError, UnsupportedSchemaError
        Not a readable IFC file, or a draft IFC4X3 schema.
    PlacementError
        The coordinates fall outside the area of use of ``crs`` (local coordinates: pass
        ``origin=``); accept with ``cimkit.set_options(placement="accept")``.
    GeoreferenceError
        ``origin`` without ``crs``, or an ``origin`` that is not 2 or 4 finite numbers.

    Examples
    --------
    Two pipes between three chambers, connected by their axis end points (no ports):

    >>> import tempfile
    >>> from pathlib import Path
    >>> import ifcopenshell.api.root, ifcopenshell.api.unit, ifcopenshell.api.project
    >>> import ifcopenshell.api.context, ifcopenshell.api.geometry
    >>> f = ifcopenshell.api.project.create_file(version="IFC4")
    >>> _ = ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="drains")
    >>> _ = ifcopenshell.api.unit.assign_unit(f, length={"is_metric": True, "raw": "METRE"})
    >>> axis = ifcopenshell.api.context.add_context(
    ...     f, context_type="Model", context_identifier="Axis", target_view="GRAPH_VIEW",
    ...     parent=ifcopenshell.api.context.add_context(f, context_type="Model"))
    >>> def place(element, x, y):
    ...     matrix = np.eye(4)
    ...     matrix[:2, 3] = (x, y)
    ...     ifcopenshell.api.geometry.edit_object_placement(f, product=element, matrix=matrix)
    >>> for name, x, y in [("A", 0, 0), ("B", 30, 0), ("C", 30, 40)]:
    ...     place(ifcopenshell.api.root.create_entity(
    ...         f, ifc_class="IfcDistributionChamberElement", name=name), x, y)
    >>> for name, start, end in [("AB", (0.5, 0.0), (29.5, 0.0)), ("BC", (30.0, 0.5), (30.0, 39.5))]:
    ...     pipe = ifcopenshell.api.root.create_entity(f, ifc_class="IfcPipeSegment", name=name)
    ...     place(pipe, 0, 0)
    ...     line = f.createIfcPolyline([f.createIfcCartesianPoint(start), f.createIfcCartesianPoint(end)])
    ...     ifcopenshell.api.geometry.assign_representation(
    ...         f, product=pipe, representation=f.createIfcShapeRepresentation(axis, "Axis", "Curve2D", [line]))
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "drains.ifc"
    >>> f.write(str(path))
    >>> network = read_ifc_network(path, kind="water")  # local coordinates: no CRS assigned
    >>> network
    <Network water: 3 nodes, 2 edges, 0.07 km (no CRS)>
    >>> network.edges[["name", "length_m", "connected_by"]].values.tolist()
    [['AB', 29.0, 'geometry'], ['BC', 39.0, 'geometry']]
    >>> network.nodes["degree"].tolist()
    [1, 2, 1]

    The same chambers placed in Lambert-93, the file's x axis turned to the north:

    >>> placed = read_ifc_network(path, kind="water", crs="EPSG:2154", origin=(652000, 6861000, 0, 90))
    >>> [tuple(round(v, 6) for v in p.coords[0]) for p in placed.nodes.geometry]
    [(652000.0, 6861000.0), (652000.0, 6861030.0), (651960.0, 6861030.0)]
    >>> folder.cleanup()
    """
    import ifcopenshell.util.unit as unit

    if kind not in _SEGMENTS:
        raise ValidationError(
            f"'kind' must be one of water, sewer, power for an IFC file; {kind!r} was given."
        )
    path = Path(path)
    target = resolve_crs(crs, path=path)
    placed = None if origin is None else parse_origin(origin, target, path, allow_z=True)
    model = _open(path)
    scale = float(unit.calculate_unit_scale(model))
    segment_classes = _SEGMENTS[kind]
    segments = [e for cls in segment_classes for e in model.by_type(cls)]
    if not segments:
        raise NetworkError(
            f"no {' / '.join(segment_classes)} in the file",
            path=path,
            hint=f"a {kind} network needs {' or '.join(segment_classes)} elements.",
        )
    node_builder = _Nodes(model, scale, match_distance_m)
    all_rows = [_edge_row(seg, node_builder, scale) for seg in segments]
    rows = [row for row in all_rows if row is not None]
    skipped = [seg.GlobalId for seg, row in zip(segments, all_rows, strict=True) if row is None]
    if not rows:
        raise NetworkError(
            f"none of the {len(segments)} segment(s) has two ports or an axis to place it",
            path=path,
            entity=skipped[:5],
            code="NET001",
            hint="export the segments with their ports or an 'Axis' representation.",
        )
    if skipped:
        warnings.warn(
            RepairWarning(
                f"{os.fspath(path)}: {len(skipped)} of {len(segments)} segment(s) have neither two ports "
                f"nor an axis and were left out of the network (first: {skipped[:3]}; counted in "
                "network.report['segments_skipped'] and the provenance)",
                code="NET101",
            ),
            stacklevel=2,
        )
    nodes, edges = _tables(node_builder, rows, target)
    if placed is not None:
        _place(nodes, edges, placed)
    report = summarise_topology(nodes, edges)
    nodes["degree"] = report.pop("degree")
    nodes["component"] = report.pop("component")
    report["segments"] = len(edges)
    report["segments_skipped"] = len(skipped)
    report["connected_by"] = edges["connected_by"].value_counts().to_dict()
    network = Network(nodes, edges, kind=kind, report=report)
    record = provenance.record_for_files(path, reader="cimkit.read_ifc_network", libraries=["ifcopenshell"])
    record.add_step(
        "ifc_network",
        "segments as edges between distribution elements, by port connections then geometry",
        segments=len(edges),
        connected_by=report["connected_by"],
        crs_assigned=None if target is None else crs_label(target),
    )
    if skipped:
        record.add_step(
            "skip_segments",
            "segments without two ports or an axis left out",
            count=len(skipped),
            of=len(segments),
        )
    if placed is not None:
        record.add_step(
            "place", "local coordinates placed by origin=", origin=[float(v) for v in origin or ()]
        )
    for obj in (network, network.nodes, network.edges):
        provenance.attach(obj, record)
    check_object_placement(network, path=path, layer=f"network_{kind}", record=record)
    return network
