"""EPANET .inp reader: counts and lengths against the MANIFEST of ../shared/data, units, errors."""

from __future__ import annotations

import numpy as np
import pytest

from cimkit import provenance
from cimkit.errors import FileFormatError, GeoreferenceError, PlacementError, PlacementWarning
from cimkit.io.epanet import read_epanet
from cimkit.options import set_options

# counts from ../shared/data/MANIFEST.md (checked there with wntr/EPANET)
EXPECTED = {
    "Net1": dict(junctions=9, reservoirs=1, tanks=1, pipes=12, pumps=1, km=19.4),
    "Net3": dict(junctions=92, reservoirs=2, tanks=3, pipes=117, pumps=2, km=65.7),
    "Anytown": dict(junctions=22, reservoirs=1, tanks=2, pipes=43, pumps=3, km=81.5),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_and_pipe_length_match_the_manifest(shared_data, name):
    net = read_epanet(shared_data / "epanet_networks" / f"{name}.inp")
    exp = EXPECTED[name]
    types = net.nodes["node_type"].value_counts()
    assert types.get("junction", 0) == exp["junctions"]
    assert types.get("reservoir", 0) == exp["reservoirs"]
    assert types.get("tank", 0) == exp["tanks"]
    links = net.edges["link_type"].value_counts()
    assert links.get("pipe", 0) == exp["pipes"]
    assert links.get("pump", 0) == exp["pumps"]
    pipes = net.edges[net.edges["link_type"] == "pipe"]
    assert pipes["length_m"].sum() / 1000 == pytest.approx(exp["km"], abs=0.1)
    assert net.crs is None
    assert net.report["components"] == 1


def test_net1_values_in_si_units(shared_data):
    net = read_epanet(shared_data / "epanet_networks" / "Net1.inp")
    nodes, links = net.nodes, net.edges
    # Net1 is in GPM, so feet and inches: 10530 ft = 3209.544 m, 18 in = 457.2 mm
    p10 = links.set_index("epanet_id").loc["10"]
    assert p10["length_m"] == pytest.approx(10530 * 0.3048)
    assert p10["diameter_mm"] == pytest.approx(457.2)
    assert p10["roughness"] == 100
    assert p10["status"] == "open"
    # total pipe length by hand: 10530 + 200 + 10 x 5280 = 63530 ft = 19363.944 m
    assert links.loc[links["link_type"] == "pipe", "length_m"].sum() == pytest.approx(19363.944)
    j11 = nodes.set_index("epanet_id").loc["11"]
    assert j11["elevation_m"] == pytest.approx(710 * 0.3048)
    assert j11["demand"] == 150
    assert j11["demand_lps"] == pytest.approx(150 * 3.785411784 / 60)
    tank = nodes.set_index("epanet_id").loc["2"]
    assert tank["node_type"] == "tank" and tank["tank_diameter_m"] == pytest.approx(50.5 * 0.3048)
    # coordinates are kept as written (schematic): node 10 at (20, 70)
    assert (nodes.set_index("epanet_id").loc["10"].geometry.coords[0]) == (20.0, 70.0)
    pump = links.set_index("epanet_id").loc["9"]
    assert pump["link_type"] == "pump" and pump["length_m"] == 0.0 and bool(pump["oneway"])
    assert nodes.attrs["flow_units"] == "GPM"


def test_net3_status_section_and_closed_pipe(shared_data):
    links = read_epanet(shared_data / "epanet_networks" / "Net3.inp").edges
    by_id = links.set_index("epanet_id")
    assert by_id.loc["330", "status"] == "closed"  # from [PIPES]
    assert by_id.loc["10", "status"] == "closed"  # pump 10 closed in [STATUS]


def test_crs_is_assigned_not_reprojected(shared_data):
    # Net1's coordinates are local: kept where they are on purpose (the placement check is accepted)
    with set_options(placement="accept"), pytest.warns(PlacementWarning, match="local coordinates"):
        net = read_epanet(shared_data / "epanet_networks" / "Net1.inp", crs="EPSG:2154")
    assert net.crs.to_epsg() == 2154
    assert net.nodes.geometry.iloc[0].coords[0] == (20.0, 70.0)


SI_INP = """[TITLE]
metric test
[JUNCTIONS]
;ID Elev Demand
 J1  12.5  2.0
 J2  10
[RESERVOIRS]
 R1  40
[PIPES]
 P1  R1  J1  120.5  150  0.1  0  Open
 P2  J1  J2  80     100  0.1  0  CV
[VALVES]
 V1  J2  J1  100  PRV  30  0
[DEMANDS]
 J2  1.5
 J2  0.5
[OPTIONS]
 Units LPS
 Headloss D-W
[COORDINATES]
 J1  0  0
 J2  80 0
 R1  -120.5 0
[VERTICES]
 P2  40 10
[END]
"""


def test_si_file_with_valves_demands_and_vertices(tmp_path):
    path = tmp_path / "metric.inp"
    path.write_text(SI_INP)
    net = read_epanet(path)
    nodes, links = net.nodes, net.edges
    by_node = nodes.set_index("epanet_id")
    assert by_node.loc["J1", "elevation_m"] == 12.5 and by_node.loc["J1", "demand_lps"] == 2.0
    assert by_node.loc["J2", "demand"] == 2.0  # [DEMANDS] 1.5 + 0.5 replaces [JUNCTIONS] 0
    assert by_node.loc["R1", "head_m"] == 40
    by_link = links.set_index("epanet_id")
    assert by_link.loc["P1", "length_m"] == 120.5 and by_link.loc["P1", "diameter_mm"] == 150
    assert by_link.loc["P2", "status"] == "cv" and bool(by_link.loc["P2", "oneway"])
    assert by_link.loc["V1", "valve_type"] == "PRV" and by_link.loc["V1", "length_m"] == 0
    assert list(by_link.loc["P2"].geometry.coords) == [(0, 0), (40, 10), (80, 0)]
    assert links.attrs["headloss"] == "D-W"
    assert np.isnan(by_link.loc["P1", "pump_parameters"] or np.nan)


@pytest.mark.parametrize(
    ("old", "new", "line", "match"),
    [
        # line numbers counted in SI_INP ([TITLE] is line 1)
        (" J1  12.5  2.0", " J1  12,5x  2.0", 5, "elevation '12,5x' is not a number"),
        (" P1  R1  J1  120.5", " P1  R1  J9  120.5", 10, "node 'J9' is not defined"),
        (" P2  J1  J2  80     100  0.1  0  CV", " P2  J1  J2  80  abc  0.1  0  CV", 11, "diameter"),
        (" V1  J2  J1  100  PRV", " V1  J2  J1  100  XYZ", 13, "valve type"),
        (" R1  -120.5 0", " R1  -120.5", 23, "at least 3 fields"),
    ],
)
def test_malformed_file_names_the_line(tmp_path, old, new, line, match):
    assert SI_INP.splitlines()[line - 1].startswith(old)  # the hand count is right
    path = tmp_path / "bad.inp"
    path.write_text(SI_INP.replace(old, new))
    with pytest.raises(FileFormatError, match=match) as err:
        read_epanet(path)
    assert err.value.line == line
    assert err.value.path == str(path)
    assert f"bad.inp:{line}" in str(err.value)


def test_missing_coordinates_name_the_node(tmp_path):
    path = tmp_path / "nocoord.inp"
    path.write_text(SI_INP.replace(" R1  -120.5 0\n", ""))
    with pytest.raises(FileFormatError, match="R1") as err:
        read_epanet(path)
    assert err.value.line == 8  # where R1 is defined


def test_not_an_epanet_file(tmp_path):
    path = tmp_path / "x.inp"
    path.write_text("[TITLE]\nhello\n")
    with pytest.raises(FileFormatError, match="not an EPANET network"):
        read_epanet(path)


def test_local_coordinates_need_origin_in_a_projected_crs(shared_data):
    net3 = shared_data / "epanet_networks" / "Net3.inp"
    with pytest.raises(PlacementError, match=r"local coordinates: pass origin="):
        read_epanet(net3, crs="EPSG:32610")
    local = read_epanet(net3)
    net = read_epanet(net3, crs="EPSG:32610", origin=(540000, 4215000))
    shift = np.array([540000.0, 4215000.0, 540000.0, 4215000.0])
    np.testing.assert_array_equal(net.nodes.total_bounds, local.nodes.total_bounds + shift)
    np.testing.assert_array_equal(net.edges.total_bounds, local.edges.total_bounds + shift)
    assert net.crs.to_epsg() == 32610
    steps = provenance.get(net).steps
    assert [s.params["origin"] for s in steps if s.action == "place"] == [[540000.0, 4215000.0]]
    assert "accept_placement" not in [s.action for s in steps]


def test_origin_rotation_checked_by_hand(tmp_path):
    path = tmp_path / "si.inp"
    path.write_text(SI_INP)
    net = read_epanet(path, crs="EPSG:2154", origin=(652000, 6861000, 0, 90))
    by_id = net.nodes.set_index("epanet_id").geometry
    # J2 at local (80, 0) turned 90 degrees counter-clockwise is (0, 80); R1 (-120.5, 0) is (0, -120.5)
    assert by_id["J2"].x == pytest.approx(652000.0, abs=1e-9) and by_id["J2"].y == pytest.approx(6861080.0)
    assert by_id["R1"].x == pytest.approx(652000.0, abs=1e-9) and by_id["R1"].y == pytest.approx(6860879.5)
    # the vertex of P2 at local (40, 10) goes to (-10, 40)
    p2 = net.edges.set_index("epanet_id").geometry["P2"]
    np.testing.assert_allclose(p2.coords[1], (651990.0, 6861040.0), rtol=0, atol=1e-9)


def test_origin_is_checked(tmp_path):
    path = tmp_path / "si.inp"
    path.write_text(SI_INP)
    with pytest.raises(GeoreferenceError, match="without crs"):
        read_epanet(path, origin=(652000, 6861000))
    with pytest.raises(GeoreferenceError, match="z must be 0"):
        read_epanet(path, crs="EPSG:2154", origin=(652000, 6861000, 5, 0))
    with pytest.raises(GeoreferenceError, match="origin must be"):
        read_epanet(path, crs="EPSG:2154", origin=(652000,))


# ---- hostile files: stable codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "line", "code"),
    [
        (" P1  R1  J1  120.5", " P1  R1  J9  120.5", 10, "NET002"),  # unknown node in a link
        (" J2  10", " J1  10", 6, "NET003"),  # junction id defined twice
        (" P2  J1  J2  80", " P1  J1  J2  80", 11, "NET003"),  # pipe id defined twice
        (" J1  12.5  2.0", " J1  nan  2.0", 5, "NET005"),  # NaN elevation
        (" J1  12.5  2.0", " J1  inf  2.0", 5, "NET005"),
    ],
)
def test_hostile_rows_have_codes_and_lines(tmp_path, old, new, line, code):
    assert SI_INP.splitlines()[line - 1].startswith(old)
    path = tmp_path / "bad.inp"
    path.write_text(SI_INP.replace(old, new, 1))
    with pytest.raises(FileFormatError) as err:
        read_epanet(path)
    assert (err.value.code, err.value.line) == (code, line)


