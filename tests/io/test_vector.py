"""Vector readers: parcels, zoning with rules, prescriptions, buildings, POIs."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit import provenance
from cimkit.errors import (
    CimkitIOError,
    CRSError,
    DataTableError,
    GeometryError,
    InputError,
    LayerNotFoundError,
    MissingCRSError,
)
from cimkit.io.plu import read_prescriptions, read_zone_rules, read_zoning
from cimkit.io.vector import read_buildings, read_parcels, read_pois

L93 = "EPSG:2154"
X0, Y0 = 650_000.0, 6_860_000.0


def _parcels_frame():
    return gpd.GeoDataFrame(
        {
            "id": ["91216000AB0001", "91216000AB0002", "91216000AB0003"],
            "commune": ["91216"] * 3,
            "contenance": [100, 180, 400],
        },
        geometry=[
            shapely.box(X0, Y0, X0 + 10, Y0 + 10),  # 100 m²: ratio 1
            shapely.box(X0 + 10, Y0, X0 + 30, Y0 + 10),  # 200 m²: 180/200 = 0.9 (at the limit)
            shapely.box(X0, Y0 + 10, X0 + 30, Y0 + 20),  # 300 m²: 400/300 = 1.333 -> flagged
        ],
        crs=L93,
    )


def test_read_parcels_etalab_fields(tmp_path):
    path = tmp_path / "parcels.gpkg"
    _parcels_frame().to_file(path, layer="parcelles")
    parcels = read_parcels(path)
    assert parcels.index.name == "parcel_id"
    assert parcels.index.tolist()[0] == "91216000AB0001"
    np.testing.assert_allclose(parcels["area_m2"], [100, 200, 300])
    np.testing.assert_allclose(parcels["contenance_ratio"], [1.0, 0.9, 4 / 3])
    # |0.9 - 1| = 0.1 is not > 0.1; 1.333 is
    assert parcels["contenance_flag"].tolist() == [False, False, True]
    assert "commune" in parcels.columns
    record = provenance.get(parcels)
    assert record.reader == "cimkit.read_parcels"
    assert record.source_files[0].sha256 is not None


def test_read_parcels_formats_zip_parquet_and_crs(tmp_path):
    frame = _parcels_frame()
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    frame.to_file(shp_dir / "parcels.shp")
    archive = tmp_path / "parcels.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in shp_dir.iterdir():
            zf.write(f, f.name)
    zipped = read_parcels(archive, crs=4326)
    assert len(zipped) == 3
    assert zipped.crs.to_epsg() == 4326
    # area in a geographic CRS: equal-area projection; the 100 m² Lambert-93 square is
    # 100.024 m² on the ellipsoid (Lambert-93 scale factor ~0.99988 there); independent
    # reference: the same square in ETRS89-LAEA (EPSG:3035, equal-area)
    reference = frame.to_crs(3035).area.iloc[0]
    assert zipped["area_m2"].iloc[0] == pytest.approx(reference, rel=1e-7)
    assert zipped["area_m2"].iloc[0] == pytest.approx(100.0, rel=1e-3)
    assert provenance.get(zipped).steps[0].action == "reproject"
    also = read_parcels(f"zip://{archive}")
    assert len(also) == 3
    frame.to_parquet(tmp_path / "parcels.parquet")
    pq = read_parcels(tmp_path / "parcels.parquet")
    np.testing.assert_allclose(pq["area_m2"], [100, 200, 300])


def test_read_parcels_missing_crs_needs_source_crs(tmp_path):
    frame = _parcels_frame()
    frame.to_file(tmp_path / "nocrs.shp")
    (tmp_path / "nocrs.prj").unlink()
    with pytest.raises(MissingCRSError, match=r"nocrs\.shp") as err:
        read_parcels(tmp_path / "nocrs.shp")
    assert "source_crs" in str(err.value)
    parcels = read_parcels(tmp_path / "nocrs.shp", source_crs=L93)
    assert parcels.crs.to_epsg() == 2154
    assert provenance.get(parcels).steps[0].action == "assign_crs"
    with pytest.raises(CRSError, match="contradicts"):
        read_parcels(tmp_path / "nocrs.shp", source_crs=L93) if False else read_parcels(
            _write(frame, tmp_path / "withcrs.gpkg"), source_crs=4326
        )


def _write(frame, path):
    frame.to_file(path)
    return path


def test_read_parcels_repair_or_refuse(tmp_path):
    frame = _parcels_frame()
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    frame.loc[0, "geometry"] = bowtie
    path = _write(frame, tmp_path / "bad.gpkg")
    with pytest.raises(GeometryError, match="invalid polygon") as err:
        read_parcels(path, repair="refuse")
    assert err.value.entity == "91216000AB0001"  # the parcel id, not the row
    with pytest.warns(UserWarning, match="repaired"):
        parcels = read_parcels(path)
    assert parcels.geometry.is_valid.all()
    # make_valid splits the bow-tie into two triangles of 25 m² each
    assert parcels["area_m2"].iloc[0] == pytest.approx(50.0)
    step = next(s for s in provenance.get(parcels).steps if s.action == "repair_geometry")
    assert step.params["count"] == 1


def test_read_errors(tmp_path):
    with pytest.raises(CimkitIOError, match="does not exist"):
        read_parcels(tmp_path / "missing.gpkg")
    frame = _parcels_frame()
    path = tmp_path / "two.gpkg"
    frame.to_file(path, layer="a")
    frame.to_file(path, layer="b")
    with pytest.raises(LayerNotFoundError, match="2 layers"):
        read_parcels(path)
    with pytest.raises(LayerNotFoundError):
        read_parcels(path, layer="nope")
    with pytest.raises(InputError, match="id column 'nope'"):
        read_parcels(path, layer="a", id_column="nope")


ZONES_UPPER = {
    "IDURBA": ["X_PLU_1"] * 4,
    "LIBELLE": ["UA", "1AUh", "2AU", "Nh"],
    "LIBELONG": ["centre", "future", "closed", "hameau"],
    "TYPEZONE": ["U", "AU", "AU", "Nh"],
}


def _zones(tmp_path, upper=True):
    geoms = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(4)]
    data = ZONES_UPPER if upper else {k.lower(): v for k, v in ZONES_UPPER.items()}
    path = tmp_path / ("zone_urba.shp" if upper else "zone_urba.geojson")
    gpd.GeoDataFrame(data, geometry=geoms, crs=L93).to_file(path)
    return path


def test_read_zoning_upper_case_and_typezone(tmp_path):
    zones = read_zoning(_zones(tmp_path))
    assert {"libelle", "typezone", "idurba", "typezone_source"} <= set(zones.columns)
    assert zones.index.name == "zone_id"
    # AU + "1AU..." -> AUc (open), AU + "2AU..." -> AUs (closed), Nh (older standard) -> N
    assert zones["typezone"].tolist() == ["U", "AUc", "AUs", "N"]
    assert zones["typezone_source"].tolist() == ["U", "AU", "AU", "Nh"]
    lower = read_zoning(_zones(tmp_path, upper=False))
    assert lower["typezone"].tolist() == zones["typezone"].tolist()


def test_read_zoning_rules_csv_and_toml(tmp_path):
    csv = tmp_path / "rules.csv"
    csv.write_text(
        "libelle,max_height_m,max_footprint_ratio,min_setback_road_m,min_setback_side_m,"
        "side_setback_height_ratio,min_green_ratio,allowed_uses\n"
        "UA,12,0.6,0,3,0.5,0.2,housing; Office\n"
        "1AUh,9,0.4,5,4,0.5,0.3,housing\n"
        "ZZ,1,0.1,,,,,\n",
        encoding="utf-8",
    )
    with pytest.warns(UserWarning) as rec:
        zones = read_zoning(_zones(tmp_path), rules=csv)
    messages = " ".join(str(w.message) for w in rec)
    assert "['2AU', 'Nh']" in messages  # zones without a rule
    assert "['ZZ']" in messages  # rule without a zone
    assert zones.set_index("libelle").loc["UA", "max_height_m"] == 12.0
    assert zones.set_index("libelle").loc["UA", "allowed_uses"] == "housing;office"
    assert np.isnan(zones.set_index("libelle").loc["2AU", "max_height_m"])

    toml = tmp_path / "rules.toml"
    toml.write_text(
        '[UA]\nmax_height_m = 12\nmax_footprint_ratio = 0.6\nallowed_uses = "housing"\n', encoding="utf-8"
    )
    table = read_zone_rules(toml)
    assert table.loc["UA", "max_footprint_ratio"] == 0.6
    assert np.isnan(table.loc["UA", "min_green_ratio"])


def test_read_rules_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("libelle,max_footprint_ratio\nUA,0.5\nUB,1.5\n", encoding="utf-8")
    with pytest.raises(DataTableError, match="between 0 and 1") as err:
        read_zone_rules(bad)
    assert err.value.line == 3
    dup = pd.DataFrame({"libelle": ["UA", "UA"], "max_height_m": [9, 10]})
    with pytest.raises(DataTableError, match="twice"):
        read_zone_rules(dup)
    with pytest.raises(DataTableError, match="no 'libelle'"):
        read_zone_rules(pd.DataFrame({"zone": ["UA"]}))


def test_read_prescriptions_codes(tmp_path):
    path = tmp_path / "prescription_surf.geojson"
    gpd.GeoDataFrame(
        {"TYPEPSC": ["01", "5", "99"], "STYPEPSC": ["00", "0", "01"], "LIBELLE": ["EBC", "ER n°3", "?"]},
        geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 10)] * 3,
        crs=L93,
    ).to_file(path)
    psc = read_prescriptions(path)
    assert psc["typepsc"].tolist() == ["01", "05", "99"]
    assert psc["stypepsc"].tolist() == ["00", "00", "01"]
    assert psc["label"].tolist()[:2] == ["Espace boisé classé", "Emplacement réservé"]
    assert psc["legal_reference"].tolist()[:2] == ["L113-1", "L151-41"]
    assert psc["label"].isna().tolist()[2]


def test_read_buildings_and_pois(tmp_path):
    b = gpd.GeoDataFrame(
        {"ID": ["b1", "b2"], "hauteur": [6.5, 9.0]},
        geometry=[shapely.box(X0, Y0, X0 + 10, Y0 + 8), shapely.box(X0 + 20, Y0, X0 + 25, Y0 + 5)],
        crs=L93,
    )
    path = _write(b, tmp_path / "b.gpkg")
    buildings = read_buildings(path)
    assert buildings.index.tolist() == ["b1", "b2"]
    np.testing.assert_allclose(buildings["footprint_m2"], [80, 25])
    np.testing.assert_allclose(buildings["height_m"], [6.5, 9.0])
    pois = gpd.GeoDataFrame(
        {"kind": [" School", "shop"]},
        geometry=[shapely.Point(X0, Y0), shapely.box(X0, Y0, X0 + 2, Y0 + 2)],
        crs=L93,
    )
    ppath = _write(pois, tmp_path / "p.gpkg")
    with pytest.raises(InputError, match="category"):
        read_pois(ppath)
    with pytest.warns(UserWarning, match="non-point"):
        out = read_pois(ppath, category_column="kind")
    assert out["category"].tolist() == ["school", "shop"]
    assert (out.geom_type == "Point").all()
    assert out.index.name == "poi_id"


@pytest.mark.shared_data
def test_etalab_epinay_sur_orge(shared_data):
    path = shared_data / "cadastre_epinay_sur_orge_91216" / "cadastre-91216-parcelles.json"
    parcels = read_parcels(path, crs=L93)
    assert len(parcels) == 4241  # MANIFEST count
    assert parcels.index.is_unique and parcels.index.name == "parcel_id"
    assert (parcels.index.str.len() == 14).all()  # Etalab id: INSEE + prefixe + section + numero
    assert parcels.crs.to_epsg() == 2154
    # independent areas: the same polygons in ETRS89-LAEA (EPSG:3035, equal-area); Lambert-93
    # scale error near 48.7 N is below 0.1 %
    raw = gpd.read_file(path).to_crs(3035)
    np.testing.assert_allclose(parcels["area_m2"].to_numpy(), raw.area.to_numpy(), rtol=2e-3)
    ratio = raw["contenance"].to_numpy() / raw.area.to_numpy()
    expected_flags = int((np.abs(ratio - 1) > 0.1).sum())
    assert abs(int(parcels["contenance_flag"].sum()) - expected_flags) <= 2
    assert 100 < expected_flags < 300


@pytest.mark.shared_data
def test_plu_zone_urba_17345(shared_data):
    zones = read_zoning(shared_data / "plu_zone_urba_17345" / "zone_urba_17345.geojson", crs=L93)
    assert len(zones) == 39  # MANIFEST count
    # idzone is empty in this API extract, so the index comes from gid
    assert zones.index.is_unique and zones.index[0] == 1935465
    assert zones["typezone"].value_counts().to_dict() == {"N": 19, "A": 10, "U": 9, "AUc": 1}
    assert set(zones["libelle"]) == {"Ua", "Ub", "Ux", "AU", "A", "Ap", "N", "Np", "Ne", "Npv"}


def test_sample_city_layers(sample_city_dir):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every zone has a rule and every rule a zone
        zones = read_zoning(
            sample_city_dir / "zone_urba.geojson", rules=sample_city_dir / "zone_rules.csv", crs=L93
        )
    assert zones["libelle"].tolist() == ["UA", "UB", "UE", "UX", "1AUh", "N", "A"]
    assert zones.index[0] == "91999_PLU_20230615_UA"  # idzone is filled here
    assert zones.set_index("libelle").loc["UB", "max_height_m"] == 12.0  # zone_rules.csv
    parcels = read_parcels(sample_city_dir / "parcels.geojson", crs=L93)
    assert len(parcels) == 97
    # the README's deliberate defect: AC0005 declares 30 % more than its area, the rest < 2 %
    assert parcels.index[parcels["contenance_flag"]].tolist() == ["91999000AC0005"]
    assert parcels.loc["91999000AC0005", "contenance_ratio"] == pytest.approx(1.30, abs=0.005)
    psc = read_prescriptions(sample_city_dir / "prescription_surf.geojson", crs=L93)
    assert psc["label"].tolist() == ["Espace boisé classé", "Emplacement réservé"]
    footprints = read_buildings(sample_city_dir / "footprints.geojson")
    assert len(footprints) == 43 and footprints.index[0] == "BATI0001"
    assert footprints["height_m"].isna().sum() == 3  # "a few footprints have no height_m"
    pois = read_pois(sample_city_dir / "pois.geojson")
    assert len(pois) == 23 and "school" in set(pois["category"])


# --------------------------------------------------------------------------------------------
# hostile input at the readers' door (codes of docs/errors.md; more cases in tests/corpus)
# --------------------------------------------------------------------------------------------
def _shp(tmp_path, frame=None, name="shp"):
    folder = tmp_path / name
    folder.mkdir()
    (frame if frame is not None else _parcels_frame()).to_file(folder / "parcels.shp")
    return folder / "parcels.shp"


def test_shapefile_sidecars(tmp_path):
    from cimkit.errors import RepairWarning

    shp = _shp(tmp_path)
    shp.with_suffix(".shx").unlink()
    with pytest.warns(RepairWarning, match="no .shx") as rec:
        parcels = read_parcels(shp)
    assert [w.message.code for w in rec if isinstance(w.message, RepairWarning)] == ["VEC101"]
    np.testing.assert_allclose(parcels["area_m2"], [100, 200, 300])
    assert not shp.with_suffix(".shx").exists()  # the input folder is left as it was
    assert provenance.get(parcels).steps[0].action == "restore_shx"
    shp.with_suffix(".dbf").unlink()
    with pytest.raises(InputError, match=r"no \.dbf") as err:
        read_parcels(shp)
    assert err.value.code == "VEC010"
    shp = _shp(tmp_path, name="no-prj")
    shp.with_suffix(".prj").unlink()
    with pytest.raises(MissingCRSError, match=r"no \.prj") as err:
        read_parcels(shp)
    assert err.value.code == "CRS010"
    assert read_parcels(shp, source_crs=L93).crs.to_epsg() == 2154


def test_latin1_shapefile_without_cpg(tmp_path):
    from cimkit.errors import RepairWarning

    names = ["Épinay-sur-Orge", "Rue de l'Église", "Orge"]
    shp = _shp(tmp_path, _parcels_frame().assign(nom=names))
    data = shp.with_suffix(".dbf").read_bytes()
    for name in names[:2]:
        data = data.replace(name.encode(), name.encode("cp1252") + b" ")  # one byte shorter each
    shp.with_suffix(".dbf").write_bytes(data)
    shp.with_suffix(".cpg").unlink()
    with pytest.warns(RepairWarning, match="Windows-1252") as rec:
        parcels = read_parcels(shp)
    assert {w.message.code for w in rec if isinstance(w.message, RepairWarning)} == {"VEC102"}
    assert parcels["nom"].tolist() == names
    step = next(s for s in provenance.get(parcels).steps if s.action == "decode_text")
    assert step.params == {"encoding": "cp1252", "columns": ["nom"], "count": 2}


def _raw_geojson(path, coordinates, kind="Polygon"):
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"F{i}", "libelle": "UA", "typezone": "U", "category": "shop"},
            "geometry": None if c is None else {"type": kind, "coordinates": c},
        }
        for i, c in enumerate(coordinates)
    ]
    doc = {
        "type": "FeatureCollection",
        "features": features,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
    }
    import json

    path.write_text(json.dumps(doc).replace('"NaN"', "NaN").replace('"-Infinity"', "-Infinity"))
    return path


def _ring(x=X0, y=Y0):
    return [[[x, y], [x + 10, y], [x + 10, y + 10], [x, y + 10], [x, y]]]


@pytest.mark.parametrize("reader", [read_parcels, read_buildings, read_zoning, read_prescriptions, read_pois])
def test_nonfinite_coordinates_are_refused_by_every_reader(tmp_path, reader):
    bad = [[[X0, Y0], [X0 + 10, "NaN"], [X0 + 10, Y0 + 10], [X0, Y0]]]
    kind = "Polygon"
    rings = [_ring(), bad, _ring(X0 + 20)]
    if reader is read_pois:
        kind, rings = "Point", [[X0, Y0], [X0, "-Infinity"], [X0 + 1, Y0]]
    path = _raw_geojson(tmp_path / "bad.geojson", rings, kind=kind)
    with pytest.raises(GeometryError, match="NaN or infinite") as err:
        reader(path)
    assert err.value.code == "GMT010" and err.value.entity == "F1"


def test_unclosed_ring_null_and_empty_layers(tmp_path):
    from cimkit.errors import RepairWarning
    from cimkit.io.vector import read_layer

    open_ring = [[[X0, Y0], [X0 + 20, Y0], [X0 + 20, Y0 + 10], [X0, Y0 + 10]]]
    path = _raw_geojson(tmp_path / "open.geojson", [_ring(), open_ring, None])
    with pytest.warns(RepairWarning) as rec:
        parcels = read_parcels(path)
    assert {w.message.code for w in rec if isinstance(w.message, RepairWarning)} == {"GMT101", "GMT102"}
    assert parcels.index.tolist() == ["F0", "F1"]
    np.testing.assert_allclose(parcels["area_m2"], [100.0, 200.0])
    steps = {s.action: s.params for s in provenance.get(parcels).steps}
    assert steps["close_rings"] == {"count": 1, "ids": ["F1"]}
    assert steps["drop_empty"] == {"count": 1, "ids": ["F2"]}
    with pytest.raises(GeometryError) as err:
        read_parcels(path, repair="refuse")
    assert err.value.code == "GMT014" and err.value.entity == "F1"  # no repair at all
    closed_only = _raw_geojson(tmp_path / "null.geojson", [_ring(), None])
    with pytest.raises(GeometryError) as err:
        read_parcels(closed_only, repair="refuse")
    assert err.value.code == "GMT012" and err.value.entity == "F1"
    empty = _raw_geojson(tmp_path / "empty.geojson", [])
    with pytest.raises(InputError) as err:
        read_parcels(empty)
    assert err.value.code == "VEC011"
    with pytest.warns(RepairWarning, match="no features"):
        assert len(read_layer(empty)) == 0


def test_max_features_is_checked_before_reading(tmp_path, monkeypatch):
    import cimkit
    from cimkit.errors import ResourceLimitError

    path = _write(_parcels_frame(), tmp_path / "p.gpkg")
    calls = []
    import pyogrio

    monkeypatch.setattr(pyogrio, "read_dataframe", lambda *a, **k: calls.append(a))
    with cimkit.set_options(max_features=2), pytest.raises(ResourceLimitError, match="3 features") as err:
        read_parcels(path)
    assert err.value.code == "LIM020" and calls == []  # refused before any feature was read


def test_zone_rules_errors_name_line_and_zone(tmp_path):
    header = "libelle,max_height_m,max_footprint_ratio\n"
    cases = [
        ("UA,12,0.5\nUB,-3,0.4\n", "ZON013", 3, "UB"),
        ("UA,12,0.5\nUB,12 m,0.4\n", "ZON012", 3, "UB"),
        ("UA,12,0.5\nUB,9,0.4\nUA,15,0.6\n", "ZON011", 4, "UA"),
        ("UA,12,0.5\n,9,0.4\n", "ZON014", 3, None),
    ]
    for body, code, line, zone in cases:
        path = tmp_path / f"{code}.csv"
        path.write_text(header + body, encoding="utf-8")
        with pytest.raises(DataTableError) as err:
            read_zone_rules(path)
        assert (err.value.code, err.value.line, err.value.entity) == (code, line, zone), body


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_wkb_scan_finds_every_nonfinite_number():
    """Property: the WKB scan used on geometries GEOS refuses agrees with numpy on the coordinates."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cimkit.io._vector_input import _wkb_nonfinite

    number = st.one_of(st.floats(-1e7, 1e7, allow_nan=False), st.sampled_from([np.nan, np.inf, -np.inf]))

    @settings(max_examples=25, deadline=None)
    @given(
        st.lists(st.tuples(number, number, number), min_size=4, max_size=12),
        st.sampled_from(["ring", "line", "multi"]),
        st.booleans(),
        st.sampled_from([0, 1]),
    )
    def check(points, kind, with_z, byte_order):
        coords = np.array(points if with_z else [p[:2] for p in points], dtype=float)
        if kind != "line":
            coords[0] = 0.0  # GEOS cannot build a ring whose closing point is NaN (GMT011's case)
        ring = np.vstack([coords, coords[:1]])
        if kind == "line":
            geom = shapely.linestrings(coords)
        else:
            geom = shapely.polygons(ring)
            if kind == "multi":
                geom = shapely.multipolygons([geom, shapely.polygons(ring + 1.0)])
        with np.errstate(invalid="ignore"):
            wkb = shapely.to_wkb(geom, byte_order=byte_order, output_dimension=3 if with_z else 2)
        assert _wkb_nonfinite(wkb) == (not np.isfinite(coords).all())

    check()


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_check_geometries_names_the_first_bad_feature():
    """Property: any NaN vertex in any feature is refused with that feature's id (GMT010)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cimkit.io._layers import check_geometries

    @settings(max_examples=30, deadline=None)
    @given(st.integers(1, 8), st.data())
    def check(n, data):
        bad = sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=n)))
        geoms = []
        for i in range(n):
            ring = np.add([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [X0 + 20 * i, Y0], dtype=float)
            if i in bad:  # a middle vertex: GEOS cannot build a ring whose closing point is NaN
                ring[data.draw(st.integers(1, 3)), data.draw(st.integers(0, 1))] = np.nan
            with np.errstate(invalid="ignore"):
                geoms.append(shapely.Polygon(ring))
        frame = gpd.GeoDataFrame({"id": [f"P{i}" for i in range(n)]}, geometry=geoms, crs=L93)
        if not bad:
            assert check_geometries(frame) is frame
            return
        with pytest.raises(GeometryError) as err:
            check_geometries(frame, path="x.geojson")
        assert err.value.code == "GMT010" and err.value.entity == f"P{bad[0]}"

    check()
