"""Reader, writer and sample data contributions, called the way napari calls them."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_nanomorph import sample_data
from napari_nanomorph.reader import get_reader
from napari_nanomorph.writer import write_labels


def test_reader_gives_a_calibrated_layer(tmp_path):
    path = tmp_path / "wire.tif"
    tifffile.imwrite(path, np.arange(64 * 80, dtype=np.uint16).reshape(64, 80), imagej=True,
                     resolution=(1 / 0.004, 1 / 0.004), metadata={"unit": "um"})
    reader = get_reader(str(path))
    (data, meta, kind), = reader(str(path))
    assert kind == "image" and data.shape == (64, 80)
    assert meta["scale"] == pytest.approx((4.0, 4.0)) and meta["units"] == ("nm", "nm")


def test_reader_declines_what_it_cannot_read_and_names_bad_files(tmp_path):
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader(str(tmp_path)) is None  # a plain folder is not a project
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.tif"):
        get_reader(str(empty))(str(empty))


def test_writer_keeps_mask_values_and_calibration(tmp_path):
    mask = np.zeros((30, 40), np.int32)
    mask[3:9, 5:30] = 1
    mask[20:25, 2:8] = 2
    out = write_labels(str(tmp_path / "mask.tif"), mask, {"scale": (2.0, 2.0), "units": ("nm", "nm")})
    assert out == [str(tmp_path / "mask.tif")]
    with tifffile.TiffFile(out[0]) as tif:
        np.testing.assert_array_equal(tif.asarray(), mask)
        x_res = tif.pages[0].tags["XResolution"].value
        assert x_res[0] / x_res[1] == pytest.approx(500.0)  # pixels per µm
    png = write_labels(str(tmp_path / "mask.png"), mask, {})[0]
    import imageio.v3 as iio

    np.testing.assert_array_equal(iio.imread(png), mask)


def test_writer_refuses_what_it_cannot_store_losslessly(tmp_path):
    with pytest.raises(ValueError, match="2-D"):
        write_labels(str(tmp_path / "m.tif"), np.zeros((2, 3, 4), np.uint8), {})
    with pytest.raises(ValueError, match="0..65535"):
        write_labels(str(tmp_path / "m.tif"), np.full((3, 3), 70000), {})


@pytest.mark.parametrize("kind", ["network", "bundle", "dispersed", "singular"])
def test_sample_data_gives_an_image_and_its_exact_mask_at_scale(kind):
    (image, image_meta, t1), (mask, mask_meta, t2) = getattr(sample_data, kind)()
    assert (t1, t2) == ("image", "labels")
    assert image.shape == mask.shape and set(np.unique(mask)) <= {0, 1}
    assert 0 < mask.mean() < 0.3
    assert image_meta["units"] == ("nm", "nm") and image_meta["scale"] == mask_meta["scale"]
