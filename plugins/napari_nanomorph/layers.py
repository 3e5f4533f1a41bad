"""Layer data tuples and in-place layer updates at physical scale (napari's scale + units)."""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
from nanomorph.io import Calibration, MicroscopeImage
from nanomorph.io.intensity import percentile_range

ROLE_KEY = "nanomorph_role"  # layer.metadata key marking the layers nanomorph manages


def scale_kwargs(calibration: Calibration, ndim: int = 2) -> dict:
    """``scale`` and ``units`` for a layer (pixels when uncalibrated or reciprocal)."""
    units = calibration.napari_units()
    if units is None:
        return {"scale": (1.0,) * ndim, "units": ("pixel",) * ndim}
    lead = ndim - 2
    return {"scale": (1.0,) * lead + tuple(calibration.pixel_size),
            "units": ("pixel",) * lead + units}


def image_layer_tuple(image: MicroscopeImage, name: str | None = None) -> tuple:
    """A napari LayerDataTuple for a micrograph, with contrast from robust percentiles."""
    meta = {
        "name": name or os.path.basename(image.path) or image.path,
        "metadata": {"path": image.path, "format": image.format,
                     "calibration": image.calibration.as_json(), **image.metadata},
        "colormap": "gray",
        **scale_kwargs(image.calibration, image.data.ndim),
    }
    limits = robust_contrast(image.data)
    if limits is not None:
        meta["contrast_limits"] = limits
    return (image.data, meta, "image")


def robust_contrast(data: np.ndarray):
    """Contrast limits from the 0.5/99.5 percentiles (ignores hot pixels), None if flat."""
    lo, hi = percentile_range(data)
    return (lo, hi) if hi > lo else None


def overlay_placement(viewer, record) -> dict:
    """``scale`` and ``units`` for a layer drawn over the current image (mask, preview,
    clusters, predictions, the bar read): those of the image layer as it is shown, so that a
    view never mixes pixel and physical units (napari refuses to render units then). When the
    record's own image arrives, :func:`show_image` moves the overlays with it.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.
    record : ImageRecord
        The image the overlay belongs to (its calibration is used before any image is shown).

    Returns
    -------
    dict
        ``scale`` and ``units``.
    """
    image = find_layer(viewer, "image")
    if image is None or image.ndim != 2:
        return scale_kwargs(record.calibration)
    return {"scale": tuple(image.scale), "units": tuple(str(u) for u in image.units)}


def put_overlay(viewer, role: str, name: str, data, placement: dict, colors: dict | None = None,
                **style):
    """Show ``data`` in nanomorph's overlay layer of ``role`` (a Labels layer, made on first use
    without changing which layer is selected, so painting stays where it was).

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.
    role : str
        The overlay's role (``clusters``, ``wires``, ``preview`` …).
    name : str
        The layer's name when it is made.
    data : ndarray
        The labels.
    placement : dict
        ``scale`` and ``units`` (:func:`overlay_placement`, :func:`placement_of`), and
        ``translate`` for a layer's own position.
    colors : dict, optional
        Label → colour (a direct colormap).
    **style
        Other Labels-layer properties set when it is made (``opacity``, ``contour`` …).

    Returns
    -------
    napari.layers.Labels
    """
    layer = find_layer(viewer, role)
    if layer is None:
        selection = viewer.layers.selection
        before, active = set(selection), selection.active
        layer = viewer.add_labels(data, name=name, metadata={ROLE_KEY: role}, **placement)
        if colors is not None:
            from napari.utils.colormaps import DirectLabelColormap

            layer.colormap = DirectLabelColormap(color_dict=colors)
        for key, value in style.items():
            setattr(layer, key, value)
        layer.editable = False
        selection.clear()
        selection.update(before)
        if active is not None:
            selection.active = active
        return layer
    layer.data = data
    place(layer, placement["scale"], placement["units"])
    if "translate" in placement:
        layer.translate = placement["translate"]
    return layer


def placement_of(layer) -> dict:
    """``scale``, ``units`` and ``translate`` of a user's layer, for an overlay drawn over it.

    Parameters
    ----------
    layer : napari.layers.Layer
        The layer.

    Returns
    -------
    dict
    """
    return {"scale": tuple(layer.scale), "units": tuple(str(u) for u in layer.units),
            "translate": tuple(layer.translate)}


def find_layer(viewer, role: str):
    """The layer nanomorph shows in ``role`` (e.g. ``"image"``), or None."""
    for layer in viewer.layers:
        if layer.metadata.get(ROLE_KEY) == role:
            return layer
    return None


def place(layer, scale, units) -> None:
    """Give ``layer`` a scale and units, touching only what changes: each assignment makes
    napari recompute the layer's transforms and redraw (10–20 ms on the GUI thread).

    Parameters
    ----------
    layer : napari.layers.Layer
        The layer.
    scale : sequence of float
        Per axis, in ``units``.
    units : sequence of str
        Per axis.
    """
    if tuple(layer.scale) != tuple(scale):
        layer.scale = scale
    if not _same_units(layer.units, units):
        layer.units = units


