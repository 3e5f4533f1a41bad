"""Exact DBSCAN of the foreground pixels of a binary mask, computed on the pixel grid.

DBSCAN on pixel coordinates has structure a general point set lacks: the eps-neighbourhood of
every pixel is the same set of integer offsets (the :class:`~.footprint.Footprint`). This module
uses that to give the partition of :class:`sklearn.cluster.DBSCAN` without a neighbour graph:

1. **Core pixels.** The number of foreground pixels in each pixel's footprint (the pixel
   itself included, as scikit-learn counts it) is a sum of horizontal box sums, one per footprint
   row; box sums grow by two shifted adds per unit of width. Large footprints are counted by FFT
   convolution instead. A foreground pixel is core when its count reaches ``min_samples``.
2. **Clusters of core pixels.** ``scipy.ndimage.label`` joins core pixels that are neighbours
   within the 3×3 part of the footprint. Two such components belong to one cluster when some pair
   of their core pixels lies within eps; only pairs beyond 3×3 remain to be found. Of every two
   components within eps, take the closest pair ``(a, b)`` and the unit step ``s = sign(b - a)``
   (always in the 3×3 footprint, because the footprint is monotone): ``a + s`` cannot be core
   (it would be in a's component and closer to b), nor can ``b - s``. So it is enough to test,
   per footprint offset ``o`` in one half-plane, the core pixels ``p`` with ``p + s`` not core
   against the core pixels ``q = p + o`` with ``q - s`` not core: pixels on the component
   outlines facing each other. The component pairs found are merged with
   ``scipy.sparse.csgraph.connected_components``.
3. **Border pixels.** A non-core foreground pixel joins the cluster of its nearest core pixel
   within eps (offsets visited by distance, then dy, then dx); with none it is noise.

Work is done on the mask padded by the footprint radius, so offsets never wrap around rows and
flat (raveled) indices can be shifted freely; the returned images are views of the padded
arrays. Neighbour counts are made a block of rows at a time. Cost grows as ``N * r`` for the
counts (``N`` pixels, ``r`` the footprint radius in pixels) and ``B * r**2`` for the merge
(``B`` outline pixels); memory is about 7 bytes per pixel (padded mask, core image, int32
labels, one scratch image).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from nanomorph.percolation.footprint import Footprint

# Footprints spanning more rows + columns than this are counted by FFT convolution.
FFT_COUNT_MIN_EXTENT = 600
# Bytes of one row block in the blockwise passes (small enough to stay in cache).
BLOCK_BYTES = 1 << 18


def cluster_pixels(mask: np.ndarray, eps: float, min_samples: int,
                   spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, int]:
    """DBSCAN labels of the foreground pixels of ``mask``, computed on the grid.

    Parameters
    ----------
    mask : ndarray of bool, 2-D
        Foreground = True.
    eps : float
        Neighbourhood radius, in the unit of ``spacing``.
    min_samples : int
        Foreground pixels within eps (the pixel itself included) that make a pixel core.
    spacing : (float, float)
        Pixel size along (y, x).

    Returns
    -------
    labels : ndarray of int32, shape of ``mask``
        0 background, -1 noise, 1..n clusters in raster order of their first core pixel.
    core : ndarray of bool, shape of ``mask``
    n_clusters : int
    """
    footprint = Footprint.build(eps, spacing, (mask.shape[0] - 1, mask.shape[1] - 1))
    if footprint.covers(mask.shape):
        return _all_within_eps(mask, min_samples)
    pad = (max(footprint.ry, 1), max(footprint.rx, 1))
    padded = np.pad(mask, [(pad[0],) * 2, (pad[1],) * 2])
    inner = (slice(pad[0], pad[0] + mask.shape[0]), slice(pad[1], pad[1] + mask.shape[1]))
    core = core_pixels(padded, footprint, pad, min_samples)
    labels, n_components = ndimage.label(core, structure=footprint.structure(), output=np.int32)
    scratch = np.empty(padded.size, bool)
    lut, n_clusters = _merge_table(n_components, _far_pairs(core, labels, footprint, scratch))
    if n_clusters < n_components:
        for rows in _row_blocks(*labels.shape, itemsize=labels.itemsize):
            labels[rows] = lut[labels[rows]]
    border = np.flatnonzero(np.not_equal(padded.ravel(), core.ravel(), out=scratch))
    nearest = _nearest_core_label(border, labels.ravel(), padded.shape[1], footprint.offsets)
    np.put(labels, border, np.where(nearest > 0, nearest, -1))
    return labels[inner], core[inner], n_clusters


def _row_blocks(height: int, width: int, itemsize: int = 1):
    """Slices of consecutive rows, about :data:`BLOCK_BYTES` each, covering ``height`` rows."""
    block = max(1, BLOCK_BYTES // (width * itemsize))
    return (slice(start, min(start + block, height)) for start in range(0, height, block))


def _all_within_eps(mask: np.ndarray, min_samples: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Clusters when every pixel pair is within eps: one cluster, or noise only."""
    clustered = int(np.count_nonzero(mask)) >= min_samples
    labels = np.where(mask, 1 if clustered else -1, 0).astype(np.int32)
    return labels, mask & clustered, int(clustered)


