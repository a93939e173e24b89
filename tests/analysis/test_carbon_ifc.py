"""Carbon results on IFC models: an authored model with known volumes, FZK-Haus and Duplex.

The IFC reader (``cimkit.io.ifc.read_ifc_model``) is developed alongside; the end-to-end tests
skip with a reason while it is not importable. The material-table test below runs either way on
a hand-built table with exactly the quantities of the authored model.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cimkit.analysis.carbon import compute_embodied_carbon, map_materials

# --- the authored model -----------------------------------------------------------------
# Wall W1: 5 m long, 3 m high, 0.30 m thick = 4.5 m3, layer set
#   Béton C25/30 0.18 m (2.7 m3), Laine de verre 0.10 m (1.5 m3), Plaque de plâtre 0.02 m (0.3 m3)
# Slab S1: 10 m x 8 m x 0.25 m = 20 m3 of Béton C30/37 (single material)
WALL_LAYERS = [("Béton C25/30", 0.18), ("Laine de verre", 0.10), ("Plaque de plâtre", 0.02)]
SLAB_MATERIAL = "Béton C30/37"
VOLUMES = {"Béton C25/30": 2.7, "Laine de verre": 1.5, "Plaque de plâtre": 0.3, "Béton C30/37": 20.0}
# density (kg/m3) x A1-A3 factor (kgCO2e/kg) of the bundled table, written out by hand:
# C25/30 2400 x 0.081, glass wool 20 x 1.35, plasterboard 800 x 0.39, C30/37 2400 x 0.090
EXPECTED_A1A3 = {
    "concrete_c25_30": 2.7 * 2400 * 0.081,  # 524.88
    "glass_wool": 1.5 * 20 * 1.35,  # 40.5
    "plasterboard": 0.3 * 800 * 0.39,  # 93.6
    "concrete_c30_37": 20.0 * 2400 * 0.090,  # 4320
}


def _author_ifc(path):
    import ifcopenshell.api

    run = ifcopenshell.api.run
    f = run("project.create_file", version="IFC4")
    project = run("root.create_entity", f, ifc_class="IfcProject", name="Carbon test")
    run("unit.assign_unit", f)  # metres
    model = run("context.add_context", f, context_type="Model")
    body = run(
        "context.add_context",
        f,
        context_type="Model",
        context_identifier="Body",
        target_view="MODEL_VIEW",
        parent=model,
    )
    site = run("root.create_entity", f, ifc_class="IfcSite", name="Site")
    building = run("root.create_entity", f, ifc_class="IfcBuilding", name="Maison test")
    storey = run("root.create_entity", f, ifc_class="IfcBuildingStorey", name="RDC")
    run("aggregate.assign_object", f, relating_object=project, products=[site])
    run("aggregate.assign_object", f, relating_object=site, products=[building])
    run("aggregate.assign_object", f, relating_object=building, products=[storey])

    wall = run("root.create_entity", f, ifc_class="IfcWall", name="W1")
    run("spatial.assign_container", f, relating_structure=storey, products=[wall])
    layer_set = run("material.add_material_set", f, name="Mur", set_type="IfcMaterialLayerSet")
    for name, thickness in WALL_LAYERS:
        material = run("material.add_material", f, name=name)
        layer = run("material.add_layer", f, layer_set=layer_set, material=material)
        run("material.edit_layer", f, layer=layer, attributes={"LayerThickness": thickness})
    run("material.assign_material", f, products=[wall], material=layer_set)
    rep = run("geometry.add_wall_representation", f, context=body, length=5.0, height=3.0, thickness=0.30)
    run("geometry.assign_representation", f, product=wall, representation=rep)
    run("geometry.edit_object_placement", f, product=wall, matrix=np.eye(4))

    slab = run("root.create_entity", f, ifc_class="IfcSlab", name="S1")
    run("spatial.assign_container", f, relating_structure=storey, products=[slab])
    concrete = run("material.add_material", f, name=SLAB_MATERIAL)
    run("material.assign_material", f, products=[slab], material=concrete)
    rep = run(
        "geometry.add_slab_representation",
        f,
        context=body,
        depth=0.25,
        polyline=[(0.0, 0.0), (10.0, 0.0), (10.0, 8.0), (0.0, 8.0)],
    )
    run("geometry.assign_representation", f, product=slab, representation=rep)
    run("geometry.edit_object_placement", f, product=slab, matrix=np.eye(4))
    f.write(str(path))
    return wall.GlobalId, slab.GlobalId, building.GlobalId


def _hand_table(wall_id="W1", slab_id="S1", building_id="B") -> pd.DataFrame:
    total = sum(t for _, t in WALL_LAYERS)
    rows = [
        {
            "global_id": wall_id,
            "ifc_class": "IfcWall",
            "building_id": building_id,
            "storey": "RDC",
            "material": name,
            "layer_index": i,
            "thickness_m": t,
            "share": t / total,
            "volume_m3": 4.5 * t / total,
        }
        for i, (name, t) in enumerate(WALL_LAYERS)
    ]
    rows.append(
        {
            "global_id": slab_id,
            "ifc_class": "IfcSlab",
            "building_id": building_id,
            "storey": "RDC",
            "material": SLAB_MATERIAL,
            "layer_index": -1,
            "thickness_m": np.nan,
            "share": 1.0,
            "volume_m3": 20.0,
        }
    )
    return pd.DataFrame(rows)


def _check_authored_result(result, wall_id, slab_id):
    by_material = result.materials["a1a3_kgco2e"]
    for key, expected in EXPECTED_A1A3.items():
        assert by_material[key] == pytest.approx(expected, rel=1e-9), key
    total = sum(EXPECTED_A1A3.values())
    assert result.city["a1a3_kgco2e"] == pytest.approx(total)
    by_element = result.elements["a1a3_kgco2e"]
    assert by_element[wall_id] == pytest.approx(524.88 + 40.5 + 93.6)
    assert by_element[slab_id] == pytest.approx(4320.0)
    assert result.buildings["a1a3_kgco2e"].sum() == pytest.approx(total)
    assert result.unmatched.empty


def test_authored_quantities_hand_table():
    result = compute_embodied_carbon(_hand_table(), modules=("A1-A3",))
    _check_authored_result(result, "W1", "S1")


def _reader():
    try:
        module = importlib.import_module("cimkit.io.ifc")
        return module.read_ifc_model
    except (ImportError, AttributeError) as err:
        pytest.skip(
            f"cimkit.io.ifc.read_ifc_model is not importable yet ({err}); re-run when the IFC reader lands"
        )


def _read(path):
    from cimkit.errors import GeoreferenceError

    read_ifc_model = _reader()
    with warnings.catch_warnings():
        # georeferencing notes of the reader (site lat/lon only, no TrueNorth) are not under test
        warnings.simplefilter("ignore")
        try:
            return read_ifc_model(path)
        except GeoreferenceError:
            # models without georeferencing need a CRS and a map origin (Lambert-93 here)
            return read_ifc_model(path, crs="EPSG:2154", origin=(652000.0, 6862000.0))


def test_authored_ifc_end_to_end(tmp_path):
    path = tmp_path / "authored.ifc"
    wall_id, slab_id, building_id = _author_ifc(path)
    model = _read(path)
    volumes = model.materials.groupby("material")["volume_m3"].sum()
    for name, volume in VOLUMES.items():
        assert volumes[name] == pytest.approx(volume, rel=1e-6), name
    result = compute_embodied_carbon(model.materials, buildings=model.buildings, modules=("A1-A3",))
    _check_authored_result(result, wall_id, slab_id)
    assert result.buildings.index.tolist() == [building_id]


# --- real models ---------------------------------------------------------------------
# Material names found in the files (read with ifcopenshell in the test) that are expected to
# stay unmatched: ArchiCAD fills, site grass, EPDM and vapour barriers (no bundled factor),
# plywood and metal stud layers (recognised, no row).
EXPECTED_UNMATCHED = {
    "fzk": {"Radial Gradient Fill 1515460218", "Solid", "Solid 397409098"},
    "duplex": {
        "Metal - Stud Layer",  # framed layer (studs + cavity), not solid steel
        "Roofing - Barrier",
        "Roofing - EPDM Membrane",
        "Site - Grass",
        "Wood - Sheathing - plywood",
    },
}
FILES = {
    "fzk": "ifc_kit_fzk_haus/AC20-FZK-Haus.ifc",
    "duplex": "ifc_duplex_apartment/duplex.ifc",
}


@pytest.mark.shared_data
@pytest.mark.parametrize("model", ["fzk", "duplex"])
def test_real_model_material_names_map_as_expected(shared_data, model):
    import ifcopenshell

    f = ifcopenshell.open(str(shared_data / FILES[model]))
    names = sorted({m.Name for m in f.by_type("IfcMaterial")})
    mapping = map_materials(names)
    assert set(mapping.index[~mapping["matched"]]) == EXPECTED_UNMATCHED[model]
    if model == "fzk":
        assert mapping.loc["Stahlbeton 65690", "material_key"] == "reinforced_concrete"
        assert mapping.loc["Leichtbeton 102890359", "material_key"] == "lightweight_concrete"
        assert mapping.loc["Holz", "material_key"] == "timber_sawn_softwood"
    else:
        assert mapping.loc["Masonry - Brick", "material_key"] == "brick_clay"
        assert mapping.loc["Concrete - Cast In Situ", "material_key"] == "concrete_generic"
        assert mapping.loc["Metal - Steel - 345 MPa", "material_key"] == "steel_section"


# Bounds of the per-m² check below (kgCO2e per m² of gross floor area), one source each.
#
# PER_M2_LOWER = 39, published benchmark: Jungclaus, Grant, Torres, Arehart & Srubar (2024),
#   "Embodied carbon benchmarks of single-family residential buildings in the United States",
#   Sustainable Cities and Society, article 105975, doi:10.1016/j.scs.2024.105975. Abstract:
#   "average ECIs ranged from 39 to 121 kgCO2e/m2" over 64 archetype models (DOE prototype
#   single-family house x 16 climate zones x 4 foundation types), from material quantity
#   take-offs with One Click LCA, Tally and Athena. It is a material (product-stage) figure
#   excluding biogenic storage: the Carbon Leadership Forum Policy Reduction Calculator
#   documentation ("Embodied Carbon Intensities", section "Life Cycle Stages A1-A3") uses this
#   study for its single-family A1-A3 intensities (the abstract itself names no modules). Our
#   value is the same quantity (IFC quantities x A1-A3 factors, per m² of floor area). The
#   least of those archetype means comes from light US houses (mostly wood: the abstract
#   reports net biogenic CO2 storage for many of them), so a model of a masonry or concrete
#   dwelling falling under it points to missing quantities or a wrong floor area.
# The published upper end (121) is NOT used: the Duplex model (126.7, with brick, concrete and
#   steel in its take-off) lies above it, and an average over archetypes does not
#   bound individual buildings.
# PER_M2_UPPER = 740, legal cap: RE2020 Ic_construction maximum for collective housing in 2022
#   (arrêté du 4 août 2021; 640 for individual houses). It caps a 50-year dynamic LCA of all 13
#   lots plus the site, a wider scope than A1-A3 of structure and envelope, so the static A1-A3
#   of an IFC dwelling model must lie well below it.
PER_M2_LOWER = 39.0
PER_M2_UPPER = 740.0


@pytest.mark.shared_data
@pytest.mark.parametrize("model", ["fzk", "duplex"])
def test_real_model_carbon_per_m2_in_published_range(shared_data, model):
    """Per-m² A1-A3 of each building lies between a published benchmark and a legal cap.

    The two bounds come from two different sources (see PER_M2_LOWER / PER_M2_UPPER). Measured
    when the bounds were set: FZK-Haus 114.7 and Duplex 126.7 kgCO2e/m² of gross floor area.
    The test also checks that the unmatched-material report lists only the names expected to
    stay unmatched.
    """
    model_data = _read(shared_data / FILES[model])
    result = compute_embodied_carbon(model_data.materials, buildings=model_data.buildings, modules=("A1-A3",))
    per_building = result.buildings
    assert len(per_building) >= 1
    per_m2 = per_building["a1a3_kgco2e_per_m2"].dropna()
    assert len(per_m2) >= 1
    assert ((per_m2 >= PER_M2_LOWER) & (per_m2 <= PER_M2_UPPER)).all(), per_m2.to_dict()
    unmatched = result.unmatched
    assert set(unmatched.index) <= EXPECTED_UNMATCHED[model] | {""}
    assert (unmatched["volume_m3"].fillna(0) >= 0).all()


SAMPLE_BUILDINGS = Path(__file__).resolve().parents[2] / "sample_data" / "buildings"
# sample-city materials expected without a factor: gypsum plaster (recognised, no row) and
# wood-fibre insulation (row without a bundled value)
SAMPLE_UNMATCHED = {"Enduit plâtre", "Laine de bois"}


def test_sample_city_buildings_get_a_result():
    files = sorted(SAMPLE_BUILDINGS.glob("*.ifc"))[:3]
    if not files:
        pytest.skip("sample_data/buildings/*.ifc has not been generated in this checkout")
    for path in files:
        model = _read(path)
        result = compute_embodied_carbon(model.materials, buildings=model.buildings, modules=("A1-A3",))
        per_building = result.buildings
        assert (per_building["a1a3_kgco2e"] > 0).all(), path.name
        assert set(result.unmatched.index) <= SAMPLE_UNMATCHED, path.name
