"""Argument types shared by the commands: numbers with a range, checked by argparse (a bad value
is a bad command line: exit 1 with argparse's message)."""

from __future__ import annotations

import argparse


def _checked(convert, minimum, text: str):
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not value >= minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, not {text}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    int
        The number.

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else.
    """
    return _checked(int, 1, text)


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number >= 0.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    int
        The number.

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else.
    """
    return _checked(int, 0, text)


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    float
        The number.

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else.
    """
    return _checked(float, 0.0, text)


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0.

    Parameters
    ----------
    text : str
        The option's value.

    Returns
    -------
    float
        The number.

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else.
    """
    value = _checked(float, 0.0, text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, not {text}")
    return value


def add_frames_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--numbered-frames`` and ``--frame-interval S`` (check them with :func:`frames_error`).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    what : str
        What ``--numbered-frames`` makes of the command's folder(s): its help.
    """
    parser.add_argument("--numbered-frames", action="store_true", help=what)
    parser.add_argument("--frame-interval", type=positive_float, default=None, metavar="S",
                        help="seconds between those frames (their time_s; default: from the "
                        "files' acquisition stamps when every frame has one, else unknown)")


def frames_error(args: argparse.Namespace) -> str | None:
    """Why ``--numbered-frames``/``--frame-interval`` do not go together, or None.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line (:func:`add_frames_options`).

    Returns
    -------
    str or None
        One line for ``error: …`` (a bad command line).
    """
    if args.frame_interval is not None and not args.numbered_frames:
        return ("--frame-interval gives the times of --numbered-frames folders (a movie "
                "file's own interval is read from it)")
    return None
