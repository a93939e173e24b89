"""A short, bounded fuzz run of the IFC, GeoJSON and CityJSON readers.

Each test mutates a real small file (byte edits: deletions, insertions of tricky tokens,
truncations; or JSON-level edits: a random node of the document replaced by a random JSON
value) and reads it. Every outcome must be a return or a :class:`~cimkit.errors.CimkitError`:
any other exception, a crash of the process or a hang fails the test (the IFC parser runs in
the sandboxed worker, where a crash becomes ``ReaderCrashError``). Examples are derandomised
(the same mutations on every run) and bounded (``tests/fuzz/_strategies.py``).
A crash found here gets a minimal reproducer in ``tests/corpus/cases_fuzz.py``.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import cimkit
from cimkit.errors import CimkitError
from cimkit.io.vector import read_layer
from tests.fuzz._strategies import READER, mutate

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"

TOKENS = [
    b"NaN", b"Infinity", b"-Infinity", b"1e308", b"-1e308", b"1e-320", b"-0", b"null", b"true", b"[]",
    b"{}", b"[", b"]", b"{", b"}", b'"', b",", b":", b"\x00", b"\xff\xfe", b"\xc3(", b"\n", b"9" * 40,
]  # fmt: skip
IFC_TOKENS = [
    b"nan", b"NAN", b"1.E308", b"-1.E308", b"0.", b"$", b"*", b"#999999", b"#0", b"()", b"(,)", b"'",
    b"''", b"\\X2\\", b"\n", b";", b"=", b"IFCCARTESIANPOINT((0.,0.,0.))", b"\x00", b"\xff",
]  # fmt: skip


def _edits(tokens: list[bytes]) -> st.SearchStrategy[list[tuple[int, int, bytes]]]:
    inserted = st.one_of(st.sampled_from(tokens), st.binary(max_size=12))
    return st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 24), inserted), min_size=1, max_size=6)


def _outcome(read, path: Path) -> Any:
    """Run a reader: its result, or None for a typed error. Anything else propagates and fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return read(path)
        except CimkitError as err:
            assert err.code and len(err.code) == 6, f"a CimkitError without a stable code: {err!r}"
            return None


