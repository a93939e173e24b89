"""Benchmark the folder model format against plain GeoParquet and the GeoPackage store.

Builds synthetic layers in one run (N buildings: rotated rectangles with a string id index, a
use, storeys, a height and a nullable year; N parcels: squares around them with a categorical
section), then times, all in the same process:

1. folder: ``cimkit.io.folder.write_folder`` / ``read_folder`` (GeoParquet 1.1, Hilbert-sorted
   row groups, bbox covering, zstd, sha256 of every file written and checked on read);
2. plain GeoParquet: ``GeoDataFrame.to_parquet`` / ``geopandas.read_parquet`` of the same frames
   (geopandas defaults: snappy, no covering, no checksum);
3. GeoPackage: ``cimkit.io.gpkg.write_gpkg`` / ``read_gpkg`` (the single-file store).

Wall times and the CPU time of the process (all its threads) are printed: on a shared machine
the wall time mostly measures the others' load. Both cimkit reads are checked equal to the frames written before any time is reported. Then a
bbox read of 1 % of the area (folder, ``bbox=``) against the full read. Targets from the issue:
folder <= 1.0x plain GeoParquet (write and read), >= 4x faster than the GeoPackage path.

Usage::

    python benchmarks/bench_model_format.py                # 100,000 buildings + parcels
    python benchmarks/bench_model_format.py --quick        # 20,000
    python benchmarks/bench_model_format.py --buildings 50000 --repeat 5
    python benchmarks/bench_model_format.py --city city10k   # a generated city
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.io.folder import read_folder, write_folder
from cimkit.io.gpkg import read_gpkg, write_gpkg

CRS = "EPSG:2154"


def make_layers(n: int, *, seed: int = 14) -> dict[str, gpd.GeoDataFrame]:
    """Return ``n`` buildings and ``n`` parcels on a jittered grid (20 m cells), deterministic."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    cx = 651000 + (i % side) * 20.0 + rng.uniform(-2, 2, n)
    cy = 6840000 + (i // side) * 20.0 + rng.uniform(-2, 2, n)
    w, d, a = rng.uniform(6, 12, n), rng.uniform(6, 12, n), rng.uniform(0, np.pi / 2, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float) / 2
    xs = (
        cx[:, None]
        + corners[:, 0] * w[:, None] * np.cos(a)[:, None]
        - corners[:, 1] * d[:, None] * np.sin(a)[:, None]
    )
    ys = (
        cy[:, None]
        + corners[:, 0] * w[:, None] * np.sin(a)[:, None]
        + corners[:, 1] * d[:, None] * np.cos(a)[:, None]
    )
    rings = np.stack([xs, ys], axis=-1)
    footprints = shapely.polygons(rings)
    years = pd.array(rng.integers(1850, 2024, n), dtype="Int64")
    years[rng.random(n) < 0.1] = pd.NA
    buildings = gpd.GeoDataFrame(
        {
            "use": rng.choice(["residential", "office", "retail", "school"], n),
            "storeys": rng.integers(1, 12, n).astype("int32"),
            "height_m": rng.uniform(3, 40, n).round(2),
            "year_built": years,
        },
        geometry=footprints,
        index=pd.Index([f"B{k:07d}" for k in i], name="building_id"),
        crs=CRS,
    )
    parcels = gpd.GeoDataFrame(
        {
            "section": pd.Categorical(rng.choice(["AB", "AC", "ZK"], n)),
            "contenance": rng.integers(150, 420, n).astype("int32"),
        },
        geometry=shapely.box(cx - 10, cy - 10, cx + 10, cy + 10),
        index=pd.Index([f"91999000{k:06d}" for k in i], name="parcel_id"),
        crs=CRS,
    )
    return {"buildings": buildings, "parcels": parcels}


CPU: dict[str, float] = {}


def read_city(folder: Path) -> dict[str, gpd.GeoDataFrame]:
    """Return the footprints and parcels of a city written by ``cimkit.datasets.generate_city``."""
    footprints = gpd.read_file(folder / "footprints.geojson").to_crs(CRS)
    parcels = gpd.read_file(folder / "parcels.geojson").to_crs(CRS)
    return {
        "buildings": footprints.set_index(footprints.columns[0]),
        "parcels": parcels.set_index(parcels.columns[0]),
    }


def best(func: Callable[[], object], repeat: int, label: str = "") -> tuple[float, object]:
    """Return the best wall time of ``repeat`` calls and the last result (best CPU time in ``CPU``)."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[label] = min(cpu)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="20,000 buildings")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the folder and GeoParquet")
    parser.add_argument("--no-gpkg", action="store_true", help="skip the GeoPackage path")
    parser.add_argument(
        "--city", type=Path, default=None, help="a generated city folder (footprints + parcels) instead"
    )
    args = parser.parse_args()
    n = 20_000 if args.quick else args.buildings
    layers = make_layers(n) if args.city is None else read_city(args.city)
    n = len(layers["buildings"])
    root = Path(tempfile.mkdtemp(prefix="bench_model_format_"))
    print(f"{n:,} buildings + {n:,} parcels; best of {args.repeat}; load: {os.getloadavg()[0]:.2f}")
    try:
        folder = root / "city.cimkit"
        t_fw, _ = best(lambda: write_folder(folder, crs=CRS, layers=layers), args.repeat, "fw")
        t_fr, stored = best(lambda: read_folder(folder), args.repeat, "fr")
        for name, frame in layers.items():
            pd.testing.assert_frame_equal(stored.layers[name], frame, check_exact=True)  # type: ignore[attr-defined]

        def write_parquet() -> None:
            for name, frame in layers.items():
                frame.to_parquet(root / f"{name}.parquet")

        def read_parquet() -> dict[str, gpd.GeoDataFrame]:
            return {name: gpd.read_parquet(root / f"{name}.parquet") for name in layers}

        t_pw, _ = best(write_parquet, args.repeat, "pw")
        t_pr, _ = best(read_parquet, args.repeat, "pr")
        rows = [("folder (cimkit)", t_fw, t_fr), ("plain GeoParquet", t_pw, t_pr)]
        if not args.no_gpkg:
            gpkg = root / "city.gpkg"
            t_gw, _ = best(lambda: write_gpkg(gpkg, crs=CRS, layers=layers), 1, "gw")
            t_gr, back = best(lambda: read_gpkg(gpkg), 1, "gr")
            for name, frame in layers.items():
                pd.testing.assert_frame_equal(back.layers[name], frame, check_exact=True)  # type: ignore[attr-defined]
            rows.append(("GeoPackage (cimkit)", t_gw, t_gr))
        cpu = {
            "folder (cimkit)": ("fw", "fr"),
            "plain GeoParquet": ("pw", "pr"),
            "GeoPackage (cimkit)": ("gw", "gr"),
        }
        print(f"{'path':<22}{'write s':>10}{'read s':>10}{'write CPU s':>13}{'read CPU s':>12}")
        for label, w, r in rows:
            cw, cr = cpu[label]
            print(f"{label:<22}{w:>10.3f}{r:>10.3f}{CPU[cw]:>13.3f}{CPU[cr]:>12.3f}")
        print(
            f"folder / GeoParquet: write {t_fw / t_pw:.2f}x, read {t_fr / t_pr:.2f}x wall; "
            f"{CPU['fw'] / CPU['pw']:.2f}x, {CPU['fr'] / CPU['pr']:.2f}x CPU (target <= 1.0)"
        )
        if not args.no_gpkg:
            print(
                f"GeoPackage / folder: write {t_gw / t_fw:.1f}x, read {t_gr / t_fr:.1f}x slower wall; "
                f"{CPU['gw'] / CPU['fw']:.1f}x, {CPU['gr'] / CPU['fr']:.1f}x CPU (target >= 4)"
            )
        minx, miny, maxx, maxy = layers["buildings"].total_bounds
        bbox = (minx, miny, minx + (maxx - minx) / 10, miny + (maxy - miny) / 10)
        t_bb, part = best(lambda: read_folder(folder, layers=["buildings"], bbox=bbox), args.repeat)
        expected = layers["buildings"][layers["buildings"].intersects(shapely.box(*bbox))]
        pd.testing.assert_frame_equal(part.layers["buildings"], expected)  # type: ignore[attr-defined]
        t_b1, _ = best(lambda: read_folder(folder, layers=["buildings"]), args.repeat)
        print(
            f"bbox read of 1 % of the area: {len(expected):,} buildings in {t_bb:.3f} s "
            f"vs {t_b1:.3f} s for the whole layer ({t_b1 / t_bb:.1f}x)"
        )
        sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
        print("folder files (MB): " + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sorted(sizes.items())))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
