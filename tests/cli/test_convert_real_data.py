"""``cimkit convert`` on a folder of real files of every input format, to every output format.

The inputs come from ../shared/data (through the ``shared_data`` fixture; the test skips when it
is absent) plus files derived from them in a temporary folder (a Shapefile, a FlatGeobuf, a
GeoParquet, an OSM XML extract compressed with bzip2) and broken files. Expected counts are
those of ../shared/data/MANIFEST.md or are computed here independently of cimkit's readers.
The default run converts every non-IFC input and one small IFC4 house of the sample city; the
``slow`` test adds the real IFC files: the IFC 2X3 duplex, the IFC4 FZK house, the IFC 4X3_ADD2
earthworks and the IFC 4X3_ADD2 drainage system placed by a sidecar (read with their 3-D
meshes they take tens of seconds each).
"""

from __future__ import annotations

import bz2
import csv
import io
import json
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pyarrow.parquet as pq
import pyogrio
import pytest
from shapely.geometry import shape

from cimkit.cli._convert_formats import INPUT_SUFFIXES, OUTPUT_FORMATS

MESH = ("cityjson", "glb", "3dtiles")

#: input name -> {table: rows} (MANIFEST.md counts, or computed in ``_expected``)
MANIFEST_ROWS: dict[str, dict[str, int]] = {
    "bubenec.gpkg": {"buildings": 144, "streets": 35, "plots": 407, "tessellation": 144},
    "zone_urba_17345.geojson": {"zone_urba_17345": 39},
    "cadastre-91216-parcelles.json": {"cadastre-91216-parcelles": 4241},
    "delft.city.json": {"buildings": 160},
    "Net1.inp": {"water_nodes": 11, "water_links": 13},  # 9 junctions + reservoir + tank; 12 pipes + pump
    "v2_Building_LOD1-EPSG25832.gml": {"buildings": 1},
    "v2_Building_LOD2-EPSG25832.gml": {"buildings": 1},
    "v2_Building_and_garage_LOD2-EPSG25832.gml": {
        "buildings": 1
    },  # one bldg:Building, the garage its BuildingPart
    "zone_urba.shp": {"zone_urba": 39},
    "bubenec_buildings.fgb": {"bubenec_buildings": 144},
    "cadastre.parquet": {"cadastre": 4241},
}
#: Inputs holding buildings with heights: they also go to CityJSON, GLB and 3D Tiles.
BUILDING_INPUTS = {
    "duplex.ifc",
    "Georeferencing-Earthworks-12d-1.ifc4x3_add2.ifc",
    "AC20-FZK-Haus.ifc",
    "maison_lilas_3.ifc",
    "DrainageSystem-1-2.ifc4x3_add2.ifc",
    "delft.city.json",
    "v2_Building_LOD1-EPSG25832.gml",
    "v2_Building_LOD2-EPSG25832.gml",
    "v2_Building_and_garage_LOD2-EPSG25832.gml",
}
#: Broken inputs -> the error codes accepted (the reader's own typed code, or convert's CNV).
BAD_INPUTS = {
    "truncated.ifc": {"IFC005"},  # cut short: no END-ISO-10303-21 trailer
    "random.gpkg": {"CNV001"},
    "empty.city.json": {"CNV005"},
    "zero_bytes.city.json": {"CNV001"},
    "v2_Building_LOD1-LocalEngineeringCRS.gml": {"CGM005"},
}


