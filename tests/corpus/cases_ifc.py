"""Corpus cases: IFC files that are broken, hostile or implausible.

Most cases edit the text of the reference house of ``tests/io/ifc_factory.py`` (10 m x 6 m, on an
IfcMapConversion to EPSG:2154 at E 651000, N 6861000): a cut, a ``nan`` token, a loop, a wrong
Scale. The file-level problems are refused by the pass over the text before any IFC child
process starts, so these cases take milliseconds; the few that read a model reuse one small file.
Real files of the shared data (IFC2X3, IFC4, IFC4X3_ADD2) must read correctly.
"""

from __future__ import annotations

import re
import zipfile

import pytest

import cimkit
from cimkit.errors import CimkitError
from cimkit.io.ifc import read_georeference, read_ifc, read_ifc_model
from tests.corpus._registry import corpus_case
from tests.io import ifc_factory as F

HOUSE_BOX = (651000.0, 6861000.0, 651010.0, 6861006.0)
#: ~2.5x less CPU than OpenCASCADE on FZK-Haus and Duplex (docs/ifc.md); same footprints and heights
FAST = "hybrid-cgal-simple-opencascade"


def _house(tmp, name="house.ifc", **kwargs):
    return F.write_text(tmp / name, F.house_text(**kwargs))


def _edited(tmp, pattern, replacement, name="bad.ifc", count=1, **kwargs):
    """The reference house with ``pattern`` (a regex) replaced; fails if the pattern is absent."""
    text, n = re.subn(pattern, replacement, F.house_text(**kwargs), count=count)
    assert n >= 1, f"pattern {pattern!r} not in the reference house"
    return F.write_text(tmp / name, text)


def _expect(err_type, func, *args, **kwargs):
    """Call ``func``; re-raise the CimkitError after checking it names the file."""
    try:
        func(*args, **kwargs)
    except CimkitError as err:
        assert err.path is not None and str(args[0]).split("!")[0] in err.path, err.path
        raise
    raise AssertionError("no error raised")


# ------------------------------------------------------------------ file level


@corpus_case("ifc/empty-file", expect="error", code="IFC002")
def _empty(tmp, shared):
    path = tmp / "empty.ifc"
    path.write_bytes(b"")
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/png-renamed-ifc", expect="error", code="IFC003")
def _png(tmp, shared):
    path = tmp / "photo.ifc"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/csv-renamed-ifc", expect="error", code="IFC003")