def show_layer(layer) -> None:
    """Make ``layer`` visible; napari redraws its overlays on every ``visible = True``, even
    for a layer already shown (10–30 ms on the GUI thread per image switch)."""
    if not layer.visible:
        layer.visible = True


@contextmanager
def one_thumbnail(layer):
    """Have napari make ``layer``'s thumbnail once, after the changes made in the block.

    napari makes it again on each change of data, contrast range, contrast limits, scale and
    the view's slice — three to five times per image switch, each resampling and
    colour-mapping the image on the GUI thread. This shadows napari's private
    ``Layer._update_thumbnail`` on the instance for the block; were napari to rename it, each
    change would simply make its own thumbnail again.

    Parameters
    ----------
    layer : napari.layers.Layer
        The layer changed in the block.
    """
    layer = _unproxied(layer)
    layer._update_thumbnail = _no_thumbnail
    try:
        yield
    finally:
        del layer._update_thumbnail
        layer._update_thumbnail()


@contextmanager
def layer_rows_updated_once(viewer):
    """Have napari's layer list update its rows once, after the changes made in the block.

    The layer list turns every event of every layer (data, contrast range, contrast limits,
    thumbnail, name …) into a Qt ``dataChanged`` for its row: about 13 per image switch, each
    about 2 ms on the GUI thread in Qt alone. During the block they are held back (napari's
    event blocker on the list model's handler); after it, one ``dataChanged`` covers every
    row. The model is reached through napari's private Qt viewer; were it to move, each change
    would simply update its row again.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer whose layers change in the block.
    """
    model = _layer_list_model(viewer)
    if model is None:
        yield
        return
    try:
        with _unproxied(viewer).layers.events.blocker(model._process_event):
            yield
    finally:
        if model.rowCount() > 0:
            model.dataChanged.emit(model.index(0, 0), model.index(model.rowCount() - 1, 0), [])


def _layer_list_model(viewer):
    """napari's Qt model of the layer list (under its reversing proxy), or None."""
    view = getattr(getattr(_unproxied(viewer).window, "_qt_viewer", None), "layers", None)
    model = view.model() if hasattr(view, "model") else None
    model = model.sourceModel() if hasattr(model, "sourceModel") else model
    return model if hasattr(model, "_process_event") else None


def _unproxied(obj):
    """The napari object behind the proxy napari gives plugin widgets (which warns at each
    private attribute, and these helpers use two)."""
    return getattr(obj, "__wrapped__", obj)


def _no_thumbnail() -> None:
    """Stands for napari's thumbnail update inside :func:`one_thumbnail`."""


def _same_units(current, wanted) -> bool:
    """Whether a layer's pint units equal unit names such as ``("nm", "nm")``."""
    if len(current) != len(wanted):
        return False
    registry = current[0]._REGISTRY  # napari's (pint's application) registry
    return all(unit == registry.Unit(name) for unit, name in zip(current, wanted))


def _place_overlays(viewer, scale: tuple, units: tuple) -> None:
    """Give nanomorph's other layers (mask, clusters, predictions …) the new image's scale and
    units first: napari warns when layers of one view mix pixel and physical units."""
    for layer in viewer.layers:
        role = layer.metadata.get(ROLE_KEY)
        if role and role != "image" and layer.ndim == len(scale):
            place(layer, scale, units)


def show_image(viewer, layer_tuple: tuple) -> None:
    """Show a micrograph in the viewer's current-image layer (created on first use, named
    after the file, kept at the bottom of the layer list).

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.
    layer_tuple : tuple
        From :func:`image_layer_tuple` (made on a worker thread: its contrast percentiles
        take a while on large images).
    """
    data, meta, _ = layer_tuple
    meta["metadata"][ROLE_KEY] = "image"
    _place_overlays(viewer, meta["scale"], meta["units"])
    layer = find_layer(viewer, "image")
    if layer is None or layer.data.ndim != data.ndim:
        if layer is not None:
            viewer.layers.remove(layer)
        layer = viewer.add_image(data, **meta)
        viewer.layers.move(viewer.layers.index(layer), 0)
        same_extent = False
    else:
        same_extent = (layer.data.shape == data.shape
                       and tuple(layer.scale) == tuple(meta["scale"]))
        with one_thumbnail(layer):
            if "contrast_limits" in meta:  # before the data: one redraw with the right contrast
                layer.contrast_limits_range = meta["contrast_limits"]
                layer.contrast_limits = meta["contrast_limits"]
            layer.data = data
            if layer.name != meta["name"]:
                layer.name = meta["name"]
            place(layer, meta["scale"], meta["units"])
            layer.metadata = meta["metadata"]
            show_layer(layer)
    if not same_extent:  # the next frame of a movie keeps the user's zoom
        viewer.reset_view()
    scale_bar = viewer.canvas.overlays.scale_bar
    scale_bar.position = "bottom_left"  # notifications pop up at the bottom right
    scale_bar.visible = True
