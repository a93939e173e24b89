"""Build a city from a declarative recipe: ``city.toml`` -> a saved :class:`~cimkit.model.CityModel`.

A recipe names the sources of every layer (with their reader options and, optionally, their
sha256), the networks, the DEM, the analyses to run and the outputs to write. ``cimkit build
city.toml`` (or :func:`build_city`) reads it, checks it (unknown keys, wrong types, missing or
changed files, paths leaving the recipe's folder: typed errors naming the key and its line),
builds the model, runs the analyses, and writes the model, the report and the exports. The
recipe's own sha256 is recorded in the provenance of every layer, so a saved model says which
recipe built it. The reference of every key is in ``docs/recipe.md``.

Examples
--------
>>> from cimkit.datasets import sample_city_path
>>> (sample_city_path() / "city.toml").is_file()
True
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimkit.recipe._build import (
    _add_dem,
    _add_network,
    _add_source,
    _check_hashes,
    _record_recipe,
    _run_analysis,
    _Step,
    _write_hashes,
    _write_outputs,
)
from cimkit.recipe._parse import _parse, _Recipe

__all__ = ["BuildResult", "build_city"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_city` built and wrote.

    Attributes
    ----------
    model
        The city model (with the analyses' columns joined to its buildings).
    recipe
        The recipe file.
    recipe_sha256
        The sha256 of the recipe's bytes, recorded in every layer's provenance.
    outputs
        Output name (``model``, ``report``, ``summary``, ``cityjson``) -> file written.
    timings
        Step (``read sources.parcels``, ``analysis flood``, ``write model`` ...) -> seconds.
    results
        Analysis name -> its :class:`~cimkit.analysis.AnalysisResult`.

    Examples
    --------
    >>> from cimkit.model import CityModel
    >>> BuildResult(model=CityModel(2154), recipe=Path("city.toml"), recipe_sha256="0" * 64).outputs
    {}
    """

    model: Any
    recipe: Path
    recipe_sha256: str
    outputs: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------ building
def build_city(
    recipe: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    update_hashes: bool = False,
) -> BuildResult:
    r"""Build, analyse and save a city from a recipe (``city.toml``).

    Parameters
    ----------
    recipe
        The recipe file. Source paths in it are relative to its folder (see ``docs/recipe.md``).
    output
        The folder the ``[outputs]`` paths are relative to (default: the recipe's folder). It
        is created if missing.
    update_hashes
        Record the current sha256 of the sources in the recipe (rewriting its ``sha256`` lines)
        instead of refusing changed sources (``RCP005``).

    Returns
    -------
    BuildResult
        The model, the files written, the time of each step and the analysis results.

    Raises
    ------
    CimkitError
        ``RCP001``-``RCP006`` for a recipe that is not valid TOML, has an unknown key or a value
        of the wrong type, names a missing file, a changed file (sha256) or a path leaving its
        folder; a reader's or an analysis' own error keeps its code and names the recipe key.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from cimkit.datasets import sample_city_path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = shutil.copy(sample_city_path() / "parcels.geojson", folder)
    >>> _ = (folder / "city.toml").write_text('[city]\ncrs = "EPSG:2154"\n'
    ...                                        '[sources.parcels]\npath = "parcels.geojson"\n'
    ...                                        '[outputs]\nmodel = "out/city.gpkg"\n')
    >>> result = build_city(folder / "city.toml")
    >>> len(result.model.parcels), round(float(result.model.parcels.area.sum()))
    (97, 412064)
    >>> result.outputs["model"].name, result.model.provenance_record("parcels").steps[-1].action
    ('city.gpkg', 'build_city')
    >>> shutil.rmtree(folder)
    """
    from cimkit.model import CityModel

    started = time.perf_counter()
    parsed = _Recipe(Path(recipe))
    plan = _parse(parsed)
    changed = _check_hashes(parsed, plan, bool(update_hashes))
    if changed:
        _write_hashes(parsed, changed)
        parsed = _Recipe(parsed.path)
    result = BuildResult(
        model=CityModel(plan.crs, name=plan.name), recipe=parsed.path, recipe_sha256=parsed.sha256
    )
    result.timings["check recipe"] = time.perf_counter() - started
    for layer, source in plan.sources:
        with _Step(result, f"read sources.{layer}"):
            _add_source(parsed, plan, result.model, layer, source)
    for kind, source in plan.networks.items():
        with _Step(result, f"read networks.{kind}"):
            _add_network(parsed, plan, result.model, kind, source)
    if plan.dem is not None:
        with _Step(result, "read dem"):
            _add_dem(parsed, plan, result.model, plan.dem)
    for name, options in plan.analyses.items():
        with _Step(result, f"analysis {name}"):
            result.results[name] = _run_analysis(parsed, result.model, name, dict(options), result.results)
    _record_recipe(parsed, result.model)
    _write_outputs(parsed, plan, result, Path(output) if output is not None else parsed.folder)
    logger.info("built %s in %.1f s", parsed.path.name, time.perf_counter() - started)
    return result
