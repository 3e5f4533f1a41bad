"""``nanomorph segment train|predict|evaluate``: few-shot nanowire segmentation (DESIGN.md).

- ``train PAIRS.csv --out MODEL``: train a segmenter on the image / mask pairs of PAIRS.csv
  (columns ``image,mask``; relative paths relative to the CSV) and write one model file.
  ``--foreground V`` says which mask values are nanowire (everything else background); without
  it two-valued masks give nanowire = non-zero and multi-valued masks one class per value
  (:mod:`nanomorph.segment.classes`). Ctrl-C stops training at the next batch and saves the best
  model so far (exit code 130).
- ``predict MODEL IMAGE... --out DIR``: for each image ``DIR/<stem>.png``, the label mask (0/255
  for a two-class model, else the training masks' values), and ``DIR/<stem>_prob.tif``, the
  nanowire probability × 255 (uint8 TIFF, zlib-compressed). One line per image on stdout.
- ``evaluate MODEL PAIRS.csv [--foreground V] --json``: ONE object with the keys ``n_images,
  dice_mean, iou_mean, per_image`` ([{image, dice, iou}] in file order), for the nanowire class
  (the ``--foreground`` values of the masks, default every non-zero value); a ``group`` column
  in PAIRS.csv (acquisition run, video, sample) adds ``per_group`` ([{group, n_images,
  dice_mean, iou_mean}] in the order groups first appear).

Inputs that fail print ``error: <path>: <reason>``, the others go on, and the exit code is 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from nanomorph import defaults
from nanomorph.cli.arguments import non_negative_float, non_negative_int, positive_int
from nanomorph.cli.classify import _encoder
from nanomorph.cli.output import print_json, report_error
from nanomorph.device import DEVICE_CHOICES
from nanomorph.errors import ImageReadError, NanomorphError, display_path

PROBABILITY_SUFFIX = "_prob.tif"
INTERRUPTED = 130


def add_parser(sub) -> None:
    """Add the ``nanomorph segment`` commands (train, predict, evaluate) to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("segment", help="few-shot nanowire segmentation: train, predict, "
                                       "evaluate",
                       description="Segment nanowires with a UNet decoder on a frozen image "
                                   "encoder, trained from a few masks.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser("train", help="train a segmenter on PAIRS.csv",
                               description="Train on the image/mask pairs of PAIRS.csv (columns "
                                           "image,mask) and write one model file.")
    train.add_argument("pairs", metavar="PAIRS.csv")
    train.add_argument("--out", required=True, metavar="MODEL", help="model file to write")
    train.add_argument("--foreground", type=_foreground, default="auto",
                       help="which mask values are nanowire: nonzero, or values like 127 or "
                            "127,255 (default: non-zero for 0/V masks, else one class per "
                            "value)")
    train.add_argument("--epochs", type=positive_int, default=defaults.SEGMENT_EPOCHS, metavar="N",
                       help="most epochs (default 40; early stopping may end sooner)")
    train.add_argument("--seed", type=non_negative_int, default=defaults.SEED, metavar="S",
                       help="random seed (default 0): the same seed gives the same model")
    train.add_argument("--patch", type=_patch, default=defaults.SEGMENT_PATCH_PX, metavar="PX",
                       help="training patch side in pixels (default 256)")
    train.add_argument("--batch-size", type=positive_int,
                       default=defaults.SEGMENT_BATCH, metavar="B",
                       help="patches per batch (default 8)")
    held = train.add_mutually_exclusive_group()
    held.add_argument("--val-fraction", type=_fraction,
                      default=defaults.SEGMENT_VAL_FRACTION, metavar="F",
                      help="band of each image held out for validation (default 0.2; 0: none)")
    held.add_argument("--val-pairs", type=positive_int, default=None, metavar="N",
                      help="hold out the last N pairs of PAIRS.csv whole instead")
    train.add_argument("--encoder", default=defaults.ENCODER, type=_encoder, metavar="NAME",
                       help="image encoder: a registry name or a saved encoder "
                            "(default efficientnet-lite0)")
    train.add_argument("--unfreeze", type=non_negative_int,
                       default=defaults.SEGMENT_UNFREEZE_STAGES, metavar="K",
                       help="also train the encoder's last K stages (default 0: frozen)")
    train.add_argument("--threads", type=positive_int, default=None, metavar="N",
                       help="CPU threads for torch (default: torch's choice)")
    train.add_argument("--time-limit-s", type=_positive_float, default=None, metavar="S",
                       help="stop after the epoch that passes this many seconds")
    _scale_option(train, "train on the pairs resampled to their median pixel size, kept in "
                         "the model,")
    _device_option(train)
    train.set_defaults(run=run_train)

    predict = actions.add_parser("predict", help="segment images with a trained segmenter",
                                 description="Write DIR/<stem>.png (labels) and "
                                             "DIR/<stem>_prob.tif (nanowire probability × 255).")
    predict.add_argument("model", metavar="MODEL", help="a file written by segment train")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--out", required=True, metavar="DIR",
                         help="folder for the masks (created when missing)")
    predict.add_argument("--batch-size", type=positive_int,
                         default=defaults.SEGMENT_PREDICT_BATCH, metavar="B",
                         help="tiles per forward pass (default 4)")
    predict.add_argument("--tta", action="store_true",
                         help="average each tile's 8 flips and quarter turns (8 × the time)")
    _scale_option(predict, "segment each image resampled to the model's pixel size")
    _device_option(predict)
    predict.set_defaults(run=run_predict)

    evaluate = actions.add_parser("evaluate", help="Dice and IoU against the masks of "
                                                   "PAIRS.csv",
                                  description="Segment the images of PAIRS.csv and compare the "
                                              "nanowire class with their masks.")
    evaluate.add_argument("model", metavar="MODEL")
    evaluate.add_argument("pairs", metavar="PAIRS.csv")
    evaluate.add_argument("--foreground", type=_foreground, default="nonzero",
                          help="which mask values are nanowire: nonzero (default) or values "
                               "like 127")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--batch-size", type=positive_int,
                          default=defaults.SEGMENT_PREDICT_BATCH, metavar="B",
                          help="tiles per forward pass (default 4)")
    evaluate.add_argument("--tta", action="store_true",
                          help="average each tile's 8 flips and quarter turns (8 × the time)")
    _scale_option(evaluate, "segment each image resampled to the model's pixel size")
    _device_option(evaluate)
    evaluate.set_defaults(run=run_evaluate)


