"""The whole path on a generated city, stage by stage: wall time and peak memory of each stage.

Generates a city with :func:`cimkit.datasets.generate_city` (or takes a ready one, ``--city``),
then runs what :func:`cimkit.build_city` runs on its recipe (``city.toml``), split into stages:
check the recipe's sha256, read every source, build the model (merge IFC + footprints), link
buildings -> parcels -> zones -> streets, the zoning check, flood (every return period of the
recipe), carbon, accessibility (with the flood closures), save (GeoPackage, and the folder format
when ``cimkit.io.folder`` is there) and the report (:func:`cimkit.viz.model_report.write_report`).

For each stage: the wall time and the PEAK RSS of the process and its child processes (the IFC
sandbox), sampled every 20 ms by a thread and reset at each stage; then the total and the process
maximum. With several sizes every size runs in a fresh subprocess (peaks do not leak from one size
to the next) and the growth exponent ``log(t2/t1) / log(n2/n1)`` between consecutive sizes is
printed per stage and overall. Targets (issue 14, on 2 cores): 100k buildings in under 5 minutes
and 8 GB, overall growth exponent <= 1.15; each is printed as PASS or FAIL.

    python benchmarks/bench_city.py --buildings 100000
    python benchmarks/bench_city.py --sizes 1000,10000,100000 --json stages.json
    python benchmarks/bench_city.py --city city10k      # a ready-made city
    python benchmarks/bench_city.py --sizes 1000,10000 --city city1k,city10k
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TARGET_SECONDS = 300.0  # 100k buildings, end to end (issue 14)
TARGET_PEAK_MB = 8 * 1024.0
TARGET_EXPONENT = 1.15
TARGET_SIZE = 100_000


# ----------------------------------------------------------------------------- measuring
class PeakSampler:
    """Sample the RSS of this process and all its children every ``interval`` seconds.

    ``reset()`` starts a new stage; ``peak_mb`` is the largest RSS (MiB) seen since.
    """

    def __init__(self, interval: float = 0.02) -> None:
        import psutil

        self._process = psutil.Process()
        self._psutil = psutil
        self.interval = interval
        self.peak_mb = 0.0
        self.max_mb = 0.0
        self._generation = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def rss_mb(self) -> float:
        """The RSS of the process and its children now, in MiB."""
        total = 0
        try:
            total = self._process.memory_info().rss
            for child in self._process.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                    continue
        except self._psutil.Error:
            pass
        return total / 2**20

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used so far by this process and its descendants, reaped or alive."""
        total = 0.0
        procs = [self._process]
        try:
            procs += self._process.children(recursive=True)
        except self._psutil.Error:
            pass
        for proc in procs:
            try:
                t = proc.cpu_times()
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def sample(self) -> None:
        generation = self._generation
        now = self.rss_mb()
        with self._lock:
            self.max_mb = max(self.max_mb, now)
            if generation == self._generation:  # not measured before a reset that came meanwhile
                self.peak_mb = max(self.peak_mb, now)

    def reset(self) -> None:
        with self._lock:
            self.peak_mb = 0.0
            self._generation += 1
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


class StageTable:
    """Time and peak memory of named stages, in the order they ran."""

    def __init__(self, sampler: PeakSampler) -> None:
        self.sampler = sampler
        self.rows: list[dict[str, Any]] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.sampler.reset()
        cpu = self.sampler.cpu_s()
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        cpu = self.sampler.cpu_s() - cpu
        self.sampler.sample()
        self.rows.append({"stage": name, "seconds": seconds, "cpu_s": cpu, "peak_mb": self.sampler.peak_mb})
        print(
            f"  {name:<24} {seconds:9.2f} s {cpu:9.2f} s cpu {self.sampler.peak_mb:9.0f} MiB",
            file=sys.stderr,
            flush=True,
        )


