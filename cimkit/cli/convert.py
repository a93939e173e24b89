"""``cimkit convert``: batch conversion that survives bad files, reports precisely and resumes.

Each input file is converted on its own (IFC files in a sandboxed child process, see
:func:`cimkit.read_ifc`); a failure is recorded and the batch goes on. A journal
(``convert-journal.jsonl`` in the output folder, one JSON object per file) makes the batch
resumable: a file already converted with the same sha256, format and CRS, whose output is still
the one recorded (same sha256), is skipped. Files can be spread over local processes
(``--jobs``) or a Dask cluster (``--scheduler``).

Every output is written atomically and verified before it replaces anything (the layers and their
row counts read back, see :mod:`cimkit._atomic`); its sha256 is recorded in the journal and the
report (``output_sha256``), which ``cimkit verify OUTPUT_FOLDER`` checks later. A batch killed
at any point leaves only complete outputs; running it again resumes it and gives the outputs
an uninterrupted run gives.
"""

from __future__ import annotations

import json
import logging
import os
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimkit._atomic import write_text_atomic
from cimkit._progress import track
from cimkit.cli._convert_formats import INPUT_SUFFIXES, read_input, write_output
from cimkit.errors import CimkitIOError, PlacementError, ValidationError
from cimkit.provenance import compute_sha256

__all__ = ["ConvertReport", "convert_file", "discover_inputs", "run_convert"]

logger = logging.getLogger(__name__)

JOURNAL = "convert-journal.jsonl"


@dataclass
class ConvertReport:
    """Outcome of a batch: counts and one record per input file.

    Attributes
    ----------
    records
        One dict per input file, in the order they finished: ``input``, ``output``,
        ``format``, ``crs``, ``sha256``, ``output_sha256``, ``status`` (``"ok"``, ``"skipped"`` or ``"failed"``),
        ``seconds``, and ``layers`` (rows per layer) or ``error_type`` / ``error`` (a file whose
        layer fails a placement check also has ``check``, the check's name, and ``hint``, its
        likely cause).
    """

    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def converted(self) -> int:
        """Number of files converted by this run."""
        return sum(r["status"] == "ok" for r in self.records)

    @property
    def skipped(self) -> int:
        """Number of files already converted by an earlier run (same content, format and CRS)."""
        return sum(r["status"] == "skipped" for r in self.records)

    @property
    def failed(self) -> int:
        """Number of files that could not be converted."""
        return sum(r["status"] == "failed" for r in self.records)

    def summary(self) -> str:
        """Format the counts, and one line per failed file with its error.

        Returns
        -------
        str
            Lines of text for the terminal.
        """
        lines = [
            f"{len(self.records)} file(s): {self.converted} converted, {self.skipped} already done, "
            f"{self.failed} failed"
        ]
        for rec in self.records:
            if rec["status"] == "failed":
                lines.append(
                    f"  FAILED {rec['input']}: {rec.get('code', '')} {rec['error_type']}: {rec['error']}"
                )
        return "\n".join(lines)


def discover_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, Path]]:
    """Find every convertible file under ``inputs`` (folders are searched recursively).

    Parameters
    ----------
    inputs
        Files and folders.

    Returns
    -------
    list of (pathlib.Path, pathlib.Path)
        ``(file, root)`` pairs, where ``root`` is the folder the file was found under (its own
        folder for a file given by name); the output keeps the file's path below ``root``.

    Raises
    ------
    cimkit.errors.CimkitIOError
        When an input does not exist.
    """
    found: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                if sub.is_file() and sub.suffix.lower() in INPUT_SUFFIXES:
                    found.append((sub, path))
        elif path.is_file():
            found.append((path, path.parent))
        else:
            raise CimkitIOError("no such file or folder", path=path, hint="check the path.")
    return found


def _output_path(src: Path, root: Path, out_dir: Path, output_format: str) -> Path:
    rel = src.relative_to(root) if src.is_relative_to(root) else Path(src.name)
    return out_dir / rel.parent / f"{rel.name}.{output_format}"


