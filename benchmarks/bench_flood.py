"""Flood benchmark: cimkit against richdem, pyflwdir, pysheds, OpenCV, rasterize, exactextract, rasterstats.

Runs every tool on the same synthetic terrain in one process and prints the times and the
ratios cimkit / peer (below 1 means cimkit is faster). Peers that are not installed are skipped.

    python benchmarks/bench_flood.py --quick          # 1000 x 1000 cells, 10 000 footprints
    python benchmarks/bench_flood.py --size 4000      # the issue's 4000 x 4000 grid, 100 000 footprints

Targets (issue 5): conditioning + D8 + accumulation <= 1.0x richdem; HAND <= 1.0x pysheds;
connected bathtub <= 2x the OpenCV path; building depth statistics <= 0.5x rasterize + reduce
and <= 0.1x exactextract.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np

CELL = 5.0
ORIGIN = (600000.0, 6900000.0)


def terrain(n: int, seed: int = 0) -> np.ndarray:
    """A valley sloping to the south-east with smoothed noise (many small depressions)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:n, 0:n].astype("float64")
    z = 0.02 * (n - rows) + 0.01 * (n - cols)
    z += 8.0 * np.abs(np.sin(cols / n * 3.0 * np.pi))
    z += gaussian_filter(rng.normal(size=(n, n)), 3) * 4.0
    z += rng.normal(scale=0.05, size=(n, n))
    return z


def footprints(n_buildings: int, n: int, seed: int = 1) -> Any:
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    extent = n * CELL
    cx = ORIGIN[0] + rng.uniform(20, extent - 20, n_buildings)
    cy = ORIGIN[1] - rng.uniform(20, extent - 20, n_buildings)
    w = rng.uniform(6, 25, n_buildings)
    h = rng.uniform(6, 18, n_buildings)
    boxes = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    angle = rng.uniform(0, 90, n_buildings)
    from shapely import affinity

    rotated = [affinity.rotate(b, a, origin="centroid") for b, a in zip(boxes, angle)]
    return gpd.GeoDataFrame(geometry=rotated, crs="EPSG:2154")


