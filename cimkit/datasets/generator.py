"""The sample city: a small, synthetic, deterministic French town in EPSG:2154.

:func:`generate_sample_city` writes about 800 m x 800 m of an imaginary town in the Essonne
(Île-de-France), centred near x = 651 000, y = 6 847 000 (Lambert-93): IFC4 building models,
Etalab-style cadastral parcels, a CNIG-style PLU, streets, water mains, points of interest, a
terrain model with a river valley, flood scenarios and the cadastre's building footprints.
Everything is synthetic; the commune code 91999 does not exist.

Run ``python -m cimkit.datasets.generator FOLDER`` to write it from the command line.

Every file is written atomically and byte-identically for a given ``seed``: the IFC header
time stamp and GlobalIds are fixed, GeoJSON is written with a fixed coordinate precision and
no time stamps, and the GeoTIFF carries no date tag. ``manifest.json`` lists the sha256 of
every file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from cimkit._atomic import atomic_path, write_bytes_atomic
from cimkit.datasets._buildings import _layout
from cimkit.datasets._layout import (
    COMMUNE,
    CRS,
    DEM_CELL,
    DEM_NODATA,
    DEM_NORTH,
    DEM_WEST,
    FLOOD_SCENARIOS,
    IDURBA,
    XS,
    ZONE_RULES,
    _pipes,
    _pois,
    _river_line,
    _streets,
    _terrain,
)
from cimkit.datasets._recipe import write_sample_recipe
from cimkit.errors import InputError

__all__ = ["generate_sample_city"]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------
def _write_bytes(path: Path, data: bytes) -> None:
    write_bytes_atomic(path, data)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    _write_bytes(path, buffer.getvalue().encode("utf-8"))


def _write_geojson(records: list[dict[str, Any]], path: Path, layer: str, *, to_wgs84: bool = False) -> None:
    """GeoJSON through pyogrio: fixed coordinate precision, no time stamp, layer name fixed."""
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(records, geometry="geometry", crs=CRS)
    for column in ("maxspeed", "year_built", "storeys"):  # integers that may be missing
        if column in gdf:
            gdf[column] = gdf[column].astype("Int64")
    precision = 2
    if to_wgs84:
        gdf = gdf.to_crs(4326)
        precision = 8
    with atomic_path(path) as tmp:
        gdf.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer=layer, COORDINATE_PRECISION=precision)


def _write_dem(
    path: Path,
    values: np.ndarray,
    west: float = DEM_WEST,
    north: float = DEM_NORTH,
    cell: float = DEM_CELL,
    *,
    tiled: bool = False,
) -> None:
    """Write the DEM GeoTIFF (float32, deflate); ``tiled`` in 256 x 256 blocks (large generated cities)."""
    import rasterio
    from affine import Affine

    profile = {
        "driver": "GTiff",
        "height": values.shape[0],
        "width": values.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": Affine(cell, 0.0, west, 0.0, -cell, north),
        "nodata": DEM_NODATA,
        "compress": "deflate",
        "predictor": 3,
    }
    if tiled:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(values, 1)
            dst.set_band_description(1, "ground elevation (m, NGF-IGN69)")
            dst.units = ("metre",)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


DESCRIPTIONS = {
    "README.md": "What the sample city is and what each file holds.",
    "buildings/index.csv": "Metadata of the IFC buildings (use, type, storeys, unit, rotation, parcel, permit year).",
    "parcels.geojson": "Cadastral parcels, Etalab cadastre fields, EPSG:4326.",
    "zone_urba.geojson": "PLU zoning (CNIG zone_urba, lower-case GPU field names), EPSG:4326.",
    "zone_rules.csv": "Simplified PLU rules per zone, joined on libelle.",
    "prescription_surf.geojson": "PLU surface prescriptions (espace boisé classé, emplacement réservé), EPSG:4326.",
    "streets.geojson": "Street centre lines with OSM highway classes, EPSG:2154.",
    "water_pipes.geojson": "Drinking-water mains under the streets, EPSG:2154.",
    "water_network.inp": "The water mains as an EPANET 2 model (water tower, H-W roughness, demands), EPSG:2154.",
    "pois.geojson": "Points of interest (schools, shops, health, parks, bus stops), EPSG:2154.",
    "dem.tif": "Terrain model, 5 m cells, float32, nodata -9999, EPSG:2154, heights in m NGF-IGN69.",
    "river.geojson": "River centre line (flood source), EPSG:2154.",
    "flood_scenarios.csv": "Water levels (m NGF-IGN69) of the 10-, 100- and 1000-year floods.",
    "footprints.geojson": "Cadastre building footprints (bâti) of the whole town, EPSG:2154.",
    "city.toml": "The recipe that rebuilds this city with `cimkit build` (sources, sha256, analyses, outputs).",
}


def _readme(layout: dict[str, Any], seed: int) -> str:
    specs = layout["specs"]
    hugo = next(s for s in specs if s.short_name == "residence_hugo")
    mm = [s.short_name for s in specs if s.length_unit == "mm"]
    rotated = [f"{s.short_name} ({s.rotation_deg:g}°)" for s in specs if s.rotation_deg % 360]
    flooded = [s.short_name for s in specs if s.orthogonal_height < 39.5]
    lines = [
        "# cimkit sample city",
        "",
        "A small **synthetic** French town (about 800 m x 800 m) in the Essonne, Île-de-France, centred near",
        "x = 651 000, y = 6 847 000 in **EPSG:2154** (RGF93 v1 / Lambert-93); heights in metres NGF-IGN69.",
        "Nothing here describes a real place: the commune code 91999 does not exist and the river",
        "(l'Essonnette), streets, buildings and regulations are invented.",
        "",
        f"Generated by `cimkit.datasets.generate_sample_city(folder, seed={seed})`",
        "(`python -m cimkit.datasets.generator sample_data`). Generation is deterministic: the same seed",
        "gives byte-identical files; `manifest.json` lists their sha256. Licence: MIT, the same as cimkit.",
        "",
        "## Files",
        "",
        "| File | What it is |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {text} |" for name, text in DESCRIPTIONS.items() if name != "README.md"]
    lines += [
        "| `buildings/*.ifc` | IFC4 building models authored with ifcopenshell.api (see below). |",
        "| `manifest.json` | Every file with a one-line description and its sha256. |",
        "",
        "## Buildings (IFC4)",
        "",
        f"{len(specs)} buildings: 5 individual houses, 2 collective housing blocks, 2 office buildings, 1 school",
        "and 1 shop. Each file holds an IfcProject, IfcSite, one IfcBuilding with `Pset_BuildingCommon.OccupancyType`",
        "(residential, office, education, retail), one IfcBuildingStorey per level, exterior IfcWall with",
        "IfcMaterialLayerSetUsage, one floor IfcSlab per storey, an IfcRoof with a roof slab, IfcWindow and IfcDoor",
        "filling IfcOpeningElement voids, and IfcSpace per storey with the use in LongName (Logement, Bureau,",
        "Salle de classe, Commerce). Qto_WallBaseQuantities, Qto_SlabBaseQuantities, Qto_SpaceBaseQuantities,",
        "Qto_WindowBaseQuantities and Qto_DoorBaseQuantities are computed from the authored dimensions.",
        "",
        "Georeferencing: every file has an IfcMapConversion to an IfcProjectedCRS named `EPSG:2154` (MapUnit metre).",
        "Local coordinates (x, y, z) in project length units map to E = Eastings + s(a x - b y),",
        "N = Northings + s(b x + a y), H = OrthogonalHeight + s z with a = XAxisAbscissa, b = XAxisOrdinate and",
        "s = Scale, the IFC4 reading also used by `ifcopenshell.util.geolocation`. Local z = 0 is the terrain at the",
        "building centre (OrthogonalHeight, sampled from `dem.tif`).",
        f"Models in millimetres (project length unit mm, Scale = 0.001, area/volume units m² / m³): {', '.join(mm)}.",
        f"Rotated models: {', '.join(rotated)}.",
        "Several buildings have their ground-floor slab top 0.3 m above the terrain (first-floor height).",
        "",
        "## Deliberate defects and test cases",
        "",
        f"- **Too high for its zone:** `{hugo.short_name}` ({hugo.name}) is {hugo.height_m:g} m high in zone UB,",
        "  where `max_height_m` is 12 m.",
        f"- **Over its footprint ratio:** parcel `{layout['market_parcel']}` (zone UA, max 0.70) is about 78 % built",
        "  (a supermarket footprint with no IFC model).",
        f"- **Contenance outlier:** parcel `{layout['contenance_outlier']}` declares a `contenance` 30 % above its",
        "  true area; every other parcel is within 2 %.",
        "- **Snapping:** `Rue de la Mairie` ends 0.2 m short of the `Chemin des Vignes` vertex and",
        "  `Rue de l'Église` ends 0.2 m short of the `Rue des Lilas` vertex; every other junction shares a vertex.",
        "  The footway and cycleway along the river pass under the `Pont de l'Essonnette` bridge without a junction.",
        "- **Closed depression:** an old gravel pit south of the river (centre x = 650 760, y = 6 846 650) has a floor",
        "  at 37.8 m inside a ridge at 41.8 m. A plain bathtub floods it (and the agricultural shed in it) at every",
        "  scenario; a bathtub connected to the river does not.",
        "- **Nodata:** 10 cells in the north-east corner of `dem.tif` are -9999.",
        "- **Missing values:** a few footprints have no `height_m`; footways and cycleways have no `maxspeed`.",
        "",
        "## Flooding",
        "",
        "Water levels: 38.5 m (10-year), 39.5 m (100-year), 40.5 m (1000-year), from the river centre line",
        "(`river.geojson`). The lots south of rue du Moulin lie on the floodplain (ground about 38.8-39.2 m):",
        f"at the 100-year level the IFC building(s) {', '.join(flooded)} and several cadastre footprints there are",
        "flooded (ground at the footprint centroid below the level and connected to the river); the 1000-year level",
        "also reaches the first row of buildings north of rue du Moulin; the 10-year level stays off the buildings.",
        "",
        "## Coordinate reference systems",
        "",
        "`parcels.geojson`, `zone_urba.geojson` and `prescription_surf.geojson` are in EPSG:4326 (longitude,",
        "latitude), as Etalab and the Géoportail de l'Urbanisme publish them; every other layer is in EPSG:2154.",
        "",
    ]
    return "\n".join(lines)


def generate_sample_city(folder: str | os.PathLike[str], *, seed: int = 2154) -> Path:
    """Write the synthetic sample city into ``folder`` and return the folder.

    The town covers about 800 m x 800 m in EPSG:2154 around x = 651 000, y = 6 847 000 (Essonne):
    11 IFC4 buildings (``buildings/*.ifc`` and ``buildings/index.csv``), cadastral parcels, PLU
    zoning with its rules and prescriptions, streets, water mains, points of interest, a 5 m
    terrain model with a river valley, flood scenarios and the cadastre's footprints, plus a
    ``README.md`` and a ``manifest.json`` with the sha256 of every file. See ``README.md`` in
    the output for the deliberate defects the test suite relies on.

    Parameters
    ----------
    folder
        Destination folder; created if missing. Files of the sample city are overwritten
        (atomically), other files are left alone.
    seed
        Seed of the random choices (lot widths, building placement, micro-relief). The same
        seed gives byte-identical files.

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    cimkit.errors.InputError
        If ``seed`` is not a non-negative integer, or ``folder`` exists and is not a folder.

    Examples
    --------
    >>> import json, tempfile
    >>> from cimkit.datasets.generator import generate_sample_city
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = generate_sample_city(tmp)
    ...     manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    ...     sorted(p.name for p in (folder / "buildings").glob("maison_*.ifc"))[:2]
    ['maison_jaures_21.ifc', 'maison_lilas_3.ifc']
    >>> len(manifest["files"]), manifest["crs"]
    (26, 'EPSG:2154')
    """
    from cimkit.datasets._ifc_authoring import author_building

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(
            f"'seed' must be a non-negative integer; {seed!r} was given.", hint="pass e.g. seed=2154"
        )
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise InputError(
            "the destination exists and is not a folder",
            path=out,
            hint="pass a folder path (it is created if missing)",
        )
    (out / "buildings").mkdir(parents=True, exist_ok=True)
    logger.info("writing the sample city into %s (seed %d)", out, seed)

    dem = _terrain(int(seed))
    layout = _layout(int(seed), dem)
    _write_dem(out / "dem.tif", dem)

    index_rows = []
    for spec in layout["specs"]:
        with atomic_path(out / "buildings" / f"{spec.short_name}.ifc") as tmp:
            author_building(spec, tmp)
        index_rows.append(
            [
                f"{spec.short_name}.ifc", spec.name, spec.use, spec.building_type, spec.storeys,
                spec.length_unit, f"{spec.rotation_deg:g}", spec.parcel_id, spec.permit_year,
            ]
        )  # fmt: skip
    _write_csv(
        out / "buildings" / "index.csv",
        [
            "file",
            "building_name",
            "use",
            "building_type",
            "storeys",
            "length_unit",
            "rotation_deg",
            "parcel_id",
            "permit_year",
        ],
        index_rows,
    )

    created = ["2016-05-04", "2018-11-20", "2021-03-02"]
    parcel_rows = []
    for p in layout["parcels"]:
        digest = int(hashlib.md5(p.pid.encode()).hexdigest()[:8], 16)
        parcel_rows.append(
            {
                "id": p.pid,
                "commune": COMMUNE,
                "prefixe": "000",
                "section": p.section,
                "numero": p.numero,
                "contenance": int(layout["contenance"][p.pid]),
                "arpente": bool(digest % 7 == 0),
                "created": created[digest % 3],
                "updated": "2024-01-15",
                "geometry": p.geometry,
            }
        )
    _write_geojson(parcel_rows, out / "parcels.geojson", "parcels", to_wgs84=True)
    _write_geojson(layout["zones"], out / "zone_urba.geojson", "zone_urba", to_wgs84=True)
    _write_csv(
        out / "zone_rules.csv",
        ["libelle", "max_height_m", "max_footprint_ratio", "min_setback_road_m", "min_setback_side_m",
         "side_setback_height_ratio", "min_green_ratio", "allowed_uses"],
        [list(rule) for rule in ZONE_RULES],
    )  # fmt: skip

    import shapely

    reserved = next(p for p in layout["parcels"] if p.kind == "ue" and p.x0 > XS[2] + 100.0)
    prescriptions = [
        {
            "libelle": "EBC",
            "txt": "Espace boisé classé à conserver ou à créer (article L113-1 du code de l'urbanisme)",
            "typepsc": "01",
            "stypepsc": "00",
            "idurba": IDURBA,
            "geometry": shapely.box(651_060.0, 6_846_695.0, 651_380.0, 6_846_735.0),
        },
        {
            "libelle": "ER1",
            "txt": "Emplacement réservé n°1 : extension du groupe scolaire Jules Ferry, bénéficiaire la commune",
            "typepsc": "05",
            "stypepsc": "00",
            "idurba": IDURBA,
            "geometry": reserved.geometry,
        },
    ]
    _write_geojson(prescriptions, out / "prescription_surf.geojson", "prescription_surf", to_wgs84=True)

    streets = [
        {
            "name": s["name"],
            "highway": s["highway"],
            "maxspeed": s["maxspeed"],
            "oneway": s["oneway"],
            "bridge": s["bridge"],
            "geometry": shapely.LineString(s["coords"]),
        }
        for s in _streets()
    ]
    _write_geojson(streets, out / "streets.geojson", "streets")
    pipes = _pipes(layout["rng"])
    _write_geojson(pipes, out / "water_pipes.geojson", "water_pipes")
    from cimkit.datasets._water_network import build_water_network_inp

    inp = build_water_network_inp(
        pipes, layout["footprints"], dem, west=DEM_WEST, north=DEM_NORTH, cell=DEM_CELL
    )
    _write_bytes(out / "water_network.inp", inp.encode("utf-8"))
    _write_geojson(_pois(layout), out / "pois.geojson", "pois")
    _write_geojson(
        [{"name": "L'Essonnette", "waterway": "river", "geometry": _river_line()}],
        out / "river.geojson",
        "river",
    )
    _write_csv(
        out / "flood_scenarios.csv", ["return_period", "water_level_m"], [list(s) for s in FLOOD_SCENARIOS]
    )
    _write_geojson(
        [
            {k: f[k] for k in ("id", "use", "storeys", "height_m", "year_built", "geometry")}
            for f in layout["footprints"]
        ],
        out / "footprints.geojson",
        "footprints",
    )
    write_sample_recipe(out)  # after every source: it records their sha256
    _write_bytes(out / "README.md", _readme(layout, int(seed)).encode("utf-8"))

    files: list[dict[str, Any]] = []
    for name, text in DESCRIPTIONS.items():
        files.append({"path": name, "description": text})
    for spec in layout["specs"]:
        files.append(
            {
                "path": f"buildings/{spec.short_name}.ifc",
                "description": f"IFC4 model: {spec.name} ({spec.building_type}, {spec.storeys} storeys, {spec.length_unit}).",
            }
        )
    for item in files:
        path = out / item["path"]
        item["sha256"] = _sha256(path)
        item["bytes"] = path.stat().st_size
    files.sort(key=lambda item: item["path"])
    manifest = {
        "name": "cimkit sample city",
        "synthetic": True,
        "crs": CRS,
        "generator": "cimkit.datasets.generate_sample_city",
        "seed": int(seed),
        "licence": "MIT",
        "files": files,
    }
    _write_bytes(
        out / "manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    )
    return out


if __name__ == "__main__":  # pragma: no cover - command-line entry
    import sys

    logging.basicConfig(level=logging.INFO)
    target = sys.argv[1] if len(sys.argv) > 1 else "sample_data"
    logger.info("sample city written to %s", generate_sample_city(target))
