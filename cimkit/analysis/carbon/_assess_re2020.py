"""RE2020 columns of :func:`~cimkit.analysis.carbon.assess`: building types, verdicts and reasons.

An IFC building is checked with :func:`~cimkit.analysis.carbon.check_re2020` when it has a permit
year and an RE2020 building type; its verdict is withheld (``"not assessable"``) when its model
is not ``complete`` (see :mod:`cimkit.analysis.carbon.completeness`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cimkit.analysis.carbon.completeness import ELEMENT_CLASSES, MIN_MATCHED_VOLUME_SHARE
from cimkit.analysis.carbon.re2020 import check_re2020
from cimkit.errors import ValidationError

VERDICTS = {True: "passes", False: "fails", None: "not assessed"}
NOT_ASSESSABLE = "not assessable"
RE2020_COLUMNS = (
    "re2020_building_type",
    "re2020_permit_year",
    "construction_kgco2e_m2",
    "construction_max_kgco2e_m2",
    "energy_kgco2e_m2",
    "energy_max_kgco2e_m2",
    "construction_passes",
    "energy_passes",
    "re2020_passes",
    "re2020_verdict",
    "re2020_reason",
)


def _per_building(value: object, buildings: pd.DataFrame, column: str) -> pd.Series:
    """Spread a scalar, mapping or Series on the buildings' index (else read the layer's column)."""
    if value is None:
        if column in buildings.columns:
            return pd.Series(buildings[column].to_numpy(), index=buildings.index, dtype=object)
        return pd.Series(None, index=buildings.index, dtype=object)
    if isinstance(value, (pd.Series, Mapping)):
        return pd.Series(value, dtype=object).reindex(buildings.index)
    return pd.Series([value] * len(buildings), index=buildings.index, dtype=object)


def _default_types(buildings: pd.DataFrame) -> pd.Series:
    """RE2020 type from use and storeys (individual house up to 2 storeys), None for other uses."""
    use = buildings["use"].astype(str) if "use" in buildings.columns else pd.Series("", index=buildings.index)
    storeys = (
        pd.to_numeric(buildings["storeys"], errors="coerce")
        if "storeys" in buildings.columns
        else pd.Series(np.nan, index=buildings.index)
    )
    housing = pd.Series(
        np.where(storeys.fillna(1) <= 2, "maison_individuelle", "logement_collectif"), index=buildings.index
    )
    types = pd.Series(None, index=buildings.index, dtype=object)
    types[use == "office"] = "bureaux"
    types[use == "residential"] = housing[use == "residential"]
    return types


def re2020_columns(
    buildings: pd.DataFrame,
    table: pd.DataFrame,
    ifc_ids: pd.Index,
    permit_year: object,
    building_type: object,
    heat_network: bool,
) -> pd.DataFrame:
    """Check every IFC building with a permit year and a covered building type against RE2020."""
    years = _per_building(permit_year, buildings, "permit_year")
    types = _per_building(building_type, buildings, "building_type")
    types = types.where(types.notna(), _default_types(buildings))
    area = table["gfa_m2"].where(table["gfa_m2"] > 0)
    construction = table["embodied_kgco2e_per_m2"]
    # Ic énergie is defined over 50 years, whatever the study period of the assessment
    energy = table["operational_kgco2e_year"] * 50.0 / area
    grades = (
        table["completeness"] if "completeness" in table.columns else pd.Series(np.nan, index=table.index)
    )
    columns = {c: np.full(len(buildings), None, dtype=object) for c in RE2020_COLUMNS}
    columns["re2020_verdict"][:] = "not applicable"
    is_ifc = buildings.index.isin(ifc_ids)
    columns["re2020_reason"][~is_ifc] = _not_applicable_reason(False, None, None)
    for at in np.flatnonzero(is_ifc):  # only the IFC buildings get a check: no loop over the others
        bid = buildings.index[at]
        record: dict[str, object] = dict.fromkeys(RE2020_COLUMNS)
        record["re2020_verdict"] = "not applicable"
        year, kind = years.iat[at], types.iat[at]
        record["re2020_reason"] = _not_applicable_reason(True, year, kind)
        if pd.notna(year) and kind is not None and pd.notna(kind):
            record["re2020_permit_year"] = int(year)
            try:
                verdict = check_re2020(
                    _number(construction[bid]),
                    _number(energy[bid]),
                    str(kind),
                    int(year),
                    heat_network=heat_network,
                )
            except ValidationError:  # a type without thresholds, or a permit before RE2020
                verdict = None
            if verdict is not None:
                record.update(
                    re2020_building_type=verdict.building_type,
                    construction_kgco2e_m2=verdict.construction_kgco2e_m2,
                    construction_max_kgco2e_m2=verdict.construction_max_kgco2e_m2,
                    energy_kgco2e_m2=verdict.energy_kgco2e_m2,
                    energy_max_kgco2e_m2=verdict.energy_max_kgco2e_m2,
                    construction_passes=verdict.construction_passes,
                    energy_passes=verdict.energy_passes,
                    re2020_passes=verdict.passes,
                    re2020_verdict=VERDICTS[verdict.passes],
                    re2020_reason="" if verdict.passes is not None else "; ".join(verdict.notes[2:]),
                )
                if grades[bid] != "complete":
                    # an incomplete model understates Ic construction: no verdict on it
                    reason = table.loc[bid, "completeness_reason"] if "completeness_reason" in table else ""
                    if verdict.construction_passes is False:
                        reason += "; its partial sum already exceeds the Ic construction maximum"
                    record.update(
                        construction_passes=None,
                        re2020_passes=None,
                        re2020_verdict=NOT_ASSESSABLE,
                        re2020_reason=f"IFC model {grades[bid]}: {reason}",
                    )
            else:
                record["re2020_reason"] = (
                    f"no RE2020 thresholds for type {kind!r} and permit year {int(year)}"
                )
        for column, value in record.items():
            columns[column][at] = value
    out = pd.DataFrame(columns, index=buildings.index, columns=list(RE2020_COLUMNS))
    out["re2020_permit_year"] = out["re2020_permit_year"].astype("Int64")
    out["re2020_reason"] = out["re2020_reason"].fillna("").astype(str)
    for col in ("construction_passes", "energy_passes", "re2020_passes"):
        out[col] = out[col].astype("boolean")
    for col in (
        "construction_kgco2e_m2",
        "construction_max_kgco2e_m2",
        "energy_kgco2e_m2",
        "energy_max_kgco2e_m2",
    ):
        out[col] = out[col].astype("float64")
    return out


def _not_applicable_reason(is_ifc: bool, year: object, kind: object) -> str:
    """Why a building gets no RE2020 check (empty when it is checked)."""
    if not is_ifc:
        return "no IFC quantities (the estimate is the RE2020 cap itself)"
    if pd.isna(year):
        return "no permit year"
    if kind is None or pd.isna(kind):
        return "no RE2020 building type for its use"
    return ""


def re2020_caveats(table: pd.DataFrame, expected: tuple[str, ...], min_share: float) -> list[str]:
    """Caveats on the RE2020 verdicts withheld, and on completeness thresholds set by the caller."""
    out = []
    withheld = table[table["re2020_verdict"] == NOT_ASSESSABLE]
    if len(withheld):
        named = "; ".join(f"{bid}: {reason}" for bid, reason in withheld["re2020_reason"].iloc[:5].items())
        named += "; ..." if len(withheld) > 5 else ""
        out.append(
            f"{len(withheld)} IFC building(s) are not assessable against RE2020 because their model "
            f"is not complete ({named}); pass expected_classes= or min_matched_volume_share= to "
            "judge them anyway."
        )
    if expected != ELEMENT_CLASSES or min_share != MIN_MATCHED_VOLUME_SHARE:
        left_out = [c for c in ELEMENT_CLASSES if c not in expected]
        out.append(
            "Completeness was judged with thresholds set by the caller: expected element classes "
            f"{', '.join(expected) or 'none'}"
            + (f" ({', '.join(left_out)} not required)" if left_out else "")
            + f", at least {min_share:.0%} of the volume matched."
        )
    return out


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
