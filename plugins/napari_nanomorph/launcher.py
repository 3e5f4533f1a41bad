"""The nanomorph desktop app: a napari window with the nanomorph docks, opened on a path.

``nanomorph gui [PATH]`` lands here (the one allowed engine → plugin crossing). The docks are
added through napari's plugin machinery from this package's manifest, so app users and plugin
users run the same widget code.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib.util import find_spec

# The app runs on PySide6 (LGPL), the binding this package installs; qtpy would take PyQt6
# first where both are installed. QT_API set by the user wins, as does a binding already in use.
if "QT_API" not in os.environ and "qtpy" not in sys.modules and find_spec("PySide6"):
    os.environ["QT_API"] = "pyside6"

from nanomorph.errors import NanomorphError, display_path  # noqa: E402
from nanomorph.jobs import call_as_job  # noqa: E402
from nanomorph.project import Project  # noqa: E402
from nanomorph.project.opening import resolve_target  # noqa: E402
from napari.utils.notifications import show_error, show_info, show_warning  # noqa: E402

from napari_nanomorph.session import keep_out_of_gc, session_for  # noqa: E402

log = logging.getLogger("nanomorph")
PLUGIN = "napari-nanomorph"
# dock widgets (display names in napari.yaml): the workflow bar on the right, the image
# browser on the left under napari's layer controls
WORKFLOW_DOCK = "Workflow"
BROWSER_DOCK = "Images"


def add_docks(viewer) -> dict:
    """Add the workflow bar and the image browser to ``viewer``.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.

    Returns
    -------
    dict
        Step title (``"Project"`` … ``"Batch & Report"``), ``"Images"`` and ``"Workflow"`` →
        widget.
    """
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QMainWindow

    _, workflow = viewer.window.add_plugin_dock_widget(PLUGIN, WORKFLOW_DOCK)
    browser_dock, browser = viewer.window.add_plugin_dock_widget(PLUGIN, BROWSER_DOCK)
    window = browser_dock.parentWidget()
    if isinstance(window, QMainWindow):  # the browser goes under napari's layer controls
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, browser_dock)
    return {**workflow.steps, BROWSER_DOCK: browser, WORKFLOW_DOCK: workflow}


def arrange_window(docks: dict) -> None:
    """Give the app's window the size and layout it had when it was last closed; the first
    time, most of the screen, the canvas taking what the workflow bar does not need and the
    image browser half of the left column.

    Parameters
    ----------
    docks : dict
        As :func:`add_docks` returns them.
    """
    from qtpy.QtCore import QByteArray, Qt
    from qtpy.QtWidgets import QMainWindow

    from napari_nanomorph.preferences import load_preferences

    window = docks[WORKFLOW_DOCK].window()
    if not isinstance(window, QMainWindow):
        return
    prefs = load_preferences()
    geometry = prefs.get("geometry")
    if not (isinstance(geometry, str) and window.restoreGeometry(
            QByteArray.fromBase64(geometry.encode("ascii")))):
        screen = window.screen().availableGeometry()
        window.setGeometry(screen.adjusted(screen.width() // 25, screen.height() // 25,
                                           -screen.width() // 25, -screen.height() // 25))
    width = prefs.get("workflow_width")
    if not (isinstance(width, int) and width > 0):  # narrower on small screens
        width = 470 if window.width() >= 1600 else 400
    window.resizeDocks([_dock_of(docks[WORKFLOW_DOCK], window)], [width],
                       Qt.Orientation.Horizontal)
    window.resizeDocks([_dock_of(docks[BROWSER_DOCK], window)], [window.height() // 2],
                       Qt.Orientation.Vertical)


def _dock_of(widget, window):
    """The dock widget of ``window`` that holds ``widget``."""
    while widget is not None and widget.parentWidget() is not window:
        widget = widget.parentWidget()
    return widget


def open_path(viewer, path, numbered_frames: dict | None = None) -> Project:
    """Open ``path`` (project folder, folder of images, or image file) in the viewer's session.

    Images still to be added are hashed and read in the background; the first (or the given
    image file) becomes the current image when that finishes. With ``numbered_frames``
    (``{"interval_s": seconds or None}``) the folder ``path`` is added as one movie of numbered
    frames instead (``ImageRepository.add_numbered_frames``).
    """
    session = session_for(viewer)
    target = resolve_target(path)
    project = _open_project(target.project_folder)
    _paint_between_steps()
    session.open_project(project)
    if not project.read_only:  # the backup taken at each opening, off the GUI thread
        session.jobs.start(lambda _token: call_as_job(project.backup),
                           name="Back up the project", cancellable=False)
    if project.read_only:
        show_warning(f"{display_path(project.folder)}: the folder is read-only; "
                     "the project opens read-only and changes will not be saved")
    if numbered_frames is not None and not project.read_only:
        add_numbered_frames(viewer, os.fspath(path), numbered_frames.get("interval_s"))
    elif target.files_to_add and not project.read_only:
        add_files(viewer, target.files_to_add, current=target.current)
    else:
        session.after_records(lambda: _show_first(session, target.current))
    return project


def _paint_between_steps() -> None:
    """Let the window repaint and its timers run once, user input held back, between two
    steps of an opening on the GUI thread: the database's check (40–60 ms at 100,000 images)
    and the docks' refresh (20–30 ms, then their repaint) stalled the window as one block.
    What runs here sees the previous project, still the session's."""
    from qtpy.QtCore import QEventLoop
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)


