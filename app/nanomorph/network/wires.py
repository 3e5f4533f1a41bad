"""Individual wires traced through crossings: which skeleton branches belong to one wire.

Starting from the branches and junction groups of :mod:`.graph` and the geometry of :mod:`.paths`:

1. *Merge junction clusters*: two junction groups joined by a branch shorter than the sum of
   their radii are one crossing (skeletonising an X often gives two Y's a few pixels apart); the
   short branch is part of the crossing.
2. *Prune spurs*: a branch from a junction to a free tip that is shorter than the junction's
   width (2 × its radius) is a skeletonisation spur, not a wire end, and is dropped.
3. *Pair arms*: at each junction the arms' directions are measured a little away from it (from
   one junction radius to three radii, at least ``DIRECTION_REACH_PX`` further); arms are paired
   so that the total bend is least (no pair bending by ``MAX_BEND_DEG`` or more) and no pair
   joins arms that lie side by side (:func:`_bends`); a junction left with two arms (two wire
   ends meeting, or one wire once its spur is pruned) joins them only below
   ``MAX_END_BEND_DEG``. An unpaired arm is a wire that ends on another (a T), or at the end of
   another (an L).
4. *Chain*: a wire is a chain of branches joined through paired arms; across a junction it runs
   straight from one arm's end to the other's. An arm that ends at a junction unpaired is
   extended to the junction's centre.

The junction radius is the farthest mask pixel owned by the junction's skeleton pixels, or half
the mean width of the widest branch that meets there if that is larger. A junction of more than
``MAX_NODE_ARMS`` arms is a tangle (a noisy or wrongly thresholded mask), not crossing wires: its
arms all end there, which keeps the time bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import DisjointSet

from nanomorph.network.graph import JUNCTION, TIP, SkeletonGraph
from nanomorph.network.paths import BranchPaths

MAX_BEND_DEG = 40.0
MAX_END_BEND_DEG = 12.0
DIRECTION_REACH_PX = 8.0
SPLIT_CROSSING_REACH = 8.0
EXACT_PAIRING_ARMS = 8
SPLIT_CROSSING_ARMS = 8
MAX_NODE_ARMS = 32
MIN_OFFSET_PX = 3.0
OFFSET_RADII = 2.5


@dataclass(frozen=True)
class Chains:
    """Wires as chains of branches.

    Attributes
    ----------
    branches : list of list of (int, bool)
        For every wire, its branches in order and whether each is walked backwards.
    bridges : list of list of ndarray
        For every wire, the straight pieces across junctions (and to a junction's centre for an
        unpaired arm), each an array of two (row, col) points in pixels.
    ends : list of ndarray, shape (2, 2)
        For every wire, its first and last (row, col) point in pixels.
    junctions : int
        Number of junctions (merged groups that still join three or more arms).
    """

    branches: list
    bridges: list
    ends: list
    junctions: int


def _nodes(graph: SkeletonGraph, paths: BranchPaths, radius_px: np.ndarray,
           spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Merge junction groups joined by short branches; return each group's node and kept branches.

    Returns
    -------
    node_of_group : ndarray of int
        Node number of every junction group.
    kept : ndarray of bool
        Branches that are wire pieces (not inside a crossing, not a spur).
    """
    n_groups = len(radius_px)
    lengths_px = paths.lengths / float(np.sqrt(spacing[0] * spacing[1]))
    radius = np.append(radius_px, 0.0)  # index -1 (no group) reads 0
    g0, g1 = graph.end_group[:, 0], graph.end_group[:, 1]
    both = (graph.end_kind == JUNCTION).all(axis=1)
    inside = both & ((lengths_px < radius[g0] + radius[g1]) |
                     ((g0 == g1) & (lengths_px < 2 * np.pi * radius[g0])))
    joined = DisjointSet(range(n_groups))
    for a, b in zip(g0[inside], g1[inside]):
        joined.merge(int(a), int(b))
    node_of_group = _numbered(joined, n_groups)
    node_radius = np.append(_node_radius(node_of_group, radius_px), 0.0)  # -1 (no node) reads 0
    kinds = graph.end_kind
    spur = (((kinds[:, 0] == TIP) & (kinds[:, 1] == JUNCTION)) |
            ((kinds[:, 1] == TIP) & (kinds[:, 0] == JUNCTION)))
    spur_group = np.where(kinds[:, 0] == JUNCTION, g0, g1)
    spur_node = np.append(node_of_group, -1)[spur_group]
    spur &= lengths_px < 2 * node_radius[spur_node]
    return node_of_group, ~inside & ~spur


