"""Synthetic nanowire images: exact masks, geometry control, contrast, presets, reproducibility."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import ndimage

from nanomorph.errors import InvalidParameterError
from nanomorph.synthetic import (
    FOREGROUND_RANGES,
    MORPHOLOGIES,
    ImagingParams,
    WireParams,
    generate_morphology,
    generate_wires,
    rasterize_wires,
    render,
    render_mask,
    synthesize,
)
from nanomorph.synthetic.geometry import sample_orientations_deg


def chord_angles_deg(polylines) -> np.ndarray:
    """Axis angle of each wire's chord, counter-clockwise from +col as displayed, in [0, 180)."""
    chords = np.array([p[-1] - p[0] for p in polylines])
    return np.mod(np.degrees(np.arctan2(-chords[:, 0], chords[:, 1])), 180.0)


def axial_resultant(angles_deg: np.ndarray) -> float:
    """Mean resultant length of doubled angles: 1 = all aligned, ~0 = isotropic."""
    doubled = np.radians(2 * angles_deg)
    return float(np.hypot(np.cos(doubled).mean(), np.sin(doubled).mean()))


# --- exact masks -------------------------------------------------------------------------------

def test_horizontal_wire_mask_matches_hand_computation():
    # axis on row 10.5 from col 5 to col 30, radius 2: rows 9..12 (|dr| = 0.5, 1.5) along the
    # axis; the round caps add col 4 (dc = 1, |dr| <= 1.73) and col 31, not col 3 (dc = 2 needs dr = 0)
    mask = render_mask([np.array([[10.5, 5.0], [10.5, 30.0]])], [4.0], (24, 40))
    expected = np.zeros((24, 40), dtype=bool)
    expected[9:13, 4:32] = True
    np.testing.assert_array_equal(mask, expected)


def test_pixel_centres_on_the_edge_are_inside():
    # axis on row 10, width 4: rows 8 and 12 are exactly 2 px away and belong to the wire
    mask = render_mask([np.array([[10.0, 5.0], [10.0, 30.0]])], [4.0], (24, 40))
    assert mask[8:13, 5:31].all() and not mask[7].any() and not mask[13].any()
    assert mask[:, 5:31].sum(axis=0).tolist() == [5] * 26


def test_diagonal_wire_area_is_length_times_width():
    length, width, angle = 300.0, 4.0, math.radians(31.0)
    half = 0.5 * length * np.array([-math.sin(angle), math.cos(angle)])
    centre = np.array([200.3, 200.7])
    area = render_mask([np.stack([centre - half, centre + half])], [width], (400, 400)).sum()
    assert area == pytest.approx(length * width, rel=0.02)
    assert area == pytest.approx(length * width + math.pi * (width / 2) ** 2, rel=0.01)


def test_curved_wire_area_is_arc_length_times_width():
    params = WireParams((512, 512), 1.0, n_wires=1, length_nm_mean=400.0, length_nm_sd=0.0,
                        width_nm_mean=6.0, width_nm_sd=0.0, curvature_per_um=10.0,
                        centre_margin_frac=0.45)
    wires = generate_wires(params, 3)
    (polyline,) = wires.polylines
    assert np.hypot(*np.diff(polyline, axis=0).T).sum() == pytest.approx(400.0, rel=1e-9)
    assert len(polyline) > 10  # curved, not a rod
    area = render_mask(wires.polylines, wires.widths_px, (512, 512)).sum()
    assert area == pytest.approx(400.0 * 6.0 + math.pi * 9.0, rel=0.02)