def test_no_coordinates_section_is_refused_with_its_code(tmp_path):
    head, _, tail = SI_INP.partition("[COORDINATES]")
    path = tmp_path / "nocoordinates.inp"
    path.write_text(head + tail[tail.index("[VERTICES]") :].replace("[VERTICES]\n P2  40 10\n", ""))
    with pytest.raises(FileFormatError, match=r"no \[COORDINATES\] section") as err:
        read_epanet(path)
    assert err.value.code == "NET004" and err.value.entity == "J1" and err.value.line == 5
    assert "3 of 3 node(s)" in str(err.value)
    # partial: one node of three lacks its row -> the same code, naming that node
    path.write_text(SI_INP.replace(" J2  80 0\n", ""))
    assert " J2  80 0\n" in SI_INP
    with pytest.raises(FileFormatError, match="1 of 3") as err:
        read_epanet(path)
    assert (err.value.code, err.value.entity) == ("NET004", "J2")


@pytest.mark.shared_data
def test_net1_with_a_dangling_pipe_end_names_the_line(shared_data, tmp_path):
    text = (shared_data / "epanet_networks" / "Net1.inp").read_text()
    lines = text.splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.split()[:1] == ["110"])  # pipe 110 2 12
    fields = lines[number - 1].split(";")[0].split()
    assert fields[:3] == ["110", "2", "12"]
    lines[number - 1] = " ".join([fields[0], "99", *fields[2:]])
    path = tmp_path / "Net1.inp"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FileFormatError, match="'99'") as err:
        read_epanet(path)
    assert (err.value.code, err.value.line, err.value.entity) == ("NET002", number, "110")


def test_a_folder_or_binary_garbage_is_refused_typed(tmp_path):
    from cimkit.errors import CimkitIOError

    with pytest.raises(CimkitIOError):
        read_epanet(tmp_path)
    garbage = tmp_path / "garbage.inp"
    garbage.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(FileFormatError) as err:
        read_epanet(garbage)
    assert err.value.code == "NET005"
