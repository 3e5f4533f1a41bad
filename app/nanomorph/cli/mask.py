"""``nanomorph mask IMAGE... --out DIR``: classical auto-masks of micrographs.

Each image gives ``DIR/<image stem>.png``: a lossless 8-bit gray PNG, 255 = wire, 0 =
background (the info bar of SEM images is background). PNG carries no pixel size; the mask has
the image's shape, so the image's calibration applies to it. ``--json`` prints one object per
image, in input order, with the keys ``path, mask, method, polarity, foreground_fraction,
seconds`` (``polarity`` is the one used, also when ``--polarity auto`` chose it; ``seconds`` is
the masking time, excluding reading the image and writing the mask).

Refused inputs (``error: <path>: <reason>``, the others continue, exit code 2): unreadable
files, stacks, an image whose mask would overwrite the image itself, and a second image with the
same stem. An output folder that cannot be created or written stops the command before any
image is read (exit code 2).
"""

from __future__ import annotations

import os
import tempfile
import time

from nanomorph import defaults
from nanomorph.cli.arguments import non_negative_float, non_negative_int
from nanomorph.cli.output import print_json, report_error
from nanomorph.errors import ImageReadError, NanomorphError, display_path
from nanomorph.masks.params import METHODS, RIDGE_FILTERS


def add_parser(sub) -> None:
    """Add the ``nanomorph mask`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("mask", help="auto-mask the wires of micrographs (thresholds, ridges)",
                       description="Mask the wires of each image with a classical method and "
                                   "write DIR/<image stem>.png (255 = wire, 0 = background).")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for the masks (created when missing)")
    p.add_argument("--method", choices=METHODS, default=defaults.MASK_METHOD,
                   help="otsu, li, triangle (global thresholds), local (block threshold) or "
                        "ridge (thin curvilinear wires); default otsu")
    p.add_argument("--polarity", choices=("dark", "bright", "auto"), default="auto",
                   help="dark wires on a bright background (TEM), bright wires (SEM), or auto "
                        "(guessed per image; the default)")
    p.add_argument("--smooth", type=non_negative_float, default=None, metavar="SIGMA_PX",
                   help="Gaussian smoothing sigma in pixels before thresholding (0 = none; "
                        "default: the method's, 1.5 px for otsu and li, 1 px for the others)")
    p.add_argument("--min-size", type=non_negative_int, default=None, metavar="PX",
                   help="remove objects smaller than this many pixels (default 64)")
    p.add_argument("--ridge-filter", choices=RIDGE_FILTERS, default=defaults.RIDGE_FILTER,
                   help="ridge method only: the filter (default sato)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per image (JSON Lines)")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph mask`` (classical auto-masks to PNG files).

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
    out_dir = args.out
    reason = _unwritable_reason(out_dir)
    if reason:
        report_error(out_dir, reason)
        return 2
    params = _params(args)
    failed, claimed = False, {}
    for path in args.images:
        target = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
        try:
            _claim(target, path, claimed)
            record = mask_file(path, target, params, args.polarity)
        except NanomorphError as exc:
            report_error(path, exc)
            failed = True
            continue
        except OSError as exc:
            report_error(path, f"cannot write {display_path(target)} "
                               f"({exc.strerror or exc})")
            failed = True
            continue
        if args.json:
            print_json(record)
        else:
            print(describe(record), flush=True)
    return 2 if failed else 0


def mask_file(path: str, target: str, params, polarity: str) -> dict:
    """Mask one image file, write ``target`` and return the contract record.

    Parameters
    ----------
    path : str
        The image file.
    target : str
        The PNG to write.
    params : MaskParams
        The method's parameters; its polarity is replaced by ``polarity`` unless that is
        ``"auto"``, which guesses it from the image.
    polarity : str
        ``"dark"``, ``"bright"`` or ``"auto"``.

    Returns
    -------
    dict
        ``path, mask, method, polarity, foreground_fraction, seconds``.

    Raises
    ------
    NanomorphError
        For an unreadable image, a stack, or a mask file that would overwrite an input.
    """
    import dataclasses

    from nanomorph.io import read_image
    from nanomorph.io.mask_files import write_mask_png
    from nanomorph.masks import auto_mask, databar_rows_of, suggest_polarity

    image = read_image(path)
    if image.is_stack:
        raise ImageReadError(f"the file holds {image.shape[0]} images: nanomorph mask takes "
                             "single 2-D images", path)
    start = time.perf_counter()
    bar = databar_rows_of(image)
    if polarity == "auto":
        polarity = suggest_polarity(image.data, databar_rows=bar)
    params = dataclasses.replace(params, polarity=polarity)
    mask = auto_mask(image.data, params, databar_rows=bar)
    seconds = time.perf_counter() - start
    write_mask_png(target, mask)
    return {"path": display_path(path), "mask": display_path(target), "method": params.method,
            "polarity": polarity, "foreground_fraction": float(mask.mean()),
            "seconds": round(seconds, 4)}


def describe(record: dict) -> str:
    """One readable line about a mask written.

    Parameters
    ----------
    record : dict
        From :func:`mask_file`.

    Returns
    -------
    str
        E.g. ``a.tif -> out/a.png: otsu, dark wires, 12.3 % wire, 0.21 s``.
    """
    return (f"{record['path']} -> {record['mask']}: {record['method']}, {record['polarity']} "
            f"wires, {100 * record['foreground_fraction']:.1f} % wire, "
            f"{record['seconds']:.2f} s")


def _params(args):
    from nanomorph.masks import params_for

    changes = {"ridge_filter": args.ridge_filter}
    if args.smooth is not None:
        changes["smooth_sigma_px"] = args.smooth
    if args.min_size is not None:
        changes["min_size_px"] = args.min_size
    return params_for(args.method, **changes)


def _claim(target: str, path: str, claimed: dict) -> None:
    """Refuse a second image with the same output name, and a mask that would replace its image."""
    key = os.path.normcase(os.path.abspath(target))
    if key in claimed:
        raise NanomorphError(f"its mask would be {display_path(target)}, which is already the "
                             f"mask of {display_path(claimed[key])}: rename one of them", path)
    if os.path.exists(path) and os.path.exists(target) and os.path.samefile(path, target):
        raise NanomorphError(f"its mask {display_path(target)} would overwrite the image "
                             "itself: choose another --out folder", path)
    claimed[key] = path


def _unwritable_reason(folder: str) -> str | None:
    """Why masks cannot be written into ``folder`` (created when missing), or None."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except FileExistsError:
        return "the output folder is a file"
    except OSError as exc:
        return f"the output folder cannot be written ({exc.strerror or exc})"
    return None
