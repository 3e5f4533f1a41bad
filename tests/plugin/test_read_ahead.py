"""Reading ahead: the browser's neighbours of the current image are read with their masks, so
that stepping to one shows it and its mask at once (one repaint, no worker beside it); a mask
saved since it was read ahead, or a file that cannot be read, is never hidden."""

from __future__ import annotations

import numpy as np
import pytest

from napari_nanomorph.launcher import open_path
from napari_nanomorph.layers import find_layer
from napari_nanomorph.read_ahead import NOT_AHEAD


@pytest.fixture
def opened(app, sample_copies):
    """Three images open, the first current; the second has a mask; reading ahead done."""
    folder = sample_copies(("bundle_01.tif", "network_01.tif", "singular_01.tif"))
    open_path(app.viewer, folder)
    app.wait_jobs()
    project = app.session.project
    second = project.images.all()[1]
    mask = np.zeros(second.shape[-2:], np.uint8)
    mask[10:20, 30:60] = 1
    project.masks.save(second.id, mask)
    app.wait_jobs()
    app.docks["Images"].step(1)
    app.docks["Images"].step(-1)  # the second is read ahead again, with its mask
    app.qtbot.waitUntil(lambda: app.session.read_ahead.layer(second) is not None, timeout=10000)
    app.wait_jobs()
    return app, second, mask


def test_a_neighbour_shows_with_its_mask_in_the_same_turn_without_a_worker(opened):
    app, second, mask = opened
    app.docks["Images"].step(1)
    # no event loop has run: the image and its mask are in the layers, and no job was started
    assert find_layer(app.viewer, "image").name == second.name
    assert np.array_equal(find_layer(app.viewer, "mask").data, mask)
    assert not app.session.jobs.busy


def test_a_mask_saved_after_it_was_read_ahead_is_the_one_shown(opened):
    app, second, _mask = opened
    newer = np.zeros(second.shape[-2:], np.uint8)
    newer[40:50, 5:25] = 2
    app.session.project.masks.save(second.id, newer, source="imported")  # another writer
    assert app.session.read_ahead.mask(second) is NOT_AHEAD
    app.docks["Images"].step(1)
    app.wait_jobs()
    assert np.array_equal(find_layer(app.viewer, "mask").data, newer)


def test_painting_the_shown_mask_leaves_the_read_ahead_copy_as_stored(opened):
    app, second, mask = opened
    app.docks["Images"].step(1)
    find_layer(app.viewer, "mask").data[:] = 3
    assert np.array_equal(app.session.read_ahead.mask(second), mask)


def test_a_neighbour_that_cannot_be_read_is_skipped_quietly_and_reported_when_opened(
        opened, notifications):
    app, second, _mask = opened
    third = app.session.project.images.all()[2]
    app.session.read_ahead.reset(app.session.project)  # forget it was read ahead at open
    with open(third.path, "r+b") as file:
        file.truncate(64)  # the file is cut after it was added
    app.docks["Images"].step(1)  # to the second: the third is read ahead, and cannot be
    app.wait_jobs()
    assert app.session.read_ahead.layer(third) is None
    assert notifications == []
    app.docks["Images"].step(1)
    app.wait_jobs()
    errors = [message for level, message in notifications if level == "error"]
    assert len(errors) == 1 and third.name in errors[0]
    assert app.session.current.id == third.id
