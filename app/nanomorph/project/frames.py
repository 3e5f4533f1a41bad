"""The frames of a movie or stack as project images: their names, times and identity hashes.

A frame record keeps the movie's path and its frame index; the pixels stay in the movie. Its
identity (the ``sha256`` column) is the SHA-256 of the frame's gray pixels, preceded by the frame
index, dtype and shape: adding the movie again finds every frame, and two identical frames of one
movie (a paused acquisition) stay two images.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np

from nanomorph.jobs import CancelToken, check_cancel

# frames are read in blocks of at most this many bytes
FRAME_BLOCK_BYTES = 64 * 2**20


def frame_key(frame: int, pixels: np.ndarray) -> str:
    """The identity of one frame: SHA-256 of its index, dtype, shape and pixel bytes.

    Parameters
    ----------
    frame : int
        0-based index of the frame in its movie.
    pixels : ndarray, 2-D
        Its gray pixels as read.

    Returns
    -------
    str
        Hex digest.
    """
    pixels = np.ascontiguousarray(pixels)
    digest = hashlib.sha256(f"frame {frame} {pixels.dtype.str} {pixels.shape}\n".encode())
    digest.update(pixels.data)
    return digest.hexdigest()


def repeated_frame_key(file_sha256: str, frame: int) -> str:
    """The identity of a frame file byte-identical to another file of its folder of numbered
    frames (a paused detector, a frame the acquisition software repeated): a frame of its own,
    not the same image.

    Parameters
    ----------
    file_sha256 : str
        SHA-256 of the file's bytes (hex).
    frame : int
        0-based index of the frame in its movie.

    Returns
    -------
    str
        SHA-256 (hex) of the file's hash and the frame index.
    """
    return hashlib.sha256(f"file {file_sha256} repeated as frame {frame}\n".encode()).hexdigest()


def frame_name(file_name: str, frame: int, n_frames: int) -> str:
    """Display name of a frame: the file name and the 0-based frame index, zero-padded to the
    width of the last index so that names sort in frame order.

    Parameters
    ----------
    file_name : str
        The movie's file name.
    frame : int
        0-based frame index.
    n_frames : int
        Frames in the movie.

    Returns
    -------
    str
        E.g. ``"growth.tif #007"`` for frame 7 of 120.
    """
    width = len(str(max(n_frames - 1, 0)))
    return f"{file_name} #{frame:0{width}d}"


def frame_stem(stem: str, frame: int) -> str:
    """The name a frame's exported files take: ``<stem>-f00007`` for frame 7 (batch results,
    exported masks).

    Parameters
    ----------
    stem : str
        The movie's file name without its suffix.
    frame : int
        0-based frame index.

    Returns
    -------
    str
        The stem and the zero-padded frame index.
    """
    return f"{stem}-f{frame:05d}"


def group_movies(records) -> dict[str, list]:
    """The movies among some images, each with its frames in frame order.

    Parameters
    ----------
    records : iterable of ImageRecord
        Images of a project.

    Returns
    -------
    dict
        Movie (group) name → its frame records, movies in the order they first appear.
    """
    movies: dict[str, list] = {}
    for record in records:
        if record.group is not None:
            movies.setdefault(record.group, []).append(record)
    for frames in movies.values():
        frames.sort(key=lambda r: r.frame)
    return movies


def frame_time(frame: int, interval_s: float | None) -> float | None:
    """Time of a frame from the movie's start.

    Parameters
    ----------
    frame : int
        0-based frame index.
    interval_s : float or None
        Seconds between frames, None when the file does not record it.

    Returns
    -------
    float or None
        ``frame × interval_s`` in seconds, None when the interval is unknown.
    """
    return None if interval_s is None else frame * float(interval_s)


def frame_keys(path: str, info, cancel: CancelToken | None = None) -> Iterator[tuple[int, str]]:
    """Read a movie's frames and give each frame's identity (see :func:`frame_key`).

    The frames are read in blocks of at most ``FRAME_BLOCK_BYTES`` (a TIFF reads only a
    block's pages), so memory stays flat however long the movie.

    Parameters
    ----------
    path : str
        The movie.
    info : ImageInfo
        Its header facts (``read_info``), with 3-D ``shape``.
    cancel : CancelToken, optional
        Checked before each block.

    Yields
    ------
    (int, str)
        Frame index and its key, in frame order.

    Raises
    ------
    ImageReadError
        When the pixels cannot be read.
    """
    from nanomorph.io.readers import read_frames

    frame_bytes = int(np.prod(info.shape[1:])) * np.dtype(info.dtype).itemsize
    block = max(1, FRAME_BLOCK_BYTES // max(1, frame_bytes))
    for start in range(0, info.frames, block):
        check_cancel(cancel)
        stop = min(info.frames, start + block)
        for offset, pixels in enumerate(read_frames(path, start, stop)):
            yield start + offset, frame_key(start + offset, pixels)
