"""Network topology from lines: snapping, splitting, duplicate removal, components and dangles.

:func:`build_network` turns a GeoDataFrame of (Multi)LineStrings in a metric CRS into a
:class:`~cimkit.network.graph.Network`. It works on whole coordinate arrays (shapely 2, numpy,
``scipy.spatial.cKDTree``) so that a network of a few hundred thousand nodes builds in seconds.

The rules, in the order they are applied
----------------------------------------
1. **Clean-up.** Lines with a NaN or infinite coordinate are refused
   (:class:`~cimkit.errors.GeometryError`, ``NET006``). Lines without geometry (null or empty)
   are left out with a :class:`~cimkit.errors.RepairWarning` (``NET101``) and counted in
   ``report["null_geometries_dropped"]`` (and, through :func:`cimkit.read_network`, in the
   provenance). MultiLineStrings are exploded into their parts; empty parts and repeated
   consecutive vertices are dropped; Z is ignored (topology is planar, lengths are 2-D).
2. **Endpoint to endpoint snapping.** Line endpoints closer than ``snap_tolerance_m`` to each
   other are merged into one point: the member position shared by most vertices of all lines (so
   an existing junction, or an end already lying on another line's vertex, stays put and only the
   stray ends move), the first one on ties. Groups are
   the connected components of the "closer than tolerance" relation, so a chain of endpoints each
   within tolerance of the next becomes one point: keep the tolerance small (decimetres) compared
   with street lengths.
3. **Endpoint to vertex snapping.** An endpoint that coincides with no other endpoint and lies within
   the tolerance of an interior vertex of *another* line moves onto that vertex (the nearest one).
4. **Endpoint to segment snapping.** An endpoint that still touches nothing (a dangle) and lies
   within the tolerance of a segment of another line moves onto the nearest point of that segment,
   and that point is inserted into the other line as a new vertex (a street drawn a little short of
   the street it joins becomes a T-junction).
5. **Splitting.** A node is placed at every line endpoint and at every interior vertex whose exact
   coordinates occur more than once among all vertices (a vertex shared by two lines, an endpoint
   of one line lying on a vertex of another, or a line that touches itself). Lines are split at
   their nodes; each piece is an edge. **Lines that cross without a shared vertex are not split**
   (bridges, tunnels, pipes at different depths).
6. **Duplicates.** Zero-length pieces are dropped. Two edges whose geometries are identical
   (the same vertices, in either direction; for edges flagged ``oneway`` the direction counts)
   are duplicates; the first one is kept.
7. **Report.** Connected components (undirected) and dangles (nodes of degree 1) are counted and
   listed in ``network.report`` and in a provenance step; each node gets its ``component`` label
   and ``degree``.

With ``snap_tolerance_m=0`` only exact coincidences connect lines (steps 2-4 do nothing).
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from cimkit.errors import CRSError, GeographicCRSError, GeometryError, RepairWarning, ValidationError
from cimkit.network.graph import Network, summarise_topology

__all__ = ["build_network"]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------
# public entry points
# ----------------------------------------------------------------------------------------------
def build_network(
    lines: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    kind: str,
    snap_tolerance_m: float | None = None,
    layer: str | None = None,
) -> Network:
    """Build a :class:`Network` from lines, applying the module's topology rules.

    Parameters
    ----------
    lines
        LineStrings / MultiLineStrings in a projected CRS whose unit is the metre (or with no CRS,
        when coordinates are local metres, as for schematic EPANET or IFC models). Attribute
        columns are copied to every edge made from a line; the line's index label is kept in
        the ``source_index`` column. A boolean ``oneway`` column makes direction count when
        looking for duplicates.
    kind
        ``road``, ``water``, ``sewer`` or ``power``.
    snap_tolerance_m
        Snapping distance in metres; None takes ``cimkit.get_options()["snap_tolerance_m"]``.
    layer
        Name used in error messages.

    Returns
    -------
    Network
        Nodes (``node_id`` index, ``degree``, ``component``) and edges (``edge_id`` index, ``u``,
        ``v``, ``length_m`` planar length in metres, ``source_index`` + the line attributes), with
        ``network.report`` holding the snapping and topology counts.

    Examples
    --------
    A street drawn 0.2 m short of the street it joins becomes a T-junction (rule 4), and the
    long street is split there into two edges:

    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> from cimkit.network.topology import build_network
    >>> lines = gpd.GeoDataFrame(
    ...     {"name": ["Grande Rue", "Rue Courte"]},
    ...     geometry=[LineString([(0, 0), (100, 0)]), LineString([(50, 40), (50, 0.2)])],
    ...     crs="EPSG:2154",
    ... )
    >>> net = build_network(lines, kind="road", snap_tolerance_m=0.5)
    >>> len(net.nodes), len(net.edges), net.report["endpoints_snapped_to_line"]
    (4, 3, 1)
    >>> net.edges["length_m"].round(1).tolist(), net.report["dangles"]
    ([50.0, 50.0, 40.0], 3)
    """
    from cimkit.options import get_options

    if snap_tolerance_m is None:
        snap_tolerance_m = float(get_options()["snap_tolerance_m"])
    if not (isinstance(snap_tolerance_m, (int, float)) and snap_tolerance_m >= 0):
        raise ValidationError(f"'snap_tolerance_m' must be a number >= 0; {snap_tolerance_m!r} was given.")
    where = layer or f"{kind} lines"
    if isinstance(lines, gpd.GeoSeries):
        lines = gpd.GeoDataFrame(geometry=lines)
    if not isinstance(lines, gpd.GeoDataFrame):
        raise ValidationError(f"'lines' must be a GeoDataFrame of lines; {type(lines).__name__} was given.")
    _check_metric_crs(lines.crs, where)

    check_finite_lines(lines, where)
    parts, source_row, n_null = _explode_lines(lines, where)
    report: dict[str, Any] = {
        "input_lines": len(lines),
        "line_parts": len(parts),
        "null_geometries_dropped": n_null,
    }
    if n_null:
        warnings.warn(
            RepairWarning(
                f"{where}: {n_null} of {len(lines)} line(s) have no geometry (null or empty) and were "
                "left out of the network (counted in network.report['null_geometries_dropped'] and "
                "the provenance); drop or repair them in the source to silence this",
                code="NET101",
            ),
            stacklevel=2,
        )
    coords, line_of = _line_coordinates(parts)
    coords, line_of, snap_counts = _snap(coords, line_of, float(snap_tolerance_m))
    report.update(snap_counts)
    report["snap_tolerance_m"] = float(snap_tolerance_m)

    oneway = None
    if "oneway" in lines.columns:
        oneway = lines["oneway"].fillna(False).astype(bool).to_numpy()[source_row]
    nodes_xy, u, v, piece_geoms, piece_line, split_count = _split(coords, line_of)
    report["lines_split"] = split_count

    keep, n_zero, n_dup = _drop_degenerate_and_duplicates(
        piece_geoms, u, v, None if oneway is None else oneway[piece_line]
    )
    report["zero_length_dropped"] = n_zero
    report["duplicates_dropped"] = n_dup
    u, v, piece_geoms, piece_line = u[keep], v[keep], piece_geoms[keep], piece_line[keep]

    # keep only nodes used by an edge, renumbered 0..n-1 in coordinate order
    used = np.unique(np.concatenate([u, v]))
    remap = np.full(len(nodes_xy), -1, dtype="int64")
    remap[used] = np.arange(len(used))
    u, v = remap[u], remap[v]
    nodes_xy = nodes_xy[used]

    edges = _edge_table(lines, source_row[piece_line], u, v, piece_geoms)
    nodes = gpd.GeoDataFrame(
        geometry=gpd.GeoSeries(shapely.points(nodes_xy), crs=lines.crs),
        index=pd.Index(np.arange(len(nodes_xy), dtype="int64"), name="node_id"),
    )
    topo = summarise_topology(nodes, edges)
    nodes["degree"] = topo.pop("degree")
    nodes["component"] = topo.pop("component")
    report.update(topo)
    logger.info(
        "%s network: %d nodes, %d edges, %d component(s), %d dangle(s)",
        kind,
        len(nodes),
        len(edges),
        report["components"],
        report["dangles"],
    )
    return Network(nodes, edges, kind=kind, report=report)


def _edge_table(
    lines: gpd.GeoDataFrame, src_rows: np.ndarray, u: np.ndarray, v: np.ndarray, piece_geoms: np.ndarray
) -> gpd.GeoDataFrame:
    """Build the edges table: end nodes, planar length, source line and the line attributes."""
    attrs = lines.drop(columns=lines.geometry.name).iloc[src_rows].reset_index(drop=True)
    if "length_m" in attrs.columns:  # a length column of the input lines no longer fits the pieces
        attrs = attrs.drop(columns="length_m")
    edges = gpd.GeoDataFrame(
        {
            "u": u.astype("int64"),
            "v": v.astype("int64"),
            "length_m": shapely.length(piece_geoms).astype("float64"),
            "source_index": lines.index.to_numpy()[src_rows],
        },
        geometry=gpd.GeoSeries(piece_geoms, crs=lines.crs),
    )
    for col in attrs.columns:
        if col not in edges.columns:
            edges[col] = attrs[col].to_numpy()
    edges.index = pd.RangeIndex(len(edges)).astype("int64")
    edges.index.name = "edge_id"
    return edges


# ----------------------------------------------------------------------------------------------
# steps
# ----------------------------------------------------------------------------------------------
def _check_metric_crs(crs: Any, where: str) -> None:
    if crs is None:
        return
    try:
        crs = CRS.from_user_input(crs)
    except Exception as err:  # pyproj raises its own CRSError
        raise CRSError(f"unknown CRS {crs!r}", layer=where) from err
    if crs.is_geographic:
        raise GeographicCRSError(
            f"the lines are in a geographic CRS ({crs.to_string()}); topology needs metres",
            layer=where,
            hint="reproject first (read_network does it for you: it picks the local UTM zone).",
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise CRSError(
            f"the CRS unit is {unit!r}, not the metre",
            layer=where,
            hint="reproject to a metric projected CRS with gdf.to_crs(...).",
        )


def check_finite_lines(lines: gpd.GeoDataFrame | gpd.GeoSeries, where: str, path: Any = None) -> None:
    """Refuse lines with NaN or infinite coordinates (GEOS and pyproj would fail or misplace them)."""
    geoms = lines.geometry.to_numpy() if isinstance(lines, gpd.GeoDataFrame) else lines.to_numpy()
    coords, row = shapely.get_coordinates(geoms, return_index=True)  # x, y: z is not used
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        rows = np.unique(row[bad])
        raise GeometryError(
            f"{len(rows)} line(s) have NaN or infinite coordinates",
            path=path,
            layer=where,
            entity=lines.index[rows][:5].tolist(),
            code="NET006",
            hint="repair or drop those features in the source; a network cannot place them.",
        )


def _explode_lines(lines: gpd.GeoDataFrame, where: str) -> tuple[np.ndarray, np.ndarray, int]:
    """LineString parts, for each the row position of its source line, and the null / empty lines left out."""
    geoms = lines.geometry.to_numpy()
    missing = shapely.is_missing(geoms)
    types = shapely.get_type_id(geoms)
    ok = missing | shapely.is_empty(geoms) | np.isin(types, [1, 5])  # LineString, MultiLineString
    if not ok.all():
        bad = lines.index[~ok][:5].tolist()
        raise GeometryError(
            f"{int((~ok).sum())} geometries are not lines",
            layer=where,
            entity=bad,
            hint="keep only LineString / MultiLineString features for a network.",
        )
    keep = np.flatnonzero(~missing & ~shapely.is_empty(geoms))
    parts, idx = shapely.get_parts(geoms[keep], return_index=True)
    parts = shapely.force_2d(parts)
    nonempty = ~shapely.is_empty(parts)
    return parts[nonempty], keep[idx[nonempty]], len(geoms) - len(keep)


def _line_coordinates(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All vertices and their part number, consecutive repeats removed, 1-vertex parts dropped."""
    coords, line_of = shapely.get_coordinates(parts, return_index=True)
    if len(coords) == 0:
        return coords.reshape(0, 2), line_of
    same = np.zeros(len(coords), dtype=bool)
    same[1:] = (line_of[1:] == line_of[:-1]) & np.all(coords[1:] == coords[:-1], axis=1)
    coords, line_of = coords[~same], line_of[~same]
    counts = np.bincount(line_of, minlength=len(parts))
    ok = counts[line_of] >= 2
    return coords[ok], line_of[ok]