def core_pixels(padded: np.ndarray, footprint: Footprint, pad: tuple[int, int],
                min_samples: int) -> np.ndarray:
    """The core pixels: foreground with at least ``min_samples`` foreground pixels within eps.

    Parameters
    ----------
    padded : ndarray of bool
        The mask with ``pad`` rows/columns of background on each side.
    footprint : Footprint
    pad : (int, int)
        Padding along (y, x), at least the footprint radius ``(ry, rx)``.
    min_samples : int

    Returns
    -------
    ndarray of bool, shape of ``padded`` (False in the padding)
    """
    if min_samples <= 1:
        return padded
    core = np.zeros_like(padded)
    height, width = padded.shape[0] - 2 * pad[0], padded.shape[1] - 2 * pad[1]
    inner_core = core[pad[0]:pad[0] + height, pad[1]:pad[1] + width]
    if 2 * footprint.ry + 2 * footprint.rx + 2 > FFT_COUNT_MIN_EXTENT:
        np.greater_equal(_counts_by_fft(padded, footprint, pad), min_samples, out=inner_core)
    else:
        for rows in _row_blocks(height, padded.shape[1]):
            np.greater_equal(_counts_by_rows(padded, footprint, pad, rows), min_samples,
                             out=inner_core[rows])
    inner_core &= padded[pad[0]:pad[0] + height, pad[1]:pad[1] + width]
    return core


def _count_dtype(largest: int) -> type:
    return next(t for t in (np.uint8, np.uint16, np.uint32) if largest <= np.iinfo(t).max)


def _counts_by_rows(padded: np.ndarray, footprint: Footprint, pad: tuple[int, int],
                    rows: slice) -> np.ndarray:
    """Counts of the interior rows ``rows`` as sums of horizontal box sums: the box of
    half-width w grows from w - 1 by two shifted adds, and each footprint row adds its box,
    shifted by its dy."""
    (py, px), ry = pad, footprint.ry
    width = padded.shape[1] - 2 * px
    # padded rows read by the block: interior row i + dy is padded row i + py + dy
    pixels = padded[rows.start + py - ry:rows.stop + py + ry].view(np.uint8)
    dtype = _count_dtype(footprint.size)
    counts = np.zeros((rows.stop - rows.start, width), dtype)
    box = pixels[:, px:px + width].astype(dtype)
    row_dy = np.arange(-ry, ry + 1)
    for w in range(footprint.rx + 1):
        if w:
            box += pixels[:, px - w:px - w + width]
            box += pixels[:, px + w:px + w + width]
        for dy in row_dy[footprint.half_widths == w]:
            counts += box[ry + dy:ry + dy + len(counts)]
    return counts


def _counts_by_fft(padded: np.ndarray, footprint: Footprint,
                   pad: tuple[int, int]) -> np.ndarray:
    """Counts of every interior pixel by overlap-add FFT convolution with the footprint image,
    rounded to integers."""
    from scipy.signal import oaconvolve

    inner = padded[pad[0]:padded.shape[0] - pad[0], pad[1]:padded.shape[1] - pad[1]]
    counts = oaconvolve(inner.astype(np.float64), footprint.image().astype(np.float64),
                        mode="same")
    return np.rint(counts).astype(_count_dtype(footprint.size))


