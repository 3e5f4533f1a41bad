"""``nanomorph batch IMAGE_OR_DIR... --out DIR``: percolation (and classes) of many images on
Dask, resumable.

Writes ``DIR/results.csv`` and ``DIR/results.parquet``: one row per input image, in input order,
with ``path, sha256, status`` (ok/error), ``error``, the keys of ``nanomorph percolate``
(``shape`` as ``ROWSxCOLS``), ``label, confidence`` (and ``class_margin``, ``probabilities``)
with ``--classifier``, ``dice, iou`` against a project's stored masks when the masks are
computed, and the run's parameters (``mask_source``, ``params`` JSON, ``config_sha256``,
``segmenter_sha256``, ``classifier_sha256``). See :mod:`nanomorph.batch` for the engine.

Masks: ``--mask-method`` (classical auto-mask, default otsu), ``--segmenter MODEL``, or
``--masks DIR`` (existing masks matched by stem: ``a.tif`` takes ``a.png`` or ``a_mask.png``,
wire values chosen with ``--foreground`` as in ``nanomorph percolate``). A project folder as
input analyses its images with its stored masks unless a mask option is given.

Movies: each frame of a movie file is a row with ``frame`` and ``time_s``; with
``--numbered-frames`` each input folder is a movie of numbered frame files (``frame_0001.tif``
…; see :mod:`nanomorph.io.sequence`), its rows taking the frame index and, with
``--frame-interval S``, the time (without it, the times the files' acquisition stamps give when
every frame has one, each after the one before).

Runs on an embedded Dask LocalCluster (one worker process per core, ``--workers N`` caps it;
``--workers 0`` runs without Dask), or on the cluster of ``--scheduler ADDRESS``. Re-running
the same command continues an interrupted run. Exit codes: 0 all images analysed, 2 some image
failed (``error: <path>: <reason>`` per image on stderr, in input order) or the run stopped
(a scheduler that does not answer, a full disk: one line), 1 a bad command line. A cut
movie is analysed frame by frame as far as its frames are whole, with one
``warning: <path>: <what was cut>`` line on stderr.
"""

from __future__ import annotations

import contextlib
import sys
import warnings

from nanomorph import defaults
from nanomorph.cli.arguments import (
    add_frames_options,
    frames_error,
    non_negative_float,
    non_negative_int,
    positive_int,
)
from nanomorph.cli.output import report_error
from nanomorph.device import DEVICE_CHOICES
from nanomorph.errors import (
    InvalidParameterError,
    NanomorphError,
    PartialReadWarning,
    display_path,
)
from nanomorph.masks.params import METHODS


def add_parser(sub) -> None:
    """Add the ``nanomorph batch`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("batch", help="analyse many images on Dask (percolation, classes); "
                                     "resumable",
                       description="Mask, percolate and (with --classifier) classify every "
                                   "image; write DIR/results.csv and DIR/results.parquet. "
                                   "Running the same command again continues an interrupted "
                                   "run.")
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR",
                   help="image files, folders of images (not their subfolders) or one project")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder")
    add_frames_options(p, "each input folder is a movie of numbered frames (frame_0001.tif …): "
                          "one row per frame file, with frame and time_s")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--mask-method", choices=METHODS, default=None,
                        help="classical auto-mask method (default otsu; a project's stored "
                             "masks when the input is a project)")
    source.add_argument("--segmenter", metavar="MODEL", help="segment with this model file")
    source.add_argument("--masks", metavar="DIR",
                        help="analyse existing masks: DIR/<image stem>.* or <stem>_mask.*")
    p.add_argument("--foreground", default=None, metavar="V",
                   help="with --masks: which mask values are wire (nonzero, or values like 127 "
                        "or 127,255; default: nonzero for a two-valued mask)")
    p.add_argument("--polarity", choices=("auto", "dark", "bright"), default="auto",
                   help="auto-mask: dark or bright wires (default: guessed per image)")
    p.add_argument("--classifier", metavar="MODEL", help="classify with this model file")
    p.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                   help="torch device of the segmenter and the encoder (default auto)")
    perc = p.add_argument_group("percolation (as nanomorph percolate)")
    perc.add_argument("--percolation-eps", type=non_negative_float,
                      default=defaults.PERCOLATION_EPS, metavar="EPS",
                      help="DBSCAN radius (default 2, in --units)")
    perc.add_argument("--percolation-min-samples", type=positive_int,
                      default=defaults.PERCOLATION_MIN_SAMPLES, metavar="N",
                      help="DBSCAN min_samples, the pixel itself included (default 2)")
    perc.add_argument("--percolation-margin", type=non_negative_float,
                      default=defaults.PERCOLATION_MARGIN,
                      metavar="M", help="spanning margin (default 2, in --units)")
    perc.add_argument("--percolation-method", choices=("exact", "dbscan"),
                      default=defaults.PERCOLATION_METHOD,
                      help="exact (fast, identical partition) or dbscan (scikit-learn)")
    perc.add_argument("--resize", type=positive_int, default=None, metavar="N",
                      help="analyse at N x N like the paper (224)")
    perc.add_argument("--units", choices=("px", "nm", "um"), default=defaults.PERCOLATION_UNITS,
                      help="units of eps and margin (nm/um need calibrated images)")
    p.add_argument("--skeleton", action="store_true",
                   help="also skeleton metrics (length, junctions, segments)")
    p.add_argument("--morphometry", action="store_true",
                   help="also trace every wire: diameter, length, orientation, order parameter "
                        "and n·L² columns (as nanomorph measure)")
    p.add_argument("--write-masks", action="store_true", help="write DIR/masks/<name>.png")
    p.add_argument("--write-overlays", action="store_true",
                   help="write DIR/overlays/<name>.png (clusters coloured)")
    dask = p.add_argument_group("where it runs")
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local "
                           "cluster)")
    dask.add_argument("--workers", type=non_negative_int, default=None, metavar="N",
                      help="local worker processes (default: one per core, at most that); 0 "
                           "runs without Dask")
    dask.add_argument("--images-per-task", type=positive_int, default=None, metavar="N",
                      help="images per Dask task (default: 16, fewer for small batches)")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph batch`` (analyse many images on Dask, resumable).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code: 0 when every input worked, 2 when one failed (each printed as
        ``error: <path>: <reason>``), 1 for a bad command line.
    """
    from nanomorph.batch.runner import run_batch
    from nanomorph.cli.progress import run_with_progress

    try:
        if frames_error(args):
            raise InvalidParameterError(frames_error(args))
        config = build_config(args)
    except InvalidParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        with _client(args) as client, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PartialReadWarning)
            if client is not None:
                print(f"Dask dashboard: {_dashboard(client)}", file=sys.stderr, flush=True)
            summary = run_with_progress(
                run_batch(args.inputs, args.out, config, client=client,
                          images_per_task=args.images_per_task,
                          frames_folders=args.numbered_frames,
                          frame_interval_s=args.frame_interval), "batch")
    except NanomorphError as exc:
        report_error(exc.path or args.out, exc)
        return 2
    for warning in caught:  # a cut movie: its whole frames were analysed
        if isinstance(warning.message, PartialReadWarning):
            report_error(warning.message.path, warning.message.reason, level="warning")
    failed = [row for row in summary.rows if row["status"] != "ok"]
    for row in failed:
        report_error(row["path"], row["error"])
    print(describe(summary), flush=True)
    return 2 if failed else 0


