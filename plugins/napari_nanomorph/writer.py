"""napari writer: a Labels layer saved as a lossless mask file (TIFF or PNG)."""

from __future__ import annotations

import os

import numpy as np


def write_labels(path: str, data, meta: dict) -> list[str]:
    """Write a 2-D labels layer as ``.tif`` (zlib) or ``.png``; values are kept exactly.

    Values must fit uint16 (PNG: uint8 or uint16); pixel size goes into the TIFF's resolution
    tags when the layer is calibrated in nm/µm.
    """
    data = np.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"{path}: only 2-D masks can be saved (this one is {data.ndim}-D)")
    if data.min() < 0 or data.max() > 65535:
        raise ValueError(f"{path}: mask values must lie in 0..65535")
    dtype = np.uint8 if data.max() <= 255 else np.uint16
    data = data.astype(dtype)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".png":
        import imageio.v3 as iio

        iio.imwrite(path, data)
    else:
        import tifffile

        tifffile.imwrite(path, data, compression="zlib", **_resolution(meta))
    return [path]


def _resolution(meta: dict) -> dict:
    """TIFF resolution (pixels per µm) from a layer's scale and units, when it has them."""
    scale, units = meta.get("scale"), meta.get("units")
    if scale is None or units is None:
        return {}
    unit = str(units[-1])
    per_um = {"nanometer": 1e-3, "nm": 1e-3, "micrometer": 1.0, "µm": 1.0, "um": 1.0}.get(unit)
    if per_um is None:
        return {}
    return {"resolution": (1 / (scale[-2] * per_um), 1 / (scale[-1] * per_um)),
            "imagej": True, "metadata": {"unit": "um"}}
