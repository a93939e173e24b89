"""Tests of cimkit.analysis.flood.hydrology: fill, D8, accumulation, HAND."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from cimkit.analysis.flood import (
    compute_flow_accumulation,
    compute_flow_directions,
    compute_hand,
    compute_hand_depth,
    compute_stream_mask,
    fill_depressions,
)
from cimkit.errors import GeographicCRSError, InputError
from cimkit.raster import Raster

CODES = {(0, 1): 1, (1, 1): 2, (1, 0): 4, (1, -1): 8, (0, -1): 16, (-1, -1): 32, (-1, 0): 64, (-1, 1): 128}


def valley(nrows: int = 10, ncols: int = 7, cell: float = 10.0) -> Raster:
    """A straight valley: HAND is exactly |col - 3| metres.

    The stream in column 3 falls 0.1 m per row southwards; the sides rise 1 m per column away
    from it.
    """
    rows, cols = np.mgrid[0:nrows, 0:ncols]
    z = 10.0 + 0.1 * (nrows - 1 - rows) + 1.0 * np.abs(cols - 3)
    return Raster(z, Affine(cell, 0, 1000.0, 0, -cell, 2000.0), "EPSG:2154")


def test_valley_flow_directions_and_accumulation():
    dem = valley()
    fd = compute_flow_directions(fill_depressions(dem)).values
    # by hand: side cells drop 1 m over 10 m towards the stream (slope 0.1) vs 1.1 m over 14.1 m
    # diagonally (0.078) or 0.1 m over 10 m downstream (0.01): they flow straight to the stream
    assert np.all(fd[:, :3] == 1)  # east
    assert np.all(fd[:, 4:] == 16)  # west
    assert np.all(fd[:-1, 3] == 4)  # stream flows south
    assert fd[-1, 3] == 0  # outlet
    acc = compute_flow_accumulation(compute_flow_directions(dem)).values
    # each row brings its 7 cells to the stream: acc(r, 3) = 7 (r + 1)
    np.testing.assert_array_equal(acc[:, 3], 7.0 * np.arange(1, 11))
    np.testing.assert_array_equal(acc[0, :], [1, 2, 3, 7, 3, 2, 1])
    # weights: 2 per cell doubles every value; the input weights are not modified
    weights = np.full(dem.shape, 2.0)
    weighted = compute_flow_accumulation(compute_flow_directions(dem), weights=weights).values
    np.testing.assert_array_equal(weighted, 2 * acc)
    assert np.all(weights == 2.0)


def test_valley_hand_values_and_inundation():
    dem = valley()
    stream = np.zeros(dem.shape, dtype=bool)
    stream[:, 3] = True
    h = compute_hand(dem, streams=stream)
    expected = np.abs(np.arange(7) - 3.0)[None, :].repeat(10, axis=0)
    np.testing.assert_allclose(h.values, expected, atol=1e-12)
    # stage 1.5 m: depth 1.5 on the stream, 0.5 one cell away, dry beyond (by hand)
    depth = compute_hand_depth(h, 1.5).values
    np.testing.assert_allclose(depth[:, 3], 1.5, atol=1e-12)
    np.testing.assert_allclose(depth[:, [2, 4]], 0.5, atol=1e-12)
    assert np.all(depth[:, [0, 1, 5, 6]] == 0)
    volume = depth.sum() * dem.cell_area
    assert volume == pytest.approx(10 * (1.5 + 2 * 0.5) * 100.0)  # 2500 m³
    # a water height per cell: 2.5 m on the left half, 0.5 m on the right (by hand)
    level = np.where(np.arange(7) < 3, 2.5, 0.5)[None, :].repeat(10, axis=0)
    per_cell = compute_hand_depth(h, Raster(level, dem.transform, dem.crs)).values
    np.testing.assert_allclose(per_cell[0], [0, 0.5, 1.5, 0.5, 0, 0, 0], atol=1e-12)
    with pytest.raises(InputError, match="water_level_m"):
        compute_hand_depth(h, np.ones((2, 2)))


def test_stream_mask_from_mask_lines_and_accumulation():
    dem = valley()
    acc = compute_flow_accumulation(compute_flow_directions(dem)).values
    by_acc = compute_stream_mask(dem, None, accumulation=acc, accumulation_threshold=20)
    # the valley floor (column 3) collects 7 cells per row downstream: rows 2 and below have
    # at least 20 upstream cells (by hand: 7 x (row + 1))
    assert by_acc[:, 3].tolist() == [False, False, True, True, True, True, True, True, True, True]
    assert not by_acc[:, [0, 1, 2, 4, 5, 6]].any()
    # a line down the centre of column 3 burns exactly that column
    line = shapely.LineString([(1035.0, 1999.0), (1035.0, 1901.0)])
    np.testing.assert_array_equal(compute_stream_mask(dem, line), np.arange(7)[None, :].repeat(10, 0) == 3)
    raster = Raster(by_acc.astype("uint8"), dem.transform, dem.crs)
    np.testing.assert_array_equal(compute_stream_mask(dem, raster), by_acc)
    with pytest.raises(InputError, match="shape"):
        compute_stream_mask(dem, np.zeros((2, 2), dtype=bool))


def test_hand_streams_from_lines_and_threshold_agree():
    dem = valley()
    mask = np.zeros(dem.shape, dtype=bool)
    mask[:, 3] = True
    ref = compute_hand(dem, streams=mask).values
    # a line along the centres of column 3 (x = 1035) burns exactly that column
    line = gpd.GeoSeries([shapely.LineString([(1035.0, 1999.0), (1035.0, 1901.0)])], crs="EPSG:2154")
    np.testing.assert_allclose(compute_hand(dem, streams=line).values, ref, atol=1e-12)
    # accumulation >= 7 cells selects column 3 exactly (see the accumulation test)
    by_threshold = compute_hand(dem, accumulation_threshold=7)
    np.testing.assert_allclose(by_threshold.values, ref, atol=1e-12)
    assert by_threshold.attrs["stream_cells"] == 10


def test_fill_levels_a_pit_and_epsilon_drains_it():
    z = np.full((5, 5), 10.0)
    z[1:4, 1:4] = 8.0
    z[2, 2] = 5.0  # a pit
    z[0, 2] = 7.0  # the spill point on the border
    dem = Raster(z, Affine(1, 0, 0, 0, -1, 5), "EPSG:2154")
    flat = fill_depressions(dem, flats="none").values
    # by hand: the basin fills to its spill level, 8 m (the rim of the pit)
    assert flat[2, 2] == 8.0 and np.all(flat[1:4, 1:4] == 8.0)
    eps = fill_depressions(dem).values
    assert np.all(eps >= z) and np.max(eps - flat) < 1e-12
    codes = compute_flow_directions(Raster(eps, dem.transform, dem.crs)).values
    assert np.all(codes[1:4, 1:4] != 0)  # every filled cell drains
    acc = compute_flow_accumulation(Raster(codes, dem.transform, dem.crs, nodata=255)).values
    # the border cells (10 m) drain into the 8 m basin or straight to the spill cell, so the
    # spill cell collects the whole grid: 25 cells (by hand)
    assert acc[0, 2] == 25.0


# -- independent slow references ------------------------------------------------------------
def _fill_planchon_darboux(z: np.ndarray) -> np.ndarray:
    """Planchon & Darboux (2001) relaxation without epsilon.

    A different algorithm from Priority-Flood that converges to the same filled surface.
    """
    nrows, ncols = z.shape
    w = np.full(z.shape, np.inf)
    w[0, :], w[-1, :], w[:, 0], w[:, -1] = z[0, :], z[-1, :], z[:, 0], z[:, -1]
    changed = True
    while changed:
        changed = False
        for r in range(1, nrows - 1):
            for c in range(1, ncols - 1):
                lowest = min(w[r + dr, c + dc] for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)
                new = max(z[r, c], lowest)
                if new < w[r, c]:
                    w[r, c] = new
                    changed = True
    return w


def _d8_slow(z: np.ndarray, dx: float, dy: float) -> np.ndarray:
    nrows, ncols = z.shape
    out = np.zeros(z.shape, dtype=np.uint8)
    order = [(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)]
    for r in range(nrows):
        for c in range(ncols):
            best, code = 0.0, 0
            for dr, dc in order:
                rr, cc = r + dr, c + dc
                if 0 <= rr < nrows and 0 <= cc < ncols:
                    s = (z[r, c] - z[rr, cc]) / math.hypot(dr * dy, dc * dx)
                    if s > best:
                        best, code = s, CODES[(dr, dc)]
            out[r, c] = code
    return out


def _follow(codes: np.ndarray, r: int, c: int):
    inv = {v: k for k, v in CODES.items()}
    while codes[r, c] != 0:
        dr, dc = inv[int(codes[r, c])]
        r, c = r + dr, c + dc
        yield r, c


def test_against_slow_reference_on_random_terrain():
    rng = np.random.default_rng(42)
    z = np.round(rng.uniform(0, 20, size=(18, 23)), 1) + np.linspace(0, 10, 23)[None, :]
    dem = Raster(z, Affine(5, 0, 0, 0, -7, 0), "EPSG:2154")
    filled = fill_depressions(dem, flats="none").values
    np.testing.assert_array_equal(filled, _fill_planchon_darboux(z))
    conditioned = fill_depressions(dem)
    codes = compute_flow_directions(conditioned).values
    np.testing.assert_array_equal(codes, _d8_slow(conditioned.values, 5.0, 7.0))
    acc = compute_flow_accumulation(compute_flow_directions(conditioned)).values
    slow_acc = np.ones(z.shape)
    for r in range(z.shape[0]):
        for c in range(z.shape[1]):
            for rr, cc in _follow(codes, r, c):
                slow_acc[rr, cc] += 1
    np.testing.assert_array_equal(acc, slow_acc)
    streams = acc >= 15
    h = compute_hand(dem, streams=streams).values
    zc = conditioned.values
    for r in range(z.shape[0]):
        for c in range(z.shape[1]):
            if streams[r, c]:
                expected = 0.0
            else:
                hit = next(((rr, cc) for rr, cc in _follow(codes, r, c) if streams[rr, cc]), None)
                expected = np.nan if hit is None else zc[r, c] - zc[hit]
            np.testing.assert_allclose(h[r, c], expected, atol=1e-12, equal_nan=True)


def test_nodata_cells_stay_nodata_and_act_as_outlets():
    z = np.array([[5.0, 5, 5, 5], [5, 3, 2, -9999], [5, 3, 1, 5], [5, 5, 5, 5]])
    dem = Raster(z, Affine(1, 0, 0, 0, -1, 4), "EPSG:2154", nodata=-9999)
    filled = fill_depressions(dem).values
    assert np.isnan(filled[1, 3])
    # (2, 2) at 1 m sits next to no data: it is an outlet, so nothing is raised by it
    assert filled[2, 2] == 1.0
    codes = compute_flow_directions(dem).values
    assert codes[1, 3] == 255
    acc = compute_flow_accumulation(compute_flow_directions(dem)).values
    assert np.isnan(acc[1, 3])


def test_errors():
    geo = Raster(np.zeros((3, 3)), Affine(0.1, 0, 0, 0, -0.1, 0), "EPSG:4326")
    with pytest.raises(GeographicCRSError, match="reproject"):
        compute_hand(geo, accumulation_threshold=2)
    dem = valley()
    with pytest.raises(InputError, match="shape"):
        compute_hand(dem, streams=np.zeros((2, 2), dtype=bool))
    with pytest.raises(InputError, match="no stream cell"):
        compute_hand(dem, accumulation_threshold=1e9)
    bad = Raster(np.full((3, 3), 3, dtype=np.uint8), dem.transform, dem.crs)
    with pytest.raises(InputError, match="D8 codes"):
        compute_flow_accumulation(bad)


@pytest.mark.shared_data
def test_hand_on_srtm_boulder(shared_data):
    path = shared_data / "dem_srtm_boulder_co" / "srtmgl3_boulder_co.asc"
    try:
        from cimkit.io.raster import read_dem
    except ImportError:  # the reader lives in another module; fall back to rasterio
        import rasterio

        with rasterio.open(path) as src:
            values = src.read(1).astype("float64")
            transform = src.transform
        assert values.shape == (144, 240)
        # the .asc has no .prj: EPSG:4326 (MANIFEST), NODATA 0
        dem = Raster(values, transform, "EPSG:4326", nodata=0).to_crs("EPSG:32613")
    else:
        dem = read_dem(path, source_crs="EPSG:4326", crs="EPSG:32613")
    assert dem.crs.to_epsg() == 32613
    h = compute_hand(dem)
    hv = h.values
    valid = dem.valid_mask()
    # default streams: >= 1 km² upstream, i.e. ceil(1e6 / cell area) cells
    threshold = h.attrs["accumulation_threshold"]
    assert threshold == math.ceil(1e6 / dem.cell_area)
    conditioned = fill_depressions(dem)
    fd = compute_flow_directions(conditioned)
    acc = compute_flow_accumulation(fd).values
    streams = np.nan_to_num(acc) >= threshold
    assert streams.sum() == h.attrs["stream_cells"] > 100
    # physical properties: HAND >= 0, exactly 0 on streams, no HAND on no data
    assert np.nanmin(hv) >= 0
    assert np.all(hv[streams] == 0)
    assert np.all(np.isnan(hv[~valid]))
    # most of the terrain drains to a stream inside the grid
    assert np.isfinite(hv[valid]).mean() > 0.8
    # stream cells follow accumulation: downstream of a stream cell, accumulation grows
    codes = fd.values
    inv = {v: k for k, v in CODES.items()}
    rows, cols = np.nonzero(streams)
    for r, c in zip(rows, cols):
        code = int(codes[r, c])
        if code in (0, 255):
            continue
        dr, dc = inv[code]
        rr, cc = r + dr, c + dc
        if 0 <= rr < codes.shape[0] and 0 <= cc < codes.shape[1] and valid[rr, cc]:
            assert streams[rr, cc] and acc[rr, cc] > acc[r, c]
    # HAND never exceeds the relief of the conditioned terrain
    assert np.nanmax(hv) <= np.nanmax(conditioned.values) - np.nanmin(conditioned.values)


def test_narrow_grids():
    # two columns: flat offsets of E and SW coincide, the codes must still be right (by hand)
    z = np.array([[5.0, 4.0], [3.0, 6.0], [2.0, 7.0]])
    dem = Raster(z, Affine(1, 0, 0, 0, -1, 3), "EPSG:2154")
    codes = compute_flow_directions(dem).values
    # (0, 1) at 4 m: drops to 3 m SW (1/1.414 = 0.71) beats 5 m W (none); (1, 1) at 6 m: SW to
    # 2 m (2.83) beats W to 3 m (3.0)? 3.0 > 2.83, so W
    assert codes[0, 1] == 8 and codes[1, 1] == 16 and codes[0, 0] == 4
    assert compute_flow_accumulation(compute_flow_directions(dem)).values[2, 0] == 6


def _drains_to_a_stream(codes: np.ndarray, streams: np.ndarray) -> np.ndarray:
    """Walk the D8 codes from every cell (memoised): True where the walk meets a stream cell."""
    offsets = {code: (dr, dc) for (dr, dc), code in CODES.items()}
    state = np.where(streams, 1, 0).astype(np.int8)  # 1 drains, -1 does not, 0 unknown
    rows, cols = codes.shape
    for r0 in range(rows):
        for c0 in range(cols):
            path = []
            r, c = r0, c0
            while state[r, c] == 0:
                path.append((r, c))
                code = int(codes[r, c])
                if code in (0, 255):
                    state[r, c] = -1
                    break
                dr, dc = offsets[code]
                r, c = r + dr, c + dc
                if not (0 <= r < rows and 0 <= c < cols):
                    state[path[-1]] = -1
                    break
            result = state[r, c] if 0 <= r < rows and 0 <= c < cols else -1
            for cell in path:
                state[cell] = result if state[cell] == 0 else state[cell]
    return state == 1


def test_hand_coverage_on_srtm_boulder_is_reported_and_counted_independently(shared_data):
    from cimkit.errors import CoverageWarning
    from cimkit.io.raster import read_dem

    path = shared_data / "dem_srtm_boulder_co" / "srtmgl3_boulder_co.asc"
    dem = read_dem(path, source_crs="EPSG:4326", crs="EPSG:32613")
    valid = dem.valid_mask()
    # independent count: walk the D8 directions of the conditioned DEM to a stream cell
    threshold = math.ceil(1e6 / dem.cell_area)
    fd = compute_flow_directions(fill_depressions(dem))
    streams = np.nan_to_num(compute_flow_accumulation(fd).values) >= threshold
    drained = _drains_to_a_stream(fd.values, streams & valid)
    expected_cells = int((valid & ~drained).sum())
    expected_share = expected_cells / int(valid.sum())
    h = compute_hand(dem)
    assert h.attrs["undrained_cells"] == expected_cells == int((np.isnan(h.values) & valid).sum())
    assert h.attrs["undrained_share"] == pytest.approx(expected_share, abs=1e-12)
    assert 0.01 < expected_share < 0.05  # border basins under 1 km² (measured 714 of 38,007 cells, 1.9 %)
    # a coarser drainage (10 km² upstream) leaves more of the DEM without HAND: warned with the share
    with pytest.warns(
        CoverageWarning, match=r"HAND is undefined \(NaN\) on \d+\.\d% .*accumulation_threshold="
    ):
        coarse = compute_hand(dem, accumulation_threshold=10 * threshold)
    assert coarse.attrs["undrained_share"] > 0.05  # measured 3,227 cells, 8.5 %
    assert coarse.attrs["undrained_share"] == pytest.approx(
        (np.isnan(coarse.values) & valid).sum() / valid.sum(), abs=1e-12
    )
    step = coarse.attrs["provenance"].steps[-1] if "provenance" in coarse.attrs else None
    if step is not None:
        assert step.params["undrained_share"] == pytest.approx(coarse.attrs["undrained_share"])


def test_all_nodata_dem_is_refused_not_flooded():
    from cimkit.analysis.flood import compute_bathtub_depth

    dem = Raster(np.full((4, 5), -9999.0), Affine(10, 0, 0, 0, -10, 40), "EPSG:2154", nodata=-9999.0)
    with pytest.raises(InputError, match="no cell with data"):
        compute_hand(dem)
    with pytest.raises(InputError, match="no cell with data"):
        compute_bathtub_depth(dem, 3.0)
    with pytest.raises(InputError, match="no cell with data"):
        fill_depressions(Raster(np.full((3, 3), np.nan), Affine(10, 0, 0, 0, -10, 30), "EPSG:2154"))
