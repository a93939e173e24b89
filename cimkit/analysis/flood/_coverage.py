"""Exact polygon/cell coverage and per-polygon statistics (numba kernel).

Why not ``rasterio.features.rasterize``: it assigns each cell wholly to a polygon by the
cell-centre (or all-touched) rule, so small footprints on a 1-5 m grid get their depth from the
wrong cells and areas are off by tens of percent. Why not exactextract: it computes the same
exact fractions but as a separate C++ dependency with a GDAL-dataset round trip per call, and it
was ~5x slower than a rasterize + reduce path in the measurements behind issue 5.

Method: for each ring edge and each grid column it crosses, the area of the polygon inside a
cell is given exactly by Green's theorem, ``A = -∮ g_k(v) du`` with ``g_k(v) = clamp(v - k, 0,
1)`` (``u`` column and ``v`` row coordinates in cell units). Each edge piece inside one cell adds
a trapezoid to that cell and a full strip (``du``) to every cell north of it in the same column,
which is accumulated with one reverse cumulative sum per window. The cost is proportional to
the number of edge/cell crossings plus the window size, with no polygon clipping.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _emit(part, full, nr, r0, j, s, e, vs, ve, sgn):
    length = (e - s) * sgn
    if length == 0.0:
        return
    k = math.floor(0.5 * (vs + ve))
    if k < r0:
        return  # north of the window: adds nothing to window rows
    kk = k - r0
    if kk >= nr:  # south of the window: a full strip for every window row
        full[nr - 1, j] += length
        return
    part[kk, j] += length * (0.5 * (vs + ve) - k)
    if kk >= 1:
        full[kk - 1, j] += length


@njit(cache=True)
def _accumulate_ring(part, full, r0, c0, nr, nc, uu, vv):
    """Signed Green's-theorem contributions of one closed ring to the window arrays."""
    m = uu.shape[0]
    for t in range(m - 1):
        ua = uu[t]
        va = vv[t]
        ub = uu[t + 1]
        vb = vv[t + 1]
        du = ub - ua
        if du == 0.0:
            continue
        sgn = 1.0 if du > 0 else -1.0
        slope = (vb - va) / du
        lo = min(ua, ub)
        hi = max(ua, ub)
        jfirst = max(math.floor(lo), c0)
        jlast = min(math.ceil(hi) - 1, c0 + nc - 1)
        for jj in range(jfirst, jlast + 1):
            p = max(lo, float(jj))
            q = min(hi, float(jj + 1))
            if q <= p:
                continue
            vp = va + (p - ua) * slope
            vq = va + (q - ua) * slope
            j = jj - c0
            s = p
            vs = vp
            if vq > vp:
                k = math.floor(vp) + 1
                while k < vq:
                    e = ua + (k - va) / slope
                    _emit(part, full, nr, r0, j, s, e, vs, float(k), sgn)
                    s = e
                    vs = float(k)
                    k += 1
            elif vq < vp:
                k = math.ceil(vp) - 1
                while k > vq:
                    e = ua + (k - va) / slope
                    _emit(part, full, nr, r0, j, s, e, vs, float(k), sgn)
                    s = e
                    vs = float(k)
                    k -= 1
            _emit(part, full, nr, r0, j, s, q, vs, vq, sgn)


@njit(cache=True)
def _add_ring(total, part, full, uu, vv, exterior, r0, c0, nr, nc):
    """Add one ring's signed cell coverage to ``total`` (``part``, ``full`` are scratch grids).

    The ring's orientation (shoelace sign) and whether it is an exterior or a hole give the sign,
    so holes subtract whatever their winding; a degenerate ring (zero area) adds nothing.
    """
    shoelace = 0.0
    for t in range(uu.shape[0] - 1):
        shoelace += uu[t] * vv[t + 1] - uu[t + 1] * vv[t]
    if shoelace == 0.0:
        return
    s_uv = 1.0 if shoelace > 0 else -1.0
    w = -s_uv if exterior else s_uv
    part[:, :] = 0.0
    full[:, :] = 0.0
    _accumulate_ring(part, full, r0, c0, nr, nc, uu, vv)
    for jc in range(nc):
        acc = 0.0
        for ir in range(nr - 1, -1, -1):
            acc += full[ir, jc]
            total[ir, jc] += w * (part[ir, jc] + acc)


@njit(cache=True, parallel=True)
def polygon_stats(values, u, v, coord_ptr, ring_ptr, ring_exterior, bbox):
    """Exact-coverage statistics of ``values`` under each polygon.

    Parameters (all in cell units: ``u`` = column, ``v`` = row, growing south)
    ``coord_ptr`` slices ``u``/``v`` per ring (closed rings), ``ring_ptr`` slices rings per
    polygon, ``ring_exterior`` flags exterior rings, ``bbox[b] = umin, vmin, umax, vmax``.

    Returns an (n, 5) array: max, coverage-weighted mean, share of the valid covered area where
    the value is > 0, covered area (cells), valid covered area (cells). NaN cells of ``values``
    are left out of the statistics; a polygon with no valid cell gets NaN.
    """
    nrows, ncols = values.shape
    nb = ring_ptr.shape[0] - 1
    out = np.full((nb, 5), np.nan)
    for b in prange(nb):
        if ring_ptr[b] == ring_ptr[b + 1]:
            continue
        c0 = max(math.floor(bbox[b, 0]), 0)
        r0 = max(math.floor(bbox[b, 1]), 0)
        c1 = min(math.ceil(bbox[b, 2]), ncols)
        r1 = min(math.ceil(bbox[b, 3]), nrows)
        if c1 <= c0 or r1 <= r0:
            out[b, 3] = 0.0
            out[b, 4] = 0.0
            continue
        nr = r1 - r0
        nc = c1 - c0
        total = np.zeros((nr, nc))
        part = np.zeros((nr, nc))
        full = np.zeros((nr, nc))
        for ring in range(ring_ptr[b], ring_ptr[b + 1]):
            a = coord_ptr[ring]
            z = coord_ptr[ring + 1]
            if z - a < 4:
                continue
            _add_ring(total, part, full, u[a:z], v[a:z], ring_exterior[ring], r0, c0, nr, nc)
        vmax = -np.inf
        sum_a = 0.0
        sum_ad = 0.0
        wet = 0.0
        cover = 0.0
        for ir in range(nr):
            for jc in range(nc):
                area = total[ir, jc]
                if area <= 1e-12:
                    continue
                cover += area
                d = values[r0 + ir, c0 + jc]
                if np.isnan(d):
                    continue
                sum_a += area
                sum_ad += area * d
                if d > vmax:
                    vmax = d
                if d > 0:
                    wet += area
        out[b, 3] = cover
        out[b, 4] = sum_a
        if sum_a > 0:
            out[b, 0] = vmax
            out[b, 1] = sum_ad / sum_a
            out[b, 2] = wet / sum_a
    return out


