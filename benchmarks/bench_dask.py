"""The partitioned (dask) path against the in-memory path, and a 1M-footprint region on 2 workers.

City mode (default): a generated city (``python -m cimkit.datasets.city FOLDER --buildings 100000``)
is read once; each step (links buildings -> parcels, buildings -> zones, parcels -> zones, the
zoning check, flood depth per building at the 100-year level) runs in memory, then on a
``distributed.LocalCluster`` of 2 single-threaded worker processes with the buildings as a
dask-geopandas frame of ``--npartitions`` partitions (the spatial shuffle is inside the timing).
Prints, per step: ``identical: True/False`` (``assert_frame_equal`` with exact values), both
times and their ratio. The ratio is measured in one run; on a shared machine both sides see the
same load.

Footprints mode (``--footprints N``): a footprints-only region (GeoParquet footprints, parcels,
zones; ``generate_city(..., footprints_only=True)`` or ``--synthetic`` for a quick grid town)
read with ``dask_geopandas.read_parquet``; links buildings -> parcels and buildings -> zones on
2 worker processes with ``memory_limit="8GB"`` each. Prints the times and each worker's peak
resident memory, sampled every 0.25 s with ``client.run(psutil...)``.

Commands
--------
    python benchmarks/bench_dask.py --city city100k
    python benchmarks/bench_dask.py --footprints 1000000 --folder fp1m
    python benchmarks/bench_dask.py --footprints 200000 --synthetic
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CRS = "EPSG:2154"


def _worker_rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class PeakMemory:
    """Sample the workers' resident memory in a thread; ``peaks`` (bytes) by worker address."""

    def __init__(self, client: Any, every_s: float = 0.25) -> None:
        self.client, self.every_s = client, every_s
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for addr, rss in self.client.run(_worker_rss).items():
                    self.peaks[addr] = max(self.peaks.get(addr, 0), rss)
            except Exception:  # a worker restarting must not end the sampling
                pass
            self._stop.wait(self.every_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def _cluster(memory_limit: str | None = None) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, memory_limit=memory_limit
    )
    return cluster, Client(cluster)


def _read_city(folder: Path) -> dict[str, Any]:
    from cimkit.analysis.flood import compute_bathtub_depth
    from cimkit.io.plu import read_zoning
    from cimkit.io.raster import read_dem
    from cimkit.io.vector import read_buildings, read_layer, read_parcels

    t = time.perf_counter()
    buildings = read_buildings(folder / "footprints.geojson", crs=CRS)
    layers = {
        "buildings": buildings,
        "parcels": read_parcels(folder / "parcels.geojson", crs=CRS),
        "zones": read_zoning(folder / "zone_urba.geojson", rules=folder / "zone_rules.csv", crs=CRS),
        "roads": read_layer(folder / "streets.geojson").to_crs(CRS),
    }
    levels = pd.read_csv(folder / "flood_scenarios.csv").set_index("return_period")["water_level_m"]
    river = read_layer(folder / "river.geojson").to_crs(CRS)
    layers["depth"] = compute_bathtub_depth(
        read_dem(folder / "dem.tif"), float(levels.loc[100]), inflow=river
    )
    print(f"read {folder.name}: {len(buildings):,} buildings, {len(layers['parcels']):,} parcels, "
          f"{len(layers['zones']):,} zones in {time.perf_counter() - t:.1f} s")  # fmt: skip
    return layers


