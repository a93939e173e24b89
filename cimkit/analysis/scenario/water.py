"""What new homes ask of the drinking-water network: added demand and, with WNTR, pressures.

The added demand of a parcel is ``added_residents x litres_per_person_day x peak_factor``,
in litres per second, put on the junction of the water network nearest to the parcel. With
an EPANET model (an ``.inp`` file, or a network read by :func:`cimkit.read_epanet` whose
pipes carry their roughness), a steady-state, demand-driven hydraulic run of WNTR (the Water
Network Tool for Resilience, US EPA / Sandia) before and after the added demand gives the
pressure at every junction; junctions below ``min_pressure_m`` are flagged.

Assumptions (each a keyword to change):

- :data:`LITRES_PER_PERSON_DAY` = 150 L per person per day: the domestic consumption of
  drinking water in France is about 148-150 L per inhabitant per day (national observatory of
  water services SISPEA, French Biodiversity Office (OFB), annual reports).
- :data:`PEAK_FACTOR` = 3.0 = peak-day factor 1.5 x peak-hour factor 2.0, the usual values of
  French distribution-network design (Dupont, *Hydraulique urbaine*, t. II, Eyrolles).
- :data:`MIN_PRESSURE_M` = 20 m (2 bar) at the junction: a common French design criterion for
  the minimum service pressure of a distribution main (buildings up to about four storeys
  served without a booster); water-service regulations set their own value.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from cimkit.analysis.scenario.impacts import ScenarioImpact, _check_new_homes, _record, _unavailable
from cimkit.errors import CimkitWarning, LayerNotFoundError

if TYPE_CHECKING:
    from cimkit.model import CityModel
    from cimkit.network.graph import Network

__all__ = [
    "HAZEN_WILLIAMS_C",
    "LITRES_PER_PERSON_DAY",
    "MIN_PRESSURE_M",
    "PEAK_FACTOR",
    "compute_water_impact",
]

logger = logging.getLogger(__name__)

#: Drinking water used per person per day, litres (SISPEA / OFB: about 148-150 L/inhabitant/day).
LITRES_PER_PERSON_DAY = 150.0
#: Peak factor on the mean daily demand: peak day 1.5 x peak hour 2.0 (French design practice).
PEAK_FACTOR = 3.0
#: Minimum service pressure at a junction, metres of water (2 bar).
MIN_PRESSURE_M = 20.0
#: Hazen-Williams C of new pipes by material (EPANET 2 Users Manual, Rossman 2000, table 3.2
#: "Roughness coefficients for new pipe": cast iron 130-140, plastic 140-150), the low end kept.
HAZEN_WILLIAMS_C: dict[str, float] = {
    "fonte ductile": 130.0,
    "fonte grise": 130.0,
    "fonte": 130.0,
    "PVC": 140.0,
    "PEHD": 140.0,
    "PE": 140.0,
    "acier": 140.0,
}


def _water_network(model: Any, network: Network | None, inp: Any) -> tuple[Network | None, str | None]:
    if network is not None:
        return network, None
    if inp is not None:
        from cimkit.io.epanet import read_epanet

        return read_epanet(inp, crs=model.crs), None
    try:
        return model.network("water"), None
    except LayerNotFoundError:
        return None, (
            "The model has no water network: add one (model.add_network(cimkit.read_epanet(path, "
            "crs=...)) for an EPANET model, or cimkit.read_network(pipes, kind='water')) or pass inp=."
        )


def _junctions(network: Network) -> gpd.GeoDataFrame:
    nodes = network.nodes
    if "node_type" in nodes.columns:
        nodes = nodes[nodes["node_type"] == "junction"]
    return nodes


def _wntr_model(network: Network, inp: Any) -> tuple[Any, str | None]:
    """Return a WNTR model read from the ``.inp`` file, or built from the network's EPANET tables."""
    try:
        import wntr
    except ImportError:
        return None, "WNTR is not installed: pip install 'cimkit[water]' for the pressures."
    if inp is not None:
        return wntr.network.WaterNetworkModel(os.fspath(inp)), None
    nodes, edges = network.nodes, network.edges
    if "node_type" not in nodes.columns or "roughness" not in edges.columns:
        return None, (
            "The water network is not an EPANET model (no node types, no roughness): only the added "
            "demand per junction is given. Read an EPANET .inp file (cimkit.read_epanet) or pass inp= "
            "for the pressures."
        )
    if (nodes["node_type"] == "tank").any() or (edges["link_type"] != "pipe").any():
        return None, "The network has tanks, pumps or valves: pass its .inp file as inp= for the pressures."
    wn = wntr.network.WaterNetworkModel()
    wn.options.hydraulic.headloss = str(edges.attrs.get("headloss", "H-W"))
    name = nodes["epanet_id"].astype(str)
    for node_id, row in nodes.iterrows():
        xy = (row.geometry.x, row.geometry.y)
        if row["node_type"] == "reservoir":
            wn.add_reservoir(name[node_id], base_head=float(row["head_m"]), coordinates=xy)
        else:
            demand = float(row["demand_lps"]) / 1000.0
            wn.add_junction(
                name[node_id], base_demand=demand, elevation=float(row["elevation_m"]), coordinates=xy
            )
    for _, row in edges.iterrows():
        wn.add_pipe(
            str(row["epanet_id"]),
            name[row["u"]],
            name[row["v"]],
            length=float(row["length_m"]),
            diameter=float(row["diameter_mm"]) / 1000.0,
            roughness=float(row["roughness"]),
            minor_loss=float(row.get("minor_loss", 0.0) or 0.0),
            initial_status="CLOSED" if row.get("status") == "closed" else "OPEN",
        )
    return wn, None


