"""OpenStreetMap extracts (``.osm.pbf`` / ``.osm``) as network lines, through GDAL's OSM driver.

GDAL exposes OSM ways as a ``lines`` layer with the columns ``osm_id, name, highway, waterway,
aerialway, barrier, man_made, railway, z_order`` and the remaining tags in ``other_tags``
(an hstore string ``"key"=>"value",...``). :func:`read_osm_lines` reads that layer with pyogrio,
unpacks the tags cimkit uses and keeps the ways of one network kind:

``road``
    ways with a ``highway`` tag, except ``proposed``, ``construction``, ``abandoned``,
    ``disused``, ``razed``, ``platform``, ``raceway``, ``bus_stop``, ``rest_area``,
    ``services`` (not travelled ways). Tags kept: ``highway``, ``maxspeed``, ``oneway``,
    ``junction``, ``access``, ``bridge``, ``tunnel``, ``layer``.
``water``
    ``man_made=pipeline`` with ``substance`` in ``water``, ``drinking_water``, ``hot_water``
    (supply only; ``rainwater`` is drainage and goes to ``sewer``).
``sewer``
    ``man_made=pipeline`` with ``substance`` in ``sewage``, ``wastewater``, ``rainwater``.
``power``
    ways tagged ``power=line``, ``minor_line`` or ``cable``; tags ``voltage``, ``cables``,
    ``location``.

The format is found from the content, not the name: OSM XML (``.osm``) and PBF (``.osm.pbf``),
either of them compressed with gzip, bzip2 or xz (``.osm.bz2``, ``.osm.gz`` as Geofabrik and
Overpass serve them) -- decompressed through :func:`cimkit.io._archive.open_decompressed` to a
temporary file, counted against ``max_decompressed_mb`` and ``max_compression_ratio`` while it
is written. OSM XML is checked to be well formed (expat, streaming) before GDAL reads it: GDAL
stops at the first error with a byte offset, cimkit names the line (``NET007``). A document
type declaration is refused (``NET008``): OSM XML has none, and entities are how XML bombs work.

Waterways (rivers, streams, ditches) are **not** taken for any kind: they are hydrography, not
supply or drainage networks; read them as a plain layer if needed. Relations
(``multilinestrings`` layer) are not read: OSM networks are mapped as ways.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

import geopandas as gpd
import pandas as pd

from cimkit.errors import CimkitIOError, FileFormatError, ValidationError
from cimkit.io._archive import detect_compression, open_decompressed

__all__ = ["OSM_SUFFIXES", "read_osm_lines"]

logger = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".osm.xz")

ROAD_EXCLUDED = frozenset(
    {
        "proposed",
        "construction",
        "abandoned",
        "disused",
        "razed",
        "platform",
        "raceway",
        "bus_stop",
        "rest_area",
        "services",
    }
)
WATER_SUBSTANCES = frozenset({"water", "drinking_water", "hot_water"})
SEWER_SUBSTANCES = frozenset({"sewage", "wastewater", "rainwater"})
POWER_VALUES = frozenset({"line", "minor_line", "cable"})

_TAGS_BY_KIND = {
    "road": ("maxspeed", "oneway", "junction", "access", "bridge", "tunnel", "layer"),
    "water": ("substance", "diameter", "location", "operator"),
    "sewer": ("substance", "diameter", "location", "operator"),
    "power": ("power", "voltage", "cables", "location", "operator"),
}
_PAIR = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


_CHUNK = 1 << 20


class _NotOsm(Exception):
    pass


def _check_xml(head: bytes, stream: IO[bytes], sink: IO[bytes] | None, path: Path) -> None:
    """Parse OSM XML with expat (streaming), copying it to ``sink``; raise with the line on an error."""
    parser = expat.ParserCreate()
    root: list[str] = []

    def start(name: str, attrs: Any) -> None:
        if not root:
            root.append(name)
            if name != "osm":
                raise _NotOsm(f"the XML root element is <{name}>, not <osm>")

    def doctype(*args: Any) -> None:
        raise _NotOsm("the XML declares a document type (DTD); OSM XML has none")

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    chunk = head
    try:
        while chunk:
            if sink is not None:
                sink.write(chunk)
            parser.Parse(chunk, False)
            chunk = stream.read(_CHUNK)
        parser.Parse(b"", True)
    except expat.ExpatError as err:
        raise FileFormatError(
            f"the OSM XML is truncated or not well formed: {expat.ErrorString(err.code)} "
            f"(line {err.lineno}, column {err.offset})",
            path=path,
            line=err.lineno,
            code="NET007",
            hint="download the extract again; a cut-off transfer leaves the file without its closing </osm>.",
        ) from err
    except _NotOsm as err:
        raise FileFormatError(
            str(err), path=path, line=parser.CurrentLineNumber, code="NET008", hint="pass an OSM extract."
        ) from err


def _prepare_source(path: Path, folder: Path) -> Path:
    """Return the file GDAL's OSM driver should read: ``path``, or its decompressed copy in ``folder``."""
    compression = detect_compression(path)
    if compression == "zip":
        raise FileFormatError(
            "the file is a zip archive",
            path=path,
            code="NET008",
            hint="extract the .osm / .osm.pbf file first.",
        )
    with open_decompressed(path) as stream:
        head = stream.read(_CHUNK)
        if b"OSMHeader" in head[:64]:
            if compression is None:
                return path
            out = folder / "extract.osm.pbf"
            with open(out, "wb") as sink:
                sink.write(head)
                shutil.copyfileobj(stream, sink, _CHUNK)
            return out
        if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise FileFormatError(
                "neither OSM XML nor OSM PBF (found by content)",
                path=path,
                code="NET008",
                hint="give an OpenStreetMap .osm.pbf or .osm extract (possibly .bz2 / .gz compressed).",
            )
        if compression is None:
            _check_xml(head, stream, None, path)
            return path
        out = folder / "extract.osm"
        with open(out, "wb") as sink:
            _check_xml(head, stream, sink, path)
        return out


