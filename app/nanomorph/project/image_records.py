"""The record of a project image: what the store knows of one image file or one frame.

Kept apart from the repository (:mod:`nanomorph.project.images`) that reads and writes them: the
records are what docks, workflows and reports hold.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from nanomorph.io.calibration import UNCALIBRATED, Calibration

@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image of a project.

    Attributes
    ----------
    id : int
        The image's id in the project.
    sha256 : str
        Hex SHA-256 of the file's bytes.
    path : str
        Absolute path of the file.
    name : str
        File name, for display and filtering.
    size_bytes : int
        File size.
    format : str
        The reader's format name.
    shape : tuple of int
        Array shape (rows, cols) or (pages, rows, cols).
    dtype : str
        Pixel data type.
    file_calibration : Calibration
        What the file says.
    calibration : Calibration
        The effective one: the user's override for this image, else the project's override,
        else ``file_calibration``, else UNCALIBRATED.
    added_at : float
        When it was added (seconds since the epoch).
    frame : int or None
        For a frame of a movie: its 0-based index in the movie; None for an image that is no
        frame.
    time_s : float or None
        A frame's time from the movie's start (s), when the frame interval is known.
    group : str or None
        A frame's movie (a movie file's name, a frames folder's name and a slash): the split
        group that keeps a movie's frames together.
    file_page : int or None
        The page of the file at ``path`` a frame of a movie file is read from; None for a frame
        that is a file of its own (a folder of numbered frames) and for an image that is no
        frame.
    """

    id: int
    sha256: str
    path: str
    name: str
    size_bytes: int
    format: str
    shape: tuple[int, ...]
    dtype: str
    file_calibration: Calibration
    calibration: Calibration
    added_at: float
    frame: int | None = None
    time_s: float | None = None
    group: str | None = None
    file_page: int | None = None

    @property
    def exists(self) -> bool:
        """Whether the file is at its recorded path."""
        return os.path.isfile(self.path)

    @property
    def stem(self) -> str:
        """The name its exported files take: the file's stem, ``<stem>-f00007`` for frame 7
        (as ``nanomorph batch`` names a movie's frames)."""
        from nanomorph.project.frames import frame_stem

        stem = os.path.splitext(os.path.basename(self.path))[0]
        return stem if self.file_page is None else frame_stem(stem, self.frame)

    @property
    def page(self) -> int | None:
        """The page of its file nanomorph shows and analyses: a movie file's frame's page, the
        first page of a stack recorded whole (0), None for a single image."""
        if self.file_page is not None:
            return self.file_page
        return 0 if len(self.shape) == 3 else None


@dataclass(frozen=True)
class AddResult:
    """Outcome of adding files.

    Attributes
    ----------
    added : list of ImageRecord
        Records created.
    already_present : list of ImageRecord
        Files whose content the project already knew.
    failed : list of (str, str)
        (path, reason) of files that could not be added.
    partial : list of (str, str)
        (path, reason) of movies added only in part (a truncated file's whole frames).
    """

    added: list[ImageRecord]
    already_present: list[ImageRecord]
    failed: list[tuple[str, str]]
    partial: list[tuple[str, str]] = field(default_factory=list)


def record_of_row(row: sqlite3.Row, project_cal: Calibration | None,
                  shared: dict | None = None) -> ImageRecord:
    """The record of an ``images`` row.

    Parameters
    ----------
    row : sqlite3.Row
        A row of the ``images`` table (every column).
    project_cal : Calibration or None
        The project-wide pixel size override.
    shared : dict, optional
        One dict for a whole listing: values that repeat — a movie's path, format, dtype,
        shape, movie name and calibrations — are then one object for all its frames (35 MB less
        for 100,000 frames).

    Returns
    -------
    ImageRecord
        With its effective calibration.
    """
    one = (lambda value: value) if shared is None else (lambda value: shared.setdefault(
        value, value))
    file_cal = one(_calibration(row["file_pixel_y"], row["file_pixel_x"], row["file_unit"],
                                "file"))
    user_cal = _calibration(row["user_pixel_y"], row["user_pixel_x"], row["user_unit"], "user")
    effective = one(user_cal) if user_cal.calibrated else (project_cal or file_cal)
    return ImageRecord(
        id=row["id"], sha256=row["sha256"], path=one(os.fsdecode(bytes(row["path"]))),
        name=row["name"], size_bytes=row["size_bytes"], format=one(row["format"]),
        shape=one(tuple(json.loads(row["shape"]))), dtype=one(row["dtype"]),
        file_calibration=file_cal, calibration=effective, added_at=row["added_at"],
        frame=row["frame"], time_s=row["time_s"], group=one(row["movie"]),
        file_page=row["page"])


def _calibration(py, px, unit, source) -> Calibration:
    if py is None or px is None or not unit:
        return UNCALIBRATED
    return Calibration((py, px), unit, source)


def present_paths(records: Iterable[ImageRecord]) -> set[str]:
    """The files of ``records`` that are at their recorded path, each file looked at once (a
    movie's frames share one).

    Parameters
    ----------
    records : iterable of ImageRecord
        Images of a project.

    Returns
    -------
    set of str
        The paths that exist.
    """
    return {path for path in {r.path for r in records} if os.path.isfile(path)}


def missing_records(records: list[ImageRecord]) -> list[ImageRecord]:
    """The images of ``records`` whose file is not at its recorded path (see
    :func:`present_paths`).

    Parameters
    ----------
    records : list of ImageRecord
        Images of a project.

    Returns
    -------
    list of ImageRecord
        In the order given.
    """
    present = present_paths(records)
    return [r for r in records if r.path not in present]