def _pressures(wn: Any) -> pd.Series:
    """Steady-state, demand-driven junction pressures (m) of a WNTR model at time 0."""
    import wntr

    wn.options.time.duration = 0
    wn.options.hydraulic.demand_model = "DD"
    results = wntr.sim.WNTRSimulator(wn).run_sim(convergence_error=True)
    pressure = results.node["pressure"].iloc[0]
    return pressure[list(wn.junction_name_list)].astype("float64")


def _run_hydraulics(wn: Any, added_lps: pd.Series) -> pd.DataFrame:
    """Pressures before and after adding ``added_lps`` (L/s, indexed by junction name)."""
    before = _pressures(wn)
    for junction, lps in added_lps.items():
        if lps > 0:
            wn.get_node(str(junction)).add_demand(
                base=float(lps) / 1000.0, pattern_name=None, category="scenario"
            )
    after = _pressures(wn)
    table = pd.DataFrame({"pressure_before_m": before, "pressure_after_m": after})
    table["pressure_drop_m"] = table["pressure_before_m"] - table["pressure_after_m"]
    return table


def compute_water_impact(
    model: CityModel,
    new_homes: gpd.GeoDataFrame,
    *,
    network: Network | None = None,
    inp: str | os.PathLike[str] | None = None,
    litres_per_person_day: float = LITRES_PER_PERSON_DAY,
    peak_factor: float = PEAK_FACTOR,
    min_pressure_m: float = MIN_PRESSURE_M,
) -> ScenarioImpact:
    """Compute the added drinking-water demand of new homes and, on an EPANET model, the pressures.

    Each parcel's peak demand, ``added_residents x litres_per_person_day x peak_factor / 86400``
    L/s, goes to the junction nearest to a point inside the parcel. With an EPANET model WNTR
    runs a steady-state, demand-driven analysis with the model's own demands (as written in the
    file, at time 0), then again with the added demand; the headloss formula is the model's
    (``[OPTIONS] Headloss``; the sample city's is Hazen-Williams).

    Parameters
    ----------
    model
        The city model; its ``water`` network is used when neither ``network`` nor ``inp`` is
        given.
    new_homes
        The scenario's new homes (see
        :func:`~cimkit.analysis.scenario.impacts.compute_flood_impact`).
    network
        The water network (from :func:`cimkit.read_epanet`, or pipes from
        :func:`cimkit.read_network`), in the model CRS.
    inp
        An EPANET ``.inp`` file whose coordinates are in the model CRS: read for the junctions
        and run by WNTR as it is (pumps, valves, tanks and patterns included).
    litres_per_person_day
        Drinking water per new resident per day, litres (default :data:`LITRES_PER_PERSON_DAY`).
    peak_factor
        Factor from the mean to the peak-hour demand (default :data:`PEAK_FACTOR`).
    min_pressure_m
        Minimum service pressure, metres of water (default :data:`MIN_PRESSURE_M`).

    Returns
    -------
    ScenarioImpact
        ``name="water"``; ``parcels``: ``junction`` (the EPANET id, or the node id of a pipe
        network), ``distance_m``, ``added_demand_lps`` and, with pressures,
        ``pressure_before_m``, ``pressure_after_m``, ``pressure_drop_m`` and
        ``below_min_pressure`` (after) at that junction; ``tables["junctions"]``: the same per
        junction for every junction of the network (with ``added_demand_lps``). ``summary``: ``added_demand_lps``,
        ``junctions_loaded``, ``pressures_available`` (1 or 0) and, with pressures,
        ``pressure_min_before_m``, ``pressure_min_after_m``, ``pressure_drop_max_m``,
        ``junctions_below_min_pressure_before`` and ``junctions_below_min_pressure_after``.
        Not available without a water network.

    Examples
    --------
    The sample city's EPANET model; 400 new residents on a parcel by Rue des Lilas:

    >>> import geopandas as gpd
    >>> import shapely
    >>> import cimkit
    >>> from cimkit.analysis.scenario.water import compute_water_impact
    >>> from cimkit.datasets import sample_city_path
    >>> homes = gpd.GeoDataFrame(
    ...     {"added_gfa_m2": [12000.0], "added_dwellings": [180.0], "added_residents": [400.0],
    ...      "added_jobs": [0.0], "zone": ["UB"]},
    ...     geometry=[shapely.box(651100, 6847140, 651150, 6847180)], crs="EPSG:2154",
    ...     index=gpd.pd.Index(["P1"], name="parcel_id"))
    >>> impact = compute_water_impact(
    ...     cimkit.CityModel("EPSG:2154"), homes, inp=sample_city_path() / "water_network.inp")
    >>> round(impact.summary["added_demand_lps"], 3)  # 400 x 150 L x 3 / 86400 s
    2.083
    >>> impact.parcels.loc["P1", "junction"], bool(impact.parcels.loc["P1", "pressure_drop_m"] > 0)
    ('J018', True)
    """
    homes = _check_new_homes(model, new_homes)
    water, reason = _water_network(model, network, inp)
    if water is None:
        return _unavailable("water", str(reason))
    junctions = _junctions(water)
    residents = homes["added_residents"].to_numpy(dtype="float64")
    demand = residents * float(litres_per_person_day) * float(peak_factor) / 86400.0
    points = homes.geometry.representative_point()
    position, distance = junctions.sindex.nearest(points.values, return_all=False, return_distance=True)
    order = np.empty(len(homes), dtype="int64")
    order[position[0]] = position[1]
    near = np.empty(len(homes))
    near[position[0]] = distance
    names = (
        junctions["epanet_id"].astype(str)
        if "epanet_id" in junctions.columns
        else junctions.index.astype(str)
    )
    out = pd.DataFrame(
        {"junction": np.asarray(names)[order], "distance_m": near, "added_demand_lps": demand},
        index=homes.index,
    )
    added = out.groupby("junction")["added_demand_lps"].sum()
    summary: dict[str, float] = {
        "added_demand_lps": float(demand.sum()),
        "junctions_loaded": float((added > 0).sum()),
        "pressures_available": 0.0,
    }
    caveats = [
        f"Added demand: {litres_per_person_day:g} L per resident per day (France: about 148-150 L, "
        f"SISPEA/OFB) x peak factor {peak_factor:g} (peak day 1.5 x peak hour 2, French design practice), "
        "on the junction nearest to each parcel.",
    ]
    tables: dict[str, pd.DataFrame] = {}
    params = {
        "litres_per_person_day": litres_per_person_day,
        "peak_factor": peak_factor,
        "min_pressure_m": min_pressure_m,
        "inp": None if inp is None else os.fspath(inp),
        "parcels": len(homes),
    }
    detail = "peak demand of the new residents on the nearest junction"
    wn, why = _wntr_model(water, inp)
    if wn is None:
        caveats.append(str(why))
        _record(out, "water", detail, hydraulics=False, **params)
        return ScenarioImpact(name="water", parcels=out, summary=summary, caveats=caveats, tables=tables)
    try:
        table = _run_hydraulics(wn, added)
    except Exception as err:  # WNTR raises its own errors when the solver fails
        message = f"the WNTR hydraulic run failed ({type(err).__name__}: {err}); pressures are not given"
        warnings.warn(CimkitWarning(message, code="SCN301"), stacklevel=2)
        caveats.append(message[0].upper() + message[1:] + ".")
        _record(out, "water", detail, hydraulics=False, **params)
        return ScenarioImpact(name="water", parcels=out, summary=summary, caveats=caveats, tables=tables)
    table["added_demand_lps"] = added.reindex(table.index).fillna(0.0)
    table["below_min_pressure"] = table["pressure_after_m"] < float(min_pressure_m)
    out = out.join(table.drop(columns="added_demand_lps"), on="junction")
    tables["junctions"] = table
    summary.update(
        {
            "pressures_available": 1.0,
            "pressure_min_before_m": float(table["pressure_before_m"].min()),
            "pressure_min_after_m": float(table["pressure_after_m"].min()),
            "pressure_drop_max_m": float(table["pressure_drop_m"].max()),
            "junctions_below_min_pressure_before": float((table["pressure_before_m"] < min_pressure_m).sum()),
            "junctions_below_min_pressure_after": float(table["below_min_pressure"].sum()),
        }
    )
    caveats.append(
        "Pressures: WNTR steady-state, demand-driven run of the EPANET model with its own demands at "
        f"time 0, then with the added peak demand; junctions below {min_pressure_m:g} m (2 bar, a common "
        "French design minimum) are flagged. The model's demands are taken as given (mean or peak)."
    )
    _record(out, "water", detail + "; WNTR pressures before and after", hydraulics=True, **params)
    return ScenarioImpact(name="water", parcels=out, summary=summary, caveats=caveats, tables=tables)
