"""The checks behind :meth:`cimkit.model.CityModel.quality`: one table of what is wrong with a model.

Every check gives one row per layer (a vector layer, ``network_<kind>``, ``dem``, or ``model``
for the model as a whole): ``layer``, ``check``, ``status`` (``ok``, ``warning``, ``error`` or
``not_checked``), ``value`` (the count, share or label measured) and ``message`` (a sentence
saying what was found and what it means). ``docs/checks.md`` lists every check with its
threshold and how to change it.

- **Placement**: the model CRS is projected and metric; each layer's extent lies inside the area
  of use of the CRS (:mod:`cimkit._placement`) and within the option
  ``placement_max_distance_m`` of the model's other layers; a placement accepted with
  ``placement="accept"`` stays visible.
- **Geometries and identity**: invalid, empty and null geometries; duplicated index labels.
- **Buildings**: missing height, height outside the option ``plausible_height_m``; footprint
  area outside ``plausible_footprint_m2``; floor areas and ground levels from a stated fallback
  (``gfa_source``, ``ground_source``); IFC georeferencing confidence.
- **DEM**: share of cells without data; values outside ``plausible_elevation_m``.
- **Networks**: connected components, dangles, zero-length edges.
- **Provenance**: every layer has a source file with its sha256, and a licence.

Private helper of :mod:`cimkit.model`; core tier (imports only core modules).

Examples
--------
>>> import geopandas as gpd
>>> import pandas as pd
>>> from shapely.geometry import box
>>> from cimkit.model import CityModel
>>> model = CityModel(2154)
>>> ids = pd.Index(["b1", "b1"], name="building_id")
>>> _ = model.add_layer("buildings", gpd.GeoDataFrame({"height_m": [0.5, 9.0]}, index=ids, crs=2154,
...     geometry=[box(652000, 6861000, 652010, 6861010), box(652020, 6861000, 652030, 6861010)]))
>>> table = check_model(model).set_index(["layer", "check"])
>>> table.loc[("buildings", "duplicated_ids"), ["status", "value"]].tolist()
['error', 1]
>>> table.loc[("buildings", "height_implausible"), ["status", "value"]].tolist()
['warning', 1]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely

from cimkit import _placement
from cimkit._crs import crs_label
from cimkit.options import get_options

__all__ = ["COLUMNS", "STATUSES", "check_model", "count_statuses"]

COLUMNS = ["layer", "check", "status", "value", "message"]
STATUSES = ("ok", "warning", "error", "not_checked")
Row = dict[str, Any]


def _row(layer: str, check: str, status: str, value: Any, message: str) -> Row:
    return {"layer": layer, "check": check, "status": status, "value": value, "message": message}


def _count_row(
    layer: str, check: str, n: int, of: int, what: str, *, bad: str = "warning", why: str = ""
) -> Row:
    if n == 0:
        return _row(layer, check, "ok", 0, f"no {what} (of {of:,})")
    return _row(layer, check, bad, n, f"{n:,} of {of:,} {what}" + (f": {why}" if why else ""))


# ----------------------------------------------------------------------------- placement
def _crs_rows(crs: Any) -> list[Row]:
    units = {axis.unit_name for axis in crs.axis_info[:2]}
    metric = crs.is_projected and units <= {"metre", "meter", "m"}
    status = "ok" if metric else "error"
    text = "projected, in metres" if metric else f"not projected in metres ({', '.join(sorted(units))})"
    return [
        _row(
            "model",
            "crs_projected_metric",
            status,
            crs_label(crs),
            f"the model CRS {crs_label(crs)} is {text}",
        )
    ]


def _placement_rows(name: str, extent: Any, crs: Any, model: Any, record: Any) -> list[Row]:
    if extent is None:
        return [_row(name, "area_of_use", "not_checked", None, "no extent (empty layer or attribute table)")]
    rows = []
    problem = _placement._problem_area_of_use(extent, crs, what="the extent")
    if problem is None:
        rows.append(
            _row(
                name, "area_of_use", "ok", None, f"the extent lies inside the area of use of {crs_label(crs)}"
            )
        )
    else:
        check, message, hint, _ = problem
        rows.append(_row(name, "area_of_use", "error", check, f"{message}; {hint}"))
    others = _placement.compute_model_extent(model, without=name)
    limit = float(get_options()["placement_max_distance_m"])
    if others is None:
        rows.append(_row(name, "distance_to_model", "not_checked", None, "no other layer to compare with"))
    else:
        distance = _placement._distance_m(extent, others)
        status = "ok" if distance <= limit else "warning"
        rows.append(
            _row(
                name,
                "distance_to_model",
                status,
                round(distance, 1),
                f"{distance:,.0f} m from the extent of the model's other layers (limit {limit:,.0f} m, option "
                "placement_max_distance_m)",
            )
        )
    accepted = [s for s in getattr(record, "steps", []) if s.action == "accept_placement"]
    if accepted:
        rows.append(
            _row(
                name,
                "placement_accepted",
                "warning",
                len(accepted),
                f"a failed placement check was accepted explicitly: {accepted[0].detail}",
            )
        )
    return rows


# ----------------------------------------------------------------------------- vector layers
def _geometry_rows(name: str, layer: Any) -> list[Row]:
    geoms = layer.geometry.values
    n = len(layer)
    null = int(pd.isna(geoms).sum())
    present = np.asarray(geoms[~pd.isna(geoms)])
    empty = int(shapely.is_empty(present).sum())
    invalid = int((~shapely.is_valid(present) & ~shapely.is_empty(present)).sum())
    return [
        _count_row(
            name,
            "invalid_geometries",
            invalid,
            n,
            "features have an invalid geometry",
            bad="error",
            why="areas, overlays and joins on them are unreliable; repair with shapely.make_valid",
        ),
        _count_row(
            name,
            "empty_geometries",
            empty,
            n,
            "features have an empty geometry",
            why="they are on no map and in no spatial join",
        ),
        _count_row(
            name,
            "null_geometries",
            null,
            n,
            "features have no geometry",
            why="they are on no map and in no spatial join",
        ),
    ]


def _identity_row(name: str, layer: Any) -> Row:
    duplicated = int(layer.index.duplicated().sum())
    return _count_row(
        name,
        "duplicated_ids",
        duplicated,
        len(layer),
        "index labels repeat an earlier one",
        bad="error",
        why="the index is the layer's identity: joins by id would mix these features",
    )


def _range_text(bounds: tuple[float, float], unit: str) -> str:
    return f"{bounds[0]:g} to {bounds[1]:g} {unit}"


def _building_rows(layer: Any) -> list[Row]:
    name, n, rows = "buildings", len(layer), []
    low, high = get_options()["plausible_height_m"]
    if "height_m" not in layer.columns:
        rows.append(
            _row(name, "height_missing", "not_checked", None, "the buildings have no height_m column")
        )
    else:
        height = pd.to_numeric(layer["height_m"], errors="coerce")
        rows.append(
            _count_row(
                name,
                "height_missing",
                int(height.isna().sum()),
                n,
                "buildings have no height",
                why="volumes, floor areas and height rules cannot use them",
            )
        )
        odd = int(((height < low) | (height > high)).sum())
        rows.append(
            _count_row(
                name,
                "height_implausible",
                odd,
                n,
                f"buildings are outside {_range_text((low, high), 'm')} tall",
                why="a unit or reading error? (option plausible_height_m)",
            )
        )
    polygonal = layer.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.any():
        rows.append(_row(name, "footprint_area_implausible", "not_checked", None, "no polygon footprints"))
    else:
        low_a, high_a = get_options()["plausible_footprint_m2"]
        area = layer.geometry[polygonal].area
        odd = int(((area < low_a) | (area > high_a)).sum())
        rows.append(
            _count_row(
                name,
                "footprint_area_implausible",
                odd,
                int(polygonal.sum()),
                f"footprints are outside {_range_text((low_a, high_a), 'm²')}",
                why="a unit error (mm read as m?) or a merged block? (option plausible_footprint_m2)",
            )
        )
    rows.append(_fallback_row(layer))
    return rows


#: Values of the readers' ``gfa_source`` / ``ground_source`` columns that are stated fallbacks.
FALLBACKS = {"gfa_source": ("footprint x storeys",), "ground_source": ("lowest element", "lowest vertex")}


def _fallback_row(layer: Any) -> Row:
    present = [c for c in FALLBACKS if c in layer.columns]
    if not present:
        return _row(
            "buildings", "quantity_fallbacks", "not_checked", None, "no gfa_source / ground_source recorded"
        )
    counts = {c: int(layer[c].isin(FALLBACKS[c]).sum()) for c in present}
    if not any(counts.values()):
        return _row(
            "buildings",
            "quantity_fallbacks",
            "ok",
            0,
            "floor areas and ground levels from the models' own data",
        )
    parts = []
    if counts.get("gfa_source"):
        parts.append(f"{counts['gfa_source']} floor areas estimated as footprint x storeys")
    if counts.get("ground_source"):
        parts.append(
            f"{counts['ground_source']} ground levels taken at the lowest element or vertex (heights may "
            "include what is below ground)"
        )
    return _row(
        "buildings",
        "quantity_fallbacks",
        "warning",
        sum(counts.values()),
        "; ".join(parts) + " (see gfa_source / ground_source)",
    )


def _georeference_row(name: str, layer: Any) -> Row:
    if "georef_confidence" not in layer.columns:
        return _row(name, "ifc_georeference", "not_checked", None, "no IFC georeferencing recorded")
    conf = layer["georef_confidence"].dropna().astype(str)
    if conf.empty:
        return _row(name, "ifc_georeference", "not_checked", None, "no building read from IFC")
    counts = conf.value_counts()
    weak = int(counts.get("low", 0))
    medium = int(counts.get("medium", 0))
    order = [k for k in ("high", "medium", "low") if k in counts] + sorted(
        set(counts.index) - {"high", "medium", "low"}
    )
    listed = ", ".join(f"{int(counts[k])} {k}" for k in order)
    if weak:
        return _row(
            name,
            "ifc_georeference",
            "warning",
            listed,
            f"{weak} of {len(conf)} IFC buildings are placed with low confidence (site latitude / longitude "
            "or no georeferencing): their position may be off by metres to kilometres",
        )
    if medium:
        return _row(
            name,
            "ifc_georeference",
            "warning",
            listed,
            f"{medium} of {len(conf)} IFC buildings are placed with medium confidence (a placement the "
            "reader had to interpret): check them against the cadastre",
        )
    return _row(
        name, "ifc_georeference", "ok", listed, f"all {len(conf)} IFC buildings placed by a map conversion"
    )


def _layer_rows(name: str, layer: Any) -> list[Row]:
    if getattr(layer, "_geometry_column_name", None) not in layer.columns:
        return [_identity_row(name, layer)]
    rows = []
    if len(layer) == 0:
        rows.append(_row(name, "empty_layer", "warning", 0, "the layer has no feature"))
    rows += _geometry_rows(name, layer)
    rows.append(_identity_row(name, layer))
    if name == "buildings":
        rows += _building_rows(layer)
    if name == "buildings" or "georef_confidence" in layer.columns:
        rows.append(_georeference_row(name, layer))
    return rows


# ----------------------------------------------------------------------------- DEM and networks
def _dem_rows(dem: Any) -> list[Row]:
    valid = dem.valid_mask()
    total = valid.size
    missing = int(total - valid.sum())
    share = missing / total if total else 0.0
    rows = [
        _row(
            "dem",
            "dem_nodata_share",
            "ok" if missing == 0 else "warning",
            share,
            f"{missing:,} of {total:,} cells ({share:.2%}) have no data: flood and terrain results are NaN there"
            if missing
            else f"every one of {total:,} cells has data",
        )
    ]
    low, high = get_options()["plausible_elevation_m"]
    values = dem.values[valid].astype("float64")
    if values.size == 0:
        rows.append(_row("dem", "dem_value_range", "error", None, "the DEM has no cell with data"))
        return rows
    odd = int(((values < low) | (values > high)).sum())
    lo, hi = float(values.min()), float(values.max())
    if odd:
        rows.append(
            _row(
                "dem",
                "dem_value_range",
                "error",
                odd,
                f"{odd:,} cells lie outside {_range_text((low, high), 'm')} (values {lo:g} to {hi:g}): an "
                "undeclared nodata value or heights in another unit? (option plausible_elevation_m)",
            )
        )
    else:
        rows.append(
            _row("dem", "dem_value_range", "ok", 0, f"heights from {lo:.2f} to {hi:.2f} m, all plausible")
        )
    return rows


def _network_rows(kind: str, net: Any) -> list[Row]:
    name = f"network_{kind}"
    if len(net.nodes) == 0:
        return [_row(name, "components", "error", 0, "the network has no node")]
    components = net.components()
    count = int(components.nunique())
    share = float((components == 0).mean())
    rows = [
        _row(
            name,
            "components",
            "ok" if count == 1 else "warning",
            count,
            "one connected component"
            if count == 1
            else f"{count} connected components; the largest holds {share:.1%} of the nodes: trips between them are "
            "impossible (unreachable destinations, cut-off homes)",
        ),
    ]
    dangles = len(net.dangles())
    rows.append(
        _row(
            name,
            "dangles",
            "ok",
            dangles,
            f"{dangles:,} of {len(net.nodes):,} nodes are dead ends (normal for cul-de-sacs and pipe ends; "
            "many may mean lines that do not meet)",
        )
    )
    lengths = net.edges["length_m"].astype("float64")
    rows.append(
        _count_row(
            name,
            "zero_length_edges",
            int((lengths <= 0).sum()),
            len(lengths),
            "edges have zero length",
            bad="error",
            why="they cost nothing to travel",
        )
    )
    return rows


# ----------------------------------------------------------------------------- provenance
def _provenance_rows(name: str, record: Any) -> list[Row]:
    files = list(getattr(record, "source_files", []) or [])
    if not files:
        source = _row(
            name,
            "provenance_source",
            "warning",
            0,
            "no source file recorded (built in memory): its origin cannot be traced",
        )
    else:
        unhashed = [f.path for f in files if not f.sha256]
        source = (
            _row(
                name,
                "provenance_source",
                "warning",
                len(unhashed),
                f"{len(unhashed)} of {len(files)} source files have no sha256 (missing when read?)",
            )
            if unhashed
            else _row(
                name, "provenance_source", "ok", len(files), f"{len(files)} source file(s) with their sha256"
            )
        )
    licence = getattr(record, "licence", None)
    lic = (
        _row(name, "provenance_licence", "ok", licence, f"licence: {licence}")
        if licence
        else _row(name, "provenance_licence", "warning", None, "no licence recorded: may it be published?")
    )
    return [source, lic]


def check_model(model: Any) -> pd.DataFrame:
    """Run every check on a city model and return the table (columns :data:`COLUMNS`).

    Parameters
    ----------
    model
        A :class:`~cimkit.model.CityModel` (read through ``crs``, ``layers``, ``networks``,
        ``dem`` and ``provenance_record``).

    Returns
    -------
    pandas.DataFrame
        One row per check per layer; ``value`` is of object dtype (counts, shares, labels).
    """
    records: Mapping[str, Any] = getattr(model, "_provenance", {})
    rows = _crs_rows(model.crs)
    for name, layer in model.layers.items():
        has_geometry = getattr(layer, "_geometry_column_name", None) in layer.columns
        extent = _placement.compute_extent(layer) if has_geometry else None
        if has_geometry:
            rows += _placement_rows(name, extent, model.crs, model, records.get(name))
        rows += _layer_rows(name, layer)
    for kind, net in model.networks.items():
        name = f"network_{kind}"
        rows += _placement_rows(name, _placement.compute_extent(net), model.crs, model, records.get(name))
        rows += _network_rows(kind, net)
    if model.dem is not None:
        rows += _placement_rows(
            "dem", _placement.compute_extent(model.dem), model.crs, model, records.get("dem")
        )
        rows += _dem_rows(model.dem)
    for name, record in records.items():
        rows += _provenance_rows(name, record)
    order = {
        name: i
        for i, name in enumerate(["model", *model.layers, *[f"network_{k}" for k in model.networks], "dem"])
    }
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["value"] = table["value"].astype(object)
    rank = table["layer"].map(order).fillna(len(order))
    return table.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)


def count_statuses(table: pd.DataFrame) -> dict[str, int]:
    """Return the number of rows per status, every status listed (for the reprs and the report).

    Examples
    --------
    >>> count_statuses(pd.DataFrame({"status": ["ok", "ok", "warning"]}))
    {'ok': 2, 'warning': 1, 'error': 0, 'not_checked': 0}
    """
    counts = table["status"].value_counts()
    return {status: int(counts.get(status, 0)) for status in STATUSES}
