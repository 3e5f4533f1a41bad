"""``nanomorph info FILE... [--json]``: format, shape, dtype and pixel size of image files.

``--json`` prints one object per file, in input order, with exactly the keys
``path, format, shape, dtype, pixel_size, unit, frames, frame_interval_s`` (``pixel_size`` is
``[y, x]`` in ``unit``; both are null when the image is uncalibrated; ``frames`` is 1 for a
still image, ``frame_interval_s`` null when the file does not record it). Shape and dtype are those of the gray image
nanomorph works on (colour converted, see ``nanomorph.io.readers``).

A folder is read as a movie of numbered frames (``frame_0001.tif`` …, see
:mod:`nanomorph.io.sequence`): its first frame's format, dtype and pixel size, ``shape``
``[frames, y, x]`` and ``frame_interval_s`` null (a folder of files records none).
"""

from __future__ import annotations

import os

from nanomorph.cli.output import print_json, report_error
from nanomorph.errors import NanomorphError, display_path


def add_parser(sub) -> None:
    """Add the ``nanomorph info`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("info", help="show format, size, dtype and pixel size of image files",
                       description="Show what nanomorph reads in image files: format, shape "
                                   "(y, x or n, y, x), dtype and pixel size.")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="image files, or folders of numbered frames")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per file (JSON Lines)")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph info`` (format, shape and calibration of files).

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
    import rsciio

    from nanomorph.io.readers import read_info
    from nanomorph.io.sequence import frames_info, numbered_frames

    rsciio.set_log_level("ERROR")  # its warnings would mix with our `error:` lines on stderr
    failed = False
    for path in args.files:
        try:
            info = (frames_info(numbered_frames(path)) if os.path.isdir(path)
                    else read_info(path))
        except NanomorphError as exc:
            report_error(path, exc)
            failed = True
            continue
        if info.metadata.get("truncated"):  # a cut movie: its whole frames, and this line
            report_error(path, info.metadata["truncated"], level="warning")
        if args.json:
            print_json(record(info))
        else:
            print(describe(info), flush=True)
    return 2 if failed else 0


def record(info) -> dict:
    """The JSON object of one file.

    Parameters
    ----------
    info : ImageInfo
        From :func:`nanomorph.io.readers.read_info`.

    Returns
    -------
    dict
        The CLI contract's keys, nothing else.
    """
    calibration = info.calibration
    return {
        "path": display_path(info.path),
        "format": info.format,
        "shape": list(info.shape),
        "dtype": info.dtype,
        "pixel_size": list(calibration.pixel_size) if calibration.calibrated else None,
        "unit": calibration.unit,
        "frames": info.frames,
        "frame_interval_s": info.frame_interval_s,
    }


def describe(info) -> str:
    """One readable line about a file.

    Parameters
    ----------
    info : ImageInfo
        From :func:`nanomorph.io.readers.read_info`.

    Returns
    -------
    str
        E.g. ``a.tif: TIFF (FEI), 471 × 512, uint16, 3.372 µm/px, databar 29 rows,
        acquired 2016-06-13 17:06:40``.
    """
    parts = [info.format, " × ".join(map(str, info.shape)), info.dtype,
             info.calibration.describe()]
    if info.metadata.get("pattern"):
        parts.append(f"named {info.metadata['pattern']}")
    if info.frames > 1:
        every = (f", one every {info.frame_interval_s:g} s" if info.frame_interval_s else "")
        parts.append(f"{info.frames} frames{every}")
    if info.metadata.get("databar_rows"):
        parts.append(f"databar {info.metadata['databar_rows']} rows")
    if info.metadata.get("acquired"):
        parts.append(f"acquired {info.metadata['acquired'].replace('T', ' ')}")
    return f"{display_path(info.path)}: {', '.join(parts)}"
