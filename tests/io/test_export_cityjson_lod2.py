"""CityJSON 2.0 output at LoD2: from CityGML surfaces, CityJSON input and IFC meshes.

The official CityJSON 2.0 schemas could not be installed offline (``cjvalpy`` has no
distribution installable here and no PyPI / npm package ships the 2.0 schema files), so
:func:`check_cityjson_20` checks the rules of the CityJSON 2.0 specification
(https://www.cityjson.org/specs/2.0.1/) that the writer's output exercises: the required
members, the transform, integer vertices, the nesting depth of each geometry type, vertex
indices in range, rings of >= 3 distinct vertices, the ``lod`` string, and semantics
(``surfaces`` types of the Building module, one ``values`` entry per surface).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cimkit.io._surfaces import SEMANTIC_TYPES
from cimkit.io.citygml import read_citygml
from cimkit.io.cityjson import read_cityjson
from cimkit.io.export import write_cityjson

BID = "GML_7b1a5a6f-ddad-4c3d-a507-3eb9ee0a8e68"
FOLDER = "citygml_sig3d_examples"
_DEPTH = {"MultiSurface": 3, "CompositeSurface": 3, "Solid": 4, "MultiSolid": 5, "CompositeSolid": 5}
_TOP = {
    "type",
    "version",
    "transform",
    "metadata",
    "CityObjects",
    "vertices",
    "extensions",
    "appearance",
    "geometry-templates",
}


def _rings(boundaries, depth):
    if depth == 1:  # a ring: a list of vertex indices
        yield boundaries
        return
    for item in boundaries:
        yield from _rings(item, depth - 1)


def _surface_count(boundaries, depth):
    return len(boundaries) if depth == 3 else sum(_surface_count(b, depth - 1) for b in boundaries)


def check_cityjson_20(doc: dict) -> None:
    """Assert the CityJSON 2.0 rules listed in the module docstring."""
    assert doc["type"] == "CityJSON" and doc["version"] == "2.0"
    assert set(doc) <= _TOP and {"type", "version", "transform", "CityObjects", "vertices"} <= set(doc)
    transform = doc["transform"]
    assert (
        set(transform) == {"scale", "translate"}
        and len(transform["scale"]) == len(transform["translate"]) == 3
    )
    assert re.fullmatch(r"https://www\.opengis\.net/def/crs/EPSG/0/\d+", doc["metadata"]["referenceSystem"])
    assert len(doc["metadata"]["geographicalExtent"]) == 6
    vertices = doc["vertices"]
    assert all(len(v) == 3 and all(isinstance(c, int) for c in v) for v in vertices)
    for oid, obj in doc["CityObjects"].items():
        assert obj["type"] == "Building" and isinstance(oid, str)
        assert all(not isinstance(v, (dict, list)) for v in obj.get("attributes", {}).values())
        for geometry in obj["geometry"]:
            depth = _DEPTH[geometry["type"]]
            assert re.fullmatch(r"\d(\.\d)?", geometry["lod"])
            for ring in _rings(geometry["boundaries"], depth):
                assert all(isinstance(i, int) and 0 <= i < len(vertices) for i in ring)
                assert len(set(ring)) >= 3 and len(set(ring)) == len(ring)
            semantics = geometry.get("semantics")
            if semantics is not None:
                assert all(s["type"] in SEMANTIC_TYPES for s in semantics["surfaces"])
                values = semantics["values"]
                flat = values if depth == 3 else [v for shell in values for v in shell]
                assert len(flat) == _surface_count(geometry["boundaries"], depth)
                assert all(v is None or 0 <= v < len(semantics["surfaces"]) for v in flat)


def _write_read(gdf, path: Path, **kwargs):
    out = write_cityjson(gdf, path, **kwargs)
    doc = json.loads(out.read_text(encoding="utf-8"))
    check_cityjson_20(doc)
    return doc, read_cityjson(out)


def _kinds(obj: dict) -> list[str]:
    lod2 = next(g for g in obj["geometry"] if g["lod"] == "2")
    names = [s["type"] for s in lod2["semantics"]["surfaces"]]
    return [names[v] for v in lod2["semantics"]["values"]]


@pytest.mark.shared_data
def test_citygml_lod2_to_cityjson(shared_data, tmp_path):
    gdf = read_citygml(shared_data / FOLDER / "v2_Building_LOD2-EPSG25832.gml")
    doc, back = _write_read(gdf, tmp_path / "house.city.json")
    obj = doc["CityObjects"][BID]
    assert [g["lod"] for g in obj["geometry"]] == ["1", "2"]
    kinds = _kinds(obj)
    assert (kinds.count("GroundSurface"), kinds.count("WallSurface"), kinds.count("RoofSurface")) == (1, 4, 2)
    assert obj["attributes"]["function"] == "1000" and obj["attributes"]["roof_type"] == "1030"
    assert list(back.index) == [BID] and back.loc[BID, "lod"] == "2"
    assert back.loc[BID, "footprint_m2"] == pytest.approx(50.0)
    assert back.loc[BID, "base_elevation_m"] == pytest.approx(112.0)
    assert back.loc[BID, "height_m"] == pytest.approx(5.0)  # ridge 117 - ground 112
    # the vertices back in metres: the ridge line at z = 117
    scale, translate = np.array(doc["transform"]["scale"]), np.array(doc["transform"]["translate"])
    xyz = np.array(doc["vertices"]) * scale + translate
    assert xyz[:, 2].max() == pytest.approx(117.0) and xyz[:, 2].min() == pytest.approx(112.0)


@pytest.mark.shared_data
def test_citygml_with_garage_and_lod3(shared_data, tmp_path):
    garage = read_citygml(shared_data / FOLDER / "v2_Building_and_garage_LOD2-EPSG25832.gml")
    doc, back = _write_read(garage, tmp_path / "garage.city.json")
    assert back.loc[BID, "footprint_m2"] == pytest.approx(60.0)  # house 50 + garage 10
    assert back.loc[BID, "height_m"] == pytest.approx(5.0)  # geometry: 117 - 112
    assert doc["CityObjects"][BID]["attributes"]["measuredHeight"] == 6.0  # the file's measuredHeight
    assert _kinds(doc["CityObjects"][BID]).count("GroundSurface") == 2
    lod3 = read_citygml(shared_data / FOLDER / "v2_Building_LOD3-EPSG25832.gml")
    _, back3 = _write_read(lod3, tmp_path / "lod3.city.json")
    assert back3.loc[BID, "footprint_m2"] == pytest.approx(50.0)


@pytest.mark.shared_data
def test_cityjson_lod2_input_round_trip(shared_data, tmp_path):
    gdf = read_citygml(shared_data / FOLDER / "v2_Building_LOD2-EPSG25832.gml")
    first = write_cityjson(gdf, tmp_path / "first.city.json")
    from_cityjson = read_cityjson(first)
    assert [k for k, _ in from_cityjson.attrs["surfaces_3d"][BID]].count("RoofSurface") == 2
    doc, back = _write_read(from_cityjson, tmp_path / "second.city.json")
    assert _kinds(doc["CityObjects"][BID]).count("RoofSurface") == 2
    assert back.loc[BID, "footprint_m2"] == pytest.approx(from_cityjson.loc[BID, "footprint_m2"])
    assert back.loc[BID, "height_m"] == pytest.approx(from_cityjson.loc[BID, "height_m"])


@pytest.mark.shared_data
def test_semantics_derived_from_normals(shared_data, tmp_path):
    # the same house with its LoD2 solid only (no thematic surfaces): the normal rule must find
    # the slab, the 4 walls and the 2 roof planes the file's thematic surfaces name
    text = (shared_data / FOLDER / "v2_Building_LOD2-EPSG25832.gml").read_text(encoding="utf-8")
    polygons = re.findall(r"<gml:Polygon gml:id=.*?</gml:Polygon>", text, flags=re.S)
    solid = "".join(f"<gml:surfaceMember>{p}</gml:surfaceMember>" for p in polygons)
    gml = re.sub(r"<bldg:lod2Solid>.*</bldg:boundedBy>", "", text, flags=re.S)
    gml = gml.replace(
        "<bldg:storeyHeightsAboveGround",
        f"<bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>{solid}</gml:CompositeSurface>"
        "</gml:exterior></gml:Solid></bldg:lod2Solid><bldg:storeyHeightsAboveGround",
    )
    path = tmp_path / "solid_only.gml"
    path.write_text(gml, encoding="utf-8")
    gdf = read_citygml(path)
    assert [k for k, _ in gdf.attrs["surfaces_3d"][BID]] == [None] * 7
    doc, back = _write_read(gdf, tmp_path / "solid_only.city.json")
    kinds = _kinds(doc["CityObjects"][BID])
    assert sorted(kinds) == sorted(["GroundSurface"] + ["WallSurface"] * 4 + ["RoofSurface"] * 2)
    assert back.loc[BID, "footprint_m2"] == pytest.approx(50.0)


def _check_ifc_to_lod2(paths, tmp_path):
    from cimkit.io.ifc import read_ifc_model

    parts, meshes = [], {}
    for path in paths:
        model = read_ifc_model(path, meshes=True)
        parts.append(model.buildings)
        meshes.update(model.meshes)
    ifc = pd.concat(parts)
    doc, back = _write_read(ifc, tmp_path / "ifc.city.json", meshes=meshes)
    assert sorted(doc["CityObjects"]) == sorted(ifc.index)  # the IFC GlobalIds are the object ids
    for gid in ifc.index:
        obj = doc["CityObjects"][gid]
        assert [g["lod"] for g in obj["geometry"]] == ["1", "2"]
        assert {"GroundSurface", "WallSurface", "RoofSurface"} <= set(_kinds(obj))
        assert obj["attributes"]["storeys"] == int(ifc.loc[gid, "storeys"])
        low, high = meshes[gid].bounds[:, 2]
        assert back.loc[gid, "base_elevation_m"] == pytest.approx(low, abs=1e-3)
        assert back.loc[gid, "height_m"] == pytest.approx(high - low, abs=2e-3)
        assert back.loc[gid, "footprint_m2"] == pytest.approx(ifc.loc[gid].geometry.area, rel=1e-3)


def test_sample_city_ifc_building_to_lod2(sample_city_dir, tmp_path):
    _check_ifc_to_lod2([sample_city_dir / "buildings" / "commerce_grande_rue.ifc"], tmp_path)


@pytest.mark.slow
def test_every_sample_city_ifc_building_to_lod2(sample_city_dir, tmp_path):
    paths = sorted((sample_city_dir / "buildings").glob("*.ifc"))
    assert len(paths) == 11
    _check_ifc_to_lod2(paths, tmp_path)


def test_buildings_without_surfaces_stay_lod1(sample_city_dir, tmp_path):
    import cimkit

    footprints = cimkit.read_buildings(sample_city_dir / "footprints.geojson").head(5)
    doc, back = _write_read(footprints, tmp_path / "lod1.city.json")
    assert all([g["lod"] for g in o["geometry"]] == ["1"] for o in doc["CityObjects"].values())
    assert (back["height_m"] - footprints["height_m"]).abs().max() < 0.01


@pytest.mark.shared_data
def test_cityjsonseq_lod2_input(shared_data, tmp_path):
    gdf = read_citygml(shared_data / FOLDER / "v2_Building_LOD2-EPSG25832.gml")
    doc = json.loads(write_cityjson(gdf, tmp_path / "one.city.json").read_text(encoding="utf-8"))
    header = {k: v for k, v in doc.items() if k not in ("CityObjects", "vertices")}
    feature = {
        "type": "CityJSONFeature",
        "id": BID,
        "CityObjects": doc["CityObjects"],
        "vertices": doc["vertices"],
    }
    seq = tmp_path / "one.city.jsonl"
    seq.write_text(
        json.dumps({**header, "CityObjects": {}, "vertices": []}) + "\n" + json.dumps(feature) + "\n"
    )
    from_seq = read_cityjson(seq)
    assert [k for k, _ in from_seq.attrs["surfaces_3d"][BID]].count("WallSurface") == 4
    _, back = _write_read(from_seq, tmp_path / "again.city.json")
    assert back.loc[BID, "footprint_m2"] == pytest.approx(50.0)
    assert back.loc[BID, "height_m"] == pytest.approx(5.0)
