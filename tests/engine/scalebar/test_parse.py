"""Lengths from OCR text: units, decimal commas, OCR confusions; everything else refused."""

from __future__ import annotations

import pytest
from nanomorph.scalebar import parse_length


@pytest.mark.parametrize("text, value, unit", [
    ("10.0um", 10.0, "µm"), ("200 nm", 200.0, "nm"), ("1O nm", 10.0, "nm"),
    ("0,5 µm", 0.5, "µm"), ("10 μm", 10.0, "µm"), ("2 urn", 2.0, "µm"), ("5nm", 5.0, "nm"),
    ("l0 nm", 10.0, "nm"), ("1 0 nm", 10.0, "nm"), ("500 pm", 500.0, "µm"),
    ("10 Å", 10.0, "Å"), ("50 A", 50.0, "Å"), ("HFW 41.4 µm", 41.4, "µm"),
    ("1 mm", 1.0, "mm"), ("5. nm", 5.0, "nm"),
])
def test_lengths_are_read(text, value, unit):
    length = parse_length(text)
    assert length is not None and length.value == pytest.approx(value) and length.unit == unit


@pytest.mark.parametrize("text", ["×5000", "x5.00k", "3.00 kV", "16:03", "", "nm", "0 nm",
                                  "10 nm 20 nm", "SE(UL)", "a cat"])
def test_everything_else_is_refused(text):
    assert parse_length(text) is None


def test_nanometres_of_each_unit():
    assert parse_length("2 µm").nm == pytest.approx(2000)
    assert parse_length("10 Å").nm == pytest.approx(1)
