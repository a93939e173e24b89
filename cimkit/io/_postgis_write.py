"""Writing helpers of the PostGIS store: sensitivity levels, foreign keys, records, grants.

Private to :mod:`cimkit.io.postgis` (see there for the layout).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cimkit import provenance as prov
from cimkit._sensitivity import LEVELS, NETWORK_LEVELS, get_frame_level
from cimkit.errors import CimkitIOError, ValidationError
from cimkit.io import _postgis_raster as _raster
from cimkit.io import _postgis_tables as _tables
from cimkit.io.gpkg import DEM_TABLE
from cimkit.network.graph import Network
from cimkit.raster import Raster

#: Network kinds saved to the restricted schema unless their level says otherwise.
SENSITIVE_KINDS = frozenset(kind for kind, level in NETWORK_LEVELS.items() if level != "public")


def level_of(name: str, levels: Mapping[str, str], record: prov.Provenance | None, obj: Any = None) -> str:
    """Return the level of one part: ``levels``, else the record's, else its default.

    The default is :func:`cimkit._sensitivity.get_frame_level`'s: water, sewer and power networks
    are sensitive, a table with columns naming people restricted, the rest public.
    """
    level = levels.get(name) or (record.sensitivity if record is not None else None)
    if level is None:
        kind = name.removeprefix("network_") if name.startswith("network_") else None
        if obj is not None:
            level = get_frame_level(obj, kind=kind)
        else:
            level = NETWORK_LEVELS.get(kind or "", "public")
    if level not in LEVELS:
        raise ValidationError(
            f"sensitivity level of {name!r} must be one of {', '.join(LEVELS)}; {level!r} was given",
            layer=name,
            code="MOD056",
        )
    return level


def add_foreign_keys(cur: Any, encoded: Mapping[str, Any], kind: str, net: Network) -> None:
    """Make the edges' ``u`` and ``v`` foreign keys to the nodes' key when every end is a node."""
    from psycopg import sql

    nodes_schema, _, nodes_spec = encoded[f"network_{kind}_nodes"]
    edges_schema, _, edges_spec = encoded[f"network_{kind}_edges"]
    if len(nodes_spec["key"]) != 1 or nodes_spec["key"][0] == _tables.ROW:
        return
    node_type = nodes_spec["sql_types"][nodes_spec["key"][0]]
    for end in ("u", "v"):
        if edges_spec["sql_types"].get(end) != node_type or not net.edges[end].isin(net.nodes.index).all():
            continue
        cur.execute(
            sql.SQL(
                "ALTER TABLE {}.{} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {}.{} ({}) "
                "DEFERRABLE INITIALLY DEFERRED"
            ).format(
                sql.Identifier(edges_schema),
                sql.Identifier(edges_spec["table"]),
                sql.Identifier(f"{edges_spec['table']}_{end}_fkey"[: _tables.MAX_IDENTIFIER_BYTES]),
                sql.Identifier(end),
                sql.Identifier(nodes_schema),
                sql.Identifier(nodes_spec["table"]),
                sql.Identifier(nodes_spec["key"][0]),
            )
        )


def save_records(
    cur: Any,
    target: Any,
    records: dict[str, prov.Provenance],
    counts: dict[str, dict[str, int]],
    levels: dict[str, str],
    order: dict[str, int],
    parts: Sequence[tuple[str, str, str, pd.DataFrame]],
) -> None:
    """Store one record per layer; a layer updated in place gets an ``update_postgis`` step."""
    from psycopg import sql

    old: dict[str, str] = {}
    for schema in (target.schema, target.restricted):
        if not schema_exists(cur, schema):
            continue
        cur.execute(
            sql.SQL("SELECT layer, record::text FROM {}.cimkit_provenance").format(sql.Identifier(schema))
        )
        old.update({row[0]: row[1] for row in cur.fetchall()})
        cur.execute(sql.SQL("DELETE FROM {}.cimkit_provenance").format(sql.Identifier(schema)))
    tables_of: dict[str, list[str]] = {}
    for table, part, _, _ in parts:
        tables_of.setdefault(part, []).append(table)
    tables_of.setdefault(DEM_TABLE, [DEM_TABLE] if DEM_TABLE in counts else [])
    for layer, record in records.items():
        schema = target.restricted if level_of(layer, levels, record) != "public" else target.schema
        stored = record
        totals = {
            key: sum(counts[t][key] for t in tables_of.get(layer, []) if t in counts)
            for key in ("inserted", "updated", "deleted", "unchanged")
        }
        changed = totals["inserted"] + totals["updated"] + totals["deleted"]
        if layer in old and (changed or _same_json(old[layer], record.to_json()) is False):
            stored = record.copy().add_step(
                "update_postgis",
                f"updated in place: {totals['inserted']} row(s) inserted, {totals['updated']} rewritten, "
                f"{totals['deleted']} deleted, {totals['unchanged']} unchanged",
                **totals,
            )
        cur.execute(
            sql.SQL(
                "INSERT INTO {}.cimkit_provenance (layer, position, record, updated_at) VALUES (%s, %s, %s, now())"
            ).format(sql.Identifier(schema)),
            [layer, order.get(layer, len(order)), stored.to_json()],
        )


def _same_json(a: str, b: str) -> bool:
    return bool(json.loads(a) == json.loads(b))


def grant(cur: Any, target: Any, public_role: str | None, restricted_role: str | None) -> None:
    """Grant read access: the main schema to both roles, the restricted schema to ``restricted_role``."""
    from psycopg import sql

    grants = [
        (public_role, target.schema),
        (restricted_role, target.schema),
        (restricted_role, target.restricted),
    ]
    for role, schema in grants:
        if role is None or not schema_exists(cur, schema):
            continue
        for statement in ("GRANT USAGE ON SCHEMA {} TO {}", "GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}"):
            cur.execute(sql.SQL(statement).format(sql.Identifier(schema), sql.Identifier(role)))


def ensure_catalog(cur: Any, schema: str) -> None:
    from psycopg import sql

    ident = sql.Identifier(schema)
    cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
    for statement in (
        "CREATE TABLE IF NOT EXISTS {}.cimkit_metadata (key text PRIMARY KEY, value jsonb NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {}.cimkit_layers (table_name text PRIMARY KEY, part text NOT NULL, "
        "role text NOT NULL, position integer NOT NULL, spec json NOT NULL, updated_at timestamptz NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {}.cimkit_provenance (layer text PRIMARY KEY, position integer NOT NULL, "
        "record json NOT NULL, updated_at timestamptz NOT NULL)",
    ):
        cur.execute(sql.SQL(statement).format(ident))


def schema_exists(cur: Any, schema: str) -> bool:
    """Tell whether the schema exists."""
    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
    return cur.fetchone() is not None


def catalog(cur: Any, schema: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return the stored tables of one schema's catalog (none when the schema does not exist)."""
    from psycopg import sql

    if not schema_exists(cur, schema):
        return {}
    cur.execute(sql.SQL("SELECT table_name, spec FROM {}.cimkit_layers").format(sql.Identifier(schema)))
    return {row[0]: (schema, row[1]) for row in cur.fetchall()}


