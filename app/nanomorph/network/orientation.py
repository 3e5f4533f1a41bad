"""Orientation of wires: dominant direction and the 2-D nematic order parameter.

Angles are in degrees, counter-clockwise from +x as the image is displayed (rows grow
downwards), modulo 180 — the convention of the synthetic generator.

- Order parameter: ``S = |Σ wₖ exp(2iθₖ)| / Σ wₖ`` (0 isotropic, 1 all aligned); the dominant
  direction is half the argument of the same sum.
- Mask-free orientation of an image (as OrientationJ): the structure tensor (Gaussian-weighted
  products of intensity gradients) summed over the image; wires run across the direction of the
  strongest gradient. Its coherency ``(λ₁ − λ₂) / (λ₁ + λ₂)`` is 0 for isotropic texture and 1
  for perfectly oriented lines.
"""

from __future__ import annotations

import math

import numpy as np

from nanomorph.errors import InvalidParameterError


def order_parameter(angles_rad: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Dominant direction and order parameter of weighted axial angles.

    Parameters
    ----------
    angles_rad : ndarray of float
        Axis angles in radians, counter-clockwise from +x as displayed.
    weights : ndarray of float
        Non-negative weights (e.g. lengths).

    Returns
    -------
    dominant_deg : float
        Dominant direction in [0, 180) degrees (NaN without weight).
    order : float
        ``S`` in [0, 1] (NaN without weight).
    """
    weights = np.asarray(weights, dtype=float)
    total = weights.sum()
    if not total > 0:
        return math.nan, math.nan
    z = np.sum(weights * np.exp(2j * np.asarray(angles_rad, dtype=float))) / total
    return float(np.degrees(np.angle(z)) / 2 % 180.0), float(min(abs(z), 1.0))


def image_orientation(image: np.ndarray, sigma_px: float = 2.0) -> tuple[float, float]:
    """Dominant direction of the lines in an image and its coherency, from the structure tensor.

    Parameters
    ----------
    image : ndarray, shape (rows, cols)
        Grey-level image (any polarity).
    sigma_px : float
        Gaussian window of the structure tensor, in pixels; about the width of the wires.

    Returns
    -------
    dominant_deg : float
        Direction of the lines in [0, 180) degrees.
    coherency : float
        In [0, 1].

    Raises
    ------
    InvalidParameterError
        When the image is not 2-D or ``sigma_px`` is not positive.
    """
    from skimage.feature import structure_tensor

    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise InvalidParameterError(f"orientation needs a 2-D image, got shape {image.shape}")
    if not sigma_px > 0:
        raise InvalidParameterError(f"the structure-tensor window must be positive, got {sigma_px}")
    a_rr, a_rc, a_cc = (component.sum() for component in
                        structure_tensor(image, sigma=sigma_px, order="rc"))
    # Gradient direction in display coordinates (x = col, y = -row); lines run across it.
    gradient_deg = math.degrees(0.5 * math.atan2(-2.0 * a_rc, a_cc - a_rr))
    trace = a_rr + a_cc
    coherency = math.hypot(a_cc - a_rr, 2.0 * a_rc) / trace if trace > 0 else 0.0
    return (gradient_deg + 90.0) % 180.0, float(coherency)
