"""``nanomorph scalebar IMAGE... [--json] [--apply PROJECT] [--min-confidence C] [--force]``:
the pixel size read from the scale bar drawn into each image.

``--json`` prints one object per image with exactly the keys ``path, text, value, unit,
bar_px, pixel_size, pixel_unit, bbox, confidence``; an image without a readable bar is an
``error: <path>: no scale bar found`` line (exit 2; the others go on). ``--apply PROJECT``
stores each reading at or above ``--min-confidence`` as the calibration of the project's image
of that file (matched by path, else by content); a reading more than 5 % from the pixel size
the file itself records is reported and not applied unless ``--force``.
"""

from __future__ import annotations

import os

from nanomorph.cli.output import print_json, report_error
from nanomorph.errors import NanomorphError, display_path

CONTRACT_KEYS = ("path", "text", "value", "unit", "bar_px", "pixel_size", "pixel_unit", "bbox",
                 "confidence")


def add_parser(sub) -> None:
    """Add the ``nanomorph scalebar`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("scalebar", help="read the pixel size from the scale bar in images",
                       description="Find the scale bar drawn into each image, read its label "
                                   "(offline OCR) and give the pixel size it states.")
    p.add_argument("files", nargs="+", metavar="IMAGE", help="image files")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per image (JSON Lines)")
    p.add_argument("--apply", metavar="PROJECT",
                   help="store the readings as the calibration of the project's images")
    p.add_argument("--min-confidence", type=float, default=0.8, metavar="C",
                   help="apply only readings at least this confident (0-1, default 0.8)")
    p.add_argument("--force", action="store_true",
                   help="apply readings that disagree with the file's own pixel size")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph scalebar``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        0 when every image gave a reading (and every applied one was stored), 2 when one did
        not, 1 for a bad command line.
    """
    from nanomorph.workflows.scalebar import read_image_scale_bar

    project = _open(args.apply) if args.apply else None
    if args.apply and project is None:
        return 2
    failed = False
    try:
        for path in args.files:
            try:
                reading = read_image_scale_bar(path)
            except NanomorphError as exc:
                report_error(path, exc)
                failed = True
                continue
            result = {"path": path, **{k: v for k, v in reading.as_json().items()
                                       if k in CONTRACT_KEYS}}
            if args.json:
                print_json(result)
            else:
                print(f"{display_path(path)}: {reading.text} over {reading.bar_px or 0:.1f} px "
                      f"→ {reading.pixel_size:.4g} {reading.pixel_unit}/px "
                      f"(confidence {reading.confidence:.2f})", flush=True)
            if project is not None and not _apply(project, path, reading, args):
                failed = True
    finally:
        if project is not None:
            project.close()
    return 2 if failed else 0


def _open(folder: str):
    from nanomorph.project import Project

    try:
        return Project.open(folder)
    except NanomorphError as exc:
        report_error(folder, exc)
        return None


def _apply(project, path: str, reading, args) -> bool:
    """Store one reading as its image's calibration; False (reported) when it cannot be."""
    from nanomorph.io.hashing import sha256_file
    from nanomorph.workflows.scalebar import KIND, apply_reading, reading_result

    records = project.images.all()
    record = next((r for r in records if os.path.abspath(r.path) == os.path.abspath(path)),
                  None)
    if record is None:
        digest = sha256_file(path)
        record = next((r for r in records if r.sha256 == digest), None)
    if record is None:
        report_error(path, f"not an image of the project {display_path(project.folder)}")
        return False
    if reading.confidence < args.min_confidence:
        report_error(path, f"confidence {reading.confidence:.2f} below "
                           f"{args.min_confidence:g}: not applied")
        return False
    result = reading_result(record, reading)
    project.results.save(record.id, KIND, {}, result, None)
    try:
        apply_reading(project, record.id, result, force=args.force)
    except NanomorphError as exc:
        report_error(path, exc)
        return False
    return True
