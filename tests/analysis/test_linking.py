"""Linking layers: largest overlap, shares, points in polygons, nearest features."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit.analysis._overlap_kernel import convex_mask, overlap_areas
from cimkit.analysis.linking import (
    compute_overlap_shares,
    find_nearest,
    link_buildings_to_parcels,
    link_parcels_to_zones,
    locate_points,
)
from cimkit.errors import CRSError, GeographicCRSError

CRS = "EPSG:2154"


def gdf(geoms, ids, name, crs=CRS, **cols):
    return gpd.GeoDataFrame({name: ids, **cols}, geometry=list(geoms), crs=crs).set_index(name)


@pytest.fixture
def parcels():
    # two 10 x 10 parcels side by side
    return gdf([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], ["A", "B"], "parcel_id")


def test_link_buildings_to_parcels_shares(parcels):
    buildings = gdf(
        [
            shapely.box(2, 2, 4, 4),  # inside A
            shapely.box(8, 2, 14, 4),  # 2x2=4 m² in A, 4x2=8 m² in B -> B, share 8/12
            shapely.Polygon([(11, 1), (15, 1), (15, 3), (13, 3), (13, 5), (11, 5)]),  # L inside B
            shapely.box(18, 2, 22, 4),  # half outside every parcel: 2x2 in B, share 0.5
            shapely.box(30, 30, 31, 31),  # nowhere
            shapely.box(9.95, 5, 19, 6),  # 0.05 m² in A (0.55 %, below min_share), rest in B
        ],
        ["b1", "b2", "b3", "b4", "b5", "b6"],
        "building_id",
    )
    link = link_buildings_to_parcels(buildings, parcels)
    assert link["parcel_id"].tolist()[:4] == ["A", "B", "B", "B"]
    assert pd.isna(link.loc["b5", "parcel_id"])
    np.testing.assert_allclose(link["parcel_share"], [1, 8 / 12, 1, 0.5, 0, 9 / 9.05])
    assert link["n_parcels"].tolist() == [1, 2, 1, 1, 0, 1]
    assert link["crosses_parcels"].tolist() == [False, True, False, False, False, False]
    np.testing.assert_allclose(link["covered_share"], [1, 1, 1, 0.5, 0, 1])


def test_compute_overlap_shares_partition_shortcut_equals_full_measure(parcels):
    rng = np.random.default_rng(0)
    centres = rng.uniform(-1, 21, size=(200, 2))
    # non-convex (L-shaped) footprints take the GEOS path, rectangles the compiled kernel
    rects = shapely.box(centres[:, 0] - 1, centres[:, 1] - 1, centres[:, 0] + 1, centres[:, 1] + 1)
    ells = [
        shapely.difference(r, shapely.box(*(np.array(r.bounds[:2]) + 1), *r.bounds[2:])) for r in rects[:100]
    ]
    geoms = np.concatenate([np.array(ells, dtype=object), rects[100:]])
    buildings = gdf(geoms, np.arange(200), "building_id")
    fast = compute_overlap_shares(buildings, parcels)
    full = compute_overlap_shares(buildings, parcels, assume_partition=False)
    pd.testing.assert_frame_equal(
        fast.sort_values(["left_id", "right_id"]).reset_index(drop=True),
        full.sort_values(["left_id", "right_id"]).reset_index(drop=True),
    )
    # independent truth: shapely intersection of every building with every parcel
    for _, row in fast.iterrows():
        g = buildings.geometry[row["left_id"]]
        expected = g.intersection(parcels.geometry[row["right_id"]]).area / g.area
        assert row["share"] == pytest.approx(expected, abs=1e-12)


def test_kernel_matches_shapely_on_holes_and_multipolygons():
    rng = np.random.default_rng(1)
    # convex clip polygons of many shapes (triangles, hexagons, rotated rectangles, clockwise too)
    clips = [shapely.Point(rng.uniform(0, 10, 2)).buffer(rng.uniform(0.5, 4), quad_segs=2) for _ in range(60)]
    clips += [shapely.Polygon(rng.uniform(0, 10, (3, 2))).convex_hull for _ in range(60)]
    clips += [shapely.orient_polygons(c, exterior_cw=True) for c in clips[:20]]
    subjects = [
        shapely.Point(5, 5).buffer(4).difference(shapely.Point(5, 5).buffer(2)),  # ring with a hole
        shapely.Polygon([(0, 0), (10, 0), (10, 10), (5, 2), (0, 10)]),  # concave
        shapely.MultiPolygon([shapely.box(0, 0, 3, 3), shapely.box(6, 6, 9, 9)]),
    ]
    left, right = np.array(clips, dtype=object), np.array(subjects, dtype=object)
    assert convex_mask(left).all()
    assert not convex_mask(right).any()
    pl = np.repeat(np.arange(len(left)), len(right))
    pr = np.tile(np.arange(len(right)), len(left))
    expected = shapely.area(shapely.intersection(left[pl], right[pr]))
    np.testing.assert_allclose(overlap_areas(left, right, pl, pr), expected, atol=1e-9)


def test_link_parcels_to_zones_split_flag(parcels):
    zones = gdf([shapely.box(0, 0, 13, 10), shapely.box(13, 0, 30, 10)], [1, 2], "zone_id")
    link = link_parcels_to_zones(parcels, zones)
    # A wholly in zone 1; B: 3x10=30 m² in zone 1, 7x10=70 m² in zone 2
    assert link["zone_id"].tolist() == [1, 2]
    assert link["zone_id"].dtype == np.int64
    np.testing.assert_allclose(link["zone_share"], [1.0, 0.7])
    assert link["split_zone"].tolist() == [False, True]


def test_locate_points_matches_geopandas_sjoin(parcels):
    rng = np.random.default_rng(2)
    pts = gpd.GeoDataFrame(geometry=shapely.points(rng.uniform(-5, 25, (500, 2))), crs=CRS)
    located = locate_points(pts, parcels)
    ref = gpd.sjoin(pts, parcels, how="left", predicate="intersects")
    ref = ref[~ref.index.duplicated()]["parcel_id"]
    inside = ref.notna().to_numpy()
    assert (located.to_numpy()[inside] == ref.to_numpy()[inside]).all()
    assert located[~inside].isna().all()
    assert located.name == "parcel_id"
    # boundary points count as inside: (20, 5) on B's outer edge, (10, 5) on the shared edge,
    # (0, 0) on A's corner; (20.001, 5) is outside; a multipoint takes the GEOS path
    edge = gpd.GeoDataFrame(
        geometry=[
            shapely.Point(20, 5),
            shapely.Point(10, 5),
            shapely.Point(0, 0),
            shapely.Point(20.001, 5),
            shapely.MultiPoint([(5, 5), (6, 6)]),
        ],
        crs=CRS,
    )
    on_edge = locate_points(edge, parcels)
    assert on_edge.iloc[0] == "B" and on_edge.iloc[1] in ("A", "B") and on_edge.iloc[2] == "A"
    assert pd.isna(on_edge.iloc[3])
    assert on_edge.iloc[4] == "A"


def test_find_nearest_distances():
    targets = gdf([shapely.Point(0, 0), shapely.Point(100, 0)], [10, 20], "node_id")
    geoms = gdf(
        [shapely.box(3, 4, 5, 6), shapely.box(90, -1, 92, 1), shapely.box(50, 500, 51, 501)],
        ["a", "b", "c"],
        "building_id",
    )
    near = find_nearest(geoms, targets, max_distance_m=50)
    # a: corner (3, 4) is 5 m from (0, 0); b: edge x=92 is 8 m from (100, 0); c: beyond 50 m
    assert near["node_id"].iloc[:2].tolist() == [10, 20]
    assert pd.isna(near.loc["c", "node_id"])
    np.testing.assert_allclose(near["distance_m"], [5.0, 8.0, np.nan])


def test_crs_checks(parcels):
    other = parcels.to_crs(3857)
    with pytest.raises(CRSError, match="different CRSs"):
        compute_overlap_shares(parcels, other)
    geo = parcels.set_crs(4326, allow_override=True)
    with pytest.raises(GeographicCRSError):
        compute_overlap_shares(geo, geo)


@pytest.mark.shared_data
def test_bubenec_buildings_to_plots(shared_data):
    from cimkit.io.vector import read_buildings, read_parcels

    path = shared_data / "prague_bubenec" / "bubenec.gpkg"
    buildings = read_buildings(path, layer="buildings")
    plots = read_parcels(path, layer="plots")
    assert (len(buildings), len(plots)) == (144, 407)  # MANIFEST counts
    long = compute_overlap_shares(buildings, plots)
    sums = long.groupby("left_id")["share"].sum().reindex(buildings.index, fill_value=0.0)
    # independent truth: share of each footprint inside the union of all plots (shapely)
    union = shapely.union_all(plots.geometry.to_numpy())
    covered = shapely.area(shapely.intersection(buildings.geometry.to_numpy(), union)) / buildings.area
    # the plots overlap one another by digitising slivers, so a sum can exceed the covered
    # share by a few 1e-5 (measured max 2.6e-5)
    np.testing.assert_allclose(sums.to_numpy(), covered.to_numpy(), atol=1e-4)
    # most buildings lie inside plots: their shares sum to 1 within that tolerance
    full = covered.to_numpy() > 1 - 1e-9
    assert full.sum() >= 50
    np.testing.assert_allclose(sums.to_numpy()[full], 1.0, atol=1e-4)
    # the rest stick out of the plots into streets: shares sum to the part inside any plot
    link = link_buildings_to_parcels(buildings, plots)
    # largest plot per building against geopandas overlay + idxmax
    over = gpd.overlay(buildings.reset_index(), plots.reset_index(), how="intersection", keep_geom_type=True)
    over["a"] = over.area
    ref = over.loc[over.groupby("building_id")["a"].idxmax()].set_index("building_id")["parcel_id"]
    assert (link.loc[ref.index, "parcel_id"] == ref).all()


def test_sample_city_footprints_on_ifc_parcels(sample_city_dir):
    """Every IFC building's parcel (buildings/index.csv) holds exactly one cadastre footprint."""
    from cimkit.io.plu import read_zoning
    from cimkit.io.vector import read_buildings, read_parcels

    parcels = read_parcels(sample_city_dir / "parcels.geojson", crs=CRS)
    footprints = read_buildings(sample_city_dir / "footprints.geojson")
    index = pd.read_csv(sample_city_dir / "buildings" / "index.csv")
    link = link_buildings_to_parcels(footprints, parcels)
    assert link["parcel_id"].notna().all()
    assert not link["crosses_parcels"].any()
    assert (link["parcel_share"] > 0.999).all()  # footprints lie inside their parcels
    counts = link["parcel_id"].value_counts()
    assert (counts.reindex(index["parcel_id"]) == 1).all()
    zones = read_zoning(sample_city_dir / "zone_urba.geojson", crs=CRS)
    pz = link_parcels_to_zones(parcels, zones)
    assert pz["zone_id"].notna().all()
    # Résidence Victor Hugo's parcel is in zone UB (README)
    assert zones.loc[pz.loc["91999000AE0002", "zone_id"], "libelle"] == "UB"


