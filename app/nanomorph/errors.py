"""Exceptions the engine raises. Their messages are written for microscopists: front-ends print
them as one line (CLI: ``error: <path>: <reason>``) or show them as one notification."""

from __future__ import annotations

import os


class NanomorphError(Exception):
    """Base of every error nanomorph reports to a user.

    Parameters
    ----------
    reason : str
        What went wrong, in words a microscopist understands (no traceback jargon).
    path : str or os.PathLike, optional
        The file or folder the problem is about; front-ends print it before the reason.
    """

    def __init__(self, reason: str, path: str | os.PathLike | None = None):
        super().__init__(reason)
        self.reason = reason
        self.path = None if path is None else os.fspath(path)

    def __str__(self) -> str:
        if self.path is None:
            return self.reason
        return f"{display_path(self.path)}: {self.reason}"


class PartialReadWarning(UserWarning):
    """A file was read only in part (a cut movie: its whole frames were used). Front-ends print
    it as ``warning: <path>: <reason>``.

    Parameters
    ----------
    reason : str
        What was read and what was not.
    path : str or os.PathLike
        The file.
    """

    def __init__(self, reason: str, path: str | os.PathLike):
        super().__init__(reason)
        self.reason = reason
        self.path = os.fspath(path)


class ImageReadError(NanomorphError):
    """A file could not be read as an image (missing, empty, truncated, unsupported, too large)."""


class CalibrationError(NanomorphError):
    """A pixel size is missing, invalid, or in units that cannot serve the request."""


class ProjectError(NanomorphError):
    """The project folder or its database cannot be opened, migrated or written."""


class ProjectReadOnlyError(ProjectError):
    """An edit was asked of a project opened read-only."""


class ProjectLockedError(ProjectError):
    """Another program has the project open for writing (one writer at a time)."""


class ProjectDamagedError(ProjectError):
    """The project database is damaged: refused, never replaced (see its backups)."""


class InvalidParameterError(NanomorphError):
    """A parameter is out of its valid range (e.g. eps <= 0)."""


class JobCancelled(NanomorphError):
    """A long job stopped because its cancel token was set.

    Parameters
    ----------
    reason : str
        What stopped it (default: the user cancelled).
    path : str or os.PathLike, optional
        The file or folder the job was working on.
    """

    def __init__(self, reason: str = "cancelled by the user", path=None):
        super().__init__(reason, path)


def display_path(path: str | bytes | os.PathLike) -> str:
    r"""A path as printable text, also for file names that are not valid UTF-8.

    Parameters
    ----------
    path : str, bytes or os.PathLike
        Any path.

    Returns
    -------
    str
        The path, undecodable bytes as ``\xNN`` escapes (never a UnicodeEncodeError).
    """
    text = os.fsdecode(os.fspath(path))
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
