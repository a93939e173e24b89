"""`cimkit demo` writes a city model that loads back with every sample layer in EPSG:2154."""

from __future__ import annotations

import pytest

from cimkit.cli.main import main
from cimkit.model import read_model


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["-q", "demo", "--output", str(out)]) == 0
    return out


def test_demo_outputs(demo_dir):
    model = read_model(demo_dir / "city.gpkg")
    assert model.crs.to_epsg() == 2154
    for name in (
        "buildings",
        "parcels",
        "zones",
        "pois",
        "river",
        "prescriptions",
        "elements",
        "materials",
        "spaces",
    ):
        assert name in model.layers
    assert sorted(model.networks) == ["road", "water"] and model.dem is not None
    b = model.buildings
    # results joined as columns with units, and recorded in the provenance
    for col in (
        "parcel_id",
        "zone_id",
        "plu_compliant",
        "depth_m_rp100",
        "damage_eur_rp100",
        "ead_eur",
        "embodied_kgco2e",
        "operational_b6_kgco2e",
        "score_15min",
        "walk_school_min",
        "score_15min_rp100",
    ):
        assert col in b.columns, col
    producers = {s.params.get("producer") for s in model.provenance_record("buildings").steps}
    assert {
        "cimkit.analysis.zoning.assess",
        "cimkit.analysis.flood.assess",
        "cimkit.analysis.carbon.assess",
        "cimkit.analysis.accessibility.assess",
    } <= producers
    assert (b["depth_m_rp100"] > 0).sum() >= 3 and (b["depth_m_rp10"] > 0).sum() <= (
        b["depth_m_rp100"] > 0
    ).sum()
    assert b["ead_eur"].sum() > 0
    # the generator made exactly one building too high for its zone (see sample_data/README.md)
    assert b.loc[b["plu_height_ok"].eq(False)].index.tolist() == [
        i for i in b.index if b.loc[i, "name"] == "Résidence Victor Hugo"
    ]


def test_demo_report_is_public_and_readable(demo_dir):
    summary = (demo_dir / "summary.md").read_text(encoding="utf-8")
    for heading in ("## Flood risk", "## Carbon footprint", "## Access on foot", "## Buildings, parcels"):
        assert heading in summary
    page = (demo_dir / "report.html").read_text(encoding="utf-8")
    assert "alt=" in page and "withheld" in page
    assert (demo_dir / "map_flood.png").stat().st_size > 10_000