def _osm_xml(pbf: Path, limit: int = 400) -> bytes:
    """Write OSM XML (nodes + highway ways with their tags) from the first ways of a PBF extract."""
    lines = pyogrio.read_dataframe(
        pbf, layer="lines", columns=["osm_id", "name", "highway"], max_features=3000
    )
    lines = lines[lines["highway"].notna()].head(limit)
    out, node_ids, ways = io.StringIO(), {}, []
    for osm_id, name, highway, geom in lines[["osm_id", "name", "highway", "geometry"]].itertuples(
        index=False
    ):
        refs = [node_ids.setdefault((round(x, 7), round(y, 7)), len(node_ids) + 1) for x, y in geom.coords]
        ways.append((osm_id, name, highway, refs))
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n')
    for (x, y), nid in node_ids.items():
        out.write(f'  <node id="{nid}" lat="{y}" lon="{x}" version="1"/>\n')
    for osm_id, name, highway, refs in ways:
        out.write(f'  <way id="{osm_id}" version="1">\n')
        out.write("".join(f'    <nd ref="{r}"/>\n' for r in refs))
        out.write(f'    <tag k="highway" v={quoteattr(highway)}/>\n')
        if isinstance(name, str):
            out.write(f'    <tag k="name" v={quoteattr(name)}/>\n')
        out.write("  </way>\n")
    out.write("</osm>\n")
    return out.getvalue().encode()


def _make_inputs(data: Path, folder: Path, ifcs: list[str]) -> None:
    folder.mkdir()
    for rel in ifcs:
        shutil.copy(data / rel if not Path(rel).is_absolute() else rel, folder)
    for rel in (
        "cityjson_delft/delft.city.json",
        "citygml_sig3d_examples/v2_Building_LOD1-EPSG25832.gml",
        "citygml_sig3d_examples/v2_Building_LOD2-EPSG25832.gml",
        "citygml_sig3d_examples/v2_Building_and_garage_LOD2-EPSG25832.gml",
        "citygml_sig3d_examples/v2_Building_LOD1-LocalEngineeringCRS.gml",
        "prague_bubenec/bubenec.gpkg",
        "plu_zone_urba_17345/zone_urba_17345.geojson",
        "cadastre_epinay_sur_orge_91216/cadastre-91216-parcelles.json",
        "osm_helsinki/Helsinki.osm.pbf",
        "epanet_networks/Net1.inp",
        "gtfs_cairns/cairns_gtfs.zip",
    ):
        shutil.copy(data / rel, folder)
    # EPANET coordinates are schematic: a sidecar places the file (Lambert-93, near Paris)
    (folder / "Net1.inp.cimkit.json").write_text(
        json.dumps({"crs": "EPSG:2154", "origin": [652000, 6862000]})
    )
    derived = folder / "derived"
    derived.mkdir()
    zone = pyogrio.read_dataframe(data / "plu_zone_urba_17345/zone_urba_17345.geojson")
    pyogrio.write_dataframe(zone, derived / "zone_urba.shp")
    bubenec = pyogrio.read_dataframe(data / "prague_bubenec/bubenec.gpkg", layer="buildings")
    pyogrio.write_dataframe(bubenec, derived / "bubenec_buildings.fgb")
    gpd.read_file(data / "cadastre_epinay_sur_orge_91216/cadastre-91216-parcelles.json").to_parquet(
        derived / "cadastre.parquet"
    )
    (derived / "helsinki_roads.osm.bz2").write_bytes(
        bz2.compress(_osm_xml(data / "osm_helsinki/Helsinki.osm.pbf"))
    )
    bad = folder / "bad"
    bad.mkdir()
    (bad / "truncated.ifc").write_bytes((data / "ifc_duplex_apartment/duplex.ifc").read_bytes()[:20_000])
    (bad / "random.gpkg").write_bytes(bytes((i * 7919) % 251 for i in range(8192)))
    empty = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [0.001] * 3, "translate": [0, 0, 0]},
    }
    empty |= {
        "CityObjects": {},
        "vertices": [],
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
    }
    (bad / "empty.city.json").write_text(json.dumps(empty))
    (bad / "zero_bytes.city.json").write_bytes(b"")
    shutil.move(str(folder / "v2_Building_LOD1-LocalEngineeringCRS.gml"), bad)


def _gtfs_rows(path: Path) -> dict[str, int]:
    """Rows of the GTFS tables and the number of shapes, counted with csv from the zip."""
    with zipfile.ZipFile(path) as archive:

        def rows(name: str) -> list[dict[str, str]]:
            return list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8-sig")))

        counts = {name: len(rows(f"{name}.txt")) for name in ("stops", "routes", "trips", "stop_times")}
        counts |= {name: len(rows(f"{name}.txt")) for name in ("calendar", "calendar_dates")}
        counts["shapes"] = len({r["shape_id"] for r in rows("shapes.txt")})
    return counts


