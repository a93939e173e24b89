"""The folder model format: exact round trips, lazy and bbox reads, atomic saves, zip, checks."""

from __future__ import annotations

import datetime
import json
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from cimkit.cli.verify import run_verify
from cimkit.errors import CimkitError, RepairWarning
from cimkit.io import _folder_files, _folder_table
from cimkit.io.folder import check_folder_model, read_folder, write_folder
from cimkit.model import read_model
from cimkit.raster import Raster

CRS = 2154


def _save(model, path: Path) -> Path:
    return write_folder(
        path,
        crs=model.crs,
        name=model.name,
        layers=model._layers,
        networks=model._networks,
        dem=model._dem,
        records=model._provenance,
    )


@pytest.fixture(scope="module")
def sample():
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample_city(with_ifc=False)


@pytest.fixture(scope="module")
def saved(sample, tmp_path_factory) -> Path:
    return _save(sample, tmp_path_factory.mktemp("folder") / "city.cimkit")


def _assert_same_model(stored, model) -> None:
    assert stored.name == model.name and stored.crs == model.crs
    assert list(stored.layers) == list(model.layers)
    for name, frame in model.layers.items():
        pd.testing.assert_frame_equal(stored.layers[name], frame, check_exact=True)
        assert type(stored.layers[name]) is type(frame)
    assert list(stored.networks) == list(model.networks)
    for kind, net in model.networks.items():
        pd.testing.assert_frame_equal(stored.networks[kind].nodes, net.nodes, check_exact=True)
        pd.testing.assert_frame_equal(stored.networks[kind].edges, net.edges, check_exact=True)
        assert stored.networks[kind].report == json.loads(json.dumps(net.report, default=str))
    np.testing.assert_array_equal(stored.dem.values, model.dem.values)
    assert stored.dem.values.dtype == model.dem.values.dtype
    assert stored.dem.transform == model.dem.transform and stored.dem.nodata == model.dem.nodata
    assert list(stored.records) == list(model._provenance)  # model order
    for name, record in model._provenance.items():
        assert stored.records[name].to_json() == record.to_json()


def test_round_trip_of_the_sample_city(sample, saved):
    stored = read_folder(saved)
    _assert_same_model(stored, sample)
    kinds = {name: sorted(set(f.geom_type)) for name, f in stored.layers.items()}
    assert kinds["pois"] == ["Point"] and kinds["river"] == ["LineString"]
    assert kinds["buildings"] == ["Polygon"] and len(stored.layers["buildings"]) == 43
    assert stored.layers["parcels"].index.name == "parcel_id" and len(stored.layers["parcels"]) == 97
    # the provenance of each part travels with it
    assert stored.layers["parcels"].attrs["provenance"] is stored.records["parcels"]
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format"] == "cimkit-folder" and manifest["epsg"] == 2154
    assert manifest["layers"]["parcels"]["rows"] == 97
    assert manifest["layers"]["buildings"]["geometry_types"] == ["Polygon"]
    assert sorted(manifest["files"]) == sorted(p.name for p in saved.iterdir() if p.name != "manifest.json")


def test_read_model_and_verify_dispatch_to_the_folder_format(sample, saved):
    model = read_model(saved)
    pd.testing.assert_frame_equal(model.buildings, sample.buildings, check_exact=True)
    assert list(model._provenance) == list(sample._provenance)
    part = read_model(saved, layers=["zones"])
    assert list(part.layers) == ["zones"] and part.dem is None
    text, code = run_verify(saved)
    assert (
        code == 0 and "12 item(s)" not in text and text.splitlines()[-1].endswith("0 missing, 0 unrecorded")
    )


def test_files_are_geoparquet_1_1_and_a_cog(saved):
    meta = pq.read_metadata(saved / "buildings.parquet")
    geo = json.loads(meta.metadata[b"geo"])
    column = geo["columns"]["geometry"]
    assert geo["version"] == "1.1.0" and column["encoding"] == "WKB"
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    assert meta.row_group(0).column(0).compression == "ZSTD"
    other = gpd.read_parquet(saved / "buildings.parquet")  # readable by geopandas as it is
    assert len(other) == 43 and other.crs.to_epsg() == 2154
    with rasterio.open(saved / "dem.tif") as src:
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.dtypes[0] == "float32" and src.nodata == -9999.0


