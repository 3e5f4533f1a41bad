"""What a batch run does to each image, and the hash that identifies it.

:class:`BatchConfig` holds every parameter of the per-image steps. Its :meth:`~BatchConfig.key`
hashes them together with the SHA-256 of the model files and the nanomorph version: a result
recorded under one key is reused only by a run with the same key (see :mod:`.results`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from nanomorph.errors import InvalidParameterError
from nanomorph.io.records import JsonRecord
from nanomorph.masks.params import MaskParams
from nanomorph.workflows.percolation import PercolationSettings

# Where each image's mask comes from.
MASK_SOURCES = ("auto", "segmenter", "masks", "project")
POLARITIES = ("auto", "dark", "bright")


@dataclass(frozen=True)
class BatchConfig(JsonRecord):
    """The per-image steps of a batch run (picklable: it travels to the Dask workers).

    Attributes
    ----------
    mask_source : str
        ``auto`` (classical auto-mask with ``mask_params``), ``segmenter`` (the model file
        ``segmenter``), ``masks`` (existing mask files of ``masks_dir``, matched by stem) or
        ``project`` (the masks stored in the input project).
    mask_params : MaskParams
        Auto-masking parameters (``auto`` only); their polarity is replaced by ``polarity``.
    polarity : str
        ``auto`` (guessed per image), ``dark`` or ``bright`` (``auto`` source only).
    masks_dir : str or None
        Folder of existing masks (``masks`` only).
    foreground : str
        Which values of an existing mask are wire: ``auto``, ``nonzero`` or values like
        ``127,255`` (``masks`` only; as ``nanomorph percolate --foreground``).
    segmenter, classifier : str or None
        Model files (a segmenter from ``nanomorph segment train``, a classifier from
        ``nanomorph classify train``); the workers must be able to read them.
    percolation : PercolationSettings
        DBSCAN and spanning-test settings (as ``nanomorph percolate``).
    skeleton : bool
        Also compute skeleton metrics (length, junctions, segments).
    morphometry : bool
        Also trace and measure every wire (``nanomorph measure``): diameter, length, orientation
        and density columns (:func:`nanomorph.workflows.morphometry.summary_columns`); its traced
        ``wires_per_um2`` replaces the skeleton's end-point estimate.
    write_masks, write_overlays : bool
        Write each mask (``masks/<name>.png``) and percolation overlay
        (``overlays/<name>.png``) into the output folder.
    device : str or None
        Torch device for the segmenter and the encoder (``auto`` when None).
    """

    mask_source: str = "auto"
    mask_params: MaskParams = field(default_factory=MaskParams)
    polarity: str = "auto"
    masks_dir: str | None = None
    foreground: str = "auto"
    segmenter: str | None = None
    classifier: str | None = None
    percolation: PercolationSettings = field(default_factory=PercolationSettings)
    skeleton: bool = False
    morphometry: bool = False
    write_masks: bool = False
    write_overlays: bool = False
    device: str | None = None

    def __post_init__(self) -> None:
        if self.mask_source not in MASK_SOURCES:
            raise InvalidParameterError(f"mask source must be one of {', '.join(MASK_SOURCES)}, "
                                        f"not {self.mask_source!r}")
        if self.polarity not in POLARITIES:
            raise InvalidParameterError(f"polarity must be one of {', '.join(POLARITIES)}, "
                                        f"not {self.polarity!r}")
        if self.mask_source == "segmenter" and not self.segmenter:
            raise InvalidParameterError("masks from a segmenter need its model file")
        if self.mask_source == "masks" and not self.masks_dir:
            raise InvalidParameterError("existing masks need their folder")

    @property
    def mask_label(self) -> str:
        """The ``mask_source`` column: ``auto:<method>``, ``segmenter``, ``masks`` or
        ``project``."""
        if self.mask_source == "auto":
            return f"auto:{self.mask_params.method}"
        return self.mask_source


    @classmethod
    def from_json(cls, record: dict) -> BatchConfig:
        """The configuration :meth:`as_json` wrote.

        Parameters
        ----------
        record : dict
            As written to ``batch.json``.

        Returns
        -------
        BatchConfig
            The configuration.
        """
        record = dict(record)
        record["mask_params"] = MaskParams.from_json(record["mask_params"])
        record["percolation"] = PercolationSettings(**record["percolation"])
        return cls(**record)

    def model_files(self) -> dict[str, str]:
        """The model files in use.

        Returns
        -------
        dict
            ``{"segmenter": path, "classifier": path}`` for the models given.
        """
        return {name: path for name, path in
                (("segmenter", self.segmenter), ("classifier", self.classifier)) if path}

    def key(self, model_sha256: dict[str, str]) -> str:
        """Hex SHA-256 of the parameters, the model files' hashes and the nanomorph version:
        two runs whose results may differ never share a key.

        Parameters
        ----------
        model_sha256 : dict
            ``{"segmenter": sha256, "classifier": sha256}`` of the models in use.

        Returns
        -------
        str
            64 hex digits.
        """
        from nanomorph import __version__

        params = self.as_json()
        for name in ("segmenter", "classifier", "masks_dir", "device"):
            params.pop(name)  # paths and devices do not change results; model contents do
        text = json.dumps({"params": params, "models": model_sha256, "nanomorph": __version__},
                          sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
