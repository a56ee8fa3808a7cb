"""Fixtures of the real-editor tests (helpers live in ``editorlib``).

Every test here drives a real editor headless against the real language server (started by the
editor, as a user's editor would) and the scripted loopback provider. A test skips only when its
editor is not installed; ``scripts/install-editors.sh`` installs them all.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "user_settings(dict): code-server settings.json entries for one test")


@pytest.fixture
def editor_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A project folder with a marker so clients pick it as the root."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / ".git").mkdir()
    return folder
