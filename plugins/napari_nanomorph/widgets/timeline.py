"""The Over time step: a movie's per-frame metrics against time — wire fraction, largest
cluster, clusters, mean diameter, order parameter or predicted class — with the percolating
frames shaded, the percolation onset marked and the current frame a dashed line. Click the plot
to open the frame at that time; export the movie's frames as CSV. They are read in the job
runner, and only while the step is open."""

from __future__ import annotations

import numpy as np
from nanomorph.jobs import call_as_job
from nanomorph.report.timeline import SERIES
from napari.utils.notifications import show_info, show_warning
from napari_nanomorph.layer_mode import NoProjectBanner
from napari_nanomorph.signals import listen, single_shot
from napari_nanomorph.widgets.base import NanomorphDock
from napari_nanomorph.widgets.liveplot import LivePlot, point_positions
from qtpy.QtWidgets import QComboBox, QFileDialog, QFormLayout, QLabel, QPushButton

# (row key, axis label, axis top) of each metric the step plots
METRICS = (*SERIES, ("predicted_index", "predicted class", None))
# changes arriving within this many ms are read once
REFRESH_DELAY_MS = 300
# height of the plot (px): fixed, so the step keeps its layout at every screen size
PLOT_HEIGHT_PX = 260


def onset_index(table: dict) -> int | None:
    """Index (into all of a movie's frames) of its percolation onset, found among the analysed
    frames (:func:`nanomorph.report.timeline.percolation_onset`)."""
    from nanomorph.report.timeline import percolating, percolation_onset

    analysed = np.flatnonzero(table["status"] == "ok")
    onset = percolation_onset(percolating(table)[analysed])
    return None if onset is None else int(analysed[onset])


def draw_timeline(figure, data):
    """One metric of a movie against time (runs on a worker thread); returns where the frames
    landed (for clicks and the current frame's line) and the rows the axes span, in picture
    pixels."""
    from nanomorph.report.timeline import draw_series, times_of

    table, (key, label, top), classes = data
    ax = figure.add_subplot()
    x, xlabel = times_of(table)
    draw_series(ax, table, x, key, label, top, onset_index(table))
    if key == "predicted_index" and classes:
        ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    points = point_positions(figure, ax, np.column_stack([x, np.zeros_like(x)]))

    def where() -> tuple[np.ndarray, tuple[float, float]]:
        height = figure.bbox.height
        return points(), (height - ax.bbox.y1, height - ax.bbox.y0)

    return where


def onset_text(table: dict) -> str:
    """One line: frames analysed, and from which frame (and time) the network percolates."""
    from nanomorph.report.timeline import onset_words

    analysed = int(np.count_nonzero(table["status"] == "ok"))
    text = f"{len(table['frame'])} frames, {analysed} analysed"
    onset = onset_index(table)
    if onset is not None or analysed:
        text += "; " + onset_words(table, onset)
    return text


def _shown(table: dict) -> tuple[list[str], str]:
    """What the step needs of a movie's table besides it, worked out with it in the job: the
    predicted classes (the table gets each frame's ``predicted_index``) and the summary line."""
    predicted = table["predicted"]
    classes = sorted(set(predicted[np.not_equal(predicted, None)].tolist()))
    index = np.full(len(predicted), np.nan)
    for i, name in enumerate(classes):
        index[predicted == name] = i
    table["predicted_index"] = index
    return classes, onset_text(table)


