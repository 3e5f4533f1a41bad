"""A matplotlib plot that redraws off the GUI thread, for curves that grow while a job runs.

Drawing a small figure with axes, ticks and a legend costs matplotlib 45–75 ms, longer than
the GUI may pause (the heartbeat tests allow 50 ms). :class:`LivePlot` therefore draws each
update with the Agg backend on a napari worker thread into a fresh figure, and the GUI thread
only swaps the finished picture into a label. Updates that arrive while one is being drawn
are coalesced: only the newest data is drawn next. The picture is drawn at the label's size
and drawn again when the label is resized. A plot hidden in a window on screen (its dock
closed, its workflow step not open) draws nothing until it is shown, then the newest data: a
hidden Measure plot drawn again at every image switch held the GIL on its worker for
50–100 ms, and the switch's own work and repaint on the GUI thread waited for it. A plot whose
window is not shown at all (a script, an export) draws at once.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from qtpy.QtCore import QPointF, Qt, Signal
from qtpy.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from qtpy.QtWidgets import QLabel, QSizePolicy

# Figure size (inches) before the label has a size, and resolution (dots per inch).
FIGSIZE_IN = (4.0, 2.4)
DPI = 90
MIN_HEIGHT_PX = 120
# a point of a scatter map is clicked within this many points (display units) of the cursor
PICK_RADIUS_PT = 6


def point_positions(figure, ax, xy: np.ndarray):
    """For a ``draw`` that plots points: a callable giving their positions in picture pixels
    (origin top left) once the figure is drawn, what :meth:`LivePlot.picked` compares a click
    with.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure being drawn.
    ax : matplotlib.axes.Axes
        The axes the points are in.
    xy : ndarray, shape (N, 2)
        The points, in data coordinates.

    Returns
    -------
    callable
        ``positions() -> ndarray (N, 2)``.
    """
    def positions() -> np.ndarray:
        display = ax.transData.transform(xy)
        return np.column_stack([display[:, 0], figure.bbox.height - display[:, 1]])

    return positions


def render_rgba(draw: Callable, data, figsize=FIGSIZE_IN,
                dpi: int = DPI) -> tuple[np.ndarray, int, object]:
    """``draw(figure, data)`` on a new Agg figure.

    Thread-safe: the figure is private to the call and never touches pyplot or Qt.

    Parameters
    ----------
    draw : callable
        ``draw(figure, data)``; it may return a callable, called once the figure is drawn
        (when the layout is final), whose value comes back as ``extra`` — e.g. where the
        points of a scatter plot landed, in picture pixels, to know which one a click hits.
    data : object
        What to draw.
    figsize : (float, float)
        Inches.
    dpi : int
        Dots per inch.

    Returns
    -------
    rgba : ndarray of uint8, shape (rows, cols, 4)
        The picture.
    axes : int
        The number of axes drawn.
    extra : object
        The value of the callable ``draw`` returned, or None.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    after = draw(figure, data)
    canvas.draw()
    extra = after() if callable(after) else None
    return np.asarray(canvas.buffer_rgba()).copy(), len(figure.axes), extra


def _rendered(draw: Callable, data, figsize, generation: int) -> tuple[tuple, object, int]:
    """:func:`render_rgba`'s picture, with the data it shows and the plot's generation."""
    return render_rgba(draw, data, figsize), data, generation


