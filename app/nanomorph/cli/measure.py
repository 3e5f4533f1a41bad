"""``nanomorph measure MASK...``: diameter, length, orientation and crossings of every wire.

``--json`` prints one object per mask (DESIGN.md's contract keys: path, shape, pixel_size, unit,
n_wires, wires, diameter, length, orientation, junctions_per_um2, wires_per_um2,
nL2_over_threshold, seconds). ``--csv FILE`` writes one row per wire of every mask (path, unit,
id, length, diameter_mean, diameter_sd, orientation_deg, straightness, touches_border,
centroid_row, centroid_col). Lengths and diameters are in nm when the mask file is calibrated or
``--pixel-size`` is given, else in pixels. An empty mask is 0 wires (exit 0).
"""

from __future__ import annotations

from nanomorph.cli.output import print_json, report_error
from nanomorph.errors import NanomorphError


def add_parser(sub) -> None:
    """Add the ``nanomorph measure`` command to the command line.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommands of ``nanomorph``.
    """
    p = sub.add_parser("measure", help="diameter, length, orientation and crossings of every wire",
                       description="Trace every wire of each mask through its crossings and "
                                   "measure its length, diameter, orientation and straightness; "
                                   "per mask the distributions, the order parameter and the "
                                   "densities against the stick-percolation threshold.")
    p.add_argument("masks", nargs="+", metavar="MASK", help="mask images (PNG/TIFF)")
    p.add_argument("--foreground", default="auto",
                   help="which mask values are wire: nonzero, or values like 127 or 127,255 "
                        "(default: nonzero for a two-valued 0/V mask, else an error)")
    p.add_argument("--pixel-size", type=float, metavar="NM",
                   help="pixel size in nm (overrides the file's calibration)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON Lines on stdout")
    out.add_argument("--csv", metavar="FILE", help="write every wire of every mask to a CSV file")
    p.set_defaults(run=run)


def measure_mask_file(path: str, foreground: str, pixel_size: float | None) -> dict:
    """The contract record of one mask file.

    Parameters
    ----------
    path : str
        The mask file.
    foreground : str
        ``auto``, ``nonzero`` or mask values (as ``--foreground``).
    pixel_size : float or None
        Pixel size in nm; None takes the file's calibration when it is a length.

    Returns
    -------
    dict
        The keys of the measure contract.

    Raises
    ------
    NanomorphError
        For an unreadable or unsuitable mask, or a pixel size that is not positive.
    """
    from nanomorph.io.mask_files import foreground_mask, read_mask
    from nanomorph.network import measure_wires

    array, calibration = read_mask(path)
    wire = foreground_mask(array, foreground, path=path)
    if pixel_size is None and calibration.is_length:
        pixel_size = calibration.pixel_size_nm()
    return measure_wires(wire, pixel_size).as_record(path)


def run(args) -> int:
    """Run ``nanomorph measure`` (one result per mask).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        0 when every mask was measured, 2 when one failed (each printed as
        ``error: <path>: <reason>``), 1 for a bad command line.

    Raises
    ------
    InvalidParameterError
        For a pixel size that is not positive (the CLI turns it into exit code 1).
    """
    from nanomorph.errors import InvalidParameterError

    if args.pixel_size is not None and not args.pixel_size > 0:
        raise InvalidParameterError(f"--pixel-size must be a positive number of nm, "
                                    f"not {args.pixel_size}")
    records, failed = [], False
    for path in args.masks:
        try:
            record = measure_mask_file(path, args.foreground, args.pixel_size)
        except NanomorphError as e:
            report_error(path, e)
            failed = True
            continue
        records.append(record)
        if args.json:
            print_json(record)
        elif not args.csv:
            _print_line(record)
    if args.csv:
        from nanomorph.workflows.morphometry import write_wires_csv

        try:
            write_wires_csv(args.csv, records)
        except OSError as e:
            report_error(args.csv, f"cannot write the CSV ({e.strerror or e})")
            failed = True
    return 2 if failed else 0


def _print_line(r: dict) -> None:
    unit, d, length = r["unit"], r["diameter"], r["length"]
    orientation = r["orientation"]
    parts = [f"{r['path']}: {r['n_wires']} wires"]
    if d["mean"] is not None:
        parts.append(f"diameter {d['mean']:.3g} ± {d['sd']:.2g} {unit} (median {d['median']:.3g})")
    if length["mean"] is not None:
        parts.append(f"length {length['mean']:.4g} {unit} ({length['n_complete']} complete)")
    if orientation["dominant_deg"] is not None:
        parts.append(f"direction {orientation['dominant_deg']:.1f}° "
                     f"S = {orientation['order_parameter']:.2f}")
    if r["nL2_over_threshold"] is not None:
        parts.append(f"n·L² = {r['nL2_over_threshold']:.2f} × threshold")
    print("; ".join(parts) + f" [{r['seconds'] * 1e3:.0f} ms]")
