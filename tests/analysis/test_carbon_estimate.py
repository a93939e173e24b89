"""Tests for cimkit.analysis.carbon.estimate (buildings without IFC)."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from cimkit.analysis.carbon import estimate_embodied_carbon
from cimkit.errors import GeographicCRSError, InputError


def _footprints(crs="EPSG:2154"):
    return gpd.GeoDataFrame(
        {
            "use": ["residential", "residential", "office", "education"],
            "height_m": [6.0, 12.2, 9.0, 3.0],
            "storeys": [None, None, 4, None],
        },
        geometry=[box(0, 0, 10, 10), box(0, 0, 20, 10), box(0, 0, 10, 5), box(0, 0, 10, 10)],
        crs=crs,
        index=pd.Index(["h", "c", "o", "s"], name="building_id"),
    )


def test_intensity_estimate_hand_values():
    out = estimate_embodied_carbon(_footprints())
    # h: 100 m2 x round(6 / 3) = 2 storeys -> individual house, RE2020 2022 max 640 kgCO2e/m2
    assert out.loc["h", "gfa_m2"] == pytest.approx(200)
    assert out.loc["h", "building_type"] == "maison_individuelle"
    assert out.loc["h", "embodied_kgco2e"] == pytest.approx(200 * 640)
    # c: 200 m2 x round(12.2 / 3) = 4 storeys -> collective housing, 740
    assert out.loc["c", "storeys"] == 4
    assert out.loc["c", "embodied_kgco2e"] == pytest.approx(800 * 740)
    # o: the storeys column wins over the height: 50 m2 x 4 -> office, 980
    assert out.loc["o", "embodied_kgco2e"] == pytest.approx(200 * 980)
    # s: 100 m2 x round(3 / 3) = 1 storey -> teaching building, RE2020 2022 max 900 (annex R172-4)
    assert out.loc["s", "embodied_kgco2e"] == pytest.approx(100 * 900)
    assert out["estimated"].all() and (out["method"] == "intensity").all()
    assert (
        "arrêté du 4 août 2021" in out.loc["h", "source"].lower() or "4 août 2021" in out.loc["h", "source"]
    )


def test_uses_without_intensity_get_nan_and_a_warning():
    fp = _footprints().iloc[:2].copy()
    fp["use"] = ["health", "residential"]
    with pytest.warns(UserWarning, match="health"):
        out = estimate_embodied_carbon(fp)
    assert math.isnan(out.loc["h", "embodied_kgco2e"])
    assert out.loc["c", "embodied_kgco2e"] == pytest.approx(800 * 740)


def test_retail_and_industrial_intensities_start_with_their_permit_period():
    fp = _footprints().iloc[:2].copy()
    fp["use"] = ["retail", "industrial"]
    fp["gfa_m2"] = [100.0, 100.0]
    # RE2020 has no Ic_construction value for these uses before the 2025-2027 column (May 2026)
    with pytest.warns(UserWarning, match="industrial, retail"):
        early = estimate_embodied_carbon(fp, reference_year=2025)
    assert early["embodied_kgco2e"].isna().all()
    late = estimate_embodied_carbon(fp, reference_year=2028)
    # annex R172-4 Icconstruction_maxmoyen 2028-2030: commerces 670, industries 695 kgCO2e/m2
    assert late.loc["h", "embodied_kgco2e"] == pytest.approx(100 * 670)
    assert late.loc["c", "embodied_kgco2e"] == pytest.approx(100 * 695)


def test_reference_year_gfa_column_and_housing_type():
    fp = _footprints().iloc[:2].copy()
    fp["gfa_m2"] = [150.0, None]
    out = estimate_embodied_carbon(fp, reference_year=2025, housing_type="logement_collectif")
    assert out.loc["h", "gfa_source"] == "gfa_m2"
    assert out.loc["h", "embodied_kgco2e"] == pytest.approx(150 * 650)
    assert out.loc["c", "gfa_source"] == "footprint x storeys"


def test_crs_and_input_errors():
    with pytest.raises(GeographicCRSError):
        estimate_embodied_carbon(_footprints(crs="EPSG:4326"))
    with pytest.raises(InputError, match="gfa_m2"):
        estimate_embodied_carbon(pd.DataFrame({"use": ["office"]}))


def test_geographic_footprints_accepted_when_every_gfa_is_given():
    fp = _footprints(crs="EPSG:4326").iloc[:1].copy()
    fp["gfa_m2"] = [120.0]
    out = estimate_embodied_carbon(fp)
    assert out.loc["h", "embodied_kgco2e"] == pytest.approx(120 * 640)


def test_building_type_column_wins_in_auto_mode():
    fp = _footprints().iloc[:1].copy()  # 2 storeys would be classed as an individual house
    fp["building_type"] = ["collective_housing"]
    out = estimate_embodied_carbon(fp)
    assert out.loc["h", "building_type"] == "logement_collectif"
    assert out.loc["h", "embodied_kgco2e"] == pytest.approx(200 * 740)
