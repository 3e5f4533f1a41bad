"""Morphology classes and the images' labels.

A project's classes are ordered and carry a display colour; a label ties one image to one class.
Removing a class removes its labels.
"""

from __future__ import annotations

import time

from nanomorph.errors import ProjectError
from nanomorph.project.database import Repository


class LabelRepository(Repository):
    """The project's classes and labels (``project.labels``)."""

    def classes(self) -> list[str]:
        """The class names.

        Returns
        -------
        list of str
            In the user's order.
        """
        return [r["name"] for r in
                self._db.query("SELECT name FROM classes ORDER BY position, id")]

    def set_classes(self, names: list[str], colors: list[str | None] | None = None) -> None:
        """Set the class list in this order; classes that disappear take their labels along.

        Parameters
        ----------
        names : list of str
            Non-empty, unique (surrounding spaces are removed).
        colors : list of str or None, optional
            Display colours like ``#e8a33d``; None keeps a class's current colour.

        Raises
        ------
        ProjectError
            For empty or repeated names.
        """
        from nanomorph.project.classsets import palette_color

        names = [n.strip() for n in names]
        colors = list(colors) if colors is not None else [None] * len(names)
        if any(not n for n in names) or len(set(names)) != len(names):
            raise ProjectError("class names must be non-empty and unique", self._db.folder)
        with self._db.write() as c:
            c.execute(f"DELETE FROM classes WHERE name NOT IN ({','.join('?' * len(names))})",
                      names)
            kept = dict(c.execute("SELECT name, color FROM classes").fetchall())
            taken = {v for v in kept.values() if v} | {v for v in colors if v}
            for pos, name in enumerate(names):  # a new class gets a colour no other class has
                if colors[pos] is None and not kept.get(name):
                    colors[pos] = palette_color(pos, taken)
                    taken.add(colors[pos])
            for pos, (name, color) in enumerate(zip(names, colors)):
                c.execute("INSERT INTO classes(name, position, color) VALUES (?, ?, ?)"
                          " ON CONFLICT(name) DO UPDATE SET position = excluded.position,"
                          " color = coalesce(excluded.color, classes.color)",
                          (name, pos, color))
        self._events.classes.emit()

    def class_colors(self) -> dict[str, str]:
        """Display colours: one map used by every table, plot, badge and report.

        Returns
        -------
        dict
            Class name → ``#rrggbb``, in the classes' order (a class stored without a colour,
            by an older nanomorph, gets its palette colour by position).
        """
        from nanomorph.project.classsets import palette_color

        rows = self._db.query("SELECT name, color FROM classes ORDER BY position, id")
        return {r["name"]: r["color"] or palette_color(i) for i, r in enumerate(rows)}

    def set(self, image_id: int, class_name: str | None) -> None:
        """Label an image.

        Parameters
        ----------
        image_id : int
            The image's id.
        class_name : str or None
            A class of the project; None removes the image's label.

        Raises
        ------
        ProjectError
            When the project has no such class.
        """
        with self._db.write() as c:
            if class_name is None:
                c.execute("DELETE FROM labels WHERE image_id = ?", (image_id,))
            else:
                row = c.execute("SELECT id FROM classes WHERE name = ?",
                                (class_name,)).fetchone()
                if row is None:
                    raise ProjectError(f"no class named {class_name!r} in this project",
                                       self._db.folder)
                c.execute("INSERT OR REPLACE INTO labels(image_id, class_id, updated_at)"
                          " VALUES (?, ?, ?)", (image_id, row[0], time.time()))
        self._events.labels.emit([image_id])

    def set_many(self, labels: dict[int, str | None]) -> None:
        """Label (or unlabel) several images in one transaction and one change event (a bulk
        label, or its undo).

        Parameters
        ----------
        labels : dict
            Image id → class name, or None to remove the image's label.

        Raises
        ------
        ProjectError
            When the project has no such class (nothing is changed then).
        """
        with self._db.write() as c:
            ids = {r[1]: r[0] for r in c.execute("SELECT id, name FROM classes")}
            unknown = {n for n in labels.values() if n is not None and n not in ids}
            if unknown:
                raise ProjectError(f"no class named {sorted(unknown)[0]!r} in this project",
                                   self._db.folder)
            now = time.time()
            for image_id, name in labels.items():
                if name is None:
                    c.execute("DELETE FROM labels WHERE image_id = ?", (image_id,))
                else:
                    c.execute("INSERT OR REPLACE INTO labels(image_id, class_id, updated_at)"
                              " VALUES (?, ?, ?)", (image_id, ids[name], now))
        self._events.labels.emit(list(labels))

    def all(self) -> dict[int, str]:
        """Every label.

        Returns
        -------
        dict
            Image id → class name, for the labelled images.
        """
        rows = self._db.query("SELECT l.image_id, c.name FROM labels l JOIN classes c"
                              " ON c.id = l.class_id")
        return {r["image_id"]: r["name"] for r in rows}
