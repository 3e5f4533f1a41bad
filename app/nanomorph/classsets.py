"""Class sets: the morphology classes a project starts with (shipped in nanomorph_resources)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class MorphologyClass:
    name: str
    color: str
    description: str


def default_class_set() -> list[MorphologyClass]:
    """bundle, dispersed, network, singular (Lu et al. 2022), with display colours."""
    text = (resources.files("nanomorph_resources") / "classes" / "default.json").read_text("utf-8")
    return [MorphologyClass(**c) for c in json.loads(text)["classes"]]
