"""The PostGIS store: round trip equal to the GeoPackage one, table layout, partial reads, errors."""

from __future__ import annotations

import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
from shapely.geometry import Point, box

from cimkit.datasets import load_sample_city
from cimkit.errors import CimkitIOError, FileFormatError, LayerNotFoundError, ValidationError
from cimkit.io.gpkg import read_gpkg, write_gpkg
from cimkit.io.postgis import link_in_postgis, read_postgis, write_postgis
from cimkit.model import read_model
from tests.postgis._compare import assert_stored_equal
from tests.test_model import X0, Y0, _full_model

pytestmark = pytest.mark.xdist_group("postgis")


def _parts(model):
    return dict(
        crs=model.crs,
        name=model.name,
        layers=model._layers,
        networks=model._networks,
        dem=model._dem,
        records=model._provenance,
    )


def _schema(dsn: str) -> str:
    return dsn.rsplit("schema=", 1)[1]


def test_every_layer_type_round_trip_equals_the_geopackage_one(city_dsn, tmp_path):
    model = _full_model()
    counts = write_postgis(city_dsn, **_parts(model))
    assert counts["buildings"] == {"inserted": 3, "updated": 0, "deleted": 0, "unchanged": 0}
    assert counts["dem"]["inserted"] == 1  # a 30 x 40 DEM is one 256 x 256 tile
    expected = read_gpkg(write_gpkg(tmp_path / "city.gpkg", **_parts(model)))
    got = read_postgis(city_dsn)
    assert_stored_equal(got, expected)
    assert got.layers["buildings"].loc["1hqIFTRjfV6AWq_bMtnZwI", "height_m"] == np.float32(16.2)
    assert got.records["buildings"].steps[0].params == {"count": 2}
    # saving the same model again changes nothing, and says so
    again = write_postgis(city_dsn, **_parts(model))
    assert all(
        c["unchanged"] == n and c["inserted"] == 0 for c, n in zip(again.values(), [3, 2, 2, 1, 3, 2, 1])
    )
    assert_stored_equal(read_postgis(city_dsn), expected)


@pytest.mark.parametrize(
    "with_ifc", [False, pytest.param(True, marks=pytest.mark.slow, id="with_ifc")], ids=["footprints", "ifc"]
)
def test_sample_city_round_trip_equals_the_geopackage_one(city_dsn, tmp_path, with_ifc):
    model = load_sample_city(with_ifc=with_ifc)
    model.to_postgis(city_dsn)  # the public path: CityModel.to_postgis and read_model(dsn)
    expected = read_gpkg(model.to_file(tmp_path / "sample.gpkg"))
    got = read_postgis(city_dsn)
    assert_stored_equal(got, expected)
    back = read_model(city_dsn)
    assert back.provenance.equals(read_model(tmp_path / "sample.gpkg").provenance)
    assert back.network("water").edges.equals(read_model(tmp_path / "sample.gpkg").network("water").edges)
    assert len(got.layers["buildings"]) == len(model.buildings) > 30
    assert got.dem.shape == (180, 180)
    assert sorted(got.networks) == ["road", "water"]
    if with_ifc:  # the IFC attribute tables too
        assert len(got.layers["elements"]) == len(model["elements"]) > 400


def test_float64_dem_is_kept_exactly(city_dsn):
    model = _full_model()
    rng = np.random.default_rng(3)
    model._dem.values = 40 + rng.random((300, 520))  # float64, 2 x 3 tiles of 256 cells
    model._dem.values[5, 5] = np.nan
    model._dem.nodata = np.nan
    write_postgis(city_dsn, crs=2154, dem=model._dem)
    back = read_postgis(city_dsn).dem
    assert back.values.dtype == np.float64 and back.shape == (300, 520)
    np.testing.assert_array_equal(back.values, model._dem.values)
    assert np.isnan(back.nodata)


