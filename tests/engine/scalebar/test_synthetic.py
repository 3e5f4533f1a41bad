"""Scale bars the project's generator draws, with exact truth: every style and polarity, text
sizes and bar lengths, noise, 16-bit, float and RGB pictures; and the bad inputs (no bar, a cut
bar, a label that is no length, tiny images) give a clear answer, never a confident wrong one."""

from __future__ import annotations

import numpy as np
import pytest
from nanomorph.scalebar import NoScaleBarError, read_scale_bar
from nanomorph.synthetic import generate_morphology
from nanomorph.synthetic.scalebar import STYLES, draw_scale_bar

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def micrograph():
    return generate_morphology("network", shape=(512, 640), seed=3).image


def check(image, truth, tolerance=0.02):
    reading = read_scale_bar(image)
    assert reading.value == truth.value and reading.unit == truth.unit, reading.text
    assert reading.pixel_size_nm == pytest.approx(truth.pixel_size_nm, rel=tolerance)
    return reading


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("polarity, corner", [("bright", "bottom-left"), ("dark", "top-right")])
def test_every_style_and_polarity(micrograph, style, polarity, corner):
    image, truth = draw_scale_bar(micrograph, 3.1, style=style, polarity=polarity,
                                  corner=corner, target_px=180, font_px=18,
                                  boxed=polarity == "dark")
    reading = check(image, truth)
    assert reading.style == style and reading.confidence > 0.8
    assert reading.bar_px == pytest.approx(truth.bar_px, abs=0.6)


@pytest.mark.parametrize("font_px, target_px", [(12, 60), (16, 100), (24, 240), (32, 300)])
def test_text_heights_and_bar_lengths(micrograph, font_px, target_px):
    image, truth = draw_scale_bar(micrograph, 0.8, font_px=font_px, target_px=target_px)
    check(image, truth)


def test_noise_16_bit_float_and_rgb(micrograph):
    rng = np.random.default_rng(0)
    image, truth = draw_scale_bar(micrograph, 12.0, target_px=150, font_px=20)
    noisy = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    check(noisy, truth)
    check(image.astype(np.uint16) * 257, truth)
    check(image.astype(np.float32) / 255.0, truth)
    check(np.stack([image] * 3, axis=-1), truth)


def test_no_bar_is_a_clear_error_not_a_guess(micrograph):
    with pytest.raises(NoScaleBarError, match="no scale bar"):
        read_scale_bar(micrograph)
    with pytest.raises(NoScaleBarError):
        read_scale_bar(np.zeros((300, 300), np.uint8))  # flat
    with pytest.raises(NoScaleBarError, match="too small"):
        read_scale_bar(np.zeros((10, 10), np.uint8))


def test_a_label_that_is_no_length_is_no_reading(micrograph):
    from nanomorph.synthetic.scalebar import _font
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(micrograph.copy())
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([20, 470, 179, 475], fill=255)
    draw.text((40, 440), "×5000", fill=255, font=_font(20))
    with pytest.raises(NoScaleBarError):
        read_scale_bar(np.asarray(canvas))


def test_a_bar_cut_by_the_edge_is_flagged(micrograph):
    image, truth = draw_scale_bar(micrograph, 3.1, corner="bottom-left", target_px=160,
                                  font_px=18)
    x0, y0, x1, y1 = truth.bbox
    cut = image[:, x0 + 20:]  # the bar now starts at the image's edge
    reading = read_scale_bar(cut)
    assert reading.confidence < 0.6 and any("edge" in note for note in reading.notes)


def test_of_two_bars_the_one_its_label_is_next_to_wins(micrograph):
    first, truth = draw_scale_bar(micrograph, 3.1, corner="bottom-left", target_px=160,
                                  font_px=18)
    both, _ = draw_scale_bar(first, 3.1, corner="top-right", target_px=100, font_px=18,
                             style="bracket")
    reading = read_scale_bar(both)
    assert reading.pixel_size_nm == pytest.approx(truth.pixel_size_nm, rel=0.02)


def jpeg(image, quality=75):
    import imageio.v3 as iio

    return iio.imread(iio.imwrite("<bytes>", image, extension=".jpg", quality=quality))


@pytest.mark.parametrize("style", ["solid", "bracket", "split"])
def test_thin_bars_in_a_jpeg_over_a_noisy_specimen(micrograph, style):
    rng = np.random.default_rng(1)
    noisy = np.clip(micrograph + rng.normal(0, 12, micrograph.shape), 0, 255).astype(np.uint8)
    image, truth = draw_scale_bar(noisy, 1.5, style=style, target_px=160, font_px=18,
                                  thickness_px=2, corner="bottom-right")
    check(jpeg(image), truth, tolerance=0.03)


def test_glyph_strokes_inside_the_label_are_not_its_bar(micrograph):
    # "5 µm": the stems of µ and m are a row of evenly spaced ticks of the label's level
    image, truth = draw_scale_bar(255 - micrograph, 60.0, style="ruler", target_px=80,
                                  font_px=18, polarity="dark", thickness_px=2)
    reading = check(image, truth)
    assert reading.bar_px == pytest.approx(truth.bar_px, abs=1)


def test_an_impossible_mm_is_taken_as_nm_with_half_the_confidence(micrograph, monkeypatch):
    from nanomorph.scalebar import ocr

    image, truth = draw_scale_bar(micrograph, 1.5, target_px=133, font_px=18)
    monkeypatch.setattr(ocr, "read_line", lambda *_: ("200mm", 0.9))
    reading = read_scale_bar(image)
    assert (reading.value, reading.unit) == (200.0, "nm")
    assert reading.pixel_size_nm == pytest.approx(truth.pixel_size_nm, rel=0.02)
    assert reading.confidence < 0.5 and "taken as nm" in reading.notes[0]
