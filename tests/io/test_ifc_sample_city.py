"""read_ifc on the project's sample city (sample_data/buildings), against its index.csv and quantity sets."""

from __future__ import annotations

import math

import ifcopenshell
import ifcopenshell.util.element
import numpy as np
import pandas as pd
import pytest
import shapely

from cimkit.io.ifc import read_ifc


@pytest.fixture(scope="module")
def index(sample_city_dir):
    path = sample_city_dir / "buildings" / "index.csv"
    if not path.is_file():
        pytest.skip("the sample city has not been generated")
    return pd.read_csv(path).set_index("file")


def _ground_slab_area(path) -> float:
    """GrossArea of the lowest floor slab, from the file's own Qto_SlabBaseQuantities (raw ifcopenshell)."""
    f = ifcopenshell.open(str(path))
    slabs = [s for s in f.by_type("IfcSlab") if s.PredefinedType in ("FLOOR", "BASESLAB")]
    lowest = min(slabs, key=lambda s: ifcopenshell.util.element.get_container(s).Elevation)
    return float(ifcopenshell.util.element.get_psets(lowest)["Qto_SlabBaseQuantities"]["GrossArea"])


@pytest.mark.parametrize("name", ["maison_jaures_21.ifc", "maison_pasteur_12.ifc", "residence_gare.ifc"])
def test_sample_buildings(sample_city_dir, index, name):
    path = sample_city_dir / "buildings" / name
    meta = index.loc[name]
    gdf = read_ifc(path, sandbox=False)
    row = gdf.iloc[0]
    assert gdf.crs.to_epsg() == 2154 and row.georef_method == "IfcMapConversion"
    assert row.storeys == meta.storeys
    assert row.use == meta.use
    # the footprint covers the ground slab (walls stand on it): same area as its quantity set
    assert row.geometry.area == pytest.approx(_ground_slab_area(path), rel=1e-6)
    # the footprint's edges follow the model's rotation (index.csv), modulo 90 degrees
    rect = shapely.minimum_rotated_rectangle(row.geometry)
    (x0, y0), (x1, y1) = np.asarray(rect.exterior.coords)[:2]
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0)) % 90.0
    expected = meta.rotation_deg % 90.0
    # (0.01 degree: the file stores the axis direction and coordinates rounded)
    assert min(abs(angle - expected), 90.0 - abs(angle - expected)) < 0.01
