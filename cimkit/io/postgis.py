"""The PostGIS store of a city model: a shared database for GIS teams, updated in place.

:func:`write_postgis` saves the parts of a model (layers, networks, DEM, provenance) to a
PostgreSQL/PostGIS schema and :func:`read_postgis` reads them back as the same
:class:`~cimkit.io.gpkg.StoredModel` the GeoPackage store returns;
:meth:`cimkit.model.CityModel.to_postgis` and :func:`cimkit.model.read_model` assemble a
:class:`~cimkit.model.CityModel` from them. This module sits below the model and does not know it.

The schema (``city`` by default, or ``?schema=`` in the DSN) holds

- one table per vector layer or attribute table: the layer's index as primary key (or the row
  position when the index is not unique), typed columns (``bigint``, ``real``, ``boolean``,
  ``timestamptz``, ``jsonb``, ``date``, ``text`` ...), a ``geometry`` column in the model's
  SRID with a GiST index, and three bookkeeping columns: ``_cimkit_row`` (order),
  ``_cimkit_hash`` (a hash of the row) and ``_cimkit_updated`` (when the row was last written);
- ``network_<kind>_nodes`` and ``network_<kind>_edges``, the edges' ``u`` and ``v`` as foreign
  keys to the nodes;
- ``dem``: the DEM as PostGIS raster tiles of 256 x 256 cells (dtype kept exactly);
- ``cimkit_metadata`` (format version, name, CRS), ``cimkit_layers`` (how to restore each table)
  and ``cimkit_provenance`` (one JSON record per layer).

Layers above the public level (``levels``, or the record's ``sensitivity``; water, sewer and
power networks by default) go to ``<schema>_restricted`` with its own catalog, so a role granted
only the main schema cannot read them (``public_role``, ``restricted_role``).

A save is one transaction under an advisory lock on the schema: a second writer waits (up to
``wait_s``) and readers keep seeing the previous version until it commits. A save compares each
table with what is stored: an unchanged table is left alone, a table with the same columns is
updated row by row (by index; only new or changed rows are written and get a new
``_cimkit_updated``), and the update is recorded as an ``update_postgis`` step in the layer's
provenance. See ``docs/postgis.md``.

Examples
--------
>>> import geopandas as gpd
>>> import pandas as pd
>>> from shapely.geometry import box
>>> parcels = gpd.GeoDataFrame(
...     {"contenance": [400]}, geometry=[box(0, 0, 20, 20)],
...     index=pd.Index(["91999000AB0001"], name="parcel_id"), crs=2154)
>>> dsn = "postgresql://postgres@127.0.0.1:55432/postgres?schema=doc_city"
>>> write_postgis(dsn, crs=2154, layers={"parcels": parcels})  # doctest: +SKIP
{'parcels': {'inserted': 1, 'updated': 0, 'deleted': 0, 'unchanged': 0}}
>>> read_postgis(dsn).layers["parcels"].equals(parcels)  # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd
from pyproj import CRS

from cimkit import provenance as prov
from cimkit.errors import CimkitIOError, CimkitWarning, ValidationError
from cimkit.io import _postgis_read as _read
from cimkit.io import _postgis_sql as _sql
from cimkit.io import _postgis_tables as _tables
from cimkit.io import _postgis_write as _write
from cimkit.io._postgis_read import FORMAT_VERSION
from cimkit.io._postgis_write import LEVELS, SENSITIVE_KINDS
from cimkit.io.gpkg import DEM_TABLE, RESERVED_TABLES, StoredModel
from cimkit.network.graph import Network
from cimkit.raster import Raster

__all__ = ["LEVELS", "SENSITIVE_KINDS", "link_in_postgis", "read_postgis", "write_postgis"]

logger = logging.getLogger(__name__)

_CATALOG = ("cimkit_metadata", "cimkit_layers", "cimkit_provenance")


@dataclass
class _Target:
    """Where and how a save goes."""

    conninfo: str
    schema: str
    restricted: str
    where: str  # the DSN without its password, for messages


def _target(dsn: str, schema: str | None) -> _Target:
    """Split ``?schema=`` off the DSN; refuse a schema name PostgreSQL would truncate."""
    where, conninfo, from_dsn = dsn, dsn, None
    if "://" in dsn:
        parts = urlsplit(dsn)
        query = parse_qsl(parts.query, keep_blank_values=True)
        from_dsn = next((v for k, v in query if k == "schema"), None)
        conninfo = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "schema"])))
        netloc = parts.netloc.rsplit("@", 1)
        if len(netloc) == 2 and ":" in netloc[0]:
            netloc[0] = netloc[0].split(":", 1)[0] + ":***"
        where = urlunsplit(parts._replace(netloc="@".join(netloc)))
    name = schema or from_dsn or "city"
    restricted = f"{name}_restricted"
    if len(restricted.encode("utf-8")) > _tables.MAX_IDENTIFIER_BYTES or name.startswith("pg_"):
        raise ValidationError(
            f"schema name {name!r} is too long or reserved (at most 52 bytes, not starting with pg_)",
            path=where,
            hint="pass a shorter schema name.",
            code="MOD056",
        )
    return _Target(conninfo=conninfo, schema=name, restricted=restricted, where=where)


@contextmanager
def _connect(target: _Target) -> Iterator[Any]:
    """Open a connection (UTC session time zone); errors become a typed CimkitIOError."""
    import psycopg

    try:
        conn = psycopg.connect(target.conninfo, autocommit=True, connect_timeout=10)
    except psycopg.Error as err:
        raise CimkitIOError(
            f"cannot connect to the database ({str(err).strip().splitlines()[0]})",
            path=target.where,
            hint="check the DSN (host, port, user, database) and that the server is running.",
            code="MOD050",
        ) from err
    try:
        conn.execute("SET TIME ZONE 'UTC'")
        yield conn
    finally:
        conn.close()


# ---------------------------------------------------------------------------------- writing
def write_postgis(
    dsn: str,
    *,
    crs: Any,
    name: str = "city",
    layers: Mapping[str, pd.DataFrame] | None = None,
    networks: Mapping[str, Network] | None = None,
    dem: Raster | None = None,
    records: Mapping[str, prov.Provenance] | None = None,
    schema: str | None = None,
    levels: Mapping[str, str] | None = None,
    public_role: str | None = None,
    restricted_role: str | None = None,
    wait_s: float = 60.0,
) -> dict[str, dict[str, int]]:
    """Save the parts of a city model to a PostGIS schema in one transaction, incrementally.

    Parameters
    ----------
    dsn
        A PostgreSQL connection string (``postgresql://user@host:5432/db?schema=city``); the
        ``schema`` query parameter names the schema.
    crs
        The model's CRS. Geometries get its EPSG code as SRID (0 when it has none or PostGIS does
        not know it; the WKT is kept in ``cimkit_metadata`` either way).
    name
        The model's name.
    layers
        Vector layers and attribute tables by name; a name may not be one of
        :data:`~cimkit.io.gpkg.RESERVED_TABLES` nor start with ``network_`` or ``cimkit_``.
    networks
        Networks by kind.
    dem
        The DEM.
    records
        Provenance records by layer name (``network_<kind>`` and ``dem`` for those parts).
    schema
        The schema; overrides ``?schema=`` in the DSN (default ``"city"``). Restricted layers go
        to ``<schema>_restricted``.
    levels
        Sensitivity level per part name (``"public"``, ``"internal"``, ``"restricted"``,
        ``"sensitive"``); by default the record's ``sensitivity``, else ``"sensitive"`` for
        water, sewer and power networks and ``"public"`` for the rest.
    public_role
        A role granted read access to the main schema only.
    restricted_role
        A role granted read access to both schemas.
    wait_s
        How long to wait for another save of the same schema to finish, in seconds.

    Returns
    -------
    dict
        Per table: the number of rows ``inserted``, ``updated``, ``deleted`` and ``unchanged``
        (the DEM counts tiles).

    Raises
    ------
    CimkitIOError
        The database cannot be reached (MOD050), another save held the schema longer than
        ``wait_s`` (MOD051), PostGIS is missing and cannot be installed (MOD054), a table of
        that name exists outside the model (MOD053) or the database refused the save (MOD057).
        Nothing is changed in those cases.
    ValidationError
        A layer, column or schema name is reserved or too long, a level or a role is unknown
        (MOD056, MOD058).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> points = gpd.GeoDataFrame({"v": [1]}, geometry=[Point(0, 0)], crs=2154)
    >>> write_postgis("postgresql://nobody@127.0.0.1:1/none", crs=2154, layers={"points": points})
    Traceback (most recent call last):
    ...
    cimkit.errors.CimkitIOError: postgresql://nobody@127.0.0.1:1/none: cannot connect ...
    """
    import psycopg

    layers, networks, records = dict(layers or {}), dict(networks or {}), dict(records or {})
    levels = dict(levels or {})
    for table in layers:
        if table in RESERVED_TABLES or table.startswith(("network_", "cimkit_")):
            raise ValidationError(
                f"layer name {table!r} is reserved in a city-model database "
                f"({', '.join(sorted(RESERVED_TABLES))}, network_*, cimkit_*)",
                layer=table,
                code="MOD056",
            )
        _tables.check_identifier(table, what="layer", table=table)
    target = _target(dsn, schema)
    crs = CRS.from_user_input(crs)
    with _connect(target) as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                _check_roles(cur, target, public_role, restricted_role)
                _lock(cur, target, wait_s)
                raster_type = _ensure_extensions(cur, target, need_raster=dem is not None)
                srid = _srid(cur, crs)
                _write.ensure_catalog(cur, target.schema)
                counts = _save(
                    cur, target, crs, srid, name, layers, networks, dem, records, levels, raster_type
                )
                _write.grant(cur, target, public_role, restricted_role)
        except psycopg.errors.LockNotAvailable as err:
            raise CimkitIOError(
                f"another save of schema {target.schema!r} did not finish within {wait_s} s",
                path=target.where,
                hint="wait for it to finish, or pass a larger wait_s.",
                code="MOD051",
            ) from err
        except psycopg.Error as err:
            raise CimkitIOError(
                f"the database refused the save of schema {target.schema!r} "
                f"({str(err).strip().splitlines()[0]}); nothing was changed",
                path=target.where,
                hint="check the role's rights (CREATE on the database, or an existing schema it owns).",
                code="MOD057",
            ) from err
    logger.info("city model written to %s schema %s", target.where, target.schema)
    return counts


def _check_roles(cur: Any, target: _Target, *roles: str | None) -> None:
    for role in roles:
        if role is None:
            continue
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone() is None:
            raise ValidationError(
                f"role {role!r} does not exist in the database",
                path=target.where,
                hint="create it first (CREATE ROLE ... NOLOGIN), see docs/postgis.md.",
                code="MOD058",
            )


def _lock(cur: Any, target: _Target, wait_s: float) -> None:
    """Take the schema's advisory lock for the transaction, waiting at most ``wait_s``."""
    cur.execute("SELECT set_config('lock_timeout', %s, true)", [f"{max(int(wait_s * 1000), 1)}ms"])
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"cimkit:{target.schema}"])
    cur.execute("SELECT set_config('lock_timeout', '0', true)")


