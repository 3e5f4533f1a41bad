"""Class ↔ connectivity consistency of a project's images: the expected connectivity of each
class kept in the project, and a flag per image from its label (else its live prediction) and
its stored percolation result (:mod:`nanomorph.explore.consistency`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nanomorph.explore.consistency import consistency, expected_connectivity

if TYPE_CHECKING:
    from nanomorph.project import Project

SETTING = "class_connectivity"


def class_connectivity(project: "Project") -> dict:
    """The connectivity each of the project's classes expects.

    Parameters
    ----------
    project : Project
        The open project.

    Returns
    -------
    dict
        Class → True (percolates), False (does not) or None (either).
    """
    return expected_connectivity(project.labels.classes(), project.settings.get(SETTING))


def set_class_connectivity(project: "Project", name: str, percolates: bool | None) -> None:
    """Set what one class expects.

    Parameters
    ----------
    project : Project
        The open project.
    name : str
        A class.
    percolates : bool or None
        True, False, or None (either).
    """
    stored = dict(project.settings.get(SETTING) or {})
    stored[name] = percolates
    project.settings.set(SETTING, stored)


def percolation_verdicts(project: "Project") -> dict:
    """Each analysed image's stored percolation verdict.

    Parameters
    ----------
    project : Project
        The open project.

    Returns
    -------
    dict
        Image id → True / False, or None when the result is older than the image's mask.
    """
    return {image_id: None if entry["stale"] else entry["result"].get("percolates")
            for image_id, entry in project.results.of_kind("percolation").items()}


def consistency_flags(project: "Project", predictions: dict[int, dict] | None = None) -> dict:
    """The consistency of every image that has a class.

    Parameters
    ----------
    project : Project
        The open project.
    predictions : dict, optional
        Image id → prediction record (``label``); default the stored live predictions.

    Returns
    -------
    dict
        Image id → ``{"class", "source" ("label" or "prediction"), "percolates" (bool or
        None), "flag"}``.
    """
    from nanomorph.workflows.classify import live_predictions

    expected = class_connectivity(project)
    labels = project.labels.all()
    predicted = live_predictions(project) if predictions is None else predictions
    verdicts = percolation_verdicts(project)
    flags = {}
    for image_id in set(labels) | set(predicted):
        source = "label" if image_id in labels else "prediction"
        name = labels.get(image_id) or predicted[image_id]["label"]
        percolates = verdicts.get(image_id)
        flags[image_id] = {"class": name, "source": source, "percolates": percolates,
                           "flag": consistency(name, percolates, expected)}
    return flags
