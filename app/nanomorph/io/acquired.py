"""When an image was acquired, as its file records it: an ISO 8601 date and time kept as
``metadata["acquired"]`` (``2019-11-27T16:11:26.620540+09:00``; no offset when the file gives
no time zone), and the seconds between the frames of a folder of numbered frames.

Where it comes from: rosettasciio's ``General.date``/``General.time``/``General.time_zone`` of a
native file (DM, Velox EMD, TIA, ELID), or mapped from a microscope TIFF's own metadata (FEI
``User.Date``/``Time``, Zeiss ``ap_date``/``ap_time``); else the TIFF ``DateTime`` tag (whole
seconds), as Olympus, JEOL and most camera software write it; a JPEG's or PNG's EXIF
``DateTimeOriginal`` with its fraction of a second and time zone when the camera wrote them.
"""

from __future__ import annotations

import datetime as dt
from struct import error as struct_error

# the TIFF DateTime tag's layout ("YYYY:MM:DD HH:MM:SS"), and the variants seen in the wild
_TIFF_FORMATS = ("%Y:%m:%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M:%S",
                 "%Y-%m-%dT%H:%M:%S")
# EXIF: the Exif sub-directory, and the tags of when the picture was taken
_EXIF_IFD, _DATE_TIME = 0x8769, 306
_DATE_TIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, _SUBSEC_TIME_ORIGINAL = 36867, 36881, 37521


def acquired_iso(date, time, time_zone=None) -> str | None:
    """An acquisition date and time as one ISO 8601 text.

    Parameters
    ----------
    date : str or None
        ``YYYY-MM-DD``.
    time : str or None
        ``HH:MM:SS`` with optional fraction.
    time_zone : str, optional
        ``UTC`` or an offset such as ``+09:00``; anything else is left out.

    Returns
    -------
    str or None
        E.g. ``2019-11-27T16:11:26.620540+09:00``; None when the date or time is missing or
        not a date and time.
    """
    if not date or not time:
        return None
    try:
        moment = dt.datetime.combine(dt.date.fromisoformat(str(date).strip()),
                                     dt.time.fromisoformat(str(time).strip()))
    except ValueError:
        return None
    zone = str(time_zone or "").strip()
    if zone.upper() in ("UTC", "GMT", "Z"):
        zone = "+00:00"
    try:
        offset = dt.datetime.fromisoformat(f"2000-01-01T00:00:00{zone}").tzinfo if zone else None
    except ValueError:
        offset = None
    return moment.replace(tzinfo=offset).isoformat()


def tiff_acquired(page) -> str | None:
    """When a TIFF page was acquired, from its ``DateTime`` tag (whole seconds, no zone).

    Parameters
    ----------
    page : tifffile.TiffPage
        The first page.

    Returns
    -------
    str or None
        ISO 8601, None when the tag is missing or not a date and time.
    """
    moment = _tag_moment(page.tags.valueof("DateTime"))
    return None if moment is None else moment.isoformat()


def exif_acquired(raw: bytes | None) -> str | None:
    """When a photograph-style image (JPEG, PNG …) was taken, from its EXIF block: the
    ``DateTimeOriginal`` tag with ``SubSecTimeOriginal`` and ``OffsetTimeOriginal`` when
    present, else the ``DateTime`` tag.

    Parameters
    ----------
    raw : bytes or None
        The EXIF block as Pillow gives it (``image.info["exif"]``).

    Returns
    -------
    str or None
        ISO 8601 (e.g. ``2024-03-05T14:07:09.250000+01:00``), None without a readable stamp.
    """
    if not raw:
        return None
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(raw)
        taken = exif.get_ifd(_EXIF_IFD)
    except (OSError, ValueError, SyntaxError, struct_error):
        return None
    moment = _tag_moment(taken.get(_DATE_TIME_ORIGINAL))
    if moment is None:
        moment = _tag_moment(exif.get(_DATE_TIME))
        return None if moment is None else moment.isoformat()
    fraction = str(taken.get(_SUBSEC_TIME_ORIGINAL) or "").strip().rstrip("\x00")
    if fraction.isdigit():
        moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return acquired_iso(moment.date().isoformat(), moment.time().isoformat(),
                        taken.get(_OFFSET_TIME_ORIGINAL))


def _tag_moment(text) -> dt.datetime | None:
    """A date-and-time tag's moment (``YYYY:MM:DD HH:MM:SS`` or a variant), None if it is not
    one."""
    if not isinstance(text, str):
        return None
    for layout in _TIFF_FORMATS:
        try:
            return dt.datetime.strptime(text.strip().rstrip("\x00"), layout)
        except ValueError:
            continue
    return None


def seconds_since_first(stamps) -> list[float] | None:
    """Frame times from acquisition stamps: seconds since the first frame's.

    Parameters
    ----------
    stamps : sequence of str or None
        Each frame's ``metadata["acquired"]``, in frame order.

    Returns
    -------
    list of float or None
        One per frame; None unless every frame has a stamp and each comes after the one before
        (stamps of whole seconds on frames taken faster tell no frame times).
    """
    if not stamps or any(s is None for s in stamps):
        return None
    moments = [_utc(dt.datetime.fromisoformat(s)) for s in stamps]
    if any(b <= a for a, b in zip(moments, moments[1:])):
        return None
    return [(m - moments[0]).total_seconds() for m in moments]


def _utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` comparable with any other: a stamp without a zone is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
