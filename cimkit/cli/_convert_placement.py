"""Where each file of a ``cimkit convert`` batch goes on the map: flags, sidecars, a table.

Three sources, the most specific winning key by key:

1. a sidecar next to the input, ``<input>.cimkit.toml`` or ``<input>.cimkit.json``, with any of
   the keys ``crs``, ``source_crs`` and ``origin``;
2. a row of the ``--placement FILE.csv`` table (columns ``input``, and any of ``crs``,
   ``source_crs``, ``origin``; ``input`` is the file's path relative to the table's folder, or
   its name);
3. the command's ``--crs`` and ``--origin``.

``origin`` is ``x,y[,z[,rot]]`` (text) or a list of 2 to 4 numbers: the map position of the
file's local (0, 0) in the target CRS, a height offset and a rotation in degrees.

Errors raised by the readers name Python arguments (``origin=``, ``crs=``); :func:`cli_wording`
rewrites them into the command's flags for the report and the terminal.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cimkit.errors import InputError

__all__ = [
    "SIDECAR_SUFFIXES",
    "Placement",
    "check_table_rows",
    "cli_wording",
    "parse_origin_text",
    "read_placement_table",
    "resolve_placement",
]

SIDECAR_SUFFIXES = (".cimkit.toml", ".cimkit.json")
_KEYS = ("crs", "source_crs", "origin")


@dataclass(frozen=True)
class Placement:
    """The placement asked for one file: target CRS, the CRS of a file that declares none, origin."""

    crs: str | None = None
    source_crs: str | None = None
    origin: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the placement as plain JSON values (recorded in the journal and the report)."""
        return {
            "crs": self.crs,
            "source_crs": self.source_crs,
            "origin": list(self.origin) if self.origin is not None else None,
        }


def parse_origin_text(text: str | list[Any] | tuple[Any, ...]) -> tuple[float, ...]:
    """Parse ``"x,y[,z[,rot]]"`` (or 2 to 4 numbers) into the ``(x, y)`` or ``(x, y, z, rot)`` readers take.

    Raises
    ------
    ValueError
        On anything but 2 to 4 finite numbers (the message is for the command line).
    """
    parts = [p for p in re.split(r"[,\s]+", text.strip())] if isinstance(text, str) else list(text)
    try:
        values = [float(v) for v in parts if v != ""]
    except (TypeError, ValueError):
        values = []
    if not 2 <= len(values) <= 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"origin must be x,y[,z[,rot]] with 2 to 4 finite numbers; {text!r} was given")
    if len(values) == 3:
        values.append(0.0)
    return tuple(values)


def _error(message: str, path: Path, hint: str) -> InputError:
    return InputError(message, path=path, hint=hint, code="BAT001")


def _clean(values: dict[str, Any], path: Path) -> dict[str, Any]:
    unknown = sorted(set(values) - set(_KEYS))
    if unknown:
        raise _error(
            f"unknown placement key(s) {', '.join(unknown)}",
            path,
            "a placement gives only crs, source_crs and origin (x,y[,z[,rot]]).",
        )
    out: dict[str, Any] = {}
    for key in _KEYS:
        value = values.get(key)
        if value in (None, ""):
            continue
        if key == "origin":
            try:
                out[key] = parse_origin_text(value)
            except ValueError as err:
                raise _error(str(err), path, "write origin as x,y or x,y,z,rotation_deg.") from err
        elif isinstance(value, str):
            out[key] = value.strip()
        else:
            raise _error(
                f"{key} must be text such as EPSG:2154; {value!r} was given",
                path,
                f'write {key} = "EPSG:2154".',
            )
    return out