# ----------------------------------------------------------------------------- JSON-level edits
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**20), 10**20),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:50]):
            out += _paths(value, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return doc


def _json_mutant(seed: dict[str, Any], index: int, value: Any) -> str:
    doc = json.loads(json.dumps(seed))
    paths = _paths(doc)
    return json.dumps(_replace(doc, paths[index % len(paths)], value))  # NaN / Infinity written as such


# ----------------------------------------------------------------------------- GeoJSON
GEOJSON_SEED = (SAMPLE / "zone_urba.geojson").read_bytes()  # 7 PLU zones, EPSG:4326


@READER
@given(_edits(TOKENS))
@example(edits=[(40, 0, b"\x80")])  # found: a layer name that is not UTF-8 (cases_fuzz.py)
@example(edits=[(277, 0, b"\x80")])  # found: a field name that is not UTF-8 (cases_fuzz.py)
def test_geojson_byte_mutations(tmp_path_factory, edits):
    path = tmp_path_factory.mktemp("gj") / "zones.geojson"
    path.write_bytes(mutate(GEOJSON_SEED, edits))
    _outcome(lambda p: read_layer(p, crs="EPSG:2154"), path)


@READER
@given(st.integers(0, 10_000), json_values)
def test_geojson_structure_mutations(tmp_path_factory, index, value):
    path = tmp_path_factory.mktemp("gj") / "zones.geojson"
    path.write_text(_json_mutant(json.loads(GEOJSON_SEED), index, value), encoding="utf-8")
    out = _outcome(lambda p: cimkit.read_buildings(p, crs="EPSG:2154"), path)
    if out is not None and len(out):
        assert out.crs.to_epsg() == 2154 and out.geometry.is_valid.all()


# ----------------------------------------------------------------------------- CityJSON
def _cityjson_seed() -> dict[str, Any]:
    """One 10 m x 8 m x 6 m building in Amersfoort / RD New (CityJSON 2.0, integer vertices)."""
    corners = [(0, 0), (10, 0), (10, 8), (0, 8)]
    vertices = [[x * 1000, y * 1000, z * 1000] for z in (0, 6) for x, y in corners]
    shell = [
        [[0, 3, 2, 1]], [[4, 5, 6, 7]], [[0, 1, 5, 4]], [[1, 2, 6, 5]], [[2, 3, 7, 6]], [[3, 0, 4, 7]],
    ]  # fmt: skip
    return {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [85000.0, 447000.0, 0.0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
        "CityObjects": {
            "b1": {
                "type": "Building",
                "attributes": {"measuredHeight": 6.0},
                "geometry": [{"type": "Solid", "lod": "1", "boundaries": [shell]}],
            }
        },
        "vertices": vertices,
    }


def test_cityjson_seed_reads():
    """The seed itself is read right: one building, a 10 x 8 m footprint in EPSG:28992."""
    import tempfile

    from cimkit.io.cityjson import read_cityjson

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed.city.json"
        path.write_text(json.dumps(_cityjson_seed()), encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = read_cityjson(path)
    assert list(out.index) == ["b1"]
    assert out.geometry.area.iloc[0] == pytest.approx(80.0)
    assert out.total_bounds.tolist() == pytest.approx([85000.0, 447000.0, 85010.0, 447008.0])


@READER
@given(st.integers(0, 10_000), json_values)
@example(index=_paths(_cityjson_seed()).index(("metadata",)), value=1)  # found: "metadata": 1 (cases_fuzz.py)
def test_cityjson_structure_mutations(tmp_path_factory, index, value):
    from cimkit.io.cityjson import read_cityjson

    path = tmp_path_factory.mktemp("cj") / "city.city.json"
    path.write_text(_json_mutant(_cityjson_seed(), index, value), encoding="utf-8")
    out = _outcome(read_cityjson, path)
    placed = None if out is None else out.geometry[~out.geometry.is_empty]  # empty: warned, in provenance
    if placed is not None and len(placed):
        bounds = placed.total_bounds  # a wrong vertex never lands hundreds of km away
        assert bounds[0] >= 85000.0 - 1e-6 and bounds[2] <= 85010.0 + 1e-6, bounds


@READER
@given(_edits(TOKENS))
def test_cityjson_byte_mutations(tmp_path_factory, edits):
    from cimkit.io.cityjson import read_cityjson

    path = tmp_path_factory.mktemp("cj") / "city.city.json"
    path.write_bytes(mutate(json.dumps(_cityjson_seed()).encode(), edits))
    _outcome(read_cityjson, path)


# ----------------------------------------------------------------------------- IFC
IFC_SEED = (SAMPLE / "buildings" / "commerce_grande_rue.ifc").read_bytes()
_NUMBER = re.compile(rb"(?<=[(,])-?\d+\.\d*(?:E-?\d+)?(?=[,)])")
_REFERENCE = re.compile(rb"#\d+")


@st.composite
def ifc_mutants(draw) -> bytes:
    """The seed with numbers, references or lines replaced, or with raw byte edits."""
    data = IFC_SEED
    kind = draw(st.sampled_from(["number", "reference", "line", "bytes"]))
    if kind == "bytes":
        return mutate(data, draw(_edits(IFC_TOKENS)))
    pattern = {"number": _NUMBER, "reference": _REFERENCE, "line": re.compile(rb"^#\d+=.*$", re.M)}[kind]
    spans = [m.span() for m in pattern.finditer(data)]
    for _ in range(draw(st.integers(1, 4))):
        start, end = spans[draw(st.integers(0, len(spans) - 1))]
        if kind == "line":
            new = draw(st.sampled_from([b"", b"#1=IFCPROJECT($);", data[start:end].replace(b"(", b"((", 1)]))
        elif kind == "reference":
            new = draw(st.sampled_from([b"#999999", b"#0", b"#1", b"$", b"*"]))
        else:
            new = draw(st.sampled_from(IFC_TOKENS[:6]))
        data = data[:start] + new + data[end:]
        spans = [m.span() for m in pattern.finditer(data)]
        if not spans:
            break
    return data


@pytest.fixture(scope="module")
def _short_ifc_timeout():
    with cimkit.set_options(ifc_timeout_s=30):
        yield


@READER
@given(ifc_mutants())
def test_ifc_mutations(tmp_path_factory, _short_ifc_timeout, data):
    from cimkit.io.ifc import read_georeference

    path = tmp_path_factory.mktemp("ifc") / "building.ifc"
    path.write_bytes(data)
    geo = _outcome(read_georeference, path)  # parses the whole file in the sandboxed worker
    if geo is not None and geo.is_placed:
        assert geo.effective_scale > 0 and abs(geo.eastings) < 1e9
