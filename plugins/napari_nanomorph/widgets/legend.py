"""Legends for the overlays a step draws on the canvas: a coloured square and what it means,
shown in the step's panel beside the controls of that overlay."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel


class Legend(QLabel):
    """A one-paragraph legend.

    Parameters
    ----------
    title : str
        What the legend explains, e.g. ``"difference layer"``.
    items : sequence of (str, str)
        ``(colour "#rrggbb", meaning)`` in display order.
    """

    def __init__(self, title: str, items: Sequence[tuple[str, str]]):
        super().__init__()
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.items = list(items)
        entries = "&nbsp;&nbsp; ".join(
            f"<span style='color:{color}; font-size:13pt'>■</span>&nbsp;{escape(meaning)}"
            for color, meaning in self.items)
        self.setText(f"<i>{escape(title)}:</i> {entries}")
