"""numba kernels of :mod:`cimkit.network.paths` (bounded Dijkstra searches over CSR arrays).

Private: imported lazily by :mod:`cimkit.network.paths` so that ``import cimkit`` does not load
numba. Compiled on first use and cached on disk (``cache=True``); all kernels release the GIL so
that blocks of sources run in parallel threads.
"""

import numpy as np
from numba import njit

jit = njit(cache=True, nogil=True)
# the heap primitives and the search are inlined into each kernel (numba IR inlining)
jit_inline = njit(cache=True, nogil=True, inline="always")


@jit
def heap_push(hk, hv, hl, size, key, val, lab):
    # binary min-heap on key; hv node, hl label (facility index, or 0)
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if hk[parent] <= key:
            break
        hk[i] = hk[parent]
        hv[i] = hv[parent]
        hl[i] = hl[parent]
        i = parent
    hk[i] = key
    hv[i] = val
    hl[i] = lab
    return size + 1


@jit
def heap_pop(hk, hv, hl, size):
    # removes the root; returns the new size (root must be read by the caller first)
    size -= 1
    key = hk[size]
    val = hv[size]
    lab = hl[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[c] >= key:
            break
        hk[i] = hk[c]
        hv[i] = hv[c]
        hl[i] = hl[c]
        i = c
    if size > 0:
        hk[i] = key
        hv[i] = val
        hl[i] = lab
    return size


@jit_inline
def push4(hk, hv, size, key, val):
    """Insert into a 4-ary min-heap on ``hk`` (lazy deletion: stale entries stay in the heap).

    A 4-ary heap is shallower than a binary one and its children share a cache line; in the
    benchmark grid it settles nodes ~40 % faster than an indexed binary heap with decrease-key.
    """
    i = size
    while i > 0:
        q = (i - 1) >> 2
        if hk[q] <= key:
            break
        hk[i] = hk[q]
        hv[i] = hv[q]
        i = q
    hk[i] = key
    hv[i] = val
    return size + 1


@jit_inline
def pop4(hk, hv, size):
    """Remove the root (read by the caller first); returns the new size."""
    size -= 1
    if size > 0:
        key = hk[size]
        node = hv[size]
        i = 0
        while True:
            c = 4 * i + 1
            if c >= size:
                break
            best = c
            bk = hk[c]
            e = min(c + 4, size)
            for j in range(c + 1, e):
                if hk[j] < bk:
                    bk = hk[j]
                    best = j
            if bk >= key:
                break
            hk[i] = bk
            hv[i] = hv[best]
            i = best
        hk[i] = key
        hv[i] = node
    return size


@jit_inline
def sssp(indptr, indices, weights, starts, start_cost, cutoff, dist, order, hk, hv):
    """Bounded Dijkstra from ``starts``; settled nodes go to ``order`` in time order.

    ``dist`` must be +inf everywhere on entry. A node enters the heap only on a strict
    improvement, so exactly one of its entries is current (``key == dist``) and it is settled
    once; every node whose ``dist`` is set gets settled, so resetting ``order[:n]`` restores
    ``dist``. Heap capacity: number of arcs + number of starts.
    """
    size = 0
    for s in range(starts.shape[0]):
        p = starts[s]
        c = start_cost[s]
        if c <= cutoff and c < dist[p]:
            dist[p] = c
            size = push4(hk, hv, size, c, p)
    n = 0
    while size > 0:
        d = hk[0]
        u = hv[0]
        size = pop4(hk, hv, size)
        if d > dist[u]:
            continue  # stale entry
        order[n] = u
        n += 1
        for a in range(indptr[u], indptr[u + 1]):
            v = indices[a]
            nd = d + weights[a]
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                size = push4(hk, hv, size, nd, v)
    return n


@jit
def buffers(n, cap):
    dist = np.full(n, np.inf)
    order = np.empty(n, dtype=np.int32)
    hk = np.empty(cap, dtype=np.float64)
    hv = np.empty(cap, dtype=np.int32)
    return dist, order, hk, hv


@jit
def block_to_targets(indptr, indices, weights, src, lo, hi, cutoff, tgt, out):
    n = indptr.shape[0] - 1
    dist, order, hk, hv = buffers(n, indices.shape[0] + 2)
    one = np.empty(1, dtype=np.int64)
    zero = np.zeros(1, dtype=np.float64)
    for i in range(lo, hi):
        one[0] = src[i]
        m = sssp(indptr, indices, weights, one, zero, cutoff, dist, order, hk, hv)
        for j in range(tgt.shape[0]):
            d = dist[tgt[j]]
            out[i, j] = d if d < np.inf else np.nan
        for k in range(m):
            dist[order[k]] = np.inf


@jit
def block_aggregate(indptr, indices, weights, src, lo, hi, cutoffs, values, out):
    # out[i, c, m] = sum of values[v, m] over nodes v with dist(src[i], v) <= cutoffs[c]
    # (cutoffs sorted). Nodes are settled in time order, so sums are accumulated while
    # settling and each cut-off is closed when the first node beyond it is settled.
    n = indptr.shape[0] - 1
    dist, order, hk, hv = buffers(n, indices.shape[0] + 2)
    nc = cutoffs.shape[0]
    nm = values.shape[1]
    acc = np.zeros(nm)
    top = cutoffs[nc - 1]
    for i in range(lo, hi):
        acc[:] = 0.0
        c = 0
        s0 = src[i]
        dist[s0] = 0.0
        size = push4(hk, hv, 0, 0.0, s0)
        m = 0
        while size > 0:
            d = hk[0]
            u = hv[0]
            size = pop4(hk, hv, size)
            if d > dist[u]:
                continue  # stale entry
            order[m] = u
            m += 1
            while d > cutoffs[c]:  # d <= top, so c stays < nc
                for q in range(nm):
                    out[i, c, q] = acc[q]
                c += 1
            for q in range(nm):
                acc[q] += values[u, q]
            for a in range(indptr[u], indptr[u + 1]):
                v = indices[a]
                nd = d + weights[a]
                if nd < dist[v] and nd <= top:
                    dist[v] = nd
                    size = push4(hk, hv, size, nd, v)
        while c < nc:
            for q in range(nm):
                out[i, c, q] = acc[q]
            c += 1
        for k in range(m):
            dist[order[k]] = np.inf


@jit
def block_settled(indptr, indices, weights, src, lo, hi, cutoff):
    # settled (node, time) lists of sources lo..hi, concatenated; counts per source
    n = indptr.shape[0] - 1
    dist, order, hk, hv = buffers(n, indices.shape[0] + 2)
    one = np.empty(1, dtype=np.int64)
    zero = np.zeros(1, dtype=np.float64)
    counts = np.zeros(hi - lo, dtype=np.int64)
    size = 1024
    nodes = np.empty(size, dtype=np.int32)
    times = np.empty(size, dtype=np.float64)
    fill = 0
    for i in range(lo, hi):
        one[0] = src[i]
        m = sssp(indptr, indices, weights, one, zero, cutoff, dist, order, hk, hv)
        if fill + m > size:
            while fill + m > size:
                size *= 2
            nn = np.empty(size, dtype=np.int32)
            nt = np.empty(size, dtype=np.float64)
            nn[:fill] = nodes[:fill]
            nt[:fill] = times[:fill]
            nodes = nn
            times = nt
        for k in range(m):
            v = order[k]
            nodes[fill + k] = v
            times[fill + k] = dist[v]
            dist[v] = np.inf
        fill += m
        counts[i - lo] = m
    return counts, nodes[:fill].copy(), times[:fill].copy()


@jit
def cache_aggregate(ptr, nodes, times, lo, hi, cutoffs, values, out):
    nc = cutoffs.shape[0]
    nm = values.shape[1]
    acc = np.zeros(nm)
    for i in range(lo, hi):
        acc[:] = 0.0
        c = 0
        for k in range(ptr[i], ptr[i + 1]):
            d = times[k]
            while c < nc and d > cutoffs[c]:
                for q in range(nm):
                    out[i, c, q] = acc[q]
                c += 1
            if c == nc:
                break
            v = nodes[k]
            for q in range(nm):
                acc[q] += values[v, q]
        while c < nc:
            for q in range(nm):
                out[i, c, q] = acc[q]
            c += 1


@jit
def nearest_one(indptr, indices, weights, starts, start_cost, labels, cutoff):
    # multi-source Dijkstra; each node keeps the label of the start its best path comes from
    n = indptr.shape[0] - 1
    dist = np.full(n, np.inf)
    lab = np.full(n, -1, dtype=np.int32)
    cap = indices.shape[0] + starts.shape[0] + 2
    hk = np.empty(cap, dtype=np.float64)
    hv = np.empty(cap, dtype=np.int32)
    size = 0
    for s in range(starts.shape[0]):
        p = starts[s]
        c = start_cost[s]
        if c <= cutoff and c < dist[p]:
            dist[p] = c
            lab[p] = labels[s]
            size = push4(hk, hv, size, c, p)
    while size > 0:
        d = hk[0]
        u = hv[0]
        size = pop4(hk, hv, size)
        if d > dist[u]:
            continue
        f = lab[u]
        for a in range(indptr[u], indptr[u + 1]):
            v = indices[a]
            nd = d + weights[a]
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                lab[v] = f
                size = push4(hk, hv, size, nd, v)
    return dist, lab


@jit
def nearest_k(indptr, indices, weights, starts, start_cost, labels, k, cutoff):
    # k-label multi-source Dijkstra: a node is settled once per distinct facility label,
    # at most k times; the first k settlements are its k nearest facilities.
    n = indptr.shape[0] - 1
    kd = np.full((n, k), np.inf)
    kl = np.full((n, k), -1, dtype=np.int64)
    cnt = np.zeros(n, dtype=np.int64)
    cap = 2 * (indices.shape[0] + starts.shape[0]) + 16
    hk = np.empty(cap, dtype=np.float64)
    hv = np.empty(cap, dtype=np.int64)
    hl = np.empty(cap, dtype=np.int64)
    size = 0
    for s in range(starts.shape[0]):
        if start_cost[s] <= cutoff:
            size = heap_push(hk, hv, hl, size, start_cost[s], starts[s], labels[s])
    while size > 0:
        d = hk[0]
        u = hv[0]
        f = hl[0]
        size = heap_pop(hk, hv, hl, size)
        c = cnt[u]
        if c >= k:
            continue
        seen = False
        for q in range(c):
            if kl[u, q] == f:
                seen = True
                break
        if seen:
            continue
        kd[u, c] = d
        kl[u, c] = f
        cnt[u] = c + 1
        for a in range(indptr[u], indptr[u + 1]):
            v = indices[a]
            if cnt[v] >= k:
                continue
            nd = d + weights[a]
            if nd > cutoff:
                continue
            if size + 1 >= hk.shape[0]:
                nk = np.empty(2 * hk.shape[0], dtype=np.float64)
                nv = np.empty(2 * hk.shape[0], dtype=np.int64)
                nl = np.empty(2 * hk.shape[0], dtype=np.int64)
                nk[:size] = hk[:size]
                nv[:size] = hv[:size]
                nl[:size] = hl[:size]
                hk = nk
                hv = nv
                hl = nl
            size = heap_push(hk, hv, hl, size, nd, v, f)
    return kd, kl
