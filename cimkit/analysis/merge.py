"""The merge of building sources: IFC models, CityJSON and cadastre footprints in one layer.

A city rarely has one source for its buildings. The IFC models describe a few buildings in
detail, a CityJSON file (LOD1/LOD2) or the cadastre's footprints describe all of them coarsely.
:func:`match_footprints` pairs two footprint layers by intersection over union (IoU);
:func:`merge_buildings` keeps every building once, from its richest source.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> ifc = gpd.GeoDataFrame(
...     {"building_id": ["3vB2YO$MX4xv5uCqZZG05x"], "name": ["Mairie"]},
...     geometry=[box(0, 0, 20, 12)],
...     crs="EPSG:2154",
... ).set_index("building_id")
>>> footprints = gpd.GeoDataFrame(
...     {"id": ["BATI0001", "BATI0002"], "height_m": [9.0, 6.0]},
...     geometry=[box(0.4, 0.2, 20.4, 12.2), box(30, 0, 40, 8)],
...     crs="EPSG:2154",
... ).set_index("id")
>>> merge_buildings(ifc=ifc, footprints=footprints)[["name", "height_m", "source_kind"]]  # doctest: +NORMALIZE_WHITESPACE
                          name  height_m source_kind
building_id
3vB2YO$MX4xv5uCqZZG05x  Mairie       NaN         ifc
BATI0002                   NaN       6.0   footprint
"""

from __future__ import annotations

import logging
import warnings
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit import provenance as prov
from cimkit._sensitivity import derive_level
from cimkit.analysis.linking import Layer, _check_layers_crs, _geoms
from cimkit.errors import CoverageWarning, InputError, MissingCRSError
from cimkit.raster import Raster

__all__ = ["compute_ground_from_dem", "match_footprints", "merge_buildings"]

logger = logging.getLogger(__name__)

# source_kind of each merge_buildings argument, in the order of precedence
_KINDS = {"ifc": "ifc", "cityjson": "cityjson", "footprints": "footprint"}


