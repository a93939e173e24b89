"""Per-building look-ups done once per distinct value (flood damage, carbon intensity, RE2020)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit.analysis.carbon import estimate_embodied_carbon, get_re2020_thresholds
from cimkit.analysis.flood.vulnerability import compute_max_damage_per_m2
from cimkit.errors import ValidationError


def test_max_damage_per_distinct_use_equals_the_scalar_calls():
    uses = pd.Series(["residential", None, np.nan, "office", "Residential", "residential"] * 500, name="use")
    out = compute_max_damage_per_m2(uses, country="FR")
    scalar = {u: compute_max_damage_per_m2(u, country="FR") for u in ("residential", "office", None)}
    expected = [scalar[None] if pd.isna(u) else scalar[u.lower()] for u in uses]
    assert out.index.equals(uses.index) and out.name == "max_damage_eur_m2"
    np.testing.assert_array_equal(out.to_numpy(), np.array(expected))
    # JRC 2017 for France: residential 775.63 EUR/m2, missing use read as "other" 1075.74 EUR/m2
    assert round(float(out.iloc[0]), 2) == 775.63 and round(float(out.iloc[1]), 2) == 1075.74
    np.testing.assert_array_equal(compute_max_damage_per_m2(list(uses[:6]), country="FR"), out.to_numpy()[:6])
    with pytest.raises(ValidationError, match="unknown building use 'castle'"):
        compute_max_damage_per_m2(pd.Series(["office", "castle"]), country="FR")


def test_estimate_looks_up_each_use_and_type_once():
    n = 3000
    uses = np.array(["residential", "office", "retail"])[np.arange(n) % 3]
    buildings = gpd.GeoDataFrame(
        {"use": uses, "storeys": 1 + np.arange(n) % 4},
        geometry=shapely.box(np.arange(n) * 20.0, 0, np.arange(n) * 20.0 + 10, 10),
        crs=2154,
    )
    with pytest.warns(UserWarning, match="1000 building"):
        out = estimate_embodied_carbon(buildings)
    # the RE2020 cap of 2022 for an individual house (<= 2 storeys): 640 kgCO2e/m2; none for retail
    house = (uses == "residential") & (buildings["storeys"].to_numpy() <= 2)
    assert set(out.loc[house, "intensity_kgco2e_m2"]) == {640.0}
    assert out.loc[uses == "retail", "intensity_kgco2e_m2"].isna().all()
    assert float(out.loc[0, "embodied_kgco2e"]) == 100.0 * 1 * 640.0
    assert out.loc[uses == "office", "building_type"].eq("bureaux").all()
    single = estimate_embodied_carbon(buildings.iloc[[4]])  # an office: one look-up, same row
    pd.testing.assert_frame_equal(single, out.iloc[[4]])


def test_re2020_thresholds_are_copies():
    first = get_re2020_thresholds("logement_collectif", 2025)
    first["construction_max_kgco2e_m2"] = -1.0
    assert get_re2020_thresholds("logement_collectif", 2025) == {
        "construction_max_kgco2e_m2": 650.0,
        "energy_max_kgco2e_m2": 260.0,
    }
    with pytest.raises(ValidationError):
        get_re2020_thresholds("logement_collectif", 2019)