def _arm_directions(graph: SkeletonGraph, paths: BranchPaths, arms: np.ndarray,
                    reach_px: np.ndarray, spacing: tuple[float, float]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Unit (row, col) directions of arms, pointing away from their junction, and where measured.

    Parameters
    ----------
    arms : ndarray of int, shape (n, 2)
        (branch, end) of each arm; end 0 is the branch's first pixel.
    reach_px : ndarray of float
        Radius of each arm's junction in pixels.

    Returns
    -------
    directions : ndarray of float, shape (n, 2)
    near : ndarray of float, shape (n, 2)
        (row, col) in pixels of the point one junction radius out along each arm.
    """
    scale = float(np.sqrt(spacing[0] * spacing[1]))
    length = paths.lengths[arms[:, 0]]
    near = np.minimum(reach_px * scale, 0.3 * length)
    far = np.minimum(near + np.maximum(2 * reach_px, DIRECTION_REACH_PX) * scale, length)
    out, start = np.empty((len(arms), 2)), np.empty((len(arms), 2))
    for i, (b, e) in enumerate(arms):
        lo, hi = graph.starts[b], graph.starts[b + 1]
        arc = paths.arc[lo:hi]
        positions = np.array([near[i], far[i]])
        positions = positions if e == 0 else length[i] - positions
        rows = np.interp(positions, arc, paths.points[lo:hi, 0])
        cols = np.interp(positions, arc, paths.points[lo:hi, 1])
        out[i] = rows[1] - rows[0], cols[1] - cols[0]
        start[i] = rows[0], cols[0]
    norm = np.hypot(out[:, 0], out[:, 1])
    return out / np.where(norm > 0, norm, 1.0)[:, None], start


def _best_matching(bend: np.ndarray, free: tuple[int, ...]) -> tuple[float, list]:
    """Pairs among ``free`` arms of least total cost (each bend; half the limit per lone arm)."""
    if len(free) < 2:
        return 0.5 * MAX_BEND_DEG * len(free), []
    first, rest = free[0], free[1:]
    cost, pairs = _best_matching(bend, rest)
    best = (cost + 0.5 * MAX_BEND_DEG, pairs)
    for k, other in enumerate(rest):
        if bend[first, other] < MAX_BEND_DEG:
            cost, pairs = _best_matching(bend, rest[:k] + rest[k + 1:])
            if cost + bend[first, other] < best[0]:
                best = (cost + bend[first, other], [(first, other)] + pairs)
    return best


def _bends(directions: np.ndarray, near: np.ndarray, radius_px: float) -> np.ndarray:
    """Bend in degrees between every two arms; infinite when their axes are offset sideways.

    Two arms continue each other when their directions are opposite and each lies on the other's
    axis: the sideways offset between their measuring points must stay within the junction's
    radius (parallel wires side by side are two wires, however straight the join would be).
    """
    bend = np.degrees(np.arccos(np.clip(-(directions @ directions.T), -1.0, 1.0)))
    axis = directions[None, :, :] - directions[:, None, :]
    axis /= np.maximum(np.linalg.norm(axis, axis=2, keepdims=True), 1e-9)
    gap = near[None, :, :] - near[:, None, :]
    sideways = np.abs(gap[..., 0] * axis[..., 1] - gap[..., 1] * axis[..., 0])
    bend[sideways > max(OFFSET_RADII * radius_px, MIN_OFFSET_PX)] = np.inf
    return bend


def _pairs(bend: np.ndarray) -> list[tuple[int, int]]:
    """Pairs of arms that continue each other (bend < ``MAX_BEND_DEG``), from a bend matrix.

    Up to ``EXACT_PAIRING_ARMS`` arms, the pairing with the least total bend (an unpaired arm
    counts half the limit); beyond, greedily from the straightest pair.
    """
    bend = bend.copy()
    if len(bend) <= EXACT_PAIRING_ARMS:
        return _best_matching(bend, tuple(range(len(bend))))[1]
    np.fill_diagonal(bend, np.inf)
    pairs, used = [], set()
    for flat in np.argsort(bend, axis=None):
        i, j = divmod(int(flat), len(bend))
        if bend[i, j] >= MAX_BEND_DEG:
            break
        if i < j and i not in used and j not in used:
            pairs.append((i, j))
            used |= {i, j}
    return pairs


def _end_point(graph: SkeletonGraph, paths: BranchPaths, branch: int, end: int) -> np.ndarray:
    """Smoothed (row, col) of one end of a branch."""
    return paths.points[graph.starts[branch] if end == 0 else graph.starts[branch + 1] - 1]


def trace_chains(graph: SkeletonGraph, paths: BranchPaths, group_radius_px: np.ndarray,
                 spacing: tuple[float, float]) -> Chains:
    """Group the branches of a skeleton into wires that run through crossings.

    Parameters
    ----------
    graph : SkeletonGraph
        Branches and junction groups.
    paths : BranchPaths
        Their smoothed geometry.
    group_radius_px : ndarray of float
        Farthest mask pixel owned by each junction group, in pixels.
    spacing : (float, float)
        Pixel size (y, x) in the unit of ``paths``.

    Returns
    -------
    Chains
        The branches and junction crossings of every wire.
    """
    radius_px = np.maximum(group_radius_px,
                           _group_reach(graph, paths, float(np.sqrt(spacing[0] * spacing[1]))))
    node_of_group, kept = _nodes(graph, paths, radius_px, spacing)
    arms = np.array([(b, e) for b in np.flatnonzero(kept) for e in (0, 1)
                     if graph.end_kind[b, e] == JUNCTION], dtype=int).reshape(-1, 2)
    node_radius = _node_radius(node_of_group, radius_px)
    arm_node = node_of_group[graph.end_group[arms[:, 0], arms[:, 1]]]
    directions, near = _arm_directions(graph, paths, arms, node_radius[arm_node], spacing)
    node_of_node = _merge_split_crossings(paths.lengths / float(np.sqrt(spacing[0] * spacing[1])),
                                          arms, arm_node, directions, near, node_radius, kept)
    node_radius = _node_radius(node_of_node, node_radius)
    node_of_group = node_of_node[node_of_group]
    arm_node = node_of_node[arm_node]
    n_nodes = int(node_of_group.max()) + 1 if len(node_of_group) else 0
    centre = np.zeros((n_nodes, 2))
    for g, pixels in enumerate(graph.group_pixels):
        centre[node_of_group[g]] += np.column_stack(np.unravel_index(pixels, graph.shape)).mean(0)
    centre /= np.maximum(np.bincount(node_of_group, minlength=n_nodes), 1)[:, None]

    partner: dict[tuple[int, int], tuple[int, int]] = {}
    unpaired: dict[tuple[int, int], np.ndarray] = {}
    junctions = 0
    for node, members in enumerate(_by_node(arm_node, n_nodes)):
        junctions += len(members) >= 3
        paired = set()
        if len(members) > MAX_NODE_ARMS:  # a tangle (e.g. a noisy mask): every arm ends there
            for i in members:
                unpaired[tuple(arms[i])] = centre[arm_node[i]]
            continue
        bend = _bends(directions[members], near[members], node_radius[node])
        if len(members) == 2:  # two wires' ends meeting (an L) bend more than one wire does
            bend[bend >= MAX_END_BEND_DEG] = np.inf
        for i, j in _pairs(bend) if len(members) >= 2 else []:
            a, b = tuple(arms[members[i]]), tuple(arms[members[j]])
            partner[a], partner[b] = b, a
            paired |= {i, j}
        for i in set(range(len(members))) - paired:
            unpaired[tuple(arms[members[i]])] = centre[arm_node[members[i]]]
    return _chain(graph, paths, np.flatnonzero(kept), partner, unpaired, junctions)


def _node_radius(node_of_group: np.ndarray, radius_px: np.ndarray) -> np.ndarray:
    """Largest group radius of every node, in pixels."""
    radius = np.zeros(int(node_of_group.max()) + 1 if len(node_of_group) else 0)
    np.maximum.at(radius, node_of_group, radius_px)
    return radius


def _by_node(arm_node: np.ndarray, n_nodes: int) -> list[np.ndarray]:
    """Arm indices of every node."""
    order = np.argsort(arm_node, kind="stable")
    bounds = np.searchsorted(arm_node[order], np.arange(n_nodes + 1))
    return [order[bounds[n]:bounds[n + 1]] for n in range(n_nodes)]


def _merge_split_crossings(lengths_px: np.ndarray, arms: np.ndarray, arm_node: np.ndarray,
                           directions: np.ndarray, near: np.ndarray, node_radius: np.ndarray,
                           kept: np.ndarray) -> np.ndarray:
    """Join the two three-arm junctions an acute crossing is skeletonised into.

    Where two wires cross at a small angle their overlap is long, and the skeleton shows two
    junctions joined by a branch up to ``SPLIT_CROSSING_REACH`` junction radii long. The two are one
    crossing when each outer arm of one junction continues an outer arm of the other (bends below
    ``MAX_BEND_DEG``); the joining branch is then dropped (``kept`` is updated in place).

    Returns
    -------
    ndarray of int
        New node number of every node.
    """
    n_nodes = len(node_radius)
    members = _by_node(arm_node, n_nodes)
    joined = DisjointSet(range(n_nodes))
    for index in np.flatnonzero(np.bincount(arms[:, 0], minlength=len(kept)) == 2):
        ends = np.flatnonzero(arms[:, 0] == index)
        a, b = arm_node[ends]
        if a == b or lengths_px[index] >= SPLIT_CROSSING_REACH * (node_radius[a] + node_radius[b]):
            continue
        outer_a = [i for i in members[a] if arms[i, 0] != index]
        outer_b = [i for i in members[b] if arms[i, 0] != index]
        if len(outer_a) > SPLIT_CROSSING_ARMS or len(outer_b) > SPLIT_CROSSING_ARMS:
            continue  # a tangle, not the two halves of one crossing
        outer = outer_a + outer_b
        pairs = _pairs(_bends(directions[outer], near[outer], max(node_radius[a], node_radius[b])))
        if sum(i < len(outer_a) <= j for i, j in pairs) >= 2:
            joined.merge(int(a), int(b))
            kept[index] = False
    return _numbered(joined, n_nodes)


def _numbered(joined: DisjointSet, n: int) -> np.ndarray:
    """The merged sets of ``0 … n-1`` numbered 0, 1, … : the new number of every element."""
    roots = np.array([joined[i] for i in range(n)], dtype=int)
    return np.unique(roots, return_inverse=True)[1].ravel() if n else roots


def _group_reach(graph: SkeletonGraph, paths: BranchPaths, scale: float) -> np.ndarray:
    """Half the widest mean width of the branches that meet at each junction group, in pixels."""
    counts = np.diff(graph.starts)
    finite = np.isfinite(paths.width)
    sums = np.add.reduceat(np.where(finite, paths.width, 0.0), graph.starts[:-1]) if len(
        finite) else np.zeros(0)
    n_finite = np.add.reduceat(finite.astype(float), graph.starts[:-1]) if len(finite) else sums
    half_width = np.where((counts > 0) & (n_finite > 0), sums / np.maximum(n_finite, 1), 1.0)
    half_width = 0.5 * half_width / scale
    reach = np.full(len(graph.group_pixels), 0.5)
    for e in (0, 1):
        attached = graph.end_group[:, e] >= 0
        np.maximum.at(reach, graph.end_group[attached, e], half_width[attached])
    return reach


def _chain(graph: SkeletonGraph, paths: BranchPaths, kept: np.ndarray, partner: dict,
           unpaired: dict, junctions: int) -> Chains:
    """Walk from branch to branch through paired arms."""
    seen: set[int] = set()
    wires, bridges, ends = [], [], []
    # Chain heads first (a branch end that nothing continues), then what is left (closed rings).
    heads = [(b, e) for b in kept for e in (0, 1) if (b, e) not in partner]
    for start in heads + [(b, 0) for b in kept]:
        if start[0] in seen:
            continue
        chain, pieces = [], []
        branch, entry = start
        first = unpaired.get(start, _end_point(graph, paths, *start))
        if start in unpaired:
            pieces.append(np.array([unpaired[start], _end_point(graph, paths, *start)]))
        while branch not in seen:
            seen.add(branch)
            chain.append((int(branch), entry == 1))
            exit_end = (int(branch), 1 - entry)
            last = unpaired.get(exit_end, _end_point(graph, paths, *exit_end))
            if exit_end in unpaired:
                pieces.append(np.array([_end_point(graph, paths, *exit_end), unpaired[exit_end]]))
            if exit_end not in partner:
                break
            branch, entry = partner[exit_end]
            if branch not in seen:
                pieces.append(np.array([_end_point(graph, paths, *exit_end),
                                        _end_point(graph, paths, branch, entry)]))
        wires.append(chain)
        bridges.append(pieces)
        ends.append(np.array([first, last]))
    return Chains(wires, bridges, ends, int(junctions))
