"""The package surface: light import, error tree, options, metadata files."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import cimkit
from cimkit import errors

REPO = Path(__file__).resolve().parents[1]


def test_import_is_light():
    code = (
        "import sys, cimkit; heavy = [m for m in ('pyvista', 'vtk', 'ifcopenshell', 'rasterio', 'numba', "
        "'matplotlib', 'geopandas') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_public_names_resolve():
    for name in ("CityModel", "read_model", "Raster", "Network", "set_options", "get_options", "datasets"):
        assert getattr(cimkit, name) is not None
    with pytest.raises(AttributeError):
        cimkit.not_a_name  # noqa: B018


def test_error_tree_and_messages():
    err = errors.MissingCRSError(
        "the layer has no CRS",
        path="a.gpkg",
        layer="parcels",
        entity="P1",
        hint="set it with gdf.set_crs(...)",
    )
    assert (
        isinstance(err, errors.CRSError)
        and isinstance(err, errors.CimkitError)
        and isinstance(err, ValueError)
    )
    assert (
        str(err)
        == "a.gpkg: layer 'parcels': entity P1: the layer has no CRS. Fix: set it with gdf.set_crs(...)"
    )
    assert issubclass(errors.ReaderCrashError, OSError) and issubclass(errors.CimkitIOError, OSError)
    assert issubclass(errors.LayerNotFoundError, KeyError)
    assert str(errors.FileFormatError("bad number", path="net.inp", line=12)) == "net.inp:12: bad number"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is errors.MissingCRSError and str(back) == str(err) and back.layer == "parcels"


def test_options_scoped_and_validated():
    before = cimkit.get_options()["snap_tolerance_m"]
    with cimkit.set_options(snap_tolerance_m=0.1):
        assert cimkit.get_options()["snap_tolerance_m"] == 0.1
    assert cimkit.get_options()["snap_tolerance_m"] == before
    with pytest.raises(errors.ValidationError, match="unknown option"):
        cimkit.set_options(colour="red")
    with pytest.raises(errors.ValidationError, match="invalid value"):
        cimkit.set_options(ifc_processes=0)


def test_metadata_files_agree():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "cimkit"
    assert meta["project"]["version"] == cimkit.__version__
    assert meta["project"]["scripts"]["cimkit"] == "cimkit.cli.main:main"
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["version"] == cimkit.__version__ and cff["license"] == "MIT" and cff["title"]
    assert "MIT License" in (REPO / "LICENSE").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_typed_marker_is_shipped():
    """PEP 561: the package says it is typed, and the marker is in the package data."""
    assert (REPO / "cimkit" / "py.typed").is_file()
    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "py.typed" in meta["tool"]["setuptools"]["package-data"]["cimkit"]
