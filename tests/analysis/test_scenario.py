"""PLU what-if scenarios: plain data, evaluation, comparison, sweep, envelopes, the sample city."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit.analysis.scenario import (
    DEFAULT_ASSUMPTIONS,
    Scenario,
    assess_scenario,
    compare,
    compute_capacity_envelopes,
    compute_carbon_impact,
    compute_sweep,
    summarise_scenarios,
)
from cimkit.errors import InputError, ValidationError


@pytest.fixture(scope="module")
def model():
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample_city(with_ifc=False)


@pytest.fixture(scope="module")
def flood(model):
    from cimkit.analysis.flood import assess

    levels = pd.read_csv(_sample_dir() / "flood_scenarios.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return assess(
            model, dict(zip(levels["return_period"], levels["water_level_m"])), inflow=model["river"]
        )


def _sample_dir():
    from cimkit.datasets import sample_city_path

    return sample_city_path()


def _zone_nearest_river(model) -> str:
    river = shapely.union_all(model["river"].geometry.to_numpy())
    zones = model["zones"]
    # the urban zone (U...) closest to the river, measured from the zone's parcels' centroids
    urban = zones[zones["typezone"].astype(str).str.startswith("U")]
    distance = shapely.distance(shapely.centroid(urban.geometry.to_numpy()), river)
    return str(urban["libelle"].iloc[int(np.argmin(distance))])


def test_scenario_plain_data_round_trip(tmp_path):
    text = """
