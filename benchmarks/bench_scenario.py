"""Time PLU what-if scenario evaluations on a synthetic town of 10,000 parcels.

The town: a grid of blocks of 10 x 4 parcels (20 m x 30 m each, 600 m²) separated by 12 m
streets (the road lines run along the street axes), four zones (UA, UB, UE, 1AUh: the rules of
the sample city) and one building on every second parcel (10 x 12 m, 2 to 4 storeys). Times:
the first evaluation (which computes and caches the parcel limits, exclusions and existing floor
area), then one more scenario, then a sweep of five heights; the target is under 5 s per
evaluation after the first.

Run: ``python benchmarks/bench_scenario.py`` (``--parcels 2000`` for a quick run).
"""

from __future__ import annotations

import argparse
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

RULES = pd.DataFrame(
    {
        "libelle": ["UA", "UB", "UE", "1AUh"],
        "max_height_m": [15.0, 12.0, 15.0, 10.0],
        "max_footprint_ratio": [0.7, 0.4, 0.6, 0.35],
        "min_setback_road_m": [0.0, 5.0, 3.0, 5.0],
        "min_setback_side_m": [0.0, 3.0, 3.0, 3.0],
        "side_setback_height_ratio": [0.0, 0.5, 0.5, 0.5],
        "min_green_ratio": [0.1, 0.3, 0.2, 0.4],
    }
)


def build_town(n_parcels: int):
    from cimkit.model import CityModel
    from cimkit.network.topology import build_network

    blocks_x = int(np.ceil(np.sqrt(n_parcels / 40 * 1.5)))
    blocks_y = int(np.ceil(n_parcels / 40 / blocks_x))
    x0, y0 = 650_000.0, 6_850_000.0
    bw, bh, street = 200.0, 120.0, 12.0
    geoms: list[shapely.Geometry] = []
    ids: list[str] = []
    for bx in range(blocks_x):
        for by in range(blocks_y):
            ox, oy = x0 + bx * (bw + street), y0 + by * (bh + street)
            for i in range(10):
                for j in range(4):
                    if len(geoms) >= n_parcels:
                        break
                    # two rows of 2 x 30 m parcels facing the street on each long side
                    geoms.append(shapely.box(ox + 20 * i, oy + 30 * j, ox + 20 * (i + 1), oy + 30 * (j + 1)))
                    ids.append(f"P{len(geoms):06d}")
    parcels = gpd.GeoDataFrame({"parcel_id": ids}, geometry=geoms, crs=2154).set_index("parcel_id")
    width, height = blocks_x * (bw + street), blocks_y * (bh + street)
    zones = gpd.GeoDataFrame(
        RULES.assign(zone_id=range(4), typezone=["U", "U", "U", "AUc"]),
        geometry=[
            shapely.box(x0 - street, y0 - street, x0 + width / 2, y0 + height / 2),
            shapely.box(x0 + width / 2, y0 - street, x0 + width, y0 + height / 2),
            shapely.box(x0 - street, y0 + height / 2, x0 + width / 2, y0 + height),
            shapely.box(x0 + width / 2, y0 + height / 2, x0 + width, y0 + height),
        ],
        crs=2154,
    ).set_index("zone_id")
    lines = [
        shapely.LineString(
            [
                (x0 - street / 2, y0 + k * (bh + street) - street / 2),
                (x0 + width, y0 + k * (bh + street) - street / 2),
            ]
        )
        for k in range(blocks_y + 1)
    ] + [
        shapely.LineString(
            [
                (x0 + k * (bw + street) - street / 2, y0 - street / 2),
                (x0 + k * (bw + street) - street / 2, y0 + height),
            ]
        )
        for k in range(blocks_x + 1)
    ]
    rng = np.random.default_rng(17)
    centres = shapely.centroid(np.asarray(geoms[::2]))
    xy = shapely.get_coordinates(centres)
    buildings = gpd.GeoDataFrame(
        {"storeys": rng.integers(2, 5, len(xy))},
        geometry=shapely.box(xy[:, 0] - 5, xy[:, 1] - 6, xy[:, 0] + 5, xy[:, 1] + 6),
        crs=2154,
    )
    buildings.index = pd.Index([f"B{i:06d}" for i in range(len(buildings))], name="building_id")
    model = CityModel(2154, name="synthetic town")
    model.add_layer("parcels", parcels)
    model.add_layer("zones", zones)
    model.add_layer("buildings", buildings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.add_network(build_network(gpd.GeoDataFrame(geometry=lines, crs=2154), kind="road"))
    return model


def main() -> None:
    from cimkit.analysis.scenario import Scenario, assess_scenario, compute_sweep

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, default=10_000)
    args = parser.parse_args()
    start = time.perf_counter()
    model = build_town(args.parcels)
    print(
        f"town: {len(model['parcels'])} parcels, {len(model['buildings'])} buildings ({time.perf_counter() - start:.1f} s)"
    )
    first = Scenario(name="current rules")
    start = time.perf_counter()
    result = assess_scenario(model, first, impacts=("carbon",))
    print(
        f"first evaluation (limits cached): {time.perf_counter() - start:.2f} s; "
        f"{result.city['added_dwellings']:,.0f} dwellings"
    )
    taller = Scenario(name="UB 15 m", rules={"UB": {"max_height_m": 15.0}})
    start = time.perf_counter()
    result = assess_scenario(model, taller, impacts=("carbon",))
    print(
        f"next evaluation: {time.perf_counter() - start:.2f} s (target < 5 s); "
        f"{result.city['added_dwellings']:,.0f} dwellings"
    )
    values = [9, 12, 15, 18, 21]
    start = time.perf_counter()
    curve = compute_sweep(model, "UB", "max_height_m", values)
    elapsed = time.perf_counter() - start
    print(f"sweep of {len(values)} heights: {elapsed:.2f} s, {elapsed / len(values):.2f} s per value")
    print(curve[["capacity_gfa_m2", "added_dwellings", "embodied_tco2e"]].round(0).to_string())


if __name__ == "__main__":
    main()
