"""One task of a ``cimkit convert`` batch: read one input once, write it in each format asked.

Runs in the batch's process, a worker process or a Dask worker, and never raises for a bad
file: every outcome is a record (see :class:`cimkit.cli.convert.ConvertReport`). Warnings raised
while reading and writing are caught here and returned in the records, so that the command line
prints them as one line each (``warning[CODE] file: message``).
"""

from __future__ import annotations

import inspect
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from cimkit.cli import _convert_formats as formats
from cimkit.cli._convert_placement import Placement, cli_wording
from cimkit.errors import PlacementError
from cimkit.provenance import compute_sha256

__all__ = ["Task", "convert_task", "crashed_task", "failure_fields"]

#: (input path, [(format, destination)], placement as a dict, IFC time limit in seconds)
Task = tuple[str, list[tuple[str, str]], dict[str, Any], float | None]


def _read(src: Path, placement: Placement, *, timeout_s: float | None, meshes: bool) -> Any:
    """Call the reader with what its signature takes; place CRS-less tables in ``source_crs``."""
    takes = inspect.signature(formats.read_input).parameters
    kwargs: dict[str, Any] = {"crs": placement.crs, "timeout_s": timeout_s}
    if "origin" in takes:
        kwargs["origin"] = placement.origin
    if "meshes" in takes:
        kwargs["meshes"] = meshes
    if "source_crs" in takes:
        kwargs["source_crs"] = placement.source_crs
    layers = formats.read_input(src, **kwargs)
    if placement.source_crs and "source_crs" not in takes:
        layers = _with_source_crs(layers, src, placement)
    return layers


def _with_source_crs(layers: Any, src: Path, placement: Placement) -> Any:
    import geopandas as gpd

    from cimkit._placement import check_object_placement

    for name, frame in list(layers.items()):
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None:
            frame = frame.set_crs(placement.source_crs)
            check_object_placement(frame, path=src, layer=name)
            if placement.crs:
                frame = frame.to_crs(placement.crs)
                check_object_placement(frame, path=src, layer=name)
            layers[name] = frame
    return layers


def _written_crs(layers: Any, written: dict[str, Any]) -> str | None:
    if written.get("crs"):
        return str(written["crs"])
    for frame in layers.values():
        crs = getattr(frame, "crs", None) if hasattr(frame, "geometry") else None
        if crs is not None:
            epsg = crs.to_epsg()
            return f"EPSG:{epsg}" if epsg else crs.to_string()
    return None


def failure_fields(err: BaseException) -> dict[str, Any]:
    """Return the record fields of a failure, worded for the command line (``--origin``, not ``origin=``)."""
    fields: dict[str, Any] = {
        "status": "failed",
        "error_type": type(err).__name__,
        "code": getattr(err, "code", None) or "UNTYPED",
        "error": cli_wording((str(err).splitlines() or [""])[0][:500]),
        "traceback": traceback.format_exc(limit=3),
    }
    hint = getattr(err, "hint", None)
    if hint:
        fields["hint"] = cli_wording(str(hint))
    if isinstance(err, PlacementError):  # the reason, whole: the message may be cut above
        fields["check"] = err.check
    if getattr(err, "nothing_to_write", False):
        fields.update(status="not_applicable")
        fields.pop("traceback")
    return fields


def _caught(caught: list[warnings.WarningMessage]) -> list[dict[str, Any]]:
    """Warnings as plain records, the same one counted once: ``code``, ``category``, ``message``, ``count``."""
    out: dict[tuple[Any, str], dict[str, Any]] = {}
    for item in caught:
        message = cli_wording(str(item.message).strip().splitlines()[0] if str(item.message).strip() else "")
        code = getattr(item.message, "code", None)
        key = (code, message)
        if key in out:
            out[key]["count"] += 1
        else:
            out[key] = {"code": code, "category": item.category.__name__, "message": message, "count": 1}
    return list(out.values())


def convert_task(
    task: Task,
) -> list[dict[str, Any]]:
    """Convert one input to each (format, dest) of the task; one record per format, never raises."""
    src_text, targets, placed, timeout_s = task
    src = Path(src_text)
    placement = Placement(
        placed.get("crs"), placed.get("source_crs"), tuple(placed["origin"]) if placed.get("origin") else None
    )
    started = time.perf_counter()
    base: dict[str, Any] = {"input": src_text, "placement": placement.to_dict()}
    records = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            base["sha256"] = compute_sha256(src)
            meshes = bool({f for f, _ in targets} & set(getattr(formats, "MESH_FORMATS", ())))
            layers = _read(src, placement, timeout_s=timeout_s, meshes=meshes)
        except Exception as err:  # a batch never stops on one file
            read_failed: dict[str, Any] | None = failure_fields(err)
        else:
            read_failed = None
        read_seconds = time.perf_counter() - started
        read_warnings = _caught(caught)
        for index, (fmt, dest) in enumerate(targets):
            caught.clear()
            begun = time.perf_counter()
            rec = {**base, "format": fmt, "output": dest}
            if read_failed is not None:
                rec.update(read_failed)
            else:
                try:
                    rec.update(_write(layers, Path(dest), fmt))
                except Exception as err:
                    rec.update(failure_fields(err))
            rec["warnings"] = (read_warnings if index == 0 else []) + _caught(caught)
            rec["seconds"] = round((read_seconds if index == 0 else 0.0) + time.perf_counter() - begun, 3)
            records.append(rec)
    return records


def _write(layers: Any, dest: Path, fmt: str) -> dict[str, Any]:
    written = formats.write_output(layers, dest, fmt)
    if not (isinstance(written, dict) and "files" in written):  # the older contract: rows per table
        written = {"files": [str(dest)], "layers": written}
    files = [str(f) for f in written["files"]]
    extra = {"left_out": written["left_out"]} if written.get("left_out") else {}
    return {
        **extra,
        "status": "ok",
        "crs": _written_crs(layers, written),
        "layers": dict(written["layers"]),
        "outputs": files,
        "output_sha256": {f: compute_sha256(f) for f in files},
    }


def crashed_task(task: Task) -> list[dict[str, Any]]:
    src, targets, placed, _ = task
    return [
        {
            "input": src,
            "format": fmt,
            "output": dest,
            "placement": placed,
            "status": "failed",
            "error_type": "ReaderCrashError",
            "code": "GEN005",
            "error": "the worker process died on this file (twice)",
            "hint": "the file is probably malformed; convert it alone with -v to see more.",
        }
        for fmt, dest in targets
    ]
