"""Operational carbon (EN 15978 module B6): floor area x energy use intensity x carrier factor.

For each building::

    annual_kwh[carrier]   = gfa_m2 x EUI[use, period, carrier]          (kWh/yr)
    annual_kgco2e         = Σ_carrier annual_kwh[carrier] x factor[carrier]
    b6_kgco2e             = annual_kgco2e x study_period_years

Energy use intensities come from ``cimkit/data/energy_use_intensity.csv`` (CIBSE TM46:2008
typical benchmarks for existing non-domestic buildings, LETI 2020 targets for new low-energy
buildings), by use and period, split into carriers (``electricity``, ``fossil_thermal``). The
table has no value for existing residential buildings: pass your own ``eui`` for them
(e.g. from the dwelling's DPE), otherwise their B6 is NaN and a warning names them.

Carrier factors default to the RE2020 conventional factors (arrêté du 4 août 2021):
electricity 0.079 kgCO2e/kWh (the factor for electric heating, applied here to all
electricity), natural gas 0.227, firewood 0.03. The table's ``fossil_thermal`` carrier is
treated as natural gas unless ``carriers`` says otherwise.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from cimkit.data.carbon import load_energy_use_intensity, validate_energy_use_intensity
from cimkit.errors import InputError, ValidationError

__all__ = ["RE2020_CARRIER_FACTORS", "compute_operational_carbon"]

logger = logging.getLogger(__name__)

#: RE2020 conventional carbon factors, kgCO2e per kWh of final energy (arrêté du 4 août 2021)
RE2020_CARRIER_FACTORS: dict[str, float] = {"electricity": 0.079, "gas": 0.227, "wood": 0.03}

_DEFAULT_CARRIERS = {"electricity": "electricity", "fossil_thermal": "gas"}


def compute_operational_carbon(
    buildings: pd.DataFrame,
    *,
    study_period_years: float = 50,
    eui: pd.DataFrame | Mapping[str, Mapping[str, float]] | None = None,
    carriers: Mapping[str, str] | None = None,
    factors: Mapping[str, float] | None = None,
    period: str = "existing",
) -> pd.DataFrame:
    """Compute the operational carbon (B6) of each building over the study period.

    Parameters
    ----------
    buildings
        Building table with ``gfa_m2`` (m²) and ``use`` (residential, office, education,
        retail, industrial, health, mixed, other); a ``period`` column, when present, overrides
        the ``period`` argument per building.
    study_period_years
        Years of operation counted (RE2020: 50).
    eui
        Energy use intensities, kWh/m²/yr: a table with ``use, period, carrier,
        kwh_per_m2_year`` (rows given here replace the bundled rows of the same use and
        period), or ``{use: {carrier: kWh/m²/yr}}`` applied to every period.
    carriers
        ``{table carrier: emission carrier}``, e.g. ``{"fossil_thermal": "wood"}``; by default
        electricity → ``"electricity"``, fossil_thermal → ``"gas"``.
    factors
        ``{emission carrier: kgCO2e/kWh}`` overriding :data:`RE2020_CARRIER_FACTORS`.
    period
        Row of the intensity table: ``"existing"`` (benchmarks of the building stock) or
        ``"new_low_energy"`` (design targets).

    Returns
    -------
    pandas.DataFrame
        On the input's index: ``gfa_m2``, ``use``, ``period``, ``kwh_per_m2_year`` (all
        carriers), one ``kwh_<carrier>_year`` column per emission carrier, ``annual_kgco2e``,
        ``b6_kgco2e`` (over the study period), ``b6_kgco2e_per_m2`` and ``source``. Buildings
        with no intensity get NaN (with a warning).

    Raises
    ------
    cimkit.errors.InputError
        When ``gfa_m2`` or ``use`` is missing, or a floor area is negative.
    cimkit.errors.ValidationError
        When a carrier has no factor, or the study period is not positive.

    Examples
    --------
    >>> import pandas as pd
    >>> from cimkit.analysis.carbon import compute_operational_carbon
    >>> b = pd.DataFrame({"gfa_m2": [100.0], "use": ["office"]}, index=["b1"])
    >>> out = compute_operational_carbon(b, study_period_years=1)  # 100 x (95 x 0.079 + 120 x 0.227)
    >>> round(float(out.loc["b1", "annual_kgco2e"]), 6), round(float(out.loc["b1", "kwh_gas_year"]))
    (3474.5, 12000)
    """
    gfa = _check_buildings(buildings, study_period_years)
    table = _intensity_table(eui, period)
    carrier_map = {**_DEFAULT_CARRIERS, **dict(carriers or {})}
    factor_map = {**RE2020_CARRIER_FACTORS, **{k: float(v) for k, v in (factors or {}).items()}}
    table = table.assign(emission_carrier=table["carrier"].map(lambda c: carrier_map.get(c, c)))
    unknown = sorted(set(table["emission_carrier"]) - set(factor_map))
    if unknown:
        raise ValidationError(
            f"no carbon factor for carrier(s) {', '.join(unknown)}",
            hint=f"pass factors={{...}}; known carriers: {', '.join(sorted(factor_map))}",
        )
    table["kgco2e_per_m2_year"] = table["kwh_per_m2_year"] * table["emission_carrier"].map(factor_map)
    use = buildings["use"].astype(str)
    per = (
        buildings["period"].astype(str)
        if "period" in buildings.columns
        else pd.Series(period, index=buildings.index)
    )
    out = _per_building(table, gfa, use, per, float(study_period_years))
    no_eui = out["kwh_per_m2_year"].isna()
    if no_eui.any():
        combos = sorted({f"{u}/{p}" for u, p in zip(use[no_eui], per[no_eui])})
        warnings.warn(
            f"{int(no_eui.sum())} building(s) have no energy use intensity for use/period "
            f"{', '.join(combos)}; their B6 is NaN. Pass eui={{use: {{carrier: kWh/m²/yr}}}}",
            stacklevel=2,
        )
    return out


def _check_buildings(buildings: pd.DataFrame, study_period_years: float) -> pd.Series:
    """Check the study period and the building table; return the floor areas (m²)."""
    if not (isinstance(study_period_years, (int, float)) and study_period_years > 0):
        raise ValidationError(
            f"'study_period_years' must be a positive number; {study_period_years!r} was given"
        )
    missing = [c for c in ("gfa_m2", "use") if c not in buildings.columns]
    if missing:
        raise InputError(
            f"the building table lacks {', '.join(missing)}",
            layer="buildings",
            hint="give gfa_m2 (m²) and use (residential, office, ...) for every building",
        )
    gfa = pd.to_numeric(buildings["gfa_m2"], errors="coerce")
    if (gfa < 0).any():
        raise InputError(
            "a building has a negative gfa_m2",
            layer="buildings",
            entity=gfa.index[gfa < 0][0],
            hint="floor areas are >= 0 m²",
        )
    return gfa


def _intensity_table(
    eui: pd.DataFrame | Mapping[str, Mapping[str, float]] | None, period: str
) -> pd.DataFrame:
    """Merge the bundled intensities with the user's, which replace those of the same use and period."""
    table = load_energy_use_intensity()
    if eui is None:
        return table
    if isinstance(eui, pd.DataFrame):
        user = validate_energy_use_intensity(eui)
    else:
        periods = sorted(set(table["period"]) | {period})
        user = validate_energy_use_intensity(
            pd.DataFrame(
                [
                    {"use": u, "period": p, "carrier": c, "kwh_per_m2_year": float(v), "source": "user"}
                    for u, per_carrier in eui.items()
                    for c, v in per_carrier.items()
                    for p in periods
                ]
            )
        )
    replaced = table.set_index(["use", "period"]).index.isin(user.set_index(["use", "period"]).index)
    return pd.concat([table[~replaced], user], ignore_index=True)


