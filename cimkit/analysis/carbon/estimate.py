"""Embodied carbon of buildings without an IFC model: floor area x intensity by use.

For footprints from the cadastre, OpenStreetMap or CityJSON::

    gfa_m2           = footprint_m2 x storeys      (storeys from the ``storeys`` column, else
                                                    round(height_m / storey_height_m), at least 1)
    embodied_kgco2e  = gfa_m2 x intensity_kgco2e_m2[use, building type, year]

A ``gfa_m2`` column, when present and positive, is used instead of footprint x storeys. The
intensity table ``cimkit/data/carbon_intensity_by_use.csv`` holds the RE2020 *Ic construction*
maxima by permit period for individual houses, collective housing and offices (arrêté du
4 août 2021), teaching buildings, and retail and industrial buildings (the later extensions of
RE2020; see the table's source and ``checked`` columns for how each row was verified). These
are **upper bounds** for new buildings (the regulatory cap of a 50-year dynamic LCA), not
averages of the stock: the result is labelled ``estimated=True``, ``method="intensity"`` with
its source, and should be read as "a building of this size meeting RE2020 in that year emits at
most this much". Uses without an intensity (health, mixed, ...) get NaN and a warning; pass
``intensities=`` to supply them.
"""

from __future__ import annotations

import logging
import warnings
from typing import Literal

import numpy as np
import pandas as pd

from cimkit.data.carbon import load_intensities, validate_intensities
from cimkit.errors import GeographicCRSError, InputError, MissingCRSError, ValidationError

__all__ = ["estimate_embodied_carbon"]

logger = logging.getLogger(__name__)

HousingType = Literal["auto", "maison_individuelle", "logement_collectif"]

_TYPE_ALIASES = {
    "maison_individuelle": "maison_individuelle",
    "individual_house": "maison_individuelle",
    "logement_collectif": "logement_collectif",
    "collective_housing": "logement_collectif",
}


