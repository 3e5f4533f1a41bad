"""The docks without a project: working on the layers a user has open in a plain napari.

A user who meets nanomorph as a napari plugin has images open as Image layers and perhaps masks
as Labels layers. Without a project the docks act on those layers (chosen in a :class:`LayerChoice`,
napari's convention: it follows the selected layer); what needs a set of images kept together
(labels, training sets, batch) offers to make a project from the open layers
(:func:`make_project_from_layers`) — files stay where they are, in-memory layers and their
masks are saved into it.
"""

from __future__ import annotations

import os

import numpy as np
from nanomorph.errors import NanomorphError
from napari_nanomorph.layers import ROLE_KEY
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

PAIRED_KEY = "nanomorph_image"  # metadata of a Labels layer: the Image layer it masks
NO_PROJECT = ("No project is open: this step works on the layers you have open. "
              "Labels, training sets, versions and batch runs need a project.")


def user_layers(viewer, kind: str) -> list:
    """The user's Image (``kind="image"``) or Labels (``"labels"``) layers, nanomorph's own
    overlays (clusters, previews, wires …) left out.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.
    kind : str
        ``image`` or ``labels``.

    Returns
    -------
    list of napari.layers.Layer
        In the layer list's order.
    """
    from napari.layers import Image, Labels

    cls = {"image": Image, "labels": Labels}[kind]
    return [layer for layer in viewer.layers
            if isinstance(layer, cls) and ROLE_KEY not in layer.metadata]


def plane(layer) -> np.ndarray:
    """The 2-D data of a layer (an RGB image as grey levels).

    Parameters
    ----------
    layer : napari.layers.Image or napari.layers.Labels
        The layer.

    Returns
    -------
    ndarray, 2-D

    Raises
    ------
    NanomorphError
        When the layer is not one plane.
    """
    data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data
    array = np.asarray(data)
    if getattr(layer, "rgb", False):
        array = array[..., :3].mean(axis=-1)
    if array.ndim != 2:
        raise NanomorphError(f"{layer.name}: a {array.ndim}-D layer; choose a 2-D image or mask")
    return array


def layer_planes(dock, layers) -> list[tuple[str, np.ndarray, tuple | None]]:
    """Name, 2-D data and pixel size (nm) of each layer, each read once; a layer that is not
    one plane is reported in one notification (through ``dock``) and left out.

    Parameters
    ----------
    dock : NanomorphDock
        Reports the layers that cannot be used.
    layers : list of napari.layers.Layer
        The layers.

    Returns
    -------
    list of (str, ndarray, (float, float) or None)
    """
    items = []
    for layer in layers:
        read = []
        if dock.guarded(lambda layer=layer: read.append(plane(layer))):
            items.append((layer.name, read[0], pixel_size_nm(layer)))
    return items


def pixel_size_nm(layer) -> tuple[float, float] | None:
    """The layer's pixel size (y, x) in nm as napari shows it, None when in pixels.

    Parameters
    ----------
    layer : napari.layers.Layer
        The layer (its ``scale`` and ``units``).

    Returns
    -------
    (float, float) or None
    """
    units, scale = layer.units[-2:], layer.scale[-2:]
    if any("[length]" != str(u.dimensionality) for u in units):
        return None
    return tuple(float(s * (1 * u).to("nm").magnitude) for s, u in zip(scale, units))


def paired_mask(viewer, image_layer):
    """The Labels layer that masks an Image layer: the newest made for it (its metadata), else
    the only Labels layer of its shape.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.
    image_layer : napari.layers.Image
        The image.

    Returns
    -------
    napari.layers.Labels or None
    """
    labels = user_layers(viewer, "labels")
    made = [lab for lab in labels if lab.metadata.get(PAIRED_KEY) == image_layer.name]
    if made:
        return made[-1]
    shape = np.shape(image_layer.data)[:2] if not image_layer.rgb else \
        np.shape(image_layer.data)[:-1]
    same = [lab for lab in labels if np.shape(lab.data) == tuple(shape)]
    return same[0] if len(same) == 1 else None