def _is_osm_path(path: str | os.PathLike[str]) -> bool:
    """Tell whether a file name ends in ``.osm.pbf``, ``.pbf`` or ``.osm``."""
    name = os.fspath(path).lower()
    return name.endswith(OSM_SUFFIXES)


def _parse_other_tags(text: Any) -> dict[str, str]:
    """Parse GDAL's ``other_tags`` hstore string into a dict (empty for null)."""
    if not isinstance(text, str) or not text:
        return {}
    return {k.replace('\\"', '"'): v.replace('\\"', '"') for k, v in _PAIR.findall(text)}


def read_osm_lines(path: str | os.PathLike[str], *, kind: str) -> gpd.GeoDataFrame:
    """Read the OSM ways of one network kind, in EPSG:4326, with their ``osm_id``.

    Parameters
    ----------
    path
        An ``.osm.pbf`` or ``.osm`` file, possibly compressed (``.osm.bz2``, ``.osm.gz``); the
        format is found from the content.
    kind
        ``road``, ``water``, ``sewer`` or ``power`` (what each takes is in the module docstring).

    Returns
    -------
    GeoDataFrame
        Columns ``osm_id``, ``name``, ``highway`` (roads) / ``man_made`` and the tags of the
        kind, LineString geometry in EPSG:4326, on a fresh RangeIndex.

    Raises
    ------
    ValidationError
        ``kind`` is not one of the four network kinds.
    CimkitIOError, FileFormatError
        The file does not exist; OSM XML that is truncated or not well formed, with its line
        (``NET007``); neither OSM XML nor PBF, or XML with a DTD (``NET008``); or GDAL's OSM
        driver cannot read it.
    ResourceLimitError
        The file passes ``max_input_mb``, or decompresses past ``max_decompressed_mb`` /
        ``max_compression_ratio``.

    Examples
    --------
    A tiny OSM XML extract: a residential street and a way under construction (left out).
    :func:`cimkit.read_network` builds the network from these lines.

    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "town.osm"
    >>> _ = path.write_text(
    ...     '<osm version="0.6">'
    ...     '<node id="1" lat="48.70" lon="2.30"/><node id="2" lat="48.70" lon="2.31"/>'
    ...     '<node id="3" lat="48.71" lon="2.31"/>'
    ...     '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/>'
    ...     '<tag k="name" v="Rue des Lilas"/><tag k="maxspeed" v="30"/></way>'
    ...     '<way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="construction"/></way>'
    ...     "</osm>"
    ... )
    >>> roads = read_osm_lines(path, kind="road")
    >>> roads[["osm_id", "name", "highway", "maxspeed"]].values.tolist()
    [[10, 'Rue des Lilas', 'residential', '30']]
    >>> roads.crs.to_epsg()
    4326
    >>> folder.cleanup()
    """
    import pyogrio

    if kind not in _TAGS_BY_KIND:
        raise ValidationError(f"'kind' must be one of road, water, sewer, power; {kind!r} was given.")
    path = Path(path)
    if not path.is_file():
        raise CimkitIOError("file not found", path=path, hint="check the path.")
    with tempfile.TemporaryDirectory(prefix="cimkit-osm-") as folder:
        source = _prepare_source(path, Path(folder))
        try:
            frame = pyogrio.read_dataframe(source, layer="lines", use_arrow=False)
        except Exception as err:  # pyogrio raises DataSourceError / DataLayerError / GDAL errors
            raise FileFormatError(
                f"GDAL's OSM driver could not read the ways ({err})",
                path=path,
                layer="lines",
                hint="give an OpenStreetMap .osm.pbf or .osm extract.",
            ) from err
    tags = frame["other_tags"].map(_parse_other_tags) if "other_tags" in frame.columns else None

    def tag(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name]
        if tags is None:
            return pd.Series(None, index=frame.index, dtype="object")
        return tags.map(lambda d: d.get(name))

    if kind == "road":
        highway = tag("highway")
        keep = highway.notna() & ~highway.isin(ROAD_EXCLUDED)
    elif kind in ("water", "sewer"):
        substance = tag("substance").fillna("").str.lower()
        wanted = WATER_SUBSTANCES if kind == "water" else SEWER_SUBSTANCES
        keep = (tag("man_made") == "pipeline") & substance.isin(wanted)
    else:
        keep = tag("power").isin(POWER_VALUES)
    base_cols = ["osm_id", "name", "highway"] if kind == "road" else ["osm_id", "name", "man_made"]
    out = frame.loc[keep, [c for c in base_cols if c in frame.columns]].copy()
    for name in _TAGS_BY_KIND[kind]:
        out[name] = tag(name)[keep].to_numpy()
    out = gpd.GeoDataFrame(out, geometry=frame.geometry[keep].to_numpy(), crs=frame.crs or "EPSG:4326")
    out["osm_id"] = pd.to_numeric(out["osm_id"], errors="coerce").astype("Int64")
    out.index = pd.RangeIndex(len(out))
    logger.info("%s: %d OSM ways of kind %s out of %d", path.name, len(out), kind, len(frame))
    return out
