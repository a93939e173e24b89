"""Cheap checks on an IFC-SPF file before any parser touches it (no ifcopenshell here).

In order: the size limit (``max_input_mb``), an empty file, binary content or another format
under an ``.ifc`` name (a PNG, a zip, a GeoPackage ...), the ISO-10303-21 header and its
FILE_SCHEMA, the END-ISO-10303-21 trailer that a complete file ends with, then the pass over
the DATA section of :mod:`cimkit.io.ifc._scan` (syntax, numbers, references, cycles, entity
count). Each problem is refused here with its own code, before a child process is started.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cimkit.errors import CimkitIOError, FileFormatError, UnsupportedSchemaError

__all__ = ["SUPPORTED_SCHEMAS", "check_file", "check_header"]

#: Schemas cimkit reads (those of the installed ifcopenshell 0.8/0.9 builds).
SUPPORTED_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3_ADD2")
#: Spellings that ifcopenshell maps onto a supported schema.
_ALIASES = {"IFC4X3": "IFC4X3_ADD2", "IFC4X3_TC1": "IFC4X3_ADD2", "IFC4X3_ADD1": "IFC4X3_ADD2"}
_HEAD = 64 * 1024
_TAIL = 4 * 1024
_SCHEMA = re.compile(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", re.IGNORECASE)
#: First bytes of formats that are sometimes renamed ``.ifc`` by mistake.
_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a zip archive (an .ifczip needs the .ifczip extension)",
    b"PK\x05\x06": "an empty zip archive",
    b"\x1f\x8b": "a gzip stream",
    b"SQLite format 3\x00": "an SQLite database (a GeoPackage?)",
    b"<?xml": "an XML document (ifcXML is not read; export IFC-SPF)",
    b"{": "a JSON document",
}
_TEXT_SIGNATURES = (b"<?xml", b"{")


def check_header(path: str | os.PathLike[str]) -> str:
    """Check the head and tail of ``path`` (no parsing); return the schema.

    Raises
    ------
    CimkitIOError
        The file does not exist or cannot be read (``GEN006``).
    ResourceLimitError
        It is larger than ``max_input_mb`` (``LIM002``).
    FileFormatError
        Empty (``IFC002``), another format (``IFC003``), binary garbage (``IFC004``),
        truncated (``IFC005``), no FILE_SCHEMA (``IFC007``).
    UnsupportedSchemaError
        The schema is not one of :data:`SUPPORTED_SCHEMAS` (``IFC006``, e.g. the draft IFC4X3_RC3).
    """
    from cimkit.io._archive import check_input_size

    p = Path(path)
    if not p.exists():
        raise CimkitIOError("the file does not exist", path=path, hint="check the path")
    size = check_input_size(p, what="IFC file")
    try:
        with open(p, "rb") as handle:
            head = handle.read(_HEAD)
            handle.seek(max(0, size - _TAIL))
            tail = handle.read()
    except OSError as err:
        raise CimkitIOError(f"the file cannot be read ({err.strerror})", path=path) from err
    _check_content(head, path)
    match = _SCHEMA.search(head)
    if match is None:
        raise FileFormatError(
            "the header has no FILE_SCHEMA", path=path, code="IFC007", hint="re-export the model"
        )
    schema = match.group(1).decode("ascii", "replace").strip().upper()
    schema = _ALIASES.get(schema, schema)
    if schema not in SUPPORTED_SCHEMAS:
        raise UnsupportedSchemaError(
            f"schema {schema} is not supported; supported: {', '.join(SUPPORTED_SCHEMAS)}",
            path=path,
            code="IFC006",
            hint="re-export the model as IFC4 or IFC4X3_ADD2",
        )
    if b"END-ISO-10303-21" not in tail.upper():
        lines = _count_lines(p)
        raise FileFormatError(
            f"the file is truncated: it stops at line {lines} without the END-ISO-10303-21; trailer",
            path=path,
            line=lines,
            code="IFC005",
            hint="download or export the file again",
        )
    return schema


def _count_lines(path: Path) -> int:
    count, last = 0, b""
    with open(path, "rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last not in (b"", b"\n"))


def _check_content(head: bytes, path: str | os.PathLike[str]) -> None:
    """Refuse an empty file, a known foreign format and binary content, each with its own code."""
    if not head.strip():
        raise FileFormatError(
            "the file is empty", path=path, code="IFC002", hint="export the model again; the copy is empty"
        )
    binary = [m for m in _SIGNATURES if m not in _TEXT_SIGNATURES and head.startswith(m)]
    sample = head[:4096]
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if not binary and (b"\x00" in sample or controls > len(sample) // 100):
        raise FileFormatError(
            f"not an IFC file: binary content ({controls} control bytes in the first {len(sample)})",
            path=path,
            code="IFC004",
            hint="the file is corrupt or of another format; give the IFC-SPF (.ifc) export",
        )
    found = binary + [m for m in _TEXT_SIGNATURES if head.lstrip().startswith(m)]
    if found:
        raise FileFormatError(
            f"not an IFC file: its content is {_SIGNATURES[found[0]]}",
            path=path,
            code="IFC003",
            hint="give the IFC-SPF (.ifc) export of the model",
        )
    if b"ISO-10303-21" not in head[:1024]:
        raise FileFormatError(
            "not an IFC-SPF file: no ISO-10303-21 header",
            path=path,
            line=1,
            code="IFC003",
            hint="give an IFC file exported as STEP physical file (.ifc)",
        )


def check_file(path: str | os.PathLike[str]) -> str:
    """Check that ``path`` is a complete, well-formed IFC-SPF file of a supported schema; return the schema.

    :func:`check_header`, then the pass over the DATA section
    (:func:`cimkit.io.ifc._scan.scan_data`: syntax, numbers, dangling references, placement
    and decomposition cycles, the ``max_ifc_entities`` limit).
    """
    from cimkit.io.ifc._scan import scan_data

    schema = check_header(path)
    try:
        scan_data(path)
    except OSError as err:
        raise CimkitIOError(f"the file cannot be read ({err.strerror})", path=path) from err
    return schema
