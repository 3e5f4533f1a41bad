"""The report's plots: matplotlib figures (Agg, no pyplot state) rendered to PNG bytes.

Every function takes plain Python data and returns the PNG of one figure, drawn in one style:
light grid, no top/right frame, the verdict and class colours of the report.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence

import numpy as np

VERDICTS = ("percolates", "spans one way", "does not span")
VERDICT_COLORS = {"percolates": "#e64b28", "spans one way": "#f0b41e",
                  "does not span": "#3278dc"}
TEXT = "#222831"
MUTED = "#6b7280"
DPI = 110


def _plain_text(draw):
    """Draw with text taken literally: class names with ``$``, ``_`` or ``^`` are names, not
    matplotlib mathtext (which would fail to parse them or typeset them)."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)
    return wrapper


def verdict(row: dict) -> str:
    """The verdict of an analysed row.

    Parameters
    ----------
    row : dict
        With ``percolates``, ``spans_x``, ``spans_y``.

    Returns
    -------
    str
        ``percolates``, ``spans one way`` or ``does not span``.
    """
    if row.get("percolates"):
        return "percolates"
    return "spans one way" if row.get("spans_x") or row.get("spans_y") else "does not span"


def class_colors(classes: Sequence[str], known: dict[str, str | None] | None = None) -> dict:
    """A colour per class.

    Parameters
    ----------
    classes : sequence of str
        The classes.
    known : dict, optional
        The project's colours (:meth:`LabelRepository.class_colors`); others come from the
        same palette by position.

    Returns
    -------
    dict
        Class → ``#rrggbb``.
    """
    from nanomorph.project.classsets import palette_color

    known = known or {}
    return {name: known.get(name) or palette_color(i) for i, name in enumerate(classes)}


@_plain_text
def density_by_verdict(rows: list[dict]) -> bytes:
    """Two panels: wire density by verdict (jittered points and box), and the largest cluster's
    share of the wire against wire density, coloured by verdict.

    Parameters
    ----------
    rows : list of dict
        Analysed rows.

    Returns
    -------
    bytes
        The figure as PNG.
    """
    fig, (left, right) = _figure(9.6, 3.6, ncols=2)
    rng = np.random.default_rng(0)
    for i, name in enumerate(VERDICTS):
        values = np.array([100 * r["foreground_fraction"] for r in rows if verdict(r) == name])
        if len(values):
            left.boxplot(values, positions=[i], widths=0.5, showfliers=False,
                         medianprops={"color": TEXT}, boxprops={"color": MUTED},
                         whiskerprops={"color": MUTED}, capprops={"color": MUTED})
            left.scatter(i + rng.uniform(-0.18, 0.18, len(values)), values, s=14,
                         color=VERDICT_COLORS[name], alpha=0.75, linewidths=0, zorder=3)
    left.set_xticks(range(len(VERDICTS)),
                    [f"{v}\n({sum(verdict(r) == v for r in rows)})" for v in VERDICTS])
    left.set_xlim(-0.6, len(VERDICTS) - 0.4)
    left.set_ylabel("wire pixels (% of the frame)")
    left.set_title("Wire density by verdict")
    for name in VERDICTS:
        chosen = [r for r in rows if verdict(r) == name]
        right.scatter([100 * r["foreground_fraction"] for r in chosen],
                      [100 * r["largest_cluster_fraction"] for r in chosen], s=16,
                      color=VERDICT_COLORS[name], alpha=0.8, linewidths=0, label=name)
    right.set_xlabel("wire pixels (% of the frame)")
    right.set_ylabel("largest cluster (% of the wire)")
    right.set_ylim(-3, 103)
    right.set_title("Connectivity")
    right.legend(frameon=False, fontsize=8, loc="lower right")
    return _png(fig)


