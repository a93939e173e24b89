"""Corpus cases: minimal reproducers of the crashes found by the fuzz run (tests/fuzz).

Each case is the smallest input the fuzzer shrank a failure to, rebuilt at test time from the
sample city's files. The GeoJSON cases were found by
``tests/fuzz/test_fuzz_readers.py::test_geojson_byte_mutations`` (``CIMKIT_FUZZ_EXAMPLES=500``):
one byte 0x80 inserted into the sample city's PLU GeoJSON (both raised a raw ``ValueError`` /
``UnicodeDecodeError`` from pyogrio); the CityJSON case by ``test_cityjson_structure_mutations``
(``CIMKIT_FUZZ_EXAMPLES=1000``: a raw ``AttributeError``).
"""

from __future__ import annotations

import json
from pathlib import Path

from cimkit import provenance
from cimkit.datasets import sample_city_path
from cimkit.io.vector import read_layer
from tests.corpus._registry import corpus_case

LABELS = ["1AUh", "A", "N", "UA", "UB", "UE", "UX"]  # the libelle of the sample city's 7 zones


def _zone_urba_with(tmp: Path, marker: bytes) -> Path:
    """The sample city's zone_urba.geojson with one byte 0x80 (not UTF-8) before ``marker``."""
    data = (sample_city_path() / "zone_urba.geojson").read_bytes()
    assert data.count(marker) >= 1
    path = tmp / "zone_urba.geojson"
    path.write_bytes(data.replace(marker, b"\x80" + marker, 1))
    return path


@corpus_case("fuzz/geojson-non-utf8-field-name", expect="repaired", code="VEC102")
def _non_utf8_field_name(tmp, shared):
    # 0x80 before the first "libelong" key: a field name that is not UTF-8 (Windows-1252: "€")
    zones = read_layer(_zone_urba_with(tmp, b'libelong"'), crs="EPSG:2154")
    assert sorted(zones["libelle"]) == LABELS
    assert "€libelong" in zones.columns
    assert any(step.action == "decode_text" for step in provenance.get(zones).steps)


@corpus_case("fuzz/geojson-non-utf8-layer-name", expect="ok")
def _non_utf8_layer_name(tmp, shared):
    # 0x80 inside the collection's "name" member: only the layer's name is not UTF-8, the
    # features and their text are read unchanged (no data decoded differently: nothing to warn)
    zones = read_layer(_zone_urba_with(tmp, b'zone_urba"'), crs="EPSG:2154")
    assert sorted(zones["libelle"]) == LABELS
    assert zones.crs.to_epsg() == 2154


@corpus_case("fuzz/cityjson-metadata-not-an-object", expect="error", code="CJS001")
def _cityjson_metadata_not_an_object(tmp, shared):
    # found by tests/fuzz/test_fuzz_readers.py::test_cityjson_structure_mutations: "metadata": 1
    from cimkit.io.cityjson import read_cityjson

    vertices = [[x * 1000, y * 1000, z * 1000] for z in (0, 6) for x, y in [(0, 0), (10, 0), (10, 8), (0, 8)]]
    shell = [[[0, 3, 2, 1]], [[4, 5, 6, 7]], [[0, 1, 5, 4]], [[1, 2, 6, 5]], [[2, 3, 7, 6]], [[3, 0, 4, 7]]]
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [85000.0, 447000.0, 0.0]},
        "metadata": 1,
        "CityObjects": {
            "b1": {"type": "Building", "geometry": [{"type": "Solid", "lod": "1", "boundaries": [shell]}]}
        },
        "vertices": vertices,
    }
    path = tmp / "city.city.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    read_cityjson(path, source_crs="EPSG:7415")
