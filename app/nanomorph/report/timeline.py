"""Metrics over time for movies and stacks in a batch results table: one figure per movie with
the wire fraction, the largest cluster's share, the number of clusters (and the morphometry
columns when measured) against time, and the percolation onset marked.

The onset is the first frame from which every later frame percolates (a network that keeps
spanning the frame); a movie whose last frame does not percolate has none.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from nanomorph.report.plots import TEXT, VERDICT_COLORS, _figure, _plain_text, _png

SERIES = (("foreground_fraction", "wire fraction", 1.0),
          ("largest_cluster_fraction", "largest cluster / wire", 1.0),
          ("n_clusters", "clusters", None),
          ("diameter_mean", "mean diameter", None),
          ("order_parameter", "order parameter S", 1.0))
# a movie of more frames than this is drawn as the envelope of as many runs of frames: a plot a
# few hundred pixels wide shows the same, and 100,000 frames drew in 0.5 s instead of ~20 ms
MAX_DRAWN_FRAMES = 4000


def columns_of(rows: list[dict]) -> dict[str, np.ndarray]:
    """Rows as a column table: per key, one object array of the rows' values (None where a
    row has none).

    Parameters
    ----------
    rows : list of dict
        Results rows (a batch's, or one movie's).

    Returns
    -------
    dict
        Column name → array of ``len(rows)`` values.
    """
    return {key: np.fromiter((row.get(key) for row in rows), dtype=object, count=len(rows))
            for key in dict.fromkeys(k for row in rows for k in row)}


def as_float(column: np.ndarray) -> np.ndarray:
    """A column's values as floats: NaN where a frame has none (None, or NaN already).

    Parameters
    ----------
    column : ndarray
        Numbers (any dtype), or objects that are numbers, truth values or None.

    Returns
    -------
    ndarray of float
    """
    if column.dtype != object:
        return column.astype(float)
    values = np.full(len(column), np.nan)
    present = np.not_equal(column, None)
    values[present] = column[present].astype(float)
    return values


def movies(rows: list[dict]) -> "OrderedDict[str, dict[str, np.ndarray]]":
    """The analysed frames of each movie, in frame order, as column tables.

    Parameters
    ----------
    rows : list of dict
        Batch results rows (movies and stacks have a ``frame`` column).

    Returns
    -------
    OrderedDict
        Movie path → :func:`columns_of` its ``ok`` rows sorted by frame, in the order the
        movies first appear.
    """
    grouped: OrderedDict[str, list[dict]] = OrderedDict()
    for row in rows:
        if row.get("frame") is not None and row.get("status") == "ok":
            grouped.setdefault(row["path"], []).append(row)
    return OrderedDict((path, columns_of(sorted(frames, key=lambda r: r["frame"])))
                       for path, frames in grouped.items())


def percolating(table: dict[str, np.ndarray]) -> np.ndarray:
    """Which frames of a movie percolate (a frame without a verdict does not).

    Parameters
    ----------
    table : dict
        The movie's column table (its ``percolates`` column, when it has one).

    Returns
    -------
    ndarray of bool
        One per frame.
    """
    values = table.get("percolates")
    if values is None:
        return np.zeros(len(table["frame"]), bool)
    return as_float(values) == 1.0


def percolation_onset(percolates: np.ndarray) -> int | None:
    """Index of the first frame from which every later frame percolates.

    Parameters
    ----------
    percolates : ndarray of bool
        One movie's frames in frame order (:func:`percolating`).

    Returns
    -------
    int or None
        None when the last frame does not percolate (or there are no frames).
    """
    percolates = np.asarray(percolates, bool)
    if not len(percolates) or not percolates[-1]:
        return None
    not_percolating = np.flatnonzero(~percolates)
    return int(not_percolating[-1] + 1) if len(not_percolating) else 0


def times_of(table: dict[str, np.ndarray]) -> tuple[np.ndarray, str]:
    """The x axis: times in seconds when every frame has one, else frame numbers.

    Parameters
    ----------
    table : dict
        One movie's column table (``time_s``, ``frame``).

    Returns
    -------
    (ndarray, str)
        Values and the axis label.
    """
    times = None if table.get("time_s") is None else as_float(table["time_s"])
    if times is not None and np.isfinite(times).all():
        return times, "time (s)"
    return as_float(table["frame"]), "frame"


def onset_words(table: dict[str, np.ndarray], onset: int | None) -> str:
    """The onset in words: ``percolates from frame F (T s)`` — the time when every frame has
    one — or ``does not stay percolating``.

    Parameters
    ----------
    table : dict
        One movie's column table.
    onset : int or None
        Index of the onset frame in it (:func:`percolation_onset`).

    Returns
    -------
    str
    """
    if onset is None:
        return "does not stay percolating"
    x, axis = times_of(table)
    return (f"percolates from frame {table['frame'][onset]:g}"
            + (f" ({x[onset]:g} s)" if axis.startswith("time") else ""))


def _values(table: dict[str, np.ndarray], key: str) -> np.ndarray:
    """A column as floats (NaN where a frame has none, and for a column the table lacks)."""
    column = table.get(key)
    return np.full(len(table["frame"]), np.nan) if column is None else as_float(column)


@_plain_text
def timeline_png(table: dict[str, np.ndarray]) -> bytes:
    """One movie's metrics against time, the percolating frames shaded, the onset marked.

    Parameters
    ----------
    table : dict
        The movie's column table, frames in order (:func:`movies`).

    Returns
    -------
    bytes
        The figure as PNG.
    """
    shown = [(key, label, top) for key, label, top in SERIES
             if np.isfinite(_values(table, key)).any()]
    fig, axes = _figure(7.2, 1.25 * len(shown) + 0.6, ncols=1)
    fig.delaxes(axes[0])
    x, xlabel = times_of(table)
    onset = percolation_onset(percolating(table))
    for i, (key, label, top) in enumerate(shown):
        ax = fig.add_subplot(len(shown), 1, i + 1)
        draw_series(ax, table, x, key, label, top, onset)
        if i < len(shown) - 1:
            ax.set_xticklabels([])
        ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel(xlabel, fontsize=8, color=TEXT)
    return _png(fig)


def draw_series(ax, table: dict[str, np.ndarray], x: np.ndarray, key: str, label: str,
                top: float | None, onset: int | None) -> None:
    """One metric of a movie against time on ``ax``: the percolating frames shaded (one band
    artist, however many frames), the onset a vertical line.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    table : dict
        The movie's column table, frames in order.
    x : ndarray
        Their times or frame numbers (:func:`times_of`).
    key, label : str
        The column and its axis label.
    top : float or None
        The axis top (1 for fractions) when the values reach beyond 40 % of it; None to fit
        the values.
    onset : int or None
        Index of the onset frame (:func:`percolation_onset`).
    """
    values = _values(table, key)
    drawn_x, drawn = envelope(x, values, MAX_DRAWN_FRAMES)
    ax.plot(drawn_x, drawn, "o-", ms=2.5 if len(x) < 400 else 0, lw=1, color="#3278dc")
    if len(x) > 1 and x[-1] > x[0]:  # the whole movie, however few frames have a value
        ax.set_xlim(x[0], x[-1])
    if not np.isfinite(values).any():
        ax.set_yticks([])
        ax.text(0.5, 0.5, f"no frame has a {label} yet", transform=ax.transAxes, ha="center",
                va="center", fontsize=8, color=TEXT)
    shaded = percolating(table)
    if shaded.any():
        shaded_x, shaded = envelope(x, shaded, MAX_DRAWN_FRAMES)
        ax.fill_between(shaded_x, 0, 1, where=shaded > 0, step="mid", lw=0, alpha=0.12,
                        color=VERDICT_COLORS["percolates"], transform=ax.get_xaxis_transform())
    if onset is not None:
        ax.axvline(x[onset], color=VERDICT_COLORS["percolates"], lw=1.2)
    units = table.get("morphometry_unit") if key == "diameter_mean" else None
    unit = next((u for u in units if isinstance(u, str) and u), None) if units is not None else None
    ax.set_ylabel(f"{label} ({unit})" if unit else label, fontsize=8, color=TEXT)
    ax.tick_params(labelsize=7, colors=TEXT)
    if top is not None and np.isfinite(values).any():
        # a fraction stays on 0–top, unless it stays low: then the axis fits it
        ax.set_ylim(0, top if np.nanmax(values) > 0.4 * top else None)


def envelope(x: np.ndarray, values: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """A series of more than ``most`` points as the smallest and largest value of each of
    ``most // 2`` runs of consecutive points (at the run's first and last x), which is what a
    plot narrower than ``most`` pixels shows of it; NaN (no value) only where a whole run has
    none. Shorter series are returned as they are.

    Parameters
    ----------
    x : ndarray
        Increasing positions (times or frame numbers).
    values : ndarray of float or bool
        One per position; NaN for none.
    most : int
        Points drawn at most.

    Returns
    -------
    (ndarray, ndarray)
        Positions and values to draw.
    """
    if len(x) <= most:
        return x, values
    values = np.asarray(values, float)
    starts = np.linspace(0, len(x), most // 2, endpoint=False).astype(int)
    ends = np.append(starts[1:], len(x)) - 1
    low = np.fmin.reduceat(values, starts)
    high = np.fmax.reduceat(values, starts)
    return (np.column_stack([x[starts], x[ends]]).ravel(),
            np.column_stack([low, high]).ravel())