@_plain_text
def class_counts(counts: dict[str, dict[str, int]], colors: dict[str, str]) -> bytes:
    """Horizontal stacked bars: images per class, one segment per kind of count, the first kind
    solid, the others lighter.

    Parameters
    ----------
    counts : dict
        Kind → {class: count}, e.g. ``{"labelled": {...}, "predicted": {...}}``.
    colors : dict
        Class → colour.

    Returns
    -------
    bytes
        The figure as PNG.
    """
    classes = list(colors)
    fig, (ax,) = _figure(4.5, 0.9 + 0.36 * max(len(classes), 2))
    left = np.zeros(len(classes))
    for k, (kind, per_class) in enumerate(counts.items()):
        values = np.array([per_class.get(c, 0) for c in classes], float)
        ax.barh(range(len(classes)), values, left=left, color=[colors[c] for c in classes],
                alpha=1.0 if k == 0 else 0.45, edgecolor="white", label=kind, height=0.62)
        left += values
    for y, total in enumerate(left):
        ax.text(total, y, f"  {int(total)}", va="center", fontsize=8, color=MUTED)
    ax.set_yticks(range(len(classes)), classes)
    ax.invert_yaxis()
    ax.set_xlabel("images")
    ax.set_xlim(0, max(left.max(initial=0), 1) * 1.12)
    if len(counts) > 1:
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    return _png(fig)


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


@_plain_text
def confidence_histogram(confidences_by_class: dict[str, list[float]],
                         colors: dict[str, str]) -> bytes:
    """Stacked histogram of the classifier's confidence (top probability), by predicted class.

    Parameters
    ----------
    confidences_by_class : dict
        Predicted class → confidences.
    colors : dict
        Class → colour.

    Returns
    -------
    bytes
        The figure as PNG.
    """
    fig, (ax,) = _figure(4.5, 3.0)
    bins = np.linspace(0, 1, 21)
    names = [c for c in colors if confidences_by_class.get(c)]
    ax.hist([confidences_by_class[c] for c in names], bins=bins, stacked=True,
            color=[colors[c] for c in names], label=names, edgecolor="white", linewidth=0.5)
    _label_unit_histogram(ax, "confidence (probability of the predicted class)")
    return _png(fig)


@_plain_text
def label_efficiency(encoder: list[dict], control: list[dict], encoder_name: str,
                     n_classes: int) -> bytes:
    """Accuracy (mean ± sd over splits) against labelled images per class, for the embeddings and
    the pixel-density control; chance level dashed.

    Parameters
    ----------
    encoder : list of dict
        The protocol's results on the embeddings.
    control : list of dict
        The same on the control features.
    encoder_name : str
        For the legend.
    n_classes : int
        For the chance level.

    Returns
    -------
    bytes
        The figure as PNG.
    """
    fig, (ax,) = _figure(4.6, 3.4)
    for results, label, color in ((encoder, f"{encoder_name} embeddings", "#e64b28"),
                                  (control, "pixel-density control", "#6b7280")):
        if not results:
            continue
        ks = [r["k"] for r in results]
        mean = np.array([r["accuracy_mean"] for r in results])
        std = np.array([r["accuracy_std"] for r in results])
        ax.errorbar(ks, mean, yerr=std, fmt="o-", color=color, label=label, lw=2, ms=5,
                    capsize=3, elinewidth=1)
    ax.axhline(1 / max(n_classes, 1), color=MUTED, ls="--", lw=1, label="chance")
    ax.set_xscale("log", base=2)
    all_ks = sorted({r["k"] for r in encoder + control})
    ax.set_xticks(all_ks, [str(k) for k in all_ks])
    ax.set_xlabel("labelled images per class (K)")
    ax.set_ylabel("accuracy on the other images")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return _png(fig)


@_plain_text
def confusion_matrix(confusion: list[list[int]], classes: list[str], k: int) -> bytes:
    """Row-normalised confusion matrix (true class by row) with the counts written in.

    Parameters
    ----------
    confusion : list of list of int
        Counts, rows true, columns predicted.
    classes : list of str
        In the matrix's order.
    k : int
        Labelled images per class it was measured at (in the title).

    Returns
    -------
    bytes
        The figure as PNG.
    """
    matrix = np.asarray(confusion, float)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 1.3 + 0.55 * len(classes)
    fig, (ax,) = _figure(size + 0.5, size, grid=False)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, f"{int(value)}", ha="center", va="center", fontsize=8,
                color="white" if shares[i, j] > 0.6 else TEXT)
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"K = {k}, summed over splits", fontsize=9, color=MUTED)
    return _png(fig)


