"""One writing program per project: a lock file held while a project is open for writing.

The lock is an OS file lock (``filelock``) on ``.nanomorph-writer.lock`` in the project folder:
the kernel releases it when the program ends, however it ends, so a crash leaves no stale lock.
``.nanomorph-writer.json`` beside it says who holds it (program, process id, host, since when)
for the message another program shows. Within one program the lock is shared: opening the same
project twice for writing (the GUI and a batch run inside it) is coordinated by SQLite's own
transactions, not refused.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

from nanomorph.errors import ProjectLockedError

LOCK_FILE = ".nanomorph-writer.lock"
OWNER_FILE = ".nanomorph-writer.json"

_held: dict[str, list] = {}  # real folder path -> [FileLock, users]
_guard = threading.Lock()


def acquire(folder: Path) -> tuple[str, bool]:
    """Take the project's writer lock for this program.

    Parameters
    ----------
    folder : Path
        The project folder (writable).

    Returns
    -------
    key : str
        The key to :func:`release` it with.
    first : bool
        Whether this program took the lock now (False: it already held it for the project).

    Raises
    ------
    ProjectLockedError
        When another program holds it; the message says which.
    """
    from filelock import FileLock, Timeout

    key = os.path.realpath(folder)
    with _guard:
        if key in _held:
            _held[key][1] += 1
            return key, False
        lock = FileLock(os.path.join(key, LOCK_FILE), timeout=0, is_singleton=False)
        try:
            lock.acquire()
        except Timeout:
            raise ProjectLockedError(_held_elsewhere(Path(key)), folder) from None
        _held[key] = [lock, 1]
    _write_owner(Path(key))
    return key, True


def release(key: str) -> None:
    """Give the lock back (once its last user in this program closes the project).

    Parameters
    ----------
    key : str
        From :func:`acquire`.
    """
    with _guard:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[key]
        try:
            os.unlink(os.path.join(key, OWNER_FILE))
        except OSError:
            pass
        entry[0].release()


def _write_owner(folder: Path) -> None:
    owner = {"program": " ".join([os.path.basename(sys.argv[0] or "python"), *sys.argv[1:2]]),
             "pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
    try:
        (folder / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    except OSError:
        pass  # the lock holds without its description


def _held_elsewhere(folder: Path) -> str:
    """The message for a project another program writes to."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(owner["since"]))
        who = f" ({owner['program']}, process {owner['pid']} on {owner['host']}, since {since})"
    except (OSError, ValueError, KeyError, TypeError):
        who = ""
    return (f"the project is open for writing in another program{who}: close it there, or "
            "open this project read-only")
