"""Third-party readers run in a helper process with a time budget.

Some readers never return on damaged input (rosettasciio's Phenom ELID reader loops on a
truncated file; h5py sticks on some damaged Velox EMD files) and a thread cannot be stopped.
:func:`run_contained` runs a reading function in a helper process (started on first use with
``subprocess``, so it also works inside Dask's daemonic worker processes, and reused for the
next reads) and kills it when it takes longer than ``TIMEOUT_S``: the file becomes an
:class:`~nanomorph.errors.ImageReadError` and the caller goes on. Messages are pickles framed by
their length on the helper's stdin/stdout; only nanomorph's own functions are run.
"""

from __future__ import annotations

import atexit
import importlib
import os
import pickle
import struct
import subprocess
import sys
import threading

from nanomorph.errors import ImageReadError, NanomorphError

TIMEOUT_S = 10.0
_HEADER = struct.Struct("<Q")
_ALLOWED_MODULES = ("nanomorph.io.",)


class ContainedError(RuntimeError):
    """An exception raised inside the helper by a third-party library (its type and text)."""


class _Helper:
    """One helper process and the pipe to it."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nanomorph.io.sandbox"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def call(self, message: bytes, timeout_s: float) -> bytes | None:
        """Send one request; the answer, or None when none came within ``timeout_s``."""
        answer: list[bytes] = []

        def exchange() -> None:
            try:
                _write_frame(self.process.stdin, message)
                answer.append(_read_frame(self.process.stdout))
            except (OSError, EOFError, struct.error):
                pass

        talker = threading.Thread(target=exchange, daemon=True)
        talker.start()
        talker.join(timeout_s)
        return answer[0] if answer else None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self._close_pipes()

    def stop(self) -> None:
        """End the helper: it leaves its loop when its input closes."""
        self._close_pipes()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


def _stop_helper() -> None:
    if _helper is not None:
        _helper.stop()


_helper: _Helper | None = None
_lock = threading.Lock()
atexit.register(_stop_helper)


def run_contained(module: str, function: str, *args, path: str, timeout_s: float = TIMEOUT_S):
    """``module.function(*args)`` run in the helper process, killed after ``timeout_s``.

    Parameters
    ----------
    module : str
        A nanomorph module (``nanomorph.io.…``).
    function : str
        A function of it; its arguments and result must pickle.
    *args
        Its arguments.
    path : str
        The file being read, named in errors.
    timeout_s : float
        The time budget in seconds.

    Returns
    -------
    Any
        The function's result.

    Raises
    ------
    NanomorphError
        What the function raised (rebuilt with its reason and path).
    ContainedError
        For any other exception inside the helper (its type and message).
    ImageReadError
        When the helper did not answer within ``timeout_s`` (it is killed) or died.
    """
    global _helper
    message = pickle.dumps((module, function, args))
    with _lock:
        if _helper is None or _helper.process.poll() is not None:
            _helper = _Helper()
        raw = _helper.call(message, timeout_s)
        if raw is None:
            _helper.kill()
            _helper = None
            raise ImageReadError(f"reading stopped after {timeout_s:g} s without an end: the "
                                 "file is damaged or truncated", path)
    status, value = pickle.loads(raw)
    if status == "ok":
        return value
    if status == "nanomorph":
        class_name, reason, error_path = value
        import nanomorph.errors as errors

        raise getattr(errors, class_name, NanomorphError)(reason, error_path)
    raise ContainedError(value)


def _write_frame(stream, data: bytes) -> None:
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_frame(stream) -> bytes:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


def _serve() -> None:
    """The helper's loop: run each request, answer with its result or its error."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints of a library must not corrupt the frames
    while True:
        try:
            module, function, args = pickle.loads(_read_frame(stdin))
        except EOFError:
            return
        try:
            if not module.startswith(_ALLOWED_MODULES):
                raise ValueError(f"{module} is not a nanomorph reader")
            result = ("ok", getattr(importlib.import_module(module), function)(*args))
        except NanomorphError as exc:
            result = ("nanomorph", (type(exc).__name__, exc.reason, exc.path))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            result = ("error", f"{type(exc).__name__}: {exc}")
        try:
            payload = pickle.dumps(result)
        except Exception as exc:  # noqa: BLE001
            payload = pickle.dumps(("error", f"unpicklable result ({exc})"))
        _write_frame(stdout, payload)


if __name__ == "__main__":
    _serve()