@pytest.mark.slow
def test_sample_city_ifc_buildings_link_and_match(sample_city_dir):
    """IFC buildings land on their own parcel (index.csv) and match the cadastre footprints."""
    import warnings

    from cimkit.analysis.merge import match_footprints
    from cimkit.io.ifc import read_ifc
    from cimkit.io.vector import read_buildings, read_parcels

    index = pd.read_csv(sample_city_dir / "buildings" / "index.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # georeferencing notes on the millimetre models
        ifc = pd.concat(
            [
                read_ifc(sample_city_dir / "buildings" / f, crs=CRS, sandbox=False, processes=1)
                for f in index["file"]
            ]
        )
    ifc = gpd.GeoDataFrame(ifc, geometry=ifc.geometry.name, crs=CRS)
    parcels = read_parcels(sample_city_dir / "parcels.geojson", crs=CRS)
    link = link_buildings_to_parcels(ifc, parcels)
    expected = index.set_index("building_name")["parcel_id"]
    assert (link["parcel_id"].to_numpy() == expected.reindex(ifc["name"]).to_numpy()).all()
    assert not link["crosses_parcels"].any()
    footprints = read_buildings(sample_city_dir / "footprints.geojson")
    match = match_footprints(ifc, footprints)
    matched = match[match["status"] == "matched"]
    # all 11 IFC buildings (including the rotated and millimetre ones) find their footprint;
    # the other 32 footprints have no IFC model
    assert len(matched) == 11
    assert (match["status"] == "footprint_only").sum() == 43 - 11
    assert (np.hypot(matched["dx_m"], matched["dy_m"]) < 1.0).all()
