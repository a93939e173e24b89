"""Carbon of a scenario's added floor area: embodied (RE2020 Ic construction) and operational (B6).

For each parcel of the ``new_homes`` table::

    embodied_kgco2e           = residential_gfa_m2 x Ic[housing type, year] + other_gfa_m2 x Ic[office, year]
    operational_kgco2e_year   = Σ_use gfa_m2 x EUI[use, new_low_energy] x 0.079 kgCO2e/kWh
    operational_kgco2e        = operational_kgco2e_year x study_period_years   (RE2020: 50 years)

The intensities are those of :func:`~cimkit.analysis.carbon.estimate_embodied_carbon`
(``cimkit/data/carbon_intensity_by_use.csv``: the RE2020 *Ic construction* maxima of the
arrêté du 4 août 2021, upper bounds for new buildings; housing on 3 storeys or more is
*logement collectif*, below *maison individuelle*), and of
:func:`~cimkit.analysis.carbon.compute_operational_carbon` (``energy_use_intensity.csv``, LETI
2020 all-electric targets for new buildings, RE2020 conventional factor 0.079 kgCO2e/kWh for
electricity). Non-residential floor area is counted as offices.

Examples
--------
>>> import geopandas as gpd
>>> import shapely
>>> homes = gpd.GeoDataFrame(
...     {"added_gfa_m2": [1000.0], "residential_gfa_m2": [1000.0], "storeys": [4.0],
...      "added_dwellings": [15.0], "added_residents": [32.0], "added_jobs": [0.0], "zone": ["UB"]},
...     geometry=[shapely.box(0, 0, 20, 30)], crs="EPSG:2154", index=gpd.pd.Index(["P"], name="parcel_id"))
>>> impact = compute_carbon_impact(homes, reference_year=2025)
>>> impact.summary["embodied_tco2e"], round(impact.summary["operational_tco2e_year"], 3)
(650.0, 2.765)
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from cimkit.analysis.carbon.estimate import _lookup
from cimkit.analysis.carbon.operational import compute_operational_carbon
from cimkit.analysis.scenario.impacts import ScenarioImpact
from cimkit.data.carbon import load_intensities
from cimkit.errors import InputError

__all__ = ["compute_carbon_impact"]


def compute_carbon_impact(
    new_homes: pd.DataFrame,
    *,
    reference_year: int = 2025,
    study_period_years: float = 50,
) -> ScenarioImpact:
    """Compute the embodied and operational carbon of a scenario's added floor area.

    Parameters
    ----------
    new_homes
        The scenario's new homes (indexed by ``parcel_id``) with ``added_gfa_m2`` and, when
        known, ``residential_gfa_m2`` (else all the floor area is housing) and ``storeys``
        (else 3: *logement collectif*).
    reference_year
        RE2020 permit year choosing the *Ic construction* maximum (2022, 2025, 2028, 2031 ...).
    study_period_years
        Years of operation counted for B6 (RE2020 reference period: 50).

    Returns
    -------
    ScenarioImpact
        ``name="carbon"``; ``parcels``: ``embodied_kgco2e``, ``operational_kgco2e_year``,
        ``operational_kgco2e``; ``summary``: ``embodied_tco2e``, ``operational_tco2e_year``,
        ``operational_tco2e`` (over the study period).

    Raises
    ------
    InputError
        ``new_homes`` has no ``added_gfa_m2`` column.

    Examples
    --------
    400 m² of housing on 2 storeys (maison individuelle, 2025: 530 kgCO2e/m²) and 100 m² of
    offices (810 kgCO2e/m²):

    >>> import pandas as pd
    >>> homes = pd.DataFrame({"added_gfa_m2": [500.0], "residential_gfa_m2": [400.0], "storeys": [2]},
    ...                      index=pd.Index(["P"], name="parcel_id"))
    >>> impact = compute_carbon_impact(homes)
    >>> float(impact.parcels.loc["P", "embodied_kgco2e"])  # 400 x 530 + 100 x 810
    293000.0
    >>> round(float(impact.parcels.loc["P", "operational_kgco2e_year"]), 2)  # (400 x 35 + 100 x 55) x 0.079
    1540.5
    """
    if "added_gfa_m2" not in new_homes.columns:
        raise InputError("'new_homes' has no 'added_gfa_m2' column", code="SCN003", layer="new_homes")
    gfa = new_homes["added_gfa_m2"].to_numpy(dtype="float64")
    residential = (
        new_homes["residential_gfa_m2"].to_numpy(dtype="float64")
        if "residential_gfa_m2" in new_homes.columns
        else gfa.copy()
    )
    other = np.maximum(gfa - residential, 0.0)
    storeys = (
        new_homes["storeys"].to_numpy(dtype="float64")
        if "storeys" in new_homes.columns
        else np.full(len(gfa), 3.0)
    )
    table = load_intensities()
    house, _ = _lookup(table, "residential", "maison_individuelle", reference_year)
    flats, source = _lookup(table, "residential", "logement_collectif", reference_year)
    office, _ = _lookup(table, "office", "bureaux", reference_year)
    housing_intensity = np.where(np.nan_to_num(storeys, nan=3.0) >= 3, flats, house)
    out = pd.DataFrame(index=new_homes.index.copy())
    out["embodied_kgco2e"] = residential * housing_intensity + other * office
    operational = _operational(new_homes.index, residential, other, study_period_years)
    out["operational_kgco2e_year"] = operational
    out["operational_kgco2e"] = operational * study_period_years
    summary = {
        "embodied_tco2e": float(out["embodied_kgco2e"].sum() / 1000.0),
        "operational_tco2e_year": float(out["operational_kgco2e_year"].sum() / 1000.0),
        "operational_tco2e": float(out["operational_kgco2e"].sum() / 1000.0),
    }
    caveats = [
        f"Embodied carbon: the RE2020 Ic construction maxima for permits in {reference_year} ({source}), "
        "upper bounds for new buildings; housing on 3 storeys or more is collective housing, below "
        "individual houses; other floor area counts as offices.",
        f"Operational carbon (B6): LETI 2020 all-electric energy targets for new buildings x the RE2020 "
        f"electricity factor 0.079 kgCO2e/kWh, over {study_period_years:g} years.",
    ]
    return ScenarioImpact(name="carbon", parcels=out, summary=summary, caveats=caveats)


def _operational(index: pd.Index, residential: np.ndarray, other: np.ndarray, years: float) -> np.ndarray:
    """Annual B6 (kgCO2e/yr) of the residential and office floor area of each parcel."""
    if not len(index):
        return np.zeros(0)
    rows = pd.DataFrame(
        {
            "gfa_m2": np.concatenate([residential, other]),
            "use": ["residential"] * len(index) + ["office"] * len(index),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every use here has a new-building intensity
        per = compute_operational_carbon(rows, study_period_years=years, period="new_low_energy")
    annual = per["annual_kgco2e"].to_numpy(dtype="float64")
    return annual[: len(index)] + annual[len(index) :]
