"""``cimkit build city.toml``: the recipe, its checks, reproducible builds and the sample city's recipe."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from cimkit.cli.main import main
from cimkit.errors import CimkitError, CimkitWarning
from cimkit.model import read_model
from cimkit.recipe import build_city
from cimkit.recipe._parse import _accepts, _line_of

SMALL = """\
# a small city: no IFC, one analysis
[city]
name = "small"
crs = "EPSG:2154"

[sources.parcels]
path = "parcels.geojson"
sha256 = "{parcels}"

[sources.zones]
path = "zone_urba.geojson"
rules = "zone_rules.csv"

[sources.buildings]
path = "footprints.geojson"

[networks.road]
path = "streets.geojson"

[dem]
path = "dem.tif"

[analyses.zoning]

[outputs]
model = "out/city.gpkg"
"""
MINI = """\
# a mini city
[city]
crs = "EPSG:2154"

[sources.parcels]
path = "parcels.geojson"
sha256 = "{parcels}"

[sources.zones]
path = "zone_urba.geojson"
rules = "zone_rules.csv"

[outputs]
model = "out/city.gpkg"
"""
FILES = (
    "parcels.geojson",
    "zone_urba.geojson",
    "zone_rules.csv",
    "footprints.geojson",
    "streets.geojson",
    "dem.tif",
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _small(folder: Path, sample: Path, text: str = SMALL) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy(sample / name, folder / name)
    recipe = folder / "city.toml"
    recipe.write_text(text.format(parcels=_sha(folder / "parcels.geojson")), encoding="utf-8")
    return recipe


# ------------------------------------------------------------------------ the sample city's recipe
@pytest.fixture(scope="module")
def built(sample_city_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sample-build")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CimkitWarning)
        return build_city(sample_city_dir / "city.toml", output=out), out


@pytest.fixture(scope="module")
def sample():
    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CimkitWarning)
        return load_sample_city()


def test_the_sample_recipe_gives_the_sample_city(built, sample):
    model = built[0].model
    assert list(model.layers) == list(sample.layers)
    assert sorted(model.networks) == sorted(sample.networks) == ["road", "water"]
    assert model.crs == sample.crs and model.crs.to_epsg() == 2154 and model.name == "sample city"
    # the analyses' joins add columns to the buildings and replace a few (carbon fills gfa_m2)
    joined = {
        c for step in model.provenance_record("buildings").steps for c in step.params.get("columns", [])
    }
    assert {"gfa_m2", "plu_height_ok", "depth_m_rp100", "embodied_kgco2e", "score_15min"} <= joined
    for name, layer in sample.layers.items():
        assert len(model[name]) == len(layer), name
        assert model[name].index.equals(layer.index), name
        columns = [c for c in layer.columns if name != "buildings" or c not in joined]
        pd.testing.assert_frame_equal(model[name][columns], layer[columns], obj=name)
    ifc = sample.buildings["source_kind"] == "ifc"
    pd.testing.assert_series_equal(model.buildings.loc[ifc, "gfa_m2"], sample.buildings.loc[ifc, "gfa_m2"])
    assert round(float(model.parcels.area.sum())) == 412064
    assert len(model.buildings) == 43 and (model.buildings["source_kind"] == "ifc").sum() == 11
    assert model.buildings["permit_year"].dtype == "Int64"
    for kind in ("road", "water"):
        pd.testing.assert_frame_equal(model.network(kind).edges, sample.network(kind).edges)
        pd.testing.assert_frame_equal(model.network(kind).nodes, sample.network(kind).nodes)
    assert (model.dem.values == sample.dem.values).all() and model.dem.transform == sample.dem.transform


def test_the_sample_recipe_runs_its_analyses(built):
    result, _ = built
    assert list(result.results) == ["zoning", "flood", "carbon", "accessibility"]
    buildings = result.model.buildings.set_index(
        result.model.buildings["source"].map(lambda s: Path(str(s)).stem)
    )
    ifc = buildings[result.model.buildings["source_kind"].to_numpy() == "ifc"]
    # the sample's README: residence_hugo is 15 m high in zone UB (max 12 m) ...
    assert ifc.loc["residence_hugo", ["plu_height_m", "plu_max_height_m"]].tolist() == pytest.approx(
        [15.0, 12.0]
    )
    assert not ifc.loc["residence_hugo", "plu_height_ok"] and ifc["plu_height_ok"].sum() == 10
    # ... and maison_moulin_7 is the only IFC building flooded by the 100-year flood
    assert ifc.index[ifc["depth_m_rp100"] > 0].tolist() == ["maison_moulin_7"]
    assert (ifc["depth_m_rp10"] == 0).all()
    assert ifc["embodied_kgco2e"].gt(0).all() and ifc["re2020_verdict"].notna().all()
    assert result.model.buildings["score_15min"].between(0, 1).all()
    assert "score_15min_rp100" in result.model.buildings  # the accessibility run on the closed network
    assert set(result.results["flood"].networks) == {10.0, 100.0, 1000.0}


def test_the_sample_recipe_writes_its_outputs_and_records_itself(built, sample_city_dir):
    result, out = built
    assert result.outputs == {
        "model": out / "city.gpkg",
        "report": out / "report" / "report.html",
        "summary": out / "report" / "summary.md",
        "cityjson": out / "buildings.city.json",
    }
    digest = _sha(sample_city_dir / "city.toml")
    assert result.recipe_sha256 == digest
    saved = read_model(out / "city.gpkg")
    assert list(saved.layers) == list(result.model.layers)
    pd.testing.assert_frame_equal(saved.parcels, result.model.parcels)
    for name in [*saved.layers, "network_road", "network_water", "dem"]:
        step = saved.provenance_record(name).steps[-1]
        assert (step.action, step.params) == (
            "build_city",
            {"recipe": "city.toml", "recipe_sha256": digest},
        ), name
    assert "Built by cimkit from the recipe city.toml" in (out / "report" / "summary.md").read_text(
        encoding="utf-8"
    )
    city = json.loads((out / "buildings.city.json").read_text(encoding="utf-8"))
    assert city["version"] == "2.0" and len(city["CityObjects"]) == 43
    assert "33Mffxk2Cw5KESQIhMhhOz" in city["CityObjects"]  # the IFC GlobalId of residence_hugo
    steps = list(result.timings)
    assert steps[:3] == ["check recipe", "read sources.parcels", "read sources.zones"]
    assert {"analysis flood", "write model", "write report", "write cityjson"} <= set(steps)
    assert all(seconds >= 0 for seconds in result.timings.values())


# ------------------------------------------------------------------------ reproducible builds
def _tables(path: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name, _ in pyogrio.list_layers(path):
        frame = pyogrio.read_dataframe(path, layer=name)
        if name == "cimkit_provenance":
            records = [json.loads(r) for r in frame["record"]]
            for record in records:  # the only thing that differs: when each step ran
                record.pop("created")
                for step in record["steps"]:
                    step.pop("time")
            frame["record"] = [json.dumps(r, sort_keys=True) for r in records]
        if name == "cimkit_metadata":  # the digest of the provenance table follows those times
            meta = json.loads(frame["value"][0])
            meta["sha256"].pop("cimkit_provenance")
            frame["value"] = [json.dumps(meta, sort_keys=True)]
        tables[name] = frame
    return tables


def test_building_twice_gives_the_same_model_and_tables(sample_city_dir, tmp_path):
    recipe = _small(tmp_path / "city", sample_city_dir)
    first = build_city(recipe, output=tmp_path / "a")
    second = build_city(recipe, output=tmp_path / "b")
    assert list(first.model.layers) == ["parcels", "zones", "buildings"]
    for name in first.model.layers:
        pd.testing.assert_frame_equal(first.model[name], second.model[name])
    a, b = _tables(tmp_path / "a" / "out" / "city.gpkg"), _tables(tmp_path / "b" / "out" / "city.gpkg")
    assert sorted(a) == sorted(b) and "network_road_edges" in a
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    digests = json.loads(a["cimkit_metadata"]["value"][0])["sha256"]  # stored content digest per table
    assert set(digests) == {
        "parcels",
        "zones",
        "buildings",
        "network_road_nodes",
        "network_road_edges",
        "dem",
    }
    assert first.model.buildings["plu_compliant"].notna().any()


def test_a_changed_source_stops_the_build_until_hashes_are_updated(sample_city_dir, tmp_path):
    recipe = _small(tmp_path, sample_city_dir, MINI)
    parcels = tmp_path / "parcels.geojson"
    parcels.write_bytes(parcels.read_bytes().replace(b'"contenance"', b'"contenance" ', 1))
    with pytest.raises(CimkitError) as info:
        build_city(recipe)
    assert info.value.code == "RCP005" and info.value.line == 7  # the line of sources.parcels.sha256
    assert "--update-hashes" in str(info.value)
    with pytest.warns(CimkitWarning) as caught:
        result = build_city(recipe, update_hashes=True)
    assert [w.message.code for w in caught if isinstance(w.message, CimkitWarning)].count("RCP101") == 2
    text = recipe.read_text(encoding="utf-8")
    assert f'sha256 = "{_sha(parcels)}"' in text and text.startswith("# a mini city")
    assert text.count("sha256 = ") == 2  # the changed one rewritten, one added (zones)
    zones = hashlib.sha256(
        f"{_sha(tmp_path / 'zone_rules.csv')}  zone_rules.csv\n{_sha(tmp_path / 'zone_urba.geojson')}  zone_urba.geojson\n".encode()
    ).hexdigest()  # several files: the sha256 of their sha256sum listing, sorted by path
    assert f'[sources.zones]\nsha256 = "{zones}"\n' in text
    assert result.recipe_sha256 == _sha(recipe) and len(result.model.parcels) == 97
    build_city(recipe)  # now the recipe matches its sources


# ------------------------------------------------------------------------ checks of the recipe
@pytest.mark.parametrize(
    ("change", "code", "line", "words"),
    [
        (("[city]", "[city]\nsize = 3"), "RCP002", 3, "key 'city.size': unknown key"),
        (('name = "small"', "name = 3"), "RCP003", 3, "key 'city.name': has the wrong type: int 3"),
        (
            ('path = "dem.tif"', 'path = "dem.tif"\nbands = 2'),
            "RCP002",
            22,
            "key 'dem.bands': is not an option",
        ),
        (
            ('path = "dem.tif"', 'path = "dem.tif"\nband = "2"'),
            "RCP003",
            22,
            "key 'dem.band': has the wrong type",
        ),
        (
            ("[analyses.zoning]", "[analyses.zoning]\nmin_share = true"),
            "RCP003",
            24,
            "analyses.zoning.min_share",
        ),
        (("[analyses.zoning]", "[analyses.noise]"), "RCP002", 23, "key 'analyses.noise': unknown key"),
        (
            ('path = "footprints.geojson"', 'path = "footprint.geojson"'),
            "RCP004",
            15,
            "footprint.geojson not found",
        ),
        (('path = "dem.tif"', 'path = "../dem.tif"'), "RCP006", 21, "leads outside the folder"),
        (('path = "dem.tif"', 'path = "/tmp/dem.tif"'), "RCP006", 21, "absolute path '/tmp/dem.tif' refused"),
        (("[outputs]", "[outputs]\nreport = 3"), "RCP003", 26, "key 'outputs.report'"),
        (('model = "out/city.gpkg"', 'model = "out/city.sqlite"'), "RCP003", 26, "must end in .gpkg"),
        (("[sources.zones]", "[sources.Zones]"), "RCP003", 10, "is not a layer name"),
        (('path = "parcels.geojson"', 'path = "*.geojson"'), "RCP003", 7, "names 4 files; only IFC sources"),
        (('name = "small"', 'name = "small'), "RCP001", 3, "not valid TOML"),
    ],
)
def test_recipe_errors_name_the_key_and_its_line(sample_city_dir, tmp_path, change, code, line, words):
    recipe = _small(tmp_path, sample_city_dir, SMALL.replace(*change, 1))
    with pytest.raises(CimkitError) as info:
        build_city(recipe)
    assert (info.value.code, info.value.line) == (code, line)
    assert words in str(info.value) and info.value.hint
    assert not (tmp_path / "out").exists()  # nothing was written


def test_a_readers_error_keeps_its_code_and_names_the_recipe_key(sample_city_dir, tmp_path):
    recipe = _small(tmp_path, sample_city_dir)
    (tmp_path / "footprints.geojson").write_text(
        '{"type": "FeatureCollection", "features": [', encoding="utf-8"
    )
    with pytest.raises(CimkitError) as info:
        build_city(recipe)
    assert not info.value.code.startswith("RCP")
    assert "recipe key 'sources.buildings' (city.toml line 14)" in str(info.value)
    assert "footprints.geojson" in str(info.value)


def test_a_symbolic_link_out_of_the_folder_is_refused(sample_city_dir, tmp_path):
    recipe = _small(tmp_path / "city", sample_city_dir)
    (tmp_path / "city" / "dem.tif").unlink()
    (tmp_path / "city" / "dem.tif").symlink_to(sample_city_dir / "dem.tif")
    with pytest.raises(CimkitError) as info:
        build_city(recipe)
    assert info.value.code == "RCP006" and info.value.line == 21


def test_absolute_paths_when_the_recipe_allows_them(shared_data, tmp_path):
    parcels = shared_data / "cadastre_epinay_sur_orge_91216" / "cadastre-91216-parcelles.json"
    recipe = tmp_path / "city.toml"
    recipe.write_text(
        f'[recipe]\nallow_absolute_paths = true\n[city]\ncrs = "EPSG:2154"\n'
        f'[sources.parcels]\npath = "{parcels}"\nsha256 = "{_sha(parcels)}"\n',
        encoding="utf-8",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CimkitWarning)
        model = build_city(recipe).model
    assert len(model.parcels) == 4241 and model.crs.to_epsg() == 2154  # MANIFEST: 4 241 polygons
    minx, miny, maxx, maxy = model.parcels.to_crs(4326).total_bounds  # MANIFEST bbox
    assert (round(minx, 3), round(miny, 3), round(maxx, 3), round(maxy, 3)) == (2.300, 48.657, 2.339, 48.686)


def test_line_of_finds_tables_dotted_and_quoted_keys():
    text = '[a]\nx = 1\n"b.c" = 2\n[a.t]\nd.e = 3  # comment\nf = { g = 1 }\n[[arr]]\nk = 1\n'
    assert _line_of(text, ("a", "x")) == 2
    assert _line_of(text, ("a", "b.c")) == 3
    assert _line_of(text, ("a", "t")) == 4
    assert _line_of(text, ("a", "t", "d", "e")) == 5
    assert _line_of(text, ("a", "t", "f", "g")) == 6  # inside an inline table: its key's line
    assert _line_of(text, ("arr", "k")) == 8
    assert _line_of(text, ("zzz",)) is None


@pytest.mark.parametrize(
    ("annotation", "value", "ok"),
    [
        ("float", 3, True),
        ("float", True, False),
        ("int | None", 2.5, False),
        ("Literal['bathtub', 'hand']", "hand", True),
        ("Literal['bathtub', 'hand']", "hnd", False),
        ("Sequence[float] | None", [1.0, 2.0], True),
        ("Mapping[str, float] | None", {"road": 0.3}, True),
        ("pd.DataFrame | None", {"a": 1}, False),
        ("Any", object(), True),
        ("bool", 1, False),
    ],
)
def test_option_types_follow_the_readers_annotations(annotation, value, ok):
    assert _accepts(annotation, value) is ok


# ------------------------------------------------------------------------ the command line
def test_cimkit_build_prints_its_steps_and_exit_codes(sample_city_dir, tmp_path, capsys):
    recipe = _small(tmp_path / "city", sample_city_dir, MINI)
    assert main(["build", str(recipe), "--output", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "read sources.parcels" in printed and "write model" in printed
    assert "model" in printed and str(tmp_path / "o" / "out" / "city.gpkg") in printed
    assert (tmp_path / "o" / "out" / "city.gpkg").is_file()
    assert main(["-q", "build", str(recipe), "--output", str(tmp_path / "q")]) == 0
    assert capsys.readouterr().out == ""
    recipe.write_text(
        recipe.read_text(encoding="utf-8").replace("[city]", "[city]\ncolour = 1"), encoding="utf-8"
    )
    assert main(["build", str(recipe)]) == 1
    assert "cimkit: error[RCP002]: " in capsys.readouterr().err
    assert main(["build", str(tmp_path / "none.toml")]) == 1
    assert "error[RCP004]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["build"])
    assert usage.value.code == 2


def test_a_water_network_from_an_epanet_file(shared_data, tmp_path):
    recipe = tmp_path / "city.toml"
    recipe.write_text(
        '[recipe]\nallow_absolute_paths = true\n[city]\ncrs = "EPSG:2154"\n[networks.water]\n'
        f'path = "{shared_data / "epanet_networks" / "Net1.inp"}"\n'
        'source_crs = "EPSG:2154"\norigin = [651000.0, 6847000.0]\n',
        encoding="utf-8",
    )
    network = build_city(recipe).model.network("water")
    # MANIFEST: 9 junctions, 1 reservoir, 1 tank; 12 pipes and 1 pump; 19.4 km of pipe
    assert (len(network.nodes), len(network.edges)) == (11, 13)
    assert round(float(network.edges["length_m"].sum()) / 1000, 1) == 19.4
    assert network.nodes.total_bounds[0] >= 651000.0  # the schematic coordinates placed at the origin