def _read_sidecar(src: Path) -> dict[str, Any]:
    for suffix in SIDECAR_SUFFIXES:
        side = src.with_name(src.name + suffix)
        if not side.is_file():
            continue
        try:
            text = side.read_text(encoding="utf-8")
            if suffix.endswith(".toml"):
                try:
                    import tomllib
                except ImportError:  # Python 3.10
                    import tomli as tomllib  # type: ignore[no-redef]

                values = tomllib.loads(text)
            else:
                values = json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError) as err:  # tomllib / json errors are ValueErrors
            raise _error(f"cannot read the placement sidecar ({err})", side, "fix its syntax.") from err
        if not isinstance(values, dict):
            raise _error(
                "a placement sidecar holds one table of keys", side, "write crs = ..., origin = ...."
            )
        return _clean(values, side)
    return {}


def read_placement_table(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a ``--placement`` CSV table: ``{input as written: {key: value}}``.

    Raises
    ------
    cimkit.errors.InputError
        ``BAT001`` on a missing ``input`` column, an unknown column or a bad value.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise _error(
            f"cannot read the placement table ({err})", path, "give a CSV file: input,crs,origin."
        ) from err
    table: dict[str, dict[str, Any]] = {}
    for number, row in enumerate(rows, start=2):
        name = (row.pop("input", None) or "").strip()
        if not name:
            raise _error(
                f"row {number} has no input", path, "the first column is input, the file's path or name."
            )
        table[name] = _clean({k: v for k, v in row.items() if k is not None}, path)
    return table


def _table_row(table: dict[str, dict[str, Any]], src: Path, folder: Path | None) -> dict[str, Any]:
    for name, values in table.items():
        if name == src.name or (folder is not None and _matches(name, src, folder)):
            return values
    return {}


def resolve_placement(
    src: Path,
    *,
    crs: str | None,
    origin: tuple[float, ...] | None,
    table: dict[str, dict[str, Any]] | None = None,
    table_folder: Path | None = None,
) -> Placement:
    """Return the placement of ``src``: its sidecar, else its row of the table, else the flags (key by key)."""
    values: dict[str, Any] = {"crs": crs, "origin": origin}
    values.update(_table_row(table or {}, src, table_folder))
    values.update(_read_sidecar(src))
    return Placement(values.get("crs"), values.get("source_crs"), values.get("origin"))


_REWRITES = [
    (
        re.compile(
            r";?\s*to keep the data where it is, pass placement=\"accept\" \(or cimkit\.set_options\(placement=\"accept\"\)\)"
        ),
        "",
    ),
    (re.compile(r"origin=\(x, y\[, z, rotation_deg\]\)"), "--origin x,y[,z[,rot]]"),
    (re.compile(r"origin=\.\.\."), "--origin x,y"),
    (re.compile(r"origin="), "--origin"),
    (re.compile(r"crs=None"), "no --crs"),
    (re.compile(r"crs=\"(EPSG:[^\"]*)\""), r"--crs \1"),
    (re.compile(r"crs=\.\.\.?"), "--crs EPSG:...."),
    (re.compile(r"(?<![\w-])crs="), "--crs"),
    (re.compile(r"cimkit\.set_options\(ifc_timeout_s=\.\.\.\)"), "--timeout SECONDS"),
    (re.compile(r" to read_ifc\b"), ""),
]


def cli_wording(text: str) -> str:
    """Rewrite the Python arguments a reader's message names into ``cimkit convert`` flags.

    Examples
    --------
    >>> cli_wording("no map conversion. Fix: pass origin= and crs= to place the model yourself")
    'no map conversion. Fix: pass --origin and --crs to place the model yourself'
    """
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def check_table_rows(table: dict[str, dict[str, Any]], sources: list[Path], folder: Path) -> None:
    """Refuse a ``--placement`` table with a row that names no input of the batch (``BAT002``)."""
    for name in table:
        if not any(_matches(name, src, folder) for src in sources):
            raise InputError(
                f"the placement table names {name!r}, which is not an input of this batch",
                path=folder,
                hint="write the input as its path relative to the table's folder, or its file name.",
                code="BAT002",
            )


def _matches(name: str, src: Path, folder: Path) -> bool:
    return name == src.name or (folder / name).resolve() == src.resolve()
