"""Memory estimates before large allocations: refuse with the estimate instead of failing with
a MemoryError (or taking the machine down) halfway through."""

from __future__ import annotations

from nanomorph.errors import NanomorphError


def require_memory(nbytes: float, what: str) -> None:
    """Refuse work whose working memory would not fit in this machine's available memory.

    Parameters
    ----------
    nbytes : float
        The estimated bytes the work needs at once.
    what : str
        What would need them, for the message (e.g. ``"resizing the mask to 100000 px"``).

    Raises
    ------
    NanomorphError
        When ``nbytes`` exceeds the available memory; the message gives both.
    """
    import psutil

    available = psutil.virtual_memory().available
    if nbytes > available:
        raise NanomorphError(f"{what} would need about {_gib(nbytes)} of memory; this machine "
                             f"has {_gib(available)} free: choose a smaller size")


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**29 else f"{nbytes / 2**20:.0f} MiB"