def estimate_embodied_carbon(
    buildings: pd.DataFrame,
    *,
    storey_height_m: float = 3.0,
    reference_year: int = 2022,
    housing_type: HousingType = "auto",
    intensities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Estimate embodied carbon from floor area and an intensity by use (an upper bound).

    Parameters
    ----------
    buildings
        GeoDataFrame of footprints in a projected CRS (metres) with ``use`` and ``storeys`` or
        ``height_m`` (m); or any table with ``gfa_m2`` (m²) and ``use``.
    storey_height_m
        Storey height (m) used to turn ``height_m`` into storeys when ``storeys`` is missing.
    reference_year
        Permit year whose intensity applies (the table is by permit period).
    housing_type
        How residential buildings are classed: ``"auto"`` (a ``building_type`` column when
        present — ``individual_house`` / ``collective_housing`` or the French names — else an
        individual house when ≤ 2 storeys and collective housing above), or one type for all.
    intensities
        A table replacing the bundled one (see :func:`~cimkit.data.carbon.load_intensities`).

    Returns
    -------
    pandas.DataFrame
        On the input's index: ``footprint_m2`` (m²), ``storeys``, ``gfa_m2`` (m²),
        ``gfa_source`` (``"gfa_m2"`` or ``"footprint x storeys"``), ``building_type``,
        ``intensity_kgco2e_m2``, ``embodied_kgco2e``, ``estimated`` (True), ``method``
        (``"intensity"``) and ``source``.

    Raises
    ------
    cimkit.errors.InputError
        When neither ``gfa_m2`` nor geometry is available, or ``use`` is missing.
    cimkit.errors.MissingCRSError, cimkit.errors.GeographicCRSError
        When footprints have no CRS or a geographic one (areas need metres).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> from cimkit.analysis.carbon import estimate_embodied_carbon
    >>> b = gpd.GeoDataFrame({"use": ["residential"], "height_m": [6.0]},
    ...                      geometry=[box(0, 0, 10, 10)], crs="EPSG:2154", index=["h1"])
    >>> out = estimate_embodied_carbon(b)  # 100 m2 x 2 storeys x 640 kgCO2e/m2 (RE2020 cap, 2022)
    >>> out.loc["h1", "building_type"], float(out.loc["h1", "embodied_kgco2e"])
    ('maison_individuelle', 128000.0)
    """
    _check_options(storey_height_m, housing_type)
    if "use" not in buildings.columns:
        raise InputError(
            "the building table has no 'use' column",
            layer="buildings",
            hint="add use (residential, office, ...)",
        )
    table = load_intensities() if intensities is None else validate_intensities(intensities)
    out = pd.DataFrame(index=buildings.index)
    out["footprint_m2"] = _footprint_areas(buildings)
    out["storeys"] = _storeys(buildings, storey_height_m)
    out["gfa_m2"], out["gfa_source"] = _floor_areas(buildings, out["footprint_m2"] * out["storeys"])
    use = buildings["use"].astype(str)
    out["building_type"] = _building_types(buildings, use, out["storeys"], housing_type)
    pairs = list(zip(use, out["building_type"]))
    found = {pair: _lookup(table, *pair, int(reference_year)) for pair in dict.fromkeys(pairs)}
    looked = [found[pair] for pair in pairs]  # one table look-up per (use, type), not per building
    out["intensity_kgco2e_m2"] = [v for v, _ in looked]
    out["embodied_kgco2e"] = out["gfa_m2"] * out["intensity_kgco2e_m2"]
    out["estimated"] = True
    out["method"] = "intensity"
    out["source"] = [s for _, s in looked]
    no_intensity = out["intensity_kgco2e_m2"].isna()
    if no_intensity.any():
        warnings.warn(
            f"{int(no_intensity.sum())} building(s) have no carbon intensity for use "
            f"{', '.join(sorted(set(map(str, use[no_intensity]))))}; their estimate is NaN. Pass intensities=...",
            stacklevel=2,
        )
    return out


def _check_options(storey_height_m: float, housing_type: str) -> None:
    if not (isinstance(storey_height_m, (int, float)) and storey_height_m > 0):
        raise ValidationError(
            f"'storey_height_m' must be a positive number of metres; {storey_height_m!r} was given"
        )
    if housing_type not in ("auto", "maison_individuelle", "logement_collectif"):
        raise ValidationError(
            "'housing_type' must be one of auto, maison_individuelle, logement_collectif; "
            f"{housing_type!r} was given"
        )


def _has_complete_gfa(buildings: pd.DataFrame) -> bool:
    return "gfa_m2" in buildings.columns and bool(
        (pd.to_numeric(buildings["gfa_m2"], errors="coerce") > 0).all()
    )


def _footprint_areas(buildings: pd.DataFrame) -> pd.Series:
    """Footprint areas (m²) when geometry is needed, else NaN; refuses unprojected footprints."""
    footprint = pd.Series(np.nan, index=buildings.index)
    if not hasattr(buildings, "crs") or getattr(buildings, "geometry", None) is None:
        return footprint
    if _has_complete_gfa(buildings):
        return footprint
    if buildings.crs is None:
        raise MissingCRSError(
            "the footprints have no CRS", layer="buildings", hint="set one with gdf.set_crs(...)"
        )
    if buildings.crs.is_geographic:
        raise GeographicCRSError(
            f"footprint areas need a projected CRS in metres; {buildings.crs.name} was given",
            layer="buildings",
            hint="reproject with gdf.to_crs(...), e.g. EPSG:2154 in France",
        )
    return pd.Series(np.asarray(buildings.geometry.area, dtype=float), index=buildings.index)


def _storeys(buildings: pd.DataFrame, storey_height_m: float) -> pd.Series:
    """Storeys: the ``storeys`` column, else round(height / storey height), at least 1."""
    if "storeys" in buildings.columns:
        storeys = pd.to_numeric(buildings["storeys"], errors="coerce")
    else:
        storeys = pd.Series(np.nan, index=buildings.index)
    if "height_m" in buildings.columns:
        from_height = np.maximum(
            1.0, np.round(pd.to_numeric(buildings["height_m"], errors="coerce") / storey_height_m)
        )
        storeys = storeys.where(storeys.notna() & (storeys > 0), from_height)
    return storeys


def _floor_areas(buildings: pd.DataFrame, computed: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Floor area (m²) and where it came from: a positive ``gfa_m2``, else footprint x storeys."""
    if "gfa_m2" in buildings.columns:
        given = pd.to_numeric(buildings["gfa_m2"], errors="coerce")
        use_given = given.notna() & (given > 0)
        source = np.where(use_given, "gfa_m2", np.where(computed.notna(), "footprint x storeys", ""))
        return given.where(use_given, computed), source
    if getattr(buildings, "geometry", None) is None or not hasattr(buildings, "crs"):
        raise InputError(
            "the building table has neither gfa_m2 nor footprint geometry",
            layer="buildings",
            hint="pass a GeoDataFrame of footprints with storeys or height_m, or a gfa_m2 column",
        )
    return computed, np.where(computed.notna(), "footprint x storeys", "")


def _building_types(
    buildings: pd.DataFrame, use: pd.Series, storeys: pd.Series, housing_type: str
) -> np.ndarray:
    """RE2020 building type of every building (empty where the use has none)."""
    if housing_type == "auto":
        resid_type = np.where(storeys.fillna(1) <= 2, "maison_individuelle", "logement_collectif")
    else:
        resid_type = np.full(len(buildings), housing_type, dtype=object)
    btype = np.where(use == "residential", resid_type, np.where(use == "office", "bureaux", ""))
    if housing_type == "auto" and "building_type" in buildings.columns:
        # an explicit type in the input (e.g. the sample city's 'individual_house') wins
        given = buildings["building_type"].astype(object).map(_TYPE_ALIASES).to_numpy()
        btype = np.where(pd.notna(given) & (use == "residential").to_numpy(), given, btype)
    return btype


def _lookup(table: pd.DataFrame, use: str, building_type: str, year: int) -> tuple[float, str]:
    sel = table[table["use"] == use]
    typed = sel[sel["building_type"] == building_type]
    if len(typed):
        sel = typed
    elif building_type:
        sel = sel[sel["building_type"].isin(["", "nan"])]
    in_period = (sel["from_year"].isna() | (sel["from_year"] <= year)) & (
        sel["to_year"].isna() | (sel["to_year"] >= year)
    )
    sel = sel[in_period]
    if sel.empty:
        return float("nan"), ""
    row = sel.iloc[0]
    return float(row["intensity_kgco2e_m2"]), str(row["source"])
