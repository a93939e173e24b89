"""Corpus cases: vector layers (shapefile sidecars, encodings, geometry at the door, zips, limits).

Every hostile file is written under ``tmp`` at test time: a small Lambert-93 parcel layer written
with pyogrio then damaged (a sidecar deleted, bytes rewritten), raw GeoJSON text with NaN /
Infinity tokens, crafted zips; and damaged copies of the real Épinay-sur-Orge cadastre and of
the PLU of commune 17345 (``needs_shared=True``).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

import cimkit
from cimkit import provenance
from cimkit.io.plu import read_zoning
from cimkit.io.vector import read_buildings, read_layer, read_parcels, read_pois
from tests.corpus._registry import corpus_case

X0, Y0 = 650_000.0, 6_860_000.0  # Lambert-93, in Essonne
NAMES = ["Épinay-sur-Orge", "Rue de l'Église"]
CADASTRE = "cadastre_epinay_sur_orge_91216/cadastre-91216-parcelles.json"
PLU = "plu_zone_urba_17345/zone_urba_17345.geojson"


def _parcels() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["91216000AB0001", "91216000AB0002"], "nom": NAMES},
        geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10), shapely.box(X0 + 10, Y0, X0 + 30, Y0 + 10)],
        crs="EPSG:2154",
    )


def _shapefile(tmp: Path, name: str = "parcels") -> Path:
    folder = tmp / name
    folder.mkdir()
    _parcels().to_file(folder / f"{name}.shp")
    return folder / f"{name}.shp"


def _steps(frame) -> dict[str, dict]:
    return {s.action: s.params for s in provenance.get(frame).steps}


def _geojson(
    tmp: Path, name: str, rings: list, *, crs: str | None = "EPSG:2154", kind: str = "Polygon"
) -> Path:
    """Write a GeoJSON of features P0, P1 ... by hand (NaN / Infinity tokens pass through)."""
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"P{i}"},
            "geometry": None if c is None else {"type": kind, "coordinates": c},
        }
        for i, c in enumerate(rings)
    ]
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs.split(':')[1]}"}}
    path = tmp / name
    path.write_text(json.dumps(doc).replace('"NaN"', "NaN").replace('"Infinity"', "Infinity"))
    return path


def _square(x: float = X0, y: float = Y0, side: float = 10.0) -> list:
    return [[[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]]


# --- shapefile sidecars -------------------------------------------------------------------------
@corpus_case("vector/shapefile-ok", expect="ok")
def _shp_ok(tmp, shared):
    parcels = read_parcels(_shapefile(tmp))
    assert parcels.index.tolist() == ["91216000AB0001", "91216000AB0002"]
    np.testing.assert_allclose(parcels["area_m2"], [100.0, 200.0])
    assert parcels["nom"].tolist() == NAMES


@corpus_case("vector/shapefile-without-shx", expect="repaired", code="VEC101")
def _shp_no_shx(tmp, shared):
    shp = _shapefile(tmp)
    shp.with_suffix(".shx").unlink()
    parcels = read_parcels(shp)
    np.testing.assert_allclose(parcels["area_m2"], [100.0, 200.0])
    assert parcels["nom"].tolist() == NAMES
    assert "restore_shx" in _steps(parcels)
    assert not shp.with_suffix(".shx").exists(), "the input folder was modified"


@corpus_case("vector/shapefile-without-dbf", expect="error", code="VEC010")
def _shp_no_dbf(tmp, shared):
    shp = _shapefile(tmp)
    shp.with_suffix(".dbf").unlink()
    read_parcels(shp)


@corpus_case("vector/shapefile-without-prj", expect="error", code="CRS010")
def _shp_no_prj(tmp, shared):
    shp = _shapefile(tmp)
    shp.with_suffix(".prj").unlink()
    read_parcels(shp)


@corpus_case("vector/shapefile-without-prj-source-crs", expect="ok")
def _shp_no_prj_stated(tmp, shared):
    shp = _shapefile(tmp)
    shp.with_suffix(".prj").unlink()
    parcels = read_parcels(shp, source_crs="EPSG:2154")
    assert parcels.crs.to_epsg() == 2154
    assert _steps(parcels)["assign_crs"] is not None


@corpus_case("vector/shapefile-latin1-without-cpg", expect="repaired", code="VEC102")
def _shp_latin1(tmp, shared):
    shp = _shapefile(tmp)
    dbf = shp.with_suffix(".dbf")
    data = dbf.read_bytes()
    for name in NAMES:  # rewrite the UTF-8 text as Latin-1, padded to the same field width
        utf8, latin1 = name.encode(), name.encode("latin-1")
        data = data.replace(utf8, latin1 + b" " * (len(utf8) - len(latin1)))
    dbf.write_bytes(data)
    shp.with_suffix(".cpg").unlink()
    parcels = read_parcels(shp)
    assert parcels["nom"].tolist() == NAMES
    step = _steps(parcels)["decode_text"]
    assert step["count"] == 2 and step["columns"] == ["nom"] and step["encoding"] == "cp1252"


@corpus_case("vector/shapefile-utf8-without-cpg", expect="ok")
def _shp_utf8_no_cpg(tmp, shared):
    shp = _shapefile(tmp)
    shp.with_suffix(".cpg").unlink()
    assert read_parcels(shp)["nom"].tolist() == NAMES


# --- geometry at the door -----------------------------------------------------------------------
@corpus_case("vector/nan-coordinates", expect="error", code="GMT010")
def _nan(tmp, shared):
    bad = [[[X0, Y0], ["NaN", Y0], [X0 + 10, Y0 + 10], [X0, Y0 + 10], [X0, Y0]]]
    try:
        read_parcels(_geojson(tmp, "nan.geojson", [_square(), bad]))
    except cimkit.errors.GeometryError as err:
        assert err.entity == "P1", err.entity
        raise


@corpus_case("vector/infinity-coordinates-zoning", expect="error", code="GMT010")
def _inf(tmp, shared):
    bad = [[[X0, Y0], [X0 + 10, "Infinity"], [X0 + 10, Y0 + 10], [X0, Y0]]]
    path = _geojson(tmp, "inf.geojson", [_square(), bad])
    read_zoning(path)


@corpus_case("vector/nan-z-buildings", expect="error", code="GMT010")
def _nan_z(tmp, shared):
    ring = [[[X0, Y0, 5], [X0 + 10, Y0, "NaN"], [X0 + 10, Y0 + 10, 5], [X0, Y0 + 10, 5], [X0, Y0, 5]]]
    read_buildings(_geojson(tmp, "nanz.geojson", [ring]))


@corpus_case("vector/unclosed-ring", expect="repaired", code="GMT102")
def _unclosed(tmp, shared):
    ring = [[[X0, Y0], [X0 + 10, Y0], [X0 + 10, Y0 + 10], [X0, Y0 + 10]]]  # last point missing
    parcels = read_parcels(_geojson(tmp, "unclosed.geojson", [_square(X0 + 20), ring]))
    np.testing.assert_allclose(parcels.loc[["P0", "P1"], "area_m2"], [100.0, 100.0])
    assert _steps(parcels)["close_rings"]["count"] == 1
    assert _steps(parcels)["close_rings"]["ids"] == ["P1"]


@corpus_case("vector/unclosed-ring-two-points", expect="repaired", code="GMT104")
def _unclosed_short(tmp, shared):
    parcels = read_parcels(_geojson(tmp, "short.geojson", [_square(), [[[X0, Y0], [X0 + 10, Y0]]]]))
    # closed, it has no area: dropped and named, never kept as an empty polygon
    assert parcels.index.tolist() == ["P0"]
    assert _steps(parcels)["drop_degenerate"]["ids"] == ["P1"]


@corpus_case("vector/bowtie", expect="repaired", code="GMT103")
def _bowtie(tmp, shared):
    bowtie = [[[X0, Y0], [X0 + 10, Y0 + 10], [X0 + 10, Y0], [X0, Y0 + 10], [X0, Y0]]]
    parcels = read_parcels(_geojson(tmp, "bowtie.geojson", [_square(X0 + 20), bowtie]))
    # the two triangles of the bowtie, 25 m² each
    assert abs(parcels.loc["P1", "area_m2"] - 50.0) < 1e-6
    assert _steps(parcels)["repair_geometry"]["count"] == 1


@corpus_case("vector/bowtie-refused", expect="error", code="GMT014")
def _bowtie_refused(tmp, shared):
    bowtie = [[[X0, Y0], [X0 + 10, Y0 + 10], [X0 + 10, Y0], [X0, Y0 + 10], [X0, Y0]]]
    read_parcels(_geojson(tmp, "bowtie.geojson", [bowtie]), repair="refuse")


@corpus_case("vector/collapsed-polygon", expect="repaired", code="GMT104")
def _collapsed(tmp, shared):
    flat = [[[X0, Y0], [X0 + 10, Y0], [X0 + 20, Y0], [X0, Y0]]]  # no area: make_valid gives a line
    parcels = read_parcels(_geojson(tmp, "flat.geojson", [_square(X0 + 30), flat]))
    assert parcels.index.tolist() == ["P0"]  # never an empty polygon kept
    assert _steps(parcels)["drop_degenerate"]["ids"] == ["P1"]


@corpus_case("vector/null-geometry", expect="repaired", code="GMT101")
def _null(tmp, shared):
    parcels = read_parcels(_geojson(tmp, "null.geojson", [_square(), None, _square(X0 + 10)]))
    assert parcels.index.tolist() == ["P0", "P2"]
    assert _steps(parcels)["drop_empty"] == {"count": 1, "ids": ["P1"]}


@corpus_case("vector/null-geometry-refused", expect="error", code="GMT012")
def _null_refused(tmp, shared):
    read_parcels(_geojson(tmp, "null.geojson", [_square(), None]), repair="refuse")


@corpus_case("vector/empty-geometry-buildings", expect="repaired", code="GMT101")
def _empty(tmp, shared):
    buildings = read_buildings(_geojson(tmp, "empty.geojson", [_square(), []]))
    assert len(buildings) == 1 and abs(buildings["footprint_m2"].iloc[0] - 100.0) < 1e-9


@corpus_case("vector/z-geometry", expect="ok")
def _z(tmp, shared):
    ring = [[[X0, Y0, 50], [X0 + 10, Y0, 50], [X0 + 10, Y0 + 10, 52], [X0, Y0 + 10, 52], [X0, Y0, 50]]]
    parcels = read_parcels(_geojson(tmp, "z.geojson", [ring]))
    assert abs(parcels["area_m2"].iloc[0] - 100.0) < 1e-9  # planar area, z kept as read
    assert bool(shapely.has_z(parcels.geometry.iloc[0]))
    assert _steps(parcels)["keep_z"]["count"] == 1


@corpus_case("vector/line-in-polygon-layer", expect="error", code="GMT013")
def _line(tmp, shared):
    read_parcels(_geojson(tmp, "line.geojson", [[[X0, Y0], [X0 + 10, Y0]]], kind="LineString"))


@corpus_case("vector/zero-features-parcels", expect="error", code="VEC011")
def _zero(tmp, shared):
    read_parcels(_geojson(tmp, "zero.geojson", []))


@corpus_case("vector/all-null-geometry-zoning", expect="error", code="VEC011")
def _all_null(tmp, shared):
    read_zoning(_geojson(tmp, "nulls.geojson", [None, None]))


@corpus_case("vector/zero-features-read-layer", expect="repaired", code="VEC103")
def _zero_layer(tmp, shared):
    assert len(read_layer(_geojson(tmp, "zero.geojson", []))) == 0


@corpus_case("vector/poi-polygons", expect="repaired", code="VEC104")
def _poi_polygons(tmp, shared):
    path = tmp / "pois.geojson"
    frame = gpd.GeoDataFrame(
        {"category": ["School"]}, geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10)], crs=2154
    )
    frame.to_file(path)
    pois = read_pois(path)
    assert pois.geometry.iloc[0].within(shapely.box(X0, Y0, X0 + 10, Y0 + 10))
    assert pois["category"].tolist() == ["school"]


# --- placement: swapped axes and degrees declared as Lambert-93 ---------------------------------
@corpus_case("vector/swapped-lat-lon", expect="error", code="PLC001")
def _swapped(tmp, shared):
    lat, lon, d = 48.67, 2.31, 1e-4
    ring = [[[lat, lon], [lat, lon + d], [lat + d, lon + d], [lat + d, lon], [lat, lon]]]
    read_parcels(_geojson(tmp, "swapped.geojson", [ring], crs=None), crs="EPSG:2154")


@corpus_case("vector/degrees-declared-lambert93", expect="error", code="PLC001")
def _degrees(tmp, shared):
    lon, lat, d = 2.31, 48.67, 1e-4
    ring = [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]
    read_parcels(_geojson(tmp, "degrees.geojson", [ring]))


@corpus_case("vector/swapped-x-y-lambert93-shapefile", expect="error", code="PLC001")
def _swapped_xy(tmp, shared):
    frame = _parcels()
    frame.geometry = shapely.transform(frame.geometry.to_numpy(), lambda xy: xy[:, ::-1])
    folder = tmp / "swapped"
    folder.mkdir()
    frame.to_file(folder / "p.shp")
    read_parcels(folder / "p.shp")


# --- zips and limits ----------------------------------------------------------------------------
def _zip_of(shp: Path, archive: Path, *, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(shp.parent.iterdir()):
            zf.write(f, prefix + f.name)
    return archive


@corpus_case("vector/zipped-shapefile", expect="ok")
def _zip_ok(tmp, shared):
    archive = _zip_of(_shapefile(tmp), tmp / "parcels.zip")
    parcels = read_parcels(archive, crs="EPSG:4326")
    assert parcels.index.tolist() == ["91216000AB0001", "91216000AB0002"] and parcels["nom"].tolist() == NAMES
    assert abs(parcels["area_m2"].iloc[0] - 100.0) < 0.1
    assert provenance.get(parcels).source_files[0].path.endswith("parcels.zip")


@corpus_case("vector/zip-slip", expect="error", code="ARC001")
def _zip_slip(tmp, shared):
    inner = tmp / "inner"
    inner.mkdir()
    archive = _zip_of(_shapefile(inner), inner / "evil.zip", prefix="../../")
    read_parcels(archive)


@corpus_case("vector/zip-bomb", expect="error", code="LIM004")
def _zip_bomb(tmp, shared):
    archive = tmp / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("parcels.shp", b"\0" * (40 * 1024 * 1024))  # 40 MB of zeros: ratio ~1000
    read_parcels(archive)
    assert False, "unreachable"


@corpus_case("vector/zip-without-vector-file", expect="error", code="ARC003")
def _zip_empty(tmp, shared):
    archive = tmp / "notes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "no layer here")
    read_parcels(archive)


@corpus_case("vector/max-features", expect="error", code="LIM020")
def _max_features(tmp, shared):
    with cimkit.set_options(max_features=1):
        read_parcels(_shapefile(tmp))


# --- real files -------------------------------------------------------------------------------
@corpus_case("vector/real-cadastre-epinay", expect="ok", needs_shared=True)
def _real_cadastre(tmp, shared):
    parcels = read_parcels(shared / CADASTRE, crs="EPSG:2154")
    assert len(parcels) == 4241 and parcels.index.is_unique
    # independent reference: the same parcels on an equal-area projection (ETRS89-LAEA)
    reference = gpd.read_file(shared / CADASTRE).to_crs(3035).area.sum()
    assert abs(parcels["area_m2"].sum() / reference - 1) < 2e-3


@corpus_case("vector/real-cadastre-swapped-lat-lon", expect="error", code="PLC001", needs_shared=True)
def _real_swapped(tmp, shared):
    frame = gpd.read_file(shared / CADASTRE).head(200)
    frame.geometry = shapely.transform(frame.geometry.to_numpy(), lambda xy: xy[:, ::-1])
    frame.to_file(tmp / "swapped.geojson")
    read_parcels(tmp / "swapped.geojson", crs="EPSG:2154")


@corpus_case("vector/real-cadastre-nan-vertex", expect="error", code="GMT010", needs_shared=True)
def _real_nan(tmp, shared):
    doc = json.loads((shared / CADASTRE).read_text(encoding="utf-8"))
    doc["features"] = doc["features"][:50]
    doc["features"][7]["geometry"]["coordinates"][0][0][1] = "NaN"  # one vertex of parcel 8
    target = doc["features"][7]["properties"]["id"]
    path = tmp / "nan.json"
    path.write_text(json.dumps(doc).replace('"NaN"', "NaN"))
    try:
        read_parcels(path)
    except cimkit.errors.GeometryError as err:
        assert err.entity == target, (err.entity, target)
        raise


@corpus_case("vector/real-cadastre-zip-slip", expect="error", code="ARC001", needs_shared=True)
def _real_zip_slip(tmp, shared):
    archive = tmp / "cadastre.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(shared / CADASTRE, "../cadastre-91216-parcelles.json")
    read_parcels(archive)


@corpus_case("vector/real-plu-null-geometries", expect="repaired", code="GMT101", needs_shared=True)
def _real_plu_null(tmp, shared):
    doc = json.loads((shared / PLU).read_text(encoding="utf-8"))
    dropped = [doc["features"][i]["id"] for i in (3, 11)]  # the GeoJSON feature ids ("zone_urba.<gid>")
    for i in (3, 11):
        doc["features"][i]["geometry"] = None
    path = tmp / "zone_urba.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    zones = read_zoning(path, crs="EPSG:2154")
    assert len(zones) == 37
    assert sorted(_steps(zones)["drop_empty"]["ids"]) == sorted(dropped)


# --- cimkit convert on zipped shapefiles ---------------------------------------------------------
@corpus_case("vector/convert-zip-slip", expect="ok")
def _convert_zip_slip(tmp, shared):
    from cimkit.cli.convert import convert_file

    inner = tmp / "inner"
    inner.mkdir()
    archive = _zip_of(_shapefile(inner), inner / "evil.zip", prefix="../")
    record = convert_file(archive, tmp / "out" / "evil.gpkg")
    assert record["status"] == "failed" and record["code"] == "ARC001", record
    assert not (tmp / "out" / "evil.gpkg").exists()


@corpus_case("vector/convert-zipped-shapefiles", expect="ok")
def _convert_zip(tmp, shared):
    from cimkit.cli.convert import convert_file

    first, second = _shapefile(tmp, "parcels"), _shapefile(tmp, "lots")
    archive = tmp / "two.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in [*first.parent.iterdir(), *second.parent.iterdir()]:
            zf.write(f, f.name)
    record = convert_file(archive, tmp / "out" / "two.gpkg", crs="EPSG:2154")
    assert record["status"] == "ok" and record["layers"] == {"parcels": 2, "lots": 2}, record
    back = gpd.read_file(tmp / "out" / "two.gpkg", layer="lots")
    assert sorted(back["nom"]) == sorted(NAMES) and abs(back.area.sum() - 300.0) < 1e-6


@corpus_case("vector/geojson-latin1", expect="repaired", code="VEC102")
def _geojson_latin1(tmp, shared):
    doc = json.loads(_geojson(tmp, "utf8.geojson", [_square()]).read_text())
    doc["features"][0]["properties"]["nom"] = NAMES[1]
    path = tmp / "latin1.geojson"
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode("latin-1"))
    parcels = read_parcels(path)
    assert parcels["nom"].tolist() == [NAMES[1]]
    assert _steps(parcels)["decode_text"]["count"] == 1


@corpus_case("vector/real-plu-shapefile-latin1", expect="repaired", code="VEC102", needs_shared=True)
def _real_plu_latin1(tmp, shared):
    zones = gpd.read_file(shared / PLU)[["libelle", "libelong", "typezone", "gid", "geometry"]]
    folder = tmp / "plu"
    folder.mkdir()
    zones.to_file(folder / "zone_urba.shp")  # upper-case CNIG fields are read either way
    dbf = folder / "zone_urba.dbf"
    data = dbf.read_bytes()
    accented = sorted({t for t in zones["libelong"] if isinstance(t, str) and not t.isascii()})
    assert accented, "the PLU holds accented labels"
    for text in accented:
        utf8 = text.encode()[:254]  # the field width GDAL gives the column
        latin1 = text.encode("cp1252")[: len(utf8)]
        data = data.replace(utf8, latin1 + b" " * (len(utf8) - len(latin1)))
    dbf.write_bytes(data)
    (folder / "zone_urba.cpg").unlink()
    back = read_zoning(folder / "zone_urba.shp", crs="EPSG:2154")
    assert len(back) == 39
    expected = zones["libelong"].str.slice(0, 254).str.rstrip()
    assert back["libelong"].str.rstrip().tolist() == expected.tolist()
    rows = int(zones["libelong"].map(lambda t: isinstance(t, str) and not t.isascii()).sum())
    assert _steps(back)["decode_text"]["count"] == rows


@corpus_case(
    "vector/real-cadastre-shapefile-without-shx", expect="repaired", code="VEC101", needs_shared=True
)
def _real_cadastre_shx(tmp, shared):
    frame = gpd.read_file(shared / CADASTRE).head(300).to_crs("EPSG:2154")
    folder = tmp / "cadastre"
    folder.mkdir()
    frame.to_file(folder / "parcelles.shp")
    (folder / "parcelles.shx").unlink()
    parcels = read_parcels(folder / "parcelles.shp")
    assert parcels.index.tolist() == frame["id"].tolist()
    np.testing.assert_allclose(parcels["area_m2"].to_numpy(), frame.area.to_numpy(), rtol=1e-9)
    assert not (folder / "parcelles.shx").exists()