class LayerChoice(QWidget):
    """A labelled combo box of the viewer's Image or Labels layers that follows the selected
    layer of its kind (napari's convention for a dock's input).

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.
    kind : str
        ``image`` or ``labels``.
    label : str
        Shown before the box.
    """

    def __init__(self, viewer, kind: str, label: str):
        super().__init__()
        self.viewer, self.kind = viewer, kind
        self.box = QComboBox()
        self.box.setToolTip(f"the {kind} layer this step works on; selecting a layer in the "
                            "layer list chooses it")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel(label))
        row.addWidget(self.box, 1)
        events = viewer.layers.events
        hooks = [(events.inserted, self.refresh), (events.removed, self.refresh),
                 (events.moved, self.refresh),
                 (viewer.layers.selection.events.active, self._follow)]
        for emitter, slot in hooks:
            emitter.connect(slot)
        self.destroyed.connect(lambda *_: [emitter.disconnect(slot) for emitter, slot in hooks])
        self.refresh()

    def refresh(self, *_event) -> None:
        """List the layers again, keeping the choice when it still exists."""
        chosen = self.box.currentText()
        names = [layer.name for layer in user_layers(self.viewer, self.kind)]
        self.box.blockSignals(True)
        self.box.clear()
        self.box.addItems(names)
        active = self.viewer.layers.selection.active
        keep = chosen if chosen in names else (active.name if active is not None and
                                               active.name in names else None)
        if keep is not None:
            self.box.setCurrentText(keep)
        self.box.blockSignals(False)

    def _follow(self, event) -> None:
        layer = event.value
        if layer is not None and layer in user_layers(self.viewer, self.kind):
            self.box.setCurrentText(layer.name)

    @property
    def layer(self):
        """The chosen layer, or None when there is none of this kind."""
        name = self.box.currentText()
        return next((layer for layer in user_layers(self.viewer, self.kind)
                     if layer.name == name), None)


def layer_images(viewer) -> list:
    """Every open Image layer as a :class:`~nanomorph.workflows.from_layers.LayerImage` with
    its paired mask.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.

    Returns
    -------
    list of LayerImage

    Raises
    ------
    NanomorphError
        When a layer is not one plane.
    """
    from nanomorph.workflows.from_layers import LayerImage

    images = []
    for layer in user_layers(viewer, "image"):
        source = getattr(layer.source, "path", None)
        mask_layer = paired_mask(viewer, layer)
        images.append(LayerImage(
            layer.name, plane(layer),
            path=os.fspath(source) if source and os.path.isfile(source) else None,
            pixel_size_nm=pixel_size_nm(layer),
            mask=np.asarray(mask_layer.data).copy() if mask_layer is not None else None))
    return images


def make_project_from_layers(dock, folder: str) -> None:
    """Save the open layers as a project in ``folder`` (a background job), then open it: the
    docks switch to project mode. The layers stay in the viewer.

    Parameters
    ----------
    dock : NanomorphDock
        The dock that asked (its job runner and session).
    folder : str
        A new or empty folder.
    """
    from napari.utils.notifications import show_info
    from nanomorph.workflows.from_layers import project_from_layers
    from napari_nanomorph.launcher import open_path

    if not dock.guarded(lambda: layer_images(dock.viewer)):
        return
    images = layer_images(dock.viewer)

    def done(summary: dict) -> None:
        open_path(dock.viewer, summary["folder"])
        show_info(f"project made from {len(summary['added'])} layers "
                  f"({summary['referenced']} files referenced, {summary['written']} saved "
                  f"into it, {summary['masks']} masks): {summary['folder']}")

    dock.run_job(lambda token: project_from_layers(folder, images, cancel=token),
                 name="Make a project from the layers", on_done=done)


class NoProjectBanner(QWidget):
    """What a dock says when no project is open, with *Make a project from these layers…*; it
    shows itself, hides the layer pickers and disables the project-only controls (each telling
    why in its tooltip) whenever no project is open.

    Parameters
    ----------
    dock : NanomorphDock
        The dock it belongs to.
    what : str
        What this step does on layers, or why it needs a project.
    layer_only : sequence of QWidget
        Shown only without a project (e.g. a :class:`LayerChoice`).
    project_only : sequence of QWidget
        Enabled only with a project.
    """

    def __init__(self, dock, what: str, layer_only=(), project_only=()):
        from napari_nanomorph.signals import listen

        super().__init__()
        self.dock = dock
        self.layer_only, self.project_only = list(layer_only), list(project_only)
        self._tips = {id(w): w.toolTip() for w in self.project_only}
        text = QLabel(f"<i>{NO_PROJECT}</i> {what}")
        text.setWordWrap(True)
        self.button = QPushButton("Make a project from these layers…")
        self.button.setToolTip("files stay where they are; in-memory layers and their masks "
                               "are saved into the project's folder")
        self.button.clicked.connect(self.ask_folder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(text)
        layout.addWidget(self.button)
        listen(dock, dock.session.project_changed, self.follow)
        self.follow(dock.session.project)

    def follow(self, project) -> None:
        """Show the banner and the layer controls, or the project's controls.

        Parameters
        ----------
        project : Project or None
            The session's project.
        """
        plain = project is None
        self.setVisible(plain)
        for widget in self.layer_only:
            widget.setVisible(plain)
        for widget in self.project_only:
            widget.setEnabled(not plain)
            widget.setToolTip("needs a project: Make a project from these layers (above)"
                              if plain else self._tips[id(widget)])

    def ask_folder(self) -> None:
        """Ask for a new folder and make the project there."""
        from qtpy.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "A new, empty folder for the project")
        if folder:
            make_project_from_layers(self.dock, folder)
