"""Self-supervised pretraining on a user's own micrographs: a job (DESIGN.md, "The job protocol").

What one run does
-----------------
1. The images are read once and kept in memory (:mod:`nanomorph.ssl.data`); unreadable files
   are skipped with their reason (``PretrainResult.skipped``).
2. Each step takes ``batch_size`` images (order: a permutation per epoch), makes two views of
   each (:mod:`nanomorph.ssl.augment`), passes both through backbone + projector
   (:mod:`nanomorph.ssl.model`) and minimises the Barlow Twins or the NT-Xent loss
   (:mod:`nanomorph.ssl.losses`): AdamW, a linear warm-up over ``warmup_fraction`` of the
   steps then a cosine decay to zero; the backbone's learning rate is ``backbone_lr_scale`` ×
   the projector's (0.1 from ImageNet weights, which a full rate would wash out; 1 from
   scratch). From ImageNet weights the backbone's BatchNorm statistics stay frozen
   (``freeze_batchnorm``, see below); from scratch they are learnt.
3. A checkpoint every ``checkpoint_every`` steps, at the end of every epoch of at least that
   many steps (shorter epochs, as a few dozen images make, would write one every step or two)
   and at the end (:mod:`nanomorph.ssl.checkpoint`), with ``loss.csv``; the backbone is saved as
   ``encoder.pt`` (:func:`nanomorph.encoders.saved.save_encoder`), with the preprocessing of
   the backbone's registry entry (mean / std as trained; 224-px whole images, as the ImageNet
   encoder is used).
4. With a :class:`RunLog` (a project's, :class:`nanomorph.workflows.pretrain.ProjectRunLog`):
   a run record that ends ``done``, ``cancelled`` or ``failed``, and the encoder as the
   project's model and registry name ``ssl:<run name>`` (:mod:`nanomorph.ssl.runs`).

Progress, cancel and resume
---------------------------
One :class:`~nanomorph.jobs.Progress` per step: ``done`` / ``total`` steps, ``payload``
``{"step", "epoch", "loss"}`` (steps and epochs counted from 1), plus ``"epoch_loss"`` (the
epoch's mean) on an epoch's last step, for a live loss plot. The cancel token is checked
before every step; a cancel (or closing the generator) writes a checkpoint of the steps done,
records the run as cancelled and raises :class:`~nanomorph.errors.JobCancelled`; a
KeyboardInterrupt inside a step (a second Ctrl-C) records it as cancelled too but keeps only
the last checkpoint, as the step's state may be half updated. Any other exception records the
run as failed and leaves the last checkpoint.

``resume=True`` continues the run in the folder from its newest readable checkpoint, with the
folder's configuration and image list (``images`` is not needed). The batches and their
augmentations are functions of (seed, epoch, step) only, and the checkpoint holds model,
projector, optimizer, scheduler, gradient scaler, random states and the step, so a resumed
run computes, on the same device and thread count, the very losses an uninterrupted run
computes.

BatchNorm statistics
--------------------
A BatchNorm layer in training mode replaces its running means and variances by those of what
it sees: here, augmented 25–50 % crops at the training size, in batches of a few dozen. On the
benchmark of ``tests/benchmarks/test_bench_ssl.py`` (Barlow Twins from the ImageNet Lite0, 200
steps, BatchNorm in training mode) the convolutions moved by 0.8 % (median relative change),
yet 1-shot accuracy fell from 0.93 to 0.72: those weights with the ImageNet statistics gave
0.93 again, the ImageNet weights with the run's statistics 0.70, and statistics recomputed on
whole images of the run ("precise BN") 0.79–0.80 for either. The statistics, not the weights,
did the harm; so from ImageNet weights they stay frozen (the layers' scale and shift still
learn), as in fine-tuning with small batches: the same run then gives 0.93 (K = 1) to 0.97
(K = 8), on a par with ImageNet. From scratch there is nothing to keep, and the run's own
statistics beat recomputed ones (0.75 vs 0.68 at K = 1).

Devices
-------
``device`` as :func:`nanomorph.device.select_device`. CUDA runs in mixed precision (bfloat16
autocast, or float16 with a gradient scaler where bfloat16 is missing); the CPU and MPS in
float32. Defaults that depend on the device are resolved once and stored in the run's
configuration: views of 224 px and batches of 64 on CUDA, 96 px and 32 elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Protocol

from nanomorph.errors import InvalidParameterError, JobCancelled, NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress
from nanomorph.ssl.config import RESUMABLE_CHANGES, PretrainConfig, PretrainResult
from nanomorph.ssl.trainer import Trainer, cpu_threads


def pretrain(images: list[str] | None, folder: str | os.PathLike,
             config: PretrainConfig | None = None, *, run_name: str | None = None,
             log: "RunLog | None" = None, resume: bool = False, device: str | None = None,
             threads: int | None = None,
             cancel: CancelToken | None = None) -> Job[PretrainResult]:
    """Pretrain an encoder on unlabelled images (a job: yields Progress, returns PretrainResult).

    Parameters
    ----------
    images : list of path-like or [path, page], or None
        Image files (any size, bit depth and format nanomorph reads), or one page of a movie;
        not needed to resume.
    folder : path-like
        The run folder (created); see :mod:`nanomorph.ssl.runs`.
    config : PretrainConfig, optional
        Default ``PretrainConfig()``; to resume, None takes the folder's, and a given one must
        equal it (``checkpoint_every`` may change).
    run_name : str, optional
        Default: the folder's name; the encoder is ``ssl:<run name>``.
    log : RunLog, optional
        Where the run is recorded and the encoder registered besides the run folder.
    resume : bool
        Continue the run in ``folder`` (see the module docstring).
    device : str, optional
        ``auto``/``cpu``/``cuda``/``mps``.
    threads : int, optional
        torch CPU threads while the job runs (restored after it; None leaves them as they
        are). On a busy machine one thread can be several times faster than two contending.
    cancel : CancelToken, optional

    Raises
    ------
    InvalidParameterError
        A bad configuration, fewer images than a batch, a folder that holds another run (without
        ``resume``) or none (with it), a configuration differing from the run's on resume.
    NanomorphError
        No checkpoint of the run can be read; weights that cannot be loaded; no image readable.
    JobCancelled
        When cancelled (a checkpoint of the steps done is kept).

    Yields
    ------
    Progress
        One per step (see the module docstring).

    Returns
    -------
    PretrainResult
        The finished run.
    """
    from nanomorph.device import select_device

    device = select_device(device)
    if threads is not None and threads < 1:
        raise InvalidParameterError(f"threads must be at least 1, got {threads}")
    with cpu_threads(threads):
        return (yield from _pretrain(images, Path(folder).absolute(), config, run_name, log,
                                     resume, device, cancel))


def _pretrain(images, folder: Path, config, run_name, log, resume: bool, device: str,
              cancel):
    from nanomorph.ssl import runs
    from nanomorph.ssl.backbones import build_backbone

    run_name = runs.check_run_name(run_name or folder.name)
    _check_run_folder(folder)
    saved = runs.read_config(folder)
    if resume:
        if saved is None:
            raise InvalidParameterError("no pretraining run to resume in this folder (no "
                                        f"{runs.CONFIG_FILE}): leave out --resume to start one",
                                        folder)
        config = _resume_config(PretrainConfig.from_json(saved["config"]), config, device)
        images = saved["images"]
    else:
        if saved is not None:
            raise InvalidParameterError("this folder already holds a pretraining run: add "
                                        "--resume to continue it, or choose another --out",
                                        folder)
        if not images:
            raise InvalidParameterError("no images to pretrain on")
        config = (config or PretrainConfig()).resolved(device)
    # built before the images are read: missing ImageNet weights fail at once
    backbone = build_backbone(config.backbone, config.init, config.seed)
    loaded = yield from _load(images, config, cancel)
    notes = []
    if resume and len(loaded.paths) != len(images):
        notes.append(f"{len(images) - len(loaded.paths)} of the run's images could not be read "
                     "again: the batches differ from those of an uninterrupted run")
    trainer = Trainer(config, backbone, loaded, device, folder)  # checks the batch size
    folder.mkdir(parents=True, exist_ok=True)
    if not resume:
        runs.write_config(folder, _run_description(run_name, config, loaded, log))
    resumed_from = trainer.restore(notes) if resume else None
    for note in notes:
        yield Progress(trainer.step, trainer.total_steps, note)
    return (yield from _record(trainer, run_name, log, resumed_from, notes, cancel))


def _check_run_folder(folder: Path) -> None:
    """The run folder must be a folder that can be written, or be creatable in one (nothing is
    created here: a run that fails to start leaves no folder behind)."""
    import tempfile

    if folder.exists() and not folder.is_dir():
        raise InvalidParameterError("this is a file, not a folder for the run: choose another "
                                    "--out", folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(f"{existing} is not a folder")
        fd, probe = tempfile.mkstemp(prefix=".nanomorph-write-test-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise NanomorphError(f"the run folder cannot be written ({exc.strerror or exc}): choose "
                             "another --out", folder) from None


def _resume_config(saved: "PretrainConfig", given: "PretrainConfig | None",
                   device: str) -> "PretrainConfig":
    if given is None:
        return saved
    given = given.resolved(device)
    differing = [f.name for f in dataclasses.fields(saved) if f.name not in RESUMABLE_CHANGES
                 and getattr(saved, f.name) != getattr(given, f.name)]
    if differing:
        was = ", ".join(f"{name}={getattr(saved, name)!r}" for name in differing)
        raise InvalidParameterError(f"the run was started with {was}: resume it with the same "
                                    "settings, or start a new run (another --out)")
    return dataclasses.replace(saved, checkpoint_every=given.checkpoint_every)


def _load(images, config: PretrainConfig, cancel):
    from nanomorph.ssl.data import load_images

    loaded = yield from load_images([_image_ref(p) for p in images], config.image_size_px,
                                    config.crop_scale[0], cancel=cancel)
    if not loaded.paths:
        raise NanomorphError(f"none of the {len(images)} images could be read (first: "
                             f"{loaded.skipped[0][0]}: {loaded.skipped[0][1]})")
    return loaded


def _image_ref(image) -> str | list:
    """A path as text, or a movie's ``[path, page]`` (as the run's JSON keeps it)."""
    if isinstance(image, (tuple, list)):
        return [os.fspath(image[0]), int(image[1])]
    return os.fspath(image)


def _run_description(run_name: str, config: PretrainConfig, loaded, log) -> dict:
    from nanomorph import __version__

    return {"format": "nanomorph-ssl-run", "run": run_name, "config": config.as_json(),
            "images": loaded.paths, "skipped": [list(s) for s in loaded.skipped],
            "project": None if log is None else log.location,
            "created_at": time.time(), "created_by": f"nanomorph {__version__}"}


def _record(trainer: Trainer, run_name: str, log, resumed_from, notes, cancel):
    """Train and finish the run, recorded in ``log`` when there is one."""
    if log is not None:
        log.started(run_name, trainer.folder, {**trainer.config.as_json(),
                                               "n_images": len(trainer.data.paths),
                                               "resumed_from_step": resumed_from})
    try:
        yield from trainer.train(cancel)
        result = _finish(trainer, run_name, log, resumed_from, notes)
    except (JobCancelled, GeneratorExit):  # between steps: the state is whole, keep it
        _close_run(log, "cancelled", trainer, final_checkpoint=trainer.save_checkpoint())
        raise
    except KeyboardInterrupt:  # inside a step: its state may be torn, the last checkpoint stays
        _close_run(log, "cancelled", trainer, final_checkpoint=trainer.last_checkpoint)
        raise
    except BaseException as exc:
        _close_run(log, "failed", trainer, error=str(exc) or type(exc).__name__)
        raise
    _close_run(log, "done", trainer, encoder=result.encoder_path,
               encoder_name=result.encoder.name, weights_id=result.encoder.weights_id,
               final_checkpoint=trainer.last_checkpoint)
    return result


def _close_run(log, status: str, trainer: Trainer, **result) -> None:
    """Tell ``log`` how the run ended, with the trainer's summary; nothing without a log."""
    if log is not None:
        log.ended(status, {**trainer.summary(), **result})


