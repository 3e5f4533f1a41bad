"""The bundled sample project: the synthetic sample set (``samples.py``) as a ready project.

``prepare_sample_project(folder)`` writes the images and their exact masks under
``folder/images``, creates the project, adds the images, sets the default morphology classes,
stores every ground-truth mask as the image's mask (source ``import:synthetic truth``) and labels
the first ``LABELLED_PER_CLASS`` images of each class, leaving the others for the classifier to
sort. A finished sample project is reused as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

from nanomorph.jobs import CancelToken, Job, Progress, check_cancel
from nanomorph.project import Project, is_project

LABELLED_PER_CLASS = 2
READY_SETTING = "sample_project_ready"


def sample_project_folder() -> Path:
    """Where the GUI keeps the sample project.

    Returns
    -------
    Path
        ``<user data folder>/nanomorph/sample-project``.
    """
    import platformdirs

    return Path(platformdirs.user_data_dir("nanomorph")) / "sample-project"


def prepare_sample_project(folder: str | os.PathLike, *,
                           cancel: CancelToken | None = None) -> Job[Path]:
    """Create the sample project in a folder unless it is already there (a job).

    Parameters
    ----------
    folder : str or os.PathLike
        The project folder; the images go to ``folder/images``.
    cancel : CancelToken, optional
        Checked between steps.

    Yields
    ------
    Progress
        Per step and per image.

    Returns
    -------
    Path
        The project folder.
    """
    import imageio.v3 as iio

    from nanomorph.synthetic.samples import write_samples

    folder = Path(folder)
    if is_project(folder):
        with Project.open(folder) as project:
            if project.settings.get(READY_SETTING):
                return folder
    yield Progress(0, 3, "writing the synthetic sample images")
    samples = write_samples(folder / "images")
    check_cancel(cancel)
    with Project.open_or_create(folder, name="nanomorph sample project") as project:
        result = yield from project.images.add([s.image_path for s in samples], cancel=cancel)
        records = {Path(r.path).name: r for r in result.added + result.already_present}
        labelled: dict[str, int] = {}
        for i, sample in enumerate(samples):
            check_cancel(cancel)
            record = records[sample.image_path.name]
            mask = (iio.imread(sample.mask_path) > 0).astype("uint8")
            if not project.masks.versions(record.id):
                project.masks.save(record.id, mask, source="import:synthetic truth")
            if labelled.get(sample.label, 0) < LABELLED_PER_CLASS:
                project.labels.set(record.id, sample.label)
                labelled[sample.label] = labelled.get(sample.label, 0) + 1
            yield Progress(i + 1, len(samples), f"stored the mask of {sample.name}")
        project.settings.set(READY_SETTING, True)
    return folder