def _hand_made() -> dict[str, pd.DataFrame]:
    idx = pd.Index(["a", "b", "c", "d"], name="my id")
    frame = gpd.GeoDataFrame(
        {
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "grade": pd.Categorical(["B", "A", None, "B"], categories=["C", "B", "A"], ordered=True),
            "when": pd.to_datetime(
                ["2024-01-01 10:00", None, "2023-06-30 23:59", "2020-02-29 00:00"]
            ).tz_localize("Europe/Paris"),
            "naive": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-04"]),
            "day": [datetime.date(2024, 5, 1), None, datetime.date(1999, 12, 31), datetime.date(2000, 1, 1)],
            "label": pd.array(["x", None, "zé", ""], dtype="str"),
            "tags": [["a", "b"], [], None, ["c"]],
            "extra": [{"k": 1}, None, {"k": [1, 2]}, {}],
            "mixed": [1, "two", 3.5, None],
            "small": np.array([1, 2, 3, 4], dtype="int8"),
            "ratio": np.array([0.1, np.nan, np.inf, -0.0], dtype="float32"),
        },
        geometry=[
            Polygon([(0, 0, 1), (4, 0, 1), (4, 4, 2), (0, 0, 1)]),
            None,
            LineString([(10, 10), (20, 25)]),
            Point(5, 5).buffer(0).buffer(0),  # an empty polygon
        ],
        index=idx,
        crs=CRS,
    )
    multi = pd.DataFrame(
        {"value": [1.5, 2.5, 3.5]},
        index=pd.MultiIndex.from_tuples([("x", 1), ("x", 2), ("y", 1)], names=["zone", None]),
    )
    ranged = gpd.GeoDataFrame(
        {"v": [1, 2, 3]},
        geometry=[Point(0, 0), Point(1, 1), Point(2, 2)],
        index=pd.RangeIndex(10, 16, 2),
        crs=CRS,
    )
    empty = gpd.GeoDataFrame(
        {"name": pd.Series([], dtype="str"), "n": pd.Series([], dtype="int64")},
        geometry=gpd.GeoSeries([], crs=CRS),
        index=pd.Index([], name="empty_id", dtype="str"),
    )
    return {"hand": frame, "table": multi, "ranged": ranged, "empty": empty}


@pytest.mark.parametrize("suffix", [".cimkit", ".cimkit.zip"])
def test_round_trip_of_every_dtype(tmp_path, suffix):
    layers = _hand_made()
    path = write_folder(tmp_path / f"city{suffix}", crs=CRS, layers=layers)
    stored = read_folder(path)
    for name, frame in layers.items():
        pd.testing.assert_frame_equal(stored.layers[name], frame, check_exact=True)
    back = stored.layers["hand"]
    assert back["tags"].tolist() == [["a", "b"], [], None, ["c"]]
    assert back["grade"].cat.categories.tolist() == ["C", "B", "A"] and back["grade"].cat.ordered
    assert (
        str(back["when"].dtype).endswith(", Europe/Paris]")
        and back["when"].dtype == layers["hand"]["when"].dtype
    )
    assert back.geometry.iloc[0].has_z and back.geometry.iloc[0].exterior.coords[2] == (4.0, 4.0, 2.0)
    assert back.geometry.iloc[1] is None and back.geometry.iloc[3].is_empty
    assert isinstance(stored.layers["ranged"].index, pd.RangeIndex)
    assert stored.layers["ranged"].index.tolist() == [10, 12, 14]
    if suffix.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.integers(-(2**62), 2**62),
            st.floats(allow_nan=True, allow_infinity=True),
            st.one_of(st.none(), st.text(max_size=8)),
            st.floats(-1e6, 1e6),
            st.floats(-1e6, 1e6),
        ),
        max_size=30,
    )
)
def test_round_trip_of_random_frames(tmp_path, rows):
    frame = gpd.GeoDataFrame(
        {
            "i": pd.Series([r[0] for r in rows], dtype="int64"),
            "f": pd.Series([r[1] for r in rows], dtype="float64"),
            "s": pd.Series([r[2] for r in rows], dtype="object"),
        },
        geometry=gpd.GeoSeries([Point(r[3], r[4]) for r in rows], crs=CRS),
        crs=CRS,
    )
    frame.index = pd.Index([f"id{k}" for k in range(len(rows))], name="fid", dtype="str")
    path = write_folder(tmp_path / "random.cimkit", crs=CRS, layers={"points": frame})
    pd.testing.assert_frame_equal(read_folder(path).layers["points"], frame, check_exact=True)


