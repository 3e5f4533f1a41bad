"""Every real file in ../shared/data opens with the right shape, dtype, gray levels and pixel size.

``microscope_formats/truth.csv`` gives per file the 2-D image's shape and the pixel size per axis
(x: ``pixel_size``/``unit``, y: ``pixel_size_y``/``unit_y``; ``A`` is Å; empty = uncalibrated).
The other folders' MANIFEST.csv give width, height and dtype.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from nanomorph.errors import ImageReadError
from nanomorph.io import UNCALIBRATED
from nanomorph.io.calibration import nm_per_unit
from nanomorph.io.readers import read_image, read_info

FORMATS = "microscope_formats"


def rows(folder: Path) -> list[dict]:
    with open(folder / "MANIFEST.csv", newline="", encoding="utf-8") as file:
        return [row for row in csv.DictReader(file) if row["dtype"]]


def truth_rows(shared: Path) -> list[dict]:
    with open(shared / FORMATS / "truth.csv", newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def expected_size(value: str, unit: str) -> tuple[float, str]:
    """A truth pixel size in nm, or as it is for a reciprocal unit."""
    factor = nm_per_unit("Å" if unit == "A" else unit)
    return (float(value) * factor, "nm") if factor else (float(value), unit)


def test_every_truth_row(shared_data):
    truth = truth_rows(shared_data)
    assert len(truth) == 21
    for row in truth:
        image = read_image(shared_data / FORMATS / row["file"])
        shape = (int(row["height"]), int(row["width"]))
        if row["file"] == "fei_example_tem_stack.emd":
            assert image.shape == (2, 3, 3)
            assert image.plane(1).shape == shape
        else:
            assert image.shape == shape, row["file"]
        if not row["pixel_size"]:
            assert image.calibration is UNCALIBRATED, row["file"]
            continue
        (y, unit_y), (x, unit_x) = (expected_size(row["pixel_size_y"], row["unit_y"]),
                                    expected_size(row["pixel_size"], row["unit"]))
        cal = image.calibration
        got = cal.pixel_size_nm() if cal.is_length else cal.pixel_size
        assert ("nm" if cal.is_length else cal.unit) == unit_x == unit_y, row["file"]
        assert got == pytest.approx((y, x), rel=1e-3), row["file"]


def test_manifest_dtypes_and_the_ser_files_alone(shared_data):
    folder = shared_data / FORMATS
    truth = {row["file"]: row for row in truth_rows(shared_data)}
    for row in rows(folder):
        image = read_image(folder / row["file"])
        assert str(image.data.dtype) == row["dtype"], row["file"]
        if row["file"].endswith(".ser"):  # a .ser alone reads like its .emi
            emi = read_image(folder / row["file"].replace("_1.ser", ".emi"))
            assert image.format == emi.format == "FEI TIA"
            np.testing.assert_array_equal(image.data, emi.data)
            assert image.calibration == emi.calibration
            assert emi.shape == (int(truth[emi.path.rsplit("/", 1)[1]]["height"]),) * 2


@pytest.mark.parametrize(("name", "fmt"), [
    ("test_STEM_image.dm3", "Gatan DM3"),
    ("test-MonarcCL_mono-image.dm4", "Gatan DM4"),
    ("Camera_Ceta_Imaging_Micro.emd", "Velox EMD"),
    ("HAADFscan.mrc", "MRC"),
    ("128x128-TEM_search.emi", "FEI TIA"),
    ("Elid2Version4.elid", "Phenom ELID"),
    ("FEI-Helios-Ebeam-8bits.tif", "TIFF (FEI)"),
    ("test_tiff_Zeiss_SEM_1k.tif", "TIFF (Zeiss)"),
    ("JEOL-SightX-TEM-mag-dummy.tif", "TIFF (JEOL)"),
    ("olympus_SIS.tif", "TIFF (Olympus SIS)"),
    ("test_loading_image_saved_with_imageJ.tif", "TIFF (ImageJ)"),
])
def test_format_names_and_read_info(shared_data, name, fmt):
    path = shared_data / FORMATS / name
    info, image = read_info(path), read_image(path)
    assert info.format == image.format == fmt
    assert (info.shape, info.dtype, info.calibration) == (
        image.shape, str(image.data.dtype), image.calibration)


def test_instrument_facts_and_databar(shared_data):
    folder = shared_data / FORMATS
    fei = read_image(folder / "FEI-Helios-Ebeam-16bits.tif").metadata
    assert fei["databar_rows"] == 29  # 471 rows, Image/ResolutionY = 442
    assert fei["beam_energy_kV"] == 5.0 and "Helios" in fei["instrument"]
    zeiss = read_image(folder / "test_tiff_Zeiss_SEM_1k.tif").metadata
    assert (zeiss["beam_energy_kV"], zeiss["magnification"]) == (25.0, 105.0)
    velox = read_image(folder / "STEM_HAADF_Diffraction_Micro.emd").metadata
    assert (velox["beam_energy_kV"], velox["magnification"], velox["instrument"]) == (300.0, 7100.0, "Titan")
    dm = read_image(folder / "test_STEM_image.dm3").metadata
    assert (dm["beam_energy_kV"], dm["magnification"]) == (200.0, 225000.0)


@pytest.mark.parametrize("name, acquired", [
    ("FEI-Helios-Ebeam-16bits.tif", "2016-06-13T17:06:40"),  # FEI User.Date/Time, mapped
    ("test_tiff_Zeiss_SEM_1k.tif", "2015-12-23T09:40:32"),  # Zeiss ap_date/ap_time, mapped
    ("JEOL-SightX-TEM-mag-dummy.tif", "2019-11-27T16:11:26.620540+09:00"),
    ("olympus_SIS.tif", "2018-11-15T19:42:31"),
    ("STEM_HAADF_Diffraction_Micro.emd", "2020-07-29T16:49:34+00:00"),  # Velox, in UTC
    ("test_STEM_image.dm3", "2016-08-08T16:26:37"),
    ("128x128-TEM_search.emi", "2016-02-22T18:50:01"),
    ("Elid2Version4.elid", "2019-08-07T09:37:31+00:00"),
])
def test_when_an_image_was_acquired(shared_data, name, acquired):
    assert read_info(shared_data / FORMATS / name).metadata["acquired"] == acquired


def test_files_that_record_no_acquisition_time_have_none(shared_data):
    for name in ("HAADFscan.mrc", "test_loading_image_saved_with_imageJ.tif"):
        assert "acquired" not in read_info(shared_data / FORMATS / name).metadata


def test_broken_fei_metadata_opens_uncalibrated_with_a_note(shared_data):
    image = read_image(shared_data / FORMATS / "FEI-Helios-navcam-with-no-IRBeam-bad-floats.tif")
    assert image.calibration is UNCALIBRATED
    assert "beam_energy_kV" not in image.metadata  # HV = "notafloat"
    assert "no usable pixel size in the FEI metadata" in image.metadata["notes"]


def test_zeiss_512_pixel_size_is_width_over_pixels(shared_data):
    """AP_PIXEL_SIZE says 5.825 nm; the 512-px image of a 5.965 µm field has 11.65 nm pixels."""
    image = read_image(shared_data / FORMATS / "test_tiff_Zeiss_SEM_512pix.tif")
    assert image.calibration.pixel_size_nm()[1] * 512 == pytest.approx(5965, rel=1e-3)


def test_olympus_sis_returns_the_calibrated_image_not_the_preview(shared_data):
    image = read_image(shared_data / FORMATS / "olympus_SIS.tif")
    with tifffile.TiffFile(shared_data / FORMATS / "olympus_SIS.tif") as tif:
        np.testing.assert_array_equal(image.data, tif.series[1].asarray())


def test_emi_without_its_ser_file_says_so(shared_data, tmp_path):
    shutil.copyfile(shared_data / FORMATS / "128x128-TEM_search.emi", tmp_path / "alone.emi")
    with pytest.raises(ImageReadError, match=r"needs its \.ser files"):
        read_image(tmp_path / "alone.emi")


def test_velox_stack_pages(shared_data):
    path = shared_data / FORMATS / "fei_example_tem_stack.emd"
    stack = read_image(path)
    np.testing.assert_array_equal(read_image(path, page=1).data, stack.data[1])


def test_native_formats_with_non_utf8_names(shared_data, tmp_path):
    folder = os.fsencode(tmp_path)
    for name in ("test_STEM_image.dm3", "HAADFscan.mrc", "fei_example_tem_stack.emd",
                 "FEI-Helios-Ebeam-8bits.tif"):
        target = folder + b"/\xff" + name.encode()
        shutil.copyfile(shared_data / FORMATS / name, target)
        image = read_image(target)
        assert image.calibration.calibrated and os.fsencode(image.path) == target


# --- the other folders -------------------------------------------------------------------------


def test_every_image_of_the_other_folders(shared_data):
    folders = ["sem_nanowires", "agnw_network_sem", "cellulose_fibre_sem", "cnt_composite_sem",
               "tio2_sem_seg", "nanowire_tem_seg"]
    count = 0
    for folder in folders:
        for row in rows(shared_data / folder):
            image = read_image(shared_data / folder / row["file"])
            assert image.shape == (int(row["height"]), int(row["width"])), row["file"]
            assert str(image.data.dtype) == row["dtype"], row["file"]
            expected_calibrated = folder == "tio2_sem_seg" and row["role"] == "image"
            assert image.calibration.calibrated == expected_calibrated, row["file"]
            count += 1
    assert count == 6 + 7 + 2 + 3 + 24 + 48


def test_sem_nanowires_give_the_gray_levels_of_their_palette(shared_data):
    path = shared_data / "sem_nanowires" / "13.tif"
    with tifffile.TiffFile(path) as tif:
        raw, colormap = tif.pages[0].asarray(), tif.pages[0].colormap
    np.testing.assert_array_equal(read_image(path).data, (colormap[0] >> 8)[raw])


def test_tio2_zeiss_palette_and_calibration(shared_data):
    from skimage.color import rgb2gray

    path = shared_data / "tio2_sem_seg" / "images" / "1908248.tif"
    with tifffile.TiffFile(path) as tif:
        raw, colormap = tif.pages[0].asarray(), tif.pages[0].colormap
    table = (colormap.T >> 8).astype(np.uint8)
    gray_table = np.rint(rgb2gray(table[None]) * 255)[0].astype(np.uint8)
    image = read_image(path)
    np.testing.assert_array_equal(image.data, gray_table[raw])
    assert image.data.max() == 255  # index 243 is white in Zeiss's annotation colours
    assert image.format == "TIFF (Zeiss)"
    assert image.calibration.pixel_size_nm() == pytest.approx((7.34375, 7.34375), rel=1e-4)


def test_agnw_uint16_holds_8_bit_levels_and_dpi_is_ignored(shared_data):
    image = read_image(shared_data / "agnw_network_sem" / "agnw_0000.tif")
    assert image.format == "TIFF (ImageJ)" and image.calibration is UNCALIBRATED  # unit=inch
    assert image.data.max() == 65280 and not (image.data % 256).any()


def test_rgb_files_with_identical_channels_keep_their_values(shared_data):
    for path in (shared_data / "cellulose_fibre_sem" / "K1.jpg",
                 shared_data / "cnt_composite_sem" / "nanotubes.tif",
                 shared_data / "agnw_network_sem" / "small_0000.tif"):
        with Image.open(path) as pil:
            red = np.asarray(pil)[..., 0]
        np.testing.assert_array_equal(read_image(path).data, red)


def test_colour_rendering_becomes_bt709_gray(shared_data):
    from skimage.color import rgb2gray

    path = shared_data / "cnt_composite_sem" / "nanotubes_orient.png"
    with Image.open(path) as pil:
        rgb = np.asarray(pil)
    expected = np.rint(rgb2gray(rgb) * 255).astype(np.uint8)
    np.testing.assert_array_equal(read_image(path).data, expected)


def test_masks_keep_their_label_values(shared_data):
    tem = read_image(shared_data / "nanowire_tem_seg" / "masks" / "0000001.png").data
    assert set(np.unique(tem)) <= {0, 127, 255}
    tio2 = read_image(shared_data / "tio2_sem_seg" / "masks" / "1908248.tif").data
    assert set(np.unique(tio2)) == {0, 255}
    crop = read_image(shared_data / "agnw_network_sem" / "small_0000_mask.tif").data
    assert set(np.unique(crop)) == {0, 255}
