"""Buildings of a generated city: one main building per lot, some annexes, vacant lots.

Private to :mod:`cimkit.datasets.city`. Vectorised: one numpy row per building.

Per zone (sizes in metres, heights above terrain); every building stands within its zone's PLU
setbacks (``zone_rules.csv``: road setback from the street and from a side street for end lots,
side/rear setback max(min, ratio x height)) plus :data:`MARGIN`, where the lot is wide enough:

- UA (old centre): terraced buildings the lot's width, 10-14 deep, 1 m from the street,
  2-4 storeys of 3.0 m (+1.2 m roof); 70 % residential, 20 % retail, 10 % office;
- UB / 1AUh (houses): 9-13 x 8-11, 6 m from the street, 1-2 storeys of 2.9 m (+2.3 m roof),
  two storeys only on lots of 18 m or more; 4 % offices in UB; 12 % of the lots also hold a
  garage (3 x 5) at the back and a quarter of those a garden shed (2.5 x 3): 1-3 buildings per lot;
- UX (business park): as wide as the setbacks allow, 12-18 deep, 1-3 storeys of 3.5 m (+0.6 m);
  40 % office, 45 % industrial, 15 % retail;
- UE (public facilities): up to 48 m wide, 12-15 deep, 2 storeys of 3.8 m; 35 % education
  (schools), 65 % offices;
- A (farmland): a shed 12-20 x 8-12, 6 m high.

The number of buildings is then trimmed to exactly the requested count by leaving randomly
chosen lots vacant (every building of a vacant lot goes).
"""

from __future__ import annotations

import numpy as np

from cimkit.datasets._city_plan import Plan
from cimkit.datasets._layout import ZONE_RULES

USES = np.array(["residential", "office", "retail", "industrial", "education"])
RES, OFF, RET, IND, EDU = range(5)


def _pick(rng: np.random.Generator, n: int, shares: list[tuple[int, float]]) -> np.ndarray:
    codes = np.array([c for c, _ in shares])
    cum = np.cumsum([s for _, s in shares])
    return codes[np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), len(codes) - 1)]


RULES = {r[0]: r for r in ZONE_RULES}
MARGIN = 0.3  # metres kept beyond every PLU setback, so that survey noise does not breach it


def _rule(libelle: np.ndarray, column: int) -> np.ndarray:
    """Rule ``column`` of ZONE_RULES for every zone label (vectorised through the unique labels)."""
    labels, inverse = np.unique(libelle, return_inverse=True)
    return np.array([float(RULES[z][column]) for z in labels])[inverse.ravel()]


def side_margin(libelle: np.ndarray, height: np.ndarray) -> np.ndarray:
    """PLU side/rear setback of a building of ``height`` in each zone, plus :data:`MARGIN`."""
    return np.maximum(_rule(libelle, 4), _rule(libelle, 5) * height) + MARGIN


def road_margin(libelle: np.ndarray) -> np.ndarray:
    return _rule(libelle, 3) + MARGIN


