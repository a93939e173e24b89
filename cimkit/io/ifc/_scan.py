"""A pass over the DATA section of an IFC-SPF file, in this process, before any parser runs.

ifcopenshell is lenient where it should not be and fatal where it should not be: a missing
parenthesis makes it drop every entity after it, a ``nan`` token is read as 0, a reference to a
missing entity becomes ``None`` (a building moved to the origin of its parent, an element
without geometry), and a placement that is its own ancestor recurses until the process dies.
This module reads the statements as text (no ifcopenshell) and refuses, with a typed error that
names the entity and the line:

- a statement that is not ``#id = TYPE(...);`` or whose parentheses do not balance, a
  duplicated id (``IFC007``), a file cut inside its DATA section (``IFC005``);
- a non-finite number anywhere (``nan``, ``inf``, ``1.E999``), or a coordinate, direction
  or length of magnitude above :data:`MAX_COORDINATE` in a geometric entity (``IFC008``);
- a reference to an entity that the file does not define (``IFC009``);
- an ``IfcLocalPlacement`` chain that loops (``IFC010``) and an ``IfcRelAggregates`` /
  ``IfcRelNests`` decomposition that loops (``IFC011``);
- more entities than the ``max_ifc_entities`` option (``LIM030``), counted cheaply first.

One statement per line (what every exporter writes) costs a few regular-expression calls;
statements spanning lines are joined.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from cimkit.errors import FileFormatError, ResourceLimitError
from cimkit.options import get_options

__all__ = ["MAX_COORDINATE", "ScanSummary", "count_entities", "scan_data"]

#: Largest magnitude accepted in a geometric entity (points, directions, profile sizes, map
#: conversion offsets), in file units: 10^12 mm is 10^6 km, far beyond any site on Earth.
MAX_COORDINATE = 1e12

_HEAD = re.compile(rb"\s*#(\d+)\s*=\s*([A-Za-z0-9_]*)\s*\(")
_STRINGS = re.compile(rb"'[^']*'")
_BINARY = re.compile(rb'"[^"]*"')
_COMMENT = re.compile(rb"/\*.*?\*/", re.DOTALL)
_REF = re.compile(rb"#(\d+)")
# a bare word that is neither an enumeration (.T.), a reference, a number's exponent nor a
# typed value (IFCLABEL(...)): invalid STEP, or nan / inf written by a careless exporter
_WORD = re.compile(rb"[(,]\s*([A-Za-z_]\w*)\s*[,)]")
_BIG = re.compile(rb"[Ee]\+?0*(?:1[2-9]|[2-9]\d|[1-9]\d\d+)|\d{13,}\.")
_NUMBER = re.compile(rb"(?<![\w.#])[-+]?\d+\.?\d*(?:[Ee][-+]?\d+)?")
_DATA = re.compile(rb"\s*DATA\s*[;(]", re.IGNORECASE)
_VALID = re.compile(rb"(?:\s*#\d+\s*=\s*\w*\s*\([^;]*\)\s*;)*")
_ID = re.compile(rb"#(\d+)\s*=")
_REF_ONLY = re.compile(rb"#(\d+)(?!\d)(?!\s*=)")
_PLACEMENT = re.compile(rb"IFCLOCALPLACEMENT\s*\(\s*#(\d+)")
_DECOMPOSITION = re.compile(rb"IFCREL(?:AGGREGATES|NESTS)\s*\([^;]*?,\s*#(\d+)\s*,\s*\(([^();]*)\)\s*\)\s*;")
_NON_FINITE = {b"nan", b"inf", b"infinity", b"snan", b"qnan"}
_GEOMETRIC = (
    b"IFCCARTESIANPOINT",
    b"IFCDIRECTION",
    b"IFCVECTOR",
    b"IFCMAPCONVERSION",
    b"IFCEXTRUDEDAREASOLID",
    b"IFCRECTANGLEPROFILEDEF",
    b"IFCCIRCLEPROFILEDEF",
    b"IFCCARTESIANTRANSFORMATIONOPERATOR",
)
_NAMES = {
    "IFCDIRECTION": "IfcDirection",
    "IFCCARTESIANPOINT": "IfcCartesianPoint",
    "IFCCARTESIANPOINTLIST3D": "IfcCartesianPointList3D",
    "IFCLOCALPLACEMENT": "IfcLocalPlacement",
    "IFCRELAGGREGATES": "IfcRelAggregates",
    "IFCRELNESTS": "IfcRelNests",
    "IFCMAPCONVERSION": "IfcMapConversion",
    "IFCEXTRUDEDAREASOLID": "IfcExtrudedAreaSolid",
    "IFCPRODUCTDEFINITIONSHAPE": "IfcProductDefinitionShape",
}
_MB = 1024 * 1024


def _name(step_type: bytes) -> str:
    text = step_type.decode("ascii", "replace").upper()
    return _NAMES.get(text, text)


@dataclass
class ScanSummary:
    """What the pass found: entity count, the placement and decomposition graphs (by id)."""

    entities: int = 0
    lines: int = 0
    parents: dict[int, int] = field(default_factory=dict)  # IfcLocalPlacement -> PlacementRelTo
    children: dict[int, list[int]] = field(default_factory=dict)  # relating -> related objects


def count_entities(path: str | os.PathLike[str]) -> int:
    """Count the lines that start an entity instance (``#id=``), reading 4 MiB at a time.

    A cheap upper bound used before the full pass; raises ``ResourceLimitError`` (``LIM030``)
    as soon as the count passes the ``max_ifc_entities`` option.
    """
    limit = int(get_options()["max_ifc_entities"])
    count = 0
    with open(path, "rb") as handle:
        previous = b"\n"
        while chunk := handle.read(4 * _MB):
            count += chunk.count(b"\n#") + (previous == b"\n" and chunk[:1] == b"#")
            previous = chunk[-1:]
            if count > limit:
                raise ResourceLimitError(
                    f"the file holds more than {limit:,} entity instances (the max_ifc_entities limit)",
                    path=path,
                    code="LIM030",
                    hint="raise it with cimkit.set_options(max_ifc_entities=...) if the model is expected "
                    "to be this large",
                )
    return count


def _statement_end(block: bytes, stop: int) -> int:
    """Return the index just after the last ``;`` that ends a line before ``stop`` (0 if none)."""
    return max(block.rfind(b";\n", 0, stop), block.rfind(b";\r\n", 0, stop)) + 1


def _data_blocks(path: str | os.PathLike[str], block_bytes: int = 16 * _MB) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number before the block, block)`` of the DATA section, cut after whole statements."""
    with open(path, "rb") as handle:
        lineno = 0
        for raw in handle:
            lineno += 1
            if _DATA.match(raw):
                break
        else:
            return
        carry = b""
        while True:
            more = handle.read(block_bytes)
            block = carry + more
            if not more:
                if block:
                    yield lineno, block
                return
            cut = _statement_end(block, len(block))
            while cut > 0 and block.count(b"'", 0, cut) % 2:
                cut = _statement_end(block, cut - 1)
            if cut <= 0:
                carry = block
                continue
            yield lineno, block[:cut]
            lineno += block.count(b"\n", 0, cut)
            carry = block[cut:]


def _problem(
    message: str, path, line: int | None, entity: int | None, code: str, hint: str
) -> FileFormatError:
    return FileFormatError(
        message,
        path=path,
        line=line,
        entity=f"#{entity}" if entity is not None else None,
        code=code,
        hint=hint,
    )


def _check_numbers(stmt: bytes, step_type: bytes, eid: int | None, line: int, path) -> None:
    for token in _NUMBER.findall(stmt):
        value = float(token)
        if not math.isfinite(value):
            raise _problem(
                f"{_name(step_type)} holds the number {token.decode()}, which the STEP parser could not "
                "parse as a finite value",
                path,
                line,
                eid,
                "IFC008",
                "repair the value in the authoring tool and re-export",
            )
        if abs(value) > MAX_COORDINATE and step_type.upper().startswith(_GEOMETRIC):
            raise _problem(
                f"{_name(step_type)} holds {token.decode()}, beyond {MAX_COORDINATE:g} file units: "
                "not a coordinate of a building",
                path,
                line,
                eid,
                "IFC008",
                "repair the coordinate in the authoring tool and re-export",
            )


def scan_data(path: str | os.PathLike[str], *, block_bytes: int = 16 * _MB) -> ScanSummary:
    """Check every statement of the DATA section; return counts and graphs (see the module doc).

    The file is read ``block_bytes`` at a time, cut after whole statements.
    """
    count_entities(path)
    summary = ScanSummary()
    defined: set[bytes] = set()
    referenced: set[bytes] = set()
    ended = False
    last_line = -1
    for lineno, block in _data_blocks(path, block_bytes):
        bare = _blank_strings(block)
        end = _VALID.match(bare).end()  # type: ignore[union-attr]
        rest = bare[end:].lstrip()
        if rest and not rest.upper().startswith(b"ENDSEC"):
            _raise_at(bare, end + len(bare[end:]) - len(bare[end:].lstrip()), lineno, path, "syntax")
        ended = ended or bool(rest)
        valid = bare[:end]
        if valid.count(b"(") != valid.count(b")"):
            _raise_unbalanced(valid, lineno, path)
        word = _WORD.search(valid)
        if word is not None:
            _raise_at(valid, word.start(1), lineno, path, "word", word.group(1))
        for big in _BIG.finditer(valid):
            stmt, eid, step_type, line = _statement_at(valid, big.start(), lineno)
            _check_numbers(stmt, step_type, eid, line, path)
        ids = _ID.findall(valid)
        new = set(ids)
        if len(new) != len(ids) or not defined.isdisjoint(new):
            _raise_duplicate(path, ids, valid, lineno, defined)
        defined |= new
        referenced.update(_REF.findall(valid))
        for found in _PLACEMENT.finditer(valid):
            head = _HEAD.match(valid, valid.rfind(b";", 0, found.start()) + 1)
            if head is not None:
                summary.parents[int(head.group(1))] = int(found.group(1))
        for relating, related in _DECOMPOSITION.findall(valid):
            summary.children.setdefault(int(relating), []).extend(int(r) for r in _REF.findall(related))
        last_line = lineno + block.count(b"\n")
        if ended:
            break
    if last_line < 0:
        raise FileFormatError(
            "the file has no DATA section", path=path, code="IFC007", hint="re-export the file"
        )
    if not ended:
        raise FileFormatError(
            f"the file is truncated: its DATA section is not closed (stops at line {last_line})",
            path=path,
            line=last_line,
            code="IFC005",
            hint="download or export the file again",
        )
    summary.entities = len(defined)
    missing = referenced - defined
    if missing:
        _raise_dangling(path, min(int(m) for m in missing))
    if summary.parents:
        _check_placement_cycles(summary, path)
    if summary.children:
        _check_decomposition_cycles(summary, path)
    return summary


def _blank_strings(block: bytes) -> bytes:
    """Return ``block`` with string literals emptied and comments blanked (they may hold any character)."""
    bare = _STRINGS.sub(b"''", block) if b"'" in block else block
    bare = _BINARY.sub(b'""', bare) if b'"' in bare else bare
    return _COMMENT.sub(b" ", bare) if b"/*" in bare else bare


def _statement_at(text: bytes, pos: int, lineno: int) -> tuple[bytes, int | None, bytes, int]:
    """Return the statement around ``pos``: its text, id, type and line number."""
    start = text.rfind(b";", 0, pos) + 1
    stop = text.find(b";", pos)
    stmt = text[start : stop + 1 if stop >= 0 else len(text)]
    skip = len(stmt) - len(stmt.lstrip())
    line = lineno + text.count(b"\n", 0, start + skip) + 1
    head = _HEAD.match(stmt)
    if head is None:
        return stmt.strip(), None, b"", line
    return stmt.strip(), int(head.group(1)), head.group(2), line


def _raise_at(text: bytes, pos: int, lineno: int, path, kind: str, token: bytes = b"") -> None:
    stmt, eid, step_type, line = _statement_at(text, pos, lineno)
    if kind == "word":
        if token.lower() in _NON_FINITE:
            raise _problem(
                f"{_name(step_type)} holds the token {token.decode()!r}, which is not a finite number "
                "(a parser reads it as 0 and builds a wrong shape)",
                path,
                line,
                eid,
                "IFC008",
                "repair the value in the authoring tool and re-export",
            )
        message = f"{_name(step_type)}: unexpected word {token.decode('latin-1')!r}"
    else:
        message = f"not an entity instance '#id=TYPE(...);': {stmt[:60].decode('latin-1')!r}"
    raise _problem(message, path, line, eid, "IFC007", "the STEP syntax is broken here; re-export the file")


def _raise_unbalanced(valid: bytes, lineno: int, path) -> None:
    pos = 0
    while pos < len(valid):
        stop = valid.find(b";", pos)
        stop = len(valid) if stop < 0 else stop
        if valid.count(b"(", pos, stop) != valid.count(b")", pos, stop):
            _, eid, step_type, line = _statement_at(
                valid, pos + 1 if valid[pos : pos + 1] == b";" else pos, lineno
            )
            raise _problem(
                f"{_name(step_type)}: unbalanced parentheses",
                path,
                line,
                eid,
                "IFC007",
                "the STEP syntax is broken here (a parser would drop what follows); re-export the file",
            )
        pos = stop + 1


def _raise_duplicate(path, ids: list[bytes], valid: bytes, lineno: int, defined: set[bytes]) -> None:
    seen: set[bytes] = set()
    eid = ids[0]
    for eid in ids:
        if eid in seen or eid in defined:
            break
        seen.add(eid)
    pos = max(valid.rfind(b"#" + eid + b"="), valid.rfind(b"#" + eid + b" ="), 0)
    _, _, _, line = _statement_at(valid, pos, lineno)
    raise _problem(
        f"entity #{eid.decode()} is defined twice",
        path,
        line,
        int(eid),
        "IFC007",
        "give every entity instance its own id; re-export the file",
    )


def _line_of(path, eid: int) -> int | None:
    """Return the line where ``#eid`` is defined (a second pass, only for error messages)."""
    needle = re.compile(rb"#" + str(eid).encode() + rb"\s*=")
    for lineno, block in _data_blocks(path):
        found = needle.search(block)
        if found is not None:
            return lineno + block.count(b"\n", 0, found.start()) + 1
    return None


def _raise_dangling(path, missing: int) -> None:
    """Find the first entity that refers to ``missing`` (a second pass, only on this error) and raise."""
    needle = re.compile(rb"#" + str(missing).encode() + rb"(?!\d)(?!\s*=)")
    for lineno, block in _data_blocks(path):
        bare = _blank_strings(block)
        found = needle.search(bare)
        if found is None:
            continue
        _, eid, step_type, line = _statement_at(bare, found.start(), lineno)
        kind = _name(step_type)
        if kind == "IfcLocalPlacement":
            role = " (its parent placement: the object would silently move to another origin)"
        else:
            role = " (a missing placement would move an object, a missing representation drop its shape)"
        raise _problem(
            f"{kind} refers to #{missing}, which the file does not define{role}",
            path,
            line,
            eid,
            "IFC009",
            "the file is incomplete or was edited by hand; re-export it from the authoring tool",
        )
    raise FileFormatError(f"#{missing} is referred to but not defined", path=path, code="IFC009")


def _check_placement_cycles(summary: ScanSummary, path) -> None:
    done: set[int] = set()
    for start in summary.parents:
        chain: list[int] = []
        seen: set[int] = set()
        node: int | None = start
        while node is not None and node not in done:
            if node in seen:
                loop = [*chain[chain.index(node) :], node]
                raise _problem(
                    "IfcLocalPlacement chain loops: "
                    + " -> ".join(f"#{n}" for n in loop)
                    + " (each placement is relative to the next, so no position exists)",
                    path,
                    _line_of(path, node),
                    node,
                    "IFC010",
                    "make the first placement of the loop absolute (PlacementRelTo = $) and re-export",
                )
            seen.add(node)
            chain.append(node)
            node = summary.parents.get(node)
        done.update(chain)


def _check_decomposition_cycles(summary: ScanSummary, path) -> None:
    state: dict[int, int] = {}  # 1: on the current path, 2: finished
    for root in list(summary.children):
        if state.get(root):
            continue
        stack: list[tuple[int, Iterator[int]]] = [(root, iter(summary.children.get(root, ())))]
        path_nodes = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            child = next(it, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path_nodes.pop()
                continue
            if state.get(child) == 1:
                loop = [*path_nodes[path_nodes.index(child) :], child]
                raise _problem(
                    "the decomposition (IfcRelAggregates / IfcRelNests) loops: "
                    + " -> ".join(f"#{n}" for n in loop)
                    + " (an object would be part of itself)",
                    path,
                    _line_of(path, child),
                    child,
                    "IFC011",
                    "remove the relation that closes the loop and re-export",
                )
            if not state.get(child):
                state[child] = 1
                path_nodes.append(child)
                stack.append((child, iter(summary.children.get(child, ()))))
