"""The sample city's plan: terrain, river, streets, blocks, parcels, zoning, water mains, points of interest.

Private to :mod:`cimkit.datasets.generator`. Coordinates are EPSG:2154 metres; heights are
metres NGF-IGN69. Everything here is synthetic.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

CRS = "EPSG:2154"
COMMUNE = "91999"  # fictional but well-formed INSEE code (department 91, Essonne)
IDURBA = "91999_PLU_20230615"

# Terrain grid: 180 x 180 cells of 5 m, north-west corner at (650 550, 6 847 450).
DEM_WEST, DEM_NORTH, DEM_CELL, DEM_SIZE = 650_550.0, 6_847_450.0, 5.0, 180
DEM_NODATA = -9999.0

# Town extent (zoning covers it exactly).
TOWN = (650_600.0, 6_846_600.0, 651_400.0, 6_847_400.0)

# Street grid: north-south streets at XS, east-west streets at YS (centre lines, metres).
XS = (650_620.0, 650_800.0, 651_000.0, 651_190.0, 651_380.0)
YS = (6_846_880.0, 6_847_000.0, 6_847_130.0, 6_847_260.0, 6_847_380.0)
X_EGLISE = 650_900.0  # living street splitting the central block
Y_PARK_PATH = 6_847_320.0
Y_RIVER_PATH = 6_846_790.0
STRIP_SOUTH = 6_846_840.0  # south edge of the lots along rue du Moulin (zone N beyond)

# River centre line: y = RIVER_Y + RIVER_AMPLITUDE * sin(2 pi (x - DEM_WEST) / RIVER_PERIOD)
RIVER_Y, RIVER_AMPLITUDE, RIVER_PERIOD = 6_846_760.0, 5.0, 600.0
# Closed depression behind a ring-shaped ridge on the south bank (old gravel pit).
DEPRESSION_CENTRE = (650_760.0, 6_846_650.0)

FLOOD_SCENARIOS = ((10, 38.5), (100, 39.5), (1000, 40.5))

# Half right-of-way of each street (centre line -> parcel boundary), metres.
HALF_WIDTH_MAIN, HALF_WIDTH_STREET, HALF_WIDTH_LIVING = 8.0, 6.0, 4.0


# ----------------------------------------------------------------------------------------
# terrain
# ----------------------------------------------------------------------------------------
def _river_y(x: np.ndarray | float) -> np.ndarray | float:
    return RIVER_Y + RIVER_AMPLITUDE * np.sin(2.0 * np.pi * (np.asarray(x) - DEM_WEST) / RIVER_PERIOD)


def _river_line():
    import shapely

    xs = np.arange(DEM_WEST, DEM_WEST + DEM_SIZE * DEM_CELL + 0.1, 10.0)
    return shapely.LineString(np.column_stack([xs, np.round(_river_y(xs), 2)]))


def _valley_profile(d: np.ndarray) -> np.ndarray:
    """Ground height (m NGF) against distance to the river centre line (m).

    Bed 35 m, banks 36 m at 12 m, a gentle floodplain up to 41 m at 165 m, then the town's
    slope (2.8 %) up to about 56 m at the north edge.
    """
    return np.where(
        d < 12.0,
        35.0 + d / 12.0,
        np.where(d < 165.0, 36.0 + 5.0 * (d - 12.0) / 153.0, 41.0 + 0.028 * (d - 165.0)),
    )


def _terrain(seed: int) -> np.ndarray:
    """Compute the DEM values (float32, row 0 north), nodata already set in the north-east corner."""
    import shapely
    from scipy.ndimage import gaussian_filter

    cols = np.arange(DEM_SIZE)
    x = DEM_WEST + (cols + 0.5) * DEM_CELL
    y = DEM_NORTH - (cols + 0.5) * DEM_CELL
    xx, yy = np.meshgrid(x, y)
    d = shapely.distance(_river_line(), shapely.points(xx.ravel(), yy.ravel())).reshape(xx.shape)
    z = _valley_profile(d)
    # a rounded hill in the north-west of the town
    z += 3.0 * np.exp(-((xx - 650_700.0) ** 2 + (yy - 6_847_420.0) ** 2) / (2 * 130.0**2))
    # smooth micro-relief, a few centimetres (deterministic for the seed)
    rng = np.random.default_rng(seed)
    noise = gaussian_filter(rng.normal(size=xx.shape), sigma=4.0)
    z += 0.06 * noise / noise.std()
    # closed depression: bowl floor 37.8 m inside a ridge at 41.8 m
    r = np.hypot(xx - DEPRESSION_CENTRE[0], yy - DEPRESSION_CENTRE[1])
    bowl = np.select(
        [r < 30.0, r < 34.0, r < 42.0, r < 52.0],
        [
            37.8 + 1.4 * (r / 30.0) ** 2,
            39.2 + (41.8 - 39.2) * (r - 30.0) / 4.0,
            np.full_like(r, 41.8),
            41.8 + (z - 41.8) * (r - 42.0) / 10.0,
        ],
        default=z,
    )
    z = np.round(bowl, 3).astype(np.float32)
    # a few nodata cells in the north-east corner (a survey gap)
    rows, cols_ = np.indices(z.shape)
    z[(rows <= 3) & (cols_ >= DEM_SIZE - 4 + rows)] = DEM_NODATA
    return z


def _ground(dem: np.ndarray, x: float, y: float) -> float:
    col = int((x - DEM_WEST) // DEM_CELL)
    row = int((DEM_NORTH - y) // DEM_CELL)
    return float(dem[row, col])


# ----------------------------------------------------------------------------------------
# streets, blocks, parcels
# ----------------------------------------------------------------------------------------
def _streets() -> list[dict[str, Any]]:
    """Street centre lines; vertices at every junction. Two ends stop 0.2 m short on purpose."""
    x0, x1, x2, x3, x4 = XS
    y0, y1, y2, y3, y4 = YS

    def ew(y, xs):
        return [(x, y) for x in xs]

    def ns(x, ys):
        return [(x, y) for y in ys]

    res = {"highway": "residential", "maxspeed": 30, "oneway": "no", "bridge": "no"}
    rows = [
        ("Rue du Moulin", ew(y0, XS), res),
        ("Grande Rue", ew(y1, (x0, x1, X_EGLISE, x2)), {**res, "highway": "secondary", "maxspeed": 50}),
        ("Grande Rue", ew(y1, (x2, x3, x4)), {**res, "highway": "secondary", "maxspeed": 50}),
        ("Route de Mennecy", ew(y1, (650_560.0, x0)), {**res, "highway": "secondary", "maxspeed": 70}),
        ("Route de Corbeil", ew(y1, (x4, 651_440.0)), {**res, "highway": "secondary", "maxspeed": 70}),
        ("Rue des Lilas", ew(y2, (x0, x1, X_EGLISE, x2, x3, x4)), res),
        ("Rue Victor Hugo", ew(y3, XS), {**res, "oneway": "yes"}),
        ("Chemin des Vignes", ew(y4, XS), {**res, "highway": "tertiary", "maxspeed": 50}),
        ("Rue Pasteur", ns(x0, YS), res),
        ("Rue Jean Jaurès", ns(x1, YS), {**res, "highway": "tertiary", "maxspeed": 50}),
        ("Avenue de la Gare", ns(x2, (y0, y1)), {**res, "highway": "primary", "maxspeed": 50}),
        (
            "Avenue de la Gare",
            ns(x2, (y1, y2, y3, Y_PARK_PATH, y4)),
            {**res, "highway": "primary", "maxspeed": 50},
        ),
        ("Avenue de la Gare", ns(x2, (y0, 6_846_800.0)), {**res, "highway": "primary", "maxspeed": 50}),
        (
            "Pont de l'Essonnette",
            ns(x2, (6_846_800.0, 6_846_720.0)),
            {**res, "highway": "primary", "maxspeed": 50, "bridge": "yes"},
        ),
        (
            "Route de Ballancourt",
            ns(x2, (6_846_720.0, 6_846_560.0)),
            {**res, "highway": "primary", "maxspeed": 70},
        ),
        # deliberate gap: ends 0.2 m south of the Chemin des Vignes vertex (snapping test)
        ("Rue de la Mairie", ns(x3, (y0, y1, y2, y3, Y_PARK_PATH, y4 - 0.2)), res),
        ("Rue des Écoles", ns(x4, YS), res),
        # deliberate gap: ends 0.2 m south of the Rue des Lilas vertex (snapping test)
        (
            "Rue de l'Église",
            ns(X_EGLISE, (y1, y2 - 0.2)),
            {**res, "highway": "living_street", "maxspeed": 20, "oneway": "yes"},
        ),
        (
            "Promenade des bords de l'Essonnette",
            [(x0, y0), (x0, Y_RIVER_PATH), (X_EGLISE, Y_RIVER_PATH)],
            {**res, "highway": "footway", "maxspeed": None},
        ),
        (
            "Voie verte de l'Essonnette",
            [(X_EGLISE, Y_RIVER_PATH), (x4, Y_RIVER_PATH), (x4, y0)],
            {**res, "highway": "cycleway", "maxspeed": None},
        ),
        ("Allée du Parc", ew(Y_PARK_PATH, (x2, x3)), {**res, "highway": "footway", "maxspeed": None}),
    ]
    return [{"name": name, "coords": coords, **attrs} for name, coords, attrs in rows]


def _half_width_x(x: float) -> float:
    return HALF_WIDTH_MAIN if x == XS[2] else (HALF_WIDTH_LIVING if x == X_EGLISE else HALF_WIDTH_STREET)


def _half_width_y(y: float) -> float:
    return HALF_WIDTH_MAIN if y == YS[1] else HALF_WIDTH_STREET


@dataclass
class _Block:
    key: str
    kind: str  # ub | ua | ux | ue | auh | park | strip | farm
    x0: float
    y0: float
    x1: float
    y1: float
    rows: int
    width_range: tuple[float, float]


def _blocks() -> list[_Block]:
    blocks: list[_Block] = []
    kinds = {
        (0, 0): "ub", (0, 1): "ub", (0, 2): "ub", (0, 3): "ub",
        (1, 0): "ua", (1, 1): "ua", (1, 2): "ub", (1, 3): "ub",
        (2, 0): "ua", (2, 1): "ua", (2, 2): "ue", (2, 3): "park",
        (3, 0): "ux", (3, 1): "ux", (3, 2): "auh", (3, 3): "auh",
    }  # fmt: skip
    widths = {"ub": (45.0, 60.0), "ua": (36.0, 50.0), "ux": (80.0, 95.0)}
    for i in range(4):
        for j in range(4):
            kind = kinds[(i, j)]
            xa, xb = XS[i] + _half_width_x(XS[i]), XS[i + 1] - _half_width_x(XS[i + 1])
            ya, yb = YS[j] + _half_width_y(YS[j]), YS[j + 1] - _half_width_y(YS[j + 1])
            spans = [(xa, xb)]
            if (i, j) == (1, 1):  # split by the living street
                spans = [(xa, X_EGLISE - HALF_WIDTH_LIVING), (X_EGLISE + HALF_WIDTH_LIVING, xb)]
            for k, (sa, sb) in enumerate(spans):
                rows = 2 if kind in ("ub", "ua", "ux") else 1
                blocks.append(_Block(f"{i}{j}{k}", kind, sa, ya, sb, yb, rows, widths.get(kind, (0, 0))))
    # lots along the south side of rue du Moulin, cut at the avenue and the zone limits
    north = YS[0] - HALF_WIDTH_STREET
    cuts = [
        (XS[0] + HALF_WIDTH_STREET, XS[1]),
        (XS[1], XS[2] - HALF_WIDTH_MAIN),
        (XS[2] + HALF_WIDTH_MAIN, XS[3]),
        (XS[3], XS[4] - HALF_WIDTH_STREET),
    ]
    for k, (sa, sb) in enumerate(cuts):
        blocks.append(_Block(f"s{k}", "strip", sa, STRIP_SOUTH, sb, north, 1, (45.0, 60.0)))
    # fields south of the river (zone A)
    south_cuts = [
        (TOWN[0], 650_800.0),
        (650_800.0, XS[2] - 6.0),
        (XS[2] + 6.0, 651_200.0),
        (651_200.0, TOWN[2]),
    ]
    for k, (sa, sb) in enumerate(south_cuts):
        blocks.append(_Block(f"f{k}", "farm", sa, TOWN[1], sb, 6_846_690.0, 1, (0, 0)))
    return blocks


def _split_widths(total: float, lo: float, hi: float, rng: np.random.Generator) -> list[float]:
    widths: list[float] = []
    remaining = total
    while remaining > hi:
        w = round(float(rng.uniform(lo, hi)), 1)
        if remaining - w < lo:  # keep the last lot at least `lo` wide
            if remaining < 2.0 * lo:
                break
            w = round(remaining / 2.0, 1)
        widths.append(w)
        remaining -= w
    widths.append(round(remaining, 3))
    return widths


@dataclass
class _Parcel:
    pid: str
    section: str
    numero: str
    kind: str
    x0: float
    y0: float
    x1: float
    y1: float
    front: str  # "north" or "south": the side on the street

    @property
    def geometry(self):
        import shapely

        return shapely.box(self.x0, self.y0, self.x1, self.y1)

    def contains_point(self, x: float, y: float) -> bool:
        return self.x0 < x < self.x1 and self.y0 < y < self.y1


def _parcels(rng: np.random.Generator) -> list[_Parcel]:
    parcels: list[_Parcel] = []
    letters = [a + b for a in "AB" for b in "ABCDEFGHIKLMNOPRSTUVXYZ"][1:]
    next_numero: dict[str, int] = {}
    for index, block in enumerate(_blocks()):
        section = "ZA" if block.kind == "farm" else letters[index]
        numero = next_numero.get(section, 1)
        if block.kind == "ue":  # the school lot and the reserved lot beside it
            xs: list[float] | None = [block.x0, block.x0 + 122.0, block.x1]
        elif block.width_range[1] > 0:  # lots of random widths
            xs = None
        else:  # one lot for the whole block
            xs = [block.x0, block.x1]
        rows = [(block.y0, block.y1, "north")]
        if block.rows == 2:  # back-to-back lots facing the north and the south street
            mid = round((block.y0 + block.y1) / 2.0, 1)
            rows = [(block.y0, mid, "south"), (mid, block.y1, "north")]
        for ya, yb, front in rows:
            if xs is None:
                cuts = np.cumsum([block.x0, *_split_widths(block.x1 - block.x0, *block.width_range, rng)])
                row_xs = [round(float(c), 2) for c in cuts]
                row_xs[-1] = block.x1
            else:
                row_xs = xs
            for xa, xb in itertools.pairwise(row_xs):
                parcels.append(
                    _Parcel(
                        f"{COMMUNE}000{section}{numero:04d}",
                        section,
                        f"{numero:04d}",
                        block.kind,
                        xa,
                        ya,
                        xb,
                        yb,
                        front,
                    )
                )
                numero += 1
        next_numero[section] = numero
    return parcels


def _zones() -> list[dict[str, Any]]:
    import shapely

    x_min, y_min, x_max, y_max = TOWN
    ub = shapely.union_all(
        [
            shapely.box(x_min, STRIP_SOUTH, XS[1], y_max),
            shapely.box(XS[1], YS[2], XS[2], y_max),
            shapely.box(XS[2], YS[3], XS[3], y_max),
        ]
    )
    ub = shapely.normalize(shapely.simplify(ub, 0.0))
    rows = [
        ("UA", "Zone urbaine du centre ancien", "U", "03", shapely.box(XS[1], STRIP_SOUTH, XS[3], YS[2])),
        ("UB", "Zone urbaine à dominante d'habitat pavillonnaire", "U", "01", ub),
        ("UE", "Zone urbaine d'équipements publics", "U", "05", shapely.box(XS[2], YS[2], XS[3], YS[3])),
        ("UX", "Zone urbaine d'activités économiques", "U", "02", shapely.box(XS[3], STRIP_SOUTH, x_max, YS[2])),
        ("1AUh", "Zone à urbaniser à vocation d'habitat", "AUc", "01", shapely.box(XS[3], YS[2], x_max, y_max)),
        ("N", "Zone naturelle de la vallée de l'Essonnette", "N", "08", shapely.box(x_min, 6_846_690.0, x_max, STRIP_SOUTH)),
        ("A", "Zone agricole", "A", "07", shapely.box(x_min, y_min, x_max, 6_846_690.0)),
    ]  # fmt: skip
    zones = []
    for gid, (libelle, libelong, typezone, destdomi, geom) in enumerate(rows, start=1):
        zones.append(
            {
                "gid": gid,
                "partition": f"DU_{COMMUNE}",
                "libelle": libelle,
                "libelong": libelong,
                "typezone": typezone,
                "destdomi": destdomi,
                "nomfic": f"{COMMUNE}_reglement_20230615.pdf",
                "urlfic": None,
                "insee": COMMUNE,
                "datappro": "20230615",
                "datvalid": "20230701",
                "idurba": IDURBA,
                "idzone": f"{IDURBA}_{libelle}",
                "geometry": geom,
            }
        )
    return zones


# PLU rules per zone (synthetic but typical of Île-de-France PLU regulations).
ZONE_RULES = [
    # libelle, max_height_m, max_footprint_ratio, min_setback_road_m, min_setback_side_m,
    # side_setback_height_ratio, min_green_ratio, allowed_uses
    ("UA", 15.0, 0.70, 0.0, 0.0, 0.0, 0.10, "residential;office;retail;education"),
    ("UB", 12.0, 0.40, 5.0, 3.0, 0.5, 0.30, "residential;office;retail;education"),
    ("UE", 15.0, 0.60, 3.0, 3.0, 0.5, 0.20, "education;office"),
    ("UX", 18.0, 0.60, 5.0, 4.0, 0.5, 0.15, "office;retail;industrial"),
    ("1AUh", 10.0, 0.35, 5.0, 3.0, 0.5, 0.40, "residential"),
    ("N", 6.0, 0.05, 10.0, 5.0, 0.5, 0.90, ""),
    ("A", 9.0, 0.10, 10.0, 5.0, 0.5, 0.80, "industrial"),
]


# ----------------------------------------------------------------------------------------
# other layers
# ----------------------------------------------------------------------------------------
def _pipes(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Water mains under the streets, one pipe per street segment between junctions."""
    import shapely

    diameters = {"primary": 300, "secondary": 250, "tertiary": 150, "residential": 110, "living_street": 90}
    pipes: list[dict[str, Any]] = []
    for street in _streets():
        if street["highway"] not in diameters:
            continue
        # pipes join at the junction even where the kerb line stops short
        coords = [
            (x, YS[4] if abs(y - YS[4]) < 0.5 else (YS[2] if abs(y - YS[2]) < 0.5 else y))
            for x, y in street["coords"]
        ]
        for start, end in itertools.pairwise(coords):
            if street["highway"] in ("primary", "secondary"):
                material, year = "fonte ductile", int(rng.integers(1955, 1990))
            elif rng.random() < 0.5:
                material, year = "PVC", int(rng.integers(1970, 1996))
            else:
                material, year = "PEHD", int(rng.integers(1996, 2021))
            pipes.append(
                {
                    "pipe_id": f"AEP{len(pipes) + 1:03d}",
                    "diameter_mm": diameters[street["highway"]],
                    "material": material,
                    "install_year": year,
                    "street": street["name"],
                    "geometry": shapely.LineString([start, end]),
                }
            )
    return pipes


