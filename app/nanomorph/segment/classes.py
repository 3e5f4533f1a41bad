"""The classes a segmenter tells apart, and how mask values map to them and back.

Rules (the ``--foreground`` option of ``nanomorph segment train``, as in ``percolate``):

- values given (``127`` or ``127,255``): two classes, background and ``nanowire`` (pixels holding
  one of the values); every other value is background.
- ``auto`` (the default): masks with at most one non-zero value (0/1, 0/255) give two classes,
  background and ``nanowire`` (= non-zero); masks holding more labels (0 / 127 / 255 in
  ``nanowire_tem_seg``) give one class per value, 0 being background. The nanowire class of such
  a model is the one of the smallest non-zero value unless told otherwise (127 there, where 255
  is the catalyst droplet).
- ``nonzero``: two classes, every non-zero value is nanowire.

Class 0 is always background. Predicted label masks are written with the training masks'
values (class k → its first value), except for two-class models, whose nanowire is written 255
so that it shows in any viewer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nanomorph.errors import InvalidParameterError
from nanomorph.io.mask_files import foreground_mask, parse_foreground
from nanomorph.io.records import JsonRecord

BACKGROUND = "background"
NANOWIRE = "nanowire"
# A mask with more distinct values than this is no label mask (a gray image given as mask?).
MAX_CLASSES = 16
BINARY_WIRE_VALUE = 255


@dataclass(frozen=True)
class SegmentClasses(JsonRecord):
    """Names and mask values of a segmenter's classes.

    Attributes
    ----------
    names : tuple of str
        One per class; ``names[0]`` is ``"background"``.
    values : tuple of tuple of int
        Mask values of each class. Class 0 lists 0; it also takes every value no other class
        lists.
    nanowire : int
        Index of the nanowire class (whose probability ``segment predict`` writes).
    """

    names: tuple[str, ...]
    values: tuple[tuple[int, ...], ...]
    nanowire: int = 1

    def __post_init__(self) -> None:
        if len(self.names) < 2 or len(self.names) != len(self.values):
            raise InvalidParameterError("a segmenter needs background and at least one class, "
                                        "each with its mask values")
        if not 1 <= self.nanowire < len(self.names):
            raise InvalidParameterError(f"the nanowire class must be one of 1..{len(self) - 1}, "
                                        f"not {self.nanowire}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def is_binary(self) -> bool:
        """Background and nanowire only."""
        return len(self.names) == 2

    def labels_of(self, mask: np.ndarray) -> np.ndarray:
        """Class indices of a mask's values.

        Parameters
        ----------
        mask : ndarray
            Mask values as in the training masks.

        Returns
        -------
        ndarray of uint8, same shape
            0 = background, k = the k-th class.
        """
        labels = np.zeros(np.shape(mask), np.uint8)
        for index, values in enumerate(self.values[1:], start=1):
            labels[np.isin(mask, values)] = index
        return labels

    def mask_values(self, labels: np.ndarray) -> np.ndarray:
        """A label mask in the training masks' values.

        Parameters
        ----------
        labels : ndarray of int
            Class indices.

        Returns
        -------
        ndarray of uint8, same shape
            0/255 for two classes, else the first value of each class.
        """
        lut = np.zeros(256, np.uint8)
        if self.is_binary:
            lut[1] = BINARY_WIRE_VALUE
        else:
            for index, values in enumerate(self.values):
                lut[index] = values[0]
        return lut[labels]

    def foreground_classes(self, spec: str | tuple[int, ...]) -> tuple[int, ...]:
        """The classes whose predictions are compared with the ``--foreground`` pixels of a mask.

        Parameters
        ----------
        spec : str or tuple of int
            ``"nonzero"``/``"auto"`` or mask values
            (:func:`nanomorph.io.mask_files.parse_foreground`).

        Returns
        -------
        tuple of int
            Two-class models: the nanowire class, whatever the values (the truth's foreground is
            what ``spec`` selects). Other models: every class when ``spec`` is a keyword, else
            the classes holding one of the values.

        Raises
        ------
        InvalidParameterError
            When none of the model's classes holds one of the values.
        """
        spec = parse_foreground(spec)
        if self.is_binary:
            return (self.nanowire,)
        if isinstance(spec, str):
            return tuple(range(1, len(self)))
        chosen = tuple(k for k in range(1, len(self)) if set(self.values[k]) & set(spec))
        if not chosen:
            known = ", ".join(f"{n} ({'/'.join(map(str, v))})"
                              for n, v in zip(self.names[1:], self.values[1:]))
            raise InvalidParameterError(f"the segmenter has no class for the mask values "
                                        f"{','.join(map(str, spec))}: its classes are {known}")
        return chosen


    @classmethod
    def from_json(cls, fields: dict) -> "SegmentClasses":
        """The classes :meth:`as_json` wrote.

        Parameters
        ----------
        fields : dict
            ``names``, ``values``, ``nanowire``.

        Returns
        -------
        SegmentClasses
            The classes.
        """
        return cls(names=tuple(str(n) for n in fields["names"]),
                   values=tuple(tuple(int(x) for x in v) for v in fields["values"]),
                   nanowire=int(fields["nanowire"]))


def classes_from_masks(masks: list[np.ndarray], foreground: str | tuple[int, ...] = "auto", *,
                       paths: list | None = None,
                       nanowire_value: int | None = None) -> SegmentClasses:
    """The classes that training masks define (module docstring).

    Parameters
    ----------
    masks : list of ndarray
        Mask values, 2-D, whole numbers.
    foreground : str or tuple of int
        ``"auto"``, ``"nonzero"`` or values, as ``--foreground``.
    paths : list, optional
        The masks' files, named by errors.
    nanowire_value : int, optional
        Multi-class masks: the value of the nanowire class (default: the smallest non-zero one).

    Raises
    ------
    InvalidParameterError
        Values that match no pixel of a labelled mask (from
        :func:`nanomorph.io.mask_files.foreground_mask`), more than ``MAX_CLASSES`` distinct values,
        negative values, or a ``nanowire_value`` no mask holds.

    Returns
    -------
    SegmentClasses
        Background first, then the nanowire class, then any further classes.
    """
    spec = parse_foreground(foreground)
    paths = list(paths) if paths is not None else [None] * len(masks)
    if isinstance(spec, tuple):
        for mask, path in zip(masks, paths):
            foreground_mask(mask, spec, path)  # refuses values that match none of its labels
        return SegmentClasses((BACKGROUND, NANOWIRE), ((0,), spec))
    found: set[int] = set()
    for mask, path in zip(masks, paths):
        values = _mask_values(mask, path)
        if min(values) < 0:
            raise InvalidParameterError(f"the mask holds negative values ({min(values)}): mask "
                                        "values are 0 (background) and positive labels", path)
        found.update(values)
    nonzero = sorted(found - {0})
    if spec == "nonzero" or len(nonzero) <= 1:
        return SegmentClasses((BACKGROUND, NANOWIRE), ((0,), tuple(nonzero) or (1,)))
    wire = nonzero[0] if nanowire_value is None else int(nanowire_value)
    if wire not in nonzero:
        raise InvalidParameterError(f"no mask holds the value {wire} chosen for the nanowire "
                                    f"class (they hold {', '.join(map(str, [0, *nonzero]))})")
    return SegmentClasses((BACKGROUND, *(f"value {v}" for v in nonzero)),
                          ((0,), *((v,) for v in nonzero)), nanowire=1 + nonzero.index(wire))


def _mask_values(mask: np.ndarray, path) -> list[int]:
    """Distinct values of a label mask; refuses masks with more than ``MAX_CLASSES``."""
    mask = np.asarray(mask)
    if mask.dtype == bool:
        mask = mask.view(np.uint8)
    if mask.dtype.kind == "u" and mask.itemsize <= 2:
        values = np.flatnonzero(np.bincount(mask.ravel(), minlength=1)).tolist()
    else:
        values = [int(v) for v in np.unique(mask)]
    if len(values) > MAX_CLASSES:
        raise InvalidParameterError(
            f"the mask holds {len(values)} distinct values ({values[0]} … {values[-1]}): a mask "
            f"holds a few labels (0 = background); is this a gray image? Give --foreground to "
            "say which values are nanowire", path)
    return values