def _scale_option(parser, what: str) -> None:
    parser.add_argument("--scale", choices=("auto", "native"), default="auto",
                        help=f"auto (default): {what} at one pixel size in nm when calibrated "
                             "(the file's pixel size, else its scale bar read from the "
                             "pixels); native: every image at its own pixels")


def _device_option(parser) -> None:
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                        help="where the network runs (default: $NANOMORPH_DEVICE or auto)")


# -- train ---------------------------------------------------------------------------------------
def run_train(args) -> int:
    """Run ``nanomorph segment train`` (train a segmenter on PAIRS.csv).

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
    from nanomorph.cli.progress import run_with_progress
    from nanomorph.jobs import CancelToken
    from nanomorph.segment.modelfile import save_segmenter
    from nanomorph.segment.pairs import prepare_pairs, read_pairs_csv
    from nanomorph.segment.train import TrainConfig, train_segmenter

    try:
        listed = read_pairs_csv(args.pairs)
        read, names, failed = _read_pairs(listed, pixel_size=args.scale == "auto")
        if not read:
            raise NanomorphError("none of the listed pairs could be read", args.pairs)
        pairs, classes = prepare_pairs(
            [r.image for r in read], [r.mask for r in read], foreground=args.foreground,
            names=names, databar_rows=[r.databar_rows for r in read],
            pixel_sizes=[r.pixel_size_nm for r in read])
        held = args.val_pairs
        if held is not None and held >= len(pairs):
            raise NanomorphError(f"--val-pairs {held} leaves no pair for training (of "
                                 f"{len(pairs)})", args.pairs)
        config = TrainConfig(
            encoder=args.encoder, unfreeze_stages=args.unfreeze, patch_px=args.patch,
            batch_size=args.batch_size, epochs=args.epochs, seed=args.seed,
            threads=args.threads, device=args.device, time_limit_s=args.time_limit_s,
            val_fraction=args.val_fraction, physical_scale=args.scale == "auto",
            val_pairs=tuple(range(len(pairs) - held, len(pairs))) if held else ())
        token = CancelToken()
        with _ctrl_c_cancels(token):
            segmenter = run_with_progress(train_segmenter(pairs, classes, config, cancel=token),
                                          "training")
        save_segmenter(segmenter, args.out)
    except NanomorphError as exc:
        report_error(exc.path or args.pairs, exc)
        return 2
    except OSError as exc:
        report_error(args.out, f"cannot write the model ({exc.strerror or exc})")
        return 2
    print(describe_training(segmenter, len(pairs), args.out), flush=True)
    if segmenter.stop_reason == "cancelled":
        return INTERRUPTED
    return 2 if failed else 0


def _read_pairs(listed, pixel_size: bool):
    """The pairs that read (PairData), their mask paths, and whether one failed (reported)."""
    from nanomorph.segment.pairs import read_pair

    read, names, failed = [], [], False
    for image_path, mask_path in listed:
        try:
            read.append(read_pair(image_path, mask_path, pixel_size=pixel_size))
        except NanomorphError as exc:
            report_error(exc.path or image_path, exc)
            failed = True
            continue
        names.append(mask_path)
    return read, names, failed


class _ctrl_c_cancels:
    """While active, Ctrl-C sets the cancel token (training stops at the next batch and keeps
    its best model); a second Ctrl-C interrupts at once."""

    def __init__(self, token):
        self.token = token
        self.previous = None

    def __enter__(self):
        def cancel(signum, frame):
            self.token.cancel()
            print("\nstopping after this batch (Ctrl-C again to abort)", file=sys.stderr,
                  flush=True)
            signal.signal(signal.SIGINT, self.previous)

        self.previous = signal.signal(signal.SIGINT, cancel)
        return self

    def __exit__(self, *exc_info):
        signal.signal(signal.SIGINT, self.previous)
        return False


def describe_training(segmenter, n_pairs: int, path) -> str:
    """One summary line about a trained segmenter.

    Parameters
    ----------
    segmenter : Segmenter
        The model.
    n_pairs : int
        Pairs it learnt from.
    path : str or os.PathLike
        Its file.

    Returns
    -------
    str
        Classes, device, best epoch and its validation Dice, why it stopped.
    """
    history = segmenter.history
    best = next((h for h in history if h["epoch"] == segmenter.best_epoch), None)
    dice = "" if best is None or best["val_dice"] is None else \
        f", validation Dice {best['val_dice']:.3f}"
    classes = ", ".join(segmenter.classes.names[1:])
    return (f"trained on {n_pairs} pair{'s' * (n_pairs != 1)} ({classes}) on {segmenter.device}:"
            f" best epoch {segmenter.best_epoch} of {len(history)}{dice} "
            f"({segmenter.stop_reason}, {history[-1]['seconds']:.0f} s): {display_path(path)}")


# -- predict -------------------------------------------------------------------------------------
def run_predict(args) -> int:
    """Run ``nanomorph segment predict`` (label PNGs and probability TIFFs).

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
    from nanomorph.cli.mask import _claim, _unwritable_reason
    from nanomorph.cli.progress import run_with_progress
    from nanomorph.segment.modelfile import load_segmenter

    reason = _unwritable_reason(args.out)
    if reason:
        report_error(args.out, reason)
        return 2
    try:
        segmenter = load_segmenter(args.model, args.device)
    except NanomorphError as exc:
        report_error(exc.path or args.model, exc)
        return 2
    failed, claimed = False, {}
    for path in args.images:
        stem = os.path.splitext(os.path.basename(path))[0]
        target = os.path.join(args.out, stem + ".png")
        try:
            _claim(target, path, claimed)
            record = run_with_progress(
                predict_file(segmenter, path, target,
                             os.path.join(args.out, stem + PROBABILITY_SUFFIX), args.batch_size,
                             tta=args.tta, scale=args.scale == "auto"),
                os.path.basename(path))
        except NanomorphError as exc:
            report_error(exc.path or path, exc)
            failed = True
            continue
        except OSError as exc:
            report_error(path, f"cannot write the results ({exc.strerror or exc})")
            failed = True
            continue
        print(f"{display_path(path)} -> {display_path(target)}: "
              f"{100 * record['nanowire_fraction']:.1f} % nanowire", flush=True)
    return 2 if failed else 0


