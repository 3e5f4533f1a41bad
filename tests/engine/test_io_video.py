"""Videos (MP4, AVI) as movies: frame count, frame interval, frames read by index and by block,
gray levels, a project of their frames, `nanomorph info`, and damaged files refused in one
line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanomorph.cli import main
from nanomorph.errors import ImageReadError
from nanomorph.io import read_image
from nanomorph.io.readers import read_frames, read_info
from nanomorph.jobs import run_job
from nanomorph.project import Project


def write_video(path, codec: str, n_frames: int = 30, rate: int = 10, pixel_format="yuv420p"):
    """A gray video of a bar sweeping across a square whose level rises frame by frame."""
    import av

    frames = []
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pixel_format
        for i in range(n_frames):
            image = np.full((48, 64), 40, np.uint8)
            image[:, (2 * i) % 64] = 250
            image[10:20, 10:20] = 8 * i
            frames.append(image)
            rgb = av.VideoFrame.from_ndarray(np.repeat(image[..., None], 3, 2), format="rgb24")
            for packet in stream.encode(rgb):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path), np.array(frames)


@pytest.mark.parametrize("name,codec,pixel_format,error", [
    ("growth.mp4", "mpeg4", "yuv420p", 4.0), ("growth.avi", "ffv1", "yuv444p", 0.1)])
def test_a_video_is_a_stack_of_gray_frames_with_its_interval(tmp_path, name, codec,
                                                              pixel_format, error):
    path, truth = write_video(tmp_path / name, codec, pixel_format=pixel_format)
    info = read_info(path)
    assert info.shape == (30, 48, 64) and info.dtype == "uint8" and info.frames == 30
    assert info.frame_interval_s == pytest.approx(0.1)
    assert info.format.startswith("video (") and not info.calibration.calibrated
    every = read_frames(path, 0, 30)
    assert np.abs(every.astype(int) - truth).mean() < error  # lossy or not, the same frames
    np.testing.assert_array_equal(read_frames(path, 17, 23), every[17:23])  # seek + decode
    np.testing.assert_array_equal(read_image(path, page=29).data, every[29])
    np.testing.assert_array_equal(read_image(path).data, every)


def test_a_project_holds_each_frame_of_a_video(tmp_path):
    path, _ = write_video(tmp_path / "run.avi", "ffv1", n_frames=12, pixel_format="yuv444p")
    with Project.create(tmp_path / "p") as project:
        result = run_job(project.images.add([path]))
        records = result.added
        assert [r.frame for r in records] == list(range(12)) and not result.failed
        assert records[5].time_s == pytest.approx(0.5) and records[5].group == "run.avi"
        np.testing.assert_array_equal(read_image(path, page=records[7].page).data,
                                      read_frames(path, 7, 8)[0])


def test_info_gives_frames_and_interval(tmp_path, capsys):
    path, _ = write_video(tmp_path / "run.mp4", "mpeg4", n_frames=8, rate=25)
    assert main(["info", path, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["frames"] == 8 and shown["frame_interval_s"] == pytest.approx(0.04)


def test_damaged_and_mislabelled_videos_are_refused_in_one_line(tmp_path):
    path, _ = write_video(tmp_path / "run.mp4", "mpeg4")
    content = open(path, "rb").read()
    (tmp_path / "cut.mp4").write_bytes(content[:len(content) // 3])
    with pytest.raises(ImageReadError, match="cut.mp4") as cut:
        read_info(tmp_path / "cut.mp4")
    assert "\n" not in str(cut.value)
    (tmp_path / "notes.mp4").write_text("not a video at all, just text")
    with pytest.raises(ImageReadError, match="the content is not MP4/QuickTime video"):
        read_info(tmp_path / "notes.mp4")
    with pytest.raises(ImageReadError, match="no page 30"):
        read_image(path, page=30)


def test_frames_without_timestamps_are_counted_from_the_first():
    """A stream whose frames carry no timestamp after the seek is decoded again from its first
    frame and counted (never counted from the key frame the seek landed on)."""
    from fractions import Fraction

    from nanomorph.io.video import _decode

    class Frame:
        def __init__(self, index, pts):
            self.index, self.pts = index, pts

        def to_ndarray(self, format):
            return np.full((2, 2, 3), self.index, np.uint8)

    class Stream:
        average_rate, time_base, start_time = Fraction(10), Fraction(1, 10), 0

    class Container:
        def __init__(self):
            self.position = 0

        def seek(self, offset, stream, backward):
            self.position = offset  # a key frame: 0 or 4 here

        def decode(self, stream):
            first = 4 if self.position >= 4 else 0
            return (Frame(i, None if first else i) for i in range(first, 12))

    frames = _decode(Container(), Stream(), 6, 9)
    assert [int(f[0, 0]) for f in frames] == [6, 7, 8]
    assert [int(f[0, 0]) for f in _decode(Container(), Stream(), 0, 3)] == [0, 1, 2]
