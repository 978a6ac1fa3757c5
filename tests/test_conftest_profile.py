"""The Hypothesis profile chosen in conftest is the one actually in force."""

import os

from hypothesis import settings


def test_profile_loaded():
    expected = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
    assert settings.default.deadline is None
    assert settings.default == settings.get_profile(expected)
