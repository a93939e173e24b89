"""Corpus cases: CityGML (hostile XML, broken files, CRS, coordinates, rings).

Every file is written under ``tmp`` at test time: small documents written from scratch, or
damaged copies of the SIG 3D LoD2 example house of the shared data (``needs_shared=True``).
"""

from __future__ import annotations

from pathlib import Path

from cimkit.io.citygml import read_citygml
from tests.corpus._registry import corpus_case

LOD2 = "citygml_sig3d_examples/v2_Building_LOD2-EPSG25832.gml"
LOCAL = "citygml_sig3d_examples/v2_Building_LOD1-LocalEngineeringCRS.gml"
HEAD = (
    '<CityModel xmlns="http://www.opengis.net/citygml/2.0" xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:bldg="http://www.opengis.net/citygml/building/2.0">'
)
SQUARE = "458875 5438350 112 458885 5438350 112 458885 5438355 112 458875 5438355 112 458875 5438350 112"


def _building(pos_list: str, srs: str | None = "EPSG:25832") -> str:
    srs_attr = f' srsName="{srs}"' if srs else ""
    return (
        f'<cityObjectMember><bldg:Building gml:id="B1"><bldg:lod1MultiSurface><gml:MultiSurface{srs_attr}>'
        "<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
        f"<gml:posList>{pos_list}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
        "</gml:surfaceMember></gml:MultiSurface></bldg:lod1MultiSurface></bldg:Building></cityObjectMember>"
    )


def _write(tmp: Path, text: str, name: str = "city.gml") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


@corpus_case("citygml/sig3d-lod2-real", expect="ok", needs_shared=True)
def _real(tmp, shared):
    gdf = read_citygml(shared / LOD2)
    assert len(gdf) == 1 and gdf.crs.to_epsg() == 25832
    assert abs(float(gdf["footprint_m2"].iloc[0]) - 50.0) < 1e-9


@corpus_case("citygml/xxe-external-entity", expect="error", code="CGM003")
def _xxe(tmp, shared):
    secret = tmp / "secret.txt"
    secret.write_text("458875 5438350 112", encoding="utf-8")
    doctype = f'<?xml version="1.0"?><!DOCTYPE CityModel [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    read_citygml(_write(tmp, doctype + HEAD + _building("&xxe;") + "</CityModel>"))


@corpus_case("citygml/billion-laughs", expect="error", code="CGM003")
def _laughs(tmp, shared):
    entities = '<!ENTITY a0 "ha">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    text = (
        f'<?xml version="1.0"?><!DOCTYPE CityModel [{entities}]>{HEAD}<gml:name>&a9;</gml:name></CityModel>'
    )
    read_citygml(_write(tmp, text))


@corpus_case("citygml/not-xml", expect="error", code="CGM001")
def _not_xml(tmp, shared):
    read_citygml(_write(tmp, "id,x,y\n1,2,3\n"))


@corpus_case("citygml/truncated", expect="error", code="CGM001", needs_shared=True)
def _truncated(tmp, shared):
    data = (shared / LOD2).read_bytes()
    path = tmp / "cut.gml"
    path.write_bytes(data[: len(data) // 2])
    try:
        read_citygml(path)
    except Exception as err:
        assert getattr(err, "line", None), "the error names the line where the file stops"
        raise


@corpus_case("citygml/not-a-citymodel", expect="error", code="CGM002")
def _other_xml(tmp, shared):
    read_citygml(_write(tmp, '<osm version="0.6"><node id="1" lat="0" lon="0"/></osm>'))


@corpus_case("citygml/no-buildings", expect="repaired", code="CGM104")
def _no_buildings(tmp, shared):
    gdf = read_citygml(
        _write(tmp, HEAD + '<gml:boundedBy><gml:Envelope srsName="EPSG:25832"/></gml:boundedBy></CityModel>')
    )
    assert len(gdf) == 0


@corpus_case("citygml/missing-srsname", expect="error", code="CGM005")
def _no_srs(tmp, shared):
    read_citygml(_write(tmp, HEAD + _building(SQUARE, srs=None) + "</CityModel>"))


@corpus_case("citygml/local-crs-without-crs", expect="error", code="CGM005", needs_shared=True)
def _local(tmp, shared):
    read_citygml(shared / LOCAL)


@corpus_case("citygml/unknown-srsname", expect="error", code="CGM006")
def _unknown_srs(tmp, shared):
    read_citygml(_write(tmp, HEAD + _building(SQUARE, srs="urn:example:crs:nowhere") + "</CityModel>"))


@corpus_case("citygml/nan-coordinate", expect="error", code="CGM004")
def _nan(tmp, shared):
    read_citygml(_write(tmp, HEAD + _building(SQUARE.replace("458885", "NaN", 1)) + "</CityModel>"))


@corpus_case("citygml/garbage-coordinate", expect="error", code="CGM004", needs_shared=True)
def _garbage(tmp, shared):
    text = (
        (shared / LOD2)
        .read_text(encoding="utf-8")
        .replace("458875.0 5438350.0 112.0", "458875.0 five 112.0", 1)
    )
    try:
        read_citygml(_write(tmp, text))
    except Exception as err:
        assert getattr(err, "entity", None) == "GML_7b1a5a6f-ddad-4c3d-a507-3eb9ee0a8e68"
        raise


@corpus_case("citygml/coordinate-count-not-3d", expect="error", code="CGM004")
def _count(tmp, shared):
    read_citygml(_write(tmp, HEAD + _building(SQUARE + " 458875") + "</CityModel>"))


@corpus_case("citygml/unclosed-ring", expect="repaired", code="CGM101")
def _unclosed(tmp, shared):
    open_ring = SQUARE.rsplit(" ", 3)[0]  # the closing point dropped
    gdf = read_citygml(_write(tmp, HEAD + _building(open_ring) + "</CityModel>"))
    assert abs(float(gdf["footprint_m2"].iloc[0]) - 50.0) < 1e-9


@corpus_case("citygml/two-point-polygon", expect="repaired", code="CGM102")
def _two_points(tmp, shared):
    line = "458875 5438350 112 458885 5438350 112 458875 5438350 112"
    gdf = read_citygml(
        _write(tmp, HEAD + _building(SQUARE) + _building(line).replace('"B1"', '"B2"') + "</CityModel>")
    )
    assert gdf.loc["B2"].geometry.is_empty and abs(float(gdf.loc["B1", "footprint_m2"]) - 50.0) < 1e-9


@corpus_case("citygml/bad-srs-dimension", expect="error", code="CGM004")
def _dimension(tmp, shared):
    text = (
        HEAD + _building(SQUARE).replace("<gml:posList>", '<gml:posList srsDimension="x">') + "</CityModel>"
    )
    read_citygml(_write(tmp, text))
