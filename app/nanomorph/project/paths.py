"""Paths built from what the database stores: validated, never trusted.

A project's rows name files (mask files, model files, run folders) and hold content hashes
that become file names. A crafted or damaged database must not make nanomorph read or write
outside the project folder: every stored name is checked against the pattern the store
writes, and every path built from one must resolve inside its folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from nanomorph.errors import ProjectError

DB_NAME = "project.sqlite"  # the project's database, in the project folder
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MASK_FILE = re.compile(r"^[0-9a-f]{16}_v[1-9][0-9]{0,8}\.tif$")


def checked_sha256(value: str, row: str) -> str:
    """A content hash from the database, checked.

    Parameters
    ----------
    value : str
        The stored hash.
    row : str
        Which row it came from, for the error message.

    Returns
    -------
    str
        ``value``: 64 lower-case hex digits.

    Raises
    ------
    ProjectError
        For anything else.
    """
    if not isinstance(value, str) or not SHA256.match(value):
        raise ProjectError(f"{row} holds an invalid content hash {value!r} (the database was "
                           "changed outside nanomorph): nothing was read or written for it")
    return value


def checked_mask_file(name: str, row: str) -> str:
    """A mask file name from the database, checked against the names the store writes.

    Parameters
    ----------
    name : str
        The stored file name.
    row : str
        Which row it came from, for the error message.

    Returns
    -------
    str
        ``name``, e.g. ``0123456789abcdef_v3.tif``.

    Raises
    ------
    ProjectError
        For any other name.
    """
    if not isinstance(name, str) or not MASK_FILE.match(name):
        raise ProjectError(f"{row} names {name!r}, which is not a mask file of this project "
                           "(the database was changed outside nanomorph): it was not read")
    return name


def inside(folder: str | os.PathLike, relative: str, row: str) -> Path:
    """A path named by the database, which must lie inside ``folder``.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder it must stay in (e.g. the project's ``models/``).
    relative : str
        The stored, relative name (subfolders allowed).
    row : str
        Which row it came from, for the error message.

    Returns
    -------
    Path
        ``folder / relative``, resolved.

    Raises
    ------
    ProjectError
        For an absolute name, or one that resolves outside ``folder`` (``..``, links).
    """
    base = Path(folder).resolve()
    if not isinstance(relative, str) or not relative or os.path.isabs(relative):
        raise ProjectError(f"{row} names {relative!r}, a path outside the project (the "
                           "database was changed outside nanomorph): it was not used")
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise ProjectError(f"{row} names {relative!r}, which leads outside the project folder "
                           "(the database was changed outside nanomorph): it was not used")
    return target