def _open_project(folder) -> Project:
    """Open (or create) the project in ``folder``; read-only when another program writes to
    it; a damaged database is restored from its last good backup when the user agrees."""
    from nanomorph.errors import ProjectDamagedError, ProjectLockedError
    from nanomorph.project.backups import list_backups, restore_backup

    try:
        return Project.open_or_create(folder, backup=False)
    except ProjectLockedError as e:
        show_warning(f"{e}. It opens read-only here: changes are not saved")
        return Project.open(folder, read_only=True)
    except ProjectDamagedError as e:
        names = list_backups(folder)
        if not names or not confirm_restore(str(e), names[-1]):
            raise
        restored = restore_backup(folder)
        show_info(f"restored the backup {restored}; the damaged database was kept beside it")
        return Project.open(folder, backup=False)


def confirm_restore(problem: str, newest: str) -> bool:
    """Ask whether to restore the newest backup of a damaged project (a modal question)."""
    from qtpy.QtWidgets import QMessageBox

    answer = QMessageBox.question(
        None, "Damaged project",
        f"{problem}\n\nRestore the last good backup ({newest})? The damaged database is kept "
        "beside it, nothing is deleted.")
    return answer == QMessageBox.StandardButton.Yes


def add_files(viewer, files, current: str | None = None) -> None:
    """Add image files to the session's project in the background, then refresh the docks."""
    session = session_for(viewer)
    project = session.project
    session.jobs.start(lambda token: project.images.add(files, cancel=token),
                       name="Add images", on_done=_report_added(session, current, _added_count))


def add_numbered_frames(viewer, folder: str, interval_s: float | None = None) -> None:
    """Add a folder of numbered frames to the session's project as one movie, in the
    background (see ``ImageRepository.add_numbered_frames``), then refresh the docks."""
    session = session_for(viewer)
    project = session.project
    session.jobs.start(lambda token: project.images.add_numbered_frames(
        folder, interval_s=interval_s, cancel=token), name="Add frames",
        on_done=_report_added(session, None, _movie_count))


def _added_count(result) -> str | None:
    """``added 3 images`` (nothing when none was new)."""
    n = len(result.added)
    return f"added {n} image{'s' * (n != 1)}" if n else None


def _movie_count(result) -> str | None:
    """``run1/: 120 frames (120 new)``: a folder of numbered frames, including the plain
    images of it that became its frames."""
    frames = [r for r in result.added + result.already_present if r.group is not None]
    if not frames:
        return None
    return f"{frames[0].group}: {len(frames)} frames ({len(result.added)} new)"


def _report_added(session, current: str | None, summary):
    """What to do when images were added: one line per problem, ``summary(result)``, then show
    ``current`` (or the first image when nothing is shown)."""

    def done(result) -> None:
        if result.failed:
            first_path, first_reason = result.failed[0]
            more = f" (and {len(result.failed) - 1} more, see the log)" if len(result.failed) > 1 else ""
            show_warning(f"{display_path(first_path)}: {first_reason}{more}")
            for path, reason in result.failed:
                log.warning("not added: %s: %s", display_path(path), reason)
        for path, reason in result.partial:  # a cut movie: its whole frames were added
            show_warning(f"{display_path(path)}: {reason}")
        line = summary(result)
        if line:
            show_info(line)
        session.after_records(lambda: _show_first(session, current))

    return done