def test_partial_read_opens_only_the_files_asked_for(saved, monkeypatch):
    opened: list[str] = []
    original = _folder_files.Container.read

    def spy(self, name):
        opened.append(name)
        return original(self, name)

    monkeypatch.setattr(_folder_files.Container, "read", spy)
    stored = read_folder(saved, layers=["parcels"])
    assert opened == ["manifest.json", "parcels.parquet"]
    assert list(stored.layers) == ["parcels"] and not stored.networks and stored.dem is None
    assert list(stored.records) == ["parcels"] and len(stored.layers["parcels"]) == 97
    opened.clear()
    stored = read_folder(saved, layers=["network_water", "dem"])
    assert opened[0] == "manifest.json"  # then the parts' files, read in parallel
    assert sorted(opened[1:]) == ["dem.tif", "network_water_edges.parquet", "network_water_nodes.parquet"]
    assert list(stored.networks) == ["water"] and stored.dem is not None and not stored.layers
    with pytest.raises(CimkitError) as err:
        read_folder(saved, layers=["parcel"])
    assert err.value.code == "FLD009"


def _grid(n: int, seed: int = 3) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    size = rng.uniform(1, 15, n)
    return gpd.GeoDataFrame(
        {"height_m": rng.uniform(3, 30, n).round(1)},
        geometry=shapely.box(x, y, x + size, y + size),
        index=pd.Index([f"B{k:05d}" for k in range(n)], name="building_id"),
        crs=CRS,
    )


def test_bbox_read_returns_the_geopandas_filter_and_reads_fewer_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(_folder_table, "ROW_GROUP_ROWS", 250)
    buildings = _grid(5000)
    path = write_folder(tmp_path / "grid.cimkit", crs=CRS, layers={"buildings": buildings})
    assert pq.read_metadata(path / "buildings.parquet").num_row_groups == 20
    read_groups: list[int] = []
    original = _folder_table.select_row_groups

    def spy(*args):
        groups = original(*args)
        read_groups.append(len(groups))
        return groups

    monkeypatch.setattr(_folder_table, "select_row_groups", spy)
    for bbox in [(100, 100, 250, 200), (0, 0, 1000, 1000), (-50, -50, -10, -10), (500.5, 0, 500.6, 1000)]:
        part = read_folder(path, bbox=bbox).layers["buildings"]
        expected = buildings[buildings.intersects(box(*bbox))]
        pd.testing.assert_frame_equal(part, expected, check_exact=True)
    assert read_groups[1] == 20 and read_groups[0] <= 4 and read_groups[2] == 0
    # an independent count: axis-aligned boxes meet the bbox when their extents overlap
    b = shapely.bounds(np.asarray(buildings.geometry.array))
    meets = (b[:, 0] <= 250) & (b[:, 2] >= 100) & (b[:, 1] <= 200) & (b[:, 3] >= 100)
    assert len(read_folder(path, bbox=(100, 100, 250, 200)).layers["buildings"]) == int(meets.sum()) > 50


def test_bbox_read_of_the_sample_city(sample, saved):
    bbox = (650900.0, 6846900.0, 651152.5, 6847100.0)  # inside the DEM (650550-651450, 6846550-6847450)
    stored = read_folder(saved, bbox=bbox)
    for name, frame in sample.layers.items():
        expected = frame[frame.intersects(box(*bbox))]
        pd.testing.assert_frame_equal(stored.layers[name], expected, check_exact=True)
    edges = sample.networks["road"].edges
    expected_edges = edges[edges.intersects(box(*bbox))]
    pd.testing.assert_frame_equal(stored.networks["road"].edges, expected_edges, check_exact=True)
    nodes = stored.networks["road"].nodes
    assert set(expected_edges["u"]) | set(expected_edges["v"]) <= set(nodes.index)
    dem, full = stored.dem, sample.dem
    minx, miny, maxx, maxy = dem.bounds
    assert minx <= bbox[0] and miny <= bbox[1] and maxx >= bbox[2] and maxy >= bbox[3]
    assert maxx - minx < bbox[2] - bbox[0] + 2 * full.res[0]
    c = round((minx - full.transform.c) / full.transform.a)
    r = round((maxy - full.transform.f) / full.transform.e)
    assert dem.transform.a == full.transform.a and (r, c) == (70, 70) and dem.shape == (40, 51)
    np.testing.assert_array_equal(dem.values, full.values[r : r + dem.shape[0], c : c + dem.shape[1]])
    assert read_folder(saved, layers=["dem"], bbox=(0, 0, 10, 10)).dem is None


