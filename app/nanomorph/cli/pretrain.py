"""``nanomorph pretrain``: self-supervised pretraining of an encoder on your own micrographs.

``--images`` is a folder of images (the supported files directly inside it) or a project (its
images). ``--out`` is the run folder; with a project, a bare name (no ``/``) makes the run
``PROJECT/models/ssl/NAME``, recorded in the project's run history and usable there as the
encoder ``ssl:NAME``. At the end the command prints the run folder and how to use it:
``--encoder RUN`` (the folder, or ``RUN/encoder.pt``) in ``embed``, ``classify`` and
``segment``; ``--json`` prints one object instead (keys ``run, folder, encoder,
encoder_name, weights_id, method, backbone, init, image_size_px, batch_size, epochs, steps,
first_epoch_loss, last_epoch_loss, duration_s, device, skipped, notes``).

Ctrl-C stops after the current step and keeps a checkpoint (a second Ctrl-C stops at once,
keeping the previous checkpoint); ``--resume`` (with the same ``--out``) continues the run
exactly where it stopped, with its own settings and images: ``--images`` is not needed, and
settings given must be the run's (only ``--checkpoint-every`` and ``--device`` may change).

Exit codes: 0 done; 2 done but some images could not be read (each printed as
``error: <path>: <reason>``), or the run failed (e.g. no checkpoint can be read); 1 a bad
command line (including fewer images than a batch, a folder that already holds a run without
``--resume``, ImageNet weights asked of a ResNet); 130 cancelled by Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

from nanomorph.cli.arguments import non_negative_int, positive_int
from nanomorph.device import DEVICE_CHOICES
from nanomorph.errors import InvalidParameterError, JobCancelled, NanomorphError
from nanomorph.ssl.backbones import BACKBONES, INITS
from nanomorph.ssl.config import METHODS

# option dest -> PretrainConfig field, for the options that set the configuration
CONFIG_OPTIONS = {"method": "method", "backbone": "backbone", "init": "init",
                  "epochs": "epochs", "batch_size": "batch_size",
                  "image_size": "image_size_px", "seed": "seed",
                  "checkpoint_every": "checkpoint_every"}


def add_parser(sub) -> None:
    """Add the ``nanomorph pretrain`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("pretrain", help="pretrain an encoder on your images (Barlow Twins, "
                                        "SimCLR)",
                       description="Self-supervised pretraining of an image encoder on "
                                   "unlabelled micrographs; the result is an encoder for "
                                   "--encoder (embed, classify, segment).")
    p.add_argument("--method", choices=METHODS, help="Barlow Twins (default) or SimCLR")
    p.add_argument("--images", metavar="DIR|PROJECT",
                   help="a folder of images or a nanomorph project (not needed with --resume)")
    p.add_argument("--out", required=True, metavar="RUN",
                   help="the run folder; with a project, a bare NAME means "
                        "PROJECT/models/ssl/NAME")
    p.add_argument("--epochs", type=positive_int, metavar="N", help="passes over the images "
                                                                    "(default 100)")
    p.add_argument("--batch-size", type=positive_int, metavar="B",
                   help="images per step, two views each (default 64 on a GPU, 32 on the CPU)")
    p.add_argument("--image-size", type=positive_int, metavar="S",
                   help="side of the training views in px (default 224 on a GPU, 96 on the CPU)")
    p.add_argument("--backbone", choices=BACKBONES, help="network (default lite0: "
                                                         "EfficientNet-Lite0)")
    p.add_argument("--init", choices=INITS, help="starting weights (default imagenet for lite0, "
                                                 "scratch for the ResNets)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                   help="where to train (default: $NANOMORPH_DEVICE, else auto)")
    p.add_argument("--seed", type=non_negative_int, metavar="S", help="random seed (default 0)")
    p.add_argument("--checkpoint-every", type=positive_int, metavar="N",
                   help="steps between checkpoints (default 50; also at the end of epochs "
                        "of at least N steps)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph pretrain`` (self-supervised pretraining of an encoder).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code: 0 when every input worked, 2 when one failed (each printed as
        ``error: <path>: <reason>``), 1 for a bad command line; 130 when cancelled.
    """
    from nanomorph.device import select_device

    try:
        device = select_device(args.device)
        folder, paths, project = _source(args)
    except NanomorphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return _pretrain(args, folder, paths, project, device)
    finally:
        if project is not None:
            project.close()


def _source(args):
    """(run folder, image paths or None, project or None) from --images, --out and --resume."""
    from nanomorph.project.store import Project, is_project
    from nanomorph.ssl.runs import read_config
    from nanomorph.workflows.pretrain import image_paths, project_run_folder

    if args.images is None:
        if not args.resume:
            raise InvalidParameterError("give the images to pretrain on: --images DIR|PROJECT")
        folder = Path(args.out).absolute()
        saved = read_config(folder) or {}
        recorded = saved.get("project")
        return folder, None, Project.open(recorded) if recorded and is_project(recorded) else None
    paths, project = image_paths(args.images)
    bare_name = project is not None and "/" not in args.out and os.sep not in args.out
    folder = project_run_folder(project, args.out) if bare_name else Path(args.out).absolute()
    return folder, paths, project


def _config(args, folder: Path):
    """The configuration from the options given (over the run's own on --resume), or None to
    resume with the run's own."""
    import dataclasses

    from nanomorph.ssl.config import PretrainConfig, saved_config

    given = {field: getattr(args, option) for option, field in CONFIG_OPTIONS.items()
             if getattr(args, option) is not None}
    if not args.resume:
        return PretrainConfig(**given)
    if not given:
        return None
    return dataclasses.replace(saved_config(folder) or PretrainConfig(), **given)


def _pretrain(args, folder: Path, paths, project, device: str) -> int:
    from nanomorph.cli.progress import run_with_progress
    from nanomorph.jobs import CancelToken
    from nanomorph.ssl.train import pretrain
    from nanomorph.workflows.pretrain import ProjectRunLog

    token = CancelToken()
    try:
        job = pretrain(paths, folder, _config(args, folder),
                       log=None if project is None else ProjectRunLog(project),
                       resume=args.resume, device=device, cancel=token)
        with _cancel_on_interrupt(token):
            result = run_with_progress(job, f"pretraining on {device}")
    except (JobCancelled, KeyboardInterrupt):
        _print_cancelled(folder)
        return 130
    except InvalidParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except NanomorphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _report(args, result)
    return 2 if result.skipped else 0


@contextlib.contextmanager
def _cancel_on_interrupt(token):
    """While inside, the first Ctrl-C sets ``token`` (the job stops after its step and keeps a
    checkpoint); a second one raises KeyboardInterrupt at once."""

    def interrupted(signum, frame):
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("\nstopping after this step (Ctrl-C again stops at once) ...", file=sys.stderr,
              flush=True)

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _print_cancelled(folder: Path) -> None:
    from nanomorph.ssl.checkpoint import checkpoint_steps
    from nanomorph.ssl.runs import CHECKPOINT_DIR

    steps = checkpoint_steps(folder / CHECKPOINT_DIR)
    kept = f"the checkpoint of step {steps[-1]} is kept" if steps else "no step was finished"
    print(f"cancelled: {kept}; continue with: nanomorph pretrain --out {folder} --resume",
          file=sys.stderr)


def _report(args, result) -> None:
    from nanomorph.cli.output import print_json, report_error

    for path, reason in result.skipped:
        report_error(path, reason)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    config = result.config
    epochs = result.epoch_losses()
    if args.json:
        print_json({
            "run": result.run_name, "folder": str(result.folder),
            "encoder": str(result.encoder_path), "encoder_name": result.encoder.name,
            "weights_id": result.encoder.weights_id, "method": config.method,
            "backbone": config.backbone, "init": config.init,
            "image_size_px": config.image_size_px, "batch_size": config.batch_size,
            "epochs": config.epochs, "steps": len(result.losses),
            "first_epoch_loss": epochs[0][1], "last_epoch_loss": epochs[-1][1],
            "duration_s": round(result.duration_s, 3), "device": result.device,
            "skipped": [{"path": p, "reason": r} for p, r in result.skipped],
            "notes": result.notes})
        return
    print(f"run folder: {result.folder}")
    print(f"encoder: {result.encoder_path} ({result.encoder.weights_id}); loss "
          f"{epochs[0][1]:.4g} (epoch 1) -> {epochs[-1][1]:.4g} (epoch {epochs[-1][0]}), "
          f"{len(result.losses)} steps, {result.duration_s:.0f} s on {result.device}")
    print(f"use it: nanomorph embed IMAGE... --out FILE.npz --encoder {result.folder}")
    print(f"        (classify and segment take the same --encoder {result.folder})")