def _line_bounds(line_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the first and last vertex of each line in the flat vertex array."""
    first = np.ones(len(line_of), dtype=bool)
    first[1:] = line_of[1:] != line_of[:-1]
    last = np.ones(len(line_of), dtype=bool)
    last[:-1] = line_of[1:] != line_of[:-1]
    return first, last


def _coordinate_keys(coords: np.ndarray) -> np.ndarray:
    """Integer id per distinct exact coordinate pair."""
    c = np.ascontiguousarray(coords, dtype="float64")
    c = c + 0.0  # turn -0.0 into 0.0 so that equal coordinates have equal bytes
    view = c.view(np.dtype((np.void, c.dtype.itemsize * 2))).ravel()
    _, inverse = np.unique(view, return_inverse=True)
    return inverse.ravel()


def _snap(
    coords: np.ndarray, line_of: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Apply steps 2-4 of the module rules; return the new arrays and the counts."""
    counts = {"endpoints_snapped": 0, "endpoints_snapped_to_vertex": 0, "endpoints_snapped_to_line": 0}
    if tol <= 0 or len(coords) == 0:
        return coords, line_of, counts
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    coords = coords.copy()
    first, last = _line_bounds(line_of)
    end_pos = np.flatnonzero(first | last)
    end_xy = coords[end_pos]

    # step 2: endpoint groups within tolerance -> one representative point
    pairs = cKDTree(end_xy).query_pairs(tol, output_type="ndarray")
    if len(pairs):
        n = len(end_pos)
        adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, label = connected_components(adj, directed=False)
        # representative of a group: the member point shared by most vertices of all lines (an
        # existing junction, or an end already lying on another line's vertex, stays where it
        # is), the first such point on ties
        all_keys = _coordinate_keys(coords)
        support = np.bincount(all_keys)[all_keys[end_pos]]
        frame = pd.DataFrame({"label": label, "support": support, "pos": np.arange(n)})
        votes = frame.sort_values(["label", "support", "pos"], ascending=[True, False, True])
        votes = votes.rename(columns={"pos": "first"})
        best = votes.drop_duplicates("label").set_index("label")["first"]
        new_xy = end_xy[best.reindex(label).to_numpy()]
        moved = np.any(new_xy != end_xy, axis=1)
        counts["endpoints_snapped"] = int(moved.sum())
        coords[end_pos] = new_xy

    # endpoints that touch no other vertex of any line after step 2
    def lonely_endpoints() -> np.ndarray:
        key = _coordinate_keys(coords)
        occurrences = np.bincount(key)
        return end_pos[occurrences[key[end_pos]] == 1]

    # step 3: lonely endpoint -> nearest interior vertex of another line within tolerance
    lonely = lonely_endpoints()
    interior = np.flatnonzero(~(first | last))
    if len(lonely) and len(interior):
        tree = cKDTree(coords[interior])
        dist, hit = tree.query(coords[lonely], k=min(8, len(interior)), distance_upper_bound=tol)
        dist = dist.reshape(len(lonely), -1)
        hit = hit.reshape(len(lonely), -1)
        valid = np.isfinite(dist)
        target = np.where(valid, interior[np.minimum(hit, len(interior) - 1)], -1)
        valid &= line_of[np.maximum(target, 0)] != line_of[lonely][:, None]
        has = valid.any(axis=1)
        choice = np.argmax(valid, axis=1)  # the nearest valid candidate (query sorts by distance)
        src = lonely[has]
        dst = target[has, choice[has]]
        coords[src] = coords[dst]
        counts["endpoints_snapped_to_vertex"] = len(src)

    # step 4: lonely endpoint -> nearest point on another line's segment within tolerance
    lonely = lonely_endpoints()
    if len(lonely):
        coords, line_of, n4 = _snap_to_segments(coords, line_of, lonely, tol)
        counts["endpoints_snapped_to_line"] = n4
    return coords, line_of, counts


def _snap_to_segments(
    coords: np.ndarray, line_of: np.ndarray, lonely: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Move lonely endpoints onto the nearest segment of another line and insert the vertex there."""
    seg_a = np.flatnonzero(line_of[:-1] == line_of[1:])  # segment i = coords[i] -> coords[i+1]
    segments = shapely.linestrings(
        np.stack([coords[seg_a], coords[seg_a + 1]], axis=1).reshape(-1, 2),
        indices=np.repeat(np.arange(len(seg_a)), 2),
    )
    points = shapely.points(coords[lonely])
    tree = shapely.STRtree(segments)
    p_idx, s_idx = tree.query(points, predicate="dwithin", distance=tol)
    other = line_of[seg_a[s_idx]] != line_of[lonely[p_idx]]
    p_idx, s_idx = p_idx[other], s_idx[other]
    if len(p_idx) == 0:
        return coords, line_of, 0
    d = shapely.distance(points[p_idx], segments[s_idx])
    order = np.lexsort((s_idx, d, p_idx))
    p_idx, s_idx = p_idx[order], s_idx[order]
    best = np.r_[True, p_idx[1:] != p_idx[:-1]]
    p_idx, s_idx = p_idx[best], s_idx[best]
    seg = segments[s_idx]
    proj = shapely.line_interpolate_point(seg, shapely.line_locate_point(seg, points[p_idx]))
    proj_xy = shapely.get_coordinates(proj)
    coords = coords.copy()
    coords[lonely[p_idx]] = proj_xy
    # insert the projected points into their segments (after vertex seg_a), skipping any that
    # fall exactly on a segment end (already a vertex)
    a = seg_a[s_idx]
    on_end = np.all(proj_xy == coords[a], axis=1) | np.all(proj_xy == coords[a + 1], axis=1)
    a, proj_xy = a[~on_end], proj_xy[~on_end]
    if len(a):
        # several points on one segment must be inserted in order along it
        along = np.hypot(*(proj_xy - coords[a]).T)
        order = np.lexsort((along, a))
        a, proj_xy = a[order], proj_xy[order]
        coords = np.insert(coords, a + 1, proj_xy, axis=0)
        line_of = np.insert(line_of, a + 1, line_of[a])
    return coords, line_of, len(p_idx)


def _split(
    coords: np.ndarray, line_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Step 5: nodes and edge pieces.

    Returns node coordinates, u, v (node numbers), piece geometries, the part number of each piece
    and the number of lines that were split.
    """
    if len(coords) == 0:
        empty = np.zeros(0, dtype="int64")
        return np.zeros((0, 2)), empty, empty, np.array([], dtype=object), empty, 0
    first, last = _line_bounds(line_of)
    key = _coordinate_keys(coords)
    occurrences = np.bincount(key)
    is_node = first | last | (occurrences[key] > 1)
    # node number per distinct node coordinate
    node_keys, node_num_of_key = np.unique(key[is_node], return_inverse=True)
    node_of_vertex = np.full(len(coords), -1, dtype="int64")
    node_of_vertex[is_node] = node_num_of_key.ravel()
    node_xy = np.zeros((len(node_keys), 2))
    node_xy[node_of_vertex[is_node]] = coords[is_node]

    # piece number: a vertex opens piece g-1 (g = running count of node vertices); a node vertex
    # that is not the first of its line also closes piece g-2
    g = np.cumsum(is_node)
    opens = ~last
    closes = is_node & ~first
    # two slots per vertex, in vertex order: [closing copy, opening copy]; piece numbers never
    # decrease along this sequence, so no sort is needed
    n = len(coords)
    slot_piece = np.empty(2 * n, dtype="int64")
    slot_piece[0::2] = g - 2
    slot_piece[1::2] = g - 1
    slot_used = np.empty(2 * n, dtype=bool)
    slot_used[0::2] = closes
    slot_used[1::2] = opens
    pos = np.repeat(np.arange(n), 2)[slot_used]
    piece = slot_piece[slot_used]
    # pieces are numbered from 0 but node vertices that are last of a line leave gaps: compress
    piece_dense = np.cumsum(np.r_[False, piece[1:] != piece[:-1]])
    geoms = shapely.linestrings(coords[pos], indices=piece_dense)
    bounds_first = np.r_[True, piece_dense[1:] != piece_dense[:-1]]
    bounds_last = np.r_[piece_dense[1:] != piece_dense[:-1], True]
    u = node_of_vertex[pos[bounds_first]]
    v = node_of_vertex[pos[bounds_last]]
    piece_line = line_of[pos[bounds_first]]
    n_split = int((np.bincount(piece_line, minlength=line_of.max() + 1) > 1).sum())
    return node_xy, u, v, geoms, piece_line, n_split


def _drop_degenerate_and_duplicates(
    geoms: np.ndarray, u: np.ndarray, v: np.ndarray, oneway: np.ndarray | None
) -> tuple[np.ndarray, int, int]:
    """Step 6: a keep-mask, the number of zero-length pieces and of duplicates dropped."""
    length = shapely.length(geoms)
    nonzero = length > 0
    keep = nonzero.copy()
    # candidate duplicates share their (unordered) end nodes; compare geometry only there
    a, b = np.minimum(u, v), np.maximum(u, v)
    frame = pd.DataFrame({"a": a, "b": b})
    cand = np.flatnonzero(frame.duplicated(["a", "b"], keep=False).to_numpy() & nonzero)
    if len(cand):
        directed = oneway[cand].astype(bool) if oneway is not None else np.zeros(len(cand), dtype=bool)
        # undirected edges compare in a canonical direction (GEOS normalize), oneway ones as drawn
        canonical = np.where(directed, geoms[cand], shapely.normalize(geoms[cand]))
        wkb = shapely.to_wkb(canonical, hex=True)
        same = pd.DataFrame({"a": a[cand], "b": b[cand], "wkb": wkb, "directed": directed})
        keep[cand[same.duplicated(keep="first").to_numpy()]] = False
    n_zero = int((~nonzero).sum())
    n_dup = int((nonzero & ~keep).sum())
    if n_dup:
        logger.info("dropped %d duplicate edge(s)", n_dup)
    return keep, n_zero, n_dup
