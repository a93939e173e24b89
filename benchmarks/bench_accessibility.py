"""Accessibility engine benchmark: cimkit vs pandana and scipy on a synthetic street grid.

Queries (all on one grid of ``--nodes`` nodes, 100 m blocks with +-10 % length jitter):

1. jobs within 1 km and 2 km of every node —
   cimkit one-off (:func:`cimkit.network.paths.aggregate_within`), cimkit with a reusable
   :class:`~cimkit.network.paths.TravelTimeCache` (build once, then query), pandana (contraction
   hierarchy build + ``precompute(2000)`` + ``aggregate``), scipy ``dijkstra(limit=2000)`` on
   ``--scipy-sources`` sources, extrapolated linearly to every node (stated in the output);
2. nearest of 1,000 POIs from every node — cimkit :func:`~cimkit.network.paths.compute_nearest` vs
   scipy ``dijkstra(indices=pois, min_only=True)``.

Results are checked against the scipy reference on the sampled sources (exact equality) and
against pandana (share of nodes with the same sums; pandana stores float32 distances).

Usage::

    python benchmarks/bench_accessibility.py --quick          # 20k nodes
    python benchmarks/bench_accessibility.py --nodes 250000   # the issue's size
    python benchmarks/bench_accessibility.py --quick --no-pandana
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def grid_graph(n_nodes: int, seed: int = 0):
    """Square grid street graph: node xy (m), undirected edges (u, v, length m)."""
    side = round(float(np.sqrt(n_nodes)))
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    xs, ys = np.meshgrid(np.arange(side) * 100.0, np.arange(side) * 100.0)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    length = 100.0 * rng.uniform(0.9, 1.1, len(u))
    return xs.ravel(), ys.ravel(), u, v, length


def cimkit_csr(n, u, v, length):
    from cimkit.network.graph import CSRGraph

    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    w = np.concatenate([length, length])
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    eid = np.concatenate([np.arange(len(u)), np.arange(len(u))])
    return CSRGraph(indptr, dst[order].astype(np.int64), w[order], eid[order], np.arange(n, dtype=np.int64))


REPEAT = 1


def timed(fn, repeat: int | None = None):
    """Return the result and best wall time of ``repeat`` runs.

    The minimum is the least disturbed by other processes on a shared machine.
    """
    best = float("inf")
    for _ in range(REPEAT if repeat is None else repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=250_000, help="grid size in nodes (default 250000)")
    p.add_argument("--quick", action="store_true", help="20,000 nodes")
    p.add_argument("--pois", type=int, default=1000, help="POIs for the nearest query")
    p.add_argument("--scipy-sources", type=int, default=500, help="sources timed for scipy (extrapolated)")
    p.add_argument("--no-pandana", action="store_true", help="skip pandana")
    p.add_argument("--repeat", type=int, default=3, help="best of N runs for every query (builds: once)")
    args = p.parse_args()
    global REPEAT
    REPEAT = max(1, args.repeat)
    n_req = 20_000 if args.quick else args.nodes

    from scipy.sparse.csgraph import dijkstra

    from cimkit.network import paths

    x, y, u, v, length = grid_graph(n_req)
    n = len(x)
    rng = np.random.default_rng(1)
    jobs = rng.integers(0, 50, n).astype("float64")
    csr = cimkit_csr(n, u, v, length)
    print(f"grid: {n} nodes, {len(u)} edges, 100 m blocks; threads: {paths._n_jobs(None)}")

    # compile the kernels on a toy graph so that the timings below are steady-state
    _, t_compile = timed(
        lambda: paths.TravelTimeCache(cimkit_csr(4, *grid_graph(4)[2:]), max_distance_m=1.0).aggregate(
            np.ones(4), max_distance_m=1.0
        )
    )
    paths.aggregate_within(cimkit_csr(4, *grid_graph(4)[2:]), np.ones(4), max_distance_m=1.0)
    paths.compute_nearest(cimkit_csr(4, *grid_graph(4)[2:]), None, [0], k=1)
    print(f"numba compile / cache load (first call): {t_compile:.2f} s")

    cut = [1000.0, 2000.0]
    one_off, t_one = timed(lambda: paths.aggregate_within(csr, jobs, max_distance_m=cut))
    cache, t_build = timed(lambda: paths.TravelTimeCache(csr, max_distance_m=2000.0), 1)
    cached, t_query = timed(lambda: cache.aggregate(jobs, max_distance_m=cut))
    assert np.array_equal(one_off.to_numpy(), cached.to_numpy())
    print(f"cimkit one-off aggregate (1 & 2 km): {t_one:.2f} s")
    print(
        f"cimkit cache build: {t_build:.2f} s ({cache.n_pairs:.3g} pairs, {cache.nbytes / 1e9:.2f} GB)"
        f" = {t_build / t_one:.2f}x one query; cached query: {t_query:.3f} s"
    )

    # scipy reference on a sample of sources, extrapolated
    k = min(args.scipy_sources, n)
    sample = rng.choice(n, k, replace=False)
    A = csr.to_scipy()
    dist, t_sp = timed(lambda: dijkstra(A, directed=True, indices=sample, limit=2000.0), 1)
    t_sp_all = t_sp * n / k
    ref = np.stack([((dist <= c) * jobs).sum(1) for c in cut], axis=1)
    same = np.array_equal(ref, one_off.to_numpy()[sample])
    print(
        f"scipy dijkstra(limit=2000) on {k} sources: {t_sp:.2f} s -> extrapolated to {n}: {t_sp_all:.1f} s"
        f"; cimkit sums identical on those sources: {same}"
    )
    print(f"RATIO cimkit one-off / scipy (extrapolated): {t_one / t_sp_all:.4f}")

    if not args.no_pandana:
        try:
            import pandana
            import pandas as pd
        except ImportError:
            print("pandana is not installed: skipped (pip install pandana)")
        else:

            def build():
                return pandana.Network(
                    pd.Series(x),
                    pd.Series(y),
                    pd.Series(u),
                    pd.Series(v),
                    pd.DataFrame({"length": length}),
                    twoway=True,
                )

            net, t_pb = timed(build, 1)
            _, t_pp = timed(lambda: net.precompute(2000), 1)
            net.set(pd.Series(np.arange(n)), variable=jobs, name="jobs")

            def pagg():
                return [net.aggregate(c, type="sum", decay="flat", name="jobs") for c in cut]

            pres, t_pa = timed(pagg)
            pand = np.stack([r.to_numpy() for r in pres], axis=1)
            same_rows = np.all(np.isclose(pand, one_off.to_numpy(), rtol=0, atol=1e-6), axis=1)
            eq = np.mean(same_rows)
            # where the sums differ, is a node within 1e-5 (2 cm at 2 km) of a cut-off? pandana's
            # costs are less precise than float64 (nodes at 2000.001-2000.009 m are counted)
            bad = np.flatnonzero(~same_rows)[:20]
            if len(bad):
                d_bad = dijkstra(A, directed=True, indices=bad, limit=2001.0)
                near_cut = [any(bool(np.any(np.abs(row - c) <= c * 1e-5)) for c in cut) for row in d_bad]
                print(
                    f"  {len(bad)} differing nodes checked: {sum(near_cut)} have a node within 1e-5"
                    " relative of a cut-off (precision of pandana's costs)"
                )
            total = t_pb + t_pp + t_pa
            print(
                f"pandana build {t_pb:.2f} s + precompute {t_pp:.2f} s + aggregate {t_pa:.3f} s = {total:.2f} s;"
                f" nodes with identical sums: {eq:.4%}"
            )
            print(f"RATIO cimkit one-off / pandana total: {t_one / total:.4f}  (target <= 0.05)")
            print(f"RATIO cimkit cache build / cimkit one-off: {t_build / t_one:.2f}  (target <= 10)")
            print(f"RATIO cimkit cached query / pandana aggregate: {t_query / t_pa:.3f}  (target <= 1.0)")

    pois = rng.choice(n, min(args.pois, n), replace=False)
    # scipy gets its transposed matrix built outside the timing; cimkit's first call reverses the
    # graph itself (remembered afterwards), so both the first and a repeated call are reported
    At = A.T.tocsr()
    near, t_first = timed(lambda: paths.compute_nearest(csr, None, pois, k=1, weight="length_m"), 1)
    _, t_near = timed(lambda: paths.compute_nearest(csr, None, pois, k=1, weight="length_m"))
    sp_near, t_spn = timed(lambda: dijkstra(At, directed=True, indices=pois, min_only=True))
    same = np.array_equal(near["cost"].to_numpy(), sp_near)
    print(
        f"nearest of {len(pois)} POIs: cimkit {t_near:.3f} s (first call incl. graph reversal {t_first:.3f} s),"
        f" scipy min_only {t_spn:.3f} s; identical: {same}"
    )
    print(
        f"RATIO cimkit nearest / scipy: {t_near / t_spn:.3f}  (target <= 1.2); first call: {t_first / t_spn:.3f}"
    )


if __name__ == "__main__":
    main()