def _rows_of(path: Path, fmt: str) -> int:
    """Reopen one written file and count its rows / features, without cimkit's writer code."""
    if fmt == "parquet":
        return int(pq.read_metadata(path).num_rows)
    if fmt == "geojson":
        doc = json.loads(path.read_text(encoding="utf-8"))
        geoms = [shape(f["geometry"]) for f in doc["features"][:50] if f["geometry"]]
        boxes = [g.bounds for g in geoms if not g.is_empty]
        assert "crs" not in doc and all(
            -180 <= b[0] <= b[2] <= 180 and -90 <= b[1] <= b[3] <= 90 for b in boxes
        )
        return len(doc["features"])
    if fmt in ("fgb", "gpkg"):
        return int(pyogrio.read_info(path)["features"])
    if fmt == "cityjson":
        from cimkit.io.cityjson import read_cityjson

        return len(read_cityjson(path))
    from cimkit.io._gltf import check_glb, split_glb

    data = path.read_bytes()
    assert check_glb(data) == []
    doc, _ = split_glb(data)
    prims = [p for m in doc["meshes"] for p in m["primitives"]]
    return sum(p["extensions"]["EXT_mesh_features"]["featureIds"][0]["featureCount"] for p in prims)


def _check_record(rec: dict[str, Any], expected: dict[str, dict[str, int]]) -> None:
    name, fmt = Path(rec["input"]).name, rec["format"]
    assert rec["status"] == "ok", (name, fmt, rec.get("code"), rec.get("error"))
    files = [Path(f) for f in rec["outputs"]]
    assert files and all(f.is_file() for f in files), (name, fmt)
    if fmt == "gpkg":
        (gpkg,) = files
        found = {
            layer: int(pyogrio.read_info(gpkg, layer=layer)["features"])
            for layer, _ in pyogrio.list_layers(gpkg)
        }
        assert found == rec["layers"], (name, fmt)
    elif fmt in ("parquet", "fgb", "geojson"):
        found = {f.name.rsplit(".", 1)[0]: _rows_of(f, fmt) for f in files}
        assert found == rec["layers"], (name, fmt)
    elif fmt == "3dtiles":
        assert (Path(rec["output"]) / "tileset.json").is_file()
        assert sum(_rows_of(f, "glb") for f in files if f.suffix == ".glb") == rec["layers"]["buildings"]
    else:
        assert _rows_of(files[0], fmt) == rec["layers"]["buildings"], (name, fmt)
    want = expected.get(name)
    if want and fmt in ("gpkg", "parquet"):  # every table, attribute tables included
        assert rec["layers"] == want, (name, fmt)
    elif want and fmt in ("fgb", "geojson"):
        assert rec["layers"].items() <= want.items(), (name, fmt)


