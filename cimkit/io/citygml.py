"""CityGML 2.0 (also 1.0 and 3.0) reader: buildings with footprint, height, attributes, LoD2 surfaces.

Specification: OGC CityGML 2.0 (OGC 12-019, building module ``bldg``, generics ``gen``) and
CityGML 3.0 (OGC 20-010 / 21-006, the ``con`` construction module). A ``bldg:Building`` carries
its geometry per level of detail: ``lod1Solid`` / ``lod2Solid`` / ``lodXMultiSurface``
properties, and at LoD2 and above thematic boundary surfaces (``bldg:boundedBy`` in 2.0,
``boundary`` in 3.0) holding ``GroundSurface`` / ``WallSurface`` / ``RoofSurface`` ... each with
an ``lodXMultiSurface``. Polygons are shared by ``xlink:href="#gml-id"`` references, resolved
inside the building they belong to.

The file is read with lxml's ``iterparse``: each top-level member (``cityObjectMember``) is read
when its end tag arrives, then cleared and dropped, so memory holds one building at a time plus
the rows already read, never the whole tree. The parser is hardened: no entity expansion, no
DTD loading, no network, no huge-tree mode; a document with a DOCTYPE is refused (``CGM003``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as _PyprojCRSError

from cimkit import provenance
from cimkit._crs import reproject_with_provenance, resolve_crs
from cimkit._placement import check_object_placement
from cimkit.errors import (
    CimkitError,
    CimkitWarning,
    CRSError,
    FileFormatError,
    UnsupportedSchemaError,
)
from cimkit.io._archive import open_decompressed
from cimkit.io._citygml_parse import COLUMNS, Reader, is_local, parse_srs_name
from cimkit.io._surfaces import SURFACES_ATTR, SurfaceMap, transform_surfaces

__all__ = ["read_citygml"]


def _stream(handle: IO[bytes], reader: Reader) -> None:
    """Run ``iterparse`` over ``handle``, handing each top-level member to ``reader`` then dropping it."""
    try:
        from lxml import etree
    except ImportError as err:  # pragma: no cover - lxml is in the citygml and dev extras
        raise CimkitError(
            "reading CityGML needs lxml",
            path=reader.path,
            code="CGM008",
            hint="pip install 'cimkit[citygml]'",
        ) from err
    context = etree.iterparse(
        handle,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    depth = 0
    try:
        for event, el in context:
            if event == "start":
                depth += 1
                if depth == 1:
                    reader.on_root(el)
                srs = el.get("srsName")
                if srs:
                    reader.on_srs_name(srs, el)
                continue
            depth -= 1
            if depth == 1:
                reader.on_member(el)
                el.clear()
                parent = el.getparent()
                while parent is not None and el.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as err:
        raise FileFormatError(
            f"not well-formed XML ({err.msg})",
            path=reader.path,
            line=err.lineno,
            code="CGM001",
            hint="the file may be cut short or not XML; download or export it again",
        ) from err


def _file_crs(reader: Reader, record: provenance.Provenance) -> CRS:
    """Return the horizontal CRS of the coordinates: the ``srsName``, else ``source_crs``."""
    stated = resolve_crs(reader.source_crs, path=reader.path, what="source_crs")
    name = reader.srs_name
    if name is None or is_local(name):
        if stated is None:
            raise reader.missing_crs("the file names no CRS (no srsName on its envelope or geometries)")
        record.add_step(
            "assign_crs", "CRS given by the caller (source_crs)", crs=stated.to_string(), srs_name=name
        )
        return stated
    horizontal, vertical = parse_srs_name(name)
    try:
        crs = CRS.from_epsg(horizontal) if horizontal is not None else CRS.from_user_input(name)
    except (_PyprojCRSError, TypeError, ValueError) as err:
        if stated is not None:
            record.add_step("assign_crs", "srsName not understood; CRS given by the caller", srs_name=name)
            return stated
        raise CRSError(
            f"srsName {name!r} names no CRS pyproj knows ({err})",
            path=os.fspath(reader.path),
            code="CGM006",
            hint="pass the CRS with --crs EPSG:nnnn (source_crs='EPSG:nnnn' in Python)",
        ) from err
    if crs.is_compound and crs.sub_crs_list:
        crs = crs.sub_crs_list[0]
    if stated is not None and stated != crs:
        raise CRSError(
            f"source_crs={stated.to_string()} contradicts the srsName {name!r}",
            path=os.fspath(reader.path),
            code="CGM006",
            hint="drop --crs / source_crs (the file's srsName is used) or fix the file",
        )
    vertical_name = None
    if vertical is not None:
        try:
            vertical_name = CRS.from_epsg(vertical).name
        except _PyprojCRSError:
            vertical_name = f"EPSG:{vertical}"
    record.add_step(
        "read_crs",
        "horizontal CRS from srsName; heights kept in the vertical datum of the file",
        srs_name=name,
        crs=crs.to_string(),
        vertical_datum=vertical_name or "not stated",
    )
    return crs


def _warn_repairs(reader: Reader, record: provenance.Provenance) -> None:
    where = os.fspath(reader.path)
    repairs = (
        (
            reader.closed_rings,
            "CGM101",
            "close_rings",
            "ring(s) not closed were closed by repeating their first point",
        ),
        (
            reader.degenerate,
            "CGM102",
            "drop_degenerate_rings",
            "ring(s) with fewer than 3 distinct points were left out",
        ),
        (
            reader.unresolved,
            "CGM103",
            "unresolved_xlinks",
            "xlink reference(s) to no polygon of the building were skipped",
        ),
    )
    for count, code, action, text in repairs:
        if count:
            warnings.warn(CimkitWarning(f"{where}: {count} {text}", code=code), stacklevel=3)
            record.add_step(action, text, count=count)


def _frame(reader: Reader, crs: CRS) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        reader.rows,
        columns=list(dict.fromkeys(["building_id", *COLUMNS, *(k for row in reader.rows for k in row)])),
    )
    for column in ("year_of_construction", "storeys", "storeys_below_ground", "n_parts"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    for column in ("height_m", "base_elevation_m"):
        frame[column] = frame[column].astype("float64")
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(reader.footprints, crs=crs), crs=crs)
    gdf = gdf.set_index("building_id")
    gdf["footprint_m2"] = shapely.area(gdf.geometry.to_numpy())
    return gdf


def read_citygml(
    path: str | os.PathLike[str],
    *,
    crs: Any = None,
    source_crs: Any = None,
    lod: str | None = None,
) -> gpd.GeoDataFrame:
    """Read the buildings of a CityGML 2.0 file (also 1.0 and 3.0) as footprints with heights.

    Parameters
    ----------
    path
        A CityGML file (``.gml``, ``.xml``), plain or gzip / bz2 / xz compressed (read
        transparently within ``max_input_mb`` and ``max_decompressed_mb``). It is streamed:
        memory holds one building's elements at a time.
    crs
        Target CRS of the footprints and surfaces (reprojected, recorded in the provenance).
    source_crs
        CRS of a file whose ``srsName`` is missing or a local engineering CRS (the CLI's
        ``--crs``); it must agree with a declared ``srsName``.
    lod
        Level of detail to read (``"1"``, ``"2"`` ...). By default LoD2, else LoD1, else LoD3,
        LoD4, LoD0 (a LoD3 building without LoD2 / LoD1 geometry is read from its LoD3
        surfaces). Buildings without geometry at that LoD get an empty footprint.

    Returns
    -------
    GeoDataFrame
        One row per ``bldg:Building``, index ``building_id`` = its ``gml:id`` verbatim. A
        ``BuildingPart`` is merged into its Building, as :func:`cimkit.read_cityjson` does: the
        buildings layer counts buildings (the cadastre's unit, the key of analyses and outputs);
        the parts' footprints are unioned, their heights and surfaces included, and their ids
        listed in ``part_ids`` (``n_parts`` counts them). Columns: ``name`` (``gml:name``),
        ``function``, ``usage``, ``roof_type`` (code list values verbatim, several joined by
        ``;``), ``year_of_construction``, ``storeys`` (``storeysAboveGround``),
        ``storeys_below_ground``, ``height_m`` (``measuredHeight``, or 3.0 ``con:height``, when
        given, else highest - lowest vertex of the geometry; ``height_source`` says
        ``"measuredHeight"`` or ``"geometry"``), ``base_elevation_m`` (lowest vertex, in the
        file's vertical datum), ``lod``, ``footprint_m2``, and every generic attribute
        (``gen:stringAttribute`` / ``intAttribute`` / ``doubleAttribute`` ..., sets flattened
        with dots; a name clashing with a column gets a ``gen_`` prefix). Footprint: the union
        of the ``GroundSurface`` polygons, else of the 2-D projections of all non-vertical
        faces. ``gdf.attrs["surfaces_3d"]`` (a read-only mapping) maps each LoD2+ building id to its boundary
        surfaces ``(semantic type or None, rings with z)``, read by
        :func:`cimkit.io.export.write_cityjson` to write LoD2. The CRS is the horizontal part
        of the ``srsName`` (``urn:ogc:def:crs,crs:EPSG::25832,crs:EPSG::5783``,
        ``EPSG:25832+5783``, ``http://www.opengis.net/def/crs/EPSG/0/25832`` -> EPSG:25832);
        the vertical datum is recorded in the provenance.

    Raises
    ------
    FileFormatError
        Not well-formed XML or cut short (``CGM001``, with the line); not a CityGML CityModel
        (``CGM002``); a DOCTYPE / entity declaration, refused (``CGM003``); a coordinate that is
        not a number, not finite, or a coordinate list of the wrong length (``CGM004``, naming
        the building id and line).
    MissingCRSError
        No ``srsName``, or a local engineering CRS, and no ``source_crs`` (``CGM005``).
    CRSError
        An ``srsName`` pyproj does not know, or ``source_crs`` contradicting it (``CGM006``).
    UnsupportedSchemaError
        A CityGML 3.0 file whose buildings carry no geometry in the 2.0-like pattern read here
        (``CGM007``).
    PlacementError
        The buildings lie outside the area of use of their CRS.
    ResourceLimitError
        The file passes ``max_input_mb`` / ``max_decompressed_mb``, or holds more buildings than
        ``max_features`` (``LIM020``).

    Warns
    -----
    CimkitWarning
        ``CGM101`` unclosed rings closed; ``CGM102`` rings with < 3 distinct points left out;
        ``CGM103`` unresolved xlinks; ``CGM104`` a file without buildings; ``CGM105`` buildings
        without usable geometry. Each repair is also a provenance step with its count.

    Examples
    --------
    >>> import gzip, tempfile
    >>> from pathlib import Path
    >>> gml = '''<CityModel xmlns="http://www.opengis.net/citygml/2.0"
    ...   xmlns:gml="http://www.opengis.net/gml" xmlns:bldg="http://www.opengis.net/citygml/building/2.0">
    ...  <cityObjectMember><bldg:Building gml:id="B1">
    ...   <bldg:measuredHeight uom="m">6.5</bldg:measuredHeight>
    ...   <bldg:storeysAboveGround>2</bldg:storeysAboveGround>
    ...   <bldg:lod1MultiSurface><gml:MultiSurface srsName="EPSG:25832+5783"><gml:surfaceMember>
    ...    <gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>
    ...     458875 5438350 112 458885 5438350 112 458885 5438355 112 458875 5438355 112 458875 5438350 112
    ...    </gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>
    ...   </gml:surfaceMember></gml:MultiSurface></bldg:lod1MultiSurface>
    ...  </bldg:Building></cityObjectMember></CityModel>'''
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "city.gml.gz"
    >>> _ = path.write_bytes(gzip.compress(gml.encode()))
    >>> buildings = read_citygml(path)
    >>> buildings.crs.to_epsg(), float(buildings.loc["B1", "footprint_m2"])
    (25832, 50.0)
    >>> float(buildings.loc["B1", "height_m"]), buildings.loc["B1", "height_source"], int(buildings.loc["B1", "storeys"])
    (6.5, 'measuredHeight', 2)
    >>> folder.cleanup()
    """
    source = Path(path)
    record = provenance.record_for_files(
        source, reader="cimkit.read_citygml", libraries=["lxml", "shapely", "pyproj"]
    )
    reader = Reader(source, lod, source_crs)
    with open_decompressed(source) as handle:
        _stream(handle, reader)
    where = os.fspath(source)
    file_crs = _file_crs(reader, record)
    gdf = _frame(reader, file_crs)
    if reader.version == "3.0" and len(gdf) and gdf.geometry.is_empty.all():
        raise UnsupportedSchemaError(
            "CityGML 3.0: no building geometry in the pattern read here (lodXSolid / lodXMultiSurface "
            "and thematic boundary surfaces); other 3.0 encodings are not supported yet",
            path=source,
            code="CGM007",
            hint="convert the file to CityGML 2.0 (citygml-tools downgrade) and read that",
        )
    if reader.version != "2.0":
        record.add_step("citygml_version", "read with the CityGML 2.0 building rules", version=reader.version)
    if not len(gdf):
        warnings.warn(CimkitWarning(f"{where}: the file holds no bldg:Building", code="CGM104"), stacklevel=2)
    _warn_repairs(reader, record)
    empty = int(gdf.geometry.is_empty.sum())
    if empty:
        warnings.warn(
            CimkitWarning(
                f"{where}: {empty} building(s) without usable geometry have an empty footprint", code="CGM105"
            ),
            stacklevel=2,
        )
        record.add_step("empty_footprints", "buildings without usable geometry", count=empty)
    record.add_step(
        "select_buildings",
        "bldg:Building objects, BuildingParts merged into their Building",
        count=len(gdf),
        parts=int(gdf["n_parts"].sum()) if len(gdf) else 0,
        lods={str(k): int(v) for k, v in gdf["lod"].value_counts().items()},
        height_source={str(k): int(v) for k, v in gdf["height_source"].value_counts().items()},
        generic_attributes=reader.generic,
    )
    surfaces = SurfaceMap(reader.surfaces)
    gdf.attrs[SURFACES_ATTR] = surfaces
    provenance.attach(gdf, record)
    accepted = check_object_placement(gdf, path=source, layer="buildings", record=record)
    projected = reproject_with_provenance(gdf, crs, record=record, path=source)
    if projected is not gdf:
        if not accepted:
            check_object_placement(projected, path=source, layer="buildings", record=record)
        projected["footprint_m2"] = shapely.area(projected.geometry.to_numpy())
        projected.attrs[SURFACES_ATTR] = transform_surfaces(surfaces, file_crs, projected.crs)
        provenance.attach(projected, record)
    return projected
