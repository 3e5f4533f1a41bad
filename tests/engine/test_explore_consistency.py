"""Class ↔ connectivity: the flag of one image, the defaults, the user's expectations."""

from __future__ import annotations

from nanomorph.explore import consistency, expected_connectivity


def test_flags_follow_the_expected_connectivity():
    expected = expected_connectivity(["network", "dispersed", "bundle", "mine"],
                                     {"mine": True})
    assert expected == {"network": True, "dispersed": False, "bundle": None, "mine": True}
    assert consistency("network", True, expected) == "ok"
    assert consistency("network", False, expected) == "disagrees"
    assert consistency("dispersed", True, expected) == "disagrees"
    assert consistency("bundle", True, expected) == "unknown"  # either
    assert consistency("network", None, expected) == "unknown"  # no verdict yet
    assert consistency(None, True, expected) == "unknown"  # no class
    assert consistency("mine", True, expected) == "ok"
