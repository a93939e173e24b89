"""The partitioned (dask) path of linking, the zoning check and flood depths equals the in-memory path."""

from __future__ import annotations

import sys
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import CRS

pytest.importorskip("dask_geopandas")
distributed = pytest.importorskip("distributed")

import dask_geopandas  # noqa: E402

from cimkit.analysis import linking, partitioned  # noqa: E402
from cimkit.analysis.flood import compute_building_depths  # noqa: E402
from cimkit.analysis.zoning import check_compliance  # noqa: E402
from cimkit.errors import CimkitError, CoverageWarning, InputError  # noqa: E402
from cimkit.raster import Raster  # noqa: E402

CRS_L93 = "EPSG:2154"
RULES = {
    # libelle: max_height_m, max_footprint_ratio, road, side, side ratio, green, uses
    "UA": (15.0, 0.7, 0.0, 0.0, 0.0, 0.1, "residential;office;retail"),
    "UB": (12.0, 0.4, 3.0, 2.0, 0.5, 0.3, "residential;office"),
    "UX": (18.0, 0.6, 5.0, 2.0, 0.5, 0.15, "office;retail;industrial"),
    "N": (6.0, 0.05, 10.0, 5.0, 0.0, 0.8, "agriculture"),
}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _city(n_blocks_x: int, n_blocks_y: int, seed: int = 7) -> dict[str, gpd.GeoDataFrame]:
    """A town of blocks of 4 x 5 parcels (20 x 25 m) between 12 m streets, one building per parcel.

    About 12 % of the buildings straddle into the next parcel, 10 % are L-shaped (not convex),
    and about 4 % sit exactly astride two parcels (a 50 / 50 tie).
    """
    rng = np.random.default_rng(seed)
    pw, ph, street = 20.0, 25.0, 12.0
    bw, bh = 4 * pw + street, 5 * ph + street
    x0, y0 = 650_000.0, 6_860_000.0
    rows: list[tuple[str, shapely.Geometry, str]] = []
    for bx in range(n_blocks_x):
        for by in range(n_blocks_y):
            for i in range(4):
                for j in range(5):
                    x, y = x0 + bx * bw + i * pw, y0 + by * bh + j * ph
                    owner = f"O{bx}-{by}-{i // 2}" if rng.random() < 0.9 else f"X{rng.integers(100)}"
                    rows.append((f"P{bx:03d}{by:03d}{i}{j}", shapely.box(x, y, x + pw, y + ph), owner))
    parcels = gpd.GeoDataFrame(
        {"parcel_id": [r[0] for r in rows], "owner": [r[2] for r in rows]},
        geometry=[r[1] for r in rows],
        crs=CRS_L93,
    ).set_index("parcel_id")
    b_geoms, kinds = [], rng.random(len(rows))
    for (pid, cell, _), kind in zip(rows, kinds):
        minx, miny, _, _ = cell.bounds
        i = int(pid[-2])
        w, h = rng.uniform(6, 12), rng.uniform(6, 12)
        cx, cy = minx + rng.uniform(2, pw - w - 2), miny + rng.uniform(2, ph - h - 2)
        if kind < 0.05 and i < 3:  # exactly astride the edge with the next parcel: a 50 / 50 tie
            geom = shapely.box(minx + pw - 4.0, miny + 5.0, minx + pw + 4.0, miny + 13.0)
        elif kind < 0.17:  # straddles into the next parcel
            geom = shapely.box(minx + pw - w * rng.uniform(0.2, 0.6), cy, minx + pw + w * 0.3, cy + h)
        elif kind < 0.27:  # L-shaped
            geom = shapely.Polygon(
                [
                    (cx, cy),
                    (cx + w, cy),
                    (cx + w, cy + h / 2),
                    (cx + w / 2, cy + h / 2),
                    (cx + w / 2, cy + h),
                    (cx, cy + h),
                ]
            )
        else:
            geom = shapely.box(cx, cy, cx + w, cy + h)
        b_geoms.append(geom)
    n = len(b_geoms)
    uses = np.array(["residential", "office", "retail", "industrial"])[rng.integers(0, 4, n)]
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [f"B{k:06d}" for k in range(n)],
            "height_m": np.round(rng.uniform(3, 20, n), 1),
            "use": uses,
        },
        geometry=b_geoms,
        crs=CRS_L93,
    ).set_index("building_id")
    width, height = n_blocks_x * bw, n_blocks_y * bh
    labels = list(RULES)
    zone_rows = []
    for zx in range(3):
        for zy in range(2):  # zone edges cut through parcels (x + 7 m)
            geom = shapely.box(x0 + zx * width / 3 + 7 - (zx == 0) * 20, y0 + zy * height / 2 - (zy == 0) * 20,
                               x0 + (zx + 1) * width / 3 + 7 + (zx == 2) * 20, y0 + (zy + 1) * height / 2 + (zy == 1) * 20)  # fmt: skip
            label = labels[(zx + 2 * zy) % len(labels)]
            zone_rows.append(
                {
                    "zone_id": 10 * zx + zy,
                    "libelle": label,
                    **dict(zip(_rule_names(), RULES[label])),
                    "geometry": geom,
                }
            )
    zones = gpd.GeoDataFrame(zone_rows, geometry="geometry", crs=CRS_L93).set_index("zone_id")
    roads = [
        shapely.LineString([(x0 + k * bw - street / 2, y0 - 10), (x0 + k * bw - street / 2, y0 + height)])
        for k in range(1, n_blocks_x)
    ]
    roads += [
        shapely.LineString([(x0 - 10, y0 + k * bh - street / 2), (x0 + width, y0 + k * bh - street / 2)])
        for k in range(1, n_blocks_y)
    ]
    return {
        "buildings": buildings,
        "parcels": parcels,
        "zones": zones,
        "roads": gpd.GeoDataFrame(geometry=roads, crs=CRS_L93),
    }


