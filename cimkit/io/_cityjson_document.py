"""Loading and checking a CityJSON document or CityJSONSeq: version, vertices, transform, indices.

Private to :mod:`cimkit.io.cityjson`. Every check raises a typed error with a ``CJS`` code naming
the file (and the line of a CityJSONSeq, or the CityObject id): a file is recognised by its
content, never trusted for its vertex indices (numpy would silently wrap a negative one) or its
transform (CityJSON 1.1 and 2.0 require it; 1.0 made it optional).
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from cimkit import provenance
from cimkit.errors import CimkitIOError, FileFormatError, UnsupportedSchemaError
from cimkit.io._archive import open_decompressed

SUPPORTED = ("1.0", "1.1", "2.0")


def version_of(doc: dict[str, Any], path: str | os.PathLike[str]) -> str:
    """Return the ``"major.minor"`` version, refused outside 1.0 - 2.0."""
    version = str(doc.get("version", ""))
    short = ".".join(version.split(".")[:2])
    if short not in SUPPORTED:
        raise UnsupportedSchemaError(
            f"CityJSON version {version!r} is not supported (supported: {', '.join(SUPPORTED)})",
            path=path,
            code="CJS002",
            hint="upgrade the file with `cjio in.json upgrade save out.json`.",
        )
    return short


def _parse_json(text: str, path: str | os.PathLike[str], line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise FileFormatError(
            f"not valid JSON ({err.msg}, column {err.colno})",
            path=path,
            line=line if line is not None else err.lineno,
            code="CJS001",
            hint="check the file: it may be truncated or not CityJSON at all.",
        ) from err
    except RecursionError as err:
        raise FileFormatError(
            "the JSON is nested too deeply to be CityJSON", path=path, line=line, code="CJS001"
        ) from err


def _read_sequence(
    text: str, first: dict[str, Any], path: str | os.PathLike[str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return a CityJSONSeq's header (first line) and its CityJSONFeature lines."""
    features = []
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if not line.strip():
            continue
        feature = _parse_json(line, path, line=number)
        if not isinstance(feature, dict) or feature.get("type") != "CityJSONFeature":
            raise FileFormatError(
                "a CityJSONSeq line after the header is not a CityJSONFeature",
                path=path,
                line=number,
                code="CJS006",
                hint='every line after the first must be {"type": "CityJSONFeature", ...}.',
            )
        features.append(feature)
    return first, features


