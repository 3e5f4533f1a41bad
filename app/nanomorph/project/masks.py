"""The masks of a project's images: versioned, lossless label files in ``masks/``.

Every save is a new version (the old ones stay), written atomically as a zlib TIFF named by the
image's hash and the version; the database indexes them. Labels: 0 = background, 1 = nanowire,
further values = further classes (e.g. a catalyst droplet).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nanomorph.errors import ProjectReadOnlyError
from nanomorph.project.database import Repository
from nanomorph.project.paths import checked_mask_file, checked_sha256, inside


class MaskRepository(Repository):
    """The project's masks (``project.masks``).

    Parameters
    ----------
    db : Database
        The open project's connection.
    events : ProjectEvents
        Emitted after each committed change.
    folder : Path
        The project's ``masks/`` folder.
    images : ImageRepository
        To name the files after the image's hash.
    """

    def __init__(self, db, events, folder: Path, images):
        super().__init__(db, events)
        self.folder = folder
        self._images = images

    def save(self, image_id: int, mask: np.ndarray, source: str = "painted") -> int:
        """Store a new version of an image's mask (lossless, atomic).

        Parameters
        ----------
        image_id : int
            The image's id.
        mask : ndarray of unsigned integers, shape of the image plane
            0 = background, 1 = nanowire, further values = further classes.
        source : str
            How it was made: ``painted``, ``import``, ``auto:<method>``, ``predicted:<model>``.

        Returns
        -------
        int
            The new version (1 for the first mask).

        Raises
        ------
        ProjectReadOnlyError
            When the project is open read-only.
        """
        from nanomorph.io.atomic import atomic_write_bytes
        from nanomorph.io.hashing import sha256_bytes
        from nanomorph.io.label_tiff import encode_label_tiff

        record = self._images.get(image_id)
        sha = checked_sha256(record.sha256, f"image {image_id}")
        if self._db.read_only:
            raise ProjectReadOnlyError("the project is open read-only: the mask was not saved",
                                       self._db.folder)
        data = encode_label_tiff(mask)
        digest = sha256_bytes(data)
        # the version is chosen and the file written while the transaction holds SQLite's write
        # lock: no other writer (thread or program) can take the same version
        with self._db.write() as c:
            latest = c.execute("SELECT max(version) FROM masks WHERE image_id = ?",
                               (image_id,)).fetchone()[0]
            version = (latest or 0) + 1
            name = f"{sha[:16]}_v{version}.tif"
            atomic_write_bytes(self.folder / name, data)
            c.execute("INSERT INTO masks(image_id, version, file, sha256, source, created_at)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
                      (image_id, version, name, digest, source, time.time()))
        self._events.masks.emit(image_id, version)
        return version

    def read(self, image_id: int, version: int | None = None) -> np.ndarray | None:
        """An image's mask.

        Parameters
        ----------
        image_id : int
            The image's id.
        version : int, optional
            Which version; the latest by default.

        Returns
        -------
        ndarray or None
            The label array, or None when the image has no (such) mask.
        """
        from nanomorph.io.label_tiff import read_label_tiff

        path = self.path(image_id, version)
        return None if path is None else read_label_tiff(path)

    def path(self, image_id: int, version: int | None = None) -> Path | None:
        """The file of an image's mask.

        Parameters
        ----------
        image_id : int
            The image's id.
        version : int, optional
            Which version; the latest by default.

        Returns
        -------
        Path or None
            Inside ``masks/``; None when the image has no (such) mask.

        Raises
        ------
        ProjectError
            When the stored name is not one the store writes, or leads outside ``masks/``.
        """
        rows = self.versions(image_id)
        if version is not None:
            rows = [r for r in rows if r["version"] == version]
        if not rows:
            return None
        row = f"mask v{rows[-1]['version']} of image {image_id}"
        return inside(self.folder, checked_mask_file(rows[-1]["file"], row), row)

    def versions(self, image_id: int) -> list[dict]:
        """Every stored version of an image's mask.

        Parameters
        ----------
        image_id : int
            The image's id.

        Returns
        -------
        list of dict
            Oldest first: ``version``, ``file``, ``sha256``, ``source``, ``created_at``.
        """
        return [dict(r) for r in self._db.query(
            "SELECT version, file, sha256, source, created_at FROM masks WHERE image_id = ?"
            " ORDER BY version", (image_id,))]

    def latest_version(self, image_id: int) -> int | None:
        """The newest mask version of an image.

        Parameters
        ----------
        image_id : int
            The image's id.

        Returns
        -------
        int or None
            None when the image has no mask.
        """
        return self._db.query("SELECT max(version) FROM masks WHERE image_id = ?",
                              (image_id,))[0][0]

    def latest_versions(self) -> dict[int, int]:
        """The newest mask version of every image that has a mask (one query).

        Returns
        -------
        dict
            Image id → version.
        """
        return {r[0]: r[1] for r in self._db.query(
            "SELECT image_id, max(version) FROM masks GROUP BY image_id")}
