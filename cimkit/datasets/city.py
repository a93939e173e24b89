"""Generated cities of any size: the sample city's files for N buildings, for scale tests.

:func:`generate_city` writes a synthetic French town of ``buildings`` buildings in EPSG:2154
(Essonne, south of x = 640 000, y = 6 830 000) with the same folder layout and file kinds as
``sample_data/``, so ``cimkit.build_city(folder / "city.toml")`` runs on it unchanged. See
``docs/generated-city.md`` for the plan (street grid, districts, zones, lots, river valley),
the densities and the timings.

Run ``python -m cimkit.datasets.city FOLDER --buildings 100000`` from the command line.
Generated cities are never committed: make them where you need them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from cimkit._atomic import write_bytes_atomic
from cimkit.datasets._city_buildings import make_buildings
from cimkit.datasets._city_plan import Plan, grid_size, make_diagonals, make_grid, make_parcels, make_zones
from cimkit.datasets._city_tables import (
    _footprint_table,
    _parcel_table,
    _write_dem,
    _write_geojson,
    _write_parquet,
    _zone_table,
)
from cimkit.datasets._layout import CRS, ZONE_RULES
from cimkit.datasets.generator import _write_csv  # the sample city's CSV writer: the same bytes
from cimkit.errors import InputError
from cimkit.io.plu import RULE_COLUMNS

__all__ = ["generate_city"]

logger = logging.getLogger(__name__)

DESCRIPTIONS = {
    "README.md": "What this generated city is: size, extent, density, seed.",
    "buildings/index.csv": "Metadata of the IFC buildings (use, type, storeys, unit, rotation, parcel, permit year).",
    "parcels.geojson": "Cadastral parcels, Etalab cadastre fields, EPSG:4326.",
    "zone_urba.geojson": "PLU zoning (CNIG zone_urba, lower-case GPU field names), EPSG:4326.",
    "zone_rules.csv": "Simplified PLU rules per zone, joined on libelle.",
    "prescription_surf.geojson": "PLU surface prescriptions (espace boisé classé), EPSG:4326.",
    "streets.geojson": "Street centre lines (one segment per block side) with OSM highway classes, EPSG:2154.",
    "water_pipes.geojson": "Drinking-water mains under the streets, EPSG:2154.",
    "water_network.inp": "The water mains as an EPANET 2 model (water tower, H-W roughness, demands), EPSG:2154.",
    "pois.geojson": "Points of interest (schools, shops, health, parks, bus stops), EPSG:2154.",
    "dem.tif": "Terrain model, float32, nodata -9999, EPSG:2154, heights in m NGF-IGN69.",
    "river.geojson": "River centre line (flood source), EPSG:2154.",
    "flood_scenarios.csv": "Water levels (m NGF-IGN69) of the 10-, 100- and 1000-year floods.",
    "footprints.geojson": "Cadastre building footprints (bâti) of the whole town, IFC buildings included, EPSG:2154.",
    "city.toml": "The recipe that rebuilds this city with `cimkit build` (sources, sha256, analyses, outputs).",
    "footprints.parquet": "Cadastre building footprints (bâti), GeoParquet, EPSG:2154.",
    "parcels.parquet": "Cadastral parcels, Etalab cadastre fields, GeoParquet, EPSG:2154.",
    "zone_urba.parquet": "PLU zoning (CNIG zone_urba fields), GeoParquet, EPSG:2154.",
}


# ----------------------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------------------
def _check(buildings: Any, ifc_share: Any, seed: Any, folder: Path) -> None:
    if (
        isinstance(buildings, bool)
        or not isinstance(buildings, (int, np.integer))
        or not 10 <= buildings <= 5_000_000
    ):
        raise InputError(
            f"'buildings' must be an integer from 10 to 5,000,000; {buildings!r} was given.",
            hint="pass e.g. --buildings 10000",
            code="CTY001",
        )
    if (
        isinstance(ifc_share, bool)
        or not isinstance(ifc_share, (int, float))
        or not 0.0 <= float(ifc_share) <= 0.2
    ):
        raise InputError(
            f"'ifc_share' must be a number from 0 to 0.2; {ifc_share!r} was given.",
            hint="pass e.g. --ifc-share 0.01",
            code="CTY002",
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(
            f"'seed' must be a non-negative integer; {seed!r} was given.",
            hint="pass e.g. --seed 2154",
            code="CTY003",
        )
    if folder.exists() and not folder.is_dir():
        raise InputError(
            "the destination exists and is not a folder",
            path=folder,
            hint="pass a folder path (it is created if missing)",
            code="CTY004",
        )


def _plan(buildings: int, seed: int) -> tuple[Plan, np.random.Generator]:
    for attempt in range(20):
        rng = np.random.default_rng([seed, attempt])
        plan = make_grid(*grid_size(buildings, attempt))
        make_zones(plan, rng)
        make_diagonals(plan)
        make_parcels(plan, rng)
        if make_buildings(plan, rng, buildings):
            return plan, rng
    raise RuntimeError("the city grid never held enough buildings")  # pragma: no cover


def _sort_buildings(plan: Plan, ifc: np.ndarray) -> np.ndarray:
    """Spatial order (north to south, west to east), as a cadastre listing; returns ``ifc`` reordered."""
    b = plan.buildings
    order = np.lexsort((np.round((b["x0"] + b["x1"]) / 2, 1), -np.round((b["y0"] + b["y1"]) / 2, 1)))
    plan.buildings = {name: values[order] for name, values in b.items()}
    return ifc[order]


def _write_ifc(
    out: Path, plan: Plan, ifc: np.ndarray, ground: np.ndarray, numero: np.ndarray, seed: int
) -> None:
    """Write ``buildings/*.ifc`` and ``buildings/index.csv``; names like "Maison 12 Rue des Lilas"."""
    from cimkit.datasets import _city_layers as layers
    from cimkit.datasets._city_ifc import TEMPLATES, write_ifc_copies

    b, p = plan.buildings, plan.parcels
    (out / "buildings").mkdir(parents=True, exist_ok=True)
    labels = {"maison": "Maison", "bureaux": "Bureaux", "commerce": "Commerce", "ecole": "École"}
    keys = list(TEMPLATES)
    chosen = np.nonzero(ifc >= 0)[0]
    names = []
    for i in chosen.tolist():
        lot = int(b["parcel"][i])
        k = int(p["block_line"][lot]) + (1 if p["front_north"][lot] else 0)
        street = layers.ew_street(plan, k)[0]
        names.append(f"{labels[keys[ifc[i]].split('_')[0]]} {int(numero[lot])} {street}")
    start = time.process_time()
    index_rows = write_ifc_copies(out, plan, ifc, ground, names, seed)
    logger.info(
        "IFC: %d files (templates + copies) in %.1f s of CPU", len(index_rows), time.process_time() - start
    )
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


def _write_full(
    out: Path, plan: Plan, rng: np.random.Generator, seed: int, ifc_share: float
) -> dict[str, Any]:
    """Every file of the full city but the recipe, README and manifest; returns summary numbers."""
    import shapely

    from cimkit.datasets import _city_layers as layers
    from cimkit.datasets._city_ifc import choose_ifc

    count = plan.buildings["x0"].size
    parcel_cols = _parcel_table(plan, rng)
    ifc = _sort_buildings(plan, choose_ifc(plan, rng, round(ifc_share * count)))
    b = plan.buildings
    dem = layers.terrain(plan, seed)
    west, north, cell, _, _ = layers.dem_grid(plan)
    _write_dem(out / "dem.tif", dem, west, north, cell)
    cx, cy = (b["x0"] + b["x1"]) / 2.0, (b["y0"] + b["y1"]) / 2.0
    ground = layers.sample_dem(dem, plan, cx, cy)

    _write_ifc(out, plan, ifc, ground, parcel_cols["numero"], seed)
    _write_geojson(parcel_cols, out / "parcels.geojson", "parcels", to_wgs84=True)
    _write_geojson(_zone_table(plan), out / "zone_urba.geojson", "zone_urba", to_wgs84=True)
    _write_csv(out / "zone_rules.csv", list(RULE_COLUMNS), [list(rule) for rule in ZONE_RULES])
    z = plan.zones
    parks = z["geometry"][z["park"]]
    _write_geojson(
        {
            "libelle": np.full(parks.size, "EBC"),
            "txt": np.full(
                parks.size,
                "Espace boisé classé à conserver ou à créer (article L113-1 du code de l'urbanisme)",
            ),
            "typepsc": np.full(parks.size, "01"),
            "stypepsc": np.full(parks.size, "00"),
            "idurba": np.full(parks.size, "91999_PLU_20230615"),
            "geometry": shapely.buffer(parks, -8.0, join_style="mitre"),
        },
        out / "prescription_surf.geojson",
        "prescription_surf",
        to_wgs84=True,
    )
    road = layers.streets(plan)
    _write_geojson(road, out / "streets.geojson", "streets")
    pipe_rows = layers.pipes(road, rng)
    _write_geojson(pipe_rows, out / "water_pipes.geojson", "water_pipes")
    floor = (b["x1"] - b["x0"]) * (b["y1"] - b["y0"]) * b["storeys"]
    inp = layers.water_network_inp(pipe_rows, plan, dem, np.column_stack([cx, cy]), floor)
    write_bytes_atomic(out / "water_network.inp", inp.encode("utf-8"))
    poi = layers.pois(plan, rng)
    _write_geojson(
        {
            "name": poi["name"],
            "category": poi["category"],
            "capacity": np.array(poi["capacity"], dtype=float),
            "geometry": shapely.points(poi["x"], poi["y"]),
        },
        out / "pois.geojson",
        "pois",
    )
    _write_geojson(
        {"name": ["L'Essonnette"], "waterway": ["river"], "geometry": [layers.river_line(plan)]},
        out / "river.geojson",
        "river",
    )
    levels = layers.flood_levels(ground)
    _write_csv(out / "flood_scenarios.csv", ["return_period", "water_level_m"], [list(s) for s in levels])
    _write_geojson(_footprint_table(plan, rng, ifc), out / "footprints.geojson", "footprints")
    return {
        "ifc": int((ifc >= 0).sum()),
        "streets": len(road["name"]),
        "pois": len(poi["name"]),
        "dem_shape": dem.shape,
        "dem_cell": cell,
        "flood_levels": levels,
        "flooded_share": [float((ground < lv).mean()) for _, lv in levels],
    }


def _write_recipe(out: Path, count: int, seed: int, has_ifc: bool) -> None:
    from cimkit.datasets._recipe import _TEMPLATE, _digest

    ifc = sorted(q.relative_to(out).as_posix() for q in out.glob("buildings/*.ifc"))
    text = _TEMPLATE.format(
        parcels=_digest(out, "parcels.geojson"),
        zones=_digest(out, "zone_urba.geojson", "zone_rules.csv"),
        prescriptions=_digest(out, "prescription_surf.geojson"),
        pois=_digest(out, "pois.geojson"),
        river=_digest(out, "river.geojson"),
        ifc=_digest(out, *ifc, "buildings/index.csv") if ifc else "",
        footprints=_digest(out, "footprints.geojson"),
        road=_digest(out, "streets.geojson"),
        water=_digest(out, "water_pipes.geojson"),
        dem=_digest(out, "dem.tif"),
    )
    text = text.replace(
        "# The cimkit sample city, as a recipe: `cimkit build sample_data/city.toml --output build`.",
        f"# A cimkit generated city ({count:,} buildings, seed {seed}), as a recipe: `cimkit build city.toml --output build`.",
    ).replace('name = "sample city"', f'name = "generated city {count}"')
    text = text.replace(
        'licence = "MIT (synthetic sample data generated by cimkit)"',
        'licence = "MIT (synthetic data generated by cimkit.datasets.generate_city)"',
    )
    if not has_ifc:
        text = re.sub(r"\[sources\.buildings\.ifc\]\n(.*\n)*?\n", "", text)
    write_bytes_atomic(out / "city.toml", text.encode("utf-8"))


def _readme(count: int, seed: int, plan: Plan, summary: dict[str, Any], footprints_only: bool) -> str:
    x0, y0, x1, y1 = plan.extent
    area = (x1 - x0) * (y1 - y0) / 1e6
    lines = [
        f"# A cimkit generated city: {count:,} buildings",
        "",
        f"Synthetic, deterministic: `cimkit.datasets.generate_city(folder, buildings={count}, seed={seed}"
        f"{', footprints_only=True' if footprints_only else ''})`. Nothing here describes a real place.",
        "",
        f"- Extent (EPSG:2154): x {x0:.0f}-{x1:.0f}, y {y0:.0f}-{y1:.0f} ({area:.1f} km², "
        f"{count / area:,.0f} buildings per km²).",
        f"- {plan.nx} x {plan.ny} street blocks, {plan.parcels['x0'].size:,} parcels, "
        f"{plan.zones['libelle'].size:,} PLU zones.",
    ]
    if not footprints_only:
        lines += [
            f"- {summary['ifc']:,} IFC buildings (`buildings/`), {summary['streets']:,} street segments, "
            f"{summary['pois']:,} points of interest.",
            f"- DEM {summary['dem_shape'][1]} x {summary['dem_shape'][0]} cells of {summary['dem_cell']:g} m.",
            "- Flood levels (m NGF-IGN69): "
            + ", ".join(f"{rp}-year {lv:.2f}" for rp, lv in summary["flood_levels"])
            + ".",
        ]
    lines += [
        "",
        "See docs/generated-city.md in cimkit for how it is made; `manifest.json` lists every file's sha256.",
        "",
    ]
    return "\n".join(lines)


def _write_manifest(out: Path, names: list[str], count: int, seed: int, footprints_only: bool) -> None:
    files = []
    for name in sorted(names):
        path = out / name
        description = DESCRIPTIONS.get(name, f"IFC4 model of a generated building ({name}).")
        files.append(
            {
                "path": name,
                "description": description,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "bytes": path.stat().st_size,
            }
        )
    manifest = {
        "name": f"cimkit generated city ({count} buildings)",
        "synthetic": True,
        "crs": CRS,
        "generator": "cimkit.datasets.generate_city",
        "seed": int(seed),
        "buildings": int(count),
        "footprints_only": bool(footprints_only),
        "licence": "MIT",
        "files": files,
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(out / "manifest.json", text.encode("utf-8"))


def generate_city(
    folder: str | os.PathLike[str],
    *,
    buildings: int = 10_000,
    ifc_share: float = 0.01,
    seed: int = 2154,
    footprints_only: bool = False,
) -> Path:
    """Write a synthetic city of ``buildings`` buildings into ``folder`` and return the folder.

    The city has the sample city's files (``sample_data/``) at any size: IFC4 buildings
    (``buildings/*.ifc`` + ``index.csv``, ``ifc_share`` of them), the cadastre's footprints of
    every building, Etalab parcels, a CNIG PLU (zones, rules, prescriptions), a street grid
    with avenues, diagonals and bridges, water mains (GeoJSON and EPANET), points of interest,
    a 5 m DEM with a river valley, three flood scenarios, a ``city.toml`` recipe and a
    ``manifest.json``; ``cimkit.build_city(folder / "city.toml")`` runs on it unchanged.
    Density: about 1,300-1,600 buildings per km² (a French suburban town with an old centre).

    Parameters
    ----------
    folder
        Destination folder; created if missing. Its files of the same names are overwritten
        (atomically); other files are left alone.
    buildings
        Number of buildings, exactly (10 to 5,000,000).
    ifc_share
        Share of the buildings written as IFC files (0 to 0.2); their footprints are also in
        the cadastre footprints, as in the sample city.
    seed
        Seed of every random choice; the same seed and size give byte-identical files.
    footprints_only
        Write only ``footprints.parquet``, ``parcels.parquet``, ``zone_urba.parquet`` and
        ``zone_rules.csv`` (GeoParquet, EPSG:2154), for very large regions: no IFC, DEM,
        networks or recipe.

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    cimkit.errors.InputError
        ``buildings``, ``ifc_share`` or ``seed`` out of range (CTY001-CTY003), or ``folder``
        exists and is not a folder (CTY004).

    Examples
    --------
    >>> import json, tempfile
    >>> from cimkit.datasets import generate_city
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = generate_city(tmp, buildings=200, footprints_only=True)
    ...     manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    >>> manifest["buildings"], [f["path"] for f in manifest["files"]]
    (200, ['README.md', 'footprints.parquet', 'parcels.parquet', 'zone_rules.csv', 'zone_urba.parquet'])
    """
    out = Path(folder)
    _check(buildings, ifc_share, seed, out)
    out.mkdir(parents=True, exist_ok=True)
    count, seed = int(buildings), int(seed)
    logger.info("writing a city of %d buildings into %s (seed %d)", count, out, seed)
    plan, rng = _plan(count, seed)
    summary: dict[str, Any] = {}
    if footprints_only:
        parcels = _parcel_table(plan, rng)
        _sort_buildings(plan, np.full(count, -1))
        _write_parquet(_footprint_table(plan, rng, None), out / "footprints.parquet")
        _write_parquet(parcels, out / "parcels.parquet")
        _write_parquet(_zone_table(plan), out / "zone_urba.parquet")
        _write_csv(out / "zone_rules.csv", list(RULE_COLUMNS), [list(rule) for rule in ZONE_RULES])
        names = ["footprints.parquet", "parcels.parquet", "zone_urba.parquet", "zone_rules.csv"]
    else:
        summary = _write_full(out, plan, rng, seed, float(ifc_share))
        _write_recipe(out, count, seed, summary["ifc"] > 0)
        names = [n for n in DESCRIPTIONS if n.endswith((".geojson", ".csv", ".tif", ".inp", ".toml"))]
        names += sorted(q.relative_to(out).as_posix() for q in out.glob("buildings/*.ifc"))
        if not summary["ifc"]:
            names.remove("buildings/index.csv")
    write_bytes_atomic(
        out / "README.md", _readme(count, seed, plan, summary, footprints_only).encode("utf-8")
    )
    _write_manifest(out, [*names, "README.md"], count, seed, footprints_only)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m cimkit.datasets.city FOLDER --buildings N``."""
    summary = (generate_city.__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m cimkit.datasets.city", description=summary)
    parser.add_argument("folder")
    parser.add_argument("--buildings", type=int, default=10_000)
    parser.add_argument("--ifc-share", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=2154)
    parser.add_argument("--footprints-only", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        generate_city(
            args.folder,
            buildings=args.buildings,
            ifc_share=args.ifc_share,
            seed=args.seed,
            footprints_only=args.footprints_only,
        )
    except InputError as err:
        print(f"error[{err.code}]: {err}", file=sys.stderr)
        return 2
    print(Path(args.folder).resolve())
    return 0


if __name__ == "__main__":  # pragma: no cover - command-line entry
    sys.exit(main())
