"""``nanomorph report PROJECT|DIR --out report.html``: one self-contained HTML report.

The report of a results folder (``nanomorph batch --out DIR``) or of a project: the run's
parameters, the percolation summary (verdicts, wire density by verdict, overlays of spanning
clusters), classes (distribution, confidence; for a project with labels the classifier's
evaluation: label efficiency, confusion matrix, embedding map) and segmentation scores where
ground truth exists. Images and plots are embedded: the file can be mailed or archived alone.
"""

from __future__ import annotations

from nanomorph import defaults
from nanomorph.cli.arguments import non_negative_int, positive_int
from nanomorph.cli.output import report_error
from nanomorph.errors import NanomorphError, display_path


def add_parser(sub) -> None:
    """Add the ``nanomorph report`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("report", help="write one self-contained HTML report of a batch run "
                                      "or a project",
                       description="Summarise a results folder of nanomorph batch, or a "
                                   "project, in one HTML file with embedded images and plots.")
    p.add_argument("source", metavar="PROJECT|DIR", help="a project or a batch results folder")
    p.add_argument("--out", required=True, metavar="report.html", help="the HTML file to write")
    p.add_argument("--thumbnails", type=non_negative_int,
                   default=defaults.REPORT_THUMBNAILS, metavar="N",
                   help="overlays of spanning clusters to show (default 6)")
    p.add_argument("--repeats", type=positive_int, default=defaults.EVALUATE_REPEATS, metavar="R",
                   help="project: random splits per K of the classifier evaluation (default 20)")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph report`` (the HTML report of a project or results folder).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit code: 0 when every input worked, 2 when one failed (each printed as
        ``error: <path>: <reason>``), 1 for a bad command line.
    """
    from nanomorph.cli.progress import run_with_progress
    from nanomorph.report.html import report_job

    try:
        path = run_with_progress(report_job(args.source, args.out, thumbnails=args.thumbnails,
                                            repeats=args.repeats), "report")
    except NanomorphError as exc:
        report_error(exc.path or args.source, exc)
        return 2
    print(f"report: {display_path(path)}", flush=True)
    return 0
