"""Cheap checks on an IFC-SPF file before any parser touches it (no ifcopenshell here).

Reads the first and last few kilobytes: the ISO-10303-21 header, the FILE_SCHEMA, and the
END-ISO-10303-21 trailer that a complete file ends with. A truncated download or an
unsupported schema is refused here with a typed error, before a child process is started.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cimkit.errors import CimkitIOError, FileFormatError, UnsupportedSchemaError

__all__ = ["SUPPORTED_SCHEMAS", "check_file"]

#: Schemas cimkit reads (those of the installed ifcopenshell 0.8/0.9 builds).
SUPPORTED_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3_ADD2")
#: Spellings that ifcopenshell maps onto a supported schema.
_ALIASES = {"IFC4X3": "IFC4X3_ADD2", "IFC4X3_TC1": "IFC4X3_ADD2", "IFC4X3_ADD1": "IFC4X3_ADD2"}
_HEAD = 64 * 1024
_TAIL = 4 * 1024
_SCHEMA = re.compile(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", re.IGNORECASE)


def check_file(path: str | os.PathLike[str]) -> str:
    """Check that ``path`` is a complete IFC-SPF file of a supported schema; return the schema.

    Raises
    ------
    CimkitIOError
        The file does not exist or cannot be read.
    FileFormatError
        Not an ISO-10303-21 file, or truncated (no END-ISO-10303-21 trailer).
    UnsupportedSchemaError
        The schema is not one of :data:`SUPPORTED_SCHEMAS` (e.g. the draft IFC4X3_RC3).
    """
    p = Path(path)
    if not p.is_file():
        raise CimkitIOError("the file does not exist", path=path, hint="check the path")
    try:
        size = p.stat().st_size
        with open(p, "rb") as handle:
            head = handle.read(_HEAD)
            handle.seek(max(0, size - _TAIL))
            tail = handle.read()
    except OSError as err:
        raise CimkitIOError(f"the file cannot be read ({err.strerror})", path=path) from err
    if p.suffix.lower() in (".ifczip", ".ifcxml") or head[:2] == b"PK" or head.lstrip()[:1] == b"<":
        raise FileFormatError(
            "only IFC-SPF text files (.ifc) are read", path=path, hint="export or unzip the model as .ifc"
        )
    if b"ISO-10303-21" not in head[:1024]:
        raise FileFormatError(
            "not an IFC-SPF file: no ISO-10303-21 header",
            path=path,
            line=1,
            hint="give an IFC file exported as STEP physical file (.ifc)",
        )
    match = _SCHEMA.search(head)
    if match is None:
        raise FileFormatError("the header has no FILE_SCHEMA", path=path, hint="re-export the model")
    schema = match.group(1).decode("ascii", "replace").strip().upper()
    schema = _ALIASES.get(schema, schema)
    if schema not in SUPPORTED_SCHEMAS:
        raise UnsupportedSchemaError(
            f"schema {schema} is not supported; supported: {', '.join(SUPPORTED_SCHEMAS)}",
            path=path,
            hint="re-export the model as IFC4 or IFC4X3_ADD2",
        )
    if b"END-ISO-10303-21" not in tail.upper():
        raise FileFormatError(
            "the file is truncated: it does not end with END-ISO-10303-21;",
            path=path,
            hint="download or export the file again",
        )
    return schema
