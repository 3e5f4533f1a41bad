"""From a micrograph to encoder inputs: one rule for every encoder, chosen by measurement.

Steps (``preprocess_plane``)
----------------------------
1. Info bar (``crop_databar``): the rows of an SEM info bar are cut off: ``databar_rows`` from
   the file's metadata (FEI TIFFs), else :func:`nanomorph.masks.databar.find_databar_rows`.
2. Robust gray levels: gray levels are clipped to the ``percentiles`` (default 0.5 / 99.5 %) of
   the image, at full resolution so that hot pixels do not bleed into their neighbours, and
   mapped to [0, 1] after the resize (linear, so the same as before it). The percentiles come
   from :func:`nanomorph.io.intensity.percentile_range` on a grid of at most 128 × 128 pixels:
   0.08 ms instead of 3.9 ms on the full 704 × 1024 image, a range within 0.2 % of it.
3. Crops of ``size_px`` × ``size_px`` (224), resized with an anti-aliased bilinear filter whose
   support widens with the reduction factor (torch's ``interpolate(antialias=True)``, Pillow's
   filter: the same values within 5e-6 of the range, 0.29 ms instead of 0.69 ms for 704 × 1024
   to 224², 2 threads):

   - ``mode="resize"``: the whole image squeezed to 224 × 224 (aspect ratio not kept, as
     ``torchvision``'s ``Resize((224, 224))`` in Lu et al. 2022);
   - ``mode="center"``: the image resized so its short side is 224 (aspect ratio kept) and
     its centred 224 × 224 square;
   - ``mode="tiles"``: the image resized so its short side is ``tiles_per_side`` × 224 (aspect
     ratio kept), cut into the centred grid of whole 224-px tiles; the embedding is the mean of
     the tiles' embeddings.
   - ``equal_field_of_view_nm``: every crop covers this many nanometres, so embeddings of images
     taken at different magnifications compare like with like: ``resize`` takes the centred
     field of view, ``tiles`` the grid of whole fields of view (at most 8 × 8, centred).
     Uncalibrated images, and images smaller than the field of view, fall back to the whole
     image resized, with a note.
4. ``dihedral``: every crop also in its other 7 flips and quarter turns (test-time
   augmentation; the embedding is the mean over all crops, as for tiles).
5. Gray to three channels, then the encoder's ``mean`` / ``std`` per channel.

The choice, measured
--------------------
On a set where one microscope took every class (``pan_nanofiber_dev``: electrospun fibres,
defective / non-defective / slightly defective, 28 images in 24 groups), so that the image
source cannot give the class away (``tests/benchmarks/test_bench_accuracy.py``; EfficientNet-
Lite0 ImageNet embeddings, the linear head, 60 group-aware splits per K, same splits for all):

==========================  ==========  ==========
variant                     1 label     2 labels
==========================  ==========  ==========
resize                      0.579       0.624
resize + dihedral           0.628       0.691
center                      0.631       0.654
**center + dihedral**       **0.664**   **0.743**
tiles 2 × 2 (+ dihedral)    0.593       0.627 (0.614 / 0.629)
tiles 3 × 4 (+ dihedral)    0.561       0.553 (0.579 / 0.577)
3 scales + dihedral, mean   0.646       0.673
==========================  ==========  ==========

Default of EfficientNet-Lite0: ``center`` with ``dihedral``. Squeezing a 1024 × 700 image to a
square distorts every fibre's width and angle; a centred square at the same scale does not, and
the 8 views average out the orientation a single view is sensitive to (micrographs have no up).
Finer tiles lose (likely: fibres and beads are resolved at 224 px of the short side already,
and averaging tiles dilutes the few that hold a defect). On the earlier multi-source set
(one class per source) every variant scored 0.93–0.97; it chose ``resize`` only because the
source gave the class away there. The info bar is cut off (it identifies the instrument, not
the morphology).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import numpy as np

from nanomorph.errors import InvalidParameterError
from nanomorph.io.intensity import percentile_range
from nanomorph.io.records import JsonRecord

MODES = ("resize", "center", "tiles")
# Part of every spec's key: raise it when a change of this module changes its output, so that
# cached embeddings made by the old code are not served as the new code's.
RULE_VERSION = 1
MAX_TILES_PER_SIDE = 8
PERCENTILE_SAMPLE_SIDE_PX = 128
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PreprocessSpec(JsonRecord):
    """How an image becomes encoder inputs (see the module docstring).

    Attributes
    ----------
    size_px : int
        Side of each network input, in pixels (224).
    mean, std : (float, float, float)
        Per-channel normalisation of gray levels in [0, 1], as the encoder was trained.
    percentiles : (float, float)
        Low / high percentiles (%) mapped to 0 / 1.
    mode : str
        ``"resize"``, ``"center"`` or ``"tiles"``.
    tiles_per_side : int
        ``tiles`` mode: tiles along the image's short side.
    crop_databar : bool
        Cut an SEM info bar off before anything else.
    equal_field_of_view_nm : float or None
        Field of view of each crop in nanometres for calibrated images (None: the whole image).
    dihedral : bool
        Test-time augmentation: every crop also in its 7 other flips and quarter turns (the
        embedding is the mean of all; micrographs have no up). 8 × the forward passes.
    """

    size_px: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    percentiles: tuple[float, float] = (0.5, 99.5)
    mode: str = "resize"
    tiles_per_side: int = 2
    crop_databar: bool = True
    equal_field_of_view_nm: float | None = None
    dihedral: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidParameterError(f"unknown preprocessing mode {self.mode!r}: choose "
                                        f"{' or '.join(MODES)}")
        if not (isinstance(self.size_px, int) and self.size_px >= 16):
            raise InvalidParameterError(f"the input size must be >= 16 px, got {self.size_px!r}")
        low, high = self.percentiles
        if not 0 <= low < high <= 100:
            raise InvalidParameterError(f"percentiles must satisfy 0 <= low < high <= 100, "
                                        f"got {low}, {high}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise InvalidParameterError("mean and std need three values, std > 0")
        if not (isinstance(self.tiles_per_side, int) and self.tiles_per_side >= 1):
            raise InvalidParameterError(f"tiles_per_side must be >= 1, got {self.tiles_per_side!r}")
        fov = self.equal_field_of_view_nm
        if fov is not None and not (math.isfinite(fov) and fov > 0):
            raise InvalidParameterError(f"the field of view must be > 0 nm, got {fov!r}")


    @classmethod
    def from_json(cls, fields: dict) -> "PreprocessSpec":
        """The spec :meth:`as_json` wrote.

        Parameters
        ----------
        fields : dict
            Field name → value (lists for tuples).

        Returns
        -------
        PreprocessSpec
            The settings.
        """
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})

    def key(self) -> str:
        """The embedding cache's preprocessing key.

        Returns
        -------
        str
            12 hex digits of a SHA-256 of these settings (sorted JSON) and ``RULE_VERSION``.
        """
        fields = {**self.as_json(), "rule_version": RULE_VERSION}
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Preprocessed:
    """Encoder inputs of one image.

    Attributes
    ----------
    inputs : ndarray, float32, shape (T, 3, size_px, size_px)
        T crops (1 for ``resize``), normalised; their embeddings are averaged. The array is a
        view of channels-last memory (T, size_px, size_px, 3), the layout the networks read.
    notes : list of str
        What was done that a user may want to know (bar cut, fallbacks).
    """

    inputs: np.ndarray
    notes: list[str] = field(default_factory=list)


def preprocess_image(image, spec: PreprocessSpec, page: int = 0) -> Preprocessed:
    """Encoder inputs of a ``MicroscopeImage``, with its info bar rows from
    ``metadata["databar_rows"]`` and its calibration.

    Parameters
    ----------
    image : MicroscopeImage
        The micrograph.
    spec : PreprocessSpec
        How images become this encoder's inputs.
    page : int
        Which page of a stack.

    Returns
    -------
    Preprocessed
        The input tensors and how they were made.
    """
    calibration = image.calibration
    pixel_size_nm = calibration.pixel_size_nm() if calibration.is_length else None
    return preprocess_plane(image.plane(page), spec,
                            databar_rows=image.metadata.get("databar_rows"),
                            pixel_size_nm=pixel_size_nm)


def preprocess_plane(plane: np.ndarray, spec: PreprocessSpec, *, databar_rows: int | None = None,
                     pixel_size_nm: tuple[float, float] | None = None) -> Preprocessed:
    """Encoder inputs of a 2-D gray image.

    Parameters
    ----------
    plane : ndarray, shape (rows, cols)
        Gray levels of any real dtype.
    spec : PreprocessSpec
    databar_rows : int, optional
        Info bar height when known (else found from the pixels, with ``crop_databar``).
    pixel_size_nm : (float, float), optional
        Pixel size (y, x) in nm; needed for ``equal_field_of_view_nm``.

    Returns
    -------
    Preprocessed

    Raises
    ------
    InvalidParameterError
        For an array that is not 2-D, or a physical field of view without a pixel size.
    """
    plane = np.asarray(plane)
    if plane.ndim != 2 or min(plane.shape) < 1:
        raise InvalidParameterError(f"expected a 2-D image, got shape {plane.shape}")
    notes = []
    if spec.crop_databar:
        plane, bar_note = _without_databar(plane, databar_rows)
        notes += bar_note
    step = max(1, -(-max(plane.shape) // PERCENTILE_SAMPLE_SIDE_PX))
    lo, hi = percentile_range(plane[::step, ::step], *spec.percentiles)
    crops = _crops(plane, spec, pixel_size_nm, (lo, hi), notes)
    if spec.dihedral:
        crops = np.concatenate([np.rot90(flipped, turns, axes=(1, 2))
                                for flipped in (crops, crops[:, :, ::-1]) for turns in range(4)])
    crops -= lo
    crops *= 1.0 / (hi - lo) if hi > lo else 1.0
    np.clip(crops, 0.0, 1.0, out=crops)  # float rounding only
    channels_last = np.empty((*crops.shape, 3), np.float32)  # (T, S, S, 3)
    for channel, (mean, std) in enumerate(zip(spec.mean, spec.std)):
        np.multiply(crops - np.float32(mean), np.float32(1.0 / std),
                    out=channels_last[..., channel])  # 17× faster than broadcasting over 3
    return Preprocessed(channels_last.transpose(0, 3, 1, 2), notes)


def _without_databar(plane: np.ndarray, databar_rows: int | None) -> tuple[np.ndarray, list[str]]:
    from nanomorph.masks.databar import find_databar_rows

    rows = int(databar_rows) if databar_rows else find_databar_rows(plane)
    if not 0 < rows < plane.shape[0]:
        return plane, []
    return plane[:-rows], [f"info bar of {rows} rows cut off"]


def _crops(plane: np.ndarray, spec: PreprocessSpec, pixel_size_nm, clip: tuple[float, float],
           notes: list[str]) -> np.ndarray:
    """Crops (T, S, S) float32 of ``plane``, gray levels clipped to ``clip``, by the spec's mode."""
    rows, cols = plane.shape
    size = spec.size_px
    if spec.equal_field_of_view_nm is not None:
        grid = _field_of_view_grid(plane.shape, spec, pixel_size_nm, notes)
        if grid is not None:
            return _grid_crops(plane, *grid, size, clip)
    if spec.mode == "center":
        side = min(rows, cols)
        return _grid_crops(plane, (side, side), (1, 1), size, clip)
    if spec.mode == "tiles" and spec.equal_field_of_view_nm is None:
        tile_px = min(rows, cols) / spec.tiles_per_side
        counts = (max(1, int(rows / tile_px + 1e-6)), max(1, int(cols / tile_px + 1e-6)))
        return _grid_crops(plane, (tile_px, tile_px), counts, size, clip)
    return _grid_crops(plane, (rows, cols), (1, 1), size, clip)


