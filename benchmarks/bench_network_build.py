"""Build a road network from lines: cimkit.network.topology.build_network vs momepy.

The input is a synthetic street grid (``--size`` x ``--size`` intersections, 100 m blocks):
every street is one polyline that runs across the whole grid through the shared intersection
vertices, every fifth street stops 0.3 m short of the grid edge street (a gap to snap), and 2 %
of the blocks are duplicated lines. Both tools are asked for the same result: a graph whose nodes
are the intersections, with the gaps closed and the components counted.

- cimkit: ``build_network(lines, kind="road", snap_tolerance_m=0.5)`` (snaps, splits at shared
  vertices, drops duplicates, counts components and dangles).
- momepy 0.11: ``close_gaps(lines, 0.5)`` then ``gdf_to_nx`` (nodes at line ends only, so the
  lines are first split at their vertices with ``shapely`` — momepy does not split) then networkx
  ``number_connected_components``.

Run: ``python benchmarks/bench_network_build.py --quick`` (about 60k nodes) or ``--size 500``
(250k nodes). Prints the times and the ratio cimkit / momepy (below 1: cimkit faster).
"""

from __future__ import annotations

import argparse
import time
import warnings

import geopandas as gpd
import numpy as np
import shapely


def street_grid(size: int, block_m: float = 100.0, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    coords = np.arange(size) * block_m
    geoms = []
    for i, c in enumerate(coords):
        xs = coords.copy()
        if i % 5 == 4 and 0 < i < size - 1:
            xs = xs.astype(float)
            xs[0] += 0.3  # 0.3 m short of the first vertical street
        geoms.append(shapely.linestrings(np.c_[xs, np.full(size, c)]))  # horizontal street
        geoms.append(shapely.linestrings(np.c_[np.full(size, c), coords]))  # vertical street
    dup = rng.choice(size - 1, size=max(1, int(0.02 * size * size)), replace=True)
    rows = rng.integers(0, size, len(dup))
    for a, r in zip(dup, rows):
        geoms.append(shapely.linestrings([[coords[a], coords[r]], [coords[a + 1], coords[r]]]))
    return gpd.GeoDataFrame(geometry=geoms, crs="EPSG:2154")


def run_cimkit(lines: gpd.GeoDataFrame) -> tuple[float, int, int]:
    from cimkit.network.topology import build_network

    t = time.perf_counter()
    net = build_network(lines, kind="road", snap_tolerance_m=0.5)
    return time.perf_counter() - t, len(net.nodes), net.report["components"]


def run_momepy(lines: gpd.GeoDataFrame) -> tuple[float, int, int]:
    import momepy
    import networkx as nx

    t = time.perf_counter()
    closed = momepy.close_gaps(lines, 0.5)
    # momepy places nodes at line ends only: split every line at its vertices first
    coords, which = shapely.get_coordinates(closed.values, return_index=True)
    same = which[1:] == which[:-1]
    segs = shapely.linestrings(
        np.stack([coords[:-1][same], coords[1:][same]], axis=1).reshape(-1, 2),
        indices=np.repeat(np.arange(int(same.sum())), 2),
    )
    segments = gpd.GeoDataFrame(geometry=segs, crs=lines.crs)
    graph = momepy.gdf_to_nx(segments, approach="primal", multigraph=False)
    n_comp = nx.number_connected_components(graph)
    return time.perf_counter() - t, graph.number_of_nodes(), n_comp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=500, help="intersections per side (500 -> 250k nodes)")
    parser.add_argument("--quick", action="store_true", help="size 250 (about 60k nodes)")
    parser.add_argument("--no-peer", action="store_true", help="time cimkit only")
    args = parser.parse_args()
    size = 250 if args.quick else args.size
    lines = street_grid(size)
    print(f"input: {len(lines)} lines, {size * size} intersections")
    t_c, n_c, comp_c = run_cimkit(lines)
    print(f"cimkit build_network : {t_c:7.2f} s  nodes={n_c} components={comp_c}")
    if args.no_peer:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_m, n_m, comp_m = run_momepy(lines)
    except ImportError:
        print("momepy is not installed: pip install momepy (see benchmarks/README.md)")
        return
    print(f"momepy close_gaps+gdf_to_nx : {t_m:7.2f} s  nodes={n_m} components={comp_m}")
    print(f"ratio cimkit / momepy: {t_c / t_m:.3f}")


if __name__ == "__main__":
    main()
