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
import functools
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
    "compute_sha256",
    "get",
    "get_library_versions",
    "merge_records",
    "record_for_files",
    "summarise_records",
]

ATTRS_KEY = "provenance"
_CHUNK = 1 << 20


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def compute_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as handle:
    ...     _ = handle.write(b"cimkit")
    >>> compute_sha256(handle.name)[:16]
    'ba49886f23a232a9'
    >>> os.remove(handle.name)
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def get_library_versions(*names: str) -> dict[str, str]:
    """Return the installed versions of cimkit and the named distributions (absent ones are skipped).

    Examples
    --------
    >>> versions = get_library_versions("numpy", "not-a-distribution")
    >>> sorted(versions)
    ['cimkit', 'numpy']
    """
    versions: dict[str, str] = {}
    for name in ("cimkit", *names):
        version = _version(name)
        if version is not None:
            versions[name] = version
    return versions


@functools.lru_cache(maxsize=256)
def _version(name: str) -> str | None:
    """Return the installed version of ``name`` (looked up once per process: every read records it)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@dataclass
class SourceFile:
    """One input file: the path as given, its sha256 and its size in bytes.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> source = SourceFile.from_path(sample_city_path() / "zone_rules.csv")
    >>> source.path.endswith("zone_rules.csv"), len(source.sha256), source.size_bytes > 0
    (True, 64, True)
    """

    path: str
    sha256: str | None = None
    size_bytes: int | None = None

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> SourceFile:
        """Describe ``path``, hashing it when it is a file (a missing file keeps its path only).

        Examples
        --------
        >>> SourceFile.from_path("no/such/file.csv")
        SourceFile(path='no/such/file.csv', sha256=None, size_bytes=None)
        """
        p = Path(path)
        if p.is_file():
            return cls(os.fspath(path), compute_sha256(p), p.stat().st_size)
        return cls(os.fspath(path))


@dataclass
class Step:
    """One operation applied to a layer, in order: ``action`` plus its parameters.

    Examples
    --------
    >>> step = Step("repair", "make_valid", {"count": 2})
    >>> step.action, step.params["count"], step.time.endswith("+00:00")
    ('repair', 2, True)
    """

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
    source_files
        The input files, with hashes and sizes.
    versions
        Versions of cimkit and the libraries the reader used.
    licence
        The data licence when known (``"Licence Ouverte 2.0"``, ``"ODbL-1.0"``).
    created
        ISO-8601 UTC time the record was made.
    steps
        Ordered operations applied since reading (reprojection, repairs, filters ...).
    sensitivity
        Who may see the layer: ``"public"``, ``"internal"``, ``"restricted"`` or
        ``"sensitive"`` (see :mod:`cimkit._sensitivity`); None: the default of its kind.
    owner
        Who is responsible for the data (a service, an organisation), when known.

    Examples
    --------
    >>> record = Provenance(reader="cimkit.read_parcels", licence="Licence Ouverte 2.0")
    >>> record.add_step("filter", "keep commune 91999", kept=97).steps[0].params
    {'kept': 97}
    >>> Provenance.from_json(record.to_json()) == record
    True
    """

    layer: str | None = None
    reader: str = "in-memory"
    source_files: list[SourceFile] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    licence: str | None = None
    created: str = field(default_factory=_now)
    steps: list[Step] = field(default_factory=list)
    sensitivity: str | None = None
    owner: str | None = None

    def add_step(self, action: str, detail: str = "", **params: Any) -> Provenance:
        """Append a step and return ``self`` (so calls can be chained).

        Examples
        --------
        >>> record = Provenance().add_step("reproject", "EPSG:4326 -> EPSG:2154").add_step("join")
        >>> [step.action for step in record.steps]
        ['reproject', 'join']
        """
        self.steps.append(Step(action, detail, _jsonable(params)))
        return self

    @property
    def source(self) -> str | None:
        """The first source file's path as given, or None for in-memory data."""
        return self.source_files[0].path if self.source_files else None

    def copy(self) -> Provenance:
        """Return a deep copy (new source and step lists).

        Examples
        --------
        >>> record = Provenance(reader="test")
        >>> twin = record.copy().add_step("filter")
        >>> len(record.steps), len(twin.steps)
        (0, 1)
        """
        twin = copy.copy(self)
        twin.source_files = copy.deepcopy(self.source_files)
        twin.versions = dict(self.versions)
        twin.steps = copy.deepcopy(self.steps)
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> Provenance:
        """Copy the record's lists, sharing its steps and source files (never changed once made).

        pandas deep-copies a frame's ``attrs`` after nearly every operation; a layer read from
        many files carries thousands of steps, and copying each of them every time made the
        operations on a 100,000-building layer grow with the number of IFC files.
        :meth:`copy` stays a full copy.
        """
        twin = copy.copy(self)
        twin.source_files = list(self.source_files)
        twin.versions = dict(self.versions)
        twin.steps = list(self.steps)
        memo[id(self)] = twin
        return twin

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain dicts and lists (JSON-ready).

        Examples
        --------
        >>> Provenance(reader="test", created="2024-01-01T00:00:00+00:00").to_dict()["reader"]
        'test'
        """
        return asdict(self)

    def to_json(self) -> str:
        """Return the record as one JSON document (UTF-8 text, not ASCII-escaped).

        Examples
        --------
        >>> Provenance(licence="Licence Ouverte 2.0").to_json().count("Licence Ouverte 2.0")
        1
        """
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        """Build a record from :meth:`to_dict` output.

        Examples
        --------
        >>> data = {"reader": "cimkit.read_dem", "source_files": [{"path": "dem.tif"}]}
        >>> Provenance.from_dict(data).source
        'dem.tif'
        >>> Provenance.from_dict({"sensitivity": "sensitive", "owner": "water utility"}).sensitivity
        'sensitive'
        """
        return cls(
            layer=data.get("layer"),
            reader=data.get("reader", "in-memory"),
            source_files=[SourceFile(**s) for s in data.get("source_files", data.get("sources", []))],
            versions=dict(data.get("versions", {})),
            licence=data.get("licence"),
            created=data.get("created", _now()),
            steps=[Step(**s) for s in data.get("steps", [])],
            sensitivity=data.get("sensitivity"),
            owner=data.get("owner"),
        )

    @classmethod
    def from_json(cls, text: str) -> Provenance:
        """Build a record from :meth:`to_json` output.

        Examples
        --------
        >>> Provenance.from_json('{"reader": "cimkit.read_pois", "steps": [{"action": "filter"}]}').steps[0].action
        'filter'
        """
        return cls.from_dict(json.loads(text))


def merge_records(records: Iterable[Provenance | None]) -> Provenance | None:
    """One record for a layer read from many files: every source file, and every distinct step once.

    The first record is copied; the others add their source files and the steps it does not
    hold yet (in order). Steps are looked up by action, detail, time and parameter names before
    being compared, so merging the records of thousands of files stays linear.

    Examples
    --------
    >>> a = Provenance(reader="cimkit.read_ifc").add_step("geometry", "footprints", n=3)
    >>> b = a.copy().add_step("georeference", "IfcMapConversion")
    >>> merged = merge_records([a, None, b])
    >>> [step.action for step in merged.steps], merged is a
    (['geometry', 'georeference'], False)
    """
    merged: Provenance | None = None
    seen: dict[tuple[Any, ...], list[Step]] = {}

    def key(step: Step) -> tuple[Any, ...]:
        return (step.action, step.detail, step.time, tuple(sorted(step.params)))

    for record in records:
        if record is None:
            continue
        if merged is None:
            merged = record.copy()
            new = merged.steps
        else:
            merged.source_files += record.source_files
            new = [s for s in record.steps if not any(s is o or s == o for o in seen.get(key(s), ()))]
            merged.steps += new
        for step in new:
            seen.setdefault(key(step), []).append(step)
    return merged


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

    Parameters
    ----------
    paths
        One path or several.
    reader
        The dotted name of the reading function (``"cimkit.read_parcels"``).
    libraries
        Distributions whose versions are recorded besides cimkit's.
    licence
        The data licence when known.

    Examples
    --------
    >>> from cimkit.datasets import sample_city_path
    >>> record = record_for_files(sample_city_path() / "pois.geojson", reader="cimkit.read_pois",
    ...                           libraries=["numpy"], licence="ODbL-1.0")
    >>> record.reader, record.source.endswith("pois.geojson"), "numpy" in record.versions
    ('cimkit.read_pois', True, True)
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return Provenance(
        reader=reader,
        source_files=[SourceFile.from_path(p) for p in paths],
        versions=get_library_versions(*libraries),
        licence=licence,
    )


def attach(obj: Any, record: Provenance) -> Any:
    """Store ``record`` on a (Geo)DataFrame / Raster / Network's ``attrs`` and return the object.

    Examples
    --------
    >>> import pandas as pd
    >>> table = attach(pd.DataFrame({"a": [1]}), Provenance(reader="test"))
    >>> get(table).reader
    'test'
    """
    obj.attrs[ATTRS_KEY] = record
    return obj


def get(obj: Any) -> Provenance | None:
    """Return the record stored on ``obj.attrs`` (a Provenance, or its dict form), or None.

    Examples
    --------
    >>> import pandas as pd
    >>> get(pd.DataFrame()) is None
    True
    >>> frame = pd.DataFrame()
    >>> frame.attrs["provenance"] = {"reader": "cimkit.read_zoning"}
    >>> get(frame).reader
    'cimkit.read_zoning'
    """
    attrs = getattr(obj, "attrs", None)
    if not attrs:
        return None
    value = attrs.get(ATTRS_KEY)
    if isinstance(value, Provenance):
        return value
    if isinstance(value, Mapping):
        return Provenance.from_dict(value)
    return None


#: The columns of :func:`summarise_records`, after the ``layer`` index.
SUMMARY_COLUMNS = (
    "reader",
    "source",
    "sha256",
    "size_bytes",
    "n_source_files",
    "licence",
    "created",
    "versions",
    "n_steps",
    "steps",
)


def summarise_records(records: Mapping[str, Provenance]) -> Any:
    """Return one row per layer: source, sha256, size, reader, versions, licence, time and steps.

    Parameters
    ----------
    records
        Provenance records by layer name.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``layer``, with the columns of :data:`SUMMARY_COLUMNS`: the first source
        file's ``source`` path, ``sha256`` and ``size_bytes``; ``n_source_files``; ``versions``
        as ``"name version"`` pairs; ``n_steps`` and ``steps`` joined by arrows.

    Examples
    --------
    >>> record = Provenance(reader="cimkit.read_parcels", source_files=[SourceFile("parcels.geojson")])
    >>> table = summarise_records({"parcels": record.add_step("reproject", "EPSG:4326 -> EPSG:2154")})
    >>> row = table.loc["parcels"]
    >>> row["source"], int(row["n_steps"]), row["steps"]
    ('parcels.geojson', 1, 'reproject (EPSG:4326 -> EPSG:2154)')
    """
    import pandas as pd

    rows = []
    for name, rec in records.items():
        first = rec.source_files[0] if rec.source_files else None
        rows.append(
            {
                "layer": name,
                "reader": rec.reader,
                "source": first.path if first else None,
                "sha256": first.sha256 if first else None,
                "size_bytes": first.size_bytes if first else None,
                "n_source_files": len(rec.source_files),
                "licence": rec.licence,
                "created": rec.created,
                "versions": ", ".join(f"{k} {v}" for k, v in rec.versions.items()),
                "n_steps": len(rec.steps),
                "steps": " → ".join(s.action + (f" ({s.detail})" if s.detail else "") for s in rec.steps),
            }
        )
    return pd.DataFrame(rows, columns=["layer", *SUMMARY_COLUMNS]).set_index("layer")
