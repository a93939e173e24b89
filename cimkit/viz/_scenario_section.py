"""The report section "What this rule change would do": a scenario comparison in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SECTION_TITLE = "What this rule change would do"


def _sentence(table: pd.DataFrame, base: str, name: str) -> str:
    rows = table.set_index("indicator")

    def diff(indicator: str) -> float:
        if indicator not in rows.index:
            return float("nan")
        return float(rows.loc[indicator, name]) - float(rows.loc[indicator, base])

    parts = [
        f"Compared with '{base}', '{name}' would allow about {diff('added dwellings'):+,.0f} dwellings "
        f"({diff('added floor area'):+,.0f} m² of floor area, {diff('added jobs'):+,.0f} jobs)"
    ]
    carbon = diff("embodied carbon")
    if not np.isnan(carbon):
        parts.append(
            f"building them would emit about {carbon:+,.0f} tCO2e, and running them "
            f"{diff('operational carbon'):+,.1f} tCO2e a year"
        )
    flooded = [i for i in rows.index if i.startswith("new dwellings with depth > 0 (")]
    if flooded:
        worst = flooded[-1]
        value = diff(worst)
        if not np.isnan(value):
            parts.append(
                f"{value:+,.0f} new dwellings would stand on land that floods {worst.split('(')[1][:-1]}"
            )
    return "; ".join(parts) + "."


def add_scenario_section(report: Any, model: Any, comparison: Any, folder: Path | None) -> None:
    """Add the comparison of scenarios to ``report`` (and its maps to ``folder`` when given)."""
    table = comparison.table
    results = comparison.results
    report.section(SECTION_TITLE)
    names = [c for c in table.columns if c not in ("indicator", "unit", "note")]
    if len(names) < 1:
        report.text("No scenario was evaluated.")
        return
    base = names[0]
    for name in names[1:]:
        report.text(_sentence(table, base, name))
    shown = table.copy()
    shown["note"] = shown["note"].str.slice(0, 120)
    report.table(
        shown.set_index("indicator"), "The scenarios side by side (n/a: the data is missing, see note)"
    )
    caveats = list(dict.fromkeys(c for r in results for c in r.caveats))
    if caveats:
        report.text("What these numbers cannot know: " + " ".join(caveats[:8]))
    if folder is None or len(results) < 2:
        return
    import matplotlib.pyplot as plt

    from cimkit.viz.scenario import SCENARIO_MAPS, plot_scenario

    folder.mkdir(parents=True, exist_ok=True)
    last = results[-1]
    for kind in ("capacity", "flood", "access"):
        impact = last.impacts.get(kind)
        if kind != "capacity" and (impact is None or not impact.available):
            continue
        ax = plot_scenario(last, model, kind=kind)  # type: ignore[arg-type]
        heading, _, _, alt = SCENARIO_MAPS[kind]
        report.figure(ax.figure, alt=alt, caption=heading + ".", path=folder / f"map_scenario_{kind}.png")
        plt.close(ax.figure)
