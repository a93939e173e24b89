"""EPANET 2 ``.inp`` files: water distribution networks as a :class:`~cimkit.network.graph.Network`.

A small parser of its own (no EPANET toolkit needed) reads the sections that describe the
network's shape and sizes: ``[JUNCTIONS] [RESERVOIRS] [TANKS] [PIPES] [PUMPS] [VALVES]
[DEMANDS] [STATUS] [COORDINATES] [VERTICES] [OPTIONS]``. Other sections (patterns, curves,
controls, quality ...) are skipped: cimkit does not run hydraulics.

Units
-----
EPANET derives its unit system from the flow unit in ``[OPTIONS] Units`` (EPANET 2.2 manual,
"Units of Measurement"): with US flow units (CFS, GPM, MGD, IMGD, AFD) lengths and elevations
are in feet and diameters in inches; with SI flow units (LPS, LPM, MLD, CMH, CMD) they are in
metres and millimetres. cimkit converts to metres (1 ft = 0.3048 m) and millimetres
(1 in = 25.4 mm). Demands keep the file's flow unit in ``demand`` and are converted to litres per
second in ``demand_lps``. Without a ``Units`` line EPANET assumes GPM, and so does cimkit.

Coordinates
-----------
EPANET coordinates are usually schematic or in an unnamed local system. The network keeps them
as they are with no CRS; ``crs=`` *assigns* a CRS to them (it does not reproject), for files
whose coordinates are known to be map coordinates. Local coordinates given a projected CRS
(values near its (0, 0), outside its area of use) raise :class:`~cimkit.errors.PlacementError`:
place them with ``origin=(x, y[, z, rotation_deg])``, the map position of the file's (0, 0).
A node without coordinates is an error.

Lengths
-------
Pipe ``length_m`` is the length written in the file (converted), not the drawn length. Pumps and
valves have ``length_m = 0`` (they are points in the hydraulic model); their geometry is the
straight line between their end nodes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit import provenance
from cimkit._crs import crs_label, resolve_crs
from cimkit._placement import check_object_placement
from cimkit.errors import FileFormatError
from cimkit.io._epanet_sections import (
    Row,
    Sections,
    need_fields,
    node_ref,
    parse_number,
    split_sections,
    unique_id,
)
from cimkit.io._origin import parse_origin
from cimkit.network.graph import Network, summarise_topology

__all__ = ["FLOW_UNITS_LPS", "US_FLOW_UNITS", "read_epanet"]

logger = logging.getLogger(__name__)

#: Litres per second in one unit of each EPANET flow unit (US gallon = 3.785411784 L,
#: imperial gallon = 4.54609 L, acre-foot = 1233.48184 m3, cubic foot = 28.316846592 L).
FLOW_UNITS_LPS: dict[str, float] = {
    "CFS": 28.316846592,
    "GPM": 3.785411784 / 60.0,
    "MGD": 3.785411784e6 / 86400.0,
    "IMGD": 4.54609e6 / 86400.0,
    "AFD": 1233.48183754752e3 / 86400.0,
    "LPS": 1.0,
    "LPM": 1.0 / 60.0,
    "MLD": 1e6 / 86400.0,
    "CMH": 1000.0 / 3600.0,
    "CMD": 1000.0 / 86400.0,
}
US_FLOW_UNITS = frozenset({"CFS", "GPM", "MGD", "IMGD", "AFD"})
_FT = 0.3048
_IN_MM = 25.4

_VALVE_TYPES = {"PRV", "PSV", "PBV", "FCV", "TCV", "GPV", "PCV"}


@dataclass(frozen=True)
class _Units:
    """The unit system of a file, from ``[OPTIONS] Units`` (EPANET 2.2 manual, Units of Measurement)."""

    flow_units: str
    headloss: str
    to_m: float
    to_mm: float
    to_lps: float


def _units(sections: Sections, path: Path) -> _Units:
    options = {}
    for row in sections.get("OPTIONS"):
        key = row.fields[0].upper()
        if key in ("SPECIFIC", "DEMAND", "EMITTER"):  # two-word keys this reader does not use
            continue
        options[key] = row.fields[1].upper() if len(row.fields) > 1 else ""
    flow_units = options.get("UNITS", "GPM")
    if flow_units not in FLOW_UNITS_LPS:
        row = next(r for r in sections.get("OPTIONS") if r.fields[0].upper() == "UNITS")
        raise FileFormatError(
            f"unknown flow unit {flow_units!r}",
            path=path,
            line=row.line,
            code="NET005",
            hint=f"use one of {', '.join(FLOW_UNITS_LPS)}.",
        )
    us = flow_units in US_FLOW_UNITS
    return _Units(
        flow_units=flow_units,
        headloss=options.get("HEADLOSS", "H-W"),
        to_m=_FT if us else 1.0,
        to_mm=_IN_MM if us else 1.0,
        to_lps=FLOW_UNITS_LPS[flow_units],
    )


def _node_records(
    sections: Sections, units: _Units, path: Path
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Junctions, reservoirs and tanks in file order, and their position by EPANET id."""
    records: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    to_m = units.to_m

    def add_node(row: Row, record: dict[str, Any]) -> None:
        name = unique_id(row, seen, "node", "junctions, reservoirs and tanks", path)
        seen[name] = len(records)
        records.append({"epanet_id": name, **record, "_line": row.line})

    for row in sections.get("JUNCTIONS"):
        need_fields(row, 2, "junction", path)
        demand = parse_number(row, 2, "base demand", path, default=0.0)
        add_node(
            row,
            {
                "node_type": "junction",
                "elevation_m": parse_number(row, 1, "elevation", path) * to_m,
                "demand": demand,
            },
        )
    for row in sections.get("RESERVOIRS"):
        need_fields(row, 2, "reservoir", path)
        head = parse_number(row, 1, "head", path) * to_m
        add_node(row, {"node_type": "reservoir", "elevation_m": head, "head_m": head, "demand": 0.0})
    for row in sections.get("TANKS"):
        need_fields(row, 6, "tank", path)
        add_node(
            row,
            {
                "node_type": "tank",
                "elevation_m": parse_number(row, 1, "elevation", path) * to_m,
                "init_level_m": parse_number(row, 2, "initial level", path) * to_m,
                "min_level_m": parse_number(row, 3, "minimum level", path) * to_m,
                "max_level_m": parse_number(row, 4, "maximum level", path) * to_m,
                "tank_diameter_m": parse_number(row, 5, "diameter", path) * to_m,
                "demand": 0.0,
            },
        )
    # [DEMANDS]: the sum of a junction's demand categories replaces its [JUNCTIONS] demand
    demand_sums: dict[str, float] = {}
    for row in sections.get("DEMANDS"):
        need_fields(row, 2, "demand", path)
        node_ref(row, 0, seen, path)
        demand_sums[row.fields[0]] = demand_sums.get(row.fields[0], 0.0) + parse_number(
            row, 1, "demand", path
        )
    for name, total in demand_sums.items():
        records[seen[name]]["demand"] = total
    return records, seen