def test_tables_have_types_keys_indexes_and_foreign_keys(city_dsn):
    write_postgis(city_dsn, **_parts(_full_model()))
    schema = _schema(city_dsn)
    with psycopg.connect(city_dsn.split("?")[0]) as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'buildings'",
                [schema],
            ).fetchall()
        )
        assert types["building_id"] == "text" and types["storeys"] == "integer"
        assert types["height_m"] == "real" and types["gfa_m2"] == "double precision"
        assert types["is_ifc"] == "boolean" and types["n_dwellings"] == "bigint"
        assert types["permit"] == "timestamp with time zone" and types["geometry"] == "USER-DEFINED"
        geometry = conn.execute(
            "SELECT type, srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = 'buildings'",
            [schema],
        ).fetchone()
        assert geometry == ("POLYGON", 2154)
        key = conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
            [f"{schema}.buildings"],
        ).fetchall()
        assert key == [("building_id",)]
        gist = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'buildings' "
            "AND indexdef LIKE '%%gist%%'",
            [schema],
        ).fetchall()
        assert len(gist) == 1
        fkeys = conn.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass ORDER BY 1",
            [f"{schema}.network_road_edges"],
        ).fetchall()
        assert fkeys == [("network_road_edges_u_fkey",), ("network_road_edges_v_fkey",)]
        raster = conn.execute(
            "SELECT srid, scale_x, scale_y FROM raster_columns WHERE r_table_schema = %s", [schema]
        ).fetchone()
        assert raster == (2154, 5.0, -5.0)
        # spatial SQL works on the stored rows: the office building is the one over 500 m2
        big = conn.execute(
            f'SELECT building_id FROM "{schema}".buildings WHERE ST_Area(geometry) > 500'
        ).fetchall()
        assert big == [("1hqIFTRjfV6AWq_bMtnZwI",)]


def test_bbox_and_layers_load_part_of_the_city(city_dsn):
    model = load_sample_city(with_ifc=False)
    write_postgis(city_dsn, **_parts(model))
    minx, miny, maxx, maxy = model.buildings.total_bounds
    bbox = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    part = read_postgis(city_dsn, bbox=bbox)
    expected = model.buildings[model.buildings.intersects(box(*bbox))]
    assert 0 < len(part.layers["buildings"]) < len(model.buildings)
    assert part.layers["buildings"].index.tolist() == expected.index.tolist()
    dem = part.dem
    assert dem.shape[0] < model.dem.shape[0] or dem.shape[1] < model.dem.shape[1] or dem.shape == (180, 180)
    row, col = ~model.dem.transform @ (dem.transform.c, dem.transform.f)
    window = model.dem.values[round(row) : round(row) + dem.shape[0], round(col) : round(col) + dem.shape[1]]
    np.testing.assert_array_equal(dem.values, window)
    edges = part.networks["road"].edges
    assert set(edges["u"]) | set(edges["v"]) <= set(part.networks["road"].nodes.index)
    only = read_postgis(city_dsn, layers=["parcels", "network_water"])
    assert list(only.layers) == ["parcels"] and list(only.networks) == ["water"] and only.dem is None
    assert sorted(only.records) == ["network_water", "parcels"]
    with pytest.raises(LayerNotFoundError, match="'roads'"):
        read_postgis(city_dsn, layers=["roads"])


