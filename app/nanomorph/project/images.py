"""The images of a project: files known by path and content hash, with their calibration.

Images stay where the user keeps them; the store refers to them by path and SHA-256, so a moved
file is found again by :meth:`ImageRepository.relink`. Calibration precedence: the user's
override for one image, else the project-wide override, else what the file says.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace

from nanomorph.errors import (
    InvalidParameterError,
    NanomorphError,
    ProjectError,
    display_path,
)
from nanomorph.io.calibration import Calibration
from nanomorph.io.hashing import sha256_file
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel
from nanomorph.project.database import Repository
from nanomorph.project.image_records import (
    AddResult,
    ImageRecord,
    missing_records,
    present_paths,
    record_of_row,
)

PROJECT_CALIBRATION_KEY = "calibration"
# frames of a movie added per transaction (and per progress report)
FRAMES_PER_COMMIT = 500


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
        return (yield from self._add([os.fspath(p) for p in paths], {}, cancel))

    def add_numbered_frames(self, folder: str | os.PathLike, *, interval_s: float | None = None,
                            cancel: CancelToken | None = None) -> Job[AddResult]:
        """Add a folder of numbered frames as one movie (a job; see :mod:`nanomorph.io.sequence`).

        Each frame file is an image of its own, known by its bytes' hash like any image (a
        moved frame is relinked like one), with its frame index, its time and the folder as its
        movie (``group``); a file repeating another frame's bytes is a frame of its own. A
        frame the project holds as a plain image at the same path becomes a frame of the
        movie, keeping its mask, labels and results. A file that cannot be read,
        is itself a movie, or differs in size from the first frame is reported in ``failed``;
        the rest go on.

        Parameters
        ----------
        folder : path-like
            The folder of numbered frames.
        interval_s : float, optional
            Seconds between frames; None (the default) takes the frame times from the files'
            acquisition stamps, seconds since the first frame read, when every frame has one
            and each comes after the one before (:mod:`nanomorph.io.acquired`); else they stay
            unknown.
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

        Raises
        ------
        ImageReadError
            When the folder holds no numbered frames (see ``numbered_frames``).
        InvalidParameterError
            When ``interval_s`` is not a positive number.
        """
        from nanomorph.io.sequence import numbered_frames
        from nanomorph.project.frames import frame_time

        if interval_s is not None and not (math.isfinite(interval_s) and interval_s > 0):
            raise InvalidParameterError(f"the frame interval must be a positive number of "
                                        f"seconds, not {interval_s!r}")
        movie = numbered_frames(folder)
        frames = {path: (frame, frame_time(frame, interval_s), movie.name)
                  for frame, path in zip(movie.frames, movie.paths)}
        stamps: dict[str, str | None] = {}
        result = yield from self._add(list(movie.paths), frames, cancel, stamps)
        if interval_s is None:
            frames = _stamped_times(frames, stamps)
        # plain images of the folder become its frames; a given interval re-times them, stamps
        # give times to frames without
        stale = [r for r in result.added + result.already_present if r.path in frames and (
            r.group is None or (r.group == movie.name and frames[r.path][1] not in (None, r.time_s)
                                and (interval_s is not None or r.time_s is None)))]
        if stale:
            with self._db.write() as c:
                c.executemany("UPDATE images SET frame = ?, time_s = ?, movie = ? WHERE id = ?",
                              [(*frames[r.path], r.id) for r in stale])
            now = {r.id: r for r in self._records([r.id for r in stale])}
            result = replace(result, added=[now.get(r.id, r) for r in result.added],
                             already_present=[now.get(r.id, r) for r in result.already_present])
        changed = list(dict.fromkeys([r.id for r in result.added] + [r.id for r in stale]))
        if changed:
            self._events.images.emit(changed)
        return result

    def _add(self, paths: list[str], frames: dict[str, tuple], cancel,
             stamps: dict | None = None) -> Job[AddResult]:
        """Add files (see :meth:`add`); a path in ``frames`` is a frame file of a folder of
        numbered frames, with its (frame, time_s, movie), and its acquisition stamp goes into
        ``stamps``. Frame files are announced by the caller, once their times are in."""
        from nanomorph.io.readers import read_info
        from nanomorph.io.sequence import checked_frame

        added, present, failed, partial = [], [], [], []
        first_shape = None
        for i, path in enumerate(paths):
            check_cancel(cancel)
            try:
                info = read_info(path)
                if path in frames:
                    stamps[path] = info.metadata.get("acquired")
                    first_shape = first_shape or info.shape
                    records = [self._add_one(path, checked_frame(info, first_shape),
                                             frames[path])]
                elif info.frames > 1:
                    records = yield from self._add_frames(os.path.abspath(path), info, cancel)
                else:
                    records = [self._add_one(path, info)]
            except NanomorphError as e:
                failed.append((path, e.reason))
            except OSError as e:
                failed.append((path, e.strerror or str(e)))
            else:
                for record, is_new in records:
                    (added if is_new else present).append(record)
                if info.metadata.get("truncated"):
                    partial.append((path, info.metadata["truncated"]))
            yield Progress(i + 1, len(paths), f"added {display_path(os.path.basename(path))}")
        if added and not frames:
            self._events.images.emit([r.id for r in added])
        return AddResult(added, present, failed, partial)

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

        path = os.fspath(path)
        record, is_new = self._add_one(path, read_info(path))
        if is_new:
            self._events.images.emit([record.id])
        return record

    def _add_one(self, path, info, frame: tuple | None = None) -> tuple[ImageRecord, bool]:
        """Add an image file, or a frame file with its (frame, time_s, movie)."""
        from nanomorph.project.frames import repeated_frame_key

        path = os.path.abspath(path)
        sha = sha256_file(path)
        known = self.by_hash(sha)
        if frame is not None and _another_file_of_the_folder(known, path):
            sha = repeated_frame_key(sha, frame[0])  # a repeated frame: the movie keeps it
            known = self.by_hash(sha)
        known = self._relinked(known, path)
        if known is not None:
            return known, False
        with self._db.write() as c:
            if frame is None:
                cur = c.execute(_INSERT, _row_values(sha, path, info, info.shape))
            else:
                cur = c.execute(_INSERT_FRAME, (*_row_values(sha, path, info, info.shape[-2:]),
                                                *frame, None))
        return self.get(cur.lastrowid), True

    def _relinked(self, known: ImageRecord | None, path: str) -> ImageRecord | None:
        """``known`` (a record with the identity of the file at ``path``), relinked to ``path``
        when its file went missing."""
        if known is not None and not known.exists and known.path != os.fsdecode(path):
            self._set_path(known.id, path)
            known = self.get(known.id)
        return known

    def _add_frames(self, path: str, info, cancel) -> Job[list[tuple[ImageRecord, bool]]]:
        """Add each frame of a movie or stack as an image (see :mod:`nanomorph.project.frames`),
        new frames in transactions of ``FRAMES_PER_COMMIT``."""
        from nanomorph.project.frames import frame_keys, frame_name, frame_time

        file_name = display_path(os.path.basename(path))
        known, new_rows = [], []
        interval = info.frame_interval_s
        for frame, key in frame_keys(path, info, cancel):
            record = self.by_hash(key)
            if record is not None:
                known.append(record)
            else:
                name = frame_name(file_name, frame, info.frames)
                new_rows.append((*_row_values(key, path, info, info.shape[1:], name),
                                 frame, frame_time(frame, interval), file_name, frame))
            if (frame + 1) % FRAMES_PER_COMMIT == 0:
                yield Progress(frame + 1, info.frames, f"read frame {frame + 1} of {file_name}")
        present = present_paths(known)
        moved = [r for r in known if r.path not in present and r.path != os.fsdecode(path)]
        if moved:  # the movie was found again here: its frames follow it, in one transaction
            self._set_paths(moved, path)
            known = self._records([r.id for r in known])
        new_ids = []
        for start in range(0, len(new_rows), FRAMES_PER_COMMIT):
            with self._db.write() as c:
                for row in new_rows[start:start + FRAMES_PER_COMMIT]:
                    new_ids.append(c.execute(_INSERT_FRAME, row).lastrowid)
        return [(r, False) for r in known] + [(r, True) for r in self._records(new_ids)]

    def _records(self, ids: list[int]) -> list[ImageRecord]:
        project_cal, shared = self.project_calibration(), {}
        records = []
        for start in range(0, len(ids), 900):  # SQLite's limit on parameters per statement
            chunk = ids[start:start + 900]
            rows = self._db.query(f"SELECT * FROM images WHERE id IN ({','.join('?' * len(chunk))})"
                                  " ORDER BY id", tuple(chunk))
            records += [record_of_row(r, project_cal, shared) for r in rows]
        return records

    def count(self) -> int:
        """Number of images in the project.

        Returns
        -------
        int
            The count (1 ms at 100,000 images, where :meth:`all` takes about 1 s).
        """
        return int(self._db.query("SELECT COUNT(*) AS n FROM images")[0]["n"])

    def all(self) -> list[ImageRecord]:
        """All images, in the order they were added.

        Returns
        -------
        list of ImageRecord
            With their effective calibration.
        """
        project_cal = self.project_calibration()
        shared: dict = {}
        return [record_of_row(r, project_cal, shared)
                for r in self._db.query("SELECT * FROM images ORDER BY id")]

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
        return record_of_row(rows[0], self.project_calibration())

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
        return record_of_row(rows[0], self.project_calibration()) if rows else None

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
        self._set_paths([self.get(image_id)], path)

    def _set_paths(self, records: list[ImageRecord], path) -> None:
        """Point records at ``path`` in one transaction and one event (a moved movie's
        frames; frames keep their number in their name)."""
        file_name = display_path(os.path.basename(path))
        rows = [(os.fsencode(path),
                 file_name if r.file_page is None else file_name + r.name[r.name.rindex(" #"):],
                 r.id) for r in records]
        with self._db.write() as c:
            c.executemany("UPDATE images SET path = ?, name = ? WHERE id = ?", rows)
        self._events.images.emit([r.id for r in records])

    def missing(self) -> list[ImageRecord]:
        """Images whose file is no longer at its recorded path.

        Returns
        -------
        list of ImageRecord
            In the order they were added.
        """
        return missing_records(self.all())

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
        files: dict[int, list[ImageRecord]] = {}
        movies: dict[int, dict[str, list[ImageRecord]]] = {}  # size -> old path -> its frames
        for r in self.missing():
            if r.file_page is None:
                files.setdefault(r.size_bytes, []).append(r)
            else:
                movies.setdefault(r.size_bytes, {}).setdefault(r.path, []).append(r)
        sizes = files.keys() | movies.keys()
        candidates = [p for p in _walk_files(folder) if os.path.getsize(p) in sizes]
        relinked = 0
        for i, path in enumerate(candidates):
            check_cancel(cancel)
            size = os.path.getsize(path)
            if files.get(size):
                sha = sha256_file(path)
                found = [r for r in files[size] if r.sha256 in _file_keys(sha, r, path)]
                named = [r for r in found if os.path.basename(r.path) == os.path.basename(path)]
                for record in named or found:  # repeated frames: each to its own file
                    self._set_path(record.id, path)
                    files[size].remove(record)
                    relinked += 1
            for old_path, frames in list(movies.get(size, {}).items()):
                if _holds_frame(path, frames[0]):
                    self._set_paths(frames, path)
                    relinked += len(frames)
                    del movies[size][old_path]
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


_COLUMNS = ("sha256, path, name, size_bytes, format, shape, dtype, file_pixel_y, file_pixel_x,"
            " file_unit, added_at")
_INSERT = f"INSERT INTO images({_COLUMNS}) VALUES ({', '.join('?' * 11)})"
_INSERT_FRAME = (f"INSERT INTO images({_COLUMNS}, frame, time_s, movie, page)"
                 f" VALUES ({', '.join('?' * 15)})")


def _row_values(sha: str, path: str, info, shape, name: str | None = None) -> tuple:
    """``_INSERT``'s values for an image file (a frame adds its index, time and movie)."""
    cal = info.calibration
    py, px = cal.pixel_size if cal.calibrated else (None, None)
    name = display_path(os.path.basename(path)) if name is None else name
    return (sha, os.fsencode(path), name, os.path.getsize(path),
            info.format, json.dumps(list(shape)), str(info.dtype), py, px, cal.unit, time.time())


