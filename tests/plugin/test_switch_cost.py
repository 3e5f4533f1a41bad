"""What an image switch asks of napari: the image layer's thumbnail made once, the layer list's
rows updated once — and both right for the new image."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_nanomorph.launcher import open_path
from napari_nanomorph.layers import _layer_list_model, find_layer


@pytest.fixture
def opened(app, sample_copies):
    """Three images open, the first shown, the second read ahead."""
    folder = sample_copies(("bundle_01.tif", "network_01.tif", "singular_01.tif"))
    open_path(app.viewer, folder)
    app.wait_jobs()
    second = app.session.project.images.all()[1]
    app.docks["Images"].step(1)
    app.docks["Images"].step(-1)  # the second is read ahead again
    app.qtbot.waitUntil(lambda: app.session.read_ahead.layer(second) is not None, timeout=10000)
    app.wait_jobs()
    return app, second


def test_the_thumbnail_is_made_once_per_switch_from_the_new_image(opened, monkeypatch):
    app, second = opened
    layer = find_layer(app.viewer, "image")
    made = []
    real = type(layer)._update_thumbnail
    monkeypatch.setattr(type(layer), "_update_thumbnail",
                        lambda self: made.append(self.name) or real(self))
    app.docks["Images"].step(1)
    assert made == [second.name]  # not once each for data, contrast, scale and the view
    before = layer.thumbnail.copy()
    real(layer)  # made again from what the layer holds now: the same picture
    np.testing.assert_array_equal(layer.thumbnail, before)
    assert "_update_thumbnail" not in vars(layer)  # napari's own method is back


def test_the_layer_list_updates_its_rows_once_per_switch_and_shows_the_new_name(opened):
    app, second = opened
    model = _layer_list_model(app.viewer)
    changes = []
    model.dataChanged.connect(lambda top, bottom, _roles: changes.append((top.row(),
                                                                          bottom.row())))
    app.docks["Images"].step(1)
    assert changes == [(0, model.rowCount() - 1)]
    names = [model.data(model.index(row, 0), Qt.ItemDataRole.DisplayRole)
             for row in range(model.rowCount())]
    assert second.name in names
    app.viewer.layers["mask"].opacity = 0.3  # outside a switch, napari's own updates again
    assert len(changes) > 1


def test_a_switch_warns_nothing_through_the_proxy_napari_gives_plugins(opened, recwarn):
    app, _second = opened
    app.docks["Images"].step(1)
    app.docks["Images"].step(1)
    app.wait_jobs()
    assert not [w for w in recwarn if "Private attribute access" in str(w.message)]
