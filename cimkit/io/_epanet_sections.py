"""Low-level reading of an EPANET 2 ``.inp`` file: sections, rows, numbers and ids.

Private to :mod:`cimkit.io.epanet`; every error names the file, the line and the entity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimkit.errors import CimkitIOError, FileFormatError
from cimkit.io._archive import check_input_size


@dataclass
class Row:
    line: int
    fields: list[str]


@dataclass
class Sections:
    rows: dict[str, list[Row]] = field(default_factory=dict)

    def get(self, name: str) -> list[Row]:
        return self.rows.get(name, [])


def split_sections(path: Path) -> Sections:
    if not path.exists():
        raise CimkitIOError("file not found", path=path, hint="check the path.")
    check_input_size(path, what=".inp file")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise CimkitIOError(f"cannot read the file ({err.strerror})", path=path) from err
    out = Sections()
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            end = line.find("]")
            if end < 0:
                raise FileFormatError(
                    f"section header {line!r} has no closing bracket",
                    path=path,
                    line=number,
                    code="NET005",
                    hint="write section headers as [NAME].",
                )
            current = line[1:end].strip().upper()
            out.rows.setdefault(current, [])
            continue
        if current is None:
            raise FileFormatError(
                "data before the first [SECTION] header",
                path=path,
                line=number,
                code="NET005",
                hint="an EPANET .inp file starts with a section header such as [TITLE].",
            )
        out.rows[current].append(Row(number, line.split()))
    if not any(out.get(s) for s in ("JUNCTIONS", "RESERVOIRS", "TANKS")):
        raise FileFormatError(
            "no [JUNCTIONS], [RESERVOIRS] or [TANKS] rows: this is not an EPANET network",
            path=path,
            code="NET005",
            hint="give an EPANET 2 .inp file.",
        )
    return out


def parse_number(row: Row, index: int, what: str, path: Path, *, default: float | None = None) -> float:
    if index >= len(row.fields):
        if default is not None:
            return default
        raise FileFormatError(
            f"missing {what} (field {index + 1})",
            path=path,
            line=row.line,
            code="NET005",
            entity=row.fields[0] if row.fields else None,
            hint=f"give the {what} as a number.",
        )
    text = row.fields[index]
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise FileFormatError(
            f"{what} {text!r} is not a number",
            path=path,
            line=row.line,
            code="NET005",
            entity=row.fields[0],
            hint=f"write the {what} as a plain number (e.g. 100 or 12.5).",
        )
    return value


def unique_id(row: Row, seen: dict[str, int], what: str, across: str, path: Any) -> str:
    """Return the row's id (first field), refused when an earlier row of the same family used it."""
    name = row.fields[0]
    if name in seen:
        raise FileFormatError(
            f"{what} id {name!r} is defined twice",
            path=path,
            line=row.line,
            code="NET003",
            entity=name,
            hint=f"{what} ids must be unique across {across}.",
        )
    return name


def need_fields(row: Row, count: int, what: str, path: Path) -> None:
    if len(row.fields) < count:
        raise FileFormatError(
            f"a {what} row needs at least {count} fields, {len(row.fields)} were given",
            path=path,
            line=row.line,
            code="NET005",
            entity=row.fields[0] if row.fields else None,
            hint="see the EPANET 2 manual for the section's columns.",
        )


def node_ref(row: Row, index: int, seen: dict[str, int], path: Path) -> int:
    name = row.fields[index]
    if name not in seen:
        raise FileFormatError(
            f"node {name!r} is not defined in [JUNCTIONS], [RESERVOIRS] or [TANKS]",
            path=path,
            line=row.line,
            code="NET002",
            entity=row.fields[0],
            hint="define the node or correct the id.",
        )
    return seen[name]