def test_projected_thickness_of_a_cylinder_and_overlaps_add():
    rod = np.array([[20.0, 2.0], [20.0, 38.0]])
    cross = np.array([[2.0, 20.0], [38.0, 20.0]])
    raster = rasterize_wires([rod, cross], [8.0, 8.0], (41, 41))
    # chord 2 * sqrt(r² - d²) at d = 0 and d = 3
    assert raster.thickness_px[20, 10] == pytest.approx(8.0)
    assert raster.thickness_px[17, 10] == pytest.approx(2 * math.sqrt(16 - 9))
    assert raster.thickness_px[20, 20] == pytest.approx(16.0)  # both wires
    assert raster.top_cos[23, 20] == pytest.approx(1.0)  # the cross lies on top
    assert raster.thickness_px[~raster.mask].max() == 0.0


def test_periodic_wire_wraps_around_the_frame():
    wire = [np.array([[10.5, 370.0], [10.5, 410.0]])]
    clipped = render_mask(wire, [4.0], (32, 384))
    wrapped = render_mask(wire, [4.0], (32, 384), periodic=True)
    assert not clipped[:, :100].any()
    assert wrapped[:, :100].any()
    # wrapping keeps the whole capsule: rows 9..12, cols 369..411 (43 columns)
    assert wrapped.sum() == 4 * 43 and clipped.sum() == 4 * (383 - 369 + 1)


# --- geometry control ----------------------------------------------------------------------------

def test_density_gives_the_number_of_wires_per_um2():
    # 400 × 500 px of 5 nm = 2 µm × 2.5 µm = 5 µm²
    params = WireParams((400, 500), 5.0, density_per_um2=7.3, length_nm_mean=400.0)
    result = synthesize(params, seed=1)
    assert len(result.wires) == round(7.3 * 5.0) == 36
    assert result.density_per_um2 == pytest.approx(36 / 5.0)


def test_lengths_and_widths_follow_the_requested_distribution():
    params = WireParams((256, 256), 2.0, n_wires=2000, length_nm_mean=300.0, length_nm_sd=60.0,
                        width_nm_mean=20.0, width_nm_sd=2.0)
    wires = generate_wires(params, 0)
    lengths_nm = np.array([np.hypot(*(p[-1] - p[0])) for p in wires.polylines]) * 2.0
    assert lengths_nm.mean() == pytest.approx(300.0, rel=0.03)
    assert lengths_nm.std() == pytest.approx(60.0, rel=0.08)
    assert (wires.widths_px * 2.0).mean() == pytest.approx(20.0, rel=0.02)


@pytest.mark.parametrize("curvature", [0.0, 3.0])
def test_zero_orientation_spread_aligns_every_wire(curvature):
    params = WireParams((256, 256), 4.0, n_wires=30, curvature_per_um=curvature,
                        orientation_deg=30.0, orientation_spread_deg=0.0)
    angles = chord_angles_deg(generate_wires(params, 5).polylines)
    np.testing.assert_allclose(angles, 30.0, atol=1e-9)


def test_orientation_spread_is_two_standard_deviations_and_180_is_isotropic():
    rng = np.random.default_rng(0)
    aligned = sample_orientations_deg(rng, 90.0, 40.0, 4000)
    assert aligned.std() == pytest.approx(20.0, rel=0.05)
    isotropic = sample_orientations_deg(rng, 90.0, 180.0, 4000)
    assert axial_resultant(isotropic) < 0.05
    assert axial_resultant(aligned) > 0.7


def test_bundles_group_near_parallel_wires():
    params = WireParams((384, 384), 5.0, n_wires=20, bundling=1.0, bundle_size_min=4,
                        bundle_size_max=4, bundle_jitter_deg=1.0)
    wires = generate_wires(params, 2)
    assert sorted(np.bincount(wires.bundle_ids).tolist()) == [4] * 5
    for bundle in range(5):
        angles = chord_angles_deg([p for p, b in zip(wires.polylines, wires.bundle_ids) if b == bundle])
        assert axial_resultant(angles) > 0.99  # within a few degrees of each other


def test_half_bundled_wires():
    params = WireParams((384, 384), 5.0, n_wires=40, bundling=0.5, bundle_size_min=3, bundle_size_max=5)
    wires = generate_wires(params, 4)
    assert (wires.bundle_ids >= 0).sum() == 20 and (wires.bundle_ids == -1).sum() == 20


