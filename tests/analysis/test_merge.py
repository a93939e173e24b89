"""Merging building sources: IoU matching of footprints and merge_buildings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit import provenance
from cimkit.analysis.merge import compute_ground_from_dem, match_footprints, merge_buildings
from cimkit.errors import CoverageWarning, CRSError, InputError, MissingCRSError

CRS = "EPSG:2154"


def record_of(obj) -> provenance.Provenance:
    record = provenance.get(obj)
    assert record is not None
    return record


def gdf(geoms, ids, id_name, crs=CRS, **cols):
    return gpd.GeoDataFrame({id_name: ids, **cols}, geometry=list(geoms), crs=crs).set_index(id_name)


def test_match_footprints_iou_offsets():
    footprints = gdf(
        [shapely.box(0, 0, 10, 10), shapely.box(50, 0, 60, 10), shapely.box(100, 0, 110, 10)],
        ["f1", "f2", "f3"],
        "footprint_id",
    )
    ifc = gdf(
        [shapely.box(1, 2, 11, 12), shapely.box(50, 0, 60, 10), shapely.box(200, 0, 210, 10)],
        ["i1", "i2", "i3"],
        "building_id",
    )
    m = match_footprints(ifc, footprints).set_index("ifc_id", drop=False)
    # i1 shifted by (1, 2): overlap 9 x 8 = 72, union 200 - 72 = 128 -> IoU 0.5625
    assert m.loc["i1", "footprint_id"] == "f1"
    assert m.loc["i1", "iou"] == pytest.approx(72 / 128)
    assert (m.loc["i1", "dx_m"], m.loc["i1", "dy_m"]) == pytest.approx((1.0, 2.0))
    assert m.loc["i2", "iou"] == pytest.approx(1.0)
    assert m.loc["i3", "status"] == "ifc_only"
    only = m[m["status"] == "footprint_only"]
    assert only["footprint_id"].tolist() == ["f3"]
    # raising the threshold above 0.5625 unmatches i1
    strict = match_footprints(ifc, footprints, min_iou=0.6)
    assert (strict["status"] == "matched").sum() == 1


@pytest.fixture
def sources():
    """IFC, CityJSON and footprint layers of one block (local metres; IoUs computed by hand).

    i1 = box(0,0,10,10) and f1 = box(1,0,11,10): overlap 90, union 110, IoU 0.818
    i2 = box(50,0,60,10): no footprint (ifc_only)
    c1 = box(20,0,30,10) and f2 = box(20,0,30,12): overlap 100, union 120, IoU 0.833
    c2 = box(0.5,0,10.5,10) duplicates i1 (IoU 95/105 = 0.905): dropped
    f3 = box(100,0,110,10): footprint only
    """
    ifc = gdf(
        [shapely.box(0, 0, 10, 10), shapely.box(50, 0, 60, 10)], ["i1", "i2"], "building_id", name=["a", "b"]
    )
    cityjson = gdf(
        [shapely.box(20, 0, 30, 10), shapely.box(0.5, 0, 10.5, 10)], ["c1", "c2"], "building_id", lod=[2, 2]
    )
    footprints = gdf(
        [shapely.box(1, 0, 11, 10), shapely.box(20, 0, 30, 12), shapely.box(100, 0, 110, 10)],
        ["f1", "f2", "f3"],
        "id",
        height_m=[6.0, 9.0, 3.0],
    )
    for layer, reader in (
        (ifc, "cimkit.read_ifc"),
        (cityjson, "cimkit.read_cityjson"),
        (footprints, "cimkit.read_buildings"),
    ):
        record = provenance.Provenance(reader=reader, source_files=[provenance.SourceFile(f"{reader}.src")])
        provenance.attach(layer, record)
    return ifc, cityjson, footprints


def test_merge_buildings_ifc_and_footprints(sources):
    ifc, _, footprints = sources
    merged = merge_buildings(ifc=ifc, footprints=footprints)
    assert merged.index.name == "building_id"
    assert merged.index.tolist() == ["i1", "i2", "f2", "f3"]  # IFC first, then unmatched footprints
    assert merged["source_kind"].tolist() == ["ifc", "ifc", "footprint", "footprint"]
    assert merged["footprint_id"].fillna("-").tolist() == ["f1", "-", "f2", "f3"]
    # columns of both sources; geometries kept from their own source
    assert merged.loc["i1", "name"] == "a" and np.isnan(merged.loc["i1", "height_m"])
    assert merged.loc["f3", "height_m"] == 3.0
    assert merged.geometry["i1"].equals(shapely.box(0, 0, 10, 10))
    assert merged.crs.to_epsg() == 2154
    record = record_of(merged)
    assert record.reader == "cimkit.read_ifc"
    assert [s.path for s in record.source_files] == ["cimkit.read_ifc.src", "cimkit.read_buildings.src"]
    step = record.steps[-1]
    assert step.action == "merge_buildings"
    assert {k: step.params[k] for k in ("matched", "footprint_only", "ifc_only")} == {
        "matched": 1,
        "footprint_only": 2,
        "ifc_only": 1,
    }
    # the inputs are left as they were
    assert "source_kind" not in ifc.columns and len(record_of(ifc).steps) == 0


def test_merge_buildings_three_sources(sources):
    ifc, cityjson, footprints = sources
    merged = merge_buildings(ifc=ifc, footprints=footprints, cityjson=cityjson)
    # c2 duplicates i1 and is dropped; f1 matches i1, f2 matches c1; f3 stays
    assert merged.index.tolist() == ["i1", "i2", "c1", "f3"]
    assert merged["source_kind"].tolist() == ["ifc", "ifc", "cityjson", "footprint"]
    assert merged["footprint_id"].fillna("-").tolist() == ["f1", "-", "f2", "f3"]
    params = record_of(merged).steps[-1].params
    assert (params["matched"], params["footprint_only"], params["ifc_only"]) == (2, 1, 1)
    assert (params["cityjson_matched"], params["cityjson_only"]) == (1, 1)
    # a stricter threshold than f1's IoU with i1 (0.818) keeps f1 as a separate building
    strict = merge_buildings(ifc=ifc, footprints=footprints, min_iou=0.82)
    assert strict.index.tolist() == ["i1", "i2", "f1", "f2", "f3"]


def test_merge_buildings_single_source(sources):
    _, _, footprints = sources
    merged = merge_buildings(footprints=footprints)
    assert merged.index.tolist() == ["f1", "f2", "f3"] and merged.index.name == "building_id"
    assert (merged["source_kind"] == "footprint").all()
    assert record_of(merged).steps[-1].params["footprint_only"] == 3


def test_merge_buildings_refuses_bad_inputs(sources):
    ifc, _, footprints = sources
    with pytest.raises(CRSError, match=r"different CRSs \(ifc: EPSG:2154, footprints: EPSG:3857\)"):
        merge_buildings(ifc=ifc, footprints=footprints.to_crs(3857))
    with pytest.raises(MissingCRSError, match="footprints"):
        merge_buildings(ifc=ifc, footprints=footprints.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="at least one source"):
        merge_buildings()
    with pytest.raises(InputError, match="min_iou"):
        merge_buildings(ifc=ifc, min_iou=0)
    clash = footprints.rename(index={"f3": "i2"})
    with pytest.raises(InputError, match="appear in two sources"):
        merge_buildings(ifc=ifc, footprints=clash)


def test_merge_buildings_on_the_sample_city(sample_city_dir):
    """The counts the sample loader has always recorded: 11 matched, 32 footprint-only, 0 IFC-only."""
    import warnings

    from cimkit.analysis.linking import link_buildings_to_parcels
    from cimkit.datasets import load_sample_city
    from cimkit.io.vector import read_buildings, read_parcels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city()
    loaded = model.buildings
    assert loaded is not None
    ifc = loaded[loaded["source_kind"] == "ifc"].drop(columns=["source_kind", "footprint_id"])
    footprints = read_buildings(sample_city_dir / "footprints.geojson", crs=CRS)
    merged = merge_buildings(ifc=ifc, footprints=footprints)
    params = record_of(merged).steps[-1].params
    assert (params["matched"], params["footprint_only"], params["ifc_only"]) == (11, 32, 0)
    assert merged.index.equals(loaded.index)
    # independent truth: the footprint an IFC building matched stands on that building's parcel
    # as listed in buildings/index.csv
    index = pd.read_csv(sample_city_dir / "buildings" / "index.csv").set_index("building_name")
    parcels = read_parcels(sample_city_dir / "parcels.geojson", crs=CRS)
    parcel_of_footprint = link_buildings_to_parcels(footprints, parcels)["parcel_id"]
    matched = merged[merged["source_kind"] == "ifc"]
    assert (
        parcel_of_footprint.reindex(matched["footprint_id"]).to_numpy()
        == index["parcel_id"].reindex(matched["name"]).to_numpy()
    ).all()


# -- compute_ground_from_dem -------------------------------------------------------------------

X0, Y0 = 651000.0, 6862040.0  # upper-left corner of the synthetic 40 m x 40 m DEM (1 m cells)


@pytest.fixture
def plane_dem():
    """A plane rising 1 m per 10 m eastwards: cell (row, col) holds 30 + 0.1 (col + 0.5)."""
    from affine import Affine
    from pyproj import CRS as ProjCRS

    from cimkit.raster import Raster

    cols = np.arange(40)
    values = np.tile(30.0 + 0.1 * (cols + 0.5), (40, 1))
    values[30:36, 30:36] = -9999.0  # a hole of no data
    return Raster(values, Affine(1.0, 0, X0, 0, -1.0, Y0), ProjCRS(CRS), nodata=-9999.0)


@pytest.fixture
def plane_buildings():
    south = Y0 - 40.0
    geoms = [
        # boundary crosses columns 12..17, lowest cell column 12 -> 31.25
        shapely.box(X0 + 12.2, south + 3.4, X0 + 17.5, south + 8.6),
        # same footprint 10 m north, no ground level yet (a cadastre footprint)
        shapely.box(X0 + 12.2, south + 13.4, X0 + 17.5, south + 18.6),
        # half west of the grid: only columns 0 and 1 carry data
        shapely.box(X0 - 3.0, south + 20.0, X0 + 2.0, south + 25.0),
        # wholly on the no-data hole (rows 30-35 from the top = y from south + 4 to south + 10)
        shapely.box(X0 + 31.0, south + 5.0, X0 + 35.0, south + 9.0),
        # wholly outside the grid
        shapely.box(X0 + 100.0, south, X0 + 110.0, south + 10.0),
    ]
    return gdf(
        geoms,
        ["a", "b", "half", "hole", "out"],
        "building_id",
        ground_elevation_m=[31.0, np.nan, 29.0, 33.0, 33.0],
        ground_source=["storey", None, "storey", "storey", "storey"],
        height_m=[10.0, 6.0, 8.0, 7.0, 7.0],
        depth_below_ground_m=[1.0, np.nan, 0.0, 0.5, 0.5],
        base_elevation_m=[31.0, np.nan, 29.0, 33.0, 33.0],
    )


def test_ground_from_dem_lowest_boundary_cell(plane_dem, plane_buildings):
    before = plane_buildings.copy()
    with pytest.warns(CoverageWarning, match=r"2 of 5 building\(s\) have no DEM data.*1 are only partly"):
        out = compute_ground_from_dem(plane_buildings, plane_dem)
    a = out.loc["a"]
    # lowest boundary cell: column 12, centre 12.5 m east -> 30 + 1.25; top 31 + 10 = 41 kept
    assert a["ground_elevation_m"] == pytest.approx(31.25)
    assert a["ground_source"] == "terrain"
    assert a["height_m"] == pytest.approx(9.75)
    assert a["depth_below_ground_m"] == pytest.approx(1.25)  # bottom 31 - 1 = 30 kept
    assert a["base_elevation_m"] == pytest.approx(31.25)
    # unknown old ground: the height is taken as measured from the ground and kept
    b = out.loc["b"]
    assert (b["ground_elevation_m"], b["height_m"], b["ground_source"]) == pytest.approx(
        (31.25, 6.0, "terrain")
    )
    assert np.isnan(b["depth_below_ground_m"])
    # half outside: the lowest cell with data (column 0, 30.05); the true minimum may lie outside
    half = out.loc["half"]
    assert half["ground_elevation_m"] == pytest.approx(30.05)
    assert half["height_m"] == pytest.approx(29.0 + 8.0 - 30.05)
    assert half["depth_below_ground_m"] == pytest.approx(30.05 - 29.0)
    # no data at all: unchanged
    for name in ("hole", "out"):
        pd.testing.assert_series_equal(out.loc[name], before.loc[name])
    params = record_of(out).steps[-1].params
    assert record_of(out).steps[-1].action == "ground_from_dem"
    assert (params["updated"], params["no_data"], params["partial"]) == (3, 2, 1)
    assert (params["replaced_known"], params["set_unknown"]) == (2, 1)
    assert params["mean_shift_m"] == pytest.approx(round(((31.25 - 31.0) + (30.05 - 29.0)) / 2, 3))
    # the input is left as it was
    pd.testing.assert_frame_equal(pd.DataFrame(plane_buildings), pd.DataFrame(before))


def test_ground_from_dem_median(plane_dem, plane_buildings):
    with pytest.warns(CoverageWarning):
        out = compute_ground_from_dem(plane_buildings, plane_dem, statistic="median")
    # columns 12..17 are covered over widths 0.8, 1, 1, 1, 1, 0.5 (same rows): total 5.3, half
    # 2.65 reached in column 14 (cumulative 0.8, 1.8, 2.8) -> 30 + 1.45
    assert out.loc["a", "ground_elevation_m"] == pytest.approx(31.45)
    assert out.loc["a", "height_m"] == pytest.approx(41.0 - 31.45)
    # half outside: columns 0 and 1 equally covered -> the lower one reaches half first
    assert out.loc["half", "ground_elevation_m"] == pytest.approx(30.05)
    assert record_of(out).steps[-1].params["statistic"] == "median"


def test_ground_from_dem_refuses_other_crs(plane_dem, plane_buildings):
    from pyproj import CRS as ProjCRS

    other = plane_dem.copy(crs=ProjCRS("EPSG:3857"))
    with pytest.raises(CRSError, match=r"EPSG:2154.*EPSG:3857"):
        compute_ground_from_dem(plane_buildings, other)
    with pytest.raises(MissingCRSError, match="buildings"):
        compute_ground_from_dem(plane_buildings.set_crs(None, allow_override=True), plane_dem)
    with pytest.raises(InputError, match="statistic"):
        compute_ground_from_dem(plane_buildings, plane_dem, statistic="mean")  # type: ignore[arg-type]


def test_ground_from_dem_on_the_sample_city(sample_city_dir):
    """IFC houses: new ground = the DEM minimum along the footprint boundary, sampled independently."""
    import warnings

    import rasterio

    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city()
    buildings = model.buildings
    assert buildings is not None and model.dem is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error", CoverageWarning)  # every footprint lies on the DEM
        out = compute_ground_from_dem(buildings, model.dem)
    ifc = buildings.index[buildings["source_kind"] == "ifc"]
    assert len(ifc) == 11
    with rasterio.open(sample_city_dir / "dem.tif") as src:
        dem = src.read(1, masked=True).astype("float64").filled(np.nan)
        exact = 0
        for building_id in ifc:
            geom = buildings.geometry[building_id]
            parts = getattr(geom, "geoms", [geom])
            ring = shapely.segmentize(shapely.MultiLineString([p.exterior for p in parts]), 0.01)
            xy = shapely.get_coordinates(ring)
            sampled = np.array([v[0] for v in src.sample(xy, masked=False)], dtype="float64")
            rows, cols = rasterio.transform.rowcol(src.transform, xy[:, 0], xy[:, 1])
            rows, cols = np.asarray(rows), np.asarray(cols)
            # tolerance: the largest step between neighbouring cells around the footprint (a
            # boundary running along a grid line may be assigned to either neighbour)
            window = dem[rows.min() - 1 : rows.max() + 2, cols.min() - 1 : cols.max() + 2]
            step = max(np.abs(np.diff(window, axis=0)).max(), np.abs(np.diff(window, axis=1)).max())
            new = out.loc[building_id]
            assert new["ground_source"] == "terrain"
            assert new["ground_elevation_m"] == pytest.approx(sampled.min(), abs=step)
            assert np.isfinite(sampled).all() and sampled.min() > -1000
            exact += bool(abs(new["ground_elevation_m"] - sampled.min()) < 1e-4)
            old = buildings.loc[building_id]
            top_old = old["ground_elevation_m"] + old["height_m"]
            assert new["ground_elevation_m"] + new["height_m"] == pytest.approx(top_old, abs=1e-9)
            bottom_old = old["ground_elevation_m"] - old["depth_below_ground_m"]
            bottom_new = new["ground_elevation_m"] - new["depth_below_ground_m"]
            assert bottom_new == pytest.approx(bottom_old, abs=1e-9) or new["depth_below_ground_m"] == 0
            assert new["base_elevation_m"] == new["ground_elevation_m"]
    # on the sample city no boundary runs along a grid line: every minimum agrees to 0.1 mm
    assert exact == 11
    params = record_of(out).steps[-1].params
    assert (params["updated"], params["no_data"], params["partial"], params["replaced_known"]) == (
        43,
        0,
        0,
        11,
    )
    # the loaded model is left as it was (opt-in step)
    assert (buildings.loc[ifc, "ground_source"] == "storey").all()