_HALF_PLANE_STEPS = ((0, 1), (1, -1), (1, 0), (1, 1))


def _far_pairs(core: np.ndarray, components: np.ndarray, footprint: Footprint,
               scratch: np.ndarray) -> np.ndarray:
    """Pairs of component labels with core pixels within eps but beyond the 3×3 neighbourhood.

    Parameters
    ----------
    core : ndarray of bool
        Padded core image (padding >= footprint radius, and >= 1).
    components : ndarray of int32
        ``ndimage.label`` of ``core`` with the footprint's 3×3 structure.
    footprint : Footprint
    scratch : ndarray of bool, shape (core.size,)
        Work space.

    Returns
    -------
    ndarray of int32, shape (m, 2)
        Distinct label pairs (a != b): a sufficient set of edges for the merge.
    """
    offsets = footprint.far_half_offsets()
    width = core.shape[1]
    flat_core, flat_components = core.ravel(), components.ravel()
    steps = np.sign(offsets)
    found = [np.zeros((0, 2), np.int32)]
    for sy, sx in _HALF_PLANE_STEPS:
        group = offsets[(steps[:, 0] == sy) & (steps[:, 1] == sx)]
        if not len(group):
            continue
        step = sy * width + sx  # > 0 in this half-plane
        # core pixels p whose step neighbour p + s is not core
        sources = np.flatnonzero(np.greater(flat_core[:-step], flat_core[step:],
                                            out=scratch[:-step]))
        for dy, dx in group:
            partners = sources + (dy * width + dx)
            hit = flat_core[partners] & ~flat_core[partners - step]
            a, b = flat_components[sources[hit]], flat_components[partners[hit]]
            differ = a != b
            found.append(np.unique(np.column_stack([a[differ], b[differ]]), axis=0))
    return np.unique(np.concatenate(found), axis=0)


def _merge_table(n_components: int, pairs: np.ndarray) -> tuple[np.ndarray, int]:
    """Look-up table from component labels to cluster labels, merging the given pairs.

    Clusters are numbered by their smallest component label, so the raster order of the first
    core pixel (``ndimage.label``'s numbering) carries over. Entry 0 stays 0.

    Returns
    -------
    lut : ndarray of int32, shape (n_components + 1,)
    n_clusters : int
    """
    if not len(pairs):
        return np.arange(n_components + 1, dtype=np.int32), n_components
    graph = coo_matrix((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(n_components + 1, n_components + 1))
    _, group = connected_components(graph, directed=False)
    _, first_component, dense = np.unique(group[1:], return_index=True, return_inverse=True)
    rank = np.empty(len(first_component), np.int32)
    rank[np.argsort(first_component)] = np.arange(1, len(first_component) + 1, dtype=np.int32)
    lut = np.zeros(n_components + 1, np.int32)
    lut[1:] = rank[dense]
    return lut, len(first_component)


def _nearest_core_label(pixels: np.ndarray, flat_labels: np.ndarray, width: int,
                        offsets: np.ndarray) -> np.ndarray:
    """Label of the nearest core pixel within eps of each pixel, or 0 when none.

    Parameters
    ----------
    pixels : ndarray of int
        Flat indices into the padded image (padding >= footprint radius).
    flat_labels : ndarray of int32
        Raveled labels of the padded image (0 where not core).
    width : int
        Width of the padded image.
    offsets : ndarray, shape (k, 2)
        Footprint offsets in tie order (:attr:`Footprint.offsets`), ``(0, 0)`` first.

    Returns
    -------
    ndarray of int32
        The label of the first core pixel met in ``offsets`` order.
    """
    found = np.zeros(len(pixels), np.int32)
    pending = np.arange(len(pixels))
    for dy, dx in offsets[1:]:
        if not len(pending):
            break
        label = flat_labels[pixels[pending] + (dy * width + dx)]
        hit = label > 0
        found[pending[hit]] = label[hit]
        pending = pending[~hit]
    return found
