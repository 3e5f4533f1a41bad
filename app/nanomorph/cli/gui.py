"""``nanomorph [gui] [PATH]``: open the desktop app (napari with the nanomorph docks)."""

from __future__ import annotations

import os
import sys

from nanomorph.cli.arguments import add_frames_options, frames_error
from nanomorph.cli.output import report_error


def add_parser(sub) -> None:
    """Add the ``nanomorph gui`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("gui", help="open the desktop app (the default command)",
                       description="Open the nanomorph desktop app. PATH may be an image, a "
                                   "folder of images or a project folder.")
    p.add_argument("path", nargs="?", help="image, folder of images, or project")
    p.add_argument("--sample", action="store_true",
                   help="open the bundled sample project (created on first use)")
    add_frames_options(p, "PATH is a folder of numbered frames (frame_0001.tif …): add it as "
                          "one movie")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph gui`` (open the desktop app).

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
    if args.path is not None and not os.path.exists(args.path):
        report_error(args.path, "no such file or folder")
        return 2
    if frames_error(args):
        print(f"error: {frames_error(args)}", file=sys.stderr)
        return 1
    if args.numbered_frames and not (args.path and os.path.isdir(args.path)):
        print("error: --numbered-frames needs PATH, a folder of numbered frames",
              file=sys.stderr)
        return 1
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        print("error: no display available: the desktop app needs one "
              "(try `nanomorph demo` for a headless run)", file=sys.stderr)
        return 1
    from napari_nanomorph.launcher import main

    frames = ({"interval_s": args.frame_interval} if args.numbered_frames else None)
    return main(args.path, sample=args.sample, numbered_frames=frames)