@pytest.mark.parametrize("suffix", [".cimkit", ".cimkit.zip"])
def test_a_failed_save_leaves_the_previous_model(tmp_path, monkeypatch, suffix):
    old = _grid(50)
    path = write_folder(tmp_path / f"city{suffix}", crs=CRS, name="old", layers={"a": old, "b": old})
    original = _folder_table.write_table_bytes
    calls = []

    def failing(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user stops the save half-way
        return original(*args)

    monkeypatch.setattr(_folder_table, "write_table_bytes", failing)
    with pytest.raises(KeyboardInterrupt):
        write_folder(path, crs=CRS, name="new", layers={"a": _grid(80), "b": _grid(80)})
    monkeypatch.setattr(_folder_table, "write_table_bytes", original)
    stored = read_folder(path)
    assert stored.name == "old" and len(calls) == 2
    pd.testing.assert_frame_equal(stored.layers["b"], old, check_exact=True)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left
    write_folder(path, crs=CRS, name="new", layers={"a": _grid(80)})
    assert read_folder(path).name == "new" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_stale_temporary_is_removed_and_a_foreign_folder_is_kept(tmp_path):
    stale = tmp_path / ".city.cimkit.999999999.abc.tmp"
    stale.mkdir()
    (stale / "parcels.parquet").write_bytes(b"half")
    with pytest.warns(RepairWarning) as caught:
        write_folder(tmp_path / "city.cimkit", crs=CRS, layers={"a": _grid(5)})
    assert [w.message.code for w in caught] == ["WRT101"] and not stale.exists()
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"jpeg")
    with pytest.raises(CimkitError) as err:
        write_folder(foreign, crs=CRS, layers={"a": _grid(5)})
    assert err.value.code == "FLD010" and (foreign / "holiday.jpg").read_bytes() == b"jpeg"


def test_a_float64_dem_is_cast_with_a_warning_and_a_step(tmp_path):
    values = np.array([[40.123456789, 41.0], [np.nan, 38.5]])
    dem = Raster(values, Affine(5, 0, 651000, 0, -5, 6847010), "EPSG:2154", nodata=np.nan)
    with pytest.warns(RepairWarning) as caught:
        path = write_folder(tmp_path / "dem.cimkit", crs=CRS, dem=dem)
    assert [w.message.code for w in caught] == ["FLD101"]
    stored = read_folder(path)
    assert stored.dem.values.dtype == np.float32 and np.isnan(stored.dem.nodata)
    np.testing.assert_array_equal(stored.dem.values, values.astype("float32"))
    step = stored.records["dem"].steps[-1]
    assert step.action == "store_dem_float32" and step.params["cells"] == 4


def test_verify_reports_a_changed_file(tmp_path, sample):
    path = _save(sample, tmp_path / "city.cimkit")
    data = bytearray((path / "pois.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "pois.parquet").write_bytes(bytes(data))
    table = check_folder_model(path).set_index("item")
    assert table.loc["pois.parquet", "status"] == "mismatch"
    assert (table.loc[table.index != "pois.parquet", "status"].isin(["ok", "missing"])).all()
    text, code = run_verify(path)
    assert code == 1 and "mismatch" in text
    with pytest.raises(CimkitError) as err:
        read_folder(path, layers=["pois"])
    assert err.value.code == "FLD006"
    stored = read_folder(path, layers=["zones"])  # the other files are still readable
    assert len(stored.layers["zones"]) == 7


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    path = write_folder(tmp_path / "city.cimkit", crs=CRS, layers={"a": _grid(5)})
    outside = tmp_path / "elsewhere.parquet"
    (path / "a.parquet").rename(outside)
    (path / "a.parquet").symlink_to(outside)
    with pytest.raises(CimkitError) as err:
        read_folder(path)
    assert err.value.code == "FLD007"