def predict_file(segmenter, path, mask_path, probability_path, batch_size: int,
                 tta: bool = False, scale: bool = True):
    """Segment one image file and write its label PNG and probability TIFF (a job).

    Parameters
    ----------
    segmenter : Segmenter
        The model.
    path : str
        The image file.
    mask_path, probability_path : str
        The files to write.
    batch_size : int
        Tiles per forward pass.
    tta : bool
        Average each tile's 8 flips and quarter turns.
    scale : bool
        Resample the image to the segmenter's working pixel size when both are known (the
        image's from its file, else its scale bar).

    Yields
    ------
    Progress
        Per strip of tiles.

    Returns
    -------
    dict
        ``{"nanowire_fraction": float}``.

    Raises
    ------
    ImageReadError
        For an unreadable image or a stack.
    """
    from nanomorph.io import read_image
    from nanomorph.io.atomic import atomic_write_bytes
    from nanomorph.io.mask_files import write_mask_png
    from nanomorph.masks import databar_rows_of
    from nanomorph.scalebar import image_pixel_size_nm
    from nanomorph.segment.infer import predict_job

    image = read_image(path)
    if image.is_stack:
        raise ImageReadError(f"the file holds {image.shape[0]} images: segment predict takes "
                             "single 2-D images", path)
    bar = databar_rows_of(image) if segmenter.crop_databar else 0
    pixel_size = image_pixel_size_nm(image) if scale and segmenter.pixel_size_nm else None
    prediction = yield from predict_job(segmenter, image.data, batch_size=batch_size,
                                        databar_rows=bar, tta=tta, pixel_size_nm=pixel_size)
    classes = segmenter.classes
    write_mask_png(mask_path, classes.mask_values(prediction.labels))
    probability = prediction.probabilities[classes.nanowire - 1]
    atomic_write_bytes(probability_path, _tiff_bytes(probability))
    return {"nanowire_fraction": float((prediction.labels == classes.nanowire).mean())}


