"""Per-user preferences of the app (window geometry, dock sizes, the last workflow step), in
the user's config folder (platformdirs): ``gui.json``. Per-project settings live in the
project itself (its ``settings``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

FILE = "gui.json"


def preferences_path() -> Path:
    """Where the preferences live.

    Returns
    -------
    Path
        ``<user config folder>/nanomorph/gui.json``.
    """
    import platformdirs

    return Path(platformdirs.user_config_dir("nanomorph")) / FILE


def load_preferences() -> dict:
    """The stored preferences.

    Returns
    -------
    dict
        Empty when there are none or the file cannot be read.
    """
    try:
        value = json.loads(preferences_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def update_preferences(**changes) -> None:
    """Store some preferences (the others stay); a file that cannot be written is skipped.

    Parameters
    ----------
    **changes
        JSON values by name.
    """
    from nanomorph.io.atomic import atomic_write_bytes

    path = preferences_path()
    values = {**load_preferences(), **changes}
    try:
        os.makedirs(path.parent, exist_ok=True)
        atomic_write_bytes(path, json.dumps(values).encode("utf-8"))
    except OSError:
        pass