def drop(cur: Any, schema: str, table: str) -> None:
    from psycopg import sql

    cur.execute(
        sql.SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(sql.Identifier(schema), sql.Identifier(table))
    )
    cur.execute(
        sql.SQL("DELETE FROM {}.cimkit_layers WHERE table_name = %s").format(sql.Identifier(schema)), [table]
    )


def check_free(cur: Any, target: Any, schema: str, table: str) -> None:
    """Refuse to overwrite a table that exists in the schema but is not in the model's catalog."""
    cur.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid "
        "WHERE n.nspname = %s AND c.relname = %s",
        [schema, table],
    )
    if cur.fetchone() is not None:
        raise CimkitIOError(
            f"table {schema}.{table} exists and is not part of the saved city model",
            path=target.where,
            layer=table,
            hint="save to another schema (schema=...) or drop that table.",
            code="MOD053",
        )


def upsert_spec(
    cur: Any, schema: str, table: str, part: str, role: str, position: int, spec: dict[str, Any]
) -> None:
    from psycopg import sql

    cur.execute(
        sql.SQL(
            "INSERT INTO {}.cimkit_layers (table_name, part, role, position, spec, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (table_name) DO UPDATE SET part = excluded.part, "
            "role = excluded.role, position = excluded.position, spec = excluded.spec, updated_at = now()"
        ).format(sql.Identifier(schema)),
        [table, part, role, position, _tables.spec_json(spec)],
    )


def save_dem(
    cur: Any,
    target: Any,
    old: tuple[str, dict[str, Any]] | None,
    dem: Raster,
    srid: int,
    levels: dict[str, str],
    records: dict[str, prov.Provenance],
    order: dict[str, int],
    raster_type: bool,
) -> dict[str, int]:
    schema = (
        target.restricted
        if level_of(DEM_TABLE, levels, records.get(DEM_TABLE)) != "public"
        else target.schema
    )
    digest = _raster.dem_hash(dem)
    if old is not None and old[0] == schema and old[1].get("content_hash") == digest:
        return {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": int(old[1].get("tiles", 0))}
    if old is not None:
        drop(cur, old[0], DEM_TABLE)
    check_free(cur, target, schema, DEM_TABLE)
    spec = _raster.write_dem(cur, schema, dem, srid, raster_type=raster_type)
    spec["content_hash"] = digest
    upsert_spec(cur, schema, DEM_TABLE, DEM_TABLE, "dem", order.get(DEM_TABLE, len(order)), spec)
    deleted = int(old[1].get("tiles", 0)) if old is not None else 0
    return {"inserted": spec["tiles"], "updated": 0, "deleted": deleted, "unchanged": 0}
