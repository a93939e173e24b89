"""Corpus cases: city recipes (``cimkit build city.toml``).

Each case writes a small recipe and copies of sample-city files under ``tmp``, then builds it.
Errors name the recipe key and its line; a reader's own error keeps its code.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from cimkit.datasets import sample_city_path
from cimkit.recipe import build_city
from tests.corpus._registry import corpus_case

RECIPE = """\
[city]
crs = "EPSG:2154"

[sources.parcels]
path = "parcels.geojson"
"""


def _recipe(tmp: Path, text: str = RECIPE) -> Path:
    shutil.copy(sample_city_path() / "parcels.geojson", tmp / "parcels.geojson")
    path = tmp / "city.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _raises_at(path: Path, line: int) -> None:
    """Build ``path``; the error must name the line, then goes to the runner."""
    try:
        build_city(path)
    except Exception as err:
        assert getattr(err, "line", None) == line, f"line {getattr(err, 'line', None)}, expected {line}"
        raise


@corpus_case("recipe/minimal-ok", expect="ok")
def _minimal(tmp, shared):
    result = build_city(_recipe(tmp))
    assert len(result.model.parcels) == 97 and round(float(result.model.parcels.area.sum())) == 412064
    assert result.model.provenance_record("parcels").steps[-1].params["recipe_sha256"] == result.recipe_sha256


@corpus_case("recipe/not-toml", expect="error", code="RCP001")
def _not_toml(tmp, shared):
    _raises_at(_recipe(tmp, RECIPE + 'path = "twice.geojson"\n'), 6)  # a key defined twice


@corpus_case("recipe/unknown-key", expect="error", code="RCP002")
def _unknown_key(tmp, shared):
    _raises_at(_recipe(tmp, RECIPE.replace("[city]\n", "[city]\nprojection = 2154\n")), 2)


@corpus_case("recipe/unknown-reader-option", expect="error", code="RCP002")
def _unknown_option(tmp, shared):
    _raises_at(_recipe(tmp, RECIPE + "area_tolerence = 0.2\n"), 6)  # a typo of area_tolerance


@corpus_case("recipe/wrong-type", expect="error", code="RCP003")
def _wrong_type(tmp, shared):
    _raises_at(_recipe(tmp, RECIPE + 'area_tolerance = "10%"\n'), 6)


@corpus_case("recipe/missing-source", expect="error", code="RCP004")
def _missing_source(tmp, shared):
    _raises_at(_recipe(tmp, RECIPE.replace("parcels.geojson", "parcelles.geojson")), 5)


@corpus_case("recipe/sha256-mismatch", expect="error", code="RCP005")
def _sha256_mismatch(tmp, shared):
    path = _recipe(tmp, RECIPE + f'sha256 = "{hashlib.sha256(b"another file").hexdigest()}"\n')
    _raises_at(path, 6)


@corpus_case("recipe/path-escapes-folder", expect="error", code="RCP006")
def _escape(tmp, shared):
    (tmp / "city").mkdir()
    path = _recipe(tmp / "city", RECIPE.replace('"parcels.geojson"', '"../parcels.geojson"'))
    shutil.copy(sample_city_path() / "parcels.geojson", tmp / "parcels.geojson")
    _raises_at(path, 5)


@corpus_case("recipe/absolute-path-not-allowed", expect="error", code="RCP006")
def _absolute(tmp, shared):
    _raises_at(_recipe(tmp, RECIPE.replace('"parcels.geojson"', f'"{tmp / "parcels.geojson"}"')), 5)


@corpus_case("recipe/source-fails-to-read", expect="error", code="GEN002")
def _unreadable(tmp, shared):
    path = _recipe(tmp)
    (tmp / "parcels.geojson").write_text('{"type": "FeatureCollection", "features": [{', encoding="utf-8")
    try:
        build_city(path)
    except Exception as err:
        assert "recipe key 'sources.parcels' (city.toml line 4)" in str(err), str(err)
        raise


@corpus_case("recipe/flood-inflow-not-a-layer", expect="error", code="RCP003")
def _inflow(tmp, shared):
    (tmp / "levels.csv").write_text("return_period,water_level_m\n100,39.5\n", encoding="utf-8")
    text = RECIPE + '[analyses.flood]\nscenarios = "levels.csv"\ninflow = "river"\n'
    _raises_at(_recipe(tmp, text), 8)
