"""read_cityjson on hand-made documents and on the Delft 3D city model."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import shapely

from cimkit import provenance
from cimkit.errors import (
    CimkitIOError,
    CimkitWarning,
    CRSError,
    FileFormatError,
    MissingCRSError,
    UnsupportedSchemaError,
)
from cimkit.io.cityjson import read_cityjson


def _box_solid(x0, y0, x1, y1, z0, z1, start):
    """Vertices (real coordinates) and a Solid shell of an axis-aligned box."""
    v = [
        (x0, y0, z0),
        (x1, y0, z0),
        (x1, y1, z0),
        (x0, y1, z0),
        (x0, y0, z1),
        (x1, y0, z1),
        (x1, y1, z1),
        (x0, y1, z1),
    ]
    i = [start + k for k in range(8)]
    shell = [
        [[i[0], i[3], i[2], i[1]]],  # ground
        [[i[4], i[5], i[6], i[7]]],  # roof
        [[i[0], i[1], i[5], i[4]]],
        [[i[1], i[2], i[6], i[5]]],
        [[i[2], i[3], i[7], i[6]]],
        [[i[3], i[0], i[4], i[7]]],
    ]
    return v, [shell]


def _document(version="2.0", reference="https://www.opengis.net/def/crs/EPSG/0/7415"):
    scale, translate = 0.001, [85000.0, 447000.0, -1.0]
    v1, s1 = _box_solid(0, 0, 10, 8, 0.5, 6.5, 0)  # main building: 10 x 8, from z 0.5 to 6.5
    v2, s2 = _box_solid(10, 0, 14, 8, 0.2, 3.2, 8)  # part: 4 x 8, from 0.2 to 3.2
    v3, s3 = _box_solid(30, 30, 35, 35, 0.0, 4.0, 16)  # second building with semantics
    real = np.array(v1 + v2 + v3)
    ints = np.round((real - [0, 0, translate[2]]) / scale).astype(int)  # x, y relative to translate
    sem = {
        "surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}],
        "values": [[0, 1, 2, 2, 2, 2]],
    }
    doc = {
        "type": "CityJSON",
        "version": version,
        "transform": {"scale": [scale] * 3, "translate": translate},
        "metadata": {"referenceSystem": reference} if reference else {},
        "CityObjects": {
            "B1": {
                "type": "Building",
                "attributes": {"measuredHeight": 6.0, "address": {"city": "Delft"}},
                "children": ["B1-p"],
                "geometry": [{"type": "Solid", "lod": "1.2", "boundaries": s1}],
            },
            "B1-p": {
                "type": "BuildingPart",
                "parents": ["B1"],
                "geometry": [{"type": "Solid", "lod": "1.2", "boundaries": s2}],
            },
            "B2": {
                "type": "Building",
                "geometry": [
                    {"type": "Solid", "lod": "1.2", "boundaries": s3},
                    {"type": "Solid", "lod": "2.2", "boundaries": s3, "semantics": sem},
                ],
            },
            "R1": {"type": "Road", "geometry": []},
        },
        "vertices": ints.tolist(),
    }
    return doc


def _write(tmp_path, doc, name="city.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_transform_parts_heights_and_crs(tmp_path):
    gdf = read_cityjson(_write(tmp_path, _document()))
    assert gdf.index.tolist() == ["B1", "B2"]  # BuildingPart merged, Road skipped
    assert gdf.crs.to_epsg() == 28992  # horizontal part of EPSG:7415
    # B1 + part: 10 x 8 + 4 x 8 = 112 m², one 14 x 8 rectangle at (85000, 447000)
    assert gdf.loc["B1", "footprint_m2"] == pytest.approx(112.0)
    assert gdf.geometry["B1"].bounds == pytest.approx((85000, 447000, 85014, 447008))
    # ground = the Building's own lowest vertex 0.5 (no semantics), not the part's 0.2; top = 6.5
    # -> height 6.0, the file's measuredHeight
    assert gdf.loc["B1", "ground_elevation_m"] == pytest.approx(0.5)
    assert gdf.loc["B1", "base_elevation_m"] == pytest.approx(0.5)
    assert gdf.loc["B1", "ground_source"] == "lowest vertex"
    assert gdf.loc["B1", "height_m"] == pytest.approx(6.0) == gdf.loc["B1", "measuredHeight"]
    assert gdf.loc["B1", "n_parts"] == 1
    assert gdf.loc["B1", "address.city"] == "Delft"
    assert gdf.loc["B1", "measuredHeight"] == 6.0
    # B2: highest LoD (2.2) chosen, footprint from its GroundSurface: 5 x 5
    assert gdf.loc["B2", "lod"] == "2.2"
    assert gdf.loc["B2", "footprint_m2"] == pytest.approx(25.0)
    assert gdf.loc["B2", "height_m"] == pytest.approx(4.0)
    assert gdf.loc["B2", "ground_source"] == "GroundSurface" and gdf.loc["B2", "ground_elevation_m"] == 0.0
    steps = [s.action for s in provenance.get(gdf).steps]
    assert "apply_transform" in steps
    lod12 = read_cityjson(_write(tmp_path, _document()), lod="1.2")
    assert lod12.loc["B2", "lod"] == "1.2"
    wgs = read_cityjson(_write(tmp_path, _document()), crs=4326)
    assert wgs.crs.to_epsg() == 4326


def test_versions_and_missing_crs(tmp_path):
    old = read_cityjson(_write(tmp_path, _document(version="1.1", reference="urn:ogc:def:crs:EPSG::28992")))
    assert old.crs.to_epsg() == 28992
    with pytest.raises(UnsupportedSchemaError, match=r"0\.9"):
        read_cityjson(_write(tmp_path, _document(version="0.9")))
    with pytest.raises(MissingCRSError, match="referenceSystem"):
        read_cityjson(_write(tmp_path, _document(reference=None)))
    assert read_cityjson(_write(tmp_path, _document(reference=None)), source_crs=28992).crs.to_epsg() == 28992
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "FeatureCollection"}', encoding="utf-8")
    with pytest.raises(FileFormatError, match="not a CityJSON"):
        read_cityjson(bad)


def test_crs_rules_of_the_reference_system(tmp_path):
    # source_crs may repeat the compound CRS (EPSG:7415) or its horizontal part (EPSG:28992)
    path = _write(tmp_path, _document())
    assert read_cityjson(path, source_crs="EPSG:7415").crs.to_epsg() == 28992
    assert read_cityjson(path, source_crs=28992).crs.to_epsg() == 28992
    with pytest.raises(CRSError, match="contradicts") as info:
        read_cityjson(path, source_crs="EPSG:2154")
    assert info.value.path == str(path)
    unknown = _write(tmp_path, _document(reference="https://www.opengis.net/def/crs/EPSG/0/999999"))
    with pytest.raises(CRSError, match=r"metadata\.referenceSystem") as info:
        read_cityjson(unknown)
    assert info.value.path == str(unknown)


@pytest.mark.shared_data
def test_delft(shared_data):
    path = shared_data / "cityjson_delft" / "delft.city.json"
    gdf = read_cityjson(path)
    # MANIFEST: 160 Building CityObjects, no BuildingPart -> 160 buildings returned
    doc = json.loads(path.read_text(encoding="utf-8"))
    types = Counter(o["type"] for o in doc["CityObjects"].values())
    assert types["Building"] == 160 and types["BuildingPart"] == 0
    assert len(gdf) == 160
    assert gdf.crs.to_epsg() == 28992
    assert gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any()
    # all footprints inside the MANIFEST extent 84616-85141 E, 447423-447751 N
    minx, miny, maxx, maxy = gdf.total_bounds
    assert minx >= 84616 and maxx <= 85141 and miny >= 447423 and maxy <= 447751
    # independent footprint: an LoD1 block is an extrusion, so its plan is the union of its
    # roof faces (faces with a non-zero plan area whose mean z is above mid-height; some
    # solids in this file have no floor faces)
    scale, translate = np.array(doc["transform"]["scale"]), np.array(doc["transform"]["translate"])
    verts = np.array(doc["vertices"]) * scale + translate
    for oid in gdf.index:
        shell = doc["CityObjects"][oid]["geometry"][0]["boundaries"][0]
        z = verts[[i for face in shell for i in face[0]]][:, 2]
        mid = (z.min() + z.max()) / 2
        roof = [
            shapely.Polygon(verts[face[0]][:, :2])
            for face in shell
            if verts[face[0]][:, 2].mean() > mid and shapely.Polygon(verts[face[0]][:, :2]).area > 1e-6
        ]
        assert gdf.loc[oid, "footprint_m2"] == pytest.approx(shapely.union_all(roof).area, rel=1e-6)
        assert gdf.loc[oid, "base_elevation_m"] == pytest.approx(z.min())
        assert gdf.loc[oid, "height_m"] == pytest.approx(z.max() - z.min())
    assert (gdf["height_m"] > 0).all()


def test_height_from_the_ground_surface_not_the_lowest_part(tmp_path):
    # a house on a GroundSurface at z = 10.0 (top 17.5) with an underground garage part from 7.0 to 10.0:
    # by hand, ground = 10.0 and height = 17.5 - 10.0 = 7.5 (not 17.5 - 7.0 = 10.5)
    v1, s1 = _box_solid(0, 0, 10, 8, 10.0, 17.5, 0)
    v2, s2 = _box_solid(0, 0, 12, 8, 7.0, 10.0, 8)
    sem = {
        "surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}],
        "values": [[0, 1, 2, 2, 2, 2]],
    }
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [1.0, 1.0, 1.0], "translate": [85000.0, 447000.0, 0.0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
        "CityObjects": {
            "H": {
                "type": "Building",
                "children": ["H-garage"],
                "geometry": [{"type": "Solid", "lod": "2.2", "boundaries": s1, "semantics": sem}],
            },
            "H-garage": {
                "type": "BuildingPart",
                "parents": ["H"],
                "geometry": [{"type": "Solid", "lod": "2.2", "boundaries": s2, "semantics": sem}],
            },
        },
        "vertices": (np.array(v1 + v2) - [0.0, 0.0, 0.0]).tolist(),
    }
    gdf = read_cityjson(_write(tmp_path, doc))
    row = gdf.loc["H"]
    assert row.ground_elevation_m == pytest.approx(10.0) and row.ground_source == "GroundSurface"
    assert row.height_m == pytest.approx(7.5)
    assert row.base_elevation_m == pytest.approx(10.0)
    step = next(s for s in provenance.get(gdf).steps if s.action == "ground_level")
    assert step.params["ground_source"] == {"GroundSurface": 1}


# ---- hostile documents: vertex indices, transform, versions, content detection ----------------


def _box_b2(doc):
    return doc["CityObjects"]["B2"]["geometry"][1]["boundaries"]


@pytest.mark.parametrize("bad_index", [-1, 10_000, 2.5, "7"])
def test_bad_vertex_index_is_refused_naming_the_object(tmp_path, bad_index):
    doc = _document()
    _box_b2(doc)[0][1][0][2] = bad_index  # roof ring of B2, third vertex
    with pytest.raises(FileFormatError, match="vertex index") as info:
        read_cityjson(_write(tmp_path, doc))
    assert info.value.code == "CJS003" and info.value.entity == "B2"
    assert info.value.path.endswith("city.json")


def test_a_negative_index_in_a_building_part_names_the_part(tmp_path):
    doc = _document()
    doc["CityObjects"]["B1-p"]["geometry"][0]["boundaries"][0][0][0][0] = -3
    with pytest.raises(FileFormatError) as info:
        read_cityjson(_write(tmp_path, doc))
    assert (info.value.code, info.value.entity) == ("CJS003", "B1-p")


def test_boundaries_nested_wrongly_are_refused(tmp_path):
    doc = _document()
    doc["CityObjects"]["B2"]["geometry"][1]["boundaries"] = [[[1, 2, 3]]]  # a Solid one level short
    with pytest.raises(FileFormatError) as info:
        read_cityjson(_write(tmp_path, doc))
    assert (info.value.code, info.value.entity) == ("CJS003", "B2")


@pytest.mark.parametrize("version", ["2.0", "1.1"])
def test_missing_transform_is_refused_not_misplaced(tmp_path, version):
    doc = _document(version=version)
    del doc["transform"]  # the integers would land ~85,000 km from Delft
    with pytest.raises(FileFormatError, match="transform") as info:
        read_cityjson(_write(tmp_path, doc))
    assert info.value.code == "CJS004"


@pytest.mark.parametrize(
    "transform",
    [{"scale": [0.0, 0.001, 0.001], "translate": [85000.0, 447000.0, -1.0]}, {"scale": [0.001] * 3}],
)
def test_unusable_transform_is_refused(tmp_path, transform):
    doc = _document()
    doc["transform"] = transform
    with pytest.raises(FileFormatError) as info:
        read_cityjson(_write(tmp_path, doc))
    assert info.value.code == "CJS005"


def test_cityjson_1_0_with_real_coordinates_is_read_with_a_note(tmp_path):
    doc = _document(version="1.0", reference="urn:ogc:def:crs:EPSG::7415")
    scale = np.asarray(doc["transform"]["scale"])
    translate = np.asarray(doc.pop("transform")["translate"])
    doc["vertices"] = (np.asarray(doc["vertices"]) * scale + translate).round(3).tolist()
    with pytest.warns(CimkitWarning, match="1.0") as caught:
        gdf = read_cityjson(_write(tmp_path, doc))
    assert "CJS101" in {w.message.code for w in caught}
    assert gdf.geometry["B1"].bounds == pytest.approx((85000, 447000, 85014, 447008))
    assert gdf.loc["B1", "height_m"] == pytest.approx(6.0)
    steps = {s.action: s for s in provenance.get(gdf).steps}
    assert "old_version" in steps and "no_transform" in steps and "apply_transform" not in steps


@pytest.mark.parametrize("version", ["0.9", "0.6", "3.0"])
def test_old_and_future_versions_are_refused(tmp_path, version):
    with pytest.raises(UnsupportedSchemaError) as info:
        read_cityjson(_write(tmp_path, _document(version=version)))
    assert info.value.code == "CJS002"


def test_patch_version_2_0_1_is_read(tmp_path):
    gdf = read_cityjson(_write(tmp_path, _document(version="2.0.1")))
    assert gdf.loc["B1", "footprint_m2"] == pytest.approx(112.0)


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00garbage", b'{"type": "CityJSON", "version": "2.0", "Cit', b"[1, 2, 3]", b""],
)
def test_not_json_or_not_cityjson_is_refused(tmp_path, content):
    path = tmp_path / "city.json"
    path.write_bytes(content)
    with pytest.raises(FileFormatError) as info:
        read_cityjson(path)
    assert info.value.code == "CJS001"


def test_non_finite_vertices_are_refused(tmp_path):
    doc = _document()
    doc["vertices"][3][0] = float("nan")  # json.dumps writes the NaN token, which json.loads accepts
    with pytest.raises(FileFormatError, match="NaN") as info:
        read_cityjson(_write(tmp_path, doc))
    assert info.value.code == "CJS005"


def test_cityjson_seq_is_read_feature_by_feature(tmp_path):
    doc = _document()
    header = {k: v for k, v in doc.items() if k not in ("CityObjects", "vertices")}
    header.update({"CityObjects": {}, "vertices": []})
    verts = doc["vertices"]
    objects = doc["CityObjects"]

    def renumber(boundaries, offset):  # a feature's indices point into its own vertex list
        return [
            [[[i - offset for i in ring] for ring in surface] for surface in shell] for shell in boundaries
        ]

    b1 = {"B1": objects["B1"], "B1-p": objects["B1-p"]}
    b2 = {"B2": json.loads(json.dumps(objects["B2"]))}
    for g in b2["B2"]["geometry"]:
        g["boundaries"] = renumber(g["boundaries"], 16)
    lines = [
        header,
        {"type": "CityJSONFeature", "id": "B1", "CityObjects": b1, "vertices": verts[:16]},
        {"type": "CityJSONFeature", "id": "B2", "CityObjects": b2, "vertices": verts[16:]},
    ]
    path = tmp_path / "city.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    gdf = read_cityjson(path)
    assert gdf.index.tolist() == ["B1", "B2"]
    assert gdf.loc["B1", "footprint_m2"] == pytest.approx(112.0)
    assert gdf.geometry["B2"].bounds == pytest.approx((85030, 447030, 85035, 447035))
    assert "read_sequence" in [s.action for s in provenance.get(gdf).steps]
    # a line that is not a feature is named by its line number
    path.write_text("\n".join([json.dumps(header), json.dumps(lines[1]), '{"type": "Feature"}']) + "\n")
    with pytest.raises(FileFormatError) as info:
        read_cityjson(path)
    assert (info.value.code, info.value.line) == ("CJS006", 3)
    # a lone feature has no transform to place its vertices
    lone = tmp_path / "lone.json"
    lone.write_text(json.dumps(lines[1]))
    with pytest.raises(FileFormatError, match="CityJSONFeature") as info:
        read_cityjson(lone)
    assert info.value.code == "CJS001"


def test_gzipped_cityjson_is_read_by_content(tmp_path):
    import gzip

    path = tmp_path / "city.json"  # no .gz suffix: the content decides
    path.write_bytes(gzip.compress(json.dumps(_document()).encode()))
    gdf = read_cityjson(path)
    assert gdf.loc["B1", "footprint_m2"] == pytest.approx(112.0)


def test_a_folder_is_refused_typed(tmp_path):
    with pytest.raises(CimkitIOError):
        read_cityjson(tmp_path)
