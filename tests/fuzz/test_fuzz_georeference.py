"""Property-based tests of the IFC georeferencing resolver (cimkit.io.ifc.georeference).

Round trips against an independent implementation: ``ifcopenshell.util.geolocation`` (its
``enh2xyz`` inverts the IfcMapConversion formula of IFC4). For random origins, rotations and
scales, local -> map (cimkit) -> local (ifcopenshell) is the identity to 1e-6 m; and for
random IfcMapConversion attributes written into a real sample IFC file, the resolver returns
them (rotation normalised, scale read as the IFC4 rules say) and places points as they say.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cimkit.io.ifc import Georeference, read_georeference
from tests.fuzz._strategies import PROPERTY, READER_SHORT

SAMPLE_BUILDINGS = Path(__file__).resolve().parents[2] / "sample_data" / "buildings"

eastings = st.floats(-5e6, 5e6)
northings = st.floats(-1e7, 1e7)
heights = st.floats(-500, 5000)
rotations = st.floats(-720, 720)
units = st.sampled_from([1.0, 0.001, 0.01, 0.3048])  # metres per project length unit
factors = st.floats(0.999, 1.001)  # a grid scale factor on top of the unit conversion
local_points = st.lists(
    st.tuples(st.floats(-2000, 2000), st.floats(-2000, 2000), st.floats(-100, 300)), min_size=1, max_size=20
)


def _inverse(geo: Georeference, enh: np.ndarray) -> np.ndarray:
    """Map -> local (project units) with ifcopenshell's own implementation."""
    from ifcopenshell.util.geolocation import enh2xyz

    a, b = math.cos(math.radians(geo.rotation_deg)), math.sin(math.radians(geo.rotation_deg))
    return np.array(
        [
            enh2xyz(e, n, h, geo.eastings, geo.northings, geo.orthogonal_height, a, b, geo.effective_scale)
            for e, n, h in enh
        ]
    )


@PROPERTY
@given(eastings, northings, heights, rotations, units, factors, local_points)
def test_local_to_map_to_local_is_identity(east, north, height, rotation, unit, factor, points_m):
    geo = Georeference(
        method="user-origin",
        eastings=east,
        northings=north,
        orthogonal_height=height,
        rotation_deg=rotation,
        unit_scale=unit,
        effective_scale=unit * factor,
    )
    local = np.array(points_m) / unit  # in project units
    enh = geo.to_map(local)
    back = _inverse(geo, enh)
    np.testing.assert_allclose((back - local) * unit, 0.0, atol=1e-6)  # metres
    # the same points given in metres land on the same map positions
    np.testing.assert_allclose(geo.to_map(np.array(points_m), local_unit="metre"), enh, rtol=0, atol=1e-6)
    # distances are scaled by the factor only (the unit conversion is exact)
    if len(points_m) > 1:
        d_local = np.linalg.norm(np.diff(np.array(points_m)[:, :2], axis=0), axis=1)
        d_map = np.linalg.norm(np.diff(enh[:, :2], axis=0), axis=1)
        np.testing.assert_allclose(d_map, d_local * factor, rtol=1e-9, atol=1e-6)


# ----------------------------------------------------------------------------- through a file
def _with_conversion(source: Path, target: Path, **attributes: float | None) -> Path:
    import ifcopenshell

    f = ifcopenshell.open(str(source))
    (conversion,) = f.by_type("IfcMapConversion")
    for name, value in attributes.items():
        setattr(conversion, name, value)
    f.write(str(target))
    return target


@READER_SHORT
@given(
    st.sampled_from(["maison_lilas_3.ifc", "maison_jaures_21.ifc"]),
    st.floats(100_000, 1_200_000),
    st.floats(6_100_000, 7_100_000),
    st.floats(-10, 900),
    st.floats(-math.pi, math.pi),
    st.floats(0.05, 20),  # the direction's length: the resolver normalises it
    st.one_of(st.none(), factors),
    local_points,
)
def test_resolver_reads_back_random_map_conversions(
    tmp_path_factory, name, east, north, height, angle, length, factor, points_m
):
    millimetres = name == "maison_jaures_21.ifc"  # project length unit mm, Scale 0.001
    unit = 0.001 if millimetres else 1.0
    scale = 0.001 if millimetres else factor  # a millimetre model keeps its unit conversion
    path = _with_conversion(
        SAMPLE_BUILDINGS / name,
        tmp_path_factory.mktemp("geo") / name,
        Eastings=east,
        Northings=north,
        OrthogonalHeight=height,
        XAxisAbscissa=length * math.cos(angle),
        XAxisOrdinate=length * math.sin(angle),
        Scale=scale,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geo = read_georeference(path, sandbox=False)  # a file written here: trusted
    assert geo.method == "IfcMapConversion" and geo.crs.to_epsg() == 2154
    assert (geo.eastings, geo.northings, geo.orthogonal_height) == pytest.approx(
        (east, north, height), abs=1e-9
    )
    turn = (geo.rotation_deg - math.degrees(angle) + 180) % 360 - 180
    assert turn == pytest.approx(0, abs=1e-9)
    assert geo.unit_scale == pytest.approx(unit)
    expected_scale = 0.001 if millimetres else (factor if factor is not None else 1.0)
    assert geo.effective_scale == pytest.approx(expected_scale, rel=1e-12)
    local = np.array(points_m) / unit
    enh = geo.to_map(local)
    np.testing.assert_allclose((_inverse(geo, enh) - local) * unit, 0.0, atol=1e-6)
    # the origin of the local frame is the conversion's map origin
    np.testing.assert_allclose(geo.to_map(np.zeros((1, 3)))[0], [east, north, height], atol=1e-9)