def build_config(args):
    """The batch configuration of the command line.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    BatchConfig
        What each image goes through.

    Raises
    ------
    InvalidParameterError
        For options that do not go together.
    """
    from nanomorph.batch.config import BatchConfig
    from nanomorph.batch.inputs import single_project
    from nanomorph.io.mask_files import parse_foreground
    from nanomorph.masks import params_for
    from nanomorph.percolation.clustering import check_parameters
    from nanomorph.workflows.percolation import PercolationSettings

    if args.foreground is not None and not args.masks:
        raise InvalidParameterError("--foreground goes with --masks")
    if args.scheduler and args.workers is not None:
        raise InvalidParameterError("--workers sizes the local cluster; with --scheduler the "
                                    "cluster's own workers run the batch")
    check_parameters(args.percolation_eps, args.percolation_min_samples,
                     args.percolation_method)
    if args.masks:
        source = "masks"
        parse_foreground(args.foreground or "auto")
    elif args.segmenter:
        source = "segmenter"
    elif args.mask_method is None and single_project(args.inputs):
        source = "project"
    else:
        source = "auto"
    percolation = PercolationSettings(
        args.percolation_eps, args.percolation_min_samples, args.percolation_margin,
        "µm" if args.units == "um" else args.units, args.percolation_method, args.resize)
    return BatchConfig(mask_source=source, mask_params=params_for(args.mask_method or "otsu"),
                       polarity=args.polarity, masks_dir=args.masks,
                       foreground=args.foreground or "auto", segmenter=args.segmenter,
                       classifier=args.classifier, percolation=percolation,
                       skeleton=args.skeleton, morphometry=args.morphometry,
                       write_masks=args.write_masks,
                       write_overlays=args.write_overlays, device=args.device)


def describe(summary) -> str:
    """One line about a finished run.

    Parameters
    ----------
    summary : BatchSummary
        The run's summary.

    Returns
    -------
    str
        Counts, time and the tables written.
    """
    counts = summary.counts
    ok = counts["ok"]
    earlier = f", {summary.reused} from an earlier run" if summary.reused else ""
    failed = f", {counts['error']} failed" if counts["error"] else ""
    unmasked = f", {counts['no mask']} without a mask" if counts["no mask"] else ""
    return (f"{counts['images']} images: {counts['percolates']} percolate, "
            f"{ok - counts['percolates']} do not{unmasked}{failed}{earlier} ({summary.seconds:.1f} s); "
            f"{display_path(summary.tables[0])}, {display_path(summary.tables[1])}")


def _client(args):
    """The Dask client to run on (a context manager), or a null context for ``--workers 0``."""
    from nanomorph.batch.cluster import batch_client

    if args.workers == 0 and not args.scheduler:
        return contextlib.nullcontext(None)
    return batch_client(args.scheduler, args.workers)


def _dashboard(client) -> str:
    """The dashboard link; a local cluster serves it only when bokeh is installed."""
    import importlib.util

    if client.cluster is not None and importlib.util.find_spec("bokeh") is None:
        return f"{client.dashboard_link} (install bokeh to see it)"
    return client.dashboard_link
