"""RAPTOR kernels compiled with numba (loaded on first use by :mod:`.transit`).

Round-based public transit routing after Delling, Pajor & Werneck (2015), "Round-Based Public
Transit Routing", Transportation Science 49(3), 591-604 (first presented at ALENEX 2012).
Written for cimkit on flat arrays (numba has no ragged containers); see :mod:`.transit` for the
model (routes, footpaths, labels).

Array layout (all int64 / float64 / bool):

- routes ``r``: stops ``r_stops[r_stop_ptr[r]:r_stop_ptr[r+1]]`` (ns of them) and trips
  ``r_trip_ptr[r]:r_trip_ptr[r+1]`` (nt of them, sorted, never overtaking each other); the event
  of trip ``t`` (0-based within the route) at position ``i`` is at
  ``x = r_time_off[r] + t * ns + i`` in ``arr``, ``dep`` (seconds), ``board``, ``alight``.
- stop -> routes: ``sr_route[sr_ptr[p]:sr_ptr[p+1]]`` with the stop's position ``sr_pos``.
- footpaths: ``fp_to[fp_ptr[p]:fp_ptr[p+1]]`` with walking times ``fp_w`` (seconds).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

INF = np.inf


@njit(cache=True)
def raptor_one(
    n_stops,
    r_stop_ptr,
    r_stops,
    r_trip_ptr,
    r_time_off,
    arr,
    dep,
    board,
    alight,
    sr_ptr,
    sr_route,
    sr_pos,
    fp_ptr,
    fp_to,
    fp_w,
    src_stop,
    src_time,
    n_rounds,
    best,
    best_trip,
):
    """One earliest-arrival query; fills ``best`` (any means) and ``best_trip`` (by a trip).

    ``best`` and ``best_trip`` must be filled with +inf by the caller.
    """
    n_routes = len(r_stop_ptr) - 1
    marked = np.zeros(n_stops, dtype=np.bool_)
    for j in range(len(src_stop)):
        s = src_stop[j]
        if src_time[j] < best[s]:
            best[s] = src_time[j]
            marked[s] = True
    route_start = np.empty(n_routes, dtype=np.int64)
    trip_k = np.full(n_stops, INF)
    improved = np.empty(n_stops, dtype=np.int64)
    for _k in range(n_rounds):
        # routes serving a stop improved in the previous round, from their first such stop
        route_start[:] = -1
        any_marked = False
        for p in range(n_stops):
            if marked[p]:
                any_marked = True
                marked[p] = False
                for j in range(sr_ptr[p], sr_ptr[p + 1]):
                    r = sr_route[j]
                    i = sr_pos[j]
                    if route_start[r] < 0 or i < route_start[r]:
                        route_start[r] = i
        if not any_marked:
            break
        prev = best.copy()  # tau_{k-1}: boarding uses the previous round's labels
        n_imp = 0
        for r in range(n_routes):
            i0 = route_start[r]
            if i0 < 0:
                continue
            s0 = r_stop_ptr[r]
            ns = r_stop_ptr[r + 1] - s0
            nt = r_trip_ptr[r + 1] - r_trip_ptr[r]
            off = r_time_off[r]
            t = -1
            for i in range(i0, ns):
                p = r_stops[s0 + i]
                if t >= 0:
                    x = off + t * ns + i
                    if alight[x]:
                        a = arr[x]
                        if a < best_trip[p]:
                            best_trip[p] = a
                            if trip_k[p] == INF:
                                improved[n_imp] = p
                                n_imp += 1
                            trip_k[p] = a
                            if a < best[p]:
                                best[p] = a
                                marked[p] = True
                tp = prev[p]
                if tp < INF:
                    upper = t if t >= 0 else nt
                    # first trip departing at or after tp (departures are sorted over trips)
                    lo = 0
                    hi = upper
                    while lo < hi:
                        mid = (lo + hi) // 2
                        if dep[off + mid * ns + i] < tp:
                            lo = mid + 1
                        else:
                            hi = mid
                    while lo < upper and not board[off + lo * ns + i]:
                        lo += 1
                    if lo < upper:
                        t = lo
        # one footpath after each improved trip arrival
        for j in range(n_imp):
            p = improved[j]
            a = trip_k[p]
            trip_k[p] = INF
            for e in range(fp_ptr[p], fp_ptr[p + 1]):
                q = fp_to[e]
                b = a + fp_w[e]
                if b < best[q]:
                    best[q] = b
                    marked[q] = True


@njit(cache=True, parallel=True)
def travel_matrix(
    n_stops,
    r_stop_ptr,
    r_stops,
    r_trip_ptr,
    r_time_off,
    arr,
    dep,
    board,
    alight,
    sr_ptr,
    sr_route,
    sr_pos,
    fp_ptr,
    fp_to,
    fp_w,
    acc_ptr,
    acc_stop,
    acc_w,
    egr_ptr,
    egr_stop,
    egr_w,
    walk,
    departures,
    n_rounds,
):
    """Mean door-to-door seconds (origins x destinations) over ``departures``.

    Per departure: min(pure walk, access + RAPTOR + egress); +inf when unreachable.
    """
    n_o = len(acc_ptr) - 1
    n_d = len(egr_ptr) - 1
    out = np.zeros((n_o, n_d))
    for o in prange(n_o):
        a0 = acc_ptr[o]
        na = acc_ptr[o + 1] - a0
        srcs = acc_stop[a0 : a0 + na].copy()
        times = np.empty(na)
        best = np.empty(n_stops)
        best_trip = np.empty(n_stops)
        for m in range(len(departures)):
            t0 = departures[m]
            best[:] = INF
            best_trip[:] = INF
            if na > 0:
                for j in range(na):
                    times[j] = t0 + acc_w[a0 + j]
                raptor_one(
                    n_stops,
                    r_stop_ptr,
                    r_stops,
                    r_trip_ptr,
                    r_time_off,
                    arr,
                    dep,
                    board,
                    alight,
                    sr_ptr,
                    sr_route,
                    sr_pos,
                    fp_ptr,
                    fp_to,
                    fp_w,
                    srcs,
                    times,
                    n_rounds,
                    best,
                    best_trip,
                )
            for d in range(n_d):
                a = INF
                if na > 0:
                    for e in range(egr_ptr[d], egr_ptr[d + 1]):
                        v = best_trip[egr_stop[e]] + egr_w[e]
                        if v < a:
                            a = v
                tt = a - t0
                w = walk[o, d]
                if w < tt:
                    tt = w
                out[o, d] += tt
        for d in range(n_d):
            out[o, d] /= len(departures)
    return out
