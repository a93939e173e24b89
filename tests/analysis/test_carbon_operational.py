"""Tests for cimkit.analysis.carbon.operational (B6) — hand-computed cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cimkit.analysis.carbon import RE2020_CARRIER_FACTORS, compute_operational_carbon
from cimkit.errors import InputError, ValidationError


def test_re2020_carrier_factors():
    # arrêté du 4 août 2021, as quoted in DOMAIN notes
    assert RE2020_CARRIER_FACTORS == {"electricity": 0.079, "gas": 0.227, "wood": 0.03}


def test_office_hand_case_over_50_years():
    # 100 m2 office, CIBSE TM46 general office: 95 kWh/m2 electricity + 120 kWh/m2 fossil (gas)
    # annual = 100 x (95 x 0.079 + 120 x 0.227) = 100 x (7.505 + 27.24) = 3474.5 kgCO2e
    b = pd.DataFrame({"gfa_m2": [100.0], "use": ["office"]}, index=pd.Index(["b1"], name="building_id"))
    out = compute_operational_carbon(b)
    assert out.loc["b1", "kwh_electricity_year"] == pytest.approx(9500)
    assert out.loc["b1", "kwh_gas_year"] == pytest.approx(12000)
    assert out.loc["b1", "annual_kgco2e"] == pytest.approx(3474.5)
    assert out.loc["b1", "b6_kgco2e"] == pytest.approx(3474.5 * 50)
    assert out.loc["b1", "b6_kgco2e_per_m2"] == pytest.approx(3474.5 * 50 / 100)
    assert "TM46" in out.loc["b1", "source"]


def test_user_eui_carriers_and_factors():
    # 80 m2 house heated with wood: 60 kWh/m2 heat + 30 kWh/m2 electricity
    # annual = 80 x (60 x 0.03 + 30 x 0.079) = 80 x 4.17 = 333.6
    b = pd.DataFrame({"gfa_m2": [80.0], "use": ["residential"]}, index=["h1"])
    out = compute_operational_carbon(
        b,
        study_period_years=10,
        eui={"residential": {"fossil_thermal": 60.0, "electricity": 30.0}},
        carriers={"fossil_thermal": "wood"},
    )
    assert out.loc["h1", "annual_kgco2e"] == pytest.approx(333.6)
    assert out.loc["h1", "b6_kgco2e"] == pytest.approx(3336.0)
    # overriding the electricity factor (e.g. 0.052 kgCO2e/kWh): 80 x (60 x 0.03 + 30 x 0.052)
    out2 = compute_operational_carbon(
        b,
        eui={"residential": {"fossil_thermal": 60.0, "electricity": 30.0}},
        carriers={"fossil_thermal": "wood"},
        factors={"electricity": 0.052},
        study_period_years=1,
    )
    assert out2.loc["h1", "annual_kgco2e"] == pytest.approx(80 * (1.8 + 1.56))


def test_missing_intensity_gives_nan_with_warning_and_errors():
    b = pd.DataFrame({"gfa_m2": [80.0, 100.0], "use": ["residential", "office"]}, index=["h1", "o1"])
    with pytest.warns(UserWarning, match="residential/existing"):
        out = compute_operational_carbon(b)
    assert math.isnan(out.loc["h1", "b6_kgco2e"])
    assert out.loc["o1", "b6_kgco2e"] > 0
    new = compute_operational_carbon(b, period="new_low_energy", study_period_years=1)
    # LETI targets, all-electric: residential 35, office 55 kWh/m2
    assert new.loc["h1", "annual_kgco2e"] == pytest.approx(80 * 35 * 0.079)
    assert new.loc["o1", "annual_kgco2e"] == pytest.approx(100 * 55 * 0.079)
    with pytest.raises(InputError, match="gfa_m2"):
        compute_operational_carbon(b.drop(columns="gfa_m2"))
    with pytest.raises(ValidationError, match="carrier"):
        compute_operational_carbon(b, carriers={"fossil_thermal": "coal"})
    pd.testing.assert_frame_equal(
        b, pd.DataFrame({"gfa_m2": [80.0, 100.0], "use": ["residential", "office"]}, index=["h1", "o1"])
    )