def _iou_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions in ``a``, positions in ``b``, intersection over union) of intersecting pairs."""
    if not len(a) or not len(b):
        empty = np.empty(0, dtype="int64")
        return empty, empty, np.empty(0, dtype="float64")
    ai, bi = shapely.STRtree(b).query(a, predicate="intersects")
    inter = shapely.area(shapely.intersection(a[ai], b[bi]))
    union = shapely.area(a[ai]) + shapely.area(b[bi]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return ai, bi, iou


def _greedy_pairs(ai: np.ndarray, bi: np.ndarray, iou: np.ndarray, min_iou: float) -> np.ndarray:
    """Positions (in the pair arrays) of the one-to-one pairs taken in decreasing IoU."""
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for k in np.argsort(-iou, kind="stable"):
        if iou[k] < min_iou:
            break
        if ai[k] in used_a or bi[k] in used_b:
            continue
        used_a.add(int(ai[k]))
        used_b.add(int(bi[k]))
        pairs.append(k)
    return np.asarray(pairs, dtype="int64")


def _check_min_iou(min_iou: float) -> None:
    if not 0 < min_iou <= 1:
        raise InputError(f"'min_iou' must be in (0, 1]; {min_iou!r} was given")


def match_footprints(
    ifc: Layer,
    footprints: Layer,
    *,
    min_iou: float = 0.5,
    method: Literal["greedy"] = "greedy",
) -> pd.DataFrame:
    """Match IFC building footprints to reference footprints (cadastre, OSM, CityJSON) by IoU.

    A cheap georeferencing check: a matched pair with a large centroid offset, or an IFC
    building with no match at all, points at a wrong or missing map conversion.
    :func:`merge_buildings` uses the same matching to merge the layers.

    Parameters
    ----------
    ifc
        Footprints of the IFC buildings.
    footprints
        Reference footprints in the same projected CRS.
    min_iou
        Pairs with intersection-over-union below this are not matched (0-1].
    method
        ``"greedy"``: pairs are taken in decreasing IoU, each footprint used at most once
        (one-to-one; optimal whenever each building overlaps at most one footprint with
        IoU >= 0.5, since two such pairs cannot share a building).

    Returns
    -------
    DataFrame
        One row per matched pair, per unmatched IFC building and per unmatched footprint:
        ``ifc_id``, ``footprint_id`` (NA when unmatched), ``iou`` (best IoU found, NaN when
        none), ``dx_m`` / ``dy_m`` (m; IFC centroid - footprint centroid, matched pairs only)
        and ``status`` (``matched``, ``ifc_only``, ``footprint_only``).

    Raises
    ------
    InputError
        ``min_iou`` outside (0, 1] or an unknown ``method``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> footprints = gpd.GeoDataFrame(
    ...     {"footprint_id": ["f1", "f2"]}, geometry=[box(0, 0, 10, 10), box(50, 0, 60, 10)], crs="EPSG:2154"
    ... ).set_index("footprint_id")
    >>> ifc = gpd.GeoDataFrame(
    ...     {"building_id": ["i1"]}, geometry=[box(1, 2, 11, 12)], crs="EPSG:2154"
    ... ).set_index("building_id")
    >>> match_footprints(ifc, footprints).round(4)
      ifc_id footprint_id     iou  dx_m  dy_m          status
    0     i1           f1  0.5625   1.0   2.0         matched
    1   None           f2     NaN   NaN   NaN  footprint_only
    """
    if method != "greedy":
        raise InputError(f"'method' must be 'greedy'; {method!r} was given")
    _check_min_iou(min_iou)
    _check_layers_crs({"ifc": ifc, "footprints": footprints}, metric=True)
    a, b = _geoms(ifc), _geoms(footprints)
    ai, bi, iou = _iou_pairs(a, b)
    best_iou_a = np.full(len(a), np.nan)
    best_iou_b = np.full(len(b), np.nan)
    if len(iou):
        np.fmax.at(best_iou_a, ai, iou)
        np.fmax.at(best_iou_b, bi, iou)
    pairs = _greedy_pairs(ai, bi, iou, min_iou)
    ca = shapely.centroid(a[ai[pairs]])
    cb = shapely.centroid(b[bi[pairs]])
    a_ids, b_ids = ifc.index.to_numpy(), footprints.index.to_numpy()
    columns = ["ifc_id", "footprint_id", "iou", "dx_m", "dy_m", "status"]
    matched = pd.DataFrame(
        {
            "ifc_id": a_ids[ai[pairs]],
            "footprint_id": b_ids[bi[pairs]],
            "iou": iou[pairs],
            "dx_m": shapely.get_x(ca) - shapely.get_x(cb),
            "dy_m": shapely.get_y(ca) - shapely.get_y(cb),
            "status": "matched",
        }
    )
    only_a = np.setdiff1d(np.arange(len(a)), ai[pairs])
    only_b = np.setdiff1d(np.arange(len(b)), bi[pairs])
    frames = [
        matched,
        pd.DataFrame(
            {"ifc_id": a_ids[only_a], "footprint_id": None, "iou": best_iou_a[only_a], "status": "ifc_only"}
        ),
        pd.DataFrame(
            {
                "ifc_id": None,
                "footprint_id": b_ids[only_b],
                "iou": best_iou_b[only_b],
                "status": "footprint_only",
            }
        ),
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    for col in ("dx_m", "dy_m"):
        if col not in out.columns:
            out[col] = np.nan
    return out[columns]


def _as_buildings(layer: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Copy ``layer`` with its geometry column named ``geometry`` and its source kind."""
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError(
            f"'{name}' must be a GeoDataFrame of buildings, not {type(layer).__name__}",
            layer=name,
            hint="read it with the cimkit reader of its format (read_ifc, read_cityjson, read_buildings).",
        )
    out = layer.copy()
    if out.geometry.name != "geometry":
        out = out.drop(columns=["geometry"], errors="ignore").rename_geometry("geometry")
    out["source_kind"] = _KINDS[name]
    return out


def _merged_record(
    layers: dict[str, gpd.GeoDataFrame], counts: dict[str, int], min_iou: float
) -> prov.Provenance:
    """Build the merged record: the first layer's (or a new one), every file, a ``merge_buildings`` step."""
    records = {name: prov.get(layer) for name, layer in layers.items()}
    first = next((r for r in records.values() if r is not None), None)
    record = first.copy() if first is not None else prov.Provenance(versions=prov.get_library_versions())
    seen = {(s.path, s.sha256) for s in record.source_files}
    for other in records.values():
        for source in other.source_files if other is not None and other is not first else ():
            if (source.path, source.sha256) not in seen:
                seen.add((source.path, source.sha256))
                record.source_files.append(source)
    readers = {name: (r.reader if r is not None else "in-memory") for name, r in records.items()}
    levels = [r.sensitivity for r in records.values() if r is not None and r.sensitivity is not None]
    record.sensitivity = derive_level(*levels) if levels else None  # the highest level of the inputs
    record.add_step(
        "merge_buildings",
        "buildings merged from " + ", ".join(layers) + f" (footprints matched by IoU >= {min_iou})",
        min_iou=min_iou,
        readers=readers,
        **counts,
    )
    return record


