"""The plain-language report of a city model and its analyses, for any model a user built.

:func:`build_city_report` turns a :class:`~cimkit.model.CityModel` and the results of the
``assess`` functions (zoning, flood, carbon, accessibility) into a :class:`~cimkit.viz.Report`:
numbers with their units, the caveats of each analysis in words, and where every layer came
from. Every section is optional: pass only the results you have.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cimkit import _sensitivity as sens
from cimkit.audit import check_publication
from cimkit.errors import ValidationError
from cimkit.viz.report import Report

if TYPE_CHECKING:  # pragma: no cover
    from cimkit.model import CityModel

__all__ = ["build_city_report"]


def build_city_report(
    model: CityModel,
    *,
    zoning: Any = None,
    flood: Any = None,
    carbon: Any = None,
    access: Any = None,
    governance: Any = None,
    scenarios: Any = None,
    title: str | None = None,
    intro: str = "",
    folder: str | os.PathLike[str] | None = None,
    audience: Literal["public", "internal"] = "public",
    allow: Mapping[str, str] | None = None,
) -> Report:
    """Build the plain-language report of a city model and the results of its analyses.

    Parameters
    ----------
    model
        The city model the results were computed on. For a public report (the default) every
        layer and network must be public: pass :func:`~cimkit.viz.public_model` of it, or allow
        the others with ``allow``.
    zoning, flood, carbon, access
        Results of :func:`cimkit.analysis.zoning.assess`, :func:`cimkit.analysis.flood.assess`,
        :func:`cimkit.analysis.carbon.assess` and :func:`cimkit.analysis.accessibility.assess`;
        each one given adds its section (None leaves it out). The section "Checks on the data"
        (the rows of ``model.quality()`` that are not ``ok``) and the sources are always there.
    governance
        The result of :func:`cimkit.governance.compute_governance`: adds the section "Data
        governance and risks" (the score, what would raise it, the risk register). Rows about
        layers not in ``model`` (withheld from a public view) are counted, not shown.
    scenarios
        A :class:`~cimkit.analysis.scenario.Comparison` (from
        :func:`cimkit.analysis.scenario.compare`): adds the section "What this rule change would
        do" (the comparison table, a sentence per scenario and, with ``folder``, its maps).
    title
        The page title (default: the model's name).
    intro
        A paragraph under the title.
    folder
        Where to save the maps (PNG) drawn for the report; None draws no map.
    audience
        ``"public"`` (default): a model holding a layer above public (the water network, the
        owners of the cadastre, see :mod:`cimkit._sensitivity`) raises
        :class:`~cimkit.errors.PublicationError` (PUB001) unless ``allow`` names it; each
        allowance is written to the audit log (:mod:`cimkit.audit`). ``"internal"``: no check;
        the introduction says the report is not for publication and which layers make it so.
    allow
        Layer or network name -> reason (non-empty text) to publish a part above public.

    Returns
    -------
    Report
        Write it with ``report.write(folder)`` (HTML and Markdown).

    Raises
    ------
    PublicationError
        PUB001: a public report of a model holding a layer above public, not allowed.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis import zoning
    >>> from cimkit.datasets import load_sample_city
    >>> from cimkit.viz import build_city_report
    >>> from cimkit.viz import public_model
    >>> model = load_sample_city(with_ifc=False)
    >>> report = build_city_report(public_model(model), zoning=zoning.assess(model))
    >>> [section.title for section in report.sections]
    ['Buildings, parcels and the local urban plan', 'Checks on the data', 'Where the numbers come from']
    >>> build_city_report(model).sections[0].title  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cimkit.errors.PublicationError: layer 'network_water': report is a public output; ...
    >>> build_city_report(model, audience="internal").intro[:38]
    'Internal report, not for publication: '
    """
    if audience == "public":
        check_publication(model, output="report", allow=allow)
    elif audience == "internal":
        closed = [f"{name} ({level})" for name, level in sens.iter_above_public(sens.get_model_levels(model))]
        if closed:
            note = f"Internal report, not for publication: it describes {', '.join(closed)}."
            intro = f"{note} {intro}".strip()
    else:
        raise ValidationError(f"'audience' must be 'public' or 'internal'; {audience!r} was given.")
    report = Report(title or f"{model.name}: what the city model says", intro=intro)
    if zoning is not None:
        _zoning_section(model, report, zoning, public=audience == "public")
    if flood is not None:
        _flood_section(model, report, flood)
    if carbon is not None:
        _carbon_section(model, report, carbon)
    if access is not None:
        _access_section(model, report, access)
    if governance is not None:
        _governance_section(model, report, governance)
    if scenarios is not None:
        from cimkit.viz._scenario_section import add_scenario_section

        add_scenario_section(report, model, scenarios, Path(folder) if folder is not None else None)
    _quality_section(model, report)
    _sources_section(model, report)
    if folder is not None:
        _maps_section(model, report, Path(folder), flood=flood, access=access)
    return report


# ----------------------------------------------------------------------------- helpers
def _names(model: CityModel, index: pd.Index) -> pd.Series:
    buildings = model.buildings
    if buildings is None or "name" not in buildings:
        return pd.Series("", index=index)
    return buildings["name"].reindex(index).fillna("(cadastre footprint)")


def _zone_labels(model: CityModel, frame: pd.DataFrame) -> pd.DataFrame:
    zones = model.zones
    out = frame.copy()
    if zones is not None and "libelle" in zones:
        out.index = out.index.map(lambda z: zones["libelle"].get(z, z))
    out.index.name = "zone"
    return out


def _caveats(report: Report, result: Any) -> None:
    for sentence in getattr(result, "caveats", ()):
        report.note(sentence)


# ----------------------------------------------------------------------------- sections
def _zoning_section(model: CityModel, report: Report, result: Any, *, public: bool = True) -> None:
    city, buildings = result.city, result.buildings
    report.section("Buildings, parcels and the local urban plan")
    n_parcels = len(model.parcels) if model.parcels is not None else 0
    n_zones = len(model.zones) if model.zones is not None else 0
    layer = model["buildings"]
    from_ifc = int(layer["source_kind"].eq("ifc").sum()) if "source_kind" in layer else 0
    report.text(
        f"The model holds {len(layer)} buildings ({from_ifc} from IFC models, the others from the "
        f"cadastre's footprints), {n_parcels} parcels and {n_zones} PLU zones. Each building was checked "
        "against the rules of the zone of every parcel it stands on."
    )
    verdict = buildings["compliant"]
    report.text(
        f"{int(city['compliant_buildings'])} buildings pass every check that could be made and "
        f"{int(city['non_compliant_buildings'])} fail at least one; {int(city['not_fully_checked_buildings'])} "
        "could not be checked on every rule (a missing height, use, parcel or rule)."
    )
    failing = buildings.loc[verdict.eq(False)]
    if len(failing):
        table = pd.DataFrame({"name": _names(model, failing.index), "rules broken": failing["failed_rules"]})
        if "libelle" in failing:
            table.insert(1, "zone", failing["libelle"])
        report.table(table, "Buildings that break a PLU rule")
    manual = (
        buildings.loc[buildings["check_manually"]] if "check_manually" in buildings else buildings.iloc[:0]
    )
    if len(manual):
        report.text(
            f"{len(manual)} buildings stand on several parcels that cannot be judged as one plot (zones with "
            "different rules, different owners or parcels apart): their compliance must be checked manually."
        )
        table = pd.DataFrame(
            {
                "name": _names(model, manual.index),
                "parcels": manual["parcels"],
                "reason": manual["zoning_note"],
            }
        )
        report.table(table, "Buildings to check manually")
    if "additional_gfa_m2" in city:
        report.text(
            f"Under the current rules the parcels could take about {city['additional_gfa_m2']:,.0f} m² of "
            f"floor area more than the buildings standing now (an upper estimate, see below)."
        )
    _caveats(report, result)


def _flood_section(model: CityModel, report: Report, result: Any) -> None:
    city, table = result.city, result.buildings
    periods = sorted(result.depths)
    report.section("Flood risk")
    rows = []
    for rp in periods:
        label = f"rp{rp:g}"
        rows.append(
            {
                "return period (years)": f"{rp:g}",
                "buildings flooded": int(city.get(f"flooded_buildings_{label}", 0)),
                "damage (EUR)": float(city.get(f"damage_eur_{label}", 0.0)),
                "streets closed to cars (km)": float(city.get(f"closed_car_road_km_{label}", 0.0)),
            }
        )
    report.table(pd.DataFrame(rows), "Flooded buildings, damage and closed streets by return period")
    report.text(
        f"Expected annual damage (EAD) for the whole town: {float(city['ead_eur']):,.0f} EUR per year, the "
        "damage of each flood weighted by how often it happens."
    )
    top = table.loc[table["ead_eur"] > 0].nlargest(10, "ead_eur")
    if len(top):
        cols = [c for c in top.columns if c.startswith("depth_m_") or c == "ead_eur"]
        named = top[cols].copy()
        named.insert(0, "name", _names(model, named.index))
        report.table(
            named, "The buildings with the highest expected annual damage (EUR per year; depths in m)"
        )
    if not result.zones.empty:
        zones = result.zones[["buildings", *[f"flooded_buildings_rp{rp:g}" for rp in periods], "ead_eur"]]
        report.table(_zone_labels(model, zones), "Flood risk by PLU zone", floatfmt="{:,.0f}")
    _caveats(report, result)


def _carbon_section(model: CityModel, report: Report, result: Any) -> None:
    city, table = result.city, result.buildings
    report.section("Carbon footprint")
    report.text(
        f"Embodied carbon (EN 15978) of the {int(city['ifc_buildings'])} buildings modelled in IFC, from "
        f"their material quantities: {city['embodied_ifc_kgco2e'] / 1000:,.0f} tCO2e. Operational carbon "
        f"(B6, {result.study_period_years:g} years) of every building with a published energy intensity: "
        f"{city['operational_b6_kgco2e'] / 1000:,.0f} tCO2e."
    )
    if int(city.get("estimated_buildings", 0)):
        report.note(
            f"The {int(city['estimated_buildings'])} buildings known only by their footprint have no material "
            f"quantities: their {city['embodied_estimate_kgco2e'] / 1000:,.0f} tCO2e is an upper bound (floor "
            "area x the RE2020 cap for their use), kept apart from the IFC values."
        )
    if int(city.get("ifc_buildings", 0)) and "completeness" in table.columns:
        grades = table.loc[~table["embodied_estimated"].astype(bool), "completeness"].value_counts()
        report.note(
            "Completeness of the IFC models (by default walls, floors, roof, load-bearing structure, foundations, "
            f"and at least 90 % of the material volume matched to a factor; see the caveats): {int(grades.get('complete', 0))} complete, "
            f"{int(grades.get('partial', 0))} partial, {int(grades.get('shell', 0))} shell; "
            f"{city.get('matched_volume_share', float('nan')):.0%} of their material volume has a factor. "
            "The embodied carbon of a partial or shell model is a lower bound, and it gets no RE2020 verdict."
        )
    verdicts = table.loc[table["re2020_verdict"].isin(["passes", "fails", "not assessable"])]
    if len(verdicts):
        report.table(
            pd.DataFrame(
                {
                    "name": _names(model, verdicts.index),
                    "type": verdicts["re2020_building_type"],
                    "permit": verdicts["re2020_permit_year"].map(lambda y: f"{y:.0f}"),
                    "Ic construction (kgCO2e/m²)": verdicts["construction_kgco2e_m2"],
                    "limit": verdicts["construction_max_kgco2e_m2"],
                    "Ic énergie (kgCO2e/m²)": verdicts["energy_kgco2e_m2"],
                    "limit ": verdicts["energy_max_kgco2e_m2"],
                    "verdict": verdicts["re2020_verdict"],
                    "why": verdicts.get("re2020_reason", pd.Series("", index=verdicts.index)),
                }
            ),
            "RE2020 check of the IFC buildings (static reading, see the carbon documentation)",
        )
    per_building = pd.DataFrame(
        {
            "name": _names(model, table.index),
            "floor area (m²)": table["gfa_m2"],
            "embodied (tCO2e)": table["embodied_kgco2e"] / 1000,
            "embodied (kgCO2e/m²)": table["embodied_kgco2e_per_m2"],
            f"operational, {result.study_period_years:g} years (tCO2e)": table["operational_b6_kgco2e"]
            / 1000,
            "how": np.where(
                table["embodied_estimated"], "upper bound (floor area x RE2020 cap)", "IFC quantities"
            ),
            "completeness": [
                f"{grade} ({share:.0%} matched)" if isinstance(grade, str) and pd.notna(share) else grade
                for grade, share in zip(
                    table.get("completeness", pd.Series(None, index=table.index, dtype=object)),
                    table.get("matched_volume_share", pd.Series(np.nan, index=table.index)),
                )
            ],
            "IFC / estimate": table.get("ifc_to_estimate_ratio", pd.Series(np.nan, index=table.index)).map(
                lambda r: f"{r:.0%}" if pd.notna(r) else None
            ),
        }
    ).sort_values("embodied (tCO2e)", ascending=False)
    report.table(
        per_building,
        "Carbon per building (–: no published intensity for that use; completeness and IFC / estimate — the "
        "IFC sum per m² over the footprint estimate per m² — for IFC buildings)",
    )
    if not result.zones.empty:
        zones = (
            result.zones[["embodied_ifc_kgco2e", "embodied_estimate_kgco2e", "operational_b6_kgco2e"]] / 1000
        )
        zones.columns = [
            "embodied from IFC (tCO2e)",
            "upper bound, footprints (tCO2e)",
            "operational (tCO2e)",
        ]
        report.table(_zone_labels(model, zones), "Carbon per PLU zone")
    _caveats(report, result)


_EVERYDAY = ("school", "supermarket", "doctor", "pharmacy", "bus_stop", "bakery")


def _access_section(model: CityModel, report: Report, result: Any) -> None:
    city, table = result.city, result.buildings
    report.section("Access on foot: the 15-minute town")
    medians = {c.removesuffix("_min_median"): city[c] for c in city.index if c.endswith("_min_median")}
    # everyday services first, then the others in the result's order
    first = [k for k in _EVERYDAY if k in medians]
    medians = {k: medians[k] for k in [*first, *[k for k in medians if k not in first]]}
    listed = ", ".join(
        f"{v:.0f} min from a {k.replace('_', ' ')}"
        if np.isfinite(v)
        else f"out of reach of a {k.replace('_', ' ')}"
        for k, v in list(medians.items())[:6]
    )
    report.text(
        f"Walking on the street network, the median home is {listed}. The 15-minute score is the share of "
        f"service groups reachable within 15 minutes: mean {city['score_mean']:.2f} over "
        f"{int(city['homes'])} homes."
    )
    if result.flooded is not None:
        report.text(
            f"On the network with flooded streets closed, {int(city.get('homes_losing_score', 0))} home(s) lose "
            f"part of their 15-minute score and {int(city.get('homes_cut_off', 0))} lose access to a service "
            "they could reach before."
        )
    homes = table.loc[table["home"]]
    minutes = [f"{k}_min" for k in list(medians)[:6] if f"{k}_min" in homes.columns]
    per_home = homes[[*minutes, "score"]].copy()
    if result.flooded is not None:
        per_home["score, flooded"] = result.flooded["score"].reindex(per_home.index)
    per_home.insert(0, "name", _names(model, per_home.index))
    per_home.columns = [c.replace("_min", " (min)").replace("_", " ") for c in per_home.columns]
    report.table(per_home.sort_values("score"), "Every home: walking time to the nearest services (min)")
    if not result.zones.empty:
        cols = [c for c in result.zones.columns if c.endswith("_median") or c.startswith("homes")]
        report.table(_zone_labels(model, result.zones[cols]), "Medians by PLU zone", floatfmt="{:,.2f}")
    _caveats(report, result)


def _governance_section(model: CityModel, report: Report, result: Any) -> None:
    from cimkit.governance import CRITERIA

    shown = {*model.layers, *(f"network_{k}" for k in model.networks), "city_model"}
    shown |= {"dem"} if model.dem is not None else set()
    report.section("Data governance and risks")
    report.text(
        f"Data-governance score: {result.score:g} / 100: the mean, over the layers, networks and terrain "
        "model, of the shares that have a licence, a sha256 of their sources, no error in the checks, a "
        "sensitivity level set, a documented CRS and an owner (ISO/IEC 27005 and ISO 31000 vocabulary)."
    )
    asks = [CRITERIA[c][0] for c in result.shares.index]
    shares = pd.DataFrame({"asks": asks, "share (%)": result.shares * 100})
    report.table(shares, "Layers meeting each criterion")
    actions = result.actions.copy()
    actions["missing"] = actions["missing"].map(lambda t: ", ".join(n for n in t.split(", ") if n in shown))
    actions = actions.loc[actions["missing"] != ""]
    if len(actions):
        report.table(actions[["missing", "fix", "points"]], "What would raise the score (points gained)")
    register = result.register
    kept = register.loc[register["asset"].isin(shown)]
    columns = [
        "asset",
        "threat",
        "existing_control",
        "likelihood",
        "impact",
        "risk_level",
        "risk_band",
        "treatment",
    ]
    report.table(
        kept[[*columns, "action"]],
        "Risk register: risk level = likelihood (1-4) x impact (1-4); low 1-3, medium 4-6, high 8-9, critical 12-16",
    )
    if len(kept) < len(register):
        report.note(f"{len(register) - len(kept)} further risks concern layers withheld from this report.")
    _caveats(report, result)


def _quality_section(model: CityModel, report: Report) -> None:
    table = model.quality()
    counts = table["status"].value_counts()
    report.section("Checks on the data")
    report.text(
        f"cimkit ran {len(table)} checks on the layers of the model (placement, geometries, identities, "
        f"plausible heights and areas, the terrain, the networks and where each layer comes from): "
        f"{int(counts.get('ok', 0))} found nothing, {int(counts.get('warning', 0))} give a warning, "
        f"{int(counts.get('error', 0))} an error and {int(counts.get('not_checked', 0))} could not be made."
    )
    flagged = table.loc[table["status"].isin(["error", "warning", "not_checked"])]
    if len(flagged):
        order = {"error": 0, "warning": 1, "not_checked": 2}
        flagged = flagged.iloc[flagged["status"].map(order).argsort(kind="stable")]
        shown = flagged[["layer", "check", "status", "message"]].copy()
        shown["check"] = shown["check"].str.replace("_", " ")
        shown["status"] = shown["status"].str.replace("_", " ")
        report.table(
            shown.set_index("layer"), "What the checks found (errors first; every check: model.quality())"
        )
    report.note(
        "These checks find what can be measured in the data. They cannot tell whether a rules table matches the "
        "text of the regulation, how high a ground floor really is, or what a building really consumes."
    )


def _sources_section(model: CityModel, report: Report) -> None:
    report.section("Where the numbers come from")
    rows = []
    for name in model.provenance.index:
        record = model.provenance_record(name)
        first = record.source_files[0] if record.source_files else None
        actions = pd.Series([s.action for s in record.steps], dtype=object).value_counts(sort=False)
        steps = ", ".join(a if n == 1 else f"{a} x{n}" for a, n in actions.items())
        rows.append(
            {
                "layer": name,
                "file": Path(first.path).name if first else "in memory",
                "licence": record.licence,
                "sha256": (first.sha256 or "") if first else "",
                "date": str(record.created)[:10] if record.created else "",
                "steps": f"{len(record.steps)}: {steps}" if steps else "0",
            }
        )
    columns = ["layer", "file", "licence", "sha256", "date", "steps"]
    table = pd.DataFrame(rows, columns=columns).set_index("layer")
    caption = "Layers of the model: source file, licence, sha256 fingerprint, date read and steps recorded"
    report.table(table, caption)
    withheld: list[str] = []
    for name in table.index:
        for step in model.provenance_record(name).steps:
            if step.action == "public_filter":
                withheld = list(step.params.get("withheld", withheld))
    networks = [p.removeprefix("network_") for p in withheld if p.startswith("network_")]
    if networks:
        report.note(
            "Sensitive networks ("
            + ", ".join(networks)
            + ") are withheld from this public report: the layout "
            "of critical infrastructure is not published."
        )
    others = [p for p in withheld if not p.startswith("network_")]
    if others:
        report.note("Also left out of this public report: " + ", ".join(others) + ".")


def _maps_section(model: CityModel, report: Report, folder: Path, *, flood: Any, access: Any) -> None:
    import matplotlib.pyplot as plt

    from cimkit.viz.maps import plot_city

    folder.mkdir(parents=True, exist_ok=True)
    report.section("Maps")
    view = model.copy()  # the mapped values join a copy: the caller's model is not changed
    if flood is not None:
        view.join("buildings", flood.buildings[["ead_eur"]], step="cimkit.analysis.flood.assess")
    if access is not None:
        score = access.buildings["score"].rename("score_15min")
        view.join("buildings", score, step="cimkit.analysis.accessibility.assess")
    figures = []
    if flood is not None:
        figures.append(
            (
                "ead_eur",
                "cividis",
                "Expected annual flood damage per building",
                "EUR per year",
                True,
                "Buildings coloured by their expected annual flood damage; grey: no damage.",
                "map_flood.png",
            )
        )
    if access is not None:
        figures.append(
            (
                "score_15min",
                "viridis",
                "15-minute score on foot",
                "share of service groups within 15 min",
                False,
                "Buildings coloured by the share of services reachable on foot within 15 minutes.",
                "map_15min.png",
            )
        )
    for column, cmap, title, legend, zero_as_none, alt, name in figures:
        ax = plot_city(
            view, column=column, cmap=cmap, title=title, legend_label=legend, zero_as_none=zero_as_none
        )
        report.figure(ax.figure, alt=alt, caption=title + ".", path=folder / name)
        plt.close(ax.figure)
