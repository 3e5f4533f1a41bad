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
