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
