"""Reading the PostGIS store: catalog, restricted schema, layers, networks and DEM.

Private to :mod:`cimkit.io.postgis` (see there for the layout).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pyproj import CRS

from cimkit import provenance as prov
from cimkit.errors import CimkitWarning, FileFormatError, LayerNotFoundError
from cimkit.io import _postgis_raster as _raster
from cimkit.io import _postgis_tables as _tables
from cimkit.io.gpkg import DEM_TABLE, StoredModel
from cimkit.network.graph import Network

FORMAT_VERSION = 1


def _readable(cur: Any, schema: str) -> bool | None:
    """Return True (readable), False (there but not readable by this role) or None (no catalog there)."""
    cur.execute(
        "SELECT has_schema_privilege(n.oid, 'USAGE'), c.oid IS NOT NULL AND has_table_privilege(c.oid, 'SELECT') "
        "FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'cimkit_layers' "
        "WHERE n.nspname = %s",
        [schema],
    )
    row = cur.fetchone()
    if row is None:
        return None
    if not row[0]:
        return False
    return bool(row[1]) or None


def load(cur: Any, target: Any, bbox: Sequence[float] | None, wanted: Sequence[str] | None) -> StoredModel:
    from psycopg import sql

    if not _readable(cur, target.schema):
        raise FileFormatError(
            f"schema {target.schema!r} holds no city model readable by this role",
            path=target.where,
            hint="save one with model.to_postgis(dsn), or name the schema with ?schema=.",
            code="MOD052",
        )
    cur.execute(
        sql.SQL("SELECT value FROM {}.cimkit_metadata WHERE key = 'cimkit'").format(
            sql.Identifier(target.schema)
        )
    )
    row = cur.fetchone()
    if row is None:
        raise FileFormatError(
            f"schema {target.schema!r} has no cimkit metadata",
            path=target.where,
            hint="save the model again.",
            code="MOD052",
        )
    meta = row[0]
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise FileFormatError(
            f"the schema uses cimkit model format {meta['format_version']}, newer than this cimkit reads "
            f"({FORMAT_VERSION})",
            path=target.where,
            hint="upgrade cimkit.",
            code="MOD055",
        )
    crs, srid = CRS.from_wkt(meta["crs"]), int(meta.get("srid", 0))
    schemas = [target.schema]
    readable = _readable(cur, target.restricted)
    if readable:
        schemas.append(target.restricted)
    elif readable is False:
        warnings.warn(
            CimkitWarning(
                f"{target.where}: schema {target.restricted!r} holds restricted layers this role may not read; "
                "they are not loaded. Connect as a role granted that schema to load them.",
                code="MOD150",
            ),
            stacklevel=4,
        )
    entries, raw_records = [], []
    for schema in schemas:
        ident = sql.Identifier(schema)
        cur.execute(
            sql.SQL("SELECT table_name, part, role, position, spec FROM {}.cimkit_layers").format(ident)
        )
        entries += [(schema, *row) for row in cur.fetchall()]
        cur.execute(sql.SQL("SELECT layer, position, record::text FROM {}.cimkit_provenance").format(ident))
        raw_records += cur.fetchall()
    entries.sort(key=lambda e: (e[4], e[1]))
    parts = {e[2] for e in entries}
    if wanted is not None:
        missing = [w for w in wanted if w not in parts]
        if missing:
            raise LayerNotFoundError(
                f"no layer {', '.join(map(repr, missing))} in schema {target.schema!r}; it has {', '.join(sorted(parts))}",
                path=target.where,
            )
    records = {r[0]: prov.Provenance.from_json(r[2]) for r in sorted(raw_records, key=lambda r: r[1])}
    if wanted is not None:
        records = {k: v for k, v in records.items() if k in wanted}
    selected = [e for e in entries if wanted is None or e[2] in wanted]
    return _assemble(cur, meta, crs, srid, selected, records, bbox)


def _assemble(
    cur: Any,
    meta: Mapping[str, Any],
    crs: CRS,
    srid: int,
    entries: list[tuple[Any, ...]],
    records: dict[str, prov.Provenance],
    bbox: Sequence[float] | None,
) -> StoredModel:
    frames: dict[str, tuple[str, dict[str, Any]]] = {}
    layers: dict[str, pd.DataFrame] = {}
    dem = None
    for schema, table, part, role, _, spec in entries:
        if role == "layer":
            layers[part] = prov.attach(
                _tables.read_table(cur, schema, spec, crs, bbox=bbox, srid=srid),
                records.setdefault(part, prov.Provenance(layer=part)),
            )
        elif role == "dem":
            dem = _raster.read_dem(cur, schema, spec, crs, bbox=bbox, srid=srid)
            if dem is not None:
                dem = prov.attach(dem, records.setdefault(DEM_TABLE, prov.Provenance(layer=DEM_TABLE)))
        else:
            frames[table] = (schema, spec)
    networks: dict[str, Network] = {}
    for part in dict.fromkeys(e[2] for e in entries if e[3] in ("nodes", "edges")):
        kind = part.removeprefix("network_")
        nodes_schema, nodes_spec = frames[f"{part}_nodes"]
        edges_schema, edges_spec = frames[f"{part}_edges"]
        edges = _tables.read_table(cur, edges_schema, edges_spec, crs, bbox=bbox, srid=srid)
        nodes = _tables.read_table(cur, nodes_schema, nodes_spec, crs, bbox=None, srid=srid)
        if bbox is not None and "u" in edges.columns and "v" in edges.columns:
            minx, miny, maxx, maxy = map(float, bbox)
            inside = (
                nodes.geometry.intersects(_box(minx, miny, maxx, maxy))
                if hasattr(nodes, "geometry")
                else False
            )
            nodes = nodes[inside | nodes.index.isin(edges["u"]) | nodes.index.isin(edges["v"])]
        net = Network(nodes, edges, kind=kind, report=edges_spec.get("report"))
        networks[kind] = prov.attach(net, records.setdefault(part, prov.Provenance(layer=part)))
    return StoredModel(
        name=meta.get("name", "city"), crs=crs, layers=layers, networks=networks, dem=dem, records=records
    )


def _box(minx: float, miny: float, maxx: float, maxy: float) -> Any:
    from shapely.geometry import box

    return box(minx, miny, maxx, maxy)
