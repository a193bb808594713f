"""The README's set-up lines, checked against what a fresh Debian machine turned out to need
(docs/packaging.md, "make run on a fresh Debian 12")."""

from __future__ import annotations

import re
from pathlib import Path

from photomgr.gui import platform_check

README = Path(__file__).resolve().parents[2] / "README.md"


def _setup_apt_lines() -> list[set[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Set up and run"):]
    section = section[:section.index("\n## ", 1)].replace("\\\n", " ")
    return [set(m.split()) for m in re.findall(r"^sudo apt-get install (.+)$", section, re.M)]


def test_the_readme_installs_every_library_the_launch_check_knows() -> None:
    # A library the check asks for but the README leaves out means `make run` stops at the
    # launch check on a bare machine; one the README lists but the check ignores is dead weight.
    checked = set(platform_check.GUI_LIBRARIES.values()) | set(platform_check.XCB_LIBRARIES.values())
    assert checked in _setup_apt_lines()


def test_the_readme_installs_the_venv_module_and_make() -> None:
    # Debian's python3 has no ensurepip: without python3-venv, `make run` fails at `python3 -m venv`.
    assert any({"python3", "python3-venv", "make", "git"} <= line for line in _setup_apt_lines())
