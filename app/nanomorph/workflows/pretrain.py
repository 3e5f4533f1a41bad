"""Self-supervised pretraining on a project's own images, recorded in the project (the Pretrain
dock's and ``nanomorph pretrain``'s engine).

A project's run lives in ``PROJECT/models/ssl/<run name>/`` (:mod:`nanomorph.ssl.runs`); the
run record (kind ``pretrain``) says how it ended, and a finished run's encoder is the project's
model of kind ``encoder`` named ``ssl:<run name>``, registered in this process's encoder
registry by :func:`register_project_encoders`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from nanomorph.errors import NanomorphError
from nanomorph.jobs import CancelToken, Job

if TYPE_CHECKING:
    from nanomorph.project import Project
    from nanomorph.ssl.config import PretrainConfig, PretrainResult

RUN_KIND = "pretrain"
MODEL_KIND = "encoder"
PROJECT_RUNS_DIR = ("models", "ssl")


def project_run_folder(project: "Project", run_name: str) -> Path:
    """The folder of a project's pretraining run.

    Parameters
    ----------
    project : Project
        The open project.
    run_name : str
        Letters, digits, ``.``, ``_``, ``-``.

    Returns
    -------
    Path
        ``<project>/models/ssl/<run name>``.

    Raises
    ------
    InvalidParameterError
        For a name that cannot name a run.
    """
    from nanomorph.ssl.runs import check_run_name

    return project.folder.joinpath(*PROJECT_RUNS_DIR, check_run_name(run_name))


def image_paths(source: str | os.PathLike) -> tuple[list[str], "Project | None"]:
    """The images to pretrain on, and the project they belong to.

    Parameters
    ----------
    source : path-like
        A project folder (its images) or a folder of images (the supported files directly
        inside it, sorted by name).

    Returns
    -------
    paths : list of str or [str, int]
        The image files (``[path, frame]`` for a frame of a project's movie).
    project : Project or None
        The open project (the caller closes it), None for a plain folder.

    Raises
    ------
    NanomorphError
        The source is neither, or holds no image.
    """
    from nanomorph.project.opening import image_files
    from nanomorph.project.store import Project, is_project

    if is_project(source):
        project = Project.open(source)
        paths = [_pretrain_ref(record) for record in project.images.all()]
    elif os.path.isdir(source):
        project, paths = None, image_files(source)
    else:
        raise NanomorphError("not a folder of images or a nanomorph project", source)
    if not paths:
        if project is not None:
            project.close()
        raise NanomorphError("no images to pretrain on in this folder", source)
    return paths, project


class ProjectRunLog:
    """A pretraining run recorded in a project (a :class:`nanomorph.ssl.train.RunLog`).

    Parameters
    ----------
    project : Project
        The open project, written to.
    """

    def __init__(self, project: "Project"):
        self.project = project
        self.location = str(project.folder)
        self.run_id: int | None = None

    def started(self, run_name: str, folder: Path, details: dict) -> None:
        """Record the run's start (kind ``pretrain``) with its folder relative to the project.

        Parameters
        ----------
        run_name : str
            The run's name.
        folder : Path
            The run folder.
        details : dict
            The configuration and image count.
        """
        self.run_id = self.project.runs.start(RUN_KIND, {
            "run": run_name, "folder": os.path.relpath(folder, self.project.folder), **details})

    def ended(self, status: str, result: dict) -> None:
        """Record how the run ended; paths become relative to the project.

        Parameters
        ----------
        status : str
            ``done``, ``cancelled`` or ``failed``.
        result : dict
            The run's summary; Path values are made relative.
        """
        if self.run_id is None:
            return
        result = {k: os.path.relpath(v, self.project.folder) if isinstance(v, Path) else v
                  for k, v in result.items()}
        self.project.runs.finish(self.run_id, status, result)

    def encoder_saved(self, run_name: str, path: Path, config: dict, spec) -> None:
        """Make the encoder the project's model ``ssl:<run name>`` and a registry name.

        Parameters
        ----------
        run_name : str
            The run's name.
        path : Path
            The encoder file.
        config : dict
            The run's configuration.
        spec : EncoderSpec
            The saved encoder.
        """
        from nanomorph.encoders.registry import register_encoder
        from nanomorph.ssl.runs import encoder_name

        self.project.models.register(MODEL_KIND, encoder_name(run_name),
                                     os.path.relpath(path, self.project.models_dir), config)
        register_encoder(spec, replace=True)


def pretrain_project(project: "Project", run_name: str, config: "PretrainConfig | None" = None,
                     *, resume: bool = False, device: str | None = None,
                     threads: int | None = None,
                     cancel: CancelToken | None = None) -> Job["PretrainResult"]:
    """Pretrain on the project's images in ``models/ssl/<run name>`` (a job).

    Parameters
    ----------
    project : Project
        The open project: its images that exist are the training set.
    run_name : str
        The run's name (its folder and encoder name).
    config : PretrainConfig, optional
        Default ``PretrainConfig()``; None on resume takes the run's own.
    resume : bool
        Continue the run from its newest checkpoint.
    device : str, optional
        ``auto``/``cpu``/``cuda``/``mps``.
    threads : int, optional
        torch CPU threads while the job runs.
    cancel : CancelToken, optional
        Checked before every step.

    Yields
    ------
    Progress
        One per step (see :func:`nanomorph.ssl.train.pretrain`).

    Returns
    -------
    PretrainResult
        The finished run.
    """
    from nanomorph.ssl.train import pretrain

    folder = project_run_folder(project, run_name)
    images = None if resume else [_pretrain_ref(r) for r in project.images.all() if r.exists]
    return (yield from pretrain(images, folder, config, run_name=run_name,
                               log=ProjectRunLog(project), resume=resume, device=device,
                               threads=threads, cancel=cancel))


def register_project_encoders(project: "Project") -> list:
    """Register the encoder of every finished pretraining run of a project as
    ``ssl:<run name>`` in this process's registry (a name registered again is replaced).

    Parameters
    ----------
    project : Project
        The open project.

    Returns
    -------
    list of EncoderSpec
        The registered encoders; a run whose encoder file is gone or unreadable is skipped with
        a RuntimeWarning.
    """
    from nanomorph.encoders.registry import register_encoder
    from nanomorph.encoders.saved import load_encoder_from_path
    from nanomorph.project.paths import inside

    files = {}
    for run in project.runs.list(RUN_KIND):
        if run["status"] == "done" and run["result"] and run["result"].get("encoder"):
            files[run["config"]["run"]] = inside(project.folder, run["result"]["encoder"],
                                                f"pretraining run {run['id']}")
    specs = []
    for name, path in files.items():
        try:
            spec = load_encoder_from_path(path)
        except (NanomorphError, OSError) as exc:
            warnings.warn(f"nanomorph: the encoder of pretraining run {name!r} was not "
                          f"registered: {exc}", RuntimeWarning, stacklevel=2)
            continue
        register_encoder(spec, replace=True)
        specs.append(spec)
    return specs


def _pretrain_ref(record) -> str | list:
    """What pretraining reads for a project image: its path, or ``[path, frame]``."""
    return record.path if record.file_page is None else [record.path, record.file_page]
