"""Interactive maps (cimkit.viz.explore): layers, colours, tooltips, legends, toggles, offline export."""

from __future__ import annotations

import base64
import json
import re
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("lonboard", reason="the maps extra (lonboard) is not installed")
pa = pytest.importorskip("pyarrow")

from cimkit.errors import CimkitError, PublicationError  # noqa: E402
from cimkit.viz import explore  # noqa: E402

BUILDING = "BATI0031"  # a sample-city building with a height


@pytest.fixture(scope="module")
def model():
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_sample_city(with_ifc=False)


def _table(layer):
    return pa.table(layer.table)


def _row(layer, column, value):
    ids = _table(layer).column(column).to_pylist()
    return ids.index(value)


def _fill(layer):
    colours = pa.chunked_array(layer.get_fill_color).combine_chunks()
    return np.asarray(colours.flatten()).reshape(-1, 4)


def _cividis(fraction):
    import matplotlib

    return np.round(np.asarray(matplotlib.colormaps["cividis"](fraction)) * 255).astype(int)


def test_height_map_layers_colours_tooltips_legend(model):
    view = explore.explore_model(model, column="height_m", layers=["parcels", "road"])
    assert list(view.layers) == ["parcels", "network_road", "buildings"]
    buildings = view.layers["buildings"]
    table = _table(buildings)
    assert table.column_names == ["building_id", "height_m", "caveat", "geometry"]
    assert table.num_rows == len(model.buildings)
    # colour of a known building, computed from the colormap by hand
    heights = model.buildings["height_m"]
    low, high = heights.min(), heights.max()
    assert (round(low, 6), round(high, 6)) == (4.2, 15.0)
    value = heights.loc[BUILDING]
    row = _row(buildings, "building_id", BUILDING)
    assert table.column("height_m")[row].as_py() == pytest.approx(value, abs=1e-5)
    expected = _cividis((value - low) / (high - low))
    assert _fill(buildings)[row].tolist() == [*expected[:3], 255]
    # a building without height: grey, and its caveat says so
    missing = heights[heights.isna()].index[0]
    row = _row(buildings, "building_id", missing)
    assert _fill(buildings)[row].tolist() == [140, 140, 140, 255]
    assert table.column("caveat")[row].as_py() == "no height"
    # legend: a ramp in metres from 4.2 to 15, with "no value"; the quality warning as caveat
    legend = view.legend
    assert (legend.kind, legend.unit, legend.cmap) == ("ramp", "m", "cividis")
    assert (legend.vmin, legend.vmax) == pytest.approx((4.2, 15.0))
    assert legend.entries == (("no value", "#8c8c8c"),)
    assert any("3 of 43 buildings have no height" in text for text in legend.caveats)
    html = legend.to_html()
    assert "4.2 m" in html and "15 m" in html and "linear-gradient" in html


def test_toggles_switch_layers(model):
    view = explore.explore_model(model, layers=["zones", "pois"])
    assert list(view.toggles) == ["zones", "pois", "buildings"]
    assert [view.toggles[n].description for n in view.toggles] == [
        "zones (PLU)",
        "points of interest",
        "buildings",
    ]
    view.toggles["zones"].value = False
    assert view.layers["zones"].visible is False
    view.layers["zones"].visible = True
    assert view.toggles["zones"].value is True
    pois = _table(view.layers["pois"])
    assert pois.column_names[:3] == ["poi_id", "name", "category"]
    assert pois.num_rows == len(model["pois"])
    # no column: the buildings in one colour, a one-entry legend
    assert view.legend.entries == (("buildings", "#0072B2"),)
    assert {tuple(c) for c in _fill(view.layers["buildings"])} == {(0, 114, 178, 255)}


def test_categories_use_okabe_ito(model):
    view = explore.explore_model(model, column="use", layers=[])
    counts = model.buildings["use"].value_counts()
    entries = dict(view.legend.entries)
    assert list(entries)[: len(counts)] == list(counts.index)
    assert entries[counts.index[0]] == "#E69F00" and entries[counts.index[1]] == "#56B4E9"
    row = _row(view.layers["buildings"], "building_id", BUILDING)
    use = model.buildings.loc[BUILDING, "use"]
    colour = entries[use].lstrip("#")
    assert _fill(view.layers["buildings"])[row].tolist() == [
        int(colour[i : i + 2], 16) for i in (0, 2, 4)
    ] + [255]


def test_sensitive_networks_need_an_allowance(model):
    default = explore.explore_model(model)
    assert "network_water" not in default.layers
    with pytest.raises(PublicationError) as err:
        explore.explore_model(model, layers=["water"])
    assert err.value.code == "XPL005" and "allow=" in str(err.value)
    view = explore.explore_model(model, layers=["water"], allow={"water": "flood plan with the fire service"})
    assert list(view.layers) == ["network_water", "buildings"]
    assert "water network shown by allowance: flood plan with the fire service" in view.legend.caveats


def test_errors_have_codes(model):
    with pytest.raises(CimkitError) as err:
        explore.explore_model(model, column="nope")
    assert err.value.code == "XPL004"
    with pytest.raises(CimkitError) as err:
        explore.explore_model(model, layers=["gardens"])
    assert err.value.code == "XPL003"


def test_missing_lonboard_names_the_extra(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "lonboard", None)
    with pytest.raises(CimkitError) as err:
        explore.explore_model(model)
    assert err.value.code == "XPL001"
    assert "pip install 'cimkit[maps]'" in str(err.value)


