"""Class sets: the morphology classes a project starts with (shipped in nanomorph_resources)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class MorphologyClass:
    """One morphology class of a class set.

    Attributes
    ----------
    name : str
        The class name, e.g. ``network``.
    color : str
        Display colour, ``#rrggbb``.
    description : str
        What the class means, for tooltips.
    """
    name: str
    color: str
    description: str


def default_class_set() -> list[MorphologyClass]:
    """The classes a new project starts with (Lu et al. 2022).

    Returns
    -------
    list of MorphologyClass
        bundle, dispersed, network, singular, with display colours.
    """
    text = (resources.files("nanomorph_resources") / "classes" / "default.json").read_text("utf-8")
    return [MorphologyClass(**c) for c in json.loads(text)["classes"]]


# colours for classes a user adds: distinct from the default classes' and from the mask, overlay
# and verdict colours (label 1 orange-red, 2 cyan; errors magenta/green)
PALETTE = ("#e8a33d", "#4fa3e0", "#7bc043", "#d65b8f", "#9b7fd1", "#c9b458", "#4fd1c5",
           "#b5651d", "#8a8f98", "#3d6fb6", "#c0392b", "#6b8e23")


def palette_color(index: int, taken: set[str] = frozenset()) -> str:
    """A display colour for a class.

    Parameters
    ----------
    index : int
        The class's position (the palette is cycled).
    taken : set of str
        Colours other classes have; a free palette colour is preferred.

    Returns
    -------
    str
        ``#rrggbb``.
    """
    choices = [c for c in PALETTE if c not in taken] or list(PALETTE)
    return choices[index % len(choices)]