def _pois(layout: dict[str, Any]) -> list[dict[str, Any]]:
    import shapely

    parcels = {p.pid: p for p in layout["parcels"]}
    by_parcel = {f["parcel"]: f for f in layout["footprints"]}
    specs = {s.short_name: s for s in layout["specs"]}

    def building_point(pid: str):
        return by_parcel[pid]["geometry"].centroid

    def ifc_point(short: str):
        return by_parcel[specs[short].parcel_id]["geometry"].centroid

    ua_buildings = sorted(
        (pid for pid, f in by_parcel.items() if layout["zone_of"][pid] == "UA" and pid not in {s.parcel_id for s in specs.values()} and pid != layout["market_parcel"]),
    )  # fmt: skip
    categories = [
        "doctor",
        "pharmacy",
        "shop",
        "bakery",
        "library",
        "childcare",
        "shop",
        "doctor",
        "pharmacy",
        "shop",
    ]
    names = {
        "doctor": ["Cabinet médical du Centre", "Dr Lefèvre, médecin généraliste"],
        "pharmacy": ["Pharmacie de la Grande Rue", "Pharmacie du Moulin"],
        "shop": ["Tabac-Presse Le Balto", "Fleuriste Au Jardin", "Coiffure Émilie"],
        "bakery": ["Au Pain d'Antan"],
        "library": ["Médiathèque Colette"],
        "childcare": ["Crèche Les Petits Loups"],
    }
    counters: dict[str, int] = {}
    pois = [
        ("École élémentaire Jules Ferry", "school", 250.0, ifc_point("ecole_jules_ferry")),
        ("Boulangerie de la Grande Rue", "bakery", None, ifc_point("commerce_grande_rue")),
        ("Supermarché Le Marché Frais", "supermarket", None, building_point(layout["market_parcel"])),
    ]
    nursery = next(
        pid
        for pid, f in by_parcel.items()
        if f["use"] == "education" and pid not in {s.parcel_id for s in specs.values()}
    )
    pois.append(("École maternelle Les Lilas", "school", 120.0, building_point(nursery)))
    for category, pid in zip(categories, ua_buildings):
        k = counters.get(category, 0)
        counters[category] = k + 1
        name = names[category][k % len(names[category])]
        capacity = 40.0 if category == "childcare" else None
        pois.append((name, category, capacity, building_point(pid)))
    park = next(p for p in parcels.values() if p.kind == "park")
    pois += [
        ("Parc de la Mairie", "park", None, park.geometry.centroid),
        ("Prairie des bords de l'Essonnette", "park", None, shapely.Point(650_820.0, 6_846_805.0)),
        ("City-stade du Parc", "sports", None, shapely.Point(park.x1 - 25.0, park.y1 - 20.0)),
    ]
    stops = [
        ("Mairie", (650_700.0, 6_847_005.0)),
        ("Église", (650_950.0, 6_847_005.0)),
        ("Place de la Gare", (651_100.0, 6_846_995.0)),
        ("Les Écoles", (651_300.0, 6_846_995.0)),
        ("Jules Ferry", (651_005.0, 6_847_195.0)),
        ("Pont de l'Essonnette", (651_005.0, 6_846_840.0)),
    ]
    pois += [(f"Arrêt {name}", "bus_stop", None, shapely.Point(xy)) for name, xy in stops]
    return [
        {
            "name": name,
            "category": category,
            "capacity": capacity,
            "geometry": shapely.Point(round(pt.x, 2), round(pt.y, 2)),
        }
        for name, category, capacity, pt in pois
    ]
