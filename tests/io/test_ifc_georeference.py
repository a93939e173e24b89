"""Georeferencing of IFC files: every branch, against hand-computed or pyproj-computed corners."""

from __future__ import annotations

import math
import warnings

import ifcopenshell.api.pset
import numpy as np
import pyproj
import pytest
import shapely

from cimkit.errors import GeoreferenceError
from cimkit.io.ifc import IfcGeoreferenceWarning, read_georeference, read_ifc
from cimkit.io.ifc._georeference import effective_scale
from tests.io import ifc_factory as F


def _corners_match(geom, expected: np.ndarray, tol: float = 0.01) -> None:
    """Every expected corner has a footprint vertex within ``tol`` and vice versa."""
    coords = np.asarray(shapely.get_coordinates(geom))
    ring = coords[:-1] if np.allclose(coords[0], coords[-1]) else coords
    assert len(ring) == len(expected)
    for corner in expected:
        assert np.min(np.hypot(*(ring - corner).T)) < tol, corner
    for vertex in ring:
        assert np.min(np.hypot(*(expected - vertex).T)) < tol, vertex


def _house(tmp_path, name, *, length_unit="METRE", schema="IFC4", storeys=1, true_north_deg=None):
    unit = 0.001 if length_unit == "MILLIMETRE" else 1.0
    f, project, body = F.new_project(schema=schema, length_unit=length_unit, true_north_deg=true_north_deg)
    F.add_house(f, project, body, unit=unit, storeys=storeys, materials=schema != "IFC2X3")
    return f, tmp_path / name


# ---------------------------------------------------------------- effective scale (pure rules)


def test_effective_scale_three_readings():
    # Scale absent / 1 -> the unit conversion alone (reading b)
    assert effective_scale(None, 0.001) == (0.001, None)
    assert effective_scale(1.0, 0.001) == (0.001, None)
    # Scale equal to the unit conversion -> applied once, with a warning (reading a)
    s, note = effective_scale(0.001, 0.001)
    assert s == 0.001 and "length-unit conversion" in note
    # a genuine grid scale on a metre model
    assert effective_scale(0.9996, 1.0) == (0.9996, None)
    # a genuine scale on a millimetre model multiplies the unit conversion
    s, note = effective_scale(0.9996, 0.001)
    assert s == pytest.approx(0.0009996) and note is None
    # map unit in feet (0.3048 m): a metre model needs 1/0.3048 map units per metre
    assert effective_scale(None, 1.0, 0.3048)[0] == pytest.approx(1 / 0.3048)


# ---------------------------------------------------------------- IfcMapConversion


def test_map_conversion_rotation_30_and_offsets(tmp_path):
    f, path = _house(tmp_path, "rot30.ifc")
    F.map_conversion(f, epsg=2154, eastings=651234.5, northings=6862345.25, height=35.0, rotation_deg=30)
    F.write(f, path)
    gdf = read_ifc(path, sandbox=False)
    assert gdf.crs.to_epsg() == 2154
    row = gdf.iloc[0]
    # corners by the IfcMapConversion formula written out by hand in ifc_factory.expected_corners
    _corners_match(row.geometry, F.expected_corners(651234.5, 6862345.25, 30))
    assert row.georef_method == "IfcMapConversion"
    assert row.georef_confidence == "high"
    # bottom of the slab at local z = 0 -> OrthogonalHeight; one storey: 0.3 m slab + 3.0 m wall
    assert row.base_elevation_m == pytest.approx(35.0)
    assert row.height_m == pytest.approx(3.3)
    assert row.ground_floor_elevation_m == pytest.approx(35.3)
    geo = read_georeference(path, sandbox=False)
    assert geo.rotation_deg == pytest.approx(30.0)
    assert geo.to_map(np.array([[10.0, 0.0, 1.0]])) == pytest.approx(
        np.array([[651234.5 + 10 * math.cos(math.radians(30)), 6862345.25 + 5.0, 36.0]])
    )


def test_millimetres_with_scale_0001_reads_as_unit_conversion(tmp_path):
    f, path = _house(tmp_path, "mm_scale.ifc", length_unit="MILLIMETRE")
    F.map_conversion(
        f, epsg=2154, eastings=650000, northings=6860000, height=12.0, rotation_deg=-45, scale=0.001
    )
    F.write(f, path)
    with pytest.warns(IfcGeoreferenceWarning, match="length-unit conversion"):
        gdf = read_ifc(path, sandbox=False)
    row = gdf.iloc[0]
    # the house is 10 m x 6 m: its corners must not be 1000x too small or too large
    _corners_match(row.geometry, F.expected_corners(650000, 6860000, -45))
    assert row.geometry.area == pytest.approx(60.0, abs=1e-3)
    assert row.height_m == pytest.approx(3.3)
    assert row.base_elevation_m == pytest.approx(12.0)
    assert row.georef_confidence == "high"