def test_errors_are_typed_and_name_the_problem(city_dsn, postgis_dsn):
    model = _full_model()
    with pytest.raises(FileFormatError) as err:
        read_postgis(city_dsn)
    assert err.value.code == "MOD052"
    with pytest.raises(ValidationError) as err:
        write_postgis(city_dsn, crs=2154, layers={"cimkit_layers": model.parcels})
    assert err.value.code == "MOD056"
    with pytest.raises(ValidationError) as err:
        write_postgis(city_dsn, crs=2154, layers={"parcels": model.parcels}, public_role="nobody_here")
    assert err.value.code == "MOD058"
    schema = _schema(city_dsn)
    with psycopg.connect(postgis_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".parcels (a int)')
    with pytest.raises(CimkitIOError) as err:
        write_postgis(city_dsn, crs=2154, layers={"parcels": model.parcels})
    assert err.value.code == "MOD053" and "parcels" in str(err.value)
    with psycopg.connect(postgis_dsn) as conn:  # the refused save left the user's table alone
        assert conn.execute(f'SELECT count(*) FROM "{schema}".parcels').fetchone() == (0,)
    bad = postgis_dsn.replace("postgres@", "postgres:secret@").rsplit(":", 1)[0] + ":1/postgres"
    with pytest.raises(CimkitIOError) as err:
        read_postgis(bad)
    assert err.value.code == "MOD050" and "secret" not in str(err.value)
    assert X0 < Y0  # the test model's origin (Lambert-93) is used above


def _awkward() -> dict[str, pd.DataFrame]:
    """Values that are easy to get wrong: escapes, JSON cells, dates, nullable and huge ints, tz."""
    odd = gpd.GeoDataFrame(
        {
            "text": ["tab\there", "new\nline", "back\\slash", None],
            "uni": ["é ü 中", "", "a\"b'c", "\\N"],
            "cells": [[1, 2], {"a": 1}, None, ["x"]],
            "day": [datetime.date(2024, 1, 2), None, datetime.date(1999, 12, 31), datetime.date(2000, 2, 29)],
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "cat": pd.Categorical(["a", None, "b", "a"], categories=["b", "a", "z"], ordered=True),
            "big": np.array([0, 2**63 + 5, 7, 1], dtype="uint64"),
            "allnan": [np.nan] * 4,
            "naive": pd.to_datetime(
                ["2020-01-01 10:00", None, "2021-06-01 12:30:15.123456", "2022-01-01"], format="ISO8601"
            ),
            "paris": pd.to_datetime(
                ["2020-01-01 10:00", None, "2021-06-01 12:30", "2022-01-01"], format="ISO8601"
            ).tz_localize("Europe/Paris"),
        },
        geometry=[Point(1, 2), None, box(0, 0, 1, 1), Point(3, 4)],
        index=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1), ("b", 2)], names=["sect", "num"]),
        crs=2154,
    )
    empty = gpd.GeoDataFrame({"v": pd.Series([], dtype="float64")}, geometry=[], crs=2154)
    duplicated = pd.DataFrame({"v": [1, 2]}, index=pd.Index([5, 5], name="k"))
    return {"odd": odd, "empty": empty, "duplicated": duplicated}


def test_awkward_values_round_trip_exactly_and_update_by_key(city_dsn):
    layers = _awkward()
    write_postgis(city_dsn, crs=2154, layers=layers)
    back = read_postgis(city_dsn).layers
    for name, layer in layers.items():
        assert back[name].dtypes.astype(str).to_dict() == layer.dtypes.astype(str).to_dict(), name
        pd.testing.assert_frame_equal(pd.DataFrame(back[name]), pd.DataFrame(layer))
    assert back["odd"].loc[("b", 1), "big"] == 7 and back["odd"].loc[("a", 2), "big"] == 2**63 + 5
    assert back["odd"].loc[("a", 1), "text"] == "tab\there" and back["odd"].loc[("b", 2), "uni"] == "\\N"
    changed = layers["odd"].copy()
    changed.loc[("b", 2), "text"] = "changed"
    changed = changed.drop(index=[("a", 2)])
    counts = write_postgis(city_dsn, crs=2154, layers={**layers, "odd": changed})
    assert counts["odd"] == {"inserted": 0, "updated": 1, "deleted": 1, "unchanged": 2}
    assert counts["duplicated"] == {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 2}
    pd.testing.assert_frame_equal(pd.DataFrame(read_postgis(city_dsn).layers["odd"]), pd.DataFrame(changed))


def test_linking_in_sql_equals_the_in_memory_path(city_dsn):
    from cimkit.analysis.linking import link_buildings_to_parcels, link_buildings_to_zones

    model = load_sample_city(with_ifc=False)
    write_postgis(city_dsn, crs=model.crs, layers=model.layers)
    for right, link in (("zones", link_buildings_to_zones), ("parcels", link_buildings_to_parcels)):
        in_sql = link_in_postgis(city_dsn, left="buildings", right=right)
        in_memory = link(model.buildings, model[right])
        key, share, count = in_memory.columns[:3]
        assert in_sql.index.equals(in_memory.index)
        assert in_sql[key].astype(object).tolist() == in_memory[key].astype(object).tolist()
        np.testing.assert_allclose(in_sql["share"], in_memory[share], atol=1e-4)
        assert in_sql["n_overlaps"].tolist() == in_memory[count].tolist()
        np.testing.assert_allclose(in_sql["covered_share"], in_memory["covered_share"], atol=1e-4)
    assert in_sql[key].notna().all() and len(in_sql) == len(model.buildings)
    with pytest.raises(LayerNotFoundError):
        link_in_postgis(city_dsn, left="buildings", right="nothing")
