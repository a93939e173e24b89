"""Lineage records: where every layer came from and what was done to it.

A :class:`Provenance` record travels with each layer. Readers create one with
:func:`record_for_files`, attach it to the GeoDataFrame they return with :func:`attach`
(it lives in ``gdf.attrs["provenance"]``), and every transformation appends a
:class:`Step`. :class:`~cimkit.model.CityModel` collects the records, writes them into the
GeoPackage and restores them on load.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "Provenance",
    "SourceFile",
    "Step",
    "attach",
    "file_sha256",
    "get",
    "library_versions",
    "record_for_files",
]

ATTRS_KEY = "provenance"
_CHUNK = 1 << 20


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def library_versions(*names: str) -> dict[str, str]:
    """Installed versions of cimkit and the named distributions (absent ones are skipped)."""
    versions: dict[str, str] = {}
    for name in ("cimkit", *names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class SourceFile:
    """One input file: the path as given, its sha256 and its size in bytes."""

    path: str
    sha256: str | None = None
    size_bytes: int | None = None

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> SourceFile:
        p = Path(path)
        if p.is_file():
            return cls(os.fspath(path), file_sha256(p), p.stat().st_size)
        return cls(os.fspath(path))


@dataclass
class Step:
    """One operation applied to a layer, in order: ``action`` plus its parameters."""

    action: str
    detail: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    time: str = field(default_factory=_now)


@dataclass
class Provenance:
    """The lineage of one layer.

    Attributes
    ----------
    layer
        Layer name in the model (set when the layer joins a model).
    reader
        The function that produced it (``"cimkit.read_ifc"``, ``"in-memory"``).
    sources
        The input files, with hashes and sizes.
    versions
        Versions of cimkit and the libraries the reader used.
    licence
        The data licence when known (``"Licence Ouverte 2.0"``, ``"ODbL-1.0"``).
    created
        ISO-8601 UTC time the record was made.
    steps
        Ordered operations applied since reading (reprojection, repairs, filters ...).
    """

    layer: str | None = None
    reader: str = "in-memory"
    sources: list[SourceFile] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    licence: str | None = None
    created: str = field(default_factory=_now)
    steps: list[Step] = field(default_factory=list)

    def add_step(self, action: str, detail: str = "", **params: Any) -> Provenance:
        """Append a step and return ``self`` (so calls can be chained)."""
        self.steps.append(Step(action, detail, _jsonable(params)))
        return self

    @property
    def source(self) -> str | None:
        """The first source path as given, or None for in-memory data."""
        return self.sources[0].path if self.sources else None

    def copy(self) -> Provenance:
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        return cls(
            layer=data.get("layer"),
            reader=data.get("reader", "in-memory"),
            sources=[SourceFile(**s) for s in data.get("sources", [])],
            versions=dict(data.get("versions", {})),
            licence=data.get("licence"),
            created=data.get("created", _now()),
            steps=[Step(**s) for s in data.get("steps", [])],
        )

    @classmethod
    def from_json(cls, text: str) -> Provenance:
        return cls.from_dict(json.loads(text))


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars, paths and tuples into plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def record_for_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    reader: str,
    libraries: Iterable[str] = (),
    licence: str | None = None,
) -> Provenance:
    """Create a record for data read from ``paths`` by ``reader``.

    Hashes every existing file (a missing one is kept with its path only).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return Provenance(
        reader=reader,
        sources=[SourceFile.from_path(p) for p in paths],
        versions=library_versions(*libraries),
        licence=licence,
    )


def attach(obj: Any, record: Provenance) -> Any:
    """Store ``record`` on a (Geo)DataFrame / Raster / Network's ``attrs`` and return the object."""
    obj.attrs[ATTRS_KEY] = record
    return obj


def get(obj: Any) -> Provenance | None:
    """The record stored on ``obj.attrs`` (a Provenance, or its dict form), or None."""
    attrs = getattr(obj, "attrs", None)
    if not attrs:
        return None
    value = attrs.get(ATTRS_KEY)
    if isinstance(value, Provenance):
        return value
    if isinstance(value, Mapping):
        return Provenance.from_dict(value)
    return None
