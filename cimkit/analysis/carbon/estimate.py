"""Embodied carbon of buildings without an IFC model: floor area x intensity by use.

For footprints from the cadastre, OpenStreetMap or CityJSON::

    gfa_m2           = footprint_m2 x storeys      (storeys from the ``storeys`` column, else
                                                    round(height_m / storey_height_m), at least 1)
    embodied_kgco2e  = gfa_m2 x intensity_kgco2e_m2[use, building type, year]

A ``gfa_m2`` column, when present and positive, is used instead of footprint x storeys. The
intensity table ``cimkit/data/carbon_intensity_by_use.csv`` holds the RE2020
Ic_construction maxima by permit period for individual houses, collective housing and offices
(arrêté du 4 août 2021), teaching buildings, and retail and industrial buildings (the later
extensions of RE2020; see the table's source and ``checked`` columns for how each row was verified). These are **upper bounds** for new buildings (the regulatory cap of a
50-year dynamic LCA), not averages of the stock: the result is labelled ``estimated=True``,
``method="intensity"`` with its source, and should be read as "a building of this size meeting
RE2020 in that year emits at most this much". Uses without an intensity (health, mixed,
...) get NaN and a warning; pass ``intensities=`` to supply them.
"""

from __future__ import annotations

import logging
import os
import warnings
from importlib import resources
from typing import Literal, cast

import numpy as np
import pandas as pd

from cimkit.errors import DataTableError, GeographicCRSError, InputError, MissingCRSError, ValidationError

__all__ = ["estimate_embodied", "load_intensities"]

logger = logging.getLogger(__name__)

_TYPE_ALIASES = {
    "maison_individuelle": "maison_individuelle",
    "individual_house": "maison_individuelle",
    "logement_collectif": "logement_collectif",
    "collective_housing": "logement_collectif",
}