def _link_records(
    sections: Sections, seen: dict[str, int], units: _Units, path: Path
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Pipes, pumps and valves in file order (statuses of ``[STATUS]`` applied), by EPANET id."""
    links: list[dict[str, Any]] = []
    link_seen: dict[str, int] = {}

    def add_link(row: Row, record: dict[str, Any]) -> None:
        name = unique_id(row, link_seen, "link", "pipes, pumps and valves", path)
        link_seen[name] = len(links)
        links.append(
            {
                "epanet_id": name,
                "u": node_ref(row, 1, seen, path),
                "v": node_ref(row, 2, seen, path),
                **record,
            }
        )

    for row in sections.get("PIPES"):
        need_fields(row, 6, "pipe", path)
        status = row.fields[7].lower() if len(row.fields) > 7 else "open"
        add_link(
            row,
            {
                "link_type": "pipe",
                "length_m": parse_number(row, 3, "length", path) * units.to_m,
                "diameter_mm": parse_number(row, 4, "diameter", path) * units.to_mm,
                "roughness": parse_number(row, 5, "roughness", path),
                "minor_loss": parse_number(row, 6, "minor loss", path, default=0.0),
                "status": status,
            },
        )
    for row in sections.get("PUMPS"):
        need_fields(row, 3, "pump", path)
        add_link(
            row,
            {
                "link_type": "pump",
                "length_m": 0.0,
                "status": "open",
                "pump_parameters": " ".join(row.fields[3:]),
            },
        )
    for row in sections.get("VALVES"):
        need_fields(row, 6, "valve", path)
        valve_type = row.fields[4].upper()
        if valve_type not in _VALVE_TYPES:
            raise FileFormatError(
                f"unknown valve type {row.fields[4]!r}",
                path=path,
                line=row.line,
                code="NET005",
                entity=row.fields[0],
                hint=f"use one of {', '.join(sorted(_VALVE_TYPES))}.",
            )
        add_link(
            row,
            {
                "link_type": "valve",
                "length_m": 0.0,
                "diameter_mm": parse_number(row, 3, "diameter", path) * units.to_mm,
                "valve_type": valve_type,
                "valve_setting": row.fields[5],
                "minor_loss": parse_number(row, 6, "minor loss", path, default=0.0),
                "status": "active",
            },
        )
    _apply_status(sections, links, link_seen, path)
    return links, link_seen


def _apply_status(
    sections: Sections, links: list[dict[str, Any]], link_seen: dict[str, int], path: Path
) -> None:
    for row in sections.get("STATUS"):
        need_fields(row, 2, "status", path)
        name = row.fields[0]
        if name not in link_seen:
            raise FileFormatError(
                f"[STATUS] names link {name!r}, which is not defined",
                path=path,
                line=row.line,
                code="NET002",
                entity=name,
                hint="define the link in [PIPES], [PUMPS] or [VALVES].",
            )
        link = links[link_seen[name]]
        word = row.fields[1].lower()
        if word in ("open", "closed", "cv"):
            link["status"] = word
        # a number is a pump speed or valve setting, not a status: keep it as the setting
        elif link["link_type"] == "valve":
            link["valve_setting"] = row.fields[1]


def _coordinates(
    sections: Sections, records: list[dict[str, Any]], seen: dict[str, int], path: Path
) -> np.ndarray:
    """Node x, y from ``[COORDINATES]``; a node without a row is an error naming it."""
    xy = np.full((len(records), 2), np.nan)
    for row in sections.get("COORDINATES"):
        need_fields(row, 3, "coordinates", path)
        node = node_ref(row, 0, seen, path)
        xy[node] = (parse_number(row, 1, "x coordinate", path), parse_number(row, 2, "y coordinate", path))
    missing = np.flatnonzero(np.isnan(xy[:, 0]))
    if len(missing):
        first = records[missing[0]]
        where = (
            "no [COORDINATES] row"
            if "COORDINATES" in sections.rows
            else "no coordinates (no [COORDINATES] section)"
        )
        raise FileFormatError(
            f"{len(missing)} of {len(records)} node(s) have {where} (first: {first['epanet_id']!r}); "
            "cimkit never invents positions",
            path=path,
            line=first["_line"],
            entity=first["epanet_id"],
            code="NET004",
            hint="add x y coordinates for every node; EPANET's editor writes them when you save.",
        )
    return xy


def _link_vertices(
    sections: Sections, link_seen: dict[str, int], path: Path
) -> dict[str, list[tuple[float, float]]]:
    vertices: dict[str, list[tuple[float, float]]] = {}
    for row in sections.get("VERTICES"):
        need_fields(row, 3, "vertex", path)
        name = row.fields[0]
        if name not in link_seen:
            raise FileFormatError(
                f"[VERTICES] names link {name!r}, which is not defined",
                path=path,
                line=row.line,
                code="NET002",
                entity=name,
            )
        vertices.setdefault(name, []).append(
            (parse_number(row, 1, "x coordinate", path), parse_number(row, 2, "y coordinate", path))
        )
    return vertices


def _nodes_frame(records: list[dict[str, Any]], xy: np.ndarray, units: _Units, crs: Any) -> gpd.GeoDataFrame:
    nodes = pd.DataFrame.from_records(records).drop(columns="_line")
    nodes["demand_lps"] = nodes["demand"] * units.to_lps
    for col in ("head_m", "init_level_m", "min_level_m", "max_level_m", "tank_diameter_m"):
        if col not in nodes.columns:
            nodes[col] = np.nan
    nodes.index = pd.Index(np.arange(len(nodes), dtype="int64"), name="node_id")
    return gpd.GeoDataFrame(nodes, geometry=shapely.points(xy), crs=crs)


def _links_frame(
    links: list[dict[str, Any]], xy: np.ndarray, vertices: dict[str, list[tuple[float, float]]], crs: Any
) -> gpd.GeoDataFrame:
    if links:
        frame = pd.DataFrame.from_records(links)
    else:
        frame = pd.DataFrame(columns=["epanet_id", "u", "v", "link_type", "length_m", "status"])
    for col in ("diameter_mm", "roughness", "minor_loss"):
        frame[col] = frame[col].astype("float64") if col in frame.columns else np.nan
    for col in ("valve_type", "valve_setting", "pump_parameters"):
        if col not in frame.columns:
            frame[col] = None
    frame["u"] = frame["u"].astype("int64")
    frame["v"] = frame["v"].astype("int64")
    frame["length_m"] = frame["length_m"].astype("float64")
    geoms = [
        shapely.linestrings([xy[u], *vertices.get(name, []), xy[v]])
        for name, u, v in zip(frame["epanet_id"], frame["u"], frame["v"])
    ]
    frame.index = pd.Index(np.arange(len(frame), dtype="int64"), name="edge_id")
    frame["oneway"] = frame["link_type"].isin(["pump", "valve"]) | (frame["status"] == "cv")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=crs)


def read_epanet(
    path: str | os.PathLike[str], *, crs: Any = None, origin: Sequence[float] | None = None
) -> Network:
    r"""Read an EPANET 2 ``.inp`` file as a water :class:`~cimkit.network.graph.Network`.

    EPANET declares its topology (every link names its two end nodes), so the network is built
    from the file's nodes and links as they are: no snapping, no splitting.

    Parameters
    ----------
    path
        The ``.inp`` file.
    crs
        CRS to assign to the coordinates (not a reprojection); None keeps them local
        (EPANET coordinates are usually schematic). The coordinates must then lie inside the
        CRS's area of use, else :class:`~cimkit.errors.PlacementError`.
    origin
        ``(x, y[, z, rotation_deg])``: places local coordinates on the map. The file's (0, 0)
        goes to ``(x, y)`` in ``crs`` and the coordinates are turned ``rotation_deg``
        counter-clockwise, unscaled (taken as ``crs`` units). ``z`` must be 0: EPANET
        elevations are kept as written. Needs ``crs``.

    Returns
    -------
    Network
        ``kind="water"``. ``network.nodes`` indexed by ``node_id`` (int64, file order:
        junctions, reservoirs, tanks) with ``epanet_id``, ``node_type`` (junction / reservoir /
        tank), ``elevation_m`` (reservoirs: their total head), ``demand`` (file flow unit),
        ``demand_lps``, ``head_m`` (reservoirs), ``init_level_m``, ``min_level_m``,
        ``max_level_m``, ``tank_diameter_m`` (tanks), ``degree``, ``component``.
        ``network.edges`` indexed by ``edge_id`` with ``u``, ``v`` (node ids), ``epanet_id``,
        ``link_type`` (pipe / pump / valve), ``length_m`` (the length written in the file),
        ``diameter_mm``, ``roughness`` (unit of the headloss formula), ``minor_loss``,
        ``status`` (open / closed / cv / active), ``valve_type``, ``valve_setting``,
        ``pump_parameters``, ``oneway`` (pumps, valves and check valves). ``attrs`` of both
        tables hold ``flow_units`` and ``headloss``. ``network.report`` holds the component and
        dangle counts, ``flow_units``, the counts of each node and link type and
        ``pipe_length_m``.

    Raises
    ------
    FileFormatError
        With the line number and a stable code: an unknown node or link (``NET002``), an id
        defined twice (``NET003``), nodes without coordinates (``NET004``: a missing
        ``[COORDINATES]`` section or missing rows), a malformed number, field or section
        (``NET005``).
    ResourceLimitError
        The file passes ``max_input_mb``.
    CRSError
        ``crs`` is not a CRS pyproj understands.
    PlacementError
        The coordinates fall outside the area of use of ``crs`` (local coordinates: pass
        ``origin=``); accept with ``cimkit.set_options(placement="accept")``.
    GeoreferenceError
        ``origin`` without ``crs``, or an ``origin`` that is not 2 or 4 finite numbers with z = 0.

    Examples
    --------
    A two-pipe metric network (flow in litres per second, so lengths in metres):

    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "tiny.inp"
    >>> _ = path.write_text(
    ...     "[JUNCTIONS]\n J1 12.5 2.0\n J2 10 0.5\n[RESERVOIRS]\n R1 40\n"
    ...     "[PIPES]\n P1 R1 J1 120.5 150 0.1 0\n P2 J1 J2 80 100 0.1 0\n"
    ...     "[OPTIONS]\n Units LPS\n"
    ...     "[COORDINATES]\n J1 0 0\n J2 80 0\n R1 -120.5 0\n[END]\n"
    ... )
    >>> network = read_epanet(path, crs="EPSG:2154", origin=(652000, 6861000))
    >>> network, network.nodes.geometry.iloc[1].coords[0]
    (<Network water: 3 nodes, 2 edges, 0.20 km (EPSG:2154)>, (652080.0, 6861000.0))
    >>> network.nodes.set_index("epanet_id")["demand_lps"].to_dict()
    {'J1': 2.0, 'J2': 0.5, 'R1': 0.0}
    >>> network.report["components"], network.report["pipe_length_m"]
    (1, 200.5)
    >>> folder.cleanup()
    """
    path = Path(path)
    target = resolve_crs(crs, path=path)
    sections = split_sections(path)
    units = _units(sections, path)
    records, seen = _node_records(sections, units, path)
    links, link_seen = _link_records(sections, seen, units, path)
    xy = _coordinates(sections, records, seen, path)
    vertices = _link_vertices(sections, link_seen, path)
    if origin is not None:
        xy, vertices = _origin_transform(origin, target, path)(xy, vertices)
    nodes = _nodes_frame(records, xy, units, target)
    edges = _links_frame(links, xy, vertices, target)
    for table in (nodes, edges):
        table.attrs["flow_units"] = units.flow_units
        table.attrs["headloss"] = units.headloss
    logger.info("%s: %d nodes, %d links (%s)", path.name, len(nodes), len(edges), units.flow_units)
    report = summarise_topology(nodes, edges)
    nodes["degree"] = report.pop("degree")
    nodes["component"] = report.pop("component")
    report.update(
        {
            "flow_units": units.flow_units,
            "junctions": int((nodes["node_type"] == "junction").sum()),
            "reservoirs": int((nodes["node_type"] == "reservoir").sum()),
            "tanks": int((nodes["node_type"] == "tank").sum()),
            "pipes": int((edges["link_type"] == "pipe").sum()),
            "pumps": int((edges["link_type"] == "pump").sum()),
            "valves": int((edges["link_type"] == "valve").sum()),
            "pipe_length_m": float(edges.loc[edges["link_type"] == "pipe", "length_m"].sum()),
        }
    )
    network = Network(nodes, edges, kind="water", report=report)
    record = provenance.record_for_files(path, reader="cimkit.read_epanet")
    record.add_step(
        "epanet",
        "nodes and links from the .inp sections; lengths, elevations and diameters in metres / mm",
        flow_units=units.flow_units,
        crs_assigned=None if target is None else crs_label(target),
    )
    if origin is not None:
        record.add_step("place", "local coordinates placed by origin=", origin=[float(v) for v in origin])
    for obj in (network, network.nodes, network.edges):
        provenance.attach(obj, record)
    check_object_placement(network, path=path, layer="network_water", record=record)
    return network


def _origin_transform(origin: Sequence[float], crs: Any, path: Path) -> Any:
    """Return the function moving local (x, y) to the map by ``origin=(x, y[, z, rotation_deg])``."""
    placed = parse_origin(
        origin, crs, path, allow_z=False, z_hint="EPANET elevations are kept as written, so z must be 0"
    )

    def place(xy: np.ndarray, vertices: dict[str, list[tuple[float, float]]]) -> tuple[np.ndarray, dict]:
        moved = {
            k: list(map(tuple, placed.move(np.asarray(v, dtype=float)).tolist())) for k, v in vertices.items()
        }
        return placed.move(xy), moved

    return place
