"""The installed package holds every module: `pip install .` ships only the packages that
pyproject.toml lists, so a new folder missing from the list works in a checkout and fails
when installed."""

from __future__ import annotations

import tomllib

from tests.conftest import PROJECT


def test_every_package_folder_is_listed_for_installation():
    settings = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(settings["packages"])
    folders = {
        ".".join(init.parent.relative_to(PROJECT).parts)
        for top in ("bot", "corpus")
        for init in (PROJECT / top).rglob("__init__.py")
    }
    assert folders <= listed, sorted(folders - listed)
