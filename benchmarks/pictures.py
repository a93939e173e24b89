"""3-D pictures of the sample city and of a generated 10 000-building town, rendered off screen.

    python benchmarks/pictures.py                    # PNGs into ./pictures/
    python benchmarks/pictures.py --out DIR --n-buildings 10000

Writes, with :func:`cimkit.viz.plot_3d` (terrain and buildings on one origin):

- ``sample_3d_top.png``: the sample city seen from straight above, blocks coloured by height;
- ``sample_3d_oblique.png``: the same from the south-east, relief exaggerated 2 times;
- ``sample_3d_use.png``: the sample city coloured by use (Okabe-Ito categories);
- ``town10k_3d_oblique.png`` and ``town10k_3d_top.png``: a generated town of ``--n-buildings``
  blocks on a hilly DEM with a valley, coloured by height.

Prints each file with the time it took. Uses pyvista (a dependency of cimkit); renders
without a display (VTK's off-screen rendering).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

X0, Y0 = 651_000.0, 6_847_000.0  # Lambert-93 (EPSG:2154): a place in France


def generated_town(n_buildings: int, seed: int = 15):
    """A CityModel: ``n_buildings`` rectangular blocks on a grid of streets over a hilly 5 m DEM."""
    import geopandas as gpd
    import pandas as pd
    import shapely
    from affine import Affine
    from scipy.ndimage import gaussian_filter

    from cimkit.model import CityModel
    from cimkit.raster import Raster

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_buildings)))
    pitch = 24.0  # m between plot centres: 16 m blocks and 8 m streets
    extent = side * pitch + 200.0
    cells = int(extent / 5.0)
    hills = gaussian_filter(rng.normal(size=(cells, cells)), 25) * 600.0
    cols = np.arange(cells)
    valley = -12.0 * np.exp(-(((cols - cells * 0.45) / (cells * 0.05)) ** 2))  # a north-south valley
    values = 60.0 + hills + valley[None, :]
    dem = Raster(values, Affine(5.0, 0.0, X0, 0.0, -5.0, Y0 + cells * 5.0), crs=2154, units="m")

    i, j = np.divmod(np.arange(n_buildings), side)
    cx = X0 + 100.0 + j * pitch + pitch / 2
    cy = Y0 + 100.0 + i * pitch + pitch / 2
    w = rng.uniform(8.0, 16.0, n_buildings)
    d = rng.uniform(8.0, 16.0, n_buildings)
    footprints = shapely.box(cx - w / 2, cy - d / 2, cx + w / 2, cy + d / 2)
    # taller towards the centre, as in a town centre
    r = np.hypot(cx - cx.mean(), cy - cy.mean()) / (side * pitch / 2)
    height = np.clip(rng.lognormal(np.log(6.0 + 18.0 * np.clip(1 - r, 0, 1)), 0.3), 3.0, 60.0)
    buildings = gpd.GeoDataFrame(
        {"height_m": np.round(height, 1)},
        geometry=footprints,
        index=pd.Index([f"B{k:05d}" for k in range(n_buildings)], name="building_id"),
        crs=2154,
    )
    model = CityModel(2154, name=f"generated town of {n_buildings} buildings")
    model.add_layer("buildings", buildings)
    model.set_dem(dem)
    return model


def _shoot(model, out: Path, name: str, **kwargs) -> None:
    from cimkit.viz import plot_3d

    start = time.perf_counter()
    path = out / name
    plotter = plot_3d(model, off_screen=True, screenshot=path, **kwargs)
    plotter.close()
    print(f"{path}  {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("pictures"))
    parser.add_argument("--n-buildings", type=int, default=10_000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from cimkit.datasets import load_sample_city

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's documented repairs; not the subject here
        sample = load_sample_city()
    _shoot(sample, args.out, "sample_3d_top.png", column="height_m", camera="top")
    _shoot(sample, args.out, "sample_3d_oblique.png", column="height_m", vertical_exaggeration=2.0)
    _shoot(sample, args.out, "sample_3d_use.png", column="use", vertical_exaggeration=2.0)

    start = time.perf_counter()
    town = generated_town(args.n_buildings)
    print(f"generated {len(town.buildings)} buildings in {time.perf_counter() - start:.1f} s")
    _shoot(town, args.out, "town10k_3d_oblique.png", column="height_m")
    _shoot(town, args.out, "town10k_3d_top.png", column="height_m", camera="top")


if __name__ == "__main__":
    main()
