"""Scenario maps and the report section "What this rule change would do", on a hand-made result."""

from __future__ import annotations

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit.analysis.scenario import Scenario, ScenarioImpact, ScenarioResult, compare
from cimkit.errors import ValidationError

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CRS = "EPSG:2154"


@pytest.fixture
def toy():
    from cimkit.model import CityModel

    ids = pd.Index(["A", "B", "C"], name="parcel_id")
    parcels = gpd.GeoDataFrame(
        geometry=[shapely.box(651000 + 30 * i, 6847000, 651020 + 30 * i, 6847030) for i in range(3)],
        index=ids,
        crs=CRS,
    )
    model = CityModel(CRS, name="toy")
    model.add_layer("parcels", parcels)

    def result(name, gained, dwellings, flooded, score):
        frame = pd.DataFrame(
            {"gained_gfa_m2": gained, "added_dwellings": dwellings, "zone": ["UB"] * 3}, index=ids
        )
        flood = ScenarioImpact(
            name="flood",
            parcels=pd.DataFrame({"dwellings_flooded_rp100": flooded}, index=ids),
            summary={
                "dwellings_flooded_rp100": float(np.sum(flooded)),
                "added_ead_eur": 10.0 * np.sum(flooded),
            },
        )
        access = ScenarioImpact(
            name="access", parcels=pd.DataFrame({"score": score}, index=ids), summary={"score_mean": 0.5}
        )
        city = pd.Series(
            {
                "added_dwellings": float(np.sum(dwellings)),
                "added_gfa_m2": 63.0 * np.sum(dwellings),
                "gained_gfa_m2": float(np.sum(gained)),
            }
        )
        return ScenarioResult(
            parcels=frame,
            city=city,
            scenario=Scenario(name=name),
            impacts={"flood": flood, "access": access},
            caveats=("toy numbers",),
        )

    base = result("now", [0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.5, np.nan])
    more = result("taller", [300.0, 0.0, 120.0], [5.0, 1.0, 2.0], [0.0, 0.0, 2.0], [1.0, 0.5, 0.2])
    return model, base, more


def test_capacity_map_colours_the_gaining_parcels(toy):
    from cimkit.viz.scenario import plot_scenario

    model, _, more = toy
    ax = plot_scenario(more, model, kind="capacity")
    assert ax.get_title() == "Floor area the rule change adds: taller"
    bar = ax.figure.axes[1]
    assert bar.get_ylabel() == "capacity gained (m² floor area)"
    assert bar.get_ylim() == pytest.approx((0.0, 300.0))  # the largest gain, 0 at the bottom
    plt.close(ax.figure)


def test_flood_and_access_maps(toy):
    from cimkit.viz.scenario import SCENARIO_MAPS, plot_scenario

    model, _, more = toy
    ax = plot_scenario(more, model, kind="flood")
    assert ax.figure.axes[1].get_ylim() == pytest.approx((0.0, 2.0))  # only parcel C floods
    plt.close(ax.figure)
    ax = plot_scenario(more, model, kind="access")
    assert ax.figure.axes[1].get_ylim() == pytest.approx((0.0, 1.0))
    plt.close(ax.figure)
    assert all(alt.endswith(".") and len(alt) > 60 for *_, alt in SCENARIO_MAPS.values())
    with pytest.raises(ValidationError, match="kind"):
        plot_scenario(more, model, kind="water")  # type: ignore[arg-type]


def test_report_section(toy, tmp_path):
    from cimkit.viz._scenario_section import SECTION_TITLE, add_scenario_section
    from cimkit.viz.report import Report

    model, base, more = toy
    comparison = compare(base, more)
    table = comparison.table.set_index("indicator")
    assert table.loc["added dwellings", "taller"] == 8.0 and table.loc["added dwellings", "now"] == 2.0
    assert table.loc["new dwellings with depth > 0 (rp100)", "taller"] == 2.0
    assert table.loc["embodied carbon", "note"] == "n/a: the carbon impact was not computed"
    report = Report("toy")
    add_scenario_section(report, model, comparison, tmp_path)
    md = report.to_markdown()
    assert SECTION_TITLE in md
    assert "'taller' would allow about +6 dwellings" in md
    assert "+2 new dwellings would stand on land that floods rp100" in md
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "map_scenario_access.png",
        "map_scenario_capacity.png",
        "map_scenario_flood.png",
    ]
