"""Video files (MP4, AVI, MOV, MKV): in-situ movies recorded as video, read with PyAV (FFmpeg).

A video opens as a stack of gray frames: (frames, rows, columns) uint8, each frame decoded to
RGB and made gray by the one rule of :mod:`nanomorph.io.gray` (identical channels taken as they
are, else BT.709 luma). The frame interval is 1 / the stream's average frame rate; videos carry
no pixel size (uncalibrated). The frame count is the stream's, or the packets counted when the
container does not say.

Reading frames ``start`` … ``stop - 1`` seeks to the key frame before ``start`` and decodes
forward, placing each decoded frame by its timestamp (a constant frame rate, as cameras
record); a stream without timestamps is decoded from its first frame.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from nanomorph.errors import ImageReadError
from nanomorph.io.gray import rgb_to_gray
from nanomorph.io.source import Source, check_pixels, load_frames


def open_video(path: str, max_pixels: int) -> Source:
    """Open a video: frame count, frame size, frame interval; frames are read by ``load``.

    Parameters
    ----------
    path : str
        The file.
    max_pixels : int
        The most pixels one frame may have.

    Returns
    -------
    Source
        Shape (frames, rows, cols) (rows, cols for a one-frame video), uint8.

    Raises
    ------
    ImageReadError
        When the file holds no video stream, or no frame.
    """
    with _container(path) as container:
        stream = _video_stream(container, path)
        frames = stream.frames or sum(1 for packet in container.demux(stream) if packet.size)
        rows, cols = stream.codec_context.height, stream.codec_context.width
        rate = stream.average_rate or stream.guessed_rate
        codec, kind = stream.codec_context.name, container.format.name.split(",")[0]
    if frames < 1:
        raise ImageReadError("the video holds no frame", path)
    check_pixels((rows, cols), max_pixels, path)
    source = Source(format=f"video ({kind}, {codec})",
                    shape=(frames, rows, cols) if frames > 1 else (rows, cols),
                    dtype=np.dtype(np.uint8), load=partial(_load, path, frames))
    if rate:
        source.metadata["frame_interval_s"] = 1.0 / float(rate)
    return source


def _container(path: str):
    import av

    try:
        return av.open(path)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise ImageReadError(f"cannot read this file as a video ({_reason(exc)}): it is "
                             "damaged or incomplete", path) from None


def _reason(exc: Exception) -> str:
    """FFmpeg's own words for a failure, without the path it repeats."""
    return str(getattr(exc, "strerror", None) or exc)


def _video_stream(container, path: str):
    if not container.streams.video:
        raise ImageReadError("the file holds no video stream", path)
    return container.streams.video[0]


def _load(path: str, frames: int, page: int | slice | None) -> tuple[np.ndarray, list[str]]:
    """All frames, one, or a slice of them, as gray uint8."""
    return load_frames(partial(read_video_frames, path), frames, page)


def read_video_frames(path: str, start: int, stop: int) -> np.ndarray:
    """Frames ``start`` … ``stop - 1`` of a video, decoded.

    Parameters
    ----------
    path : str
        The video.
    start, stop : int
        0-based, ``stop`` excluded.

    Returns
    -------
    ndarray of uint8, shape (stop - start, rows, cols)

    Raises
    ------
    ImageReadError
        When the video ends before ``stop`` or cannot be decoded.
    """
    import av

    with _container(path) as container:
        stream = _video_stream(container, path)
        try:
            out = _decode(container, stream, start, stop)
        except av.FFmpegError as exc:
            raise ImageReadError(f"the video cannot be decoded ({_reason(exc)})", path) from None
    if len(out) < stop - start:
        raise ImageReadError(f"the video ends after frame {start + len(out)}: frames "
                             f"{start + len(out)}–{stop - 1} are missing", path)
    return np.stack(out)


def _decode(container, stream, start: int, stop: int) -> list[np.ndarray]:
    """Frames ``start`` … ``stop - 1``: from the key frame before ``start``, placed by their
    timestamps; counted from the first frame when the stream has no frame rate, or its
    timestamps are missing or do not place every frame asked for."""
    rate, base = stream.average_rate, stream.time_base
    origin = stream.start_time or 0
    if rate and base:
        if start > 0:
            container.seek(origin + int(start / (rate * base)), stream=stream, backward=True)
        out = []
        for frame in container.decode(stream):
            if frame.pts is None:
                break
            index = int(round(float((frame.pts - origin) * base * rate)))
            if index >= stop:
                break
            if index >= start:
                out.append(_gray(frame))
        if len(out) == stop - start:
            return out
        container.seek(origin, stream=stream, backward=True)
    out = []
    for index, frame in enumerate(container.decode(stream)):
        if index >= stop:
            break
        if index >= start:
            out.append(_gray(frame))
    return out


def _gray(frame) -> np.ndarray:
    gray, _notes = rgb_to_gray(frame.to_ndarray(format="rgb24"))
    return gray