def _another_file_of_the_folder(known: ImageRecord | None, path: str) -> bool:
    """Whether ``known``, the record with the bytes of the frame file at ``path``, is another
    file of the same folder: then the frame repeats an earlier one, and is a frame of its own
    (:func:`~nanomorph.project.frames.repeated_frame_key`) — else the movie would lose it."""
    return (known is not None and known.file_page is None and known.path != path
            and os.path.dirname(known.path) == os.path.dirname(path))


def _stamped_times(frames: dict[str, tuple], stamps: dict[str, str | None]) -> dict:
    """``frames`` (path → frame, time_s, movie) with the times their files' acquisition stamps
    give — seconds since the first frame read — when they give them all (see
    :func:`~nanomorph.io.acquired.seconds_since_first`); else ``frames``."""
    from nanomorph.io.acquired import seconds_since_first

    read = [path for path in frames if path in stamps]
    times = seconds_since_first([stamps[path] for path in read])
    if times is None:
        return frames
    return {**frames, **{path: (frames[path][0], t, frames[path][2])
                         for path, t in zip(read, times)}}


def _file_keys(sha: str, record: ImageRecord, path: str) -> tuple[str, ...]:
    """The identities the file at ``path``, of this bytes' hash, may have in ``record``: the
    hash, and, for a frame file of the same name, its repeated-frame key."""
    from nanomorph.project.frames import repeated_frame_key

    if record.frame is None or os.path.basename(record.path) != os.path.basename(path):
        return (sha,)
    return sha, repeated_frame_key(sha, record.frame)


def _holds_frame(path: str, record: ImageRecord) -> bool:
    """Whether the file at ``path`` holds ``record``'s frame (same index, same pixels)."""
    from nanomorph.io.readers import read_image
    from nanomorph.project.frames import frame_key

    try:
        return frame_key(record.frame, read_image(path, page=record.page).data) == record.sha256
    except NanomorphError:
        return False


def _walk_files(folder) -> Iterator[str]:
    from nanomorph.io.readers import SUPPORTED_SUFFIXES

    for root, _dirs, files in os.walk(folder):
        for name in files:
            if os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES:
                yield os.path.join(root, name)
