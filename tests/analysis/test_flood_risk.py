"""Tests of cimkit.analysis.flood.risk: building damage, EAD (trapezoid and Delft-FIAT)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from scipy.integrate import quad

from cimkit.analysis.flood import (
    aggregate_damage,
    compute_building_damage,
    compute_ead,
    compute_ead_weights,
    compute_max_damage_per_m2,
    format_return_period,
)
from cimkit.errors import CountryError, InputError, ValidationError
from cimkit.raster import Raster


def test_trapezoid_by_hand():
    rps, damages = [10, 100, 1000], [1000.0, 5000.0, 20000.0]
    # p = 0.1, 0.01, 0.001: 0.09 x 6000 / 2 + 0.009 x 25000 / 2 = 270 + 112.5
    assert compute_ead(rps, damages) == pytest.approx(382.5)
    # + zero damage at the 2-year protection: (0.5 - 0.1) x (0 + 1000) / 2 = 200
    assert compute_ead(rps, damages, protection_return_period=2) == pytest.approx(582.5)
    # + rare tail 0.001 x 20000 = 20
    assert compute_ead(rps, damages, rare_tail=True) == pytest.approx(402.5)
    # order of the inputs does not matter
    assert compute_ead([1000, 10, 100], [20000.0, 1000.0, 5000.0]) == pytest.approx(382.5)


def test_loglinear_reproduces_delft_fiat_test_case():
    # Deltares/Delft-FIAT, test/methods/test_ead.py (test_risk_density, test_calculate_ead):
    # return periods 1, 2, 5, 25, 50, 100 give the risk-density coefficients
    # [0.28, 0.39, 0.23, 0.07, 0.01, 0.01] (2 decimals), and with damages
    # [5, 10, 50, 300, 1200, 3000] those coefficients give an EAD of 79.8.
    rps = [1, 2, 5, 25, 50, 100]
    damages = [5, 10, 50, 300, 1200, 3000]
    w = compute_ead_weights(rps, method="loglinear")
    np.testing.assert_array_almost_equal(w, [0.28, 0.39, 0.23, 0.07, 0.01, 0.01], decimal=2)
    assert float(np.round(w, 2) @ damages) == pytest.approx(79.8)
    # same coefficients whatever the order (Delft-FIAT's test_risk_density_order)
    shuffled = [50, 2, 100, 25, 1, 5]
    np.testing.assert_array_almost_equal(
        compute_ead_weights(shuffled, method="loglinear"), [0.01, 0.39, 0.01, 0.07, 0.28, 0.23], decimal=2
    )
    # single scenario: 1/10 x 5 = 0.5 (Delft-FIAT's test_calculate_ead_single)
    assert compute_ead([10], [5.0], method="loglinear") == pytest.approx(0.5)
    # the exact value, checked by numerical integration of D linear in ln p plus p_min D(p_min)
    p = 1 / np.array(rps, dtype=float)

    def damage_at(q):
        return np.interp(np.log(q), np.log(p[::-1]), np.array(damages, dtype=float)[::-1])

    integral, _ = quad(damage_at, p[-1], p[0], points=list(p), limit=200)
    exact = integral + p[-1] * damages[-1]
    assert compute_ead(rps, damages, method="loglinear") == pytest.approx(exact, rel=1e-9)


def test_ead_on_dataframes_and_aggregation():
    frame = pd.DataFrame(
        {"d10": [1000.0, 0.0, 10.0], "d100": [5000.0, 100.0, 10.0]},
        index=pd.Index(["a", "b", "c"], name="building_id"),
    )
    ead = compute_ead([10, 100], frame)
    assert ead.name == "ead_eur"
    assert ead.tolist() == pytest.approx([270.0, 0.09 * 50, 0.09 * 10])
    parcel_ids = pd.Series({"a": "P1", "b": "P1", "c": "P2"}, name="parcel_id")
    per_parcel = aggregate_damage(ead, parcel_ids)
    assert isinstance(per_parcel, pd.DataFrame) and per_parcel.index.name == "parcel_id"
    assert per_parcel["ead_eur"].to_dict() == pytest.approx({"P1": 274.5, "P2": 0.9})
    # the city total: every building in one group, and the plain sum agree
    city = aggregate_damage(ead, pd.Series("city", index=ead.index))
    assert city.loc["city", "ead_eur"] == pytest.approx(275.4) == ead.sum()
    # a DataFrame keeps its columns; a building without a group is left out
    both = aggregate_damage(frame, pd.Series({"a": "P1", "b": None, "c": "P2"}))
    assert both.to_dict("index") == {"P1": {"d10": 1000.0, "d100": 5000.0}, "P2": {"d10": 10.0, "d100": 10.0}}
    with pytest.raises(InputError, match="group mapping"):
        aggregate_damage(ead, pd.Series({"x": "P1"}))
    with pytest.raises(ValidationError, match="shorter"):
        compute_ead([10, 100], [1.0, 2.0], protection_return_period=50)
    with pytest.raises(ValidationError, match="distinct"):
        compute_ead([10, 10], [1.0, 2.0])


def _grid(values: np.ndarray) -> Raster:
    return Raster(values, Affine(5, 0, 0, 0, -5, 20), "EPSG:2154")


def test_building_damage_by_hand():
    # 4 x 4 cells of 5 m; a 10 m x 10 m house on the four top-left cells
    buildings = gpd.GeoDataFrame(
        {"use": ["residential", "office"], "first_floor_height_m": [np.nan, 0.5]},
        geometry=[shapely.box(0, 10, 10, 20), shapely.box(10, 0, 20, 10)],
        index=pd.Index([1, 2], name="building_id"),
        crs="EPSG:2154",
    )
    deep = np.zeros((4, 4))
    deep[:2, :2] = 1.0  # house 1 under 1 m everywhere
    deep[2:, 2] = 1.5  # house 2: half of it under 1.5 m, the other half dry
    out = compute_building_damage(buildings, {100: _grid(deep)}, country="FR")
    res = compute_max_damage_per_m2("residential", country="FR")
    com = compute_max_damage_per_m2("office", country="FR")
    # house 1: fraction 0.40 at 1 m x 776 EUR/m² x 100 m²
    assert out.loc[1, "damage_eur_rp100"] == pytest.approx(0.40 * res * 100)
    # house 2: wet-part depth 1.5 m - 0.5 m first floor = 1.0 m -> commercial 0.30, half wet
    assert out.loc[2, "damage_eur_rp100"] == pytest.approx(0.30 * com * 100 * 0.5)
    assert out.loc[2, "depth_m_rp100"] == 1.5
    assert out.loc[2, "flooded_share_rp100"] == pytest.approx(0.5)
    assert out["first_floor_source"].tolist() == ["default", "attribute"]
    # the max statistic uses 1.5 m over the whole footprint
    upper = compute_building_damage(buildings, {100: _grid(deep)}, depth_statistic="max", country="FR")
    assert upper.loc[2, "damage_eur_rp100"] == pytest.approx(0.30 * com * 100)
    # dry scenario: zero damage
    dry = compute_building_damage(buildings, {10: _grid(np.zeros((4, 4)))}, country="FR")
    assert dry["damage_eur_rp10"].tolist() == [0.0, 0.0]
    # a single raster without a return period gives unsuffixed columns
    single = compute_building_damage(buildings, _grid(deep), country="FR")
    assert "damage_eur" in single.columns


def test_building_damage_without_use_warns():
    b = gpd.GeoDataFrame(geometry=[shapely.box(0, 10, 10, 20)], crs="EPSG:2154")
    with pytest.warns(UserWarning, match="residential"):
        out = compute_building_damage(b, {10: _grid(np.ones((4, 4)))}, country="FR")
    assert out["jrc_class"].tolist() == ["residential"]


def test_building_damage_country_comes_from_the_location_never_france_silently():
    # the same house and flood placed in Lambert-93 near Paris, then in UTM 10N at Oakland (CA)
    house = shapely.box(0, 10, 10, 20)
    paris = gpd.GeoDataFrame({"use": ["residential"]}, geometry=[house], crs="EPSG:2154").translate(
        651_000, 6_847_000
    )
    paris = gpd.GeoDataFrame({"use": ["residential"]}, geometry=paris, crs="EPSG:2154")
    grid = Raster(np.ones((4, 4)), Affine(5, 0, 651_000, 0, -5, 6_847_020), "EPSG:2154")
    found = compute_building_damage(paris, {100: grid})
    assert found.attrs["max_damage"] == {"country": "FR", "chosen": "found at the centre of the buildings"}
    assert found.loc[0, "max_damage_eur_m2"] == pytest.approx(
        compute_max_damage_per_m2("residential", country="FR")
    )
    oakland = gpd.GeoDataFrame(
        {"use": ["residential"]},
        geometry=[shapely.box(564_000, 4_184_000, 564_010, 4_184_010)],
        crs="EPSG:26910",
    )
    grid_us = Raster(np.ones((4, 4)), Affine(5, 0, 564_000, 0, -5, 4_184_020), "EPSG:26910")
    with pytest.raises(CountryError, match=r"'US'.*gdp_per_capita_usd2010"):
        compute_building_damage(oakland, {100: grid_us})
    user = compute_building_damage(oakland, {100: grid_us}, gdp_per_capita_usd2010=48_000)
    # 24.078 x 48000^0.3852 x 0.6 x 0.6 x 1.5 (residential structure + contents), by hand
    assert user.loc[0, "max_damage_eur_m2"] == pytest.approx(24.078 * 48_000**0.3852 * 0.36 * 1.5)
    assert user.attrs["max_damage"]["gdp_per_capita_usd2010"] == 48_000
    # nowhere (the Gulf of Guinea): refused, not France
    nowhere = gpd.GeoDataFrame(geometry=[house], crs="EPSG:2154")
    with pytest.raises(CountryError, match="country="):
        compute_building_damage(nowhere, {10: _grid(np.ones((4, 4)))})


def test_return_period_labels_and_weights():
    assert [format_return_period(t) for t in (10, 100.0, 2.5, 1000)] == ["rp10", "rp100", "rp2.5", "rp1000"]
    # trapezoid weights for 10/100/1000 years: p = 0.1, 0.01, 0.001 (by hand)
    np.testing.assert_allclose(compute_ead_weights([10, 100, 1000]), [0.045, 0.045 + 0.0045, 0.0045])
    # the rare tail adds p_min to the rarest scenario's weight
    np.testing.assert_allclose(
        compute_ead_weights([10, 100, 1000], rare_tail=True), [0.045, 0.0495, 0.0045 + 0.001]
    )
    with pytest.raises(ValidationError, match="method"):
        compute_ead_weights([10], method="simpson")
    with pytest.raises(ValidationError, match="> 0"):
        compute_ead_weights([0, 10])