def process_max_mb() -> float:
    """The largest RSS of this process, and of its largest finished child, in MiB (``getrusage``)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024  # Linux reports KiB


def growth_exponent(n1: float, t1: float, n2: float, t2: float) -> float:
    """The exponent ``k`` of ``t ~ n**k`` between two sizes: ``log(t2/t1) / log(n2/n1)``.

    NaN when a time is not positive or the sizes are equal.
    """
    if n1 <= 0 or n2 <= 0 or n1 == n2 or t1 <= 0 or t2 <= 0:
        return math.nan
    return math.log(t2 / t1) / math.log(n2 / n1)


def exponent_table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The growth exponent of each stage and of the total between consecutive runs (sorted by size)."""
    runs = sorted(runs, key=lambda r: r["buildings"])
    out = []
    for a, b in itertools.pairwise(runs):
        times_a = {r["stage"]: r["seconds"] for r in a["stages"]}
        times_b = {r["stage"]: r["seconds"] for r in b["stages"]}
        row: dict[str, Any] = {"from": a["buildings"], "to": b["buildings"]}
        for stage in times_b:
            if stage in times_a:
                row[stage] = growth_exponent(a["buildings"], times_a[stage], b["buildings"], times_b[stage])
        row["total"] = growth_exponent(a["buildings"], a["total_s"], b["buildings"], b["total_s"])
        cpu_a, cpu_b = (sum(r.get("cpu_s", math.nan) for r in run["stages"]) for run in (a, b))
        row["total CPU"] = growth_exponent(a["buildings"], cpu_a, b["buildings"], cpu_b)
        out.append(row)
    return out


# ----------------------------------------------------------------------------- the path
def _recipe_stages(folder: Path, out: Path, table: StageTable, dump: Path | None = None) -> dict[str, Any]:
    """Run the recipe of ``folder`` stage by stage, with the functions :func:`cimkit.build_city` calls."""
    from cimkit.analysis.linking import (
        find_nearest,
        link_buildings_to_parcels,
        link_buildings_to_zones,
        link_parcels_to_zones,
    )
    from cimkit.analysis.merge import merge_buildings
    from cimkit.model import CityModel
    from cimkit.recipe._build import _add_dem, _add_network, _call, _check_hashes, _read, _run_analysis
    from cimkit.recipe._parse import _PARTS, _parse, _Recipe, _Source

    with table.stage("check recipe (sha256)"):
        recipe = _Recipe(folder / "city.toml")
        plan = _parse(recipe)
        _check_hashes(recipe, plan, False)
    model = CityModel(plan.crs, name=plan.name)
    frames: dict[str, Any] = {}
    with table.stage("read layers"):
        for layer, source in plan.sources:
            if isinstance(source, _Source):
                frames[layer] = _read(recipe, plan, source)
    building_sources = [(layer, s) for layer, s in plan.sources if not isinstance(s, _Source)]
    parts: dict[str, dict[str, Any]] = {}
    for layer, source in building_sources:
        parts[layer] = {}
        for part in _PARTS:
            if part in source:
                with table.stage(f"read {part}"):
                    parts[layer][part] = _read(recipe, plan, source[part])
    with table.stage("read networks + dem"):
        for kind, source in plan.networks.items():
            _add_network(recipe, plan, model, kind, source)
        if plan.dem is not None:
            _add_dem(recipe, plan, model, plan.dem)
    with table.stage("build model (merge)"):
        for layer, frame in frames.items():
            model.add_layer(layer, frame, licence=plan.licence)
        for layer, source in building_sources:
            read = parts[layer]
            tables = read["ifc"][1] if "ifc" in read else {}
            given = {k: (v[0] if k == "ifc" else v) for k, v in read.items()}
            merged = _call(
                recipe, ("sources", layer), merge_buildings, **given, min_iou=float(source["min_iou"])
            )
            model.add_layer(layer, merged, licence=plan.licence)
            for name, extra in tables.items():
                model.add_layer(name, extra, licence=plan.licence)
    buildings = model.buildings
    counts = {"buildings": len(buildings), "parcels": len(model.parcels), "zones": len(model.zones)}
    with table.stage("link"):
        to_parcel = link_buildings_to_parcels(buildings, model.parcels)
        link_parcels_to_zones(model.parcels, model.zones)
        link_buildings_to_zones(buildings, model.zones)
        if "road" in model.networks:
            import geopandas as gpd
            import shapely

            centroids = gpd.GeoSeries(shapely.centroid(buildings.geometry.to_numpy()), index=buildings.index)
            find_nearest(centroids.set_crs(buildings.crs), model.network("road").nodes, name="access_node")
    counts["linked_to_parcel"] = int(to_parcel["parcel_id"].notna().sum())
    results: dict[str, Any] = {}
    for name, options in plan.analyses.items():
        with table.stage(name):
            results[name] = _run_analysis(recipe, model, name, dict(options), results)
    if dump is not None:
        dump_buildings(model, dump)
    _save_and_report(model, out, table)
    return counts


