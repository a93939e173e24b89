"""Benchmark the merge against geopandas: largest-overlap links and point-in-polygon.

Builds synthetic layers in one run (a grid of zones with jagged, densified edges and
randomly placed footprints, 3/4 rectangles and 1/4 L-shaped, some across zone edges), then times:

1. largest overlap, buildings -> zones:
   cimkit ``link_buildings_to_zones`` vs geopandas ``sjoin`` + intersection areas + ``idxmax``;
2. point in polygon, points -> zones:
   cimkit ``locate_points`` vs geopandas ``sjoin(predicate="within")``.

Both sides must give the same answer (checked before timing is reported). Targets from the
project's issue: ratio <= 0.6 for (1), <= 1.0 for (2).

Usage::

    python benchmarks/bench_merge.py            # 100k buildings, 20k zones
    python benchmarks/bench_merge.py --quick    # 20k buildings, 4k zones
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimkit.analysis.linking import link_buildings_to_zones, locate_points

CRS = "EPSG:2154"


def make_zones(
    n_zones: int, *, cell_m: float = 100.0, vertices_per_side: int = 20, seed: int = 1
) -> gpd.GeoDataFrame:
    """A grid of ~n_zones square zones whose edges carry jittered vertices (shared by neighbours)."""
    rng = np.random.default_rng(seed)
    side = round(np.sqrt(n_zones))  # side x side zones cover the whole square
    # a jittered lattice of points: every zone edge is a polyline through shared vertices
    k = vertices_per_side
    n = side * k + 1
    xs = np.arange(n) * cell_m / k
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    jitter = rng.uniform(-0.3, 0.3, size=(2, n, n)) * cell_m / k
    jitter[:, ::k, ::k] = 0.0  # grid corners stay put
    px, py = gx + jitter[0], gy + jitter[1]
    polys = []
    for i in range(side):
        for j in range(side):
            i0, j0 = i * k, j * k
            bottom = [(px[i0 + t, j0], py[i0 + t, j0]) for t in range(k)]
            right = [(px[i0 + k, j0 + t], py[i0 + k, j0 + t]) for t in range(k)]
            top = [(px[i0 + k - t, j0 + k], py[i0 + k - t, j0 + k]) for t in range(k)]
            left = [(px[i0, j0 + k - t], py[i0, j0 + k - t]) for t in range(k)]
            polys.append(shapely.Polygon(bottom + right + top + left))
    # keep only the lattice vertices on the zone edges: straight runs between them
    zones = gpd.GeoDataFrame({"zone_id": np.arange(len(polys))}, geometry=polys, crs=CRS).set_index("zone_id")
    return zones


def make_buildings(n: int, zones: gpd.GeoDataFrame, *, seed: int = 2) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = zones.total_bounds
    cx = rng.uniform(minx + 20, maxx - 20, n)
    cy = rng.uniform(miny + 20, maxy - 20, n)
    w = rng.uniform(8, 20, n)
    h = rng.uniform(8, 20, n)
    geoms = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    # one footprint in four is L-shaped (non-convex: takes the GEOS path in cimkit)
    ell = np.arange(n) % 4 == 0
    notch = shapely.box(cx[ell], cy[ell], cx[ell] + w[ell] / 2, cy[ell] + h[ell] / 2)
    geoms[ell] = shapely.difference(geoms[ell], notch)
    return gpd.GeoDataFrame({"building_id": np.arange(n)}, geometry=geoms, crs=CRS).set_index("building_id")


def geopandas_largest(buildings: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.Series:
    """The plain geopandas way: sjoin, intersection areas of every pair, idxmax."""
    joined = gpd.sjoin(buildings, zones, how="inner", predicate="intersects")
    left = buildings.geometry.loc[joined.index].to_numpy()
    right = zones.geometry.loc[joined["zone_id"]].to_numpy()
    areas = gpd.GeoSeries(left, crs=CRS).intersection(gpd.GeoSeries(right, crs=CRS)).area.to_numpy()
    frame = pd.DataFrame(
        {"building_id": joined.index.to_numpy(), "zone_id": joined["zone_id"].to_numpy(), "a": areas}
    )
    best = frame.loc[frame.groupby("building_id")["a"].idxmax()]
    return best.set_index("building_id")["zone_id"].reindex(buildings.index)


def timed(func, *args, repeat: int = 3):
    best = np.inf
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func(*args)
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k buildings, 4k zones")
    parser.add_argument("--buildings", type=int, default=None)
    parser.add_argument("--zones", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n_b = args.buildings or (20_000 if args.quick else 100_000)
    n_z = args.zones or (4_000 if args.quick else 20_000)

    zones = make_zones(n_z)
    buildings = make_buildings(n_b, zones)
    print(
        f"{len(buildings)} buildings, {len(zones)} zones ({int(shapely.get_num_coordinates(zones.geometry.iloc[0]))} vertices each)"
    )

    t_ck, ours = timed(lambda: link_buildings_to_zones(buildings, zones), repeat=args.repeat)
    t_gp, ref = timed(lambda: geopandas_largest(buildings, zones), repeat=args.repeat)
    same = (ours["zone_id"].astype("int64").to_numpy() == ref.astype("int64").to_numpy()).mean()
    print(
        f"largest overlap : cimkit {t_ck:.3f} s  geopandas {t_gp:.3f} s  ratio {t_ck / t_gp:.2f} (target <= 0.6)"
        f"  agreement {same:.4%}"
    )

    points = gpd.GeoDataFrame(geometry=buildings.geometry.centroid, crs=CRS)
    t_ck2, ours2 = timed(lambda: locate_points(points, zones), repeat=args.repeat)
    t_gp2, ref2 = timed(lambda: gpd.sjoin(points, zones, how="left", predicate="within"), repeat=args.repeat)
    ref2 = ref2[~ref2.index.duplicated()]["zone_id"]
    same2 = (ours2.to_numpy(dtype="float64") == ref2.to_numpy(dtype="float64")).mean()
    print(
        f"point in polygon: cimkit {t_ck2:.3f} s  geopandas {t_gp2:.3f} s  ratio {t_ck2 / t_gp2:.2f} (target <= 1.0)"
        f"  agreement {same2:.4%}"
    )


if __name__ == "__main__":
    main()