@contextlib.contextmanager
def silenced():
    """Silence C-level stdout/stderr (richdem prints progress bars)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def timed(fn, repeat: int = 1) -> tuple[float, Any]:
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def report(name: str, ours: float, peers: dict[str, float | None], target: str) -> None:
    print(f"\n{name}  (target: {target})")
    print(f"  {'cimkit':<34}{ours:9.3f} s")
    for peer, t in peers.items():
        if t is None:
            print(f"  {peer:<34}{'skipped (not installed)':>24}")
        else:
            print(f"  {peer:<34}{t:9.3f} s   ratio cimkit/peer = {ours / t:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=4000, help="grid side in cells (default 4000)")
    parser.add_argument("--quick", action="store_true", help="1000 x 1000 cells and 10 000 footprints")
    parser.add_argument("--footprints", type=int, default=None, help="number of footprints (default 100 000)")
    parser.add_argument(
        "--rasterstats-max", type=int, default=5000, help="footprints timed with rasterstats (scaled)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs for the fast steps")
    args = parser.parse_args()
    n = 1000 if args.quick else args.size
    n_fp = args.footprints or (10_000 if args.quick else 100_000)

    from affine import Affine

    import cimkit.analysis.flood as flood
    from cimkit.analysis.flood import _kernels
    from cimkit.raster import Raster

    transform = Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1])
    print(f"terrain {n} x {n} cells of {CELL:g} m, {n_fp} footprints")
    z = terrain(n)
    dem = Raster(z, transform, "EPSG:2154", nodata=None)
    threshold = 1000

    # compile the numba kernels outside the timings
    small = Raster(terrain(64), transform, "EPSG:2154")
    flood.compute_hand(small, accumulation_threshold=50)
    flood.compute_bathtub_depth(small, float(np.median(small.values)))
    flood.compute_building_depths(footprints(10, 64), flood.compute_bathtub_depth(small, 1e9))
    flood.compute_flow_accumulation(flood.compute_flow_directions(flood.fill_depressions(small)))
    _warm_peers(small.values, transform)
    print("(numba kernels of cimkit, pyflwdir and pysheds compiled)")

    # 1. conditioning + D8 + accumulation ------------------------------------------------------
    def ours_cond():
        filled = flood.fill_depressions(dem)
        return flood.compute_flow_accumulation(flood.compute_flow_directions(filled))

    t_ours, acc = timed(ours_cond, args.repeat)
    peers: dict[str, float | None] = {}
    try:
        import richdem as rd

        def rich():
            arr = rd.rdarray(z.copy(), no_data=-9999.0)
            arr.geotransform = [ORIGIN[0], CELL, 0, ORIGIN[1], 0, -CELL]
            with silenced():
                filled = rd.FillDepressions(arr, epsilon=True, in_place=False)
                return rd.FlowAccumulation(filled, method="D8")

        peers["richdem (fill eps + D8 acc)"], _ = timed(rich)
    except ImportError:
        peers["richdem"] = None
    try:
        import pyflwdir

        def flw():
            f = pyflwdir.from_dem(z, nodata=-9999.0, transform=transform, latlon=False)
            return f.accuflux(np.ones(z.shape, dtype="float64"))

        peers["pyflwdir (from_dem + accuflux)"], _ = timed(flw)
    except ImportError:
        peers["pyflwdir"] = None
    pys = _pysheds_setup(z, transform)
    if pys is not None:
        grid, praster = pys

        def sheds():
            f = grid.fill_pits(praster)
            f = grid.fill_depressions(f)
            f = grid.resolve_flats(f)
            fd = grid.flowdir(f)
            return f, fd, grid.accumulation(fd)

        peers["pysheds (fill + flats + D8 + acc)"], (pf, pfd, pacc) = timed(sheds)
    else:
        peers["pysheds"] = None
    report("conditioning + D8 + accumulation", t_ours, peers, "<= 1.0x richdem")

    # 2. HAND ------------------------------------------------------------------------------------
    t_hand_full, _ = timed(lambda: flood.compute_hand(dem, accumulation_threshold=threshold))
    filled = flood.fill_depressions(dem)
    codes = flood.compute_flow_directions(filled)
    streams = (np.nan_to_num(acc.values) >= threshold).ravel()
    zf = np.ascontiguousarray(filled.values).ravel()

    def hand_step():
        rec = _kernels.codes_to_receivers(np.ascontiguousarray(codes.values).ravel(), n, n)
        _, order, _ = _kernels.topological_accumulation(rec, np.ones(n * n))
        return _kernels.hand_from_order(zf, rec, order, streams)

    t_hand_step, _ = timed(hand_step, args.repeat)
    peers = {}
    if pys is not None:
        mask = pacc > threshold
        peers["pysheds compute_hand (given fdir)"], _ = timed(lambda: grid.compute_hand(pfd, pf, mask))
    else:
        peers["pysheds"] = None
    report("HAND step (given flow directions)", t_hand_step, peers, "<= 1.0x pysheds")
    print(f"  cimkit compute_hand() full pipeline (fill + D8 + acc + HAND): {t_hand_full:.3f} s")

    # 3. connected bathtub -------------------------------------------------------------------------
    level = float(np.percentile(z, 40))
    t_ours, depth = timed(lambda: flood.compute_bathtub_depth(dem, level), args.repeat)
    peers = {}
    try:
        import cv2

        def opencv():
            wet = (z < level).view(np.uint8)
            count, labels = cv2.connectedComponents(wet, connectivity=8, ltype=cv2.CV_32S)
            border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
            lut = np.zeros(count, dtype=bool)
            lut[border] = True
            lut[0] = False
            return np.where(lut[labels], level - z, 0.0)

        peers["OpenCV connectedComponents path"], cv_depth = timed(opencv, args.repeat)
        assert np.array_equal(cv_depth, depth.values), "OpenCV and cimkit bathtubs differ"
    except ImportError:
        peers["OpenCV"] = None
    report("connected bathtub (8-connectivity, border sources)", t_ours, peers, "<= 2x OpenCV")

    # 4. building depth statistics ------------------------------------------------------------------
    gdf = footprints(n_fp, n)
    t_ours, stats = timed(lambda: flood.compute_building_depths(gdf, depth), args.repeat)
    d = depth.values
    peers = {}
    from rasterio.features import rasterize

    def raster_reduce():
        ids = rasterize(
            zip(gdf.geometry.values, range(1, len(gdf) + 1)),
            out_shape=d.shape,
            transform=transform,
            fill=0,
            dtype="int32",
        )
        flat = ids.ravel()
        inside = flat > 0
        k = flat[inside] - 1
        vals = d.ravel()[inside]
        vmax = np.full(len(gdf), -np.inf)
        np.maximum.at(vmax, k, vals)
        total = np.bincount(k, weights=vals, minlength=len(gdf))
        count = np.bincount(k, minlength=len(gdf))
        return vmax, total / np.maximum(count, 1)

    peers["rasterize + np.maximum.at (centres)"], _ = timed(raster_reduce, args.repeat)
    tmpdir = tempfile.mkdtemp(prefix="cimkit-bench-")
    tif = os.path.join(tmpdir, "depth.tif")
    depth.to_geotiff(tif)
    try:
        from exactextract import exact_extract

        peers["exactextract (max, mean)"], _ = timed(
            lambda: exact_extract(tif, gdf, ["max", "mean"], output="pandas")
        )
    except ImportError:
        peers["exactextract"] = None
    try:
        from rasterstats import zonal_stats

        m = min(args.rasterstats_max, len(gdf))
        t_rs, _ = timed(
            lambda: zonal_stats(gdf.geometry.values[:m], d, affine=transform, stats=["max", "mean"])
        )
        peers[f"rasterstats (timed on {m}, scaled)"] = t_rs * len(gdf) / m
    except ImportError:
        peers["rasterstats"] = None
    report(
        "building depth statistics (exact fractions)",
        t_ours,
        peers,
        "<= 0.5x rasterize, <= 0.1x exactextract",
    )
    print(f"  flooded footprints: {(stats['max_depth_m'] > 0).sum()} of {len(gdf)}")

    # 5. memory --------------------------------------------------------------------------------------
    peak = _peak_memory(n)
    if peak is not None:
        grid_mb = n * n * 8 / 2**20
        print(
            f"\npeak memory added by compute_hand() (fill + D8 + accumulation + HAND) in a fresh process: {peak:.0f} MiB "
            f"= {peak / grid_mb:.1f} float64 grid copies ({grid_mb:.0f} MiB each)"
        )


def _warm_peers(z: np.ndarray, transform: Any) -> None:
    """Run the numba-based peers once on a small grid so that compilation is not timed."""
    try:
        import pyflwdir

        pyflwdir.from_dem(z, nodata=-9999.0, transform=transform, latlon=False).accuflux(np.ones(z.shape))
    except ImportError:
        pass
    pys = _pysheds_setup(z, transform)
    if pys is not None:
        grid, praster = pys
        f = grid.resolve_flats(grid.fill_depressions(grid.fill_pits(praster)))
        fd = grid.flowdir(f)
        acc = grid.accumulation(fd)
        grid.compute_hand(fd, f, acc > 50)


def _pysheds_setup(z: np.ndarray, transform: Any) -> Any:
    try:
        if not hasattr(np, "in1d"):
            np.in1d = np.isin  # noqa: NPY201  pysheds 0.5 still calls np.in1d (gone in numpy 2.4)
        import pyproj
        from pysheds.grid import Grid
        from pysheds.sview import Raster as PRaster
        from pysheds.sview import ViewFinder
    except ImportError:
        return None
    vf = ViewFinder(affine=transform, shape=z.shape, crs=pyproj.Proj("EPSG:2154"), nodata=np.float64(-9999.0))
    return Grid(viewfinder=vf), PRaster(z.copy(), viewfinder=vf)


def _rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    return float("nan")


def _child_peak(path: str, queue: Any) -> None:
    from affine import Affine

    import cimkit.analysis.flood as flood
    from cimkit.raster import Raster

    z = np.load(path)
    dem = Raster(z, Affine(CELL, 0, ORIGIN[0], 0, -CELL, ORIGIN[1]), "EPSG:2154")
    flood.compute_hand(Raster(z[:64, :64].copy(), dem.transform, dem.crs), accumulation_threshold=50)
    import threading

    before = _rss_mib()
    samples = [before]
    done = threading.Event()

    def sample() -> None:  # ru_maxrss would include the compiler's peak: sample VmRSS instead
        while not done.is_set():
            samples.append(_rss_mib())
            time.sleep(0.002)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    flood.compute_hand(dem, accumulation_threshold=1000)
    done.set()
    watcher.join()
    queue.put(max(samples) - before)


def _peak_memory(n: int) -> float | None:
    """Peak resident memory added by compute_hand() on top of the loaded DEM, in a fresh process."""
    import multiprocessing as mp

    path = os.path.join(tempfile.mkdtemp(prefix="cimkit-bench-"), "dem.npy")
    np.save(path, terrain(n))
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_peak, args=(path, queue))
    proc.start()
    proc.join()
    os.remove(path)
    return queue.get() if proc.exitcode == 0 else None


if __name__ == "__main__":
    main()
