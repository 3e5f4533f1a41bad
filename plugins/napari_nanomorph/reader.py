"""napari reader: micrographs with their calibration, and nanomorph project folders."""

from __future__ import annotations

import os

from nanomorph.errors import NanomorphError
from nanomorph.io import SUPPORTED_SUFFIXES
from nanomorph.project import is_project


def get_reader(path):
    """Return a reader for ``path`` when nanomorph can read it, else None (napari tries others)."""
    if isinstance(path, list):
        return read_paths if all(_supported(p) for p in path) else None
    return read_paths if _supported(path) else None


def _supported(path) -> bool:
    path = os.fspath(path)
    if os.path.isdir(path):
        return is_project(path)
    return os.path.splitext(path)[1].lower() in SUPPORTED_SUFFIXES


def read_paths(path) -> list[tuple]:
    """Layer data for one path or a list of paths.

    A project folder opens in the nanomorph docks of the current viewer and returns no layers
    (the image browser shows its images). A file that cannot be read raises an error naming the
    file; napari shows it as a notification and keeps running.
    """
    from nanomorph.io import read_image

    from napari_nanomorph.layers import image_layer_tuple

    paths = path if isinstance(path, list) else [path]
    layers = []
    for p in paths:
        if os.path.isdir(p):
            _open_project_in_current_viewer(p)
            continue
        try:
            layers.append(image_layer_tuple(read_image(p)))
        except NanomorphError as e:
            raise ValueError(str(e)) from e
    return layers


def _open_project_in_current_viewer(folder) -> None:
    import napari

    from napari_nanomorph.launcher import open_path

    viewer = napari.current_viewer()
    if viewer is not None:
        open_path(viewer, folder)
