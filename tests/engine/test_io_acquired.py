"""Acquisition times from file metadata: one ISO 8601 text per image, and frame times of a
folder of numbered frames from them."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from nanomorph.io.acquired import acquired_iso, seconds_since_first
from nanomorph.io.readers import read_info


@pytest.mark.parametrize("date, time, zone, iso", [
    ("2020-07-29", "16:48:19", "UTC", "2020-07-29T16:48:19+00:00"),
    ("2019-11-27", "16:11:26.620540", "+09:00", "2019-11-27T16:11:26.620540+09:00"),
    ("2016-02-22", "18:50:01", None, "2016-02-22T18:50:01"),
    ("2016-02-22", "18:50:01", "Europe/Berlin", "2016-02-22T18:50:01"),  # not an offset
    ("2016-02-22", None, None, None),
    ("22/02/2016", "18:50:01", None, None),
    ("", "", "", None),
])
def test_a_date_and_time_become_one_iso_text(date, time, zone, iso):
    assert acquired_iso(date, time, zone) == iso


@pytest.mark.parametrize("stamp, iso", [
    ("2024:03:01 10:00:05", "2024-03-01T10:00:05"),  # the TIFF layout
    ("2024/03/01 10:00", "2024-03-01T10:00:00"),  # JEOL's
    ("yesterday", None),
])
def test_a_tiff_datetime_tag(tmp_path, stamp, iso):
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((4, 4), np.uint8),
                     extratags=[(306, "s", 0, stamp, True)])
    assert read_info(tmp_path / "a.tif").metadata.get("acquired") == iso


def test_frame_times_are_seconds_since_the_first_stamp():
    stamps = ["2024-03-01T10:00:05", "2024-03-01T10:00:07.5", "2024-03-01T10:01:00"]
    assert seconds_since_first(stamps) == [0.0, 2.5, 55.0]
    zoned = ["2024-03-01T10:00:00+01:00", "2024-03-01T09:00:03+00:00"]
    assert seconds_since_first(zoned) == [0.0, 3.0]


@pytest.mark.parametrize("stamps", [
    ["2024-03-01T10:00:05", None],  # a frame without a stamp
    ["2024-03-01T10:00:05", "2024-03-01T10:00:05"],  # whole seconds, faster frames
    ["2024-03-01T10:00:05", "2024-03-01T10:00:01"],  # out of order
    [],
])
def test_stamps_that_tell_no_frame_times(stamps):
    assert seconds_since_first(stamps) is None


def _exif(original=None, subsec=None, offset=None, plain=None) -> bytes:
    """An EXIF block with when the picture was taken (``DateTimeOriginal`` and its fraction of a
    second and zone in the Exif directory) and/or the plain ``DateTime`` tag."""
    from PIL import Image

    exif = Image.Exif()
    if plain is not None:
        exif[306] = plain
    taken = exif.get_ifd(0x8769)
    for tag, value in ((36867, original), (37521, subsec), (36881, offset)):
        if value is not None:
            taken[tag] = value
    return exif.tobytes()


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
@pytest.mark.parametrize("exif, iso", [
    (dict(original="2024:03:05 14:07:09", subsec="25", offset="+01:00"),
     "2024-03-05T14:07:09.250000+01:00"),
    (dict(original="2024:03:05 14:07:09", plain="2024:03:06 08:00:00"), "2024-03-05T14:07:09"),
    (dict(plain="2024:03:06 08:00:00"), "2024-03-06T08:00:00"),
    (dict(original="    :  :     :  :  ", plain="2024:03:06 08:00:00"), "2024-03-06T08:00:00"),
    ({}, None),
])
def test_when_a_jpeg_or_png_was_taken_comes_from_its_exif(tmp_path, kind, exif, iso):
    from PIL import Image

    path = tmp_path / f"a.{kind.lower()}"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path, kind, exif=_exif(**exif))
    assert read_info(path).metadata.get("acquired") == iso


def test_a_damaged_exif_block_gives_no_time_and_the_image_still_opens():
    from nanomorph.io.acquired import exif_acquired

    assert exif_acquired(b"Exif\x00\x00II*\x00\xff\xff\xff\x7f") is None
    assert exif_acquired(b"") is None and exif_acquired(None) is None
