"""The ``nanomorph`` command (see DESIGN.md, "CLI contract").

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args) -> int``;
modules import their heavy dependencies inside ``run`` so ``nanomorph --help`` stays fast.
Exit codes: 0 all inputs fine, 2 at least one input failed (each printed as
``error: <path>: <reason>`` on stderr), 1 a bad command line.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from nanomorph import __version__

# name -> module under nanomorph.cli; the order is the order of `nanomorph --help`.
COMMANDS = {
    "gui": "gui",
    "demo": "demo",
    "info": "info",
    "mask": "mask",
    "percolate": "percolate",
    "embed": "embed",
    "classify": "classify",
    "segment": "segment",
    "pretrain": "pretrain",
    "batch": "batch",
    "report": "report",
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


if __name__ == "__main__":  # pragma: no cover - `python -m nanomorph.cli`
    sys.exit(main())
