"""Benchmark: ``cimkit convert`` throughput in files per minute, locally (-j1, -j2) and on Dask.

Generates into a temporary folder N small IFC4 buildings (the sample city's authoring code,
each building moved to its own position on a 250 m grid in EPSG:2154) and N vector layers
(GeoJSON, 20 parcels each), then converts the whole folder to GeoPackage:

- ``-j 1`` (in the batch's process), ``-j 2`` (two worker processes, each with its IFC sandbox);
- a 2-worker Dask ``LocalCluster`` (``--scheduler``), one thread per worker.

Prints files per minute per mode (IFC and vector batches apart), and checks that the Dask run's
report (status, code, rows, CRS, input sha256, outputs with their sha256, relative to the output
folder) and its output files are identical to the local ``-j 2`` run's.

Run: ``.venv/bin/python benchmarks/bench_convert.py`` (200 + 200 files, the issue's size) or
``--count 20`` for a quick look; ``--no-dask`` skips the cluster.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any


def generate_ifcs(folder: Path, count: int) -> None:
    """Write ``count`` small IFC buildings, the sample city's specs moved over a 250 m grid."""
    from cimkit.datasets._ifc_authoring import author_building
    from cimkit.datasets.generator import _layout, _terrain

    specs = _layout(2154, _terrain(2154))["specs"]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        spec = specs[i % len(specs)]
        moved = dataclasses.replace(
            spec,
            short_name=f"b{i:04d}",
            eastings=spec.eastings + 250.0 * (i % 20),
            northings=spec.northings + 250.0 * (i // 20),
            rotation_deg=(spec.rotation_deg + 7.0 * i) % 360,
        )
        author_building(moved, folder / f"b{i:04d}.ifc")


def generate_layers(folder: Path, count: int) -> None:
    """Write ``count`` GeoJSON layers of 20 parcels each (near the sample city, lon/lat)."""
    import geopandas as gpd
    from shapely.geometry import box

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        x0, y0 = 2.30 + 0.002 * (i % 25), 48.70 + 0.002 * (i // 25)
        cells = [box(x0 + 0.0001 * k, y0, x0 + 0.0001 * k + 0.00008, y0 + 0.00008) for k in range(20)]
        gpd.GeoDataFrame({"parcel": [f"{i}-{k}" for k in range(20)]}, geometry=cells, crs=4326).to_file(
            folder / f"layer{i:04d}.geojson"
        )


def _comparable(out: Path) -> tuple[list[dict[str, Any]], dict[str, str]]:
    from cimkit.provenance import compute_sha256

    report = json.loads((out / "convert-report.json").read_text())
    keep = ("input", "format", "status", "code", "layers", "crs", "sha256")
    files = []
    for rec in report["files"]:
        row = {k: rec.get(k) for k in keep}
        row["outputs"] = {
            str(Path(f).relative_to(out)): s for f, s in (rec.get("output_sha256") or {}).items()
        }
        files.append(row)
    skip = {"convert-report.json", "convert-journal.jsonl"}
    hashes = {
        str(p.relative_to(out)): compute_sha256(p)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in skip
    }
    return files, hashes


def _timed(label: str, inputs: Path, out: Path, **kwargs: Any) -> float:
    from cimkit.cli.convert import run_convert

    started = time.perf_counter()
    report = run_convert([inputs], out, crs="EPSG:2154", verbosity=-1, **kwargs)
    seconds = time.perf_counter() - started
    files = len(report.records)
    assert report.failed == 0, report.summary()
    rate = files / seconds * 60
    print(f"{label:<28} {files:>4} files in {seconds:7.1f} s = {rate:7.1f} files/min")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--count", type=int, default=200, help="IFC files and vector layers each (default 200)"
    )
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        generate_ifcs(root / "ifc", args.count)
        generate_layers(root / "vector", args.count)
        print(f"generated {args.count} IFC + {args.count} GeoJSON in {time.perf_counter() - started:.1f} s")
        for kind in ("ifc", "vector"):
            _timed(f"{kind} -j1", root / kind, root / f"{kind}-j1", jobs=1)
            _timed(f"{kind} -j2", root / kind, root / f"{kind}-j2", jobs=2)
            if args.no_dask:
                continue
            from dask.distributed import LocalCluster

            with LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster:
                _timed(
                    f"{kind} dask 2 workers",
                    root / kind,
                    root / f"{kind}-dask",
                    scheduler=cluster.scheduler_address,
                )
            same = _comparable(root / f"{kind}-j2") == _comparable(root / f"{kind}-dask")
            print(f"{kind}: Dask report and outputs identical to -j2: {same}")
            assert same


if __name__ == "__main__":
    main()
