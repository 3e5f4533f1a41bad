"""Whether an image's morphology class and its percolation agree.

Each class expects a connectivity: a *network* percolates, *dispersed* wires and a *singular*
wire do not, a *bundle* may or may not. An image with a class (its label, else its predicted
class) and a percolation verdict is ``ok`` when they agree, ``disagrees`` when they do not
(mislabelled, mis-masked, or interesting), and ``unknown`` when either is missing or the class
expects either.
"""

from __future__ import annotations

# class name -> does it percolate (None: either)
DEFAULT_CONNECTIVITY = {"network": True, "dispersed": False, "singular": False, "bundle": None}
FLAGS = ("ok", "disagrees", "unknown")


def expected_connectivity(classes: list[str], stored: dict | None = None) -> dict:
    """The connectivity each class expects.

    Parameters
    ----------
    classes : list of str
        The project's classes.
    stored : dict, optional
        Class → True / False / None as the user set it; classes it does not name take
        :data:`DEFAULT_CONNECTIVITY` (None for classes that has not either).

    Returns
    -------
    dict
        Class → True (percolates), False (does not) or None (either).
    """
    stored = stored or {}
    return {name: stored[name] if name in stored else DEFAULT_CONNECTIVITY.get(name)
            for name in classes}


def consistency(class_name: str | None, percolates: bool | None, expected: dict) -> str:
    """The consistency flag of one image.

    Parameters
    ----------
    class_name : str or None
        Its class (label or prediction).
    percolates : bool or None
        Its percolation verdict.
    expected : dict
        From :func:`expected_connectivity`.

    Returns
    -------
    str
        ``ok``, ``disagrees`` or ``unknown``.
    """
    wanted = expected.get(class_name) if class_name is not None else None
    if wanted is None or percolates is None:
        return "unknown"
    return "ok" if bool(percolates) == wanted else "disagrees"
