"""``nanomorph percolate MASK...``: DBSCAN clustering of wire pixels and the spanning test.

Output keys (``--json``, one object per mask in input order; ``--csv FILE`` the same as columns)
are the contract of DESIGN.md: path, shape, method, eps, min_samples, margin, percolates,
spans_x, spans_y, n_clusters, noise_pixels, foreground_pixels, foreground_fraction,
largest_cluster_fraction, seconds. ``shape`` is the analysed shape (224 × 224 with
``--resize 224``); ``eps`` and ``margin`` are echoed in ``--units``; ``seconds`` is the analysis
time of that mask (resize included), excluding reading it and process start-up.
"""

from __future__ import annotations

import csv

from nanomorph import defaults
from nanomorph.cli.output import print_json, report_error
from nanomorph.errors import NanomorphError

CONTRACT_KEYS = ("path", "shape", "method", "eps", "min_samples", "margin", "percolates",
                 "spans_x", "spans_y", "n_clusters", "noise_pixels", "foreground_pixels",
                 "foreground_fraction", "largest_cluster_fraction", "seconds")


def add_parser(sub) -> None:
    """Add the ``nanomorph percolate`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("percolate", help="cluster wire pixels (DBSCAN) and test for percolation",
                       description="Cluster the wire pixels of each mask with DBSCAN and test "
                                   "whether one cluster spans the image in both directions "
                                   "(Lu et al. 2022).")
    p.add_argument("masks", nargs="+", metavar="MASK", help="mask images (PNG/TIFF)")
    p.add_argument("--eps", type=float,
                   default=defaults.PERCOLATION_EPS, help="DBSCAN radius (default 2, in --units)")
    p.add_argument("--min-samples", type=int, default=defaults.PERCOLATION_MIN_SAMPLES,
                   help="DBSCAN min_samples, the pixel itself included (default 2)")
    p.add_argument("--margin", type=float, default=defaults.PERCOLATION_MARGIN,
                   help="a cluster spans x when its extent >= width - margin (default 2)")
    p.add_argument("--units", choices=("px", "nm", "um", "µm"), default=defaults.PERCOLATION_UNITS,
                   help="units of --eps and --margin (nm/um need a calibrated mask)")
    p.add_argument("--foreground", default="auto",
                   help="which mask values are wire: nonzero, or values like 127 or 127,255 "
                        "(default: nonzero for a two-valued 0/V mask, else an error)")
    p.add_argument("--method", choices=("exact", "dbscan"), default=defaults.PERCOLATION_METHOD,
                   help="exact (fast, identical partition) or dbscan (scikit-learn)")
    p.add_argument("--resize", type=int, default=None, metavar="N",
                   help="analyse at N x N like the paper (224): area-weighted resize, >= 0.5")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON Lines on stdout")
    out.add_argument("--csv", metavar="FILE", help="write all results to a CSV file")
    p.set_defaults(run=run)


def analyse_mask_file(path: str, args) -> dict:
    """The contract record of one mask file.

    Parameters
    ----------
    path : str
        The mask file.
    args : argparse.Namespace
        eps, min_samples, margin, units, foreground, method, resize.

    Returns
    -------
    dict
        The keys of the percolate contract.

    Raises
    ------
    NanomorphError
        For an unreadable or unsuitable mask.
    """
    from nanomorph.io.mask_files import foreground_mask, read_mask
    from nanomorph.workflows.percolation import (
        PercolationSettings,
        percolate_foreground,
    )

    settings = PercolationSettings(args.eps, args.min_samples, args.margin,
                                   "µm" if args.units == "um" else args.units, args.method,
                                   args.resize)
    array, calibration = read_mask(path)
    foreground = foreground_mask(array, args.foreground, path=path)
    pixel_size_nm = calibration.pixel_size_nm() if settings.units != "px" else None
    result = percolate_foreground(foreground, settings, pixel_size_nm)
    record = {"path": path, **result.as_record()}
    return {key: record[key] for key in CONTRACT_KEYS}


def run(args) -> int:
    """Run ``nanomorph percolate`` (one result per mask).

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
    records, failed = [], False
    for path in args.masks:
        try:
            record = analyse_mask_file(path, args)
        except NanomorphError as e:
            report_error(path, e)
            failed = True
            continue
        records.append(record)
        if args.json:
            print_json(record)
        elif not args.csv:
            _print_line(record, args)
    if args.csv and not _write_csv(args.csv, records):
        failed = True
    return 2 if failed else 0


def _print_line(r: dict, args) -> None:
    verdict = "PERCOLATES" if r["percolates"] else "does not percolate"
    spans = ", ".join(a for a in ("x", "y") if r[f"spans_{a}"]) or "none"
    print(f"{r['path']}: {verdict} (spans {spans}); {r['n_clusters']} clusters, "
          f"wire {100 * r['foreground_fraction']:.1f} %, largest cluster "
          f"{100 * r['largest_cluster_fraction']:.1f} % of wire, {r['noise_pixels']} noise px "
          f"[eps {r['eps']:g} {args.units}, min_samples {r['min_samples']}, {r['method']}, "
          f"{r['seconds'] * 1e3:.1f} ms]")


def _write_csv(path: str, records: list[dict]) -> bool:
    """Write the records as CSV; False (after an error line) when the file cannot be written."""
    try:
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=CONTRACT_KEYS)
            writer.writeheader()
            for r in records:
                writer.writerow({**r, "shape": "x".join(map(str, r["shape"]))})
    except OSError as e:
        report_error(path, f"cannot write the CSV ({e.strerror or e})")
        return False
    return True
