"""Sensitive layers go to a restricted schema that a read-only public role cannot read."""

from __future__ import annotations

import uuid
import warnings

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from cimkit.errors import CimkitWarning, ValidationError
from cimkit.io.postgis import read_postgis, write_postgis
from tests.test_model import _full_model

pytestmark = pytest.mark.xdist_group("postgis")


def _as(dsn: str, role: str) -> str:
    base, schema = dsn.split("?")
    return base.replace("postgres@", f"{role}@", 1) + "?" + schema


@pytest.fixture
def roles(postgis_dsn):
    """A read-only public role and a staff role (LOGIN, no other right), as the docs set them up."""
    suffix = uuid.uuid4().hex[:6]
    public, staff = f"city_reader_{suffix}", f"city_staff_{suffix}"
    with psycopg.connect(postgis_dsn, autocommit=True) as conn:
        for role in (public, staff):
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    return public, staff


def test_public_role_cannot_read_the_sensitive_schema(city_dsn, roles):
    public, staff = roles
    model = _full_model()
    water = model.network("road")
    water.kind = "water"
    networks = {"road": model.network("road"), "water": water}
    records = dict(model._provenance)
    owners = pd.DataFrame(
        {"proprietaire": ["M. Dupont"]}, index=pd.Index(["91999000AB0001"], name="parcel_id")
    )
    counts = write_postgis(
        city_dsn,
        crs=2154,
        layers={**model._layers, "owners": owners},  # names people: restricted by default
        networks=networks,
        dem=model.dem,
        records=records,
        levels={"parcels": "restricted"},
        public_role=public,
        restricted_role=staff,
    )
    assert "network_water_edges" in counts
    schema = city_dsn.rsplit("schema=", 1)[1]
    with pytest.warns(CimkitWarning, match="restricted layers") as caught:
        seen = read_postgis(_as(city_dsn, public))
    assert {w.message.code for w in caught if isinstance(w.message, CimkitWarning)} == {"MOD150"}
    assert sorted(seen.layers) == ["buildings", "unnamed_index", "zone_rules"]
    assert list(seen.networks) == ["road"] and seen.dem is not None
    assert "parcels" not in seen.records and "network_water" not in seen.records
    with psycopg.connect(_as(city_dsn, public).split("?")[0]) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("SELECT count(*) FROM {}.network_water_edges").format(
                    sql.Identifier(f"{schema}_restricted")
                )
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("SELECT count(*) FROM {}.cimkit_provenance").format(
                    sql.Identifier(f"{schema}_restricted")
                )
            )
        conn.rollback()
        assert conn.execute(
            sql.SQL("SELECT count(*) FROM {}.buildings").format(sql.Identifier(schema))
        ).fetchone() == (3,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # read-only
            conn.execute(sql.SQL("DELETE FROM {}.buildings").format(sql.Identifier(schema)))
    full = read_postgis(_as(city_dsn, staff))
    assert sorted(full.layers) == ["buildings", "owners", "parcels", "unnamed_index", "zone_rules"]
    assert full.layers["owners"].equals(owners)
    assert sorted(full.networks) == ["road", "water"]
    assert full.layers["parcels"].equals(model.parcels)
    assert list(full.records) == [*records, "owners", "network_water"]


def test_an_unknown_level_is_refused(city_dsn):
    with pytest.raises(ValidationError, match="secret") as err:
        write_postgis(
            city_dsn, crs=2154, layers={"parcels": _full_model().parcels}, levels={"parcels": "secret"}
        )
    assert err.value.code == "MOD056"


def test_a_model_without_sensitive_parts_has_no_restricted_schema(city_dsn, roles, postgis_dsn):
    public, _ = roles
    model = _full_model()
    write_postgis(city_dsn, crs=2154, layers=model.layers, networks=model.networks, public_role=public)
    schema = city_dsn.rsplit("schema=", 1)[1]
    with psycopg.connect(postgis_dsn) as conn:
        found = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [f"{schema}%"]
        ).fetchall()
    assert found == [(schema,)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seen = read_postgis(_as(city_dsn, public))
    assert sorted(seen.layers) == sorted(model.layers) and list(seen.networks) == ["road"]
