"""The images of a project: files known by path and content hash, with their calibration.

Images stay where the user keeps them; the store refers to them by path and SHA-256, so a moved
file is found again by :meth:`ImageRepository.relink`. Calibration precedence: the user's
override for one image, else the project-wide override, else what the file says.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nanomorph.errors import NanomorphError, ProjectError, display_path
from nanomorph.io.calibration import UNCALIBRATED, Calibration
from nanomorph.io.hashing import sha256_file
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel
from nanomorph.project.database import Repository

PROJECT_CALIBRATION_KEY = "calibration"


@dataclass(frozen=True)
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

    @property
    def exists(self) -> bool:
        """Whether the file is at its recorded path."""
        return os.path.isfile(self.path)

    @property
    def page(self) -> int | None:
        """The page of its file nanomorph shows and analyses: the first of a stack (0), None
        for a single image."""
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
    """

    added: list[ImageRecord]
    already_present: list[ImageRecord]
    failed: list[tuple[str, str]]


class ImageRepository(Repository):
    """The project's images (``project.images``)."""

    def add(self, paths: Iterable, *, cancel: CancelToken | None = None) -> Job[AddResult]:
        """Add image files (a job).

        Each file is hashed and its header read for shape, dtype and calibration. A file whose
        content is already in the project is not added twice (if the known copy went missing,
        the record is relinked to this path). Unreadable files are reported, the rest go on.

        Parameters
        ----------
        paths : iterable of path-like
            The files.
        cancel : CancelToken, optional
            Checked before each file.

        Yields
        ------
        Progress
            One per file.

        Returns
        -------
        AddResult
            What was added, already present, or failed.
        """
        from nanomorph.io.readers import read_info

        paths = [os.fspath(p) for p in paths]
        added, present, failed = [], [], []
        for i, path in enumerate(paths):
            check_cancel(cancel)
            try:
                record, is_new = self._add_one(path, read_info)
            except NanomorphError as e:
                failed.append((path, e.reason))
            except OSError as e:
                failed.append((path, e.strerror or str(e)))
            else:
                (added if is_new else present).append(record)
            yield Progress(i + 1, len(paths), f"added {display_path(os.path.basename(path))}")
        if added:
            self._events.images.emit([r.id for r in added])
        return AddResult(added, present, failed)

    def add_one(self, path: str | os.PathLike) -> ImageRecord:
        """Add one image file (see :meth:`add`).

        Parameters
        ----------
        path : path-like
            The file.

        Returns
        -------
        ImageRecord
            Its record (new, or the known one with the same content).

        Raises
        ------
        ImageReadError
            When the file cannot be read as an image.
        """
        from nanomorph.io.readers import read_info

        record, is_new = self._add_one(os.fspath(path), read_info)
        if is_new:
            self._events.images.emit([record.id])
        return record

    def _add_one(self, path, read_info) -> tuple[ImageRecord, bool]:
        path = os.path.abspath(path)
        info = read_info(path)
        sha = sha256_file(path)
        known = self.by_hash(sha)
        if known is not None:
            if not known.exists and known.path != os.fsdecode(path):
                self._set_path(known.id, path)
                known = self.get(known.id)
            return known, False
        cal = info.calibration
        py, px = cal.pixel_size if cal.calibrated else (None, None)
        with self._db.write() as c:
            cur = c.execute(
                "INSERT INTO images(sha256, path, name, size_bytes, format, shape, dtype,"
                " file_pixel_y, file_pixel_x, file_unit, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sha, os.fsencode(path), display_path(os.path.basename(path)),
                 os.path.getsize(path), info.format, json.dumps(list(info.shape)),
                 str(info.dtype), py, px, cal.unit, time.time()))
        return self.get(cur.lastrowid), True

    def all(self) -> list[ImageRecord]:
        """All images, in the order they were added.

        Returns
        -------
        list of ImageRecord
            With their effective calibration.
        """
        project_cal = self.project_calibration()
        return [_record(r, project_cal) for r in self._db.query("SELECT * FROM images ORDER BY id")]

    def get(self, image_id: int) -> ImageRecord:
        """One image by id.

        Parameters
        ----------
        image_id : int
            The image's id.

        Returns
        -------
        ImageRecord
            Its record.

        Raises
        ------
        ProjectError
            When the project has no such image.
        """
        rows = self._db.query("SELECT * FROM images WHERE id = ?", (image_id,))
        if not rows:
            raise ProjectError(f"no image with id {image_id} in this project", self._db.folder)
        return _record(rows[0], self.project_calibration())

    def by_hash(self, sha256: str) -> ImageRecord | None:
        """The image with this content hash.

        Parameters
        ----------
        sha256 : str
            Hex SHA-256 of the file's bytes.

        Returns
        -------
        ImageRecord or None
            None when the project has no such image.
        """
        rows = self._db.query("SELECT * FROM images WHERE sha256 = ?", (sha256,))
        return _record(rows[0], self.project_calibration()) if rows else None

    def remove(self, image_id: int) -> None:
        """Forget an image: its file is not touched; its labels and mask index go with it.

        Parameters
        ----------
        image_id : int
            The image's id.
        """
        with self._db.write() as c:
            c.execute("DELETE FROM images WHERE id = ?", (image_id,))
        self._events.images.emit([image_id])

    def _set_path(self, image_id: int, path) -> None:
        with self._db.write() as c:
            c.execute("UPDATE images SET path = ?, name = ? WHERE id = ?",
                      (os.fsencode(path), display_path(os.path.basename(path)), image_id))
        self._events.images.emit([image_id])

    def missing(self) -> list[ImageRecord]:
        """Images whose file is no longer at its recorded path.

        Returns
        -------
        list of ImageRecord
            In the order they were added.
        """
        return [r for r in self.all() if not r.exists]

    def relink(self, folder: str | os.PathLike, *,
               cancel: CancelToken | None = None) -> Job[int]:
        """Find moved images under ``folder`` by content hash (a job).

        Only files whose size matches a missing image are hashed, so pointing at a large folder
        stays cheap.

        Parameters
        ----------
        folder : path-like
            Searched recursively.
        cancel : CancelToken, optional
            Checked before each candidate file.

        Yields
        ------
        Progress
            One per candidate file.

        Returns
        -------
        int
            How many images were relinked.
        """
        missing: dict[int, list[ImageRecord]] = {}
        for r in self.missing():
            missing.setdefault(r.size_bytes, []).append(r)
        candidates = [p for p in _walk_files(folder) if os.path.getsize(p) in missing]
        relinked = 0
        for i, path in enumerate(candidates):
            check_cancel(cancel)
            sha = sha256_file(path)
            for record in missing.get(os.path.getsize(path), []):
                if record.sha256 == sha and not record.exists:
                    self._set_path(record.id, path)
                    relinked += 1
            yield Progress(i + 1, len(candidates), f"checked {display_path(path)}")
        return relinked

    def set_calibration(self, image_id: int, calibration: Calibration | None) -> None:
        """Override one image's pixel size.

        Parameters
        ----------
        image_id : int
            The image's id.
        calibration : Calibration or None
            The pixel size to use; None goes back to the project's or the file's.
        """
        values = (None, None, None)
        if calibration is not None and calibration.calibrated:
            values = (*calibration.pixel_size, calibration.unit)
        with self._db.write() as c:
            c.execute("UPDATE images SET user_pixel_y = ?, user_pixel_x = ?, user_unit = ?"
                      " WHERE id = ?", (*values, image_id))
        self._events.images.emit([image_id])

    def set_project_calibration(self, calibration: Calibration | None) -> None:
        """Set one pixel size for every image that has no per-image override.

        Parameters
        ----------
        calibration : Calibration or None
            The pixel size; None lets each image fall back to its file's calibration.
        """
        value = None if calibration is None else calibration.as_json()
        with self._db.write() as c:
            c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)",
                      (PROJECT_CALIBRATION_KEY, json.dumps(value)))
        self._events.images.emit([r.id for r in self.all()])

    def reset_calibrations(self) -> None:
        """Drop every override (per image and project-wide): each image uses its file's again."""
        with self._db.write() as c:
            c.execute("DELETE FROM settings WHERE key = ?", (PROJECT_CALIBRATION_KEY,))
            c.execute("UPDATE images SET user_pixel_y = NULL, user_pixel_x = NULL,"
                      " user_unit = NULL")
        self._events.images.emit([r.id for r in self.all()])

    def project_calibration(self) -> Calibration | None:
        """The project-wide pixel size override.

        Returns
        -------
        Calibration or None
            None when the project has none.
        """
        rows = self._db.query("SELECT value FROM settings WHERE key = ?",
                              (PROJECT_CALIBRATION_KEY,))
        value = json.loads(rows[0]["value"]) if rows else None
        if not value:
            return None
        return Calibration(tuple(value["pixel_size"]), value["unit"], "project")


def _record(row: sqlite3.Row, project_cal: Calibration | None) -> ImageRecord:
    file_cal = _calibration(row["file_pixel_y"], row["file_pixel_x"], row["file_unit"], "file")
    user_cal = _calibration(row["user_pixel_y"], row["user_pixel_x"], row["user_unit"], "user")
    effective = user_cal if user_cal.calibrated else (project_cal or file_cal)
    return ImageRecord(
        id=row["id"], sha256=row["sha256"], path=os.fsdecode(bytes(row["path"])),
        name=row["name"], size_bytes=row["size_bytes"], format=row["format"],
        shape=tuple(json.loads(row["shape"])), dtype=row["dtype"], file_calibration=file_cal,
        calibration=effective, added_at=row["added_at"])


def _calibration(py, px, unit, source) -> Calibration:
    if py is None or px is None or not unit:
        return UNCALIBRATED
    return Calibration((py, px), unit, source)


def _walk_files(folder) -> Iterator[str]:
    from nanomorph.io.readers import SUPPORTED_SUFFIXES

    for root, _dirs, files in os.walk(folder):
        for name in files:
            if os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES:
                yield os.path.join(root, name)