def _ensure_extensions(cur: Any, target: _Target, *, need_raster: bool) -> bool:
    """Create PostGIS (and PostGIS raster when needed); return whether raster is available."""
    import psycopg

    cur.execute("SELECT extname FROM pg_extension")
    present = {row[0] for row in cur.fetchall()}
    wanted = ["postgis"] + (["postgis_raster"] if need_raster else [])
    for ext in wanted:
        if ext in present:
            continue
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('cimkit:extensions'))")
        cur.execute("SAVEPOINT cimkit_ext")
        try:
            cur.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")  # a fixed name, not a user value
            cur.execute("RELEASE SAVEPOINT cimkit_ext")
        except psycopg.Error as err:
            cur.execute("ROLLBACK TO SAVEPOINT cimkit_ext")
            if ext == "postgis":
                raise CimkitIOError(
                    f"PostGIS is not installed in the database and cannot be ({str(err).strip()})",
                    path=target.where,
                    hint="install postgis (apt-get install postgresql-<version>-postgis-3) and run "
                    "CREATE EXTENSION postgis as a superuser.",
                    code="MOD054",
                ) from err
            warnings.warn(
                CimkitWarning(
                    f"{target.where}: the postgis_raster extension is missing ({str(err).strip()}); "
                    "the DEM is stored as raster WKB in a bytea column, read back the same by cimkit "
                    "but not visible to QGIS as a raster. Run CREATE EXTENSION postgis_raster to fix.",
                    code="MOD151",
                ),
                stacklevel=4,
            )
            return False
    return True