def _show_first(session, path: str | None) -> None:
    """Make ``path``'s image (or the first image) current when nothing is shown yet."""
    records = session.records()
    wanted = [r for r in records if os.path.abspath(r.path) == os.path.abspath(path)] if path else []
    first = next((r for r in records if r.exists), None) if session.current is None else None
    chosen = wanted or ([first] if first is not None else [])
    if chosen:
        session.set_current(chosen[0])


def main(path=None, sample: bool = False, numbered_frames: dict | None = None) -> int:
    """Start the desktop app (blocks until the window closes): a splash paints at once while
    napari builds its window, its layers and the heavy libraries load; then the window shows
    and never waits for them. ``numbered_frames`` (``{"interval_s": …}``): ``path`` is a
    folder of numbered frames, added as one movie (see :func:`open_path`)."""
    import napari
    from napari._qt.qt_event_loop import get_qapp

    splash = show_splash(get_qapp())
    viewer = napari.Viewer(title="nanomorph")
    docks = add_docks(viewer)
    arrange_window(docks)
    prepare_layers(viewer)
    warm_up(splash)
    splash.finish(viewer.window._qt_window)
    get_qapp().processEvents()  # the window paints before the project loads
    warm_canvas(viewer)
    try:
        if sample:
            open_sample_project(viewer)
        elif path is not None:
            open_path(viewer, path, numbered_frames)
    except NanomorphError as e:
        show_error(str(e))
    napari.run()
    return 0