def merge_buildings(
    ifc: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    cityjson: gpd.GeoDataFrame | None = None,
    *,
    min_iou: float = 0.5,
) -> gpd.GeoDataFrame:
    """Merge the building sources of a city into one buildings layer, each building once.

    Sources rank by detail: IFC models first, then CityJSON buildings, then cadastre (or OSM)
    footprints. A building of a lower-ranked source that matches a building already kept (IoU
    >= ``min_iou``, one-to-one, as in :func:`match_footprints`) is dropped; the unmatched ones
    are kept. So the IFC buildings are all kept, and a footprint appears only where no IFC or
    CityJSON building stands.

    Parameters
    ----------
    ifc
        Buildings read from IFC files (``cimkit.read_ifc`` / ``read_ifc_model(...).buildings``),
        indexed by GlobalId.
    footprints
        Cadastre or OSM footprints (``cimkit.read_buildings``), indexed by their id.
    cityjson
        Buildings read from CityJSON files (``cimkit.read_cityjson``).
    min_iou
        Intersection over union (0-1] from which two footprints are the same building.

    Returns
    -------
    GeoDataFrame
        The kept buildings, IFC first, then CityJSON, then footprints; index ``building_id``
        (the sources' ids); the union of the sources' columns; ``source_kind`` (``"ifc"``,
        ``"cityjson"`` or ``"footprint"``) and, when footprints are given, ``footprint_id``
        (the footprint a building matched, its own id for a kept footprint, NA for a building
        no footprint matches). Its provenance record is the first source's with every source's
        files and a ``merge_buildings`` step whose counts are ``matched`` (footprints dropped as
        matched), ``footprint_only``, ``ifc_only`` (IFC buildings that matched no other
        source), ``cityjson_matched`` (CityJSON buildings dropped as matching an IFC building)
        and ``cityjson_only``.

    Raises
    ------
    InputError
        No source given, ``min_iou`` outside (0, 1], or two kept buildings share an id.
    CRSError
        The sources are in different CRSs (the message names them), or not in a projected
        metric CRS; :class:`~cimkit.errors.MissingCRSError` when one has no CRS.

    Examples
    --------
    >>> from cimkit import provenance
    >>> from cimkit.datasets import sample_city_path
    >>> from cimkit.io.vector import read_buildings
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> footprints = read_buildings(sample_city_path() / "footprints.geojson")
    >>> hall = footprints.geometry["BATI0001"]
    >>> ifc = gpd.GeoDataFrame(
    ...     {"building_id": ["3vB2YO$MX4xv5uCqZZG05x"], "name": ["Mairie"]},
    ...     geometry=[hall.buffer(0.2, join_style="mitre")],
    ...     crs=footprints.crs,
    ... ).set_index("building_id")
    >>> buildings = merge_buildings(ifc=ifc, footprints=footprints)
    >>> len(footprints), len(buildings), buildings["source_kind"].value_counts().to_dict()
    (43, 43, {'footprint': 42, 'ifc': 1})
    >>> buildings.loc["3vB2YO$MX4xv5uCqZZG05x", "footprint_id"]
    'BATI0001'
    >>> step = provenance.get(buildings).steps[-1]
    >>> step.action, step.params["matched"], step.params["footprint_only"], step.params["ifc_only"]
    ('merge_buildings', 1, 42, 0)
    """
    _check_min_iou(min_iou)
    given = {"ifc": ifc, "cityjson": cityjson, "footprints": footprints}
    layers = {name: _as_buildings(layer, name) for name, layer in given.items() if layer is not None}
    if not layers:
        raise InputError(
            "merge_buildings needs at least one source of buildings",
            hint="pass ifc=, footprints= and/or cityjson= (GeoDataFrames of buildings).",
        )
    _check_layers_crs(layers, metric=len(layers) > 1)
    kept: list[gpd.GeoDataFrame] = []
    counts = dict.fromkeys(("matched", "footprint_only", "ifc_only", "cityjson_matched", "cityjson_only"), 0)
    n_ifc = len(layers["ifc"]) if "ifc" in layers else 0
    ifc_matched: set[int] = set()  # positions of IFC buildings matched by a lower-ranked source
    for name, layer in layers.items():
        if kept:
            ai, bi, iou = _iou_pairs(np.concatenate([_geoms(k) for k in kept]), _geoms(layer))
            pairs = _greedy_pairs(ai, bi, iou, min_iou)
            ifc_matched.update(int(p) for p in ai[pairs] if p < n_ifc)
            if name == "footprints":
                _set_footprint_ids(kept, pd.Series(layer.index.to_numpy()[bi[pairs]], index=ai[pairs]))
            drop = np.zeros(len(layer), dtype=bool)
            drop[bi[pairs]] = True
            counts["matched" if name == "footprints" else "cityjson_matched"] = int(drop.sum())
            layer = layer.loc[~drop]
        if name == "footprints":
            layer = layer.assign(footprint_id=layer.index.to_numpy(dtype=object))
            counts["footprint_only"] = len(layer)
        elif name == "cityjson":
            counts["cityjson_only"] = len(layer)
        kept.append(layer)
    counts["ifc_only"] = n_ifc - len(ifc_matched)
    merged = pd.concat(kept, sort=False)
    merged.index.name = "building_id"
    duplicated = merged.index[merged.index.duplicated()].unique()
    if len(duplicated):
        raise InputError(
            f"{len(duplicated)} building id(s) appear in two sources (first: {list(duplicated[:3])})",
            entity=duplicated[0],
            hint="give each source distinct ids, e.g. footprints.rename(index=lambda i: f'cadastre-{i}').",
        )
    out = gpd.GeoDataFrame(merged, geometry="geometry", crs=next(iter(layers.values())).crs)
    logger.info("merged buildings: %s", counts)
    return prov.attach(out, _merged_record(layers, counts, min_iou))


