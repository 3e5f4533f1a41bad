"""One analysis over named arrays that belong to no project (e.g. the layers open in napari)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nanomorph.errors import NanomorphError
from nanomorph.jobs import CancelToken, Job, Progress, check_cancel


def analyse_arrays(items: list[tuple[str, np.ndarray, tuple | None]],
                   analyse: Callable, *, cancel: CancelToken | None = None) -> Job[dict]:
    """Run ``analyse(array, pixel_size_nm)`` on each named array (a job).

    Parameters
    ----------
    items : list of (str, ndarray, (float, float) or None)
        Name, array and pixel size (y, x) in nm (None when in pixels).
    analyse : callable
        ``analyse(array, pixel_size_nm) -> result``; may raise NanomorphError.
    cancel : CancelToken, optional
        Checked before each array.

    Yields
    ------
    Progress
        One per array, payload ``(name, result or None, error message or None)``: a failing
        array is reported there and the others go on.

    Returns
    -------
    dict
        Name → result, for the arrays analysed.
    """
    done = {}
    for i, (name, array, pixel_size_nm) in enumerate(items):
        check_cancel(cancel)
        result, error = None, None
        try:
            result = analyse(array, pixel_size_nm)
        except NanomorphError as e:
            error = e.reason
        else:
            done[name] = result
        yield Progress(i + 1, len(items), f"{name}", payload=(name, result, error))
    return done
