"""Folders of numbered frames: an in-situ run saved one file per frame (``frame_0001.tif`` …).

The image files directly inside a folder whose names differ only in the number before the suffix
(``<prefix><number><suffix>``, one prefix and one suffix) are the frames of one movie, in the
order of that number (``frame_2`` before ``frame_10``). The frame index of a file is its number
minus the first number, so a missing file leaves a gap and frame times stay right. When a folder
holds several such patterns, the one with the most files is the movie; the folder's other files
are left out and counted.

Which folders are movies is the user's choice (``nanomorph info FOLDER``, ``nanomorph batch
--numbered-frames``, the app's *Add numbered frames*): a folder of numbered stills, as many
microscopes save a session, stays a folder of images.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from nanomorph.errors import ImageReadError, display_path

# <prefix><number><suffix>: the last run of digits before the suffix
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>\.[^.]+)$")


@dataclass(frozen=True)
class NumberedFrames:
    """The frames of a folder of numbered frames.

    Attributes
    ----------
    folder : str
        The folder.
    name : str
        The movie's name: the folder's name and a slash (``run1/``), its split group.
    paths : tuple of str
        The frame files, in frame order.
    frames : tuple of int
        The 0-based frame index of each file (its number minus the first).
    left_out : int
        Image files of the folder outside the pattern.
    """

    folder: str
    name: str
    paths: tuple[str, ...]
    frames: tuple[int, ...]
    left_out: int = 0

    @property
    def pattern(self) -> str:
        """The frames' names with their number as ``#``: ``frame_####.tif``."""
        match = _NUMBERED.match(os.path.basename(self.paths[0]))
        return f"{match['prefix']}{'#' * len(match['number'])}{match['suffix']}"


def numbered_frames(folder: str | os.PathLike) -> NumberedFrames:
    """Find the numbered frames of a folder (see the module docstring).

    Parameters
    ----------
    folder : path-like
        The folder (not searched recursively).

    Returns
    -------
    NumberedFrames
        The frame files in frame order.

    Raises
    ------
    ImageReadError
        When ``folder`` is not a folder, holds fewer than two numbered image files of one
        pattern, or two files carry the same number (``f_1.tif`` and ``f_01.tif``).
    """
    from nanomorph.io.readers import SUPPORTED_SUFFIXES

    folder = os.path.abspath(os.fspath(folder))
    if not os.path.isdir(folder):
        raise ImageReadError("not a folder of numbered frames: no such folder", folder)
    images = [entry for entry in os.scandir(folder) if entry.is_file()
              and os.path.splitext(entry.name)[1].lower() in SUPPORTED_SUFFIXES]
    patterns: dict[tuple[str, str], dict[int, list[str]]] = {}
    for entry in images:
        match = _NUMBERED.match(entry.name)
        if match:
            numbers = patterns.setdefault((match["prefix"], match["suffix"].lower()), {})
            numbers.setdefault(int(match["number"]), []).append(entry.path)
    files = {key: sum(map(len, numbers.values())) for key, numbers in patterns.items()}
    if max(files.values(), default=0) < 2:
        raise ImageReadError(f"holds no numbered frames ({len(images)} image files; frames are "
                             "named <prefix><number><suffix>, e.g. frame_0001.tif)", folder)
    numbers = patterns[max(files, key=files.get)]
    twins = next((sorted(paths) for paths in numbers.values() if len(paths) > 1), None)
    if twins:
        raise ImageReadError("two files carry the same frame number ("
                             f"{', '.join(display_path(os.path.basename(p)) for p in twins)})",
                             folder)
    order = sorted(numbers)
    name = os.path.basename(folder.rstrip(os.sep)) or "frames"
    return NumberedFrames(folder=folder, name=f"{display_path(name)}/",
                          paths=tuple(numbers[n][0] for n in order),
                          frames=tuple(n - order[0] for n in order),
                          left_out=len(images) - len(order))


def checked_frame(info, first_shape: tuple[int, ...] | None = None):
    """``info`` when its file can be a frame of a folder of numbered frames: one still image,
    the size of the first frame.

    Parameters
    ----------
    info : ImageInfo
        The file's header facts (``read_info``).
    first_shape : tuple of int, optional
        The first frame's shape; None checks ``info`` as the first frame.

    Returns
    -------
    ImageInfo
        ``info``.

    Raises
    ------
    ImageReadError
        For a file that is itself a movie, or of another size than the first frame.
    """
    if info.frames > 1:
        raise ImageReadError(f"is itself a movie of {info.frames} frames, not one frame", info.path)
    if first_shape is not None and info.shape[-2:] != first_shape[-2:]:
        size = " × ".join(map(str, info.shape[-2:]))
        first = " × ".join(map(str, first_shape[-2:]))
        raise ImageReadError(f"its size {size} differs from the first frame's {first}", info.path)
    return info


def frames_info(frames: NumberedFrames):
    """What ``nanomorph info`` shows of a folder of numbered frames: the first frame's format,
    size, dtype and calibration, with the number of frames as the first axis.

    Parameters
    ----------
    frames : NumberedFrames
        From :func:`numbered_frames`.

    Returns
    -------
    ImageInfo
        ``path`` the folder, ``shape`` (frames, y, x), no frame interval (a folder of files
        records none); ``metadata["pattern"]`` and ``metadata["left_out"]``.

    Raises
    ------
    ImageReadError
        When the first frame cannot be read, or is itself a movie (:func:`checked_frame`).
    """
    from nanomorph.io.readers import read_info

    first = checked_frame(read_info(frames.paths[0]))
    metadata = {**first.metadata, "pattern": frames.pattern, "left_out": frames.left_out}
    metadata.pop("frame_interval_s", None)
    return replace(first, path=frames.folder, shape=(len(frames.paths), *first.shape[-2:]),
                   metadata=metadata)
