"""Reading micrographs with their physical calibration (see ``readers`` for the rules)."""

from nanomorph.io.calibration import UNCALIBRATED, Calibration
from nanomorph.io.image import MicroscopeImage
from nanomorph.io.readers import SUPPORTED_SUFFIXES, read_image

__all__ = ["Calibration", "MicroscopeImage", "SUPPORTED_SUFFIXES", "UNCALIBRATED", "read_image"]
