"""``cimkit convert``: batch conversion that survives bad files, reports precisely and resumes.

Each input file is read once and written in every format asked (``--format gpkg,parquet``);
a failure is recorded and the batch goes on. A journal (``convert-journal.jsonl`` in the output
folder, one JSON object per (input, format) pair) makes the batch resumable: a pair already
converted from the same input (sha256) with the same placement, whose outputs are still the ones
recorded (sha256), is skipped. Files are converted in this process (``--jobs 1``), in worker
processes (``--jobs N``) or on a Dask cluster (``--scheduler``); see
:mod:`cimkit.cli._convert_run`.

Every output is written atomically and verified before it replaces anything; the sha256 of each
file written is recorded (``output_sha256``: ``{path: sha256}``), and ``cimkit verify
OUTPUT_FOLDER`` checks them later. SIGINT / SIGTERM stop the whole process tree, keep the journal
of what finished and exit with 130 / 143; running the same command again resumes the batch and
gives the outputs an uninterrupted run gives (they are byte-deterministic).

Placement per file (``--crs``, ``--origin``, a ``<input>.cimkit.toml`` sidecar or a
``--placement`` table) is in :mod:`cimkit.cli._convert_placement`; the terminal display in
:mod:`cimkit.cli._convert_display`. The guide is ``docs/convert.md``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimkit._atomic import write_text_atomic
from cimkit.cli import _convert_formats as formats
from cimkit.cli._convert_display import Display
from cimkit.cli._convert_placement import (
    SIDECAR_SUFFIXES,
    Placement,
    check_table_rows,
    read_placement_table,
    resolve_placement,
)
from cimkit.cli._convert_run import Interrupted, StopSignals, make_runner, remove_temporaries
from cimkit.cli._convert_task import convert_task, crashed_task, failure_fields
from cimkit.errors import CimkitError, CimkitIOError, ValidationError
from cimkit.provenance import compute_sha256

__all__ = ["ConvertReport", "convert_file", "discover_inputs", "run_convert"]

logger = logging.getLogger(__name__)

JOURNAL = "convert-journal.jsonl"
REPORT = "convert-report.json"
#: The exit codes of ``cimkit convert`` (documented in docs/convert.md).
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
_DONE = ("ok", "not_applicable")


@dataclass
class ConvertReport:
    """Outcome of a batch: counts and one record per (input file, output format).

    Attributes
    ----------
    records
        One dict per (input, format), in the order they finished: ``input``, ``format``,
        ``output`` (the file or folder written), ``outputs`` (the files written),
        ``output_sha256`` (``{file: sha256}``), ``crs`` (the CRS written), ``placement`` (what
        was asked: ``crs``, ``source_crs``, ``origin``), ``sha256`` (of the input), ``status``
        (``"ok"``, ``"skipped"``, ``"not_applicable"`` or ``"failed"``), ``seconds``,
        ``warnings`` (``code``, ``category``, ``message``, ``count``), and ``layers`` (rows per
        table; ``left_out``: the tables the format cannot hold, with why) or ``code`` /
        ``error_type`` / ``error`` / ``hint``.
    interrupted
        The signal that stopped the batch (``signal.SIGINT`` ...), or None.
    seconds
        Wall-clock time of the run.
    left
        Pairs not converted because the batch was interrupted.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    interrupted: int | None = None
    seconds: float = 0.0
    left: int = 0

    def _count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.records)

    @property
    def converted(self) -> int:
        """Number of (file, format) pairs converted by this run."""
        return self._count("ok")

    @property
    def skipped(self) -> int:
        """Number of pairs already converted by an earlier run (same content and placement)."""
        return self._count("skipped")

    @property
    def failed(self) -> int:
        """Number of pairs that could not be converted."""
        return self._count("failed")

    @property
    def exit_code(self) -> int:
        """0 all done, 1 some failed, 130 / 143 interrupted by SIGINT / SIGTERM."""
        if self.interrupted is not None:
            return 128 + int(self.interrupted)
        return EXIT_SOME_FAILED if self.failed else EXIT_OK

    def summary(self) -> str:
        """Format the counts, and one line per failed pair with its code, error and fix.

        Returns
        -------
        str
            Lines of text for the terminal.
        """
        na = self._count("not_applicable")
        lines = [
            f"{len(self.records)} file(s): {self.converted} converted, {self.skipped} already done, "
            f"{self.failed} failed"
            + (f", {na} with nothing to write in their format" if na else "")
            + f" ({self.seconds:.1f} s)"
        ]
        for rec in self.records:
            if rec["status"] == "failed":
                lines.append(
                    f"  FAILED {rec['input']} [{rec.get('format', '')}]: error[{rec.get('code', '')}] "
                    f"{rec.get('error_type', '')}: {rec.get('error', '')}"
                )
        return "\n".join(lines)