def test_millimetres_with_scale_1_applies_unit_first(tmp_path):
    f, path = _house(tmp_path, "mm_scale1.ifc", length_unit="MILLIMETRE")
    F.map_conversion(f, epsg=2154, eastings=650000, northings=6860000, rotation_deg=10, scale=1.0)
    F.write(f, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IfcGeoreferenceWarning)
        gdf = read_ifc(path, sandbox=False)
    _corners_match(gdf.iloc[0].geometry, F.expected_corners(650000, 6860000, 10))
    geo = read_georeference(path, sandbox=False)
    assert geo.unit_scale == pytest.approx(0.001)
    assert geo.effective_scale == pytest.approx(0.001)


def test_metre_model_with_grid_scale(tmp_path):
    f, path = _house(tmp_path, "grid_scale.ifc")
    F.map_conversion(f, epsg=2154, eastings=700000, northings=6600000, rotation_deg=0, scale=0.9996)
    F.write(f, path)
    gdf = read_ifc(path, sandbox=False, simplify_tolerance_m=0)
    # E = E0 + 0.9996 x: the 10 m edge becomes 9.996 m on the map
    _corners_match(gdf.iloc[0].geometry, F.expected_corners(700000, 6600000, 0, s=0.9996), tol=1e-4)


def test_reading_into_another_crs_matches_pyproj(tmp_path):
    f, path = _house(tmp_path, "to_wgs.ifc")
    F.map_conversion(f, epsg=2154, eastings=652000, northings=6862000, rotation_deg=30)
    F.write(f, path)
    gdf = read_ifc(path, crs="EPSG:3857", sandbox=False)
    assert gdf.crs.to_epsg() == 3857
    # independent: hand-formula corners in Lambert-93, then pyproj to Web Mercator
    corners = F.expected_corners(652000, 6862000, 30)
    t = pyproj.Transformer.from_crs(2154, 3857, always_xy=True)
    x, y = t.transform(corners[:, 0], corners[:, 1])
    _corners_match(gdf.iloc[0].geometry, np.column_stack([x, y]))
    steps = [s.action for s in gdf.attrs["provenance"].steps]
    assert "reproject" in steps and "georeference" in steps and "unit-scaling" in steps


# ---------------------------------------------------------------- IFC4X3 IfcRigidOperation


def test_rigid_operation_ifc4x3(tmp_path):
    f, path = _house(tmp_path, "rigid.ifc", schema="IFC4X3_ADD2")
    ctx = next(c for c in f.by_type("IfcGeometricRepresentationContext", include_subtypes=False))
    crs = f.create_entity("IfcProjectedCRS", Name="EPSG:7856")
    f.create_entity(
        "IfcRigidOperation",
        SourceCRS=ctx,
        TargetCRS=crs,
        FirstCoordinate=f.createIfcLengthMeasure(334000.0),
        SecondCoordinate=f.createIfcLengthMeasure(6250000.0),
        Height=5.0,
    )
    F.write(f, path)
    gdf = read_ifc(path, sandbox=False)
    assert gdf.crs.to_epsg() == 7856
    assert gdf.iloc[0].georef_method == "IfcRigidOperation"
    _corners_match(gdf.iloc[0].geometry, F.expected_corners(334000.0, 6250000.0, 0))
    assert gdf.iloc[0].base_elevation_m == pytest.approx(5.0)


# ---------------------------------------------------------------- IFC2X3 ePSet convention


def test_ifc2x3_epset_map_conversion_on_site(tmp_path):
    f, path = _house(tmp_path, "epset.ifc", schema="IFC2X3")
    site = f.by_type("IfcSite")[0]
    a, b = math.cos(math.radians(30)), math.sin(math.radians(30))
    conv = ifcopenshell.api.pset.add_pset(f, product=site, name="ePSet_MapConversion")
    ifcopenshell.api.pset.edit_pset(
        f,
        pset=conv,
        properties={
            "Eastings": 651000.0,
            "Northings": 6861000.0,
            "OrthogonalHeight": 40.0,
            "XAxisAbscissa": a,
            "XAxisOrdinate": b,
            "Scale": 1.0,
        },
    )
    crs = ifcopenshell.api.pset.add_pset(f, product=site, name="ePSet_ProjectedCRS")
    ifcopenshell.api.pset.edit_pset(f, pset=crs, properties={"Name": "EPSG:2154"})
    F.write(f, path)
    gdf = read_ifc(path, sandbox=False)
    row = gdf.iloc[0]
    assert row.georef_method == "ePSet_MapConversion"
    assert row.schema == "IFC2X3"
    _corners_match(row.geometry, F.expected_corners(651000, 6861000, 30))
    assert row.base_elevation_m == pytest.approx(40.0)


