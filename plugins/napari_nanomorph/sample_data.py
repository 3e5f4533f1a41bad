"""napari sample data: synthetic nanowire micrographs with their exact masks, at physical scale."""

from __future__ import annotations

from nanomorph.io.calibration import Calibration

from napari_nanomorph.layers import robust_contrast, scale_kwargs

# recipe item shown for each sample-data entry
SAMPLE_ITEMS = {"network": "network_01", "bundle": "bundle_01", "dispersed": "dispersed_04",
                "singular": "singular_01"}


def _layers(kind: str) -> list[tuple]:
    from nanomorph.synthetic.samples import generate_sample

    sample = generate_sample(SAMPLE_ITEMS[kind])
    size = sample.pixel_size_nm
    placement = scale_kwargs(Calibration((size, size), "nm", "file").normalised())
    image_meta = {"name": f"{kind} (synthetic)", "colormap": "gray", **placement,
                  "contrast_limits": robust_contrast(sample.image),
                  "metadata": {"synthetic_params": sample.params}}
    mask_meta = {"name": f"{kind} mask (truth)", "opacity": 0.5, **placement}
    return [(sample.image, image_meta, "image"), (sample.mask, mask_meta, "labels")]


def network() -> list[tuple]:
    return _layers("network")


def bundle() -> list[tuple]:
    return _layers("bundle")


def dispersed() -> list[tuple]:
    return _layers("dispersed")


def singular() -> list[tuple]:
    return _layers("singular")