def _run_matrix(shared: Path, tmp: Path, ifcs: list[str], extra: dict[str, dict[str, int]]) -> None:
    from cimkit.cli.convert import EXIT_SOME_FAILED, run_convert

    inputs = tmp / "inputs"
    _make_inputs(shared, inputs, ifcs)
    expected = {**MANIFEST_ROWS, "cairns_gtfs.zip": _gtfs_rows(inputs / "cairns_gtfs.zip"), **extra}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = run_convert([inputs], tmp / "out", output_format=list(OUTPUT_FORMATS), jobs=2)
    by_pair = {(Path(r["input"]).name, r["format"]): r for r in report.records}
    names = {name for name, _ in by_pair}
    given = {
        p.name for p in inputs.rglob("*") if p.suffix.lower() in INPUT_SUFFIXES and ".cimkit." not in p.name
    }
    assert names == given
    assert {fmt for _, fmt in by_pair} == set(OUTPUT_FORMATS)
    for (name, fmt), rec in sorted(by_pair.items()):
        if name in BAD_INPUTS:
            assert rec["status"] == "failed" and rec["code"] in BAD_INPUTS[name], (name, fmt, rec.get("code"))
            assert not rec.get("outputs") and not Path(rec["output"]).exists(), (name, fmt)
        elif fmt in MESH and name not in BUILDING_INPUTS:
            assert (rec["status"], rec["code"]) == ("not_applicable", "CNV010"), (name, fmt)
            assert not Path(rec["output"]).exists()
        else:
            _check_record(rec, expected)
    assert by_pair[("Net1.inp", "gpkg")]["crs"] == "EPSG:2154"
    assert by_pair[("delft.city.json", "geojson")]["crs"] == "EPSG:4326"
    roads = by_pair[("helsinki_roads.osm.bz2", "gpkg")]["layers"]
    assert roads["road_edges"] >= 300 and roads["road_nodes"] >= 300
    assert report.exit_code == EXIT_SOME_FAILED == 1
    summary = json.loads((tmp / "out" / "convert-report.json").read_text())
    assert summary["exit_code"] == 1


@pytest.mark.shared_data
def test_real_folder_every_format(shared_data: Path, tmp_path: Path, sample_city_dir: Path) -> None:
    ifcs = [str(sample_city_dir / "buildings" / "maison_lilas_3.ifc")]  # IFC4, reads in ~2 s
    extra = {"maison_lilas_3.ifc": {"buildings": 1, "elements": 28, "materials": 58, "spaces": 2}}
    _run_matrix(shared_data, tmp_path, ifcs, extra)


@pytest.mark.slow
@pytest.mark.shared_data
def test_real_folder_every_format_with_every_ifc(shared_data: Path, tmp_path: Path) -> None:
    ifcs = [
        "ifc_duplex_apartment/duplex.ifc",
        "ifc_kit_fzk_haus/AC20-FZK-Haus.ifc",
        "ifc43_earthworks_georef/Georeferencing-Earthworks-12d-1.ifc4x3_add2.ifc",
        "ifc43_drainage_system/DrainageSystem-1-2.ifc4x3_add2.ifc",
    ]
    extra = {
        "Georeferencing-Earthworks-12d-1.ifc4x3_add2.ifc": {"buildings": 2, "elements": 3},
        "AC20-FZK-Haus.ifc": {"buildings": 1, "elements": 82, "materials": 78, "spaces": 7},
        "duplex.ifc": {"buildings": 1, "elements": 218, "materials": 271, "spaces": 21},
    }
    inputs_sidecar = {"crs": "EPSG:3878", "origin": [0, 0]}  # its coordinates are GK25 already
    original = _make_inputs

    def with_sidecar(data: Path, folder: Path, names: list[str]) -> None:
        original(data, folder, names)
        (folder / "DrainageSystem-1-2.ifc4x3_add2.ifc.cimkit.json").write_text(json.dumps(inputs_sidecar))

    globals()["_make_inputs"] = with_sidecar
    try:
        _run_matrix(shared_data, tmp_path, ifcs, extra)
    finally:
        globals()["_make_inputs"] = original


def test_cli_exit_code_and_typed_reasons_for_broken_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "random.gpkg").write_bytes(bytes((i * 7919) % 251 for i in range(8192)))
    (bad / "zero_bytes.city.json").write_bytes(b"")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cimkit.cli.main",
            "convert",
            str(bad),
            "--to",
            str(tmp_path / "out"),
            "--format",
            "gpkg,geojson",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads((tmp_path / "out" / "convert-report.json").read_text())
    codes = {(Path(r["input"]).name, r["format"]): r["code"] for r in report["files"]}
    assert codes == {
        ("random.gpkg", "gpkg"): "CNV001",
        ("random.gpkg", "geojson"): "CNV001",
        ("zero_bytes.city.json", "gpkg"): "CNV001",
        ("zero_bytes.city.json", "geojson"): "CNV001",
    }
    assert not (tmp_path / "out" / "random.gpkg.gpkg").exists()
