"""Bad input raises ImageReadError with a reason a microscopist understands, never another type."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest
import tifffile
from PIL import Image

from nanomorph.errors import ImageReadError
from nanomorph.io.readers import DEFAULT_MAX_PIXELS, read_image, read_info


def write_tiff(path, data=None):
    data = np.arange(200 * 300, dtype=np.uint8).reshape(200, 300) if data is None else data
    tifffile.imwrite(path, data, metadata=None)  # no JSON shape description: plain tags only
    return path


def patch_tiff_size(path, width: int, height: int) -> None:
    """Rewrite ImageWidth/ImageLength in place (their values sit in the IFD entries)."""
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        offsets = {name: (tags[name].valueoffset, tags[name].dtype) for name in ("ImageWidth", "ImageLength")}
    with open(path, "r+b") as file:
        for name, value in (("ImageWidth", width), ("ImageLength", height)):
            offset, dtype = offsets[name]
            file.seek(offset)
            file.write(struct.pack("<I" if dtype == 4 else "<H", value))


def reason(path, **kwargs) -> str:
    with pytest.raises(ImageReadError) as info:
        read_image(path, **kwargs)
    assert info.value.path == os.fsdecode(os.fspath(path))
    assert "\n" not in info.value.reason
    return info.value.reason


def test_missing_file(tmp_path):
    assert reason(tmp_path / "nothing.tif") == "no such file"


def test_empty_file(tmp_path):
    (tmp_path / "empty.tif").write_bytes(b"")
    assert reason(tmp_path / "empty.tif") == "the file is empty (0 bytes)"


def test_folder(tmp_path):
    (tmp_path / "images.tif").mkdir()
    assert "folder" in reason(tmp_path / "images.tif")


def test_unsupported_suffix(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    text = reason(tmp_path / "notes.txt")
    assert "'.txt' files are not supported" in text and ".dm4" in text


def test_truncated_tiff_names_the_sizes(tmp_path):
    whole = write_tiff(tmp_path / "whole.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(whole[: len(whole) // 2])
    text = reason(tmp_path / "cut.tif")
    assert text.startswith("the file is truncated")
    assert f"{len(whole) // 2:,} bytes" in text
    with pytest.raises(ImageReadError, match="truncated"):
        read_info(tmp_path / "cut.tif")


def test_a_checked_movie_is_not_checked_again_but_a_cut_copy_is(tmp_path, monkeypatch):
    import tifffile

    from nanomorph.io import read_image, tiff

    movie = np.arange(6 * 16 * 16, dtype=np.uint16).reshape(6, 16, 16)
    tifffile.imwrite(tmp_path / "m.tif", movie, imagej=True, metadata={"axes": "TYX"})
    checks = []
    real = tiff._check_ifds
    monkeypatch.setattr(tiff, "_check_ifds", lambda *a: (checks.append(1), real(*a)))
    for page in range(6):  # a movie read frame by frame is checked once
        np.testing.assert_array_equal(read_image(tmp_path / "m.tif", page=page).data, movie[page])
    assert len(checks) == 1
    whole = (tmp_path / "m.tif").read_bytes()
    (tmp_path / "m.tif").write_bytes(whole[: len(whole) - 300])  # cut in place: checked again
    assert read_info(tmp_path / "m.tif").metadata["truncated"] == (
        "the file is truncated after its pixels: all 6 frames are whole")
    assert len(checks) == 2
    (tmp_path / "m.tif").write_bytes(whole[: len(whole) // 2])  # cut inside the frames
    assert read_info(tmp_path / "m.tif").metadata["truncated"].startswith(
        "the file is truncated: only its first 3 of 6 frames are whole")


def test_directories_are_checked_alike_whatever_the_read_and_check_blocks(tmp_path,
                                                                           monkeypatch):
    """The directory walk reads 1 MiB blocks and checks thousands of directories at once; with
    blocks of a few bytes and directories the verdict on each cut of a file is the same."""
    import tifffile

    from nanomorph.io import tiff

    rng = np.random.default_rng(0)  # compressed pages: a directory before each page's data
    tifffile.imwrite(tmp_path / "m.tif", rng.integers(0, 9, (30, 8, 8), np.uint8),
                     compression="zlib", description="a" * 300)
    whole = (tmp_path / "m.tif").read_bytes()

    def verdicts() -> list[str]:
        said = []
        for end in range(len(whole) // 3, len(whole) + 1, 37):
            (tmp_path / "cut.tif").write_bytes(whole[:end])
            with tifffile.TiffFile(tmp_path / "cut.tif") as tif:
                try:
                    tiff._check_ifds(tif, str(tmp_path / "cut.tif"))
                    said.append("whole")
                except ImageReadError as error:
                    said.append(str(error))
        return said

    default = verdicts()
    monkeypatch.setattr(tiff, "_READ_BLOCK", 16)
    monkeypatch.setattr(tiff, "_DIRECTORIES_CHECKED_AT_ONCE", 2)
    assert verdicts() == default
    assert default[-1] == "whole" and sum(v != "whole" for v in default) > 10


def test_a_long_movie_is_walked_in_few_reads(tmp_path, monkeypatch):
    """Each read lets go of Python's lock, which CPython hands straight back to the reader:
    200,000 small reads for a 100,000-frame movie starved the GUI thread."""
    import io

    import tifffile

    from nanomorph.io import tiff

    tifffile.imwrite(tmp_path / "m.tif", np.zeros((3000, 16, 16), np.uint8), imagej=True,
                     metadata={"axes": "TYX"})
    reads = []
    real_read = io.BufferedReader.read

    class Counting(io.BufferedReader):
        def read(self, *args):
            reads.append(1)
            return real_read(self, *args)

    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, mode="r", *a, **k: Counting(
        real_open(path, "rb", buffering=0)) if mode == "rb" else real_open(path, mode, *a, **k))
    with tifffile.TiffFile(tmp_path / "m.tif") as tif:
        assert len(tif.pages) == 3000
        reads.clear()  # tifffile's own
        tiff._check_ifds(tif, str(tmp_path / "m.tif"))
    assert 0 < len(reads) <= 3


def test_a_cut_movie_gives_its_whole_frames_and_says_how_many(tmp_path):
    import tifffile

    from nanomorph.io import read_image
    from nanomorph.io.readers import read_frames

    movie = np.arange(20 * 16 * 24, dtype=np.uint16).reshape(20, 16, 24)
    tifffile.imwrite(tmp_path / "m.tif", movie, imagej=True, resolution=(100, 100),
                     metadata={"axes": "TYX", "unit": "um", "finterval": 0.5})
    whole = (tmp_path / "m.tif").read_bytes()
    with tifffile.TiffFile(tmp_path / "m.tif") as tif:
        first = tif.pages[0].dataoffsets[0]
    (tmp_path / "cut.tif").write_bytes(whole[:first + 12 * 16 * 24 * 2 + 500])  # 12.7 frames
    info = read_info(tmp_path / "cut.tif")
    assert info.shape[0] == 12 and info.frame_interval_s == 0.5
    assert info.calibration.pixel_size_nm() == pytest.approx((10.0, 10.0))
    assert info.metadata["truncated"] == ("the file is truncated: only its first 12 of 20 "
                                          "frames are whole; the rest are cut off")
    np.testing.assert_array_equal(read_frames(tmp_path / "cut.tif", 3, 12), movie[3:12])
    np.testing.assert_array_equal(read_image(tmp_path / "cut.tif", page=11).data, movie[11])
    with pytest.raises(ImageReadError, match="no page 12"):
        read_image(tmp_path / "cut.tif", page=12)
    tifffile.imwrite(tmp_path / "z.tif", movie, compression="zlib")  # compressed: refused
    packed = (tmp_path / "z.tif").read_bytes()
    (tmp_path / "z.tif").write_bytes(packed[:len(packed) // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        read_info(tmp_path / "z.tif")
    (tmp_path / "tiny.tif").write_bytes(whole[:first + 100])  # not one whole frame: refused
    with pytest.raises(ImageReadError, match="truncated"):
        read_info(tmp_path / "tiny.tif")


def test_tiff_cut_inside_its_header(tmp_path):
    whole = write_tiff(tmp_path / "whole.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(whole[:20])
    assert "cannot read this file as TIFF" in reason(tmp_path / "cut.tif")


def test_huge_declared_tiff_is_refused_before_reading(tmp_path):
    path = write_tiff(tmp_path / "huge.tif")
    patch_tiff_size(path, 100_000, 100_000)
    text = reason(path)
    assert "100,000 × 100,000 pixels" in text and "10 gigapixels" in text
    with pytest.raises(ImageReadError, match="gigapixels"):
        read_info(path)


def test_max_pixels_is_a_parameter(tmp_path):
    path = write_tiff(tmp_path / "small.tif")
    assert "200 × 300 pixels" in reason(path, max_pixels=1000)
    assert read_image(path, max_pixels=60_000).shape == (200, 300)
    assert DEFAULT_MAX_PIXELS == 1_000_000_000


def test_huge_declared_png_is_refused(tmp_path):
    """A PNG header claiming 100000 × 100000: Pillow's size guard, reported with the size."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
    (tmp_path / "huge.png").write_bytes(png + chunk(b"IEND", b""))
    assert "10000000000 pixels" in reason(tmp_path / "huge.png")


