"""Reading a length from the text of a scale-bar label or an info-bar field.

OCR of small annotation text confuses letters and digits in known ways: ``O`` for ``0`` and
``l``/``I`` for ``1`` inside numbers, ``urn``/``um``/``μm``/``pm`` for µm, a decimal comma,
spaces inside the number. :func:`parse_length` accepts these and rejects everything that is not
one number followed by one length unit (``×5000``, ``HV 3.00 kV``, ``16:03``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nanomorph.io.calibration import nm_per_unit

# unit spellings OCR produces → the unit
_UNITS = {
    "nm": "nm", "nrn": "nm", "run": "nm",
    "um": "µm", "µm": "µm", "μm": "µm", "urn": "µm", "pm": None, "mm": "mm", "mrn": "mm",
    "å": "Å", "a": "Å", "ang": "Å",
}
_NUMBER = r"(?P<number>\d+(?:[.,]\d+)?)"
_PATTERN = re.compile(_NUMBER + r"\s*(?P<unit>nrn|nm|run|urn|um|µm|μm|pm|mrn|mm|å|a|ang)\b",
                      re.IGNORECASE)
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5"})


@dataclass(frozen=True)
class Length:
    """A length read from text.

    Attributes
    ----------
    value : float
        The number.
    unit : str
        ``nm``, ``µm``, ``mm`` or ``Å``.
    text : str
        The text it was read from.
    """

    value: float
    unit: str
    text: str

    @property
    def nm(self) -> float:
        """The length in nanometres."""
        return self.value * nm_per_unit(self.unit)


def _normalise(text: str) -> str:
    """Digits for their look-alikes where they stand next to digits, one decimal point."""
    def fix(match: re.Match) -> str:
        return match.group(0).translate(_DIGIT_LOOKALIKES)

    # look-alikes inside or right before/after a run of digits ("1O nm", "l0 um", "5O0")
    text = re.sub(r"(?<=\d)[OolIS|]+|[OolI|]+(?=\d)", fix, text)
    text = re.sub(r"(?<=\d) (?=\d)", "", text)  # "1 0 nm" → "10 nm"
    return re.sub(r"(?<=\d)[.,](?!\d)", "", text)  # a stray point: "5. nm" → "5 nm"


def parse_length(text: str) -> Length | None:
    """The length a label states, or None when it states none.

    ``pm`` is taken as µm: scale-bar fonts draw µ with a descender that OCR reads as p, and a
    picometre bar is rarer than such a misreading; labels in Å are read as Å.

    Parameters
    ----------
    text : str
        OCR output, e.g. ``"10.0um"``, ``"200 nm"``, ``"1O nm"``, ``"0,5 µm"``.

    Returns
    -------
    Length or None
        None for text holding no number with a length unit, or more than one.
    """
    if not text:
        return None
    normalised = _normalise(text.strip())
    matches = list(_PATTERN.finditer(normalised))
    if len(matches) != 1:
        return None
    match = matches[0]
    spelled = match.group("unit").lower()
    unit = _UNITS.get(spelled, "µm") if spelled != "pm" else "µm"
    if unit == "Å" and spelled == "a" and not re.search(r"\d\s*A\b", normalised):
        return None  # a lone lower-case "a" after a number is a word, not ångström
    value = float(match.group("number").replace(",", "."))
    if value <= 0:
        return None
    return Length(value, unit, text.strip())