def discover_inputs(inputs: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, Path]]:
    """Find every convertible file under ``inputs`` (folders are searched recursively).

    Placement sidecars (``*.cimkit.toml``, ``*.cimkit.json``) are not inputs.

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
                if sub.is_file() and _is_input(sub):
                    found.append((sub, path))
        elif path.is_file():
            found.append((path, path.parent))
        else:
            raise CimkitIOError("no such file or folder", path=path, hint="check the path.")
    return found


def _is_input(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(SIDECAR_SUFFIXES) or name in (JOURNAL, REPORT):
        return False
    if name.endswith((".shp.xml", ".aux.xml")):  # ESRI / GDAL metadata beside a layer, not a layer
        return False
    suffixes = formats.INPUT_SUFFIXES
    return path.suffix.lower() in suffixes or "".join(path.suffixes[-2:]).lower() in suffixes


def _output_name(name: str, output_format: str) -> str:
    namer = getattr(formats, "output_name", None)
    return namer(name, output_format) if namer else f"{name}.{output_format}"


def _output_path(src: Path, root: Path, out_dir: Path, output_format: str) -> Path:
    rel = src.relative_to(root) if src.is_relative_to(root) else Path(src.name)
    return out_dir / rel.parent / _output_name(rel.name, output_format)


def convert_file(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    output_format: str = "gpkg",
    crs: str | None = None,
    origin: Sequence[float] | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Convert one file to one format; never raises for a bad input file.

    Parameters
    ----------
    src
        An input file of a format ``cimkit convert`` reads (see ``docs/formats.md``).
    dest
        The file or folder to write (atomically).
    output_format
        One of the output formats (``"gpkg"``, ``"parquet"``, ...).
    crs
        The target CRS (e.g. ``"EPSG:2154"``); by default the file's own.
    origin
        ``(x, y[, z, rotation_deg])`` placing a file in local coordinates, in ``crs``.
    timeout_s
        Time limit of an IFC file's child process, in seconds.

    Returns
    -------
    dict
        The pair's record (see :class:`ConvertReport`), with ``status`` ``"ok"``,
        ``"not_applicable"`` or ``"failed"``.

    Examples
    --------
    >>> import tempfile
    >>> from cimkit.datasets import sample_city_path
    >>> out = Path(tempfile.mkdtemp()) / "zones.gpkg"
    >>> rec = convert_file(sample_city_path() / "zone_urba.geojson", out, crs="EPSG:2154")
    >>> rec["status"], rec["crs"], rec["outputs"] == [str(out)]
    ('ok', 'EPSG:2154', True)
    """
    placement = Placement(crs, None, tuple(origin) if origin is not None else None)
    task = (str(src), [(output_format, str(dest))], placement.to_dict(), timeout_s)
    return convert_task(task)[0]


def _formats_of(output_format: str | Sequence[str]) -> list[str]:
    asked = output_format.split(",") if isinstance(output_format, str) else list(output_format)
    known = tuple(getattr(formats, "OUTPUT_FORMATS", ("gpkg", "parquet", "geojson")))
    out: list[str] = []
    for fmt in (f.strip().lower() for f in asked):
        if fmt not in known:
            raise ValidationError(
                f"--format must be one of {', '.join(known)}; {fmt!r} was given.",
                hint=f"give --format as one or several of {','.join(known)}, separated by commas.",
            )
        if fmt not in out:
            out.append(fmt)
    if not out:
        raise ValidationError("no output format given", hint="give --format gpkg (or several: gpkg,parquet).")
    return out