def test_tiff_suffix_with_garbage_content(tmp_path):
    (tmp_path / "junk.tif").write_bytes(b"this is not an image at all" * 10)
    assert reason(tmp_path / "junk.tif").startswith("the content is not TIFF")


def test_damaged_dm3_is_an_image_read_error(tmp_path):
    (tmp_path / "bad.dm3").write_bytes(b"\0\0\0\3" + b"\xff" * 100)
    assert "cannot read this file as Gatan DM3" in reason(tmp_path / "bad.dm3")


@pytest.mark.parametrize("suffix", [".mrc", ".emi", ".elid", ".emd", ".dm4"])
def test_garbage_in_native_formats(tmp_path, suffix):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(os.urandom(300))
    reason(path)  # ImageReadError, whatever the library raised


def test_four_dimensional_data_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "hyper.tif", np.zeros((2, 3, 4, 5), np.uint8), imagej=True)
    assert "4-D data" in reason(tmp_path / "hyper.tif")


def test_complex_data_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "fft.tif", np.ones((4, 4), np.complex64))
    assert "complex" in reason(tmp_path / "fft.tif")


def test_all_nan_image(tmp_path):
    tifffile.imwrite(tmp_path / "nan.tif", np.full((3, 3), np.nan, np.float32))
    assert reason(tmp_path / "nan.tif") == "no finite pixel values: every pixel is NaN or infinite"