@_plain_text
def embedding_map(xy: np.ndarray, labels: list[str | None], predicted: list[str | None],
                  colors: dict[str, str], method: str) -> bytes:
    """2-D map of the embeddings: labelled images filled, the others hollow in the colour of their
    predicted class (gray when there is none).

    Parameters
    ----------
    xy : ndarray, shape (N, 2)
        Coordinates.
    labels : list of str or None
        Label of each image.
    predicted : list of str or None
        Predicted class of each image.
    colors : dict
        Class → colour.
    method : str
        The map method (in the title).

    Returns
    -------
    bytes
        The figure as PNG.
    """
    fig, (ax,) = _figure(4.6, 3.6)
    xy = np.asarray(xy, float)
    unlabelled = [i for i, label in enumerate(labels) if label is None]
    if unlabelled:
        ax.scatter(xy[unlabelled, 0], xy[unlabelled, 1], s=26, facecolors="none",
                   edgecolors=[colors.get(predicted[i], "#9ca3af") for i in unlabelled],
                   linewidths=1.1, label="unlabelled (predicted class)")
    for name, color in colors.items():
        chosen = [i for i, label in enumerate(labels) if label == name]
        if chosen:
            ax.scatter(xy[chosen, 0], xy[chosen, 1], s=34, color=color, label=name,
                       edgecolors="white", linewidths=0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{method.upper()} 1")
    ax.set_ylabel(f"{method.upper()} 2")
    ax.legend(frameon=False, fontsize=8, loc="best")
    return _png(fig)


@_plain_text
def segmentation_scores(dice: list[float], iou: list[float]) -> bytes:
    """Histograms of Dice and IoU against the ground-truth masks.

    Parameters
    ----------
    dice, iou : list of float
        One per image.

    Returns
    -------
    bytes
        The figure as PNG.
    """
    fig, (ax,) = _figure(5.2, 3.0)
    bins = np.linspace(0, 1, 21)
    ax.hist([dice, iou], bins=bins, color=["#e64b28", "#3278dc"], label=["Dice", "IoU"],
            edgecolor="white", linewidth=0.5)
    _label_unit_histogram(ax, "score against the project's mask")
    return _png(fig)


@_plain_text
def training_curves(history: list[dict]) -> bytes:
    """Training and validation loss, and validation Dice, per epoch of a segmenter.

    Parameters
    ----------
    history : list of dict
        ``epoch``, ``train_loss``, ``val_loss`` and ``val_dice`` (None without validation).

    Returns
    -------
    bytes
        The figure as PNG.
    """
    fig, (loss, dice) = _figure(7.2, 2.8, ncols=2)
    epochs = [h["epoch"] for h in history]
    loss.plot(epochs, [h["train_loss"] for h in history], "o-", color="#4c72b0", ms=3,
              label="training")
    if any(h.get("val_loss") is not None for h in history):
        loss.plot(epochs, [h.get("val_loss") for h in history], "o-", color="#dd8452", ms=3,
                  label="validation")
        dice.plot(epochs, [h.get("val_dice") for h in history], "o-", color="#55a868", ms=3)
    loss.set(xlabel="epoch", ylabel="loss")
    loss.legend(frameon=False, fontsize=8)
    dice.set(xlabel="epoch", ylabel="validation Dice", ylim=(0, 1))
    return _png(fig)


def _label_unit_histogram(ax, xlabel: str) -> None:
    """Axes of a histogram of values in [0, 1]: labels, whole-image counts, legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("images")
    ax.yaxis.set_major_locator(_integer_ticks())
    ax.set_xlim(0, 1)
    ax.legend(frameon=False, fontsize=8, loc="upper left")


def _figure(width: float, height: float, *, ncols: int = 1, grid: bool = True):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.spines[["left", "bottom"]].set_color("#c4c9d0")
        ax.tick_params(colors=TEXT, labelsize=8)
        ax.xaxis.label.set(color=TEXT, fontsize=9)
        ax.yaxis.label.set(color=TEXT, fontsize=9)
        ax.title.set(color=TEXT, fontsize=10)
        if grid:
            ax.grid(True, color="#eceef1", linewidth=0.8)
            ax.set_axisbelow(True)
    return fig, axes


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()