def show_splash(app):
    """A splash screen, painted before anything else is built.

    Parameters
    ----------
    app : QApplication
        The application.

    Returns
    -------
    QSplashScreen
        Shown; ``finish(window)`` hides it once the window is up.
    """
    from qtpy.QtCore import Qt
    from qtpy.QtGui import QColor, QFont, QPainter, QPixmap
    from qtpy.QtWidgets import QSplashScreen

    pixmap = QPixmap(460, 150)
    pixmap.fill(QColor("#1f2430"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#f59e7e"))
    painter.setFont(QFont(painter.font().family(), 26, QFont.Weight.Bold))
    painter.drawText(pixmap.rect().adjusted(0, -20, 0, 0), Qt.AlignmentFlag.AlignCenter,
                     "nanomorph")
    painter.setPen(QColor("#c9d1db"))
    painter.setFont(QFont(painter.font().family(), 10))
    painter.drawText(pixmap.rect().adjusted(0, 60, 0, 0), Qt.AlignmentFlag.AlignCenter,
                     "opening the window…")
    painter.end()
    splash = QSplashScreen(pixmap)
    splash.show()
    app.processEvents()
    return splash


def prepare_layers(viewer) -> None:
    """Build the image and mask layers, hidden, while the splash shows: napari builds a
    layer's visuals and controls on the GUI thread (0.5–2 s for the first Labels layer), so
    the first image of a project then only swaps their data.

    Parameters
    ----------
    viewer : napari.Viewer
        The app's viewer.
    """
    import numpy as np

    from napari_nanomorph.layers import ROLE_KEY
    from napari_nanomorph.mask_layer import controller_for

    placeholder = np.zeros((2, 2), np.uint8)
    viewer.add_image(placeholder, name="no image yet", metadata={ROLE_KEY: "image"},
                     visible=False)
    controller_for(session_for(viewer)).create_layer(placeholder).visible = False


def warm_canvas(viewer) -> None:
    """Draw the image and mask layers and the scale bar once, as soon as the window shows:
    napari compiles a layer's OpenGL programs and renders the scale bar's letters on their first
    draw. Done when a project's first image showed, that froze the window for 0.28 s; here it
    takes 0.23–0.28 s before the user acts, and the first image's repaint then 0.07–0.12 s.
    Every letter the scale bar may write is rendered too (:func:`_render_scale_bar_glyphs`,
    about 70 ms more here), not only those of its first length.

    Parameters
    ----------
    viewer : napari.Viewer
        The app's viewer, its window shown (:func:`prepare_layers` done).
    """
    from qtpy.QtWidgets import QApplication

    from napari_nanomorph.layers import find_layer

    layers = [find_layer(viewer, role) for role in ("image", "mask")]
    scale_bar = viewer.canvas.overlays.scale_bar
    for layer in layers:
        layer.visible = True
    scale_bar.visible = True
    _render_scale_bar_glyphs(viewer)
    QApplication.processEvents()  # the canvas draws them
    for layer in layers:
        layer.visible = False
    scale_bar.visible = False
    QApplication.processEvents()


# what the scale bar writes: napari's lengths (1, 2, 5, 10, 15, 20, 25, 50, 75, 100, 125, 150,
# 200, 500, 750 × a power of 1,000) and the units of micrographs
SCALE_BAR_CHARACTERS = "0125 7nµmÅpixel"


def _render_scale_bar_glyphs(viewer) -> None:
    """Render the letters the scale bar may write into the canvas's font: napari renders each
    letter the first time it is written, 10–20 ms apiece on the GUI thread (a first frame whose
    scale bar said "50 px" stalled 20 ms more for its "5"). Reaches napari's canvas font, which
    is not public: without it nothing is rendered ahead."""
    info = getattr(getattr(viewer.window._qt_viewer, "canvas", None), "_font_info", None)
    if info is None:
        return
    font = info.font_manager.get_font(info.face)
    for character in SCALE_BAR_CHARACTERS:
        font[character]  # renders it once


def _import_what_the_first_image_and_mask_need() -> None:
    """Load what the workers that show a project's first image and make its first auto-mask
    import (~0.1 s in all): the readers, the thumbnails' PNG codec and resizing, the mask's
    smoothing (scikit-image loads its modules on first use, so the functions are taken),
    Pillow's format plugins, the embedding cache and few-shot head. Loaded on a worker while
    the window painted, each module held Python's lock for up to tens of ms at a time (stalls
    of 50–60 ms were sampled there while 100,000 frames opened)."""
    import imageio.plugins.pillow  # noqa: F401
    import imageio.v3  # noqa: F401
    import nanomorph.embedding.job  # noqa: F401
    import nanomorph.fewshot.head  # noqa: F401
    import nanomorph.project.classsets  # noqa: F401
    import nanomorph.workflows.scalebar  # noqa: F401
    import tifffile  # noqa: F401
    from PIL import Image
    from skimage.filters import gaussian  # noqa: F401 - the auto-mask's smoothing
    from skimage.transform import resize  # noqa: F401

    Image.init()


def warm_up(splash=None) -> None:
    """Import the heavy libraries the first mask, model and embedding need (scikit-image,
    scikit-learn, torch), and the file lock the first project opening takes (10–30 ms on the GUI
    thread otherwise), while the splash shows. A worker thread would not spare the GUI:
    importing torch holds Python's lock for whole seconds of its C initialisation, which
    froze the window (0.8 s measured) when the first embedding job imported it.

    Parameters
    ----------
    splash : QSplashScreen, optional
        Shows what is loading.
    """
    import importlib

    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QApplication

    # the auto-mask's module takes its scikit-image filters at import (scikit-image loads a
    # module on first use: importing ``skimage.filters`` alone loaded next to nothing)
    for module, what in (("nanomorph.masks.auto", "scikit-image"),
                         ("sklearn.linear_model", "scikit-learn"), ("torch", "PyTorch")):
        if splash is not None:
            splash.showMessage(f"loading {what}…", Qt.AlignmentFlag.AlignBottom
                               | Qt.AlignmentFlag.AlignHCenter, Qt.GlobalColor.lightGray)
            QApplication.processEvents()
        importlib.import_module(module)
    importlib.import_module("filelock")  # opening a project takes its lock on the GUI thread
    _import_what_the_first_image_and_mask_need()
    keep_out_of_gc()  # what is loaded now lives as long as the app


def open_sample_project(viewer) -> None:
    """Create the bundled sample project on first use (in the background), then open it."""
    from nanomorph.workflows.sample_project import (
        prepare_sample_project,
        sample_project_folder,
    )

    session = session_for(viewer)
    folder = sample_project_folder()
    session.jobs.start(lambda token: prepare_sample_project(folder, cancel=token),
                       name="Prepare the sample project",
                       on_done=lambda _project_folder: open_path(viewer, folder))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(*sys.argv[1:2]))
