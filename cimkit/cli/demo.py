"""``cimkit demo``: the main job on the sample city.

Builds the city model from ``sample_data/``, runs every analysis (links and PLU compliance,
flood risk, carbon, accessibility), joins the results to the buildings as columns with units,
writes ``city.gpkg``, a plain-language ``summary.md`` and ``report.html`` (the public view:
no water network), the maps, and prints where everything is.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)


def run_demo(
    output: str | os.PathLike[str] = "demo-output", *, sample_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Run the main job; return the output folder."""
    import matplotlib

    matplotlib.use("Agg")

    from cimkit.datasets import load_sample_city, sample_city_path
    from cimkit.viz.public import public_model
    from cimkit.viz.report import Report

    started = time.perf_counter()
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(sample_dir) if sample_dir is not None else sample_city_path()
    logger.info("building the city model from %s", root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # repairs and approximations are recorded in the provenance
        model = load_sample_city(folder=root)
    report = Report(
        "Sample city: what the city model says",
        intro="A small synthetic French town (Lambert-93, EPSG:2154) built from 11 IFC building models, the "
        "cadastre, the local urban plan (PLU), the street and water networks and a terrain model. Every "
        "number below was computed by cimkit from these files; the sources and steps are listed at the end.",
    )
    _links_and_compliance(model, report)
    flood = _flood(model, report, root, out)
    _carbon(model, report, root)
    _accessibility(model, report, flood)
    _overview(model, report)

    gpkg = model.to_file(out / "city.gpkg")
    public = public_model(model, drop_layers=("elements", "materials", "spaces"))
    _maps(public, report, out)
    html_path, md_path = report.write(out, stem="summary")
    html_path = html_path.rename(out / "report.html")
    seconds = time.perf_counter() - started
    print(f"cimkit demo finished in {seconds:.0f} s. Outputs in {out.resolve()}:")
    print(f"  {gpkg.name:<14} the whole city model (open in QGIS, or cimkit.read_model)")
    print(f"  {md_path.name:<14} the results in plain words")
    print(f"  {html_path.name:<14} the same as a web page, with maps (public view)")
    for png in sorted(out.glob("*.png")):
        print(f"  {png.name:<14} figure")
    return out


# ----------------------------------------------------------------------------- sections
def _links_and_compliance(model: Any, report: Any) -> None:
    from cimkit.analysis.linking import link_buildings_to_parcels, link_parcels_to_zones, nearest_feature
    from cimkit.analysis.zoning import check_compliance

    buildings, parcels, zoning = model.buildings, model.parcels, model.zoning
    to_parcel = link_buildings_to_parcels(buildings, parcels)
    to_zone = link_parcels_to_zones(parcels, zoning)
    road = model.network("road")
    access = road.nearest_node(buildings.geometry.centroid)
    pipes = nearest_feature(buildings, model.network("water").edges)
    links = pd.DataFrame(
        {
            "parcel_id": to_parcel["parcel_id"],
            "parcel_share": to_parcel["parcel_share"],
            "zone_id": to_parcel["parcel_id"].map(to_zone["zone_id"]),
            "access_node": access["node_id"],
            "access_distance_m": access["distance_m"],
            "water_pipe_id": pipes.iloc[:, 0],
            "water_pipe_distance_m": pipes.iloc[:, 1],
        },
        index=buildings.index,
    )
    model.join("buildings", links, step="cimkit.analysis.linking")
    compliance = check_compliance(model.buildings, parcels, zoning, roads=road.edges)
    keep = [c for c in compliance.columns if c not in ("parcel_id", "zone_id")]
    model.join(
        "buildings", compliance[keep].add_prefix("plu_"), step="cimkit.analysis.zoning.check_compliance"
    )

    n = len(buildings)
    crossing = int(to_parcel["crosses_parcels"].sum()) if "crosses_parcels" in to_parcel else 0
    report.section("Buildings, parcels and the local urban plan")
    report.text(
        f"The model holds {n} buildings ({int((buildings['source_kind'] == 'ifc').sum())} from IFC models, the "
        f"others from the cadastre's footprints), {len(parcels)} parcels and {len(zoning)} PLU zones. Each building "
        f"was linked to the parcel it stands on (largest overlap; {crossing} straddle a parcel boundary), to its "
        f"zone, to its nearest street node (median {access['distance_m'].median():.0f} m away) and to its "
        f"nearest water main."
    )
    verdict = compliance["compliant"]
    failing = compliance.loc[verdict.fillna(True).eq(False)]
    report.text(
        f"Against the rules of their zone, {int(verdict.fillna(False).sum())} buildings pass every check that "
        f"could be made, {len(failing)} fail at least one, and {int(verdict.isna().sum())} could not be fully "
        "checked (missing height or use)."
    )
    if len(failing):
        checks = [c for c in compliance.columns if c.endswith("_ok")]
        reasons = failing[checks].apply(
            lambda row: ", ".join(
                c.removesuffix("_ok").replace("_", " ")
                for c in checks
                if row[c] is False or (pd.notna(row[c]) and not bool(row[c]))
            ),
            axis=1,
        )
        table = pd.DataFrame(
            {
                "name": buildings.loc[failing.index].get("name"),
                "zone": failing.get("libelle"),
                "rules broken": reasons,
            },
            index=failing.index,
        )
        report.table(table, "Buildings that break a PLU rule")


def _flood(model: Any, report: Any, root: Path, out: Path) -> Any:
    from cimkit.analysis.flood import assess_flood

    levels = pd.read_csv(root / "flood_scenarios.csv")
    scenarios = {int(r.return_period): float(r.water_level_m) for r in levels.itertuples()}
    buildings = model.buildings
    assessment = assess_flood(
        buildings,
        model.terrain,
        scenarios,
        network=model.network("road"),
        parcels=buildings["parcel_id"],
        zones=buildings["zone_id"],
        method="bathtub",
        sources=model["river"],
    )
    model.join(
        "buildings",
        assessment.buildings,
        step="cimkit.analysis.flood.assess_flood",
        scenarios={str(k): v for k, v in scenarios.items()},
    )
    table = assessment.buildings
    report.section("Flood risk")
    rows = []
    for rp, level in scenarios.items():
        depth = (
            table[f"depth_m_rp{rp}"]
            if f"depth_m_rp{rp}" in table
            else table.filter(like=f"rp{rp}").iloc[:, 0]
        )
        damage = table.filter(regex=f"^damage_eur_rp{rp}$").sum().sum()
        rows.append(
            {
                "return period (years)": str(rp),
                "river level (m)": f"{level:.2f}",
                "buildings flooded": int((depth > 0).sum()),
                "damage (EUR)": float(damage),
            }
        )
    report.table(
        pd.DataFrame(rows),
        "Flooded buildings and damage by return period (river flooding, "
        "connected bathtub on the terrain model)",
        floatfmt="{:,.0f}",
    )
    total = float(table["ead_eur"].sum())
    report.text(
        f"Expected annual damage (EAD) for the whole town: {total:,.0f} EUR per year (trapezoid integration over "
        "the annual exceedance probability; JRC depth-damage curves for Europe, Huizinga et al. 2017, maximum "
        "damage for France)."
    )
    top = assessment.top(10)
    top = top.loc[top["ead_eur"] > 0]
    if len(top):
        cols = [c for c in top.columns if c.startswith(("depth_m_", "ead_eur"))]
        named = top[cols].copy()
        named.insert(0, "name", buildings.loc[named.index].get("name"))
        report.table(
            named, "The 10 buildings with the highest expected annual damage (EUR per year; depths in m)"
        )
    if assessment.edges is not None:
        closed = assessment.edges.filter(like="closed_car").sum()
        report.text(
            "Streets closed to cars (water deeper than 0.3 m): "
            + ", ".join(f"{int(v)} at {k.rsplit('_', 1)[-1].upper()}" for k, v in closed.items())
            + "."
        )
    return assessment


def _carbon(model: Any, report: Any, root: Path) -> None:
    from cimkit.analysis.carbon import (
        embodied_carbon,
        estimate_embodied,
        operational_carbon,
        re2020_check,
    )

    buildings = model.buildings
    ifc = buildings[buildings["source_kind"] == "ifc"]
    result = embodied_carbon(model["materials"], buildings=ifc)
    per_building = result.by_building()
    estimates = estimate_embodied(buildings[buildings["source_kind"] != "ifc"])
    total_col = "total_kgco2e"
    embodied = pd.Series(np.nan, index=buildings.index, name="embodied_kgco2e")
    embodied.loc[per_building.index.intersection(buildings.index)] = per_building[total_col]
    est_col = next(c for c in estimates.columns if c.endswith("kgco2e") and "per_m2" not in c)
    # footprint-only buildings: floor area as the estimate computed it (footprint x storeys)
    gfa = buildings["gfa_m2"].astype("float64").copy()
    if "gfa_m2" in estimates.columns:
        gfa.loc[estimates.index] = gfa.loc[estimates.index].fillna(estimates["gfa_m2"])
    embodied.loc[estimates.index] = estimates[est_col]
    index_meta = pd.read_csv(root / "buildings" / "index.csv")
    meta = index_meta.set_index("file")
    files = ifc["source"].map(lambda s: Path(str(s)).name)
    period = pd.Series("new_low_energy", index=buildings.index)
    operational = operational_carbon(buildings.assign(period=period, gfa_m2=gfa), period="new_low_energy")
    columns = pd.DataFrame(
        {
            "embodied_kgco2e": embodied,
            "embodied_estimated": ~buildings.index.isin(per_building.index),
            "embodied_kgco2e_per_m2": embodied / gfa,
            "operational_b6_kgco2e_50y": operational["b6_kgco2e"],
        },
        index=buildings.index,
    )
    verdicts = []
    for bid, fname in files.items():
        if fname not in meta.index:
            continue
        row = meta.loc[fname]
        ic_c = columns.loc[bid, "embodied_kgco2e_per_m2"]
        ic_e = columns.loc[bid, "operational_b6_kgco2e_50y"] / gfa.loc[bid]
        try:
            v = re2020_check(ic_c, ic_e, row["building_type"], int(row["permit_year"]))
        except Exception as err:  # a building type RE2020 does not cover (e.g. shops)
            logger.info("RE2020 not applicable to %s: %s", fname, err)
            continue
        verdicts.append(
            {
                "building_id": bid,
                "name": row["building_name"],
                "type": row["building_type"],
                "permit": str(int(row["permit_year"])),
                "Ic construction (kgCO2e/m²)": ic_c,
                "Ic construction max": v.ic_construction_max,
                "Ic énergie (kgCO2e/m²)": ic_e,
                "Ic énergie max": v.ic_energie_max,
                "verdict": {True: "passes", False: "fails", None: "not assessed"}[v.passes],
            }
        )
    model.join("buildings", columns, step="cimkit.analysis.carbon", study_period_years=50)
    report.section("Carbon footprint")
    report.text(
        f"Embodied carbon (EN 15978 modules A1-A3, from the IFC quantities and material emission factors) of the "
        f"{len(ifc)} IFC buildings: {per_building[total_col].sum() / 1000:,.0f} tCO2e. Operational carbon (B6, 50 "
        f"years, RE2020 conventional factors): {columns['operational_b6_kgco2e_50y'].sum() / 1000:,.0f} tCO2e."
    )
    report.note(
        f"The {len(estimates)} buildings known only by their footprint have no material quantities. For them cimkit "
        f"gives an UPPER BOUND, {estimates[est_col].sum() / 1000:,.0f} tCO2e in all: floor area x the RE2020 "
        "Ic_construction cap for their use (a full 50-year life-cycle limit). It is not comparable with the A1-A3 "
        "values computed from the IFC models and is kept in separate columns below."
    )
    unmatched = result.unmatched()
    if len(unmatched):
        listed = ", ".join(f"{name} ({vol:.1f} m³)" for name, vol in unmatched["volume_m3"].head(8).items())
        report.note(
            f"{len(unmatched)} material name(s) in the IFC files have no emission factor and are "
            f"reported, not counted: {listed}."
        )
    if verdicts:
        report.table(
            pd.DataFrame(verdicts).set_index("building_id"),
            "RE2020 Ic construction check (static A1-A3 only: a simplified reading, see docs/carbon.md)",
        )
    per_building = pd.DataFrame(
        {
            "name": buildings["name"].fillna("(cadastre footprint)"),
            "use": buildings["use"],
            "floor area (m²)": gfa,
            "embodied (tCO2e)": columns["embodied_kgco2e"] / 1000,
            "embodied (kgCO2e/m²)": columns["embodied_kgco2e_per_m2"],
            "operational, 50 years (tCO2e)": columns["operational_b6_kgco2e_50y"] / 1000,
            "how": np.where(
                columns["embodied_estimated"],
                "upper bound (floor area x RE2020 cap)",
                "IFC quantities, A1-A3",
            ),
        },
        index=buildings.index,
    ).sort_values("embodied (tCO2e)", ascending=False)
    report.table(
        per_building,
        "Carbon per building (–: no intensity published for that use, so no estimate is made)",
        floatfmt="{:,.1f}",
    )
    estimated = columns["embodied_estimated"]
    zone = pd.DataFrame(
        {
            "embodied from IFC, A1-A3 (tCO2e)": columns["embodied_kgco2e"].where(~estimated),
            "upper bound for footprint-only buildings (tCO2e)": columns["embodied_kgco2e"].where(estimated),
            "operational, 50 years (tCO2e)": columns["operational_b6_kgco2e_50y"],
        }
    )
    zone = zone.groupby(buildings["zone_id"]).sum(min_count=1) / 1000
    zone.index = zone.index.map(lambda z: model.zoning["libelle"].get(z, z))
    zone.index.name = "zone"
    report.table(
        zone,
        "Carbon per PLU zone",
        floatfmt="{:,.1f}",
    )


def _accessibility(model: Any, report: Any, flood: Any) -> None:
    from cimkit.analysis.accessibility import (
        accessibility_loss,
        fifteen_minute_score,
        nearest_facility_time,
    )

    buildings, pois, road = model.buildings, model.pois, model.network("road")
    cats = ["school", "supermarket", "doctor"]
    nearest = nearest_facility_time(road, buildings, pois, categories=cats)
    score = fifteen_minute_score(road, buildings, pois)
    rp = 100 if 100 in flood.networks else max(flood.networks)
    flooded_net = flood.networks[rp]
    nearest_f = nearest_facility_time(flooded_net, buildings, pois, categories=cats)
    score_f = fifteen_minute_score(flooded_net, buildings, pois)
    loss = accessibility_loss(nearest, nearest_f, kind="time")
    cols = pd.DataFrame(
        {
            "walk_school_min": nearest["school_min"],
            "walk_shop_min": nearest["supermarket_min"],
            "walk_health_min": nearest["doctor_min"],
            "score_15min": score["score"],
            f"score_15min_rp{rp}": score_f["score"],
            f"walk_school_min_rp{rp}": nearest_f["school_min"],
            f"cut_off_rp{rp}": loss["cut_off"],
        },
        index=buildings.index,
    )
    model.join("buildings", cols, step="cimkit.analysis.accessibility", mode="walk", walk_kmh=4.8)
    report.section("Access on foot: the 15-minute town")
    report.text(
        f"Walking at 4.8 km/h on the street network, the median home is {cols['walk_school_min'].median():.0f} min "
        f"from a school, {cols['walk_shop_min'].median():.0f} min from a supermarket and "
        f"{cols['walk_health_min'].median():.0f} min from a doctor. The 15-minute score is the share of six service "
        f"groups (education, health, food, shopping, leisure, transport) reachable within 15 minutes: town median "
        f"{cols['score_15min'].median():.2f}."
    )
    worse = (cols[f"score_15min_rp{rp}"] < cols["score_15min"]).sum()
    report.text(
        f"During the {rp}-year flood, streets under more than 0.2 m of water are closed to walkers: "
        f"{int(worse)} building(s) lose part of their 15-minute score and {int(cols[f'cut_off_rp{rp}'].sum())} "
        "lose access to a service they could reach before."
    )
    homes = buildings["use"].eq("residential")
    per_building = cols.loc[
        homes,
        [
            "walk_school_min",
            "walk_shop_min",
            "walk_health_min",
            "score_15min",
            f"score_15min_rp{rp}",
            f"walk_school_min_rp{rp}",
        ],
    ].copy()
    per_building.insert(0, "name", buildings.loc[per_building.index, "name"].fillna("(cadastre footprint)"))
    per_building = per_building.sort_values(["score_15min", "walk_school_min"])
    report.table(
        per_building.rename(
            columns={
                "walk_school_min": "school (min)",
                "walk_shop_min": "supermarket (min)",
                "walk_health_min": "doctor (min)",
                "score_15min": "15-min score",
                f"score_15min_rp{rp}": f"score, {rp}-year flood",
                f"walk_school_min_rp{rp}": f"school, {rp}-year flood (min)",
            }
        ),
        f"Every home: walking time to the nearest school, supermarket and doctor, and the 15-minute score, "
        f"today and during the {rp}-year flood (–: no longer reachable)",
        floatfmt="{:,.1f}",
    )
    by_zone = cols[
        ["walk_school_min", "walk_shop_min", "walk_health_min", "score_15min", f"score_15min_rp{rp}"]
    ]
    by_zone = by_zone.groupby(buildings["zone_id"]).median()
    by_zone.index = by_zone.index.map(lambda z: model.zoning["libelle"].get(z, z))
    by_zone.index.name = "zone"
    by_zone = by_zone.rename(
        columns={
            "walk_school_min": "school (min)",
            "walk_shop_min": "supermarket (min)",
            "walk_health_min": "doctor (min)",
            "score_15min": "15-min score",
            f"score_15min_rp{rp}": f"score, {rp}-year flood",
        }
    )
    report.table(by_zone, "Median walking times (min) and 15-minute scores by PLU zone", floatfmt="{:,.2f}")


def _overview(model: Any, report: Any) -> None:
    report.section("Where the numbers come from")
    prov = model.provenance[["reader", "source", "licence", "n_steps"]].copy()
    prov["source"] = prov["source"].map(lambda s: Path(str(s)).name if s is not None else "in memory")
    report.table(prov, "Layers of the model, their source file and the number of processing steps recorded")
    report.note(
        "The water network is part of the saved model but withheld from this public report: the layout "
        "of critical infrastructure is not published."
    )


def _maps(public: Any, report: Any, out: Path) -> None:
    import matplotlib.pyplot as plt

    from cimkit.viz.maps import plot_city

    report.section("Maps")
    ax = plot_city(
        public,
        column="ead_eur",
        title="Expected annual flood damage per building",
        legend_label="EUR per year",
        zero_as_none=True,
    )
    report.figure(
        ax.figure,
        alt="Map of the town: buildings near the river in the valley are coloured by their "
        "expected annual flood damage; others are grey.",
        caption="Expected annual flood damage (light grey: no damage).",
        path=out / "map_flood.png",
    )
    plt.close(ax.figure)
    ax = plot_city(
        public,
        column="score_15min",
        title="15-minute score on foot",
        cmap="viridis",
        legend_label="share of service groups within 15 min",
    )
    report.figure(
        ax.figure,
        alt="Map of the town: buildings coloured by the share of services reachable on "
        "foot within 15 minutes.",
        caption="15-minute score (1 = every service group within 15 minutes).",
        path=out / "map_15min.png",
    )
    plt.close(ax.figure)
