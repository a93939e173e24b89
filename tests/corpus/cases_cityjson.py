"""Corpus cases: CityJSON (vertex indices, transform, versions, content detection, sequences).

Every hostile file is written under ``tmp`` at test time: damaged copies of the Delft CityJSON 2.0
model of the shared data (``needs_shared=True``), or small documents written from scratch.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from cimkit import provenance
from cimkit.io.cityjson import read_cityjson
from tests.corpus._registry import corpus_case

DELFT = "cityjson_delft/delft.city.json"
# MANIFEST: 160 Buildings, extent 84616-85141 E, 447423-447751 N (EPSG:7415 -> 28992)
EXTENT = (84616, 447423, 85141, 447751)


def _delft(shared: Path | None) -> dict:
    assert shared is not None
    return json.loads((shared / DELFT).read_text(encoding="utf-8"))


def _write(tmp: Path, doc: dict, name: str = "city.json") -> Path:
    path = tmp / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _first_building(doc: dict) -> tuple[str, dict]:
    return next((k, o) for k, o in doc["CityObjects"].items() if o["type"] == "Building")


def _check_delft(gdf) -> None:
    assert len(gdf) == 160 and gdf.crs.to_epsg() == 28992
    minx, miny, maxx, maxy = gdf.total_bounds
    assert EXTENT[0] <= minx and maxx <= EXTENT[2] and EXTENT[1] <= miny and maxy <= EXTENT[3]
    assert not gdf.geometry.is_empty.any() and (gdf["height_m"] > 0).all()


@corpus_case("cityjson/delft-real", expect="ok", needs_shared=True)
def _delft_real(tmp, shared):
    gdf = read_cityjson(shared / DELFT)
    _check_delft(gdf)
    assert "apply_transform" in [s.action for s in provenance.get(gdf).steps]


@corpus_case("cityjson/negative-vertex-index", expect="error", code="CJS003", needs_shared=True)
def _negative_index(tmp, shared):
    doc = _delft(shared)
    oid, obj = _first_building(doc)
    obj["geometry"][0]["boundaries"][0][0][0][0] = -5  # numpy would take the 5th vertex from the end
    try:
        read_cityjson(_write(tmp, doc))
    except Exception as err:
        assert getattr(err, "entity", None) == oid
        raise


@corpus_case("cityjson/out-of-range-vertex-index", expect="error", code="CJS003", needs_shared=True)
def _out_of_range(tmp, shared):
    doc = _delft(shared)
    _, obj = _first_building(doc)
    obj["geometry"][0]["boundaries"][0][1][0][2] = len(doc["vertices"])  # one past the end
    read_cityjson(_write(tmp, doc))


@corpus_case("cityjson/missing-transform", expect="error", code="CJS004", needs_shared=True)
def _missing_transform(tmp, shared):
    doc = _delft(shared)
    del doc["transform"]  # the integers read as metres would be hundreds of km away
    read_cityjson(_write(tmp, doc))


@corpus_case("cityjson/version-0.9", expect="error", code="CJS002", needs_shared=True)
def _old_version(tmp, shared):
    doc = _delft(shared)
    doc["version"] = "0.9"
    read_cityjson(_write(tmp, doc))


@corpus_case("cityjson/version-1.0-real-coordinates", expect="repaired", code="CJS101", needs_shared=True)
def _version_10(tmp, shared):
    doc = _delft(shared)
    reference = read_cityjson(shared / DELFT)
    transform = doc.pop("transform")
    real = np.asarray(doc["vertices"]) * transform["scale"] + transform["translate"]
    doc["vertices"] = real.round(3).tolist()
    doc["version"] = "1.0"
    gdf = read_cityjson(_write(tmp, doc))
    _check_delft(gdf)
    assert np.allclose(gdf.total_bounds, reference.total_bounds, atol=1e-6)
    assert np.allclose(gdf["footprint_m2"], reference["footprint_m2"], rtol=1e-9)
    assert "no_transform" in [s.action for s in provenance.get(gdf).steps]


@corpus_case("cityjson/binary-garbage", expect="error", code="CJS001")
def _garbage(tmp, shared):
    path = tmp / "city.json"
    path.write_bytes(np.random.default_rng(13).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    read_cityjson(path)


@corpus_case("cityjson/truncated", expect="error", code="CJS001", needs_shared=True)
def _truncated(tmp, shared):
    data = (shared / DELFT).read_bytes()
    path = tmp / "city.json"
    path.write_bytes(data[: len(data) // 2])
    read_cityjson(path)


@corpus_case("cityjson/geojson-not-cityjson", expect="error", code="CJS001")
def _geojson(tmp, shared):
    read_cityjson(_write(tmp, {"type": "FeatureCollection", "features": []}))


@corpus_case("cityjson/nan-vertex", expect="error", code="CJS005", needs_shared=True)
def _nan_vertex(tmp, shared):
    doc = _delft(shared)
    doc["vertices"][10][1] = float("nan")  # written as the NaN token, accepted by json.loads
    read_cityjson(_write(tmp, doc))


def _remap(boundaries, mapping: dict[int, int]):
    if isinstance(boundaries, list):
        return [_remap(b, mapping) for b in boundaries]
    return mapping.setdefault(boundaries, len(mapping))


@corpus_case("cityjson/delft-as-cityjsonseq", expect="ok", needs_shared=True)
def _sequence(tmp, shared):
    doc = _delft(shared)
    reference = read_cityjson(shared / DELFT)
    header = {k: v for k, v in doc.items() if k not in ("CityObjects", "vertices")}
    lines = [json.dumps({**header, "CityObjects": {}, "vertices": []})]
    for oid, obj in doc["CityObjects"].items():
        if obj["type"] != "Building":
            continue
        mapping: dict[int, int] = {}
        for geometry in obj.get("geometry", []):
            geometry["boundaries"] = _remap(geometry["boundaries"], mapping)
        verts = [doc["vertices"][old] for old, _ in sorted(mapping.items(), key=lambda kv: kv[1])]
        feature = {"type": "CityJSONFeature", "id": oid, "CityObjects": {oid: obj}, "vertices": verts}
        lines.append(json.dumps(feature))
    path = tmp / "delft.city.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gdf = read_cityjson(path)
    _check_delft(gdf)
    assert np.allclose(gdf["footprint_m2"], reference.loc[gdf.index, "footprint_m2"], rtol=1e-9)
    assert np.allclose(gdf["height_m"], reference.loc[gdf.index, "height_m"], atol=1e-9)


@corpus_case("cityjson/delft-gzipped", expect="ok", needs_shared=True)
def _gzipped(tmp, shared):
    path = tmp / "delft.city.json.gz"
    path.write_bytes(gzip.compress((shared / DELFT).read_bytes()))
    _check_delft(read_cityjson(path))


@corpus_case(
    "cityjson/version-1.0-integers-without-transform", expect="error", code="PLC001", needs_shared=True
)
def _old_integers(tmp, shared):
    doc = _delft(shared)
    del doc["transform"]  # 1.0 allows it, but these integers are 0-524 km: not in the Netherlands
    doc["version"] = "1.0"
    read_cityjson(_write(tmp, doc))


@corpus_case("cityjson/wrong-reference-system", expect="error", code="PLC001", needs_shared=True)
def _wrong_crs(tmp, shared):
    doc = _delft(shared)
    doc["metadata"]["referenceSystem"] = "https://www.opengis.net/def/crs/EPSG/0/2154"  # Lambert-93
    read_cityjson(_write(tmp, doc))
