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
