"""assess(model): accessibility of a small hand-made city model, every number worked out by hand.

The street grid is 3 x 3 nodes, 100 m blocks, walked at 80 m/min (4.8 km/h): 1.25 min per block.
Node ids (x, y in metres east and north of (X0, Y0), a point of Lambert-93):

    6 (0,200)   7 (100,200)   8 (200,200)
    3 (0,100)   4 (100,100)   5 (200,100)
    0 (0,0)     1 (100,0)     2 (200,0)

Buildings are 4 m squares whose centroid is 8 m from a node (access walk 8 / 80 = 0.1 min):
b0 at node 0, b1 at node 1, b4 at node 4 (an office) and b8 at node 8. A school stands 16 m off
node 2 (egress 0.2 min), a bakery on node 3.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit.analysis.accessibility import (
    DEFAULT_CATEGORIES,
    AccessibilityResult,
    assess,
    compute_fifteen_minute_score,
)
from cimkit.analysis.result import AnalysisResult
from cimkit.errors import CoverageWarning, InputError, ValidationError
from cimkit.model import CityModel
from cimkit.network.graph import Network

GROUPS = {"education": ["school"], "food": ["bakery"]}
X0, Y0 = 651_000.0, 6_847_000.0  # the grid's node 0 in Lambert-93 (metres), inside the CRS's area of use


def _grid() -> Network:
    xy = [(X0 + x * 100.0, Y0 + y * 100.0) for y in range(3) for x in range(3)]
    nodes = gpd.GeoDataFrame(geometry=shapely.points(xy), index=pd.Index(range(9), name="node_id"), crs=2154)
    pairs = [(i, i + 1) for i in range(9) if i % 3 < 2] + [(i, i + 3) for i in range(6)]
    edges = gpd.GeoDataFrame(
        {"u": [a for a, _ in pairs], "v": [b for _, b in pairs]},
        geometry=[shapely.LineString([xy[a], xy[b]]) for a, b in pairs],
        index=pd.Index(range(len(pairs)), name="edge_id"),
        crs=2154,
    )
    edges["walk_time_min"] = edges.geometry.length / 80.0
    return Network(nodes, edges, kind="road")


def _model(*, with_zones: bool = True) -> CityModel:
    centres = {"b0": (0, -8), "b1": (100, -8), "b4": (100, 92), "b8": (200, 192)}
    buildings = gpd.GeoDataFrame(
        {"use": ["residential", "residential", "office", "residential"]},
        geometry=[shapely.box(X0 + x - 2, Y0 + y - 2, X0 + x + 2, Y0 + y + 2) for x, y in centres.values()],
        index=pd.Index(list(centres), name="building_id"),
        crs=2154,
    )
    pois = gpd.GeoDataFrame(
        {"category": ["school", "bakery"]},
        geometry=shapely.points([(X0 + 216, Y0), (X0, Y0 + 100)]),
        index=pd.Index(["p_school", "p_bakery"], name="poi_id"),
        crs=2154,
    )
    model = CityModel("EPSG:2154")
    model.add_layer("buildings", buildings)
    model.add_layer("pois", pois)
    if with_zones:
        zones = gpd.GeoDataFrame(
            {"libelle": ["UA", "UB"]},
            geometry=[
                shapely.box(X0 - 50, Y0 - 50, X0 + 150, Y0 + 250),
                shapely.box(X0 + 150, Y0 - 50, X0 + 250, Y0 + 250),
            ],
            index=pd.Index(["UA", "UB"], name="zone_id"),
            crs=2154,
        )
        model.add_layer("zones", zones)
    model.add_network(_grid())
    return model


def _closed() -> Network:
    """The grid with the street 0-3 closed and node 8 cut off (all its streets closed)."""
    net = _grid()
    edges = net.edges.copy()
    closed = ((edges["u"] == 0) & (edges["v"] == 3)) | (edges["u"] == 8) | (edges["v"] == 8)
    edges.loc[closed, "walk_time_min"] = np.nan
    return Network(net.nodes, edges, kind="road")


def test_buildings_times_and_scores_by_hand():
    result = assess(_model(), categories=GROUPS, max_time_min=3.0)
    assert isinstance(result, AccessibilityResult) and isinstance(result, AnalysisResult)
    b = result.buildings
    assert list(b.index) == ["b0", "b1", "b4", "b8"]
    # school (node 2, +0.2 egress): b0 two blocks 0.1 + 2.5 + 0.2; b1 one block; b4 and b8 two blocks
    np.testing.assert_allclose(b["school_min"], [2.8, 1.55, 2.8, 2.8])
    # bakery (node 3): b0 and b4 one block (0.1 + 1.25), b1 two blocks, b8 three blocks (0.1 + 3.75)
    np.testing.assert_allclose(b["bakery_min"], [1.35, 2.6, 1.35, 3.85])
    # groups of one category take its time; within 3 min b8 reaches the school only
    np.testing.assert_allclose(b["food_min"], b["bakery_min"])
    assert b["groups_reached"].tolist() == [2, 2, 2, 1]
    assert b["score"].tolist() == [1.0, 1.0, 1.0, 0.5]
    assert b["home"].tolist() == [True, True, False, True]
    assert b["zone_id"].tolist() == ["UA", "UA", "UA", "UB"]
    assert result.flooded is None and result.loss is None


def test_zone_and_city_summaries_are_over_homes():
    result = assess(_model(), categories=GROUPS, max_time_min=3.0)
    z = result.zones
    assert list(z.index) == ["UA", "UB"] and z.index.name == "zone_id"
    # UA holds the homes b0 and b1 (b4 is an office); UB holds b8
    assert z["homes"].tolist() == [2, 1]
    assert z.loc["UA", "school_min_median"] == pytest.approx((2.8 + 1.55) / 2)
    assert z.loc["UA", "bakery_min_median"] == pytest.approx((1.35 + 2.6) / 2)
    assert z["score_mean"].tolist() == [1.0, 0.5]
    # consistent with the per-building table: the same statistics grouped by zone over homes
    homes = result.buildings[result.buildings["home"]]
    by_zone = homes.groupby("zone_id")
    pd.testing.assert_series_equal(z["score_median"], by_zone["score"].median(), check_names=False)
    pd.testing.assert_series_equal(z["bakery_min_median"], by_zone["bakery_min"].median(), check_names=False)
    assert z["homes"].sum() == result.city["homes"] == 3
    c = result.city
    assert c["homes_all_groups"] == 2
    assert c["score_mean"] == pytest.approx(2.5 / 3)
    assert c["school_min_median"] == pytest.approx(2.8)  # of 2.8, 1.55, 2.8
    assert c["bakery_min_median"] == pytest.approx(2.6)  # of 1.35, 2.6, 3.85
    assert any("3 of 4" in caveat for caveat in result.caveats)


def test_closed_network_gives_the_loss():
    result = assess(_model(), categories=GROUPS, max_time_min=3.0, closed_network=_closed())
    f, loss = result.flooded, result.loss
    assert f is not None and loss is not None
    # b0 -> bakery now 0-1-4-3: three blocks, 0.1 + 3.75 = 3.85 (+2.5); b8 reaches nothing
    assert f.loc["b0", "bakery_min"] == pytest.approx(3.85)
    assert loss.loc["b0", "bakery_min_loss"] == pytest.approx(2.5)
    assert loss.loc["b0", "school_min_loss"] == pytest.approx(0.0)
    assert loss.loc["b1", "bakery_min_loss"] == pytest.approx(0.0)  # 1-4-3 was already as short
    assert np.isinf(loss.loc["b8", "school_min_loss"]) and f["school_min"].isna()["b8"]
    assert loss["cut_off"].tolist() == [False, False, False, True]
    assert loss["score_loss"].tolist() == [0.5, 0.0, 0.0, 0.5]
    assert f["score"].tolist() == [0.5, 1.0, 1.0, 0.0]
    z, c = result.zones, result.city
    assert z["flooded_score_mean"].tolist() == [0.75, 0.0]
    assert z["homes_cut_off"].tolist() == [0, 1]
    assert c["flooded_score_mean"] == pytest.approx(0.5)  # (0.5 + 1 + 0) / 3
    assert c["homes_cut_off"] == 1 and c["homes_losing_score"] == 2


def test_assess_equals_the_metric_functions():
    model = _model()
    with pytest.warns(CoverageWarning, match="No POI of the categories bus_stop, childcare, doctor"):
        result = assess(model)
    with pytest.warns(
        CoverageWarning, match=r"group\(s\) health, shopping, leisure, transport \(4 origins\)"
    ):
        score = compute_fifteen_minute_score(model.network("road"), model.buildings, model.pois)
    pd.testing.assert_frame_equal(result.buildings[score.columns], score)
    # categories absent from the POIs count as unreachable, and the caveats say so
    assert set(DEFAULT_CATEGORIES) <= {
        c[: -len("_min")] for c in result.buildings.columns if c.endswith("_min")
    }
    assert result.buildings["doctor_min"].isna().all()
    assert any("doctor" in caveat for caveat in result.caveats)


def test_without_zones_and_bad_inputs():
    result = assess(_model(with_zones=False), categories=GROUPS)
    assert result.zones.empty and "zone_id" not in result.buildings.columns
    assert any("no zones" in caveat for caveat in result.caveats)
    with pytest.raises(ValidationError, match="closed_network"):
        assess(_model(), closed_network=_grid().edges)
    with pytest.raises(ValidationError, match="POI category"):
        assess(_model(), categories={"school": ["school", "childcare"]})
    empty = CityModel("EPSG:2154")
    empty.add_layer("buildings", _model()["buildings"])
    with pytest.raises(InputError, match="points of interest"):
        assess(empty)
