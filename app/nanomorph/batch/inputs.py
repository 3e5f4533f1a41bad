"""What a batch run analyses: image files, the images of folders, or the images of a project.

- A file is analysed as given (a missing or unreadable one gives an error row).
- A folder contributes the files directly inside it whose suffix nanomorph reads, sorted by
  name (subfolders are not entered: a ``masks/`` folder beside the images stays out).
- A project folder (it must then be the only input) contributes its images in the order they
  were added, with their effective calibration; its stored masks are the masks to analyse
  (``mask_source="project"``) or, when the masks come from auto-masking or a segmenter, the
  ground truth they are scored against (Dice, IoU).

With ``mask_source="masks"`` each image takes the file of ``masks_dir`` whose stem is the
image's stem or the image's stem + ``_mask`` (``a.tif`` → ``a.png`` or ``a_mask.png``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from nanomorph.batch.config import BatchConfig
from nanomorph.errors import (
    InvalidParameterError,
    NanomorphError,
    PartialReadWarning,
    display_path,
)
from nanomorph.io.calibration import Calibration
from nanomorph.project.frames import frame_stem, frame_time

MASK_SUFFIX = "_mask"


@dataclass(frozen=True)
class BatchItem:
    """One image of a batch run.

    Attributes
    ----------
    index : int
        Its row in the results table (input order).
    path : str
        The image file.
    name : str
        Stem of the files written for it (unique within the run).
    mask_path : str or None
        The existing mask to analyse (``masks`` and ``project`` sources).
    mask_error : str or None
        Why no existing mask could be matched (the image's row then reports it).
    mask_missing : bool
        The image simply has no mask yet (its row says ``no mask``, not ``error``).
    truth_path : str or None
        A project's stored mask, the ground truth of a computed mask.
    calibration : Calibration or None
        A project's effective calibration; None takes the file's.
    frame : int or None
        The frame of a movie or stack (0-based); None for a still image.
    time_s : float or None
        The frame's time in seconds (frame × the frame interval), when known.
    page : int or None
        The page of the file a movie file's frame is read from; None reads the file's image
        (a still, or a frame file of a folder of numbered frames).
    """

    index: int
    path: str
    name: str
    mask_path: str | None = None
    mask_error: str | None = None
    mask_missing: bool = False
    truth_path: str | None = None
    calibration: Calibration | None = None
    frame: int | None = None
    time_s: float | None = None
    page: int | None = None

    def files(self) -> list[str]:
        """The files an image's result depends on.

        Returns
        -------
        list of str
            Image, mask and ground truth (those it has).
        """
        return [p for p in (self.path, self.mask_path, self.truth_path) if p]


def single_project(inputs: list) -> str | None:
    """The project folder when the inputs are one project.

    Parameters
    ----------
    inputs : list of path-like
        Files, folders or a project.

    Returns
    -------
    str or None
        The project folder, else None.

    Raises
    ------
    InvalidParameterError
        When a project is given together with other inputs.
    """
    from nanomorph.project import is_project

    projects = [os.fspath(p) for p in inputs if is_project(p)]
    if projects and len(inputs) > 1:
        raise InvalidParameterError(f"a project folder must be the only input "
                                    f"({display_path(projects[0])} came with {len(inputs) - 1} "
                                    "other(s))")
    return projects[0] if projects else None


def collect_items(inputs: list, config: BatchConfig, *, frames_folders: bool = False,
                  frame_interval_s: float | None = None) -> list[BatchItem]:
    """The images of the inputs in input order, with their masks as the configuration asks.

    Parameters
    ----------
    inputs : list of path-like
        Image files, folders of images, or one project.
    config : BatchConfig
        Where masks come from.
    frames_folders : bool
        Each input folder is a movie of numbered frames (:mod:`nanomorph.io.sequence`): its
        frame files, each with its ``frame`` index.
    frame_interval_s : float, optional
        Seconds between the frames of those folders (their ``time_s``). None: the frame files'
        acquisition stamps give the times when every file has one, each after the one before;
        else they are unknown.

    Returns
    -------
    list of BatchItem
        One per image.

    Raises
    ------
    NanomorphError
        No input gives an image, a folder holds no image, a project cannot be opened,
        ``mask_source="project"`` without a project, or ``masks_dir`` is not a folder.
    """
    project = single_project(inputs)
    if config.mask_source == "project" and project is None:
        raise InvalidParameterError("the project's masks can only be analysed when the input "
                                    "is a project folder")
    if project:
        entries = _project_entries(project, config)
    else:
        entries = _file_entries(inputs, frames_folders, frame_interval_s)
    if config.mask_source == "masks":
        entries = _with_mask_files(entries, config.masks_dir)
    if not project:
        entries = _frames(entries, config)
    return [BatchItem(index=i, path=path, name=name, **extra)
            for i, ((path, extra), name) in enumerate(zip(entries, _names(entries)))]


def _names(entries: list[tuple[str, dict]]) -> list[str]:
    """The stem of each entry's output files: a file's stem made unique in input order; the
    frames of a movie file share one stem, each with its frame (``<stem>-f00007``)."""
    # a still or a frame file is a unit of its own; a movie file is one unit for its frames
    keys = [(i if extra.get("page") is None else None, path)
            for i, (path, extra) in enumerate(entries)]
    units = list(dict.fromkeys(keys))
    stems = dict(zip(units, _unique_names([path for _, path in units])))
    return [stems[key] if extra.get("page") is None else frame_stem(stems[key], extra["frame"])
            for key, (_path, extra) in zip(keys, entries)]


def _frames(entries: list[tuple[str, dict]], config: BatchConfig) -> list[tuple[str, dict]]:
    """One entry per frame of each movie or stack, with its time when the file records the
    frame interval. An unreadable file stays one entry (its row reports why); a cut movie gives
    its whole frames and a :class:`PartialReadWarning`; a movie cannot take its masks from a
    folder of single masks."""
    from nanomorph.io.readers import read_info

    expanded = []
    for path, extra in entries:
        if "frame" in extra:  # a frame already: a frame file, or a project's frame
            expanded.append((path, extra))
            continue
        try:
            info = read_info(path)
        except NanomorphError:
            expanded.append((path, extra))
            continue
        if info.metadata.get("truncated"):
            warnings.warn(PartialReadWarning(info.metadata["truncated"], path), stacklevel=2)
        if info.frames == 1:
            expanded.append((path, extra))
        elif config.mask_source == "masks":
            expanded.append((path, {**extra, "mask_path": None, "mask_error": (
                f"a movie of {info.frames} frames needs a mask per frame: analyse it with an "
                "auto-mask or a segmenter")}))
        else:
            interval = info.frame_interval_s
            expanded.extend((path, {**extra, "frame": frame, "page": frame,
                                    "time_s": frame_time(frame, interval)})
                            for frame in range(info.frames))
    return expanded


def _file_entries(inputs: list, frames_folders: bool,
                  interval_s: float | None) -> list[tuple[str, dict]]:
    from nanomorph.io import SUPPORTED_SUFFIXES
    from nanomorph.io.sequence import numbered_frames

    entries = []
    for source in inputs:
        text = os.fsdecode(os.fspath(source))
        if not os.path.isdir(text):
            entries.append((text, {}))
            continue
        if frames_folders:
            movie = numbered_frames(text)
            stamped = None if interval_s is not None else _stamped_seconds(movie.paths)
            times = stamped or [frame_time(frame, interval_s) for frame in movie.frames]
            entries.extend((path, {"frame": frame, "time_s": time_s})
                           for frame, path, time_s in zip(movie.frames, movie.paths, times))
            continue
        files = sorted(entry.path for entry in os.scandir(text) if entry.is_file()
                       and os.path.splitext(entry.name)[1].lower() in SUPPORTED_SUFFIXES)
        if not files:
            raise NanomorphError("no image files in this folder (subfolders are not searched)",
                                 text)
        entries.extend((path, {}) for path in files)
    if not entries:
        raise InvalidParameterError("no input images")
    return entries


def _stamped_seconds(paths: list[str]) -> list[float] | None:
    """The times of a folder's frame files from their acquisition stamps, seconds since the
    first (:func:`~nanomorph.io.acquired.seconds_since_first`, as a project's movie takes them);
    None unless every file has one, each after the one before. The headers are read until the
    first file without a stamp: one read for a folder of PNG frames."""
    from nanomorph.io.acquired import seconds_since_first
    from nanomorph.io.readers import read_info

    stamps = []
    for path in paths:
        try:
            stamp = read_info(path).metadata.get("acquired")
        except NanomorphError:
            stamp = None  # its row says why it cannot be read
        if stamp is None:
            return None
        stamps.append(stamp)
    return seconds_since_first(stamps)


def _project_entries(folder: str, config: BatchConfig) -> list[tuple[str, dict]]:
    """(path, fields) of a project's images: stored mask as the mask or as the truth."""
    from nanomorph.project import Project

    entries = []
    with Project.open(folder, read_only=True) as project:
        for record in project.images.all():
            stored_path = project.masks.path(record.id)
            stored = None if stored_path is None else str(stored_path)
            fields: dict = {"calibration": record.calibration}
            if record.frame is not None:  # each frame of a movie, not its first page
                fields.update(frame=record.frame, time_s=record.time_s, page=record.file_page)
            if config.mask_source == "project":
                fields["mask_path"] = stored
                if stored is None:
                    fields["mask_missing"] = True
                    fields["mask_error"] = ("no mask yet: draw or auto-mask one (the Mask step "
                                            "of the app), or analyse with an auto-mask method "
                                            "or a segmenter (--mask-method, --segmenter)")
            elif config.mask_source != "masks":
                fields["truth_path"] = stored
            entries.append((record.path, fields))
    if not entries:
        raise NanomorphError("the project holds no images", folder)
    return entries


def _with_mask_files(entries: list[tuple[str, dict]], masks_dir: str) -> list[tuple[str, dict]]:
    """Match each image to the mask file of ``masks_dir`` with its stem (or stem + _mask)."""
    from nanomorph.io import SUPPORTED_SUFFIXES

    if not os.path.isdir(masks_dir):
        raise InvalidParameterError("the masks folder does not exist", masks_dir)
    by_stem: dict[str, list[str]] = {}
    for entry in sorted(os.scandir(masks_dir), key=lambda e: e.name):
        stem, suffix = os.path.splitext(entry.name)
        if entry.is_file() and suffix.lower() in SUPPORTED_SUFFIXES:
            by_stem.setdefault(stem, []).append(entry.path)
    matched = []
    for path, fields in entries:
        stem = Path(path).stem
        found = by_stem.get(stem, []) + by_stem.get(stem + MASK_SUFFIX, [])
        fields = dict(fields)
        if len(found) == 1:
            fields["mask_path"] = found[0]
        elif found:
            fields["mask_error"] = (f"several masks match it in {display_path(masks_dir)} "
                                    f"({', '.join(display_path(Path(f).name) for f in found)}): "
                                    "keep one")
        else:
            fields["mask_missing"] = True
            fields["mask_error"] = (f"no mask for it in {display_path(masks_dir)} (looked for "
                                    f"{display_path(stem)}.* and "
                                    f"{display_path(stem + MASK_SUFFIX)}.*)")
        matched.append((path, fields))
    return matched


def _unique_names(paths: list[str]) -> list[str]:
    """File stems, made unique by suffixes ``-2``, ``-3`` … in input order."""
    used: set[str] = set()
    names = []
    for path in paths:
        stem = Path(path).stem or "image"
        name, n = stem, 1
        while name in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name)
        names.append(name)
    return names