def _rule_names() -> tuple[str, ...]:
    return ("max_height_m", "max_footprint_ratio", "min_setback_road_m", "min_setback_side_m",
            "side_setback_height_ratio", "min_green_ratio", "allowed_uses")  # fmt: skip


def _depth(buildings: gpd.GeoDataFrame) -> Raster:
    """A 2 m depth grid over the town: water deepening to the west, dry in the east, a no-data strip."""
    minx, miny, maxx, maxy = buildings.total_bounds
    cols, rows = int((maxx - minx) / 2) + 10, int((maxy - miny) / 2) + 10
    xs = np.arange(cols)
    values = np.tile(np.clip(1.5 - xs / (cols / 2), 0, None), (rows, 1)).astype("float64")
    values[: rows // 10, :] = np.nan
    return Raster(values, Affine(2.0, 0, minx - 10, 0, -2.0, maxy + 10), CRS(CRS_L93))


@pytest.fixture(scope="module")
def town() -> dict[str, gpd.GeoDataFrame]:
    return _city(16, 16)  # 16 x 16 blocks x 20 parcels = 5,120 buildings (and parcels)


@pytest.fixture(scope="module")
def village() -> dict[str, gpd.GeoDataFrame]:
    layers = _city(4, 4)  # 320 buildings: the zoning check in memory takes seconds, not minutes
    layers["compliance"] = _compliance(layers, layers["buildings"])
    return layers


@pytest.fixture(scope="module")
def sample(sample_city_dir):
    from cimkit.io.plu import read_zoning
    from cimkit.io.vector import read_buildings, read_layer, read_parcels

    return {
        "buildings": read_buildings(sample_city_dir / "footprints.geojson"),
        "parcels": read_parcels(sample_city_dir / "parcels.geojson", crs=CRS_L93),
        "zones": read_zoning(
            sample_city_dir / "zone_urba.geojson", rules=sample_city_dir / "zone_rules.csv", crs=CRS_L93
        ),
        "roads": read_layer(sample_city_dir / "streets.geojson"),
    }


def _by_space(frame: gpd.GeoDataFrame, npartitions: int):
    """A dask frame partitioned by space (Hilbert order, spatial partitions known): no shuffle."""
    ordered = frame.iloc[np.argsort(frame.geometry.hilbert_distance().to_numpy(), kind="stable")]
    lazy = dask_geopandas.from_geopandas(ordered, npartitions=npartitions, sort=False)
    lazy.calculate_spatial_partitions()
    return ordered, lazy


LINKS = (
    ("link_buildings_to_parcels", "buildings", "parcels"),
    ("link_buildings_to_zones", "buildings", "zones"),
    ("link_parcels_to_zones", "parcels", "zones"),
)


def _compliance(layers, buildings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        return check_compliance(buildings, layers["parcels"], layers["zones"], roads=layers["roads"])


def _assert_links_equal(layers, npartitions):
    for func, left, right in LINKS:
        ordered, lazy = _by_space(layers[left], npartitions)
        expected = getattr(linking, func)(ordered, layers[right])
        got = getattr(linking, func)(lazy, layers[right])  # dispatched to partitioned
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_shuffled_frame_comes_back_in_input_order(client, sample):
    """An unpartitioned frame is shuffled along a Hilbert curve; rows come back in the input order."""
    lazy = dask_geopandas.from_geopandas(sample["buildings"], npartitions=4)
    assert lazy.spatial_partitions is None
    expected = linking.link_buildings_to_parcels(sample["buildings"], sample["parcels"])
    got = linking.link_buildings_to_parcels(lazy, sample["parcels"])
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.loc["BATI0001", "parcel_id"] == "91999000AK0005"


def test_sample_city_every_step(client, sample):
    _assert_links_equal(sample, 3)
    ordered, lazy = _by_space(sample["buildings"], 3)
    got = _compliance(sample, lazy)
    pd.testing.assert_frame_equal(got, _compliance(sample, ordered), check_exact=True)
    assert (int(got["compliant"].sum()), int((~got["compliant"]).sum())) == (41, 2)
    depth = _depth(ordered)
    pd.testing.assert_frame_equal(
        compute_building_depths(lazy, depth), compute_building_depths(ordered, depth), check_exact=True
    )


def test_town_links_and_depths(client, town):
    _assert_links_equal(town, 8)
    ordered, lazy = _by_space(town["buildings"], 8)
    depth = _depth(ordered)
    got = compute_building_depths(lazy, depth)
    pd.testing.assert_frame_equal(got, compute_building_depths(ordered, depth), check_exact=True)
    assert 0 < (got["max_depth_m"] > 0).mean() < 1 and got["max_depth_m"].isna().any()


@pytest.mark.slow
def test_town_zoning_check(client, town):
    ordered, lazy = _by_space(town["buildings"], 8)
    pd.testing.assert_frame_equal(_compliance(town, lazy), _compliance(town, ordered), check_exact=True)


def test_generated_towns_have_the_cases_they_claim(town, village):
    links = linking.link_buildings_to_parcels(town["buildings"], town["parcels"])
    assert len(links) == 5120
    assert (links["parcel_share"] == 0.5).sum() > 50  # exact 50 / 50 ties
    assert links["crosses_parcels"].sum() > 500
    compliance = village["compliance"]
    assert compliance["check_manually"].sum() >= 3  # different owners -> manual check
    assert compliance["ces_ok"].eq(False).sum() > 5
    assert compliance["n_parcels"].max() == 2
    assert set(compliance["libelle"].dropna()) == set(RULES)


def test_ties_across_partition_edges(client, village):
    """A building astride two parcels (a 50 / 50 tie) whose parcels lie in other partitions."""
    buildings, parcels = village["buildings"], village["parcels"]
    expected = linking.link_buildings_to_parcels(buildings, parcels)
    tied = expected.index[expected["parcel_share"] == 0.5]
    assert len(tied) > 5
    # partitions made of whole columns of parcels: the two parcels of a tie often lie in two
    column = ((buildings.geometry.centroid.x - buildings.total_bounds[0]) // 20).astype(int)
    ordered = buildings.iloc[np.argsort(column.to_numpy(), kind="stable")]
    lazy = dask_geopandas.from_geopandas(ordered, npartitions=5, sort=False)
    lazy.calculate_spatial_partitions()  # kept as given: no shuffle
    got = linking.link_buildings_to_parcels(lazy, parcels)
    pd.testing.assert_frame_equal(got, expected.loc[ordered.index], check_exact=True)
    # the tie goes to the parcel of lowest position, whatever the spatial index returns first
    compliance = village["compliance"]
    for building in tied:
        pair = parcels.index.get_indexer(compliance.loc[building, "parcels"].split(";"))
        assert len(pair) == 2 and parcels.index.get_loc(got.loc[building, "parcel_id"]) == pair.min()
    pd.testing.assert_frame_equal(_compliance(village, lazy), compliance.loc[ordered.index], check_exact=True)


def _first_only(part: gpd.GeoDataFrame, partition_info=None) -> gpd.GeoDataFrame:
    return part if partition_info and partition_info["number"] == 0 else part.iloc[:0]


def test_empty_partitions_and_empty_frames(client, sample):
    buildings, parcels = sample["buildings"], sample["parcels"]
    lazy = dask_geopandas.from_geopandas(buildings, npartitions=5)
    first = lazy.partitions[0].compute().index
    kept = lazy.map_partitions(_first_only, meta=lazy._meta)  # four empty partitions
    assert kept.npartitions == 5
    got = linking.link_buildings_to_parcels(kept, parcels)
    expected = linking.link_buildings_to_parcels(buildings.loc[first], parcels)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    none = lazy[lazy["height_m"] < -1]
    got = linking.link_buildings_to_parcels(none, parcels)
    assert got.empty and list(got.columns) == list(expected.columns)
    with pytest.raises(InputError) as err:
        compute_building_depths(none, _depth(buildings))
    assert err.value.code == "ANA014"


def test_a_dask_frame_without_geometry_is_refused(client, sample):
    import dask.dataframe as dd

    plain = dd.from_pandas(pd.DataFrame(sample["buildings"].drop(columns="geometry")), npartitions=2)
    with pytest.raises(InputError) as err:
        partitioned.link_buildings_to_parcels(plain, sample["parcels"])
    assert err.value.code == "DSK002"


def test_missing_dask_names_the_extra(monkeypatch, sample):
    monkeypatch.setitem(sys.modules, "dask_geopandas", None)  # import raises ImportError
    with pytest.raises(CimkitError) as err:
        partitioned.link_buildings_to_parcels(sample["buildings"], sample["parcels"])
    assert err.value.code == "DSK001"
    assert "pip install 'cimkit[dask]'" in str(err.value)