def _field_of_view_grid(shape, spec: PreprocessSpec, pixel_size_nm, notes: list[str]):
    """(tile size in source px (y, x), tile counts (y, x)) for an equal field of view, or None
    (with a note) when the image is uncalibrated or smaller than the field of view."""
    fov = spec.equal_field_of_view_nm
    if pixel_size_nm is None:
        notes.append(f"uncalibrated: the whole image was resized instead of a {fov:g} nm "
                     "field of view")
        return None
    tile_px = (fov / pixel_size_nm[0], fov / pixel_size_nm[1])
    counts = [int(n / t + 1e-6) for n, t in zip(shape, tile_px)]
    if min(counts) < 1:
        height, width = (n * p for n, p in zip(shape, pixel_size_nm))
        notes.append(f"the image covers {height:.4g} × {width:.4g} nm, less than the {fov:g} nm "
                     "field of view: the whole image was resized")
        return None
    if spec.mode == "resize":
        return tile_px, (1, 1)
    if max(counts) > MAX_TILES_PER_SIDE:
        notes.append(f"{counts[0]} × {counts[1]} fields of view: the centred "
                     f"{min(counts[0], MAX_TILES_PER_SIDE)} × {min(counts[1], MAX_TILES_PER_SIDE)}"
                     " were embedded")
    return tile_px, tuple(min(c, MAX_TILES_PER_SIDE) for c in counts)


