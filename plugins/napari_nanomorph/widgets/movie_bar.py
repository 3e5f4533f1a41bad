"""The frame bar under the image browser: for a frame of a movie, a slider over the movie's
frames, play/pause and the frame's number and time; Alt+Right / Alt+Left step a frame and
Alt+P plays. It moves by making a frame current, so the browser's read-ahead of the
neighbouring frames serves it."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

# frames per second when playing a movie whose frame interval is unknown
DEFAULT_FPS = 10
# the playing rate stays within these bounds (frames per second)
MIN_FPS, MAX_FPS = 1, 25


class MovieBar(QWidget):
    """Slider, play/pause and position of the current frame's movie.

    Parameters
    ----------
    select : callable
        ``select(image_id)`` makes a frame current.
    prefetch : callable
        ``prefetch(records)`` reads frames ahead (the session's :meth:`prefetch`).
    """

    def __init__(self, select: Callable[[int], None], prefetch: Callable[[list], None]):
        super().__init__()
        self._select, self._prefetch = select, prefetch
        self.movies: dict[str, list] = {}  # movie name → its frame records, in frame order
        self._position: dict[int, int] = {}  # frame's image id → its index in its movie
        self.frames: list = []  # the shown movie's
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("frame of the movie (Alt+Left / Alt+Right step one)")
        self.slider.valueChanged.connect(self._slid)
        self.play_button = QPushButton("▶")
        self.play_button.setToolTip("play / pause the movie (Alt+P)")
        self.play_button.setFixedWidth(36)
        self.play_button.clicked.connect(self.toggle)
        self.label = QLabel()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.setVisible(False)

    def set_movies(self, index) -> None:
        """Know the project's movies (called when its images change).

        Parameters
        ----------
        index : RecordIndex
            The project's images, with their movies.
        """
        self.movies, self._position = index.movies, index.frame_position

    def show_record(self, record) -> None:
        """Follow the current image: the bar of its movie, or hidden for a still image.

        Parameters
        ----------
        record : ImageRecord or None
            The current image.
        """
        frames = self.movies.get(record.group) if record is not None else None
        if not frames:
            self.pause()
            self.frames = []
            self.setVisible(False)
            return
        self.frames = frames
        index = self._position.get(record.id, 0)
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(frames) - 1)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        when = record.time_s
        self.label.setText(f"frame {record.frame} of {frames[-1].frame}"
                           + ("" if when is None else f" · {when:g} s"))
        self.setVisible(True)

    @property
    def playing(self) -> bool:
        """Whether the movie is playing."""
        return self.timer.isActive()

    def step(self, delta: int) -> None:
        """Show the frame ``delta`` frames on (negative: back), within the movie.

        Parameters
        ----------
        delta : int
            Frames to move.
        """
        if self.frames:
            self.slider.setValue(max(0, min(len(self.frames) - 1, self.slider.value() + delta)))

    def play(self) -> None:
        """Play from the current frame at the movie's rate (its frame interval, within
        ``MIN_FPS``–``MAX_FPS``), to its last frame."""
        if not self.frames:
            return
        if self.slider.value() == len(self.frames) - 1:
            self.slider.setValue(0)
        interval = self.frames[-1].time_s / max(1, self.frames[-1].frame) \
            if self.frames[-1].time_s else None
        fps = DEFAULT_FPS if not interval else min(MAX_FPS, max(MIN_FPS, 1 / interval))
        self.timer.start(round(1000 / fps))
        self.play_button.setText("⏸")

    def pause(self) -> None:
        """Stop playing."""
        self.timer.stop()
        self.play_button.setText("▶")

    def toggle(self) -> None:
        """Play or pause."""
        self.pause() if self.playing else self.play()

    def _tick(self) -> None:
        if self.slider.value() >= len(self.frames) - 1:
            self.pause()
        else:
            self.step(1)

    def _slid(self, index: int) -> None:
        if 0 <= index < len(self.frames):
            self._select(self.frames[index].id)
            self._prefetch([self.frames[i] for i in (index + 1, index - 1)
                            if 0 <= i < len(self.frames)])
