r"""Format detection by content: the first bytes of a file decide, the extension only breaks ties.

:func:`detect_format` reads at most :data:`HEAD_BYTES` of a file (of the first decompressed bytes
for a gzip / bz2 / xz stream, through :mod:`cimkit.io._archive` and its limits; of a zip, the
member names and the head of its one data member), plus, for a Parquet file, its footer. It
never parses the whole file. The format strings are stable: ``cimkit convert`` dispatches on them.

========================  ======================================================================
format                    recognised by
========================  ======================================================================
``"ifc"``                 ``ISO-10303-21;`` header (STEP); a zip holding a ``.ifc`` (``.ifczip``)
``"cityjson"``            JSON object with ``"type": "CityJSON"``
``"cityjsonseq"``         a CityJSON first line followed by ``"type": "CityJSONFeature"`` lines
``"citygml"``             XML root ``CityModel`` in a ``http://www.opengis.net/citygml/{1.0,2.0,3.0}``
                          namespace (``version`` field)
``"geojson"``             JSON with a GeoJSON ``type`` (``FeatureCollection``, ``Feature``, ...)
``"gpkg"``                SQLite header with the GeoPackage application id or ``gpkg_contents``
``"shapefile"``           the ``.shp`` file code 9994; a zip holding a ``.shp``
``"flatgeobuf"``          magic ``fgb\x03``
``"geoparquet"``          ``PAR1`` magic and a ``geo`` key in the footer metadata
``"osm-xml"``             XML root ``<osm``
``"osm-pbf"``             a first blob header of type ``OSMHeader``
``"epanet"``              ``[TITLE]`` / ``[JUNCTIONS]`` / ``[PIPES]`` ... section lines
``"gtfs"``                a zip (or folder) holding ``stops.txt``
``"gml"``                 other XML in a GML namespace (WFS feature collections ...)
``"kml"``                 XML root ``kml``
``"csv"``                 text lines with the same number (>= 1) of ``,`` / ``;`` / tab separators
``"unknown"``             anything else (the ``reason`` says what was seen)
========================  ======================================================================
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from cimkit.errors import CimkitError, CimkitIOError
from cimkit.io._archive import detect_compression, open_decompressed, open_zip

__all__ = ["FORMATS", "HEAD_BYTES", "DetectedFormat", "detect_format"]

#: Bytes read from the start of a file (or of its decompressed stream) to decide its format.
HEAD_BYTES = 256 * 1024
#: The format strings :func:`detect_format` returns.
FORMATS = (
    "ifc",
    "cityjson",
    "cityjsonseq",
    "citygml",
    "geojson",
    "gpkg",
    "shapefile",
    "flatgeobuf",
    "geoparquet",
    "osm-xml",
    "osm-pbf",
    "epanet",
    "gtfs",
    "gml",
    "kml",
    "csv",
    "unknown",
)
_EXTENSIONS = {  # tie-breaks only: used when the content is inconclusive
    ".ifc": "ifc",
    ".ifczip": "ifc",
    ".city.json": "cityjson",
    ".city.jsonl": "cityjsonseq",
    ".jsonl": "cityjsonseq",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gml": "gml",
    ".osm": "osm-xml",
    ".inp": "epanet",
    ".kml": "kml",
    ".csv": "csv",
    ".txt": "csv",
}
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")
_GEOJSON_TYPES = (
    "FeatureCollection",
    "Feature",
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)
_TYPE = re.compile(r'"type"\s*:\s*"([A-Za-z]+)"')
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]")
_EPANET = re.compile(
    r"^\s*\[(TITLE|JUNCTIONS|PIPES|RESERVOIRS|TANKS|PUMPS|VALVES|COORDINATES)\]", re.I | re.M
)


@dataclass(frozen=True)
class DetectedFormat:
    """What :func:`detect_format` found.

    Attributes
    ----------
    format
        One of :data:`FORMATS`.
    compression
        ``"gzip"``, ``"bz2"``, ``"xz"``, ``"zip"`` or None.
    reason
        One sentence saying what decided (``"XML root CityModel in the CityGML 2.0 namespace"``).
    version
        The format version when the head states it (CityGML ``"2.0"``, CityJSON ``"2.0"``,
        IFC schema ``"IFC4"``), else None.
    member
        The zip member the format was read from, when there is one.
    """

    format: str
    compression: str | None
    reason: str
    version: str | None = None
    member: str | None = None


def _strip_compression(name: str) -> str:
    lower = name.lower()
    for suffix in _COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return lower


def _by_extension(name: str) -> str | None:
    lower = _strip_compression(name)
    for suffix in sorted(_EXTENSIONS, key=len, reverse=True):
        if lower.endswith(suffix):
            return _EXTENSIONS[suffix]
    return None


def _xml(head: bytes) -> tuple[str, str, str | None]:
    """(format, reason, version) of an XML head."""
    body = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", head, flags=re.S)
    match = _ROOT.search(body)
    if match is None:
        return "unknown", "XML without a root element in its first bytes", None
    prefix = (match.group(1) or b"").rstrip(b":").decode("ascii", "replace")
    root = match.group(2).decode("ascii", "replace")
    attr = f"xmlns:{prefix}" if prefix else "xmlns"
    ns_match = re.search(rf'{re.escape(attr)}\s*=\s*["\']([^"\']*)["\']'.encode(), body)
    namespace = ns_match.group(1).decode("utf-8", "replace") if ns_match else ""
    if root == "osm":
        return "osm-xml", "XML root <osm>", None
    if root == "kml" or "opengis.net/kml" in namespace:
        return "kml", f"XML root <{root}> (KML)", None
    citygml = re.fullmatch(r"https?://www\.opengis\.net/citygml/(\d\.\d)/?", namespace)
    if root == "CityModel" and citygml:
        version = citygml.group(1)
        return "citygml", f"XML root CityModel in the CityGML {version} namespace", version
    if "opengis.net/gml" in namespace or b"http://www.opengis.net/gml" in body[:8192]:
        return "gml", f"XML root <{root}> with a GML namespace (not a CityGML CityModel)", None
    return "unknown", f"XML root <{root}> in {namespace or 'no namespace'}: no reader for it", None


def _json(text: str) -> tuple[str, str, str | None]:
    """(format, reason, version) of a JSON head."""
    first, _, rest = text.partition("\n")
    types = _TYPE.findall(first) if rest.strip() else _TYPE.findall(text)
    version = re.search(r'"version"\s*:\s*"([\d.]+)"', first)
    ver = version.group(1) if version else None
    if "CityJSON" in types:
        if "CityJSONFeature" in _TYPE.findall(rest[:4096]):
            return "cityjsonseq", "a CityJSON line followed by CityJSONFeature lines", ver
        return "cityjson", 'JSON with "type": "CityJSON"', ver
    if "CityJSONFeature" in types:
        return "cityjsonseq", 'JSON lines with "type": "CityJSONFeature"', ver
    if re.search(r'"CityObjects"\s*:\s*\{', first):
        return "cityjson", 'JSON with a "CityObjects" member (CityJSON)', ver
    found = [t for t in _TYPE.findall(text) if t in _GEOJSON_TYPES]
    if found or re.search(r'"features"\s*:\s*\[', text):
        return "geojson", f'JSON with a GeoJSON "type" ({found[0] if found else "features"})', None
    return "unknown", "JSON without a CityJSON or GeoJSON type in its first bytes", None


def _csv(text: str) -> bool:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(text) >= HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    if not lines or any(ord(c) < 9 for c in text[:4096]):
        return False
    for sep in (",", ";", "\t", "|"):
        counts = {line.count(sep) for line in lines}
        if len(counts) == 1 and counts.pop() >= 1:
            return True
    return False


def _sniff(head: bytes, name: str) -> tuple[str, str, str | None]:
    """(format, reason, version) of a file's first bytes; ``name`` breaks ties."""
    if head.startswith(b"fgb\x03"):
        return "flatgeobuf", "magic bytes fgb\\x03", None
    if head.startswith(b"SQLite format 3\x00"):
        app_id = head[68:72]
        if app_id in (b"GPKG", b"GP10", b"GP11") or b"gpkg_contents" in head:
            return "gpkg", "SQLite database with the GeoPackage application id / gpkg_contents", None
        return "unknown", "an SQLite database that is not a GeoPackage", None
    if head[:4] == b"\x00\x00\x27\x0a":
        return "shapefile", "shapefile main file (file code 9994)", None
    if len(head) > 8 and b"OSMHeader" in head[4 : 4 + struct.unpack(">I", head[:4])[0] + 4]:
        return "osm-pbf", "first blob header of type OSMHeader", None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("ISO-10303-21"):
        schema = re.search(r"FILE_SCHEMA\s*\(\s*\(\s*'([^']+)'", text)
        return "ifc", "ISO-10303-21 (STEP) header", schema.group(1) if schema else None
    if text.startswith("<"):
        return _xml(head.lstrip(b"\xef\xbb\xbf \t\r\n"))
    if _EPANET.match(text):
        return "epanet", "EPANET [SECTION] lines", None
    if text.startswith(("{", "[")):
        found = _json(text)
        if found[0] == "unknown" and _by_extension(name) in ("geojson", "cityjson", "cityjsonseq"):
            guess = _by_extension(name) or "unknown"
            return guess, f"JSON, inconclusive head; {guess} by the extension", None
        return found
    if _EPANET.search(text):
        return "epanet", "EPANET [SECTION] lines", None
    if _csv(text):
        return "csv", "text lines with a constant number of separators", None
    return "unknown", f"no known signature in the first {min(len(head), HEAD_BYTES)} bytes", None


