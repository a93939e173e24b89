"""The water impact of new homes: added demand, WNTR pressures before/after, hand-checked H-W."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import cimkit
from cimkit import provenance as prov
from cimkit.analysis.scenario.water import compute_water_impact
from cimkit.errors import InputError
from cimkit.io.epanet import read_epanet

pytest.importorskip("wntr")

X0, Y0 = 651_000.0, 6_847_000.0  # Lambert-93, inside the sample city


def _hazen_williams_m(length_m: float, flow_m3s: float, c: float, diameter_m: float) -> float:
    """SI Hazen-Williams head loss: h_f = 10.67 L Q^1.852 / (C^1.852 D^4.87)."""
    return 10.67 * length_m * flow_m3s**1.852 / (c**1.852 * diameter_m**4.87)


def _homes(boxes: dict[str, shapely.Geometry], residents: dict[str, float]) -> gpd.GeoDataFrame:
    ids = list(boxes)
    return gpd.GeoDataFrame(
        {
            "added_gfa_m2": [residents[i] * 40.0 for i in ids],
            "added_dwellings": [residents[i] / 2.2 for i in ids],
            "added_residents": [residents[i] for i in ids],
            "added_jobs": [0.0] * len(ids),
            "zone": ["UB"] * len(ids),
        },
        geometry=[boxes[i] for i in ids],
        crs="EPSG:2154",
        index=pd.Index(ids, name="parcel_id"),
    )


def _residents_for(lps: float) -> float:
    """Residents whose peak demand (150 L/day x 3) is ``lps`` litres per second."""
    return lps * 86400.0 / (150.0 * 3.0)


@pytest.fixture
def toy_inp(tmp_path):
    """R1 (head 60 m) -> P1 500 m DN150 C130 -> A (z 10 m, 5 L/s) -> P2 400 m DN100 C140 -> B (z 12 m)."""
    path = tmp_path / "toy.inp"
    path.write_text(
        "[JUNCTIONS]\n A 10 5\n B 12 0\n[RESERVOIRS]\n R1 60\n"
        "[PIPES]\n P1 R1 A 500 150 130 0 Open\n P2 A B 400 100 140 0 Open\n"
        "[TIMES]\n Duration 0:00\n[OPTIONS]\n Units LPS\n Headloss H-W\n"
        f"[COORDINATES]\n R1 {X0 - 500} {Y0}\n A {X0} {Y0}\n B {X0 + 400} {Y0}\n[END]\n",
        encoding="utf-8",
    )
    return path


def test_toy_branch_pressures_match_hazen_williams_by_hand(toy_inp):
    # 4 L/s added at B (768 residents x 150 L x 3 / 86400 s); nothing at A.
    homes = _homes({"PB": shapely.box(X0 + 390, Y0 + 5, X0 + 410, Y0 + 25)}, {"PB": _residents_for(4.0)})
    impact = compute_water_impact(cimkit.CityModel("EPSG:2154"), homes, inp=toy_inp)
    assert impact.available and impact.summary["pressures_available"] == 1.0
    assert impact.parcels.loc["PB", "junction"] == "B"
    assert impact.parcels.loc["PB", "added_demand_lps"] == pytest.approx(4.0)
    junctions = impact.tables["junctions"]
    # before: Q1 = 5 L/s, Q2 = 0
    #   h1 = 10.67 x 500 x 0.005^1.852 / (130^1.852 x 0.15^4.87) = 0.36563 m
    #   p_A = 60 - 10 - 0.36563 = 49.634 m ; p_B = 60 - 12 - 0.36563 = 47.634 m
    h1_before = _hazen_williams_m(500, 0.005, 130, 0.15)
    assert h1_before == pytest.approx(0.36563, rel=1e-4)
    # after: Q1 = 9 L/s, Q2 = 4 L/s
    #   h1 = 10.67 x 500 x 0.009^1.852 / (130^1.852 x 0.15^4.87) = 1.08594 m
    #   h2 = 10.67 x 400 x 0.004^1.852 / (140^1.852 x 0.10^4.87) = 1.21510 m
    #   p_A = 50 - 1.08594 = 48.914 m ; p_B = 48 - 1.08594 - 1.21510 = 45.699 m
    h1_after = _hazen_williams_m(500, 0.009, 130, 0.15)
    h2_after = _hazen_williams_m(400, 0.004, 140, 0.10)
    assert h1_after == pytest.approx(1.08594, rel=1e-4)
    assert h2_after == pytest.approx(1.21510, rel=1e-4)
    expected = {
        ("A", "pressure_before_m"): 50.0 - h1_before,
        ("B", "pressure_before_m"): 48.0 - h1_before,
        ("A", "pressure_after_m"): 50.0 - h1_after,
        ("B", "pressure_after_m"): 48.0 - h1_after - h2_after,
    }
    for (node, column), value in expected.items():
        assert junctions.loc[node, column] == pytest.approx(value, rel=0.01), (node, column)
    # the pressure drop at B: (h1_after - h1_before) + h2_after = 0.72031 + 1.21510 = 1.9354 m
    drop = (h1_after - h1_before) + h2_after
    assert impact.parcels.loc["PB", "pressure_drop_m"] == pytest.approx(drop, rel=0.01)
    assert impact.summary["pressure_drop_max_m"] == pytest.approx(drop, rel=0.01)
    assert impact.summary["junctions_below_min_pressure_after"] == 0.0
    step = prov.get(impact.parcels).steps[-1]
    assert step.action == "water_impact" and step.params["hydraulics"] is True
    assert step.params["litres_per_person_day"] == 150.0 and step.params["peak_factor"] == 3.0


def test_toy_flags_junctions_below_the_service_pressure(toy_inp):
    homes = _homes({"PB": shapely.box(X0 + 390, Y0 + 5, X0 + 410, Y0 + 25)}, {"PB": _residents_for(4.0)})
    impact = compute_water_impact(cimkit.CityModel("EPSG:2154"), homes, inp=toy_inp, min_pressure_m=46.0)
    # before: A 49.63 m, B 47.63 m, both above 46 m; after: A 48.91 m, B 45.70 m -> only B below
    assert impact.summary["junctions_below_min_pressure_before"] == 0.0
    assert impact.summary["junctions_below_min_pressure_after"] == 1.0
    assert impact.tables["junctions"]["below_min_pressure"].to_dict() == {"A": False, "B": True}
    assert bool(impact.parcels.loc["PB", "below_min_pressure"])


def test_network_tables_give_the_same_pressures_as_the_inp(toy_inp):
    homes = _homes({"PB": shapely.box(X0 + 390, Y0 + 5, X0 + 410, Y0 + 25)}, {"PB": _residents_for(4.0)})
    network = read_epanet(toy_inp, crs="EPSG:2154")
    from_tables = compute_water_impact(cimkit.CityModel("EPSG:2154"), homes, network=network)
    from_file = compute_water_impact(cimkit.CityModel("EPSG:2154"), homes, inp=toy_inp)
    pd.testing.assert_frame_equal(
        from_tables.tables["junctions"], from_file.tables["junctions"], check_exact=False, rtol=1e-4
    )


def test_sample_network_reads_and_runs_with_plausible_pressures(sample_city_dir):
    import wntr

    path = sample_city_dir / "water_network.inp"
    network = read_epanet(path, crs="EPSG:2154")
    assert network.report["reservoirs"] == 1 and network.report["junctions"] == 34
    assert network.report["pipes"] == 51 and network.report["components"] == 1
    assert network.edges.attrs["headloss"] == "H-W"
    pipes = gpd.read_file(sample_city_dir / "water_pipes.geojson").set_index("pipe_id")
    edges = network.edges.set_index("epanet_id")
    # diameters from diameter_mm, C by material (plastic 140, ductile iron 130)
    assert (edges.loc[pipes.index, "diameter_mm"].to_numpy() == pipes["diameter_mm"].to_numpy()).all()
    c = pipes["material"].map({"PVC": 140.0, "PEHD": 140.0, "fonte ductile": 130.0})
    assert (edges.loc[pipes.index, "roughness"].to_numpy() == c.to_numpy()).all()
    wn = wntr.network.WaterNetworkModel(str(path))
    assert wn.options.hydraulic.headloss == "H-W"
    results = wntr.sim.WNTRSimulator(wn).run_sim(convergence_error=True)
    pressure = results.node["pressure"].iloc[0][wn.junction_name_list]
    # tower head 95 m NGF, ground 36.8-56.0 m: 2.5-6 bar everywhere
    assert pressure.min() > 35.0 and pressure.max() < 60.0


def test_sample_dead_end_pressure_drop_matches_hazen_williams(sample_city_dir):
    # Route de Corbeil ends at J013 (651440, 6847000), fed only by AEP011 (60 m, DN250,
    # ductile iron C = 130) from J011 (651380, 6847000); J013 serves no building (demand 0).
    path = sample_city_dir / "water_network.inp"
    homes = _homes({"PC": shapely.box(651_430, 6_847_010, 651_450, 6_847_030)}, {"PC": _residents_for(20.0)})
    impact = compute_water_impact(cimkit.CityModel("EPSG:2154"), homes, inp=path)
    assert impact.parcels.loc["PC", "junction"] == "J013"
    assert impact.summary["added_demand_lps"] == pytest.approx(20.0)
    junctions = impact.tables["junctions"]
    # Only AEP011's flow changes on the branch: from 0 to 20 L/s, so the drop at J013 exceeds
    # the drop at J011 by h_f = 10.67 x 60 x 0.020^1.852 / (130^1.852 x 0.25^4.87) = 0.047515 m
    hand = _hazen_williams_m(60.0, 0.020, 130.0, 0.25)
    assert hand == pytest.approx(0.047515, rel=1e-4)
    extra = junctions.loc["J013", "pressure_drop_m"] - junctions.loc["J011", "pressure_drop_m"]
    assert extra == pytest.approx(hand, rel=0.02)
    # and the drop is felt all the way back to the tower's main (ALIM01, 60 m DN300, C 130):
    # J027 falls by h_f(Q0 + 20 L/s) - h_f(Q0), Q0 = the town's base demand (all of it flows in ALIM01)
    base = read_epanet(path, crs="EPSG:2154").nodes["demand_lps"].sum() / 1000.0
    feed = _hazen_williams_m(60.0, base + 0.020, 130.0, 0.30) - _hazen_williams_m(60.0, base, 130.0, 0.30)
    assert junctions.loc["J027", "pressure_drop_m"] == pytest.approx(feed, rel=0.02)
    assert impact.summary["pressure_min_after_m"] > 20.0
    assert impact.summary["junctions_below_min_pressure_after"] == 0.0


def test_pipes_without_epanet_give_demand_only(sample_city_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipes = cimkit.read_network(sample_city_dir / "water_pipes.geojson", kind="water")
    model = cimkit.CityModel("EPSG:2154")
    model.add_network(pipes)
    boxes = {
        "P1": shapely.box(651_430, 6_847_010, 651_450, 6_847_030),
        "P2": shapely.box(651_435, 6_846_990, 651_445, 6_846_995),
    }
    impact = compute_water_impact(model, _homes(boxes, {"P1": 300.0, "P2": 60.0}))
    assert impact.available and impact.summary["pressures_available"] == 0.0
    assert any("not an EPANET model" in c for c in impact.caveats)
    # both parcels go to the node at (651440, 6847000): 360 x 150 x 3 / 86400 = 1.875 L/s
    assert impact.parcels["junction"].nunique() == 1
    node = pipes.nodes.loc[int(impact.parcels["junction"].iloc[0])].geometry
    assert (node.x, node.y) == (651_440.0, 6_847_000.0)
    assert impact.summary["added_demand_lps"] == pytest.approx(1.875)
    assert impact.summary["junctions_loaded"] == 1.0
    assert "pressure_after_m" not in impact.parcels


def test_no_water_network_is_not_available():
    homes = _homes({"P1": shapely.box(X0, Y0, X0 + 10, Y0 + 10)}, {"P1": 10.0})
    impact = compute_water_impact(cimkit.CityModel("EPSG:2154"), homes)
    assert not impact.available
    assert "no water network" in impact.caveats[0] and "read_epanet" in impact.caveats[0]


def test_new_homes_in_another_crs_are_refused(toy_inp):
    homes = _homes({"P1": shapely.box(X0, Y0, X0 + 10, Y0 + 10)}, {"P1": 10.0}).to_crs(4326)
    with pytest.raises(InputError) as err:
        compute_water_impact(cimkit.CityModel("EPSG:2154"), homes, inp=toy_inp)
    assert err.value.code == "SCN202"
    assert math.isfinite(len(str(err.value)))