# ---------------------------------------------------------------- IfcSite lat / lon only


def _geodesic_corners(lon, lat, crs, local, north_deg=0.0):
    """Independent truth: walk from the site point along the ellipsoid (pyproj.Geod), then project.

    ``north_deg`` is the true-north rotation written in the model (counter-clockwise from +y).
    """
    geod = pyproj.Geod(ellps="WGS84")
    t = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    out = []
    for x, y in local:
        # angle of the local vector from true north, clockwise = azimuth
        azimuth = math.degrees(math.atan2(x, y)) + north_deg
        lon2, lat2, _ = geod.fwd(lon, lat, azimuth, math.hypot(x, y))
        out.append(t.transform(lon2, lat2))
    return np.array(out)


def test_latlon_only_projected_into_given_crs(tmp_path):
    f, path = _house(tmp_path, "latlon.ifc", true_north_deg=20.0)
    F.set_site_latlon(f, lat=48.8566, lon=2.3522, elevation=35.0)
    F.write(f, path)
    with pytest.warns(IfcGeoreferenceWarning, match="approximate"):
        gdf = read_ifc(path, crs="EPSG:2154", sandbox=False, simplify_tolerance_m=0)
    row = gdf.iloc[0]
    assert row.georef_method == "IfcSite-latlon" and row.georef_confidence == "low"
    expected = _geodesic_corners(2.3522, 48.8566, 2154, F.SLAB_OUTLINE, north_deg=20.0)
    _corners_match(row.geometry, expected)
    assert row.base_elevation_m == pytest.approx(35.0)
    steps = gdf.attrs["provenance"].steps
    assert any("approximate" in w for w in steps[0].params["warnings"])


def test_latlon_only_without_crs_uses_utm_zone(tmp_path):
    f, path = _house(tmp_path, "latlon_utm.ifc")
    F.set_site_latlon(f, lat=49.10043, lon=8.43654)
    F.write(f, path)
    with pytest.warns(IfcGeoreferenceWarning, match="UTM zone"):
        gdf = read_ifc(path, sandbox=False, simplify_tolerance_m=0)
    assert gdf.crs.to_epsg() == 32632  # Karlsruhe, 8.4 E: UTM zone 32 north
    _corners_match(gdf.iloc[0].geometry, _geodesic_corners(8.43654, 49.10043, 32632, F.SLAB_OUTLINE))


# ---------------------------------------------------------------- nothing, and the origin override


def test_no_georeferencing_is_refused(tmp_path):
    f, path = _house(tmp_path, "nothing.ifc")
    F.write(f, path)
    assert read_georeference(path, sandbox=False).method == "none"
    with pytest.raises(GeoreferenceError, match="origin=") as info:
        read_ifc(path, sandbox=False)
    assert info.value.path == str(path)
    with pytest.raises(GeoreferenceError, match="crs="):
        read_ifc(path, origin=(1.0, 2.0), sandbox=False)


def test_origin_override_with_rotation(tmp_path):
    f, path = _house(tmp_path, "origin.ifc", length_unit="MILLIMETRE")
    F.write(f, path)
    gdf = read_ifc(path, crs="EPSG:2154", origin=(653000.0, 6863000.0, 50.0, 90.0), sandbox=False)
    row = gdf.iloc[0]
    assert row.georef_method == "user-origin"
    # rotation 90: local x -> north, local y -> west (hand formula, millimetres converted to metres)
    _corners_match(row.geometry, F.expected_corners(653000.0, 6863000.0, 90))
    assert row.base_elevation_m == pytest.approx(50.0)


def test_origin_overrides_file_georeferencing_with_warning(tmp_path):
    f, path = _house(tmp_path, "override.ifc")
    F.map_conversion(f, epsg=2154, eastings=651000, northings=6861000)
    F.write(f, path)
    with pytest.warns(IfcGeoreferenceWarning, match="overridden"):
        gdf = read_ifc(path, crs="EPSG:2154", origin=(653000.0, 6862000.0), sandbox=False)
    _corners_match(gdf.iloc[0].geometry, F.expected_corners(653000.0, 6862000.0, 0))
