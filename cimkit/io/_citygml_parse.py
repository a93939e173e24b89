"""Parsing helpers of :mod:`cimkit.io.citygml`: one building element -> attributes, footprint, surfaces.

Private: the streaming loop, CRS and provenance live in :mod:`cimkit.io.citygml`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException

from cimkit.errors import CimkitError, FileFormatError, MissingCRSError, ResourceLimitError
from cimkit.options import get_options

__all__ = ["COLUMNS", "CITYGML_NAMESPACES", "Reader", "is_local", "parse_srs_name"]
#: CityGML core namespaces -> version.
CITYGML_NAMESPACES = {
    "http://www.opengis.net/citygml/1.0": "1.0",
    "http://www.opengis.net/citygml/2.0": "2.0",
    "http://www.opengis.net/citygml/3.0": "3.0",
}
_XLINK = "{http://www.w3.org/1999/xlink}href"
_GML_IDS = ("{http://www.opengis.net/gml}id", "{http://www.opengis.net/gml/3.2}id")
_LOD_ORDER = ("2", "1", "3", "4", "0")  # LoD2 first: it carries the semantic surfaces
_LOD_PROP = re.compile(
    r"lod([0-4])(Solid|MultiSolid|MultiSurface|CompositeSurface|Geometry|FootPrint|RoofEdge)$"
)
_EPSG = re.compile(r"EPSG(?::[\d.]*:|/[\d.]+/|:)(\d+)", re.IGNORECASE)
_ADV = {"ETRS89_UTM32": 25832, "ETRS89_UTM33": 25833, "ETRS89_UTM31": 25831}  # German AdV srsNames
_MIN_FACE_AREA = 1e-6  # m²: projected faces smaller than this are vertical walls
_FIX = "check the file in a CityGML validator or viewer (e.g. citygml4j, FZKViewer) and export it again"
COLUMNS = [
    "name",
    "function",
    "usage",
    "roof_type",
    "year_of_construction",
    "storeys",
    "storeys_below_ground",
    "height_m",
    "height_source",
    "base_elevation_m",
    "lod",
    "n_parts",
    "part_ids",
]


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _gml_id(el: Any) -> str | None:
    for key in _GML_IDS:
        value = el.get(key)
        if value:
            return str(value)
    return None


def parse_srs_name(srs_name: str) -> tuple[int | None, int | None]:
    """Return the (horizontal, vertical) EPSG codes named by a CityGML ``srsName``.

    >>> parse_srs_name("urn:ogc:def:crs,crs:EPSG::25832,crs:EPSG::5783")
    (25832, 5783)
    >>> parse_srs_name("EPSG:25832+5783"), parse_srs_name("http://www.opengis.net/def/crs/EPSG/0/25832")
    ((25832, 5783), (25832, None))
    >>> parse_srs_name("urn:adv:crs:ETRS89_UTM32*DE_DHHN92_NH"), parse_srs_name("#local-CRS-1")
    ((25832, None), (None, None))
    """
    plus = re.fullmatch(r"\s*EPSG:(\d+)\+(\d+)\s*", srs_name, re.IGNORECASE)
    if plus:
        return int(plus.group(1)), int(plus.group(2))
    codes = [int(c) for c in _EPSG.findall(srs_name)]
    if not codes:
        for key, epsg in _ADV.items():
            if key in srs_name.upper():
                return epsg, None
        return None, None
    return codes[0], (codes[1] if len(codes) > 1 else None)


def is_local(srs_name: str) -> bool:
    text = srs_name.lower()
    return text.startswith("#") or ":local" in text or "engineering" in text


class Reader:
    """State of one streaming read: rows, surfaces, repairs and the CRS name found."""

    def __init__(self, path: Path, lod: str | None, source_crs: Any) -> None:
        self.path = path
        self.lod = None if lod is None else str(lod)
        self.source_crs = source_crs
        self.version: str | None = None
        self.srs_name: str | None = None
        self.rows: list[dict[str, Any]] = []
        self.footprints: list[shapely.Geometry] = []
        self.surfaces: dict[str, Any] = {}
        self.closed_rings = 0
        self.degenerate = 0
        self.unresolved = 0
        self.generic = 0
        self.limit = int(get_options()["max_features"])

    # -- errors --------------------------------------------------------------------------------
    def fail(self, message: str, el: Any, bid: str | None, code: str, hint: str = _FIX) -> FileFormatError:
        line = getattr(el, "sourceline", None)
        return FileFormatError(message, path=self.path, entity=bid, line=line, code=code, hint=hint)

    # -- streaming -----------------------------------------------------------------------------
    def on_root(self, root: Any) -> None:
        namespace = root.tag.partition("}")[0].lstrip("{") if isinstance(root.tag, str) else ""
        if _local(root.tag) != "CityModel" or namespace not in CITYGML_NAMESPACES:
            raise self.fail(
                f"the root element is <{_local(root.tag)}> in {namespace or 'no namespace'!s}, "
                "not a CityGML CityModel",
                root,
                None,
                "CGM002",
                hint="give a CityGML 1.0 / 2.0 / 3.0 file (root element core:CityModel)",
            )
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            raise self.fail(
                "the document declares a DOCTYPE (entities or a DTD); it is refused so that no entity "
                "is expanded and no external file is fetched (XXE, 'billion laughs')",
                root,
                None,
                "CGM003",
                hint="remove the <!DOCTYPE ...> declaration; CityGML needs none",
            )
        self.version = CITYGML_NAMESPACES[namespace]

    def on_srs_name(self, srs_name: str, el: Any) -> None:
        if self.srs_name is None:
            self.srs_name = srs_name
            if is_local(srs_name) and self.source_crs is None:
                raise self.missing_crs(f"its coordinates are in a local engineering CRS ({srs_name})")

    def missing_crs(self, why: str) -> MissingCRSError:
        return MissingCRSError(
            f"{why}: cimkit cannot know where they lie",
            path=os.fspath(self.path),
            code="CGM005",
            hint="pass the CRS the coordinates are in with --crs EPSG:nnnn (source_crs='EPSG:nnnn' in Python)",
        )

    def on_member(self, member: Any) -> None:
        buildings = (
            [member]
            if _local(member.tag) == "Building"
            else [c for c in member if _local(c.tag) == "Building"]
        )
        for building in buildings:
            if len(self.rows) >= self.limit:
                raise ResourceLimitError(
                    f"the file holds more than max_features={self.limit:,} buildings",
                    path=self.path,
                    code="LIM020",
                    hint="raise it with cimkit.set_options(max_features=...) or split the file",
                )
            try:
                self.read_building(building)
            except CimkitError:
                raise
            except (ValueError, TypeError, IndexError, KeyError, GEOSException) as err:
                raise self.fail(
                    f"its geometry cannot be read ({type(err).__name__}: {err})",
                    building,
                    _gml_id(building),
                    "CGM009",
                ) from err

    # -- geometry ------------------------------------------------------------------------------
    def ring(self, el: Any, bid: str) -> np.ndarray | None:
        """Return the closed (n, 3) coordinates of a LinearRing; None when it has < 3 distinct points."""
        pos_list = next((c for c in el if _local(c.tag) == "posList"), None)
        if pos_list is not None:
            text, dim_el = pos_list.text or "", pos_list
        else:
            poses = [c for c in el if _local(c.tag) in ("pos", "coordinates")]
            text = " ".join((p.text or "").replace(",", " ") for p in poses)
            dim_el = poses[0] if poses else el
        dim_text = dim_el.get("srsDimension") or "3"
        if dim_text not in ("2", "3"):
            raise self.fail(f"srsDimension={dim_text!r}: only 2 and 3 are read", dim_el, bid, "CGM004")
        dim = int(dim_text)
        try:
            values = np.array(text.split(), dtype="float64")
        except ValueError as err:
            raise self.fail(f"a coordinate is not a number ({err})", dim_el, bid, "CGM004") from err
        if dim not in (2, 3) or values.size % dim:
            raise self.fail(
                f"{values.size} coordinate values do not make {dim}-D points", dim_el, bid, "CGM004"
            )
        pts = values.reshape(-1, dim)
        if dim == 2:
            pts = np.column_stack([pts, np.full(len(pts), np.nan)])
        elif not np.isfinite(pts).all():
            raise self.fail("a coordinate is NaN or infinite", dim_el, bid, "CGM004")
        if not np.isfinite(pts[:, :2]).all():
            raise self.fail("a coordinate is NaN or infinite", dim_el, bid, "CGM004")
        if len(pts) and not np.array_equal(pts[0], pts[-1], equal_nan=True):
            pts = np.vstack([pts, pts[:1]])
            self.closed_rings += 1
        if len(np.unique(pts, axis=0)) < 3:
            self.degenerate += 1
            return None
        return pts

    def polygons(self, el: Any, index: dict[str, Any], bid: str, depth: int = 0) -> list[list[np.ndarray]]:
        """Every polygon (list of rings, exterior first) under ``el``, following xlinks."""
        href = el.get(_XLINK)
        if href is not None:
            target = index.get(href.lstrip("#"))
            if target is None or depth > 20:
                self.unresolved += 1
                return []
            return self.polygons(target, index, bid, depth + 1)
        name = _local(el.tag)
        if name in ("Polygon", "Triangle", "Rectangle"):
            exterior: list[np.ndarray] = []
            interiors: list[np.ndarray] = []
            for prop in el:
                for ring_el in prop:
                    if _local(ring_el.tag) != "LinearRing":
                        continue
                    ring = self.ring(ring_el, bid)
                    if ring is not None:
                        (
                            exterior if _local(prop.tag) in ("exterior", "outerBoundaryIs") else interiors
                        ).append(ring)
            return [exterior[:1] + interiors] if exterior else []
        found = [p for child in el for p in self.polygons(child, index, bid, depth)]
        if name == "OrientableSurface" and el.get("orientation") == "-":
            found = [[r[::-1] for r in rings] for rings in found]
        return found

    def member_geometry(self, member: Any, index: dict[str, Any], bid: str) -> tuple[str | None, list[Any]]:
        """(LoD used, [(semantic type or None, rings)]) of a Building or BuildingPart, parts excluded."""
        by_lod: dict[str, dict[str, list[Any]]] = {}
        for child in member:
            name = _local(child.tag)
            match = _LOD_PROP.match(name)
            if match:
                slot = by_lod.setdefault(match.group(1), {"semantic": [], "plain": []})
                slot["plain"] += [(None, rings) for rings in self.polygons(child, index, bid)]
            elif name in ("boundedBy", "boundary"):
                for surface in child:
                    kind = _local(surface.tag)
                    for prop in surface:
                        match = _LOD_PROP.match(_local(prop.tag))
                        if match:
                            slot = by_lod.setdefault(match.group(1), {"semantic": [], "plain": []})
                            slot["semantic"] += [(kind, rings) for rings in self.polygons(prop, index, bid)]
        order = (self.lod,) if self.lod is not None else _LOD_ORDER
        for lod in order:
            found = by_lod.get(lod) or {}
            if found.get("semantic") or found.get("plain"):
                return lod, found["semantic"] or found["plain"]
        return None, []

    # -- one building --------------------------------------------------------------------------
    def read_building(self, building: Any) -> None:
        bid = _gml_id(building) or f"{self.path.name}:line{building.sourceline}"
        index = {gid: el for el in building.iter() if (gid := _gml_id(el)) is not None}
        parts = [el for el in building.iter() if el is not building and _local(el.tag) == "BuildingPart"]
        surfaces: list[Any] = []
        footprints: list[shapely.Geometry] = []
        lods: list[str] = []
        for member in [building, *parts]:
            lod, member_surfaces = self.member_geometry(member, index, bid)
            if lod is None:
                continue
            lods.append(lod)
            surfaces += member_surfaces
            footprints.append(_footprint(member_surfaces))
        footprint = _polygonal(shapely.union_all(footprints)) if footprints else shapely.Polygon()
        zs = np.concatenate([r[:, 2] for _, rings in surfaces for r in rings]) if surfaces else np.array([])
        zs = zs[np.isfinite(zs)]
        base = float(zs.min()) if zs.size else np.nan
        row = _attributes(building)
        measured = row.pop("_measured_height")
        self.generic += row.pop("_generic")
        if measured is not None and measured > 0:
            row["height_m"], row["height_source"] = measured, "measuredHeight"
        else:
            row["height_m"] = float(zs.max() - zs.min()) if zs.size else np.nan
            row["height_source"] = "geometry" if zs.size else None
        used = sorted(set(lods), key=_LOD_ORDER.index)
        row.update(
            building_id=bid,
            base_elevation_m=base,
            lod=used[0] if used else None,
            n_parts=len(parts),
            part_ids=";".join(_gml_id(p) or "" for p in parts) or None,
        )
        if used and used[0] in ("2", "3", "4"):
            self.surfaces[bid] = tuple(
                (kind, tuple(tuple(map(tuple, r.tolist())) for r in rings)) for kind, rings in surfaces
            )
        self.rows.append(row)
        self.footprints.append(footprint)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _footprint(surfaces: list[Any]) -> shapely.Geometry:
    """Union of the GroundSurfaces' 2-D polygons, else of every non-vertical face's projection."""
    grounds = [rings for kind, rings in surfaces if kind == "GroundSurface"]
    chosen = grounds or [rings for _, rings in surfaces]
    polys = []
    for rings in chosen:
        poly = shapely.Polygon(rings[0][:, :2], [r[:, :2] for r in rings[1:]])
        poly = poly if poly.is_valid else _polygonal(poly)
        if poly.area > _MIN_FACE_AREA:
            polys.append(poly)
    return _polygonal(shapely.union_all(polys)) if polys else shapely.Polygon()


def _number(text: str | None, kind: type) -> Any:
    try:
        return kind(float(text)) if kind is int else kind(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _generic(el: Any, prefix: str = "") -> dict[str, Any]:
    """Return the generic attributes (2.0 ``gen:stringAttribute name=``, 3.0 ``gen:StringAttribute/gen:name``)."""
    kind = _local(el.tag).lower()
    if kind == "genericattribute":  # 3.0 wrapper
        return {k: v for c in el for k, v in _generic(c, prefix).items()}
    children = {_local(c.tag): c for c in el}
    name = el.get("name") or (children["name"].text if "name" in children else None)
    if not name:
        return {}
    if kind == "genericattributeset":
        return {
            k: v for c in el if _local(c.tag) != "name" for k, v in _generic(c, f"{prefix}{name}.").items()
        }
    text = (children["value"].text or "").strip() if "value" in children else None
    caster: type = int if kind.startswith("int") else float if kind.startswith(("double", "measure")) else str
    return {f"{prefix}{name}": _number(text, caster) if caster is not str else text}


def _attributes(building: Any) -> dict[str, Any]:
    """Return the Building's own attributes (parts excluded), with private ``_measured_height`` / ``_generic``."""
    row: dict[str, Any] = {"_measured_height": None, "_generic": 0}
    codes: dict[str, list[str]] = {}
    generic: dict[str, Any] = {}
    for child in building:
        name = _local(child.tag)
        text = (child.text or "").strip()
        if name in ("name", "function", "usage", "class", "roofType"):
            codes.setdefault(name, []).append(text)
        elif name == "yearOfConstruction":
            row["year_of_construction"] = _number(text, int)
        elif name == "dateOfConstruction":
            row["year_of_construction"] = _number(text[:4], int)
        elif name == "measuredHeight":
            row["_measured_height"] = _number(text, float)
        elif name == "height":  # 3.0: con:height/con:Height/con:value
            values = [v for v in child.iter() if _local(v.tag) == "value"]
            if values and row["_measured_height"] is None:
                row["_measured_height"] = _number(values[0].text, float)
        elif name == "storeysAboveGround":
            row["storeys"] = _number(text, int)
        elif name == "storeysBelowGround":
            row["storeys_below_ground"] = _number(text, int)
        elif name.endswith(("Attribute", "AttributeSet")):
            generic.update(_generic(child))
    for key, column in (
        ("name", "name"),
        ("function", "function"),
        ("usage", "usage"),
        ("roofType", "roof_type"),
    ):
        if key in codes:
            row[column] = ";".join(v for v in codes[key] if v) or None
    if "class" in codes:
        row["building_class"] = ";".join(codes["class"])
    reserved = set(COLUMNS) | {"building_id", "building_class", "footprint_m2"}
    row.update({(f"gen_{k}" if k in reserved else k): v for k, v in generic.items()})
    row["_generic"] = len(generic)
    return row
