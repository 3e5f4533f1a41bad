"""Reading ``LABELS.csv``: columns ``path,label`` and an optional ``group`` (DESIGN.md).

Relative paths are relative to the CSV's folder. Images of one group (frames of one video, crops
of one micrograph) stay on the same side of every train/test split; a row with an empty group
cell, or a file without the column, makes the image its own group.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

from nanomorph.errors import NanomorphError, display_path

REQUIRED_COLUMNS = ("path", "label")
GROUP_COLUMN = "group"
MISSING_FILE_REASON = "no such file"


@dataclass(frozen=True)
class LabelledImages:
    """The rows of a labels file whose images exist.

    Attributes
    ----------
    paths : list of str
        Image paths, resolved against the CSV's folder, in file order.
    labels : list of str
        Class of each image.
    groups : list of str or None
        Split group of each image (its own path when the cell is empty); None when the file has
        no ``group`` column.
    missing : list of str
        Listed files that do not exist (resolved paths, in file order).
    """

    paths: list[str]
    labels: list[str]
    groups: list[str] | None
    missing: list[str]

    def subset(self, indices) -> "LabelledImages":
        """The same table restricted to some rows (e.g. the images that embedded).

        Parameters
        ----------
        indices : sequence of int
            Rows to keep, in this order.

        Returns
        -------
        LabelledImages
            The subset.
        """
        indices = list(indices)
        return LabelledImages(
            paths=[self.paths[i] for i in indices],
            labels=[self.labels[i] for i in indices],
            groups=None if self.groups is None else [self.groups[i] for i in indices],
            missing=self.missing,
        )


def read_labels_csv(path: str | os.PathLike, *, missing: str = "error") -> LabelledImages:
    """Read a labels file.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV (UTF-8, with or without a byte-order mark; comma separated; header row).
    missing : {"error", "skip"}
        What to do with listed images that do not exist: raise one error that lists them all,
        or leave them out and list them in ``LabelledImages.missing``.

    Returns
    -------
    LabelledImages

    Raises
    ------
    NanomorphError
        The file cannot be read, lacks a ``path`` or ``label`` column, has a row with an empty
        path or label, lists one image twice, lists no image, or (``missing="error"``) lists
        images that do not exist.
    """
    if missing not in ("error", "skip"):
        raise ValueError(f"missing must be 'error' or 'skip', not {missing!r}")
    rows = _read_rows(path)
    folder = os.path.dirname(os.path.abspath(path))
    paths, labels, groups, absent, seen = [], [], [], [], {}
    for line, row in rows:
        image = os.path.normpath(os.path.join(folder, row["path"]))
        if image in seen:
            raise NanomorphError(f"line {line} lists {display_path(row['path'])} again "
                                 f"(first on line {seen[image]}): list each image once", path)
        seen[image] = line
        if not os.path.isfile(image):
            absent.append(image)
            continue
        paths.append(image)
        labels.append(row["label"])
        groups.append(row.get(GROUP_COLUMN) or image)
    if absent and missing == "error":
        shown = ", ".join(display_path(p) for p in absent[:5])
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        raise NanomorphError(f"{len(absent)} listed image(s) do not exist: {shown}{more}", path)
    has_groups = GROUP_COLUMN in rows[0][1]
    return LabelledImages(paths, labels, groups if has_groups else None, absent)


def _read_rows(path) -> list[tuple[int, dict[str, str]]]:
    """(line number, row with stripped cells) for every non-blank data row."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            columns = [c.strip() for c in reader.fieldnames or []]
            absent = [c for c in REQUIRED_COLUMNS if c not in columns]
            if absent:
                raise NanomorphError(
                    f"the header must name the columns path,label (and optionally group); "
                    f"found {','.join(columns) or 'nothing'}", path)
            reader.fieldnames = columns
            rows = []
            for row in reader:
                cells = {k: (v or "").strip() for k, v in row.items() if k in columns}
                if not any(cells.values()):
                    continue
                for column in REQUIRED_COLUMNS:
                    if not cells[column]:
                        raise NanomorphError(f"line {reader.line_num} has no {column}", path)
                rows.append((reader.line_num, cells))
    except FileNotFoundError:
        raise NanomorphError("no such file", path) from None
    except UnicodeDecodeError:
        raise NanomorphError("not a UTF-8 text file", path) from None
    except (OSError, csv.Error) as exc:
        raise NanomorphError(f"cannot be read as CSV ({getattr(exc, 'strerror', None) or exc})",
                             path) from None
    if not rows:
        raise NanomorphError("lists no images", path)
    return rows