def load_intensities(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Embodied carbon intensity table (``use, building_type, from_year, to_year,
    intensity_kgco2e_m2, source, basis, notes``)."""
    source = (
        os.fspath(
            cast("os.PathLike[str]", resources.files("cimkit") / "data" / "carbon_intensity_by_use.csv")
        )
        if path is None
        else path
    )
    table = pd.read_csv(source, encoding="utf-8", keep_default_na=False)
    return _validate(table, path=os.fspath(source))


def _validate(table: pd.DataFrame, *, path: str | None = None) -> pd.DataFrame:
    need = ["use", "intensity_kgco2e_m2", "source"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DataTableError(
            f"the intensity table lacks {', '.join(missing)}",
            path=path,
            hint="columns: use, building_type, from_year, to_year, intensity_kgco2e_m2, source",
        )
    out = table.copy()
    for col, default in (("building_type", ""), ("from_year", ""), ("to_year", ""), ("basis", "")):
        if col not in out.columns:
            out[col] = default
    out["building_type"] = out["building_type"].astype(str)
    out["from_year"] = pd.to_numeric(out["from_year"], errors="coerce")
    out["to_year"] = pd.to_numeric(out["to_year"], errors="coerce")
    values = pd.to_numeric(out["intensity_kgco2e_m2"], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataTableError(
            f"intensity_kgco2e_m2 {out['intensity_kgco2e_m2'].iloc[i]!r} is not a number >= 0",
            path=path,
            line=i + 2,
            hint="give intensities in kgCO2e per m² of floor area",
        )
    out["intensity_kgco2e_m2"] = values.astype(float)
    return out


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


def estimate_embodied(
    buildings: pd.DataFrame,
    *,
    storey_height_m: float = 3.0,
    reference_year: int = 2022,
    housing_type: Literal["auto", "maison_individuelle", "logement_collectif"] = "auto",
    intensities: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Estimate embodied carbon from floor area and an intensity by use.

    Parameters
    ----------
    buildings
        GeoDataFrame of footprints in a projected CRS (metres) with ``use`` and ``storeys`` or
        ``height_m`` (m); or any table with ``gfa_m2`` (m²) and ``use``.
    storey_height_m
        Storey height (m) used to turn ``height_m`` into storeys when ``storeys`` is missing.
    reference_year
        Year whose intensity applies (the table is by permit period).
    housing_type
        How residential buildings are classed: ``"auto"`` (a ``building_type`` column when
        present — ``individual_house`` / ``collective_housing`` or the French names — else an
        individual house when ≤ 2 storeys and collective housing above), or one type for all.
    intensities
        A table replacing the bundled one (see :func:`load_intensities`).

    Returns
    -------
    pandas.DataFrame
        On the input's index: ``footprint_m2``, ``storeys``, ``gfa_m2``, ``gfa_source``
        (``"gfa_m2"`` or ``"footprint x storeys"``), ``building_type``,
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
    >>> b = gpd.GeoDataFrame({"use": ["residential"], "height_m": [6.0]},
    ...                      geometry=[box(0, 0, 10, 10)], crs="EPSG:2154", index=["h1"])
    >>> float(estimate_embodied(b)["embodied_kgco2e"].iloc[0])  # 100 m2 x 2 storeys x 640
    128000.0
    """
    if not (isinstance(storey_height_m, (int, float)) and storey_height_m > 0):
        raise ValidationError(
            f"'storey_height_m' must be a positive number of metres; {storey_height_m!r} was given"
        )
    if housing_type not in ("auto", "maison_individuelle", "logement_collectif"):
        raise ValidationError(
            f"'housing_type' must be one of auto, maison_individuelle, logement_collectif; {housing_type!r} was given"
        )
    if "use" not in buildings.columns:
        raise InputError(
            "the building table has no 'use' column",
            layer="buildings",
            hint="add use (residential, office, ...)",
        )
    table = load_intensities() if intensities is None else _validate(intensities)

    out = pd.DataFrame(index=buildings.index)
    footprint = pd.Series(np.nan, index=buildings.index)
    geometry = getattr(buildings, "geometry", None) if hasattr(buildings, "crs") else None
    gfa_complete = "gfa_m2" in buildings.columns and bool(
        (pd.to_numeric(buildings["gfa_m2"], errors="coerce") > 0).all()
    )
    if geometry is not None and not gfa_complete:
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
        footprint = pd.Series(np.asarray(buildings.geometry.area, dtype=float), index=buildings.index)
    out["footprint_m2"] = footprint

    if "storeys" in buildings.columns:
        storeys = pd.to_numeric(buildings["storeys"], errors="coerce")
    else:
        storeys = pd.Series(np.nan, index=buildings.index)
    if "height_m" in buildings.columns:
        from_height = np.maximum(
            1.0, np.round(pd.to_numeric(buildings["height_m"], errors="coerce") / storey_height_m)
        )
        storeys = storeys.where(storeys.notna() & (storeys > 0), from_height)
    out["storeys"] = storeys

    computed = footprint * storeys
    if "gfa_m2" in buildings.columns:
        given = pd.to_numeric(buildings["gfa_m2"], errors="coerce")
        use_given = given.notna() & (given > 0)
        out["gfa_m2"] = given.where(use_given, computed)
        out["gfa_source"] = np.where(
            use_given, "gfa_m2", np.where(computed.notna(), "footprint x storeys", "")
        )
    else:
        if geometry is None:
            raise InputError(
                "the building table has neither gfa_m2 nor footprint geometry",
                layer="buildings",
                hint="pass a GeoDataFrame of footprints with storeys or height_m, or a gfa_m2 column",
            )
        out["gfa_m2"] = computed
        out["gfa_source"] = np.where(computed.notna(), "footprint x storeys", "")

    use = buildings["use"].astype(str)
    if housing_type == "auto":
        resid_type = np.where(storeys.fillna(1) <= 2, "maison_individuelle", "logement_collectif")
    else:
        resid_type = np.full(len(buildings), housing_type, dtype=object)
    btype = np.where(use == "residential", resid_type, np.where(use == "office", "bureaux", ""))
    if housing_type == "auto" and "building_type" in buildings.columns:
        # an explicit type in the input (e.g. the sample city's 'individual_house') wins
        given = buildings["building_type"].astype(object).map(_TYPE_ALIASES).to_numpy()
        btype = np.where(pd.notna(given) & (use == "residential").to_numpy(), given, btype)
    out["building_type"] = btype
    looked = [_lookup(table, u, t, int(reference_year)) for u, t in zip(use, btype)]
    out["intensity_kgco2e_m2"] = [v for v, _ in looked]
    out["embodied_kgco2e"] = out["gfa_m2"] * out["intensity_kgco2e_m2"]
    out["estimated"] = True
    out["method"] = "intensity"
    out["source"] = [s for _, s in looked]
    no_intensity = out["intensity_kgco2e_m2"].isna()
    if no_intensity.any():
        warnings.warn(
            f"{int(no_intensity.sum())} building(s) have no carbon intensity for use "
            f"{', '.join(sorted(set(use[no_intensity])))}; their estimate is NaN. Pass intensities=...",
            stacklevel=2,
        )
    return out
