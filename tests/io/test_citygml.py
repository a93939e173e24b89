"""CityGML reader: the SIG 3D example files of the shared data, and generated files.

Expected values are computed here from the raw ``gml:posList`` text with a regular expression
and shapely, independently of the reader's XML walk.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely

import cimkit
from cimkit import provenance
from cimkit.errors import CRSError, MissingCRSError, PlacementError, ResourceLimitError
from cimkit.io import citygml as citygml_module
from cimkit.io._citygml_parse import Reader, parse_srs_name
from cimkit.io.citygml import read_citygml

pytestmark = pytest.mark.shared_data
FOLDER = "citygml_sig3d_examples"
BID = "GML_7b1a5a6f-ddad-4c3d-a507-3eb9ee0a8e68"
NS = (
    'xmlns="http://www.opengis.net/citygml/2.0" xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:bldg="http://www.opengis.net/citygml/building/2.0" '
    'xmlns:gen="http://www.opengis.net/citygml/generics/2.0" xmlns:xlink="http://www.w3.org/1999/xlink"'
)


def _poslists(text: str) -> list[np.ndarray]:
    return [
        np.array(m.split(), dtype=float).reshape(-1, 3)
        for m in re.findall(r"<gml:posList[^>]*>(.*?)</gml:posList>", text, flags=re.S)
    ]


def _ground_polygons(text: str) -> list[shapely.Polygon]:
    blocks = re.findall(r"<bldg:GroundSurface>(.*?)</bldg:GroundSurface>", text, flags=re.S)
    return [shapely.Polygon(ring[:, :2]) for block in blocks for ring in _poslists(block)]


def make_gml(members: str, srs: str | None = "EPSG:25832+5783", head: str = "") -> str:
    """A CityGML 2.0 document with ``members`` (cityObjectMember elements)."""
    srs_attr = f' srsName="{srs}"' if srs else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{head}<CityModel {NS}><gml:boundedBy><gml:Envelope{srs_attr}>'
        "<gml:lowerCorner>458875 5438350 112</gml:lowerCorner><gml:upperCorner>458885 5438355 117"
        f"</gml:upperCorner></gml:Envelope></gml:boundedBy>{members}</CityModel>"
    )


def box_building(bid: str, x0: float = 458875, y0: float = 5438350, extra: str = "") -> str:
    """A 10 m x 5 m LoD1 block from z 112 to 116 as bottom + top faces."""
    x1, y1 = x0 + 10, y0 + 5

    def face(z: float) -> str:
        pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        pos = " ".join(f"{x} {y} {z}" for x, y in pts)
        return (
            "<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
            f"<gml:posList>{pos}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
        )

    return (
        f'<cityObjectMember><bldg:Building gml:id="{bid}">{extra}<bldg:lod1MultiSurface><gml:MultiSurface>'
        f"{face(112)}{face(116)}</gml:MultiSurface></bldg:lod1MultiSurface></bldg:Building></cityObjectMember>"
    )


def _write(tmp_path: Path, text: str, name: str = "city.gml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the real files ---------------------------------------------------------------------------


def test_lod2_house(shared_data):
    path = shared_data / FOLDER / "v2_Building_LOD2-EPSG25832.gml"
    text = path.read_text(encoding="utf-8")
    gdf = read_citygml(path)
    assert list(gdf.index) == [BID] and gdf.crs.to_epsg() == 25832
    row = gdf.loc[BID]
    # footprint: the GroundSurface ring from the raw text (10 m x 5 m)
    expected = shapely.union_all(_ground_polygons(text))
    assert expected.area == pytest.approx(50.0)
    assert row["footprint_m2"] == pytest.approx(expected.area)
    assert row.geometry.symmetric_difference(expected).area < 1e-9
    # MANIFEST: envelope 458868-458892 E, 5438343-5438362 N, z 112-117
    minx, miny, maxx, maxy = gdf.total_bounds
    assert 458868 <= minx and maxx <= 458892 and 5438343 <= miny and maxy <= 5438362
    zs = np.concatenate([r[:, 2] for r in _poslists(text)])
    assert (zs.min(), zs.max()) == (112.0, 117.0)
    assert row["base_elevation_m"] == 112.0
    assert row["height_m"] == 5.0 and row["height_source"] == "measuredHeight"
    assert (row["storeys"], row["function"], row["roof_type"], row["year_of_construction"]) == (
        1,
        "1000",
        "1030",
        1985,
    )
    assert row["lod"] == "2" and row["name"] == "Example Building LOD2"
    surfaces = gdf.attrs["surfaces_3d"][BID]
    kinds = [k for k, _ in surfaces]
    assert (kinds.count("GroundSurface"), kinds.count("WallSurface"), kinds.count("RoofSurface")) == (1, 4, 2)
    assert {p[2] for _, rings in surfaces for ring in rings for p in ring} >= {112.0, 115.0, 117.0}


def test_lod1_house_footprint_from_projection(shared_data):
    path = shared_data / FOLDER / "v2_Building_LOD1-EPSG25832.gml"
    solid = re.search(r"<bldg:lod1Solid>(.*?)</bldg:lod1Solid>", path.read_text(encoding="utf-8"), re.S)
    pts = np.vstack(_poslists(solid.group(1)))
    gdf = read_citygml(path)
    row = gdf.iloc[0]
    box_area = (pts[:, 0].max() - pts[:, 0].min()) * (pts[:, 1].max() - pts[:, 1].min())
    assert row["lod"] == "1" and row["footprint_m2"] == pytest.approx(box_area) == pytest.approx(50.0)
    assert row["height_m"] == 5.0  # measuredHeight (the LoD1 block itself is 4 m high)
    assert BID not in gdf.attrs["surfaces_3d"]  # LoD1: no boundary surfaces kept


def test_house_with_garage_part_is_merged(shared_data):
    path = shared_data / FOLDER / "v2_Building_and_garage_LOD2-EPSG25832.gml"
    text = path.read_text(encoding="utf-8")
    gdf = read_citygml(path)
    assert list(gdf.index) == [BID]
    row = gdf.loc[BID]
    expected = shapely.union_all(_ground_polygons(text))  # house 50 m² + garage 2.5 m x 4 m
    assert expected.area == pytest.approx(60.0)
    assert row["footprint_m2"] == pytest.approx(expected.area)
    assert (row["n_parts"], row["part_ids"]) == (1, "GMLID_BUI379228_1244_301")
    assert row["height_m"] == 6.0  # the Building's measuredHeight
    kinds = [k for k, _ in gdf.attrs["surfaces_3d"][BID]]
    assert kinds.count("GroundSurface") == 2  # house slab + garage slab (the part's surfaces kept)


def test_lod3_house_reads_lod3_surfaces(shared_data):
    gdf = read_citygml(shared_data / FOLDER / "v2_Building_LOD3-EPSG25832.gml")
    row = gdf.iloc[0]
    assert row["lod"] == "3" and row["footprint_m2"] == pytest.approx(50.0)
    assert row["base_elevation_m"] == 112.0


def test_citygml3_house(shared_data):
    path = shared_data / FOLDER / "v3_Building_LOD2-EPSG25832.gml"
    gdf = read_citygml(path)
    row = gdf.loc[BID]
    assert row["lod"] == "2" and row["footprint_m2"] == pytest.approx(50.0)
    assert (
        row["height_m"] == 5.0 and row["year_of_construction"] == 1985
    )  # con:height, con:dateOfConstruction
    steps = {s.action: s for s in provenance.get(gdf).steps}
    assert steps["citygml_version"].params["version"] == "3.0"


def test_local_engineering_crs_needs_crs(shared_data):
    path = shared_data / FOLDER / "v2_Building_LOD1-LocalEngineeringCRS.gml"
    with pytest.raises(MissingCRSError) as info:
        read_citygml(path)
    assert info.value.code == "CGM005" and "--crs" in str(info.value) and path.name in str(info.value)
    # the coordinates are small local numbers: with a CRS, the placement check refuses them
    with pytest.raises(PlacementError):
        read_citygml(path, source_crs="EPSG:25832")


def test_provenance_and_vertical_datum(shared_data):
    path = shared_data / FOLDER / "v2_Building_LOD2-EPSG25832.gml"
    gdf = read_citygml(path)
    record = provenance.get(gdf)
    assert record.source_files[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    steps = {s.action: s.params for s in record.steps}
    assert steps["read_crs"]["crs"] == "EPSG:25832"
    assert steps["read_crs"]["vertical_datum"] == "DHHN92 height"  # EPSG:5783
    assert steps["select_buildings"]["count"] == 1 and steps["select_buildings"]["lods"] == {"2": 1}


def test_reprojection_moves_surfaces(shared_data):
    path = shared_data / FOLDER / "v2_Building_LOD2-EPSG25832.gml"
    gdf = read_citygml(path, crs="EPSG:4326")
    assert gdf.crs.to_epsg() == 4326
    lon, lat = gdf.geometry.iloc[0].exterior.coords[0]
    assert 8.43 < lon < 8.44 and 49.09 < lat < 49.10  # Eggenstein-Leopoldshafen (KIT)
    x, y, z = gdf.attrs["surfaces_3d"][BID][0][1][0][0]
    assert 8.43 < x < 8.44 and 49.09 < y < 49.10 and z == 112.0
    assert "reproject" in [s.action for s in provenance.get(gdf).steps]


def test_lod_choice_without_geometry_warns(shared_data):
    with pytest.warns(cimkit.errors.CimkitWarning, match="without usable geometry") as record:
        gdf = read_citygml(shared_data / FOLDER / "v2_Building_LOD2-EPSG25832.gml", lod="1")
    assert gdf.geometry.is_empty.all() and "CGM105" in [w.message.code for w in record]


def test_exported_at_top_level():
    assert cimkit.read_citygml is read_citygml


# --- generated files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("srs", "expected"),
    [
        ("urn:ogc:def:crs,crs:EPSG::25832,crs:EPSG::5783", (25832, 5783)),
        ("EPSG:25832+5783", (25832, 5783)),
        ("http://www.opengis.net/def/crs/EPSG/0/25832", (25832, None)),
        ("urn:ogc:def:crs:EPSG::2154", (2154, None)),
        ("EPSG:28992", (28992, None)),
        ("urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH", (25832, None)),
        ("#local-CRS-1", (None, None)),
    ],
)
def test_parse_srs_name(srs, expected):
    assert parse_srs_name(srs) == expected


@pytest.mark.parametrize(
    "srs", ["http://www.opengis.net/def/crs/EPSG/0/25832", "urn:ogc:def:crs:EPSG::25832"]
)
def test_srs_name_forms_read(tmp_path, srs):
    gdf = read_citygml(_write(tmp_path, make_gml(box_building("B1"), srs=srs)))
    assert gdf.crs.to_epsg() == 25832 and gdf.loc["B1", "footprint_m2"] == pytest.approx(50.0)
    assert gdf.loc["B1", "height_m"] == 4.0 and gdf.loc["B1", "height_source"] == "geometry"


def test_missing_srs_name(tmp_path):
    path = _write(tmp_path, make_gml(box_building("B1"), srs=None))
    with pytest.raises(MissingCRSError, match="--crs") as info:
        read_citygml(path)
    assert info.value.code == "CGM005"
    gdf = read_citygml(path, source_crs="EPSG:25832")
    assert gdf.crs.to_epsg() == 25832
    assert "assign_crs" in [s.action for s in provenance.get(gdf).steps]


def test_source_crs_contradicting_srs_name(tmp_path):
    with pytest.raises(CRSError) as info:
        read_citygml(_write(tmp_path, make_gml(box_building("B1"))), source_crs="EPSG:2154")
    assert info.value.code == "CGM006"


def test_generic_attributes_and_columns(tmp_path):
    generic = (
        '<gen:stringAttribute name="owner_type"><gen:value>public</gen:value></gen:stringAttribute>'
        '<gen:intAttribute name="dwellings"><gen:value>12</gen:value></gen:intAttribute>'
        '<gen:doubleAttribute name="roof_area"><gen:value>61.5</gen:value></gen:doubleAttribute>'
        '<gen:stringAttribute name="function"><gen:value>clash</gen:value></gen:stringAttribute>'
        '<gen:genericAttributeSet name="energy"><gen:doubleAttribute name="kwh">1200.5</gen:doubleAttribute>'
        "</gen:genericAttributeSet>"
        "<bldg:function>31001_1000</bldg:function><bldg:usage>1010</bldg:usage>"
        "<bldg:storeysAboveGround>3</bldg:storeysAboveGround>"
    )
    gml = make_gml(box_building("B1", extra=generic) + box_building("B2", x0=458900))
    gdf = read_citygml(_write(tmp_path, gml))
    row = gdf.loc["B1"]
    assert row["owner_type"] == "public" and row["dwellings"] == 12 and row["roof_area"] == 61.5
    assert row["gen_function"] == "clash" and row["function"] == "31001_1000" and row["usage"] == "1010"
    assert row["storeys"] == 3
    assert gdf.loc["B2", "owner_type"] is None or np.isnan(gdf.loc["B2", "owner_type"])
    assert gdf["storeys"].dtype == "Int64"


def test_gzip_compressed(tmp_path):
    path = tmp_path / "city.gml.gz"
    path.write_bytes(gzip.compress(make_gml(box_building("B1")).encode()))
    assert read_citygml(path).loc["B1", "footprint_m2"] == pytest.approx(50.0)


def test_xlink_and_orientable_surface(tmp_path):
    ring = "458875 5438350 112 458875 5438355 112 458885 5438355 112 458885 5438350 112 458875 5438350 112"
    member = (
        '<cityObjectMember><bldg:Building gml:id="B1"><bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>'
        '<gml:surfaceMember xlink:href="#P1"/>'
        '<gml:surfaceMember><gml:OrientableSurface orientation="-"><gml:baseSurface xlink:href="#P1"/>'
        "</gml:OrientableSurface></gml:surfaceMember>"
        "</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod2Solid>"
        "<bldg:boundedBy><bldg:GroundSurface><bldg:lod2MultiSurface><gml:MultiSurface><gml:surfaceMember>"
        f'<gml:Polygon gml:id="P1"><gml:exterior><gml:LinearRing><gml:posList>{ring}</gml:posList>'
        "</gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface>"
        "</bldg:lod2MultiSurface></bldg:GroundSurface></bldg:boundedBy></bldg:Building></cityObjectMember>"
    )
    gdf = read_citygml(_write(tmp_path, make_gml(member)))
    assert gdf.loc["B1", "footprint_m2"] == pytest.approx(50.0)
    assert [k for k, _ in gdf.attrs["surfaces_3d"]["B1"]] == ["GroundSurface"]  # semantic surfaces win
    reader = Reader(tmp_path / "x.gml", "2", None)
    from lxml import etree

    building = etree.fromstring(make_gml(member).encode()).find(".//{*}Building")
    index = {"P1": building.find(".//{*}Polygon")}
    solid = building.find("{*}lod2Solid")
    first, second = reader.polygons(solid, index, "B1")
    np.testing.assert_array_equal(second[0], first[0][::-1])  # orientation="-" reverses the ring


def test_streaming_keeps_one_member(tmp_path, monkeypatch):
    count = 1000
    members = "".join(
        box_building(f"B{i}", x0=458000 + 20 * (i % 50), y0=5438000 + 20 * (i // 50)) for i in range(count)
    )
    path = _write(tmp_path, make_gml(members))
    seen: list[int] = []
    original = Reader.on_member

    def spy(self, member):
        seen.append(len(list(member.itersiblings(preceding=True))))  # earlier members still in the tree
        return original(self, member)

    monkeypatch.setattr(Reader, "on_member", spy)
    gdf = read_citygml(path)
    assert len(gdf) == count and gdf["footprint_m2"].sum() == pytest.approx(50.0 * count)
    assert max(seen) <= 1  # earlier members were dropped (the envelope at most): no whole tree


def test_max_features(tmp_path):
    path = _write(tmp_path, make_gml(box_building("B1") + box_building("B2", x0=458900)))
    with cimkit.set_options(max_features=1), pytest.raises(ResourceLimitError) as info:
        read_citygml(path)
    assert info.value.code == "LIM020"


def test_no_warning_on_clean_file(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_citygml(_write(tmp_path, make_gml(box_building("B1"))))


def test_module_all():
    assert citygml_module.__all__ == ["read_citygml"]


def test_citygml3_without_the_read_pattern_is_refused(tmp_path):
    gml = (
        '<CityModel xmlns="http://www.opengis.net/citygml/3.0" xmlns:gml="http://www.opengis.net/gml/3.2" '
        'xmlns:bldg="http://www.opengis.net/citygml/building/3.0"><cityObjectMember>'
        '<bldg:Building gml:id="B3"><lod2MultiCurve><gml:MultiCurve srsName="EPSG:25832"><gml:curveMember>'
        "<gml:LineString><gml:posList>458875 5438350 112 458885 5438350 112</gml:posList></gml:LineString>"
        "</gml:curveMember></gml:MultiCurve></lod2MultiCurve></bldg:Building></cityObjectMember></CityModel>"
    )
    with pytest.raises(cimkit.errors.UnsupportedSchemaError) as info:
        read_citygml(_write(tmp_path, gml))
    assert info.value.code == "CGM007" and "3.0" in str(info.value)