def _set_footprint_ids(kept: list[gpd.GeoDataFrame], by_pool: pd.Series) -> None:
    """Write the matched footprint ids into the kept frames (``by_pool``: pool position -> id)."""
    start = 0
    for i, frame in enumerate(kept):
        ids = np.full(len(frame), None, dtype="object")
        inside = by_pool[(by_pool.index >= start) & (by_pool.index < start + len(frame))]
        ids[inside.index.to_numpy() - start] = inside.to_numpy()
        kept[i] = frame.assign(footprint_id=ids)
        start += len(frame)


def _boundary_min(geoms: gpd.GeoSeries, dem: Raster) -> tuple[np.ndarray, np.ndarray]:
    """(lowest DEM cell crossed by the outer walls, share of their length on data) per building."""
    from cimkit.analysis.flood import _coverage

    values = np.asarray(geoms.values, dtype=object)
    parts, part_of = shapely.get_parts(values, return_index=True)
    rings = shapely.get_exterior_ring(parts)
    # line_stats gives the highest cell crossed: the lowest one is that of the negated grid
    stats = _coverage.sample_lines(-dem.masked(), dem.transform, rings, part_of, len(values))
    total = np.bincount(part_of, weights=shapely.length(rings), minlength=len(values))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, stats[:, 2] / total, 0.0)
    return -stats[:, 1], share


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Return the value at which the cumulative weight (values in increasing order) reaches half."""
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1] - 1e-12 * cum[-1])])


def _footprint_median(geoms: gpd.GeoSeries, dem: Raster) -> tuple[np.ndarray, np.ndarray]:
    """(area-weighted median of the cells under each footprint, share of its area on data)."""
    from cimkit.analysis.flood import _coverage
    from cimkit.analysis.flood.exposure import _rings_in_cell_units

    u, v, coord_ptr, ring_ptr, exterior, bbox = _rings_in_cell_units(geoms, dem)
    data = dem.masked()
    nrows, ncols = dem.shape
    area_cells = shapely.area(np.asarray(geoms.values, dtype=object)) / dem.cell_area
    median = np.full(len(geoms), np.nan)
    share = np.zeros(len(geoms))
    for b in range(len(geoms)):
        ra, rz = ring_ptr[b], ring_ptr[b + 1]
        if ra == rz or not area_cells[b] > 0:
            continue
        c0, r0 = max(int(np.floor(bbox[b, 0])), 0), max(int(np.floor(bbox[b, 1])), 0)
        c1, r1 = min(int(np.ceil(bbox[b, 2])), ncols), min(int(np.ceil(bbox[b, 3])), nrows)
        if c1 <= c0 or r1 <= r0:
            continue
        a, z = coord_ptr[ra], coord_ptr[rz]
        cover = _coverage.coverage_window(
            u[a:z], v[a:z], coord_ptr[ra : rz + 1] - a, exterior[ra:rz], r0, c0, r1 - r0, c1 - c0
        )
        window = data[r0:r1, c0:c1]
        keep = (cover > 1e-12) & ~np.isnan(window)
        if keep.any():
            share[b] = min(float(cover[keep].sum()) / area_cells[b], 1.0)
            median[b] = _weighted_median(window[keep], cover[keep])
    return median, share


def _check_dem_crs(buildings: gpd.GeoDataFrame, dem: Raster) -> None:
    from cimkit.analysis.flood.exposure import _check_crs

    if buildings.crs is None or dem.crs is None:
        which = "buildings" if buildings.crs is None else "dem"
        raise MissingCRSError(
            f"the {which} have no CRS; compute_ground_from_dem cannot tell whether they line up",
            layer=which,
            hint="set the CRS the data was produced in (.set_crs / Raster(..., crs=)).",
        )
    _check_crs(buildings.geometry, dem, "buildings")  # a CRSError naming both CRSs


def _shift_to_ground(out: gpd.GeoDataFrame, rows: np.ndarray, ground: np.ndarray) -> dict[str, float | int]:
    """Set the new ground of ``rows`` keeping each building's top and bottom; return the counts."""

    def column(name: str) -> np.ndarray:
        if name not in out.columns:
            return np.full(len(out), np.nan)
        return out[name].to_numpy(dtype="float64", copy=True)

    old = column("ground_elevation_m")[rows]
    known = np.isfinite(old)
    shift = ground - old
    h, d, g, base = (
        column(c) for c in ("height_m", "depth_below_ground_m", "ground_elevation_m", "base_elevation_m")
    )
    h_new = np.where(known, h[rows] - shift, h[rows])
    h[rows] = np.clip(h_new, 0.0, None)
    d[rows] = np.clip(np.where(known, d[rows] + shift, d[rows]), 0.0, None)
    g[rows] = base[rows] = ground
    source = out["ground_source"].astype(object).to_numpy(copy=True)
    source[rows] = "terrain"
    for name, values in (("height_m", h), ("depth_below_ground_m", d), ("ground_elevation_m", g)):
        if name in out.columns or name == "ground_elevation_m":
            out[name] = values
    out["base_elevation_m"], out["ground_source"] = base, source
    return {
        "replaced_known": int(known.sum()),
        "set_unknown": int((~known).sum()),
        "height_clipped": int(np.sum(h_new < 0)),
        "mean_shift_m": round(float(np.mean(shift[known])), 3) if known.any() else float("nan"),
    }


