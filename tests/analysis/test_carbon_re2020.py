"""Tests for cimkit.analysis.carbon.re2020: thresholds and boundary semantics (≤ passes)."""

from __future__ import annotations

import math

import pytest

from cimkit.analysis.carbon import check_re2020, get_re2020_thresholds
from cimkit.errors import ValidationError

# Ic_construction maxima (kgCO2e/m²) from the arrêté du 4 août 2021, as quoted in DOMAIN notes.
IC_CONSTRUCTION = {
    "maison_individuelle": {2022: 640, 2025: 530, 2028: 475, 2031: 415},
    "logement_collectif": {2022: 740, 2025: 650, 2028: 580, 2031: 490},
    "bureaux": {2022: 980, 2025: 810, 2028: 710, 2031: 600},
}


@pytest.mark.parametrize("building_type", list(IC_CONSTRUCTION))
def test_ic_construction_thresholds_by_period(building_type):
    for start, value in IC_CONSTRUCTION[building_type].items():
        for year in (start, start + 2):  # first and last year of the 3-year period
            assert get_re2020_thresholds(building_type, year)["construction_max_kgco2e_m2"] == value
    assert (
        get_re2020_thresholds(building_type, 2040)["construction_max_kgco2e_m2"]
        == IC_CONSTRUCTION[building_type][2031]
    )


def test_ic_energie_thresholds_and_heat_network_variants():
    assert get_re2020_thresholds("maison_individuelle", 2022)["energy_max_kgco2e_m2"] == 160
    assert (
        get_re2020_thresholds("maison_individuelle", 2027, heat_network=True)["energy_max_kgco2e_m2"] == 200
    )
    assert (
        get_re2020_thresholds("maison_individuelle", 2028, heat_network=True)["energy_max_kgco2e_m2"] == 160
    )
    assert get_re2020_thresholds("logement_collectif", 2024)["energy_max_kgco2e_m2"] == 560
    assert get_re2020_thresholds("logement_collectif", 2025)["energy_max_kgco2e_m2"] == 260
    assert get_re2020_thresholds("logement_collectif", 2026, heat_network=True)["energy_max_kgco2e_m2"] == 320
    assert get_re2020_thresholds("logement_collectif", 2028, heat_network=True)["energy_max_kgco2e_m2"] == 260
    assert math.isnan(get_re2020_thresholds("bureaux", 2022)["energy_max_kgco2e_m2"])


@pytest.mark.parametrize(
    ("building_type", "year", "ic_max", "ie_max"),
    [
        ("maison_individuelle", 2022, 640, 160),
        ("maison_individuelle", 2031, 415, 160),
        ("logement_collectif", 2025, 650, 260),
        ("logement_collectif", 2022, 740, 560),
    ],
)
def test_boundaries_at_threshold_and_plus_minus_one_hundredth(building_type, year, ic_max, ie_max):
    at = check_re2020(ic_max, ie_max, building_type, year)
    assert at.passes is True and at.construction_margin_kgco2e_m2 == 0
    above_c = check_re2020(ic_max + 0.01, ie_max, building_type, year)
    assert above_c.construction_passes is False and above_c.passes is False
    below_c = check_re2020(ic_max - 0.01, ie_max, building_type, year)
    assert below_c.passes is True
    above_e = check_re2020(ic_max, ie_max + 0.01, building_type, year)
    assert above_e.energy_passes is False and above_e.construction_passes is True
    assert above_e.passes is False
    assert check_re2020(ic_max, ie_max - 0.01, building_type, year).passes is True


def test_incomplete_checks_and_custom_limits():
    office = check_re2020(900.0, 100.0, "office", 2023)
    assert office.construction_passes is True and office.energy_passes is None
    assert office.passes is None  # nothing failed, but Ic_énergie was not assessed
    assert any("no Ic_énergie" in n for n in office.notes)
    failing = check_re2020(1000.0, None, "bureaux", 2023)
    assert failing.passes is False  # one failure is enough
    modulated = check_re2020(
        700.0, 150.0, "maison_individuelle", 2022, limits={"construction_max_kgco2e_m2": 704.0}
    )
    assert modulated.passes is True
    assert modulated.construction_margin_kgco2e_m2 == pytest.approx(4.0)


def test_invalid_arguments():
    with pytest.raises(ValidationError, match="2022"):
        get_re2020_thresholds("maison_individuelle", 2021)
    with pytest.raises(ValidationError, match="building_type"):
        get_re2020_thresholds("castle", 2025)
    with pytest.raises(ValidationError):
        check_re2020(1.0, 1.0, "bureaux", 2025, limits={"ic_max": 3})
