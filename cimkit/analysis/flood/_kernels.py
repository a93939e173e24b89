"""Numba kernels of the flood analysis (compiled on first use, cached on disk).

This module is imported only by the functions that need it, so ``import cimkit`` does not load
numba. Grids are handled as flat C-order arrays; a cell's flat index is ``row * ncols + col``.
Neighbour offsets follow the ESRI D8 coding order: E, SE, S, SW, W, NW, N, NE.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# neighbour offsets (drow, dcol) in ESRI order: 1=E, 2=SE, 4=S, 8=SW, 16=W, 32=NW, 64=N, 128=NE
DROW = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
DCOL = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)
CODES = np.array([1, 2, 4, 8, 16, 32, 64, 128], dtype=np.uint8)


# -- 4-ary min-heap of (key, cell) pairs interleaved in one float64 array -------------------
# A hand-written heap: numba's heapq on lists of tuples is several times slower and allocates.
# Keys and cell indices (exact as float64 below 2**53) sit side by side, and the four children
# of a node are contiguous (4 x 16 bytes, one cache line), so each level costs one cache miss
# and the tree is half as deep as a binary heap.
@njit(cache=True, inline="always")
def _heap_push(heap, size, key, val):
    i = size
    while i > 0:
        parent = (i - 1) >> 2
        pkey = heap[2 * parent]
        if pkey <= key:
            break
        heap[2 * i] = pkey
        heap[2 * i + 1] = heap[2 * parent + 1]
        i = parent
    heap[2 * i] = key
    heap[2 * i + 1] = val
    return size + 1


@njit(cache=True, inline="always")
def _heap_pop(heap, size):
    top = np.int64(heap[1])
    size -= 1
    if size == 0:
        return top, size
    key = heap[2 * size]
    val = heap[2 * size + 1]
    i = 0
    while True:
        first = 4 * i + 1
        if first >= size:
            break
        best = first
        bkey = heap[2 * first]
        last = min(first + 4, size)
        for ch in range(first + 1, last):
            ck = heap[2 * ch]
            if ck < bkey:
                bkey = ck
                best = ch
        if bkey >= key:
            break
        heap[2 * i] = bkey
        heap[2 * i + 1] = heap[2 * best + 1]
        i = best
    heap[2 * i] = key
    heap[2 * i + 1] = val
    return top, size


@njit(cache=True)
def priority_flood(z, valid, epsilon):
    """Fill depressions in place (Barnes, Lehman & Mulla 2014, Priority-Flood (+epsilon)).

    ``z``: 2-D float64 elevations (modified in place); ``valid``: 2-D bool. The seeds are the
    valid cells on the grid border or next to a no-data cell. Cells reached from a lower or equal
    cell are raised to it (``epsilon=False``) or to the next float above it (``epsilon=True``, so
    that flats and filled pits keep a strictly decreasing path to their spill point), and go to
    a plain FIFO "pit" queue instead of the priority queue (the speed-up of Barnes et al.).
    Returns the number of raised cells.
    """
    nrows, ncols = z.shape
    n = nrows * ncols
    zf = z.ravel()
    vf = valid.ravel()
    closed = np.zeros(n, dtype=np.bool_)
    # np.empty: only the pages the heap and the pit queue reach become resident memory
    heap = np.empty(2 * n, dtype=np.float64)
    pit = np.empty(n, dtype=np.int32)
    size = 0
    for r in range(nrows):
        for c in range(ncols):
            i = r * ncols + c
            if not vf[i]:
                continue
            seed = r == 0 or c == 0 or r == nrows - 1 or c == ncols - 1
            if not seed:
                for k in range(8):
                    if not vf[(r + DROW[k]) * ncols + c + DCOL[k]]:
                        seed = True
                        break
            if seed:
                closed[i] = True
                size = _heap_push(heap, size, zf[i], i)
    raised = 0
    pit_head = 0
    pit_tail = 0
    while size > 0 or pit_head < pit_tail:
        if pit_head < pit_tail:
            i = pit[pit_head]
            pit_head += 1
            if pit_head == pit_tail:
                pit_head = 0
                pit_tail = 0
        else:
            i, size = _heap_pop(heap, size)
        r = i // ncols
        c = i - r * ncols
        zi = zf[i]
        for k in range(8):
            rr = r + DROW[k]
            cc = c + DCOL[k]
            if rr < 0 or cc < 0 or rr >= nrows or cc >= ncols:
                continue
            j = rr * ncols + cc
            if closed[j] or not vf[j]:
                continue
            closed[j] = True
            if zf[j] <= zi:
                zf[j] = np.nextafter(zi, np.inf) if epsilon else zi
                raised += 1
                pit[pit_tail] = j
                pit_tail += 1
            else:
                size = _heap_push(heap, size, zf[j], j)
    return raised


@njit(cache=True)
def d8_receivers(z, valid, dx, dy):
    """Steepest-descent receiver of every cell (flat index, -1 for sinks/outlets and no data).

    The drop to each of the 8 neighbours is divided by the centre-to-centre distance; ties keep
    the first neighbour in ESRI order. Only strictly positive drops count.
    """
    nrows, ncols = z.shape
    zf = z.ravel()
    vf = valid.ravel()
    rec = np.full(nrows * ncols, -1, dtype=np.int32)
    diag = np.sqrt(dx * dx + dy * dy)
    inv = np.empty(8, dtype=np.float64)
    for k in range(8):
        if DROW[k] != 0 and DCOL[k] != 0:
            inv[k] = 1.0 / diag
        elif DROW[k] != 0:
            inv[k] = 1.0 / dy
        else:
            inv[k] = 1.0 / dx
    for r in range(nrows):
        for c in range(ncols):
            i = r * ncols + c
            if not vf[i]:
                continue
            zi = zf[i]
            best = 0.0
            bestj = -1
            interior = r > 0 and c > 0 and r < nrows - 1 and c < ncols - 1
            for k in range(8):
                rr = r + DROW[k]
                cc = c + DCOL[k]
                if not interior and (rr < 0 or cc < 0 or rr >= nrows or cc >= ncols):
                    continue
                j = rr * ncols + cc
                if not vf[j]:
                    continue
                s = (zi - zf[j]) * inv[k]
                if s > best:
                    best = s
                    bestj = j
            rec[i] = bestj
    return rec


@njit(cache=True)
def receivers_to_codes(rec, valid_flat, ncols):
    """ESRI D8 codes (1..128; 0 for a sink or outlet; 255 for no data) from receivers."""
    n = rec.shape[0]
    out = np.zeros(n, dtype=np.uint8)
    # flat offset j - i -> code, for the 8 neighbours (offsets are distinct when ncols >= 3)
    offsets = DROW * ncols + DCOL
    for i in range(n):
        if not valid_flat[i]:
            out[i] = 255
            continue
        j = rec[i]
        if j < 0:
            continue
        if ncols >= 3:
            d = j - i
            for k in range(8):
                if offsets[k] == d:
                    out[i] = CODES[k]
                    break
        else:  # narrow grids: flat offsets are ambiguous, compare rows and columns
            dr = j // ncols - i // ncols
            dc = j % ncols - i % ncols
            for k in range(8):
                if DROW[k] == dr and DCOL[k] == dc:
                    out[i] = CODES[k]
                    break
    return out


@njit(cache=True)
def codes_to_receivers(codes, nrows, ncols):
    """Receivers (flat index, -1 none) from ESRI D8 codes; a code pointing off the grid gives -1."""
    n = nrows * ncols
    rec = np.full(n, -1, dtype=np.int32)
    slot = np.full(256, -1, dtype=np.int64)  # code -> neighbour number
    for k in range(8):
        slot[CODES[k]] = k
    for r in range(nrows):
        for c in range(ncols):
            i = r * ncols + c
            k = slot[codes[i]]
            if k < 0:
                continue
            rr = r + DROW[k]
            cc = c + DCOL[k]
            if 0 <= rr < nrows and 0 <= cc < ncols:
                rec[i] = rr * ncols + cc
    return rec


@njit(cache=True)
def topological_accumulation(rec, weights):
    """Flow accumulation by Kahn's topological order (upstream cells first), in place.

    Returns ``(acc, order, n_cyclic)``: ``acc`` is ``weights`` itself (overwritten, to save a
    grid copy), ``acc[i]`` the sum of the weights over the cell and every cell draining
    through it; ``order`` lists the cells upstream-before-downstream (a cell never precedes a
    cell that drains into it). Cells on a cycle (impossible for receivers built from strictly
    decreasing elevations) would be left out of ``order``; their count is returned third.
    """
    n = rec.shape[0]
    indeg = np.zeros(n, dtype=np.uint8)  # at most 8 neighbours drain into a cell
    for i in range(n):
        j = rec[i]
        if j >= 0:
            indeg[j] += 1
    acc = weights
    order = np.empty(n, dtype=np.int32)
    head = 0
    tail = 0
    for i in range(n):
        if indeg[i] == 0:
            order[tail] = i
            tail += 1
    while head < tail:
        i = order[head]
        head += 1
        j = rec[i]
        if j >= 0:
            acc[j] += acc[i]
            indeg[j] -= 1
            if indeg[j] == 0:
                order[tail] = j
                tail += 1
    return acc, order, n - tail


@njit(cache=True)
def hand_from_order(z_flat, rec, order, stream_flat):
    """Height above the first stream cell reached downstream; NaN when no stream is reached.

    Walks ``order`` backwards (downstream cells first), so each cell takes its drainage cell from
    its receiver in O(1): the receivers are followed once.
    """
    n = rec.shape[0]
    drain = np.full(n, -1, dtype=np.int32)
    out = np.full(n, np.nan)
    for t in range(order.shape[0] - 1, -1, -1):
        i = order[t]
        if stream_flat[i]:
            drain[i] = i
        else:
            j = rec[i]
            if j >= 0:
                drain[i] = drain[j]
        d = drain[i]
        if d >= 0:
            out[i] = z_flat[i] - z_flat[d]
    return out


@njit(cache=True, inline="always")
def _find(parent, k):
    while parent[k] != k:
        parent[k] = parent[parent[k]]  # path halving
        k = parent[k]
    return k


@njit(cache=True)
def connected_flood(z, nodata, level, scalar_level, seeds, use_seed_mask, connectivity, cap):
    """Depth of water below ``level`` connected to the seed cells, in two linear passes.

    A cell floods when its ground ``z`` is below the level and it is a seed or touches a flooded
    cell (4 or 8 neighbours). Pass 1 scans the rows once: it writes the tentative depth of
    every cell below the level, groups them in horizontal runs, joins each run with the runs of
    the previous row it touches (union-find on runs, not cells) and notes the runs holding a
    seed. Pass 2 clears the runs whose group holds no seed. Threshold, connectivity and depth
    are fused; both passes read memory in order, which is what makes a run-based labelling
    faster than a cell-by-cell stack fill. ``use_seed_mask=False`` takes the grid border as the
    seeds. No-data cells (NaN or ``nodata``) get NaN, dry cells 0.

    ``cap`` is the number of run slots; the kernel returns ``complete=False`` when they run out
    (growing arrays inside the loop would slow every iteration down ~10x under numba).
    Returns ``(depth, complete, flooded_cells, depth_sum)``; the totals are kept up to date in
    both passes so that the caller needs no extra pass over the grid.
    """
    nrows, ncols = z.shape
    depth = np.zeros((nrows, ncols), dtype=np.float64)
    run_s = np.empty(cap, dtype=np.int32)
    run_e = np.empty(cap, dtype=np.int32)
    parent = np.empty(cap, dtype=np.int32)
    seeded = np.zeros(cap, dtype=np.bool_)
    row_ptr = np.zeros(nrows + 1, dtype=np.int64)
    nruns = 0
    wet_cells = 0
    depth_sum = 0.0
    has_nodata = not np.isnan(nodata)
    for r in range(nrows):
        row_ptr[r] = nruns
        prev_a = row_ptr[r - 1] if r > 0 else 0
        prev_b = nruns if r > 0 else 0
        p = prev_a
        border_row = r == 0 or r == nrows - 1
        c = 0
        while c < ncols:
            zi = z[r, c]
            if zi != zi or (has_nodata and zi == nodata):
                depth[r, c] = np.nan
                c += 1
                continue
            lv = level[0, 0] if scalar_level else level[r, c]
            if not zi < lv:
                c += 1
                continue
            start = c
            seed = False
            while True:
                depth[r, c] = lv - zi
                depth_sum += lv - zi
                if use_seed_mask:
                    if seeds[r, c]:
                        seed = True
                elif border_row or c == 0 or c == ncols - 1:
                    seed = True
                c += 1
                if c >= ncols:
                    break
                zi = z[r, c]
                if zi != zi or (has_nodata and zi == nodata):
                    break
                lv = level[0, 0] if scalar_level else level[r, c]
                if not zi < lv:
                    break
            wet_cells += c - start
            if nruns == cap:
                return depth, False, 0, 0.0  # out of run slots: the caller retries with more
            k = nruns
            run_s[k] = start
            run_e[k] = c
            parent[k] = k
            seeded[k] = seed
            nruns += 1
            # join the touching runs of the previous row (sorted by start)
            # 8-connectivity also joins runs touching at a corner: with integer column indices,
            # that widens both bounds by one cell
            diag = 1 if connectivity == 8 else 0
            while p < prev_b and run_e[p] < start + 1 - diag:
                p += 1
            q = p
            while q < prev_b and run_s[q] < c + diag:
                a = _find(parent, k)
                b = _find(parent, q)
                if a != b:
                    if a < b:
                        parent[b] = a
                        seeded[a] = seeded[a] or seeded[b]
                    else:
                        parent[a] = b
                        seeded[b] = seeded[a] or seeded[b]
                q += 1
            # a seed found in this run after the joins still reaches the group root
            if seed:
                seeded[_find(parent, k)] = True
    row_ptr[nrows] = nruns
    for r in range(nrows):
        for k in range(row_ptr[r], row_ptr[r + 1]):
            if not seeded[_find(parent, k)]:
                wet_cells -= run_e[k] - run_s[k]
                for c in range(run_s[k], run_e[k]):
                    depth_sum -= depth[r, c]
                    depth[r, c] = 0.0
    return depth, True, wet_cells, depth_sum
