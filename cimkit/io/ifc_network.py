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
unless ``crs=`` is given, which *assigns* that CRS.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.errors import (
    CimkitIOError,
    FileFormatError,
    NetworkError,
    UnsupportedSchemaError,
    ValidationError,
)

__all__ = ["ifc_network", "read_ifc_network"]

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


def read_ifc_network(
    path: str | os.PathLike[str],
    *,
    kind: str = "sewer",
    crs: Any = None,
    match_distance_m: float = 2.0,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and edges of the distribution system of ``kind`` in an IFC file.

    Parameters
    ----------
    path
        An IFC file (IFC4X3_ADD2, IFC4 or IFC2X3).
    kind
        ``water``, ``sewer`` (pipe segments) or ``power`` (cable segments).
    crs
        CRS assigned to the coordinates (no reprojection); None leaves the network local.
    match_distance_m
        Largest 2-D distance in metres between a segment end without a connected port and the
        node element it is attached to.

    Returns
    -------
    nodes, edges
        ``nodes`` indexed by ``node_id`` with ``global_id`` (None for created junctions),
        ``ifc_class``, ``name``, ``tag``, ``predefined_type``, ``z_m``; ``edges`` indexed by
        ``edge_id`` with ``u``, ``v``, ``global_id``, ``ifc_class``, ``name``, ``tag``,
        ``length_m``, ``diameter_mm`` (outer, from a circular profile), ``material``,
        ``z_start_m``, ``z_end_m``, ``connected_by`` (ports / geometry / mixed),
        ``flow_direction_known``.
    """
    import ifcopenshell.util.placement as placement
    import ifcopenshell.util.system as system
    import ifcopenshell.util.unit as unit

    if kind not in _SEGMENTS:
        raise ValidationError(
            f"'kind' must be one of water, sewer, power for an IFC file; {kind!r} was given."
        )
    path = Path(path)
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
    node_elements = [
        e
        for e in model.by_type("IfcDistributionElement")
        if not e.is_a("IfcFlowSegment") and not e.is_a("IfcDistributionPort")
    ]
    # node table: element nodes first
    node_rows: list[dict[str, Any]] = []
    node_xyz: list[np.ndarray] = []
    node_of_element: dict[int, int] = {}
    for e in node_elements:
        if e.ObjectPlacement is None:
            continue
        node_of_element[e.id()] = len(node_rows)
        node_xyz.append(_position(placement.get_local_placement(e.ObjectPlacement), scale))
        node_rows.append(
            {
                "global_id": e.GlobalId,
                "ifc_class": e.is_a(),
                "name": e.Name,
                "tag": getattr(e, "Tag", None),
                "predefined_type": getattr(e, "PredefinedType", None),
            }
        )
    element_xy = np.array([p[:2] for p in node_xyz]).reshape(-1, 2)
    joint_nodes: dict[frozenset, int] = {}

    def new_node(xyz: np.ndarray, label: str) -> int:
        node_xyz.append(xyz)
        node_rows.append(
            {"global_id": None, "ifc_class": label, "name": None, "tag": None, "predefined_type": None}
        )
        return len(node_rows) - 1

    def geometric_node(xyz: np.ndarray) -> int:
        if len(element_xy):
            d = np.hypot(*(element_xy - xyz[:2]).T)
            best = int(np.argmin(d))
            if d[best] <= match_distance_m:
                return best
        return new_node(xyz, "junction")

    edge_rows: list[dict[str, Any]] = []
    for seg in segments:
        ports = list(system.get_ports(seg))
        ends: list[tuple[np.ndarray, Any]] = []  # (xyz, port or None)
        for port in ports:
            if port.ObjectPlacement is not None:
                ends.append((_position(placement.get_local_placement(port.ObjectPlacement), scale), port))
        if len(ends) != 2:
            axis = _axis_ends(seg, scale)
            if axis is None:
                logger.warning("%s %s has neither two ports nor an axis; skipped", seg.is_a(), seg.GlobalId)
                continue
            ends = [(axis[0], None), (axis[1], None)]
        direction_known = all(p is not None for _, p in ends) and {p.FlowDirection for _, p in ends} == {
            "SINK",
            "SOURCE",
        }
        if direction_known and ends[0][1].FlowDirection == "SOURCE":
            ends = [ends[1], ends[0]]
        end_nodes = []
        how = []
        for xyz, port in ends:
            other = system.get_connected_port(port) if port is not None else None
            owner = system.get_port_element(other) if other is not None else None
            if owner is not None and owner.id() in node_of_element:
                end_nodes.append(node_of_element[owner.id()])
                how.append("ports")
            elif owner is not None and other is not None and owner.is_a("IfcFlowSegment"):
                key = frozenset((port.id(), other.id()))
                if key not in joint_nodes:
                    joint_nodes[key] = new_node(xyz, "joint")
                end_nodes.append(joint_nodes[key])
                how.append("ports")
            else:
                end_nodes.append(geometric_node(xyz))
                how.append("geometry")
        diameter, material = _profile_diameter_mm(seg, scale)
        (a, _), (b, _) = ends
        edge_rows.append(
            {
                "u": end_nodes[0],
                "v": end_nodes[1],
                "global_id": seg.GlobalId,
                "ifc_class": seg.is_a(),
                "name": seg.Name,
                "tag": getattr(seg, "Tag", None),
                "length_m": float(np.linalg.norm(b - a)),
                "diameter_mm": diameter,
                "material": material,
                "z_start_m": float(a[2]),
                "z_end_m": float(b[2]),
                "connected_by": how[0] if how[0] == how[1] else "mixed",
                "flow_direction_known": bool(direction_known),
                "_a": a[:2],
                "_b": b[:2],
            }
        )
    xyz = np.array(node_xyz).reshape(-1, 3)
    nodes = gpd.GeoDataFrame(
        pd.DataFrame(node_rows, index=pd.Index(np.arange(len(node_rows), dtype="int64"), name="node_id")),
        geometry=shapely.points(xyz[:, :2]),
        crs=crs,
    )
    nodes["z_m"] = xyz[:, 2]
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
    nodes = nodes.loc[used]
    return nodes, edges


def _dedupe(points: list[np.ndarray]) -> np.ndarray:
    out = [points[0]]
    for p in points[1:]:
        if not np.allclose(p, out[-1], rtol=0, atol=1e-9):
            out.append(p)
    if len(out) == 1:
        out.append(out[0])
    return np.array(out)


def ifc_network(
    path: str | os.PathLike[str], *, kind: str = "sewer", crs: Any = None, match_distance_m: float = 2.0
) -> Any:
    """A :class:`~cimkit.network.graph.Network` from the distribution elements of an IFC file.

    See :func:`read_ifc_network`; ``network.report`` adds component and dangle counts and how
    many segment ends were connected by ports and by geometry.
    """
    from cimkit.network.graph import Network
    from cimkit.network.topology import network_report

    nodes, edges = read_ifc_network(path, kind=kind, crs=crs, match_distance_m=match_distance_m)
    report = network_report(nodes, edges)
    nodes["degree"] = report.pop("_degree")
    nodes["component"] = report.pop("_component")
    report["segments"] = len(edges)
    report["connected_by"] = edges["connected_by"].value_counts().to_dict()
    return Network(nodes, edges, kind=kind, report=report)
