"""``cimkit demo``: the main job on the sample city, in public calls only.

Builds the city model from ``sample_data/``, runs every analysis (PLU compliance, flood risk,
carbon, accessibility), joins the results to the buildings as columns with units, writes
``city.gpkg``, a plain-language ``summary.md`` and ``report.html`` (the public view: no water
network), the maps, and prints where everything is. A notebook does the same with the same
calls (see the user guide).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)

_INTRO = (
    "A small synthetic French town (Lambert-93, EPSG:2154) built from 11 IFC building models, the cadastre, "
    "the local urban plan (PLU), the street and water networks and a terrain model. Every number below was "
    "computed by cimkit from these files; the sources and steps are listed at the end."
)


def run_demo(
    output: str | os.PathLike[str] = "demo-output", *, sample_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Run the main job on the sample city and return the output folder.

    Parameters
    ----------
    output
        The folder to write ``city.gpkg``, ``summary.md``, ``report.html`` and the maps into.
    sample_dir
        Another copy of the sample city's files (default: the bundled one).

    Returns
    -------
    pathlib.Path
        The output folder.
    """
    import matplotlib

    matplotlib.use("Agg")

    from cimkit import governance
    from cimkit.analysis import accessibility, carbon, flood, zoning
    from cimkit.datasets import load_sample_city, load_sample_flood_scenarios
    from cimkit.viz import build_city_report, public_model

    started = time.perf_counter()
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    logger.info("building the city model")
    model = load_sample_city(folder=sample_dir)

    logger.info("zoning, flood, carbon and accessibility")
    rules = zoning.assess(model)
    risk = flood.assess(model, load_sample_flood_scenarios(folder=sample_dir), inflow=model["river"])
    footprint = carbon.assess(model, period="new_low_energy")
    access = accessibility.assess(model, closed_network=risk.networks[100.0])

    links = ["parcel_id", "parcel_share", "zone_id", "access_node", "access_distance_m", "water_pipe_id"]
    checks = rules.buildings.drop(columns=links).add_prefix("plu_")
    model.join("buildings", rules.buildings[links].join(checks), step="cimkit.analysis.zoning.assess")
    model.join("buildings", risk.buildings.drop(columns="footprint_m2"), step="cimkit.analysis.flood.assess")
    model.join("buildings", footprint.buildings.drop(columns="zone_id"), step="cimkit.analysis.carbon.assess")
    walk = access.buildings.drop(columns=["zone_id", "home"]).add_prefix("walk_")
    walk["score_15min"] = access.buildings["score"]
    if access.flooded is not None:
        walk["score_15min_rp100"] = access.flooded["score"]
    model.join("buildings", walk, step="cimkit.analysis.accessibility.assess")
    gpkg = model.to_file(out / "city.gpkg")

    public = public_model(model, drop_layers=("elements", "materials", "spaces"))
    report = build_city_report(
        public,
        zoning=rules,
        flood=risk,
        carbon=footprint,
        access=access,
        governance=governance.compute_governance(model),
        title="Sample city: what the city model says",
        intro=_INTRO,
        folder=out,
    )
    html_path, md_path = report.write(out, stem="summary")
    html_path = html_path.replace(out / "report.html")

    print(f"cimkit demo finished in {time.perf_counter() - started:.0f} s. Outputs in {out.resolve()}:")
    print(f"  {gpkg.name:<14} the whole city model (open in QGIS, or cimkit.read_model)")
    print(f"  {md_path.name:<14} the results in plain words")
    print(f"  {html_path.name:<14} the same as a web page, with maps (public view)")
    for png in sorted(out.glob("*.png")):
        print(f"  {png.name:<14} figure")
    return out
