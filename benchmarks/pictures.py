"""Static maps and 3-D pictures of the sample city and of a generated 10 000-building city.

    python benchmarks/pictures.py                              # PNGs into ./pictures/
    python benchmarks/pictures.py --out DIR --city city10k --cache DIR/build
    python benchmarks/pictures.py --only sample                # the sample city alone
    python benchmarks/pictures.py --time-map 100000            # plot_city timing at 100k footprints

Each city is built with :func:`cimkit.build_city` from its recipe (``city.toml``: the sample's in
``sample_data/``, a generated city's from :func:`cimkit.datasets.generate_city`, e.g. the
a folder of ``python -m cimkit.datasets.city city10k --buildings 10000``), with every analysis (zoning, flood, carbon, 15-minute
accessibility). The built model is saved under ``--cache`` and read back on the next run
instead of being built again. For each city ``<name>`` it writes:

- ``<name>_map_city.png``: the whole city, buildings summarised (hexagons for a generated city,
  the zones for the sample town), mean height;
- ``<name>_map_district.png``: a 500 m district around the densest part, filled footprints
  coloured by height, with streets, POIs, the river and the hillshade;
- ``<name>_map_flood_ead.png``: expected annual damage (EUR/year), buildings without damage
  in light grey (summed per hexagon for a generated city);
- ``<name>_map_15min.png``: the 15-minute score (share of the service groups within a
  15-minute walk), mean per hexagon for a generated city;
- ``<name>_3d_top.png`` and ``<name>_3d_oblique.png``: terrain and LoD1 blocks coloured by
  height (:func:`cimkit.viz.plot_3d`, one shared origin); for the sample town also
  ``sample_3d_ifc.png``, its IFC buildings drawn with their own meshes;
- ``alt_texts.md``: the alt text of each map (``fig.cimkit_alt_text``).

Prints each file with the seconds it took. Renders without a display (Agg, VTK off screen).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

DPI = 110


def load_city(recipe: Path, cache: Path):
    """Return the model built from ``recipe`` with its analyses (read from ``cache`` if saved)."""
    from cimkit.model import read_model
    from cimkit.recipe import build_city

    saved = cache / "city.gpkg"
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the documented repairs of the inputs; not the subject here
        if saved.is_file():
            model = read_model(saved)
            how = "read"
        else:
            model = build_city(recipe, output=cache).model
            how = "built"
    print(
        f"{how} {recipe.parent.name}: {len(model.buildings):,} buildings in {time.perf_counter() - start:.0f} s"
    )
    return model


def densest_district(model, side_m: float = 500.0) -> tuple[float, float, float, float]:
    """A ``side_m`` square centred on the 100 m cell holding the most buildings."""
    points = model.buildings.geometry.representative_point()
    x, y = points.x.to_numpy(), points.y.to_numpy()
    cells, counts = np.unique(np.column_stack([x // 100, y // 100]), axis=0, return_counts=True)
    cx, cy = (cells[counts.argmax()] + 0.5) * 100
    return (cx - side_m / 2, cy - side_m / 2, cx + side_m / 2, cy + side_m / 2)


def _map(model, out: Path, name: str, alts: list[str], **kwargs) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cimkit.viz import plot_city

    start = time.perf_counter()
    ax = plot_city(model, figsize=(9.0, 9.0), dpi=DPI, **kwargs)
    path = out / name
    ax.figure.savefig(path, dpi=DPI, bbox_inches="tight")
    alts.append(f"- `{name}`: {ax.figure.cimkit_alt_text}")
    plt.close(ax.figure)
    print(f"{path}  {ax.cimkit_map_mode}  {time.perf_counter() - start:.1f} s")


def _shoot(model, out: Path, name: str, **kwargs) -> None:
    from cimkit.viz import plot_3d

    start = time.perf_counter()
    path = out / name
    plotter = plot_3d(model, off_screen=True, screenshot=path, **kwargs)
    plotter.close()
    print(f"{path}  {time.perf_counter() - start:.1f} s")


def pictures(model, out: Path, name: str, *, small: bool, alts: list[str]) -> None:
    """Write the maps and 3-D views of one city (see the module docstring)."""
    label = f"{model.name}"
    whole = "zones" if small else "hex"  # the whole town, summarised
    _map(
        model,
        out,
        f"{name}_map_city.png",
        alts,
        column="height_m",
        legend_label="height (m)",
        aggregate=whole,
        title=f"{label}: building height",
    )
    _map(
        model,
        out,
        f"{name}_map_district.png",
        alts,
        column="height_m",
        legend_label="height (m)",
        bbox=densest_district(model),
        aggregate="none",
        title=f"{label}: a district",
    )
    _map(
        model,
        out,
        f"{name}_map_flood_ead.png",
        alts,
        column="ead_eur",
        zero_as_none=True,
        statistic="sum",
        legend_label="expected annual damage (EUR/year)",
        aggregate="auto" if small else "hex",
        title=f"{label}: flood damage",
    )
    _map(
        model,
        out,
        f"{name}_map_15min.png",
        alts,
        column="score_15min",
        statistic="mean",
        legend_label="15-minute score (share of services)",
        aggregate="auto" if small else "hex",
        title=f"{label}: the 15-minute city",
    )
    _shoot(model, out, f"{name}_3d_top.png", column="height_m", camera="top")
    _shoot(model, out, f"{name}_3d_oblique.png", column="height_m", vertical_exaggeration=2.0)
    if small:
        _shoot(model, out, f"{name}_3d_ifc.png", column="use", ifc=True, vertical_exaggeration=2.0)


def time_map(n_buildings: int, out: Path) -> None:
    """Time plot_city -> PNG on ``n_buildings`` synthetic footprints (hexagons and footprints)."""
    import geopandas as gpd
    import shapely

    from cimkit.model import CityModel

    rng = np.random.default_rng(15)
    side = int(np.ceil(np.sqrt(n_buildings)))
    i, j = np.divmod(np.arange(n_buildings), side)
    cx, cy = 651_000.0 + j * 24.0, 6_847_000.0 + i * 24.0
    w, d = rng.uniform(8, 16, n_buildings), rng.uniform(8, 16, n_buildings)
    buildings = gpd.GeoDataFrame(
        {"height_m": rng.uniform(3.0, 30.0, n_buildings)},
        geometry=shapely.box(cx - w / 2, cy - d / 2, cx + w / 2, cy + d / 2),
        crs=2154,
    )
    model = CityModel(2154, name=f"{n_buildings:,} footprints")
    model.add_layer("buildings", buildings)
    alts: list[str] = []
    _map(model, out, f"time_{n_buildings}_hex.png", alts, column="height_m")
    _map(model, out, f"time_{n_buildings}_footprints.png", alts, column="height_m", aggregate="none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("pictures"))
    parser.add_argument(
        "--city",
        type=Path,
        default=None,
        help="a generated city's folder (with city.toml); default: generate 10,000 buildings into CACHE",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="where built models are saved and read back (default OUT/build)",
    )
    parser.add_argument("--only", choices=["sample", "city"], default=None)
    parser.add_argument("--time-map", type=int, default=0, metavar="N")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cache = args.cache or args.out / "build"
    if args.time_map:
        time_map(args.time_map, args.out)
        return

    from cimkit.datasets import sample_city_path

    alts = ["# Alt texts of the maps", ""]
    if args.only in (None, "sample"):
        sample = load_city(sample_city_path() / "city.toml", cache / "sample")
        pictures(sample, args.out, "sample", small=True, alts=alts)
    if args.only in (None, "city"):
        folder = args.city
        if folder is None:  # the same city every time: the generator is deterministic for a seed
            from cimkit.datasets import generate_city

            folder = generate_city(cache / "city10k", buildings=10_000, seed=2154)
        city = load_city(folder / "city.toml", cache / folder.name)
        pictures(city, args.out, folder.name, small=False, alts=alts)
    (args.out / "alt_texts.md").write_text("\n".join(alts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
