"""``nanomorph restore PROJECT [--backup NAME] [--list] [--json]``: put a backup of a project's
database in place of a damaged one (the damaged file is moved aside, never deleted)."""

from __future__ import annotations

import sys

from nanomorph.cli.output import print_json, report_error
from nanomorph.errors import NanomorphError, display_path


def add_parser(sub) -> None:
    """Add the ``nanomorph restore`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("restore", help="restore a project's database from its backups",
                       description="Replace a project's database by a backup (the newest "
                                   "sound one unless --backup names one). The current database "
                                   "is kept beside it as project.sqlite.damaged-<time>.")
    p.add_argument("project", metavar="PROJECT", help="the project folder")
    p.add_argument("--backup", metavar="NAME", help="the backup to restore (see --list)")
    p.add_argument("--list", action="store_true", help="list the backups and restore nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph restore`` (restore a project's database from a backup).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code: 0 when restored (or listed), 2 when nothing could be restored, 1 for a
        bad command line.
    """
    from nanomorph.project import lock
    from nanomorph.project.backups import list_backups, restore_backup
    from nanomorph.project.store import is_project

    if not is_project(args.project):
        report_error(args.project, "not a nanomorph project (no project.sqlite)")
        return 2
    names = list_backups(args.project)
    if args.list:
        if args.json:
            print_json({"project": args.project, "backups": names})
        else:
            print("\n".join(names) if names else "no backups", flush=True)
        return 0
    try:
        key, _ = lock.acquire(args.project)  # no program may be writing to it meanwhile
        try:
            restored = restore_backup(args.project, args.backup)
        finally:
            lock.release(key)
    except NanomorphError as exc:
        report_error(exc.path or args.project, exc)
        return 2
    if args.json:
        print_json({"project": args.project, "restored": restored, "backups": names})
    else:
        print(f"restored {restored} into {display_path(args.project)}", file=sys.stdout,
              flush=True)
    return 0
