"""LivePlot: matplotlib pictures drawn on a worker thread, the newest data winning."""

from __future__ import annotations

import threading

from qtpy.QtWidgets import QVBoxLayout, QWidget

from napari_nanomorph.widgets.liveplot import LivePlot, render_rgba


def line(figure, data):
    ax = figure.add_subplot()
    ax.plot(data)


def test_render_gives_an_rgba_picture_of_the_figure():
    rgba, axes, extra = render_rgba(line, [0, 1, 4], figsize=(2, 1), dpi=50)
    assert rgba.shape == (50, 100, 4) and rgba.dtype.name == "uint8" and axes == 1
    assert extra is None
    assert len({tuple(p) for p in rgba.reshape(-1, 4)[::7]}) > 2  # not a blank picture


def test_updates_are_drawn_off_the_gui_thread_and_coalesced(qtbot):
    threads, drawn = [], []

    def draw(figure, data):
        threads.append(threading.current_thread())
        drawn.append(data)
        line(figure, data)

    plot = LivePlot(draw)
    qtbot.addWidget(plot)
    for n in range(2, 7):
        plot.show_data(list(range(n)))
    qtbot.waitUntil(lambda: plot.idle, timeout=10000)
    assert threading.main_thread() not in threads
    assert drawn[0] == [0, 1] and drawn[-1] == list(range(6))
    assert len(drawn) < 5  # the updates that came while drawing were merged
    assert plot.pixmap() is not None and not plot.pixmap().isNull()
    assert plot.axes_count == 1


def test_a_draw_can_report_where_its_points_landed():
    def scatter(figure, data):
        ax = figure.add_subplot()
        ax.scatter(*zip(*data))
        return lambda: ax.transData.transform(data)

    rgba, _, points = render_rgba(scatter, [(0, 0), (1, 1)], figsize=(2, 2), dpi=50)
    assert points.shape == (2, 2) and points[1, 0] > points[0, 0] and points[1, 1] > points[0, 1]
    assert 0 <= points.min() and points.max() <= 100


def test_a_cleared_plot_drops_the_picture_being_drawn_and_keeps_what_each_shows(qtbot):
    started = threading.Event()
    release = threading.Event()

    def slow(figure, data):
        started.set()
        release.wait(10)
        line(figure, data)

    plot = LivePlot(slow)
    qtbot.addWidget(plot)
    plot.show_data([0, 1, 2])
    assert started.wait(10)
    plot.clear()  # e.g. another project opened while its last picture was being drawn
    release.set()
    qtbot.waitUntil(lambda: plot.idle, timeout=10000)
    assert plot.pixmap() is None or plot.pixmap().isNull()
    assert plot.shown is None and plot.extra is None and plot.axes_count == 0
    plot.show_data([3, 4])
    qtbot.waitUntil(lambda: plot.idle and plot.shown is not None, timeout=10000)
    assert plot.shown == [3, 4] and plot.axes_count == 1


def test_a_plot_hidden_in_a_shown_window_draws_nothing_until_shown_then_the_newest(qtbot):
    drawn = []

    def draw(figure, data):
        drawn.append(data)
        line(figure, data)

    window = QWidget()
    qtbot.addWidget(window)
    plot = LivePlot(draw)
    QVBoxLayout(window).addWidget(plot)
    plot.hide()  # e.g. the plot of a workflow step that is not open
    window.show()
    for n in range(2, 5):  # an update at each image switch
        plot.show_data(list(range(n)))
    qtbot.wait(200)
    assert drawn == [] and plot.idle and plot.shown is None
    plot.show()
    qtbot.waitUntil(lambda: plot.idle and plot.shown is not None, timeout=10000)
    assert drawn == [[0, 1, 2, 3]] and plot.axes_count == 1
