"""``nanomorph demo [--out DIR]``: run every engine feature on the bundled samples, headless."""

from __future__ import annotations

from pathlib import Path

from nanomorph.cli.progress import run_with_progress


def add_parser(sub) -> None:
    """Add the ``nanomorph demo`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("demo", help="headless run of every engine feature on the bundled samples")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the sample project and summary.json "
                        "(default: nanomorph-demo in the user data folder)")
    p.set_defaults(run=run)


def run(args) -> int:
    """Run ``nanomorph demo`` (every engine feature on the bundled samples).

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
    from nanomorph.cli.demo_steps import run_demo

    out = args.out or _default_out()
    summary = run_with_progress(run_demo(out), "demo")
    print("nanomorph demo: all steps finished")
    for name, result in summary["steps"].items():
        details = ", ".join(f"{k}={v}" for k, v in result.items() if k != "seconds")
        print(f"  {name} ({result['seconds']:.2f} s): {details}")
    print(f"wrote {Path(out) / 'summary.json'} and the project {summary['project']}")
    return 0


def _default_out() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("nanomorph")) / "nanomorph-demo"