def _read_journal(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    done: dict[tuple[str, str], dict[str, Any]] = {}
    if not path.is_file():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
            done[(rec["input"], rec.get("format", "gpkg"))] = rec
        except (json.JSONDecodeError, KeyError, TypeError):  # a line cut short by an interruption
            continue
    return done


def _end_cut_line(path: Path) -> None:
    """End with a newline a journal whose last line was cut short, so the next record starts clean."""
    if path.is_file() and path.stat().st_size:
        with open(path, "rb+") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")


def _sha_or_none(path: Path) -> str | None:
    try:
        return compute_sha256(path)
    except OSError:  # unreadable now: the task records why
        return None


def _already_done(prev: dict[str, Any] | None, input_sha: str | None, placement: Placement) -> bool:
    if not prev or prev.get("status") not in _DONE or prev.get("placement") != placement.to_dict():
        return False
    if input_sha is None or prev.get("sha256") != input_sha:
        return False
    hashes = prev.get("output_sha256") or {}
    if prev["status"] == "ok" and not hashes:
        return False
    return all(Path(f).is_file() and compute_sha256(f) == sha for f, sha in hashes.items())


def _plan(
    found: list[tuple[Path, Path]],
    out_dir: Path,
    fmts: list[str],
    *,
    done: dict[tuple[str, str], dict[str, Any]],
    crs: str | None,
    origin: tuple[float, ...] | None,
    table: dict[str, dict[str, Any]] | None,
    table_folder: Path | None,
    timeout_s: float | None,
    report: ConvertReport,
) -> list[tuple[str, list[tuple[str, str]], dict[str, Any], float | None]]:
    """Return the tasks still to do; pairs done by an earlier run become ``skipped`` records."""
    tasks = []
    for src, root in found:
        try:
            placement = resolve_placement(src, crs=crs, origin=origin, table=table, table_folder=table_folder)
        except CimkitError as err:  # a bad sidecar fails its file alone
            report.records += [
                {
                    "input": str(src),
                    "format": f,
                    "output": None,
                    "placement": None,
                    "seconds": 0.0,
                    **failure_fields(err),
                }
                for f in fmts
            ]
            continue
        input_sha = _sha_or_none(src) if any((str(src), f) in done for f in fmts) else None
        targets = []
        for fmt in fmts:
            prev = done.get((str(src), fmt))
            if _already_done(prev, input_sha, placement):
                report.records.append({**(prev or {}), "status": "skipped", "warnings": []})
            else:
                targets.append((fmt, str(_output_path(src, root, out_dir, fmt))))
        if targets:
            tasks.append((str(src), targets, placement.to_dict(), timeout_s))
    return tasks


def run_convert(
    inputs: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    output_format: str | Sequence[str] = "gpkg",
    crs: str | None = None,
    origin: Sequence[float] | None = None,
    placement_table: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    resume: bool = True,
    timeout_s: float | None = None,
    verbosity: int = 0,
    console: Any = None,
    command: Sequence[str] | None = None,
) -> ConvertReport:
    """Convert every file under ``inputs`` into ``output``; see the module docstring.

    Parameters
    ----------
    inputs
        Files and folders (searched recursively).
    output
        The output folder; each file is written below it at its path relative to its input
        folder, named by ``output_name`` (``house.ifc`` -> ``house.ifc.gpkg``).
    output_format
        One format or several (``"gpkg,parquet"`` or a list): one journal entry per pair.
    crs
        The target CRS (e.g. ``"EPSG:2154"``); by default each file's own.
    origin
        ``(x, y[, z, rotation_deg])`` placing the files in local coordinates, in ``crs``.
    placement_table
        A CSV table ``input,crs,origin[,source_crs]`` of per-file placements.
    jobs
        Parallel worker processes.
    scheduler
        The address of a Dask scheduler (needs the ``dask`` extra); ``jobs`` is then ignored.
    resume
        Skip the pairs done by an earlier run (see the module docstring).
    timeout_s
        Time limit of an IFC file's child process, in seconds.
    verbosity
        ``-1`` only the summary and errors, ``0`` default, ``1`` per-file details.
    console
        A ``rich.console.Console`` to show progress on (default: standard error); a bar is
        shown when the ``progress`` option is on (the command line turns it on for a terminal),
        plain lines otherwise.
    command
        The command line recorded in the report (default: ``sys.argv``).

    Returns
    -------
    ConvertReport
        One record per pair; ``interrupted`` set when a signal stopped the batch.

    Raises
    ------
    cimkit.errors.ValidationError
        On an unknown format.
    cimkit.errors.CimkitIOError
        When an input does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from cimkit.datasets import sample_city_path
    >>> out = tempfile.mkdtemp()
    >>> report = run_convert([sample_city_path() / "zone_urba.geojson"], out, output_format="gpkg,parquet",
    ...                      verbosity=-1)  # doctest: +ELLIPSIS
    2 file(s): 2 converted, 0 already done, 0 failed (... s)
    >>> report.exit_code
    0
    """
    from cimkit import __version__
    from cimkit.options import get_options

    started = time.perf_counter()
    fmts = _formats_of(output_format)
    table = read_placement_table(Path(placement_table)) if placement_table else None
    out_dir = Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    journal_path = out_dir / JOURNAL
    report = ConvertReport()
    found = discover_inputs(inputs)
    if table is not None and placement_table:
        check_table_rows(table, [src for src, _ in found], Path(placement_table).parent)
    tasks = _plan(
        found,
        out_dir,
        fmts,
        done=_read_journal(journal_path) if resume else {},
        crs=crs,
        origin=tuple(origin) if origin is not None else None,
        table=table,
        table_folder=Path(placement_table).parent if placement_table else None,
        timeout_s=timeout_s,
        report=report,
    )
    total = sum(len(t[1]) for t in tasks)
    logger.info("%d file(s) to convert, %d already done", total, len(report.records))
    _end_cut_line(journal_path)
    unplaced = [rec for rec in report.records if rec["status"] == "failed"]  # a bad sidecar
    display = Display(
        total + len(unplaced), verbosity=verbosity, bar=bool(get_options()["progress"]), console=console
    )
    stop = StopSignals()
    runner = None
    finished = 0
    with stop:  # a second signal while the workers are stopped is ignored, not raised
        try:
            with display, open(journal_path, "a", encoding="utf-8") as journal:
                for rec in unplaced:
                    display.show(rec)
                runner = make_runner(convert_task, jobs=jobs, scheduler=scheduler, crashed=crashed_task)
                for records in runner.results(tasks):
                    with stop.critical():
                        for rec in records:
                            if rec["status"] != "failed":
                                rec.pop("traceback", None)
                            journal.write(json.dumps(rec, ensure_ascii=False) + "\n")
                            journal.flush()
                            report.records.append(rec)
                            display.show(rec)
                        os.fsync(journal.fileno())
                        finished += len(records)
        except Interrupted as stopped:
            report.interrupted = stopped.signum
            if runner is not None:
                runner.kill()
                remove_temporaries(out_dir, runner.pids())
        finally:
            if runner is not None:
                runner.close()
    report.seconds = round(time.perf_counter() - started, 3)
    report.left = total - finished
    _write_summary(report, out_dir / REPORT, version=__version__, command=command)
    if report.interrupted is not None:
        name = signal.Signals(report.interrupted).name
        print(
            f"interrupted by {name}: {finished} done, {report.left} left; rerun the same command to resume",
            file=sys.stderr,
        )
    print(report.summary())
    return report


def _write_summary(report: ConvertReport, path: Path, *, version: str, command: Sequence[str] | None) -> None:
    files = sorted(report.records, key=lambda r: (r["input"], r.get("format", "")))
    summary = {
        "cimkit_version": version,
        "command": list(command) if command is not None else list(sys.argv),
        "converted": report.converted,
        "skipped": report.skipped,
        "failed": report.failed,
        "not_applicable": sum(r["status"] == "not_applicable" for r in report.records),
        "interrupted": signal.Signals(report.interrupted).name if report.interrupted is not None else None,
        "left": report.left,
        "exit_code": report.exit_code,
        "seconds_total": report.seconds,
        "seconds_files": round(
            sum(float(r.get("seconds") or 0) for r in report.records if r["status"] != "skipped"), 3
        ),
        "files": [{k: v for k, v in rec.items() if k != "traceback"} for rec in files],
    }
    write_text_atomic(path, json.dumps(summary, indent=2, ensure_ascii=False))