def test_min_separation_keeps_wires_apart():
    params = WireParams((256, 256), 5.0, n_wires=8, length_nm_mean=300.0,
                        min_separation_nm=20.0)
    result = synthesize(params, seed=3)
    n_components = ndimage.label(result.mask, structure=np.ones((3, 3)))[1]
    assert n_components == 8


@pytest.mark.parametrize("kwargs", [
    {"n_wires": 3, "density_per_um2": 2.0},
    {},
    {"n_wires": 3, "orientation_spread_deg": 200.0},
    {"n_wires": 3, "bundling": 1.5},
    {"n_wires": 3, "width_nm_mean": 0.0},
])
def test_invalid_geometry_is_refused(kwargs):
    with pytest.raises(InvalidParameterError):
        WireParams(**kwargs)


# --- imaging ---------------------------------------------------------------------------------

@pytest.mark.parametrize("contrast", ["tem", "sem"])
def test_contrast_polarity(contrast):
    result = synthesize(WireParams(n_wires=15), ImagingParams(contrast=contrast), seed=2)
    wire, background = result.image[result.mask == 1].mean(), result.image[result.mask == 0].mean()
    if contrast == "tem":
        assert wire < background - 40
    else:
        assert wire > background + 40


def test_tem_overlaps_are_darker_than_single_wires():
    rod = np.array([[64.0, 10.0], [64.0, 118.0]])
    cross = np.array([[10.0, 64.0], [118.0, 64.0]])
    imaging = ImagingParams(texture_amplitude=0.0, counts_per_px=None, noise_sd=0.0, blur_px=0.0)
    image, _ = render([rod, cross], [8.0, 8.0], (128, 128), imaging, 0)
    background, single, double = image[20, 20], image[64, 30], image[64, 64]
    assert double < single < background
    # Beer–Lambert: transmission of two thicknesses is the square of one
    assert double / background == pytest.approx((single / background) ** 2, abs=0.01)
    assert single / background == pytest.approx(1 - imaging.wire_contrast, abs=0.01)


def test_sem_edges_are_brighter_than_the_axis():
    imaging = ImagingParams(contrast="sem", texture_amplitude=0.0, counts_per_px=None, noise_sd=0.0,
                            scan_line_noise=0.0, blur_px=0.0)
    image, _ = render([np.array([[32.0, 5.0], [32.0, 60.0]])], [12.0], (64, 64), imaging, 0)
    column = image[:, 30].astype(int)
    assert column[26] > column[32] > column[10]  # edge > axis > substrate


def test_uint16_output():
    result = synthesize(WireParams(n_wires=5), ImagingParams(dtype="uint16"), seed=0)
    assert result.image.dtype == np.uint16 and result.image.max() > 255


# --- reproducibility -------------------------------------------------------------------------