def test_page_outside_the_stack(tmp_path):
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((2, 4, 4), np.uint8), photometric="minisblack")
    assert reason(tmp_path / "stack.tif", page=2) == "there is no page 2: the file holds 2 image(s)"


def test_error_message_of_an_undecodable_name_is_printable(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9.tif"
    with pytest.raises(ImageReadError) as info:
        read_image(name)
    assert str(info.value).endswith("caf\\xe9.tif: no such file")
    str(info.value).encode("utf-8")  # printable


def test_png_renamed_tif_is_read_by_content(tmp_path):
    Image.fromarray(np.array([[1, 2], [3, 4]], np.uint8)).save(tmp_path / "a.png")
    os.replace(tmp_path / "a.png", tmp_path / "a.tif")
    image = read_image(tmp_path / "a.tif")
    assert image.format == "PNG"
    np.testing.assert_array_equal(image.data, [[1, 2], [3, 4]])
    assert any("ends in .tif" in note for note in image.metadata["notes"])


@pytest.mark.parametrize("bigtiff", [False, True])
def test_directories_are_walked_raw_in_classic_and_big_tiff(tmp_path, bigtiff):
    """The raw walk of the directory chain reads both entry layouts (12 and 20 bytes): a stack
    cut inside its trailing directories keeps all its frames and says so."""
    movie = np.arange(5 * 8 * 8, dtype=np.uint16).reshape(5, 8, 8)
    tifffile.imwrite(tmp_path / "m.tif", movie, bigtiff=bigtiff, metadata={"axes": "TYX"},
                     contiguous=True)
    whole = (tmp_path / "m.tif").read_bytes()
    with tifffile.TiffFile(tmp_path / "m.tif") as tif:
        last = tif.pages[-1].offset
        entry_bytes = tif.tiff.tagsize
    assert read_info(tmp_path / "m.tif").metadata.get("truncated") is None
    (tmp_path / "cut.tif").write_bytes(whole[:last + 10])
    assert read_info(tmp_path / "cut.tif").metadata["truncated"] == (
        "the file is truncated after its pixels: all 5 frames are whole")
    assert entry_bytes == (20 if bigtiff else 12)
