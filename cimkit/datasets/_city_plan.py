"""The plan of a generated city: street grid, river valley, zones, parcels and buildings.

Private to :mod:`cimkit.datasets.city`. Everything is computed with numpy arrays (one row per
block, parcel or building) and shapely 2 array functions; nothing loops over buildings.

The city is a grid of street blocks: north-south streets every :data:`SX` metres, east-west
streets every :data:`SY` metres, an avenue every :data:`DISTRICT_COLS` columns and a boulevard
every :data:`DISTRICT_ROWS` rows (a district is the 4 x 8 blocks between them, 560 m x 576 m),
two diagonal avenues, and a river valley (zone N, :data:`VALLEY` metres wide) across the middle,
crossed by bridges at the avenues. Zones are groups of 2 x 2 blocks. Each block holds two rows
of back-to-back lots (one facing the north street, one the south street).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SX, SY = 140.0, 72.0  # street spacing (centre lines), metres
HALF_STREET, HALF_AVENUE = 6.0, 8.0  # half right-of-way, metres
VALLEY = 260.0  # north-south width of the river valley, metres
DISTRICT_COLS, DISTRICT_ROWS = 4, 8
ORIGIN = (640_000.0, 6_830_000.0)  # south-west corner of the grid (Lambert-93, Essonne)
RIVER_AMPLITUDE, RIVER_PERIOD = 20.0, 1_500.0
DIAGONAL_HALF = 10.0  # parcels closer than this to a diagonal avenue's centre line are dropped

#: Lot widths (min, max, metres) by zone; zones without lots have 0.
LOT_WIDTHS = {
    "UA": (7.0, 12.0),
    "UB": (13.0, 21.0),
    "1AUh": (14.0, 20.0),
    "UX": (36.0, 56.0),
    "UE": (50.0, 70.0),
    "A": (60.0, 75.0),
    "N": (0.0, 0.0),
}
#: Mean buildings per block (calibrated on seeds 0-5; only sizes the first grid guess).
BUILDINGS_PER_BLOCK = 16.5

ZONE_TEXT = {
    "UA": ("Zone urbaine du centre ancien", "U", "03"),
    "UB": ("Zone urbaine à dominante d'habitat pavillonnaire", "U", "01"),
    "UE": ("Zone urbaine d'équipements publics", "U", "05"),
    "UX": ("Zone urbaine d'activités économiques", "U", "02"),
    "1AUh": ("Zone à urbaniser à vocation d'habitat", "AUc", "01"),
    "N": ("Zone naturelle", "N", "08"),
    "A": ("Zone agricole", "A", "07"),
}
ZONE_CODES = np.array(["UA", "UB", "UE", "UX", "1AUh", "N", "A"])


@dataclass
class Plan:
    """Every decided feature of a generated city, as arrays."""

    nx: int
    ny: int
    xs: np.ndarray  # x of the north-south street lines (nx + 1)
    ys: np.ndarray  # y of the east-west street lines (ny + 2: the valley is one extra gap)
    valley_gap: int  # index k of the gap ys[k]..ys[k+1] that is the valley
    extent: tuple[float, float, float, float]
    zones: dict[str, np.ndarray] = field(default_factory=dict)
    parcels: dict[str, np.ndarray] = field(default_factory=dict)
    buildings: dict[str, np.ndarray] = field(default_factory=dict)
    diagonals: list[np.ndarray] = field(default_factory=list)

    @property
    def river_mid(self) -> float:
        return float((self.ys[self.valley_gap] + self.ys[self.valley_gap + 1]) / 2.0)

    def river_y(self, x: np.ndarray | float) -> np.ndarray:
        return self.river_mid + RIVER_AMPLITUDE * np.sin(
            2.0 * np.pi * (np.asarray(x) - ORIGIN[0]) / RIVER_PERIOD
        )


def grid_size(buildings: int, attempt: int) -> tuple[int, int]:
    """Columns and rows of blocks for about ``buildings`` buildings (grown on each attempt)."""
    blocks = buildings / BUILDINGS_PER_BLOCK * (1.0 + 0.06 * attempt) + 4
    # square in metres: nx * SX ~ ny * SY
    nx = max(3, math.ceil(math.sqrt(blocks * SY / SX)))
    ny = max(4, math.ceil(blocks / nx))
    return nx, ny + ny % 2  # an even number of rows: the valley sits between zone groups


def make_grid(nx: int, ny: int) -> Plan:
    xs = ORIGIN[0] + SX * np.arange(nx + 1)
    valley_gap = 2 * (ny // 4)  # even: zone groups (2 rows) never straddle the valley
    gaps = np.full(ny + 1, SY)
    gaps[valley_gap] = VALLEY
    ys = ORIGIN[1] + np.concatenate([[0.0], np.cumsum(gaps)])
    extent = (float(xs[0]), float(ys[0]), float(xs[-1]), float(ys[-1]))
    return Plan(nx, ny, xs, ys, valley_gap, extent)


def half_width_x(plan: Plan, i: np.ndarray) -> np.ndarray:
    """Half right-of-way of north-south street line ``i``."""
    return np.where((i % DISTRICT_COLS == 0) | (i == plan.nx), HALF_AVENUE, HALF_STREET)


def half_width_y(plan: Plan, k: np.ndarray) -> np.ndarray:
    """Half right-of-way of east-west street line ``k``."""
    return np.where((k % DISTRICT_ROWS == 0) | (k == plan.ny + 1), HALF_AVENUE, HALF_STREET)


# ----------------------------------------------------------------------------------------
# zones
# ----------------------------------------------------------------------------------------
def _row_groups(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Zone group row of every gap k (valley: -1) and the block row (0..ny-1) of every gap."""
    k = np.arange(plan.ny + 1)
    block_row = np.where(k < plan.valley_gap, k, k - 1)
    group_row = np.where(k < plan.valley_gap, k // 2, (k - 1) // 2)
    group_row[plan.valley_gap] = -1
    block_row[plan.valley_gap] = -1
    return group_row, block_row


def make_zones(plan: Plan, rng: np.random.Generator) -> None:
    """Decide the zone of every 2 x 2 block group and the zone polygons."""
    import shapely

    gcols = math.ceil(plan.nx / 2)
    group_row, _ = _row_groups(plan)
    grows = int(group_row.max()) + 1
    mesh_i, mesh_j = np.meshgrid(np.arange(gcols), np.arange(grows), indexing="xy")
    gi, gj = mesh_i.reshape(-1), mesh_j.reshape(-1)
    # group rectangles (street centre lines)
    x0 = plan.xs[2 * gi]
    x1 = plan.xs[np.minimum(2 * gi + 2, plan.nx)]
    gaps = np.arange(plan.ny + 1)
    first = np.array([gaps[group_row == r].min() for r in range(grows)])
    last = np.array([gaps[group_row == r].max() for r in range(grows)])
    y0 = plan.ys[first[gj]]
    y1 = plan.ys[last[gj] + 1]
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    ex = plan.extent
    r = np.hypot(
        (cx - (ex[0] + ex[2]) / 2) / ((ex[2] - ex[0]) / 2), (cy - (ex[1] + ex[3]) / 2) / ((ex[3] - ex[1]) / 2)
    )
    u = rng.random(r.size)
    kind = np.full(r.size, "UB", dtype=object)
    kind[(r > 0.85) & (u < 0.35)] = "1AUh"
    kind[(r > 0.97) & (u > 0.85)] = "A"
    kind[(u >= 0.35) & (u < 0.42)] = "UE"
    kind[(u >= 0.42) & (u < 0.52)] = "UX"
    kind[(u >= 0.52) & (u < 0.57)] = "N"  # parks
    kind[r < 0.3] = "UA"
    kind[int(np.argmin(r))] = "UA"
    # small cities: at least one group of each urban kind
    order = np.argsort(-r, kind="stable")
    for needed, position in (("UE", 1), ("UX", 0), ("N", 2), ("A", 3)):
        if not (kind == needed).any() and r.size > 4:
            candidates = [g for g in order if kind[g] == "UB"]
            if len(candidates) > position:
                kind[candidates[position]] = needed
    # the valley: one N zone per two columns
    vi = np.arange(gcols)
    vx0, vx1 = plan.xs[2 * vi], plan.xs[np.minimum(2 * vi + 2, plan.nx)]
    vy0 = np.full(gcols, plan.ys[plan.valley_gap])
    vy1 = np.full(gcols, plan.ys[plan.valley_gap + 1])
    plan.zones = {
        "group_col": np.concatenate([gi, vi]),
        "group_row": np.concatenate([gj, np.full(gcols, -1)]),
        "libelle": np.concatenate([kind, np.full(gcols, "N", dtype=object)]).astype(str),
        "park": np.concatenate([kind == "N", np.zeros(gcols, bool)]),
        "valley": np.concatenate([np.zeros(r.size, bool), np.ones(gcols, bool)]),
        "geometry": shapely.box(
            np.concatenate([x0, vx0]),
            np.concatenate([y0, vy0]),
            np.concatenate([x1, vx1]),
            np.concatenate([y1, vy1]),
        ),
    }


def zone_lookup(plan: Plan) -> dict[tuple[int, int], int]:
    z = plan.zones
    return {(int(c), int(r)): n for n, (c, r) in enumerate(zip(z["group_col"], z["group_row"]))}


# ----------------------------------------------------------------------------------------
# parcels
# ----------------------------------------------------------------------------------------
def make_parcels(plan: Plan, rng: np.random.Generator) -> None:
    """Split every block into two rows of lots of zone-dependent widths (vectorised)."""
    import shapely

    group_row, block_row = _row_groups(plan)
    k = np.arange(plan.ny + 1)
    k = k[k != plan.valley_gap]
    i = np.arange(plan.nx)
    bi, bk = np.meshgrid(i, k, indexing="xy")
    bi, bk = bi.ravel(), bk.ravel()
    zone = group_row[bk] * math.ceil(plan.nx / 2) + bi // 2  # make_zones lists groups row by row
    libelle = plan.zones["libelle"][zone]
    ax = plan.xs[bi] + half_width_x(plan, bi)
    bx = plan.xs[bi + 1] - half_width_x(plan, bi + 1)
    ay = plan.ys[bk] + half_width_y(plan, bk)
    by = plan.ys[bk + 1] - half_width_y(plan, bk + 1)
    mid = np.round((ay + by) / 2.0, 2)
    # rows of lots: south-facing (lower half) and north-facing (upper half)
    r_block = np.concatenate([np.arange(bi.size)] * 2)
    r_front_north = np.concatenate([np.zeros(bi.size, bool), np.ones(bi.size, bool)])
    r_y0 = np.concatenate([ay, mid])
    r_y1 = np.concatenate([mid, by])
    r_lib = libelle[r_block]
    labels, inverse = np.unique(r_lib, return_inverse=True)
    lo = np.array([LOT_WIDTHS[z][0] for z in labels])[inverse.ravel()]
    hi = np.array([LOT_WIDTHS[z][1] for z in labels])[inverse.ravel()]
    park = plan.zones["park"][zone][r_block]
    single = park | (lo == 0)  # parks: one public lot per block row
    lo = np.where(single, 1e9, lo)
    length = bx[r_block] - ax[r_block]
    kmax = (
        int(np.ceil(length.max() / np.min(np.where(single, np.inf, lo), initial=1e9))) + 2
        if (~single).any()
        else 1
    )
    widths = np.round(lo[:, None] + (np.where(single, 0, hi - lo))[:, None] * rng.random((lo.size, kmax)), 1)
    cuts = ax[r_block][:, None] + np.cumsum(np.where(single[:, None], 1e9, widths), axis=1)
    valid = cuts < (bx[r_block] - np.where(single, 0, lo))[:, None]
    exists = np.concatenate([np.ones((lo.size, 1), bool), valid[:, :-1]], axis=1)
    left = np.concatenate([ax[r_block][:, None], cuts[:, :-1]], axis=1)
    right = np.where(valid, cuts, bx[r_block][:, None])
    rr, cc = np.nonzero(exists)  # row-major: lots in row order, west to east
    p_x0, p_x1 = np.round(left[rr, cc], 2), np.round(right[rr, cc], 2)
    blk = r_block[rr]
    plan.parcels = {
        "x0": p_x0,
        "x1": p_x1,
        "y0": r_y0[rr],
        "y1": r_y1[rr],
        "front_north": r_front_north[rr],
        "first": cc == 0,
        "last": ~valid[rr, cc],
        "block_col": bi[blk],
        "block_line": bk[blk],
        "block_row": block_row[bk[blk]],
        "zone": zone[blk],
        "libelle": r_lib[rr],
        "park": park[rr],
    }
    _drop_diagonal_parcels(plan)
    p = plan.parcels
    p["geometry"] = shapely.box(p["x0"], p["y0"], p["x1"], p["y1"])


def make_diagonals(plan: Plan) -> None:
    """Two diagonal avenues through grid nodes, one on each side of the valley (node lists)."""
    diagonals = []
    south_rows = plan.valley_gap  # street lines 0..valley_gap are south of the valley
    north_lines = np.arange(plan.valley_gap + 1, plan.ny + 2)
    if south_rows >= 2 and plan.nx >= 2:
        steps = min(south_rows // 2, plan.nx - 1)
        i0 = max(0, (plan.nx - steps) // 3)
        diagonals.append(np.array([(i0 + s, 2 * s) for s in range(steps + 1)]))
    if north_lines.size >= 3 and plan.nx >= 2:
        steps = min((north_lines.size - 1) // 2, plan.nx - 1)
        i0 = min(plan.nx, plan.nx - (plan.nx - steps) // 3)
        k0 = int(north_lines[0])
        diagonals.append(np.array([(i0 - s, k0 + 2 * s) for s in range(steps + 1)]))
    plan.diagonals = [d for d in diagonals if len(d) >= 2]


def diagonal_lines(plan: Plan) -> list[Any]:
    import shapely

    return [shapely.LineString(np.column_stack([plan.xs[d[:, 0]], plan.ys[d[:, 1]]])) for d in plan.diagonals]


def _drop_diagonal_parcels(plan: Plan) -> None:
    import shapely

    p = plan.parcels
    if not plan.diagonals:
        return
    boxes = shapely.box(p["x0"], p["y0"], p["x1"], p["y1"])
    corridor = shapely.union_all([shapely.buffer(line, DIAGONAL_HALF) for line in diagonal_lines(plan)])
    keep = ~shapely.intersects(boxes, corridor)
    plan.parcels = {name: values[keep] for name, values in p.items()}
