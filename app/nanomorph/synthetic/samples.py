"""The bundled sample project: synthetic micrographs of the four morphology classes, exact masks.

The recipe ``nanomorph_resources/samples/recipe.json`` lists the images: a base ``seed``, an image
``shape`` and ``items`` (``name``, ``morphology``, per-item ``seed``, ``contrast``,
``pixel_size_nm``). Item ``i`` is ``generate_morphology(morphology, shape=shape,
pixel_size_nm=pixel_size_nm, contrast=contrast, seed=recipe seed + item seed)``.

:func:`write_samples` writes, into one folder:

- ``<name>.tif``: the image, an ImageJ TIFF whose X/Y resolution is pixels per µm (unit ``um``);
- ``masks/<name>_mask.png``: its exact ground truth, 8-bit lossless PNG, 0 = background,
  255 = wire (255 so that it shows in any viewer; read it as foreground = nonzero);
- ``samples.csv``: ``path,label,group`` with paths relative to the folder, usable as the
  ``LABELS.csv`` of ``nanomorph classify`` (label = morphology class, group = image name: every
  image is an independent micrograph);
- ``pairs.csv``: ``image,mask``, usable as the ``PAIRS.csv`` of ``nanomorph segment``.

Writing twice gives byte-identical files.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import tifffile

from nanomorph.errors import InvalidParameterError
from nanomorph.synthetic import MORPHOLOGIES, SyntheticImage, generate_morphology

MASK_FOREGROUND = 255
MASKS_FOLDER = "masks"
LABELS_CSV = "samples.csv"
PAIRS_CSV = "pairs.csv"
_ITEM_KEYS = ("name", "morphology", "seed", "contrast", "pixel_size_nm")


@dataclass(frozen=True)
class SampleFile:
    """One written sample.

    Attributes
    ----------
    name : str
        Item name (file stem).
    label : str
        Morphology class.
    group : str
        Split group (the image name).
    image_path, mask_path : Path
        The calibrated TIFF and its ground-truth PNG (0/255).
    pixel_size_nm : float
        Pixel size in nm.
    contrast : str
        ``"tem"`` or ``"sem"``.
    foreground_fraction : float
        Fraction of wire pixels in the mask.
    """

    name: str
    label: str
    group: str
    image_path: Path
    mask_path: Path
    pixel_size_nm: float
    contrast: str
    foreground_fraction: float


def load_recipe() -> dict:
    """The bundled sample recipe, read from the installed ``nanomorph_resources`` package.

    Returns
    -------
    dict
        ``seed``, ``shape`` and ``items`` (see the module docstring), validated.
    """
    text = (resources.files("nanomorph_resources") / "samples" / "recipe.json").read_text("utf-8")
    recipe = json.loads(text)
    _validate(recipe)
    return recipe


def _validate(recipe: dict) -> None:
    """Raise InvalidParameterError when a recipe lacks a key, repeats a name or names no class."""
    for key in ("seed", "shape", "items"):
        if key not in recipe:
            raise InvalidParameterError(f"the sample recipe has no {key!r}")
    names = [item.get("name") for item in recipe["items"]]
    if len(set(names)) != len(names):
        raise InvalidParameterError("the sample recipe repeats an item name")
    for item in recipe["items"]:
        missing = [key for key in _ITEM_KEYS if key not in item]
        if missing:
            raise InvalidParameterError(f"sample {item.get('name')!r} lacks {', '.join(missing)}")
        if item["morphology"] not in MORPHOLOGIES:
            raise InvalidParameterError(
                f"sample {item['name']!r}: unknown morphology {item['morphology']!r}, "
                f"choose one of {MORPHOLOGIES}")


def generate_sample(name: str, recipe: dict | None = None) -> SyntheticImage:
    """One sample of the recipe, generated in memory (e.g. for napari's sample data).

    Parameters
    ----------
    name : str
        Item name, e.g. ``"network_01"``.
    recipe : dict, optional
        Default: :func:`load_recipe`.

    Returns
    -------
    SyntheticImage

    Raises
    ------
    InvalidParameterError
        For a name the recipe does not have, or a malformed recipe.
    """
    recipe = load_recipe() if recipe is None else recipe
    for item in recipe["items"]:
        if item["name"] == name:
            return _generate(item, recipe)
    raise InvalidParameterError(f"no sample named {name!r} in the recipe")


def _generate(item: dict, recipe: dict) -> SyntheticImage:
    return generate_morphology(item["morphology"], shape=tuple(recipe["shape"]),
                               pixel_size_nm=item["pixel_size_nm"], contrast=item["contrast"],
                               seed=int(recipe["seed"]) + int(item["seed"]))


def write_calibrated_tiff(path: os.PathLike | str, image: np.ndarray, pixel_size_nm: float) -> None:
    """Write an ImageJ TIFF whose X/Y resolution stores the pixel size (pixels per µm, unit um).

    Parameters
    ----------
    path : path-like
        Destination file.
    image : ndarray, shape (rows, cols)
        Gray levels (uint8 or uint16).
    pixel_size_nm : float
        Pixel size in nanometres.
    """
    pixels_per_um = 1e3 / pixel_size_nm
    tifffile.imwrite(path, image, imagej=True, resolution=(pixels_per_um, pixels_per_um),
                     metadata={"unit": "um"})


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_samples(dest_folder: os.PathLike | str, recipe: dict | None = None) -> list[SampleFile]:
    """Write the sample images, their masks, ``samples.csv`` and ``pairs.csv`` into a folder.

    Parameters
    ----------
    dest_folder : path-like
        Created when missing; existing sample files are overwritten.
    recipe : dict, optional
        Default: :func:`load_recipe`.

    Returns
    -------
    list of SampleFile
        In recipe order.
    """
    recipe = load_recipe() if recipe is None else recipe
    _validate(recipe)
    dest = Path(dest_folder)
    (dest / MASKS_FOLDER).mkdir(parents=True, exist_ok=True)
    written = []
    for item in recipe["items"]:
        sample = _generate(item, recipe)
        image_path = dest / f"{item['name']}.tif"
        mask_path = dest / MASKS_FOLDER / f"{item['name']}_mask.png"
        write_calibrated_tiff(image_path, sample.image, sample.pixel_size_nm)
        iio.imwrite(mask_path, sample.mask * np.uint8(MASK_FOREGROUND), extension=".png")
        written.append(SampleFile(item["name"], item["morphology"], item["name"], image_path,
                                  mask_path, sample.pixel_size_nm, item["contrast"],
                                  sample.foreground_fraction))
    relative = [(s.image_path.relative_to(dest).as_posix(), s.mask_path.relative_to(dest).as_posix())
                for s in written]
    _write_csv(dest / LABELS_CSV, ("path", "label", "group"),
               [(image, s.label, s.group) for (image, _), s in zip(relative, written)])
    _write_csv(dest / PAIRS_CSV, ("image", "mask"), relative)
    return written
