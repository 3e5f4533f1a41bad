"""The ``nanomorph`` command (see DESIGN.md, "CLI contract").

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args) -> int``;
modules import their heavy dependencies inside ``run`` so ``nanomorph --help`` stays fast.
Exit codes: 0 all inputs fine, 2 at least one input failed (each printed as
``error: <path>: <reason>`` on stderr), 1 a bad command line. No traceback reaches the terminal:
an unexpected failure is one ``error:`` line, its traceback goes to the log file
(``nanomorph-cli.log`` in the user log folder) and, with ``--debug``, to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback

from nanomorph import __version__
from nanomorph.errors import InvalidParameterError, NanomorphError

# name -> module under nanomorph.cli; the order is the order of `nanomorph --help`.
COMMANDS = {
    "gui": "gui",
    "demo": "demo",
    "info": "info",
    "mask": "mask",
    "percolate": "percolate",
    "measure": "measure",
    "embed": "embed",
    "classify": "classify",
    "segment": "segment",
    "pretrain": "pretrain",
    "batch": "batch",
    "report": "report",
    "restore": "restore",
    "scalebar": "scalebar",
    "explore": "explore",
}


def build_parser() -> argparse.ArgumentParser:
    """The ``nanomorph`` command line with every subcommand.

    Returns
    -------
    argparse.ArgumentParser
        Ready to parse.
    """
    parser = argparse.ArgumentParser(
        prog="nanomorph",
        description="Nanowire micrograph analysis: the desktop app (default) and its engine.",
    )
    parser.add_argument("--version", action="version", version=f"nanomorph {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of an unexpected failure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        importlib.import_module(f"nanomorph.cli.{module}").add_parser(sub)
    return parser


def _with_default_command(argv: list[str]) -> list[str]:
    """``nanomorph`` and ``nanomorph PATH`` mean ``nanomorph gui [PATH]``."""
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        return ["gui", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    """The ``nanomorph`` command: ``nanomorph`` and ``nanomorph PATH`` open the desktop app.

    Parameters
    ----------
    argv : list of str, optional
        The arguments; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit code: 0 fine, 1 a bad command line, 2 an input failed, 130 interrupted.
    """
    argv = _with_default_command(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on a bad command line; the contract says 1
        return 0 if exit_.code == 0 else 1
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except InvalidParameterError as exc:  # a bad value the parser could not know
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except NanomorphError as exc:
        from nanomorph.cli.output import report_error

        report_error(exc.path or args.command, exc.reason)
        return 2
    except Exception as exc:  # noqa: BLE001 - the last guard: one line, the traceback logged
        log = _log_traceback(exc)
        if args.debug:
            traceback.print_exception(exc)
        print(f"error: internal error ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
              f"; details in {log}", file=sys.stderr)
        return 2


def _log_traceback(exc: BaseException) -> str:
    """Append the traceback of ``exc`` to the CLI's log file; returns the file (or a note)."""
    import platformdirs

    folder = platformdirs.user_log_dir("nanomorph")
    path = os.path.join(folder, "nanomorph-cli.log")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} nanomorph "
                      f"{' '.join(sys.argv[1:])}\n")
            log.write("".join(traceback.format_exception(exc)))
    except OSError:
        return "the log (it could not be written; rerun with --debug)"
    return path


if __name__ == "__main__":  # pragma: no cover - `python -m nanomorph.cli`
    sys.exit(main())
