"""Benchmark the PostGIS store against the GeoPackage store and GeoParquet: save and load.

A synthetic buildings layer (rectangular footprints on a jittered grid, indexed by a 22-character
id like an IFC GlobalId, with float, int, categorical, text and timestamp columns) is saved and
loaded with

1. the GeoPackage store (:func:`cimkit.io.gpkg.write_gpkg` / :func:`~cimkit.io.gpkg.read_gpkg`,
   what ``CityModel.to_file`` / ``read_model`` use);
2. GeoParquet (``GeoDataFrame.to_parquet`` / ``geopandas.read_parquet``; no exact dtype or
   provenance restoration, the lower bound);
3. the PostGIS store (:func:`cimkit.io.postgis.write_postgis` / :func:`~cimkit.io.postgis.read_postgis`):
   a first save, a save with one row changed, a save with nothing changed, a full load and a
   load of 1 % of the area by ``bbox``.

Every load is checked equal to the layer saved before any time is printed.

Usage::

    python benchmarks/bench_postgis.py                 # 100k buildings, own throwaway cluster
    python benchmarks/bench_postgis.py --quick         # 20k buildings
    python benchmarks/bench_postgis.py --dsn postgresql://user@host/db   # an existing server
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.io.gpkg import read_gpkg, write_gpkg
from cimkit.io.postgis import read_postgis, write_postgis

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "postgis-cluster.sh"
X0, Y0 = 640000.0, 6850000.0


def make_buildings(n: int, *, seed: int = 1) -> gpd.GeoDataFrame:
    """``n`` rectangular footprints (8-25 m sides) on a jittered 30 m grid, with typed columns."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i, j = np.divmod(np.arange(n), side)
    x = X0 + i * 30.0 + rng.uniform(0, 4, n)
    y = Y0 + j * 30.0 + rng.uniform(0, 4, n)
    w, h = rng.uniform(8, 25, n), rng.uniform(8, 25, n)
    geoms = shapely.box(x, y, x + w, y + h)
    ids = [f"{k:08d}{uuid.UUID(int=int(rng.integers(0, 2**62))).hex[:14]}" for k in range(n)]
    return gpd.GeoDataFrame(
        {
            "name": [f"building {k}" if k % 7 else None for k in range(n)],
            "height_m": rng.uniform(3, 40, n).astype("float32"),
            "storeys": rng.integers(1, 12, n).astype("int32"),
            "gfa_m2": np.where(rng.random(n) < 0.1, np.nan, w * h * 3),
            "use": pd.Categorical(rng.choice(["residential", "office", "retail", "school"], n)),
            "permit": pd.to_datetime("2000-01-01", utc=True)
            + pd.to_timedelta(rng.integers(0, 9000, n), unit="D"),
        },
        geometry=geoms,
        index=pd.Index(ids, name="building_id"),
        crs="EPSG:2154",
    )


def _timed(label: str, func, results: dict[str, float]):
    start = time.perf_counter()
    out = func()
    results[label] = time.perf_counter() - start
    print(f"  {label:<38s} {results[label]:8.2f} s", flush=True)
    return out


def run(n: int, dsn: str, folder: Path) -> dict[str, float]:
    """Time every store on ``n`` buildings; return the seconds per step."""
    buildings = make_buildings(n)
    results: dict[str, float] = {}
    print(f"{n} buildings")
    gpkg = folder / "city.gpkg"
    _timed(
        "GeoPackage save (write_gpkg)",
        lambda: write_gpkg(gpkg, crs=2154, layers={"buildings": buildings}),
        results,
    )
    back = _timed("GeoPackage load (read_gpkg)", lambda: read_gpkg(gpkg).layers["buildings"], results)
    assert back.equals(buildings)
    parquet = folder / "city.parquet"
    _timed("GeoParquet save (to_parquet)", lambda: buildings.to_parquet(parquet), results)
    back = _timed("GeoParquet load (read_parquet)", lambda: gpd.read_parquet(parquet), results)
    assert back.geometry.equals(buildings.geometry)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    target = f"{dsn}?schema={schema}"
    _timed(
        "PostGIS first save (write_postgis)",
        lambda: write_postgis(target, crs=2154, layers={"buildings": buildings}),
        results,
    )
    back = _timed("PostGIS load (read_postgis)", lambda: read_postgis(target).layers["buildings"], results)
    assert back.equals(buildings)
    changed = buildings.copy()
    changed.iloc[n // 2, changed.columns.get_loc("height_m")] = np.float32(99.5)
    counts = _timed(
        "PostGIS save, 1 row changed",
        lambda: write_postgis(target, crs=2154, layers={"buildings": changed}),
        results,
    )
    assert counts["buildings"] == {"inserted": 0, "updated": 1, "deleted": 0, "unchanged": n - 1}
    counts = _timed(
        "PostGIS save, nothing changed",
        lambda: write_postgis(target, crs=2154, layers={"buildings": changed}),
        results,
    )
    assert counts["buildings"]["unchanged"] == n
    minx, miny, maxx, maxy = buildings.total_bounds
    bbox = (minx, miny, minx + (maxx - minx) / 10, miny + (maxy - miny) / 10)
    part = _timed(
        "PostGIS load, 1 % of the area (bbox)",
        lambda: read_postgis(target, bbox=bbox).layers["buildings"],
        results,
    )
    expected = changed[changed.intersects(shapely.box(*bbox))]
    assert part.index.tolist() == expected.index.tolist()
    print(f"  (bbox load: {len(part)} buildings)")
    print(
        f"  ratios: save PostGIS/GeoPackage {results['PostGIS first save (write_postgis)'] / results['GeoPackage save (write_gpkg)']:.2f}, "
        f"load PostGIS/GeoPackage {results['PostGIS load (read_postgis)'] / results['GeoPackage load (read_gpkg)']:.2f}, "
        f"load PostGIS/GeoParquet {results['PostGIS load (read_postgis)'] / results['GeoParquet load (read_parquet)']:.2f}"
    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="20k buildings instead of 100k")
    parser.add_argument("-n", type=int, default=None, help="number of buildings")
    parser.add_argument("--dsn", default=None, help="an existing server (default: a throwaway cluster)")
    args = parser.parse_args()
    n = args.n or (20_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory(prefix="cimkit-bench-pg-", dir="/tmp") as tmp:
        folder = Path(tmp)
        cluster = folder / "pg"
        dsn = args.dsn
        if dsn is None:
            folder.chmod(0o755)
            started = subprocess.run(
                ["bash", str(SCRIPT), "start", str(cluster), "55433"], capture_output=True, text=True
            )
            if started.returncode != 0:
                print(f"no PostgreSQL server could be started: {started.stderr.strip()}")
                return 1
            dsn = started.stdout.strip().splitlines()[-1]
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:  # as an administrator would, once
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        try:
            run(n, dsn, folder)
        finally:
            if args.dsn is None:
                subprocess.run(["bash", str(SCRIPT), "stop", str(cluster)], capture_output=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