name = "Densify UB"
description = "one storey more"
[rules.UB]
max_height_m = 15
[[rezoning]]
geometry = "POLYGON ((650900 6846900, 651000 6846900, 651000 6847000, 650900 6846900))"
zone = "UB"
[constraints.max_flood_depth_m]
return_period = 100
depth_m = 0.5
[assumptions]
uptake_rate = 0.5
"""
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    scenario = Scenario.from_toml(tmp_path / "s.toml")
    assert scenario.rules == {"UB": {"max_height_m": 15.0}}
    assert scenario.assumptions["uptake_rate"] == 0.5
    assert scenario.assumptions["persons_per_dwelling"] == DEFAULT_ASSUMPTIONS["persons_per_dwelling"] == 2.16
    (tmp_path / "s.json").write_text(json.dumps(scenario.to_dict()), encoding="utf-8")
    assert Scenario.from_json(tmp_path / "s.json") == scenario
    with pytest.raises(InputError, match="unknown rule") as err:
        Scenario(name="x", rules={"UB": {"max_hieght_m": 15}})
    assert err.value.code == "SCN003"
    with pytest.raises(InputError, match="unknown constraint"):
        Scenario(name="x", constraints={"flood": {}})
    with pytest.raises(ValidationError, match="uptake_rate"):
        Scenario(name="x", assumptions={"uptake_rate": 1.5})
    with pytest.raises(InputError, match="not a polygon"):
        Scenario(name="x", rezoning=[{"geometry": "POINT (0 0)", "zone": "UB"}])


def test_carbon_impact_by_hand():
    homes = pd.DataFrame(
        {"added_gfa_m2": [1000.0, 200.0], "residential_gfa_m2": [900.0, 200.0], "storeys": [4.0, 2.0]},
        index=pd.Index(["A", "B"], name="parcel_id"),
    )
    impact = compute_carbon_impact(homes, reference_year=2028)
    # 2028 Ic construction maxima: collective housing 580, individual house 475, offices 710
    np.testing.assert_allclose(impact.parcels["embodied_kgco2e"], [900 * 580 + 100 * 710, 200 * 475])
    # LETI new-build EUI x 0.079: housing 35, offices 55 kWh/m²/yr
    np.testing.assert_allclose(
        impact.parcels["operational_kgco2e_year"], [(900 * 35 + 100 * 55) * 0.079, 200 * 35 * 0.079]
    )
    assert impact.summary["operational_tco2e"] == pytest.approx(impact.summary["operational_tco2e_year"] * 50)


def test_assess_scenario_formulas(model):
    scenario = Scenario(
        name="UA CES 0.8",
        rules={"UA": {"max_footprint_ratio": 0.8}},
        assumptions={"uptake_rate": 0.5, "residential_share": 0.8},
    )
    result = assess_scenario(model, scenario, impacts=("carbon",))
    p = result.parcels
    a = scenario.assumptions
    ua = p["zone"] == "UA"
    # the rule edit reaches UA parcels only, and the baseline is the current rules
    assert (p.loc[ua, "max_footprint_ratio"] == 0.8).all() and (
        p.loc[ua, "max_footprint_ratio_baseline"] == 0.7
    ).all()
    assert (p.loc[~ua, "gained_gfa_m2"].abs() < 1e-6).all() and (p.loc[ua, "gained_gfa_m2"] > 0).any()
    added = p["additional_gfa_m2"].fillna(0) * 0.5
    np.testing.assert_allclose(p["added_gfa_m2"], added)
    np.testing.assert_allclose(p["added_dwellings"], added * 0.8 / a["dwelling_size_m2"])
    np.testing.assert_allclose(p["added_residents"], p["added_dwellings"] * 2.16)
    np.testing.assert_allclose(p["added_jobs"], added * 0.2 * 0.04)
    assert result.city["added_dwellings"] == pytest.approx(p["added_dwellings"].sum())
    assert result.zones["added_dwellings"].sum() == pytest.approx(p["added_dwellings"].sum())
    # the new homes table of the contract
    homes = result.new_homes
    assert homes.index.name == "parcel_id" and homes.crs == model.crs
    assert {"added_gfa_m2", "added_dwellings", "added_residents", "added_jobs", "zone"} <= set(homes.columns)
    assert (homes["added_gfa_m2"] > 0).all() and len(homes) == int((p["added_gfa_m2"] > 0).sum())
    # provenance: the scenario as JSON and its sha256
    from cimkit import provenance as prov

    record = prov.get(p)
    assert record is not None
    step = record.steps[-1]
    assert step.action == "assess_scenario" and json.loads(step.params["scenario"])["name"] == "UA CES 0.8"
    assert len(step.params["sha256"]) == 64
    # saved with the model as a table, the scenario rebuilt from it
    table = summarise_scenarios(result)
    saved = model.copy()
    saved.add_layer("scenarios", table)
    row = saved["scenarios"].loc["UA CES 0.8"]
    assert Scenario.from_dict(json.loads(row["scenario_json"])) == scenario
    assert row["sha256"] == step.params["sha256"]
    assert row["added_dwellings"] == pytest.approx(result.city["added_dwellings"])


def test_constraints_remove_dwellings(model, flood):
    from cimkit.analysis.flood.exposure import compute_footprint_stats

    ppri = Scenario(name="PPRI", constraints={"max_flood_depth_m": {"return_period": 100, "depth_m": 0.5}})
    result = assess_scenario(model, ppri, flood=flood, impacts=())
    deepest = compute_footprint_stats(model["parcels"], flood.depths[100.0])["max"].fillna(0)
    forbidden = deepest > 0.5
    assert forbidden.any()
    p = result.parcels
    assert (p["constraint"] != "").equals(forbidden.reindex(p.index))
    assert (p.loc[forbidden, "added_dwellings"] == 0).all()
    assert (p.loc[~forbidden & (p["added_gfa_m2"] > 0), "added_dwellings"] > 0).all()
    buffer = Scenario(name="50 m", constraints={"hazard_buffer": {"layer": "river", "distance_m": 50}})
    near = assess_scenario(model, buffer, impacts=()).parcels
    close = shapely.distance(
        model["parcels"].geometry.to_numpy(), shapely.union_all(model["river"].geometry.to_numpy())
    )
    assert ((near["constraint"] != "").to_numpy() == (close <= 50)).all()
    with pytest.raises(InputError, match="no flood depths") as err:
        assess_scenario(model, ppri, impacts=())
    assert err.value.code == "SCN004"


def test_rezoning_gives_the_polygon_its_zone(model):
    parcels = model["parcels"]
    base = assess_scenario(model, Scenario(name="now"), impacts=())
    target = base.parcels.index[base.parcels["zone"] == "1AUh"][0]
    polygon = shapely.buffer(parcels.geometry[target], 0.5)
    result = assess_scenario(
        model, Scenario(name="1AUh to UA", rezoning=[{"geometry": polygon.wkt, "zone": "UA"}]), impacts=()
    )
    assert result.parcels.loc[target, "zone"] == "UA"
    assert result.parcels.loc[target, "max_height_m"] == 15.0  # UA's rule
    assert (result.parcels["zone"] != base.parcels["zone"]).sum() == 1


def test_sweep_and_speed(model):
    values = [9, 12, 15, 18, 21]
    start = time.perf_counter()
    curve = compute_sweep(model, "UB", "max_height_m", values)
    per_value = (time.perf_counter() - start) / len(values)
    assert per_value < 5.0
    # each point is the scenario evaluated on its own
    single = assess_scenario(
        model, Scenario(name="UB 15", rules={"UB": {"max_height_m": 15}}), impacts=("carbon",)
    )
    assert curve.loc[15.0, "added_dwellings"] == pytest.approx(single.city["added_dwellings"])
    assert curve.loc[15.0, "embodied_tco2e"] == pytest.approx(single.city["carbon_embodied_tco2e"])
    assert curve["capacity_gfa_m2"].is_monotonic_increasing
    with pytest.raises(InputError, match="rule"):
        compute_sweep(model, "UB", "height", [9])


def test_envelopes_are_lod1_blocks(model, tmp_path):
    from cimkit.io.export import write_cityjson

    result = assess_scenario(model, Scenario(name="now"), impacts=())
    blocks = compute_capacity_envelopes(result, model)
    parcels = result.parcels.loc[blocks.index]
    np.testing.assert_allclose(blocks["height_m"], parcels["best_storeys"] * 3.0)
    # the footprint is inside the parcel and its area the allowed footprint (to 0.5 %)
    assert shapely.within(
        blocks.geometry.to_numpy(),
        shapely.buffer(model["parcels"].geometry.reindex(blocks.index).to_numpy(), 0.01),
    ).all()
    np.testing.assert_allclose(blocks.area, parcels["allowed_footprint_m2"], rtol=0.005)
    path = write_cityjson(blocks, tmp_path / "capacity.city.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert len(doc["CityObjects"]) == len(blocks)


def test_sample_city_densify_the_riverside_zone(model, flood, tmp_path):
    """Done when: densify the zone nearest the river; homes, carbon, flood, access, water; the report."""
    from cimkit.viz import build_city_report, public_model

    zone = _zone_nearest_river(model)
    rules = model["zones"].set_index("libelle").loc[zone]
    densify = Scenario(
        name=f"densify {zone}",
        rules={zone: {"max_height_m": float(rules["max_height_m"]) + 6, "max_footprint_ratio": 0.6}},
    )
    options = {"water": {"inp": _sample_dir() / "water_network.inp"}}
    # the hydraulic run is the slow part: the baseline goes without it (its column shows n/a)
    base = assess_scenario(
        model, Scenario(name="current rules"), flood=flood, impacts=("carbon", "flood", "access", "traffic")
    )
    result = assess_scenario(model, densify, flood=flood, impact_options=options)
    city = result.city
    gained = result.parcels.loc[result.parcels["zone"] == zone, "gained_gfa_m2"]
    assert gained.sum() > 0 and city["added_dwellings"] > base.city["added_dwellings"]
    # carbon: per parcel embodied = residential x (650 collective / 530 house, 2025) + other x 810
    homes = result.new_homes
    intensity = np.where(homes["storeys"] >= 3, 650.0, 530.0)
    other = homes["added_gfa_m2"] - homes["residential_gfa_m2"]
    expected = (homes["residential_gfa_m2"] * intensity + other * 810.0).sum() / 1000
    assert city["carbon_embodied_tco2e"] == pytest.approx(expected)
    # flood: new dwellings on parcels with water (deepest cell > 0), riverside homes exposed
    flood_impact = result.impacts["flood"]
    assert flood_impact.available
    for label in ("rp10", "rp100", "rp1000"):
        wet = flood_impact.parcels[f"depth_m_{label}"].fillna(0) > 0
        assert city[f"flood_dwellings_flooded_{label}"] == pytest.approx(
            homes.loc[wet, "added_dwellings"].sum()
        )
    assert city["flood_dwellings_flooded_rp1000"] > city["flood_dwellings_flooded_rp10"] >= 0
    assert city["flood_dwellings_flooded_rp1000"] > base.city["flood_dwellings_flooded_rp1000"]
    # accessibility and water pressures (computed by the consequence functions)
    assert result.impacts["access"].available and 0 <= city["access_score_mean"] <= 1
    water = result.impacts["water"]
    assert water.available and city["water_pressures_available"] == 1.0
    assert city["water_pressure_min_after_m"] <= city["water_pressure_min_before_m"]
    assert city["water_added_demand_lps"] == pytest.approx(
        homes["added_residents"].sum() * 150 * 3 / 86400, rel=1e-6
    )
    # the comparison and the report
    comparison = compare(base, result)
    table = comparison.table.set_index("indicator")
    assert table.loc["added dwellings", densify.name] == pytest.approx(city["added_dwellings"])
    assert table.loc["embodied carbon", densify.name] == pytest.approx(city["carbon_embodied_tco2e"])
    assert not np.isnan(table.loc["junctions below the pressure threshold", densify.name])
    assert np.isnan(table.loc["junctions below the pressure threshold", "current rules"])
    assert table.loc["junctions below the pressure threshold", "note"].startswith("n/a: the water impact")
    report = build_city_report(public_model(model), scenarios=comparison, folder=tmp_path)
    html, md = report.write(tmp_path, stem="summary")
    for text in (html.read_text(encoding="utf-8"), md.read_text(encoding="utf-8")):
        assert "What this rule change would do" in text and "added dwellings" in text
        assert f"densify {zone}" in text
    assert (tmp_path / "map_scenario_capacity.png").stat().st_size > 10_000
    assert (tmp_path / "map_scenario_flood.png").exists()
