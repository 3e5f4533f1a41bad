"""The workflow bar: every step of the work in one dock, as ilastik shows its applets — all step
names readable at once, the active step's panel at the full height between them (a Qt
toolbox). The steps are the same widgets a plugin user adds one by one from the Plugins menu.
"""

from __future__ import annotations

from napari_nanomorph.preferences import load_preferences, update_preferences
from qtpy.QtWidgets import QSizePolicy, QToolBox, QVBoxLayout, QWidget

# (title, module, class): the order of the work
STEPS = (
    ("Project", "project", "ProjectWidget"),
    ("Mask", "mask", "MaskWidget"),
    ("Percolation", "percolation", "PercolationWidget"),
    ("Measure", "measure", "MeasureWidget"),
    ("Over time", "timeline", "TimelineWidget"),
    ("Explore", "explore", "ExploreWidget"),
    ("Classify", "classify", "ClassifyWidget"),
    ("Evaluation", "evaluation", "EvaluationWidget"),
    ("Segment", "segment", "SegmentWidget"),
    ("Pretrain", "pretrain", "PretrainWidget"),
    ("Batch & Report", "batch_report", "BatchReportWidget"),
)
MIN_WIDTH_PX = 380


class WorkflowWidget(QWidget):
    """All nanomorph steps of one viewer in a step bar.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer (napari passes it).
    """

    def __init__(self, napari_viewer):
        import importlib

        super().__init__()
        self.viewer = napari_viewer
        self.toolbox = QToolBox()
        self.steps: dict[str, QWidget] = {}
        for number, (title, module, name) in enumerate(STEPS, start=1):
            cls = getattr(importlib.import_module(f"napari_nanomorph.widgets.{module}"), name)
            widget = cls(napari_viewer)
            self.steps[title] = widget
            self.toolbox.addItem(widget, f"{number}  {title.replace('&', '&&')}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toolbox)
        self.setMinimumWidth(MIN_WIDTH_PX)
        # napari pads docks that do not ask for height: the active step takes the full height
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        last = load_preferences().get("step")
        if isinstance(last, str) and last in self.steps:
            self.show_step(last)
        self.toolbox.currentChanged.connect(self._opened)

    def _opened(self, index: int) -> None:
        """A step was opened: remember it, and let it catch up (``step_opened``) on what it
        left for while it was closed."""
        update_preferences(step=STEPS[index][0])
        opened = getattr(self.toolbox.widget(index), "step_opened", None)
        if opened is not None:
            opened()

    def show_step(self, title: str) -> None:
        """Make a step the active one.

        Parameters
        ----------
        title : str
            A step's title, e.g. ``"Segment"``.
        """
        self.toolbox.setCurrentWidget(self.steps[title])

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        """The window closes (or the bar is hidden): remember its geometry and the bar's width."""
        from qtpy.QtWidgets import QMainWindow

        super().hideEvent(event)
        window = self.window()
        if isinstance(window, QMainWindow):
            update_preferences(
                geometry=bytes(window.saveGeometry().toBase64()).decode("ascii"),
                workflow_width=self.width())

    @property
    def current_step(self) -> str:
        """The active step's title."""
        return STEPS[self.toolbox.currentIndex()][0]