def _steps(layers: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Step name -> (left layer, function of (left, layers))."""
    from cimkit.analysis import linking
    from cimkit.analysis.flood import compute_building_depths
    from cimkit.analysis.zoning import check_compliance

    def compliance(left: Any, lay: dict[str, Any]) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return check_compliance(left, lay["parcels"], lay["zones"], roads=lay["roads"])

    return {
        "link buildings -> parcels": ("buildings", lambda x, lay: linking.link_buildings_to_parcels(x, lay["parcels"])),
        "link buildings -> zones": ("buildings", lambda x, lay: linking.link_buildings_to_zones(x, lay["zones"])),
        "link parcels -> zones": ("parcels", lambda x, lay: linking.link_parcels_to_zones(x, lay["zones"])),
        "flood depth per building (100-year)": ("buildings", lambda x, lay: compute_building_depths(x, lay["depth"])),
        "zoning check": ("buildings", compliance),
    }  # fmt: skip


def run_city(folder: Path, npartitions: int, only: list[str] | None) -> list[dict[str, Any]]:
    import dask_geopandas
    from distributed import wait

    layers = _read_city(folder)
    cluster, client = _cluster()
    rows = []
    try:
        with PeakMemory(client) as peak:
            for name, (left, func) in _steps(layers).items():
                if only and not any(o in name for o in only):
                    continue
                t = time.perf_counter()
                expected = func(layers[left], layers)
                t_mem = time.perf_counter() - t
                # the layer is first loaded onto the workers (as read_parquet on a cluster would)
                t = time.perf_counter()
                lazy = client.persist(
                    dask_geopandas.from_geopandas(layers[left], npartitions=npartitions, sort=False)
                )
                wait(lazy)
                t_load = time.perf_counter() - t
                t = time.perf_counter()
                got = func(lazy, layers)
                t_dask = time.perf_counter() - t
                try:
                    pd.testing.assert_frame_equal(got, expected, check_exact=True)
                    same = True
                except AssertionError as err:
                    same = False
                    print(str(err)[:600])
                rows.append({"step": name, "rows": len(got), "identical": same, "in_memory_s": t_mem,
                             "dask_s": t_dask, "ratio": t_dask / t_mem, "load_s": t_load})  # fmt: skip
                print(f"{name}: identical: {same}; in memory {t_mem:.1f} s, dask 2 workers {t_dask:.1f} s, "
                      f"ratio {t_dask / t_mem:.2f} (loading onto the workers {t_load:.1f} s)", flush=True)  # fmt: skip
        print("workers' peak memory:", ", ".join(f"{v / 2**30:.2f} GiB" for v in peak.peaks.values()))
    finally:
        client.close()
        cluster.close()
    return rows


def _synthetic_region(n: int, folder: Path) -> None:
    """A grid region of ``n`` footprints (one per 20 x 25 m parcel, 8 % straddling) as GeoParquet."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(1)
    side = int(np.ceil(np.sqrt(n)))
    i, j = np.divmod(np.arange(n), side)
    x, y = 640_000.0 + i * 20.0, 6_830_000.0 + j * 25.0
    ids = pd.Index([f"P{k:08d}" for k in range(n)], name="parcel_id")
    gpd.GeoDataFrame(
        {"section": i // 50}, geometry=shapely.box(x, y, x + 20, y + 25), index=ids, crs=CRS
    ).to_parquet(folder / "parcels.parquet")
    w, h = rng.uniform(6, 12, n), rng.uniform(6, 12, n)
    bx = np.where(rng.random(n) < 0.08, x + 20 - w / 2, x + rng.uniform(2, 18 - w))
    by = y + rng.uniform(2, 23 - h)
    bids = pd.Index([f"B{k:08d}" for k in range(n)], name="building_id")
    gpd.GeoDataFrame(
        {"height_m": np.round(rng.uniform(3, 20, n), 1)},
        geometry=shapely.box(bx, by, bx + w, by + h),
        index=bids,
        crs=CRS,
    ).to_parquet(folder / "footprints.parquet", row_group_size=50_000)
    zx, zy = np.divmod(np.arange(100), 10)
    span_x, span_y = side * 20.0 / 10, side * 25.0 / 10
    zones = shapely.box(
        640_000 + zx * span_x,
        6_830_000 + zy * span_y,
        640_000 + (zx + 1) * span_x,
        6_830_000 + (zy + 1) * span_y,
    )
    gpd.GeoDataFrame({"libelle": "UA"}, geometry=zones, index=pd.Index(range(100), name="zone_id"), crs=CRS).to_parquet(folder / "zone_urba.parquet", index=True)  # fmt: skip


def run_footprints(folder: Path, npartitions: int) -> list[dict[str, Any]]:
    import dask_geopandas

    from cimkit.analysis import linking

    footprints = dask_geopandas.read_parquet(folder / "footprints.parquet")
    if footprints.npartitions < npartitions:
        footprints = footprints.repartition(npartitions=npartitions)
    parcels = dask_geopandas.read_parquet(folder / "parcels.parquet")
    zones = dask_geopandas.read_parquet(folder / "zone_urba.parquet")
    cluster, client = _cluster(memory_limit="8GB")
    rows = []
    try:
        with PeakMemory(client) as peak:
            for name, func, right in (
                ("link buildings -> parcels", linking.link_buildings_to_parcels, parcels),
                ("link buildings -> zones", linking.link_buildings_to_zones, zones),
            ):
                t = time.perf_counter()
                links = func(footprints, right)
                elapsed = time.perf_counter() - t
                linked = int(links.iloc[:, 0].notna().sum())
                rows.append({"step": name, "rows": len(links), "linked": linked, "dask_s": elapsed})
                print(
                    f"{name}: {len(links):,} rows, {linked:,} linked, {elapsed:.1f} s on 2 workers",
                    flush=True,
                )
        peaks = {addr: v / 2**30 for addr, v in peak.peaks.items()}
        print("workers' peak memory (limit 8 GB each):", ", ".join(f"{v:.2f} GiB" for v in peaks.values()))
        for row in rows:
            row["peak_worker_gib"] = max(peaks.values())
    finally:
        client.close()
        cluster.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--city",
        type=Path,
        default=None,
        help="a generated city's folder; default: generate 100,000 buildings",
    )
    parser.add_argument("--steps", nargs="*", help="run only the steps whose name holds one of these words")
    parser.add_argument("--footprints", type=int, help="footprints mode: the region's number of footprints")
    parser.add_argument("--folder", type=Path, help="footprints mode: folder of the GeoParquet layers")
    parser.add_argument("--synthetic", action="store_true", help="footprints mode: make a grid region first")
    parser.add_argument("--npartitions", type=int, default=None)
    args = parser.parse_args(argv)
    import psutil

    print(f"cores: {os.cpu_count()}, memory: {psutil.virtual_memory().total / 2**30:.0f} GiB, "
          f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")  # fmt: skip
    if args.footprints:
        nparts = args.npartitions or max(4, args.footprints // 50_000)
        if args.synthetic or args.folder is None:
            with tempfile.TemporaryDirectory() as tmp:
                _synthetic_region(args.footprints, Path(tmp))
                run_footprints(Path(tmp), nparts)
        else:
            run_footprints(args.folder, nparts)
    else:
        city = args.city
        if city is None:  # deterministic for the seed: the same city as `python -m cimkit.datasets.city`
            from cimkit.datasets import generate_city

            city = generate_city(Path(tempfile.mkdtemp()) / "city100k", buildings=100_000, seed=2154)
        rows = run_city(city, args.npartitions or 8, args.steps)
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        if not all(r["identical"] for r in rows):
            return 1
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
