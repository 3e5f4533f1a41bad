"""Importing existing mask files into a project and exporting the project's masks.

Import matches each mask file to a project image by file stem (``frame_0042.png`` or
``frame_0042_mask.png`` → image ``frame_0042.tif``) and maps its values to project labels with a
mapping such as ``127:1, 255:2`` (127 → nanowire, 255 → a second class, everything else
background) or ``nonzero:1``. Export writes one PNG per masked image, ``<image stem>_mask.png``,
with the project's label values (binary masks as 0/255 so they show in any viewer).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nanomorph.errors import InvalidParameterError, NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel

if TYPE_CHECKING:
    from nanomorph.project import Project

NONZERO = "nonzero"
_PAIR = re.compile(r"^\s*(nonzero|\d+)\s*[:=>→-]+\s*(\d+)\s*$")


def parse_value_mapping(text: str) -> dict:
    """Parse a mask value mapping.

    Parameters
    ----------
    text : str
        ``"127:1, 255:2"`` (mask value 127 → label 1, 255 → label 2) or ``"nonzero:1"``.

    Returns
    -------
    dict
        Source value (or ``"nonzero"``) → project label.

    Raises
    ------
    InvalidParameterError
        For anything else, with an example of the expected form.
    """
    mapping = {}
    for part in (text or "").split(","):
        m = _PAIR.match(part)
        if not m:
            raise InvalidParameterError(
                f"cannot read the value mapping {text!r}: write e.g. '127:1, 255:2' "
                "(mask value 127 → nanowire, 255 → class 2) or 'nonzero:1'")
        source = m.group(1) if m.group(1) == NONZERO else int(m.group(1))
        label = int(m.group(2))
        if not 0 <= label <= 255:
            raise InvalidParameterError(f"project labels are 0..255, not {label}")
        mapping[source] = label
    if NONZERO in mapping and len(mapping) > 1:
        raise InvalidParameterError("'nonzero' maps every value; it cannot be combined")
    return mapping


def apply_mapping(array: np.ndarray, mapping: dict) -> np.ndarray:
    """Project labels from a mask array.

    Parameters
    ----------
    array : ndarray
        The mask file's values.
    mapping : dict
        From :func:`parse_value_mapping`.

    Returns
    -------
    ndarray of uint8
        Labels; unmapped values become 0.
    """
    from nanomorph.io.mask_files import map_mask_values

    if NONZERO in mapping:
        return np.where(array != 0, mapping[NONZERO], 0).astype(np.uint8)
    return map_mask_values(array, mapping)


def format_value_mapping(mapping: dict) -> str:
    """The text form of a mapping, as :func:`parse_value_mapping` reads it.

    Parameters
    ----------
    mapping : dict
        Source value (or ``"nonzero"``) → project label.

    Returns
    -------
    str
        E.g. ``"127:1, 255:2"``.
    """
    return ", ".join(f"{source}:{label}" for source, label in mapping.items())


MAX_OWN_LABELS = 8  # more distinct values than this: an instance or grey-level mask


@dataclass
class MaskSurvey:
    """The values found in mask files before importing them.

    Attributes
    ----------
    pixels : dict
        Mask value → pixel count over all readable files.
    files : dict
        Mask value → number of files that hold it.
    failed : list of (str, str)
        (mask file, reason) of files that cannot be read.
    """
    pixels: dict[int, int] = field(default_factory=dict)
    files: dict[int, int] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def default_mapping(self) -> dict:
        """Each non-zero value to its own label (1, 2, … in ascending value order) so that no
        two classes merge; ``nonzero:1`` for an instance or grey-level mask (more than
        :data:`MAX_OWN_LABELS` values) and when nothing non-zero was found.

        Returns
        -------
        dict
            As :func:`parse_value_mapping` returns.
        """
        values = sorted(v for v in self.pixels if v != 0)
        if not values or len(values) > MAX_OWN_LABELS:
            return {NONZERO: 1}
        return {value: label for label, value in enumerate(values, start=1)}


def survey_mask_values(files, *, cancel: CancelToken | None = None) -> Job[MaskSurvey]:
    """Read mask files and count the values they hold, to choose an import mapping (a job).

    Parameters
    ----------
    files : iterable of path-like
        Mask files.
    cancel : CancelToken, optional
        Checked before each file.

    Yields
    ------
    Progress
        One per file.

    Returns
    -------
    MaskSurvey
        Values, their pixel and file counts, and the unreadable files.
    """
    from nanomorph.io.mask_files import read_mask

    files = [os.fspath(f) for f in files]
    survey = MaskSurvey()
    for i, path in enumerate(files):
        check_cancel(cancel)
        try:
            array, _ = read_mask(path)
        except NanomorphError as e:
            survey.failed.append((path, e.reason))
        else:
            values, counts = np.unique(array, return_counts=True)
            for value, count in zip(values.tolist(), counts.tolist()):
                survey.pixels[value] = survey.pixels.get(value, 0) + count
                survey.files[value] = survey.files.get(value, 0) + 1
        yield Progress(i + 1, len(files), f"read {os.path.basename(path)}")
    return survey


def _stem(path) -> str:
    stem = Path(os.fsdecode(path)).stem
    return stem[:-5] if stem.lower().endswith("_mask") else stem


@dataclass
class ImportResult:
    """Outcome of importing mask files.

    Attributes
    ----------
    imported : list of (str, str)
        (image name, mask file) of the masks stored.
    failed : list of (str, str)
        (mask file, reason) of the files skipped.
    """
    imported: list[tuple[str, str]] = field(default_factory=list)  # (image name, mask file)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (mask file, reason)


def import_masks(project: "Project", files, mapping: dict, *,
                 cancel: CancelToken | None = None) -> Job[ImportResult]:
    """Store mask files as new mask versions of the matching images (a job).

    A file that matches no image, has another shape than its image, cannot be read, or holds
    none of the mapped values is reported and skipped; the others are imported.

    Parameters
    ----------
    project : Project
        The open project.
    files : iterable of path-like
        Mask files, matched to images by file stem (``_mask`` removed).
    mapping : dict
        From :func:`parse_value_mapping`.
    cancel : CancelToken, optional
        Checked before each file.

    Yields
    ------
    Progress
        One per file.

    Returns
    -------
    ImportResult
        What was imported and what was skipped, with reasons.
    """
    from nanomorph.io.mask_files import read_mask

    by_stem = {r.stem: r for r in project.images.all()}
    files = [os.fspath(f) for f in files]
    result = ImportResult()
    for i, path in enumerate(files):
        check_cancel(cancel)
        record = by_stem.get(_stem(path))
        try:
            if record is None:
                raise NanomorphError("no project image has this name (after removing _mask)")
            array, _ = read_mask(path)
            if array.shape != tuple(record.shape[-2:]):
                raise NanomorphError(f"the mask is {array.shape[0]} × {array.shape[1]} px but "
                                     f"{record.name} is {record.shape[-2]} × {record.shape[-1]}")
            labels = apply_mapping(array, mapping)
            if not labels.any() and array.any():
                found = ", ".join(map(str, np.unique(array)[:10]))
                raise NanomorphError(f"none of the mapped values occur (the mask holds {found})")
            project.masks.save(record.id, labels, source="import")
            result.imported.append((record.name, path))
        except NanomorphError as e:
            result.failed.append((path, e.reason))
        yield Progress(i + 1, len(files), f"imported {os.path.basename(path)}")
    return result


def export_masks(project: "Project", folder, *, cancel: CancelToken | None = None) -> Job[int]:
    """Write the latest mask of every image as ``<image stem>_mask.png`` (a job; a movie's
    frame as ``<stem>-f00007_mask.png``).

    Parameters
    ----------
    project : Project
        The open project.
    folder : str or os.PathLike
        Created when missing.
    cancel : CancelToken, optional
        Checked before each image.

    Yields
    ------
    Progress
        One per image.

    Returns
    -------
    int
        Masks written.
    """
    from nanomorph.io.mask_files import write_mask_png

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    records = [r for r in project.images.all() if project.masks.latest_version(r.id) is not None]
    for i, record in enumerate(records):
        check_cancel(cancel)
        mask = project.masks.read(record.id)
        write_mask_png(folder / f"{record.stem}_mask.png",
                       mask.astype(bool) if mask.max(initial=0) <= 1 else mask)
        yield Progress(i + 1, len(records), f"exported the mask of {record.name}")
    return len(records)
