"""The editable mask of the current image: a napari Labels layer that autosaves to the project.

The user paints with napari's own brush, eraser and fill. Every change restarts a 1 s timer;
when it fires, a copy of the layer's data is saved as a new mask version in the background
(so an edit is on disk within ~1.5 s). Switching images saves pending edits first.
"""

from __future__ import annotations

import numpy as np
from nanomorph.jobs import call_as_job

from napari_nanomorph.layers import ROLE_KEY, find_layer, overlay_placement, place, show_layer
from napari_nanomorph.read_ahead import NOT_AHEAD
from napari_nanomorph.signals import single_shot

AUTOSAVE_DELAY_MS = 1000
WIRE_COLOR = {1: "#ff5a36", 2: "#36c5ff", 3: "#c6f06b", None: "transparent"}


class MaskLayerController:
    """Keeps the "mask" Labels layer in step with the session's current image (a saved
    version reaches the docks as the session's ``masks_changed``)."""

    def __init__(self, session):
        self.session = session
        self.viewer = session.viewer
        self.image_id: int | None = None
        self._dirty = False
        self._loading = False
        self._timer = single_shot(None, AUTOSAVE_DELAY_MS, self.save_now)
        session.current_changed.connect(self._current_changed)
        session.project_closing.connect(self._flush)
        session.project_changed.connect(self._project_changed)
        self.viewer.layers.events.removed.connect(self._layer_removed)
        if session.current is not None:
            self._current_changed(session.current)

    @property
    def layer(self):
        """The mask Labels layer, or None before the first image."""
        return find_layer(self.viewer, "mask")

    def _flush(self, _project=None) -> None:
        self.save_now()

    def _layer_removed(self, event) -> None:
        """The mask layer was deleted (by the user, or as the viewer closes): its pending
        edits are saved from the removed layer's data."""
        if event.value.metadata.get(ROLE_KEY) == "mask":
            self.save_now(layer=event.value)

    def _project_changed(self, _project=None) -> None:
        self._dirty = False
        self._current_changed(None)

    # ------------------------------------------------------------------ loading
    def _current_changed(self, record) -> None:
        self.save_now()
        self.image_id = None if record is None else record.id
        if record is None:
            return
        project = self.session.project

        def loaded(mask) -> None:
            if self.image_id == record.id:
                plane_shape = record.shape[-2:]
                self.show(mask if mask is not None else np.zeros(plane_shape, np.uint8), record)

        ahead = self.session.read_ahead.mask(record)
        if ahead is not NOT_AHEAD:  # shown with the image, in one repaint
            loaded(ahead)
            return
        self.session.jobs.start(lambda _t: call_as_job(project.masks.read, record.id),
                                name=f"Open the mask of {record.name}", on_done=loaded,
                                waited_for=True)

    def show(self, mask: np.ndarray, record) -> None:
        """Put ``mask`` in the mask layer (created on first use) at the image's scale."""
        self._loading = True
        try:
            placement = overlay_placement(self.viewer, record)
            layer = self.layer
            if layer is None:
                layer = self.create_layer(mask, **placement)
            else:
                layer.data = mask
                place(layer, placement["scale"], placement["units"])
            layer.metadata["image_id"] = record.id
            show_layer(layer)
        finally:
            self._loading = False

    def create_layer(self, mask: np.ndarray, **placement):
        """Add the mask layer (the app adds it, hidden, behind its splash screen: napari's
        first Labels layer takes most of a second to build).

        Parameters
        ----------
        mask : ndarray of uint8
            Its first data.
        **placement
            ``scale`` and ``units``.

        Returns
        -------
        napari.layers.Labels
            The layer.
        """
        layer = self.viewer.add_labels(mask, name="mask", opacity=0.5,
                                       metadata={ROLE_KEY: "mask"}, **placement)
        _color_wires(layer)
        layer.events.paint.connect(self._edited)
        layer.events.data.connect(self._edited)
        return layer

    def replace(self, mask: np.ndarray, source: str) -> None:
        """Put a new mask (e.g. an accepted auto-mask) in the layer and save it now."""
        self._loading = True
        try:
            self.layer.data = mask.astype(np.uint8)
        finally:
            self._loading = False
        self._dirty = True
        self.save_now(source=source)

    # ------------------------------------------------------------------ saving
    def _edited(self, _event=None) -> None:
        if self._loading or self.image_id is None:
            return
        self._dirty = True
        self._timer.start()

    def save_now(self, source: str = "painted", layer=None) -> None:
        """Save pending edits of the shown mask (a copy; the save runs in the background).

        Parameters
        ----------
        source : str
            Recorded as the mask version's source.
        layer : napari.layers.Labels, optional
            The layer to save from (default: the viewer's mask layer).
        """
        self._timer.stop()
        layer = self.layer if layer is None else layer
        project = self.session.project
        if not self._dirty or layer is None or project is None or self.image_id is None:
            return
        self._dirty = False
        data, image_id = np.array(layer.data, copy=True), self.image_id
        self.session.jobs.start(
            lambda _t: call_as_job(project.masks.save, image_id, data, source),
            name="Save mask", cancellable=False)

    @property
    def pending(self) -> bool:
        return self._dirty


def _color_wires(layer) -> None:
    """Fixed colours: 1 = nanowire (orange-red), 2 = second class (cyan), 3 = third."""
    from napari.utils.colormaps import DirectLabelColormap

    layer.colormap = DirectLabelColormap(color_dict=WIRE_COLOR)


def controller_for(session) -> MaskLayerController:
    """The session's mask controller (one per viewer, created on first use)."""
    controller = getattr(session, "mask_controller", None)
    if controller is None:
        controller = session.mask_controller = MaskLayerController(session)
    return controller