def dump_buildings(model: Any, path: Path) -> None:
    """Write the buildings table (geometry as WKB) and its provenance steps, to compare two runs."""
    import pandas as pd
    import shapely

    from cimkit import provenance as prov

    table = pd.DataFrame(model.buildings.drop(columns="geometry"))
    table["geometry_wkb"] = shapely.to_wkb(model.buildings.geometry.to_numpy(), hex=True)
    for column in table.columns:
        if table[column].dtype == object:
            table[column] = table[column].map(lambda v: None if v is None else str(v))
    table.to_parquet(path)
    record = prov.get(model.buildings)
    steps = [(s.action, s.detail, sorted(s.params)) for s in record.steps] if record else []
    Path(str(path) + ".steps.json").write_text(json.dumps(steps, indent=0, default=str))


def _save_and_report(model: Any, out: Path, table: StageTable) -> None:
    with table.stage("save gpkg"):
        model.to_file(out / "city.gpkg")
    try:
        from cimkit.io import folder as folder_format
    except ImportError:
        folder_format = None
    if folder_format is not None:
        with table.stage("save folder"):
            folder_format.write_folder(
                out / "city.cimkit",
                crs=model.crs,
                name=model.name,
                layers=model._layers,
                networks=model._networks,
                dem=model._dem,
                records=model._provenance,
            )
    import matplotlib

    matplotlib.use("Agg")
    from cimkit.viz.model_report import write_report

    with table.stage("report"):
        write_report(model, out / "report")


def _import_all() -> float:
    """Import the modules of the path before timing (a constant cost that would skew the exponents)."""
    started = time.perf_counter()
    import matplotlib

    matplotlib.use("Agg")
    import cimkit.analysis.accessibility
    import cimkit.analysis.carbon
    import cimkit.analysis.flood
    import cimkit.analysis.zoning
    import cimkit.io.gpkg
    import cimkit.io.ifc.reader
    import cimkit.io.plu
    import cimkit.io.raster
    import cimkit.io.vector
    import cimkit.network.read
    import cimkit.recipe
    import cimkit.viz.model_report  # noqa: F401

    return time.perf_counter() - started


def run_city(
    folder: Path, *, out: Path | None = None, profile: Path | None = None, dump: Path | None = None
) -> dict[str, Any]:
    """Run the whole path on the city in ``folder``; return its stage table as a dict.

    ``profile``: also write cProfile statistics of the whole path to this file (``pstats``).
    ``dump``: write the analysed buildings table to this Parquet file (:func:`dump_buildings`).
    """
    folder = Path(folder)
    own_out = out is None
    work = Path(tempfile.mkdtemp(prefix="bench-city-")) if out is None else Path(out)
    import_s = _import_all()
    started = time.perf_counter()
    with PeakSampler() as sampler, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = StageTable(sampler)
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        counts = _recipe_stages(folder, work, table, dump)
        if profile is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        max_mb = max(sampler.max_mb, process_max_mb())
    total = time.perf_counter() - started
    if own_out:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return {
        "city": str(folder),
        "buildings": counts["buildings"],
        "counts": counts,
        "stages": table.rows,
        "total_s": total,
        "max_mb": max_mb,
        "import_s": import_s,
    }


def generate(buildings: int, folder: Path, *, seed: int = 2154) -> tuple[Path, float]:
    """Generate a city of ``buildings`` into ``folder``; return it and the seconds it took."""
    from cimkit.datasets import generate_city

    started = time.perf_counter()
    path = generate_city(folder, buildings=buildings, seed=seed)
    return Path(path), time.perf_counter() - started