def _grid_crops(plane: np.ndarray, tile_px: tuple[float, float], counts: tuple[int, int],
                size: int, clip: tuple[float, float]) -> np.ndarray:
    """Cut the centred region of ``counts`` tiles of ``tile_px`` source pixels, clip its gray
    levels, resize it to (counts·size) pixels and split it into tiles: (counts[0]·counts[1],
    size, size) float32."""
    region = []
    for n, tile, count in zip(plane.shape, tile_px, counts):
        extent = min(n, max(1, round(tile * count)))
        start = (n - extent) // 2
        region.append(slice(start, start + extent))
    out_rows, out_cols = counts[0] * size, counts[1] * size
    source = plane[tuple(region)].astype(np.float32)  # a copy: the caller's image is kept
    np.clip(source, *clip, out=source)
    resized = _resize(source, out_rows, out_cols)
    tiles = resized.reshape(counts[0], size, counts[1], size).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(tiles.reshape(-1, size, size))


def _resize(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Anti-aliased bilinear resize of a float32 image to (rows, cols): a new float32 array (the
    filter's weights are positive, so values stay in the input's range)."""
    import torch
    import torch.nn.functional as F

    resized = F.interpolate(torch.from_numpy(image)[None, None], size=(rows, cols),
                            mode="bilinear", antialias=True, align_corners=False)
    return resized[0, 0].numpy()
