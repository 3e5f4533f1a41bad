"""What ``nanomorph gui PATH`` opens: a project, a folder of images, or one image.

- a project folder (holds ``project.sqlite``) opens as it is;
- a folder of images opens the project ``<folder>/nanomorph_project`` (created on first use)
  and adds the folder's images (top level, sorted by name);
- an image file does the same for its folder, adding just that image and making it current.

When the images' folder cannot be written, the project goes to the user data folder instead
(``~/.local/share/nanomorph/projects/<folder name>-<hash>`` on Linux); images stay where they are.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nanomorph.errors import ProjectError
from nanomorph.project.store import folder_is_writable, is_project

PROJECT_SUBFOLDER = "nanomorph_project"


@dataclass
class OpenTarget:
    """What opening a path means.

    Attributes
    ----------
    project_folder : Path
        The project to open (created when missing).
    files_to_add : list of str
        Image files to add to it.
    current : str or None
        The image to show first.
    """

    project_folder: Path
    files_to_add: list[str]
    current: str | None = None


def image_files(folder: str | os.PathLike) -> list[str]:
    """Supported image files directly inside a folder.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder (not searched recursively).

    Returns
    -------
    list of str
        Sorted by name.
    """
    from nanomorph.io.readers import SUPPORTED_SUFFIXES

    names = sorted(os.listdir(folder))
    return [os.path.join(folder, n) for n in names
            if os.path.splitext(n)[1].lower() in SUPPORTED_SUFFIXES
            and os.path.isfile(os.path.join(folder, n))]


def user_projects_folder() -> Path:
    """Where projects of read-only image folders live.

    Returns
    -------
    Path
        ``<user data folder>/nanomorph/projects`` (platformdirs).
    """
    import platformdirs

    return Path(platformdirs.user_data_dir("nanomorph")) / "projects"


def project_folder_for_images(folder: str | os.PathLike) -> Path:
    """Where the project for a folder of images lives.

    Parameters
    ----------
    folder : str or os.PathLike
        The images' folder.

    Returns
    -------
    Path
        ``<folder>/nanomorph_project`` when it exists or the folder is writable, else a folder
        named after it in :func:`user_projects_folder`.
    """
    folder = Path(folder).absolute()
    inside = folder / PROJECT_SUBFOLDER
    if is_project(inside) or folder_is_writable(folder):
        return inside
    tag = hashlib.sha1(os.fsencode(folder)).hexdigest()[:8]
    return user_projects_folder() / f"{folder.name or 'images'}-{tag}"


def resolve_target(path: str | os.PathLike) -> OpenTarget:
    """Decide what opening a path means (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        A project folder, a folder of images or an image file.

    Returns
    -------
    OpenTarget
        The project and the files to add.

    Raises
    ------
    ProjectError
        When nothing exists at ``path``.
    """
    path = Path(path).absolute()
    if not path.exists():
        raise ProjectError("no such file or folder", path)
    if path.is_dir():
        if is_project(path):
            return OpenTarget(path, [])
        return OpenTarget(project_folder_for_images(path), image_files(path))
    return OpenTarget(project_folder_for_images(path.parent), [str(path)], current=str(path))

