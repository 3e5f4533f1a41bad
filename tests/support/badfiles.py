"""The bad inputs every front-end must survive (issue: "bad input never crashes the app")."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import tifffile


def _tiff(path, data) -> Path:
    tifffile.imwrite(path, data, metadata=None)
    return Path(path)


def _claim_size(path: Path, width: int, height: int) -> None:
    """Rewrite ImageWidth/ImageLength in the IFD so the header claims another size."""
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        where = {n: (tags[n].valueoffset, tags[n].dtype) for n in ("ImageWidth", "ImageLength")}
    with open(path, "r+b") as f:
        for name, value in (("ImageWidth", width), ("ImageLength", height)):
            offset, dtype = where[name]
            f.seek(offset)
            f.write(struct.pack("<I" if dtype == 4 else "<H", value))


def make_bad_files(folder: Path) -> dict[str, Path]:
    """Files that must each fail with one clear line: name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    gradient = np.arange(120 * 160, dtype=np.uint16).reshape(120, 160)
    empty = folder / "empty.tif"
    empty.write_bytes(b"")
    whole = _tiff(folder / "whole.tif", gradient).read_bytes()
    (folder / "whole.tif").unlink()
    truncated = folder / "truncated.tif"
    truncated.write_bytes(whole[: len(whole) // 3])
    wrong = folder / "wrong_extension.dm3"
    wrong.write_bytes(b"just some text, not a Gatan file\n" * 20)
    huge = _tiff(folder / "huge_header.tif", gradient)
    _claim_size(huge, 100_000, 100_000)
    return {"empty": empty, "truncated": truncated, "wrong_extension": wrong, "huge_header": huge}


def make_odd_but_valid_files(folder: Path) -> dict[str, Path]:
    """Files that look odd but must open: a 3-D stack, NaN floats, a non-UTF-8 name."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    stack = _tiff(folder / "stack.tif", rng.integers(0, 255, (5, 64, 80), dtype=np.uint8))
    floats = rng.random((64, 80)).astype(np.float32)
    floats[10:20, 10:20] = np.nan
    nan = _tiff(folder / "nan.tif", floats)
    odd = os.fsdecode(os.fsencode(folder) + b"/caf\xe9.tif")
    _tiff(odd, rng.integers(0, 255, (64, 80), dtype=np.uint8))
    return {"stack": stack, "nan": nan, "non_utf8_name": Path(odd)}
