"""One-call flood assessment: depths, damages and EAD per building, network impact, totals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from cimkit.analysis.flood.inundation import flood_scenarios
from cimkit.analysis.flood.network_impact import close_flooded_edges
from cimkit.analysis.flood.risk import (
    aggregate_damage,
    building_damage,
    expected_annual_damage,
    return_period_label,
)
from cimkit.network.graph import Network
from cimkit.raster import Raster

__all__ = ["FloodAssessment", "assess_flood"]


@dataclass
class FloodAssessment:
    """Result of :func:`assess_flood`.

    Attributes
    ----------
    buildings
        Per building: ``depth_m_rpT``, ``damage_eur_rpT`` ... and ``ead_eur``.
    depths
        ``{return_period: depth Raster}``.
    networks
        ``{return_period: Network}`` with closed edges (empty without a network).
    edges
        Per edge and return period: ``flooded_length_m_rpT``, ``max_depth_m_rpT``.
    by_parcel, by_zone
        EAD and damages summed per parcel / zone (None without a mapping).
    totals
        City totals: damage per return period, EAD, flooded buildings per return period.
    """

    buildings: pd.DataFrame
    depths: dict[float, Raster]
    networks: dict[float, Network] = field(default_factory=dict)
    edges: pd.DataFrame | None = None
    by_parcel: pd.DataFrame | None = None
    by_zone: pd.DataFrame | None = None
    totals: pd.Series | None = None

    def top(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` buildings with the highest EAD."""
        return self.buildings.sort_values("ead_eur", ascending=False).head(n)


def assess_flood(
    buildings: Any,
    dem: Raster | None,
    scenarios: Mapping[Any, float | Raster],
    *,
    network: Network | None = None,
    zones: pd.Series | None = None,
    parcels: pd.Series | None = None,
    method: Literal["bathtub", "hand", "depth"] = "bathtub",
    sources: Any = None,
    streams: Any = None,
    ead_method: Literal["trapezoid", "loglinear"] = "trapezoid",
    protection_return_period: float | None = None,
    rare_tail: bool | None = None,
    thresholds: Mapping[str, float] | None = None,
    country: str = "FR",
) -> FloodAssessment:
    """Depths, damages and expected annual damage per building, plus network closures.

    Parameters
    ----------
    buildings
        GeoDataFrame of footprints indexed by ``building_id`` in the DEM's CRS.
    dem
        Terrain in metres (None when every scenario is a depth Raster).
    scenarios
        ``{return_period_years: water level, stage or depth Raster}`` (see
        :func:`~cimkit.analysis.flood.inundation.flood_scenarios`).
    network
        Optional road network; closed edges per return period.
    zones, parcels
        Optional ``building_id -> zone_id / parcel_id`` mappings for aggregation.
    method, sources, streams
        How levels become depths (:func:`flood_scenarios`).
    ead_method, protection_return_period, rare_tail
        EAD integration (:func:`~cimkit.analysis.flood.risk.expected_annual_damage`).
    thresholds
        Closure depths per mode (:func:`~cimkit.analysis.flood.network_impact.close_flooded_edges`).
    country
        Country of the maximum damages.
    """
    depths = flood_scenarios(dem, scenarios, method=method, sources=sources, streams=streams)
    table = building_damage(buildings, depths, dem=dem, country=country)
    rps = list(depths)
    damage_cols = ["damage_eur_" + return_period_label(rp) for rp in rps]
    table["ead_eur"] = expected_annual_damage(
        rps,
        table[damage_cols],
        method=ead_method,
        protection_return_period=protection_return_period,
        rare_tail=rare_tail,
    )
    totals: dict[str, float] = {}
    for rp, col in zip(rps, damage_cols):
        label = return_period_label(rp)
        totals[f"damage_eur_{label}"] = float(table[col].sum())
        totals[f"flooded_buildings_{label}"] = float((table["depth_m_" + label] > 0).sum())
    totals["ead_eur"] = float(table["ead_eur"].sum())
    networks: dict[float, Network] = {}
    edge_table = None
    if network is not None:
        cols = {}
        for rp, grid in depths.items():
            closed = close_flooded_edges(network, grid, thresholds=thresholds)
            networks[rp] = closed
            label = return_period_label(rp)
            cols[f"flooded_length_m_{label}"] = closed.edges["flooded_length_m"]
            cols[f"max_depth_m_{label}"] = closed.edges["max_depth_m"]
            for c in closed.edges.columns:
                if c.startswith("closed_"):
                    cols[f"{c}_{label}"] = closed.edges[c]
                    totals[f"{c}_edges_{label}"] = float(np.sum(closed.edges[c]))
        edge_table = pd.DataFrame(cols, index=network.edges.index)
    summed = ["ead_eur", *damage_cols]
    by_parcel = aggregate_damage(table[summed], parcels) if parcels is not None else None
    by_zone = aggregate_damage(table[summed], zones) if zones is not None else None
    return FloodAssessment(
        buildings=table,
        depths=depths,
        networks=networks,
        edges=edge_table,
        by_parcel=by_parcel,
        by_zone=by_zone,
        totals=pd.Series(totals, name="total"),
    )