# ----------------------------------------------------------------------------- printing
def format_table(run: dict[str, Any]) -> str:
    """The markdown stage table of one run, with the total and the targets."""
    lines = [
        f"### {run['buildings']:,} buildings ({run['city']})",
        "",
        "| stage | time (s) | share | CPU (s) | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in run["stages"]:
        share = row["seconds"] / run["total_s"] if run["total_s"] else 0.0
        lines.append(
            f"| {row['stage']} | {row['seconds']:.2f} | {share:.0%} | {row.get('cpu_s', math.nan):.2f} "
            f"| {row['peak_mb']:.0f} |"
        )
    cpu = sum(row.get("cpu_s", math.nan) for row in run["stages"])
    lines.append(
        f"| **total** | **{run['total_s']:.2f}** | 100% | {cpu:.2f} | **{run['max_mb']:.0f}** (process max) |"
    )
    lines.append(f"\n(importing the modules took {run.get('import_s', 0.0):.1f} s before the clock started)")
    if "generate_s" in run:
        lines.append(f"\n(generating the city took {run['generate_s']:.1f} s, not counted)")
    return "\n".join(lines)


def format_exponents(rows: list[dict[str, Any]]) -> str:
    """The markdown table of growth exponents, one column per pair of sizes."""
    if not rows:
        return ""
    stages = [k for k in rows[-1] if k not in ("from", "to")]
    head = " | ".join(f"{r['from']:,} -> {r['to']:,}" for r in rows)
    lines = [f"| stage | {head} |", "|---|" + "---:|" * len(rows)]
    for stage in stages:
        cells = " | ".join(f"{r.get(stage, math.nan):.2f}" for r in rows)
        lines.append(f"| {stage} | {cells} |")
    return "\n".join(lines)


def verdicts(runs: list[dict[str, Any]], exponents: list[dict[str, Any]]) -> list[str]:
    """PASS / FAIL lines against the issue's targets (time and memory at the largest size, exponent)."""
    big = max(runs, key=lambda r: r["buildings"])
    scale = (
        f" (measured at {big['buildings']:,}, target at {TARGET_SIZE:,})"
        if big["buildings"] != TARGET_SIZE
        else ""
    )
    out = [
        f"{'PASS' if big['total_s'] < TARGET_SECONDS else 'FAIL'}: total {big['total_s']:.1f} s "
        f"< {TARGET_SECONDS:.0f} s{scale}",
        f"{'PASS' if big['max_mb'] < TARGET_PEAK_MB else 'FAIL'}: peak {big['max_mb']:.0f} MiB "
        f"< {TARGET_PEAK_MB:.0f} MiB{scale}",
    ]
    for row in exponents:
        k = row["total"]
        out.append(
            f"{'PASS' if k <= TARGET_EXPONENT else 'FAIL'}: overall growth exponent "
            f"{row['from']:,} -> {row['to']:,} = {k:.2f} <= {TARGET_EXPONENT}"
            + (
                f" (on CPU time: {row['total CPU']:.2f})"
                if math.isfinite(row.get("total CPU", math.nan))
                else ""
            )
        )
    return out


def _machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


# ----------------------------------------------------------------------------- main
def _one_size(args: argparse.Namespace, buildings: int, city: Path | None) -> dict[str, Any]:
    generate_s = None
    if city is None:
        city, generate_s = generate(
            buildings, Path(tempfile.mkdtemp(prefix=f"city{buildings}-")), seed=args.seed
        )
    run = run_city(
        city,
        profile=Path(args.profile) if args.profile else None,
        dump=Path(args.dump) if args.dump else None,
    )
    if generate_s is not None:
        run["generate_s"] = generate_s
    run["requested"] = buildings
    run["load_after"] = list(os.getloadavg())
    return run


def _in_subprocess(args: argparse.Namespace, buildings: int, city: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        cmd = [
            sys.executable,
            __file__,
            "--buildings",
            str(buildings),
            "--json",
            str(out),
            "--seed",
            str(args.seed),
        ]
        if city is not None:
            cmd += ["--city", str(city)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())["runs"][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--buildings", type=int, default=TARGET_SIZE, help="size of the city (one size)")
    parser.add_argument("--sizes", help="comma-separated sizes, each run in a fresh subprocess")
    parser.add_argument("--city", help="ready-made city folder(s), comma-separated, one per size")
    parser.add_argument("--seed", type=int, default=2154)
    parser.add_argument("--json", help="write the runs and exponents to this JSON file")
    parser.add_argument("--profile", help="write cProfile statistics of the path to this file (one size)")
    parser.add_argument("--dump", help="write the analysed buildings table to this Parquet file (one size)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.buildings]
    cities: list[Path | None] = [Path(c) for c in args.city.split(",")] if args.city else [None] * len(sizes)
    if len(cities) != len(sizes):
        parser.error("--city needs one folder per size")
    print(f"machine: {_machine()}", flush=True)
    if len(sizes) == 1:
        runs = [_one_size(args, sizes[0], cities[0])]
    else:
        runs = [_in_subprocess(args, n, c) for n, c in zip(sizes, cities)]
    exponents = exponent_table(runs)
    for run in runs:
        print("\n" + format_table(run))
    if exponents:
        print("\n### Growth exponents log(t2/t1) / log(n2/n1)\n\n" + format_exponents(exponents))
    print()
    for line in verdicts(runs, exponents):
        print(line)
    print(f"\nmachine after: {_machine()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "exponents": exponents}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
