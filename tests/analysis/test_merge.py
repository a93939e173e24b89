"""Merging building sources: IoU matching of footprints and merge_buildings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit import provenance
from cimkit.analysis.merge import match_footprints, merge_buildings
from cimkit.errors import CRSError, InputError, MissingCRSError

CRS = "EPSG:2154"


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
    record = provenance.get(merged)
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
    assert "source_kind" not in ifc.columns and len(provenance.get(ifc).steps) == 0


def test_merge_buildings_three_sources(sources):
    ifc, cityjson, footprints = sources
    merged = merge_buildings(ifc=ifc, footprints=footprints, cityjson=cityjson)
    # c2 duplicates i1 and is dropped; f1 matches i1, f2 matches c1; f3 stays
    assert merged.index.tolist() == ["i1", "i2", "c1", "f3"]
    assert merged["source_kind"].tolist() == ["ifc", "ifc", "cityjson", "footprint"]
    assert merged["footprint_id"].fillna("-").tolist() == ["f1", "-", "f2", "f3"]
    params = provenance.get(merged).steps[-1].params
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
    assert provenance.get(merged).steps[-1].params["footprint_only"] == 3


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
    ifc = loaded[loaded["source_kind"] == "ifc"].drop(columns=["source_kind", "footprint_id"])
    footprints = read_buildings(sample_city_dir / "footprints.geojson", crs=CRS)
    merged = merge_buildings(ifc=ifc, footprints=footprints)
    params = provenance.get(merged).steps[-1].params
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
