"""A throwaway PostgreSQL + PostGIS cluster for the PostGIS store tests.

The cluster is started once per test session (per xdist worker, on a free local port, its data
and socket under /tmp) by ``scripts/postgis-cluster.sh`` and removed at the end. The tests skip,
saying why, when psycopg is not installed, when no PostgreSQL binaries are found, when the
server does not start, or when the PostGIS extension is not installed (``make test`` installs it
with apt-get when it can).
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgis-cluster.sh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgis_dsn():
    """The DSN of a superuser on a fresh cluster with PostGIS installed in the ``postgres`` database."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -e '.[postgis]'")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = Path(tempfile.mkdtemp(prefix=f"cimkit-pg-{worker}-", dir="/tmp"))
    folder.chmod(0o755)
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", str(folder), str(_free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if started.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=60)
        pytest.skip(f"no PostgreSQL server could be started: {started.stderr.strip() or started.returncode}")
    dsn = started.stdout.strip().splitlines()[-1]
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis_raster")
    except psycopg.Error as err:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=60)
        pytest.skip(f"PostGIS is not installed (apt-get install postgresql-15-postgis-3): {err}")
    yield dsn
    subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=60)


@pytest.fixture
def city_dsn(postgis_dsn):
    """A DSN naming a schema of its own (``?schema=t_<random>``) for one test."""
    return f"{postgis_dsn}?schema=t_{uuid.uuid4().hex[:10]}"