def compute_ground_from_dem(
    buildings: gpd.GeoDataFrame,
    dem: Raster,
    *,
    statistic: Literal["min", "median"] = "min",
) -> gpd.GeoDataFrame:
    """Compute each building's ground level from the terrain under its footprint.

    The IFC readers take the ground level from the ground storey (``ground_source =
    "storey"``); a DEM gives the natural ground instead. The building's top and the bottom of
    its lowest element stay where they are: ``height_m`` becomes (old ground + old height) -
    new ground, ``depth_below_ground_m`` (old depth + new ground - old ground), both clipped at
    0, and ``base_elevation_m`` the new ground. Where the old ground is unknown (NaN, e.g.
    cadastre footprints), ``height_m`` is taken as already measured from the ground and kept.
    The inputs are not modified.

    Parameters
    ----------
    buildings
        Buildings layer (Polygon/MultiPolygon footprints) indexed by building id.
    dem
        Terrain elevations (m) in the buildings' CRS, north-up.
    statistic
        ``"min"`` (default): the lowest DEM cell crossed by the footprint's outer boundary
        (the outer rings of every part) - the "lowest adjacent grade" from which building
        height limits measured from natural ground are taken. ``"median"``: the
        area-weighted median of the cells under the footprint (each cell weighted by the
        exact share of its area inside the footprint; the value at which the cumulative
        covered area first reaches half).

    Returns
    -------
    GeoDataFrame
        A copy of ``buildings`` where every building with DEM data along its boundary
        (``"min"``) or under its footprint (``"median"``) has ``ground_elevation_m`` from the
        terrain, ``ground_source = "terrain"`` and shifted ``height_m``,
        ``depth_below_ground_m`` and ``base_elevation_m``. A building partly outside the
        DEM or partly on no-data cells takes its ground from the part with data. Buildings with
        no data at all keep their values. Its provenance record is the input's with a
        ``ground_from_dem`` step (``statistic``, ``updated``, ``no_data``, ``partial``,
        ``replaced_known``, ``set_unknown``, ``height_clipped``, ``mean_shift_m`` = mean of
        new - old ground over the buildings that had one).

    Raises
    ------
    CRSError
        The DEM is in another CRS than the buildings (the message names both);
        :class:`~cimkit.errors.MissingCRSError` when either has none.
    InputError
        ``dem`` is not a north-up ``Raster``, ``buildings`` not a GeoDataFrame, or an
        unknown ``statistic``.

    Warns
    -----
    CoverageWarning
        Some buildings have no DEM data under them (they keep their ground level) or only
        partly (their ground comes from the part with data).

    Examples
    --------
    >>> from cimkit.datasets import load_sample_city
    >>> m = load_sample_city()
    >>> terrain = compute_ground_from_dem(m.buildings, m.dem)
    >>> house = "16UREuso8g08C3B3S_58I9"  # Maison 21 rue Jean Jaurès, an IFC house
    >>> before, after = m.buildings.loc[house], terrain.loc[house]
    >>> [(q["ground_source"], round(float(q["ground_elevation_m"]), 2), round(float(q["height_m"]), 2))
    ...  for q in (before, after)]
    [('storey', 43.42, 5.6), ('terrain', 43.28, 5.74)]
    >>> bool(abs((after["ground_elevation_m"] + after["height_m"])
    ...          - (before["ground_elevation_m"] + before["height_m"])) < 1e-9)
    True
    >>> prov.get(terrain).steps[-1].params["updated"]
    43
    """
    from cimkit.analysis.flood.hydrology import _check_raster

    if not isinstance(buildings, gpd.GeoDataFrame):
        raise InputError(
            f"'buildings' must be a GeoDataFrame of footprints, not {type(buildings).__name__}",
            hint="pass the buildings layer, e.g. model.buildings.",
        )
    if statistic not in ("min", "median"):
        raise InputError(f"'statistic' must be 'min' or 'median'; {statistic!r} was given")
    _check_raster(dem, "dem")
    _check_dem_crs(buildings, dem)
    geoms = buildings.geometry
    ground, share = (_boundary_min if statistic == "min" else _footprint_median)(geoms, dem)
    has = np.isfinite(ground)
    partial = has & (share < 0.999)
    out = buildings.copy()
    if "ground_source" not in out.columns:
        out["ground_source"] = None
    rows = np.flatnonzero(has)
    counts = _shift_to_ground(out, rows, ground[rows])
    n_missing, n_partial = int((~has).sum()), int(partial.sum())
    if n_missing or n_partial:
        first = buildings.index[~has | partial][:3].tolist()
        warnings.warn(
            f"compute_ground_from_dem: {n_missing} of {len(buildings)} building(s) have no DEM data "
            f"under them (outside the grid or on no-data cells) and keep their ground level; "
            f"{n_partial} are only partly on data and take their ground from that part "
            f"(first: {first}). Pass a DEM covering every footprint, or set ground_elevation_m yourself.",
            CoverageWarning,
            stacklevel=2,
        )
    record = prov.get(buildings)
    record = record.copy() if record is not None else prov.Provenance(versions=prov.get_library_versions())
    dem_record = dem.attrs.get("provenance")
    dem_files = [f.path for f in dem_record.source_files] if isinstance(dem_record, prov.Provenance) else []
    rule = "lowest cell along the footprint boundary" if statistic == "min" else "median under the footprint"
    record.add_step(
        "ground_from_dem",
        f"ground level from the terrain ({rule}); building tops kept, heights and depths shifted",
        statistic=statistic,
        dem_files=dem_files,
        updated=len(rows),
        no_data=n_missing,
        partial=n_partial,
        **counts,
    )
    logger.info("ground from DEM: %d updated, %d without data, %d partial", len(rows), n_missing, n_partial)
    return prov.attach(out, record)