class LivePlot(QLabel):
    """A label showing ``draw(figure, data)`` for the newest ``data`` given to :meth:`show_data`.

    Parameters
    ----------
    draw : callable
        ``draw(figure, data)`` adds axes to a matplotlib Figure; runs on a worker thread, so
        it must use only its arguments (see :func:`render_rgba` for what it may return).
    """

    clicked = Signal(float, float)
    drawn = Signal()  # a new picture is on show (its ``extra`` with it)

    def __init__(self, draw: Callable, parent=None):
        super().__init__(parent)
        self.draw = draw
        self.axes_count = 0  # axes of the picture on show (for tests and status)
        self.extra = None  # what ``draw``'s callable returned for the picture on show
        self.shown = None  # the data of the picture on show
        self._generation = 0  # counts clear(): a picture drawn before one is dropped
        self.marker: tuple[float, float, float] | None = None  # (x, top, bottom), picture px
        self._data = self._pending = None
        self._busy = False
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(120, MIN_HEIGHT_PX)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def show_data(self, data) -> None:
        """Draw ``data`` in the background (the newest wins when updates pile up), now if the
        plot is on screen, else once it is shown."""
        self._data = self._pending = data
        if not self._busy and self._drawn_now():
            self._next()

    def _drawn_now(self) -> bool:
        """Whether an update is drawn now: the plot is on screen, or its window is not shown at
        all; not while it is hidden in a window on screen."""
        return self.isVisible() or not self.window().isVisible()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._pending is not None and not self._busy:
            self._next()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._data is not None:
            self.show_data(self._data)

    def _figsize(self) -> tuple[float, float]:
        """The label's size in inches (the default before it is laid out)."""
        if not self.isVisible() or self.width() < 50:
            return FIGSIZE_IN
        return self.width() / DPI, max(self.height(), MIN_HEIGHT_PX) / DPI

    def _next(self) -> None:
        from napari.qt.threading import create_worker

        data, self._pending = self._pending, None
        self._busy = True
        worker = create_worker(_rendered, self.draw, data, self._figsize(), self._generation)
        worker.returned.connect(self._drawn)  # a method: Qt drops it with a deleted plot
        worker.errored.connect(lambda _e: self._finished())
        worker.start()

    def set_marker(self, marker: tuple[float, float, float] | None) -> None:
        """A dashed vertical line over the picture — e.g. the current frame on a time axis —
        moved without drawing the picture again (that takes a worker and, for 100,000 points,
        a tenth of a second).

        Parameters
        ----------
        marker : (float, float, float) or None
            Its x and its top and bottom y, in picture pixels; None removes it.
        """
        if marker != self.marker:
            self.marker = marker
            self.update()

    def _picture_origin(self) -> tuple[float, float, float] | None:
        """Where the picture's top left is in the label, and picture pixels per label pixel."""
        pixmap = self.pixmap()
        if pixmap is None or pixmap.isNull():
            return None
        ratio = pixmap.devicePixelRatio() or 1.0
        width, height = pixmap.width() / ratio, pixmap.height() / ratio
        return (self.width() - width) / 2, (self.height() - height) / 2, ratio

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        origin = self._picture_origin()
        if self.marker is None or origin is None:
            return
        left, top, ratio = origin
        x, y0, y1 = (value / ratio for value in self.marker)
        painter = QPainter(self)
        painter.setPen(QPen(QColor(115, 115, 115), 1, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(left + x, top + y0), QPointF(left + x, top + y1))
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """A click on the picture: ``clicked(x, y)`` in picture pixels (origin top left)."""
        super().mousePressEvent(event)
        origin = self._picture_origin()
        if origin is None:
            return
        left, top, ratio = origin
        self.clicked.emit((event.position().x() - left) * ratio,
                          (event.position().y() - top) * ratio)

    def picked(self, x: float, y: float) -> int | None:
        """The point of the picture on show nearest to a click, if within
        :data:`PICK_RADIUS_PT` (its ``draw`` returned :func:`point_positions`).

        Parameters
        ----------
        x, y : float
            The click, in picture pixels (``clicked``'s arguments).

        Returns
        -------
        int or None
            The point's index; None when no point is near or none is drawn.
        """
        if self.extra is None or not len(self.extra):
            return None
        distance = np.hypot(self.extra[:, 0] - x, self.extra[:, 1] - y)
        nearest = int(np.argmin(distance))
        return nearest if distance[nearest] <= PICK_RADIUS_PT * DPI / 72 else None

    def clear(self) -> None:
        """Show nothing, and drop the picture being drawn (its data is another's now)."""
        super().clear()
        self._generation += 1
        self._data = self._pending = None
        self.extra = self.shown = self.marker = None
        self.axes_count = 0

    def _drawn(self, result) -> None:
        picture, data, generation = result
        if generation != self._generation:
            self._finished()
            return
        (rgba, axes, self.extra), self.shown = picture, data
        rows, cols = rgba.shape[:2]
        image = QImage(rgba.data, cols, rows, 4 * cols, QImage.Format.Format_RGBA8888)
        self.setPixmap(QPixmap.fromImage(image.copy()))
        self.axes_count = axes
        self.drawn.emit()
        self._finished()

    def _finished(self) -> None:
        self._busy = False
        if self._pending is not None and self._drawn_now():
            self._next()

    @property
    def idle(self) -> bool:
        """No drawing running, nor waiting to be drawn now (see :meth:`show_data`)."""
        return not self._busy and (self._pending is None or not self._drawn_now())