def convert_file(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    output_format: str = "gpkg",
    crs: str | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Convert one file; never raises for a bad input file.

    Parameters
    ----------
    src
        An IFC file (read in a sandboxed child process) or a vector file pyogrio can read.
    dest
        The file to write (atomically).
    output_format
        ``"gpkg"`` (every layer), ``"parquet"`` (the first spatial layer) or ``"geojson"``
        (the first layer).
    crs
        The target CRS (e.g. ``"EPSG:2154"``); by default the file's own.
    timeout_s
        Time limit of an IFC file's child process, in seconds.

    Returns
    -------
    dict
        The file's record (see :class:`ConvertReport`), with ``status`` ``"ok"`` or
        ``"failed"``.
    """
    src, dest = Path(src), Path(dest)
    started = time.perf_counter()
    record: dict[str, Any] = {"input": str(src), "output": str(dest), "format": output_format, "crs": crs}
    try:
        record["sha256"] = compute_sha256(src)
        layers = read_input(src, crs=crs, timeout_s=timeout_s)
        written = write_output(layers, dest, output_format)
        record.update(status="ok", layers=written, output_sha256=compute_sha256(dest))
    except Exception as err:  # a batch never stops on one file
        record.update(
            status="failed",
            error_type=type(err).__name__,
            code=getattr(err, "code", "UNTYPED"),
            error=str(err).splitlines()[0][:500],
            traceback=traceback.format_exc(limit=3),
        )
        if isinstance(err, PlacementError):  # the reason, whole: the message may be cut above
            record.update(check=err.check, hint=err.hint)
    record["seconds"] = round(time.perf_counter() - started, 3)
    return record


def _read_journal(path: Path) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by an interruption
            continue
        done[rec["input"]] = rec
    return done


def _run_local(
    tasks: Sequence[tuple[Path, Path]],
    *,
    output_format: str,
    crs: str | None,
    jobs: int,
    timeout_s: float | None,
) -> Iterator[dict[str, Any]]:
    if jobs <= 1:
        for src, dest in tasks:
            yield convert_file(src, dest, output_format=output_format, crs=crs, timeout_s=timeout_s)
        return
    pending = list(tasks)
    while pending:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {
                pool.submit(convert_file, s, d, output_format=output_format, crs=crs, timeout_s=timeout_s): (
                    s,
                    d,
                )
                for s, d in pending
            }
            pending = []
            for fut in as_completed(futures):
                src, dest = futures[fut]
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    # a worker died hard (the IFC sandbox normally prevents it): record and go on
                    yield {
                        "input": str(src),
                        "output": str(dest),
                        "status": "failed",
                        "error_type": "ReaderCrashError",
                        "code": "GEN005",
                        "error": "the worker process died on this file",
                    }


def _run_dask(
    tasks: Sequence[tuple[Path, Path]],
    *,
    scheduler: str,
    output_format: str,
    crs: str | None,
    timeout_s: float | None,
) -> Iterator[dict[str, Any]]:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError as err:
        raise ValidationError("--scheduler needs the dask extra: pip install 'cimkit[dask]'") from err
    with Client(scheduler) as client:
        futures = [
            client.submit(
                convert_file, s, d, output_format=output_format, crs=crs, timeout_s=timeout_s, pure=False
            )
            for s, d in tasks
        ]
        for fut in dask_completed(futures):
            yield fut.result()


def run_convert(
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    output_format: str = "gpkg",
    crs: str | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    resume: bool = True,
    timeout_s: float | None = None,
) -> ConvertReport:
    """Convert every file under ``inputs`` into ``output``; see the module docstring.

    A progress bar follows the files when the ``progress`` option is on. The summary is printed
    and written to ``convert-report.json`` in ``output``.

    Parameters
    ----------
    inputs
        Files and folders (searched recursively).
    output
        The output folder; each file is written below it at its path relative to its input
        folder, with ``.<output_format>`` appended to its name.
    output_format
        ``"gpkg"``, ``"parquet"`` or ``"geojson"``.
    crs
        The target CRS (e.g. ``"EPSG:2154"``); by default each file's own.
    jobs
        Parallel worker processes.
    scheduler
        The address of a Dask scheduler to spread the files over a cluster (needs the
        ``dask`` extra); ``jobs`` is then ignored.
    resume
        Skip the files whose earlier conversion (in the journal) has the same sha256, format
        and CRS and whose output still exists.
    timeout_s
        Time limit of an IFC file's child process, in seconds.

    Returns
    -------
    ConvertReport
        One record per file.

    Raises
    ------
    cimkit.errors.ValidationError
        On an unknown ``output_format``.
    cimkit.errors.CimkitIOError
        When an input does not exist.
    """
    if output_format not in {"gpkg", "parquet", "geojson"}:
        raise ValidationError(
            f"'output_format' must be one of gpkg, parquet, geojson; {output_format!r} was given."
        )
    out_dir = Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    journal_path = out_dir / JOURNAL
    done = _read_journal(journal_path) if resume else {}
    report = ConvertReport()
    tasks = []
    for src, root in discover_inputs(inputs):
        prev = done.get(str(src))
        if _already_done(prev, src, output_format=output_format, crs=crs):
            report.records.append({**(prev or {}), "status": "skipped"})
            continue
        tasks.append((src, _output_path(src, root, out_dir, output_format)))
    logger.info("%d file(s) to convert, %d already done", len(tasks), len(report.records))
    runner = (
        _run_dask(tasks, scheduler=scheduler, output_format=output_format, crs=crs, timeout_s=timeout_s)
        if scheduler
        else _run_local(tasks, output_format=output_format, crs=crs, jobs=jobs, timeout_s=timeout_s)
    )
    _end_cut_line(journal_path)
    with open(journal_path, "a", encoding="utf-8") as journal:
        for rec in track(runner, description="converting", total=len(tasks), unit="file"):
            if rec["status"] == "ok":
                rec.pop("traceback", None)
            journal.write(json.dumps(rec, ensure_ascii=False) + "\n")
            journal.flush()
            os.fsync(journal.fileno())
            report.records.append(rec)
            _log_record(rec)
    _write_summary(report, out_dir / "convert-report.json")
    print(report.summary())
    return report


def _end_cut_line(path: Path) -> None:
    """End with a newline a journal whose last line was cut short, so the next record starts clean."""
    if path.is_file() and path.stat().st_size:
        with open(path, "rb+") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")


def _already_done(prev: dict[str, Any] | None, src: Path, *, output_format: str, crs: str | None) -> bool:
    return bool(
        prev
        and prev.get("status") == "ok"
        and prev.get("format") == output_format
        and prev.get("crs") == crs
        and Path(prev["output"]).is_file()
        and prev.get("sha256") == compute_sha256(src)
        and prev.get("output_sha256") in (None, compute_sha256(Path(prev["output"])))
    )


def _log_record(rec: dict[str, Any]) -> None:
    if rec["status"] == "ok":
        logger.info("converted %s (%.2f s)", rec["input"], rec.get("seconds", 0))
    else:
        logger.warning("could not convert %s: %s: %s", rec["input"], rec.get("error_type"), rec.get("error"))


def _write_summary(report: ConvertReport, path: Path) -> None:
    summary = {
        "converted": report.converted,
        "skipped": report.skipped,
        "failed": report.failed,
        "files": report.records,
    }
    write_text_atomic(path, json.dumps(summary, indent=2, ensure_ascii=False))
