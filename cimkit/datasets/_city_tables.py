"""Tables and file writers of a generated city.

Parcels, zones and footprints as columns; GeoJSON, GeoParquet, CSV and GeoTIFF writers.

Private to :mod:`cimkit.datasets.city`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cimkit._atomic import atomic_path
from cimkit.datasets._city_buildings import USES
from cimkit.datasets._city_plan import DISTRICT_COLS, DISTRICT_ROWS, ZONE_TEXT, Plan
from cimkit.datasets._layout import CRS
from cimkit.datasets.generator import _write_dem as _write_sample_dem


# ----------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------
def _frame(columns: dict[str, Any], *, to_wgs84: bool = False):
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(columns, geometry="geometry", crs=CRS)
    for column in ("maxspeed", "year_built", "storeys"):  # integers that may be missing
        if column in gdf:
            gdf[column] = gdf[column].astype("Int64")
    return gdf.to_crs(4326) if to_wgs84 else gdf


def _write_geojson(columns: dict[str, Any], path: Path, layer: str, *, to_wgs84: bool = False) -> None:
    """GeoJSON through pyogrio: fixed coordinate precision, no time stamp, layer name fixed."""
    gdf = _frame(columns, to_wgs84=to_wgs84)
    with atomic_path(path) as tmp:
        gdf.to_file(
            tmp, driver="GeoJSON", engine="pyogrio", layer=layer, COORDINATE_PRECISION=8 if to_wgs84 else 2
        )


def _write_parquet(columns: dict[str, Any], path: Path) -> None:
    gdf = _frame(columns)
    with atomic_path(path) as tmp:
        gdf.to_parquet(tmp, index=False, compression="zstd", write_covering_bbox=True)


def _write_dem(path: Path, values: np.ndarray, west: float, north: float, cell: float) -> None:
    _write_sample_dem(path, values, west, north, cell, tiled=True)  # the sample city's writer, tiled


# ----------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------
def _parcel_table(plan: Plan, rng: np.random.Generator) -> dict[str, Any]:
    """Etalab fields; ids commune + prefixe + section (one per district) + numero."""
    import shapely

    p = plan.parcels
    ndc = -(-plan.nx // DISTRICT_COLS)
    district = (p["block_row"] // DISTRICT_ROWS) * ndc + p["block_col"] // DISTRICT_COLS
    commune = 91999 - district // 676
    letters = np.array([chr(65 + k) for k in range(26)])
    section = np.char.add(letters[(district % 676) // 26], letters[district % 26])
    order = np.lexsort((p["x0"], -p["y0"], district))
    starts = np.searchsorted(district[order], district[order], side="left")
    numero = np.empty(order.size, dtype=np.int64)
    numero[order] = np.arange(order.size) - starts + 1
    com = commune.astype(str)
    num = np.char.zfill(numero.astype(str), 4)
    p["id"] = np.char.add(np.char.add(np.char.add(com, "000"), section), num)
    area = shapely.area(p["geometry"])
    created = np.array(["2016-05-04", "2018-11-20", "2021-03-02"])
    return {
        "id": p["id"],
        "commune": com,
        "prefixe": np.full(com.size, "000"),
        "section": section,
        "numero": num,
        "contenance": np.round(area * (0.98 + 0.04 * rng.random(area.size))).astype(np.int64),
        "arpente": rng.random(area.size) < 1 / 7,
        "created": created[rng.integers(0, 3, area.size)],
        "updated": np.full(com.size, "2024-01-15"),
        "geometry": p["geometry"],
    }


def _zone_table(plan: Plan) -> dict[str, Any]:
    z = plan.zones
    n = z["libelle"].size
    gid = np.arange(1, n + 1)
    idurba = "91999_PLU_20230615"
    text = [ZONE_TEXT[lib] for lib in z["libelle"]]
    return {
        "gid": gid,
        "partition": np.full(n, "DU_91999"),
        "libelle": z["libelle"],
        "libelong": [t[0] for t in text],
        "typezone": [t[1] for t in text],
        "destdomi": [t[2] for t in text],
        "nomfic": np.full(n, "91999_reglement_20230615.pdf"),
        "urlfic": [None] * n,
        "insee": np.full(n, "91999"),
        "datappro": np.full(n, "20230615"),
        "datvalid": np.full(n, "20230701"),
        "idurba": np.full(n, idurba),
        "idzone": [f"{idurba}_{lib}_{g}" for lib, g in zip(z["libelle"], gid)],
        "geometry": z["geometry"],
    }


def _footprint_table(plan: Plan, rng: np.random.Generator, ifc: np.ndarray | None) -> dict[str, Any]:
    import shapely

    b = plan.buildings
    n = b["x0"].size
    width = max(4, len(str(n)))
    ids = np.char.add("BATI", np.char.zfill((np.arange(n) + 1).astype(str), width))
    geometry = shapely.box(b["x0"], b["y0"], b["x1"], b["y1"], ccw=False)
    if ifc is not None and (ifc >= 0).any():  # the cadastre's own survey of the IFC buildings, within 0.3 m
        k = np.nonzero(ifc >= 0)[0]
        corners = np.stack(
            [
                np.column_stack([b["x0"][k], b["y0"][k]]),
                np.column_stack([b["x1"][k], b["y0"][k]]),
                np.column_stack([b["x1"][k], b["y1"][k]]),
                np.column_stack([b["x0"][k], b["y1"][k]]),
            ],
            axis=1,
        )
        corners = np.round(corners + rng.uniform(-0.15, 0.15, size=corners.shape), 2)
        geometry[k] = shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))
    height = b["height_m"].astype(float).copy()
    plain = np.nonzero((b["use"] == 0) & (b["kind"] == 0) & (ifc < 0 if ifc is not None else True))[0]
    height[plain[rng.random(plain.size) < 0.005]] = np.nan  # a few heights missing, as in real cadastre data
    year = np.where(b["year_built"] < 0, -1, b["year_built"])
    import pandas as pd

    return {
        "id": ids,
        "use": USES[b["use"]],
        "storeys": b["storeys"],
        "height_m": pd.array(np.where(np.isnan(height), np.nan, height), dtype="Float64"),
        "year_built": pd.array(np.where(year < 0, pd.NA, year), dtype="Int64"),
        "geometry": geometry,
    }