def test_flood_map_depths_and_flooded_area(model):
    from cimkit.analysis import flood
    from cimkit.datasets import load_sample_flood_scenarios

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        risk = flood.assess(model, load_sample_flood_scenarios(), inflow=model["river"])
    view = explore.explore_flood(model, risk, return_period=100)
    assert list(view.layers) == ["flooded", "zones", "parcels", "network_road", "river", "pois", "buildings"]
    # the flooded area is the union of the wet cells: their count x 25 m²
    depth = risk.depths[100.0]
    wet = int((np.nan_to_num(depth.values) > 0).sum())
    flooded = _table(view.layers["flooded"])
    assert flooded.column("area_m2")[0].as_py() == pytest.approx(wet * 25.0)
    assert flooded.column("max_depth_m")[0].as_py() == pytest.approx(np.nanmax(depth.values), abs=0.01)
    # buildings: depth ramp from 0, dry buildings pale, wet ones on cividis
    table = _table(view.layers["buildings"])
    assert table.column_names == [
        "building_id",
        "depth_m_rp100",
        "damage_eur_rp100",
        "ead_eur",
        "first_floor_height_m",
        "caveat",
        "geometry",
    ]
    depths = risk.buildings["depth_m_rp100"]
    deepest = depths.idxmax()
    row = _row(view.layers["buildings"], "building_id", deepest)
    assert _fill(view.layers["buildings"])[row].tolist() == [*_cividis(1.0)[:3], 255]
    dry = depths[depths == 0].index[0]
    assert _fill(view.layers["buildings"])[_row(view.layers["buildings"], "building_id", dry)].tolist() == [
        242,
        242,
        242,
        255,
    ]
    caveat = table.column("caveat")[row].as_py()
    assert caveat.startswith("Depths come from a connected bathtub")
    assert view.legend.entries[0] == ("not flooded", "#f2f2f2")
    assert view.legend.vmin == 0 and view.legend.vmax == pytest.approx(depths.max())
    assert view.legend.caveats[: len(risk.caveats)] == tuple(risk.caveats)
    with pytest.raises(CimkitError) as err:
        explore.explore_flood(model, risk, return_period=50)
    assert err.value.code == "XPL006"


def test_zoning_carbon_accessibility_maps(model):
    from cimkit.analysis import accessibility, carbon, zoning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rules = zoning.assess(model)
        footprint = carbon.assess(model)
        access = accessibility.assess(model)
    view = explore.explore_zoning(model, rules, layers=["zones"])
    table = _table(view.layers["buildings"])
    compliance = dict(zip(table.column("building_id").to_pylist(), table.column("compliance").to_pylist()))
    failed = rules.buildings.index[rules.buildings["compliant"].eq(False).fillna(False)]
    manual = rules.buildings.index[rules.buildings["check_manually"]]
    assert all(compliance[b] == "fails" for b in failed if b not in manual)
    assert all(compliance[b] == "check manually" for b in manual)
    labels = [label for label, _ in view.legend.entries]
    assert set(labels) <= {"complies", "fails", "check manually", "not checked"}
    if failed.size:
        row = _row(view.layers["buildings"], "building_id", failed[0])
        assert _fill(view.layers["buildings"])[row].tolist()[:3] == [0xD5, 0x5E, 0x00]
    view = explore.explore_carbon(model, footprint, layers=[])
    table = _table(view.layers["buildings"])
    assert view.legend.unit == "kg CO2e"
    estimated = footprint.buildings.index[footprint.buildings["embodied_estimated"].astype(bool)]
    row = _row(view.layers["buildings"], "building_id", estimated[0])
    assert table.column("caveat")[row].as_py().startswith("upper bound")
    view = explore.explore_accessibility(model, access, column="school_min", layers=[])
    assert view.legend.unit == "min"
    values = access.buildings["school_min"]
    row = _row(view.layers["buildings"], "building_id", BUILDING)
    fraction = (values[BUILDING] - values.min()) / (values.max() - values.min())
    assert _fill(view.layers["buildings"])[row].tolist() == [*_cividis(fraction)[:3], 255]


def test_html_export_is_offline(model, tmp_path):
    view = explore.explore_model(model, column="height_m", layers=["parcels"])
    page = view.to_html(tmp_path / "map.html")
    text = page.read_text(encoding="utf-8")
    state = json.loads(
        re.search(r'id="cimkit-state">(.*?)</script>', text, re.S).group(1).replace("<\\/", "</")
    )
    buffers = [b for entry in state.values() for b in entry.get("buffers", [])]
    assert buffers
    rows = 0
    for buffer in buffers:
        data = base64.b64decode(buffer["data"])
        assert data[:4] != b"PAR1"  # lonboard's Parquet, which needs parquet-wasm from a CDN
        table = pa.ipc.open_stream(data).read_all()
        if buffer["path"][0] == "table" and "building_id" in table.column_names:
            rows += table.num_rows
    assert rows == len(model.buildings)
    esm = re.search(r'id="cimkit-esm">(.*?)</script>', text, re.S).group(1)
    assert "wasm not ready" not in esm and esm.startswith("/* cimkit")
    assert 'data-layer="' in text and "parcels" in text and "linear-gradient" in text
    assert "<script src=" not in text and "<link" not in text


def test_model_explore_and_offline_widget(model):
    view = model.explore(column="height_m", layers=[])
    assert list(view.layers) == ["buildings"] and view.legend.unit == "m"
    # the notebook widget itself is offline: patched JavaScript, Arrow IPC instead of Parquet
    assert view.deck._esm.startswith("/* cimkit") and "wasm not ready" not in view.deck._esm
    state = view.layers["buildings"].get_state()
    assert all(chunk[:4] != b"PAR1" for chunk in state["table"])
    assert pa.ipc.open_stream(state["table"][0]).read_all().num_rows == len(model.buildings)
    assert (
        view._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]["model_id"]
        == view.widget.model_id
    )
