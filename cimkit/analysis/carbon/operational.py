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

Carrier factors default to the RE2020 conventional factors (arrêté du 4 août 2021, as quoted in
the project's domain notes): electricity 0.079 kgCO2e/kWh (the factor for electric heating,
applied here to all electricity), natural gas 0.227, firewood 0.03. The table's
``fossil_thermal`` carrier is treated as natural gas unless ``carriers`` says otherwise.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from importlib import resources
from typing import cast

import numpy as np
import pandas as pd

from cimkit.errors import DataTableError, InputError, ValidationError

__all__ = ["RE2020_CARRIER_FACTORS", "load_energy_use_intensity", "operational_carbon"]

logger = logging.getLogger(__name__)

#: RE2020 conventional carbon factors, kgCO2e per kWh of final energy (arrêté du 4 août 2021)
RE2020_CARRIER_FACTORS: dict[str, float] = {"electricity": 0.079, "gas": 0.227, "wood": 0.03}

_DEFAULT_CARRIERS = {"electricity": "electricity", "fossil_thermal": "gas"}


def load_energy_use_intensity(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Energy use intensity table: ``use, period, carrier, kwh_per_m2_year, source, ...``.

    Raises
    ------
    cimkit.errors.DataTableError
        When a column is missing or an intensity is negative or not a number.
    """
    source = (
        os.fspath(cast("os.PathLike[str]", resources.files("cimkit") / "data" / "energy_use_intensity.csv"))
        if path is None
        else path
    )
    table = pd.read_csv(source, encoding="utf-8", keep_default_na=False)
    return _validate_eui(table, path=os.fspath(source))


def _validate_eui(table: pd.DataFrame, *, path: str | None = None) -> pd.DataFrame:
    need = ["use", "period", "carrier", "kwh_per_m2_year"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DataTableError(
            f"the energy use intensity table lacks {', '.join(missing)}",
            path=path,
            hint=f"the columns are {', '.join(need)} (and source)",
        )
    out = table.copy()
    values = pd.to_numeric(out["kwh_per_m2_year"], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataTableError(
            f"kwh_per_m2_year {out['kwh_per_m2_year'].iloc[i]!r} is not a number >= 0",
            path=path,
            line=i + 2,
            hint="give intensities in kWh per m² per year",
        )
    out["kwh_per_m2_year"] = values.astype(float)
    if "source" not in out.columns:
        out["source"] = ""
    return out


def operational_carbon(
    buildings: pd.DataFrame,
    *,
    study_period_years: float = 50,
    eui: pd.DataFrame | Mapping[str, Mapping[str, float]] | None = None,
    carriers: Mapping[str, str] | None = None,
    factors: Mapping[str, float] | None = None,
    period: str = "existing",
) -> pd.DataFrame:
    """Operational carbon (B6) of each building over the study period.

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
    >>> from cimkit.analysis.carbon import operational_carbon
    >>> b = pd.DataFrame({"gfa_m2": [100.0], "use": ["office"]}, index=["b1"])
    >>> round(float(operational_carbon(b, study_period_years=1)["annual_kgco2e"].iloc[0]), 6)
    3474.5
    """
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
    table = load_energy_use_intensity()
    if eui is not None:
        if isinstance(eui, pd.DataFrame):
            user = _validate_eui(eui)
        else:
            periods = sorted(set(table["period"]) | {period})
            user = pd.DataFrame(
                [
                    {"use": u, "period": p, "carrier": c, "kwh_per_m2_year": float(v), "source": "user"}
                    for u, per_carrier in eui.items()
                    for c, v in per_carrier.items()
                    for p in periods
                ]
            )
            user = _validate_eui(user)
        replaced = table.set_index(["use", "period"]).index.isin(user.set_index(["use", "period"]).index)
        table = pd.concat([table[~replaced], user], ignore_index=True)

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
    keys = pd.MultiIndex.from_arrays([use.to_numpy(), per.to_numpy()])
    intensity = table.groupby(["use", "period"])["kwh_per_m2_year"].sum()
    carbon = table.groupby(["use", "period"])["kgco2e_per_m2_year"].sum()
    source = table.groupby(["use", "period"])["source"].agg(lambda s: "; ".join(dict.fromkeys(s)))
    by_carrier = table.pivot_table(
        index=["use", "period"], columns="emission_carrier", values="kwh_per_m2_year", aggfunc="sum"
    )

    out = pd.DataFrame(index=buildings.index)
    out["gfa_m2"] = gfa
    out["use"] = use
    out["period"] = per
    out["kwh_per_m2_year"] = intensity.reindex(keys).to_numpy()
    for carrier in by_carrier.columns:
        out[f"kwh_{carrier}_year"] = gfa.to_numpy() * by_carrier[carrier].reindex(keys).fillna(0).to_numpy()
    no_eui = out["kwh_per_m2_year"].isna()
    for col in [
        c for c in out.columns if c.startswith("kwh_") and c.endswith("_year") and c != "kwh_per_m2_year"
    ]:
        out.loc[no_eui, col] = np.nan
    out["annual_kgco2e"] = gfa.to_numpy() * carbon.reindex(keys).to_numpy()
    out["b6_kgco2e"] = out["annual_kgco2e"] * float(study_period_years)
    out["b6_kgco2e_per_m2"] = out["b6_kgco2e"] / gfa.where(gfa > 0)
    out["source"] = source.reindex(keys).to_numpy()
    if no_eui.any():
        combos = sorted({f"{u}/{p}" for u, p in zip(use[no_eui], per[no_eui])})
        warnings.warn(
            f"{int(no_eui.sum())} building(s) have no energy use intensity for use/period "
            f"{', '.join(combos)}; their B6 is NaN. Pass eui={{use: {{carrier: kWh/m²/yr}}}}",
            stacklevel=2,
        )
    return out
