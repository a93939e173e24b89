"""Building a city from a checked recipe: sources, networks, DEM, analyses, outputs, hashes."""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cimkit.errors import CimkitError, CimkitWarning, FileFormatError, InputError
from cimkit.recipe._parse import (
    _ANALYSES,
    _IFC_OWN,
    _PARTS,
    READERS,
    _files_sha256,
    _function,
    _line_of,
    _Plan,
    _Recipe,
    _Source,
)

logger = logging.getLogger(__name__)


def _check_hashes(recipe: _Recipe, plan: _Plan, update: bool) -> list[tuple[tuple[str, ...], str]]:
    """Compare each source's files with its sha256; return the (keys, digest) to write with ``update``."""
    changed = []
    parts: list[_Source] = []
    for _, item in plan.sources:
        parts += [v for v in item.values() if isinstance(v, _Source)] if isinstance(item, dict) else [item]
    parts += [*plan.networks.values(), *([plan.dem] if plan.dem else [])]
    for source in parts:
        digest = _files_sha256([*source.files, *source.extra_files], recipe.folder)
        if source.sha256 == digest:
            continue
        if update:
            changed.append((source.keys, digest))
        elif source.sha256 is not None:
            raise recipe.error(
                InputError,
                f"the source's files changed: sha256 {digest} found, {source.sha256} recorded",
                (*source.keys, "sha256"),
                "RCP005",
                "check the new files, then run cimkit build --update-hashes to record them.",
            )
    return changed


def _write_hashes(recipe: _Recipe, changed: list[tuple[tuple[str, ...], str]]) -> None:
    """Write new sha256 values into the recipe's text, keeping its comments and layout."""
    from cimkit._atomic import write_text_atomic

    lines = recipe.text.splitlines(keepends=True)
    for keys, digest in changed:
        at = _line_of(recipe.text, (*keys, "sha256"))
        if at is not None and _line_of(recipe.text, keys) != at:
            lines[at - 1] = re.sub(r'=\s*(["\']).*?\1', f'= "{digest}"', lines[at - 1], count=1)
        else:
            head = _line_of(recipe.text, keys)
            if head is None or not lines[head - 1].lstrip().startswith("["):
                raise recipe.error(
                    InputError,
                    "cannot place the new sha256",
                    keys,
                    "RCP003",
                    "write the source as its own [table] to let --update-hashes fill it.",
                )
            lines[head - 1] += f'sha256 = "{digest}"\n'
        warnings.warn(
            CimkitWarning(f"{recipe.path.name}: {'.'.join(keys)} sha256 set to {digest}", code="RCP101"),
            stacklevel=3,
        )
    write_text_atomic(recipe.path, "".join(lines))


class _Step:
    """Time a step into ``result.timings`` and log it."""

    def __init__(self, result: Any, name: str) -> None:
        self.result, self.name = result, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()
        logger.info("%s ...", self.name)

    def __exit__(self, *exc: Any) -> None:
        self.result.timings[self.name] = time.perf_counter() - self.started
        if exc[0] is None:
            logger.info("%s done in %.2f s", self.name, self.result.timings[self.name])


