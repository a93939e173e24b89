"""The sample city's drinking-water mains as an EPANET 2 model (``water_network.inp``).

Built from the same pipe records as ``water_pipes.geojson``:

- one junction per pipe end (``J001``... in order of first appearance), its elevation the
  DEM cell under it (m NGF-IGN69);
- a water tower ``R1`` (reservoir, total head :data:`TOWER_HEAD_M`) on the plateau north of
  Avenue de la Gare, fed into the grid by a 300 mm ductile-iron main ``ALIM01``;
- pipes with the drawn length, ``diameter_mm`` and a Hazen-Williams C by material
  (:data:`cimkit.analysis.scenario.water.HAZEN_WILLIAMS_C`, EPANET 2 Users Manual table 3.2);
- base demands of the buildings served: each footprint's floor area (area x storeys) /
  :data:`FLOOR_AREA_PER_PERSON_M2` persons x 150 L per day (the mean daily demand, no peak
  factor), on the junction nearest to its centroid;
- ``[OPTIONS] Units LPS``, ``Headloss H-W``, a steady-state ``[TIMES] Duration 0``;
  coordinates in EPSG:2154.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cimkit.analysis.scenario.water import HAZEN_WILLIAMS_C, LITRES_PER_PERSON_DAY

#: Total head of the water tower, m NGF (the plateau is at about 56 m: 39 m above it).
TOWER_HEAD_M = 95.0
#: Where the tower stands (EPSG:2154) and the grid node its main feeds.
TOWER_XY = (651_000.0, 6_847_440.0)
FEED_XY = (651_000.0, 6_847_380.0)
#: Floor area per person, m² (INSEE, Enquête Logement 2013: about 40 m² per person in France).
FLOOR_AREA_PER_PERSON_M2 = 40.0


def _elevation(dem: np.ndarray, west: float, north: float, cell: float, x: float, y: float) -> float:
    row = min(max(int((north - y) // cell), 0), dem.shape[0] - 1)
    col = min(max(int((x - west) // cell), 0), dem.shape[1] - 1)
    return float(dem[row, col])


def build_water_network_inp(
    pipes: list[dict[str, Any]],
    footprints: list[dict[str, Any]],
    dem: np.ndarray,
    *,
    west: float,
    north: float,
    cell: float,
) -> str:
    """Return the text of the sample city's EPANET model (see the module docstring)."""
    nodes: dict[tuple[float, float], str] = {}
    for pipe in pipes:
        for xy in (pipe["geometry"].coords[0], pipe["geometry"].coords[-1]):
            key = (round(float(xy[0]), 2), round(float(xy[1]), 2))
            nodes.setdefault(key, f"J{len(nodes) + 1:03d}")
    keys = list(nodes)
    grid = np.array(keys)
    demand = dict.fromkeys(keys, 0.0)
    for footprint in footprints:
        geometry = footprint["geometry"]
        people = geometry.area * float(footprint.get("storeys") or 1) / FLOOR_AREA_PER_PERSON_M2
        c = geometry.centroid
        nearest = int(np.argmin(np.hypot(grid[:, 0] - c.x, grid[:, 1] - c.y)))
        demand[keys[nearest]] += people * LITRES_PER_PERSON_DAY / 86400.0
    lines = ["[TITLE]", " cimkit sample city: drinking-water mains (synthetic)", "", "[JUNCTIONS]"]
    lines.append(";ID  Elevation_m  Demand_lps")
    for key, name in nodes.items():
        z = _elevation(dem, west, north, cell, *key)
        lines.append(f" {name}  {z:.2f}  {demand[key]:.4f}")
    lines += ["", "[RESERVOIRS]", ";ID  Head_m", f" R1  {TOWER_HEAD_M:.2f}", "", "[PIPES]"]
    lines.append(";ID  Node1  Node2  Length_m  Diameter_mm  Roughness  MinorLoss  Status")
    feed = nodes[FEED_XY]
    main = float(np.hypot(TOWER_XY[0] - FEED_XY[0], TOWER_XY[1] - FEED_XY[1]))
    lines.append(f" ALIM01  R1  {feed}  {main:.2f}  300  {HAZEN_WILLIAMS_C['fonte ductile']:g}  0  Open")
    for pipe in pipes:
        line = pipe["geometry"]
        a = nodes[(round(line.coords[0][0], 2), round(line.coords[0][1], 2))]
        b = nodes[(round(line.coords[-1][0], 2), round(line.coords[-1][1], 2))]
        c_hw = HAZEN_WILLIAMS_C[pipe["material"]]
        lines.append(
            f" {pipe['pipe_id']}  {a}  {b}  {line.length:.2f}  {pipe['diameter_mm']}  {c_hw:g}  0  Open"
        )
    lines += ["", "[TIMES]", " Duration 0:00", "", "[OPTIONS]", " Units LPS", " Headloss H-W"]
    lines += [" Demand Model DDA", "", "[COORDINATES]", ";Node  X  Y"]
    for (x, y), name in nodes.items():
        lines.append(f" {name}  {x:.2f}  {y:.2f}")
    lines.append(f" R1  {TOWER_XY[0]:.2f}  {TOWER_XY[1]:.2f}")
    lines += ["", "[END]", ""]
    return "\n".join(lines)
