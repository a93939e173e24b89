"""Completeness of IFC models for carbon: element classes, matched volume, grade, RE2020 withheld.

Real files: KIT's FZK-Haus (whole, and cut down to its walls with ifcopenshell) and the sample
city's generated IFC buildings. Expected classes are counted directly with ifcopenshell, not
through cimkit's reader.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from cimkit.analysis.carbon import assess, compute_embodied_carbon
from cimkit.analysis.carbon.completeness import classify_elements
from cimkit.errors import CoverageWarning, ValidationError
from cimkit.model import CityModel

ifcopenshell = pytest.importorskip("ifcopenshell")
ifcopenshell_element = pytest.importorskip("ifcopenshell.util.element")

FZK = "ifc_kit_fzk_haus/AC20-FZK-Haus.ifc"
UTM32 = "EPSG:25832"  # Karlsruhe
# the FZK-Haus material names that have a factor in the bundled table (checked by hand against
# cimkit/data/material_keywords.csv: Holz -> sawn softwood, Leichtbeton -> lightweight concrete,
# Stahlbeton -> reinforced concrete); "Solid ..." and "Radial Gradient Fill" are ArchiCAD
# surface names with no material meaning
FZK_MATCHED = ("Holz", "Leichtbeton 102890359", "Stahlbeton 65690")


def _read(path: Path, crs: str = UTM32):
    from cimkit.io.ifc import read_ifc_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_ifc_model(path, crs=crs, processes=1)


def _classes_with_ifcopenshell(path: Path) -> list[str]:
    """Element classes present, counted on the file itself (the rules of the completeness module)."""
    f = ifcopenshell.open(str(path))

    def kinds(ifc_class: str) -> list[str]:
        return [str(getattr(e, "PredefinedType", None)) for e in f.by_type(ifc_class)]

    slabs = kinds("IfcSlab")
    present = {
        "walls": bool(f.by_type("IfcWall")) or bool(f.by_type("IfcCurtainWall")),
        "slabs": any(k not in ("ROOF", "LANDING") for k in slabs),
        "roof": bool(f.by_type("IfcRoof")) or "ROOF" in slabs,
        "structure": bool(f.by_type("IfcColumn")) or bool(f.by_type("IfcBeam")) or bool(f.by_type("IfcWall")),
        "foundations": bool(f.by_type("IfcFooting")) or bool(f.by_type("IfcPile")) or "BASESLAB" in slabs,
    }
    return [name for name, yes in present.items() if yes]


def _walls_only(source: Path, target: Path) -> Path:
    """Copy of the file with every slab, roof, beam, column, member, stair, railing and opening filler removed."""
    import ifcopenshell.api

    f = ifcopenshell.open(str(source))
    for ifc_class in (
        "IfcSlab",
        "IfcRoof",
        "IfcBeam",
        "IfcColumn",
        "IfcMember",
        "IfcStair",
        "IfcRailing",
        "IfcWindow",
        "IfcDoor",
        "IfcFooting",
    ):
        for element in list(f.by_type(ifc_class)):
            ifcopenshell.api.run("root.remove_product", f, product=element)
    f.write(str(target))
    return target


def _model(read) -> CityModel:
    model = CityModel(UTM32)
    model.add_layer("buildings", gpd.GeoDataFrame(read.buildings, crs=UTM32))
    model.add_layer("materials", read.materials)
    model.add_layer("elements", read.elements)
    return model


def test_fzk_haus_classes_and_matched_share(shared_data):
    path = shared_data / FZK
    read = _read(path)
    result = compute_embodied_carbon(
        read.materials, elements=read.elements, buildings=read.buildings, modules=("A1-A3",)
    )
    (bid,) = read.buildings.index
    row = result.buildings.loc[bid]
    # ifcopenshell: 13 walls, FLOOR + BASESLAB + 2 ROOF slabs, 4 beams -> all five classes
    expected = _classes_with_ifcopenshell(path)
    assert expected == ["walls", "slabs", "roof", "structure", "foundations"]
    assert row["element_classes_present"] == ", ".join(expected)
    assert row["element_class_share"] == pytest.approx(1.0)
    # matched share: the volume of the three named materials over the volume of every material
    # row plus that of elements without any material
    mats = read.materials
    matched = mats.loc[mats["material"].isin(FZK_MATCHED), "volume_m3"].sum()
    bare = read.elements.loc[~read.elements.index.isin(mats["global_id"]), "volume_m3"].fillna(0).sum()
    share = matched / (mats["volume_m3"].sum() + bare)
    assert 0.5 < share < 0.7  # the "Solid 397409098" slabs and roof (53 m3) have no factor
    assert row["matched_volume_share"] == pytest.approx(share)
    assert row["completeness"] == "partial"
    assert "matched to a factor" in row["completeness_reason"]
    # the result's coverage is the same volume share, city-wide
    assert result.coverage.loc["A1-A3", "volume_share"] == pytest.approx(share)
    assert result.city["matched_volume_share"] == pytest.approx(share)
    # a residential building with a floor area: compared with the 640 kgCO2e/m2 house estimate
    assert row["estimate_kgco2e_m2"] == 640.0
    assert row["ifc_to_estimate_ratio"] == pytest.approx(row["total_kgco2e_per_m2"] / 640.0)


def test_shell_only_ifc_is_shell_and_not_assessable(shared_data, tmp_path):
    path = _walls_only(shared_data / FZK, tmp_path / "fzk_walls.ifc")
    # what is left, counted by ifcopenshell: walls only
    f = ifcopenshell.open(str(path))
    assert len(f.by_type("IfcWall")) == 13
    assert not f.by_type("IfcSlab") and not f.by_type("IfcBeam") and not f.by_type("IfcMember")
    assert _classes_with_ifcopenshell(path) == ["walls", "structure"]
    read = _read(path)
    assert set(read.materials["ifc_class"]) == {"IfcWallStandardCase"}
    model = _model(read)
    result = assess(model, modules=("A1-A3",), period="new_low_energy", permit_year=2023)
    (bid,) = read.buildings.index
    b = result.buildings.loc[bid]
    assert b["embodied_source"] == "ifc"
    # walls (not stated non-load-bearing, so counted as structure): 2 of the 5 classes
    assert b["element_classes_present"] == "walls, structure"
    assert b["element_class_share"] == pytest.approx(0.4)
    assert b["element_classes_missing"] == "slabs, roof, foundations"
    assert b["completeness"] == "shell"
    assert b["completeness_reason"] == "no slabs; no roof; no foundations"
    # the verdict is withheld: no pass, no fail, the reason in its column and in the caveats
    assert b["re2020_verdict"] == "not assessable"
    assert pd.isna(b["re2020_passes"]) and pd.isna(b["construction_passes"])
    assert b["re2020_reason"] == "IFC model shell: no slabs; no roof; no foundations"
    assert any("not assessable against RE2020" in c and bid in c for c in result.caveats)
    assert result.city["shell_buildings"] == 1 and result.city["re2020_not_assessable"] == 1
    # the walls' sum per m2 against the 640 kgCO2e/m2 estimate of a house of that floor area
    assert b["ifc_to_estimate_ratio"] == pytest.approx(b["embodied_kgco2e_per_m2"] / 640.0)
    assert b["ifc_to_estimate_ratio"] < 0.25
    assert any("less than 25% of the footprint estimate" in c for c in result.caveats)


def test_mostly_unmatched_volume_is_not_reported_as_covered():
    # the case: a shell whose material volume is 66 % unmatched (no density known)
    table = pd.DataFrame(
        {
            "global_id": ["w1", "w2", "w3"],
            "ifc_class": ["IfcWall", "IfcWall", "IfcWall"],
            "building_id": ["b1", "b1", "b1"],
            "material": ["Béton C25/30", "Mystery A", "Mystery B"],
            "volume_m3": [34.0, 33.0, 33.0],
        }
    )
    with pytest.warns(CoverageWarning, match=r"66\.0 of 100\.0 m³ of modelled volume \(66%\).*shell: 1"):
        result = compute_embodied_carbon(table, modules=("A1-A3",))
    assert result.coverage.loc["A1-A3", "volume_share"] == pytest.approx(0.34)
    assert math.isnan(result.coverage.loc["A1-A3", "mass_share"])  # not 1.0: the mass is unknown
    row = result.buildings.loc["b1"]
    assert row["matched_volume_share"] == pytest.approx(0.34)
    assert row["unmatched_volume_m3"] == pytest.approx(66.0)
    assert row["completeness"] == "shell"
    assert row["completeness_reason"].endswith("34% of material volume matched to a factor (< 90%)")
    # with an IFC density for the unknown material the mass share is stated
    dense = compute_embodied_carbon(table.assign(density_kg_m3=[2400.0, 1000.0, 1000.0]), modules=("A1-A3",))
    assert dense.coverage.loc["A1-A3", "mass_share"] == pytest.approx(34 * 2400 / (34 * 2400 + 66 * 1000))
    assert dense.buildings.loc["b1", "matched_mass_share"] == pytest.approx(
        34 * 2400 / (34 * 2400 + 66 * 1000)
    )


def test_classification_rules():
    table = pd.DataFrame(
        {
            "ifc_class": [
                "IfcWall",
                "IfcWall",
                "IfcSlab",
                "IfcSlab",
                "IfcSlab",
                "IfcFooting",
                "IfcMember",
                "IfcRoof",
            ],
            "predefined_type": [None, None, "FLOOR", "BASESLAB", "ROOF", None, None, "FLAT_ROOF"],
            "load_bearing": [True, False, None, None, None, None, True, None],
        }
    )
    c = classify_elements(table)
    assert c["walls"].tolist() == [True, True, False, False, False, False, False, False]
    assert c["slabs"].tolist() == [False, False, True, True, False, False, False, False]
    assert c["roof"].tolist() == [False, False, False, False, True, False, False, True]
    # a wall stated non-load-bearing is no structure; a load-bearing member is
    assert c["structure"].tolist() == [True, False, False, False, False, False, True, False]
    assert c["foundations"].tolist() == [False, False, False, True, False, True, False, False]


def test_thresholds_are_options_and_validated():
    table = pd.DataFrame(
        {"ifc_class": ["IfcWall"], "building_id": ["b1"], "material": ["Béton C25/30"], "volume_m3": [1.0]}
    )
    only_walls = compute_embodied_carbon(table, modules=("A1-A3",), expected_classes=("walls",))
    assert only_walls.buildings.loc["b1", "completeness"] == "complete"
    with pytest.raises(ValidationError, match="expected_classes"):
        compute_embodied_carbon(table, expected_classes=("walls", "basement"))
    with pytest.raises(ValidationError, match="min_matched_volume_share"):
        compute_embodied_carbon(table, min_matched_volume_share=1.5)


def test_sample_city_ifc_classes(sample_city_dir):
    files = sorted((sample_city_dir / "buildings").glob("*.ifc"))
    if not files:
        pytest.skip("sample_data/buildings/*.ifc has not been generated in this checkout")
    house = next(p for p in files if p.name == "maison_lilas_3.ifc")
    # the generator writes load-bearing walls, FLOOR slabs and an IfcRoof with a ROOF slab, no footing
    assert _classes_with_ifcopenshell(house) == ["walls", "slabs", "roof", "structure"]
    f = ifcopenshell.open(str(house))
    assert all(
        ifcopenshell_element.get_psets(w)["Pset_WallCommon"]["LoadBearing"] is True
        for w in f.by_type("IfcWall")
    )
    read = _read(house, "EPSG:2154")
    result = compute_embodied_carbon(read.materials, elements=read.elements, modules=("A1-A3",))
    row = result.buildings.iloc[0]
    assert row["element_classes_present"] == "walls, slabs, roof, structure"
    assert row["element_classes_missing"] == "foundations"
    assert row["completeness"] == "partial"


def test_city_report_shows_completeness_next_to_each_number():
    from cimkit.analysis import carbon
    from cimkit.datasets import load_sample_city
    from cimkit.viz import build_city_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city(with_ifc=True)
        result = carbon.assess(model, period="new_low_energy")
        text = build_city_report(model, carbon=result, audience="internal").to_markdown()
    section = text.split("## Carbon footprint")[1].split("\n## ")[0]
    b = result.buildings
    ifc = b[b["embodied_source"] == "ifc"]
    assert len(ifc) == 11 and (ifc["completeness"] == "partial").all()
    assert "0 complete, 11 partial, 0 shell" in section
    # every RE2020 row of the report is withheld, with its reason
    withheld = ifc[ifc["re2020_verdict"] == "not assessable"]
    assert len(withheld) == int(result.city["re2020_not_assessable"]) == 9
    assert section.count("| not assessable | IFC model partial: no foundations") == len(withheld)
    # each IFC building's row carries its grade, matched share and ratio to the estimate
    for _, row in ifc.iterrows():
        ratio = row["ifc_to_estimate_ratio"]  # – for the shop: no published intensity for retail
        cells = f"| partial ({row['matched_volume_share']:.0%} matched) | {'–' if pd.isna(ratio) else f'{ratio:.0%}'} |"
        assert cells in section


def test_duplex_classes_and_elements_without_material(shared_data):
    path = shared_data / "ifc_duplex_apartment/duplex.ifc"
    read = _read(path, "EPSG:26916")  # Chicago, UTM 16N
    # ifcopenshell: walls, FLOOR slabs, an IfcRoof, 8 beams and 7 strip footings
    f = ifcopenshell.open(str(path))
    assert len(f.by_type("IfcFooting")) == 7 and len(f.by_type("IfcBeam")) == 8
    assert _classes_with_ifcopenshell(path) == ["walls", "slabs", "roof", "structure", "foundations"]
    result = compute_embodied_carbon(
        read.materials, elements=read.elements, buildings=read.buildings, modules=("A1-A3",)
    )
    row = result.buildings.iloc[0]
    assert row["element_classes_present"] == "walls, slabs, roof, structure, foundations"
    # elements without any material (slabs, footings, doors ...) count as unmatched volume;
    # furniture without material does not (outside the scope of the sum)
    mats, elements = read.materials, read.elements
    bare = elements[
        ~elements.index.isin(mats["global_id"]) & (elements["ifc_class"] != "IfcFurnishingElement")
    ]
    matched = result.rows.loc[result.rows["has_factor"], "volume_m3"].sum()
    share = matched / (mats["volume_m3"].sum() + bare["volume_m3"].fillna(0).sum())
    assert row["matched_volume_share"] == pytest.approx(share)
    assert bare.groupby("ifc_class")["volume_m3"].sum()["IfcSlab"] > 50  # 60.7 m3 of slabs with no material
    assert row["completeness"] == "partial"