def _tiff_bytes(data) -> bytes:
    """A zlib-compressed TIFF of ``data`` in memory."""
    import io

    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, compression="zlib")
    return buffer.getvalue()


# -- evaluate ------------------------------------------------------------------------------------
def run_evaluate(args) -> int:
    """Run ``nanomorph segment evaluate`` (Dice and IoU against masks).

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
    from nanomorph.cli.progress import run_with_progress
    from nanomorph.segment.evaluate import evaluate_segmenter, per_group_scores
    from nanomorph.segment.modelfile import load_segmenter
    from nanomorph.segment.pairs import read_pairs_csv

    try:
        segmenter = load_segmenter(args.model, args.device)
        pairs, groups = read_pairs_csv(args.pairs, with_groups=True)
        result = run_with_progress(
            evaluate_segmenter(segmenter, pairs, args.foreground, batch_size=args.batch_size,
                               tta=args.tta, scale=args.scale == "auto"),
            "evaluating")
    except NanomorphError as exc:
        report_error(exc.path or args.pairs, exc)
        return 2
    for path, reason in result["failed"]:
        report_error(path, reason)
    per_image = [{"image": display_path(r["image"]), "dice": r["dice"], "iou": r["iou"]}
                 for r in result["per_image"]]
    per_group = None if groups is None else per_group_scores(
        result["per_image"], {image: group for (image, _), group in zip(pairs, groups)})
    if args.json:
        print_json({"n_images": result["n_images"], "dice_mean": result["dice_mean"],
                    "iou_mean": result["iou_mean"], "per_image": per_image,
                    **({"per_group": per_group} if per_group is not None else {})})
    else:
        for record in per_image:
            print(f"{record['image']}: Dice {record['dice']:.3f}, IoU {record['iou']:.3f}")
        for record in per_group or []:
            print(f"group {record['group']} ({record['n_images']} images): Dice "
                  f"{record['dice_mean']:.3f}, IoU {record['iou_mean']:.3f}")
        if per_image:
            print(f"mean of {result['n_images']} images: Dice {result['dice_mean']:.3f}, "
                  f"IoU {result['iou_mean']:.3f}", flush=True)
    return 2 if result["failed"] else 0


# -- argument types ------------------------------------------------------------------------------
def _foreground(text: str):
    from nanomorph.io.mask_files import parse_foreground

    try:
        return parse_foreground(text)
    except NanomorphError as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None


def _patch(text: str) -> int:
    value = positive_int(text)
    if value < 32:
        raise argparse.ArgumentTypeError(f"a patch needs at least 32 px, not {text}")
    return value


def _fraction(text: str) -> float:
    value = non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be below 1, not {text}")
    return value


def _positive_float(text: str) -> float:
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value