def _call(recipe: _Recipe, keys: tuple[str, ...], func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a reader or an analysis; its typed errors name the recipe key, others become RCP007."""
    try:
        return func(*args, **kwargs)
    except CimkitError as err:
        raise recipe.name_key(err, keys) from err.__cause__
    except Exception as err:
        raise recipe.error(
            FileFormatError,
            f"{func.__name__} failed: {type(err).__name__}: {err}",
            keys,
            "RCP007",
            "check the source opens in its own tool and the options are right.",
        ) from err


def _read(recipe: _Recipe, plan: _Plan, source: _Source) -> Any:
    options = {k: v for k, v in source.options.items() if k not in _IFC_OWN}
    options.setdefault("crs", plan.crs)
    func = _function(READERS[source.reader])
    if source.reader == "ifc":
        return _read_ifc(recipe, source, options)
    return _call(recipe, source.keys, func, source.files[0], **options)


def _add_source(recipe: _Recipe, plan: _Plan, model: Any, layer: str, source: Any) -> None:
    if isinstance(source, _Source):
        read = _read(recipe, plan, source)
        tables = read[1] if source.reader == "ifc" else {}
        frame = read[0] if source.reader == "ifc" else read
        _call(recipe, source.keys, model.add_layer, layer, frame, licence=source.licence or plan.licence)
        for name, table in tables.items():
            _call(recipe, source.keys, model.add_layer, name, table, licence=source.licence or plan.licence)
        return
    from cimkit.analysis.merge import merge_buildings

    parts, tables, licence = {}, {}, plan.licence
    for part in _PARTS:
        if part in source:
            read = _read(recipe, plan, source[part])
            parts[part] = read[0] if part == "ifc" else read
            tables.update(read[1] if part == "ifc" else {})
            licence = source[part].licence or licence
    merged = _call(recipe, ("sources", layer), merge_buildings, **parts, min_iou=float(source["min_iou"]))
    _call(recipe, ("sources", layer), model.add_layer, layer, merged, licence=licence)
    for name, table in tables.items():
        _call(recipe, ("sources", layer), model.add_layer, name, table, licence=licence)


def _read_ifc(recipe: _Recipe, source: _Source, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Read every IFC file of a source; one provenance record for the buildings and each table."""
    from concurrent.futures import ThreadPoolExecutor

    import geopandas as gpd
    import pandas as pd

    from cimkit import provenance as prov
    from cimkit.io.ifc import read_ifc_model
    from cimkit.io.ifc._sandbox import shared_workers
    from cimkit.options import get_options

    options.setdefault("processes", 1)
    workers = max(1, int(get_options()["ifc_processes"]))
    # one pool of sandboxed workers for all the files (one task per file)
    # twice as many threads as workers: while one thread assembles its file's tables here (about
    # a third of the work per file, under the GIL), the workers already parse the next files
    with shared_workers(workers), ThreadPoolExecutor(max_workers=2 * workers) as pool:
        results = list(
            pool.map(lambda p: _call(recipe, source.keys, read_ifc_model, p, **options), source.files)
        )
    record = prov.merge_records(prov.get(r.buildings) for r in results)
    record = record or prov.Provenance(reader="cimkit.read_ifc_model")
    buildings = gpd.GeoDataFrame(pd.concat([r.buildings for r in results]), crs=results[0].buildings.crs)
    tables = {
        "elements": pd.concat([r.elements for r in results]),
        "materials": pd.concat([r.materials for r in results], ignore_index=True),
        "spaces": pd.concat([r.spaces for r in results], ignore_index=True),
    }
    if "register" in source.options:
        buildings = _join_register(recipe, source, buildings)
    for frame in (buildings, *tables.values()):
        prov.attach(frame, record)
    return buildings, tables


def _join_register(recipe: _Recipe, source: _Source, buildings: Any) -> Any:
    """Join a per-file register (a CSV with a ``file`` column) to the IFC buildings on file name."""
    import pandas as pd

    keys = (*source.keys, "register")
    try:
        register = pd.read_csv(source.options["register"]).set_index("file")
    except (OSError, ValueError, KeyError) as err:
        raise recipe.error(
            FileFormatError,
            f"the register is not a CSV with a 'file' column ({err})",
            keys,
            "RCP003",
            "give a CSV whose 'file' column holds the IFC file names.",
        ) from err
    columns = source.options.get("register_columns", [c for c in register.columns])
    unknown = [c for c in columns if c not in register.columns]
    if unknown:
        raise recipe.error(
            InputError,
            f"columns {unknown} are not in the register",
            (*source.keys, "register_columns"),
            "RCP003",
            f"use columns of {', '.join(register.columns)}.",
        )
    files = buildings["source"].map(lambda s: Path(str(s)).name)
    out = buildings.copy()
    for column in columns:
        values = files.map(register[column])
        out[column] = values.astype("Int64") if pd.api.types.is_integer_dtype(register[column]) else values
    out.attrs = buildings.attrs
    return out


def _add_network(recipe: _Recipe, plan: _Plan, model: Any, kind: str, source: _Source) -> None:
    from cimkit.network.read import read_network

    options = {"crs": plan.crs, **source.options}
    network = _call(recipe, source.keys, read_network, source.files[0], kind=kind, **options)
    _call(recipe, source.keys, model.add_network, network, licence=source.licence or plan.licence)


def _add_dem(recipe: _Recipe, plan: _Plan, model: Any, source: _Source) -> None:
    from cimkit.io.raster import read_dem

    dem = _call(recipe, source.keys, read_dem, source.files[0], **source.options)
    _call(recipe, source.keys, model.set_dem, dem, licence=source.licence or plan.licence)


def _run_analysis(
    recipe: _Recipe, model: Any, name: str, options: dict[str, Any], done: dict[str, Any]
) -> Any:
    """Run one analysis and join its building columns, as ``cimkit demo`` does."""
    keys, func = ("analyses", name), _function(_ANALYSES[name])
    args: list[Any] = []
    closed_period: float | None = None  # the flood whose closed streets the accessibility run used
    if name == "flood":
        scenarios = options.pop("scenarios")
        if isinstance(scenarios, Path):
            scenarios = _read_levels(recipe, keys, scenarios)
        else:
            scenarios = {float(k): float(v) for k, v in scenarios.items()}
        args = [scenarios]
        if "inflow" in options:
            layer = options.pop("inflow")
            if layer not in model:
                raise recipe.error(
                    InputError,
                    f"layer {layer!r} is not in the model",
                    (*keys, "inflow"),
                    "RCP003",
                    f"name one of the layers: {', '.join(model.layers)}.",
                )
            options["inflow"] = model[layer]
    if name == "accessibility" and "flood_return_period" in options:
        period = float(options.pop("flood_return_period"))
        networks = done["flood"].networks
        if period not in networks:
            raise recipe.error(
                InputError,
                f"no flood scenario of {period:g} years",
                (*keys, "flood_return_period"),
                "RCP003",
                f"use one of {', '.join(f'{p:g}' for p in networks)}.",
            )
        options["closed_network"] = networks[period]
        closed_period = period
    result = _call(recipe, keys, func, model, *args, **options)
    _join(model, name, result, closed_period)
    return result


def _read_levels(recipe: _Recipe, keys: tuple[str, ...], path: Path) -> dict[float, float]:
    import pandas as pd

    try:
        table = pd.read_csv(path)
        return {float(r.return_period): float(r.water_level_m) for r in table.itertuples()}
    except (OSError, ValueError, AttributeError) as err:
        raise recipe.error(
            FileFormatError,
            f"{path.name} is not a table of return_period, water_level_m ({err})",
            (*keys, "scenarios"),
            "RCP003",
            "give a CSV with columns return_period,water_level_m.",
        ) from err


def _join(model: Any, name: str, result: Any, period: float | None = None) -> None:
    if name == "zoning":
        links = [
            c
            for c in (
                "parcel_id",
                "parcel_share",
                "zone_id",
                "access_node",
                "access_distance_m",
                "water_pipe_id",
            )
            if c in result.buildings
        ]
        checks = result.buildings.drop(columns=links).add_prefix("plu_")
        model.join("buildings", result.buildings[links].join(checks), step="cimkit.analysis.zoning.assess")
    elif name == "flood":
        model.join(
            "buildings",
            result.buildings.drop(columns="footprint_m2", errors="ignore"),
            step="cimkit.analysis.flood.assess",
        )
    elif name == "carbon":
        model.join(
            "buildings",
            result.buildings.drop(columns="zone_id", errors="ignore"),
            step="cimkit.analysis.carbon.assess",
        )
    else:
        walk = result.buildings.drop(columns=["zone_id", "home"], errors="ignore").add_prefix("walk_")
        walk["score_15min"] = result.buildings["score"]
        if result.flooded is not None:
            # named like the flood columns (depth_m_rp100): the report and the public page read it
            walk[f"score_15min_rp{period:g}" if period is not None else "score_15min_flooded"] = (
                result.flooded["score"]
            )
        model.join("buildings", walk, step="cimkit.analysis.accessibility.assess")


def _record_recipe(recipe: _Recipe, model: Any) -> None:
    """Add a ``build_city`` step naming the recipe and its sha256 to every layer, network and the DEM."""
    names = [
        *model.layers,
        *(f"network_{k}" for k in model.networks),
        *(["dem"] if model.dem is not None else []),
    ]
    for name in names:
        model.provenance_record(name).add_step(
            "build_city",
            f"built from the recipe {recipe.path.name}",
            recipe=recipe.path.name,
            recipe_sha256=recipe.sha256,
        )


def _write_outputs(recipe: _Recipe, plan: _Plan, result: Any, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    targets = {k: recipe.resolve(v, ("outputs", k), root)[0] for k, v in plan.outputs.items()}
    model = result.model
    if "model" in targets:
        with _Step(result, "write model"):
            targets["model"].parent.mkdir(parents=True, exist_ok=True)
            result.outputs["model"] = _call(recipe, ("outputs", "model"), model.to_file, targets["model"])
    if "report" in targets:
        with _Step(result, "write report"):
            result.outputs.update(_write_report(recipe, result, targets["report"]))
    if "cityjson" in targets:
        from cimkit.io.export import write_cityjson

        with _Step(result, "write cityjson"):
            targets["cityjson"].parent.mkdir(parents=True, exist_ok=True)
            result.outputs["cityjson"] = _call(
                recipe, ("outputs", "cityjson"), write_cityjson, model.buildings, targets["cityjson"]
            )


def _write_report(recipe: _Recipe, result: Any, folder: Path) -> dict[str, Path]:
    """Write the public report (``report.html``, ``summary.md`` and the maps) of the model and its analyses."""
    import matplotlib

    matplotlib.use("Agg")
    from cimkit.governance import compute_governance
    from cimkit.viz import build_city_report, public_model

    folder.mkdir(parents=True, exist_ok=True)
    model = result.model
    public = public_model(model, drop_layers=[n for n in ("elements", "materials", "spaces") if n in model])
    results = result.results
    report = _call(
        recipe,
        ("outputs", "report"),
        build_city_report,
        public,
        zoning=results.get("zoning"),
        flood=results.get("flood"),
        carbon=results.get("carbon"),
        access=results.get("accessibility"),
        governance=compute_governance(model),
        intro=f"Built by cimkit from the recipe {recipe.path.name} (sha256 {recipe.sha256[:12]}).",
        folder=folder,
    )
    html_path, md_path = report.write(folder, stem="summary")
    return {"report": html_path.replace(folder / "report.html"), "summary": md_path}