def _parquet(path: Path) -> tuple[str, str, str | None]:
    try:
        import pyarrow.parquet as pq

        metadata = pq.read_metadata(path).metadata or {}
    except (ImportError, OSError, ValueError) as err:
        return "unknown", f"Parquet file whose footer cannot be read ({err})", None
    if b"geo" in metadata:
        return "geoparquet", "Parquet file with 'geo' metadata", None
    return "unknown", "a Parquet file without 'geo' metadata (plain table)", None


def _zip(path: Path) -> DetectedFormat:
    with open_zip(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/") and "__MACOSX" not in n]
        bases = {n.rsplit("/", 1)[-1].lower(): n for n in names}
        if "stops.txt" in bases:
            return DetectedFormat("gtfs", "zip", "zip holding stops.txt (GTFS)", member=bases["stops.txt"])
        for fmt, suffix in (("ifc", ".ifc"), ("shapefile", ".shp")):
            hit = next((n for n in names if n.lower().endswith(suffix)), None)
            if hit is not None:
                return DetectedFormat(fmt, "zip", f"zip holding {hit}", member=hit)
        if len(names) == 1:
            with archive.open(names[0]) as member:
                head = member.read(HEAD_BYTES)
            fmt, reason, version = _sniff(head, names[0])
            return DetectedFormat(fmt, "zip", f"zip of one member {names[0]}: {reason}", version, names[0])
    return DetectedFormat("unknown", "zip", f"zip of {len(names)} members, none with a known role")


def detect_format(path: str | os.PathLike[str]) -> DetectedFormat:
    """Detect a file's format from its content, the extension only breaking ties.

    Parameters
    ----------
    path
        A file (plain, gzip / bz2 / xz compressed, or a zip), or a folder (a GTFS feed).

    Returns
    -------
    DetectedFormat
        ``format`` (one of :data:`FORMATS`), ``compression``, a one-sentence ``reason``, and
        ``version`` when the head states it. A GeoJSON named ``.gpkg`` is ``"geojson"``.

    Raises
    ------
    CimkitIOError
        The path does not exist or cannot be read (``FMT001``).
    FileFormatError
        A corrupt or unsafe archive (``ARC001``, ``ARC002``).
    ResourceLimitError
        The file passes ``max_input_mb`` (compressed inputs).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = tempfile.TemporaryDirectory()
    >>> misnamed = Path(folder.name) / "parcels.gpkg"
    >>> _ = misnamed.write_text('{"type": "FeatureCollection", "features": []}')
    >>> found = detect_format(misnamed)
    >>> found.format, found.compression
    ('geojson', None)
    >>> gml = Path(folder.name) / "city.xml"
    >>> _ = gml.write_text('<CityModel xmlns="http://www.opengis.net/citygml/2.0"></CityModel>')
    >>> detect_format(gml).format, detect_format(gml).version
    ('citygml', '2.0')
    >>> folder.cleanup()
    """
    p = Path(path)
    if p.is_dir():
        if (p / "stops.txt").is_file():
            return DetectedFormat("gtfs", None, "folder holding stops.txt (GTFS)")
        return DetectedFormat("unknown", None, "a folder without stops.txt")
    if not p.is_file():
        raise CimkitIOError("the file does not exist", path=p, code="FMT001", hint="check the path")
    try:
        compression = detect_compression(p)
        if compression == "zip":
            return _zip(p)
        if compression is None:
            with open(p, "rb") as handle:
                head = handle.read(HEAD_BYTES)
            if head.startswith(b"PAR1"):
                fmt, reason, _ = _parquet(p)
                return DetectedFormat(fmt, None, reason)
        else:
            with open_decompressed(p) as handle:
                head = handle.read(HEAD_BYTES)
    except CimkitError:
        raise
    except OSError as err:
        raise CimkitIOError(
            f"cannot read the file ({err})", path=p, code="FMT001", hint="check the path"
        ) from err
    fmt, reason, version = _sniff(head, p.name)
    if fmt == "unknown" and not head.strip():
        guess = _by_extension(p.name)
        reason = "an empty file" + (f" (extension says {guess})" if guess else "")
    return DetectedFormat(fmt, compression, reason, version)