class TimelineWidget(NanomorphDock):
    """Plot the current movie's per-frame metrics against time."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.movies: dict[str, list] = {}  # movie name → its frame records
        self.table: dict | None = None  # the shown movie's frames (movie_table)
        self._classes: list[str] = []  # the predicted classes among them
        self._summary = ""  # onset_text of the table
        self._dirty = True
        self.movie = QComboBox()
        self.movie.setToolTip("the movie shown (follows the current frame)")
        self.movie.currentTextChanged.connect(lambda _t: self.refresh())
        self.metric = QComboBox()
        self.metric.addItems([label for _key, label, _top in METRICS])
        self.metric.setToolTip("what to plot against time")
        self.metric.currentIndexChanged.connect(lambda _i: self._draw())
        self.summary = QLabel("no movie in this project")
        self.summary.setWordWrap(True)
        self.plot = LivePlot(draw_timeline)
        self.plot.setFixedHeight(PLOT_HEIGHT_PX)
        self.plot.setToolTip("click to open the frame at that time; the frames are analysed in "
                             "the Percolation and Measure steps, labelled and predicted in "
                             "Classify")
        self.plot.clicked.connect(self._clicked)
        self.plot.drawn.connect(self._mark_current)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("one row per frame: time, verdict, numbers, label, class")
        self.export_button.clicked.connect(self.export_csv)
        self.banner = NoProjectBanner(
            self, "The time view plots a project's movies frame by frame: open a movie or "
                  "stack (multi-frame TIFF, EMD, DM, MRC) as a project.",
            project_only=[self.export_button])
        for combo in (self.movie, self.metric):  # long movie names must not widen the dock
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)
        choices = QFormLayout()
        choices.addRow("movie:", self.movie)
        choices.addRow("plot:", self.metric)
        layout = self.scrolling_layout()
        layout.addWidget(self.banner)
        layout.addLayout(choices)
        layout.addWidget(self.summary)
        layout.addWidget(self.export_button)
        layout.addWidget(self.plot)
        layout.addStretch(1)

        self._refresh_timer = single_shot(self, REFRESH_DELAY_MS, self.refresh)
        # badges_changed: the Classify step published new predictions (session.predictions)
        for signal in (self.session.results_changed, self.session.labels_changed,
                       self.session.badges_changed, self.session.images_changed,
                       self.session.project_changed):
            listen(self, signal, self._changed)
        listen(self, self.session.current_changed, self._current_changed)
        # another project: its frame ids are others, so the picture of the last one goes now
        listen(self, self.session.project_changed, lambda _project: self.plot.clear())

    # ------------------------------------------------------------------ reading
    def _changed(self, *_args) -> None:
        """Something the rows show changed: read them again soon (when the step is open)."""
        self._dirty = True
        if self.is_open():
            self._refresh_timer.start()

    def step_opened(self) -> None:
        """The step was opened: read what changed while it was closed."""
        super().step_opened()
        if self._dirty:
            self._refresh_timer.start(0)
        self._mark_current()  # frames shown while the step was closed

    def refresh(self) -> None:
        """Read the project's movies and the shown movie's rows (in the job runner)."""
        project = self.session.project
        if project is None:
            self.movies, self.table, self._classes, self._summary = {}, None, [], ""
            self._show_movies()
            return
        self._dirty = False
        wanted = self.movie.currentText() or self._current_movie()
        # the session's movies, grouped once per change of the images (not again per refresh)
        movies, predictions = self.session.record_index().movies, self.session.predictions

        def read(_token):
            from nanomorph.workflows.timeline import movie_table

            name = wanted if wanted in movies else next(iter(movies), None)
            table = movie_table(project, movies[name], predictions) if name else None
            return movies, name, table, *(_shown(table) if table else ([], ""))

        self.run_job(lambda token: call_as_job(read, token), name="Read the time series",
                     on_done=self._read)

    def _read(self, outcome) -> None:
        self.movies, name, self.table, self._classes, self._summary = outcome
        self._show_movies(name)

    def _show_movies(self, name: str | None = None) -> None:
        self.movie.blockSignals(True)
        self.movie.clear()
        self.movie.addItems(list(self.movies))
        if name is not None:
            self.movie.setCurrentText(name)
        self.movie.blockSignals(False)
        if self.table is None:
            self.summary.setText("no movie in this project" if not self.movies else "")
            self.plot.clear()
            return
        self.summary.setText(self._summary)
        self._draw()

    def _current_movie(self) -> str | None:
        current = self.session.current
        return None if current is None else current.group

    def _current_changed(self, record) -> None:
        if record is None or record.group is None or not self.is_open():
            return
        if record.group == self.movie.currentText():
            self._mark_current()
        elif record.group in self.movies:
            self.movie.setCurrentText(record.group)  # reads that movie's rows
        else:
            self._changed()

    # ------------------------------------------------------------------ plot
    def _draw(self) -> None:
        if self.table is not None:
            self.plot.show_data((self.table, METRICS[self.metric.currentIndex()],
                                 self._classes))

    def _mark_current(self) -> None:
        """The current frame's dashed line on the plot on show (no drawing again)."""
        current, where = self.session.current, self.plot.extra
        shown = self._shown_ids()
        found = [] if current is None or shown is None else np.flatnonzero(shown == current.id)
        if not len(found):
            self.plot.set_marker(None)
            return
        (top, bottom), x = where[1], where[0][int(found[0]), 0]
        self.plot.set_marker((float(x), top, bottom))

    def _shown_ids(self) -> np.ndarray | None:
        """The image ids of the frames on the plot on show, in the order of its points (a
        newer table may be on its way: the picture and its points stay of the one drawn)."""
        shown = self.plot.shown
        return None if shown is None or self.plot.extra is None else shown[0]["image_id"]

    def _clicked(self, x: float, _y: float) -> None:
        """Open the frame nearest in time to a click on the plot."""
        shown = self._shown_ids()
        if shown is None or not len(shown) or self.session.project is None:
            return
        positions = self.plot.extra[0]
        image_id = shown[int(np.argmin(np.abs(positions[:, 0] - x)))]
        self.session.set_current(self.session.project.images.get(int(image_id)))

    # ------------------------------------------------------------------ export
    def export_csv(self) -> None:
        if self.table is None:
            show_warning("no movie to export: open a movie or stack as a project")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the movie's frames", "",
                                              "CSV (*.csv)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """Write the shown movie's frames to a CSV file (in the job runner).

        Parameters
        ----------
        path : str
            The CSV file.
        """
        from nanomorph.workflows.timeline import write_timeline_csv

        table = self.table
        self.run_job(lambda _t: call_as_job(write_timeline_csv, path, table),
                     name="Export the time series",
                     on_done=lambda n: show_info(f"wrote {n} frames to {path}"))