def load_document(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """Parse a CityJSON document, or a CityJSONSeq (header + features), recognised by content."""
    if not os.path.isfile(path):
        raise CimkitIOError("the file does not exist (or is not a file)", path=path, hint="check the path.")
    try:
        with open_decompressed(path) as handle:  # .city.json.gz / .bz2 too, within the size limits
            text = handle.read().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FileFormatError(
            "not a text (UTF-8) file", path=path, code="CJS001", hint="pass a CityJSON file."
        ) from err
    except OSError as err:
        raise CimkitIOError(f"cannot read the file ({err.strerror})", path=path) from err
    features = None
    head, _, rest = text.lstrip().partition("\n")
    if rest.strip() and head.strip().startswith("{") and '"CityJSON"' in head:
        try:
            first = json.loads(head)
        except (json.JSONDecodeError, RecursionError):
            first = None
        if isinstance(first, dict) and first.get("type") == "CityJSON":
            doc, features = _read_sequence(text.lstrip(), first, path)
    if features is None:
        doc = _parse_json(text, path)
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "CityJSONFeature":
        raise FileFormatError(
            "a lone CityJSONFeature: its vertices need the transform of its sequence's header",
            path=path,
            code="CJS001",
            hint="pass the whole CityJSONSeq (.jsonl) file, header line first.",
        )
    if kind != "CityJSON":
        raise FileFormatError(
            'not a CityJSON document (no "type": "CityJSON")',
            path=path,
            code="CJS001",
            hint="pass a CityJSON (.city.json) or CityJSONSeq (.jsonl) file.",
        )
    for member in ("CityObjects", "metadata", "transform", "extensions"):
        if not isinstance(doc.get(member, {}) or {}, dict):
            raise FileFormatError(f'"{member}" is not an object', path=path, code="CJS001")
    return doc, features


def real_vertices(raw: Any, transform: Any, path: str | os.PathLike[str], where: str) -> np.ndarray:
    """``vertex * scale + translate`` (or the vertices as they are without a transform), all finite."""
    try:
        verts = np.asarray(raw if raw is not None else [], dtype="float64")
    except (TypeError, ValueError) as err:
        raise FileFormatError(
            f"{where}: the vertices are not a list of [x, y, z] numbers", path=path, code="CJS005"
        ) from err
    if verts.size == 0:
        verts = verts.reshape(0, 3)
    if verts.ndim != 2 or verts.shape[1] != 3:
        raise FileFormatError(
            f"{where}: the vertices are not a list of [x, y, z] numbers (shape {verts.shape})",
            path=path,
            code="CJS005",
        )
    if transform is not None:
        verts = verts * transform[0] + transform[1]
    bad = ~np.isfinite(verts).all(axis=1)
    if bad.any():
        raise FileFormatError(
            f"{where}: {int(bad.sum())} vertex(es) are NaN or infinite (first: index {int(np.argmax(bad))})",
            path=path,
            code="CJS005",
            hint="repair the vertices; JSON has no NaN, the file was written by a faulty tool.",
        )
    return verts


def _transform(doc: dict[str, Any], version: str, path: str | os.PathLike[str]) -> Any:
    """(scale, translate) of the file, checked; None for a CityJSON 1.0 file without one."""
    transform = doc.get("transform")
    if transform is None:
        if version == "1.0":
            return None
        raise FileFormatError(
            f"the file has no 'transform': CityJSON {version} stores vertices as integers to be "
            "multiplied by transform.scale and added to transform.translate; read as they are they "
            "would put the buildings kilometres away from where they are",
            path=path,
            code="CJS004",
            hint="restore the transform the file was written with (cjio can re-export it).",
        )
    try:
        scale = np.asarray(transform["scale"], dtype="float64")
        translate = np.asarray(transform["translate"], dtype="float64")
    except (KeyError, TypeError, ValueError) as err:
        raise FileFormatError(
            "'transform' needs 'scale' and 'translate', each three numbers", path=path, code="CJS005"
        ) from err
    ok = scale.shape == (3,) and translate.shape == (3,)
    if not (ok and np.isfinite(scale).all() and np.isfinite(translate).all() and (scale > 0).all()):
        raise FileFormatError(
            f"'transform' is not usable (scale {transform.get('scale')}, translate {transform.get('translate')})",
            path=path,
            code="CJS005",
            hint="scale must be three positive numbers and translate three finite numbers.",
        )
    return scale, translate


def vertices(
    doc: dict[str, Any], version: str, path: str | os.PathLike[str], record: provenance.Provenance
) -> tuple[np.ndarray, Any]:
    """Real vertex coordinates of the document and its checked transform."""
    transform = _transform(doc, version, path)
    verts = real_vertices(doc.get("vertices"), transform, path, "vertices")
    if transform is not None:
        record.add_step("apply_transform", "vertices * scale + translate", **doc["transform"])
    else:
        record.add_step(
            "no_transform",
            "CityJSON 1.0 without transform: vertices read as real coordinates",
            count=len(verts),
        )
    return verts, transform


def check_indices(surfaces: list[Any], n_vertices: int, oid: str, path: str | os.PathLike[str]) -> None:
    """Refuse negative, out-of-range or non-integer vertex indices (numpy would wrap a negative one)."""
    try:
        flat = [i for surface in surfaces for ring in surface for i in ring]
    except TypeError as err:
        raise FileFormatError(
            "its boundaries are not nested as its geometry type says",
            path=path,
            entity=oid,
            code="CJS003",
            hint="repair the object's geometry (cjio validate).",
        ) from err
    bad = [i for i in flat if type(i) is not int or not 0 <= i < n_vertices]
    if bad:
        raise FileFormatError(
            f"{len(bad)} vertex index(es) are negative, not integers or not below the vertex count "
            f"{n_vertices} (first: {bad[0]!r}); such a geometry would be misplaced",
            path=path,
            entity=oid,
            code="CJS003",
            hint="repair the object's boundaries; cjio validate lists them.",
        )
