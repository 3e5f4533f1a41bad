"""The Explore step: what is in the project before it is labelled — clusters of images on the
classifier's embeddings (k-means with the number chosen by silhouette, or set; HDBSCAN with a
noise group), the images most like the current one, "label this cluster as …" with a review of
its members and an undo, and the images whose class and percolation disagree (with what each
class is expected to do)."""

from __future__ import annotations

from nanomorph.jobs import call_as_job
from napari.utils.notifications import show_info, show_warning
from napari_nanomorph.layer_mode import NoProjectBanner
from napari_nanomorph.signals import listen
from napari_nanomorph.widgets.base import NanomorphDock
from napari_nanomorph.widgets.liveplot import LivePlot, point_positions
from napari_nanomorph.widgets.table import ImageTable
from qtpy.QtCore import QSize, Qt
from qtpy.QtGui import QIcon
from qtpy.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
)

TABLE_COLUMNS = ("image", "cluster", "distance to centre", "similarity", "label",
                 "connectivity")
EXPECTATIONS = {"percolates": True, "does not": False, "either": None}
REVIEW_NAMES = 12  # members named in the review before a cluster is labelled
GRID_ICON_PX = 72  # thumbnails of the chosen cluster's members
MAP_HEIGHT_PX = 260


def draw_cluster_map(figure, data: tuple):
    """The images on a 2-D PCA map of their embeddings, coloured by cluster (noise grey).
    ``data`` is ``(xy, cluster labels)``.

    Returns
    -------
    callable
        Gives the points' positions in picture pixels (origin top left) once drawn.
    """
    xy, labels = data
    ax = figure.add_subplot()
    for cluster in sorted(set(labels.tolist())):
        mine = labels == cluster
        ax.scatter(xy[mine, 0], xy[mine, 1], s=18,
                   color="lightgray" if cluster < 0 else f"C{cluster % 10}",
                   label="noise" if cluster < 0 else f"cluster {cluster}")
    ax.set(xticks=[], yticks=[])
    ax.set_title("clusters, PCA map (click opens)", fontsize=9)
    ax.legend(fontsize=6, markerscale=0.8)
    return point_positions(figure, ax, xy)