def place_on_lot(
    plan: Plan,
    lots: np.ndarray,
    w: np.ndarray,
    d: np.ndarray,
    height: np.ndarray,
    front: np.ndarray,
    u: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Place buildings on ``lots`` within the PLU setbacks where the lot allows; (x0, y0, x1, y1).

    ``front`` from the street (at least the road setback), the side setback from the neighbours,
    the road setback from a side street (end lots); ``u`` in [0, 1) places it in the slack.
    """
    p = plan.parcels
    lib = p["libelle"][lots]
    side, road = side_margin(lib, height), road_margin(lib)
    left = np.where(p["first"][lots], np.maximum(side, road), side)
    right = np.where(p["last"][lots], np.maximum(side, road), side)
    avail = p["x1"][lots] - p["x0"][lots] - left - right
    w = np.round(np.clip(w, np.minimum(6.0, w), np.maximum(avail, 4.0)), 1)
    x0 = p["x0"][lots] + left + np.maximum(avail - w, 0.0) * u
    front = np.maximum(front, road)
    depth = p["y1"][lots] - p["y0"][lots]
    d = np.round(np.minimum(d, depth - front - side), 1)
    y1 = np.where(p["front_north"][lots], p["y1"][lots] - front, p["y0"][lots] + front + d)
    return np.round(x0, 2), np.round(y1 - d, 2), np.round(x0 + w, 2), np.round(y1, 2)


def _main_buildings(plan: Plan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    p = plan.parcels
    n = p["x0"].size
    pw = p["x1"] - p["x0"]
    lib = p["libelle"]
    u = rng.random((n, 6))
    w = np.zeros(n)
    d = np.zeros(n)
    front = np.zeros(n)
    storeys = np.ones(n, dtype=np.int64)
    height = np.zeros(n)
    use = np.full(n, RES)
    year = np.zeros(n, dtype=np.int64)

    m = lib == "UA"
    w[m] = pw[m] - 1.0
    d[m] = 10.0 + 4.0 * u[m, 0]
    front[m] = 1.0
    storeys[m] = 2 + (u[m, 1] * 3).astype(np.int64)
    height[m] = storeys[m] * 3.0 + 1.2
    use[m] = _pick(rng, int(m.sum()), [(RES, 0.7), (RET, 0.2), (OFF, 0.1)])
    year[m] = 1850 + (u[m, 2] * 100).astype(np.int64)

    m = (lib == "UB") | (lib == "1AUh")
    w[m] = 9.0 + 4.0 * u[m, 0]
    d[m] = 8.0 + 3.0 * u[m, 1]
    front[m] = 6.0
    two = np.where(lib[m] == "1AUh", True, u[m, 2] < 0.6) & (pw[m] >= 18.0)  # two storeys need a wide lot
    storeys[m] = 1 + two
    height[m] = storeys[m] * 2.9 + 2.3
    use[m] = np.where((lib[m] == "UB") & (u[m, 3] < 0.04), OFF, RES)
    year[m] = np.where(
        lib[m] == "1AUh", 2000 + (u[m, 4] * 25).astype(np.int64), 1950 + (u[m, 4] * 66).astype(np.int64)
    )

    m = lib == "UX"
    storeys[m] = 1 + (u[m, 1] * 3).astype(np.int64)
    height[m] = storeys[m] * 3.5 + 0.6
    w[m] = pw[m]  # as wide as the setbacks allow
    d[m] = 12.0 + 6.0 * u[m, 0]
    front[m] = 6.0
    use[m] = _pick(rng, int(m.sum()), [(OFF, 0.40), (IND, 0.45), (RET, 0.15)])
    year[m] = 1970 + (u[m, 2] * 46).astype(np.int64)

    m = lib == "UE"
    w[m] = 48.0
    d[m] = 12.0 + 3.0 * u[m, 0]
    front[m] = 4.0
    storeys[m] = 2
    height[m] = 2 * 3.8 + 0.3
    use[m] = np.where(u[m, 1] < 0.35, EDU, OFF)
    year[m] = 1960 + (u[m, 2] * 51).astype(np.int64)

    m = lib == "A"
    w[m] = 12.0 + 8.0 * u[m, 0]
    d[m] = 8.0 + 4.0 * u[m, 1]
    front[m] = 10.0
    storeys[m] = 1
    height[m] = 6.0
    use[m] = IND
    year[m] = 1950 + (u[m, 2] * 51).astype(np.int64)

    lots = np.nonzero(~p["park"] & (w > 0))[0]
    height = np.round(height, 1)
    x0, y0, x1, y1 = place_on_lot(
        plan, lots, w[lots], d[lots], height[lots], front[lots], np.where(lib[lots] == "UA", 0.5, u[lots, 5])
    )
    return {
        "parcel": lots,
        "x0": x0,
        "x1": x1,
        "y0": y0,
        "y1": y1,
        "use": use[lots],
        "storeys": storeys[lots],
        "height_m": height[lots],
        "year_built": year[lots],
        "kind": np.zeros(lots.size, dtype=np.int64),
    }


def _annexes(plan: Plan, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Garages (kind 1) and garden sheds (kind 2) at the back of house lots."""
    p = plan.parcels
    houses = np.nonzero(np.isin(p["libelle"], ["UB", "1AUh"]) & ~p["park"])[0]
    u = rng.random((houses.size, 2))
    garage = houses[u[:, 0] < 0.12]
    shed = houses[(u[:, 0] < 0.12) & (u[:, 1] < 0.25)]
    out: dict[str, list[np.ndarray]] = {}
    for kind, lots, w, d, h in ((1, garage, 3.0, 5.0, 2.6), (2, shed, 2.5, 3.0, 2.2)):
        lib = p["libelle"][lots]
        side = side_margin(lib, np.full(lots.size, h))
        road = road_margin(lib)
        back = side + 0.2  # from the back boundary of the lot
        if kind == 1:  # garage on the west side, shed on the east side
            x0 = p["x0"][lots] + np.where(p["first"][lots], np.maximum(side, road), side)
        else:
            x0 = p["x1"][lots] - np.where(p["last"][lots], np.maximum(side, road), side) - w
        y0 = np.where(p["front_north"][lots], p["y0"][lots] + back, p["y1"][lots] - back - d)
        rows = {
            "parcel": lots,
            "x0": np.round(x0, 2),
            "x1": np.round(x0 + w, 2),
            "y0": np.round(y0, 2),
            "y1": np.round(y0 + d, 2),
            "use": np.full(lots.size, RES),
            "storeys": np.ones(lots.size, np.int64),
            "height_m": np.full(lots.size, h),
            "year_built": 1960 + (rng.random(lots.size) * 60).astype(np.int64),
            "kind": np.full(lots.size, kind, dtype=np.int64),
        }
        for name, values in rows.items():
            out.setdefault(name, []).append(values)
    return {name: np.concatenate(values) for name, values in out.items()}


def make_buildings(plan: Plan, rng: np.random.Generator, count: int) -> bool:
    """Place the buildings; keep exactly ``count`` of them. False if the grid holds too few."""
    main = _main_buildings(plan, rng)
    extra = _annexes(plan, rng)
    b = {name: np.concatenate([main[name], extra[name]]) for name in main}
    if b["parcel"].size < count:
        return False
    # vacant lots: drop whole lots in a random order until exactly `count` buildings are left;
    # the last lot touched keeps its main building (and garage) if dropping it all overshoots
    excess = b["parcel"].size - count
    if excess > 0:
        per_lot = np.bincount(b["parcel"], minlength=plan.parcels["x0"].size)
        order = rng.permutation(np.unique(b["parcel"]))
        dropped = np.cumsum(per_lot[order])
        n = int(np.searchsorted(dropped, excess, side="left"))
        overshoot = int(dropped[n] - excess)
        drop = np.isin(b["parcel"], order[:n]) | ((b["parcel"] == order[n]) & (b["kind"] >= overshoot))
        b = {name: values[~drop] for name, values in b.items()}
    # spatial order: north to south, west to east (as a cadastre listing)
    order = np.lexsort((np.round((b["x0"] + b["x1"]) / 2, 1), -np.round((b["y0"] + b["y1"]) / 2, 1)))
    plan.buildings = {name: values[order] for name, values in b.items()}
    return True
