"""The report of any city model, built or saved: ``cimkit report MODEL``.

:func:`write_report` writes ``report.html`` and ``summary.md`` (and the maps) for a
:class:`~cimkit.model.CityModel` or a model saved by :meth:`~cimkit.model.CityModel.to_file`
(``city.gpkg`` from ``cimkit build`` or ``cimkit demo``). A saved model keeps the results of its
analyses as columns joined to the buildings (``plu_compliant``, ``ead_eur``,
``embodied_kgco2e``, ``score_15min`` ...), not the result objects: the report reads its numbers
from those columns, and says "not run" for an analysis whose columns are absent. It does not
re-run an analysis: the flood scenarios, the carbon period and the closed networks a result was
computed with are not part of a saved model, and a report must not show numbers computed with
other inputs than the ones the model's columns hold.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd

from cimkit.errors import InputError, ValidationError
from cimkit.viz._figures import get_access_figures, get_carbon_figures, read_flags
from cimkit.viz.report import Report

if TYPE_CHECKING:  # pragma: no cover
    from cimkit.model import CityModel

__all__ = ["ReportPaths", "write_report"]

#: The IFC attribute tables, left out of a public report (they describe building interiors).
_IFC_TABLES = ("elements", "materials", "spaces")


@dataclass(frozen=True)
class ReportPaths:
    """The files :func:`write_report` wrote.

    Attributes
    ----------
    html
        ``report.html``: the page, figures embedded.
    markdown
        ``summary.md``: the same text as Markdown.
    figures
        The maps (PNG), in the order they appear.

    Examples
    --------
    >>> paths = ReportPaths(Path("out/report.html"), Path("out/summary.md"))
    >>> paths.markdown.name, paths.figures
    ('summary.md', ())
    """

    html: Path
    markdown: Path
    figures: tuple[Path, ...] = ()


def write_report(
    source: CityModel | str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    audience: Literal["public", "staff", "internal"] = "public",
    allow: Mapping[str, str] | None = None,
    title: str | None = None,
) -> ReportPaths:
    """Write the plain-language report of a city model: ``report.html``, ``summary.md`` and maps.

    One section per analysis (PLU compliance, flood risk, carbon, access on foot), read from the
    columns the analyses joined to the buildings; an analysis whose columns are absent gets a
    section saying it was not run. Then the checks of ``model.quality()`` and the table of the
    sources (file, licence, sha256, date, steps of every layer, network and DEM).

    Parameters
    ----------
    source
        A :class:`~cimkit.model.CityModel`, or the path of a saved model (read with
        :func:`cimkit.read_model`).
    output
        The folder to write into (created if needed). Each file is written atomically.
    audience
        ``"public"`` (default): the report shows :func:`~cimkit.viz.public_model` of the model (the
        water, sewer and power networks and other parts above public are withheld, and the report
        says so; the IFC attribute tables are left out). ``"staff"`` (or ``"internal"``): every part,
        with a note that the report is not for publication.
    allow
        Layer or network name -> reason (non-empty text): keep this part in a public report; each
        allowance is written to the audit log.
    title
        The page title (default: the model's name).

    Returns
    -------
    ReportPaths
        The HTML page, the Markdown summary and the maps.

    Raises
    ------
    InputError
        RPT001: ``source`` is neither a CityModel nor an existing file.
    ValidationError
        RPT002: ``audience`` is not ``"public"`` or ``"staff"``.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from cimkit.datasets import load_sample_city
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    ...     paths = write_report(model, tempfile.mkdtemp(), title="Sample city")
    >>> paths.html.name, paths.markdown.name, paths.figures
    ('report.html', 'summary.md', ())
    >>> text = paths.markdown.read_text(encoding="utf-8")
    >>> "Flood risk: not run." in text, "Sensitive networks (water) are withheld" in text
    (True, True)
    """
    from cimkit.model import CityModel
    from cimkit.viz.city_report import build_city_report
    from cimkit.viz.public import public_model

    if audience not in ("public", "staff", "internal"):
        raise ValidationError(
            f"audience must be 'public' or 'staff'; {audience!r} was given.",
            code="RPT002",
            hint="use --audience public or --audience staff.",
        )
    model = source if isinstance(source, CityModel) else _read(source)
    title = title or f"{model.name}: what the city model says"
    if audience == "public":
        view = public_model(model, allow=allow, drop_layers=[n for n in _IFC_TABLES if n in model.layers])
        report = build_city_report(view, title=title, audience="public")
    else:
        view = model
        report = build_city_report(view, title=title, audience="internal")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    analyses = Report(report.title)
    figures = _analysis_sections(view, analyses, out)
    report.sections[:0] = analyses.sections
    html_path, md_path = report.write(out, stem="summary")
    html_path = html_path.replace(out / "report.html")
    return ReportPaths(html=html_path, markdown=md_path, figures=tuple(figures))


def _read(path: str | os.PathLike[str]) -> CityModel:
    from cimkit.model import read_model

    if not isinstance(path, (str, os.PathLike)) or not Path(path).is_file():
        raise InputError(
            f"no saved city model at {os.fspath(path) if isinstance(path, (str, os.PathLike)) else path!r}",
            code="RPT001",
            hint="give the path of a model saved by cimkit (city.gpkg, from cimkit build or cimkit demo).",
        )
    return read_model(path)


# ----------------------------------------------------------------------------- sections
def _analysis_sections(model: CityModel, report: Report, folder: Path) -> list[Path]:
    """Add the four analysis sections read from the buildings' columns; return the maps drawn."""
    empty = pd.DataFrame()
    buildings = model.buildings if model.buildings is not None else empty
    _zoning(report, buildings)
    _flood(report, buildings)
    _carbon(report, buildings)
    _access(report, buildings)
    return _maps(model, report, folder)


def _not_run(report: Report, what: str, columns: str) -> None:
    report.text(
        f"{what}: not run. The buildings of this model hold no {columns} column, so the report shows no "
        "number for it rather than guess one."
    )


def _zoning(report: Report, buildings: pd.DataFrame) -> None:
    report.section("Buildings, parcels and the local urban plan")
    if "plu_compliant" not in buildings:
        _not_run(report, "PLU compliance", "plu_compliant")
        return
    verdict = read_flags(buildings["plu_compliant"])
    unknown = pd.to_numeric(
        buildings.get("plu_n_unknown", pd.Series(0, index=buildings.index)), errors="coerce"
    )
    report.text(
        f"Of the {len(buildings)} buildings, {int(verdict.eq(True).sum())} pass every check of the local urban "
        f"plan (PLU) that could be made and {int(verdict.eq(False).sum())} fail at least one; "
        f"{int(unknown.gt(0).sum())} could not be checked on every rule (a missing height, use, parcel or rule)."
    )
    failing = buildings.loc[verdict.eq(False)]
    if len(failing) and "plu_failed_rules" in failing:
        table = pd.DataFrame({"rules broken": failing["plu_failed_rules"]})
        if "name" in failing:
            table.insert(0, "name", failing["name"])
        report.table(table, "Buildings that break a PLU rule")


def _find_return_periods(buildings: pd.DataFrame, *, with_damage: bool = False) -> list[str]:
    """Find the return periods of the flood results saved on the buildings.

    Parameters
    ----------
    buildings
        The buildings, with the ``depth_m_rpT`` columns of a flood analysis.
    with_damage
        Keep only the periods that also have their ``damage_eur_rpT`` column.

    Returns
    -------
    list of str
        The labels T as written in the column names, by increasing return period.

    Examples
    --------
    >>> frame = pd.DataFrame(columns=["depth_m_rp100", "depth_m_rp10", "damage_eur_rp10", "ead_eur"])
    >>> _find_return_periods(frame), _find_return_periods(frame, with_damage=True)
    (['10', '100'], ['10'])
    """
    found = []
    for column in buildings.columns:
        match = re.fullmatch(r"depth_m_rp([0-9.]+)", str(column))
        if match and (not with_damage or f"damage_eur_rp{match.group(1)}" in buildings):
            found.append((float(match.group(1)), match.group(1)))
    return [label for _, label in sorted(found)]


def _flood(report: Report, buildings: pd.DataFrame) -> None:
    report.section("Flood risk")
    if "ead_eur" not in buildings:
        _not_run(report, "Flood risk", "ead_eur")
        return
    rows = [
        {
            "return period (years)": label,
            "buildings flooded": int(pd.to_numeric(buildings[f"depth_m_rp{label}"]).gt(0).sum()),
            "damage (EUR)": float(pd.to_numeric(buildings[f"damage_eur_rp{label}"]).sum()),
        }
        for label in _find_return_periods(buildings, with_damage=True)
    ]
    if rows:
        report.table(pd.DataFrame(rows), "Flooded buildings and damage by return period")
    ead = float(pd.to_numeric(buildings["ead_eur"]).sum())
    report.text(
        f"Expected annual damage (EAD) for the whole town: {ead:,.0f} EUR per year, the damage of each flood "
        "weighted by how often it happens (the sum of the buildings' ead_eur)."
    )


def _carbon(report: Report, buildings: pd.DataFrame) -> None:
    report.section("Carbon footprint")
    figures = get_carbon_figures(buildings)
    if figures is None:
        _not_run(report, "Carbon footprint", "embodied_kgco2e")
        return
    text = (
        f"Embodied carbon (EN 15978) of the {figures.ifc_buildings} buildings modelled in IFC, from their "
        f"material quantities: {figures.ifc_t:,.0f} tCO2e."
    )
    if figures.operational_b6_t is not None:
        text += (
            " Operational carbon (B6, over the study period) of every building with a published energy "
            f"intensity: {figures.operational_b6_t:,.0f} tCO2e"
        )
        if figures.operational_t_year is not None:
            text += f" ({figures.operational_t_year:,.0f} tCO2e a year)"
        text += "."
    report.text(text)
    if figures.estimated_buildings:
        report.note(
            f"The {figures.estimated_buildings} buildings known only by their footprint have no material "
            f"quantities: their {figures.estimated_t:,.0f} tCO2e is an upper bound (floor area x the RE2020 "
            "cap for their use), kept apart from the IFC values."
        )
    if figures.unassessed_buildings:
        report.note(
            f"{figures.unassessed_buildings} building(s) have no carbon figure: neither IFC quantities nor "
            "the floor area and use an estimate needs."
        )


def _access(report: Report, buildings: pd.DataFrame) -> None:
    report.section("Access on foot: the 15-minute town")
    figures = get_access_figures(buildings)
    if figures is None:
        _not_run(report, "Access on foot", "score_15min")
        return
    who = (
        "homes (the buildings of residential use)"
        if figures.by_use
        else "buildings (the model has no 'use' column: every building counts as a home)"
    )
    report.text(
        f"The 15-minute score is the share of service groups reachable on foot within 15 minutes: mean "
        f"{figures.mean:.2f} over {figures.homes} {who}; {figures.full} reach every group."
    )
    if figures.flooded_mean is not None:
        report.text(
            f"With the streets flooded by the {figures.flood_period:g}-year flood closed, the mean is "
            f"{figures.flooded_mean:.2f}; {figures.losing} home(s) lose part of their score."
        )


def _maps(model: CityModel, report: Report, folder: Path) -> list[Path]:
    buildings = model.buildings
    wanted = [
        (
            "ead_eur",
            "cividis",
            "Expected annual flood damage per building",
            "EUR per year",
            True,
            "map_flood.png",
        ),
        (
            "score_15min",
            "viridis",
            "15-minute score on foot",
            "share of service groups",
            False,
            "map_15min.png",
        ),
    ]
    wanted = [w for w in wanted if buildings is not None and w[0] in buildings]
    if not wanted:
        return []
    # plot_city picks Agg only when no backend was chosen: a notebook keeps its inline figures
    import matplotlib.pyplot as plt

    from cimkit.viz.maps import plot_city

    report.section("Maps")
    paths = []
    for column, cmap, title, legend, zero_as_none, name in wanted:
        ax = plot_city(
            model, column=column, cmap=cmap, title=title, legend_label=legend, zero_as_none=zero_as_none
        )
        alt = getattr(ax.figure, "cimkit_alt_text", None) or (
            f"Map of the buildings coloured by {title.lower()} ({legend})."
        )
        report.figure(ax.figure, alt=alt, caption=title + ".", path=folder / name)
        plt.close(ax.figure)
        paths.append(folder / name)
    return paths