class ExploreWidget(NanomorphDock):
    """Clusters, similar images and bulk labelling for one viewer."""

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.embeddings = None
        self.clustering = None  # (image ids, Clustering)
        self.similar: dict[int, float] = {}
        self.flags: dict[int, dict] | None = None  # consistency, once listed
        self._names: dict[int, str] | None = None  # image id → name
        self._undo: dict[int, str | None] | None = None

        self.method = _narrow(QComboBox())
        self.method.addItems(["kmeans", "hdbscan"])
        self.method.setToolTip("k-means: a number of clusters (or the best silhouette); "
                               "HDBSCAN: the data decide, images in no dense group are noise")
        self.n_clusters = QSpinBox()
        self.n_clusters.setRange(0, 50)
        self.n_clusters.setSpecialValueText("auto")
        self.n_clusters.setToolTip("k-means clusters; auto = the number with the best "
                                   "silhouette (2-12)")
        cluster_button = QPushButton("Cluster the images")
        cluster_button.clicked.connect(self.cluster)
        self.top = QSpinBox()
        self.top.setRange(1, 100)
        self.top.setValue(8)
        similar_button = QPushButton("Find images like this one")
        similar_button.clicked.connect(self.find_similar)
        box_button = QPushButton("… like the drawn box")
        box_button.setToolTip("Draw a rectangle in the 'query box' layer (made at the first "
                              "click) around a detail; images like that region are listed")
        box_button.clicked.connect(self.find_like_box)
        self.summary = QLabel("Cluster the images to see which kinds there are.")
        self.summary.setWordWrap(True)
        self.chosen_cluster = _narrow(QComboBox())
        self.target_class = _narrow(QComboBox())
        label_button = QPushButton("Label cluster as…")
        label_button.clicked.connect(self.label_cluster)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo)
        disagreements_button = QPushButton("List class ↔ connectivity disagreements")
        disagreements_button.setToolTip("Images whose class (label, else prediction) and "
                                        "percolation verdict disagree: mislabelled, "
                                        "mis-masked, or interesting")
        disagreements_button.clicked.connect(self.list_disagreements)
        self.expectations = QGroupBox("What each class is expected to do")
        self.expectations_grid = QGridLayout(self.expectations)
        # the chosen cluster's members (closest to its centre first), or the similar images
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(GRID_ICON_PX, GRID_ICON_PX))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMaximumHeight(2 * GRID_ICON_PX + 48)
        self.grid.itemClicked.connect(
            lambda item: self._row_clicked(item.data(Qt.ItemDataRole.UserRole)))
        self.chosen_cluster.currentIndexChanged.connect(self._show_members)
        self.map = LivePlot(draw_cluster_map)
        self.map.setMinimumHeight(MAP_HEIGHT_PX)
        self.map.clicked.connect(self._map_clicked)
        self.map.hide()  # shown with the first clusters
        self.table = ImageTable(TABLE_COLUMNS)
        self.table.image_clicked.connect(self._row_clicked)

        grid = QGridLayout()
        grid.addWidget(QLabel("method"), 0, 0)
        grid.addWidget(self.method, 0, 1)
        grid.addWidget(QLabel("clusters"), 0, 2)
        grid.addWidget(self.n_clusters, 0, 3)
        grid.addWidget(cluster_button, 1, 0, 1, 4)
        grid.addWidget(QLabel("similar"), 2, 0)
        grid.addWidget(self.top, 2, 1)
        grid.addWidget(similar_button, 3, 0, 1, 2)
        grid.addWidget(box_button, 3, 2, 1, 2)
        grid.addWidget(self.chosen_cluster, 4, 0, 1, 2)
        grid.addWidget(self.target_class, 4, 2, 1, 2)
        grid.addWidget(label_button, 5, 0, 1, 3)
        grid.addWidget(self.undo_button, 5, 3)
        self.banner = NoProjectBanner(
            self, "Clusters and similar images are found among a project's images: make one "
                  "from the open Image layers, then explore.",
            project_only=[cluster_button, similar_button, box_button, label_button,
                          disagreements_button])
        layout = self.scrolling_layout()
        layout.addWidget(self.banner)
        layout.addLayout(grid)
        layout.addWidget(disagreements_button)
        layout.addWidget(self.summary)
        layout.addWidget(self.map)
        layout.addWidget(self.grid)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.expectations)

        listen(self, self.session.project_changed, self._project_changed)
        listen(self, self.session.images_changed, lambda *_: self._forget())
        listen(self, self.session.labels_changed,
               lambda _ids: self.refresh_when_open(self.refresh))
        listen(self, self.session.classes_changed, lambda *_: self._fill_classes())
        self._project_changed(self.session.project)

    # ------------------------------------------------------------------ state
    def _project_changed(self, _project) -> None:
        self._undo = None
        self.undo_button.setEnabled(False)
        self._forget()
        self._fill_classes()

    def _forget(self) -> None:
        self.embeddings, self.clustering, self.similar, self.flags = None, None, {}, None
        self._names = None
        self.map.hide()
        self.chosen_cluster.clear()
        self.grid.clear()
        self.refresh_when_open(self.refresh)

    def _fill_classes(self) -> None:
        from nanomorph.workflows.consistency import class_connectivity

        project = self.session.project
        self.target_class.clear()
        while self.expectations_grid.count():
            self.expectations_grid.takeAt(0).widget().deleteLater()
        if project is None:
            return
        self.target_class.addItems(project.labels.classes())
        for row, (name, wanted) in enumerate(class_connectivity(project).items()):
            choice = _narrow(QComboBox())
            choice.addItems(list(EXPECTATIONS))
            choice.setCurrentText(next(k for k, v in EXPECTATIONS.items() if v is wanted))
            choice.currentTextChanged.connect(
                lambda text, name=name: self._expectation_changed(name, text))
            self.expectations_grid.addWidget(QLabel(name), row, 0)
            self.expectations_grid.addWidget(choice, row, 1)

    def _expectation_changed(self, name: str, text: str) -> None:
        from nanomorph.workflows.consistency import set_class_connectivity

        project = self.session.project
        if project is not None and not project.read_only:
            set_class_connectivity(project, name, EXPECTATIONS[text])
            if self.flags is not None:
                self.list_disagreements()

    # ------------------------------------------------------------------ work
    def _with_embeddings(self, then) -> None:
        """Call ``then()`` once the project's embeddings (the classifier's encoder, cached in
        the project) are at hand, computing them in the job runner when needed."""
        from nanomorph.workflows.classify import project_embeddings

        if self.embeddings is not None:
            then()
            return
        project, encoder = self.session.project, self.session.encoder

        def done(embeddings) -> None:
            if self.session.project is project:
                self.embeddings = embeddings
                then()

        records = self.session.records()
        self.run_job(lambda token: project_embeddings(project, encoder=encoder, records=records,
                                                      cancel=token),
                     name="Embed images", on_done=done)

    def cluster(self) -> None:
        """Cluster the project's images (a background job)."""
        from nanomorph.explore import cluster_embeddings

        if self.session.project is None:
            show_warning("open a project first")
            return
        method = self.method.currentText()
        n = self.n_clusters.value() or "auto"

        def compute():  # too few images, or more clusters than images: a clear error
            from nanomorph.fewshot.maps import embedding_map

            embeddings = self.embeddings
            clustering = cluster_embeddings(embeddings.matrix, n_clusters=n, method=method)
            return list(embeddings.ids), clustering, embedding_map(embeddings.matrix, "pca")

        def show(result) -> None:
            ids, clustering, xy = result
            self.clustering = ids, clustering
            self.similar, self.flags = {}, None
            self.map.show()
            self.map.show_data((xy, clustering.labels))
            labels = clustering.labels
            self.chosen_cluster.clear()
            self.chosen_cluster.addItems([
                f"cluster {c} ({int((labels == c).sum())} images)"
                for c in range(clustering.n_clusters)])
            self.refresh()

        self._with_embeddings(lambda: self.run_job(lambda _t: call_as_job(compute),
                                                   name="Cluster images", on_done=show))

    def list_disagreements(self) -> None:
        """Show the images whose class and percolation disagree (first in the table)."""
        from nanomorph.workflows.consistency import consistency_flags

        project = self.session.project
        if project is None:
            return
        self.flags = consistency_flags(project)
        self.similar = {}
        self.refresh()
        if not any(f["flag"] == "disagrees" for f in self.flags.values()):
            show_info("no image's class and percolation disagree"
                      + ("" if self.flags else ": label images and run the percolation first"))

    def find_similar(self) -> None:
        """The images most like the current one, by cosine similarity of embeddings."""
        from nanomorph.explore import most_similar

        record = self.session.current
        if record is None:
            show_warning("no current image: pick one in the Images dock first")
            return

        def search() -> None:
            embeddings = self.embeddings
            if record.id not in embeddings.ids:
                show_warning(f"{record.name} could not be embedded: no similar images")
                return
            found = most_similar(embeddings.matrix, embeddings.ids.index(record.id),
                                 top=self.top.value())
            self.similar = {embeddings.ids[row]: score for row, score in found}
            self.flags = None
            self.refresh()
            self._fill_grid(self.similar)

        self._with_embeddings(search)

    def _show_members(self, index: int) -> None:
        """Fill the grid with the chosen cluster's members."""
        self.grid.clear()
        if self.session.project is None or self.clustering is None or index < 0:
            return
        self._fill_grid({i: None for i in self.cluster_members(index)})

    def _fill_grid(self, shown: dict) -> None:
        """Thumbnails of images in the grid, in order, each with its similarity when given;
        the thumbnails arrive from the job runner (cached in the project)."""
        from nanomorph.project.thumbnails import thumbnails_job
        from napari_nanomorph.widgets.browser import gray_pixmap

        self.grid.clear()
        project = self.session.project
        members = [project.images.get(i) for i in shown]
        items = {}
        for record in members:
            score = shown[record.id]
            item = QListWidgetItem(record.name if score is None else
                                   f"{record.name}\n{score:.3f}")
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            self.grid.addItem(item)
            items[record.id] = item

        def arrived(event) -> None:
            image_id, thumb = event.payload
            item = items.get(image_id)
            if item is not None and thumb is not None and self.grid.count():
                item.setIcon(QIcon(gray_pixmap(thumb)))

        present = [r for r in members if r.exists]
        self.run_job(lambda token: thumbnails_job(project, present, cancel=token),
                     name="Cluster thumbnails", on_progress=arrived)

    def find_like_box(self) -> None:
        """The images most like the region drawn as a rectangle in the ``query box`` layer
        (the layer is made, selected in rectangle mode, at the first click)."""
        from nanomorph.embedding import embed_plane
        from nanomorph.explore import most_similar
        from napari_nanomorph.layers import ROLE_KEY, find_layer, overlay_placement

        record, image = self.session.current, find_layer(self.viewer, "image")
        if record is None or image is None:
            show_warning("no current image: pick one in the Images dock first")
            return
        layer = find_layer(self.viewer, "query box")
        if layer is None or not len(layer.data):
            if layer is None:
                layer = self.viewer.add_shapes(
                    name="query box", edge_color="#00e5ff", face_color="transparent",
                    edge_width=2, metadata={ROLE_KEY: "query box"},
                    **overlay_placement(self.viewer, record))
            self.viewer.layers.selection.active = layer
            layer.mode = "add_rectangle"
            show_info("draw a rectangle around the region in the 'query box' layer, then "
                      "press the button again")
            return
        corners = layer.data[-1]
        rows, cols = image.data.shape[-2:]
        y0, x0 = (max(0, int(v)) for v in corners.min(axis=0)[-2:])
        y1, x1 = min(rows, int(corners[:, -2].max()) + 1), min(cols, int(corners[:, -1].max()) + 1)
        if y1 - y0 < 16 or x1 - x0 < 16:
            show_warning("the drawn box is smaller than 16 × 16 pixels: draw a larger one")
            return
        region = image.data[..., y0:y1, x0:x1]
        encoder = self.session.encoder

        def search():
            vector = embed_plane(region, encoder=encoder)
            embeddings = self.embeddings
            return {embeddings.ids[row]: score for row, score in
                    most_similar(embeddings.matrix, vector, top=self.top.value())}

        def show(found) -> None:
            self.similar, self.flags = found, None
            self.refresh()
            self._fill_grid(found)

        self._with_embeddings(lambda: self.run_job(lambda _t: call_as_job(search),
                                                   name="Find like the box", on_done=show))

    def label_cluster(self) -> None:
        """Label every member of the chosen cluster, after a review of its members."""
        project = self.session.project
        if project is None or self.clustering is None or self.chosen_cluster.currentIndex() < 0:
            show_warning("cluster the images first")
            return
        members = self.cluster_members(self.chosen_cluster.currentIndex())
        target = self.target_class.currentText()
        if not members or not target:
            return
        names = [project.images.get(i).name for i in members]
        shown = ", ".join(names[:REVIEW_NAMES]) + (" …" if len(names) > REVIEW_NAMES else "")
        labels = project.labels.all()
        relabelled = sum(1 for i in members if labels.get(i) not in (None, target))
        question = (f"Label {len(members)} images as “{target}”?\n\n{shown}"
                    + (f"\n\n{relabelled} of them have another label now, which this replaces."
                       if relabelled else "") + "\n\nUndo brings the earlier labels back.")
        if self.confirm(question):
            self.apply_labels(members, target)

    def confirm(self, question: str) -> bool:
        """Ask the user (a dialog; tests replace it)."""
        answer = QMessageBox.question(self, "Label a cluster", question)
        return answer == QMessageBox.StandardButton.Yes

    def apply_labels(self, image_ids: list[int], target: str) -> None:
        """Label images in one step that :meth:`undo` takes back.

        Parameters
        ----------
        image_ids : list of int
            The images.
        target : str
            Their class.
        """
        project = self.session.project
        before = project.labels.all()
        self._undo = {i: before.get(i) for i in image_ids}
        if self.guarded(lambda: project.labels.set_many({i: target for i in image_ids})):
            self.undo_button.setEnabled(True)
            show_info(f"{len(image_ids)} images labelled {target}")

    def undo(self) -> None:
        """Bring back the labels the last bulk labelling replaced."""
        project = self.session.project
        if project is None or self._undo is None:
            return
        if self.guarded(lambda: project.labels.set_many(self._undo)):
            self._undo = None
            self.undo_button.setEnabled(False)

    def cluster_members(self, cluster: int) -> list[int]:
        """The image ids of one cluster.

        Parameters
        ----------
        cluster : int
            Its number.

        Returns
        -------
        list of int
            Ids, closest to the centre first.
        """
        ids, clustering = self.clustering
        rows = [r for r in range(len(ids)) if clustering.labels[r] == cluster]
        return [ids[r] for r in sorted(rows, key=lambda r: clustering.distances[r])]

    # ------------------------------------------------------------------ display
    def refresh(self) -> None:
        """Fill the table (similar images first when a search ran) and the summary."""
        project = self.session.project
        if project is None:
            self.table.set_rows([])
            return
        labels = project.labels.all()
        if self._names is None:  # read once per change of the images, not per label
            self._names = {r.id: r.name for r in self.session.records()}
        names = self._names
        placed = {}
        if self.clustering is not None:
            ids, clustering = self.clustering
            placed = {i: (int(c), round(float(d), 3))
                      for i, c, d in zip(ids, clustering.labels, clustering.distances)}
        disagreeing = [i for i, f in (self.flags or {}).items() if f["flag"] == "disagrees"]
        shown = list(self.similar) or disagreeing or list(placed) or list(names)
        flags = self.flags or {}
        rows = [(i, (names.get(i, "?"), *(placed.get(i) or (None, None)),
                     None if i not in self.similar else round(self.similar[i], 3),
                     labels.get(i), flags.get(i, {}).get("flag")))
                for i in shown if i in names]
        colors = project.labels.class_colors()
        self.table.set_rows(rows, [colors.get(labels.get(i)) for i, _ in rows])
        if self.similar:  # the most similar first
            self.table.model.sort(3, Qt.SortOrder.DescendingOrder)
        self.summary.setText(self._summary(labels))

    def _summary(self, labels: dict[int, str]) -> str:
        if self.flags is not None and not self.similar:
            return self._disagreements_text()
        if self.clustering is None:
            return "Cluster the images to see which kinds there are."
        from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

        ids, clustering = self.clustering
        sizes = [int((clustering.labels == c).sum()) for c in range(clustering.n_clusters)]
        noise = int((clustering.labels < 0).sum())
        text = (f"{clustering.n_clusters} clusters ({', '.join(map(str, sizes))} images"
                + (f", {noise} noise" if noise else "") + ")")
        known = [r for r, i in enumerate(ids) if i in labels]
        if len(known) >= 2:
            truth = [labels[ids[r]] for r in known]
            found = [int(clustering.labels[r]) for r in known]
            text += (f"; against your {len(known)} labels: NMI "
                     f"{normalized_mutual_info_score(truth, found):.2f}, ARI "
                     f"{adjusted_rand_score(truth, found):.2f}")
        return text + (". Similar images are listed first." if self.similar else "")

    def _disagreements_text(self) -> str:
        flags = self.flags or {}
        counts = {flag: sum(f["flag"] == flag for f in flags.values())
                  for flag in ("ok", "disagrees", "unknown")}
        return (f"Class ↔ connectivity: {counts['disagrees']} disagree (listed), "
                f"{counts['ok']} agree, {counts['unknown']} unknown (no verdict, or a class "
                "that may do either).")

    def _map_clicked(self, x: float, y: float) -> None:
        """Open the image of the map point nearest to a click (picture pixels)."""
        nearest = self.map.picked(x, y)
        if nearest is not None and self.clustering is not None:
            self._row_clicked(self.clustering[0][nearest])

    def _row_clicked(self, image_id: int) -> None:
        record = self.session.project.images.get(image_id)
        self.session.set_current(record)


def _narrow(combo: QComboBox) -> QComboBox:
    """A combo box as wide as about ten characters, not as its longest item: the step's
    columns fit a 400-pixel workflow bar."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    return combo