def _csv(tmp, shared):
    path = tmp / "table.ifc"
    path.write_text("id,name\n1,house\n")
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/binary-garbage", expect="error", code="IFC004")
def _garbage(tmp, shared):
    import random

    path = tmp / "garbage.ifc"
    path.write_bytes(random.Random(13).randbytes(20_000))
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/truncated-half", expect="error", code="IFC005")
def _truncated(tmp, shared):
    text = F.house_text()
    path = F.write_text(tmp / "cut.ifc", text[: len(text) // 2])
    try:
        read_ifc(path)
    except CimkitError as err:
        assert err.line == text[: len(text) // 2].count("\n") + 1, err.line
        raise


@corpus_case("ifc/unsupported-schema", expect="error", code="IFC006")
def _schema(tmp, shared):
    path = _edited(tmp, r"FILE_SCHEMA\(\('IFC4'\)\)", "FILE_SCHEMA(('IFC4X3_RC3'))")
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/broken-step-parenthesis", expect="error", code="IFC007")
def _syntax(tmp, shared):
    # without the check, the parser drops every entity after this line (and the map conversion)
    path = _edited(tmp, r"(#\d+=IFCCARTESIANPOINT\(\(10\.,0\.\))\)", r"\1")
    try:
        read_ifc(path)
    except CimkitError as err:
        text = path.read_text().splitlines()
        assert "IFCCARTESIANPOINT((10.,0.);" in text[err.line - 1], (err.line, text[err.line - 1])
        assert err.entity == text[err.line - 1].split("=")[0]
        raise


@corpus_case("ifc/duplicate-entity-id", expect="error", code="IFC007")
def _duplicate(tmp, shared):
    path = _edited(tmp, r"#(\d+)=IFCPROJECTEDCRS", r"#1=IFCPROJECTEDCRS")
    _expect(CimkitError, read_ifc, path)


# ------------------------------------------------------------------ numbers


@corpus_case("ifc/nan-token-in-direction", expect="error", code="IFC008")
def _nan_direction(tmp, shared):
    # ifcopenshell reads the bare token as 0: the wall would be placed on a wrong axis
    path = _edited(tmp, r"IFCDIRECTION\(\(1\.,0\.,0\.\)\)", "IFCDIRECTION((nan,0.,0.))")
    try:
        read_ifc(path)
    except CimkitError as err:
        line = path.read_text().splitlines()[err.line - 1]
        assert "nan" in line and line.startswith(err.entity + "=")
        raise


@corpus_case("ifc/1e308-coordinate", expect="error", code="IFC008")
def _huge(tmp, shared):
    path = _edited(tmp, r"IFCCARTESIANPOINT\(\(10\.,0\.\)\)", "IFCCARTESIANPOINT((1.E308,0.))")
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/infinite-map-conversion", expect="error", code="IFC008")
def _inf_conversion(tmp, shared):
    path = _edited(tmp, r"(IFCMAPCONVERSION\(#\d+,#\d+,)651000\.", r"\g<1>1.E999")
    _expect(CimkitError, read_ifc, path)


# ------------------------------------------------------------------ references and cycles


@corpus_case("ifc/placement-cycle", expect="error", code="IFC010")
def _placement_cycle(tmp, shared):
    # the site's absolute placement made relative to the storey: site -> storey -> building -> site
    text = F.house_text()
    storey = re.findall(r"#(\d+)=IFCLOCALPLACEMENT\(#\d+,#\d+\);", text)[1]
    path = _edited(tmp, r"IFCLOCALPLACEMENT\(\$,", f"IFCLOCALPLACEMENT(#{storey},")
    try:
        read_ifc(path)
    except CimkitError as err:
        assert f"#{storey}" in str(err) and "loops" in str(err)
        raise


@corpus_case("ifc/aggregation-cycle", expect="error", code="IFC011")
def _aggregation_cycle(tmp, shared):
    # the project -> site relation turned into building -> site: site -> building -> site
    text = F.house_text()
    building = re.search(r"#(\d+)=IFCBUILDING\(", text).group(1)
    path = _edited(tmp, r"(IFCRELAGGREGATES\('[^']*',\$,\$,\$,)#1,", rf"\1#{building},")
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/dangling-placement", expect="error", code="IFC009")
def _dangling_placement(tmp, shared):
    # the building's placement points at a missing parent: it would be placed from the origin
    path = _edited(tmp, r"(#\d+=IFCLOCALPLACEMENT\()#(\d+)(,#\d+\);)", r"\g<1>#99999\3")
    try:
        read_ifc(path)
    except CimkitError as err:
        assert "#99999" in str(err) and "IfcLocalPlacement" in str(err)
        raise


@corpus_case("ifc/dangling-representation", expect="error", code="IFC009")
def _dangling_representation(tmp, shared):
    path = _edited(tmp, r"(IFCSLAB\('[^']*',\$,'Floor 0',\$,\$,#\d+,)#\d+", r"\g<1>#88888")
    _expect(CimkitError, read_ifc, path)


# ------------------------------------------------------------------ georeferencing and plausibility


@corpus_case("ifc/scale-1000-instead-of-0.001", expect="error", code="IFC012")
def _scale(tmp, shared):
    # a metre model with Scale 1000: every length x 1000, the 60 m2 house would cover 60 km2
    path = _edited(tmp, r"(IFCMAPCONVERSION\([^;]*),\$\);", r"\1,1000.);")
    _expect(CimkitError, read_ifc, path, sandbox=False)


@corpus_case("ifc/scale-override-by-origin", expect="repaired", code="IFC101")
def _scale_override(tmp, shared):
    # the caller places the model itself: the refused conversion is said and kept in provenance
    path = _edited(tmp, r"(IFCMAPCONVERSION\([^;]*),\$\);", r"\1,1000.);")
    model = read_ifc_model(path, crs="EPSG:2154", origin=(651000.0, 6861000.0), sandbox=False)
    assert model.buildings.geometry.iloc[0].bounds == pytest.approx(HOUSE_BOX, abs=1e-6)
    step = model.provenance.steps[0]
    assert step.action == "georeference" and step.params["method"] == "user-origin"
    assert any("Scale = 1000" in w for w in step.params["warnings"])


@corpus_case("ifc/millimetre-scale-0.001", expect="repaired", code="IFC101")
def _mm_scale(tmp, shared):
    # Scale = the mm -> m conversion (the exporters' convention): applied once, with a warning
    model = read_ifc_model(_house(tmp, length_unit="MILLIMETRE", scale=0.001), sandbox=False)
    footprint = model.buildings.geometry.iloc[0]
    assert footprint.bounds == pytest.approx(HOUSE_BOX, abs=1e-6)
    assert footprint.area == pytest.approx(60.0, abs=1e-6)
    steps = {step.action: step.params for step in model.provenance.steps}
    assert steps["unit-scaling"]["effective_scale"] == pytest.approx(0.001)
    assert any("length-unit conversion" in w for w in steps["georeference"]["warnings"])


@corpus_case("ifc/millimetres-declared-as-metres", expect="error", code="IFC013")
def _unit_lie(tmp, shared):
    # the numbers are millimetres but the unit says metre: a 10 km x 6 km "house"
    text = F.house_text(length_unit="MILLIMETRE")
    text = text.replace("IFCSIUNIT(*,.LENGTHUNIT.,.MILLI.,.METRE.)", "IFCSIUNIT(*,.LENGTHUNIT.,$,.METRE.)")
    path = F.write_text(tmp / "lie.ifc", text)
    with cimkit.set_options(placement="accept"):  # the size check stands on its own
        _expect(CimkitError, read_ifc, path, sandbox=False)


@corpus_case("ifc/wall-5-km-tall", expect="error", code="IFC013")
def _tall(tmp, shared):
    path = _edited(tmp, r"(IFCEXTRUDEDAREASOLID\(#\d+,#\d+,#\d+,)3\.\)", r"\g<1>5000.)")
    _expect(CimkitError, read_ifc, path, sandbox=False)


@corpus_case("ifc/unknown-epsg-name", expect="error", code="IFC014")
def _unknown_crs(tmp, shared):
    path = _edited(tmp, r"IFCPROJECTEDCRS\('EPSG:2154'", "IFCPROJECTEDCRS('EPSG:999999'")
    try:
        read_georeference(path, sandbox=False)
    except CimkitError as err:
        assert "EPSG:999999" in str(err) and err.hint and "crs=" in err.hint
        raise


# ------------------------------------------------------------------ limits and archives


@corpus_case("ifc/over-max-ifc-entities", expect="error", code="LIM030")
def _entities(tmp, shared):
    path = _house(tmp)
    with cimkit.set_options(max_ifc_entities=100):
        _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/over-max-input-mb", expect="error", code="LIM002")
def _input_mb(tmp, shared):
    text = F.house_text()
    path = F.write_text(tmp / "padded.ifc", text.replace("DATA;\n", "DATA;\n" + "\n" * (2 * 1024 * 1024), 1))
    with cimkit.set_options(max_input_mb=1):
        _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/ifczip-reads-its-member", expect="ok")
def _ifczip(tmp, shared):
    path = tmp / "house.ifczip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("house.ifc", F.house_text(storeys=2))
    model = read_ifc_model(path)
    row = model.buildings.iloc[0]
    assert row.geometry.bounds == pytest.approx(HOUSE_BOX, abs=1e-6)
    assert row.height_m == pytest.approx(6.6) and row.storeys == 2
    assert model.provenance.source_files[0].path.endswith("house.ifczip")


@corpus_case("ifc/ifczip-two-members", expect="error", code="IFC015")
def _ifczip_two(tmp, shared):
    path = tmp / "two.ifczip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.ifc", F.house_text())
        archive.writestr("b.ifc", F.house_text())
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/ifczip-bomb", expect="error", code="LIM004")
def _ifczip_bomb(tmp, shared):
    # a valid IFC padded with 64 MiB of blank lines: 1 000 times its compressed size
    path = tmp / "bomb.ifczip"
    text = F.house_text()
    head, tail = text.split("DATA;\n", 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("bomb.ifc", "w") as member:
        member.write((head + "DATA;\n").encode())
        block = b"\n" * (1024 * 1024)
        for _ in range(64):
            member.write(block)
        member.write(tail.encode())
    _expect(CimkitError, read_ifc, path)
    assert not list(tmp.glob("*.ifc")), "nothing extracted beside the archive"


# ------------------------------------------------------------------ real files


@corpus_case("ifc/real-ifc4-fzk-haus", expect="repaired", code="IFC101", needs_shared=True)
def _fzk(tmp, shared):
    # placed from IfcSite lat/lon only, in the site's UTM zone: an approximation, warned about
    gdf = read_ifc_model(
        shared / "ifc_kit_fzk_haus/AC20-FZK-Haus.ifc", sandbox=False, geometry_library=FAST
    ).buildings
    row = gdf.iloc[0]
    assert len(gdf) == 1 and row.schema == "IFC4" and gdf.crs.to_epsg() == 32632
    assert row.height_m == pytest.approx(6.3177, abs=1e-3) and row.storeys == 2


@corpus_case("ifc/real-ifc2x3-duplex", expect="repaired", code="IFC101", needs_shared=True)
def _duplex(tmp, shared):
    gdf = read_ifc_model(
        shared / "ifc_duplex_apartment/duplex.ifc", sandbox=False, geometry_library=FAST
    ).buildings
    row = gdf.iloc[0]
    assert row.schema == "IFC2X3" and gdf.crs.to_epsg() == 32616
    assert row.height_m == pytest.approx(6.6348, abs=1e-3) and row.storeys == 4


@corpus_case("ifc/real-ifc4x3-earthworks", expect="ok", needs_shared=True)
def _earthworks(tmp, shared):
    path = shared / "ifc43_earthworks_georef/Georeferencing-Earthworks-12d-1.ifc4x3_add2.ifc"
    geo = read_georeference(path, sandbox=False)
    assert geo.method == "IfcMapConversion" and geo.crs.to_epsg() == 7856
    assert (geo.eastings, geo.northings, geo.rotation_deg) == (0.0, 0.0, 0.0)


@corpus_case("ifc/real-ifc4x3-rc3-draft", expect="error", code="IFC006", needs_shared=True)
def _rc3(tmp, shared):
    _expect(CimkitError, read_ifc, shared / "ifc43_drainage_system/DrainageSystem-1-2.ifc")


@corpus_case("ifc/real-fzk-cut-in-half", expect="error", code="IFC005", needs_shared=True)
def _fzk_cut(tmp, shared):
    data = (shared / "ifc_kit_fzk_haus/AC20-FZK-Haus.ifc").read_bytes()
    path = tmp / "fzk-half.ifc"
    path.write_bytes(data[: len(data) // 2])
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/real-duplex-placement-cycle", expect="error", code="IFC010", needs_shared=True)
def _duplex_cycle(tmp, shared):
    text = (shared / "ifc_duplex_apartment/duplex.ifc").read_text(encoding="latin-1")
    absolute = re.search(r"#(\d+)\s*=\s*IFCLOCALPLACEMENT\(\$,", text)
    child = re.search(rf"#(\d+)\s*=\s*IFCLOCALPLACEMENT\(#{absolute.group(1)},", text)
    text = text.replace(absolute.group(0), absolute.group(0)[:-2] + f"#{child.group(1)},", 1)
    path = tmp / "duplex-cycle.ifc"
    path.write_text(text, encoding="latin-1")
    _expect(CimkitError, read_ifc, path)


@corpus_case("ifc/real-ifc4x3-drainage-with-origin", expect="repaired", code="IFC101", needs_shared=True)
def _drainage(tmp, shared):
    # no georeferencing in the file; its numbers are already ETRS-GK24 (EPSG:3878): origin (0, 0)
    path = shared / "ifc43_drainage_system/DrainageSystem-1-2.ifc4x3_add2.ifc"
    model = read_ifc_model(path, origin=(0.0, 0.0), crs="EPSG:3878", sandbox=False)
    row = model.buildings.iloc[0]
    assert model.schema == "IFC4X3_ADD2" and row.ifc_class == "IfcRoad"
    assert (row.n_pipesegment, row.n_distributionchamberelement) == (6, 7)  # MANIFEST counts
    minx, miny, maxx, maxy = row.geometry.bounds
    assert 24_500_000 < minx < maxx < minx + 100 and 6_800_000 < miny < maxy < miny + 100


@corpus_case("ifc/convert-ifczip-and-bomb", expect="ok")
def _convert_ifczip(tmp, shared):
    # `cimkit convert` on a folder: the .ifczip is converted, the bomb fails with its code
    from cimkit.cli.convert import run_convert

    inputs = tmp / "in"
    inputs.mkdir()
    with zipfile.ZipFile(inputs / "house.ifczip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("house.ifc", F.house_text())
    head, tail = F.house_text().split("DATA;\n", 1)
    with zipfile.ZipFile(inputs / "bomb.ifczip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.ifc", head + "DATA;\n" + "\n" * (40 * 1024 * 1024) + tail)
    report = run_convert([inputs], tmp / "out")
    status = {r["input"].rsplit("/", 1)[1]: (r["status"], r.get("code")) for r in report.records}
    assert status == {"house.ifczip": ("ok", None), "bomb.ifczip": ("failed", "LIM004")}, status
    import geopandas as gpd

    out = next((tmp / "out").rglob("house*.gpkg"))
    buildings = gpd.read_file(out, layer="buildings")
    assert buildings.geometry.iloc[0].bounds == pytest.approx(HOUSE_BOX, abs=1e-6)


@corpus_case("ifc/invalid-enumeration-found-by-fuzzing", expect="error", code="IFC007")
def _invalid_enum(tmp, shared):
    # a one-byte mutation found by a fuzz run: ifcopenshell reads the unknown enumeration as None
    # and its unit code raised AttributeError; the reader's door now types it
    path = _edited(tmp, r"\.SQUARE_METRE\.", ".SQUAR$_METRE.")
    _expect(CimkitError, read_ifc, path)