@njit(cache=True)
def coverage_window(u, v, coord_ptr, ring_exterior, r0, c0, nr, nc):
    """Covered area (cells) of the rings of one polygon in a window of the grid."""
    total = np.zeros((nr, nc))
    part = np.zeros((nr, nc))
    full = np.zeros((nr, nc))
    for ring in range(coord_ptr.shape[0] - 1):
        a = coord_ptr[ring]
        z = coord_ptr[ring + 1]
        _add_ring(total, part, full, u[a:z], v[a:z], ring_exterior[ring], r0, c0, nr, nc)
    return total


@njit(cache=True, inline="always")
def _next_crossing(a, b, k):
    """Parameter t in (0, 1] where a + t (b - a) reaches the integer k (inf when never)."""
    if b == a:
        return np.inf
    t = (k - a) / (b - a)
    return t if t > 0.0 else np.inf


@njit(cache=True)
def line_stats(values, x, y, coord_ptr, line_ptr, x0, y0, cw, ch):
    """Exact length of each line inside wet cells and the deepest cell it crosses.

    ``coord_ptr`` slices the coordinates per part, ``line_ptr`` the parts per line. Each
    segment is cut where it crosses a grid line (the column and row crossings are merged in
    order, no sorting); each piece lies in one cell, found from its midpoint. Returns an (n, 3)
    array: length over cells with a value > 0, max value over the cells crossed (NaN when none
    has data), length over cells with data.
    """
    nrows, ncols = values.shape
    nl = line_ptr.shape[0] - 1
    out = np.full((nl, 3), np.nan)
    for li in range(nl):
        wet = 0.0
        valid_len = 0.0
        vmax = -np.inf
        for part in range(line_ptr[li], line_ptr[li + 1]):
            for t in range(coord_ptr[part], coord_ptr[part + 1] - 1):
                ua = (x[t] - x0) / cw
                va = (y0 - y[t]) / ch
                ub = (x[t + 1] - x0) / cw
                vb = (y0 - y[t + 1]) / ch
                seg = math.hypot(x[t + 1] - x[t], y[t + 1] - y[t])
                if seg == 0.0:
                    continue
                su = 1 if ub > ua else -1
                sv = 1 if vb > va else -1
                ku = math.floor(ua) + 1 if su > 0 else math.ceil(ua) - 1
                kv = math.floor(va) + 1 if sv > 0 else math.ceil(va) - 1
                tu = _next_crossing(ua, ub, ku)
                tv = _next_crossing(va, vb, kv)
                t0 = 0.0
                while t0 < 1.0:
                    t1 = min(tu, tv, 1.0)
                    if t1 > t0:
                        tm = 0.5 * (t0 + t1)
                        c = math.floor(ua + tm * (ub - ua))
                        r = math.floor(va + tm * (vb - va))
                        if 0 <= r < nrows and 0 <= c < ncols:
                            d = values[r, c]
                            if not np.isnan(d):
                                piece = (t1 - t0) * seg
                                valid_len += piece
                                if d > vmax:
                                    vmax = d
                                if d > 0:
                                    wet += piece
                    if tu <= t1:
                        ku += su
                        tu = _next_crossing(ua, ub, ku)
                    if tv <= t1:
                        kv += sv
                        tv = _next_crossing(va, vb, kv)
                    t0 = t1
        out[li, 0] = wet
        out[li, 2] = valid_len
        if valid_len > 0:
            out[li, 1] = vmax
    return out


def sample_lines(values, transform, lines, owner, n_owners):
    """Run :func:`line_stats` on line geometries grouped by owner (one row per owner).

    ``lines`` are shapely LineStrings or LinearRings (no multi-parts), ``owner`` the index
    (0..n_owners-1) of the feature each belongs to; ``values`` the grid and ``transform`` its
    north-up affine transform. Returns ``line_stats``'s (n_owners, 3) array.
    """
    import shapely

    coords, coord_line = shapely.get_coordinates(lines, return_index=True)
    coord_ptr = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(np.bincount(coord_line, minlength=len(lines)), out=coord_ptr[1:])
    line_ptr = np.zeros(n_owners + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n_owners), out=line_ptr[1:])
    t = transform
    return line_stats(
        np.ascontiguousarray(values),
        np.ascontiguousarray(coords[:, 0]),
        np.ascontiguousarray(coords[:, 1]),
        coord_ptr,
        line_ptr,
        float(t.c),
        float(t.f),
        float(t.a),
        float(-t.e),
    )