def _per_building(
    table: pd.DataFrame, gfa: pd.Series, use: pd.Series, per: pd.Series, study_period_years: float
) -> pd.DataFrame:
    """Intensities looked up per (use, period), times floor area and study period."""
    keys = pd.MultiIndex.from_arrays([use.to_numpy(), per.to_numpy()])
    grouped = table.groupby(["use", "period"])
    intensity = grouped["kwh_per_m2_year"].sum()
    carbon = grouped["kgco2e_per_m2_year"].sum()
    source = grouped["source"].agg(lambda s: "; ".join(dict.fromkeys(s)))
    by_carrier = table.pivot_table(
        index=["use", "period"], columns="emission_carrier", values="kwh_per_m2_year", aggfunc="sum"
    )
    out = pd.DataFrame(index=gfa.index)
    out["gfa_m2"] = gfa
    out["use"] = use
    out["period"] = per
    out["kwh_per_m2_year"] = intensity.reindex(keys).to_numpy()
    no_eui = out["kwh_per_m2_year"].isna()
    for carrier in by_carrier.columns:
        values = gfa.to_numpy() * by_carrier[carrier].reindex(keys).fillna(0).to_numpy()
        out[f"kwh_{carrier}_year"] = np.where(no_eui, np.nan, values)
    out["annual_kgco2e"] = gfa.to_numpy() * carbon.reindex(keys).to_numpy()
    out["b6_kgco2e"] = out["annual_kgco2e"] * study_period_years
    out["b6_kgco2e_per_m2"] = out["b6_kgco2e"] / gfa.where(gfa > 0)
    out["source"] = source.reindex(keys).to_numpy()
    return out
