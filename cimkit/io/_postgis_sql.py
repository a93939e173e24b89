"""Spatial work done by the database on a saved model: largest-overlap linking in SQL.

Private to :mod:`cimkit.io.postgis`. The same answer as
:func:`cimkit.analysis.linking.link_buildings_to_zones` (and the other ``link_*_to_*`` largest
overlap functions), computed by PostGIS on the stored tables, so a city that does not fit in
memory can be linked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cimkit.errors import LayerNotFoundError, ValidationError
from cimkit.io import _postgis_read as _read
from cimkit.io import _postgis_tables as _tables

_LINK_SQL = """
WITH pairs AS (
    SELECT l.{lkey} AS lid, r.{rkey} AS rid,
           ST_Area(ST_Intersection(l.{lgeom}, r.{rgeom})) / NULLIF(ST_Area(l.{lgeom}), 0) AS share
    FROM {lschema}.{ltable} l JOIN {rschema}.{rtable} r ON ST_Intersects(l.{lgeom}, r.{rgeom})
), ranked AS (
    SELECT lid, rid, share,
           row_number() OVER (PARTITION BY lid ORDER BY share DESC, rid) AS rank,
           count(*) FILTER (WHERE share >= %s) OVER (PARTITION BY lid) AS n,
           sum(share) OVER (PARTITION BY lid) AS covered
    FROM pairs WHERE share > 0
)
SELECT l.{lkey}, k.rid, COALESCE(k.share, 0), COALESCE(k.n, 0), COALESCE(LEAST(k.covered, 1), 0)
FROM {lschema}.{ltable} l LEFT JOIN ranked k ON k.lid = l.{lkey} AND k.rank = 1
ORDER BY l.{row}
"""


def find_table(cur: Any, target: Any, name: str) -> tuple[str, Mapping[str, Any]]:
    """Return the schema and spec of a stored layer readable by this role."""
    from psycopg import sql

    for schema in (target.schema, target.restricted):
        if not _read._readable(cur, schema):
            continue
        cur.execute(
            sql.SQL("SELECT spec FROM {}.cimkit_layers WHERE table_name = %s AND role = 'layer'").format(
                sql.Identifier(schema)
            ),
            [name],
        )
        row = cur.fetchone()
        if row is not None:
            return schema, row[0]
    raise LayerNotFoundError(
        f"no layer {name!r} readable in schema {target.schema!r}",
        path=target.where,
        layer=name,
        hint="save the model with that layer first, or check the role's grants.",
    )


def link_largest(cur: Any, target: Any, left: str, right: str, min_share: float) -> pd.DataFrame:
    """Link each row of ``left`` to the row of ``right`` holding the largest share of it."""
    from psycopg import sql

    if not 0 <= min_share < 1:
        raise ValidationError(f"'min_share' must be in [0, 1); {min_share!r} was given", code="MOD056")
    (lschema, lspec), (rschema, rspec) = find_table(cur, target, left), find_table(cur, target, right)
    for name, spec in ((left, lspec), (right, rspec)):
        if spec["geometry_column"] is None or len(spec["key"]) != 1 or spec["key"][0] == _tables.ROW:
            raise ValidationError(
                f"layer {name!r} needs a geometry and a unique single-column index to be linked in SQL",
                layer=name,
                hint="index it by its id (set_index) and save it again.",
                code="MOD056",
            )
    query = sql.SQL(_LINK_SQL).format(
        lkey=sql.Identifier(lspec["key"][0]),
        rkey=sql.Identifier(rspec["key"][0]),
        lgeom=sql.Identifier(lspec["geometry_column"]),
        rgeom=sql.Identifier(rspec["geometry_column"]),
        lschema=sql.Identifier(lschema),
        ltable=sql.Identifier(left),
        rschema=sql.Identifier(rschema),
        rtable=sql.Identifier(right),
        row=sql.Identifier(_tables.ROW),
    )
    cur.execute(query, [float(min_share)])
    rows = cur.fetchall()
    right_name = rspec["index_original"][0] or f"{right}_id"
    index = pd.Index([r[0] for r in rows], name=lspec["index_original"][0])
    result = pd.DataFrame(
        {
            right_name: pd.Series([r[1] for r in rows], index=index, dtype="object"),
            "share": [float(r[2]) for r in rows],
            "n_overlaps": pd.array([int(r[3]) for r in rows], dtype="int64"),
            "covered_share": [float(r[4]) for r in rows],
        },
        index=index,
    )
    result[right_name] = result[right_name].where(result[right_name].notna(), pd.NA)
    return result