def test_same_seed_same_arrays_different_seed_different():
    params = WireParams(n_wires=20, curvature_per_um=2.0, bundling=0.5)
    a, b, c = (synthesize(params, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.mask, b.mask)
    for pa, pb in zip(a.wires, b.wires):
        np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(a.mask, c.mask) and not np.array_equal(a.image, c.image)


def test_imaging_changes_keep_the_geometry():
    params = WireParams(n_wires=20)
    tem = synthesize(params, ImagingParams(contrast="tem"), seed=4)
    sem = synthesize(params, ImagingParams(contrast="sem"), seed=4)
    np.testing.assert_array_equal(tem.mask, sem.mask)


def test_params_are_json_and_rebuild_the_image():
    original = generate_morphology("bundle", seed=11)
    params = json.loads(json.dumps(original.params))
    assert params["morphology"] == "bundle" and params["seed"] == 11
    rebuilt = synthesize(WireParams(**params["geometry"]), ImagingParams(**params["imaging"]),
                         seed=params["seed"])
    np.testing.assert_array_equal(rebuilt.image, original.image)
    np.testing.assert_array_equal(rebuilt.mask, original.mask)


# --- morphology presets ------------------------------------------------------------------------

SEEDS = range(10)


@pytest.fixture(scope="module")
def presets() -> dict:
    return {name: [generate_morphology(name, seed=s) for s in SEEDS] for name in MORPHOLOGIES}


def test_presets_foreground_fractions_are_in_their_documented_ranges(presets):
    for name, images in presets.items():
        low, high = FOREGROUND_RANGES[name]
        fractions = [im.foreground_fraction for im in images]
        assert low <= min(fractions) and max(fractions) <= high, (name, fractions)
    assert all(0.08 <= im.foreground_fraction <= 0.20 for im in presets["network"])


def test_preset_wire_counts(presets):
    assert all(1 <= len(im.wires) <= 2 for im in presets["singular"])
    assert all(4 <= len(im.wires) <= 12 for im in presets["dispersed"])
    assert all((im.bundle_ids >= 0).all() and im.bundle_ids.max() >= 1 for im in presets["bundle"])


def test_dispersed_wires_do_not_touch(presets):
    for im in presets["dispersed"]:
        assert ndimage.label(im.mask, structure=np.ones((3, 3)))[1] == len(im.wires)


def test_networks_span_the_frame(presets):
    for im in presets["network"]:
        labels = ndimage.label(im.mask, structure=np.ones((3, 3)))[0]
        spanning = set(labels[0]) & set(labels[-1]) & set(labels[:, 0]) & set(labels[:, -1])
        assert spanning - {0}


def test_presets_vary_contrast_and_pixel_size(presets):
    for images in presets.values():
        assert {im.params["imaging"]["contrast"] for im in images} == {"tem", "sem"}
        assert len({im.pixel_size_nm for im in images}) == len(images)
    for images in presets.values():
        for im in images:
            wire, rest = im.image[im.mask == 1].mean(), im.image[im.mask == 0].mean()
            assert (wire < rest) == (im.params["imaging"]["contrast"] == "tem")


def test_mean_intensity_does_not_give_the_class_away(presets):
    # per contrast mode, the range of image means of every class overlaps that of every other
    for contrast in ("tem", "sem"):
        ranges = []
        for images in presets.values():
            means = [im.image.mean() for im in images if im.params["imaging"]["contrast"] == contrast]
            ranges.append((min(means), max(means)))
        assert max(low for low, _ in ranges) < min(high for _, high in ranges)


def test_preset_overrides_and_unknown_name():
    im = generate_morphology("singular", shape=(200, 300), pixel_size_nm=3.0, contrast="sem", seed=1)
    assert im.image.shape == (200, 300) and im.pixel_size_nm == 3.0
    assert im.params["imaging"]["contrast"] == "sem"
    with pytest.raises(InvalidParameterError):
        generate_morphology("tangled")


def test_a_deposition_movie_grows_from_dispersed_wires_to_a_percolating_network():
    from nanomorph.synthetic.movie import deposition_movie
    from nanomorph.workflows.percolation import PercolationSettings, percolate_foreground

    movie = deposition_movie(8, (128, 128), seed=3)
    again = deposition_movie(8, (128, 128), seed=3)
    assert movie.frames.shape == movie.masks.shape == (8, 128, 128)
    np.testing.assert_array_equal(movie.frames, again.frames)
    assert movie.n_wires[0] == 0 and np.all(np.diff(movie.n_wires) > 0)
    coverage = movie.masks.mean(axis=(1, 2))
    assert coverage[0] == 0 and np.all(np.diff(coverage) >= 0)
    settings = PercolationSettings(eps=3.0, margin=2.0)
    spans = [percolate_foreground(m.astype(bool), settings, None).percolates for m in movie.masks]
    assert not spans[0] and spans[-1]
