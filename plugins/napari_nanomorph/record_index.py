"""The project's image records with the lookups the docks make over them, built once per change
of the images: on the worker that reads a large project's records, so that the image browser
and the frame bar take them without a pass over 100,000 records on the GUI thread (30–50 ms
there, in the middle of the window's first repaints)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nanomorph.project.frames import group_movies


@dataclass(frozen=True)
class RecordIndex:
    """The records in the order they were added, and lookups over them.

    Attributes
    ----------
    records : tuple of ImageRecord
        The project's images (``project.images.all()``).
    row_of : dict
        Image id → its position in ``records`` (its row in the image browser).
    movies : dict
        Movie (group) name → its frames' records in frame order (:func:`group_movies`).
    frame_position : dict
        A frame's image id → its index in its movie's frames.
    """

    records: tuple = ()
    row_of: dict = field(default_factory=dict)
    movies: dict = field(default_factory=dict)
    frame_position: dict = field(default_factory=dict)

    @classmethod
    def of(cls, records) -> "RecordIndex":
        """The index of ``records`` (an iterable of ImageRecord)."""
        records = tuple(records)
        movies = group_movies(records)
        return cls(records, {record.id: row for row, record in enumerate(records)}, movies,
                   {record.id: i for frames in movies.values() for i, record in enumerate(frames)})