def _finish(trainer: Trainer, run_name: str, log, resumed_from, notes) -> PretrainResult:
    """Save the final checkpoint and the encoder; hand the encoder to the log."""
    from nanomorph.encoders.saved import ENCODER_FILE, save_encoder
    from nanomorph.ssl import runs

    config = trainer.config
    trainer.save_checkpoint()
    base = trainer.base_spec
    spec = dataclasses.replace(
        base, name=runs.encoder_name(run_name), offered=True, weights_id="",
        description=f"{'Barlow Twins' if config.method == 'barlow' else 'SimCLR'} on "
                    f"{len(trainer.data.paths)} images, {config.backbone} from {config.init}, "
                    f"{config.epochs} epochs (run {run_name})")
    path = trainer.folder / ENCODER_FILE
    spec = save_encoder(path, spec, trainer.model.backbone)
    if log is not None:
        log.encoder_saved(run_name, path, config.as_json(), spec)
    return PretrainResult(run_name, trainer.folder, spec, path, config, trainer.losses,
                          trainer.elapsed_s, trainer.device, trainer.data.skipped, notes,
                          resumed_from)


class RunLog(Protocol):
    """Where a run is recorded besides its folder, e.g. a project's run history.

    Attributes
    ----------
    location : str or None
        Written into the run's ``config.json`` as ``project``.
    """

    location: str | None

    def started(self, run_name: str, folder: Path, details: dict) -> None:
        """The run starts (or resumes).

        Parameters
        ----------
        run_name : str
            The run's name.
        folder : Path
            The run folder.
        details : dict
            Its configuration and image count.
        """

    def ended(self, status: str, result: dict) -> None:
        """The run ended.

        Parameters
        ----------
        status : str
            ``done``, ``cancelled`` or ``failed``.
        result : dict
            Its summary; path values are Paths.
        """

    def encoder_saved(self, run_name: str, path: Path, config: dict, spec) -> None:
        """The run's encoder was written.

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
