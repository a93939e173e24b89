"""Networks, terrain and services of a generated city.

Streets, water mains, EPANET model, DEM, river, flood levels and points of interest. Private to :mod:`cimkit.datasets.city`. Vectorised over segments, cells and buildings.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from cimkit.datasets._city_plan import DISTRICT_COLS, DISTRICT_ROWS, ORIGIN, Plan

PERSONS = [
    "Victor Hugo",
    "Jean Jaurès",
    "Pasteur",
    "Émile Zola",
    "Jules Ferry",
    "Gambetta",
    "Voltaire",
    "Jean Moulin",
    "Marie Curie",
    "Anatole France",
    "Paul Bert",
    "Louise Michel",
    "George Sand",
    "Colette",
    "Molière",
    "Racine",
    "Lamartine",
    "Alfred de Musset",
    "Jean Jacques Rousseau",
    "Danton",
    "Condorcet",
    "Aristide Briand",
    "Léon Blum",
    "Charles Péguy",
    "Jean Macé",
    "Simone Veil",
    "Gustave Eiffel",
    "Henri Barbusse",
    "Paul Vaillant-Couturier",
    "Maurice Ravel",
    "Claude Debussy",
    "Hector Berlioz",
    "Georges Brassens",
    "Édith Piaf",
    "Camille Claudel",
    "Auguste Renoir",
    "Paul Cézanne",
    "Claude Monet",
    "Eugène Delacroix",
    "Denis Papin",
    "Ampère",
    "Lavoisier",
    "Buffon",
    "Parmentier",
    "Montesquieu",
    "Diderot",
    "Rabelais",
    "Descartes",
    "Pascal",
    "La Fontaine",
]
PLACES = [
    "des Lilas",
    "des Tilleuls",
    "des Acacias",
    "des Roses",
    "des Peupliers",
    "des Chênes",
    "des Érables",
    "des Vignes",
    "des Prés",
    "des Sources",
    "du Moulin",
    "de la Fontaine",
    "du Château",
    "de l'Église",
    "de la Gare",
    "du Stade",
    "des Écoles",
    "de la Mairie",
    "du Lavoir",
    "des Jardins",
    "des Vergers",
    "du Marché",
    "de la Croix",
    "des Champs",
    "des Bois",
    "du Parc",
    "des Coquelicots",
    "des Bleuets",
    "des Glycines",
    "des Hirondelles",
    "des Mésanges",
    "des Alouettes",
    "du Puits",
    "de la Forge",
    "des Saules",
    "des Marronniers",
    "des Cerisiers",
    "des Noyers",
    "des Ormes",
    "des Platanes",
]
ROAD_DIAMETER = {"primary": 300, "secondary": 250, "tertiary": 150, "residential": 110}


def _name(bases: list[str], prefixes: list[str], index: int) -> str:
    prefix = prefixes[(index // len(bases)) % len(prefixes)]
    return f"{prefix} {bases[index % len(bases)]}"


def ew_street(plan: Plan, k: int) -> tuple[str, str, int]:
    """Name, highway class and speed limit of east-west street line ``k``."""
    vg = plan.valley_gap
    if k % DISTRICT_ROWS == 0 or k == len(plan.ys) - 1:
        return _name(PERSONS[::-1], ["Boulevard", "Avenue"], k // DISTRICT_ROWS), "secondary", 50
    if k in (vg, vg + 1):
        return ("Quai rive gauche" if k == vg else "Quai rive droite"), "tertiary", 50
    return _name(PLACES, ["Rue", "Chemin", "Sentier", "Passage"], k), "residential", 30


def streets(plan: Plan) -> dict[str, list[Any]]:
    """Street segments between junctions, with OSM-style attributes (columns of lists)."""
    import shapely

    rows: dict[str, list[Any]] = {
        k: [] for k in ("name", "highway", "maxspeed", "oneway", "bridge", "geometry")
    }

    def add(
        name: str, highway: str, speed: int, coords: list[tuple[float, float]], bridge: str = "no"
    ) -> None:
        rows["name"].append(name)
        rows["highway"].append(highway)
        rows["maxspeed"].append(speed)
        rows["oneway"].append("no")
        rows["bridge"].append(bridge)
        rows["geometry"].append(shapely.LineString(coords))

    splits: dict[tuple[int, int], float] = {}
    diag_names = ["Avenue de la République", "Avenue du Général de Gaulle"]
    for d, nodes in enumerate(plan.diagonals):
        for (ia, ka), (ib, kb) in itertools.pairwise(nodes.tolist()):
            mx = float((plan.xs[ia] + plan.xs[ib]) / 2.0)
            splits[(min(ia, ib), ka + 1)] = mx
            a, m, b = (plan.xs[ia], plan.ys[ka]), (mx, plan.ys[ka + 1]), (plan.xs[ib], plan.ys[kb])
            add(diag_names[d % 2], "primary", 50, [a, m])
            add(diag_names[d % 2], "primary", 50, [m, b])
    vg = plan.valley_gap
    for k, y in enumerate(plan.ys.tolist()):
        name, highway, speed = ew_street(plan, k)
        for i in range(plan.nx):
            a, b = (float(plan.xs[i]), y), (float(plan.xs[i + 1]), y)
            if (i, k) in splits:
                m = (splits[(i, k)], y)
                add(name, highway, speed, [a, m])
                add(name, highway, speed, [m, b])
            else:
                add(name, highway, speed, [a, b])
    for i, x in enumerate(plan.xs.tolist()):
        avenue = i % DISTRICT_COLS == 0 or i == plan.nx
        if avenue:
            name, highway, speed = _name(PERSONS, ["Avenue", "Boulevard"], i), "secondary", 50
        else:
            name, highway, speed = (
                _name(PERSONS, ["Rue", "Allée", "Impasse", "Villa"], i + 7),
                "residential",
                30,
            )
        for k in range(len(plan.ys) - 1):
            a, b = (x, float(plan.ys[k])), (x, float(plan.ys[k + 1]))
            if k != vg:
                add(name, highway, speed, [a, b])
            elif i % DISTRICT_COLS == 0:  # a bridge over the river
                ry = float(plan.river_y(x))
                s, n = (x, round(ry - 15.0, 2)), (x, round(ry + 15.0, 2))
                add(name, highway, speed, [a, s])
                add(f"Pont {name.split(' ', 1)[1]}", highway, speed, [s, n], bridge="yes")
                add(name, highway, speed, [n, b])
    return rows


def pipes(road: dict[str, list[Any]], rng: np.random.Generator) -> dict[str, Any]:
    """One water main under every street segment."""
    highway = np.array(road["highway"])
    n = highway.size
    diameter = np.array([ROAD_DIAMETER[h] for h in highway])
    major = np.isin(highway, ["primary", "secondary"])
    u = rng.random(n)
    years = rng.integers(0, 1_000_000, n)
    material = np.where(major, "fonte ductile", np.where(u < 0.5, "PVC", "PEHD"))
    year = np.where(major, 1955 + years % 35, np.where(u < 0.5, 1970 + years % 26, 1996 + years % 25))
    width = max(3, len(str(n)))
    return {
        "pipe_id": [f"AEP{k + 1:0{width}d}" for k in range(n)],
        "diameter_mm": diameter,
        "material": material,
        "install_year": year,
        "street": road["name"],
        "geometry": road["geometry"],
    }


# ----------------------------------------------------------------------------------------
# terrain
# ----------------------------------------------------------------------------------------
def dem_grid(plan: Plan) -> tuple[float, float, float, int, int]:
    """West, north, cell size and shape (rows, cols) of the DEM: city extent + 50 m, <= 3000 cells a side."""
    x0, y0, x1, y1 = plan.extent
    west, north = x0 - 50.0, y1 + 50.0
    side = max(x1 - x0, y1 - y0) + 100.0
    cell = 5.0 if side <= 15_000.0 else float(np.ceil(side / 3000.0))
    cols = int(np.ceil((x1 - x0 + 100.0) / cell))
    rows = int(np.ceil((y1 - y0 + 100.0) / cell))
    return west, north, cell, rows, cols


def valley_profile(d: np.ndarray) -> np.ndarray:
    """Return the ground height (m NGF) against the distance to the river (m).

    Bed 35, banks 36, floodplain to 41 m at 165 m, then 0.6 % up (the sample city's valley, with a gentler slope for a large town).
    """
    return np.where(
        d < 12.0,
        35.0 + d / 12.0,
        np.where(d < 165.0, 36.0 + 5.0 * (d - 12.0) / 153.0, 41.0 + 0.006 * (d - 165.0)),
    )


def terrain(plan: Plan, seed: int) -> np.ndarray:
    """DEM values (float32, row 0 north): the valley, gentle hills and a few cm of micro-relief."""
    from scipy.ndimage import gaussian_filter

    west, north, cell, rows, cols = dem_grid(plan)
    x = west + (np.arange(cols) + 0.5) * cell
    y = north - (np.arange(rows) + 0.5) * cell
    d = np.abs(y[:, None] - plan.river_y(x)[None, :])
    z = valley_profile(d)
    # hills: slopes under 0.3 %, less than the town's 0.6 %, so no closed depression appears
    z = z + 1.2 * np.sin(2 * np.pi * (x[None, :] - ORIGIN[0]) / 3_100.0) * np.cos(
        2 * np.pi * (y[:, None] - ORIGIN[1]) / 2_700.0
    ) * np.clip((d - 165.0) / 200.0, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    noise = gaussian_filter(rng.normal(size=z.shape), sigma=4.0)
    z = z + 0.03 * noise / noise.std()
    return np.round(z, 3).astype(np.float32)


def sample_dem(dem: np.ndarray, plan: Plan, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    west, north, cell, rows, cols = dem_grid(plan)
    r = np.clip(((north - np.asarray(y)) // cell).astype(np.int64), 0, rows - 1)
    c = np.clip(((np.asarray(x) - west) // cell).astype(np.int64), 0, cols - 1)
    return dem[r, c]


def river_line(plan: Plan):
    import shapely

    west, _, cell, _, cols = dem_grid(plan)
    x = np.arange(west, west + cols * cell + 0.1, 10.0)
    return shapely.LineString(np.column_stack([x, np.round(plan.river_y(x), 2)]))


def flood_levels(ground: np.ndarray) -> list[tuple[int, float]]:
    """Return the water levels of the 10-, 100- and 1000-year floods.

    They are the ground under the centre of 2 %,
    4.5 % and 7.5 % of the buildings (the lowest ones are next to the river: the terrain rises away
    from it). A flood analysis counts a building as soon as part of it is wet, so slightly more.
    """
    levels = np.round(np.quantile(ground, [0.02, 0.045, 0.075]), 2)
    levels[1] = max(levels[1], levels[0] + 0.05)
    levels[2] = max(levels[2], levels[1] + 0.05)
    return [(10, float(levels[0])), (100, float(levels[1])), (1000, float(levels[2]))]


# ----------------------------------------------------------------------------------------
# water network (EPANET)
# ----------------------------------------------------------------------------------------
def water_network_inp(
    pipe_rows: dict[str, Any], plan: Plan, dem: np.ndarray, centroids: np.ndarray, floor_area: np.ndarray
) -> str:
    """EPANET 2 text of the mains, the conventions of :mod:`cimkit.datasets._water_network`."""
    import shapely
    from scipy.spatial import cKDTree

    from cimkit.analysis.scenario.water import HAZEN_WILLIAMS_C, LITRES_PER_PERSON_DAY
    from cimkit.datasets._water_network import FLOOR_AREA_PER_PERSON_M2

    geoms = np.asarray(pipe_rows["geometry"], dtype=object)
    ends = np.round(
        np.stack(
            [
                shapely.get_coordinates(shapely.get_point(geoms, 0)),
                shapely.get_coordinates(shapely.get_point(geoms, -1)),
            ],
            axis=1,
        ),
        2,
    )
    flat = ends.reshape(-1, 2)
    uniq, first, inverse = np.unique(flat, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))  # names in order of first appearance
    node_xy = uniq[np.argsort(first, kind="stable")]
    node_of_end = rank[inverse.ravel()].reshape(-1, 2)
    width = max(3, len(str(len(node_xy))))
    names = [f"J{k + 1:0{width}d}" for k in range(len(node_xy))]
    demand: np.ndarray = np.zeros(len(node_xy))
    if len(centroids):
        _, nearest = cKDTree(node_xy).query(centroids)
        people = floor_area / FLOOR_AREA_PER_PERSON_M2
        demand = np.bincount(
            nearest, weights=people * LITRES_PER_PERSON_DAY / 86400.0, minlength=len(node_xy)
        )
    elevation = sample_dem(dem, plan, node_xy[:, 0], node_xy[:, 1])
    x0, _, x1, y1 = plan.extent
    tower = ((x0 + x1) / 2.0, y1 + 40.0)
    feed = int(np.argmin(np.hypot(node_xy[:, 0] - tower[0], node_xy[:, 1] - tower[1])))
    head = float(np.ceil(elevation.max())) + 35.0
    lines = ["[TITLE]", " cimkit generated city: drinking-water mains (synthetic)", "", "[JUNCTIONS]"]
    lines.append(";ID  Elevation_m  Demand_lps")
    lines += [f" {n}  {z:.2f}  {q:.4f}" for n, z, q in zip(names, elevation.tolist(), demand.tolist())]
    lines += ["", "[RESERVOIRS]", ";ID  Head_m", f" R1  {head:.2f}", "", "[PIPES]"]
    lines.append(";ID  Node1  Node2  Length_m  Diameter_mm  Roughness  MinorLoss  Status")
    main = float(np.hypot(tower[0] - node_xy[feed, 0], tower[1] - node_xy[feed, 1]))
    lines.append(
        f" ALIM01  R1  {names[feed]}  {main:.2f}  300  {HAZEN_WILLIAMS_C['fonte ductile']:g}  0  Open"
    )
    lengths = shapely.length(geoms)
    for pid, (a, b), length, dia, mat in zip(
        pipe_rows["pipe_id"],
        node_of_end.tolist(),
        lengths.tolist(),
        pipe_rows["diameter_mm"].tolist(),
        pipe_rows["material"].tolist(),
    ):
        lines.append(
            f" {pid}  {names[a]}  {names[b]}  {length:.2f}  {dia}  {HAZEN_WILLIAMS_C[mat]:g}  0  Open"
        )
    lines += ["", "[TIMES]", " Duration 0:00", "", "[OPTIONS]", " Units LPS", " Headloss H-W"]
    lines += [" Demand Model DDA", "", "[COORDINATES]", ";Node  X  Y"]
    lines += [f" {n}  {x:.2f}  {y:.2f}" for n, (x, y) in zip(names, node_xy.tolist())]
    lines.append(f" R1  {tower[0]:.2f}  {tower[1]:.2f}")
    lines += ["", "[END]", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# points of interest
# ----------------------------------------------------------------------------------------
#: Services per district (560 m x 640 m, about 450 buildings / 1,000 inhabitants), by rank of
#: a random draw among the district's ordinary buildings: the category of ranks 0, 1, 2...
DISTRICT_SERVICES = [
    "supermarket",
    "bakery",
    "bakery",
    "shop",
    "shop",
    "shop",
    "doctor",
    "doctor",
    "pharmacy",
    "childcare",
    "sports",
    "library",
]
#: Share of the districts that have the service (the others use their neighbours').
DISTRICT_RATE = {"supermarket": 0.5, "sports": 0.5, "library": 0.25}
LABELS = {
    "supermarket": "Supermarché",
    "bakery": "Boulangerie",
    "shop": "Commerce",
    "doctor": "Cabinet médical",
    "pharmacy": "Pharmacie",
    "childcare": "Crèche",
    "sports": "Gymnase",
    "library": "Médiathèque",
    "school": "École",
    "park": "Parc",
    "bus_stop": "Arrêt",
}


def pois(plan: Plan, rng: np.random.Generator) -> dict[str, list[Any]]:
    """Schools (every education building), district services, parks and bus stops."""
    import shapely

    b, p = plan.buildings, plan.parcels
    cx, cy = (b["x0"] + b["x1"]) / 2.0, (b["y0"] + b["y1"]) / 2.0
    main = b["kind"] == 0
    district = (p["block_col"][b["parcel"]] // DISTRICT_COLS) * 100_000 + p["block_row"][
        b["parcel"]
    ] // DISTRICT_ROWS
    rows: dict[str, list[Any]] = {"name": [], "category": [], "capacity": [], "x": [], "y": []}

    def add(category: str, x: np.ndarray, y: np.ndarray, capacity: float | None = None) -> None:
        start = sum(1 for c in rows["category"] if c == category)
        rows["name"] += [f"{LABELS[category]} {start + k + 1}" for k in range(len(x))]
        rows["category"] += [category] * len(x)
        rows["capacity"] += [capacity] * len(x)
        rows["x"] += np.round(x, 2).tolist()
        rows["y"] += np.round(y, 2).tolist()

    school = main & (b["use"] == 4)
    add("school", cx[school], cy[school], 250.0)
    ordinary = np.nonzero(main & np.isin(b["use"], [0, 1, 2]))[0]
    key = rng.random(ordinary.size)
    order = np.lexsort((key, district[ordinary]))
    sorted_d = district[ordinary][order]
    starts = np.searchsorted(sorted_d, sorted_d, side="left")
    rank = np.arange(order.size) - starts
    districts, inverse = np.unique(district[ordinary][order], return_inverse=True)
    draw = rng.random((len(DISTRICT_SERVICES), districts.size))[:, inverse.ravel()]
    for r, category in enumerate(DISTRICT_SERVICES):
        chosen = ordinary[order[(rank == r) & (draw[r] < DISTRICT_RATE.get(category, 1.0))]]
        add(category, cx[chosen], cy[chosen], 40.0 if category == "childcare" else None)
    z = plan.zones
    parks = shapely.centroid(z["geometry"][z["park"]])
    px, py = shapely.get_x(parks), shapely.get_y(parks)
    # riverside meadows in the valley, one per district column, 40 m north of the river
    mx = plan.xs[:-1:DISTRICT_COLS] + 2.0 * (plan.xs[1] - plan.xs[0])
    add("park", np.concatenate([px, mx]), np.concatenate([py, plan.river_y(mx) + 40.0]))
    # bus stops: every other junction of the avenues and boulevards, 5 m off the centre line
    ai = np.arange(0, plan.nx + 1, DISTRICT_COLS)
    ks = np.arange(1, len(plan.ys) - 1, 2)
    gx, gy = np.meshgrid(plan.xs[ai], plan.ys[ks])
    add("bus_stop", gx.ravel() + 5.0, gy.ravel() + 5.0)
    return rows
