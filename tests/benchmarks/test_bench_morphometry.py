"""Wire morphometry (`make bench`): time against the two operations it cannot do without, and
accuracy against the exact truth of synthetic scenes and on a real AgNW network.

- Speed: :func:`nanomorph.network.measure_wires` on a 2048² mask of 250 crossing wires against
  ``skeletonize`` + ``distance_transform_edt`` of the same mask (best of 3 each, side by side);
  target ≤ 3×. The skeleton totals of :func:`nanomorph.network.network_metrics` are timed too.
- Accuracy: separate wires (straight and curved, 3–30 px wide): count, per-wire median errors of
  length, angle and diameter, and the error of the image's mean diameter; crossing networks
  (about 2–3 crossings per wire, 4–16 px wide, straight and curved): traced/true count and the
  share of complete wires traced whole (length within 15 %); aligned films: dominant direction
  and order parameter against the truth; border flags.
- Real: the AgNW network (Gaussian σ 1.5 + Otsu mask) and the same mask turned by 90°.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from nanomorph.synthetic import WireParams
from tests.support.wire_truth import angle_error, matched, scene


def best_of(n: int, action) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.bench
def test_morphometry_speed(record):
    from scipy import ndimage
    from skimage.morphology import skeletonize

    from nanomorph.network import measure_wires, network_metrics
    from nanomorph.synthetic import generate_wires, render_mask

    params = WireParams(shape_px=(2048, 2048), pixel_size_nm=5, n_wires=250,
                        length_nm_mean=3000, length_nm_sd=500, width_nm_mean=40, width_nm_sd=5,
                        curvature_per_um=0.3)
    wires = generate_wires(params, 1)
    mask = render_mask(wires.polylines, wires.widths_px, params.shape_px)
    base = best_of(3, lambda: (skeletonize(mask), ndimage.distance_transform_edt(mask)))
    measure = best_of(3, lambda: measure_wires(mask, 5.0))
    totals = best_of(3, lambda: network_metrics(mask, 5.0, "nm"))
    result = measure_wires(mask, 5.0)
    record("morphometry_speed", {
        "mask": "2048x2048, 250 crossing wires", "wires_traced": len(result.wires),
        "junctions": result.junctions,
        "skeletonize_plus_edt_s": round(base, 3), "measure_wires_s": round(measure, 3),
        "network_metrics_s": round(totals, 3), "ratio": round(measure / base, 2)})
    assert measure / base <= 3.0


def separate_scores(width: float, curvature: float) -> dict:
    from nanomorph.network import measure_wires

    count, lengths, angles, diameters, means, truths = [], [], [], [], [], []
    for seed in range(3):
        truth = scene(WireParams(shape_px=(768, 768), pixel_size_nm=1.0, n_wires=12,
                                 length_nm_mean=300, length_nm_sd=30, width_nm_mean=width,
                                 width_nm_sd=0.1 * width, min_separation_nm=5,
                                 curvature_per_um=curvature), seed)
        result = measure_wires(truth.mask)
        count.append(len(result.wires) - len(truth.lengths))
        means.append(float(np.mean(result.diameters)))
        truths.append(float(np.average(truth.widths, weights=truth.lengths)))
        for k in range(len(truth.lengths)):
            wire = result.wires[matched(truth, result.labels, k) - 1]
            diameters.append(abs(wire.diameter_mean - truth.widths[k]))
            if not truth.border[k]:
                lengths.append(abs(wire.length / truth.lengths[k] - 1))
                angles.append(angle_error(wire.orientation_deg, truth.angles[k]))
    return {"count_error_max": int(np.max(np.abs(count))),
            "length_err_median_pct": round(100 * float(np.median(lengths)), 2),
            "angle_err_median_deg": round(float(np.median(angles)), 2),
            "diameter_err_median_px": round(float(np.median(diameters)), 3),
            "mean_diameter_err_pct": round(100 * (np.mean(means) / np.mean(truths) - 1), 2)}


def crossing_scores(width: float, curvature: float) -> dict:
    from nanomorph.network import measure_wires

    traced = present = whole = complete = junctions = 0
    for seed in range(4):
        truth = scene(WireParams(shape_px=(1024, 1024), pixel_size_nm=5.0, n_wires=36,
                                 length_nm_mean=2000, length_nm_sd=200, width_nm_mean=5 * width,
                                 width_nm_sd=width / 2, curvature_per_um=curvature), seed)
        result = measure_wires(truth.mask)
        traced += len(result.wires)
        present += len(truth.lengths)
        junctions += result.junctions
        for k in np.flatnonzero(~truth.border):
            complete += 1
            wire_id = matched(truth, result.labels, k)
            whole += bool(wire_id) and abs(
                result.wires[wire_id - 1].length / truth.lengths[k] - 1) <= 0.15
    return {"traced_over_true": round(traced / present, 3),
            "traced_whole": round(whole / complete, 3),
            "crossings_per_wire": round(2 * junctions / present, 2)}


@pytest.mark.bench
def test_morphometry_accuracy(record):
    from nanomorph.network import measure_wires
    from nanomorph.network.orientation import order_parameter

    separate = {f"{w:g} px, {'curved' if c else 'straight'}": separate_scores(w, c)
                for w in (3, 6, 12, 30) for c in (0.0, 1.0)}
    crossing = {f"{w:g} px, {'curved' if c else 'straight'}": crossing_scores(w, c)
                for w in (4, 8, 16) for c in (0.0, 0.3)}
    aligned = {}
    for direction in (0, 35, 90, 150):
        truth = scene(WireParams(shape_px=(512, 512), pixel_size_nm=5.0, n_wires=25,
                                 length_nm_mean=1200, length_nm_sd=100, width_nm_mean=30,
                                 width_nm_sd=3, orientation_deg=direction,
                                 orientation_spread_deg=20, min_separation_nm=10), 4)
        result = measure_wires(truth.mask, 5.0)
        shown = np.array([m.sum() for m in truth.masks]) / truth.widths
        dominant, order = order_parameter(np.radians(truth.angles), shown)
        aligned[f"{direction}°"] = {
            "dominant_err_deg": round(angle_error(result.dominant_deg, dominant), 2),
            "S_err": round(abs(result.order_parameter - order), 3)}
    right = total = 0
    for seed in range(3):
        truth = scene(WireParams(shape_px=(768, 768), pixel_size_nm=1.0, n_wires=12,
                                 length_nm_mean=300, length_nm_sd=30, width_nm_mean=8,
                                 width_nm_sd=0.8, min_separation_nm=5, curvature_per_um=0.5),
                      seed)
        result = measure_wires(truth.mask)
        for k in range(len(truth.lengths)):
            total += 1
            right += result.wires[matched(truth, result.labels, k) - 1].touches_border == \
                truth.border[k]
    record("morphometry_accuracy", {"separate": separate, "crossing": crossing,
                                    "aligned": aligned,
                                    "border_flags_right": round(right / total, 3)})


@pytest.mark.bench
def test_morphometry_real_network(shared_data, record):
    import tifffile
    from skimage.filters import gaussian, threshold_otsu

    from nanomorph.network import image_orientation, measure_wires

    image = tifffile.imread(shared_data / "agnw_network_sem" / "agnw_0000.tif").astype(float)
    smooth = gaussian(image, 1.5)
    mask = smooth > threshold_otsu(smooth)
    upright = measure_wires(mask).as_record("agnw_0000")
    turned = measure_wires(np.rot90(mask)).as_record("agnw_0000 turned")
    direction, coherency = image_orientation(image, 2.0)
    record("morphometry_real", {
        "image": "agnw_0000.tif (1018x1536, Otsu mask)", "wires": upright["n_wires"],
        "diameter_px": upright["diameter"], "diameter_px_turned": turned["diameter"],
        "orientation": upright["orientation"], "orientation_turned": turned["orientation"],
        "structure_tensor_deg": round(direction, 2), "coherency": round(coherency, 3),
        "seconds": upright["seconds"]})
