"""Images read ahead of the user, with their masks: the neighbours of the current image in the
browser and on the frame bar.

Stepping to an image that was read ahead shows it and its mask in the same turn of the event
loop — one repaint, and no worker thread competing with the GUI thread for the GIL while napari
swaps the layers' data and draws (measured: each such worker stretched a frame switch by
10–40 ms on this 2-core machine). A read-ahead mask is used only while it is still the image's
newest saved version, so an edit saved since is never hidden behind an older copy.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from nanomorph.errors import NanomorphError
from nanomorph.jobs import call_as_job
from nanomorph.project import ImageRecord, Project

KEEP = 4  # images read ahead and kept in memory
NOT_AHEAD = object()  # what :meth:`ReadAhead.mask` returns when the mask must be read


@dataclass(frozen=True)
class Ahead:
    """An image read ahead: its napari layer tuple and its newest mask version when read."""

    layer: tuple
    mask_version: int | None  # None: the image had no mask
    mask: np.ndarray | None


def read_layer(record: ImageRecord) -> tuple:
    """The napari layer tuple of an image (on a worker thread: reading and contrast).

    Parameters
    ----------
    record : ImageRecord
        The image (its frame's page, with the project's calibration).

    Returns
    -------
    tuple
        ``(data, kwargs, "image")``.
    """
    from nanomorph.io import read_image

    from napari_nanomorph.layers import image_layer_tuple

    image = read_image(record.path, page=record.file_page)
    image.calibration = record.calibration  # the project's override wins
    return image_layer_tuple(image, record.name)


def read_ahead(project: Project, record: ImageRecord) -> Ahead:
    """An image and its newest mask (on a worker thread).

    Parameters
    ----------
    project : Project
        The project holding the image.
    record : ImageRecord
        The image.

    Returns
    -------
    Ahead
        The layer tuple, and the mask with the version it was read at.
    """
    versions = project.masks.versions(record.id)
    version = versions[-1]["version"] if versions else None
    mask = None if version is None else project.masks.read(record.id, version)
    return Ahead(read_layer(record), version, mask)


def ahead_key(record: ImageRecord) -> tuple:
    """What a read-ahead image depends on: the record's file, frame and calibration."""
    return record.id, record.path, record.file_page, record.sha256, repr(record.calibration)


class ReadAhead:
    """The newest :data:`KEEP` images read ahead for one project.

    Parameters
    ----------
    jobs : JobRunner
        Runs the reads.
    """

    def __init__(self, jobs):
        self.jobs = jobs
        self.project: Project | None = None
        self._kept: OrderedDict[tuple, Ahead] = OrderedDict()
        self._asked: set[tuple] = set()  # being read

    def reset(self, project: Project | None) -> None:
        """Forget what was read (another project, or none, is open)."""
        self.project = project
        self._kept.clear()
        self._asked.clear()

    def layer(self, record: ImageRecord) -> tuple | None:
        """The image's layer tuple when it was read ahead, else None."""
        ahead = self._kept.get(ahead_key(record))
        return None if ahead is None else ahead.layer

    def mask(self, record: ImageRecord):
        """A copy of the image's mask read ahead (None when it has none) — or
        :data:`NOT_AHEAD` when it was not read ahead or a newer version has been saved since.

        Parameters
        ----------
        record : ImageRecord
            The image.

        Returns
        -------
        ndarray, None or NOT_AHEAD
            The layer gets a copy: painting on it leaves the read-ahead one as stored.
        """
        ahead = self._kept.get(ahead_key(record))
        if ahead is None or self.project is None:
            return NOT_AHEAD
        if ahead.mask_version != self.project.masks.latest_version(record.id):
            return NOT_AHEAD
        return None if ahead.mask is None else ahead.mask.copy()

    def start(self, records: list[ImageRecord]) -> None:
        """Read these images (those not kept or being read) in one background job; one whose
        file is not there is left out.

        Parameters
        ----------
        records : list of ImageRecord
            The images to have ready.
        """
        project = self.project
        keys = {ahead_key(r): r for r in records}
        todo = {key: r for key, r in keys.items()
                if key not in self._kept and key not in self._asked}
        if project is None or not todo:
            return
        self._asked |= set(todo)

        def read(_token):
            return call_as_job(_read_all, project, todo)

        def keep(read: dict) -> None:
            if self.project is not project:
                return
            self._asked -= set(todo)
            self._kept.update(read)
            while len(self._kept) > KEEP:
                self._kept.popitem(last=False)

        def failed(*_exc) -> None:
            if self.project is project:
                self._asked -= set(todo)

        self.jobs.start(read, name="Read ahead", on_done=keep, on_error=failed,
                        on_cancelled=failed)


def _read_all(project: Project, todo: dict) -> dict:
    """Key → :class:`Ahead` of the images that could be read; one that cannot, or whose file
    is not there (a stat, here rather than on the GUI thread), is left out: opening it reports
    why."""
    read = {}
    for key, record in todo.items():
        if not record.exists:
            continue
        try:
            read[key] = read_ahead(project, record)
        except NanomorphError:
            continue
    return read