def _srid(cur: Any, crs: CRS) -> int:
    epsg = crs.to_epsg()
    if epsg is None:
        return 0
    cur.execute("SELECT srid FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND auth_srid = %s", [epsg])
    row = cur.fetchone()
    return int(row[0]) if row else 0


def _save(
    cur: Any,
    target: _Target,
    crs: CRS,
    srid: int,
    name: str,
    layers: dict[str, pd.DataFrame],
    networks: dict[str, Network],
    dem: Raster | None,
    records: dict[str, prov.Provenance],
    levels: dict[str, str],
    raster_type: bool,
) -> dict[str, dict[str, int]]:
    """Write every part; return the counts per table."""
    from psycopg import sql

    parts: list[tuple[str, str, str, pd.DataFrame]] = [(t, t, "layer", f) for t, f in layers.items()]
    for kind, net in networks.items():
        parts.append((f"network_{kind}_nodes", f"network_{kind}", "nodes", net.nodes))
        parts.append((f"network_{kind}_edges", f"network_{kind}", "edges", net.edges))
    order = {
        part: i
        for i, part in enumerate(dict.fromkeys([*records, *layers, *(f"network_{k}" for k in networks)]))
    }
    objects: dict[str, Any] = {**layers, **{f"network_{k}": net for k, net in networks.items()}}
    if dem is not None:
        objects[DEM_TABLE] = dem
    levels = {**levels, **{p: _write.level_of(p, levels, records.get(p), obj) for p, obj in objects.items()}}
    above = [p for p in {*objects, *records} if _write.level_of(p, levels, records.get(p)) != "public"]
    if above or _write.schema_exists(cur, target.restricted):  # no empty restricted schema
        _write.ensure_catalog(cur, target.restricted)
    stored = {**_write.catalog(cur, target.restricted), **_write.catalog(cur, target.schema)}
    counts: dict[str, dict[str, int]] = {}
    rewritten_parts: set[str] = set()
    encoded = {}
    for table, part, _role, frame in parts:
        schema = (
            target.restricted
            if _write.level_of(part, levels, records.get(part)) != "public"
            else target.schema
        )
        encoded[table] = (schema, *_tables.encode_frame(frame, table, srid))
        old = stored.get(table)
        if old is None or old[0] != schema or not _tables.same_layout(old[1], encoded[table][2]):
            rewritten_parts.add(part)
    for table, part, role, _ in parts:
        schema, out, spec = encoded[table]
        old = stored.pop(table, None)
        if part in rewritten_parts:
            if old is not None:
                _write.drop(cur, old[0], table)
            _write.check_free(cur, target, schema, table)
            _tables.create_table(cur, schema, spec)
            _tables.copy_rows(cur, schema, table, out)
            _tables.create_index(cur, schema, spec)
            counts[table] = {"inserted": len(out), "updated": 0, "deleted": 0, "unchanged": 0}
        elif old is not None and old[1].get("content_hash") == spec["content_hash"]:
            counts[table] = {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": len(out)}
        else:
            counts[table] = _tables.update_rows(cur, schema, spec, out)
        if role == "edges":
            spec["report"] = prov._jsonable(networks[part.removeprefix("network_")].report)
        _write.upsert_spec(cur, schema, table, part, role, order.get(part, len(order)), spec)
        if _tables.after_table_hook is not None:
            _tables.after_table_hook(table)
    for kind, net in networks.items():
        if f"network_{kind}" in rewritten_parts:
            _write.add_foreign_keys(cur, encoded, kind, net)
    if dem is not None:
        counts[DEM_TABLE] = _write.save_dem(
            cur, target, stored.pop(DEM_TABLE, None), dem, srid, levels, records, order, raster_type
        )
    for table, (schema, _) in stored.items():  # parts no longer in the model
        _write.drop(cur, schema, table)
    _write.save_records(cur, target, records, counts, levels, order, parts)
    meta = {
        "format_version": FORMAT_VERSION,
        "cimkit_version": prov.get_library_versions().get("cimkit"),
        "name": name,
        "crs": crs.to_wkt(),
        "srid": srid,
        "restricted_schema": target.restricted,
    }
    cur.execute(
        sql.SQL(
            "INSERT INTO {}.cimkit_metadata (key, value) VALUES ('cimkit', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ).format(sql.Identifier(target.schema)),
        [json.dumps(meta)],
    )
    return counts


# ---------------------------------------------------------------------------------- reading
def read_postgis(
    dsn: str,
    *,
    schema: str | None = None,
    bbox: Sequence[float] | None = None,
    layers: Sequence[str] | None = None,
) -> StoredModel:
    """Read the parts of a city model saved by :func:`write_postgis`, all or some of them.

    The whole read is one read-only snapshot: a save committing meanwhile is not half seen.

    Parameters
    ----------
    dsn
        A PostgreSQL connection string; ``?schema=`` names the schema (default ``"city"``).
    schema
        The schema; overrides ``?schema=`` in the DSN.
    bbox
        ``(minx, miny, maxx, maxy)`` in the model CRS: load only the rows whose geometry meets
        it (``ST_Intersects``, using the GiST index), the DEM tiles meeting it, and the network
        edges meeting it with their end nodes. Attribute tables are read whole.
    layers
        Names of the parts to load (layer names, ``network_<kind>``, ``dem``); default all.

    Returns
    -------
    StoredModel
        The layers (rows, column order, dtypes, index, CRS), networks, DEM and provenance
        records, as :func:`cimkit.io.gpkg.read_gpkg` returns them. Layers in the restricted
        schema are left out, with a warning (MOD150), when the role may not read it.

    Raises
    ------
    CimkitIOError
        The database cannot be reached (MOD050) or refused the read (MOD057).
    FileFormatError
        The schema holds no city model (MOD052), a newer format (MOD055), or tables changed
        outside cimkit (MOD053).
    LayerNotFoundError
        A name in ``layers`` is not in the model.

    Examples
    --------
    >>> read_postgis("postgresql://nobody@127.0.0.1:1/none?schema=city")
    Traceback (most recent call last):
    ...
    cimkit.errors.CimkitIOError: postgresql://nobody@127.0.0.1:1/none?schema=city: cannot connect ...
    """
    import psycopg

    target = _target(dsn, schema)
    with _connect(target) as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                return _read.load(cur, target, bbox, layers)
        except psycopg.Error as err:
            raise CimkitIOError(
                f"the database refused the read of schema {target.schema!r} ({str(err).strip().splitlines()[0]})",
                path=target.where,
                hint="check the role may read the schema (GRANT USAGE, SELECT), see docs/postgis.md.",
                code="MOD057",
            ) from err


# ---------------------------------------------------------------------------------- SQL
def link_in_postgis(
    dsn: str,
    *,
    left: str = "buildings",
    right: str = "zones",
    min_share: float = 0.01,
    schema: str | None = None,
) -> pd.DataFrame:
    """Link each feature of a saved layer to the one of another holding its largest part, in SQL.

    The database does the work (``ST_Intersects`` on the GiST indexes, ``ST_Intersection``
    areas), so a city that does not fit in memory can be linked; the answer is the one of
    :func:`cimkit.analysis.linking.link_buildings_to_zones` on the same polygons.

    Parameters
    ----------
    dsn
        A PostgreSQL connection string; ``?schema=`` names the schema (default ``"city"``).
    left
        The layer whose features are linked (polygons, indexed by a unique id).
    right
        The layer they are linked to (polygons, indexed by a unique id).
    min_share
        A right feature counts in ``n_overlaps`` when it holds at least this share (0-1).
    schema
        The schema; overrides ``?schema=`` in the DSN.

    Returns
    -------
    pandas.DataFrame
        On the left layer's index, in its order: the right id (column named after the right
        layer's index, NA when nothing overlaps), ``share`` (0-1), ``n_overlaps`` and
        ``covered_share`` (share inside any right feature, at most 1).

    Raises
    ------
    LayerNotFoundError
        A layer is not saved in the schema or not readable by this role.
    ValidationError
        A layer has no geometry or no unique single-column index, or ``min_share`` is outside
        [0, 1) (MOD056).
    CimkitIOError
        The database cannot be reached (MOD050) or refused the query (MOD057).

    Examples
    --------
    >>> link_in_postgis("postgresql://nobody@127.0.0.1:1/none", left="buildings", right="zones")
    Traceback (most recent call last):
    ...
    cimkit.errors.CimkitIOError: postgresql://nobody@127.0.0.1:1/none: cannot connect ...
    """
    import psycopg

    target = _target(dsn, schema)
    with _connect(target) as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                return _sql.link_largest(cur, target, left, right, min_share)
        except psycopg.Error as err:
            raise CimkitIOError(
                f"the database refused to link {left!r} to {right!r} ({str(err).strip().splitlines()[0]})",
                path=target.where,
                hint="check the role may read the schema (GRANT USAGE, SELECT), see docs/postgis.md.",
                code="MOD057",
            ) from err
